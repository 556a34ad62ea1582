/* eddy's Processor API: processors wired into a topology (a DAG of
 * sources, processors and sinks, with state stores), run by the engine
 * (streams/engine.h) as one task per partition.
 *
 *   ed_topology_t *t;
 *   ed_topology_create("wordcount", &t);
 *   ed_topology_add_source(t, "lines", "text-lines", NULL, err, sizeof err);
 *   ed_topology_add_processor(t, "split", &split_fns, NULL, "lines", err, sizeof err);
 *   ed_topology_add_sink(t, "out", "words", "split", err, sizeof err);
 *
 * A processor's process() gets each record of its parents and may forward
 * records to its children (ed_pctx_forward), read and write the state stores
 * connected to it (ed_pctx_store), and schedule punctuations on stream time
 * or wall-clock time. Sinks produce to Kafka topics; a sink to a topic that a
 * source of the same topology reads splits the topology into sub-topologies
 * (a repartition boundary): records cross through Kafka, keyed and
 * partitioned by murmur2, and are processed by the tasks of the partition
 * their key hashes to.
 *
 * Tasks: every sub-topology runs as one task per partition of its source
 * topics (which must have equal partition counts). A task owns at most one
 * state store per sub-topology; its LMDB environment holds the store's rows
 * and the task's input offsets, committed together (exactly-once local
 * state). Tasks without a store commit their offsets to Kafka after their
 * sink records are delivered; records they produce carry their source
 * position in a header, so a downstream stateful task drops any record it
 * already applied (a repartitioned table stays exact across crashes).
 */
#ifndef ED_STREAMS_TOPOLOGY_H
#define ED_STREAMS_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "streams/view.h"

typedef struct ed_topology ed_topology_t;
typedef struct ed_pctx ed_pctx_t;
typedef struct ed_kvstore ed_kvstore_t;

/* A record flowing through a topology. Borrowed: valid during the call that
 * receives it. */
typedef struct {
  const void *key; /* NULL: no key */
  size_t key_len;
  const void *value; /* NULL: a tombstone */
  size_t value_len;
  int64_t timestamp; /* event time, epoch ms */
} ed_record_t;

typedef enum { ED_PUNCTUATE_STREAM_TIME = 0, ED_PUNCTUATE_WALL_CLOCK } ed_punctuate_type_t;

/* A processor. Only process is required. One instance (state) per task. */
typedef struct {
  /* Called when a task starts. @p arg is the one given to add_processor.
   * *state is passed to the other callbacks. Returns ED_OK or an error
   * (the task then does not start). */
  int (*init)(ed_pctx_t *ctx, void *arg, void **state);
  void (*process)(ed_pctx_t *ctx, void *state, const ed_record_t *rec);
  /* Called for schedules made with ed_pctx_schedule(); @p time is the
   * stream time or wall-clock time that triggered it. */
  void (*punctuate)(ed_pctx_t *ctx, void *state, ed_punctuate_type_t type, int64_t time);
  void (*close)(ed_pctx_t *ctx, void *state);
} ed_processor_fns_t;

/* Turns a source record's value into its event time (e.g. from a JSON
 * field). Returns ED_OK, or ED_EBADREC with a reason in @p why (the record is
 * then handled as bad, see ed_pctx_bad_record). */
typedef int (*ed_timestamp_fn)(void *arg, const ed_record_t *rec, int64_t *ts, char *why,
                               size_t whylen);

/* ---- building ---- */

/* Creates an empty topology named @p name (used in internal topic and
 * group names). Caller frees with ed_topology_destroy() unless handed to an
 * engine. */
int ed_topology_create(const char *name, ed_topology_t **out);
void ed_topology_destroy(ed_topology_t *t); /* NULL is a no-op */
const char *ed_topology_name(const ed_topology_t *t);

/* Adds a source reading @p topic. @p ts_fn (may be NULL: the Kafka record
 * timestamp) extracts event time; @p ts_arg is passed to it (borrowed for
 * the topology's lifetime). Node names are unique within a topology. */
int ed_topology_add_source(ed_topology_t *t, const char *name, const char *topic,
                           ed_timestamp_fn ts_fn, void *ts_arg, char *err, size_t errlen);

/* Adds a processor whose parent is node @p parent (more parents:
 * ed_topology_connect). @p fns is copied; @p arg is borrowed for the
 * topology's lifetime. */
int ed_topology_add_processor(ed_topology_t *t, const char *name, const ed_processor_fns_t *fns,
                              void *arg, const char *parent, char *err, size_t errlen);

/* Adds @p parent as another parent of @p child. */
int ed_topology_connect(ed_topology_t *t, const char *parent, const char *child, char *err,
                        size_t errlen);

/* Adds a sink producing every record it receives to @p topic, partitioned
 * by murmur2 of the key (the Java client's default). */
int ed_topology_add_sink(ed_topology_t *t, const char *name, const char *topic, const char *parent,
                         char *err, size_t errlen);

/* How a store's rows look to queries and to output topics. */
typedef enum {
  ED_STORE_KIND_KV = 0,   /* key -> row */
  ED_STORE_KIND_WINDOWED, /* (key, window start) -> row; keys by ed_wkey_encode() */
  ED_STORE_KIND_SESSION   /* (key, session start) -> row ending in the session end */
} ed_store_kind_t;

/* Renders a stored row as the JSON value of an output-topic record: @p key
 * is the store key (for windowed stores, ed_wkey_encode()d). */
typedef void (*ed_row_render_fn)(void *arg, const void *key, size_t klen, const void *row,
                                 size_t len, ed_buf_t *out);

typedef struct {
  const char *name;          /* the store's name; queries address it as a view */
  ed_store_kind_t kind;
  const ed_view_def_t *view; /* description for queries (/v1/views): columns, window, ...;
                                borrowed for the topology's lifetime */
  const char *changes_topic; /* optional: every committed row change is produced here
                                (key, rendered JSON; tombstone on delete) */
  ed_row_render_fn render;   /* renders rows for changes_topic (required with it) */
  void *render_arg;          /* borrowed for the topology's lifetime */
  uint64_t fingerprint;      /* of what shapes the state; stored with it: when it
                                differs at start, the state is dropped and rebuilt
                                from the earliest offsets. 0: not checked */
  int purge_expired;         /* purge rows whose expire_at <= stream time at commit */
} ed_store_def_t;

/* Adds a state store connected to processor @p processor. The definition
 * and its strings are copied (view: borrowed). */
int ed_topology_add_store(ed_topology_t *t, const ed_store_def_t *def, const char *processor,
                          char *err, size_t errlen);

/* ---- inside a processor (the task's thread) ---- */

/* Forwards @p rec to every child of the current processor. */
void ed_pctx_forward(ed_pctx_t *ctx, const ed_record_t *rec);

/* The store named @p name connected to the current processor, or NULL.
 * Look it up in init() and keep it. */
ed_kvstore_t *ed_pctx_store(ed_pctx_t *ctx, const char *name);

/* Schedules punctuate() every @p interval_ms of stream time or wall-clock
 * time. Returns ED_OK or ED_EINVAL. */
int ed_pctx_schedule(ed_pctx_t *ctx, ed_punctuate_type_t type, int64_t interval_ms);

/* The task's partition, stream time (highest event time seen, persisted with
 * the state; INT64_MIN before any record), and the source position of the
 * record being processed. */
int32_t ed_pctx_partition(const ed_pctx_t *ctx);
int64_t ed_pctx_stream_time(const ed_pctx_t *ctx);
const char *ed_pctx_topic(const ed_pctx_t *ctx);
int64_t ed_pctx_offset(const ed_pctx_t *ctx);

/* Reports that the current record is bad (skipped, dead-lettered, or the
 * task stops, per the topology's on_error policy; counted per reason).
 * @p reason is a short static category ("invalid json", "missing field");
 * @p detail (may be NULL) names the field or position. */
void ed_pctx_bad_record(ed_pctx_t *ctx, const char *reason, const char *detail);

/* Counts the current record as late (dropped by a window's grace rule). */
void ed_pctx_late_record(ed_pctx_t *ctx);

/* A per-task scratch arena, reset before each record. */
ed_buf_t *ed_pctx_scratch(ed_pctx_t *ctx);

/* ---- state stores (through the task's record cache) ---- */

/* Looks up @p key. On ED_OK *val and *vlen hold the row (borrowed: valid until
 * the next call on this store). Returns ED_OK or ED_ENOTFOUND. */
int ed_kvstore_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val, size_t *vlen);

/* Sets @p key to @p val (copied). @p expire_at (0: never) lets the store
 * purge the row once stream time reaches it (see store/store.h). Returns
 * ED_OK, ED_EINVAL (key over 511 bytes) or ED_ENOMEM. */
int ed_kvstore_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val, size_t vlen,
                   int64_t expire_at);

/* Deletes @p key; @p expire_at must be the one it was put with (or 0). */
int ed_kvstore_delete(ed_kvstore_t *s, const void *key, size_t klen, int64_t expire_at);

/* Memo entries: cached with the store's rows but never written to it (for
 * derived data such as a key's session list). They vanish when the cache is
 * emptied; a processor rebuilds them from committed rows (ed_kvstore_scan).
 * @p val NULL deletes. */
int ed_kvstore_memo_get(ed_kvstore_t *s, const void *key, size_t klen, const void **val,
                        size_t *vlen);
int ed_kvstore_memo_put(ed_kvstore_t *s, const void *key, size_t klen, const void *val, size_t vlen);

/* Calls @p fn for every COMMITTED row whose key starts with @p prefix, in
 * key order, until it returns nonzero. Rows changed since the last commit
 * are not seen: use it only to rebuild memo entries after a cache miss. */
int ed_kvstore_scan(ed_kvstore_t *s, const void *prefix, size_t plen,
                    int (*fn)(void *arg, const void *key, size_t klen, const void *val,
                              size_t vlen),
                    void *arg);

#endif
