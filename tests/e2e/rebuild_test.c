/* End to end: views whose state is rebuilt, against eddy dev-kafka and
 * eddy serve (4 partitions everywhere). Every expected answer is computed
 * here from the records produced.
 *
 * 1. definition_change: views a (where kind == "x", count) and b (count) over
 *    one topic; SIGTERM; a's where becomes kind == "y"; restart. eddy logs
 *    that a's definition changed (and nothing about b), b's first answers
 *    after the restart already hold the full counts (its state resumed), a
 *    counts kind "y" exactly (rebuilt from the earliest offset) and a key
 *    that only ever had kind "x" records is gone (404). More records: both
 *    stay exact.
 * 2. repartitioned_change: view c (key: country, count and sum); SIGTERM;
 *    key: city; restart. The answers are per city and exact, and the
 *    per-country keys are gone: the repartition records of the old
 *    definition (tagged with its fingerprint) do not leak into the new table.
 * 3. repartitioned_reset: view c (key: country); SIGTERM; `eddy reset --view
 *    c` (its stdout gives each repartition partition's start offset); more
 *    records; restart: exact totals over all records, nothing doubled (the
 *    repartition topic still holds what the old state was built from) and
 *    nothing lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/murmur2.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define APP "e2e"
#define REPART_TOPIC APP ".c.repartition"
#define CATCHUP_MS 60000

enum { TP_EVENTS, TP_ORDERS, NTOPICS };
static const char *const topic_names[NTOPICS] = {"events", "orders"};

/* ---- test 1: events ---- */

#define NEV_KEYS 16
#define ONLY_X NEV_KEYS /* index of the key "only-x": kind "x" records only */
#define NEV (NEV_KEYS + 1)

static const char *const views_xb =
    "  a: { from: events, where: kind == \"x\", aggregate: count }\n"
    "  b: { from: events, aggregate: count }\n";
static const char *const views_yb =
    "  a: { from: events, where: kind == \"y\", aggregate: count }\n"
    "  b: { from: events, aggregate: count }\n";

/* ---- tests 2 and 3: orders ---- */

#define NCOUNTRIES 4
#define NCITIES 12 /* three per country: city i is in country i / 3 */
/* Chosen so that the countries, and the cities, cover all four partitions
 * (murmur2): a 404 is only checked in a partition known to be caught up. */
static const char *const countries[NCOUNTRIES] = {"DE", "FR", "US", "JP"};
static const char *const cities[NCITIES] = {"Berlin", "Munich", "Cologne", "Paris",
                                            "Lyon",   "Nice",   "Boston",  "Dallas",
                                            "Denver", "Tokyo",  "Osaka",   "Kobe"};

static const char *const views_country =
    "  c: { from: orders, key: country, aggregate: { n: count, total: sum(amount) } }\n";
static const char *const views_city =
    "  c: { from: orders, key: city, aggregate: { n: count, total: sum(amount) } }\n";

typedef struct {
  char dir[256];
  char bootstrap[256];
  char config_path[512];
  char data_dir[512];
  int http_port;
  eh_proc_t kafka;
  eh_proc_t serve;
  size_t log_from; /* length of serve.err when the current server started */
  eh_http_t *http;
  rd_kafka_t *producer;
  int64_t end[NTOPICS][NPART]; /* next offset per partition (delivery reports) */
  long failed;
  int passed;
  /* test 1 */
  char ev_keys[NEV][32];
  int64_t ev_x[NEV], ev_y[NEV], ev_all[NEV];
  /* tests 2 and 3 */
  int64_t country_n[NCOUNTRIES], country_total[NCOUNTRIES];
  int64_t city_n[NCITIES], city_total[NCITIES];
  int64_t orders; /* produced so far */
} rb_t;

static int32_t part_of(const char *key) { return ed_partition_for_key(key, strlen(key), NPART); }

/* ---- producing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  rb_t *t = opaque;
  const char *topic = rd_kafka_topic_name(m->rkt);
  int ti = strcmp(topic, topic_names[TP_EVENTS]) == 0   ? TP_EVENTS
           : strcmp(topic, topic_names[TP_ORDERS]) == 0 ? TP_ORDERS
                                                        : -1;
  if (m->err || ti < 0 || m->partition < 0 || m->partition >= NPART ||
      (m->key && m->partition != ed_partition_for_key(m->key, m->key_len, NPART))) {
    t->failed++;
    return;
  }
  if (m->offset + 1 > t->end[ti][m->partition]) t->end[ti][m->partition] = m->offset + 1;
}

static rd_kafka_t *make_producer(rb_t *t) {
  return eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
}

/* Delivery reports run on this thread (poll/flush), so no locking. */
static void produce_one(rb_t *t, int topic, const char *key, const char *value) {
  assert_int_equal(
      eh_produce(t->producer, topic_names[topic], key, strlen(key), value, strlen(value), 0, NULL),
      RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_poll(t->producer, 0);
}

static void flush_ok(rb_t *t) {
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(t->failed, 0);
}

/* Events: the first 2 * NEV_KEYS records of phase 1 give every regular key
 * one "x" and one "y"; then kinds x / y / z at random; every 40th record
 * goes to "only-x" (kind "x"). */
static void produce_events(rb_t *t, int phase, int n) {
  uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)phase;
  for (int i = 0; i < n; i++) {
    int k, kind; /* 0 x, 1 y, 2 z */
    uint64_t r = eh_rng_next(&s);
    if (phase == 1 && i < 2 * NEV_KEYS) {
      k = i % NEV_KEYS;
      kind = i < NEV_KEYS ? 0 : 1;
    } else if (i % 40 == 39) {
      k = ONLY_X;
      kind = 0;
    } else {
      k = (int)(r % NEV_KEYS);
      uint64_t q = (r >> 8) % 20;
      kind = q < 8 ? 0 : q < 15 ? 1 : 2;
    }
    char val[96];
    snprintf(val, sizeof(val), "{\"kind\":\"%c\",\"phase\":%d,\"i\":%d}", "xyz"[kind], phase, i);
    produce_one(t, TP_EVENTS, t->ev_keys[k], val);
    t->ev_all[k]++;
    if (kind == 0) t->ev_x[k]++;
    if (kind == 1) t->ev_y[k]++;
  }
  flush_ok(t);
}

/* Orders {"country":..,"city":..,"amount":int}, keyed by order id. */
static void produce_orders(rb_t *t, int phase, int n) {
  uint64_t s = 0x2545f4914f6cdd1dull * (uint64_t)phase + 7u;
  for (int i = 0; i < n; i++) {
    uint64_t r = eh_rng_next(&s);
    int city = (int)(r % NCITIES);
    if (phase == 1 && i < NCITIES) city = i; /* every city has a record */
    int country = city / 3;
    int64_t amount = 1 + (int64_t)((r >> 8) % 500);
    char key[32], val[128];
    snprintf(key, sizeof(key), "o-%d-%d", phase, i);
    snprintf(val, sizeof(val), "{\"country\":\"%s\",\"city\":\"%s\",\"amount\":%lld}",
             countries[country], cities[city], (long long)amount);
    produce_one(t, TP_ORDERS, key, val);
    t->country_n[country]++;
    t->country_total[country] += amount;
    t->city_n[city]++;
    t->city_total[city] += amount;
    t->orders++;
  }
  flush_ok(t);
}

/* ---- setup / teardown ---- */

static int setup(void **state) {
  rb_t *t = calloc(1, sizeof(*t));
  if (!t || eh_tmpdir("eddy-rebuild-", t->dir, sizeof(t->dir)) != 0) {
    free(t);
    return -1;
  }
  t->http = eh_http_create();
  for (int i = 0; i < NEV_KEYS; i++)
    snprintf(t->ev_keys[i], sizeof(t->ev_keys[i]), "ev-%02d", i);
  snprintf(t->ev_keys[ONLY_X], sizeof(t->ev_keys[ONLY_X]), "only-x");
  snprintf(t->data_dir, sizeof(t->data_dir), "%s/data", t->dir);
  snprintf(t->config_path, sizeof(t->config_path), "%s/eddy.yaml", t->dir);
  t->http_port = eh_free_port();
  if (t->http_port <= 0) {
    eh_http_destroy(t->http);
    eh_rm_rf(t->dir);
    free(t);
    return -1;
  }
  *state = t;
  return 0;
}

static int teardown(void **state) {
  rb_t *t = *state;
  if (!t) return 0;
  if (!t->passed) {
    if (t->serve.pid) eh_proc_dump_err(&t->serve, "eddy serve", 8000);
    if (t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 2000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  if (t->producer) {
    rd_kafka_flush(t->producer, 2000);
    rd_kafka_destroy(t->producer);
  }
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

/* ---- processes ---- */

static void write_config(rb_t *t, const char *bootstrap, const char *views) {
  eh_write_config(t->config_path, APP, bootstrap, t->http_port, t->data_dir, views);
}

/* dev-kafka creates the topics the config needs (sources and repartition
 * topics): it reads only the views, so the config is written with a
 * placeholder bootstrap first, the real one once the cluster runs. */
static void start_kafka(rb_t *t, const char *views) {
  write_config(t, "127.0.0.1:1", views);
  char *args[] = {"--config", t->config_path, NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof(t->bootstrap));
  write_config(t, t->bootstrap, views);
  t->producer = make_producer(t);
  assert_non_null(t->producer);
}

static size_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

static void start_serve(rb_t *t) {
  char err_path[600];
  snprintf(err_path, sizeof(err_path), "%s/serve.err", t->dir);
  t->log_from = file_size(err_path);
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->http_port);
}

static void stop_serve(rb_t *t) {
  int rc = eh_proc_kill(&t->serve, SIGTERM, 20000);
  if (rc != 0) fail_msg("eddy serve: exit %d after SIGTERM, want 0", rc);
}

/* Lines of the current server's stderr saying "the view's definition
 * changed" for store @p view ("store <view> partition N: ..."): returns how
 * many, and prints them. */
static int definition_changed_lines(rb_t *t, const char *view) {
  size_t len = 0;
  char *log = eh_read_file(t->serve.err_path, &len);
  assert_non_null(log);
  int n = 0;
  char want[64];
  snprintf(want, sizeof(want), "store %s partition ", view);
  for (char *line = log + (t->log_from < len ? t->log_from : len); *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    if (eh_contains(line, "definition changed") && eh_contains(line, want)) {
      fprintf(stderr, "  log: %s\n", line);
      n++;
    }
    if (!nl) break;
    line = nl + 1;
  }
  free(log);
  return n;
}

/* ---- HTTP checks ---- */

static void key_url(rb_t *t, const char *view, const char *key, char *url, size_t cap) {
  eh_key_url(t->http, t->http_port, view, key, NULL, url, cap);
}

/* Integer column @p col of a value; fails if missing. */
static int64_t column(const char *what, const char *value, const char *col) {
  int is_int;
  int64_t i;
  double d;
  if (eh_json_get_number(value, strlen(value), col, &is_int, &i, &d) != 0)
    fail_msg("%s: no column %s in %s", what, col, value);
  if (is_int) return i;
  if (d != (double)(int64_t)d) fail_msg("%s: column %s is %.17g, not a whole number", what, col, d);
  return (int64_t)d;
}

static void expect_404(rb_t *t, const char *view, const char *key) {
  char url[512];
  const char *body = "";
  key_url(t, view, key, url, sizeof(url));
  int st = eh_http_get(t->http, url, 2000, &body, NULL);
  if (st != 404) fail_msg("%s/%s: status %d, want 404 (no such key): %s", view, key, st, body);
}

/* Count view over events: waits until every key with a non-zero expected
 * count answers at its partition's end offset, checks the count, then
 * checks that keys with a zero count are absent (their partition is known
 * to be caught up: another key there answered at the end). */
static void check_events(rb_t *t, const char *view, const int64_t want[NEV]) {
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  int caught_up[NPART] = {0};
  for (int k = 0; k < NEV; k++) {
    if (want[k] == 0) continue;
    char url[512];
    key_url(t, view, t->ev_keys[k], url, sizeof(url));
    int32_t p = part_of(t->ev_keys[k]);
    int64_t end = t->end[TP_EVENTS][p];
    char last[1400] = "no answer";
    for (;;) {
      const char *body = "";
      size_t len = 0;
      eh_key_answer_t a;
      int st = eh_http_get(t->http, url, 2000, &body, &len);
      if (st == 200) {
        if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
        if (a.partition != p)
          fail_msg("%s/%s: partition %lld, want %d", view, t->ev_keys[k], (long long)a.partition,
                   p);
        if (a.offset > end)
          fail_msg("%s/%s: offset %lld beyond the end %lld", view, t->ev_keys[k],
                   (long long)a.offset, (long long)end);
        if (a.offset == end) {
          int64_t n = column(url, a.value, "count");
          if (n != want[k])
            fail_msg("%s/%s at offset %lld (the end): count %lld, expected %lld", view,
                     t->ev_keys[k], (long long)a.offset, (long long)n, (long long)want[k]);
          caught_up[p] = 1;
          break;
        }
        snprintf(last, sizeof(last), "status 200 at offset %lld of %lld: %s", (long long)a.offset,
                 (long long)end, body);
      } else if (st == 503 || st == 404 || st == 0) {
        snprintf(last, sizeof(last), "status %d: %s", st, body);
      } else {
        fail_msg("GET %s: status %d: %s", url, st, body);
      }
      if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died while waiting for %s", url);
      if (eh_now_ms() > deadline)
        fail_msg("%s/%s: not at offset %lld within %d s; last: %s", view, t->ev_keys[k],
                 (long long)end, CATCHUP_MS / 1000, last);
      eh_sleep_ms(20);
    }
  }
  for (int k = 0; k < NEV; k++) {
    if (want[k] != 0) continue;
    int32_t p = part_of(t->ev_keys[k]);
    if (!caught_up[p])
      fail_msg("test data: no key with a non-zero %s count shares partition %d with %s", view, p,
               t->ev_keys[k]);
    expect_404(t, view, t->ev_keys[k]);
  }
}

static void repart_watermarks(rb_t *t, int64_t hi[NPART]) {
  eh_watermarks(t->producer, REPART_TOPIC, NPART, hi);
}

static int64_t repart_total(rb_t *t) {
  int64_t hi[NPART], n = 0;
  repart_watermarks(t, hi);
  for (int p = 0; p < NPART; p++)
    n += hi[p];
  return n;
}

/* View c: waits until every key answers {n, total} exactly at the end offset
 * of its repartition partition, and that holds (watermarks unchanged) over
 * two passes at least a second apart; then @p absent keys are 404 (each in
 * a partition that a present key showed caught up). */
static void check_c(rb_t *t, const char *const *keys, int nkeys, const int64_t *want_n,
                    const int64_t *want_total, const char *const *absent, int nabsent) {
  int64_t t0 = eh_now_ms(), deadline = t0 + CATCHUP_MS;
  int64_t stable_since = -1, hi_prev[NPART] = {0};
  char last[2048] = "";
  for (;;) {
    int64_t hi[NPART];
    repart_watermarks(t, hi);
    int ok = 1;
    for (int k = 0; k < nkeys && ok; k++) {
      char url[512];
      const char *body = "";
      size_t len = 0;
      eh_key_answer_t a;
      key_url(t, "c", keys[k], url, sizeof(url));
      int st = eh_http_get(t->http, url, 2000, &body, &len);
      if (st != 200) {
        if (st != 503 && st != 404 && st != 0)
          fail_msg("GET %s: unexpected status %d: %s", url, st, body);
        snprintf(last, sizeof(last), "c/%s: status %d %s", keys[k], st, body);
        ok = 0;
        break;
      }
      if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
      int32_t p = part_of(keys[k]);
      if (a.partition != p)
        fail_msg("c/%s: partition %lld, want %d", keys[k], (long long)a.partition, p);
      if (a.offset > hi[p])
        fail_msg("c/%s: offset %lld beyond the end %lld of %s[%d]", keys[k], (long long)a.offset,
                 (long long)hi[p], REPART_TOPIC, p);
      int64_t n = column(url, a.value, "n"), total = column(url, a.value, "total");
      if (n != want_n[k] || total != want_total[k] || a.offset != hi[p]) {
        snprintf(last, sizeof(last),
                 "c/%s at offset %lld of %lld: got %s, want {\"n\":%lld,\"total\":%lld}", keys[k],
                 (long long)a.offset, (long long)hi[p], a.value, (long long)want_n[k],
                 (long long)want_total[k]);
        ok = 0;
      }
    }
    int64_t now = eh_now_ms();
    if (eh_stable_for(ok, hi, hi_prev, NPART, &stable_since, now, 1000)) break;
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died; last: %s", last);
    if (now > deadline) fail_msg("view c not exact within %d s; last: %s", CATCHUP_MS / 1000, last);
    eh_sleep_ms(50);
  }
  for (int i = 0; i < nabsent; i++) {
    int32_t p = part_of(absent[i]);
    int covered = 0;
    for (int k = 0; k < nkeys; k++)
      covered |= part_of(keys[k]) == p;
    if (!covered)
      fail_msg("test data: no present key of c shares partition %d with %s", p, absent[i]);
    expect_404(t, "c", absent[i]);
  }
  fprintf(stderr, "  c exact and stable after %lld ms (%s holds %lld records for %lld orders)\n",
          (long long)(eh_now_ms() - t0), REPART_TOPIC, (long long)repart_total(t),
          (long long)t->orders);
}

static void check_countries(rb_t *t) {
  check_c(t, countries, NCOUNTRIES, t->country_n, t->country_total, NULL, 0);
}

/* ---- 1. a changed where: a rebuilt, b resumed ---- */

/* Right after a restart: the first 200 answer of every key of b already has
 * the full count at the end offset (503 while partitions are unassigned is
 * fine; a 404 or a smaller count means b's state was dropped). */
static void check_b_resumed(rb_t *t) {
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  for (int k = 0; k < NEV; k++) {
    char url[512];
    key_url(t, "b", t->ev_keys[k], url, sizeof(url));
    int32_t p = part_of(t->ev_keys[k]);
    for (;;) {
      const char *body = "";
      size_t len = 0;
      eh_key_answer_t a;
      int st = eh_http_get(t->http, url, 2000, &body, &len);
      if (st == 200) {
        if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
        int64_t n = column(url, a.value, "count");
        if (n != t->ev_all[k] || a.offset != t->end[TP_EVENTS][p])
          fail_msg("b/%s: first answer after the restart is count %lld at offset %lld, want the "
                   "resumed state: count %lld at offset %lld (was b rebuilt?)",
                   t->ev_keys[k], (long long)n, (long long)a.offset, (long long)t->ev_all[k],
                   (long long)t->end[TP_EVENTS][p]);
        break;
      }
      if (st != 503 && st != 0)
        fail_msg("b/%s: status %d after the restart (was b's state dropped?): %s", t->ev_keys[k],
                 st, body);
      if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died while waiting for %s", url);
      if (eh_now_ms() > deadline)
        fail_msg("b/%s: no 200 within %d s", t->ev_keys[k], CATCHUP_MS / 1000);
      eh_sleep_ms(10);
    }
  }
}

static void test_definition_change(void **state) {
  rb_t *t = *state;
  start_kafka(t, views_xb);
  produce_events(t, 1, 800);
  start_serve(t);
  check_events(t, "a", t->ev_x);
  check_events(t, "b", t->ev_all);
  assert_int_equal(definition_changed_lines(t, "a") + definition_changed_lines(t, "b"), 0);
  fprintf(stderr, "  a (kind x) and b exact after 800 records\n");
  stop_serve(t);

  write_config(t, t->bootstrap, views_yb);
  start_serve(t);
  check_b_resumed(t);
  fprintf(stderr, "  b resumed: its first answers after the restart are complete\n");
  check_events(t, "a", t->ev_y); /* "only-x" (no y records): 404 */
  check_events(t, "b", t->ev_all);
  int na = definition_changed_lines(t, "a"), nb = definition_changed_lines(t, "b");
  if (na < 1)
    fail_msg("eddy serve's stderr has no line saying a's definition changed (\"store a "
             "partition N: ... definition changed ...\")");
  if (nb != 0) fail_msg("b's definition did not change, yet %d line(s) say it did", nb);
  fprintf(stderr, "  a rebuilt (kind y): exact; %d partition(s) logged as rebuilt\n", na);

  produce_events(t, 2, 300);
  check_events(t, "a", t->ev_y);
  check_events(t, "b", t->ev_all);
  fprintf(stderr, "  a and b exact after 300 more records\n");
  t->passed = 1;
}

/* ---- 2. a repartitioned view's key changes ---- */

static void test_repartitioned_change(void **state) {
  rb_t *t = *state;
  start_kafka(t, views_country);
  produce_orders(t, 1, 600);
  start_serve(t);
  check_countries(t);
  assert_int_equal(definition_changed_lines(t, "c"), 0);
  int64_t before = repart_total(t);
  stop_serve(t);

  write_config(t, t->bootstrap, views_city);
  start_serve(t);
  check_c(t, cities, NCITIES, t->city_n, t->city_total, countries, NCOUNTRIES);
  int nc = definition_changed_lines(t, "c");
  if (nc < 1)
    fail_msg("eddy serve's stderr has no line saying c's definition changed (\"store c "
             "partition N: ... definition changed ...\")");
  int64_t after = repart_total(t);
  fprintf(stderr,
          "  c rebuilt per city: exact, countries gone; %d partition(s) logged as rebuilt; %s: "
          "%lld records before, %lld after\n",
          nc, REPART_TOPIC, (long long)before, (long long)after);
  if (after < before + t->orders)
    fail_msg("%s has %lld records, fewer than the %lld of the old definition plus %lld orders "
             "reprocessed",
             REPART_TOPIC, (long long)after, (long long)before, (long long)t->orders);
  t->passed = 1;
}

/* ---- 3. eddy reset of a repartitioned view ---- */

static void test_repartitioned_reset(void **state) {
  rb_t *t = *state;
  start_kafka(t, views_country);
  produce_orders(t, 1, 600);
  start_serve(t);
  check_countries(t);
  stop_serve(t);

  int64_t hi[NPART];
  repart_watermarks(t, hi);
  char *out, *err;
  int rc = eh_run_reset(t->dir, "reset", t->config_path, "c", &out, &err);
  if (rc != 0) fail_msg("eddy reset --view c: exit %d, want 0", rc);
  if (!eh_contains(out, "removed") || !eh_contains(out, APP ".c"))
    fail_msg("eddy reset's stdout lacks the removal or the group: %s", out);
  for (int p = 0; p < NPART; p++) {
    char line[160];
    snprintf(line, sizeof(line), "%s[%d]: the rebuilt state starts at offset %lld\n", REPART_TOPIC,
             p, (long long)hi[p]);
    if (!eh_contains(out, line))
      fail_msg("eddy reset's stdout lacks \"%.*s\" (the end of %s[%d]): %s", (int)strlen(line) - 1,
               line, REPART_TOPIC, p, out);
  }
  free(out);
  free(err);

  produce_orders(t, 2, 400);
  start_serve(t);
  check_countries(t);
  /* the same definition: nothing to say about it */
  assert_int_equal(definition_changed_lines(t, "c"), 0);
  fprintf(stderr, "  c reset and rebuilt: exact over all %lld orders\n", (long long)t->orders);
  t->passed = 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_definition_change, setup, teardown),
      cmocka_unit_test_setup_teardown(test_repartitioned_change, setup, teardown),
      cmocka_unit_test_setup_teardown(test_repartitioned_reset, setup, teardown),
  };
  return cmocka_run_group_tests_name("e2e_rebuild", tests, NULL, NULL);
}
