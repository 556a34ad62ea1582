/* The Java Kafka client's default partitioner: murmur2 over the key bytes,
 * sign bit masked, modulo the partition count. Tables line up with topics
 * written by any client that uses it (librdkafka: partitioner=murmur2_random). */
#ifndef ED_COMMON_MURMUR2_H
#define ED_COMMON_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

uint32_t ed_murmur2(const void *key, size_t len);

/* (murmur2(key) & 0x7fffffff) % partitions; partitions must be > 0. */
int32_t ed_partition_for_key(const void *key, size_t len, int32_t partitions);

#endif
