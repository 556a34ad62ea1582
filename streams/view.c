#include "streams/view.h"

#include <stdlib.h>
#include <string.h>

const char *ed_format_name(ed_format_t f) {
  switch (f) {
  case ED_FORMAT_JSON: return "json";
  case ED_FORMAT_STRING: return "string";
  }
  return "unknown";
}

const char *ed_agg_kind_name(ed_agg_kind_t k) {
  switch (k) {
  case ED_AGG_COUNT: return "count";
  case ED_AGG_SUM: return "sum";
  }
  return "unknown";
}

void ed_view_def_fini(ed_view_def_t *def) {
  free(def->name);
  free(def->from);
  for (size_t i = 0; i < def->naggs; i++) {
    free(def->aggs[i].column);
    free(def->aggs[i].field);
  }
  memset(def, 0, sizeof *def);
}
