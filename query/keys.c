/* The keys of a multi-get, and parsing its request body: a JSON array of
 * strings or a protobuf MultiGetRequest. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "proto/eddy.pb-c.h"
#include "query/query.h"
#include "query/query_int.h"

void ed_query_keys_init(ed_query_keys_t *k) {
  memset(k, 0, sizeof *k);
  ed_buf_init(&k->bytes);
}

void ed_query_keys_reset(ed_query_keys_t *k) {
  ed_buf_reset(&k->bytes);
  k->n = 0;
}

void ed_query_keys_fini(ed_query_keys_t *k) {
  ed_buf_fini(&k->bytes);
  free(k->off);
  free(k->len);
  memset(k, 0, sizeof *k);
}

int ed_query_keys_add(ed_query_keys_t *k, const void *key, size_t len) {
  if (k->n == k->cap) {
    size_t nc = k->cap ? k->cap * 2 : 64;
    size_t *off = realloc(k->off, nc * sizeof *off);
    if (off == NULL) return ED_ENOMEM;
    k->off = off;
    size_t *l = realloc(k->len, nc * sizeof *l);
    if (l == NULL) return ED_ENOMEM;
    k->len = l;
    k->cap = nc;
  }
  k->off[k->n] = k->bytes.len;
  k->len[k->n] = len;
  if (len > 0) ed_buf_append(&k->bytes, key, len);
  if (ed_buf_reserve(&k->bytes, 1) != 0 || ed_buf_failed(&k->bytes)) return ED_ENOMEM;
  k->n++;
  return ED_OK;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  return i;
}

static int too_many(ed_query_result_t *res) {
  return ed_query_fail(res, 413, "too_large", "a multi-get takes at most %d keys",
                       ED_QUERY_MAX_KEYS);
}

/* @p body has been validated as one JSON value. */
static int parse_json(const char *body, size_t len, ed_query_keys_t *keys, ed_query_result_t *res) {
  size_t i = skip_ws(body, len, 0);
  if (i >= len || body[i] != '[')
    return ed_query_fail(res, 400, "bad_request",
                         "the request body must be a JSON array of keys (strings)");
  i = skip_ws(body, len, i + 1);
  if (i < len && body[i] == ']') return 0;
  char *buf = NULL;
  size_t bufcap = 0;
  int status = 0;
  for (size_t idx = 0; status == 0; idx++) {
    if (i >= len || body[i] != '"') {
      status = ed_query_fail(res, 400, "bad_request",
                             "element %zu of the request body is not a string (keys are JSON "
                             "strings)",
                             idx);
      break;
    }
    if (keys->n == ED_QUERY_MAX_KEYS) {
      status = too_many(res);
      break;
    }
    size_t s = ++i; /* the string's contents, still escaped */
    while (i < len && body[i] != '"')
      i += body[i] == '\\' ? 2 : 1;
    if (i >= len) { /* cannot happen in valid JSON */
      status = ed_query_fail(res, 400, "bad_request", "malformed JSON: unterminated string");
      break;
    }
    ed_json_val_t v = {ED_JSON_STRING, body + s, i - s};
    if (i - s > bufcap) {
      free(buf);
      bufcap = i - s;
      buf = malloc(bufcap);
      if (buf == NULL) {
        status = ed_query_fail(res, 500, "internal", "out of memory");
        break;
      }
    }
    long n = ed_json_unescape(&v, buf, bufcap); /* never longer than escaped */
    if (n < 0 || ed_query_keys_add(keys, buf, (size_t)n) != ED_OK) {
      status = ed_query_fail(res, 500, "internal", "out of memory");
      break;
    }
    i = skip_ws(body, len, i + 1);
    if (i < len && body[i] == ',') {
      i = skip_ws(body, len, i + 1);
      continue;
    }
    break; /* ']' (validated) */
  }
  free(buf);
  return status;
}

int ed_query_parse_keys(const char *body, size_t len, ed_query_enc_t enc, ed_query_keys_t *keys,
                        ed_query_result_t *res) {
  ed_query_keys_reset(keys);
  if (len > ED_QUERY_MAX_BODY)
    return ed_query_fail(res, 413, "too_large",
                         "request body is %zu bytes; a multi-get body is at most %u bytes", len,
                         (unsigned)ED_QUERY_MAX_BODY);
  if (enc == ED_QUERY_PROTOBUF) {
    Eddy__V1__MultiGetRequest *m =
        eddy__v1__multi_get_request__unpack(NULL, len, (const uint8_t *)body);
    if (m == NULL)
      return ed_query_fail(res, 400, "bad_request",
                           "the request body is not a valid eddy.v1.MultiGetRequest");
    int status = 0;
    if (m->n_keys > ED_QUERY_MAX_KEYS) status = too_many(res);
    for (size_t i = 0; i < m->n_keys && status == 0; i++)
      if (ed_query_keys_add(keys, m->keys[i].data, m->keys[i].len) != ED_OK)
        status = ed_query_fail(res, 500, "internal", "out of memory");
    eddy__v1__multi_get_request__free_unpacked(m, NULL);
    return status;
  }
  size_t errpos = 0;
  if (len == 0)
    return ed_query_fail(res, 400, "bad_request",
                         "the request body is empty; send a JSON array of keys (strings)");
  if (ed_json_scan(body, len, NULL, 0, NULL, &errpos) != ED_OK)
    return ed_query_fail(res, 400, "bad_request", "malformed JSON in the request body at byte %zu",
                         errpos);
  return parse_json(body, len, keys, res);
}
