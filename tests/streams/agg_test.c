/* Unit tests for streams/agg.c and streams/distinct.c: every aggregate's
 * add, merge and result, with each state round-tripped through the row
 * codec (a state must survive encoding) and the arena contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "store/row.h"
#include "streams/agg.h"
#include "streams/agg_int.h"

/* ---- helpers ---- */

static ed_value_t vint(int64_t i) { return (ed_value_t){.type = ED_V_INT, .v.i = i}; }
static ed_value_t vdbl(double d) { return (ed_value_t){.type = ED_V_DOUBLE, .v.d = d}; }
static ed_value_t vstr(const char *s) {
  ed_value_t v = {.type = ED_V_STRING};
  v.v.s.p = s;
  v.v.s.len = strlen(s);
  return v;
}
static ed_value_t vesc(const char *s) {
  ed_value_t v = vstr(s);
  v.v.s.escaped = 1;
  return v;
}
static ed_value_t vjson(const char *s) {
  ed_value_t v = vstr(s);
  v.type = ED_V_JSON;
  return v;
}
static ed_value_t vbool(int b) { return (ed_value_t){.type = ED_V_BOOL, .v.b = b}; }
static ed_value_t vnull(void) { return (ed_value_t){.type = ED_V_NULL}; }
static ed_value_t vmissing(void) { return (ed_value_t){.type = ED_V_MISSING}; }

/* Encodes a state and decodes it back, so the columns then borrow from a
 * buffer the helper owns (two alternate, so encoding reads a live one). */
typedef struct {
  unsigned char *buf[2];
  int cur;
} rt_t;

static void rt(rt_t *r, ed_col_t *cols, size_t n) {
  size_t sz = ed_row_encoded_size(cols, n);
  int nx = !r->cur;
  free(r->buf[nx]);
  r->buf[nx] = malloc(sz);
  assert_non_null(r->buf[nx]);
  assert_int_equal(ed_row_encode(cols, n, r->buf[nx], sz), sz);
  size_t got = 0;
  memset(cols, 0xa5, n * sizeof *cols);
  assert_int_equal(ed_row_decode(r->buf[nx], sz, cols, n, &got), ED_OK);
  assert_int_equal(got, n);
  r->cur = nx;
}

static void rt_fini(rt_t *r) {
  free(r->buf[0]);
  free(r->buf[1]);
}

static void add_ok(ed_agg_kind_t k, ed_col_t *st, ed_value_t v, ed_buf_t *arena) {
  char why[128];
  int rc = ed_agg_add(k, st, &v, arena, why, sizeof why);
  if (rc != ED_OK) fail_msg("ed_agg_add(%s): %d %s", ed_agg_kind_name(k), rc, why);
}

static void add_bad(ed_agg_kind_t k, ed_col_t *st, ed_value_t v, ed_buf_t *arena) {
  char why[128] = "";
  ed_col_t before[2];
  memcpy(before, st, ed_agg_state_width(k) * sizeof *st);
  assert_int_equal(ed_agg_add(k, st, &v, arena, why, sizeof why), ED_EBADREC);
  assert_true(why[0] != '\0');
  assert_memory_equal(before, st, ed_agg_state_width(k) * sizeof *st); /* untouched */
}

static ed_col_t result(ed_agg_kind_t k, const ed_col_t *st) {
  ed_col_t out;
  ed_agg_result(k, st, &out);
  return out;
}

static void assert_str_col(ed_col_t c, ed_col_type_t type, const char *s) {
  assert_int_equal(c.type, type);
  assert_int_equal(c.v.s.len, strlen(s));
  assert_memory_equal(c.v.s.p, s, strlen(s));
}

/* ---- names ---- */

static void test_names(void **state) {
  (void)state;
  static const struct {
    const char *name;
    ed_agg_kind_t k;
    int arg;
    size_t width;
    const char *type;
  } t[] = {
      {"count", ED_AGG_COUNT, 0, 1, "int"},
      {"sum", ED_AGG_SUM, 1, 1, "number"},
      {"min", ED_AGG_MIN, 1, 1, "any"},
      {"max", ED_AGG_MAX, 1, 1, "any"},
      {"avg", ED_AGG_AVG, 1, 2, "double"},
      {"count_distinct", ED_AGG_COUNT_DISTINCT, 1, 1, "int"},
      {"latest", ED_AGG_LATEST, 0, 1, "any"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    ed_agg_kind_t k = ED_AGG_LATEST;
    assert_int_equal(ed_agg_kind_parse(t[i].name, strlen(t[i].name), &k), ED_OK);
    assert_int_equal(k, t[i].k);
    assert_string_equal(ed_agg_kind_name(k), t[i].name);
    assert_int_equal(ed_agg_takes_arg(k), t[i].arg);
    assert_int_equal(ed_agg_state_width(k), t[i].width);
    assert_string_equal(ed_agg_result_type(k), t[i].type);
  }
  ed_agg_kind_t k;
  assert_int_equal(ed_agg_kind_parse("count_distinctx", 14, &k), ED_OK); /* length counts */
  assert_int_equal(k, ED_AGG_COUNT_DISTINCT);
  assert_int_equal(ed_agg_kind_parse("counts", 6, &k), ED_EINVAL);
  assert_int_equal(ed_agg_kind_parse("cou", 3, &k), ED_EINVAL);
  assert_int_equal(ed_agg_kind_parse("", 0, &k), ED_EINVAL);
  assert_int_equal(ed_agg_kind_parse("median", 6, &k), ED_EINVAL);
}

/* ---- count / sum / avg ---- */

static void test_count(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t a, b;
  ed_agg_init(ED_AGG_COUNT, &a);
  ed_agg_init(ED_AGG_COUNT, &b);
  assert_int_equal(result(ED_AGG_COUNT, &a).type, ED_COL_INT);
  assert_true(result(ED_AGG_COUNT, &a).v.i == 0);
  for (int i = 0; i < 5; i++) {
    add_ok(ED_AGG_COUNT, &a, vstr("anything"), &arena);
    rt(&r, &a, 1);
  }
  add_ok(ED_AGG_COUNT, &b, vnull(), &arena);
  add_ok(ED_AGG_COUNT, &b, vmissing(), &arena);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT, &a, &b, &arena), ED_OK);
  rt(&r, &a, 1);
  assert_true(result(ED_AGG_COUNT, &a).v.i == 7);
  assert_int_equal(arena.len, 0); /* count needs no arena */
  rt_fini(&r);
  ed_buf_fini(&arena);
}

static void test_sum(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t s;
  ed_agg_init(ED_AGG_SUM, &s);
  ed_col_t out = result(ED_AGG_SUM, &s);
  assert_int_equal(out.type, ED_COL_INT);
  assert_true(out.v.i == 0);

  add_ok(ED_AGG_SUM, &s, vint(INT64_MAX - 10), &arena);
  add_ok(ED_AGG_SUM, &s, vint(10), &arena);
  rt(&r, &s, 1);
  assert_int_equal(s.type, ED_COL_INT);
  assert_true(s.v.i == INT64_MAX); /* exact up to the limit */

  add_ok(ED_AGG_SUM, &s, vint(1), &arena); /* overflows: double from now on */
  rt(&r, &s, 1);
  assert_int_equal(s.type, ED_COL_DOUBLE);
  assert_true(s.v.d == 9223372036854775808.0);
  add_ok(ED_AGG_SUM, &s, vint(-1), &arena);
  assert_int_equal(s.type, ED_COL_DOUBLE); /* stays double */

  /* negative overflow too */
  ed_agg_init(ED_AGG_SUM, &s);
  add_ok(ED_AGG_SUM, &s, vint(INT64_MIN), &arena);
  add_ok(ED_AGG_SUM, &s, vint(-1), &arena);
  assert_int_equal(s.type, ED_COL_DOUBLE);
  assert_true(s.v.d < -9.2e18);

  /* int then double */
  ed_agg_init(ED_AGG_SUM, &s);
  add_ok(ED_AGG_SUM, &s, vint(2), &arena);
  add_ok(ED_AGG_SUM, &s, vint(3), &arena);
  assert_int_equal(s.type, ED_COL_INT);
  assert_true(s.v.i == 5);
  add_ok(ED_AGG_SUM, &s, vdbl(0.5), &arena);
  rt(&r, &s, 1);
  assert_int_equal(s.type, ED_COL_DOUBLE);
  assert_true(s.v.d == 5.5);

  /* type errors leave the state alone */
  add_bad(ED_AGG_SUM, &s, vstr("7"), &arena);
  add_bad(ED_AGG_SUM, &s, vbool(1), &arena);
  add_bad(ED_AGG_SUM, &s, vnull(), &arena);
  add_bad(ED_AGG_SUM, &s, vmissing(), &arena);
  add_bad(ED_AGG_SUM, &s, vjson("{}"), &arena);
  assert_true(s.v.d == 5.5);
  /* why may be NULL */
  ed_value_t str = vstr("x");
  assert_int_equal(ed_agg_add(ED_AGG_SUM, &s, &str, &arena, NULL, 0), ED_EBADREC);

  /* merge: int + int, overflowing merge, double + int */
  ed_col_t a = {.type = ED_COL_INT, .v.i = 40}, b = {.type = ED_COL_INT, .v.i = 2};
  assert_int_equal(ed_agg_merge(ED_AGG_SUM, &a, &b, &arena), ED_OK);
  assert_int_equal(a.type, ED_COL_INT);
  assert_true(a.v.i == 42);
  b.v.i = INT64_MAX;
  assert_int_equal(ed_agg_merge(ED_AGG_SUM, &a, &b, &arena), ED_OK);
  assert_int_equal(a.type, ED_COL_DOUBLE);
  b = (ed_col_t){.type = ED_COL_DOUBLE, .v.d = 1.5};
  a = (ed_col_t){.type = ED_COL_INT, .v.i = 1};
  assert_int_equal(ed_agg_merge(ED_AGG_SUM, &a, &b, &arena), ED_OK);
  assert_int_equal(a.type, ED_COL_DOUBLE);
  assert_true(a.v.d == 2.5);
  assert_int_equal(arena.len, 0);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

static void test_avg(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t s[2], t[2];
  ed_agg_init(ED_AGG_AVG, s);
  rt(&r, s, 2);
  assert_int_equal(result(ED_AGG_AVG, s).type, ED_COL_NULL); /* empty: NULL */

  add_ok(ED_AGG_AVG, s, vint(1), &arena);
  add_ok(ED_AGG_AVG, s, vint(2), &arena);
  rt(&r, s, 2);
  ed_col_t out = result(ED_AGG_AVG, s);
  assert_int_equal(out.type, ED_COL_DOUBLE);
  assert_true(out.v.d == 1.5);
  assert_int_equal(s[0].type, ED_COL_INT);
  assert_true(s[1].v.i == 2);
  add_bad(ED_AGG_AVG, s, vstr("3"), &arena);
  assert_true(s[1].v.i == 2); /* count untouched too */

  ed_agg_init(ED_AGG_AVG, t);
  add_ok(ED_AGG_AVG, t, vdbl(4.5), &arena);
  assert_int_equal(ed_agg_merge(ED_AGG_AVG, s, t, &arena), ED_OK);
  rt(&r, s, 2);
  out = result(ED_AGG_AVG, s);
  assert_true(out.v.d == 2.5); /* (1 + 2 + 4.5) / 3 */
  assert_true(s[1].v.i == 3);

  /* merging an empty state changes nothing; into empty takes from */
  ed_agg_init(ED_AGG_AVG, t);
  assert_int_equal(ed_agg_merge(ED_AGG_AVG, s, t, &arena), ED_OK);
  assert_true(result(ED_AGG_AVG, s).v.d == 2.5);
  assert_int_equal(ed_agg_merge(ED_AGG_AVG, t, s, &arena), ED_OK);
  assert_true(result(ED_AGG_AVG, t).v.d == 2.5);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

/* ---- min / max ---- */

static void test_minmax_numbers(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t mn, mx;
  ed_agg_init(ED_AGG_MIN, &mn);
  ed_agg_init(ED_AGG_MAX, &mx);
  assert_int_equal(result(ED_AGG_MIN, &mn).type, ED_COL_NULL);
  ed_value_t vals[] = {vint(3), vdbl(2.5), vint(7), vdbl(-0.5), vint(7), vdbl(7.0), vint(-1)};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    add_ok(ED_AGG_MIN, &mn, vals[i], &arena);
    add_ok(ED_AGG_MAX, &mx, vals[i], &arena);
    rt(&r, &mn, 1);
    rt(&r, &mx, 1);
  }
  assert_int_equal(mn.type, ED_COL_INT);
  assert_true(mn.v.i == -1);
  assert_int_equal(mx.type, ED_COL_INT); /* 7 won; the tie 7.0 keeps the earlier int */
  assert_true(mx.v.i == 7);

  /* a double winner keeps its type */
  ed_agg_init(ED_AGG_MIN, &mn);
  add_ok(ED_AGG_MIN, &mn, vint(3), &arena);
  add_ok(ED_AGG_MIN, &mn, vdbl(2.5), &arena);
  assert_int_equal(mn.type, ED_COL_DOUBLE);
  assert_true(mn.v.d == 2.5);
  add_ok(ED_AGG_MIN, &mn, vint(3), &arena);
  assert_int_equal(mn.type, ED_COL_DOUBLE);

  /* exact int/double comparison beyond 2^53 */
  ed_agg_init(ED_AGG_MAX, &mx);
  add_ok(ED_AGG_MAX, &mx, vdbl(9007199254740992.0), &arena);
  add_ok(ED_AGG_MAX, &mx, vint(9007199254740993LL), &arena);
  assert_int_equal(mx.type, ED_COL_INT);
  assert_true(mx.v.i == 9007199254740993LL);
  add_ok(ED_AGG_MAX, &mx, vdbl(1e19), &arena); /* above INT64_MAX */
  assert_int_equal(mx.type, ED_COL_DOUBLE);
  ed_agg_init(ED_AGG_MIN, &mn);
  add_ok(ED_AGG_MIN, &mn, vint(INT64_MIN), &arena);
  add_ok(ED_AGG_MIN, &mn, vdbl(-1e19), &arena);
  assert_int_equal(mn.type, ED_COL_DOUBLE);
  add_ok(ED_AGG_MIN, &mn, vint(-2), &arena);
  add_ok(ED_AGG_MIN, &mn, vdbl(-2.5), &arena);
  assert_true(mn.v.d == -1e19);
  ed_agg_init(ED_AGG_MIN, &mn);
  add_ok(ED_AGG_MIN, &mn, vint(-2), &arena);
  add_ok(ED_AGG_MIN, &mn, vdbl(-2.5), &arena); /* -2.5 < -2: fraction matters */
  assert_int_equal(mn.type, ED_COL_DOUBLE);
  add_ok(ED_AGG_MIN, &mn, vint(-3), &arena);
  assert_int_equal(mn.type, ED_COL_INT);

  /* type errors */
  add_bad(ED_AGG_MIN, &mn, vstr("a"), &arena); /* string after numbers */
  add_bad(ED_AGG_MIN, &mn, vbool(0), &arena);
  add_bad(ED_AGG_MIN, &mn, vnull(), &arena);
  add_bad(ED_AGG_MIN, &mn, vjson("[1]"), &arena);
  add_bad(ED_AGG_MAX, &mx, vmissing(), &arena);
  ed_agg_init(ED_AGG_MAX, &mx);
  add_bad(ED_AGG_MAX, &mx, vbool(1), &arena); /* even as the first value */
  assert_int_equal(mx.type, ED_COL_NULL);

  /* merge */
  ed_col_t a = {.type = ED_COL_INT, .v.i = 5}, b = {.type = ED_COL_DOUBLE, .v.d = 4.5};
  ed_col_t n = {.type = ED_COL_NULL};
  assert_int_equal(ed_agg_merge(ED_AGG_MIN, &a, &n, &arena), ED_OK);
  assert_true(a.type == ED_COL_INT && a.v.i == 5);
  assert_int_equal(ed_agg_merge(ED_AGG_MIN, &a, &b, &arena), ED_OK);
  assert_true(a.type == ED_COL_DOUBLE && a.v.d == 4.5);
  assert_int_equal(ed_agg_merge(ED_AGG_MAX, &n, &b, &arena), ED_OK);
  assert_true(n.type == ED_COL_DOUBLE && n.v.d == 4.5);
  a = (ed_col_t){.type = ED_COL_INT, .v.i = 5};
  assert_int_equal(ed_agg_merge(ED_AGG_MAX, &a, &b, &arena), ED_OK);
  assert_true(a.type == ED_COL_INT && a.v.i == 5);
  assert_int_equal(arena.len, 0);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

static void test_minmax_strings(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0}, r2 = {0};
  ed_col_t mn, mx;
  ed_agg_init(ED_AGG_MIN, &mn);
  ed_agg_init(ED_AGG_MAX, &mx);
  char src[8];
  const char *words[] = {"pear", "apple", "zoo", "app", "zoo", "b"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    snprintf(src, sizeof src, "%s", words[i]);
    add_ok(ED_AGG_MIN, &mn, vstr(src), &arena);
    add_ok(ED_AGG_MAX, &mx, vstr(src), &arena);
    memset(src, 'X', sizeof src); /* the state must not borrow the record */
    rt(&r, &mn, 1);
    rt(&r2, &mx, 1);
    ed_buf_reset(&arena); /* nor the arena, once encoded */
  }
  assert_str_col(result(ED_AGG_MIN, &mn), ED_COL_STRING, "app"); /* prefix sorts first */
  assert_str_col(result(ED_AGG_MAX, &mx), ED_COL_STRING, "zoo");

  /* bytewise: "\xc3\xa9" (é) sorts after "z"; the empty string first */
  add_ok(ED_AGG_MAX, &mx, vstr("\xc3\xa9"), &arena);
  assert_str_col(mx, ED_COL_STRING, "\xc3\xa9");
  add_ok(ED_AGG_MIN, &mn, vstr(""), &arena);
  assert_str_col(mn, ED_COL_STRING, "");
  rt(&r, &mn, 1);
  assert_str_col(mn, ED_COL_STRING, "");

  /* escaped JSON strings compare unescaped: "\u0041" is "A" < "app" */
  add_ok(ED_AGG_MAX, &mx, vesc("\\u00ff"), &arena); /* U+00FF = c3 bf > c3 a9 */
  assert_str_col(mx, ED_COL_STRING, "\xc3\xbf");
  ed_agg_init(ED_AGG_MIN, &mn);
  add_ok(ED_AGG_MIN, &mn, vstr("app"), &arena);
  add_ok(ED_AGG_MIN, &mn, vesc("\\u0041\\n"), &arena);
  assert_str_col(mn, ED_COL_STRING, "A\n");

  /* mixing */
  add_bad(ED_AGG_MIN, &mn, vint(1), &arena);
  add_bad(ED_AGG_MIN, &mn, vdbl(1.5), &arena);
  add_bad(ED_AGG_MIN, &mn, vbool(1), &arena);

  /* merge: string wins are copied to the arena; strings vs numbers fail */
  ed_col_t a, b;
  ed_agg_init(ED_AGG_MAX, &a);
  ed_agg_init(ED_AGG_MAX, &b);
  add_ok(ED_AGG_MAX, &a, vstr("kiwi"), &arena);
  add_ok(ED_AGG_MAX, &b, vstr("lime"), &arena);
  rt(&r, &b, 1);
  assert_int_equal(ed_agg_merge(ED_AGG_MAX, &a, &b, &arena), ED_OK);
  free(r.buf[r.cur]); /* from's bytes gone: into must not borrow them */
  r.buf[r.cur] = NULL;
  assert_str_col(a, ED_COL_STRING, "lime");
  ed_col_t num = {.type = ED_COL_INT, .v.i = 1};
  ed_col_t before = a;
  assert_int_equal(ed_agg_merge(ED_AGG_MAX, &a, &num, &arena), ED_EBADREC);
  assert_memory_equal(&before, &a, sizeof a);
  assert_int_equal(ed_agg_merge(ED_AGG_MAX, &num, &a, &arena), ED_EBADREC);
  rt_fini(&r);
  rt_fini(&r2);
  ed_buf_fini(&arena);
}

/* ---- count_distinct ---- */

static int64_t distinct_of(const ed_col_t *s) { return result(ED_AGG_COUNT_DISTINCT, s).v.i; }

static void build_ints(ed_col_t *s, int64_t from, int64_t to, ed_buf_t *arena, rt_t *r) {
  ed_agg_init(ED_AGG_COUNT_DISTINCT, s);
  for (int64_t i = from; i < to; i++) {
    add_ok(ED_AGG_COUNT_DISTINCT, s, vint(i), arena);
    if ((i & 255) == 0) {
      rt(r, s, 1);
      ed_buf_reset(arena);
    }
  }
  rt(r, s, 1);
  ed_buf_reset(arena);
}

static void assert_within(int64_t got, double want, double rel) {
  double err = ((double)got - want) / want;
  if (err < -rel || err > rel)
    fail_msg("estimate %lld for %.0f: error %.2f%% > %.2f%%", (long long)got, want, err * 100,
             rel * 100);
}

static void test_distinct_exact(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t s;
  ed_agg_init(ED_AGG_COUNT_DISTINCT, &s);
  rt(&r, &s, 1);
  assert_int_equal(s.type, ED_COL_BYTES);
  ed_col_t out = result(ED_AGG_COUNT_DISTINCT, &s);
  assert_int_equal(out.type, ED_COL_INT);
  assert_true(out.v.i == 0);

  /* type tags: 5, 5.0 and -0.0/0 are numbers; "5" is a string; true a bool */
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vint(5), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vdbl(5.0), &arena);
  assert_true(distinct_of(&s) == 1);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vstr("5"), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vesc("\\u0035"), &arena); /* "5" escaped */
  assert_true(distinct_of(&s) == 2);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vdbl(5.5), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vint(0), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vdbl(-0.0), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vbool(1), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vstr("true"), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vjson("{\"a\":1}"), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vjson("{\"a\":1}"), &arena);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vnull(), &arena); /* skipped */
  add_bad(ED_AGG_COUNT_DISTINCT, &s, vmissing(), &arena);
  rt(&r, &s, 1);
  assert_true(distinct_of(&s) == 7); /* 5, "5", 5.5, 0, true, "true", {"a":1} */

  /* exact up to the bound, duplicates ignored, without re-encoding: the
   * state points into the arena while the arena grows (rebasing) */
  ed_agg_init(ED_AGG_COUNT_DISTINCT, &s);
  ed_buf_reset(&arena);
  for (int rep = 0; rep < 2; rep++)
    for (int64_t i = 0; i < ED_AGG_DISTINCT_EXACT; i++)
      add_ok(ED_AGG_COUNT_DISTINCT, &s, vint(i * 7919), &arena);
  assert_false(ed__distinct_is_hll(&s));
  assert_int_equal(s.v.s.len, 1 + 8 * ED_AGG_DISTINCT_EXACT);
  assert_true(distinct_of(&s) == ED_AGG_DISTINCT_EXACT);
  /* a known value appends nothing */
  size_t used = arena.len;
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vint(0), &arena);
  assert_int_equal(arena.len, used);
  rt(&r, &s, 1);
  assert_true(distinct_of(&s) == ED_AGG_DISTINCT_EXACT);

  /* one more: a sketch */
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vstr("one more"), &arena);
  assert_true(ed__distinct_is_hll(&s));
  assert_int_equal(s.v.s.len, 1 + 4096);
  rt(&r, &s, 1);
  assert_within(distinct_of(&s), 257, 0.02);
  add_ok(ED_AGG_COUNT_DISTINCT, &s, vint(0), &arena); /* a known value: estimate stays */
  assert_within(distinct_of(&s), 257, 0.02);

  /* out of memory: ED_ENOMEM and the state unchanged */
  ed_col_t before = s;
  arena.failed = 1;
  ed_value_t v = vstr("new value 12345");
  assert_int_equal(ed_agg_add(ED_AGG_COUNT_DISTINCT, &s, &v, &arena, NULL, 0), ED_ENOMEM);
  assert_memory_equal(&before, &s, sizeof s);
  ed_buf_reset(&arena);

  /* corrupt state */
  ed_col_t bad = {.type = ED_COL_BYTES, .v.s = {"\x07xyz", 4}};
  v = vint(1);
  assert_int_equal(ed_agg_add(ED_AGG_COUNT_DISTINCT, &bad, &v, &arena, NULL, 0), ED_EINVAL);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

static void test_distinct_estimate(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t s;
  /* 3 standard errors of 1.04/sqrt(4096) = 1.6% is 4.9% */
  static const int64_t ns[] = {300, 1000, 5000, 10000, 30000, 100000};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    build_ints(&s, 0, ns[i], &arena, &r);
    assert_within(distinct_of(&s), (double)ns[i], 0.05);
  }
  /* strings too, every value twice */
  ed_agg_init(ED_AGG_COUNT_DISTINCT, &s);
  char key[32];
  for (int rep = 0; rep < 2; rep++) {
    for (int i = 0; i < 20000; i++) {
      snprintf(key, sizeof key, "user-%d", i);
      add_ok(ED_AGG_COUNT_DISTINCT, &s, vstr(key), &arena);
      if ((i & 1023) == 0) {
        rt(&r, &s, 1);
        ed_buf_reset(&arena);
      }
    }
  }
  assert_within(distinct_of(&s), 20000, 0.05);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

static void test_distinct_merge(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t ra = {0}, rb = {0};
  ed_col_t a, b;

  /* exact + exact under the bound: exact union */
  build_ints(&a, 0, 100, &arena, &ra);
  build_ints(&b, 50, 150, &arena, &rb);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_false(ed__distinct_is_hll(&a));
  rt(&ra, &a, 1);
  assert_true(distinct_of(&a) == 150);
  /* merging a subset appends nothing */
  size_t used = arena.len;
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_int_equal(arena.len, used);
  assert_true(distinct_of(&a) == 150);
  /* into empty */
  ed_agg_init(ED_AGG_COUNT_DISTINCT, &a);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_true(distinct_of(&a) == 100);

  /* exactly at the bound stays exact */
  build_ints(&a, 0, 200, &arena, &ra);
  build_ints(&b, 144, 256, &arena, &rb);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_false(ed__distinct_is_hll(&a));
  assert_true(distinct_of(&a) == 256);

  /* exact + exact crossing the bound: a sketch */
  build_ints(&a, 0, 200, &arena, &ra);
  build_ints(&b, 100, 300, &arena, &rb);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_true(ed__distinct_is_hll(&a));
  rt(&ra, &a, 1);
  assert_within(distinct_of(&a), 300, 0.05);

  /* HLL + HLL */
  build_ints(&a, 0, 50000, &arena, &ra);
  build_ints(&b, 25000, 75000, &arena, &rb);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  rt(&ra, &a, 1);
  assert_within(distinct_of(&a), 75000, 0.05);
  /* the union equals the sketch of all values */
  ed_col_t all;
  rt_t rall = {0};
  build_ints(&all, 0, 75000, &arena, &rall);
  assert_int_equal(a.v.s.len, all.v.s.len);
  assert_memory_equal(a.v.s.p, all.v.s.p, all.v.s.len);

  /* exact + HLL and HLL + exact: same registers as adding one by one */
  build_ints(&a, 1000000, 1000100, &arena, &ra); /* exact, 100 */
  build_ints(&b, 0, 10000, &arena, &rb);         /* HLL */
  build_ints(&all, 0, 10000, &arena, &rall);
  for (int64_t i = 1000000; i < 1000100; i++)
    add_ok(ED_AGG_COUNT_DISTINCT, &all, vint(i), &arena);
  rt(&rall, &all, 1);
  ed_col_t a2 = a, b2 = b;
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &arena), ED_OK);
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &b2, &a2, &arena), ED_OK);
  assert_true(ed__distinct_is_hll(&a) && ed__distinct_is_hll(&b2));
  assert_memory_equal(a.v.s.p, all.v.s.p, all.v.s.len);
  assert_memory_equal(b2.v.s.p, all.v.s.p, all.v.s.len);
  rt(&ra, &a, 1);
  assert_within(distinct_of(&a), 10100, 0.05);

  /* both states in the arena, which moves during the merge */
  ed_buf_t small;
  ed_buf_init(&small);
  ed_agg_init(ED_AGG_COUNT_DISTINCT, &a);
  for (int64_t i = 0; i < 40; i++) {
    add_ok(ED_AGG_COUNT_DISTINCT, &a, vint(i), &small);
    add_ok(ED_AGG_COUNT_DISTINCT, &a, vint(i), &small);
  }
  int64_t want = 40;
  for (int64_t i = 0; i < 240; i++) {
    if (i % 2 == 0 || i >= 40) want++; /* odd i < 40 is already in a */
    ed_agg_init(ED_AGG_COUNT_DISTINCT, &b);
    add_ok(ED_AGG_COUNT_DISTINCT, &b, vint(i % 2 ? i : 1000 + i), &small);
    assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &b, &small), ED_OK);
    if (want <= ED_AGG_DISTINCT_EXACT) assert_true(distinct_of(&a) == want);
  }
  assert_true(ed__distinct_is_hll(&a)); /* 260 crossed the bound */
  assert_within(distinct_of(&a), (double)want, 0.05);
  rt(&ra, &a, 1);
  ed_buf_fini(&small);

  /* corrupt from */
  ed_col_t bad = {.type = ED_COL_INT, .v.i = 1};
  ed_col_t before = a;
  assert_int_equal(ed_agg_merge(ED_AGG_COUNT_DISTINCT, &a, &bad, &arena), ED_EINVAL);
  assert_memory_equal(&before, &a, sizeof a);
  rt_fini(&ra);
  rt_fini(&rb);
  rt_fini(&rall);
  ed_buf_fini(&arena);
}

/* ---- latest ---- */

static void test_latest(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_col_t s;
  ed_agg_init(ED_AGG_LATEST, &s);
  assert_int_equal(result(ED_AGG_LATEST, &s).type, ED_COL_NULL);

  char doc[64];
  snprintf(doc, sizeof doc, "{\"name\":\"ann\",\"age\":31}");
  add_ok(ED_AGG_LATEST, &s, vjson(doc), &arena);
  memset(doc, 'X', sizeof doc - 1); /* copied, not borrowed */
  rt(&r, &s, 1);
  ed_buf_reset(&arena);
  assert_str_col(result(ED_AGG_LATEST, &s), ED_COL_JSON, "{\"name\":\"ann\",\"age\":31}");

  add_ok(ED_AGG_LATEST, &s, vint(42), &arena);
  rt(&r, &s, 1);
  assert_true(s.type == ED_COL_INT && s.v.i == 42);
  add_ok(ED_AGG_LATEST, &s, vdbl(0.25), &arena);
  rt(&r, &s, 1);
  assert_true(s.type == ED_COL_DOUBLE && s.v.d == 0.25);
  add_ok(ED_AGG_LATEST, &s, vstr("plain text"), &arena);
  rt(&r, &s, 1);
  assert_str_col(s, ED_COL_STRING, "plain text");
  add_ok(ED_AGG_LATEST, &s, vesc("tab\\there \\\"q\\\""), &arena);
  rt(&r, &s, 1);
  assert_str_col(s, ED_COL_STRING, "tab\there \"q\"");
  add_ok(ED_AGG_LATEST, &s, vbool(1), &arena);
  rt(&r, &s, 1);
  assert_str_col(s, ED_COL_JSON, "true");
  add_ok(ED_AGG_LATEST, &s, vbool(0), &arena);
  assert_str_col(s, ED_COL_JSON, "false");
  add_ok(ED_AGG_LATEST, &s, vnull(), &arena);
  assert_int_equal(s.type, ED_COL_NULL);
  add_ok(ED_AGG_LATEST, &s, vstr(""), &arena);
  rt(&r, &s, 1);
  assert_str_col(s, ED_COL_STRING, "");
  add_bad(ED_AGG_LATEST, &s, vmissing(), &arena);

  /* merge keeps from (the later session), copied to the arena */
  ed_col_t a, b;
  ed_agg_init(ED_AGG_LATEST, &a);
  ed_agg_init(ED_AGG_LATEST, &b);
  add_ok(ED_AGG_LATEST, &a, vjson("[1]"), &arena);
  add_ok(ED_AGG_LATEST, &b, vjson("[2,3]"), &arena);
  rt(&r, &b, 1);
  assert_int_equal(ed_agg_merge(ED_AGG_LATEST, &a, &b, &arena), ED_OK);
  free(r.buf[r.cur]);
  r.buf[r.cur] = NULL;
  assert_str_col(a, ED_COL_JSON, "[2,3]");
  b = (ed_col_t){.type = ED_COL_INT, .v.i = 9};
  assert_int_equal(ed_agg_merge(ED_AGG_LATEST, &a, &b, &arena), ED_OK);
  assert_true(a.type == ED_COL_INT && a.v.i == 9);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

/* ---- the arena contract: reserve the needs, then nothing moves ---- */

static void test_arena_reserve(void **state) {
  (void)state;
  ed_buf_t arena;
  ed_buf_init(&arena);
  rt_t r = {0};
  ed_agg_kind_t kinds[] = {ED_AGG_COUNT,          ED_AGG_COUNT_DISTINCT, ED_AGG_MAX,
                           ED_AGG_COUNT_DISTINCT, ED_AGG_LATEST,         ED_AGG_AVG};
  enum { NK = sizeof kinds / sizeof kinds[0] };
  ed_col_t row[NK + 1];
  size_t at[NK];
  size_t n = 0;
  for (size_t i = 0; i < NK; i++) {
    at[i] = n;
    ed_agg_init(kinds[i], &row[n]);
    n += ed_agg_state_width(kinds[i]);
  }
  char name[32], doc[64];
  for (int rec = 0; rec < 600; rec++) {
    snprintf(name, sizeof name, "name-%04d", rec);
    snprintf(doc, sizeof doc, "{\"n\":%d}", rec);
    ed_value_t args[NK] = {vnull(), vstr(name), vstr(name), vint(rec % 300), vjson(doc), vint(rec)};
    size_t need = 0;
    for (size_t i = 0; i < NK; i++)
      need += ed_agg_add_arena_need(kinds[i], &args[i]);
    assert_int_equal(ed_buf_reserve(&arena, need), ED_OK);
    const char *base = arena.data;
    for (size_t i = 0; i < NK; i++)
      add_ok(kinds[i], &row[at[i]], args[i], &arena);
    assert_ptr_equal(arena.data, base); /* nothing moved: every column valid */
    rt(&r, row, n); /* encode before the next reserve, which may move the arena */
    if (rec % 50 == 49) ed_buf_reset(&arena);
  }
  rt(&r, row, n);
  assert_true(result(ED_AGG_COUNT, &row[at[0]]).v.i == 600);
  assert_within(result(ED_AGG_COUNT_DISTINCT, &row[at[1]]).v.i, 600, 0.05);
  assert_str_col(result(ED_AGG_MAX, &row[at[2]]), ED_COL_STRING, "name-0599");
  assert_within(result(ED_AGG_COUNT_DISTINCT, &row[at[3]]).v.i, 300, 0.05);
  assert_str_col(result(ED_AGG_LATEST, &row[at[4]]), ED_COL_JSON, "{\"n\":599}");
  assert_true(result(ED_AGG_AVG, &row[at[5]]).v.d == 299.5);

  /* merge needs */
  ed_col_t into[NK + 1];
  memcpy(into, row, sizeof row);
  size_t need = 0;
  for (size_t i = 0; i < NK; i++)
    need += ed_agg_merge_arena_need(kinds[i], &row[at[i]]);
  ed_buf_reset(&arena);
  assert_int_equal(ed_buf_reserve(&arena, need), ED_OK);
  const char *base = arena.data;
  for (size_t i = 0; i < NK; i++)
    assert_int_equal(ed_agg_merge(kinds[i], &into[at[i]], &row[at[i]], &arena), ED_OK);
  assert_ptr_equal(arena.data, base);
  assert_true(result(ED_AGG_COUNT, &into[at[0]]).v.i == 1200);
  assert_true(arena.len <= need);
  rt_fini(&r);
  ed_buf_fini(&arena);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_count),
      cmocka_unit_test(test_sum),
      cmocka_unit_test(test_avg),
      cmocka_unit_test(test_minmax_numbers),
      cmocka_unit_test(test_minmax_strings),
      cmocka_unit_test(test_distinct_exact),
      cmocka_unit_test(test_distinct_estimate),
      cmocka_unit_test(test_distinct_merge),
      cmocka_unit_test(test_latest),
      cmocka_unit_test(test_arena_reserve),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
