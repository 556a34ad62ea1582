/* Topology internals: nodes, stores and sub-topologies. */
#ifndef ED_STREAMS_TOPOLOGY_INT_H
#define ED_STREAMS_TOPOLOGY_INT_H

#include "streams/topology.h"

#define ED_TOPO_MAX_NODES 64
#define ED_TOPO_MAX_CHILDREN 16
#define ED_TOPO_MAX_STORES 16
#define ED_TOPO_MAX_SUBS 16

typedef enum { ED_NODE_SOURCE, ED_NODE_PROCESSOR, ED_NODE_SINK } ed_node_type_t;

typedef struct {
  char *name;
  ed_node_type_t type;
  char *topic;               /* source, sink */
  ed_timestamp_fn ts_fn;     /* source */
  void *ts_arg;
  ed_processor_fns_t fns;    /* processor */
  void *arg;
  int children[ED_TOPO_MAX_CHILDREN];
  int nchildren;
  int stores[ED_TOPO_MAX_STORES]; /* processor: indexes into stores */
  int nstores;
  int sub;                   /* sub-topology index */
} ed_node_t;

typedef struct {
  char *name;
  ed_store_kind_t kind;
  const ed_view_def_t *view;
  char *changes_topic;
  ed_row_render_fn render;
  void *render_arg;
  uint64_t fingerprint;
  int purge_expired;
  int sub;
} ed_store_spec_t;

/* A connected part of the topology between repartition boundaries. */
typedef struct {
  int sources[ED_TOPO_MAX_NODES]; /* node indexes */
  int nsources;
  int store;                      /* index into stores, or -1: stateless */
  int has_sink;
} ed_subtopology_t;

struct ed_topology {
  char *name;
  ed_node_t nodes[ED_TOPO_MAX_NODES];
  int nnodes;
  ed_store_spec_t stores[ED_TOPO_MAX_STORES];
  int nstores;
  ed_subtopology_t subs[ED_TOPO_MAX_SUBS];
  int nsubs;
  uint64_t fingerprint; /* of its first store with one; tags internal records */
  int finalized;
  struct {
    void *p;
    void (*free_fn)(void *);
  } owned[ED_TOPO_MAX_NODES * 2]; /* freed with the topology (DSL closures, compiled views) */
  int nowned;
};

/* Hands @p p (malloc'ed) to the topology: freed by ed_topology_destroy().
 * Returns ED_OK, or ED_ENOMEM after freeing @p p. */
int ed__topology_own(ed_topology_t *t, void *p);
/* The same with a destructor of its own. */
int ed__topology_own_fn(ed_topology_t *t, void *p, void (*free_fn)(void *));

/* Splits the topology into sub-topologies and checks it (every processor
 * reachable from a source, at most one store per sub-topology). Idempotent. */
int ed__topology_finalize(ed_topology_t *t, char *err, size_t errlen);

/* Index of the node named @p name, or -1. */
int ed__topology_find(const ed_topology_t *t, const char *name);

#endif
