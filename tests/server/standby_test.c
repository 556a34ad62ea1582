/* server/standby.c: standbys go where the range assignor moves a partition
 * when its owner leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "server/standby.h"

static void test_range_owner(void **state) {
  (void)state;
  uint8_t none[3] = {0, 0, 0};
  /* 6 partitions over 3 members: 0-1, 2-3, 4-5 */
  int want3[6] = {0, 0, 1, 1, 2, 2};
  for (int p = 0; p < 6; p++) assert_int_equal(ed_standby_range_owner(p, 6, none, 3), want3[p]);
  /* 7 over 3: the first gets the extra one: 0-2, 3-4, 5-6 */
  int want7[7] = {0, 0, 0, 1, 1, 2, 2};
  for (int p = 0; p < 7; p++) assert_int_equal(ed_standby_range_owner(p, 7, none, 3), want7[p]);
  /* member 1 gone: 0-2 to member 0, 3-5 to member 2 */
  uint8_t skip1[3] = {0, 1, 0};
  int want_skip[6] = {0, 0, 0, 2, 2, 2};
  for (int p = 0; p < 6; p++)
    assert_int_equal(ed_standby_range_owner(p, 6, skip1, 3), want_skip[p]);
  uint8_t all[2] = {1, 1};
  assert_int_equal(ed_standby_range_owner(0, 4, all, 2), -1);
  assert_int_equal(ed_standby_range_owner(4, 4, none, 2), -1);
}

/* Three instances whose member ids sort c, a, b (not their ids' order);
 * each owns its range of view "v" (6 partitions). */
static void build(ed_cluster_t *c, ed_cluster_partition_t parts[3][2]) {
  ed_cluster_init(c);
  assert_int_equal(ed_cluster_add_view(c, "v", 6), ED_OK);
  const char *ids[3] = {"a", "b", "c"};
  const char *members[3] = {"m-2", "m-3", "m-1"};
  /* range over sorted members m-1 (c), m-2 (a), m-3 (b): c 0-1, a 2-3, b 4-5 */
  int first[3] = {2, 4, 0};
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 2; k++)
      parts[i][k] = (ed_cluster_partition_t){.partition = first[i] + k,
                                             .state = ED_CLUSTER_RUNNING};
    ed_cluster_view_t v = {.view = "v", .member_id = (char *)members[i], .partitions = parts[i],
                           .npartitions = 2};
    ed_cluster_instance_t in = {.instance_id = (char *)ids[i], .advertised_url = "",
                                .views = &v, .nviews = 1};
    assert_int_equal(ed_cluster_add_instance(c, &in), ED_OK);
  }
}

static void test_plan(void **state) {
  (void)state;
  ed_cluster_t c;
  ed_cluster_partition_t parts[3][2];
  build(&c, parts);
  uint8_t want[6];
  /* c owns 0-1: without c, members m-2 (a) and m-3 (b) split 0-2 / 3-5,
   * so a keeps standbys of 0 and 1. a owns 2-3: without a, c gets 0-2 and
   * b 3-5: c keeps 2, b keeps 3. b owns 4-5: without b, a gets 3-5. */
  assert_int_equal(ed_standby_plan(&c, "v", 6, "a", 1, want), ED_OK);
  uint8_t wa[6] = {1, 1, 0, 0, 1, 1};
  assert_memory_equal(want, wa, 6);
  assert_int_equal(ed_standby_plan(&c, "v", 6, "b", 1, want), ED_OK);
  uint8_t wb[6] = {0, 0, 0, 1, 0, 0};
  assert_memory_equal(want, wb, 6);
  assert_int_equal(ed_standby_plan(&c, "v", 6, "c", 1, want), ED_OK);
  uint8_t wc[6] = {0, 0, 1, 0, 0, 0};
  assert_memory_equal(want, wc, 6);
  /* two replicas over three instances: every non-owner holds a copy */
  assert_int_equal(ed_standby_plan(&c, "v", 6, "b", 2, want), ED_OK);
  uint8_t wb2[6] = {1, 1, 1, 1, 0, 0};
  assert_memory_equal(want, wb2, 6);
  /* none asked, or an unknown view: nothing */
  assert_int_equal(ed_standby_plan(&c, "v", 6, "a", 0, want), ED_OK);
  uint8_t zero[6] = {0};
  assert_memory_equal(want, zero, 6);
  assert_int_equal(ed_standby_plan(&c, "w", 6, "a", 1, want), ED_OK);
  assert_memory_equal(want, zero, 6);
  ed_cluster_fini(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_range_owner),
      cmocka_unit_test(test_plan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
