/* libeddy: the calls answered by a single request: eddy_get,
 * eddy_windows and eddy_views. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

int eddy__check_args(eddy_client_t *c, const char *view, const void *key, void *out) {
  if (c == NULL) return EDDY_ERR_INVALID;
  if (view == NULL || view[0] == '\0' || out == NULL || key == NULL)
    return eddy__failf(c, EDDY_ERR_INVALID, "missing argument (view, key or out)");
  return EDDY_OK;
}

static void key_path(eddy__sb_t *s, const char *view, const void *key, size_t klen) {
  eddy__sb_str(s, "/v1/views/");
  eddy__sb_esc(s, view, strlen(view));
  eddy__sb_str(s, "/keys/");
  eddy__sb_esc(s, key, klen);
}

int eddy_get(eddy_client_t *c, const char *view, const void *key, size_t klen,
             const eddy_get_opts_t *opts, eddy_row_t **out) {
  int rc = eddy__check_args(c, view, key, out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  eddy__sb_t pq = {0};
  key_path(&pq, view, key, klen);
  char sep = '?';
  int64_t extra = 0;
  if (opts) {
    for (size_t i = 0; i < opts->n_min_offsets; i++, sep = '&')
      eddy__sb_addf(&pq, "%cmin_offset=%" PRId32 ":%" PRId64, sep, opts->min_offsets[i].partition,
                    opts->min_offsets[i].offset);
    if (opts->timeout_ms > 0) {
      eddy__sb_addf(&pq, "%ctimeout_ms=%d", sep, opts->timeout_ms);
      sep = '&';
    }
    if (opts->n_min_offsets > 0) extra = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    if (opts->allow_stale) eddy__sb_addf(&pq, "%callow_stale=true", sep);
  }
  if (pq.oom) {
    free(pq.p);
    return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  }
  eddy__req_t r = {.view = view, .key = key, .klen = klen, .pq = pq.p, .extra_ms = extra};
  eddy__ans_t a = {0};
  rc = eddy__request(c, &r, &a);
  free(pq.p);
  if (rc == EDDY_OK && (rc = eddy__decode_row(a.body, a.len, out)) != EDDY_OK)
    eddy__failf(c, rc, "undecodable Row answer (%zu bytes)", a.len);
  free(a.body);
  return rc;
}

int eddy_windows(eddy_client_t *c, const char *view, const void *key, size_t klen, int64_t from,
                 int64_t to, eddy_windows_t **out) {
  int rc = eddy__check_args(c, view, key, out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  eddy__sb_t pq = {0};
  key_path(&pq, view, key, klen);
  char sep = '?';
  if (from != EDDY_NO_BOUND) eddy__sb_addf(&pq, "%cfrom=%" PRId64, sep, from), sep = '&';
  if (to != EDDY_NO_BOUND) eddy__sb_addf(&pq, "%cto=%" PRId64, sep, to);
  if (pq.oom) {
    free(pq.p);
    return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  }
  eddy__req_t r = {.view = view, .key = key, .klen = klen, .pq = pq.p};
  eddy__ans_t a = {0};
  rc = eddy__request(c, &r, &a);
  free(pq.p);
  if (rc == EDDY_OK && (rc = eddy__decode_windows(a.body, a.len, out)) != EDDY_OK)
    eddy__failf(c, rc, "undecodable Row answer (%zu bytes)", a.len);
  free(a.body);
  return rc;
}

int eddy_views(eddy_client_t *c, eddy_views_t **out) {
  if (c == NULL) return EDDY_ERR_INVALID;
  if (out == NULL) return eddy__failf(c, EDDY_ERR_INVALID, "out is NULL");
  *out = NULL;
  eddy__req_t r = {.view = "", .pq = "/v1/views"};
  eddy__ans_t a = {0};
  int rc = eddy__request(c, &r, &a);
  if (rc == EDDY_OK && (rc = eddy__decode_views(a.body, a.len, out)) != EDDY_OK)
    eddy__failf(c, rc, "undecodable ViewList (%zu bytes)", a.len);
  free(a.body);
  return rc;
}
