/* End to end: the members topic (server/members.h) makes GET /v1/cluster
 * of every instance list every instance.
 *
 * Three `eddy serve` instances (distinct instance_id, ports, data_dirs) on
 * one eddy dev-kafka share a count view over "clicks" (6 partitions). Each
 * instance's /v1/cluster must list all three, every partition claimed by
 * exactly one instance, and the same owners in all three answers. After
 * one instance is stopped (SIGTERM), the two others' maps must drop it and
 * cover all 6 partitions between them (after the group rebalances). */
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

#include "tests/e2e/cluster_harness.h"
#include "tests/e2e/harness.h"

#define NPART 6
#define NINST 3
#define NRECORDS 120
#define CONVERGE_MS 30000

static const char *const ids[NINST] = {"mt-0", "mt-1", "mt-2"};

typedef struct {
  char dir[256];
  char bootstrap[256];
  eh_proc_t kafka;
  eh_instance_t in[NINST];
  eh_http_t *http;
  rd_kafka_t *producer;
  int passed;
} mt_t;

static void text(const char *obj, size_t len, const char *name, char *out, size_t cap) {
  if (eh_json_get_text(obj, len, name, out, cap) != 0) out[0] = '\0';
}

static int64_t num(const char *obj, size_t len, const char *name) {
  int is_int = 0;
  int64_t i = -999;
  double d = 0;
  if (eh_json_get_number(obj, len, name, &is_int, &i, &d) != 0 || !is_int) return -999;
  return i;
}

/* Checks instance @p k's map: exactly the live instances, each partition
 * claimed by exactly one of them, owners as the claims. Fills owners[p]
 * (instance index). Returns NULL or what is wrong. */
static const char *check_one(mt_t *t, int k, int *owners, const char **body_out) {
  static char why[256];
  static char arr[65536], views[65536], parts[65536], s[512];
  char url[256];
  snprintf(url, sizeof url, "%s/v1/cluster", t->in[k].url);
  const char *body;
  size_t len;
  int st = eh_http_get(t->http, url, 3000, &body, &len);
  *body_out = st == 200 ? body : "";
  if (st != 200) return "status not 200";
  if (eh_json_get_text(body, len, "instances", arr, sizeof arr) != 0) return "no instances";
  int seen[NINST] = {0}, claims[NPART] = {0}, claimer[NPART];
  size_t pos = 0, elen;
  const char *el;
  int n = 0;
  while (eh_json_array_next(arr, strlen(arr), &pos, &el, &elen) == 1) {
    n++;
    text(el, elen, "instance_id", s, sizeof s);
    int who = -1;
    for (int i = 0; i < NINST; i++)
      if (strcmp(s, t->in[i].id) == 0) who = i;
    if (who < 0) {
      snprintf(why, sizeof why, "unknown instance '%s'", s);
      return why;
    }
    if (!t->in[who].live) {
      snprintf(why, sizeof why, "stopped instance %s still listed", s);
      return why;
    }
    seen[who]++;
    text(el, elen, "self", s, sizeof s);
    if ((strcmp(s, "true") == 0) != (who == k)) return "wrong self flag";
    if (eh_json_get_text(el, elen, "views", views, sizeof views) != 0) return "no views";
    size_t vpos = 0, vlen;
    const char *v;
    while (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) == 1) {
      if (eh_json_get_text(v, vlen, "partitions", parts, sizeof parts) != 0) return "no partitions";
      size_t ppos = 0, plen;
      const char *p;
      while (eh_json_array_next(parts, strlen(parts), &ppos, &p, &plen) == 1) {
        int64_t pn = num(p, plen, "partition");
        if (pn < 0 || pn >= NPART) return "bad partition";
        claims[pn]++;
        claimer[pn] = who;
      }
    }
  }
  for (int i = 0; i < NINST; i++) {
    if (t->in[i].live && seen[i] != 1) {
      snprintf(why, sizeof why, "instance %s listed %d times", t->in[i].id, seen[i]);
      return why;
    }
  }
  for (int p = 0; p < NPART; p++) {
    if (claims[p] != 1) {
      snprintf(why, sizeof why, "partition %d claimed %d times", p, claims[p]);
      return why;
    }
  }
  /* owners (the catalog) */
  if (eh_json_get_text(body, len, "views", views, sizeof views) != 0) return "no catalog";
  size_t vpos = 0, vlen;
  const char *v;
  if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 1) return "empty catalog";
  if (num(v, vlen, "partitions") != NPART) return "catalog: wrong partition count";
  if (eh_json_get_text(v, vlen, "owners", parts, sizeof parts) != 0) return "no owners";
  size_t ppos = 0, plen;
  const char *p;
  int np = 0;
  while (eh_json_array_next(parts, strlen(parts), &ppos, &p, &plen) == 1) {
    text(p, plen, "instance_id", s, sizeof s);
    if (np >= NPART) return "too many owners";
    owners[np] = -1;
    for (int i = 0; i < NINST; i++)
      if (strcmp(s, t->in[i].id) == 0) owners[np] = i;
    if (owners[np] != claimer[np]) return "owner is not the claimer";
    np++;
  }
  if (np != NPART) return "not one owner per partition";
  return NULL;
}

/* Waits until every live instance's map is as check_one wants and the
 * owners agree across the answers. */
static void wait_converged(mt_t *t, const char *what) {
  int64_t t0 = eh_now_ms(), deadline = t0 + CONVERGE_MS;
  const char *why = "no answer", *body = "";
  for (;;) {
    int ref[NPART], owners[NPART], have = 0, ok = 1;
    for (int k = 0; ok && k < NINST; k++) {
      if (!t->in[k].live) continue;
      if (!eh_proc_alive(&t->in[k].proc)) fail_msg("%s: eddy serve %d died", what, k);
      why = check_one(t, k, owners, &body);
      if (why != NULL) {
        ok = 0;
      } else if (!have) {
        memcpy(ref, owners, sizeof ref);
        have = 1;
      } else if (memcmp(ref, owners, sizeof ref) != 0) {
        why = "owners differ between instances";
        ok = 0;
      }
    }
    if (ok) {
      fprintf(stderr, "  %s: converged in %lld ms; owners:", what, (long long)(eh_now_ms() - t0));
      for (int p = 0; p < NPART; p++)
        fprintf(stderr, " %d", ref[p]);
      fprintf(stderr, "\n");
      return;
    }
    if (eh_now_ms() > deadline) fail_msg("%s: not converged in time: %s: %s", what, why, body);
    eh_sleep_ms(100);
  }
}

static void test_members(void **state) {
  mt_t *t = *state;
  int64_t t0 = eh_now_ms();
  char *args[] = {"--partitions", "6", "--topic", "clicks", "--topic", "mt.counts.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof t->bootstrap);
  /* Records first (dev-kafka created the topic with 6 partitions). */
  t->producer = eh_producer_new(t->bootstrap, "murmur2_random", NULL, NULL);
  assert_non_null(t->producer);
  for (int i = 0; i < NRECORDS; i++) {
    char key[16];
    snprintf(key, sizeof key, "u%d", i % 37);
    assert_int_equal(eh_produce(t->producer, "clicks", key, strlen(key), "1", 1, 0, NULL), 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);

  eh_instance_opts_t o = {.heartbeat_ms = 500};
  for (int k = 0; k < NINST; k++)
    assert_int_equal(eh_instance_write_config(&t->in[k], NULL, "mt", t->bootstrap, &o,
                                              "  counts: { from: clicks, format: string, "
                                              "aggregate: count }\n"),
                     0);
  for (int k = 0; k < NINST; k++)
    eh_instance_start(&t->in[k], t->http);
  wait_converged(t, "three instances");

  /* Stop one: its tombstone drops it, the group gives its partitions to
   * the two others. */
  assert_int_equal(eh_instance_stop(&t->in[1], SIGTERM, 15000), 0);
  wait_converged(t, "two instances");

  for (int k = 0; k < NINST; k++)
    if (t->in[k].live) assert_int_equal(eh_instance_stop(&t->in[k], SIGTERM, 15000), 0);
  fprintf(stderr, "  done in %lld ms\n", (long long)(eh_now_ms() - t0));
  t->passed = 1;
}

static int setup(void **state) {
  mt_t *t = calloc(1, sizeof *t);
  if (!t) return -1;
  if (eh_tmpdir("eddy-members-", t->dir, sizeof t->dir) != 0) return -1;
  if (eh_instances_init(t->in, NINST, t->dir, ids) != 0) return -1;
  t->http = eh_http_create();
  *state = t;
  return 0;
}

static int teardown(void **state) {
  mt_t *t = *state;
  eh_instances_teardown(t->in, NINST, t->passed, 4000);
  eh_kafka_teardown(&t->kafka, t->producer, t->passed);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_members, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
