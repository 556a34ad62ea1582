/* libeddy's decoding of answers without a server: rows with typed columns,
 * windows, multi-get rows and view lists from protobuf bytes packed with the
 * same generated code the server's encoders use, and error mapping from
 * Error bodies made by the server's own encoders (query/:
 * ed_query_error_encode, ed_query_timeout_encode), plus what the client
 * refuses before any request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clients/client_int.h"
#include "common/buf.h"
#include "query/query.h"

static uint8_t *pack_row(const Eddy__V1__Row *r, size_t *len) {
  *len = eddy__v1__row__get_packed_size(r);
  uint8_t *b = malloc(*len + 1);
  assert_non_null(b);
  eddy__v1__row__pack(r, b);
  return b;
}

static void test_row_columns(void **state) {
  (void)state;
  Eddy__V1__Column c[5];
  Eddy__V1__Column *cp[5];
  for (int i = 0; i < 5; i++) {
    eddy__v1__column__init(&c[i]);
    cp[i] = &c[i];
  }
  c[0].name = "count", c[0].value_case = EDDY__V1__COLUMN__VALUE_INT_VALUE, c[0].int_value = -42;
  c[1].name = "avg", c[1].value_case = EDDY__V1__COLUMN__VALUE_DOUBLE_VALUE, c[1].double_value = 2.5;
  c[2].name = "last", c[2].value_case = EDDY__V1__COLUMN__VALUE_STRING_VALUE;
  c[2].string_value = "hello";
  c[3].name = "none", c[3].value_case = EDDY__V1__COLUMN__VALUE_NULL_VALUE, c[3].null_value = 1;
  c[4].name = "rec", c[4].value_case = EDDY__V1__COLUMN__VALUE_JSON_VALUE;
  c[4].json_value = "{\"a\":1}";
  Eddy__V1__Value v = EDDY__V1__VALUE__INIT;
  v.n_columns = 5, v.columns = cp;
  Eddy__V1__Row r = EDDY__V1__ROW__INIT;
  r.key.data = (uint8_t *)"al\0ce", r.key.len = 5;
  r.value = &v, r.partition = 3, r.offset = 12345;
  size_t len;
  uint8_t *b = pack_row(&r, &len);

  eddy_row_t *row = NULL;
  assert_int_equal(eddy__decode_row(b, len, &row), EDDY_OK);
  free(b);
  size_t kl;
  const void *k = eddy_row_key(row, &kl);
  assert_int_equal(kl, 5);
  assert_memory_equal(k, "al\0ce", 5);
  assert_true(eddy_row_found(row));
  assert_int_equal(eddy_row_partition(row), 3);
  assert_int_equal(eddy_row_offset(row), 12345);
  assert_int_equal(eddy_row_ncolumns(row), 5);
  assert_string_equal(eddy_row_column_name(row, 1), "avg");
  assert_null(eddy_row_column_name(row, 5));
  assert_int_equal(eddy_row_column_index(row, "last"), 2);
  assert_int_equal(eddy_row_column_index(row, "nope"), -1);
  assert_int_equal(eddy_row_column_type(row, 0), EDDY_TYPE_INT);
  assert_int_equal(eddy_row_column_type(row, 1), EDDY_TYPE_DOUBLE);
  assert_int_equal(eddy_row_column_type(row, 2), EDDY_TYPE_STRING);
  assert_int_equal(eddy_row_column_type(row, 3), EDDY_TYPE_NULL);
  assert_int_equal(eddy_row_column_type(row, 4), EDDY_TYPE_JSON);
  int64_t i64 = 0;
  double d = 0;
  assert_int_equal(eddy_row_int(row, 0, &i64), EDDY_OK);
  assert_int_equal(i64, -42);
  assert_int_equal(eddy_row_int(row, 1, &i64), EDDY_ERR_INVALID);
  assert_int_equal(eddy_row_int(row, 9, &i64), EDDY_ERR_INVALID);
  assert_int_equal(eddy_row_double(row, 1, &d), EDDY_OK);
  assert_true(d == 2.5);
  assert_int_equal(eddy_row_double(row, 0, &d), EDDY_OK); /* an INT converts */
  assert_true(d == -42.0);
  assert_int_equal(eddy_row_double(row, 2, &d), EDDY_ERR_INVALID);
  assert_string_equal(eddy_row_string(row, 2), "hello");
  assert_string_equal(eddy_row_string(row, 4), "{\"a\":1}");
  assert_null(eddy_row_string(row, 0));
  eddy_row_destroy(row);
  eddy_row_destroy(NULL);

  /* Not a Row: a protocol error, nothing to free. */
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(eddy__decode_row(junk, sizeof junk, &row), EDDY_ERR_PROTOCOL);
  assert_null(row);
}

static void test_windows_and_multi(void **state) {
  (void)state;
  Eddy__V1__Column c = EDDY__V1__COLUMN__INIT, *cp = &c;
  c.name = "count", c.value_case = EDDY__V1__COLUMN__VALUE_INT_VALUE, c.int_value = 7;
  Eddy__V1__Value v = EDDY__V1__VALUE__INIT;
  v.n_columns = 1, v.columns = &cp;
  Eddy__V1__Window w[2] = {EDDY__V1__WINDOW__INIT, EDDY__V1__WINDOW__INIT}, *wp[2] = {&w[0], &w[1]};
  w[0].start = 60000, w[0].end = 120000, w[0].value = &v;
  w[1].start = 120000, w[1].end = 180000, w[1].value = &v;
  Eddy__V1__Row r = EDDY__V1__ROW__INIT;
  r.key.data = (uint8_t *)"k", r.key.len = 1, r.n_windows = 2, r.windows = wp, r.partition = 1;
  r.offset = 9;
  size_t len;
  uint8_t *b = pack_row(&r, &len);
  eddy_windows_t *ws = NULL;
  assert_int_equal(eddy__decode_windows(b, len, &ws), EDDY_OK);
  free(b);
  assert_int_equal(eddy_windows_count(ws), 2);
  assert_int_equal(eddy_windows_start(ws, 1), 120000);
  assert_int_equal(eddy_windows_end(ws, 1), 180000);
  assert_int_equal(eddy_windows_partition(ws), 1);
  assert_int_equal(eddy_windows_offset(ws), 9);
  int64_t n = 0;
  assert_int_equal(eddy_row_int(eddy_windows_value(ws, 0), 0, &n), EDDY_OK);
  assert_int_equal(n, 7);
  assert_null(eddy_windows_value(ws, 2));
  eddy_windows_destroy(ws);

  /* A multi-get: one row found, one missing, in request order. */
  Eddy__V1__Row m[2] = {EDDY__V1__ROW__INIT, EDDY__V1__ROW__INIT}, *mp[2] = {&m[0], &m[1]};
  m[0].key.data = (uint8_t *)"a", m[0].key.len = 1, m[0].value = &v, m[0].partition = 2;
  m[1].key.data = (uint8_t *)"zz", m[1].key.len = 2, m[1].missing = 1, m[1].partition = 0;
  Eddy__V1__MultiGetAnswer ma = EDDY__V1__MULTI_GET_ANSWER__INIT;
  ma.n_rows = 2, ma.rows = mp;
  len = eddy__v1__multi_get_answer__get_packed_size(&ma);
  b = malloc(len);
  eddy__v1__multi_get_answer__pack(&ma, b);
  eddy_rows_t *rs = NULL;
  assert_int_equal(eddy__decode_rows(b, len, &rs), EDDY_OK);
  free(b);
  assert_int_equal(eddy_rows_count(rs), 2);
  assert_true(eddy_row_found(eddy_rows_at(rs, 0)));
  assert_int_equal(eddy_row_partition(eddy_rows_at(rs, 0)), 2);
  assert_false(eddy_row_found(eddy_rows_at(rs, 1)));
  assert_int_equal(eddy_row_ncolumns(eddy_rows_at(rs, 1)), 0);
  assert_null(eddy_rows_at(rs, 2));
  eddy_rows_destroy(rs);
}

static void test_views(void **state) {
  (void)state;
  Eddy__V1__View v = EDDY__V1__VIEW__INIT, *vp = &v;
  v.name = "counts", v.from = "clicks", v.kind = "table", v.partitions = 6;
  Eddy__V1__ViewList l = EDDY__V1__VIEW_LIST__INIT;
  l.n_views = 1, l.views = &vp;
  size_t len = eddy__v1__view_list__get_packed_size(&l);
  uint8_t *b = malloc(len);
  eddy__v1__view_list__pack(&l, b);
  eddy_views_t *vs = NULL;
  assert_int_equal(eddy__decode_views(b, len, &vs), EDDY_OK);
  free(b);
  assert_int_equal(eddy_views_count(vs), 1);
  assert_string_equal(eddy_views_name(vs, 0), "counts");
  assert_string_equal(eddy_views_from(vs, 0), "clicks");
  assert_string_equal(eddy_views_kind(vs, 0), "table");
  assert_int_equal(eddy_views_partitions(vs, 0), 6);
  assert_null(eddy_views_name(vs, 1));
  eddy_views_destroy(vs);
}

/* Error bodies made by the server's encoders map to the client's codes. */
static void test_error_mapping(void **state) {
  (void)state;
  static const struct {
    int status;
    const char *code;
    int want;
  } cases[] = {
      {404, "not_found", EDDY_ERR_NOT_FOUND},     {400, "bad_request", EDDY_ERR_BAD_REQUEST},
      {413, "too_large", EDDY_ERR_BAD_REQUEST},   {405, "method_not_allowed", EDDY_ERR_BAD_REQUEST},
      {503, "unavailable", EDDY_ERR_UNAVAILABLE}, {500, "internal", EDDY_ERR_SERVER},
      {502, "bad_gateway", EDDY_ERR_SERVER},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ed_buf_t out;
    ed_buf_init(&out);
    const char *msg = "partition 3 of view 'counts' has no owner";
    assert_int_equal(ed_query_error_encode(&out, ED_QUERY_PROTOBUF, cases[i].status, cases[i].code,
                                           msg, strlen(msg)),
                     cases[i].status);
    char m[256];
    int err = eddy__error_from_answer(cases[i].status, (const uint8_t *)out.data, out.len, 1, m,
                                      sizeof m);
    assert_int_equal(err, cases[i].want);
    assert_non_null(strstr(m, msg));
    assert_non_null(strstr(m, cases[i].code));
    ed_buf_fini(&out);
  }
  /* The min_offset timeout (504 with positions). */
  ed_buf_t out;
  ed_buf_init(&out);
  ed_query_position_t pos = {.partition = 3, .offset = 120, .stream_time = INT64_MIN};
  assert_int_equal(ed_query_timeout_encode(&out, ED_QUERY_PROTOBUF, "min_offset not reached", &pos, 1),
                   504);
  char m[256];
  assert_int_equal(eddy__error_from_answer(504, (const uint8_t *)out.data, out.len, 1, m, sizeof m),
                   EDDY_ERR_TIMEOUT);
  assert_non_null(strstr(m, "min_offset not reached"));
  ed_buf_fini(&out);
  /* A JSON or undecodable body: the status decides. */
  assert_int_equal(eddy__error_from_answer(404, (const uint8_t *)"{}", 2, 0, m, sizeof m),
                   EDDY_ERR_NOT_FOUND);
  assert_int_equal(eddy__error_from_answer(503, NULL, 0, 0, m, sizeof m), EDDY_ERR_UNAVAILABLE);
  static const uint8_t junk[] = {0xff, 0xff, 0xff};
  assert_int_equal(eddy__error_from_answer(400, junk, sizeof junk, 1, m, sizeof m),
                   EDDY_ERR_BAD_REQUEST);
  assert_int_equal(eddy__error_from_answer(302, NULL, 0, 0, m, sizeof m), EDDY_ERR_PROTOCOL);
  assert_int_equal(eddy__error_from_code("nope"), 0);
  assert_string_equal(eddy_err_str(EDDY_ERR_NOT_FOUND), "not found");
  assert_string_equal(eddy_err_str(12345), "unknown error");
}

/* Bad arguments fail before any request; a client on an unreachable URL
 * reports a transport error after its retries. */
static void test_client_args(void **state) {
  (void)state;
  char err[256];
  const char *bad[] = {"ftp://x"};
  assert_null(eddy_client_new(bad, 1, NULL, err, sizeof err));
  assert_non_null(strstr(err, "ftp://x"));
  assert_null(eddy_client_new(NULL, 0, NULL, err, sizeof err));
  eddy_client_destroy(NULL);

  const char *seeds[] = {"http://127.0.0.1:1/"};
  eddy_options_t o = {.timeout_ms = 2000, .retries = 2, .api_token = "t0k"};
  eddy_client_t *c = eddy_client_new(seeds, 1, &o, err, sizeof err);
  assert_non_null(c);
  assert_string_equal(eddy_last_error(c), "");
  eddy_row_t *row = (eddy_row_t *)&err;
  assert_int_equal(eddy_get(c, "counts", NULL, 0, NULL, &row), EDDY_ERR_INVALID);
  assert_int_equal(eddy_get(c, "counts", "k", 1, NULL, &row), EDDY_ERR_TRANSPORT);
  assert_null(row);
  assert_non_null(strstr(eddy_last_error(c), "127.0.0.1:1"));
  eddy_views_t *v = NULL;
  assert_int_equal(eddy_views(c, &v), EDDY_ERR_TRANSPORT);
  assert_null(eddy_scan_open(c, NULL, NULL, NULL, 10));
  eddy_scan_t *it = eddy_scan_open(c, "counts", "a", "b", 10);
  assert_non_null(it);
  const eddy_row_t *r;
  assert_int_equal(eddy_scan_next(it, &r), EDDY_ERR_TRANSPORT);
  eddy_scan_close(it);
  eddy_scan_close(NULL);
  eddy_client_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_row_columns),   cmocka_unit_test(test_windows_and_multi),
      cmocka_unit_test(test_views),         cmocka_unit_test(test_error_mapping),
      cmocka_unit_test(test_client_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
