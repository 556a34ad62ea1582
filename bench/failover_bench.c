/* Scale-out benchmark (issue 5): restoration rate, failover time and the
 * cost of a forwarded lookup, against `eddy dev-kafka` and `eddy serve`
 * processes.
 *
 *   failover_bench [--eddy PATH] [--keys N] [--rounds R] [--lookups N]
 *
 * Starts `eddy dev-kafka --partitions 4 --config` (topics pageviews,
 * fb.users.changelog, fb.members), fills pageviews with N distinct users
 * (`eddy loadgen --sequential`, default 200,000) and runs one instance
 * until its count view `users` holds them all, so the changelog has a row
 * per key. Then:
 *  (i)   restoration, R rounds alternating
 *          ceiling: a bare librdkafka consumer assigned the 4 changelog
 *                   partitions from the beginning (batch API), records /
 *                   (first .. last record);
 *          eddy:    `eddy serve` on an empty data_dir; the sum of its
 *                   "restored N changelog records in M ms" lines over the
 *                   largest M (partitions restore side by side), and the
 *                   wall time from the start of the process to every
 *                   partition "running" in /v1/cluster (group join
 *                   included);
 *  (ii)  failover, R rounds each with num_standby_replicas 0 and 1: three
 *        instances on fresh data_dirs, once the map shows every partition
 *        running (and, with 1, a standby for each), kill -9 of partition
 *        0's owner, then the time until a key of every partition is
 *        answered 200 by a live instance (session.timeout.ms 6000);
 *  (iii) lookup latency, in the standby-0 rounds before the kill: the same
 *        keys (of partitions the owner of partition 0 owns) asked N times
 *        of their owner (local) and of another instance (forwarded),
 *        sequential requests on one keep-alive connection (libcurl),
 *        eddy-served-by checked; median and p99 of each.
 * Prints each round and the medians. See docs/performance.md. */
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "common/murmur2.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NINST 3
#define APP "fb"
#define CHANGELOG APP ".users.changelog"
#define MAX_ROUNDS 15

typedef struct {
  const char *eddy;
  long keys;
  int rounds;
  long lookups;
  char dir[256];
  char bootstrap[256];
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *meta;
  int serial; /* instance directories and ids are unique per start */
} bench_t;

static void die(const char *msg) {
  fprintf(stderr, "failover_bench: %s\n", msg);
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(const double *v, int n) {
  double s[MAX_ROUNDS];
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- instances ---- */

typedef eh_instance_t inst_t;

static void inst_start(bench_t *b, inst_t *in, int standbys) {
  b->serial++;
  char id[32], dir[320];
  snprintf(id, sizeof id, "i%d", b->serial);
  snprintf(dir, sizeof dir, "%s/%s", b->dir, id);
  if (eh_instance_init(in, id, dir, NULL, 0) != 0) die("instance directory or port");
  eh_instance_opts_t o = {.standbys = standbys,
                          .commit_interval_ms = 100,
                          .heartbeat_ms = 500,
                          .http_extra = "ready_max_lag: 0"};
  if (eh_instance_write_config(in, NULL, APP, b->bootstrap, &o,
                               "  users: { from: pageviews, aggregate: count }\n") != 0)
    die("write config");
  if (eh_instance_spawn(in, b->eddy) != 0) die("spawn eddy serve");
}

static void inst_stop(inst_t *in, int sig) {
  if (in->live) eh_instance_stop(in, sig, 20000);
}

/* Waits (up to 120 s) until every live instance's map shows every
 * partition running, the same owners, every instance owning one and
 * (@p standbys) a standby for each partition. */
static void wait_map(bench_t *b, inst_t *all, int nall, int standbys, int *owners) {
  eh_cluster_want_t w = {.npart = NPART, .standbys = standbys, .timeout_ms = 120000, .poll_ms = 50};
  for (int k = 0; k < nall; k++)
    if (all[k].live) w.must_own |= 1u << k;
  const char *why;
  if (eh_cluster_wait(b->http, all, nall, &w, owners, &why) != 0) {
    fprintf(stderr, "failover_bench: %s\n", why);
    die("the cluster map did not converge in 120 s");
  }
}

/* One key per partition: user_<n> with murmur2 partition p. */
static void keys_per_partition(bench_t *b, char keys[NPART][32]) {
  int found = 0;
  for (long n = 0; n < b->keys && found < NPART; n++) {
    char k[32];
    snprintf(k, sizeof k, "user_%ld", n);
    int32_t p = ed_partition_for_key(k, strlen(k), NPART);
    if (keys[p][0] == '\0') {
      snprintf(keys[p], 32, "%s", k);
      found++;
    }
  }
}

/* ---- setup: fill the changelog ---- */

static void topic_ends(bench_t *b, const char *topic, int64_t *lo_max, int64_t *hi_sum) {
  *lo_max = 0;
  *hi_sum = 0;
  for (int p = 0; p < NPART; p++) {
    int64_t lo, hi;
    if (rd_kafka_query_watermark_offsets(b->meta, topic, p, &lo, &hi, 5000)) die("watermarks");
    if (lo > *lo_max) *lo_max = lo;
    *hi_sum += hi;
  }
}

static void fill(bench_t *b) {
  char pre[512], count[32], users[32];
  snprintf(pre, sizeof pre, "%s/topics.yaml", b->dir);
  if (eh_write_file(pre, "app: " APP "\nkafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
                         "views:\n  users: { from: pageviews, aggregate: count }\n") != 0)
    die("write topics.yaml");
  char *kargs[] = {(char *)b->eddy, "dev-kafka", "--partitions", "4", "--config", pre, NULL};
  if (eh_proc_spawn(&b->kafka, b->dir, "dev-kafka", kargs) != 0) die("spawn dev-kafka");
  if (eh_proc_first_line(&b->kafka, b->bootstrap, sizeof b->bootstrap, 20000) != 0)
    die("dev-kafka printed no bootstrap line");
  char err[256];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (rd_kafka_conf_set(c, "bootstrap.servers", b->bootstrap, err, sizeof err)) die(err);
  b->meta = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
  if (!b->meta) die(err);

  snprintf(count, sizeof count, "%ld", b->keys);
  snprintf(users, sizeof users, "%ld", b->keys);
  char *largs[] = {(char *)b->eddy, "loadgen", "--bootstrap",  b->bootstrap, "--topic",
                   "pageviews",     "--users", users,          "--count",    count,
                   "--rate",        "0",       "--sequential", NULL};
  eh_proc_t lg = {0};
  if (eh_proc_spawn(&lg, b->dir, "loadgen", largs) != 0) die("spawn loadgen");
  if (eh_proc_wait(&lg, 300000) != 0) die("eddy loadgen failed");

  inst_t in = {0};
  int64_t t0 = eh_now_ms();
  inst_start(b, &in, 0);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", in.port);
  int64_t lo, hi, prev = -1, stable = 0;
  for (;;) { /* ready (lag 0) and the changelog no longer growing */
    if (!eh_proc_alive(&in.proc)) die("eddy serve (fill) died");
    int st = eh_http_get(b->http, url, 2000, NULL, NULL);
    topic_ends(b, CHANGELOG, &lo, &hi);
    if (st == 200 && hi == prev && hi >= b->keys) {
      if (stable == 0) stable = eh_now_ms();
      if (eh_now_ms() - stable > 1000) break;
    } else {
      stable = 0;
    }
    prev = hi;
    if (eh_now_ms() - t0 > 300000) die("the fill instance did not finish in 300 s");
    eh_sleep_ms(100);
  }
  inst_stop(&in, SIGTERM);
  topic_ends(b, CHANGELOG, &lo, &hi);
  if (lo != 0) die("the mock dropped changelog records (low watermark > 0): use fewer --keys");
  printf("changelog %s: %lld records over %d partitions (%ld keys), filled in %lld ms\n", CHANGELOG,
         (long long)hi, NPART, b->keys, (long long)(eh_now_ms() - t0));
}

/* ---- (i) restoration ---- */

static double run_ceiling(bench_t *b, int64_t total) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (rd_kafka_conf_set(c, "bootstrap.servers", b->bootstrap, err, sizeof err) ||
      rd_kafka_conf_set(c, "group.id", "fb-ceiling", err, sizeof err) ||
      rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof err) ||
      rd_kafka_conf_set(c, "queued.min.messages", "1000000", err, sizeof err) ||
      rd_kafka_conf_set(c, "queued.max.messages.kbytes", "1048576", err, sizeof err) ||
      rd_kafka_conf_set(c, "fetch.wait.max.ms", "10", err, sizeof err))
    die(err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
  if (!rk) die(err);
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(parts, CHANGELOG, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_assign(rk, parts)) die("assign failed");
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(rk);
  enum { BATCH = 10000 };
  static rd_kafka_message_t *msgs[BATCH];
  int64_t n = 0, first = 0, deadline = eh_now_ms() + 120000;
  while (n < total) {
    /* a short timeout: the batch call waits for a full batch or the
     * timeout, which would otherwise count as reading time at the end */
    ssize_t got = rd_kafka_consume_batch_queue(q, 1, msgs, BATCH);
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
  int64_t last = eh_now_ms();
  if (n != total) die("ceiling consumer: more records than the changelog holds");
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return last > first ? (double)n * 1000.0 / (double)(last - first) : 0;
}

/* Starts an instance on an empty data_dir; returns the restore rate from
 * its log lines and the wall time to every partition running in *wall_ms. */
static double run_restore(bench_t *b, double *wall_ms, int64_t *restored_out) {
  inst_t in = {0};
  int64_t t0 = eh_now_ms();
  inst_start(b, &in, 0);
  int owners[NPART];
  wait_map(b, &in, 1, 0, owners);
  *wall_ms = (double)(eh_now_ms() - t0);
  inst_stop(&in, SIGTERM);
  char *log = eh_read_file(in.proc.err_path, NULL);
  if (!log) die("no log");
  int64_t restored = 0, max_ms = 0;
  int lines = 0;
  for (const char *s = log; (s = strstr(s, ": restored ")) != NULL; s++) {
    long long n, ms;
    if (sscanf(s, ": restored %lld changelog records in %lld ms", &n, &ms) == 2) {
      restored += n;
      if (ms > max_ms) max_ms = ms;
      lines++;
    }
  }
  free(log);
  if (lines != NPART) die("expected a \"restored\" line per partition");
  *restored_out = restored;
  eh_rm_rf(in.dir);
  return max_ms > 0 ? (double)restored * 1000.0 / (double)max_ms : 0;
}

/* ---- (iii) lookups ---- */

typedef struct {
  char served_by[64];
} hdr_t;

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  hdr_t *h = arg;
  size_t m = size * n;
  static const char name[] = "eddy-served-by: ";
  if (m > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
    size_t vl = m - (sizeof name - 1);
    while (vl > 0 && (p[sizeof name - 1 + vl - 1] == '\r' || p[sizeof name - 1 + vl - 1] == '\n'))
      vl--;
    snprintf(h->served_by, sizeof h->served_by, "%.*s", (int)vl, p + sizeof name - 1);
  }
  return m;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Asks @p n lookups of @p keys (round robin) of instance @p in; checks
 * eddy-served-by is @p owner; median and p99 in microseconds. */
static void lookups(bench_t *b, const inst_t *in, const char *owner, char (*keys)[32], int nkeys,
                    double *med_us, double *p99_us) {
  CURL *c = curl_easy_init();
  hdr_t h;
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  int64_t *lat = malloc((size_t)b->lookups * sizeof *lat);
  if (!lat) die("malloc");
  char url[256];
  for (long i = -100; i < b->lookups; i++) { /* 100 warm-up requests */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/users/keys/%s", in->port,
             keys[(i + 100) % nkeys]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    h.served_by[0] = '\0';
    struct timespec a, z;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    clock_gettime(CLOCK_MONOTONIC, &z);
    if (st != 200 || strcmp(h.served_by, owner) != 0) {
      fprintf(stderr, "GET %s: status %ld served by '%s' (want %s)\n", url, st, h.served_by, owner);
      die("lookup failed");
    }
    if (i >= 0) lat[i] = (int64_t)(z.tv_sec - a.tv_sec) * 1000000000 + (z.tv_nsec - a.tv_nsec);
  }
  curl_easy_cleanup(c);
  qsort(lat, (size_t)b->lookups, sizeof *lat, cmp_i64);
  *med_us = (double)lat[b->lookups / 2] / 1000.0;
  *p99_us = (double)lat[b->lookups * 99 / 100] / 1000.0;
  free(lat);
}

/* ---- (ii) failover ---- */

typedef struct {
  double failover_ms;
  double local_med, local_p99, fwd_med, fwd_p99; /* microseconds; standby 0 only */
} fo_result_t;

static void run_failover(bench_t *b, int standbys, int measure_lookups, fo_result_t *res) {
  inst_t in[NINST];
  memset(in, 0, sizeof in);
  for (int k = 0; k < NINST; k++)
    inst_start(b, &in[k], standbys);
  int owners[NPART];
  wait_map(b, in, NINST, standbys, owners);
  char keys[NPART][32];
  memset(keys, 0, sizeof keys);
  keys_per_partition(b, keys);
  int victim = owners[0];
  if (measure_lookups) {
    char mine[NPART][32];
    int n = 0;
    for (int p = 0; p < NPART; p++)
      if (owners[p] == victim) memcpy(mine[n++], keys[p], sizeof mine[0]);
    int other = (victim + 1) % NINST;
    lookups(b, &in[victim], in[victim].id, mine, n, &res->local_med, &res->local_p99);
    lookups(b, &in[other], in[victim].id, mine, n, &res->fwd_med, &res->fwd_p99);
  }
  int64_t t_kill = eh_now_ms();
  inst_stop(&in[victim], SIGKILL);
  int served[NPART] = {0}, left = NPART;
  int asker = (victim + 1) % NINST;
  while (left > 0) {
    for (int p = 0; p < NPART; p++) {
      if (served[p]) continue;
      char url[256];
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/users/keys/%s", in[asker].port,
               keys[p]);
      if (eh_http_get(b->http, url, 5000, NULL, NULL) == 200) {
        served[p] = 1;
        left--;
      }
    }
    if (eh_now_ms() - t_kill > 180000) die("partitions not served within 180 s of the kill");
    if (left) eh_sleep_ms(10);
  }
  res->failover_ms = (double)(eh_now_ms() - t_kill);
  for (int k = 0; k < NINST; k++) {
    inst_stop(&in[k], SIGTERM);
    eh_rm_rf(in[k].dir);
  }
}

/* ---- main ---- */

static void usage(void) {
  fprintf(stderr, "usage: failover_bench [--eddy PATH] [--keys N] [--rounds R] [--lookups N] "
                  "[--restore-only]\n");
  exit(2);
}

int main(int argc, char **argv) {
  bench_t b = {0};
  b.eddy = getenv("EDDY_BIN") ? getenv("EDDY_BIN") : "./server/eddy";
  b.keys = 200000;
  b.rounds = 3;
  b.lookups = 5000;
  int restore_only = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--eddy") == 0 && i + 1 < argc)
      b.eddy = argv[++i];
    else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
      b.keys = atol(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      b.rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc)
      b.lookups = atol(argv[++i]);
    else if (strcmp(argv[i], "--restore-only") == 0)
      restore_only = 1;
    else
      usage();
  }
  if (b.keys < 1000 || b.rounds < 1 || b.rounds > MAX_ROUNDS || b.lookups < 100) usage();
  setenv("EDDY_BIN", b.eddy, 1);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (eh_tmpdir("eddy-fobench-", b.dir, sizeof b.dir) != 0) die("tmpdir");
  b.http = eh_http_create();
  fill(&b);
  int64_t lo, total;
  topic_ends(&b, CHANGELOG, &lo, &total);

  double ceil_rate[MAX_ROUNDS], rest_rate[MAX_ROUNDS], rest_wall[MAX_ROUNDS];
  printf("\n(i) restoration of %lld changelog records on an empty data_dir\n", (long long)total);
  printf("%-6s %16s %16s %8s %14s\n", "round", "ceiling rec/s", "restore rec/s", "ratio",
         "start→running");
  for (int r = 0; r < b.rounds; r++) {
    int64_t restored;
    ceil_rate[r] = run_ceiling(&b, total);
    rest_rate[r] = run_restore(&b, &rest_wall[r], &restored);
    printf("%-6d %16.0f %16.0f %8.2f %11.0f ms  (%lld restored)\n", r + 1, ceil_rate[r],
           rest_rate[r], rest_rate[r] / ceil_rate[r], rest_wall[r], (long long)restored);
    fflush(stdout);
  }

  if (restore_only) {
    printf("\nrestore: %.0f rec/s vs ceiling %.0f rec/s (ratio %.2f, medians of %d)\n",
           median(rest_rate, b.rounds), median(ceil_rate, b.rounds),
           median(rest_rate, b.rounds) / median(ceil_rate, b.rounds), b.rounds);
    b.rounds = 0;
  }
  double fo[2][MAX_ROUNDS], lm[MAX_ROUNDS], lp[MAX_ROUNDS], fm[MAX_ROUNDS], fp[MAX_ROUNDS];
  printf("\n(ii) kill -9 of an owner to every partition served (3 instances, "
         "session.timeout.ms 6000)\n(iii) lookups, %ld per side, sequential on one keep-alive "
         "connection, microseconds\n",
         b.lookups);
  printf("%-6s %14s %14s %12s %12s %12s %12s\n", "round", "standbys 0", "standbys 1", "local p50",
         "local p99", "fwd p50", "fwd p99");
  for (int r = 0; r < b.rounds; r++) {
    fo_result_t r0 = {0}, r1 = {0};
    run_failover(&b, 0, 1, &r0);
    run_failover(&b, 1, 0, &r1);
    fo[0][r] = r0.failover_ms;
    fo[1][r] = r1.failover_ms;
    lm[r] = r0.local_med;
    lp[r] = r0.local_p99;
    fm[r] = r0.fwd_med;
    fp[r] = r0.fwd_p99;
    printf("%-6d %11.0f ms %11.0f ms %12.0f %12.0f %12.0f %12.0f\n", r + 1, fo[0][r], fo[1][r],
           lm[r], lp[r], fm[r], fp[r]);
    fflush(stdout);
  }

  if (restore_only) goto done;
  printf("\nsummary (medians of %d rounds)\n", b.rounds);
  printf("  restore: %.0f rec/s vs ceiling %.0f rec/s (ratio %.2f); start to running %.0f ms\n",
         median(rest_rate, b.rounds), median(ceil_rate, b.rounds),
         median(rest_rate, b.rounds) / median(ceil_rate, b.rounds), median(rest_wall, b.rounds));
  printf("  kill -9 to all served: %.0f ms without standbys, %.0f ms with 1 standby\n",
         median(fo[0], b.rounds), median(fo[1], b.rounds));
  printf("  lookup local p50 %.0f us p99 %.0f us; forwarded p50 %.0f us p99 %.0f us "
         "(ratio p50 %.2f, +%.0f us)\n",
         median(lm, b.rounds), median(lp, b.rounds), median(fm, b.rounds), median(fp, b.rounds),
         median(fm, b.rounds) / median(lm, b.rounds), median(fm, b.rounds) - median(lm, b.rounds));

done:
  rd_kafka_destroy(b.meta);
  eh_proc_kill(&b.kafka, SIGTERM, 5000);
  eh_http_destroy(b.http);
  eh_rm_rf(b.dir);
  curl_global_cleanup();
  return 0;
}
