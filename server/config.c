#include "server/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/err.h"
#include "common/timeutil.h"
#include "streams/expr.h"

#define CFG_MAX_FILE (16u << 20)
#define CFG_FIELD_MAX 256

/* One load: the document being read and where errors go. */
typedef struct {
  const char *path;
  yaml_document_t *doc;
  char *err;
  size_t errlen;
} ctx_t;

/* ---- errors ---- */

/* Writes "<path>:<line>: <field>: <problem>"; without a node the line is
 * left out, and an empty @p field (the top level) is left out too. Always
 * returns ED_ECONFIG so callers can `return fail(...)`. */
static int fail(ctx_t *cx, const yaml_node_t *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(ctx_t *cx, const yaml_node_t *at, const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char where[32] = "";
  if (at) snprintf(where, sizeof where, ":%lu", (unsigned long)at->start_mark.line + 1);
  if (*field)
    snprintf(cx->err, cx->errlen, "%s%s: %s: %s", cx->path, where, field, msg);
  else
    snprintf(cx->err, cx->errlen, "%s%s: %s", cx->path, where, msg);
  return ED_ECONFIG;
}

static int oom(ctx_t *cx) {
  snprintf(cx->err, cx->errlen, "%s: out of memory", cx->path);
  return ED_ENOMEM;
}

static int set_str(ctx_t *cx, char **dst, const char *s) {
  char *copy = strdup(s);
  if (copy == NULL) return oom(cx);
  free(*dst);
  *dst = copy;
  return ED_OK;
}

/* "views" + "user_views" -> "views.user_views"; "" is the top level. */
static void subfield(char *out, const char *parent, const char *key) {
  /* Copied by hand: snprintf draws truncation warnings, and cutting a very
   * long name short is fine, the path is only for messages. */
  const char *parts[] = {parent, *parent ? "." : "", key};
  size_t n = 0;
  for (size_t i = 0; i < 3; i++)
    for (const char *s = parts[i]; *s && n < CFG_FIELD_MAX - 1; s++) out[n++] = *s;
  out[n] = '\0';
}

/* ---- nodes ---- */

static const char *node_kind(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_MAPPING_NODE: return "a mapping";
  case YAML_SEQUENCE_NODE: return "a list";
  default: return "a scalar";
  }
}

static const char *scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* An unquoted empty, ~ or null scalar: YAML's null. */
static int is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *s = scalar_text(n);
  return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0;
}

/* Gets a non-null scalar's text, or fails saying @p what was expected. */
static int get_scalar(ctx_t *cx, const yaml_node_t *n, const char *field, const char *what,
                      const char **out) {
  if (n->type != YAML_SCALAR_NODE)
    return fail(cx, n, field, "expected %s, got %s", what, node_kind(n));
  if (is_null(n)) return fail(cx, n, field, "expected %s, got nothing", what);
  *out = scalar_text(n);
  return ED_OK;
}

static size_t map_len(const yaml_node_t *m) {
  return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

static yaml_node_t *pair_key(ctx_t *cx, const yaml_node_pair_t *p) {
  return yaml_document_get_node(cx->doc, p->key);
}

static yaml_node_t *pair_value(ctx_t *cx, const yaml_node_pair_t *p) {
  return yaml_document_get_node(cx->doc, p->value);
}

/* Checks that @p m is a mapping whose keys are distinct non-empty scalars.
 * libyaml does not reject duplicate keys, and a silently ignored second
 * "aggregate:" is worse than an error. */
static int check_mapping(ctx_t *cx, const yaml_node_t *m, const char *field, const char *what) {
  if (m->type != YAML_MAPPING_NODE)
    return fail(cx, m, field, "expected %s, got %s", what, node_kind(m));
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p);
    if (k->type != YAML_SCALAR_NODE || *scalar_text(k) == '\0')
      return fail(cx, k, field, "keys must be non-empty strings");
    for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
      if (strcmp(scalar_text(pair_key(cx, q)), scalar_text(k)) == 0) {
        char sub[CFG_FIELD_MAX];
        subfield(sub, field, scalar_text(k));
        return fail(cx, k, sub, "duplicate key");
      }
    }
  }
  return ED_OK;
}

/* The value for @p key in mapping @p m, or NULL. */
static yaml_node_t *map_get(ctx_t *cx, const yaml_node_t *m, const char *key) {
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
    if (strcmp(scalar_text(pair_key(cx, p)), key) == 0) return pair_value(cx, p);
  return NULL;
}

/* ---- value checks ---- */

static int all_chars(const char *s, const char *extra, int allow_digit_first) {
  if (*s == '\0') return 0;
  if (!allow_digit_first && *s >= '0' && *s <= '9') return 0;
  for (; *s; s++) {
    char c = *s;
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             strchr(extra, c) != NULL;
    if (!ok) return 0;
  }
  return 1;
}

static int is_name(const char *s) { return all_chars(s, "_.-", 1); }
static int is_column_name(const char *s) { return all_chars(s, "_", 0); }
static int is_instance_id(const char *s) { return all_chars(s, "_.:-", 1); }

/* Digits only (no sign, no spaces), within [lo, hi]. */
static int parse_int(const char *s, long lo, long hi, long *out) {
  if (*s == '\0' || strlen(s) > 9) return 0;
  long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (*p - '0');
  }
  if (v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int get_int(ctx_t *cx, const yaml_node_t *n, const char *field, long lo, long hi, int *out) {
  char what[64];
  snprintf(what, sizeof what, "an integer %ld..%ld", lo, hi);
  const char *s = NULL;
  int rc = get_scalar(cx, n, field, what, &s);
  if (rc != ED_OK) return rc;
  long v;
  if (!parse_int(s, lo, hi, &v)) return fail(cx, n, field, "expected %s, got '%s'", what, s);
  *out = (int)v;
  return ED_OK;
}

/* The port after the last ':' of host:port, or -1. */
static long listen_port(const char *listen) {
  const char *colon = strrchr(listen, ':');
  long port;
  if (colon == NULL || colon == listen || !parse_int(colon + 1, 0, 65535, &port)) return -1;
  return port;
}

/* ---- top-level keys ---- */

static int parse_app(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = get_scalar(cx, n, "app", "a name [A-Za-z0-9_.-]+", &s);
  if (rc != ED_OK) return rc;
  if (!is_name(s)) return fail(cx, n, "app", "expected a name [A-Za-z0-9_.-]+, got '%s'", s);
  return set_str(cx, &c->app, s);
}

static int parse_instance_id(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                             const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = get_scalar(cx, n, "instance_id", "an id [A-Za-z0-9_.:-]+", &s);
  if (rc != ED_OK) return rc;
  if (!is_instance_id(s))
    return fail(cx, n, "instance_id", "expected an id [A-Za-z0-9_.:-]+, got '%s'", s);
  return set_str(cx, &c->instance_id, s);
}

static int add_kafka_prop(ctx_t *cx, ed_config_t *c, const char *name, const char *value) {
  ed_kv_t *kv = &c->kafka[c->nkafka];
  kv->name = strdup(name);
  kv->value = strdup(value);
  if (kv->name == NULL || kv->value == NULL) {
    free(kv->name);
    free(kv->value);
    kv->name = kv->value = NULL;
    return oom(cx);
  }
  c->nkafka++;
  return ED_OK;
}

static int parse_kafka(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  int rc = check_mapping(cx, n, "kafka", "a mapping of librdkafka properties");
  if (rc != ED_OK) return rc;
  if (map_len(n) > 0) {
    c->kafka = calloc(map_len(n), sizeof *c->kafka);
    if (c->kafka == NULL) return oom(cx);
  }
  int have_servers = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *name = scalar_text(pair_key(cx, p));
    yaml_node_t *v = pair_value(cx, p);
    char field[CFG_FIELD_MAX];
    subfield(field, "kafka", name);
    const char *value;
    if (strcmp(name, "bootstrap.servers") == 0) {
      rc = get_scalar(cx, v, field, "host:port[,host:port...] or embedded", &value);
      if (rc != ED_OK) return rc;
      have_servers = 1;
      if (strcmp(value, "embedded") == 0) {
        c->embedded_kafka = 1;
        continue;
      }
      rc = set_str(cx, &c->bootstrap_servers, value);
    } else {
      /* librdkafka checks the property itself when the client is created. */
      rc = get_scalar(cx, v, field, "a property value", &value);
      if (rc == ED_OK) rc = add_kafka_prop(cx, c, name, value);
    }
    if (rc != ED_OK) return rc;
  }
  if (!have_servers) return fail(cx, key, "kafka.bootstrap.servers", "missing (required)");
  if (c->nkafka == 0) {
    free(c->kafka);
    c->kafka = NULL;
  }
  return ED_OK;
}

/* http.tls: { cert: FILE, key: FILE }; the files are read at start. */
static int parse_tls(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  int rc = check_mapping(cx, n, "http.tls", "a mapping (cert, key)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p), *v = pair_value(cx, p);
    const char *name = scalar_text(k), *s;
    char field[CFG_FIELD_MAX];
    subfield(field, "http.tls", name);
    int is_cert = strcmp(name, "cert") == 0;
    if (!is_cert && strcmp(name, "key") != 0)
      return fail(cx, k, field, "unknown key (expected cert or key)");
    rc = get_scalar(cx, v, field, is_cert ? "a PEM certificate file" : "a PEM key file", &s);
    if (rc == ED_OK) rc = set_str(cx, is_cert ? &c->http_tls_cert : &c->http_tls_key, s);
    if (rc != ED_OK) return rc;
  }
  if (c->http_tls_cert == NULL) return fail(cx, key, "http.tls.cert", "missing (required)");
  if (c->http_tls_key == NULL) return fail(cx, key, "http.tls.key", "missing (required)");
  return ED_OK;
}

static int parse_http(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  int rc = check_mapping(cx, n, "http",
                         "a mapping (listen, advertised_url, tls, ready_max_lag, threads)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p), *v = pair_value(cx, p);
    const char *name = scalar_text(k), *s;
    char field[CFG_FIELD_MAX];
    subfield(field, "http", name);
    if (strcmp(name, "listen") == 0) {
      rc = get_scalar(cx, v, field, "host:port", &s);
      if (rc != ED_OK) return rc;
      if (listen_port(s) < 0) return fail(cx, v, field, "expected host:port, got '%s'", s);
      rc = set_str(cx, &c->http_listen, s);
    } else if (strcmp(name, "advertised_url") == 0) {
      rc = get_scalar(cx, v, field, "a URL", &s);
      if (rc != ED_OK) return rc;
      if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return fail(cx, v, field, "expected an http:// or https:// URL, got '%s'", s);
      rc = set_str(cx, &c->http_advertised_url, s);
    } else if (strcmp(name, "tls") == 0) {
      rc = parse_tls(cx, c, k, v);
    } else if (strcmp(name, "ready_max_lag") == 0) {
      int lag;
      rc = get_int(cx, v, field, 0, 999999999, &lag);
      c->http_ready_max_lag = lag;
    } else if (strcmp(name, "threads") == 0) {
      rc = get_int(cx, v, field, 1, 64, &c->http_threads);
    } else {
      return fail(cx, k, field,
                  "unknown key (expected listen, advertised_url, tls, ready_max_lag or threads)");
    }
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

static int parse_data_dir(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = get_scalar(cx, n, "data_dir", "a directory", &s);
  return rc != ED_OK ? rc : set_str(cx, &c->data_dir, s);
}

static int parse_commit_interval(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                                 const yaml_node_t *n) {
  (void)key;
  return get_int(cx, n, "commit_interval_ms", 1, 60000, &c->commit_interval_ms);
}

static int parse_embedded_kafka(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                                const yaml_node_t *n) {
  (void)key;
  int rc = check_mapping(cx, n, "embedded_kafka", "a mapping (partitions)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p);
    char field[CFG_FIELD_MAX];
    subfield(field, "embedded_kafka", scalar_text(k));
    if (strcmp(scalar_text(k), "partitions") != 0)
      return fail(cx, k, field, "unknown key (expected partitions)");
    rc = get_int(cx, pair_value(cx, p), field, 1, 256, &c->embedded_partitions);
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

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
  if (copy == NULL) return oom(cx);
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
  if (rc == ED_ENOMEM) return oom(cx);
  if (rc != ED_OK) return fail(cx, n, field, "%s", perr);
  if (is_path) *is_path = ed_expr_is_path(e);
  ed_expr_destroy(e);
  return ED_OK;
}

static int parse_topic(ctx_t *cx, const yaml_node_t *n, const char *field, char **dst) {
  const char *s = NULL;
  int rc = get_scalar(cx, n, field, "a topic name", &s);
  if (rc != ED_OK) return rc;
  if (!is_name(s) || strlen(s) > 249)
    return fail(cx, n, field, "expected a topic name [A-Za-z0-9._-]{1,249}, got '%s'", s);
  return set_str(cx, dst, s);
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
  if (a->arg == NULL) return set_str(cx, &a->column, fn);
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
      return rc == ED_ENOMEM ? oom(cx) : fail(cx, n, field, "cannot parse '%s'", a->arg);
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
      rc = oom(cx);
    } else {
      memcpy(col, fn, fnlen);
      col[fnlen] = '_';
      for (size_t i = 0; i <= len; i++) col[fnlen + 1 + i] = name[i] == '.' ? '_' : name[i];
    }
  }
  ed_expr_destroy(e);
  ed_paths_destroy(tmp);
  if (rc != ED_OK) return rc;
  if (col == NULL || !is_column_name(col)) {
    free(col);
    return fail(cx, n, field,
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
  int rc = get_scalar(cx, n, field, "an aggregate (" AGG_EXPECTED ")", &s);
  if (rc != ED_OK) return rc;
  const char *p = s;
  while (is_blank(*p)) p++;
  const char *fn = p;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
         *p == '_')
    p++;
  size_t fnlen = (size_t)(p - fn);
  ed_agg_kind_t kind;
  if (fnlen == 0)
    return fail(cx, n, field, "unknown aggregate '%s' (expected " AGG_EXPECTED ")", s);
  if (ed_agg_kind_parse(fn, fnlen, &kind) != ED_OK)
    return fail(cx, n, field, "unknown aggregate '%.*s' (expected " AGG_EXPECTED ")", (int)fnlen,
                fn);
  while (is_blank(*p)) p++;
  const char *a0 = p, *a1 = p; /* the argument is [a0, a1) */
  int call = *p == '(';
  if (call) {
    const char *close = matching_paren(p);
    if (close == NULL)
      return fail(cx, n, field, "malformed aggregate '%s': the '(' at column %zu is not closed", s,
                  (size_t)(p - s) + 1);
    a0 = p + 1;
    a1 = close;
    p = close + 1;
    while (is_blank(*p)) p++;
  }
  if (*p != '\0')
    return fail(cx, n, field, "malformed aggregate '%s' (expected " AGG_EXPECTED ")", s);
  while (a0 < a1 && is_blank(*a0)) a0++;
  while (a1 > a0 && is_blank(a1[-1])) a1--;

  const char *name = ed_agg_kind_name(kind);
  a->kind = kind;
  int is_path = 0;
  if (!ed_agg_takes_arg(kind)) {
    if (a1 > a0) return fail(cx, n, field, "%s takes no argument, got '%s'", name, s);
  } else {
    if (a1 == a0) return fail(cx, n, field, "%s needs an argument: %s(<expression>)", name, name);
    /* Parsed with everything before the argument blanked out, so that the
     * parser's columns count from the start of the aggregate's text. */
    size_t off = (size_t)(a0 - s), len = (size_t)(a1 - a0);
    char *padded = malloc(off + len + 1);
    if (padded == NULL) return oom(cx);
    memset(padded, ' ', off);
    memcpy(padded + off, a0, len);
    padded[off + len] = '\0';
    rc = check_expr(cx, paths, n, field, padded, &is_path);
    free(padded);
    if (rc == ED_OK) rc = set_strn(cx, &a->arg, a0, len);
    if (rc != ED_OK) return rc;
  }
  if (column) return set_str(cx, &a->column, column);
  return default_column(cx, n, field, a, is_path);
}

static int parse_aggregate(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field) {
  ed_view_def_t *v = vc->def;
  vc->aggregate = n;
  if (n->type == YAML_SCALAR_NODE) {
    v->naggs = 1; /* counted first, so that fini frees what parse_agg stored */
    return parse_agg(cx, vc->paths, n, field, NULL, &v->aggs[0]);
  }
  int rc = check_mapping(cx, n, field,
                         "an aggregate (" AGG_EXPECTED ") or a mapping of column: aggregate");
  if (rc != ED_OK) return rc;
  size_t len = map_len(n);
  if (len == 0 || len > ED_VIEW_MAX_AGGS)
    return fail(cx, n, field, "expected 1..%d aggregates, got %zu", ED_VIEW_MAX_AGGS, len);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p), *val = pair_value(cx, p);
    const char *col = scalar_text(k);
    char sub[CFG_FIELD_MAX];
    subfield(sub, field, col);
    if (!is_column_name(col))
      return fail(cx, k, sub, "expected a column name [A-Za-z_][A-Za-z0-9_]*, got '%s'", col);
    ed_agg_def_t *a = &v->aggs[v->naggs++];
    rc = parse_agg(cx, vc->paths, val, sub, col, a);
    if (rc != ED_OK) return rc;
    if (a->kind == ED_AGG_LATEST && len > 1)
      return fail(cx, val, sub,
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
      check_mapping(cx, n, field, "a mapping (type, size, advance, gap, grace, retention)");
  if (rc != ED_OK) return rc;
  char sub[CFG_FIELD_MAX];
  subfield(sub, field, "type");
  const yaml_node_t *tn = map_get(cx, n, "type");
  if (tn == NULL) return fail(cx, n, sub, "missing (required: tumbling, hopping or session)");
  const char *s = NULL;
  rc = get_scalar(cx, tn, sub, "tumbling, hopping or session", &s);
  if (rc != ED_OK) return rc;
  size_t t = 0;
  while (t < NWINDOW_TYPES && strcmp(window_types[t].name, s) != 0) t++;
  if (t == NWINDOW_TYPES)
    return fail(cx, tn, sub, "expected tumbling, hopping or session, got '%s'", s);

  ed_window_spec_t spec = {.type = window_types[t].type};
  unsigned seen = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p), *v = pair_value(cx, p);
    const char *key = scalar_text(k);
    if (strcmp(key, "type") == 0) continue;
    subfield(sub, field, key);
    size_t i = 0;
    while (i < NWINDOW_KEYS && strcmp(window_keys[i].key, key) != 0) i++;
    if (i == NWINDOW_KEYS)
      return fail(cx, k, sub,
                  "unknown key (expected type, size, advance, gap, grace or retention)");
    if (!(window_types[t].takes & window_keys[i].bit))
      return fail(cx, k, sub, "not used by a %s window (it takes %s)", window_types[t].name,
                  window_types[t].takes_text);
    rc = get_scalar(cx, v, sub, DURATION_EXPECTED, &s);
    if (rc != ED_OK) return rc;
    int64_t ms;
    if (ed_duration_parse(s, &ms) != ED_OK)
      return fail(cx, v, sub, "expected " DURATION_EXPECTED ", got '%s'", s);
    /* 0 would mean "the default" to ed_window_spec_check. */
    if (window_keys[i].bit == W_RETENTION && ms == 0)
      return fail(cx, v, sub, "must be > 0");
    *window_slot(&spec, window_keys[i].bit) = ms;
    seen |= window_keys[i].bit;
  }
  for (size_t i = 0; i < NWINDOW_KEYS; i++) {
    if ((window_types[t].needs & window_keys[i].bit) && !(seen & window_keys[i].bit)) {
      subfield(sub, field, window_keys[i].key);
      return fail(cx, n, sub, "missing (a %s window needs %s)", window_types[t].name,
                  window_types[t].needs_text);
    }
  }
  char werr[256];
  if (ed_window_spec_check(&spec, werr, sizeof werr) != ED_OK)
    return fail(cx, n, field, "%s", werr);
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
  int rc = get_scalar(cx, n, field, "json, string, int64 or double", &s);
  if (rc != ED_OK) return rc;
  if (ed_format_parse(s, &vc->def->format) != ED_OK)
    return fail(cx, n, field, "expected json, string, int64 or double, got '%s'", s);
  return ED_OK;
}

/* key, where and timestamp: an expression, kept as text. */
static int parse_expr_text(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field,
                           char **dst) {
  const char *s = NULL;
  int rc = get_scalar(cx, n, field, "an expression", &s);
  if (rc == ED_OK) rc = check_expr(cx, vc->paths, n, field, s, NULL);
  return rc != ED_OK ? rc : set_str(cx, dst, s);
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
  int rc = get_scalar(cx, n, field, "skip, dead_letter or stop", &s);
  if (rc != ED_OK) return rc;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(s, ed_on_error_name(all[i])) == 0) {
      vc->def->on_error = all[i];
      return ED_OK;
    }
  }
  return fail(cx, n, field, "expected skip, dead_letter or stop, got '%s'", s);
}

/* Known view keys. A new key is a row here and a function. */
static const struct {
  const char *key;
  int (*parse)(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *n, const char *field);
} view_keys[] = {
    {"from", view_from},           {"format", view_format},       {"key", view_key},
    {"where", view_where},         {"timestamp", view_timestamp}, {"aggregate", parse_aggregate},
    {"window", parse_window},      {"to", view_to},               {"on_error", view_on_error},
};

#define NVIEW_KEYS (sizeof view_keys / sizeof view_keys[0])

/* Checks across keys, once all are read. */
static int check_view(ctx_t *cx, view_ctx_t *vc, const yaml_node_t *name_node,
                      const char *vfield) {
  ed_view_def_t *v = vc->def;
  char field[CFG_FIELD_MAX];
  if (v->from == NULL) {
    subfield(field, vfield, "from");
    return fail(cx, name_node, field, "missing (required)");
  }
  if (vc->aggregate == NULL) {
    subfield(field, vfield, "aggregate");
    return fail(cx, name_node, field, "missing (required)");
  }
  if (ed_paths_count(vc->paths) > 0 && v->format != ED_FORMAT_JSON) {
    subfield(field, vfield, "format");
    return fail(cx, vc->format, field, "field paths need format: json (this view reads '%s')",
                ed_paths_name(vc->paths, 0));
  }
  if (ed_view_is_latest(v) && vc->window) {
    subfield(field, vfield, "window");
    return fail(cx, vc->window, field, "latest tables are not windowed");
  }
  if (v->to && strcmp(v->to, v->from) == 0) {
    subfield(field, vfield, "to");
    return fail(cx, vc->to, field, "'%s' is the view's source topic (from)", v->to);
  }
  return ED_OK;
}

static int parse_view(ctx_t *cx, ed_view_def_t *v, const yaml_node_t *name_node,
                      const yaml_node_t *n, const char *vfield) {
  int rc = check_mapping(cx, n, vfield, "a mapping (from, format, aggregate, ...)");
  if (rc != ED_OK) return rc;
  view_ctx_t vc = {.def = v};
  if (ed_paths_create(&vc.paths) != ED_OK) return oom(cx);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
       rc == ED_OK && p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p);
    const char *key = scalar_text(k);
    char field[CFG_FIELD_MAX];
    subfield(field, vfield, key);
    size_t i = 0;
    while (i < NVIEW_KEYS && strcmp(view_keys[i].key, key) != 0) i++;
    if (i == NVIEW_KEYS)
      rc = fail(cx, k, field,
                "unknown key (expected from, format, key, where, timestamp, aggregate, window, to "
                "or on_error)");
    else
      rc = view_keys[i].parse(cx, &vc, pair_value(cx, p), field);
  }
  if (rc == ED_OK) rc = check_view(cx, &vc, name_node, vfield);
  ed_paths_destroy(vc.paths);
  return rc;
}

static int parse_views(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  int rc = check_mapping(cx, n, "views", "a mapping of view name to view");
  if (rc != ED_OK) return rc;
  if (map_len(n) == 0) return fail(cx, n, "views", "expected at least one view");
  c->views = calloc(map_len(n), sizeof *c->views);
  if (c->views == NULL) return oom(cx);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p);
    const char *name = scalar_text(k);
    char field[CFG_FIELD_MAX];
    subfield(field, "views", name);
    /* The name becomes a directory under data_dir. */
    if (!is_name(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      return fail(cx, k, field, "bad view name '%s' (expected [A-Za-z0-9_.-]+)", name);
    ed_view_def_t *v = &c->views[c->nviews++];
    rc = set_str(cx, &v->name, name);
    if (rc == ED_OK) rc = parse_view(cx, v, k, pair_value(cx, p), field);
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

/* Known top-level keys. A new key is a row here and a parse function. */
static const struct {
  const char *key;
  int required;
  /* @p key is the key's node: a missing field inside is reported at its line. */
  int (*parse)(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n);
} top_keys[] = {
    {"app", 1, parse_app},
    {"instance_id", 0, parse_instance_id},
    {"kafka", 1, parse_kafka},
    {"http", 0, parse_http},
    {"data_dir", 0, parse_data_dir},
    {"commit_interval_ms", 0, parse_commit_interval},
    {"embedded_kafka", 0, parse_embedded_kafka},
    {"views", 1, parse_views},
};

#define TOP_KEYS (sizeof top_keys / sizeof top_keys[0])

static int parse_root(ctx_t *cx, ed_config_t *c, const yaml_node_t *root) {
  if (root->type != YAML_MAPPING_NODE)
    return fail(cx, root, "",
                "expected a mapping (app, kafka, views, ...) at the top level, got %s",
                node_kind(root));
  int rc = check_mapping(cx, root, "", "a mapping");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
       p++) {
    yaml_node_t *k = pair_key(cx, p);
    const char *key = scalar_text(k);
    size_t i = 0;
    while (i < TOP_KEYS && strcmp(top_keys[i].key, key) != 0) i++;
    if (i == TOP_KEYS) return fail(cx, k, key, "unknown key");
    rc = top_keys[i].parse(cx, c, k, pair_value(cx, p));
    if (rc != ED_OK) return rc;
  }
  for (size_t i = 0; i < TOP_KEYS; i++)
    if (top_keys[i].required && map_get(cx, root, top_keys[i].key) == NULL)
      return fail(cx, NULL, top_keys[i].key, "missing (required)");
  return ED_OK;
}

/* Fills what the file left out. */
static int apply_defaults(ctx_t *cx, ed_config_t *c) {
  int rc = ED_OK;
  if (c->http_listen == NULL) rc = set_str(cx, &c->http_listen, "0.0.0.0:8080");
  if (rc == ED_OK && c->http_advertised_url == NULL) {
    char url[64];
    snprintf(url, sizeof url, "%s://localhost:%ld", c->http_tls_cert ? "https" : "http",
             listen_port(c->http_listen));
    rc = set_str(cx, &c->http_advertised_url, url);
  }
  if (rc == ED_OK && c->instance_id == NULL) {
    /* <hostname>:<http port>; a host name is [A-Za-z0-9.-], so the default
     * is a valid id (anything else in it becomes '_'). */
    char host[256] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    for (char *h = host; *h; h++)
      if (!is_instance_id((char[2]){*h, '\0'})) *h = '_';
    char id[300];
    snprintf(id, sizeof id, "%s:%ld", host, listen_port(c->http_listen));
    rc = set_str(cx, &c->instance_id, id);
  }
  if (rc == ED_OK && c->data_dir == NULL) rc = set_str(cx, &c->data_dir, "./data");
  return rc;
}

/* ---- file ---- */

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return ED_EIO;
  }
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      char *p = cap <= CFG_MAX_FILE ? realloc(data, cap) : NULL;
      if (p == NULL) {
        free(data);
        fclose(f);
        if (cap > CFG_MAX_FILE) {
          snprintf(err, errlen, "%s: cannot read: larger than %u bytes", path, CFG_MAX_FILE);
          return ED_EIO;
        }
        snprintf(err, errlen, "%s: out of memory", path);
        return ED_ENOMEM;
      }
      data = p;
    }
    size_t n = fread(data + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  int bad = ferror(f);
  int saved = errno;
  fclose(f);
  if (bad) {
    free(data);
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(saved));
    return ED_EIO;
  }
  *out = data;
  *outlen = len;
  return ED_OK;
}

static int syntax_error(const char *path, const yaml_parser_t *yp, char *err, size_t errlen) {
  if (yp->error == YAML_MEMORY_ERROR) {
    snprintf(err, errlen, "%s: out of memory", path);
    return ED_ENOMEM;
  }
  snprintf(err, errlen, "%s:%lu: YAML syntax error: %s", path,
           (unsigned long)yp->problem_mark.line + 1, yp->problem ? yp->problem : "unknown problem");
  return ED_ECONFIG;
}

/* Parses the text into @p doc; a second document in the file is an error. */
static int load_yaml(const char *path, const char *text, size_t len, yaml_document_t *doc,
                     char *err, size_t errlen) {
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) {
    snprintf(err, errlen, "%s: out of memory", path);
    return ED_ENOMEM;
  }
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  int rc = ED_OK;
  if (!yaml_parser_load(&yp, doc)) {
    rc = syntax_error(path, &yp, err, errlen);
    yaml_parser_delete(&yp);
    return rc;
  }
  yaml_document_t extra;
  if (!yaml_parser_load(&yp, &extra)) {
    rc = syntax_error(path, &yp, err, errlen);
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    if (root) {
      snprintf(err, errlen, "%s:%lu: expected one YAML document, found another", path,
               (unsigned long)root->start_mark.line + 1);
      rc = ED_ECONFIG;
    }
    yaml_document_delete(&extra);
  }
  if (rc != ED_OK) yaml_document_delete(doc);
  yaml_parser_delete(&yp);
  return rc;
}

int ed_config_load(const char *path, ed_config_t **out, char *err, size_t errlen) {
  char *text;
  size_t len;
  int rc = read_file(path, &text, &len, err, errlen);
  if (rc != ED_OK) return rc;
  yaml_document_t doc;
  rc = load_yaml(path, text, len, &doc, err, errlen);
  free(text);
  if (rc != ED_OK) return rc;

  ctx_t cx = {path, &doc, err, errlen};
  ed_config_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    rc = oom(&cx);
  } else {
    c->embedded_partitions = 4;
    c->commit_interval_ms = 100;
    c->http_ready_max_lag = 1000;
    c->http_threads = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
      snprintf(err, errlen, "%s: empty configuration (expected app, kafka and views)", path);
      rc = ED_ECONFIG;
    } else {
      rc = set_str(&cx, &c->path, path);
      if (rc == ED_OK) rc = parse_root(&cx, c, root);
      if (rc == ED_OK) rc = apply_defaults(&cx, c);
    }
  }
  yaml_document_delete(&doc);
  if (rc != ED_OK) {
    ed_config_free(c);
    return rc;
  }
  *out = c;
  return ED_OK;
}

void ed_config_free(ed_config_t *c) {
  if (c == NULL) return;
  free(c->path);
  free(c->app);
  free(c->bootstrap_servers);
  for (size_t i = 0; i < c->nkafka; i++) {
    free(c->kafka[i].name);
    free(c->kafka[i].value);
  }
  free(c->kafka);
  free(c->instance_id);
  free(c->http_listen);
  free(c->http_advertised_url);
  free(c->http_tls_cert);
  free(c->http_tls_key);
  free(c->data_dir);
  for (size_t i = 0; i < c->nviews; i++) ed_view_def_fini(&c->views[i]);
  free(c->views);
  free(c);
}
