/* A small DSL over the Processor API (streams/topology.h), in the spirit of
 * Kafka Streams' StreamsBuilder:
 *
 *   ed_dsl_t *b;
 *   ed_dsl_create("shop.revenue", &b);
 *   ed_kstream_t *s = ed_dsl_stream(b, "orders", NULL, NULL);
 *   s = ed_kstream_filter(s, is_paid, NULL);
 *   s = ed_kstream_select_key(s, country_of, NULL);
 *   ed_kgrouped_t *g = ed_kstream_group_by_key(s);    // repartitions: the key changed
 *   ed_ktable_t *t = ed_kgrouped_count(g, "orders_per_country");
 *   ed_ktable_to(t, "orders-per-country");
 *   ed_topology_t *topo;
 *   ed_dsl_build(b, &topo, err, sizeof err);           // then ed_engine_add_topology()
 *
 * Every operation adds nodes to the builder's topology. Handles (streams,
 * grouped streams, tables) belong to the builder and live until
 * ed_dsl_destroy(). An operation on a NULL handle returns NULL, so a chain
 * can be checked once at the end: ed_dsl_build() reports the first error.
 */
#ifndef ED_STREAMS_DSL_H
#define ED_STREAMS_DSL_H

#include <stddef.h>

#include "common/buf.h"
#include "streams/topology.h"
#include "streams/window.h"

typedef struct ed_dsl ed_dsl_t;
typedef struct ed_kstream ed_kstream_t;
typedef struct ed_kgrouped ed_kgrouped_t;
typedef struct ed_ktable ed_ktable_t;

/* Returns 1 to keep the record, 0 to drop it. A bad record is reported with
 * ed_pctx_bad_record() (then the return value does not matter). */
typedef int (*ed_predicate_fn)(void *arg, ed_pctx_t *ctx, const ed_record_t *rec);

/* Sets @p out to the transformed record (it may point into @p rec, into the
 * ed_pctx_scratch() arena, or into @p arg). Returns 1 to forward it, 0 to
 * drop the record. */
typedef int (*ed_map_fn)(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, ed_record_t *out);

/* Sets the new key (may point into @p rec or the scratch arena). Returns 1
 * to forward, 0 to drop. */
typedef int (*ed_key_fn)(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void **key,
                         size_t *klen);

/* An aggregation over byte-string row states. */
typedef struct {
  /* Folds @p rec into the row: @p old is the current state (NULL: no row
   * yet). Writes the new state to @p out (reset before the call). Returns
   * ED_OK (store @p out), ED_ENOTFOUND (delete the row: a tombstone) or
   * ED_EBADREC (after reporting it with ed_pctx_bad_record()). */
  int (*apply)(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void *old, size_t oldlen,
               ed_buf_t *out);
  /* Session windows only: merges state @p b (the later session) into @p a,
   * writing the result to @p out. */
  int (*merge)(void *arg, const void *a, size_t alen, const void *b, size_t blen, ed_buf_t *out);
  /* For output topics (ed_ktable_to). */
  ed_row_render_fn render;
  void *arg; /* passed to all three; borrowed for the topology's lifetime */
} ed_aggregator_t;

/* Creates a builder for a topology named @p name (also the prefix of its
 * internal repartition topics: <name>.repartition). */
int ed_dsl_create(const char *name, ed_dsl_t **out);
/* Frees the builder and, unless built, its topology. NULL is a no-op. */
void ed_dsl_destroy(ed_dsl_t *b);

/* The stream of a topic. @p ts_fn / @p ts_arg: see ed_topology_add_source. */
ed_kstream_t *ed_dsl_stream(ed_dsl_t *b, const char *topic, ed_timestamp_fn ts_fn, void *ts_arg);

ed_kstream_t *ed_kstream_filter(ed_kstream_t *s, ed_predicate_fn pred, void *arg);
ed_kstream_t *ed_kstream_map(ed_kstream_t *s, ed_map_fn fn, void *arg);
ed_kstream_t *ed_kstream_select_key(ed_kstream_t *s, ed_key_fn fn, void *arg);
/* A custom processor (see ed_processor_fns_t); its forwards continue the stream. */
ed_kstream_t *ed_kstream_process(ed_kstream_t *s, const char *name, const ed_processor_fns_t *fns,
                                 void *arg);
/* Produces the stream to @p topic (murmur2 partitioning by key). */
void ed_kstream_to(ed_kstream_t *s, const char *topic);

/* Groups by the current key. When the key may have changed since the source
 * (map, select_key, a custom processor), records go through the internal
 * topic <name>.repartition first, so each key is aggregated by the task of
 * partition murmur2(key) % partitions. */
ed_kgrouped_t *ed_kstream_group_by_key(ed_kstream_t *s);
/* select_key + group_by_key. */
ed_kgrouped_t *ed_kstream_group_by(ed_kstream_t *s, ed_key_fn fn, void *arg);

/* Windows the grouping (tumbling, hopping or session; see streams/window.h).
 * @p spec is copied; it must pass ed_window_spec_check(). */
ed_kgrouped_t *ed_kgrouped_windowed_by(ed_kgrouped_t *g, const ed_window_spec_t *spec);

/* Aggregates into the store @p store (a view queries can read, described
 * by @p view, which may be NULL; borrowed). */
ed_ktable_t *ed_kgrouped_aggregate(ed_kgrouped_t *g, const char *store,
                                   const ed_aggregator_t *agg, const ed_view_def_t *view);
/* Counts records per key (a row is one INT column, see store/row.h). */
ed_ktable_t *ed_kgrouped_count(ed_kgrouped_t *g, const char *store);

/* Produces every committed change of the table to @p topic: key, the row
 * rendered as JSON by the aggregator, a tombstone on delete. */
void ed_ktable_to(ed_ktable_t *t, const char *topic);

/* Sets the fingerprint stored with the table's state (see ed_store_def_t). */
void ed_ktable_fingerprint(ed_ktable_t *t, uint64_t fingerprint);

/* Finishes the topology. On success *out is the topology (the caller owns it
 * now: hand it to ed_engine_add_topology or free it); the builder may then
 * only be destroyed. Returns the first error of any operation. */
int ed_dsl_build(ed_dsl_t *b, ed_topology_t **out, char *err, size_t errlen);

#endif
