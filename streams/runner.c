/* A runner: one topology's consumer group, producer, stream thread and
 * tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "streams/engine_int.h"

#define ED_BATCH_MAX 1024

/* ---- Kafka clients ---- */

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen) {
  char kerr[256];
  if (rd_kafka_conf_set(conf, name, value, kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "kafka property %s: %s", name, kerr);
    return ED_ECONFIG;
  }
  return ED_OK;
}

/* librdkafka's log lines, into eddy's log. The config's kafka properties go
 * to consumers and producers alike, so each warns about the other's
 * properties (CONFWARN): expected, so only at debug level. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  ed_log_level_t l = strcmp(fac, "CONFWARN") == 0 ? ED_LOG_DEBUG
                     : level <= 3                 ? ED_LOG_ERROR
                     : level <= 4                 ? ED_LOG_WARN
                     : level <= 6                 ? ED_LOG_INFO
                                                  : ED_LOG_DEBUG;
  ed_log(l, "kafka: %s: %s", fac, buf);
}

/* A client config: @p defaults, then the user's properties, then @p fixed
 * (eddy's own, which the user may not change). */
rd_kafka_conf_t *ed__runner_client_conf(ed_engine_t *e, const char *const (*defaults)[2], size_t nd,
                                        const char *const (*fixed)[2], size_t nf, char *err,
                                        size_t errlen) {
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  int rc = ED_OK;
  for (size_t i = 0; rc == ED_OK && i < nd; i++)
    rc = conf_set(kc, defaults[i][0], defaults[i][1], err, errlen);
  for (size_t i = 0; rc == ED_OK && i < e->nkafka; i++)
    rc = conf_set(kc, e->kafka[i].name, e->kafka[i].value, err, errlen);
  for (size_t i = 0; rc == ED_OK && i < nf; i++)
    rc = conf_set(kc, fixed[i][0], fixed[i][1], err, errlen);
  if (rc == ED_OK && e->bootstrap)
    rc = conf_set(kc, "bootstrap.servers", e->bootstrap, err, errlen);
  if (rc == ED_OK) {
    rd_kafka_conf_set_log_cb(kc, on_log);
    return kc;
  }
  rd_kafka_conf_destroy(kc);
  return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  ed_runner_t *r = opaque;
  if (m->_private) ed__changelog_delivered(m->_private, m->offset, m->err == 0);
  if (m->err) {
    r->produce_failed = 1;
    ed_log_error("topology %s: delivery to %s failed: %s", r->topo->name,
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
  }
}

static int clients_create(ed_runner_t *r, char *err, size_t errlen) {
  ed_engine_t *e = r->engine;
  /* librdkafka 2.0.2 pauses fetching for up to a second when its prefetch
   * queue passes these limits, so they are raised well above its defaults.
   * All members must list the same first assignor. */
  static const char *const cdefaults[][2] = {
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "1048576"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "range,roundrobin"},
  };
  static const char *const cfixed[][2] = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
  };
  static const char *const pdefaults[][2] = {
      {"linger.ms", "5"}, {"batch.num.messages", "100000"}, {"batch.size", "4194304"}};
  static const char *const pfixed[][2] = {
      {"partitioner", "murmur2_random"}, /* the Java client's default */
      {"enable.idempotence", "true"},    /* no duplicates or reordering on retries */
  };
  rd_kafka_conf_t *cc = ed__runner_client_conf(e, cdefaults, 4, cfixed, 3, err, errlen);
  if (cc == NULL) return ED_ECONFIG;
  if (conf_set(cc, "group.id", r->group, err, errlen) != ED_OK) {
    rd_kafka_conf_destroy(cc);
    return ED_ECONFIG;
  }
  rd_kafka_conf_set_rebalance_cb(cc, ed__runner_on_rebalance);
  rd_kafka_conf_set_opaque(cc, r);
  char kerr[512];
  r->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cc, kerr, sizeof kerr);
  if (r->consumer == NULL) {
    rd_kafka_conf_destroy(cc);
    snprintf(err, errlen, "%s: cannot create consumer: %s", r->topo->name, kerr);
    return ED_EKAFKA;
  }
  rd_kafka_poll_set_consumer(r->consumer);
  rd_kafka_conf_t *pc = ed__runner_client_conf(e, pdefaults, 3, pfixed, 2, err, errlen);
  if (pc == NULL) return ED_ECONFIG;
  if (e->exactly_once) {
    char txid[1024];
    snprintf(txid, sizeof txid, "%s.%s", r->group, e->instance_id);
    if (conf_set(pc, "transactional.id", txid, err, errlen) != ED_OK) {
      rd_kafka_conf_destroy(pc);
      return ED_ECONFIG;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
  rd_kafka_conf_set_opaque(pc, r);
  r->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pc, kerr, sizeof kerr);
  if (r->producer == NULL) {
    rd_kafka_conf_destroy(pc);
    snprintf(err, errlen, "%s: cannot create producer: %s", r->topo->name, kerr);
    return ED_EKAFKA;
  }
  return ED_OK;
}

/* Partition count of @p topic, waiting up to @p wait_ms for it to appear;
 * 0 if it does not exist. */
static int32_t topic_partitions(rd_kafka_t *rk, const char *topic, int wait_ms,
                                rd_kafka_resp_err_t *kerr) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  if (rkt == NULL) return 0;
  int32_t n = 0;
  int64_t deadline = ed_now_ms() + wait_ms;
  do {
    const struct rd_kafka_metadata *md = NULL;
    *kerr = rd_kafka_metadata(rk, 0, rkt, &md, 2000);
    if (*kerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
      else if (md->topic_cnt == 1)
        *kerr = md->topics[0].err;
      rd_kafka_metadata_destroy(md);
    }
    if (n > 0) break;
    usleep(200 * 1000);
  } while (ed_now_ms() < deadline);
  rd_kafka_topic_destroy(rkt);
  return n;
}

static int32_t partitions_now(rd_kafka_t *rk, const char *topic) {
  rd_kafka_resp_err_t kerr;
  return topic_partitions(rk, topic, 0, &kerr);
}

static int sink_writes(const ed_topology_t *t, const char *topic) {
  for (int i = 0; i < t->nnodes; i++)
    if (t->nodes[i].type == ED_NODE_SINK && strcmp(t->nodes[i].topic, topic) == 0) return 1;
  return 0;
}

/* Learns every sub-topology's partition count from its (external) source
 * topics, then checks internal topics have the count of their consumers. */
static int learn_partitions(ed_runner_t *r, char *err, size_t errlen) {
  ed_topology_t *t = r->topo;
  rd_kafka_resp_err_t kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
  int32_t widest = 0;
  for (int s = 0; s < t->nsubs; s++) {
    for (int k = 0; k < t->subs[s].nsources; k++) {
      ed_node_t *src = &t->nodes[t->subs[s].sources[k]];
      r->internal[t->subs[s].sources[k]] = sink_writes(t, src->topic);
      if (r->internal[t->subs[s].sources[k]]) continue;
      int32_t n = topic_partitions(r->consumer, src->topic, 10000, &kerr);
      if (n <= 0) {
        snprintf(err, errlen, "%s: source topic '%s' is not available: %s", t->name, src->topic,
                 rd_kafka_err2str(kerr));
        return ED_EKAFKA;
      }
      if (r->nparts[s] && r->nparts[s] != n) {
        snprintf(err, errlen,
                 "%s: topics of one sub-topology must have equal partition counts "
                 "('%s' has %d, not %d)",
                 t->name, src->topic, (int)n, (int)r->nparts[s]);
        return ED_ECONFIG;
      }
      r->nparts[s] = n;
      if (n > widest) widest = n;
    }
  }
  /* Sub-topologies fed only by internal topics get as many partitions as the
   * widest source (like Kafka Streams' repartition topics). */
  for (int s = 0; s < t->nsubs; s++) {
    if (r->nparts[s] == 0) r->nparts[s] = widest;
    for (int k = 0; k < t->subs[s].nsources; k++) {
      ed_node_t *src = &t->nodes[t->subs[s].sources[k]];
      if (!r->internal[t->subs[s].sources[k]]) continue;
      int32_t n = topic_partitions(r->consumer, src->topic, 10000, &kerr);
      if (n != r->nparts[s]) {
        snprintf(err, errlen,
                 "%s: internal topic '%s' must exist with %d partitions (it has %d%s%s); with "
                 "eddy dev-kafka, pass --config so it creates it",
                 t->name, src->topic, (int)r->nparts[s], (int)n, n ? "" : ": ",
                 n ? "" : rd_kafka_err2str(kerr));
        return ED_ECONFIG;
      }
    }
  }
  return ED_OK;
}

int ed__runner_create(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                      ed_runner_t **out, char *err, size_t errlen) {
  return ed__runner_create_ex(e, t, opts, NULL, 0, out, err, errlen);
}

int ed__runner_create_ex(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                         ed_test_driver_t *driver, int32_t partitions, ed_runner_t **out, char *err,
                         size_t errlen) {
  int rc = ed__topology_finalize(t, err, errlen);
  if (rc != ED_OK) return rc;
  ed_runner_t *r = calloc(1, sizeof *r);
  if (r == NULL) return ED_ENOMEM;
  r->engine = e;
  r->topo = t;
  pthread_mutex_init(&r->member_lock, NULL);
  r->on_error = opts ? opts->on_error : ED_ON_ERROR_SKIP;
  r->group = strdup(opts && opts->group ? opts->group : t->name);
  char dl[512];
  snprintf(dl, sizeof dl, "%s.dead_letter", t->name);
  r->dead_letter_topic = strdup(opts && opts->dead_letter_topic ? opts->dead_letter_topic : dl);
  ed_ratelimit_init(&r->bad_log, 10, 1000);
  rc = r->group && r->dead_letter_topic ? ED_OK : ED_ENOMEM;
  r->driver = driver;
  if (driver) {
    for (int i = 0; i < t->nnodes; i++)
      if (t->nodes[i].type == ED_NODE_SOURCE) r->internal[i] = sink_writes(t, t->nodes[i].topic);
    for (int s = 0; s < t->nsubs; s++)
      r->nparts[s] = partitions;
  } else {
    if (rc == ED_OK) rc = clients_create(r, err, errlen);
    if (rc == ED_OK) rc = learn_partitions(r, err, errlen);
    if (rc == ED_OK) rc = ed__changelog_setup(r, partitions_now, err, errlen);
    if (rc == ED_OK) rc = ed__restore_create(r, err, errlen);
  }
  for (int s = 0; rc == ED_OK && s < t->nsubs; s++) {
    r->tasks[s] = calloc((size_t)r->nparts[s], sizeof *r->tasks[s]);
    if (r->tasks[s] == NULL) rc = ED_ENOMEM;
  }
  if (rc != ED_OK) {
    r->topo = NULL; /* still the caller's */
    ed__runner_destroy(r);
    return rc;
  }
  *out = r;
  return ED_OK;
}

void ed__runner_destroy(ed_runner_t *r) {
  if (r == NULL) return;
  ed__restore_destroy(r);
  if (r->consumer) rd_kafka_destroy(r->consumer);
  if (r->producer) {
    rd_kafka_flush(r->producer, 5000);
    rd_kafka_destroy(r->producer);
  }
  for (int s = 0; r->topo && s < r->topo->nsubs; s++) {
    for (int32_t p = 0; r->tasks[s] && p < r->nparts[s]; p++)
      ed__task_destroy(r->tasks[s][p]);
    free(r->tasks[s]);
  }
  ed_topology_destroy(r->topo);
  for (int s = 0; s < ED_TOPO_MAX_STORES; s++)
    free(r->changelog[s]);
  pthread_mutex_destroy(&r->member_lock);
  free(r->group);
  free(r->dead_letter_topic);
  free(r);
}

/* ---- bad records ---- */

static void dead_letter(ed_runner_t *r, const char *reason, const char *detail,
                        const ed_inmsg_t *m) {
  rd_kafka_headers_t *h = rd_kafka_headers_new(6);
  char part[16], off[24];
  snprintf(part, sizeof part, "%d", (int)m->partition);
  snprintf(off, sizeof off, "%lld", (long long)m->offset);
  /* The view: its store's name (a YAML view's name), else the topology's. */
  rd_kafka_header_add(h, "eddy.view", -1,
                      r->topo->nstores ? r->topo->stores[0].name : r->topo->name, -1);
  rd_kafka_header_add(h, "eddy.reason", -1, reason, -1);
  if (detail) rd_kafka_header_add(h, "eddy.detail", -1, detail, -1);
  rd_kafka_header_add(h, "eddy.topic", -1, m->topic, -1);
  rd_kafka_header_add(h, "eddy.partition", -1, part, -1);
  rd_kafka_header_add(h, "eddy.offset", -1, off, -1);
  if (ed__runner_produce(r, r->dead_letter_topic, m->key, m->key_len, m->value, m->value_len,
                         m->timestamp, h) != ED_OK)
    r->produce_failed = 1;
}

void ed__runner_count_bad(ed_runner_t *r, const char *reason, const char *detail,
                          const ed_inmsg_t *m) {
  int n = atomic_load(&r->nbad), i;
  for (i = 0; i < n; i++)
    if (strcmp(r->bad[i].reason, reason) == 0) break;
  if (i == n && n < ED_MAX_BAD_REASONS) {
    r->bad[n].reason = reason;
    atomic_store(&r->nbad, n + 1);
  }
  uint64_t total = 0;
  if (i < ED_MAX_BAD_REASONS)
    total = atomic_fetch_add_explicit(&r->bad[i].count, 1, memory_order_relaxed) + 1;
  if (m && r->on_error == ED_ON_ERROR_DEAD_LETTER) dead_letter(r, reason, detail, m);
  uint64_t suppressed;
  if (m == NULL || !ed_ratelimit_allow(&r->bad_log, &suppressed)) return;
  ed_log_warn("%s: %s record at %s[%d]@%lld: %s%s%s (%llu so far for this reason; %llu lines "
              "suppressed)",
              r->topo->name, r->on_error == ED_ON_ERROR_DEAD_LETTER ? "dead-lettered" : "skipped",
              m->topic, (int)m->partition, (long long)m->offset, reason, detail ? ": " : "",
              detail ? detail : "", (unsigned long long)total, (unsigned long long)suppressed);
}

int ed__runner_produce(ed_runner_t *r, const char *topic, const void *key, size_t klen,
                       const void *val, size_t vlen, int64_t ts, rd_kafka_headers_t *hdrs) {
  if (r->driver) {
    if (hdrs) rd_kafka_headers_destroy(hdrs);
    return ed__driver_produce(r->driver, topic, key, klen, val, vlen, ts, NULL, 0);
  }
  return ed__runner_produce_to(r, topic, RD_KAFKA_PARTITION_UA, key, klen, val, vlen, ts, hdrs,
                               NULL);
}

int ed__runner_produce_to(ed_runner_t *r, const char *topic, int32_t partition, const void *key,
                          size_t klen, const void *val, size_t vlen, int64_t ts,
                          rd_kafka_headers_t *hdrs, void *opaque) {
  rd_kafka_resp_err_t kerr;
  for (;;) {
    kerr = rd_kafka_producev(r->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_KEY((void *)key, klen), RD_KAFKA_V_VALUE((void *)val, vlen),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_TIMESTAMP(ts > 0 ? ts : 0), RD_KAFKA_V_HEADERS(hdrs),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
    rd_kafka_poll(r->producer, 10);
  }
  if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR) return ED_OK;
  if (hdrs) rd_kafka_headers_destroy(hdrs);
  ed_log_error("%s: cannot produce to %s: %s", r->topo->name, topic, rd_kafka_err2str(kerr));
  return ED_EKAFKA;
}

int ed__runner_find_source(const ed_runner_t *r, const char *topic, int *sub) {
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int k = 0; k < r->topo->subs[s].nsources; k++)
      if (strcmp(r->topo->nodes[r->topo->subs[s].sources[k]].topic, topic) == 0) {
        *sub = s;
        return k;
      }
  return -1;
}

/* ---- the stream thread ---- */

static void to_inmsg(const ed_runner_t *r, int sub, int slot, const rd_kafka_message_t *m,
                     ed_inmsg_t *in) {
  rd_kafka_timestamp_type_t tt;
  *in = (ed_inmsg_t){rd_kafka_topic_name(m->rkt),
                     m->partition,
                     m->offset,
                     m->key,
                     m->key_len,
                     m->payload,
                     m->len,
                     rd_kafka_message_timestamp(m, &tt),
                     NULL,
                     0};
  rd_kafka_headers_t *hdrs;
  const void *v;
  size_t len;
  if (r->internal[r->topo->subs[sub].sources[slot]] &&
      rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      rd_kafka_header_get_last(hdrs, ED_SRC_HEADER, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    in->src = v;
    in->src_len = len;
  }
}

static void *stream_thread(void *arg) {
  ed_runner_t *r = arg;
  ed_engine_t *e = r->engine;
  /* Named for top, perf and gdb: "ed:" and the end of the topology's name. */
  char tname[16];
  size_t len = strlen(r->topo->name);
  snprintf(tname, sizeof tname, "ed:%s", r->topo->name + (len > 12 ? len - 12 : 0));
  pthread_setname_np(pthread_self(), tname);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(r->consumer);
  rd_kafka_message_t *msgs[ED_BATCH_MAX];
  int64_t next_commit = ed_now_ms() + e->commit_interval_ms;
  /* The last topic seen, to find a message's task without string compares. */
  rd_kafka_topic_t *last_rkt = NULL;
  int last_sub = -1, last_slot = -1;
  int restoring = 0;
  while (!atomic_load(&e->stopping)) {
    int64_t wait = next_commit - ed_now_ms();
    if (wait > 100) wait = 100;
    if (wait < 0 || restoring) wait = 0;
    ssize_t n = rd_kafka_consume_batch_queue(q, (int)wait, msgs, ED_BATCH_MAX);
    int early = 0;
    for (ssize_t i = 0; i < n; i++) {
      rd_kafka_message_t *m = msgs[i];
      if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
          ed_log_warn("%s: consumer: %s", r->topo->name, rd_kafka_message_errstr(m));
      } else {
        if (m->rkt != last_rkt) {
          last_rkt = m->rkt;
          last_slot = ed__runner_find_source(r, rd_kafka_topic_name(m->rkt), &last_sub);
        }
        ed_task_t *t = last_slot >= 0 && m->partition >= 0 && m->partition < r->nparts[last_sub]
                           ? r->tasks[last_sub][m->partition]
                           : NULL;
        if (t && t->active && !t->restoring) {
          ed_inmsg_t in;
          to_inmsg(r, last_sub, last_slot, m, &in);
          ed__task_process(t, last_slot, &in);
          early |= ed__task_should_commit_early(t);
        }
      }
      rd_kafka_message_destroy(m);
    }
    int64_t now = ed_now_ms();
    for (int s = 0; s < r->topo->nsubs; s++)
      for (int32_t p = 0; p < r->nparts[s]; p++) {
        ed_task_t *t = r->tasks[s][p];
        if (t == NULL) continue;
        ed__task_end_batch(t);
        if (t->active && t->nschedules) ed__task_wall_clock(t, now);
      }
    rd_kafka_poll(r->producer, 0);
    restoring = ed__restore_step(r, n > 0 ? 0 : 10);
    if (early || now >= next_commit) {
      ed__runner_commit_all(r);
      if (early)
        for (int s = 0; s < r->topo->nsubs; s++)
          for (int32_t p = 0; p < r->nparts[s]; p++)
            if (r->tasks[s][p] && ed__task_should_commit_early(r->tasks[s][p]) &&
                !ed__task_has_changes(r->tasks[s][p]))
              ed_cache_clear(&r->tasks[s][p]->cache);
      next_commit = ed_now_ms() + e->commit_interval_ms;
    }
  }
  ed__runner_commit_all(r);
  rd_kafka_queue_destroy(q);
  /* Leaves the group promptly; the revoke callback runs in here. */
  rd_kafka_consumer_close(r->consumer);
  return NULL;
}

/* Connects the producer and learns its topics' metadata (sinks and
 * changelogs) before the first record: otherwise the first commit's flush
 * waits for both (and for the idempotent producer's id), a stall of most
 * of a second. */
static void warm_topic(rd_kafka_t *rk, const char *topic) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_metadata_destroy(md);
  if (rkt) rd_kafka_topic_destroy(rkt);
}

static void warm_producer(ed_runner_t *r) {
  for (int i = 0; i < r->topo->nnodes; i++)
    if (r->topo->nodes[i].type == ED_NODE_SINK) warm_topic(r->producer, r->topo->nodes[i].topic);
  for (int s = 0; s < r->topo->nstores; s++)
    if (r->changelog[s]) {
      warm_topic(r->producer, r->changelog[s]);
      if (r->restorer) warm_topic(r->restorer, r->changelog[s]); /* its first restore */
    }
}

int ed__runner_start(ed_runner_t *r, char *err, size_t errlen) {
  warm_producer(r);
  if (ed__txn_init(r, err, errlen) != ED_OK) return ED_EKAFKA;
  ed__txn_begin(r);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(8);
  for (int i = 0; i < r->topo->nnodes; i++)
    if (r->topo->nodes[i].type == ED_NODE_SOURCE)
      rd_kafka_topic_partition_list_add(topics, r->topo->nodes[i].topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t kerr = rd_kafka_subscribe(r->consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (kerr) {
    snprintf(err, errlen, "%s: subscribe: %s", r->topo->name, rd_kafka_err2str(kerr));
    return ED_EKAFKA;
  }
  if (pthread_create(&r->thread, NULL, stream_thread, r) != 0) {
    snprintf(err, errlen, "%s: cannot start its thread", r->topo->name);
    return ED_ENOMEM;
  }
  r->thread_started = 1;
  return ED_OK;
}

void ed__runner_join(ed_runner_t *r) {
  if (!r->thread_started) return;
  pthread_join(r->thread, NULL);
  r->thread_started = 0;
  for (int s = 0; s < r->topo->nsubs; s++)
    for (int32_t p = 0; p < r->nparts[s]; p++)
      if (r->tasks[s][p]) ed__task_close_processors(r->tasks[s][p]);
}
