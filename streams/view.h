/* View definitions: what a view reads, how it groups and what it computes.
 * Built by the config loader (server/config.c) or by a program embedding the
 * engine; consumed by the engine (streams/engine.h) and the query module. */
#ifndef ED_STREAMS_VIEW_H
#define ED_STREAMS_VIEW_H

#include <stddef.h>

#define ED_VIEW_MAX_AGGS 32

typedef enum { ED_FORMAT_JSON = 0, ED_FORMAT_STRING } ed_format_t;

typedef enum { ED_AGG_COUNT = 0, ED_AGG_SUM } ed_agg_kind_t;

typedef struct {
  char *column;         /* output column name ("count", "sum_amount", or the config's name) */
  ed_agg_kind_t kind;
  char *field;          /* top-level JSON field for SUM; NULL for COUNT */
} ed_agg_def_t;

typedef struct {
  char *name;           /* view name, [A-Za-z0-9_.-]+ */
  char *from;           /* source topic */
  ed_format_t format;   /* record value format */
  ed_agg_def_t aggs[ED_VIEW_MAX_AGGS];
  size_t naggs;
} ed_view_def_t;

/* Text names, for messages and the /v1/views answer. */
const char *ed_format_name(ed_format_t f);
const char *ed_agg_kind_name(ed_agg_kind_t k);

/* Frees the strings a definition owns (not @p def itself). */
void ed_view_def_fini(ed_view_def_t *def);

#endif
