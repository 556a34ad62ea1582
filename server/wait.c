/* The /v1 gate: request limits and min_offset waits (read-your-writes).
 *
 * The gate is the first handler of the /v1 path. It answers 414 for a
 * request target over ED_HTTP_MAX_PATH bytes and 413 for a key segment over
 * ED_HTTP_MAX_KEY decoded bytes, checks min_offset and timeout_ms, and
 * passes everything else on to the API handler (handler_views.c), which
 * knows nothing of waits.
 *
 * A request on /v1/views/{view}/... with min_offset=<partition>:<offset>
 * (repeatable) is served once, for each, the view's partition position
 * (ed_view_position: the next input offset its committed state reflects) is
 * at least the offset. When it is already, the request goes straight on.
 * Otherwise it is parked in the worker's list for the view, at no CPU cost:
 *
 *   - the engine's commit listener (a stream thread) sets the view's bit in
 *     each worker's dirty mask and, on the first bit, posts the worker's one
 *     commit message through its h2o multithread queue, which wakes the
 *     loop; the loop takes the mask and re-checks that view's parked
 *     requests, passing the satisfied ones on with h2o_delegate_request();
 *   - one h2o timer entry per worker fires at the earliest deadline of the
 *     parked requests (kept sorted), answering the expired ones 504 with
 *     the positions reached;
 *   - the park record lives in the request's memory pool with a dispose
 *     callback, so a client that goes away (HTTP/2 stream reset, connection
 *     closed) unparks its request before the request's memory is freed.
 *
 * Listener and loop meet without a lost wake-up: the loop counts a request
 * as parked before it checks the position a last time, and the engine
 * stores a position before it calls the listeners, which skip workers with
 * nothing parked (all sequentially consistent atomics).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "server/http_int.h"

/* ---- parsing ---- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes [s, s+len) into @p out (capacity @p cap, NUL-terminated).
 * Returns the length, or -1 for a bad escape or a value too long. */
static long decode_value(const char *s, size_t len, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
      int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return -1;
      c = (char)(hi << 4 | lo);
      i += 2;
    }
    if (o + 1 >= cap) return -1;
    out[o++] = c;
  }
  out[o] = '\0';
  return (long)o;
}

/* Digits only, no sign, at most @p max. */
static int parse_uint(const char *s, size_t len, int64_t max, int64_t *out) {
  if (len == 0 || len > 19) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > (uint64_t)max) return 0;
  *out = (int64_t)v;
  return 1;
}

/* Quotes at most 64 bytes of a raw parameter value for a message. */
static const char *shown(const char *raw, size_t len, char *buf, size_t cap) {
  size_t n = len < 64 ? len : 64;
  snprintf(buf, cap, "%.*s%s", (int)n, raw, n < len ? "..." : "");
  return buf;
}

int ed__wait_parse(const char *q, size_t len, ed__wait_spec_t *out, char *err, size_t errlen) {
  out->n = 0;
  out->timeout_ms = ED_HTTP_WAIT_DEFAULT_MS;
  int have_timeout = 0;
  const char *p = q, *end = q + len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *name = p, *raw = eq ? eq + 1 : pe;
    size_t name_len = (size_t)((eq ? eq : pe) - p), raw_len = (size_t)(pe - raw);
    p = amp ? amp + 1 : end;
    int is_min = name_len == 10 && memcmp(name, "min_offset", 10) == 0;
    int is_timeout = name_len == 10 && memcmp(name, "timeout_ms", 10) == 0;
    if (!is_min && !is_timeout) continue;

    char val[64], show[80];
    long vlen = decode_value(raw, raw_len, val, sizeof val);
    if (is_timeout) {
      int64_t ms;
      if (have_timeout) {
        snprintf(err, errlen, "query parameter 'timeout_ms' is given more than once");
        return -1;
      }
      if (vlen < 0 || !parse_uint(val, (size_t)vlen, ED_HTTP_WAIT_MAX_MS, &ms)) {
        snprintf(err, errlen,
                 "query parameter 'timeout_ms' must be an integer 0..%d (milliseconds), got '%s'",
                 ED_HTTP_WAIT_MAX_MS, shown(raw, raw_len, show, sizeof show));
        return -1;
      }
      out->timeout_ms = ms;
      have_timeout = 1;
      continue;
    }
    const char *colon = vlen < 0 ? NULL : memchr(val, ':', (size_t)vlen);
    int64_t part, off;
    if (colon == NULL || !parse_uint(val, (size_t)(colon - val), INT32_MAX, &part) ||
        !parse_uint(colon + 1, (size_t)(val + vlen - colon - 1), INT64_MAX, &off)) {
      snprintf(err, errlen,
               "query parameter 'min_offset' must be <partition>:<offset> (two non-negative "
               "integers, e.g. 3:150), got '%s'",
               shown(raw, raw_len, show, sizeof show));
      return -1;
    }
    size_t i = 0;
    while (i < out->n && out->pos[i].partition != (int32_t)part)
      i++;
    if (i == out->n) {
      if (out->n == ED_HTTP_WAIT_MAX_POS) {
        snprintf(err, errlen, "query parameter 'min_offset' names more than %d partitions",
                 ED_HTTP_WAIT_MAX_POS);
        return -1;
      }
      out->pos[out->n++] = (ed__wait_pos_t){(int32_t)part, off};
    } else if (off > out->pos[i].offset) {
      out->pos[i].offset = off;
    }
  }
  return 0;
}

/* ---- parked requests ---- */

typedef struct {
  h2o_handler_t super;
  ed__http_worker_t *w;
  ed_buf_t scratch;
} gate_t;

typedef struct {
  h2o_linklist_t view_link;     /* in w->wait.by_view[view_index] */
  h2o_linklist_t deadline_link; /* in w->wait.by_deadline, earliest first */
  uint64_t deadline;            /* h2o_now() ms */
  int64_t timeout_ms;
  h2o_req_t *req;
  gate_t *gate;
  ed_view_t *view;
  size_t view_index;
  int parked;
  size_t n;
  ed__wait_pos_t pos[];
} park_t;

/* The wait state's parts that are not in http_int.h's ed__wait_state_t. */
typedef struct {
  ed__http_worker_t *w;
  h2o_linklist_t by_deadline;
  h2o_timeout_t timer; /* its one entry fires at the earliest deadline */
  h2o_timeout_entry_t timer_entry;
  int open;
} wait_extra_t;

static wait_extra_t *extra(ed__http_worker_t *w) { return (wait_extra_t *)w->wait.extra; }

static size_t view_index(ed_engine_t *e, const ed_view_t *v) {
  size_t n = ed_engine_view_count(e);
  for (size_t i = 0; i < n; i++)
    if (ed_engine_view_at(e, i) == v) return i;
  return SIZE_MAX;
}

/* 1 when every wanted position is reached. */
static int satisfied(const ed_view_t *v, const ed__wait_pos_t *pos, size_t n) {
  for (size_t i = 0; i < n; i++) {
    ed_view_position_t vp;
    if (ed_view_position(v, pos[i].partition, &vp) != ED_OK || vp.offset < pos[i].offset) return 0;
  }
  return 1;
}

/* Points the timer at the earliest deadline (at least 1 ms ahead: a timer
 * re-armed inside its own callback with 0 would run again at once). */
static void arm(ed__http_worker_t *w) {
  wait_extra_t *x = extra(w);
  if (h2o_timeout_is_linked(&x->timer_entry)) h2o_timeout_unlink(&x->timer_entry);
  if (h2o_linklist_is_empty(&x->by_deadline)) return;
  park_t *first = H2O_STRUCT_FROM_MEMBER(park_t, deadline_link, x->by_deadline.next);
  uint64_t now = h2o_now(w->loop);
  x->timer.timeout = first->deadline > now + 1 ? first->deadline - now : 1;
  h2o_timeout_link(w->loop, &x->timer, &x->timer_entry);
}

static void unpark(ed__http_worker_t *w, park_t *pk) {
  if (!pk->parked) return;
  pk->parked = 0;
  h2o_linklist_unlink(&pk->view_link);
  int was_first = extra(w)->by_deadline.next == &pk->deadline_link;
  h2o_linklist_unlink(&pk->deadline_link);
  atomic_fetch_sub(&w->nparked, 1);
  if (was_first) arm(w);
}

/* The request's pool is being freed (answered, or the client went away). */
static void on_park_dispose(void *p) {
  park_t *pk = p;
  if (pk->parked) unpark(pk->gate->w, pk);
}

/* 504 naming the partitions not reached, with the positions reached. */
static void send_timeout(h2o_req_t *req, ed_buf_t *b, const ed_view_t *v, int64_t timeout_ms,
                         const ed__wait_pos_t *pos, size_t n) {
  char msg[1024];
  size_t m = (size_t)snprintf(msg, sizeof msg,
                              "min_offset not reached within %" PRId64 " ms:", timeout_ms);
  int first = 1;
  ed_query_position_t reached[ED_HTTP_WAIT_MAX_POS];
  for (size_t i = 0; i < n; i++) {
    ed_view_position_t vp;
    ed_view_position(v, pos[i].partition, &vp);
    reached[i] = (ed_query_position_t){pos[i].partition, vp.offset, vp.stream_time};
    if (vp.offset >= pos[i].offset || m >= sizeof msg) continue;
    m += (size_t)snprintf(msg + m, sizeof msg - m,
                          "%s partition %" PRId32 " reached offset %" PRId64 ", wanted %" PRId64
                          "%s",
                          first ? "" : ";", pos[i].partition, vp.offset, pos[i].offset,
                          vp.assigned ? "" : " (not assigned to this instance)");
    first = 0;
  }
  ed_query_enc_t enc = ed__http_encoding(req);
  ed_buf_reset(b);
  ed_query_timeout_encode(b, enc, msg, reached, n);
  ed__http_send(req, 504, enc == ED_QUERY_PROTOBUF ? "application/x-protobuf" : "application/json",
                b->data, b->len);
}

static void on_timer(h2o_timeout_entry_t *entry) {
  wait_extra_t *x = H2O_STRUCT_FROM_MEMBER(wait_extra_t, timer_entry, entry);
  ed__http_worker_t *w = x->w;
  uint64_t now = h2o_now(w->loop);
  while (!h2o_linklist_is_empty(&x->by_deadline)) {
    park_t *pk = H2O_STRUCT_FROM_MEMBER(park_t, deadline_link, x->by_deadline.next);
    if (pk->deadline > now) break;
    unpark(w, pk);
    if (satisfied(pk->view, pk->pos, pk->n))
      h2o_delegate_request(pk->req, &pk->gate->super); /* reached just now */
    else
      send_timeout(pk->req, &pk->gate->scratch, pk->view, pk->timeout_ms, pk->pos, pk->n);
  }
  arm(w);
}

int ed__wait_init(ed__http_worker_t *w) {
  size_t n = ed_engine_view_count(w->srv->engine);
  w->wait.nviews = n;
  w->wait.by_view = calloc(n ? n : 1, sizeof *w->wait.by_view);
  wait_extra_t *x = calloc(1, sizeof *x);
  if (w->wait.by_view == NULL || x == NULL) {
    free(w->wait.by_view);
    free(x);
    w->wait.by_view = NULL;
    return ED_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    h2o_linklist_init_anchor(&w->wait.by_view[i]);
  h2o_linklist_init_anchor(&x->by_deadline);
  h2o_timeout_init(w->loop, &x->timer, 1);
  x->timer_entry.cb = on_timer;
  x->w = w;
  x->open = 1;
  w->wait.extra = x;
  return ED_OK;
}

void ed__wait_fini(ed__http_worker_t *w) {
  wait_extra_t *x = extra(w);
  if (x == NULL) return;
  x->open = 0;
  while (!h2o_linklist_is_empty(&x->by_deadline)) {
    park_t *pk = H2O_STRUCT_FROM_MEMBER(park_t, deadline_link, x->by_deadline.next);
    unpark(w, pk);
    ed__http_send_error(pk->req, &pk->gate->scratch, 503, "unavailable",
                        "the server is shutting down");
  }
  if (h2o_timeout_is_linked(&x->timer_entry)) h2o_timeout_unlink(&x->timer_entry);
  h2o_timeout_dispose(w->loop, &x->timer);
  free(x);
  w->wait.extra = NULL;
  free(w->wait.by_view);
  w->wait.by_view = NULL;
}

void ed__wait_recheck(ed__http_worker_t *w, uint64_t views) {
  wait_extra_t *x = extra(w);
  if (x == NULL) return;
  h2o_linklist_t ready;
  h2o_linklist_init_anchor(&ready);
  for (size_t i = 0; i < w->wait.nviews; i++) {
    if (!(views & (UINT64_C(1) << (i % 64)))) continue;
    h2o_linklist_t *anchor = &w->wait.by_view[i];
    for (h2o_linklist_t *node = anchor->next; node != anchor;) {
      park_t *pk = H2O_STRUCT_FROM_MEMBER(park_t, view_link, node);
      node = node->next;
      if (!satisfied(pk->view, pk->pos, pk->n)) continue;
      unpark(w, pk);
      h2o_linklist_insert(&ready, &pk->view_link); /* borrowed while unparked */
    }
  }
  /* pass them on only now: answering may dispose other requests */
  while (!h2o_linklist_is_empty(&ready)) {
    park_t *pk = H2O_STRUCT_FROM_MEMBER(park_t, view_link, ready.next);
    h2o_linklist_unlink(&pk->view_link);
    h2o_delegate_request(pk->req, &pk->gate->super);
  }
}

void ed__wait_on_commit(void *arg, ed_view_t *v, int32_t partition, int64_t offset) {
  (void)partition;
  (void)offset;
  ed_http_t *h = arg;
  size_t i = view_index(h->engine, v);
  if (i == SIZE_MAX) return;
  uint64_t bit = UINT64_C(1) << (i % 64);
  for (int k = 0; k < h->nworkers; k++) {
    ed__http_worker_t *w = &h->workers[k];
    if (atomic_load(&w->nparked) == 0) continue;
    if (atomic_fetch_or(&w->dirty, bit) == 0)
      h2o_multithread_send_message(&w->commit_receiver, &w->commit_msg);
  }
}

/* ---- the gate ---- */

/* The bytes a path segment decodes to ('%XX' is one byte). */
static size_t decoded_len(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++, n++)
    if (s[i] == '%' && i + 2 < len) i += 2;
  return n;
}

static int gate_on_req(h2o_handler_t *self, h2o_req_t *req) {
  gate_t *g = (gate_t *)self;
  ed__http_worker_t *w = g->w;
  if (req->path.len > ED_HTTP_MAX_PATH) {
    ed__http_send_error(req, &g->scratch, 414, "uri_too_long",
                        "the request target is %zu bytes; the limit is %d bytes", req->path.len,
                        ED_HTTP_MAX_PATH);
    return 0;
  }
  /* "/v1/views/{view}/{rest}" */
  h2o_iovec_t path = ed__http_path(req);
  static const char prefix[] = "/v1/views/";
  size_t plen = sizeof prefix - 1;
  if (path.len <= plen || memcmp(path.base, prefix, plen) != 0) return -1;
  const char *view_raw = path.base + plen, *end = path.base + path.len;
  const char *slash = memchr(view_raw, '/', (size_t)(end - view_raw));
  if (slash == NULL || slash == view_raw) return -1;
  const char *rest = slash + 1;
  if (end - rest > 5 && memcmp(rest, "keys/", 5) == 0) {
    const char *key = rest + 5;
    const char *kend = memchr(key, '/', (size_t)(end - key));
    size_t klen = decoded_len(key, (size_t)((kend ? kend : end) - key));
    if (klen > ED_HTTP_MAX_KEY) {
      ed__http_send_error(req, &g->scratch, 413, "key_too_long",
                          "the key is %zu bytes; the limit is %d bytes", klen, ED_HTTP_MAX_KEY);
      return 0;
    }
  }
  if (req->query_at == SIZE_MAX) return -1;

  ed__wait_spec_t spec;
  char err[256];
  if (ed__wait_parse(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1, &spec,
                     err, sizeof err) != 0) {
    ed__http_send_error(req, &g->scratch, 400, "bad_request", "%s", err);
    return 0;
  }
  if (spec.n == 0) return -1;

  char name[256];
  long nlen = decode_value(view_raw, (size_t)(slash - view_raw), name, sizeof name);
  ed_view_t *v = nlen > 0 ? ed_engine_find_view(w->srv->engine, name, (size_t)nlen) : NULL;
  if (v == NULL) return -1; /* the API handler answers 404 */
  int32_t nparts = ed_view_partition_count(v);
  for (size_t i = 0; i < spec.n; i++)
    if (spec.pos[i].partition >= nparts) {
      ed__http_send_error(req, &g->scratch, 400, "bad_request",
                          "query parameter 'min_offset': partition %" PRId32
                          " is out of range (view '%s' has %" PRId32 " partitions)",
                          spec.pos[i].partition, name, nparts);
      return 0;
    }
  /* a partition not running here: the handler routes the request to its
   * owner, whose gate waits, or refuses it (forwarded) */
  for (size_t i = 0; i < spec.n; i++)
    if (ed_view_store(v, spec.pos[i].partition) == NULL) return -1;
  if (satisfied(v, spec.pos, spec.n)) return -1;
  wait_extra_t *x = extra(w);
  if (x == NULL || !x->open) {
    ed__http_send_error(req, &g->scratch, 503, "unavailable", "the server is shutting down");
    return 0;
  }
  if (spec.timeout_ms == 0) {
    send_timeout(req, &g->scratch, v, 0, spec.pos, spec.n);
    return 0;
  }

  park_t *pk =
      h2o_mem_alloc_shared(&req->pool, sizeof *pk + spec.n * sizeof pk->pos[0], on_park_dispose);
  memset(pk, 0, sizeof *pk);
  pk->req = req;
  pk->gate = g;
  pk->view = v;
  pk->view_index = view_index(w->srv->engine, v);
  pk->timeout_ms = spec.timeout_ms;
  pk->deadline = h2o_now(w->loop) + (uint64_t)spec.timeout_ms;
  pk->n = spec.n;
  memcpy(pk->pos, spec.pos, spec.n * sizeof pk->pos[0]);
  if (pk->view_index >= w->wait.nviews) return -1; /* a view added later: serve now */

  /* insert by deadline, scanning from the latest (most share one timeout) */
  h2o_linklist_t *after = x->by_deadline.prev;
  while (after != &x->by_deadline &&
         H2O_STRUCT_FROM_MEMBER(park_t, deadline_link, after)->deadline > pk->deadline)
    after = after->prev;
  h2o_linklist_insert(after->next, &pk->deadline_link);
  h2o_linklist_insert(&w->wait.by_view[pk->view_index], &pk->view_link);
  pk->parked = 1;
  atomic_fetch_add(&w->nparked, 1);
  if (x->by_deadline.next == &pk->deadline_link) arm(w);

  /* a commit may have landed between the first check and the count */
  if (satisfied(v, spec.pos, spec.n)) {
    unpark(w, pk);
    return -1;
  }
  return 0;
}

static void gate_dispose(h2o_handler_t *self) { ed_buf_fini(&((gate_t *)self)->scratch); }

void ed__wait_register(h2o_pathconf_t *pc, ed__http_worker_t *w) {
  gate_t *g = (gate_t *)h2o_create_handler(pc, sizeof *g);
  g->w = w;
  ed_buf_init(&g->scratch);
  g->super.on_req = gate_on_req;
  g->super.dispose = gate_dispose;
  /* h2o_create_handler appended it: move it to the front */
  h2o_handler_t **hs = pc->handlers.entries;
  for (size_t i = pc->handlers.size - 1; i > 0; i--)
    hs[i] = hs[i - 1];
  hs[0] = &g->super;
}
