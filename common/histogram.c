#include "common/histogram.h"

const double ed_histogram_bounds[ED_HIST_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,     2.5,   5,     10};

void ed_histogram_observe(ed_histogram_t *h, int64_t ns) {
  double s = (double)ns / 1e9;
  int i = 0;
  while (i < ED_HIST_BUCKETS && s > ed_histogram_bounds[i]) i++;
  atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
}

void ed_histogram_write(const ed_histogram_t *h, const char *name, const char *labels,
                        ed_buf_t *out) {
  const char *sep = labels[0] ? "," : "";
  uint64_t cum = 0;
  for (int i = 0; i <= ED_HIST_BUCKETS; i++) {
    cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
    if (i < ED_HIST_BUCKETS)
      ed_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                    ed_histogram_bounds[i], (unsigned long long)cum);
    else
      ed_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                    (unsigned long long)cum);
  }
  const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
  ed_buf_printf(out, "%s_sum%s%s%s %.9f\n", name, open, labels, close,
                (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
  ed_buf_printf(out, "%s_count%s%s%s %llu\n", name, open, labels, close,
                (unsigned long long)atomic_load_explicit(&h->count, memory_order_relaxed));
}
