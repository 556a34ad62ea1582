/* The Java Kafka client's partitioner, the server's own (common/murmur2.c,
 * compiled into this library, its symbols hidden), so a key's partition is
 * computed here exactly as the server computes it. */
#include "common/murmur2.h"
#include "client_int.h"

int32_t eddy_partition_for_key(const void *key, size_t len, int32_t partitions) {
  if (partitions <= 0) return 0; /* no division by zero on a bad count */
  return ed_partition_for_key(key, len, partitions);
}
