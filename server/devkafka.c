/* `eddy dev-kafka`: librdkafka's mock cluster as a development Kafka in its
 * own process. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "server/main_int.h"
#include "server/config.h"
#include "server/mock_kafka.h"

static volatile sig_atomic_t devkafka_stop;

static void on_signal(int sig) {
  (void)sig;
  devkafka_stop = 1;
}

static void usage(FILE *f) {
  fprintf(f, "usage: eddy dev-kafka [--partitions N] [--brokers N] [--topic T ...] [--config F]\n"
             "Runs librdkafka's mock Kafka cluster on loopback until SIGINT/SIGTERM.\n"
             "Prints its bootstrap servers on the first line of stdout.\n"
             "  --partitions N  partitions of each --topic (default 4)\n"
             "  --brokers N     brokers in the cluster (default 1)\n"
             "  --topic T       create topic T at start (repeatable)\n"
             "  --config F      create every topic the views of config F read or write\n"
             "                  (sources, repartition, output, dead-letter topics)\n");
}

int ed_devkafka_main(int argc, char **argv) {
  static const struct option opts[] = {{"partitions", required_argument, NULL, 'p'},
                                       {"brokers", required_argument, NULL, 'b'},
                                       {"topic", required_argument, NULL, 't'},
                                       {"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int partitions = 4, brokers = 1, ntopics = 0;
  const char *config = NULL;
  char **topics = calloc((size_t)argc, sizeof *topics);
  if (topics == NULL) return 1;
  int c;
  while ((c = getopt_long(argc, argv, "p:b:t:c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': partitions = atoi(optarg); break;
    case 'b': brokers = atoi(optarg); break;
    case 't': topics[ntopics++] = optarg; break;
    case 'c': config = optarg; break;
    case 'h': usage(stdout); free(topics); return 0;
    default: usage(stderr); free(topics); return 2;
    }
  }
  if (partitions < 1 || partitions > 10000 || brokers < 1 || brokers > 16 || optind != argc) {
    usage(stderr);
    free(topics);
    return 2;
  }
  char err[512];
  ed_mock_kafka_t *m;
  if (ed_mock_kafka_start(brokers, &m, err, sizeof err) != ED_OK) {
    fprintf(stderr, "eddy dev-kafka: %s\n", err);
    free(topics);
    return 1;
  }
  for (int i = 0; i < ntopics; i++) {
    if (ed_mock_kafka_create_topic(m, topics[i], partitions, err, sizeof err) != ED_OK) {
      fprintf(stderr, "eddy dev-kafka: %s\n", err);
      ed_mock_kafka_stop(m);
      free(topics);
      return 1;
    }
  }
  free(topics);
  if (config) {
    ed_config_t *cfg;
    int rc = ed_config_load(config, &cfg, err, sizeof err);
    if (rc == ED_OK) {
      rc = ed_mock_kafka_create_config_topics(m, cfg, partitions, err, sizeof err);
      ed_config_free(cfg);
    }
    if (rc != ED_OK) {
      fprintf(stderr, "eddy dev-kafka: %s\n", err);
      ed_mock_kafka_stop(m);
      return 1;
    }
  }
  ed__install_signals(on_signal);
  printf("%s\n", ed_mock_kafka_bootstrap(m));
  fflush(stdout);
  ed_log_info("dev-kafka: mock cluster with %d broker(s) at %s; topics get %d partitions", brokers,
              ed_mock_kafka_bootstrap(m), partitions);
  while (!devkafka_stop) usleep(50 * 1000); /* signals may land on any thread */
  ed_log_info("dev-kafka: stopping");
  ed_mock_kafka_stop(m);
  return 0;
}
