/* State stores as processors see them: the task's record cache in front of
 * its LMDB store. */
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

#define ED_NS_ROW 0
#define ED_NS_MEMO 1

/* Room for a row value not known yet (an encoded count is 11 bytes). */
#define ED_ROW_ROOM 24

/* The entry of the last get, when @p key is its key: the usual
 * get-then-put of one record then costs one hash lookup. */
static ed_cache_ref_t last_entry(const ed_kvstore_t *s, const void *key, size_t klen) {
  const ed_cache_t *c = &s->task->cache;
  if (s->last_ref < 0 || s->last_gen != c->generation) return -1;
  const ed_cache_entry_t *e = ed_cache_entry(c, s->last_ref);
  if (e->ns != ED_NS_ROW || e->key_len != klen || memcmp(e + 1, key, klen) != 0) return -1;
  return s->last_ref;
}

static ed_cache_ref_t remember(ed_kvstore_t *s, ed_cache_ref_t r) {
  s->last_ref = r;
  s->last_gen = s->task->cache.generation;
  return r;
}

/* The cache entry of a row, read through from the store on a miss. */
static ed_cache_ref_t row_entry(ed_kvstore_t *s, const void *key, size_t klen) {
  ed_task_t *t = s->task;
  ed_cache_ref_t r = last_entry(s, key, klen);
  if (r >= 0) return r;
  uint32_t h = ed_cache_hash(key, klen);
  r = ed_cache_find(&t->cache, ED_NS_ROW, key, klen, h);
  if (r >= 0) return remember(s, r);
  if (!t->rd_open && ed_store_read_begin(t->store, &t->rd) == ED_OK) t->rd_open = 1;
  const void *val = NULL;
  size_t vlen = 0;
  int found = t->rd_open && ed_store_read_get(&t->rd, key, klen, &val, &vlen) == ED_OK;
  r = ed_cache_add(&t->cache, ED_NS_ROW, key, klen, h, found ? vlen : ED_ROW_ROOM);
  if (r < 0 || (found && ed_cache_set(&t->cache, r, val, vlen) != ED_OK)) return -1;
  return remember(s, r);
}

int ed_kvstore_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val, size_t *vlen) {
  if (klen == 0 || klen > 511) return ED_ENOTFOUND;
  ed_cache_ref_t r = row_entry(s, key, klen);
  if (r < 0) return ED_ENOMEM;
  const ed_cache_entry_t *e = ed_cache_entry(&s->task->cache, r);
  if (!e->present) return ED_ENOTFOUND;
  *val = ed_cache_val(&s->task->cache, r);
  *vlen = e->val_len;
  return ED_OK;
}

/* A key restored ahead of the resume point already holds the current
 * record (streams/ahead.c). */
static int skip_restored(const ed_task_t *t, const void *key, size_t klen) {
  if (t->ahead.n == 0 || t->ctx.msg == NULL) return 0;
  return ed__ahead_skip(&t->ahead, key, klen, t->ctx.slot, t->ctx.msg->offset);
}

int ed_kvstore_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val, size_t vlen,
                   int64_t expire_at) {
  if (klen == 0 || klen > 511) return ED_EINVAL;
  if (skip_restored(s->task, key, klen)) return ED_OK;
  ed_cache_t *c = &s->task->cache;
  ed_cache_ref_t r = last_entry(s, key, klen);
  if (r < 0) {
    uint32_t h = ed_cache_hash(key, klen);
    r = ed_cache_find(c, ED_NS_ROW, key, klen, h);
    if (r < 0) r = ed_cache_add(c, ED_NS_ROW, key, klen, h, vlen);
  }
  if (r < 0 || ed_cache_set(c, r, val, vlen) != ED_OK) return ED_ENOMEM;
  ed_cache_entry(c, r)->expire_at = expire_at;
  return ed_cache_mark_dirty(c, r);
}

int ed_kvstore_delete(ed_kvstore_t *s, const void *key, size_t klen, int64_t expire_at) {
  if (klen == 0 || klen > 511) return ED_EINVAL;
  if (skip_restored(s->task, key, klen)) return ED_OK;
  ed_cache_t *c = &s->task->cache;
  uint32_t h = ed_cache_hash(key, klen);
  ed_cache_ref_t r = ed_cache_find(c, ED_NS_ROW, key, klen, h);
  if (r < 0) r = ed_cache_add(c, ED_NS_ROW, key, klen, h, 0);
  if (r < 0) return ED_ENOMEM;
  ed_cache_entry_t *e = ed_cache_entry(c, r);
  /* Keep the first expiry dropped since the last commit: it is the one the
   * store's index holds. */
  if (e->drop_expire == 0) e->drop_expire = expire_at;
  e->present = 0;
  e->val_len = 0;
  e->expire_at = 0;
  return ed_cache_mark_dirty(c, r);
}

int ed_kvstore_memo_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val,
                        size_t *vlen) {
  ed_cache_t *c = &s->task->cache;
  ed_cache_ref_t r = ed_cache_find(c, ED_NS_MEMO, key, klen, ed_cache_hash(key, klen));
  if (r < 0 || !ed_cache_entry(c, r)->present) return ED_ENOTFOUND;
  *val = ed_cache_val(c, r);
  *vlen = ed_cache_entry(c, r)->val_len;
  return ED_OK;
}

int ed_kvstore_memo_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val,
                        size_t vlen) {
  ed_cache_t *c = &s->task->cache;
  uint32_t h = ed_cache_hash(key, klen);
  ed_cache_ref_t r = ed_cache_find(c, ED_NS_MEMO, key, klen, h);
  if (r < 0 && val == NULL) return ED_OK;
  if (r < 0) r = ed_cache_add(c, ED_NS_MEMO, key, klen, h, vlen);
  if (r < 0) return ED_ENOMEM;
  if (val == NULL) {
    ed_cache_entry(c, r)->present = 0;
    return ED_OK;
  }
  return ed_cache_set(c, r, val, vlen);
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
