/* Routing (docs/scale-out.md, "Routing"): any instance answers any query.
 * A lookup of a partition not running here is forwarded to its owner (as
 * the cluster map names it), a range scan fans out one page request per
 * owning instance and merges the pages, a multi-get splits its keys by
 * owner. During a handover (no owner, owner restoring, owner refusing or
 * unreachable) the request re-checks the map for up to
 * ED_ROUTE_HANDOVER_MS, on a timer of the worker's loop, then gets a 503
 * naming the partition and its state.
 *
 * One ed__route_t per worker: its cached cluster map, its forwarding pools
 * (forward.h) and the requests in flight. Worker thread only. */
#ifndef ED_SERVER_ROUTE_H
#define ED_SERVER_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "query/query.h"
#include "server/cluster.h"
#include "server/http_int.h"

#define ED_ROUTE_MAP_TTL_MS 100   /* a cached map is rebuilt after this */
#define ED_ROUTE_HANDOVER_MS 1500 /* how long a request waits for an owner */
#define ED_ROUTE_RETRY_MS 100     /* between re-checks of the map */

/* Request headers between instances. */
#define ED_ROUTE_HDR_FORWARDED "eddy-forwarded" /* the origin's instance id */
#define ED_ROUTE_HDR_SERVED_BY "eddy-served-by" /* who answered (comma-separated) */

typedef struct ed__route ed__route_t;

/* Creates worker @p w's routing state (after its loop and context exist).
 * NULL: out of memory. */
ed__route_t *ed__route_create(ed__http_worker_t *w);

/* Answers every routed request still waiting 503 (shutting down) and
 * cancels their forwards. */
void ed__route_stop(ed__route_t *r);

/* Frees (after ed__route_stop). NULL: no-op. */
void ed__route_destroy(ed__route_t *r);

/* The worker's cluster map: this instance from the engine plus the others
 * from the members topic, rebuilt when older than ED_ROUTE_MAP_TTL_MS or
 * when @p force. Borrowed until the next call. NULL: none could be built. */
const ed_cluster_t *ed__route_map(ed__route_t *r, int force);

/* What a routed request carries over from the handler's parsing. */
typedef struct {
  ed_view_t *v;
  h2o_iovec_t view_seg; /* the view's path segment as sent (still encoded) */
  ed_query_enc_t enc;   /* of the answer */
  int allow_stale;
  int has_wait; /* min_offset given: peers may take up to timeout_ms */
} ed__route_req_t;

/* GET .../keys/{key} of partition @p p, not served here: forwards the
 * request as it came (path, query, Accept) to the owner, or to a standby
 * with allow_stale, or waits for one, or answers 503. */
void ed__route_key(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr, int32_t p);

/* GET .../rows over partitions not all served here: one page request per
 * owning instance (partitions=..., protobuf), local partitions read here,
 * pages merged (ed_query_merge_pages). @p scan's strings must live as long
 * as @p req (decoded into its pool). */
void ed__route_rows(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr,
                    const ed_query_scan_t *scan);

/* POST .../keys whose keys are not all served here: keys split by owner,
 * one MultiGetRequest per instance, answers put back in request order.
 * @p keys is copied. */
void ed__route_keys(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr,
                    const ed_query_keys_t *keys, const ed_query_key_opts_t *opts);

/* 503 for a forwarded request (it is never forwarded again) of partition
 * @p p of @p v, not served here: the message names the partition's state
 * in the map. */
void ed__route_refuse(ed__route_t *r, h2o_req_t *req, ed_view_t *v, int32_t p);

/* Adds eddy-served-by: <this instance> to an answer. */
void ed__route_served_here(h2o_req_t *req, const ed_http_t *srv);

/* ---- pure helpers (route_plan.c) ---- */

/* Describes partition @p p of @p view in @p map for a 503 into @p out:
 * "partition 3 of view 'counts' has no owner (rebalancing)", "... is
 * restoring on instance b (45%)", "... is owned by instance b" (running). */
void ed__route_describe(const ed_cluster_t *map, const char *view, int32_t p, char *out,
                        size_t cap);

/* Copies query string @p q (@p len bytes, no '?') into @p out for a part of
 * a routed request over partitions @p parts[0..n) (ascending): drops any
 * partitions= and the min_offset=<p>:<o> entries of other partitions, and
 * with @p add_partitions appends partitions=<list>. Returns ED_OK or
 * ED_ENOMEM. */
int ed__route_subquery(const char *q, size_t len, const int32_t *parts, size_t n,
                       int add_partitions, ed_buf_t *out);

/* Parses "0,2,5" (ascending, no duplicates, each < @p nparts) into
 * @p out (room for @p nparts). Returns the count, or -1. */
long ed__route_parse_partitions(const char *s, size_t len, int32_t nparts, int32_t *out);

#endif
