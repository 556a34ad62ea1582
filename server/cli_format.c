/* The command-line client's pure parts: aligned tables, ISO-8601 times and
 * the mapping of libeddy errors to exit codes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "server/cli.h"

int ed_cli_exit_code(int err) {
  switch (err) {
  case EDDY_OK: return ED_CLI_EXIT_OK;
  case EDDY_ERR_NOT_FOUND: return ED_CLI_EXIT_NOT_FOUND;
  case EDDY_ERR_UNAVAILABLE:
  case EDDY_ERR_TIMEOUT:
  case EDDY_ERR_TRANSPORT: return ED_CLI_EXIT_UNAVAILABLE;
  default: return ED_CLI_EXIT_ERROR;
  }
}

/* Characters of UTF-8 text: bytes that do not continue a sequence. */
static size_t text_width(const char *s) {
  size_t w = 0;
  for (; s && *s; s++)
    if (((unsigned char)*s & 0xC0) != 0x80) w++;
  return w;
}

static void put_line(ed_buf_t *b, const char *const *cells, size_t ncols, const size_t *width) {
  size_t line = b->len;
  for (size_t c = 0; c < ncols; c++) {
    const char *s = cells[c] ? cells[c] : "";
    if (c > 0) ed_buf_puts(b, "  ");
    ed_buf_puts(b, s);
    for (size_t w = text_width(s); w < width[c]; w++)
      ed_buf_putc(b, ' ');
  }
  while (b->len > line && b->data && b->data[b->len - 1] == ' ')
    b->data[--b->len] = '\0';
  ed_buf_putc(b, '\n');
}

char *ed_cli_table_format(const char *const *head, size_t ncols, const char *const *cells,
                          size_t nrows) {
  size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
  if (width == NULL) return NULL;
  for (size_t c = 0; c < ncols; c++)
    width[c] = text_width(head[c]);
  for (size_t r = 0; r < nrows; r++)
    for (size_t c = 0; c < ncols; c++) {
      size_t w = text_width(cells[r * ncols + c]);
      if (w > width[c]) width[c] = w;
    }
  ed_buf_t b;
  ed_buf_init(&b);
  put_line(&b, head, ncols, width);
  for (size_t r = 0; r < nrows; r++)
    put_line(&b, cells + r * ncols, ncols, width);
  free(width);
  if (ed_buf_failed(&b)) {
    ed_buf_fini(&b);
    return NULL;
  }
  return b.data; /* the buffer's memory becomes the caller's */
}

void ed_cli_iso8601(int64_t ms, char *out, size_t cap) {
  int64_t s = ms / 1000, frac = ms % 1000;
  if (frac < 0) frac += 1000, s -= 1;
  time_t t = (time_t)s;
  struct tm tm;
  if (gmtime_r(&t, &tm) == NULL) {
    snprintf(out, cap, "%lld", (long long)ms);
    return;
  }
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", day, (int)frac);
}
