/* `eddy reset --config F --view V`: drops a view's local state and rewinds
 * its consumer group, so the next `eddy serve` rebuilds the view from the
 * earliest offsets of its source topic (reprocessing, as after a fix in a
 * view's definition, without renaming it).
 *
 * Every server running the view must be stopped first: the state of one
 * view is a directory per partition (data_dir/<view>/<partition>/, an LMDB
 * environment), and a running server would keep writing to the one being
 * removed. A group with active members is refused: where the broker lists
 * groups (Apache Kafka), before anything else; in any case when joining the
 * group does not hand this command every partition of the topic.
 *
 * The offsets are committed as a member of the group (subscribe, then
 * commit in the assignment), not with a bare assign(): Apache Kafka accepts
 * a member-less commit to an empty group, but librdkafka's mock cluster
 * (eddy dev-kafka) answers UNKNOWN_MEMBER_ID once the group exists.
 *
 * Order: everything that can fail without changing anything (config, view,
 * broker, topic metadata, watermarks, joining the group) comes first; then
 * the directory is removed, then the group offsets are committed. A stateful task without
 * local state reads its input from the beginning whatever the group says,
 * so the removal alone already makes the view rebuild; the rewound group
 * keeps lag monitoring truthful.
 *
 * Views that group by a field (key:) are aggregated from
 * <app>.<view>.repartition: after the rewind, the first step produces every
 * record there again, so the new (empty) state is seeded to start at the
 * repartition topic's current end. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "common/err.h"
#include "common/log.h"
#include "server/config.h"
#include "server/main_int.h"
#include "store/store.h"
#include "streams/changelog.h"

#define RESET_TIMEOUT_MS 10000

static void usage(FILE *f) {
  fprintf(f, "usage: eddy reset --config CONFIG.yaml --view VIEW\n"
             "Drops the view's local state (data_dir/VIEW) and rewinds its consumer group\n"
             "(<app>.VIEW) to the earliest offsets of its source topic, so the next\n"
             "'eddy serve' rebuilds the view from the beginning of the topic.\n"
             "Stop every server running the view first.\n"
             "Exit status: 0 done, 1 failed (nothing changed unless it says so),\n"
             "2 usage error or unknown view.\n");
}

/* ---- local state ---- */

/* Removes @p path and everything below it without following symlinks.
 * Counts removed files in *nfiles. Returns ED_OK, ED_ENOTFOUND (@p path does
 * not exist) or ED_EIO with the failing path in @p err. */
static int rm_tree(const char *path, long *nfiles, char *err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return ED_ENOTFOUND;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return ED_EIO;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) != 0) {
      snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
      return ED_EIO;
    }
    (*nfiles)++;
    return ED_OK;
  }
  DIR *d = opendir(path);
  if (d == NULL) {
    snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return ED_EIO;
  }
  int rc = ED_OK;
  struct dirent *de;
  while (rc == ED_OK && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char child[PATH_MAX];
    if ((size_t)snprintf(child, sizeof child, "%s/%s", path, de->d_name) >= sizeof child) {
      snprintf(err, errlen, "path too long under %s", path);
      rc = ED_EIO;
      break;
    }
    rc = rm_tree(child, nfiles, err, errlen);
    if (rc == ED_ENOTFOUND) rc = ED_OK; /* vanished meanwhile */
  }
  closedir(d);
  if (rc == ED_OK && rmdir(path) != 0) {
    snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
    rc = ED_EIO;
  }
  return rc;
}

/* ---- Kafka ---- */

static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
  (void)rk;
  (void)level;
  /* Connection noise would only alarm; real failures surface as errors of
   * the calls below. Visible with EDDY_LOG=debug. */
  ed_log_debug("librdkafka %s: %s", fac, buf);
}

/* What the rebalance callback saw. */
typedef struct {
  rd_kafka_topic_partition_list_t *assigned; /* a copy of the last assignment */
  rd_kafka_resp_err_t error;                 /* a rebalance error, if any */
} join_t;

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
  join_t *j = opaque;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (j->assigned) rd_kafka_topic_partition_list_destroy(j->assigned);
    j->assigned = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_assign(rk, parts);
    return;
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) j->error = err;
  if (j->assigned) rd_kafka_topic_partition_list_destroy(j->assigned);
  j->assigned = NULL;
  rd_kafka_assign(rk, NULL);
}

/* A consumer in group @p group with the config's Kafka properties. Caller
 * closes it with rd_kafka_consumer_close() and rd_kafka_destroy(). NULL on
 * failure, with the reason in @p err. */
static rd_kafka_t *consumer_create(const ed_config_t *cfg, const char *group, join_t *j, char *err,
                                   size_t errlen) {
  char kerr[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  /* The engine's assignors (streams/runner.c): a group's members must share
   * the first one, or joining a running server's group fails. */
  if (rd_kafka_conf_set(c, "partition.assignment.strategy", "range,roundrobin", kerr,
                        sizeof kerr) != RD_KAFKA_CONF_OK) {
    snprintf(err, errlen, "partition.assignment.strategy: %s", kerr);
    rd_kafka_conf_destroy(c);
    return NULL;
  }
  for (size_t i = 0; i < cfg->nkafka; i++) {
    if (rd_kafka_conf_set(c, cfg->kafka[i].name, cfg->kafka[i].value, kerr, sizeof kerr) !=
        RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "kafka.%s: %s", cfg->kafka[i].name, kerr);
      rd_kafka_conf_destroy(c);
      return NULL;
    }
  }
  const char *fixed[][2] = {{"bootstrap.servers", cfg->bootstrap_servers},
                            {"group.id", group},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "false"}};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
    if (rd_kafka_conf_set(c, fixed[i][0], fixed[i][1], kerr, sizeof kerr) != RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "%s: %s", fixed[i][0], kerr);
      rd_kafka_conf_destroy(c);
      return NULL;
    }
  }
  rd_kafka_conf_set_log_cb(c, on_kafka_log);
  rd_kafka_conf_set_rebalance_cb(c, on_rebalance);
  rd_kafka_conf_set_opaque(c, j);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, kerr, sizeof kerr);
  if (rk == NULL) {
    rd_kafka_conf_destroy(c);
    snprintf(err, errlen, "cannot create a Kafka consumer: %s", kerr);
  }
  return rk;
}

/* Refuses a group with active members (a server still running the view)
 * before anything disturbs it. Brokers that cannot list groups (librdkafka's
 * mock cluster) pass: join_group() checks again. */
static int check_group_idle(rd_kafka_t *rk, const char *group, char *err, size_t errlen) {
  const struct rd_kafka_group_list *gl = NULL;
  rd_kafka_resp_err_t kerr = rd_kafka_list_groups(rk, group, &gl, RESET_TIMEOUT_MS);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    ed_log_debug("reset: cannot list group %s: %s", group, rd_kafka_err2str(kerr));
    return ED_OK;
  }
  int rc = ED_OK;
  for (int i = 0; i < gl->group_cnt; i++) {
    const struct rd_kafka_group_info *g = &gl->groups[i];
    if (strcmp(g->group, group) != 0) continue;
    if (g->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ed_log_debug("reset: group %s: %s", group, rd_kafka_err2str(g->err));
      continue;
    }
    if (g->member_cnt > 0) {
      snprintf(err, errlen,
               "consumer group %s has %d active member(s) (state %s): stop every 'eddy serve' "
               "running this view first (a killed server leaves the group after "
               "session.timeout.ms)",
               group, g->member_cnt, g->state ? g->state : "?");
      rc = ED_ESTATE;
    }
  }
  rd_kafka_group_list_destroy(gl);
  return rc;
}

/* The partition count of @p topic. Retries while the broker is still
 * electing leaders or the connection comes up. */
static int topic_partitions(rd_kafka_t *rk, const char *bootstrap, const char *topic, int32_t *n,
                            char *err, size_t errlen) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  if (rkt == NULL) {
    snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
    return ED_EKAFKA;
  }
  int rc = ED_EKAFKA;
  for (int attempt = 0; attempt < 5; attempt++) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 0, rkt, &md, RESET_TIMEOUT_MS / 2);
    if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
      kerr = md->topics[0].err;
      if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
        *n = md->topics[0].partition_cnt;
        rc = ED_OK;
      }
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (rc == ED_OK) break;
    snprintf(err, errlen, "cannot read the metadata of topic %s from %s: %s", topic, bootstrap,
             rd_kafka_err2str(kerr));
    if (kerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART && attempt >= 2) {
      rc = ED_ENOTFOUND;
      break;
    }
    if (kerr == RD_KAFKA_RESP_ERR__TRANSPORT || kerr == RD_KAFKA_RESP_ERR__TIMED_OUT)
      break; /* the broker is unreachable: waiting longer will not help */
    usleep(200 * 1000);
  }
  rd_kafka_topic_destroy(rkt);
  return rc;
}

/* The earliest offset of every partition of @p topic, in a new list (caller
 * destroys it). */
static int low_watermarks(rd_kafka_t *rk, const char *topic, int32_t n,
                          rd_kafka_topic_partition_list_t **out, char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  for (int32_t p = 0; p < n; p++) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t kerr =
        rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, RESET_TIMEOUT_MS);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, errlen, "cannot read the offsets of %s[%d]: %s", topic, (int)p,
               rd_kafka_err2str(kerr));
      rd_kafka_topic_partition_list_destroy(l);
      return ED_EKAFKA;
    }
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
  }
  *out = l;
  return ED_OK;
}

/* The group's committed offsets for @p l's partitions, for the report:
 * -1 where none (or unknown). Writes into @p before (n entries). */
static void committed_offsets(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *l,
                              int64_t *before) {
  rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(l);
  for (int i = 0; i < c->cnt; i++)
    c->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
  int ok = rd_kafka_committed(rk, c, RESET_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < c->cnt; i++)
    before[i] = ok && c->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && c->elems[i].offset >= 0
                    ? c->elems[i].offset
                    : -1;
  rd_kafka_topic_partition_list_destroy(c);
}

/* Joins the group (subscribing to @p topic) and waits for the assignment.
 * Returns ED_OK when this consumer got all @p n partitions, ED_ESTATE when
 * another member holds some (a server still running the view), ED_EKAFKA
 * otherwise. */
static int join_group(rd_kafka_t *rk, join_t *j, const char *group, const char *topic, int32_t n,
                      char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t kerr = rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "cannot join consumer group %s: %s", group, rd_kafka_err2str(kerr));
    return ED_EKAFKA;
  }
  /* Joining takes a few seconds (the group coordinator waits for others). */
  for (int waited = 0; j->assigned == NULL && j->error == 0 && waited < 6 * RESET_TIMEOUT_MS;
       waited += 100) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m) rd_kafka_message_destroy(m); /* no fetching: the assignment starts at the end */
  }
  if (j->error) {
    snprintf(err, errlen, "cannot join consumer group %s: %s (is a server running the view?)",
             group, rd_kafka_err2str(j->error));
    return ED_ESTATE;
  }
  if (j->assigned == NULL) {
    snprintf(err, errlen, "cannot join consumer group %s: no assignment within %d s", group,
             6 * RESET_TIMEOUT_MS / 1000);
    return ED_EKAFKA;
  }
  if (j->assigned->cnt != n) {
    snprintf(err, errlen,
             "consumer group %s has other active members (this command got %d of %d "
             "partitions): stop every 'eddy serve' running this view first (a killed server "
             "leaves the group after session.timeout.ms)",
             group, j->assigned->cnt, (int)n);
    return ED_ESTATE;
  }
  return ED_OK;
}

/* Commits @p l, synchronously, as the group member that holds them. */
static int commit_offsets(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l, char *err,
                          size_t errlen) {
  rd_kafka_resp_err_t kerr = rd_kafka_commit(rk, l, 0);
  for (int i = 0; kerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++)
    kerr = l->elems[i].err;
  if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "commit: %s", rd_kafka_err2str(kerr));
    return ED_EKAFKA;
  }
  return ED_OK;
}

/* ---- the command ---- */

typedef struct {
  const ed_config_t *cfg;
  const ed_view_def_t *view;
  char group[512];
  char dir[PATH_MAX];
} reset_t;

static void list_views(FILE *f, const ed_config_t *cfg) {
  fprintf(f, "views in %s:", cfg->path);
  for (size_t i = 0; i < cfg->nviews; i++)
    fprintf(f, "%s %s", i ? "," : "", cfg->views[i].name);
  fprintf(f, "\n");
}

static int drop_state(reset_t *r, char *err, size_t errlen) {
  long nfiles = 0;
  int rc = rm_tree(r->dir, &nfiles, err, errlen);
  if (rc == ED_ENOTFOUND) {
    printf("no local state at %s\n", r->dir);
    return ED_OK;
  }
  if (rc != ED_OK) return rc;
  printf("removed %s (%ld file(s))\n", r->dir, nfiles);
  return ED_OK;
}

/* A repartitioned view is aggregated from <app>.<view>.repartition, which
 * still holds what the old state was built from. The rewound first step
 * produces everything again after its current end, so the new state must
 * start there: seed each partition's store with that position (and the
 * view's fingerprint), empty otherwise. */
static int seed_repartitioned(reset_t *r, rd_kafka_t *rk, char *err, size_t errlen) {
  char topic[600];
  snprintf(topic, sizeof topic, "%s.%s.repartition", r->cfg->app, r->view->name);
  int32_t n = 0;
  int rc = topic_partitions(rk, r->cfg->bootstrap_servers, topic, &n, err, errlen);
  if (rc == ED_ENOTFOUND) return ED_OK; /* never ran: nothing to skip */
  if (rc != ED_OK) return rc;
  char name[700];
  snprintf(name, sizeof name, "offset/%s", topic);
  for (int32_t p = 0; p < n; p++) {
    int64_t low, high;
    rd_kafka_resp_err_t kerr = rd_kafka_query_watermark_offsets(rk, topic, p, &low, &high, 10000);
    if (kerr) {
      snprintf(err, errlen, "%s[%d]: cannot read its end offset: %s", topic, (int)p,
               rd_kafka_err2str(kerr));
      return ED_EKAFKA;
    }
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/%d", r->dir, (int)p);
    ed_store_t *s;
    rc = ed_store_open(dir, NULL, &s, err, errlen);
    if (rc != ED_OK) return rc;
    ed_store_meta_put_t metas[] = {{name, high},
                                   {ED_STORE_META_OFFSET, high},
                                   {"fingerprint", (int64_t)ed_view_fingerprint(r->view)}};
    rc = ed_store_commit(s, NULL, 0, metas, 3, err, errlen);
    ed_store_close(s);
    if (rc != ED_OK) return rc;
    printf("  %s[%d]: the rebuilt state starts at offset %lld\n", topic, (int)p, (long long)high);
  }
  return ED_OK;
}

static void on_reset_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  int64_t *after = m->_private;
  if (after) *after = m->err ? -1 : m->offset + 1;
}

/* The changelog still holds the old state, which a restore would bring
 * back: a reset record goes to every partition (a restore drops what came
 * before it), and the new local state starts after it. Embedded Kafka
 * starts empty: nothing to do there. */
static int reset_changelog(reset_t *r, rd_kafka_t *rk, char *err, size_t errlen) {
  char topic[600];
  snprintf(topic, sizeof topic, "%s.%s.changelog", r->cfg->app, r->view->name);
  int32_t n = 0;
  int rc = topic_partitions(rk, r->cfg->bootstrap_servers, topic, &n, err, errlen);
  if (rc == ED_ENOTFOUND) return ED_OK; /* never ran: nothing to forget */
  if (rc != ED_OK) return rc;
  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  char kerr[256];
  for (size_t i = 0; i < r->cfg->nkafka; i++)
    rd_kafka_conf_set(pc, r->cfg->kafka[i].name, r->cfg->kafka[i].value, kerr, sizeof kerr);
  rd_kafka_conf_set(pc, "bootstrap.servers", r->cfg->bootstrap_servers, kerr, sizeof kerr);
  rd_kafka_conf_set_dr_msg_cb(pc, on_reset_delivery);
  rd_kafka_conf_set_log_cb(pc, on_kafka_log);
  rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, kerr, sizeof kerr);
  if (prod == NULL) {
    rd_kafka_conf_destroy(pc);
    snprintf(err, errlen, "cannot create a producer: %s", kerr);
    return ED_EKAFKA;
  }
  int64_t *after = calloc((size_t)n, sizeof *after);
  rc = after ? ED_OK : ED_ENOMEM;
  for (int32_t p = 0; rc == ED_OK && p < n; p++) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, ED_CL_RESET, -1, "", 0);
    after[p] = -1;
    if (rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_KEY(ED_CL_RESET_KEY, ED_CL_RESET_KEY_LEN),
                          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(&after[p]),
                          RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(h);
      rc = ED_EKAFKA;
    }
  }
  rd_kafka_flush(prod, RESET_TIMEOUT_MS);
  for (int32_t p = 0; rc == ED_OK && p < n; p++)
    if (after[p] < 0) rc = ED_EKAFKA;
  if (rc != ED_OK) snprintf(err, errlen, "cannot write the reset record to %s", topic);
  for (int32_t p = 0; rc == ED_OK && p < n; p++) {
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/%d", r->dir, (int)p);
    ed_store_t *st;
    rc = ed_store_open(dir, NULL, &st, err, errlen);
    if (rc != ED_OK) break;
    ed_store_meta_put_t metas[] = {{ED_STORE_META_CHANGELOG, after[p]},
                                   {"fingerprint", (int64_t)ed_view_fingerprint(r->view)}};
    rc = ed_store_commit(st, NULL, 0, metas, 2, err, errlen);
    ed_store_close(st);
  }
  if (rc == ED_OK) printf("marked %s as reset (%d partition(s))\n", topic, (int)n);
  free(after);
  rd_kafka_destroy(prod);
  return rc;
}

static int run(reset_t *r) {
  char err[1024] = "";
  const ed_config_t *cfg = r->cfg;
  if (cfg->embedded_kafka) {
    if (drop_state(r, err, sizeof err) != ED_OK) goto fail;
    printf("kafka is embedded: it starts empty at every start, so there is no group to rewind\n");
    printf("view %s reset\n", r->view->name);
    return 0;
  }
  int rc = ED_OK;
  int32_t nparts = 0;
  rd_kafka_topic_partition_list_t *l = NULL;
  join_t j = {0};
  rd_kafka_t *rk = consumer_create(cfg, r->group, &j, err, sizeof err);
  if (rk == NULL) goto fail;
  rc = topic_partitions(rk, cfg->bootstrap_servers, r->view->from, &nparts, err, sizeof err);
  if (rc == ED_OK || rc == ED_ENOTFOUND) {
    int rc2 = check_group_idle(rk, r->group, err, sizeof err);
    if (rc2 != ED_OK) rc = rc2;
  }
  if (rc == ED_ENOTFOUND) {
    /* Nothing to rewind; the state still goes. */
    printf("topic %s does not exist: no offsets to rewind\n", r->view->from);
    rc = drop_state(r, err, sizeof err);
    goto done;
  }
  if (rc == ED_OK) rc = low_watermarks(rk, r->view->from, nparts, &l, err, sizeof err);
  if (rc == ED_OK) rc = join_group(rk, &j, r->group, r->view->from, nparts, err, sizeof err);
  if (rc != ED_OK) goto done; /* nothing changed yet */
  int64_t *before = calloc((size_t)nparts, sizeof *before);
  if (before == NULL) {
    rc = ED_ENOMEM;
    snprintf(err, sizeof err, "out of memory");
    goto done;
  }
  committed_offsets(rk, l, before);
  rc = drop_state(r, err, sizeof err);
  if (rc == ED_OK) {
    rc = commit_offsets(rk, l, err, sizeof err);
    if (rc != ED_OK)
      fprintf(stderr,
              "eddy reset: the local state was removed, but rewinding group %s failed (the "
              "view is still rebuilt from the earliest offsets at the next start; only the "
              "group's lag is off until its first commit)\n",
              r->group);
  }
  /* Last: if it fails, the fresh state reads the repartition topic from its
   * beginning and drops the re-produced duplicates (exact while the topic
   * still holds its history). */
  if (rc == ED_OK) rc = reset_changelog(r, rk, err, sizeof err);
  if (rc == ED_OK && r->view->key) rc = seed_repartitioned(r, rk, err, sizeof err);
  if (rc == ED_OK) {
    printf("rewound consumer group %s on %s (%d partition(s)):\n", r->group, r->view->from,
           (int)nparts);
    for (int i = 0; i < l->cnt; i++) {
      char was[32];
      if (before[i] >= 0)
        snprintf(was, sizeof was, "%" PRId64, before[i]);
      else
        snprintf(was, sizeof was, "none");
      printf("  %s[%d]: committed %s -> %" PRId64 "\n", l->elems[i].topic,
             (int)l->elems[i].partition, was, l->elems[i].offset);
    }
  }
  free(before);
done:
  if (l) rd_kafka_topic_partition_list_destroy(l);
  if (rk) {
    rd_kafka_consumer_close(rk); /* leaves the group */
    rd_kafka_destroy(rk);
  }
  if (j.assigned) rd_kafka_topic_partition_list_destroy(j.assigned);
  if (rc != ED_OK) goto fail;
  printf("view %s reset: the next 'eddy serve' rebuilds it from the earliest offsets of %s\n",
         r->view->name, r->view->from);
  return 0;
fail:
  fprintf(stderr, "eddy reset: %s\n", err);
  return 1;
}

int ed_reset_main(int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"view", required_argument, NULL, 'v'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *config = NULL, *view = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "c:v:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'v': view = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (config == NULL || view == NULL || optind != argc) {
    usage(stderr);
    return 2;
  }
  char err[1024];
  ed_config_t *cfg;
  if (ed_config_load(config, &cfg, err, sizeof err) != ED_OK) {
    fprintf(stderr, "eddy reset: %s\n", err);
    return 1;
  }
  reset_t r = {.cfg = cfg};
  for (size_t i = 0; i < cfg->nviews; i++)
    if (strcmp(cfg->views[i].name, view) == 0) r.view = &cfg->views[i];
  int status = 1;
  if (r.view == NULL) {
    fprintf(stderr, "eddy reset: no view '%s' in %s\n", view, config);
    list_views(stderr, cfg);
    status = 2;
  } else if (strcmp(view, ".") == 0 || strcmp(view, "..") == 0) {
    /* The config accepts [A-Za-z0-9_.-]+; these two would name data_dir
     * itself or its parent. */
    fprintf(stderr, "eddy reset: refusing to reset a view named '%s'\n", view);
    status = 2;
  } else {
    snprintf(r.group, sizeof r.group, "%s.%s", cfg->app, view);
    snprintf(r.dir, sizeof r.dir, "%s/%s", cfg->data_dir, view);
    status = run(&r);
  }
  ed_config_free(cfg);
  return status;
}
