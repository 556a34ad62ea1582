/* Session windows through the topology test driver (streams/testdriver.h):
 * sessions that stay apart, a record bridging two of them (merged, the old
 * rows deleted), records inside a session, out-of-order records within
 * grace, late sessions, keys that do not interfere, and a driver recreated
 * over committed state (the session list rebuilt from the store). */
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

static int setup(void **state) { return du_setup(state, "drvses"); }

/* Expects the answer for @p key (du_expect_win_at). */
#define expect_windows(f, ...) du_expect_win_at(__LINE__, f, ED_STORE_KIND_SESSION, __VA_ARGS__)

#define W DU_W

/* A session: its first and last record's times, then count and sum(v). */
#define S(start, end, count, sum)                                                                  \
  "{\"start\":" #start ",\"end\":" #end ",\"value\":{\"count\":" #count ",\"sum\":" #sum "}}"

static const ed_window_spec_t session_30s = {.type = ED_WIN_SESSION, .gap = 30000, .grace = 20000};

/* Gap 30 s, grace 20 s, two partitions: "u" and "f" share a task (and its
 * stream time), "w" is in the other one. */
static void test_sessions(void **state) {
  fx_t *f = *state;
  du_clicks_def(f, session_30s);
  du_start(f, 2);
  int32_t pu = du_part(f->d, "u");
  assert_int_equal(du_part(f->d, "f"), pu);
  assert_int_not_equal(du_part(f->d, "w"), pu);

  du_pipe_v(f, "u", 0, 1);
  du_pipe_v(f, "u", 50000, 2); /* 50000 - 30000 > 0: a second session */
  du_commit(f->d);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(50000, 50000, 1, 2), 2, 50000);
  assert_int_equal(du_rows(f, pu), 2);

  /* 25000 is within 30 s of both: one session [0, 50000]; the row of the
   * session that started at 50000 is gone. */
  du_pipe_v(f, "u", 25000, 4);
  du_commit(f->d);
  expect_windows(f, "u", S(0, 50000, 3, 7), 3, 50000);
  assert_int_equal(du_rows(f, pu), 1);

  du_pipe_v(f, "u", 10000, 8);    /* inside [0, 50000] */
  du_pipe_v(f, "u", 70000, 16);   /* extends it to [0, 70000]; stream time 70000 */
  du_pipe_v(f, "u", 150000, 32);  /* a new session; stream time 150000 */
  du_pipe_v(f, "u", 140000, 64);  /* out of order, joins it: [140000, 150000] */
  du_pipe_v(f, "u", 105000, 128); /* alone: a session ending at 105000, 105000 + 20000 <= 150000 */
  assert_int_equal(du_stats(f->d).late_records, 1);
  du_pipe_v(f, "u", 125000, 256); /* joins [140000, 150000], which is still open: not late */
  assert_int_equal(du_stats(f->d).late_records, 1);
  /* Another key of the same task: its own sessions, the same stream time. */
  du_pipe_v(f, "f", 145000, 512);
  du_pipe_v(f, "f", 100000, 1024); /* late: 100000 + 20000 <= 150000 */
  /* A key of the other task, whose stream time is unset. */
  du_pipe_v(f, "w", 0, 2048);
  ed_test_driver_stats_t s;
  ed_test_driver_stats(f->d, &s);
  assert_int_equal(s.records_in, 12);
  assert_int_equal(s.late_records, 2);
  assert_int_equal(s.bad_records, 0);
  du_commit(f->d);
  expect_windows(f, "u", S(0, 70000, 5, 31) "," S(125000, 150000, 3, 352), 11, 150000);
  expect_windows(f, "f", S(145000, 145000, 1, 512), 11, 150000);
  expect_windows(f, "w", S(0, 0, 1, 2048), 1, 0);
  assert_int_equal(du_rows(f, pu), 3);
}

/* State re-read after a restart: a fresh driver over the same data dir has
 * no cached session list and must rebuild it from the committed rows. */
static void test_sessions_restart(void **state) {
  fx_t *f = *state;
  du_clicks_def(f, session_30s);
  du_start(f, 2);
  int32_t pu = du_part(f->d, "u");
  du_pipe_v(f, "u", 0, 1);
  du_pipe_v(f, "u", 70000, 2);
  du_pipe_v(f, "u", 125000, 4);
  du_pipe_v(f, "u", 150000, 8); /* joins [125000]: [125000, 150000] */
  du_pipe_v(f, "f", 145000, 16);
  du_commit(f->d);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 70000, 1, 2) "," S(125000, 150000, 2, 12), 5,
                 150000);
  /* Not committed: lost with the driver, as after a crash. */
  du_pipe_v(f, "u", 140000, 4096);
  ed_test_driver_destroy(f->d);
  f->d = NULL;

  du_start(f, 2);
  /* (A fresh driver has no task, hence no store, before a record comes.) */
  assert_null(ed_test_driver_store(f->d, "clicks", pu));
  /* 45000 bridges [0] and [70000] (within 30 s of each); the stream time
   * 150000 came back with the state, so a session ending at 45000 would be
   * late, but the merged one ends at 70000 + 20000 <= 150000: late too. */
  du_pipe_v(f, "u", 45000, 32);
  assert_int_equal(du_stats(f->d).late_records, 1);
  /* The committed state came back as it was; the lost record is not in it. */
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 70000, 1, 2) "," S(125000, 150000, 2, 12), 5,
                 150000);
  /* 100000 bridges [70000] and [125000, 150000]: the merged session ends at
   * 150000, still open. */
  du_pipe_v(f, "u", 100000, 64);
  assert_int_equal(du_stats(f->d).late_records, 1);
  du_commit(f->d);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 150000, 4, 78), 7, 150000);
  expect_windows(f, "f", S(145000, 145000, 1, 16), 7, 150000);
  assert_int_equal(du_rows(f, pu), 3);

  /* Once more, with the merged rows committed. */
  ed_test_driver_destroy(f->d);
  f->d = NULL;
  du_start(f, 2);
  du_pipe_v(f, "u", 160000, 128); /* extends [70000, 150000] */
  du_pipe_v(f, "f", 150000, 256); /* extends [145000] */
  du_commit(f->d);
  expect_windows(f, "u", S(0, 0, 1, 1) "," S(70000, 160000, 5, 206), 9, 160000);
  expect_windows(f, "f", S(145000, 150000, 2, 272), 9, 160000);
  assert_int_equal(du_rows(f, pu), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sessions, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_sessions_restart, setup, du_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
