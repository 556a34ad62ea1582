/* The aggregate processor of the DSL: folds records into a store by key,
 * by (key, time window) or by (key, session). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/row.h"
#include "streams/dsl_int.h"

#define ED_MAX_SESSIONS 4096 /* retained sessions per key */

typedef struct {
  const ed__dsl_agg_conf_t *conf;
  ed_kvstore_t *store;
  ed_buf_t out;  /* the new state */
  ed_buf_t tmp;  /* sessions: the merged state */
  ed_buf_t rec;  /* sessions: the record's own state */
  ed_buf_t row;  /* sessions: one stored session's state */
} agg_state_t;

static int agg_init(ed_pctx_t *ctx, void *arg, void **state) {
  const ed__dsl_agg_conf_t *conf = arg;
  agg_state_t *s = calloc(1, sizeof *s);
  if (s == NULL) return ED_ENOMEM;
  s->conf = conf;
  s->store = ed_pctx_store(ctx, conf->store);
  ed_buf_init(&s->out);
  ed_buf_init(&s->tmp);
  ed_buf_init(&s->rec);
  ed_buf_init(&s->row);
  if (s->store == NULL) {
    free(s);
    return ED_ESTATE;
  }
  *state = s;
  return ED_OK;
}

static void agg_close(ed_pctx_t *ctx, void *state) {
  (void)ctx;
  agg_state_t *s = state;
  ed_buf_fini(&s->out);
  ed_buf_fini(&s->tmp);
  ed_buf_fini(&s->rec);
  ed_buf_fini(&s->row);
  free(s);
}

/* Applies @p rec to the row at @p key: returns 1 if the row changed. */
static int update(agg_state_t *s, ed_pctx_t *ctx, const ed_record_t *rec, const void *key,
                  size_t klen, int64_t expire_at) {
  const void *old = NULL;
  size_t oldlen = 0;
  if (ed_kvstore_get(s->store, key, klen, &old, &oldlen) != ED_OK) old = NULL;
  ed_buf_reset(&s->out);
  int rc = s->conf->agg.apply(s->conf->agg.arg, ctx, rec, old, oldlen, &s->out);
  if (rc == ED_ENOTFOUND) return ed_kvstore_delete(s->store, key, klen, expire_at) == ED_OK;
  if (rc != ED_OK || ed_buf_failed(&s->out)) return 0;
  return ed_kvstore_put(s->store, key, klen, s->out.data, s->out.len, expire_at) == ED_OK;
}

static void process_kv(agg_state_t *s, ed_pctx_t *ctx, const ed_record_t *rec) {
  update(s, ctx, rec, rec->key, rec->key_len, 0);
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void process_windows(agg_state_t *s, ed_pctx_t *ctx, const ed_record_t *rec) {
  const ed_window_spec_t *w = &s->conf->window;
  int64_t ts = rec->timestamp, now = ed_pctx_stream_time(ctx);
  /* Every epoch-aligned start with start <= ts < start + size. */
  int64_t first = (floor_div(ts - w->size, w->advance) + 1) * w->advance;
  int64_t last = floor_div(ts, w->advance) * w->advance;
  size_t n = 0, late = 0;
  for (int64_t start = first; start <= last; start += w->advance) {
    n++;
    if (ed_window_is_late(w, start + w->size, now)) {
      late++;
      continue;
    }
    uint8_t key[ED_WKEY_MAX];
    size_t klen = ed_wkey_encode(rec->key, rec->key_len, start, key, sizeof key);
    if (klen == 0) {
      ed_pctx_bad_record(ctx, "key too long", "over 490 bytes for a windowed view");
      return;
    }
    update(s, ctx, rec, key, klen, ed_window_expire_at(w, start, start + w->size));
  }
  if (n > 0 && late == n) ed_pctx_late_record(ctx);
}

/* ---- sessions ----
 * A session row is the aggregator's state (an encoded row, store/row.h)
 * with one more INT column: the session's end. A key's sessions are kept
 * as a memo list (start, end) in the cache, rebuilt from committed rows. */

static int add_end_column(const void *state, size_t len, int64_t end, ed_buf_t *out) {
  const uint8_t *p = state;
  if (len < 2 || p[1] == 255) return ED_EINVAL;
  ed_buf_reset(out);
  ed_buf_append(out, state, len);
  uint8_t col[9] = {ED_COL_INT};
  for (int i = 0; i < 8; i++) col[1 + i] = (uint8_t)((uint64_t)end >> (8 * i));
  ed_buf_append(out, col, sizeof col);
  if (ed_buf_failed(out)) return ED_ENOMEM;
  out->data[1]++; /* one more column */
  return ED_OK;
}

/* The state part of a session row (without the end column), in @p out. */
static int strip_end_column(const void *row, size_t len, ed_buf_t *out) {
  if (len < 11) return ED_EINVAL;
  ed_buf_reset(out);
  ed_buf_append(out, row, len - 9);
  if (ed_buf_failed(out)) return ED_ENOMEM;
  out->data[1]--;
  return ED_OK;
}

typedef struct {
  ed_session_t list[ED_MAX_SESSIONS];
  size_t n;
} session_list_t;

static int collect_session(void *arg, const void *key, size_t klen, const void *val,
                           size_t vlen) {
  session_list_t *l = arg;
  uint8_t rk[ED_WKEY_MAX];
  size_t rklen;
  int64_t start;
  if (l->n == ED_MAX_SESSIONS || vlen < 11 ||
      ed_wkey_decode(key, klen, rk, sizeof rk, &rklen, &start) != ED_OK)
    return l->n == ED_MAX_SESSIONS;
  const uint8_t *e = (const uint8_t *)val + vlen - 8;
  uint64_t end = 0;
  for (int i = 7; i >= 0; i--) end = end << 8 | e[i];
  l->list[l->n++] = (ed_session_t){start, (int64_t)end};
  return 0;
}

static int load_sessions(agg_state_t *s, const ed_record_t *rec, session_list_t *l) {
  const void *v;
  size_t vlen;
  l->n = 0;
  if (ed_kvstore_memo_get(s->store, rec->key, rec->key_len, &v, &vlen) == ED_OK) {
    l->n = vlen / sizeof(ed_session_t);
    memcpy(l->list, v, l->n * sizeof(ed_session_t));
    return ED_OK;
  }
  uint8_t prefix[ED_WKEY_MAX];
  size_t plen = ed_wkey_prefix(rec->key, rec->key_len, prefix, sizeof prefix);
  if (plen == 0) return ED_EINVAL;
  return ed_kvstore_scan(s->store, prefix, plen, collect_session, l);
}

static void process_session(agg_state_t *s, ed_pctx_t *ctx, const ed_record_t *rec) {
  const ed_window_spec_t *w = &s->conf->window;
  /* Too big for the stack of a stream thread: kept with the processor. */
  static _Thread_local session_list_t l;
  if (load_sessions(s, rec, &l) != ED_OK) {
    ed_pctx_bad_record(ctx, "key too long", "over 490 bytes for a windowed view");
    return;
  }
  size_t first, count;
  ed_session_t merged;
  ed_session_place(l.list, l.n, rec->timestamp, w->gap, &first, &count, &merged);
  if (ed_window_is_late(w, merged.end, ed_pctx_stream_time(ctx))) {
    ed_pctx_late_record(ctx);
    return;
  }
  /* The record's own state first: a bad record changes nothing. */
  ed_buf_reset(&s->rec);
  if (s->conf->agg.apply(s->conf->agg.arg, ctx, rec, NULL, 0, &s->rec) != ED_OK ||
      ed_buf_failed(&s->rec))
    return;
  /* Fold the sessions being merged and the record into one state, deleting
   * the merged sessions' rows. */
  ed_buf_t *acc = &s->tmp;
  ed_buf_reset(acc);
  ed_buf_append(acc, s->rec.data, s->rec.len);
  uint8_t key[ED_WKEY_MAX];
  for (size_t i = first; i < first + count; i++) {
    size_t klen = ed_wkey_encode(rec->key, rec->key_len, l.list[i].start, key, sizeof key);
    const void *row;
    size_t rlen;
    if (ed_kvstore_get(s->store, key, klen, &row, &rlen) == ED_OK &&
        strip_end_column(row, rlen, &s->row) == ED_OK) {
      ed_buf_reset(&s->out);
      /* Older sessions first, so "latest" keeps the later state. */
      int later = l.list[i].start > rec->timestamp;
      int rc = later ? s->conf->agg.merge(s->conf->agg.arg, acc->data, acc->len, s->row.data,
                                          s->row.len, &s->out)
                     : s->conf->agg.merge(s->conf->agg.arg, s->row.data, s->row.len, acc->data,
                                          acc->len, &s->out);
      if (rc == ED_OK && !ed_buf_failed(&s->out)) {
        ed_buf_reset(acc);
        ed_buf_append(acc, s->out.data, s->out.len);
      }
    }
    ed_kvstore_delete(s->store, key, klen, ed_window_expire_at(w, l.list[i].start, l.list[i].end));
  }
  ed_buf_reset(&s->out);
  ed_buf_append(&s->out, acc->data, acc->len);
  size_t klen = ed_wkey_encode(rec->key, rec->key_len, merged.start, key, sizeof key);
  if (add_end_column(s->out.data, s->out.len, merged.end, acc) != ED_OK) return;
  ed_kvstore_put(s->store, key, klen, acc->data, acc->len,
                 ed_window_expire_at(w, merged.start, merged.end));
  /* The new list: the merged run replaced by one session. */
  memmove(&l.list[first + 1], &l.list[first + count], (l.n - first - count) * sizeof l.list[0]);
  l.list[first] = merged;
  l.n = l.n - count + 1;
  if (l.n > ED_MAX_SESSIONS) l.n = ED_MAX_SESSIONS;
  ed_kvstore_memo_put(s->store, rec->key, rec->key_len, l.list, l.n * sizeof l.list[0]);
}

static void agg_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  agg_state_t *s = state;
  if (rec->key == NULL) {
    ed_pctx_bad_record(ctx, "null key", NULL);
    return;
  }
  if (rec->key_len == 0 || rec->key_len > 511) {
    ed_pctx_bad_record(ctx, "bad key", rec->key_len ? "over 511 bytes" : "empty");
    return;
  }
  switch (s->conf->window.type) {
  case ED_WIN_NONE: process_kv(s, ctx, rec); break;
  case ED_WIN_TUMBLING:
  case ED_WIN_HOPPING: process_windows(s, ctx, rec); break;
  case ED_WIN_SESSION: process_session(s, ctx, rec); break;
  }
}

const ed_processor_fns_t ed__dsl_aggregate_fns = {agg_init, agg_process, NULL, agg_close};

/* ---- count ---- */

static int count_apply(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void *old,
                       size_t oldlen, ed_buf_t *out) {
  (void)arg;
  (void)ctx;
  (void)rec;
  ed_col_t c = {.type = ED_COL_INT};
  size_t n;
  if (old && (ed_row_decode(old, oldlen, &c, 1, &n) != ED_OK || c.type != ED_COL_INT)) c.v.i = 0;
  c.v.i++;
  uint8_t buf[16];
  ed_buf_append(out, buf, ed_row_encode(&c, 1, buf, sizeof buf));
  return ED_OK;
}

static int count_merge(void *arg, const void *a, size_t alen, const void *b, size_t blen,
                       ed_buf_t *out) {
  (void)arg;
  ed_col_t x, y;
  size_t n;
  if (ed_row_decode(a, alen, &x, 1, &n) != ED_OK || ed_row_decode(b, blen, &y, 1, &n) != ED_OK)
    return ED_EINVAL;
  x.v.i += y.v.i;
  uint8_t buf[16];
  ed_buf_append(out, buf, ed_row_encode(&x, 1, buf, sizeof buf));
  return ED_OK;
}

static void count_render(void *arg, const void *key, size_t klen, const void *row, size_t len,
                         ed_buf_t *out) {
  (void)arg;
  (void)key;
  (void)klen;
  ed_col_t c;
  size_t n;
  ed_buf_puts(out, "{\"count\":");
  if (ed_row_decode(row, len, &c, 1, &n) == ED_OK && c.type == ED_COL_INT)
    ed_buf_append_i64(out, c.v.i);
  else
    ed_buf_puts(out, "null");
  ed_buf_putc(out, '}');
}

const ed_aggregator_t ed__dsl_count_aggregator = {count_apply, count_merge, count_render, NULL};
