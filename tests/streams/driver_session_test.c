/* Session windows through the topology test driver (streams/testdriver.h):
 * sessions that stay apart, a record bridging two of them (merged, the old
 * rows deleted), records inside a session, out-of-order records within
 * grace, late sessions, keys that do not interfere, and a driver recreated
 * over committed state (the session list rebuilt from the store). */
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
  snprintf(f->dir, sizeof f->dir, "/tmp/eddy-drvses-XXXXXX");
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
  int rc = ed__query_render_key(&b, &f->def, ED_STORE_KIND_SESSION, &r, key, strlen(key), p, NULL);
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

/* A session: its first and last record's times, then count and sum(v). */
#define S(start, end, count, sum)                                                                  \
  "{\"start\":" #start ",\"end\":" #end ",\"value\":{\"count\":" #count ",\"sum\":" #sum "}}"

static const ed_window_spec_t session_30s = {.type = ED_WIN_SESSION, .gap = 30000, .grace = 20000};

/* Gap 30 s, grace 20 s, two partitions: "u" and "f" share a task (and its
 * stream time), "w" is in the other one. */
static void test_sessions(void **state) {
  fx_t *f = *state;
  view_def(f, session_30s);
  start(f, 2);
  int32_t pu = part(f, "u");
  assert_int_equal(part(f, "f"), pu);
  assert_int_not_equal(part(f, "w"), pu);

  pipe_v(f, "u", 0, 1);
  pipe_v(f, "u", 50000, 2); /* 50000 - 30000 > 0: a second session */
  commit(f);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(50000, 50000, 1, 2), 2, 50000);
  assert_int_equal(rows(f, pu), 2);

  /* 25000 is within 30 s of both: one session [0, 50000]; the row of the
   * session that started at 50000 is gone. */
  pipe_v(f, "u", 25000, 4);
  commit(f);
  expect_windows(f, "u", S(0, 50000, 3, 7), 3, 50000);
  assert_int_equal(rows(f, pu), 1);

  pipe_v(f, "u", 10000, 8);    /* inside [0, 50000] */
  pipe_v(f, "u", 70000, 16);   /* extends it to [0, 70000]; stream time 70000 */
  pipe_v(f, "u", 150000, 32);  /* a new session; stream time 150000 */
  pipe_v(f, "u", 140000, 64);  /* out of order, joins it: [140000, 150000] */
  pipe_v(f, "u", 105000, 128); /* alone: a session ending at 105000, 105000 + 20000 <= 150000 */
  assert_int_equal(stats(f).late_records, 1);
  pipe_v(f, "u", 125000, 256); /* joins [140000, 150000], which is still open: not late */
  assert_int_equal(stats(f).late_records, 1);
  /* Another key of the same task: its own sessions, the same stream time. */
  pipe_v(f, "f", 145000, 512);
  pipe_v(f, "f", 100000, 1024); /* late: 100000 + 20000 <= 150000 */
  /* A key of the other task, whose stream time is unset. */
  pipe_v(f, "w", 0, 2048);
  ed_test_driver_stats_t s;
  ed_test_driver_stats(f->d, &s);
  assert_int_equal(s.records_in, 12);
  assert_int_equal(s.late_records, 2);
  assert_int_equal(s.bad_records, 0);
  commit(f);
  expect_windows(f, "u", S(0, 70000, 5, 31) "," S(125000, 150000, 3, 352), 11, 150000);
  expect_windows(f, "f", S(145000, 145000, 1, 512), 11, 150000);
  expect_windows(f, "w", S(0, 0, 1, 2048), 1, 0);
  assert_int_equal(rows(f, pu), 3);
}

/* State re-read after a restart: a fresh driver over the same data dir has
 * no cached session list and must rebuild it from the committed rows. */
static void test_sessions_restart(void **state) {
  fx_t *f = *state;
  view_def(f, session_30s);
  start(f, 2);
  int32_t pu = part(f, "u");
  pipe_v(f, "u", 0, 1);
  pipe_v(f, "u", 70000, 2);
  pipe_v(f, "u", 125000, 4);
  pipe_v(f, "u", 150000, 8); /* joins [125000]: [125000, 150000] */
  pipe_v(f, "f", 145000, 16);
  commit(f);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 70000, 1, 2) "," S(125000, 150000, 2, 12), 5,
                 150000);
  /* Not committed: lost with the driver, as after a crash. */
  pipe_v(f, "u", 140000, 4096);
  ed_test_driver_destroy(f->d);
  f->d = NULL;

  start(f, 2);
  /* (A fresh driver has no task, hence no store, before a record comes.) */
  assert_null(ed_test_driver_store(f->d, "clicks", pu));
  /* 45000 bridges [0] and [70000] (within 30 s of each); the stream time
   * 150000 came back with the state, so a session ending at 45000 would be
   * late, but the merged one ends at 70000 + 20000 <= 150000: late too. */
  pipe_v(f, "u", 45000, 32);
  assert_int_equal(stats(f).late_records, 1);
  /* The committed state came back as it was; the lost record is not in it. */
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 70000, 1, 2) "," S(125000, 150000, 2, 12), 5,
                 150000);
  /* 100000 bridges [70000] and [125000, 150000]: the merged session ends at
   * 150000, still open. */
  pipe_v(f, "u", 100000, 64);
  assert_int_equal(stats(f).late_records, 1);
  commit(f);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 150000, 4, 78), 7, 150000);
  expect_windows(f, "f", S(145000, 145000, 1, 16), 7, 150000);
  assert_int_equal(rows(f, pu), 3);

  /* Once more, with the merged rows committed. */
  ed_test_driver_destroy(f->d);
  f->d = NULL;
  start(f, 2);
  pipe_v(f, "u", 160000, 128); /* extends [70000, 150000] */
  pipe_v(f, "f", 150000, 256); /* extends [145000] */
  commit(f);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 160000, 5, 206), 9, 160000);
  expect_windows(f, "f", S(145000, 150000, 2, 272), 9, 160000);
  assert_int_equal(rows(f, pu), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sessions_restart, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
