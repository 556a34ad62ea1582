/* A runner's rebalances: tasks start and stop with the group's assignment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/engine_int.h"

/* ---- rebalances (called on the runner's thread) ---- */

void ed__runner_publish(ed_runner_t *r) {
  char *mid = r->consumer ? rd_kafka_memberid(r->consumer) : NULL;
  pthread_mutex_lock(&r->member_lock);
  snprintf(r->member_id, sizeof r->member_id, "%s", mid ? mid : "");
  pthread_mutex_unlock(&r->member_lock);
  if (mid) rd_kafka_mem_free(r->consumer, mid);
  for (int v = 0; v < (int)r->engine->nviews; v++) {
    ed_view_t *view = r->engine->views[v];
    if (view->runner != r) continue;
    int32_t n = 0;
    for (int32_t p = 0; p < view->nparts; p++) {
      ed_task_t *t = r->tasks[view->sub][p];
      ed_store_t *s = t && t->active && !t->restoring ? t->store : NULL;
      atomic_store(&view->ready[p], s);
      n += s != NULL;
    }
    atomic_store(&view->assigned, n);
  }
}

/* The group offsets of stateless tasks carry the fingerprint of the
 * definition that produced them ("eddy:<hex>"). */
void ed__runner_fingerprint_tag(const ed_runner_t *r, char *out, size_t cap) {
  snprintf(out, cap, "eddy:%016llx", (unsigned long long)r->topo->fingerprint);
}

/* Stateless tasks start at the group's offsets, unless those were committed
 * under another definition of the view, whose downstream state is being
 * rebuilt: then from the beginning. One request for all of @p parts whose
 * offset is RD_KAFKA_OFFSET_STORED. */
static void check_generations(ed_runner_t *r, rd_kafka_topic_partition_list_t *parts) {
  if (r->topo->fingerprint == 0) return;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
  for (int i = 0; i < parts->cnt; i++)
    if (parts->elems[i].offset == RD_KAFKA_OFFSET_STORED)
      rd_kafka_topic_partition_list_add(l, parts->elems[i].topic, parts->elems[i].partition);
  char tag[32];
  ed__runner_fingerprint_tag(r, tag, sizeof tag);
  if (l->cnt > 0 && rd_kafka_committed(r->consumer, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < l->cnt; i++) {
      const rd_kafka_topic_partition_t *c = &l->elems[i];
      if (c->offset < 0 || c->metadata_size < 5 || memcmp(c->metadata, "eddy:", 5) != 0 ||
          (c->metadata_size == strlen(tag) && memcmp(c->metadata, tag, c->metadata_size) == 0))
        continue;
      ed_log_warn("%s: %s[%d] was processed by another definition of the view: reprocessing "
                  "it from the beginning",
                  r->topo->name, c->topic, (int)c->partition);
      rd_kafka_topic_partition_list_find(parts, c->topic, c->partition)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
}

static void assign(ed_runner_t *r, rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_topic_partition_list_t *paused = rd_kafka_topic_partition_list_new(parts->cnt + 1);
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    int sub, slot = ed__runner_find_source(r, tp->topic, &sub);
    if (slot < 0 || tp->partition < 0 || tp->partition >= r->nparts[sub]) continue;
    ed_task_t **tt = &r->tasks[sub][tp->partition];
    char err[512] = "";
    int rc = *tt && !(*tt)->active ? ed__task_reset(*tt, err, sizeof err) : ED_OK;
    if (*tt == NULL) rc = ed__task_create(r, sub, tp->partition, tt, err, sizeof err);
    if (rc != ED_OK) {
      /* Assigned but unusable: log loudly and read nothing from it. */
      ed_log_error("%s: partition %d of %s: cannot start its task: %s", r->topo->name,
                   (int)tp->partition, tp->topic, err[0] ? err : ed_strerror(rc));
      tp->offset = RD_KAFKA_OFFSET_END;
      continue;
    }
    ed_task_t *t = *tt;
    t->active = 1;
    /* Without its state up to date, the task restores it from the
     * changelog first; its input waits, paused. */
    if (t->restoring || ed__restore_begin(t)) {
      rd_kafka_topic_partition_list_add(paused, tp->topic, tp->partition);
      tp->offset = t->next_offset[slot] >= 0 ? t->next_offset[slot] : RD_KAFKA_OFFSET_BEGINNING;
      continue;
    }
    /* A stateful task resumes from its own state; a new one reads from the
     * beginning. A stateless one resumes from the group's offset. */
    int64_t next = t->next_offset[slot];
    if (next >= 0)
      tp->offset = next;
    else if (t->store)
      tp->offset = RD_KAFKA_OFFSET_BEGINNING;
    else
      tp->offset = RD_KAFKA_OFFSET_STORED; /* see check_generations() */
    if (next >= 0)
      ed_log_info("%s: assigned %s[%d], resuming at offset %lld", r->topo->name, tp->topic,
                  (int)tp->partition, (long long)next);
    else
      ed_log_info("%s: assigned %s[%d], %s", r->topo->name, tp->topic, (int)tp->partition,
                  t->store ? "no local state: reading from the beginning"
                           : "resuming at the group's committed offset");
  }
  check_generations(r, parts);
  rd_kafka_resp_err_t kerr = rd_kafka_assign(r->consumer, parts);
  if (kerr) ed_log_error("%s: assign failed: %s", r->topo->name, rd_kafka_err2str(kerr));
  if (paused->cnt) rd_kafka_pause_partitions(r->consumer, paused);
  rd_kafka_topic_partition_list_destroy(paused);
  ed__runner_publish(r);
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++)
      if (r->tasks[s][p]) ed__replica_publish(r->tasks[s][p]);
}

static void revoke_all(ed_runner_t *r) {
  ed__runner_commit_all(r);
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL) continue;
      if (t->restoring) ed__restore_stop(t);
      t->active = 0;
      ed__replica_publish(t);
    }
  /* A partition given up may be one this instance should keep a standby
   * of: look at the plan again. */
  atomic_store(&r->standby_changed, 1);
  ed__runner_publish(r);
  rd_kafka_assign(r->consumer, NULL);
  ed_log_info("%s: partitions revoked", r->topo->name);
}

void ed__runner_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque) {
  (void)rk;
  ed_runner_t *r = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(r, parts);
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      ed_log_error("%s: rebalance error: %s", r->topo->name, rd_kafka_err2str(err));
    revoke_all(r);
  }
}
