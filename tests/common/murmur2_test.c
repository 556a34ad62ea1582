#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/murmur2.h"

#include "tests/common/murmur2_vectors.h"

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
