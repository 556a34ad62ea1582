/* The expression parser: a hand-written recursive descent over the grammar
 * in expr.h, with 1-based byte columns in its messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "streams/expr_int.h"

#define MAX_NESTING 256
#define MAX_NODES 4096 /* also bounds the recursion of evaluation */

typedef enum {
  T_END = 0,
  T_NUM,
  T_STR,
  T_IDENT,
  T_BQ, /* `quoted` name */
  T_SPECIAL,
  T_LP,
  T_RP,
  T_DOT,
  T_CMP,
  T_AND,
  T_OR,
  T_NOT,
  T_TRUE,
  T_FALSE,
  T_NULL
} tok_kind_t;

typedef struct {
  tok_kind_t kind;
  size_t start, len; /* the token's text */
  ed__cmp_op_t op;   /* T_CMP */
} tok_t;

typedef struct {
  const char *s;
  size_t n;
  size_t pos; /* next unread byte */
  ed_expr_t *e;
  ed_paths_t *paths;
  char *err;
  size_t errlen;
  int nesting;
} parser_t;

static void fail(parser_t *P, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser_t *P, const char *fmt, ...) {
  if (P->err == NULL || P->errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(P->err, P->errlen, fmt, ap);
  va_end(ap);
}

static int is_ident_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static int is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Printable text of a token for messages (at most 32 bytes). */
static int tok_text_len(const tok_t *t) { return t->len > 32 ? 32 : (int)t->len; }

static int lex_number(parser_t *P, tok_t *t) {
  const char *s = P->s, *end = P->s + P->n;
  const char *p = s + t->start;
  int ok = 1;
  if (*p == '-') p++;
  if (p < end && *p == '0')
    p++;
  else if (p < end && is_digit(*p))
    while (p < end && is_digit(*p))
      p++;
  else
    ok = 0;
  if (ok && p < end && *p == '.') {
    p++;
    if (p >= end || !is_digit(*p)) ok = 0;
    while (p < end && is_digit(*p))
      p++;
  }
  if (ok && p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !is_digit(*p)) ok = 0;
    while (p < end && is_digit(*p))
      p++;
  }
  if (!ok || (p < end && (is_ident_char(*p) || *p == '.'))) {
    fail(P, "at column %zu: invalid number", t->start + 1);
    return ED_EINVAL;
  }
  t->kind = T_NUM;
  t->len = (size_t)(p - (s + t->start));
  return ED_OK;
}

static int lex_string(parser_t *P, tok_t *t) {
  const char *s = P->s;
  char q = s[t->start];
  size_t i = t->start + 1;
  while (i < P->n) {
    char c = s[i];
    if (c == q) {
      t->kind = T_STR;
      t->len = i + 1 - t->start;
      return ED_OK;
    }
    if (c == '\\') {
      if (i + 1 >= P->n) break;
      char e = s[i + 1];
      if (e == 'u') {
        if (P->n - i < 6 || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]) ||
            !is_hex(s[i + 5])) {
          fail(P, "at column %zu: invalid \\u escape in string", i + 1);
          return ED_EINVAL;
        }
        i += 6;
        continue;
      }
      if (!strchr("\"'\\/bfnrt", e) || e == '\0') {
        fail(P, "at column %zu: invalid escape in string", i + 1);
        return ED_EINVAL;
      }
      i += 2;
      continue;
    }
    i++;
  }
  fail(P, "unterminated string starting at column %zu", t->start + 1);
  return ED_EINVAL;
}

static const struct {
  const char *word;
  tok_kind_t kind;
} keywords[] = {{"and", T_AND},   {"or", T_OR},       {"not", T_NOT},
                {"true", T_TRUE}, {"false", T_FALSE}, {"null", T_NULL}};

/* Reads the token at P->pos (after blanks) without consuming it. */
static int peek(parser_t *P, tok_t *t) {
  const char *s = P->s;
  while (P->pos < P->n &&
         (s[P->pos] == ' ' || s[P->pos] == '\t' || s[P->pos] == '\n' || s[P->pos] == '\r'))
    P->pos++;
  size_t i = P->pos;
  t->start = i;
  t->len = 1;
  if (i >= P->n) {
    t->kind = T_END;
    t->len = 0;
    return ED_OK;
  }
  char c = s[i];
  char c2 = i + 1 < P->n ? s[i + 1] : '\0';
  switch (c) {
  case '(': t->kind = T_LP; return ED_OK;
  case ')': t->kind = T_RP; return ED_OK;
  case '.': t->kind = T_DOT; return ED_OK;
  case '"':
  case '\'': return lex_string(P, t);
  case '`': {
    const char *close = memchr(s + i + 1, '`', P->n - i - 1);
    if (close == NULL) {
      fail(P, "unterminated `quoted` name starting at column %zu", i + 1);
      return ED_EINVAL;
    }
    if (close == s + i + 1) {
      fail(P, "at column %zu: empty `quoted` name", i + 1);
      return ED_EINVAL;
    }
    t->kind = T_BQ;
    t->len = (size_t)(close - (s + i)) + 1;
    return ED_OK;
  }
  case '=':
    if (c2 != '=') {
      fail(P, "at column %zu: unexpected '=' (did you mean '=='?)", i + 1);
      return ED_EINVAL;
    }
    t->kind = T_CMP, t->op = ED__EQ, t->len = 2;
    return ED_OK;
  case '!':
    if (c2 != '=') {
      fail(P, "at column %zu: unexpected '!' (use 'not' or '!=')", i + 1);
      return ED_EINVAL;
    }
    t->kind = T_CMP, t->op = ED__NE, t->len = 2;
    return ED_OK;
  case '<':
  case '>':
    t->kind = T_CMP;
    if (c2 == '=')
      t->op = c == '<' ? ED__LE : ED__GE, t->len = 2;
    else
      t->op = c == '<' ? ED__LT : ED__GT;
    return ED_OK;
  case '$': {
    size_t j = i + 1;
    while (j < P->n && is_ident_char(s[j]))
      j++;
    t->kind = T_SPECIAL;
    t->len = j - i;
    if ((t->len == 4 && memcmp(s + i, "$key", 4) == 0) ||
        (t->len == 6 && memcmp(s + i, "$value", 6) == 0) ||
        (t->len == 10 && memcmp(s + i, "$timestamp", 10) == 0))
      return ED_OK;
    fail(P, "at column %zu: unknown name '%.*s' (expected $key, $value or $timestamp)", i + 1,
         tok_text_len(t), s + i);
    return ED_EINVAL;
  }
  default: break;
  }
  if (is_digit(c) || (c == '-' && is_digit(c2))) return lex_number(P, t);
  if (is_ident_start(c)) {
    size_t j = i;
    while (j < P->n && is_ident_char(s[j]))
      j++;
    t->kind = T_IDENT;
    t->len = j - i;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
      if (strlen(keywords[k].word) == t->len && memcmp(keywords[k].word, s + i, t->len) == 0)
        t->kind = keywords[k].kind;
    return ED_OK;
  }
  if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
    fail(P, "at column %zu: unexpected character '%c'", i + 1, c);
  else
    fail(P, "at column %zu: unexpected byte 0x%02x", i + 1, (unsigned)(unsigned char)c);
  return ED_EINVAL;
}

static void consume(parser_t *P, const tok_t *t) { P->pos = t->start + t->len; }

static void fail_unexpected(parser_t *P, const tok_t *t) {
  if (t->kind == T_END)
    fail(P, "at column %zu: unexpected end of expression", t->start + 1);
  else
    fail(P, "at column %zu: unexpected '%.*s'", t->start + 1, tok_text_len(t), P->s + t->start);
}

static int add_node(parser_t *P, const ed__node_t *n, uint32_t *out) {
  ed_expr_t *e = P->e;
  if (e->nnodes >= MAX_NODES) {
    fail(P, "expression too long");
    return ED_EINVAL;
  }
  if (e->nnodes == e->cap) {
    size_t cap = e->cap ? 2 * e->cap : 8;
    ed__node_t *nn = realloc(e->nodes, cap * sizeof *nn);
    if (nn == NULL) {
      fail(P, "out of memory");
      return ED_ENOMEM;
    }
    e->nodes = nn;
    e->cap = cap;
  }
  e->nodes[e->nnodes] = *n;
  *out = (uint32_t)e->nnodes++;
  return ED_OK;
}

/* Keeps @p s (malloc'd) for the life of the expression; frees it on failure. */
static int keep_str(parser_t *P, char *s) {
  ed_expr_t *e = P->e;
  if (e->nstrs == e->capstrs) {
    size_t cap = e->capstrs ? 2 * e->capstrs : 4;
    char **ns = realloc(e->strs, cap * sizeof *ns);
    if (ns == NULL) {
      free(s);
      fail(P, "out of memory");
      return ED_ENOMEM;
    }
    e->strs = ns;
    e->capstrs = cap;
  }
  e->strs[e->nstrs++] = s;
  return ED_OK;
}

static int starts_value(tok_kind_t k) {
  switch (k) {
  case T_NUM:
  case T_STR:
  case T_IDENT:
  case T_BQ:
  case T_SPECIAL:
  case T_LP:
  case T_TRUE:
  case T_FALSE:
  case T_NULL:
  case T_NOT: return 1;
  default: return 0;
  }
}

/* A name segment token: an identifier, a `quoted` name, or (after a dot) a
 * keyword, which cannot be mistaken there. */
static int is_segment(const tok_t *t, int after_dot) {
  if (t->kind == T_IDENT || t->kind == T_BQ) return 1;
  return after_dot && (t->kind == T_AND || t->kind == T_OR || t->kind == T_NOT ||
                       t->kind == T_TRUE || t->kind == T_FALSE || t->kind == T_NULL);
}

static int parse_path(parser_t *P, tok_t t, uint32_t *out) {
  ed__seg_t segs[ED__PATH_MAX_SEGS];
  size_t n = 0;
  size_t col = t.start + 1;
  for (;;) {
    if (n == ED__PATH_MAX_SEGS) {
      fail(P, "at column %zu: field path has too many parts", col);
      return ED_EINVAL;
    }
    if (t.kind == T_BQ)
      segs[n].p = P->s + t.start + 1, segs[n].len = t.len - 2;
    else
      segs[n].p = P->s + t.start, segs[n].len = t.len;
    if (segs[n].len > ED__PATH_MAX_SEG) {
      fail(P, "at column %zu: field name too long", t.start + 1);
      return ED_EINVAL;
    }
    n++;
    consume(P, &t);
    tok_t dot;
    if (peek(P, &dot) != ED_OK) return ED_EINVAL;
    if (dot.kind != T_DOT) break;
    consume(P, &dot);
    if (peek(P, &t) != ED_OK) return ED_EINVAL;
    if (!is_segment(&t, 1)) {
      fail(P, "at column %zu: expected a field name after '.'", t.start + 1);
      return ED_EINVAL;
    }
  }
  int id = ed__paths_intern_segs(P->paths, segs, n);
  if (id < 0) {
    if (id == ED_ENOMEM)
      fail(P, "out of memory");
    else
      fail(P, "at column %zu: invalid field path", col);
    return id;
  }
  ed__node_t node = {.kind = ED__N_PATH, .path = (size_t)id};
  return add_node(P, &node, out);
}

static int parse_or(parser_t *P, uint32_t *out);
static int parse_not(parser_t *P, uint32_t *out);

/* Peeks the token after operator @p what and checks that it starts a value
 * (@p allow_not: a `not` is allowed there). */
static int expect_operand(parser_t *P, const char *what, int allow_not) {
  tok_t t;
  if (peek(P, &t) != ED_OK) return ED_EINVAL;
  if (!starts_value(t.kind) || (!allow_not && t.kind == T_NOT)) {
    fail(P, "at column %zu: expected a value after '%s'", t.start + 1, what);
    return ED_EINVAL;
  }
  return ED_OK;
}

static int parse_primary(parser_t *P, uint32_t *out) {
  tok_t t;
  if (peek(P, &t) != ED_OK) return ED_EINVAL;
  ed__node_t node = {.kind = ED__N_LIT};
  switch (t.kind) {
  case T_NUM: {
    ed_json_val_t jv = {ED_JSON_NUMBER, P->s + t.start, t.len};
    int is_int;
    int64_t i;
    double d;
    if (ed_json_number(&jv, &is_int, &i, &d) != ED_OK) {
      fail(P, "at column %zu: number too long", t.start + 1);
      return ED_EINVAL;
    }
    if (is_int)
      node.lit.type = ED_V_INT, node.lit.v.i = i;
    else
      node.lit.type = ED_V_DOUBLE, node.lit.v.d = d;
    break;
  }
  case T_STR: {
    char *buf = malloc(t.len); /* unescaped contents + NUL fit in len */
    if (buf == NULL) {
      fail(P, "out of memory");
      return ED_ENOMEM;
    }
    ed_json_val_t jv = {ED_JSON_STRING, P->s + t.start + 1, t.len - 2};
    long n = ed_json_unescape(&jv, buf, t.len - 2);
    buf[n < 0 ? 0 : n] = '\0';
    if (keep_str(P, buf) != ED_OK) return ED_ENOMEM;
    node.lit.type = ED_V_STRING;
    node.lit.v.s.p = buf;
    node.lit.v.s.len = n < 0 ? 0 : (size_t)n;
    node.lit.v.s.escaped = 0;
    break;
  }
  case T_TRUE:
  case T_FALSE:
    node.lit.type = ED_V_BOOL;
    node.lit.v.b = t.kind == T_TRUE;
    break;
  case T_NULL: node.lit.type = ED_V_NULL; break;
  case T_SPECIAL: node.kind = t.len == 4 ? ED__N_KEY : t.len == 6 ? ED__N_VALUE : ED__N_TS; break;
  case T_IDENT:
  case T_BQ: return parse_path(P, t, out);
  case T_LP: {
    consume(P, &t);
    if (++P->nesting > MAX_NESTING) {
      fail(P, "at column %zu: expression nested too deeply", t.start + 1);
      return ED_EINVAL;
    }
    int rc = expect_operand(P, "(", 1);
    if (rc == ED_OK) rc = parse_or(P, out);
    if (rc != ED_OK) return rc;
    P->nesting--;
    tok_t rp;
    if (peek(P, &rp) != ED_OK) return ED_EINVAL;
    if (rp.kind != T_RP) {
      fail(P, "at column %zu: expected ')' to close '(' at column %zu", rp.start + 1, t.start + 1);
      return ED_EINVAL;
    }
    consume(P, &rp);
    return ED_OK;
  }
  default: fail_unexpected(P, &t); return ED_EINVAL;
  }
  consume(P, &t);
  return add_node(P, &node, out);
}

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};

static int parse_cmp(parser_t *P, uint32_t *out) {
  uint32_t l, r;
  int rc = parse_primary(P, &l);
  if (rc != ED_OK) return rc;
  tok_t t;
  if (peek(P, &t) != ED_OK) return ED_EINVAL;
  if (t.kind != T_CMP) {
    *out = l;
    return ED_OK;
  }
  consume(P, &t);
  if ((rc = expect_operand(P, op_names[t.op], 0)) != ED_OK) return rc;
  if ((rc = parse_primary(P, &r)) != ED_OK) return rc;
  ed__node_t node = {.kind = ED__N_CMP, .op = t.op, .l = l, .r = r};
  return add_node(P, &node, out);
}

static int parse_not(parser_t *P, uint32_t *out) {
  tok_t t;
  if (peek(P, &t) != ED_OK) return ED_EINVAL;
  if (t.kind != T_NOT) return parse_cmp(P, out);
  consume(P, &t);
  if (++P->nesting > MAX_NESTING) {
    fail(P, "at column %zu: expression nested too deeply", t.start + 1);
    return ED_EINVAL;
  }
  int rc = expect_operand(P, "not", 1);
  uint32_t a;
  if (rc == ED_OK) rc = parse_not(P, &a);
  if (rc != ED_OK) return rc;
  P->nesting--;
  ed__node_t node = {.kind = ED__N_NOT, .l = a};
  return add_node(P, &node, out);
}

static int parse_and(parser_t *P, uint32_t *out) {
  uint32_t l, r;
  int rc = parse_not(P, &l);
  for (;;) {
    if (rc != ED_OK) return rc;
    tok_t t;
    if (peek(P, &t) != ED_OK) return ED_EINVAL;
    if (t.kind != T_AND) break;
    consume(P, &t);
    if ((rc = expect_operand(P, "and", 1)) != ED_OK) return rc;
    if ((rc = parse_not(P, &r)) != ED_OK) return rc;
    ed__node_t node = {.kind = ED__N_AND, .l = l, .r = r};
    rc = add_node(P, &node, &l);
  }
  *out = l;
  return ED_OK;
}

static int parse_or(parser_t *P, uint32_t *out) {
  uint32_t l, r;
  int rc = parse_and(P, &l);
  for (;;) {
    if (rc != ED_OK) return rc;
    tok_t t;
    if (peek(P, &t) != ED_OK) return ED_EINVAL;
    if (t.kind != T_OR) break;
    consume(P, &t);
    if ((rc = expect_operand(P, "or", 1)) != ED_OK) return rc;
    if ((rc = parse_and(P, &r)) != ED_OK) return rc;
    ed__node_t node = {.kind = ED__N_OR, .l = l, .r = r};
    rc = add_node(P, &node, &l);
  }
  *out = l;
  return ED_OK;
}

void ed_expr_destroy(ed_expr_t *e) {
  if (e == NULL) return;
  for (size_t i = 0; i < e->nstrs; i++)
    free(e->strs[i]);
  free(e->strs);
  free(e->nodes);
  free(e);
}

int ed_expr_parse(const char *text, ed_paths_t *paths, ed_expr_t **out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  ed_expr_t *e = calloc(1, sizeof *e);
  parser_t P = {text, strlen(text), 0, e, paths, err, errlen, 0};
  if (e == NULL) {
    fail(&P, "out of memory");
    return ED_ENOMEM;
  }
  e->paths = paths;
  tok_t t;
  int rc = peek(&P, &t);
  if (rc == ED_OK && t.kind == T_END) {
    fail(&P, "at column 1: empty expression");
    rc = ED_EINVAL;
  }
  if (rc == ED_OK) rc = parse_or(&P, &e->root);
  if (rc == ED_OK) rc = peek(&P, &t);
  if (rc == ED_OK && t.kind != T_END) {
    fail_unexpected(&P, &t);
    rc = ED_EINVAL;
  }
  if (rc != ED_OK) {
    ed_expr_destroy(e);
    return rc == ED_ENOMEM ? ED_ENOMEM : ED_EINVAL;
  }
  *out = e;
  return ED_OK;
}

int ed_expr_is_path(const ed_expr_t *e) {
  ed__node_kind_t k = e->nodes[e->root].kind;
  return k == ED__N_PATH || k == ED__N_KEY || k == ED__N_VALUE;
}
