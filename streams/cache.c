#include "streams/cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"

void ed_cache_init(ed_cache_t *c) {
  memset(c, 0, sizeof *c);
  ed_buf_init(&c->keys);
  ed_buf_init(&c->vals);
}

void ed_cache_fini(ed_cache_t *c) {
  free(c->entries);
  free(c->slots);
  free(c->dirty);
  ed_buf_fini(&c->keys);
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

long ed_cache_find(const ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash) {
  if (c->nslots == 0) return -1;
  size_t mask = c->nslots - 1;
  for (size_t i = home_slot(c, hash);; i = (i + 1) & mask) {
    uint32_t s = c->slots[i];
    if (s == 0) return -1;
    const ed_cache_entry_t *e = &c->entries[s - 1];
    if (e->hash == hash && e->key_len == len && e->ns == ns &&
        memcmp(c->keys.data + e->key_off, key, len) == 0)
      return (long)(s - 1);
  }
}

static void slot_insert(ed_cache_t *c, uint32_t idx) {
  size_t mask = c->nslots - 1, i = home_slot(c, c->entries[idx].hash);
  while (c->slots[i] != 0) i = (i + 1) & mask;
  c->slots[i] = idx + 1;
}

static int grow(ed_cache_t *c) {
  size_t cap = c->cap ? c->cap * 2 : 1024;
  ed_cache_entry_t *e = realloc(c->entries, cap * sizeof *e);
  if (e == NULL) return ED_ENOMEM;
  c->entries = e;
  uint32_t *d = realloc(c->dirty, cap * sizeof *d);
  if (d == NULL) return ED_ENOMEM;
  c->dirty = d;
  uint32_t *slots = calloc(cap * 2, sizeof *slots);
  if (slots == NULL) return ED_ENOMEM;
  free(c->slots);
  c->slots = slots;
  c->nslots = cap * 2;
  c->slot_bits = 0;
  while (((size_t)1 << c->slot_bits) < c->nslots) c->slot_bits++;
  c->cap = cap;
  for (size_t i = 0; i < c->count; i++) slot_insert(c, (uint32_t)i);
  return ED_OK;
}

long ed_cache_add(ed_cache_t *c, uint8_t ns, const void *key, size_t len, uint32_t hash) {
  if (c->count == c->cap && grow(c) != ED_OK) return -1;
  size_t off = c->keys.len;
  ed_buf_append(&c->keys, key, len);
  if (ed_buf_failed(&c->keys)) return -1;
  long idx = (long)c->count++;
  c->entries[idx] = (ed_cache_entry_t){.key_off = off, .key_len = (uint32_t)len, .hash = hash,
                                       .ns = ns};
  slot_insert(c, (uint32_t)idx);
  return idx;
}

int ed_cache_set(ed_cache_t *c, long idx, const void *val, size_t len) {
  ed_cache_entry_t *e = &c->entries[idx];
  if (len > e->val_cap) {
    if (ed_buf_reserve(&c->vals, len) != ED_OK) return ED_ENOMEM;
    e->val_off = c->vals.len;
    e->val_cap = (uint32_t)len;
    c->vals.len += len;
  }
  if (len) memcpy(c->vals.data + e->val_off, val, len);
  e->val_len = (uint32_t)len;
  e->present = 1;
  return ED_OK;
}

void ed_cache_mark_all_clean(ed_cache_t *c) {
  for (size_t i = 0; i < c->ndirty; i++) {
    ed_cache_entry_t *e = &c->entries[c->dirty[i]];
    e->dirty = 0;
    e->drop_expire = 0;
  }
  c->ndirty = 0;
}

void ed_cache_clear(ed_cache_t *c) {
  if (c->slots) memset(c->slots, 0, c->nslots * sizeof *c->slots);
  c->count = 0;
  c->ndirty = 0;
  ed_buf_reset(&c->keys);
  ed_buf_reset(&c->vals);
}
