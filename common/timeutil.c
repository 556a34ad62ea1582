#include "common/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

int64_t ed_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ed_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int ed_duration_parse(const char *text, int64_t *out_ms) {
  static const struct {
    const char *suffix;
    int64_t ms;
  } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  if (text == NULL || *text < '0' || *text > '9') return ED_EINVAL;
  errno = 0;
  char *end;
  long long n = strtoll(text, &end, 10);
  if (errno != 0 || n < 0) return ED_EINVAL;
  if (*end == '\0') {
    *out_ms = n;
    return ED_OK;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(end, units[i].suffix) == 0) {
      if (n > INT64_MAX / units[i].ms) return ED_EINVAL;
      *out_ms = n * units[i].ms;
      return ED_OK;
    }
  }
  return ED_EINVAL;
}
