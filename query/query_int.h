/* Internals of the query module, shared by its files. */
#ifndef ED_QUERY_QUERY_INT_H
#define ED_QUERY_QUERY_INT_H

#include <stddef.h>

#include "common/buf.h"

/* Appends an error body whose message is the raw bytes @p msg (any bytes:
 * they are JSON-escaped); returns @p status. */
int ed__query_error_raw(ed_buf_t *out, int status, const char *code, const char *msg, size_t len);

/* Message builder for errors that quote caller input (keys, view names):
 * collects raw bytes in a scratch buffer so no printf truncation or NUL
 * cut-off can happen. Caller-embedded; ends with ed__query_msg_error(). */
typedef struct {
  ed_buf_t buf;
} ed__query_msg_t;

void ed__query_msg_init(ed__query_msg_t *m);
void ed__query_msg_raw(ed__query_msg_t *m, const char *s, size_t len);
void ed__query_msg_puts(ed__query_msg_t *m, const char *s);
/* Appends the error body to @p out, frees the builder, returns @p status. */
int ed__query_msg_error(ed__query_msg_t *m, ed_buf_t *out, int status, const char *code);

#endif
