/* libeddy's eddy_partition_for_key() (clients/murmur2.c, over the server's
 * common/murmur2.c compiled into the library) against the Java client's
 * murmur2 vectors and the server's partitioner on many keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <string.h>

#include "common/murmur2.h"
#include "eddy/client.h"

#include "tests/common/murmur2_vectors.h"

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
    int32_t parts = 1 + n % 97;
    assert_int_equal(eddy_partition_for_key(buf + off, len, parts),
                     ed_partition_for_key(buf + off, len, parts));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_partition_for_key),
      cmocka_unit_test(test_same_as_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
