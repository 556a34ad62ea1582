/* Unit tests for the query engine without an engine or Kafka: range scans
 * merged across several real LMDB stores (query/scan.c, merge.c), cursors
 * (cursor.c), protobuf encode -> protobuf-c decode round trips of each
 * answer kind (encode_pb.c), multi-get body parsing (keys.c) and Accept
 * negotiation (encode.c). */
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
#include "proto/eddy.pb-c.h"
#include "query/query_int.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/agg.h"
#include "streams/window.h"

#define NSTORES 3

typedef struct {
  char dir[64];
  ed_store_t *s[NSTORES];
  int32_t parts[NSTORES];
  ed_query_result_t *res;
  ed_buf_t out;
  ed_view_def_t def;  /* count */
  ed_view_def_t wdef; /* tumbling 1 min count */
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
  snprintf(f->dir, sizeof f->dir, "/tmp/eddy-scan-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  for (int i = 0; i < NSTORES; i++) {
    char d[128], err[256] = "";
    snprintf(d, sizeof d, "%s/%d", f->dir, i);
    ed_store_opts_t o = {.map_size = 1 << 20, .no_sync = 1};
    if (ed_store_open(d, &o, &f->s[i], err, sizeof err) != ED_OK) fail_msg("open: %s", err);
    f->parts[i] = i;
  }
  f->res = ed_query_result_create();
  assert_non_null(f->res);
  ed_buf_init(&f->out);
  f->def.name = "counts";
  f->def.from = "clicks";
  f->def.aggs[0].column = "count";
  f->def.aggs[0].kind = ED_AGG_COUNT;
  f->def.naggs = 1;
  f->wdef = f->def;
  f->wdef.name = "per_min";
  f->wdef.window.type = ED_WIN_TUMBLING;
  f->wdef.window.size = 60000;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  for (int i = 0; i < NSTORES; i++)
    ed_store_close(f->s[i]);
  nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  ed_query_result_destroy(f->res);
  ed_buf_fini(&f->out);
  free(f);
  return 0;
}

static void put_count(ed_store_t *s, const void *key, size_t klen, int64_t n) {
  ed_col_t c = {.type = ED_COL_INT, .v.i = n};
  unsigned char buf[64];
  size_t len = ed_row_encode(&c, 1, buf, sizeof buf);
  assert_true(len > 0);
  ed_store_put_t p = {key, klen, buf, len, 0};
  char err[256] = "";
  if (ed_store_commit(s, &p, 1, NULL, 0, err, sizeof err) != ED_OK) fail_msg("put: %s", err);
}

static void put_wcount_n(ed_store_t *s, const char *key, size_t klen, int64_t start, int64_t n) {
  uint8_t k[ED_WKEY_MAX];
  size_t kl = ed_wkey_encode(key, klen, start, k, sizeof k);
  assert_true(kl > 0);
  put_count(s, k, kl, n);
}

static void put_wcount(ed_store_t *s, const char *key, int64_t start, int64_t n) {
  uint8_t k[ED_WKEY_MAX];
  size_t kl = ed_wkey_encode(key, strlen(key), start, k, sizeof k);
  assert_true(kl > 0);
  put_count(s, k, kl, n);
}

static void set_pos(ed_store_t *s, int64_t offset, int64_t st) {
  ed_store_meta_put_t m[] = {{ED_STORE_META_OFFSET, offset}, {ED_STORE_META_STREAM_TIME, st}};
  assert_int_equal(ed_store_commit(s, NULL, 0, m, 2, NULL, 0), ED_OK);
}

/* One page as JSON (and its status). */
static int page(fx_t *f, const ed_view_def_t *def, ed_store_kind_t kind,
                const ed_query_scan_t *scan) {
  ed__qres_reset(f->res, ED__QRES_ROWS);
  int st = ed__query_scan_page(f->res, def, kind, f->s, f->parts, NSTORES, scan);
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_json(f->res, &f->out), ED_OK);
  return st;
}

/* The page's keys as "k1,k2,..." (windowed: "k@start"). */
static void page_keys(fx_t *f, char *out, size_t cap) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < f->res->nrows; i++) {
    const ed__qrow_t *r = &f->res->rows[i];
    int n;
    if (r->windowed)
      n = snprintf(out + o, cap - o, "%s%s@%lld", i ? "," : "", ed__qres_str(f->res, r->key),
                   (long long)f->res->wins[r->win0].start);
    else
      n = snprintf(out + o, cap - o, "%s%s", i ? "," : "", ed__qres_str(f->res, r->key));
    assert_true(n > 0 && (size_t)n < cap - o);
    o += (size_t)n;
  }
}

/* ---- cursors ---- */

static void cursor_round_trip(void **state) {
  (void)state;
  const char *keys[] = {"a", "alice", "\x00\xff\x01", "0123456789012345678901234567890123456789"};
  size_t lens[] = {1, 5, 3, 40};
  for (size_t i = 0; i < 4; i++) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed__query_cursor_encode(&b, ED_STORE_KIND_KV, keys[i], lens[i]);
    assert_false(ed_buf_failed(&b));
    for (size_t j = 0; j < b.len; j++) /* URL-safe, no padding */
      assert_non_null(
          strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", b.data[j]));
    uint8_t k[ED_QUERY_MAX_KEY];
    size_t kl = 0;
    assert_int_equal(ed__query_cursor_decode(b.data, b.len, ED_STORE_KIND_KV, k, &kl), ED_OK);
    assert_int_equal(kl, lens[i]);
    assert_memory_equal(k, keys[i], kl);
    /* a cursor of a table is not one of a windowed view */
    assert_int_equal(ed__query_cursor_decode(b.data, b.len, ED_STORE_KIND_WINDOWED, k, &kl),
                     ED_EINVAL);
    ed_buf_fini(&b);
  }
  /* a windowed cursor round-trips too */
  uint8_t wk[ED_WKEY_MAX], k[ED_QUERY_MAX_KEY];
  size_t wkl = ed_wkey_encode("bob", 3, 120000, wk, sizeof wk), kl = 0;
  ed_buf_t b;
  ed_buf_init(&b);
  ed__query_cursor_encode(&b, ED_STORE_KIND_WINDOWED, wk, wkl);
  assert_int_equal(ed__query_cursor_decode(b.data, b.len, ED_STORE_KIND_WINDOWED, k, &kl), ED_OK);
  assert_int_equal(kl, wkl);
  assert_memory_equal(k, wk, kl);
  ed_buf_fini(&b);
}

static void cursor_rejects_malformed(void **state) {
  (void)state;
  uint8_t k[ED_QUERY_MAX_KEY];
  size_t kl = 0;
  const char *bad[] = {
      "",       /* empty */
      "A",      /* one character cannot be base64 */
      "AQBh",   /* version 1, kind 0, key "a": valid, checked below */
      "AgBh",   /* version 2 */
      "AQA",    /* no key */
      "AQBh=",  /* padding */
      "AQBh+",  /* standard alphabet, not url-safe */
      "AQ Bh",  /* space */
      "AQBhYR", /* trailing bits not zero ("AQBhYQ" is key "aa") */
  };
  assert_int_equal(ed__query_cursor_decode(bad[2], 4, ED_STORE_KIND_KV, k, &kl), ED_OK);
  assert_int_equal(kl, 1);
  assert_int_equal(k[0], 'a');
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (i == 2) continue;
    if (ed__query_cursor_decode(bad[i], strlen(bad[i]), ED_STORE_KIND_KV, k, &kl) != ED_EINVAL)
      fail_msg("cursor '%s' accepted", bad[i]);
  }
  /* over-long */
  char longc[2000];
  memset(longc, 'A', sizeof longc);
  assert_int_equal(ed__query_cursor_decode(longc, sizeof longc, ED_STORE_KIND_KV, k, &kl),
                   ED_EINVAL);
  /* a windowed cursor whose key is not a windowed key */
  assert_int_equal(ed__query_cursor_decode("AQFh", 4, ED_STORE_KIND_WINDOWED, k, &kl), ED_EINVAL);
}

/* A malformed cursor or limit on a scan is a 400 naming the parameter. */
static void scan_bad_params(void **state) {
  fx_t *f = *state;
  ed_query_scan_t s = {.cursor = "not a cursor", .cursor_len = 12};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &s), 400);
  assert_non_null(strstr(f->out.data, "\"code\":\"bad_request\""));
  assert_non_null(strstr(f->out.data, "'cursor'"));
  ed_query_scan_t l = {.limit = ED_QUERY_MAX_LIMIT + 1};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &l), 400);
  assert_non_null(strstr(f->out.data, "'limit'"));
  ed_query_scan_t w = {.has_window_from = 1};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &w), 400);
  assert_non_null(strstr(f->out.data, "'window_from'"));
  ed_query_scan_t ww = {.has_window_from = 1, .window_from = 5, .has_window_to = 1, .window_to = 4};
  assert_int_equal(page(f, &f->wdef, ED_STORE_KIND_WINDOWED, &ww), 400);
}

/* ---- the merge ---- */

static const char *const all_keys[] = {"a", "b", "bb", "c", "d", "e", "f", "g", "h"};
#define NKEYS (sizeof all_keys / sizeof all_keys[0])

static void fill(fx_t *f) {
  /* spread over the stores out of order */
  for (size_t i = 0; i < NKEYS; i++)
    put_count(f->s[(i * 7) % NSTORES], all_keys[i], strlen(all_keys[i]), (int64_t)i + 1);
  set_pos(f->s[0], 10, 1000);
  set_pos(f->s[1], 20, 2000);
  set_pos(f->s[2], 30, INT64_MIN); /* no record seen yet: no stream_time */
}

static void merge_whole_table(void **state) {
  fx_t *f = *state;
  fill(f);
  ed_query_scan_t s = {0};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &s), 200);
  char keys[256];
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "a,b,bb,c,d,e,f,g,h");
  assert_false(f->res->has_cursor);
  assert_non_null(strstr(f->out.data, "{\"rows\":[{\"key\":\"a\",\"value\":{\"count\":1}},"));
  assert_non_null(strstr(f->out.data,
                         "],\"positions\":[{\"partition\":0,\"offset\":10,\"stream_time\":1000},"
                         "{\"partition\":1,\"offset\":20,\"stream_time\":2000},"
                         "{\"partition\":2,\"offset\":30}]}"));
  assert_null(strstr(f->out.data, "next_cursor"));

  /* bounds: from inclusive, to exclusive */
  ed_query_scan_t b = {.from = "b", .from_len = 1, .to = "e", .to_len = 1};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &b), 200);
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "b,bb,c,d");
  ed_query_scan_t e = {.from = "x", .from_len = 1};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &e), 200);
  assert_int_equal(f->res->nrows, 0);
  assert_int_equal(f->res->npos, NSTORES);
}

/* Pages of 2 with cursors; rows inserted (before and after the cursor) and
 * deleted between pages: every key that existed throughout comes exactly
 * once, in order. */
static void merge_pages_while_changing(void **state) {
  fx_t *f = *state;
  fill(f);
  char seen[64][8];
  size_t nseen = 0;
  char cursor[1024] = "";
  int pages = 0;
  for (;;) {
    ed_query_scan_t s = {.limit = 2};
    if (cursor[0]) s.cursor = cursor, s.cursor_len = strlen(cursor);
    assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &s), 200);
    pages++;
    for (size_t i = 0; i < f->res->nrows; i++) {
      assert_true(nseen < 64);
      snprintf(seen[nseen++], 8, "%s", ed__qres_str(f->res, f->res->rows[i].key));
    }
    if (pages == 1) {
      /* behind the cursor: never shown; ahead: may be shown */
      put_count(f->s[2], "aa", 2, 100);
      put_count(f->s[1], "ca", 2, 100);
      put_count(f->s[0], "zz", 2, 100);
    }
    if (pages == 2) put_count(f->s[1], "d0", 2, 100);
    if (!f->res->has_cursor) break;
    snprintf(cursor, sizeof cursor, "%s", ed__qres_str(f->res, f->res->cursor));
    assert_non_null(strstr(f->out.data, "\"next_cursor\":\""));
    assert_true(pages < 50);
  }
  /* strictly increasing: nothing repeated */
  for (size_t i = 1; i < nseen; i++)
    if (strcmp(seen[i - 1], seen[i]) >= 0)
      fail_msg("row %zu: %s after %s", i, seen[i], seen[i - 1]);
  /* every original key came */
  for (size_t k = 0; k < NKEYS; k++) {
    int found = 0;
    for (size_t i = 0; i < nseen; i++)
      if (strcmp(seen[i], all_keys[k]) == 0) found = 1;
    if (!found) fail_msg("key %s skipped", all_keys[k]);
  }
  for (size_t i = 0; i < nseen; i++)
    assert_string_not_equal(seen[i], "aa");
}

/* A cursor past a deleted row resumes right after it. */
static void merge_cursor_row_deleted(void **state) {
  fx_t *f = *state;
  fill(f);
  ed_query_scan_t s = {.limit = 3};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &s), 200);
  char keys[256], cursor[256];
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "a,b,bb");
  snprintf(cursor, sizeof cursor, "%s", ed__qres_str(f->res, f->res->cursor));
  /* delete "bb" (the cursor's row) wherever it lives */
  for (int i = 0; i < NSTORES; i++) {
    ed_store_put_t d = {"bb", 2, NULL, 0, 0};
    assert_int_equal(ed_store_commit(f->s[i], &d, 1, NULL, 0, NULL, 0), ED_OK);
  }
  ed_query_scan_t n = {.limit = 3, .cursor = cursor, .cursor_len = strlen(cursor)};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &n), 200);
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "c,d,e");
  /* a cursor before 'from' yields to from; to still applies */
  ed_query_scan_t m = {.from = "f",
                       .from_len = 1,
                       .to = "h",
                       .to_len = 1,
                       .cursor = cursor,
                       .cursor_len = strlen(cursor)};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &m), 200);
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "f,g");
}

/* Windowed: (key, window) rows by key then start; window_from/window_to
 * bound the start, from/to the record key; pages resume inside a key. */
static void merge_windowed(void **state) {
  fx_t *f = *state;
  const char *wk[] = {"a", "a\x00z", "b", "c"};
  size_t wkl[] = {1, 3, 1, 1};
  for (size_t i = 0; i < 4; i++)
    for (int64_t w = 0; w < 4; w++)
      put_wcount_n(f->s[(i + (size_t)w) % NSTORES], wk[i], wkl[i], w * 60000, (int64_t)i * 10 + w);
  char keys[512];
  ed_query_scan_t s = {.from = "a",
                       .from_len = 1,
                       .to = "c",
                       .to_len = 1,
                       .has_window_from = 1,
                       .window_from = 60000,
                       .has_window_to = 1,
                       .window_to = 120000};
  assert_int_equal(page(f, &f->wdef, ED_STORE_KIND_WINDOWED, &s), 200);
  page_keys(f, keys, sizeof keys);
  assert_string_equal(keys, "a@60000,a@120000,a@60000,a@120000,b@60000,b@120000");
  assert_int_equal(f->res->rows[2].key.len, 3); /* "a\0z" */
  assert_non_null(strstr(f->out.data, "{\"key\":\"a\",\"start\":60000,\"end\":120000,"
                                      "\"value\":{\"count\":1}}"));

  /* pages of 3 over everything: 16 rows, each once */
  char cursor[1024] = "";
  size_t total = 0;
  int64_t last_start = -1;
  for (int pg = 0; pg < 20; pg++) {
    ed_query_scan_t p = {.limit = 3};
    if (cursor[0]) p.cursor = cursor, p.cursor_len = strlen(cursor);
    assert_int_equal(page(f, &f->wdef, ED_STORE_KIND_WINDOWED, &p), 200);
    for (size_t i = 0; i < f->res->nrows; i++) {
      int64_t st = f->res->wins[f->res->rows[i].win0].start;
      if (total % 4 != 0) assert_true(st > last_start);
      last_start = st;
      total++;
    }
    if (!f->res->has_cursor) break;
    snprintf(cursor, sizeof cursor, "%s", ed__qres_str(f->res, f->res->cursor));
  }
  assert_int_equal(total, 16);

  /* a table's cursor on a windowed view is a 400 */
  ed_buf_t c;
  ed_buf_init(&c);
  ed__query_cursor_encode(&c, ED_STORE_KIND_KV, "a", 1);
  ed_query_scan_t bad = {.cursor = c.data, .cursor_len = c.len};
  assert_int_equal(page(f, &f->wdef, ED_STORE_KIND_WINDOWED, &bad), 400);
  ed_buf_fini(&c);
}

/* ---- protobuf round trips ---- */

static void pb_rows_round_trip(void **state) {
  fx_t *f = *state;
  fill(f);
  ed_query_scan_t s = {.limit = 4};
  assert_int_equal(page(f, &f->def, ED_STORE_KIND_KV, &s), 200);
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_pb(f->res, &f->out), ED_OK);
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(l);
  assert_int_equal(l->n_rows, 4);
  const char *want[] = {"a", "b", "bb", "c"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(l->rows[i]->key.len, strlen(want[i]));
    assert_memory_equal(l->rows[i]->key.data, want[i], strlen(want[i]));
    assert_non_null(l->rows[i]->value);
    assert_int_equal(l->rows[i]->value->n_columns, 1);
    assert_string_equal(l->rows[i]->value->columns[0]->name, "count");
    assert_int_equal(l->rows[i]->value->columns[0]->value_case, EDDY__V1__COLUMN__VALUE_INT_VALUE);
  }
  assert_int_equal(l->rows[0]->value->columns[0]->int_value, 1);
  assert_string_equal(l->next_cursor, ed__qres_str(f->res, f->res->cursor));
  assert_int_equal(l->n_positions, 3);
  assert_int_equal(l->positions[1]->partition, 1);
  assert_int_equal(l->positions[1]->offset, 20);
  assert_true(l->positions[1]->has_stream_time);
  assert_int_equal(l->positions[1]->stream_time, 2000);
  assert_false(l->positions[2]->has_stream_time);
  eddy__v1__row_list__free_unpacked(l, NULL);
}

/* Windowed scan rows: one window each. */
static void pb_windowed_rows(void **state) {
  fx_t *f = *state;
  put_wcount(f->s[0], "k", 60000, 5);
  Eddy__V1__RowList *l;
  ed_query_scan_t w = {0};
  ed__qres_reset(f->res, ED__QRES_ROWS);
  assert_int_equal(
      ed__query_scan_page(f->res, &f->wdef, ED_STORE_KIND_WINDOWED, f->s, f->parts, 1, &w), 200);
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_pb(f->res, &f->out), ED_OK);
  l = eddy__v1__row_list__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(l);
  assert_int_equal(l->n_rows, 1);
  assert_int_equal(l->rows[0]->n_windows, 1);
  assert_int_equal(l->rows[0]->windows[0]->start, 60000);
  assert_int_equal(l->rows[0]->windows[0]->end, 120000);
  assert_int_equal(l->rows[0]->windows[0]->value->columns[0]->int_value, 5);
  assert_string_equal(l->next_cursor, "");
  eddy__v1__row_list__free_unpacked(l, NULL);
}

/* A key answer (table and windowed) and a multi-get built like
 * ed_query_exec_key / ed_query_exec_keys build them. */
static void pb_key_and_multi_round_trip(void **state) {
  fx_t *f = *state;
  fill(f);
  put_wcount(f->s[1], "w", 0, 3);
  put_wcount(f->s[1], "w", 60000, 4);
  ed_query_result_t *res = f->res;

  /* key lookup of a table: stream_time shown */
  ed__qres_reset(res, ED__QRES_KEY);
  ed__qrow_t *row = ed__qres_row(res);
  ed__qpos_t *pos = ed__qres_pos(res);
  row->key = ed__qres_bytes(res, "d", 1);
  row->partition = 1;
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(f->s[1], &r), ED_OK); /* "d" is in store 1 */
  ed__query_read_pos(&r, &f->def, 1, pos);
  assert_int_equal(ed__query_read_key(res, 0, &f->def, ED_STORE_KIND_KV, &r, "d", 1, NULL), ED_OK);
  ed_store_read_end(&r);
  res->status = 200;
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_json(res, &f->out), ED_OK);
  assert_string_equal(f->out.data, "{\"key\":\"d\",\"value\":{\"count\":5},\"partition\":1,"
                                   "\"offset\":20,\"stream_time\":2000}");
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_pb(res, &f->out), ED_OK);
  Eddy__V1__Row *pr = eddy__v1__row__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(pr);
  assert_memory_equal(pr->key.data, "d", 1);
  assert_int_equal(pr->partition, 1);
  assert_int_equal(pr->offset, 20);
  assert_true(pr->has_stream_time);
  assert_int_equal(pr->stream_time, 2000);
  assert_int_equal(pr->value->columns[0]->int_value, 5);
  assert_false(pr->missing);
  eddy__v1__row__free_unpacked(pr, NULL);

  /* multi-get: w (windows), x (missing), in request order */
  ed__qres_reset(res, ED__QRES_MULTI);
  const char *keys[] = {"w", "x"};
  for (int i = 0; i < 2; i++) {
    row = ed__qres_row(res);
    row->key = ed__qres_bytes(res, keys[i], 1);
  }
  pos = ed__qres_pos(res);
  assert_int_equal(ed_store_read_begin(f->s[1], &r), ED_OK);
  ed__query_read_pos(&r, &f->wdef, 1, pos);
  for (size_t i = 0; i < 2; i++) {
    res->rows[i].partition = 1;
    int rc = ed__query_read_key(res, i, &f->wdef, ED_STORE_KIND_WINDOWED, &r, keys[i], 1, NULL);
    if (rc == ED_ENOTFOUND)
      res->rows[i].missing = 1;
    else
      assert_int_equal(rc, ED_OK);
  }
  ed_store_read_end(&r);
  res->status = 200;
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_json(res, &f->out), ED_OK);
  assert_string_equal(f->out.data,
                      "{\"rows\":[{\"key\":\"w\",\"windows\":[{\"start\":0,\"end\":60000,\"value\":"
                      "{\"count\":3}},{\"start\":60000,\"end\":120000,\"value\":{\"count\":4}}],"
                      "\"partition\":1},{\"key\":\"x\",\"missing\":true,\"partition\":1}],"
                      "\"positions\":[{\"partition\":1,\"offset\":20,\"stream_time\":2000}]}");
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_pb(res, &f->out), ED_OK);
  Eddy__V1__MultiGetAnswer *m =
      eddy__v1__multi_get_answer__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(m);
  assert_int_equal(m->n_rows, 2);
  assert_int_equal(m->rows[0]->n_windows, 2);
  assert_int_equal(m->rows[0]->windows[1]->start, 60000);
  assert_int_equal(m->rows[0]->windows[1]->value->columns[0]->int_value, 4);
  assert_false(m->rows[0]->missing);
  assert_true(m->rows[1]->missing);
  assert_memory_equal(m->rows[1]->key.data, "x", 1);
  assert_int_equal(m->rows[1]->partition, 1);
  assert_int_equal(m->n_positions, 1);
  assert_int_equal(m->positions[0]->offset, 20);
  eddy__v1__multi_get_answer__free_unpacked(m, NULL);
}

/* Latest views: the value is the record itself (Value.record). */
static void pb_latest_record(void **state) {
  fx_t *f = *state;
  ed_view_def_t d = {.name = "users", .from = "users"};
  d.aggs[0].kind = ED_AGG_LATEST;
  d.naggs = 1;
  ed_col_t c = {.type = ED_COL_JSON};
  c.v.s.p = "{\"name\":\"Al\"}";
  c.v.s.len = (uint32_t)strlen(c.v.s.p);
  unsigned char buf[128];
  size_t len = ed_row_encode(&c, 1, buf, sizeof buf);
  ed_store_put_t p = {"u1", 2, buf, len, 0};
  assert_int_equal(ed_store_commit(f->s[0], &p, 1, NULL, 0, NULL, 0), ED_OK);
  ed_query_scan_t s = {0};
  assert_int_equal(page(f, &d, ED_STORE_KIND_KV, &s), 200);
  assert_non_null(strstr(f->out.data, "{\"key\":\"u1\",\"value\":{\"name\":\"Al\"}}"));
  ed_buf_reset(&f->out);
  assert_int_equal(ed__query_encode_pb(f->res, &f->out), ED_OK);
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(l);
  assert_true(l->rows[0]->value->record);
  assert_int_equal(l->rows[0]->value->columns[0]->value_case, EDDY__V1__COLUMN__VALUE_JSON_VALUE);
  assert_string_equal(l->rows[0]->value->columns[0]->json_value, "{\"name\":\"Al\"}");
  eddy__v1__row_list__free_unpacked(l, NULL);
}

static void pb_error_round_trip(void **state) {
  fx_t *f = *state;
  assert_int_equal(ed_query_fail(f->res, 404, "not_found", "view '%s' not found", "nope"), 404);
  assert_int_equal(ed_query_result_status(f->res), 404);
  ed_buf_reset(&f->out);
  assert_int_equal(ed_query_encode(f->res, ED_QUERY_JSON, &f->out), ED_OK);
  assert_string_equal(f->out.data,
                      "{\"error\":{\"code\":\"not_found\",\"message\":\"view 'nope' not found\"}}");
  ed_buf_reset(&f->out);
  assert_int_equal(ed_query_encode(f->res, ED_QUERY_PROTOBUF, &f->out), ED_OK);
  Eddy__V1__Error *e = eddy__v1__error__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(e);
  assert_string_equal(e->code, "not_found");
  assert_string_equal(e->message, "view 'nope' not found");
  eddy__v1__error__free_unpacked(e, NULL);
  /* errors from outside the module */
  ed_buf_reset(&f->out);
  ed_query_error_encode(&f->out, ED_QUERY_PROTOBUF, 504, "timeout", "waited", 6);
  e = eddy__v1__error__unpack(NULL, f->out.len, (const uint8_t *)f->out.data);
  assert_non_null(e);
  assert_string_equal(e->code, "timeout");
  eddy__v1__error__free_unpacked(e, NULL);
}

/* ---- multi-get bodies ---- */

static int parse(fx_t *f, ed_query_keys_t *k, const char *body, size_t len, ed_query_enc_t enc) {
  ed__qres_reset(f->res, ED__QRES_NONE);
  int st = ed_query_parse_keys(body, len, enc, k, f->res);
  ed_buf_reset(&f->out);
  if (st != 0) assert_int_equal(ed_query_encode(f->res, ED_QUERY_JSON, &f->out), ED_OK);
  return st;
}

static void keys_parse(void **state) {
  fx_t *f = *state;
  ed_query_keys_t k;
  ed_query_keys_init(&k);
  const char *ok = " [ \"alice\", \"b\\u00e9\\n\" ,\"\\ud83d\\ude00\",\"\"] ";
  assert_int_equal(parse(f, &k, ok, strlen(ok), ED_QUERY_JSON), 0);
  assert_int_equal(k.n, 4);
  size_t l;
  assert_memory_equal(ed_query_keys_at(&k, 0, &l), "alice", 5);
  assert_int_equal(l, 5);
  assert_memory_equal(ed_query_keys_at(&k, 1, &l), "b\xc3\xa9\n", 4);
  assert_int_equal(l, 4);
  assert_memory_equal(ed_query_keys_at(&k, 2, &l), "\xf0\x9f\x98\x80", 4);
  ed_query_keys_at(&k, 3, &l);
  assert_int_equal(l, 0);
  assert_int_equal(parse(f, &k, "[]", 2, ED_QUERY_JSON), 0);
  assert_int_equal(k.n, 0);

  struct {
    const char *body;
    int status;
    const char *says;
  } bad[] = {
      {"", 400, "empty"},
      {"[\"a\",", 400, "malformed JSON"},
      {"{\"keys\":[]}", 400, "JSON array"},
      {"[\"a\", 7]", 400, "element 1 "},
      {"[\"a\", \"b\", null]", 400, "element 2 "},
      {"[[\"a\"]]", 400, "element 0 "},
      {"\"a\"", 400, "JSON array"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int st = parse(f, &k, bad[i].body, strlen(bad[i].body), ED_QUERY_JSON);
    if (st != bad[i].status || strstr(f->out.data, bad[i].says) == NULL)
      fail_msg("body %s: %d %s", bad[i].body, st, f->out.data);
    assert_non_null(strstr(f->out.data, "\"bad_request\""));
  }
  /* too many keys, too big a body */
  ed_buf_t b;
  ed_buf_init(&b);
  ed_buf_putc(&b, '[');
  for (int i = 0; i <= ED_QUERY_MAX_KEYS; i++)
    ed_buf_printf(&b, "%s\"k%d\"", i ? "," : "", i);
  ed_buf_putc(&b, ']');
  assert_int_equal(parse(f, &k, b.data, b.len, ED_QUERY_JSON), 413);
  assert_int_equal(parse(f, &k, b.data, ED_QUERY_MAX_BODY + 1, ED_QUERY_JSON), 413);
  ed_buf_fini(&b);

  /* protobuf */
  Eddy__V1__MultiGetRequest req = EDDY__V1__MULTI_GET_REQUEST__INIT;
  ProtobufCBinaryData kd[2] = {{3, (uint8_t *)"a\0b"}, {1, (uint8_t *)"z"}};
  req.n_keys = 2;
  req.keys = kd;
  uint8_t pbuf[64];
  size_t plen = eddy__v1__multi_get_request__pack(&req, pbuf);
  assert_int_equal(parse(f, &k, (const char *)pbuf, plen, ED_QUERY_PROTOBUF), 0);
  assert_int_equal(k.n, 2);
  assert_memory_equal(ed_query_keys_at(&k, 0, &l), "a\0b", 3);
  assert_int_equal(l, 3);
  assert_int_equal(parse(f, &k, "\xff\xff\xff", 3, ED_QUERY_PROTOBUF), 400);
  assert_non_null(strstr(f->out.data, "MultiGetRequest"));
  ed_query_keys_fini(&k);
}

static void accept_header(void **state) {
  (void)state;
  const char *pb[] = {"application/x-protobuf", "Application/X-Protobuf",
                      "application/json;q=0.5, application/x-protobuf",
                      "application/x-protobuf;q=0.9", " application/x-protobuf ; q=1"};
  for (size_t i = 0; i < 5; i++)
    if (ed_query_accept(pb[i], strlen(pb[i])) != ED_QUERY_PROTOBUF) fail_msg("%s", pb[i]);
  const char *js[] = {"", "*/*", "application/json", "application/x-protobuf;q=0",
                      "text/html, application/x-protobufs"};
  for (size_t i = 0; i < 5; i++)
    if (ed_query_accept(js[i], strlen(js[i])) != ED_QUERY_JSON) fail_msg("%s", js[i]);
  assert_int_equal(ed_query_accept(NULL, 0), ED_QUERY_JSON);
  assert_string_equal(ed_query_content_type(ED_QUERY_PROTOBUF), "application/x-protobuf");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(cursor_round_trip),
      cmocka_unit_test(cursor_rejects_malformed),
      cmocka_unit_test_setup_teardown(scan_bad_params, setup, teardown),
      cmocka_unit_test_setup_teardown(merge_whole_table, setup, teardown),
      cmocka_unit_test_setup_teardown(merge_pages_while_changing, setup, teardown),
      cmocka_unit_test_setup_teardown(merge_cursor_row_deleted, setup, teardown),
      cmocka_unit_test_setup_teardown(merge_windowed, setup, teardown),
      cmocka_unit_test_setup_teardown(pb_rows_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(pb_windowed_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(pb_key_and_multi_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(pb_latest_record, setup, teardown),
      cmocka_unit_test_setup_teardown(pb_error_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(keys_parse, setup, teardown),
      cmocka_unit_test(accept_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
