/* The command-line client (`eddy get|scan|windows|views|cluster`), built on
 * libeddy. cli.c parses and dispatches, cli_cmds.c runs the commands,
 * cli_print.c prints their answers; cli_format.c holds the pure parts
 * (tables, times, exit codes) that the unit tests call. */
#ifndef ED_SERVER_CLI_H
#define ED_SERVER_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes of the client commands. */
#define ED_CLI_EXIT_OK 0
#define ED_CLI_EXIT_NOT_FOUND 1
#define ED_CLI_EXIT_USAGE 2
#define ED_CLI_EXIT_UNAVAILABLE 3
#define ED_CLI_EXIT_ERROR 4

/* Runs client command argv[0] ("get", "scan", "windows", "views",
 * "cluster") with its arguments; returns the exit code. */
int ed_cli_main(int argc, char **argv);

/* 1 if @p cmd is one of the client commands. */
int ed_cli_is_command(const char *cmd);

/* The usage text of the client commands (for `eddy help`). */
extern const char ed_cli_usage_text[];

/* The exit code of a libeddy result (EDDY_OK, EDDY_ERR_*): 0 ok,
 * 1 not found, 3 unavailable (503 after retries, transport, timeout),
 * 4 any other error. */
int ed_cli_exit_code(int eddy_err);

/* An aligned text table: @p ncols header names, then @p nrows rows of
 * @p ncols cells (row-major; a NULL cell is empty). Columns are left-aligned,
 * padded to their widest cell (counted in UTF-8 characters) and separated by
 * two spaces; lines have no trailing spaces and end in '\n'. Returns the
 * text (caller frees with free()) or NULL when out of memory. */
char *ed_cli_table_format(const char *const *head, size_t ncols, const char *const *cells,
                          size_t nrows);

/* @p ms (epoch milliseconds) as ISO-8601 UTC, "2024-05-01T12:00:00.000Z",
 * into @p out (at least 32 bytes). */
void ed_cli_iso8601(int64_t ms, char *out, size_t cap);

#endif
