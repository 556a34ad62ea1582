/* count_distinct: an exact set of value hashes that becomes a HyperLogLog
 * sketch (Flajolet et al. 2007, with linear counting for small ranges) once
 * it holds more than ED_AGG_DISTINCT_EXACT hashes. See agg_int.h for the
 * blob layout. */
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "streams/agg.h"
#include "streams/agg_int.h"

static const char empty_exact[1] = {ED__DISTINCT_EXACT};

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

static inline uint64_t load64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static inline void store64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t ed__hash64(const void *data, size_t len, uint64_t seed) {
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  const unsigned char *p = data;
  uint64_t h = fmix64(seed ^ 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t k = load64(p + i) * c1;
    h ^= rotl64(k, 31) * c2;
    h = rotl64(h, 27) * 5 + 0x52dce729;
  }
  uint64_t k = 0;
  for (size_t j = len; j > i; j--)
    k = (k << 8) | p[j - 1];
  h ^= rotl64(k * c1, 31) * c2;
  return fmix64(h ^ (uint64_t)len);
}

typedef struct {
  int hll;
  const unsigned char *p; /* after the tag: hashes or registers */
  size_t n;               /* number of hashes (exact) */
} dset_t;

static int dset_view(const ed_col_t *c, dset_t *d) {
  memset(d, 0, sizeof *d);
  if (c->type == ED_COL_NULL) return ED_OK; /* tolerated as the empty set */
  if (c->type != ED_COL_BYTES) return ED_EINVAL;
  if (c->v.s.len == 0) return ED_OK;
  const unsigned char *b = (const unsigned char *)c->v.s.p;
  if (b[0] == ED__DISTINCT_EXACT && (c->v.s.len - 1) % 8 == 0) {
    d->p = b + 1;
    d->n = (c->v.s.len - 1) / 8;
    return ED_OK;
  }
  if (b[0] == ED__DISTINCT_HLL && c->v.s.len == ED__DISTINCT_MAX_BYTES) {
    d->hll = 1;
    d->p = b + 1;
    return ED_OK;
  }
  return ED_EINVAL;
}

static inline size_t hll_index(uint64_t h) { return (size_t)(h >> (64 - ED__HLL_P)); }

static inline unsigned char hll_rank(uint64_t h) {
  uint64_t w = h << ED__HLL_P;
  return (unsigned char)(w ? (unsigned)__builtin_clzll(w) + 1 : 64 - ED__HLL_P + 1);
}

static inline void hll_insert(unsigned char *reg, uint64_t h) {
  size_t idx = hll_index(h);
  unsigned char rank = hll_rank(h);
  if (reg[idx] < rank) reg[idx] = rank;
}

void ed__distinct_init(ed_col_t *state) {
  state->type = ED_COL_BYTES;
  state->v.s.p = empty_exact;
  state->v.s.len = 1;
}

int ed__distinct_is_hll(const ed_col_t *state) {
  dset_t d;
  return dset_view(state, &d) == ED_OK && d.hll;
}

static void set_blob(ed_col_t *state, const unsigned char *p, size_t len) {
  state->type = ED_COL_BYTES;
  state->v.s.p = (const char *)p;
  state->v.s.len = (uint32_t)len;
}

int ed__distinct_add(ed_col_t *state, uint64_t h, ed_buf_t *arena) {
  dset_t d;
  if (dset_view(state, &d) != ED_OK) return ED_EINVAL;
  const char *keep = (const char *)d.p;
  unsigned char *out;
  if (d.hll) {
    size_t idx = hll_index(h);
    unsigned char rank = hll_rank(h);
    if (d.p[idx] >= rank) return ED_OK;
    if (ed__agg_arena_take(arena, ED__DISTINCT_MAX_BYTES, &keep, 1, &out) != ED_OK)
      return ED_ENOMEM;
    out[0] = ED__DISTINCT_HLL;
    memcpy(out + 1, keep, ED__HLL_M);
    out[1 + idx] = rank;
    set_blob(state, out, ED__DISTINCT_MAX_BYTES);
    return ED_OK;
  }
  size_t lo = 0, hi = d.n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t v = load64(d.p + 8 * mid);
    if (v < h)
      lo = mid + 1;
    else if (v > h)
      hi = mid;
    else
      return ED_OK;
  }
  if (d.n + 1 <= ED_AGG_DISTINCT_EXACT) {
    size_t len = 1 + 8 * (d.n + 1);
    if (ed__agg_arena_take(arena, len, &keep, 1, &out) != ED_OK) return ED_ENOMEM;
    const unsigned char *old = (const unsigned char *)keep;
    out[0] = ED__DISTINCT_EXACT;
    if (lo) memcpy(out + 1, old, 8 * lo);
    store64(out + 1 + 8 * lo, h);
    if (d.n > lo) memcpy(out + 1 + 8 * (lo + 1), old + 8 * lo, 8 * (d.n - lo));
    set_blob(state, out, len);
    return ED_OK;
  }
  if (ed__agg_arena_take(arena, ED__DISTINCT_MAX_BYTES, &keep, 1, &out) != ED_OK) return ED_ENOMEM;
  const unsigned char *old = (const unsigned char *)keep;
  out[0] = ED__DISTINCT_HLL;
  memset(out + 1, 0, ED__HLL_M);
  for (size_t i = 0; i < d.n; i++)
    hll_insert(out + 1, load64(old + 8 * i));
  hll_insert(out + 1, h);
  set_blob(state, out, ED__DISTINCT_MAX_BYTES);
  return ED_OK;
}

int ed__distinct_merge(ed_col_t *into, const ed_col_t *from, ed_buf_t *arena) {
  dset_t a, b;
  if (dset_view(into, &a) != ED_OK || dset_view(from, &b) != ED_OK) return ED_EINVAL;
  if (!b.hll && b.n == 0) return ED_OK;
  const char *keep[2] = {(const char *)a.p, (const char *)b.p};
  unsigned char *out;
  if (!a.hll && !b.hll) {
    /* size of the union of two sorted sets */
    size_t i = 0, j = 0, u = 0;
    while (i < a.n || j < b.n) {
      if (j == b.n || (i < a.n && load64(a.p + 8 * i) < load64(b.p + 8 * j)))
        i++;
      else if (i == a.n || load64(a.p + 8 * i) > load64(b.p + 8 * j))
        j++;
      else
        i++, j++;
      u++;
    }
    if (u == a.n) return ED_OK; /* from adds nothing */
    size_t len = u <= ED_AGG_DISTINCT_EXACT ? 1 + 8 * u : ED__DISTINCT_MAX_BYTES;
    if (ed__agg_arena_take(arena, len, keep, 2, &out) != ED_OK) return ED_ENOMEM;
    const unsigned char *pa = (const unsigned char *)keep[0], *pb = (const unsigned char *)keep[1];
    if (u <= ED_AGG_DISTINCT_EXACT) {
      out[0] = ED__DISTINCT_EXACT;
      unsigned char *w = out + 1;
      i = j = 0;
      while (i < a.n || j < b.n) {
        uint64_t x;
        if (j == b.n || (i < a.n && load64(pa + 8 * i) < load64(pb + 8 * j)))
          x = load64(pa + 8 * i++);
        else if (i == a.n || load64(pa + 8 * i) > load64(pb + 8 * j))
          x = load64(pb + 8 * j++);
        else
          x = load64(pa + 8 * i++), j++;
        store64(w, x);
        w += 8;
      }
    } else {
      out[0] = ED__DISTINCT_HLL;
      memset(out + 1, 0, ED__HLL_M);
      for (i = 0; i < a.n; i++)
        hll_insert(out + 1, load64(pa + 8 * i));
      for (j = 0; j < b.n; j++)
        hll_insert(out + 1, load64(pb + 8 * j));
    }
    set_blob(into, out, len);
    return ED_OK;
  }
  if (ed__agg_arena_take(arena, ED__DISTINCT_MAX_BYTES, keep, 2, &out) != ED_OK) return ED_ENOMEM;
  const unsigned char *pa = (const unsigned char *)keep[0], *pb = (const unsigned char *)keep[1];
  out[0] = ED__DISTINCT_HLL;
  unsigned char *reg = out + 1;
  if (a.hll && b.hll) {
    for (size_t r = 0; r < ED__HLL_M; r++)
      reg[r] = pa[r] > pb[r] ? pa[r] : pb[r];
  } else {
    const unsigned char *sketch = a.hll ? pa : pb, *set = a.hll ? pb : pa;
    size_t n = a.hll ? b.n : a.n;
    memcpy(reg, sketch, ED__HLL_M);
    for (size_t i = 0; i < n; i++)
      hll_insert(reg, load64(set + 8 * i));
  }
  set_blob(into, out, ED__DISTINCT_MAX_BYTES);
  return ED_OK;
}

int64_t ed__distinct_count(const ed_col_t *state) {
  dset_t d;
  if (dset_view(state, &d) != ED_OK) return 0;
  if (!d.hll) return (int64_t)d.n;
  const double m = ED__HLL_M;
  double sum = 0;
  size_t zeros = 0;
  for (size_t r = 0; r < ED__HLL_M; r++) {
    sum += ldexp(1.0, -(int)d.p[r]);
    if (d.p[r] == 0) zeros++;
  }
  double alpha = 0.7213 / (1.0 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * log(m / (double)zeros); /* linear counting */
  /* 64-bit hashes: no large-range correction needed */
  return (int64_t)llround(e);
}
