/* wordcount: eddy's stream engine embedded in a program, Kafka Streams
 * style (a library, not a framework).
 *
 *   lines (topic) -> split (a custom processor: one record per word, the
 *   word as key) -> group by key (repartitions through
 *   wordcount.repartition, since the key changed) -> count (store
 *   "word_counts")
 *
 * The split processor also schedules a wall-clock punctuation that logs
 * its progress every few seconds. After --run-ms (or SIGINT/SIGTERM) the
 * program stops the engine, which commits what it processed, and prints
 * "<word> <count>" for every word given with --print, reading the store
 * directly: its state is one LMDB environment per partition in
 * <data-dir>/word_counts/<partition>/.
 *
 *   wordcount --bootstrap 127.0.0.1:9092 --data-dir /tmp/wc --run-ms 10000 \
 *             --print the,quick,fox
 *
 * The topics "lines" and "wordcount.repartition" must exist with the same
 * partition count (eddy dev-kafka --topic lines --topic wordcount.repartition).
 */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/murmur2.h"
#include "common/timeutil.h"
#include "store/row.h"
#include "store/store.h"
#include "streams/dsl.h"
#include "streams/engine.h"

#define WC_NAME "wordcount" /* topology and consumer group; wordcount.repartition */
#define WC_STORE "word_counts"
#define WC_MAX_WORD 200 /* longer words are cut (keys are at most 511 bytes) */
#define WC_PROGRESS_MS 2000

static volatile sig_atomic_t wc_stop;

static void on_signal(int sig) {
  (void)sig;
  wc_stop = 1;
}

/* ---- the split processor ---- */

/* One per task (partition of "lines"). */
typedef struct {
  int32_t partition;
  uint64_t lines, words;
  uint64_t logged_lines; /* at the last progress line */
} split_state_t;

static int split_init(ed_pctx_t *ctx, void *arg, void **state) {
  (void)arg;
  split_state_t *s = calloc(1, sizeof *s);
  if (s == NULL) return ED_ENOMEM;
  s->partition = ed_pctx_partition(ctx);
  *state = s;
  return ed_pctx_schedule(ctx, ED_PUNCTUATE_WALL_CLOCK, WC_PROGRESS_MS);
}

/* Bytes that make up words: ASCII letters and digits, and every byte of a
 * multi-byte UTF-8 character (so "naïve" stays one word). */
static int word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static void split_process(ed_pctx_t *ctx, void *state, const ed_record_t *rec) {
  split_state_t *s = state;
  if (rec->value == NULL) return; /* a tombstone is no line */
  s->lines++;
  const unsigned char *p = rec->value;
  size_t n = rec->value_len, i = 0;
  char word[WC_MAX_WORD];
  while (i < n) {
    while (i < n && !word_byte(p[i]))
      i++;
    size_t len = 0;
    for (; i < n && word_byte(p[i]); i++)
      if (len < sizeof word)
        word[len++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    if (len == 0) continue;
    /* The word is the key; the value just has to be non-null (counted). */
    ed_record_t out = {
        .key = word, .key_len = len, .value = word, .value_len = len, .timestamp = rec->timestamp};
    ed_pctx_forward(ctx, &out);
    s->words++;
  }
}

static void split_punctuate(ed_pctx_t *ctx, void *state, ed_punctuate_type_t type, int64_t time) {
  (void)ctx;
  (void)type;
  (void)time;
  split_state_t *s = state;
  if (s->lines == s->logged_lines) return; /* quiet when idle */
  s->logged_lines = s->lines;
  ed_log_info("wordcount: lines[%d]: %llu line(s), %llu word(s) so far", (int)s->partition,
              (unsigned long long)s->lines, (unsigned long long)s->words);
}

static void split_close(ed_pctx_t *ctx, void *state) {
  (void)ctx;
  free(state);
}

static const ed_processor_fns_t split_fns = {split_init, split_process, split_punctuate,
                                             split_close};

/* ---- the program ---- */

typedef struct {
  const char *bootstrap;
  const char *data_dir;
  const char *topic;
  int64_t run_ms;
  char *print; /* comma-separated words, owned by argv */
} wc_opts_t;

static void usage(FILE *f) {
  fprintf(f, "usage: wordcount --bootstrap SERVERS --data-dir DIR [--topic lines]\n"
             "                 [--run-ms MS] [--print WORD,WORD,...]\n"
             "Counts the words of the lines in --topic (default \"lines\") with eddy's\n"
             "embedded stream engine. Needs the topics TOPIC and wordcount.repartition\n"
             "with the same partition count. After --run-ms (default 10000; 0: until\n"
             "SIGINT/SIGTERM) it stops and prints \"WORD COUNT\" for every --print word.\n");
}

static int build(const wc_opts_t *o, ed_topology_t **out, char *err, size_t errlen) {
  ed_dsl_t *b;
  int rc = ed_dsl_create(WC_NAME, &b);
  if (rc != ED_OK) {
    snprintf(err, errlen, "%s", ed_strerror(rc));
    return rc;
  }
  ed_kstream_t *lines = ed_dsl_stream(b, o->topic, NULL, NULL);
  ed_kstream_t *words = ed_kstream_process(lines, "split", &split_fns, NULL);
  ed_kgrouped_t *by_word = ed_kstream_group_by_key(words); /* repartitions */
  ed_kgrouped_count(by_word, WC_STORE);
  rc = ed_dsl_build(b, out, err, errlen);
  ed_dsl_destroy(b);
  return rc;
}

/* Prints "<word> <count>" for each word of @p list, reading partition
 * murmur2(word) % nparts of the store (the engine must be gone: one LMDB
 * environment is opened once per process). */
static int print_counts(const wc_opts_t *o, int32_t nparts, char *list, char *err, size_t errlen) {
  ed_store_t **stores = calloc((size_t)nparts, sizeof *stores);
  if (stores == NULL) return ED_ENOMEM;
  int rc = ED_OK;
  char *save = NULL;
  for (char *w = strtok_r(list, ",", &save); w && rc == ED_OK; w = strtok_r(NULL, ",", &save)) {
    size_t len = strlen(w);
    if (len == 0) continue;
    int32_t p = ed_partition_for_key(w, len, nparts);
    if (stores[p] == NULL) {
      char dir[4096];
      snprintf(dir, sizeof dir, "%s/%s/%d", o->data_dir, WC_STORE, (int)p);
      rc = ed_store_open(dir, NULL, &stores[p], err, errlen);
      if (rc != ED_OK) break;
    }
    ed_store_read_t rd;
    rc = ed_store_read_begin(stores[p], &rd);
    if (rc != ED_OK) {
      snprintf(err, errlen, "cannot read %s", ed_store_dir(stores[p]));
      break;
    }
    const void *val;
    size_t vlen;
    int64_t count = 0;
    int grc = ed_store_read_get(&rd, w, len, &val, &vlen);
    if (grc == ED_OK) {
      ed_col_t col;
      size_t ncols;
      if (ed_row_decode(val, vlen, &col, 1, &ncols) != ED_OK || ncols != 1 ||
          col.type != ED_COL_INT) {
        snprintf(err, errlen, "word %s: not a count row", w);
        rc = ED_ESTORE;
      } else {
        count = col.v.i;
      }
    } else if (grc != ED_ENOTFOUND) {
      snprintf(err, errlen, "word %s: %s", w, ed_strerror(grc));
      rc = grc;
    }
    ed_store_read_end(&rd);
    if (rc == ED_OK) printf("%s %lld\n", w, (long long)count);
  }
  for (int32_t p = 0; p < nparts; p++)
    ed_store_close(stores[p]);
  free(stores);
  fflush(stdout);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {{"bootstrap", required_argument, NULL, 'b'},
                                       {"data-dir", required_argument, NULL, 'd'},
                                       {"topic", required_argument, NULL, 't'},
                                       {"run-ms", required_argument, NULL, 'r'},
                                       {"print", required_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  wc_opts_t o = {.topic = "lines", .run_ms = 10000};
  int c;
  while ((c = getopt_long(argc, argv, "b:d:t:r:p:h", opts, NULL)) != -1) {
    switch (c) {
    case 'b': o.bootstrap = optarg; break;
    case 'd': o.data_dir = optarg; break;
    case 't': o.topic = optarg; break;
    case 'r': o.run_ms = atoll(optarg); break;
    case 'p': o.print = optarg; break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return 2;
    }
  }
  if (o.bootstrap == NULL || o.data_dir == NULL || o.run_ms < 0 || optind != argc) {
    usage(stderr);
    return 2;
  }
  ed_log_init_from_env();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  char err[1024] = "";
  ed_engine_t *e = NULL;
  ed_topology_t *t = NULL;
  int status = 1;
  ed_engine_conf_t ec = {.app = WC_NAME, .data_dir = o.data_dir, .bootstrap_servers = o.bootstrap};
  if (ed_engine_create(&ec, &e, err, sizeof err) != ED_OK) goto out;
  if (build(&o, &t, err, sizeof err) != ED_OK) goto out;
  if (ed_engine_add_topology(e, t, NULL, err, sizeof err) != ED_OK) goto out;
  t = NULL; /* the engine owns it now */
  ed_view_t *v = ed_engine_find_view(e, WC_STORE, strlen(WC_STORE));
  if (v == NULL) {
    snprintf(err, sizeof err, "no view %s", WC_STORE);
    goto out;
  }
  int32_t nparts = ed_view_partition_count(v);
  if (ed_engine_start(e, err, sizeof err) != ED_OK) goto out;
  ed_log_info("wordcount: counting the words of %s (%d partition(s)) into %s/%s", o.topic,
              (int)nparts, o.data_dir, WC_STORE);
  int64_t deadline = o.run_ms > 0 ? ed_now_ms() + o.run_ms : INT64_MAX;
  while (!wc_stop && ed_now_ms() < deadline)
    usleep(20 * 1000);
  /* Stop commits what was processed; the stores close with the engine. */
  ed_engine_destroy(e);
  e = NULL;
  ed_log_info("wordcount: stopped");
  if (o.print && print_counts(&o, nparts, o.print, err, sizeof err) != ED_OK) goto out;
  status = 0;
out:
  if (status != 0) fprintf(stderr, "wordcount: %s\n", err);
  ed_topology_destroy(t);
  ed_engine_destroy(e);
  return status;
}
