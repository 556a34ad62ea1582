/* Unit tests for query/render.c: key answers rendered from real LMDB stores
 * holding encoded aggregate states, without an engine or Kafka. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "query/query_int.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/agg.h"
#include "streams/window.h"
#include "tests/streams/driver_util.h"

#define MiB ((size_t)1 << 20)

/* ---- fixture: one store per test ---- */

typedef struct {
  char dir[64];
  ed_store_t *s;
  ed_buf_t out;
  ed_buf_t arena;
} fx_t;

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  du_mkdtemp(f->dir, sizeof f->dir, "render");
  ed_store_opts_t o = {.map_size = MiB, .no_sync = 1};
  char err[256] = "";
  if (ed_store_open(f->dir, &o, &f->s, err, sizeof err) != ED_OK) fail_msg("open: %s", err);
  ed_buf_init(&f->out);
  ed_buf_init(&f->arena);
  /* states point into the arena: reserve once so it never moves */
  assert_int_equal(ed_buf_reserve(&f->arena, 64 * 1024), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  ed_store_close(f->s);
  du_rmtree(f->dir);
  ed_buf_fini(&f->out);
  ed_buf_fini(&f->arena);
  free(f);
  return 0;
}

/* ---- helpers ---- */

static ed_value_t vint(int64_t i) { return (ed_value_t){.type = ED_V_INT, .v.i = i}; }
static ed_value_t vdbl(double d) { return (ed_value_t){.type = ED_V_DOUBLE, .v.d = d}; }
static ed_value_t vstr(const char *s) {
  ed_value_t v = {.type = ED_V_STRING};
  v.v.s.p = s;
  v.v.s.len = strlen(s);
  return v;
}

static ed_col_t cint(int64_t i) { return (ed_col_t){.type = ED_COL_INT, .v.i = i}; }
static ed_col_t cdbl(double d) { return (ed_col_t){.type = ED_COL_DOUBLE, .v.d = d}; }
static ed_col_t ctext(ed_col_type_t t, const char *s) {
  ed_col_t c = {.type = t};
  c.v.s.p = s;
  c.v.s.len = (uint32_t)strlen(s);
  return c;
}

static void add_agg(ed_view_def_t *d, const char *column, ed_agg_kind_t kind, const char *arg) {
  d->aggs[d->naggs].column = (char *)column;
  d->aggs[d->naggs].kind = kind;
  d->aggs[d->naggs].arg = (char *)arg;
  d->naggs++;
}

static void put_raw(fx_t *f, const void *key, size_t klen, const void *val, size_t vlen) {
  ed_store_put_t p = {key, klen, val, vlen, 0};
  char err[256] = "";
  if (ed_store_commit(f->s, &p, 1, NULL, 0, err, sizeof err) != ED_OK) fail_msg("put: %s", err);
}

static void put_row(fx_t *f, const void *key, size_t klen, const ed_col_t *cols, size_t n) {
  unsigned char buf[4096];
  size_t len = ed_row_encode(cols, n, buf, sizeof buf);
  assert_true(len > 0);
  put_raw(f, key, klen, buf, len);
}

static void put_wrow(fx_t *f, const char *key, size_t klen, int64_t start, const ed_col_t *cols,
                     size_t n) {
  uint8_t k[ED_WKEY_MAX];
  size_t kl = ed_wkey_encode(key, klen, start, k, sizeof k);
  assert_true(kl > 0);
  put_row(f, k, kl, cols, n);
}

static void set_meta(fx_t *f, const char *name, int64_t v) {
  ed_store_meta_put_t m = {name, v};
  assert_int_equal(ed_store_commit(f->s, NULL, 0, &m, 1, NULL, 0), ED_OK);
}

/* Renders @p key and returns the status; *got the answer (f->out). */
static int render(fx_t *f, const ed_view_def_t *def, ed_store_kind_t kind, const char *key,
                  size_t klen, int32_t p, const ed_query_key_opts_t *opts) {
  ed_buf_reset(&f->out);
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(f->s, &r), ED_OK);
  int rc = ed__query_render_key(&f->out, def, kind, &r, key, klen, p, opts);
  ed_store_read_end(&r);
  assert_false(ed_buf_failed(&f->out));
  return rc;
}

static void expect(fx_t *f, const ed_view_def_t *def, ed_store_kind_t kind, const char *key,
                   const ed_query_key_opts_t *opts, const char *want) {
  int rc = render(f, def, kind, key, strlen(key), 1, opts);
  if (rc != ED_OK) fail_msg("render %s: %s", key, ed_strerror(rc));
  const char *got = f->out.data ? f->out.data : "";
  if (f->out.len != strlen(want) || memcmp(got, want, f->out.len) != 0)
    fail_msg("render %s:\n got  %.*s\n want %s", key, (int)f->out.len, got, want);
}

static void expect_rc(fx_t *f, const ed_view_def_t *def, ed_store_kind_t kind, const char *key,
                      size_t klen, const ed_query_key_opts_t *opts, int want) {
  int rc = render(f, def, kind, key, klen, 1, opts);
  if (rc != want) fail_msg("render: got %s, want %s", ed_strerror(rc), ed_strerror(want));
  assert_int_equal(f->out.len, 0); /* nothing appended on failure */
}

/* ---- tables ---- */

/* Aggregate states built by the real functions: count, sum turning double,
 * avg and count_distinct finalized; an empty avg is null. */
static void table_finalizes(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "orders_by_user", .from = "orders"};
  add_agg(&d, "orders", ED_AGG_COUNT, NULL);
  add_agg(&d, "revenue", ED_AGG_SUM, "amount");
  add_agg(&d, "avg_order", ED_AGG_AVG, "amount");
  add_agg(&d, "products", ED_AGG_COUNT_DISTINCT, "product");
  add_agg(&d, "biggest", ED_AGG_MAX, "amount");

  ed_col_t st[8];
  size_t off[5], n = 0;
  for (size_t i = 0; i < d.naggs; i++) {
    off[i] = n;
    ed_agg_init(d.aggs[i].kind, &st[n]);
    n += ed_agg_state_width(d.aggs[i].kind);
  }
  assert_int_equal(n, 6);
  ed_value_t amounts[] = {vint(10), vint(15), vdbl(15.5)};
  const char *products[] = {"pen", "ink", "pen"};
  for (int r = 0; r < 3; r++) {
    ed_value_t prod = vstr(products[r]);
    const ed_value_t *args[] = {NULL, &amounts[r], &amounts[r], &prod, &amounts[r]};
    for (size_t i = 0; i < d.naggs; i++)
      assert_int_equal(ed_agg_add(d.aggs[i].kind, &st[off[i]], args[i], &f->arena, NULL, 0), ED_OK);
  }
  put_row(f, "alice", 5, st, n);
  set_meta(f, ED_STORE_META_OFFSET, 42);
  expect(f, &d, ED_STORE_KIND_KV, "alice", NULL,
         "{\"key\":\"alice\",\"value\":{\"orders\":3,\"revenue\":40.5,\"avg_order\":13.5,"
         "\"products\":2,\"biggest\":15.5},\"partition\":1,\"offset\":42}");

  /* fresh states: avg over nothing is null, max is null */
  for (size_t i = 0; i < d.naggs; i++)
    ed_agg_init(d.aggs[i].kind, &st[off[i]]);
  put_row(f, "bob", 3, st, n);
  expect(f, &d, ED_STORE_KIND_KV, "bob", NULL,
         "{\"key\":\"bob\",\"value\":{\"orders\":0,\"revenue\":0,\"avg_order\":null,"
         "\"products\":0,\"biggest\":null},\"partition\":1,\"offset\":42}");

  /* the per-topic offset wins over the task's offset */
  set_meta(f, "offset/orders", 7);
  expect(f, &d, ED_STORE_KIND_KV, "bob", NULL,
         "{\"key\":\"bob\",\"value\":{\"orders\":0,\"revenue\":0,\"avg_order\":null,"
         "\"products\":0,\"biggest\":null},\"partition\":1,\"offset\":7}");

  expect_rc(f, &d, ED_STORE_KIND_KV, "carol", 5, NULL, ED_ENOTFOUND);
}

/* No offset metadata at all: 0. Keys with quotes and bytes are escaped. */
static void table_no_offset_and_escaped_key(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "v", .from = "t"};
  add_agg(&d, "count", ED_AGG_COUNT, NULL);
  ed_col_t c = cint(9);
  put_row(f, "a\"b\n", 4, &c, 1);
  expect(f, &d, ED_STORE_KIND_KV, "a\"b\n", NULL,
         "{\"key\":\"a\\\"b\\n\",\"value\":{\"count\":9},\"partition\":1,\"offset\":0}");
}

/* latest: the value is the record itself, not an object of columns. */
static void latest_values(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "users", .from = "users"};
  add_agg(&d, "latest", ED_AGG_LATEST, NULL);
  ed_col_t json = ctext(ED_COL_JSON, "{\"name\":\"Al\",\"tags\":[1,2]}");
  ed_col_t str = ctext(ED_COL_STRING, "say \"hi\"");
  ed_col_t i = cint(-5), dbl = cdbl(0.25), nul = {.type = ED_COL_NULL};
  put_row(f, "j", 1, &json, 1);
  put_row(f, "s", 1, &str, 1);
  put_row(f, "i", 1, &i, 1);
  put_row(f, "d", 1, &dbl, 1);
  put_row(f, "n", 1, &nul, 1);
  set_meta(f, ED_STORE_META_OFFSET, 3);
  expect(f, &d, ED_STORE_KIND_KV, "j", NULL,
         "{\"key\":\"j\",\"value\":{\"name\":\"Al\",\"tags\":[1,2]},\"partition\":1,\"offset\":3}");
  expect(f, &d, ED_STORE_KIND_KV, "s", NULL,
         "{\"key\":\"s\",\"value\":\"say \\\"hi\\\"\",\"partition\":1,\"offset\":3}");
  expect(f, &d, ED_STORE_KIND_KV, "i", NULL,
         "{\"key\":\"i\",\"value\":-5,\"partition\":1,\"offset\":3}");
  expect(f, &d, ED_STORE_KIND_KV, "d", NULL,
         "{\"key\":\"d\",\"value\":0.25,\"partition\":1,\"offset\":3}");
  expect(f, &d, ED_STORE_KIND_KV, "n", NULL,
         "{\"key\":\"n\",\"value\":null,\"partition\":1,\"offset\":3}");

  /* a latest state built by ed_agg_add from a JSON object */
  ed_col_t st;
  ed_agg_init(ED_AGG_LATEST, &st);
  ed_value_t obj = vstr("{\"x\":true}");
  obj.type = ED_V_JSON;
  assert_int_equal(ed_agg_add(ED_AGG_LATEST, &st, &obj, &f->arena, NULL, 0), ED_OK);
  put_row(f, "o", 1, &st, 1);
  expect(f, &d, ED_STORE_KIND_KV, "o", NULL,
         "{\"key\":\"o\",\"value\":{\"x\":true},\"partition\":1,\"offset\":3}");
}

/* A store without a description: every column by index, BYTES as null. */
static void undescribed_columns(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "custom"};
  ed_col_t c[4] = {cint(1), ctext(ED_COL_STRING, "x"), ctext(ED_COL_BYTES, "\x01\x02"), cdbl(2.5)};
  put_row(f, "k", 1, c, 4);
  expect(f, &d, ED_STORE_KIND_KV, "k", NULL,
         "{\"key\":\"k\",\"value\":{\"col0\":1,\"col1\":\"x\",\"col2\":null,\"col3\":2.5},"
         "\"partition\":1,\"offset\":0}");
}

/* A row whose columns do not match the definition, or not a row at all. */
static void corrupt_rows(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "v", .from = "t"};
  add_agg(&d, "count", ED_AGG_COUNT, NULL);
  add_agg(&d, "avg", ED_AGG_AVG, "x");
  ed_col_t c[2] = {cint(1), cint(2)}; /* 2 columns, 3 expected */
  put_row(f, "short", 5, c, 2);
  put_raw(f, "junk", 4, "\x07garbage", 8);
  expect_rc(f, &d, ED_STORE_KIND_KV, "short", 5, NULL, ED_EINVAL);
  expect_rc(f, &d, ED_STORE_KIND_KV, "junk", 4, NULL, ED_EINVAL);
}

/* ---- windows ---- */

static ed_view_def_t tumbling_def(void) {
  ed_view_def_t d = {.name = "per_minute", .from = "clicks"};
  d.window = (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .advance = 60000};
  add_agg(&d, "count", ED_AGG_COUNT, NULL);
  return d;
}

static void windowed_rows(fx_t *f) {
  ed_col_t c;
  /* neighbours that must not show: a key before, "k\0" and "ka" after */
  c = cint(100);
  put_wrow(f, "j", 1, 0, &c, 1);
  put_wrow(f, "k\0", 2, 0, &c, 1);
  put_wrow(f, "ka", 2, 0, &c, 1);
  int64_t starts[] = {120000, -60000, 0, 60000}; /* written out of order */
  for (int i = 0; i < 4; i++) {
    c = cint(i + 1);
    put_wrow(f, "k", 1, starts[i], &c, 1);
  }
  set_meta(f, ED_STORE_META_OFFSET, 11);
  set_meta(f, ED_STORE_META_STREAM_TIME, 130000);
}

static void windowed_all_and_ranges(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = tumbling_def();
  windowed_rows(f);
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", NULL,
         "{\"key\":\"k\",\"windows\":["
         "{\"start\":-60000,\"end\":0,\"value\":{\"count\":2}},"
         "{\"start\":0,\"end\":60000,\"value\":{\"count\":3}},"
         "{\"start\":60000,\"end\":120000,\"value\":{\"count\":4}},"
         "{\"start\":120000,\"end\":180000,\"value\":{\"count\":1}}],"
         "\"partition\":1,\"offset\":11,\"stream_time\":130000}");

  ed_query_key_opts_t o = {.has_from = 1, .from = 0, .has_to = 1, .to = 60000};
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", &o,
         "{\"key\":\"k\",\"windows\":["
         "{\"start\":0,\"end\":60000,\"value\":{\"count\":3}},"
         "{\"start\":60000,\"end\":120000,\"value\":{\"count\":4}}],"
         "\"partition\":1,\"offset\":11,\"stream_time\":130000}");

  /* bounds are on the start: from=1 skips the window starting at 0 */
  o = (ed_query_key_opts_t){.has_from = 1, .from = 1};
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", &o,
         "{\"key\":\"k\",\"windows\":["
         "{\"start\":60000,\"end\":120000,\"value\":{\"count\":4}},"
         "{\"start\":120000,\"end\":180000,\"value\":{\"count\":1}}],"
         "\"partition\":1,\"offset\":11,\"stream_time\":130000}");

  o = (ed_query_key_opts_t){.has_to = 1, .to = -1};
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", &o,
         "{\"key\":\"k\",\"windows\":["
         "{\"start\":-60000,\"end\":0,\"value\":{\"count\":2}}],"
         "\"partition\":1,\"offset\":11,\"stream_time\":130000}");

  o = (ed_query_key_opts_t){.has_from = 1, .from = 60000, .has_to = 1, .to = 60000};
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", &o,
         "{\"key\":\"k\",\"windows\":["
         "{\"start\":60000,\"end\":120000,\"value\":{\"count\":4}}],"
         "\"partition\":1,\"offset\":11,\"stream_time\":130000}");

  /* the key with a 0x00 byte has its own single window */
  int rc = render(f, &d, ED_STORE_KIND_WINDOWED, "k\0", 2, 1, NULL);
  assert_int_equal(rc, ED_OK);
  const char *want = "{\"key\":\"k\\u0000\",\"windows\":[{\"start\":0,\"end\":60000,\"value\":"
                     "{\"count\":100}}],\"partition\":1,\"offset\":11,\"stream_time\":130000}";
  if (strcmp(f->out.data, want) != 0) fail_msg("got %s", f->out.data);
}

static void windowed_none(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = tumbling_def();
  windowed_rows(f);
  ed_query_key_opts_t o = {.has_from = 1, .from = 120001};
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "k", 1, &o, ED_ENOTFOUND);
  o = (ed_query_key_opts_t){.has_to = 1, .to = -60001};
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "k", 1, &o, ED_ENOTFOUND);
  o = (ed_query_key_opts_t){.has_from = 1, .from = 5, .has_to = 1, .to = 4};
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "k", 1, &o, ED_ENOTFOUND);
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "kb", 2, NULL, ED_ENOTFOUND);
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "a", 1, NULL, ED_ENOTFOUND);
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, "z", 1, NULL, ED_ENOTFOUND);
  /* a key that cannot be encoded: every 0x00 byte takes two */
  char zeros[300] = {0};
  expect_rc(f, &d, ED_STORE_KIND_WINDOWED, zeros, sizeof zeros, NULL, ED_ETOOBIG);
}

/* Without stream-time metadata the field is left out; an end past INT64_MAX
 * saturates. */
static void windowed_no_stream_time(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = tumbling_def();
  add_agg(&d, "avg_ms", ED_AGG_AVG, "ms");
  ed_col_t c[3] = {cint(2), cint(5), cint(2)};
  put_wrow(f, "k", 1, INT64_MAX - 10, c, 3);
  expect(f, &d, ED_STORE_KIND_WINDOWED, "k", NULL,
         "{\"key\":\"k\",\"windows\":[{\"start\":9223372036854775797,\"end\":"
         "9223372036854775807,\"value\":{\"count\":2,\"avg_ms\":2.5}}],"
         "\"partition\":1,\"offset\":0}");
}

/* Sessions: the last column is the session end. */
static void sessions(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "visits", .from = "clicks"};
  d.window = (ed_window_spec_t){.type = ED_WIN_SESSION, .gap = 30000};
  add_agg(&d, "clicks", ED_AGG_COUNT, NULL);
  add_agg(&d, "last_page", ED_AGG_MAX, "page");
  ed_col_t a[3] = {cint(3), ctext(ED_COL_STRING, "/cart"), cint(5000)};
  ed_col_t b[3] = {cint(1), ctext(ED_COL_STRING, "/home"), cint(90000)};
  put_wrow(f, "u", 1, 1000, a, 3);
  put_wrow(f, "u", 1, 90000, b, 3);
  set_meta(f, ED_STORE_META_OFFSET, 5);
  set_meta(f, ED_STORE_META_STREAM_TIME, 90000);
  expect(f, &d, ED_STORE_KIND_SESSION, "u", NULL,
         "{\"key\":\"u\",\"windows\":["
         "{\"start\":1000,\"end\":5000,\"value\":{\"clicks\":3,\"last_page\":\"/cart\"}},"
         "{\"start\":90000,\"end\":90000,\"value\":{\"clicks\":1,\"last_page\":\"/home\"}}],"
         "\"partition\":1,\"offset\":5,\"stream_time\":90000}");
  ed_query_key_opts_t o = {.has_from = 1, .from = 2000};
  expect(f, &d, ED_STORE_KIND_SESSION, "u", &o,
         "{\"key\":\"u\",\"windows\":["
         "{\"start\":90000,\"end\":90000,\"value\":{\"clicks\":1,\"last_page\":\"/home\"}}],"
         "\"partition\":1,\"offset\":5,\"stream_time\":90000}");

  /* a session row without its end column is corrupt, even after good ones */
  ed_col_t bad[2] = {cint(1), ctext(ED_COL_STRING, "x")};
  put_wrow(f, "u", 1, 200000, bad, 2);
  expect_rc(f, &d, ED_STORE_KIND_SESSION, "u", 1, NULL, ED_EINVAL);
}

/* A latest view over sessions, and an undescribed session store. */
static void sessions_latest_and_undescribed(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "last", .from = "t"};
  d.window = (ed_window_spec_t){.type = ED_WIN_SESSION, .gap = 10};
  add_agg(&d, "latest", ED_AGG_LATEST, NULL);
  ed_col_t a[2] = {ctext(ED_COL_JSON, "[1]"), cint(7)};
  put_wrow(f, "x", 1, 3, a, 2);
  expect(f, &d, ED_STORE_KIND_SESSION, "x", NULL,
         "{\"key\":\"x\",\"windows\":[{\"start\":3,\"end\":7,\"value\":[1]}],"
         "\"partition\":1,\"offset\":0}");
  ed_view_def_t u = {.name = "custom"};
  expect(f, &u, ED_STORE_KIND_SESSION, "x", NULL,
         "{\"key\":\"x\",\"windows\":[{\"start\":3,\"end\":7,\"value\":{\"col0\":[1]}}],"
         "\"partition\":1,\"offset\":0}");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(table_finalizes, setup, teardown),
      cmocka_unit_test_setup_teardown(table_no_offset_and_escaped_key, setup, teardown),
      cmocka_unit_test_setup_teardown(latest_values, setup, teardown),
      cmocka_unit_test_setup_teardown(undescribed_columns, setup, teardown),
      cmocka_unit_test_setup_teardown(corrupt_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(windowed_all_and_ranges, setup, teardown),
      cmocka_unit_test_setup_teardown(windowed_none, setup, teardown),
      cmocka_unit_test_setup_teardown(windowed_no_stream_time, setup, teardown),
      cmocka_unit_test_setup_teardown(sessions, setup, teardown),
      cmocka_unit_test_setup_teardown(sessions_latest_and_undescribed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
