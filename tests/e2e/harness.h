/* End-to-end test harness: child processes (eddy dev-kafka, eddy serve), free
 * loopback ports, temporary directories, HTTP GETs and small JSON helpers.
 *
 * Children run in their own process group and get SIGKILL when the test
 * process dies (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves
 * nothing behind; eh_proc_kill() kills the whole group and reaps it. */
#ifndef ED_TESTS_E2E_HARNESS_H
#define ED_TESTS_E2E_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- time ---- */

int64_t eh_now_ms(void);
void eh_sleep_ms(int64_t ms);

/* ---- processes ---- */

typedef struct {
  pid_t pid;          /* 0 when not running (or reaped) */
  int exited;         /* 1 once reaped */
  int status;         /* waitpid status once reaped */
  char out_path[512]; /* the child's stdout is redirected here */
  char err_path[512]; /* and its stderr here */
} eh_proc_t;

/* Starts argv[0] (a path) with @p argv, stdout and stderr redirected to
 * files <dir>/<name>.out and <dir>/<name>.err (appended, so a restarted
 * process keeps one log). Returns 0 or -1 (errno set). */
int eh_proc_spawn(eh_proc_t *p, const char *dir, const char *name, char *const argv[]);

/* Waits up to @p timeout_ms for the first line of the child's stdout; copies
 * it without the newline into @p line. Returns 0, or -1 on timeout or if the
 * child exited first. */
int eh_proc_first_line(eh_proc_t *p, char *line, size_t cap, int64_t timeout_ms);

/* 1 while the child runs (reaps it if it exited). */
int eh_proc_alive(eh_proc_t *p);

/* Waits up to @p timeout_ms for the child to exit. Returns its exit code
 * (0..255), 128+signal if killed by a signal, or -1 on timeout. */
int eh_proc_wait(eh_proc_t *p, int64_t timeout_ms);

/* Sends @p sig to the child's process group; for SIGKILL, or if the child
 * does not exit within @p timeout_ms after another signal, kills the group
 * and reaps. No-op if not running. Returns the exit code as eh_proc_wait. */
int eh_proc_kill(eh_proc_t *p, int sig, int64_t timeout_ms);

/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL on error). */
char *eh_read_file(const char *path, size_t *len);

/* Prints the last @p max bytes of a child's stderr to stderr (diagnostics). */
void eh_proc_dump_err(const eh_proc_t *p, const char *label, size_t max);

/* ---- files and ports ---- */

/* A free TCP port on 127.0.0.1 (bind port 0, read it, close). 0 on error. */
int eh_free_port(void);

/* Creates a fresh directory /tmp/<prefix>XXXXXX into @p out. 0 or -1. */
int eh_tmpdir(const char *prefix, char *out, size_t cap);

/* rm -rf @p path. 0 or -1. */
int eh_rm_rf(const char *path);

/* Writes @p text to @p path. 0 or -1. */
int eh_write_file(const char *path, const char *text);

/* ---- HTTP ---- */

typedef struct eh_http eh_http_t;

eh_http_t *eh_http_create(void);
void eh_http_destroy(eh_http_t *h);

/* GETs @p url with a total timeout. Returns the HTTP status (0 if the
 * request failed: connection refused, timeout). *body (may be NULL) gets the
 * response body, borrowed: valid until the next call on @p h. */
int eh_http_get(eh_http_t *h, const char *url, int64_t timeout_ms, const char **body, size_t *len);

/* Percent-encodes @p s (@p len bytes) as one path segment. Caller frees with
 * free(). */
char *eh_url_escape(eh_http_t *h, const char *s, size_t len);

/* ---- JSON answers (common/json.h) ---- */

/* A parsed GET /v1/views/{view}/keys/{key} answer. */
typedef struct {
  char key[512]; /* decoded */
  size_t key_len;
  char value[1024]; /* raw JSON object text of "value" */
  int64_t partition;
  int64_t offset;
} eh_key_answer_t;

/* Parses a key answer. Returns 0, or -1 if it does not have the shape. */
int eh_parse_key_answer(const char *body, size_t len, eh_key_answer_t *out);

/* Reads top-level field @p name of JSON object @p json as a number.
 * Returns 0 (and *is_int, *i, *d as ed_json_number) or -1 if missing or not
 * a number. */
int eh_json_get_number(const char *json, size_t len, const char *name, int *is_int, int64_t *i,
                       double *d);

/* Copies the raw text of top-level field @p name (for strings: the decoded
 * contents) into @p out. Returns 0 or -1. */
int eh_json_get_text(const char *json, size_t len, const char *name, char *out, size_t cap);

/* Iterates the elements of the JSON array @p arr (@p len bytes, starting
 * with '['): *pos starts at 0; each call stores the next element's raw text
 * in *elem / *elen (borrowed from @p arr). Returns 1 for an element, 0 at
 * the end of the array, -1 if the text is not an array. */
int eh_json_array_next(const char *arr, size_t len, size_t *pos, const char **elem, size_t *elen);

/* 1 if @p hay contains @p needle. */
int eh_contains(const char *hay, const char *needle);

/* ---- test steps: eddy, dev-kafka, producers ----
 * These fail the running cmocka test (fail_msg / assert_*) instead of
 * returning an error; harness.c then needs librdkafka (PkgConfig::RDKAFKA). */

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

/* The path in environment variable @p env (EDDY_BIN, WORDCOUNT_BIN: ctest
 * sets them); fails the test if unset. */
const char *eh_bin(const char *env);

/* A small deterministic PRNG step (LCG, high bits). */
uint64_t eh_rng_next(uint64_t *s);

/* Starts `$EDDY_BIN dev-kafka --partitions 4 <args...>` (@p args
 * NULL-terminated) as process "dev-kafka" in @p dir and waits up to 20 s for
 * its bootstrap line ("127.0.0.1:<port>") into @p bootstrap. */
void eh_start_dev_kafka(eh_proc_t *kafka, const char *dir, char *const args[], char *bootstrap,
                        size_t cap);

/* Starts `$EDDY_BIN serve <config_path>` as process "serve" in @p dir and
 * waits up to 30 s for GET http://127.0.0.1:<port>/healthz to answer 200. */
void eh_start_serve(eh_proc_t *serve, const char *dir, const char *config_path, eh_http_t *h,
                    int port);

/* Runs `$EDDY_BIN reset --config <config> --view <view>` as process @p name
 * in @p dir (at most 60 s); returns its exit code, its stdout and stderr in
 * *out / *err (caller frees), and prints them. */
int eh_run_reset(const char *dir, const char *name, const char *config, const char *view,
                 char **out, char **err);

/* Writes an eddy config to @p path: app @p app, @p bootstrap, the HTTP
 * listener on 127.0.0.1:<port>, @p data_dir, commit_interval_ms 100, then
 * "views:\n" followed by @p views (YAML lines). */
void eh_write_config(const char *path, const char *app, const char *bootstrap, int port,
                     const char *data_dir, const char *views);

/* A producer to @p bootstrap (linger.ms 5, acks all, log_level 3) with
 * partitioner @p partitioner (NULL: librdkafka's default), delivery reports
 * to @p on_delivery with @p opaque. NULL on error (printed to stderr). */
rd_kafka_t *eh_producer_new(const char *bootstrap, const char *partitioner,
                            void (*on_delivery)(rd_kafka_t *rk, const rd_kafka_message_t *m,
                                                void *opaque),
                            void *opaque);

/* Produces one record (copied; @p key / @p value may be NULL; @p ts 0:
 * now; @p msg_opaque to the delivery report), polling while the queue is
 * full. Returns the rd_kafka_resp_err_t of rd_kafka_producev (0: queued). */
int eh_produce(rd_kafka_t *rk, const char *topic, const void *key, size_t klen, const void *value,
               size_t vlen, int64_t ts, void *msg_opaque);

/* High watermarks of @p topic's @p npart partitions into @p hi. */
void eh_watermarks(rd_kafka_t *rk, const char *topic, int npart, int64_t *hi);

/* http://127.0.0.1:<port>/v1/views/<view>/keys/<escaped key>[?<query>]
 * into @p url (@p query NULL or "": none). */
void eh_key_url(eh_http_t *h, int port, const char *view, const char *key, const char *query,
                char *url, size_t cap);

/* Stability across polls: with @p ok (this pass matched) and the current
 * watermarks @p hi (@p n of them), returns 1 once passes have matched with
 * unchanged watermarks for at least @p hold_ms; else records this pass in
 * *stable_since (-1: not matching) and @p hi_prev and returns 0. */
int eh_stable_for(int ok, const int64_t *hi, int64_t *hi_prev, size_t n, int64_t *stable_since,
                  int64_t now, int64_t hold_ms);

/* A test's temporary directory at teardown: kept (and named on stderr) if
 * EDDY_E2E_KEEP is set, else removed. */
void eh_keep_or_rm(const char *dir);

#endif
