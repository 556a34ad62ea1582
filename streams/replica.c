/* Replicas of a view's partitions as queries and the cluster map see them
 * (engine.h, "replicas"): each task publishes its role (restoring, active,
 * standby) and changelog position into atomics the HTTP threads read. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "streams/engine_int.h"

enum { R_ROLE, R_RESTORED, R_TOTAL, R_CL_OFFSET, R_CL_END, R_CAUGHT_UP, R_N };
_Static_assert(R_N == ED_REPLICA_FIELDS, "engine.c sizes the replica array");

void ed__replica_publish(ed_task_t *t) {
  ed_engine_t *e = t->r->engine;
  int64_t role = t->restoring ? ED_REPLICA_RESTORING
                 : t->active  ? ED_REPLICA_ACTIVE
                 : t->standby ? ED_REPLICA_STANDBY
                              : ED_REPLICA_NONE;
  int follows = t->restoring || t->standby;
  int64_t vals[R_N] = {
      role,
      t->restoring ? t->restore_pos - t->restore_start : -1,
      t->restoring ? t->restore_end - t->restore_start : -1,
      follows ? t->restore_pos : t->changelog_next,
      follows ? t->restore_end : t->changelog_next,
      t->caught_up_ms,
  };
  for (size_t i = 0; i < e->nviews; i++) {
    ed_view_t *v = e->views[i];
    if (v->runner != t->r || v->sub != t->sub) continue;
    for (int k = 0; k < R_N; k++)
      atomic_store(&v->replica[t->partition * R_N + k], vals[k]);
    atomic_store(&v->standby_ready[t->partition], t->standby ? t->store : NULL);
  }
}

int ed_view_replica(const ed_view_t *v, int32_t p, ed_view_replica_t *out) {
  if (p < 0 || p >= v->nparts) return ED_EINVAL;
  _Atomic int64_t *a = &v->replica[p * R_N];
  out->role = (ed_replica_role_t)atomic_load(&a[R_ROLE]);
  out->restored = atomic_load(&a[R_RESTORED]);
  out->restore_total = atomic_load(&a[R_TOTAL]);
  out->changelog_offset = atomic_load(&a[R_CL_OFFSET]);
  out->changelog_end = atomic_load(&a[R_CL_END]);
  out->caught_up_ms = atomic_load(&a[R_CAUGHT_UP]);
  return ED_OK;
}

ed_store_t *ed_view_standby_store(ed_view_t *v, int32_t p) {
  if (p < 0 || p >= v->nparts) return NULL;
  return atomic_load(&v->standby_ready[p]);
}

int ed_view_set_standbys(ed_view_t *v, const uint8_t *want, int32_t n) {
  if (n != v->nparts) return ED_EINVAL;
  int changed = 0;
  for (int32_t p = 0; p < n; p++)
    changed |= atomic_exchange(&v->standby_want[p], want[p] ? 1 : 0) != (want[p] ? 1 : 0);
  if (changed) atomic_store(&v->runner->standby_changed, 1);
  return ED_OK;
}

void ed_view_member_id(const ed_view_t *v, char *out, size_t cap) {
  ed_runner_t *r = v->runner;
  pthread_mutex_lock(&r->member_lock);
  snprintf(out, cap, "%s", r->member_id);
  pthread_mutex_unlock(&r->member_lock);
}
