#include "streams/view.h"

#include <stdlib.h>
#include <string.h>

const char *ed_on_error_name(ed_on_error_t e) {
  switch (e) {
  case ED_ON_ERROR_SKIP: return "skip";
  case ED_ON_ERROR_DEAD_LETTER: return "dead_letter";
  case ED_ON_ERROR_STOP: return "stop";
  }
  return "unknown";
}

/* FNV-1a, 64 bit: stable across builds and machines, which is all a
 * fingerprint needs. */
static uint64_t mix(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t mix_str(uint64_t h, const char *s) {
  h = mix(h, s ? s : "\x01(null)", s ? strlen(s) + 1 : 8);
  return h;
}

static uint64_t mix_i64(uint64_t h, int64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)v >> (8 * i));
  return mix(h, b, 8);
}

uint64_t ed_view_fingerprint(const ed_view_def_t *d) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = mix_i64(h, 1); /* fingerprint format version; retention is left out: changing it
                        * needs no rebuild */
  h = mix_str(h, d->from);
  h = mix_i64(h, d->format);
  h = mix_str(h, d->key);
  h = mix_str(h, d->where);
  h = mix_str(h, d->timestamp);
  h = mix_i64(h, (int64_t)d->naggs);
  for (size_t i = 0; i < d->naggs; i++) {
    h = mix_str(h, d->aggs[i].column);
    h = mix_i64(h, d->aggs[i].kind);
    h = mix_str(h, d->aggs[i].arg);
  }
  const ed_window_spec_t *w = &d->window;
  h = mix_i64(h, w->type);
  h = mix_i64(h, w->size);
  h = mix_i64(h, w->advance);
  h = mix_i64(h, w->gap);
  h = mix_i64(h, w->grace);
  return h;
}

void ed_view_def_fini(ed_view_def_t *def) {
  free(def->name);
  free(def->from);
  free(def->key);
  free(def->where);
  free(def->timestamp);
  free(def->to);
  for (size_t i = 0; i < def->naggs; i++) {
    free(def->aggs[i].column);
    free(def->aggs[i].arg);
  }
  memset(def, 0, sizeof *def);
}
