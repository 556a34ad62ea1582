#include "common/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

void ed_buf_init(ed_buf_t *b) { memset(b, 0, sizeof *b); }

void ed_buf_fini(ed_buf_t *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

int ed_buf_reserve(ed_buf_t *b, size_t extra) {
  if (b->failed) return ED_ENOMEM;
  if (b->len + extra + 1 <= b->cap) return ED_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) {
    b->failed = 1;
    return ED_ENOMEM;
  }
  b->data = p;
  b->cap = cap;
  return ED_OK;
}

void ed_buf_append(ed_buf_t *b, const void *data, size_t len) {
  if (ed_buf_reserve(b, len) != ED_OK) return;
  memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void ed_buf_puts(ed_buf_t *b, const char *s) { ed_buf_append(b, s, strlen(s)); }

void ed_buf_putc(ed_buf_t *b, char c) { ed_buf_append(b, &c, 1); }

void ed_buf_printf(ed_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    ed_buf_append(b, small, (size_t)n);
    return;
  }
  if (ed_buf_reserve(b, (size_t)n) != ED_OK) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void ed_buf_append_i64(ed_buf_t *b, int64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
  ed_buf_append(b, tmp, (size_t)n);
}

void ed_buf_append_double(ed_buf_t *b, double v) {
  if (!isfinite(v)) {
    ed_buf_puts(b, "null");
    return;
  }
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%.15g", v);
  if (strtod(tmp, NULL) != v) n = snprintf(tmp, sizeof tmp, "%.17g", v);
  ed_buf_append(b, tmp, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (n > avail) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void ed_buf_append_json_string(ed_buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (ed_buf_reserve(b, len + 2) != ED_OK) return;
  ed_buf_putc(b, '"');
  const unsigned char *p = (const unsigned char *)s;
  size_t run = 0; /* start of the pending run of bytes copied verbatim */
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    size_t n = c >= 0x20 && c != '"' && c != '\\' ? utf8_seq_len(p + i, len - i) : 0;
    if (n > 0) {
      i += n;
      continue;
    }
    ed_buf_append(b, s + run, i - run);
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    switch (c) {
    case '"': ed_buf_append(b, "\\\"", 2); break;
    case '\\': ed_buf_append(b, "\\\\", 2); break;
    case '\n': ed_buf_append(b, "\\n", 2); break;
    case '\r': ed_buf_append(b, "\\r", 2); break;
    case '\t': ed_buf_append(b, "\\t", 2); break;
    default: ed_buf_append(b, esc, 6); break;
    }
    i++;
    run = i;
  }
  ed_buf_append(b, s + run, len - run);
  ed_buf_putc(b, '"');
}
