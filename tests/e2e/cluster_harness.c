/* The cluster harness (cluster_harness.h). */
#include "tests/e2e/cluster_harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int eh_instance_init(eh_instance_t *in, const char *id, const char *dir,
                     const eh_instance_t *others, int nothers) {
  memset(in, 0, sizeof *in);
  if ((size_t)snprintf(in->id, sizeof in->id, "%s", id) >= sizeof in->id ||
      (size_t)snprintf(in->dir, sizeof in->dir, "%s", dir) >= sizeof in->dir ||
      (size_t)snprintf(in->config, sizeof in->config, "%s/eddy.yaml", dir) >= sizeof in->config)
    return -1;
  if (mkdir(in->dir, 0755) != 0 && errno != EEXIST) return -1;
  for (int tries = 0; tries < 8; tries++) {
    in->port = eh_free_port();
    int taken = in->port == 0;
    for (int j = 0; j < nothers; j++)
      taken |= others[j].port == in->port;
    if (!taken) break;
  }
  if (in->port == 0) return -1;
  snprintf(in->url, sizeof in->url, "http://127.0.0.1:%d", in->port);
  return 0;
}

int eh_instances_init(eh_instance_t *in, int n, const char *root, const char *const *ids) {
  for (int k = 0; k < n; k++) {
    char dir[320];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, ids[k]) >= sizeof dir) return -1;
    if (eh_instance_init(&in[k], ids[k], dir, in, k) != 0) return -1;
  }
  return 0;
}

int eh_instance_write_config(const eh_instance_t *in, const char *path, const char *app,
                             const char *bootstrap, const eh_instance_opts_t *o,
                             const char *views) {
  static const eh_instance_opts_t none = {0};
  if (o == NULL) o = &none;
  char standbys[64] = "", session[64] = "", heartbeat[64] = "";
  if (o->standbys > 0)
    snprintf(standbys, sizeof standbys, "num_standby_replicas: %d\n", o->standbys);
  if (o->session_timeout_ms >= 0)
    snprintf(session, sizeof session, "  session.timeout.ms: %d\n",
             o->session_timeout_ms > 0 ? o->session_timeout_ms : 6000);
  if (o->heartbeat_ms > 0)
    snprintf(heartbeat, sizeof heartbeat, "  heartbeat.interval.ms: %d\n", o->heartbeat_ms);
  size_t cap = 2048 + strlen(views);
  char *cfg = malloc(cap);
  if (cfg == NULL) return -1;
  snprintf(cfg, cap,
           "app: %s\n"
           "instance_id: \"%s\"\n"
           "%s"
           "kafka:\n"
           "  bootstrap.servers: \"%s\"\n"
           "  fetch.wait.max.ms: 10\n"
           "%s"
           "%s"
           "http: { listen: \"127.0.0.1:%d\", advertised_url: \"%s\"%s%s }\n"
           "data_dir: %s/data\n"
           "commit_interval_ms: %d\n"
           "views:\n"
           "%s",
           app, in->id, standbys, bootstrap, session, heartbeat, in->port, in->url,
           o->http_extra ? ", " : "", o->http_extra ? o->http_extra : "", in->dir,
           o->commit_interval_ms > 0 ? o->commit_interval_ms : 50, views);
  int rc = eh_write_file(path ? path : in->config, cfg);
  free(cfg);
  return rc;
}

void eh_instance_start(eh_instance_t *in, eh_http_t *h) {
  eh_start_serve(&in->proc, in->dir, in->config, h, in->port);
  in->live = 1;
}

int eh_instance_spawn(eh_instance_t *in, const char *eddy) {
  char *argv[] = {(char *)eddy, "serve", in->config, NULL};
  if (eh_proc_spawn(&in->proc, in->dir, "serve", argv) != 0) return -1;
  in->live = 1;
  return 0;
}

int eh_instance_stop(eh_instance_t *in, int sig, int64_t timeout_ms) {
  in->live = 0;
  return eh_proc_kill(&in->proc, sig, timeout_ms);
}

void eh_instances_teardown(eh_instance_t *in, int n, int passed, size_t dump_max) {
  for (int k = 0; k < n; k++) {
    if (!passed && in[k].proc.pid) {
      char label[96];
      snprintf(label, sizeof label, "eddy serve %s", in[k].id);
      eh_proc_dump_err(&in[k].proc, label, dump_max);
    }
    eh_proc_kill(&in[k].proc, SIGKILL, 0);
    in[k].live = 0;
  }
}

void eh_kafka_teardown(eh_proc_t *kafka, rd_kafka_t *producer, int passed) {
  if (!passed && kafka->pid) eh_proc_dump_err(kafka, "eddy dev-kafka", 2000);
  if (producer) rd_kafka_destroy(producer);
  eh_proc_kill(kafka, SIGTERM, 5000);
}

/* ---- the cluster map ---- */

static int index_of(const eh_instance_t *all, int nall, const char *id, size_t len) {
  for (int i = 0; i < nall; i++)
    if (strlen(all[i].id) == len && memcmp(all[i].id, id, len) == 0) return i;
  return -1;
}

const char *eh_cluster_read(eh_http_t *h, const eh_instance_t *in, const eh_instance_t *all,
                            int nall, int npart, int *owners, unsigned *standbys) {
  static char views[65536], list[65536], sb[1024], s[256];
  char url[256];
  snprintf(url, sizeof url, "%s/v1/cluster", in->url);
  const char *body;
  size_t len;
  if (eh_http_get(h, url, 3000, &body, &len) != 200) return "cluster: status not 200";
  if (eh_json_get_text(body, len, "views", views, sizeof views) != 0) return "no catalog";
  size_t vpos = 0, vlen;
  const char *v;
  if (eh_json_array_next(views, strlen(views), &vpos, &v, &vlen) != 1) return "empty catalog";
  if (eh_json_get_text(v, vlen, "owners", list, sizeof list) != 0) return "no owners";
  size_t pos = 0, el;
  const char *e;
  int np = 0;
  while (eh_json_array_next(list, strlen(list), &pos, &e, &el) == 1) {
    if (np >= npart) return "too many partitions";
    if (eh_json_get_text(e, el, "state", s, sizeof s) != 0 || strcmp(s, "running") != 0)
      return "a partition is not running";
    if (eh_json_get_text(e, el, "instance_id", s, sizeof s) != 0) return "no owner";
    owners[np] = index_of(all, nall, s, strlen(s));
    if (owners[np] < 0) return "unknown owner";
    if (standbys) {
      standbys[np] = 0;
      if (eh_json_get_text(e, el, "standbys", sb, sizeof sb) == 0) {
        size_t spos = 0, sl;
        const char *se;
        while (eh_json_array_next(sb, strlen(sb), &spos, &se, &sl) == 1) {
          int i = sl >= 2 ? index_of(all, nall, se + 1, sl - 2) : -1; /* "id" */
          if (i >= 0) standbys[np] |= 1u << i;
        }
      }
    }
    np++;
  }
  return np == npart ? NULL : "not every partition listed";
}

enum { EH_MAX_PART = 64 };

/* One pass: NULL when every live map agrees and @p w holds. */
static const char *cluster_pass(eh_http_t *h, const eh_instance_t *all, int nall,
                                const eh_cluster_want_t *w, int *ref, unsigned *sb) {
  int first = 1, now[EH_MAX_PART];
  for (int k = 0; k < nall; k++) {
    if (!all[k].live) continue;
    const char *why = eh_cluster_read(h, &all[k], all, nall, w->npart, first ? ref : now, sb);
    if (why != NULL) return why;
    if (!first && memcmp(ref, now, (size_t)w->npart * sizeof *ref) != 0)
      return "owners differ between instances";
    first = 0;
    for (int p = 0; p < w->npart; p++) {
      if (!all[ref[p]].live) return "a partition is owned by a dead instance";
      if (w->standbys && (sb[p] & ~(1u << ref[p])) == 0) return "a partition has no standby";
    }
  }
  if (first) return "no live instance";
  unsigned has = 0;
  for (int p = 0; p < w->npart; p++)
    has |= 1u << ref[p];
  if ((has & w->must_own) != w->must_own) return "an instance owns no partition";
  return w->also ? w->also(w->arg) : NULL;
}

int eh_cluster_wait(eh_http_t *h, eh_instance_t *all, int nall, const eh_cluster_want_t *w,
                    int *owners, const char **why) {
  static char died[128];
  int64_t t0 = eh_now_ms(), deadline = t0 + w->timeout_ms;
  int ref[EH_MAX_PART];
  unsigned sb[EH_MAX_PART];
  if (w->npart > EH_MAX_PART) {
    *why = "too many partitions for the harness";
    return -1;
  }
  for (;;) {
    for (int k = 0; k < nall; k++) {
      if (all[k].live && !eh_proc_alive(&all[k].proc)) {
        snprintf(died, sizeof died, "eddy serve %s died", all[k].id);
        *why = died;
        return -1;
      }
    }
    *why = cluster_pass(h, all, nall, w, ref, sb);
    if (*why == NULL) break;
    if (eh_now_ms() > deadline) return -1;
    eh_sleep_ms(w->poll_ms > 0 ? w->poll_ms : 200);
  }
  memcpy(owners, ref, (size_t)w->npart * sizeof *owners);
  if (w->label) {
    fprintf(stderr, "  %s in %lld ms; owners:", w->label, (long long)(eh_now_ms() - t0));
    for (int p = 0; p < w->npart; p++)
      fprintf(stderr, " %s", all[owners[p]].id);
    if (w->standbys) {
      fprintf(stderr, "; standbys:");
      for (int p = 0; p < w->npart; p++) {
        fprintf(stderr, " ");
        for (int i = 0; i < nall; i++)
          if (sb[p] & (1u << i)) fprintf(stderr, "%s", all[i].id);
      }
    }
    fprintf(stderr, "\n");
  }
  return 0;
}

/* ---- answers ---- */

long eh_forwarded_total(eh_http_t *h, const eh_instance_t *in) {
  char url[256];
  snprintf(url, sizeof url, "%s/metrics", in->url);
  const char *body;
  size_t len;
  if (eh_http_get(h, url, 3000, &body, &len) != 200) return -1;
  long sum = 0;
  const char *name = "eddy_forwarded_requests_total{";
  for (const char *p = strstr(body, name); p != NULL; p = strstr(p + 1, name)) {
    const char *sp = strchr(p, ' ');
    if (sp) sum += strtol(sp + 1, NULL, 10);
  }
  return sum;
}

int64_t eh_key_count(eh_http_t *h, int port, const char *view, const char *key, int64_t *offset) {
  char url[1024];
  eh_key_url(h, port, view, key, NULL, url, sizeof url);
  const char *body;
  size_t len;
  if (eh_http_get(h, url, 5000, &body, &len) != 200) return -1;
  eh_key_answer_t a;
  if (eh_parse_key_answer(body, len, &a) != 0) return -1;
  int is_int = 0;
  int64_t n = -1;
  double d;
  if (eh_json_get_number(a.value, strlen(a.value), "count", &is_int, &n, &d) != 0 || !is_int)
    return -1;
  if (offset) *offset = a.offset;
  return n;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  eh_answer_t *a = arg;
  size_t m = size * n;
  if (a->len + m + 1 > a->cap) {
    size_t cap = (a->len + m + 1) * 2;
    char *b = realloc(a->body, cap);
    if (b == NULL) return 0;
    a->body = b;
    a->cap = cap;
  }
  memcpy(a->body + a->len, p, m);
  a->len += m;
  a->body[a->len] = '\0';
  return m;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  eh_answer_t *a = arg;
  size_t m = size * n;
  static const char name[] = "eddy-served-by:";
  if (m > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
    const char *v = p + sizeof name - 1;
    while (*v == ' ')
      v++;
    size_t vl = (size_t)(p + m - v);
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
      vl--;
    snprintf(a->served_by, sizeof a->served_by, "%.*s", (int)vl, v);
  }
  return m;
}

long eh_request(eh_answer_t *a, const char *url, const char *post, const char *hdr,
                int64_t timeout_ms) {
  a->len = 0;
  on_data("", 0, 0, a);
  a->served_by[0] = '\0';
  if (a->curl == NULL && (a->curl = curl_easy_init()) == NULL) return 0;
  CURL *c = a->curl;
  curl_easy_reset(c); /* keeps the connections */
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *hs = NULL;
  if (hdr) hs = curl_slist_append(hs, hdr);
  if (post) {
    hs = curl_slist_append(hs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(hs);
  if (a->body == NULL) on_data("", 0, 0, a);
  return status;
}

void eh_answer_fini(eh_answer_t *a) {
  if (a->curl) curl_easy_cleanup(a->curl);
  free(a->body);
  memset(a, 0, sizeof *a);
}
