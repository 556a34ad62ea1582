/* Clocks and duration parsing. */
#ifndef ED_COMMON_TIMEUTIL_H
#define ED_COMMON_TIMEUTIL_H

#include <stdint.h>

/* Wall-clock time, milliseconds since the epoch. */
int64_t ed_now_ms(void);
/* Monotonic clock in nanoseconds, for measuring intervals. */
int64_t ed_mono_ns(void);

/* Parses a duration such as "500ms", "30s", "5m", "1h", "7d" or a bare
 * number of milliseconds into *out_ms. Returns ED_OK or ED_EINVAL. */
int ed_duration_parse(const char *text, int64_t *out_ms);

#endif
