/* End to end: GET /v1/cluster of one eddy serve against eddy dev-kafka.
 *
 * A count view over topic "clicks" (4 partitions) on a server configured
 * with instance_id and http.advertised_url. After 200 records are produced
 * and the view has caught up, the map must list exactly one instance (this
 * one, "self", with its id and URL) holding all 4 partitions "running" at
 * the topic's end with lag 0, and name it the owner of every partition; in
 * JSON and as the protobuf ClusterMap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/eddy.pb-c.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NRECORDS 200
#define CATCHUP_MS 20000

typedef struct {
  char dir[256];
  char bootstrap[256];
  eh_instance_t in; /* its id: cl-test.0:<port> */
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *producer;
  CURL *curl;
  char *body;
  size_t len, cap;
  char ctype[128];
  int passed;
} ct_t;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  ct_t *t = arg;
  size_t add = size * n;
  if (t->len + add + 1 > t->cap) {
    size_t nc = (t->len + add + 1) * 2;
    char *nb = realloc(t->body, nc);
    if (!nb) return 0;
    t->body = nb;
    t->cap = nc;
  }
  memcpy(t->body + t->len, p, add);
  t->len += add;
  t->body[t->len] = '\0';
  return add;
}

/* GET /v1/cluster; returns the status (0 on failure), the body in t->body. */
static int get_cluster(ct_t *t, int pb) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/cluster", t->in.port);
  curl_easy_reset(t->curl);
  curl_easy_setopt(t->curl, CURLOPT_URL, url);
  curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
  struct curl_slist *h =
      curl_slist_append(NULL, pb ? "Accept: application/x-protobuf" : "Accept: */*");
  curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, h);
  t->len = 0;
  t->ctype[0] = '\0';
  long status = 0;
  if (curl_easy_perform(t->curl) == CURLE_OK) {
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    char *ct = NULL;
    curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) snprintf(t->ctype, sizeof t->ctype, "%s", ct);
  }
  curl_slist_free_all(h);
  if (!t->body) on_body("", 0, 0, t);
  return (int)status;
}

/* Text of field @p name of JSON object @p obj (@p len bytes) into @p out;
 * "" if missing. */
static void field(const char *obj, size_t len, const char *name, char *out, size_t cap) {
  if (eh_json_get_text(obj, len, name, out, cap) != 0) out[0] = '\0';
}

static int64_t num(const char *obj, size_t len, const char *name) {
  int is_int = 0;
  int64_t i = -999;
  double d = 0;
  if (eh_json_get_number(obj, len, name, &is_int, &i, &d) != 0 || !is_int) return -999;
  return i;
}

/* Checks the JSON map; returns NULL if it shows the expected state, else
 * what differs (for the retry loop and the final failure). */
static const char *check_json(ct_t *t, const int64_t *end) {
  static char why[256];
  static char arr[65536], views[65536], parts[65536], s[512];
  const char *b = t->body;
  if (eh_json_get_text(b, t->len, "instances", arr, sizeof arr) != 0) return "no instances";
  size_t pos = 0, elen;
  const char *el;
  int n = 0;
  while (eh_json_array_next(arr, strlen(arr), &pos, &el, &elen) == 1) {
    if (n++ > 0) return "more than one instance";
    field(el, elen, "instance_id", s, sizeof s);
    if (strcmp(s, t->in.id) != 0) return "wrong instance_id";
    field(el, elen, "advertised_url", s, sizeof s);
    if (strcmp(s, t->in.url) != 0) return "wrong advertised_url";
    field(el, elen, "self", s, sizeof s);
    if (strcmp(s, "true") != 0) return "self is not true";
    if (eh_json_get_text(el, elen, "views", views, sizeof views) != 0) return "no views";
    size_t vpos = 0, vlen;
    const char *v;
    if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 1) return "no view held";
    field(v, vlen, "view", s, sizeof s);
    if (strcmp(s, "counts") != 0) return "wrong view";
    if (eh_json_get_text(v, vlen, "partitions", parts, sizeof parts) != 0) return "no partitions";
    size_t ppos = 0, plen;
    const char *p;
    int np = 0;
    while (eh_json_array_next(parts, strlen(parts), &ppos, &p, &plen) == 1) {
      if (num(p, plen, "partition") != np) return "partitions out of order";
      field(p, plen, "state", s, sizeof s);
      if (strcmp(s, "running") != 0) return "partition not running";
      if (num(p, plen, "offset") != end[np]) {
        snprintf(why, sizeof why, "partition %d at offset %lld, not %lld", np,
                 (long long)num(p, plen, "offset"), (long long)end[np]);
        return why;
      }
      if (num(p, plen, "lag") != 0) return "lag not 0";
      np++;
    }
    if (np != NPART) return "not every partition held";
    if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 0) return "extra view";
  }
  if (n != 1) return "no instance";
  /* the catalog */
  if (eh_json_get_text(b, t->len, "views", views, sizeof views) != 0) return "no catalog";
  size_t vpos = 0, vlen;
  const char *v;
  if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 1) return "empty catalog";
  field(v, vlen, "view", s, sizeof s);
  if (strcmp(s, "counts") != 0) return "catalog: wrong view";
  if (num(v, vlen, "partitions") != NPART) return "catalog: wrong partition count";
  if (eh_json_get_text(v, vlen, "owners", parts, sizeof parts) != 0) return "no owners";
  size_t ppos = 0, plen;
  const char *p;
  int np = 0;
  while (eh_json_array_next(parts, strlen(parts), &ppos, &p, &plen) == 1) {
    if (num(p, plen, "partition") != np) return "owners out of order";
    field(p, plen, "instance_id", s, sizeof s);
    if (strcmp(s, t->in.id) != 0) return "owner is not this instance";
    field(p, plen, "state", s, sizeof s);
    if (strcmp(s, "running") != 0) return "owner not running";
    np++;
  }
  if (np != NPART) return "not one owner per partition";
  return NULL;
}

static void check_pb(ct_t *t, const int64_t *end) {
  assert_int_equal(get_cluster(t, 1), 200);
  assert_true(strncmp(t->ctype, "application/x-protobuf", 22) == 0);
  Eddy__V1__ClusterMap *m = eddy__v1__cluster_map__unpack(NULL, t->len, (uint8_t *)t->body);
  assert_non_null(m);
  assert_int_equal(m->n_instances, 1);
  Eddy__V1__Instance *in = m->instances[0];
  assert_string_equal(in->instance_id, t->in.id);
  assert_string_equal(in->advertised_url, t->in.url);
  assert_true(in->self);
  assert_int_equal(in->n_views, 1);
  assert_string_equal(in->views[0]->view, "counts");
  assert_int_equal(in->views[0]->n_partitions, NPART);
  for (int p = 0; p < NPART; p++) {
    Eddy__V1__ClusterPartition *cp = in->views[0]->partitions[p];
    assert_int_equal(cp->partition, p);
    assert_string_equal(cp->state, "running");
    assert_int_equal(cp->offset, end[p]);
    assert_int_equal(cp->lag, 0);
  }
  assert_int_equal(m->n_views, 1);
  assert_string_equal(m->views[0]->view, "counts");
  assert_int_equal(m->views[0]->partitions, NPART);
  assert_int_equal(m->views[0]->n_owners, NPART);
  for (int p = 0; p < NPART; p++) {
    assert_int_equal(m->views[0]->owners[p]->partition, p);
    assert_string_equal(m->views[0]->owners[p]->instance_id, t->in.id);
    assert_string_equal(m->views[0]->owners[p]->state, "running");
  }
  eddy__v1__cluster_map__free_unpacked(m, NULL);
}

static void test_cluster(void **state) {
  ct_t *t = *state;
  int64_t t0 = eh_now_ms();
  char *args[] = {"--topic", "cl.counts.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  eh_instance_opts_t o = {.session_timeout_ms = -1};
  assert_int_equal(eh_instance_write_config(&t->in, NULL, "cl", t->bootstrap, &o,
                                            "  counts: { from: clicks, format: string, "
                                            "aggregate: count }\n"),
                   0);

  /* The topic first (dev-kafka creates it with 4 partitions on produce). */
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  for (int i = 0; i < NRECORDS; i++) {
    char key[16];
    snprintf(key, sizeof key, "u%d", i % 37);
    assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1, 0, NULL), 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  int64_t end[NPART];
  eh_watermarks(t->producer, "clicks", NPART, end);
  int64_t total = 0;
  for (int p = 0; p < NPART; p++)
    total += end[p];
  assert_int_equal(total, NRECORDS);

  eh_instance_start(&t->in, t->http);
  /* Right after start the map answers (maybe with nothing held yet). */
  assert_int_equal(get_cluster(t, 0), 200);
  assert_true(strncmp(t->ctype, "application/json", 16) == 0);
  assert_true(eh_contains(t->body, "\"self\":true"));

  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  const char *why = "no answer";
  for (;;) {
    int st = get_cluster(t, 0);
    if (st == 200 && (why = check_json(t, end)) == NULL) break;
    if (st != 200) why = "status not 200";
    if (!eh_proc_alive(&t->in.proc)) fail_msg("eddy serve died");
    if (eh_now_ms() > deadline)
      fail_msg("cluster map not as expected in time: %s: %s", why, t->body);
    eh_sleep_ms(50);
  }
  fprintf(stderr, "  /v1/cluster: %s\n", t->body);
  check_pb(t, end);
  /* Another method is refused. */
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/cluster", t->in.port);
  curl_easy_reset(t->curl); /* drops the header list get_cluster freed */
  curl_easy_setopt(t->curl, CURLOPT_URL, url);
  curl_easy_setopt(t->curl, CURLOPT_CUSTOMREQUEST, "DELETE");
  curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
  t->len = 0;
  long status = 0;
  assert_int_equal(curl_easy_perform(t->curl), CURLE_OK);
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  assert_int_equal(status, 405);

  assert_int_equal(eh_proc_kill(&t->in.proc, SIGTERM, 10000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  ct_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-cluster-", t->dir, sizeof t->dir) != 0) return -1;
  t->curl = curl_easy_init();
  t->http = eh_http_create();
  if (eh_instance_init(&t->in, "", t->dir, NULL, 0) != 0) return -1;
  snprintf(t->in.id, sizeof t->in.id, "cl-test.0:%d", t->in.port);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  ct_t *t = *state;
  eh_instances_teardown(&t->in, 1, t->passed, 6000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  curl_easy_cleanup(t->curl);
  eh_http_destroy(t->http);
  free(t->body);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cluster, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
