/* Big-endian integers in record headers and changelog values (the source
 * position header, changelog positions and commit markers). */
#ifndef ED_STREAMS_BYTES_H
#define ED_STREAMS_BYTES_H

#include <stdint.h>

/* Writes the low @p n bytes of @p v at @p p, most significant first. */
static inline void ed_put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Reads @p n bytes at @p p, most significant first. */
static inline uint64_t ed_get_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

#endif
