/* Unit tests for store/row.c: the encoded row format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "store/row.h"

static void test_round_trip(void **state) {
  (void)state;
  ed_col_t in[5] = {
      {.type = ED_COL_INT, .v.i = -1234567890123LL}, {.type = ED_COL_DOUBLE, .v.d = 3.25},
      {.type = ED_COL_STRING, .v.s = {"héllo", 6}},  {.type = ED_COL_NULL},
      {.type = ED_COL_STRING, .v.s = {"", 0}},
  };
  uint8_t buf[128];
  size_t want = 2 + 9 + 9 + 5 + 6 + 1 + 5;
  assert_int_equal(ed_row_encoded_size(in, 5), want);
  assert_int_equal(ed_row_encode(in, 5, buf, sizeof buf), want);
  /* documented layout: version, count, then type + little-endian payload */
  assert_int_equal(buf[0], 1);
  assert_int_equal(buf[1], 5);
  assert_int_equal(buf[2], ED_COL_INT);
  assert_int_equal(buf[3], (uint8_t)(-1234567890123LL & 0xff));

  ed_col_t out[8];
  size_t n = 0;
  assert_int_equal(ed_row_decode(buf, want, out, 8, &n), ED_OK);
  assert_int_equal(n, 5);
  assert_int_equal(out[0].type, ED_COL_INT);
  assert_true(out[0].v.i == -1234567890123LL);
  assert_int_equal(out[1].type, ED_COL_DOUBLE);
  assert_true(out[1].v.d == 3.25);
  assert_int_equal(out[2].type, ED_COL_STRING);
  assert_int_equal(out[2].v.s.len, 6);
  assert_memory_equal(out[2].v.s.p, "héllo", 6);
  assert_ptr_equal(out[2].v.s.p, (const char *)buf + 2 + 9 + 9 + 5); /* borrowed */
  assert_int_equal(out[3].type, ED_COL_NULL);
  assert_int_equal(out[4].type, ED_COL_STRING);
  assert_int_equal(out[4].v.s.len, 0);

  /* zero columns */
  assert_int_equal(ed_row_encode(in, 0, buf, sizeof buf), 2);
  assert_int_equal(ed_row_decode(buf, 2, out, 8, &n), ED_OK);
  assert_int_equal(n, 0);
}

static void test_encode_limits(void **state) {
  (void)state;
  ed_col_t c = {.type = ED_COL_INT, .v.i = 1};
  uint8_t buf[16];
  assert_int_equal(ed_row_encode(&c, 1, buf, 10), 0); /* needs 11 */
  assert_int_equal(ed_row_encode(&c, 1, buf, 11), 11);
  ed_col_t many[ED_ROW_MAX_COLS + 1];
  for (size_t i = 0; i < ED_ROW_MAX_COLS + 1; i++)
    many[i] = (ed_col_t){.type = ED_COL_NULL};
  uint8_t big[256];
  assert_int_equal(ed_row_encode(many, ED_ROW_MAX_COLS + 1, big, sizeof big), 0);
  assert_int_equal(ed_row_encode(many, ED_ROW_MAX_COLS, big, sizeof big), 2 + ED_ROW_MAX_COLS);
}

static void test_corrupt(void **state) {
  (void)state;
  ed_col_t in[2] = {{.type = ED_COL_STRING, .v.s = {"abcd", 4}}, {.type = ED_COL_INT, .v.i = 7}};
  uint8_t buf[64], bad[64];
  size_t len = ed_row_encode(in, 2, buf, sizeof buf);
  assert_int_equal(len, 2 + 9 + 9);
  ed_col_t out[4];
  size_t n = 99;

  /* every truncation is rejected */
  for (size_t l = 0; l < len; l++)
    assert_int_equal(ed_row_decode(buf, l, out, 4, &n), ED_EINVAL);
  /* trailing garbage */
  memcpy(bad, buf, len);
  bad[len] = 0;
  assert_int_equal(ed_row_decode(bad, len + 1, out, 4, &n), ED_EINVAL);
  /* wrong version */
  memcpy(bad, buf, len);
  bad[0] = 2;
  assert_int_equal(ed_row_decode(bad, len, out, 4, &n), ED_EINVAL);
  /* unknown column type */
  memcpy(bad, buf, len);
  bad[2] = 9;
  assert_int_equal(ed_row_decode(bad, len, out, 4, &n), ED_EINVAL);
  /* string length past the end, including one that would wrap */
  memcpy(bad, buf, len);
  bad[3] = 200;
  assert_int_equal(ed_row_decode(bad, len, out, 4, &n), ED_EINVAL);
  memcpy(bad, buf, len);
  memset(bad + 3, 0xff, 4);
  assert_int_equal(ed_row_decode(bad, len, out, 4, &n), ED_EINVAL);
  /* column count larger than what follows, and larger than the caller's room */
  memcpy(bad, buf, len);
  bad[1] = 3;
  assert_int_equal(ed_row_decode(bad, len, out, 4, &n), ED_EINVAL);
  assert_int_equal(ed_row_decode(buf, len, out, 1, &n), ED_EINVAL);
  assert_int_equal(n, 99); /* untouched on failure */
  assert_int_equal(ed_row_decode(buf, len, out, 2, &n), ED_OK);
  assert_int_equal(n, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_encode_limits),
      cmocka_unit_test(test_corrupt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
