/* Ingest benchmark: how fast does the engine turn a topic into a table,
 * compared with the fastest a bare librdkafka consumer reads the same topic?
 *
 *   ingest_bench [--eddy PATH] [--view count|windowed|repartitioned|all]
 *                [--records N] [--users U] [--pages P] [--span-s S]
 *                [--rounds R] [--compression none|lz4|...] [--no-sync]
 *                [--kafka NAME=VALUE ...]
 *
 * Starts `eddy dev-kafka --partitions 4 --topic pageviews` (PATH, or $EDDY_BIN,
 * or ./server/eddy; plus `--topic bench-N.views_per_page.repartition` for
 * every round N when the repartitioned view runs), fills the topic once with
 * page-view JSON records keyed by user (murmur2 partitioner) whose Kafka
 * timestamps (and "ts" fields) are spread evenly over S seconds, then for
 * each selected view alternates R times:
 *   ceiling: a consumer assigned all partitions from the beginning (no group),
 *            batch API, counting records; rate = records / (first..last record)
 *   eddy:    an in-process engine (streams/engine.h) with the one view on a
 *            fresh data_dir; rate = records / (first record entering the
 *            view's topology .. the view's state complete in LMDB)
 * The views:
 *   count          views_per_user: `aggregate: count` by the record key (user);
 *                  complete when every partition's committed offset
 *                  (ED_STORE_META_OFFSET) reaches the partition's end offset
 *   windowed       views_per_user_minute: the same with
 *                  `window: { type: tumbling, size: 1m }` over the Kafka
 *                  timestamps; same completion
 *   repartitioned  views_per_page: `key: page`, count, so through the topic
 *                  bench-N.views_per_page.repartition; complete when the
 *                  counts committed in the 4 stores sum to the record count
 * and prints each round, the medians and a summary. See docs/performance.md. */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/compile.h"
#include "streams/engine.h"
#include "streams/view.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define TOPIC "pageviews"
#define MAX_ROUNDS 15
#define MAX_EXTRA 16
/* The mock keeps about 5 MiB per partition and drops older batches. */
#define MOCK_PARTITION_BYTES (5 * 1024 * 1024)

typedef enum { V_COUNT = 0, V_WINDOWED, V_REPARTITIONED, NVIEWS } view_kind_t;

static const char *const view_kind_names[NVIEWS] = {"count", "windowed", "repartitioned"};
static const char *const view_names[NVIEWS] = {"views_per_user", "views_per_user_minute",
                                               "views_per_page"};
static const char *const view_descs[NVIEWS] = {
    "aggregate: count, grouped by the record key (user)",
    "aggregate: count, by user, window: { type: tumbling, size: 1m }",
    "aggregate: count, key: page (through the repartition topic)"};

#define TS_BASE 1700000000000LL

typedef struct {
  const char *eddy;
  long records;
  long users;
  long pages;
  long span_s; /* record timestamps spread over this many seconds */
  int rounds;
  int views[NVIEWS]; /* which views to run */
  const char *compression;
  int no_sync;
  char bootstrap[256];
  char dir[256];
  int64_t end[NPART];
  int64_t bytes[NPART];     /* key + value bytes produced per partition */
  rd_kafka_t *meta;         /* a client for watermark queries */
  ed_kv_t extra[MAX_EXTRA]; /* --kafka NAME=VALUE: more properties for eddy's clients */
  int nextra;
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
  if (scratch_dir) eh_rm_rf(scratch_dir);
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
    if (m->offset + 1 > b->end[m->partition]) b->end[m->partition] = m->offset + 1;
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
  if (!rk) die(err);
  uint64_t s = 42;
  int64_t t0 = eh_now_ms();
  for (long i = 0; i < b->records; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    long user = (long)((s >> 33) % (uint64_t)b->users);
    long page = (long)((s >> 13) % (uint64_t)b->pages);
    /* Evenly over span_s seconds, ascending: each partition is in
     * timestamp order, so no windowed record is late. */
    int64_t ts = TS_BASE + (int64_t)((double)i * (double)b->span_s * 1000.0 / (double)b->records);
    char key[32], val[128];
    int kl = snprintf(key, sizeof(key), "user_%ld", user);
    int vl = snprintf(val, sizeof(val), "{\"user\":\"user_%ld\",\"page\":\"/p/%ld\",\"ts\":%lld}",
                      user, page, (long long)ts);
    for (;;) {
      rd_kafka_resp_err_t e =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(TOPIC), RD_KAFKA_V_KEY(key, (size_t)kl),
                            RD_KAFKA_V_VALUE(val, (size_t)vl), RD_KAFKA_V_TIMESTAMP(ts),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e) die(rd_kafka_err2str(e));
      break;
    }
    if (i % 1000 == 0) rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("flush timed out");
  int64_t ms = eh_now_ms() - t0;
  /* Nothing may have been dropped by the mock's retention. */
  for (int p = 0; p < NPART; p++) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, TOPIC, p, &lo, &hi, 10000);
    if (e) die(rd_kafka_err2str(e));
    if (lo != 0 || hi != b->end[p]) {
      fprintf(stderr, "partition %d: watermarks %lld..%lld, produced up to %lld\n", p,
              (long long)lo, (long long)hi, (long long)b->end[p]);
      die("the mock dropped records (over ~5 MiB per partition): use fewer --records or "
          "--compression lz4");
    }
  }
  b->meta = rk; /* kept for watermark queries */
  printf("produced %ld records over %ld users and %ld pages in %lld ms (%.0f records/s), "
         "compression %s, timestamps over %ld s\n",
         b->records, b->users, b->pages, (long long)ms, ms ? b->records * 1000.0 / (double)ms : 0.0,
         b->compression, b->span_s);
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
  if (!rk) die(err);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(rk, parts)) die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  enum { BATCH = 10000 };
  static rd_kafka_message_t *msgs[BATCH];
  long n = 0;
  int64_t first = 0, last = 0, deadline = eh_now_ms() + 120000;
  while (n < b->records) {
    ssize_t got = rd_kafka_consume_batch_queue(q, 1000, msgs, BATCH);
    if (got < 0) die("consume_batch_queue failed");
    for (ssize_t i = 0; i < got; i++) {
      if (!msgs[i]->err) {
        if (n == 0) first = eh_now_ms();
        n++;
      }
      rd_kafka_message_destroy(msgs[i]);
    }
    if (eh_now_ms() > deadline) die("ceiling consumer: timed out");
  }
  last = eh_now_ms();
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  double secs = (double)(last - first) / 1000.0;
  return secs > 0 ? (double)n / secs : 0;
}

/* ---- eddy: the engine in-process ---- */

/* The repartition topic of round @p round's repartitioned view. */
static void repartition_topic(int round, char *out, size_t cap) {
  snprintf(out, cap, "bench-%d.%s.repartition", round, view_names[V_REPARTITIONED]);
}

/* Sum of the count column over every committed row of every partition's
 * store (-1 if a store is not open yet or a row does not decode); *rows
 * gets the number of rows. */
static int64_t committed_count(ed_view_t *v, uint64_t *rows) {
  int64_t sum = 0;
  *rows = 0;
  for (int32_t p = 0; p < ed_view_partition_count(v); p++) {
    ed_store_t *s = ed_view_store(v, p);
    if (!s) return -1;
    ed_store_read_t r;
    if (ed_store_read_begin(s, &r) != ED_OK) {
      ed_store_read_end(&r);
      return -1;
    }
    ed_store_iter_t it;
    const void *k, *val;
    size_t kl, vl;
    int bad = ed_store_iter_seek(&r, &it, NULL, 0) != ED_OK;
    while (!bad && ed_store_iter_next(&it, &k, &kl, &val, &vl) == ED_OK) {
      ed_col_t cols[ED_ROW_MAX_COLS];
      size_t n = 0;
      if (ed_row_decode(val, vl, cols, ED_ROW_MAX_COLS, &n) != ED_OK || n < 1 ||
          cols[0].type != ED_COL_INT)
        bad = 1;
      else
        sum += cols[0].v.i, (*rows)++;
    }
    ed_store_iter_close(&it);
    ed_store_read_end(&r);
    if (bad) return -1;
  }
  return sum;
}

/* Rows over every partition's store. */
static uint64_t store_rows(ed_view_t *v) {
  uint64_t total = 0, n;
  for (int32_t p = 0; p < ed_view_partition_count(v); p++) {
    ed_store_t *s = ed_view_store(v, p);
    if (s && ed_store_row_count(s, &n) == ED_OK) total += n;
  }
  return total;
}

/* Low and high watermarks summed over the partitions of @p topic; *lo_max
 * gets the highest low watermark (> 0: the mock's retention dropped some). */
static void topic_watermarks(bench_t *b, const char *topic, int64_t *lo_max, int64_t *hi_sum) {
  *lo_max = 0;
  *hi_sum = 0;
  for (int p = 0; p < NPART; p++) {
    int64_t lo = -1, hi = -1;
    if (rd_kafka_query_watermark_offsets(b->meta, topic, p, &lo, &hi, 10000)) continue;
    if (lo > *lo_max) *lo_max = lo;
    *hi_sum += hi;
  }
}

typedef struct {
  uint64_t applied; /* ed_view_stats().records_in at the end */
  uint64_t expect;  /* what it should be */
  uint64_t rows;    /* rows in the view's stores at the end */
  uint64_t bad, late;
  int64_t rep_lo_max, rep_hi; /* repartitioned: the repartition topic's watermarks */
} eddy_result_t;

static double run_eddy(bench_t *b, view_kind_t kind, int round, eddy_result_t *res) {
  char err[512], app[64], data_dir[512];
  memset(res, 0, sizeof(*res));
  snprintf(app, sizeof(app), "bench-%d", round);
  snprintf(data_dir, sizeof(data_dir), "%s/data-%s-%d", b->dir, view_kind_names[kind], round);
  ed_view_def_t def;
  memset(&def, 0, sizeof(def));
  def.name = strdup(view_names[kind]);
  def.from = strdup(TOPIC);
  def.format = ED_FORMAT_JSON;
  def.aggs[0].column = strdup("count");
  def.aggs[0].kind = ED_AGG_COUNT;
  def.naggs = 1;
  if (kind == V_WINDOWED) {
    def.window.type = ED_WIN_TUMBLING;
    def.window.size = 60000;
    if (ed_window_spec_check(&def.window, err, sizeof(err)) != ED_OK) die(err);
  } else if (kind == V_REPARTITIONED) {
    def.key = strdup("page");
  }
  /* The repartitioned view's topology has two sub-topologies; a record
   * enters both (the source, then the repartition topic). */
  res->expect = (uint64_t)b->records * (kind == V_REPARTITIONED ? 2 : 1);
  ed_kv_t kv[NCONSUMER_PROPS + MAX_EXTRA];
  size_t nkv = 0;
  for (size_t i = 0; i < NCONSUMER_PROPS; i++, nkv++) {
    kv[nkv].name = (char *)consumer_props[i][0];
    kv[nkv].value = (char *)consumer_props[i][1];
  }
  for (int i = 0; i < b->nextra; i++, nkv++)
    kv[nkv] = b->extra[i];
  ed_engine_conf_t conf;
  memset(&conf, 0, sizeof(conf));
  conf.app = app;
  conf.data_dir = data_dir;
  conf.bootstrap_servers = b->bootstrap;
  conf.commit_interval_ms = 100;
  conf.kafka = kv;
  conf.nkafka = nkv;
  conf.store_opts.no_sync = b->no_sync;
  ed_engine_t *e = NULL;
  ed_topology_t *topo = NULL;
  if (ed_engine_create(&conf, &e, err, sizeof(err)) != ED_OK) die(err);
  if (ed_view_compile(&def, app, &topo, err, sizeof(err)) != ED_OK ||
      ed_engine_add_topology(e, topo, NULL, err, sizeof(err)) != ED_OK)
    die(err);
  if (ed_engine_start(e, err, sizeof(err)) != ED_OK) die(err);
  ed_view_t *v = ed_engine_find_view(e, def.name, strlen(def.name));
  if (!v) die("engine has no view");
  int64_t first = 0, last = 0, deadline = eh_now_ms() + 180000;
  for (;;) {
    ed_view_stats_t st;
    ed_view_stats(v, &st);
    int64_t now = eh_now_ms();
    if (!first && st.records_in > 0) first = now;
    int done = 0;
    if (kind == V_REPARTITIONED) {
      /* Every record counted once in a committed row: the state is
       * complete, whatever the repartition topic's offsets. */
      uint64_t rows;
      int64_t sum = first ? committed_count(v, &rows) : -1;
      if (sum > b->records) die("repartitioned: the committed counts exceed the records produced");
      done = sum == b->records;
    } else {
      int ok = 0;
      for (int p = 0; p < NPART; p++) {
        ed_store_t *s = ed_view_store(v, p);
        int64_t off = 0;
        if (s && ed_store_meta_get(s, ED_STORE_META_OFFSET, &off) == ED_OK && off >= b->end[p])
          ok++;
      }
      done = ok == NPART;
    }
    if (done) {
      last = now;
      res->applied = st.records_in;
      res->bad = st.bad_records;
      res->late = st.late_records;
      break;
    }
    if (now > deadline) {
      if (kind == V_REPARTITIONED) {
        char topic[256];
        uint64_t rows;
        repartition_topic(round, topic, sizeof(topic));
        topic_watermarks(b, topic, &res->rep_lo_max, &res->rep_hi);
        fprintf(stderr,
                "  repartitioned: records_in %llu, committed count %lld, repartition topic "
                "high watermarks sum %lld, highest low watermark %lld\n",
                (unsigned long long)st.records_in, (long long)committed_count(v, &rows),
                (long long)res->rep_hi, (long long)res->rep_lo_max);
      }
      die("eddy: the view's state not complete within 180 s");
    }
    eh_sleep_ms(1);
  }
  res->rows = store_rows(v);
  ed_engine_destroy(e);
  if (kind == V_REPARTITIONED) {
    char topic[256];
    repartition_topic(round, topic, sizeof(topic));
    topic_watermarks(b, topic, &res->rep_lo_max, &res->rep_hi);
  }
  ed_view_def_fini(&def);
  eh_rm_rf(data_dir);
  double secs = (double)(last - first) / 1000.0;
  return secs > 0 ? (double)b->records / secs : 0;
}

/* ---- main ---- */

static void usage(void) {
  fprintf(stderr,
          "usage: ingest_bench [--eddy PATH] [--view count|windowed|repartitioned|all]\n"
          "                    [--records N] [--users U] [--pages P] [--span-s S] [--rounds R]\n"
          "                    [--compression none|lz4|zstd|...] [--no-sync]\n"
          "                    [--kafka NAME=VALUE ...]  (more librdkafka properties for eddy)\n");
}

int main(int argc, char **argv) {
  bench_t b;
  memset(&b, 0, sizeof(b));
  b.eddy = getenv("EDDY_BIN");
  b.records = 400000;
  b.users = 100000;
  b.pages = 50;
  b.span_s = 600;
  b.rounds = 3;
  b.compression = "lz4";
  const char *view = "all";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--eddy") && next)
      b.eddy = argv[++i];
    else if (!strcmp(a, "--view") && next)
      view = argv[++i];
    else if (!strcmp(a, "--records") && next)
      b.records = atol(argv[++i]);
    else if (!strcmp(a, "--users") && next)
      b.users = atol(argv[++i]);
    else if (!strcmp(a, "--pages") && next)
      b.pages = atol(argv[++i]);
    else if (!strcmp(a, "--span-s") && next)
      b.span_s = atol(argv[++i]);
    else if (!strcmp(a, "--rounds") && next)
      b.rounds = atoi(argv[++i]);
    else if (!strcmp(a, "--compression") && next)
      b.compression = argv[++i];
    else if (!strcmp(a, "--no-sync"))
      b.no_sync = 1;
    else if (!strcmp(a, "--kafka") && next && strchr(next, '=') && b.nextra < MAX_EXTRA) {
      char *nv = argv[++i], *eq = strchr(nv, '=');
      *eq = '\0';
      b.extra[b.nextra].name = nv;
      b.extra[b.nextra++].value = eq + 1;
    } else {
      usage();
      return 2;
    }
  }
  int nviews = 0;
  for (int k = 0; k < NVIEWS; k++) {
    b.views[k] = !strcmp(view, "all") || !strcmp(view, view_kind_names[k]);
    nviews += b.views[k];
  }
  if (!nviews) {
    usage();
    return 2;
  }
  if (!b.eddy) b.eddy = "./server/eddy";
  if (b.rounds < 1 || b.rounds > MAX_ROUNDS || b.records < 1 || b.users < 1 || b.pages < 1 ||
      b.span_s < 0)
    die("bad arguments");
  signal(SIGPIPE, SIG_IGN);
  if (eh_tmpdir("eddy-bench-", b.dir, sizeof(b.dir)) != 0) die("mkdtemp failed");
  scratch_dir = b.dir;

  /* dev-kafka with the source and, for the repartitioned view, one
   * repartition topic per round (each round is a fresh app). */
  eh_proc_t kafka;
  char rtopics[MAX_ROUNDS][256], ctopics[MAX_ROUNDS * 3][256];
  char *kargv[6 + 2 * MAX_ROUNDS + 6 * MAX_ROUNDS + 1];
  int ka = 0;
  kargv[ka++] = (char *)b.eddy;
  kargv[ka++] = "dev-kafka";
  kargv[ka++] = "--partitions";
  kargv[ka++] = "4";
  kargv[ka++] = "--topic";
  kargv[ka++] = TOPIC;
  if (b.views[V_REPARTITIONED])
    for (int r = 0; r < b.rounds; r++) {
      repartition_topic(r, rtopics[r], sizeof(rtopics[r]));
      kargv[ka++] = "--topic";
      kargv[ka++] = rtopics[r];
    }
  /* Each round's views write changelogs. */
  int nc = 0;
  for (int r = 0; r < b.rounds; r++)
    for (int k = 0; k < 3; k++) {
      if (!b.views[k]) continue;
      snprintf(ctopics[nc], sizeof ctopics[nc], "bench-%d.%s.changelog", r, view_names[k]);
      kargv[ka++] = "--topic";
      kargv[ka++] = ctopics[nc++];
    }
  kargv[ka] = NULL;
  if (eh_proc_spawn(&kafka, b.dir, "dev-kafka", kargv) != 0) die("cannot start eddy dev-kafka");
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

  double med_ceil[NVIEWS], med_eddy[NVIEWS];
  for (int k = 0; k < NVIEWS; k++) {
    if (!b.views[k]) continue;
    double ceil_rate[MAX_ROUNDS], eddy_rate[MAX_ROUNDS];
    eddy_result_t res;
    printf("\nview %s (%s): %s\n", view_kind_names[k], view_names[k], view_descs[k]);
    printf("%-6s %16s %16s %8s\n", "round", "ceiling rec/s", "eddy rec/s", "ratio");
    fflush(stdout);
    for (int r = 0; r < b.rounds; r++) {
      ceil_rate[r] = run_ceiling(&b, r);
      eddy_rate[r] = run_eddy(&b, (view_kind_t)k, r, &res);
      printf("%-6d %16.0f %16.0f %8.2f%s\n", r + 1, ceil_rate[r], eddy_rate[r],
             ceil_rate[r] > 0 ? eddy_rate[r] / ceil_rate[r] : 0.0,
             res.applied == res.expect ? "" : "  (records_in != records!)");
      if (res.bad || res.late)
        printf("       (eddy counted %llu bad and %llu late records)\n",
               (unsigned long long)res.bad, (unsigned long long)res.late);
      if (k == V_REPARTITIONED && (res.rep_lo_max > 0 || res.rep_hi != b.records))
        printf("       (repartition topic: high watermarks sum to %lld, highest low "
               "watermark %lld)\n",
               (long long)res.rep_hi, (long long)res.rep_lo_max);
      fflush(stdout);
    }
    med_ceil[k] = median(ceil_rate, b.rounds);
    med_eddy[k] = median(eddy_rate, b.rounds);
    printf("%-6s %16.0f %16.0f %8.2f\n", "median", med_ceil[k], med_eddy[k],
           med_ceil[k] > 0 ? med_eddy[k] / med_ceil[k] : 0.0);
    printf("  rows in the view's stores: %llu (%.2f records per row)\n",
           (unsigned long long)res.rows, res.rows ? (double)b.records / (double)res.rows : 0.0);
    fflush(stdout);
  }
  if (nviews > 1) {
    printf("\n%-14s %16s %16s %8s\n", "summary", "ceiling rec/s", "eddy rec/s", "ratio");
    for (int k = 0; k < NVIEWS; k++)
      if (b.views[k])
        printf("%-14s %16.0f %16.0f %8.2f\n", view_kind_names[k], med_ceil[k], med_eddy[k],
               med_ceil[k] > 0 ? med_eddy[k] / med_ceil[k] : 0.0);
  }

  rd_kafka_destroy(b.meta);
  eh_proc_kill(&kafka, SIGTERM, 5000);
  eh_rm_rf(b.dir);
  return 0;
}
