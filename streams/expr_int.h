/* Internals shared by the expression files (paths.c, expr_parse.c,
 * expr_eval.c). */
#ifndef ED_STREAMS_EXPR_INT_H
#define ED_STREAMS_EXPR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "streams/expr.h"

/* Longest path segment (field name) and most segments in one path. */
#define ED__PATH_MAX_SEG 1024
#define ED__PATH_MAX_SEGS 255

/* One segment of a path: a field name, unescaped bytes. Borrowed. */
typedef struct {
  const char *p;
  size_t len;
} ed__seg_t;

/* Interns a path given as segments (a segment may contain '.', e.g. from a
 * `quoted` name). Returns its id (>= 0), ED_EINVAL (empty segment, too long,
 * too many) or ED_ENOMEM. */
int ed__paths_intern_segs(ed_paths_t *p, const ed__seg_t *segs, size_t n);

typedef enum {
  ED__N_LIT = 0, /* a literal: lit */
  ED__N_PATH,    /* a field: path id */
  ED__N_KEY,     /* $key */
  ED__N_VALUE,   /* $value */
  ED__N_TS,      /* $timestamp */
  ED__N_CMP,     /* l op r */
  ED__N_AND,
  ED__N_OR,
  ED__N_NOT /* not l */
} ed__node_kind_t;

typedef enum { ED__EQ = 0, ED__NE, ED__LT, ED__LE, ED__GT, ED__GE } ed__cmp_op_t;

typedef struct {
  ed__node_kind_t kind;
  ed__cmp_op_t op;
  uint32_t l, r;  /* child node indexes (CMP, AND, OR; NOT uses l) */
  size_t path;    /* PATH */
  ed_value_t lit; /* LIT; strings are unescaped, owned by the expression */
} ed__node_t;

struct ed_expr {
  ed__node_t *nodes; /* owned */
  size_t nnodes, cap;
  uint32_t root;
  char **strs; /* owned literal string bytes */
  size_t nstrs, capstrs;
  const ed_paths_t *paths; /* borrowed: for field names in messages */
};

#endif
