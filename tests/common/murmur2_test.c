#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/murmur2.h"

/* Java client's Utils.murmur2 tests, then librdkafka's unittest_murmur2()
 * (java_murmur2_results), which are checked against the Java client. */
static const struct {
  const char *key;
  uint32_t hash;
} vectors[] = {
    {"21", (uint32_t)-973932308},
    {"foobar", (uint32_t)-790332482},
    {"a-little-bit-long-string", (uint32_t)-985981536},
    {"a-little-bit-longer-string", (uint32_t)-1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", (uint32_t)-58897971},
    {"abc", 479470107u},
    {"kafka", 0xd067cf64u},
    {"giberish123456789", 0x8f552b0cu},
    {"1234", 0x9fc97b14u},
    {"234", 0xe7c009cau},
    {"34", 0x873930dau},
    {"4", 0x5a4b5ca1u},
    {"PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1cu},
    {"reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377u},
    {"eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09eu},
    {"AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43fu},
    {"", 0x106e08d9u},
};

#define NVEC (sizeof vectors / sizeof vectors[0])

static void test_known_vectors(void **state) {
  (void)state;
  for (size_t i = 0; i < NVEC; i++) {
    uint32_t h = ed_murmur2(vectors[i].key, strlen(vectors[i].key));
    if (h != vectors[i].hash)
      fail_msg("murmur2(\"%s\") = 0x%08x, want 0x%08x", vectors[i].key, h, vectors[i].hash);
  }
}

/* The hash must not depend on the key's alignment in memory. */
static void test_unaligned(void **state) {
  (void)state;
  char buf[64];
  const char *key = "giberish123456789";
  size_t len = strlen(key);
  for (size_t off = 0; off < 8; off++) {
    memcpy(buf + off, key, len);
    assert_int_equal(ed_murmur2(buf + off, len), 0x8f552b0cu);
  }
}

/* Java's DefaultPartitioner: toPositive(murmur2(key)) % numPartitions. */
static void test_partition_for_key(void **state) {
  (void)state;
  static const int32_t counts[] = {1, 2, 3, 4, 6, 10, 12, 50, 256};
  for (size_t i = 0; i < NVEC; i++) {
    for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
      int32_t want = (int32_t)((vectors[i].hash & 0x7fffffffu) % (uint32_t)counts[j]);
      int32_t got = ed_partition_for_key(vectors[i].key, strlen(vectors[i].key), counts[j]);
      assert_int_equal(got, want);
    }
  }
  /* Worked out by hand: 0xd067cf64 & 0x7fffffff = 1348980580. */
  assert_int_equal(ed_partition_for_key("kafka", 5, 10), 0);
  assert_int_equal(ed_partition_for_key("kafka", 5, 7), 1348980580 % 7);
  /* A hash with the sign bit set still lands in range. */
  int32_t p = ed_partition_for_key("giberish123456789", 17, 3);
  assert_true(p >= 0 && p < 3);
  assert_int_equal(p, (int32_t)(0x0f552b0cu % 3));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_unaligned),
      cmocka_unit_test(test_partition_for_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
