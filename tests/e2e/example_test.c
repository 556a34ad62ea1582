/* End to end: the wordcount example (examples/wordcount), a program that
 * embeds the stream engine with a custom processor and a repartition.
 *
 * eddy dev-kafka with "lines" and "wordcount.repartition"; produce lines
 * built from a known vocabulary (mixed case, punctuation, UTF-8, null keys
 * and keys), run wordcount with --print, and check every printed count
 * exactly, including a word never produced (0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/e2e/harness.h"

#define NLINES 400
#define RUN_MS "15000"

/* The words as the lines spell them, and as they are counted. */
static const char *const spelled[] = {"The",  "quick", "BROWN", "fox",  "jumps", "Over",
                                      "lazy", "dog",   "naïve", "café", "x42",   "a"};
static const char *const counted[] = {"the",  "quick", "brown", "fox",  "jumps", "over",
                                      "lazy", "dog",   "naïve", "café", "x42",   "a"};
#define NWORDS (sizeof(spelled) / sizeof(spelled[0]))
static const char *const seps[] = {" ", ", ", "! ", "  --  ", "\t", "? ", "; ", "\n"};
#define NSEPS (sizeof(seps) / sizeof(seps[0]))

typedef struct {
  char dir[256];
  char bootstrap[256];
  eh_proc_t kafka;
  eh_proc_t wc;
  rd_kafka_t *producer;
  long failed;
  int64_t expect[NWORDS];
  int passed;
} ex_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  ex_t *t = opaque;
  if (m->err) t->failed++;
}

static int setup(void **state) {
  ex_t *t = calloc(1, sizeof(*t));
  if (!t || eh_tmpdir("eddy-example-", t->dir, sizeof(t->dir)) != 0) {
    free(t);
    return -1;
  }
  *state = t;
  return 0;
}

static int teardown(void **state) {
  ex_t *t = *state;
  if (!t->passed) {
    if (t->wc.pid) eh_proc_dump_err(&t->wc, "wordcount", 6000);
    if (t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 3000);
  }
  eh_proc_kill(&t->wc, SIGKILL, 0);
  if (t->producer) rd_kafka_destroy(t->producer);
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_keep_or_rm(t->dir);
  free(t);
  return 0;
}

/* Line @p i: 1..8 words with separators, counted into t->expect. */
static void make_line(ex_t *t, int i, char *line, size_t cap) {
  uint64_t s = (uint64_t)i * 2654435761u + 7u;
  eh_rng_next(&s);
  int n = 1 + (int)(eh_rng_next(&s) % 8);
  size_t len = 0;
  if (i % 5 == 0) len += (size_t)snprintf(line + len, cap - len, "%s", "... "); /* leading junk */
  for (int w = 0; w < n; w++) {
    size_t k = eh_rng_next(&s) % NWORDS;
    len += (size_t)snprintf(line + len, cap - len, "%s%s", spelled[k],
                            w + 1 < n ? seps[eh_rng_next(&s) % NSEPS] : (i % 3 ? "." : ""));
    t->expect[k]++;
  }
}

static void test_wordcount(void **state) {
  ex_t *t = *state;
  char *kargs[] = {"--topic", "lines", "--topic", "wordcount.repartition", "--topic",
                   "wordcount.word_counts.changelog", NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, kargs, t->bootstrap, sizeof(t->bootstrap));

  t->producer = eh_producer_new(t->bootstrap, NULL, on_delivery, t);
  assert_non_null(t->producer);
  for (int i = 0; i < NLINES; i++) {
    char line[512], key[32];
    make_line(t, i, line, sizeof(line));
    snprintf(key, sizeof(key), "line-%d", i);
    /* every other line without a key: the split step does not care */
    const char *k = i % 2 ? key : NULL;
    size_t klen = k ? strlen(k) : 0;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(t->producer, RD_KAFKA_V_TOPIC("lines"), RD_KAFKA_V_KEY(k, klen),
                          RD_KAFKA_V_VALUE(line, strlen(line)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    assert_int_equal(err, RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_poll(t->producer, 0);
  }
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(t->failed, 0);

  char print[512] = "", data_dir[512];
  for (size_t k = 0; k < NWORDS; k++) {
    strcat(print, counted[k]);
    strcat(print, ",");
  }
  strcat(print, "never-produced");
  snprintf(data_dir, sizeof(data_dir), "%s/data", t->dir);
  char *wargv[] = {(char *)eh_bin("WORDCOUNT_BIN"),
                   "--bootstrap",
                   t->bootstrap,
                   "--data-dir",
                   data_dir,
                   "--run-ms",
                   RUN_MS,
                   "--print",
                   print,
                   NULL};
  assert_int_equal(eh_proc_spawn(&t->wc, t->dir, "wordcount", wargv), 0);
  int rc = eh_proc_wait(&t->wc, 90000);
  if (rc != 0) fail_msg("wordcount exited with %d", rc);

  char *out = eh_read_file(t->wc.out_path, NULL);
  assert_non_null(out);
  fprintf(stderr, "%s", out);
  /* "never-produced" is not one word to the splitter, but --print looks the
   * key up as given: 0. */
  size_t nlines = 0;
  char *save = NULL;
  for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save), nlines++) {
    char word[64];
    long long n;
    if (sscanf(l, "%63s %lld", word, &n) != 2) fail_msg("bad output line '%s'", l);
    int64_t want = -1;
    for (size_t k = 0; k < NWORDS; k++)
      if (strcmp(word, counted[k]) == 0) want = t->expect[k];
    if (strcmp(word, "never-produced") == 0) want = 0;
    if (want < 0) fail_msg("unexpected word '%s' in the output", word);
    /* Fewer than expected, with the right total of words split: the
     * repartitioned count dropped records as duplicates (a line's words
     * share one source position). */
    if (n != want) fail_msg("%s: count %lld, expected %lld", word, n, (long long)want);
  }
  free(out);
  assert_int_equal(nlines, NWORDS + 1);
  t->passed = 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_wordcount, setup, teardown),
  };
  return cmocka_run_group_tests_name("e2e_example", tests, NULL, NULL);
}
