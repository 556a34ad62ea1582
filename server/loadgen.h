/* The page-view load generator: {"user":..,"page":..,"ts":..} records keyed
 * by user, partitioned with murmur2 (the Java client's default). Used by
 * `eddy loadgen` and by `eddy serve --loadgen`. */
#ifndef ED_SERVER_LOADGEN_H
#define ED_SERVER_LOADGEN_H

#include <signal.h>
#include <stdint.h>

typedef struct {
  const char *bootstrap;
  const char *topic;  /* default "pageviews" */
  double rate;        /* records per second; 0 = as fast as possible */
  uint64_t count;     /* stop after this many; 0 = until *stop */
  uint32_t users;     /* distinct users, default 1000 */
  uint32_t pages;     /* distinct pages, default 50 */
  uint64_t seed;      /* default 1 */
  volatile sig_atomic_t *stop; /* optional: set to nonzero to stop */
  int quiet;          /* no progress lines */
  int sequential;     /* users in turn (user_0, user_1, ...) instead of at random */
} ed_loadgen_conf_t;

/* Produces until count or *stop; waits for delivery. Returns ED_OK or an
 * error with @p err filled. */
int ed_loadgen_run(const ed_loadgen_conf_t *conf, uint64_t *produced, char *err, size_t errlen);

/* `eddy loadgen` argument parsing and run; returns the exit code. */
int ed_loadgen_main(int argc, char **argv);

#endif
