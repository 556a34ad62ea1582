/* GET /v1/cluster: the cluster map (server/cluster.h), in JSON or, with
 * Accept: application/x-protobuf, as the protobuf ClusterMap: this
 * instance (first, from the engine) and every other live instance the
 * members topic reader knows (server/members.h), the most recent
 * assignment change first, so the owner of a partition two instances claim
 * during a rebalance is this instance or else the newest claim. */
#include <string.h>

#include "common/err.h"
#include "server/cluster.h"
#include "server/http_int.h"
#include "server/members.h"

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  h2o_iovec_t path = ed__http_path(req);
  if (!h2o_memis(path.base, path.len, H2O_STRLIT("/v1/cluster")) &&
      !h2o_memis(path.base, path.len, H2O_STRLIT("/v1/cluster/"))) {
    ed__http_send_not_found(req, &h->scratch);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    ed__http_send_not_allowed(req, &h->scratch);
    return 0;
  }
  ed_query_enc_t enc = ed__http_encoding(req);
  ed_cluster_self_t me = {.instance_id = h->srv->instance_id,
                          .advertised_url = h->srv->advertised_url};
  ed_cluster_t map;
  ed_cluster_init(&map);
  ed_buf_reset(&h->scratch);
  int rc = ed_cluster_snapshot(h->engine, &me, &map);
  if (rc == ED_OK) rc = ed_members_add_to(h->srv->members, &map);
  if (rc == ED_OK) rc = ed_cluster_encode(&map, enc, &h->scratch);
  ed_cluster_fini(&map);
  if (rc != ED_OK) {
    ed__http_send_error(req, &h->scratch, 500, "internal", "out of memory");
    return 0;
  }
  ed__http_send(req, 200, ed_query_content_type(enc), h->scratch.data, h->scratch.len);
  return 0;
}

void ed__handler_cluster_register(h2o_hostconf_t *host, ed_http_t *srv) {
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/v1/cluster", 0);
  ed__http_handler_t *h = ed__http_handler_create(pc, srv->engine, on_req);
  h->srv = srv;
}
