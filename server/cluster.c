/* The cluster map (cluster.h): snapshot, copies and the GET /v1/cluster
 * encodings. */
#include "server/cluster.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/eddy.pb-c.h"

const char *ed_cluster_state_name(ed_cluster_state_t s) {
  switch (s) {
  case ED_CLUSTER_RUNNING: return "running";
  case ED_CLUSTER_RESTORING: return "restoring";
  case ED_CLUSTER_UNASSIGNED: break;
  }
  return "unassigned";
}

void ed_cluster_init(ed_cluster_t *c) { memset(c, 0, sizeof *c); }

static void instance_fini(ed_cluster_instance_t *in) {
  for (size_t i = 0; i < in->nviews; i++) {
    free(in->views[i].view);
    free(in->views[i].partitions);
  }
  free(in->views);
  free(in->instance_id);
  free(in->advertised_url);
  memset(in, 0, sizeof *in);
}

void ed_cluster_fini(ed_cluster_t *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->ninstances; i++)
    instance_fini(&c->instances[i]);
  free(c->instances);
  for (size_t i = 0; i < c->nviews; i++)
    free(c->views[i].name);
  free(c->views);
  ed_cluster_init(c);
}

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

int ed_cluster_add_view(ed_cluster_t *c, const char *name, int32_t partitions) {
  ed_cluster_catalog_t *v = realloc(c->views, (c->nviews + 1) * sizeof *v);
  if (v == NULL) return ED_ENOMEM;
  c->views = v;
  char *n = dup_str(name);
  if (n == NULL) return ED_ENOMEM;
  c->views[c->nviews].name = n;
  c->views[c->nviews].partitions = partitions;
  c->nviews++;
  return ED_OK;
}

/* Deep-copies @p src into @p dst (zeroed). On ED_ENOMEM, @p dst holds what
 * was copied (instance_fini frees it). */
static int instance_copy(ed_cluster_instance_t *dst, const ed_cluster_instance_t *src) {
  dst->self = src->self;
  dst->instance_id = dup_str(src->instance_id);
  dst->advertised_url = dup_str(src->advertised_url);
  if (dst->instance_id == NULL || dst->advertised_url == NULL) return ED_ENOMEM;
  if (src->nviews == 0) return ED_OK;
  dst->views = calloc(src->nviews, sizeof *dst->views);
  if (dst->views == NULL) return ED_ENOMEM;
  for (size_t i = 0; i < src->nviews; i++) {
    const ed_cluster_view_t *sv = &src->views[i];
    ed_cluster_view_t *dv = &dst->views[i];
    dst->nviews++;
    dv->view = dup_str(sv->view);
    if (dv->view == NULL) return ED_ENOMEM;
    if (sv->npartitions == 0) continue;
    dv->partitions = malloc(sv->npartitions * sizeof *dv->partitions);
    if (dv->partitions == NULL) return ED_ENOMEM;
    memcpy(dv->partitions, sv->partitions, sv->npartitions * sizeof *dv->partitions);
    dv->npartitions = sv->npartitions;
  }
  return ED_OK;
}

int ed_cluster_add_instance(ed_cluster_t *c, const ed_cluster_instance_t *inst) {
  ed_cluster_instance_t *a = realloc(c->instances, (c->ninstances + 1) * sizeof *a);
  if (a == NULL) return ED_ENOMEM;
  c->instances = a;
  ed_cluster_instance_t copy;
  memset(&copy, 0, sizeof copy);
  if (instance_copy(&copy, inst) != ED_OK) {
    instance_fini(&copy);
    return ED_ENOMEM;
  }
  c->instances[c->ninstances++] = copy;
  return ED_OK;
}

int ed_cluster_snapshot(ed_engine_t *e, const ed_cluster_self_t *self, ed_cluster_t *out) {
  size_t nv = ed_engine_view_count(e);
  ed_cluster_instance_t me = {.instance_id = (char *)self->instance_id,
                              .advertised_url = (char *)self->advertised_url,
                              .self = 1};
  /* Built in borrowed form (names from the engine, arrays here), then
   * copied by ed_cluster_add_instance. */
  ed_cluster_view_t *views = calloc(nv ? nv : 1, sizeof *views);
  int rc = views ? ED_OK : ED_ENOMEM;
  for (size_t i = 0; rc == ED_OK && i < nv; i++) {
    ed_view_t *v = ed_engine_view_at(e, i);
    const char *name = ed_view_def(v)->name;
    int32_t np = ed_view_partition_count(v);
    rc = ed_cluster_add_view(out, name, np);
    if (rc != ED_OK) break;
    ed_cluster_partition_t *parts = calloc(np > 0 ? (size_t)np : 1, sizeof *parts);
    if (parts == NULL) {
      rc = ED_ENOMEM;
      break;
    }
    size_t n = 0;
    for (int32_t p = 0; p < np; p++) {
      ed_view_position_t pos;
      if (ed_view_position(v, p, &pos) != ED_OK || !pos.assigned) continue;
      int64_t off = pos.offset >= 0 ? pos.offset : 0;
      parts[n].partition = p;
      parts[n].state = ED_CLUSTER_RUNNING;
      parts[n].offset = pos.offset >= 0 ? pos.offset : -1;
      parts[n].lag =
          pos.high_watermark >= 0 && pos.high_watermark >= off ? pos.high_watermark - off : -1;
      n++;
    }
    if (n == 0) {
      free(parts);
      continue;
    }
    views[me.nviews].view = (char *)name;
    views[me.nviews].partitions = parts;
    views[me.nviews].npartitions = n;
    me.nviews++;
  }
  me.views = views;
  if (rc == ED_OK) rc = ed_cluster_add_instance(out, &me);
  for (size_t i = 0; i < me.nviews; i++)
    free(views[i].partitions);
  free(views);
  return rc;
}

const ed_cluster_instance_t *ed_cluster_owner(const ed_cluster_t *c, const char *view, int32_t p,
                                              ed_cluster_state_t *state) {
  for (size_t i = 0; i < c->ninstances; i++) {
    const ed_cluster_instance_t *in = &c->instances[i];
    for (size_t j = 0; j < in->nviews; j++) {
      if (strcmp(in->views[j].view, view) != 0) continue;
      for (size_t k = 0; k < in->views[j].npartitions; k++) {
        const ed_cluster_partition_t *cp = &in->views[j].partitions[k];
        if (cp->partition != p || cp->state == ED_CLUSTER_UNASSIGNED) continue;
        if (state) *state = cp->state;
        return in;
      }
    }
  }
  if (state) *state = ED_CLUSTER_UNASSIGNED;
  return NULL;
}

/* ---- JSON ---- */

static void json_str(ed_buf_t *b, const char *s) { ed_buf_append_json_string(b, s, strlen(s)); }

static void json_i64_or_null(ed_buf_t *b, int64_t v) {
  if (v >= 0)
    ed_buf_append_i64(b, v);
  else
    ed_buf_puts(b, "null");
}

static void encode_json(const ed_cluster_t *c, ed_buf_t *b) {
  ed_buf_puts(b, "{\"instances\":[");
  for (size_t i = 0; i < c->ninstances; i++) {
    const ed_cluster_instance_t *in = &c->instances[i];
    ed_buf_puts(b, i ? ",{\"instance_id\":" : "{\"instance_id\":");
    json_str(b, in->instance_id);
    ed_buf_puts(b, ",\"advertised_url\":");
    json_str(b, in->advertised_url);
    ed_buf_puts(b, in->self ? ",\"self\":true,\"views\":[" : ",\"self\":false,\"views\":[");
    for (size_t j = 0; j < in->nviews; j++) {
      const ed_cluster_view_t *v = &in->views[j];
      ed_buf_puts(b, j ? ",{\"view\":" : "{\"view\":");
      json_str(b, v->view);
      ed_buf_puts(b, ",\"partitions\":[");
      for (size_t k = 0; k < v->npartitions; k++) {
        const ed_cluster_partition_t *p = &v->partitions[k];
        ed_buf_printf(b, "%s{\"partition\":%" PRId32 ",\"state\":\"%s\",\"offset\":", k ? "," : "",
                      p->partition, ed_cluster_state_name(p->state));
        json_i64_or_null(b, p->offset);
        ed_buf_puts(b, ",\"lag\":");
        json_i64_or_null(b, p->lag);
        ed_buf_putc(b, '}');
      }
      ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "],\"views\":[");
  for (size_t i = 0; i < c->nviews; i++) {
    const ed_cluster_catalog_t *v = &c->views[i];
    ed_buf_puts(b, i ? ",{\"view\":" : "{\"view\":");
    json_str(b, v->name);
    ed_buf_printf(b, ",\"partitions\":%" PRId32 ",\"owners\":[", v->partitions);
    for (int32_t p = 0; p < v->partitions; p++) {
      ed_cluster_state_t st;
      const ed_cluster_instance_t *o = ed_cluster_owner(c, v->name, p, &st);
      ed_buf_printf(b, "%s{\"partition\":%" PRId32 ",\"instance_id\":", p ? "," : "", p);
      if (o)
        json_str(b, o->instance_id);
      else
        ed_buf_puts(b, "null");
      ed_buf_printf(b, ",\"state\":\"%s\"}", ed_cluster_state_name(st));
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "]}");
}

/* ---- protobuf ---- */

/* The message tree of one ClusterMap: every array allocated at once per
 * message type, freed by pb_fini. */
typedef struct {
  Eddy__V1__Instance *inst, **instp;
  Eddy__V1__InstanceView *iv, **ivp;
  Eddy__V1__ClusterPartition *cp, **cpp;
  Eddy__V1__ClusterView *cv, **cvp;
  Eddy__V1__PartitionOwner *po, **pop;
} pb_tree_t;

static void pb_fini(pb_tree_t *t) {
  free(t->inst);
  free(t->instp);
  free(t->iv);
  free(t->ivp);
  free(t->cp);
  free(t->cpp);
  free(t->cv);
  free(t->cvp);
  free(t->po);
  free(t->pop);
}

static int encode_pb(const ed_cluster_t *c, ed_buf_t *out) {
  size_t niv = 0, ncp = 0, npo = 0;
  for (size_t i = 0; i < c->ninstances; i++) {
    niv += c->instances[i].nviews;
    for (size_t j = 0; j < c->instances[i].nviews; j++)
      ncp += c->instances[i].views[j].npartitions;
  }
  for (size_t i = 0; i < c->nviews; i++)
    if (c->views[i].partitions > 0) npo += (size_t)c->views[i].partitions;
  pb_tree_t t;
  t.inst = calloc(c->ninstances + 1, sizeof *t.inst);
  t.instp = calloc(c->ninstances + 1, sizeof *t.instp);
  t.iv = calloc(niv + 1, sizeof *t.iv);
  t.ivp = calloc(niv + 1, sizeof *t.ivp);
  t.cp = calloc(ncp + 1, sizeof *t.cp);
  t.cpp = calloc(ncp + 1, sizeof *t.cpp);
  t.cv = calloc(c->nviews + 1, sizeof *t.cv);
  t.cvp = calloc(c->nviews + 1, sizeof *t.cvp);
  t.po = calloc(npo + 1, sizeof *t.po);
  t.pop = calloc(npo + 1, sizeof *t.pop);
  if (!t.inst || !t.instp || !t.iv || !t.ivp || !t.cp || !t.cpp || !t.cv || !t.cvp || !t.po ||
      !t.pop) {
    pb_fini(&t);
    out->failed = 1;
    return ED_ENOMEM;
  }
  size_t kiv = 0, kcp = 0, kpo = 0;
  for (size_t i = 0; i < c->ninstances; i++) {
    const ed_cluster_instance_t *in = &c->instances[i];
    Eddy__V1__Instance *m = &t.inst[i];
    eddy__v1__instance__init(m);
    m->instance_id = in->instance_id;
    m->advertised_url = in->advertised_url;
    m->self = in->self != 0;
    m->n_views = in->nviews;
    m->views = t.ivp + kiv;
    for (size_t j = 0; j < in->nviews; j++) {
      const ed_cluster_view_t *v = &in->views[j];
      Eddy__V1__InstanceView *mv = &t.iv[kiv];
      eddy__v1__instance_view__init(mv);
      t.ivp[kiv++] = mv;
      mv->view = v->view;
      mv->n_partitions = v->npartitions;
      mv->partitions = t.cpp + kcp;
      for (size_t k = 0; k < v->npartitions; k++) {
        Eddy__V1__ClusterPartition *mp = &t.cp[kcp];
        eddy__v1__cluster_partition__init(mp);
        t.cpp[kcp++] = mp;
        mp->partition = v->partitions[k].partition;
        mp->state = (char *)ed_cluster_state_name(v->partitions[k].state);
        mp->offset = v->partitions[k].offset;
        mp->lag = v->partitions[k].lag;
      }
    }
    t.instp[i] = m;
  }
  for (size_t i = 0; i < c->nviews; i++) {
    const ed_cluster_catalog_t *v = &c->views[i];
    Eddy__V1__ClusterView *m = &t.cv[i];
    eddy__v1__cluster_view__init(m);
    t.cvp[i] = m;
    m->view = v->name;
    m->partitions = v->partitions;
    m->owners = t.pop + kpo;
    for (int32_t p = 0; p < v->partitions; p++) {
      ed_cluster_state_t st;
      const ed_cluster_instance_t *o = ed_cluster_owner(c, v->name, p, &st);
      Eddy__V1__PartitionOwner *mo = &t.po[kpo];
      eddy__v1__partition_owner__init(mo);
      t.pop[kpo++] = mo;
      mo->partition = p;
      mo->instance_id = o ? o->instance_id : (char *)"";
      mo->state = (char *)ed_cluster_state_name(st);
      m->n_owners++;
    }
  }
  Eddy__V1__ClusterMap map = EDDY__V1__CLUSTER_MAP__INIT;
  map.n_instances = c->ninstances;
  map.instances = t.instp;
  map.n_views = c->nviews;
  map.views = t.cvp;
  size_t n = protobuf_c_message_get_packed_size(&map.base);
  int rc = ED_OK;
  if (ed_buf_reserve(out, n + 1) != 0) {
    out->failed = 1;
    rc = ED_ENOMEM;
  } else {
    out->len += protobuf_c_message_pack(&map.base, (uint8_t *)out->data + out->len);
    out->data[out->len] = '\0';
  }
  pb_fini(&t);
  return rc;
}

int ed_cluster_encode(const ed_cluster_t *c, ed_query_enc_t enc, ed_buf_t *out) {
  if (enc == ED_QUERY_PROTOBUF) return encode_pb(c, out);
  encode_json(c, out);
  return ed_buf_failed(out) ? ED_ENOMEM : ED_OK;
}
