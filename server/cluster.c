/* The cluster map (cluster.h): snapshot, copies and the GET /v1/cluster
 * encodings. */
#include "server/cluster.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/timeutil.h"
#include "proto/eddy.pb-c.h"

const char *ed_cluster_state_name(ed_cluster_state_t s) {
  switch (s) {
  case ED_CLUSTER_RUNNING: return "running";
  case ED_CLUSTER_RESTORING: return "restoring";
  case ED_CLUSTER_STANDBY: return "standby";
  case ED_CLUSTER_UNASSIGNED: break;
  }
  return "unassigned";
}

void ed_cluster_init(ed_cluster_t *c) { memset(c, 0, sizeof *c); }

static void instance_fini(ed_cluster_instance_t *in) {
  for (size_t i = 0; i < in->nviews; i++) {
    free(in->views[i].view);
    free(in->views[i].member_id);
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
    dv->member_id = dup_str(sv->member_id);
    if (dv->view == NULL || dv->member_id == NULL) return ED_ENOMEM;
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
    int64_t now = ed_now_ms();
    for (int32_t p = 0; p < np; p++) {
      ed_view_position_t pos;
      ed_view_replica_t rep;
      if (ed_view_position(v, p, &pos) != ED_OK || ed_view_replica(v, p, &rep) != ED_OK ||
          rep.role == ED_REPLICA_NONE)
        continue;
      int64_t off = pos.offset >= 0 ? pos.offset : 0;
      ed_cluster_partition_t *cp = &parts[n++];
      cp->partition = p;
      cp->state = rep.role == ED_REPLICA_ACTIVE      ? ED_CLUSTER_RUNNING
                  : rep.role == ED_REPLICA_RESTORING ? ED_CLUSTER_RESTORING
                                                     : ED_CLUSTER_STANDBY;
      cp->offset = pos.offset >= 0 ? pos.offset : -1;
      cp->lag =
          pos.high_watermark >= 0 && pos.high_watermark >= off ? pos.high_watermark - off : -1;
      cp->restored = rep.restored;
      cp->restore_total = rep.restore_total;
      cp->lag_ms = -1;
      if (rep.role == ED_REPLICA_STANDBY) {
        cp->offset = cp->lag = -1; /* the input position is the owner's to report */
        cp->restored = rep.changelog_end >= 0 && rep.changelog_offset >= 0
                           ? rep.changelog_end - rep.changelog_offset
                           : -1;
        cp->restore_total = -1;
        cp->lag_ms = rep.caught_up_ms < 0                          ? -1
                     : rep.changelog_offset >= rep.changelog_end ? 0
                                                                 : now - rep.caught_up_ms;
      }
    }
    char member[256];
    ed_view_member_id(v, member, sizeof member);
    if (n == 0 && member[0] == '\0') {
      free(parts);
      continue;
    }
    views[me.nviews].member_id = strdup(member);
    views[me.nviews].view = (char *)name;
    views[me.nviews].partitions = parts;
    views[me.nviews].npartitions = n;
    me.nviews++;
  }
  me.views = views;
  if (rc == ED_OK) rc = ed_cluster_add_instance(out, &me);
  for (size_t i = 0; i < me.nviews; i++) {
    free(views[i].partitions);
    free(views[i].member_id);
  }
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
        if (cp->partition != p || cp->state == ED_CLUSTER_UNASSIGNED ||
            cp->state == ED_CLUSTER_STANDBY)
          continue;
        if (state) *state = cp->state;
        return in;
      }
    }
  }
  if (state) *state = ED_CLUSTER_UNASSIGNED;
  return NULL;
}

size_t ed_cluster_standbys(const ed_cluster_t *c, const char *view, int32_t p,
                           const ed_cluster_instance_t **out, const ed_cluster_partition_t **parts,
                           size_t max) {
  size_t n = 0;
  for (size_t i = 0; i < c->ninstances; i++) {
    const ed_cluster_instance_t *in = &c->instances[i];
    for (size_t j = 0; j < in->nviews; j++) {
      if (strcmp(in->views[j].view, view) != 0) continue;
      for (size_t k = 0; k < in->views[j].npartitions; k++) {
        const ed_cluster_partition_t *cp = &in->views[j].partitions[k];
        if (cp->partition != p || cp->state != ED_CLUSTER_STANDBY) continue;
        if (n < max) {
          if (out) out[n] = in;
          if (parts) parts[n] = cp;
        }
        n++;
      }
    }
  }
  return n;
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
        if (p->state == ED_CLUSTER_RESTORING) {
          ed_buf_puts(b, ",\"restored\":");
          json_i64_or_null(b, p->restored);
          ed_buf_puts(b, ",\"restore_total\":");
          json_i64_or_null(b, p->restore_total);
          ed_buf_puts(b, ",\"progress\":");
          if (p->restored >= 0 && p->restore_total > 0)
            ed_buf_printf(b, "%.1f", 100.0 * (double)p->restored / (double)p->restore_total);
          else
            ed_buf_puts(b, "null");
        } else if (p->state == ED_CLUSTER_STANDBY) {
          ed_buf_puts(b, ",\"lag_records\":");
          json_i64_or_null(b, p->restored);
          ed_buf_puts(b, ",\"lag_ms\":");
          json_i64_or_null(b, p->lag_ms);
        }
        ed_buf_putc(b, '}');
      }
      ed_buf_puts(b, "],\"member_id\":");
      json_str(b, v->member_id ? v->member_id : "");
      ed_buf_putc(b, '}');
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
      ed_buf_printf(b, ",\"state\":\"%s\",\"standbys\":[", ed_cluster_state_name(st));
      const ed_cluster_instance_t *sb[16];
      size_t ns = ed_cluster_standbys(c, v->name, p, sb, NULL, 16);
      for (size_t k = 0; k < ns && k < 16; k++) {
        if (k) ed_buf_putc(b, ',');
        json_str(b, sb[k]->instance_id);
      }
      ed_buf_puts(b, "]}");
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
  size_t npo;
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
  for (size_t i = 0; t->po && i < t->npo; i++) free(t->po[i].standbys);
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
  t.npo = npo;
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
      mv->member_id = v->member_id ? v->member_id : (char *)"";
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
        mp->restored = v->partitions[k].restored;
        mp->restore_total = v->partitions[k].restore_total;
        mp->lag_ms = v->partitions[k].lag_ms;
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
      mo->n_standbys = ed_cluster_standbys(c, v->name, p, NULL, NULL, 0);
      if (mo->n_standbys) {
        const ed_cluster_instance_t **sb = calloc(mo->n_standbys, sizeof *sb);
        mo->standbys = calloc(mo->n_standbys, sizeof *mo->standbys);
        if (sb == NULL || mo->standbys == NULL) {
          free(sb);
          mo->n_standbys = 0;
        } else {
          ed_cluster_standbys(c, v->name, p, sb, NULL, mo->n_standbys);
          for (size_t k = 0; k < mo->n_standbys; k++) mo->standbys[k] = sb[k]->instance_id;
          free(sb);
        }
      }
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
