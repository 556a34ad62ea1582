#include "streams/format.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static const char *const names[] = {"json", "string", "int64", "double"};

const char *ed_format_name(ed_format_t f) {
  return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

int ed_format_parse(const char *name, ed_format_t *out) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = (ed_format_t)i;
      return ED_OK;
    }
  }
  return ED_EINVAL;
}

static int bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t whylen, const char *fmt, ...) {
  if (why && whylen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return ED_EBADREC;
}

static int is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* A JSON number literal: the value, INT when integral and in range. */
static int json_number(const char *p, size_t len, ed_value_t *out) {
  size_t i = 0;
  int is_int = 1;
  if (i < len && p[i] == '-') i++;
  if (i < len && p[i] == '0')
    i++;
  else if (i < len && p[i] >= '1' && p[i] <= '9')
    while (i < len && p[i] >= '0' && p[i] <= '9')
      i++;
  else
    return ED_EBADREC;
  if (i < len && p[i] == '.') {
    is_int = 0;
    if (++i >= len || p[i] < '0' || p[i] > '9') return ED_EBADREC;
    while (i < len && p[i] >= '0' && p[i] <= '9')
      i++;
  }
  if (i < len && (p[i] == 'e' || p[i] == 'E')) {
    is_int = 0;
    i++;
    if (i < len && (p[i] == '+' || p[i] == '-')) i++;
    if (i >= len || p[i] < '0' || p[i] > '9') return ED_EBADREC;
    while (i < len && p[i] >= '0' && p[i] <= '9')
      i++;
  }
  if (i != len || len >= 400) return ED_EBADREC;
  char tmp[400];
  memcpy(tmp, p, len);
  tmp[len] = '\0';
  if (is_int) {
    /* Exact parse with overflow check; an overflow falls back to double. */
    const char *q = tmp;
    int neg = *q == '-';
    if (neg) q++;
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *q; q++) {
      unsigned d = (unsigned)(*q - '0');
      if (acc > (lim - d) / 10) break;
      acc = acc * 10 + d;
    }
    if (*q == '\0') {
      out->type = ED_V_INT;
      out->v.i = !neg ? (int64_t)acc : acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
      return ED_OK;
    }
  }
  out->type = ED_V_DOUBLE;
  out->v.d = strtod(tmp, NULL);
  return ED_OK;
}

static int decode_json(const char *p, size_t len, ed_value_t *out, char *why, size_t whylen) {
  while (len && is_ws(*p))
    p++, len--;
  while (len && is_ws(p[len - 1]))
    len--;
  if (len == 0) return bad(why, whylen, "value is empty, not JSON");
  switch (*p) {
  case '{':
  case '[':
    out->type = ED_V_JSON;
    out->v.s.p = p;
    out->v.s.len = len;
    out->v.s.escaped = 0;
    return ED_OK;
  case '"':
    if (len < 2 || p[len - 1] != '"') break;
    out->type = ED_V_STRING;
    out->v.s.p = p + 1;
    out->v.s.len = len - 2;
    out->v.s.escaped = 1;
    return ED_OK;
  case 't':
  case 'f':
    if ((len == 4 && memcmp(p, "true", 4) == 0) || (len == 5 && memcmp(p, "false", 5) == 0)) {
      out->type = ED_V_BOOL;
      out->v.b = *p == 't';
      return ED_OK;
    }
    break;
  case 'n':
    if (len == 4 && memcmp(p, "null", 4) == 0) {
      out->type = ED_V_NULL;
      return ED_OK;
    }
    break;
  default:
    if (json_number(p, len, out) == ED_OK) return ED_OK;
    break;
  }
  return bad(why, whylen, "value is not JSON");
}

int ed_format_decode(ed_format_t f, const void *data, size_t len, ed_value_t *out, char *why,
                     size_t whylen) {
  const unsigned char *b = data;
  switch (f) {
  case ED_FORMAT_JSON: return decode_json(data, len, out, why, whylen);
  case ED_FORMAT_STRING:
    out->type = ED_V_STRING;
    out->v.s.p = data;
    out->v.s.len = len;
    out->v.s.escaped = 0;
    return ED_OK;
  case ED_FORMAT_INT64:
  case ED_FORMAT_DOUBLE: {
    if (len != 8)
      return bad(why, whylen, "%s value must be 8 bytes, got %zu", ed_format_name(f), len);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
      u = u << 8 | b[i];
    if (f == ED_FORMAT_INT64) {
      out->type = ED_V_INT;
      memcpy(&out->v.i, &u, sizeof u); /* two's complement */
    } else {
      out->type = ED_V_DOUBLE;
      memcpy(&out->v.d, &u, sizeof u);
    }
    return ED_OK;
  }
  }
  return bad(why, whylen, "unknown format %d", (int)f);
}
