/* libeddy: the client handle (seeds and options), the calling thread's last
 * error, the small helpers the library's files share (clock, growable
 * strings) and the pools of idle libcurl handles that keep connections. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_int.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_RETRIES 5

/* ---- the calling thread's last error (a documented per-thread cache) ---- */

static _Thread_local const eddy_client_t *tl_err_client;
static _Thread_local char tl_err[512];

const char *eddy_last_error(const eddy_client_t *c) {
  return c != NULL && c == tl_err_client ? tl_err : "";
}

__attribute__((format(printf, 3, 4))) int eddy__failf(const eddy_client_t *c, int err,
                                                      const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tl_err, sizeof tl_err, fmt, ap);
  va_end(ap);
  tl_err_client = c;
  return err;
}

int64_t eddy__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void eddy__sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- a small growable string ---- */

void eddy__sb_add(eddy__sb_t *s, const char *d, size_t n) {
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

void eddy__sb_str(eddy__sb_t *s, const char *str) { eddy__sb_add(s, str, strlen(str)); }

__attribute__((format(printf, 2, 3))) void eddy__sb_addf(eddy__sb_t *s, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) eddy__sb_add(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Percent-encodes @p n bytes (all but unreserved characters). */
void eddy__sb_esc(eddy__sb_t *s, const void *d, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  const uint8_t *b = d;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = b[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      char one = (char)ch;
      eddy__sb_add(s, &one, 1);
    } else {
      char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      eddy__sb_add(s, e, 3);
    }
  }
}

/* ---- client ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

char *eddy__strdup(const char *s) {
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
    if ((c->seeds[i] = eddy__strdup(seed_urls[i])) == NULL) goto oom;
    size_t l = strlen(c->seeds[i]);
    while (l > 0 && c->seeds[i][l - 1] == '/')
      c->seeds[i][--l] = '\0';
  }
  c->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  c->retries = !opts || opts->retries == 0 ? DEFAULT_RETRIES
               : opts->retries < 0         ? 0
                                           : opts->retries;
  if (opts && opts->api_token) {
    eddy__sb_t s = {0};
    eddy__sb_str(&s, "Authorization: Bearer ");
    eddy__sb_str(&s, opts->api_token);
    if (s.oom) goto oom;
    c->auth_header = s.p;
  }
  if (opts && opts->tls_ca_file && (c->ca_file = eddy__strdup(opts->tls_ca_file)) == NULL) goto oom;
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

/* ---- idle handles (each keeps its connections) ---- */

CURL *eddy__pool_get(eddy_client_t *c) {
  CURL *h = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->npool > 0) h = c->pool[--c->npool];
  pthread_mutex_unlock(&c->mu);
  return h ? h : curl_easy_init();
}

void eddy__pool_put(eddy_client_t *c, CURL *h) {
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

CURLM *eddy__mpool_get(eddy_client_t *c) {
  CURLM *m = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->nmpool > 0) m = c->mpool[--c->nmpool];
  pthread_mutex_unlock(&c->mu);
  return m ? m : curl_multi_init();
}

void eddy__mpool_put(eddy_client_t *c, CURLM *m) {
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

int eddy__fail(const eddy_client_t *c, int err, const char *msg) {
  return eddy__failf(c, err, "%s", msg);
}
