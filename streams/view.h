/* View definitions: what a view reads, how it groups and what it computes.
 * Built by the config loader (server/config.c) or by a program embedding the
 * engine; compiled into a topology by ed_view_compile() (streams/compile.h)
 * and described to queries by the query module. */
#ifndef ED_STREAMS_VIEW_H
#define ED_STREAMS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "streams/agg.h"
#include "streams/format.h"
#include "streams/window.h"

#define ED_VIEW_MAX_AGGS 32

/* A librdkafka property, passed through as is. */
typedef struct {
  char *name;
  char *value;
} ed_kv_t;

/* What a bad record does. */
typedef enum { ED_ON_ERROR_SKIP = 0, ED_ON_ERROR_DEAD_LETTER, ED_ON_ERROR_STOP } ed_on_error_t;

const char *ed_on_error_name(ed_on_error_t e);

typedef struct {
  char *column;       /* output column name ("count", "sum_amount", or the config's name) */
  ed_agg_kind_t kind;
  char *arg;          /* argument expression text (streams/expr.h); NULL for count, latest */
} ed_agg_def_t;

typedef struct {
  char *name;          /* view name, [A-Za-z0-9_.-]+ */
  char *from;          /* source topic */
  ed_format_t format;  /* record value format */
  char *key;           /* grouping expression; NULL: the record key */
  char *where;         /* filter expression; NULL: every record */
  char *timestamp;     /* event-time expression (epoch ms number or ISO 8601 string);
                          NULL: the Kafka record timestamp */
  ed_agg_def_t aggs[ED_VIEW_MAX_AGGS];
  size_t naggs;        /* latest: exactly one aggregate of kind ED_AGG_LATEST */
  ed_window_spec_t window; /* type ED_WIN_NONE: not windowed */
  char *to;            /* output topic for row changes; NULL: none */
  ed_on_error_t on_error;
} ed_view_def_t;

/* 1 if the view is a table of latest values (aggregate: latest). */
static inline int ed_view_is_latest(const ed_view_def_t *d) {
  return d->naggs == 1 && d->aggs[0].kind == ED_AGG_LATEST;
}

/* A 64-bit fingerprint of everything that shapes the view's state (source,
 * format, key, where, timestamp, aggregates, window; not its name, output
 * topic or error policy). Stored with the state: a change means the state
 * must be rebuilt. */
uint64_t ed_view_fingerprint(const ed_view_def_t *d);

/* Frees the strings a definition owns (not @p def itself). */
void ed_view_def_fini(ed_view_def_t *def);

#endif
