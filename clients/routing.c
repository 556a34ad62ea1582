/* libeddy: the cached cluster map (fetched from a seed, refreshed when
 * stale) and direct routing from it: a key's owner, a view's owners per
 * partition, and seeds picked round robin. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"

#define MAP_REFRESH_MIN_MS 100

/* ---- the partition map ---- */

void eddy__map_mark_stale(eddy_client_t *c) {
  pthread_mutex_lock(&c->mu);
  c->map_stale = 1;
  pthread_mutex_unlock(&c->mu);
}

/* Fetches /v1/cluster from the seeds (in turn) if the map is missing or
 * stale, at most every MAP_REFRESH_MIN_MS. Failures keep the old map. */
void eddy__map_refresh(eddy_client_t *c, int64_t deadline) {
  int64_t t = eddy__now_ms();
  pthread_mutex_lock(&c->mu);
  int need = (c->map == NULL || c->map_stale) && t - c->map_ms >= MAP_REFRESH_MIN_MS;
  if (need) c->map_ms = t; /* one thread fetches; the others use what there is */
  pthread_mutex_unlock(&c->mu);
  if (!need) return;
  eddy__ans_t a = {0};
  Eddy__V1__ClusterMap *m = NULL;
  for (size_t i = 0; i < c->nseeds && m == NULL; i++) {
    int64_t left = deadline - eddy__now_ms();
    if (left <= 0) break;
    eddy__sb_t url = {0};
    eddy__sb_str(&url, c->seeds[i]);
    eddy__sb_str(&url, "/v1/cluster");
    if (url.oom) break;
    eddy__http_do(c, url.p, NULL, 0, left < 2000 ? left : 2000, &a);
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
  c->map_ms = eddy__now_ms();
  pthread_mutex_unlock(&c->mu);
  if (old) eddy__v1__cluster_map__free_unpacked(old, NULL);
}

/* The owner of @p key's partition of @p view in the map: its advertised URL
 * into @p url and its id into @p id. Returns 1, or 0 if the map names none. */
int eddy__map_owner(eddy_client_t *c, const char *view, const void *key, size_t klen, char *url,
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

void eddy__route_fini(eddy__route_t *rt) {
  free(rt->owner);
  free(rt->urls);
  memset(rt, 0, sizeof *rt);
}

/* Fills *rt for @p view from the cached map. EDDY_OK or EDDY_ERR_NOMEM. */
int eddy__map_route(eddy_client_t *c, const char *view, eddy__route_t *rt) {
  eddy__route_fini(rt);
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
  if (rc != EDDY_OK) eddy__route_fini(rt);
  return rc;
}

/* A seed URL, round robin, avoiding @p avoid (n strings) where it can. */
const char *eddy__pick_seed(eddy_client_t *c, char (*avoid)[256], size_t n) {
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
