/* libeddy internals: shared between the client's files and its unit tests
 * (which link the static library). Not installed. */
#ifndef EDDY_CLIENT_INT_H
#define EDDY_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "eddy.pb-c.h"
#include "eddy/client.h"

#define EDDY__HIDDEN __attribute__((visibility("hidden")))

struct eddy_row {
  Eddy__V1__Row *owned; /* freed by eddy_row_destroy; NULL for a borrowed row */
  const Eddy__V1__Row *msg;
  const Eddy__V1__Value *value; /* NULL: no value */
  int32_t partition;
  int64_t offset;
};

struct eddy_rows {
  Eddy__V1__MultiGetAnswer *msg;
  eddy_row_t *rows;
  size_t n;
};

struct eddy_windows {
  Eddy__V1__Row *msg;
  eddy_row_t *rows; /* one per window: its value */
  size_t n;
};

struct eddy_views {
  Eddy__V1__ViewList *msg;
};

/* murmur2.c: a copy of common/murmur2.c (the installed library links no
 * internal library), tested against the same vectors. */
EDDY__HIDDEN uint32_t eddy__murmur2(const void *key, size_t len);

/* Fills a borrowed row view of @p msg (with @p value, may be NULL). */
EDDY__HIDDEN void eddy__row_init(eddy_row_t *r, const Eddy__V1__Row *msg,
                                 const Eddy__V1__Value *value, int with_position);

/* Decoders of answer bodies. EDDY_OK, EDDY_ERR_PROTOCOL (undecodable) or
 * EDDY_ERR_NOMEM; *out: caller frees with the matching destroy. */
EDDY__HIDDEN int eddy__decode_row(const uint8_t *b, size_t n, eddy_row_t **out);
EDDY__HIDDEN int eddy__decode_windows(const uint8_t *b, size_t n, eddy_windows_t **out);
EDDY__HIDDEN int eddy__decode_rows(const uint8_t *b, size_t n, eddy_rows_t **out);
EDDY__HIDDEN int eddy__decode_views(const uint8_t *b, size_t n, eddy_views_t **out);

/* The eddy_err_t of an error answer (status >= 400), from its Error message
 * (@p is_pb: the body is protobuf) or else its status; the message, as
 * "HTTP <status> <code>: <message>", into @p msg. */
EDDY__HIDDEN int eddy__error_from_answer(long status, const uint8_t *body, size_t len, int is_pb,
                                         char *msg, size_t cap);

/* The error of an Error code string ("not_found", ...), or 0 if unknown. */
EDDY__HIDDEN int eddy__error_from_code(const char *code);

/* client.c: GET @p pq (path and query) from a seed, with the client's
 * retries and error mapping (eddy_last_error set on failure). EDDY_OK:
 * *body (@p len bytes; caller frees with free()) is the protobuf answer. */
EDDY__HIDDEN int eddy__get_pb(eddy_client_t *c, const char *pq, uint8_t **body, size_t *len);
/* Sets the calling thread's last error on @p c to @p msg; returns @p err. */
EDDY__HIDDEN int eddy__fail(const eddy_client_t *c, int err, const char *msg);

/* cluster.c: decodes a ClusterMap. EDDY_OK, EDDY_ERR_PROTOCOL or
 * EDDY_ERR_NOMEM; *out: caller frees with eddy_cluster_destroy. */
EDDY__HIDDEN int eddy__decode_cluster(const uint8_t *b, size_t n, eddy_cluster_t **out);

#endif
