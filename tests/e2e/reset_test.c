/* End to end: `eddy reset` rebuilds a view from the beginning of its topic.
 *
 * 1. eddy dev-kafka + eddy serve with two count views over one topic; produce
 *    a known data set and wait until both views reflect every record.
 * 2. Refusals: while the server runs (exit 1, the group has members),
 *    then, with the server stopped (SIGTERM), an unknown view (exit 2, the
 *    views listed).
 * 3. `eddy reset --view hits`: data_dir/hits is gone, data_dir/other is
 *    untouched, the group e2e.hits is committed at the earliest offsets.
 * 4. Produce more, restart the server: hits is rebuilt from offset 0 and
 *    both views are exact (nothing lost, nothing counted twice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/murmur2.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define NKEYS 40
#define PHASE1_RECORDS 1200
#define PHASE2_RECORDS 300
#define CATCHUP_DEADLINE_MS 60000

typedef struct {
  char dir[256];
  char bootstrap[256];
  char config_path[512];
  char data_dir[512];
  int http_port;
  eh_proc_t kafka;
  eh_proc_t serve;
  eh_http_t *http;
  rd_kafka_t *producer;
  int passed;
  int64_t end[NPART]; /* next offset per partition (delivery reports) */
  long failed;
  char keys[NKEYS][32];
  int32_t part[NKEYS];
  int64_t count[NKEYS];
} rt_t;

/* ---- producing ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  rt_t *t = opaque;
  if (m->err || m->partition < 0 || m->partition >= NPART) {
    t->failed++;
    return;
  }
  if (m->offset + 1 > t->end[m->partition]) t->end[m->partition] = m->offset + 1;
}

static rd_kafka_t *make_producer(rt_t *t) {
  return eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
}

/* Produces @p n records, key i*7 % NKEYS style, and counts them. Delivery
 * reports run on this thread (poll/flush), so no locking. */
static void produce(rt_t *t, int phase, int n) {
  for (int i = 0; i < n; i++) {
    int k = (int)(((uint64_t)i * 7919u + (uint64_t)phase * 31u) % NKEYS);
    char val[64];
    snprintf(val, sizeof(val), "phase %d record %d", phase, i);
    assert_int_equal(eh_produce(t->producer, "clicks", t->keys[k], strlen(t->keys[k]), val,
                                strlen(val), 0, NULL),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    t->count[k]++;
    rd_kafka_poll(t->producer, 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(t->failed, 0);
}

/* ---- setup / teardown ---- */

static int setup(void **state) {
  rt_t *t = calloc(1, sizeof(*t));
  if (!t || eh_tmpdir("eddy-reset-", t->dir, sizeof(t->dir)) != 0) {
    free(t);
    return -1;
  }
  t->http = eh_http_create();
  for (int i = 0; i < NKEYS; i++) {
    snprintf(t->keys[i], sizeof(t->keys[i]), "user-%02d", i);
    t->part[i] = ed_partition_for_key(t->keys[i], strlen(t->keys[i]), NPART);
  }
  snprintf(t->data_dir, sizeof(t->data_dir), "%s/data", t->dir);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  rt_t *t = *state;
  if (!t->passed) {
    if (t->serve.pid) eh_proc_dump_err(&t->serve, "eddy serve", 6000);
    if (t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 3000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  if (t->producer) rd_kafka_destroy(t->producer);
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

/* ---- processes ---- */

static void start_kafka(rt_t *t) {
  char *args[] = {"--topic", "clicks", "--topic", "e2e.hits.changelog", "--topic", "e2e.other.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof(t->bootstrap));
}

static void write_config(rt_t *t) {
  t->http_port = eh_free_port();
  assert_true(t->http_port > 0);
  snprintf(t->config_path, sizeof(t->config_path), "%s/eddy.yaml", t->dir);
  eh_write_config(t->config_path, "e2e", t->bootstrap, t->http_port, t->data_dir,
                  "  hits:  { from: clicks, format: string, aggregate: count }\n"
                  "  other: { from: clicks, format: string, aggregate: count }\n");
}

static void start_serve(rt_t *t) {
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->http_port);
}

/* ---- checks ---- */

/* Waits until every key of @p view reflects its partition's end offset and
 * checks its count. */
static void check_view(rt_t *t, const char *view) {
  int64_t deadline = eh_now_ms() + CATCHUP_DEADLINE_MS;
  for (int i = 0; i < NKEYS; i++) {
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/views/%s/keys/%s", t->http_port, view,
             t->keys[i]);
    int64_t want = t->end[t->part[i]];
    for (;;) {
      const char *body = "";
      size_t len = 0;
      eh_key_answer_t a;
      int st = eh_http_get(t->http, url, 2000, &body, &len);
      if (st == 200) {
        if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
        if (a.offset > want)
          fail_msg("GET %s: offset %lld beyond the end %lld", url, (long long)a.offset,
                   (long long)want);
        if (a.offset == want) {
          int is_int;
          int64_t n;
          double d;
          if (eh_json_get_number(a.value, strlen(a.value), "count", &is_int, &n, &d) != 0 ||
              !is_int)
            fail_msg("GET %s: no integer count: %s", url, body);
          if (n != t->count[i])
            fail_msg("%s/%s: count %lld, expected %lld", view, t->keys[i], (long long)n,
                     (long long)t->count[i]);
          break;
        }
      } else if (st != 503 && st != 404 && st != 0) {
        fail_msg("GET %s: status %d: %s", url, st, body);
      }
      if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died while waiting for %s", url);
      if (eh_now_ms() > deadline)
        fail_msg("GET %s: not at offset %lld in time", url, (long long)want);
      eh_sleep_ms(20);
    }
  }
}

static int dir_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The committed offsets of group @p group on "clicks". */
static void group_offsets(rt_t *t, const char *group, int64_t off[NPART]) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", t->bootstrap, err, sizeof(err)),
                   RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(c, "group.id", group, err, sizeof(err)), RD_KAFKA_CONF_OK);
  assert_int_equal(rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err)), RD_KAFKA_CONF_OK);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
  assert_non_null(rk);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(l, "clicks", p);
  assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int p = 0; p < NPART; p++)
    off[p] = l->elems[p].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
}

/* ---- the test ---- */

static void test_reset_rebuilds(void **state) {
  rt_t *t = *state;
  start_kafka(t);
  t->producer = make_producer(t);
  assert_non_null(t->producer);
  produce(t, 1, PHASE1_RECORDS);
  write_config(t);
  start_serve(t);
  check_view(t, "hits");
  check_view(t, "other");
  fprintf(stderr, "  both views exact after %d records\n", PHASE1_RECORDS);

  char hits_dir[600], other_dir[600];
  snprintf(hits_dir, sizeof(hits_dir), "%s/hits", t->data_dir);
  snprintf(other_dir, sizeof(other_dir), "%s/other", t->data_dir);
  assert_true(dir_exists(hits_dir));

  /* while the server runs: refused, nothing removed, the server unharmed */
  char *out, *err;
  int rc = eh_run_reset(t->dir, "reset-running", t->config_path, "hits", &out, &err);
  assert_int_equal(rc, 1);
  assert_true(eh_contains(err, "active member"));
  free(out);
  free(err);
  assert_true(dir_exists(hits_dir));
  assert_true(eh_proc_alive(&t->serve));
  check_view(t, "hits");

  assert_int_equal(eh_proc_kill(&t->serve, SIGTERM, 20000), 0);
  int64_t off[NPART];
  group_offsets(t, "e2e.hits", off);
  for (int p = 0; p < NPART; p++)
    assert_int_equal(off[p], t->end[p]);

  /* an unknown view: exit 2, the views listed, nothing touched */
  rc = eh_run_reset(t->dir, "reset-unknown", t->config_path, "nosuch", &out, &err);
  assert_int_equal(rc, 2);
  assert_true(eh_contains(err, "nosuch") && eh_contains(err, "hits") && eh_contains(err, "other"));
  free(out);
  free(err);

  /* the reset */
  rc = eh_run_reset(t->dir, "reset-hits", t->config_path, "hits", &out, &err);
  assert_int_equal(rc, 0);
  assert_true(eh_contains(out, "removed") && eh_contains(out, "e2e.hits"));
  /* the changelog is marked too, or a restore would bring the old state back;
   * the new state directory holds only where it starts in the changelog */
  assert_true(eh_contains(out, "marked e2e.hits.changelog as reset"));
  free(out);
  free(err);
  assert_true(dir_exists(other_dir));
  group_offsets(t, "e2e.hits", off);
  for (int p = 0; p < NPART; p++)
    assert_int_equal(off[p], 0);
  group_offsets(t, "e2e.other", off);
  for (int p = 0; p < NPART; p++)
    assert_int_equal(off[p], t->end[p]);

  /* more records, then the rebuild */
  produce(t, 2, PHASE2_RECORDS);
  start_serve(t);
  check_view(t, "hits");
  check_view(t, "other");
  fprintf(stderr, "  hits rebuilt: exact after %d records\n", PHASE1_RECORDS + PHASE2_RECORDS);
  assert_true(dir_exists(hits_dir));
  t->passed = 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_reset_rebuilds, setup, teardown),
  };
  return cmocka_run_group_tests_name("e2e_reset", tests, NULL, NULL);
}
