/* The Processor API and the DSL through the topology test driver
 * (streams/testdriver.h): a custom processor with a state store and a
 * stream-time punctuation, wired by hand to a source and a sink; and a DSL
 * chain (filter, map, select_key, group_by_key, count, to) that
 * repartitions through an internal topic. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/dsl.h"
#include "streams/testdriver.h"
#include "streams/topology.h"

#include "tests/streams/driver_util.h"

/* ---- fixture ---- */

/* What the custom processor's callbacks saw, across its instances. */
typedef struct {
  int inits, closes, punctuations;
  int store_missing;
} probe_t;

typedef struct {
  char dir[64];
  ed_test_driver_t *d;
  probe_t probe;
} fx_t;

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  du_mkdtemp(f->dir, sizeof f->dir, "drvproc");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  ed_test_driver_destroy(f->d);
  du_rmtree(f->dir);
  free(f);
  return 0;
}

static void pipe_s(fx_t *f, const char *topic, const char *key, const char *val, int64_t ts) {
  assert_int_equal(
      ed_test_driver_pipe(f->d, topic, key, strlen(key), val, val ? strlen(val) : 0, ts), ED_OK);
}

/* Captured output record @p i (du_expect_out_at). */
#define expect_out(f, ...) du_expect_out(f->d, __VA_ARGS__)

/* The raw committed value of @p key in store @p store, partition @p p, as
 * a string ("" when absent). */
static void stored(fx_t *f, const char *store, int32_t p, const char *key, char *out, size_t cap) {
  out[0] = '\0';
  ed_store_t *s = ed_test_driver_store(f->d, store, p);
  if (s == NULL) return;
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  const void *v;
  size_t vlen;
  if (ed_store_read_get(&r, key, strlen(key), &v, &vlen) == ED_OK)
    snprintf(out, cap, "%.*s", (int)vlen, (const char *)v);
  ed_store_read_end(&r);
}

/* ---- a custom processor ----
 * Upper-cases each value and appends how many records its key has had
 * ("HI#2"), counting in store "seen" (decimal text); every 10 s of stream
 * time it forwards a "tick" record. */

typedef struct {
  probe_t *probe;
  ed_kvstore_t *seen;
} upper_t;

static int upper_init(ed_pctx_t *ctx, void *arg, void **state) {
  probe_t *probe = arg;
  probe->inits++;
  upper_t *u = calloc(1, sizeof *u);
  if (u == NULL) return ED_ENOMEM;
  u->probe = probe;
  u->seen = ed_pctx_store(ctx, "seen");
  if (u->seen == NULL) probe->store_missing++;
  if (ed_pctx_store(ctx, "no-such-store") != NULL) probe->store_missing += 100;
  int rc = ed_pctx_schedule(ctx, ED_PUNCTUATE_STREAM_TIME, 10000);
  if (rc != ED_OK) {
    free(u);
    return rc;
  }
  *state = u;
  return ED_OK;
}

static void upper_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  upper_t *u = state;
  long n = 0;
  const void *old;
  size_t oldlen;
  if (ed_kvstore_get(u->seen, rec->key, rec->key_len, &old, &oldlen) == ED_OK) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.*s", (int)oldlen, (const char *)old);
    n = strtol(tmp, NULL, 10);
  }
  char num[32];
  int len = snprintf(num, sizeof num, "%ld", n + 1);
  ed_kvstore_put(u->seen, rec->key, rec->key_len, num, (size_t)len, 0);
  ed_buf_t *sc = ed_pctx_scratch(ctx);
  size_t at = sc->len;
  for (size_t i = 0; i < rec->value_len; i++)
    ed_buf_putc(sc, (char)toupper(((const unsigned char *)rec->value)[i]));
  ed_buf_printf(sc, "#%ld", n + 1);
  ed_record_t out = *rec;
  out.value = sc->data + at;
  out.value_len = sc->len - at;
  ed_pctx_forward(ctx, &out);
}

static void upper_punctuate(ed_pctx_t *ctx, void *state, ed_punctuate_type_t type, int64_t time) {
  upper_t *u = state;
  u->probe->punctuations++;
  char v[96];
  int n = snprintf(v, sizeof v, "%s t=%lld st=%lld p=%d",
                   type == ED_PUNCTUATE_STREAM_TIME ? "stream" : "wall", (long long)time,
                   (long long)ed_pctx_stream_time(ctx), (int)ed_pctx_partition(ctx));
  ed_record_t rec = {"tick", 4, v, (size_t)n, time};
  ed_pctx_forward(ctx, &rec);
}

static void upper_close(ed_pctx_t *ctx, void *state) {
  (void)ctx;
  upper_t *u = state;
  u->probe->closes++;
  free(u);
}

static const ed_processor_fns_t upper_fns = {upper_init, upper_process, upper_punctuate,
                                             upper_close};

static void start_upper(fx_t *f, int32_t partitions) {
  ed_topology_t *t;
  char err[512] = "";
  assert_int_equal(ed_topology_create("upper-app", &t), ED_OK);
  int rc = ed_topology_add_source(t, "src", "text-in", NULL, NULL, err, sizeof err);
  if (rc == ED_OK)
    rc = ed_topology_add_processor(t, "upper", &upper_fns, &f->probe, "src", err, sizeof err);
  if (rc == ED_OK) rc = ed_topology_add_sink(t, "out", "text-out", "upper", err, sizeof err);
  ed_store_def_t sd = {.name = "seen", .kind = ED_STORE_KIND_KV};
  if (rc == ED_OK) rc = ed_topology_add_store(t, &sd, "upper", err, sizeof err);
  if (rc == ED_OK) rc = ed_test_driver_create(t, f->dir, partitions, NULL, &f->d, err, sizeof err);
  if (rc != ED_OK) {
    ed_topology_destroy(t);
    fail_msg("topology: %s", err);
  }
}

static void test_processor(void **state) {
  fx_t *f = *state;
  start_upper(f, 1);
  assert_int_equal(ed_test_driver_pipe(f->d, "no-such-topic", "a", 1, "x", 1, 0), ED_EINVAL);
  pipe_s(f, "text-in", "a", "hi", 1000);
  assert_int_equal(f->probe.inits, 1);
  assert_int_equal(f->probe.store_missing, 0);
  pipe_s(f, "text-in", "a", "yo", 5000);
  pipe_s(f, "text-in", "b", "x", 12000); /* stream time passes 10000: a tick */
  pipe_s(f, "text-in", "a", "z", 15000);
  pipe_s(f, "text-in", "a", "w", 19999);
  pipe_s(f, "text-in", "a", "v", 20000);   /* a tick at 20000 */
  pipe_s(f, "text-in", "a", "u", 55000);   /* one tick, however many intervals passed */
  pipe_s(f, "text-in", "a", "late", 3000); /* stream time stays 55000 */
  assert_int_equal(f->probe.punctuations, 3);
  size_t i = 0;
  expect_out(f, i++, "text-out", "a", "HI#1", 1000);
  expect_out(f, i++, "text-out", "a", "YO#2", 5000);
  expect_out(f, i++, "text-out", "b", "X#1", 12000);
  expect_out(f, i++, "text-out", "tick", "stream t=12000 st=12000 p=0", 12000);
  expect_out(f, i++, "text-out", "a", "Z#3", 15000);
  expect_out(f, i++, "text-out", "a", "W#4", 19999);
  expect_out(f, i++, "text-out", "a", "V#5", 20000);
  expect_out(f, i++, "text-out", "tick", "stream t=20000 st=20000 p=0", 20000);
  expect_out(f, i++, "text-out", "a", "U#6", 55000);
  expect_out(f, i++, "text-out", "tick", "stream t=55000 st=55000 p=0", 55000);
  expect_out(f, i++, "text-out", "a", "LATE#7", 3000);
  assert_int_equal(ed_test_driver_output_count(f->d), i);

  char v[64];
  stored(f, "seen", 0, "a", v, sizeof v);
  assert_string_equal(v, ""); /* not committed yet */
  du_commit(f->d);
  stored(f, "seen", 0, "a", v, sizeof v);
  assert_string_equal(v, "7");
  stored(f, "seen", 0, "b", v, sizeof v);
  assert_string_equal(v, "1");
  int64_t st = 0;
  assert_int_equal(ed_store_meta_get(ed_test_driver_store(f->d, "seen", 0), "stream_time", &st),
                   ED_OK);
  assert_int_equal(st, 55000);

  /* close() runs when the task goes away. */
  ed_test_driver_destroy(f->d);
  f->d = NULL;
  assert_int_equal(f->probe.closes, 1);

  /* A new driver over the state: the count goes on from the store and the
   * schedule from the committed stream time (next tick at 60000). */
  start_upper(f, 1);
  pipe_s(f, "text-in", "a", "again", 58000);
  pipe_s(f, "text-in", "a", "more", 60000);
  assert_int_equal(f->probe.inits, 2);
  assert_int_equal(f->probe.punctuations, 4);
  i = 0;
  expect_out(f, i++, "text-out", "a", "AGAIN#8", 58000);
  expect_out(f, i++, "text-out", "a", "MORE#9", 60000);
  expect_out(f, i++, "text-out", "tick", "stream t=60000 st=60000 p=0", 60000);
  assert_int_equal(ed_test_driver_output_count(f->d), i);
  ed_test_driver_destroy(f->d);
  f->d = NULL;
  assert_int_equal(f->probe.closes, 2);
}

/* One processor instance per partition, each with its own stream time. */
static void test_processor_partitions(void **state) {
  fx_t *f = *state;
  start_upper(f, 2);
  assert_int_equal(ed_test_driver_partition(f->d, "a", 1), 0);
  assert_int_equal(ed_test_driver_partition(f->d, "d", 1), 1);
  pipe_s(f, "text-in", "a", "a1", 25000); /* partition 0: tick */
  pipe_s(f, "text-in", "d", "d1", 5000);  /* partition 1: stream time 5000, no tick */
  pipe_s(f, "text-in", "d", "d2", 10000); /* tick */
  assert_int_equal(f->probe.inits, 2);
  assert_int_equal(f->probe.punctuations, 2);
  size_t i = 0;
  expect_out(f, i++, "text-out", "a", "A1#1", 25000);
  expect_out(f, i++, "text-out", "tick", "stream t=25000 st=25000 p=0", 25000);
  expect_out(f, i++, "text-out", "d", "D1#1", 5000);
  expect_out(f, i++, "text-out", "d", "D2#2", 10000);
  expect_out(f, i++, "text-out", "tick", "stream t=10000 st=10000 p=1", 10000);
  assert_int_equal(ed_test_driver_output_count(f->d), i);
  du_commit(f->d);
  char v[64];
  stored(f, "seen", 1, "d", v, sizeof v);
  assert_string_equal(v, "2");
  stored(f, "seen", 0, "d", v, sizeof v);
  assert_string_equal(v, "");
  ed_test_driver_destroy(f->d);
  f->d = NULL;
  assert_int_equal(f->probe.closes, 2);
}

/* ---- the DSL ---- */

static int not_skipped(void *arg, ed_pctx_t *ctx, const ed_record_t *rec) {
  (void)arg;
  (void)ctx;
  return rec->value_len > 0 && !(rec->value_len == 4 && memcmp(rec->value, "skip", 4) == 0);
}

static int lower(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, ed_record_t *out) {
  (void)arg;
  ed_buf_t *sc = ed_pctx_scratch(ctx);
  size_t at = sc->len;
  for (size_t i = 0; i < rec->value_len; i++)
    ed_buf_putc(sc, (char)tolower(((const unsigned char *)rec->value)[i]));
  out->value = sc->data + at;
  out->value_len = sc->len - at;
  return 1;
}

static int value_as_key(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void **key,
                        size_t *klen) {
  (void)arg;
  (void)ctx;
  *key = rec->value;
  *klen = rec->value_len;
  return 1;
}

static int64_t stored_count(fx_t *f, int32_t p, const char *word) {
  ed_store_t *s = ed_test_driver_store(f->d, "word_counts", p);
  if (s == NULL) return -1;
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  const void *v;
  size_t vlen, n = 0;
  ed_col_t c = {0};
  int64_t res = -1;
  if (ed_store_read_get(&r, word, strlen(word), &v, &vlen) == ED_OK) {
    assert_int_equal(ed_row_decode(v, vlen, &c, 1, &n), ED_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c.type, ED_COL_INT);
    res = c.v.i;
  }
  ed_store_read_end(&r);
  return res;
}

static void test_dsl(void **state) {
  fx_t *f = *state;
  ed_dsl_t *b;
  assert_int_equal(ed_dsl_create("wc", &b), ED_OK);
  ed_kstream_t *s = ed_dsl_stream(b, "lines", NULL, NULL);
  s = ed_kstream_filter(s, not_skipped, NULL);
  s = ed_kstream_map(s, lower, NULL);
  s = ed_kstream_select_key(s, value_as_key, NULL);
  ed_kgrouped_t *g = ed_kstream_group_by_key(s);
  ed_ktable_t *t = ed_kgrouped_count(g, "word_counts");
  ed_ktable_to(t, "word-counts-out");
  ed_topology_t *topo = NULL;
  char err[512] = "";
  int rc = ed_dsl_build(b, &topo, err, sizeof err);
  ed_dsl_destroy(b);
  if (rc != ED_OK) fail_msg("build: %s", err);
  rc = ed_test_driver_create(topo, f->dir, 3, NULL, &f->d, err, sizeof err);
  if (rc != ED_OK) {
    ed_topology_destroy(topo);
    fail_msg("driver: %s", err);
  }
  const char *words[] = {"Apple", "pear", "APPLE", "skip", "", "Plum", "apple", "Pear"};
  for (int i = 0; i < 8; i++) {
    char key[16];
    snprintf(key, sizeof key, "line-%d", i);
    pipe_s(f, "lines", key, words[i], 10 * (i + 1));
  }
  assert_int_equal(ed_test_driver_output_count(f->d), 0); /* the repartition topic is internal */
  assert_int_equal(stored_count(f, 1, "apple"), -1);      /* not committed yet */
  du_commit(f->d);
  int32_t pa = ed_test_driver_partition(f->d, "apple", 5);
  int32_t pp = ed_test_driver_partition(f->d, "pear", 4);
  int32_t pl = ed_test_driver_partition(f->d, "plum", 4);
  assert_int_equal(pa, 1);
  assert_int_equal(pp, 0);
  assert_int_equal(pl, 1);
  assert_int_equal(stored_count(f, pa, "apple"), 3);
  assert_int_equal(stored_count(f, pp, "pear"), 2);
  assert_int_equal(stored_count(f, pl, "plum"), 1);
  assert_int_equal(stored_count(f, 2, "apple"), -1);
  assert_int_equal(stored_count(f, 0, "apple"), -1);
  assert_int_equal(stored_count(f, pa, "Apple"), -1);
  /* Changes at commit, partition by partition, with each task's stream
   * time: partition 0 saw pear (20, 80), partition 1 apple and plum (10,
   * 30, 60, 70). */
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 0, "word-counts-out", "pear", "{\"count\":2}", 80);
  expect_out(f, 1, "word-counts-out", "apple", "{\"count\":3}", 70);
  expect_out(f, 2, "word-counts-out", "plum", "{\"count\":1}", 70);
  ed_test_driver_stats_t st;
  ed_test_driver_stats(f->d, &st);
  assert_int_equal(st.bad_records, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_processor, setup, teardown),
      cmocka_unit_test_setup_teardown(test_processor_partitions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dsl, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
