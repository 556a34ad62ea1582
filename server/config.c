#include "server/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/err.h"
#include "common/timeutil.h"
#include "server/config_int.h"
#include "streams/expr.h"

/* ---- top-level keys ---- */

static int parse_app(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, "app", "a name [A-Za-z0-9_.-]+", &s);
  if (rc != ED_OK) return rc;
  if (!ed__cfg_is_name(s))
    return ed__cfg_fail(cx, n, "app", "expected a name [A-Za-z0-9_.-]+, got '%s'", s);
  return ed__cfg_set_str(cx, &c->app, s);
}

static int parse_instance_id(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                             const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, "instance_id", "an id [A-Za-z0-9_.:-]+", &s);
  if (rc != ED_OK) return rc;
  if (!ed__cfg_is_instance_id(s))
    return ed__cfg_fail(cx, n, "instance_id", "expected an id [A-Za-z0-9_.:-]+, got '%s'", s);
  return ed__cfg_set_str(cx, &c->instance_id, s);
}

static int add_kafka_prop(ctx_t *cx, ed_config_t *c, const char *name, const char *value) {
  ed_kv_t *kv = &c->kafka[c->nkafka];
  kv->name = strdup(name);
  kv->value = strdup(value);
  if (kv->name == NULL || kv->value == NULL) {
    free(kv->name);
    free(kv->value);
    kv->name = kv->value = NULL;
    return ed__cfg_oom(cx);
  }
  c->nkafka++;
  return ED_OK;
}

static int parse_kafka(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  int rc = ed__cfg_check_mapping(cx, n, "kafka", "a mapping of librdkafka properties");
  if (rc != ED_OK) return rc;
  if (ed__cfg_map_len(n) > 0) {
    c->kafka = calloc(ed__cfg_map_len(n), sizeof *c->kafka);
    if (c->kafka == NULL) return ed__cfg_oom(cx);
  }
  int have_servers = 0;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    const char *name = ed__cfg_scalar_text(ed__cfg_pair_key(cx, p));
    yaml_node_t *v = ed__cfg_pair_value(cx, p);
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, "kafka", name);
    const char *value;
    if (strcmp(name, "bootstrap.servers") == 0) {
      rc = ed__cfg_get_scalar(cx, v, field, "host:port[,host:port...] or embedded", &value);
      if (rc != ED_OK) return rc;
      have_servers = 1;
      if (strcmp(value, "embedded") == 0) {
        c->embedded_kafka = 1;
        continue;
      }
      rc = ed__cfg_set_str(cx, &c->bootstrap_servers, value);
    } else {
      /* librdkafka checks the property itself when the client is created. */
      rc = ed__cfg_get_scalar(cx, v, field, "a property value", &value);
      if (rc == ED_OK) rc = add_kafka_prop(cx, c, name, value);
    }
    if (rc != ED_OK) return rc;
  }
  if (!have_servers) return ed__cfg_fail(cx, key, "kafka.bootstrap.servers", "missing (required)");
  if (c->nkafka == 0) {
    free(c->kafka);
    c->kafka = NULL;
  }
  return ED_OK;
}

/* http.tls: { cert: FILE, key: FILE }; the files are read at start. */
static int parse_tls(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  int rc = ed__cfg_check_mapping(cx, n, "http.tls", "a mapping (cert, key)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p), *v = ed__cfg_pair_value(cx, p);
    const char *name = ed__cfg_scalar_text(k), *s;
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, "http.tls", name);
    int is_cert = strcmp(name, "cert") == 0;
    if (!is_cert && strcmp(name, "key") != 0)
      return ed__cfg_fail(cx, k, field, "unknown key (expected cert or key)");
    rc =
        ed__cfg_get_scalar(cx, v, field, is_cert ? "a PEM certificate file" : "a PEM key file", &s);
    if (rc == ED_OK) rc = ed__cfg_set_str(cx, is_cert ? &c->http_tls_cert : &c->http_tls_key, s);
    if (rc != ED_OK) return rc;
  }
  if (c->http_tls_cert == NULL) return ed__cfg_fail(cx, key, "http.tls.cert", "missing (required)");
  if (c->http_tls_key == NULL) return ed__cfg_fail(cx, key, "http.tls.key", "missing (required)");
  return ED_OK;
}

static int parse_http(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  int rc = ed__cfg_check_mapping(cx, n, "http",
                                 "a mapping (listen, advertised_url, tls, ready_max_lag, threads)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p), *v = ed__cfg_pair_value(cx, p);
    const char *name = ed__cfg_scalar_text(k), *s;
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, "http", name);
    if (strcmp(name, "listen") == 0) {
      rc = ed__cfg_get_scalar(cx, v, field, "host:port", &s);
      if (rc != ED_OK) return rc;
      if (ed__cfg_listen_port(s) < 0)
        return ed__cfg_fail(cx, v, field, "expected host:port, got '%s'", s);
      rc = ed__cfg_set_str(cx, &c->http_listen, s);
    } else if (strcmp(name, "advertised_url") == 0) {
      rc = ed__cfg_get_scalar(cx, v, field, "a URL", &s);
      if (rc != ED_OK) return rc;
      if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return ed__cfg_fail(cx, v, field, "expected an http:// or https:// URL, got '%s'", s);
      rc = ed__cfg_set_str(cx, &c->http_advertised_url, s);
    } else if (strcmp(name, "tls") == 0) {
      rc = parse_tls(cx, c, k, v);
    } else if (strcmp(name, "ready_max_lag") == 0) {
      int lag;
      rc = ed__cfg_get_int(cx, v, field, 0, 999999999, &lag);
      c->http_ready_max_lag = lag;
    } else if (strcmp(name, "threads") == 0) {
      rc = ed__cfg_get_int(cx, v, field, 1, 64, &c->http_threads);
    } else {
      return ed__cfg_fail(
          cx, k, field,
          "unknown key (expected listen, advertised_url, tls, ready_max_lag or threads)");
    }
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

static int parse_data_dir(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, "data_dir", "a directory", &s);
  return rc != ED_OK ? rc : ed__cfg_set_str(cx, &c->data_dir, s);
}

static int parse_commit_interval(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                                 const yaml_node_t *n) {
  (void)key;
  return ed__cfg_get_int(cx, n, "commit_interval_ms", 1, 60000, &c->commit_interval_ms);
}

static int parse_standbys(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                          const yaml_node_t *n) {
  (void)key;
  return ed__cfg_get_int(cx, n, "num_standby_replicas", 0, 16, &c->num_standby_replicas);
}

static int parse_guarantee(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                           const yaml_node_t *n) {
  (void)key;
  const char *s = NULL;
  int rc = ed__cfg_get_scalar(cx, n, "processing.guarantee", "at_least_once or exactly_once", &s);
  if (rc != ED_OK) return rc;
  if (strcmp(s, "at_least_once") == 0)
    c->exactly_once = 0;
  else if (strcmp(s, "exactly_once") == 0 || strcmp(s, "exactly_once_v2") == 0)
    c->exactly_once = 1;
  else
    return ed__cfg_fail(cx, n, "processing.guarantee",
                        "expected at_least_once or exactly_once, got '%s'", s);
  return ED_OK;
}

static int parse_embedded_kafka(ctx_t *cx, ed_config_t *c, const yaml_node_t *key,
                                const yaml_node_t *n) {
  (void)key;
  int rc = ed__cfg_check_mapping(cx, n, "embedded_kafka", "a mapping (partitions)");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p);
    char field[CFG_FIELD_MAX];
    ed__cfg_subfield(field, "embedded_kafka", ed__cfg_scalar_text(k));
    if (strcmp(ed__cfg_scalar_text(k), "partitions") != 0)
      return ed__cfg_fail(cx, k, field, "unknown key (expected partitions)");
    rc = ed__cfg_get_int(cx, ed__cfg_pair_value(cx, p), field, 1, 256, &c->embedded_partitions);
    if (rc != ED_OK) return rc;
  }
  return ED_OK;
}

static const struct {
  const char *key;
  int required;
  /* @p key is the key's node: a missing field inside is reported at its line. */
  int (*parse)(ctx_t *cx, ed_config_t *c, const yaml_node_t *key, const yaml_node_t *n);
} top_keys[] = {
    {"app", 1, parse_app},
    {"instance_id", 0, parse_instance_id},
    {"kafka", 1, parse_kafka},
    {"http", 0, parse_http},
    {"data_dir", 0, parse_data_dir},
    {"commit_interval_ms", 0, parse_commit_interval},
    {"num_standby_replicas", 0, parse_standbys},
    {"processing.guarantee", 0, parse_guarantee},
    {"embedded_kafka", 0, parse_embedded_kafka},
    {"views", 1, ed__cfg_parse_views},
};

#define TOP_KEYS (sizeof top_keys / sizeof top_keys[0])

static int parse_root(ctx_t *cx, ed_config_t *c, const yaml_node_t *root) {
  if (root->type != YAML_MAPPING_NODE)
    return ed__cfg_fail(cx, root, "",
                        "expected a mapping (app, kafka, views, ...) at the top level, got %s",
                        ed__cfg_node_kind(root));
  int rc = ed__cfg_check_mapping(cx, root, "", "a mapping");
  if (rc != ED_OK) return rc;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
       p++) {
    yaml_node_t *k = ed__cfg_pair_key(cx, p);
    const char *key = ed__cfg_scalar_text(k);
    size_t i = 0;
    while (i < TOP_KEYS && strcmp(top_keys[i].key, key) != 0)
      i++;
    if (i == TOP_KEYS) return ed__cfg_fail(cx, k, key, "unknown key");
    rc = top_keys[i].parse(cx, c, k, ed__cfg_pair_value(cx, p));
    if (rc != ED_OK) return rc;
  }
  for (size_t i = 0; i < TOP_KEYS; i++)
    if (top_keys[i].required && ed__cfg_map_get(cx, root, top_keys[i].key) == NULL)
      return ed__cfg_fail(cx, NULL, top_keys[i].key, "missing (required)");
  return ED_OK;
}

/* Fills what the file left out. */
static int apply_defaults(ctx_t *cx, ed_config_t *c) {
  int rc = ED_OK;
  if (c->http_listen == NULL) rc = ed__cfg_set_str(cx, &c->http_listen, "0.0.0.0:8080");
  if (rc == ED_OK && c->http_advertised_url == NULL) {
    char url[64];
    snprintf(url, sizeof url, "%s://localhost:%ld", c->http_tls_cert ? "https" : "http",
             ed__cfg_listen_port(c->http_listen));
    rc = ed__cfg_set_str(cx, &c->http_advertised_url, url);
  }
  if (rc == ED_OK && c->instance_id == NULL) {
    /* <hostname>:<http port>; a host name is [A-Za-z0-9.-], so the default
     * is a valid id (anything else in it becomes '_'). */
    char host[256] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') strcpy(host, "localhost");
    host[sizeof host - 1] = '\0';
    for (char *h = host; *h; h++)
      if (!ed__cfg_is_instance_id((char[2]){*h, '\0'})) *h = '_';
    char id[300];
    snprintf(id, sizeof id, "%s:%ld", host, ed__cfg_listen_port(c->http_listen));
    rc = ed__cfg_set_str(cx, &c->instance_id, id);
  }
  if (rc == ED_OK && c->data_dir == NULL) rc = ed__cfg_set_str(cx, &c->data_dir, "./data");
  return rc;
}

/* ---- file ---- */

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    return ED_EIO;
  }
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      char *p = cap <= CFG_MAX_FILE ? realloc(data, cap) : NULL;
      if (p == NULL) {
        free(data);
        fclose(f);
        if (cap > CFG_MAX_FILE) {
          snprintf(err, errlen, "%s: cannot read: larger than %u bytes", path, CFG_MAX_FILE);
          return ED_EIO;
        }
        snprintf(err, errlen, "%s: out of memory", path);
        return ED_ENOMEM;
      }
      data = p;
    }
    size_t n = fread(data + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  int bad = ferror(f);
  int saved = errno;
  fclose(f);
  if (bad) {
    free(data);
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(saved));
    return ED_EIO;
  }
  *out = data;
  *outlen = len;
  return ED_OK;
}

static int syntax_error(const char *path, const yaml_parser_t *yp, char *err, size_t errlen) {
  if (yp->error == YAML_MEMORY_ERROR) {
    snprintf(err, errlen, "%s: out of memory", path);
    return ED_ENOMEM;
  }
  snprintf(err, errlen, "%s:%lu: YAML syntax error: %s", path,
           (unsigned long)yp->problem_mark.line + 1, yp->problem ? yp->problem : "unknown problem");
  return ED_ECONFIG;
}

/* Parses the text into @p doc; a second document in the file is an error. */
static int load_yaml(const char *path, const char *text, size_t len, yaml_document_t *doc,
                     char *err, size_t errlen) {
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp)) {
    snprintf(err, errlen, "%s: out of memory", path);
    return ED_ENOMEM;
  }
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  int rc = ED_OK;
  if (!yaml_parser_load(&yp, doc)) {
    rc = syntax_error(path, &yp, err, errlen);
    yaml_parser_delete(&yp);
    return rc;
  }
  yaml_document_t extra;
  if (!yaml_parser_load(&yp, &extra)) {
    rc = syntax_error(path, &yp, err, errlen);
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    if (root) {
      snprintf(err, errlen, "%s:%lu: expected one YAML document, found another", path,
               (unsigned long)root->start_mark.line + 1);
      rc = ED_ECONFIG;
    }
    yaml_document_delete(&extra);
  }
  if (rc != ED_OK) yaml_document_delete(doc);
  yaml_parser_delete(&yp);
  return rc;
}

int ed_config_load(const char *path, ed_config_t **out, char *err, size_t errlen) {
  char *text;
  size_t len;
  int rc = read_file(path, &text, &len, err, errlen);
  if (rc != ED_OK) return rc;
  yaml_document_t doc;
  rc = load_yaml(path, text, len, &doc, err, errlen);
  free(text);
  if (rc != ED_OK) return rc;

  ctx_t cx = {path, &doc, err, errlen};
  ed_config_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    rc = ed__cfg_oom(&cx);
  } else {
    c->embedded_partitions = 4;
    c->commit_interval_ms = 100;
    c->http_ready_max_lag = 1000;
    c->http_threads = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
      snprintf(err, errlen, "%s: empty configuration (expected app, kafka and views)", path);
      rc = ED_ECONFIG;
    } else {
      rc = ed__cfg_set_str(&cx, &c->path, path);
      if (rc == ED_OK) rc = parse_root(&cx, c, root);
      if (rc == ED_OK) rc = apply_defaults(&cx, c);
    }
  }
  yaml_document_delete(&doc);
  if (rc != ED_OK) {
    ed_config_free(c);
    return rc;
  }
  *out = c;
  return ED_OK;
}

void ed_config_free(ed_config_t *c) {
  if (c == NULL) return;
  free(c->path);
  free(c->app);
  free(c->bootstrap_servers);
  for (size_t i = 0; i < c->nkafka; i++) {
    free(c->kafka[i].name);
    free(c->kafka[i].value);
  }
  free(c->kafka);
  free(c->instance_id);
  free(c->http_listen);
  free(c->http_advertised_url);
  free(c->http_tls_cert);
  free(c->http_tls_key);
  free(c->data_dir);
  for (size_t i = 0; i < c->nviews; i++)
    ed_view_def_fini(&c->views[i]);
  free(c->views);
  free(c);
}
