/* librdkafka's mock cluster (rdkafka_mock.h) as a development Kafka: used by
 * `eddy dev-kafka` (its own process) and `bootstrap.servers: embedded`. */
#ifndef ED_SERVER_MOCK_KAFKA_H
#define ED_SERVER_MOCK_KAFKA_H

#include <stddef.h>

typedef struct ed_mock_kafka ed_mock_kafka_t;

/* Starts a mock cluster with @p brokers brokers listening on loopback. */
int ed_mock_kafka_start(int brokers, ed_mock_kafka_t **out, char *err, size_t errlen);

/* Creates @p topic with @p partitions partitions (idempotent when the topic
 * already has that count; ED_ECONFIG if it exists with another count). */
int ed_mock_kafka_create_topic(ed_mock_kafka_t *m, const char *topic, int partitions, char *err,
                               size_t errlen);

struct ed_config;

/* Creates every topic the views of @p cfg read or write (sources,
 * repartition, output and dead-letter topics) with @p partitions each. */
int ed_mock_kafka_create_config_topics(ed_mock_kafka_t *m, const struct ed_config *cfg,
                                       int partitions, char *err, size_t errlen);

/* "127.0.0.1:port[,...]". Borrowed: valid until stop. */
const char *ed_mock_kafka_bootstrap(const ed_mock_kafka_t *m);

/* NULL is a no-op. */
void ed_mock_kafka_stop(ed_mock_kafka_t *m);

#endif
