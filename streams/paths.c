/* The path registry of a view and the one-pass extraction of nested fields.
 *
 * Registered paths form a trie of field names rooted at the record's
 * top-level object. The scanner descends the trie as it descends the JSON, so
 * a field is compared only with the names registered at its own level. The
 * validation rules are those of common/json.c (RFC 8259, depth <= 256). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json_lex.h"
#include "common/json.h"
#include "streams/expr_int.h"

#define MAX_DEPTH 256
#define NONE UINT32_MAX

typedef struct {
  char *seg; /* owned field name (unescaped), NULL for the root */
  size_t seglen;
  long id;              /* path id ending here, or -1 */
  uint32_t first_child; /* NONE if none */
  uint32_t next;        /* next sibling, NONE if none */
} node_t;

struct ed_paths {
  node_t *nodes; /* nodes[0] is the root (the top-level object) */
  size_t nnodes, capnodes;
  char **names;   /* by id: owned dotted text */
  uint32_t *ends; /* by id: the node the path ends at */
  size_t npaths, cappaths;
};

int ed_paths_create(ed_paths_t **out) {
  ed_paths_t *p = calloc(1, sizeof *p);
  if (p == NULL) return ED_ENOMEM;
  p->nodes = malloc(8 * sizeof *p->nodes);
  if (p->nodes == NULL) {
    free(p);
    return ED_ENOMEM;
  }
  p->capnodes = 8;
  p->nnodes = 1;
  p->nodes[0] = (node_t){NULL, 0, -1, NONE, NONE};
  *out = p;
  return ED_OK;
}

void ed_paths_destroy(ed_paths_t *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->nnodes; i++)
    free(p->nodes[i].seg);
  for (size_t i = 0; i < p->npaths; i++)
    free(p->names[i]);
  free(p->nodes);
  free(p->names);
  free(p->ends);
  free(p);
}

size_t ed_paths_count(const ed_paths_t *p) { return p->npaths; }

const char *ed_paths_name(const ed_paths_t *p, size_t id) {
  return id < p->npaths ? p->names[id] : NULL;
}

static uint32_t find_child(const ed_paths_t *p, uint32_t n, const char *name, size_t len) {
  for (uint32_t c = p->nodes[n].first_child; c != NONE; c = p->nodes[c].next) {
    const node_t *cn = &p->nodes[c];
    if (cn->seglen == len && memcmp(cn->seg, name, len) == 0) return c;
  }
  return NONE;
}

/* The child of @p n (or NONE) for a new node named @p seg. */
static int add_child(ed_paths_t *p, uint32_t n, const ed__seg_t *seg, uint32_t *out) {
  if (p->nnodes == p->capnodes) {
    node_t *nn = realloc(p->nodes, 2 * p->capnodes * sizeof *nn);
    if (nn == NULL) return ED_ENOMEM;
    p->nodes = nn;
    p->capnodes *= 2;
  }
  char *s = malloc(seg->len + 1);
  if (s == NULL) return ED_ENOMEM;
  memcpy(s, seg->p, seg->len);
  s[seg->len] = '\0';
  uint32_t c = (uint32_t)p->nnodes++;
  /* Appended last among the siblings: lookup order is intern order. */
  p->nodes[c] = (node_t){s, seg->len, -1, NONE, NONE};
  uint32_t *link = &p->nodes[n].first_child;
  while (*link != NONE)
    link = &p->nodes[*link].next;
  *link = c;
  *out = c;
  return ED_OK;
}

int ed__paths_intern_segs(ed_paths_t *p, const ed__seg_t *segs, size_t n) {
  if (n == 0 || n > ED__PATH_MAX_SEGS) return ED_EINVAL;
  size_t namelen = 0;
  for (size_t i = 0; i < n; i++) {
    if (segs[i].len == 0 || segs[i].len > ED__PATH_MAX_SEG) return ED_EINVAL;
    namelen += segs[i].len + 1;
  }
  if (p->npaths >= (size_t)INT32_MAX) return ED_EINVAL;
  /* Make room first so that a failure leaves the registry unchanged (spare
   * trie nodes added before a failure are harmless). */
  if (p->npaths == p->cappaths) {
    size_t cap = p->cappaths ? 2 * p->cappaths : 8;
    char **names = realloc(p->names, cap * sizeof *names);
    if (names == NULL) return ED_ENOMEM;
    p->names = names;
    uint32_t *ends = realloc(p->ends, cap * sizeof *ends);
    if (ends == NULL) return ED_ENOMEM;
    p->ends = ends;
    p->cappaths = cap;
  }
  uint32_t cur = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = find_child(p, cur, segs[i].p, segs[i].len);
    if (c == NONE) {
      int rc = add_child(p, cur, &segs[i], &c);
      if (rc != ED_OK) return rc;
    }
    cur = c;
  }
  if (p->nodes[cur].id >= 0) return (int)p->nodes[cur].id;
  char *name = malloc(namelen);
  if (name == NULL) return ED_ENOMEM;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (i) name[o++] = '.';
    memcpy(name + o, segs[i].p, segs[i].len);
    o += segs[i].len;
  }
  name[o] = '\0';
  size_t id = p->npaths++;
  p->names[id] = name;
  p->ends[id] = cur;
  p->nodes[cur].id = (long)id;
  return (int)id;
}

int ed_paths_intern(ed_paths_t *p, const char *text, size_t len) {
  ed__seg_t segs[ED__PATH_MAX_SEGS];
  size_t n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || text[i] == '.') {
      if (n == ED__PATH_MAX_SEGS) return ED_EINVAL;
      segs[n].p = text + start;
      segs[n].len = i - start;
      n++;
      start = i + 1;
    }
  }
  return ed__paths_intern_segs(p, segs, n);
}

/* ---- extraction ---- */

typedef struct {
  const char *end;
  const char *p;
  const ed_paths_t *paths;
  ed_value_t *out;
} scanner_t;

static void skip_ws(scanner_t *sc) { ed_json_lex_ws(&sc->p, sc->end); }

static int scan_string(scanner_t *sc, const char **start, size_t *len, int *has_esc) {
  return ed_json_lex_string(&sc->p, sc->end, start, len, has_esc);
}

/* A very long literal: keep its first 40 significant digits and fold the
 * rest into the exponent (exact enough for any double). */
static double long_number(const char *p, size_t len) {
  char tmp[80];
  size_t o = 0, nd = 0;
  long exp10 = 0;
  int seen_dot = 0, started = 0;
  const char *end = p + len;
  if (*p == '-') tmp[o++] = *p++;
  tmp[o++] = '0';
  tmp[o++] = '.';
  for (; p < end && *p != 'e' && *p != 'E'; p++) {
    if (*p == '.') {
      seen_dot = 1;
      continue;
    }
    if (!started && *p == '0') {
      if (seen_dot) exp10--;
      continue;
    }
    started = 1;
    if (!seen_dot) exp10++;
    if (nd < 40) tmp[o++] = *p, nd++;
  }
  if (p < end) { /* exponent */
    p++;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    long e = 0;
    for (; p < end; p++)
      if (e < 100000) e = e * 10 + (*p - '0');
    exp10 += neg ? -e : e;
  }
  if (nd == 0) tmp[o++] = '0';
  if (exp10 > 100000) exp10 = 100000;
  if (exp10 < -100000) exp10 = -100000;
  snprintf(tmp + o, sizeof tmp - o, "e%ld", exp10);
  return strtod(tmp, NULL);
}

static void number_value(const char *p, size_t len, int is_int, ed_value_t *v) {
  if (is_int && len <= 20) {
    /* Exact int64 parse with overflow check. */
    const char *q = p;
    int neg = *q == '-';
    if (neg) q++;
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int ok = 1;
    for (; q < p + len; q++) {
      unsigned d = (unsigned)(*q - '0');
      if (acc > (lim - d) / 10) {
        ok = 0;
        break;
      }
      acc = acc * 10 + d;
    }
    if (ok) {
      v->type = ED_V_INT;
      v->v.i = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
      return;
    }
  }
  v->type = ED_V_DOUBLE;
  if (len < 400) {
    char tmp[400];
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    v->v.d = strtod(tmp, NULL);
  } else {
    v->v.d = long_number(p, len);
  }
}

/* Marks every path at or below node @p n missing. */
static void reset_subtree(const ed_paths_t *paths, uint32_t n, ed_value_t *out) {
  const node_t *nd = &paths->nodes[n];
  if (nd->id >= 0) out[nd->id].type = ED_V_MISSING;
  for (uint32_t c = nd->first_child; c != NONE; c = paths->nodes[c].next)
    reset_subtree(paths, c, out);
}

/* The child of @p n named by the escaped field name, or NONE. Kept out of
 * the recursion so its buffer is not on the stack of every level. */
static uint32_t match_escaped(const ed_paths_t *paths, uint32_t n, const char *name, size_t len) {
  char buf[ED__PATH_MAX_SEG];
  ed_json_val_t jv = {ED_JSON_STRING, name, len};
  long ulen = ed_json_unescape(&jv, buf, sizeof buf);
  if (ulen < 0) return NONE; /* longer than any registered name */
  return find_child(paths, n, buf, (size_t)ulen);
}

static int scan_value(scanner_t *sc, int depth, uint32_t node, ed_value_t *slot);

static int scan_object(scanner_t *sc, int depth, uint32_t node) {
  if (ed_json_lex_open(&sc->p, sc->end, '}')) return ED_OK;
  int has_children = node != NONE && sc->paths->nodes[node].first_child != NONE;
  for (;;) {
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != '"') return ED_EBADREC;
    const char *name;
    size_t nlen;
    int esc;
    if (scan_string(sc, &name, &nlen, &esc) != ED_OK) return ED_EBADREC;
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != ':') return ED_EBADREC;
    sc->p++;
    skip_ws(sc);
    uint32_t child = NONE;
    ed_value_t *slot = NULL;
    if (has_children) {
      child = esc ? match_escaped(sc->paths, node, name, nlen)
                  : find_child(sc->paths, node, name, nlen);
      if (child != NONE) {
        /* A repeated field replaces the earlier one, including below it. */
        reset_subtree(sc->paths, child, sc->out);
        long id = sc->paths->nodes[child].id;
        if (id >= 0) slot = &sc->out[id];
      }
    }
    if (scan_value(sc, depth, child, slot) != ED_OK) return ED_EBADREC;
    int rc = ed_json_lex_after(&sc->p, sc->end, '}');
    if (rc != 0) return rc == 1 ? ED_OK : ED_EBADREC;
  }
}

static int scan_array(scanner_t *sc, int depth) {
  if (ed_json_lex_open(&sc->p, sc->end, ']')) return ED_OK;
  for (;;) {
    skip_ws(sc);
    if (scan_value(sc, depth, NONE, NULL) != ED_OK) return ED_EBADREC;
    int rc = ed_json_lex_after(&sc->p, sc->end, ']');
    if (rc != 0) return rc == 1 ? ED_OK : ED_EBADREC;
  }
}


/* Scans one value at p; @p node is its trie node (NONE if no registered path
 * goes through it) and @p slot (may be NULL) receives it. */
static int scan_value(scanner_t *sc, int depth, uint32_t node, ed_value_t *slot) {
  if (sc->p >= sc->end) return ED_EBADREC;
  if ((*sc->p == '{' || *sc->p == '[') && depth >= MAX_DEPTH) return ED_EBADREC;
  const char *start = sc->p;
  ed_value_t v;
  int rc;
  switch (*sc->p) {
  case '{':
    rc = scan_object(sc, depth + 1, node);
    v.type = ED_V_JSON;
    break;
  case '[':
    rc = scan_array(sc, depth + 1);
    v.type = ED_V_JSON;
    break;
  case '"': {
    const char *s;
    size_t len;
    int esc;
    rc = scan_string(sc, &s, &len, &esc);
    if (rc == ED_OK && slot) {
      slot->type = ED_V_STRING;
      slot->v.s.p = s;
      slot->v.s.len = len;
      slot->v.s.escaped = 1;
    }
    return rc;
  }
  case 't':
    rc = ed_json_lex_literal(&sc->p, sc->end, "true", 4);
    v.type = ED_V_BOOL;
    v.v.b = 1;
    break;
  case 'f':
    rc = ed_json_lex_literal(&sc->p, sc->end, "false", 5);
    v.type = ED_V_BOOL;
    v.v.b = 0;
    break;
  case 'n':
    rc = ed_json_lex_literal(&sc->p, sc->end, "null", 4);
    v.type = ED_V_NULL;
    break;
  default: {
    int is_int;
    rc = ed_json_lex_number(&sc->p, sc->end, &is_int);
    if (rc == ED_OK && slot) number_value(start, (size_t)(sc->p - start), is_int, slot);
    return rc;
  }
  }
  if (rc == ED_OK && slot) {
    if (v.type == ED_V_JSON) {
      v.v.s.p = start;
      v.v.s.len = (size_t)(sc->p - start);
      v.v.s.escaped = 0;
    }
    *slot = v;
  }
  return rc;
}

int ed_paths_extract(const ed_paths_t *p, const char *json, size_t len, ed_value_t *out,
                     size_t *errpos) {
  scanner_t sc = {json + len, json, p, out};
  for (size_t i = 0; i < p->npaths; i++)
    out[i].type = ED_V_MISSING;
  skip_ws(&sc);
  int rc = scan_value(&sc, 0, 0, NULL);
  if (rc == ED_OK) {
    skip_ws(&sc);
    if (sc.p != sc.end) rc = ED_EBADREC;
  }
  if (rc != ED_OK) {
    for (size_t i = 0; i < p->npaths; i++)
      out[i].type = ED_V_MISSING;
    if (errpos) *errpos = (size_t)(sc.p - json);
  }
  return rc;
}
