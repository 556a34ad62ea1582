/* GET /metrics: Prometheus text format 0.0.4.
 *
 * The engine's series come from ed_view_stats(), ed_view_bad_reasons(),
 * ed_view_commit_latency() and ed_view_position() at scrape time. The HTTP
 * layer's series (queries by endpoint and status, their duration, open
 * connections) are counted here: an h2o logger on every path runs when a
 * request is done and observes the time from the request's start (h2o's
 * request_begin_at, taken when the loop woke up with its bytes) to then,
 * min_offset waits included. Counters are relaxed atomics shared by the
 * server's workers. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "server/forward.h"
#include "server/http_int.h"

static const int counted_status[ED__HTTP_NSTATUS] = {0,   200, 204, 304, 400, 404, 405, 406, 408,
                                                     413, 414, 415, 429, 500, 502, 503, 504};

static const char *const endpoint_names[ED_EP_COUNT] = {
    "views", "key", "rows", "multiget", "healthz", "readyz", "metrics", "cluster", "other"};

/* ---- classification and counting ---- */

static int is(const char *p, size_t len, const char *lit) {
  return len == strlen(lit) && memcmp(p, lit, len) == 0;
}

ed__http_endpoint_t ed__http_classify(const char *m, size_t mlen, const char *p, size_t plen) {
  (void)m;
  (void)mlen;
  if (is(p, plen, "/healthz")) return ED_EP_HEALTHZ;
  if (is(p, plen, "/readyz")) return ED_EP_READYZ;
  if (is(p, plen, "/metrics")) return ED_EP_METRICS;
  if (is(p, plen, "/v1/cluster")) return ED_EP_CLUSTER;
  if (is(p, plen, "/v1/views") || is(p, plen, "/v1/views/")) return ED_EP_VIEWS;
  static const char prefix[] = "/v1/views/";
  size_t n = sizeof prefix - 1;
  if (plen <= n || memcmp(p, prefix, n) != 0) return ED_EP_OTHER;
  const char *s = p + n, *end = p + plen;
  const char *slash = memchr(s, '/', (size_t)(end - s));
  if (slash == NULL || slash == s) return ED_EP_OTHER;
  const char *rest = slash + 1;
  size_t rlen = (size_t)(end - rest);
  if (is(rest, rlen, "rows")) return ED_EP_ROWS;
  if (is(rest, rlen, "keys")) return ED_EP_MULTIGET;
  if (rlen > 5 && memcmp(rest, "keys/", 5) == 0) return ED_EP_KEY;
  return ED_EP_OTHER;
}

void ed__http_metrics_observe(ed__http_metrics_t *mx, ed__http_endpoint_t ep, int status,
                              int64_t ns) {
  if ((unsigned)ep >= ED_EP_COUNT) ep = ED_EP_OTHER;
  int i = 0;
  while (i < ED__HTTP_NSTATUS && counted_status[i] != status)
    i++;
  atomic_fetch_add_explicit(&mx->queries[ep][i], 1, memory_order_relaxed);
  ed_histogram_observe(&mx->duration[ep], ns);
}

/* ---- text format ---- */

void ed__prom_escape(ed_buf_t *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '\\': ed_buf_puts(out, "\\\\"); break;
    case '"': ed_buf_puts(out, "\\\""); break;
    case '\n': ed_buf_puts(out, "\\n"); break;
    default: ed_buf_putc(out, s[i]);
    }
  }
}

static void family(ed_buf_t *out, const char *name, const char *type, const char *help) {
  ed_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ed__http_metrics_write_http(const ed__http_metrics_t *mx, ed_buf_t *out) {
  family(out, "eddy_queries_total", "counter",
         "HTTP requests answered, by endpoint and status (canceled: the client went away).");
  for (int ep = 0; ep < ED_EP_COUNT; ep++)
    for (int i = 0; i <= ED__HTTP_NSTATUS; i++) {
      uint64_t n = atomic_load_explicit(&mx->queries[ep][i], memory_order_relaxed);
      if (n == 0) continue;
      ed_buf_printf(out, "eddy_queries_total{endpoint=\"%s\",status=\"", endpoint_names[ep]);
      if (i == ED__HTTP_NSTATUS)
        ed_buf_puts(out, "other");
      else if (counted_status[i] == 0)
        ed_buf_puts(out, "canceled");
      else
        ed_buf_printf(out, "%d", counted_status[i]);
      ed_buf_printf(out, "\"} %" PRIu64 "\n", n);
    }
  family(out, "eddy_query_duration_seconds", "histogram",
         "Time from a request's start to its answer, by endpoint (min_offset waits included).");
  for (int ep = 0; ep < ED_EP_COUNT; ep++) {
    char labels[64];
    snprintf(labels, sizeof labels, "endpoint=\"%s\"", endpoint_names[ep]);
    ed_histogram_write(&mx->duration[ep], "eddy_query_duration_seconds", labels, out);
  }
  family(out, "eddy_http_connections_open", "gauge", "Open HTTP connections (TLS included).");
  ed_buf_printf(out, "eddy_http_connections_open %" PRId64 "\n",
                atomic_load_explicit(&mx->conns_open, memory_order_relaxed));
}

/* Appends `view="<escaped name>"` to @p lb (reset first). */

static const char *view_label(ed_buf_t *lb, const ed_view_t *v) {
  const char *name = ed_view_def(v)->name;
  ed_buf_reset(lb);
  ed_buf_puts(lb, "view=\"");
  ed__prom_escape(lb, name, strlen(name));
  ed_buf_puts(lb, "\"");
  return ed_buf_failed(lb) || lb->data == NULL ? "" : lb->data;
}

#define MAX_REASONS 32

static int64_t replica_restored(const ed_view_replica_t *r) { return r->restored; }
static int64_t replica_total(const ed_view_replica_t *r) { return r->restore_total; }
static int64_t replica_lag(const ed_view_replica_t *r) {
  return r->changelog_end >= 0 && r->changelog_offset >= 0 ? r->changelog_end - r->changelog_offset
                                                           : 0;
}

/* One gauge per partition of every view whose copy here has @p role. */
static void replica_family(ed_buf_t *out, ed_engine_t *e, ed_buf_t *lb, const char *name,
                           const char *help, ed_replica_role_t role,
                           int64_t (*value)(const ed_view_replica_t *)) {
  family(out, name, "gauge", help);
  for (size_t i = 0; i < ed_engine_view_count(e); i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    view_label(lb, v);
    for (int32_t p = 0; p < ed_view_partition_count(v); p++) {
      ed_view_replica_t r;
      if (ed_view_replica(v, p, &r) != 0 || r.role != role) continue;
      int64_t x = value(&r);
      ed_buf_printf(out, "%s{%s,partition=\"%" PRId32 "\"} %" PRId64 "\n", name,
                    lb->data ? lb->data : "", p, x > 0 ? x : 0);
    }
  }
}

void ed__http_metrics_write_engine(ed_engine_t *e, ed_buf_t *out) {
  size_t nv = ed_engine_view_count(e);
  ed_buf_t lb;
  ed_buf_init(&lb);
  static const struct {
    const char *name, *help;
    size_t field; /* 0 records_in, 1 late, 2 commits */
  } counters[] = {
      {"eddy_records_in_total", "Records that entered the view's topology.", 0},
      {"eddy_late_records_total", "Records dropped because their window had closed.", 1},
      {"eddy_commits_total", "LMDB commits of the view's state (one per task commit).", 2},
  };
  for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
    family(out, counters[c].name, "counter", counters[c].help);
    for (size_t i = 0; i < nv; i++) {
      ed_view_t *v = ed_engine_view_at(e, i);
      ed_view_stats_t st;
      ed_view_stats(v, &st);
      uint64_t val = counters[c].field == 0   ? st.records_in
                     : counters[c].field == 1 ? st.late_records
                                              : st.commits;
      ed_buf_printf(out, "%s{%s} %" PRIu64 "\n", counters[c].name, view_label(&lb, v), val);
    }
  }

  family(out, "eddy_bad_records_total", "counter", "Records skipped or dead-lettered, by reason.");
  for (size_t i = 0; i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    const char *reasons[MAX_REASONS];
    uint64_t counts[MAX_REASONS];
    size_t n = ed_view_bad_reasons(v, reasons, counts, MAX_REASONS);
    view_label(&lb, v);
    for (size_t k = 0; k < n; k++) {
      ed_buf_printf(out, "eddy_bad_records_total{%s,reason=\"", lb.data ? lb.data : "");
      ed__prom_escape(out, reasons[k], strlen(reasons[k]));
      ed_buf_printf(out, "\"} %" PRIu64 "\n", counts[k]);
    }
  }

  family(out, "eddy_commit_duration_seconds", "histogram", "Duration of one task's LMDB commit.");
  for (size_t i = 0; i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    ed_histogram_write(ed_view_commit_latency(v), "eddy_commit_duration_seconds",
                       view_label(&lb, v), out);
  }

  family(out, "eddy_consumer_lag", "gauge",
         "Records of an assigned input partition not yet reflected in the view's state "
         "(high watermark - next offset).");
  for (size_t i = 0; i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    view_label(&lb, v);
    for (int32_t p = 0; p < ed_view_partition_count(v); p++) {
      ed_view_position_t pos;
      if (ed_view_position(v, p, &pos) != 0 || !pos.assigned || pos.high_watermark < 0) continue;
      int64_t lag = pos.high_watermark - (pos.offset > 0 ? pos.offset : 0);
      ed_buf_printf(out, "eddy_consumer_lag{%s,partition=\"%" PRId32 "\"} %" PRId64 "\n",
                    lb.data ? lb.data : "", p, lag > 0 ? lag : 0);
    }
  }

  /* Restores and standbys (streams/restore.c). */
  replica_family(out, e, &lb, "eddy_restore_records",
                 "Changelog records a restoring partition has applied so far.",
                 ED_REPLICA_RESTORING, replica_restored);
  replica_family(out, e, &lb, "eddy_restore_records_total",
                 "Changelog records a restoring partition must apply in all.", ED_REPLICA_RESTORING,
                 replica_total);
  replica_family(out, e, &lb, "eddy_standby_lag",
                 "Changelog records a standby copy is behind the changelog's end.",
                 ED_REPLICA_STANDBY, replica_lag);

  family(out, "eddy_partitions_assigned", "gauge",
         "Partitions of the view assigned to this instance and running.");
  for (size_t i = 0; i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    ed_view_stats_t st;
    ed_view_stats(v, &st);
    ed_buf_printf(out, "eddy_partitions_assigned{%s} %" PRId32 "\n", view_label(&lb, v),
                  st.assigned);
  }
  if (ed_buf_failed(&lb)) out->failed = 1;
  ed_buf_fini(&lb);
}

/* ---- the handler and the logger ---- */

void ed__http_metrics_write_forward(const ed_http_t *srv, ed_buf_t *out) {
  const struct ed__fwd_stats *fs = srv->fwd_stats;
  size_t n = fs ? atomic_load(&fs->n) : 0;
  family(out, "eddy_forwarded_requests_total", "counter",
         "Requests this instance forwarded to another instance (routing), by peer.");
  for (size_t i = 0; i < n; i++) {
    ed_buf_puts(out, "eddy_forwarded_requests_total{peer=\"");
    ed__prom_escape(out, fs->peers[i].instance_id, strlen(fs->peers[i].instance_id));
    ed_buf_printf(out, "\"} %" PRIu64 "\n", atomic_load(&fs->peers[i].requests));
  }
  family(out, "eddy_forward_failures_total", "counter",
         "Forwarded requests that got no answer (connect, I/O error, timeout), by peer.");
  for (size_t i = 0; i < n; i++) {
    ed_buf_puts(out, "eddy_forward_failures_total{peer=\"");
    ed__prom_escape(out, fs->peers[i].instance_id, strlen(fs->peers[i].instance_id));
    ed_buf_printf(out, "\"} %" PRIu64 "\n", atomic_load(&fs->peers[i].failures));
  }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  h2o_iovec_t path = ed__http_path(req);
  if (!h2o_memis(path.base, path.len, H2O_STRLIT("/metrics"))) {
    ed__http_send_not_found(req, &h->scratch);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    ed__http_send_not_allowed(req, &h->scratch);
    return 0;
  }
  ed_buf_reset(&h->scratch);
  ed__http_metrics_write_engine(h->engine, &h->scratch);
  ed__http_metrics_write_http(&h->srv->metrics, &h->scratch);
  ed__http_metrics_write_forward(h->srv, &h->scratch);
  if (ed_buf_failed(&h->scratch) || h->scratch.data == NULL) {
    ed__http_send(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
    return 0;
  }
  ed__http_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", h->scratch.data,
                h->scratch.len);
  return 0;
}

void ed__handler_metrics_register(h2o_hostconf_t *host, ed_http_t *srv) {
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/metrics", 0);
  ed__http_handler_t *h = ed__http_handler_create(pc, srv->engine, on_req);
  h->srv = srv;
}

typedef struct {
  h2o_logger_t super;
  ed_http_t *srv;
} metrics_logger_t;

static void log_access(h2o_logger_t *self, h2o_req_t *req) {
  metrics_logger_t *l = (metrics_logger_t *)self;
  ed__http_note_request(req);
  struct timeval now;
  gettimeofday(&now, NULL);
  const struct timeval *b = &req->timestamps.request_begin_at;
  int64_t ns = 0;
  if (b->tv_sec != 0)
    ns = ((int64_t)now.tv_sec - (int64_t)b->tv_sec) * 1000000000 +
         ((int64_t)now.tv_usec - (int64_t)b->tv_usec) * 1000;
  h2o_iovec_t path = req->input.path;
  const char *q = memchr(path.base, '?', path.len);
  size_t plen = q ? (size_t)(q - path.base) : path.len;
  ed__http_endpoint_t ep =
      ed__http_classify(req->input.method.base, req->input.method.len, path.base, plen);
  ed__http_metrics_observe(&l->srv->metrics, ep, req->res.status, ns > 0 ? ns : 0);
}

void ed__http_metrics_attach(h2o_pathconf_t *pc, ed_http_t *srv) {
  metrics_logger_t *l = (metrics_logger_t *)h2o_create_logger(pc, sizeof *l);
  l->super.log_access = log_access;
  l->srv = srv;
}
