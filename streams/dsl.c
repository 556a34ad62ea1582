/* The DSL: stream operations as processors of a topology. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "streams/dsl_int.h"

int ed_dsl_create(const char *name, ed_dsl_t **out) {
  ed_dsl_t *b = calloc(1, sizeof *b);
  if (b == NULL) return ED_ENOMEM;
  int rc = ed_topology_create(name, &b->t);
  if (rc != ED_OK) {
    free(b);
    return rc;
  }
  *out = b;
  return ED_OK;
}

void ed_dsl_destroy(ed_dsl_t *b) {
  if (b == NULL) return;
  ed_topology_destroy(b->t);
  for (int i = 0; i < b->nhandles; i++) free(b->handles[i]);
  free(b);
}

static void fail(ed_dsl_t *b, int rc, const char *fmt, ...) {
  if (b->rc != ED_OK) return;
  b->rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->err, sizeof b->err, fmt, ap);
  va_end(ap);
}

/* A handle of @p size bytes owned by the builder; NULL (and the builder
 * failed) when out of memory or the builder has failed already. */
static void *handle(ed_dsl_t *b, size_t size) {
  if (b->rc != ED_OK || b->t == NULL) return NULL;
  void *h = b->nhandles < (int)(sizeof b->handles / sizeof b->handles[0]) ? calloc(1, size) : NULL;
  if (h == NULL) {
    fail(b, ED_ENOMEM, "out of memory (or too many DSL operations)");
    return NULL;
  }
  b->handles[b->nhandles++] = h;
  return h;
}

static void node_name(ed_dsl_t *b, const char *what, char *out) {
  snprintf(out, ED_DSL_NAME_MAX, "%s-%d", what, ++b->counter);
}

static ed_kstream_t *new_stream(ed_dsl_t *b, const char *node, int rekeyed) {
  ed_kstream_t *s = handle(b, sizeof *s);
  if (s == NULL) return NULL;
  s->b = b;
  snprintf(s->node, sizeof s->node, "%s", node);
  s->rekeyed = rekeyed;
  return s;
}

/* Adds a processor after @p s with a closure {fn, arg} owned by the
 * topology; returns the new stream. */
typedef struct {
  void *fn;
  void *arg;
} closure_t;

static ed_kstream_t *add_step(ed_kstream_t *s, const char *what, const ed_processor_fns_t *fns,
                              void *fn, void *arg, int rekeys) {
  if (s == NULL) return NULL;
  ed_dsl_t *b = s->b;
  if (b->rc != ED_OK) return NULL;
  closure_t *c = malloc(sizeof *c);
  if (ed__topology_own(b->t, c) != ED_OK) {
    fail(b, ED_ENOMEM, "out of memory");
    return NULL;
  }
  c->fn = fn;
  c->arg = arg;
  char name[ED_DSL_NAME_MAX];
  node_name(b, what, name);
  int rc = ed_topology_add_processor(b->t, name, fns, c, s->node, b->err, sizeof b->err);
  if (rc != ED_OK) {
    b->rc = rc;
    return NULL;
  }
  return new_stream(b, name, s->rekeyed || rekeys);
}

static int closure_init(ed_pctx_t *ctx, void *arg, void **state) {
  (void)ctx;
  *state = arg;
  return ED_OK;
}

static void filter_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  closure_t *c = state;
  if (((ed_predicate_fn)c->fn)(c->arg, ctx, rec)) ed_pctx_forward(ctx, rec);
}

static void map_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  closure_t *c = state;
  ed_record_t out = *rec;
  if (((ed_map_fn)c->fn)(c->arg, ctx, rec, &out)) ed_pctx_forward(ctx, &out);
}

static void select_key_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  closure_t *c = state;
  ed_record_t out = *rec;
  if (((ed_key_fn)c->fn)(c->arg, ctx, rec, &out.key, &out.key_len)) ed_pctx_forward(ctx, &out);
}

static const ed_processor_fns_t filter_fns = {closure_init, filter_process, NULL, NULL};
static const ed_processor_fns_t map_fns = {closure_init, map_process, NULL, NULL};
static const ed_processor_fns_t select_key_fns = {closure_init, select_key_process, NULL, NULL};

ed_kstream_t *ed_dsl_stream(ed_dsl_t *b, const char *topic, ed_timestamp_fn ts_fn, void *ts_arg) {
  if (b->rc != ED_OK || b->t == NULL) return NULL;
  char name[ED_DSL_NAME_MAX];
  node_name(b, "source", name);
  int rc = ed_topology_add_source(b->t, name, topic, ts_fn, ts_arg, b->err, sizeof b->err);
  if (rc != ED_OK) {
    b->rc = rc;
    return NULL;
  }
  return new_stream(b, name, 0);
}

ed_kstream_t *ed_kstream_filter(ed_kstream_t *s, ed_predicate_fn pred, void *arg) {
  return add_step(s, "filter", &filter_fns, (void *)pred, arg, 0);
}

ed_kstream_t *ed_kstream_map(ed_kstream_t *s, ed_map_fn fn, void *arg) {
  return add_step(s, "map", &map_fns, (void *)fn, arg, 1);
}

ed_kstream_t *ed_kstream_select_key(ed_kstream_t *s, ed_key_fn fn, void *arg) {
  return add_step(s, "select-key", &select_key_fns, (void *)fn, arg, 1);
}

ed_kstream_t *ed_kstream_process(ed_kstream_t *s, const char *name, const ed_processor_fns_t *fns,
                                 void *arg) {
  if (s == NULL || s->b->rc != ED_OK) return NULL;
  ed_dsl_t *b = s->b;
  int rc = ed_topology_add_processor(b->t, name, fns, arg, s->node, b->err, sizeof b->err);
  if (rc != ED_OK) {
    b->rc = rc;
    return NULL;
  }
  return new_stream(b, name, 1);
}

void ed_kstream_to(ed_kstream_t *s, const char *topic) {
  if (s == NULL || s->b->rc != ED_OK) return;
  ed_dsl_t *b = s->b;
  char name[ED_DSL_NAME_MAX];
  node_name(b, "sink", name);
  int rc = ed_topology_add_sink(b->t, name, topic, s->node, b->err, sizeof b->err);
  if (rc != ED_OK) b->rc = rc;
}

ed_kgrouped_t *ed_kstream_group_by_key(ed_kstream_t *s) {
  if (s == NULL || s->b->rc != ED_OK) return NULL;
  ed_dsl_t *b = s->b;
  ed_kgrouped_t *g = handle(b, sizeof *g);
  if (g == NULL) return NULL;
  g->b = b;
  if (!s->rekeyed) {
    snprintf(g->node, sizeof g->node, "%s", s->node);
    return g;
  }
  /* Through Kafka, so each key lands in partition murmur2(key). */
  char topic[512], sink[ED_DSL_NAME_MAX];
  if (b->repartitions++ == 0)
    snprintf(topic, sizeof topic, "%s.repartition", b->t->name);
  else
    snprintf(topic, sizeof topic, "%s.repartition-%d", b->t->name, b->repartitions);
  node_name(b, "repartition-sink", sink);
  node_name(b, "repartition-source", g->node);
  int rc = ed_topology_add_sink(b->t, sink, topic, s->node, b->err, sizeof b->err);
  if (rc == ED_OK)
    rc = ed_topology_add_source(b->t, g->node, topic, NULL, NULL, b->err, sizeof b->err);
  if (rc != ED_OK) {
    b->rc = rc;
    return NULL;
  }
  return g;
}

ed_kgrouped_t *ed_kstream_group_by(ed_kstream_t *s, ed_key_fn fn, void *arg) {
  return ed_kstream_group_by_key(ed_kstream_select_key(s, fn, arg));
}

ed_kgrouped_t *ed_kgrouped_windowed_by(ed_kgrouped_t *g, const ed_window_spec_t *spec) {
  if (g == NULL || g->b->rc != ED_OK) return NULL;
  ed_window_spec_t w = *spec;
  char err[256];
  if (ed_window_spec_check(&w, err, sizeof err) != ED_OK) {
    fail(g->b, ED_EINVAL, "window: %s", err);
    return NULL;
  }
  ed_kgrouped_t *wg = handle(g->b, sizeof *wg);
  if (wg == NULL) return NULL;
  *wg = *g;
  wg->window = w;
  return wg;
}

ed_ktable_t *ed_kgrouped_aggregate(ed_kgrouped_t *g, const char *store, const ed_aggregator_t *agg,
                                   const ed_view_def_t *view) {
  if (g == NULL || g->b->rc != ED_OK) return NULL;
  ed_dsl_t *b = g->b;
  if (g->window.type == ED_WIN_SESSION && agg->merge == NULL) {
    fail(b, ED_EINVAL, "store %s: session windows need an aggregator with merge", store);
    return NULL;
  }
  ed__dsl_agg_conf_t *conf = calloc(1, sizeof *conf);
  if (ed__topology_own(b->t, conf) != ED_OK) {
    fail(b, ED_ENOMEM, "out of memory");
    return NULL;
  }
  conf->agg = *agg;
  conf->window = g->window;
  snprintf(conf->store, sizeof conf->store, "%s", store);
  ed_ktable_t *t = handle(b, sizeof *t);
  if (t == NULL) return NULL;
  t->b = b;
  snprintf(t->store, sizeof t->store, "%s", store);
  node_name(b, "aggregate", t->node);
  int rc = ed_topology_add_processor(b->t, t->node, &ed__dsl_aggregate_fns, conf, g->node, b->err,
                                     sizeof b->err);
  ed_store_def_t def = {
      .name = store,
      .kind = g->window.type == ED_WIN_NONE      ? ED_STORE_KIND_KV
              : g->window.type == ED_WIN_SESSION ? ED_STORE_KIND_SESSION
                                                 : ED_STORE_KIND_WINDOWED,
      .view = view,
      .render = agg->render,
      .render_arg = agg->arg,
      .purge_expired = g->window.type != ED_WIN_NONE,
  };
  if (rc == ED_OK) rc = ed_topology_add_store(b->t, &def, t->node, b->err, sizeof b->err);
  if (rc != ED_OK) {
    b->rc = rc;
    return NULL;
  }
  t->store_index = b->t->nstores - 1;
  return t;
}

ed_ktable_t *ed_kgrouped_count(ed_kgrouped_t *g, const char *store) {
  if (g == NULL || g->b->rc != ED_OK) return NULL;
  /* Described as a view with one count column, so queries show "count". */
  struct {
    ed_view_def_t def;
    char name[ED_DSL_NAME_MAX];
    char column[8];
  } *d = calloc(1, sizeof *d);
  if (ed__topology_own(g->b->t, d) != ED_OK) {
    fail(g->b, ED_ENOMEM, "out of memory");
    return NULL;
  }
  snprintf(d->name, sizeof d->name, "%s", store);
  snprintf(d->column, sizeof d->column, "count");
  d->def.name = d->name;
  d->def.naggs = 1;
  d->def.aggs[0].column = d->column;
  d->def.aggs[0].kind = ED_AGG_COUNT;
  d->def.window = g->window;
  return ed_kgrouped_aggregate(g, store, &ed__dsl_count_aggregator, &d->def);
}

void ed_ktable_to(ed_ktable_t *t, const char *topic) {
  if (t == NULL || t->b->rc != ED_OK) return;
  ed_store_spec_t *st = &t->b->t->stores[t->store_index];
  if (st->render == NULL) {
    fail(t->b, ED_EINVAL, "store %s: an output topic needs an aggregator with render", st->name);
    return;
  }
  free(st->changes_topic);
  st->changes_topic = strdup(topic);
  if (st->changes_topic == NULL) fail(t->b, ED_ENOMEM, "out of memory");
}

void ed_ktable_fingerprint(ed_ktable_t *t, uint64_t fingerprint) {
  if (t == NULL || t->b->rc != ED_OK) return;
  t->b->t->stores[t->store_index].fingerprint = fingerprint;
}

int ed_dsl_build(ed_dsl_t *b, ed_topology_t **out, char *err, size_t errlen) {
  if (b->rc == ED_OK && b->t == NULL) fail(b, ED_ESTATE, "already built");
  if (b->rc == ED_OK) b->rc = ed__topology_finalize(b->t, b->err, sizeof b->err);
  if (b->rc != ED_OK) {
    snprintf(err, errlen, "%s", b->err[0] ? b->err : ed_strerror(b->rc));
    return b->rc;
  }
  *out = b->t;
  b->t = NULL;
  return ED_OK;
}
