#include "server/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/err.h"

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
static int is_field_name(const char *s) { return all_chars(s, "_", 1); }
static int is_column_name(const char *s) { return all_chars(s, "_", 0); }

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
  const char *s;
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
  const char *s;
  int rc = get_scalar(cx, n, "app", "a name [A-Za-z0-9_.-]+", &s);
  if (rc != ED_OK) return rc;
  if (!is_name(s)) return fail(cx, n, "app", "expected a name [A-Za-z0-9_.-]+, got '%s'", s);
  return set_str(cx, &c->app, s);
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

static int parse_http(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  int rc = check_mapping(cx, n, "http", "a mapping (listen, advertised_url)");
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
    } else {
      return fail(cx, k, field, "unknown key (expected listen or advertised_url)");
    }
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

static int parse_data_dir(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  const char *s;
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

/* Parses "count" or "sum(<field>)" (spaces allowed around the parts) into
 * @p a, naming the column @p column or, when NULL, after the aggregate. */
static int parse_agg(ctx_t *cx, const yaml_node_t *n, const char *field, const char *column,
                     ed_agg_def_t *a) {
  const char *s;
  int rc = get_scalar(cx, n, field, "count or sum(<field>)", &s);
  if (rc != ED_OK) return rc;
  const char *p = s;
  while (*p == ' ' || *p == '\t') p++;
  const char *fn = p;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_') p++;
  size_t fnlen = (size_t)(p - fn);
  while (*p == ' ' || *p == '\t') p++;
  char arg[256] = "";
  int has_args = *p == '(';
  if (has_args) {
    p++;
    while (*p == ' ' || *p == '\t') p++;
    const char *a0 = p;
    while (*p && *p != ')' && *p != ' ' && *p != '\t') p++;
    size_t alen = (size_t)(p - a0);
    while (*p == ' ' || *p == '\t') p++;
    if (*p != ')' || alen >= sizeof arg)
      return fail(cx, n, field, "malformed aggregate '%s' (expected count or sum(<field>))", s);
    memcpy(arg, a0, alen);
    arg[alen] = '\0';
    p++;
    while (*p == ' ' || *p == '\t') p++;
  }
  if (*p != '\0' || fnlen == 0)
    return fail(cx, n, field, "unknown aggregate '%s' (expected count or sum(<field>))", s);

  if (fnlen == 5 && memcmp(fn, "count", 5) == 0) {
    if (has_args && arg[0] != '\0') return fail(cx, n, field, "count takes no field, got '%s'", s);
    a->kind = ED_AGG_COUNT;
    a->field = NULL;
    return set_str(cx, &a->column, column ? column : "count");
  }
  if (fnlen == 3 && memcmp(fn, "sum", 3) == 0) {
    if (!has_args) return fail(cx, n, field, "sum needs a field: sum(<field>)");
    if (!is_field_name(arg))
      return fail(cx, n, field, "sum(%s): expected a top-level JSON field name [A-Za-z0-9_]+", arg);
    a->kind = ED_AGG_SUM;
    rc = set_str(cx, &a->field, arg);
    if (rc != ED_OK) return rc;
    if (column) return set_str(cx, &a->column, column);
    char col[sizeof arg + 8];
    snprintf(col, sizeof col, "sum_%s", arg);
    return set_str(cx, &a->column, col);
  }
  return fail(cx, n, field, "unknown aggregate '%.*s' (expected count or sum(<field>))", (int)fnlen,
              fn);
}

static int parse_aggregate(ctx_t *cx, ed_view_def_t *v, const yaml_node_t *n, const char *field) {
  if (n->type == YAML_SCALAR_NODE) {
    int rc = parse_agg(cx, n, field, NULL, &v->aggs[0]);
    if (v->aggs[0].column || v->aggs[0].field) v->naggs = 1; /* so fini frees them */
    return rc;
  }
  int rc = check_mapping(cx, n, field, "count, sum(<field>) or a mapping of column: aggregate");
  if (rc != ED_OK) return rc;
  size_t len = map_len(n);
  if (len == 0 || len > ED_VIEW_MAX_AGGS)
    return fail(cx, n, field, "expected 1..%d aggregates, got %zu", ED_VIEW_MAX_AGGS, len);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p);
    const char *col = scalar_text(k);
    char sub[CFG_FIELD_MAX];
    subfield(sub, field, col);
    if (!is_column_name(col))
      return fail(cx, k, sub, "expected a column name [A-Za-z_][A-Za-z0-9_]*, got '%s'", col);
    ed_agg_def_t *a = &v->aggs[v->naggs];
    rc = parse_agg(cx, pair_value(cx, p), sub, col, a);
    if (a->column || a->field) v->naggs++;
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

/* View keys that later issues will implement: recognised, so the message can
 * say "not supported yet" instead of "unknown key". */
static const struct {
  const char *key;
  const char *why;
} unsupported_view_keys[] = {
    {"key", "grouping by a field needs repartitioning, not supported yet"},
    {"where", "filters are not supported yet"},
    {"window", "windowed aggregation is not supported yet"},
    {"to", "writing a view to a topic is not supported yet"},
    {"timestamp", "event-time timestamps are not supported yet"},
    {"on_error", "on_error policies are not supported yet"},
};

static int parse_view(ctx_t *cx, ed_view_def_t *v, const yaml_node_t *name_node,
                      const yaml_node_t *n, const char *vfield) {
  int rc = check_mapping(cx, n, vfield, "a mapping (from, format, aggregate)");
  if (rc != ED_OK) return rc;
  const yaml_node_t *agg = NULL;
  int have_from = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = pair_key(cx, p), *val = pair_value(cx, p);
    const char *key = scalar_text(k), *s;
    char field[CFG_FIELD_MAX];
    subfield(field, vfield, key);
    if (strcmp(key, "from") == 0) {
      rc = get_scalar(cx, val, field, "a topic name", &s);
      if (rc != ED_OK) return rc;
      if (!is_name(s) || strlen(s) > 249)
        return fail(cx, val, field, "expected a topic name [A-Za-z0-9._-]{1,249}, got '%s'", s);
      rc = set_str(cx, &v->from, s);
      have_from = 1;
    } else if (strcmp(key, "format") == 0) {
      rc = get_scalar(cx, val, field, "json or string", &s);
      if (rc != ED_OK) return rc;
      if (strcmp(s, "json") == 0)
        v->format = ED_FORMAT_JSON;
      else if (strcmp(s, "string") == 0)
        v->format = ED_FORMAT_STRING;
      else
        return fail(cx, val, field, "expected json or string, got '%s'", s);
    } else if (strcmp(key, "aggregate") == 0) {
      agg = val;
      rc = parse_aggregate(cx, v, val, field);
    } else {
      for (size_t i = 0; i < sizeof unsupported_view_keys / sizeof unsupported_view_keys[0]; i++)
        if (strcmp(key, unsupported_view_keys[i].key) == 0)
          return fail(cx, k, field, "%s", unsupported_view_keys[i].why);
      return fail(cx, k, field, "unknown key (expected from, format or aggregate)");
    }
    if (rc != ED_OK) return rc;
  }
  char field[CFG_FIELD_MAX];
  if (!have_from) {
    subfield(field, vfield, "from");
    return fail(cx, name_node, field, "missing (required)");
  }
  subfield(field, vfield, "aggregate");
  if (agg == NULL) return fail(cx, name_node, field, "missing (required)");
  for (size_t i = 0; i < v->naggs; i++)
    if (v->aggs[i].kind == ED_AGG_SUM && v->format != ED_FORMAT_JSON)
      return fail(cx, agg, field, "sum(%s) needs format: json", v->aggs[i].field);
  return ED_OK;
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
    snprintf(url, sizeof url, "http://localhost:%ld", listen_port(c->http_listen));
    rc = set_str(cx, &c->http_advertised_url, url);
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
  free(c->http_listen);
  free(c->http_advertised_url);
  free(c->data_dir);
  for (size_t i = 0; i < c->nviews; i++) ed_view_def_fini(&c->views[i]);
  free(c->views);
  free(c);
}
