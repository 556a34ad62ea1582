/* A typed value produced while decoding and evaluating a record: a field of
 * a JSON record, the record key or value, a literal, or an expression's
 * result. Strings and JSON texts are borrowed slices of the record (or of a
 * literal in a compiled expression). */
#ifndef ED_STREAMS_VALUE_H
#define ED_STREAMS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef enum {
  ED_V_MISSING = 0, /* a field the record does not have */
  ED_V_NULL,
  ED_V_BOOL,
  ED_V_INT,
  ED_V_DOUBLE,
  ED_V_STRING,
  ED_V_JSON /* an object or array, as raw JSON text */
} ed_vtype_t;

typedef struct {
  ed_vtype_t type;
  union {
    int b;
    int64_t i;
    double d;
    struct {
      const char *p;
      size_t len;
      int escaped; /* 1: JSON string contents with escapes still in (a JSON field) */
    } s;
  } v;
} ed_value_t;

/* "missing", "null", "bool", "int", "double", "string", "object or array". */
const char *ed_value_type_name(ed_vtype_t t);

/* The bytes of a string value, unescaped if needed (into @p scratch, which
 * is reset first). Borrowed: valid until the record or @p scratch changes.
 * Returns ED_OK or ED_EINVAL if @p v is not a string. */
int ed_value_string(const ed_value_t *v, ed_buf_t *scratch, const char **p, size_t *len);

/* The value as grouping-key bytes: strings as their (unescaped) bytes, INT
 * as decimal text, DOUBLE as shortest round-trip text, BOOL as true/false.
 * NULL, MISSING and JSON values cannot be keys: ED_EBADREC. Borrowed like
 * ed_value_string(). */
int ed_value_key_bytes(const ed_value_t *v, ed_buf_t *scratch, const char **p, size_t *len);

/* Numeric value as double: ED_OK or ED_EINVAL if not INT or DOUBLE. */
int ed_value_number(const ed_value_t *v, double *d);

#endif
