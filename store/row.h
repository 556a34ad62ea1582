/* Encoded rows: a value of typed columns, stored as compact binary.
 *
 * Layout: byte 0 = format version (1), byte 1 = column count, then per
 * column one type byte and its payload: INT and DOUBLE 8 bytes little-endian,
 * STRING, BYTES and JSON a 4-byte little-endian length and the bytes, NULL
 * nothing. BYTES is opaque state (never shown to a query as is); JSON is a
 * JSON text shown verbatim. */
#ifndef ED_STORE_ROW_H
#define ED_STORE_ROW_H

#include <stddef.h>
#include <stdint.h>

#define ED_ROW_MAX_COLS 64

typedef enum {
  ED_COL_NULL = 0,
  ED_COL_INT = 1,
  ED_COL_DOUBLE = 2,
  ED_COL_STRING = 3,
  ED_COL_BYTES = 4,
  ED_COL_JSON = 5
} ed_col_type_t;

typedef struct {
  ed_col_type_t type;
  union {
    int64_t i;
    double d;
    struct {
      const char *p; /* STRING, BYTES, JSON; borrowed: from the encoded row or the caller */
      uint32_t len;
    } s;
  } v;
} ed_col_t;

/* Bytes needed to encode @p cols. */
size_t ed_row_encoded_size(const ed_col_t *cols, size_t ncols);

/* Encodes into @p out (capacity @p cap). Returns the length written, or 0 if
 * it does not fit or ncols > ED_ROW_MAX_COLS. */
size_t ed_row_encode(const ed_col_t *cols, size_t ncols, void *out, size_t cap);

/* Decodes @p buf into at most @p max columns; *ncols gets the count. STRING,
 * BYTES and JSON columns borrow from @p buf. Returns ED_OK or ED_EINVAL (corrupt row). */
int ed_row_decode(const void *buf, size_t len, ed_col_t *cols, size_t max, size_t *ncols);

#endif
