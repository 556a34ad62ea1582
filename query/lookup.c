/* Key lookups:
 *   GET  /v1/views/{view}/keys/{key}: one point lookup (or, for windowed
 *        views, one seek and a short scan over the key's windows) in the
 *        partition that owns the key, in one LMDB read snapshot;
 *   POST /v1/views/{view}/keys: many keys, grouped by partition, one
 *        snapshot per partition, taken one after another.
 * The rows and the position they reflect come from the same snapshot, so
 * they always agree. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/murmur2.h"
#include "query/query.h"
#include "query/query_int.h"
#include "streams/window.h"

int ed__query_view_not_found(ed_query_result_t *res, const char *view, size_t view_len) {
  ed_buf_t *m = ed__qres_error_begin(res, 404, "not_found");
  ed_buf_puts(m, "view '");
  ed_buf_append(m, view, view_len);
  ed_buf_puts(m, "' not found");
  return ed__qres_error_end(res, m);
}

static int key_not_found(ed_query_result_t *res, const char *name, const char *key,
                         size_t key_len) {
  ed_buf_t *m = ed__qres_error_begin(res, 404, "not_found");
  ed_buf_puts(m, "key '");
  ed_buf_append(m, key, key_len);
  ed_buf_puts(m, "' not found in view '");
  ed_buf_puts(m, name);
  ed_buf_puts(m, "'");
  return ed__qres_error_end(res, m);
}

static int no_windows(ed_query_result_t *res, const char *name, const char *key, size_t key_len,
                      const ed_query_key_opts_t *opts) {
  ed_buf_t *m = ed__qres_error_begin(res, 404, "not_found");
  ed_buf_puts(m, "key '");
  ed_buf_append(m, key, key_len);
  ed_buf_puts(m, "' has no windows in view '");
  ed_buf_puts(m, name);
  ed_buf_puts(m, "'");
  if (opts != NULL && (opts->has_from || opts->has_to)) {
    if (opts->has_from && opts->has_to)
      ed_buf_printf(m, " starting from %" PRId64 " to %" PRId64, opts->from, opts->to);
    else if (opts->has_from)
      ed_buf_printf(m, " starting at or after %" PRId64, opts->from);
    else
      ed_buf_printf(m, " starting at or before %" PRId64, opts->to);
  }
  return ed__qres_error_end(res, m);
}

static int is_windowed(ed_store_kind_t kind) {
  return kind == ED_STORE_KIND_WINDOWED || kind == ED_STORE_KIND_SESSION;
}

/* Checks from/to against the view's kind. Returns 0 or an error status. */
static int check_opts(ed_query_result_t *res, const char *name, ed_store_kind_t kind,
                      const ed_query_key_opts_t *opts) {
  if (opts == NULL) return 0;
  if (!is_windowed(kind)) {
    if (opts->has_from || opts->has_to)
      return ed_query_fail(res, 400, "bad_request",
                           "query parameter '%s' applies to windowed views only; view '%s' is "
                           "not windowed",
                           opts->has_from ? "from" : "to", name);
    return 0;
  }
  if (opts->has_from && opts->has_to && opts->from > opts->to)
    return ed_query_fail(res, 400, "bad_request",
                         "query parameter 'from' (%" PRId64 ") is after 'to' (%" PRId64 ")",
                         opts->from, opts->to);
  return 0;
}

/* The store answering partition @p p: the running one, else with
 * allow_stale a standby copy kept here. */
static ed_store_t *store_for(ed_view_t *v, int32_t p, const ed_query_key_opts_t *opts) {
  ed_store_t *s = ed_view_store(v, p);
  if (s == NULL && opts != NULL && opts->allow_stale) s = ed_view_standby_store(v, p);
  return s;
}

int ed__query_unassigned(ed_query_result_t *res, const char *name, int32_t p) {
  return ed_query_fail(res, 503, "unavailable",
                       "partition %" PRId32
                       " of view '%s' is not available on this instance (not assigned here)",
                       p, name);
}

static int read_failed(ed_query_result_t *res, const char *name, int32_t p, int rc) {
  if (rc == ED_ENOMEM) return ed_query_fail(res, 500, "internal", "out of memory");
  if (rc == ED_EINVAL)
    return ed_query_fail(res, 500, "internal", "partition %" PRId32 " of view '%s': corrupt row", p,
                         name);
  return ed_query_fail(res, 500, "internal", "partition %" PRId32 " of view '%s': %s", p, name,
                       ed_strerror(rc));
}

static int key_too_long(ed_query_result_t *res, const char *name) {
  return ed_query_fail(res, 400, "bad_request",
                       "key is too long for windowed view '%s': encoded with its window start "
                       "(0x00 bytes doubled, plus 10 bytes) it exceeds %d bytes",
                       name, ED_WKEY_MAX);
}

int ed_query_exec_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                      size_t key_len, const ed_query_key_opts_t *opts, ed_query_result_t *res) {
  ed__qres_reset(res, ED__QRES_KEY);
  ed_view_t *v = ed_engine_find_view(e, view, view_len);
  if (v == NULL) return ed__query_view_not_found(res, view, view_len);
  const ed_view_def_t *def = ed_view_def(v);
  const char *name = def->name;
  ed_store_kind_t kind = ed_view_kind(v);

  if (key_len == 0) return ed_query_fail(res, 400, "bad_request", "key is empty");
  if (key_len > ED_QUERY_MAX_KEY)
    return ed_query_fail(res, 400, "bad_request", "key is %zu bytes; keys are at most %d bytes",
                         key_len, ED_QUERY_MAX_KEY);
  int bad = check_opts(res, name, kind, opts);
  if (bad) return bad;

  int32_t n = ed_view_partition_count(v);
  if (n <= 0)
    return ed_query_fail(res, 503, "unavailable", "view '%s' has no partitions yet", name);
  int32_t p = ed_partition_for_key(key, key_len, n);

  ed_store_t *s = store_for(v, p, opts);
  if (s == NULL) return ed__query_unassigned(res, name, p);

  ed__qrow_t *row = ed__qres_row(res);
  ed__qpos_t *pos = ed__qres_pos(res);
  if (row == NULL || pos == NULL) return read_failed(res, name, p, ED_ENOMEM);
  row->key = ed__qres_bytes(res, key, key_len);
  row->partition = p;

  ed_store_read_t r;
  if (ed_store_read_begin(s, &r) != ED_OK) {
    ed_store_read_end(&r);
    return ed_query_fail(res, 503, "unavailable",
                         "partition %" PRId32 " of view '%s': cannot start a read", p, name);
  }
  ed__query_read_pos(&r, def, p, pos);
  int rc = res->oom ? ED_ENOMEM : ed__query_read_key(res, 0, def, kind, &r, key, key_len, opts);
  ed_store_read_end(&r);
  switch (rc) {
  case ED_OK: res->status = 200; return 200;
  case ED_ENOTFOUND:
    if (is_windowed(kind)) return no_windows(res, name, key, key_len, opts);
    return key_not_found(res, name, key, key_len);
  case ED_ETOOBIG: return key_too_long(res, name);
  default: return read_failed(res, name, p, rc);
  }
}

/* ---- multi-get ---- */

typedef struct {
  int32_t partition;
  uint32_t index; /* the key's index in the request */
} key_ref_t;

static int ref_cmp(const void *a, const void *b) {
  const key_ref_t *x = a, *y = b;
  if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

int ed_query_exec_keys(ed_engine_t *e, const char *view, size_t view_len,
                       const ed_query_keys_t *keys, const ed_query_key_opts_t *opts,
                       ed_query_result_t *res) {
  ed__qres_reset(res, ED__QRES_MULTI);
  ed_view_t *v = ed_engine_find_view(e, view, view_len);
  if (v == NULL) return ed__query_view_not_found(res, view, view_len);
  const ed_view_def_t *def = ed_view_def(v);
  const char *name = def->name;
  ed_store_kind_t kind = ed_view_kind(v);
  int bad = check_opts(res, name, kind, opts);
  if (bad) return bad;
  if (keys->n > ED_QUERY_MAX_KEYS)
    return ed_query_fail(res, 413, "too_large", "%zu keys; a multi-get takes at most %d keys",
                         keys->n, ED_QUERY_MAX_KEYS);

  int32_t n = ed_view_partition_count(v);
  if (n <= 0)
    return ed_query_fail(res, 503, "unavailable", "view '%s' has no partitions yet", name);

  key_ref_t *refs = malloc((keys->n ? keys->n : 1) * sizeof *refs);
  if (refs == NULL) return read_failed(res, name, 0, ED_ENOMEM);
  int status = 0;
  for (size_t i = 0; i < keys->n && status == 0; i++) {
    size_t kl = 0;
    const char *k = ed_query_keys_at(keys, i, &kl);
    if (kl == 0)
      status = ed_query_fail(res, 400, "bad_request", "key %zu is empty", i);
    else if (kl > ED_QUERY_MAX_KEY)
      status =
          ed_query_fail(res, 400, "bad_request", "key %zu is %zu bytes; keys are at most %d bytes",
                        i, kl, ED_QUERY_MAX_KEY);
    refs[i].partition = ed_partition_for_key(k, kl, n);
    refs[i].index = (uint32_t)i;
  }
  if (status != 0) goto out;
  qsort(refs, keys->n, sizeof *refs, ref_cmp);
  /* every partition first: all or nothing */
  for (size_t i = 0; i < keys->n; i++)
    if ((i == 0 || refs[i].partition != refs[i - 1].partition) &&
        store_for(v, refs[i].partition, opts) == NULL) {
      status = ed__query_unassigned(res, name, refs[i].partition);
      goto out;
    }

  /* one row per key, in request order */
  for (size_t i = 0; i < keys->n; i++) {
    size_t kl = 0;
    const char *k = ed_query_keys_at(keys, i, &kl);
    ed__qrow_t *row = ed__qres_row(res);
    if (row == NULL) break;
    row->key = ed__qres_bytes(res, k, kl);
  }
  if (res->oom) {
    status = read_failed(res, name, 0, ED_ENOMEM);
    goto out;
  }

  for (size_t i = 0; i < keys->n;) {
    int32_t p = refs[i].partition;
    ed_store_t *s = store_for(v, p, opts);
    ed_store_read_t r;
    if (s == NULL || ed_store_read_begin(s, &r) != ED_OK) {
      if (s != NULL) ed_store_read_end(&r);
      status = s == NULL ? ed__query_unassigned(res, name, p)
                         : ed_query_fail(res, 503, "unavailable",
                                         "partition %" PRId32 " of view '%s': cannot start a read",
                                         p, name);
      goto out;
    }
    ed__qpos_t *pos = ed__qres_pos(res);
    if (pos != NULL) ed__query_read_pos(&r, def, p, pos);
    int rc = pos == NULL ? ED_ENOMEM : ED_OK;
    for (; i < keys->n && refs[i].partition == p && rc == ED_OK; i++) {
      size_t idx = refs[i].index, kl = 0;
      const char *k = ed_query_keys_at(keys, idx, &kl);
      res->rows[idx].partition = p;
      rc = ed__query_read_key(res, idx, def, kind, &r, k, kl, opts);
      if (rc == ED_ENOTFOUND) {
        res->rows[idx].missing = 1;
        rc = ED_OK;
      }
    }
    ed_store_read_end(&r);
    if (rc == ED_ETOOBIG) {
      status = key_too_long(res, name);
      goto out;
    }
    if (rc != ED_OK) {
      status = read_failed(res, name, p, rc);
      goto out;
    }
  }
  status = res->status = 200;
out:
  free(refs);
  return status;
}

/* ---- range scans ---- */

int ed_query_exec_rows(ed_engine_t *e, const char *view, size_t view_len,
                       const ed_query_scan_t *scan, ed_query_result_t *res) {
  ed__qres_reset(res, ED__QRES_ROWS);
  ed_view_t *v = ed_engine_find_view(e, view, view_len);
  if (v == NULL) return ed__query_view_not_found(res, view, view_len);
  const ed_view_def_t *def = ed_view_def(v);
  const char *name = def->name;
  int32_t n = ed_view_partition_count(v);
  if (n <= 0)
    return ed_query_fail(res, 503, "unavailable", "view '%s' has no partitions yet", name);
  /* a routed part of a scan reads only the partitions it names */
  size_t np = scan->partitions != NULL ? scan->npartitions : (size_t)n;
  ed_store_t **stores = malloc((np ? np : 1) * sizeof *stores);
  int32_t *parts = malloc((np ? np : 1) * sizeof *parts);
  int status = 0;
  if (stores == NULL || parts == NULL)
    status = ed_query_fail(res, 500, "internal", "out of memory");
  for (size_t i = 0; i < np && status == 0; i++) {
    int32_t p = scan->partitions != NULL ? scan->partitions[i] : (int32_t)i;
    if (p < 0 || p >= n || (i > 0 && p <= parts[i - 1])) {
      status = ed_query_fail(res, 400, "bad_request",
                             "query parameter 'partitions' must list partitions of view '%s' "
                             "(0..%" PRId32 ") in ascending order",
                             name, n - 1);
      break;
    }
    parts[i] = p;
    stores[i] = ed_view_store(v, p);
    if (stores[i] == NULL) status = ed__query_unassigned(res, name, p);
  }
  if (status == 0)
    status = ed__query_scan_page(res, def, ed_view_kind(v), stores, parts, np, scan);
  free(stores);
  free(parts);
  return status;
}

/* ---- JSON conveniences ---- */

int ed_query_get_key(ed_engine_t *e, const char *view, size_t view_len, const char *key,
                     size_t key_len, const ed_query_key_opts_t *opts, ed_buf_t *out) {
  ed_query_result_t res;
  ed__qres_init(&res);
  int status = ed_query_exec_key(e, view, view_len, key, key_len, opts, &res);
  if (ed_query_encode(&res, ED_QUERY_JSON, out) != ED_OK) status = 500;
  ed__qres_fini(&res);
  return status;
}
