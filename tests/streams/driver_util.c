#include "tests/streams/driver_util.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "query/query_int.h"
#include "streams/compile.h"

/* ---- temporary directories ---- */

void du_mkdtemp(char *dir, size_t cap, const char *tag) {
  snprintf(dir, cap, "/tmp/eddy-%s-XXXXXX", tag);
  assert_non_null(mkdtemp(dir));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void du_rmtree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- fixture ---- */

int du_setup(void **state, const char *tag) {
  du_fx_t *f = calloc(1, sizeof *f);
  assert_non_null(f);
  du_mkdtemp(f->dir, sizeof f->dir, tag);
  *state = f;
  return 0;
}

int du_teardown(void **state) {
  du_fx_t *f = *state;
  ed_test_driver_destroy(f->d);
  du_rmtree(f->dir);
  free(f);
  return 0;
}

void du_clicks_def(du_fx_t *f, ed_window_spec_t w) {
  ed_view_def_t *d = &f->def;
  memset(d, 0, sizeof *d);
  d->name = (char *)"clicks";
  d->from = (char *)"clicks";
  d->format = ED_FORMAT_JSON;
  d->aggs[0] = (ed_agg_def_t){(char *)"count", ED_AGG_COUNT, NULL};
  d->aggs[1] = (ed_agg_def_t){(char *)"sum", ED_AGG_SUM, (char *)"v"};
  d->naggs = 2;
  d->window = w;
}

void du_start(du_fx_t *f, int32_t partitions) {
  ed_topology_t *t = NULL;
  char err[512] = "";
  if (ed_view_compile(&f->def, "test", &t, err, sizeof err) != ED_OK) fail_msg("compile: %s", err);
  ed_topology_opts_t o = {.on_error = f->def.on_error};
  if (ed_test_driver_create(t, f->dir, partitions, &o, &f->d, err, sizeof err) != ED_OK) {
    ed_topology_destroy(t);
    fail_msg("driver: %s", err);
  }
}

void du_pipe_v(du_fx_t *f, const char *key, int64_t ts, int v) {
  char val[64];
  int n = snprintf(val, sizeof val, "{\"v\":%d}", v);
  assert_int_equal(ed_test_driver_pipe(f->d, "clicks", key, strlen(key), val, (size_t)n, ts),
                   ED_OK);
}

uint64_t du_rows(du_fx_t *f, int32_t p) {
  ed_store_t *s = ed_test_driver_store(f->d, f->def.name, p);
  assert_non_null(s);
  uint64_t n = 0;
  assert_int_equal(ed_store_row_count(s, &n), ED_OK);
  return n;
}

char *du_answer(du_fx_t *f, ed_store_kind_t kind, const char *key, int32_t p) {
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

void du_expect_answer(int line, const char *key, char *got, const char *want) {
  if (want == NULL) {
    if (got != NULL) fail_msg("line %d: key %s: expected no answer, got %s", line, key, got);
    return;
  }
  if (got == NULL || strcmp(got, want) != 0)
    fail_msg("line %d: key %s:\nexpected %s\n     got %s", line, key, want,
             got ? got : "(no answer)");
  free(got);
}

void du_expect_win_at(int line, du_fx_t *f, ed_store_kind_t kind, const char *key,
                      const char *windows, int64_t offset, int64_t st) {
  int32_t p = du_part(f->d, key);
  char want[4096];
  snprintf(want, sizeof want,
           "{\"key\":\"%s\",\"windows\":[%s],\"partition\":%d,\"offset\":%lld,"
           "\"stream_time\":%lld}",
           key, windows ? windows : "", (int)p, (long long)offset, (long long)st);
  du_expect_answer(line, key, du_answer(f, kind, key, p), windows ? want : NULL);
}

/* ---- any driver ---- */

void du_commit(ed_test_driver_t *d) {
  char err[512] = "";
  if (ed_test_driver_commit(d, err, sizeof err) != ED_OK) fail_msg("commit: %s", err);
}

int32_t du_part(ed_test_driver_t *d, const char *key) {
  return ed_test_driver_partition(d, key, strlen(key));
}

ed_test_driver_stats_t du_stats(ed_test_driver_t *d) {
  ed_test_driver_stats_t s;
  ed_test_driver_stats(d, &s);
  return s;
}

void du_expect_out_at(int line, ed_test_driver_t *d, size_t i, const char *topic, const char *key,
                      const char *value, int64_t ts) {
  const ed_test_record_t *r = ed_test_driver_output(d, i);
  if (r == NULL)
    fail_msg("line %d: no output record %zu (%zu captured)", line, i,
             ed_test_driver_output_count(d));
  char got[2048], want[2048];
  snprintf(got, sizeof got, "%s key=%.*s value=%.*s ts=%lld", r->topic, (int)r->key_len,
           r->key ? (const char *)r->key : "(null)", r->value ? (int)r->value_len : 6,
           r->value ? (const char *)r->value : "(null)", (long long)r->timestamp);
  snprintf(want, sizeof want, "%s key=%s value=%s ts=%lld", topic, key, value ? value : "(null)",
           (long long)ts);
  if (strcmp(got, want) != 0 || (key != NULL && r->key_len != strlen(key)))
    fail_msg("line %d: output %zu:\nexpected %s\n     got %s", line, i, want, got);
}
