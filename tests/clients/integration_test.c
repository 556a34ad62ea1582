/* libeddy against a running server: `eddy dev-kafka` (4 partitions) and one
 * `eddy serve` with a count view and a tumbling-window count view. The data
 * set is known: key k000..k119, key i produced 1 + i % 5 times, record c of a
 * key at T0 + c minutes (so each window of a key counts 1). Through libeddy:
 *  - eddy_views lists both views;
 *  - eddy_get answers every key's count, with the partition the client
 *    computes (direct routing by the map) and the position;
 *  - a missing key and an unknown view are EDDY_ERR_NOT_FOUND, a page limit
 *    out of range EDDY_ERR_BAD_REQUEST, a min_offset beyond the end
 *    EDDY_ERR_TIMEOUT, one at the end answers at once;
 *  - eddy_windows gives each key's windows;
 *  - eddy_multi_get answers all keys (and a missing one) in request order;
 *  - a scan with page limit 7 returns the whole table in key order, and a
 *    bounded scan exactly its range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy/client.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NKEYS 120
#define READY_MS 60000

typedef struct {
  char dir[256], bootstrap[256];
  eh_instance_t in;
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *producer;
  eddy_client_t *c;
  int passed;
} it_t;

static void key_of(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }
static int count_of(int i) { return 1 + i % 5; }

static int64_t row_count(const eddy_row_t *r) {
  int idx = eddy_row_column_index(r, "count");
  int64_t n = -1;
  if (idx < 0 || eddy_row_int(r, (size_t)idx, &n) != EDDY_OK) return -1;
  return n;
}

/* Scans the whole count view with @p limit rows a page; returns the number
 * of rows that match the data set in key order, or -1 on an error. */
static int scan_all(it_t *t, int limit, int *nrows) {
  eddy_scan_t *it = eddy_scan_open(t->c, "counts", NULL, NULL, limit);
  assert_non_null(it);
  const eddy_row_t *r;
  int n = 0, good = 0, rc;
  while ((rc = eddy_scan_next(it, &r)) == 1) {
    char want[16];
    key_of(n, want, sizeof want);
    size_t kl;
    const char *k = eddy_row_key(r, &kl);
    if (n < NKEYS && kl == strlen(want) && memcmp(k, want, kl) == 0 && row_count(r) == count_of(n))
      good++;
    n++;
  }
  eddy_scan_close(it);
  *nrows = n;
  return rc == 0 ? good : -1;
}

static void wait_ready(it_t *t) {
  int64_t deadline = eh_now_ms() + READY_MS;
  for (;;) {
    int n = 0, good = scan_all(t, 1000, &n);
    if (good == NKEYS && n == NKEYS) return;
    if (!eh_proc_alive(&t->in.proc)) fail_msg("eddy serve died");
    if (eh_now_ms() > deadline)
      fail_msg("table not complete in time: %d good of %d rows (%s)", good, n,
               eddy_last_error(t->c));
    eh_sleep_ms(100);
  }
}

static void check_views(it_t *t) {
  eddy_views_t *v = NULL;
  assert_int_equal(eddy_views(t->c, &v), EDDY_OK);
  assert_int_equal(eddy_views_count(v), 2);
  int seen = 0;
  for (size_t i = 0; i < eddy_views_count(v); i++) {
    assert_int_equal(eddy_views_partitions(v, i), NPART);
    assert_string_equal(eddy_views_from(v, i), "clicks");
    if (strcmp(eddy_views_name(v, i), "counts") == 0) seen |= 1;
    if (strcmp(eddy_views_name(v, i), "per_min") == 0) {
      assert_string_equal(eddy_views_kind(v, i), "windowed");
      seen |= 2;
    }
  }
  assert_int_equal(seen, 3);
  eddy_views_destroy(v);
}

static void check_gets(it_t *t, const int64_t *hi) {
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    eddy_row_t *r = NULL;
    int rc = eddy_get(t->c, "counts", key, strlen(key), NULL, &r);
    if (rc != EDDY_OK) fail_msg("get %s: %d %s", key, rc, eddy_last_error(t->c));
    assert_true(eddy_row_found(r));
    assert_int_equal(row_count(r), count_of(i));
    int32_t p = eddy_partition_for_key(key, strlen(key), NPART);
    assert_int_equal(eddy_row_partition(r), p);
    assert_int_equal(eddy_row_offset(r), hi[p]);
    assert_int_equal(eddy_row_ncolumns(r), 1);
    assert_string_equal(eddy_row_column_name(r, 0), "count");
    assert_int_equal(eddy_row_column_type(r, 0), EDDY_TYPE_INT);
    eddy_row_destroy(r);
  }
  eddy_row_t *r = NULL;
  assert_int_equal(eddy_get(t->c, "counts", "nobody", 6, NULL, &r), EDDY_ERR_NOT_FOUND);
  assert_null(r);
  assert_non_null(strstr(eddy_last_error(t->c), "404"));
  assert_int_equal(eddy_get(t->c, "no_view", "k000", 4, NULL, &r), EDDY_ERR_NOT_FOUND);

  /* Read your writes: at the end answers at once; beyond it times out. */
  const char *key = "k007";
  int32_t p = eddy_partition_for_key(key, 4, NPART);
  eddy_position_t at = {p, hi[p]}, beyond = {p, hi[p] + 1000};
  eddy_get_opts_t o = {.min_offsets = &at, .n_min_offsets = 1, .timeout_ms = 2000};
  assert_int_equal(eddy_get(t->c, "counts", key, 4, &o, &r), EDDY_OK);
  assert_int_equal(row_count(r), count_of(7));
  assert_true(eddy_row_offset(r) >= hi[p]);
  eddy_row_destroy(r);
  o.min_offsets = &beyond;
  o.timeout_ms = 200;
  int64_t t0 = eh_now_ms();
  assert_int_equal(eddy_get(t->c, "counts", key, 4, &o, &r), EDDY_ERR_TIMEOUT);
  assert_true(eh_now_ms() - t0 < 5000);
  assert_null(r);
}

static void check_windows(it_t *t, int64_t t0) {
  for (int i = 0; i < NKEYS; i += 7) {
    char key[16];
    key_of(i, key, sizeof key);
    eddy_windows_t *w = NULL;
    int rc = eddy_windows(t->c, "per_min", key, strlen(key), EDDY_NO_BOUND, EDDY_NO_BOUND, &w);
    if (rc != EDDY_OK) fail_msg("windows %s: %d %s", key, rc, eddy_last_error(t->c));
    assert_int_equal(eddy_windows_count(w), count_of(i));
    for (size_t j = 0; j < eddy_windows_count(w); j++) {
      assert_int_equal(eddy_windows_start(w, j), t0 + (int64_t)j * 60000);
      assert_int_equal(eddy_windows_end(w, j), t0 + (int64_t)(j + 1) * 60000);
      if (row_count(eddy_windows_value(w, j)) != 1)
        fail_msg("%s window %zu of %zu [%lld, %lld): count %lld, want 1", key, j,
                 eddy_windows_count(w), (long long)(eddy_windows_start(w, j) - t0),
                 (long long)(eddy_windows_end(w, j) - t0),
                 (long long)row_count(eddy_windows_value(w, j)));
    }
    assert_int_equal(eddy_windows_partition(w), eddy_partition_for_key(key, strlen(key), NPART));
    eddy_windows_destroy(w);
    /* Only the windows starting in [T0 + 1 min, T0 + 2 min) (both bounds
     * inclusive). */
    rc = eddy_windows(t->c, "per_min", key, strlen(key), t0 + 60000, t0 + 119999, &w);
    if (count_of(i) < 2) {
      assert_int_equal(rc, EDDY_ERR_NOT_FOUND);
      continue;
    }
    assert_int_equal(rc, EDDY_OK);
    assert_int_equal(eddy_windows_count(w), 1);
    assert_int_equal(eddy_windows_start(w, 0), t0 + 60000);
    eddy_windows_destroy(w);
  }
}

static void check_multi_get(it_t *t) {
  static char keys[NKEYS + 1][16];
  const void *kp[NKEYS + 1];
  size_t kl[NKEYS + 1];
  for (int i = 0; i <= NKEYS; i++) { /* in reverse order, plus a missing key */
    if (i < NKEYS)
      key_of(NKEYS - 1 - i, keys[i], sizeof keys[i]);
    else
      snprintf(keys[i], sizeof keys[i], "missing");
    kp[i] = keys[i];
    kl[i] = strlen(keys[i]);
  }
  eddy_rows_t *rs = NULL;
  int rc = eddy_multi_get(t->c, "counts", kp, kl, NKEYS + 1, &rs);
  if (rc != EDDY_OK) fail_msg("multi-get: %d %s", rc, eddy_last_error(t->c));
  assert_int_equal(eddy_rows_count(rs), NKEYS + 1);
  for (int i = 0; i < NKEYS; i++) {
    const eddy_row_t *r = eddy_rows_at(rs, (size_t)i);
    assert_true(eddy_row_found(r));
    size_t l;
    const char *k = eddy_row_key(r, &l);
    assert_int_equal(l, kl[i]);
    assert_memory_equal(k, keys[i], l);
    assert_int_equal(row_count(r), count_of(NKEYS - 1 - i));
    assert_int_equal(eddy_row_partition(r), eddy_partition_for_key(k, l, NPART));
  }
  assert_false(eddy_row_found(eddy_rows_at(rs, NKEYS)));
  eddy_rows_destroy(rs);
  assert_int_equal(eddy_multi_get(t->c, "no_view", kp, kl, 1, &rs), EDDY_ERR_NOT_FOUND);
  assert_null(rs);
}

static void check_scans(it_t *t) {
  int n = 0;
  assert_int_equal(scan_all(t, 7, &n), NKEYS);
  assert_int_equal(n, NKEYS);
  assert_int_equal(scan_all(t, 1, &n), NKEYS);
  assert_int_equal(n, NKEYS);
  /* [k010, k023): 13 rows in order, over pages of 4. */
  eddy_scan_t *it = eddy_scan_open(t->c, "counts", "k010", "k023", 4);
  const eddy_row_t *r;
  int i = 10, rc;
  while ((rc = eddy_scan_next(it, &r)) == 1) {
    char want[16];
    key_of(i, want, sizeof want);
    size_t l;
    const char *k = eddy_row_key(r, &l);
    assert_int_equal(l, strlen(want));
    assert_memory_equal(k, want, l);
    assert_int_equal(row_count(r), count_of(i));
    i++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(i, 23);
  assert_int_equal(eddy_scan_next(it, &r), 0); /* stays at the end */
  eddy_scan_close(it);
  /* A page limit the server refuses; an unknown view. */
  it = eddy_scan_open(t->c, "counts", NULL, NULL, 100000);
  assert_int_equal(eddy_scan_next(it, &r), EDDY_ERR_BAD_REQUEST);
  eddy_scan_close(it);
  it = eddy_scan_open(t->c, "no_view", NULL, NULL, 10);
  assert_int_equal(eddy_scan_next(it, &r), EDDY_ERR_NOT_FOUND);
  eddy_scan_close(it);
}

static void test_client(void **state) {
  it_t *t = *state;
  char *args[] = {
      "--partitions",         "4", "--topic", "clicks", "--topic", "cl.counts.changelog", "--topic",
      "cl.per_min.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  int64_t t0 = (eh_now_ms() / 60000 - 10) * 60000;
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    for (int c = 0; c < count_of(i); c++)
      assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1,
                                  t0 + (int64_t)c * 60000, NULL),
                       0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  int64_t hi[NPART];
  eh_watermarks(t->producer, "clicks", NPART, hi);

  assert_int_equal(eh_instance_write_config(&t->in, NULL, "cl", t->bootstrap, NULL,
                                            "  counts: { from: clicks, format: string, "
                                            "aggregate: count }\n"
                                            "  per_min:\n"
                                            "    from: clicks\n"
                                            "    format: string\n"
                                            "    window: { type: tumbling, size: 1m, grace: 1h }\n"
                                            "    aggregate: count\n"),
                   0);
  eh_instance_start(&t->in, t->http);

  char err[256];
  const char *seeds[] = {t->in.url};
  eddy_options_t o = {.timeout_ms = 10000};
  t->c = eddy_client_new(seeds, 1, &o, err, sizeof err);
  if (t->c == NULL) fail_msg("eddy_client_new: %s", err);
  wait_ready(t);
  check_views(t);
  check_gets(t, hi);
  check_windows(t, t0);
  check_multi_get(t);
  check_scans(t);
  t->passed = 1;
}

static int setup(void **state) {
  it_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-client-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instance_init(&t->in, "a", t->dir, NULL, 0) != 0) return -1;
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  it_t *t = *state;
  eddy_client_destroy(t->c);
  eh_instances_teardown(&t->in, 1, t->passed, 6000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_client, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
