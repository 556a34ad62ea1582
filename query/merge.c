/* The k-way merge of a range scan: one LMDB snapshot and ordered iterator
 * per partition (each partition is its own environment), merged by store
 * key with a binary min-heap. Keys never repeat across partitions (a key
 * lives in the partition it hashes to), so the merge needs no dedup. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "query/query_int.h"
#include "streams/window.h"

static int key_cmp(const void *a, size_t al, const void *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

static int windowed(const ed__qbounds_t *b) {
  return b->kind == ED_STORE_KIND_WINDOWED || b->kind == ED_STORE_KIND_SESSION;
}

/* Repositions @p s at the first row >= @p key. */
static int reseek(ed__qsrc_t *s, const void *key, size_t klen) {
  ed_store_iter_close(&s->it);
  s->iter_open = 1;
  return ed_store_iter_seek(&s->r, &s->it, key, klen);
}

/* Moves @p s to its next row inside the bounds (or marks it done).
 * @p skip_equal: skip a first row equal to b->lo (a cursor's last row). */
static int settle(const ed__qbounds_t *b, ed__qsrc_t *s, int skip_equal) {
  for (;;) {
    const void *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    int rc = ed_store_iter_next(&s->it, &k, &kl, &v, &vl);
    if (rc == ED_ENOTFOUND) {
      s->done = 1;
      return ED_OK;
    }
    if (rc != ED_OK) return rc;
    if (skip_equal) {
      skip_equal = 0;
      if (key_cmp(k, kl, b->lo, b->lo_len) == 0) continue;
    }
    if (b->hi != NULL && key_cmp(k, kl, b->hi, b->hi_len) >= 0) {
      s->done = 1;
      return ED_OK;
    }
    if (windowed(b) && (b->has_wfrom || b->has_wto)) {
      if (kl < 10) return ED_EINVAL; /* prefix terminator + 8-byte start */
      const uint8_t *kb = k;
      uint64_t u = 0;
      for (size_t j = kl - 8; j < kl; j++)
        u = u << 8 | kb[j];
      int64_t start = (int64_t)(u ^ ((uint64_t)1 << 63));
      uint8_t target[ED_WKEY_MAX + 2];
      size_t plen = kl - 8;                   /* the encoded record key with its terminator */
      if (b->has_wfrom && start < b->wfrom) { /* jump to this key's first window in range */
        memcpy(target, kb, plen);
        uint64_t w = (uint64_t)b->wfrom ^ ((uint64_t)1 << 63);
        for (int j = 0; j < 8; j++)
          target[plen + (size_t)j] = (uint8_t)(w >> (56 - 8 * j));
        if ((rc = reseek(s, target, plen + 8)) != ED_OK) return rc;
        continue;
      }
      if (b->has_wto && start > b->wto) { /* jump past every window of this key */
        memcpy(target, kb, plen);
        memset(target + plen, 0xFF, 8);
        target[plen + 8] = 0x00;
        if ((rc = reseek(s, target, plen + 9)) != ED_OK) return rc;
        continue;
      }
    }
    s->k = k;
    s->kl = kl;
    s->v = v;
    s->vl = vl;
    return ED_OK;
  }
}

static int src_less(const ed__qmerge_t *m, size_t a, size_t b) {
  const ed__qsrc_t *x = &m->src[a], *y = &m->src[b];
  return key_cmp(x->k, x->kl, y->k, y->kl) < 0;
}

static void sift_down(ed__qmerge_t *m, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, min = i;
    if (l < m->nheap && src_less(m, m->heap[l], m->heap[min])) min = l;
    if (r < m->nheap && src_less(m, m->heap[r], m->heap[min])) min = r;
    if (min == i) return;
    size_t t = m->heap[i];
    m->heap[i] = m->heap[min];
    m->heap[min] = t;
    i = min;
  }
}

int ed__qmerge_begin(ed__qmerge_t *m, ed_store_t *const *stores, const int32_t *parts, size_t n,
                     const ed__qbounds_t *b) {
  memset(m, 0, sizeof *m);
  m->b = b;
  m->src = calloc(n ? n : 1, sizeof *m->src);
  m->heap = calloc(n ? n : 1, sizeof *m->heap);
  if (m->src == NULL || m->heap == NULL) return ED_ENOMEM;
  m->nsrc = n;
  for (size_t i = 0; i < n; i++) {
    ed__qsrc_t *s = &m->src[i];
    s->partition = parts[i];
    if (ed_store_read_begin(stores[i], &s->r) != ED_OK) {
      ed_store_read_end(&s->r);
      return ED_ESTORE;
    }
    s->open = 1;
    s->iter_open = 1;
    int rc = ed_store_iter_seek(&s->r, &s->it, b->lo, b->lo ? b->lo_len : 0);
    if (rc == ED_OK) rc = settle(b, s, b->lo != NULL && b->lo_exclusive);
    if (rc != ED_OK) return rc;
    if (!s->done) m->heap[m->nheap++] = i;
  }
  for (size_t i = m->nheap / 2; i-- > 0;)
    sift_down(m, i);
  return ED_OK;
}

int ed__qmerge_peek(ed__qmerge_t *m, ed__qsrc_t **src) {
  if (m->nheap == 0) return ED_ENOTFOUND;
  *src = &m->src[m->heap[0]];
  return ED_OK;
}

int ed__qmerge_pop(ed__qmerge_t *m) {
  if (m->nheap == 0) return ED_OK;
  ed__qsrc_t *s = &m->src[m->heap[0]];
  int rc = settle(m->b, s, 0);
  if (rc != ED_OK) return rc;
  if (s->done) m->heap[0] = m->heap[--m->nheap];
  if (m->nheap > 0) sift_down(m, 0);
  return ED_OK;
}

void ed__qmerge_end(ed__qmerge_t *m) {
  /* in reverse order of the snapshots' begins */
  for (size_t i = m->nsrc; m->src != NULL && i-- > 0;) {
    ed__qsrc_t *s = &m->src[i];
    if (s->iter_open) ed_store_iter_close(&s->it);
    if (s->open) ed_store_read_end(&s->r);
    s->iter_open = s->open = 0;
  }
  free(m->src);
  free(m->heap);
  m->src = NULL;
  m->heap = NULL;
  m->nsrc = m->nheap = 0;
}
