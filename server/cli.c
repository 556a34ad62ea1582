/* The command-line client: `eddy get|scan|windows|views|cluster`, built on
 * libeddy (no HTTP of its own). Output is one JSON document per command
 * with --json or when stdout is not a terminal, else aligned tables
 * (cli_format.c). Exit codes: see ed_cli_usage_text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "server/cli.h"

#define MAX_URLS 16
#define MAX_MIN_OFFSETS 64
#define SCAN_PAGE_MAX 1000

const char ed_cli_usage_text[] =
    "client commands (built on libeddy):\n"
    "  get VIEW KEY [--min-offset P:O ...] [--allow-stale]\n"
    "                                      look up a key (its value and position)\n"
    "  scan VIEW [--from K] [--to K] [--limit N]\n"
    "                                      rows with keys in [from, to), in key order;\n"
    "                                      --limit: at most N rows in all\n"
    "  windows VIEW KEY [--from MS] [--to MS]\n"
    "                                      a key's windows starting in [from, to] (epoch ms)\n"
    "  views                               list the views\n"
    "  cluster                             instances and every view partition's owner\n"
    "  common options: --url URL (default http://localhost:8080; repeat for more\n"
    "  seeds), --json (one JSON document), --table (tables even when piped),\n"
    "  --timeout MS (per call, retries included).\n"
    "  Output: JSON with --json or when stdout is not a terminal, else tables.\n"
    "  Exit codes: 0 ok; 1 not found (key, view, or no window in range);\n"
    "  2 usage error; 3 unavailable (503 after retries, connection refused,\n"
    "  timeout); 4 other errors (bad request, server or protocol error).\n";

enum {
  O_FROM = 1,
  O_TO = 2,
  O_LIMIT = 4,
  O_MINOFF = 8,
  O_STALE = 16,
};

typedef struct {
  const char *name;
  int npos; /* positional arguments */
  const char *args;
  int allowed; /* O_* */
} cmd_t;

static const cmd_t cmds[] = {
    {"get", 2, "VIEW KEY [--min-offset P:O ...] [--allow-stale]", O_MINOFF | O_STALE},
    {"scan", 1, "VIEW [--from K] [--to K] [--limit N]", O_FROM | O_TO | O_LIMIT},
    {"windows", 2, "VIEW KEY [--from MS] [--to MS]", O_FROM | O_TO},
    {"views", 0, "", 0},
    {"cluster", 0, "", 0},
};

typedef struct {
  const cmd_t *cmd;
  const char *urls[MAX_URLS];
  size_t nurls;
  int json, table, timeout_ms;
  const char *from, *to;
  long long limit; /* -1: none */
  eddy_position_t mins[MAX_MIN_OFFSETS];
  size_t nmins;
  int allow_stale;
  const char *pos[2];
  int npos;
} opts_t;

int ed_cli_is_command(const char *cmd) {
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].name, cmd) == 0) return 1;
  return 0;
}

/* A usage error: the message and the command's usage on stderr; exit 2. */
__attribute__((format(printf, 2, 3))) static int usage_error(const char *cmd, const char *fmt,
                                                             ...) {
  va_list ap;
  fprintf(stderr, "eddy %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  const char *args = "";
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].name, cmd) == 0) args = cmds[i].args;
  fprintf(stderr,
          "\nusage: eddy %s %s [--url URL ...] [--json|--table] [--timeout MS]\n"
          "(see 'eddy help' for the commands, output and exit codes)\n",
          cmd, args);
  return ED_CLI_EXIT_USAGE;
}

static int parse_ll(const char *s, long long *out) {
  if (s == NULL || *s == '\0') return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = v;
  return 0;
}

/* Parses argv (argv[0]: the command). Returns -1 ok, else an exit code. */
static int parse(int argc, char **argv, opts_t *o) {
  const char *name = argv[0];
  memset(o, 0, sizeof *o);
  o->limit = -1;
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp(cmds[i].name, name) == 0) o->cmd = &cmds[i];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: eddy %s %s\n\n%s", name, o->cmd->args, ed_cli_usage_text);
      return ED_CLI_EXIT_OK;
    }
    if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
      if (strcmp(a, "--") == 0) { /* the rest are positional (keys starting with -) */
        for (i++; i < argc; i++) {
          if (o->npos >= o->cmd->npos)
            return usage_error(name, "unexpected argument '%s'", argv[i]);
          o->pos[o->npos++] = argv[i];
        }
        break;
      }
      if (o->npos >= o->cmd->npos) return usage_error(name, "unexpected argument '%s'", a);
      o->pos[o->npos++] = a;
      continue;
    }
    /* --name VALUE or --name=VALUE */
    char opt[32];
    const char *eq = strchr(a, '='), *val = NULL;
    size_t ol = eq ? (size_t)(eq - a) : strlen(a);
    if (ol >= sizeof opt) return usage_error(name, "unknown option '%s'", a);
    memcpy(opt, a, ol);
    opt[ol] = '\0';
    int flag = strcmp(opt, "--json") == 0 || strcmp(opt, "--table") == 0 ||
               strcmp(opt, "--allow-stale") == 0;
    int known = flag || strcmp(opt, "--url") == 0 || strcmp(opt, "--timeout") == 0 ||
                strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0 ||
                strcmp(opt, "--limit") == 0 || strcmp(opt, "--min-offset") == 0;
    if (!known) return usage_error(name, "unknown option '%s'", a);
    if (flag) {
      if (eq) return usage_error(name, "option %s takes no value", opt);
    } else if (eq) {
      val = eq + 1;
    } else if (i + 1 < argc) {
      val = argv[++i];
    } else {
      return usage_error(name, "option %s needs a value", opt);
    }
    int need = strcmp(opt, "--from") == 0          ? O_FROM
               : strcmp(opt, "--to") == 0          ? O_TO
               : strcmp(opt, "--limit") == 0       ? O_LIMIT
               : strcmp(opt, "--min-offset") == 0  ? O_MINOFF
               : strcmp(opt, "--allow-stale") == 0 ? O_STALE
                                                   : 0;
    if (need && !(o->cmd->allowed & need))
      return usage_error(name, "option %s does not apply to '%s'", opt, name);
    long long n;
    if (strcmp(opt, "--json") == 0) {
      o->json = 1;
    } else if (strcmp(opt, "--table") == 0) {
      o->table = 1;
    } else if (strcmp(opt, "--allow-stale") == 0) {
      o->allow_stale = 1;
    } else if (strcmp(opt, "--url") == 0) {
      if (o->nurls >= MAX_URLS) return usage_error(name, "at most %d --url", MAX_URLS);
      o->urls[o->nurls++] = val;
    } else if (strcmp(opt, "--timeout") == 0) {
      if (parse_ll(val, &n) != 0 || n <= 0 || n > 86400000)
        return usage_error(name, "--timeout: not a positive number of ms: '%s'", val);
      o->timeout_ms = (int)n;
    } else if (strcmp(opt, "--limit") == 0) {
      if (parse_ll(val, &n) != 0 || n <= 0)
        return usage_error(name, "--limit: not a positive integer: '%s'", val);
      o->limit = n;
    } else if (strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0) {
      if (strcmp(name, "windows") == 0 && parse_ll(val, &n) != 0)
        return usage_error(name, "%s: not an epoch time in ms: '%s'", opt, val);
      if (strcmp(opt, "--from") == 0)
        o->from = val;
      else
        o->to = val;
    } else { /* --min-offset P:O */
      const char *colon = strchr(val, ':');
      long long p, off;
      char ps[24];
      size_t pl = colon ? (size_t)(colon - val) : 0;
      if (colon == NULL || pl == 0 || pl >= sizeof ps)
        return usage_error(name, "--min-offset: expected PARTITION:OFFSET, got '%s'", val);
      memcpy(ps, val, pl);
      ps[pl] = '\0';
      if (parse_ll(ps, &p) != 0 || p < 0 || p > INT32_MAX || parse_ll(colon + 1, &off) != 0 ||
          off < 0)
        return usage_error(name, "--min-offset: expected PARTITION:OFFSET, got '%s'", val);
      if (o->nmins >= MAX_MIN_OFFSETS)
        return usage_error(name, "at most %d --min-offset", MAX_MIN_OFFSETS);
      o->mins[o->nmins++] = (eddy_position_t){.partition = (int32_t)p, .offset = off};
    }
  }
  if (o->npos < o->cmd->npos)
    return usage_error(name, "missing argument%s: expected %s",
                       o->cmd->npos - o->npos > 1 ? "s" : "", o->cmd->args);
  if (o->nurls == 0) o->urls[o->nurls++] = "http://localhost:8080";
  if (!o->json && !o->table) o->json = !isatty(STDOUT_FILENO);
  if (o->table) o->json = 0;
  return -1;
}

/* ---- values as JSON and as table cells ---- */

static void put_json_str(ed_buf_t *b, const void *s, size_t len) {
  ed_buf_append_json_string(b, s, len);
}

static void put_json_cstr(ed_buf_t *b, const char *s) { put_json_str(b, s, strlen(s)); }

static void put_num_or_null(ed_buf_t *b, int64_t v) {
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
      put_json_cstr(b, s ? s : "");
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
static void put_value_json(ed_buf_t *b, const eddy_row_t *r) {
  if (is_record(r)) {
    put_column(b, r, 0, 1);
    return;
  }
  ed_buf_putc(b, '{');
  for (size_t i = 0; i < eddy_row_ncolumns(r); i++) {
    if (i) ed_buf_putc(b, ',');
    put_json_cstr(b, eddy_row_column_name(r, i));
    ed_buf_putc(b, ':');
    put_column(b, r, i, 1);
  }
  ed_buf_putc(b, '}');
}

static void put_key_json(ed_buf_t *b, const eddy_row_t *r) {
  size_t kl = 0;
  const void *k = eddy_row_key(r, &kl);
  put_json_str(b, k ? k : "", k ? kl : 0);
}

/* ---- a table being built: header names, then cells row by row ---- */

typedef struct {
  char **head;
  size_t ncols;
  char **cells;
  size_t ncells, cap;
  int oom;
} tab_t;

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d) memcpy(d, s, n), d[n] = '\0';
  return d;
}

static void tab_head(tab_t *t, const char *name) {
  char **h = realloc(t->head, (t->ncols + 1) * sizeof *h);
  if (h == NULL || (h[t->ncols] = dup_n(name, strlen(name))) == NULL) {
    if (h) t->head = h;
    t->oom = 1;
    return;
  }
  t->head = h;
  t->ncols++;
}

static void tab_cell_n(tab_t *t, const char *s, size_t n) {
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

static void tab_cell(tab_t *t, const char *s) { tab_cell_n(t, s ? s : "", s ? strlen(s) : 0); }

__attribute__((format(printf, 2, 3))) static void tab_cellf(tab_t *t, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  tab_cell(t, tmp);
}

static void tab_free(tab_t *t) {
  for (size_t i = 0; i < t->ncols; i++)
    free(t->head[i]);
  for (size_t i = 0; i < t->ncells; i++)
    free(t->cells[i]);
  free(t->head);
  free(t->cells);
  memset(t, 0, sizeof *t);
}

/* Prints the table to stdout and frees it. Returns an exit code. */
static int tab_print(tab_t *t) {
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
  tab_free(t);
  return rc;
}

/* Header of a row table: "key", the row's column names ("value" for a
 * record), then @p extra names. */
static void tab_row_head(tab_t *t, const eddy_row_t *r) {
  tab_head(t, "key");
  for (size_t i = 0; i < eddy_row_ncolumns(r); i++) {
    const char *n = eddy_row_column_name(r, i);
    tab_head(t, n[0] ? n : "value");
  }
}

/* The value cells of @p r under the header's columns from @p first on
 * (matched by name, for rows whose columns differ from the first row's). */
static void tab_row_cells(tab_t *t, const eddy_row_t *r, size_t first, size_t count) {
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

static void tab_key_cell(tab_t *t, const eddy_row_t *r) {
  size_t kl = 0;
  const char *k = eddy_row_key(r, &kl);
  tab_cell_n(t, k ? k : "", k ? kl : 0);
}

/* ---- commands ---- */

static int fail(const opts_t *o, eddy_client_t *c, int err) {
  const char *m = eddy_last_error(c);
  fprintf(stderr, "eddy %s: %s%s%s\n", o->cmd->name, eddy_err_str(err), m[0] ? ": " : "", m);
  return ed_cli_exit_code(err);
}

static int emit(ed_buf_t *b) {
  if (ed_buf_failed(b)) {
    fprintf(stderr, "eddy: out of memory\n");
    return ED_CLI_EXIT_ERROR;
  }
  ed_buf_putc(b, '\n');
  fwrite(b->data, 1, b->len, stdout);
  return ED_CLI_EXIT_OK;
}

static int cmd_get(const opts_t *o, eddy_client_t *c) {
  const char *view = o->pos[0], *key = o->pos[1];
  eddy_get_opts_t g = {
      .min_offsets = o->mins, .n_min_offsets = o->nmins, .allow_stale = o->allow_stale};
  eddy_row_t *r = NULL;
  int rc = eddy_get(c, view, key, strlen(key), &g, &r);
  if (rc != EDDY_OK) return fail(o, c, rc);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"view\":");
    put_json_cstr(&b, view);
    ed_buf_puts(&b, ",\"key\":");
    put_key_json(&b, r);
    ed_buf_printf(&b, ",\"partition\":%d,\"offset\":", (int)eddy_row_partition(r));
    put_num_or_null(&b, eddy_row_offset(r));
    ed_buf_puts(&b, ",\"value\":");
    put_value_json(&b, r);
    ed_buf_putc(&b, '}');
    ex = emit(&b);
    ed_buf_fini(&b);
  } else {
    tab_t t = {0};
    tab_row_head(&t, r);
    size_t nv = t.ncols - 1;
    tab_head(&t, "partition");
    tab_head(&t, "offset");
    tab_key_cell(&t, r);
    tab_row_cells(&t, r, 1, nv);
    tab_cellf(&t, "%d", (int)eddy_row_partition(r));
    tab_cellf(&t, "%lld", (long long)eddy_row_offset(r));
    ex = tab_print(&t);
  }
  eddy_row_destroy(r);
  return ex;
}

static int cmd_scan(const opts_t *o, eddy_client_t *c) {
  int page = o->limit > 0 && o->limit < SCAN_PAGE_MAX ? (int)o->limit : SCAN_PAGE_MAX;
  eddy_scan_t *it = eddy_scan_open(c, o->pos[0], o->from, o->to, page);
  if (it == NULL) return fail(o, c, EDDY_ERR_INVALID);
  ed_buf_t b;
  ed_buf_init(&b);
  tab_t t = {0};
  size_t nv = 0;
  long long n = 0;
  int rc = 0;
  if (o->json) {
    ed_buf_puts(&b, "{\"view\":");
    put_json_cstr(&b, o->pos[0]);
    ed_buf_puts(&b, ",\"rows\":[");
  }
  const eddy_row_t *r;
  while ((o->limit < 0 || n < o->limit) && (rc = eddy_scan_next(it, &r)) == 1) {
    if (o->json) {
      ed_buf_puts(&b, n ? ",{\"key\":" : "{\"key\":");
      put_key_json(&b, r);
      ed_buf_puts(&b, ",\"value\":");
      put_value_json(&b, r);
      ed_buf_putc(&b, '}');
    } else {
      if (n == 0) {
        tab_row_head(&t, r);
        nv = t.ncols - 1;
      }
      tab_key_cell(&t, r);
      tab_row_cells(&t, r, 1, nv);
    }
    n++;
  }
  int ex;
  if (rc < 0) {
    ex = fail(o, c, rc); /* nothing printed: no partial document */
    tab_free(&t);
  } else if (o->json) {
    ed_buf_printf(&b, "],\"count\":%lld}", n);
    ex = emit(&b);
  } else if (n == 0) {
    printf("(no rows)\n");
    ex = ED_CLI_EXIT_OK;
  } else {
    ex = tab_print(&t);
  }
  ed_buf_fini(&b);
  eddy_scan_close(it);
  return ex;
}

static int cmd_windows(const opts_t *o, eddy_client_t *c) {
  const char *view = o->pos[0], *key = o->pos[1];
  long long from = EDDY_NO_BOUND, to = EDDY_NO_BOUND;
  if (o->from) parse_ll(o->from, &from);
  if (o->to) parse_ll(o->to, &to);
  eddy_windows_t *w = NULL;
  int rc = eddy_windows(c, view, key, strlen(key), from, to, &w);
  if (rc != EDDY_OK) return fail(o, c, rc);
  size_t n = eddy_windows_count(w);
  char s[40], e[40];
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"view\":");
    put_json_cstr(&b, view);
    ed_buf_puts(&b, ",\"key\":");
    put_json_cstr(&b, key);
    ed_buf_printf(&b, ",\"partition\":%d,\"offset\":", (int)eddy_windows_partition(w));
    put_num_or_null(&b, eddy_windows_offset(w));
    ed_buf_puts(&b, ",\"windows\":[");
    for (size_t i = 0; i < n; i++) {
      int64_t st = eddy_windows_start(w, i), en = eddy_windows_end(w, i);
      ed_cli_iso8601(st, s, sizeof s);
      ed_cli_iso8601(en, e, sizeof e);
      ed_buf_printf(&b, "%s{\"start\":%lld,\"end\":%lld,\"start_iso\":\"%s\",\"end_iso\":\"%s\",",
                    i ? "," : "", (long long)st, (long long)en, s, e);
      ed_buf_puts(&b, "\"value\":");
      put_value_json(&b, eddy_windows_value(w, i));
      ed_buf_putc(&b, '}');
    }
    ed_buf_puts(&b, "]}");
    ex = emit(&b);
    ed_buf_fini(&b);
  } else {
    tab_t t = {0};
    tab_head(&t, "start");
    tab_head(&t, "end");
    const eddy_row_t *r0 = n ? eddy_windows_value(w, 0) : NULL;
    for (size_t i = 0; r0 && i < eddy_row_ncolumns(r0); i++) {
      const char *nm = eddy_row_column_name(r0, i);
      tab_head(&t, nm[0] ? nm : "value");
    }
    size_t nv = t.ncols - 2;
    for (size_t i = 0; i < n; i++) {
      ed_cli_iso8601(eddy_windows_start(w, i), s, sizeof s);
      ed_cli_iso8601(eddy_windows_end(w, i), e, sizeof e);
      tab_cell(&t, s);
      tab_cell(&t, e);
      tab_row_cells(&t, eddy_windows_value(w, i), 2, nv);
    }
    ex = tab_print(&t);
  }
  eddy_windows_destroy(w);
  return ex;
}

static int cmd_views(const opts_t *o, eddy_client_t *c) {
  eddy_views_t *v = NULL;
  int rc = eddy_views(c, &v);
  if (rc != EDDY_OK) return fail(o, c, rc);
  size_t n = eddy_views_count(v);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"views\":[");
    for (size_t i = 0; i < n; i++) {
      ed_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
      put_json_cstr(&b, eddy_views_name(v, i));
      ed_buf_puts(&b, ",\"kind\":");
      put_json_cstr(&b, eddy_views_kind(v, i));
      ed_buf_puts(&b, ",\"from\":");
      put_json_cstr(&b, eddy_views_from(v, i));
      ed_buf_printf(&b, ",\"partitions\":%d}", (int)eddy_views_partitions(v, i));
    }
    ed_buf_puts(&b, "]}");
    ex = emit(&b);
    ed_buf_fini(&b);
  } else {
    tab_t t = {0};
    tab_head(&t, "view");
    tab_head(&t, "kind");
    tab_head(&t, "from");
    tab_head(&t, "partitions");
    for (size_t i = 0; i < n; i++) {
      tab_cell(&t, eddy_views_name(v, i));
      tab_cell(&t, eddy_views_kind(v, i));
      tab_cell(&t, eddy_views_from(v, i));
      tab_cellf(&t, "%d", (int)eddy_views_partitions(v, i));
    }
    ex = tab_print(&t);
  }
  eddy_views_destroy(v);
  return ex;
}

/* The partition entry of view @p view, partition @p p held by instance
 * @p id, into *out. Returns 1 if found. */
static int find_held(const eddy_cluster_t *m, const char *id, const char *view, int32_t p,
                     eddy_cluster_partition_t *out) {
  for (size_t i = 0; id && i < eddy_cluster_instance_count(m); i++) {
    if (strcmp(eddy_cluster_instance_id(m, i), id) != 0) continue;
    for (size_t v = 0; v < eddy_cluster_instance_view_count(m, i); v++) {
      if (strcmp(eddy_cluster_instance_view(m, i, v), view) != 0) continue;
      for (size_t k = 0; k < eddy_cluster_instance_partition_count(m, i, v); k++)
        if (eddy_cluster_instance_partition(m, i, v, k, out) == EDDY_OK && out->partition == p)
          return 1;
    }
  }
  return 0;
}

/* "offset 120, lag 3" / "restored 10/50" / "behind 2, 40 ms" ("?": unknown). */
static void progress_text(const eddy_cluster_partition_t *h, char *out, size_t cap) {
  char a[24] = "?", b[24] = "?";
  if (strcmp(h->state, "restoring") == 0) {
    if (h->restored >= 0) snprintf(a, sizeof a, "%lld", (long long)h->restored);
    if (h->restore_total >= 0) snprintf(b, sizeof b, "%lld", (long long)h->restore_total);
    snprintf(out, cap, "restored %s/%s", a, b);
  } else {
    if (h->offset >= 0) snprintf(a, sizeof a, "%lld", (long long)h->offset);
    if (h->lag >= 0) snprintf(b, sizeof b, "%lld", (long long)h->lag);
    snprintf(out, cap, "offset %s, lag %s", a, b);
  }
}

static void cluster_json(ed_buf_t *b, const eddy_cluster_t *m) {
  ed_buf_puts(b, "{\"instances\":[");
  for (size_t i = 0; i < eddy_cluster_instance_count(m); i++) {
    ed_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
    put_json_cstr(b, eddy_cluster_instance_id(m, i));
    ed_buf_puts(b, ",\"url\":");
    put_json_cstr(b, eddy_cluster_instance_url(m, i));
    ed_buf_printf(b, ",\"self\":%s,\"views\":[",
                  eddy_cluster_instance_self(m, i) ? "true" : "false");
    for (size_t v = 0; v < eddy_cluster_instance_view_count(m, i); v++) {
      ed_buf_puts(b, v ? ",{\"view\":" : "{\"view\":");
      put_json_cstr(b, eddy_cluster_instance_view(m, i, v));
      ed_buf_puts(b, ",\"partitions\":[");
      for (size_t k = 0; k < eddy_cluster_instance_partition_count(m, i, v); k++) {
        eddy_cluster_partition_t h;
        eddy_cluster_instance_partition(m, i, v, k, &h);
        ed_buf_printf(b, "%s{\"partition\":%d,\"state\":", k ? "," : "", (int)h.partition);
        put_json_cstr(b, h.state);
        ed_buf_puts(b, ",\"offset\":");
        put_num_or_null(b, h.offset);
        ed_buf_puts(b, ",\"lag\":");
        put_num_or_null(b, h.lag);
        ed_buf_puts(b, ",\"restored\":");
        put_num_or_null(b, h.restored);
        ed_buf_puts(b, ",\"restore_total\":");
        put_num_or_null(b, h.restore_total);
        ed_buf_puts(b, ",\"lag_ms\":");
        put_num_or_null(b, h.lag_ms);
        ed_buf_putc(b, '}');
      }
      ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "],\"views\":[");
  for (size_t v = 0; v < eddy_cluster_view_count(m); v++) {
    ed_buf_puts(b, v ? ",{\"view\":" : "{\"view\":");
    put_json_cstr(b, eddy_cluster_view_name(m, v));
    ed_buf_printf(b, ",\"partitions\":%d,\"owners\":[", (int)eddy_cluster_view_partitions(m, v));
    for (size_t k = 0; k < eddy_cluster_view_owner_count(m, v); k++) {
      eddy_cluster_owner_t ow;
      eddy_cluster_view_owner(m, v, k, &ow);
      ed_buf_printf(b, "%s{\"partition\":%d,\"owner\":", k ? "," : "", (int)ow.partition);
      if (ow.owner)
        put_json_cstr(b, ow.owner);
      else
        ed_buf_puts(b, "null");
      ed_buf_puts(b, ",\"state\":");
      put_json_cstr(b, ow.state);
      ed_buf_puts(b, ",\"standbys\":[");
      for (size_t s = 0; s < ow.n_standbys; s++) {
        if (s) ed_buf_putc(b, ',');
        put_json_cstr(b, ow.standbys[s]);
      }
      ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "]}");
}

static int cluster_tables(const eddy_cluster_t *m) {
  tab_t t = {0};
  tab_head(&t, "instance");
  tab_head(&t, "url");
  tab_head(&t, "answered");
  for (size_t i = 0; i < eddy_cluster_instance_count(m); i++) {
    tab_cell(&t, eddy_cluster_instance_id(m, i));
    tab_cell(&t, eddy_cluster_instance_url(m, i));
    tab_cell(&t, eddy_cluster_instance_self(m, i) ? "yes" : "");
  }
  int ex = tab_print(&t);
  if (ex != ED_CLI_EXIT_OK) return ex;
  putchar('\n');
  tab_head(&t, "view");
  tab_head(&t, "partition");
  tab_head(&t, "owner");
  tab_head(&t, "state");
  tab_head(&t, "progress");
  tab_head(&t, "standbys");
  for (size_t v = 0; v < eddy_cluster_view_count(m); v++) {
    const char *view = eddy_cluster_view_name(m, v);
    for (size_t k = 0; k < eddy_cluster_view_owner_count(m, v); k++) {
      eddy_cluster_owner_t ow;
      eddy_cluster_view_owner(m, v, k, &ow);
      eddy_cluster_partition_t h;
      char prog[96] = "", sb[256] = "";
      if (find_held(m, ow.owner, view, ow.partition, &h)) progress_text(&h, prog, sizeof prog);
      size_t l = 0;
      for (size_t s = 0; s < ow.n_standbys && l < sizeof sb; s++) {
        char lag[48] = "";
        if (find_held(m, ow.standbys[s], view, ow.partition, &h) && h.lag_ms >= 0)
          snprintf(lag, sizeof lag, " (%lld ms behind)", (long long)h.lag_ms);
        l += (size_t)snprintf(sb + l, sizeof sb - l, "%s%s%s", s ? ", " : "", ow.standbys[s], lag);
      }
      tab_cell(&t, view);
      tab_cellf(&t, "%d", (int)ow.partition);
      tab_cell(&t, ow.owner ? ow.owner : "-");
      tab_cell(&t, ow.state);
      tab_cell(&t, prog);
      tab_cell(&t, sb);
    }
  }
  return tab_print(&t);
}

static int cmd_cluster(const opts_t *o, eddy_client_t *c) {
  eddy_cluster_t *m = NULL;
  int rc = eddy_cluster(c, &m);
  if (rc != EDDY_OK) return fail(o, c, rc);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    cluster_json(&b, m);
    ex = emit(&b);
    ed_buf_fini(&b);
  } else {
    ex = cluster_tables(m);
  }
  eddy_cluster_destroy(m);
  return ex;
}

int ed_cli_main(int argc, char **argv) {
  if (argc < 1 || !ed_cli_is_command(argv[0])) return ED_CLI_EXIT_USAGE;
  opts_t o;
  int ex = parse(argc, argv, &o);
  if (ex >= 0) return ex;
  eddy_options_t eo;
  memset(&eo, 0, sizeof eo);
  eo.timeout_ms = o.timeout_ms;
  char err[256];
  eddy_client_t *c = eddy_client_new(o.urls, o.nurls, &eo, err, sizeof err);
  if (c == NULL) return usage_error(o.cmd->name, "%s", err);
  const char *n = o.cmd->name;
  ex = strcmp(n, "get") == 0       ? cmd_get(&o, c)
       : strcmp(n, "scan") == 0    ? cmd_scan(&o, c)
       : strcmp(n, "windows") == 0 ? cmd_windows(&o, c)
       : strcmp(n, "views") == 0   ? cmd_views(&o, c)
                                   : cmd_cluster(&o, c);
  eddy_client_destroy(c);
  if (fflush(stdout) != 0 && ex == ED_CLI_EXIT_OK) {
    fprintf(stderr, "eddy %s: writing the output: %s\n", n, strerror(errno));
    ex = ED_CLI_EXIT_ERROR;
  }
  return ex;
}
