/* libeddy: the cluster map (GET /v1/cluster) as a public object with
 * accessors, for tools (eddy cluster) and services that watch the cluster. */
#include <stdio.h>
#include <stdlib.h>

#include "client_int.h"

struct eddy_cluster {
  Eddy__V1__ClusterMap *msg;
};

int eddy__decode_cluster(const uint8_t *b, size_t n, eddy_cluster_t **out) {
  *out = NULL;
  Eddy__V1__ClusterMap *m = eddy__v1__cluster_map__unpack(NULL, n, b);
  if (m == NULL) return EDDY_ERR_PROTOCOL;
  eddy_cluster_t *cl = malloc(sizeof *cl);
  if (cl == NULL) {
    eddy__v1__cluster_map__free_unpacked(m, NULL);
    return EDDY_ERR_NOMEM;
  }
  cl->msg = m;
  *out = cl;
  return EDDY_OK;
}

int eddy_cluster(eddy_client_t *c, eddy_cluster_t **out) {
  if (c == NULL) return EDDY_ERR_INVALID;
  if (out == NULL) return eddy__fail(c, EDDY_ERR_INVALID, "out is NULL");
  *out = NULL;
  uint8_t *body;
  size_t len;
  int rc = eddy__get_pb(c, "/v1/cluster", &body, &len);
  if (rc != EDDY_OK) return rc;
  rc = eddy__decode_cluster(body, len, out);
  if (rc != EDDY_OK) {
    char msg[96];
    snprintf(msg, sizeof msg, "undecodable ClusterMap (%zu bytes)", len);
    eddy__fail(c, rc, msg);
  }
  free(body);
  return rc;
}

void eddy_cluster_destroy(eddy_cluster_t *m) {
  if (m == NULL) return;
  eddy__v1__cluster_map__free_unpacked(m->msg, NULL);
  free(m);
}

/* ---- instances ---- */

static const Eddy__V1__Instance *inst(const eddy_cluster_t *m, size_t i) {
  return m && i < m->msg->n_instances ? m->msg->instances[i] : NULL;
}

static const Eddy__V1__InstanceView *inst_view(const eddy_cluster_t *m, size_t i, size_t v) {
  const Eddy__V1__Instance *in = inst(m, i);
  return in && v < in->n_views ? in->views[v] : NULL;
}

size_t eddy_cluster_instance_count(const eddy_cluster_t *m) { return m ? m->msg->n_instances : 0; }

const char *eddy_cluster_instance_id(const eddy_cluster_t *m, size_t i) {
  const Eddy__V1__Instance *in = inst(m, i);
  return in ? in->instance_id : NULL;
}

const char *eddy_cluster_instance_url(const eddy_cluster_t *m, size_t i) {
  const Eddy__V1__Instance *in = inst(m, i);
  return in ? in->advertised_url : NULL;
}

int eddy_cluster_instance_self(const eddy_cluster_t *m, size_t i) {
  const Eddy__V1__Instance *in = inst(m, i);
  return in ? in->self != 0 : 0;
}

size_t eddy_cluster_instance_view_count(const eddy_cluster_t *m, size_t i) {
  const Eddy__V1__Instance *in = inst(m, i);
  return in ? in->n_views : 0;
}

const char *eddy_cluster_instance_view(const eddy_cluster_t *m, size_t i, size_t v) {
  const Eddy__V1__InstanceView *iv = inst_view(m, i, v);
  return iv ? iv->view : NULL;
}

size_t eddy_cluster_instance_partition_count(const eddy_cluster_t *m, size_t i, size_t v) {
  const Eddy__V1__InstanceView *iv = inst_view(m, i, v);
  return iv ? iv->n_partitions : 0;
}

int eddy_cluster_instance_partition(const eddy_cluster_t *m, size_t i, size_t v, size_t p,
                                    eddy_cluster_partition_t *out) {
  const Eddy__V1__InstanceView *iv = inst_view(m, i, v);
  if (iv == NULL || p >= iv->n_partitions || out == NULL) return EDDY_ERR_INVALID;
  const Eddy__V1__ClusterPartition *cp = iv->partitions[p];
  out->partition = cp->partition;
  out->state = cp->state;
  out->offset = cp->offset;
  out->lag = cp->lag;
  out->restored = cp->restored;
  out->restore_total = cp->restore_total;
  out->lag_ms = cp->lag_ms;
  return EDDY_OK;
}

/* ---- views and owners ---- */

static const Eddy__V1__ClusterView *cview(const eddy_cluster_t *m, size_t v) {
  return m && v < m->msg->n_views ? m->msg->views[v] : NULL;
}

size_t eddy_cluster_view_count(const eddy_cluster_t *m) { return m ? m->msg->n_views : 0; }

const char *eddy_cluster_view_name(const eddy_cluster_t *m, size_t v) {
  const Eddy__V1__ClusterView *cv = cview(m, v);
  return cv ? cv->view : NULL;
}

int32_t eddy_cluster_view_partitions(const eddy_cluster_t *m, size_t v) {
  const Eddy__V1__ClusterView *cv = cview(m, v);
  return cv ? cv->partitions : 0;
}

size_t eddy_cluster_view_owner_count(const eddy_cluster_t *m, size_t v) {
  const Eddy__V1__ClusterView *cv = cview(m, v);
  return cv ? cv->n_owners : 0;
}

int eddy_cluster_view_owner(const eddy_cluster_t *m, size_t v, size_t o,
                            eddy_cluster_owner_t *out) {
  const Eddy__V1__ClusterView *cv = cview(m, v);
  if (cv == NULL || o >= cv->n_owners || out == NULL) return EDDY_ERR_INVALID;
  const Eddy__V1__PartitionOwner *po = cv->owners[o];
  out->partition = po->partition;
  out->owner = po->instance_id[0] ? po->instance_id : NULL;
  out->state = po->state[0] ? po->state : "unassigned";
  out->n_standbys = po->n_standbys;
  out->standbys = (const char *const *)po->standbys;
  return EDDY_OK;
}
