/* libeddy's copy of the partitioner (clients/murmur2.c) against the Java
 * client's murmur2 vectors (the same as tests/common/murmur2_test.c) and
 * against the server's own copy (common/murmur2.c) on many keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <string.h>

#include "clients/client_int.h"
#include "common/murmur2.h"

/* Java client's Utils.murmur2 tests, then librdkafka's java_murmur2_results. */
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
    uint32_t h = eddy__murmur2(vectors[i].key, strlen(vectors[i].key));
    if (h != vectors[i].hash)
      fail_msg("murmur2(\"%s\") = 0x%08x, want 0x%08x", vectors[i].key, h, vectors[i].hash);
  }
}

static void test_partition_for_key(void **state) {
  (void)state;
  static const int32_t counts[] = {1, 2, 3, 4, 6, 10, 12, 50, 256};
  for (size_t i = 0; i < NVEC; i++)
    for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
      int32_t want = (int32_t)((vectors[i].hash & 0x7fffffffu) % (uint32_t)counts[j]);
      assert_int_equal(eddy_partition_for_key(vectors[i].key, strlen(vectors[i].key), counts[j]),
                       want);
    }
  assert_int_equal(eddy_partition_for_key("kafka", 5, 10), 0);
  assert_int_equal(eddy_partition_for_key("kafka", 5, 7), 1348980580 % 7);
  /* no division by zero on a bad count */
  assert_int_equal(eddy_partition_for_key("kafka", 5, 0), 0);
}

/* Same answers as the server's partitioner on keys of every length and
 * alignment, binary bytes included. */
static void test_same_as_server(void **state) {
  (void)state;
  uint8_t buf[80];
  uint64_t s = 42;
  for (int n = 0; n < 5000; n++) {
    size_t len = (size_t)n % 64, off = (size_t)n % 8;
    for (size_t i = 0; i < len; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      buf[off + i] = (uint8_t)(s >> 56);
    }
    assert_int_equal(eddy__murmur2(buf + off, len), ed_murmur2(buf + off, len));
    int32_t parts = 1 + n % 97;
    assert_int_equal(eddy_partition_for_key(buf + off, len, parts),
                     ed_partition_for_key(buf + off, len, parts));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_partition_for_key),
      cmocka_unit_test(test_same_as_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
