/* The routing's pure parts (route.h): messages about a partition's state,
 * query strings of the parts of a routed request, partition lists. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "server/route.h"

void ed__route_describe(const ed_cluster_t *map, const char *view, int32_t p, char *out,
                        size_t cap) {
  ed_cluster_state_t st = ED_CLUSTER_UNASSIGNED;
  const ed_cluster_instance_t *o = map ? ed_cluster_owner(map, view, p, &st) : NULL;
  if (o == NULL) {
    snprintf(out, cap, "partition %" PRId32 " of view '%s' has no owner (rebalancing)", p, view);
    return;
  }
  if (st != ED_CLUSTER_RESTORING) {
    snprintf(out, cap, "partition %" PRId32 " of view '%s' is owned by instance %s", p, view,
             o->instance_id);
    return;
  }
  const ed_cluster_partition_t *cp = NULL;
  for (size_t j = 0; j < o->nviews && cp == NULL; j++)
    if (strcmp(o->views[j].view, view) == 0)
      for (size_t k = 0; k < o->views[j].npartitions; k++)
        if (o->views[j].partitions[k].partition == p) cp = &o->views[j].partitions[k];
  if (cp != NULL && cp->restored >= 0 && cp->restore_total > 0) {
    int64_t pct = cp->restored * 100 / cp->restore_total;
    snprintf(out, cap, "partition %" PRId32 " of view '%s' is restoring on instance %s (%" PRId64 "%%)",
             p, view, o->instance_id, pct > 100 ? 100 : pct);
  } else {
    snprintf(out, cap, "partition %" PRId32 " of view '%s' is restoring on instance %s", p, view,
             o->instance_id);
  }
}

/* Parses the leading decimal partition of a min_offset value ("3:150" or
 * "3%3A150"); -1 if it does not start with one. */
static int64_t min_offset_partition(const char *v, size_t len) {
  int64_t n = 0;
  size_t i = 0;
  for (; i < len && v[i] >= '0' && v[i] <= '9' && i < 10; i++)
    n = n * 10 + (v[i] - '0');
  return i == 0 ? -1 : n;
}

static int has_partition(const int32_t *parts, size_t n, int64_t p) {
  for (size_t i = 0; i < n; i++)
    if (parts[i] == p) return 1;
  return 0;
}

int ed__route_subquery(const char *q, size_t len, const int32_t *parts, size_t n,
                       int add_partitions, ed_buf_t *out) {
  const char *p = q, *end = q + len;
  int first = 1;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    size_t name_len = (size_t)((eq ? eq : pe) - p);
    const char *val = eq ? eq + 1 : pe;
    int keep = name_len > 0;
    if (name_len == 10 && memcmp(p, "partitions", 10) == 0) keep = 0;
    if (name_len == 10 && memcmp(p, "min_offset", 10) == 0) {
      int64_t mp = min_offset_partition(val, (size_t)(pe - val));
      /* a malformed one stays: the peer's 400 names it */
      if (mp >= 0 && !has_partition(parts, n, mp)) keep = 0;
    }
    if (keep) {
      if (!first) ed_buf_putc(out, '&');
      ed_buf_append(out, p, (size_t)(pe - p));
      first = 0;
    }
    p = amp ? amp + 1 : end;
  }
  if (add_partitions) {
    ed_buf_puts(out, first ? "partitions=" : "&partitions=");
    for (size_t i = 0; i < n; i++)
      ed_buf_printf(out, "%s%" PRId32, i ? "," : "", parts[i]);
  }
  return ed_buf_failed(out) ? ED_ENOMEM : ED_OK;
}

long ed__route_parse_partitions(const char *s, size_t len, int32_t nparts, int32_t *out) {
  long n = 0;
  size_t i = 0;
  if (len == 0) return -1;
  while (i <= len) {
    int64_t v = 0;
    size_t d = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9' && d < 10; i++, d++)
      v = v * 10 + (s[i] - '0');
    if (d == 0 || v >= nparts || (n > 0 && v <= out[n - 1])) return -1;
    out[n++] = (int32_t)v;
    if (i == len) return n;
    if (s[i] != ',') return -1;
    i++;
  }
  return -1;
}
