/* The record cache: a task's in-memory view of the rows it touched since
 * the cache was last emptied, including the changes not yet committed. A hot
 * key costs one LMDB write per commit, not one per record, and a row read
 * once is not read from LMDB again.
 *
 * Entries hold byte values; keys and values live in two arenas that grow in
 * steps (no allocation per record). A value rewritten with the same or a
 * smaller size is updated in place; a bigger one is appended (the old space
 * is reclaimed when the cache is emptied). Internal to streams/, one thread.
 */
#ifndef ED_STREAMS_CACHE_H
#define ED_STREAMS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct {
  size_t key_off; /* into keys */
  size_t val_off; /* into vals */
  uint32_t key_len;
  uint32_t val_len;
  uint32_t val_cap;
  uint32_t hash;
  int64_t expire_at;   /* for the store's expiry index */
  int64_t drop_expire; /* an index entry to remove at commit (0: none) */
  uint8_t ns;          /* 0: a row; 1: a memo entry (never committed) */
  uint8_t present;     /* 0: the key has no row (known absent or deleted) */
  uint8_t dirty;
} ed_cache_entry_t;

typedef struct {
  ed_cache_entry_t *entries;
  size_t count, cap;
  uint32_t *slots; /* open addressing: entry index + 1, 0 = empty */
  size_t nslots;   /* power of two, kept >= 2 * count */
  unsigned slot_bits; /* log2(nslots) */
  ed_buf_t keys;
  ed_buf_t vals;
  uint32_t *dirty; /* indexes of the dirty entries */
  size_t ndirty;
} ed_cache_t;

void ed_cache_init(ed_cache_t *c);
void ed_cache_fini(ed_cache_t *c);

uint32_t ed_cache_hash(const void *key, size_t len);

/* Index of (ns, key), or -1. */
long ed_cache_find(const ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash);

/* Adds (ns, key) as an absent, clean entry; returns its index or -1 (out of
 * memory). The key must not be in the cache. */
long ed_cache_add(ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash);

/* Sets the entry's value (copied) and marks it present. Returns ED_OK or
 * ED_ENOMEM. Does not mark it dirty. */
int ed_cache_set(ed_cache_t *c, long idx, const void *val, size_t len);

static inline const char *ed_cache_key(const ed_cache_t *c, long idx) {
  return c->keys.data + c->entries[idx].key_off;
}
static inline const char *ed_cache_val(const ed_cache_t *c, long idx) {
  return c->vals.data + c->entries[idx].val_off;
}

static inline void ed_cache_mark_dirty(ed_cache_t *c, long idx) {
  if (!c->entries[idx].dirty && c->entries[idx].ns == 0) {
    c->entries[idx].dirty = 1;
    c->dirty[c->ndirty++] = (uint32_t)idx;
  }
}

/* Marks every entry clean (after a commit). */
void ed_cache_mark_all_clean(ed_cache_t *c);

/* Drops every entry, keeping the memory. */
void ed_cache_clear(ed_cache_t *c);

/* Bytes the arenas hold (for the cache's bound). */
static inline size_t ed_cache_bytes(const ed_cache_t *c) { return c->keys.len + c->vals.len; }

#endif
