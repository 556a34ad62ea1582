#include "streams/cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"

void ed_cache_init(ed_cache_t *c) {
  memset(c, 0, sizeof *c);
  ed_buf_init(&c->arena);
  ed_buf_init(&c->vals);
}

void ed_cache_fini(ed_cache_t *c) {
  free(c->slots);
  free(c->dirty);
  ed_buf_fini(&c->arena);
  ed_buf_fini(&c->vals);
  memset(c, 0, sizeof *c);
}

uint32_t ed_cache_hash(const void *key, size_t len) { return ed_murmur2(key, len); }

/* The slot to start probing at. A task's keys share their murmur2 residue
 * modulo the partition count (that is how they got to this task), so the
 * low bits are not spread: Fibonacci hashing takes the high bits of the
 * product instead. */
static inline size_t home_slot(const ed_cache_t *c, uint32_t hash) {
  return (size_t)((hash * 2654435769u) >> (32 - c->slot_bits));
}

ed_cache_ref_t ed_cache_find(const ed_cache_t *c, uint8_t ns, const void *key, size_t len,
                             uint32_t hash) {
  if (c->nslots == 0) return -1;
  size_t mask = c->nslots - 1;
  for (size_t i = home_slot(c, hash);; i = (i + 1) & mask) {
    uint64_t s = c->slots[i];
    if (s == 0) return -1;
    if ((uint32_t)(s >> 32) != hash) continue;
    ed_cache_ref_t r = (ed_cache_ref_t)(uint32_t)s - 1;
    const ed_cache_entry_t *e = ed_cache_entry(c, r);
    if (e->key_len == len && e->ns == ns && memcmp(e + 1, key, len) == 0) return r;
  }
}

static void slot_insert(ed_cache_t *c, uint32_t hash, ed_cache_ref_t r) {
  size_t mask = c->nslots - 1, i = home_slot(c, hash);
  while (c->slots[i] != 0) i = (i + 1) & mask;
  c->slots[i] = (uint64_t)hash << 32 | (uint64_t)(r + 1);
}

static int grow_slots(ed_cache_t *c) {
  size_t n = c->nslots ? c->nslots * 2 : 2048;
  uint64_t *slots = calloc(n, sizeof *slots);
  if (slots == NULL) return ED_ENOMEM;
  uint64_t *old = c->slots;
  size_t oldn = c->nslots;
  c->slots = slots;
  c->nslots = n;
  c->slot_bits = 0;
  while (((size_t)1 << c->slot_bits) < n) c->slot_bits++;
  for (size_t i = 0; i < oldn; i++)
    if (old[i]) slot_insert(c, (uint32_t)(old[i] >> 32), (ed_cache_ref_t)(uint32_t)old[i] - 1);
  free(old);
  return ED_OK;
}

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

ed_cache_ref_t ed_cache_add(ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash,
                            size_t val_room) {
  if (2 * (c->count + 1) > c->nslots && grow_slots(c) != ED_OK) return -1;
  size_t off = align8(c->arena.len);
  size_t room = align8(sizeof(ed_cache_entry_t) + len + val_room) - sizeof(ed_cache_entry_t) - len;
  size_t size = sizeof(ed_cache_entry_t) + len + room;
  if ((off + size) / 8 >= UINT32_MAX || ed_buf_reserve(&c->arena, off - c->arena.len + size) != ED_OK)
    return -1;
  c->arena.len = off + size;
  ed_cache_entry_t *e = (ed_cache_entry_t *)(c->arena.data + off);
  *e = (ed_cache_entry_t){.hash = hash, .key_len = (uint32_t)len, .val_cap = (uint32_t)room,
                          .val_off = UINT64_MAX, .ns = ns};
  memcpy(e + 1, key, len);
  ed_cache_ref_t r = (ed_cache_ref_t)(off / 8);
  slot_insert(c, hash, r);
  c->count++;
  return r;
}

int ed_cache_set(ed_cache_t *c, ed_cache_ref_t r, const void *val, size_t len) {
  ed_cache_entry_t *e = ed_cache_entry(c, r);
  if (len > e->val_cap) {
    /* Outgrew its room: a new place in the value arena (the old space is
     * reclaimed when the cache is emptied). */
    size_t cap = len < 64 ? 64 : len + len / 2;
    if (ed_buf_reserve(&c->vals, cap) != ED_OK) return ED_ENOMEM;
    e->val_off = c->vals.len;
    e->val_cap = (uint32_t)cap;
    c->vals.len += cap;
  }
  if (len) memcpy((char *)ed_cache_val(c, r), val, len);
  e->val_len = (uint32_t)len;
  e->present = 1;
  return ED_OK;
}

int ed_cache_mark_dirty(ed_cache_t *c, ed_cache_ref_t r) {
  ed_cache_entry_t *e = ed_cache_entry(c, r);
  if (e->dirty || e->ns != 0) return ED_OK;
  if (c->ndirty == c->dirty_cap) {
    size_t cap = c->dirty_cap ? c->dirty_cap * 2 : 1024;
    uint32_t *d = realloc(c->dirty, cap * sizeof *d);
    if (d == NULL) return ED_ENOMEM;
    c->dirty = d;
    c->dirty_cap = cap;
  }
  e->dirty = 1;
  c->dirty[c->ndirty++] = (uint32_t)r;
  return ED_OK;
}

void ed_cache_mark_all_clean(ed_cache_t *c) {
  for (size_t i = 0; i < c->ndirty; i++) {
    ed_cache_entry_t *e = ed_cache_entry(c, c->dirty[i]);
    e->dirty = 0;
    e->drop_expire = 0;
  }
  c->ndirty = 0;
}

void ed_cache_clear(ed_cache_t *c) {
  if (c->slots) memset(c->slots, 0, c->nslots * sizeof *c->slots);
  c->generation++;
  c->count = 0;
  c->ndirty = 0;
  ed_buf_reset(&c->arena);
  ed_buf_reset(&c->vals);
}
