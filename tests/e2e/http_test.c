/* End to end: the HTTP layer of eddy serve against eddy dev-kafka.
 *
 * Two servers read topic "events" (4 partitions) with a JSON count view
 * keyed by "user": a cleartext one (HTTP/1.1 and h2c) and, under another
 * app name (its own consumer group), a TLS one with a certificate made here
 * by `openssl req`. The test checks:
 *   - /readyz: 503 "no partitions assigned yet" right after start, 200 once
 *     every partition has caught up;
 *   - HTTP/1.1 keep-alive (one connection for many requests), h2c with prior
 *     knowledge, h2 over TLS (ALPN);
 *   - a min_offset wait parked before its record is produced and answered
 *     after it, and one that times out (504 with the positions reached);
 *   - 414, 413, 400 naming the parameter, 404, 405;
 *   - /metrics: records in = records produced, bad records by reason, lag 0,
 *     4 partitions assigned, query counts and durations, open connections;
 *   - SIGTERM with a request parked: it gets 503 and the server exits 0
 *     (no leak under ASan). */
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

#include "common/murmur2.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NUSERS 20
#define NGOOD 400
#define NBAD 7 /* not JSON: "invalid json"-like reason */
#define CATCHUP_MS 60000

typedef struct {
  char *data;
  size_t len, cap;
} body_t;

typedef struct {
  char dir[256];
  char bootstrap[256];
  char cert[512], key[512];
  int port, tls_port;
  eh_proc_t kafka, serve, tls;
  rd_kafka_t *producer;
  pthread_mutex_t mu;
  int64_t end[NPART];
  atomic_long delivered, failed;
  int64_t count[NUSERS];
  int passed;
} ht_t;

static ht_t *T;                         /* the group state, for the tests */
static struct curl_slist *resolve_list; /* CURLOPT_RESOLVE for the TLS server */

/* ---- HTTP with libcurl ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  body_t *b = arg;
  size_t len = size * n;
  if (b->len + len + 1 > b->cap) {
    size_t cap = (b->len + len + 1) * 2;
    char *d = realloc(b->data, cap);
    if (d == NULL) return 0;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, len);
  b->len += len;
  b->data[b->len] = '\0';
  return len;
}

typedef struct {
  long status;
  long version;  /* CURL_HTTP_VERSION_* of the answer */
  long connects; /* new connections this request made */
  int64_t ms;
  body_t body;
} res_t;

static void res_free(res_t *r) { free(r->body.data); }

/* Performs @p method @p url on @p c (reused: keep-alive), http version
 * @p ver (0: libcurl's default, HTTP/1.1 for http://). */
static void do_req(CURL *c, const char *method, const char *url, long ver, res_t *r) {
  memset(r, 0, sizeof *r);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, ver ? ver : (long)CURL_HTTP_VERSION_1_1);
  if (T->cert[0]) {
    curl_easy_setopt(c, CURLOPT_CAINFO, T->cert); /* verify against the self-signed cert */
  }
  int64_t t0 = eh_now_ms();
  CURLcode rc = curl_easy_perform(c);
  r->ms = eh_now_ms() - t0;
  if (rc != CURLE_OK) {
    fprintf(stderr, "%s %.100s: %s\n", method, url, curl_easy_strerror(rc));
    r->status = 0;
    r->body.data = r->body.data ? r->body.data : calloc(1, 1);
    return;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &r->version);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->connects);
  if (r->body.data == NULL) {
    r->body.data = calloc(1, 1);
    assert_non_null(r->body.data);
  }
}

static CURL *new_curl(int tls) {
  CURL *c = curl_easy_init();
  assert_non_null(c);
  if (tls) {
    if (resolve_list == NULL) {
      char resolve[64];
      snprintf(resolve, sizeof resolve, "localhost:%d:127.0.0.1", T->tls_port);
      resolve_list = curl_slist_append(NULL, resolve);
    }
    curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_list);
  }
  return c;
}

static void url_of(char *out, size_t cap, int tls, const char *path) {
  if (tls)
    snprintf(out, cap, "https://localhost:%d%s", T->tls_port, path);
  else
    snprintf(out, cap, "http://127.0.0.1:%d%s", T->port, path);
}

static long get(CURL *c, int tls, const char *path, long ver, res_t *r) {
  char url[16384];
  url_of(url, sizeof url, tls, path);
  do_req(c, "GET", url, ver, r);
  return r->status;
}

/* ---- Kafka ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  ht_t *t = opaque;
  if (m->err) {
    atomic_fetch_add(&t->failed, 1);
    return;
  }
  pthread_mutex_lock(&t->mu);
  if (m->partition >= 0 && m->partition < NPART && m->offset + 1 > t->end[m->partition])
    t->end[m->partition] = m->offset + 1;
  pthread_mutex_unlock(&t->mu);
  atomic_fetch_add(&t->delivered, 1);
}

static void produce(ht_t *t, const char *key, const char *value) {
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC("events"), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(t->producer, 10);
      continue;
    }
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    return;
  }
}

static void produce_user(ht_t *t, int u) {
  char key[32], value[96];
  snprintf(key, sizeof key, "user-%02d", u);
  snprintf(value, sizeof value, "{\"user\":\"user-%02d\",\"page\":\"/p\"}", u);
  produce(t, key, value);
  t->count[u]++;
}

static rd_kafka_t *make_producer(ht_t *t) {
  rd_kafka_t *rk = eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
  if (rk == NULL) fail_msg("cannot create the producer");
  return rk;
}

/* ---- processes ---- */

static const char *eddy_bin(void) { return eh_bin("EDDY_BIN"); }

static void start_serve(ht_t *t, eh_proc_t *p, const char *name, int tls) {
  char text[2048], path[600];
  int port = eh_free_port();
  assert_true(port > 0);
  char tls_line[1200] = "";
  if (tls)
    snprintf(tls_line, sizeof tls_line, ", threads: 2, tls: { cert: \"%s\", key: \"%s\" }", t->cert,
             t->key);
  snprintf(text, sizeof text,
           "app: %s\n"
           "kafka:\n"
           "  bootstrap.servers: \"%s\"\n"
           "  session.timeout.ms: 6000\n"
           "  fetch.wait.max.ms: 10\n"
           "http: { listen: \"127.0.0.1:%d\", ready_max_lag: 0%s }\n"
           "data_dir: %s/data-%s\n"
           "commit_interval_ms: 50\n"
           "views:\n"
           "  visits: { from: events, format: json, aggregate: count }\n",
           name, t->bootstrap, port, tls_line, t->dir, name);
  snprintf(path, sizeof path, "%s/%s.yaml", t->dir, name);
  assert_int_equal(eh_write_file(path, text), 0);
  char *argv[] = {(char *)eddy_bin(), "serve", path, NULL};
  assert_int_equal(eh_proc_spawn(p, t->dir, name, argv), 0);
  if (tls)
    t->tls_port = port;
  else
    t->port = port;
}

static void wait_healthz(ht_t *t, eh_proc_t *p, int tls) {
  CURL *c = new_curl(tls);
  int64_t deadline = eh_now_ms() + 30000;
  for (;;) {
    res_t r;
    long st = get(c, tls, "/healthz", 0, &r);
    res_free(&r);
    if (st == 200) break;
    if (!eh_proc_alive(p)) fail_msg("eddy serve exited before /healthz answered");
    if (eh_now_ms() > deadline) fail_msg("no /healthz within 30 s");
    eh_sleep_ms(30);
  }
  curl_easy_cleanup(c);
  (void)t;
}

static int group_setup(void **state) {
  ht_t *t = calloc(1, sizeof *t);
  if (t == NULL) return -1;
  T = t;
  pthread_mutex_init(&t->mu, NULL);
  if (eh_tmpdir("eddy-http-", t->dir, sizeof t->dir) != 0) return -1;
  curl_global_init(CURL_GLOBAL_ALL);
  *state = t;
  return 0;
}

static int group_teardown(void **state) {
  ht_t *t = *state;
  if (!t->passed) {
    if (t->serve.pid) eh_proc_dump_err(&t->serve, "eddy serve (cleartext)", 4000);
    if (t->tls.pid) eh_proc_dump_err(&t->tls, "eddy serve (tls)", 4000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  eh_proc_kill(&t->tls, SIGKILL, 0);
  if (t->producer) {
    rd_kafka_flush(t->producer, 2000);
    rd_kafka_destroy(t->producer);
  }
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  if (getenv("EDDY_E2E_KEEP"))
    fprintf(stderr, "kept %s\n", t->dir);
  else
    eh_rm_rf(t->dir);
  curl_slist_free_all(resolve_list);
  curl_global_cleanup();
  pthread_mutex_destroy(&t->mu);
  free(t);
  return 0;
}

/* ---- tests ---- */

/* Starts everything; /readyz says no partition is assigned yet. */
static void test_start_and_not_ready(void **state) {
  ht_t *t = *state;
  char *kargv[] = {(char *)eddy_bin(), "dev-kafka", "--partitions", "4", "--topic", "events", NULL};
  assert_int_equal(eh_proc_spawn(&t->kafka, t->dir, "dev-kafka", kargv), 0);
  if (eh_proc_first_line(&t->kafka, t->bootstrap, sizeof t->bootstrap, 20000) != 0)
    fail_msg("eddy dev-kafka printed no bootstrap line");
  snprintf(t->cert, sizeof t->cert, "%s/cert.pem", t->dir);
  snprintf(t->key, sizeof t->key, "%s/key.pem", t->dir);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
           "-addext subjectAltName=DNS:localhost -days 1 -keyout '%s' -out '%s' 2>/dev/null",
           t->key, t->cert);
  assert_int_equal(system(cmd), 0);
  start_serve(t, &t->serve, "plain", 0);
  start_serve(t, &t->tls, "secure", 1);
  wait_healthz(t, &t->serve, 0);

  /* the mock's first group join takes 3 s: nothing is assigned yet */
  CURL *c = new_curl(0);
  res_t r;
  assert_int_equal(get(c, 0, "/readyz", 0, &r), 503);
  if (!eh_contains(r.body.data, "no partitions assigned yet"))
    fail_msg("/readyz body: %s", r.body.data);
  res_free(&r);
  curl_easy_cleanup(c);
}

/* Produces the data set and waits until /readyz says ready (lag 0). */
static void test_catch_up_ready(void **state) {
  ht_t *t = *state;
  t->producer = make_producer(t);
  for (int i = 0; i < NGOOD; i++)
    produce_user(t, (i * 7) % NUSERS);
  for (int i = 0; i < NBAD; i++)
    produce(t, "junk", "this is {not json");
  assert_int_equal(rd_kafka_flush(t->producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(atomic_load(&t->delivered), NGOOD + NBAD);

  CURL *c = new_curl(0);
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  for (;;) {
    res_t r;
    long st = get(c, 0, "/readyz", 0, &r);
    if (st == 200) {
      assert_string_equal(r.body.data, "ready\n");
      res_free(&r);
      break;
    }
    assert_int_equal(st, 503);
    if (eh_now_ms() > deadline) fail_msg("not ready in time: %s", r.body.data);
    res_free(&r);
    eh_sleep_ms(100);
  }
  /* every key answers its count */
  for (int u = 0; u < NUSERS; u++) {
    char path[64];
    snprintf(path, sizeof path, "/v1/views/visits/keys/user-%02d", u);
    res_t r;
    assert_int_equal(get(c, 0, path, 0, &r), 200);
    char want[64];
    snprintf(want, sizeof want, "\"count\":%lld", (long long)t->count[u]);
    if (!eh_contains(r.body.data, want)) fail_msg("%s: want %s: %s", path, want, r.body.data);
    res_free(&r);
  }
  curl_easy_cleanup(c);
}

static void test_keepalive_and_h2c(void **state) {
  (void)state;
  CURL *c = new_curl(0);
  res_t r;
  for (int i = 0; i < 20; i++) {
    assert_int_equal(get(c, 0, "/v1/views/visits/keys/user-01", 0, &r), 200);
    assert_int_equal(r.version, CURL_HTTP_VERSION_1_1);
    if (i > 0) assert_int_equal(r.connects, 0); /* the same connection */
    res_free(&r);
  }
  curl_easy_cleanup(c);

  /* h2c: Debian 12's libcurl 7.88.1 cannot reuse a prior-knowledge
   * connection ("Error in the HTTP2 framing layer" on the second request:
   * curl bug #10634, fixed after 7.88.1), so one connection per request;
   * the server does answer later streams of an h2c connection (TLS h2 below
   * reuses its connection). */
  for (int i = 0; i < 5; i++) {
    c = new_curl(0);
    assert_int_equal(
        get(c, 0, "/v1/views/visits/keys/user-02", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, &r), 200);
    assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
    assert_true(eh_contains(r.body.data, "\"count\":"));
    res_free(&r);
    curl_easy_cleanup(c);
  }
  c = new_curl(0);
  assert_int_equal(get(c, 0, "/metrics", CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, &r), 200);
  res_free(&r);
  curl_easy_cleanup(c);
}

static void test_tls_h2(void **state) {
  ht_t *t = *state;
  wait_healthz(t, &t->tls, 1);
  CURL *c = new_curl(1);
  res_t r;
  /* the TLS instance has its own group: wait until it has caught up too */
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  while (get(c, 1, "/readyz", CURL_HTTP_VERSION_2TLS, &r) != 200) {
    if (eh_now_ms() > deadline) fail_msg("TLS instance not ready: %ld %s", r.status, r.body.data);
    res_free(&r);
    eh_sleep_ms(100);
  }
  assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
  res_free(&r);
  char want[64];
  snprintf(want, sizeof want, "\"count\":%lld", (long long)t->count[3]);
  assert_int_equal(get(c, 1, "/v1/views/visits/keys/user-03", CURL_HTTP_VERSION_2TLS, &r), 200);
  assert_int_equal(r.version, CURL_HTTP_VERSION_2_0);
  assert_int_equal(r.connects, 0); /* the h2 connection of /readyz, reused */
  if (!eh_contains(r.body.data, want)) fail_msg("want %s: %s", want, r.body.data);
  res_free(&r);
  /* HTTP/1.1 over TLS too (ALPN http/1.1) */
  assert_int_equal(get(c, 1, "/healthz", CURL_HTTP_VERSION_1_1, &r), 200);
  assert_int_equal(r.version, CURL_HTTP_VERSION_1_1);
  res_free(&r);
  curl_easy_cleanup(c);
}

/* The partition and offset of a key answer. */
static void key_position(CURL *c, int u, int64_t *partition, int64_t *offset) {
  char path[64];
  snprintf(path, sizeof path, "/v1/views/visits/keys/user-%02d", u);
  res_t r;
  assert_int_equal(get(c, 0, path, 0, &r), 200);
  int is_int;
  double d;
  assert_int_equal(eh_json_get_number(r.body.data, r.body.len, "partition", &is_int, partition, &d),
                   0);
  assert_int_equal(eh_json_get_number(r.body.data, r.body.len, "offset", &is_int, offset, &d), 0);
  res_free(&r);
}

typedef struct {
  char path[256];
  long ver;
  res_t res;
  atomic_int done;
} bg_t;

static void *bg_get(void *arg) {
  bg_t *b = arg;
  CURL *c = new_curl(0);
  get(c, 0, b->path, b->ver, &b->res);
  curl_easy_cleanup(c);
  atomic_store(&b->done, 1);
  return NULL;
}

static void test_min_offset_wait(void **state) {
  ht_t *t = *state;
  CURL *c = new_curl(0);
  int64_t p, off;
  key_position(c, 5, &p, &off);
  assert_int_equal(p, ed_partition_for_key("user-05", 7, NPART));

  /* two waiters (HTTP/1.1 and h2c) parked before the record exists */
  bg_t b[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    memset(&b[i], 0, sizeof b[i]);
    snprintf(b[i].path, sizeof b[i].path,
             "/v1/views/visits/keys/user-05?min_offset=%lld:%lld&timeout_ms=20000", (long long)p,
             (long long)off + 1);
    b[i].ver = i == 0 ? 0 : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    assert_int_equal(pthread_create(&th[i], NULL, bg_get, &b[i]), 0);
  }
  eh_sleep_ms(500);
  assert_int_equal(atomic_load(&b[0].done), 0);
  assert_int_equal(atomic_load(&b[1].done), 0);
  int64_t produced_at = eh_now_ms();
  produce_user(t, 5);
  rd_kafka_flush(t->producer, 5000);
  for (int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
    res_t *r = &b[i].res;
    if (r->status != 200) fail_msg("waiter %d: %ld %s", i, r->status, r->body.data);
    assert_true(r->ms >= 500);
    assert_true(eh_now_ms() - produced_at < 10000);
    char want[64];
    snprintf(want, sizeof want, "\"count\":%lld", (long long)t->count[5]);
    if (!eh_contains(r->body.data, want)) fail_msg("want %s: %s", want, r->body.data);
    int is_int;
    int64_t o;
    double d;
    assert_int_equal(eh_json_get_number(r->body.data, r->body.len, "offset", &is_int, &o, &d), 0);
    assert_true(o >= off + 1);
    res_free(r);
  }

  /* already reached: answered at once */
  char path[256];
  res_t r;
  snprintf(path, sizeof path, "/v1/views/visits/keys/user-05?min_offset=%lld:%lld", (long long)p,
           (long long)off);
  assert_int_equal(get(c, 0, path, 0, &r), 200);
  assert_true(r.ms < 1000);
  res_free(&r);
  curl_easy_cleanup(c);
}

static void test_min_offset_timeout(void **state) {
  (void)state;
  CURL *c = new_curl(0);
  int64_t p, off;
  key_position(c, 6, &p, &off);
  char path[256], want[128];
  snprintf(path, sizeof path, "/v1/views/visits/keys/user-06?min_offset=%lld:%lld&timeout_ms=400",
           (long long)p, (long long)off + 1000);
  res_t r;
  assert_int_equal(get(c, 0, path, 0, &r), 504);
  assert_true(r.ms >= 390 && r.ms < 5000);
  assert_true(eh_contains(r.body.data, "\"code\":\"timeout\""));
  snprintf(want, sizeof want, "partition %lld reached offset %lld, wanted %lld", (long long)p,
           (long long)off, (long long)off + 1000);
  if (!eh_contains(r.body.data, want)) fail_msg("want '%s': %s", want, r.body.data);
  snprintf(want, sizeof want, "\"positions\":[{\"partition\":%lld,\"offset\":%lld", (long long)p,
           (long long)off);
  if (!eh_contains(r.body.data, want)) fail_msg("want '%s': %s", want, r.body.data);
  res_free(&r);
  /* the same over h2c */
  assert_int_equal(get(c, 0, path, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE, &r), 504);
  res_free(&r);
  curl_easy_cleanup(c);
}

static void expect_status(CURL *c, const char *method, const char *path, long want,
                          const char *needle) {
  char url[16384];
  url_of(url, sizeof url, 0, path);
  res_t r;
  do_req(c, method, url, 0, &r);
  if (r.status != want || (needle && !eh_contains(r.body.data, needle)))
    fail_msg("%s %.80s: want %ld with '%s', got %ld: %s", method, path, want, needle ? needle : "",
             r.status, r.body.data ? r.body.data : "");
  res_free(&r);
}

static void test_errors(void **state) {
  (void)state;
  CURL *c = new_curl(0);
  char *path = malloc(9100);
  assert_non_null(path);
  strcpy(path, "/v1/views/visits/keys/");
  memset(path + strlen(path), 'a', 9000);
  path[22 + 9000] = '\0';
  expect_status(c, "GET", path, 414, "limit is 8192 bytes");
  strcpy(path, "/v1/views/visits/keys/");
  memset(path + 22, 'b', 512);
  path[22 + 512] = '\0';
  expect_status(c, "GET", path, 413, "the key is 512 bytes; the limit is 511 bytes");
  /* 511 encoded as %XX is 1533 bytes of path but 511 of key: fine (404) */
  strcpy(path, "/v1/views/visits/keys/");
  for (int i = 0; i < 511; i++)
    memcpy(path + 22 + 3 * i, "%41", 3);
  path[22 + 3 * 511] = '\0';
  expect_status(c, "GET", path, 404, NULL);
  free(path);
  expect_status(c, "GET", "/v1/views/visits/keys/user-01?min_offset=abc", 400, "'min_offset'");
  expect_status(c, "GET", "/v1/views/visits/keys/user-01?min_offset=9:1", 400,
                "partition 9 is out of range");
  expect_status(c, "GET", "/v1/views/visits/keys/user-01?min_offset=0:1&timeout_ms=99999", 400,
                "'timeout_ms'");
  expect_status(c, "GET", "/v1/views/nope/keys/a", 404, "not_found");
  expect_status(c, "GET", "/v1/views/nope/keys/a?min_offset=0:1", 404, "not_found");
  expect_status(c, "GET", "/nowhere", 404, "not_found");
  expect_status(c, "DELETE", "/v1/views/visits/keys/user-01", 405, "method_not_allowed");
  expect_status(c, "POST", "/healthz", 405, NULL);
  expect_status(c, "PUT", "/metrics", 405, NULL);
  curl_easy_cleanup(c);
}

/* The value of the sample line starting with @p prefix (e.g.
 * `eddy_commits_total{view="visits"} `), or -1. */
static double sample(const char *text, const char *prefix) {
  for (const char *p = text; p && *p;) {
    if (strncmp(p, prefix, strlen(prefix)) == 0) return strtod(p + strlen(prefix), NULL);
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

static void test_metrics(void **state) {
  ht_t *t = *state;
  CURL *c = new_curl(0);
  res_t r;
  assert_int_equal(get(c, 0, "/metrics", 0, &r), 200);
  const char *m = r.body.data;
  char *ctype = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
  assert_non_null(ctype);
  assert_true(eh_contains(ctype, "text/plain; version=0.0.4"));
  long produced = atomic_load(&t->delivered);
  double in = sample(m, "eddy_records_in_total{view=\"visits\"} ");
  if (in != (double)produced) fail_msg("records_in %g, produced %ld\n%s", in, produced, m);
  double bad = 0;
  for (const char *p = strstr(m, "eddy_bad_records_total{view=\"visits\",reason=\""); p;
       p = strstr(p + 1, "eddy_bad_records_total{view=\"visits\",reason=\""))
    bad += strtod(strstr(p, "} ") + 2, NULL);
  assert_true(bad == NBAD);
  assert_true(sample(m, "eddy_late_records_total{view=\"visits\"} ") == 0);
  assert_true(sample(m, "eddy_commits_total{view=\"visits\"} ") >= 1);
  assert_true(sample(m, "eddy_commit_duration_seconds_count{view=\"visits\"} ") >= 1);
  assert_true(sample(m, "eddy_partitions_assigned{view=\"visits\"} ") == NPART);
  for (int p = 0; p < NPART; p++) {
    char pre[96];
    snprintf(pre, sizeof pre, "eddy_consumer_lag{view=\"visits\",partition=\"%d\"} ", p);
    if (sample(m, pre) != 0) fail_msg("lag of partition %d not 0:\n%s", p, m);
  }
  assert_true(sample(m, "eddy_queries_total{endpoint=\"key\",status=\"200\"} ") >= NUSERS + 25);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"key\",status=\"504\"} ") == 2);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"key\",status=\"414\"} ") == 1);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"key\",status=\"413\"} ") == 1);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"key\",status=\"400\"} ") == 3);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"readyz\",status=\"503\"} ") >= 1);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"readyz\",status=\"200\"} ") >= 1);
  assert_true(sample(m, "eddy_queries_total{endpoint=\"other\",status=\"404\"} ") == 1);
  double n = sample(m, "eddy_query_duration_seconds_count{endpoint=\"key\"} ");
  double sum = sample(m, "eddy_query_duration_seconds_sum{endpoint=\"key\"} ");
  assert_true(n >= NUSERS + 30);
  assert_true(sum >= 0.8 && sum < 60); /* the 504s alone waited 0.8 s */
  assert_true(sample(m, "eddy_http_connections_open ") >= 1);
  assert_true(eh_contains(m, "# TYPE eddy_query_duration_seconds histogram\n"));
  assert_true(eh_contains(m, "# HELP eddy_consumer_lag "));
  res_free(&r);
  curl_easy_cleanup(c);
}

/* SIGTERM while a request is parked: it gets a 503 and the server exits 0
 * (under ASan that also means nothing leaked). */
static void test_shutdown_with_parked(void **state) {
  ht_t *t = *state;
  bg_t b;
  memset(&b, 0, sizeof b);
  snprintf(b.path, sizeof b.path, "/v1/views/visits/keys/user-01?min_offset=0:999999999");
  b.ver = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, bg_get, &b), 0);
  eh_sleep_ms(300);
  assert_int_equal(atomic_load(&b.done), 0);
  assert_int_equal(eh_proc_kill(&t->serve, SIGTERM, 20000), 0);
  pthread_join(th, NULL);
  assert_int_equal(b.res.status, 503);
  res_free(&b.res);
  assert_int_equal(eh_proc_kill(&t->tls, SIGTERM, 20000), 0);
  t->passed = 1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_and_not_ready),
      cmocka_unit_test(test_catch_up_ready),
      cmocka_unit_test(test_keepalive_and_h2c),
      cmocka_unit_test(test_tls_h2),
      cmocka_unit_test(test_min_offset_wait),
      cmocka_unit_test(test_min_offset_timeout),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_shutdown_with_parked),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
