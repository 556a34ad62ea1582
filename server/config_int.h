/* Config loading internals shared by config.c (top-level keys, files),
 * config_view.c (views) and config_yaml.c (errors, YAML nodes, value
 * checks). */
#ifndef ED_SERVER_CONFIG_INT_H
#define ED_SERVER_CONFIG_INT_H

#include <stddef.h>
#include <yaml.h>

#include "server/config.h"

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
 * returns ED_ECONFIG so callers can `return ed__cfg_fail(...)`. */
int ed__cfg_fail(ctx_t *cx, const yaml_node_t *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ed__cfg_oom(ctx_t *cx);
/* Replaces *dst with a copy of @p s. */
int ed__cfg_set_str(ctx_t *cx, char **dst, const char *s);
/* "parent.key" (or "key" at the top level) into @p out (CFG_FIELD_MAX). */
void ed__cfg_subfield(char *out, const char *parent, const char *key);

/* ---- nodes ---- */

const char *ed__cfg_node_kind(const yaml_node_t *n);
const char *ed__cfg_scalar_text(const yaml_node_t *n);
int ed__cfg_is_null(const yaml_node_t *n);
/* A scalar's text into *out, or an error saying @p what was expected. */
int ed__cfg_get_scalar(ctx_t *cx, const yaml_node_t *n, const char *field, const char *what,
                       const char **out);
size_t ed__cfg_map_len(const yaml_node_t *m);
yaml_node_t *ed__cfg_pair_key(ctx_t *cx, const yaml_node_pair_t *p);
yaml_node_t *ed__cfg_pair_value(ctx_t *cx, const yaml_node_pair_t *p);
/* A mapping with scalar, unique keys, or an error naming @p field. */
int ed__cfg_check_mapping(ctx_t *cx, const yaml_node_t *m, const char *field, const char *what);
yaml_node_t *ed__cfg_map_get(ctx_t *cx, const yaml_node_t *m, const char *key);

/* ---- value checks ---- */

int ed__cfg_all_chars(const char *s, const char *extra, int allow_digit_first);
int ed__cfg_is_name(const char *s);
int ed__cfg_is_column_name(const char *s);
int ed__cfg_is_instance_id(const char *s);
int ed__cfg_parse_int(const char *s, long lo, long hi, long *out);
int ed__cfg_get_int(ctx_t *cx, const yaml_node_t *n, const char *field, long lo, long hi, int *out);
long ed__cfg_listen_port(const char *listen);

/* ---- views (config_view.c) ---- */

int ed__cfg_parse_views(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n);

#endif
