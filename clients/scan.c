/* libeddy: range scans (eddy_scan_*). Pages come from the owners in
 * parallel (one request each, restricted to its partitions, merged by
 * scan_merge.c) or, without direct routing or owners, from a seed. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* ---- range scans ---- */

struct eddy_scan {
  eddy_client_t *c;
  char *view, *from, *to;
  int limit;
  char *cursor;              /* NULL: first page */
  int fetched;               /* a page has been fetched */
  int done;                  /* the last page has been fetched */
  Eddy__V1__RowList **parts; /* the current page's parts (one per owner) */
  size_t nparts;
  const Eddy__V1__Row **rows; /* the current page in key order (borrowed from parts) */
  size_t nrows;
  eddy_row_t row; /* the current row */
  size_t i;
};

eddy_scan_t *eddy_scan_open(eddy_client_t *c, const char *view, const char *from, const char *to,
                            int page_limit) {
  if (c == NULL) return NULL;
  if (view == NULL || view[0] == '\0' || page_limit < 0) {
    eddy__failf(c, EDDY_ERR_INVALID, "missing view or negative page_limit");
    return NULL;
  }
  eddy_scan_t *it = calloc(1, sizeof *it);
  if (it == NULL || (it->view = eddy__strdup(view)) == NULL ||
      (from && (it->from = eddy__strdup(from)) == NULL) ||
      (to && (it->to = eddy__strdup(to)) == NULL)) {
    eddy_scan_close(it);
    eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
    return NULL;
  }
  it->c = c;
  it->limit = page_limit;
  return it;
}

/* The path and query of the next page (without partitions=). */
static char *scan_pq(const eddy_scan_t *it) {
  eddy__sb_t pq = {0};
  eddy__sb_str(&pq, "/v1/views/");
  eddy__sb_esc(&pq, it->view, strlen(it->view));
  eddy__sb_str(&pq, "/rows");
  char sep = '?';
  if (it->limit > 0) eddy__sb_addf(&pq, "%climit=%d", sep, it->limit), sep = '&';
  if (it->from)
    eddy__sb_addf(&pq, "%cfrom=", sep), eddy__sb_esc(&pq, it->from, strlen(it->from)), sep = '&';
  if (it->to)
    eddy__sb_addf(&pq, "%cto=", sep), eddy__sb_esc(&pq, it->to, strlen(it->to)), sep = '&';
  if (it->cursor)
    eddy__sb_addf(&pq, "%ccursor=", sep), eddy__sb_esc(&pq, it->cursor, strlen(it->cursor));
  if (pq.oom) {
    free(pq.p);
    return NULL;
  }
  return pq.p;
}

/* Makes @p parts (taken over) the current page: their rows merged in
 * store-key order, with @p cursor (taken over; NULL: the last page). */
static void scan_set_page(eddy_scan_t *it, Eddy__V1__RowList **parts, size_t nparts,
                          const Eddy__V1__Row **rows, size_t nrows, char *cursor) {
  for (size_t k = 0; k < it->nparts; k++)
    eddy__v1__row_list__free_unpacked(it->parts[k], NULL);
  free(it->parts);
  free(it->rows);
  it->parts = parts, it->nparts = nparts;
  it->rows = rows, it->nrows = nrows;
  it->i = 0;
  free(it->cursor);
  it->cursor = cursor;
  it->done = cursor == NULL;
  it->fetched = 1;
}

/* A page served by a seed (which merges the owners' pages). */
static int scan_fetch_seed(eddy_scan_t *it) {
  eddy_client_t *c = it->c;
  char *pq = scan_pq(it);
  if (pq == NULL) return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  eddy__req_t r = {.view = it->view, .pq = pq};
  eddy__ans_t a = {0};
  int rc = eddy__request(c, &r, &a);
  free(pq);
  if (rc != EDDY_OK) {
    free(a.body);
    return rc;
  }
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, a.len, a.body);
  free(a.body);
  if (l == NULL) return eddy__failf(c, EDDY_ERR_PROTOCOL, "undecodable RowList");
  char *next = NULL;
  Eddy__V1__RowList **parts = malloc(sizeof *parts);
  const Eddy__V1__Row **rows = malloc((l->n_rows ? l->n_rows : 1) * sizeof *rows);
  if (parts == NULL || rows == NULL ||
      (l->next_cursor && l->next_cursor[0] != '\0' &&
       (next = eddy__strdup(l->next_cursor)) == NULL)) {
    free(parts), free(rows);
    eddy__v1__row_list__free_unpacked(l, NULL);
    return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  }
  parts[0] = l;
  for (size_t i = 0; i < l->n_rows; i++)
    rows[i] = l->rows[i];
  scan_set_page(it, parts, 1, rows, l->n_rows, next);
  return EDDY_OK;
}

/* Makes the owners' pages @p parts the current page, merged (taken over on
 * success). EDDY__SCAN_FALLBACK: pages this client cannot merge. */
static int scan_merge(eddy_scan_t *it, Eddy__V1__RowList **parts, size_t n) {
  const Eddy__V1__Row **rows;
  size_t nrows;
  char *cursor;
  int rc = eddy__scan_merge(parts, n, it->limit, &rows, &nrows, &cursor);
  if (rc == EDDY_ERR_NOMEM) return eddy__failf(it->c, EDDY_ERR_NOMEM, "out of memory");
  if (rc != EDDY_OK) return rc;
  scan_set_page(it, parts, n, rows, nrows, cursor);
  return EDDY_OK;
}

/* A page as one request per owner (restricted to its partitions), in
 * parallel, merged here. EDDY__SCAN_FALLBACK: the map names no owner for some
 * partition (a seed serves the page). */
static int scan_fetch_owners(eddy_scan_t *it) {
  eddy_client_t *c = it->c;
  int64_t deadline = eddy__now_ms() + c->timeout_ms, backoff = EDDY__BACKOFF_FIRST_MS;
  eddy__route_t rt = {0};
  eddy__xfer_t *x = NULL;
  size_t nx = 0;
  int rc, last = EDDY_ERR_TIMEOUT;
  char lastmsg[400] = "no attempt made";
  char *pq = scan_pq(it);
  if (pq == NULL) return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  for (int attempt = 0;; attempt++) {
    eddy__map_refresh(c, deadline);
    if ((rc = eddy__map_route(c, it->view, &rt)) != EDDY_OK) {
      rc = eddy__failf(c, rc, "out of memory");
      goto done;
    }
    rc = EDDY__SCAN_FALLBACK;
    if (rt.np <= 0) goto done;
    for (int32_t p = 0; p < rt.np; p++)
      if (rt.owner[p] < 0) goto done;
    eddy__xfers_free(x, nx);
    nx = rt.nurls;
    if ((x = calloc(nx, sizeof *x)) == NULL) {
      rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    int oom = 0;
    for (size_t k = 0; k < nx; k++) {
      eddy__sb_t u = {0};
      eddy__sb_str(&u, rt.urls[k]);
      eddy__sb_str(&u, pq);
      char sep = strchr(pq, '?') ? '&' : '?';
      for (int32_t p = 0; p < rt.np; p++)
        if (rt.owner[p] == (int)k)
          eddy__sb_addf(&u, "%c%s%" PRId32, sep, sep == ',' ? "" : "partitions=", p), sep = ',';
      x[k].url = u.p;
      oom |= u.oom;
    }
    if (oom) {
      rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    int64_t left = deadline - eddy__now_ms();
    if (left <= 0) break;
    eddy__http_many(c, x, nx, left);
    int retry_all = 0;
    for (size_t k = 0; k < nx; k++) {
      eddy__ans_t *a = &x[k].a;
      if (a->oom) {
        rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", x[k].url);
        goto done;
      }
      if (a->cc == CURLE_OK && a->status >= 200 && a->status < 300) {
        if (!a->is_pb) {
          rc = eddy__failf(c, EDDY_ERR_PROTOCOL, "%s: answer is not application/x-protobuf",
                           x[k].url);
          goto done;
        }
        continue;
      }
      int retry;
      last = eddy__xfer_error(&x[k], &retry, lastmsg, sizeof lastmsg);
      if (!retry) {
        rc = eddy__failf(c, last, "%s", lastmsg);
        goto done;
      }
      retry_all = 1;
    }
    if (!retry_all) {
      Eddy__V1__RowList **parts = calloc(nx, sizeof *parts);
      if (parts == NULL) {
        rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
        goto done;
      }
      size_t k = 0;
      for (; k < nx; k++)
        if ((parts[k] = eddy__v1__row_list__unpack(NULL, x[k].a.len, x[k].a.body)) == NULL) break;
      rc = k < nx ? eddy__failf(c, EDDY_ERR_PROTOCOL, "%s: undecodable RowList", x[k].url)
                  : scan_merge(it, parts, nx);
      if (rc != EDDY_OK) /* scan_merge took them over on success */
        for (size_t j = 0; j < nx; j++)
          if (parts[j]) eddy__v1__row_list__free_unpacked(parts[j], NULL);
      if (rc != EDDY_OK) free(parts);
      goto done;
    }
    eddy__map_mark_stale(c);
    if (attempt >= c->retries) break;
    int64_t nap = deadline - eddy__now_ms();
    if (nap <= 0) break;
    eddy__sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < EDDY__BACKOFF_MAX_MS ? backoff * 2 : EDDY__BACKOFF_MAX_MS;
  }
  rc = eddy__failf(c, last, "%s (after retries)", lastmsg);
done:
  eddy__xfers_free(x, nx);
  eddy__route_fini(&rt);
  free(pq);
  return rc;
}

static int scan_fetch(eddy_scan_t *it) {
  if (it->c->direct) {
    int rc = scan_fetch_owners(it);
    if (rc != EDDY__SCAN_FALLBACK) return rc;
  }
  return scan_fetch_seed(it);
}

int eddy_scan_next(eddy_scan_t *it, const eddy_row_t **row) {
  if (it == NULL || row == NULL) return EDDY_ERR_INVALID;
  *row = NULL;
  while (!it->fetched || it->i >= it->nrows) {
    if (it->fetched && it->done) return 0;
    int rc = scan_fetch(it);
    if (rc != EDDY_OK) return rc;
  }
  const Eddy__V1__Row *m = it->rows[it->i++];
  /* A windowed view's scan row has one window: its value is the row's. */
  eddy__row_init(&it->row, m, m->value ? m->value : m->n_windows ? m->windows[0]->value : NULL, 0);
  *row = &it->row;
  return 1;
}

void eddy_scan_close(eddy_scan_t *it) {
  if (it == NULL) return;
  for (size_t k = 0; k < it->nparts; k++)
    eddy__v1__row_list__free_unpacked(it->parts[k], NULL);
  free(it->parts);
  free(it->rows);
  free(it->view);
  free(it->from);
  free(it->to);
  free(it->cursor);
  free(it);
}
