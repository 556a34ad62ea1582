/* Internals of the command-line client shared by its files: cli.c (options,
 * dispatch), cli_cmds.c (the commands) and cli_print.c (answers as JSON and
 * tables). Not part of the server. */
#ifndef ED_SERVER_CLI_INT_H
#define ED_SERVER_CLI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "eddy/client.h"

#define ED_CLI_MAX_URLS 16
#define ED_CLI_MAX_MIN_OFFSETS 64

/* A client command: its name, positional arguments and options (O_*, cli.c). */
typedef struct {
  const char *name;
  int npos; /* positional arguments */
  const char *args;
  int allowed; /* O_* */
} ed_cli_cmd_t;

/* The parsed command line. */
typedef struct {
  const ed_cli_cmd_t *cmd;
  const char *urls[ED_CLI_MAX_URLS];
  size_t nurls;
  int json, table, timeout_ms;
  const char *from, *to;
  long long limit; /* -1: none */
  eddy_position_t mins[ED_CLI_MAX_MIN_OFFSETS];
  size_t nmins;
  int allow_stale;
  const char *pos[2];
  int npos;
} ed_cli_opts_t;

/* cli.c: a whole decimal number (no sign check) into *out; 0, or -1 if
 * @p s is not one. */
int ed__cli_parse_ll(const char *s, long long *out);

/* ---- cli_cmds.c: the commands; each returns the exit code ---- */

int ed__cli_cmd_get(const ed_cli_opts_t *o, eddy_client_t *c);
int ed__cli_cmd_scan(const ed_cli_opts_t *o, eddy_client_t *c);
int ed__cli_cmd_windows(const ed_cli_opts_t *o, eddy_client_t *c);
int ed__cli_cmd_views(const ed_cli_opts_t *o, eddy_client_t *c);
int ed__cli_cmd_cluster(const ed_cli_opts_t *o, eddy_client_t *c);

/* ---- cli_print.c: values as JSON and as table cells ---- */

/* @p s as a JSON string. */
void ed__cli_put_json_cstr(ed_buf_t *b, const char *s);
/* @p v, or null if negative. */
void ed__cli_put_num_or_null(ed_buf_t *b, int64_t v);
/* The row's value: an object of the columns, or a latest view's record itself. */
void ed__cli_put_value_json(ed_buf_t *b, const eddy_row_t *r);
/* The row's key as a JSON string. */
void ed__cli_put_key_json(ed_buf_t *b, const eddy_row_t *r);

/* A table being built: header names, then cells row by row. Starts zeroed;
 * freed by ed__cli_tab_free() (ed__cli_tab_print() frees it too). */
typedef struct {
  char **head;
  size_t ncols;
  char **cells;
  size_t ncells, cap;
  int oom;
} ed_cli_tab_t;

void ed__cli_tab_head(ed_cli_tab_t *t, const char *name);
/* A cell; NULL is empty. */
void ed__cli_tab_cell(ed_cli_tab_t *t, const char *s);
__attribute__((format(printf, 2, 3))) void ed__cli_tab_cellf(ed_cli_tab_t *t, const char *fmt, ...);
void ed__cli_tab_free(ed_cli_tab_t *t);
int ed__cli_tab_print(ed_cli_tab_t *t);
void ed__cli_tab_row_head(ed_cli_tab_t *t, const eddy_row_t *r);
void ed__cli_tab_row_cells(ed_cli_tab_t *t, const eddy_row_t *r, size_t first, size_t count);
void ed__cli_tab_key_cell(ed_cli_tab_t *t, const eddy_row_t *r);

/* The error of a call (@p err, with eddy_last_error(c)) on stderr; its exit code. */
int ed__cli_fail(const ed_cli_opts_t *o, eddy_client_t *c, int err);
/* Writes @p b and a newline to stdout; the exit code (out of memory: error). */
int ed__cli_emit(ed_buf_t *b);

#endif
