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

int ed_query_timeout_encode(ed_buf_t *out, ed_query_enc_t enc, const char *msg,
                            const ed_query_position_t *pos, size_t n) {
  if (enc == ED_QUERY_PROTOBUF) {
    ed__query_timeout_pb(out, msg, pos, n);
    return 504;
  }
  ed_buf_puts(out, "{\"error\":{\"code\":\"timeout\",\"message\":");
  ed_buf_append_json_string(out, msg, strlen(msg));
  ed_buf_puts(out, "},\"positions\":[");
  for (size_t i = 0; i < n; i++) {
    ed_buf_printf(out, "%s{\"partition\":%d,\"offset\":%lld", i ? "," : "", (int)pos[i].partition,
                  (long long)pos[i].offset);
    if (pos[i].stream_time != INT64_MIN)
      ed_buf_printf(out, ",\"stream_time\":%lld", (long long)pos[i].stream_time);
    ed_buf_putc(out, '}');
  }
  ed_buf_puts(out, "]}");
  return 504;
}
