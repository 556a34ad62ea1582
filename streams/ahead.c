/* Keys restored ahead of the resume point (engine_int.h, ed_ahead_t).
 *
 * After a restore, processing resumes at the last complete commit's
 * offsets, but the rows of a later, incomplete commit were applied too
 * (their values hold records the task is about to read again). Those keys
 * and their positions are kept here until processing passes them, so each
 * such record updates each such key exactly once. The set is one commit's
 * keys at most; an open-addressing table over an arena of key bytes. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

struct ed_ahead_slot {
  uint32_t hash; /* 0: empty */
  uint32_t klen;
  size_t off; /* into keys: key bytes, then npos int64 positions */
  int npos;
};

static uint32_t hash_key(const void *key, size_t klen) {
  const uint8_t *p = key;
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < klen; i++)
    h = (h ^ p[i]) * 16777619u;
  return h ? h : 1;
}

void ed__ahead_init(ed_ahead_t *a) {
  memset(a, 0, sizeof *a);
  ed_buf_init(&a->keys);
}

void ed__ahead_fini(ed_ahead_t *a) {
  free(a->slots);
  ed_buf_fini(&a->keys);
  memset(a, 0, sizeof *a);
}

void ed__ahead_clear(ed_ahead_t *a) {
  if (a->cap) memset(a->slots, 0, a->cap * sizeof *a->slots);
  ed_buf_reset(&a->keys);
  a->n = 0;
  for (int i = 0; i < ED_TOPO_MAX_NODES; i++)
    a->max[i] = -1;
}

static struct ed_ahead_slot *find(const ed_ahead_t *a, const void *key, size_t klen, uint32_t h) {
  for (size_t i = h & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
    struct ed_ahead_slot *s = &a->slots[i];
    if (s->hash == 0) return s;
    if (s->hash == h && s->klen == klen && memcmp(a->keys.data + s->off, key, klen) == 0) return s;
  }
}

static int grow(ed_ahead_t *a) {
  size_t cap = a->cap ? a->cap * 2 : 64;
  struct ed_ahead_slot *old = a->slots, *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return ED_ENOMEM;
  size_t oldcap = a->cap;
  a->slots = slots;
  a->cap = cap;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].hash) *find(a, a->keys.data + old[i].off, old[i].klen, old[i].hash) = old[i];
  free(old);
  return ED_OK;
}

int ed__ahead_put(ed_ahead_t *a, const void *key, size_t klen, const int64_t *pos, int npos) {
  if (a->n == 0)
    for (int i = 0; i < ED_TOPO_MAX_NODES; i++)
      a->max[i] = -1;
  if ((a->n + 1) * 2 > a->cap && grow(a) != ED_OK) return ED_ENOMEM;
  uint32_t h = hash_key(key, klen);
  struct ed_ahead_slot *s = find(a, key, klen, h);
  if (s->hash == 0 || s->npos < npos) {
    size_t off = a->keys.len;
    ed_buf_append(&a->keys, key, klen);
    ed_buf_append(&a->keys, pos, (size_t)npos * sizeof *pos);
    if (ed_buf_failed(&a->keys)) return ED_ENOMEM;
    if (s->hash == 0) a->n++;
    *s = (struct ed_ahead_slot){h, (uint32_t)klen, off, npos};
  } else {
    memcpy(a->keys.data + s->off + klen, pos, (size_t)npos * sizeof *pos);
  }
  for (int i = 0; i < npos && i < ED_TOPO_MAX_NODES; i++)
    if (pos[i] > a->max[i]) a->max[i] = pos[i];
  return ED_OK;
}

int ed__ahead_skip(const ed_ahead_t *a, const void *key, size_t klen, int slot, int64_t offset) {
  if (a->n == 0 || slot < 0) return 0;
  const struct ed_ahead_slot *s = find(a, key, klen, hash_key(key, klen));
  if (s->hash == 0 || slot >= s->npos) return 0;
  int64_t pos;
  memcpy(&pos, a->keys.data + s->off + s->klen + (size_t)slot * sizeof pos, sizeof pos);
  return offset < pos;
}
