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

#endif
