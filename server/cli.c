/* The command-line client: `eddy get|scan|windows|views|cluster`, built on
 * libeddy (no HTTP of its own). This file: the usage text, the commands'
 * options, and the dispatch to the commands (cli_cmds.c). Output is one
 * JSON document per command with --json or when stdout is not a terminal,
 * else aligned tables (cli_print.c, cli_format.c). Exit codes: see
 * ed_cli_usage_text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "server/cli.h"
#include "server/cli_int.h"

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

static const ed_cli_cmd_t cmds[] = {
    {"get", 2, "VIEW KEY [--min-offset P:O ...] [--allow-stale]", O_MINOFF | O_STALE},
    {"scan", 1, "VIEW [--from K] [--to K] [--limit N]", O_FROM | O_TO | O_LIMIT},
    {"windows", 2, "VIEW KEY [--from MS] [--to MS]", O_FROM | O_TO},
    {"views", 0, "", 0},
    {"cluster", 0, "", 0},
};

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

int ed__cli_parse_ll(const char *s, long long *out) {
  if (s == NULL || *s == '\0') return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = v;
  return 0;
}

/* Parses argv (argv[0]: the command). Returns -1 ok, else an exit code. */
static int parse(int argc, char **argv, ed_cli_opts_t *o) {
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
      if (o->nurls >= ED_CLI_MAX_URLS)
        return usage_error(name, "at most %d --url", ED_CLI_MAX_URLS);
      o->urls[o->nurls++] = val;
    } else if (strcmp(opt, "--timeout") == 0) {
      if (ed__cli_parse_ll(val, &n) != 0 || n <= 0 || n > 86400000)
        return usage_error(name, "--timeout: not a positive number of ms: '%s'", val);
      o->timeout_ms = (int)n;
    } else if (strcmp(opt, "--limit") == 0) {
      if (ed__cli_parse_ll(val, &n) != 0 || n <= 0)
        return usage_error(name, "--limit: not a positive integer: '%s'", val);
      o->limit = n;
    } else if (strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0) {
      if (strcmp(name, "windows") == 0 && ed__cli_parse_ll(val, &n) != 0)
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
      if (ed__cli_parse_ll(ps, &p) != 0 || p < 0 || p > INT32_MAX ||
          ed__cli_parse_ll(colon + 1, &off) != 0 || off < 0)
        return usage_error(name, "--min-offset: expected PARTITION:OFFSET, got '%s'", val);
      if (o->nmins >= ED_CLI_MAX_MIN_OFFSETS)
        return usage_error(name, "at most %d --min-offset", ED_CLI_MAX_MIN_OFFSETS);
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

int ed_cli_main(int argc, char **argv) {
  if (argc < 1 || !ed_cli_is_command(argv[0])) return ED_CLI_EXIT_USAGE;
  ed_cli_opts_t o;
  int ex = parse(argc, argv, &o);
  if (ex >= 0) return ex;
  eddy_options_t eo;
  memset(&eo, 0, sizeof eo);
  eo.timeout_ms = o.timeout_ms;
  char err[256];
  eddy_client_t *c = eddy_client_new(o.urls, o.nurls, &eo, err, sizeof err);
  if (c == NULL) return usage_error(o.cmd->name, "%s", err);
  const char *n = o.cmd->name;
  ex = strcmp(n, "get") == 0       ? ed__cli_cmd_get(&o, c)
       : strcmp(n, "scan") == 0    ? ed__cli_cmd_scan(&o, c)
       : strcmp(n, "windows") == 0 ? ed__cli_cmd_windows(&o, c)
       : strcmp(n, "views") == 0   ? ed__cli_cmd_views(&o, c)
                                   : ed__cli_cmd_cluster(&o, c);
  eddy_client_destroy(c);
  if (fflush(stdout) != 0 && ex == ED_CLI_EXIT_OK) {
    fprintf(stderr, "eddy %s: writing the output: %s\n", n, strerror(errno));
    ex = ED_CLI_EXIT_ERROR;
  }
  return ex;
}
