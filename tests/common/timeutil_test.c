#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/timeutil.h"

static void test_units(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t ms;
  } ok[] = {
      {"0", 0},         {"250", 250},
      {"500ms", 500},   {"0ms", 0},
      {"30s", 30000},   {"5m", 300000},
      {"1h", 3600000},  {"7d", 604800000},
      {"90m", 5400000}, {"1000000d", 86400000000000LL},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t ms = -1;
    if (ed_duration_parse(ok[i].text, &ms) != ED_OK) fail_msg("'%s' rejected", ok[i].text);
    assert_int_equal(ms, ok[i].ms);
  }
}

static void test_rejects(void **state) {
  (void)state;
  static const char *bad[] = {"",
                              "s",
                              "-5s",
                              "+5s",
                              " 5s",
                              "5 s",
                              "5s ",
                              "1.5h",
                              "5x",
                              "5mss",
                              "5M",
                              "5sec",
                              "ms",
                              "0x10",
                              "99999999999999999999",
                              "9223372036854775807d"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t ms = 42;
    if (ed_duration_parse(bad[i], &ms) != ED_EINVAL) fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(ms, 42); /* untouched on error */
  }
  int64_t ms;
  assert_int_equal(ed_duration_parse(NULL, &ms), ED_EINVAL);
}

static void test_clocks(void **state) {
  (void)state;
  int64_t a = ed_mono_ns(), b = ed_mono_ns();
  assert_true(b >= a);
  assert_true(ed_now_ms() > 1600000000000LL); /* after 2020 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_clocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
