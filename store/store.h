/* eddy state stores: one LMDB environment per task (view x partition).
 *
 * A store holds the task's rows (key bytes -> encoded row, see row.h) and
 * its metadata (named int64 values: the next input offset, stream time, ...).
 * Rows and metadata change together in one write transaction
 * (ed_store_commit), so after a crash the state and the input position it
 * reflects always agree.
 *
 * Threads: one writer per store (the task's stream thread) and any number of
 * readers on other threads. Readers never block the writer: LMDB's MVCC gives
 * each read a snapshot. The one exception is map growth: when a commit hits
 * MDB_MAP_FULL the map is enlarged, which waits for open reads to end (reads
 * are short: a lookup or one page of a scan). Because a waiting resize
 * blocks new reads, a thread must not begin a second read while it holds
 * one, nor commit while it holds a read of the same store.
 */
#ifndef ED_STORE_STORE_H
#define ED_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ed_store ed_store_t;

typedef struct {
  size_t map_size;     /* initial map size in bytes; 0 = 64 MiB */
  size_t map_size_max; /* growth stops here (ED_ETOOBIG); 0 = 1 TiB */
  int no_sync;         /* 1: skip fsync at commit (benchmarks, tests only) */
} ed_store_opts_t;

/* Opens (creating if needed) the store in directory @p dir, which is created
 * too. @p opts may be NULL for defaults. On success *out is the store (caller
 * closes with ed_store_close()); on failure nothing is left to free and
 * @p err names the cause. */
int ed_store_open(const char *dir, const ed_store_opts_t *opts, ed_store_t **out, char *err,
                  size_t errlen);

/* Closes the store. No reads or commits may be in progress. NULL is a no-op. */
void ed_store_close(ed_store_t *s);

/* The directory the store was opened with. Borrowed: valid until close. */
const char *ed_store_dir(const ed_store_t *s);

/* Current map size in bytes (grows on demand). */
size_t ed_store_map_size(ed_store_t *s);

/* ---- writing ---- */

/* One row change: @p val NULL deletes the key. Borrowed for the call.
 *
 * expire_at (0 = never) registers the row in the store's expiry index: a
 * commit with purge_upto >= expire_at deletes it (ed_store_commit_ex). A
 * delete with a nonzero expire_at also removes that index entry. A row
 * whose expiry changes (a growing session window) is deleted with its old
 * expire_at and put with the new one. */
typedef struct {
  const void *key;
  size_t klen;
  const void *val;
  size_t vlen;
  int64_t expire_at;
} ed_store_put_t;

/* One metadata value to set. @p name is a NUL-terminated ASCII name. */
typedef struct {
  const char *name;
  int64_t value;
} ed_store_meta_put_t;

/* Applies all @p puts and @p metas in one durable LMDB write transaction:
 * either all of them are visible afterwards, or none. Grows the map and
 * retries on MDB_MAP_FULL. Keys must be 1..511 bytes. Returns ED_OK,
 * ED_EINVAL (bad key), ED_ETOOBIG (map_size_max reached) or ED_ESTORE. */
int ed_store_commit(ed_store_t *s, const ed_store_put_t *puts, size_t nputs,
                    const ed_store_meta_put_t *metas, size_t nmetas, char *err, size_t errlen);

/* As ed_store_commit(), and in the same transaction deletes every row whose
 * expire_at <= @p purge_upto, at a cost proportional to what expires (one
 * ordered index walk). INT64_MIN purges nothing. *purged (may be NULL) gets
 * the number of rows deleted that way. */
int ed_store_commit_ex(ed_store_t *s, const ed_store_put_t *puts, size_t nputs,
                       const ed_store_meta_put_t *metas, size_t nmetas, int64_t purge_upto,
                       uint64_t *purged, char *err, size_t errlen);

/* Deletes every row and every metadata value (one transaction). */
int ed_store_clear(ed_store_t *s, char *err, size_t errlen);

/* ---- reading ---- */

/* A read snapshot. Caller-embedded; begin/end pairs on one thread. */
typedef struct {
  ed_store_t *store;
  void *txn; /* MDB_txn *, internal */
} ed_store_read_t;

/* Starts a read snapshot of @p s into @p r. Returns ED_OK or ED_ESTORE. */
int ed_store_read_begin(ed_store_t *s, ed_store_read_t *r);

/* Looks up @p key. On ED_OK, *val and *vlen point into the map. Borrowed: valid
 * until ed_store_read_end(). Returns ED_OK, ED_ENOTFOUND or ED_ESTORE. */
int ed_store_read_get(ed_store_read_t *r, const void *key, size_t klen, const void **val,
                      size_t *vlen);

/* Reads metadata value @p name. Returns ED_OK or ED_ENOTFOUND. */
int ed_store_read_meta(ed_store_read_t *r, const char *name, int64_t *value);

/* Ends the snapshot. Safe to call on a snapshot whose begin failed. */
void ed_store_read_end(ed_store_read_t *r);

/* An ordered walk over a snapshot's rows (key byte order). Caller-embedded;
 * lives inside one ed_store_read_t. */
typedef struct {
  ed_store_read_t *r;
  void *cursor; /* MDB_cursor *, internal */
  int state;    /* internal */
} ed_store_iter_t;

/* Positions @p it at the first row whose key is >= @p from (@p from NULL or
 * @p flen 0: the first row). @p from is borrowed for the call. Returns ED_OK
 * (also when no row is >= @p from: the first next is then ED_ENOTFOUND) or
 * ED_ESTORE. */
int ed_store_iter_seek(ed_store_read_t *r, ed_store_iter_t *it, const void *from, size_t flen);

/* The current row, then advances. Key and value are borrowed: valid until
 * ed_store_read_end(). Returns ED_OK, or ED_ENOTFOUND past the last row. */
int ed_store_iter_next(ed_store_iter_t *it, const void **key, size_t *klen, const void **val,
                       size_t *vlen);

/* Releases the cursor. Every ed_store_iter_seek() needs one close, even a
 * failed one (then it does nothing); closing twice is harmless. Close before
 * ed_store_read_end() as a rule; closing after it is also safe (LMDB lets a
 * read-only cursor outlive its transaction), though the iterator must not
 * be advanced once the read ended. An iterator never closed leaks its
 * cursor. */
void ed_store_iter_close(ed_store_iter_t *it);

/* Convenience: one metadata value in its own snapshot. */
int ed_store_meta_get(ed_store_t *s, const char *name, int64_t *value);

/* Number of rows (a snapshot's count). */
int ed_store_row_count(ed_store_t *s, uint64_t *count);

/* Metadata names eddy's stream tasks use. */
#define ED_STORE_META_OFFSET "offset"           /* next input offset to consume */
#define ED_STORE_META_STREAM_TIME "stream_time" /* highest event time seen, ms */

#endif
