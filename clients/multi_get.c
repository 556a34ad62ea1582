/* libeddy: eddy_multi_get. With direct routing the keys are split by
 * owner and fetched in parallel (curl multi), failed owners' keys retried
 * through a seed, and the rows put back in request order. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

/* A multi-get sent whole to a seed (which splits it by owner). */
static int multi_get_seed(eddy_client_t *c, const char *view, const void *const *keys,
                          const size_t *klens, size_t n, eddy_rows_t **out) {
  int rc;
  ProtobufCBinaryData *kb = calloc(n ? n : 1, sizeof *kb);
  if (kb == NULL) return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    kb[i].data = (uint8_t *)(uintptr_t)keys[i], kb[i].len = klens[i];
  Eddy__V1__MultiGetRequest mr = EDDY__V1__MULTI_GET_REQUEST__INIT;
  mr.n_keys = n;
  mr.keys = kb;
  size_t blen = eddy__v1__multi_get_request__get_packed_size(&mr);
  uint8_t *body = malloc(blen ? blen : 1);
  if (body == NULL) {
    free(kb);
    return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  }
  eddy__v1__multi_get_request__pack(&mr, body);
  free(kb);
  eddy__sb_t pq = {0};
  eddy__sb_str(&pq, "/v1/views/");
  eddy__sb_esc(&pq, view, strlen(view));
  eddy__sb_str(&pq, "/keys");
  if (pq.oom) {
    free(body);
    free(pq.p);
    return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
  }
  eddy__req_t r = {.view = view, .pq = pq.p, .post = body, .plen = blen};
  eddy__ans_t a = {0};
  rc = eddy__request(c, &r, &a);
  free(pq.p);
  free(body);
  if (rc == EDDY_OK && (rc = eddy__decode_rows(a.body, a.len, out)) != EDDY_OK)
    eddy__failf(c, rc, "undecodable MultiGetAnswer (%zu bytes)", a.len);
  if (rc == EDDY_OK && (*out)->n != n) {
    size_t got = (*out)->n;
    eddy_rows_destroy(*out);
    *out = NULL;
    rc = eddy__failf(c, EDDY_ERR_PROTOCOL, "multi-get answered %zu rows for %zu keys", got, n);
  }
  free(a.body);
  return rc;
}

/* Packs a MultiGetRequest of the keys @p idx[0..m) into a new buffer. */
static uint8_t *pack_keys(const void *const *keys, const size_t *klens, const size_t *idx, size_t m,
                          size_t *blen) {
  ProtobufCBinaryData *kb = calloc(m ? m : 1, sizeof *kb);
  if (kb == NULL) return NULL;
  for (size_t i = 0; i < m; i++)
    kb[i].data = (uint8_t *)(uintptr_t)keys[idx[i]], kb[i].len = klens[idx[i]];
  Eddy__V1__MultiGetRequest mr = EDDY__V1__MULTI_GET_REQUEST__INIT;
  mr.n_keys = m;
  mr.keys = kb;
  *blen = eddy__v1__multi_get_request__get_packed_size(&mr);
  uint8_t *body = malloc(*blen ? *blen : 1);
  if (body) eddy__v1__multi_get_request__pack(&mr, body);
  free(kb);
  return body;
}

static int pos_cmp(const void *a, const void *b) {
  const Eddy__V1__Position *x = *(Eddy__V1__Position *const *)a,
                           *y = *(Eddy__V1__Position *const *)b;
  return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* The rows of the parts' answers put back in request order, as one
 * MultiGetAnswer (positions by partition, one each). */
static int multi_assemble(Eddy__V1__MultiGetAnswer **ans, size_t nans, const size_t *ans_of,
                          const size_t *row_of, size_t n, eddy_rows_t **out) {
  size_t npos = 0;
  for (size_t k = 0; k < nans; k++)
    npos += ans[k]->n_positions;
  Eddy__V1__Row **rows = malloc((n ? n : 1) * sizeof *rows);
  Eddy__V1__Position **pos = malloc((npos ? npos : 1) * sizeof *pos);
  int rc = EDDY_ERR_NOMEM;
  if (rows && pos) {
    for (size_t i = 0; i < n; i++)
      rows[i] = ans[ans_of[i]]->rows[row_of[i]];
    size_t np = 0;
    for (size_t k = 0; k < nans; k++)
      for (size_t j = 0; j < ans[k]->n_positions; j++)
        pos[np++] = ans[k]->positions[j];
    qsort(pos, np, sizeof *pos, pos_cmp);
    size_t w = 0;
    for (size_t j = 0; j < np; j++)
      if (w == 0 || pos[w - 1]->partition != pos[j]->partition) pos[w++] = pos[j];
    Eddy__V1__MultiGetAnswer m = EDDY__V1__MULTI_GET_ANSWER__INIT;
    m.n_rows = n, m.rows = rows, m.n_positions = w, m.positions = pos;
    size_t len = eddy__v1__multi_get_answer__get_packed_size(&m);
    uint8_t *b = malloc(len ? len : 1);
    if (b) {
      eddy__v1__multi_get_answer__pack(&m, b);
      rc = eddy__decode_rows(b, len, out);
      free(b);
    }
  }
  free(rows);
  free(pos);
  return rc;
}

int eddy_multi_get(eddy_client_t *c, const char *view, const void *const *keys, const size_t *klens,
                   size_t n, eddy_rows_t **out) {
  int rc = eddy__check_args(c, view, n ? (const void *)keys : "", out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  if (n > 0 && klens == NULL) return eddy__failf(c, EDDY_ERR_INVALID, "klens is NULL");
  if (!c->direct || n == 0) return multi_get_seed(c, view, keys, klens, n, out);
  /* Split by owner; the keys of owners that failed go to a seed on the
   * next attempt (after a map refresh), until every key has its row. */
  int64_t deadline = eddy__now_ms() + c->timeout_ms, backoff = EDDY__BACKOFF_FIRST_MS;
  size_t *ans_of = malloc(n * sizeof *ans_of), *row_of = malloc(n * sizeof *row_of);
  size_t *grp = malloc(n * sizeof *grp), *idx = malloc(n * sizeof *idx);
  Eddy__V1__MultiGetAnswer **ans = NULL;
  size_t nans = 0, capans = 0;
  eddy__route_t rt = {0};
  char(*failed)[256] = NULL;
  size_t nfailed = 0;
  eddy__xfer_t *x = NULL;
  size_t nx = 0;
  int last = EDDY_ERR_TIMEOUT;
  char lastmsg[400] = "no attempt made";
  char *pq = NULL;
  eddy__sb_t pqs = {0};
  eddy__sb_str(&pqs, "/v1/views/");
  eddy__sb_esc(&pqs, view, strlen(view));
  eddy__sb_str(&pqs, "/keys");
  pq = pqs.p;
  if (!ans_of || !row_of || !grp || !idx || pqs.oom) {
    rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    ans_of[i] = SIZE_MAX;
  for (int attempt = 0;; attempt++) {
    eddy__map_refresh(c, deadline);
    if ((rc = eddy__map_route(c, view, &rt)) != EDDY_OK) {
      rc = eddy__failf(c, rc, "out of memory");
      goto done;
    }
    /* groups: owner URL index, or rt.nurls + the seed for the rest */
    size_t ngrp = rt.nurls + 1;
    for (size_t i = 0; i < n; i++) {
      if (ans_of[i] != SIZE_MAX) continue;
      grp[i] = rt.nurls;
      if (rt.np <= 0) continue;
      int o = rt.owner[eddy_partition_for_key(keys[i], klens[i], rt.np)];
      if (o < 0) continue;
      size_t k = 0;
      while (k < nfailed && strcmp(failed[k], rt.urls[o]) != 0)
        k++;
      if (k == nfailed) grp[i] = (size_t)o;
    }
    const char *seed = eddy__pick_seed(c, failed, nfailed);
    eddy__xfers_free(x, nx);
    nx = 0;
    x = calloc(ngrp, sizeof *x);
    size_t *xgrp = calloc(ngrp, sizeof *xgrp);
    if (x == NULL || xgrp == NULL) {
      free(xgrp);
      rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t g = 0; g < ngrp; g++) {
      size_t m = 0;
      for (size_t i = 0; i < n; i++)
        if (ans_of[i] == SIZE_MAX && grp[i] == g) idx[m++] = i;
      if (m == 0) continue;
      eddy__sb_t u = {0};
      eddy__sb_str(&u, g < rt.nurls ? rt.urls[g] : seed);
      eddy__sb_str(&u, pq);
      x[nx].url = u.p;
      x[nx].post = pack_keys(keys, klens, idx, m, &x[nx].plen);
      xgrp[nx] = g;
      nx++;
      if (u.oom || x[nx - 1].post == NULL) {
        free(xgrp);
        rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
        goto done;
      }
    }
    int64_t left = deadline - eddy__now_ms();
    if (left <= 0) {
      free(xgrp);
      break;
    }
    eddy__http_many(c, x, nx, left);
    nfailed = 0;
    free(failed);
    failed = calloc(nx, sizeof *failed);
    int fatal = 0;
    for (size_t j = 0; j < nx && !fatal; j++) {
      eddy__ans_t *a = &x[j].a;
      if (a->oom) {
        rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", x[j].url);
        fatal = 1;
      } else if (a->cc == CURLE_OK && a->status >= 200 && a->status < 300) {
        Eddy__V1__MultiGetAnswer *m =
            a->is_pb ? eddy__v1__multi_get_answer__unpack(NULL, a->len, a->body) : NULL;
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
          if (ans_of[i] == SIZE_MAX && grp[i] == xgrp[j]) idx[want++] = i;
        if (m == NULL || m->n_rows != want) {
          rc = eddy__failf(c, EDDY_ERR_PROTOCOL,
                           "%s: undecodable MultiGetAnswer or %zu rows for %zu keys", x[j].url,
                           m ? m->n_rows : 0, want);
          if (m) eddy__v1__multi_get_answer__free_unpacked(m, NULL);
          fatal = 1;
          break;
        }
        if (nans == capans) {
          size_t cap = capans ? capans * 2 : 4;
          Eddy__V1__MultiGetAnswer **p = realloc(ans, cap * sizeof *p);
          if (p == NULL) {
            eddy__v1__multi_get_answer__free_unpacked(m, NULL);
            rc = eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
            fatal = 1;
            break;
          }
          ans = p, capans = cap;
        }
        ans[nans] = m;
        for (size_t r = 0; r < want; r++)
          ans_of[idx[r]] = nans, row_of[idx[r]] = r;
        nans++;
      } else {
        int retry;
        last = eddy__xfer_error(&x[j], &retry, lastmsg, sizeof lastmsg);
        if (!retry) {
          rc = eddy__failf(c, last, "%s", lastmsg);
          fatal = 1;
        } else {
          eddy__map_mark_stale(c);
          if (failed) {
            const char *base = xgrp[j] < rt.nurls ? rt.urls[xgrp[j]] : seed;
            snprintf(failed[nfailed++], sizeof *failed, "%s", base);
          }
        }
      }
    }
    free(xgrp);
    if (fatal) goto done;
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
      pending += ans_of[i] == SIZE_MAX;
    if (pending == 0) {
      rc = multi_assemble(ans, nans, ans_of, row_of, n, out);
      if (rc != EDDY_OK) eddy__failf(c, rc, "out of memory");
      goto done;
    }
    if (attempt >= c->retries) break;
    int64_t nap = deadline - eddy__now_ms();
    if (nap <= 0) break;
    eddy__sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < EDDY__BACKOFF_MAX_MS ? backoff * 2 : EDDY__BACKOFF_MAX_MS;
  }
  rc = eddy__failf(c, last, "%s (after retries)", lastmsg);
done:
  for (size_t k = 0; k < nans; k++)
    eddy__v1__multi_get_answer__free_unpacked(ans[k], NULL);
  free(ans);
  eddy__xfers_free(x, nx);
  eddy__route_fini(&rt);
  free(failed);
  free(ans_of), free(row_of), free(grp), free(idx);
  free(pq);
  return rc;
}
