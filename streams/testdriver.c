/* The topology test driver: tasks without Kafka. */
#include "streams/testdriver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "streams/engine_int.h"

#define ED_DRIVER_MAX_QUEUE 65536

typedef struct {
  char *topic;
  int32_t partition;
  int64_t next;
} log_end_t;

/* A record waiting for an internal topic's task, with its own copies. */
typedef struct {
  char *topic;
  void *key, *value;
  size_t key_len, value_len;
  int64_t ts;
  uint8_t src[ED_SRC_LEN];
  size_t src_len;
} pending_t;

struct ed_test_driver {
  ed_engine_t *engine;
  ed_runner_t *runner;
  int32_t partitions;
  log_end_t *ends;
  size_t nends;
  pending_t *queue;
  size_t qhead, qtail;
  ed_test_record_t *out;
  size_t nout, capout;
};

int ed_test_driver_create(ed_topology_t *t, const char *data_dir, int32_t partitions,
                          const ed_topology_opts_t *opts, ed_test_driver_t **out, char *err,
                          size_t errlen) {
  if (partitions < 1) return ED_EINVAL;
  ed_test_driver_t *d = calloc(1, sizeof *d);
  if (d == NULL) return ED_ENOMEM;
  d->partitions = partitions;
  d->queue = calloc(ED_DRIVER_MAX_QUEUE, sizeof *d->queue);
  ed_engine_conf_t ec = {.app = "test", .data_dir = data_dir};
  ec.store_opts.no_sync = 1;
  int rc = d->queue ? ed_engine_create(&ec, &d->engine, err, errlen) : ED_ENOMEM;
  if (rc == ED_OK)
    rc = ed__runner_create_ex(d->engine, t, opts, d, partitions, &d->runner, err, errlen);
  if (rc != ED_OK) {
    ed_engine_destroy(d->engine);
    free(d->queue);
    free(d);
    return rc;
  }
  *out = d;
  return ED_OK;
}

void ed_test_driver_destroy(ed_test_driver_t *d) {
  if (d == NULL) return;
  ed__runner_destroy(d->runner);
  ed_engine_destroy(d->engine);
  for (size_t i = 0; i < d->nends; i++) free(d->ends[i].topic);
  free(d->ends);
  for (size_t i = d->qhead; i < d->qtail; i++) {
    free(d->queue[i].topic);
    free(d->queue[i].key);
    free(d->queue[i].value);
  }
  free(d->queue);
  for (size_t i = 0; i < d->nout; i++) {
    free((void *)d->out[i].topic);
    free((void *)d->out[i].key);
    free((void *)d->out[i].value);
  }
  free(d->out);
  free(d);
}

int32_t ed_test_driver_partition(const ed_test_driver_t *d, const void *key, size_t klen) {
  return key ? ed_partition_for_key(key, klen, d->partitions) : 0;
}

static ed_task_t *task_for(ed_test_driver_t *d, int sub, int32_t p) {
  ed_runner_t *r = d->runner;
  ed_task_t **tt = &r->tasks[sub][p];
  if (*tt == NULL) {
    char err[512];
    if (ed__task_create(r, sub, p, tt, err, sizeof err) != ED_OK) {
      ed_log_error("test driver: %s", err);
      return NULL;
    }
  }
  (*tt)->active = 1;
  return *tt;
}

/* The next offset of a topic partition: a task's stored position if it has
 * one, so a driver over existing state continues the log. */
static int64_t *log_end(ed_test_driver_t *d, const char *topic, int32_t p, int64_t stored) {
  for (size_t i = 0; i < d->nends; i++)
    if (d->ends[i].partition == p && strcmp(d->ends[i].topic, topic) == 0) return &d->ends[i].next;
  log_end_t *e = realloc(d->ends, (d->nends + 1) * sizeof *e);
  if (e == NULL) return NULL;
  d->ends = e;
  e[d->nends] = (log_end_t){strdup(topic), p, stored > 0 ? stored : 0};
  return &e[d->nends++].next;
}

static int inject(ed_test_driver_t *d, const char *topic, int32_t p, const void *key, size_t klen,
                  const void *value, size_t vlen, int64_t ts, const uint8_t *src, size_t src_len) {
  int sub, slot = ed__runner_find_source(d->runner, topic, &sub);
  if (slot < 0) return ED_EINVAL;
  ed_task_t *t = task_for(d, sub, p);
  if (t == NULL) return ED_ESTORE;
  int64_t *next = log_end(d, topic, p, t->next_offset[slot]);
  if (next == NULL) return ED_ENOMEM;
  ed_inmsg_t m = {topic, p, (*next)++, key, klen, value, vlen, ts, src, src_len};
  ed__task_process(t, slot, &m);
  ed__task_end_batch(t);
  return ED_OK;
}

int ed__driver_produce(ed_test_driver_t *d, const char *topic, const void *key, size_t klen,
                       const void *val, size_t vlen, int64_t ts, const uint8_t *src,
                       size_t src_len) {
  int sub;
  if (ed__runner_find_source(d->runner, topic, &sub) >= 0) {
    if (d->qtail == ED_DRIVER_MAX_QUEUE) return ED_ETOOBIG;
    pending_t *q = &d->queue[d->qtail];
    *q = (pending_t){strdup(topic), key ? malloc(klen + 1) : NULL, val ? malloc(vlen + 1) : NULL,
                     klen, vlen, ts, {0}, src_len};
    if (key) memcpy(q->key, key, klen);
    if (val) memcpy(q->value, val, vlen);
    if (src) memcpy(q->src, src, src_len);
    d->qtail++;
    return ED_OK;
  }
  if (d->nout == d->capout) {
    size_t cap = d->capout ? d->capout * 2 : 64;
    ed_test_record_t *o = realloc(d->out, cap * sizeof *o);
    if (o == NULL) return ED_ENOMEM;
    d->out = o;
    d->capout = cap;
  }
  ed_test_record_t *o = &d->out[d->nout++];
  char *k = key ? malloc(klen + 1) : NULL, *v = val ? malloc(vlen + 1) : NULL;
  if (k) memcpy(k, key, klen), k[klen] = '\0';
  if (v) memcpy(v, val, vlen), v[vlen] = '\0';
  *o = (ed_test_record_t){strdup(topic), k, klen, v, vlen, ts};
  return ED_OK;
}

/* Processes what sinks produced to internal topics, in order. */
static void drain(ed_test_driver_t *d) {
  while (d->qhead < d->qtail) {
    pending_t q = d->queue[d->qhead++];
    int32_t p = ed_test_driver_partition(d, q.key, q.key_len);
    inject(d, q.topic, p, q.key, q.key_len, q.value, q.value_len, q.ts,
           q.src_len ? q.src : NULL, q.src_len);
    free(q.topic);
    free(q.key);
    free(q.value);
  }
  d->qhead = d->qtail = 0;
}

int ed_test_driver_pipe(ed_test_driver_t *d, const char *topic, const void *key, size_t klen,
                        const void *value, size_t vlen, int64_t timestamp) {
  int rc = inject(d, topic, ed_test_driver_partition(d, key, klen), key, klen, value, vlen,
                  timestamp, NULL, 0);
  if (rc == ED_OK) drain(d);
  return rc;
}

int ed_test_driver_commit(ed_test_driver_t *d, char *err, size_t errlen) {
  ed_runner_t *r = d->runner;
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++)
      if (r->tasks[s][p]) ed__task_emit_changes(r->tasks[s][p]);
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++) {
      ed_task_t *t = r->tasks[s][p];
      if (t == NULL) continue;
      int rc = ed__task_commit(t, err, errlen);
      if (rc != ED_OK) return rc;
    }
  return ED_OK;
}

ed_store_t *ed_test_driver_store(ed_test_driver_t *d, const char *store, int32_t p) {
  ed_runner_t *r = d->runner;
  for (int i = 0; i < r->topo->nstores; i++) {
    if (strcmp(r->topo->stores[i].name, store) != 0) continue;
    int sub = r->topo->stores[i].sub;
    if (p < 0 || p >= r->nparts[sub] || r->tasks[sub][p] == NULL) return NULL;
    return r->tasks[sub][p]->store;
  }
  return NULL;
}

size_t ed_test_driver_output_count(const ed_test_driver_t *d) { return d->nout; }

const ed_test_record_t *ed_test_driver_output(const ed_test_driver_t *d, size_t i) {
  return i < d->nout ? &d->out[i] : NULL;
}

void ed_test_driver_stats(const ed_test_driver_t *d, ed_test_driver_stats_t *out) {
  ed_runner_t *r = d->runner;
  out->records_in = atomic_load(&r->records_in);
  out->late_records = atomic_load(&r->late);
  out->bad_records = 0;
  for (int i = 0; i < atomic_load(&r->nbad); i++) out->bad_records += atomic_load(&r->bad[i].count);
}
