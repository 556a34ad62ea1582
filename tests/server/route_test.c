/* The routing's pure parts: query strings of a routed request's parts,
 * partition lists, the 503 messages naming a partition's state, and the
 * query module's merging of parts (range scan pages in store-key order with
 * the cursor a local scan gives; multi-get parts back in request order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"
#include "query/query.h"
#include "server/cluster.h"
#include "server/route.h"
#include "streams/topology.h"

static void expect_subquery(const char *q, const int32_t *parts, size_t n, int add,
                            const char *want) {
  ed_buf_t b;
  ed_buf_init(&b);
  assert_int_equal(ed__route_subquery(q, strlen(q), parts, n, add, &b), ED_OK);
  ed_buf_append(&b, "", 1);
  if (strcmp(b.data, want) != 0) fail_msg("'%s': got '%s', want '%s'", q, b.data, want);
  ed_buf_fini(&b);
}

static void test_subquery(void **state) {
  (void)state;
  int32_t p12[] = {1, 2};
  expect_subquery("", p12, 2, 1, "partitions=1,2");
  expect_subquery("", p12, 2, 0, "");
  expect_subquery("limit=37&cursor=AQBr", p12, 2, 1, "limit=37&cursor=AQBr&partitions=1,2");
  /* min_offset entries of other partitions go, a partitions= is replaced */
  expect_subquery("from=a&partitions=0,5&min_offset=1:5&min_offset=3:7&timeout_ms=100", p12, 2, 1,
                  "from=a&min_offset=1:5&timeout_ms=100&partitions=1,2");
  expect_subquery("min_offset=3%3A7&min_offset=2%3A9", p12, 2, 0, "min_offset=2%3A9");
  /* a malformed min_offset stays for the peer to refuse */
  expect_subquery("min_offset=x", p12, 2, 0, "min_offset=x");
  expect_subquery("allow_stale=true&&limit=2", p12, 2, 0, "allow_stale=true&limit=2");
}

static void test_parse_partitions(void **state) {
  (void)state;
  int32_t out[6];
  assert_int_equal(ed__route_parse_partitions("0,2,5", 5, 6, out), 3);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[1], 2);
  assert_int_equal(out[2], 5);
  assert_int_equal(ed__route_parse_partitions("4", 1, 6, out), 1);
  assert_int_equal(out[0], 4);
  assert_int_equal(ed__route_parse_partitions("", 0, 6, out), -1);
  assert_int_equal(ed__route_parse_partitions("2,1", 3, 6, out), -1);  /* not ascending */
  assert_int_equal(ed__route_parse_partitions("1,1", 3, 6, out), -1);  /* duplicate */
  assert_int_equal(ed__route_parse_partitions("0,6", 3, 6, out), -1);  /* out of range */
  assert_int_equal(ed__route_parse_partitions("1,", 2, 6, out), -1);   /* trailing comma */
  assert_int_equal(ed__route_parse_partitions("1;2", 3, 6, out), -1);
  assert_int_equal(ed__route_parse_partitions("-1", 2, 6, out), -1);
}

static void test_describe(void **state) {
  (void)state;
  ed_cluster_t c;
  ed_cluster_init(&c);
  assert_int_equal(ed_cluster_add_view(&c, "counts", 6), ED_OK);
  ed_cluster_partition_t ps[] = {
      {.partition = 1, .state = ED_CLUSTER_RUNNING, .restored = -1, .restore_total = -1},
      {.partition = 3, .state = ED_CLUSTER_RESTORING, .restored = 45, .restore_total = 100},
      {.partition = 4, .state = ED_CLUSTER_RESTORING, .restored = -1, .restore_total = -1},
      {.partition = 5, .state = ED_CLUSTER_STANDBY, .restored = 0, .restore_total = -1}};
  ed_cluster_view_t v = {.view = "counts", .member_id = "", .partitions = ps, .npartitions = 4};
  ed_cluster_instance_t in = {.instance_id = "b", .advertised_url = "http://b", .views = &v,
                              .nviews = 1};
  assert_int_equal(ed_cluster_add_instance(&c, &in), ED_OK);
  char msg[256];
  ed__route_describe(&c, "counts", 3, msg, sizeof msg);
  assert_string_equal(msg, "partition 3 of view 'counts' is restoring on instance b (45%)");
  ed__route_describe(&c, "counts", 4, msg, sizeof msg);
  assert_string_equal(msg, "partition 4 of view 'counts' is restoring on instance b");
  ed__route_describe(&c, "counts", 1, msg, sizeof msg);
  assert_string_equal(msg, "partition 1 of view 'counts' is owned by instance b");
  /* a standby is not an owner */
  ed__route_describe(&c, "counts", 5, msg, sizeof msg);
  assert_string_equal(msg, "partition 5 of view 'counts' has no owner (rebalancing)");
  ed__route_describe(&c, "counts", 0, msg, sizeof msg);
  assert_string_equal(msg, "partition 0 of view 'counts' has no owner (rebalancing)");
  ed__route_describe(NULL, "x", 2, msg, sizeof msg);
  assert_string_equal(msg, "partition 2 of view 'x' has no owner (rebalancing)");
  ed_cluster_fini(&c);
}

/* ---- merging ---- */

static ed_view_def_t count_def(void) {
  ed_view_def_t d;
  memset(&d, 0, sizeof d);
  d.name = "counts";
  d.naggs = 1;
  d.aggs[0].column = "count";
  d.aggs[0].kind = ED_AGG_COUNT;
  return d;
}

/* A protobuf page of @p n keys with counts, positions @p pos[0..npos),
 * and @p cursor (NULL: none), imported into a fresh result. */
static ed_query_result_t *page(const ed_view_def_t *def, int multi, const char *const *keys,
                               const int64_t *counts, size_t n, const int32_t *pos, size_t npos,
                               const char *cursor) {
  Eddy__V1__Row rows[16], *rp[16];
  Eddy__V1__Value vals[16];
  Eddy__V1__Column cols[16], *cp[16];
  Eddy__V1__Position ps[8], *pp[8];
  for (size_t i = 0; i < n; i++) {
    eddy__v1__row__init(&rows[i]);
    eddy__v1__value__init(&vals[i]);
    eddy__v1__column__init(&cols[i]);
    rows[i].key.data = (uint8_t *)keys[i];
    rows[i].key.len = strlen(keys[i]);
    if (counts[i] < 0) {
      rows[i].missing = 1;
    } else {
      cols[i].name = "count";
      cols[i].value_case = EDDY__V1__COLUMN__VALUE_INT_VALUE;
      cols[i].int_value = counts[i];
      cp[i] = &cols[i];
      vals[i].n_columns = 1;
      vals[i].columns = &cp[i];
      rows[i].value = &vals[i];
    }
    rp[i] = &rows[i];
  }
  for (size_t i = 0; i < npos; i++) {
    eddy__v1__position__init(&ps[i]);
    ps[i].partition = pos[i];
    ps[i].offset = 100 + pos[i];
    pp[i] = &ps[i];
  }
  uint8_t buf[4096];
  size_t len;
  if (multi) {
    Eddy__V1__MultiGetAnswer m = EDDY__V1__MULTI_GET_ANSWER__INIT;
    m.n_rows = n;
    m.rows = rp;
    m.n_positions = npos;
    m.positions = pp;
    len = eddy__v1__multi_get_answer__pack(&m, buf);
  } else {
    Eddy__V1__RowList l = EDDY__V1__ROW_LIST__INIT;
    l.n_rows = n;
    l.rows = rp;
    l.n_positions = npos;
    l.positions = pp;
    if (cursor) l.next_cursor = (char *)cursor;
    len = eddy__v1__row_list__pack(&l, buf);
  }
  ed_query_result_t *res = ed_query_result_create();
  assert_non_null(res);
  assert_int_equal(ed_query_result_import(res, def, ED_STORE_KIND_KV, multi, buf, len), ED_OK);
  return res;
}

static char *json_of(ed_query_result_t *res) {
  ed_buf_t b;
  ed_buf_init(&b);
  assert_int_equal(ed_query_encode(res, ED_QUERY_JSON, &b), ED_OK);
  ed_buf_append(&b, "", 1);
  return b.data; /* the caller frees */
}

static void test_merge_pages(void **state) {
  (void)state;
  ed_view_def_t def = count_def();
  const char *ka[] = {"a", "c", "e"}, *kb[] = {"b", "bb", "d"};
  int64_t ca[] = {1, 3, 5}, cb[] = {2, 22, 4};
  int32_t pa[] = {0, 2}, pb[] = {1};
  /* page A is full at limit 3 (a cursor), page B complete */
  ed_query_result_t *pages[2] = {page(&def, 0, ka, ca, 3, pa, 2, "AQBl"),
                                 page(&def, 0, kb, cb, 3, pb, 1, NULL)};
  ed_query_result_t *out = ed_query_result_create();
  assert_int_equal(ed_query_merge_pages(out, ED_STORE_KIND_KV, pages, 2, 3), 200);
  char *j = json_of(out);
  /* the three smallest keys, positions by partition, the cursor after "bb":
   * base64url of version 1, kind 0, "bb" */
  assert_string_equal(j, "{\"rows\":[{\"key\":\"a\",\"value\":{\"count\":1}},{\"key\":\"b\",\"value\":"
                         "{\"count\":2}},{\"key\":\"bb\",\"value\":{\"count\":22}}],"
                         "\"next_cursor\":\"AQBiYg\",\"positions\":[{\"partition\":0,\"offset\":100},"
                         "{\"partition\":1,\"offset\":101},{\"partition\":2,\"offset\":102}]}");
  free(j);

  /* everything fits: no cursor, even though rows == limit */
  assert_int_equal(ed_query_merge_pages(out, ED_STORE_KIND_KV, pages + 1, 1, 3), 200);
  j = json_of(out);
  assert_null(strstr(j, "next_cursor"));
  free(j);
  /* a page with a cursor means more, even when the merge has fewer rows */
  assert_int_equal(ed_query_merge_pages(out, ED_STORE_KIND_KV, pages, 1, 3), 200);
  j = json_of(out);
  assert_non_null(strstr(j, "\"next_cursor\":\"AQBl\"")); /* after "e" */
  free(j);
  for (int i = 0; i < 2; i++)
    ed_query_result_destroy(pages[i]);
  ed_query_result_destroy(out);
}

static void test_merge_multi(void **state) {
  (void)state;
  ed_view_def_t def = count_def();
  /* request: x, y, z, w; part 0 has y, w; part 1 has x, z (z missing) */
  const char *k0[] = {"y", "w"}, *k1[] = {"x", "z"};
  int64_t c0[] = {7, 9}, c1[] = {8, -1};
  int32_t p0[] = {3}, p1[] = {0, 5};
  ed_query_result_t *parts[2] = {page(&def, 1, k0, c0, 2, p0, 1, NULL),
                                 page(&def, 1, k1, c1, 2, p1, 2, NULL)};
  uint32_t part_of[] = {1, 0, 1, 0}, row_of[] = {0, 0, 1, 1};
  ed_query_result_t *out = ed_query_result_create();
  assert_int_equal(ed_query_merge_multi(out, parts, 2, part_of, row_of, 4), 200);
  char *j = json_of(out);
  if (strstr(j, "{\"key\":\"x\",\"value\":{\"count\":8}") == NULL ||
      strstr(j, "\"key\":\"y\",\"value\":{\"count\":7}") == NULL ||
      strstr(j, "\"key\":\"z\",\"missing\":true") == NULL ||
      strstr(j, "\"key\":\"w\",\"value\":{\"count\":9}") == NULL)
    fail_msg("merged multi-get: %s", j);
  assert_true(strstr(j, "\"x\"") < strstr(j, "\"y\"") && strstr(j, "\"y\"") < strstr(j, "\"z\"") &&
              strstr(j, "\"z\"") < strstr(j, "\"w\""));
  assert_non_null(strstr(j, "\"positions\":[{\"partition\":0,\"offset\":100},{\"partition\":3,"
                            "\"offset\":103},{\"partition\":5,\"offset\":105}]"));
  free(j);
  /* a part lacking a row is an error, not a wrong answer */
  uint32_t bad_row[] = {0, 0, 2, 1};
  assert_int_equal(ed_query_merge_multi(out, parts, 2, part_of, bad_row, 4), 502);
  for (int i = 0; i < 2; i++)
    ed_query_result_destroy(parts[i]);
  ed_query_result_destroy(out);
}

static void test_import_garbage(void **state) {
  (void)state;
  ed_view_def_t def = count_def();
  ed_query_result_t *res = ed_query_result_create();
  const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
  assert_int_equal(ed_query_result_import(res, &def, ED_STORE_KIND_KV, 0, junk, sizeof junk),
                   ED_EINVAL);
  ed_query_result_destroy(res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subquery),        cmocka_unit_test(test_parse_partitions),
      cmocka_unit_test(test_describe),        cmocka_unit_test(test_merge_pages),
      cmocka_unit_test(test_merge_multi),     cmocka_unit_test(test_import_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
