/* libeddy: HTTP exchanges over libcurl (one, or a parallel batch over curl
 * multi) and one call's request: routing to the key's owner or a seed,
 * retries with backoff, and the mapping of failures to eddy_err_t. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_int.h"

/* ---- HTTP ---- */
static void ans_reset(eddy__ans_t *a) {
  a->status = 0;
  a->cc = CURLE_OK;
  a->is_pb = 0;
  a->len = 0;
  a->oom = 0;
  a->served_by[0] = '\0';
  a->cerr[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t nm, void *arg) {
  eddy__ans_t *a = arg;
  size_t m = size * nm;
  if (a->len + m > a->cap) {
    size_t cap = (a->len + m) * 2 + 256;
    uint8_t *b = realloc(a->body, cap);
    if (b == NULL) {
      a->oom = 1;
      return 0; /* aborts the transfer */
    }
    a->body = b, a->cap = cap;
  }
  memcpy(a->body + a->len, p, m);
  a->len += m;
  return m;
}

/* The value of header @p name (with ':') in line @p p, or NULL. */
static const char *header_value(const char *p, size_t m, const char *name, size_t *vl) {
  size_t nl = strlen(name);
  if (m <= nl || strncasecmp(p, name, nl) != 0) return NULL;
  const char *v = p + nl;
  while (v < p + m && *v == ' ')
    v++;
  size_t l = (size_t)(p + m - v);
  while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
    l--;
  *vl = l;
  return v;
}

static size_t on_header(char *p, size_t size, size_t nm, void *arg) {
  eddy__ans_t *a = arg;
  size_t m = size * nm, vl;
  const char *v;
  if ((v = header_value(p, m, "eddy-served-by:", &vl)) != NULL)
    snprintf(a->served_by, sizeof a->served_by, "%.*s", (int)vl, v);
  else if ((v = header_value(p, m, "content-type:", &vl)) != NULL)
    a->is_pb = vl >= 22 && strncasecmp(v, "application/x-protobuf", 22) == 0;
  return m;
}

/* Sets up @p h for GET @p url, or POST of protobuf @p post (@p plen bytes),
 * answering into *a; *hs: the header list to free after the transfer.
 * 0, or -1 (out of memory; a->cc set). */
static int http_setup(eddy_client_t *c, CURL *h, const char *url, const void *post, size_t plen,
                      int64_t timeout_ms, eddy__ans_t *a, struct curl_slist **hso) {
  ans_reset(a);
  curl_easy_reset(h); /* keeps the handle's connections */
  struct curl_slist *hs = curl_slist_append(NULL, "Accept: application/x-protobuf");
  if (hs && c->auth_header) hs = curl_slist_append(hs, c->auth_header);
  if (hs && post) hs = curl_slist_append(hs, "Content-Type: application/x-protobuf");
  *hso = hs;
  if (hs == NULL) {
    a->cc = CURLE_OUT_OF_MEMORY;
    snprintf(a->cerr, sizeof a->cerr, "out of memory");
    return -1;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->cerr);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (void *)a);
  if (c->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
  if (post) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)post);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)plen);
  }
  return 0;
}

/* After a transfer of @p h ended with @p cc: the status into *a, the
 * handle back into the pool. */
static void http_finish(eddy_client_t *c, CURL *h, CURLcode cc, eddy__ans_t *a,
                        struct curl_slist *hs) {
  a->cc = cc;
  if (a->cc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
  if (a->cc != CURLE_OK && a->cerr[0] == '\0')
    snprintf(a->cerr, sizeof a->cerr, "%s", curl_easy_strerror(a->cc));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hs);
  eddy__pool_put(c, h);
}

/* One HTTP exchange: GET @p url, or POST of protobuf @p post (@p plen bytes).
 * The outcome in *a (a->cc: transport; a->status: HTTP). */
void eddy__http_do(eddy_client_t *c, const char *url, const void *post, size_t plen,
                   int64_t timeout_ms, eddy__ans_t *a) {
  CURL *h = eddy__pool_get(c);
  if (h == NULL) {
    ans_reset(a);
    a->cc = CURLE_OUT_OF_MEMORY;
    snprintf(a->cerr, sizeof a->cerr, "curl_easy_init failed");
    return;
  }
  struct curl_slist *hs;
  if (http_setup(c, h, url, post, plen, timeout_ms, a, &hs) != 0) {
    eddy__pool_put(c, h);
    return;
  }
  http_finish(c, h, curl_easy_perform(h), a, hs);
}

/* The @p n exchanges of @p x at once (curl multi), each within @p timeout_ms. */
void eddy__http_many(eddy_client_t *c, eddy__xfer_t *x, size_t n, int64_t timeout_ms) {
  CURLM *m = n > 1 ? eddy__mpool_get(c) : NULL;
  if (m == NULL) {
    for (size_t i = 0; i < n; i++)
      eddy__http_do(c, x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a);
    return;
  }
  CURL **hs = calloc(n, sizeof *hs);
  struct curl_slist **ls = calloc(n, sizeof *ls);
  int *done = calloc(n, sizeof *done);
  if (hs == NULL || ls == NULL || done == NULL) {
    free(hs), free(ls), free(done);
    eddy__mpool_put(c, m);
    for (size_t i = 0; i < n; i++)
      eddy__http_do(c, x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    hs[i] = eddy__pool_get(c);
    if (hs[i] == NULL) {
      ans_reset(&x[i].a);
      x[i].a.cc = CURLE_OUT_OF_MEMORY;
      done[i] = 1;
    } else if (http_setup(c, hs[i], x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a, &ls[i]) !=
                   0 ||
               curl_multi_add_handle(m, hs[i]) != CURLM_OK) {
      curl_slist_free_all(ls[i]);
      ls[i] = NULL;
      eddy__pool_put(c, hs[i]);
      hs[i] = NULL;
      x[i].a.cc = CURLE_OUT_OF_MEMORY;
      done[i] = 1;
    }
  }
  int running = 1;
  while (running) {
    if (curl_multi_perform(m, &running) != CURLM_OK) break;
    CURLMsg *msg;
    int q;
    while ((msg = curl_multi_info_read(m, &q)) != NULL) {
      if (msg->msg != CURLMSG_DONE) continue;
      for (size_t i = 0; i < n; i++)
        if (hs[i] == msg->easy_handle && !done[i]) {
          done[i] = 1;
          x[i].a.cc = msg->data.result;
        }
    }
    if (running && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) break;
  }
  for (size_t i = 0; i < n; i++) {
    if (hs[i] == NULL) continue;
    curl_multi_remove_handle(m, hs[i]);
    http_finish(c, hs[i], done[i] ? x[i].a.cc : CURLE_OPERATION_TIMEDOUT, &x[i].a, ls[i]);
  }
  free(hs), free(ls), free(done);
  eddy__mpool_put(c, m);
}

/* The error of a failed exchange of a batch: transport, 503 (both
 * retryable: *retry = 1) or another error answer. Message into @p msg. */
int eddy__xfer_error(const eddy__xfer_t *x, int *retry, char *msg, size_t cap) {
  const eddy__ans_t *a = &x->a;
  *retry = 1;
  if (a->cc != CURLE_OK) {
    snprintf(msg, cap, "%s: %s", x->url, a->cerr);
    return a->cc == CURLE_OPERATION_TIMEDOUT ? EDDY_ERR_TIMEOUT : EDDY_ERR_TRANSPORT;
  }
  char m[300];
  int err = eddy__error_from_answer(a->status, a->body, a->len, a->is_pb, m, sizeof m);
  snprintf(msg, cap, "%s: %s", x->url, m);
  if (a->status != 503) *retry = 0;
  return a->status == 503 ? EDDY_ERR_UNAVAILABLE : err;
}

void eddy__xfers_free(eddy__xfer_t *x, size_t n) {
  for (size_t i = 0; x && i < n; i++) {
    free(x[i].url);
    free(x[i].a.body);
    free((void *)(uintptr_t)x[i].post);
  }
  free(x);
}

/* ---- one call: routing, retries, error mapping ---- */

int eddy__request(eddy_client_t *c, const eddy__req_t *r, eddy__ans_t *a) {
  int64_t deadline = eddy__now_ms() + c->timeout_ms + r->extra_ms;
  int64_t backoff = EDDY__BACKOFF_FIRST_MS;
  int last = EDDY_ERR_TIMEOUT;
  char failed[512] = "", lastmsg[400] = "no attempt made";
  for (int attempt = 0;; attempt++) {
    char base[512], owner[128] = "";
    int routed = 0;
    if (r->key != NULL && c->direct) {
      eddy__map_refresh(c, deadline);
      routed = eddy__map_owner(c, r->view, r->key, r->klen, base, sizeof base, owner, sizeof owner);
      if (routed && strcmp(base, failed) == 0) routed = 0, owner[0] = '\0';
    }
    if (!routed) {
      pthread_mutex_lock(&c->mu);
      size_t i = c->rr++ % c->nseeds;
      pthread_mutex_unlock(&c->mu);
      if (c->nseeds > 1 && strcmp(c->seeds[i], failed) == 0) i = (i + 1) % c->nseeds;
      snprintf(base, sizeof base, "%s", c->seeds[i]);
    }
    int64_t left = deadline - eddy__now_ms();
    if (left <= 0) break;
    eddy__sb_t url = {0};
    eddy__sb_str(&url, base);
    eddy__sb_str(&url, r->pq);
    if (url.oom) return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory");
    eddy__http_do(c, url.p, r->post, r->plen, left, a);
    if (a->oom) {
      free(url.p);
      return eddy__failf(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", base);
    }
    if (a->cc != CURLE_OK) {
      last = a->cc == CURLE_OPERATION_TIMEDOUT ? EDDY_ERR_TIMEOUT : EDDY_ERR_TRANSPORT;
      snprintf(lastmsg, sizeof lastmsg, "%s: %s", url.p, a->cerr);
      snprintf(failed, sizeof failed, "%s", base);
      free(url.p);
      eddy__map_mark_stale(c);
    } else if (a->status == 503) {
      last = EDDY_ERR_UNAVAILABLE;
      char m[300];
      eddy__error_from_answer(a->status, a->body, a->len, a->is_pb, m, sizeof m);
      /* Cut short if long. GCC, no longer seeing how routing fills base,
       * would warn that it may be. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
      snprintf(lastmsg, sizeof lastmsg, "%s: %s", base, m);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
      free(url.p);
      eddy__map_mark_stale(c);
    } else if (a->status >= 200 && a->status < 300) {
      free(url.p);
      /* Another instance answered for the owner we chose: the owner moved
       * (the one asked forwarded). The answer stands; the map is refreshed. */
      if (owner[0] && a->served_by[0] && strcmp(a->served_by, owner) != 0) eddy__map_mark_stale(c);
      if (!a->is_pb)
        return eddy__failf(c, EDDY_ERR_PROTOCOL, "%s: answer is not application/x-protobuf", base);
      return EDDY_OK;
    } else {
      char m[400];
      int err = eddy__error_from_answer(a->status, a->body, a->len, a->is_pb, m, sizeof m);
      eddy__failf(c, err, "%s: %s", url.p, m);
      free(url.p);
      return err;
    }
    if (attempt >= c->retries) break;
    int64_t nap = deadline - eddy__now_ms();
    if (nap <= 0) break;
    eddy__sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < EDDY__BACKOFF_MAX_MS ? backoff * 2 : EDDY__BACKOFF_MAX_MS;
  }
  return eddy__failf(c, last, "%s (after retries)", lastmsg);
}

/* ---- a GET for the library's other files (cluster.c) ---- */

int eddy__get_pb(eddy_client_t *c, const char *pq, uint8_t **body, size_t *len) {
  *body = NULL, *len = 0;
  eddy__req_t r = {.view = "", .pq = pq};
  eddy__ans_t a = {0};
  int rc = eddy__request(c, &r, &a);
  if (rc != EDDY_OK) {
    free(a.body);
    return rc;
  }
  *body = a.body, *len = a.len;
  return EDDY_OK;
}
