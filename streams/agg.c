/* Aggregate functions: init, add, merge and result for each kind. The
 * count_distinct sketch lives in distinct.c. */
#include "streams/agg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "streams/agg_int.h"

static const char *const kind_names[] = {
    [ED_AGG_COUNT] = "count",   [ED_AGG_SUM] = "sum", [ED_AGG_MIN] = "min",
    [ED_AGG_MAX] = "max",       [ED_AGG_AVG] = "avg", [ED_AGG_COUNT_DISTINCT] = "count_distinct",
    [ED_AGG_LATEST] = "latest",
};
#define NKINDS (sizeof kind_names / sizeof kind_names[0])

const char *ed_agg_kind_name(ed_agg_kind_t k) {
  return (size_t)k < NKINDS ? kind_names[k] : "unknown";
}

int ed_agg_kind_parse(const char *name, size_t len, ed_agg_kind_t *out) {
  for (size_t i = 0; i < NKINDS; i++) {
    if (strlen(kind_names[i]) == len && strncasecmp(kind_names[i], name, len) == 0) {
      *out = (ed_agg_kind_t)i;
      return ED_OK;
    }
  }
  return ED_EINVAL;
}

int ed_agg_takes_arg(ed_agg_kind_t k) { return k != ED_AGG_COUNT && k != ED_AGG_LATEST; }

size_t ed_agg_state_width(ed_agg_kind_t k) { return k == ED_AGG_AVG ? 2 : 1; }

const char *ed_agg_result_type(ed_agg_kind_t k) {
  switch (k) {
  case ED_AGG_COUNT:
  case ED_AGG_COUNT_DISTINCT: return "int";
  case ED_AGG_SUM: return "number";
  case ED_AGG_AVG: return "double";
  default: return "any";
  }
}

void ed_agg_init(ed_agg_kind_t k, ed_col_t *state) {
  switch (k) {
  case ED_AGG_COUNT:
  case ED_AGG_SUM: state[0] = (ed_col_t){.type = ED_COL_INT, .v.i = 0}; break;
  case ED_AGG_AVG:
    state[0] = (ed_col_t){.type = ED_COL_INT, .v.i = 0};
    state[1] = (ed_col_t){.type = ED_COL_INT, .v.i = 0};
    break;
  case ED_AGG_COUNT_DISTINCT: ed__distinct_init(&state[0]); break;
  default: /* min, max, latest */ state[0] = (ed_col_t){.type = ED_COL_NULL}; break;
  }
}

/* ---- helpers ---- */

int ed__agg_arena_take(ed_buf_t *arena, size_t n, const char **keep, size_t nkeep,
                       unsigned char **out) {
  size_t off[2] = {0, 0};
  int in[2] = {0, 0};
  if (nkeep > 2) return ED_EINVAL;
  uintptr_t base = (uintptr_t)arena->data, end = base + arena->len;
  for (size_t i = 0; i < nkeep; i++) {
    uintptr_t q = (uintptr_t)keep[i];
    if (arena->data && keep[i] && q >= base && q < end) {
      in[i] = 1;
      off[i] = (size_t)(q - base);
    }
  }
  if (ed_buf_reserve(arena, n) != ED_OK) return ED_ENOMEM;
  for (size_t i = 0; i < nkeep; i++)
    if (in[i]) keep[i] = arena->data + off[i];
  *out = (unsigned char *)arena->data + arena->len;
  arena->len += n;
  arena->data[arena->len] = '\0';
  return ED_OK;
}

/* Copies @p len bytes into the arena as a column of @p type. */
static int arena_col(ed_buf_t *arena, ed_col_type_t type, const char *p, size_t len,
                     ed_col_t *out) {
  if (len > UINT32_MAX) return ED_ENOMEM;
  unsigned char *dst;
  const char *keep = p;
  if (ed__agg_arena_take(arena, len, &keep, 1, &dst) != ED_OK) return ED_ENOMEM;
  if (len) memcpy(dst, keep, len);
  out->type = type;
  out->v.s.p = (const char *)dst;
  out->v.s.len = (uint32_t)len;
  return ED_OK;
}

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t whylen, const char *fmt,
                                                     ...) {
  if (why && whylen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return ED_EBADREC;
}

static const char *vtype_name(ed_vtype_t t) {
  switch (t) {
  case ED_V_MISSING: return "missing";
  case ED_V_NULL: return "null";
  case ED_V_BOOL: return "bool";
  case ED_V_INT: return "int";
  case ED_V_DOUBLE: return "double";
  case ED_V_STRING: return "string";
  default: return "object or array";
  }
}

/* A string value's bytes; escaped ones are unescaped into @p scratch. */
static int str_bytes(const ed_value_t *v, ed_buf_t *scratch, const char **p, size_t *len) {
  if (!v->v.s.escaped) {
    *p = v->v.s.p;
    *len = v->v.s.len;
    return ED_OK;
  }
  int rc = ed_value_string(v, scratch, p, len);
  if (rc == ED_OK && ed_buf_failed(scratch)) rc = ED_ENOMEM;
  return rc;
}

/* A number, int or double. */
typedef struct {
  int is_int;
  int64_t i;
  double d;
} num_t;

static int col_is_num(const ed_col_t *c) {
  return c->type == ED_COL_INT || c->type == ED_COL_DOUBLE;
}
static num_t col_num(const ed_col_t *c) {
  return c->type == ED_COL_INT ? (num_t){1, c->v.i, 0} : (num_t){0, 0, c->v.d};
}
static num_t val_num(const ed_value_t *v) {
  return v->type == ED_V_INT ? (num_t){1, v->v.i, 0} : (num_t){0, 0, v->v.d};
}
static ed_col_t num_col(num_t n) {
  return n.is_int ? (ed_col_t){.type = ED_COL_INT, .v.i = n.i}
                  : (ed_col_t){.type = ED_COL_DOUBLE, .v.d = n.d};
}

/* Exact comparison of an int with a double: -1, 0, 1 (NaN compares equal). */
static int cmp_int_double(int64_t i, double d) {
  if (d != d) return 0;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  int64_t t = (int64_t)d; /* truncates toward zero; exact as a double */
  if (i != t) return i < t ? -1 : 1;
  double frac = d - (double)t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int num_cmp(num_t a, num_t b) {
  if (a.is_int && b.is_int) return (a.i > b.i) - (a.i < b.i);
  if (a.is_int) return cmp_int_double(a.i, b.d);
  if (b.is_int) return -cmp_int_double(b.i, a.d);
  return (a.d > b.d) - (a.d < b.d);
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return (alen > blen) - (alen < blen);
}

/* sum += n: exact while both are ints and nothing overflows. */
static void sum_add(ed_col_t *s, num_t n) {
  if (s->type == ED_COL_INT && n.is_int) {
    int64_t r;
    if (!__builtin_add_overflow(s->v.i, n.i, &r)) {
      s->v.i = r;
      return;
    }
  }
  double x = s->type == ED_COL_INT ? (double)s->v.i : s->type == ED_COL_DOUBLE ? s->v.d : 0;
  double y = n.is_int ? (double)n.i : n.d;
  s->type = ED_COL_DOUBLE;
  s->v.d = x + y;
}

static void count_add(ed_col_t *c, int64_t n) {
  int64_t cur = c->type == ED_COL_INT ? c->v.i : 0, r;
  if (__builtin_add_overflow(cur, n, &r)) r = INT64_MAX;
  c->type = ED_COL_INT;
  c->v.i = r;
}

/* Hash of a value for count_distinct: numbers equal when numerically equal. */
static uint64_t value_hash(const ed_value_t *v, const char *s, size_t slen) {
  switch (v->type) {
  case ED_V_INT:
  case ED_V_DOUBLE: {
    int64_t i;
    if (v->type == ED_V_INT) {
      i = v->v.i;
    } else {
      double d = v->v.d;
      if (d != d) return ed__hash64("nan", 3, 'd');
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || (double)(int64_t)d != d)
        return ed__hash64(&d, sizeof d, 'd');
      i = (int64_t)d; /* integral: hashes as the int (also folds -0.0 into 0) */
    }
    unsigned char b[8];
    for (int k = 0; k < 8; k++)
      b[k] = (unsigned char)((uint64_t)i >> (8 * k));
    return ed__hash64(b, sizeof b, 'n');
  }
  case ED_V_BOOL: {
    unsigned char b = v->v.b ? 1 : 0;
    return ed__hash64(&b, 1, 'b');
  }
  case ED_V_STRING: return ed__hash64(s, slen, 's');
  default: /* JSON */ return ed__hash64(v->v.s.p, v->v.s.len, 'j');
  }
}

/* ---- add ---- */

static int minmax_add(int want, ed_col_t *st, const ed_value_t *arg, ed_buf_t *arena,
                      const char *fn, char *why, size_t whylen) {
  if (arg->type == ED_V_INT || arg->type == ED_V_DOUBLE) {
    if (st->type == ED_COL_STRING)
      return bad(why, whylen, "%s() mixes numbers and strings: got %s after strings", fn,
                 vtype_name(arg->type));
    num_t n = val_num(arg);
    if (!col_is_num(st) || num_cmp(n, col_num(st)) == want) *st = num_col(n);
    return ED_OK;
  }
  if (arg->type != ED_V_STRING)
    return bad(why, whylen, "%s() needs a number or a string, got %s", fn, vtype_name(arg->type));
  if (col_is_num(st))
    return bad(why, whylen, "%s() mixes numbers and strings: got a string after numbers", fn);
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  const char *p;
  size_t len;
  int rc = str_bytes(arg, &scratch, &p, &len);
  if (rc == ED_EINVAL) rc = bad(why, whylen, "%s(): badly escaped string", fn);
  if (rc == ED_OK &&
      (st->type != ED_COL_STRING || bytes_cmp(p, len, st->v.s.p, st->v.s.len) == want)) {
    ed_col_t c;
    rc = arena_col(arena, ED_COL_STRING, p, len, &c);
    if (rc == ED_OK) *st = c;
  }
  ed_buf_fini(&scratch);
  return rc;
}

static int latest_add(ed_col_t *st, const ed_value_t *arg, ed_buf_t *arena, char *why,
                      size_t whylen) {
  switch (arg->type) {
  case ED_V_INT: *st = (ed_col_t){.type = ED_COL_INT, .v.i = arg->v.i}; return ED_OK;
  case ED_V_DOUBLE: *st = (ed_col_t){.type = ED_COL_DOUBLE, .v.d = arg->v.d}; return ED_OK;
  case ED_V_NULL: *st = (ed_col_t){.type = ED_COL_NULL}; return ED_OK;
  case ED_V_BOOL:
    *st = (ed_col_t){.type = ED_COL_JSON};
    st->v.s.p = arg->v.b ? "true" : "false";
    st->v.s.len = arg->v.b ? 4 : 5;
    return ED_OK;
  case ED_V_JSON: {
    ed_col_t c;
    if (arena_col(arena, ED_COL_JSON, arg->v.s.p, arg->v.s.len, &c) != ED_OK) return ED_ENOMEM;
    *st = c;
    return ED_OK;
  }
  case ED_V_STRING: {
    ed_buf_t scratch;
    ed_buf_init(&scratch);
    const char *p;
    size_t len;
    ed_col_t c;
    int rc = str_bytes(arg, &scratch, &p, &len);
    if (rc == ED_EINVAL) rc = bad(why, whylen, "latest: badly escaped string");
    if (rc == ED_OK) rc = arena_col(arena, ED_COL_STRING, p, len, &c);
    if (rc == ED_OK) *st = c;
    ed_buf_fini(&scratch);
    return rc;
  }
  default: return bad(why, whylen, "latest: the record has no value");
  }
}

static int distinct_add(ed_col_t *st, const ed_value_t *arg, ed_buf_t *arena, char *why,
                        size_t whylen) {
  if (arg->type == ED_V_NULL) return ED_OK;
  if (arg->type == ED_V_MISSING) return bad(why, whylen, "count_distinct() of a missing value");
  const char *p = NULL;
  size_t len = 0;
  ed_buf_t scratch;
  ed_buf_init(&scratch);
  int rc = ED_OK;
  if (arg->type == ED_V_STRING) {
    rc = str_bytes(arg, &scratch, &p, &len);
    if (rc == ED_EINVAL) rc = bad(why, whylen, "count_distinct(): badly escaped string");
  }
  if (rc == ED_OK) rc = ed__distinct_add(st, value_hash(arg, p, len), arena);
  ed_buf_fini(&scratch);
  return rc;
}

int ed_agg_add(ed_agg_kind_t k, ed_col_t *state, const ed_value_t *arg, ed_buf_t *arena, char *why,
               size_t whylen) {
  if (why && whylen) why[0] = '\0';
  switch (k) {
  case ED_AGG_COUNT: count_add(&state[0], 1); return ED_OK;
  case ED_AGG_SUM:
  case ED_AGG_AVG:
    if (arg->type != ED_V_INT && arg->type != ED_V_DOUBLE)
      return bad(why, whylen, "%s() needs a number, got %s", ed_agg_kind_name(k),
                 vtype_name(arg->type));
    sum_add(&state[0], val_num(arg));
    if (k == ED_AGG_AVG) count_add(&state[1], 1);
    return ED_OK;
  case ED_AGG_MIN: return minmax_add(-1, &state[0], arg, arena, "min", why, whylen);
  case ED_AGG_MAX: return minmax_add(1, &state[0], arg, arena, "max", why, whylen);
  case ED_AGG_COUNT_DISTINCT: return distinct_add(&state[0], arg, arena, why, whylen);
  case ED_AGG_LATEST: return latest_add(&state[0], arg, arena, why, whylen);
  }
  return ED_EINVAL;
}

size_t ed_agg_add_arena_need(ed_agg_kind_t k, const ed_value_t *arg) {
  switch (k) {
  case ED_AGG_COUNT_DISTINCT: return ED__DISTINCT_MAX_BYTES;
  case ED_AGG_MIN:
  case ED_AGG_MAX:
  case ED_AGG_LATEST:
    /* unescaping never makes a JSON string longer */
    return arg && (arg->type == ED_V_STRING || arg->type == ED_V_JSON) ? arg->v.s.len : 0;
  default: return 0;
  }
}

/* ---- merge ---- */

static int col_has_bytes(const ed_col_t *c) {
  return c->type == ED_COL_STRING || c->type == ED_COL_BYTES || c->type == ED_COL_JSON;
}

/* *into = *from, copying from's bytes into the arena. */
static int copy_col(ed_col_t *into, const ed_col_t *from, ed_buf_t *arena) {
  if (!col_has_bytes(from)) {
    *into = *from;
    return ED_OK;
  }
  ed_col_t c;
  if (arena_col(arena, from->type, from->v.s.p, from->v.s.len, &c) != ED_OK) return ED_ENOMEM;
  *into = c;
  return ED_OK;
}

static int minmax_merge(int want, ed_col_t *into, const ed_col_t *from, ed_buf_t *arena) {
  if (from->type == ED_COL_NULL) return ED_OK;
  if (into->type == ED_COL_NULL) return copy_col(into, from, arena);
  if (col_is_num(into) && col_is_num(from)) {
    if (num_cmp(col_num(from), col_num(into)) == want) *into = *from;
    return ED_OK;
  }
  if (into->type == ED_COL_STRING && from->type == ED_COL_STRING) {
    if (bytes_cmp(from->v.s.p, from->v.s.len, into->v.s.p, into->v.s.len) == want)
      return copy_col(into, from, arena);
    return ED_OK;
  }
  return ED_EBADREC;
}

int ed_agg_merge(ed_agg_kind_t k, ed_col_t *into, const ed_col_t *from, ed_buf_t *arena) {
  switch (k) {
  case ED_AGG_COUNT:
    count_add(&into[0], from[0].type == ED_COL_INT ? from[0].v.i : 0);
    return ED_OK;
  case ED_AGG_SUM:
  case ED_AGG_AVG:
    if (col_is_num(&from[0])) sum_add(&into[0], col_num(&from[0]));
    if (k == ED_AGG_AVG) count_add(&into[1], from[1].type == ED_COL_INT ? from[1].v.i : 0);
    return ED_OK;
  case ED_AGG_MIN: return minmax_merge(-1, &into[0], &from[0], arena);
  case ED_AGG_MAX: return minmax_merge(1, &into[0], &from[0], arena);
  case ED_AGG_COUNT_DISTINCT: return ed__distinct_merge(&into[0], &from[0], arena);
  case ED_AGG_LATEST: return copy_col(&into[0], &from[0], arena);
  }
  return ED_EINVAL;
}

size_t ed_agg_merge_arena_need(ed_agg_kind_t k, const ed_col_t *from) {
  size_t n = from && col_has_bytes(&from[0]) ? from[0].v.s.len : 0;
  switch (k) {
  case ED_AGG_COUNT_DISTINCT: return ED__DISTINCT_MAX_BYTES;
  case ED_AGG_MIN:
  case ED_AGG_MAX:
  case ED_AGG_LATEST: return n;
  default: return 0;
  }
}

/* ---- result ---- */

void ed_agg_result(ed_agg_kind_t k, const ed_col_t *state, ed_col_t *out) {
  switch (k) {
  case ED_AGG_AVG: {
    int64_t n = state[1].type == ED_COL_INT ? state[1].v.i : 0;
    if (n <= 0 || !col_is_num(&state[0])) {
      *out = (ed_col_t){.type = ED_COL_NULL};
      return;
    }
    double s = state[0].type == ED_COL_INT ? (double)state[0].v.i : state[0].v.d;
    *out = (ed_col_t){.type = ED_COL_DOUBLE, .v.d = s / (double)n};
    return;
  }
  case ED_AGG_COUNT_DISTINCT:
    *out = (ed_col_t){.type = ED_COL_INT, .v.i = ed__distinct_count(&state[0])};
    return;
  default: *out = state[0]; return;
  }
}
