#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

/* The only mutable process-wide setting: written once at start-up. */
static ed_log_level_t ed__log_level = ED_LOG_INFO;

void ed_log_set_level(ed_log_level_t level) { ed__log_level = level; }

void ed_log_init_from_env(void) {
  const char *v = getenv("EDDY_LOG");
  if (v == NULL) return;
  if (strcmp(v, "debug") == 0) ed__log_level = ED_LOG_DEBUG;
  else if (strcmp(v, "info") == 0) ed__log_level = ED_LOG_INFO;
  else if (strcmp(v, "warn") == 0) ed__log_level = ED_LOG_WARN;
  else if (strcmp(v, "error") == 0) ed__log_level = ED_LOG_ERROR;
}

void ed_log(ed_log_level_t level, const char *fmt, ...) {
  static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  if (level < ed__log_level) return;
  char line[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
}

void ed_ratelimit_init(ed_ratelimit_t *rl, int burst, int64_t interval_ms) {
  rl->interval_ms = interval_ms;
  rl->burst = burst;
  rl->tokens = burst;
  rl->last_refill_ms = ed_now_ms();
  rl->suppressed = 0;
}

int ed_ratelimit_allow(ed_ratelimit_t *rl, uint64_t *suppressed) {
  int64_t now = ed_now_ms();
  if (rl->tokens < rl->burst && now - rl->last_refill_ms >= rl->interval_ms) {
    rl->tokens++;
    rl->last_refill_ms = now;
  }
  if (rl->tokens == 0) {
    rl->suppressed++;
    return 0;
  }
  rl->tokens--;
  if (suppressed) *suppressed = rl->suppressed;
  rl->suppressed = 0;
  return 1;
}
