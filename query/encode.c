/* Choosing an encoding (Accept) and encoding a result with it. */
#include <string.h>

#include "common/err.h"
#include "query/query.h"
#include "query/query_int.h"

const char *ed_query_content_type(ed_query_enc_t enc) {
  return enc == ED_QUERY_PROTOBUF ? "application/x-protobuf" : "application/json";
}

/* Case-insensitive equality of @p a (@p n bytes) and C string @p b. */
static int ieq(const char *a, size_t n, const char *b) {
  size_t m = strlen(b);
  if (n != m) return 0;
  for (size_t i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (x != y) return 0;
  }
  return 1;
}

/* q=0 (or 0.0, 0.00, 0.000) refuses the type. */
static int q_is_zero(const char *p, size_t n) {
  while (n > 0 && (*p == ' ' || *p == '\t'))
    p++, n--;
  if (n < 2 || !(p[0] == 'q' || p[0] == 'Q') || p[1] != '=') return 0;
  p += 2, n -= 2;
  if (n == 0 || p[0] != '0') return 0;
  for (size_t i = 1; i < n; i++)
    if (p[i] != '.' && p[i] != '0' && p[i] != ' ' && p[i] != '\t') return 0;
  return 1;
}

ed_query_enc_t ed_query_accept(const char *accept, size_t len) {
  if (accept == NULL) return ED_QUERY_JSON;
  const char *p = accept, *end = accept + len;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *ie = comma ? comma : end;
    const char *semi = memchr(p, ';', (size_t)(ie - p));
    const char *te = semi ? semi : ie;
    const char *ts = p;
    while (ts < te && (*ts == ' ' || *ts == '\t'))
      ts++;
    while (te > ts && (te[-1] == ' ' || te[-1] == '\t'))
      te--;
    if (ieq(ts, (size_t)(te - ts), "application/x-protobuf")) {
      int refused = 0;
      for (const char *q = semi; q != NULL && q < ie;) {
        const char *next = memchr(q + 1, ';', (size_t)(ie - q - 1));
        const char *pe = next ? next : ie;
        if (q_is_zero(q + 1, (size_t)(pe - q - 1))) refused = 1;
        q = next;
      }
      if (!refused) return ED_QUERY_PROTOBUF;
    }
    p = comma ? comma + 1 : end;
  }
  return ED_QUERY_JSON;
}

int ed_query_encode(const ed_query_result_t *res, ed_query_enc_t enc, ed_buf_t *out) {
  if (res->oom) {
    ed_query_error_encode(out, enc, 500, "internal", "out of memory", strlen("out of memory"));
    return ED_ENOMEM;
  }
  int rc;
  if (res->kind == ED__QRES_VIEWS && enc == ED_QUERY_PROTOBUF)
    rc = ed__query_views_pb(res->engine, out);
  else if (res->kind == ED__QRES_VIEWS)
    rc = (ed__query_views_json(res->engine, out), ED_OK);
  else if (enc == ED_QUERY_PROTOBUF)
    rc = ed__query_encode_pb(res, out);
  else
    rc = ed__query_encode_json(res, out);
  if (rc == ED_OK && ed_buf_failed(out)) rc = ED_ENOMEM;
  return rc;
}
