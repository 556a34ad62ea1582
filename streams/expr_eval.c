/* Evaluation of parsed expressions over one record. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "streams/expr_int.h"

typedef struct {
  const ed_expr_t *e;
  const ed_eval_env_t *env;
  ed_buf_t *scratch;
  char *why;
  size_t whylen;
} eval_t;

static void say(eval_t *E, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(eval_t *E, const char *fmt, ...) {
  if (E->why == NULL || E->whylen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(E->why, E->whylen, fmt, ap);
  va_end(ap);
}

/* The field a node reads ("a.b", "$key"), or NULL if it is not a field. */
static const char *field_name(const ed_expr_t *e, uint32_t n) {
  const ed__node_t *nd = &e->nodes[n];
  switch (nd->kind) {
  case ED__N_PATH: return ed_paths_name(e->paths, nd->path);
  case ED__N_KEY: return "$key";
  case ED__N_VALUE: return "$value";
  case ED__N_TS: return "$timestamp";
  default: return NULL;
  }
}

/* " (field 'x')" for the first of @p a, @p b that reads a field, or "". */
static void field_note(const ed_expr_t *e, uint32_t a, uint32_t b, int has_b, char *buf,
                       size_t len) {
  const char *f = field_name(e, a);
  if (f == NULL && has_b) f = field_name(e, b);
  if (f)
    snprintf(buf, len, " (field '%s')", f);
  else
    buf[0] = '\0';
}

/* Appends the unescaped bytes of string @p v to @p b; *off gets where. */
static int append_unescaped(ed_buf_t *b, const ed_value_t *v, size_t *off) {
  if (ed_buf_reserve(b, v->v.s.len) != ED_OK) return ED_ENOMEM;
  ed_json_val_t jv = {ED_JSON_STRING, v->v.s.p, v->v.s.len};
  long n = ed_json_unescape(&jv, b->data + b->len, b->cap - b->len);
  if (n < 0) return ED_ENOMEM;
  *off = b->len;
  b->len += (size_t)n;
  b->data[b->len] = '\0';
  return ED_OK;
}

static int needs_unescape(const ed_value_t *v) {
  return v->v.s.escaped && memchr(v->v.s.p, '\\', v->v.s.len) != NULL;
}

/* Byte order of two strings: <0, 0, >0. */
static int compare_strings(eval_t *E, const ed_value_t *a, const ed_value_t *b, int *res) {
  const char *pa = a->v.s.p, *pb = b->v.s.p;
  size_t la = a->v.s.len, lb = b->v.s.len;
  int ua = needs_unescape(a), ub = needs_unescape(b);
  if (ua || ub) {
    size_t oa = 0, ob = 0;
    ed_buf_reset(E->scratch);
    if (ua && append_unescaped(E->scratch, a, &oa) != ED_OK) return ED_ENOMEM;
    size_t mid = E->scratch->len;
    if (ub && append_unescaped(E->scratch, b, &ob) != ED_OK) return ED_ENOMEM;
    /* Pointers only now: the appends may have moved the buffer. */
    if (ua) pa = E->scratch->data + oa, la = mid - oa;
    if (ub) pb = E->scratch->data + ob, lb = E->scratch->len - ob;
  }
  size_t m = la < lb ? la : lb;
  int c = m ? memcmp(pa, pb, m) : 0;
  if (c == 0) c = la < lb ? -1 : la > lb ? 1 : 0;
  *res = c;
  return ED_OK;
}

/* Exact order of an int and a double: <0, 0, >0 (d not NaN). */
static int compare_int_double(int64_t i, double d) {
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  double t = trunc(d);
  int64_t ti = (int64_t)t;
  if (i != ti) return i < ti ? -1 : 1;
  double frac = d - t;
  return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int is_num(ed_vtype_t t) { return t == ED_V_INT || t == ED_V_DOUBLE; }

static int apply(ed__cmp_op_t op, int c) {
  switch (op) {
  case ED__EQ: return c == 0;
  case ED__NE: return c != 0;
  case ED__LT: return c < 0;
  case ED__LE: return c <= 0;
  case ED__GT: return c > 0;
  case ED__GE: return c >= 0;
  }
  return 0;
}

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};

static int eval_node(eval_t *E, uint32_t n, ed_value_t *out);

static int eval_cmp(eval_t *E, const ed__node_t *nd, ed_value_t *out) {
  ed_value_t a, b;
  int rc = eval_node(E, nd->l, &a);
  if (rc == ED_OK) rc = eval_node(E, nd->r, &b);
  if (rc != ED_OK) return rc;
  char note[300];
  int c = 0;
  out->type = ED_V_BOOL;
  if (is_num(a.type) && is_num(b.type)) {
    if (a.type == ED_V_INT && b.type == ED_V_INT) {
      c = a.v.i < b.v.i ? -1 : a.v.i > b.v.i;
    } else if ((a.type == ED_V_DOUBLE && isnan(a.v.d)) || (b.type == ED_V_DOUBLE && isnan(b.v.d))) {
      out->v.b = nd->op == ED__NE; /* NaN is unordered and unequal */
      return ED_OK;
    } else if (a.type == ED_V_INT) {
      c = compare_int_double(a.v.i, b.v.d);
    } else if (b.type == ED_V_INT) {
      c = -compare_int_double(b.v.i, a.v.d);
    } else {
      c = a.v.d < b.v.d ? -1 : a.v.d > b.v.d;
    }
  } else if (a.type != b.type) {
    field_note(E->e, nd->l, nd->r, 1, note, sizeof note);
    say(E, "cannot compare %s with %s%s", ed_value_type_name(a.type), ed_value_type_name(b.type),
        note);
    return ED_EBADREC;
  } else if (a.type == ED_V_STRING) {
    if ((rc = compare_strings(E, &a, &b, &c)) != ED_OK) return rc;
  } else if (nd->op != ED__EQ && nd->op != ED__NE) {
    field_note(E->e, nd->l, nd->r, 1, note, sizeof note);
    say(E, "cannot order %s values with '%s'%s", ed_value_type_name(a.type), op_names[nd->op],
        note);
    return ED_EBADREC;
  } else if (a.type == ED_V_BOOL) {
    c = !a.v.b != !b.v.b;
  } else if (a.type == ED_V_NULL) {
    c = 0;
  } else { /* JSON texts: equal when the same text */
    c = a.v.s.len != b.v.s.len || memcmp(a.v.s.p, b.v.s.p, a.v.s.len) != 0;
  }
  out->v.b = apply(nd->op, c);
  return ED_OK;
}

/* Evaluates a bool operand of and/or/not. */
static int eval_bool(eval_t *E, uint32_t n, const char *op, int *b) {
  ed_value_t v;
  int rc = eval_node(E, n, &v);
  if (rc != ED_OK) return rc;
  if (v.type != ED_V_BOOL) {
    char note[300];
    field_note(E->e, n, 0, 0, note, sizeof note);
    say(E, "'%s' needs a bool, got %s%s", op, ed_value_type_name(v.type), note);
    return ED_EBADREC;
  }
  *b = v.v.b;
  return ED_OK;
}

static int eval_node(eval_t *E, uint32_t n, ed_value_t *out) {
  const ed__node_t *nd = &E->e->nodes[n];
  int rc, b;
  switch (nd->kind) {
  case ED__N_LIT: *out = nd->lit; return ED_OK;
  case ED__N_PATH:
    if (E->env->fields == NULL || E->env->fields[nd->path].type == ED_V_MISSING) {
      say(E, "field '%s' is missing", ed_paths_name(E->e->paths, nd->path));
      return ED_EBADREC;
    }
    *out = E->env->fields[nd->path];
    return ED_OK;
  case ED__N_KEY:
  case ED__N_VALUE: {
    const ed_value_t *v = nd->kind == ED__N_KEY ? &E->env->key : &E->env->value;
    if (v->type == ED_V_MISSING) {
      say(E, "%s is missing", nd->kind == ED__N_KEY ? "$key" : "$value");
      return ED_EBADREC;
    }
    *out = *v;
    return ED_OK;
  }
  case ED__N_TS:
    out->type = ED_V_INT;
    out->v.i = E->env->timestamp;
    return ED_OK;
  case ED__N_CMP: return eval_cmp(E, nd, out);
  case ED__N_NOT:
    if ((rc = eval_bool(E, nd->l, "not", &b)) != ED_OK) return rc;
    out->type = ED_V_BOOL;
    out->v.b = !b;
    return ED_OK;
  case ED__N_AND:
  case ED__N_OR: {
    int is_and = nd->kind == ED__N_AND;
    const char *op = is_and ? "and" : "or";
    if ((rc = eval_bool(E, nd->l, op, &b)) != ED_OK) return rc;
    /* Short circuit: the other side is not looked at. */
    if (b != is_and) {
      out->type = ED_V_BOOL;
      out->v.b = b;
      return ED_OK;
    }
    if ((rc = eval_bool(E, nd->r, op, &b)) != ED_OK) return rc;
    out->type = ED_V_BOOL;
    out->v.b = b;
    return ED_OK;
  }
  }
  say(E, "bad expression");
  return ED_EBADREC;
}

int ed_expr_eval(const ed_expr_t *e, const ed_eval_env_t *env, ed_buf_t *scratch, ed_value_t *out,
                 char *why, size_t whylen) {
  eval_t E = {e, env, scratch, why, whylen};
  if (why && whylen) why[0] = '\0';
  int rc = eval_node(&E, e->root, out);
  if (rc == ED_ENOMEM) say(&E, "out of memory");
  return rc;
}
