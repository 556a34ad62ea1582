/* Error bodies: {"error":{"code":"...","message":"..."}}, or an Error
 * message in protobuf. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "query/query_int.h"

int ed__query_error_raw(ed_buf_t *out, int status, const char *code, const char *msg, size_t len) {
  ed_buf_puts(out, "{\"error\":{\"code\":");
  ed_buf_append_json_string(out, code, strlen(code));
  ed_buf_puts(out, ",\"message\":");
  ed_buf_append_json_string(out, msg, len);
  ed_buf_puts(out, "}}");
  return status;
}

int ed_query_error(ed_buf_t *out, int status, const char *code, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return ed__query_error_raw(out, status, code, "", 0);
  if ((size_t)n < sizeof small) return ed__query_error_raw(out, status, code, small, (size_t)n);

  char *big = malloc((size_t)n + 1);
  if (big == NULL) /* keep what fits rather than nothing */
    return ed__query_error_raw(out, status, code, small, sizeof small - 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  ed__query_error_raw(out, status, code, big, (size_t)n);
  free(big);
  return status;
}

int ed_query_error_encode(ed_buf_t *out, ed_query_enc_t enc, int status, const char *code,
                          const char *msg, size_t len) {
  if (enc != ED_QUERY_PROTOBUF) return ed__query_error_raw(out, status, code, msg, len);
  char *z = malloc(len + 1); /* protobuf-c takes a C string */
  if (z == NULL) {
    out->failed = 1;
    return status;
  }
  memcpy(z, msg, len);
  z[len] = '\0';
  ed__query_error_pb(out, code, z);
  free(z);
  return status;
}
