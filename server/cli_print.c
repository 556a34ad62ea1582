/* The command-line client's output: row values as JSON and as table cells,
 * a table built cell by cell (laid out by cli_format.c), a call's error on
 * stderr and the JSON document on stdout. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "server/cli.h"
#include "server/cli_int.h"

/* ---- values as JSON and as table cells ---- */

static void put_json_str(ed_buf_t *b, const void *s, size_t len) {
  ed_buf_append_json_string(b, s, len);
}

void ed__cli_put_json_cstr(ed_buf_t *b, const char *s) { put_json_str(b, s, strlen(s)); }

void ed__cli_put_num_or_null(ed_buf_t *b, int64_t v) {
  if (v < 0)
    ed_buf_puts(b, "null");
  else
    ed_buf_append_i64(b, v);
}

static void put_column(ed_buf_t *b, const eddy_row_t *r, size_t i, int json) {
  int64_t iv;
  double dv;
  const char *s;
  switch (eddy_row_column_type(r, i)) {
  case EDDY_TYPE_INT:
    eddy_row_int(r, i, &iv);
    ed_buf_append_i64(b, iv);
    break;
  case EDDY_TYPE_DOUBLE:
    eddy_row_double(r, i, &dv);
    ed_buf_append_double(b, dv);
    break;
  case EDDY_TYPE_STRING:
    s = eddy_row_string(r, i);
    if (json)
      ed__cli_put_json_cstr(b, s ? s : "");
    else
      ed_buf_puts(b, s ? s : "");
    break;
  case EDDY_TYPE_JSON:
    s = eddy_row_string(r, i);
    ed_buf_puts(b, s ? s : "null");
    break;
  default: ed_buf_puts(b, "null");
  }
}

static int is_record(const eddy_row_t *r) {
  return eddy_row_ncolumns(r) == 1 && eddy_row_column_name(r, 0)[0] == '\0';
}

/* The value: an object of the columns, or a latest view's record itself. */
void ed__cli_put_value_json(ed_buf_t *b, const eddy_row_t *r) {
  if (is_record(r)) {
    put_column(b, r, 0, 1);
    return;
  }
  ed_buf_putc(b, '{');
  for (size_t i = 0; i < eddy_row_ncolumns(r); i++) {
    if (i) ed_buf_putc(b, ',');
    ed__cli_put_json_cstr(b, eddy_row_column_name(r, i));
    ed_buf_putc(b, ':');
    put_column(b, r, i, 1);
  }
  ed_buf_putc(b, '}');
}

void ed__cli_put_key_json(ed_buf_t *b, const eddy_row_t *r) {
  size_t kl = 0;
  const void *k = eddy_row_key(r, &kl);
  put_json_str(b, k ? k : "", k ? kl : 0);
}

/* ---- a table being built: header names, then cells row by row ---- */

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n), d[n] = '\0';
  return d;
}

void ed__cli_tab_head(ed_cli_tab_t *t, const char *name) {
  char **h = realloc(t->head, (t->ncols + 1) * sizeof *h);
  if (h == NULL || (h[t->ncols] = dup_n(name, strlen(name))) == NULL) {
    if (h) t->head = h;
    t->oom = 1;
    return;
  }
  t->head = h;
  t->ncols++;
}

static void tab_cell_n(ed_cli_tab_t *t, const char *s, size_t n) {
  if (t->ncells == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    char **c = realloc(t->cells, cap * sizeof *c);
    if (c == NULL) {
      t->oom = 1;
      return;
    }
    t->cells = c, t->cap = cap;
  }
  char *d = dup_n(s, n);
  if (d == NULL) t->oom = 1;
  t->cells[t->ncells++] = d;
}

void ed__cli_tab_cell(ed_cli_tab_t *t, const char *s) {
  tab_cell_n(t, s ? s : "", s ? strlen(s) : 0);
}

__attribute__((format(printf, 2, 3))) void ed__cli_tab_cellf(ed_cli_tab_t *t, const char *fmt,
                                                             ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  ed__cli_tab_cell(t, tmp);
}

void ed__cli_tab_free(ed_cli_tab_t *t) {
  for (size_t i = 0; i < t->ncols; i++)
    free(t->head[i]);
  for (size_t i = 0; i < t->ncells; i++)
    free(t->cells[i]);
  free(t->head);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

/* Prints the table to stdout and frees it. Returns an exit code. */
int ed__cli_tab_print(ed_cli_tab_t *t) {
  int rc = ED_CLI_EXIT_OK;
  char *text = NULL;
  if (!t->oom && t->ncols > 0)
    text = ed_cli_table_format((const char *const *)t->head, t->ncols,
                               (const char *const *)t->cells, t->ncells / t->ncols);
  if (text) {
    fputs(text, stdout);
    free(text);
  } else {
    fprintf(stderr, "eddy: out of memory\n");
    rc = ED_CLI_EXIT_ERROR;
  }
  ed__cli_tab_free(t);
  return rc;
}

/* Header of a row table: "key", the row's column names ("value" for a
 * record), then @p extra names. */
void ed__cli_tab_row_head(ed_cli_tab_t *t, const eddy_row_t *r) {
  ed__cli_tab_head(t, "key");
  for (size_t i = 0; i < eddy_row_ncolumns(r); i++) {
    const char *n = eddy_row_column_name(r, i);
    ed__cli_tab_head(t, n[0] ? n : "value");
  }
}

/* The value cells of @p r under the header's columns from @p first on
 * (matched by name, for rows whose columns differ from the first row's). */
void ed__cli_tab_row_cells(ed_cli_tab_t *t, const eddy_row_t *r, size_t first, size_t count) {
  ed_buf_t b;
  ed_buf_init(&b);
  for (size_t c = first; c < first + count; c++) {
    const char *h = t->head[c];
    int i = eddy_row_column_index(r, strcmp(h, "value") == 0 && is_record(r) ? "" : h);
    ed_buf_reset(&b);
    if (i >= 0) put_column(&b, r, (size_t)i, 0);
    tab_cell_n(t, b.data ? b.data : "", b.len);
  }
  ed_buf_fini(&b);
}

void ed__cli_tab_key_cell(ed_cli_tab_t *t, const eddy_row_t *r) {
  size_t kl = 0;
  const char *k = eddy_row_key(r, &kl);
  tab_cell_n(t, k ? k : "", k ? kl : 0);
}

/* ---- commands ---- */

int ed__cli_fail(const ed_cli_opts_t *o, eddy_client_t *c, int err) {
  const char *m = eddy_last_error(c);
  fprintf(stderr, "eddy %s: %s%s%s\n", o->cmd->name, eddy_err_str(err), m[0] ? ": " : "", m);
  return ed_cli_exit_code(err);
}

int ed__cli_emit(ed_buf_t *b) {
  if (ed_buf_failed(b)) {
    fprintf(stderr, "eddy: out of memory\n");
    return ED_CLI_EXIT_ERROR;
  }
  ed_buf_putc(b, '\n');
  fwrite(b->data, 1, b->len, stdout);
  return ED_CLI_EXIT_OK;
}
