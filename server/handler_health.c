/* GET /healthz: liveness. Answers as soon as the server is up. */
#include <string.h>

#include "server/http_int.h"

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  h2o_iovec_t path = ed__http_path(req);
  if (!h2o_memis(path.base, path.len, H2O_STRLIT("/healthz"))) {
    ed__http_send_not_found(req, &h->scratch);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    ed__http_send_not_allowed(req, &h->scratch);
    return 0;
  }
  ed__http_send(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
  return 0;
}

void ed__handler_health_register(h2o_hostconf_t *host) {
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/healthz", 0);
  ed__http_handler_create(pc, NULL, on_req);
}
