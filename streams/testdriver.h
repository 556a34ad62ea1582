/* A test driver for topologies, in the spirit of Kafka Streams'
 * TopologyTestDriver: runs a topology's tasks in-process without Kafka, on
 * real LMDB stores, so processors, windows and aggregates can be tested
 * record by record with known answers.
 *
 * Records piped in are processed at once, in order. Records a sink
 * produces to an internal topic (a repartition topic the topology reads)
 * are processed right after, by the task of partition murmur2(key); records
 * for other topics (outputs, changes topics, dead letters) are captured.
 * Every topic has the same partition count. */
#ifndef ED_STREAMS_TESTDRIVER_H
#define ED_STREAMS_TESTDRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "streams/engine.h"
#include "streams/topology.h"

typedef struct ed_test_driver ed_test_driver_t;

/* Creates a driver for @p t (taking ownership of it on success) with state
 * under @p data_dir (stores in data_dir/<store>/<partition>/, as the engine
 * keeps them: a driver over existing state continues from its offsets).
 * @p opts may be NULL. */
int ed_test_driver_create(ed_topology_t *t, const char *data_dir, int32_t partitions,
                          const ed_topology_opts_t *opts, ed_test_driver_t **out, char *err,
                          size_t errlen);

/* Commits nothing: state not committed with ed_test_driver_commit() is
 * lost, as after a crash. NULL is a no-op. */
void ed_test_driver_destroy(ed_test_driver_t *d);

/* Pipes one record into source topic @p topic, in partition murmur2(key) %
 * partitions (partition 0 for a NULL key), at the next offset of that
 * partition. @p value NULL is a tombstone. Returns ED_OK or ED_EINVAL (no
 * source reads @p topic). */
int ed_test_driver_pipe(ed_test_driver_t *d, const char *topic, const void *key, size_t klen,
                        const void *value, size_t vlen, int64_t timestamp);

/* Commits every task (as the engine does every commit interval): output
 * records of changed rows are captured, then stores are committed. */
int ed_test_driver_commit(ed_test_driver_t *d, char *err, size_t errlen);

/* The store named @p store of partition @p p, for reading with
 * store/store.h (committed state only), or NULL if no task has it yet. */
ed_store_t *ed_test_driver_store(ed_test_driver_t *d, const char *store, int32_t p);

/* The partition a key goes to. */
int32_t ed_test_driver_partition(const ed_test_driver_t *d, const void *key, size_t klen);

/* Records produced to non-internal topics, in order. Borrowed: valid until
 * the driver is destroyed. */
typedef struct {
  const char *topic;
  const void *key;
  size_t key_len;
  const void *value; /* NULL: a tombstone */
  size_t value_len;
  int64_t timestamp;
} ed_test_record_t;

size_t ed_test_driver_output_count(const ed_test_driver_t *d);
const ed_test_record_t *ed_test_driver_output(const ed_test_driver_t *d, size_t i);

typedef struct {
  uint64_t records_in;
  uint64_t bad_records;
  uint64_t late_records;
} ed_test_driver_stats_t;

void ed_test_driver_stats(const ed_test_driver_t *d, ed_test_driver_stats_t *out);

#endif
