/* Building and checking topologies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "streams/topology_int.h"

int ed_topology_create(const char *name, ed_topology_t **out) {
  ed_topology_t *t = calloc(1, sizeof *t);
  if (t == NULL) return ED_ENOMEM;
  t->name = strdup(name);
  if (t->name == NULL) {
    free(t);
    return ED_ENOMEM;
  }
  *out = t;
  return ED_OK;
}

void ed_topology_destroy(ed_topology_t *t) {
  if (t == NULL) return;
  for (int i = 0; i < t->nnodes; i++) {
    free(t->nodes[i].name);
    free(t->nodes[i].topic);
  }
  for (int i = 0; i < t->nstores; i++) {
    free(t->stores[i].name);
    free(t->stores[i].changes_topic);
  }
  for (int i = t->nowned - 1; i >= 0; i--) t->owned[i].free_fn(t->owned[i].p);
  free(t->name);
  free(t);
}

int ed__topology_own_fn(ed_topology_t *t, void *p, void (*free_fn)(void *)) {
  if (p == NULL) return ED_ENOMEM;
  if (t->nowned == (int)(sizeof t->owned / sizeof t->owned[0])) {
    free_fn(p);
    return ED_ENOMEM;
  }
  t->owned[t->nowned].p = p;
  t->owned[t->nowned++].free_fn = free_fn;
  return ED_OK;
}

int ed__topology_own(ed_topology_t *t, void *p) { return ed__topology_own_fn(t, p, free); }

const char *ed_topology_name(const ed_topology_t *t) { return t->name; }

int ed__topology_find(const ed_topology_t *t, const char *name) {
  for (int i = 0; i < t->nnodes; i++)
    if (strcmp(t->nodes[i].name, name) == 0) return i;
  return -1;
}

static ed_node_t *new_node(ed_topology_t *t, const char *name, ed_node_type_t type, char *err,
                           size_t errlen) {
  if (t->finalized) {
    snprintf(err, errlen, "topology %s is already in use", t->name);
    return NULL;
  }
  if (name == NULL || *name == '\0' || ed__topology_find(t, name) >= 0) {
    snprintf(err, errlen, "topology %s: node name '%s' is empty or taken", t->name,
             name ? name : "");
    return NULL;
  }
  if (t->nnodes == ED_TOPO_MAX_NODES) {
    snprintf(err, errlen, "topology %s: more than %d nodes", t->name, ED_TOPO_MAX_NODES);
    return NULL;
  }
  ed_node_t *n = &t->nodes[t->nnodes];
  memset(n, 0, sizeof *n);
  n->name = strdup(name);
  if (n->name == NULL) return NULL;
  n->type = type;
  n->sub = -1;
  t->nnodes++;
  return n;
}

static int link_parent(ed_topology_t *t, const char *parent, int child, char *err, size_t errlen) {
  int p = ed__topology_find(t, parent ? parent : "");
  if (p < 0 || t->nodes[p].type == ED_NODE_SINK) {
    snprintf(err, errlen, "topology %s: parent '%s' of '%s' is not a source or processor", t->name,
             parent ? parent : "", t->nodes[child].name);
    return ED_EINVAL;
  }
  ed_node_t *pn = &t->nodes[p];
  for (int i = 0; i < pn->nchildren; i++)
    if (pn->children[i] == child) return ED_OK;
  if (pn->nchildren == ED_TOPO_MAX_CHILDREN) {
    snprintf(err, errlen, "topology %s: '%s' has too many children", t->name, pn->name);
    return ED_EINVAL;
  }
  pn->children[pn->nchildren++] = child;
  return ED_OK;
}

/* Drops the node just added (a failed add leaves the topology unchanged). */
static int undo_node(ed_topology_t *t, int rc) {
  ed_node_t *n = &t->nodes[--t->nnodes];
  free(n->name);
  free(n->topic);
  return rc;
}

int ed_topology_add_source(ed_topology_t *t, const char *name, const char *topic,
                           ed_timestamp_fn ts_fn, void *ts_arg, char *err, size_t errlen) {
  ed_node_t *n = new_node(t, name, ED_NODE_SOURCE, err, errlen);
  if (n == NULL) return ED_EINVAL;
  n->topic = strdup(topic);
  if (n->topic == NULL) return undo_node(t, ED_ENOMEM);
  n->ts_fn = ts_fn;
  n->ts_arg = ts_arg;
  return ED_OK;
}

int ed_topology_add_processor(ed_topology_t *t, const char *name, const ed_processor_fns_t *fns,
                              void *arg, const char *parent, char *err, size_t errlen) {
  if (fns == NULL || fns->process == NULL) {
    snprintf(err, errlen, "topology %s: processor '%s' has no process function", t->name,
             name ? name : "");
    return ED_EINVAL;
  }
  ed_node_t *n = new_node(t, name, ED_NODE_PROCESSOR, err, errlen);
  if (n == NULL) return ED_EINVAL;
  n->fns = *fns;
  n->arg = arg;
  int rc = link_parent(t, parent, t->nnodes - 1, err, errlen);
  return rc == ED_OK ? ED_OK : undo_node(t, rc);
}

int ed_topology_connect(ed_topology_t *t, const char *parent, const char *child, char *err,
                        size_t errlen) {
  int c = ed__topology_find(t, child);
  if (c < 0 || t->nodes[c].type == ED_NODE_SOURCE) {
    snprintf(err, errlen, "topology %s: '%s' is not a processor or sink", t->name, child);
    return ED_EINVAL;
  }
  return link_parent(t, parent, c, err, errlen);
}

int ed_topology_add_sink(ed_topology_t *t, const char *name, const char *topic, const char *parent,
                         char *err, size_t errlen) {
  ed_node_t *n = new_node(t, name, ED_NODE_SINK, err, errlen);
  if (n == NULL) return ED_EINVAL;
  n->topic = strdup(topic);
  if (n->topic == NULL) return undo_node(t, ED_ENOMEM);
  int rc = link_parent(t, parent, t->nnodes - 1, err, errlen);
  return rc == ED_OK ? ED_OK : undo_node(t, rc);
}

int ed_topology_add_store(ed_topology_t *t, const ed_store_def_t *def, const char *processor,
                          char *err, size_t errlen) {
  int p = ed__topology_find(t, processor);
  if (p < 0 || t->nodes[p].type != ED_NODE_PROCESSOR) {
    snprintf(err, errlen, "topology %s: store '%s': '%s' is not a processor", t->name, def->name,
             processor);
    return ED_EINVAL;
  }
  if (def->changes_topic && def->render == NULL) {
    snprintf(err, errlen, "topology %s: store '%s' has a changes topic but no render function",
             t->name, def->name);
    return ED_EINVAL;
  }
  int s;
  for (s = 0; s < t->nstores; s++)
    if (strcmp(t->stores[s].name, def->name) == 0) break;
  if (s == t->nstores) {
    if (t->nstores == ED_TOPO_MAX_STORES) {
      snprintf(err, errlen, "topology %s: too many stores", t->name);
      return ED_EINVAL;
    }
    ed_store_spec_t *st = &t->stores[s];
    memset(st, 0, sizeof *st);
    st->name = strdup(def->name);
    st->changes_topic = def->changes_topic ? strdup(def->changes_topic) : NULL;
    if (st->name == NULL || (def->changes_topic && st->changes_topic == NULL)) {
      free(st->name);
      free(st->changes_topic);
      return ED_ENOMEM;
    }
    st->kind = def->kind;
    st->view = def->view;
    st->render = def->render;
    st->render_arg = def->render_arg;
    st->fingerprint = def->fingerprint;
    st->purge_expired = def->purge_expired;
    st->sub = -1;
    t->nstores++;
  }
  ed_node_t *n = &t->nodes[p];
  if (n->nstores == ED_TOPO_MAX_STORES) return ED_EINVAL;
  n->stores[n->nstores++] = s;
  return ED_OK;
}

static int find_root(int *parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

int ed__topology_finalize(ed_topology_t *t, char *err, size_t errlen) {
  if (t->finalized) return ED_OK;
  /* Sub-topologies are the connected parts of the node graph; a sink is a
   * leaf, so a topic between a sink and a source separates two parts. */
  int parent[ED_TOPO_MAX_NODES], root_sub[ED_TOPO_MAX_NODES];
  for (int i = 0; i < t->nnodes; i++) parent[i] = i, root_sub[i] = -1;
  for (int i = 0; i < t->nnodes; i++)
    for (int k = 0; k < t->nodes[i].nchildren; k++)
      parent[find_root(parent, t->nodes[i].children[k])] = find_root(parent, i);
  int next = 0;
  for (int i = 0; i < t->nnodes; i++) {
    int r = find_root(parent, i);
    if (t->nodes[i].type == ED_NODE_SOURCE && root_sub[r] < 0) root_sub[r] = next++;
  }
  for (int i = 0; i < t->nnodes; i++) t->nodes[i].sub = root_sub[find_root(parent, i)];
  if (next > ED_TOPO_MAX_SUBS) {
    snprintf(err, errlen, "topology %s: too many sub-topologies", t->name);
    return ED_EINVAL;
  }
  t->nsubs = next;
  for (int s = 0; s < t->nsubs; s++) {
    t->subs[s].nsources = 0;
    t->subs[s].store = -1;
    t->subs[s].has_sink = 0;
  }
  for (int i = 0; i < t->nnodes; i++) {
    ed_node_t *n = &t->nodes[i];
    if (n->sub < 0) {
      snprintf(err, errlen, "topology %s: node '%s' is not reachable from any source", t->name,
               n->name);
      return ED_EINVAL;
    }
    ed_subtopology_t *sub = &t->subs[n->sub];
    if (n->type == ED_NODE_SOURCE) sub->sources[sub->nsources++] = i;
    if (n->type == ED_NODE_SINK) sub->has_sink = 1;
    for (int k = 0; k < n->nstores; k++) {
      ed_store_spec_t *st = &t->stores[n->stores[k]];
      if (st->sub >= 0 && st->sub != n->sub) {
        snprintf(err, errlen, "topology %s: store '%s' is used by two sub-topologies", t->name,
                 st->name);
        return ED_EINVAL;
      }
      st->sub = n->sub;
      if (sub->store >= 0 && sub->store != n->stores[k]) {
        snprintf(err, errlen,
                 "topology %s: sub-topology of '%s' has two stores (at most one per task: its "
                 "offsets commit with it)",
                 t->name, n->name);
        return ED_EINVAL;
      }
      sub->store = n->stores[k];
    }
  }
  for (int s = t->nstores - 1; s >= 0; s--)
    if (t->stores[s].fingerprint) t->fingerprint = t->stores[s].fingerprint;
  t->finalized = 1;
  return ED_OK;
}
