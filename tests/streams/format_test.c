#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "streams/format.h"

static void test_names(void **state) {
  (void)state;
  static const char *names[] = {"json", "string", "int64", "double"};
  for (int i = 0; i < 4; i++) {
    ed_format_t f;
    assert_string_equal(ed_format_name((ed_format_t)i), names[i]);
    assert_int_equal(ed_format_parse(names[i], &f), ED_OK);
    assert_int_equal(f, i);
  }
  ed_format_t f;
  assert_int_equal(ed_format_parse("JSON", &f), ED_EINVAL);
  assert_int_equal(ed_format_parse("avro", &f), ED_EINVAL);
  assert_int_equal(ed_format_parse("", &f), ED_EINVAL);
}

static void test_int64(void **state) {
  (void)state;
  ed_value_t v;
  char why[128];
  static const unsigned char one[8] = {0, 0, 0, 0, 0, 0, 0, 1};
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, one, 8, &v, why, sizeof why), ED_OK);
  assert_int_equal(v.type, ED_V_INT);
  assert_true(v.v.i == 1);
  static const unsigned char big[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, big, 8, &v, why, sizeof why), ED_OK);
  assert_true(v.v.i == 0x0102030405060708LL);
  static const unsigned char m1[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, m1, 8, &v, why, sizeof why), ED_OK);
  assert_true(v.v.i == -1);
  static const unsigned char m300[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd4};
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, m300, 8, &v, why, sizeof why), ED_OK);
  assert_true(v.v.i == -300);
  static const unsigned char min[8] = {0x80, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, min, 8, &v, why, sizeof why), ED_OK);
  assert_true(v.v.i == INT64_MIN);
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, one, 4, &v, why, sizeof why), ED_EBADREC);
  assert_string_equal(why, "int64 value must be 8 bytes, got 4");
  assert_int_equal(ed_format_decode(ED_FORMAT_INT64, one, 0, &v, NULL, 0), ED_EBADREC);
}

static void test_double(void **state) {
  (void)state;
  ed_value_t v;
  char why[128];
  static const unsigned char d15[8] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0}; /* 1.5 */
  assert_int_equal(ed_format_decode(ED_FORMAT_DOUBLE, d15, 8, &v, why, sizeof why), ED_OK);
  assert_int_equal(v.type, ED_V_DOUBLE);
  assert_true(v.v.d == 1.5);
  static const unsigned char dm2[8] = {0xc0, 0, 0, 0, 0, 0, 0, 0}; /* -2.0 */
  assert_int_equal(ed_format_decode(ED_FORMAT_DOUBLE, dm2, 8, &v, why, sizeof why), ED_OK);
  assert_true(v.v.d == -2.0);
  assert_int_equal(ed_format_decode(ED_FORMAT_DOUBLE, d15, 9, &v, why, sizeof why), ED_EBADREC);
  assert_string_equal(why, "double value must be 8 bytes, got 9");
}

static void test_string(void **state) {
  (void)state;
  ed_value_t v;
  const char *s = "h\\u00e9llo";
  assert_int_equal(ed_format_decode(ED_FORMAT_STRING, s, strlen(s), &v, NULL, 0), ED_OK);
  assert_int_equal(v.type, ED_V_STRING);
  assert_ptr_equal(v.v.s.p, s);
  assert_int_equal(v.v.s.len, strlen(s));
  assert_int_equal(v.v.s.escaped, 0);
  assert_int_equal(ed_format_decode(ED_FORMAT_STRING, "", 0, &v, NULL, 0), ED_OK);
  assert_int_equal(v.v.s.len, 0);
}

static int dec(const char *s, ed_value_t *v) {
  char why[64];
  return ed_format_decode(ED_FORMAT_JSON, s, strlen(s), v, why, sizeof why);
}

static void test_json(void **state) {
  (void)state;
  ed_value_t v;
  assert_int_equal(dec(" {\"a\": 1} \n", &v), ED_OK);
  assert_int_equal(v.type, ED_V_JSON);
  assert_int_equal(v.v.s.len, 8);
  assert_memory_equal(v.v.s.p, "{\"a\": 1}", 8);
  assert_int_equal(dec("[1,2]", &v), ED_OK);
  assert_int_equal(v.type, ED_V_JSON);
  assert_int_equal(dec("\"a\\nb\"", &v), ED_OK);
  assert_int_equal(v.type, ED_V_STRING);
  assert_int_equal(v.v.s.escaped, 1);
  assert_int_equal(v.v.s.len, 4);
  assert_int_equal(dec("42", &v), ED_OK);
  assert_int_equal(v.type, ED_V_INT);
  assert_true(v.v.i == 42);
  assert_int_equal(dec("-9223372036854775808", &v), ED_OK);
  assert_int_equal(v.type, ED_V_INT);
  assert_true(v.v.i == INT64_MIN);
  assert_int_equal(dec("9223372036854775808", &v), ED_OK);
  assert_int_equal(v.type, ED_V_DOUBLE);
  assert_int_equal(dec("2.5e1", &v), ED_OK);
  assert_int_equal(v.type, ED_V_DOUBLE);
  assert_true(v.v.d == 25.0);
  assert_int_equal(dec("true", &v), ED_OK);
  assert_true(v.type == ED_V_BOOL && v.v.b == 1);
  assert_int_equal(dec("false", &v), ED_OK);
  assert_true(v.type == ED_V_BOOL && v.v.b == 0);
  assert_int_equal(dec("null", &v), ED_OK);
  assert_int_equal(v.type, ED_V_NULL);

  static const char *bad[] = {"", "   ", "nul", "truex", "01", "1.", "-", "abc", "\"", "+1", "1 2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char why[64] = "";
    assert_int_equal(ed_format_decode(ED_FORMAT_JSON, bad[i], strlen(bad[i]), &v, why, sizeof why),
                     ED_EBADREC);
    assert_true(why[0] != '\0');
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),  cmocka_unit_test(test_int64), cmocka_unit_test(test_double),
      cmocka_unit_test(test_string), cmocka_unit_test(test_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
