#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/err.h"
#include "streams/expr.h"

static const char *DOC =
    "{\"user\":{\"name\":\"alice\",\"age\":30,\"tags\":[\"a\"],\"addr\":{\"city\":\"Oslo\"}},"
    "\"amount\":12.5,\"count\":3,\"ok\":true,\"no\":false,\"nothing\":null,\"page\":\"/home\","
    "\"esc\":\"a\\\"b\\u00e9\",\"esc2\":\"a\\u0022b\\u00E9\",\"big\":9007199254740993,"
    "\"a\":1,\"b\":2,\"c\":3,\"and\":5,\"odd name\":{\"x.y\":7}}";

/* Parses @p expr, extracts its fields from @p doc and evaluates it. */
static int run(const char *expr, const char *doc, ed_value_t *out, char *why, size_t whylen,
               ed_buf_t *scratch) {
  ed_paths_t *paths;
  ed_expr_t *e;
  char err[128];
  assert_int_equal(ed_paths_create(&paths), ED_OK);
  int rc = ed_expr_parse(expr, paths, &e, err, sizeof err);
  if (rc != ED_OK) fail_msg("parse of '%s' failed: %s", expr, err);
  size_t n = ed_paths_count(paths);
  ed_value_t *fields = n ? calloc(n, sizeof *fields) : NULL;
  assert_int_equal(ed_paths_extract(paths, doc, strlen(doc), fields, NULL), ED_OK);
  ed_eval_env_t env = {.fields = fields, .timestamp = 1700000000000};
  env.key.type = ED_V_STRING;
  env.key.v.s.p = "k1";
  env.key.v.s.len = 2;
  env.value.type = ED_V_JSON;
  env.value.v.s.p = doc;
  env.value.v.s.len = strlen(doc);
  rc = ed_expr_eval(e, &env, scratch, out, why, whylen);
  free(fields);
  ed_expr_destroy(e);
  ed_paths_destroy(paths);
  return rc;
}

static void expect_bool(const char *expr, int want) {
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  ed_value_t v;
  char why[128];
  int rc = run(expr, DOC, &v, why, sizeof why, &scratch);
  if (rc != ED_OK) fail_msg("'%s': %s", expr, why);
  if (v.type != ED_V_BOOL) fail_msg("'%s': got %s", expr, ed_value_type_name(v.type));
  if (v.v.b != want) fail_msg("'%s': got %d, want %d", expr, v.v.b, want);
  ed_buf_fini(&scratch);
}

static void expect_bad(const char *expr, const char *want) {
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  ed_value_t v;
  char why[128] = "";
  int rc = run(expr, DOC, &v, why, sizeof why, &scratch);
  if (rc != ED_EBADREC) fail_msg("'%s': rc %d, want ED_EBADREC", expr, rc);
  if (strcmp(why, want) != 0) fail_msg("'%s': why '%s', want '%s'", expr, why, want);
  ed_buf_fini(&scratch);
}

static void expect_parse_error(const char *expr, const char *want) {
  ed_paths_t *paths;
  ed_expr_t *e = NULL;
  char err[160] = "";
  assert_int_equal(ed_paths_create(&paths), ED_OK);
  int rc = ed_expr_parse(expr, paths, &e, err, sizeof err);
  if (rc != ED_EINVAL) fail_msg("'%s': rc %d, want ED_EINVAL", expr, rc);
  if (strcmp(err, want) != 0) fail_msg("'%s': '%s', want '%s'", expr, err, want);
  ed_paths_destroy(paths);
}

static void test_compare(void **state) {
  (void)state;
  expect_bool("user.name == \"alice\"", 1);
  expect_bool("user.name == 'alic'", 0);
  expect_bool("user.addr.city != 'Oslo'", 0);
  expect_bool("user.age >= 30", 1);
  expect_bool("user.age > 30", 0);
  expect_bool("amount > 12", 1);
  expect_bool("amount >= 12.5", 1);
  expect_bool("amount < 12.5", 0);
  expect_bool("amount <= 1.25e1", 1);
  expect_bool("count == 3.0", 1);
  expect_bool("count < 3.5", 1);
  expect_bool("count == 3", 1);
  expect_bool("3 == count", 1);
  expect_bool("a > -1", 1);
  expect_bool("-1.5e1 < a", 1);
  expect_bool("1 < 2", 1);
  /* int with double compares exactly, not through a rounded double. */
  expect_bool("big == 9007199254740992.0", 0);
  expect_bool("big > 9007199254740992.0", 1);
  expect_bool("big == 9007199254740993", 1);
  expect_bool("9223372036854775807 < 9223372036854775808.0", 1);
  expect_bool("-9223372036854775808 == -9223372036854775808.0", 1);
  expect_bool("2.5 > 2", 1);
  expect_bool("-2.5 < -2", 1);
  /* Strings compare by their unescaped bytes. */
  expect_bool("esc == \"a\\\"b\\u00e9\"", 1);
  expect_bool("esc == 'a\"b\xc3\xa9'", 1);
  expect_bool("esc == esc2", 1);
  expect_bool("esc2 != esc", 0);
  expect_bool("esc > \"a\"", 1);
  expect_bool("esc < \"a#\"", 1);
  expect_bool("\"abc\" < \"abd\"", 1);
  expect_bool("\"ab\" < \"abc\"", 1);
  expect_bool("\"\" == ''", 1);
  expect_bool("'it\\'s' == \"it's\"", 1);
  expect_bool("page != \"/health\"", 1);
  /* bools, nulls, JSON texts: equality only. */
  expect_bool("ok == true", 1);
  expect_bool("ok != no", 1);
  expect_bool("nothing == null", 1);
  expect_bool("nothing != null", 0);
  expect_bool("null == null", 1);
  expect_bool("user.tags == user.tags", 1);
  expect_bool("user.tags == user.addr", 0);
}

static void test_logic(void **state) {
  (void)state;
  expect_bool("ok", 1);
  expect_bool("not ok", 0);
  expect_bool("not not ok", 1);
  expect_bool("ok and no", 0);
  expect_bool("ok or no", 1);
  /* Precedence: not > and > or. */
  expect_bool("not a == 1 or b == 2 and c == 3", 1);
  expect_bool("a == 1 or b == 3 and c == 4", 1);
  expect_bool("not a == 2 and b == 3", 0);
  expect_bool("(a == 1 or b == 3) and c == 4", 0);
  expect_bool("a == 1 or (b == 3 and c == 4)", 1);
  expect_bool("((a == 1))", 1);
  expect_bool("a==1 and(b==2)and not(c==4)", 1);
  /* Short circuit: the side not evaluated may be missing or ill-typed. */
  expect_bool("ok or missing == 1", 1);
  expect_bool("no and missing == 1", 0);
  expect_bool("no and count", 0);
  expect_bool("not ok and user.name == 1", 0);
}

static void test_special(void **state) {
  (void)state;
  expect_bool("$key == \"k1\"", 1);
  expect_bool("$key != 'k1'", 0);
  expect_bool("$timestamp > 1600000000000", 1);
  expect_bool("$timestamp == 1700000000000", 1);
  expect_bool("$value == $value", 1);
  expect_bool("`and` == 5", 1);
  expect_bool("user.`addr`.city == \"Oslo\"", 1);
  expect_bool("`odd name`.`x.y` == 7", 1);
  expect_bool("user . name == 'alice'", 1);
}

static void test_values(void **state) {
  (void)state;
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  ed_value_t v;
  char why[128];
  assert_int_equal(run("user.age", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_true(v.type == ED_V_INT && v.v.i == 30);
  assert_int_equal(run("page", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_int_equal(v.type, ED_V_STRING);
  assert_int_equal(v.v.s.escaped, 1);
  assert_int_equal(v.v.s.len, 5);
  assert_memory_equal(v.v.s.p, "/home", 5);
  /* A literal string is unescaped once, when parsed, and owned by the expression. */
  {
    ed_paths_t *paths;
    ed_expr_t *e;
    ed_eval_env_t env = {0};
    assert_int_equal(ed_paths_create(&paths), ED_OK);
    assert_int_equal(ed_expr_parse("'a\\tb\\u00e9'", paths, &e, why, sizeof why), ED_OK);
    assert_int_equal(ed_expr_eval(e, &env, &scratch, &v, why, sizeof why), ED_OK);
    assert_int_equal(v.type, ED_V_STRING);
    assert_int_equal(v.v.s.escaped, 0);
    assert_int_equal(v.v.s.len, 5);
    assert_memory_equal(v.v.s.p, "a\tb\xc3\xa9", 5);
    ed_expr_destroy(e);
    ed_paths_destroy(paths);
  }
  assert_int_equal(run("-2.5", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_true(v.type == ED_V_DOUBLE && v.v.d == -2.5);
  assert_int_equal(run("$key", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_int_equal(v.type, ED_V_STRING);
  assert_int_equal(run("$timestamp", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_true(v.type == ED_V_INT && v.v.i == 1700000000000);
  assert_int_equal(run("user.addr", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_int_equal(v.type, ED_V_JSON);
  assert_int_equal(run("nothing", DOC, &v, why, sizeof why, &scratch), ED_OK);
  assert_int_equal(v.type, ED_V_NULL);
  ed_buf_fini(&scratch);
}

static void test_bad_records(void **state) {
  (void)state;
  expect_bad("missing == 1", "field 'missing' is missing");
  expect_bad("zzz.q == 1", "field 'zzz.q' is missing");
  expect_bad("user.name.first == 1", "field 'user.name.first' is missing");
  expect_bad("missing == 1 or ok", "field 'missing' is missing");
  expect_bad("user.name == 1", "cannot compare string with int (field 'user.name')");
  expect_bad("1 == user.name", "cannot compare int with string (field 'user.name')");
  expect_bad("user.name == null", "cannot compare string with null (field 'user.name')");
  expect_bad("nothing < 1", "cannot compare null with int (field 'nothing')");
  expect_bad("1 == \"1\"", "cannot compare int with string");
  expect_bad("ok < true", "cannot order bool values with '<' (field 'ok')");
  expect_bad("null >= null", "cannot order null values with '>='");
  expect_bad("user > user", "cannot order object or array values with '>' (field 'user')");
  expect_bad("count and ok", "'and' needs a bool, got int (field 'count')");
  expect_bad("no or page", "'or' needs a bool, got string (field 'page')");
  expect_bad("not page", "'not' needs a bool, got string (field 'page')");
  expect_bad("not 1", "'not' needs a bool, got int");
  expect_bad("$key == 1", "cannot compare string with int (field '$key')");
}

static void test_parse_errors(void **state) {
  (void)state;
  expect_parse_error("", "at column 1: empty expression");
  expect_parse_error("   ", "at column 1: empty expression");
  expect_parse_error("a ==", "at column 5: expected a value after '=='");
  expect_parse_error("page != )", "at column 9: expected a value after '!='");
  expect_parse_error("a == not b", "at column 6: expected a value after '=='");
  expect_parse_error("a == 1 and", "at column 11: expected a value after 'and'");
  expect_parse_error("a == 1 or or", "at column 11: expected a value after 'or'");
  expect_parse_error("not", "at column 4: expected a value after 'not'");
  expect_parse_error("abc )", "at column 5: unexpected ')'");
  expect_parse_error(")", "at column 1: unexpected ')'");
  expect_parse_error("and", "at column 1: unexpected 'and'");
  expect_parse_error("(a == 1", "at column 8: expected ')' to close '(' at column 1");
  expect_parse_error("()", "at column 2: expected a value after '('");
  expect_parse_error("a == \"abc", "unterminated string starting at column 6");
  expect_parse_error("x == 'it", "unterminated string starting at column 6");
  expect_parse_error("x == 'it\\'", "unterminated string starting at column 6");
  expect_parse_error("a b", "at column 3: unexpected 'b'");
  expect_parse_error("a == 1 == 2", "at column 8: unexpected '=='");
  expect_parse_error("a = 1", "at column 3: unexpected '=' (did you mean '=='?)");
  expect_parse_error("a ! b", "at column 3: unexpected '!' (use 'not' or '!=')");
  expect_parse_error("$foo == 1",
                     "at column 1: unknown name '$foo' (expected $key, $value or $timestamp)");
  expect_parse_error("a. == 1", "at column 4: expected a field name after '.'");
  expect_parse_error("a.5", "at column 3: expected a field name after '.'");
  expect_parse_error("a == 01", "at column 6: invalid number");
  expect_parse_error("a == 1.e5", "at column 6: invalid number");
  expect_parse_error("a == 1x", "at column 6: invalid number");
  expect_parse_error("a == -", "at column 6: unexpected character '-'");
  expect_parse_error("a # b", "at column 3: unexpected character '#'");
  expect_parse_error("`x", "unterminated `quoted` name starting at column 1");
  expect_parse_error("`` == 1", "at column 1: empty `quoted` name");
  expect_parse_error("a == \"\\q\"", "at column 7: invalid escape in string");
  expect_parse_error("a == \"\\u12\"", "at column 7: invalid \\u escape in string");
  expect_parse_error("true.x", "at column 5: unexpected '.'");

  char deep[700];
  memset(deep, '(', 300);
  strcpy(deep + 300, "a");
  memset(deep + 301, ')', 300);
  deep[601] = '\0';
  expect_parse_error(deep, "at column 257: expression nested too deeply");
}

static void test_paths_and_shape(void **state) {
  (void)state;
  ed_paths_t *paths;
  ed_expr_t *e1, *e2, *e3;
  char err[128];
  assert_int_equal(ed_paths_create(&paths), ED_OK);
  assert_int_equal(ed_expr_parse("a.b == c and a.b != 1", paths, &e1, err, sizeof err), ED_OK);
  assert_int_equal(ed_paths_count(paths), 2);
  assert_int_equal(ed_expr_parse("user.name", paths, &e2, err, sizeof err), ED_OK);
  assert_int_equal(ed_expr_parse("(c)", paths, &e3, err, sizeof err), ED_OK);
  assert_int_equal(ed_paths_count(paths), 3);
  assert_string_equal(ed_paths_name(paths, 0), "a.b");
  assert_string_equal(ed_paths_name(paths, 1), "c");
  assert_string_equal(ed_paths_name(paths, 2), "user.name");
  assert_int_equal(ed_expr_is_path(e1), 0);
  assert_int_equal(ed_expr_is_path(e2), 1);
  assert_int_equal(ed_expr_is_path(e3), 1);
  ed_expr_destroy(e1);
  ed_expr_destroy(e2);
  ed_expr_destroy(e3);
  static const char *yes[] = {"$key", "$value", "x"};
  static const char *no[] = {"1", "'s'", "$timestamp", "not x", "null"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(ed_expr_parse(yes[i], paths, &e1, err, sizeof err), ED_OK);
    assert_int_equal(ed_expr_is_path(e1), 1);
    ed_expr_destroy(e1);
  }
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(ed_expr_parse(no[i], paths, &e1, err, sizeof err), ED_OK);
    assert_int_equal(ed_expr_is_path(e1), 0);
    ed_expr_destroy(e1);
  }
  ed_expr_destroy(NULL);
  ed_paths_destroy(paths);
}

/* Evaluating with no fields at all (an expression without paths). */
static void test_no_fields(void **state) {
  (void)state;
  ed_paths_t *paths;
  ed_expr_t *e;
  char err[128];
  assert_int_equal(ed_paths_create(&paths), ED_OK);
  assert_int_equal(ed_expr_parse("$value == 'x' and $timestamp < 5", paths, &e, err, sizeof err),
                   ED_OK);
  ed_eval_env_t env = {.fields = NULL, .timestamp = 4};
  env.key.type = ED_V_NULL;
  env.value.type = ED_V_STRING;
  env.value.v.s.p = "x";
  env.value.v.s.len = 1;
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  ed_value_t v;
  assert_int_equal(ed_expr_eval(e, &env, &scratch, &v, NULL, 0), ED_OK);
  assert_true(v.type == ED_V_BOOL && v.v.b == 1);
  ed_expr_destroy(e);
  assert_int_equal(ed_expr_parse("$key == null", paths, &e, err, sizeof err), ED_OK);
  assert_int_equal(ed_expr_eval(e, &env, &scratch, &v, NULL, 0), ED_OK);
  assert_true(v.type == ED_V_BOOL && v.v.b == 1);
  ed_expr_destroy(e);
  ed_buf_fini(&scratch);
  ed_paths_destroy(paths);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_compare),         cmocka_unit_test(test_logic),
      cmocka_unit_test(test_special),         cmocka_unit_test(test_values),
      cmocka_unit_test(test_bad_records),     cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_paths_and_shape), cmocka_unit_test(test_no_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
