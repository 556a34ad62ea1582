/* Internals of the aggregate functions (streams/agg.c, streams/distinct.c):
 * the count_distinct sketch and the arena helper they share. */
#ifndef ED_STREAMS_AGG_INT_H
#define ED_STREAMS_AGG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "store/row.h"

/* count_distinct state: a BYTES column whose first byte tells the format.
 *   EXACT: tag, then n 64-bit hashes, little-endian, sorted ascending,
 *          unique, n <= ED_AGG_DISTINCT_EXACT (an empty BYTES is an empty set)
 *   HLL:   tag, then ED__HLL_M one-byte registers (index = top ED__HLL_P bits
 *          of the hash, value = 1 + leading zeros of the remaining bits) */
#define ED__DISTINCT_EXACT 1
#define ED__DISTINCT_HLL 2
#define ED__HLL_P 12
#define ED__HLL_M (1u << ED__HLL_P)
#define ED__DISTINCT_MAX_BYTES (1 + ED__HLL_M) /* the largest state blob */

/* A 64-bit hash of @p len bytes at @p p (murmur-style block mix with a
 * 64-bit avalanche finish); @p seed separates value types. */
uint64_t ed__hash64(const void *p, size_t len, uint64_t seed);

/* The empty set (points at a constant byte; needs no arena). */
void ed__distinct_init(ed_col_t *state);
/* Adds hash @p h; new blob in @p arena (nothing appended if @p h is already
 * known). ED_OK, ED_EINVAL (state is not a count_distinct blob) or ED_ENOMEM. */
int ed__distinct_add(ed_col_t *state, uint64_t h, ed_buf_t *arena);
/* Union of two sets; the result blob is in @p arena. Same returns. */
int ed__distinct_merge(ed_col_t *into, const ed_col_t *from, ed_buf_t *arena);
/* Exact count or HyperLogLog estimate; 0 for a corrupt state. */
int64_t ed__distinct_count(const ed_col_t *state);
/* 1 if @p state is an HLL sketch, 0 if exact (for tests). */
int ed__distinct_is_hll(const ed_col_t *state);

/* Takes @p n bytes at the end of @p arena and points *out at them. The
 * @p nkeep pointers in @p keep that point into the arena are rebased if the
 * arena moves, so callers may read their old state while writing the new.
 * ED_OK or ED_ENOMEM (nothing taken). */
int ed__agg_arena_take(ed_buf_t *arena, size_t n, const char **keep, size_t nkeep,
                       unsigned char **out);

#endif
