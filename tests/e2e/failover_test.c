/* End to end: failover under load and rejoin (issue 5, tests (b) and (c)).
 *
 * Three `eddy serve` instances (a, b, c; num_standby_replicas: 1) on one
 * eddy dev-kafka share a count view over "clicks" (6 partitions). A
 * producer thread writes about 2000 records/s over keys k000..k199 and
 * records every record's (partition, offset, key) from its delivery
 * report; a query thread asks random keys of random live instances all the
 * time. Every answer is judged:
 *   - 200: the count must equal the number of records of that key in that
 *     partition below the answer's "offset" (the delivery reports of every
 *     offset below it are awaited first), and must not be smaller than a
 *     count of the same key answered before the request started (answers
 *     are monotonic, whichever instance serves them);
 *   - 503: counted (handover);
 *   - anything else fails the test.
 * After about 5 s of load one owner is killed with SIGKILL; within
 * FAILOVER_BOUND_MS every key must be served again, exactly, by both live
 * instances (the time taken is printed). Then production stops and the
 * final table is checked from every live instance (every key, and a range
 * scan). (c) The killed instance restarts on its data_dir, every map lists
 * it owning partitions again, and every key is exact from all three. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/murmur2.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define APP "fo"
#define NPART 6
#define NINST 3
#define NKEYS 200
#define BATCH 20      /* records per 10 ms: about 2000/s */
#define LOAD_MS 5000  /* load before the kill */
#define AFTER_MS 3000 /* load after full service returned */
#define CONVERGE_MS 45000
#define FAILOVER_BOUND_MS 40000 /* kill -9 to every key exact again */
#define DR_WAIT_MS 10000        /* delivery reports awaited to judge an answer */

static const char *const ids[NINST] = {"a", "b", "c"};

typedef struct {
  int64_t *v;
  size_t n, cap;
} i64s_t;

typedef struct {
  char dir[256];
  char bootstrap[256];
  eh_proc_t kafka;
  eh_instance_t in[NINST];
  atomic_int live[NINST]; /* queried only while 1 */
  eh_http_t *http;
  rd_kafka_t *producer;
  int passed;

  /* what was produced, from the delivery reports (under mu) */
  pthread_mutex_t mu;
  i64s_t offs[NKEYS];   /* the offsets of each key's records, ascending */
  uint8_t *seen[NPART]; /* seen[p][off]: delivered */
  size_t seen_cap[NPART];
  int64_t contig[NPART]; /* every offset below is delivered */
  int64_t floor[NKEYS];  /* the largest count answered so far */
  /* threads */
  pthread_t producer_thread, query_thread;
  int producer_started, query_started;
  atomic_int stop_producing, stop_querying;
  atomic_long produced;
  /* statistics and the first error of any thread */
  atomic_long n_ok, n_503, n_judged_wait;
  atomic_int has_err;
  char err[2048];
} fo_t;

static void key_of(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }
static int32_t part_of_key(int i) {
  char k[16];
  key_of(i, k, sizeof k);
  return ed_partition_for_key(k, strlen(k), NPART);
}

/* Records the first error (any thread); the main thread fails on it. */
static void set_err(fo_t *t, const char *fmt, ...) {
  pthread_mutex_lock(&t->mu);
  if (!atomic_load(&t->has_err)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    atomic_store(&t->has_err, 1);
  }
  pthread_mutex_unlock(&t->mu);
}

static void check_err(fo_t *t) {
  if (atomic_load(&t->has_err)) fail_msg("%s", t->err);
}

/* ---- producing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  fo_t *t = opaque;
  int k = (int)(intptr_t)m->_private - 1;
  if (m->err) {
    set_err(t, "delivery failed: %s", rd_kafka_err2str(m->err));
    return;
  }
  if (k < 0 || k >= NKEYS || m->partition != part_of_key(k) || m->offset < 0) {
    set_err(t, "delivery report of key %d in partition %d", k, (int)m->partition);
    return;
  }
  int32_t p = m->partition;
  size_t off = (size_t)m->offset;
  pthread_mutex_lock(&t->mu);
  i64s_t *o = &t->offs[k];
  if (o->n == o->cap) {
    o->cap = o->cap ? o->cap * 2 : 256;
    o->v = realloc(o->v, o->cap * sizeof *o->v);
  }
  if (o->n > 0 && o->v[o->n - 1] >= m->offset) {
    pthread_mutex_unlock(&t->mu);
    set_err(t, "delivery reports of partition %d out of order", (int)p);
    return;
  }
  o->v[o->n++] = m->offset;
  if (off >= t->seen_cap[p]) {
    size_t cap = t->seen_cap[p] ? t->seen_cap[p] : 4096;
    while (cap <= off)
      cap *= 2;
    t->seen[p] = realloc(t->seen[p], cap);
    memset(t->seen[p] + t->seen_cap[p], 0, cap - t->seen_cap[p]);
    t->seen_cap[p] = cap;
  }
  t->seen[p][off] = 1;
  while ((size_t)t->contig[p] < t->seen_cap[p] && t->seen[p][t->contig[p]])
    t->contig[p]++;
  pthread_mutex_unlock(&t->mu);
}

static int produce_key(fo_t *t, int k) {
  char key[16];
  key_of(k, key, sizeof key);
  int rc =
      eh_produce(t->producer, "clicks", key, strlen(key), "1", 1, 0, (void *)(intptr_t)(k + 1));
  if (rc != 0)
    set_err(t, "produce: %s", rd_kafka_err2str((rd_kafka_resp_err_t)rc));
  else
    atomic_fetch_add(&t->produced, 1);
  return rc;
}

static void *producer_main(void *arg) {
  fo_t *t = arg;
  uint64_t rng = 0x5eed;
  while (!atomic_load(&t->stop_producing)) {
    for (int i = 0; i < BATCH; i++)
      produce_key(t, (int)(eh_rng_next(&rng) % NKEYS));
    rd_kafka_poll(t->producer, 0);
    eh_sleep_ms(10);
  }
  return NULL;
}

/* ---- judging answers ---- */

typedef enum { J_OK, J_503, J_GONE, J_WRONG } judgement_t;

/* Asks instance @p k for key @p i and judges the answer. @p want_end >= 0:
 * also require the answer at that offset of its partition (the final
 * table). *offset_out gets the answer's offset. */
static judgement_t ask(fo_t *t, eh_answer_t *c, int k, int i, int64_t want_end,
                       int64_t *offset_out) {
  char key[16], url[256];
  key_of(i, key, sizeof key);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
  pthread_mutex_lock(&t->mu);
  int64_t floor = t->floor[i];
  pthread_mutex_unlock(&t->mu);
  long st = eh_request(c, url, NULL, NULL, 10000);
  if (st == 503) {
    atomic_fetch_add(&t->n_503, 1);
    return J_503;
  }
  if (st == 0 && !atomic_load(&t->live[k])) return J_GONE;
  if (st != 200) {
    set_err(t, "from %s: key %s: status %ld: %s", ids[k], key, st, c->body);
    return J_WRONG;
  }
  eh_key_answer_t a;
  if (eh_parse_key_answer(c->body, c->len, &a) != 0) {
    set_err(t, "from %s: key %s: malformed answer %s", ids[k], key, c->body);
    return J_WRONG;
  }
  int is_int = 0;
  int64_t count = -1;
  double d;
  if (eh_json_get_number(a.value, strlen(a.value), "count", &is_int, &count, &d) != 0 || !is_int ||
      a.partition != part_of_key(i) || strcmp(a.key, key) != 0) {
    set_err(t, "from %s: key %s: answer %s", ids[k], key, c->body);
    return J_WRONG;
  }
  int32_t p = (int32_t)a.partition;
  /* every record below the answer's offset must be known */
  pthread_mutex_lock(&t->mu);
  int64_t deadline = eh_now_ms() + DR_WAIT_MS;
  if (t->contig[p] < a.offset) atomic_fetch_add(&t->n_judged_wait, 1);
  while (t->contig[p] < a.offset && eh_now_ms() < deadline) {
    pthread_mutex_unlock(&t->mu);
    rd_kafka_poll(t->producer, 0); /* librdkafka allows polling from any thread */
    eh_sleep_ms(5);
    pthread_mutex_lock(&t->mu);
  }
  if (t->contig[p] < a.offset) {
    int64_t have = t->contig[p];
    pthread_mutex_unlock(&t->mu);
    set_err(t, "from %s: key %s: offset %lld beyond what was produced (%lld) in partition %d",
            ids[k], key, (long long)a.offset, (long long)have, (int)p);
    return J_WRONG;
  }
  const i64s_t *o = &t->offs[i];
  size_t lo = 0, hi = o->n; /* records of the key below the offset */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (o->v[mid] < a.offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  int64_t want = (int64_t)lo;
  if (count > t->floor[i]) t->floor[i] = count;
  pthread_mutex_unlock(&t->mu);
  *offset_out = a.offset;
  if (count != want) {
    set_err(
        t, "from %s (served by %s): key %s: count %lld at offset %lld of partition %d, want %lld",
        ids[k], c->served_by, key, (long long)count, (long long)a.offset, (int)p, (long long)want);
    return J_WRONG;
  }
  if (count < floor) {
    set_err(t, "from %s (served by %s): key %s: count %lld after %lld was answered (not monotonic)",
            ids[k], c->served_by, key, (long long)count, (long long)floor);
    return J_WRONG;
  }
  if (want_end >= 0 && a.offset != want_end) return J_503; /* not there yet */
  atomic_fetch_add(&t->n_ok, 1);
  return J_OK;
}

static void *query_main(void *arg) {
  fo_t *t = arg;
  eh_answer_t c = {0};
  uint64_t rng = 0xfeed;
  while (!atomic_load(&t->stop_querying) && !atomic_load(&t->has_err)) {
    int k = (int)(eh_rng_next(&rng) % NINST);
    if (!atomic_load(&t->live[k])) continue;
    int64_t off;
    ask(t, &c, k, (int)(eh_rng_next(&rng) % NKEYS), -1, &off);
  }
  eh_answer_fini(&c);
  return NULL;
}

/* One pass over every key from every live instance, stopping at the first
 * that is not served (503). @p final: every key must be at the end of its
 * partition (t->contig). Returns 1 if every key was served exactly. */
static int sweep(fo_t *t, eh_answer_t *c, int final) {
  for (int k = 0; k < NINST; k++) {
    if (!atomic_load(&t->live[k])) continue;
    for (int i = 0; i < NKEYS; i++) {
      int64_t end = -1, off;
      if (final) {
        pthread_mutex_lock(&t->mu);
        end = t->contig[part_of_key(i)];
        pthread_mutex_unlock(&t->mu);
      }
      judgement_t j = ask(t, c, k, i, end, &off);
      check_err(t);
      if (j != J_OK) return 0;
    }
  }
  return 1;
}

/* ---- the map ---- */

static const char *no_thread_error(void *arg) {
  check_err(arg);
  return NULL;
}

/* Waits until the maps of every live instance agree, every partition runs
 * on a live instance, each instance in @p must_own owns some, and (with
 * @p want_standbys) each partition has a standby on another instance. */
static void wait_map(fo_t *t, unsigned must_own, int want_standbys, int *owners) {
  check_err(t);
  eh_cluster_want_t w = {.npart = NPART,
                         .must_own = must_own,
                         .standbys = want_standbys,
                         .timeout_ms = CONVERGE_MS,
                         .label = "map converged",
                         .also = no_thread_error,
                         .arg = t};
  const char *why;
  if (eh_cluster_wait(t->http, t->in, NINST, &w, owners, &why) != 0)
    fail_msg("the map did not converge: %s", why);
}

/* Every key exact at the end of its partition from every live instance. */
static void wait_final(fo_t *t, eh_answer_t *c, const char *when) {
  int64_t t0 = eh_now_ms();
  while (!sweep(t, c, 1)) {
    if (eh_now_ms() - t0 > CONVERGE_MS) fail_msg("%s: the final table not exact in time", when);
    eh_sleep_ms(100);
  }
  fprintf(stderr, "  %s: every key exact from every live instance after %lld ms\n", when,
          (long long)(eh_now_ms() - t0));
}

/* A full range scan from instance @p k equals the expected table. */
static void check_scan(fo_t *t, int k) {
  static char rows[1 << 20], cursor[1024];
  cursor[0] = '\0';
  int n = 0;
  for (;;) {
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/rows?limit=61%s%s",
             t->in[k].port, cursor[0] ? "&cursor=" : "", cursor);
    const char *body;
    size_t len;
    int st = eh_http_get(t->http, url, 10000, &body, &len);
    if (st != 200) fail_msg("from %s: GET %s: status %d: %s", ids[k], url, st, body);
    assert_int_equal(eh_json_get_text(body, len, "rows", rows, sizeof rows), 0);
    int more = eh_json_get_text(body, len, "next_cursor", cursor, sizeof cursor) == 0 && cursor[0];
    size_t pos = 0, el;
    const char *e;
    while (eh_json_array_next(rows, strlen(rows), &pos, &e, &el) == 1) {
      char key[64], want[16], v[256];
      assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
      key_of(n, want, sizeof want);
      if (strcmp(key, want) != 0)
        fail_msg("from %s: scan row %d is %s, want %s", ids[k], n, key, want);
      assert_int_equal(eh_json_get_text(e, el, "value", v, sizeof v), 0);
      int is_int;
      int64_t cnt;
      double d;
      assert_int_equal(eh_json_get_number(v, strlen(v), "count", &is_int, &cnt, &d), 0);
      pthread_mutex_lock(&t->mu);
      int64_t exp = (int64_t)t->offs[n].n;
      pthread_mutex_unlock(&t->mu);
      if (cnt != exp)
        fail_msg("from %s: scan: %s count %lld, want %lld", ids[k], key, (long long)cnt,
                 (long long)exp);
      n++;
    }
    if (!more) break;
  }
  assert_int_equal(n, NKEYS);
}

/* ---- the test ---- */

static void write_config(fo_t *t, int k, const char *bootstrap, const char *path) {
  eh_instance_opts_t o = {.standbys = 1, .heartbeat_ms = 500};
  assert_int_equal(eh_instance_write_config(&t->in[k], path, APP, bootstrap, &o,
                                            "  counts: { from: clicks, format: string, "
                                            "aggregate: count }\n"),
                   0);
}

static void test_failover(void **state) {
  fo_t *t = *state;
  int64_t t0 = eh_now_ms();
  char pre[512];
  snprintf(pre, sizeof pre, "%s/topics.yaml", t->dir);
  write_config(t, 0, "127.0.0.1:1", pre);
  char *args[] = {"--partitions", "6", "--config", pre, NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
  assert_non_null(t->producer);
  for (int i = 0; i < NKEYS; i++) /* every key exists before the load */
    assert_int_equal(produce_key(t, i), 0);
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  check_err(t);

  for (int k = 0; k < NINST; k++)
    write_config(t, k, t->bootstrap, NULL);
  for (int k = 0; k < NINST; k++) {
    eh_instance_start(&t->in[k], t->http);
    atomic_store(&t->live[k], 1);
  }
  int owners[NPART];
  wait_map(t, 7, 1, owners);
  eh_answer_t c = {0};
  wait_final(t, &c, "before the load");

  /* load: producer and query threads */
  assert_int_equal(pthread_create(&t->producer_thread, NULL, producer_main, t), 0);
  t->producer_started = 1;
  assert_int_equal(pthread_create(&t->query_thread, NULL, query_main, t), 0);
  t->query_started = 1;
  int64_t until = eh_now_ms() + LOAD_MS;
  while (eh_now_ms() < until) {
    check_err(t);
    eh_sleep_ms(100);
  }
  long ok_before = atomic_load(&t->n_ok), n503_before = atomic_load(&t->n_503);

  /* kill -9 the owner of partition 0 */
  int victim = owners[0];
  int owned = 0;
  for (int p = 0; p < NPART; p++)
    owned += owners[p] == victim;
  atomic_store(&t->live[victim], 0);
  int64_t t_kill = eh_now_ms();
  assert_int_equal(eh_instance_stop(&t->in[victim], SIGKILL, 0), 128 + SIGKILL);
  fprintf(stderr,
          "  killed -9 %s (owner of %d partitions) after %lld ms of load (%ld records; %ld answers "
          "ok, %ld 503)\n",
          ids[victim], owned, (long long)LOAD_MS, atomic_load(&t->produced), ok_before,
          n503_before);
  int64_t t_full;
  for (;;) {
    int64_t s0 = eh_now_ms();
    if (sweep(t, &c, 0)) {
      t_full = eh_now_ms();
      fprintf(stderr,
              "  every key served exactly again by both live instances %lld ms after the kill "
              "(that sweep began at %lld ms)\n",
              (long long)(t_full - t_kill), (long long)(s0 - t_kill));
      break;
    }
    if (eh_now_ms() - t_kill > FAILOVER_BOUND_MS)
      fail_msg("not every key served again within %d ms of the kill", FAILOVER_BOUND_MS);
    eh_sleep_ms(50);
  }
  assert_true(t_full - t_kill <= FAILOVER_BOUND_MS);
  until = eh_now_ms() + AFTER_MS;
  while (eh_now_ms() < until) {
    check_err(t);
    eh_sleep_ms(100);
  }
  atomic_store(&t->stop_producing, 1);
  pthread_join(t->producer_thread, NULL);
  t->producer_started = 0;
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  check_err(t);
  fprintf(stderr, "  produced %ld records in all\n", atomic_load(&t->produced));
  wait_final(t, &c, "after the failover");
  for (int k = 0; k < NINST; k++)
    if (atomic_load(&t->live[k])) check_scan(t, k);

  /* (c) the killed instance rejoins on its data_dir */
  int64_t t_rejoin = eh_now_ms();
  eh_instance_start(&t->in[victim], t->http);
  atomic_store(&t->live[victim], 1);
  wait_map(t, 1u << victim, 0, owners);
  fprintf(stderr, "  %s owns partitions again %lld ms after its restart\n", ids[victim],
          (long long)(eh_now_ms() - t_rejoin));
  wait_final(t, &c, "after the rejoin");
  for (int k = 0; k < NINST; k++)
    check_scan(t, k);

  atomic_store(&t->stop_querying, 1);
  pthread_join(t->query_thread, NULL);
  t->query_started = 0;
  check_err(t);
  eh_answer_fini(&c);
  fprintf(stderr,
          "  answers: %ld exact, %ld 503 (%ld after the kill); %ld judged after awaiting delivery "
          "reports; kill to full service %lld ms\n",
          atomic_load(&t->n_ok), atomic_load(&t->n_503), atomic_load(&t->n_503) - n503_before,
          atomic_load(&t->n_judged_wait), (long long)(t_full - t_kill));
  for (int k = 0; k < NINST; k++)
    assert_int_equal(eh_instance_stop(&t->in[k], SIGTERM, 20000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  fo_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-failover-", t->dir, sizeof t->dir) != 0) return -1;
  pthread_mutex_init(&t->mu, NULL);
  if (eh_instances_init(t->in, NINST, t->dir, ids) != 0) return -1;
  t->http = eh_http_create();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  fo_t *t = *state;
  atomic_store(&t->stop_producing, 1);
  atomic_store(&t->stop_querying, 1);
  if (t->producer_started) pthread_join(t->producer_thread, NULL);
  if (t->query_started) pthread_join(t->query_thread, NULL);
  eh_instances_teardown(t->in, NINST, t->passed, 5000);
  if (t->producer) rd_kafka_flush(t->producer, 2000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
  curl_global_cleanup();
  for (int i = 0; i < NKEYS; i++)
    free(t->offs[i].v);
  for (int p = 0; p < NPART; p++)
    free(t->seen[p]);
  pthread_mutex_destroy(&t->mu);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
