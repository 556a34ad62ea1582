/* Logging to stderr, one line per call, with a UTC timestamp and level.
 * Thread-safe (one fprintf per line). */
#ifndef ED_COMMON_LOG_H
#define ED_COMMON_LOG_H

#include <stdint.h>

typedef enum { ED_LOG_DEBUG, ED_LOG_INFO, ED_LOG_WARN, ED_LOG_ERROR } ed_log_level_t;

/* Lines below this level are dropped. Default ED_LOG_INFO; set once at start
 * (EDDY_LOG=debug|info|warn|error is read by ed_log_init_from_env()). */
void ed_log_set_level(ed_log_level_t level);
void ed_log_init_from_env(void);

void ed_log(ed_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ed_log_debug(...) ed_log(ED_LOG_DEBUG, __VA_ARGS__)
#define ed_log_info(...) ed_log(ED_LOG_INFO, __VA_ARGS__)
#define ed_log_warn(...) ed_log(ED_LOG_WARN, __VA_ARGS__)
#define ed_log_error(...) ed_log(ED_LOG_ERROR, __VA_ARGS__)

/* A token bucket for log lines about repeated events (bad records): allows
 * @p burst lines, then one per @p interval_ms. Caller-embedded, one thread. */
typedef struct {
  int64_t interval_ms;
  int burst;
  int tokens;
  int64_t last_refill_ms;
  uint64_t suppressed; /* events not logged since the last allowed line */
} ed_ratelimit_t;

void ed_ratelimit_init(ed_ratelimit_t *rl, int burst, int64_t interval_ms);
/* Returns 1 if a line may be logged now (and sets *suppressed to the number
 * of events swallowed since the previous allowed line), else 0. */
int ed_ratelimit_allow(ed_ratelimit_t *rl, uint64_t *suppressed);

#endif
