/* Config loading: errors with file, line and field; YAML node access;
 * value checks shared by the top-level keys and the views. */
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

/* ---- errors ---- */

/* Writes "<path>:<line>: <field>: <problem>"; without a node the line is
 * left out, and an empty @p field (the top level) is left out too. Always
 * returns ED_ECONFIG so callers can `return ed__cfg_fail(...)`. */
int ed__cfg_fail(ctx_t *cx, const yaml_node_t *at, const char *field, const char *fmt, ...) {
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

int ed__cfg_oom(ctx_t *cx) {
  snprintf(cx->err, cx->errlen, "%s: out of memory", cx->path);
  return ED_ENOMEM;
}

int ed__cfg_set_str(ctx_t *cx, char **dst, const char *s) {
  char *copy = strdup(s);
  if (copy == NULL) return ed__cfg_oom(cx);
  free(*dst);
  *dst = copy;
  return ED_OK;
}

/* "views" + "user_views" -> "views.user_views"; "" is the top level. */
void ed__cfg_subfield(char *out, const char *parent, const char *key) {
  /* Copied by hand: snprintf draws truncation warnings, and cutting a very
   * long name short is fine, the path is only for messages. */
  const char *parts[] = {parent, *parent ? "." : "", key};
  size_t n = 0;
  for (size_t i = 0; i < 3; i++)
    for (const char *s = parts[i]; *s && n < CFG_FIELD_MAX - 1; s++)
      out[n++] = *s;
  out[n] = '\0';
}

/* ---- nodes ---- */

const char *ed__cfg_node_kind(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_MAPPING_NODE: return "a mapping";
  case YAML_SEQUENCE_NODE: return "a list";
  default: return "a scalar";
  }
}

const char *ed__cfg_scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* An unquoted empty, ~ or null scalar: YAML's null. */
int ed__cfg_is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
  const char *s = ed__cfg_scalar_text(n);
  return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0;
}

/* Gets a non-null scalar's text, or fails saying @p what was expected. */
int ed__cfg_get_scalar(ctx_t *cx, const yaml_node_t *n, const char *field, const char *what,
                       const char **out) {
  if (n->type != YAML_SCALAR_NODE)
    return ed__cfg_fail(cx, n, field, "expected %s, got %s", what, ed__cfg_node_kind(n));
  if (ed__cfg_is_null(n)) return ed__cfg_fail(cx, n, field, "expected %s, got nothing", what);
  *out = ed__cfg_scalar_text(n);
  return ED_OK;
}

size_t ed__cfg_map_len(const yaml_node_t *m) {
  return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

yaml_node_t *ed__cfg_pair_key(ctx_t *cx, const yaml_node_pair_t *p) {
  return yaml_document_get_node(cx->doc, p->key);
}

yaml_node_t *ed__cfg_pair_value(ctx_t *cx, const yaml_node_pair_t *p) {
  return yaml_document_get_node(cx->doc, p->value);
}

/* Checks that @p m is a mapping whose keys are distinct non-empty scalars.
 * libyaml does not reject duplicate keys, and a silently ignored second
 * "aggregate:" is worse than an error. */
int ed__cfg_check_mapping(ctx_t *cx, const yaml_node_t *m, const char *field, const char *what) {
  if (m->type != YAML_MAPPING_NODE)
    return ed__cfg_fail(cx, m, field, "expected %s, got %s", what, ed__cfg_node_kind(m));
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p);
    if (k->type != YAML_SCALAR_NODE || *ed__cfg_scalar_text(k) == '\0')
      return ed__cfg_fail(cx, k, field, "keys must be non-empty strings");
    for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
      if (strcmp(ed__cfg_scalar_text(ed__cfg_pair_key(cx, q)), ed__cfg_scalar_text(k)) == 0) {
        char sub[CFG_FIELD_MAX];
        ed__cfg_subfield(sub, field, ed__cfg_scalar_text(k));
        return ed__cfg_fail(cx, k, sub, "duplicate key");
      }
    }
  }
  return ED_OK;
}

/* The value for @p key in mapping @p m, or NULL. */
yaml_node_t *ed__cfg_map_get(ctx_t *cx, const yaml_node_t *m, const char *key) {
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
    if (strcmp(ed__cfg_scalar_text(ed__cfg_pair_key(cx, p)), key) == 0)
      return ed__cfg_pair_value(cx, p);
  return NULL;
}

/* ---- value checks ---- */

int ed__cfg_all_chars(const char *s, const char *extra, int allow_digit_first) {
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

int ed__cfg_is_name(const char *s) { return ed__cfg_all_chars(s, "_.-", 1); }
int ed__cfg_is_column_name(const char *s) { return ed__cfg_all_chars(s, "_", 0); }
int ed__cfg_is_instance_id(const char *s) { return ed__cfg_all_chars(s, "_.:-", 1); }

/* Digits only (no sign, no spaces), within [lo, hi]. */
int ed__cfg_parse_int(const char *s, long lo, long hi, long *out) {
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

int ed__cfg_get_int(ctx_t *cx, const yaml_node_t *n, const char *field, long lo, long hi,
                    int *out) {
  char what[64];
  snprintf(what, sizeof what, "an integer %ld..%ld", lo, hi);
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, field, what, &s);
  if (rc != ED_OK) return rc;
  long v;
  if (!ed__cfg_parse_int(s, lo, hi, &v))
    return ed__cfg_fail(cx, n, field, "expected %s, got '%s'", what, s);
  *out = (int)v;
  return ED_OK;
}

/* The port after the last ':' of host:port, or -1. */
long ed__cfg_listen_port(const char *listen) {
  const char *colon = strrchr(listen, ':');
  long port;
  if (colon == NULL || colon == listen || !ed__cfg_parse_int(colon + 1, 0, 65535, &port)) return -1;
  return port;
}
