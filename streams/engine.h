/* The stream engine: runs topologies (streams/topology.h), each with its own
 * Kafka consumer group and stream thread. A YAML view is one topology
 * (group <app>.<view>, built by ed_view_compile()).
 *
 * Every sub-topology runs as one task per partition. A stateful task keeps
 * its store in its own LMDB environment under data_dir/<store>/<partition>/
 * and aggregates in an in-memory record cache; every commit_interval_ms the
 * changed rows, the next input offsets and the stream time go into one LMDB
 * transaction (store/store.h), so a restart resumes exactly where the state
 * left off: a kill -9 neither loses nor double-counts a record. Kafka's
 * group offsets are committed after, for lag monitoring (and as the resume
 * point of stateless tasks).
 */
#ifndef ED_STREAMS_ENGINE_H
#define ED_STREAMS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/histogram.h"
#include "store/store.h"
#include "streams/topology.h"
#include "streams/view.h"

#define ED_ENGINE_MAX_TOPOLOGIES 64

typedef struct ed_engine ed_engine_t;
typedef struct ed_view ed_view_t;

typedef struct {
  const char *app;               /* prefix of YAML views' groups and internal topics */
  const char *data_dir;          /* stores live in data_dir/<store>/<partition>/ */
  const char *bootstrap_servers; /* overrides any bootstrap.servers in kafka */
  int commit_interval_ms;        /* 0 = 100 */
  /* processing.guarantee: exactly_once: each commit's changelog and output
   * records and the input offsets go in one Kafka transaction (transactional.id
   * "<group>.<instance_id>", so a restarted instance fences its old self). */
  int exactly_once;
  const char *instance_id;       /* required with exactly_once */
  size_t cache_max_entries;      /* per task; 0 = 100,000; overflow commits early */
  const ed_kv_t *kafka;          /* librdkafka properties for every client; copied */
  size_t nkafka;
  ed_store_opts_t store_opts;
} ed_engine_conf_t;

/* Creates an engine with no topologies. On failure nothing is left to free
 * and @p err says why. Caller frees with ed_engine_destroy(). */
int ed_engine_create(const ed_engine_conf_t *conf, ed_engine_t **out, char *err, size_t errlen);

typedef struct {
  const char *group;             /* consumer group; NULL: the topology's name */
  ed_on_error_t on_error;        /* what a bad record does (default skip) */
  const char *dead_letter_topic; /* NULL: <topology name>.dead_letter */
} ed_topology_opts_t;

/* Adds @p t (taking ownership of it on success; on failure the caller still
 * owns it): checks its source topics exist (waiting a few seconds for
 * metadata) with equal partition counts per sub-topology, and that internal
 * topics (written by its sinks and read by its sources) exist with the
 * needed partition count. @p opts may be NULL. Before ed_engine_start(). */
int ed_engine_add_topology(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                           char *err, size_t errlen);

/* Starts one stream thread per topology. */
int ed_engine_start(ed_engine_t *e, char *err, size_t errlen);

/* Stops the stream threads: each commits what it has processed, leaves its
 * group and closes its consumer. Safe to call twice. */
void ed_engine_stop(ed_engine_t *e);

/* Stops if needed and frees everything. NULL is a no-op. */
void ed_engine_destroy(ed_engine_t *e);

/* ---- views, for queries (any thread) ---- */

size_t ed_engine_view_count(const ed_engine_t *e);
ed_view_t *ed_engine_view_at(ed_engine_t *e, size_t i);
/* NULL if there is no such view. */
ed_view_t *ed_engine_find_view(ed_engine_t *e, const char *name, size_t len);

/* Borrowed: valid for the engine's lifetime. */
const ed_view_def_t *ed_view_def(const ed_view_t *v);
int32_t ed_view_partition_count(const ed_view_t *v);

/* The store of partition @p p when this instance owns the partition and its
 * task is running; NULL otherwise. Borrowed: stores stay open for the
 * engine's lifetime, so a pointer stays safe to read even if the partition
 * is revoked meanwhile. */
ed_store_t *ed_view_store(ed_view_t *v, int32_t p);

/* The kind of rows the view's store holds. */
ed_store_kind_t ed_view_kind(const ed_view_t *v);

typedef struct {
  uint64_t records_in;  /* records that entered the view's topology */
  uint64_t bad_records; /* skipped or dead-lettered */
  uint64_t late_records;
  uint64_t commits;     /* LMDB commits */
  int32_t assigned;     /* partitions of the store assigned here now */
} ed_view_stats_t;

void ed_view_stats(const ed_view_t *v, ed_view_stats_t *out);

/* Skipped records by reason ("invalid json", "missing field", ...): fills
 * up to @p max pairs, returns how many. Reasons are static strings. */
size_t ed_view_bad_reasons(const ed_view_t *v, const char **reasons, uint64_t *counts, size_t max);

/* The view's LMDB commit latencies (one observation per task commit). */
const ed_histogram_t *ed_view_commit_latency(const ed_view_t *v);

/* Where partition @p p of the view stands, as of its last commit here. */
typedef struct {
  int assigned;          /* owned by this instance and running */
  int64_t offset;        /* next input offset the committed state reflects; -1: none yet */
  int64_t stream_time;   /* INT64_MIN: none yet */
  int64_t high_watermark; /* the input partition's end as last seen; -1: unknown */
} ed_view_position_t;

/* Returns ED_OK, or ED_EINVAL for a partition out of range. */
int ed_view_position(const ed_view_t *v, int32_t p, ed_view_position_t *out);

/* For views fed through a repartition topic: how many records the steps
 * before it (running here) are behind their inputs' ends, at most; 0 when
 * there are none; -1 when not known yet. Refreshed every commit interval. */
int64_t ed_view_upstream_lag(const ed_view_t *v);

/* Called on a stream thread after each commit of a view's partition, with
 * the committed next input offset. Must be quick and thread-safe (e.g. wake
 * an event loop). */
typedef void (*ed_commit_fn)(void *arg, ed_view_t *v, int32_t partition, int64_t offset);

/* Registers a commit listener (up to 8), before ed_engine_start(). */
int ed_engine_on_commit(ed_engine_t *e, ed_commit_fn fn, void *arg);

/* ---- replicas: restoration and standbys (docs/scale-out.md) ---- */

typedef enum {
  ED_REPLICA_NONE = 0,  /* nothing of the partition here */
  ED_REPLICA_RESTORING, /* assigned here, restoring from the changelog */
  ED_REPLICA_ACTIVE,    /* assigned here and serving */
  ED_REPLICA_STANDBY,   /* not assigned here: a copy following the changelog */
} ed_replica_role_t;

typedef struct {
  ed_replica_role_t role;
  int64_t restored;         /* restoring: changelog records applied so far; -1: n/a */
  int64_t restore_total;    /* restoring: records to apply in all; -1: n/a */
  int64_t changelog_offset; /* next changelog offset the local state reflects; -1: none */
  int64_t changelog_end;    /* the changelog's end as last seen; -1: unknown */
  int64_t caught_up_ms;     /* wall-clock ms it was last at the changelog's end; -1: never */
} ed_view_replica_t;

/* Where this instance's copy of partition @p p stands. ED_OK or ED_EINVAL. */
int ed_view_replica(const ed_view_t *v, int32_t p, ed_view_replica_t *out);

/* The store of a standby copy of partition @p p kept here (a stale read:
 * see ed_view_replica() for how stale), or NULL. Borrowed like
 * ed_view_store(). */
ed_store_t *ed_view_standby_store(ed_view_t *v, int32_t p);

/* Which partitions of @p v this instance should keep standby copies of
 * (want[p] != 0, n = the view's partition count); the others stop being
 * followed. Partitions assigned here are never standbys. Any thread. */
int ed_view_set_standbys(ed_view_t *v, const uint8_t *want, int32_t n);

/* This instance's member id in the view's consumer group ("" before it
 * joined), copied into @p out. */
void ed_view_member_id(const ed_view_t *v, char *out, size_t cap);

#endif
