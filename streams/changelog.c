/* Changelogs: every stateful task writes its committed row changes to
 * <app>.<store>.changelog (same partition as the task), ending each commit
 * with a marker record that carries the commit's metadata, so a restore
 * knows which rows belong to complete commits and where to resume
 * (docs/scale-out.md, "Changelog and restoration"). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/bytes.h"
#include "streams/engine_int.h"

static int produce(ed_task_t *t, const void *key, size_t klen, const void *val, size_t vlen,
                   rd_kafka_headers_t *h, void *opaque) {
  return ed__runner_produce_to(t->r, t->changelog_topic, t->partition, key, klen, val, vlen, 0, h,
                               opaque);
}

/* The marker's value: the commit's metadata, [u16 count] then per value
 * [u8 name length][name][i64], big-endian. */
static void encode_metas(const ed_store_meta_put_t *m, size_t n, ed_buf_t *out) {
  uint8_t b[8];
  b[0] = (uint8_t)(n >> 8);
  b[1] = (uint8_t)n;
  ed_buf_append(out, b, 2);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(m[i].name);
    b[0] = (uint8_t)len;
    ed_buf_append(out, b, 1);
    ed_buf_append(out, m[i].name, len);
    ed_put_be(b, (uint64_t)m[i].value, 8);
    ed_buf_append(out, b, 8);
  }
}

void ed__changelog_emit(ed_task_t *t) {
  if (t->changelog_topic == NULL || t->store == NULL) return;
  ed_cache_t *c = &t->cache;
  int nslots = t->st->nsources;
  uint8_t pos[17 + 8 * ED_TOPO_MAX_NODES];
  pos[16] = (uint8_t)nslots;
  for (int k = 0; k < nslots; k++)
    ed_put_be(pos + 17 + 8 * k, (uint64_t)t->next_offset[k], 8);
  size_t poslen = 17 + 8 * (size_t)nslots;
  for (size_t i = 0; i < c->ndirty; i++) {
    ed_cache_ref_t idx = c->dirty[i];
    const ed_cache_entry_t *e = ed_cache_entry(c, idx);
    ed_put_be(pos, (uint64_t)e->drop_expire, 8);
    ed_put_be(pos + 8, (uint64_t)(e->present ? e->expire_at : 0), 8);
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, ED_CL_POS, -1, pos, (ssize_t)poslen);
    if (produce(t, ed_cache_key(c, idx), e->key_len, e->present ? ed_cache_val(c, idx) : NULL,
                e->present ? e->val_len : 0, h, NULL) != ED_OK)
      t->r->produce_failed = 1;
  }
  size_t n = ed__task_collect_metas(t);
  ed_buf_reset(&t->enc);
  encode_metas(t->metas, n, &t->enc);
  rd_kafka_headers_t *h = rd_kafka_headers_new(1);
  rd_kafka_header_add(h, ED_CL_MARKER, -1, pos + 16, (ssize_t)(poslen - 16));
  t->changelog_pending = -1;
  t->marker_failed = 0;
  if (ed_buf_failed(&t->enc) ||
      produce(t, ED_CL_MARKER_KEY, ED_CL_MARKER_KEY_LEN, t->enc.data, t->enc.len, h, t) != ED_OK)
    t->r->produce_failed = 1;
}

void ed__changelog_delivered(ed_task_t *t, int64_t offset, int ok) {
  if (ok)
    t->changelog_pending = offset + 1;
  else
    t->marker_failed = 1;
}

int64_t ed__changelog_checkpoint(const ed_task_t *t) {
  /* While keys restored ahead remain, a restart must read the changelog
   * again from before them, to learn them again. */
  if (t->ahead.n) return t->ahead_from;
  return t->changelog_pending >= 0 ? t->changelog_pending : t->changelog_next;
}

/* Creates @p topic (compacted, @p partitions partitions, the broker's
 * default replication) with the admin API. The development broker has no
 * CreateTopics: there the request times out and `eddy dev-kafka --config`
 * must have created it. */
static int create_topic(rd_kafka_t *rk, const char *topic, int32_t partitions, char *err,
                        size_t errlen) {
  char kerr[256] = "";
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, kerr, sizeof kerr);
  if (nt == NULL) {
    snprintf(err, errlen, "%s", kerr);
    return ED_EKAFKA;
  }
  rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(o, 5000, kerr, sizeof kerr);
  rd_kafka_CreateTopics(rk, &nt, 1, o, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 7000);
  int rc = ED_EKAFKA;
  if (ev == NULL) {
    snprintf(err, errlen, "no answer to CreateTopics");
  } else if (rd_kafka_event_error(ev)) {
    snprintf(err, errlen, "%s", rd_kafka_event_error_string(ev));
  } else {
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n == 1 && rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_topic_result_error(res[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      snprintf(err, errlen, "%s", rd_kafka_topic_result_error_string(res[0]));
    else
      rc = ED_OK;
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(o);
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

int ed__changelog_setup(ed_runner_t *r, int32_t (*partitions_of)(rd_kafka_t *, const char *),
                        char *err, size_t errlen) {
  ed_topology_t *t = r->topo;
  for (int s = 0; s < t->nstores; s++) {
    char name[512];
    snprintf(name, sizeof name, "%s.%s.changelog", r->engine->app, t->stores[s].name);
    r->changelog[s] = strdup(name);
    if (r->changelog[s] == NULL) return ED_ENOMEM;
    int32_t want = r->nparts[t->stores[s].sub];
    int32_t n = partitions_of(r->consumer, name);
    if (n == 0) {
      char cerr[256];
      if (create_topic(r->producer, name, want, cerr, sizeof cerr) != ED_OK) {
        snprintf(err, errlen,
                 "%s: changelog topic '%s' does not exist and cannot be created (%s): create it "
                 "compacted with %d partitions (eddy dev-kafka --config creates it)",
                 t->name, name, cerr, (int)want);
        return ED_ECONFIG;
      }
      ed_log_info("%s: created changelog topic %s with %d partitions", t->name, name, (int)want);
      n = partitions_of(r->consumer, name);
    }
    if (n != want) {
      snprintf(err, errlen,
               "%s: changelog topic '%s' must have %d partitions like its input (it has %d)",
               t->name, name, (int)want, (int)n);
      return ED_ECONFIG;
    }
  }
  return ED_OK;
}
