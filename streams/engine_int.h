/* Engine internals shared by engine.c and task.c. */
#ifndef ED_STREAMS_ENGINE_INT_H
#define ED_STREAMS_ENGINE_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/buf.h"
#include "common/log.h"
#include "streams/aggregate.h"
#include "streams/cache.h"
#include "streams/engine.h"

/* Why a record was skipped; counted per view. */
#define ED_BAD_REASONS(X)                   \
  X(NULL_KEY, "null key")                   \
  X(NULL_VALUE, "null value")               \
  X(INVALID_JSON, "invalid json")           \
  X(MISSING_FIELD, "missing field")         \
  X(NOT_A_NUMBER, "field is not a number")  \
  X(KEY_TOO_LONG, "key too long")

typedef enum {
#define ED__BAD_ENUM(name, text) ED_BAD_##name,
  ED_BAD_REASONS(ED__BAD_ENUM)
#undef ED__BAD_ENUM
  ED_BAD__COUNT
} ed_bad_reason_t;

/* A stream task: one input partition of one view, with its store. Lives
 * from its first assignment until the engine is destroyed. */
typedef struct {
  ed_view_t *view;
  int32_t partition;
  ed_store_t *store;     /* owned; open for the task's lifetime */
  ed_cache_t cache;
  int64_t next_offset;   /* next input offset to apply; -1 = start from the beginning */
  int64_t committed;     /* next_offset as of the last LMDB commit */
  int active;            /* assigned to this instance now */
  int need_seek;         /* a commit failed: rewind the partition to committed */
  ed_store_read_t rd;    /* snapshot for cache misses, open within one batch */
  int rd_open;
  ed_buf_t enc;          /* encoded rows of one commit */
  ed_store_put_t *puts;  /* one commit's row changes */
  size_t puts_cap;
} ed_task_t;

struct ed_view {
  ed_engine_t *engine;
  const ed_view_def_t *def;
  ed_agg_plan_t plan;
  int32_t nparts;
  rd_kafka_t *rk;          /* the view's consumer, group <app>.<view> */
  pthread_t thread;
  int thread_started;
  ed_task_t **tasks;       /* [nparts] */
  _Atomic(ed_store_t *) *ready; /* [nparts]: what queries may read */
  _Atomic uint64_t records_in;
  _Atomic uint64_t commits;
  _Atomic uint64_t bad[ED_BAD__COUNT];
  _Atomic int32_t assigned;
  ed_ratelimit_t bad_log;
};

struct ed_engine {
  char *app;
  char *data_dir;
  int commit_interval_ms;
  size_t cache_max_entries;
  ed_store_opts_t store_opts;
  ed_view_t *views;
  size_t nviews;
  atomic_int stopping;
};

/* task.c */
int ed__task_create(ed_view_t *v, int32_t partition, ed_task_t **out, char *err, size_t errlen);
void ed__task_destroy(ed_task_t *t);
/* Re-reads the stored offset and empties the cache (on assignment). */
int ed__task_reset(ed_task_t *t);
/* Applies one record (a message with no error). */
void ed__task_process(ed_task_t *t, const rd_kafka_message_t *m);
/* Ends the batch's read snapshot; call before any commit. */
void ed__task_end_batch(ed_task_t *t);
/* Commits dirty rows and the offset in one LMDB transaction. On failure the
 * uncommitted changes are dropped and next_offset goes back to the committed
 * one, so the caller must seek the partition there. */
int ed__task_commit(ed_task_t *t, char *err, size_t errlen);
static inline int ed__task_has_changes(const ed_task_t *t) { return t->next_offset != t->committed; }

/* engine.c */
void ed__view_count_bad(ed_view_t *v, ed_bad_reason_t why, const rd_kafka_message_t *m,
                        const char *detail);

#endif
