/* GET /v1/views/{view}/keys/{key}: one point lookup (or, for windowed
 * views, one seek and a short scan over the key's windows) in the partition
 * that owns the key, in one LMDB read snapshot (the rows and the offset they
 * reflect come from the same snapshot, so they always agree). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "query/query.h"
#include "query/query_int.h"
#include "streams/window.h"

/* LMDB's default maximum key size; ed_store_commit refuses longer keys. */
#define ED_QUERY_MAX_KEY 511

static int view_not_found(ed_buf_t *out, const char *view, size_t view_len) {
  ed__query_msg_t m;
  ed__query_msg_init(&m);
  ed__query_msg_puts(&m, "view '");
  ed__query_msg_raw(&m, view, view_len);
  ed__query_msg_puts(&m, "' not found");
  return ed__query_msg_error(&m, out, 404, "not_found");
}

static int key_not_found(ed_buf_t *out, const char *name, const char *key, size_t key_len) {
  ed__query_msg_t m;
  ed__query_msg_init(&m);
  ed__query_msg_puts(&m, "key '");
  ed__query_msg_raw(&m, key, key_len);
  ed__query_msg_puts(&m, "' not found in view '");
  ed__query_msg_puts(&m, name);
  ed__query_msg_puts(&m, "'");
  return ed__query_msg_error(&m, out, 404, "not_found");
}

static int no_windows(ed_buf_t *out, const char *name, const char *key, size_t key_len,
                      const ed_query_key_opts_t *opts) {
  ed__query_msg_t m;
  ed__query_msg_init(&m);
  ed__query_msg_puts(&m, "key '");
  ed__query_msg_raw(&m, key, key_len);
  ed__query_msg_puts(&m, "' has no windows in view '");
  ed__query_msg_puts(&m, name);
  ed__query_msg_puts(&m, "'");
  if (opts != NULL && (opts->has_from || opts->has_to)) {
    char range[96];
    int n = 0;
    if (opts->has_from && opts->has_to)
      n = snprintf(range, sizeof range, " starting from %" PRId64 " to %" PRId64, opts->from,
                   opts->to);
    else if (opts->has_from)
      n = snprintf(range, sizeof range, " starting at or after %" PRId64, opts->from);
    else
      n = snprintf(range, sizeof range, " starting at or before %" PRId64, opts->to);
    if (n > 0 && (size_t)n < sizeof range) ed__query_msg_raw(&m, range, (size_t)n);
  }
  return ed__query_msg_error(&m, out, 404, "not_found");
}

/* Checks from/to against the view's kind. Returns 0 or an error status
 * (the body appended). */
static int check_opts(ed_buf_t *out, const char *name, ed_store_kind_t kind,
                      const ed_query_key_opts_t *opts) {
  if (opts == NULL) return 0;
  if (kind != ED_STORE_KIND_WINDOWED && kind != ED_STORE_KIND_SESSION) {
    if (opts->has_from || opts->has_to)
      return ed_query_error(out, 400, "bad_request",
                            "query parameter '%s' applies to windowed views only; view '%s' is "
                            "not windowed",
                            opts->has_from ? "from" : "to", name);
    return 0;
  }
  if (opts->has_from && opts->has_to && opts->from > opts->to)
    return ed_query_error(out, 400, "bad_request",
                          "query parameter 'from' (%" PRId64 ") is after 'to' (%" PRId64 ")",
                          opts->from, opts->to);
  return 0;
}

int ed_query_get_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                     size_t key_len, const ed_query_key_opts_t *opts, ed_buf_t *out) {
  ed_view_t *v = ed_engine_find_view(e, view, view_len);
  if (v == NULL) return view_not_found(out, view, view_len);
  const ed_view_def_t *def = ed_view_def(v);
  const char *name = def->name;
  ed_store_kind_t kind = ed_view_kind(v);

  if (key_len == 0) return ed_query_error(out, 400, "bad_request", "key is empty");
  if (key_len > ED_QUERY_MAX_KEY)
    return ed_query_error(out, 400, "bad_request", "key is %zu bytes; keys are at most %d bytes",
                          key_len, ED_QUERY_MAX_KEY);
  int bad = check_opts(out, name, kind, opts);
  if (bad) return bad;

  int32_t n = ed_view_partition_count(v);
  if (n <= 0)
    return ed_query_error(out, 503, "unavailable", "view '%s' has no partitions yet", name);
  int32_t p = ed_partition_for_key(key, key_len, n);

  ed_store_t *s = ed_view_store(v, p);
  if (s == NULL)
    return ed_query_error(out, 503, "unavailable",
                          "partition %" PRId32
                          " of view '%s' is not available on this instance (not assigned yet)",
                          p, name);

  ed_store_read_t r;
  if (ed_store_read_begin(s, &r) != ED_OK) {
    ed_store_read_end(&r);
    return ed_query_error(out, 503, "unavailable",
                          "partition %" PRId32 " of view '%s': cannot start a read", p, name);
  }
  /* rendered while the snapshot is open: columns borrow from the map */
  int rc = ed__query_render_key(out, def, kind, &r, key, key_len, p, opts);
  ed_store_read_end(&r);
  switch (rc) {
  case ED_OK: return 200;
  case ED_ENOTFOUND:
    if (kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION)
      return no_windows(out, name, key, key_len, opts);
    return key_not_found(out, name, key, key_len);
  case ED_ETOOBIG:
    return ed_query_error(out, 400, "bad_request",
                          "key is too long for windowed view '%s': encoded with its window "
                          "start (0x00 bytes doubled, plus 10 bytes) it exceeds %d bytes",
                          name, ED_WKEY_MAX);
  case ED_EINVAL:
    return ed_query_error(out, 500, "internal", "partition %" PRId32 " of view '%s': corrupt row",
                          p, name);
  default:
    return ed_query_error(out, 500, "internal", "partition %" PRId32 " of view '%s': %s", p, name,
                          ed_strerror(rc));
  }
}
