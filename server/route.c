/* Routing of requests not served here (route.h).
 *
 * A routed request lives in its h2o request's pool (rq_t, disposed with
 * it). Each attempt reads the cached map, plans parts (one per instance;
 * the partitions running here are read at once), sends the remote parts
 * and, once all answered, merges. A part that finds no running owner, or
 * whose owner refuses (503) or does not answer, makes the request try again
 * ED_ROUTE_RETRY_MS later with a fresh map, until ED_ROUTE_HANDOVER_MS have
 * passed: then 503. So an answer never comes from an instance that lost
 * the partition (it refuses a forwarded request it no longer owns), and a
 * handover costs a short wait rather than an error when it is quick. */
#include "server/route.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "server/forward.h"
#include "server/members.h"

struct ed__route {
  ed__http_worker_t *w;
  ed_http_t *srv;
  ed__fwd_ctx_t *fwd;
  ed_cluster_t map;
  int have_map;
  uint64_t map_at; /* h2o_now() of the build */
  h2o_timeout_t retry_timer;
  h2o_linklist_t pending; /* rq_t not answered yet */
  ed_query_result_t *res; /* merged answers, reused */
  ed_buf_t out;
  int stopping;
};

typedef enum { RQ_KEY, RQ_ROWS, RQ_KEYS } rq_kind_t;

typedef struct rq rq_t;

/* One instance's part of a routed request. */
typedef struct {
  rq_t *q;
  char *id, *url; /* copied: the map may be rebuilt meanwhile */
  int local;      /* read here, no HTTP */
  int32_t *parts; /* scans: its partitions */
  size_t nparts;
  uint32_t *keys; /* multi-gets: indices of its keys */
  size_t nkeys;
  ed_buf_t target, body;
  ed__fwd_t fwd;
  int started;
  ed_query_result_t *res;
} part_t;

struct rq {
  ed__route_t *r;
  h2o_req_t *req;
  rq_kind_t kind;
  ed__route_req_t rr;
  const char *name;  /* the view's, borrowed from the engine */
  h2o_iovec_t query; /* the raw query string (no '?') */
  const h2o_iovec_t *accept;
  uint64_t deadline;
  h2o_timeout_entry_t timer;
  h2o_linklist_t link; /* in r->pending while not answered */
  int answered;
  int owner_failed;  /* KEY: the owner did not answer; a standby may (allow_stale) */
  int32_t partition; /* KEY; else the partition that was missing an owner */
  ed_query_scan_t scan;
  ed_query_keys_t keys;
  ed_query_key_opts_t opts;
  int32_t *key_part; /* KEYS: the partition of each key */
  part_t *parts;
  size_t nparts, waiting;
  char why[200]; /* what went wrong last, for the 503 */
};

/* ---- the map ---- */

const ed_cluster_t *ed__route_map(ed__route_t *r, int force) {
  uint64_t now = h2o_now(r->w->loop);
  if (r->have_map && !force && now - r->map_at < ED_ROUTE_MAP_TTL_MS) return &r->map;
  ed_cluster_t m;
  ed_cluster_init(&m);
  ed_cluster_self_t me = {.instance_id = r->srv->instance_id,
                          .advertised_url = r->srv->advertised_url};
  int rc = ed_cluster_snapshot(r->srv->engine, &me, &m);
  if (rc == ED_OK) rc = ed_members_add_to(r->srv->members, &m);
  if (rc != ED_OK) {
    ed_cluster_fini(&m);
    return r->have_map ? &r->map : NULL;
  }
  ed_cluster_fini(&r->map);
  r->map = m;
  r->have_map = 1;
  r->map_at = now;
  return &r->map;
}

/* ---- life cycle ---- */

static void on_retry(h2o_timeout_entry_t *entry);

ed__route_t *ed__route_create(ed__http_worker_t *w) {
  ed__route_t *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->w = w;
  r->srv = w->srv;
  ed_cluster_init(&r->map);
  ed_buf_init(&r->out);
  h2o_linklist_init_anchor(&r->pending);
  h2o_timeout_init(w->loop, &r->retry_timer, ED_ROUTE_RETRY_MS);
  r->fwd = ed__fwd_ctx_create(w);
  r->res = ed_query_result_create();
  if (r->fwd == NULL || r->res == NULL) {
    r->stopping = 1;
    ed__route_destroy(r);
    return NULL;
  }
  return r;
}

static void parts_free(rq_t *q) {
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    ed__fwd_fini(&pt->fwd);
    ed_query_result_destroy(pt->res);
    ed_buf_fini(&pt->target);
    ed_buf_fini(&pt->body);
    free(pt->id);
    free(pt->url);
    free(pt->parts);
    free(pt->keys);
  }
  free(q->parts);
  q->parts = NULL;
  q->nparts = q->waiting = 0;
}

/* The request's pool is being freed: answered, or the client went away. */
static void on_rq_dispose(void *p) {
  rq_t *q = p;
  parts_free(q);
  if (h2o_timeout_is_linked(&q->timer)) h2o_timeout_unlink(&q->timer);
  if (h2o_linklist_is_linked(&q->link)) h2o_linklist_unlink(&q->link);
  ed_query_keys_fini(&q->keys);
  free(q->key_part);
}

/* Marks @p q answered: nothing may touch it after the send. */
static void settle(rq_t *q) {
  q->answered = 1;
  parts_free(q);
  if (h2o_timeout_is_linked(&q->timer)) h2o_timeout_unlink(&q->timer);
  if (h2o_linklist_is_linked(&q->link)) h2o_linklist_unlink(&q->link);
}

void ed__route_stop(ed__route_t *r) {
  if (r == NULL) return;
  r->stopping = 1;
  while (!h2o_linklist_is_empty(&r->pending)) {
    rq_t *q = H2O_STRUCT_FROM_MEMBER(rq_t, link, r->pending.next);
    settle(q);
    ed__http_send_error(q->req, &r->out, 503, "unavailable", "the server is shutting down");
  }
}

void ed__route_destroy(ed__route_t *r) {
  if (r == NULL) return;
  ed__fwd_ctx_destroy(r->fwd);
  h2o_timeout_dispose(r->w->loop, &r->retry_timer);
  ed_cluster_fini(&r->map);
  ed_query_result_destroy(r->res);
  ed_buf_fini(&r->out);
  free(r);
}

/* ---- answers ---- */

void ed__route_served_here(h2o_req_t *req, const ed_http_t *srv) {
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT(ED_ROUTE_HDR_SERVED_BY), 0, NULL,
                        srv->instance_id, strlen(srv->instance_id));
}

static void add_header_copy(h2o_req_t *req, const char *name, size_t nlen, const char *v) {
  if (v[0] == '\0') return;
  h2o_iovec_t c = h2o_strdup(&req->pool, v, strlen(v));
  h2o_add_header_by_str(&req->pool, &req->res.headers, name, nlen, 0, NULL, c.base, c.len);
}

/* 503 naming the partition's state and what was tried. */
static void answer_unavailable(rq_t *q) {
  ed__route_t *r = q->r;
  char state[256];
  ed__route_describe(ed__route_map(r, 0), q->name, q->partition, state, sizeof state);
  settle(q);
  ed__route_served_here(q->req, r->srv);
  if (q->why[0])
    ed__http_send_error(q->req, &r->out, 503, "unavailable", "%s; %s (waited %d ms)", state, q->why,
                        ED_ROUTE_HANDOVER_MS);
  else
    ed__http_send_error(q->req, &r->out, 503, "unavailable", "%s (waited %d ms)", state,
                        ED_ROUTE_HANDOVER_MS);
}

/* Encodes @p res (it may be a part's: encoded before the parts go) in the
 * request's encoding and sends it. */
static void answer_result(rq_t *q, const ed_query_result_t *res, const char *served_by) {
  ed__route_t *r = q->r;
  ed_buf_reset(&r->out);
  int status = ed_query_result_status(res);
  int rc = ed_query_encode(res, q->rr.enc, &r->out);
  settle(q);
  if (rc != ED_OK || ed_buf_failed(&r->out)) {
    ed__http_send_error(q->req, &r->out, 500, "internal", "out of memory");
    return;
  }
  if (served_by != NULL) {
    h2o_iovec_t c = h2o_strdup(&q->req->pool, served_by, strlen(served_by));
    h2o_add_header_by_str(&q->req->pool, &q->req->res.headers, H2O_STRLIT(ED_ROUTE_HDR_SERVED_BY),
                          0, NULL, c.base, c.len);
  }
  ed__http_send(q->req, status, ed_query_content_type(q->rr.enc), r->out.data ? r->out.data : "",
                r->out.len);
}

/* Passes a peer's answer back as it came. */
static void answer_forwarded(rq_t *q, ed__fwd_t *f) {
  h2o_req_t *req = q->req;
  q->answered = 1;
  if (h2o_timeout_is_linked(&q->timer)) h2o_timeout_unlink(&q->timer);
  if (h2o_linklist_is_linked(&q->link)) h2o_linklist_unlink(&q->link);
  add_header_copy(req, H2O_STRLIT(ED_ROUTE_HDR_SERVED_BY), f->served_by);
  add_header_copy(req, H2O_STRLIT("eddy-stale"), f->stale);
  add_header_copy(req, H2O_STRLIT("eddy-standby-lag-records"), f->lag_records);
  add_header_copy(req, H2O_STRLIT("eddy-standby-lag-ms"), f->lag_ms);
  if (f->retry_after[0] && f->status != 503) /* ed__http_send adds it to a 503 */
    add_header_copy(req, H2O_STRLIT("retry-after"), f->retry_after);
  const char *ctype = f->ctype[0] ? f->ctype : ed_query_content_type(q->rr.enc);
  ed__http_send(req, f->status, ctype, f->body.data ? f->body.data : "", f->body.len);
  parts_free(q); /* the body was copied into the request's pool */
}

/* ---- retries ---- */

static void attempt(rq_t *q, int force);

/* Something was missing; try again soon with a fresh map, or give up. */
static void again(rq_t *q) {
  ed__route_t *r = q->r;
  parts_free(q);
  if (r->stopping || h2o_now(r->w->loop) + ED_ROUTE_RETRY_MS > q->deadline) {
    answer_unavailable(q);
    return;
  }
  h2o_timeout_link(r->w->loop, &r->retry_timer, &q->timer);
}

static void on_retry(h2o_timeout_entry_t *entry) {
  rq_t *q = H2O_STRUCT_FROM_MEMBER(rq_t, timer, entry);
  attempt(q, 1);
}

/* ---- parts ---- */

static part_t *plan_alloc(rq_t *q, size_t max) {
  if (max > ED_FWD_MAX_PEERS + 1) max = ED_FWD_MAX_PEERS + 1; /* pages[] in finish */
  q->parts = calloc(max ? max : 1, sizeof *q->parts);
  q->nparts = 0;
  return q->parts;
}

/* The part of instance @p in (self: local unless the request waits, which
 * goes through the peer's wait gate), added on first use. */
static part_t *part_of(rq_t *q, const ed_cluster_instance_t *in, int local) {
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    if (local ? pt->local : (!pt->local && pt->id != NULL && strcmp(pt->id, in->instance_id) == 0))
      return pt;
  }
  if (q->nparts == ED_FWD_MAX_PEERS + 1) return NULL;
  part_t *pt = &q->parts[q->nparts++];
  pt->q = q;
  pt->local = local;
  pt->id = strdup(local ? q->r->srv->instance_id : in->instance_id);
  pt->url = strdup(local ? "" : in->advertised_url);
  ed_buf_init(&pt->target);
  ed_buf_init(&pt->body);
  ed__fwd_init(&pt->fwd);
  pt->fwd.data = pt;
  pt->res = ed_query_result_create();
  return pt;
}

static void finish(rq_t *q);

static void on_part_answer(ed__fwd_t *f) {
  part_t *pt = f->data;
  rq_t *q = pt->q;
  if (q->kind == RQ_KEY) {
    if (f->status == 0 || f->status == 503) {
      snprintf(q->why, sizeof q->why, "instance %s %s", pt->id,
               f->status   ? "refused (503)"
               : f->errstr ? f->errstr
                           : "did not answer");
      q->owner_failed = 1;
      again(q);
      return;
    }
    answer_forwarded(q, f);
    return;
  }
  if (--q->waiting == 0) finish(q);
}

/* Starts the remote parts (targets set); then waits for them. */
static void send_parts(rq_t *q, const char *method) {
  ed__route_t *r = q->r;
  q->waiting = 1; /* until every part started: answers may come at once */
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    if (pt->local) continue;
    q->waiting++;
    h2o_iovec_t body =
        pt->body.len ? h2o_iovec_init(pt->body.data, pt->body.len) : h2o_iovec_init(NULL, 0);
    if (method[0] == 'P' && body.base == NULL) body = h2o_iovec_init("", 0);
    static const h2o_iovec_t pb = {(char *)"application/x-protobuf", 22};
    int rc = ed_buf_failed(&pt->target)
                 ? ED_ENOMEM
                 : ed__fwd_start(r->fwd, &pt->fwd, pt->url, pt->id, method,
                                 h2o_iovec_init(pt->target.data, pt->target.len), &pb,
                                 r->srv->instance_id, body, q->rr.has_wait, on_part_answer);
    if (rc != ED_OK) {
      pt->fwd.status = 0;
      pt->fwd.errstr =
          rc == ED_EINVAL ? "has an advertised_url that is not http://host:port" : ed_strerror(rc);
      q->waiting--;
    }
    pt->started = 1;
  }
  if (--q->waiting == 0) finish(q);
}

/* Every part answered: merge, or pass an error back, or try again. */
static void finish(rq_t *q) {
  ed__route_t *r = q->r;
  ed_query_result_t *pages[ED_FWD_MAX_PEERS + 1];
  char served[1024];
  size_t sl = 0;
  served[0] = '\0';
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    pages[i] = pt->res;
    if (!pt->local) {
      ed__fwd_t *f = &pt->fwd;
      if (f->status == 0 || f->status == 503) {
        snprintf(q->why, sizeof q->why, "instance %s %s", pt->id,
                 f->status   ? "refused (503)"
                 : f->errstr ? f->errstr
                             : "did not answer");
        again(q);
        return;
      }
      if (f->status != 200) { /* a 400, 404, 504, ...: the same for the whole request */
        answer_forwarded(q, f);
        return;
      }
      if (ed_query_result_import(pt->res, ed_view_def(q->rr.v), ed_view_kind(q->rr.v),
                                 q->kind == RQ_KEYS, f->body.data, f->body.len) != ED_OK) {
        snprintf(q->why, sizeof q->why, "instance %s sent an answer that does not decode", pt->id);
        again(q);
        return;
      }
    }
    int n = snprintf(served + sl, sizeof served - sl, "%s%s", sl ? "," : "", pt->id);
    if (n > 0 && (size_t)n < sizeof served - sl) sl += (size_t)n;
  }
  if (q->kind == RQ_ROWS) {
    size_t limit = q->scan.limit ? q->scan.limit : ED_QUERY_DEFAULT_LIMIT;
    ed_query_merge_pages(r->res, ed_view_kind(q->rr.v), pages, q->nparts, limit);
  } else {
    uint32_t *part_of_key = malloc((q->keys.n ? q->keys.n : 1) * sizeof *part_of_key);
    uint32_t *row_of_key = malloc((q->keys.n ? q->keys.n : 1) * sizeof *row_of_key);
    if (part_of_key == NULL || row_of_key == NULL) {
      ed_query_fail(r->res, 500, "internal", "out of memory");
    } else {
      for (size_t i = 0; i < q->nparts; i++)
        for (size_t j = 0; j < q->parts[i].nkeys; j++) {
          part_of_key[q->parts[i].keys[j]] = (uint32_t)i;
          row_of_key[q->parts[i].keys[j]] = (uint32_t)j;
        }
      ed_query_merge_multi(r->res, pages, q->nparts, part_of_key, row_of_key, q->keys.n);
    }
    free(part_of_key);
    free(row_of_key);
  }
  answer_result(q, r->res, served);
}

/* ---- planning ---- */

/* The running owner of partition @p p other than this instance, or NULL
 * (then q->partition names it). */
static const ed_cluster_instance_t *remote_owner(rq_t *q, const ed_cluster_t *map, int32_t p) {
  ed_cluster_state_t st;
  const ed_cluster_instance_t *o = map ? ed_cluster_owner(map, q->name, p, &st) : NULL;
  if (o != NULL && st == ED_CLUSTER_RUNNING && !o->self) return o;
  q->partition = p;
  if (o != NULL && o->self)
    snprintf(q->why, sizeof q->why, "this instance is taking it over");
  else
    q->why[0] = '\0';
  return NULL;
}

/* A standby holder of @p p other than this instance, or NULL. */
static const ed_cluster_instance_t *remote_standby(rq_t *q, const ed_cluster_t *map, int32_t p) {
  const ed_cluster_instance_t *sb[8];
  size_t n = map ? ed_cluster_standbys(map, q->name, p, sb, NULL, 8) : 0;
  for (size_t i = 0; i < n && i < 8; i++)
    if (!sb[i]->self) return sb[i];
  return NULL;
}

/* This instance's own part when the request waits for positions: through
 * its own URL, so the wait gate parks it like any forwarded part. */
static ed_cluster_instance_t *self_instance(const ed_cluster_t *map) {
  for (size_t i = 0; map && i < map->ninstances; i++)
    if (map->instances[i].self) return &map->instances[i];
  return NULL;
}

static void attempt_key(rq_t *q, const ed_cluster_t *map) {
  int32_t p = q->partition;
  const ed_cluster_instance_t *o = remote_owner(q, map, p);
  const ed_cluster_instance_t *to = o;
  if (q->rr.allow_stale && (o == NULL || q->owner_failed)) { /* owner absent or silent */
    const ed_cluster_instance_t *sb = remote_standby(q, map, p);
    if (sb != NULL) to = sb;
  }
  q->partition = p;
  if (to == NULL) {
    again(q);
    return;
  }
  if (plan_alloc(q, 1) == NULL) {
    again(q);
    return;
  }
  part_t *pt = part_of(q, to, 0);
  ed_buf_append(&pt->target, q->req->path.base, q->req->path.len);
  int rc = ed_buf_failed(&pt->target) || pt->id == NULL || pt->url == NULL
               ? ED_ENOMEM
               : ed__fwd_start(q->r->fwd, &pt->fwd, pt->url, pt->id, "GET",
                               h2o_iovec_init(pt->target.data, pt->target.len), q->accept,
                               q->r->srv->instance_id, h2o_iovec_init(NULL, 0), q->rr.has_wait,
                               on_part_answer);
  if (rc != ED_OK) {
    snprintf(q->why, sizeof q->why, "instance %s %s", to->instance_id,
             rc == ED_EINVAL ? "has an advertised_url that is not http://host:port"
                             : ed_strerror(rc));
    again(q);
  }
}

/* The target of a part: /v1/views/<view>/<what>?<subquery>. */
static void part_target(rq_t *q, part_t *pt, const char *what, int add_partitions) {
  ed_buf_printf(&pt->target, "/v1/views/%.*s/%s?", (int)q->rr.view_seg.len, q->rr.view_seg.base,
                what);
  ed__route_subquery(q->query.base, q->query.len, pt->parts, pt->nparts, add_partitions,
                     &pt->target);
}

/* The part of a multi-part request partition @p p goes to: read here when
 * @p local (unless a min_offset wait must park at an owner: then through
 * this instance's own URL), else at its owner. NULL after again(): no
 * owner yet, or out of memory. */
static part_t *part_for(rq_t *q, const ed_cluster_t *map, ed_cluster_instance_t *me, int32_t p,
                        int local) {
  const ed_cluster_instance_t *o = NULL;
  if (local && q->rr.has_wait) {
    o = me;
    local = 0;
  } else if (!local) {
    o = remote_owner(q, map, p);
  }
  part_t *pt = local || o ? part_of(q, o, local) : NULL;
  if (pt == NULL || pt->res == NULL) {
    again(q);
    return NULL;
  }
  return pt;
}

static void attempt_rows(rq_t *q, const ed_cluster_t *map) {
  int32_t n = ed_view_partition_count(q->rr.v);
  if (plan_alloc(q, (size_t)map->ninstances + 1) == NULL) {
    again(q);
    return;
  }
  ed_cluster_instance_t *me = self_instance(map);
  for (int32_t p = 0; p < n; p++) {
    part_t *pt = part_for(q, map, me, p, ed_view_store(q->rr.v, p) != NULL);
    if (pt == NULL) return;
    int32_t *np = realloc(pt->parts, (pt->nparts + 1) * sizeof *np);
    if (np == NULL) {
      again(q);
      return;
    }
    pt->parts = np;
    pt->parts[pt->nparts++] = p;
  }
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    if (!pt->local) {
      part_target(q, pt, "rows", 1);
      continue;
    }
    ed_query_scan_t s = q->scan;
    s.partitions = pt->parts;
    s.npartitions = pt->nparts;
    int st = ed_query_exec_rows(q->r->srv->engine, q->name, strlen(q->name), &s, pt->res);
    if (st == 503) { /* revoked just now */
      q->partition = pt->parts[0];
      snprintf(q->why, sizeof q->why, "this instance lost a partition meanwhile");
      again(q);
      return;
    }
    if (st != 200) { /* the same error wherever it is read */
      answer_result(q, pt->res, q->r->srv->instance_id);
      return;
    }
  }
  send_parts(q, "GET");
}

static void attempt_keys(rq_t *q, const ed_cluster_t *map) {
  if (plan_alloc(q, (size_t)map->ninstances + 1) == NULL) {
    again(q);
    return;
  }
  ed_cluster_instance_t *me = self_instance(map);
  for (size_t i = 0; i < q->keys.n; i++) {
    int32_t p = q->key_part[i];
    int local = ed_view_store(q->rr.v, p) != NULL ||
                (q->rr.allow_stale && ed_view_standby_store(q->rr.v, p) != NULL);
    part_t *pt = part_for(q, map, me, p, local);
    if (pt == NULL) return;
    uint32_t *nk = realloc(pt->keys, (pt->nkeys + 1) * sizeof *nk);
    if (nk == NULL) {
      again(q);
      return;
    }
    pt->keys = nk;
    pt->keys[pt->nkeys++] = (uint32_t)i;
    if (pt->nparts == 0 || pt->parts[pt->nparts - 1] != p) { /* for min_offset filtering */
      int32_t *np = realloc(pt->parts, (pt->nparts + 1) * sizeof *np);
      if (np == NULL) {
        again(q);
        return;
      }
      pt->parts = np;
      pt->parts[pt->nparts++] = p;
    }
  }
  for (size_t i = 0; i < q->nparts; i++) {
    part_t *pt = &q->parts[i];
    if (!pt->local) {
      part_target(q, pt, "keys", 0);
      ed_query_keys_encode_pb(&q->keys, pt->keys, pt->nkeys, &pt->body);
      continue;
    }
    ed_query_keys_t sub;
    ed_query_keys_init(&sub);
    for (size_t j = 0; j < pt->nkeys; j++) {
      size_t kl = 0;
      const char *k = ed_query_keys_at(&q->keys, pt->keys[j], &kl);
      ed_query_keys_add(&sub, k, kl);
    }
    int st =
        ed_query_exec_keys(q->r->srv->engine, q->name, strlen(q->name), &sub, &q->opts, pt->res);
    ed_query_keys_fini(&sub);
    if (st == 503) {
      q->partition = pt->parts[0];
      snprintf(q->why, sizeof q->why, "this instance lost a partition meanwhile");
      again(q);
      return;
    }
    if (st != 200) {
      answer_result(q, pt->res, q->r->srv->instance_id);
      return;
    }
  }
  send_parts(q, "POST");
}

static void attempt(rq_t *q, int force) {
  ed__route_t *r = q->r;
  if (r->stopping) {
    answer_unavailable(q);
    return;
  }
  const ed_cluster_t *map = ed__route_map(r, force);
  if (map == NULL) {
    snprintf(q->why, sizeof q->why, "no cluster map (out of memory)");
    again(q);
    return;
  }
  switch (q->kind) {
  case RQ_KEY: attempt_key(q, map); break;
  case RQ_ROWS: attempt_rows(q, map); break;
  case RQ_KEYS: attempt_keys(q, map); break;
  }
}

/* ---- entry points ---- */

static rq_t *rq_new(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr, rq_kind_t kind) {
  rq_t *q = h2o_mem_alloc_shared(&req->pool, sizeof *q, on_rq_dispose);
  memset(q, 0, sizeof *q);
  q->r = r;
  q->req = req;
  q->kind = kind;
  q->rr = *rr;
  q->name = ed_view_def(rr->v)->name;
  q->query = req->query_at != SIZE_MAX ? h2o_iovec_init(req->path.base + req->query_at + 1,
                                                        req->path.len - req->query_at - 1)
                                       : h2o_iovec_init("", 0);
  ssize_t ai = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
  q->accept = ai >= 0 ? &req->headers.entries[ai].value : NULL;
  q->deadline = h2o_now(r->w->loop) + ED_ROUTE_HANDOVER_MS;
  q->timer.cb = on_retry;
  ed_query_keys_init(&q->keys);
  h2o_linklist_insert(&r->pending, &q->link);
  return q;
}

void ed__route_key(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr, int32_t p) {
  rq_t *q = rq_new(r, req, rr, RQ_KEY);
  q->partition = p;
  attempt(q, 0);
}

void ed__route_rows(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr,
                    const ed_query_scan_t *scan) {
  rq_t *q = rq_new(r, req, rr, RQ_ROWS);
  q->scan = *scan;
  q->scan.partitions = NULL;
  q->scan.npartitions = 0;
  attempt(q, 0);
}

void ed__route_keys(ed__route_t *r, h2o_req_t *req, const ed__route_req_t *rr,
                    const ed_query_keys_t *keys, const ed_query_key_opts_t *opts) {
  rq_t *q = rq_new(r, req, rr, RQ_KEYS);
  q->opts = *opts;
  int32_t n = ed_view_partition_count(rr->v);
  q->key_part = malloc((keys->n ? keys->n : 1) * sizeof *q->key_part);
  int rc = q->key_part != NULL ? ED_OK : ED_ENOMEM;
  for (size_t i = 0; i < keys->n && rc == ED_OK; i++) {
    size_t kl = 0;
    const char *k = ed_query_keys_at(keys, i, &kl);
    rc = ed_query_keys_add(&q->keys, k, kl);
    q->key_part[i] = n > 0 ? ed_partition_for_key(k, kl, n) : 0;
  }
  if (rc != ED_OK) {
    settle(q);
    ed__http_send_error(req, &r->out, 500, "internal", "out of memory");
    return;
  }
  attempt(q, 0);
}

void ed__route_refuse(ed__route_t *r, h2o_req_t *req, ed_view_t *v, int32_t p) {
  char state[256];
  const char *name = ed_view_def(v)->name;
  ed__route_describe(ed__route_map(r, 0), name, p, state, sizeof state);
  ed__route_served_here(req, r->srv);
  ed__http_send_error(req, &r->out, 503, "unavailable",
                      "%s; instance %s does not serve it (a forwarded request is not forwarded "
                      "again)",
                      state, r->srv->instance_id);
}
