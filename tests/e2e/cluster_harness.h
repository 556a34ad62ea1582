/* End-to-end cluster harness: `eddy serve` instances (id, port, directory,
 * config, process), their configs, and the cluster map (GET /v1/cluster)
 * seen from every live instance.
 *
 * Calls that return an int or a reason do not touch cmocka, so the benches
 * (which die() instead) use them too; eh_instance_start() and
 * eh_instances_teardown() are test steps built on harness.h's. */
#ifndef ED_TESTS_E2E_CLUSTER_HARNESS_H
#define ED_TESTS_E2E_CLUSTER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "tests/e2e/harness.h"

/* One `eddy serve`: its data_dir is <dir>/data, its config <dir>/eddy.yaml. */
typedef struct {
  char id[64];   /* instance_id */
  char dir[320]; /* its directory (logs, data/) */
  char config[400];
  char url[128]; /* http://127.0.0.1:<port> (also the advertised URL) */
  int port;
  int live; /* 1 between start and stop: the map is read from it */
  eh_proc_t proc;
} eh_instance_t;

/* Config options; zero fields take the defaults named. */
typedef struct {
  int standbys;           /* num_standby_replicas, written when > 0 */
  int commit_interval_ms; /* 0: 50 */
  int session_timeout_ms; /* 0: 6000; < 0: not written */
  int heartbeat_ms;       /* heartbeat.interval.ms, written when > 0 */
  const char *http_extra; /* more fields of the http map ("ready_max_lag: 0"), or NULL */
} eh_instance_opts_t;

/* Sets @p in up: id @p id, directory @p dir (created if missing), a free
 * port (distinct from the ports of @p others[0..nothers)). 0 or -1. */
int eh_instance_init(eh_instance_t *in, const char *id, const char *dir,
                     const eh_instance_t *others, int nothers);

/* eh_instance_init() of @p n instances ids[k] in <root>/<ids[k]>. 0 or -1. */
int eh_instances_init(eh_instance_t *in, int n, const char *root, const char *const *ids);

/* Writes @p in's config to @p path (NULL: in->config): app @p app,
 * instance_id, @p bootstrap (fetch.wait.max.ms 10, the session timeout,
 * the heartbeat), the HTTP listener and advertised URL, data_dir
 * <dir>/data, commit_interval_ms, then "views:\n" and @p views (YAML
 * lines, borrowed). 0 or -1. */
int eh_instance_write_config(const eh_instance_t *in, const char *path, const char *app,
                             const char *bootstrap, const eh_instance_opts_t *o, const char *views);

/* Test step: eh_start_serve() of @p in (fails the test unless it answers
 * /healthz within 30 s); then in->live = 1. */
void eh_instance_start(eh_instance_t *in, eh_http_t *h);

/* Starts `@p eddy serve <config>` without waiting (benches). 0 or -1. */
int eh_instance_spawn(eh_instance_t *in, const char *eddy);

/* in->live = 0 and eh_proc_kill(): returns its exit code as eh_proc_wait. */
int eh_instance_stop(eh_instance_t *in, int sig, int64_t timeout_ms);

/* Teardown: unless @p passed, prints the last @p dump_max bytes of every
 * started instance's stderr; kills every instance (SIGKILL). */
void eh_instances_teardown(eh_instance_t *in, int n, int passed, size_t dump_max);

/* Teardown of dev-kafka and a producer (NULL: none): unless @p passed,
 * prints dev-kafka's stderr; destroys the producer; stops dev-kafka. */
void eh_kafka_teardown(eh_proc_t *kafka, rd_kafka_t *producer, int passed);

/* ---- the cluster map ---- */

/* Reads @p in's /v1/cluster, the first view of its catalog: owners[p] (an
 * index into @p all by instance_id) and, if @p standbys is not NULL,
 * standbys[p] (a bit set of indexes into @p all) for @p npart partitions.
 * Returns NULL when every partition has a running owner among @p all,
 * else what is missing (a constant string). */
const char *eh_cluster_read(eh_http_t *h, const eh_instance_t *in, const eh_instance_t *all,
                            int nall, int npart, int *owners, unsigned *standbys);

/* What eh_cluster_wait() waits for. */
typedef struct {
  int npart;
  unsigned must_own; /* bit k: all[k] owns some partition */
  int standbys;      /* every partition has a standby on an instance other than its owner */
  int64_t timeout_ms;
  int64_t poll_ms;   /* 0: 200 */
  const char *label; /* printed with the time and the owners once converged; NULL: quiet */
  /* Called once the maps agree: NULL when also ready, else why not. May
   * fail the test. NULL: nothing more. */
  const char *(*also)(void *arg);
  void *arg;
} eh_cluster_want_t;

/* Waits until the maps of every live instance of @p all agree, every
 * partition runs on a live instance, and @p w's conditions hold; the
 * owners (indexes into @p all) into @p owners. Returns 0, or -1 with the
 * reason in *why (an instance died, or what was still missing at the
 * deadline; borrowed until the next call). */
int eh_cluster_wait(eh_http_t *h, eh_instance_t *all, int nall, const eh_cluster_want_t *w,
                    int *owners, const char **why);

/* ---- answers ---- */

/* The sum of @p in's eddy_forwarded_requests_total series (GET /metrics),
 * or -1 if /metrics does not answer 200. */
long eh_forwarded_total(eh_http_t *h, const eh_instance_t *in);

/* An HTTP answer with its eddy-served-by header, and the libcurl handle
 * that fetched it (one per thread). Zero-initialise; eh_answer_fini()
 * frees. */
typedef struct {
  void *curl; /* CURL *, made by the first eh_request() */
  char *body; /* NUL-terminated after a request */
  size_t len, cap;
  char served_by[128]; /* "" without the header */
} eh_answer_t;

/* GET @p url, or POST of JSON @p post (NULL: GET), with one extra header
 * line @p hdr (NULL: none), at most @p timeout_ms. Returns the HTTP status
 * (0 if the request failed); the answer in @p a (reset first). */
long eh_request(eh_answer_t *a, const char *url, const char *post, const char *hdr,
                int64_t timeout_ms);

/* Frees @p a's body and handle; @p a may be reused after. */
void eh_answer_fini(eh_answer_t *a);

/* GET /v1/views/<view>/keys/<key> from @p port: the "count" field of the
 * value as an int64 (and the answer's offset into *offset, may be NULL).
 * Returns -1 if the status is not 200 or there is no integer count. */
int64_t eh_key_count(eh_http_t *h, int port, const char *view, const char *key, int64_t *offset);

#endif
