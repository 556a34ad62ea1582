/* A stream task: one partition of one sub-topology, with its store. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/bytes.h"
#include "streams/engine_int.h"

#define ED_META_FINGERPRINT "fingerprint"
#define ED_META_EPOCH "epoch"

static int mkdir_p(const char *path, char *err, size_t errlen) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) goto fail;
    *p = '/';
  }
  if (mkdir(tmp, 0755) == 0 || errno == EEXIST) return ED_OK;
fail:
  snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
  return ED_EIO;
}

static ed_store_spec_t *task_store_spec(const ed_task_t *t) {
  return t->st->store >= 0 ? &t->r->topo->stores[t->st->store] : NULL;
}

int ed__task_slot(const ed_task_t *t, const char *topic) {
  for (int i = 0; i < t->st->nsources; i++)
    if (strcmp(t->r->topo->nodes[t->st->sources[i]].topic, topic) == 0) return i;
  return -1;
}

/* The duplicate filter's dimensions: upstream tasks' source slots and
 * partitions (0 when no other sub-topology can feed this one). */
static int32_t upstream_partitions(const ed_task_t *t, int *slots) {
  int32_t n = 0;
  *slots = 0;
  for (int s = 0; s < t->r->topo->nsubs; s++) {
    if (s == t->sub) continue;
    if (t->r->nparts[s] > n) n = t->r->nparts[s];
    if (t->r->topo->subs[s].nsources > *slots) *slots = t->r->topo->subs[s].nsources;
  }
  return n;
}

int ed__task_create(ed_runner_t *r, int sub, int32_t partition, ed_task_t **out, char *err,
                    size_t errlen) {
  ed_task_t *t = calloc(1, sizeof *t);
  if (t == NULL) return ED_ENOMEM;
  t->r = r;
  t->sub = sub;
  t->partition = partition;
  t->st = &r->topo->subs[sub];
  t->kv.task = t;
  t->kv.last_ref = -1;
  t->ctx.task = t;
  ed_cache_init(&t->cache);
  ed_buf_init(&t->scratch);
  ed_buf_init(&t->enc);
  ed_buf_init(&t->rbuf);
  ed__ahead_init(&t->ahead);
  t->changelog_next = t->changelog_pending = -1;
  t->caught_up_ms = -1;
  int rc = ED_OK;
  ed_store_spec_t *spec = task_store_spec(t);
  if (spec) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s/%d", r->engine->data_dir, spec->name, (int)partition);
    t->changelog_topic = r->changelog[t->st->store];
    rc = mkdir_p(dir, err, errlen);
    if (rc == ED_OK) rc = ed_store_open(dir, &r->engine->store_opts, &t->store, err, errlen);
    int slots;
    t->nup = upstream_partitions(t, &slots);
    t->nsrc = (size_t)slots * (size_t)t->nup;
    t->src_seen = calloc(t->nsrc + 1, sizeof *t->src_seen);
    t->src_dirty = calloc(t->nsrc + 1, 1);
    size_t nmeta = 6 + (size_t)t->st->nsources + t->nsrc;
    t->metas = calloc(nmeta, sizeof *t->metas);
    t->meta_names = calloc(nmeta, sizeof *t->meta_names);
    t->metas_cap = nmeta;
    if (rc == ED_OK && (!t->src_seen || !t->src_dirty || !t->metas || !t->meta_names))
      rc = ED_ENOMEM;
  }
  if (rc == ED_OK) rc = ed__task_reset(t, err, errlen);
  if (rc != ED_OK) {
    ed__task_destroy(t);
    return rc;
  }
  *out = t;
  return ED_OK;
}

void ed__task_close_processors(ed_task_t *t) {
  if (!t->inited) return;
  ed_topology_t *topo = t->r->topo;
  for (int i = 0; i < topo->nnodes; i++) {
    ed_node_t *n = &topo->nodes[i];
    if (n->sub != t->sub || n->type != ED_NODE_PROCESSOR || n->fns.close == NULL) continue;
    t->ctx.node = i;
    n->fns.close(&t->ctx, t->states[i]);
    t->states[i] = NULL;
  }
  t->inited = 0;
  t->nschedules = 0;
}

void ed__task_destroy(ed_task_t *t) {
  if (t == NULL) return;
  ed__task_end_batch(t);
  ed__task_close_processors(t);
  ed_store_close(t->store);
  ed_cache_fini(&t->cache);
  ed_buf_fini(&t->scratch);
  ed_buf_fini(&t->enc);
  ed_buf_fini(&t->rbuf);
  free(t->rputs);
  ed__ahead_fini(&t->ahead);
  free(t->puts);
  free(t->metas);
  free(t->meta_names);
  free(t->src_seen);
  free(t->src_dirty);
  free(t);
}

static void meta_offset_name(const ed_task_t *t, int slot, char *out, size_t cap) {
  snprintf(out, cap, "offset/%s", t->r->topo->nodes[t->st->sources[slot]].topic);
}

static void meta_src_name(size_t idx, int32_t nup, char *out, size_t cap) {
  snprintf(out, cap, "src/%d/%d", (int)(idx / (size_t)nup), (int)(idx % (size_t)nup));
}

/* Drops state built by another definition of the view. */
static int check_fingerprint(ed_task_t *t, char *err, size_t errlen) {
  ed_store_spec_t *spec = task_store_spec(t);
  int64_t fp;
  if (spec->fingerprint == 0) return ED_OK;
  int rc = ed_store_meta_get(t->store, ED_META_FINGERPRINT, &fp);
  if (rc == ED_ENOTFOUND || (rc == ED_OK && (uint64_t)fp == spec->fingerprint)) return ED_OK;
  if (rc != ED_OK) return rc;
  ed_log_warn("store %s partition %d: the view's definition changed since its state was built: "
              "dropping the state and rebuilding from the earliest offset",
              spec->name, (int)t->partition);
  return ed_store_clear(t->store, err, errlen);
}

int ed__task_reset(ed_task_t *t, char *err, size_t errlen) {
  ed__task_end_batch(t);
  ed_cache_clear(&t->cache);
  t->stream_time = t->committed_stream_time = INT64_MIN;
  for (int i = 0; i < t->st->nsources; i++) t->next_offset[i] = t->committed[i] = -1;
  if (t->store) {
    int rc = check_fingerprint(t, err, errlen);
    if (rc != ED_OK) return rc;
    ed_store_read_t rd;
    if (ed_store_read_begin(t->store, &rd) != ED_OK) return ED_ESTORE;
    char name[128];
    int64_t v;
    for (int i = 0; i < t->st->nsources; i++) {
      meta_offset_name(t, i, name, sizeof name);
      if (ed_store_read_meta(&rd, name, &v) == ED_OK) t->next_offset[i] = t->committed[i] = v;
    }
    if (ed_store_read_meta(&rd, ED_STORE_META_STREAM_TIME, &v) == ED_OK)
      t->stream_time = t->committed_stream_time = v;
    t->changelog_next = ed_store_read_meta(&rd, ED_STORE_META_CHANGELOG, &v) == ED_OK ? v : -1;
    t->changelog_pending = -1;
    for (size_t i = 0; i < t->nsrc; i++) {
      meta_src_name(i, t->nup, name, sizeof name);
      t->src_seen[i] = ed_store_read_meta(&rd, name, &v) == ED_OK ? v : -1;
      t->src_dirty[i] = 0;
    }
    ed_store_read_end(&rd);
  }
  ed__task_close_processors(t);
  ed_topology_t *topo = t->r->topo;
  t->inited = 1;
  for (int i = 0; i < topo->nnodes; i++) {
    ed_node_t *n = &topo->nodes[i];
    if (n->sub != t->sub || n->type != ED_NODE_PROCESSOR || n->fns.init == NULL) continue;
    t->ctx.node = i;
    int rc = n->fns.init(&t->ctx, n->arg, &t->states[i]);
    if (rc != ED_OK) {
      snprintf(err, errlen, "processor %s failed to start: %s", n->name, ed_strerror(rc));
      return rc;
    }
  }
  t->need_seek = 0;
  t->stopped = 0;
  return ED_OK;
}

void ed__task_end_batch(ed_task_t *t) {
  if (t->rd_open) {
    ed_store_read_end(&t->rd);
    t->rd_open = 0;
  }
}

int ed__task_has_changes(const ed_task_t *t) {
  if (t->cache.ndirty || t->stream_time != t->committed_stream_time) return 1;
  for (int i = 0; i < t->st->nsources; i++)
    if (t->next_offset[i] != t->committed[i]) return 1;
  return 0;
}

int ed__task_should_commit_early(const ed_task_t *t) {
  return t->cache.count >= t->r->engine->cache_max_entries ||
         ed_cache_bytes(&t->cache) >= ((size_t)64 << 20);
}

/* ---- processing ---- */

static void run_node(ed_task_t *t, int node, const ed_record_t *rec);

static void run_children(ed_task_t *t, int node, const ed_record_t *rec) {
  ed_node_t *n = &t->r->topo->nodes[node];
  for (int i = 0; i < n->nchildren && !t->ctx.bad; i++) run_node(t, n->children[i], rec);
}

/* The ED_SRC_HEADER value for the next record produced for the current
 * one: a processor may forward several records per input (a flatMap). */
static int src_position(ed_task_t *t, uint8_t h[ED_SRC_LEN]) {
  const ed_inmsg_t *m = t->ctx.msg;
  if (t->ctx.seq >= (1u << ED_SRC_SEQ_BITS) - 1) {
    ed_pctx_bad_record(&t->ctx, "too many outputs", "over a million records from one record");
    return ED_ETOOBIG;
  }
  h[0] = (uint8_t)t->ctx.slot;
  ed_put_be(h + 1, (uint32_t)m->partition, 4);
  ed_put_be(h + 5, (uint64_t)m->offset, 8);
  ed_put_be(h + 13, t->ctx.seq++, 4);
  ed_put_be(h + 17, t->r->topo->fingerprint, 8);
  return ED_OK;
}

static void run_node(ed_task_t *t, int node, const ed_record_t *rec) {
  ed_node_t *n = &t->r->topo->nodes[node];
  int saved = t->ctx.node;
  t->ctx.node = node;
  if (n->type == ED_NODE_PROCESSOR) {
    n->fns.process(&t->ctx, t->states[node], rec);
  } else if (n->type == ED_NODE_SINK) {
    /* Stateless tasks tag what they produce with its source position. */
    uint8_t h[ED_SRC_LEN];
    int tag = t->store == NULL && t->ctx.msg != NULL;
    if (tag && src_position(t, h) != ED_OK) {
      t->ctx.node = saved;
      return;
    }
    int rc;
    if (t->r->driver) {
      rc = ed__driver_produce(t->r->driver, n->topic, rec->key, rec->key_len, rec->value,
                              rec->value_len, rec->timestamp, tag ? h : NULL, tag ? sizeof h : 0);
    } else {
      rd_kafka_headers_t *hdrs = NULL;
      if (tag) {
        hdrs = rd_kafka_headers_new(1);
        rd_kafka_header_add(hdrs, ED_SRC_HEADER, -1, h, sizeof h);
      }
      rc = ed__runner_produce(t->r, n->topic, rec->key, rec->key_len, rec->value, rec->value_len,
                              rec->timestamp, hdrs);
    }
    if (rc != ED_OK) t->r->produce_failed = 1;
  } else {
    run_children(t, node, rec);
  }
  t->ctx.node = saved;
}

/* For records of internal topics: 1 if already applied (a duplicate from an
 * upstream task that redid work after a crash) or of an older definition,
 * else records its position. */
static int duplicate(ed_task_t *t, const ed_inmsg_t *m) {
  if (t->store == NULL || m->src == NULL || m->src_len != ED_SRC_LEN) return 0;
  const uint8_t *h = m->src;
  uint32_t part = (uint32_t)ed_get_be(h + 1, 4);
  int64_t pos = (int64_t)(ed_get_be(h + 5, 8) << ED_SRC_SEQ_BITS | ed_get_be(h + 13, 4));
  /* Produced by an older definition of the view: its state was dropped and
   * is being rebuilt from the source, so this record no longer counts. */
  if (ed_get_be(h + 17, 8) != t->r->topo->fingerprint) return 1;
  size_t idx = (size_t)h[0] * (size_t)t->nup + part;
  if ((int32_t)part >= t->nup || idx >= t->nsrc) return 0;
  if (pos <= t->src_seen[idx]) return 1;
  t->src_seen[idx] = pos;
  t->src_dirty[idx] = 1;
  return 0;
}

static void fire_stream_time(ed_task_t *t) {
  for (int i = 0; i < t->nschedules; i++) {
    ed_schedule_t *s = &t->schedules[i];
    if (s->type != ED_PUNCTUATE_STREAM_TIME || t->stream_time < s->next) continue;
    ed_node_t *n = &t->r->topo->nodes[s->node];
    s->next = t->stream_time - t->stream_time % s->interval + s->interval;
    if (n->fns.punctuate) {
      t->ctx.node = s->node;
      n->fns.punctuate(&t->ctx, t->states[s->node], ED_PUNCTUATE_STREAM_TIME, t->stream_time);
    }
  }
}

void ed__task_wall_clock(ed_task_t *t, int64_t now) {
  for (int i = 0; i < t->nschedules; i++) {
    ed_schedule_t *s = &t->schedules[i];
    if (s->type != ED_PUNCTUATE_WALL_CLOCK || now < s->next) continue;
    ed_node_t *n = &t->r->topo->nodes[s->node];
    s->next = now + s->interval;
    if (n->fns.punctuate) {
      t->ctx.node = s->node;
      t->ctx.msg = NULL;
      n->fns.punctuate(&t->ctx, t->states[s->node], ED_PUNCTUATE_WALL_CLOCK, now);
    }
  }
}

void ed__task_process(ed_task_t *t, int slot, const ed_inmsg_t *m) {
  /* Already reflected in the state (redelivered after a rebalance or
   * restart), or a failed commit is waiting for the partition to rewind. */
  if (m->offset < t->next_offset[slot] || t->need_seek || t->stopped) return;
  t->next_offset[slot] = m->offset + 1;
  if (duplicate(t, m)) return;
  int node = t->st->sources[slot];
  ed_node_t *src = &t->r->topo->nodes[node];
  ed_record_t rec = {m->key, m->key_len, m->value, m->value_len, m->timestamp};
  t->ctx.msg = m;
  t->ctx.slot = slot;
  t->ctx.seq = 0;
  t->ctx.bad = 0;
  t->ctx.node = node;
  ed_buf_reset(&t->scratch);
  atomic_fetch_add_explicit(&t->r->records_in, 1, memory_order_relaxed);
  if (src->ts_fn) {
    char why[160];
    if (src->ts_fn(src->ts_arg, &rec, &rec.timestamp, why, sizeof why) != ED_OK) {
      ed_pctx_bad_record(&t->ctx, "bad timestamp", why);
      return;
    }
  }
  if (rec.timestamp > t->stream_time) t->stream_time = rec.timestamp;
  run_children(t, node, &rec);
  if (t->nschedules) fire_stream_time(t);
}

/* ---- the processor context ---- */

void ed_pctx_forward(ed_pctx_t *ctx, const ed_record_t *rec) {
  run_children(ctx->task, ctx->node, rec);
}

ed_kvstore_t *ed_pctx_store(ed_pctx_t *ctx, const char *name) {
  ed_task_t *t = ctx->task;
  ed_node_t *n = &t->r->topo->nodes[ctx->node];
  for (int i = 0; i < n->nstores; i++)
    if (strcmp(t->r->topo->stores[n->stores[i]].name, name) == 0 && t->store) return &t->kv;
  return NULL;
}

int ed_pctx_schedule(ed_pctx_t *ctx, ed_punctuate_type_t type, int64_t interval_ms) {
  ed_task_t *t = ctx->task;
  if (interval_ms <= 0 || t->nschedules == ED_MAX_SCHEDULES) return ED_EINVAL;
  int64_t base = type == ED_PUNCTUATE_STREAM_TIME ? (t->stream_time == INT64_MIN ? 0 : t->stream_time)
                                                  : ed_now_ms();
  t->schedules[t->nschedules++] =
      (ed_schedule_t){ctx->node, type, interval_ms, base - base % interval_ms + interval_ms};
  return ED_OK;
}

int32_t ed_pctx_partition(const ed_pctx_t *ctx) { return ctx->task->partition; }
int64_t ed_pctx_stream_time(const ed_pctx_t *ctx) { return ctx->task->stream_time; }
const char *ed_pctx_topic(const ed_pctx_t *ctx) {
  return ctx->msg ? ctx->msg->topic : NULL;
}
int64_t ed_pctx_offset(const ed_pctx_t *ctx) { return ctx->msg ? ctx->msg->offset : -1; }
ed_buf_t *ed_pctx_scratch(ed_pctx_t *ctx) { return &ctx->task->scratch; }

void ed_pctx_late_record(ed_pctx_t *ctx) {
  atomic_fetch_add_explicit(&ctx->task->r->late, 1, memory_order_relaxed);
}

void ed_pctx_bad_record(ed_pctx_t *ctx, const char *reason, const char *detail) {
  ed_task_t *t = ctx->task;
  ctx->bad = 1;
  ed__runner_count_bad(t->r, reason, detail, ctx->msg);
  if (t->r->on_error == ED_ON_ERROR_STOP && ctx->msg) {
    t->stopped = 1;
    /* Nothing of this record is applied: the task resumes at it. */
    t->next_offset[ctx->slot] = ctx->msg->offset;
    ed_log_error("topology %s partition %d: stopped at a bad record (%s%s%s) at %s[%d]@%lld; "
                 "fix or skip it (on_error: skip | dead_letter) and restart",
                 t->r->topo->name, (int)t->partition, reason, detail ? ": " : "",
                 detail ? detail : "", ctx->msg->topic,
                 (int)ctx->msg->partition, (long long)ctx->msg->offset);
  }
}
