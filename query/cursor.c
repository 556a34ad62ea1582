/* Scan cursors: base64url (RFC 4648 section 5, no padding) of
 *   byte 0  version (1)
 *   byte 1  store kind (ed_store_kind_t)
 *   then    the store key of the last row returned.
 * A cursor names a position in the key space, not a snapshot: resuming
 * seeks past that key in every partition, so a table that changed between
 * pages neither skips nor repeats a row that existed throughout. */
#include <string.h>

#include "common/err.h"
#include "query/query_int.h"
#include "streams/window.h"

#define CURSOR_VERSION 1

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

static void put_b64(ed_buf_t *out, const uint8_t *in, size_t n) {
  char chunk[4];
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    chunk[0] = b64[v >> 18 & 63];
    chunk[1] = b64[v >> 12 & 63];
    chunk[2] = b64[v >> 6 & 63];
    chunk[3] = b64[v & 63];
    ed_buf_append(out, chunk, 4);
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    chunk[0] = b64[v >> 18 & 63];
    chunk[1] = b64[v >> 12 & 63];
    ed_buf_append(out, chunk, 2);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    chunk[0] = b64[v >> 18 & 63];
    chunk[1] = b64[v >> 12 & 63];
    chunk[2] = b64[v >> 6 & 63];
    ed_buf_append(out, chunk, 3);
  }
}

void ed__query_cursor_encode(ed_buf_t *out, ed_store_kind_t kind, const void *key, size_t klen) {
  uint8_t raw[2 + ED_QUERY_MAX_KEY];
  if (klen > ED_QUERY_MAX_KEY) klen = ED_QUERY_MAX_KEY; /* stores hold no longer keys */
  raw[0] = CURSOR_VERSION;
  raw[1] = (uint8_t)kind;
  memcpy(raw + 2, key, klen);
  put_b64(out, raw, klen + 2);
}

/* Decodes unpadded base64url; returns the length or -1. Rejects a final
 * quantum of one character and non-zero trailing bits (one text per
 * cursor). */
static long get_b64(const char *text, size_t len, uint8_t *out, size_t cap) {
  if (len % 4 == 1) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64val((unsigned char)text[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= cap) return -1;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return -1; /* leftover bits must be zero */
  return (long)o;
}

int ed__query_cursor_decode(const char *text, size_t len, ed_store_kind_t kind, uint8_t *key,
                            size_t *klen) {
  uint8_t raw[2 + ED_QUERY_MAX_KEY + 1];
  if (text == NULL || len == 0 || len > ED__QUERY_CURSOR_MAX) return ED_EINVAL;
  long n = get_b64(text, len, raw, sizeof raw);
  if (n < 3 || (size_t)n > 2 + ED_QUERY_MAX_KEY) return ED_EINVAL;
  if (raw[0] != CURSOR_VERSION || raw[1] != (uint8_t)kind) return ED_EINVAL;
  size_t kl = (size_t)n - 2;
  if (kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION) {
    uint8_t rk[ED_WKEY_MAX];
    size_t rkl = 0;
    int64_t start = 0;
    if (ed_wkey_decode(raw + 2, kl, rk, sizeof rk, &rkl, &start) != ED_OK) return ED_EINVAL;
  }
  memcpy(key, raw + 2, kl);
  *klen = kl;
  return ED_OK;
}
