/* A task's commit: its row changes, input offsets, stream time and
 * duplicate-filter positions in one LMDB transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "streams/engine_int.h"
#include "streams/window.h"

static ed_store_spec_t *spec_of(const ed_task_t *t) {
  return t->st->store >= 0 ? &t->r->topo->stores[t->st->store] : NULL;
}

/* The record key inside a store key. */
static int record_key(const ed_store_spec_t *spec, const char *skey, size_t sklen, uint8_t *buf,
                      const void **key, size_t *klen) {
  if (spec->kind == ED_STORE_KIND_KV) {
    *key = skey;
    *klen = sklen;
    return ED_OK;
  }
  int64_t start;
  *key = buf;
  return ed_wkey_decode((const uint8_t *)skey, sklen, buf, ED_WKEY_MAX, klen, &start);
}

void ed__task_emit_changes(ed_task_t *t) {
  ed_store_spec_t *spec = spec_of(t);
  if (spec == NULL || spec->changes_topic == NULL) return;
  ed_cache_t *c = &t->cache;
  for (size_t i = 0; i < c->ndirty; i++) {
    ed_cache_ref_t idx = c->dirty[i];
    const ed_cache_entry_t *e = ed_cache_entry(c, idx);
    const char *skey = ed_cache_key(c, idx);
    uint8_t kbuf[ED_WKEY_MAX];
    const void *key;
    size_t klen;
    if (record_key(spec, skey, e->key_len, kbuf, &key, &klen) != ED_OK) continue;
    ed_buf_reset(&t->enc);
    if (e->present) {
      spec->render(spec->render_arg, skey, e->key_len, ed_cache_val(c, idx), e->val_len, &t->enc);
      if (ed_buf_failed(&t->enc)) continue;
    }
    if (ed__runner_produce(t->r, spec->changes_topic, key, klen, e->present ? t->enc.data : NULL,
                           e->present ? t->enc.len : 0, t->stream_time, NULL) != ED_OK)
      t->r->produce_failed = 1;
  }
}

/* Drops what was not committed; the runner rewinds the partition to the
 * committed offsets and the records are applied again. */
static int fail_commit(ed_task_t *t, int rc) {
  ed__task_end_batch(t);
  ed_cache_clear(&t->cache);
  for (int i = 0; i < t->st->nsources; i++) t->next_offset[i] = t->committed[i];
  t->stream_time = t->committed_stream_time;
  t->need_seek = 1;
  return rc;
}

int ed__task_reserve_puts(ed_task_t *t, size_t n) {
  if (t->puts_cap >= n) return ED_OK;
  ed_store_put_t *p = realloc(t->puts, n * sizeof *p);
  if (p == NULL) return ED_ENOMEM;
  t->puts = p;
  t->puts_cap = n;
  return ED_OK;
}

size_t ed__task_collect_metas(ed_task_t *t) {
  size_t n = 0;
  ed_store_spec_t *spec = spec_of(t);
  for (int i = 0; i < t->st->nsources; i++) {
    if (t->next_offset[i] < 0) continue;
    snprintf(t->meta_names[n], sizeof t->meta_names[n], "offset/%s",
             t->r->topo->nodes[t->st->sources[i]].topic);
    t->metas[n] = (ed_store_meta_put_t){t->meta_names[n], t->next_offset[i]};
    n++;
  }
  /* "offset": the first source's position, what answers report. */
  if (t->st->nsources > 0 && t->next_offset[0] >= 0)
    t->metas[n++] = (ed_store_meta_put_t){ED_STORE_META_OFFSET, t->next_offset[0]};
  if (t->stream_time != INT64_MIN)
    t->metas[n++] = (ed_store_meta_put_t){ED_STORE_META_STREAM_TIME, t->stream_time};
  if (spec->fingerprint)
    t->metas[n++] = (ed_store_meta_put_t){"fingerprint", (int64_t)spec->fingerprint};
  for (size_t i = 0; i < t->nsrc; i++) {
    if (!t->src_dirty[i]) continue;
    snprintf(t->meta_names[n], sizeof t->meta_names[n], "src/%d/%d", (int)(i / (size_t)t->nup),
             (int)(i % (size_t)t->nup));
    t->metas[n] = (ed_store_meta_put_t){t->meta_names[n], t->src_seen[i]};
    n++;
  }
  return n;
}

int ed__task_commit(ed_task_t *t, char *err, size_t errlen) {
  ed_cache_t *c = &t->cache;
  ed__task_end_batch(t);
  if (!ed__task_has_changes(t)) return ED_OK;
  if (t->store == NULL) {
    for (int i = 0; i < t->st->nsources; i++) t->committed[i] = t->next_offset[i];
    t->committed_stream_time = t->stream_time;
    return ED_OK;
  }
  if (ed__task_reserve_puts(t, 2 * c->ndirty) != ED_OK) {
    snprintf(err, errlen, "out of memory");
    return fail_commit(t, ED_ENOMEM);
  }
  size_t n = 0;
  for (size_t i = 0; i < c->ndirty; i++) {
    ed_cache_ref_t idx = c->dirty[i];
    const ed_cache_entry_t *e = ed_cache_entry(c, idx);
    const char *key = ed_cache_key(c, idx);
    if (e->drop_expire) t->puts[n++] = (ed_store_put_t){key, e->key_len, NULL, 0, e->drop_expire};
    if (e->present)
      t->puts[n++] = (ed_store_put_t){key, e->key_len, ed_cache_val(c, idx), e->val_len, e->expire_at};
    else if (!e->drop_expire)
      t->puts[n++] = (ed_store_put_t){key, e->key_len, NULL, 0, 0};
  }
  size_t nmetas = ed__task_collect_metas(t);
  int64_t checkpoint = ed__changelog_checkpoint(t);
  if (t->changelog_topic && checkpoint >= 0)
    t->metas[nmetas++] = (ed_store_meta_put_t){ED_STORE_META_CHANGELOG, checkpoint};
  ed_store_spec_t *spec = spec_of(t);
  int64_t purge = spec->purge_expired && t->stream_time != INT64_MIN ? t->stream_time : INT64_MIN;
  uint64_t purged = 0;
  int rc = ed_store_commit_ex(t->store, t->puts, n, t->metas, nmetas, purge, &purged, err, errlen);
  if (rc != ED_OK) return fail_commit(t, rc);
  ed_cache_mark_all_clean(c);
  if (t->changelog_pending >= 0) t->changelog_next = t->changelog_pending;
  t->changelog_pending = -1;
  for (int i = 0; i < t->st->nsources; i++) t->committed[i] = t->next_offset[i];
  /* Processing passed every key restored ahead: they are ordinary now. */
  if (t->ahead.n) {
    int passed = 1;
    for (int i = 0; i < t->st->nsources; i++)
      if (t->ahead.max[i] >= 0 && t->committed[i] < t->ahead.max[i]) passed = 0;
    if (passed) ed__ahead_clear(&t->ahead);
  }
  t->committed_stream_time = t->stream_time;
  memset(t->src_dirty, 0, t->nsrc);
  atomic_fetch_add_explicit(&t->r->commits, 1, memory_order_relaxed);
  if (purged)
    ed_log_debug("store %s partition %d: purged %llu expired rows", spec->name, (int)t->partition,
                 (unsigned long long)purged);
  return ED_OK;
}
