/* The page-view load generator (`eddy loadgen`, `eddy serve --loadgen`). */
#include "server/loadgen.h"

#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "server/main_int.h"

static uint64_t next_rand(uint64_t *s) {
  /* xorshift64*: deterministic for a seed, good enough for test data. */
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static int producer_create(const char *bootstrap, rd_kafka_t **out, char *err, size_t errlen) {
  static const char *const props[][2] = {
      {"partitioner", "murmur2_random"}, /* the Java client's default */
      {"linger.ms", "5"},
      {"queue.buffering.max.messages", "1000000"},
      {"log_level", "4"},
  };
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char kerr[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, kerr, sizeof kerr) != RD_KAFKA_CONF_OK)
    goto fail;
  for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
    if (rd_kafka_conf_set(conf, props[i][0], props[i][1], kerr, sizeof kerr) != RD_KAFKA_CONF_OK)
      goto fail;
  *out = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof kerr);
  if (*out != NULL) return ED_OK;
fail:
  rd_kafka_conf_destroy(conf);
  snprintf(err, errlen, "cannot create producer: %s", kerr);
  return ED_EKAFKA;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

int ed_loadgen_run(const ed_loadgen_conf_t *c, uint64_t *produced, char *err, size_t errlen) {
  rd_kafka_t *rk;
  int rc = producer_create(c->bootstrap, &rk, err, errlen);
  if (rc != ED_OK) return rc;
  const char *topic = c->topic ? c->topic : "pageviews";
  uint32_t users = c->users ? c->users : 1000, pages = c->pages ? c->pages : 50;
  uint64_t seed = c->seed ? c->seed : 1, n = 0;
  int64_t start = ed_now_ms(), last_report = start;
  while ((c->count == 0 || n < c->count) && !(c->stop && *c->stop)) {
    if (c->rate > 0) {
      /* Keep to the rate: produce what is due, then sleep a little. */
      int64_t due = (int64_t)((double)(ed_now_ms() - start) * c->rate / 1000.0);
      if ((int64_t)n >= due) {
        rd_kafka_poll(rk, 0);
        sleep_ms(2);
        continue;
      }
    }
    char key[32], value[128];
    unsigned user = c->sequential ? (unsigned)(n % users) : (unsigned)(next_rand(&seed) % users);
    int klen = snprintf(key, sizeof key, "user_%u", user);
    int vlen = snprintf(value, sizeof value, "{\"user\":\"%.*s\",\"page\":\"/p/%u\",\"ts\":%lld}",
                        klen, key, (unsigned)(next_rand(&seed) % pages), (long long)ed_now_ms());
    rd_kafka_resp_err_t kerr;
    while ((kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, (size_t)klen),
                                     RD_KAFKA_V_VALUE(value, (size_t)vlen),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    if (kerr) {
      snprintf(err, errlen, "produce to %s: %s", topic, rd_kafka_err2str(kerr));
      rc = ED_EKAFKA;
      break;
    }
    n++;
    rd_kafka_poll(rk, 0);
    if (!c->quiet && ed_now_ms() - last_report >= 5000) {
      last_report = ed_now_ms();
      ed_log_info("loadgen: %llu records produced to %s", (unsigned long long)n, topic);
    }
  }
  if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR && rc == ED_OK) {
    snprintf(err, errlen, "timed out delivering to %s", topic);
    rc = ED_EKAFKA;
  }
  rd_kafka_destroy(rk);
  if (produced) *produced = n;
  return rc;
}

static volatile sig_atomic_t loadgen_stop;

static void on_signal(int sig) {
  (void)sig;
  loadgen_stop = 1;
}

static void usage(FILE *f) {
  fprintf(f, "usage: eddy loadgen --bootstrap SERVERS [--topic T] [--rate N] [--count N]\n"
             "                    [--users N] [--pages N] [--seed N] [--sequential]\n"
             "Produces page-view JSON records {\"user\",\"page\",\"ts\"} keyed by user.\n"
             "  --rate N    records per second (default 1000; 0 = as fast as possible)\n"
             "  --count N   stop after N records (default: run until SIGINT)\n"
             "  --sequential  users in turn (user_0, user_1, ...) instead of at random\n");
}

int ed_loadgen_main(int argc, char **argv) {
  static const struct option opts[] = {
      {"bootstrap", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
      {"rate", required_argument, NULL, 'r'},      {"count", required_argument, NULL, 'c'},
      {"users", required_argument, NULL, 'u'},     {"pages", required_argument, NULL, 'p'},
      {"seed", required_argument, NULL, 's'},      {"help", no_argument, NULL, 'h'},
      {"sequential", no_argument, NULL, 'q'},
      {NULL, 0, NULL, 0}};
  ed_loadgen_conf_t c = {.rate = 1000, .stop = &loadgen_stop};
  int opt;
  while ((opt = getopt_long(argc, argv, "b:t:r:c:u:p:s:qh", opts, NULL)) != -1) {
    switch (opt) {
    case 'b': c.bootstrap = optarg; break;
    case 't': c.topic = optarg; break;
    case 'r': c.rate = atof(optarg); break;
    case 'c': c.count = strtoull(optarg, NULL, 10); break;
    case 'u': c.users = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 'p': c.pages = (uint32_t)strtoul(optarg, NULL, 10); break;
    case 's': c.seed = strtoull(optarg, NULL, 10); break;
    case 'q': c.sequential = 1; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (c.bootstrap == NULL || optind != argc || c.rate < 0) {
    usage(stderr);
    return 2;
  }
  ed__install_signals(on_signal);
  char err[512];
  uint64_t n;
  int rc = ed_loadgen_run(&c, &n, err, sizeof err);
  ed_log_info("loadgen: %llu records produced", (unsigned long long)n);
  if (rc != ED_OK) {
    fprintf(stderr, "eddy loadgen: %s\n", err);
    return 1;
  }
  return 0;
}
