#include "streams/cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"

int ed_cache_init(ed_cache_t *c, size_t ncols, size_t max_entries) {
  memset(c, 0, sizeof *c);
  c->ncols = ncols;
  c->max_entries = max_entries;
  c->nslots = 16;
  while (c->nslots < 2 * max_entries) c->nslots *= 2;
  c->slots = calloc(c->nslots, sizeof *c->slots);
  ed_buf_init(&c->keys);
  return c->slots ? ED_OK : ED_ENOMEM;
}

void ed_cache_fini(ed_cache_t *c) {
  free(c->entries);
  free(c->cols);
  free(c->slots);
  free(c->dirty);
  ed_buf_fini(&c->keys);
  memset(c, 0, sizeof *c);
}

uint32_t ed_cache_hash(const void *key, size_t len) { return ed_murmur2(key, len); }

long ed_cache_find(const ed_cache_t *c, const void *key, size_t len, uint32_t hash) {
  size_t mask = c->nslots - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint32_t s = c->slots[i];
    if (s == 0) return -1;
    const ed_cache_entry_t *e = &c->entries[s - 1];
    if (e->hash == hash && e->key_len == len && memcmp(c->keys.data + e->key_off, key, len) == 0)
      return (long)(s - 1);
  }
}

static int grow(ed_cache_t *c) {
  size_t cap = c->cap ? c->cap * 2 : 1024;
  if (cap > c->max_entries) cap = c->max_entries;
  ed_cache_entry_t *e = realloc(c->entries, cap * sizeof *e);
  if (e == NULL) return ED_ENOMEM;
  c->entries = e;
  ed_col_t *cols = realloc(c->cols, cap * c->ncols * sizeof *cols);
  if (cols == NULL) return ED_ENOMEM;
  c->cols = cols;
  uint32_t *dirty = realloc(c->dirty, cap * sizeof *dirty);
  if (dirty == NULL) return ED_ENOMEM;
  c->dirty = dirty;
  c->cap = cap;
  return ED_OK;
}

long ed_cache_insert(ed_cache_t *c, const void *key, size_t len, uint32_t hash, const ed_col_t *init) {
  if (c->count >= c->max_entries) return -1;
  if (c->count == c->cap && grow(c) != ED_OK) return -1;
  size_t off = c->keys.len;
  ed_buf_append(&c->keys, key, len);
  if (ed_buf_failed(&c->keys)) return -1;
  long idx = (long)c->count++;
  ed_cache_entry_t *e = &c->entries[idx];
  e->key_off = off;
  e->key_len = (uint32_t)len;
  e->hash = hash;
  e->dirty = 0;
  memcpy(ed_cache_cols(c, idx), init, c->ncols * sizeof *init);
  size_t mask = c->nslots - 1, i = hash & mask;
  while (c->slots[i] != 0) i = (i + 1) & mask;
  c->slots[i] = (uint32_t)idx + 1;
  return idx;
}

void ed_cache_mark_all_clean(ed_cache_t *c) {
  for (size_t i = 0; i < c->ndirty; i++) c->entries[c->dirty[i]].dirty = 0;
  c->ndirty = 0;
}

void ed_cache_clear(ed_cache_t *c) {
  memset(c->slots, 0, c->nslots * sizeof *c->slots);
  c->count = 0;
  c->ndirty = 0;
  ed_buf_reset(&c->keys);
}
