/* The eddy server's YAML configuration (see DESIGN.md "Config").
 *
 *   app: shop
 *   instance_id: shop-0:8080                       # default <hostname>:<http port>
 *   kafka: { bootstrap.servers: localhost:9092 }   # or: embedded
 *   http: { listen: 0.0.0.0:8080, advertised_url: http://localhost:8080,
 *           tls: { cert: server.pem, key: server.key }, ready_max_lag: 1000,
 *           threads: 1 }
 *   data_dir: ./data
 *   commit_interval_ms: 100
 *   num_standby_replicas: 1                        # default 0
 *   processing.guarantee: exactly_once             # default at_least_once
 *   embedded_kafka: { partitions: 4 }              # only with bootstrap.servers: embedded
 *   views:
 *     user_views: { from: pageviews, format: json, aggregate: count }
 *     revenue:
 *       from: orders
 *       key: customer.country          # an expression (streams/expr.h)
 *       where: status == "paid"
 *       timestamp: created_at
 *       aggregate: { orders: count, revenue: sum(amount), buyers: count_distinct(user) }
 *       window: { type: tumbling, size: 1h, grace: 5m }
 *       to: revenue-changes
 *       on_error: dead_letter
 *
 * The loader checks every expression (parsing it) but keeps only its text in
 * ed_view_def_t; the engine compiles it. docs/config.md is the reference.
 */
#ifndef ED_SERVER_CONFIG_H
#define ED_SERVER_CONFIG_H

#include <stddef.h>

#include "streams/view.h"

typedef struct ed_config {
  char *path;                /* the file it was read from */
  char *app;                 /* required, [A-Za-z0-9_.-]+ */
  char *instance_id;         /* [A-Za-z0-9_.:-]+; default "<hostname>:<http port>" */
  char *bootstrap_servers;   /* kafka."bootstrap.servers"; NULL when embedded */
  int embedded_kafka;        /* kafka."bootstrap.servers" == "embedded" */
  int embedded_partitions;   /* embedded_kafka.partitions; default 4 */
  ed_kv_t *kafka;            /* every other kafka.* property, in file order */
  size_t nkafka;
  char *http_listen;         /* default "0.0.0.0:8080" */
  char *http_advertised_url; /* default "http://localhost:<port>" ("https://" with tls) */
  char *http_tls_cert;       /* http.tls.cert: PEM certificate chain; NULL: no TLS */
  char *http_tls_key;        /* http.tls.key: PEM private key (both or neither) */
  long http_ready_max_lag;   /* http.ready_max_lag: default 1000 records */
  int http_threads;          /* http.threads: event loops, default 1, 1..64 */
  char *data_dir;            /* default "./data" */
  int commit_interval_ms;    /* default 100, 1..60000 */
  int num_standby_replicas;  /* default 0, 0..16 */
  int exactly_once;          /* processing.guarantee: exactly_once (default at_least_once) */
  ed_view_def_t *views;      /* at least one */
  size_t nviews;
} ed_config_t;

/* Loads and checks @p path. On failure returns ED_ECONFIG (or ED_EIO,
 * ED_ENOMEM) with one line in @p err naming the file, line and field, e.g.
 * "shop.yaml:12: views.user_views.key: at column 5: unexpected ')'". Caller
 * frees *out with ed_config_free(). */
int ed_config_load(const char *path, ed_config_t **out, char *err, size_t errlen);

/* NULL is a no-op. */
void ed_config_free(ed_config_t *c);

#endif
