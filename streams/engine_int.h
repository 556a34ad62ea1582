/* Engine internals shared by engine.c, runner.c and task.c. */
#ifndef ED_STREAMS_ENGINE_INT_H
#define ED_STREAMS_ENGINE_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/buf.h"
#include "common/log.h"
#include "streams/cache.h"
#include "streams/changelog.h"
#include "streams/engine.h"
#include "streams/topology_int.h"

typedef struct ed_runner ed_runner_t;
typedef struct ed_test_driver ed_test_driver_t;
typedef struct ed_task ed_task_t;

#define ED_MAX_SCHEDULES 8
#define ED_MAX_BAD_REASONS 16
/* Header on records a stateless task produces to an internal topic: the
 * source position they came from (1 byte source slot, 4 bytes partition,
 * 8 bytes offset, 4 bytes sequence number among the records produced for
 * that source record) and the topology's fingerprint (8 bytes), big-endian,
 * so the consuming task can drop duplicates and records of an older
 * definition. */
#define ED_SRC_HEADER "eddy.src"
#define ED_SRC_LEN 25
/* The duplicate filter orders positions as offset << 20 | sequence. */
#define ED_SRC_SEQ_BITS 20

/* A source record as tasks see it: from a Kafka message (runner.c) or
 * from a test driver (testdriver.c). Borrowed for one ed__task_process(). */
typedef struct {
  const char *topic;
  int32_t partition;
  int64_t offset;
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
  int64_t timestamp;
  const uint8_t *src; /* the ED_SRC_HEADER value, or NULL */
  size_t src_len;
} ed_inmsg_t;

struct ed_pctx {
  ed_task_t *task;
  int node;              /* the processor running now */
  const ed_inmsg_t *msg; /* the source record being processed */
  int slot;              /* its source slot */
  int bad;               /* the current record was reported bad */
  uint32_t seq;          /* records produced for it to internal topics so far */
};

struct ed_kvstore {
  ed_task_t *task;
  ed_cache_ref_t last_ref; /* cache entry of the last get (-1: none) */
  uint64_t last_gen;       /* the cache generation it belongs to */
};

/* Keys restored ahead of the resume point (streams/ahead.c): rows of an
 * incomplete commit, already holding records the task will read again. An
 * update to such a key from a record below its position is skipped. */
typedef struct {
  struct ed_ahead_slot *slots;
  size_t cap, n;
  ed_buf_t keys;                  /* key bytes */
  int64_t max[ED_TOPO_MAX_NODES]; /* highest position per source slot */
} ed_ahead_t;

typedef struct {
  int node;
  ed_punctuate_type_t type;
  int64_t interval;
  int64_t next;
} ed_schedule_t;

struct ed_task {
  ed_runner_t *r;
  int sub;
  int32_t partition;
  ed_subtopology_t *st;
  ed_store_t *store; /* NULL: stateless */
  ed_cache_t cache;
  ed_kvstore_t kv;
  ed_pctx_t ctx;
  void *states[ED_TOPO_MAX_NODES];
  int inited;
  int active;    /* assigned to this instance now */
  int stopped;   /* on_error: stop */
  int need_seek; /* a commit failed: rewind to the committed offsets */
  /* Per source slot (index into st->sources): next offset to apply and the
   * one last committed; -1: from the beginning (stateful) or the group's
   * committed offset (stateless). */
  int64_t next_offset[ED_TOPO_MAX_NODES];
  int64_t committed[ED_TOPO_MAX_NODES];
  /* Duplicate filter for internal sources: highest upstream offset applied
   * per (upstream slot, partition); [slot * nup + partition]. */
  int64_t *src_seen;
  uint8_t *src_dirty;
  size_t nsrc;
  int32_t nup;
  int64_t stream_time;
  int64_t committed_stream_time;
  ed_schedule_t schedules[ED_MAX_SCHEDULES];
  int nschedules;
  ed_store_read_t rd; /* snapshot for cache misses, open within one batch */
  int rd_open;
  ed_buf_t scratch; /* per-record arena for processors */
  ed_buf_t enc;     /* commit: expiry index keys, rendered rows */
  ed_store_put_t *puts;
  size_t puts_cap;
  ed_store_meta_put_t *metas;
  size_t metas_cap;
  char (*meta_names)[48];
  /* Changelog (NULL topic: none). */
  const char *changelog_topic;
  int64_t changelog_next;    /* next changelog offset the committed state reflects; -1: none */
  int64_t changelog_pending; /* after this commit's marker, from its delivery report; -1 */
  int64_t marker_failed;     /* the marker was not delivered */
  /* Restoring (assigned, catching up first) or standby (not assigned,
   * following): the changelog is read from restore_pos. */
  int restoring;
  int standby;
  int64_t restore_pos;   /* next changelog offset to apply */
  int64_t restore_start; /* where this restore began */
  int64_t restore_end;   /* the changelog's end when it began (restoring) / last seen */
  int64_t restore_t0_ms;
  int64_t restore_log_ms;   /* last progress line */
  int64_t restore_flush_ms; /* last LMDB commit of restored rows */
  int64_t restore_mark;     /* after the last marker applied (the meta "changelog" to write) */
  int64_t caught_up_ms;     /* wall clock when last at the changelog's end; -1 never */
  ed_buf_t rbuf;            /* restore batch: keys and values */
  struct ed_restore_put *rputs;
  size_t nrputs, rputs_cap;
  int rmarker; /* a marker is in the batch: its metas are in rmetas */
  ed_store_meta_put_t rmetas[64];
  char rmeta_names[64][48];
  size_t nrmetas;
  ed_ahead_t ahead;
  int64_t ahead_from; /* changelog offset to restore from while ahead keys remain */
};

typedef struct {
  const char *reason; /* static text from the processor */
  _Atomic uint64_t count;
} ed_bad_count_t;

struct ed_runner {
  ed_engine_t *engine;
  ed_topology_t *topo;
  ed_on_error_t on_error;
  char *group;
  char *dead_letter_topic;
  rd_kafka_t *consumer;
  rd_kafka_t *producer;
  int32_t nparts[ED_TOPO_MAX_SUBS];
  int internal[ED_TOPO_MAX_NODES];     /* source fed by a sink of this topology */
  ed_task_t **tasks[ED_TOPO_MAX_SUBS]; /* [sub][partition] */
  pthread_t thread;
  int thread_started;
  _Atomic uint64_t records_in;
  _Atomic uint64_t late;
  _Atomic uint64_t commits;
  ed_bad_count_t bad[ED_MAX_BAD_REASONS];
  _Atomic int nbad;
  ed_ratelimit_t bad_log;
  ed_histogram_t commit_latency;
  _Atomic int64_t upstream_lag; /* stateless tasks here: records behind; -1 unknown */
  int produce_failed;           /* a sink record failed delivery since the last commit */
  int in_txn;                   /* exactly_once: a transaction is open */
  int txn_fatal;                /* exactly_once: the producer was fenced or failed for good */
  char *changelog[ED_TOPO_MAX_STORES]; /* per store: its changelog topic; NULL: none */
  rd_kafka_t *restorer;        /* plain consumer of changelogs (restoring and standby tasks) */
  int restorer_dirty;          /* the set of changelog partitions to read changed */
  _Atomic int standby_changed; /* ed_view_set_standbys() was called */
  char member_id[256];
  pthread_mutex_t member_lock;
  ed_test_driver_t *driver; /* set: no Kafka; sinks go to the test driver */
};

typedef struct {
  _Atomic int64_t offset;
  _Atomic int64_t stream_time;
  _Atomic int64_t high;
} ed_view_pos_t;

/* Per partition: role, restored, restore total, changelog offset and end,
 * caught-up time (streams/replica.c). */
#define ED_REPLICA_FIELDS 6

/* A queryable store: one store of one topology, across its partitions. */
struct ed_view {
  ed_runner_t *runner;
  _Atomic(ed_store_t *) *standby_ready; /* [nparts]: standby copies stale reads may use */
  _Atomic uint8_t *standby_want;        /* [nparts]: set by ed_view_set_standbys() */
  _Atomic int64_t *replica;             /* [nparts * ED_REPLICA_FIELDS]: see replica.c */
  int store;                            /* index in the topology's stores */
  int sub;
  const ed_view_def_t *def;
  ed_view_def_t fallback_def; /* for stores added without a description */
  int32_t nparts;
  _Atomic(ed_store_t *) *ready; /* [nparts]: what queries may read */
  ed_view_pos_t *pos;           /* [nparts] */
  _Atomic int32_t assigned;
};

struct ed_engine {
  char *app;
  char *data_dir;
  char *bootstrap;
  int commit_interval_ms;
  int exactly_once;
  char *instance_id;
  size_t cache_max_entries;
  ed_store_opts_t store_opts;
  ed_kv_t *kafka;
  size_t nkafka;
  ed_runner_t *runners[ED_ENGINE_MAX_TOPOLOGIES];
  size_t nrunners;
  ed_view_t *views[ED_ENGINE_MAX_TOPOLOGIES * ED_TOPO_MAX_STORES];
  size_t nviews;
  int started;
  atomic_int stopping;
  struct {
    ed_commit_fn fn;
    void *arg;
  } listeners[8];
  int nlisteners;
};

/* engine.c: after a task of @p r committed (updates positions, calls the
 * commit listeners). */
void ed__engine_committed(ed_runner_t *r, ed_task_t *t, int64_t high);

/* runner.c */
int ed__runner_create(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                      ed_runner_t **out, char *err, size_t errlen);
/* With @p driver: no Kafka clients; every sub-topology has @p partitions. */
int ed__runner_create_ex(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                         ed_test_driver_t *driver, int32_t partitions, ed_runner_t **out, char *err,
                         size_t errlen);
int ed__runner_start(ed_runner_t *r, char *err, size_t errlen);
/* The slot of the source reading @p topic and its sub-topology, or -1. */
int ed__runner_find_source(const ed_runner_t *r, const char *topic, int *sub);

/* A client config: @p defaults, then the engine's kafka properties, then
 * @p fixed, then bootstrap.servers; eddy's log callback. NULL (with @p err)
 * on a bad property. */
rd_kafka_conf_t *ed__runner_client_conf(ed_engine_t *e, const char *const (*defaults)[2], size_t nd,
                                        const char *const (*fixed)[2], size_t nf, char *err,
                                        size_t errlen);

/* runner_rebalance.c: the consumer's rebalance callback (opaque: the runner). */
void ed__runner_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *parts, void *opaque);
/* Publishes which partitions queries may read (after assignment changes
 * and restores). */
void ed__runner_publish(ed_runner_t *r);
/* "eddy:<fingerprint hex>": the commit metadata of stateless tasks' offsets. */
void ed__runner_fingerprint_tag(const ed_runner_t *r, char *out, size_t cap);

/* runner_txn.c: exactly_once transactions. */
int ed__txn_init(ed_runner_t *r, char *err, size_t errlen);
void ed__txn_begin(ed_runner_t *r);
/* Sends the tasks' next offsets and commits the transaction; ED_OK, or
 * ED_EKAFKA after aborting it (everything since the last commit rewinds). */
int ed__txn_commit(ed_runner_t *r);
/* Aborts the open transaction, if any. */
void ed__txn_abort(ed_runner_t *r);

/* runner_commit.c: the commit protocol (produce changes, flush, LMDB
 * commits, group offsets; rewinds on failure), run every commit interval,
 * on revocation and at stop. */
void ed__runner_commit_all(ed_runner_t *r);
/* The active tasks' group offsets: next (@p next) or committed, stateless
 * ones tagged with the fingerprint. NULL: none. Caller destroys. */
rd_kafka_topic_partition_list_t *ed__runner_offsets(ed_runner_t *r, int next);
void ed__runner_join(ed_runner_t *r);
void ed__runner_destroy(ed_runner_t *r);
ed_view_t *ed__runner_view_of_store(ed_runner_t *r, int store);
void ed__runner_count_bad(ed_runner_t *r, const char *reason, const char *detail,
                          const ed_inmsg_t *m);
/* Produces to a sink topic (murmur2 partitioning), with optional headers
 * (taken over). Returns ED_OK or ED_EKAFKA. */
int ed__runner_produce(ed_runner_t *r, const char *topic, const void *key, size_t klen,
                       const void *val, size_t vlen, int64_t ts, rd_kafka_headers_t *hdrs);
/* The same to an explicit @p partition (RD_KAFKA_PARTITION_UA: murmur2),
 * with @p opaque for the delivery report; never to a test driver. */
int ed__runner_produce_to(ed_runner_t *r, const char *topic, int32_t partition, const void *key,
                          size_t klen, const void *val, size_t vlen, int64_t ts,
                          rd_kafka_headers_t *hdrs, void *opaque);

/* testdriver.c: a sink record produced under a test driver. */
int ed__driver_produce(ed_test_driver_t *d, const char *topic, const void *key, size_t klen,
                       const void *val, size_t vlen, int64_t ts, const uint8_t *src,
                       size_t src_len);

/* changelog.c */
/* Produces the changed rows and the commit marker of @p t to its changelog
 * (before the producer flush that precedes ed__task_commit). */
void ed__changelog_emit(ed_task_t *t);
/* Names every store's changelog and checks (or creates) the topics, with
 * @p partitions_of giving a topic's partition count (0: missing). */
int ed__changelog_setup(ed_runner_t *r, int32_t (*partitions_of)(rd_kafka_t *, const char *),
                        char *err, size_t errlen);
/* The marker's delivery report. */
void ed__changelog_delivered(ed_task_t *t, int64_t offset, int ok);
/* The value of the "changelog" meta the next commit writes. */
int64_t ed__changelog_checkpoint(const ed_task_t *t);

/* restore.c: restoring and standby tasks, on the runner's thread. */
int ed__restore_create(ed_runner_t *r, char *err, size_t errlen);
void ed__restore_destroy(ed_runner_t *r);
/* Decides, for a task just assigned, whether it restores first (returns 1:
 * the input partition stays paused until done) or serves at once. */
int ed__restore_begin(ed_task_t *t);
/* Applies what the restorer fetched; finishes restores; follows standbys.
 * Returns 1 while some task is still restoring. */
int ed__restore_step(ed_runner_t *r, int wait_ms);
/* Stops following @p t's changelog (revoked or standby dropped). */
void ed__restore_stop(ed_task_t *t);
/* Publishes a task's replica state for queries. */
void ed__replica_publish(ed_task_t *t);

/* ahead.c */
void ed__ahead_init(ed_ahead_t *a);
void ed__ahead_fini(ed_ahead_t *a);
void ed__ahead_clear(ed_ahead_t *a);
int ed__ahead_put(ed_ahead_t *a, const void *key, size_t klen, const int64_t *pos, int npos);
/* 1 if the update of @p key by the record at (@p slot, @p offset) must be
 * skipped: the restored row already holds it. */
int ed__ahead_skip(const ed_ahead_t *a, const void *key, size_t klen, int slot, int64_t offset);

/* task.c */
/* Grows t->puts to hold @p n entries. ED_OK or ED_ENOMEM. */
int ed__task_reserve_puts(ed_task_t *t, size_t n);
/* Fills t->metas with what a commit stores besides rows; returns how many. */
size_t ed__task_collect_metas(ed_task_t *t);
int ed__task_create(ed_runner_t *r, int sub, int32_t partition, ed_task_t **out, char *err,
                    size_t errlen);
void ed__task_destroy(ed_task_t *t);
/* Re-reads stored offsets, empties the cache, (re)initialises processors. */
int ed__task_reset(ed_task_t *t, char *err, size_t errlen);
/* The slot in st->sources of source node for @p topic, or -1. */
int ed__task_slot(const ed_task_t *t, const char *topic);
void ed__task_process(ed_task_t *t, int slot, const ed_inmsg_t *m);
void ed__task_wall_clock(ed_task_t *t, int64_t now);
void ed__task_end_batch(ed_task_t *t);
int ed__task_should_commit_early(const ed_task_t *t);
/* Produces the output-topic rows of the uncommitted changes (before the
 * producer flush that precedes ed__task_commit). */
void ed__task_emit_changes(ed_task_t *t);
int ed__task_commit(ed_task_t *t, char *err, size_t errlen);
int ed__task_has_changes(const ed_task_t *t);
void ed__task_close_processors(ed_task_t *t);

#endif
