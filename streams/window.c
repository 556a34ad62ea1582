/* Windows over event time: spec checks, window starts, session placement and
 * the keys of windowed rows. Pure functions: no allocation, no state. */
#include "streams/window.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

#define ED_WIN_DAY_MS ((int64_t)24 * 3600 * 1000)

__attribute__((format(printf, 3, 4))) static int bad(char *err, size_t errlen, const char *fmt,
                                                     ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return ED_EINVAL;
}

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static int64_t sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r))
    return b > 0 ? INT64_MIN : INT64_MAX;
  return r;
}

const char *ed_win_type_name(ed_win_type_t t) {
  switch (t) {
  case ED_WIN_TUMBLING:
    return "tumbling";
  case ED_WIN_HOPPING:
    return "hopping";
  case ED_WIN_SESSION:
    return "session";
  case ED_WIN_NONE:
    break;
  }
  return "none";
}

int ed_window_spec_check(ed_window_spec_t *spec, char *err, size_t errlen) {
  if (!spec)
    return bad(err, errlen, "window: no spec");
  int64_t span; /* size or gap */
  switch (spec->type) {
  case ED_WIN_TUMBLING:
    if (spec->size <= 0)
      return bad(err, errlen, "tumbling window: size must be > 0");
    if (spec->advance != 0 && spec->advance != spec->size)
      return bad(err, errlen, "tumbling window: advance must equal size (use a hopping window)");
    spec->advance = spec->size;
    span = spec->size;
    break;
  case ED_WIN_HOPPING:
    if (spec->size <= 0)
      return bad(err, errlen, "hopping window: size must be > 0");
    if (spec->advance <= 0 || spec->advance > spec->size)
      return bad(err, errlen, "hopping window: advance must be > 0 and <= size");
    /* Each record updates size/advance windows. */
    if (spec->size / spec->advance > ED_WINDOW_MAX_HOPS)
      return bad(err, errlen, "hopping window: size/advance must be at most %d (each record "
                 "updates that many windows)", ED_WINDOW_MAX_HOPS);
    span = spec->size;
    break;
  case ED_WIN_SESSION:
    if (spec->gap <= 0)
      return bad(err, errlen, "session window: gap must be > 0");
    span = spec->gap;
    break;
  default:
    return bad(err, errlen, "window: unknown type %d", (int)spec->type);
  }
  const char *name = ed_win_type_name(spec->type);
  if (spec->grace < 0)
    return bad(err, errlen, "%s window: grace must be >= 0", name);
  int64_t min_ret;
  if (__builtin_add_overflow(span, spec->grace, &min_ret))
    return bad(err, errlen, "%s window: %s + grace too large", name,
               spec->type == ED_WIN_SESSION ? "gap" : "size");
  if (spec->retention == 0) {
    spec->retention = min_ret > ED_WIN_DAY_MS ? min_ret : ED_WIN_DAY_MS;
  } else if (spec->retention < min_ret) {
    return bad(err, errlen, "%s window: retention %lld must be >= %s + grace (%lld)", name,
               (long long)spec->retention, spec->type == ED_WIN_SESSION ? "gap" : "size",
               (long long)min_ret);
  }
  return ED_OK;
}

size_t ed_window_starts(const ed_window_spec_t *spec, int64_t ts, int64_t *starts, size_t max) {
  if (!spec || (spec->type != ED_WIN_TUMBLING && spec->type != ED_WIN_HOPPING) || spec->size <= 0)
    return 0;
  int64_t adv = spec->type == ED_WIN_TUMBLING || spec->advance <= 0 ? spec->size : spec->advance;
  if (adv > spec->size)
    adv = spec->size;
  /* last = floor(ts / adv) * adv, the latest start <= ts. */
  int64_t r = ts % adv;
  if (r < 0)
    r += adv;
  int64_t last;
  if (__builtin_sub_overflow(ts, r, &last))
    return 0; /* no window start representable at or below ts */
  /* Windows last - k*adv for k >= 0 contain ts while r + k*adv < size:
   * n = ceil((size - r) / adv), r < adv <= size so n >= 1. */
  uint64_t usize = (uint64_t)spec->size, uadv = (uint64_t)adv;
  uint64_t n = (usize - (uint64_t)r + uadv - 1) / uadv;
  /* Starts below INT64_MIN do not exist. */
  uint64_t room = ((uint64_t)last - (uint64_t)INT64_MIN) / uadv; /* k max */
  if (n - 1 > room)
    n = room + 1;
  int64_t first = (int64_t)((uint64_t)last - (n - 1) * uadv);
  size_t out = n < (uint64_t)max ? (size_t)n : max;
  for (size_t i = 0; i < out; i++)
    starts[i] = (int64_t)((uint64_t)first + (uint64_t)i * uadv);
  return out;
}

int64_t ed_window_expire_at(const ed_window_spec_t *spec, int64_t start, int64_t end) {
  int64_t base = spec->type == ED_WIN_SESSION ? end : start;
  int64_t e = sat_add(base, spec->retention);
  /* 0 means "never" to the store: keep such a row 1 ms longer instead. */
  return e == 0 ? 1 : e;
}

/* ---- sessions ---- */

void ed_session_place(const ed_session_t *sessions, size_t n, int64_t ts, int64_t gap,
                      size_t *first, size_t *count, ed_session_t *merged) {
  int64_t lo = sat_sub(ts, gap), hi = sat_add(ts, gap);
  /* Sessions are sorted and disjoint, so ends ascend too: binary search for
   * the first session with end >= lo. */
  size_t a = 0, b = n;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (sessions[m].end < lo)
      a = m + 1;
    else
      b = m;
  }
  size_t c = 0;
  while (a + c < n && sessions[a + c].start <= hi)
    c++;
  *first = a;
  *count = c;
  merged->start = ts;
  merged->end = ts;
  if (c > 0) {
    if (sessions[a].start < merged->start)
      merged->start = sessions[a].start;
    if (sessions[a + c - 1].end > merged->end)
      merged->end = sessions[a + c - 1].end;
  }
}

/* ---- keys of windowed rows ---- */

static size_t escaped_len(const uint8_t *k, size_t klen) {
  size_t n = klen + 2;
  for (size_t i = 0; i < klen; i++)
    n += k[i] == 0;
  return n;
}

static size_t write_prefix(const uint8_t *k, size_t klen, uint8_t *out) {
  size_t o = 0;
  for (size_t i = 0; i < klen; i++) {
    out[o++] = k[i];
    if (k[i] == 0)
      out[o++] = 0xFF;
  }
  out[o++] = 0x00;
  out[o++] = 0x00;
  return o;
}

size_t ed_wkey_prefix(const void *key, size_t klen, uint8_t *out, size_t cap) {
  if (!key && klen)
    return 0;
  size_t n = escaped_len(key, klen);
  if (n > cap || n > ED_WKEY_MAX)
    return 0;
  return write_prefix(key, klen, out);
}

size_t ed_wkey_encode(const void *key, size_t klen, int64_t start, uint8_t *out, size_t cap) {
  if (!key && klen)
    return 0;
  size_t n = escaped_len(key, klen) + 8;
  if (n > cap || n > ED_WKEY_MAX)
    return 0;
  size_t o = write_prefix(key, klen, out);
  uint64_t u = (uint64_t)start ^ ((uint64_t)1 << 63);
  for (int i = 7; i >= 0; i--)
    out[o++] = (uint8_t)(u >> (8 * i));
  return o;
}

int ed_wkey_decode(const uint8_t *in, size_t len, uint8_t *key, size_t kcap, size_t *klen,
                   int64_t *start) {
  if (!in)
    return ED_EINVAL;
  size_t o = 0, i = 0;
  for (;;) {
    if (i >= len)
      return ED_EINVAL; /* no terminator */
    uint8_t c = in[i++];
    if (c == 0) {
      if (i >= len)
        return ED_EINVAL;
      uint8_t d = in[i++];
      if (d == 0x00)
        break; /* terminator */
      if (d != 0xFF)
        return ED_EINVAL;
    }
    if (o >= kcap || !key)
      return ED_EINVAL;
    key[o++] = c;
  }
  if (len - i != 8)
    return ED_EINVAL;
  uint64_t u = 0;
  for (int j = 0; j < 8; j++)
    u = u << 8 | in[i + (size_t)j];
  if (klen)
    *klen = o;
  if (start)
    *start = (int64_t)(u ^ ((uint64_t)1 << 63));
  return ED_OK;
}
