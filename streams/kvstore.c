/* State stores as processors see them: the task's record cache in front of
 * its LMDB store. */
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

#define ED_NS_ROW 0
#define ED_NS_MEMO 1

/* The entry of the last get, when @p key is its key: the usual
 * get-then-put of one record then costs one hash lookup. */
static long last_entry(const ed_kvstore_t *s, const void *key, size_t klen) {
  const ed_cache_t *c = &s->task->cache;
  long idx = s->last_idx;
  if (idx < 0 || (size_t)idx >= c->count) return -1;
  const ed_cache_entry_t *e = &c->entries[idx];
  if (e->ns != ED_NS_ROW || e->key_len != klen || memcmp(ed_cache_key(c, idx), key, klen) != 0)
    return -1;
  return idx;
}

/* The cache entry of a row, read through from the store on a miss. */
static long row_entry(ed_kvstore_t *s, const void *key, size_t klen) {
  ed_task_t *t = s->task;
  long idx = last_entry(s, key, klen);
  if (idx >= 0) return idx;
  uint32_t h = ed_cache_hash(key, klen);
  idx = ed_cache_find(&t->cache, ED_NS_ROW, key, klen, h);
  if (idx >= 0) return s->last_idx = idx;
  idx = ed_cache_add(&t->cache, ED_NS_ROW, key, klen, h);
  if (idx < 0) return -1;
  if (!t->rd_open && ed_store_read_begin(t->store, &t->rd) == ED_OK) t->rd_open = 1;
  const void *val;
  size_t vlen;
  if (t->rd_open && ed_store_read_get(&t->rd, key, klen, &val, &vlen) == ED_OK &&
      ed_cache_set(&t->cache, idx, val, vlen) != ED_OK)
    return -1;
  return s->last_idx = idx;
}

int ed_kvstore_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val, size_t *vlen) {
  if (klen == 0 || klen > 511) return ED_ENOTFOUND;
  long idx = row_entry(s, key, klen);
  if (idx < 0) return ED_ENOMEM;
  const ed_cache_entry_t *e = &s->task->cache.entries[idx];
  if (!e->present) return ED_ENOTFOUND;
  *val = ed_cache_val(&s->task->cache, idx);
  *vlen = e->val_len;
  return ED_OK;
}

int ed_kvstore_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val, size_t vlen,
                   int64_t expire_at) {
  if (klen == 0 || klen > 511) return ED_EINVAL;
  ed_cache_t *c = &s->task->cache;
  long idx = last_entry(s, key, klen);
  if (idx < 0) {
    uint32_t h = ed_cache_hash(key, klen);
    idx = ed_cache_find(c, ED_NS_ROW, key, klen, h);
    if (idx < 0) idx = ed_cache_add(c, ED_NS_ROW, key, klen, h);
  }
  if (idx < 0 || ed_cache_set(c, idx, val, vlen) != ED_OK) return ED_ENOMEM;
  c->entries[idx].expire_at = expire_at;
  ed_cache_mark_dirty(c, idx);
  return ED_OK;
}

int ed_kvstore_delete(ed_kvstore_t *s, const void *key, size_t klen, int64_t expire_at) {
  if (klen == 0 || klen > 511) return ED_EINVAL;
  ed_cache_t *c = &s->task->cache;
  uint32_t h = ed_cache_hash(key, klen);
  long idx = ed_cache_find(c, ED_NS_ROW, key, klen, h);
  if (idx < 0) idx = ed_cache_add(c, ED_NS_ROW, key, klen, h);
  if (idx < 0) return ED_ENOMEM;
  ed_cache_entry_t *e = &c->entries[idx];
  /* Keep the first expiry dropped since the last commit: it is the one the
   * store's index holds. */
  if (e->drop_expire == 0) e->drop_expire = expire_at;
  e->present = 0;
  e->val_len = 0;
  e->expire_at = 0;
  ed_cache_mark_dirty(c, idx);
  return ED_OK;
}

int ed_kvstore_memo_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val,
                        size_t *vlen) {
  ed_cache_t *c = &s->task->cache;
  long idx = ed_cache_find(c, ED_NS_MEMO, key, klen, ed_cache_hash(key, klen));
  if (idx < 0 || !c->entries[idx].present) return ED_ENOTFOUND;
  *val = ed_cache_val(c, idx);
  *vlen = c->entries[idx].val_len;
  return ED_OK;
}

int ed_kvstore_memo_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val,
                        size_t vlen) {
  ed_cache_t *c = &s->task->cache;
  uint32_t h = ed_cache_hash(key, klen);
  long idx = ed_cache_find(c, ED_NS_MEMO, key, klen, h);
  if (idx < 0 && val == NULL) return ED_OK;
  if (idx < 0) idx = ed_cache_add(c, ED_NS_MEMO, key, klen, h);
  if (idx < 0) return ED_ENOMEM;
  if (val == NULL) {
    c->entries[idx].present = 0;
    return ED_OK;
  }
  return ed_cache_set(c, idx, val, vlen);
}

int ed_kvstore_scan(ed_kvstore_t *s, const void *prefix, size_t plen,
                    int (*fn)(void *arg, const void *key, size_t klen, const void *val,
                              size_t vlen),
                    void *arg) {
  ed_task_t *t = s->task;
  if (!t->rd_open) {
    if (ed_store_read_begin(t->store, &t->rd) != ED_OK) return ED_ESTORE;
    t->rd_open = 1;
  }
  ed_store_iter_t it;
  int rc = ed_store_iter_seek(&t->rd, &it, prefix, plen);
  if (rc != ED_OK) return rc;
  const void *k, *v;
  size_t kl, vl;
  while (ed_store_iter_next(&it, &k, &kl, &v, &vl) == ED_OK) {
    if (kl < plen || memcmp(k, prefix, plen) != 0) break;
    if (fn(arg, k, kl, v, vl)) break;
  }
  ed_store_iter_close(&it);
  return ED_OK;
}
