/* Client benchmark (issue 6): key lookups per second through libeddy with
 * direct routing versus the same lookups sent through a non-owner instance,
 * against `eddy dev-kafka` and two `eddy serve` processes.
 *
 *   client_bench [--eddy PATH] [--keys N] [--rounds R] [--lookups N]
 *
 * Starts `eddy dev-kafka --partitions 4` (topics from the config), fills
 * pageviews with N distinct users (`eddy loadgen --sequential`, default
 * 100,000; one record each), starts instances a and b with a count view
 * `users` and waits until both own partitions, both are ready (lag 0) and
 * a sample of keys answers. The lookups: keys of the partitions b owns,
 * drawn at random. Two clients on the same seed (a):
 *   direct:    default options: each get goes straight to b (the map);
 *   forwarded: direct_routing = -1: each get goes to a, which forwards it
 *              to b (checked: a's eddy_forwarded_requests_total grows by
 *              the number of lookups).
 * R rounds; in each, for 1 and 4 threads (one client handle shared by the
 * threads, as a service would), both clients in turn (order alternating by
 * round) do the same lookups; lookups/s = lookups / wall time. Prints each
 * round and the medians. See docs/performance.md. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eddy/client.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NINST 2
#define MAX_ROUNDS 15
#define MAX_THREADS 4

typedef struct {
  const char *eddy;
  long keys, lookups;
  int rounds;
  char dir[256], bootstrap[256];
  eh_proc_t kafka;
  eh_http_t *http;
  eh_instance_t in[NINST];
  char (*lk)[24]; /* the lookup keys */
} bench_t;

static void die(const char *msg) {
  fprintf(stderr, "client_bench: %s\n", msg);
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void inst_start(bench_t *b, int k) {
  eh_instance_t *in = &b->in[k];
  char id[8], dir[320];
  snprintf(id, sizeof id, "%c", 'a' + k);
  snprintf(dir, sizeof dir, "%s/%s", b->dir, id);
  if (eh_instance_init(in, id, dir, b->in, k) != 0) die("instance directory or port");
  eh_instance_opts_t o = {
      .commit_interval_ms = 100, .heartbeat_ms = 500, .http_extra = "ready_max_lag: 0"};
  if (eh_instance_write_config(in, NULL, "cb", b->bootstrap, &o,
                               "  users: { from: pageviews, aggregate: count }\n") != 0)
    die("write config");
  if (eh_instance_spawn(in, b->eddy) != 0) die("spawn eddy serve");
}

static long forwarded(bench_t *b, int k) {
  long n = eh_forwarded_total(b->http, &b->in[k]);
  if (n < 0) die("metrics");
  return n;
}

/* ---- the lookups ---- */

typedef struct {
  eddy_client_t *c;
  char (*keys)[24];
  long from, to;
  long errors;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  for (long i = w->from; i < w->to; i++) {
    eddy_row_t *r = NULL;
    if (eddy_get(w->c, "users", w->keys[i], strlen(w->keys[i]), NULL, &r) != EDDY_OK) w->errors++;
    eddy_row_destroy(r);
  }
  return NULL;
}

/* Lookups per second of @p n gets over @p threads threads on @p c. */
static double run(eddy_client_t *c, char (*keys)[24], long n, int threads) {
  pthread_t th[MAX_THREADS];
  worker_t w[MAX_THREADS];
  int64_t t0 = eh_now_ms();
  for (int i = 0; i < threads; i++) {
    w[i] = (worker_t){.c = c, .keys = keys, .from = n * i / threads, .to = n * (i + 1) / threads};
    if (pthread_create(&th[i], NULL, worker, &w[i]) != 0) die("pthread_create");
  }
  long errors = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    errors += w[i].errors;
  }
  int64_t ms = eh_now_ms() - t0;
  if (errors) {
    fprintf(stderr, "%ld failed lookups: %s\n", errors, eddy_last_error(c));
    die("lookups failed");
  }
  return (double)n * 1000.0 / (double)(ms > 0 ? ms : 1);
}

static void setup(bench_t *b) {
  char pre[512], count[32];
  snprintf(pre, sizeof pre, "%s/topics.yaml", b->dir);
  if (eh_write_file(pre, "app: cb\nkafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
                         "views:\n  users: { from: pageviews, aggregate: count }\n") != 0)
    die("write topics.yaml");
  char *kargs[] = {(char *)b->eddy, "dev-kafka", "--partitions", "4", "--config", pre, NULL};
  if (eh_proc_spawn(&b->kafka, b->dir, "dev-kafka", kargs) != 0) die("spawn dev-kafka");
  if (eh_proc_first_line(&b->kafka, b->bootstrap, sizeof b->bootstrap, 20000) != 0)
    die("dev-kafka printed no bootstrap line");
  snprintf(count, sizeof count, "%ld", b->keys);
  char *largs[] = {(char *)b->eddy, "loadgen", "--bootstrap",  b->bootstrap, "--topic",
                   "pageviews",     "--users", count,          "--count",    count,
                   "--rate",        "0",       "--sequential", NULL};
  eh_proc_t lg = {0};
  if (eh_proc_spawn(&lg, b->dir, "loadgen", largs) != 0) die("spawn loadgen");
  if (eh_proc_wait(&lg, 300000) != 0) die("eddy loadgen failed");
  for (int k = 0; k < NINST; k++)
    inst_start(b, k);
}

int main(int argc, char **argv) {
  bench_t b = {.eddy = "build/server/eddy", .keys = 100000, .rounds = 3, .lookups = 20000};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--eddy") == 0 && i + 1 < argc)
      b.eddy = argv[++i];
    else if (strcmp(argv[i], "--keys") == 0 && i + 1 < argc)
      b.keys = atol(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      b.rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--lookups") == 0 && i + 1 < argc)
      b.lookups = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: client_bench [--eddy PATH] [--keys N] [--rounds R] [--lookups N]\n");
      return 2;
    }
  }
  if (b.keys < 100 || b.lookups < 1 || b.rounds < 1 || b.rounds > MAX_ROUNDS) die("bad arguments");
  setenv("EDDY_BIN", b.eddy, 1);
  if (eh_tmpdir("eddy-client-bench-", b.dir, sizeof b.dir) != 0) die("tmpdir");
  b.http = eh_http_create();
  setup(&b);

  const char *seeds[] = {b.in[0].url};
  char err[256];
  eddy_options_t od = {.timeout_ms = 20000}, of = {.timeout_ms = 20000, .direct_routing = -1};
  eddy_client_t *direct = eddy_client_new(seeds, 1, &od, err, sizeof err);
  eddy_client_t *fwd = eddy_client_new(seeds, 1, &of, err, sizeof err);
  if (direct == NULL || fwd == NULL) die(err);

  /* Ready: both own partitions, both at lag 0, a sample of keys answers. */
  int owners[NPART];
  int64_t t0 = eh_now_ms();
  for (;;) {
    for (int k = 0; k < NINST; k++)
      if (!eh_proc_alive(&b.in[k].proc)) die("an eddy serve died");
    int ok = eh_cluster_read(b.http, &b.in[0], b.in, NINST, NPART, owners, NULL) == NULL, has = 0;
    for (int p = 0; ok && p < NPART; p++)
      has |= 1 << owners[p];
    ok = ok && has == 3;
    for (int k = 0; ok && k < NINST; k++) {
      char url[128];
      snprintf(url, sizeof url, "%s/readyz", b.in[k].url);
      ok = eh_http_get(b.http, url, 2000, NULL, NULL) == 200;
    }
    for (long i = 0; ok && i < b.keys; i += b.keys / 97) {
      char key[32];
      snprintf(key, sizeof key, "user_%ld", i == 0 ? b.keys - 1 : i);
      eddy_row_t *r = NULL;
      ok = eddy_get(direct, "users", key, strlen(key), NULL, &r) == EDDY_OK;
      eddy_row_destroy(r);
    }
    if (ok) break;
    if (eh_now_ms() - t0 > 300000) die("not ready in 300 s");
    eh_sleep_ms(200);
  }
  printf("ready in %lld ms: %ld keys, owners:", (long long)(eh_now_ms() - t0), b.keys);
  for (int p = 0; p < NPART; p++)
    printf(" %c", 'a' + owners[p]);
  printf("\n");

  /* The lookups: random keys of b's partitions. */
  b.lk = malloc((size_t)b.lookups * sizeof *b.lk);
  if (b.lk == NULL) die("out of memory");
  uint64_t rng = 42;
  for (long i = 0; i < b.lookups;) {
    snprintf(b.lk[i], sizeof b.lk[i], "user_%ld", (long)(eh_rng_next(&rng) % (uint64_t)b.keys));
    if (owners[eddy_partition_for_key(b.lk[i], strlen(b.lk[i]), NPART)] == 1) i++;
  }
  /* Warm both clients (maps, connections). */
  run(direct, b.lk, b.lookups < 1000 ? b.lookups : 1000, 4);
  run(fwd, b.lk, b.lookups < 1000 ? b.lookups : 1000, 4);

  static const int threads[] = {1, 4};
  double res[2][2][MAX_ROUNDS]; /* [threads][direct, forwarded][round] */
  for (int r = 0; r < b.rounds; r++) {
    for (int t = 0; t < 2; t++) {
      for (int j = 0; j < 2; j++) {
        int m = (r + j) % 2; /* alternate which goes first */
        long f0 = forwarded(&b, 0), f1 = forwarded(&b, 1);
        res[t][m][r] = run(m == 0 ? direct : fwd, b.lk, b.lookups, threads[t]);
        long d0 = forwarded(&b, 0) - f0, d1 = forwarded(&b, 1) - f1;
        if (m == 0 && (d0 != 0 || d1 != 0)) die("direct lookups were forwarded");
        if (m == 1 && d0 < b.lookups) die("forwarded lookups were not all forwarded");
      }
      printf("round %d, %d thread(s): direct %.0f lookups/s, forwarded %.0f lookups/s\n", r + 1,
             threads[t], res[t][0][r], res[t][1][r]);
      fflush(stdout);
    }
  }
  printf("medians of %d rounds, %ld lookups each (keys of b, client seeded with a):\n", b.rounds,
         b.lookups);
  for (int t = 0; t < 2; t++) {
    double d = median(res[t][0], b.rounds), f = median(res[t][1], b.rounds);
    printf("  %d thread(s): direct %.0f lookups/s, forwarded %.0f lookups/s (direct %.2fx)\n",
           threads[t], d, f, d / f);
  }
  eddy_client_destroy(direct);
  eddy_client_destroy(fwd);
  free(b.lk);
  for (int k = 0; k < NINST; k++)
    eh_proc_kill(&b.in[k].proc, SIGTERM, 20000);
  eh_proc_kill(&b.kafka, SIGTERM, 5000);
  eh_http_destroy(b.http);
  eh_rm_rf(b.dir);
  return 0;
}
