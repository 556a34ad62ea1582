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
 *
 * count_distinct hashes each value tagged with its kind: numbers are equal
 * when numerically equal (5 and 5.0 count once), a string never equals a
 * number ("5" and 5 count twice), JSON objects/arrays compare by their raw
 * text, bools are values; NULL is skipped (as in SQL), a missing field is
 * ED_EBADREC. min/max compare int and double exactly, keep the winner's type
 * and on a tie the earlier value; strings compare bytewise (unescaped).
 * latest maps a scalar value to INT, DOUBLE, STRING (unescaped) or NULL, a
 * bool to JSON true/false and an object/array to JSON (its raw text).
 *
 * Arena contract. New bytes (count_distinct sets, min/max strings, latest
 * strings and JSON) are appended to the caller's @p arena and state columns
 * point at them. An ed_buf_t append may move its memory, which invalidates
 * EVERY column pointing into the arena (earlier states and other aggregates
 * of the same row included). A call never disturbs its own input state (it
 * may point into the arena). Two ways to stay correct:
 *   - encode the row (ed_row_encode) before the next call that appends to
 *     the same arena; or
 *   - reserve first: ed_agg_add()/ed_agg_merge() append at most
 *     ed_agg_add_arena_need() / ed_agg_merge_arena_need() bytes, and an
 *     arena with that much room reserved (ed_buf_reserve(arena, sum of the
 *     needs of a row's aggregates)) does not move, so a row's columns all
 *     stay valid until it is encoded or the arena is reset/appended to again.
 *     The reserve itself may move the arena: do it while no live column
 *     points into the arena (e.g. after encoding the previous row).
 * States never borrow from @p arg or from merge's @p from: what they keep is
 * copied to the arena (or is a constant).
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
 * stays valid until the arena is reset or moves (see the arena contract
 * above); on error the state is unchanged. Returns ED_OK, or ED_EBADREC with a
 * reason in @p why for an argument of the wrong type (not a number for
 * sum/avg; min/max over a bool/null/JSON, or mixing numbers and strings;
 * a missing value for any function but count), ED_EINVAL (a corrupt
 * count_distinct state) or ED_ENOMEM. @p why may be NULL. Escaped strings
 * are unescaped through a temporary buffer (the only allocation besides
 * the arena). */
int ed_agg_add(ed_agg_kind_t k, ed_col_t *state, const ed_value_t *arg, ed_buf_t *arena, char *why,
               size_t whylen);

/* Merges state @p from into @p into (session windows joining). latest keeps
 * @p from (the later session). Bytes go to @p arena as for ed_agg_add().
 * Returns ED_OK, ED_EBADREC (min/max of numbers merged with strings),
 * ED_EINVAL (a corrupt count_distinct state) or ED_ENOMEM; @p into is
 * unchanged on error. */
int ed_agg_merge(ed_agg_kind_t k, ed_col_t *into, const ed_col_t *from, ed_buf_t *arena);

/* Upper bounds of the bytes ed_agg_add() (for @p arg) and ed_agg_merge()
 * (for @p from) append to the arena; see the arena contract above. */
size_t ed_agg_add_arena_need(ed_agg_kind_t k, const ed_value_t *arg);
size_t ed_agg_merge_arena_need(ed_agg_kind_t k, const ed_col_t *from);

/* The column a query shows: count/sum/min/max as they are, avg as DOUBLE
 * (NULL when the count is 0), count_distinct as INT (exact or estimated),
 * latest as the value. */
void ed_agg_result(ed_agg_kind_t k, const ed_col_t *state, ed_col_t *out);

/* The type a query shows for the column: "int", "double", "number" (int or
 * double), "string", "any". */
const char *ed_agg_result_type(ed_agg_kind_t k);

#endif
