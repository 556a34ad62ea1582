#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json_lex.h"

#define ED_JSON_MAX_DEPTH 256

typedef struct {
  const char *s;
  const char *end;
  const char *p;
} scanner_t;

static void skip_ws(scanner_t *sc) { ed_json_lex_ws(&sc->p, sc->end); }

/* At an opening quote; leaves p after the closing quote. */
static int scan_string(scanner_t *sc, ed_json_val_t *v) {
  const char *start;
  size_t len;
  int esc;
  if (ed_json_lex_string(&sc->p, sc->end, &start, &len, &esc) != ED_OK) return ED_EBADREC;
  if (v) {
    v->type = ED_JSON_STRING;
    v->p = start;
    v->len = len;
  }
  return ED_OK;
}

/* Scans one value at p. At depth 1 inside the top-level object, field values
 * are captured by the caller; here v (may be NULL) receives this value. */
static int scan_value(scanner_t *sc, int depth, const ed_json_field_t *fields, size_t nfields,
                      ed_json_val_t *out, ed_json_val_t *v);

static int scan_object(scanner_t *sc, int depth, const ed_json_field_t *fields, size_t nfields,
                       ed_json_val_t *out) {
  if (ed_json_lex_open(&sc->p, sc->end, '}')) return ED_OK;
  for (;;) {
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != '"') return ED_EBADREC;
    ed_json_val_t name;
    if (scan_string(sc, &name) != ED_OK) return ED_EBADREC;
    skip_ws(sc);
    if (sc->p >= sc->end || *sc->p != ':') return ED_EBADREC;
    sc->p++;
    skip_ws(sc);
    ed_json_val_t *slot = NULL;
    if (depth == 1) {
      for (size_t i = 0; i < nfields; i++) {
        if (fields[i].len == name.len && memcmp(fields[i].name, name.p, name.len) == 0) {
          slot = &out[i];
          break;
        }
      }
    }
    if (scan_value(sc, depth, NULL, 0, NULL, slot) != ED_OK) return ED_EBADREC;
    int rc = ed_json_lex_after(&sc->p, sc->end, '}');
    if (rc != 0) return rc == 1 ? ED_OK : ED_EBADREC;
  }
}

static int scan_array(scanner_t *sc, int depth) {
  if (ed_json_lex_open(&sc->p, sc->end, ']')) return ED_OK;
  for (;;) {
    skip_ws(sc);
    if (scan_value(sc, depth, NULL, 0, NULL, NULL) != ED_OK) return ED_EBADREC;
    int rc = ed_json_lex_after(&sc->p, sc->end, ']');
    if (rc != 0) return rc == 1 ? ED_OK : ED_EBADREC;
  }
}

static int scan_value(scanner_t *sc, int depth, const ed_json_field_t *fields, size_t nfields,
                      ed_json_val_t *out, ed_json_val_t *v) {
  if (sc->p >= sc->end) return ED_EBADREC;
  /* depth counts the containers around this value; a container adds one. */
  if ((*sc->p == '{' || *sc->p == '[') && depth >= ED_JSON_MAX_DEPTH) return ED_EBADREC;
  const char *start = sc->p;
  ed_json_type_t type;
  int rc;
  switch (*sc->p) {
  case '{':
    type = ED_JSON_OBJECT;
    rc = scan_object(sc, depth + 1, fields, nfields, out);
    break;
  case '[':
    type = ED_JSON_ARRAY;
    rc = scan_array(sc, depth + 1);
    break;
  case '"':
    return scan_string(sc, v);
  case 't':
    type = ED_JSON_TRUE;
    rc = ed_json_lex_literal(&sc->p, sc->end, "true", 4);
    break;
  case 'f':
    type = ED_JSON_FALSE;
    rc = ed_json_lex_literal(&sc->p, sc->end, "false", 5);
    break;
  case 'n':
    type = ED_JSON_NULL;
    rc = ed_json_lex_literal(&sc->p, sc->end, "null", 4);
    break;
  default:
    type = ED_JSON_NUMBER;
    rc = ed_json_lex_number(&sc->p, sc->end, &(int){0});
    break;
  }
  if (rc == ED_OK && v) {
    v->type = type;
    v->p = start;
    v->len = (size_t)(sc->p - start);
  }
  return rc;
}

int ed_json_scan(const char *json, size_t len, const ed_json_field_t *fields, size_t nfields,
                 ed_json_val_t *out, size_t *errpos) {
  scanner_t sc = {json, json + len, json};
  for (size_t i = 0; i < nfields; i++) out[i].type = ED_JSON_MISSING;
  skip_ws(&sc);
  int rc = scan_value(&sc, 0, fields, nfields, out, NULL);
  if (rc == ED_OK) {
    skip_ws(&sc);
    if (sc.p != sc.end) rc = ED_EBADREC;
  }
  if (rc != ED_OK) {
    for (size_t i = 0; i < nfields; i++) out[i].type = ED_JSON_MISSING;
    if (errpos) *errpos = (size_t)(sc.p - json);
  }
  return rc;
}

int ed_json_number(const ed_json_val_t *v, int *is_int, int64_t *i, double *d) {
  if (v->type != ED_JSON_NUMBER || v->len == 0 || v->len > 400) return ED_EINVAL;
  char tmp[401];
  memcpy(tmp, v->p, v->len);
  tmp[v->len] = '\0';
  *is_int = 0;
  if (memchr(tmp, '.', v->len) == NULL && memchr(tmp, 'e', v->len) == NULL &&
      memchr(tmp, 'E', v->len) == NULL) {
    errno = 0;
    long long n = strtoll(tmp, NULL, 10);
    if (errno == 0) {
      *is_int = 1;
      *i = n;
      *d = (double)n;
      return ED_OK;
    }
  }
  *d = strtod(tmp, NULL);
  return ED_OK;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

static size_t put_utf8(uint32_t cp, char *o) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

long ed_json_unescape(const ed_json_val_t *v, char *out, size_t cap) {
  size_t o = 0;
  const char *p = v->p, *end = v->p + v->len;
  while (p < end) {
    char tmp[4];
    size_t n;
    if (*p != '\\') {
      tmp[0] = *p++;
      n = 1;
    } else {
      p++;
      char c = *p++;
      switch (c) {
      case 'b': tmp[0] = '\b'; n = 1; break;
      case 'f': tmp[0] = '\f'; n = 1; break;
      case 'n': tmp[0] = '\n'; n = 1; break;
      case 'r': tmp[0] = '\r'; n = 1; break;
      case 't': tmp[0] = '\t'; n = 1; break;
      case 'u': {
        uint32_t cp = 0;
        for (int k = 0; k < 4; k++) cp = cp << 4 | (uint32_t)hexval(p[k]);
        p += 4;
        /* A surrogate pair becomes one code point; a lone surrogate U+FFFD. */
        if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
          uint32_t lo = 0;
          for (int k = 0; k < 4; k++) lo = lo << 4 | (uint32_t)hexval(p[2 + k]);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        n = put_utf8(cp, tmp);
        break;
      }
      default: tmp[0] = c; n = 1; break;
      }
    }
    if (o + n > cap) return -1;
    memcpy(out + o, tmp, n);
    o += n;
  }
  return (long)o;
}
