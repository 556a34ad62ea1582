/* Restoring and standby tasks (docs/scale-out.md, "Changelog and
 * restoration", "Standbys"), on the runner's thread.
 *
 * A runner has one plain consumer (no group) of its stores' changelogs.
 * A task assigned without its state up to date restores: its input
 * partition stays paused while the changelog is applied from the task's
 * checkpoint to the end the changelog had when the restore began, in LMDB
 * transactions of a few thousand rows; each marker's metadata (input
 * offsets, stream time, duplicate filter) goes into the transaction that
 * holds the marker's commit. Then the input is sought to the restored
 * offsets and resumed. A standby task does the same without end. Rows
 * after the last marker belong to an incomplete commit: they are applied
 * and remembered (ahead.c) so the records they hold are not applied twice. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/bytes.h"
#include "streams/engine_int.h"

#define ED_RESTORE_BATCH 32768

struct ed_restore_put {
  size_t koff, klen, voff, vlen;
  int64_t expire_at, drop_expire;
  int has_val;
};

int ed__restore_create(ed_runner_t *r, char *err, size_t errlen) {
  /* Assigned, never subscribed: the group id only satisfies librdkafka. */
  static const char *const fixed[][2] = {
      {"enable.auto.commit", "false"},    {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},   {"isolation.level", "read_committed"},
      {"queued.min.messages", "1000000"}, {"queued.max.messages.kbytes", "1048576"},
      {"group.id", "eddy-restorer"},
  };
  rd_kafka_conf_t *kc = ed__runner_client_conf(r->engine, NULL, 0, fixed,
                                               sizeof fixed / sizeof fixed[0], err, errlen);
  if (kc == NULL) return ED_ECONFIG;
  char kerr[512];
  r->restorer = rd_kafka_new(RD_KAFKA_CONSUMER, kc, kerr, sizeof kerr);
  if (r->restorer == NULL) {
    rd_kafka_conf_destroy(kc);
    snprintf(err, errlen, "%s: cannot create the changelog reader: %s", r->topo->name, kerr);
    return ED_EKAFKA;
  }
  rd_kafka_poll_set_consumer(r->restorer);
  return ED_OK;
}

void ed__restore_destroy(ed_runner_t *r) {
  if (r->restorer == NULL) return;
  rd_kafka_assign(r->restorer, NULL);
  rd_kafka_consumer_close(r->restorer);
  rd_kafka_destroy(r->restorer);
  r->restorer = NULL;
}

/* ---- restoring ---- */

static int has_rows(ed_task_t *t) {
  uint64_t n = 0;
  return ed_store_row_count(t->store, &n) == ED_OK && n > 0;
}

static int clear_state(ed_task_t *t) {
  char err[256];
  if (ed_store_clear(t->store, err, sizeof err) != ED_OK) {
    ed_log_error("%s: partition %d: cannot clear the state to restore it: %s", t->r->topo->name,
                 (int)t->partition, err);
    return ED_ESTORE;
  }
  ed__ahead_clear(&t->ahead);
  return ed__task_reset(t, err, sizeof err);
}

/* Where to read @p t's changelog from: its checkpoint, or the beginning
 * (its state cleared) when the checkpoint is not in the log. */
static int64_t start_offset(ed_task_t *t, int64_t lo, int64_t hi) {
  int64_t local = t->changelog_next;
  if (local >= lo && local <= hi) return local;
  if (local >= 0 || has_rows(t)) {
    ed_log_warn("%s: partition %d: local state (changelog offset %" PRId64
                ") is not in the changelog [%" PRId64 ", %" PRId64 "): restoring it from scratch",
                t->r->topo->name, (int)t->partition, local, lo, hi);
    clear_state(t);
  }
  return lo;
}

/* Makes the changelog reader follow @p t from offset @p from (-1: the
 * beginning) with an empty batch; @p end: where a restore stops, -1 for
 * a standby (learned as it goes). */
static void follow_from(ed_task_t *t, int64_t from, int64_t end) {
  t->restore_pos = t->restore_start = t->restore_mark = from;
  t->restore_end = end;
  t->rmarker = 0;
  t->nrputs = 0;
  ed_buf_reset(&t->rbuf);
  ed__ahead_clear(&t->ahead);
  t->r->restorer_dirty = 1;
}

int ed__restore_begin(ed_task_t *t) {
  if (t->changelog_topic == NULL || t->store == NULL) return 0;
  ed_runner_t *r = t->r;
  int64_t lo = 0, hi = 0;
  rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(r->restorer, t->changelog_topic,
                                                              t->partition, &lo, &hi, 5000);
  if (t->standby) { /* promoted: the reader stops following it as a standby */
    t->standby = 0;
    r->restorer_dirty = 1;
  }
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ed_log_warn("%s: partition %d: cannot read the changelog's end (%s): checking it from the "
                "local checkpoint",
                r->topo->name, (int)t->partition, rd_kafka_err2str(kerr));
    lo = 0;
    hi = INT64_MAX;
  } else if (t->changelog_next == hi || (hi == lo && t->changelog_next < 0)) {
    /* Up to date (or nothing was ever logged): serve at once. */
    t->restoring = 0;
    t->caught_up_ms = ed_now_ms();
    if (t->changelog_next < 0) t->changelog_next = hi;
    ed__replica_publish(t);
    return 0;
  } else if (t->changelog_next > hi) {
    ed_log_warn("%s: partition %d: local state is ahead of the changelog (%" PRId64 " > %" PRId64
                "): the changelog was recreated? Keeping the local state",
                r->topo->name, (int)t->partition, t->changelog_next, hi);
    t->changelog_next = hi;
    ed__replica_publish(t);
    return 0;
  }
  follow_from(t, start_offset(t, lo, hi), hi);
  t->restoring = 1;
  t->restore_t0_ms = t->restore_log_ms = ed_now_ms();
  ed_log_info("%s: partition %d: restoring from %s offset %" PRId64 " to %" PRId64 " (%" PRId64
              " records)",
              r->topo->name, (int)t->partition, t->changelog_topic, t->restore_pos, hi,
              hi - t->restore_pos);
  ed__replica_publish(t);
  return 1;
}

void ed__restore_stop(ed_task_t *t) {
  if (!t->restoring && !t->standby) return;
  t->restoring = t->standby = 0;
  t->nrputs = 0;
  t->rmarker = 0;
  ed_buf_reset(&t->rbuf);
  t->r->restorer_dirty = 1;
  ed__replica_publish(t);
}

/* Gives the restorer the changelog partitions of every restoring or
 * standby task, each from where its task stands. */
static void sync_assignment(ed_runner_t *r) {
  if (!r->restorer_dirty) return;
  r->restorer_dirty = 0;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !(t->restoring || t->standby)) continue;
      rd_kafka_topic_partition_list_add(l, t->changelog_topic, p)->offset =
          t->restore_pos >= 0 ? t->restore_pos : RD_KAFKA_OFFSET_BEGINNING;
    }
  rd_kafka_resp_err_t kerr = rd_kafka_assign(r->restorer, l->cnt ? l : NULL);
  if (kerr) ed_log_error("%s: changelog reader: assign: %s", r->topo->name, rd_kafka_err2str(kerr));
  rd_kafka_topic_partition_list_destroy(l);
}

static int decode_metas(ed_task_t *t, const uint8_t *p, size_t len) {
  if (len < 2) return ED_EINVAL;
  size_t n = (size_t)p[0] << 8 | p[1], at = 2;
  if (n > sizeof t->rmetas / sizeof t->rmetas[0]) return ED_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (at >= len) return ED_EINVAL;
    size_t nl = p[at++];
    if (nl >= sizeof t->rmeta_names[0] || at + nl + 8 > len) return ED_EINVAL;
    memcpy(t->rmeta_names[i], p + at, nl);
    t->rmeta_names[i][nl] = '\0';
    at += nl;
    t->rmetas[i] = (ed_store_meta_put_t){t->rmeta_names[i], (int64_t)ed_get_be(p + at, 8)};
    at += 8;
  }
  t->nrmetas = n;
  return ED_OK;
}

/* Writes the batch: its rows, and the last marker's metadata with the
 * checkpoint after it. */
static int flush_batch(ed_task_t *t) {
  if (t->nrputs == 0 && !t->rmarker) return ED_OK;
  /* a row can be two puts: its old expiry dropped, then the row */
  if (ed__task_reserve_puts(t, 2 * t->nrputs) != ED_OK) return ED_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < t->nrputs; i++) {
    struct ed_restore_put *rp = &t->rputs[i];
    const char *k = t->rbuf.data + rp->koff;
    if (rp->drop_expire && rp->drop_expire != rp->expire_at)
      t->puts[n++] = (ed_store_put_t){k, rp->klen, NULL, 0, rp->drop_expire};
    if (rp->has_val)
      t->puts[n++] =
          (ed_store_put_t){k, rp->klen, t->rbuf.data + rp->voff, rp->vlen, rp->expire_at};
    else
      t->puts[n++] = (ed_store_put_t){k, rp->klen, NULL, 0, 0};
  }
  size_t nm = 0;
  int64_t purge = INT64_MIN;
  ed_store_meta_put_t metas[66];
  if (t->rmarker) {
    for (size_t i = 0; i < t->nrmetas; i++) {
      metas[nm++] = t->rmetas[i];
      if (strcmp(t->rmetas[i].name, ED_STORE_META_STREAM_TIME) == 0) purge = t->rmetas[i].value;
    }
    metas[nm++] = (ed_store_meta_put_t){ED_STORE_META_CHANGELOG, t->restore_mark};
  }
  ed_store_spec_t *spec = &t->r->topo->stores[t->st->store];
  char err[256];
  int rc = ed_store_commit_ex(t->store, t->puts, n, metas, nm,
                              spec->purge_expired ? purge : INT64_MIN, NULL, err, sizeof err);
  if (rc != ED_OK) {
    ed_log_error("%s: partition %d: restore: %s", t->r->topo->name, (int)t->partition, err);
    return rc;
  }
  t->nrputs = 0;
  t->rmarker = 0;
  ed_buf_reset(&t->rbuf);
  return ED_OK;
}

static int add_row(ed_task_t *t, const rd_kafka_message_t *m, const uint8_t *pos, size_t plen) {
  if (plen < 17 || plen < 17 + 8 * (size_t)pos[16] || pos[16] > ED_TOPO_MAX_NODES ||
      m->key_len == 0 || m->key_len > 511)
    return ED_EINVAL;
  if (t->nrputs == t->rputs_cap) {
    size_t cap = t->rputs_cap ? t->rputs_cap * 2 : 256;
    struct ed_restore_put *p = realloc(t->rputs, cap * sizeof *p);
    if (p == NULL) return ED_ENOMEM;
    t->rputs = p;
    t->rputs_cap = cap;
  }
  struct ed_restore_put *rp = &t->rputs[t->nrputs];
  rp->koff = t->rbuf.len;
  rp->klen = m->key_len;
  ed_buf_append(&t->rbuf, m->key, m->key_len);
  rp->voff = t->rbuf.len;
  rp->vlen = m->payload ? m->len : 0;
  rp->has_val = m->payload != NULL;
  if (m->payload) ed_buf_append(&t->rbuf, m->payload, m->len);
  if (ed_buf_failed(&t->rbuf)) return ED_ENOMEM;
  rp->drop_expire = (int64_t)ed_get_be(pos, 8);
  rp->expire_at = (int64_t)ed_get_be(pos + 8, 8);
  int npos = pos[16];
  int64_t offs[ED_TOPO_MAX_NODES];
  for (int k = 0; k < npos; k++)
    offs[k] = (int64_t)ed_get_be(pos + 17 + 8 * k, 8);
  t->nrputs++;
  /* Until a marker closes its commit, the row is ahead of the resume point. */
  return ed__ahead_put(&t->ahead, m->key, m->key_len, offs, npos);
}

/* Applies one changelog record to its task. */
static void apply(ed_task_t *t, const rd_kafka_message_t *m) {
  if (m->offset < t->restore_pos) return; /* fetched before a re-assignment */
  rd_kafka_headers_t *h;
  const void *v;
  size_t len;
  int rc = ED_EINVAL;
  if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (rd_kafka_header_get_last(h, ED_CL_RESET, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      /* `eddy reset`: everything before is an older state of the view. */
      t->nrputs = 0;
      ed_buf_reset(&t->rbuf);
      rc = clear_state(t);
      t->nrmetas = 0;
      t->rmarker = 1;
      t->restore_mark = m->offset + 1;
    } else if (rd_kafka_header_get_last(h, ED_CL_MARKER, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = m->payload ? decode_metas(t, m->payload, m->len) : ED_EINVAL;
      if (rc == ED_OK) {
        t->rmarker = 1;
        t->restore_mark = m->offset + 1;
        ed__ahead_clear(&t->ahead); /* the rows before it are a complete commit */
      }
    } else if (rd_kafka_header_get_last(h, ED_CL_POS, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = add_row(t, m, v, len);
    }
  }
  if (rc != ED_OK)
    ed_log_warn("%s: partition %d: changelog record at offset %" PRId64 " skipped: %s",
                t->r->topo->name, (int)t->partition, m->offset,
                rc == ED_ENOMEM ? "out of memory" : "not written by eddy");
  t->restore_pos = m->offset + 1;
  if (t->nrputs >= ED_RESTORE_BATCH) flush_batch(t);
}

/* The restore of @p t reached the changelog's end: the state is what the
 * changelog holds; processing resumes from its offsets. */
static void finish(ed_task_t *t) {
  ed_runner_t *r = t->r;
  if (flush_batch(t) != ED_OK) return; /* tried again next step */
  char err[256];
  if (ed__task_reset(t, err, sizeof err) != ED_OK) {
    ed_log_error("%s: partition %d: after restoring: %s", r->topo->name, (int)t->partition, err);
    return;
  }
  t->ahead_from = t->restore_mark;
  t->changelog_next = t->ahead.n ? t->restore_mark : t->restore_pos;
  t->restoring = 0;
  t->caught_up_ms = ed_now_ms();
  r->restorer_dirty = 1;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->st->nsources);
  for (int k = 0; k < t->st->nsources; k++)
    rd_kafka_topic_partition_list_add(l, r->topo->nodes[t->st->sources[k]].topic, t->partition)
        ->offset = t->next_offset[k] >= 0 ? t->next_offset[k] : RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_error_t *kerr = rd_kafka_seek_partitions(r->consumer, l, 5000);
  if (kerr) {
    ed_log_error("%s: partition %d: seek after restore: %s", r->topo->name, (int)t->partition,
                 rd_kafka_error_string(kerr));
    rd_kafka_error_destroy(kerr);
  }
  rd_kafka_resume_partitions(r->consumer, l);
  rd_kafka_topic_partition_list_destroy(l);
  ed_log_info("%s: partition %d: restored %" PRId64 " changelog records in %" PRId64
              " ms; resuming at input offset %" PRId64 "%s",
              r->topo->name, (int)t->partition, t->restore_pos - t->restore_start,
              ed_now_ms() - t->restore_t0_ms, t->next_offset[0],
              t->ahead.n ? " (with keys of an incomplete commit held back)" : "");
  ed__replica_publish(t);
  ed__runner_publish(r);
}

static ed_task_t *task_of(ed_runner_t *r, const rd_kafka_message_t *m) {
  for (int s = 0; s < r->topo->nsubs; s++) {
    int st = r->topo->subs[s].store;
    if (st < 0 || r->changelog[st] == NULL || m->partition < 0 || m->partition >= r->nparts[s])
      continue;
    if (strcmp(rd_kafka_topic_name(m->rkt), r->changelog[st]) == 0)
      return r->tasks[s][m->partition];
  }
  return NULL;
}

/* Standby wishes from ed_view_set_standbys(): create or stop followers. */
static void sync_standbys(ed_runner_t *r) {
  if (!atomic_exchange(&r->standby_changed, 0)) return;
  ed_engine_t *e = r->engine;
  for (size_t i = 0; i < e->nviews; i++) {
    ed_view_t *v = e->views[i];
    if (v->runner != r) continue;
    for (int32_t p = 0; p < v->nparts; p++) {
      ed_task_t **tt = &r->tasks[v->sub][p];
      int want = atomic_load(&v->standby_want[p]);
      if (*tt && (*tt)->active) continue;
      if (!want) {
        if (*tt && (*tt)->standby) ed__restore_stop(*tt);
        continue;
      }
      if (*tt && (*tt)->standby) continue;
      char err[512] = "";
      int rc = *tt ? ed__task_reset(*tt, err, sizeof err)
                   : ed__task_create(r, v->sub, p, tt, err, sizeof err);
      if (rc != ED_OK || (*tt)->changelog_topic == NULL) {
        ed_log_error("%s: partition %d: cannot keep a standby: %s", r->topo->name, (int)p,
                     err[0] ? err : "no changelog");
        continue;
      }
      ed_task_t *t = *tt;
      t->standby = 1;
      if (t->changelog_next < 0 && has_rows(t)) clear_state(t);
      follow_from(t, t->changelog_next >= 0 ? t->changelog_next : -1, -1);
      ed_log_info("%s: partition %d: keeping a standby from changelog offset %" PRId64,
                  r->topo->name, (int)p, t->restore_pos);
      ed__replica_publish(t);
    }
  }
}

int ed__restore_step(ed_runner_t *r, int wait_ms) {
  if (r->restorer == NULL) return 0;
  sync_standbys(r);
  sync_assignment(r);
  int any = 0;
  for (int s = 0; s < r->topo->nsubs && !any; s++)
    for (int32_t p = 0; p < r->nparts[s] && !any; p++)
      any = r->tasks[s][p] && (r->tasks[s][p]->restoring || r->tasks[s][p]->standby);
  if (!any) return 0;
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(r->restorer);
  rd_kafka_message_t *msgs[1024];
  for (int round = 0; round < 16; round++) {
    /* A batch call waits its whole timeout unless the batch fills: take
     * what is there, and wait (for one record) only when nothing is. */
    ssize_t n = rd_kafka_consume_batch_queue(q, 0, msgs, 1024);
    if (n == 0 && round == 0 && wait_ms > 0) n = rd_kafka_consume_batch_queue(q, wait_ms, msgs, 1);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = msgs[i];
      ed_task_t *t = task_of(r, m);
      if (t && (t->restoring || t->standby)) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          if (m->offset > t->restore_pos) t->restore_pos = m->offset;
          if (t->restoring && t->restore_end == INT64_MAX) t->restore_end = m->offset;
        } else if (m->err) {
          ed_log_warn("%s: changelog reader: %s", r->topo->name, rd_kafka_message_errstr(m));
        } else {
          apply(t, m);
        }
      }
      rd_kafka_message_destroy(m);
    }
  }
  rd_kafka_queue_destroy(q);
  int64_t now = ed_now_ms();
  int restoring = 0;
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !(t->restoring || t->standby)) continue;
      if (t->restoring && t->restore_pos >= t->restore_end) finish(t);
      restoring |= t->restoring;
      if (t->restoring && t->restore_pos >= t->restore_end) continue;
      /* Each flush is a durable LMDB commit: batch them, except when the
       * copy is caught up (a standby's readers want it) or every 200 ms. */
      int caught_up = t->restore_end >= 0 && t->restore_pos >= t->restore_end;
      if (caught_up || now - t->restore_flush_ms >= 200) {
        flush_batch(t);
        t->restore_flush_ms = now;
      }
      if (t->restoring && now - t->restore_log_ms >= 5000) {
        t->restore_log_ms = now;
        int64_t total = t->restore_end - t->restore_start, done = t->restore_pos - t->restore_start;
        ed_log_info("%s: partition %d: restoring: %" PRId64 " of %" PRId64
                    " changelog records (%.0f%%)",
                    r->topo->name, (int)p, done, total,
                    total > 0 ? 100.0 * (double)done / (double)total : 0.0);
      }
      if (t->standby) {
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(r->restorer, t->changelog_topic, p, &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0)
          t->restore_end = hi;
        if (t->restore_end >= 0 && t->restore_pos >= t->restore_end) t->caught_up_ms = now;
      }
      ed__replica_publish(t);
    }
  return restoring;
}
