#include "store/row.h"

#include <string.h>

#include "common/err.h"

#define ED_ROW_VERSION 1

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

size_t ed_row_encoded_size(const ed_col_t *cols, size_t ncols) {
  size_t n = 2;
  for (size_t i = 0; i < ncols; i++) {
    n += 1;
    switch (cols[i].type) {
    case ED_COL_INT:
    case ED_COL_DOUBLE: n += 8; break;
    case ED_COL_STRING:
    case ED_COL_BYTES:
    case ED_COL_JSON: n += 4 + cols[i].v.s.len; break;
    case ED_COL_NULL: break;
    }
  }
  return n;
}

size_t ed_row_encode(const ed_col_t *cols, size_t ncols, void *out, size_t cap) {
  if (ncols > ED_ROW_MAX_COLS || ed_row_encoded_size(cols, ncols) > cap) return 0;
  uint8_t *p = out;
  *p++ = ED_ROW_VERSION;
  *p++ = (uint8_t)ncols;
  for (size_t i = 0; i < ncols; i++) {
    *p++ = (uint8_t)cols[i].type;
    switch (cols[i].type) {
    case ED_COL_INT: put_u64(p, (uint64_t)cols[i].v.i); p += 8; break;
    case ED_COL_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &cols[i].v.d, 8);
      put_u64(p, bits);
      p += 8;
      break;
    }
    case ED_COL_STRING:
    case ED_COL_BYTES:
    case ED_COL_JSON: {
      uint32_t len = cols[i].v.s.len;
      for (int k = 0; k < 4; k++) p[k] = (uint8_t)(len >> (8 * k));
      p += 4;
      memcpy(p, cols[i].v.s.p, len);
      p += len;
      break;
    }
    case ED_COL_NULL: break;
    }
  }
  return (size_t)(p - (uint8_t *)out);
}

int ed_row_decode(const void *buf, size_t len, ed_col_t *cols, size_t max, size_t *ncols) {
  const uint8_t *p = buf, *end = p + len;
  if (len < 2 || p[0] != ED_ROW_VERSION) return ED_EINVAL;
  size_t n = p[1];
  if (n > max) return ED_EINVAL;
  p += 2;
  for (size_t i = 0; i < n; i++) {
    if (p >= end) return ED_EINVAL;
    cols[i].type = (ed_col_type_t)*p++;
    switch (cols[i].type) {
    case ED_COL_INT:
    case ED_COL_DOUBLE: {
      if (end - p < 8) return ED_EINVAL;
      uint64_t bits = get_u64(p);
      if (cols[i].type == ED_COL_INT) cols[i].v.i = (int64_t)bits;
      else memcpy(&cols[i].v.d, &bits, 8);
      p += 8;
      break;
    }
    case ED_COL_STRING:
    case ED_COL_BYTES:
    case ED_COL_JSON: {
      if (end - p < 4) return ED_EINVAL;
      uint32_t slen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      p += 4;
      if ((size_t)(end - p) < slen) return ED_EINVAL;
      cols[i].v.s.p = (const char *)p;
      cols[i].v.s.len = slen;
      p += slen;
      break;
    }
    case ED_COL_NULL: break;
    default: return ED_EINVAL;
    }
  }
  if (p != end) return ED_EINVAL;
  *ncols = n;
  return ED_OK;
}
