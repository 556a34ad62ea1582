/* A full disk: eddy serve's data_dir on a small tmpfs fills up while a count
 * view ingests distinct keys. The server must keep running (commits fail and
 * are retried from the committed offsets), survive a kill -9 in that state,
 * and once the disk has room again, restart and reach exact counts: no
 * committed record lost, none counted twice, no corrupt store.
 *
 * Mounting a tmpfs needs root (CI runs as root); elsewhere the test skips. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

#include "tests/e2e/harness.h"

#define NPART 2
#define NKEYS 40000 /* about 2 MiB of LMDB pages: more than the disk holds */
#define NHOT 1000   /* keys produced a second time after the disk has room */
#define SMALL "size=512k"
#define LARGE "size=64m"

typedef struct {
  char dir[256];
  char data_dir[320];
  char config_path[320];
  char bootstrap[128];
  int port;
  int mounted;
  eh_proc_t kafka;
  eh_proc_t serve;
  eh_http_t *http;
  rd_kafka_t *producer;
} fixture_t;

static int setup(void **state) {
  fixture_t *t = calloc(1, sizeof *t);
  if (t == NULL || eh_tmpdir("diskfull", t->dir, sizeof t->dir) != 0) return -1;
  snprintf(t->data_dir, sizeof t->data_dir, "%s/data", t->dir);
  snprintf(t->config_path, sizeof t->config_path, "%s/eddy.yaml", t->dir);
  if (mkdir(t->data_dir, 0755) != 0) return -1;
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  fixture_t *t = *state;
  if (t->serve.pid && !t->serve.exited) eh_proc_dump_err(&t->serve, "serve", 4000);
  eh_proc_kill(&t->serve, 9, 5000);
  eh_proc_kill(&t->kafka, 15, 5000);
  if (t->producer) rd_kafka_destroy(t->producer);
  eh_http_destroy(t->http);
  if (t->mounted) umount2(t->data_dir, MNT_DETACH);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

static void produce_keys(fixture_t *t, int n) {
  for (int i = 0; i < n; i++) {
    char key[16];
    int klen = snprintf(key, sizeof key, "k%05d", i);
    assert_int_equal(eh_produce(t->producer, "clicks", key, (size_t)klen, "x", 1, 0, NULL), 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 30000), 0);
}

/* The count of @p key, or -1 when it has no row (404) or no answer. */
static int64_t count_of(fixture_t *t, const char *key) {
  char url[512];
  eh_key_url(t->http, t->port, "clicks", key, NULL, url, sizeof url);
  const char *body;
  size_t len;
  if (eh_http_get(t->http, url, 5000, &body, &len) != 200) return -1;
  eh_key_answer_t a;
  int is_int;
  int64_t n;
  double d;
  if (eh_parse_key_answer(body, len, &a) != 0 ||
      eh_json_get_number(a.value, strlen(a.value), "count", &is_int, &n, &d) != 0)
    return -1;
  return n;
}

/* Waits until every key has its expected count: 2 for the first NHOT, 1 for
 * the others. A count above that fails at once (a record counted twice). */
static void expect_exact(fixture_t *t) {
  int64_t deadline = eh_now_ms() + 90000;
  for (int i = 0; i < NKEYS; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%05d", i);
    int64_t want = i < NHOT ? 2 : 1, got;
    while ((got = count_of(t, key)) != want) {
      if (got > want) fail_msg("%s: count %lld, want %lld (counted twice)", key, (long long)got,
                               (long long)want);
      if (eh_now_ms() > deadline)
        fail_msg("%s: count %lld, want %lld after 90 s", key, (long long)got, (long long)want);
      eh_sleep_ms(100);
    }
  }
}

static void test_disk_full(void **state) {
  fixture_t *t = *state;
  if (mount("tmpfs", t->data_dir, "tmpfs", 0, SMALL) != 0) {
    fprintf(stderr, "  cannot mount a tmpfs (%s): skipped (needs root)\n", strerror(errno));
    skip();
  }
  t->mounted = 1;
  char *args[] = {"--partitions", "2", "--topic", "clicks", "--topic", "full.clicks.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  t->port = eh_free_port();
  eh_write_config(t->config_path, "full", t->bootstrap, t->port, t->data_dir,
                  "  clicks: { from: clicks, format: string, aggregate: count }\n");
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->port);
  produce_keys(t, NKEYS);

  /* The disk fills: commits fail and are retried; the server stays up. */
  int64_t deadline = eh_now_ms() + 60000;
  for (;;) {
    char *err = eh_read_file(t->serve.err_path, NULL);
    int full = err && eh_contains(err, "commit failed");
    free(err);
    if (full) break;
    if (eh_now_ms() > deadline) fail_msg("no failed commit within 60 s: the disk did not fill");
    eh_sleep_ms(200);
  }
  eh_sleep_ms(1000);
  assert_true(eh_proc_alive(&t->serve));
  const char *body;
  size_t len;
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", t->port);
  assert_int_equal(eh_http_get(t->http, url, 5000, &body, &len), 200);

  /* Crash while full, make room, restart: the committed state is intact
   * and the rest is applied exactly once. */
  eh_proc_kill(&t->serve, 9, 5000);
  assert_int_equal(mount("tmpfs", t->data_dir, "tmpfs", MS_REMOUNT, LARGE), 0);
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->port);
  produce_keys(t, NHOT);
  expect_exact(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
