/* Aggregate functions over decoded records: how a view's columns start and
 * how one record updates them. Internal to streams/. */
#ifndef ED_STREAMS_AGGREGATE_H
#define ED_STREAMS_AGGREGATE_H

#include <stddef.h>

#include "common/json.h"
#include "store/row.h"
#include "streams/view.h"

/* What a view needs from each record: the distinct JSON fields its
 * aggregates read, and for each aggregate the index of its field. */
typedef struct {
  ed_json_field_t fields[ED_VIEW_MAX_AGGS];
  size_t nfields;
  int field_of_agg[ED_VIEW_MAX_AGGS]; /* -1 when the aggregate reads no field */
} ed_agg_plan_t;

void ed_agg_plan_init(ed_agg_plan_t *plan, const ed_view_def_t *def);

/* Sets @p cols to each aggregate's initial value (count 0, sum 0). */
void ed_agg_init_row(const ed_view_def_t *def, ed_col_t *cols);

/* Checks the record's field values before any column changes, so a bad
 * record leaves the row untouched. Returns ED_OK, or ED_EBADREC with
 * *missing = 1 (field absent) or 0 (not a number) and the field's name in
 * *field. */
int ed_agg_check(const ed_view_def_t *def, const ed_agg_plan_t *plan, const ed_json_val_t *vals,
                 int *missing, const char **field);

/* Applies one checked record to @p cols. */
void ed_agg_apply(const ed_view_def_t *def, const ed_agg_plan_t *plan, const ed_json_val_t *vals,
                  ed_col_t *cols);

#endif
