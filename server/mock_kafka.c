#include "server/mock_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "server/config.h"
#include "streams/compile.h"

#define ED_MOCK_MAX_TOPICS 256

struct ed_mock_kafka {
  rd_kafka_t *rk; /* hosts the mock cluster's thread */
  rd_kafka_mock_cluster_t *mcluster;
  struct {
    char *name;
    int partitions;
  } topics[ED_MOCK_MAX_TOPICS];
  int ntopics;
};

int ed_mock_kafka_start(int brokers, ed_mock_kafka_t **out, char *err, size_t errlen) {
  ed_mock_kafka_t *m = calloc(1, sizeof *m);
  if (m == NULL) return ED_ENOMEM;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char kerr[512];
  /* The hosting client never talks to a broker; keep it quiet. */
  rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
  m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
  if (m->rk == NULL) {
    rd_kafka_conf_destroy(conf);
    free(m);
    snprintf(err, errlen, "cannot create the mock cluster's client: %s", kerr);
    return ED_EKAFKA;
  }
  m->mcluster = rd_kafka_mock_cluster_new(m->rk, brokers > 0 ? brokers : 1);
  if (m->mcluster == NULL) {
    rd_kafka_destroy(m->rk);
    free(m);
    snprintf(err, errlen, "cannot start the mock cluster");
    return ED_EKAFKA;
  }
  *out = m;
  return ED_OK;
}

int ed_mock_kafka_create_topic(ed_mock_kafka_t *m, const char *topic, int partitions, char *err,
                               size_t errlen) {
  for (int i = 0; i < m->ntopics; i++) {
    if (strcmp(m->topics[i].name, topic) != 0) continue;
    if (m->topics[i].partitions == partitions) return ED_OK;
    snprintf(err, errlen, "topic '%s' already exists with %d partitions, not %d", topic,
             m->topics[i].partitions, partitions);
    return ED_ECONFIG;
  }
  if (m->ntopics == ED_MOCK_MAX_TOPICS) {
    snprintf(err, errlen, "too many topics (at most %d)", ED_MOCK_MAX_TOPICS);
    return ED_ETOOBIG;
  }
  rd_kafka_resp_err_t kerr = rd_kafka_mock_topic_create(m->mcluster, topic, partitions, 1);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "cannot create topic '%s': %s", topic, rd_kafka_err2str(kerr));
    return ED_EKAFKA;
  }
  m->topics[m->ntopics].name = strdup(topic);
  if (m->topics[m->ntopics].name == NULL) return ED_ENOMEM;
  m->topics[m->ntopics++].partitions = partitions;
  return ED_OK;
}

int ed_mock_kafka_create_config_topics(ed_mock_kafka_t *m, const ed_config_t *cfg,
                                       int partitions, char *err, size_t errlen) {
  for (size_t i = 0; i < cfg->nviews; i++) {
    char topics[5][512];
    snprintf(topics[0], sizeof topics[0], "%s", cfg->views[i].from);
    size_t n = 1 + ed_view_internal_topics(&cfg->views[i], cfg->app, topics + 1, 4);
    for (size_t k = 0; k < n; k++) {
      int rc = ed_mock_kafka_create_topic(m, topics[k], partitions, err, errlen);
      if (rc != ED_OK) return rc;
    }
  }
  /* The members topic (server/members.h): one partition. */
  char members[512];
  snprintf(members, sizeof members, "%s.members", cfg->app);
  return ed_mock_kafka_create_topic(m, members, 1, err, errlen);
}

const char *ed_mock_kafka_bootstrap(const ed_mock_kafka_t *m) {
  return rd_kafka_mock_cluster_bootstraps(m->mcluster);
}

void ed_mock_kafka_stop(ed_mock_kafka_t *m) {
  if (m == NULL) return;
  rd_kafka_mock_cluster_destroy(m->mcluster);
  rd_kafka_destroy(m->rk);
  for (int i = 0; i < m->ntopics; i++) free(m->topics[i].name);
  free(m);
}
