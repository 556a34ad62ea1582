/* Record value formats: how a view reads the bytes of a Kafka record value. */
#ifndef ED_STREAMS_FORMAT_H
#define ED_STREAMS_FORMAT_H

#include <stddef.h>

#include "streams/value.h"

typedef enum {
  ED_FORMAT_JSON = 0, /* a JSON document */
  ED_FORMAT_STRING,   /* bytes, taken as a (UTF-8) string */
  ED_FORMAT_INT64,    /* 8 bytes, big-endian two's complement (Kafka's LongSerializer) */
  ED_FORMAT_DOUBLE    /* 8 bytes, big-endian IEEE 754 (Kafka's DoubleSerializer) */
} ed_format_t;

/* "json", "string", "int64", "double". */
const char *ed_format_name(ed_format_t f);
/* Parses a format name; ED_OK or ED_EINVAL. */
int ed_format_parse(const char *name, ed_format_t *out);

/* Decodes a non-NULL record value into $value: JSON -> the document's value
 * (objects/arrays as ED_V_JSON, no validation here: ed_paths_extract()
 * validates), STRING -> ED_V_STRING (not escaped), INT64 -> ED_V_INT,
 * DOUBLE -> ED_V_DOUBLE. Returns ED_OK or ED_EBADREC (wrong length for
 * int64/double, or not a JSON value) with a reason in @p why. */
int ed_format_decode(ed_format_t f, const void *data, size_t len, ed_value_t *out, char *why,
                     size_t whylen);

#endif
