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
    if (errlen > 0) snprintf(errstr, errlen, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
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
  c->retries = !opts || opts->retries == 0 ? DEFAULT_RETRIES : opts->retries < 0 ? 0 : opts->retries;
  if (opts && opts->api_token) {
    sb_t s = {0};
    sb_str(&s, "Authorization: Bearer ");
    sb_str(&s, opts->api_token);
    if (s.oom) goto oom;
    c->auth_header = s.p;
  }
  if (opts && opts->tls_ca_file && (c->ca_file = dup_str(opts->tls_ca_file)) == NULL) goto oom;
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

/* One HTTP exchange: GET @p url, or POST of protobuf @p post (@p plen bytes).
 * The outcome in *a (a->cc: transport; a->status: HTTP). */
static void http_do(eddy_client_t *c, const char *url, const void *post, size_t plen,
                    int64_t timeout_ms, ans_t *a) {
  ans_reset(a);
  CURL *h = pool_get(c);
  if (h == NULL) {
    a->cc = CURLE_OUT_OF_MEMORY;
    snprintf(a->cerr, sizeof a->cerr, "curl_easy_init failed");
    return;
  }
  curl_easy_reset(h); /* keeps the handle's connections */
  struct curl_slist *hs = curl_slist_append(NULL, "Accept: application/x-protobuf");
  if (hs && c->auth_header) hs = curl_slist_append(hs, c->auth_header);
  if (hs && post) hs = curl_slist_append(hs, "Content-Type: application/x-protobuf");
  if (hs == NULL) {
    pool_put(c, h);
    a->cc = CURLE_OUT_OF_MEMORY;
    snprintf(a->cerr, sizeof a->cerr, "out of memory");
    return;
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
  if (c->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
  if (post) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)post);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)plen);
  }
  a->cc = curl_easy_perform(h);
  if (a->cc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
  if (a->cc != CURLE_OK && a->cerr[0] == '\0')
    snprintf(a->cerr, sizeof a->cerr, "%s", curl_easy_strerror(a->cc));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_slist_free_all(hs);
  pool_put(c, h);
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
    if (r->key != NULL) {
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

int eddy_multi_get(eddy_client_t *c, const char *view, const void *const *keys,
                   const size_t *klens, size_t n, eddy_rows_t **out) {
  int rc = check_args(c, view, n ? (const void *)keys : "", out);
  if (rc != EDDY_OK) return rc;
  *out = NULL;
  if (n > 0 && klens == NULL) return fail(c, EDDY_ERR_INVALID, "klens is NULL");
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
  char *cursor; /* NULL: first page */
  int done;     /* the last page has been fetched */
  Eddy__V1__RowList *page;
  eddy_row_t row; /* the current row (borrowed from page) */
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

/* Fetches the next page into it->page. */
static int scan_fetch(eddy_scan_t *it) {
  eddy_client_t *c = it->c;
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
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  req_t r = {.view = it->view, .pq = pq.p};
  ans_t a = {0};
  int rc = request(c, &r, &a);
  free(pq.p);
  if (rc != EDDY_OK) {
    free(a.body);
    return rc;
  }
  Eddy__V1__RowList *l = eddy__v1__row_list__unpack(NULL, a.len, a.body);
  free(a.body);
  if (l == NULL) return fail(c, EDDY_ERR_PROTOCOL, "undecodable RowList");
  char *next = NULL;
  if (l->next_cursor && l->next_cursor[0] != '\0' && (next = dup_str(l->next_cursor)) == NULL) {
    eddy__v1__row_list__free_unpacked(l, NULL);
    return fail(c, EDDY_ERR_NOMEM, "out of memory");
  }
  if (it->page) eddy__v1__row_list__free_unpacked(it->page, NULL);
  it->page = l;
  it->i = 0;
  free(it->cursor);
  it->cursor = next;
  it->done = next == NULL;
  return EDDY_OK;
}

int eddy_scan_next(eddy_scan_t *it, const eddy_row_t **row) {
  if (it == NULL || row == NULL) return EDDY_ERR_INVALID;
  *row = NULL;
  while (it->page == NULL || it->i >= it->page->n_rows) {
    if (it->page != NULL && it->done) return 0;
    int rc = scan_fetch(it);
    if (rc != EDDY_OK) return rc;
  }
  const Eddy__V1__Row *m = it->page->rows[it->i++];
  /* A windowed view's scan row has one window: its value is the row's. */
  eddy__row_init(&it->row, m, m->value ? m->value : m->n_windows ? m->windows[0]->value : NULL, 0);
  *row = &it->row;
  return 1;
}

void eddy_scan_close(eddy_scan_t *it) {
  if (it == NULL) return;
  if (it->page) eddy__v1__row_list__free_unpacked(it->page, NULL);
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
