/* The record cache: a task's in-memory table of the rows it changed since
 * its last commit, plus rows it read recently. A hot key costs one LMDB
 * write per commit, not one per record. Bounded by max_entries; when full
 * the task commits and clears it. Memory grows in steps (amortized), never
 * per record. Internal to streams/, used by one thread. */
#ifndef ED_STREAMS_CACHE_H
#define ED_STREAMS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "store/row.h"

typedef struct {
  size_t key_off; /* into keys */
  uint32_t key_len;
  uint32_t hash;
  uint8_t dirty;
} ed_cache_entry_t;

typedef struct {
  size_t ncols;
  size_t max_entries;
  ed_cache_entry_t *entries;
  ed_col_t *cols; /* ncols per entry */
  size_t count, cap;
  uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
  size_t nslots;   /* power of two, >= 2 * max_entries */
  ed_buf_t keys;   /* key bytes of every entry, back to back */
  uint32_t *dirty; /* indexes of the dirty entries, ndirty of them */
  size_t ndirty;
} ed_cache_t;

int ed_cache_init(ed_cache_t *c, size_t ncols, size_t max_entries);
void ed_cache_fini(ed_cache_t *c);

/* Index of @p key, or -1. */
long ed_cache_find(const ed_cache_t *c, const void *key, size_t len, uint32_t hash);

/* Adds @p key with columns @p init (copied); returns its index, or -1 when
 * the cache is full or memory ran out. STRING columns are not supported. */
long ed_cache_insert(ed_cache_t *c, const void *key, size_t len, uint32_t hash, const ed_col_t *init);

static inline ed_col_t *ed_cache_cols(ed_cache_t *c, long idx) { return c->cols + (size_t)idx * c->ncols; }
static inline const char *ed_cache_key(const ed_cache_t *c, long idx) { return c->keys.data + c->entries[idx].key_off; }
static inline int ed_cache_full(const ed_cache_t *c) { return c->count >= c->max_entries; }

static inline void ed_cache_mark_dirty(ed_cache_t *c, long idx) {
  if (!c->entries[idx].dirty) {
    c->entries[idx].dirty = 1;
    c->dirty[c->ndirty++] = (uint32_t)idx;
  }
}

/* Marks every entry clean (after a commit). */
void ed_cache_mark_all_clean(ed_cache_t *c);

/* Drops every entry, keeping the memory. */
void ed_cache_clear(ed_cache_t *c);

/* The hash ed_cache_* expects for a key. */
uint32_t ed_cache_hash(const void *key, size_t len);

#endif
