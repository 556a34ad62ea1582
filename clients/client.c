/* libeddy: the client handle, its HTTP connection pool (libcurl easy
 * handles, reused), the cached partition map and direct routing, and the
 * calls that make requests (get, windows, multi-get, views, scans). */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 5
#define MAP_REFRESH_MIN_MS 100
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000

struct eddy_client {
  char **seeds;
  size_t nseeds;
  int timeout_ms, retries;
  char *auth_header; /* "Authorization: Bearer ..." or NULL */
  char *ca_file;
  pthread_mutex_t mu; /* guards everything below */
  CURL **pool;        /* idle easy handles (each keeps its connections) */
  size_t npool, cappool;
  Eddy__V1__ClusterMap *map; /* NULL: none yet */
  int map_stale;
  int64_t map_ms; /* when the map was last fetched (or tried) */
  size_t rr;      /* round robin over the seeds */
  int direct;     /* route to the owners (options.direct_routing >= 0) */
  CURLM **mpool;  /* idle multi handles (parallel requests; each keeps its connections) */
  size_t nmpool, capmpool;
};

/* ---- the calling thread's last error (a documented per-thread cache) ---- */

static _Thread_local const eddy_client_t *tl_err_client;
static _Thread_local char tl_err[512];

const char *eddy_last_error(const eddy_client_t *c) {
  return c != NULL && c == tl_err_client ? tl_err : "";
}

__attribute__((format(printf, 3, 4))) static int fail(const eddy_client_t *c, int err,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_err, sizeof tl_err, fmt, ap);
  va_end(ap);
  tl_err_client = c;
  return err;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- a small growable string ---- */

typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} sb_t;

static void sb_add(sb_t *s, const char *d, size_t n) {
  if (s->oom) return;
  if (s->len + n + 1 > s->cap) {
    size_t cap = (s->len + n + 1) * 2 + 64;
    char *p = realloc(s->p, cap);
    if (p == NULL) {
      s->oom = 1;
      return;
    }
    s->p = p, s->cap = cap;
  }
  memcpy(s->p + s->len, d, n);
  s->len += n;
  s->p[s->len] = '\0';
}

static void sb_str(sb_t *s, const char *str) { sb_add(s, str, strlen(str)); }

__attribute__((format(printf, 2, 3))) static void sb_addf(sb_t *s, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Percent-encodes @p n bytes (all but unreserved characters). */
static void sb_esc(sb_t *s, const void *d, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  const uint8_t *b = d;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = b[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      char one = (char)ch;
      sb_add(s, &one, 1);
    } else {
      char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      sb_add(s, e, 3);
    }
  }
}

/* ---- client ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

eddy_client_t *eddy_client_new(const char *const *seed_urls, size_t n, const eddy_options_t *opts,
                               char *errstr, size_t errlen) {
  if (errlen > 0) errstr[0] = '\0';
  if (seed_urls == NULL || n == 0) {
    if (errlen > 0) snprintf(errstr, errlen, "no seed URL");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    const char *u = seed_urls[i];
    if (u == NULL || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
      if (errlen > 0)
        snprintf(errstr, errlen, "seed URL %zu: not an http:// or https:// URL: %s", i,
                 u ? u : "(null)");
      return NULL;
    }
  }
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK) {
    if (errlen > 0)
      snprintf(errstr, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
    return NULL;
  }
  eddy_client_t *c = calloc(1, sizeof *c);
  if (c == NULL) goto oom;
  c->seeds = calloc(n, sizeof *c->seeds);
  if (c->seeds == NULL) goto oom;
  c->nseeds = n;
  for (size_t i = 0; i < n; i++) {
    if ((c->seeds[i] = dup_str(seed_urls[i])) == NULL) goto oom;
    size_t l = strlen(c->seeds[i]);
    while (l > 0 && c->seeds[i][l - 1] == '/')
      c->seeds[i][--l] = '\0';
  }
  c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  c->retries = !opts || opts->retries == 0 ? DEFAULT_RETRIES
               : opts->retries < 0         ? 0
                                           : opts->retries;
  if (opts && opts->api_token) {
    sb_t s = {0};
    sb_str(&s, "Authorization: Bearer ");
    sb_str(&s, opts->api_token);
    if (s.oom) goto oom;
    c->auth_header = s.p;
  }
  if (opts && opts->tls_ca_file && (c->ca_file = dup_str(opts->tls_ca_file)) == NULL) goto oom;
  c->direct = !opts || opts->direct_routing >= 0;
  pthread_mutex_init(&c->mu, NULL);
  return c;
oom:
  if (c && c->seeds)
    for (size_t i = 0; i < n; i++)
      free(c->seeds[i]);
  if (c) free(c->seeds), free(c->auth_header);
  free(c);
  if (errlen > 0) snprintf(errstr, errlen, "out of memory");
  return NULL;
}

void eddy_client_destroy(eddy_client_t *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->npool; i++)
    curl_easy_cleanup(c->pool[i]);
  free(c->pool);
  for (size_t i = 0; i < c->nmpool; i++)
    curl_multi_cleanup(c->mpool[i]);
  free(c->mpool);
  if (c->map) eddy__v1__cluster_map__free_unpacked(c->map, NULL);
  for (size_t i = 0; i < c->nseeds; i++)
    free(c->seeds[i]);
  free(c->seeds);
  free(c->auth_header);
  free(c->ca_file);
  pthread_mutex_destroy(&c->mu);
  if (tl_err_client == c) tl_err_client = NULL;
  free(c);
}

/* ---- HTTP ---- */

typedef struct {
  long status;
  CURLcode cc;
  int is_pb;
  uint8_t *body;
  size_t len, cap;
  int oom;
  char served_by[128];
  char cerr[CURL_ERROR_SIZE];
} ans_t;

static void ans_reset(ans_t *a) {
  a->status = 0;
  a->cc = CURLE_OK;
  a->is_pb = 0;
  a->len = 0;
  a->oom = 0;
  a->served_by[0] = '\0';
  a->cerr[0] = '\0';
}

static size_t on_body(char *p, size_t size, size_t nm, void *arg) {
  ans_t *a = arg;
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
  ans_t *a = arg;
  size_t m = size * nm, vl;
  const char *v;
  if ((v = header_value(p, m, "eddy-served-by:", &vl)) != NULL)
    snprintf(a->served_by, sizeof a->served_by, "%.*s", (int)vl, v);
  else if ((v = header_value(p, m, "content-type:", &vl)) != NULL)
    a->is_pb = vl >= 22 && strncasecmp(v, "application/x-protobuf", 22) == 0;
  return m;
}

static CURL *pool_get(eddy_client_t *c) {
  CURL *h = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->npool > 0) h = c->pool[--c->npool];
  pthread_mutex_unlock(&c->mu);
  return h ? h : curl_easy_init();
}

static void pool_put(eddy_client_t *c, CURL *h) {
  pthread_mutex_lock(&c->mu);
  if (c->npool == c->cappool) {
    size_t cap = c->cappool ? c->cappool * 2 : 4;
    CURL **p = realloc(c->pool, cap * sizeof *p);
    if (p == NULL) {
      pthread_mutex_unlock(&c->mu);
      curl_easy_cleanup(h);
      return;
    }
    c->pool = p, c->cappool = cap;
  }
  c->pool[c->npool++] = h;
  pthread_mutex_unlock(&c->mu);
}

static CURLM *mpool_get(eddy_client_t *c) {
  CURLM *m = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->nmpool > 0) m = c->mpool[--c->nmpool];
  pthread_mutex_unlock(&c->mu);
  return m ? m : curl_multi_init();
}

static void mpool_put(eddy_client_t *c, CURLM *m) {
  pthread_mutex_lock(&c->mu);
  if (c->nmpool == c->capmpool) {
    size_t cap = c->capmpool ? c->capmpool * 2 : 4;
    CURLM **p = realloc(c->mpool, cap * sizeof *p);
    if (p == NULL) {
      pthread_mutex_unlock(&c->mu);
      curl_multi_cleanup(m);
      return;
    }
    c->mpool = p, c->capmpool = cap;
  }
  c->mpool[c->nmpool++] = m;
  pthread_mutex_unlock(&c->mu);
}

/* Sets up @p h for GET @p url, or POST of protobuf @p post (@p plen bytes),
 * answering into *a; *hs: the header list to free after the transfer.
 * 0, or -1 (out of memory; a->cc set). */
static int http_setup(eddy_client_t *c, CURL *h, const char *url, const void *post, size_t plen,
                      int64_t timeout_ms, ans_t *a, struct curl_slist **hso) {
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
static void http_finish(eddy_client_t *c, CURL *h, CURLcode cc, ans_t *a, struct curl_slist *hs) {
  a->cc = cc;
  if (a->cc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
  if (a->cc != CURLE_OK && a->cerr[0] == '\0')
    snprintf(a->cerr, sizeof a->cerr, "%s", curl_easy_strerror(a->cc));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hs);
  pool_put(c, h);
}

/* One HTTP exchange: GET @p url, or POST of protobuf @p post (@p plen bytes).
 * The outcome in *a (a->cc: transport; a->status: HTTP). */
static void http_do(eddy_client_t *c, const char *url, const void *post, size_t plen,
                    int64_t timeout_ms, ans_t *a) {
  CURL *h = pool_get(c);
  if (h == NULL) {
    ans_reset(a);
    a->cc = CURLE_OUT_OF_MEMORY;
    snprintf(a->cerr, sizeof a->cerr, "curl_easy_init failed");
    return;
  }
  struct curl_slist *hs;
  if (http_setup(c, h, url, post, plen, timeout_ms, a, &hs) != 0) {
    pool_put(c, h);
    return;
  }
  http_finish(c, h, curl_easy_perform(h), a, hs);
}

/* One exchange of a parallel batch. */
typedef struct {
  char *url; /* owned */
  const void *post;
  size_t plen;
  ans_t a;
} xfer_t;

/* The @p n exchanges of @p x at once (curl multi), each within @p timeout_ms. */
static void http_many(eddy_client_t *c, xfer_t *x, size_t n, int64_t timeout_ms) {
  CURLM *m = n > 1 ? mpool_get(c) : NULL;
  if (m == NULL) {
    for (size_t i = 0; i < n; i++)
      http_do(c, x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a);
    return;
  }
  CURL **hs = calloc(n, sizeof *hs);
  struct curl_slist **ls = calloc(n, sizeof *ls);
  int *done = calloc(n, sizeof *done);
  if (hs == NULL || ls == NULL || done == NULL) {
    free(hs), free(ls), free(done);
    mpool_put(c, m);
    for (size_t i = 0; i < n; i++)
      http_do(c, x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    hs[i] = pool_get(c);
    if (hs[i] == NULL) {
      ans_reset(&x[i].a);
      x[i].a.cc = CURLE_OUT_OF_MEMORY;
      done[i] = 1;
    } else if (http_setup(c, hs[i], x[i].url, x[i].post, x[i].plen, timeout_ms, &x[i].a, &ls[i]) !=
                   0 ||
               curl_multi_add_handle(m, hs[i]) != CURLM_OK) {
      curl_slist_free_all(ls[i]);
      ls[i] = NULL;
      pool_put(c, hs[i]);
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
  mpool_put(c, m);
}

/* ---- the partition map ---- */

static void map_mark_stale(eddy_client_t *c) {
  pthread_mutex_lock(&c->mu);
  c->map_stale = 1;
  pthread_mutex_unlock(&c->mu);
}

/* Fetches /v1/cluster from the seeds (in turn) if the map is missing or
 * stale, at most every MAP_REFRESH_MIN_MS. Failures keep the old map. */
static void map_refresh(eddy_client_t *c, int64_t deadline) {
  int64_t t = now_ms();
  pthread_mutex_lock(&c->mu);
  int need = (c->map == NULL || c->map_stale) && t - c->map_ms >= MAP_REFRESH_MIN_MS;
  if (need) c->map_ms = t; /* one thread fetches; the others use what there is */
  pthread_mutex_unlock(&c->mu);
  if (!need) return;
  ans_t a = {0};
  Eddy__V1__ClusterMap *m = NULL;
  for (size_t i = 0; i < c->nseeds && m == NULL; i++) {
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    sb_t url = {0};
    sb_str(&url, c->seeds[i]);
    sb_str(&url, "/v1/cluster");
    if (url.oom) break;
    http_do(c, url.p, NULL, 0, left < 2000 ? left : 2000, &a);
    free(url.p);
    if (a.cc == CURLE_OK && a.status == 200 && a.is_pb)
      m = eddy__v1__cluster_map__unpack(NULL, a.len, a.body);
  }
  free(a.body);
  if (m == NULL) return;
  pthread_mutex_lock(&c->mu);
  Eddy__V1__ClusterMap *old = c->map;
  c->map = m;
  c->map_stale = 0;
  c->map_ms = now_ms();
  pthread_mutex_unlock(&c->mu);
  if (old) eddy__v1__cluster_map__free_unpacked(old, NULL);
}

/* The owner of @p key's partition of @p view in the map: its advertised URL
 * into @p url and its id into @p id. Returns 1, or 0 if the map names none. */
static int map_owner(eddy_client_t *c, const char *view, const void *key, size_t klen, char *url,
                     size_t ucap, char *id, size_t icap) {
  int found = 0;
  pthread_mutex_lock(&c->mu);
  const Eddy__V1__ClusterMap *m = c->map;
  for (size_t v = 0; m && v < m->n_views && !found; v++) {
    const Eddy__V1__ClusterView *cv = m->views[v];
    if (strcmp(cv->view, view) != 0 || cv->partitions <= 0) continue;
    int32_t p = eddy_partition_for_key(key, klen, cv->partitions);
    const Eddy__V1__PartitionOwner *po = NULL;
    if ((size_t)p < cv->n_owners && cv->owners[p]->partition == p) po = cv->owners[p];
    for (size_t i = 0; po == NULL && i < cv->n_owners; i++)
      if (cv->owners[i]->partition == p) po = cv->owners[i];
    if (po == NULL || po->instance_id[0] == '\0') break;
    for (size_t i = 0; i < m->n_instances; i++) {
      const Eddy__V1__Instance *in = m->instances[i];
      if (strcmp(in->instance_id, po->instance_id) != 0 || in->advertised_url[0] == '\0') continue;
      snprintf(url, ucap, "%s", in->advertised_url);
      size_t l = strlen(url);
      while (l > 0 && url[l - 1] == '/')
        url[--l] = '\0';
      snprintf(id, icap, "%s", po->instance_id);
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&c->mu);
  return found;
}

/* A view's routes from the map: per partition the index of its owner's
 * URL, or -1. */
typedef struct {
  int32_t np; /* the view's partitions; 0: not in the map */
  int *owner;
  char (*urls)[256];
  size_t nurls;
} route_t;

static void route_fini(route_t *rt) {
  free(rt->owner);
  free(rt->urls);
  memset(rt, 0, sizeof *rt);
}

/* Fills *rt for @p view from the cached map. EDDY_OK or EDDY_ERR_NOMEM. */
static int map_route(eddy_client_t *c, const char *view, route_t *rt) {
  route_fini(rt);
  int rc = EDDY_OK;
  pthread_mutex_lock(&c->mu);
  const Eddy__V1__ClusterMap *m = c->map;
  const Eddy__V1__ClusterView *cv = NULL;
  for (size_t v = 0; m && v < m->n_views && cv == NULL; v++)
    if (strcmp(m->views[v]->view, view) == 0 && m->views[v]->partitions > 0) cv = m->views[v];
  if (cv != NULL) {
    rt->owner = malloc((size_t)cv->partitions * sizeof *rt->owner);
    rt->urls = malloc((size_t)cv->partitions * sizeof *rt->urls);
    if (rt->owner == NULL || rt->urls == NULL) {
      rc = EDDY_ERR_NOMEM;
      cv = NULL;
    } else
      rt->np = cv->partitions;
  }
  for (int32_t p = 0; cv && p < cv->partitions; p++) {
    rt->owner[p] = -1;
    const Eddy__V1__PartitionOwner *po = NULL;
    for (size_t i = 0; po == NULL && i < cv->n_owners; i++)
      if (cv->owners[i]->partition == p) po = cv->owners[i];
    if (po == NULL || po->instance_id[0] == '\0') continue;
    const char *url = NULL;
    for (size_t i = 0; i < m->n_instances && url == NULL; i++)
      if (strcmp(m->instances[i]->instance_id, po->instance_id) == 0 &&
          m->instances[i]->advertised_url[0] != '\0')
        url = m->instances[i]->advertised_url;
    if (url == NULL) continue;
    char u[256];
    snprintf(u, sizeof u, "%s", url);
    size_t l = strlen(u);
    while (l > 0 && u[l - 1] == '/')
      u[--l] = '\0';
    size_t k = 0;
    while (k < rt->nurls && strcmp(rt->urls[k], u) != 0)
      k++;
    if (k == rt->nurls) memcpy(rt->urls[rt->nurls++], u, sizeof u);
    rt->owner[p] = (int)k;
  }
  pthread_mutex_unlock(&c->mu);
  if (rc != EDDY_OK) route_fini(rt);
  return rc;
}

/* A seed URL, round robin, avoiding @p avoid (n strings) where it can. */
static const char *pick_seed(eddy_client_t *c, char (*avoid)[256], size_t n) {
  pthread_mutex_lock(&c->mu);
  size_t i = c->rr++ % c->nseeds;
  pthread_mutex_unlock(&c->mu);
  for (size_t t = 0; t < c->nseeds; t++) {
    const char *s = c->seeds[(i + t) % c->nseeds];
    size_t k = 0;
    while (k < n && strcmp(avoid[k], s) != 0)
      k++;
    if (k == n) return s;
  }
  return c->seeds[i];
}

/* The error of a failed exchange of a batch: transport, 503 (both
 * retryable: *retry = 1) or another error answer. Message into @p msg. */
static int xfer_error(const xfer_t *x, int *retry, char *msg, size_t cap) {
  const ans_t *a = &x->a;
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

static void xfers_free(xfer_t *x, size_t n) {
  for (size_t i = 0; x && i < n; i++) {
    free(x[i].url);
    free(x[i].a.body);
    free((void *)(uintptr_t)x[i].post);
  }
  free(x);
}

/* ---- one call: routing, retries, error mapping ---- */

typedef struct {
  const char *view;
  const void *key; /* NULL: not a key lookup (any seed) */
  size_t klen;
  const char *pq; /* path and query string */
  const void *post;
  size_t plen;
  int64_t extra_ms; /* added to the call's timeout (min_offset waits) */
} req_t;

static int request(eddy_client_t *c, const req_t *r, ans_t *a) {
  int64_t deadline = now_ms() + c->timeout_ms + r->extra_ms;
  int64_t backoff = BACKOFF_FIRST_MS;
  int last = EDDY_ERR_TIMEOUT;
  char failed[512] = "", lastmsg[400] = "no attempt made";
  for (int attempt = 0;; attempt++) {
    char base[512], owner[128] = "";
    int routed = 0;
    if (r->key != NULL && c->direct) {
      map_refresh(c, deadline);
      routed = map_owner(c, r->view, r->key, r->klen, base, sizeof base, owner, sizeof owner);
      if (routed && strcmp(base, failed) == 0) routed = 0, owner[0] = '\0';
    }
    if (!routed) {
      pthread_mutex_lock(&c->mu);
      size_t i = c->rr++ % c->nseeds;
      pthread_mutex_unlock(&c->mu);
      if (c->nseeds > 1 && strcmp(c->seeds[i], failed) == 0) i = (i + 1) % c->nseeds;
      snprintf(base, sizeof base, "%s", c->seeds[i]);
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    sb_t url = {0};
    sb_str(&url, base);
    sb_str(&url, r->pq);
    if (url.oom) return fail(c, EDDY_ERR_NOMEM, "out of memory");
    http_do(c, url.p, r->post, r->plen, left, a);
    if (a->oom) {
      free(url.p);
      return fail(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", base);
    }
    if (a->cc != CURLE_OK) {
      last = a->cc == CURLE_OPERATION_TIMEDOUT ? EDDY_ERR_TIMEOUT : EDDY_ERR_TRANSPORT;
      snprintf(lastmsg, sizeof lastmsg, "%s: %s", url.p, a->cerr);
      snprintf(failed, sizeof failed, "%s", base);
      free(url.p);
      map_mark_stale(c);
    } else if (a->status == 503) {
      last = EDDY_ERR_UNAVAILABLE;
      char m[300];
      eddy__error_from_answer(a->status, a->body, a->len, a->is_pb, m, sizeof m);
      snprintf(lastmsg, sizeof lastmsg, "%s: %s", base, m);
      free(url.p);
      map_mark_stale(c);
    } else if (a->status >= 200 && a->status < 300) {
      free(url.p);
      /* Another instance answered for the owner we chose: the owner moved
       * (the one asked forwarded). The answer stands; the map is refreshed. */
      if (owner[0] && a->served_by[0] && strcmp(a->served_by, owner) != 0) map_mark_stale(c);
      if (!a->is_pb)
        return fail(c, EDDY_ERR_PROTOCOL, "%s: answer is not application/x-protobuf", base);
      return EDDY_OK;
    } else {
      char m[400];
      int err = eddy__error_from_answer(a->status, a->body, a->len, a->is_pb, m, sizeof m);
      fail(c, err, "%s: %s", url.p, m);
      free(url.p);
      return err;
    }
    if (attempt >= c->retries) break;
    int64_t nap = deadline - now_ms();
    if (nap <= 0) break;
    sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
  }
  return fail(c, last, "%s (after retries)", lastmsg);
}

/* ---- calls ---- */

static int check_args(eddy_client_t *c, const char *view, const void *key, void *out) {
  if (c == NULL) return EDDY_ERR_INVALID;
  if (view == NULL || view[0] == '\0' || out == NULL || key == NULL)
    return fail(c, EDDY_ERR_INVALID, "missing argument (view, key or out)");
  return EDDY_OK;
}

static void key_path(sb_t *s, const char *view, const void *key, size_t klen) {
  sb_str(s, "/v1/views/");
  sb_esc(s, view, strlen(view));
  sb_str(s, "/keys/");
  sb_esc(s, key, klen);
}

int eddy_get(eddy_client_t *c, const char *view, const void *key, size_t klen,
             const eddy_get_opts_t *opts, eddy_row_t **out) {
  int rc = check_args(c, view, key, out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  sb_t pq = {0};
  key_path(&pq, view, key, klen);
  char sep = '?';
  int64_t extra = 0;
  if (opts) {
    for (size_t i = 0; i < opts->n_min_offsets; i++, sep = '&')
      sb_addf(&pq, "%cmin_offset=%" PRId32 ":%" PRId64, sep, opts->min_offsets[i].partition,
              opts->min_offsets[i].offset);
    if (opts->timeout_ms > 0) {
      sb_addf(&pq, "%ctimeout_ms=%d", sep, opts->timeout_ms);
      sep = '&';
    }
    if (opts->n_min_offsets > 0) extra = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    if (opts->allow_stale) sb_addf(&pq, "%callow_stale=true", sep);
  }
  if (pq.oom) {
    free(pq.p);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  req_t r = {.view = view, .key = key, .klen = klen, .pq = pq.p, .extra_ms = extra};
  ans_t a = {0};
  rc = request(c, &r, &a);
  free(pq.p);
  if (rc == EDDY_OK && (rc = eddy__decode_row(a.body, a.len, out)) != EDDY_OK)
    fail(c, rc, "undecodable Row answer (%zu bytes)", a.len);
  free(a.body);
  return rc;
}

int eddy_windows(eddy_client_t *c, const char *view, const void *key, size_t klen, int64_t from,
                 int64_t to, eddy_windows_t **out) {
  int rc = check_args(c, view, key, out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  sb_t pq = {0};
  key_path(&pq, view, key, klen);
  char sep = '?';
  if (from != EDDY_NO_BOUND) sb_addf(&pq, "%cfrom=%" PRId64, sep, from), sep = '&';
  if (to != EDDY_NO_BOUND) sb_addf(&pq, "%cto=%" PRId64, sep, to);
  if (pq.oom) {
    free(pq.p);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  req_t r = {.view = view, .key = key, .klen = klen, .pq = pq.p};
  ans_t a = {0};
  rc = request(c, &r, &a);
  free(pq.p);
  if (rc == EDDY_OK && (rc = eddy__decode_windows(a.body, a.len, out)) != EDDY_OK)
    fail(c, rc, "undecodable Row answer (%zu bytes)", a.len);
  free(a.body);
  return rc;
}

/* A multi-get sent whole to a seed (which splits it by owner). */
static int multi_get_seed(eddy_client_t *c, const char *view, const void *const *keys,
                          const size_t *klens, size_t n, eddy_rows_t **out) {
  int rc;
  ProtobufCBinaryData *kb = calloc(n ? n : 1, sizeof *kb);
  if (kb == NULL) return fail(c, EDDY_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++)
    kb[i].data = (uint8_t *)(uintptr_t)keys[i], kb[i].len = klens[i];
  Eddy__V1__MultiGetRequest mr = EDDY__V1__MULTI_GET_REQUEST__INIT;
  mr.n_keys = n;
  mr.keys = kb;
  size_t blen = eddy__v1__multi_get_request__get_packed_size(&mr);
  uint8_t *body = malloc(blen ? blen : 1);
  if (body == NULL) {
    free(kb);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  eddy__v1__multi_get_request__pack(&mr, body);
  free(kb);
  sb_t pq = {0};
  sb_str(&pq, "/v1/views/");
  sb_esc(&pq, view, strlen(view));
  sb_str(&pq, "/keys");
  if (pq.oom) {
    free(body);
    free(pq.p);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  req_t r = {.view = view, .pq = pq.p, .post = body, .plen = blen};
  ans_t a = {0};
  rc = request(c, &r, &a);
  free(pq.p);
  free(body);
  if (rc == EDDY_OK && (rc = eddy__decode_rows(a.body, a.len, out)) != EDDY_OK)
    fail(c, rc, "undecodable MultiGetAnswer (%zu bytes)", a.len);
  if (rc == EDDY_OK && (*out)->n != n) {
    size_t got = (*out)->n;
    eddy_rows_destroy(*out);
    *out = NULL;
    rc = fail(c, EDDY_ERR_PROTOCOL, "multi-get answered %zu rows for %zu keys", got, n);
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
  int rc = check_args(c, view, n ? (const void *)keys : "", out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  if (n > 0 && klens == NULL) return fail(c, EDDY_ERR_INVALID, "klens is NULL");
  if (!c->direct || n == 0) return multi_get_seed(c, view, keys, klens, n, out);
  /* Split by owner; the keys of owners that failed go to a seed on the
   * next attempt (after a map refresh), until every key has its row. */
  int64_t deadline = now_ms() + c->timeout_ms, backoff = BACKOFF_FIRST_MS;
  size_t *ans_of = malloc(n * sizeof *ans_of), *row_of = malloc(n * sizeof *row_of);
  size_t *grp = malloc(n * sizeof *grp), *idx = malloc(n * sizeof *idx);
  Eddy__V1__MultiGetAnswer **ans = NULL;
  size_t nans = 0, capans = 0;
  route_t rt = {0};
  char(*failed)[256] = NULL;
  size_t nfailed = 0;
  xfer_t *x = NULL;
  size_t nx = 0;
  int last = EDDY_ERR_TIMEOUT;
  char lastmsg[400] = "no attempt made";
  char *pq = NULL;
  sb_t pqs = {0};
  sb_str(&pqs, "/v1/views/");
  sb_esc(&pqs, view, strlen(view));
  sb_str(&pqs, "/keys");
  pq = pqs.p;
  if (!ans_of || !row_of || !grp || !idx || pqs.oom) {
    rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    ans_of[i] = SIZE_MAX;
  for (int attempt = 0;; attempt++) {
    map_refresh(c, deadline);
    if ((rc = map_route(c, view, &rt)) != EDDY_OK) {
      rc = fail(c, rc, "out of memory");
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
    const char *seed = pick_seed(c, failed, nfailed);
    xfers_free(x, nx);
    nx = 0;
    x = calloc(ngrp, sizeof *x);
    size_t *xgrp = calloc(ngrp, sizeof *xgrp);
    if (x == NULL || xgrp == NULL) {
      free(xgrp);
      rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t g = 0; g < ngrp; g++) {
      size_t m = 0;
      for (size_t i = 0; i < n; i++)
        if (ans_of[i] == SIZE_MAX && grp[i] == g) idx[m++] = i;
      if (m == 0) continue;
      sb_t u = {0};
      sb_str(&u, g < rt.nurls ? rt.urls[g] : seed);
      sb_str(&u, pq);
      x[nx].url = u.p;
      x[nx].post = pack_keys(keys, klens, idx, m, &x[nx].plen);
      xgrp[nx] = g;
      nx++;
      if (u.oom || x[nx - 1].post == NULL) {
        free(xgrp);
        rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
        goto done;
      }
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      free(xgrp);
      break;
    }
    http_many(c, x, nx, left);
    nfailed = 0;
    free(failed);
    failed = calloc(nx, sizeof *failed);
    int fatal = 0;
    for (size_t j = 0; j < nx && !fatal; j++) {
      ans_t *a = &x[j].a;
      if (a->oom) {
        rc = fail(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", x[j].url);
        fatal = 1;
      } else if (a->cc == CURLE_OK && a->status >= 200 && a->status < 300) {
        Eddy__V1__MultiGetAnswer *m =
            a->is_pb ? eddy__v1__multi_get_answer__unpack(NULL, a->len, a->body) : NULL;
        size_t want = 0;
        for (size_t i = 0; i < n; i++)
          if (ans_of[i] == SIZE_MAX && grp[i] == xgrp[j]) idx[want++] = i;
        if (m == NULL || m->n_rows != want) {
          rc = fail(c, EDDY_ERR_PROTOCOL, "%s: undecodable MultiGetAnswer or %zu rows for %zu keys",
                    x[j].url, m ? m->n_rows : 0, want);
          if (m) eddy__v1__multi_get_answer__free_unpacked(m, NULL);
          fatal = 1;
          break;
        }
        if (nans == capans) {
          size_t cap = capans ? capans * 2 : 4;
          Eddy__V1__MultiGetAnswer **p = realloc(ans, cap * sizeof *p);
          if (p == NULL) {
            eddy__v1__multi_get_answer__free_unpacked(m, NULL);
            rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
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
        last = xfer_error(&x[j], &retry, lastmsg, sizeof lastmsg);
        if (!retry) {
          rc = fail(c, last, "%s", lastmsg);
          fatal = 1;
        } else {
          map_mark_stale(c);
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
      if (rc != EDDY_OK) fail(c, rc, "out of memory");
      goto done;
    }
    if (attempt >= c->retries) break;
    int64_t nap = deadline - now_ms();
    if (nap <= 0) break;
    sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
  }
  rc = fail(c, last, "%s (after retries)", lastmsg);
done:
  for (size_t k = 0; k < nans; k++)
    eddy__v1__multi_get_answer__free_unpacked(ans[k], NULL);
  free(ans);
  xfers_free(x, nx);
  route_fini(&rt);
  free(failed);
  free(ans_of), free(row_of), free(grp), free(idx);
  free(pq);
  return rc;
}

int eddy_views(eddy_client_t *c, eddy_views_t **out) {
  if (c == NULL) return EDDY_ERR_INVALID;
  if (out == NULL) return fail(c, EDDY_ERR_INVALID, "out is NULL");
  *out = NULL;
  req_t r = {.view = "", .pq = "/v1/views"};
  ans_t a = {0};
  int rc = request(c, &r, &a);
  if (rc == EDDY_OK && (rc = eddy__decode_views(a.body, a.len, out)) != EDDY_OK)
    fail(c, rc, "undecodable ViewList (%zu bytes)", a.len);
  free(a.body);
  return rc;
}

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
    fail(c, EDDY_ERR_INVALID, "missing view or negative page_limit");
    return NULL;
  }
  eddy_scan_t *it = calloc(1, sizeof *it);
  if (it == NULL || (it->view = dup_str(view)) == NULL ||
      (from && (it->from = dup_str(from)) == NULL) || (to && (it->to = dup_str(to)) == NULL)) {
    eddy_scan_close(it);
    fail(c, EDDY_ERR_NOMEM, "out of memory");
    return NULL;
  }
  it->c = c;
  it->limit = page_limit;
  return it;
}

/* The path and query of the next page (without partitions=). */
static char *scan_pq(const eddy_scan_t *it) {
  sb_t pq = {0};
  sb_str(&pq, "/v1/views/");
  sb_esc(&pq, it->view, strlen(it->view));
  sb_str(&pq, "/rows");
  char sep = '?';
  if (it->limit > 0) sb_addf(&pq, "%climit=%d", sep, it->limit), sep = '&';
  if (it->from) sb_addf(&pq, "%cfrom=", sep), sb_esc(&pq, it->from, strlen(it->from)), sep = '&';
  if (it->to) sb_addf(&pq, "%cto=", sep), sb_esc(&pq, it->to, strlen(it->to)), sep = '&';
  if (it->cursor) sb_addf(&pq, "%ccursor=", sep), sb_esc(&pq, it->cursor, strlen(it->cursor));
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
  if (pq == NULL) return fail(c, EDDY_ERR_NOMEM, "out of memory");
  req_t r = {.view = it->view, .pq = pq};
  ans_t a = {0};
  int rc = request(c, &r, &a);
  free(pq);
  if (rc != EDDY_OK) {
    free(a.body);
    return rc;
  }
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, a.len, a.body);
  free(a.body);
  if (l == NULL) return fail(c, EDDY_ERR_PROTOCOL, "undecodable RowList");
  char *next = NULL;
  Eddy__V1__RowList **parts = malloc(sizeof *parts);
  const Eddy__V1__Row **rows = malloc((l->n_rows ? l->n_rows : 1) * sizeof *rows);
  if (parts == NULL || rows == NULL ||
      (l->next_cursor && l->next_cursor[0] != '\0' && (next = dup_str(l->next_cursor)) == NULL)) {
    free(parts), free(rows);
    eddy__v1__row_list__free_unpacked(l, NULL);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  parts[0] = l;
  for (size_t i = 0; i < l->n_rows; i++)
    rows[i] = l->rows[i];
  scan_set_page(it, parts, 1, rows, l->n_rows, next);
  return EDDY_OK;
}

/* ---- merging the owners' pages (the rule of the server's
 * ed_query_merge_pages, query/pages.c) ---- */

#define STORE_KEY_MAX 511 /* ED_QUERY_MAX_KEY, ED_WKEY_MAX */

/* The store key of a scan row: the key, or for a windowed row the key with
 * NUL bytes escaped (00 FF), 00 00, and the window start as big-endian with
 * the sign bit flipped (streams/window.c ed_wkey_encode). Its length. */
static size_t row_store_key(const Eddy__V1__Row *r, uint8_t *out) {
  size_t o = 0;
  if (r->n_windows == 0) {
    o = r->key.len < STORE_KEY_MAX ? r->key.len : STORE_KEY_MAX;
    if (o) memcpy(out, r->key.data, o);
    return o;
  }
  for (size_t i = 0; i < r->key.len && o + 2 < STORE_KEY_MAX - 10; i++) {
    out[o++] = r->key.data[i];
    if (r->key.data[i] == 0) out[o++] = 0xFF;
  }
  out[o++] = 0, out[o++] = 0;
  uint64_t u = (uint64_t)r->windows[0]->start ^ ((uint64_t)1 << 63);
  for (int i = 7; i >= 0; i--)
    out[o++] = (uint8_t)(u >> (8 * i));
  return o;
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
  size_t n = al < bl ? al : bl;
  int c = n ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return al < bl ? -1 : al > bl;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64val(char ch) {
  const char *p = ch ? strchr(b64url, ch) : NULL;
  return p ? (int)(p - b64url) : -1;
}

/* A cursor as the server makes it (query/cursor.c): unpadded base64url of
 * version, store kind and the store key. @p head: the first two bytes, as
 * read from an owner's cursor. */
static char *cursor_encode(const uint8_t head[2], const uint8_t *key, size_t klen) {
  uint8_t raw[2 + STORE_KEY_MAX];
  raw[0] = head[0], raw[1] = head[1];
  memcpy(raw + 2, key, klen);
  size_t n = klen + 2;
  char *out = malloc(n / 3 * 4 + 5);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (i + 1 < n ? (uint32_t)raw[i + 1] << 8 : 0) |
                 (i + 2 < n ? raw[i + 2] : 0);
    out[o++] = b64url[v >> 18 & 63];
    out[o++] = b64url[v >> 12 & 63];
    if (i + 1 < n) out[o++] = b64url[v >> 6 & 63];
    if (i + 2 < n) out[o++] = b64url[v & 63];
  }
  out[o] = '\0';
  return out;
}

/* The first two bytes (version, store kind) of cursor @p s; 0 or -1. */
static int cursor_head(const char *s, uint8_t head[2]) {
  if (strlen(s) < 3) return -1;
  int a = b64val(s[0]), b = b64val(s[1]), d = b64val(s[2]);
  if (a < 0 || b < 0 || d < 0) return -1;
  head[0] = (uint8_t)(a << 2 | b >> 4);
  head[1] = (uint8_t)((b & 15) << 4 | d >> 2);
  return 0;
}

enum { SCAN_FALLBACK = 1 };

/* Merges the owners' pages: rows in store-key order, none beyond the
 * smallest last key of a page that has more (every owner's rows up to it
 * are here), at most the page limit; the cursor is the last key kept. */
static int scan_merge(eddy_scan_t *it, Eddy__V1__RowList **parts, size_t n) {
  uint8_t bound[STORE_KEY_MAX], cand[STORE_KEY_MAX], best[STORE_KEY_MAX], last[STORE_KEY_MAX];
  size_t boundl = 0, lastl = 0, total = 0;
  int has_bound = 0;
  uint8_t head[2];
  for (size_t k = 0; k < n; k++) {
    total += parts[k]->n_rows;
    if (parts[k]->next_cursor == NULL || parts[k]->next_cursor[0] == '\0') continue;
    if (parts[k]->n_rows == 0 || cursor_head(parts[k]->next_cursor, head) != 0)
      return SCAN_FALLBACK; /* not a page this client understands */
    size_t l = row_store_key(parts[k]->rows[parts[k]->n_rows - 1], cand);
    if (!has_bound || bytes_cmp(cand, l, bound, boundl) < 0) memcpy(bound, cand, l), boundl = l;
    has_bound = 1;
  }
  size_t *at = calloc(n ? n : 1, sizeof *at);
  const Eddy__V1__Row **rows = malloc((total ? total : 1) * sizeof *rows);
  if (at == NULL || rows == NULL) {
    free(at), free(rows);
    return fail(it->c, EDDY_ERR_NOMEM, "out of memory");
  }
  size_t nrows = 0;
  for (;;) {
    size_t pick = SIZE_MAX, bestl = 0;
    for (size_t k = 0; k < n; k++) {
      if (at[k] >= parts[k]->n_rows) continue;
      size_t cl = row_store_key(parts[k]->rows[at[k]], cand);
      if (pick == SIZE_MAX || bytes_cmp(cand, cl, best, bestl) < 0)
        pick = k, memcpy(best, cand, cl), bestl = cl;
    }
    if (pick == SIZE_MAX) break;
    if (has_bound && bytes_cmp(best, bestl, bound, boundl) > 0) break;
    if (has_bound && it->limit > 0 && nrows == (size_t)it->limit) break;
    rows[nrows++] = parts[pick]->rows[at[pick]++];
    memcpy(last, best, bestl);
    lastl = bestl;
  }
  free(at);
  char *cursor = NULL;
  if (has_bound && (cursor = cursor_encode(head, last, lastl)) == NULL) {
    free(rows);
    return fail(it->c, EDDY_ERR_NOMEM, "out of memory");
  }
  scan_set_page(it, parts, n, rows, nrows, cursor);
  return EDDY_OK;
}

/* A page as one request per owner (restricted to its partitions), in
 * parallel, merged here. SCAN_FALLBACK: the map names no owner for some
 * partition (a seed serves the page). */
static int scan_fetch_owners(eddy_scan_t *it) {
  eddy_client_t *c = it->c;
  int64_t deadline = now_ms() + c->timeout_ms, backoff = BACKOFF_FIRST_MS;
  route_t rt = {0};
  xfer_t *x = NULL;
  size_t nx = 0;
  int rc, last = EDDY_ERR_TIMEOUT;
  char lastmsg[400] = "no attempt made";
  char *pq = scan_pq(it);
  if (pq == NULL) return fail(c, EDDY_ERR_NOMEM, "out of memory");
  for (int attempt = 0;; attempt++) {
    map_refresh(c, deadline);
    if ((rc = map_route(c, it->view, &rt)) != EDDY_OK) {
      rc = fail(c, rc, "out of memory");
      goto done;
    }
    rc = SCAN_FALLBACK;
    if (rt.np <= 0) goto done;
    for (int32_t p = 0; p < rt.np; p++)
      if (rt.owner[p] < 0) goto done;
    xfers_free(x, nx);
    nx = rt.nurls;
    if ((x = calloc(nx, sizeof *x)) == NULL) {
      rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    int oom = 0;
    for (size_t k = 0; k < nx; k++) {
      sb_t u = {0};
      sb_str(&u, rt.urls[k]);
      sb_str(&u, pq);
      char sep = strchr(pq, '?') ? '&' : '?';
      for (int32_t p = 0; p < rt.np; p++)
        if (rt.owner[p] == (int)k)
          sb_addf(&u, "%c%s%" PRId32, sep, sep == ',' ? "" : "partitions=", p), sep = ',';
      x[k].url = u.p;
      oom |= u.oom;
    }
    if (oom) {
      rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
      goto done;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) break;
    http_many(c, x, nx, left);
    int retry_all = 0;
    for (size_t k = 0; k < nx; k++) {
      ans_t *a = &x[k].a;
      if (a->oom) {
        rc = fail(c, EDDY_ERR_NOMEM, "out of memory reading the answer of %s", x[k].url);
        goto done;
      }
      if (a->cc == CURLE_OK && a->status >= 200 && a->status < 300) {
        if (!a->is_pb) {
          rc = fail(c, EDDY_ERR_PROTOCOL, "%s: answer is not application/x-protobuf", x[k].url);
          goto done;
        }
        continue;
      }
      int retry;
      last = xfer_error(&x[k], &retry, lastmsg, sizeof lastmsg);
      if (!retry) {
        rc = fail(c, last, "%s", lastmsg);
        goto done;
      }
      retry_all = 1;
    }
    if (!retry_all) {
      Eddy__V1__RowList **parts = calloc(nx, sizeof *parts);
      if (parts == NULL) {
        rc = fail(c, EDDY_ERR_NOMEM, "out of memory");
        goto done;
      }
      size_t k = 0;
      for (; k < nx; k++)
        if ((parts[k] = eddy__v1__row_list__unpack(NULL, x[k].a.len, x[k].a.body)) == NULL) break;
      rc = k < nx ? fail(c, EDDY_ERR_PROTOCOL, "%s: undecodable RowList", x[k].url)
                  : scan_merge(it, parts, nx);
      if (rc != EDDY_OK) /* scan_merge took them over on success */
        for (size_t j = 0; j < nx; j++)
          if (parts[j]) eddy__v1__row_list__free_unpacked(parts[j], NULL);
      if (rc != EDDY_OK) free(parts);
      goto done;
    }
    map_mark_stale(c);
    if (attempt >= c->retries) break;
    int64_t nap = deadline - now_ms();
    if (nap <= 0) break;
    sleep_ms(backoff < nap ? backoff : nap);
    backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
  }
  rc = fail(c, last, "%s (after retries)", lastmsg);
done:
  xfers_free(x, nx);
  route_fini(&rt);
  free(pq);
  return rc;
}

static int scan_fetch(eddy_scan_t *it) {
  if (it->c->direct) {
    int rc = scan_fetch_owners(it);
    if (rc != SCAN_FALLBACK) return rc;
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

/* ---- a GET for the library's other files (cluster.c) ---- */

int eddy__get_pb(eddy_client_t *c, const char *pq, uint8_t **body, size_t *len) {
  *body = NULL, *len = 0;
  req_t r = {.view = "", .pq = pq};
  ans_t a = {0};
  int rc = request(c, &r, &a);
  if (rc != EDDY_OK) {
    free(a.body);
    return rc;
  }
  *body = a.body, *len = a.len;
  return EDDY_OK;
}

int eddy__fail(const eddy_client_t *c, int err, const char *msg) { return fail(c, err, "%s", msg); }
