/* The view compiler: turns a view definition (YAML) into a topology built
 * with the DSL (streams/dsl.h), the same API an embedding program uses:
 *
 *   stream(from, timestamp) -> filter(where) -> [select_key(key) ->
 *   repartition] -> group -> [window] -> aggregate(columns) -> [to]
 *
 * The topology is named <app>.<view>; its consumer group too, its internal
 * topic is <app>.<view>.repartition and its store is named <view>. */
#ifndef ED_STREAMS_COMPILE_H
#define ED_STREAMS_COMPILE_H

#include <stddef.h>

#include "streams/topology.h"
#include "streams/view.h"

/* Compiles @p def (borrowed: must outlive the topology). On failure
 * returns ED_EINVAL (or ED_ENOMEM) with the problem in @p err. */
int ed_view_compile(const ed_view_def_t *def, const char *app, ed_topology_t **out, char *err,
                    size_t errlen);

/* Every topic the compiled view reads or writes besides its source, with
 * the partition count it needs (0: any): the repartition topic (same
 * partitions as the source), the changelog (the same), the output topic
 * and the dead-letter topic.
 * Writes up to @p max names into @p topics (each of capacity 512). Used to
 * create them in a development Kafka. Returns how many. */
size_t ed_view_internal_topics(const ed_view_def_t *def, const char *app, char (*topics)[512],
                               size_t max);

/* Parses an ISO 8601 timestamp ("2024-05-01T12:00:00Z", optional fraction
 * of a second and a +hh:mm / -hh:mm offset; a date alone is midnight UTC)
 * into epoch ms. Returns ED_OK or ED_EINVAL. */
int ed_iso8601_parse(const char *s, size_t len, int64_t *ms);

#endif
