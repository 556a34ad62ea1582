/* A growable byte buffer. Caller-embedded: ed_buf_init / ed_buf_fini.
 * Appends never fail silently: on allocation failure the buffer is marked
 * failed (ed_buf_failed) and further appends are ignored, so a caller checks
 * once at the end. */
#ifndef ED_COMMON_BUF_H
#define ED_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *data; /* owned; NUL-terminated after every append when len < cap */
  size_t len;
  size_t cap;
  int failed;
} ed_buf_t;

void ed_buf_init(ed_buf_t *b);
void ed_buf_fini(ed_buf_t *b);
/* Empties the buffer, keeping its memory for reuse. */
static inline void ed_buf_reset(ed_buf_t *b) {
  b->len = 0;
  b->failed = 0;
  if (b->data) b->data[0] = '\0';
}
static inline int ed_buf_failed(const ed_buf_t *b) { return b->failed; }

/* Makes room for @p extra more bytes; returns 0 or ED_ENOMEM. */
int ed_buf_reserve(ed_buf_t *b, size_t extra);
void ed_buf_append(ed_buf_t *b, const void *data, size_t len);
void ed_buf_puts(ed_buf_t *b, const char *s);
void ed_buf_putc(ed_buf_t *b, char c);
void ed_buf_printf(ed_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ed_buf_append_i64(ed_buf_t *b, int64_t v);
/* Shortest text that reads back as the same double ("30", "0.1"); JSON has
 * no NaN or Infinity, so those are written as null. */
void ed_buf_append_double(ed_buf_t *b, double v);
/* Appends @p s as a quoted JSON string, escaping what JSON requires. Bytes
 * that are not valid UTF-8 are written as \u00XX of the byte. */
void ed_buf_append_json_string(ed_buf_t *b, const char *s, size_t len);

#endif
