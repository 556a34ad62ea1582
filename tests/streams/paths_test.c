#include <math.h>
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
#include "streams/expr.h"

static int intern(ed_paths_t *p, const char *s) { return ed_paths_intern(p, s, strlen(s)); }

static void assert_str(const ed_value_t *v, const char *want) {
  assert_int_equal(v->type, ED_V_STRING);
  assert_int_equal(v->v.s.escaped, 1);
  assert_int_equal(v->v.s.len, strlen(want));
  assert_memory_equal(v->v.s.p, want, v->v.s.len);
}

static void assert_json(const ed_value_t *v, const char *want) {
  assert_int_equal(v->type, ED_V_JSON);
  assert_int_equal(v->v.s.len, strlen(want));
  assert_memory_equal(v->v.s.p, want, v->v.s.len);
}

static int extract(const ed_paths_t *p, const char *json, ed_value_t *out) {
  return ed_paths_extract(p, json, strlen(json), out, NULL);
}

static void test_registry(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  assert_int_equal(ed_paths_count(p), 0);
  assert_int_equal(intern(p, "a.b.c"), 0);
  assert_int_equal(intern(p, "a"), 1);
  assert_int_equal(intern(p, "a.b"), 2);
  assert_int_equal(intern(p, "a.b.c"), 0);
  assert_int_equal(intern(p, "x"), 3);
  assert_int_equal(ed_paths_count(p), 4);
  assert_string_equal(ed_paths_name(p, 0), "a.b.c");
  assert_string_equal(ed_paths_name(p, 2), "a.b");
  assert_null(ed_paths_name(p, 9));
  assert_int_equal(intern(p, ""), ED_EINVAL);
  assert_int_equal(intern(p, "a..b"), ED_EINVAL);
  assert_int_equal(intern(p, ".a"), ED_EINVAL);
  assert_int_equal(intern(p, "a."), ED_EINVAL);
  assert_int_equal(ed_paths_count(p), 4);
  ed_paths_destroy(p);
  ed_paths_destroy(NULL);
}

static void test_extract_types(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  const char *names[] = {"s", "i", "neg", "d", "big", "t", "f", "n", "o", "arr", "e", "nope"};
  for (int i = 0; i < 12; i++)
    assert_int_equal(intern(p, names[i]), i);
  ed_value_t out[12];
  const char *doc = "{\"s\":\"he\\\"llo\",\"i\":42,\"neg\":-7,\"d\":1.5e2,"
                    "\"big\":12345678901234567890,\"t\":true,\"f\":false,\"n\":null,"
                    "\"o\":{\"x\": [1, {\"y\":2}]},\"arr\":[1,2,3],\"e\":-0}";
  assert_int_equal(extract(p, doc, out), ED_OK);
  assert_str(&out[0], "he\\\"llo");
  assert_int_equal(out[1].type, ED_V_INT);
  assert_true(out[1].v.i == 42);
  assert_int_equal(out[2].type, ED_V_INT);
  assert_true(out[2].v.i == -7);
  assert_int_equal(out[3].type, ED_V_DOUBLE);
  assert_true(out[3].v.d == 150.0);
  assert_int_equal(out[4].type, ED_V_DOUBLE);
  assert_true(out[4].v.d == 12345678901234567890.0);
  assert_true(out[5].type == ED_V_BOOL && out[5].v.b == 1);
  assert_true(out[6].type == ED_V_BOOL && out[6].v.b == 0);
  assert_int_equal(out[7].type, ED_V_NULL);
  assert_json(&out[8], "{\"x\": [1, {\"y\":2}]}");
  assert_json(&out[9], "[1,2,3]");
  assert_int_equal(out[10].type, ED_V_INT);
  assert_true(out[10].v.i == 0);
  assert_int_equal(out[11].type, ED_V_MISSING);
  ed_paths_destroy(p);
}

static void test_int_limits(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  intern(p, "a");
  intern(p, "b");
  intern(p, "c");
  intern(p, "d");
  ed_value_t out[4];
  assert_int_equal(extract(p,
                           "{\"a\":9223372036854775807,\"b\":-9223372036854775808,"
                           "\"c\":9223372036854775808,\"d\":-9223372036854775809}",
                           out),
                   ED_OK);
  assert_int_equal(out[0].type, ED_V_INT);
  assert_true(out[0].v.i == INT64_MAX);
  assert_int_equal(out[1].type, ED_V_INT);
  assert_true(out[1].v.i == INT64_MIN);
  assert_int_equal(out[2].type, ED_V_DOUBLE);
  assert_true(out[2].v.d == 9223372036854775808.0);
  assert_int_equal(out[3].type, ED_V_DOUBLE);
  /* A number longer than 400 characters. */
  char doc[1200];
  int n = snprintf(doc, sizeof doc, "{\"a\":0.");
  for (int i = 0; i < 500; i++)
    doc[n++] = '0';
  n += snprintf(doc + n, sizeof doc - (size_t)n, "25e503,\"b\":1");
  for (int i = 0; i < 450; i++)
    doc[n++] = '0';
  snprintf(doc + n, sizeof doc - (size_t)n, "}");
  assert_int_equal(extract(p, doc, out), ED_OK);
  assert_int_equal(out[0].type, ED_V_DOUBLE);
  assert_true(out[0].v.d == 250.0);
  assert_int_equal(out[1].type, ED_V_DOUBLE);
  assert_true(isinf(out[1].v.d));
  ed_paths_destroy(p);
}

static void test_nested(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  assert_int_equal(intern(p, "user.address.city"), 0);
  assert_int_equal(intern(p, "user.name"), 1);
  assert_int_equal(intern(p, "user"), 2);
  assert_int_equal(intern(p, "city"), 3);
  assert_int_equal(intern(p, "items.x"), 4);
  assert_int_equal(intern(p, "user.address.zip.code"), 5);
  ed_value_t out[6];
  const char *doc = "{\"city\":\"top\",\"items\":[{\"x\":1}],"
                    "\"user\":{\"name\":\"bo\",\"address\":{\"city\":\"Oslo\",\"zip\":1}}}";
  assert_int_equal(extract(p, doc, out), ED_OK);
  assert_str(&out[0], "Oslo");
  assert_str(&out[1], "bo");
  assert_json(&out[2], "{\"name\":\"bo\",\"address\":{\"city\":\"Oslo\",\"zip\":1}}");
  assert_str(&out[3], "top");
  assert_int_equal(out[4].type, ED_V_MISSING); /* no descent into arrays */
  assert_int_equal(out[5].type, ED_V_MISSING); /* parent is not an object */

  /* A parent that is not an object. */
  assert_int_equal(extract(p, "{\"user\":\"bo\"}", out), ED_OK);
  assert_str(&out[2], "bo");
  assert_int_equal(out[0].type, ED_V_MISSING);
  assert_int_equal(out[1].type, ED_V_MISSING);
  /* A same-named field deeper down is not the top-level one. */
  assert_int_equal(extract(p, "{\"x\":{\"city\":1,\"user\":{\"name\":2}}}", out), ED_OK);
  for (int i = 0; i < 6; i++)
    assert_int_equal(out[i].type, ED_V_MISSING);
  /* A top-level array or scalar has no fields. */
  assert_int_equal(extract(p, "[{\"city\":1}]", out), ED_OK);
  assert_int_equal(out[3].type, ED_V_MISSING);
  assert_int_equal(extract(p, "\"city\"", out), ED_OK);
  assert_int_equal(out[3].type, ED_V_MISSING);
  ed_paths_destroy(p);
}

static void test_duplicates(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  intern(p, "a");
  intern(p, "a.b");
  intern(p, "a.c");
  ed_value_t out[3];
  assert_int_equal(extract(p, "{\"a\":{\"b\":1,\"b\":2}}", out), ED_OK);
  assert_true(out[1].type == ED_V_INT && out[1].v.i == 2);
  /* The last `a` wins, and with it what is below it. */
  assert_int_equal(extract(p, "{\"a\":{\"b\":1},\"a\":{\"c\":3}}", out), ED_OK);
  assert_json(&out[0], "{\"c\":3}");
  assert_int_equal(out[1].type, ED_V_MISSING);
  assert_true(out[2].type == ED_V_INT && out[2].v.i == 3);
  assert_int_equal(extract(p, "{\"a\":{\"b\":1},\"a\":5}", out), ED_OK);
  assert_true(out[0].type == ED_V_INT && out[0].v.i == 5);
  assert_int_equal(out[1].type, ED_V_MISSING);
  ed_paths_destroy(p);
}

static void test_escaped_names(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  intern(p, "caf\xc3\xa9.n");
  intern(p, "q\"");
  ed_value_t out[2];
  assert_int_equal(extract(p, "{\"caf\\u00e9\":{\"\\u006e\":1},\"q\\\"\":2}", out), ED_OK);
  assert_true(out[0].type == ED_V_INT && out[0].v.i == 1);
  assert_true(out[1].type == ED_V_INT && out[1].v.i == 2);
  ed_paths_destroy(p);
}

static void test_invalid(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  intern(p, "a.b");
  intern(p, "c");
  static const char *bad[] = {
      "",           " ",           "{",           "{\"a\"",     "{\"a\":",     "{\"a\":{\"b\":1}",
      "{\"a\":1,}", "{\"a\" 1}",   "{a:1}",       "[1,]",       "[1 2]",       "01",
      "1.",         "-",           "tru",         "nulll",      "\"abc",       "\"\\x\"",
      "\"\\u12\"",  "\"a\tb\"",    "{\"c\":1} x", "{\"c\":1}}", "{\"c\":.5}",  "{\"c\":+1}",
      "{'c':1}",    "{\"c\":NaN}", "[1]]",        "{\"c\":1e}", "{\"c\":[1,2}"};
  ed_value_t out[2];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t pos = 999;
    int rc = ed_paths_extract(p, bad[i], strlen(bad[i]), out, &pos);
    if (rc != ED_EBADREC) fail_msg("accepted: %s", bad[i]);
    assert_true(pos <= strlen(bad[i]));
    assert_int_equal(out[0].type, ED_V_MISSING);
    assert_int_equal(out[1].type, ED_V_MISSING);
    /* Agrees with common/json.c. */
    assert_int_equal(ed_json_scan(bad[i], strlen(bad[i]), NULL, 0, NULL, NULL), ED_EBADREC);
  }
  size_t pos;
  assert_int_equal(ed_paths_extract(p, "{\"c\":1,x}", 9, out, &pos), ED_EBADREC);
  assert_int_equal(pos, 7);
  /* Truncations of a valid document are all invalid. */
  const char *doc = "{\"a\":{\"b\":[1,{\"z\":\"q\\u0041\"}],\"x\":true},\"c\":-1.5e3}";
  assert_int_equal(extract(p, doc, out), ED_OK);
  assert_true(out[1].type == ED_V_DOUBLE && out[1].v.d == -1500.0);
  assert_json(&out[0], "[1,{\"z\":\"q\\u0041\"}]");
  for (size_t n = 0; n < strlen(doc); n++)
    assert_int_equal(ed_paths_extract(p, doc, n, out, NULL), ED_EBADREC);
  ed_paths_destroy(p);
}

static void test_depth(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  intern(p, "a.a.a");
  char doc[2000];
  ed_value_t out[1];
  /* 256 nested arrays are fine, 257 are not (as in common/json.c). */
  for (int depth = 256; depth <= 257; depth++) {
    size_t n = 0;
    for (int i = 0; i < depth; i++)
      doc[n++] = '[';
    for (int i = 0; i < depth; i++)
      doc[n++] = ']';
    int want = depth <= 256 ? ED_OK : ED_EBADREC;
    assert_int_equal(ed_paths_extract(p, doc, n, out, NULL), want);
    assert_int_equal(ed_json_scan(doc, n, NULL, 0, NULL, NULL), want);
  }
  /* Deep objects along a registered path. */
  size_t n = 0;
  for (int i = 0; i < 256; i++)
    n += (size_t)snprintf(doc + n, sizeof doc - n, "{\"a\":");
  doc[n++] = '7';
  for (int i = 0; i < 256; i++)
    doc[n++] = '}';
  assert_int_equal(ed_paths_extract(p, doc, n, out, NULL), ED_OK);
  assert_int_equal(out[0].type, ED_V_JSON);
  assert_ptr_equal(out[0].v.s.p, doc + 15);
  assert_int_equal(out[0].v.s.len, n - 15 - 3);
  ed_paths_destroy(p);
}

static void test_many_paths(void **state) {
  (void)state;
  ed_paths_t *p;
  assert_int_equal(ed_paths_create(&p), ED_OK);
  char name[32];
  for (int i = 0; i < 64; i++) {
    snprintf(name, sizeof name, "g%d.f%d", i % 8, i);
    assert_int_equal(intern(p, name), i);
  }
  char doc[4096];
  size_t n = 0;
  n += (size_t)snprintf(doc + n, sizeof doc - n, "{");
  for (int g = 0; g < 8; g++) {
    n += (size_t)snprintf(doc + n, sizeof doc - n, "%s\"g%d\":{", g ? "," : "", g);
    for (int i = g; i < 64; i += 8)
      n += (size_t)snprintf(doc + n, sizeof doc - n, "%s\"f%d\":%d", i == g ? "" : ",", i, i * 10);
    n += (size_t)snprintf(doc + n, sizeof doc - n, "}");
  }
  n += (size_t)snprintf(doc + n, sizeof doc - n, "}");
  ed_value_t out[64];
  assert_int_equal(ed_paths_extract(p, doc, n, out, NULL), ED_OK);
  for (int i = 0; i < 64; i++) {
    assert_int_equal(out[i].type, ED_V_INT);
    assert_true(out[i].v.i == i * 10);
  }
  ed_paths_destroy(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry),   cmocka_unit_test(test_extract_types),
      cmocka_unit_test(test_int_limits), cmocka_unit_test(test_nested),
      cmocka_unit_test(test_duplicates), cmocka_unit_test(test_escaped_names),
      cmocka_unit_test(test_invalid),    cmocka_unit_test(test_depth),
      cmocka_unit_test(test_many_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
