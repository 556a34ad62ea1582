/* The record cache: a task's in-memory view of the rows it touched since
 * the cache was last emptied, including the changes not yet committed. A hot
 * key costs one LMDB write per commit, not one per record, and a row read
 * once is not read from LMDB again.
 *
 * Layout, for few cache misses per record: each entry is one record in an
 * arena, its header followed by its key and (while it fits) its value, so a
 * lookup touches the slot table and one entry. Slots hold the entry's hash
 * beside its position, so probing past other keys touches no entry. A value
 * that outgrows its room moves to a second arena. Arenas grow in steps: no
 * allocation per record. Internal to streams/, one thread. */
#ifndef ED_STREAMS_CACHE_H
#define ED_STREAMS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* An entry's header; the key follows it, then the inline value room. */
typedef struct {
  uint32_t hash;
  uint32_t key_len;
  uint32_t val_len;
  uint32_t val_cap;    /* room for the value where it is now */
  int64_t expire_at;   /* for the store's expiry index */
  int64_t drop_expire; /* an index entry to remove at commit (0: none) */
  uint64_t val_off;    /* UINT64_MAX: inline after the key; else into vals */
  uint8_t ns;          /* 0: a row; 1: a memo entry (never committed) */
  uint8_t present;     /* 0: the key has no row (known absent or deleted) */
  uint8_t dirty;
} ed_cache_entry_t;

typedef struct {
  ed_buf_t arena;  /* entries: header, key, inline value; 8-byte aligned */
  ed_buf_t vals;   /* values that outgrew their inline room */
  uint64_t *slots; /* hash << 32 | (entry offset / 8 + 1); 0 = empty */
  size_t nslots;   /* power of two, kept >= 2 * count */
  unsigned slot_bits;
  size_t count;
  uint32_t *dirty; /* offsets / 8 of the dirty entries */
  size_t ndirty, dirty_cap;
  uint64_t generation; /* bumped by ed_cache_clear(): older refs are void */
} ed_cache_t;

/* An entry handle: its offset in the arena / 8; -1 for none. */
typedef long ed_cache_ref_t;

void ed_cache_init(ed_cache_t *c);
void ed_cache_fini(ed_cache_t *c);

uint32_t ed_cache_hash(const void *key, size_t len);

/* The entry of (ns, key), or -1. */
ed_cache_ref_t ed_cache_find(const ed_cache_t *c, uint8_t ns, const void *key, size_t len,
                             uint32_t hash);

/* Adds (ns, key) as an absent, clean entry with inline room for
 * @p val_room bytes; returns it or -1 (out of memory). The key must not be
 * in the cache. Moves the arena: entry pointers taken before are stale. */
ed_cache_ref_t ed_cache_add(ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash,
                            size_t val_room);

static inline ed_cache_entry_t *ed_cache_entry(const ed_cache_t *c, ed_cache_ref_t r) {
  return (ed_cache_entry_t *)(c->arena.data + (size_t)r * 8);
}
static inline const char *ed_cache_key(const ed_cache_t *c, ed_cache_ref_t r) {
  return (const char *)(ed_cache_entry(c, r) + 1);
}
static inline const char *ed_cache_val(const ed_cache_t *c, ed_cache_ref_t r) {
  const ed_cache_entry_t *e = ed_cache_entry(c, r);
  return e->val_off == UINT64_MAX ? (const char *)(e + 1) + e->key_len : c->vals.data + e->val_off;
}

/* Sets the entry's value (copied) and marks it present. Returns ED_OK or
 * ED_ENOMEM. Does not mark it dirty. May move the vals arena (values read
 * before are stale), never the entries. */
int ed_cache_set(ed_cache_t *c, ed_cache_ref_t r, const void *val, size_t len);

/* Marks a row entry dirty (memo entries never are). Returns ED_OK or
 * ED_ENOMEM. */
int ed_cache_mark_dirty(ed_cache_t *c, ed_cache_ref_t r);

/* Marks every entry clean (after a commit). */
void ed_cache_mark_all_clean(ed_cache_t *c);

/* Drops every entry, keeping the memory. */
void ed_cache_clear(ed_cache_t *c);

/* Bytes the arenas hold (for the cache's bound). */
static inline size_t ed_cache_bytes(const ed_cache_t *c) { return c->arena.len + c->vals.len; }

#endif
