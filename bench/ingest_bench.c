/* Ingest benchmark: how fast does the engine turn a topic into a table,
 * compared with the fastest a bare librdkafka consumer reads the same topic?
 *
 *   ingest_bench [--eddy PATH] [--records N] [--users U] [--rounds R]
 *                [--compression none|lz4|...] [--no-sync]
 *
 * Starts `eddy dev-kafka --partitions 4 --topic pageviews` (PATH, or $EDDY_BIN,
 * or ./server/eddy), fills the topic with page-view JSON records keyed by
 * user (murmur2 partitioner), then alternates R times:
 *   ceiling: a consumer assigned all partitions from the beginning (no group),
 *            batch API, counting records; rate = records / (first..last record)
 *   eddy:    an in-process engine (streams/engine.h) with one view
 *            `aggregate: count` on a fresh data_dir; rate = records / (first
 *            record applied .. last partition's offset committed to LMDB)
 * and prints each round and the medians. See docs/performance.md. */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/store.h"
#include "streams/compile.h"
#include "streams/engine.h"
#include "streams/view.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define TOPIC "pageviews"
#define MAX_ROUNDS 15
/* The mock keeps about 5 MiB per partition and drops older batches. */
#define MOCK_PARTITION_BYTES (5 * 1024 * 1024)

typedef struct {
  const char *eddy;
  long records;
  long users;
  int rounds;
  const char *compression;
  int no_sync;
  char bootstrap[256];
  char dir[256];
  int64_t end[NPART];
  int64_t bytes[NPART]; /* key + value bytes produced per partition */
} bench_t;

static const char *const consumer_props[][2] = {
    {"queued.min.messages", "1000000"}, {"queued.max.messages.kbytes", "1048576"},
    {"fetch.wait.max.ms", "10"},        {"session.timeout.ms", "6000"},
    {"auto.offset.reset", "earliest"},
};
#define NCONSUMER_PROPS (sizeof(consumer_props) / sizeof(consumer_props[0]))

/* The scratch directory, removed by die() too (dev-kafka dies with us:
 * PR_SET_PDEATHSIG). */
static const char *scratch_dir;

static void die(const char *msg) {
  fprintf(stderr, "ingest_bench: %s\n", msg);
  if (scratch_dir)
    eh_rm_rf(scratch_dir);
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  double tmp[MAX_ROUNDS];
  memcpy(tmp, v, sizeof(double) * (size_t)n);
  qsort(tmp, (size_t)n, sizeof(double), cmp_double);
  return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* ---- produce ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  bench_t *b = opaque;
  if (m->err) {
    fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    exit(1);
  }
  if (m->partition >= 0 && m->partition < NPART) {
    if (m->offset + 1 > b->end[m->partition])
      b->end[m->partition] = m->offset + 1;
    b->bytes[m->partition] += (int64_t)(m->len + m->key_len);
  }
}

static void produce(bench_t *b) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  const char *props[][2] = {{"bootstrap.servers", b->bootstrap},
                            {"partitioner", "murmur2_random"},
                            {"linger.ms", "20"},
                            {"batch.num.messages", "10000"},
                            {"queue.buffering.max.messages", "1000000"},
                            {"compression.type", b->compression}};
  for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
    if (rd_kafka_conf_set(c, props[i][0], props[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
      die(err);
  rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
  rd_kafka_conf_set_opaque(c, b);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
  if (!rk)
    die(err);
  uint64_t s = 42;
  int64_t ts = 1700000000000LL;
  int64_t t0 = eh_now_ms();
  for (long i = 0; i < b->records; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    long user = (long)((s >> 33) % (uint64_t)b->users);
    long page = (long)((s >> 13) % 500);
    char key[32], val[128];
    int kl = snprintf(key, sizeof(key), "user_%ld", user);
    int vl = snprintf(val, sizeof(val), "{\"user\":\"user_%ld\",\"page\":\"/p/%ld\",\"ts\":%lld}",
                      user, page, (long long)(ts + i));
    for (;;) {
      rd_kafka_resp_err_t e =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY(key, (size_t)kl),
                            RD_KAFKA_V_VALUE(val, (size_t)vl),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e)
        die(rd_kafka_err2str(e));
      break;
    }
    if (i % 1000 == 0)
      rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    die("flush timed out");
  int64_t ms = eh_now_ms() - t0;
  /* Nothing may have been dropped by the mock's retention. */
  for (int p = 0; p < NPART; p++) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, TOPIC, p, &lo, &hi, 10000);
    if (e)
      die(rd_kafka_err2str(e));
    if (lo != 0 || hi != b->end[p]) {
      fprintf(stderr, "partition %d: watermarks %lld..%lld, produced up to %lld\n", p,
              (long long)lo, (long long)hi, (long long)b->end[p]);
      die("the mock dropped records (over ~5 MiB per partition): use fewer --records or "
          "--compression lz4");
    }
  }
  rd_kafka_destroy(rk);
  printf("produced %ld records over %ld users in %lld ms (%.0f records/s), compression %s\n",
         b->records, b->users, (long long)ms, ms ? b->records * 1000.0 / (double)ms : 0.0,
         b->compression);
  for (int p = 0; p < NPART; p++)
    printf("  partition %d: %lld records, %.2f MiB of keys+values\n", p, (long long)b->end[p],
           (double)b->bytes[p] / (1024.0 * 1024.0));
}

/* ---- ceiling: bare consumer ---- */

static double run_ceiling(bench_t *b, int round) {
  char err[512], group[64];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  snprintf(group, sizeof(group), "bench-ceiling-%d", round);
  if (rd_kafka_conf_set(c, "bootstrap.servers", b->bootstrap, err, sizeof(err)) ||
      rd_kafka_conf_set(c, "group.id", group, err, sizeof(err)) ||
      rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err)) ||
      rd_kafka_conf_set(c, "enable.partition.eof", "false", err, sizeof(err)))
    die(err);
  for (size_t i = 0; i < NCONSUMER_PROPS; i++)
    if (rd_kafka_conf_set(c, consumer_props[i][0], consumer_props[i][1], err, sizeof(err)))
      die(err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
  if (!rk)
    die(err);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(rk, parts))
    die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  enum { BATCH = 10000 };
  static rd_kafka_message_t *msgs[BATCH];
  long n = 0;
  int64_t first = 0, last = 0, deadline = eh_now_ms() + 120000;
  while (n < b->records) {
    ssize_t got = rd_kafka_consume_batch_queue(q, 1000, msgs, BATCH);
    if (got < 0)
      die("consume_batch_queue failed");
    for (ssize_t i = 0; i < got; i++) {
      if (!msgs[i]->err) {
        if (n == 0)
          first = eh_now_ms();
        n++;
      }
      rd_kafka_message_destroy(msgs[i]);
    }
    if (eh_now_ms() > deadline)
      die("ceiling consumer: timed out");
  }
  last = eh_now_ms();
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  double secs = (double)(last - first) / 1000.0;
  return secs > 0 ? (double)n / secs : 0;
}

/* ---- eddy: the engine in-process ---- */

static double run_eddy(bench_t *b, int round, uint64_t *applied) {
  char err[512], app[64], data_dir[512];
  snprintf(app, sizeof(app), "bench-%d", round);
  snprintf(data_dir, sizeof(data_dir), "%s/data-%d", b->dir, round);
  ed_view_def_t def;
  memset(&def, 0, sizeof(def));
  def.name = strdup("views_per_user");
  def.from = strdup(TOPIC);
  def.format = ED_FORMAT_JSON;
  def.aggs[0].column = strdup("count");
  def.aggs[0].kind = ED_AGG_COUNT;
  def.naggs = 1;
  ed_kv_t kv[NCONSUMER_PROPS];
  for (size_t i = 0; i < NCONSUMER_PROPS; i++) {
    kv[i].name = (char *)consumer_props[i][0];
    kv[i].value = (char *)consumer_props[i][1];
  }
  ed_engine_conf_t conf;
  memset(&conf, 0, sizeof(conf));
  conf.app = app;
  conf.data_dir = data_dir;
  conf.bootstrap_servers = b->bootstrap;
  conf.commit_interval_ms = 100;
  conf.kafka = kv;
  conf.nkafka = NCONSUMER_PROPS;
  conf.store_opts.no_sync = b->no_sync;
  ed_engine_t *e = NULL;
  ed_topology_t *topo = NULL;
  if (ed_engine_create(&conf, &e, err, sizeof(err)) != ED_OK)
    die(err);
  if (ed_view_compile(&def, app, &topo, err, sizeof(err)) != ED_OK ||
      ed_engine_add_topology(e, topo, NULL, err, sizeof(err)) != ED_OK)
    die(err);
  if (ed_engine_start(e, err, sizeof(err)) != ED_OK)
    die(err);
  ed_view_t *v = ed_engine_find_view(e, def.name, strlen(def.name));
  if (!v)
    die("engine has no view views_per_user");
  int64_t first = 0, last = 0, deadline = eh_now_ms() + 180000;
  for (;;) {
    ed_view_stats_t st;
    ed_view_stats(v, &st);
    int64_t now = eh_now_ms();
    if (!first && st.records_in > 0)
      first = now;
    int done = 0;
    for (int p = 0; p < NPART; p++) {
      ed_store_t *s = ed_view_store(v, p);
      int64_t off = 0;
      if (s && ed_store_meta_get(s, ED_STORE_META_OFFSET, &off) == ED_OK && off >= b->end[p])
        done++;
    }
    if (done == NPART) {
      last = now;
      *applied = st.records_in;
      if (st.bad_records)
        fprintf(stderr, "  (eddy counted %llu bad records)\n", (unsigned long long)st.bad_records);
      break;
    }
    if (now > deadline)
      die("eddy: partitions not caught up within 180 s");
    eh_sleep_ms(1);
  }
  ed_engine_destroy(e);
  ed_view_def_fini(&def);
  eh_rm_rf(data_dir);
  double secs = (double)(last - first) / 1000.0;
  return secs > 0 ? (double)b->records / secs : 0;
}

/* ---- main ---- */

int main(int argc, char **argv) {
  bench_t b;
  memset(&b, 0, sizeof(b));
  b.eddy = getenv("EDDY_BIN");
  b.records = 400000;
  b.users = 100000;
  b.rounds = 3;
  b.compression = "lz4";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--eddy") && next)
      b.eddy = argv[++i];
    else if (!strcmp(a, "--records") && next)
      b.records = atol(argv[++i]);
    else if (!strcmp(a, "--users") && next)
      b.users = atol(argv[++i]);
    else if (!strcmp(a, "--rounds") && next)
      b.rounds = atoi(argv[++i]);
    else if (!strcmp(a, "--compression") && next)
      b.compression = argv[++i];
    else if (!strcmp(a, "--no-sync"))
      b.no_sync = 1;
    else {
      fprintf(stderr, "usage: ingest_bench [--eddy PATH] [--records N] [--users U] [--rounds R]\n"
                      "                    [--compression none|lz4|zstd|...] [--no-sync]\n");
      return 2;
    }
  }
  if (!b.eddy)
    b.eddy = "./server/eddy";
  if (b.rounds < 1 || b.rounds > MAX_ROUNDS || b.records < 1 || b.users < 1)
    die("bad arguments");
  signal(SIGPIPE, SIG_IGN);
  if (eh_tmpdir("eddy-bench-", b.dir, sizeof(b.dir)) != 0)
    die("mkdtemp failed");
  scratch_dir = b.dir;

  eh_proc_t kafka;
  char *kargv[] = {(char *)b.eddy, "dev-kafka", "--partitions", "4", "--topic", TOPIC, NULL};
  if (eh_proc_spawn(&kafka, b.dir, "dev-kafka", kargv) != 0)
    die("cannot start eddy dev-kafka");
  if (eh_proc_first_line(&kafka, b.bootstrap, sizeof(b.bootstrap), 20000) != 0) {
    eh_proc_dump_err(&kafka, "eddy dev-kafka", 4000);
    eh_proc_kill(&kafka, SIGKILL, 0);
    die("eddy dev-kafka printed no bootstrap servers");
  }
  printf("dev-kafka at %s; %ld records, %ld users, %d partitions, %d rounds, LMDB %s\n",
         b.bootstrap, b.records, b.users, NPART, b.rounds, b.no_sync ? "no-sync" : "fsync");
  produce(&b);
  for (int p = 0; p < NPART; p++)
    if (b.bytes[p] > MOCK_PARTITION_BYTES && !strcmp(b.compression, "none"))
      fprintf(stderr, "warning: partition %d holds more than 5 MiB\n", p);

  double ceil_rate[MAX_ROUNDS], eddy_rate[MAX_ROUNDS];
  printf("\n%-6s %16s %16s %8s\n", "round", "ceiling rec/s", "eddy rec/s", "ratio");
  fflush(stdout);
  for (int r = 0; r < b.rounds; r++) {
    uint64_t applied = 0;
    ceil_rate[r] = run_ceiling(&b, r);
    eddy_rate[r] = run_eddy(&b, r, &applied);
    printf("%-6d %16.0f %16.0f %8.2f%s\n", r + 1, ceil_rate[r], eddy_rate[r],
           ceil_rate[r] > 0 ? eddy_rate[r] / ceil_rate[r] : 0.0,
           applied == (uint64_t)b.records ? "" : "  (records_in != records!)");
    fflush(stdout);
  }
  double mc = median(ceil_rate, b.rounds), me = median(eddy_rate, b.rounds);
  printf("%-6s %16.0f %16.0f %8.2f\n", "median", mc, me, mc > 0 ? me / mc : 0.0);

  eh_proc_kill(&kafka, SIGTERM, 5000);
  eh_rm_rf(b.dir);
  return 0;
}
