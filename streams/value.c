#include "streams/value.h"

#include <string.h>

#include "common/err.h"
#include "common/json.h"

const char *ed_value_type_name(ed_vtype_t t) {
  switch (t) {
  case ED_V_MISSING: return "missing";
  case ED_V_NULL: return "null";
  case ED_V_BOOL: return "bool";
  case ED_V_INT: return "int";
  case ED_V_DOUBLE: return "double";
  case ED_V_STRING: return "string";
  case ED_V_JSON: return "object or array";
  }
  return "unknown";
}

int ed_value_string(const ed_value_t *v, ed_buf_t *scratch, const char **p, size_t *len) {
  if (v->type != ED_V_STRING) return ED_EINVAL;
  if (!v->v.s.escaped || memchr(v->v.s.p, '\\', v->v.s.len) == NULL) {
    *p = v->v.s.p;
    *len = v->v.s.len;
    return ED_OK;
  }
  ed_buf_reset(scratch);
  /* Unescaping never makes a string longer. */
  if (ed_buf_reserve(scratch, v->v.s.len + 1) != ED_OK) return ED_ENOMEM;
  ed_json_val_t jv = {ED_JSON_STRING, v->v.s.p, v->v.s.len};
  long n = ed_json_unescape(&jv, scratch->data, scratch->cap);
  if (n < 0) return ED_ENOMEM; /* cannot happen: cap >= len */
  scratch->len = (size_t)n;
  if (scratch->len < scratch->cap) scratch->data[scratch->len] = '\0';
  *p = scratch->data;
  *len = scratch->len;
  return ED_OK;
}

int ed_value_key_bytes(const ed_value_t *v, ed_buf_t *scratch, const char **p, size_t *len) {
  switch (v->type) {
  case ED_V_STRING: return ed_value_string(v, scratch, p, len);
  case ED_V_BOOL:
    *p = v->v.b ? "true" : "false";
    *len = v->v.b ? 4 : 5;
    return ED_OK;
  case ED_V_INT:
    ed_buf_reset(scratch);
    ed_buf_append_i64(scratch, v->v.i);
    break;
  case ED_V_DOUBLE:
    ed_buf_reset(scratch);
    ed_buf_append_double(scratch, v->v.d);
    break;
  default: return ED_EBADREC;
  }
  if (ed_buf_failed(scratch)) return ED_ENOMEM;
  *p = scratch->data;
  *len = scratch->len;
  return ED_OK;
}

int ed_value_number(const ed_value_t *v, double *d) {
  if (v->type == ED_V_INT)
    *d = (double)v->v.i;
  else if (v->type == ED_V_DOUBLE)
    *d = v->v.d;
  else
    return ED_EINVAL;
  return ED_OK;
}
