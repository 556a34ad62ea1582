/* Expressions of view definitions: `key:`, `where:`, `timestamp:` and
 * aggregate arguments.
 *
 * Grammar (lowest precedence first):
 *   expr    := or
 *   or      := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | cmp
 *   cmp     := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
 *   primary := number | string | "true" | "false" | "null" | path | "(" expr ")"
 *   path    := ident ("." ident)*    ident := [A-Za-z_][A-Za-z0-9_]* or `quoted`
 *   special := $key | $value | $timestamp  (the record key, the whole value,
 *              the record's Kafka timestamp in ms)
 * Strings are "double-quoted" or 'single-quoted' with JSON escapes; numbers are
 * JSON numbers (an optional leading '-'). `and`, `or`, `not`, `true`, `false`,
 * `null` are keywords (a field with such a name is written `quoted`).
 *
 * Evaluation is strict: a path the record lacks, a comparison of values of
 * different types (other than int with double), ordering of bools, nulls or
 * JSON texts, or `and`/`or`/`not` over a non-bool makes the record bad
 * (ED_EBADREC with a reason), never a silent default. In particular
 * `x == null` is true when x is null and a type error otherwise. Strings
 * compare by their unescaped bytes (memcmp order), int with double
 * exactly; objects/arrays are equal when their JSON texts are identical.
 * `and`/`or` short-circuit: the side not evaluated is not checked. A
 * keyword is taken as a field name after a '.' (`a.null`). Running out of
 * memory while comparing escaped strings gives ED_ENOMEM. */
#ifndef ED_STREAMS_EXPR_H
#define ED_STREAMS_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "streams/value.h"

/* The distinct JSON field paths a view reads, each with a small id. One
 * registry per view: every expression of the view interns its paths here,
 * so a record is scanned once for all of them. */
typedef struct ed_paths ed_paths_t;

int ed_paths_create(ed_paths_t **out);
void ed_paths_destroy(ed_paths_t *p); /* NULL is a no-op */
size_t ed_paths_count(const ed_paths_t *p);
/* The dotted text of path @p id ("a.b.c"). Borrowed. */
const char *ed_paths_name(const ed_paths_t *p, size_t id);

/* Interns dotted path @p text (segments separated by '.'); returns its id
 * (>= 0) or a negative ED_E* code. */
int ed_paths_intern(ed_paths_t *p, const char *text, size_t len);

/* Scans one JSON record (validating all of it, one pass, no allocation) and
 * sets out[id] for every registered path: ED_V_MISSING if absent (or if a
 * parent is not an object), else the value (strings as escaped slices,
 * objects/arrays as ED_V_JSON). @p out has ed_paths_count() entries.
 * Returns ED_OK, or ED_EBADREC if the record is not valid JSON (*errpos, if
 * not NULL, gets the byte offset). */
int ed_paths_extract(const ed_paths_t *p, const char *json, size_t len, ed_value_t *out,
                     size_t *errpos);

typedef struct ed_expr ed_expr_t;

/* Parses @p text, interning its paths in @p paths. On failure returns
 * ED_EINVAL with a message in @p err naming the position, e.g.
 * "at column 9: expected a value after '=='". */
int ed_expr_parse(const char *text, ed_paths_t *paths, ed_expr_t **out, char *err, size_t errlen);
void ed_expr_destroy(ed_expr_t *e); /* NULL is a no-op */

/* 1 if the expression is a bare path (or $key/$value): usable where a
 * field is expected. */
int ed_expr_is_path(const ed_expr_t *e);

/* What an expression sees of one record. */
typedef struct {
  const ed_value_t *fields; /* by path id, from ed_paths_extract() (NULL if no paths) */
  ed_value_t key;           /* $key: ED_V_STRING bytes, or ED_V_NULL */
  ed_value_t value;         /* $value: decoded per the view's format */
  int64_t timestamp;        /* $timestamp */
} ed_eval_env_t;

/* Evaluates @p e. @p scratch holds unescaped strings for comparisons and
 * may be reset by the call. On ED_EBADREC, @p why (may be NULL) gets a short
 * reason naming the field, e.g. "field 'amount' is missing" or "cannot
 * compare string with int (field 'age')". Returns ED_OK or ED_EBADREC. */
int ed_expr_eval(const ed_expr_t *e, const ed_eval_env_t *env, ed_buf_t *scratch, ed_value_t *out,
                 char *why, size_t whylen);

#endif
