/* Standby placement (standby.h). */
#include "server/standby.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

int ed_standby_range_owner(int32_t p, int32_t nparts, const uint8_t *skip, int m) {
  int live = 0;
  for (int i = 0; i < m; i++)
    live += !skip[i];
  if (live == 0 || p < 0 || p >= nparts) return -1;
  int32_t per = nparts / live, extra = nparts % live, start = 0;
  for (int i = 0, k = 0; i < m; i++) {
    if (skip[i]) continue;
    int32_t len = per + (k < extra ? 1 : 0);
    if (p < start + len) return i;
    start += len;
    k++;
  }
  return -1;
}

typedef struct {
  const char *member_id;
  const char *instance_id;
} member_t;

static int by_member_id(const void *a, const void *b) {
  return strcmp(((const member_t *)a)->member_id, ((const member_t *)b)->member_id);
}

int ed_standby_plan(const ed_cluster_t *c, const char *view, int32_t nparts, const char *self_id,
                    int replicas, uint8_t *want) {
  memset(want, 0, (size_t)nparts);
  if (replicas <= 0) return ED_OK;
  member_t *ms = calloc(c->ninstances + 1, sizeof *ms);
  uint8_t *skip = calloc(c->ninstances + 1, 1);
  if (ms == NULL || skip == NULL) {
    free(ms);
    free(skip);
    return ED_ENOMEM;
  }
  int m = 0;
  for (size_t i = 0; i < c->ninstances; i++)
    for (size_t j = 0; j < c->instances[i].nviews; j++) {
      const ed_cluster_view_t *v = &c->instances[i].views[j];
      if (strcmp(v->view, view) != 0 || v->member_id == NULL || v->member_id[0] == '\0') continue;
      ms[m].member_id = v->member_id;
      ms[m++].instance_id = c->instances[i].instance_id;
    }
  qsort(ms, (size_t)m, sizeof *ms, by_member_id);
  for (int32_t p = 0; p < nparts; p++) {
    const ed_cluster_instance_t *owner = ed_cluster_owner(c, view, p, NULL);
    if (owner == NULL) continue;
    memset(skip, 0, (size_t)m);
    for (int i = 0; i < m; i++)
      skip[i] = strcmp(ms[i].instance_id, owner->instance_id) == 0;
    for (int r = 0; r < replicas; r++) {
      int i = ed_standby_range_owner(p, nparts, skip, m);
      if (i < 0) break;
      if (strcmp(ms[i].instance_id, self_id) == 0) want[p] = 1;
      skip[i] = 1;
    }
  }
  free(ms);
  free(skip);
  return ED_OK;
}
