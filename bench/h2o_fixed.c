/* The ceiling of the HTTP layer for bench/query_bench.sh: an h2o (evloop)
 * server on one thread, like eddy's, answering every request with a fixed
 * 20-byte body. Usage: h2o_fixed PORT */
#define _GNU_SOURCE
#define H2O_USE_LIBUV 0
#include <netdb.h>
#include <netinet/in.h>

#include <h2o.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  (void)self;
  static const char body[] = "{\"value\":1234567890}"; /* 20 bytes */
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("application/json"));
  req->res.content_length = sizeof body - 1;
  h2o_send_inline(req, body, sizeof body - 1);
  return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err) {
  if (err != NULL) return;
  h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
  if (sock != NULL) h2o_accept(&accept_ctx, sock);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: h2o_fixed PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  h2o_config_init(&config);
  h2o_hostconf_t *host =
      h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_handler_t *h = h2o_create_handler(h2o_config_register_path(host, "/", 0), sizeof *h);
  h->on_req = on_req;
  h2o_evloop_t *loop = h2o_evloop_create();
  h2o_context_init(&ctx, loop, &config);
  accept_ctx.ctx = &ctx;
  accept_ctx.hosts = config.hosts;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7f000001);
  addr.sin_port = htons((uint16_t)atoi(argv[1]));
  int fd = socket(AF_INET, SOCK_STREAM, 0), on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1024) != 0) {
    perror("h2o_fixed: listen");
    return 1;
  }
  h2o_socket_t *sock = h2o_evloop_socket_create(loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  h2o_socket_read_start(sock, on_accept);
  for (;;) h2o_evloop_run(loop, INT32_MAX);
}
