/* A stream task: applies one partition's records to its table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/log.h"
#include "streams/engine_int.h"

#define ED_TASK_MAX_KEY 511 /* LMDB's default maximum key size */

int ed__task_create(ed_view_t *v, int32_t partition, ed_task_t **out, char *err, size_t errlen) {
  ed_engine_t *e = v->engine;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", e->data_dir, v->def->name);
  if (mkdir(e->data_dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", e->data_dir, strerror(errno));
    return ED_EIO;
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    return ED_EIO;
  }
  snprintf(dir, sizeof dir, "%s/%s/%d", e->data_dir, v->def->name, (int)partition);
  ed_task_t *t = calloc(1, sizeof *t);
  if (t == NULL) return ED_ENOMEM;
  t->view = v;
  t->partition = partition;
  ed_buf_init(&t->enc);
  int rc = ed_store_open(dir, &e->store_opts, &t->store, err, errlen);
  if (rc == ED_OK) rc = ed_cache_init(&t->cache, v->def->naggs, e->cache_max_entries);
  if (rc == ED_OK) rc = ed__task_reset(t);
  if (rc != ED_OK) {
    ed__task_destroy(t);
    return rc;
  }
  *out = t;
  return ED_OK;
}

void ed__task_destroy(ed_task_t *t) {
  if (t == NULL) return;
  ed__task_end_batch(t);
  ed_store_close(t->store);
  ed_cache_fini(&t->cache);
  ed_buf_fini(&t->enc);
  free(t->puts);
  free(t);
}

int ed__task_reset(ed_task_t *t) {
  ed__task_end_batch(t);
  ed_cache_clear(&t->cache);
  int64_t off;
  int rc = ed_store_meta_get(t->store, ED_STORE_META_OFFSET, &off);
  if (rc == ED_ENOTFOUND) off = -1;
  else if (rc != ED_OK) return rc;
  t->next_offset = t->committed = off;
  return ED_OK;
}

void ed__task_end_batch(ed_task_t *t) {
  if (t->rd_open) {
    ed_store_read_end(&t->rd);
    t->rd_open = 0;
  }
}

/* The cache entry for @p key, read through from the store on a miss.
 * Returns -1 when the cache is full (the caller commits and retries). */
static long row_for_key(ed_task_t *t, const void *key, size_t klen) {
  uint32_t h = ed_cache_hash(key, klen);
  long idx = ed_cache_find(&t->cache, key, klen, h);
  if (idx >= 0) return idx;
  if (ed_cache_full(&t->cache)) return -1;
  ed_col_t cols[ED_VIEW_MAX_AGGS];
  ed_agg_init_row(t->view->def, cols);
  if (!t->rd_open && ed_store_read_begin(t->store, &t->rd) == ED_OK) t->rd_open = 1;
  const void *val;
  size_t vlen, n;
  if (t->rd_open && ed_store_read_get(&t->rd, key, klen, &val, &vlen) == ED_OK &&
      (ed_row_decode(val, vlen, cols, ED_VIEW_MAX_AGGS, &n) != ED_OK || n != t->view->def->naggs)) {
    ed_log_error("view %s partition %d: stored row has a bad encoding; starting it afresh",
                 t->view->def->name, (int)t->partition);
    ed_agg_init_row(t->view->def, cols);
  }
  return ed_cache_insert(&t->cache, key, klen, h, cols);
}

/* Validates the record for this view; on a bad record counts it and returns
 * ED_EBADREC. On success @p vals holds the fields the aggregates read. */
static int decode(ed_task_t *t, const rd_kafka_message_t *m, ed_json_val_t *vals) {
  ed_view_t *v = t->view;
  if (m->key == NULL) {
    ed__view_count_bad(v, ED_BAD_NULL_KEY, m, NULL);
    return ED_EBADREC;
  }
  if (m->key_len > ED_TASK_MAX_KEY || m->key_len == 0) {
    ed__view_count_bad(v, ED_BAD_KEY_TOO_LONG, m, m->key_len ? "over 511 bytes" : "empty");
    return ED_EBADREC;
  }
  if (m->payload == NULL) {
    ed__view_count_bad(v, ED_BAD_NULL_VALUE, m, NULL);
    return ED_EBADREC;
  }
  if (v->def->format != ED_FORMAT_JSON) return ED_OK;
  size_t pos;
  if (ed_json_scan(m->payload, m->len, v->plan.fields, v->plan.nfields, vals, &pos) != ED_OK) {
    char detail[48];
    snprintf(detail, sizeof detail, "at byte %zu", pos);
    ed__view_count_bad(v, ED_BAD_INVALID_JSON, m, detail);
    return ED_EBADREC;
  }
  int missing;
  const char *field;
  if (ed_agg_check(v->def, &v->plan, vals, &missing, &field) != ED_OK) {
    ed__view_count_bad(v, missing ? ED_BAD_MISSING_FIELD : ED_BAD_NOT_A_NUMBER, m, field);
    return ED_EBADREC;
  }
  return ED_OK;
}

void ed__task_process(ed_task_t *t, const rd_kafka_message_t *m) {
  /* Already reflected in the state (redelivered after a rebalance or
   * restart), or a failed commit is waiting for the partition to rewind. */
  if (m->offset < t->next_offset || t->need_seek) return;
  ed_json_val_t vals[ED_VIEW_MAX_AGGS];
  if (decode(t, m, vals) != ED_OK) {
    t->next_offset = m->offset + 1;
    return;
  }
  long idx = row_for_key(t, m->key, m->key_len);
  if (idx < 0) {
    /* Cache full: commit everything before this record, empty the cache,
     * retry. */
    char err[256];
    t->next_offset = m->offset;
    if (ed__task_commit(t, err, sizeof err) != ED_OK) {
      ed_log_error("view %s partition %d: commit failed: %s", t->view->def->name,
                   (int)t->partition, err);
      return;
    }
    ed__task_end_batch(t);
    ed_cache_clear(&t->cache);
    idx = row_for_key(t, m->key, m->key_len);
    if (idx < 0) { /* out of memory: rewind and try again later */
      t->need_seek = 1;
      return;
    }
  }
  ed_agg_apply(t->view->def, &t->view->plan, vals, ed_cache_cols(&t->cache, idx));
  ed_cache_mark_dirty(&t->cache, idx);
  t->next_offset = m->offset + 1;
  atomic_fetch_add_explicit(&t->view->records_in, 1, memory_order_relaxed);
}

/* Drops what was not committed; the engine rewinds the partition to the
 * committed offset and the records are applied again. */
static int fail_commit(ed_task_t *t, int rc) {
  ed_cache_clear(&t->cache);
  t->next_offset = t->committed;
  t->need_seek = 1;
  return rc;
}

int ed__task_commit(ed_task_t *t, char *err, size_t errlen) {
  ed_cache_t *c = &t->cache;
  if (t->next_offset == t->committed && c->ndirty == 0) return ED_OK;
  ed__task_end_batch(t);
  if (t->puts_cap < c->ndirty) {
    ed_store_put_t *p = realloc(t->puts, c->ndirty * sizeof *p);
    if (p == NULL) {
      snprintf(err, errlen, "out of memory");
      return fail_commit(t, ED_ENOMEM);
    }
    t->puts = p;
    t->puts_cap = c->ndirty;
  }
  /* Size the encode buffer once so the puts can point into it. */
  size_t total = 0;
  for (size_t i = 0; i < c->ndirty; i++)
    total += ed_row_encoded_size(ed_cache_cols(c, (long)c->dirty[i]), c->ncols);
  ed_buf_reset(&t->enc);
  if (ed_buf_reserve(&t->enc, total) != ED_OK) {
    snprintf(err, errlen, "out of memory");
    return fail_commit(t, ED_ENOMEM);
  }
  for (size_t i = 0; i < c->ndirty; i++) {
    long idx = (long)c->dirty[i];
    char *out = t->enc.data + t->enc.len;
    size_t n = ed_row_encode(ed_cache_cols(c, idx), c->ncols, out, total - t->enc.len);
    t->enc.len += n;
    t->puts[i] = (ed_store_put_t){ed_cache_key(c, idx), c->entries[idx].key_len, out, n, 0};
  }
  ed_store_meta_put_t meta = {ED_STORE_META_OFFSET, t->next_offset};
  int rc = ed_store_commit(t->store, t->puts, c->ndirty, &meta, t->next_offset >= 0 ? 1 : 0, err,
                           errlen);
  if (rc != ED_OK) return fail_commit(t, rc);
  ed_cache_mark_all_clean(c);
  t->committed = t->next_offset;
  atomic_fetch_add_explicit(&t->view->commits, 1, memory_order_relaxed);
  return ED_OK;
}
