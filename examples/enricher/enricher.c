/* enricher: a small service on libeddy, built from an installed copy with
 * pkg-config. It reads user ids from stdin, one a line, looks them up in a
 * count view of page views and prints one enriched line per id, in input
 * order:
 *
 *   user_7 viewed 12 pages (partition 2)
 *   nobody viewed no pages
 *
 * Ids are looked up in batches of up to 64 with one eddy_multi_get (split by
 * owner inside libeddy); with --positions each id is an eddy_get instead and
 * the line also names the offset the answer reflects ("(partition 2, offset
 * 120)"), what a caller would hand back as min_offset for read-your-writes.
 *
 *   enricher [--url URL ...] [--view VIEW] [--positions] < ids
 *
 * Exit status: 0, or 1 when a lookup failed (the message on stderr). */
#include <eddy/client.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64
#define MAX_SEEDS 8
#define MAX_ID 256

static int64_t count_of(const eddy_row_t *r) {
  int i = eddy_row_column_index(r, "count");
  int64_t n = 0;
  if (i < 0 || eddy_row_int(r, (size_t)i, &n) != EDDY_OK) return -1;
  return n;
}

static void print_row(const char *id, const eddy_row_t *r, int with_offset) {
  if (r == NULL || !eddy_row_found(r)) {
    printf("%s viewed no pages\n", id);
    return;
  }
  int64_t n = count_of(r);
  printf("%s viewed %lld page%s (partition %d", id, (long long)n, n == 1 ? "" : "s",
         (int)eddy_row_partition(r));
  if (with_offset) printf(", offset %lld", (long long)eddy_row_offset(r));
  printf(")\n");
}

/* Looks up @p n ids with one multi-get and prints them. 0 or -1. */
static int enrich_batch(eddy_client_t *c, const char *view, char (*ids)[MAX_ID], size_t n) {
  const void *keys[BATCH] = {0};
  size_t lens[BATCH] = {0};
  for (size_t i = 0; i < n; i++)
    keys[i] = ids[i], lens[i] = strlen(ids[i]);
  eddy_rows_t *rows = NULL;
  int rc = eddy_multi_get(c, view, keys, lens, n, &rows);
  if (rc != EDDY_OK) {
    fprintf(stderr, "enricher: multi-get: %s: %s\n", eddy_err_str(rc), eddy_last_error(c));
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    print_row(ids[i], eddy_rows_at(rows, i), 0);
  eddy_rows_destroy(rows);
  return 0;
}

/* Looks up one id with eddy_get, printing its position too. 0 or -1. */
static int enrich_one(eddy_client_t *c, const char *view, const char *id) {
  eddy_row_t *row = NULL;
  int rc = eddy_get(c, view, id, strlen(id), NULL, &row);
  if (rc != EDDY_OK && rc != EDDY_ERR_NOT_FOUND) {
    fprintf(stderr, "enricher: get %s: %s: %s\n", id, eddy_err_str(rc), eddy_last_error(c));
    return -1;
  }
  print_row(id, row, 1);
  eddy_row_destroy(row);
  return 0;
}

int main(int argc, char **argv) {
  const char *seeds[MAX_SEEDS];
  size_t nseeds = 0;
  const char *view = "user_views";
  int positions = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--url") == 0 && i + 1 < argc && nseeds < MAX_SEEDS)
      seeds[nseeds++] = argv[++i];
    else if (strcmp(argv[i], "--view") == 0 && i + 1 < argc)
      view = argv[++i];
    else if (strcmp(argv[i], "--positions") == 0)
      positions = 1;
    else {
      fprintf(stderr, "usage: enricher [--url URL ...] [--view VIEW] [--positions] < ids\n");
      return 2;
    }
  }
  if (nseeds == 0) seeds[nseeds++] = "http://localhost:8080";
  char err[256];
  eddy_client_t *c = eddy_client_new(seeds, nseeds, NULL, err, sizeof err);
  if (c == NULL) {
    fprintf(stderr, "enricher: %s\n", err);
    return 1;
  }
  static char ids[BATCH][MAX_ID];
  char line[MAX_ID];
  size_t n = 0;
  int failed = 0;
  while (!failed && fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0') continue;
    if (positions) {
      failed = enrich_one(c, view, line) != 0;
      continue;
    }
    memcpy(ids[n++], line, sizeof line);
    if (n == BATCH) {
      failed = enrich_batch(c, view, ids, n) != 0;
      n = 0;
    }
  }
  if (!failed && n > 0) failed = enrich_batch(c, view, ids, n) != 0;
  eddy_client_destroy(c);
  return failed ? 1 : 0;
}
