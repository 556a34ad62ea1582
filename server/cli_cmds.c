/* The command-line client's commands: get, scan, windows, views and
 * cluster, each a libeddy call whose answer is printed as JSON or tables. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "eddy/client.h"
#include "server/cli.h"
#include "server/cli_int.h"

#define SCAN_PAGE_MAX 1000

int ed__cli_cmd_get(const ed_cli_opts_t *o, eddy_client_t *c) {
  const char *view = o->pos[0], *key = o->pos[1];
  eddy_get_opts_t g = {
      .min_offsets = o->mins, .n_min_offsets = o->nmins, .allow_stale = o->allow_stale};
  eddy_row_t *r = NULL;
  int rc = eddy_get(c, view, key, strlen(key), &g, &r);
  if (rc != EDDY_OK) return ed__cli_fail(o, c, rc);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"view\":");
    ed__cli_put_json_cstr(&b, view);
    ed_buf_puts(&b, ",\"key\":");
    ed__cli_put_key_json(&b, r);
    ed_buf_printf(&b, ",\"partition\":%d,\"offset\":", (int)eddy_row_partition(r));
    ed__cli_put_num_or_null(&b, eddy_row_offset(r));
    ed_buf_puts(&b, ",\"value\":");
    ed__cli_put_value_json(&b, r);
    ed_buf_putc(&b, '}');
    ex = ed__cli_emit(&b);
    ed_buf_fini(&b);
  } else {
    ed_cli_tab_t t = {0};
    ed__cli_tab_row_head(&t, r);
    size_t nv = t.ncols - 1;
    ed__cli_tab_head(&t, "partition");
    ed__cli_tab_head(&t, "offset");
    ed__cli_tab_key_cell(&t, r);
    ed__cli_tab_row_cells(&t, r, 1, nv);
    ed__cli_tab_cellf(&t, "%d", (int)eddy_row_partition(r));
    ed__cli_tab_cellf(&t, "%lld", (long long)eddy_row_offset(r));
    ex = ed__cli_tab_print(&t);
  }
  eddy_row_destroy(r);
  return ex;
}

int ed__cli_cmd_scan(const ed_cli_opts_t *o, eddy_client_t *c) {
  int page = o->limit > 0 && o->limit < SCAN_PAGE_MAX ? (int)o->limit : SCAN_PAGE_MAX;
  eddy_scan_t *it = eddy_scan_open(c, o->pos[0], o->from, o->to, page);
  if (it == NULL) return ed__cli_fail(o, c, EDDY_ERR_INVALID);
  ed_buf_t b;
  ed_buf_init(&b);
  ed_cli_tab_t t = {0};
  size_t nv = 0;
  long long n = 0;
  int rc = 0;
  if (o->json) {
    ed_buf_puts(&b, "{\"view\":");
    ed__cli_put_json_cstr(&b, o->pos[0]);
    ed_buf_puts(&b, ",\"rows\":[");
  }
  const eddy_row_t *r;
  while ((o->limit < 0 || n < o->limit) && (rc = eddy_scan_next(it, &r)) == 1) {
    if (o->json) {
      ed_buf_puts(&b, n ? ",{\"key\":" : "{\"key\":");
      ed__cli_put_key_json(&b, r);
      ed_buf_puts(&b, ",\"value\":");
      ed__cli_put_value_json(&b, r);
      ed_buf_putc(&b, '}');
    } else {
      if (n == 0) {
        ed__cli_tab_row_head(&t, r);
        nv = t.ncols - 1;
      }
      ed__cli_tab_key_cell(&t, r);
      ed__cli_tab_row_cells(&t, r, 1, nv);
    }
    n++;
  }
  int ex;
  if (rc < 0) {
    ex = ed__cli_fail(o, c, rc); /* nothing printed: no partial document */
    ed__cli_tab_free(&t);
  } else if (o->json) {
    ed_buf_printf(&b, "],\"count\":%lld}", n);
    ex = ed__cli_emit(&b);
  } else if (n == 0) {
    printf("(no rows)\n");
    ex = ED_CLI_EXIT_OK;
  } else {
    ex = ed__cli_tab_print(&t);
  }
  ed_buf_fini(&b);
  eddy_scan_close(it);
  return ex;
}

int ed__cli_cmd_windows(const ed_cli_opts_t *o, eddy_client_t *c) {
  const char *view = o->pos[0], *key = o->pos[1];
  long long from = EDDY_NO_BOUND, to = EDDY_NO_BOUND;
  if (o->from) ed__cli_parse_ll(o->from, &from);
  if (o->to) ed__cli_parse_ll(o->to, &to);
  eddy_windows_t *w = NULL;
  int rc = eddy_windows(c, view, key, strlen(key), from, to, &w);
  if (rc != EDDY_OK) return ed__cli_fail(o, c, rc);
  size_t n = eddy_windows_count(w);
  char s[40], e[40];
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"view\":");
    ed__cli_put_json_cstr(&b, view);
    ed_buf_puts(&b, ",\"key\":");
    ed__cli_put_json_cstr(&b, key);
    ed_buf_printf(&b, ",\"partition\":%d,\"offset\":", (int)eddy_windows_partition(w));
    ed__cli_put_num_or_null(&b, eddy_windows_offset(w));
    ed_buf_puts(&b, ",\"windows\":[");
    for (size_t i = 0; i < n; i++) {
      int64_t st = eddy_windows_start(w, i), en = eddy_windows_end(w, i);
      ed_cli_iso8601(st, s, sizeof s);
      ed_cli_iso8601(en, e, sizeof e);
      ed_buf_printf(&b, "%s{\"start\":%lld,\"end\":%lld,\"start_iso\":\"%s\",\"end_iso\":\"%s\",",
                    i ? "," : "", (long long)st, (long long)en, s, e);
      ed_buf_puts(&b, "\"value\":");
      ed__cli_put_value_json(&b, eddy_windows_value(w, i));
      ed_buf_putc(&b, '}');
    }
    ed_buf_puts(&b, "]}");
    ex = ed__cli_emit(&b);
    ed_buf_fini(&b);
  } else {
    ed_cli_tab_t t = {0};
    ed__cli_tab_head(&t, "start");
    ed__cli_tab_head(&t, "end");
    const eddy_row_t *r0 = n ? eddy_windows_value(w, 0) : NULL;
    for (size_t i = 0; r0 && i < eddy_row_ncolumns(r0); i++) {
      const char *nm = eddy_row_column_name(r0, i);
      ed__cli_tab_head(&t, nm[0] ? nm : "value");
    }
    size_t nv = t.ncols - 2;
    for (size_t i = 0; i < n; i++) {
      ed_cli_iso8601(eddy_windows_start(w, i), s, sizeof s);
      ed_cli_iso8601(eddy_windows_end(w, i), e, sizeof e);
      ed__cli_tab_cell(&t, s);
      ed__cli_tab_cell(&t, e);
      ed__cli_tab_row_cells(&t, eddy_windows_value(w, i), 2, nv);
    }
    ex = ed__cli_tab_print(&t);
  }
  eddy_windows_destroy(w);
  return ex;
}

int ed__cli_cmd_views(const ed_cli_opts_t *o, eddy_client_t *c) {
  eddy_views_t *v = NULL;
  int rc = eddy_views(c, &v);
  if (rc != EDDY_OK) return ed__cli_fail(o, c, rc);
  size_t n = eddy_views_count(v);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    ed_buf_puts(&b, "{\"views\":[");
    for (size_t i = 0; i < n; i++) {
      ed_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
      ed__cli_put_json_cstr(&b, eddy_views_name(v, i));
      ed_buf_puts(&b, ",\"kind\":");
      ed__cli_put_json_cstr(&b, eddy_views_kind(v, i));
      ed_buf_puts(&b, ",\"from\":");
      ed__cli_put_json_cstr(&b, eddy_views_from(v, i));
      ed_buf_printf(&b, ",\"partitions\":%d}", (int)eddy_views_partitions(v, i));
    }
    ed_buf_puts(&b, "]}");
    ex = ed__cli_emit(&b);
    ed_buf_fini(&b);
  } else {
    ed_cli_tab_t t = {0};
    ed__cli_tab_head(&t, "view");
    ed__cli_tab_head(&t, "kind");
    ed__cli_tab_head(&t, "from");
    ed__cli_tab_head(&t, "partitions");
    for (size_t i = 0; i < n; i++) {
      ed__cli_tab_cell(&t, eddy_views_name(v, i));
      ed__cli_tab_cell(&t, eddy_views_kind(v, i));
      ed__cli_tab_cell(&t, eddy_views_from(v, i));
      ed__cli_tab_cellf(&t, "%d", (int)eddy_views_partitions(v, i));
    }
    ex = ed__cli_tab_print(&t);
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
    ed__cli_put_json_cstr(b, eddy_cluster_instance_id(m, i));
    ed_buf_puts(b, ",\"url\":");
    ed__cli_put_json_cstr(b, eddy_cluster_instance_url(m, i));
    ed_buf_printf(b, ",\"self\":%s,\"views\":[",
                  eddy_cluster_instance_self(m, i) ? "true" : "false");
    for (size_t v = 0; v < eddy_cluster_instance_view_count(m, i); v++) {
      ed_buf_puts(b, v ? ",{\"view\":" : "{\"view\":");
      ed__cli_put_json_cstr(b, eddy_cluster_instance_view(m, i, v));
      ed_buf_puts(b, ",\"partitions\":[");
      for (size_t k = 0; k < eddy_cluster_instance_partition_count(m, i, v); k++) {
        eddy_cluster_partition_t h;
        eddy_cluster_instance_partition(m, i, v, k, &h);
        ed_buf_printf(b, "%s{\"partition\":%d,\"state\":", k ? "," : "", (int)h.partition);
        ed__cli_put_json_cstr(b, h.state);
        ed_buf_puts(b, ",\"offset\":");
        ed__cli_put_num_or_null(b, h.offset);
        ed_buf_puts(b, ",\"lag\":");
        ed__cli_put_num_or_null(b, h.lag);
        ed_buf_puts(b, ",\"restored\":");
        ed__cli_put_num_or_null(b, h.restored);
        ed_buf_puts(b, ",\"restore_total\":");
        ed__cli_put_num_or_null(b, h.restore_total);
        ed_buf_puts(b, ",\"lag_ms\":");
        ed__cli_put_num_or_null(b, h.lag_ms);
        ed_buf_putc(b, '}');
      }
      ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "],\"views\":[");
  for (size_t v = 0; v < eddy_cluster_view_count(m); v++) {
    ed_buf_puts(b, v ? ",{\"view\":" : "{\"view\":");
    ed__cli_put_json_cstr(b, eddy_cluster_view_name(m, v));
    ed_buf_printf(b, ",\"partitions\":%d,\"owners\":[", (int)eddy_cluster_view_partitions(m, v));
    for (size_t k = 0; k < eddy_cluster_view_owner_count(m, v); k++) {
      eddy_cluster_owner_t ow;
      eddy_cluster_view_owner(m, v, k, &ow);
      ed_buf_printf(b, "%s{\"partition\":%d,\"owner\":", k ? "," : "", (int)ow.partition);
      if (ow.owner)
        ed__cli_put_json_cstr(b, ow.owner);
      else
        ed_buf_puts(b, "null");
      ed_buf_puts(b, ",\"state\":");
      ed__cli_put_json_cstr(b, ow.state);
      ed_buf_puts(b, ",\"standbys\":[");
      for (size_t s = 0; s < ow.n_standbys; s++) {
        if (s) ed_buf_putc(b, ',');
        ed__cli_put_json_cstr(b, ow.standbys[s]);
      }
      ed_buf_puts(b, "]}");
    }
    ed_buf_puts(b, "]}");
  }
  ed_buf_puts(b, "]}");
}

static int cluster_tables(const eddy_cluster_t *m) {
  ed_cli_tab_t t = {0};
  ed__cli_tab_head(&t, "instance");
  ed__cli_tab_head(&t, "url");
  ed__cli_tab_head(&t, "answered");
  for (size_t i = 0; i < eddy_cluster_instance_count(m); i++) {
    ed__cli_tab_cell(&t, eddy_cluster_instance_id(m, i));
    ed__cli_tab_cell(&t, eddy_cluster_instance_url(m, i));
    ed__cli_tab_cell(&t, eddy_cluster_instance_self(m, i) ? "yes" : "");
  }
  int ex = ed__cli_tab_print(&t);
  if (ex != ED_CLI_EXIT_OK) return ex;
  putchar('\n');
  ed__cli_tab_head(&t, "view");
  ed__cli_tab_head(&t, "partition");
  ed__cli_tab_head(&t, "owner");
  ed__cli_tab_head(&t, "state");
  ed__cli_tab_head(&t, "progress");
  ed__cli_tab_head(&t, "standbys");
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
      ed__cli_tab_cell(&t, view);
      ed__cli_tab_cellf(&t, "%d", (int)ow.partition);
      ed__cli_tab_cell(&t, ow.owner ? ow.owner : "-");
      ed__cli_tab_cell(&t, ow.state);
      ed__cli_tab_cell(&t, prog);
      ed__cli_tab_cell(&t, sb);
    }
  }
  return ed__cli_tab_print(&t);
}

int ed__cli_cmd_cluster(const ed_cli_opts_t *o, eddy_client_t *c) {
  eddy_cluster_t *m = NULL;
  int rc = eddy_cluster(c, &m);
  if (rc != EDDY_OK) return ed__cli_fail(o, c, rc);
  int ex;
  if (o->json) {
    ed_buf_t b;
    ed_buf_init(&b);
    cluster_json(&b, m);
    ex = ed__cli_emit(&b);
    ed_buf_fini(&b);
  } else {
    ex = cluster_tables(m);
  }
  eddy_cluster_destroy(m);
  return ex;
}
