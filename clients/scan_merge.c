/* libeddy: merging the owners' scan pages into one page in store-key
 * order, with the cursor the server would have made for it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* ---- merging the owners' pages (the rule of the server's
 * ed_query_merge_pages, query/pages.c) ---- */

#define STORE_KEY_MAX 511 /* ED_QUERY_MAX_KEY, ED_WKEY_MAX */

/* The store key of a scan row: the key, or for a windowed row the key with
 * NUL bytes escaped (00 FF), 00 00, and the window start as big-endian with
 * the sign bit flipped (streams/window.c ed_wkey_encode). Its length. */
static size_t row_store_key(const Eddy__V1__Row *r, uint8_t *out) {
  size_t o = 0;
  if (r->n_windows == 0) {
    o = r->key.len < STORE_KEY_MAX ? r->key.len : STORE_KEY_MAX;
    if (o) memcpy(out, r->key.data, o);
    return o;
  }
  for (size_t i = 0; i < r->key.len && o + 2 < STORE_KEY_MAX - 10; i++) {
    out[o++] = r->key.data[i];
    if (r->key.data[i] == 0) out[o++] = 0xFF;
  }
  out[o++] = 0, out[o++] = 0;
  uint64_t u = (uint64_t)r->windows[0]->start ^ ((uint64_t)1 << 63);
  for (int i = 7; i >= 0; i--)
    out[o++] = (uint8_t)(u >> (8 * i));
  return o;
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(char ch) {
  const char *p = ch ? strchr(b64url, ch) : NULL;
  return p ? (int)(p - b64url) : -1;
}

/* A cursor as the server makes it (query/cursor.c): unpadded base64url of
 * version, store kind and the store key. @p head: the first two bytes, as
 * read from an owner's cursor. */
static char *cursor_encode(const uint8_t head[2], const uint8_t *key, size_t klen) {
  uint8_t raw[2 + STORE_KEY_MAX];
  raw[0] = head[0], raw[1] = head[1];
  memcpy(raw + 2, key, klen);
  size_t n = klen + 2;
  char *out = malloc(n / 3 * 4 + 5);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
                 (i + 2 < n ? raw[i + 2] : 0);
    out[o++] = b64url[v >> 18 & 63];
    out[o++] = b64url[v >> 12 & 63];
    if (i + 1 < n) out[o++] = b64url[v >> 6 & 63];
    if (i + 2 < n) out[o++] = b64url[v & 63];
  }
  out[o] = '\0';
  return out;
}

/* The first two bytes (version, store kind) of cursor @p s; 0 or -1. */
static int cursor_head(const char *s, uint8_t head[2]) {
  if (strlen(s) < 3) return -1;
  int a = b64val(s[0]), b = b64val(s[1]), d = b64val(s[2]);
  if (a < 0 || b < 0 || d < 0) return -1;
  head[0] = (uint8_t)(a << 2 | b >> 4);
  head[1] = (uint8_t)((b & 15) << 4 | d >> 2);
  return 0;
}

/* Merges the owners' pages: rows in store-key order, none beyond the
 * smallest last key of a page that has more (every owner's rows up to it
 * are here), at most the page limit; the cursor is the last key kept. */
int eddy__scan_merge(Eddy__V1__RowList *const *parts, size_t n, int limit,
                     const Eddy__V1__Row ***rows_out, size_t *nrows_out, char **cursor_out) {
  uint8_t bound[STORE_KEY_MAX], cand[STORE_KEY_MAX], best[STORE_KEY_MAX], last[STORE_KEY_MAX];
  size_t boundl = 0, lastl = 0, total = 0;
  int has_bound = 0;
  uint8_t head[2] = {0, 0};
  for (size_t k = 0; k < n; k++) {
    total += parts[k]->n_rows;
    if (parts[k]->next_cursor == NULL || parts[k]->next_cursor[0] == '\0') continue;
    if (parts[k]->n_rows == 0 || cursor_head(parts[k]->next_cursor, head) != 0)
      return EDDY__SCAN_FALLBACK; /* not a page this client understands */
    size_t l = row_store_key(parts[k]->rows[parts[k]->n_rows - 1], cand);
    if (!has_bound || bytes_cmp(cand, l, bound, boundl) < 0) memcpy(bound, cand, l), boundl = l;
    has_bound = 1;
  }
  size_t *at = calloc(n ? n : 1, sizeof *at);
  const Eddy__V1__Row **rows = malloc((total ? total : 1) * sizeof *rows);
  if (at == NULL || rows == NULL) {
    free(at), free(rows);
    return EDDY_ERR_NOMEM;
  }
  size_t nrows = 0;
  for (;;) {
    size_t pick = SIZE_MAX, bestl = 0;
    for (size_t k = 0; k < n; k++) {
      if (at[k] >= parts[k]->n_rows) continue;
      size_t cl = row_store_key(parts[k]->rows[at[k]], cand);
      if (pick == SIZE_MAX || bytes_cmp(cand, cl, best, bestl) < 0)
        pick = k, memcpy(best, cand, cl), bestl = cl;
    }
    if (pick == SIZE_MAX) break;
    if (has_bound && bytes_cmp(best, bestl, bound, boundl) > 0) break;
    if (has_bound && limit > 0 && nrows == (size_t)limit) break;
    rows[nrows++] = parts[pick]->rows[at[pick]++];
    memcpy(last, best, bestl);
    lastl = bestl;
  }
  free(at);
  char *cursor = NULL;
  if (has_bound && (cursor = cursor_encode(head, last, lastl)) == NULL) {
    free(rows);
    return EDDY_ERR_NOMEM;
  }
  *rows_out = rows, *nrows_out = nrows, *cursor_out = cursor;
  return EDDY_OK;
}
