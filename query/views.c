/* GET /v1/views: the view definitions this instance serves. */
#include <string.h>

#include "query/query.h"

static void put_str(ed_buf_t *out, const char *s) {
  if (s == NULL)
    ed_buf_puts(out, "null");
  else
    ed_buf_append_json_string(out, s, strlen(s));
}

static void put_ms(ed_buf_t *out, const char *name, int64_t v) {
  ed_buf_puts(out, ",\"");
  ed_buf_puts(out, name);
  ed_buf_puts(out, "\":");
  ed_buf_append_i64(out, v);
}

static void put_window(ed_buf_t *out, const ed_window_spec_t *w) {
  if (w->type == ED_WIN_NONE) {
    ed_buf_puts(out, "null");
    return;
  }
  ed_buf_puts(out, "{\"type\":");
  put_str(out, ed_win_type_name(w->type));
  if (w->type == ED_WIN_SESSION) {
    put_ms(out, "gap_ms", w->gap);
  } else {
    put_ms(out, "size_ms", w->size);
    if (w->type == ED_WIN_HOPPING) put_ms(out, "advance_ms", w->advance);
  }
  put_ms(out, "grace_ms", w->grace);
  put_ms(out, "retention_ms", w->retention);
  ed_buf_putc(out, '}');
}

static const char *kind_name(ed_view_t *v) {
  switch (ed_view_kind(v)) {
  case ED_STORE_KIND_WINDOWED: return "windowed";
  case ED_STORE_KIND_SESSION: return "session";
  case ED_STORE_KIND_KV: break;
  }
  return ed_view_is_latest(ed_view_def(v)) ? "latest" : "table";
}

static void put_view(ed_buf_t *out, ed_view_t *v) {
  const ed_view_def_t *def = ed_view_def(v);
  ed_buf_puts(out, "{\"name\":");
  put_str(out, def->name);
  ed_buf_puts(out, ",\"from\":");
  put_str(out, def->from);
  ed_buf_puts(out, ",\"format\":");
  put_str(out, ed_format_name(def->format));
  ed_buf_puts(out, ",\"key\":");
  put_str(out, def->key);
  ed_buf_puts(out, ",\"where\":");
  put_str(out, def->where);
  ed_buf_puts(out, ",\"timestamp\":");
  put_str(out, def->timestamp);
  ed_buf_puts(out, ",\"aggregates\":[");
  for (size_t i = 0; i < def->naggs; i++) {
    const ed_agg_def_t *a = &def->aggs[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"column\":");
    put_str(out, a->column);
    ed_buf_puts(out, ",\"function\":");
    put_str(out, ed_agg_kind_name(a->kind));
    if (a->arg != NULL) {
      ed_buf_puts(out, ",\"arg\":");
      put_str(out, a->arg);
    }
    ed_buf_puts(out, ",\"type\":");
    put_str(out, ed_agg_result_type(a->kind));
    ed_buf_putc(out, '}');
  }
  ed_buf_puts(out, "],\"window\":");
  put_window(out, &def->window);
  ed_buf_puts(out, ",\"to\":");
  put_str(out, def->to);
  ed_buf_puts(out, ",\"on_error\":");
  put_str(out, ed_on_error_name(def->on_error));
  ed_buf_puts(out, ",\"partitions\":");
  ed_buf_append_i64(out, ed_view_partition_count(v));
  ed_buf_puts(out, ",\"kind\":");
  put_str(out, kind_name(v));
  ed_buf_putc(out, '}');
}

int ed_query_views(ed_engine_t *e, ed_buf_t *out) {
  ed_buf_puts(out, "{\"views\":[");
  size_t n = ed_engine_view_count(e);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) ed_buf_putc(out, ',');
    put_view(out, ed_engine_view_at(e, i));
  }
  ed_buf_puts(out, "]}");
  return 200;
}
