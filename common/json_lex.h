/* JSON lexing shared by the validating scanners (common/json.c for
 * top-level fields, streams/paths.c for nested paths): whitespace, strings,
 * numbers and literals per RFC 8259. Inline: these run for every token of
 * every record. Each advances *p past what it read, or returns ED_EBADREC. */
#ifndef ED_COMMON_JSON_LEX_H
#define ED_COMMON_JSON_LEX_H

#include <stddef.h>
#include <string.h>

#include "common/err.h"

static inline void ed_json_lex_ws(const char **p, const char *end) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++;
  *p = s;
}

static inline int ed__json_is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* At an opening quote; leaves *p after the closing quote. *start and *len
 * get the contents (still escaped); *has_esc whether there is a backslash. */
static inline int ed_json_lex_string(const char **p, const char *end, const char **start,
                                     size_t *len, int *has_esc) {
  const char *s = ++*p, *q = s;
  int esc = 0;
  while (q < end) {
    unsigned char c = (unsigned char)*q;
    if (c == '"') {
      *start = s;
      *len = (size_t)(q - s);
      *has_esc = esc;
      *p = q + 1;
      return ED_OK;
    }
    if (c < 0x20) return ED_EBADREC;
    if (c == '\\') {
      esc = 1;
      if (++q >= end) return ED_EBADREC;
      switch (*q) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
      case 'u':
        if (end - q < 5 || !ed__json_is_hex(q[1]) || !ed__json_is_hex(q[2]) ||
            !ed__json_is_hex(q[3]) || !ed__json_is_hex(q[4]))
          return ED_EBADREC;
        q += 4;
        break;
      default: return ED_EBADREC;
      }
    }
    q++;
  }
  *p = q;
  return ED_EBADREC;
}

/* A number at *p; *is_int when it has no fraction or exponent. */
static inline int ed_json_lex_number(const char **pp, const char *end, int *is_int) {
  const char *p = *pp;
  *is_int = 1;
  if (p < end && *p == '-') p++;
  if (p >= end) return ED_EBADREC;
  if (*p == '0')
    p++;
  else if (*p >= '1' && *p <= '9')
    while (p < end && *p >= '0' && *p <= '9') p++;
  else
    return ED_EBADREC;
  if (p < end && *p == '.') {
    *is_int = 0;
    p++;
    if (p >= end || *p < '0' || *p > '9') return ED_EBADREC;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    *is_int = 0;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || *p < '0' || *p > '9') return ED_EBADREC;
    while (p < end && *p >= '0' && *p <= '9') p++;
  }
  *pp = p;
  return ED_OK;
}

/* The literal @p lit (true, false, null) at *p. */
static inline int ed_json_lex_literal(const char **p, const char *end, const char *lit, size_t n) {
  if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) return ED_EBADREC;
  *p += n;
  return ED_OK;
}

/* At '{' or '[': consumes it; returns 1 if the container is empty (the
 * closing @p close consumed too), else 0. */
static inline int ed_json_lex_open(const char **p, const char *end, char close) {
  ++*p;
  ed_json_lex_ws(p, end);
  if (*p < end && **p == close) {
    ++*p;
    return 1;
  }
  return 0;
}

/* After a member or element: ',' (returns 0: another follows), the closing
 * @p close (returns 1: the container ends), anything else ED_EBADREC. */
static inline int ed_json_lex_after(const char **p, const char *end, char close) {
  ed_json_lex_ws(p, end);
  if (*p >= end) return ED_EBADREC;
  if (**p == ',' || **p == close) return *(*p)++ == close;
  return ED_EBADREC;
}

#endif
