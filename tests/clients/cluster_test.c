/* libeddy's cluster map (clients/cluster.c) without a server: a canned
 * ClusterMap packed with the generated code, decoded and read through the
 * public accessors; undecodable bytes; out-of-range indexes; NULL handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clients/client_int.h"

/* Two instances; view "counts" with 2 partitions: p0 owned by a (running)
 * with a standby on b, p1 owned by b (restoring); view "latest" with one
 * unassigned partition. */
static uint8_t *canned(size_t *len) {
  Eddy__V1__ClusterPartition pa0, pb0, pb1;
  eddy__v1__cluster_partition__init(&pa0);
  eddy__v1__cluster_partition__init(&pb0);
  eddy__v1__cluster_partition__init(&pb1);
  pa0.partition = 0, pa0.state = "running", pa0.offset = 120, pa0.lag = 3;
  pa0.restored = -1, pa0.restore_total = -1, pa0.lag_ms = -1;
  pb0.partition = 0, pb0.state = "standby", pb0.offset = 118, pb0.lag = 5;
  pb0.restored = 2, pb0.restore_total = -1, pb0.lag_ms = 40;
  pb1.partition = 1, pb1.state = "restoring", pb1.offset = -1, pb1.lag = -1;
  pb1.restored = 10, pb1.restore_total = 50, pb1.lag_ms = -1;
  Eddy__V1__ClusterPartition *pa[] = {&pa0}, *pb[] = {&pb0, &pb1};
  Eddy__V1__InstanceView iva, ivb;
  eddy__v1__instance_view__init(&iva);
  eddy__v1__instance_view__init(&ivb);
  iva.view = "counts", iva.n_partitions = 1, iva.partitions = pa;
  ivb.view = "counts", ivb.n_partitions = 2, ivb.partitions = pb;
  Eddy__V1__InstanceView *va[] = {&iva}, *vb[] = {&ivb};
  Eddy__V1__Instance ia, ib;
  eddy__v1__instance__init(&ia);
  eddy__v1__instance__init(&ib);
  ia.instance_id = "a", ia.advertised_url = "http://a:8080", ia.self = 1;
  ia.n_views = 1, ia.views = va;
  ib.instance_id = "b", ib.advertised_url = "http://b:8080", ib.n_views = 1, ib.views = vb;
  Eddy__V1__Instance *is[] = {&ia, &ib};

  char *sb[] = {"b"};
  Eddy__V1__PartitionOwner o0, o1, l0;
  eddy__v1__partition_owner__init(&o0);
  eddy__v1__partition_owner__init(&o1);
  eddy__v1__partition_owner__init(&l0);
  o0.partition = 0, o0.instance_id = "a", o0.state = "running", o0.n_standbys = 1;
  o0.standbys = sb;
  o1.partition = 1, o1.instance_id = "b", o1.state = "restoring";
  l0.partition = 0, l0.instance_id = "", l0.state = "unassigned";
  Eddy__V1__PartitionOwner *oc[] = {&o0, &o1}, *ol[] = {&l0};
  Eddy__V1__ClusterView cc, cl;
  eddy__v1__cluster_view__init(&cc);
  eddy__v1__cluster_view__init(&cl);
  cc.view = "counts", cc.partitions = 2, cc.n_owners = 2, cc.owners = oc;
  cl.view = "latest", cl.partitions = 1, cl.n_owners = 1, cl.owners = ol;
  Eddy__V1__ClusterView *vs[] = {&cc, &cl};

  Eddy__V1__ClusterMap m;
  eddy__v1__cluster_map__init(&m);
  m.n_instances = 2, m.instances = is, m.n_views = 2, m.views = vs;
  *len = eddy__v1__cluster_map__get_packed_size(&m);
  uint8_t *b = malloc(*len + 1);
  assert_non_null(b);
  eddy__v1__cluster_map__pack(&m, b);
  return b;
}

static void test_instances(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = canned(&len);
  eddy_cluster_t *m = NULL;
  assert_int_equal(eddy__decode_cluster(b, len, &m), EDDY_OK);
  free(b);
  assert_int_equal(eddy_cluster_instance_count(m), 2);
  assert_string_equal(eddy_cluster_instance_id(m, 0), "a");
  assert_string_equal(eddy_cluster_instance_url(m, 0), "http://a:8080");
  assert_int_equal(eddy_cluster_instance_self(m, 0), 1);
  assert_int_equal(eddy_cluster_instance_self(m, 1), 0);
  assert_string_equal(eddy_cluster_instance_id(m, 1), "b");
  assert_int_equal(eddy_cluster_instance_view_count(m, 1), 1);
  assert_string_equal(eddy_cluster_instance_view(m, 1, 0), "counts");
  assert_int_equal(eddy_cluster_instance_partition_count(m, 1, 0), 2);
  eddy_cluster_partition_t p;
  assert_int_equal(eddy_cluster_instance_partition(m, 0, 0, 0, &p), EDDY_OK);
  assert_int_equal(p.partition, 0);
  assert_string_equal(p.state, "running");
  assert_int_equal(p.offset, 120);
  assert_int_equal(p.lag, 3);
  assert_int_equal(eddy_cluster_instance_partition(m, 1, 0, 0, &p), EDDY_OK);
  assert_string_equal(p.state, "standby");
  assert_int_equal(p.restored, 2);
  assert_int_equal(p.lag_ms, 40);
  assert_int_equal(eddy_cluster_instance_partition(m, 1, 0, 1, &p), EDDY_OK);
  assert_string_equal(p.state, "restoring");
  assert_int_equal(p.offset, -1);
  assert_int_equal(p.restored, 10);
  assert_int_equal(p.restore_total, 50);
  /* out of range */
  assert_null(eddy_cluster_instance_id(m, 2));
  assert_null(eddy_cluster_instance_view(m, 0, 1));
  assert_int_equal(eddy_cluster_instance_partition_count(m, 5, 0), 0);
  assert_int_equal(eddy_cluster_instance_partition(m, 0, 0, 1, &p), EDDY_ERR_INVALID);
  assert_int_equal(eddy_cluster_instance_partition(m, 0, 0, 0, NULL), EDDY_ERR_INVALID);
  eddy_cluster_destroy(m);
}

static void test_owners(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = canned(&len);
  eddy_cluster_t *m = NULL;
  assert_int_equal(eddy__decode_cluster(b, len, &m), EDDY_OK);
  free(b);
  assert_int_equal(eddy_cluster_view_count(m), 2);
  assert_string_equal(eddy_cluster_view_name(m, 0), "counts");
  assert_int_equal(eddy_cluster_view_partitions(m, 0), 2);
  assert_int_equal(eddy_cluster_view_owner_count(m, 0), 2);
  eddy_cluster_owner_t o;
  assert_int_equal(eddy_cluster_view_owner(m, 0, 0, &o), EDDY_OK);
  assert_int_equal(o.partition, 0);
  assert_string_equal(o.owner, "a");
  assert_string_equal(o.state, "running");
  assert_int_equal(o.n_standbys, 1);
  assert_string_equal(o.standbys[0], "b");
  assert_int_equal(eddy_cluster_view_owner(m, 0, 1, &o), EDDY_OK);
  assert_string_equal(o.owner, "b");
  assert_string_equal(o.state, "restoring");
  assert_int_equal(o.n_standbys, 0);
  assert_string_equal(eddy_cluster_view_name(m, 1), "latest");
  assert_int_equal(eddy_cluster_view_owner(m, 1, 0, &o), EDDY_OK);
  assert_null(o.owner);
  assert_string_equal(o.state, "unassigned");
  assert_int_equal(eddy_cluster_view_owner(m, 1, 1, &o), EDDY_ERR_INVALID);
  assert_null(eddy_cluster_view_name(m, 2));
  assert_int_equal(eddy_cluster_view_partitions(m, 2), 0);
  eddy_cluster_destroy(m);
}

static void test_bad_input(void **state) {
  (void)state;
  eddy_cluster_t *m = (eddy_cluster_t *)1;
  const uint8_t junk[] = {0x0a, 0x40, 0x01}; /* a field longer than the bytes */
  assert_int_equal(eddy__decode_cluster(junk, sizeof junk, &m), EDDY_ERR_PROTOCOL);
  assert_null(m);
  /* an empty map is a valid (empty) answer */
  assert_int_equal(eddy__decode_cluster(junk, 0, &m), EDDY_OK);
  assert_int_equal(eddy_cluster_instance_count(m), 0);
  assert_int_equal(eddy_cluster_view_count(m), 0);
  eddy_cluster_destroy(m);
  eddy_cluster_destroy(NULL);
  assert_int_equal(eddy_cluster_instance_count(NULL), 0);
  assert_null(eddy_cluster_instance_url(NULL, 0));
  assert_int_equal(eddy_cluster(NULL, &m), EDDY_ERR_INVALID);
  const char *seed = "http://127.0.0.1:1";
  eddy_client_t *c = eddy_client_new(&seed, 1, NULL, NULL, 0);
  assert_non_null(c);
  assert_int_equal(eddy_cluster(c, NULL), EDDY_ERR_INVALID);
  assert_true(strlen(eddy_last_error(c)) > 0);
  eddy_client_destroy(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_instances),
      cmocka_unit_test(test_owners),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
