/* libeddy's direct routing against two instances: `eddy dev-kafka` (6
 * partitions) and two `eddy serve` (a and b) with a count view. The data
 * set is known: key k000..k199, key i produced 1 + i % 5 times. Once both
 * instances own partitions and the table is complete, through one client
 * (seed: instance a):
 *  - eddy_get answers every key exactly, eddy_multi_get all keys (and a
 *    missing one) in request order, scans with pages of 7 and 1 and a
 *    bounded scan exactly their rows in key order, and a scan of a
 *    tumbling-window count view (record c of a key at T0 + c minutes) its
 *    windows in (key, window start) order across pages;
 *  - all of it went straight to the owners: neither instance's
 *    eddy_forwarded_requests_total moved;
 *  - a second client with direct_routing = -1 answers the same, forwarded
 *    by its seed (the counters move).
 * Then instance b stops (SIGTERM): its partitions move to a ("an owner
 * moving between calls"), and the same client, whose map still names b,
 * answers every get, the multi-get and the scans exactly (it refreshes its
 * map and retries within its timeout). */
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
#include <sys/stat.h>

#include "eddy/client.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 6
#define NKEYS 200
#define NINST 2
#define READY_MS 90000

static const char *const ids[NINST] = {"a", "b"};

typedef struct {
  char dir[256], bootstrap[256];
  eh_instance_t in[NINST];
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *producer;
  eddy_client_t *c, *fwd;
  int passed;
} rt_t;

static void key_of(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }
static int count_of(int i) { return 1 + i % 5; }

static int64_t row_count(const eddy_row_t *r) {
  int idx = eddy_row_column_index(r, "count");
  int64_t n = -1;
  if (idx < 0 || eddy_row_int(r, (size_t)idx, &n) != EDDY_OK) return -1;
  return n;
}

/* Which instances own partitions in instance @p k's map (bit i: ids[i]);
 * -1 unless every partition has a running owner. */
static int owners_of(rt_t *t, int k) {
  int owners[NPART], mask = 0;
  if (eh_cluster_read(t->http, &t->in[k], t->in, NINST, NPART, owners, NULL) != NULL) return -1;
  for (int p = 0; p < NPART; p++)
    mask |= 1 << owners[p];
  return mask;
}

/* The sum of instance @p k's eddy_forwarded_requests_total. */
static long forwarded(rt_t *t, int k) {
  long n = eh_forwarded_total(t->http, &t->in[k]);
  assert_true(n >= 0);
  return n;
}

/* Scans counts in [from, to) with @p limit a page; the number of rows that
 * match the data set in key order from key @p first, or -1 on an error. */
static int scan_range(eddy_client_t *c, const char *from, const char *to, int first, int limit,
                      int *nrows) {
  eddy_scan_t *it = eddy_scan_open(c, "counts", from, to, limit);
  assert_non_null(it);
  const eddy_row_t *r;
  int n = 0, good = 0, rc;
  while ((rc = eddy_scan_next(it, &r)) == 1) {
    char want[16];
    key_of(first + n, want, sizeof want);
    size_t kl;
    const char *k = eddy_row_key(r, &kl);
    if (first + n < NKEYS && kl == strlen(want) && memcmp(k, want, kl) == 0 &&
        row_count(r) == count_of(first + n))
      good++;
    n++;
  }
  eddy_scan_close(it);
  *nrows = n;
  return rc == 0 ? good : -1;
}

static int total_windows(void) {
  int total = 0;
  for (int i = 0; i < NKEYS; i++)
    total += count_of(i);
  return total;
}

/* The rows of a whole scan of @p view, or -1 on an error. */
static int count_rows(eddy_client_t *c, const char *view) {
  eddy_scan_t *it = eddy_scan_open(c, view, NULL, NULL, 1000);
  assert_non_null(it);
  const eddy_row_t *r;
  int n = 0, rc;
  while ((rc = eddy_scan_next(it, &r)) == 1)
    n++;
  eddy_scan_close(it);
  return rc == 0 ? n : -1;
}

static void wait_ready(rt_t *t, int want_mask) {
  int64_t deadline = eh_now_ms() + READY_MS;
  const char *why = "";
  for (;;) {
    int ok = 1;
    for (int k = 0; ok && k < NINST; k++) {
      if (!(want_mask & 1 << k)) continue;
      if (!eh_proc_alive(&t->in[k].proc)) fail_msg("eddy serve %s died", ids[k]);
      if (owners_of(t, k) != want_mask) ok = 0, why = "owners";
    }
    int n = 0;
    if (ok && scan_range(t->c, NULL, NULL, 0, 1000, &n) != NKEYS) ok = 0, why = "table";
    if (ok && count_rows(t->c, "per_min") != total_windows()) ok = 0, why = "windows";
    if (ok) return;
    if (eh_now_ms() > deadline) fail_msg("not ready in time (%s): %s", why, eddy_last_error(t->c));
    eh_sleep_ms(200);
  }
}

static void check_gets(eddy_client_t *c) {
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    eddy_row_t *r = NULL;
    int rc = eddy_get(c, "counts", key, strlen(key), NULL, &r);
    if (rc != EDDY_OK) fail_msg("get %s: %d %s", key, rc, eddy_last_error(c));
    assert_int_equal(row_count(r), count_of(i));
    assert_int_equal(eddy_row_partition(r), eddy_partition_for_key(key, strlen(key), NPART));
    eddy_row_destroy(r);
  }
}

static void check_multi_get(eddy_client_t *c) {
  static char keys[NKEYS + 1][16];
  const void *kp[NKEYS + 1];
  size_t kl[NKEYS + 1];
  for (int i = 0; i <= NKEYS; i++) { /* in reverse order, a missing key in the middle */
    if (i == NKEYS / 2)
      snprintf(keys[i], sizeof keys[i], "missing");
    else
      key_of(NKEYS - 1 - (i < NKEYS / 2 ? i : i - 1), keys[i], sizeof keys[i]);
    kp[i] = keys[i];
    kl[i] = strlen(keys[i]);
  }
  eddy_rows_t *rs = NULL;
  int rc = eddy_multi_get(c, "counts", kp, kl, NKEYS + 1, &rs);
  if (rc != EDDY_OK) fail_msg("multi-get: %d %s", rc, eddy_last_error(c));
  assert_int_equal(eddy_rows_count(rs), NKEYS + 1);
  for (int i = 0; i <= NKEYS; i++) {
    const eddy_row_t *r = eddy_rows_at(rs, (size_t)i);
    size_t l;
    const char *k = eddy_row_key(r, &l);
    assert_int_equal(l, kl[i]);
    assert_memory_equal(k, keys[i], l);
    if (i == NKEYS / 2) {
      assert_false(eddy_row_found(r));
      continue;
    }
    assert_true(eddy_row_found(r));
    int ki = NKEYS - 1 - (i < NKEYS / 2 ? i : i - 1);
    assert_int_equal(row_count(r), count_of(ki));
    assert_int_equal(eddy_row_partition(r), eddy_partition_for_key(k, l, NPART));
  }
  eddy_rows_destroy(rs);
}

static void check_scans(eddy_client_t *c) {
  int n = 0;
  assert_int_equal(scan_range(c, NULL, NULL, 0, 7, &n), NKEYS);
  assert_int_equal(n, NKEYS);
  assert_int_equal(scan_range(c, NULL, NULL, 0, 1, &n), NKEYS);
  assert_int_equal(n, NKEYS);
  assert_int_equal(scan_range(c, NULL, NULL, 0, 0, &n), NKEYS);
  assert_int_equal(n, NKEYS);
  assert_int_equal(scan_range(c, "k010", "k123", 10, 4, &n), 113);
  assert_int_equal(n, 113);
}

/* The windowed view per_min: key i has count_of(i) windows, one record
 * each, starting at T0, T0 + 1 min, ... Scanned in pages of @p limit. */
static void check_window_scan(eddy_client_t *c, int limit) {
  eddy_scan_t *it = eddy_scan_open(c, "per_min", NULL, NULL, limit);
  assert_non_null(it);
  const eddy_row_t *r;
  int key = 0, win = 0, n = 0, rc;
  while ((rc = eddy_scan_next(it, &r)) == 1) {
    char want[16];
    while (key < NKEYS && win >= count_of(key))
      key++, win = 0;
    if (key >= NKEYS) fail_msg("per_min: more rows than windows");
    key_of(key, want, sizeof want);
    size_t l;
    const char *k = eddy_row_key(r, &l);
    if (l != strlen(want) || memcmp(k, want, l) != 0)
      fail_msg("per_min row %d: key %.*s, want %s (window %d)", n, (int)l, k, want, win);
    assert_int_equal(row_count(r), 1);
    win++, n++;
  }
  if (rc != 0) fail_msg("per_min scan: %d %s", rc, eddy_last_error(c));
  assert_int_equal(n, total_windows());
  eddy_scan_close(it);
}

static void check_all(eddy_client_t *c) {
  check_gets(c);
  check_multi_get(c);
  check_scans(c);
  check_window_scan(c, 7);
  check_window_scan(c, 0);
}

static void test_routing(void **state) {
  rt_t *t = *state;
  char *args[] = {
      "--partitions",         "6", "--topic", "clicks", "--topic", "cr.counts.changelog", "--topic",
      "cr.per_min.changelog", NULL};
  int64_t t0 = (eh_now_ms() / 60000 - 10) * 60000;
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    for (int c = 0; c < count_of(i); c++)
      assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1,
                                  t0 + (int64_t)c * 60000, NULL),
                       0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  eh_instance_opts_t io = {.heartbeat_ms = 500};
  for (int k = 0; k < NINST; k++)
    assert_int_equal(
        eh_instance_write_config(&t->in[k], NULL, "cr", t->bootstrap, &io,
                                 "  counts: { from: clicks, format: string, "
                                 "aggregate: count }\n"
                                 "  per_min:\n"
                                 "    from: clicks\n"
                                 "    format: string\n"
                                 "    window: { type: tumbling, size: 1m, grace: 1h }\n"
                                 "    aggregate: count\n"),
        0);
  for (int k = 0; k < NINST; k++)
    eh_instance_start(&t->in[k], t->http);

  char err[256];
  const char *seeds[] = {t->in[0].url};
  eddy_options_t o = {.timeout_ms = 20000};
  t->c = eddy_client_new(seeds, 1, &o, err, sizeof err);
  if (t->c == NULL) fail_msg("eddy_client_new: %s", err);
  o.direct_routing = -1;
  t->fwd = eddy_client_new(seeds, 1, &o, err, sizeof err);
  if (t->fwd == NULL) fail_msg("eddy_client_new: %s", err);
  wait_ready(t, 3);

  /* Direct: every request reaches an owner; nothing is forwarded. */
  long f0[NINST];
  for (int k = 0; k < NINST; k++)
    f0[k] = forwarded(t, k);
  check_all(t->c);
  for (int k = 0; k < NINST; k++)
    if (forwarded(t, k) != f0[k])
      fail_msg("instance %s forwarded %ld requests of direct client traffic", ids[k],
               forwarded(t, k) - f0[k]);
  /* Through the seed: the same answers, forwarded by a. */
  check_all(t->fwd);
  assert_true(forwarded(t, 0) > f0[0]);

  /* b goes away: its partitions move to a between calls of the same client. */
  assert_int_equal(eh_instance_stop(&t->in[1], SIGTERM, 15000), 0);
  int64_t s0 = eh_now_ms();
  check_all(t->c);
  fprintf(stderr, "  after b stopped: all answers exact within %lld ms\n",
          (long long)(eh_now_ms() - s0));
  assert_int_equal(owners_of(t, 0), 1);
  t->passed = 1;
}

static int setup(void **state) {
  rt_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-client-routing-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instances_init(t->in, NINST, t->dir, ids) != 0) return -1;
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  rt_t *t = *state;
  eddy_client_destroy(t->c);
  eddy_client_destroy(t->fwd);
  eh_instances_teardown(t->in, NINST, t->passed, 4000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
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
