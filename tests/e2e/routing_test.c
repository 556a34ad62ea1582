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
#include "tests/e2e/cluster_harness.h"
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
  eh_instance_t in[NINST];
  eh_http_t *http;
  rd_kafka_t *producer;
  int passed;
} rt_t;

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

/* The table is complete: instance 0 answers every key exactly. */
static const char *table_complete(void *arg) {
  rt_t *t = arg;
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    if (eh_key_count(t->http, t->in[0].port, "counts", key, NULL) != count_of(i))
      return "the table is not complete yet";
  }
  return NULL;
}

/* Waits until all three maps agree, every partition running, each
 * instance owning some, and instance 0 answers every key exactly. */
static void wait_ready(rt_t *t, int *owners) {
  eh_cluster_want_t w = {.npart = NPART,
                         .must_own = 7,
                         .timeout_ms = CONVERGE_MS,
                         .label = "ready",
                         .also = table_complete,
                         .arg = t};
  const char *why;
  if (eh_cluster_wait(t->http, t->in, NINST, &w, owners, &why) != 0)
    fail_msg("not ready in time: %s", why);
}

/* ---- the checks ---- */

static void check_keys(rt_t *t, int k, const int *owners) {
  eh_answer_t a = {0};
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    key_of(i, key, sizeof key);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
    long st = eh_request(&a, url, NULL, NULL, 10000);
    if (st != 200) fail_msg("from %s: key %s: status %ld: %s", ids[k], key, st, a.body);
    assert_int_equal(row_count(a.body, a.len), count_of(i));
    int64_t p = num(a.body, a.len, "partition");
    assert_true(p >= 0 && p < NPART);
    if (strcmp(a.served_by, ids[owners[p]]) != 0)
      fail_msg("from %s: key %s (partition %lld) served by '%s', the map says %s", ids[k], key,
               (long long)p, a.served_by, ids[owners[p]]);
  }
  eh_answer_fini(&a);
}

static void check_scan(rt_t *t, int k) {
  eh_answer_t a = {0};
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
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/rows?limit=%d", t->in[k].port,
               LIMIT);
    long st = eh_request(&a, url, NULL, NULL, 10000);
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
  eh_answer_fini(&a);
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
  eh_answer_t a = {0};
  long st = eh_request(&a, url, body, NULL, 10000);
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
  eh_answer_fini(&a);
}

/* (d) forwarded requests are answered here or refused, never forwarded. */
static void check_no_second_hop(rt_t *t, const int *owners) {
  eh_answer_t a = {0};
  for (int k = 0; k < NINST; k++) {
    int refused = 0, served = 0;
    for (int i = 0; i < NKEYS && (!refused || !served); i++) {
      char key[16], url[256];
      key_of(i, key, sizeof key);
      snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
      long st = eh_request(&a, url, NULL, "eddy-forwarded: test", 10000);
      int64_t p = -1;
      if (st == 200) {
        p = num(a.body, a.len, "partition");
        assert_int_equal(owners[p], k); /* answered only by the owner */
        assert_string_equal(a.served_by, ids[k]);
        served++;
      } else {
        if (st != 503)
          fail_msg("from %s: forwarded key %s: status %ld: %s", ids[k], key, st, a.body);
        assert_non_null(strstr(a.body, "\"unavailable\""));
        assert_non_null(strstr(a.body, "of view 'counts'"));
        assert_string_equal(a.served_by, ids[k]);
        refused++;
      }
    }
    assert_true(refused > 0 && served > 0);
  }
  eh_answer_fini(&a);
}

/* Protobuf answers come through forwarding and merging too: a key of each
 * partition and the first page of a scan, from instance @p k. */
static void check_protobuf(rt_t *t, int k, const int *owners) {
  eh_answer_t a = {0};
  int seen[NPART] = {0};
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    key_of(i, key, sizeof key);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/counts/keys/%s", t->in[k].port, key);
    assert_int_equal(eh_request(&a, url, NULL, "Accept: application/x-protobuf", 10000), 200);
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
  assert_int_equal(eh_request(&a, url, NULL, "Accept: application/x-protobuf", 10000), 200);
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
  eh_answer_fini(&a);
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

  eh_instance_opts_t o = {.heartbeat_ms = 500};
  for (int k = 0; k < NINST; k++)
    assert_int_equal(eh_instance_write_config(&t->in[k], NULL, "rt", t->bootstrap, &o,
                                              "  counts: { from: clicks, format: string, "
                                              "aggregate: count }\n"),
                     0);
  for (int k = 0; k < NINST; k++)
    eh_instance_start(&t->in[k], t->http);

  int owners[NPART];
  wait_ready(t, owners);
  for (int k = 0; k < NINST; k++) {
    int now[NPART];
    assert_null(eh_cluster_read(t->http, &t->in[k], t->in, NINST, NPART, now, NULL));
    assert_memory_equal(now, owners, sizeof now); /* no rebalance meanwhile */
    check_keys(t, k, owners);
    check_scan(t, k);
    check_multi_get(t, k);
    check_protobuf(t, k, owners);
  }
  check_no_second_hop(t, owners);
  check_metrics(t);

  for (int k = 0; k < NINST; k++)
    assert_int_equal(eh_instance_stop(&t->in[k], SIGTERM, 15000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  rt_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-routing-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instances_init(t->in, NINST, t->dir, ids) != 0) return -1;
  t->http = eh_http_create();
  curl_global_init(CURL_GLOBAL_DEFAULT);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  rt_t *t = *state;
  eh_instances_teardown(t->in, NINST, t->passed, 4000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
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
