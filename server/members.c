/* The members topic (members.h): publisher and reader on one thread. */
#include "server/members.h"
#include "server/standby.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "proto/eddy.pb-c.h"

#define POLL_MS 200

typedef struct {
  char *id;
  int64_t ts;       /* "ts" header: when it was published (wall ms) */
  int64_t since;    /* "since" header: its last assignment change (wall ms) */
  ed_cluster_t map; /* one instance (self = 0); its catalog is ignored */
} member_t;

struct ed_members {
  char topic[512];
  char *instance_id;
  char *advertised_url;
  ed_engine_t *engine;
  int heartbeat_ms, expiry_ms;
  int standby_replicas;
  rd_kafka_t *producer, *consumer;
  pthread_t thread;
  int started;
  atomic_int stop;
  int stopped;
  /* this instance's record */
  char *sig;
  int64_t since, last_pub;
  /* the others, under mu */
  pthread_mutex_t mu;
  member_t *members;
  size_t nmembers;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  if (level <= 3)
    ed_log_warn("members: kafka %s: %s", fac, buf);
  else
    ed_log_debug("members: kafka %s: %s", fac, buf);
}

static int conf_set(rd_kafka_conf_t *kc, const char *k, const char *v, char *err, size_t errlen) {
  char kerr[256];
  if (rd_kafka_conf_set(kc, k, v, kerr, sizeof kerr) == RD_KAFKA_CONF_OK) return ED_OK;
  snprintf(err, errlen, "members: kafka property %s: %s", k, kerr);
  return ED_ECONFIG;
}

static rd_kafka_t *client(const ed_members_conf_t *conf, rd_kafka_type_t type,
                          const char *const (*defaults)[2], size_t nd,
                          const char *const (*fixed)[2], size_t nf, char *err, size_t errlen) {
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  int rc = ED_OK;
  for (size_t i = 0; rc == ED_OK && i < nd; i++)
    rc = conf_set(kc, defaults[i][0], defaults[i][1], err, errlen);
  for (size_t i = 0; rc == ED_OK && i < conf->nkafka; i++)
    rc = conf_set(kc, conf->kafka[i].name, conf->kafka[i].value, err, errlen);
  for (size_t i = 0; rc == ED_OK && i < nf; i++)
    rc = conf_set(kc, fixed[i][0], fixed[i][1], err, errlen);
  if (rc == ED_OK && conf->bootstrap)
    rc = conf_set(kc, "bootstrap.servers", conf->bootstrap, err, errlen);
  if (rc != ED_OK) {
    rd_kafka_conf_destroy(kc);
    return NULL;
  }
  rd_kafka_conf_set_log_cb(kc, on_log);
  char kerr[512];
  rd_kafka_t *rk = rd_kafka_new(type, kc, kerr, sizeof kerr);
  if (rk == NULL) {
    rd_kafka_conf_destroy(kc);
    snprintf(err, errlen, "members: cannot create a kafka client: %s", kerr);
  }
  return rk;
}

static void member_fini(member_t *e) {
  free(e->id);
  ed_cluster_fini(&e->map);
  memset(e, 0, sizeof *e);
}

/* ---- publishing ---- */

/* "view@member:p/state,...;" for every view this instance holds partitions
 * of: a change of any of it is published at once. */
static char *signature(const ed_cluster_instance_t *in) {
  ed_buf_t b;
  ed_buf_init(&b);
  for (size_t i = 0; i < in->nviews; i++) {
    ed_buf_printf(&b, "%s@%s:", in->views[i].view,
                  in->views[i].member_id ? in->views[i].member_id : "");
    for (size_t k = 0; k < in->views[i].npartitions; k++)
      ed_buf_printf(&b, "%" PRId32 "/%d,", in->views[i].partitions[k].partition,
                    (int)in->views[i].partitions[k].state);
    ed_buf_putc(&b, ';');
  }
  ed_buf_putc(&b, '\0');
  char *s = ed_buf_failed(&b) ? NULL : strdup(b.data ? b.data : "");
  ed_buf_fini(&b);
  return s;
}

static void produce(ed_members_t *m, const void *val, size_t len) {
  char ts[32], since[32];
  snprintf(ts, sizeof ts, "%" PRId64, wall_ms());
  snprintf(since, sizeof since, "%" PRId64, m->since);
  rd_kafka_resp_err_t kerr = rd_kafka_producev(
      m->producer, RD_KAFKA_V_TOPIC(m->topic), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_KEY(m->instance_id, strlen(m->instance_id)), RD_KAFKA_V_VALUE((void *)val, len),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADER("ts", ts, (ssize_t)strlen(ts)),
      RD_KAFKA_V_HEADER("since", since, (ssize_t)strlen(since)), RD_KAFKA_V_END);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
    ed_log_warn("members: cannot publish to %s: %s", m->topic, rd_kafka_err2str(kerr));
}

/* Publishes this instance's record if its assignment changed, or the
 * heartbeat is due, or @p force. */
static void maybe_publish(ed_members_t *m, int force) {
  ed_cluster_self_t self = {.instance_id = m->instance_id, .advertised_url = m->advertised_url};
  ed_cluster_t snap;
  ed_cluster_init(&snap);
  if (ed_cluster_snapshot(m->engine, &self, &snap) != ED_OK || snap.ninstances == 0) {
    ed_cluster_fini(&snap);
    return;
  }
  char *sig = signature(&snap.instances[0]);
  int changed = sig == NULL || m->sig == NULL || strcmp(sig, m->sig) != 0;
  int64_t now = mono_ms();
  if (changed) {
    m->since = wall_ms();
    free(m->sig);
    m->sig = sig;
    sig = NULL;
  }
  free(sig);
  if (!force && !changed && now - m->last_pub < m->heartbeat_ms) {
    ed_cluster_fini(&snap);
    return;
  }
  snap.instances[0].self = 0;
  ed_buf_t b;
  ed_buf_init(&b);
  if (ed_cluster_encode(&snap, ED_QUERY_PROTOBUF, &b) == ED_OK) {
    produce(m, b.data, b.len);
    m->last_pub = now;
  }
  ed_buf_fini(&b);
  ed_cluster_fini(&snap);
}

/* ---- reading ---- */

static int64_t header_i64(rd_kafka_message_t *rkm, const char *name) {
  rd_kafka_headers_t *hdrs = NULL;
  const void *v;
  size_t n;
  if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(hdrs, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL ||
      n == 0 || n > 30)
    return -1;
  char s[32];
  memcpy(s, v, n);
  s[n] = '\0';
  return strtoll(s, NULL, 10);
}

/* Index of member @p id (key bytes) or nmembers. Under mu. */
static size_t find(ed_members_t *m, const void *id, size_t len) {
  for (size_t i = 0; i < m->nmembers; i++)
    if (strlen(m->members[i].id) == len && memcmp(m->members[i].id, id, len) == 0) return i;
  return m->nmembers;
}

static void remove_at(ed_members_t *m, size_t i) {
  member_fini(&m->members[i]);
  m->members[i] = m->members[--m->nmembers];
}

/* Decodes a record value into @p out (initialized): one instance, self 0. */
static int decode(const rd_kafka_message_t *rkm, ed_cluster_t *out) {
  Eddy__V1__ClusterMap *pm =
      eddy__v1__cluster_map__unpack(NULL, rkm->len, (const uint8_t *)rkm->payload);
  if (pm == NULL) return ED_EINVAL;
  int rc = pm->n_instances == 1 ? ED_OK : ED_EINVAL;
  if (rc == ED_OK) {
    Eddy__V1__Instance *pi = pm->instances[0];
    ed_cluster_instance_t in = {.instance_id = pi->instance_id,
                                .advertised_url = pi->advertised_url};
    ed_cluster_view_t *views = calloc(pi->n_views + 1, sizeof *views);
    if (views == NULL) rc = ED_ENOMEM;
    for (size_t j = 0; rc == ED_OK && j < pi->n_views; j++) {
      Eddy__V1__InstanceView *pv = pi->views[j];
      ed_cluster_partition_t *parts = calloc(pv->n_partitions + 1, sizeof *parts);
      if (parts == NULL) {
        rc = ED_ENOMEM;
        break;
      }
      for (size_t k = 0; k < pv->n_partitions; k++) {
        Eddy__V1__ClusterPartition *pp = pv->partitions[k];
        parts[k].partition = pp->partition;
        parts[k].state = strcmp(pp->state, "restoring") == 0 ? ED_CLUSTER_RESTORING
                         : strcmp(pp->state, "running") == 0 ? ED_CLUSTER_RUNNING
                         : strcmp(pp->state, "standby") == 0 ? ED_CLUSTER_STANDBY
                                                             : ED_CLUSTER_UNASSIGNED;
        parts[k].offset = pp->offset;
        parts[k].lag = pp->lag;
        parts[k].restored = pp->restored;
        parts[k].restore_total = pp->restore_total;
        parts[k].lag_ms = pp->lag_ms;
      }
      views[j].view = pv->view;
      views[j].member_id = pv->member_id;
      views[j].partitions = parts;
      views[j].npartitions = pv->n_partitions;
      in.nviews++;
    }
    in.views = views;
    if (rc == ED_OK) rc = ed_cluster_add_instance(out, &in);
    for (size_t j = 0; views && j < in.nviews; j++)
      free(views[j].partitions);
    free(views);
  }
  eddy__v1__cluster_map__free_unpacked(pm, NULL);
  return rc;
}

static void on_record(ed_members_t *m, rd_kafka_message_t *rkm) {
  if (rkm->err) {
    if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
      ed_log_debug("members: %s: %s", m->topic, rd_kafka_message_errstr(rkm));
    return;
  }
  if (rkm->key == NULL || rkm->key_len == 0) return;
  if (rkm->key_len == strlen(m->instance_id) && memcmp(rkm->key, m->instance_id, rkm->key_len) == 0)
    return; /* this instance (or an earlier run of it) */
  member_t e;
  memset(&e, 0, sizeof e);
  ed_cluster_init(&e.map);
  int tombstone = rkm->payload == NULL;
  if (!tombstone) {
    e.ts = header_i64(rkm, "ts");
    e.since = header_i64(rkm, "since");
    if (e.ts < 0) {
      rd_kafka_timestamp_type_t tt;
      e.ts = rd_kafka_message_timestamp(rkm, &tt);
    }
    if (decode(rkm, &e.map) != ED_OK) {
      ed_log_debug("members: undecodable record at offset %" PRId64, rkm->offset);
      ed_cluster_fini(&e.map);
      return;
    }
    e.id = strndup(rkm->key, rkm->key_len);
    if (e.id == NULL) {
      ed_cluster_fini(&e.map);
      return;
    }
  }
  pthread_mutex_lock(&m->mu);
  size_t i = find(m, rkm->key, rkm->key_len);
  if (i < m->nmembers) remove_at(m, i);
  if (!tombstone) {
    member_t *a = realloc(m->members, (m->nmembers + 1) * sizeof *a);
    if (a != NULL) {
      m->members = a;
      m->members[m->nmembers++] = e;
    } else {
      member_fini(&e);
    }
  }
  pthread_mutex_unlock(&m->mu);
}

static void prune(ed_members_t *m) {
  int64_t now = wall_ms();
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->nmembers;) {
    if (now - m->members[i].ts > m->expiry_ms)
      remove_at(m, i);
    else
      i++;
  }
  pthread_mutex_unlock(&m->mu);
}

/* Which partitions this instance keeps standbys of, per the current map. */
static void plan_standbys(ed_members_t *m) {
  if (m->standby_replicas <= 0) return;
  ed_cluster_self_t self = {.instance_id = m->instance_id, .advertised_url = m->advertised_url};
  ed_cluster_t map;
  ed_cluster_init(&map);
  if (ed_cluster_snapshot(m->engine, &self, &map) == ED_OK && ed_members_add_to(m, &map) == ED_OK) {
    for (size_t i = 0; i < ed_engine_view_count(m->engine); i++) {
      ed_view_t *v = ed_engine_view_at(m->engine, i);
      int32_t n = ed_view_partition_count(v);
      uint8_t *want = calloc(n > 0 ? (size_t)n : 1, 1);
      if (want && ed_standby_plan(&map, ed_view_def(v)->name, n, m->instance_id,
                                  m->standby_replicas, want) == ED_OK)
        ed_view_set_standbys(v, want, n);
      free(want);
    }
  }
  ed_cluster_fini(&map);
}

static void *members_main(void *arg) {
  ed_members_t *m = arg;
  /* Publish first: on a broker that creates topics on demand, the
   * producer's metadata request makes the topic the reader assigns. */
  maybe_publish(m, 1);
  rd_kafka_flush(m->producer, 2000);
  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, m->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t kerr = rd_kafka_assign(m->consumer, tp);
  rd_kafka_topic_partition_list_destroy(tp);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
    ed_log_error("members: cannot assign %s: %s", m->topic, rd_kafka_err2str(kerr));
  while (!atomic_load(&m->stop)) {
    int64_t until = mono_ms() + POLL_MS;
    for (int64_t left = POLL_MS; left > 0 && !atomic_load(&m->stop); left = until - mono_ms()) {
      rd_kafka_message_t *rkm = rd_kafka_consumer_poll(m->consumer, (int)left);
      if (rkm == NULL) continue;
      on_record(m, rkm);
      rd_kafka_message_destroy(rkm);
    }
    rd_kafka_poll(m->producer, 0);
    maybe_publish(m, 0);
    prune(m);
    plan_standbys(m);
  }
  return NULL;
}

/* ---- API ---- */

int ed_members_start(const ed_members_conf_t *conf, ed_members_t **out, char *err, size_t errlen) {
  ed_members_t *m = calloc(1, sizeof *m);
  if (m == NULL) return ED_ENOMEM;
  pthread_mutex_init(&m->mu, NULL);
  snprintf(m->topic, sizeof m->topic, "%s.members", conf->app);
  m->instance_id = strdup(conf->instance_id ? conf->instance_id : "");
  m->advertised_url = strdup(conf->advertised_url ? conf->advertised_url : "");
  m->engine = conf->engine;
  m->heartbeat_ms = conf->heartbeat_ms > 0 ? conf->heartbeat_ms : 2000;
  m->expiry_ms = conf->expiry_ms > 0 ? conf->expiry_ms : 10000;
  m->standby_replicas = conf->standby_replicas;
  if (m->instance_id == NULL || m->advertised_url == NULL) {
    ed_members_destroy(m);
    return ED_ENOMEM;
  }
  static const char *const pdef[][2] = {{"linger.ms", "5"}};
  static const char *const pfix[][2] = {{"enable.idempotence", "false"}};
  m->producer = client(conf, RD_KAFKA_PRODUCER, pdef, 1, pfix, 1, err, errlen);
  char group[1024];
  snprintf(group, sizeof group, "%s.members-reader.%s.%ld.%" PRId64, conf->app, m->instance_id,
           (long)getpid(), wall_ms());
  static const char *const cdef[][2] = {{"fetch.wait.max.ms", "100"}};
  const char *const cfix[][2] = {{"group.id", group},
                                 {"enable.auto.commit", "false"},
                                 {"enable.auto.offset.store", "false"},
                                 {"enable.partition.eof", "false"},
                                 {"allow.auto.create.topics", "true"}};
  if (m->producer != NULL)
    m->consumer = client(conf, RD_KAFKA_CONSUMER, cdef, 1, cfix, 5, err, errlen);
  if (m->producer == NULL || m->consumer == NULL) {
    ed_members_destroy(m);
    return ED_EKAFKA;
  }
  rd_kafka_poll_set_consumer(m->consumer);
  if (pthread_create(&m->thread, NULL, members_main, m) != 0) {
    snprintf(err, errlen, "members: cannot start the thread");
    ed_members_destroy(m);
    return ED_ENOMEM;
  }
  m->started = 1;
  *out = m;
  return ED_OK;
}

int ed_members_add_to(ed_members_t *m, ed_cluster_t *c) {
  if (m == NULL) return ED_OK;
  int64_t now = wall_ms();
  int rc = ED_OK;
  pthread_mutex_lock(&m->mu);
  size_t n = m->nmembers;
  size_t *order = calloc(n + 1, sizeof *order);
  if (order == NULL) rc = ED_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; rc == ED_OK && i < n; i++) {
    const member_t *e = &m->members[i];
    if (now - e->ts > m->expiry_ms || e->map.ninstances == 0) continue;
    /* insertion sort: the most recent assignment change first */
    size_t j = k++;
    while (j > 0 && m->members[order[j - 1]].since < e->since) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  for (size_t i = 0; rc == ED_OK && i < k; i++)
    rc = ed_cluster_add_instance(c, &m->members[order[i]].map.instances[0]);
  pthread_mutex_unlock(&m->mu);
  free(order);
  return rc;
}

void ed_members_stop(ed_members_t *m) {
  if (m == NULL || m->stopped) return;
  m->stopped = 1;
  atomic_store(&m->stop, 1);
  if (m->started) pthread_join(m->thread, NULL);
  m->started = 0;
  if (m->producer) {
    produce(m, NULL, 0); /* the tombstone */
    if (rd_kafka_flush(m->producer, 3000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      ed_log_warn("members: the tombstone was not delivered in time");
  }
  if (m->consumer) rd_kafka_consumer_close(m->consumer);
}

void ed_members_destroy(ed_members_t *m) {
  if (m == NULL) return;
  if (m->producer || m->consumer) ed_members_stop(m);
  if (m->consumer) rd_kafka_destroy(m->consumer);
  if (m->producer) rd_kafka_destroy(m->producer);
  for (size_t i = 0; i < m->nmembers; i++)
    member_fini(&m->members[i]);
  free(m->members);
  free(m->sig);
  free(m->instance_id);
  free(m->advertised_url);
  pthread_mutex_destroy(&m->mu);
  free(m);
}
