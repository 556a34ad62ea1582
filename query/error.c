/* Error bodies: {"error":{"code":"...","message":"..."}}. */
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

void ed__query_msg_init(ed__query_msg_t *m) { ed_buf_init(&m->buf); }

void ed__query_msg_raw(ed__query_msg_t *m, const char *s, size_t len) {
  ed_buf_append(&m->buf, s, len);
}

void ed__query_msg_puts(ed__query_msg_t *m, const char *s) { ed_buf_puts(&m->buf, s); }

int ed__query_msg_error(ed__query_msg_t *m, ed_buf_t *out, int status, const char *code) {
  if (ed_buf_failed(&m->buf))
    ed__query_error_raw(out, status, code, "out of memory while building the message",
                        strlen("out of memory while building the message"));
  else
    ed__query_error_raw(out, status, code, m->buf.data ? m->buf.data : "", m->buf.len);
  ed_buf_fini(&m->buf);
  return status;
}
