/* End to end: restoration from the changelog (issue 5, test (d)).
 *
 * One `eddy serve` on eddy dev-kafka (6 partitions; every topic, the
 * changelogs included, made by `dev-kafka --config`) with three views:
 *
 *   counts   count over "clicks" (string records): keys k000..k299, key i
 *            produced 1 + i % 5 times
 *   per_min  tumbling 1m windows over "events" with explicit record
 *            timestamps: key e<i> gets 1 + (i + w) % 3 records in window w
 *            (w = 0..2) unless (i + w) % 4 == 0
 *   by_user  repartitioned (key: user) count and sum(amount) over "orders"
 *            (JSON, record key unrelated to the user): 1000 orders over
 *            100 users
 *
 * Once every key of every view answers exactly, the instance stops with
 * SIGTERM (exit 0), its data_dir is deleted and it starts again: it must
 * restore from the changelogs (the log says "restoring from ..."), then
 * every key of every view answers the known values again and a full range
 * scan of each view equals the table. Then more records are produced, the
 * instance is killed with SIGKILL in the middle, and restarted on the same
 * data_dir: it serves from its local state (no restore from changelog
 * offset 0) and every answer is exact again, the new records included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/murmur2.h"
#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define APP "rs"
#define NPART 6
#define NKEYS 300  /* counts and per_min */
#define NWIN 5     /* windows 0..2 in phase 1, 3..4 in phase 2 */
#define NUSERS 100 /* by_user */
#define NORDERS 1000
#define N2 1500            /* records per topic in phase 2 */
#define T0 1700000040000LL /* a multiple of 1 minute */
#define EXACT_MS 90000     /* how long answers may take to become exact */
#define LIMIT 97           /* scan page size */
#define REPART APP ".by_user.repartition"

typedef struct {
  char dir[256];
  char bootstrap[256];
  char data_dir[512];
  eh_instance_t in; /* its data_dir: data_dir */
  eh_proc_t kafka;
  eh_http_t *http;
  rd_kafka_t *producer;
  atomic_long failed; /* delivery failures */
  int passed;
  /* expectations */
  int64_t count[NKEYS];
  int64_t win[NKEYS][NWIN];
  int64_t user_n[NUSERS], user_total[NUSERS];
  /* phase 2 producer thread */
  pthread_t thread;
  int thread_started;
  atomic_int produced2;
} rs_t;

static void click_key(int i, char *out, size_t cap) { snprintf(out, cap, "k%03d", i); }
static void event_key(int i, char *out, size_t cap) { snprintf(out, cap, "e%03d", i); }
static void user_key(int i, char *out, size_t cap) { snprintf(out, cap, "u%03d", i); }
static int32_t part_of(const char *key) { return ed_partition_for_key(key, strlen(key), NPART); }

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  rs_t *t = opaque;
  if (m->err) {
    fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    atomic_fetch_add(&t->failed, 1);
  }
}

/* ---- producing (expectations follow every record; a failure is counted
 * in t->failed, as these also run on the phase-2 thread) ---- */

static void produce_click(rs_t *t, int i) {
  char key[16];
  click_key(i, key, sizeof key);
  if (eh_produce(t->producer, "clicks", key, strlen(key), "1", 1, 0, NULL) != 0)
    atomic_fetch_add(&t->failed, 1);
  t->count[i]++;
}

/* One record of key e<i> at T0 + w minutes + @p ms. */
static void produce_event(rs_t *t, int i, int w, int64_t ms) {
  char key[16];
  event_key(i, key, sizeof key);
  if (eh_produce(t->producer, "events", key, strlen(key), "x", 1, T0 + w * 60000LL + ms, NULL) != 0)
    atomic_fetch_add(&t->failed, 1);
  t->win[i][w]++;
}

static void produce_order(rs_t *t, int j) {
  char key[16], value[128];
  int u = (j * 37) % NUSERS, amount = j % 7 + 1;
  snprintf(key, sizeof key, "o%05d", j);
  snprintf(value, sizeof value, "{\"user\":\"u%03d\",\"amount\":%d}", u, amount);
  if (eh_produce(t->producer, "orders", key, strlen(key), value, strlen(value), 0, NULL) != 0)
    atomic_fetch_add(&t->failed, 1);
  t->user_n[u]++;
  t->user_total[u] += amount;
}

static void produce_phase1(rs_t *t) {
  for (int i = 0; i < NKEYS; i++)
    for (int c = 0; c < 1 + i % 5; c++)
      produce_click(t, i);
  /* in time order, so no record is late (grace 0) */
  for (int w = 0; w < 3; w++)
    for (int i = 0; i < NKEYS; i++)
      if ((i + w) % 4 != 0)
        for (int c = 0; c < 1 + (i + w) % 3; c++)
          produce_event(t, i, w, i * 100 + c);
  for (int j = 0; j < NORDERS; j++)
    produce_order(t, j);
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(atomic_load(&t->failed), 0);
}

/* Phase 2: N2 records per topic at about 1500 records/s over the three
 * topics; windows 3 and 4 in time order. */
static void *phase2_main(void *arg) {
  rs_t *t = arg;
  for (int j = 0; j < N2; j++) {
    produce_click(t, (j * 7) % NKEYS);
    int w = 3 + (j >= N2 / 2);
    produce_event(t, (j * 11) % NKEYS, w, (j % (N2 / 2)) * 10);
    produce_order(t, NORDERS + j);
    atomic_store(&t->produced2, j + 1);
    if (j % 25 == 24) {
      rd_kafka_poll(t->producer, 0);
      eh_sleep_ms(50);
    }
  }
  return NULL;
}

/* ---- checks ---- */

static void wait_ends(rs_t *t, const char *topic, int64_t *hi) {
  eh_watermarks(t->producer, topic, NPART, hi);
}

/* GETs @p url until 200; returns the body (borrowed from t->http). Fails
 * on any status but 200, 503 (restoring, rebalancing) and 404 (not there
 * yet) or after EXACT_MS. */
static const char *get_200(rs_t *t, const char *url, int64_t deadline, size_t *len) {
  const char *body = "";
  int st = 0;
  for (;;) {
    st = eh_http_get(t->http, url, 5000, &body, len);
    if (st == 200) return body;
    if (st != 503 && st != 404) fail_msg("GET %s: status %d: %s", url, st, body);
    if (!eh_proc_alive(&t->in.proc)) fail_msg("eddy serve died (GET %s)", url);
    if (eh_now_ms() > deadline) fail_msg("GET %s: no 200 in time; last %d %s", url, st, body);
    eh_sleep_ms(50);
  }
}

static int64_t num(const char *obj, size_t len, const char *name) {
  int is_int = 0;
  int64_t i = -999;
  double d = 0;
  if (eh_json_get_number(obj, len, name, &is_int, &i, &d) != 0 || !is_int) return -999;
  return i;
}

/* A field of the "value" object of @p row. */
static int64_t value_field(const char *row, size_t len, const char *name) {
  char v[512];
  if (eh_json_get_text(row, len, "value", v, sizeof v) != 0) return -999;
  return num(v, strlen(v), name);
}

/* counts: every key at the end of its partition with its count. */
static void check_counts(rs_t *t, int64_t deadline) {
  int64_t hi[NPART];
  wait_ends(t, "clicks", hi);
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    click_key(i, key, sizeof key);
    eh_key_url(t->http, t->in.port, "counts", key, NULL, url, sizeof url);
    int32_t p = part_of(key);
    for (;;) {
      size_t len;
      const char *body = get_200(t, url, deadline, &len);
      eh_key_answer_t a;
      if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
      assert_int_equal(a.partition, p);
      if (a.offset > hi[p])
        fail_msg("GET %s: offset %lld beyond the end %lld", url, (long long)a.offset,
                 (long long)hi[p]);
      if (a.offset == hi[p]) {
        if (num(a.value, strlen(a.value), "count") != t->count[i])
          fail_msg("counts/%s: %s, want count %lld", key, a.value, (long long)t->count[i]);
        break;
      }
      if (eh_now_ms() > deadline)
        fail_msg("counts/%s: at offset %lld of %lld", key, (long long)a.offset, (long long)hi[p]);
      eh_sleep_ms(20);
    }
  }
}

/* The windows of one per_min answer against the expectation; NULL or why. */
static const char *match_windows(rs_t *t, int i, const char *body, size_t len, char *why,
                                 size_t cap) {
  static char wins[65536];
  if (eh_json_get_text(body, len, "windows", wins, sizeof wins) != 0) return "no windows";
  size_t pos = 0, el;
  const char *e;
  int w = 0;
  while (eh_json_array_next(wins, strlen(wins), &pos, &e, &el) == 1) {
    while (w < NWIN && t->win[i][w] == 0)
      w++;
    if (w == NWIN) return "more windows than expected";
    int64_t start = num(e, el, "start"), end = num(e, el, "end"), c = value_field(e, el, "count");
    if (start != T0 + w * 60000LL || end != start + 60000 || c != t->win[i][w]) {
      snprintf(why, cap, "window %d: start T0%+lld end T0%+lld count %lld, want count %lld", w,
               (long long)(start - T0), (long long)(end - T0), (long long)c,
               (long long)t->win[i][w]);
      return why;
    }
    w++;
  }
  while (w < NWIN && t->win[i][w] == 0)
    w++;
  return w == NWIN ? NULL : "fewer windows than expected";
}

static void check_windows(rs_t *t, int64_t deadline) {
  int64_t hi[NPART];
  wait_ends(t, "events", hi);
  char why[256];
  for (int i = 0; i < NKEYS; i++) {
    char key[16], url[256];
    event_key(i, key, sizeof key);
    eh_key_url(t->http, t->in.port, "per_min", key, NULL, url, sizeof url);
    int32_t p = part_of(key);
    for (;;) {
      size_t len;
      const char *body = get_200(t, url, deadline, &len);
      int64_t off = num(body, len, "offset");
      assert_int_equal(num(body, len, "partition"), p);
      if (off > hi[p])
        fail_msg("GET %s: offset %lld beyond the end %lld", url, (long long)off, (long long)hi[p]);
      if (off == hi[p]) {
        const char *bad = match_windows(t, i, body, len, why, sizeof why);
        if (bad) fail_msg("per_min/%s: %s: %s", key, bad, body);
        break;
      }
      if (eh_now_ms() > deadline)
        fail_msg("per_min/%s: at offset %lld of %lld", key, (long long)off, (long long)hi[p]);
      eh_sleep_ms(20);
    }
  }
}

/* by_user: the offsets are of the repartition topic (whose end includes
 * any records the repartition step wrote twice after a crash; the table
 * must still count each order once). */
static void check_users(rs_t *t, int64_t deadline) {
  for (int u = 0; u < NUSERS; u++) {
    char key[16], url[256];
    user_key(u, key, sizeof key);
    eh_key_url(t->http, t->in.port, "by_user", key, NULL, url, sizeof url);
    int32_t p = part_of(key);
    for (;;) {
      size_t len;
      const char *body = get_200(t, url, deadline, &len);
      eh_key_answer_t a;
      if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
      assert_int_equal(a.partition, p);
      int64_t hi[NPART];
      wait_ends(t, REPART, hi);
      int64_t n = num(a.value, strlen(a.value), "n"), tot = num(a.value, strlen(a.value), "total");
      if (a.offset == hi[p] && n == t->user_n[u] && tot == t->user_total[u]) break;
      if (n > t->user_n[u] || tot > t->user_total[u])
        fail_msg("by_user/%s: %s, more than the %lld orders (total %lld) produced", key, a.value,
                 (long long)t->user_n[u], (long long)t->user_total[u]);
      if (eh_now_ms() > deadline)
        fail_msg("by_user/%s: %s at offset %lld of %lld; want n %lld total %lld", key, a.value,
                 (long long)a.offset, (long long)hi[p], (long long)t->user_n[u],
                 (long long)t->user_total[u]);
      eh_sleep_ms(20);
    }
  }
}

/* A full range scan of @p view in pages of LIMIT; calls @p row for each
 * row in order. Returns the number of rows. */
static int scan(rs_t *t, const char *view, void (*row)(rs_t *, int, const char *, size_t)) {
  static char rows[1 << 20], cursor[1024];
  cursor[0] = '\0';
  int n = 0;
  for (;;) {
    char url[2048];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/views/%s/rows?limit=%d%s%s", t->in.port, view,
             LIMIT, cursor[0] ? "&cursor=" : "", cursor);
    const char *body;
    size_t len;
    int st = eh_http_get(t->http, url, 5000, &body, &len);
    if (st != 200) fail_msg("GET %s: status %d: %s", url, st, body);
    assert_int_equal(eh_json_get_text(body, len, "rows", rows, sizeof rows), 0);
    int more = eh_json_get_text(body, len, "next_cursor", cursor, sizeof cursor) == 0 && cursor[0];
    size_t pos = 0, el;
    const char *e;
    int page = 0;
    while (eh_json_array_next(rows, strlen(rows), &pos, &e, &el) == 1) {
      row(t, n++, e, el);
      page++;
    }
    assert_true(page <= LIMIT);
    if (!more) break;
    assert_int_equal(page, LIMIT);
  }
  return n;
}

static void count_row(rs_t *t, int n, const char *e, size_t el) {
  char key[64], want[16];
  assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
  click_key(n, want, sizeof want); /* every key, in order */
  if (strcmp(key, want) != 0) fail_msg("counts scan: row %d is %s, want %s", n, key, want);
  assert_int_equal(value_field(e, el, "count"), t->count[n]);
}

/* per_min rows: (key, window) in key then start order. */
static int win_next_i, win_next_w;
static void win_row(rs_t *t, int n, const char *e, size_t el) {
  (void)n;
  while (win_next_i < NKEYS && (win_next_w == NWIN || t->win[win_next_i][win_next_w] == 0)) {
    if (win_next_w == NWIN) {
      win_next_i++;
      win_next_w = 0;
    } else {
      win_next_w++;
    }
  }
  if (win_next_i == NKEYS) fail_msg("per_min scan: more rows than windows");
  char key[64], want[16];
  event_key(win_next_i, want, sizeof want);
  assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
  if (strcmp(key, want) != 0 || num(e, el, "start") != T0 + win_next_w * 60000LL)
    fail_msg("per_min scan: row %.*s, want %s window %d", (int)el, e, want, win_next_w);
  assert_int_equal(num(e, el, "end"), T0 + (win_next_w + 1) * 60000LL);
  assert_int_equal(value_field(e, el, "count"), t->win[win_next_i][win_next_w]);
  win_next_w++;
}

static void user_row(rs_t *t, int n, const char *e, size_t el) {
  char key[64], want[16];
  assert_int_equal(eh_json_get_text(e, el, "key", key, sizeof key), 0);
  user_key(n, want, sizeof want);
  if (strcmp(key, want) != 0) fail_msg("by_user scan: row %d is %s, want %s", n, key, want);
  assert_int_equal(value_field(e, el, "n"), t->user_n[n]);
  assert_int_equal(value_field(e, el, "total"), t->user_total[n]);
}

static void check_all(rs_t *t, const char *when) {
  int64_t t0 = eh_now_ms(), deadline = t0 + EXACT_MS;
  check_counts(t, deadline);
  check_windows(t, deadline);
  check_users(t, deadline);
  int64_t exact = eh_now_ms();
  /* the table has settled: scans equal it */
  assert_int_equal(scan(t, "counts", count_row), NKEYS);
  win_next_i = win_next_w = 0;
  int nwin = 0;
  for (int i = 0; i < NKEYS; i++)
    for (int w = 0; w < NWIN; w++)
      nwin += t->win[i][w] != 0;
  assert_int_equal(scan(t, "per_min", win_row), nwin);
  assert_int_equal(scan(t, "by_user", user_row), NUSERS);
  fprintf(stderr, "  %s: every key exact after %lld ms; scans equal (%d + %d + %d rows)\n", when,
          (long long)(exact - t0), NKEYS, nwin, NUSERS);
}

/* The part of the server's stderr written since byte @p from. Caller frees. */
static char *log_since(rs_t *t, size_t from) {
  size_t len = 0;
  char *s = eh_read_file(t->in.proc.err_path, &len);
  assert_non_null(s);
  if (from > len) from = len;
  memmove(s, s + from, len - from + 1);
  return s;
}

static size_t log_size(rs_t *t) {
  struct stat st;
  return stat(t->in.proc.err_path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Prints the log lines containing @p needle; returns how many. */
static int grep_log(const char *log, const char *needle, const char *also) {
  int n = 0;
  for (const char *l = log; *l;) {
    const char *eol = strchr(l, '\n');
    size_t ll = eol ? (size_t)(eol - l) : strlen(l);
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(ll < 1000 ? ll : 1000), l);
    if (strstr(line, needle) && (also == NULL || strstr(line, also))) {
      fprintf(stderr, "    | %s\n", line);
      n++;
    }
    l += ll + (eol != NULL);
  }
  return n;
}

static void write_config(rs_t *t, const char *bootstrap, const char *path) {
  eh_instance_opts_t o = {.heartbeat_ms = 500};
  assert_int_equal(eh_instance_write_config(&t->in, path, APP, bootstrap, &o,
                                            "  counts: { from: clicks, format: string, "
                                            "aggregate: count }\n"
                                            "  per_min:\n"
                                            "    from: events\n"
                                            "    format: string\n"
                                            "    window: { type: tumbling, size: 1m }\n"
                                            "    aggregate: count\n"
                                            "  by_user:\n"
                                            "    from: orders\n"
                                            "    key: user\n"
                                            "    aggregate: { n: count, total: sum(amount) }\n"),
                   0);
}

static void test_restore(void **state) {
  rs_t *t = *state;
  int64_t t0 = eh_now_ms();
  /* dev-kafka makes every topic of the config, changelogs included */
  char pre[512];
  snprintf(pre, sizeof pre, "%s/topics.yaml", t->dir);
  write_config(t, "127.0.0.1:1", pre);
  char *args[] = {"--partitions", "6", "--config", pre, NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  write_config(t, t->bootstrap, t->in.config);
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
  assert_non_null(t->producer);
  produce_phase1(t);

  eh_instance_start(&t->in, t->http);
  check_all(t, "first run");

  /* SIGTERM: exits 0; the data_dir goes; a fresh start restores */
  assert_int_equal(eh_proc_kill(&t->in.proc, SIGTERM, 20000), 0);
  static const char *const views[] = {"counts", "per_min", "by_user"};
  int64_t cl_total = 0;
  for (int v = 0; v < 3; v++) {
    char topic[128];
    int64_t hi[NPART];
    snprintf(topic, sizeof topic, APP ".%s.changelog", views[v]);
    wait_ends(t, topic, hi);
    for (int p = 0; p < NPART; p++) {
      if (hi[p] <= 0) fail_msg("%s[%d] is empty after the first run", topic, p);
      cl_total += hi[p];
    }
  }
  assert_int_equal(eh_rm_rf(t->data_dir), 0);
  size_t mark = log_size(t);
  int64_t t_restart = eh_now_ms();
  eh_instance_start(&t->in, t->http);
  /* the log must say it restored (/v1/cluster shows "restoring" only for
   * a moment at this size) */
  check_all(t, "restored on an empty data_dir");
  char *log = log_since(t, mark);
  fprintf(stderr, "  restore log (%lld changelog records in all, %lld ms to exact):\n",
          (long long)cl_total, (long long)(eh_now_ms() - t_restart));
  int nrest = grep_log(log, "restoring from " APP ".", NULL);
  int ndone = grep_log(log, "restored ", "changelog records");
  free(log);
  for (int v = 0; v < 3; v++) {
    char needle[128];
    snprintf(needle, sizeof needle, "restoring from " APP ".%s.changelog offset 0 ", views[v]);
    log = log_since(t, mark);
    if (!eh_contains(log, needle)) fail_msg("no '%s' in the log", needle);
    free(log);
  }
  assert_true(nrest >= 3 * NPART);
  assert_true(ndone >= 3 * NPART);

  /* kill -9 while producing; restart on the same data_dir */
  assert_int_equal(pthread_create(&t->thread, NULL, phase2_main, t), 0);
  t->thread_started = 1;
  while (atomic_load(&t->produced2) < N2 / 3)
    eh_sleep_ms(10);
  assert_int_equal(eh_proc_kill(&t->in.proc, SIGKILL, 0), 128 + SIGKILL);
  fprintf(stderr, "  killed -9 after %d of %d phase-2 records per topic\n",
          atomic_load(&t->produced2), N2);
  pthread_join(t->thread, NULL);
  t->thread_started = 0;
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(atomic_load(&t->failed), 0);
  mark = log_size(t);
  eh_instance_start(&t->in, t->http);
  check_all(t, "restarted after kill -9");
  log = log_since(t, mark);
  fprintf(stderr, "  restart log:\n");
  grep_log(log, "restor", NULL);
  for (const char *l = log; (l = strstr(l, "restoring from ")) != NULL; l++) {
    const char *eol = strchr(l, '\n');
    const char *o = strstr(l, " offset 0 ");
    if (o && (eol == NULL || o < eol))
      fail_msg("restarted on its own data_dir, yet restores from offset 0: %.*s",
               (int)(eol ? eol - l : 200), l);
  }
  free(log);

  assert_int_equal(eh_proc_kill(&t->in.proc, SIGTERM, 20000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  rs_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-restore-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instance_init(&t->in, "a", t->dir, NULL, 0) != 0) return -1;
  snprintf(t->data_dir, sizeof t->data_dir, "%s/data", t->dir);
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  rs_t *t = *state;
  if (t->thread_started) pthread_join(t->thread, NULL);
  eh_instances_teardown(&t->in, 1, t->passed, 6000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
