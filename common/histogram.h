/* A fixed-bucket latency histogram, safe to update from one thread while
 * others read it (relaxed atomics: a reader may see a count one ahead of
 * the sum, which Prometheus tolerates). Bucket bounds are fixed for every
 * histogram, in seconds: 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
 * 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, then +Inf. */
#ifndef ED_COMMON_HISTOGRAM_H
#define ED_COMMON_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/buf.h"

#define ED_HIST_BUCKETS 16

typedef struct {
  _Atomic uint64_t buckets[ED_HIST_BUCKETS + 1]; /* the last one is +Inf */
  _Atomic uint64_t count;
  _Atomic uint64_t sum_ns;
} ed_histogram_t;

/* The upper bounds, in seconds. */
extern const double ed_histogram_bounds[ED_HIST_BUCKETS];

/* Zero-initialised is ready to use. */
void ed_histogram_observe(ed_histogram_t *h, int64_t ns);

/* Appends the Prometheus text lines of @p h: name_bucket{labels,le=".."},
 * name_sum{labels}, name_count{labels}. @p labels is "" or like
 * `view="a",partition="1"` (without braces). */
void ed_histogram_write(const ed_histogram_t *h, const char *name, const char *labels,
                        ed_buf_t *out);

#endif
