/* The members topic (docs/scale-out.md, "Ownership map"): how every
 * instance learns which instance holds which partitions.
 *
 * Topic `<app>.members` (partition 0 is used). Each `eddy serve` runs one
 * members thread that
 *  - publishes this instance's record (key: instance id; value: a protobuf
 *    ClusterMap holding just this instance, as ed_cluster_snapshot() builds
 *    it; headers "ts" = wall-clock ms of the publish, "since" = wall-clock
 *    ms of its last assignment change) whenever its assignment changes
 *    (checked every 200 ms) and at least every heartbeat (2 s), and a
 *    tombstone (null value) when it leaves;
 *  - reads the whole partition from the beginning with a plain assigned
 *    consumer (never subscribed) and keeps the latest record per other
 *    instance, dropping tombstoned ones and those whose "ts" is older than
 *    the expiry (10 s).
 *
 * With standby_replicas > 0 the thread also decides, from the map, which
 * partitions this instance keeps standbys of (server/standby.h) and tells
 * the engine (ed_view_set_standbys()).
 *
 * ed_members_add_to() adds the live other instances to a cluster map (for
 * GET /v1/cluster), the most recent assignment change first, so that
 * ed_cluster_owner() prefers the newest claim during a rebalance. */
#ifndef ED_SERVER_MEMBERS_H
#define ED_SERVER_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "server/cluster.h"
#include "streams/engine.h"
#include "streams/view.h"

typedef struct ed_members ed_members_t;

typedef struct {
  const char *app;       /* topic "<app>.members" */
  const char *bootstrap; /* bootstrap.servers */
  const ed_kv_t *kafka;  /* librdkafka properties (as the engine gets them) */
  size_t nkafka;
  ed_engine_t *engine;        /* borrowed; must outlive ed_members_stop() */
  const char *instance_id;    /* this instance; copied */
  const char *advertised_url; /* copied; NULL: "" */
  int heartbeat_ms;           /* 0: 2000 */
  int expiry_ms;              /* 0: 10000 */
  int standby_replicas;       /* num_standby_replicas: placed by server/standby.h */
} ed_members_conf_t;

/* Creates the clients and starts the thread. */
int ed_members_start(const ed_members_conf_t *conf, ed_members_t **out, char *err, size_t errlen);

/* Adds a copy of every live instance other than this one to @p c, the most
 * recent assignment change first. Thread-safe. NULL @p m: adds nothing.
 * Returns ED_OK or ED_ENOMEM. */
int ed_members_add_to(ed_members_t *m, ed_cluster_t *c);

/* Stops the thread and publishes the tombstone (flushed, bounded wait).
 * The map stays readable (frozen) until ed_members_destroy(). NULL: no-op. */
void ed_members_stop(ed_members_t *m);

/* Stops if needed and frees. NULL: no-op. */
void ed_members_destroy(ed_members_t *m);

#endif
