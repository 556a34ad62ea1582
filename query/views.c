/* GET /v1/views: the view definitions this instance serves. */
#include <string.h>

#include "query/query.h"

static void put_str(ed_buf_t *out, const char *s) {
  if (s == NULL)
    ed_buf_puts(out, "null");
  else
    ed_buf_append_json_string(out, s, strlen(s));
}

static void put_view(ed_buf_t *out, ed_view_t *v) {
  const ed_view_def_t *def = ed_view_def(v);
  ed_buf_puts(out, "{\"name\":");
  put_str(out, def->name);
  ed_buf_puts(out, ",\"from\":");
  put_str(out, def->from);
  ed_buf_puts(out, ",\"format\":");
  put_str(out, ed_format_name(def->format));
  /* grouping is by the record key; windows are not supported yet */
  ed_buf_puts(out, ",\"key\":null,\"aggregates\":[");
  for (size_t i = 0; i < def->naggs; i++) {
    const ed_agg_def_t *a = &def->aggs[i];
    if (i > 0) ed_buf_putc(out, ',');
    ed_buf_puts(out, "{\"column\":");
    put_str(out, a->column);
    ed_buf_puts(out, ",\"function\":");
    put_str(out, ed_agg_kind_name(a->kind));
    if (a->field != NULL) {
      ed_buf_puts(out, ",\"field\":");
      put_str(out, a->field);
    }
    ed_buf_putc(out, '}');
  }
  ed_buf_puts(out, "],\"window\":null,\"partitions\":");
  ed_buf_append_i64(out, ed_view_partition_count(v));
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
