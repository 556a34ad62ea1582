/* Windowed views through the topology test driver (streams/testdriver.h):
 * tumbling and hopping windows with known answers, out-of-order records
 * within grace, late records after it, negative and zero timestamps, and
 * the purge of windows past their retention. Answers are read from the
 * committed stores and rendered as the query API does. */
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

#include "tests/streams/driver_util.h"

/* ---- fixture: a temporary data dir, a view and its driver (driver_util.h) ---- */

typedef du_fx_t fx_t;

static int setup(void **state) { return du_setup(state, "drvwin"); }

/* Expects the answer for @p key (du_expect_win_at). */
#define expect_windows(f, ...) du_expect_win_at(__LINE__, f, ED_STORE_KIND_WINDOWED, __VA_ARGS__)

#define W DU_W

/* ---- tumbling ---- */

/* size 60 s, grace 10 s, two partitions: "a" and "d" live in different
 * tasks, so each has its own stream time. */
static void test_tumbling(void **state) {
  fx_t *f = *state;
  du_clicks_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 10000});
  du_start(f, 2);
  assert_int_not_equal(du_part(f->d, "a"), du_part(f->d, "d"));

  du_pipe_v(f, "a", 1000, 1);  /* [0,60000) */
  du_pipe_v(f, "a", 61000, 2); /* [60000,120000); stream time 61000 */
  du_pipe_v(f, "a", 59000, 4); /* out of order, within grace: 60000 + 10000 > 61000 */
  du_pipe_v(f, "a", 69999, 8); /* stream time 69999 */
  du_pipe_v(f, "a", 0, 16);    /* 70000 > 69999: still on time */

  /* Nothing is visible before a commit. */
  expect_windows(f, "a", NULL, 0, 0);
  du_commit(f->d);
  expect_windows(f, "a", W(0, 60000, 3, 21) "," W(60000, 120000, 2, 10), 5, 69999);

  du_pipe_v(f, "a", 70000, 32);  /* stream time 70000: [0,60000) closes (70000 <= 70000) */
  du_pipe_v(f, "a", 59999, 64);  /* late */
  du_pipe_v(f, "a", 30000, 128); /* late */
  /* "d" is in the other task, whose stream time is still unset: on time. */
  du_pipe_v(f, "d", 30000, 256);
  du_pipe_v(f, "d", 130000, 512);
  ed_test_driver_stats_t s = du_stats(f->d);
  assert_int_equal(s.records_in, 10);
  assert_int_equal(s.late_records, 2);
  assert_int_equal(s.bad_records, 0);
  du_commit(f->d);
  expect_windows(f, "a", W(0, 60000, 3, 21) "," W(60000, 120000, 3, 42), 8, 70000);
  expect_windows(f, "d", W(0, 60000, 1, 256) "," W(120000, 180000, 1, 512), 2, 130000);

  /* Windows of one key, one window by start range (bounds inclusive). */
  int32_t p = du_part(f->d, "a");
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
  du_clicks_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 10000});
  du_start(f, 1);
  du_pipe_v(f, "n", -60001, 1); /* [-120000,-60000) */
  du_pipe_v(f, "n", -60000, 2); /* [-60000,0) */
  du_pipe_v(f, "n", -1, 4);     /* [-60000,0) */
  du_pipe_v(f, "n", 0, 8);      /* [0,60000); stream time 0 */
  du_commit(f->d);
  expect_windows(f, "n", W(-120000, -60000, 1, 1) "," W(-60000, 0, 2, 6) "," W(0, 60000, 1, 8), 4,
                 0);
  du_pipe_v(f, "n", -1, 16);     /* [-60000,0): 0 + 10000 > 0: on time */
  du_pipe_v(f, "n", -70001, 32); /* [-120000,-60000): -60000 + 10000 <= 0: late */
  assert_int_equal(du_stats(f->d).late_records, 1);
  du_pipe_v(f, "n", 59999, 64); /* stream time 59999 */
  du_pipe_v(f, "n", -1, 128);   /* [-60000,0): 0 + 10000 <= 59999: late now */
  assert_int_equal(du_stats(f->d).late_records, 2);
  du_commit(f->d);
  expect_windows(f, "n", W(-120000, -60000, 1, 1) "," W(-60000, 0, 3, 22) "," W(0, 60000, 2, 72), 8,
                 59999);
}

/* ---- hopping ---- */

/* size 60 s, advance 20 s: every record is in 3 windows. */
static void test_hopping(void **state) {
  fx_t *f = *state;
  du_clicks_def(f, (ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 60000, .advance = 20000});
  du_start(f, 3);
  du_pipe_v(f, "h", -1, 1);    /* -60000, -40000, -20000 */
  du_pipe_v(f, "h", 0, 2);     /* -40000, -20000, 0 */
  du_pipe_v(f, "h", 50000, 4); /* 0, 20000, 40000 */
  du_commit(f->d);
  expect_windows(f, "h",
                 W(-60000, 0, 1, 1) "," W(-40000, 20000, 2, 3) "," W(-20000, 40000, 2, 3) "," W(
                     0, 60000, 2, 6) "," W(20000, 80000, 1, 4) "," W(40000, 100000, 1, 4),
                 3, 50000);

  /* Stream time 60000 closes [0,60000) (grace 0) but not the later two:
   * a record at 45000 goes to those and is not counted late. */
  du_pipe_v(f, "h", 60000, 8);  /* 20000, 40000, 60000 */
  du_pipe_v(f, "h", 45000, 16); /* 0 (closed), 20000, 40000 */
  assert_int_equal(du_stats(f->d).late_records, 0);
  /* All three windows of 19999 (-40000, -20000, 0) are closed: late. */
  du_pipe_v(f, "h", 19999, 32);
  assert_int_equal(du_stats(f->d).late_records, 1);
  du_commit(f->d);
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
  du_clicks_def(f, (ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 100000, .advance = 1000});
  du_start(f, 1);
  du_pipe_v(f, "m", 500, 1); /* windows starting at -99000, -98000, ..., 0 */
  du_commit(f->d);
  assert_int_equal(du_rows(f, 0), 100);
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
  du_clicks_def(f, (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .retention = 120000});
  du_start(f, 1);
  du_pipe_v(f, "r", 0, 1);
  du_pipe_v(f, "s", 10000, 2);
  du_commit(f->d);
  expect_windows(f, "r", W(0, 60000, 1, 1), 2, 10000);
  expect_windows(f, "s", W(0, 60000, 1, 2), 2, 10000);

  du_pipe_v(f, "r", 60000, 4);
  du_commit(f->d); /* stream time 60000: nothing expires before 120000 */
  expect_windows(f, "r", W(0, 60000, 1, 1) "," W(60000, 120000, 1, 4), 3, 60000);
  assert_int_equal(du_rows(f, 0), 3);

  du_pipe_v(f, "r", 119999, 8);
  du_commit(f->d); /* one ms short */
  assert_int_equal(du_rows(f, 0), 3);

  du_pipe_v(f, "r", 120000, 16);
  du_commit(f->d); /* [0,60000) of "r" and "s" expire at 120000 */
  expect_windows(f, "r", W(60000, 120000, 2, 12) "," W(120000, 180000, 1, 16), 5, 120000);
  expect_windows(f, "s", NULL, 0, 0);
  assert_int_equal(du_rows(f, 0), 2);

  du_pipe_v(f, "s", 185000, 32);
  du_commit(f->d); /* [60000,120000) expires at 180000; [120000,180000) stays until 240000 */
  expect_windows(f, "r", W(120000, 180000, 1, 16), 6, 185000);
  expect_windows(f, "s", W(180000, 240000, 1, 32), 6, 185000);
  assert_int_equal(du_rows(f, 0), 2);
  assert_int_equal(du_stats(f->d).late_records, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tumbling, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_tumbling_negative, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_hopping, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_hopping_many, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_retention, setup, du_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
