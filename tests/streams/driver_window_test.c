/* Windowed views through the topology test driver (streams/testdriver.h):
 * tumbling and hopping windows with known answers, out-of-order records
 * within grace, late records after it, negative and zero timestamps, and
 * the purge of windows past their retention. Answers are read from the
 * committed stores and rendered as the query API does. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "query/query_int.h"
#include "store/store.h"
#include "streams/compile.h"
#include "streams/testdriver.h"
#include "streams/view.h"

/* ---- fixture: a temporary data dir, a view and its driver ---- */

typedef struct {
  char dir[64];
  ed_view_def_t def;
  ed_test_driver_t *d;
} fx_t;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/eddy-drvwin-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  ed_test_driver_destroy(f->d);
  nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* A view "clicks" over topic "clicks" (JSON {"v":n}): count and sum(v). */
static void view_def(fx_t *f, ed_window_spec_t w) {
  ed_view_def_t *d = &f->def;
  memset(d, 0, sizeof *d);
  d->name = (char *)"clicks";
  d->from = (char *)"clicks";
  d->format = ED_FORMAT_JSON;
  d->aggs[0] = (ed_agg_def_t){(char *)"count", ED_AGG_COUNT, NULL};
  d->aggs[1] = (ed_agg_def_t){(char *)"sum", ED_AGG_SUM, (char *)"v"};
  d->naggs = 2;
  d->window = w;
}

static void start(fx_t *f, int32_t partitions) {
  ed_topology_t *t = NULL;
  char err[512] = "";
  if (ed_view_compile(&f->def, "test", &t, err, sizeof err) != ED_OK) fail_msg("compile: %s", err);
  ed_topology_opts_t o = {.on_error = f->def.on_error};
  if (ed_test_driver_create(t, f->dir, partitions, &o, &f->d, err, sizeof err) != ED_OK) {
    ed_topology_destroy(t);
    fail_msg("driver: %s", err);
  }
}

static void pipe_v(fx_t *f, const char *key, int64_t ts, int v) {
  char val[64];
  int n = snprintf(val, sizeof val, "{\"v\":%d}", v);
  assert_int_equal(ed_test_driver_pipe(f->d, "clicks", key, strlen(key), val, (size_t)n, ts),
                   ED_OK);
}

static void commit(fx_t *f) {
  char err[512] = "";
  if (ed_test_driver_commit(f->d, err, sizeof err) != ED_OK) fail_msg("commit: %s", err);
}

static int32_t part(fx_t *f, const char *key) {
  return ed_test_driver_partition(f->d, key, strlen(key));
}

/* The committed answer for @p key as the query API renders it, or NULL
 * when the key has no window. Caller frees. */
static char *answer(fx_t *f, const char *key) {
  int32_t p = part(f, key);
  ed_store_t *s = ed_test_driver_store(f->d, f->def.name, p);
  if (s == NULL) return NULL;
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_buf_t b;
  ed_buf_init(&b);
  int rc = ed__query_render_key(&b, &f->def, ED_STORE_KIND_WINDOWED, &r, key, strlen(key), p, NULL);
  ed_store_read_end(&r);
  char *res = NULL;
  if (rc == ED_OK) {
    res = strdup(b.data);
    assert_non_null(res);
  } else if (rc != ED_ENOTFOUND) {
    fail_msg("render %s: %s", key, ed_strerror(rc));
  }
  ed_buf_fini(&b);
  return res;
}

/* Expects the answer for @p key: {"key":key,"windows":[windows],
 * "partition":p,"offset":offset,"stream_time":st}; @p windows NULL: no
 * answer at all. */
static void expect_windows_at(int line, fx_t *f, const char *key, const char *windows,
                              int64_t offset, int64_t st) {
  char *got = answer(f, key);
  if (windows == NULL) {
    if (got != NULL) fail_msg("line %d: key %s: expected no windows, got %s", line, key, got);
    return;
  }
  char want[4096];
  snprintf(want, sizeof want,
           "{\"key\":\"%s\",\"windows\":[%s],\"partition\":%d,\"offset\":%lld,"
           "\"stream_time\":%lld}",
           key, windows, (int)part(f, key), (long long)offset, (long long)st);
  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("line %d: key %s:\nexpected %s\n     got %s", line, key, want,
             got ? got : "(no answer)");
  free(got);
}
#define expect_windows(...) expect_windows_at(__LINE__, __VA_ARGS__)

static ed_test_driver_stats_t stats(fx_t *f) {
  ed_test_driver_stats_t s;
  ed_test_driver_stats(f->d, &s);
  return s;
}

static uint64_t rows(fx_t *f, int32_t p) {
  ed_store_t *s = ed_test_driver_store(f->d, f->def.name, p);
  assert_non_null(s);
  uint64_t n = 0;
  assert_int_equal(ed_store_row_count(s, &n), ED_OK);
  return n;
}

#define W(start, end, count, sum)                                                                  \
  "{\"start\":" #start ",\"end\":" #end ",\"value\":{\"count\":" #count ",\"sum\":" #sum "}}"

/* ---- tumbling ---- */

/* size 60 s, grace 10 s, two partitions: "a" and "d" live in different
 * tasks, so each has its own stream time. */
static void test_tumbling(void **state) {
  fx_t *f = *state;
  view_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 10000});
  start(f, 2);
  assert_int_not_equal(part(f, "a"), part(f, "d"));

  pipe_v(f, "a", 1000, 1);  /* [0,60000) */
  pipe_v(f, "a", 61000, 2); /* [60000,120000); stream time 61000 */
  pipe_v(f, "a", 59000, 4); /* out of order, within grace: 60000 + 10000 > 61000 */
  pipe_v(f, "a", 69999, 8); /* stream time 69999 */
  pipe_v(f, "a", 0, 16);    /* 70000 > 69999: still on time */

  /* Nothing is visible before a commit. */
  expect_windows(f, "a", NULL, 0, 0);
  commit(f);
  expect_windows(f, "a", W(0, 60000, 3, 21) "," W(60000, 120000, 2, 10), 5, 69999);

  pipe_v(f, "a", 70000, 32);  /* stream time 70000: [0,60000) closes (70000 <= 70000) */
  pipe_v(f, "a", 59999, 64);  /* late */
  pipe_v(f, "a", 30000, 128); /* late */
  /* "d" is in the other task, whose stream time is still unset: on time. */
  pipe_v(f, "d", 30000, 256);
  pipe_v(f, "d", 130000, 512);
  ed_test_driver_stats_t s = stats(f);
  assert_int_equal(s.records_in, 10);
  assert_int_equal(s.late_records, 2);
  assert_int_equal(s.bad_records, 0);
  commit(f);
  expect_windows(f, "a", W(0, 60000, 3, 21) "," W(60000, 120000, 3, 42), 8, 70000);
  expect_windows(f, "d", W(0, 60000, 1, 256) "," W(120000, 180000, 1, 512), 2, 130000);

  /* Windows of one key, one window by start range (bounds inclusive). */
  int32_t p = part(f, "a");
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(ed_test_driver_store(f->d, "clicks", p), &r), ED_OK);
  ed_buf_t b;
  ed_buf_init(&b);
  ed_query_key_opts_t o = {.has_from = 1, .has_to = 1, .from = 60000, .to = 60000};
  assert_int_equal(ed__query_render_key(&b, &f->def, ED_STORE_KIND_WINDOWED, &r, "a", 1, p, &o),
                   ED_OK);
  ed_store_read_end(&r);
  char want[512];
  snprintf(
      want, sizeof want,
      "{\"key\":\"a\",\"windows\":[" W(60000, 120000, 3, 42) "],\"partition\":%d,"
                                                             "\"offset\":8,\"stream_time\":70000}",
      (int)p);
  assert_string_equal(b.data, want);
  ed_buf_fini(&b);
}

/* Zero and negative timestamps: windows align to the epoch with floor
 * division, and negative starts sort before positive ones. */
static void test_tumbling_negative(void **state) {
  fx_t *f = *state;
  view_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 10000});
  start(f, 1);
  pipe_v(f, "n", -60001, 1); /* [-120000,-60000) */
  pipe_v(f, "n", -60000, 2); /* [-60000,0) */
  pipe_v(f, "n", -1, 4);     /* [-60000,0) */
  pipe_v(f, "n", 0, 8);      /* [0,60000); stream time 0 */
  commit(f);
  expect_windows(f, "n", W(-120000, -60000, 1, 1) "," W(-60000, 0, 2, 6) "," W(0, 60000, 1, 8), 4,
                 0);
  pipe_v(f, "n", -1, 16);     /* [-60000,0): 0 + 10000 > 0: on time */
  pipe_v(f, "n", -70001, 32); /* [-120000,-60000): -60000 + 10000 <= 0: late */
  assert_int_equal(stats(f).late_records, 1);
  pipe_v(f, "n", 59999, 64); /* stream time 59999 */
  pipe_v(f, "n", -1, 128);   /* [-60000,0): 0 + 10000 <= 59999: late now */
  assert_int_equal(stats(f).late_records, 2);
  commit(f);
  expect_windows(f, "n", W(-120000, -60000, 1, 1) "," W(-60000, 0, 3, 22) "," W(0, 60000, 2, 72), 8,
                 59999);
}

/* ---- hopping ---- */

/* size 60 s, advance 20 s: every record is in 3 windows. */
static void test_hopping(void **state) {
  fx_t *f = *state;
  view_def(f, (ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 60000, .advance = 20000});
  start(f, 3);
  pipe_v(f, "h", -1, 1);    /* -60000, -40000, -20000 */
  pipe_v(f, "h", 0, 2);     /* -40000, -20000, 0 */
  pipe_v(f, "h", 50000, 4); /* 0, 20000, 40000 */
  commit(f);
  expect_windows(f, "h",
                 W(-60000, 0, 1, 1) "," W(-40000, 20000, 2, 3) "," W(-20000, 40000, 2, 3) "," W(
                     0, 60000, 2, 6) "," W(20000, 80000, 1, 4) "," W(40000, 100000, 1, 4),
                 3, 50000);

  /* Stream time 60000 closes [0,60000) (grace 0) but not the later two:
   * a record at 45000 goes to those and is not counted late. */
  pipe_v(f, "h", 60000, 8);  /* 20000, 40000, 60000 */
  pipe_v(f, "h", 45000, 16); /* 0 (closed), 20000, 40000 */
  assert_int_equal(stats(f).late_records, 0);
  /* All three windows of 19999 (-40000, -20000, 0) are closed: late. */
  pipe_v(f, "h", 19999, 32);
  assert_int_equal(stats(f).late_records, 1);
  commit(f);
  expect_windows(
      f, "h",
      W(-60000, 0, 1, 1) "," W(-40000, 20000, 2, 3) "," W(-20000, 40000, 2, 3) "," W(
          0, 60000, 2, 6) "," W(20000, 80000, 3, 28) "," W(40000, 100000, 3,
                                                           28) "," W(60000, 120000, 1, 8),
      6, 60000);
  expect_windows(f, "other", NULL, 0, 0);
}

/* size 100 s, advance 1 s: a record is in 100 windows, all of which must
 * be counted (the newest ones included). */
static void test_hopping_many(void **state) {
  fx_t *f = *state;
  view_def(f, (ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 100000, .advance = 1000});
  start(f, 1);
  pipe_v(f, "m", 500, 1); /* windows starting at -99000, -98000, ..., 0 */
  commit(f);
  assert_int_equal(rows(f, 0), 100);
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(ed_test_driver_store(f->d, "clicks", 0), &r), ED_OK);
  ed_buf_t b;
  ed_buf_init(&b);
  ed_query_key_opts_t o = {.has_from = 1, .has_to = 1, .from = -1000, .to = 0};
  int rc = ed__query_render_key(&b, &f->def, ED_STORE_KIND_WINDOWED, &r, "m", 1, 0, &o);
  ed_store_read_end(&r);
  assert_int_equal(rc, ED_OK);
  assert_string_equal(b.data, "{\"key\":\"m\",\"windows\":[" W(-1000, 99000, 1, 1) "," W(
                                  0, 100000, 1, 1) "],\"partition\":0,\"offset\":1,"
                                                   "\"stream_time\":500}");
  ed_buf_fini(&b);
}

/* ---- retention ---- */

/* size 60 s, grace 0, retention 120 s: a window [s, s+60000) is purged at
 * the first commit with stream time >= s + 120000. */
static void test_retention(void **state) {
  fx_t *f = *state;
  view_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .retention = 120000});
  start(f, 1);
  pipe_v(f, "r", 0, 1);
  pipe_v(f, "s", 10000, 2);
  commit(f);
  expect_windows(f, "r", W(0, 60000, 1, 1), 2, 10000);
  expect_windows(f, "s", W(0, 60000, 1, 2), 2, 10000);

  pipe_v(f, "r", 60000, 4);
  commit(f); /* stream time 60000: nothing expires before 120000 */
  expect_windows(f, "r", W(0, 60000, 1, 1) "," W(60000, 120000, 1, 4), 3, 60000);
  assert_int_equal(rows(f, 0), 3);

  pipe_v(f, "r", 119999, 8);
  commit(f); /* one ms short */
  assert_int_equal(rows(f, 0), 3);

  pipe_v(f, "r", 120000, 16);
  commit(f); /* [0,60000) of "r" and "s" expire at 120000 */
  expect_windows(f, "r", W(60000, 120000, 2, 12) "," W(120000, 180000, 1, 16), 5, 120000);
  expect_windows(f, "s", NULL, 0, 0);
  assert_int_equal(rows(f, 0), 2);

  pipe_v(f, "s", 185000, 32);
  commit(f); /* [60000,120000) expires at 180000; [120000,180000) stays until 240000 */
  expect_windows(f, "r", W(120000, 180000, 1, 16), 6, 185000);
  expect_windows(f, "s", W(180000, 240000, 1, 32), 6, 185000);
  assert_int_equal(rows(f, 0), 2);
  assert_int_equal(stats(f).late_records, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tumbling, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tumbling_negative, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hopping, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hopping_many, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
