/* Config loading: the views section. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/err.h"
#include "common/timeutil.h"
#include "server/config_int.h"
#include "streams/expr.h"

/* ---- views ---- */

#define AGG_EXPECTED "count, sum(..), min(..), max(..), avg(..), count_distinct(..) or latest"
#define DURATION_EXPECTED "a duration (500ms, 30s, 5m, 1h, 7d or milliseconds)"

/* What the keys of one view share while it is read. */
typedef struct {
  ed_view_def_t *def;
  ed_paths_t *paths;         /* every field path the view's expressions read */
  const yaml_node_t *format; /* the value nodes of these keys, NULL if absent */
  const yaml_node_t *aggregate;
  const yaml_node_t *window;
  const yaml_node_t *to;
} view_ctx_t;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int set_strn(ctx_t *cx, char **dst, const char *s, size_t len) {
  char *copy = malloc(len + 1);
  if (copy == NULL) return ed__cfg_oom(cx);
  memcpy(copy, s, len);
  copy[len] = '\0';
  free(*dst);
  *dst = copy;
  return ED_OK;
}

/* Parses expression @p text to check it, interning its paths in @p paths;
 * the parsed expression is not kept (the engine parses the text again).
 * *is_path (may be NULL) gets ed_expr_is_path(). */
static int check_expr(ctx_t *cx, ed_paths_t *paths, const yaml_node_t *n, const char *field,
                      const char *text, int *is_path) {
  ed_expr_t *e = NULL;
  char perr[256];
  int rc = ed_expr_parse(text, paths, &e, perr, sizeof perr);
  if (rc == ED_ENOMEM) return ed__cfg_oom(cx);
  if (rc != ED_OK) return ed__cfg_fail(cx, n, field, "%s", perr);
  if (is_path) *is_path = ed_expr_is_path(e);
  ed_expr_destroy(e);
  return ED_OK;
}

static int parse_topic(ctx_t *cx, const yaml_node_t *n, const char *field, char **dst) {
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, "a topic name", &s);
  if (rc != ED_OK) return rc;
  if (!ed__cfg_is_name(s) || strlen(s) > 249)
    return ed__cfg_fail(cx, n, field, "expected a topic name [A-Za-z0-9._-]{1,249}, got '%s'", s);
  return ed__cfg_set_str(cx, dst, s);
}

/* The ')' matching the '(' at @p open, skipping nested parentheses, quoted
 * strings (with backslash escapes) and `quoted` names; NULL if none. */
static const char *matching_paren(const char *open) {
  int depth = 0;
  for (const char *p = open; *p; p++) {
    switch (*p) {
    case '(': depth++; break;
    case ')':
      if (--depth == 0) return p;
      break;
    case '"':
    case '\'': {
      char q = *p;
      for (p++; *p && *p != q; p++)
        if (*p == '\\' && p[1]) p++;
      if (*p == '\0') return NULL;
      break;
    }
    case '`':
      p = strchr(p + 1, '`');
      if (p == NULL) return NULL;
      break;
    default: break;
    }
  }
  return NULL;
}

/* Names an unnamed aggregate: "count", "latest", or <fn>_<path> when the
 * argument is a bare field path ("max_order_total" for max(order.total),
 * "sum_value" for sum($value)). */
static int default_column(ctx_t *cx, const yaml_node_t *n, const char *field, ed_agg_def_t *a,
                          int is_path) {
  const char *fn = ed_agg_kind_name(a->kind);
  if (a->arg == NULL) return ed__cfg_set_str(cx, &a->column, fn);
  const char *name = NULL;
  ed_paths_t *tmp = NULL;
  ed_expr_t *e = NULL;
  int rc = ED_OK;
  if (is_path) {
    /* A registry of its own: its one path (if any) is the argument's. */
    rc = ed_paths_create(&tmp);
    if (rc == ED_OK) rc = ed_expr_parse(a->arg, tmp, &e, NULL, 0);
    if (rc != ED_OK) {
      ed_paths_destroy(tmp);
      return rc == ED_ENOMEM ? ed__cfg_oom(cx)
                             : ed__cfg_fail(cx, n, field, "cannot parse '%s'", a->arg);
    }
    if (ed_paths_count(tmp) == 1)
      name = ed_paths_name(tmp, 0);
    else /* $key or $value */
      name = strstr(a->arg, "$value") ? "value" : "key";
  }
  char *col = NULL;
  if (name) {
    size_t fnlen = strlen(fn), len = strlen(name);
    col = malloc(fnlen + 1 + len + 1);
    if (col == NULL) {
      rc = ed__cfg_oom(cx);
    } else {
      memcpy(col, fn, fnlen);
      col[fnlen] = '_';
      for (size_t i = 0; i <= len; i++)
        col[fnlen + 1 + i] = name[i] == '.' ? '_' : name[i];
    }
  }
  ed_expr_destroy(e);
  ed_paths_destroy(tmp);
  if (rc != ED_OK) return rc;
  if (col == NULL || !ed__cfg_is_column_name(col)) {
    free(col);
    return ed__cfg_fail(cx, n, field,
                        "the argument of %s(%s) is not a field path, so name the column: "
                        "aggregate: { <name>: %s(%s) }",
                        fn, a->arg, fn, a->arg);
  }
  free(a->column);
  a->column = col;
  return ED_OK;
}

/* Parses "count", "latest" or "<fn>(<expression>)" (blanks allowed around
 * the parts) into @p a, interning the argument's paths in @p paths and
 * naming the column @p column or, when NULL, after the aggregate. */
static int parse_agg(ctx_t *cx, ed_paths_t *paths, const yaml_node_t *n, const char *field,
                     const char *column, ed_agg_def_t *a) {
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, "an aggregate (" AGG_EXPECTED ")", &s);
  if (rc != ED_OK) return rc;
  const char *p = s;
  while (is_blank(*p))
    p++;
  const char *fn = p;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '_')
    p++;
  size_t fnlen = (size_t)(p - fn);
  ed_agg_kind_t kind;
  if (fnlen == 0)
    return ed__cfg_fail(cx, n, field, "unknown aggregate '%s' (expected " AGG_EXPECTED ")", s);
  if (ed_agg_kind_parse(fn, fnlen, &kind) != ED_OK)
    return ed__cfg_fail(cx, n, field, "unknown aggregate '%.*s' (expected " AGG_EXPECTED ")",
                        (int)fnlen, fn);
  while (is_blank(*p))
    p++;
  const char *a0 = p, *a1 = p; /* the argument is [a0, a1) */
  int call = *p == '(';
  if (call) {
    const char *close = matching_paren(p);
    if (close == NULL)
      return ed__cfg_fail(cx, n, field,
                          "malformed aggregate '%s': the '(' at column %zu is not closed", s,
                          (size_t)(p - s) + 1);
    a0 = p + 1;
    a1 = close;
    p = close + 1;
    while (is_blank(*p))
      p++;
  }
  if (*p != '\0')
    return ed__cfg_fail(cx, n, field, "malformed aggregate '%s' (expected " AGG_EXPECTED ")", s);
  while (a0 < a1 && is_blank(*a0))
    a0++;
  while (a1 > a0 && is_blank(a1[-1]))
    a1--;

  const char *name = ed_agg_kind_name(kind);
  a->kind = kind;
  int is_path = 0;
  if (!ed_agg_takes_arg(kind)) {
    if (a1 > a0) return ed__cfg_fail(cx, n, field, "%s takes no argument, got '%s'", name, s);
  } else {
    if (a1 == a0)
      return ed__cfg_fail(cx, n, field, "%s needs an argument: %s(<expression>)", name, name);
    /* Parsed with everything before the argument blanked out, so that the
     * parser's columns count from the start of the aggregate's text. */
    size_t off = (size_t)(a0 - s), len = (size_t)(a1 - a0);
    char *padded = malloc(off + len + 1);
    if (padded == NULL) return ed__cfg_oom(cx);
    memset(padded, ' ', off);
    memcpy(padded + off, a0, len);
    padded[off + len] = '\0';
    rc = check_expr(cx, paths, n, field, padded, &is_path);
    free(padded);
    if (rc == ED_OK) rc = set_strn(cx, &a->arg, a0, len);
    if (rc != ED_OK) return rc;
  }
  if (column) return ed__cfg_set_str(cx, &a->column, column);
  return default_column(cx, n, field, a, is_path);
}

static int parse_aggregate(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  ed_view_def_t *v = vc->def;
  vc->aggregate = n;
  if (n->type == YAML_SCALAR_NODE) {
    v->naggs = 1; /* counted first, so that fini frees what parse_agg stored */
    return parse_agg(cx, vc->paths, n, field, NULL, &v->aggs[0]);
  }
  int rc = ed__cfg_check_mapping(
      cx, n, field, "an aggregate (" AGG_EXPECTED ") or a mapping of column: aggregate");
  if (rc != ED_OK) return rc;
  size_t len = ed__cfg_map_len(n);
  if (len == 0 || len > ED_VIEW_MAX_AGGS)
    return ed__cfg_fail(cx, n, field, "expected 1..%d aggregates, got %zu", ED_VIEW_MAX_AGGS, len);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p), *val = ed__cfg_pair_value(cx, p);
    const char *col = ed__cfg_scalar_text(k);
    char sub[CFG_FIELD_MAX];
    ed__cfg_subfield(sub, field, col);
    if (!ed__cfg_is_column_name(col))
      return ed__cfg_fail(cx, k, sub, "expected a column name [A-Za-z_][A-Za-z0-9_]*, got '%s'",
                          col);
    ed_agg_def_t *a = &v->aggs[v->naggs++];
    rc = parse_agg(cx, vc->paths, val, sub, col, a);
    if (rc != ED_OK) return rc;
    if (a->kind == ED_AGG_LATEST && len > 1)
      return ed__cfg_fail(cx, val, sub,
                          "latest must be the only aggregate (a latest table keeps each key's last "
                          "value; aggregate: latest)");
  }
  return ED_OK;
}

/* Window keys besides type, and which window types take them. */
enum { W_SIZE = 1, W_ADVANCE = 2, W_GAP = 4, W_GRACE = 8, W_RETENTION = 16 };

static const struct {
  const char *key;
  unsigned bit;
} window_keys[] = {{"size", W_SIZE},
                   {"advance", W_ADVANCE},
                   {"gap", W_GAP},
                   {"grace", W_GRACE},
                   {"retention", W_RETENTION}};

static const struct {
  const char *name;
  ed_win_type_t type;
  unsigned takes, needs;
  const char *takes_text, *needs_text;
} window_types[] = {
    {"tumbling", ED_WIN_TUMBLING, W_SIZE | W_GRACE | W_RETENTION, W_SIZE,
     "size, grace and retention", "size"},
    {"hopping", ED_WIN_HOPPING, W_SIZE | W_ADVANCE | W_GRACE | W_RETENTION, W_SIZE | W_ADVANCE,
     "size, advance, grace and retention", "size and advance"},
    {"session", ED_WIN_SESSION, W_GAP | W_GRACE | W_RETENTION, W_GAP, "gap, grace and retention",
     "gap"},
};

#define NWINDOW_KEYS (sizeof window_keys / sizeof window_keys[0])
#define NWINDOW_TYPES (sizeof window_types / sizeof window_types[0])

static int64_t *window_slot(ed_window_spec_t *w, unsigned bit) {
  switch (bit) {
  case W_SIZE: return &w->size;
  case W_ADVANCE: return &w->advance;
  case W_GAP: return &w->gap;
  case W_GRACE: return &w->grace;
  default: return &w->retention;
  }
}

static int parse_window(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  vc->window = n;
  int rc =
      ed__cfg_check_mapping(cx, n, field, "a mapping (type, size, advance, gap, grace, retention)");
  if (rc != ED_OK) return rc;
  char sub[CFG_FIELD_MAX];
  ed__cfg_subfield(sub, field, "type");
  const yaml_node_t *tn = ed__cfg_map_get(cx, n, "type");
  if (tn == NULL)
    return ed__cfg_fail(cx, n, sub, "missing (required: tumbling, hopping or session)");
  const char *s = NULL;
  rc = ed__cfg_get_scalar(cx, tn, sub, "tumbling, hopping or session", &s);
  if (rc != ED_OK) return rc;
  size_t t = 0;
  while (t < NWINDOW_TYPES && strcmp(window_types[t].name, s) != 0)
    t++;
  if (t == NWINDOW_TYPES)
    return ed__cfg_fail(cx, tn, sub, "expected tumbling, hopping or session, got '%s'", s);

  ed_window_spec_t spec = {.type = window_types[t].type};
  unsigned seen = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p), *v = ed__cfg_pair_value(cx, p);
    const char *key = ed__cfg_scalar_text(k);
    if (strcmp(key, "type") == 0) continue;
    ed__cfg_subfield(sub, field, key);
    size_t i = 0;
    while (i < NWINDOW_KEYS && strcmp(window_keys[i].key, key) != 0)
      i++;
    if (i == NWINDOW_KEYS)
      return ed__cfg_fail(cx, k, sub,
                          "unknown key (expected type, size, advance, gap, grace or retention)");
    if (!(window_types[t].takes & window_keys[i].bit))
      return ed__cfg_fail(cx, k, sub, "not used by a %s window (it takes %s)", window_types[t].name,
                          window_types[t].takes_text);
    rc = ed__cfg_get_scalar(cx, v, sub, DURATION_EXPECTED, &s);
    if (rc != ED_OK) return rc;
    int64_t ms;
    if (ed_duration_parse(s, &ms) != ED_OK)
      return ed__cfg_fail(cx, v, sub, "expected " DURATION_EXPECTED ", got '%s'", s);
    /* 0 would mean "the default" to ed_window_spec_check. */
    if (window_keys[i].bit == W_RETENTION && ms == 0)
      return ed__cfg_fail(cx, v, sub, "must be > 0");
    *window_slot(&spec, window_keys[i].bit) = ms;
    seen |= window_keys[i].bit;
  }
  for (size_t i = 0; i < NWINDOW_KEYS; i++) {
    if ((window_types[t].needs & window_keys[i].bit) && !(seen & window_keys[i].bit)) {
      ed__cfg_subfield(sub, field, window_keys[i].key);
      return ed__cfg_fail(cx, n, sub, "missing (a %s window needs %s)", window_types[t].name,
                          window_types[t].needs_text);
    }
  }
  char werr[256];
  if (ed_window_spec_check(&spec, werr, sizeof werr) != ED_OK)
    return ed__cfg_fail(cx, n, field, "%s", werr);
  vc->def->window = spec;
  return ED_OK;
}

/* ---- view keys ---- */

static int view_from(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  return parse_topic(cx, n, field, &vc->def->from);
}

static int view_to(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  vc->to = n;
  return parse_topic(cx, n, field, &vc->def->to);
}

static int view_format(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  vc->format = n;
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, "json, string, int64 or double", &s);
  if (rc != ED_OK) return rc;
  if (ed_format_parse(s, &vc->def->format) != ED_OK)
    return ed__cfg_fail(cx, n, field, "expected json, string, int64 or double, got '%s'", s);
  return ED_OK;
}

/* key, where and timestamp: an expression, kept as text. */
static int parse_expr_text(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field,
                           char **dst) {
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, "an expression", &s);
  if (rc == ED_OK) rc = check_expr(cx, vc->paths, n, field, s, NULL);
  return rc != ED_OK ? rc : ed__cfg_set_str(cx, dst, s);
}

static int view_key(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  return parse_expr_text(cx, vc, n, field, &vc->def->key);
}

static int view_where(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  return parse_expr_text(cx, vc, n, field, &vc->def->where);
}

static int view_timestamp(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  return parse_expr_text(cx, vc, n, field, &vc->def->timestamp);
}

static int view_on_error(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  static const ed_on_error_t all[] = {ED_ON_ERROR_SKIP, ED_ON_ERROR_DEAD_LETTER, ED_ON_ERROR_STOP};
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, "skip, dead_letter or stop", &s);
  if (rc != ED_OK) return rc;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(s, ed_on_error_name(all[i])) == 0) {
      vc->def->on_error = all[i];
      return ED_OK;
    }
  }
  return ed__cfg_fail(cx, n, field, "expected skip, dead_letter or stop, got '%s'", s);
}

/* Known view keys. A new key is a row here and a function. */
static const struct {
  const char *key;
  int (*parse)(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field);
} view_keys[] = {
    {"from", view_from},
    {"format", view_format},
    {"key", view_key},
    {"where", view_where},
    {"timestamp", view_timestamp},
    {"aggregate", parse_aggregate},
    {"window", parse_window},
    {"to", view_to},
    {"on_error", view_on_error},
};

#define NVIEW_KEYS (sizeof view_keys / sizeof view_keys[0])

/* Checks across keys, once all are read. */
static int check_view(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *name_node, const char *vfield) {
  ed_view_def_t *v = vc->def;
  char field[CFG_FIELD_MAX];
  if (v->from == NULL) {
    ed__cfg_subfield(field, vfield, "from");
    return ed__cfg_fail(cx, name_node, field, "missing (required)");
  }
  if (vc->aggregate == NULL) {
    ed__cfg_subfield(field, vfield, "aggregate");
    return ed__cfg_fail(cx, name_node, field, "missing (required)");
  }
  if (ed_paths_count(vc->paths) > 0 && v->format != ED_FORMAT_JSON) {
    ed__cfg_subfield(field, vfield, "format");
    return ed__cfg_fail(cx, vc->format, field,
                        "field paths need format: json (this view reads '%s')",
                        ed_paths_name(vc->paths, 0));
  }
  if (ed_view_is_latest(v) && vc->window) {
    ed__cfg_subfield(field, vfield, "window");
    return ed__cfg_fail(cx, vc->window, field, "latest tables are not windowed");
  }
  if (v->to && strcmp(v->to, v->from) == 0) {
    ed__cfg_subfield(field, vfield, "to");
    return ed__cfg_fail(cx, vc->to, field, "'%s' is the view's source topic (from)", v->to);
  }
  return ED_OK;
}

static int parse_view(ctx_t *cx, ed_view_def_t *v, const yaml_node_t *name_node,
                      const yaml_node_t *n, const char *vfield) {
  int rc = ed__cfg_check_mapping(cx, n, vfield, "a mapping (from, format, aggregate, ...)");
  if (rc != ED_OK) return rc;
  view_ctx_t vc = {.def = v};
  if (ed_paths_create(&vc.paths) != ED_OK) return ed__cfg_oom(cx);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
       rc == ED_OK && p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p);
    const char *key = ed__cfg_scalar_text(k);
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, vfield, key);
    size_t i = 0;
    while (i < NVIEW_KEYS && strcmp(view_keys[i].key, key) != 0)
      i++;
    if (i == NVIEW_KEYS)
      rc = ed__cfg_fail(
          cx, k, field,
          "unknown key (expected from, format, key, where, timestamp, aggregate, window, to "
          "or on_error)");
    else
      rc = view_keys[i].parse(cx, &vc, ed__cfg_pair_value(cx, p), field);
  }
  if (rc == ED_OK) rc = check_view(cx, &vc, name_node, vfield);
  ed_paths_destroy(vc.paths);
  return rc;
}

int ed__cfg_parse_views(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  int rc = ed__cfg_check_mapping(cx, n, "views", "a mapping of view name to view");
  if (rc != ED_OK) return rc;
  if (ed__cfg_map_len(n) == 0) return ed__cfg_fail(cx, n, "views", "expected at least one view");
  c->views = calloc(ed__cfg_map_len(n), sizeof *c->views);
  if (c->views == NULL) return ed__cfg_oom(cx);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p);
    const char *name = ed__cfg_scalar_text(k);
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, "views", name);
    /* The name becomes a directory under data_dir. */
    if (!ed__cfg_is_name(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      return ed__cfg_fail(cx, k, field, "bad view name '%s' (expected [A-Za-z0-9_.-]+)", name);
    ed_view_def_t *v = &c->views[c->nviews++];
    rc = ed__cfg_set_str(cx, &v->name, name);
    if (rc == ED_OK) rc = parse_view(cx, v, k, ed__cfg_pair_value(cx, p), field);
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

/* Known top-level keys. A new key is a row here and a parse function. */
