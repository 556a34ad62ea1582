/* `eddy serve CONFIG.yaml`: the server. Wires the config, (embedded) Kafka,
 * the stream engine and the HTTP server, and shuts them down in order. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "server/config.h"
#include "server/http.h"
#include "server/loadgen.h"
#include "server/main_int.h"
#include "server/members.h"
#include "server/mock_kafka.h"
#include "streams/compile.h"
#include "streams/engine.h"

static volatile sig_atomic_t serve_stop;

static void on_signal(int sig) {
  (void)sig;
  serve_stop = 1;
}

typedef struct {
  ed_loadgen_conf_t conf;
  pthread_t thread;
  int started;
} loadgen_thread_t;

static void *loadgen_main(void *arg) {
  loadgen_thread_t *lg = arg;
  char err[512];
  if (ed_loadgen_run(&lg->conf, NULL, err, sizeof err) != ED_OK)
    ed_log_error("loadgen: %s", err);
  return NULL;
}

static void usage(FILE *f) {
  fprintf(f, "usage: eddy serve CONFIG.yaml [--loadgen RATE]\n"
             "  --loadgen RATE  also produce RATE page views/s to the first view's source\n"
             "                  topic (for demos)\n");
}

/* Compiles every view and hands it to the engine. */
static int add_views(ed_engine_t *engine, const ed_config_t *cfg, char *err, size_t errlen) {
  for (size_t i = 0; i < cfg->nviews; i++) {
    const ed_view_def_t *def = &cfg->views[i];
    ed_topology_t *t;
    int rc = ed_view_compile(def, cfg->app, &t, err, errlen);
    if (rc != ED_OK) return rc;
    ed_topology_opts_t opts = {.on_error = def->on_error};
    rc = ed_engine_add_topology(engine, t, &opts, err, errlen);
    if (rc != ED_OK) {
      ed_topology_destroy(t);
      return rc;
    }
  }
  return ED_OK;
}

static int run(const ed_config_t *cfg, double loadgen_rate) {
  char err[1024];
  ed_mock_kafka_t *mock = NULL;
  ed_engine_t *engine = NULL;
  ed_http_t *http = NULL;
  ed_members_t *members = NULL;
  loadgen_thread_t lg = {0};
  int status = 1;
  const char *bootstrap = cfg->bootstrap_servers;
  if (cfg->embedded_kafka) {
    if (ed_mock_kafka_start(1, &mock, err, sizeof err) != ED_OK ||
        ed_mock_kafka_create_config_topics(mock, cfg, cfg->embedded_partitions, err, sizeof err) !=
            ED_OK)
      goto out;
    bootstrap = ed_mock_kafka_bootstrap(mock);
    ed_log_info("embedded kafka (librdkafka mock cluster) at %s", bootstrap);
  }
  ed_engine_conf_t ec = {
      .app = cfg->app,
      .data_dir = cfg->data_dir,
      .bootstrap_servers = bootstrap,
      .commit_interval_ms = cfg->commit_interval_ms,
      .exactly_once = cfg->exactly_once,
      .instance_id = cfg->instance_id,
      .kafka = cfg->kafka,
      .nkafka = cfg->nkafka,
  };
  if (ed_engine_create(&ec, &engine, err, sizeof err) != ED_OK ||
      add_views(engine, cfg, err, sizeof err) != ED_OK)
    goto out;
  ed_members_conf_t mc = {.app = cfg->app,
                          .bootstrap = bootstrap,
                          .kafka = cfg->kafka,
                          .nkafka = cfg->nkafka,
                          .engine = engine,
                          .instance_id = cfg->instance_id,
                          .advertised_url = cfg->http_advertised_url,
                          .standby_replicas = cfg->num_standby_replicas};
  if (ed_members_start(&mc, &members, err, sizeof err) != ED_OK) goto out;
  ed_http_conf_t hc = {.listen = cfg->http_listen,
                       .engine = engine,
                       .tls_cert = cfg->http_tls_cert,
                       .tls_key = cfg->http_tls_key,
                       .ready_max_lag = cfg->http_ready_max_lag,
                       .threads = cfg->http_threads,
                       .instance_id = cfg->instance_id,
                       .advertised_url = cfg->http_advertised_url,
                       .members = members};
  if (ed_http_start(&hc, &http, err, sizeof err) != ED_OK) goto out;
  if (ed_engine_start(engine, err, sizeof err) != ED_OK) goto out;
  ed_log_info("eddy serving %zu view(s) on %s://%s (advertised as %s)", cfg->nviews,
              cfg->http_tls_cert ? "https" : "http", cfg->http_listen, cfg->http_advertised_url);
  if (loadgen_rate > 0) {
    lg.conf = (ed_loadgen_conf_t){.bootstrap = bootstrap, .topic = cfg->views[0].from,
                                  .rate = loadgen_rate, .stop = &serve_stop, .quiet = 1};
    lg.started = pthread_create(&lg.thread, NULL, loadgen_main, &lg) == 0;
  }
  while (!serve_stop) usleep(50 * 1000); /* signals may land on any thread */
  ed_log_info("shutting down");
  status = 0;
out:
  if (status != 0) fprintf(stderr, "eddy serve: %s\n", err);
  serve_stop = 1;
  if (lg.started) pthread_join(lg.thread, NULL);
  ed_members_stop(members); /* the tombstone first: the others drop us now */
  if (engine) ed_engine_stop(engine);
  ed_http_stop(http);
  ed_members_destroy(members);
  ed_engine_destroy(engine);
  ed_mock_kafka_stop(mock);
  return status;
}

int ed_serve_main(int argc, char **argv) {
  static const struct option opts[] = {{"loadgen", required_argument, NULL, 'l'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  double rate = 0;
  int c;
  while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
    switch (c) {
    case 'l': rate = atof(optarg); break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    usage(stderr);
    return 2;
  }
  char err[1024];
  ed_config_t *cfg;
  if (ed_config_load(argv[optind], &cfg, err, sizeof err) != ED_OK) {
    fprintf(stderr, "eddy serve: %s\n", err);
    return 1;
  }
  ed__install_signals(on_signal);
  int status = run(cfg, rate);
  ed_config_free(cfg);
  return status;
}
