/* The command line (`eddy get|scan|windows|views|cluster`) against
 * `eddy dev-kafka` (4 partitions) and one `eddy serve` with a count view and
 * a tumbling-window count view, run as subprocesses (stdout is a file, so
 * the output is JSON). The data set is known: keys k00..k29, key i produced
 * 1 + i % 3 times, record c of a key at T0 + c minutes. Checked:
 *  - scan --json gives the whole table in key order (exact document), with
 *    --limit larger and smaller than the table and with --from/--to;
 *  - get --json gives the exact value and position; a missing key and an
 *    unknown view exit 1; no server at --url exits 3; usage errors exit 2;
 *  - windows --json gives a key's windows (exact), --from/--to narrows them
 *    and an empty range exits 1;
 *  - views lists both views; cluster lists the instance and every partition
 *    of both views running on it;
 *  - --table prints aligned tables; `eddy help` documents the exit codes. */
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
#include <time.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NKEYS 30
#define READY_MS 60000

typedef struct {
  char dir[256], bootstrap[256];
  eh_instance_t in;
  int nrun;
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *producer;
  int64_t t0, hi[NPART];
  int passed;
} ct_t;

typedef struct {
  int code;
  char *out, *err;
} run_t;

static void key_of(int i, char *out, size_t cap) { snprintf(out, cap, "k%02d", i); }
static int count_of(int i) { return 1 + i % 3; }

static void run_free(run_t *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

/* Runs `eddy ARGS... --url <server>` (unless @p own_url) and collects its
 * exit code, stdout and stderr. */
static run_t run_cli(ct_t *t, int own_url, const char *const *args) {
  char *argv[40];
  int n = 0;
  argv[n++] = (char *)eh_bin("EDDY_BIN");
  for (; *args && n < 36; args++)
    argv[n++] = (char *)*args;
  if (!own_url) {
    argv[n++] = "--url";
    argv[n++] = t->in.url;
  }
  argv[n] = NULL;
  char name[32];
  snprintf(name, sizeof name, "cli%03d", t->nrun++);
  eh_proc_t p;
  memset(&p, 0, sizeof p);
  if (eh_proc_spawn(&p, t->dir, name, argv) != 0) fail_msg("spawn %s failed", argv[1]);
  run_t r = {0};
  r.code = eh_proc_wait(&p, 60000);
  if (r.code < 0) {
    eh_proc_kill(&p, SIGKILL, 0);
    fail_msg("eddy %s did not exit within 60 s", argv[1]);
  }
  r.out = eh_read_file(p.out_path, NULL);
  r.err = eh_read_file(p.err_path, NULL);
  if (!r.out) r.out = calloc(1, 1);
  if (!r.err) r.err = calloc(1, 1);
  return r;
}

#define RUN(...) run_cli(t, 0, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_OWN_URL(...) run_cli(t, 1, (const char *const[]){__VA_ARGS__, NULL})

static void expect(const run_t *r, int code, const char *out, const char *what) {
  if (r->code != code || (out && strcmp(r->out, out) != 0))
    fail_msg("%s: exit %d (want %d)\nstdout: %s\nwant:   %s\nstderr: %s", what, r->code, code,
             r->out, out ? out : "(any)", r->err);
}

/* The scan document of keys [from, to) of the data set. */
static char *scan_doc(int from, int to) {
  ed_buf_t b;
  ed_buf_init(&b);
  ed_buf_puts(&b, "{\"view\":\"counts\",\"rows\":[");
  for (int i = from; i < to; i++)
    ed_buf_printf(&b, "%s{\"key\":\"k%02d\",\"value\":{\"count\":%d}}", i > from ? "," : "", i,
                  count_of(i));
  ed_buf_printf(&b, "],\"count\":%d}\n", to - from);
  return b.data;
}

static void iso(int64_t ms, char *out, size_t cap) {
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char d[32];
  strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", d, (int)(ms % 1000));
}

/* The windows document of key @p i, windows [first, last) of it. */
static char *windows_doc(ct_t *t, int i, int first, int last) {
  char key[16];
  key_of(i, key, sizeof key);
  int32_t p = eddy_partition_for_key(key, strlen(key), NPART);
  ed_buf_t b;
  ed_buf_init(&b);
  ed_buf_printf(
      &b, "{\"view\":\"per_min\",\"key\":\"%s\",\"partition\":%d,\"offset\":%lld,\"windows\":[",
      key, (int)p, (long long)t->hi[p]);
  for (int w = first; w < last; w++) {
    int64_t s = t->t0 + (int64_t)w * 60000, e = s + 60000;
    char si[40], ei[40];
    iso(s, si, sizeof si);
    iso(e, ei, sizeof ei);
    ed_buf_printf(&b,
                  "%s{\"start\":%lld,\"end\":%lld,\"start_iso\":\"%s\",\"end_iso\":\"%s\","
                  "\"value\":{\"count\":1}}",
                  w > first ? "," : "", (long long)s, (long long)e, si, ei);
  }
  ed_buf_puts(&b, "]}\n");
  return b.data;
}

/* Waits until `eddy scan counts` and the windows of the last key give the
 * whole data set (both views caught up). */
static void wait_ready(ct_t *t) {
  int64_t deadline = eh_now_ms() + READY_MS;
  char *want = scan_doc(0, NKEYS), *wwant = windows_doc(t, NKEYS - 1, 0, count_of(NKEYS - 1));
  char wkey[16];
  key_of(NKEYS - 1, wkey, sizeof wkey);
  for (;;) {
    run_t r = RUN("scan", "counts", "--json");
    run_t w = RUN("windows", "per_min", wkey, "--json");
    int ok = r.code == 0 && strcmp(r.out, want) == 0 && w.code == 0 && strcmp(w.out, wwant) == 0;
    if (!ok && eh_now_ms() > deadline)
      fail_msg("not ready in time: scan exit %d %s %s / windows exit %d %s %s", r.code, r.out,
               r.err, w.code, w.out, w.err);
    run_free(&r);
    run_free(&w);
    if (ok) break;
    if (!eh_proc_alive(&t->in.proc)) fail_msg("eddy serve died");
    eh_sleep_ms(200);
  }
  free(want);
  free(wwant);
}

static void check_scans(ct_t *t) {
  char *all = scan_doc(0, NKEYS), *five = scan_doc(0, 5), *mid = scan_doc(10, 13);
  run_t r = RUN("scan", "counts", "--json", "--limit", "100");
  expect(&r, 0, all, "scan --limit 100");
  run_free(&r);
  r = RUN("scan", "counts", "--limit=5");
  expect(&r, 0, five, "scan --limit 5 (piped: JSON)");
  run_free(&r);
  r = RUN("scan", "counts", "--json", "--from", "k10", "--to", "k13", "--limit", "2");
  char *two = scan_doc(10, 12);
  expect(&r, 0, two, "scan --from k10 --to k13 --limit 2");
  run_free(&r);
  r = RUN("scan", "counts", "--json", "--from", "k10", "--to", "k13");
  expect(&r, 0, mid, "scan --from k10 --to k13");
  run_free(&r);
  r = RUN("scan", "no_view", "--json");
  expect(&r, 1, "", "scan of an unknown view");
  run_free(&r);
  free(all), free(five), free(mid), free(two);
}

static void check_gets(ct_t *t) {
  for (int i = 0; i < NKEYS; i += 4) {
    char key[16], want[256];
    key_of(i, key, sizeof key);
    int32_t p = eddy_partition_for_key(key, strlen(key), NPART);
    snprintf(want, sizeof want,
             "{\"view\":\"counts\",\"key\":\"%s\",\"partition\":%d,\"offset\":%lld,"
             "\"value\":{\"count\":%d}}\n",
             key, (int)p, (long long)t->hi[p], count_of(i));
    run_t r = RUN("get", "counts", key, "--json");
    expect(&r, 0, want, "get");
    run_free(&r);
    if (i == 8) { /* read your writes at the end: answers at once */
      char mo[32];
      snprintf(mo, sizeof mo, "%d:%lld", (int)p, (long long)t->hi[p]);
      r = RUN("get", "counts", key, "--min-offset", mo, "--json");
      expect(&r, 0, want, "get --min-offset at the end");
      run_free(&r);
    }
  }
  run_t r = RUN("get", "counts", "nobody", "--json");
  expect(&r, 1, "", "get of a missing key");
  assert_true(eh_contains(r.err, "not found"));
  run_free(&r);
  r = RUN("get", "no_view", "k00");
  expect(&r, 1, "", "get in an unknown view");
  run_free(&r);
  /* A table on request. */
  r = RUN("get", "counts", "k05", "--table");
  expect(&r, 0, NULL, "get --table");
  if (strncmp(r.out, "key  count  partition  offset\nk05  3      ", 42) != 0)
    fail_msg("get --table: %s", r.out);
  run_free(&r);
}

static void check_errors(ct_t *t) {
  /* Nothing listens on a fresh port: unavailable. */
  char dead[64];
  snprintf(dead, sizeof dead, "http://127.0.0.1:%d", eh_free_port());
  run_t r = RUN_OWN_URL("get", "counts", "k00", "--url", dead, "--timeout", "3000");
  expect(&r, 3, "", "get with no server");
  run_free(&r);
  r = RUN_OWN_URL("views", "--url", dead, "--timeout", "2000");
  expect(&r, 3, "", "views with no server");
  run_free(&r);
  /* Usage errors: message and usage on stderr, exit 2. */
  const char *const *cases[] = {
      (const char *const[]){"get", "counts", NULL},
      (const char *const[]){"get", "counts", "k00", "--bogus", NULL},
      (const char *const[]){"scan", "counts", "--limit", NULL},
      (const char *const[]){"scan", "counts", "--limit", "x", NULL},
      (const char *const[]){"get", "counts", "k00", "--limit", "3", NULL},
      (const char *const[]){"windows", "per_min", "k00", "--from", "yesterday", NULL},
      (const char *const[]){"get", "counts", "k00", "--min-offset", "7", NULL},
      (const char *const[]){"views", "extra", NULL},
      (const char *const[]){"views", "--url", "ftp://nowhere", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    r = run_cli(t, 1, cases[i]);
    if (r.code != 2 || r.out[0] != '\0' || !eh_contains(r.err, "usage: eddy"))
      fail_msg("usage case %zu (%s %s): exit %d, stdout %s, stderr %s", i, cases[i][0], cases[i][1],
               r.code, r.out, r.err);
    run_free(&r);
  }
  r = RUN_OWN_URL("help");
  expect(&r, 0, NULL, "help");
  assert_true(eh_contains(r.out, "Exit codes: 0 ok; 1 not found"));
  run_free(&r);
}

static void check_windows(ct_t *t) {
  for (int i = 0; i < NKEYS; i += 5) {
    char key[16];
    key_of(i, key, sizeof key);
    char *want = windows_doc(t, i, 0, count_of(i));
    run_t r = RUN("windows", "per_min", key, "--json");
    expect(&r, 0, want, "windows");
    run_free(&r);
    free(want);
    /* Windows starting in [T0 + 1 min, T0 + 2 min - 1 ms]. */
    char from[24], to[24];
    snprintf(from, sizeof from, "%lld", (long long)(t->t0 + 60000));
    snprintf(to, sizeof to, "%lld", (long long)(t->t0 + 119999));
    r = RUN("windows", "per_min", key, "--from", from, "--to", to, "--json");
    if (count_of(i) < 2) {
      expect(&r, 1, "", "windows: none in range");
    } else {
      want = windows_doc(t, i, 1, 2);
      expect(&r, 0, want, "windows --from --to");
      free(want);
    }
    run_free(&r);
  }
  run_t r = RUN("windows", "per_min", "k02", "--table");
  char s0[40];
  iso(t->t0, s0, sizeof s0);
  expect(&r, 0, NULL, "windows --table");
  if (!eh_contains(r.out, "start  ") || !eh_contains(r.out, s0))
    fail_msg("windows --table: %s", r.out);
  run_free(&r);
}

static void check_views_cluster(ct_t *t) {
  run_t r = RUN("views", "--json");
  expect(&r, 0, NULL, "views");
  assert_true(eh_contains(r.out, "{\"views\":["));
  assert_true(eh_contains(r.out, "{\"name\":\"counts\","));
  assert_true(eh_contains(r.out, "\"from\":\"clicks\",\"partitions\":4}"));
  assert_true(eh_contains(r.out, "{\"name\":\"per_min\",\"kind\":\"windowed\",\"from\":\"clicks\","
                                 "\"partitions\":4}"));
  run_free(&r);

  r = RUN("cluster", "--json");
  expect(&r, 0, NULL, "cluster");
  char want[256];
  snprintf(want, sizeof want, "{\"instances\":[{\"id\":\"a\",\"url\":\"%s\",\"self\":true,",
           t->in.url);
  if (!eh_contains(r.out, want)) fail_msg("cluster: no instance a: %s", r.out);
  const char *views[] = {"counts", "per_min"};
  for (int v = 0; v < 2; v++) {
    snprintf(want, sizeof want, "{\"view\":\"%s\",\"partitions\":4,\"owners\":[", views[v]);
    for (int p = 0; p < NPART; p++) {
      char one[96];
      snprintf(one, sizeof one,
               "%s{\"partition\":%d,\"owner\":\"a\",\"state\":\"running\","
               "\"standbys\":[]}",
               p ? "," : "", p);
      strncat(want, one, sizeof want - strlen(want) - 1);
    }
    if (!eh_contains(r.out, want)) fail_msg("cluster: want %s in %s", want, r.out);
  }
  run_free(&r);
  r = RUN("cluster", "--table");
  expect(&r, 0, NULL, "cluster --table");
  if (!eh_contains(r.out, "view     partition  owner  state    progress") ||
      !eh_contains(r.out, "per_min  3          a      running  offset "))
    fail_msg("cluster --table: %s", r.out);
  run_free(&r);
}

static void test_cli(void **state) {
  ct_t *t = *state;
  char *args[] = {"--partitions",
                  "4",
                  "--topic",
                  "clicks",
                  "--topic",
                  "cli.counts.changelog",
                  "--topic",
                  "cli.per_min.changelog",
                  NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  t->t0 = (eh_now_ms() / 60000 - 10) * 60000;
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_of(i, key, sizeof key);
    for (int c = 0; c < count_of(i); c++)
      assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1,
                                  t->t0 + (int64_t)c * 60000, NULL),
                       0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  eh_watermarks(t->producer, "clicks", NPART, t->hi);

  assert_int_equal(eh_instance_write_config(&t->in, NULL, "cli", t->bootstrap, NULL,
                                            "  counts: { from: clicks, format: string, "
                                            "aggregate: count }\n"
                                            "  per_min:\n"
                                            "    from: clicks\n"
                                            "    format: string\n"
                                            "    window: { type: tumbling, size: 1m, grace: 1h }\n"
                                            "    aggregate: count\n"),
                   0);
  eh_instance_start(&t->in, t->http);
  wait_ready(t);
  check_scans(t);
  check_gets(t);
  check_windows(t);
  check_views_cluster(t);
  check_errors(t);
  t->passed = 1;
}

static int setup(void **state) {
  ct_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-cli-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instance_init(&t->in, "a", t->dir, NULL, 0) != 0) return -1;
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  ct_t *t = *state;
  eh_instances_teardown(&t->in, 1, t->passed, 6000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
