/* The HTTP server: one h2o evloop on its own thread.
 *
 * Start binds the listening socket on the caller's thread (so bind errors
 * are reported synchronously), builds h2o's configuration and context, then
 * runs the loop on a dedicated thread. Stop sends a message through an h2o
 * multithread queue that wakes the loop; the loop then closes the listener,
 * expires idle keep-alive connections and returns, and stop joins and frees.
 */
#include "server/http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "query/query.h"
#include "server/http_int.h"

/* How long stop waits for open connections to finish (iterations of 10 ms). */
#define ED_HTTP_DRAIN_ROUNDS 300

struct ed_http {
  ed_engine_t *engine; /* borrowed */
  int port;
  h2o_globalconf_t config;
  h2o_context_t ctx;
  h2o_accept_ctx_t accept_ctx;
  h2o_evloop_t *loop;
  h2o_socket_t *listener;
  h2o_multithread_queue_t *queue;
  h2o_multithread_receiver_t stop_receiver;
  h2o_multithread_message_t stop_msg;
  int stopping; /* server thread only */
  int leaked;   /* set by the server thread: h2o state left to process exit */
  pthread_t thread;
};

/* ---- shared helpers (http_int.h) ---- */

static const char *reason_for(int status) {
  switch (status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
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

void ed__http_send_not_found(h2o_req_t *req, ed_buf_t *scratch) {
  h2o_iovec_t path = ed__http_path(req);
  ed_buf_reset(scratch);
  ed_query_error(scratch, 404, "not_found", "no such endpoint: %.*s %.*s", (int)req->method.len,
                 req->method.base, (int)path.len, path.base);
  ed__http_send_json(req, 404, scratch);
}

void ed__http_send_not_allowed(h2o_req_t *req, ed_buf_t *scratch) {
  h2o_iovec_t path = ed__http_path(req);
  ed_buf_reset(scratch);
  ed_query_error(scratch, 405, "method_not_allowed", "method %.*s is not allowed on %.*s; use GET",
                 (int)req->method.len, req->method.base, (int)path.len, path.base);
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET"));
  ed__http_send_json(req, 405, scratch);
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

/* Everything outside /healthz and /v1: a JSON 404. */
static int fallback_on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
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

static void on_accept(h2o_socket_t *listener, const char *err) {
  ed_http_t *h = listener->data;
  if (err != NULL) return;
  for (int i = 0; i < 16; i++) { /* a few per wake-up, like h2o's own server */
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL) break;
    h2o_accept(&h->accept_ctx, sock);
  }
}

/* Frees the h2o state (not @p h itself). */
static void teardown(ed_http_t *h) {
  h2o_multithread_queue_t *ctx_queue = h->ctx.queue;
  if (h->listener != NULL) h2o_socket_close(h->listener);
  h->listener = NULL;
  h2o_multithread_unregister_receiver(h->queue, &h->stop_receiver);
  h2o_multithread_destroy_queue(h->queue);
  h2o_context_dispose(&h->ctx); /* destroys ctx_queue */
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR <= 2
  /* h2o 2.2's evloop h2o_multithread_destroy_queue() closes the queue's
   * sockets but never frees the queue itself (fixed in later versions) */
  free(h->queue);
  free(ctx_queue);
#else
  (void)ctx_queue;
#endif
  h2o_evloop_run(h->loop, 0); /* let closed sockets be released */
  h2o_evloop_destroy(h->loop);
  h2o_config_dispose(&h->config);
}

/* h2o 2.2 keeps per-thread free lists (memory pool chunks, socket buffers)
 * in thread-local variables that nothing frees when the thread ends. The
 * server thread empties them before it returns, so a stopped server leaves
 * no memory behind. */
static void drain_thread_caches(void) {
#if H2O_VERSION_MAJOR == 2 && H2O_VERSION_MINOR <= 2
  h2o_mem_recycle_t *r = &h2o_socket_buffer_prototype.allocator;
  while (r->cnt != 0)
    free(h2o_mem_alloc_recycle(r, 1));
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
#endif
}

/* ---- the server thread ---- */

static void on_stop_message(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages) {
  ed_http_t *h = (ed_http_t *)((char *)receiver - offsetof(ed_http_t, stop_receiver));
  while (!h2o_linklist_is_empty(messages)) {
    h2o_multithread_message_t *m =
        H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
    h2o_linklist_unlink(&m->link);
  }
  h->stopping = 1;
}

static int conns_open(ed_http_t *h) { return !h2o_linklist_is_empty(&h->ctx.http1._conns); }

static void *server_main(void *arg) {
  ed_http_t *h = arg;
  while (!h->stopping)
    h2o_evloop_run(h->loop, INT32_MAX);

  h2o_socket_read_stop(h->listener);
  h2o_socket_close(h->listener);
  h->listener = NULL;

  /* h2o 2.2 has no way to close idle HTTP/1 connections from outside: make
   * their request timeout expire now, so each one closes on the next turn;
   * a connection busy writing picks the timeout up when its write ends. */
  h->ctx.http1.req_timeout.timeout = 0;
  for (int i = 0; i < ED_HTTP_DRAIN_ROUNDS && conns_open(h); i++)
    h2o_evloop_run(h->loop, 10);
  if (conns_open(h)) {
    /* a client that stopped reading: h2o cannot free a live connection, so
     * leave the server's h2o state to the process exit rather than crash */
    ed_log_warn("http: connections still open at stop; leaving them to the process exit");
    h->leaked = 1;
    return NULL;
  }
  teardown(h);
  drain_thread_caches();
  return NULL;
}

/* ---- public API ---- */

int ed_http_start(const ed_http_conf_t *conf, ed_http_t **out, char *err, size_t errlen) {
  *out = NULL;
  int port = 0;
  int fd = open_listener(conf->listen, &port, err, errlen);
  if (fd < 0) return ED_EINVAL;

  ed_http_t *h = calloc(1, sizeof *h);
  if (h == NULL) {
    close(fd);
    snprintf(err, errlen, "out of memory");
    return ED_ENOMEM;
  }
  h->engine = conf->engine;
  h->port = port;

  h2o_config_init(&h->config);
  h->config.server_name = h2o_iovec_init(H2O_STRLIT("eddy"));
  h2o_hostconf_t *host =
      h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  ed__handler_health_register(host);
  ed__handler_views_register(host, conf->engine);
  ed__http_handler_create(h2o_config_register_path(host, "/", 0), NULL, fallback_on_req);

  h->loop = h2o_evloop_create();
  h2o_context_init(&h->ctx, h->loop, &h->config);
  h->accept_ctx.ctx = &h->ctx;
  h->accept_ctx.hosts = h->config.hosts;
  h->queue = h2o_multithread_create_queue(h->loop);
  h2o_multithread_register_receiver(h->queue, &h->stop_receiver, on_stop_message);

  h->listener = h2o_evloop_socket_create(h->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h->listener->data = h;
  h2o_socket_read_start(h->listener, on_accept);

  /* The server thread takes no process signals: SIGPIPE from a write to a
   * closed connection stays pending instead of killing the process, and
   * SIGINT/SIGTERM go to the embedding program's threads. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int rc = pthread_create(&h->thread, NULL, server_main, h);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    snprintf(err, errlen, "cannot start the HTTP thread: %s", strerror(rc));
    teardown(h);
    free(h);
    return ED_ENOMEM;
  }
  ed_log_info("http: listening on %s (port %d)", conf->listen, port);
  *out = h;
  return ED_OK;
}

int ed_http_port(const ed_http_t *h) { return h ? h->port : 0; }

void ed_http_stop(ed_http_t *h) {
  if (h == NULL) return;
  h2o_multithread_send_message(&h->stop_receiver, &h->stop_msg);
  pthread_join(h->thread, NULL); /* the thread tore h2o down */
  if (!h->leaked) free(h);
}
