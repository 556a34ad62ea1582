/* A validating, allocation-free JSON scanner for the record hot path.
 *
 * ed_json_scan() checks that a record is one well-formed JSON value
 * (RFC 8259) and, when it is an object, returns borrowed slices of the
 * top-level fields the caller asks for, in one pass. It builds no tree: a
 * general-purpose parser (cJSON, jansson) allocates a node per value, which is
 * what bench/json_bench measures against. */
#ifndef ED_COMMON_JSON_H
#define ED_COMMON_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  ED_JSON_MISSING = 0, /* field not present */
  ED_JSON_NULL,
  ED_JSON_FALSE,
  ED_JSON_TRUE,
  ED_JSON_NUMBER,
  ED_JSON_STRING,
  ED_JSON_OBJECT,
  ED_JSON_ARRAY
} ed_json_type_t;

/* A borrowed slice of the input: valid while the input is. For strings, p/len
 * cover the contents between the quotes, still escaped. */
typedef struct {
  ed_json_type_t type;
  const char *p;
  size_t len;
} ed_json_val_t;

/* Names of the top-level fields to extract (not NUL-terminated needed:
 * name/len). */
typedef struct {
  const char *name;
  size_t len;
} ed_json_field_t;

/* Scans @p json (@p len bytes). On ED_OK, out[i] holds field i's value, or
 * type ED_JSON_MISSING if absent or the document is not an object; a
 * duplicated field keeps its last value. Returns ED_EBADREC if the input is
 * not valid JSON (nesting deeper than 256 also counts as invalid); *errpos
 * (may be NULL) then gets the byte offset of the problem. */
int ed_json_scan(const char *json, size_t len, const ed_json_field_t *fields, size_t nfields,
                 ed_json_val_t *out, size_t *errpos);

/* Reads a number slice. *is_int is set when the literal has no fraction or
 * exponent and fits in int64 (then *i holds it); *d always holds the double
 * value. Returns ED_OK or ED_EINVAL if @p v is not a number. */
int ed_json_number(const ed_json_val_t *v, int *is_int, int64_t *i, double *d);

/* Decodes a string slice's escapes into @p out (capacity @p cap). Returns the
 * decoded length, or -1 if it does not fit. */
long ed_json_unescape(const ed_json_val_t *v, char *out, size_t cap);

#endif
