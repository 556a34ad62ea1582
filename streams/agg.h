/* Aggregate functions: their state, how a record updates it, how two states
 * merge (session windows), and the column a query sees.
 *
 * A row's state is a list of typed columns (store/row.h), stored in compact
 * binary form. Each aggregate owns ed_agg_state_width() consecutive state
 * columns:
 *   count           1: INT
 *   sum(x)          1: INT while every input is an integer and nothing
 *                      overflows, then DOUBLE
 *   min(x), max(x)  1: NULL until the first value, then INT, DOUBLE or STRING
 *                      (numbers and strings can't be mixed: ED_EBADREC)
 *   avg(x)          2: sum (as sum(x)) and count (INT)
 *   count_distinct  1: BYTES, an exact set of 64-bit hashes of the values up
 *                      to ED_AGG_DISTINCT_EXACT of them, then a HyperLogLog
 *                      sketch (2^12 registers, standard error 1.6%)
 *   latest          1: the record value itself (JSON, STRING, INT or DOUBLE);
 *                      a NULL record value (tombstone) deletes the row
 */
#ifndef ED_STREAMS_AGG_H
#define ED_STREAMS_AGG_H

#include <stddef.h>

#include "common/buf.h"
#include "store/row.h"
#include "streams/value.h"

#define ED_AGG_DISTINCT_EXACT 256

typedef enum {
  ED_AGG_COUNT = 0,
  ED_AGG_SUM,
  ED_AGG_MIN,
  ED_AGG_MAX,
  ED_AGG_AVG,
  ED_AGG_COUNT_DISTINCT,
  ED_AGG_LATEST
} ed_agg_kind_t;

/* "count", "sum", ... */
const char *ed_agg_kind_name(ed_agg_kind_t k);
/* Parses a function name; ED_OK or ED_EINVAL. */
int ed_agg_kind_parse(const char *name, size_t len, ed_agg_kind_t *out);
/* 1 if the function takes an argument (all but count and latest). */
int ed_agg_takes_arg(ed_agg_kind_t k);

/* Number of state columns of @p k (see above). */
size_t ed_agg_state_width(ed_agg_kind_t k);

/* Sets the initial state (width columns at @p state). */
void ed_agg_init(ed_agg_kind_t k, ed_col_t *state);

/* Adds one value. @p arg is the evaluated argument (ignored by count; for
 * latest, the record's $value). New bytes (count_distinct sets, latest
 * values) are appended to @p arena and the state points at them: the state
 * stays valid until the arena is reset. Returns ED_OK, or ED_EBADREC with a
 * reason in @p why for an argument of the wrong type (not a number for
 * sum/avg; min/max over a bool/null/JSON, or mixing numbers and strings),
 * or ED_ENOMEM. */
int ed_agg_add(ed_agg_kind_t k, ed_col_t *state, const ed_value_t *arg, ed_buf_t *arena, char *why,
               size_t whylen);

/* Merges state @p from into @p into (session windows joining). latest keeps
 * @p from (the later session). Bytes go to @p arena as for ed_agg_add(). */
int ed_agg_merge(ed_agg_kind_t k, ed_col_t *into, const ed_col_t *from, ed_buf_t *arena);

/* The column a query shows: count/sum/min/max as they are, avg as DOUBLE
 * (NULL when the count is 0), count_distinct as INT (exact or estimated),
 * latest as the value. */
void ed_agg_result(ed_agg_kind_t k, const ed_col_t *state, ed_col_t *out);

/* The type a query shows for the column: "int", "double", "number" (int or
 * double), "string", "any". */
const char *ed_agg_result_type(ed_agg_kind_t k);

#endif
