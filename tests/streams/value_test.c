#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "streams/value.h"

static ed_value_t str(const char *s, int escaped) {
  ed_value_t v = {.type = ED_V_STRING};
  v.v.s.p = s;
  v.v.s.len = strlen(s);
  v.v.s.escaped = escaped;
  return v;
}

static void check_key(const ed_value_t *v, const char *want) {
  ed_buf_t b;
  ed_buf_init(&b);
  const char *p;
  size_t len;
  assert_int_equal(ed_value_key_bytes(v, &b, &p, &len), ED_OK);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(p, want, len);
  ed_buf_fini(&b);
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(ed_value_type_name(ED_V_MISSING), "missing");
  assert_string_equal(ed_value_type_name(ED_V_NULL), "null");
  assert_string_equal(ed_value_type_name(ED_V_BOOL), "bool");
  assert_string_equal(ed_value_type_name(ED_V_INT), "int");
  assert_string_equal(ed_value_type_name(ED_V_DOUBLE), "double");
  assert_string_equal(ed_value_type_name(ED_V_STRING), "string");
  assert_string_equal(ed_value_type_name(ED_V_JSON), "object or array");
}

static void test_string(void **state) {
  (void)state;
  ed_buf_t b;
  ed_buf_init(&b);
  const char *p;
  size_t len;
  ed_value_t v = str("plain", 1);
  assert_int_equal(ed_value_string(&v, &b, &p, &len), ED_OK);
  assert_ptr_equal(p, v.v.s.p); /* no copy needed */
  assert_int_equal(len, 5);
  v = str("a\\n\\\"b\\u00e9\\ud83d\\ude00", 1);
  assert_int_equal(ed_value_string(&v, &b, &p, &len), ED_OK);
  assert_int_equal(len, 10);
  assert_memory_equal(p, "a\n\"b\xc3\xa9\xf0\x9f\x98\x80", 10);
  v = str("raw\\n", 0); /* not escaped: taken as is */
  assert_int_equal(ed_value_string(&v, &b, &p, &len), ED_OK);
  assert_int_equal(len, 5);
  ed_value_t i = {.type = ED_V_INT};
  assert_int_equal(ed_value_string(&i, &b, &p, &len), ED_EINVAL);
  ed_buf_fini(&b);
}

static void test_key_bytes(void **state) {
  (void)state;
  ed_value_t v = str("al\\u0069ce", 1);
  check_key(&v, "alice");
  v = (ed_value_t){.type = ED_V_INT, .v.i = -42};
  check_key(&v, "-42");
  v.v.i = INT64_MIN;
  check_key(&v, "-9223372036854775808");
  v = (ed_value_t){.type = ED_V_DOUBLE, .v.d = 0.1};
  check_key(&v, "0.1");
  v.v.d = 30.0;
  check_key(&v, "30");
  v.v.d = 1.0 / 3.0;
  check_key(&v, "0.33333333333333331");
  v = (ed_value_t){.type = ED_V_BOOL, .v.b = 1};
  check_key(&v, "true");
  v.v.b = 0;
  check_key(&v, "false");

  ed_buf_t b;
  ed_buf_init(&b);
  const char *p;
  size_t len;
  static const ed_vtype_t bad[] = {ED_V_NULL, ED_V_MISSING, ED_V_JSON};
  for (size_t k = 0; k < 3; k++) {
    ed_value_t x = {.type = bad[k]};
    assert_int_equal(ed_value_key_bytes(&x, &b, &p, &len), ED_EBADREC);
  }
  ed_buf_fini(&b);
}

static void test_number(void **state) {
  (void)state;
  double d;
  ed_value_t v = {.type = ED_V_INT, .v.i = 7};
  assert_int_equal(ed_value_number(&v, &d), ED_OK);
  assert_true(d == 7.0);
  v = (ed_value_t){.type = ED_V_DOUBLE, .v.d = 2.5};
  assert_int_equal(ed_value_number(&v, &d), ED_OK);
  assert_true(d == 2.5);
  v = str("7", 0);
  assert_int_equal(ed_value_number(&v, &d), ED_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_string),
      cmocka_unit_test(test_key_bytes),
      cmocka_unit_test(test_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
