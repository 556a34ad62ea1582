/* The cluster map: which instance holds which partition of which view, and
 * in what state (docs/scale-out.md, "Ownership map"), as GET /v1/cluster
 * shows it.
 *
 * An ed_cluster_t is a plain snapshot: a list of instances, each with the
 * partitions it holds per view, and the catalog of views (name and
 * partition count). Today it has one instance, the one answering, built
 * from the engine by ed_cluster_snapshot(); the members-topic reader will
 * add the other instances with ed_cluster_add_instance(). Owners per
 * partition are derived from the instances when encoding.
 *
 * A snapshot owns every string and array in it (copies), so it outlives
 * the engine state it was built from. Not thread-safe: one per request. */
#ifndef ED_SERVER_CLUSTER_H
#define ED_SERVER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "query/query.h"
#include "streams/engine.h"

typedef enum {
  ED_CLUSTER_UNASSIGNED = 0, /* no instance holds it (owners only) */
  ED_CLUSTER_RUNNING,        /* assigned and serving */
  ED_CLUSTER_RESTORING,      /* assigned, restoring from the changelog */
  ED_CLUSTER_STANDBY,        /* a hot copy following the changelog; not the owner */
} ed_cluster_state_t;

/* "unassigned", "running", "restoring", "standby". Static. */
const char *ed_cluster_state_name(ed_cluster_state_t s);

/* One partition an instance holds. */
typedef struct {
  int32_t partition;
  ed_cluster_state_t state;
  int64_t offset; /* next input offset the state reflects; -1: none yet */
  int64_t lag;    /* high watermark - offset; -1: not known yet */
  /* restoring: changelog records applied so far and to apply in all;
   * standby: records behind the changelog's end (restore_total - restored).
   * -1: not known. */
  int64_t restored;
  int64_t restore_total;
  int64_t lag_ms; /* standby: ms since it was last caught up; -1: not known */
} ed_cluster_partition_t;

/* The partitions of one view an instance holds, in partition order. */
typedef struct {
  char *view;                         /* owned */
  char *member_id;                    /* owned; the instance's member id in the view's group, "" if none */
  ed_cluster_partition_t *partitions; /* owned */
  size_t npartitions;
} ed_cluster_view_t;

typedef struct {
  char *instance_id;        /* owned */
  char *advertised_url;     /* owned */
  int self;                 /* 1: the instance that built the snapshot */
  ed_cluster_view_t *views; /* owned; only views it holds partitions of */
  size_t nviews;
} ed_cluster_instance_t;

/* A view of the catalog. */
typedef struct {
  char *name; /* owned */
  int32_t partitions;
} ed_cluster_catalog_t;

typedef struct {
  ed_cluster_instance_t *instances; /* the self instance first */
  size_t ninstances;
  ed_cluster_catalog_t *views; /* in the engine's (config) order */
  size_t nviews;
} ed_cluster_t;

/* This instance, as the config names it. Borrowed strings. */
typedef struct {
  const char *instance_id;
  const char *advertised_url;
} ed_cluster_self_t;

/* Caller-embedded: an empty map. */
void ed_cluster_init(ed_cluster_t *c);

/* Frees everything @p c holds and leaves it empty. */
void ed_cluster_fini(ed_cluster_t *c);

/* Fills @p out (initialized, empty) with the engine's views and this
 * instance (@p self) holding every partition assigned to it, from
 * ed_view_position(). Returns ED_OK or ED_ENOMEM (then ed_cluster_fini()
 * frees what was built). */
int ed_cluster_snapshot(ed_engine_t *e, const ed_cluster_self_t *self, ed_cluster_t *out);

/* Adds a copy of @p inst (deep: strings and arrays) to @p c. Returns ED_OK
 * or ED_ENOMEM (@p c unchanged). */
int ed_cluster_add_instance(ed_cluster_t *c, const ed_cluster_instance_t *inst);

/* Adds view @p name with @p partitions partitions to the catalog. Returns
 * ED_OK or ED_ENOMEM. */
int ed_cluster_add_view(ed_cluster_t *c, const char *name, int32_t partitions);

/* The owner of partition @p p of view @p view: the instance holding it
 * running or restoring (the first one listed if several claim it; standbys
 * never count), or NULL. *state (may be
 * NULL) gets its state, ED_CLUSTER_UNASSIGNED when there is none.
 * Borrowed from @p c. */
const ed_cluster_instance_t *ed_cluster_owner(const ed_cluster_t *c, const char *view, int32_t p,
                                              ed_cluster_state_t *state);

/* The instances holding a standby of partition @p p of @p view: fills up
 * to @p max pointers (borrowed from @p c) and their partition entries,
 * returns how many there are. */
size_t ed_cluster_standbys(const ed_cluster_t *c, const char *view, int32_t p,
                           const ed_cluster_instance_t **out, const ed_cluster_partition_t **parts,
                           size_t max);

/* Encodes @p c as the GET /v1/cluster answer (JSON, or the protobuf
 * ClusterMap) into @p out (appended). Returns ED_OK or ED_ENOMEM. */
int ed_cluster_encode(const ed_cluster_t *c, ed_query_enc_t enc, ed_buf_t *out);

#endif
