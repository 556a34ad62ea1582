/* DSL internals shared by dsl.c and dsl_aggregate.c. */
#ifndef ED_STREAMS_DSL_INT_H
#define ED_STREAMS_DSL_INT_H

#include "streams/dsl.h"
#include "streams/topology_int.h"

#define ED_DSL_NAME_MAX 96

struct ed_dsl {
  ed_topology_t *t; /* NULL once built */
  int rc;           /* first error */
  char err[512];
  int counter;      /* for generated node names */
  int repartitions;
  void *handles[256]; /* every handle given out, freed with the builder */
  int nhandles;
};

struct ed_kstream {
  ed_dsl_t *b;
  char node[ED_DSL_NAME_MAX]; /* the node whose output this stream is */
  int rekeyed;                /* the key may differ from the source's */
};

struct ed_kgrouped {
  ed_dsl_t *b;
  char node[ED_DSL_NAME_MAX];
  ed_window_spec_t window; /* type ED_WIN_NONE: not windowed */
};

struct ed_ktable {
  ed_dsl_t *b;
  char node[ED_DSL_NAME_MAX];
  char store[ED_DSL_NAME_MAX];
  int store_index;
};

/* The aggregate processor's configuration (dsl_aggregate.c). */
typedef struct {
  ed_aggregator_t agg;
  ed_window_spec_t window;
  char store[ED_DSL_NAME_MAX];
} ed__dsl_agg_conf_t;

extern const ed_processor_fns_t ed__dsl_aggregate_fns;

/* The counting aggregator of ed_kgrouped_count(). */
extern const ed_aggregator_t ed__dsl_count_aggregator;

#endif
