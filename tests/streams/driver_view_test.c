/* Compiled views (streams/compile.h) through the topology test driver
 * (streams/testdriver.h), with known answers: every aggregate in one view
 * over nested fields with a where filter, bad records, a key expression
 * (repartitioning), latest tables and tombstones, the int64 and string
 * formats, event time from a field, output topics and the on_error
 * policies. */
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

#include "tests/streams/driver_util.h"

/* ---- fixture: a temporary data dir, a view and its driver (driver_util.h) ---- */

typedef du_fx_t fx_t;

static int setup(void **state) { return du_setup(state, "drvview"); }

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

/* A table or latest view: {"key":key,"value":value,"partition":p,
 * "offset":offset}; @p value NULL: no row. */
static void expect_kv_at(int line, fx_t *f, const char *key, const char *value, int64_t offset) {
  char want[2048];
  snprintf(want, sizeof want, "{\"key\":\"%s\",\"value\":%s,\"partition\":%d,\"offset\":%lld}", key,
           value ? value : "", (int)du_part(f->d, key), (long long)offset);
  du_expect_answer(line, key, du_answer(f, ED_STORE_KIND_KV, key, du_part(f->d, key)),
                   value ? want : NULL);
}
#define expect_kv(...) expect_kv_at(__LINE__, __VA_ARGS__)

/* A windowed view (du_expect_win_at). */
#define expect_win(f, ...) du_expect_win_at(__LINE__, f, ED_STORE_KIND_WINDOWED, __VA_ARGS__)

/* Captured output record @p i (du_expect_out_at). */
#define expect_out(f, ...) du_expect_out(f->d, __VA_ARGS__)

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
  du_start(f, 2);
  assert_int_not_equal(du_part(f->d, "k1"), du_part(f->d, "k3"));

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
  assert_int_equal(du_stats(f->d).bad_records, 0);
  /* bad: invalid JSON, a missing field, the wrong type, a where over a
   * number, a where over a missing field */
  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":", 5);
  pipe_s(f, "k1", "{\"status\":\"paid\",\"customer\":{\"id\":\"c9\"}}", 6);
  pipe_s(f, "k1",
         "{\"status\":\"paid\",\"order\":{\"amount\":\"lots\"},\"customer\":{\"id\":\"c9\"}}", 7);
  pipe_s(f, "k1", "{\"status\":5,\"order\":{\"amount\":1},\"customer\":{\"id\":\"c9\"}}", 8);
  pipe_s(f, "k1", "{\"order\":{\"amount\":1},\"customer\":{\"id\":\"c9\"}}", 9);
  assert_int_equal(du_stats(f->d).bad_records, 5);
  pipe_s(f, "k1", "{\"status\":\"paid\",\"order\":{\"amount\":-4},\"customer\":{\"id\":\"c3\"}}",
         10);
  pipe_s(f, "k3", "{\"status\":\"paid\",\"order\":{\"amount\":1},\"customer\":{\"id\":\"c1\"}}",
         11);
  ed_test_driver_stats_t s = du_stats(f->d);
  assert_int_equal(s.records_in, 11);
  assert_int_equal(s.bad_records, 5);
  assert_int_equal(s.late_records, 0);
  du_commit(f->d);
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
  du_start(f, 3);
  /* Source keys spread over the partitions; groups by country. */
  pipe_s(f, "o1", "{\"customer\":{\"country\":\"us\"},\"amount\":5}", 1);
  pipe_s(f, "o2", "{\"customer\":{\"country\":\"it\"},\"amount\":7}", 2);
  pipe_s(f, "o3", "{\"customer\":{\"country\":\"us\"},\"amount\":1}", 3);
  pipe_s(f, NULL, "{\"customer\":{\"country\":\"be\"},\"amount\":2}", 4);
  pipe_s(f, "o4", "{\"customer\":{},\"amount\":3}", 5); /* bad: no key */
  pipe_s(f, "o5", "{\"customer\":{\"country\":\"es\"},\"amount\":4}", 6);
  pipe_s(f, "o6", "{\"customer\":{\"country\":\"it\"},\"amount\":\"x\"}", 7); /* bad sum */
  pipe_s(f, "o7", "{\"customer\":{\"country\":\"\"},\"amount\":1}", 8);       /* bad: empty key */
  assert_int_equal(du_stats(f->d).bad_records, 3);
  du_commit(f->d);
  /* Each country in partition murmur2(country) % 3 only; the offset is the
   * repartition topic's in that partition. */
  const char *countries[] = {"us", "it", "be", "es"};
  const char *values[] = {"{\"n\":2,\"total\":6}", "{\"n\":1,\"total\":7}", "{\"n\":1,\"total\":2}",
                          "{\"n\":1,\"total\":4}"};
  int64_t per_part[3] = {0, 0, 0};
  /* records that reached the repartition topic: us us it it be es */
  per_part[du_part(f->d, "us")] += 2;
  per_part[du_part(f->d, "it")] += 2;
  per_part[du_part(f->d, "be")] += 1;
  per_part[du_part(f->d, "es")] += 1;
  for (int i = 0; i < 4; i++) {
    expect_kv(f, countries[i], values[i], per_part[du_part(f->d, countries[i])]);
    for (int32_t p = 0; p < 3; p++) {
      if (p == du_part(f->d, countries[i])) continue;
      char *other = du_answer(f, ED_STORE_KIND_KV, countries[i], p);
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
  du_start(f, 2);
  pipe_s(f, "a", "{\"x\":1}", 1);
  pipe_s(f, "b", "{\"x\":2}", 2);
  pipe_s(f, "n", "42", 3);
  pipe_s(f, "s", "\"hi\"", 4);
  pipe_s(f, "t", "true", 5);
  du_commit(f->d);
  int64_t off[2] = {0, 0};
  off[du_part(f->d, "a")]++, off[du_part(f->d, "b")]++, off[du_part(f->d, "n")]++,
      off[du_part(f->d, "s")]++, off[du_part(f->d, "t")]++;
  expect_kv(f, "a", "{\"x\":1}", off[du_part(f->d, "a")]);
  expect_kv(f, "b", "{\"x\":2}", off[du_part(f->d, "b")]);
  expect_kv(f, "n", "42", off[du_part(f->d, "n")]);
  expect_kv(f, "s", "\"hi\"", off[du_part(f->d, "s")]);
  expect_kv(f, "t", "true", off[du_part(f->d, "t")]);

  pipe_s(f, "a", "{\"x\":3}", 6);
  pipe_s(f, "b", NULL, 7); /* deletes a committed row */
  pipe_s(f, "c", NULL, 8); /* deletes nothing */
  pipe_s(f, "d", "{\"x\":4}", 9);
  pipe_s(f, "d", NULL, 10); /* deletes a row never committed */
  pipe_s(f, "e", NULL, 11);
  pipe_s(f, "e", "[5]", 12); /* a tombstone then a value */
  off[du_part(f->d, "a")]++, off[du_part(f->d, "b")]++, off[du_part(f->d, "c")]++,
      off[du_part(f->d, "d")] += 2, off[du_part(f->d, "e")] += 2;
  assert_int_equal(du_stats(f->d).bad_records, 0);
  du_commit(f->d);
  expect_kv(f, "a", "{\"x\":3}", off[du_part(f->d, "a")]);
  expect_kv(f, "b", NULL, 0);
  expect_kv(f, "c", NULL, 0);
  expect_kv(f, "d", NULL, 0);
  expect_kv(f, "e", "[5]", off[du_part(f->d, "e")]);
}

/* Row changes to an output topic: the value as it is, a tombstone on
 * delete, emitted at commit (one record per changed key) with the task's
 * stream time. */
static void test_latest_to(void **state) {
  fx_t *f = *state;
  def_init(f, "profiles", "profiles", ED_FORMAT_JSON);
  add_agg(f, "value", ED_AGG_LATEST, NULL);
  f->def.to = (char *)"profiles-out";
  du_start(f, 1);
  pipe_s(f, "a", "{\"x\":1}", 1000);
  pipe_s(f, "b", "{\"x\":2}", 2000);
  pipe_s(f, "a", "{\"x\":3}", 1500);
  assert_int_equal(ed_test_driver_output_count(f->d), 0); /* nothing before a commit */
  du_commit(f->d);
  assert_int_equal(ed_test_driver_output_count(f->d), 2);
  expect_out(f, 0, "profiles-out", "a", "{\"x\":3}", 2000);
  expect_out(f, 1, "profiles-out", "b", "{\"x\":2}", 2000);
  pipe_s(f, "b", NULL, 3000);
  du_commit(f->d);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 2, "profiles-out", "b", NULL, 3000);
  du_commit(f->d); /* nothing changed: nothing emitted */
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
  du_start(f, 1);
  pipe_i64(f, "a", 5, 1);
  pipe_i64(f, "a", -3, 2);
  pipe_i64(f, "a", INT64_C(1000000000000), 3);
  pipe_raw(f, "a", "\0\0\0\1", 4, 4); /* 4 bytes: bad */
  pipe_i64(f, "b", INT64_MIN, 5);
  assert_int_equal(du_stats(f->d).bad_records, 1);
  du_commit(f->d);
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
  du_start(f, 1);
  pipe_s(f, "k", "x", 1);
  pipe_s(f, "k", "y", 2);
  pipe_s(f, "k", "skip", 3);
  pipe_s(f, "k", "x", 4);
  pipe_s(f, "k", "{\"not\":\"json here\"}", 5); /* just a string */
  pipe_s(f, "k", "", 6);                        /* the empty string */
  assert_int_equal(du_stats(f->d).bad_records, 0);
  du_commit(f->d);
  expect_kv(f, "k", "{\"n\":5,\"distinct\":4,\"first\":\"\"}", 6);
}

/* ---- event time from a field ---- */

static void test_timestamp_field(void **state) {
  fx_t *f = *state;
  def_init(f, "events", "events", ED_FORMAT_JSON);
  f->def.timestamp = (char *)"meta.ts";
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  f->def.window = (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000};
  du_start(f, 1);
  /* The Kafka timestamps (999999999999999) are ignored. */
  const int64_t kts = INT64_C(999999999999999);
  pipe_s(f, "e", "{\"meta\":{\"ts\":61000}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":61500.7}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"1970-01-01T00:02:00Z\"}}", kts);
  du_commit(f->d);
  expect_win(f, "e",
             "{\"start\":60000,\"end\":120000,\"value\":{\"n\":2}},"
             "{\"start\":120000,\"end\":180000,\"value\":{\"n\":1}}",
             3, 120000);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"2024-05-01T12:00:30.250+02:00\"}}", kts);
  pipe_s(f, "e", "{\"meta\":{\"ts\":\"yesterday\"}}", kts); /* bad */
  pipe_s(f, "e", "{\"meta\":{\"ts\":true}}", kts);          /* bad */
  pipe_s(f, "e", "{\"meta\":{}}", kts);                     /* bad */
  pipe_s(f, "e", "{\"meta\":{\"ts\":1714557659999}}", kts);
  ed_test_driver_stats_t s = du_stats(f->d);
  assert_int_equal(s.bad_records, 3);
  assert_int_equal(s.late_records, 0);
  du_commit(f->d);
  /* The 1970 windows are past their retention (1 day by default): purged. */
  expect_win(f, "e", "{\"start\":1714557600000,\"end\":1714557660000,\"value\":{\"n\":2}}", 8,
             INT64_C(1714557659999));
  /* 61000 is late now (grace 0). */
  pipe_s(f, "e", "{\"meta\":{\"ts\":61000}}", 0);
  assert_int_equal(du_stats(f->d).late_records, 1);
}

/* ---- output topics ---- */

static void test_output_topic(void **state) {
  fx_t *f = *state;
  def_init(f, "counts", "clicks", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  add_agg(f, "total", ED_AGG_SUM, "v");
  f->def.to = (char *)"counts-out";
  du_start(f, 2);
  assert_int_equal(du_part(f->d, "a"), 0);
  assert_int_equal(du_part(f->d, "d"), 1);
  pipe_s(f, "a", "{\"v\":1}", 100);
  pipe_s(f, "a", "{\"v\":2}", 200);
  pipe_s(f, "d", "{\"v\":4}", 300);
  pipe_s(f, "a", "{\"v\":\"bad\"}", 400); /* bad: no change, but stream time 400 */
  du_commit(f->d);
  assert_int_equal(ed_test_driver_output_count(f->d), 2);
  expect_out(f, 0, "counts-out", "a", "{\"n\":2,\"total\":3}", 400);
  expect_out(f, 1, "counts-out", "d", "{\"n\":1,\"total\":4}", 300);
  pipe_s(f, "a", "{\"v\":8}", 150); /* out of order: stream time stays 400 */
  du_commit(f->d);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
  expect_out(f, 2, "counts-out", "a", "{\"n\":3,\"total\":11}", 400);
  du_commit(f->d);
  assert_int_equal(ed_test_driver_output_count(f->d), 3);
}

static void test_output_topic_windowed(void **state) {
  fx_t *f = *state;
  def_init(f, "wcounts", "clicks", ED_FORMAT_JSON);
  add_agg(f, "n", ED_AGG_COUNT, NULL);
  f->def.window = (ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 60000, .grace = 60000};
  f->def.to = (char *)"wcounts-out";
  du_start(f, 1);
  pipe_s(f, "a", "{}", 1000);
  pipe_s(f, "a", "{}", 61000);
  pipe_s(f, "a", "{}", 2000);
  du_commit(f->d);
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
  du_start(f, 2);
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
  assert_int_equal(du_stats(f->d).bad_records, 3);
  du_commit(f->d);
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
  du_start(f, 2);
  assert_int_not_equal(du_part(f->d, "a"), du_part(f->d, "d"));
  pipe_s(f, "a", "{\"amount\":1}", 1);
  pipe_s(f, "a", "{\"amount\":true}", 2); /* bad: a's partition stops here */
  pipe_s(f, "a", "{\"amount\":2}", 3);
  pipe_s(f, "d", "{\"amount\":4}", 4); /* the other partition goes on */
  pipe_s(f, "d", "{\"amount\":8}", 5);
  assert_int_equal(du_stats(f->d).bad_records, 1);
  assert_int_equal(ed_test_driver_output_count(f->d), 0); /* no dead letters */
  du_commit(f->d);
  /* a's offset stays at the bad record: a restart resumes there. */
  expect_kv(f, "a", "{\"n\":1,\"total\":1}", 1);
  expect_kv(f, "d", "{\"n\":2,\"total\":12}", 2);
  pipe_s(f, "a", "{\"amount\":16}", 6);
  du_commit(f->d);
  expect_kv(f, "a", "{\"n\":1,\"total\":1}", 1);
  assert_int_equal(du_stats(f->d).bad_records, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_aggregates, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_repartition, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_latest, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_latest_to, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_format_int64, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_format_string, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_timestamp_field, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_output_topic, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_output_topic_windowed, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter, setup, du_teardown),
      cmocka_unit_test_setup_teardown(test_stop, setup, du_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
