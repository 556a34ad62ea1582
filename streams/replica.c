/* Replicas of a view's partitions as queries and the cluster map see them:
 * restoring, active or standby (engine.h, "replicas"). */
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

int ed_view_replica(const ed_view_t *v, int32_t p, ed_view_replica_t *out) {
  if (p < 0 || p >= v->nparts) return ED_EINVAL;
  memset(out, 0, sizeof *out);
  out->role = atomic_load(&((ed_view_t *)v)->ready[p]) ? ED_REPLICA_ACTIVE : ED_REPLICA_NONE;
  out->restored = out->restore_total = -1;
  out->changelog_offset = out->changelog_end = out->caught_up_ms = -1;
  return ED_OK;
}

ed_store_t *ed_view_standby_store(ed_view_t *v, int32_t p) {
  (void)v;
  (void)p;
  return NULL;
}

int ed_view_set_standbys(ed_view_t *v, const uint8_t *want, int32_t n) {
  (void)v;
  (void)want;
  (void)n;
  return ED_OK;
}

void ed_view_member_id(const ed_view_t *v, char *out, size_t cap) {
  (void)v;
  if (cap) out[0] = '\0';
}
