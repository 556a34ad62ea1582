/* The Java Kafka client's partitioner, as in common/murmur2.c (copied: the
 * installed library links no internal library). Kafka's Utils.murmur2: seed
 * 0x9747b28c, m 0x5bd1e995, r 24, little-endian 4-byte blocks, tail bytes in
 * the Java switch order. tests/clients/partitioner_test.c checks both copies
 * against the same vectors. */
#include "client_int.h"

uint32_t eddy__murmur2(const void *key, size_t len) {
  const uint32_t seed = 0x9747b28cu, m = 0x5bd1e995u;
  const uint8_t *data = key;
  uint32_t h = seed ^ (uint32_t)len;
  size_t nblocks = len / 4;
  for (size_t i = 0; i < nblocks; i++) {
    const uint8_t *b = data + i * 4;
    uint32_t k = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t *tail = data + nblocks * 4;
  switch (len & 3) {
  case 3:
    h ^= (uint32_t)tail[2] << 16;
    /* fall through */
  case 2:
    h ^= (uint32_t)tail[1] << 8;
    /* fall through */
  case 1:
    h ^= (uint32_t)tail[0];
    h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t eddy_partition_for_key(const void *key, size_t len, int32_t partitions) {
  if (partitions <= 0) return 0;
  return (int32_t)((eddy__murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}
