/* Forwarding over h2o's HTTP/1 client (forward.h).
 *
 * Each worker keeps, per peer URL, an h2o_socketpool_t: sockets go back to
 * it after a complete keep-alive answer and idle ones close after
 * POOL_IDLE_MS, below h2o's own 10 s keep-alive on the peer, so a pooled
 * socket is rarely one the peer already closed; when it is, the request
 * fails before any answer and is sent once more on a new connection. The
 * answer's body is gathered into the request's buffer as it arrives. */
#include "server/forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define POOL_IDLE_MS 4000
#define POOL_CAPACITY 256

typedef struct {
  char *url; /* owned; parsed into parsed (which borrows it) */
  h2o_url_t parsed;
  h2o_iovec_t prefix; /* the URL's path without its trailing '/' */
  h2o_socketpool_t pool;
  ed__fwd_peer_stats_t *stats; /* in the server's table; NULL: it was full */
} peer_t;

struct ed__fwd_ctx {
  ed__http_worker_t *w;
  h2o_timeout_t io_short, io_long;
  h2o_http1client_ctx_t client_short, client_long;
  peer_t *peers[ED_FWD_MAX_PEERS];
  size_t npeers;
};

ed__fwd_ctx_t *ed__fwd_ctx_create(ed__http_worker_t *w) {
  ed__fwd_ctx_t *c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->w = w;
  h2o_timeout_init(w->loop, &c->io_short, ED_FWD_IO_TIMEOUT_MS);
  h2o_timeout_init(w->loop, &c->io_long, ED_FWD_IO_TIMEOUT_MS + ED_HTTP_WAIT_MAX_MS);
  c->client_short.loop = c->client_long.loop = w->loop;
  c->client_short.getaddr_receiver = c->client_long.getaddr_receiver =
      &w->ctx.receivers.hostinfo_getaddr;
  c->client_short.io_timeout = &c->io_short;
  c->client_long.io_timeout = &c->io_long;
  return c;
}

void ed__fwd_ctx_destroy(ed__fwd_ctx_t *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->npeers; i++) {
    h2o_socketpool_dispose(&c->peers[i]->pool);
    free(c->peers[i]->url);
    free(c->peers[i]);
  }
  h2o_timeout_dispose(c->w->loop, &c->io_short);
  h2o_timeout_dispose(c->w->loop, &c->io_long);
  free(c);
}

/* The server-wide counters of @p id (added on first use), or NULL. */
static ed__fwd_peer_stats_t *stats_for(struct ed__fwd_stats *s, const char *id) {
  if (s == NULL) return NULL;
  ed__fwd_peer_stats_t *found = NULL;
  pthread_mutex_lock(&s->mu);
  size_t n = atomic_load(&s->n);
  for (size_t i = 0; i < n && found == NULL; i++)
    if (strcmp(s->peers[i].instance_id, id) == 0) found = &s->peers[i];
  if (found == NULL && n < ED_FWD_MAX_PEERS) {
    found = &s->peers[n];
    snprintf(found->instance_id, sizeof found->instance_id, "%s", id);
    atomic_store(&s->n, n + 1); /* readers see the name before the count */
  }
  pthread_mutex_unlock(&s->mu);
  return found;
}

/* The pool of @p url, created on first use. */
static int peer_for(ed__fwd_ctx_t *c, const char *url, const char *id, peer_t **out) {
  for (size_t i = 0; i < c->npeers; i++)
    if (strcmp(c->peers[i]->url, url) == 0) {
      *out = c->peers[i];
      return ED_OK;
    }
  if (c->npeers == ED_FWD_MAX_PEERS) return ED_ETOOBIG;
  peer_t *p = calloc(1, sizeof *p);
  if (p == NULL || (p->url = strdup(url)) == NULL) {
    free(p);
    return ED_ENOMEM;
  }
  if (h2o_url_parse(p->url, strlen(p->url), &p->parsed) != 0 ||
      p->parsed.scheme != &H2O_URL_SCHEME_HTTP) {
    free(p->url);
    free(p);
    return ED_EINVAL; /* https peers: not supported by this client */
  }
  p->prefix = p->parsed.path;
  while (p->prefix.len > 0 && p->prefix.base[p->prefix.len - 1] == '/')
    p->prefix.len--;
  h2o_socketpool_init_by_hostport(&p->pool, p->parsed.host, h2o_url_get_port(&p->parsed), 0,
                                  POOL_CAPACITY);
  h2o_socketpool_set_timeout(&p->pool, c->w->loop, POOL_IDLE_MS);
  p->stats = stats_for(c->w->srv->fwd_stats, id);
  c->peers[c->npeers++] = p;
  *out = p;
  return ED_OK;
}

void ed__fwd_init(ed__fwd_t *f) {
  memset(f, 0, sizeof *f);
  ed_buf_init(&f->body);
  ed_buf_init(&f->head);
}

void ed__fwd_fini(ed__fwd_t *f) {
  if (f->client != NULL) h2o_http1client_cancel(f->client);
  f->client = NULL;
  f->active = 0;
  ed_buf_fini(&f->body);
  ed_buf_fini(&f->head);
}

static void finish(ed__fwd_t *f, const char *errstr) {
  f->client = NULL;
  f->active = 0;
  peer_t *p = f->peer;
  if (errstr != NULL) {
    f->status = 0;
    f->errstr = errstr;
    if (p->stats) atomic_fetch_add(&p->stats->failures, 1);
  }
  f->cb(f);
}

static void connect_now(ed__fwd_t *f);

/* No answer yet: once more on a fresh connection (a pooled one may have
 * been closed by the peer meanwhile), then give up. */
static void failed_before_answer(ed__fwd_t *f, const char *errstr) {
  f->client = NULL;
  if (!f->retried) {
    f->retried = 1;
    connect_now(f);
    return;
  }
  finish(f, errstr);
}

static void copy_header(char *dst, size_t cap, h2o_iovec_t v) {
  size_t n = v.len < cap - 1 ? v.len : cap - 1;
  memcpy(dst, v.base, n);
  dst[n] = '\0';
}

static int on_body(h2o_http1client_t *client, const char *errstr) {
  ed__fwd_t *f = client->data;
  h2o_buffer_t *in = client->sock->input;
  if (in->size > 0) {
    ed_buf_append(&f->body, in->bytes, in->size);
    h2o_buffer_consume(&client->sock->input, in->size);
  }
  if (errstr == h2o_http1client_error_is_eos) {
    if (ed_buf_failed(&f->body)) {
      finish(f, "out of memory");
      return -1;
    }
    finish(f, NULL);
    return 0;
  }
  if (errstr != NULL) { /* the client closes after this */
    finish(f, errstr);
    return -1;
  }
  return 0;
}

static h2o_http1client_body_cb on_head(h2o_http1client_t *client, const char *errstr,
                                       int minor_version, int status, h2o_iovec_t msg,
                                       h2o_header_t *headers, size_t num_headers, int rlen) {
  (void)minor_version;
  (void)msg;
  (void)rlen;
  ed__fwd_t *f = client->data;
  if (errstr != NULL && errstr != h2o_http1client_error_is_eos) {
    failed_before_answer(f, errstr);
    return NULL;
  }
  f->status = status;
  for (size_t i = 0; i < num_headers; i++) {
    const h2o_iovec_t *n = headers[i].name;
    h2o_iovec_t v = headers[i].value;
    if (n == &H2O_TOKEN_CONTENT_TYPE->buf)
      copy_header(f->ctype, sizeof f->ctype, v);
    else if (n == &H2O_TOKEN_RETRY_AFTER->buf)
      copy_header(f->retry_after, sizeof f->retry_after, v);
    else if (h2o_memis(n->base, n->len, H2O_STRLIT("eddy-served-by")))
      copy_header(f->served_by, sizeof f->served_by, v);
    else if (h2o_memis(n->base, n->len, H2O_STRLIT("eddy-stale")))
      copy_header(f->stale, sizeof f->stale, v);
    else if (h2o_memis(n->base, n->len, H2O_STRLIT("eddy-standby-lag-records")))
      copy_header(f->lag_records, sizeof f->lag_records, v);
    else if (h2o_memis(n->base, n->len, H2O_STRLIT("eddy-standby-lag-ms")))
      copy_header(f->lag_ms, sizeof f->lag_ms, v);
  }
  if (errstr == h2o_http1client_error_is_eos) { /* no body (204, 304) */
    finish(f, NULL);
    return NULL;
  }
  return on_body;
}

static h2o_http1client_head_cb on_connect(h2o_http1client_t *client, const char *errstr,
                                          h2o_iovec_t **reqbufs, size_t *reqbufcnt,
                                          int *method_is_head) {
  ed__fwd_t *f = client->data;
  if (errstr != NULL) {
    failed_before_answer(f, errstr);
    return NULL;
  }
  *reqbufs = f->bufs;
  *reqbufcnt = f->nbufs;
  *method_is_head = 0;
  return on_head;
}

static void connect_now(ed__fwd_t *f) {
  peer_t *p = f->peer;
  ed_buf_reset(&f->body);
  f->ctype[0] = f->served_by[0] = f->retry_after[0] = '\0';
  f->stale[0] = f->lag_records[0] = f->lag_ms[0] = '\0';
  h2o_http1client_connect_with_pool(&f->client, f, f->cctx, &p->pool, on_connect);
}

int ed__fwd_start(ed__fwd_ctx_t *c, ed__fwd_t *f, const char *url, const char *peer_id,
                  const char *method, h2o_iovec_t target, const h2o_iovec_t *accept,
                  const char *origin, h2o_iovec_t body, int long_wait, ed__fwd_cb cb) {
  peer_t *p = NULL;
  int rc = peer_for(c, url, peer_id, &p);
  if (rc != ED_OK) return rc;
  ed_buf_t *h = &f->head;
  ed_buf_reset(h);
  ed_buf_printf(h, "%s %.*s%.*s HTTP/1.1\r\nHost: %.*s\r\n", method, (int)p->prefix.len,
                p->prefix.base, (int)target.len, target.base, (int)p->parsed.authority.len,
                p->parsed.authority.base);
  if (accept != NULL) ed_buf_printf(h, "Accept: %.*s\r\n", (int)accept->len, accept->base);
  ed_buf_printf(h, "eddy-forwarded: %s\r\n", origin);
  if (body.base != NULL)
    ed_buf_printf(h, "Content-Type: application/x-protobuf\r\nContent-Length: %zu\r\n",
                  body.len);
  ed_buf_puts(h, "\r\n");
  if (ed_buf_failed(h)) return ED_ENOMEM;
  f->ctx = c;
  f->peer = p;
  f->cb = cb;
  f->cctx = long_wait ? &c->client_long : &c->client_short;
  f->bufs[0] = h2o_iovec_init(h->data, h->len);
  f->nbufs = 1;
  if (body.base != NULL && body.len > 0) f->bufs[f->nbufs++] = body;
  f->retried = 0;
  f->status = 0;
  f->errstr = NULL;
  f->active = 1;
  if (p->stats) atomic_fetch_add(&p->stats->requests, 1);
  connect_now(f);
  return ED_OK;
}
