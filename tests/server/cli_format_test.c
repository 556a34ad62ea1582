/* The command-line client's pure parts (server/cli_format.c): aligned
 * tables (widths in UTF-8 characters, empty and NULL cells, no trailing
 * spaces), ISO-8601 UTC times, libeddy errors to exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "eddy/client.h"
#include "server/cli.h"

static void test_table_aligned(void **state) {
  (void)state;
  const char *head[] = {"key", "count", "avg"};
  const char *cells[] = {"alice", "3", "2.5", "bob", "12345", NULL, "c", "", "0.125"};
  char *t = ed_cli_table_format(head, 3, cells, 3);
  assert_non_null(t);
  assert_string_equal(t, "key    count  avg\n"
                         "alice  3      2.5\n"
                         "bob    12345\n"
                         "c             0.125\n");
  free(t);
}

static void test_table_utf8_and_header_only(void **state) {
  (void)state;
  const char *head[] = {"k", "v"};
  const char *cells[] = {"\xc3\xa9t\xc3\xa9", "x", "ab", "y"}; /* "été": 3 characters */
  char *t = ed_cli_table_format(head, 2, cells, 2);
  assert_non_null(t);
  assert_string_equal(t, "k    v\n"
                         "\xc3\xa9t\xc3\xa9  x\n"
                         "ab   y\n");
  free(t);
  t = ed_cli_table_format(head, 2, NULL, 0);
  assert_non_null(t);
  assert_string_equal(t, "k  v\n");
  free(t);
  const char *one[] = {"view"};
  const char *c1[] = {"a-long-view-name"};
  t = ed_cli_table_format(one, 1, c1, 1);
  assert_string_equal(t, "view\na-long-view-name\n");
  free(t);
}

static void test_iso8601(void **state) {
  (void)state;
  char b[40];
  ed_cli_iso8601(0, b, sizeof b);
  assert_string_equal(b, "1970-01-01T00:00:00.000Z");
  ed_cli_iso8601(1714564800123, b, sizeof b);
  assert_string_equal(b, "2024-05-01T12:00:00.123Z");
  ed_cli_iso8601(-1, b, sizeof b);
  assert_string_equal(b, "1969-12-31T23:59:59.999Z");
}

static void test_exit_codes(void **state) {
  (void)state;
  assert_int_equal(ed_cli_exit_code(EDDY_OK), 0);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_NOT_FOUND), 1);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_UNAVAILABLE), 3);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_TIMEOUT), 3);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_TRANSPORT), 3);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_BAD_REQUEST), 4);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_PROTOCOL), 4);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_SERVER), 4);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_INVALID), 4);
  assert_int_equal(ed_cli_exit_code(EDDY_ERR_NOMEM), 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_aligned),
      cmocka_unit_test(test_table_utf8_and_header_only),
      cmocka_unit_test(test_iso8601),
      cmocka_unit_test(test_exit_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
