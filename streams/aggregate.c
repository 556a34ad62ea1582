#include "streams/aggregate.h"

#include <string.h>

#include "common/err.h"

void ed_agg_plan_init(ed_agg_plan_t *plan, const ed_view_def_t *def) {
  memset(plan, 0, sizeof *plan);
  for (size_t a = 0; a < def->naggs; a++) {
    plan->field_of_agg[a] = -1;
    const char *f = def->aggs[a].field;
    if (f == NULL) continue;
    size_t i;
    for (i = 0; i < plan->nfields; i++)
      if (plan->fields[i].len == strlen(f) && memcmp(plan->fields[i].name, f, plan->fields[i].len) == 0)
        break;
    if (i == plan->nfields) {
      plan->fields[i].name = f;
      plan->fields[i].len = strlen(f);
      plan->nfields++;
    }
    plan->field_of_agg[a] = (int)i;
  }
}

void ed_agg_init_row(const ed_view_def_t *def, ed_col_t *cols) {
  for (size_t a = 0; a < def->naggs; a++) {
    cols[a].type = ED_COL_INT;
    cols[a].v.i = 0;
  }
}

int ed_agg_check(const ed_view_def_t *def, const ed_agg_plan_t *plan, const ed_json_val_t *vals,
                 int *missing, const char **field) {
  for (size_t a = 0; a < def->naggs; a++) {
    int f = plan->field_of_agg[a];
    if (f < 0) continue;
    if (vals[f].type == ED_JSON_MISSING) {
      *missing = 1;
      *field = def->aggs[a].field;
      return ED_EBADREC;
    }
    if (vals[f].type != ED_JSON_NUMBER) {
      *missing = 0;
      *field = def->aggs[a].field;
      return ED_EBADREC;
    }
  }
  return ED_OK;
}

/* Adds a number to a sum column: exact int64 while every input is an integer
 * and nothing overflows, double from then on. */
static void sum_add(ed_col_t *col, const ed_json_val_t *v) {
  int is_int;
  int64_t i;
  double d;
  ed_json_number(v, &is_int, &i, &d);
  if (col->type == ED_COL_INT && is_int) {
    int64_t r;
    if (!__builtin_add_overflow(col->v.i, i, &r)) {
      col->v.i = r;
      return;
    }
  }
  if (col->type == ED_COL_INT) {
    col->type = ED_COL_DOUBLE;
    col->v.d = (double)col->v.i;
  }
  col->v.d += d;
}

void ed_agg_apply(const ed_view_def_t *def, const ed_agg_plan_t *plan, const ed_json_val_t *vals,
                  ed_col_t *cols) {
  for (size_t a = 0; a < def->naggs; a++) {
    switch (def->aggs[a].kind) {
    case ED_AGG_COUNT: cols[a].v.i++; break;
    case ED_AGG_SUM: sum_add(&cols[a], &vals[plan->field_of_agg[a]]); break;
    }
  }
}
