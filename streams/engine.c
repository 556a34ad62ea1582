/* The engine: views, their consumers and stream threads, rebalances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/engine_int.h"

#define ED_BATCH_MAX 1024

static const char *const bad_reason_text[] = {
#define ED__BAD_TEXT(name, text) text,
    ED_BAD_REASONS(ED__BAD_TEXT)
#undef ED__BAD_TEXT
};

void ed__view_count_bad(ed_view_t *v, ed_bad_reason_t why, const rd_kafka_message_t *m,
                        const char *detail) {
  uint64_t n = atomic_fetch_add_explicit(&v->bad[why], 1, memory_order_relaxed) + 1;
  uint64_t suppressed;
  if (!ed_ratelimit_allow(&v->bad_log, &suppressed)) return;
  ed_log_warn("view %s: skipped record at %s[%d]@%lld: %s%s%s (%llu %s so far; %llu lines "
              "suppressed)",
              v->def->name, rd_kafka_topic_name(m->rkt), (int)m->partition, (long long)m->offset,
              bad_reason_text[why], detail ? " " : "", detail ? detail : "", (unsigned long long)n,
              bad_reason_text[why], (unsigned long long)suppressed);
}

/* ---- configuration ---- */

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen) {
  char kerr[256];
  if (rd_kafka_conf_set(conf, name, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "kafka property %s: %s", name, kerr);
    return ED_ECONFIG;
  }
  return ED_OK;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque);

static int consumer_create(const ed_engine_conf_t *conf, ed_view_t *v, char *err, size_t errlen) {
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  char group[512];
  snprintf(group, sizeof group, "%s.%s", conf->app, v->def->name);
  /* Defaults first so that the user's properties win. librdkafka 2.0.2
   * pauses fetching for up to a second when its prefetch queue passes these
   * limits, so they are raised well above its defaults. */
  static const char *const defaults[][2] = {
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "1048576"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "range,roundrobin"},
  };
  int rc = ED_OK;
  for (size_t i = 0; rc == ED_OK && i < sizeof defaults / sizeof defaults[0]; i++)
    rc = conf_set(kc, defaults[i][0], defaults[i][1], err, errlen);
  for (size_t i = 0; rc == ED_OK && i < conf->nkafka; i++)
    rc = conf_set(kc, conf->kafka[i].name, conf->kafka[i].value, err, errlen);
  /* eddy's own: the group, and offsets it manages itself. */
  if (rc == ED_OK && conf->bootstrap_servers)
    rc = conf_set(kc, "bootstrap.servers", conf->bootstrap_servers, err, errlen);
  if (rc == ED_OK) rc = conf_set(kc, "group.id", group, err, errlen);
  if (rc == ED_OK) rc = conf_set(kc, "enable.auto.commit", "false", err, errlen);
  if (rc == ED_OK) rc = conf_set(kc, "enable.auto.offset.store", "false", err, errlen);
  if (rc == ED_OK) rc = conf_set(kc, "enable.partition.eof", "false", err, errlen);
  if (rc != ED_OK) {
    rd_kafka_conf_destroy(kc);
    return rc;
  }
  rd_kafka_conf_set_rebalance_cb(kc, on_rebalance);
  rd_kafka_conf_set_opaque(kc, v);
  char kerr[512];
  v->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, kerr, sizeof kerr);
  if (v->rk == NULL) {
    rd_kafka_conf_destroy(kc);
    snprintf(err, errlen, "view %s: cannot create consumer: %s", v->def->name, kerr);
    return ED_EKAFKA;
  }
  rd_kafka_poll_set_consumer(v->rk);
  return ED_OK;
}

/* Learns the source topic's partition count, waiting for the topic to
 * appear for up to ~10 s. */
static int learn_partitions(ed_view_t *v, char *err, size_t errlen) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(v->rk, v->def->from, NULL);
  if (rkt == NULL) {
    snprintf(err, errlen, "view %s: bad topic name '%s'", v->def->name, v->def->from);
    return ED_ECONFIG;
  }
  rd_kafka_resp_err_t kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t deadline = ed_now_ms() + 10000;
  v->nparts = 0;
  do {
    const struct rd_kafka_metadata *md = NULL;
    kerr = rd_kafka_metadata(v->rk, 0, rkt, &md, 2000);
    if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        v->nparts = md->topics[0].partition_cnt;
      else if (md->topic_cnt == 1)
        kerr = md->topics[0].err;
      rd_kafka_metadata_destroy(md);
    }
    if (v->nparts > 0) break;
    usleep(200 * 1000);
  } while (ed_now_ms() < deadline);
  rd_kafka_topic_destroy(rkt);
  if (v->nparts <= 0) {
    snprintf(err, errlen, "view %s: source topic '%s' is not available: %s", v->def->name,
             v->def->from, rd_kafka_err2str(kerr));
    return ED_EKAFKA;
  }
  return ED_OK;
}

static int view_init(ed_engine_t *e, const ed_engine_conf_t *conf, ed_view_t *v,
                     const ed_view_def_t *def, char *err, size_t errlen) {
  v->engine = e;
  v->def = def;
  ed_agg_plan_init(&v->plan, def);
  ed_ratelimit_init(&v->bad_log, 10, 1000);
  int rc = consumer_create(conf, v, err, errlen);
  if (rc == ED_OK) rc = learn_partitions(v, err, errlen);
  if (rc != ED_OK) return rc;
  v->tasks = calloc((size_t)v->nparts, sizeof *v->tasks);
  v->ready = calloc((size_t)v->nparts, sizeof *v->ready);
  if (v->tasks == NULL || v->ready == NULL) return ED_ENOMEM;
  return ED_OK;
}

static void view_fini(ed_view_t *v) {
  if (v->rk) rd_kafka_destroy(v->rk);
  for (int32_t p = 0; v->tasks && p < v->nparts; p++) ed__task_destroy(v->tasks[p]);
  free(v->tasks);
  free((void *)v->ready);
}

int ed_engine_create(const ed_engine_conf_t *conf, ed_engine_t **out, char *err, size_t errlen) {
  ed_engine_t *e = calloc(1, sizeof *e);
  if (e == NULL) return ED_ENOMEM;
  e->app = strdup(conf->app);
  e->data_dir = strdup(conf->data_dir);
  e->commit_interval_ms = conf->commit_interval_ms > 0 ? conf->commit_interval_ms : 100;
  e->cache_max_entries = conf->cache_max_entries > 0 ? conf->cache_max_entries : 100000;
  e->store_opts = conf->store_opts;
  e->views = calloc(conf->nviews, sizeof *e->views);
  e->nviews = conf->nviews;
  int rc = e->app && e->data_dir && e->views ? ED_OK : ED_ENOMEM;
  for (size_t i = 0; rc == ED_OK && i < conf->nviews; i++)
    rc = view_init(e, conf, &e->views[i], &conf->views[i], err, errlen);
  if (rc != ED_OK) {
    ed_engine_destroy(e);
    return rc;
  }
  *out = e;
  return ED_OK;
}

/* ---- rebalances (called on the view's stream thread) ---- */

static void commit_group_offsets(ed_view_t *v);

/* State that claims a position past the end of the partition was built from
 * another log (the topic was recreated, or an embedded Kafka restarted
 * empty): it cannot be right for this one, so it is dropped and rebuilt. */
static void check_against_log(ed_view_t *v, ed_task_t *t) {
  int64_t low, high;
  if (t->next_offset <= 0) return;
  rd_kafka_resp_err_t kerr =
      rd_kafka_query_watermark_offsets(v->rk, v->def->from, t->partition, &low, &high, 5000);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ed_log_warn("view %s partition %d: cannot read the log's offsets (%s); trusting local state",
                v->def->name, (int)t->partition, rd_kafka_err2str(kerr));
    return;
  }
  if (t->next_offset < low)
    ed_log_warn("view %s partition %d: state is at offset %lld but the log now starts at %lld: "
                "records in between were deleted by retention before this view read them",
                v->def->name, (int)t->partition, (long long)t->next_offset, (long long)low);
  if (t->next_offset <= high) return;
  char err[512];
  ed_log_warn("view %s partition %d: state is at offset %lld, past the log's end %lld: this "
              "state was built from another log; rebuilding from the beginning",
              v->def->name, (int)t->partition, (long long)t->next_offset, (long long)high);
  if (ed_store_clear(t->store, err, sizeof err) != ED_OK || ed__task_reset(t) != ED_OK)
    ed_log_error("view %s partition %d: cannot clear state: %s", v->def->name,
                 (int)t->partition, err);
}

static void assign(ed_view_t *v, rd_kafka_topic_partition_list_t *parts) {
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    int32_t p = tp->partition;
    if (p < 0 || p >= v->nparts || strcmp(tp->topic, v->def->from) != 0) continue;
    char err[512];
    int rc = v->tasks[p] ? ed__task_reset(v->tasks[p])
                         : ed__task_create(v, p, &v->tasks[p], err, sizeof err);
    if (rc != ED_OK) {
      /* The partition is assigned but cannot be served: log loudly and read
       * nothing from it (its offset stays where the state left it). */
      ed_log_error("view %s partition %d: cannot open state: %s", v->def->name, (int)p,
                   v->tasks[p] ? ed_strerror(rc) : err);
      tp->offset = RD_KAFKA_OFFSET_END;
      continue;
    }
    ed_task_t *t = v->tasks[p];
    check_against_log(v, t);
    /* Local state is the source of truth for where to resume; a partition
     * without state is built from the beginning. */
    tp->offset = t->next_offset >= 0 ? t->next_offset : RD_KAFKA_OFFSET_BEGINNING;
    t->active = 1;
    if (t->next_offset >= 0)
      ed_log_info("view %s: assigned partition %d, resuming at offset %lld", v->def->name,
                  (int)p, (long long)t->next_offset);
    else
      ed_log_info("view %s: assigned partition %d, no local state: reading from the beginning",
                  v->def->name, (int)p);
  }
  rd_kafka_resp_err_t kerr = rd_kafka_assign(v->rk, parts);
  if (kerr) ed_log_error("view %s: assign failed: %s", v->def->name, rd_kafka_err2str(kerr));
  int32_t n = 0;
  for (int32_t p = 0; p < v->nparts; p++) {
    ed_task_t *t = v->tasks[p];
    if (t && t->active) {
      atomic_store(&v->ready[p], t->store);
      n++;
    }
  }
  atomic_store(&v->assigned, n);
}

static void commit_tasks(ed_view_t *v);

static void revoke_all(ed_view_t *v) {
  commit_tasks(v);
  for (int32_t p = 0; p < v->nparts; p++) {
    atomic_store(&v->ready[p], NULL);
    if (v->tasks[p]) v->tasks[p]->active = 0;
  }
  atomic_store(&v->assigned, 0);
  rd_kafka_assign(v->rk, NULL);
  ed_log_info("view %s: partitions revoked", v->def->name);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  (void)rk;
  ed_view_t *v = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(v, parts);
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
      ed_log_error("view %s: rebalance error: %s", v->def->name, rd_kafka_err2str(err));
    revoke_all(v);
  }
}

/* ---- the stream thread ---- */

/* Rewinds partitions whose commit failed to their committed offset. */
static void seek_failed(ed_view_t *v) {
  for (int32_t p = 0; p < v->nparts; p++) {
    ed_task_t *t = v->tasks[p];
    if (t == NULL || !t->need_seek) continue;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, v->def->from, p)->offset =
        t->committed >= 0 ? t->committed : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *kerr = rd_kafka_seek_partitions(v->rk, l, 5000);
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
      ed_log_error("view %s partition %d: seek failed: %s", v->def->name, (int)p,
                   rd_kafka_error_string(kerr));
      rd_kafka_error_destroy(kerr);
      continue;
    }
    t->need_seek = 0;
  }
}

static void commit_tasks(ed_view_t *v) {
  int failed = 0;
  for (int32_t p = 0; p < v->nparts; p++) {
    ed_task_t *t = v->tasks[p];
    if (t == NULL || !t->active) continue;
    ed__task_end_batch(t);
    char err[512];
    if (ed__task_has_changes(t) && ed__task_commit(t, err, sizeof err) != ED_OK) {
      ed_log_error("view %s partition %d: commit failed, rewinding to offset %lld: %s",
                   v->def->name, (int)p, (long long)t->committed, err);
      failed = 1;
    }
  }
  commit_group_offsets(v);
  if (failed) {
    seek_failed(v);
    usleep(200 * 1000); /* a full disk or similar: don't spin */
  }
}

/* Kafka's group offsets follow the LMDB commits, for lag monitoring and
 * tooling; they are not where a task with local state resumes from. */
static void commit_group_offsets(ed_view_t *v) {
  rd_kafka_topic_partition_list_t *l = NULL;
  for (int32_t p = 0; p < v->nparts; p++) {
    ed_task_t *t = v->tasks[p];
    if (t == NULL || !t->active || t->committed < 0) continue;
    if (l == NULL) l = rd_kafka_topic_partition_list_new(v->nparts);
    rd_kafka_topic_partition_list_add(l, v->def->from, p)->offset = t->committed;
  }
  if (l == NULL) return;
  rd_kafka_commit(v->rk, l, 1);
  rd_kafka_topic_partition_list_destroy(l);
}

static void *stream_thread(void *arg) {
  ed_view_t *v = arg;
  ed_engine_t *e = v->engine;
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(v->rk);
  rd_kafka_message_t *msgs[ED_BATCH_MAX];
  int64_t next_commit = ed_now_ms() + e->commit_interval_ms;
  while (!atomic_load(&e->stopping)) {
    int64_t wait = next_commit - ed_now_ms();
    if (wait > 100) wait = 100;
    if (wait < 0) wait = 0;
    ssize_t n = rd_kafka_consume_batch_queue(q, (int)wait, msgs, ED_BATCH_MAX);
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = msgs[i];
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          ed_log_warn("view %s: consumer: %s", v->def->name, rd_kafka_message_errstr(m));
      } else if (m->partition >= 0 && m->partition < v->nparts && v->tasks[m->partition] &&
                 v->tasks[m->partition]->active) {
        ed__task_process(v->tasks[m->partition], m);
      }
      rd_kafka_message_destroy(m);
    }
    for (int32_t p = 0; p < v->nparts; p++)
      if (v->tasks[p]) ed__task_end_batch(v->tasks[p]);
    if (ed_now_ms() >= next_commit) {
      commit_tasks(v);
      next_commit = ed_now_ms() + e->commit_interval_ms;
    } else {
      seek_failed(v);
    }
  }
  commit_tasks(v);
  rd_kafka_queue_destroy(q);
  /* Leaves the group promptly; the revoke callback runs in here. */
  rd_kafka_consumer_close(v->rk);
  return NULL;
}

int ed_engine_start(ed_engine_t *e, char *err, size_t errlen) {
  for (size_t i = 0; i < e->nviews; i++) {
    ed_view_t *v = &e->views[i];
    rd_kafka_resp_err_t kerr;
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, v->def->from, RD_KAFKA_PARTITION_UA);
    kerr = rd_kafka_subscribe(v->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (kerr) {
      snprintf(err, errlen, "view %s: subscribe to %s: %s", v->def->name, v->def->from,
               rd_kafka_err2str(kerr));
      ed_engine_stop(e);
      return ED_EKAFKA;
    }
    if (pthread_create(&v->thread, NULL, stream_thread, v) != 0) {
      snprintf(err, errlen, "view %s: cannot start its thread", v->def->name);
      ed_engine_stop(e);
      return ED_ENOMEM;
    }
    v->thread_started = 1;
  }
  return ED_OK;
}

void ed_engine_stop(ed_engine_t *e) {
  atomic_store(&e->stopping, 1);
  for (size_t i = 0; i < e->nviews; i++) {
    if (e->views[i].thread_started) {
      pthread_join(e->views[i].thread, NULL);
      e->views[i].thread_started = 0;
    }
  }
}

void ed_engine_destroy(ed_engine_t *e) {
  if (e == NULL) return;
  ed_engine_stop(e);
  for (size_t i = 0; e->views && i < e->nviews; i++) view_fini(&e->views[i]);
  free(e->views);
  free(e->app);
  free(e->data_dir);
  free(e);
}

/* ---- views, for queries ---- */

size_t ed_engine_view_count(const ed_engine_t *e) { return e->nviews; }

ed_view_t *ed_engine_view_at(ed_engine_t *e, size_t i) { return i < e->nviews ? &e->views[i] : NULL; }

ed_view_t *ed_engine_find_view(ed_engine_t *e, const char *name, size_t len) {
  for (size_t i = 0; i < e->nviews; i++) {
    const char *n = e->views[i].def->name;
    if (strlen(n) == len && memcmp(n, name, len) == 0) return &e->views[i];
  }
  return NULL;
}

const ed_view_def_t *ed_view_def(const ed_view_t *v) { return v->def; }

int32_t ed_view_partition_count(const ed_view_t *v) { return v->nparts; }

ed_store_t *ed_view_store(ed_view_t *v, int32_t p) {
  if (p < 0 || p >= v->nparts) return NULL;
  return atomic_load(&v->ready[p]);
}

void ed_view_stats(const ed_view_t *v, ed_view_stats_t *out) {
  ed_view_t *mv = (ed_view_t *)v;
  out->records_in = atomic_load_explicit(&mv->records_in, memory_order_relaxed);
  out->commits = atomic_load_explicit(&mv->commits, memory_order_relaxed);
  out->bad_records = 0;
  for (int i = 0; i < ED_BAD__COUNT; i++)
    out->bad_records += atomic_load_explicit(&mv->bad[i], memory_order_relaxed);
  out->assigned = atomic_load_explicit(&mv->assigned, memory_order_relaxed);
}
