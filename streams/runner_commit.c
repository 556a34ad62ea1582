/* A runner's commit protocol, positions and lag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/engine_int.h"

/* ---- commits ---- */

/* Rewinds the partitions of tasks whose commit failed. */
static void seek_failed(ed_runner_t *r) {
  for (int s = 0; s < r->topo->nsubs; s++) {
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !t->need_seek) continue;
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->st->nsources);
      for (int k = 0; k < t->st->nsources; k++)
        rd_kafka_topic_partition_list_add(l, r->topo->nodes[t->st->sources[k]].topic, p)->offset =
            t->committed[k] >= 0 ? t->committed[k] : RD_KAFKA_OFFSET_BEGINNING;
      rd_kafka_error_t *kerr = rd_kafka_seek_partitions(r->consumer, l, 5000);
      rd_kafka_topic_partition_list_destroy(l);
      if (kerr) {
        ed_log_error("%s: partition %d: seek failed: %s", r->topo->name, (int)p,
                     rd_kafka_error_string(kerr));
        rd_kafka_error_destroy(kerr);
        continue;
      }
      t->need_seek = 0;
    }
  }
}

/* The group offsets of the active tasks: their next offsets (@p next) or
 * their committed ones, stateless tasks' tagged with the definition's
 * fingerprint. NULL when there are none. */
rd_kafka_topic_partition_list_t *ed__runner_offsets(ed_runner_t *r, int next) {
  rd_kafka_topic_partition_list_t *l = NULL;
  char tag[32];
  ed__runner_fingerprint_tag(r, tag, sizeof tag);
  for (int s = 0; s < r->topo->nsubs; s++) {
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !t->active) continue;
      for (int k = 0; k < t->st->nsources; k++) {
        int64_t off = next ? t->next_offset[k] : t->committed[k];
        if (off < 0) continue;
        if (l == NULL) l = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(l, r->topo->nodes[t->st->sources[k]].topic, p);
        tp->offset = off;
        if (t->store == NULL && r->topo->fingerprint) {
          tp->metadata = strdup(tag); /* freed with the list */
          tp->metadata_size = tp->metadata ? strlen(tag) : 0;
        }
      }
    }
  }
  return l;
}

/* Kafka's group offsets follow the commits: the resume point of stateless
 * tasks, and what lag tooling reads. */
static void commit_group_offsets(ed_runner_t *r) {
  rd_kafka_topic_partition_list_t *l = ed__runner_offsets(r, 0);
  if (l == NULL) return;
  rd_kafka_commit(r->consumer, l, 1);
  rd_kafka_topic_partition_list_destroy(l);
}

/* The end of a task's (first) input partition as the last fetch saw it: a
 * local lookup, no request. -1 if unknown. */
static int64_t input_end(ed_runner_t *r, const ed_task_t *t) {
  int64_t lo, hi;
  if (r->driver ||
      rd_kafka_get_watermark_offsets(r->consumer, r->topo->nodes[t->st->sources[0]].topic,
                                     t->partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return -1;
  return hi;
}

/* How far a stateless task is behind its inputs' ends: -1 if unknown. */
static int64_t stateless_lag(ed_runner_t *r, const ed_task_t *t) {
  int64_t worst = 0;
  for (int k = 0; k < t->st->nsources; k++) {
    const char *topic = r->topo->nodes[t->st->sources[k]].topic;
    int64_t lo, hi, next = t->next_offset[k];
    if (rd_kafka_get_watermark_offsets(r->consumer, topic, t->partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
      return -1;
    if (next < 0) {
      /* Nothing processed since the assignment: where the consumer is. */
      rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, topic, t->partition);
      if (rd_kafka_position(r->consumer, l) == RD_KAFKA_RESP_ERR_NO_ERROR)
        next = l->elems[0].offset;
      rd_kafka_topic_partition_list_destroy(l);
    }
    if (next < 0 && hi > lo) return -1;
    if (next >= 0 && hi - next > worst) worst = hi - next;
  }
  return worst;
}

/* Publishes where idle stateful tasks stand (their input end moves without
 * them committing anything), and how far behind the stateless ones are. */
static void refresh_positions(ed_runner_t *r) {
  int64_t upstream = 0;
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !t->active) continue;
      if (t->store && !t->restoring && !ed__task_has_changes(t))
        ed__engine_committed(r, t, input_end(r, t));
      if (t->store == NULL && !r->driver && upstream >= 0) {
        int64_t lag = stateless_lag(r, t);
        upstream = lag < 0 ? -1 : lag > upstream ? lag : upstream;
      }
    }
  atomic_store(&r->upstream_lag, upstream);
}

/* The commit protocol: produce the changes of stores with an output topic,
 * wait until everything produced is delivered, then commit each store in
 * LMDB (rows + offsets), then Kafka offsets. A failure rewinds instead. */
void ed__runner_commit_all(ed_runner_t *r) {
  int any = 0, failed = 0;
  ed__txn_begin(r);
  refresh_positions(r);
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !t->active) continue;
      ed__task_end_batch(t);
      if (!ed__task_has_changes(t)) continue;
      any = 1;
      ed__task_emit_changes(t);
      ed__changelog_emit(t);
    }
  if (!any) return;
  if (rd_kafka_outq_len(r->producer) > 0 &&
      rd_kafka_flush(r->producer, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    r->produce_failed = 1;
  rd_kafka_poll(r->producer, 0); /* delivery reports */
  if (!r->produce_failed && r->engine->exactly_once && ed__txn_commit(r) != ED_OK)
    r->produce_failed = 1;
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL || !t->active || !ed__task_has_changes(t)) continue;
      char err[512] = "produced records were not delivered";
      int64_t t0 = ed_mono_ns();
      int rc = r->produce_failed ? ED_EKAFKA : ed__task_commit(t, err, sizeof err);
      if (rc == ED_OK && t->store) {
        ed_histogram_observe(&r->commit_latency, ed_mono_ns() - t0);
        ed__engine_committed(r, t, input_end(r, t));
        ed__replica_publish(t);
      }
      if (rc != ED_OK) {
        if (r->produce_failed) ed__task_end_batch(t), t->need_seek = 1;
        ed_log_error("%s: partition %d: commit failed, rewinding: %s", r->topo->name, (int)p, err);
        failed = 1;
      }
    }
  if (failed) {
    /* Uncommitted changes are dropped: every task starts over from what
     * its store (or the group) has. */
    for (int s = 0; s < r->topo->nsubs; s++)
      for (int32_t p = 0; p < r->nparts[s]; p++) {
        ed_task_t *t = r->tasks[s][p];
        if (t && t->need_seek) {
          char err[256];
          ed__task_reset(t, err, sizeof err);
          t->need_seek = 1;
        }
      }
    r->produce_failed = 0;
    ed__txn_abort(r); /* nothing of what was produced may stay */
    seek_failed(r);
    usleep(200 * 1000); /* a full disk or an unreachable broker: don't spin */
    ed__txn_begin(r);
    return;
  }
  if (r->engine->exactly_once)
    ed__txn_begin(r); /* the offsets went with the transaction */
  else
    commit_group_offsets(r);
}
