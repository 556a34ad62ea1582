/* Windows over event time: which windows a record falls in, when a record is
 * too late, how session windows merge, and how windowed rows are keyed.
 *
 * Time windows are aligned to the epoch: a tumbling window of size S starts
 * at a multiple of S; a hopping window of size S and advance A starts at a
 * multiple of A, so a timestamp falls in ceil(S/A) windows. A window is
 * [start, start + size). A session window's start and end are its first and
 * last record's timestamps: a record at t joins every session of its key
 * within gap of t (end >= t - gap and start <= t + gap), merging them.
 *
 * Lateness is Kafka Streams' rule: a record is dropped (and counted late)
 * when its window's end + grace <= stream time, stream time being the
 * highest event time the task has seen. For sessions, "its window" is the
 * session the record would create or join (end = max(t, merged end)).
 *
 * Retention: a time window is kept while start + retention > stream time,
 * a session while end + retention > stream time (retention must be at
 * least size + grace, or gap + grace). */
#ifndef ED_STREAMS_WINDOW_H
#define ED_STREAMS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* At most this many windows per record (size / advance of a hopping window). */
#define ED_WINDOW_MAX_HOPS 1000

typedef enum { ED_WIN_NONE = 0, ED_WIN_TUMBLING, ED_WIN_HOPPING, ED_WIN_SESSION } ed_win_type_t;

typedef struct {
  ed_win_type_t type;
  int64_t size;      /* tumbling, hopping */
  int64_t advance;   /* hopping (tumbling: = size) */
  int64_t gap;       /* session */
  int64_t grace;     /* default 0 */
  int64_t retention; /* default: size + grace (or gap + grace), at least 1 day... see ed_window_spec_check */
} ed_window_spec_t;

/* "tumbling", "hopping", "session". */
const char *ed_win_type_name(ed_win_type_t t);

/* Checks a spec and fills defaults (advance = size for tumbling; retention =
 * max(size + grace, 1 day) unless set). Returns ED_OK or ED_EINVAL with the
 * problem in @p err, e.g. "advance must be > 0 and <= size". */
int ed_window_spec_check(ed_window_spec_t *spec, char *err, size_t errlen);

/* Starts of the time windows containing @p ts, ascending, at most @p max
 * (returns how many; tumbling 1, hopping ceil(size/advance)). Handles
 * negative timestamps (floor, not truncation). */
size_t ed_window_starts(const ed_window_spec_t *spec, int64_t ts, int64_t *starts, size_t max);

/* 1 if a window ending at @p end is closed for records at @p stream_time. */
static inline int ed_window_is_late(const ed_window_spec_t *spec, int64_t end, int64_t stream_time) {
  return end + spec->grace <= stream_time;
}

/* The expiry time of a window for the store's index: rows are purged when
 * stream time reaches it (start + retention for time windows, end +
 * retention for sessions), saturating at INT64_MAX. Never 0, the store's
 * "no expiry": a sum of exactly 0 gives 1. */
int64_t ed_window_expire_at(const ed_window_spec_t *spec, int64_t start, int64_t end);

/* ---- sessions ---- */

typedef struct {
  int64_t start;
  int64_t end;
} ed_session_t;

/* Given a key's sessions (sorted by start, non-overlapping) and a record at
 * @p ts, finds the run of sessions it joins: *first and *count (count 0:
 * it starts a new session) and the resulting session in *merged. */
void ed_session_place(const ed_session_t *sessions, size_t n, int64_t ts, int64_t gap,
                      size_t *first, size_t *count, ed_session_t *merged);

/* ---- keys of windowed rows ---- */

/* A windowed row's store key is the record key made prefix-free (each 0x00
 * byte written as 0x00 0xFF, then a 0x00 0x00 terminator) followed by the
 * window start as 8 bytes big-endian with the sign bit flipped. Rows of one
 * key sort together by window start, and keys sort in byte order of the
 * record key, so a key's windows over a time range are one seek and a
 * sequential read. */
#define ED_WKEY_MAX 511

/* Encodes into @p out (capacity @p cap); returns the length, or 0 if it
 * does not fit in @p cap or ED_WKEY_MAX. */
size_t ed_wkey_encode(const void *key, size_t klen, int64_t start, uint8_t *out, size_t cap);

/* The encoded key prefix (record key + terminator) alone, for seeks. */
size_t ed_wkey_prefix(const void *key, size_t klen, uint8_t *out, size_t cap);

/* Decodes: the record key into @p key (capacity @p kcap; *klen gets its
 * length) and the start. Returns ED_OK or ED_EINVAL. */
int ed_wkey_decode(const uint8_t *in, size_t len, uint8_t *key, size_t kcap, size_t *klen,
                   int64_t *start);

#endif
