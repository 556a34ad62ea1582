/* End to end: the query API over HTTP against eddy dev-kafka + eddy serve,
 * with a count view ("counts") and a tumbling-window count view
 * ("per_min") over one topic of 4 partitions.
 *
 * - range scans: whole table, pages with cursors, from/to bounds, windowed
 *   (key, window) rows with window_from/window_to, JSON and protobuf
 *   (decoded with protobuf-c), positions equal to the partitions' ends;
 * - cursor paging while records keep being produced: no key that existed
 *   throughout is skipped or repeated;
 * - multi-get with missing keys, JSON and protobuf both ways;
 * - key lookups and the views list in protobuf;
 * - errors: unknown view 404, bad limit 400, bad cursor 400, DELETE 405,
 *   malformed multi-get 400 (JSON and protobuf Error bodies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/murmur2.h"
#include "proto/eddy.pb-c.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NKEYS 100
#define NRECORDS 600
#define T0 1699999980000LL /* a minute boundary (ms) */
#define STEP_MS 300        /* event time step per record: 3 minutes overall */
#define NWIN 3
#define CATCHUP_MS 30000

typedef struct {
  char dir[256], bootstrap[256], config_path[512];
  int port;
  eh_proc_t kafka, serve;
  int passed;
  rd_kafka_t *producer;
  pthread_mutex_t mu;
  int64_t end[NPART];
  atomic_long failed;
  /* expectations */
  int64_t count[NKEYS];
  int64_t wcount[NKEYS][NWIN];
  /* the producer thread of the paging test */
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_long produced_more;
  /* HTTP */
  CURL *curl;
  char *body;
  size_t len, cap;
  char ctype[128];
} qt_t;

static const char *eddy_bin(void) { return eh_bin("EDDY_BIN"); }

static void key_name(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }

/* ---- HTTP ---- */

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  qt_t *t = arg;
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

/* One request; returns the status (0 on failure). t->body / t->len hold the
 * answer, t->ctype its Content-Type. */
static int http(qt_t *t, const char *method, const char *path, int pb, const char *ctype,
                const void *body, size_t blen) {
  char url[4096];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", t->port, path);
  CURL *c = t->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, pb ? "Accept: application/x-protobuf" : "Accept: */*");
  char ct[128];
  if (ctype) {
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    h = curl_slist_append(h, ct);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
  }
  t->len = 0;
  if (t->body) t->body[0] = '\0';
  t->ctype[0] = '\0';
  long status = 0;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *ctv = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctv);
    if (ctv) snprintf(t->ctype, sizeof t->ctype, "%s", ctv);
  }
  curl_slist_free_all(h);
  if (!t->body) on_body("", 0, 0, t);
  return (int)status;
}

static int get(qt_t *t, const char *path, int pb) {
  return http(t, "GET", path, pb, NULL, NULL, 0);
}

static void expect_ctype(qt_t *t, int pb) {
  const char *want = pb ? "application/x-protobuf" : "application/json";
  if (strncmp(t->ctype, want, strlen(want)) != 0)
    fail_msg("Content-Type '%s', want %s (body %s)", t->ctype, want, pb ? "" : t->body);
}

/* ---- small JSON helpers over common/json.h ---- */

static int jfield(const char *json, size_t len, const char *name, ed_json_val_t *v) {
  ed_json_field_t f = {name, strlen(name)};
  if (ed_json_scan(json, len, &f, 1, v, NULL) != 0) return -1;
  return v->type == ED_JSON_MISSING ? -1 : 0;
}

static int64_t jint(const char *json, size_t len, const char *name) {
  ed_json_val_t v;
  if (jfield(json, len, name, &v) != 0) fail_msg("no field %s in %.*s", name, (int)len, json);
  int is_int;
  int64_t i;
  double d;
  if (ed_json_number(&v, &is_int, &i, &d) != 0 || !is_int) fail_msg("%s is not an integer", name);
  return i;
}

static void jstr(const char *json, size_t len, const char *name, char *out, size_t cap) {
  ed_json_val_t v;
  if (jfield(json, len, name, &v) != 0 || v.type != ED_JSON_STRING)
    fail_msg("no string %s in %.*s", name, (int)len, json);
  long n = ed_json_unescape(&v, out, cap - 1);
  if (n < 0) fail_msg("%s too long", name);
  out[n] = '\0';
}

/* The raw text of array field @p name. */
static void jarr(const char *json, size_t len, const char *name, const char **a, size_t *alen) {
  ed_json_val_t v;
  if (jfield(json, len, name, &v) != 0 || v.type != ED_JSON_ARRAY)
    fail_msg("no array %s in %.*s", name, (int)len, json);
  *a = v.p;
  *alen = v.len;
}

/* ---- a parsed page ---- */

typedef struct {
  char key[64];
  int64_t start; /* windowed */
  int64_t count;
} prow_t;

typedef struct {
  prow_t rows[NKEYS * NWIN * 4];
  size_t n;
  char cursor[1024]; /* "" when complete */
  int64_t offset[NPART];
  int npos;
} page_t;

static void parse_page_json(qt_t *t, int windowed, page_t *p) {
  memset(p, 0, sizeof *p);
  const char *a;
  size_t alen, pos = 0;
  jarr(t->body, t->len, "rows", &a, &alen);
  const char *e;
  size_t elen;
  while (eh_json_array_next(a, alen, &pos, &e, &elen) == 1) {
    assert_true(p->n < sizeof p->rows / sizeof p->rows[0]);
    prow_t *r = &p->rows[p->n++];
    jstr(e, elen, "key", r->key, sizeof r->key);
    if (windowed) {
      r->start = jint(e, elen, "start");
      assert_int_equal(jint(e, elen, "end"), r->start + 60000);
    }
    ed_json_val_t v;
    if (jfield(e, elen, "value", &v) != 0) fail_msg("no value: %.*s", (int)elen, e);
    r->count = jint(v.p, v.len, "count");
  }
  ed_json_val_t c;
  if (jfield(t->body, t->len, "next_cursor", &c) == 0)
    jstr(t->body, t->len, "next_cursor", p->cursor, sizeof p->cursor);
  jarr(t->body, t->len, "positions", &a, &alen);
  pos = 0;
  while (eh_json_array_next(a, alen, &pos, &e, &elen) == 1) {
    int64_t part = jint(e, elen, "partition");
    assert_true(part >= 0 && part < NPART);
    p->offset[part] = jint(e, elen, "offset");
    p->npos++;
  }
}

static void parse_page_pb(qt_t *t, int windowed, page_t *p) {
  memset(p, 0, sizeof *p);
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, t->len, (const uint8_t *)t->body);
  if (!l) fail_msg("the body is not a RowList (%zu bytes)", t->len);
  for (size_t i = 0; i < l->n_rows; i++) {
    Eddy__V1__Row *r = l->rows[i];
    prow_t *o = &p->rows[p->n++];
    assert_true(r->key.len < sizeof o->key);
    memcpy(o->key, r->key.data, r->key.len);
    const Eddy__V1__Value *v = r->value;
    if (windowed) {
      assert_int_equal(r->n_windows, 1);
      o->start = r->windows[0]->start;
      assert_int_equal(r->windows[0]->end, o->start + 60000);
      v = r->windows[0]->value;
    }
    assert_non_null(v);
    assert_int_equal(v->n_columns, 1);
    assert_string_equal(v->columns[0]->name, "count");
    assert_int_equal(v->columns[0]->value_case, EDDY__V1__COLUMN__VALUE_INT_VALUE);
    o->count = v->columns[0]->int_value;
  }
  snprintf(p->cursor, sizeof p->cursor, "%s", l->next_cursor);
  for (size_t i = 0; i < l->n_positions; i++) {
    assert_true(l->positions[i]->partition >= 0 && l->positions[i]->partition < NPART);
    p->offset[l->positions[i]->partition] = l->positions[i]->offset;
    assert_true(l->positions[i]->has_stream_time);
    p->npos++;
  }
  eddy__v1__row_list__free_unpacked(l, NULL);
}

static void fetch_page(qt_t *t, const char *view, const char *query, int pb, page_t *p) {
  char path[2048];
  snprintf(path, sizeof path, "/v1/views/%s/rows%s%s", view, query[0] ? "?" : "", query);
  int st = get(t, path, pb);
  if (st != 200) fail_msg("GET %s: %d %s", path, st, pb ? "" : t->body);
  expect_ctype(t, pb);
  int windowed = strcmp(view, "per_min") == 0;
  if (pb)
    parse_page_pb(t, windowed, p);
  else
    parse_page_json(t, windowed, p);
}

/* ---- producing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  qt_t *t = opaque;
  if (m->err) {
    atomic_fetch_add(&t->failed, 1);
    return;
  }
  pthread_mutex_lock(&t->mu);
  if (m->partition >= 0 && m->partition < NPART && m->offset + 1 > t->end[m->partition])
    t->end[m->partition] = m->offset + 1;
  pthread_mutex_unlock(&t->mu);
}

static void produce(qt_t *t, const char *key, int64_t ts) {
  for (;;) {
    rd_kafka_resp_err_t err =
        rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC("clicks"), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE("x", 1), RD_KAFKA_V_TIMESTAMP(ts),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(t->producer, 10);
      continue;
    }
    if (err) atomic_fetch_add(&t->failed, 1);
    return;
  }
}

/* Keys appear in a deterministic shuffle; event time grows by STEP_MS. */
static void produce_initial(qt_t *t) {
  for (int i = 0; i < NRECORDS; i++) {
    int k = (int)(((uint64_t)i * 37u + (uint64_t)(i / NKEYS)) % NKEYS);
    char key[16];
    key_name(k, key, sizeof key);
    int64_t ts = T0 + (int64_t)i * STEP_MS;
    produce(t, key, ts);
    t->count[k]++;
    t->wcount[k][(ts - T0) / 60000]++;
  }
  rd_kafka_flush(t->producer, 10000);
  assert_int_equal(atomic_load(&t->failed), 0);
}

/* While the paging test runs: records for old keys and for new keys
 * between them ("k005a", ...), in small batches. */
static void *more_thread(void *arg) {
  qt_t *t = arg;
  int64_t ts = T0 + (int64_t)NRECORDS * STEP_MS;
  for (int i = 0; !atomic_load(&t->stop) && i < 4000; i++) {
    char key[16];
    if (i % 2)
      key_name(i % NKEYS, key, sizeof key);
    else
      snprintf(key, sizeof key, "k%03d%c", (i * 7) % NKEYS, 'a' + (i % 26));
    produce(t, key, ts);
    atomic_fetch_add(&t->produced_more, 1);
    if (i % 20 == 19) {
      rd_kafka_flush(t->producer, 5000);
      eh_sleep_ms(10);
    }
  }
  rd_kafka_flush(t->producer, 5000);
  return NULL;
}

/* ---- setup ---- */

static void write_config(qt_t *t, const char *bootstrap) {
  char text[2048];
  snprintf(text, sizeof text,
           "app: qt\n"
           "kafka:\n"
           "  bootstrap.servers: \"%s\"\n"
           "  session.timeout.ms: 6000\n"
           "  fetch.wait.max.ms: 10\n"
           "http: { listen: \"127.0.0.1:%d\" }\n"
           "data_dir: %s/data\n"
           "commit_interval_ms: 50\n"
           "views:\n"
           "  counts: { from: clicks, format: string, aggregate: count }\n"
           "  per_min:\n"
           "    from: clicks\n"
           "    format: string\n"
           "    window: { type: tumbling, size: 1m, grace: 1h }\n"
           "    aggregate: count\n",
           bootstrap, t->port, t->dir);
  assert_int_equal(eh_write_file(t->config_path, text), 0);
}

static rd_kafka_t *make_producer(qt_t *t) {
  rd_kafka_t *rk = eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
  if (rk == NULL) fail_msg("cannot create the producer");
  return rk;
}

/* Waits until a full scan of @p view reflects the partitions' ends. */
static void wait_caught_up(qt_t *t, const char *view) {
  int64_t end[NPART];
  pthread_mutex_lock(&t->mu);
  memcpy(end, t->end, sizeof end);
  pthread_mutex_unlock(&t->mu);
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  char path[256];
  snprintf(path, sizeof path, "/v1/views/%s/rows?limit=1", view);
  for (;;) {
    int st = get(t, path, 0);
    if (st == 200) {
      page_t *p = calloc(1, sizeof *p);
      parse_page_json(t, strcmp(view, "per_min") == 0, p);
      int ok = p->npos == NPART;
      for (int i = 0; i < NPART; i++) {
        if (p->offset[i] > end[i])
          fail_msg("partition %d: offset %lld beyond the end %lld", i, (long long)p->offset[i],
                   (long long)end[i]);
        if (p->offset[i] != end[i]) ok = 0;
      }
      free(p);
      if (ok) return;
    } else if (st != 503 && st != 0) {
      fail_msg("GET %s: %d %s", path, st, t->body);
    }
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died");
    if (eh_now_ms() > deadline) fail_msg("view %s not caught up in time: %d %s", view, st, t->body);
    eh_sleep_ms(50);
  }
}

static int setup(void **state) {
  qt_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  pthread_mutex_init(&t->mu, NULL);
  if (eh_tmpdir("eddy-query-", t->dir, sizeof t->dir) != 0) return -1;
  snprintf(t->config_path, sizeof t->config_path, "%s/eddy.yaml", t->dir);
  t->curl = curl_easy_init();
  t->port = eh_free_port();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  qt_t *t = *state;
  atomic_store(&t->stop, 1);
  if (t->thread_started) pthread_join(t->thread, NULL);
  if (!t->passed) {
    if (t->serve.pid) eh_proc_dump_err(&t->serve, "eddy serve", 6000);
    if (t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 2000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  if (t->producer) {
    rd_kafka_flush(t->producer, 2000);
    rd_kafka_destroy(t->producer);
  }
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  curl_easy_cleanup(t->curl);
  free(t->body);
  if (getenv("EDDY_E2E_KEEP"))
    fprintf(stderr, "kept %s\n", t->dir);
  else
    eh_rm_rf(t->dir);
  pthread_mutex_destroy(&t->mu);
  free(t);
  return 0;
}

/* ---- the test ---- */

static void start(qt_t *t) {
  write_config(t, "127.0.0.1:1"); /* dev-kafka reads the views only */
  char *argv[] = {(char *)eddy_bin(), "dev-kafka", "--partitions", "4", "--config",
                  t->config_path,     NULL};
  assert_int_equal(eh_proc_spawn(&t->kafka, t->dir, "dev-kafka", argv), 0);
  if (eh_proc_first_line(&t->kafka, t->bootstrap, sizeof t->bootstrap, 20000) != 0)
    fail_msg("eddy dev-kafka printed no bootstrap line within 20 s");
  write_config(t, t->bootstrap);
  t->producer = make_producer(t);
  produce_initial(t);
  char *sargv[] = {(char *)eddy_bin(), "serve", t->config_path, NULL};
  assert_int_equal(eh_proc_spawn(&t->serve, t->dir, "serve", sargv), 0);
  int64_t deadline = eh_now_ms() + 30000;
  while (get(t, "/healthz", 0) != 200) {
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve exited");
    if (eh_now_ms() > deadline) fail_msg("no /healthz");
    eh_sleep_ms(50);
  }
  wait_caught_up(t, "counts");
  wait_caught_up(t, "per_min");
}

/* Whole table, pages with cursors, bounds; JSON and protobuf agree. */
static void check_rows(qt_t *t) {
  page_t *all = calloc(1, sizeof *all), *pg = calloc(1, sizeof *pg), *pb = calloc(1, sizeof *pb);
  fetch_page(t, "counts", "limit=10000", 0, all);
  assert_int_equal(all->n, NKEYS);
  assert_string_equal(all->cursor, "");
  assert_int_equal(all->npos, NPART);
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    key_name(i, key, sizeof key);
    assert_string_equal(all->rows[i].key, key);
    if (all->rows[i].count != t->count[i])
      fail_msg("%s: count %lld, want %lld", key, (long long)all->rows[i].count,
               (long long)t->count[i]);
  }
  for (int i = 0; i < NPART; i++)
    assert_int_equal(all->offset[i], t->end[i]);
  /* the default limit is 100: exactly the table, no cursor */
  fetch_page(t, "counts", "", 1, pb);
  assert_int_equal(pb->n, NKEYS);
  assert_string_equal(pb->cursor, "");
  for (int i = 0; i < NKEYS; i++) {
    assert_string_equal(pb->rows[i].key, all->rows[i].key);
    assert_int_equal(pb->rows[i].count, all->rows[i].count);
  }
  for (int i = 0; i < NPART; i++)
    assert_int_equal(pb->offset[i], t->end[i]);

  /* pages of 7, JSON and protobuf alternately */
  size_t got = 0;
  char q[2400] = "limit=7";
  for (int n = 0;; n++) {
    fetch_page(t, "counts", q, n % 2, pg);
    assert_true(pg->n <= 7);
    for (size_t i = 0; i < pg->n; i++, got++) {
      assert_true(got < NKEYS);
      assert_string_equal(pg->rows[i].key, all->rows[got].key);
    }
    if (!pg->cursor[0]) break;
    assert_int_equal(pg->n, 7);
    snprintf(q, sizeof q, "limit=7&cursor=%s", pg->cursor);
  }
  assert_int_equal(got, NKEYS);

  /* from inclusive, to exclusive (percent-encoded) */
  fetch_page(t, "counts", "from=k010&to=k02%30", 0, pg);
  assert_int_equal(pg->n, 10);
  assert_string_equal(pg->rows[0].key, "k010");
  assert_string_equal(pg->rows[9].key, "k019");

  /* windowed: (key, window) rows by key then start */
  fetch_page(t, "per_min", "limit=10000", 0, all);
  size_t want = 0;
  for (int i = 0; i < NKEYS; i++)
    for (int w = 0; w < NWIN; w++)
      want += t->wcount[i][w] > 0;
  assert_int_equal(all->n, want);
  size_t r = 0;
  for (int i = 0; i < NKEYS; i++)
    for (int w = 0; w < NWIN; w++) {
      if (!t->wcount[i][w]) continue;
      char key[16];
      key_name(i, key, sizeof key);
      assert_string_equal(all->rows[r].key, key);
      assert_int_equal(all->rows[r].start, T0 + w * 60000);
      assert_int_equal(all->rows[r].count, t->wcount[i][w]);
      r++;
    }
  fetch_page(t, "per_min", "limit=10000", 1, pb);
  assert_int_equal(pb->n, all->n);
  for (size_t i = 0; i < pb->n; i++) {
    assert_string_equal(pb->rows[i].key, all->rows[i].key);
    assert_int_equal(pb->rows[i].start, all->rows[i].start);
    assert_int_equal(pb->rows[i].count, all->rows[i].count);
  }
  /* the middle window of k020..k029, in pages of 4 */
  got = 0;
  char base[200];
  snprintf(base, sizeof base, "from=k020&to=k030&window_from=%lld&window_to=%lld&limit=4",
           T0 + 60000, T0 + 60000);
  snprintf(q, sizeof q, "%s", base);
  for (;;) {
    fetch_page(t, "per_min", q, 0, pg);
    for (size_t i = 0; i < pg->n; i++, got++)
      assert_int_equal(pg->rows[i].start, T0 + 60000);
    if (!pg->cursor[0]) break;
    snprintf(q, sizeof q, "%s&cursor=%s", base, pg->cursor);
  }
  want = 0;
  for (int i = 20; i < 30; i++)
    want += t->wcount[i][1] > 0;
  assert_int_equal(got, want);
  free(all);
  free(pg);
  free(pb);
}

/* Pages of 3 while records keep arriving for old and new keys. */
static void check_paging_under_writes(qt_t *t) {
  assert_int_equal(pthread_create(&t->thread, NULL, more_thread, t), 0);
  t->thread_started = 1;
  while (atomic_load(&t->produced_more) < 200)
    eh_sleep_ms(5);
  page_t *pg = calloc(1, sizeof *pg);
  static char seen[8192][16];
  size_t nseen = 0;
  char q[2400] = "limit=3";
  long before = atomic_load(&t->produced_more);
  for (int n = 0; n < 5000; n++) {
    fetch_page(t, "counts", q, n % 3 == 2, pg);
    for (size_t i = 0; i < pg->n; i++) {
      assert_true(nseen < 8192);
      snprintf(seen[nseen++], 16, "%s", pg->rows[i].key);
    }
    if (!pg->cursor[0]) break;
    snprintf(q, sizeof q, "limit=3&cursor=%s", pg->cursor);
    eh_sleep_ms(5);
  }
  assert_true(pg->cursor[0] == '\0');
  long during = atomic_load(&t->produced_more) - before;
  if (during < 100) fail_msg("only %ld records arrived during the scan", during);
  atomic_store(&t->stop, 1);
  pthread_join(t->thread, NULL);
  t->thread_started = 0;
  for (size_t i = 1; i < nseen; i++)
    if (strcmp(seen[i - 1], seen[i]) >= 0)
      fail_msg("row %zu: '%s' after '%s' (repeated or out of order)", i, seen[i], seen[i - 1]);
  for (int k = 0; k < NKEYS; k++) {
    char key[16];
    key_name(k, key, sizeof key);
    int found = 0;
    for (size_t i = 0; i < nseen && !found; i++)
      found = strcmp(seen[i], key) == 0;
    if (!found) fail_msg("key %s skipped by the paged scan", key);
  }
  fprintf(stderr, "  paged %zu rows while %ld records arrived\n", nseen,
          atomic_load(&t->produced_more));
  free(pg);
}

static void check_multi_get(qt_t *t) {
  const char *body = "[\"k001\",\"nope\",\"k002\",\"k001\"]";
  int st = http(t, "POST", "/v1/views/counts/keys", 0, "application/json", body, strlen(body));
  if (st != 200) fail_msg("multi-get: %d %s", st, t->body);
  expect_ctype(t, 0);
  const char *a, *e;
  size_t alen, elen, pos = 0;
  jarr(t->body, t->len, "rows", &a, &alen);
  const char *keys[] = {"k001", "nope", "k002", "k001"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(eh_json_array_next(a, alen, &pos, &e, &elen), 1);
    char k[64];
    jstr(e, elen, "key", k, sizeof k);
    assert_string_equal(k, keys[i]);
    assert_int_equal(jint(e, elen, "partition"),
                     ed_partition_for_key(keys[i], strlen(keys[i]), NPART));
    ed_json_val_t v;
    if (i == 1) {
      assert_int_equal(jfield(e, elen, "missing", &v), 0);
      assert_int_equal(v.type, ED_JSON_TRUE);
      assert_int_not_equal(jfield(e, elen, "value", &v), 0);
    } else {
      assert_int_equal(jfield(e, elen, "value", &v), 0);
      assert_true(jint(v.p, v.len, "count") >= t->count[i == 2 ? 2 : 1]);
    }
  }
  assert_int_equal(eh_json_array_next(a, alen, &pos, &e, &elen), 0);
  jarr(t->body, t->len, "positions", &a, &alen);
  pos = 0;
  int npos = 0;
  while (eh_json_array_next(a, alen, &pos, &e, &elen) == 1)
    npos++;
  assert_true(npos >= 1 && npos <= 3);

  /* protobuf both ways, on the windowed view */
  Eddy__V1__MultiGetRequest req = EDDY__V1__MULTI_GET_REQUEST__INIT;
  ProtobufCBinaryData kd[2] = {{4, (uint8_t *)"k003"}, {4, (uint8_t *)"zzzz"}};
  req.n_keys = 2;
  req.keys = kd;
  uint8_t buf[64];
  size_t blen = eddy__v1__multi_get_request__pack(&req, buf);
  st = http(t, "POST", "/v1/views/per_min/keys", 1, "application/x-protobuf", buf, blen);
  assert_int_equal(st, 200);
  expect_ctype(t, 1);
  Eddy__V1__MultiGetAnswer *m =
      eddy__v1__multi_get_answer__unpack(NULL, t->len, (const uint8_t *)t->body);
  assert_non_null(m);
  assert_int_equal(m->n_rows, 2);
  assert_false(m->rows[0]->missing);
  assert_true(m->rows[0]->n_windows >= 1);
  assert_int_equal(m->rows[0]->windows[0]->start, T0);
  assert_true(m->rows[1]->missing);
  assert_memory_equal(m->rows[1]->key.data, "zzzz", 4);
  assert_true(m->n_positions >= 1);
  assert_true(m->positions[0]->has_stream_time);
  eddy__v1__multi_get_answer__free_unpacked(m, NULL);
}

static void check_pb_misc(qt_t *t) {
  assert_int_equal(get(t, "/v1/views", 1), 200);
  expect_ctype(t, 1);
  Eddy__V1__ViewList *vl = eddy__v1__view_list__unpack(NULL, t->len, (const uint8_t *)t->body);
  assert_non_null(vl);
  assert_int_equal(vl->n_views, 2);
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(vl->views[i]->partitions, NPART);
    if (strcmp(vl->views[i]->name, "per_min") == 0) {
      assert_string_equal(vl->views[i]->kind, "windowed");
      assert_non_null(vl->views[i]->window);
      assert_int_equal(vl->views[i]->window->size_ms, 60000);
    } else {
      assert_string_equal(vl->views[i]->name, "counts");
      assert_string_equal(vl->views[i]->kind, "table");
      assert_null(vl->views[i]->window);
    }
  }
  eddy__v1__view_list__free_unpacked(vl, NULL);

  assert_int_equal(get(t, "/v1/views/counts/keys/k007", 1), 200);
  Eddy__V1__Row *r = eddy__v1__row__unpack(NULL, t->len, (const uint8_t *)t->body);
  assert_non_null(r);
  assert_memory_equal(r->key.data, "k007", 4);
  assert_int_equal(r->partition, ed_partition_for_key("k007", 4, NPART));
  assert_true(r->offset >= t->end[r->partition]);
  assert_true(r->has_stream_time);
  assert_true(r->value->columns[0]->int_value >= t->count[7]);
  eddy__v1__row__free_unpacked(r, NULL);
  /* JSON key answers carry stream_time too */
  assert_int_equal(get(t, "/v1/views/counts/keys/k007", 0), 200);
  assert_true(jint(t->body, t->len, "stream_time") >= T0);
}

/* Error status and code, in both encodings. */
static void expect_error(qt_t *t, const char *method, const char *path, const char *ctype,
                         const char *body, int want, const char *code, const char *says) {
  for (int pb = 0; pb < 2; pb++) {
    int st = http(t, method, path, pb, ctype, body, body ? strlen(body) : 0);
    if (st != want) fail_msg("%s %s: %d, want %d: %s", method, path, st, want, pb ? "" : t->body);
    expect_ctype(t, pb);
    if (pb) {
      Eddy__V1__Error *e = eddy__v1__error__unpack(NULL, t->len, (const uint8_t *)t->body);
      if (!e) fail_msg("%s %s: not an Error message", method, path);
      assert_string_equal(e->code, code);
      if (says && !strstr(e->message, says))
        fail_msg("%s %s: message '%s' lacks '%s'", method, path, e->message, says);
      eddy__v1__error__free_unpacked(e, NULL);
    } else {
      ed_json_val_t ev;
      assert_int_equal(jfield(t->body, t->len, "error", &ev), 0);
      char c[64];
      jstr(ev.p, ev.len, "code", c, sizeof c);
      assert_string_equal(c, code);
      if (says && !strstr(t->body, says))
        fail_msg("%s %s: %s lacks '%s'", method, path, t->body, says);
    }
  }
}

static void check_errors(qt_t *t) {
  expect_error(t, "GET", "/v1/views/nope/rows", NULL, NULL, 404, "not_found", "nope");
  expect_error(t, "GET", "/v1/views/nope/keys/a", NULL, NULL, 404, "not_found", "nope");
  expect_error(t, "GET", "/v1/views/counts/keys/never", NULL, NULL, 404, "not_found", "never");
  expect_error(t, "GET", "/v1/views/counts/rows?limit=0", NULL, NULL, 400, "bad_request",
               "'limit'");
  expect_error(t, "GET", "/v1/views/counts/rows?limit=10001", NULL, NULL, 400, "bad_request",
               "'limit'");
  expect_error(t, "GET", "/v1/views/counts/rows?limit=ten", NULL, NULL, 400, "bad_request",
               "'limit'");
  expect_error(t, "GET", "/v1/views/counts/rows?cursor=%21%21", NULL, NULL, 400, "bad_request",
               "'cursor'");
  /* a well-formed cursor before every key: the whole table */
  assert_int_equal(get(t, "/v1/views/counts/rows?cursor=AQBh&limit=1000", 0), 200);
}

static void check_errors_2(qt_t *t) {
  expect_error(t, "GET", "/v1/views/per_min/rows?cursor=AQBh", NULL, NULL, 400, "bad_request",
               "'cursor'");
  expect_error(t, "GET", "/v1/views/counts/rows?window_from=1", NULL, NULL, 400, "bad_request",
               "'window_from'");
  expect_error(t, "DELETE", "/v1/views/counts/rows", NULL, NULL, 405, "method_not_allowed", NULL);
  expect_error(t, "GET", "/v1/views/counts/keys", NULL, NULL, 405, "method_not_allowed", "POST");
  expect_error(t, "POST", "/v1/views/counts/keys", "application/json", "[\"a\",", 400,
               "bad_request", "malformed JSON");
  expect_error(t, "POST", "/v1/views/counts/keys", "application/json", "[\"a\",1]", 400,
               "bad_request", "element 1");
  expect_error(t, "POST", "/v1/views/counts/keys", "application/x-protobuf", "\xff\xff", 400,
               "bad_request", "MultiGetRequest");
  expect_error(t, "POST", "/v1/views/nope/keys", "application/json", "[\"a\"]", 404, "not_found",
               "nope");
  expect_error(t, "GET", "/v1/views/counts/other", NULL, NULL, 404, "not_found", NULL);
}

static void test_query(void **state) {
  qt_t *t = *state;
  int64_t t0 = eh_now_ms();
  start(t);
  fprintf(stderr, "  caught up after %lld ms\n", (long long)(eh_now_ms() - t0));
  check_rows(t);
  check_multi_get(t);
  check_pb_misc(t);
  check_errors(t);
  check_errors_2(t);
  check_paging_under_writes(t);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_query, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
