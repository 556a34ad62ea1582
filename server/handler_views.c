/* The /v1 views API:
 *   GET /v1/views                               the view definitions
 *   GET /v1/views/{view}/keys/{key}[?from=&to=] one key's row, or its windows
 * Path segments and query parameter values are percent-decoded (%XX; '+'
 * stays '+'). Unknown query parameters are ignored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "server/http_int.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes @p len bytes of @p s into @p out (room for @p len bytes). Returns
 * the decoded length, or -1 with *bad_at the offset of a malformed escape. */
static long pct_decode(const char *s, size_t len, char *out, size_t *bad_at) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%') {
      out[o++] = s[i];
      continue;
    }
    int hi = i + 1 < len ? hexval(s[i + 1]) : -1;
    int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      *bad_at = i;
      return -1;
    }
    out[o++] = (char)(hi << 4 | lo);
    i += 2;
  }
  return (long)o;
}

/* Decodes one path segment or query value (@p what names it in errors:
 * "key segment") into the request pool; on a malformed escape
 * sends 400 and returns 0. */
static int decode_segment(h2o_req_t *req, ed_buf_t *scratch, const char *what, const char *s,
                          size_t len, h2o_iovec_t *out) {
  char *dst = h2o_mem_alloc_pool(&req->pool, len + 1);
  size_t bad_at = 0;
  long n = pct_decode(s, len, dst, &bad_at);
  if (n < 0) {
    size_t show = len - bad_at < 3 ? len - bad_at : 3;
    ed_buf_reset(scratch);
    ed_query_error(scratch, 400, "bad_request",
                   "malformed percent-escape '%.*s' at byte %zu of the %s: expected %%XX "
                   "with two hex digits",
                   (int)show, s + bad_at, bad_at, what);
    ed__http_send_json(req, 400, scratch);
    return 0;
  }
  dst[n] = '\0';
  *out = h2o_iovec_init(dst, (size_t)n);
  return 1;
}

/* Parses a whole decimal integer (optional sign, digits only). */
static int parse_i64(const char *s, size_t len, int64_t *out) {
  char buf[32];
  if (len == 0 || len >= sizeof buf) return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  size_t i = (buf[0] == '-' || buf[0] == '+') ? 1 : 0;
  if (i == len) return 0;
  for (size_t j = i; j < len; j++)
    if (buf[j] < '0' || buf[j] > '9') return 0;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(buf, &end, 10);
  if (errno != 0 || end != buf + len) return 0;
  *out = (int64_t)v;
  return 1;
}

/* Parses the query string of a key lookup into @p opts: from and to (epoch
 * ms). On a bad parameter sends 400 and returns 0. */
static int parse_key_opts(h2o_req_t *req, ed_buf_t *scratch, ed_query_key_opts_t *opts) {
  memset(opts, 0, sizeof *opts);
  if (req->query_at == SIZE_MAX) return 1;
  const char *p = req->path.base + req->query_at + 1;
  const char *end = req->path.base + req->path.len;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *pe = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(pe - p));
    const char *name = p, *val = eq ? eq + 1 : pe;
    size_t name_len = (size_t)((eq ? eq : pe) - p), val_len = (size_t)(pe - val);
    p = amp ? amp + 1 : end;

    int is_from = name_len == 4 && memcmp(name, "from", 4) == 0;
    int is_to = name_len == 2 && memcmp(name, "to", 2) == 0;
    if (!is_from && !is_to) continue; /* unknown parameters are ignored */
    const char *which = is_from ? "from" : "to";
    int *has = is_from ? &opts->has_from : &opts->has_to;
    int64_t *dst = is_from ? &opts->from : &opts->to;
    if (*has) {
      ed_buf_reset(scratch);
      ed_query_error(scratch, 400, "bad_request", "query parameter '%s' is given more than once",
                     which);
      ed__http_send_json(req, 400, scratch);
      return 0;
    }
    char what[32];
    snprintf(what, sizeof what, "'%s' query parameter", which);
    h2o_iovec_t v;
    if (!decode_segment(req, scratch, what, val, val_len, &v)) return 0;
    if (!parse_i64(v.base, v.len, dst)) {
      ed_buf_reset(scratch);
      ed_query_error(scratch, 400, "bad_request",
                     "query parameter '%s' must be an integer (epoch ms)", which);
      ed__http_send_json(req, 400, scratch);
      return 0;
    }
    *has = 1;
  }
  return 1;
}

/* Splits off the next segment of [*p, end): returns its length and moves
 * *p past it (not past the '/'). */
static size_t next_segment(const char **p, const char *end) {
  const char *s = *p;
  const char *slash = memchr(s, '/', (size_t)(end - s));
  size_t n = slash ? (size_t)(slash - s) : (size_t)(end - s);
  *p = s + n;
  return n;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req) {
  ed__http_handler_t *h = (ed__http_handler_t *)self;
  ed_buf_t *out = &h->scratch;
  h2o_iovec_t path = ed__http_path(req);
  const char *p = path.base, *end = path.base + path.len;

  /* "/v1/views" ["/" ["{view}/keys/{key}"]] */
  if (path.len < 9 || memcmp(p, "/v1/views", 9) != 0 || (path.len > 9 && p[9] != '/')) {
    ed__http_send_not_found(req, out);
    return 0;
  }
  p += 9;
  if (p == end || (p + 1 == end && *p == '/')) {
    if (!ed__http_is_get(req)) {
      ed__http_send_not_allowed(req, out);
      return 0;
    }
    ed_buf_reset(out);
    int status = ed_query_views(h->engine, out);
    ed__http_send_json(req, status, out);
    return 0;
  }

  p++; /* the '/' after "views" */
  const char *view_raw = p;
  size_t view_raw_len = next_segment(&p, end);
  if (view_raw_len == 0 || end - p < 6 || memcmp(p, "/keys/", 6) != 0) {
    ed__http_send_not_found(req, out);
    return 0;
  }
  p += 6;
  const char *key_raw = p;
  size_t key_raw_len = next_segment(&p, end);
  if (p != end) { /* more segments after the key */
    ed__http_send_not_found(req, out);
    return 0;
  }
  if (!ed__http_is_get(req)) {
    ed__http_send_not_allowed(req, out);
    return 0;
  }

  h2o_iovec_t view, key;
  if (!decode_segment(req, out, "view segment", view_raw, view_raw_len, &view)) return 0;
  if (!decode_segment(req, out, "key segment", key_raw, key_raw_len, &key)) return 0;
  ed_query_key_opts_t opts;
  if (!parse_key_opts(req, out, &opts)) return 0;

  ed_buf_reset(out);
  int status = ed_query_get_key(h->engine, view.base, view.len, key.base, key.len, &opts, out);
  ed__http_send_json(req, status, out);
  return 0;
}

void ed__handler_views_register(h2o_hostconf_t *host, ed_engine_t *engine) {
  h2o_pathconf_t *pc = h2o_config_register_path(host, "/v1", 0);
  ed__http_handler_create(pc, engine, on_req);
}
