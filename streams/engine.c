/* The engine: its topologies (runners) and the views queries read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "streams/engine_int.h"

int ed_engine_create(const ed_engine_conf_t *conf, ed_engine_t **out, char *err, size_t errlen) {
  ed_engine_t *e = calloc(1, sizeof *e);
  if (e == NULL) return ED_ENOMEM;
  e->app = strdup(conf->app ? conf->app : "eddy");
  e->data_dir = strdup(conf->data_dir ? conf->data_dir : "./data");
  e->bootstrap = conf->bootstrap_servers ? strdup(conf->bootstrap_servers) : NULL;
  e->commit_interval_ms = conf->commit_interval_ms > 0 ? conf->commit_interval_ms : 100;
  e->exactly_once = conf->exactly_once;
  e->instance_id = strdup(conf->instance_id ? conf->instance_id : "eddy");
  e->cache_max_entries = conf->cache_max_entries > 0 ? conf->cache_max_entries : 100000;
  e->store_opts = conf->store_opts;
  e->kafka = calloc(conf->nkafka + 1, sizeof *e->kafka);
  int rc = e->app && e->data_dir && e->kafka && e->instance_id &&
                   (e->bootstrap || !conf->bootstrap_servers)
               ? ED_OK
               : ED_ENOMEM;
  for (size_t i = 0; rc == ED_OK && i < conf->nkafka; i++) {
    e->kafka[i].name = strdup(conf->kafka[i].name);
    e->kafka[i].value = strdup(conf->kafka[i].value);
    e->nkafka++;
    if (!e->kafka[i].name || !e->kafka[i].value) rc = ED_ENOMEM;
  }
  if (rc != ED_OK) {
    snprintf(err, errlen, "out of memory");
    ed_engine_destroy(e);
    return rc;
  }
  *out = e;
  return ED_OK;
}

static void view_free(ed_view_t *v) {
  free((void *)v->ready);
  free(v->pos);
  free((void *)v->standby_ready);
  free((void *)v->standby_want);
  free((void *)v->replica);
  free(v);
}

static int add_views(ed_engine_t *e, ed_runner_t *r, char *err, size_t errlen) {
  ed_topology_t *t = r->topo;
  for (int s = 0; s < t->nstores; s++) {
    if (e->nviews == sizeof e->views / sizeof e->views[0]) return ED_ETOOBIG;
    for (size_t i = 0; i < e->nviews; i++) {
      if (strcmp(e->views[i]->def->name, t->stores[s].name) == 0) {
        snprintf(err, errlen, "store name '%s' is used twice", t->stores[s].name);
        return ED_ECONFIG;
      }
    }
    ed_view_t *v = calloc(1, sizeof *v);
    if (v == NULL) return ED_ENOMEM;
    v->runner = r;
    v->store = s;
    v->sub = t->stores[s].sub;
    v->nparts = r->nparts[v->sub];
    v->fallback_def.name = t->stores[s].name;
    v->def = t->stores[s].view ? t->stores[s].view : &v->fallback_def;
    v->ready = calloc((size_t)v->nparts, sizeof *v->ready);
    v->pos = calloc((size_t)v->nparts, sizeof *v->pos);
    v->standby_ready = calloc((size_t)v->nparts, sizeof *v->standby_ready);
    v->standby_want = calloc((size_t)v->nparts, sizeof *v->standby_want);
    v->replica = calloc((size_t)v->nparts * ED_REPLICA_FIELDS, sizeof *v->replica);
    if (!v->ready || !v->pos || !v->standby_ready || !v->standby_want || !v->replica) {
      view_free(v);
      return ED_ENOMEM;
    }
    for (int32_t p = 0; p < v->nparts * ED_REPLICA_FIELDS; p++)
      atomic_store(&v->replica[p], p % ED_REPLICA_FIELDS == 0 ? ED_REPLICA_NONE : -1);
    for (int32_t p = 0; p < v->nparts; p++) {
      atomic_store(&v->pos[p].offset, -1);
      atomic_store(&v->pos[p].stream_time, INT64_MIN);
      atomic_store(&v->pos[p].high, -1);
    }
    e->views[e->nviews++] = v;
  }
  return ED_OK;
}

int ed_engine_add_topology(ed_engine_t *e, ed_topology_t *t, const ed_topology_opts_t *opts,
                           char *err, size_t errlen) {
  if (e->started || e->nrunners == ED_ENGINE_MAX_TOPOLOGIES) {
    snprintf(err, errlen, "cannot add topology %s now", ed_topology_name(t));
    return ED_ESTATE;
  }
  ed_runner_t *r;
  int rc = ed__runner_create(e, t, opts, &r, err, errlen);
  if (rc != ED_OK) return rc;
  size_t nviews = e->nviews;
  rc = add_views(e, r, err, errlen);
  if (rc != ED_OK) {
    while (e->nviews > nviews) {
      view_free(e->views[--e->nviews]);
    }
    r->topo = NULL; /* still the caller's */
    ed__runner_destroy(r);
    return rc;
  }
  e->runners[e->nrunners++] = r;
  return ED_OK;
}

int ed_engine_start(ed_engine_t *e, char *err, size_t errlen) {
  e->started = 1;
  for (size_t i = 0; i < e->nrunners; i++) {
    int rc = ed__runner_start(e->runners[i], err, errlen);
    if (rc != ED_OK) {
      ed_engine_stop(e);
      return rc;
    }
  }
  return ED_OK;
}

void ed_engine_stop(ed_engine_t *e) {
  atomic_store(&e->stopping, 1);
  for (size_t i = 0; i < e->nrunners; i++)
    ed__runner_join(e->runners[i]);
}

void ed_engine_destroy(ed_engine_t *e) {
  if (e == NULL) return;
  ed_engine_stop(e);
  for (size_t i = 0; i < e->nviews; i++)
    view_free(e->views[i]);
  for (size_t i = 0; i < e->nrunners; i++)
    ed__runner_destroy(e->runners[i]);
  for (size_t i = 0; i < e->nkafka; i++) {
    free(e->kafka[i].name);
    free(e->kafka[i].value);
  }
  free(e->kafka);
  free(e->app);
  free(e->instance_id);
  free(e->data_dir);
  free(e->bootstrap);
  free(e);
}

/* ---- views, for queries ---- */

size_t ed_engine_view_count(const ed_engine_t *e) { return e->nviews; }

ed_view_t *ed_engine_view_at(ed_engine_t *e, size_t i) {
  return i < e->nviews ? e->views[i] : NULL;
}

ed_view_t *ed_engine_find_view(ed_engine_t *e, const char *name, size_t len) {
  for (size_t i = 0; i < e->nviews; i++) {
    const char *n = e->views[i]->def->name;
    if (strlen(n) == len && memcmp(n, name, len) == 0) return e->views[i];
  }
  return NULL;
}

const ed_view_def_t *ed_view_def(const ed_view_t *v) { return v->def; }

int32_t ed_view_partition_count(const ed_view_t *v) { return v->nparts; }

ed_store_kind_t ed_view_kind(const ed_view_t *v) { return v->runner->topo->stores[v->store].kind; }

ed_store_t *ed_view_store(ed_view_t *v, int32_t p) {
  if (p < 0 || p >= v->nparts) return NULL;
  return atomic_load(&v->ready[p]);
}

void ed_view_stats(const ed_view_t *v, ed_view_stats_t *out) {
  ed_runner_t *r = v->runner;
  out->records_in = atomic_load_explicit(&r->records_in, memory_order_relaxed);
  out->commits = atomic_load_explicit(&r->commits, memory_order_relaxed);
  out->late_records = atomic_load_explicit(&r->late, memory_order_relaxed);
  out->bad_records = 0;
  int n = atomic_load(&r->nbad);
  for (int i = 0; i < n; i++)
    out->bad_records += atomic_load_explicit(&r->bad[i].count, memory_order_relaxed);
  out->assigned = atomic_load_explicit(&((ed_view_t *)v)->assigned, memory_order_relaxed);
}

size_t ed_view_bad_reasons(const ed_view_t *v, const char **reasons, uint64_t *counts, size_t max) {
  ed_runner_t *r = v->runner;
  size_t n = (size_t)atomic_load(&r->nbad);
  if (n > max) n = max;
  for (size_t i = 0; i < n; i++) {
    reasons[i] = r->bad[i].reason;
    counts[i] = atomic_load_explicit(&r->bad[i].count, memory_order_relaxed);
  }
  return n;
}

const ed_histogram_t *ed_view_commit_latency(const ed_view_t *v) {
  return &v->runner->commit_latency;
}

int ed_view_position(const ed_view_t *v, int32_t p, ed_view_position_t *out) {
  if (p < 0 || p >= v->nparts) return ED_EINVAL;
  out->assigned = atomic_load(&((ed_view_t *)v)->ready[p]) != NULL;
  out->offset = atomic_load(&v->pos[p].offset);
  out->stream_time = atomic_load(&v->pos[p].stream_time);
  out->high_watermark = atomic_load(&v->pos[p].high);
  return ED_OK;
}

int ed_engine_on_commit(ed_engine_t *e, ed_commit_fn fn, void *arg) {
  if (e->started || e->nlisteners == (int)(sizeof e->listeners / sizeof e->listeners[0]))
    return ED_ESTATE;
  e->listeners[e->nlisteners].fn = fn;
  e->listeners[e->nlisteners++].arg = arg;
  return ED_OK;
}

void ed__engine_committed(ed_runner_t *r, ed_task_t *t, int64_t high) {
  ed_engine_t *e = r->engine;
  for (size_t i = 0; i < e->nviews; i++) {
    ed_view_t *v = e->views[i];
    if (v->runner != r || v->sub != t->sub) continue;
    int32_t p = t->partition;
    atomic_store(&v->pos[p].stream_time, t->committed_stream_time);
    if (high >= 0) atomic_store(&v->pos[p].high, high);
    int64_t was = atomic_exchange(&v->pos[p].offset, t->committed[0]);
    if (was != t->committed[0])
      for (int k = 0; k < e->nlisteners; k++)
        e->listeners[k].fn(e->listeners[k].arg, v, p, t->committed[0]);
  }
}

int64_t ed_view_upstream_lag(const ed_view_t *v) { return atomic_load(&v->runner->upstream_lag); }
