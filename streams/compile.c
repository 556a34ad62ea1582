/* The view compiler: YAML view definitions onto the DSL. */
#include "streams/compile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "streams/dsl_int.h"
#include "streams/expr.h"

/* A compiled view: its expressions and per-thread scratch. All of a
 * view's processors run on its topology's one stream thread. */
typedef struct {
  const ed_view_def_t *def;
  ed_paths_t *paths;
  ed_expr_t *where, *key, *ts;
  ed_expr_t *args[ED_VIEW_MAX_AGGS];
  size_t offset[ED_VIEW_MAX_AGGS]; /* first state column of each aggregate */
  size_t width;                    /* state columns in all */
  int args_read_fields;            /* some aggregate takes an argument */
  ed_value_t *fields;              /* decoded record: one value per path */
  ed_eval_env_t env;
  /* The record decoded last: (topic, partition, offset) of its source. */
  const char *memo_topic;
  int32_t memo_part;
  int64_t memo_off;
  int memo_rc;
  ed_buf_t scratch;                /* expression evaluation */
  ed_buf_t keybuf;                 /* grouping key bytes */
  ed_buf_t arena[ED_VIEW_MAX_AGGS]; /* bytes of each aggregate's new state */
} cview_t;

#define TOMBSTONE 1 /* decode(): a null value of a latest view */

static void cview_free(void *p) {
  cview_t *cv = p;
  ed_paths_destroy(cv->paths);
  ed_expr_destroy(cv->where);
  ed_expr_destroy(cv->key);
  ed_expr_destroy(cv->ts);
  for (size_t i = 0; i < ED_VIEW_MAX_AGGS; i++) {
    ed_expr_destroy(cv->args[i]);
    ed_buf_fini(&cv->arena[i]);
  }
  ed_buf_fini(&cv->scratch);
  ed_buf_fini(&cv->keybuf);
  free(cv->fields);
  free(cv);
}

/* ---- decoding records ---- */

static int decode_fields(cview_t *cv, const ed_record_t *rec, char *why, size_t whylen,
                         const char **reason) {
  const ed_view_def_t *d = cv->def;
  cv->env.timestamp = rec->timestamp;
  cv->env.key.type = rec->key ? ED_V_STRING : ED_V_NULL;
  cv->env.key.v.s.p = rec->key;
  cv->env.key.v.s.len = rec->key_len;
  cv->env.key.v.s.escaped = 0;
  if (rec->value == NULL) {
    if (ed_view_is_latest(d)) return TOMBSTONE;
    *reason = "null value";
    snprintf(why, whylen, "a tombstone; only latest tables take them");
    return ED_EBADREC;
  }
  if (ed_format_decode(d->format, rec->value, rec->value_len, &cv->env.value, why, whylen) !=
      ED_OK) {
    *reason = "bad value";
    return ED_EBADREC;
  }
  if (d->format == ED_FORMAT_JSON) {
    size_t pos;
    if (ed_paths_extract(cv->paths, rec->value, rec->value_len, cv->fields, &pos) != ED_OK) {
      *reason = "invalid json";
      snprintf(why, whylen, "at byte %zu", pos);
      return ED_EBADREC;
    }
  }
  return ED_OK;
}

/* Decodes the current record once for all of the view's processors. */
static int decode(cview_t *cv, ed_pctx_t *ctx, const ed_record_t *rec) {
  const char *topic = ed_pctx_topic(ctx);
  int32_t part = ed_pctx_partition(ctx);
  int64_t off = ed_pctx_offset(ctx);
  if (topic && topic == cv->memo_topic && part == cv->memo_part && off == cv->memo_off)
    return cv->memo_rc;
  char why[256] = "";
  const char *reason = NULL;
  int rc = decode_fields(cv, rec, why, sizeof why, &reason);
  if (rc == ED_EBADREC) ed_pctx_bad_record(ctx, reason, why);
  cv->memo_topic = topic;
  cv->memo_part = part;
  cv->memo_off = off;
  cv->memo_rc = rc;
  return rc;
}

static int eval(cview_t *cv, ed_pctx_t *ctx, const ed_expr_t *e, const char *reason,
                ed_value_t *out) {
  char why[256];
  if (ed_expr_eval(e, &cv->env, &cv->scratch, out, why, sizeof why) == ED_OK) return ED_OK;
  ed_pctx_bad_record(ctx, reason, why);
  return ED_EBADREC;
}

/* ---- timestamps ---- */

static int days_from_civil(int64_t y, int m, int d, int64_t *days) {
  /* Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic
   * Gregorian date. */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *days = era * 146097 + doe - 719468;
  return ED_OK;
}

static int digits(const char *s, size_t len, size_t at, int n, int *out) {
  if (at + (size_t)n > len) return 0;
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = s[at + (size_t)i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return 1;
}

int ed_iso8601_parse(const char *s, size_t len, int64_t *ms) {
  int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
  if (!digits(s, len, 0, 4, &y) || len < 10 || s[4] != '-' || !digits(s, len, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, len, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
    return ED_EINVAL;
  size_t i = 10;
  int64_t offset_min = 0;
  if (i < len) {
    if ((s[i] != 'T' && s[i] != ' ') || !digits(s, len, i + 1, 2, &h) || i + 3 >= len ||
        s[i + 3] != ':' || !digits(s, len, i + 4, 2, &mi))
      return ED_EINVAL;
    i += 6;
    if (i < len && s[i] == ':') {
      if (!digits(s, len, i + 1, 2, &sec)) return ED_EINVAL;
      i += 3;
    }
    if (i < len && (s[i] == '.' || s[i] == ',')) {
      i++;
      int scale = 100, n = 0;
      while (i < len && s[i] >= '0' && s[i] <= '9') {
        frac += scale * (s[i] - '0');
        scale /= 10;
        i++;
        n++;
      }
      if (n == 0) return ED_EINVAL;
    }
    if (i < len && s[i] == 'Z') {
      i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
      int oh, om = 0;
      if (!digits(s, len, i + 1, 2, &oh)) return ED_EINVAL;
      size_t j = i + 3;
      if (j < len && s[j] == ':') j++;
      if (j < len && !digits(s, len, j, 2, &om)) return ED_EINVAL;
      if (j < len) j += 2;
      offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
      i = j;
    }
    if (i != len || h > 23 || mi > 59 || sec > 60) return ED_EINVAL;
  }
  int64_t days;
  days_from_civil(y, mo, d, &days);
  *ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000 + frac;
  return ED_OK;
}

static int extract_timestamp(void *arg, const ed_record_t *rec, int64_t *ts, char *why,
                             size_t whylen) {
  cview_t *cv = arg;
  const char *reason;
  int rc = decode_fields(cv, rec, why, whylen, &reason);
  cv->memo_topic = NULL; /* the processors decode again with their context */
  if (rc == TOMBSTONE) return ED_OK; /* a tombstone keeps the record timestamp */
  if (rc != ED_OK) return rc;
  ed_value_t v;
  if (ed_expr_eval(cv->ts, &cv->env, &cv->scratch, &v, why, whylen) != ED_OK) return ED_EBADREC;
  const char *p;
  size_t len;
  if (v.type == ED_V_INT) {
    *ts = v.v.i;
  } else if (v.type == ED_V_DOUBLE) {
    *ts = (int64_t)v.v.d;
  } else if (v.type == ED_V_STRING && ed_value_string(&v, &cv->scratch, &p, &len) == ED_OK) {
    if (ed_iso8601_parse(p, len, ts) != ED_OK) {
      snprintf(why, whylen, "'%.*s' is not an ISO 8601 time", (int)(len > 64 ? 64 : len), p);
      return ED_EBADREC;
    }
  } else {
    snprintf(why, whylen, "expected epoch ms or an ISO 8601 string, got %s",
             ed_value_type_name(v.type));
    return ED_EBADREC;
  }
  return ED_OK;
}

/* ---- the view's steps ---- */

static int where_pred(void *arg, ed_pctx_t *ctx, const ed_record_t *rec) {
  cview_t *cv = arg;
  int rc = decode(cv, ctx, rec);
  if (rc == TOMBSTONE) return 1; /* tombstones are not filtered */
  ed_value_t v;
  if (rc != ED_OK || eval(cv, ctx, cv->where, "bad where", &v) != ED_OK) return 0;
  if (v.type != ED_V_BOOL) {
    char why[96];
    snprintf(why, sizeof why, "where gave %s, not a bool", ed_value_type_name(v.type));
    ed_pctx_bad_record(ctx, "bad where", why);
    return 0;
  }
  return v.v.b;
}

static int group_key(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void **key,
                     size_t *klen) {
  cview_t *cv = arg;
  int rc = decode(cv, ctx, rec);
  ed_value_t v;
  if (rc == TOMBSTONE) {
    ed_pctx_bad_record(ctx, "null value", "a tombstone has no grouping field");
    return 0;
  }
  if (rc != ED_OK || eval(cv, ctx, cv->key, "bad key", &v) != ED_OK) return 0;
  const char *p;
  if (ed_value_key_bytes(&v, &cv->keybuf, &p, klen) != ED_OK || *klen == 0 || *klen > 511) {
    char why[96];
    snprintf(why, sizeof why, "the key is %s", v.type == ED_V_STRING ? "empty or over 511 bytes"
                                                : ed_value_type_name(v.type));
    ed_pctx_bad_record(ctx, "bad key", why);
    return 0;
  }
  *key = p;
  return 1;
}

static void init_state(const cview_t *cv, ed_col_t *cols) {
  for (size_t i = 0; i < cv->def->naggs; i++) ed_agg_init(cv->def->aggs[i].kind, cols + cv->offset[i]);
}

static int load_state(const cview_t *cv, const void *row, size_t len, ed_col_t *cols) {
  size_t n;
  if (row && ed_row_decode(row, len, cols, ED_ROW_MAX_COLS, &n) == ED_OK && n >= cv->width)
    return ED_OK;
  init_state(cv, cols);
  return row ? ED_EINVAL : ED_OK;
}

static int encode_state(const cview_t *cv, const ed_col_t *cols, ed_buf_t *out) {
  size_t need = ed_row_encoded_size(cols, cv->width);
  if (ed_buf_reserve(out, need) != ED_OK) return ED_ENOMEM;
  out->len += ed_row_encode(cols, cv->width, out->data + out->len, need);
  return ED_OK;
}

static int view_apply(void *arg, ed_pctx_t *ctx, const ed_record_t *rec, const void *old,
                      size_t oldlen, ed_buf_t *out) {
  cview_t *cv = arg;
  const ed_view_def_t *d = cv->def;
  int rc;
  if (cv->key && !cv->args_read_fields && d->format == ED_FORMAT_JSON && rec->value) {
    /* A repartitioned record was validated by the first step, and no
     * aggregate takes an argument: no need to scan it again. */
    cv->env.value.type = ED_V_JSON;
    cv->env.value.v.s.p = rec->value;
    cv->env.value.v.s.len = rec->value_len;
    rc = ED_OK;
  } else {
    rc = decode(cv, ctx, rec);
  }
  if (rc == TOMBSTONE) return ED_ENOTFOUND;
  if (rc != ED_OK) return ED_EBADREC;
  ed_col_t cols[ED_ROW_MAX_COLS];
  load_state(cv, old, oldlen, cols);
  for (size_t i = 0; i < d->naggs; i++) {
    ed_value_t v = cv->env.value;
    if (cv->args[i] && eval(cv, ctx, cv->args[i], "bad aggregate argument", &v) != ED_OK)
      return ED_EBADREC;
    char why[256];
    ed_buf_reset(&cv->arena[i]);
    rc = ed_agg_add(d->aggs[i].kind, cols + cv->offset[i], &v, &cv->arena[i], why, sizeof why);
    if (rc == ED_EBADREC) {
      char detail[320];
      snprintf(detail, sizeof detail, "%s: %s", d->aggs[i].column, why);
      ed_pctx_bad_record(ctx, "bad aggregate argument", detail);
    }
    if (rc != ED_OK) return ED_EBADREC;
  }
  return encode_state(cv, cols, out);
}

static int view_merge(void *arg, const void *a, size_t alen, const void *b, size_t blen,
                      ed_buf_t *out) {
  cview_t *cv = arg;
  ed_col_t x[ED_ROW_MAX_COLS], y[ED_ROW_MAX_COLS];
  if (load_state(cv, a, alen, x) != ED_OK || load_state(cv, b, blen, y) != ED_OK)
    return ED_EINVAL;
  for (size_t i = 0; i < cv->def->naggs; i++) {
    ed_buf_reset(&cv->arena[i]);
    int rc = ed_agg_merge(cv->def->aggs[i].kind, x + cv->offset[i], y + cv->offset[i],
                          &cv->arena[i]);
    if (rc != ED_OK) return rc;
  }
  return encode_state(cv, x, out);
}

static void render_col(const ed_col_t *c, ed_buf_t *out) {
  switch (c->type) {
  case ED_COL_INT: ed_buf_append_i64(out, c->v.i); break;
  case ED_COL_DOUBLE: ed_buf_append_double(out, c->v.d); break;
  case ED_COL_STRING: ed_buf_append_json_string(out, c->v.s.p, c->v.s.len); break;
  case ED_COL_JSON: ed_buf_append(out, c->v.s.p, c->v.s.len); break;
  default: ed_buf_puts(out, "null"); break;
  }
}

/* Output-topic values: the row's columns as a JSON object (a latest
 * table's value as it is), windowed rows wrapped with their bounds. */
static void view_render(void *arg, const void *key, size_t klen, const void *row, size_t len,
                        ed_buf_t *out) {
  cview_t *cv = arg;
  const ed_view_def_t *d = cv->def;
  ed_col_t cols[ED_ROW_MAX_COLS];
  size_t n;
  if (ed_row_decode(row, len, cols, ED_ROW_MAX_COLS, &n) != ED_OK || n < cv->width) {
    ed_buf_puts(out, "null");
    return;
  }
  int64_t start = 0;
  if (d->window.type != ED_WIN_NONE) {
    uint8_t rk[ED_WKEY_MAX];
    size_t rklen;
    ed_wkey_decode(key, klen, rk, sizeof rk, &rklen, &start);
    int64_t end = d->window.type == ED_WIN_SESSION && n > cv->width && cols[cv->width].type == ED_COL_INT
                      ? cols[cv->width].v.i
                      : start + d->window.size;
    ed_buf_printf(out, "{\"start\":%lld,\"end\":%lld,\"value\":", (long long)start, (long long)end);
  }
  if (ed_view_is_latest(d)) {
    render_col(&cols[0], out);
  } else {
    ed_buf_putc(out, '{');
    for (size_t i = 0; i < d->naggs; i++) {
      ed_col_t r;
      ed_agg_result(d->aggs[i].kind, cols + cv->offset[i], &r);
      if (i) ed_buf_putc(out, ',');
      ed_buf_append_json_string(out, d->aggs[i].column, strlen(d->aggs[i].column));
      ed_buf_putc(out, ':');
      render_col(&r, out);
    }
    ed_buf_putc(out, '}');
  }
  if (d->window.type != ED_WIN_NONE) ed_buf_putc(out, '}');
}

/* ---- compiling ---- */

static int parse(cview_t *cv, const char *text, const char *what, ed_expr_t **out, char *err,
                 size_t errlen) {
  if (text == NULL) return ED_OK;
  char perr[256];
  if (ed_expr_parse(text, cv->paths, out, perr, sizeof perr) == ED_OK) return ED_OK;
  snprintf(err, errlen, "view %s: %s: %s", cv->def->name, what, perr);
  return ED_EINVAL;
}

static int compile_exprs(cview_t *cv, char *err, size_t errlen) {
  const ed_view_def_t *d = cv->def;
  int rc = ed_paths_create(&cv->paths);
  if (rc == ED_OK) rc = parse(cv, d->where, "where", &cv->where, err, errlen);
  if (rc == ED_OK) rc = parse(cv, d->key, "key", &cv->key, err, errlen);
  if (rc == ED_OK) rc = parse(cv, d->timestamp, "timestamp", &cv->ts, err, errlen);
  for (size_t i = 0; rc == ED_OK && i < d->naggs; i++) {
    cv->offset[i] = cv->width;
    cv->width += ed_agg_state_width(d->aggs[i].kind);
    if (!ed_agg_takes_arg(d->aggs[i].kind)) continue;
    cv->args_read_fields = 1;
    rc = parse(cv, d->aggs[i].arg, d->aggs[i].column, &cv->args[i], err, errlen);
  }
  if (rc != ED_OK) return rc;
  if (cv->width == 0 || cv->width >= ED_ROW_MAX_COLS) {
    snprintf(err, errlen, "view %s: needs 1..%d state columns", d->name, ED_ROW_MAX_COLS - 2);
    return ED_EINVAL;
  }
  if (ed_paths_count(cv->paths) > 0 && d->format != ED_FORMAT_JSON) {
    snprintf(err, errlen, "view %s: field paths need format: json", d->name);
    return ED_EINVAL;
  }
  cv->fields = calloc(ed_paths_count(cv->paths) + 1, sizeof *cv->fields);
  cv->env.fields = cv->fields;
  return cv->fields ? ED_OK : ED_ENOMEM;
}

int ed_view_compile(const ed_view_def_t *def, const char *app, ed_topology_t **out, char *err,
                    size_t errlen) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", app, def->name);
  ed_dsl_t *b;
  int rc = ed_dsl_create(name, &b);
  if (rc != ED_OK) return rc;
  cview_t *cv = calloc(1, sizeof *cv);
  if (cv == NULL || ed__topology_own_fn(b->t, cv, cview_free) != ED_OK) {
    ed_dsl_destroy(b);
    return ED_ENOMEM;
  }
  cv->def = def;
  rc = compile_exprs(cv, err, errlen);
  if (rc != ED_OK) {
    ed_dsl_destroy(b);
    return rc;
  }
  ed_kstream_t *s = ed_dsl_stream(b, def->from, cv->ts ? extract_timestamp : NULL, cv);
  if (cv->where) s = ed_kstream_filter(s, where_pred, cv);
  ed_kgrouped_t *g = cv->key ? ed_kstream_group_by(s, group_key, cv) : ed_kstream_group_by_key(s);
  if (def->window.type != ED_WIN_NONE) g = ed_kgrouped_windowed_by(g, &def->window);
  ed_aggregator_t agg = {view_apply, view_merge, view_render, cv};
  ed_ktable_t *t = ed_kgrouped_aggregate(g, def->name, &agg, def);
  ed_ktable_fingerprint(t, ed_view_fingerprint(def));
  if (def->to) ed_ktable_to(t, def->to);
  rc = ed_dsl_build(b, out, err, errlen);
  ed_dsl_destroy(b);
  return rc;
}

size_t ed_view_internal_topics(const ed_view_def_t *def, const char *app, char (*topics)[512],
                               size_t max) {
  size_t n = 0;
  if (def->key && n < max) snprintf(topics[n++], 512, "%s.%s.repartition", app, def->name);
  if (n < max) snprintf(topics[n++], 512, "%s.%s.changelog", app, def->name);
  if (def->to && n < max) snprintf(topics[n++], 512, "%s", def->to);
  if (def->on_error == ED_ON_ERROR_DEAD_LETTER && n < max)
    snprintf(topics[n++], 512, "%s.%s.dead_letter", app, def->name);
  return n;
}
