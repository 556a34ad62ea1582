/* The stream engine: one Kafka consumer group per view (<app>.<view>), one
 * task per assigned input partition, each task keeping its table in its own
 * LMDB store under data_dir/<view>/<partition>/.
 *
 * A task aggregates records in an in-memory record cache and commits every
 * commit_interval_ms: the changed rows and the next input offset go into one
 * LMDB transaction (store/store.h), so a restart resumes exactly where the
 * state left off: a kill -9 neither loses nor double-counts a record. Kafka's
 * group offsets are committed after the LMDB commit, for lag monitoring only.
 */
#ifndef ED_STREAMS_ENGINE_H
#define ED_STREAMS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "streams/view.h"

typedef struct ed_engine ed_engine_t;
typedef struct ed_view ed_view_t;

/* A librdkafka property, passed through as is. */
typedef struct {
  char *name;
  char *value;
} ed_kv_t;

typedef struct {
  const char *app;               /* consumer groups are <app>.<view> */
  const char *data_dir;          /* stores live in data_dir/<view>/<partition>/ */
  const char *bootstrap_servers; /* overrides any bootstrap.servers in kafka */
  int commit_interval_ms;        /* 0 = 100 */
  size_t cache_max_entries;      /* per task; 0 = 100,000; overflow commits early */
  const ed_kv_t *kafka;          /* borrowed for the create call */
  size_t nkafka;
  const ed_view_def_t *views;    /* borrowed: must outlive the engine */
  size_t nviews;
  ed_store_opts_t store_opts;
} ed_engine_conf_t;

/* Creates the engine: checks every view's source topic exists (waiting up to
 * a few seconds for metadata), learns partition counts. Nothing runs until
 * ed_engine_start(). On failure nothing is left to free and @p err says why. */
int ed_engine_create(const ed_engine_conf_t *conf, ed_engine_t **out, char *err, size_t errlen);

/* Starts one stream thread per view. */
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

typedef struct {
  uint64_t records_in;   /* records applied to state */
  uint64_t bad_records;  /* skipped: invalid JSON, missing/non-numeric field, null key */
  uint64_t commits;      /* LMDB commits */
  int32_t assigned;      /* partitions assigned now */
} ed_view_stats_t;

void ed_view_stats(const ed_view_t *v, ed_view_stats_t *out);

#endif
