/* server/cluster.c: building a map by hand (a remote instance as the
 * members topic will add it) and its JSON and protobuf encodings. The
 * snapshot from a live engine is tested end to end (tests/e2e/cluster_test.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"
#include "server/cluster.h"

/* Two views: "a" (3 partitions: 0 here with a standby on the remote, 1 on
 * the remote, 2 nobody) and "b" (1 partition, restoring on the remote, a
 * quarter done). */
static void build(ed_cluster_t *c) {
  ed_cluster_init(c);
  assert_int_equal(ed_cluster_add_view(c, "a", 3), ED_OK);
  assert_int_equal(ed_cluster_add_view(c, "b\"q", 1), ED_OK);
  ed_cluster_partition_t p0 = {.partition = 0, .state = ED_CLUSTER_RUNNING, .offset = 10, .lag = 2};
  ed_cluster_view_t va = {.view = "a", .partitions = &p0, .npartitions = 1};
  ed_cluster_instance_t me = {.instance_id = "h0:8080",
                              .advertised_url = "http://h0:8080",
                              .self = 1,
                              .views = &va,
                              .nviews = 1};
  assert_int_equal(ed_cluster_add_instance(c, &me), ED_OK);
  ed_cluster_partition_t p1[2] = {
      {.partition = 0, .state = ED_CLUSTER_STANDBY, .offset = -1, .lag = -1, .restored = 3,
       .restore_total = -1, .lag_ms = 40},
      {.partition = 1, .state = ED_CLUSTER_RUNNING, .offset = -1, .lag = -1}};
  ed_cluster_partition_t pb = {.partition = 0,
                               .state = ED_CLUSTER_RESTORING,
                               .offset = 5,
                               .lag = 7,
                               .restored = 30,
                               .restore_total = 120};
  ed_cluster_view_t vr[2] = {{.view = "a", .member_id = "m-1", .partitions = p1, .npartitions = 2},
                             {.view = "b\"q", .partitions = &pb, .npartitions = 1}};
  ed_cluster_instance_t other = {
      .instance_id = "h1:8080", .advertised_url = "http://h1:8080", .views = vr, .nviews = 2};
  assert_int_equal(ed_cluster_add_instance(c, &other), ED_OK);
}

static void test_json(void **state) {
  (void)state;
  ed_cluster_t c;
  build(&c);
  ed_buf_t b;
  ed_buf_init(&b);
  assert_int_equal(ed_cluster_encode(&c, ED_QUERY_JSON, &b), ED_OK);
  assert_string_equal(
      b.data, "{\"instances\":["
              "{\"instance_id\":\"h0:8080\",\"advertised_url\":\"http://h0:8080\",\"self\":true,"
              "\"views\":[{\"view\":\"a\",\"partitions\":[{\"partition\":0,\"state\":\"running\","
              "\"offset\":10,\"lag\":2}],\"member_id\":\"\"}]},"
              "{\"instance_id\":\"h1:8080\",\"advertised_url\":\"http://h1:8080\",\"self\":false,"
              "\"views\":[{\"view\":\"a\",\"partitions\":["
              "{\"partition\":0,\"state\":\"standby\",\"offset\":null,\"lag\":null,"
              "\"lag_records\":3,\"lag_ms\":40},"
              "{\"partition\":1,\"state\":\"running\",\"offset\":null,\"lag\":null}],"
              "\"member_id\":\"m-1\"},"
              "{\"view\":\"b\\\"q\",\"partitions\":[{\"partition\":0,\"state\":\"restoring\","
              "\"offset\":5,\"lag\":7,\"restored\":30,\"restore_total\":120,\"progress\":25.0}],"
              "\"member_id\":\"\"}]}],"
              "\"views\":["
              "{\"view\":\"a\",\"partitions\":3,\"owners\":["
              "{\"partition\":0,\"instance_id\":\"h0:8080\",\"state\":\"running\","
              "\"standbys\":[\"h1:8080\"]},"
              "{\"partition\":1,\"instance_id\":\"h1:8080\",\"state\":\"running\",\"standbys\":[]},"
              "{\"partition\":2,\"instance_id\":null,\"state\":\"unassigned\",\"standbys\":[]}]},"
              "{\"view\":\"b\\\"q\",\"partitions\":1,\"owners\":["
              "{\"partition\":0,\"instance_id\":\"h1:8080\",\"state\":\"restoring\","
              "\"standbys\":[]}]}]}");
  ed_buf_fini(&b);
  ed_cluster_fini(&c);
}

static void test_protobuf(void **state) {
  (void)state;
  ed_cluster_t c;
  build(&c);
  ed_buf_t b;
  ed_buf_init(&b);
  assert_int_equal(ed_cluster_encode(&c, ED_QUERY_PROTOBUF, &b), ED_OK);
  Eddy__V1__ClusterMap *m = eddy__v1__cluster_map__unpack(NULL, b.len, (uint8_t *)b.data);
  assert_non_null(m);
  assert_int_equal(m->n_instances, 2);
  assert_string_equal(m->instances[0]->instance_id, "h0:8080");
  assert_string_equal(m->instances[0]->advertised_url, "http://h0:8080");
  assert_true(m->instances[0]->self);
  assert_false(m->instances[1]->self);
  assert_int_equal(m->instances[1]->n_views, 2);
  assert_string_equal(m->instances[1]->views[0]->member_id, "m-1");
  assert_string_equal(m->instances[1]->views[0]->partitions[0]->state, "standby");
  assert_int_equal(m->instances[1]->views[0]->partitions[0]->lag_ms, 40);
  Eddy__V1__ClusterPartition *p = m->instances[1]->views[0]->partitions[1];
  assert_int_equal(p->partition, 1);
  assert_int_equal(p->offset, -1);
  assert_int_equal(p->lag, -1);
  assert_string_equal(m->instances[1]->views[1]->partitions[0]->state, "restoring");
  assert_int_equal(m->instances[1]->views[1]->partitions[0]->restored, 30);
  assert_int_equal(m->instances[1]->views[1]->partitions[0]->restore_total, 120);
  assert_int_equal(m->views[0]->owners[0]->n_standbys, 1);
  assert_string_equal(m->views[0]->owners[0]->standbys[0], "h1:8080");
  assert_int_equal(m->n_views, 2);
  assert_int_equal(m->views[0]->partitions, 3);
  assert_int_equal(m->views[0]->n_owners, 3);
  assert_string_equal(m->views[0]->owners[1]->instance_id, "h1:8080");
  assert_string_equal(m->views[0]->owners[2]->instance_id, "");
  assert_string_equal(m->views[0]->owners[2]->state, "unassigned");
  assert_string_equal(m->views[1]->view, "b\"q");
  eddy__v1__cluster_map__free_unpacked(m, NULL);
  ed_buf_fini(&b);
  ed_cluster_fini(&c);
}

static void test_owner_and_empty(void **state) {
  (void)state;
  ed_cluster_t c;
  build(&c);
  ed_cluster_state_t st;
  const ed_cluster_instance_t *o = ed_cluster_owner(&c, "a", 1, &st);
  assert_non_null(o);
  assert_string_equal(o->instance_id, "h1:8080");
  assert_int_equal(st, ED_CLUSTER_RUNNING);
  assert_null(ed_cluster_owner(&c, "a", 2, &st));
  assert_int_equal(st, ED_CLUSTER_UNASSIGNED);
  assert_null(ed_cluster_owner(&c, "nope", 0, NULL));
  ed_cluster_fini(&c);
  ed_cluster_fini(&c); /* fini leaves it empty: again is harmless */
  ed_cluster_fini(NULL);
  ed_buf_t b;
  ed_buf_init(&b);
  assert_int_equal(ed_cluster_encode(&c, ED_QUERY_JSON, &b), ED_OK);
  assert_string_equal(b.data, "{\"instances\":[],\"views\":[]}");
  ed_buf_reset(&b);
  assert_int_equal(ed_cluster_encode(&c, ED_QUERY_PROTOBUF, &b), ED_OK);
  assert_int_equal(b.len, 0);
  ed_buf_fini(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_protobuf),
      cmocka_unit_test(test_owner_and_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
