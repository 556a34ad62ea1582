/* Known murmur2 values of the Java Kafka client, shared by the server's
 * partitioner test (tests/common/murmur2_test.c) and libeddy's
 * (tests/clients/partitioner_test.c). */
#ifndef ED_TESTS_MURMUR2_VECTORS_H
#define ED_TESTS_MURMUR2_VECTORS_H

#include <stddef.h>
#include <stdint.h>

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

#endif
