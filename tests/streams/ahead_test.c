/* streams/ahead.c: keys restored ahead of the resume point skip exactly
 * the records their restored value already holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

static void test_skip(void **state) {
  (void)state;
  ed_ahead_t a;
  ed__ahead_init(&a);
  assert_int_equal(ed__ahead_skip(&a, "k", 1, 0, 5), 0); /* empty: nothing skipped */
  int64_t pos[2] = {100, 7};                              /* slot 0 up to 100, slot 1 up to 7 */
  assert_int_equal(ed__ahead_put(&a, "alice", 5, pos, 2), ED_OK);
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 0, 99), 1);  /* held by the restored row */
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 0, 100), 0); /* new */
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 1, 6), 1);
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 1, 7), 0);
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 2, 0), 0); /* a slot it has no position for */
  assert_int_equal(ed__ahead_skip(&a, "bob", 3, 0, 1), 0);
  assert_int_equal(ed__ahead_skip(&a, "alic", 4, 0, 1), 0);
  /* a later record of the same key moves its position */
  int64_t later[2] = {150, 7};
  assert_int_equal(ed__ahead_put(&a, "alice", 5, later, 2), ED_OK);
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 0, 120), 1);
  assert_int_equal(a.n, 1);
  assert_int_equal(a.max[0], 150);
  /* many keys: the table grows and finds them all */
  for (int i = 0; i < 1000; i++) {
    char k[16];
    int64_t p[1] = {i};
    snprintf(k, sizeof k, "key-%d", i);
    assert_int_equal(ed__ahead_put(&a, k, strlen(k), p, 1), ED_OK);
  }
  assert_int_equal(a.n, 1001);
  for (int i = 0; i < 1000; i++) {
    char k[16];
    snprintf(k, sizeof k, "key-%d", i);
    assert_int_equal(ed__ahead_skip(&a, k, strlen(k), 0, i - 1), 1);
    assert_int_equal(ed__ahead_skip(&a, k, strlen(k), 0, i), 0);
  }
  ed__ahead_clear(&a);
  assert_int_equal(a.n, 0);
  assert_int_equal(ed__ahead_skip(&a, "alice", 5, 0, 1), 0);
  ed__ahead_fini(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_skip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
