#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/json.h"

static int scan(const char *s) { return ed_json_scan(s, strlen(s), NULL, 0, NULL, NULL); }

static void test_valid(void **state) {
  (void)state;
  static const char *ok[] = {
      "{}",
      "[]",
      "0",
      "-0",
      "1",
      "-1",
      "12.5e-3",
      "1E+2",
      "0.0",
      "true",
      "false",
      "null",
      "\"\"",
      "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"",
      " \t\r\n{ \"a\" : [ 1 , 2 , { \"b\" : null } ] , \"c\" : \"x\" } \n",
      "[[[]],{},[{}]]",
      "{\"\":1}",
      "\"caf\xc3\xa9\"",
      "123456789012345678901234567890",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (scan(ok[i]) != ED_OK) fail_msg("rejected valid JSON: %s", ok[i]);
}

static void test_invalid(void **state) {
  (void)state;
  static const char *bad[] = {
      "",        "   ",      "{",          "[",         "{\"a\"",
      "{\"a\":", "{\"a\":1", "[1,",        "\"abc",     "tru",
      "nul",     "falsey",   "{\"a\":1,}", "[1,]",      "[,1]",
      "{,}",     "{a:1}",    "{'a':1}",    "{\"a\" 1}", "{\"a\":1 \"b\":2}",
      "[1 2]",   "01",       "-01",        "-",         "+1",
      "1.",      ".5",       "1e",         "1e+",       "0x10",
      "NaN",     "Infinity", "\"\\x\"",    "\"\\u12\"", "\"\\u12g4\"",
      "\"\\\"",  "\"a\tb\"", "\"a\nb\"",   "\"\x01\"",  "{} {}",
      "1 2",     "[] x",     "{}}",        "\"\\'\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (scan(bad[i]) != ED_EBADREC) fail_msg("accepted invalid JSON: '%s'", bad[i]);
  /* A NUL byte inside the given length is not whitespace. */
  assert_int_equal(ed_json_scan("{}\0", 3, NULL, 0, NULL, NULL), ED_EBADREC);
  assert_int_equal(ed_json_scan("\"a\0b\"", 5, NULL, 0, NULL, NULL), ED_EBADREC);
  /* Only the first len bytes count. */
  assert_int_equal(ed_json_scan("[1]garbage", 3, NULL, 0, NULL, NULL), ED_OK);
  assert_int_equal(ed_json_scan("[1]", 2, NULL, 0, NULL, NULL), ED_EBADREC);
}

static void test_errpos(void **state) {
  (void)state;
  size_t pos = 999;
  assert_int_equal(ed_json_scan("[1,2] x", 7, NULL, 0, NULL, &pos), ED_EBADREC);
  assert_int_equal(pos, 6);
  pos = 999;
  assert_int_equal(ed_json_scan("{\"a\":?}", 7, NULL, 0, NULL, &pos), ED_EBADREC);
  assert_int_equal(pos, 5);
}

/* @p depth nested arrays around a scalar. */
static char *nested(int depth) {
  char *s = malloc((size_t)depth * 2 + 2);
  memset(s, '[', (size_t)depth);
  s[depth] = '1';
  memset(s + depth + 1, ']', (size_t)depth);
  s[depth * 2 + 1] = '\0';
  return s;
}

static void test_depth(void **state) {
  (void)state;
  char *s = nested(256);
  assert_int_equal(scan(s), ED_OK);
  free(s);
  s = nested(257);
  assert_int_equal(scan(s), ED_EBADREC);
  free(s);
  /* Deep enough to overflow the stack if the limit were not enforced. */
  s = nested(100000);
  assert_int_equal(scan(s), ED_EBADREC);
  free(s);
  /* Objects count too. */
  char obj[256 * 6 + 16];
  size_t n = 0;
  for (int i = 0; i < 257; i++) n += (size_t)sprintf(obj + n, "{\"a\":");
  obj[n++] = '1';
  for (int i = 0; i < 257; i++) obj[n++] = '}';
  assert_int_equal(ed_json_scan(obj, n, NULL, 0, NULL, NULL), ED_EBADREC);
}

#define F(s)                                                                                       \
  { s, sizeof(s) - 1 }

static void test_fields(void **state) {
  (void)state;
  const char *doc =
      "{\"inner\":{\"user\":\"nested\",\"amount\":99},\"user\":\"alice\",\"amount\":12.5,"
      "\"tags\":[1,{\"user\":2}],\"ok\":true,\"none\":null,\"off\":false,\"obj\":{}}";
  const ed_json_field_t fields[] = {F("user"), F("amount"), F("tags"), F("ok"),
                                    F("none"), F("off"),    F("obj"),  F("missing")};
  ed_json_val_t out[8];
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 8, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_STRING);
  assert_int_equal(out[0].len, 5);
  assert_memory_equal(out[0].p, "alice", 5);
  assert_int_equal(out[1].type, ED_JSON_NUMBER);
  assert_int_equal(out[1].len, 4);
  assert_memory_equal(out[1].p, "12.5", 4);
  assert_int_equal(out[2].type, ED_JSON_ARRAY);
  assert_int_equal(out[2].len, strlen("[1,{\"user\":2}]"));
  assert_memory_equal(out[2].p, "[1,{\"user\":2}]", out[2].len);
  assert_int_equal(out[3].type, ED_JSON_TRUE);
  assert_int_equal(out[4].type, ED_JSON_NULL);
  assert_int_equal(out[5].type, ED_JSON_FALSE);
  assert_int_equal(out[6].type, ED_JSON_OBJECT);
  assert_int_equal(out[6].len, 2);
  assert_int_equal(out[7].type, ED_JSON_MISSING);
}

static void test_fields_nested_only(void **state) {
  (void)state;
  const ed_json_field_t fields[] = {F("user")};
  ed_json_val_t out[1];
  const char *doc = "{\"a\":{\"user\":\"bob\"},\"b\":[{\"user\":1}]}";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_MISSING);
  /* A top-level array of objects has no top-level fields. */
  doc = "[{\"user\":\"bob\"}]";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_MISSING);
  doc = "\"user\"";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_MISSING);
}

static void test_fields_duplicate_and_invalid(void **state) {
  (void)state;
  const ed_json_field_t fields[] = {F("n")};
  ed_json_val_t out[1];
  const char *doc = "{\"n\":1,\"n\":2}";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_NUMBER);
  assert_memory_equal(out[0].p, "2", 1);
  /* A field found before the error is not reported. */
  doc = "{\"n\":1,\"x\":}";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_EBADREC);
  assert_int_equal(out[0].type, ED_JSON_MISSING);
  /* Field names are compared escaped, byte for byte. */
  doc = "{\"\\u006e\":1}";
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 1, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_JSON_MISSING);
}

static ed_json_val_t num(const char *s) {
  ed_json_val_t v = {ED_JSON_NUMBER, s, strlen(s)};
  return v;
}

static void test_number(void **state) {
  (void)state;
  int is_int = -1;
  int64_t i = 0;
  double d = 0;
  ed_json_val_t v = num("42");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 1);
  assert_int_equal(i, 42);
  assert_true(d == 42.0);

  v = num("-9223372036854775808");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 1);
  assert_true(i == INT64_MIN);

  v = num("9223372036854775807");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 1);
  assert_true(i == INT64_MAX);

  /* One past INT64_MAX: a double, not a clamped int. */
  v = num("9223372036854775808");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == 9223372036854775808.0);

  v = num("-9223372036854775809");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == -9223372036854775808.0);

  v = num("12.5");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == 12.5);

  v = num("1e3");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == 1000.0);

  v = num("-2.5E-1");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == -0.25);

  v = num("-0");
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 1);
  assert_int_equal(i, 0);

  /* Numbers taken from a scanned document. */
  const char *doc = "{\"a\":7,\"b\":1.5}";
  const ed_json_field_t fields[] = {F("a"), F("b")};
  ed_json_val_t out[2];
  assert_int_equal(ed_json_scan(doc, strlen(doc), fields, 2, out, NULL), ED_OK);
  assert_int_equal(ed_json_number(&out[0], &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 1);
  assert_int_equal(i, 7);
  assert_int_equal(ed_json_number(&out[1], &is_int, &i, &d), ED_OK);
  assert_int_equal(is_int, 0);
  assert_true(d == 1.5);
}

static void test_number_not_a_number(void **state) {
  (void)state;
  int is_int;
  int64_t i;
  double d;
  ed_json_val_t v = {ED_JSON_STRING, "12", 2};
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_EINVAL);
  v.type = ED_JSON_MISSING;
  assert_int_equal(ed_json_number(&v, &is_int, &i, &d), ED_EINVAL);
}

/* Scans "\"<body>\"" and unescapes the string. */
static long unescape(const char *json, char *out, size_t cap) {
  ed_json_field_t f = F("s");
  ed_json_val_t v;
  char doc[256];
  int n = snprintf(doc, sizeof doc, "{\"s\":\"%s\"}", json);
  assert_int_equal(ed_json_scan(doc, (size_t)n, &f, 1, &v, NULL), ED_OK);
  assert_int_equal(v.type, ED_JSON_STRING);
  return ed_json_unescape(&v, out, cap);
}

static void expect_unescape(const char *json, const char *want, size_t wantlen) {
  char out[64];
  long n = unescape(json, out, sizeof out);
  assert_int_equal(n, (long)wantlen);
  assert_memory_equal(out, want, wantlen);
}

#define EXPECT_UNESCAPE(json, want) expect_unescape(json, want, sizeof(want) - 1)

static void test_unescape(void **state) {
  (void)state;
  EXPECT_UNESCAPE("plain", "plain");
  EXPECT_UNESCAPE("", "");
  EXPECT_UNESCAPE("a\\\"b\\\\c\\/d", "a\"b\\c/d");
  EXPECT_UNESCAPE("\\b\\f\\n\\r\\t", "\b\f\n\r\t");
  EXPECT_UNESCAPE("\\u0041\\u00e9\\u20AC", "A\xc3\xa9\xe2\x82\xac");
  EXPECT_UNESCAPE("\\u0000", "\0");
  /* Surrogate pair -> one 4-byte sequence (U+1F600). */
  EXPECT_UNESCAPE("\\uD83D\\uDE00", "\xf0\x9f\x98\x80");
  EXPECT_UNESCAPE("x\\ud83d\\ude00y", "x\xf0\x9f\x98\x80y");
  /* Lone surrogates become U+FFFD. */
  EXPECT_UNESCAPE("\\uD83D", "\xef\xbf\xbd");
  EXPECT_UNESCAPE("\\uDE00", "\xef\xbf\xbd");
  EXPECT_UNESCAPE("\\uD83Dx", "\xef\xbf\xbdx");
  EXPECT_UNESCAPE("\\uD83D\\u0041", "\xef\xbf\xbd"
                                    "A");
  EXPECT_UNESCAPE("caf\xc3\xa9", "caf\xc3\xa9");
}

static void test_unescape_capacity(void **state) {
  (void)state;
  char out[8];
  assert_int_equal(unescape("abcd", out, 4), 4);
  assert_int_equal(unescape("abcde", out, 4), -1);
  /* A multi-byte character that does not fit is not split. */
  assert_int_equal(unescape("ab\\u20ac", out, 4), -1);
  assert_int_equal(unescape("ab\\u20ac", out, 5), 5);
  assert_int_equal(unescape("", out, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_errpos),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_fields_nested_only),
      cmocka_unit_test(test_fields_duplicate_and_invalid),
      cmocka_unit_test(test_number),
      cmocka_unit_test(test_number_not_a_number),
      cmocka_unit_test(test_unescape),
      cmocka_unit_test(test_unescape_capacity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
