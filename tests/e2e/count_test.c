/* End to end: eddy dev-kafka + eddy serve, two count/sum views over one topic.
 *
 * 1. Produce a fixed data set (keys that need percent-encoding, bad records,
 *    null keys) into "clicks" (4 partitions, murmur2 partitioner) and compute
 *    the expected answer of every key in both views.
 * 2. Start eddy serve, wait until every key's answer reflects its partition's
 *    end offset, and check the values exactly; 404s for unknown key/view.
 * 3. Produce more records from a thread, kill -9 the server while it is
 *    applying them, restart it on the same data_dir, and check again: the
 *    state is exact (no loss, no double count).
 * Plus: a bad config is refused with file:line and the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/murmur2.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NKEYS_PLAIN 143
#define PHASE1_RECORDS 2000
#define PHASE1_GOOD_TAIL 200 /* last records of a phase are all good */
#define PHASE2_RECORDS 3000
#define PHASE2_BATCH 25
#define PHASE2_PAUSE_MS 25
/* kill -9 once a partition has applied this many phase-2 records (of ~750) */
#define KILL_AFTER 150
#define CATCHUP_DEADLINE_MS 60000

static const char *const special_keys[] = {"a b", "x/y", "50%", "q?&=#", "ünï", "emoji 😀", "+plus"};
#define NSPECIAL (sizeof(special_keys) / sizeof(special_keys[0]))
#define NKEYS (NKEYS_PLAIN + NSPECIAL)
#define ONLYBAD_KEY "only-bad"       /* records that totals skips; hits counts */
#define NEVER_KEY "never produced/ü" /* 404 in both views */

typedef struct {
  char name[64];
  int32_t partition;
  int64_t n;       /* totals.n */
  int64_t total_i; /* totals.total when all inputs were integers */
  double total_d;  /* totals.total as a double */
  int has_double;
  int64_t hits; /* hits.count */
} key_exp_t;

typedef struct {
  /* processes and files */
  char dir[256];
  char bootstrap[256];
  char config_path[512];
  int http_port;
  eh_proc_t kafka;
  eh_proc_t serve;
  eh_http_t *http;
  int passed;
  /* producer */
  rd_kafka_t *producer;
  pthread_mutex_t mu;
  int64_t end[NPART]; /* next offset per partition, from delivery reports */
  atomic_long delivered;
  atomic_long failed;
  atomic_long misrouted; /* keyed records not in murmur2(key)'s partition */
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_int phase2_done;
  /* expectations */
  key_exp_t keys[NKEYS + 1]; /* + ONLYBAD_KEY */
  size_t nkeys;
} e2e_t;

/* ---- deterministic data ---- */

typedef enum {
  REC_INT,
  REC_DOUBLE,
  REC_NOT_JSON,
  REC_NO_AMOUNT,
  REC_AMOUNT_STRING,
  REC_NULL_KEY
} rec_kind_t;

typedef struct {
  int key_index; /* -1: null key */
  rec_kind_t kind;
  char value[128];
} rec_t;

/* Record @p i of phase @p phase (1 or 2); always the same for the same i. */
static void gen_record(e2e_t *t, int phase, int i, rec_t *r) {
  uint64_t s = (uint64_t)phase * 1000003u + (uint64_t)i * 7919u + 17u;
  eh_rng_next(&s);
  int total = phase == 1 ? PHASE1_RECORDS : PHASE2_RECORDS;
  int tail = i >= total - PHASE1_GOOD_TAIL;
  r->key_index = (int)(eh_rng_next(&s) % NKEYS);
  uint64_t k = eh_rng_next(&s) % 100;
  int64_t amount = (int64_t)(eh_rng_next(&s) % 100) + 1;
  if (phase == 1 && i % 500 == 7) {
    /* the key only ever gets records totals must skip */
    r->key_index = (int)NKEYS;
    static const rec_kind_t bad[] = {REC_NOT_JSON, REC_NO_AMOUNT, REC_AMOUNT_STRING, REC_NOT_JSON};
    r->kind = bad[(i / 500) % 4];
  } else if (tail || k >= 12) {
    r->kind = REC_INT;
  } else if (k < 3) {
    r->kind = REC_NOT_JSON;
  } else if (k < 5) {
    r->kind = REC_NO_AMOUNT;
  } else if (k < 7) {
    r->kind = REC_AMOUNT_STRING;
  } else if (k < 9) {
    r->kind = REC_NULL_KEY;
  } else {
    /* doubles only for some keys, so others stay integer sums */
    r->kind = r->key_index % 5 == 0 ? REC_DOUBLE : REC_INT;
  }
  if (r->kind == REC_NULL_KEY)
    r->key_index = -1;
  switch (r->kind) {
  case REC_INT:
  case REC_NULL_KEY:
    snprintf(r->value, sizeof(r->value), "{\"amount\":%lld,\"page\":\"/p/%d\"}", (long long)amount,
             i % 37);
    break;
  case REC_DOUBLE:
    snprintf(r->value, sizeof(r->value), "{\"page\":\"/d\",\"amount\":%lld.5}", (long long)amount);
    break;
  case REC_NOT_JSON:
    snprintf(r->value, sizeof(r->value), "amount=%lld {not json", (long long)amount);
    break;
  case REC_NO_AMOUNT:
    snprintf(r->value, sizeof(r->value), "{\"page\":\"/p/%d\",\"amt\":%lld}", i % 37,
             (long long)amount);
    break;
  case REC_AMOUNT_STRING:
    snprintf(r->value, sizeof(r->value), "{\"amount\":\"%lld\"}", (long long)amount);
    break;
  }
  (void)t;
}

static void expect_record(e2e_t *t, const rec_t *r) {
  if (r->key_index < 0)
    return; /* null key: skipped by every view */
  key_exp_t *k = &t->keys[r->key_index];
  k->hits++;
  if (r->kind == REC_INT || r->kind == REC_DOUBLE) {
    int is_int;
    int64_t i;
    double d;
    const char *a = strstr(r->value, "\"amount\":") + 9;
    if (r->kind == REC_INT) {
      i = strtoll(a, NULL, 10);
      k->total_i += i;
      k->total_d += (double)i;
    } else {
      d = strtod(a, NULL);
      k->total_d += d;
      k->has_double = 1;
    }
    (void)is_int;
    k->n++;
  }
}

static void init_keys(e2e_t *t) {
  t->nkeys = NKEYS + 1;
  for (size_t i = 0; i < NKEYS_PLAIN; i++)
    snprintf(t->keys[i].name, 64, "user-%03zu", i);
  for (size_t i = 0; i < NSPECIAL; i++)
    snprintf(t->keys[NKEYS_PLAIN + i].name, 64, "%s", special_keys[i]);
  snprintf(t->keys[NKEYS].name, 64, "%s", ONLYBAD_KEY);
  for (size_t i = 0; i < t->nkeys; i++)
    t->keys[i].partition = ed_partition_for_key(t->keys[i].name, strlen(t->keys[i].name), NPART);
}

/* ---- producer ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  e2e_t *t = opaque;
  if (m->err) {
    atomic_fetch_add(&t->failed, 1);
    return;
  }
  if (m->key && m->partition != ed_partition_for_key(m->key, m->key_len, NPART))
    atomic_fetch_add(&t->misrouted, 1);
  pthread_mutex_lock(&t->mu);
  if (m->partition >= 0 && m->partition < NPART && m->offset + 1 > t->end[m->partition])
    t->end[m->partition] = m->offset + 1;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->delivered, 1);
}

static rd_kafka_t *make_producer(e2e_t *t) {
  return eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
}

static int produce_one(e2e_t *t, const rec_t *r) {
  const char *key = r->key_index >= 0 ? t->keys[r->key_index].name : NULL;
  size_t klen = key ? strlen(key) : 0;
  return eh_produce(t->producer, "clicks", key, klen, r->value, strlen(r->value), 0, NULL) ==
                 RD_KAFKA_RESP_ERR_NO_ERROR
             ? 0
             : -1;
}

static void *phase2_thread(void *arg) {
  e2e_t *t = arg;
  for (int i = 0; i < PHASE2_RECORDS && !atomic_load(&t->stop); i++) {
    rec_t r;
    gen_record(t, 2, i, &r);
    if (produce_one(t, &r) != 0)
      atomic_fetch_add(&t->failed, 1);
    if (i % PHASE2_BATCH == PHASE2_BATCH - 1) {
      rd_kafka_flush(t->producer, 5000);
      eh_sleep_ms(PHASE2_PAUSE_MS);
    }
    rd_kafka_poll(t->producer, 0);
  }
  rd_kafka_flush(t->producer, 10000);
  atomic_store(&t->phase2_done, 1);
  return NULL;
}

static void get_end(e2e_t *t, int64_t end[NPART]) {
  pthread_mutex_lock(&t->mu);
  memcpy(end, t->end, sizeof(t->end));
  pthread_mutex_unlock(&t->mu);
}

/* ---- setup / teardown ---- */

static int setup(void **state) {
  e2e_t *t = calloc(1, sizeof(*t));
  if (!t)
    return -1;
  pthread_mutex_init(&t->mu, NULL);
  if (eh_tmpdir("eddy-e2e-", t->dir, sizeof(t->dir)) != 0) {
    free(t);
    return -1;
  }
  t->http = eh_http_create();
  init_keys(t);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  e2e_t *t = *state;
  if (!t)
    return 0;
  atomic_store(&t->stop, 1);
  if (t->thread_started)
    pthread_join(t->thread, NULL);
  if (!t->passed) {
    if (t->serve.pid)
      eh_proc_dump_err(&t->serve, "eddy serve", 6000);
    if (t->kafka.pid)
      eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 3000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  if (t->producer) {
    rd_kafka_flush(t->producer, 2000);
    rd_kafka_destroy(t->producer);
  }
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  pthread_mutex_destroy(&t->mu);
  free(t);
  return 0;
}

/* ---- steps ---- */

static void start_kafka(e2e_t *t) {
  char *args[] = {"--topic", "clicks", "--topic", "e2e.totals.changelog", "--topic", "e2e.hits.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof(t->bootstrap));
}

static void write_config(e2e_t *t) {
  char data_dir[512];
  t->http_port = eh_free_port();
  assert_true(t->http_port > 0);
  snprintf(data_dir, sizeof(data_dir), "%s/data", t->dir);
  snprintf(t->config_path, sizeof(t->config_path), "%s/eddy.yaml", t->dir);
  eh_write_config(
      t->config_path, "e2e", t->bootstrap, t->http_port, data_dir,
      "  totals: { from: clicks, format: json, aggregate: { n: count, total: sum(amount) } }\n"
      "  hits:   { from: clicks, format: string, aggregate: count }\n");
}

static void start_serve(e2e_t *t) {
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->http_port);
}

static void key_url(e2e_t *t, const char *view, const char *key, char *url, size_t cap) {
  eh_key_url(t->http, t->http_port, view, key, NULL, url, cap);
}

/* Polls key @p k of @p view until its answer reflects offset @p want. */
static void wait_key(e2e_t *t, const char *view, const key_exp_t *k, int64_t want, int64_t deadline,
                     eh_key_answer_t *ans) {
  char url[512];
  key_url(t, view, k->name, url, sizeof(url));
  int st = 0;
  const char *body = "";
  size_t len = 0;
  for (;;) {
    st = eh_http_get(t->http, url, 2000, &body, &len);
    if (st == 200) {
      if (eh_parse_key_answer(body, len, ans) != 0)
        fail_msg("GET %s: malformed answer: %s", url, body);
      if (ans->offset > want)
        fail_msg("GET %s: offset %lld beyond the partition's end %lld: %s", url,
                 (long long)ans->offset, (long long)want, body);
      if (ans->offset == want)
        return;
    } else if (st != 503 && st != 404 && st != 0) {
      fail_msg("GET %s: unexpected status %d: %s", url, st, body);
    }
    if (!eh_proc_alive(&t->serve))
      fail_msg("eddy serve died while waiting for %s", url);
    if (eh_now_ms() > deadline)
      fail_msg("GET %s: not at offset %lld in time; last status %d body %s", url, (long long)want,
               st, body);
    eh_sleep_ms(20);
  }
}

static void check_key(const key_exp_t *k, const eh_key_answer_t *tot, const eh_key_answer_t *hit) {
  int is_int;
  int64_t i;
  double d;
  /* hits */
  assert_int_equal(hit->key_len, strlen(k->name));
  assert_memory_equal(hit->key, k->name, hit->key_len);
  assert_int_equal(hit->partition, k->partition);
  if (eh_json_get_number(hit->value, strlen(hit->value), "count", &is_int, &i, &d) != 0 || !is_int)
    fail_msg("hits/%s: value %s has no integer count", k->name, hit->value);
  if (i != k->hits)
    fail_msg("hits/%s: count %lld, expected %lld", k->name, (long long)i, (long long)k->hits);
  /* totals */
  assert_string_equal(tot->key, k->name);
  assert_int_equal(tot->partition, k->partition);
  if (eh_json_get_number(tot->value, strlen(tot->value), "n", &is_int, &i, &d) != 0 || !is_int)
    fail_msg("totals/%s: value %s has no integer n", k->name, tot->value);
  if (i != k->n)
    fail_msg("totals/%s: n %lld, expected %lld", k->name, (long long)i, (long long)k->n);
  if (eh_json_get_number(tot->value, strlen(tot->value), "total", &is_int, &i, &d) != 0)
    fail_msg("totals/%s: value %s has no numeric total", k->name, tot->value);
  if (k->has_double) {
    if (d != k->total_d)
      fail_msg("totals/%s: total %.17g, expected %.17g (%s)", k->name, d, k->total_d, tot->value);
  } else {
    if (!is_int)
      fail_msg("totals/%s: total %s should be an integer (all inputs were)", k->name, tot->value);
    if (i != k->total_i)
      fail_msg("totals/%s: total %lld, expected %lld", k->name, (long long)i,
               (long long)k->total_i);
  }
}

static void expect_404(e2e_t *t, const char *url) {
  const char *body;
  size_t len;
  int st = eh_http_get(t->http, url, 2000, &body, &len);
  if (st != 404)
    fail_msg("GET %s: status %d (want 404): %s", url, st, body);
  char code[64];
  char err[1024];
  if (eh_json_get_text(body, len, "error", err, sizeof(err)) != 0 ||
      eh_json_get_text(err, strlen(err), "code", code, sizeof(code)) != 0 ||
      strcmp(code, "not_found") != 0)
    fail_msg("GET %s: 404 body lacks error.code not_found: %s", url, body);
}

/* Waits until every key of both views reflects @p end, then checks values. */
static void check_all(e2e_t *t, const int64_t end[NPART]) {
  int64_t deadline = eh_now_ms() + CATCHUP_DEADLINE_MS;
  int64_t t0 = eh_now_ms();
  for (size_t i = 0; i < t->nkeys; i++) {
    key_exp_t *k = &t->keys[i];
    if (k->hits == 0)
      continue;
    eh_key_answer_t tot, hit;
    wait_key(t, "hits", k, end[k->partition], deadline, &hit);
    if (k->n == 0)
      continue; /* checked below: totals has no row */
    wait_key(t, "totals", k, end[k->partition], deadline, &tot);
    check_key(k, &tot, &hit);
  }
  /* Every partition of totals has caught up now (each has a key with a
   * row), so keys with no totals row must be 404. */
  char url[512];
  for (size_t i = 0; i < t->nkeys; i++) {
    if (t->keys[i].n != 0)
      continue;
    key_url(t, "totals", t->keys[i].name, url, sizeof(url));
    expect_404(t, url);
  }
  key_exp_t never = {.partition = 0};
  snprintf(never.name, sizeof(never.name), "%s", NEVER_KEY);
  key_url(t, "totals", never.name, url, sizeof(url));
  expect_404(t, url);
  key_url(t, "hits", never.name, url, sizeof(url));
  expect_404(t, url);
  key_url(t, "no_such_view", "user-000", url, sizeof(url));
  expect_404(t, url);
  fprintf(stderr, "  all %zu keys caught up and exact in %lld ms\n", t->nkeys,
          (long long)(eh_now_ms() - t0));
}

static void check_views_list(e2e_t *t) {
  char url[256];
  const char *body;
  size_t len;
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/views", t->http_port);
  int st = eh_http_get(t->http, url, 2000, &body, &len);
  if (st != 200)
    fail_msg("GET %s: status %d: %s", url, st, body);
  char views[4096];
  if (eh_json_get_text(body, len, "views", views, sizeof(views)) != 0 || views[0] != '[')
    fail_msg("GET %s: no views array: %s", url, body);
  if (!eh_contains(views, "\"totals\"") || !eh_contains(views, "\"hits\""))
    fail_msg("GET %s: views missing: %s", url, body);
}

/* ---- tests ---- */

static void test_count_kill_restart(void **state) {
  e2e_t *t = *state;
  int64_t t_start = eh_now_ms();
  start_kafka(t);
  t->producer = make_producer(t);
  assert_non_null(t->producer);

  /* phase 1: fixed data set, all delivered before the server starts */
  for (int i = 0; i < PHASE1_RECORDS; i++) {
    rec_t r;
    gen_record(t, 1, i, &r);
    expect_record(t, &r);
    assert_int_equal(produce_one(t, &r), 0);
    rd_kafka_poll(t->producer, 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(atomic_load(&t->failed), 0);
  assert_int_equal(atomic_load(&t->delivered), PHASE1_RECORDS);
  assert_int_equal(atomic_load(&t->misrouted), 0);
  int64_t end1[NPART];
  get_end(t, end1);
  for (size_t i = 0; i < t->nkeys; i++)
    if (t->keys[i].hits == 0)
      fail_msg("test data: key '%s' got no records", t->keys[i].name);
  int has_row[NPART] = {0};
  for (size_t i = 0; i < t->nkeys; i++)
    if (t->keys[i].n)
      has_row[t->keys[i].partition] = 1;
  for (int p = 0; p < NPART; p++)
    assert_true(has_row[p] && end1[p] > 0);
  fprintf(stderr, "  phase 1: %d records, end offsets %lld %lld %lld %lld\n", PHASE1_RECORDS,
          (long long)end1[0], (long long)end1[1], (long long)end1[2], (long long)end1[3]);

  write_config(t);
  start_serve(t);
  check_views_list(t);
  check_all(t, end1);

  /* phase 2: produce while the server runs; kill -9 it mid-stream */
  for (int i = 0; i < PHASE2_RECORDS; i++) {
    rec_t r;
    gen_record(t, 2, i, &r);
    expect_record(t, &r);
  }
  atomic_store(&t->phase2_done, 0);
  assert_int_equal(pthread_create(&t->thread, NULL, phase2_thread, t), 0);
  t->thread_started = 1;
  /* one probe key per partition, in the hits view */
  const key_exp_t *probe[NPART] = {0};
  for (size_t i = 0; i < t->nkeys; i++)
    if (!probe[t->keys[i].partition])
      probe[t->keys[i].partition] = &t->keys[i];
  int64_t deadline = eh_now_ms() + 30000;
  int advanced = 0;
  int64_t applied_at_kill = 0;
  while (!advanced) {
    for (int p = 0; p < NPART && !advanced; p++) {
      char url[512];
      const char *body;
      size_t len;
      eh_key_answer_t a;
      key_url(t, "hits", probe[p]->name, url, sizeof(url));
      if (eh_http_get(t->http, url, 2000, &body, &len) == 200 &&
          eh_parse_key_answer(body, len, &a) == 0 && a.offset > end1[p] + KILL_AFTER) {
        advanced = 1;
        applied_at_kill = a.offset - end1[p];
      }
    }
    if (!advanced && atomic_load(&t->phase2_done))
      fail_msg("the server applied < %d phase-2 records of any partition while they were produced",
               KILL_AFTER);
    if (eh_now_ms() > deadline)
      fail_msg("no partition advanced within 30 s of producing");
    if (!advanced)
      eh_sleep_ms(10);
  }
  int mid = !atomic_load(&t->phase2_done);
  long delivered_at_kill = atomic_load(&t->delivered) - PHASE1_RECORDS;
  eh_proc_kill(&t->serve, SIGKILL, 0);
  fprintf(stderr,
          "  killed eddy serve (-9): %ld of %d phase-2 records delivered, a partition had "
          "applied %lld of them\n",
          delivered_at_kill, PHASE2_RECORDS, (long long)applied_at_kill);
  if (!mid)
    fail_msg("phase 2 finished before the kill: not a mid-stream kill");
  pthread_join(t->thread, NULL);
  t->thread_started = 0;
  assert_int_equal(atomic_load(&t->failed), 0);
  assert_int_equal(atomic_load(&t->misrouted), 0);
  assert_int_equal(atomic_load(&t->delivered), PHASE1_RECORDS + PHASE2_RECORDS);
  int64_t end2[NPART];
  get_end(t, end2);

  start_serve(t);
  check_all(t, end2);
  fprintf(stderr, "  total %lld ms\n", (long long)(eh_now_ms() - t_start));
  t->passed = 1;
}

/* A config with a mistake: eddy serve exits non-zero, naming file:line and
 * the field. */
static void bad_config_case(e2e_t *t, const char *name, const char *view_line, int line,
                            const char *field) {
  char path[512], text[1024], where[600];
  snprintf(path, sizeof(path), "%s/%s.yaml", t->dir, name);
  snprintf(text, sizeof(text),
           "app: e2e\n"
           "kafka: { bootstrap.servers: \"127.0.0.1:1\" }\n"
           "http: { listen: \"127.0.0.1:%d\" }\n"
           "data_dir: %s/data-%s\n"
           "views:\n"
           "  hits: { from: clicks, format: string, aggregate: count }\n"
           "%s\n",
           eh_free_port(), t->dir, name, view_line);
  assert_int_equal(eh_write_file(path, text), 0);
  char *argv[] = {(char *)eh_bin("EDDY_BIN"), "serve", path, NULL};
  eh_proc_t p;
  assert_int_equal(eh_proc_spawn(&p, t->dir, name, argv), 0);
  t->serve = p; /* so teardown kills it if we fail */
  int rc = eh_proc_wait(&p, 15000);
  t->serve = p;
  if (rc < 0)
    fail_msg("%s: eddy serve still running 15 s after a bad config", name);
  char *err = eh_read_file(p.err_path, NULL);
  assert_non_null(err);
  snprintf(where, sizeof(where), "%s.yaml:%d", name, line);
  if (rc == 0 || rc >= 128 || !eh_contains(err, where) || !eh_contains(err, field)) {
    fprintf(stderr, "%s: exit code %d, stderr:\n%s\n", name, rc, err);
    free(err);
    fail_msg("%s: want a non-zero exit and stderr naming '%s' and '%s'", name, where, field);
  }
  fprintf(stderr, "  %s: exit %d, %s", name, rc, err);
  free(err);
  memset(&t->serve, 0, sizeof(t->serve));
}

static void test_bad_config(void **state) {
  e2e_t *t = *state;
  bad_config_case(t, "bad_aggregate", "  totals: { from: clicks, format: json, aggregate: cnt }", 7,
                  "views.totals.aggregate");
  bad_config_case(t, "bad_format",
                  "  totals: { from: clicks, format: xml, aggregate: { n: count } }", 7,
                  "views.totals.format");
  t->passed = 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
      cmocka_unit_test_setup_teardown(test_count_kill_restart, setup, teardown),
  };
  return cmocka_run_group_tests_name("e2e_count", tests, NULL, NULL);
}
