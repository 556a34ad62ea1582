/* Compiled views (streams/compile.h) through the topology test driver
 * (streams/testdriver.h), with known answers: every aggregate in one view
 * over nested fields with a where filter, bad records, a key expression
 * (repartitioning), latest tables and tombstones, the int64 and string
 * formats, event time from a field, output topics and the on_error
 * policies. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "query/query_int.h"
#include "store/store.h"
#include "streams/compile.h"
#include "streams/testdriver.h"
#include "streams/view.h"

/* ---- fixture: a temporary data dir, a view and its driver ---- */

typedef struct {
  char dir[64];
  ed_view_def_t def;
  ed_test_driver_t *d;
} fx_t;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "/tmp/eddy-drvview-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  ed_test_driver_destroy(f->d);
  nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* Definitions borrow string literals (never ed_view_def_fini()ed). */
static void def_init(fx_t *f, const char *name, const char *from, ed_format_t format) {
  memset(&f->def, 0, sizeof f->def);
  f->def.name = (char *)name;
  f->def.from = (char *)from;
  f->def.format = format;
}

static void add_agg(fx_t *f, const char *column, ed_agg_kind_t kind, const char *arg) {
  f->def.aggs[f->def.naggs++] = (ed_agg_def_t){(char *)column, kind, (char *)arg};
}

static void start(fx_t *f, int32_t partitions) {
  ed_topology_t *t = NULL;
  char err[512] = "";
  if (ed_view_compile(&f->def, "test", &t, err, sizeof err) != ED_OK) fail_msg("compile: %s", err);
  ed_topology_opts_t o = {.on_error = f->def.on_error};
  if (ed_test_driver_create(t, f->dir, partitions, &o, &f->d, err, sizeof err) != ED_OK) {
    ed_topology_destroy(t);
    fail_msg("driver: %s", err);
  }
}

/* Pipes into the view's source topic; @p key NULL: no key, @p val NULL: a
 * tombstone. */
static void pipe_raw(fx_t *f, const char *key, const void *val, size_t vlen, int64_t ts) {
  assert_int_equal(
      ed_test_driver_pipe(f->d, f->def.from, key, key ? strlen(key) : 0, val, vlen, ts), ED_OK);
}

static void pipe_s(fx_t *f, const char *key, const char *val, int64_t ts) {
  pipe_raw(f, key, val, val ? strlen(val) : 0, ts);
}

static void pipe_i64(fx_t *f, const char *key, int64_t v, int64_t ts) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
  pipe_raw(f, key, b, sizeof b, ts);
}

static void commit(fx_t *f) {
  char err[512] = "";
  if (ed_test_driver_commit(f->d, err, sizeof err) != ED_OK) fail_msg("commit: %s", err);
}

static int32_t part(fx_t *f, const char *key) {
  return ed_test_driver_partition(f->d, key, strlen(key));
}

static ed_test_driver_stats_t stats(fx_t *f) {
  ed_test_driver_stats_t s;
  ed_test_driver_stats(f->d, &s);
  return s;
}

/* The committed answer for @p key in partition @p p as the query API
 * renders it, or NULL when there is none. Caller frees. */
static char *answer_in(fx_t *f, ed_store_kind_t kind, const char *key, int32_t p) {
  ed_store_t *s = ed_test_driver_store(f->d, f->def.name, p);
  if (s == NULL) return NULL;
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_buf_t b;
  ed_buf_init(&b);
  int rc = ed__query_render_key(&b, &f->def, kind, &r, key, strlen(key), p, NULL);
  ed_store_read_end(&r);
  char *res = NULL;
  if (rc == ED_OK) {
    res = strdup(b.data);
    assert_non_null(res);
  } else if (rc != ED_ENOTFOUND) {
    fail_msg("render %s: %s", key, ed_strerror(rc));
  }
  ed_buf_fini(&b);
  return res;
}

static void expect_answer(int line, const char *key, char *got, const char *want) {
  if (want == NULL) {
    if (got != NULL) fail_msg("line %d: key %s: expected no answer, got %s", line, key, got);
    return;
  }
  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("line %d: key %s:\nexpected %s\n     got %s", line, key, want,
             got ? got : "(no answer)");
  free(got);
}

/* A table or latest view: {"key":key,"value":value,"partition":p,
 * "offset":offset}; @p value NULL: no row. */
static void expect_kv_at(int line, fx_t *f, const char *key, const char *value, int64_t offset) {
  char want[2048];
  snprintf(want, sizeof want, "{\"key\":\"%s\",\"value\":%s,\"partition\":%d,\"offset\":%lld}", key,
           value ? value : "", (int)part(f, key), (long long)offset);
  expect_answer(line, key, answer_in(f, ED_STORE_KIND_KV, key, part(f, key)), value ? want : NULL);
}
#define expect_kv(...) expect_kv_at(__LINE__, __VA_ARGS__)

/* A windowed view: {"key":key,"windows":[windows],"partition":p,
 * "offset":offset,"stream_time":st}. */
static void expect_win_at(int line, fx_t *f, const char *key, const char *windows, int64_t offset,
                          int64_t st) {
  char want[2048];
  snprintf(want, sizeof want,
           "{\"key\":\"%s\",\"windows\":[%s],\"partition\":%d,\"offset\":%lld,"
           "\"stream_time\":%lld}",
           key, windows ? windows : "", (int)part(f, key), (long long)offset, (long long)st);
  expect_answer(line, key, answer_in(f, ED_STORE_KIND_WINDOWED, key, part(f, key)),
                windows ? want : NULL);
}
#define expect_win(...) expect_win_at(__LINE__, __VA_ARGS__)

/* Captured output record @p i: @p value NULL: a tombstone. */
static void expect_out_at(int line, fx_t *f, size_t i, const char *topic, const char *key,
                          const char *value, int64_t ts) {
  const ed_test_record_t *r = ed_test_driver_output(f->d, i);
  if (r == NULL)
    fail_msg("line %d: no output record %zu (%zu captured)", line, i,
             ed_test_driver_output_count(f->d));
  char got[2048], want[2048];
  snprintf(got, sizeof got, "%s key=%.*s value=%.*s ts=%lld", r->topic, (int)r->key_len,
           r->key ? (const char *)r->key : "(null)", r->value ? (int)r->value_len : 6,
           r->value ? (const char *)r->value : "(null)", (long long)r->timestamp);
  snprintf(want, sizeof want, "%s key=%s value=%s ts=%lld", topic, key, value ? value : "(null)",
           (long long)ts);
  if (strcmp(got, want) != 0 || (key != NULL && r->key_len != strlen(key)))
    fail_msg("line %d: output %zu:\nexpected %s\n     got %s", line, i, want, got);
}
#define expect_out(...) expect_out_at(__LINE__, __VA_ARGS__)

/* ---- aggregates, where, nested fields, bad records ---- */

static void test_aggregates(void **state) {
  fx_t *f = *state;
  def_init(f, "orders", "orders", ED_FORMAT_JSON);
  f->def.where = (char *)"status == \"paid\"";
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "order.amount");
  add_agg(f, "lo", ED_AGG_MIN, "order.amount");
  add_agg(f, "hi", ED_AGG_MAX, "order.amount");
  add_agg(f, "mean", ED_AGG_AVG, "order.amount");
  add_agg(f, "customers", ED_AGG_COUNT_DISTINCT, "customer.id");
  start(f, 2);
  assert_int_not_equal(part(f, "k1"), part(f, "k3"));

  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":10},\"customer\":{\"id\":\"c1\"}}",
         1);
  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":2.5},\"customer\":{\"id\":\"c2\"}}",
         2);
  /* filtered out: not a bad record */
  pipe_s(f, "k1", "{\"status\":\"open\",\"order\":{\"amount\":100},\"customer\":{\"id\":\"c3\"}}",
         3);
  pipe_s(f, "k1",
         "{\"customer\":{\"id\":\"c1\"},\"order\":{\"amount\":7,\"x\":[1,{}]},"
         "\"status\":\"paid\"}",
         4);
  assert_int_equal(stats(f).bad_records, 0);
  /* bad: invalid JSON, a missing field, the wrong type, a where over a
   * number, a where over a missing field */
  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":", 5);
  pipe_s(f, "k1", "{\"status\":\"paid\",\"customer\":{\"id\":\"c9\"}}", 6);
  pipe_s(f, "k1",
         "{\"status\":\"paid\",\"order\":{\"amount\":\"lots\"},\"customer\":{\"id\":\"c9\"}}", 7);
  pipe_s(f, "k1", "{\"status\":5,\"order\":{\"amount\":1},\"customer\":{\"id\":\"c9\"}}", 8);
  pipe_s(f, "k1", "{\"order\":{\"amount\":1},\"customer\":{\"id\":\"c9\"}}", 9);
  assert_int_equal(stats(f).bad_records, 5);
  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":-4},\"customer\":{\"id\":\"c3\"}}",
         10);
  pipe_s(f, "k3", "{\"status\":\"paid\",\"order\":{\"amount\":1},\"customer\":{\"id\":\"c1\"}}",
         11);
  ed_test_driver_stats_t s = stats(f);
  assert_int_equal(s.records_in, 11);
  assert_int_equal(s.bad_records, 5);
  assert_int_equal(s.late_records, 0);
  commit(f);
  expect_kv(f, "k1", "{\"n\":4,\"total\":15.5,\"lo\":-4,\"hi\":10,\"mean\":3.875,\"customers\":3}",
            10);
  expect_kv(f, "k3", "{\"n\":1,\"total\":1,\"lo\":1,\"hi\":1,\"mean\":1,\"customers\":1}", 1);
  expect_kv(f, "k2", NULL, 0);
  assert_int_equal(ed_test_driver_output_count(f->d), 0);
}

/* ---- key: expression -> repartition ---- */

static void test_repartition(void **state) {
  fx_t *f = *state;
  def_init(f, "by_country", "orders", ED_FORMAT_JSON);
  f->def.key = (char *)"customer.country";
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "amount");
  start(f, 3);
  /* Source keys spread over the partitions; groups by country. */
  pipe_s(f, "o1", "{\"customer\":{\"country\":\"us\"},\"amount\":5}", 1);
  pipe_s(f, "o2", "{\"customer\":{\"country\":\"it\"},\"amount\":7}", 2);
  pipe_s(f, "o3", "{\"customer\":{\"country\":\"us\"},\"amount\":1}", 3);
  pipe_s(f, NULL, "{\"customer\":{\"country\":\"be\"},\"amount\":2}", 4);
  pipe_s(f, "o4", "{\"customer\":{},\"amount\":3}", 5); /* bad: no key */
  pipe_s(f, "o5", "{\"customer\":{\"country\":\"es\"},\"amount\":4}", 6);
  pipe_s(f, "o6", "{\"customer\":{\"country\":\"it\"},\"amount\":\"x\"}", 7); /* bad sum */
  pipe_s(f, "o7", "{\"customer\":{\"country\":\"\"},\"amount\":1}", 8);       /* bad: empty key */
  assert_int_equal(stats(f).bad_records, 3);
  commit(f);
  /* Each country in partition murmur2(country) % 3 only; the offset is the
   * repartition topic's in that partition. */
  const char *countries[] = {"us", "it", "be", "es"};
  const char *values[] = {"{\"n\":2,\"total\":6}", "{\"n\":1,\"total\":7}", "{\"n\":1,\"total\":2}",
                          "{\"n\":1,\"total\":4}"};
  int64_t per_part[3] = {0, 0, 0};
  /* records that reached the repartition topic: us us it it be es */
  per_part[part(f, "us")] += 2;
  per_part[part(f, "it")] += 2;
  per_part[part(f, "be")] += 1;
  per_part[part(f, "es")] += 1;
  for (int i = 0; i < 4; i++) {
    expect_kv(f, countries[i], values[i], per_part[part(f, countries[i])]);
    for (int32_t p = 0; p < 3; p++) {
      if (p == part(f, countries[i])) continue;
      char *other = answer_in(f, ED_STORE_KIND_KV, countries[i], p);
      if (other) fail_msg("%s also in partition %d: %s", countries[i], (int)p, other);
    }
  }
  /* Nothing was produced but to the internal topic. */
  assert_int_equal(ed_test_driver_output_count(f->d), 0);
}

/* ---- latest tables ---- */

static void test_latest(void **state) {
  fx_t *f = *state;
  def_init(f, "profiles", "profiles", ED_FORMAT_JSON);
  add_agg(f, "value", ED_AGG_LATEST, NULL);
  start(f, 2);
  pipe_s(f, "a", "{\"x\":1}", 1);
  pipe_s(f, "b", "{\"x\":2}", 2);
  pipe_s(f, "n", "42", 3);
  pipe_s(f, "s", "\"hi\"", 4);
  pipe_s(f, "t", "true", 5);
  commit(f);
  int64_t off[2] = {0, 0};
  off[part(f, "a")]++, off[part(f, "b")]++, off[part(f, "n")]++, off[part(f, "s")]++,
      off[part(f, "t")]++;
  expect_kv(f, "a", "{\"x\":1}", off[part(f, "a")]);
  expect_kv(f, "b", "{\"x\":2}", off[part(f, "b")]);
  expect_kv(f, "n", "42", off[part(f, "n")]);
  expect_kv(f, "s", "\"hi\"", off[part(f, "s")]);
  expect_kv(f, "t", "true", off[part(f, "t")]);

  pipe_s(f, "a", "{\"x\":3}", 6);
  pipe_s(f, "b", NULL, 7); /* deletes a committed row */
  pipe_s(f, "c", NULL, 8); /* deletes nothing */
  pipe_s(f, "d", "{\"x\":4}", 9);
  pipe_s(f, "d", NULL, 10); /* deletes a row never committed */
  pipe_s(f, "e", NULL, 11);
  pipe_s(f, "e", "[5]", 12); /* a tombstone then a value */
  off[part(f, "a")]++, off[part(f, "b")]++, off[part(f, "c")]++, off[part(f, "d")] += 2,
      off[part(f, "e")] += 2;
  assert_int_equal(stats(f).bad_records, 0);
  commit(f);
  expect_kv(f, "a", "{\"x\":3}", off[part(f, "a")]);
  expect_kv(f, "b", NULL, 0);
  expect_kv(f, "c", NULL, 0);
  expect_kv(f, "d", NULL, 0);
  expect_kv(f, "e", "[5]", off[part(f, "e")]);
}

/* Row changes to an output topic: the value as it is, a tombstone on
 * delete, emitted at commit (one record per changed key) with the task's
 * stream time. */
static void test_latest_to(void **state) {
  fx_t *f = *state;
  def_init(f, "profiles", "profiles", ED_FORMAT_JSON);
  add_agg(f, "value", ED_AGG_LATEST, NULL);
  f->def.to = (char *)"profiles-out";
  start(f, 1);
  pipe_s(f, "a", "{\"x\":1}", 1000);
  pipe_s(f, "b", "{\"x\":2}", 2000);
  pipe_s(f, "a", "{\"x\":3}", 1500);
  assert_int_equal(ed_test_driver_output_count(f->d), 0); /* nothing before a commit */
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 2);
  expect_out(f, 0, "profiles-out", "a", "{\"x\":3}", 2000);
  expect_out(f, 1, "profiles-out", "b", "{\"x\":2}", 2000);
  pipe_s(f, "b", NULL, 3000);
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 2, "profiles-out", "b", NULL, 3000);
  commit(f); /* nothing changed: nothing emitted */
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_kv(f, "a", "{\"x\":3}", 4);
  expect_kv(f, "b", NULL, 0);
}

/* ---- formats ---- */

static void test_format_int64(void **state) {
  fx_t *f = *state;
  def_init(f, "totals", "amounts", ED_FORMAT_INT64);
  add_agg(f, "total", ED_AGG_SUM, "$value");
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "hi", ED_AGG_MAX, "$value");
  start(f, 1);
  pipe_i64(f, "a", 5, 1);
  pipe_i64(f, "a", -3, 2);
  pipe_i64(f, "a", INT64_C(1000000000000), 3);
  pipe_raw(f, "a", "\0\0\0\1", 4, 4); /* 4 bytes: bad */
  pipe_i64(f, "b", INT64_MIN, 5);
  assert_int_equal(stats(f).bad_records, 1);
  commit(f);
  expect_kv(f, "a", "{\"total\":1000000000002,\"n\":3,\"hi\":1000000000000}", 5);
  expect_kv(f, "b", "{\"total\":-9223372036854775808,\"n\":1,\"hi\":-9223372036854775808}", 5);
}

static void test_format_string(void **state) {
  fx_t *f = *state;
  def_init(f, "words", "words", ED_FORMAT_STRING);
  f->def.where = (char *)"$value != \"skip\"";
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "distinct", ED_AGG_COUNT_DISTINCT, "$value");
  add_agg(f, "first", ED_AGG_MIN, "$value");
  start(f, 1);
  pipe_s(f, "k", "x", 1);
  pipe_s(f, "k", "y", 2);
  pipe_s(f, "k", "skip", 3);
  pipe_s(f, "k", "x", 4);
  pipe_s(f, "k", "{\"not\":\"json here\"}", 5); /* just a string */
  pipe_s(f, "k", "", 6);                        /* the empty string */
  assert_int_equal(stats(f).bad_records, 0);
  commit(f);
  expect_kv(f, "k", "{\"n\":5,\"distinct\":4,\"first\":\"\"}", 6);
}

/* ---- event time from a field ---- */

static void test_timestamp_field(void **state) {
  fx_t *f = *state;
  def_init(f, "events", "events", ED_FORMAT_JSON);
  f->def.timestamp = (char *)"meta.ts";
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  f->def.window = (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000};
  start(f, 1);
  /* The Kafka timestamps (999999999999999) are ignored. */
  const int64_t kts = INT64_C(999999999999999);
  pipe_s(f, "e", "{\"meta\":{\"ts\":61000}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":61500.7}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"1970-01-01T00:02:00Z\"}}", kts);
  commit(f);
  expect_win(f, "e",
             "{\"start\":60000,\"end\":120000,\"value\":{\"n\":2}},"
             "{\"start\":120000,\"end\":180000,\"value\":{\"n\":1}}",
             3, 120000);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"2024-05-01T12:00:30.250+02:00\"}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"yesterday\"}}", kts); /* bad */
  pipe_s(f, "e", "{\"meta\":{\"ts\":true}}", kts);          /* bad */
  pipe_s(f, "e", "{\"meta\":{}}", kts);                     /* bad */
  pipe_s(f, "e", "{\"meta\":{\"ts\":1714557659999}}", kts);
  ed_test_driver_stats_t s = stats(f);
  assert_int_equal(s.bad_records, 3);
  assert_int_equal(s.late_records, 0);
  commit(f);
  /* The 1970 windows are past their retention (1 day by default): purged. */
  expect_win(f, "e", "{\"start\":1714557600000,\"end\":1714557660000,\"value\":{\"n\":2}}", 8,
             INT64_C(1714557659999));
  /* 61000 is late now (grace 0). */
  pipe_s(f, "e", "{\"meta\":{\"ts\":61000}}", 0);
  assert_int_equal(stats(f).late_records, 1);
}

/* ---- output topics ---- */

static void test_output_topic(void **state) {
  fx_t *f = *state;
  def_init(f, "counts", "clicks", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "v");
  f->def.to = (char *)"counts-out";
  start(f, 2);
  assert_int_equal(part(f, "a"), 0);
  assert_int_equal(part(f, "d"), 1);
  pipe_s(f, "a", "{\"v\":1}", 100);
  pipe_s(f, "a", "{\"v\":2}", 200);
  pipe_s(f, "d", "{\"v\":4}", 300);
  pipe_s(f, "a", "{\"v\":\"bad\"}", 400); /* bad: no change, but stream time 400 */
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 2);
  expect_out(f, 0, "counts-out", "a", "{\"n\":2,\"total\":3}", 400);
  expect_out(f, 1, "counts-out", "d", "{\"n\":1,\"total\":4}", 300);
  pipe_s(f, "a", "{\"v\":8}", 150); /* out of order: stream time stays 400 */
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 2, "counts-out", "a", "{\"n\":3,\"total\":11}", 400);
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
}

static void test_output_topic_windowed(void **state) {
  fx_t *f = *state;
  def_init(f, "wcounts", "clicks", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  f->def.window = (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 60000};
  f->def.to = (char *)"wcounts-out";
  start(f, 1);
  pipe_s(f, "a", "{}", 1000);
  pipe_s(f, "a", "{}", 61000);
  pipe_s(f, "a", "{}", 2000);
  commit(f);
  assert_int_equal(ed_test_driver_output_count(f->d), 2);
  expect_out(f, 0, "wcounts-out", "a", "{\"start\":0,\"end\":60000,\"value\":{\"n\":2}}", 61000);
  expect_out(f, 1, "wcounts-out", "a", "{\"start\":60000,\"end\":120000,\"value\":{\"n\":1}}",
             61000);
}

/* ---- on_error ---- */

static void test_dead_letter(void **state) {
  fx_t *f = *state;
  def_init(f, "paid", "payments", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "amount");
  f->def.on_error = ED_ON_ERROR_DEAD_LETTER;
  start(f, 2);
  pipe_s(f, "k1", "{\"amount\":1}", 100);
  pipe_s(f, "k1", "not json", 500);
  pipe_s(f, "k1", "{\"amount\":\"x\"}", 600);
  pipe_s(f, "k1", "{\"amount\":2}", 700);
  pipe_s(f, "k3", "{\"amt\":2}", 800);
  /* Dead letters go out at once, not at commit. */
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 0, "test.paid.dead_letter", "k1", "not json", 500);
  expect_out(f, 1, "test.paid.dead_letter", "k1", "{\"amount\":\"x\"}", 600);
  expect_out(f, 2, "test.paid.dead_letter", "k3", "{\"amt\":2}", 800);
  assert_int_equal(stats(f).bad_records, 3);
  commit(f);
  expect_kv(f, "k1", "{\"n\":2,\"total\":3}", 4);
  expect_kv(f, "k3", NULL, 0);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
}

static void test_stop(void **state) {
  fx_t *f = *state;
  def_init(f, "paid", "payments", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "amount");
  f->def.on_error = ED_ON_ERROR_STOP;
  start(f, 2);
  assert_int_not_equal(part(f, "a"), part(f, "d"));
  pipe_s(f, "a", "{\"amount\":1}", 1);
  pipe_s(f, "a", "{\"amount\":true}", 2); /* bad: a's partition stops here */
  pipe_s(f, "a", "{\"amount\":2}", 3);
  pipe_s(f, "d", "{\"amount\":4}", 4); /* the other partition goes on */
  pipe_s(f, "d", "{\"amount\":8}", 5);
  assert_int_equal(stats(f).bad_records, 1);
  assert_int_equal(ed_test_driver_output_count(f->d), 0); /* no dead letters */
  commit(f);
  /* a's offset stays at the bad record: a restart resumes there. */
  expect_kv(f, "a", "{\"n\":1,\"total\":1}", 1);
  expect_kv(f, "d", "{\"n\":2,\"total\":12}", 2);
  pipe_s(f, "a", "{\"amount\":16}", 6);
  commit(f);
  expect_kv(f, "a", "{\"n\":1,\"total\":1}", 1);
  assert_int_equal(stats(f).bad_records, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_aggregates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_repartition, setup, teardown),
      cmocka_unit_test_setup_teardown(test_latest, setup, teardown),
      cmocka_unit_test_setup_teardown(test_latest_to, setup, teardown),
      cmocka_unit_test_setup_teardown(test_format_int64, setup, teardown),
      cmocka_unit_test_setup_teardown(test_format_string, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timestamp_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_topic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_output_topic_windowed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
