/* The /v1 views API:
 *   GET  /v1/views                                 the view definitions
 *   GET  /v1/views/{view}/keys/{key}[?from=&to=]   one key's row, or its windows
 *   GET  /v1/views/{view}/rows?from=&to=&limit=&cursor=&window_from=&window_to=
 *                                                  one page of a range scan
 *   POST /v1/views/{view}/keys[?from=&to=]         many keys (body: a JSON array
 *                                                  of strings or a MultiGetRequest)
 * Answers are JSON, or protobuf (proto/eddy.proto) when the request's Accept
 * lists application/x-protobuf; errors too. Path segments and query
 * parameter values are percent-decoded (%XX; '+' stays '+'). Unknown query
 * parameters are ignored (min_offset and timeout_ms belong to the gate in
 * wait.c, which runs first). This file only parses HTTP: the query module
 * executes and encodes, and route.c answers what is not served here.
 *
 * Routing: a request is answered here when this instance runs every
 * partition it reads (no allocation, no map); else it goes to route.c,
 * unless it was forwarded by another instance (header eddy-forwarded), which
 * is answered here or refused with 503, never forwarded again. Every answer
 * names the instance(s) whose state answered in eddy-served-by. Extra query
 * parameters: allow_stale=true (a lookup may read a standby copy; the
 * answer says so with eddy-stale and its lag) and, between instances,
 * partitions=0,2,5 (a scan of those partitions only). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "common/timeutil.h"
#include "query/query.h"
#include "server/http_int.h"
#include "server/route.h"

/* The handler: one per worker, so its buffers are never shared. */
typedef struct {
  h2o_handler_t super;
  ed__http_worker_t *w;   /* its worker */
  ed_engine_t *engine;    /* borrowed */
  ed_buf_t out;           /* the encoded answer, reused */
  ed_query_result_t *res; /* reused; NULL if its creation failed */
  ed_query_keys_t keys;   /* multi-get keys, reused */
} views_handler_t;

/* One request's context. */
typedef struct {
  views_handler_t *h;
  h2o_req_t *req;
  ed_query_enc_t enc;
} rq_t;

static void send_body(rq_t *q, int status) {
  static const char oom_json[] =
      "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
  ed_buf_t *b = &q->h->out;
  ed__route_served_here(q->req, q->h->w->srv);
  if (ed_buf_failed(b) || b->data == NULL) {
    ed__http_send(q->req, 500, "application/json", oom_json, sizeof oom_json - 1);
    return;
  }
  ed__http_send(q->req, status, ed_query_content_type(q->enc), b->data, b->len);
}

/* Sends an error in the request's encoding. */
static void send_error(rq_t *q, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void send_error(rq_t *q, int status, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
  ed_buf_reset(&q->h->out);
  ed_query_error_encode(&q->h->out, q->enc, status, code, msg, (size_t)n);
  send_body(q, status);
}

/* Encodes and sends the handler's result. */
static void send_result(rq_t *q) {
  ed_buf_reset(&q->h->out);
  int status = ed_query_result_status(q->h->res);
  if (ed_query_encode(q->h->res, q->enc, &q->h->out) != 0) status = 500;
  send_body(q, status);
}

static void send_not_found(rq_t *q) {
  h2o_iovec_t path = ed__http_path(q->req);
  int n = path.len > 200 ? 200 : (int)path.len;
  send_error(q, 404, "not_found", "no such endpoint: %.*s %.*s%s", (int)q->req->method.len,
             q->req->method.base, n, path.base, (size_t)n < path.len ? "..." : "");
}

static void send_not_allowed(rq_t *q, const char *allow) {
  h2o_iovec_t path = ed__http_path(q->req);
  int n = path.len > 200 ? 200 : (int)path.len;
  h2o_add_header(&q->req->pool, &q->req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
  send_error(q, 405, "method_not_allowed", "method %.*s is not allowed on %.*s%s; use %s",
             (int)q->req->method.len, q->req->method.base, n, path.base,
             (size_t)n < path.len ? "..." : "", allow);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes @p len bytes of @p s into @p out (room for @p len bytes). Returns
 * the decoded length, or -1 with *bad_at the offset of a malformed escape. */
static long pct_decode(const char *s, size_t len, char *out, size_t *bad_at) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
    int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *bad_at = i;
      return -1;
    }
    out[o++] = (char)(hi << 4 | lo);
    i += 2;
  }
  return (long)o;
}

/* Decodes one path segment or query value (@p what names it in errors:
 * "key segment") into the request pool; on a malformed escape sends 400
 * and returns 0. */
static int decode_segment(rq_t *q, const char *what, const char *s, size_t len, h2o_iovec_t *out) {
  char *dst = h2o_mem_alloc_pool(&q->req->pool, len + 1);
  size_t bad_at = 0;
  long n = pct_decode(s, len, dst, &bad_at);
  if (n < 0) {
    size_t show = len - bad_at < 3 ? len - bad_at : 3;
    send_error(q, 400, "bad_request",
               "malformed percent-escape '%.*s' at byte %zu of the %s: expected %%XX with two "
               "hex digits",
               (int)show, s + bad_at, bad_at, what);
    return 0;
  }
  dst[n] = '\0';
  *out = h2o_iovec_init(dst, (size_t)n);
  return 1;
}

/* Parses a whole decimal integer (optional sign, digits only). */
static int parse_i64(const char *s, size_t len, int64_t *out) {
  char buf[32];
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
  if (i == len) return 0;
  for (size_t j = i; j < len; j++)
    if (buf[j] < '0' || buf[j] > '9') return 0;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(buf, &end, 10);
  if (errno != 0 || end != buf + len) return 0;
  *out = (int64_t)v;
  return 1;
}

/* ---- query parameters ---- */

typedef enum { P_INT, P_TEXT } ptype_t;

/* One parameter an endpoint takes. */
typedef struct {
  const char *name;
  ptype_t type;
  const char *what; /* P_INT: what the integer is, for the error message */
  int seen;
  int64_t i;     /* P_INT */
  h2o_iovec_t s; /* P_TEXT, decoded into the request pool */
} param_t;

/* Reads the parameters of @p ps from the query string. On a bad one sends
 * 400 naming it and returns 0. */
static int parse_params(rq_t *q, param_t *ps, size_t n) {
  h2o_req_t *req = q->req;
  if (req->query_at == SIZE_MAX) return 1;
  const char *p = req->path.base + req->query_at + 1;
  const char *end = req->path.base + req->path.len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *name = p, *val = eq ? eq + 1 : pe;
    size_t name_len = (size_t)((eq ? eq : pe) - p), val_len = (size_t)(pe - val);
    p = amp ? amp + 1 : end;
    param_t *pm = NULL;
    for (size_t i = 0; i < n; i++)
      if (strlen(ps[i].name) == name_len && memcmp(ps[i].name, name, name_len) == 0) pm = &ps[i];
    if (pm == NULL) continue; /* unknown parameters are ignored */
    if (pm->seen) {
      send_error(q, 400, "bad_request", "query parameter '%s' is given more than once", pm->name);
      return 0;
    }
    char what[48];
    snprintf(what, sizeof what, "'%s' query parameter", pm->name);
    h2o_iovec_t v;
    if (!decode_segment(q, what, val, val_len, &v)) return 0;
    if (pm->type == P_INT && !parse_i64(v.base, v.len, &pm->i)) {
      send_error(q, 400, "bad_request", "query parameter '%s' must be %s", pm->name, pm->what);
      return 0;
    }
    pm->s = v;
    pm->seen = 1;
  }
  return 1;
}

/* allow_stale=true|false (also 1|0); 400 otherwise. */
static int parse_bool(rq_t *q, const param_t *pm, int *out) {
  *out = 0;
  if (!pm->seen) return 1;
  if (h2o_memis(pm->s.base, pm->s.len, H2O_STRLIT("true")) ||
      h2o_memis(pm->s.base, pm->s.len, H2O_STRLIT("1")))
    *out = 1;
  else if (!h2o_memis(pm->s.base, pm->s.len, H2O_STRLIT("false")) &&
           !h2o_memis(pm->s.base, pm->s.len, H2O_STRLIT("0"))) {
    send_error(q, 400, "bad_request", "query parameter '%s' must be true or false", pm->name);
    return 0;
  }
  return 1;
}

/* from/to of a key lookup or multi-get (bounds on the window start) and
 * allow_stale. */
static int parse_key_opts(rq_t *q, ed_query_key_opts_t *opts) {
  param_t ps[] = {{.name = "from", .type = P_INT, .what = "an integer (epoch ms)"},
                  {.name = "to", .type = P_INT, .what = "an integer (epoch ms)"},
                  {.name = "allow_stale", .type = P_TEXT}};
  memset(opts, 0, sizeof *opts);
  if (!parse_params(q, ps, 3)) return 0;
  opts->has_from = ps[0].seen;
  opts->from = ps[0].i;
  opts->has_to = ps[1].seen;
  opts->to = ps[1].i;
  return parse_bool(q, &ps[2], &opts->allow_stale);
}

/* @p parts: room for the view's partition count (@p nparts), for the
 * internal partitions= parameter. */
static int parse_scan(rq_t *q, ed_query_scan_t *scan, int32_t *parts, int32_t nparts) {
  enum { FROM, TO, LIMIT, CURSOR, WFROM, WTO, PARTS, N };
  param_t ps[N] = {
      [FROM] = {.name = "from", .type = P_TEXT},
      [TO] = {.name = "to", .type = P_TEXT},
      [LIMIT] = {.name = "limit", .type = P_INT, .what = "an integer from 1 to 10000"},
      [CURSOR] = {.name = "cursor", .type = P_TEXT},
      [WFROM] = {.name = "window_from", .type = P_INT, .what = "an integer (epoch ms)"},
      [WTO] = {.name = "window_to", .type = P_INT, .what = "an integer (epoch ms)"},
      [PARTS] = {.name = "partitions", .type = P_TEXT},
  };
  memset(scan, 0, sizeof *scan);
  if (!parse_params(q, ps, N)) return 0;
  if (ps[LIMIT].seen && (ps[LIMIT].i < 1 || ps[LIMIT].i > ED_QUERY_MAX_LIMIT)) {
    send_error(q, 400, "bad_request", "query parameter 'limit' must be an integer from 1 to %d",
               ED_QUERY_MAX_LIMIT);
    return 0;
  }
  if (ps[CURSOR].seen && ps[CURSOR].s.len == 0) {
    send_error(q, 400, "bad_request",
               "query parameter 'cursor' is empty: pass the next_cursor of a previous page");
    return 0;
  }
  if (ps[FROM].seen) scan->from = ps[FROM].s.base, scan->from_len = ps[FROM].s.len;
  if (ps[TO].seen) scan->to = ps[TO].s.base, scan->to_len = ps[TO].s.len;
  if (ps[LIMIT].seen) scan->limit = (size_t)ps[LIMIT].i;
  if (ps[CURSOR].seen) scan->cursor = ps[CURSOR].s.base, scan->cursor_len = ps[CURSOR].s.len;
  scan->has_window_from = ps[WFROM].seen;
  scan->window_from = ps[WFROM].i;
  scan->has_window_to = ps[WTO].seen;
  scan->window_to = ps[WTO].i;
  if (ps[PARTS].seen) {
    long n = parts ? ed__route_parse_partitions(ps[PARTS].s.base, ps[PARTS].s.len, nparts, parts)
                   : -1;
    if (n < 0) {
      send_error(q, 400, "bad_request",
                 "query parameter 'partitions' must list partitions of the view (0..%" PRId32
                 ") in ascending order, comma-separated",
                 nparts - 1);
      return 0;
    }
    scan->partitions = parts;
    scan->npartitions = (size_t)n;
  }
  return 1;
}

/* ---- routing ---- */

/* 1 if another instance forwarded the request. */
static int is_forwarded(h2o_req_t *req) {
  return h2o_find_header_by_str(&req->headers, H2O_STRLIT(ED_ROUTE_HDR_FORWARDED), -1) >= 0;
}

/* 1 if the query string has a min_offset parameter. */
static int has_wait(h2o_req_t *req) {
  if (req->query_at == SIZE_MAX) return 0;
  const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
  while (p < end) {
    if (end - p >= 11 && memcmp(p, "min_offset=", 11) == 0) return 1;
    const char *amp = memchr(p, '&', (size_t)(end - p));
    p = amp ? amp + 1 : end;
  }
  return 0;
}

static ed__route_req_t route_req(rq_t *q, ed_view_t *v, const char *seg, size_t seg_len,
                                 int allow_stale) {
  ed__route_req_t rr = {.v = v,
                        .view_seg = h2o_iovec_init(seg, seg_len),
                        .enc = q->enc,
                        .allow_stale = allow_stale,
                        .has_wait = has_wait(q->req)};
  return rr;
}

/* A stale read from the standby copy of partition @p p: say so, and how
 * far behind it is. */
static void add_stale_headers(rq_t *q, ed_view_t *v, int32_t p) {
  ed_view_replica_t rep;
  int64_t recs = -1, ms = -1;
  if (ed_view_replica(v, p, &rep) == ED_OK) {
    if (rep.changelog_end >= 0 && rep.changelog_offset >= 0)
      recs = rep.changelog_end > rep.changelog_offset ? rep.changelog_end - rep.changelog_offset
                                                      : 0;
    if (recs == 0)
      ms = 0;
    else if (rep.caught_up_ms >= 0)
      ms = ed_now_ms() - rep.caught_up_ms;
  }
  h2o_req_t *req = q->req;
  char *buf = h2o_mem_alloc_pool(&req->pool, 48);
  int a = snprintf(buf, 24, "%" PRId64, recs);
  int b = snprintf(buf + 24, 24, "%" PRId64, ms);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("eddy-stale"), 0, NULL,
                        H2O_STRLIT("true"));
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("eddy-standby-lag-records"), 0,
                        NULL, buf, (size_t)a);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("eddy-standby-lag-ms"), 0, NULL,
                        buf + 24, (size_t)b);
}

/* Splits off the next segment of [*p, end): returns its length and moves
 * *p past it (not past the '/'). */
static size_t next_segment(const char **p, const char *end) {
  const char *s = *p;
  const char *slash = memchr(s, '/', (size_t)(end - s));
  size_t n = slash ? (size_t)(slash - s) : (size_t)(end - s);
  *p = s + n;
  return n;
}

static int is_method(const h2o_req_t *req, const char *m) {
  return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

/* The value of request header @p token, or NULL. */
static const h2o_iovec_t *header(h2o_req_t *req, const h2o_token_t *token) {
  ssize_t i = h2o_find_header(&req->headers, token, -1);
  return i < 0 ? NULL : &req->headers.entries[i].value;
}

/* The encoding of a request body: protobuf for application/x-protobuf. */
static ed_query_enc_t body_encoding(h2o_req_t *req) {
  const h2o_iovec_t *ct = header(req, H2O_TOKEN_CONTENT_TYPE);
  if (ct == NULL) return ED_QUERY_JSON;
  size_t n = ct->len;
  const char *semi = memchr(ct->base, ';', n);
  if (semi != NULL) n = (size_t)(semi - ct->base);
  while (n > 0 && (ct->base[n - 1] == ' ' || ct->base[n - 1] == '\t'))
    n--;
  return h2o_lcstris(ct->base, n, H2O_STRLIT("application/x-protobuf")) ? ED_QUERY_PROTOBUF
                                                                        : ED_QUERY_JSON;
}

/* 1 when every key of the multi-get is read here (or is malformed: the
 * local execution names it). */
static int keys_here(ed_view_t *v, const ed_query_keys_t *keys, int allow_stale) {
  int32_t n = ed_view_partition_count(v);
  if (n <= 0) return 1;
  for (size_t i = 0; i < keys->n; i++) {
    size_t kl = 0;
    const char *k = ed_query_keys_at(keys, i, &kl);
    if (kl == 0 || kl > ED_QUERY_MAX_KEY) return 1;
    int32_t p = ed_partition_for_key(k, kl, n);
    if (ed_view_store(v, p) == NULL &&
        !(allow_stale && ed_view_standby_store(v, p) != NULL))
      return 0;
  }
  return 1;
}

static void on_multi_get(rq_t *q, h2o_iovec_t view, const char *seg, size_t seg_len) {
  views_handler_t *h = q->h;
  ed_query_key_opts_t opts;
  if (!parse_key_opts(q, &opts)) return;
  h2o_iovec_t body = q->req->entity;
  if (body.base == NULL) body = h2o_iovec_init("", 0);
  if (ed_query_parse_keys(body.base, body.len, body_encoding(q->req), &h->keys, h->res) == 0) {
    ed_view_t *v = ed_engine_find_view(h->engine, view.base, view.len);
    if (v != NULL && !is_forwarded(q->req) && !keys_here(v, &h->keys, opts.allow_stale) &&
        h->w->route != NULL) {
      ed__route_req_t rr = route_req(q, v, seg, seg_len, opts.allow_stale);
      ed__route_keys(h->w->route, q->req, &rr, &h->keys, &opts);
      return;
    }
    ed_query_exec_keys(h->engine, view.base, view.len, &h->keys, &opts, h->res);
  }
  send_result(q);
  if (h->keys.cap > 4 * ED_QUERY_MAX_KEYS || h->keys.bytes.cap > (size_t)16 << 20) {
    ed_query_keys_fini(&h->keys); /* don't keep a huge request's memory */
    ed_query_keys_init(&h->keys);
  }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  views_handler_t *h = (views_handler_t *)self;
  const h2o_iovec_t *accept = header(req, H2O_TOKEN_ACCEPT);
  rq_t q = {h, req, accept ? ed_query_accept(accept->base, accept->len) : ED_QUERY_JSON};
  if (h->res == NULL && (h->res = ed_query_result_create()) == NULL) {
    send_error(&q, 500, "internal", "out of memory");
    return 0;
  }
  h2o_iovec_t path = ed__http_path(req);
  const char *p = path.base, *end = path.base + path.len;

  /* "/v1/views" ["/" ["{view}/keys/{key}" | "{view}/keys" | "{view}/rows"]] */
  if (path.len < 9 || memcmp(p, "/v1/views", 9) != 0 || (path.len > 9 && p[9] != '/')) {
    send_not_found(&q);
    return 0;
  }
  p += 9;
  if (p == end || (p + 1 == end && *p == '/')) {
    if (!ed__http_is_get(req)) {
      send_not_allowed(&q, "GET");
      return 0;
    }
    ed_query_exec_views(h->engine, h->res);
    send_result(&q);
    return 0;
  }

  p++; /* the '/' after "views" */
  const char *view_raw = p;
  size_t view_raw_len = next_segment(&p, end);
  if (view_raw_len == 0 || p == end) {
    send_not_found(&q);
    return 0;
  }
  p++; /* the '/' after the view */
  const char *what_raw = p;
  size_t what_len = next_segment(&p, end);
  int is_keys = what_len == 4 && memcmp(what_raw, "keys", 4) == 0;
  int is_rows = what_len == 4 && memcmp(what_raw, "rows", 4) == 0;
  if (!is_keys && !is_rows) {
    send_not_found(&q);
    return 0;
  }

  h2o_iovec_t view;
  if (is_rows || (is_keys && (p == end || (p + 1 == end && *p == '/')))) {
    /* .../rows or .../keys (a trailing '/' allowed) */
    if (p != end && !(p + 1 == end && *p == '/')) {
      send_not_found(&q);
      return 0;
    }
    const char *allow = is_rows ? "GET" : "POST";
    if (!is_method(req, allow)) {
      send_not_allowed(&q, allow);
      return 0;
    }
    if (!decode_segment(&q, "view segment", view_raw, view_raw_len, &view)) return 0;
    if (is_keys) {
      on_multi_get(&q, view, view_raw, view_raw_len);
      return 0;
    }
    ed_view_t *v = ed_engine_find_view(h->engine, view.base, view.len);
    int32_t np = v ? ed_view_partition_count(v) : 0;
    int32_t *parts = np > 0 ? h2o_mem_alloc_pool(&req->pool, (size_t)np * sizeof *parts) : NULL;
    ed_query_scan_t scan;
    if (!parse_scan(&q, &scan, parts, np)) return 0;
    if (v != NULL && scan.partitions == NULL && !is_forwarded(req) && h->w->route != NULL) {
      int32_t pi = 0;
      while (pi < np && ed_view_store(v, pi) != NULL)
        pi++;
      if (pi < np) { /* some partitions are read elsewhere */
        ed__route_req_t rr = route_req(&q, v, view_raw, view_raw_len, 0);
        ed__route_rows(h->w->route, req, &rr, &scan);
        return 0;
      }
    }
    ed_query_exec_rows(h->engine, view.base, view.len, &scan, h->res);
    send_result(&q);
    return 0;
  }

  /* .../keys/{key} */
  p++; /* the '/' after "keys" */
  const char *key_raw = p;
  size_t key_raw_len = next_segment(&p, end);
  if (p != end) { /* more segments after the key */
    send_not_found(&q);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    send_not_allowed(&q, "GET");
    return 0;
  }
  h2o_iovec_t key;
  if (!decode_segment(&q, "view segment", view_raw, view_raw_len, &view)) return 0;
  if (!decode_segment(&q, "key segment", key_raw, key_raw_len, &key)) return 0;
  ed_query_key_opts_t opts;
  if (!parse_key_opts(&q, &opts)) return 0;
  ed_view_t *v = ed_engine_find_view(h->engine, view.base, view.len);
  int32_t np = v ? ed_view_partition_count(v) : 0;
  if (np > 0 && key.len > 0 && key.len <= ED_QUERY_MAX_KEY) {
    int32_t kp = ed_partition_for_key(key.base, key.len, np);
    if (ed_view_store(v, kp) == NULL) {
      if (opts.allow_stale && ed_view_standby_store(v, kp) != NULL) {
        add_stale_headers(&q, v, kp); /* answered below, from the standby */
      } else if (is_forwarded(req) && h->w->route != NULL) {
        ed__route_refuse(h->w->route, req, v, kp);
        return 0;
      } else if (h->w->route != NULL) {
        ed__route_req_t rr = route_req(&q, v, view_raw, view_raw_len, opts.allow_stale);
        ed__route_key(h->w->route, req, &rr, kp);
        return 0;
      }
    }
  }
  ed_query_exec_key(h->engine, view.base, view.len, key.base, key.len, &opts, h->res);
  send_result(&q);
  return 0;
}

static void on_dispose(h2o_handler_t *self) {
  views_handler_t *h = (views_handler_t *)self;
  ed_buf_fini(&h->out);
  ed_query_result_destroy(h->res);
  ed_query_keys_fini(&h->keys);
}

void ed__handler_views_register(h2o_hostconf_t *host, ed__http_worker_t *w) {
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/v1", 0);
  views_handler_t *h = (views_handler_t *)h2o_create_handler(pc, sizeof *h);
  h->w = w;
  h->engine = w->srv->engine;
  ed_buf_init(&h->out);
  h->res = ed_query_result_create();
  ed_query_keys_init(&h->keys);
  h->super.on_req = on_req;
  h->super.dispose = on_dispose;
}
