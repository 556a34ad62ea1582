/* The HTTP server: http.threads h2o evloops, each on its own thread.
 *
 * Start binds the listening socket on the caller's thread (so bind errors
 * are reported synchronously), builds one h2o configuration and context per
 * worker (handlers keep per-worker scratch buffers, so workers share no
 * handler), then runs each loop on a dedicated thread; every worker accepts
 * from the same socket (its own dup of the descriptor in its own epoll
 * set). Stop sends a message through each worker's h2o multithread queue
 * that wakes its loop; the loop then closes its listener, answers parked
 * requests, expires idle connections and returns, and stop joins and frees.
 *
 * TLS: with a certificate configured, every accepted socket starts a TLS
 * handshake and ALPN picks h2 or http/1.1. Without it, h2o's HTTP/1 parser
 * hands a connection that starts with the HTTP/2 preface ("PRI * HTTP/2.0")
 * to its HTTP/2 implementation: h2c with prior knowledge. (The HTTP/1.1
 * "Upgrade: h2c" dance works too; h2o enables both by default.)
 */
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "query/query.h"
#include "server/forward.h"
#include "server/http_int.h"
#include "server/route.h"

#include <h2o/http2.h>
#include <h2o/http2_internal.h>

/* How long stop waits for open connections to finish (iterations of 10 ms). */
#define ED_HTTP_DRAIN_ROUNDS 300

/* ---- shared helpers (http_int.h) ---- */

static const char *reason_for(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

h2o_iovec_t ed__http_path(const h2o_req_t *req) {
  size_t len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
  return h2o_iovec_init(req->path.base, len);
}

int ed__http_is_get(const h2o_req_t *req) {
  return h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"));
}

void ed__http_send(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len) {
  req->res.status = status;
  req->res.reason = reason_for(status);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype, strlen(ctype));
  if (status == 503)
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
  req->res.content_length = len;
  h2o_send_inline(req, body, len); /* copies @p body into req->pool */
}

static const char oom_body[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";

void ed__http_send_json(h2o_req_t *req, int status, const ed_buf_t *b) {
  if (ed_buf_failed(b) || b->data == NULL) {
    ed__http_send(req, 500, "application/json", oom_body, sizeof oom_body - 1);
    return;
  }
  ed__http_send(req, status, "application/json", b->data, b->len);
}

ed_query_enc_t ed__http_encoding(const h2o_req_t *req) {
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1);
  if (i < 0) return ED_QUERY_JSON;
  h2o_iovec_t v = req->headers.entries[i].value;
  return ed_query_accept(v.base, v.len);
}

void ed__http_send_error(h2o_req_t *req, ed_buf_t *scratch, int status, const char *code,
                         const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
  ed_query_enc_t enc = ed__http_encoding(req);
  ed_buf_reset(scratch);
  ed_query_error_encode(scratch, enc, status, code, msg, len);
  if (ed_buf_failed(scratch) || (scratch->data == NULL && enc == ED_QUERY_JSON)) {
    ed__http_send(req, 500, "application/json", oom_body, sizeof oom_body - 1);
    return;
  }
  ed__http_send(req, status, ed_query_content_type(enc), scratch->data ? scratch->data : "",
                scratch->len);
}

void ed__http_send_not_found(h2o_req_t *req, ed_buf_t *scratch) {
  h2o_iovec_t path = ed__http_path(req);
  int n = path.len > 200 ? 200 : (int)path.len; /* long paths: the start is enough */
  ed__http_send_error(req, scratch, 404, "not_found", "no such endpoint: %.*s %.*s%s",
                      (int)req->method.len, req->method.base, n, path.base,
                      (size_t)n < path.len ? "..." : "");
}

void ed__http_send_not_allowed(h2o_req_t *req, ed_buf_t *scratch) {
  h2o_iovec_t path = ed__http_path(req);
  int n = path.len > 200 ? 200 : (int)path.len;
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET"));
  ed__http_send_error(req, scratch, 405, "method_not_allowed",
                      "method %.*s is not allowed on %.*s%s; use GET", (int)req->method.len,
                      req->method.base, n, path.base, (size_t)n < path.len ? "..." : "");
}

static void handler_dispose(h2o_handler_t *self) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  ed_buf_fini(&h->scratch);
}

ed__http_handler_t *ed__http_handler_create(h2o_pathconf_t *pc, ed_engine_t *engine,
                                            int (*on_req)(h2o_handler_t *, h2o_req_t *)) {
  ed__http_handler_t *h = (ed__http_handler_t *)h2o_create_handler(pc, sizeof *h);
  h->engine = engine;
  ed_buf_init(&h->scratch);
  h->super.on_req = on_req;
  h->super.dispose = handler_dispose;
  return h;
}

/* Everything outside the registered paths: a JSON 404 (414 when the target
 * is over the limit). */
static int fallback_on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  if (req->path.len > ED_HTTP_MAX_PATH) {
    ed__http_send_error(req, &h->scratch, 414, "uri_too_long",
                        "the request target is %zu bytes; the limit is %d bytes", req->path.len,
                        ED_HTTP_MAX_PATH);
    return 0;
  }
  ed__http_send_not_found(req, &h->scratch);
  return 0;
}

/* ---- listening ---- */

/* Splits "host:port" ("[v6]:port", ":port" and "*:port" bind all). */
static int parse_listen(const char *listen, char *host, size_t hostlen, char *port,
                        size_t portlen) {
  const char *colon = strrchr(listen, ':');
  if (colon == NULL || colon[1] == '\0') return -1;
  const char *h = listen;
  size_t n = (size_t)(colon - listen);
  if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
    h++;
    n -= 2;
  }
  if (n == 1 && h[0] == '*') n = 0;
  if (n >= hostlen || strlen(colon + 1) >= portlen) return -1;
  memcpy(host, h, n);
  host[n] = '\0';
  for (const char *c = colon + 1; *c; c++)
    if (*c < '0' || *c > '9') return -1;
  long pv = strtol(colon + 1, NULL, 10);
  if (pv > 65535) return -1;
  snprintf(port, portlen, "%s", colon + 1);
  return 0;
}

static int open_listener(const char *addr, int *port_out, char *err, size_t errlen) {
  char host[256], port[16];
  if (addr == NULL || parse_listen(addr, host, sizeof host, port, sizeof port) != 0) {
    snprintf(err, errlen, "bad listen address '%s' (want host:port)", addr ? addr : "");
    return -1;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (gai != 0) {
    snprintf(err, errlen, "listen address '%s': %s", addr, gai_strerror(gai));
    return -1;
  }
  int fd = -1, saved = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) break;
    saved = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(saved ? saved : EINVAL));
    return -1;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
    snprintf(err, errlen, "getsockname: %s", strerror(errno));
    close(fd);
    return -1;
  }
  *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* dup() with close-on-exec. */
static int fcntl_dup(int fd) { return fcntl(fd, F_DUPFD_CLOEXEC, 0); }

/* ---- TLS ---- */

static void ssl_error(const char *what, const char *file, char *err, size_t errlen) {
  char ossl[256] = "";
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, ossl, sizeof ossl);
  ERR_clear_error();
  snprintf(err, errlen, "http.tls: %s %s: %s", what, file ? file : "", ossl[0] ? ossl : "failed");
}

static SSL_CTX *ssl_ctx_create(const char *cert, const char *key, char *err, size_t errlen) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) {
    ssl_error("cannot create the TLS context", NULL, err, errlen);
    return NULL;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    ssl_error("cannot load the certificate", cert, err, errlen);
  } else if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    ssl_error("cannot load the private key", key, err, errlen);
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    ssl_error("the key does not match the certificate", key, err, errlen);
  } else {
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    return ctx;
  }
  SSL_CTX_free(ctx);
  return NULL;
}

/* ---- workers ---- */

static void on_sock_close(void *data) {
  ed__http_worker_t *w = data;
  atomic_fetch_sub(&w->conns, 1);
  atomic_fetch_sub(&w->srv->metrics.conns_open, 1);
}

static void on_accept(h2o_socket_t *listener, const char *err) {
  ed__http_worker_t *w = listener->data;
  if (err != NULL) return;
  for (int i = 0; i < 16; i++) { /* a few per wake-up, like h2o's own server */
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) break;
    atomic_fetch_add(&w->conns, 1);
    atomic_fetch_add(&w->srv->metrics.conns_open, 1);
    sock->on_close.cb = on_sock_close;
    sock->on_close.data = w;
    h2o_accept(&w->accept_ctx, sock);
  }
}

static void drain_messages(h2o_linklist_t *messages) {
  while (!h2o_linklist_is_empty(messages)) {
    h2o_multithread_message_t *m =
        H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
    h2o_linklist_unlink(&m->link);
  }
}

static void on_stop_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages) {
  ed__http_worker_t *w = H2O_STRUCT_FROM_MEMBER(ed__http_worker_t, stop_receiver, receiver);
  drain_messages(messages);
  w->stopping = 1;
}

/* A commit listener woke the loop: re-check the views it marked. The
 * message is unlinked before the marks are taken, so a listener that finds
 * no marks may link it again at once (ed__wait_on_commit). */
static void on_commit_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages) {
  ed__http_worker_t *w = H2O_STRUCT_FROM_MEMBER(ed__http_worker_t, commit_receiver, receiver);
  drain_messages(messages);
  uint64_t views = atomic_exchange(&w->dirty, 0);
  if (views != 0) ed__wait_recheck(w, views);
}

/* The /v1 path registered by handler_views.c, or NULL. */
static h2o_pathconf_t *find_path(h2o_hostconf_t *host, const char *path) {
  for (size_t i = 0; i < host->paths.size; i++) {
    h2o_pathconf_t *pc = host->paths.entries + i;
    if (h2o_memis(pc->path.base, pc->path.len, path, strlen(path))) return pc;
  }
  return NULL;
}

/* Builds worker @p i's configuration, context and listener on @p fd (taken
 * over). Returns ED_OK or ED_ENOMEM (then fini_worker cleans up). */
static int init_worker(ed_http_t *h, ed__http_worker_t *w, int i, int fd) {
  w->srv = h;
  w->index = i;
  h2o_config_init(&w->config);
  w->config.server_name = h2o_iovec_init(H2O_STRLIT("eddy"));
  h2o_hostconf_t *host =
      h2o_config_register_host(&w->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  ed__handler_health_register(host, h);
  ed__handler_metrics_register(host, h);
  ed__handler_cluster_register(host, h); /* before /v1: h2o takes the first match */
  ed__handler_views_register(host, w);
  ed__http_handler_create(h2o_config_register_path(host, "/", 0), NULL, fallback_on_req);
  /* pathconf pointers are stable from here on (no more registrations) */
  h2o_pathconf_t *v1 = find_path(host, "/v1");
  if (v1 != NULL) ed__wait_register(v1, w);
  for (size_t k = 0; k < host->paths.size; k++)
    ed__http_metrics_attach(host->paths.entries + k, h);

  w->loop = h2o_evloop_create();
  h2o_context_init(&w->ctx, w->loop, &w->config);
  w->accept_ctx.ctx = &w->ctx;
  w->accept_ctx.hosts = w->config.hosts;
  w->accept_ctx.ssl_ctx = h->ssl_ctx;
  w->queue = h2o_multithread_create_queue(w->loop);
  h2o_multithread_register_receiver(w->queue, &w->stop_receiver, on_stop_message);
  h2o_multithread_register_receiver(w->queue, &w->commit_receiver, on_commit_message);
  w->listener = h2o_evloop_socket_create(w->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  w->listener->data = w;
  h2o_socket_read_start(w->listener, on_accept);
  w->route = ed__route_create(w);
  if (w->route == NULL) return ED_ENOMEM;
  return ed__wait_init(w);
}

/* Frees the worker's h2o state (not @p w itself). */
static void fini_worker(ed__http_worker_t *w) {
  if (w->loop == NULL) {
    h2o_config_dispose(&w->config);
    return;
  }
  h2o_multithread_queue_t *ctx_queue = w->ctx.queue;
  if (w->listener != NULL) h2o_socket_close(w->listener);
  w->listener = NULL;
  ed__wait_fini(w);
  ed__route_stop(w->route);
  ed__route_destroy(w->route);
  w->route = NULL;
  h2o_multithread_unregister_receiver(w->queue, &w->stop_receiver);
  h2o_multithread_unregister_receiver(w->queue, &w->commit_receiver);
  h2o_multithread_destroy_queue(w->queue);
  h2o_context_dispose(&w->ctx); /* destroys ctx_queue */
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR <= 2
  /* h2o 2.2's evloop h2o_multithread_destroy_queue() closes the queue's
   * sockets but never frees the queue itself (fixed in later versions) */
  free(w->queue);
  free(ctx_queue);
#else
  (void)ctx_queue;
#endif
  h2o_evloop_run(w->loop, 0); /* let closed sockets be released */
  h2o_evloop_destroy(w->loop);
  w->loop = NULL;
  h2o_config_dispose(&w->config);
}

/* h2o 2.2 keeps per-thread free lists (memory pool chunks, socket buffers)
 * in thread-local variables that nothing frees when the thread ends. The
 * server thread empties them before it returns, so a stopped server leaves
 * no memory behind. */
static void drain_recycle(h2o_mem_recycle_t *r) {
  while (r->cnt != 0)
    free(h2o_mem_alloc_recycle(r, 1));
}

void ed__http_note_request(h2o_req_t *req) {
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR <= 2
  /* HTTP/2 connections take their write buffers from a thread-local
   * prototype private to h2o; a connection's buffer leads to it */
  if (req->version < 0x200 || req->conn == NULL) return;
  ed__http_worker_t *w = H2O_STRUCT_FROM_MEMBER(ed__http_worker_t, ctx, req->conn->ctx);
  if (w->h2_wbuf != NULL) return;
  h2o_buffer_t *buf = ((h2o_http2_conn_t *)req->conn)->_write.buf;
  if (buf == NULL) return;
  w->h2_wbuf = buf->_prototype != NULL
                   ? buf->_prototype
                   : H2O_STRUCT_FROM_MEMBER(h2o_buffer_prototype_t, _initial_buf, buf);
#else
  (void)req;
#endif
}

static void drain_thread_caches(ed__http_worker_t *w) {
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR <= 2
  drain_recycle(&h2o_socket_buffer_prototype.allocator);
  if (w->h2_wbuf != NULL) drain_recycle(&w->h2_wbuf->allocator);
  /* the pool's chunk cache is private to h2o: take every cached chunk into a
   * pool (four 1008-byte allocations fill a 4 KiB chunk; larger ones would
   * bypass the chunks), then free the chunks, whose first word links them */
  h2o_mem_pool_t pool;
  h2o_mem_init_pool(&pool);
  for (int i = 0; i < 4 * 32; i++)
    h2o_mem_alloc_pool(&pool, 1008);
  for (void *chunk = pool.chunks; chunk != NULL;) {
    void *next = *(void **)chunk;
    free(chunk);
    chunk = next;
  }
#else
  (void)w;
#endif
}

static void *worker_main(void *arg) {
  ed__http_worker_t *w = arg;
  while (!w->stopping)
    h2o_evloop_run(w->loop, INT32_MAX);

  h2o_socket_read_stop(w->listener);
  h2o_socket_close(w->listener);
  w->listener = NULL;
  ed__wait_fini(w); /* parked requests get a 503 */
  ed__route_stop(w->route); /* and so do routed ones */

  /* h2o 2.2 has no way to close idle connections from outside: make their
   * timeouts (HTTP/1 request, HTTP/2 idle, TLS handshake) expire now, so
   * each one closes on the next turn; a connection busy writing picks the
   * timeout up when its write ends. */
  w->ctx.http1.req_timeout.timeout = 0;
  w->ctx.http2.idle_timeout.timeout = 0;
  w->ctx.handshake_timeout.timeout = 0;
  for (int i = 0; i < ED_HTTP_DRAIN_ROUNDS && atomic_load(&w->conns) > 0; i++)
    h2o_evloop_run(w->loop, 10);
  if (atomic_load(&w->conns) > 0) {
    /* a client that stopped reading: h2o cannot free a live connection, so
     * leave the server's h2o state to the process exit rather than crash */
    ed_log_warn("http: connections still open at stop; leaving them to the process exit");
    w->leaked = 1;
    return NULL;
  }
  fini_worker(w);
  drain_thread_caches(w);
  return NULL;
}

/* ---- public API ---- */

static void stop_workers(ed_http_t *h) {
  int leaked = 0;
  for (int i = 0; i < h->nworkers; i++) {
    ed__http_worker_t *w = &h->workers[i];
    if (w->started) {
      h2o_multithread_send_message(&w->stop_receiver, &w->stop_msg);
      pthread_join(w->thread, NULL); /* the thread tore h2o down */
      leaked |= w->leaked;
    } else {
      fini_worker(w);
    }
  }
  if (leaked) return; /* the leaked workers' state points into h */
  if (h->ssl_ctx) SSL_CTX_free(h->ssl_ctx);
  if (h->fwd_stats != NULL) pthread_mutex_destroy(&h->fwd_stats->mu);
  free(h->fwd_stats);
  free(h->workers);
  free(h);
}

int ed_http_start(const ed_http_conf_t *conf, ed_http_t **out, char *err, size_t errlen) {
  *out = NULL;
  int nthreads = conf->threads > 0 ? conf->threads : 1;
  if (nthreads > ED_HTTP_MAX_THREADS) {
    snprintf(err, errlen, "http.threads: at most %d", ED_HTTP_MAX_THREADS);
    return ED_EINVAL;
  }
  if ((conf->tls_cert == NULL) != (conf->tls_key == NULL)) {
    snprintf(err, errlen, "http.tls: needs both cert and key");
    return ED_EINVAL;
  }
  int port = 0;
  int fd = open_listener(conf->listen, &port, err, errlen);
  if (fd < 0) return ED_EINVAL;

  ed_http_t *h = calloc(1, sizeof *h);
  ed__http_worker_t *workers = calloc((size_t)nthreads, sizeof *workers);
  struct ed__fwd_stats *fs = calloc(1, sizeof *fs);
  if (h == NULL || workers == NULL || fs == NULL) {
    free(h);
    free(workers);
    free(fs);
    close(fd);
    snprintf(err, errlen, "out of memory");
    return ED_ENOMEM;
  }
  pthread_mutex_init(&fs->mu, NULL);
  h->fwd_stats = fs;
  h->engine = conf->engine;
  h->members = conf->members;
  h->port = port;
  h->ready_max_lag = conf->ready_max_lag >= 0 ? conf->ready_max_lag : 1000;
  if (conf->instance_id != NULL)
    snprintf(h->instance_id, sizeof h->instance_id, "%s", conf->instance_id);
  else
    snprintf(h->instance_id, sizeof h->instance_id, "localhost:%d", port);
  if (conf->advertised_url != NULL)
    snprintf(h->advertised_url, sizeof h->advertised_url, "%s", conf->advertised_url);
  else
    snprintf(h->advertised_url, sizeof h->advertised_url, "%s://localhost:%d",
             conf->tls_cert ? "https" : "http", port);
  h->workers = workers;
  h->nworkers = nthreads;
  if (conf->tls_cert != NULL) {
    h->ssl_ctx = ssl_ctx_create(conf->tls_cert, conf->tls_key, err, errlen);
    if (h->ssl_ctx == NULL) {
      close(fd);
      free(workers);
      pthread_mutex_destroy(&fs->mu);
      free(fs);
      free(h);
      return ED_EINVAL;
    }
  }

  int rc = ED_OK;
  for (int i = 0; i < nthreads && rc == ED_OK; i++) {
    int wfd = i == 0 ? fd : fcntl_dup(fd);
    if (wfd < 0) {
      snprintf(err, errlen, "cannot duplicate the listening socket: %s", strerror(errno));
      rc = ED_EIO;
      break;
    }
    rc = init_worker(h, &workers[i], i, wfd);
    if (rc != ED_OK) snprintf(err, errlen, "out of memory");
  }

  /* The server threads take no process signals: SIGPIPE from a write to a
   * closed connection stays pending instead of killing the process, and
   * SIGINT/SIGTERM go to the embedding program's threads. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  for (int i = 0; i < nthreads && rc == ED_OK; i++) {
    int prc = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
    if (prc != 0) {
      snprintf(err, errlen, "cannot start an HTTP thread: %s", strerror(prc));
      rc = ED_ENOMEM;
      break;
    }
    workers[i].started = 1;
    char name[16];
    snprintf(name, sizeof name, "eddy-http-%d", i % 100);
    pthread_setname_np(workers[i].thread, name);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc == ED_OK && ed_engine_on_commit(conf->engine, ed__wait_on_commit, h) != ED_OK) {
    snprintf(err, errlen, "cannot listen to the engine's commits (started already?)");
    rc = ED_ESTATE;
  }
  if (rc != ED_OK) {
    stop_workers(h);
    return rc;
  }
  ed_log_info("http: listening on %s (port %d, %d thread%s%s)", conf->listen, port, nthreads,
              nthreads == 1 ? "" : "s", h->ssl_ctx ? ", TLS" : "");
  *out = h;
  return ED_OK;
}

int ed_http_port(const ed_http_t *h) { return h ? h->port : 0; }

void ed_http_stop(ed_http_t *h) {
  if (h == NULL) return;
  stop_workers(h);
}
