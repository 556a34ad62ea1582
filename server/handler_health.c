/* GET /healthz: liveness. Answers as soon as the server is up.
 * GET /readyz: readiness. 200 "ready" once at least one partition is
 * assigned here and every assigned partition of every view is within
 * http.ready_max_lag records of its input's end (high watermark - next
 * offset), and the steps feeding a repartitioned view are as close to their
 * inputs' ends; otherwise 503 with JSON naming what is behind. */
#include <inttypes.h>
#include <string.h>

#include "query/query.h"
#include "server/http_int.h"

int ed__http_readiness(ed_engine_t *e, int64_t max_lag, ed_buf_t *out) {
  size_t nv = ed_engine_view_count(e);
  size_t assigned = 0, behind = 0;
  ed_buf_t list; /* the partitions behind, as JSON objects */
  ed_buf_init(&list);
  for (size_t i = 0; i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    const char *name = ed_view_def(v)->name;
    /* A repartitioned view is only as current as the step feeding it. */
    int64_t up = ed_view_upstream_lag(v);
    if (up < 0 || up > max_lag) {
      ed_buf_puts(&list, behind++ ? ",{\"view\":" : "{\"view\":");
      ed_buf_append_json_string(&list, name, strlen(name));
      if (up >= 0)
        ed_buf_printf(&list, ",\"upstream_lag\":%" PRId64 "}", up);
      else
        ed_buf_puts(&list, ",\"upstream_lag\":null}");
    }
    for (int32_t p = 0; p < ed_view_partition_count(v); p++) {
      ed_view_position_t pos;
      if (ed_view_position(v, p, &pos) != 0 || !pos.assigned) continue;
      assigned++;
      int64_t off = pos.offset > 0 ? pos.offset : 0;
      int64_t lag = pos.high_watermark >= 0 ? pos.high_watermark - off : -1;
      if (lag >= 0 && lag <= max_lag) continue;
      ed_buf_puts(&list, behind++ ? ",{\"view\":" : "{\"view\":");
      ed_buf_append_json_string(&list, name, strlen(name));
      ed_buf_printf(&list,
                    ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"high_watermark\":%" PRId64,
                    p, pos.offset, pos.high_watermark);
      if (lag >= 0)
        ed_buf_printf(&list, ",\"lag\":%" PRId64 "}", lag);
      else
        ed_buf_puts(&list, ",\"lag\":null}"); /* the input's end is not known yet */
    }
  }
  ed_buf_reset(out);
  if (assigned > 0 && behind == 0) {
    ed_buf_fini(&list);
    ed_buf_puts(out, "ready\n");
    return 200;
  }
  ed_buf_puts(out, "{\"error\":{\"code\":\"unavailable\",\"message\":\"");
  if (assigned == 0)
    ed_buf_puts(out, "no partitions assigned yet");
  else
    ed_buf_printf(out,
                  "%zu of %zu assigned partitions are more than %" PRId64
                  " records behind (or their input's end is not known yet)",
                  behind, assigned, max_lag);
  ed_buf_puts(out, "\"},\"max_lag\":");
  ed_buf_append_i64(out, max_lag);
  ed_buf_puts(out, ",\"behind\":[");
  if (list.len > 0) ed_buf_append(out, list.data, list.len);
  ed_buf_puts(out, "]}");
  if (ed_buf_failed(&list)) out->failed = 1;
  ed_buf_fini(&list);
  return 503;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  h2o_iovec_t path = ed__http_path(req);
  int ready = h2o_memis(path.base, path.len, H2O_STRLIT("/readyz"));
  if (!ready && !h2o_memis(path.base, path.len, H2O_STRLIT("/healthz"))) {
    ed__http_send_not_found(req, &h->scratch);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    ed__http_send_not_allowed(req, &h->scratch);
    return 0;
  }
  if (!ready) {
    ed__http_send(req, 200, "text/plain; charset=utf-8", "ok\n", 3);
    return 0;
  }
  int status = ed__http_readiness(h->engine, h->srv->ready_max_lag, &h->scratch);
  if (status == 200)
    ed__http_send(req, 200, "text/plain; charset=utf-8", h->scratch.data, h->scratch.len);
  else
    ed__http_send_json(req, status, &h->scratch);
  return 0;
}

void ed__handler_health_register(h2o_hostconf_t *host, ed_http_t *srv) {
  const char *paths[] = {"/healthz", "/readyz"};
  for (size_t i = 0; i < 2; i++) {
    h2o_pathconf_t *pc = h2o_config_register_path(host, paths[i], 0);
    ed__http_handler_t *h = ed__http_handler_create(pc, srv->engine, on_req);
    h->srv = srv;
  }
}
