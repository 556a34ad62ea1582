/* End to end: routing (server/route.h). Any instance answers any query.
 *
 * Three `eddy serve` instances (a, b, c) on one eddy dev-kafka share a
 * count view over "clicks" (6 partitions). The data set is known: key
 * k000..k299, key i produced 1 + i % 5 times. Once every instance's map
 * shows every partition running with the same owners and the table is
 * complete, from every instance:
 *  (a) every key answers its count, with eddy-served-by naming the owner
 *      the map names for the key's partition;
 *  (b) a range scan with limit 37 returns the whole table in key order
 *      through its cursors, with a position for every partition;
 *  (c) a multi-get of all 300 keys returns each count in request order;
 *  and protobuf answers (Accept) come through forwarding and merging alike;
 *  (d) a request carrying eddy-forwarded for a partition the instance does
 *      not own gets 503 (it is not forwarded again); one it owns, 200.
 * And /metrics counts the forwarded requests per peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/eddy.pb-c.h"
#include "tests/e2e/harness.h"

#define NPART 6
#define NINST 3
#define NKEYS 300
#define LIMIT 37
#define CONVERGE_MS 40000

static const char *const ids[NINST] = {"a", "b", "c"};

typedef struct {
  char dir[256];
  char bootstrap[256];
  eh_proc_t kafka;
  struct {
    char dir[320];
    char config[400];
    int port;
    eh_proc_t serve;
  } in[NINST];
  eh_http_t *http;
  rd_kafka_t *producer;
  CURL *curl;
  int passed;
} rt_t;

/* ---- HTTP with headers (libcurl) ---- */

typedef struct {
  char *body;
  size_t len, cap;
  char served_by[128];
} answer_t;

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  answer_t *a = arg;
  size_t m = size * n;
  if (a->len + m + 1 > a->cap) {
    a->cap = (a->len + m + 1) * 2;
    a->body = realloc(a->body, a->cap);
    assert_non_null(a->body);
  }
  memcpy(a->body + a->len, p, m);
  a->len += m;
  a->body[a->len] = '\0';
  return m;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  answer_t *a = arg;
  size_t m = size * n;
  static const char name[] = "eddy-served-by:";
  if (m > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
    const char *v = p + sizeof name - 1;
    while (*v == ' ')
      v++;
    size_t vl = (size_t)(p + m - v);
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
      vl--;
    snprintf(a->served_by, sizeof a->served_by, "%.*s", (int)vl, v);
  }
  return m;
}

/* GET (@p post NULL) or POST of JSON @p post, with extra header @p hdr
 * (NULL: none). Returns the status; the answer in *a (reset first). */
static long request(rt_t *t, const char *url, const char *post, const char *hdr, answer_t *a) {
  a->len = 0;
  if (a->body) a->body[0] = '\0';
  a->served_by[0] = '\0';
  CURL *c = t->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  struct curl_slist *hs = NULL;
  if (hdr) hs = curl_slist_append(hs, hdr);
  if (post) {
    hs = curl_slist_append(hs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hs);
  if (a->body == NULL) on_data("", 0, 0, a);
  return status;
}

/* ---- the known data set ---- */

static void key_of(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }
static int count_of(int i) { return 1 + i % 5; }

static int64_t num(const char *obj, size_t len, const char *name) {
  int is_int = 0;
  int64_t i = -999;
  double d = 0;
  if (eh_json_get_number(obj, len, name, &is_int, &i, &d) != 0 || !is_int) return -999;
  return i;
}

/* The count in a row's "value" ({"count":N}), or -1. */
static int64_t row_count(const char *row, size_t len) {
  char v[256];
  if (eh_json_get_text(row, len, "value", v, sizeof v) != 0) return -1;
  return num(v, strlen(v), "count");
}

/* ---- the map ---- */

/* Fills owners[p] (instance index) from instance @p k's /v1/cluster when
 * every partition has a running owner. Returns NULL or what is missing. */
static const char *read_owners(rt_t *t, int k, int *owners) {
  static char views[65536], list[65536], s[256];
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/cluster", t->in[k].port);
  const char *body;
  size_t len;
  if (eh_http_get(t->http, url, 3000, &body, &len) != 200) return "cluster: status not 200";
  if (eh_json_get_text(body, len, "views", views, sizeof views) != 0) return "no catalog";
  size_t vpos = 0, vlen;
  const char *v;
  if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 1) return "empty catalog";
  if (eh_json_get_text(v, vlen, "owners", list, sizeof list) != 0) return "no owners";
  size_t pos = 0, el;
  const char *e;
  int np = 0;
  while (eh_json_array_next(list, strlen(list), &pos, &e, &el) == 1) {
    if (np >= NPART) return "too many partitions";
    if (eh_json_get_text(e, el, "state", s, sizeof s) != 0 || strcmp(s, "running") != 0)
      return "a partition is not running";
    if (eh_json_get_text(e, el, "instance_id", s, sizeof s) != 0) return "no owner";
    owners[np] = -1;
    for (int i = 0; i < NINST; i++)
      if (strcmp(s, ids[i]) == 0) owners[np] = i;
    if (owners[np] < 0) return "unknown owner";
    np++;
  }
  return np == NPART ? NULL : "not every partition listed";
}

/* Waits until all three maps agree, every partition running, each
 * instance owning some, and instance 0 answers every key exactly. */
static void wait_ready(rt_t *t, int *owners) {
  int64_t t0 = eh_now_ms(), deadline = t0 + CONVERGE_MS;
  const char *why = "no answer";
  answer_t a = {0};
  for (;;) {
    int ok = 1, ref[NPART];
    for (int k = 0; ok && k < NINST; k++) {
      if (!eh_proc_alive(&t->in[k].serve)) fail_msg("eddy serve %s died", ids[k]);
      why = read_owners(t, k, k == 0 ? ref : owners);
      if (why != NULL)
        ok = 0;
      else if (k > 0 && memcmp(ref, owners, sizeof ref) != 0) {
        why = "owners differ between instances";
        ok = 0;
      }
    }
    if (ok) {
      memcpy(owners, ref, sizeof ref);
      int has[NINST] = {0};
      for (int p = 0; p < NPART; p++)
        has[owners[p]] = 1;
      if (!has[0] || !has[1] || !has[2]) {
        why = "an instance owns no partition";
        ok = 0;
      }
    }
    for (int i = 0; ok && i < NKEYS; i++) { /* the table is complete */
      char key[16], url[256];
      key_of(i, key, sizeof key);
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[0].port, key);
      if (request(t, url, NULL, NULL, &a) != 200 || row_count(a.body, a.len) != count_of(i)) {
        why = "the table is not complete yet";
        ok = 0;
      }
    }
    if (ok) {
      fprintf(stderr, "  ready in %lld ms; owners:", (long long)(eh_now_ms() - t0));
      for (int p = 0; p < NPART; p++)
        fprintf(stderr, " %s", ids[owners[p]]);
      fprintf(stderr, "\n");
      free(a.body);
      return;
    }
    if (eh_now_ms() > deadline) fail_msg("not ready in time: %s", why);
    eh_sleep_ms(200);
  }
}

/* ---- the checks ---- */

static void check_keys(rt_t *t, int k, const int *owners) {
  answer_t a = {0};
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    key_of(i, key, sizeof key);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
    long st = request(t, url, NULL, NULL, &a);
    if (st != 200) fail_msg("from %s: key %s: status %ld: %s", ids[k], key, st, a.body);
    assert_int_equal(row_count(a.body, a.len), count_of(i));
    int64_t p = num(a.body, a.len, "partition");
    assert_true(p >= 0 && p < NPART);
    if (strcmp(a.served_by, ids[owners[p]]) != 0)
      fail_msg("from %s: key %s (partition %lld) served by '%s', the map says %s", ids[k], key,
               (long long)p, a.served_by, ids[owners[p]]);
  }
  free(a.body);
}

static void check_scan(rt_t *t, int k) {
  answer_t a = {0};
  static char rows[1 << 20], cursor[1024], positions[8192];
  char prev[64] = "";
  int seen = 0, pages = 0;
  cursor[0] = '\0';
  for (;;) {
    char url[2048];
    if (cursor[0])
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/rows?limit=%d&cursor=%s",
               t->in[k].port, LIMIT, cursor);
    else
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/rows?limit=%d",
               t->in[k].port, LIMIT);
    long st = request(t, url, NULL, NULL, &a);
    if (st != 200) fail_msg("from %s: scan page %d: status %ld: %s", ids[k], pages, st, a.body);
    for (int i = 0; i < NINST; i++) /* merged from every owner's page */
      if (strstr(a.served_by, ids[i]) == NULL)
        fail_msg("from %s: scan page %d served by '%s'", ids[k], pages, a.served_by);
    pages++;
    assert_int_equal(eh_json_get_text(a.body, a.len, "rows", rows, sizeof rows), 0);
    assert_int_equal(eh_json_get_text(a.body, a.len, "positions", positions, sizeof positions), 0);
    size_t ppos = 0, pl;
    const char *pe;
    int npos = 0;
    while (eh_json_array_next(positions, strlen(positions), &ppos, &pe, &pl) == 1)
      assert_int_equal(num(pe, pl, "partition"), npos++);
    assert_int_equal(npos, NPART);
    size_t pos = 0, el;
    const char *e;
    int n = 0;
    while (eh_json_array_next(rows, strlen(rows), &pos, &e, &el) == 1) {
      char key[64];
      assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
      if (strcmp(key, prev) <= 0) fail_msg("from %s: key %s after %s", ids[k], key, prev);
      snprintf(prev, sizeof prev, "%s", key);
      assert_int_equal(key[0], 'k');
      int i = atoi(key + 1);
      assert_int_equal(i, seen); /* k000..k299 in order: none skipped */
      assert_int_equal(row_count(e, el), count_of(i));
      seen++;
      n++;
    }
    assert_true(n <= LIMIT);
    if (eh_json_get_text(a.body, a.len, "next_cursor", cursor, sizeof cursor) != 0) break;
    assert_int_equal(n, LIMIT);
  }
  assert_int_equal(seen, NKEYS);
  assert_int_equal(pages, (NKEYS + LIMIT - 1) / LIMIT);
  free(a.body);
}

static void check_multi_get(rt_t *t, int k) {
  static char body[16384], rows[1 << 20];
  size_t bl = 0;
  body[bl++] = '[';
  for (int i = NKEYS - 1; i >= 0; i--) { /* reverse order: answers follow the request */
    char key[16];
    key_of(i, key, sizeof key);
    bl += (size_t)snprintf(body + bl, sizeof body - bl, "%s\"%s\"", i == NKEYS - 1 ? "" : ",", key);
  }
  snprintf(body + bl, sizeof body - bl, ",\"nosuchkey\"]");
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys", t->in[k].port);
  answer_t a = {0};
  long st = request(t, url, body, NULL, &a);
  if (st != 200) fail_msg("from %s: multi-get: status %ld: %s", ids[k], st, a.body);
  assert_int_equal(eh_json_get_text(a.body, a.len, "rows", rows, sizeof rows), 0);
  size_t pos = 0, el;
  const char *e;
  int n = 0;
  while (eh_json_array_next(rows, strlen(rows), &pos, &e, &el) == 1) {
    char key[64], missing[16];
    assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
    if (n == NKEYS) {
      assert_string_equal(key, "nosuchkey");
      assert_int_equal(eh_json_get_text(e, el, "missing", missing, sizeof missing), 0);
      assert_string_equal(missing, "true");
    } else {
      char want[16];
      key_of(NKEYS - 1 - n, want, sizeof want);
      assert_string_equal(key, want);
      assert_int_equal(row_count(e, el), count_of(NKEYS - 1 - n));
    }
    n++;
  }
  assert_int_equal(n, NKEYS + 1);
  /* served by all three (each owns partitions) */
  for (int i = 0; i < NINST; i++)
    assert_non_null(strstr(a.served_by, ids[i]));
  free(a.body);
}

/* (d) forwarded requests are answered here or refused, never forwarded. */
static void check_no_second_hop(rt_t *t, const int *owners) {
  answer_t a = {0};
  for (int k = 0; k < NINST; k++) {
    int refused = 0, served = 0;
    for (int i = 0; i < NKEYS && (!refused || !served); i++) {
      char key[16], url[256];
      key_of(i, key, sizeof key);
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port,
               key);
      long st = request(t, url, NULL, "eddy-forwarded: test", &a);
      int64_t p = -1;
      if (st == 200) {
        p = num(a.body, a.len, "partition");
        assert_int_equal(owners[p], k); /* answered only by the owner */
        assert_string_equal(a.served_by, ids[k]);
        served++;
      } else {
        if (st != 503) fail_msg("from %s: forwarded key %s: status %ld: %s", ids[k], key, st, a.body);
        assert_non_null(strstr(a.body, "\"unavailable\""));
        assert_non_null(strstr(a.body, "of view 'counts'"));
        assert_string_equal(a.served_by, ids[k]);
        refused++;
      }
    }
    assert_true(refused > 0 && served > 0);
  }
  free(a.body);
}

/* Protobuf answers come through forwarding and merging too: a key of each
 * partition and the first page of a scan, from instance @p k. */
static void check_protobuf(rt_t *t, int k, const int *owners) {
  answer_t a = {0};
  int seen[NPART] = {0};
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    key_of(i, key, sizeof key);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
    assert_int_equal(request(t, url, NULL, "Accept: application/x-protobuf", &a), 200);
    Eddy__V1__Row *r = eddy__v1__row__unpack(NULL, a.len, (const uint8_t *)a.body);
    assert_non_null(r);
    assert_true(r->partition >= 0 && r->partition < NPART);
    assert_int_equal(r->key.len, strlen(key));
    assert_memory_equal(r->key.data, key, r->key.len);
    assert_non_null(r->value);
    assert_int_equal(r->value->n_columns, 1);
    assert_string_equal(r->value->columns[0]->name, "count");
    assert_int_equal(r->value->columns[0]->int_value, count_of(i));
    assert_string_equal(a.served_by, ids[owners[r->partition]]);
    seen[r->partition] = 1;
    eddy__v1__row__free_unpacked(r, NULL);
  }
  for (int p = 0; p < NPART; p++)
    assert_true(seen[p]);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/rows?limit=%d", t->in[k].port,
           LIMIT);
  assert_int_equal(request(t, url, NULL, "Accept: application/x-protobuf", &a), 200);
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, a.len, (const uint8_t *)a.body);
  assert_non_null(l);
  assert_int_equal(l->n_rows, LIMIT);
  assert_int_equal(l->n_positions, NPART);
  for (size_t i = 0; i < l->n_rows; i++) {
    char key[16];
    key_of((int)i, key, sizeof key);
    assert_memory_equal(l->rows[i]->key.data, key, strlen(key));
    assert_int_equal(l->rows[i]->value->columns[0]->int_value, count_of((int)i));
  }
  assert_true(l->next_cursor != NULL && l->next_cursor[0] != '\0');
  eddy__v1__row_list__free_unpacked(l, NULL);
  free(a.body);
}

static void check_metrics(rt_t *t) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", t->in[0].port);
  const char *body;
  size_t len;
  assert_int_equal(eh_http_get(t->http, url, 3000, &body, &len), 200);
  assert_non_null(strstr(body, "eddy_forwarded_requests_total{peer=\"b\"}"));
  assert_non_null(strstr(body, "eddy_forwarded_requests_total{peer=\"c\"}"));
  assert_non_null(strstr(body, "eddy_forward_failures_total{peer=\"b\"} 0"));
}

static void test_routing(void **state) {
  rt_t *t = *state;
  int64_t t0 = eh_now_ms();
  char *args[] = {"--partitions", "6", "--topic", "clicks", "--topic", "rt.counts.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    for (int c = 0; c < count_of(i); c++)
      assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1, 0, NULL), 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);

  for (int k = 0; k < NINST; k++) {
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "app: rt\n"
             "instance_id: \"%s\"\n"
             "kafka:\n"
             "  bootstrap.servers: \"%s\"\n"
             "  fetch.wait.max.ms: 10\n"
             "  session.timeout.ms: 6000\n"
             "  heartbeat.interval.ms: 500\n"
             "http: { listen: \"127.0.0.1:%d\", advertised_url: \"http://127.0.0.1:%d\" }\n"
             "data_dir: %s/data\n"
             "commit_interval_ms: 50\n"
             "views:\n"
             "  counts: { from: clicks, format: string, aggregate: count }\n",
             ids[k], t->bootstrap, t->in[k].port, t->in[k].port, t->in[k].dir);
    assert_int_equal(eh_write_file(t->in[k].config, cfg), 0);
  }
  for (int k = 0; k < NINST; k++)
    eh_start_serve(&t->in[k].serve, t->in[k].dir, t->in[k].config, t->http, t->in[k].port);

  int owners[NPART];
  wait_ready(t, owners);
  for (int k = 0; k < NINST; k++) {
    int now[NPART];
    assert_null(read_owners(t, k, now));
    assert_memory_equal(now, owners, sizeof now); /* no rebalance meanwhile */
    check_keys(t, k, owners);
    check_scan(t, k);
    check_multi_get(t, k);
    check_protobuf(t, k, owners);
  }
  check_no_second_hop(t, owners);
  check_metrics(t);

  for (int k = 0; k < NINST; k++)
    assert_int_equal(eh_proc_kill(&t->in[k].serve, SIGTERM, 15000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  rt_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-routing-", t->dir, sizeof t->dir) != 0) return -1;
  for (int k = 0; k < NINST; k++) {
    snprintf(t->in[k].dir, sizeof t->in[k].dir, "%s/%s", t->dir, ids[k]);
    if (mkdir(t->in[k].dir, 0755) != 0) return -1;
    snprintf(t->in[k].config, sizeof t->in[k].config, "%s/eddy.yaml", t->in[k].dir);
    t->in[k].port = eh_free_port();
    for (int j = 0; j < k; j++)
      if (t->in[j].port == t->in[k].port) t->in[k].port = eh_free_port();
  }
  t->http = eh_http_create();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  t->curl = curl_easy_init();
  *state = t;
  return t->curl ? 0 : -1;
}

static int teardown(void **state) {
  rt_t *t = *state;
  for (int k = 0; k < NINST; k++) {
    if (!t->passed && t->in[k].serve.pid) {
      char label[64];
      snprintf(label, sizeof label, "eddy serve %s", ids[k]);
      eh_proc_dump_err(&t->in[k].serve, label, 4000);
    }
    eh_proc_kill(&t->in[k].serve, SIGKILL, 0);
  }
  if (!t->passed && t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 2000);
  if (t->producer) rd_kafka_destroy(t->producer);
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_http_destroy(t->http);
  curl_easy_cleanup(t->curl);
  curl_global_cleanup();
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_routing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
