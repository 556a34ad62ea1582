#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "server/config.h"

static char dir[64];
static char path[128];

static int setup(void **state) {
  (void)state;
  strcpy(dir, "/tmp/eddy_config_test.XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  snprintf(path, sizeof path, "%s/shop.yaml", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(path);
  rmdir(dir);
  return 0;
}

static void write_yaml(const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static ed_config_t *load_ok(const char *text) {
  write_yaml(text);
  ed_config_t *c = NULL;
  char err[512] = "";
  int rc = ed_config_load(path, &c, err, sizeof err);
  if (rc != ED_OK) fail_msg("load failed (%d): %s", rc, err);
  assert_non_null(c);
  return c;
}

/* Loads @p text expecting @p rc and an error of "<path>" + @p want. */
static void expect_err_rc(const char *text, int rc, const char *want) {
  write_yaml(text);
  ed_config_t *c = (ed_config_t *)(uintptr_t)0x1; /* must stay untouched */
  char err[512] = "";
  assert_int_equal(ed_config_load(path, &c, err, sizeof err), rc);
  assert_ptr_equal(c, (ed_config_t *)(uintptr_t)0x1);
  char full[700];
  snprintf(full, sizeof full, "%s%s", path, want);
  assert_string_equal(err, full);
  assert_null(strchr(err, '\n'));
}

static void expect_err(const char *text, const char *want) {
  expect_err_rc(text, ED_ECONFIG, want);
}

#define BASE "app: shop\nkafka:\n  bootstrap.servers: localhost:9092\n"

/* ---- good configs ---- */

static void test_full(void **state) {
  (void)state;
  ed_config_t *c =
      load_ok("# the shop\n"
              "app: shop-1.x\n"
              "kafka:\n"
              "  bootstrap.servers: broker1:9092,broker2:9092\n"
              "  security.protocol: SASL_SSL\n"
              "  sasl.mechanism: PLAIN\n"
              "  fetch.wait.max.ms: 50\n"
              "http: { listen: 127.0.0.1:9090, advertised_url: http://shop-0.shop:9090 }\n"
              "data_dir: /var/lib/eddy\n"
              "commit_interval_ms: 250\n"
              "num_standby_replicas: 2\n"
              "processing.guarantee: exactly_once\n"
              "embedded_kafka: { partitions: 8 }\n"
              "views:\n"
              "  user_views:\n"
              "    from: pageviews\n"
              "    format: string\n"
              "    aggregate: count\n"
              "  revenue:\n"
              "    from: orders\n"
              "    aggregate: sum( amount )\n"
              "  by_country.v2:\n"
              "    from: orders.v2\n"
              "    format: json\n"
              "    aggregate: { orders: count, revenue: sum(amount), _qty: sum(qty_2) }\n");
  assert_string_equal(c->path, path);
  assert_string_equal(c->app, "shop-1.x");
  assert_string_equal(c->bootstrap_servers, "broker1:9092,broker2:9092");
  assert_int_equal(c->embedded_kafka, 0);
  assert_int_equal(c->embedded_partitions, 8);
  assert_int_equal(c->nkafka, 3);
  assert_string_equal(c->kafka[0].name, "security.protocol");
  assert_string_equal(c->kafka[0].value, "SASL_SSL");
  assert_string_equal(c->kafka[1].name, "sasl.mechanism");
  assert_string_equal(c->kafka[1].value, "PLAIN");
  assert_string_equal(c->kafka[2].name, "fetch.wait.max.ms");
  assert_string_equal(c->kafka[2].value, "50");
  assert_string_equal(c->http_listen, "127.0.0.1:9090");
  assert_string_equal(c->http_advertised_url, "http://shop-0.shop:9090");
  assert_string_equal(c->data_dir, "/var/lib/eddy");
  assert_int_equal(c->commit_interval_ms, 250);
  assert_int_equal(c->num_standby_replicas, 2);
  assert_int_equal(c->exactly_once, 1);

  assert_int_equal(c->nviews, 3);
  ed_view_def_t *v = &c->views[0];
  assert_string_equal(v->name, "user_views");
  assert_string_equal(v->from, "pageviews");
  assert_int_equal(v->format, ED_FORMAT_STRING);
  assert_int_equal(v->naggs, 1);
  assert_string_equal(v->aggs[0].column, "count");
  assert_int_equal(v->aggs[0].kind, ED_AGG_COUNT);
  assert_null(v->aggs[0].arg);

  v = &c->views[1];
  assert_string_equal(v->name, "revenue");
  assert_int_equal(v->format, ED_FORMAT_JSON);
  assert_int_equal(v->naggs, 1);
  assert_string_equal(v->aggs[0].column, "sum_amount");
  assert_int_equal(v->aggs[0].kind, ED_AGG_SUM);
  assert_string_equal(v->aggs[0].arg, "amount");

  v = &c->views[2];
  assert_string_equal(v->name, "by_country.v2");
  assert_string_equal(v->from, "orders.v2");
  assert_int_equal(v->naggs, 3);
  assert_string_equal(v->aggs[0].column, "orders");
  assert_int_equal(v->aggs[0].kind, ED_AGG_COUNT);
  assert_null(v->aggs[0].arg);
  assert_string_equal(v->aggs[1].column, "revenue");
  assert_int_equal(v->aggs[1].kind, ED_AGG_SUM);
  assert_string_equal(v->aggs[1].arg, "amount");
  assert_string_equal(v->aggs[2].column, "_qty");
  assert_string_equal(v->aggs[2].arg, "qty_2");
  ed_config_free(c);
}

static void test_defaults(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n  v:\n    from: t\n    aggregate: count\n");
  assert_string_equal(c->app, "shop");
  assert_string_equal(c->bootstrap_servers, "localhost:9092");
  assert_int_equal(c->nkafka, 0);
  assert_null(c->kafka);
  assert_string_equal(c->http_listen, "0.0.0.0:8080");
  assert_string_equal(c->http_advertised_url, "http://localhost:8080");
  assert_string_equal(c->data_dir, "./data");
  assert_int_equal(c->commit_interval_ms, 100);
  assert_int_equal(c->num_standby_replicas, 0);
  assert_int_equal(c->exactly_once, 0);
  assert_int_equal(c->embedded_kafka, 0);
  assert_int_equal(c->embedded_partitions, 4);
  assert_int_equal(c->nviews, 1);
  assert_int_equal(c->views[0].format, ED_FORMAT_JSON);
  ed_config_free(c);
}

static void test_embedded_and_flow_style(void **state) {
  (void)state;
  /* The header's example, flow style with colons inside plain scalars. */
  ed_config_t *c = load_ok("app: shop\n"
                           "kafka: { bootstrap.servers: embedded, linger.ms: 5 }\n"
                           "http: { listen: \"[::]:9091\" }\n"
                           "views:\n"
                           "  user_views: { from: pageviews, format: json, aggregate: count }\n");
  assert_int_equal(c->embedded_kafka, 1);
  assert_null(c->bootstrap_servers);
  assert_int_equal(c->embedded_partitions, 4);
  assert_int_equal(c->nkafka, 1);
  assert_string_equal(c->kafka[0].name, "linger.ms");
  assert_string_equal(c->http_listen, "[::]:9091");
  assert_string_equal(c->http_advertised_url, "http://localhost:9091");
  ed_config_free(c);
}

static void test_aggregate_forms(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n"
                                "  a: { from: t, aggregate: \"  sum (\\tx )  \" }\n"
                                "  b:\n"
                                "    from: t\n"
                                "    aggregate:\n"
                                "      n: count\n"
                                "      Total: sum(price)\n");
  assert_string_equal(c->views[0].aggs[0].column, "sum_x");
  assert_string_equal(c->views[0].aggs[0].arg, "x");
  assert_int_equal(c->views[1].naggs, 2);
  assert_string_equal(c->views[1].aggs[1].column, "Total");
  ed_config_free(c);
}

static void test_max_aggs(void **state) {
  (void)state;
  char yaml[4096];
  size_t n =
      (size_t)snprintf(yaml, sizeof yaml, BASE "views:\n  v:\n    from: t\n    aggregate:\n");
  for (int i = 0; i < ED_VIEW_MAX_AGGS; i++)
    n += (size_t)snprintf(yaml + n, sizeof yaml - n, "      c%d: sum(f%d)\n", i, i);
  ed_config_t *c = load_ok(yaml);
  assert_int_equal(c->views[0].naggs, ED_VIEW_MAX_AGGS);
  assert_string_equal(c->views[0].aggs[ED_VIEW_MAX_AGGS - 1].column, "c31");
  ed_config_free(c);

  n += (size_t)snprintf(yaml + n, sizeof yaml - n, "      one_more: count\n");
  expect_err(yaml, ":8: views.v.aggregate: expected 1..32 aggregates, got 33");
}

static void test_free_null(void **state) {
  (void)state;
  ed_config_free(NULL);
}

/* ---- bad configs ---- */

static void test_missing_file(void **state) {
  (void)state;
  ed_config_t *c = NULL;
  char err[256], p[160];
  snprintf(p, sizeof p, "%s/nope.yaml", dir);
  assert_int_equal(ed_config_load(p, &c, err, sizeof err), ED_EIO);
  assert_null(c);
  char want[300];
  snprintf(want, sizeof want, "%s: cannot read: No such file or directory", p);
  assert_string_equal(err, want);
  /* A directory is not a file. */
  assert_int_equal(ed_config_load(dir, &c, err, sizeof err), ED_EIO);
  snprintf(want, sizeof want, "%s: cannot read: Is a directory", dir);
  assert_string_equal(err, want);
}

static void test_syntax_error(void **state) {
  (void)state;
  expect_err("app: shop\nkafka: [\nviews: x: y\n",
             ":3: YAML syntax error: did not find expected ',' or ']'");
  expect_err("app: shop\n  bad: indent\n",
             ":2: YAML syntax error: mapping values are not allowed in this context");
  expect_err("app: \"unterminated\n", ":2: YAML syntax error: found unexpected end of stream");
}

static void test_top_level(void **state) {
  (void)state;
  expect_err("", ": empty configuration (expected app, kafka and views)");
  expect_err("# only a comment\n", ": empty configuration (expected app, kafka and views)");
  expect_err("- app\n- kafka\n",
             ":1: expected a mapping (app, kafka, views, ...) at the top level, got a list");
  expect_err(BASE "views: {v: {from: t, aggregate: count}}\nlisten: 1\n",
             ":5: listen: unknown key");
  expect_err(BASE "views: {v: {from: t, aggregate: count}}\napp: other\n",
             ":5: app: duplicate key");
  expect_err(BASE "views: {v: {from: t, aggregate: count}}\n---\napp: two\n",
             ":6: expected one YAML document, found another");
}

static void test_required(void **state) {
  (void)state;
  expect_err("kafka: {bootstrap.servers: x}\nviews: {v: {from: t, aggregate: count}}\n",
             ": app: missing (required)");
  expect_err("app: shop\nviews: {v: {from: t, aggregate: count}}\n", ": kafka: missing (required)");
  expect_err(BASE, ": views: missing (required)");
  expect_err("app: shop\nkafka:\n  linger.ms: 5\nviews: {v: {from: t, aggregate: count}}\n",
             ":2: kafka.bootstrap.servers: missing (required)");
}

static void test_app(void **state) {
  (void)state;
  expect_err("app: my shop\n", ":1: app: expected a name [A-Za-z0-9_.-]+, got 'my shop'");
  expect_err("app:\nkafka: {}\n", ":1: app: expected a name [A-Za-z0-9_.-]+, got nothing");
  expect_err("app: [a]\n", ":1: app: expected a name [A-Za-z0-9_.-]+, got a list");
}

static void test_instance_id(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "instance_id: shop-0.shop_svc:9090\n"
                                "views:\n  v:\n    from: t\n    aggregate: count\n");
  assert_string_equal(c->instance_id, "shop-0.shop_svc:9090");
  ed_config_free(c);
  /* The default: <hostname>:<http port>. */
  c = load_ok(BASE "http: { listen: 127.0.0.1:9091 }\n"
                   "views:\n  v:\n    from: t\n    aggregate: count\n");
  char host[256] = "";
  assert_int_equal(gethostname(host, sizeof host - 1), 0);
  char want[300];
  snprintf(want, sizeof want, "%s:9091", host[0] ? host : "localhost");
  assert_string_equal(c->instance_id, want);
  ed_config_free(c);
  expect_err("app: shop\ninstance_id: shop 0\n",
             ":2: instance_id: expected an id [A-Za-z0-9_.:-]+, got 'shop 0'");
  expect_err("app: shop\ninstance_id: a/b\n",
             ":2: instance_id: expected an id [A-Za-z0-9_.:-]+, got 'a/b'");
  expect_err("app: shop\ninstance_id:\n",
             ":2: instance_id: expected an id [A-Za-z0-9_.:-]+, got nothing");
}

static void test_numbers(void **state) {
  (void)state;
  expect_err("app: shop\n\ncommit_interval_ms: fast\n",
             ":3: commit_interval_ms: expected an integer 1..60000, got 'fast'");
  expect_err("app: shop\nnum_standby_replicas: -1\n",
             ":2: num_standby_replicas: expected an integer 0..16, got '-1'");
  expect_err("app: shop\nprocessing.guarantee: twice\n",
             ":2: processing.guarantee: expected at_least_once or exactly_once, got 'twice'");
  expect_err("app: shop\ncommit_interval_ms: 0\n",
             ":2: commit_interval_ms: expected an integer 1..60000, got '0'");
  expect_err("app: shop\ncommit_interval_ms: 60001\n",
             ":2: commit_interval_ms: expected an integer 1..60000, got '60001'");
  expect_err("app: shop\ncommit_interval_ms: -5\n",
             ":2: commit_interval_ms: expected an integer 1..60000, got '-5'");
  expect_err("app: shop\ncommit_interval_ms: 99999999999999999999\n",
             ":2: commit_interval_ms: expected an integer 1..60000, got '99999999999999999999'");
  expect_err("app: shop\nembedded_kafka:\n  partitions: 257\n",
             ":3: embedded_kafka.partitions: expected an integer 1..256, got '257'");
  expect_err("app: shop\nembedded_kafka:\n  partitions: 0\n",
             ":3: embedded_kafka.partitions: expected an integer 1..256, got '0'");
  expect_err("app: shop\nembedded_kafka: { replicas: 3 }\n",
             ":2: embedded_kafka.replicas: unknown key (expected partitions)");
  expect_err("app: shop\nembedded_kafka: 4\n",
             ":2: embedded_kafka: expected a mapping (partitions), got a scalar");
}

static void test_kafka_and_http(void **state) {
  (void)state;
  expect_err("app: shop\nkafka: localhost:9092\n",
             ":2: kafka: expected a mapping of librdkafka properties, got a scalar");
  expect_err("app: shop\nkafka:\n  bootstrap.servers: x\n  sasl: { a: b }\n",
             ":4: kafka.sasl: expected a property value, got a mapping");
  expect_err(
      "app: shop\nkafka:\n  bootstrap.servers:\n",
      ":3: kafka.bootstrap.servers: expected host:port[,host:port...] or embedded, got nothing");
  expect_err(BASE "http:\n  listen: 8080\n", ":5: http.listen: expected host:port, got '8080'");
  expect_err(BASE "http:\n  listen: localhost:http\n",
             ":5: http.listen: expected host:port, got 'localhost:http'");
  expect_err(BASE "http:\n  advertised_url: shop:8080\n",
             ":5: http.advertised_url: expected an http:// or https:// URL, got 'shop:8080'");
  expect_err(BASE "http:\n  port: 8080\n",
             ":5: http.port: unknown key (expected listen, advertised_url, tls, ready_max_lag "
             "or threads)");
  expect_err(BASE "http:\n  tls: { cert: c.pem }\n", ":5: http.tls.key: missing (required)");
  expect_err(BASE "http:\n  tls: { key: k.pem }\n", ":5: http.tls.cert: missing (required)");
  expect_err(BASE "http:\n  tls: c.pem\n",
             ":5: http.tls: expected a mapping (cert, key), got a scalar");
  expect_err(BASE "http:\n  tls: { cert: c, key: k, ca: x }\n",
             ":5: http.tls.ca: unknown key (expected cert or key)");
  expect_err(BASE "http:\n  ready_max_lag: -1\n",
             ":5: http.ready_max_lag: expected an integer 0..999999999, got '-1'");
  expect_err(BASE "http:\n  threads: 0\n", ":5: http.threads: expected an integer 1..64, got '0'");
  expect_err(BASE "http:\n  threads: 65\n",
             ":5: http.threads: expected an integer 1..64, got '65'");
}

/* http.tls, http.ready_max_lag and http.threads, and their defaults. */
static void test_http_keys(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n  v:\n    from: t\n    aggregate: count\n");
  assert_null(c->http_tls_cert);
  assert_null(c->http_tls_key);
  assert_int_equal(c->http_ready_max_lag, 1000);
  assert_int_equal(c->http_threads, 1);
  ed_config_free(c);
  c = load_ok(BASE "http:\n  listen: 127.0.0.1:8443\n  tls: { cert: /c.pem, key: /k.pem }\n"
                   "  ready_max_lag: 0\n  threads: 4\n"
                   "views:\n  v:\n    from: t\n    aggregate: count\n");
  assert_string_equal(c->http_tls_cert, "/c.pem");
  assert_string_equal(c->http_tls_key, "/k.pem");
  assert_int_equal(c->http_ready_max_lag, 0);
  assert_int_equal(c->http_threads, 4);
  assert_string_equal(c->http_advertised_url, "https://localhost:8443");
  ed_config_free(c);
}

#define VIEW_HEAD BASE "data_dir: /tmp\nviews:\n  user_views:\n    from: pageviews\n"
/* VIEW_HEAD: "user_views:" is line 6, "from:" line 7; the next line is 8. */

static void test_views(void **state) {
  (void)state;
  expect_err(BASE "views: {}\n", ":4: views: expected at least one view");
  expect_err(BASE "views: [a]\n", ":4: views: expected a mapping of view name to view, got a list");
  expect_err(BASE "views:\n  v: count\n",
             ":5: views.v: expected a mapping (from, format, aggregate, ...), got a scalar");
  expect_err(BASE "views:\n  my view: {from: t, aggregate: count}\n",
             ":5: views.my view: bad view name 'my view' (expected [A-Za-z0-9_.-]+)");
  expect_err(BASE "views:\n  ..: {from: t, aggregate: count}\n",
             ":5: views...: bad view name '..' (expected [A-Za-z0-9_.-]+)");
  expect_err(BASE "views:\n  v: {from: t, aggregate: count}\n  v: {from: u, aggregate: count}\n",
             ":6: views.v: duplicate key");
  expect_err(BASE "views:\n  v:\n    aggregate: count\n", ":5: views.v.from: missing (required)");
  expect_err(VIEW_HEAD, ":6: views.user_views.aggregate: missing (required)");
  expect_err(VIEW_HEAD "    format: avro\n",
             ":8: views.user_views.format: expected json, string, int64 or double, got 'avro'");
  expect_err(BASE "views:\n  v:\n    from: my topic\n",
             ":6: views.v.from: expected a topic name [A-Za-z0-9._-]{1,249}, got 'my topic'");
  expect_err(VIEW_HEAD "    agregate: count\n",
             ":8: views.user_views.agregate: unknown key (expected from, format, key, where, "
             "timestamp, aggregate, window, to or on_error)");
}

/* ---- stream-engine keys: good ---- */

static void test_expressions(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n"
                                "  a:\n"
                                "    from: pageviews\n"
                                "    key: customer.country\n"
                                "    where: page != \"/health\" and not (`user id` == null)\n"
                                "    timestamp: meta.ts\n"
                                "    aggregate: count\n"
                                "  b:\n"
                                "    from: pageviews\n"
                                "    format: string\n"
                                "    key: $value\n"
                                "    where: $key != \"bot\"\n"
                                "    aggregate: count\n"
                                "  c:\n" /* the docs' YAML quoting examples */
                                "    from: pageviews\n"
                                "    key: \"`user id`\"\n"
                                "    where: 'page == \"/a: b\"'\n"
                                "    aggregate: count\n");
  ed_view_def_t *v = &c->views[0];
  assert_string_equal(v->key, "customer.country");
  assert_string_equal(v->where, "page != \"/health\" and not (`user id` == null)");
  assert_string_equal(v->timestamp, "meta.ts");
  assert_null(v->to);
  assert_int_equal(v->on_error, ED_ON_ERROR_SKIP);
  assert_int_equal(v->window.type, ED_WIN_NONE);
  v = &c->views[1];
  assert_int_equal(v->format, ED_FORMAT_STRING);
  assert_string_equal(v->key, "$value");
  assert_string_equal(v->where, "$key != \"bot\"");
  assert_null(v->timestamp);
  v = &c->views[2];
  assert_string_equal(v->key, "`user id`");
  assert_string_equal(v->where, "page == \"/a: b\"");
  ed_config_free(c);

  /* Absent: the record key, every record, the Kafka timestamp. */
  c = load_ok(BASE "views: { v: { from: t, aggregate: count } }\n");
  assert_null(c->views[0].key);
  assert_null(c->views[0].where);
  assert_null(c->views[0].timestamp);
  ed_config_free(c);
}

static void test_aggregate_kinds(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n"
                                "  a: { from: t, aggregate: count() }\n"
                                "  b: { from: t, aggregate: count_distinct(user) }\n"
                                "  c: { from: t, aggregate: max(order.total) }\n"
                                "  d: { from: t, aggregate: min( `unit_price` ) }\n"
                                "  e: { from: t, aggregate: avg((amount)) }\n"
                                "  f: { from: t, format: int64, aggregate: sum($value) }\n"
                                "  g: { from: t, format: double, aggregate: max($key) }\n"
                                "  h: { from: t, aggregate: latest }\n"
                                "  i: { from: t, format: string, aggregate: { row: latest } }\n"
                                "  j:\n"
                                "    from: t\n"
                                "    aggregate:\n"
                                "      n: count\n"
                                "      paid: count_distinct(status == \"a)b\" or x == 'c(\\'')\n"
                                "      big: max((amount > 100) == true)\n"
                                "      odd: sum(`a)b`)\n");
  struct {
    ed_agg_kind_t kind;
    const char *column, *arg;
  } want[] = {
      {ED_AGG_COUNT, "count", NULL},
      {ED_AGG_COUNT_DISTINCT, "count_distinct_user", "user"},
      {ED_AGG_MAX, "max_order_total", "order.total"},
      {ED_AGG_MIN, "min_unit_price", "`unit_price`"},
      {ED_AGG_AVG, "avg_amount", "(amount)"},
      {ED_AGG_SUM, "sum_value", "$value"},
      {ED_AGG_MAX, "max_key", "$key"},
      {ED_AGG_LATEST, "latest", NULL},
      {ED_AGG_LATEST, "row", NULL},
  };
  assert_int_equal(c->nviews, 10);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ed_view_def_t *v = &c->views[i];
    assert_int_equal(v->naggs, 1);
    assert_int_equal(v->aggs[0].kind, want[i].kind);
    assert_string_equal(v->aggs[0].column, want[i].column);
    if (want[i].arg)
      assert_string_equal(v->aggs[0].arg, want[i].arg);
    else
      assert_null(v->aggs[0].arg);
  }
  assert_int_equal(c->views[5].format, ED_FORMAT_INT64);
  assert_int_equal(c->views[6].format, ED_FORMAT_DOUBLE);
  assert_true(ed_view_is_latest(&c->views[7]));
  assert_true(ed_view_is_latest(&c->views[8]));

  ed_view_def_t *v = &c->views[9];
  assert_int_equal(v->naggs, 4);
  assert_int_equal(v->aggs[0].kind, ED_AGG_COUNT);
  assert_null(v->aggs[0].arg);
  assert_string_equal(v->aggs[1].column, "paid");
  assert_int_equal(v->aggs[1].kind, ED_AGG_COUNT_DISTINCT);
  assert_string_equal(v->aggs[1].arg, "status == \"a)b\" or x == 'c(\\''");
  assert_string_equal(v->aggs[2].column, "big");
  assert_int_equal(v->aggs[2].kind, ED_AGG_MAX);
  assert_string_equal(v->aggs[2].arg, "(amount > 100) == true");
  assert_string_equal(v->aggs[3].arg, "`a)b`");
  ed_config_free(c);
}

static void test_windows(void **state) {
  (void)state;
  const int64_t day = 86400000;
  ed_config_t *c = load_ok(BASE "views:\n"
                                "  a:\n"
                                "    from: t\n"
                                "    aggregate: count\n"
                                "    window: { type: tumbling, size: 1h }\n"
                                "  b:\n"
                                "    from: t\n"
                                "    aggregate: count\n"
                                "    window: { type: hopping, size: 5m, advance: 30s, "
                                "grace: 500ms }\n"
                                "  c:\n"
                                "    from: t\n"
                                "    aggregate: count\n"
                                "    timestamp: ts\n"
                                "    window:\n"
                                "      type: session\n"
                                "      gap: 1500\n"
                                "      grace: 5m\n"
                                "      retention: 7d\n"
                                "  d:\n"
                                "    from: t\n"
                                "    aggregate: count\n"
                                "    window: { type: tumbling, size: 2d, grace: 1h }\n");
  ed_window_spec_t *w = &c->views[0].window;
  assert_int_equal(w->type, ED_WIN_TUMBLING);
  assert_int_equal(w->size, 3600000);
  assert_int_equal(w->advance, 3600000); /* defaults: advance = size, */
  assert_int_equal(w->grace, 0);         /* no grace, */
  assert_int_equal(w->retention, day);   /* at least a day */
  w = &c->views[1].window;
  assert_int_equal(w->type, ED_WIN_HOPPING);
  assert_int_equal(w->size, 300000);
  assert_int_equal(w->advance, 30000);
  assert_int_equal(w->grace, 500);
  assert_int_equal(w->retention, day);
  w = &c->views[2].window;
  assert_int_equal(w->type, ED_WIN_SESSION);
  assert_int_equal(w->gap, 1500);
  assert_int_equal(w->grace, 300000);
  assert_int_equal(w->retention, 7 * day);
  assert_string_equal(c->views[2].timestamp, "ts");
  w = &c->views[3].window;
  assert_int_equal(w->retention, 2 * day + 3600000); /* size + grace, when over a day */
  ed_config_free(c);
}

static void test_to_and_on_error(void **state) {
  (void)state;
  ed_config_t *c = load_ok(BASE "views:\n"
                                "  a: { from: t, aggregate: count, to: t.counts, on_error: skip }\n"
                                "  b: { from: t, aggregate: count, on_error: dead_letter }\n"
                                "  c: { from: t, aggregate: count, on_error: stop }\n");
  assert_string_equal(c->views[0].to, "t.counts");
  assert_int_equal(c->views[0].on_error, ED_ON_ERROR_SKIP);
  assert_null(c->views[1].to);
  assert_int_equal(c->views[1].on_error, ED_ON_ERROR_DEAD_LETTER);
  assert_int_equal(c->views[2].on_error, ED_ON_ERROR_STOP);
  ed_config_free(c);
}

static void test_design_example(void **state) {
  (void)state;
  /* DESIGN.md's "Config" example loads as written. */
  ed_config_t *c =
      load_ok(BASE "views:\n"
                   "  user_views:\n"
                   "    from: pageviews\n"
                   "    format: json\n"
                   "    key: user                 # JSON field; the record key when omitted\n"
                   "    where: page != \"/health\"\n"
                   "    aggregate: count\n"
                   "    window: { type: tumbling, size: 1h, grace: 5m, retention: 7d }\n"
                   "  revenue_by_country:\n"
                   "    from: orders\n"
                   "    key: country\n"
                   "    aggregate: { orders: count, revenue: sum(amount), biggest: max(amount), "
                   "avg_order: avg(amount) }\n"
                   "  users:\n"
                   "    from: users               # a compacted topic\n"
                   "    aggregate: latest\n");
  assert_int_equal(c->nviews, 3);
  assert_string_equal(c->views[0].key, "user");
  assert_int_equal(c->views[0].window.grace, 300000);
  assert_int_equal(c->views[1].naggs, 4);
  assert_int_equal(c->views[1].aggs[3].kind, ED_AGG_AVG);
  assert_string_equal(c->views[1].aggs[3].column, "avg_order");
  assert_true(ed_view_is_latest(&c->views[2]));
  ed_config_free(c);
}

/* ---- stream-engine keys: bad ---- */

static void test_expression_errors(void **state) {
  (void)state;
  expect_err(VIEW_HEAD "    key: a ==\n",
             ":8: views.user_views.key: at column 5: expected a value after '=='");
  expect_err(VIEW_HEAD "    where: page = \"/\"\n",
             ":8: views.user_views.where: at column 6: unexpected '=' (did you mean '=='?)");
  expect_err(VIEW_HEAD "    where: (a == 1\n",
             ":8: views.user_views.where: at column 8: expected ')' to close '(' at column 1");
  expect_err(VIEW_HEAD "    timestamp: $time\n",
             ":8: views.user_views.timestamp: at column 1: unknown name '$time' (expected $key, "
             "$value or $timestamp)");
  expect_err(VIEW_HEAD "    key:\n",
             ":8: views.user_views.key: expected an expression, got nothing");
  expect_err(VIEW_HEAD "    where: [a]\n",
             ":8: views.user_views.where: expected an expression, got a list");
}

static void test_aggregate_errors(void **state) {
  (void)state;
#define FNS "count, sum(..), min(..), max(..), avg(..), count_distinct(..) or latest"
#define EXPECTED "(expected " FNS ")"
  expect_err(VIEW_HEAD "    aggregate: cnt\n",
             ":8: views.user_views.aggregate: unknown aggregate 'cnt' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate: total(x)\n",
             ":8: views.user_views.aggregate: unknown aggregate 'total' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate: \"(x)\"\n",
             ":8: views.user_views.aggregate: unknown aggregate '(x)' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate: count x\n",
             ":8: views.user_views.aggregate: malformed aggregate 'count x' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate: sum(a) b\n",
             ":8: views.user_views.aggregate: malformed aggregate 'sum(a) b' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate: sum(a\n",
             ":8: views.user_views.aggregate: malformed aggregate 'sum(a': the '(' at column 4 "
             "is not closed");
  expect_err(VIEW_HEAD "    aggregate: sum(a == \")\"\n",
             ":8: views.user_views.aggregate: malformed aggregate 'sum(a == \")\"': the '(' at "
             "column 4 is not closed");
  expect_err(VIEW_HEAD "    aggregate: count(x)\n",
             ":8: views.user_views.aggregate: count takes no argument, got 'count(x)'");
  expect_err(VIEW_HEAD "    aggregate: latest(x)\n",
             ":8: views.user_views.aggregate: latest takes no argument, got 'latest(x)'");
  expect_err(VIEW_HEAD "    aggregate: sum\n",
             ":8: views.user_views.aggregate: sum needs an argument: sum(<expression>)");
  expect_err(VIEW_HEAD "    aggregate: avg( )\n",
             ":8: views.user_views.aggregate: avg needs an argument: avg(<expression>)");
  /* The parser's column counts from the start of the aggregate's text. */
  expect_err(VIEW_HEAD "    aggregate: max(a.b ==)\n",
             ":8: views.user_views.aggregate: at column 11: expected a value after '=='");
  expect_err(VIEW_HEAD "    aggregate: max(a.)\n",
             ":8: views.user_views.aggregate: at column 7: expected a field name after '.'");
  /* Unnamed aggregate over something that is not a field. */
  expect_err(VIEW_HEAD "    aggregate: max(amount > 100)\n",
             ":8: views.user_views.aggregate: the argument of max(amount > 100) is not a field "
             "path, so name the column: aggregate: { <name>: max(amount > 100) }");
  expect_err(VIEW_HEAD "    aggregate: sum(`unit price`)\n",
             ":8: views.user_views.aggregate: the argument of sum(`unit price`) is not a field "
             "path, so name the column: aggregate: { <name>: sum(`unit price`) }");
  /* latest stands alone. */
  expect_err(VIEW_HEAD "    aggregate:\n      n: count\n      row: latest\n",
             ":10: views.user_views.aggregate.row: latest must be the only aggregate (a latest "
             "table keeps each key's last value; aggregate: latest)");
  expect_err(VIEW_HEAD "    aggregate: latest\n    window: { type: tumbling, size: 1h }\n",
             ":9: views.user_views.window: latest tables are not windowed");
  /* The mapping form. */
  expect_err(VIEW_HEAD "    aggregate: [count]\n",
             ":8: views.user_views.aggregate: expected an aggregate (" FNS
             ") or a mapping of column: aggregate, got a list");
  expect_err(VIEW_HEAD "    aggregate: {}\n",
             ":8: views.user_views.aggregate: expected 1..32 aggregates, got 0");
  expect_err(VIEW_HEAD "    aggregate:\n",
             ":8: views.user_views.aggregate: expected an aggregate (" FNS "), got nothing");
  expect_err(VIEW_HEAD "    aggregate:\n      n: count\n      1st: count\n",
             ":10: views.user_views.aggregate.1st: expected a column name [A-Za-z_][A-Za-z0-9_]*, "
             "got '1st'");
  expect_err(VIEW_HEAD "    aggregate:\n      n: count\n      n: sum(x)\n",
             ":10: views.user_views.aggregate.n: duplicate key");
  expect_err(VIEW_HEAD "    aggregate:\n      n: count\n      t: cnt(x)\n",
             ":10: views.user_views.aggregate.t: unknown aggregate 'cnt' " EXPECTED);
  expect_err(VIEW_HEAD "    aggregate:\n      n: count\n      t: sum(x ==)\n",
             ":10: views.user_views.aggregate.t: at column 9: expected a value after '=='");
#undef EXPECTED
#undef FNS
}

static void test_format_errors(void **state) {
  (void)state;
  /* Field paths need JSON, whichever key reads them and in whatever order. */
  expect_err(VIEW_HEAD "    aggregate: sum(amount)\n    format: int64\n",
             ":9: views.user_views.format: field paths need format: json (this view reads "
             "'amount')");
  expect_err(VIEW_HEAD "    format: string\n    where: $value != \"x\"\n    key: user.id\n"
                       "    aggregate: { n: count, s: count_distinct($value) }\n",
             ":8: views.user_views.format: field paths need format: json (this view reads "
             "'user.id')");
  expect_err(VIEW_HEAD "    format: double\n    timestamp: ts\n    aggregate: max($value)\n",
             ":8: views.user_views.format: field paths need format: json (this view reads 'ts')");
  expect_err(VIEW_HEAD "    format: [json]\n",
             ":8: views.user_views.format: expected json, string, int64 or double, got a list");
}

static void test_window_errors(void **state) {
  (void)state;
#define W VIEW_HEAD "    aggregate: count\n    window: "
  expect_err(W "{ type: tumbling, size: 1 hour }\n",
             ":9: views.user_views.window.size: expected a duration (500ms, 30s, 5m, 1h, 7d or "
             "milliseconds), got '1 hour'");
  expect_err(W "{ type: tumbling, size: -5s }\n",
             ":9: views.user_views.window.size: expected a duration (500ms, 30s, 5m, 1h, 7d or "
             "milliseconds), got '-5s'");
  expect_err(W "{ type: tumbling, size: [1h] }\n",
             ":9: views.user_views.window.size: expected a duration (500ms, 30s, 5m, 1h, 7d or "
             "milliseconds), got a list");
  expect_err(W "{ type: hopping, size: 5m }\n",
             ":9: views.user_views.window.advance: missing (a hopping window needs size and "
             "advance)");
  expect_err(W "{ type: tumbling, grace: 5m }\n",
             ":9: views.user_views.window.size: missing (a tumbling window needs size)");
  expect_err(W "{ type: session }\n",
             ":9: views.user_views.window.gap: missing (a session window needs gap)");
  expect_err(W "{ size: 5m }\n",
             ":9: views.user_views.window.type: missing (required: tumbling, hopping or session)");
  expect_err(W "{ type: sliding, size: 5m }\n",
             ":9: views.user_views.window.type: expected tumbling, hopping or session, got "
             "'sliding'");
  expect_err(W "{ type: tumbling, size: 5m, advance: 1m }\n",
             ":9: views.user_views.window.advance: not used by a tumbling window (it takes size, "
             "grace and retention)");
  expect_err(W "{ type: session, gap: 5m, size: 1h }\n",
             ":9: views.user_views.window.size: not used by a session window (it takes gap, grace "
             "and retention)");
  expect_err(W "{ type: tumbling, size: 5m, lateness: 1m }\n",
             ":9: views.user_views.window.lateness: unknown key (expected type, size, advance, "
             "gap, grace or retention)");
  expect_err(W "{ type: tumbling, size: 5m, retention: 0 }\n",
             ":9: views.user_views.window.retention: must be > 0");
  expect_err(W "1h\n",
             ":9: views.user_views.window: expected a mapping (type, size, advance, gap, grace, "
             "retention), got a scalar");
  /* ed_window_spec_check()'s own checks. */
  expect_err(W "{ type: tumbling, size: 0s }\n",
             ":9: views.user_views.window: tumbling window: size must be > 0");
  expect_err(W "{ type: hopping, size: 1m, advance: 2m }\n",
             ":9: views.user_views.window: hopping window: advance must be > 0 and <= size");
  expect_err(W "{ type: tumbling, size: 1d, grace: 1h, retention: 1d }\n",
             ":9: views.user_views.window: tumbling window: retention 86400000 must be >= size + "
             "grace (90000000)");
  expect_err(W "\n      type: session\n      gap: 0\n",
             ":10: views.user_views.window: session window: gap must be > 0");
#undef W
}

static void test_to_and_on_error_errors(void **state) {
  (void)state;
  expect_err(VIEW_HEAD "    aggregate: count\n    on_error: ignore\n",
             ":9: views.user_views.on_error: expected skip, dead_letter or stop, got 'ignore'");
  expect_err(VIEW_HEAD "    aggregate: count\n    on_error:\n",
             ":9: views.user_views.on_error: expected skip, dead_letter or stop, got nothing");
  expect_err(VIEW_HEAD "    to: out topic\n",
             ":8: views.user_views.to: expected a topic name [A-Za-z0-9._-]{1,249}, got 'out "
             "topic'");
  expect_err(VIEW_HEAD "    aggregate: count\n    to: pageviews\n",
             ":9: views.user_views.to: 'pageviews' is the view's source topic (from)");
}

static void test_error_buffer_small(void **state) {
  (void)state;
  write_yaml("app: my shop\n");
  ed_config_t *c = NULL;
  char err[8];
  assert_int_equal(ed_config_load(path, &c, err, sizeof err), ED_ECONFIG);
  assert_int_equal(strlen(err), sizeof err - 1);
  assert_null(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_embedded_and_flow_style),
      cmocka_unit_test(test_aggregate_forms),
      cmocka_unit_test(test_max_aggs),
      cmocka_unit_test(test_free_null),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_syntax_error),
      cmocka_unit_test(test_top_level),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_app),
      cmocka_unit_test(test_instance_id),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_kafka_and_http),
      cmocka_unit_test(test_http_keys),
      cmocka_unit_test(test_views),
      cmocka_unit_test(test_expressions),
      cmocka_unit_test(test_aggregate_kinds),
      cmocka_unit_test(test_windows),
      cmocka_unit_test(test_to_and_on_error),
      cmocka_unit_test(test_design_example),
      cmocka_unit_test(test_expression_errors),
      cmocka_unit_test(test_aggregate_errors),
      cmocka_unit_test(test_format_errors),
      cmocka_unit_test(test_window_errors),
      cmocka_unit_test(test_to_and_on_error_errors),
      cmocka_unit_test(test_error_buffer_small),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
