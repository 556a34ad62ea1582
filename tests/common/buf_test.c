#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

/* Appends @p s (len bytes) as a JSON string and checks the text. */
static void expect_json(const char *s, size_t len, const char *want) {
  ed_buf_t b;
  ed_buf_init(&b);
  ed_buf_append_json_string(&b, s, len);
  assert_false(ed_buf_failed(&b));
  assert_int_equal(b.len, strlen(want));
  assert_string_equal(b.data, want);
  ed_buf_fini(&b);
}

#define EXPECT_JSON(lit, want) expect_json(lit, sizeof(lit) - 1, want)

static void test_json_plain(void **state) {
  (void)state;
  EXPECT_JSON("", "\"\"");
  EXPECT_JSON("alice", "\"alice\"");
  EXPECT_JSON("a/b", "\"a/b\""); /* '/' needs no escape */
}

static void test_json_escapes(void **state) {
  (void)state;
  EXPECT_JSON("say \"hi\"", "\"say \\\"hi\\\"\"");
  EXPECT_JSON("back\\slash", "\"back\\\\slash\"");
  EXPECT_JSON("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
  EXPECT_JSON("\b\f", "\"\\u0008\\u000c\"");
  EXPECT_JSON("\x01\x1f", "\"\\u0001\\u001f\"");
  EXPECT_JSON("\x7f", "\"\x7f\""); /* DEL is allowed raw in JSON */
  expect_json("a\0b", 3, "\"a\\u0000b\"");
}

static void test_json_utf8(void **state) {
  (void)state;
  EXPECT_JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* é */
  EXPECT_JSON("\xe2\x82\xac", "\"\xe2\x82\xac\"");         /* € */
  EXPECT_JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* 😀 */
  /* Invalid UTF-8: each bad byte becomes \u00XX. */
  EXPECT_JSON("\xff", "\"\\u00ff\"");
  EXPECT_JSON("a\xc3", "\"a\\u00c3\"");                                /* truncated sequence */
  EXPECT_JSON("\xc3(", "\"\\u00c3(\"");                                /* bad continuation */
  EXPECT_JSON("\xc0\xaf", "\"\\u00c0\\u00af\"");                       /* overlong '/' */
  EXPECT_JSON("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");            /* UTF-16 surrogate */
  EXPECT_JSON("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* > U+10FFFF */
  EXPECT_JSON("\x80", "\"\\u0080\"");                                  /* lone continuation */
}

static void test_json_long(void **state) {
  (void)state;
  /* Longer than the first allocation, with escapes spread through it. */
  char in[3000], want[6100];
  size_t w = 0;
  want[w++] = '"';
  for (size_t i = 0; i < sizeof in; i++) {
    in[i] = i % 7 == 0 ? '"' : (char)('a' + i % 26);
    if (in[i] == '"') want[w++] = '\\';
    want[w++] = in[i];
  }
  want[w++] = '"';
  want[w] = '\0';
  expect_json(in, sizeof in, want);
}

static void test_numbers(void **state) {
  (void)state;
  ed_buf_t b;
  ed_buf_init(&b);
  ed_buf_append_i64(&b, INT64_MIN);
  ed_buf_putc(&b, ' ');
  ed_buf_append_i64(&b, 42);
  ed_buf_putc(&b, ' ');
  ed_buf_append_double(&b, 30.0);
  ed_buf_putc(&b, ' ');
  ed_buf_append_double(&b, 0.1);
  ed_buf_putc(&b, ' ');
  ed_buf_append_double(&b, 1.0 / 3.0);
  ed_buf_putc(&b, ' ');
  ed_buf_append_double(&b, INFINITY);
  ed_buf_putc(&b, ' ');
  ed_buf_append_double(&b, NAN);
  assert_string_equal(b.data, "-9223372036854775808 42 30 0.1 0.33333333333333331 null null");
  ed_buf_fini(&b);
}

static void test_printf_and_reset(void **state) {
  (void)state;
  ed_buf_t b;
  ed_buf_init(&b);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ed_buf_printf(&b, "<%s>%d", big, 7);
  assert_int_equal(b.len, 1001 + 1);
  assert_int_equal(b.data[0], '<');
  assert_string_equal(b.data + 1000, ">7");
  ed_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  ed_buf_puts(&b, "ok");
  assert_string_equal(b.data, "ok");
  ed_buf_fini(&b);
  ed_buf_fini(&b); /* fini leaves an empty buffer */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_plain), cmocka_unit_test(test_json_escapes),
      cmocka_unit_test(test_json_utf8),  cmocka_unit_test(test_json_long),
      cmocka_unit_test(test_numbers),    cmocka_unit_test(test_printf_and_reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
