#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"

/* The test steps below fail the running cmocka test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>

/* ---- time ---- */

int64_t eh_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void eh_sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- processes ---- */

int eh_proc_spawn(eh_proc_t *p, const char *dir, const char *name, char *const argv[]) {
  memset(p, 0, sizeof(*p));
  snprintf(p->out_path, sizeof(p->out_path), "%s/%s.out", dir, name);
  snprintf(p->err_path, sizeof(p->err_path), "%s/%s.err", dir, name);
  /* Open the files before fork: after fork in a threaded process only
   * async-signal-safe calls are allowed. */
  int out = open(p->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err = open(p->err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0 || err < 0) {
    if (out >= 0)
      close(out);
    if (err >= 0)
      close(err);
    return -1;
  }
  /* Truncate stdout so eh_proc_first_line() sees this run's first line. */
  if (ftruncate(out, 0) != 0) {
    close(out);
    close(err);
    return -1;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(out);
    close(err);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv);
    static const char msg[] = "exec failed\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(127);
  }
  setpgid(pid, pid); /* also from the parent: no race with kill(-pid) */
  close(out);
  close(err);
  p->pid = pid;
  return 0;
}

static int exit_code(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

int eh_proc_alive(eh_proc_t *p) {
  if (p->pid <= 0 || p->exited)
    return 0;
  int st;
  pid_t r = waitpid(p->pid, &st, WNOHANG);
  if (r == p->pid) {
    p->exited = 1;
    p->status = st;
    return 0;
  }
  return 1;
}

int eh_proc_wait(eh_proc_t *p, int64_t timeout_ms) {
  if (p->pid <= 0)
    return -1;
  int64_t deadline = eh_now_ms() + timeout_ms;
  while (eh_proc_alive(p)) {
    if (eh_now_ms() >= deadline)
      return -1;
    eh_sleep_ms(10);
  }
  return exit_code(p->status);
}

int eh_proc_kill(eh_proc_t *p, int sig, int64_t timeout_ms) {
  if (p->pid <= 0)
    return -1;
  if (p->exited) {
    kill(-p->pid, SIGKILL); /* stragglers of the group, if any */
    return exit_code(p->status);
  }
  kill(-p->pid, sig);
  int rc = eh_proc_wait(p, sig == SIGKILL ? 10000 : timeout_ms);
  if (rc < 0) {
    kill(-p->pid, SIGKILL);
    rc = eh_proc_wait(p, 10000);
  } else {
    kill(-p->pid, SIGKILL);
  }
  return rc;
}

char *eh_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return NULL;
  }
  for (;;) {
    if (cap - n < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n - 1, f);
    if (r == 0)
      break;
    n += r;
  }
  fclose(f);
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

int eh_proc_first_line(eh_proc_t *p, char *line, size_t cap, int64_t timeout_ms) {
  int64_t deadline = eh_now_ms() + timeout_ms;
  for (;;) {
    size_t n = 0;
    char *s = eh_read_file(p->out_path, &n);
    if (s) {
      char *nl = memchr(s, '\n', n);
      if (nl) {
        size_t l = (size_t)(nl - s);
        if (l > 0 && s[l - 1] == '\r')
          l--;
        if (l >= cap)
          l = cap - 1;
        memcpy(line, s, l);
        line[l] = '\0';
        free(s);
        return 0;
      }
      free(s);
    }
    if (!eh_proc_alive(p) || eh_now_ms() >= deadline)
      return -1;
    eh_sleep_ms(20);
  }
}

void eh_proc_dump_err(const eh_proc_t *p, const char *label, size_t max) {
  size_t n = 0;
  char *s = eh_read_file(p->err_path, &n);
  if (!s)
    return;
  const char *from = n > max ? s + n - max : s;
  fprintf(stderr, "---- %s stderr (last %zu bytes of %s) ----\n%s\n---- end %s ----\n", label,
          n > max ? max : n, p->err_path, from, label);
  free(s);
}

/* ---- files and ports ---- */

int eh_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t al = sizeof(a);
  int port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &al) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

int eh_tmpdir(const char *prefix, char *out, size_t cap) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  int n = snprintf(out, cap, "%s/%sXXXXXX", base, prefix);
  if (n < 0 || (size_t)n >= cap)
    return -1;
  return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int eh_rm_rf(const char *path) {
  if (!path || !*path)
    return 0;
  return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0 : -1;
}

int eh_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  if (fclose(f) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

/* ---- HTTP ---- */

struct eh_http {
  CURL *curl;
  char *buf;
  size_t len, cap;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  eh_http_t *h = ud;
  size_t n = size * nmemb;
  if (h->len + n + 1 > h->cap) {
    size_t nc = h->cap ? h->cap : 4096;
    while (nc < h->len + n + 1)
      nc *= 2;
    char *nb = realloc(h->buf, nc);
    if (!nb)
      return 0;
    h->buf = nb;
    h->cap = nc;
  }
  memcpy(h->buf + h->len, ptr, n);
  h->len += n;
  h->buf[h->len] = '\0';
  return n;
}

eh_http_t *eh_http_create(void) {
  static int inited;
  if (!inited) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    inited = 1;
  }
  eh_http_t *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    return NULL;
  }
  return h;
}

void eh_http_destroy(eh_http_t *h) {
  if (!h)
    return;
  curl_easy_cleanup(h->curl);
  free(h->buf);
  free(h);
}

int eh_http_get(eh_http_t *h, const char *url, int64_t timeout_ms, const char **body, size_t *len) {
  h->len = 0;
  if (h->buf)
    h->buf[0] = '\0';
  CURL *c = h->curl;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  long status = 0;
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (body)
    *body = h->buf ? h->buf : "";
  if (len)
    *len = h->len;
  return rc == CURLE_OK ? (int)status : 0;
}

char *eh_url_escape(eh_http_t *h, const char *s, size_t len) {
  char *e = curl_easy_escape(h->curl, s, (int)len);
  if (!e)
    return NULL;
  char *r = strdup(e);
  curl_free(e);
  return r;
}

/* ---- JSON ---- */

static int get_field(const char *json, size_t len, const char *name, ed_json_val_t *v) {
  ed_json_field_t f = {name, strlen(name)};
  if (ed_json_scan(json, len, &f, 1, v, NULL) != 0)
    return -1;
  return v->type == ED_JSON_MISSING ? -1 : 0;
}

int eh_json_get_number(const char *json, size_t len, const char *name, int *is_int, int64_t *i,
                       double *d) {
  ed_json_val_t v;
  if (get_field(json, len, name, &v) != 0 || v.type != ED_JSON_NUMBER)
    return -1;
  return ed_json_number(&v, is_int, i, d) == 0 ? 0 : -1;
}

int eh_json_get_text(const char *json, size_t len, const char *name, char *out, size_t cap) {
  ed_json_val_t v;
  if (get_field(json, len, name, &v) != 0)
    return -1;
  if (v.type == ED_JSON_STRING) {
    long n = ed_json_unescape(&v, out, cap - 1);
    if (n < 0)
      return -1;
    out[n] = '\0';
    return 0;
  }
  if (v.len >= cap)
    return -1;
  memcpy(out, v.p, v.len);
  out[v.len] = '\0';
  return 0;
}

int eh_parse_key_answer(const char *body, size_t len, eh_key_answer_t *out) {
  static const ed_json_field_t f[4] = {{"key", 3}, {"value", 5}, {"partition", 9}, {"offset", 6}};
  ed_json_val_t v[4];
  memset(out, 0, sizeof(*out));
  if (ed_json_scan(body, len, f, 4, v, NULL) != 0)
    return -1;
  if (v[0].type != ED_JSON_STRING || v[1].type != ED_JSON_OBJECT || v[2].type != ED_JSON_NUMBER ||
      v[3].type != ED_JSON_NUMBER)
    return -1;
  long n = ed_json_unescape(&v[0], out->key, sizeof(out->key) - 1);
  if (n < 0)
    return -1;
  out->key[n] = '\0';
  out->key_len = (size_t)n;
  if (v[1].len >= sizeof(out->value))
    return -1;
  memcpy(out->value, v[1].p, v[1].len);
  out->value[v[1].len] = '\0';
  int is_int;
  double d;
  if (ed_json_number(&v[2], &is_int, &out->partition, &d) != 0 || !is_int)
    return -1;
  if (ed_json_number(&v[3], &is_int, &out->offset, &d) != 0 || !is_int)
    return -1;
  return 0;
}

static size_t skip_ws(const char *s, size_t len, size_t i) {
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    i++;
  return i;
}

int eh_json_array_next(const char *arr, size_t len, size_t *pos, const char **elem, size_t *elen) {
  size_t i = skip_ws(arr, len, *pos);
  if (*pos == 0) {
    if (i >= len || arr[i] != '[')
      return -1;
    i = skip_ws(arr, len, i + 1);
    if (i < len && arr[i] == ']') {
      *pos = i + 1;
      return 0;
    }
  } else {
    if (i >= len)
      return -1;
    if (arr[i] == ']')
      return 0;
    if (arr[i] != ',')
      return -1;
    i = skip_ws(arr, len, i + 1);
  }
  size_t start = i;
  int depth = 0, in_str = 0;
  for (; i < len; i++) {
    char c = arr[i];
    if (in_str) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_str = 0;
      continue;
    }
    if (c == '"')
      in_str = 1;
    else if (c == '{' || c == '[')
      depth++;
    else if (c == '}' || c == ']') {
      if (depth == 0)
        break;
      depth--;
    } else if (c == ',' && depth == 0)
      break;
  }
  if (i >= len || depth != 0 || in_str)
    return -1;
  size_t end = i;
  while (end > start && (arr[end - 1] == ' ' || arr[end - 1] == '\n' || arr[end - 1] == '\r' ||
                         arr[end - 1] == '\t'))
    end--;
  if (end == start)
    return -1;
  *elem = arr + start;
  *elen = end - start;
  *pos = i;
  return 1;
}

int eh_contains(const char *hay, const char *needle) {
  return hay && needle && strstr(hay, needle) != NULL;
}

/* ---- test steps ---- */

const char *eh_bin(const char *env) {
  const char *b = getenv(env);
  if (!b || !*b) fail_msg("%s is not set (ctest sets it)", env);
  return b;
}

uint64_t eh_rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

void eh_start_dev_kafka(eh_proc_t *kafka, const char *dir, char *const args[], char *bootstrap,
                        size_t cap) {
  char *argv[16] = {(char *)eh_bin("EDDY_BIN"), "dev-kafka", "--partitions", "4"};
  size_t n = 4;
  for (size_t i = 0; args[i]; i++) {
    if (n + 1 >= sizeof(argv) / sizeof(argv[0])) fail_msg("dev-kafka: too many arguments");
    argv[n++] = args[i];
  }
  argv[n] = NULL;
  assert_int_equal(eh_proc_spawn(kafka, dir, "dev-kafka", argv), 0);
  if (eh_proc_first_line(kafka, bootstrap, cap, 20000) != 0)
    fail_msg("eddy dev-kafka printed no bootstrap line within 20 s");
  if (!eh_contains(bootstrap, "127.0.0.1:")) fail_msg("unexpected bootstrap line '%s'", bootstrap);
}

void eh_start_serve(eh_proc_t *serve, const char *dir, const char *config_path, eh_http_t *h,
                    int port) {
  char *argv[] = {(char *)eh_bin("EDDY_BIN"), "serve", (char *)config_path, NULL};
  assert_int_equal(eh_proc_spawn(serve, dir, "serve", argv), 0);
  char url[256];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
  int64_t deadline = eh_now_ms() + 30000;
  for (;;) {
    int st = eh_http_get(h, url, 1000, NULL, NULL);
    if (st == 200) return;
    if (!eh_proc_alive(serve))
      fail_msg("eddy serve exited (code %d) before /healthz answered", eh_proc_wait(serve, 0));
    if (eh_now_ms() > deadline) fail_msg("GET /healthz: no 200 within 30 s (last status %d)", st);
    eh_sleep_ms(50);
  }
}

int eh_run_reset(const char *dir, const char *name, const char *config, const char *view,
                 char **out, char **err) {
  char *argv[] = {(char *)eh_bin("EDDY_BIN"), "reset",      "--config", (char *)config,
                  "--view",                   (char *)view, NULL};
  eh_proc_t p;
  assert_int_equal(eh_proc_spawn(&p, dir, name, argv), 0);
  int rc = eh_proc_wait(&p, 60000);
  if (rc < 0) {
    eh_proc_kill(&p, SIGKILL, 0);
    fail_msg("eddy reset (%s) still running after 60 s", name);
  }
  *out = eh_read_file(p.out_path, NULL);
  *err = eh_read_file(p.err_path, NULL);
  assert_non_null(*out);
  assert_non_null(*err);
  fprintf(stderr, "  eddy reset %s: exit %d\n%s%s", view, rc, *out, *err);
  return rc;
}

void eh_write_config(const char *path, const char *app, const char *bootstrap, int port,
                     const char *data_dir, const char *views) {
  static const char fmt[] = "app: %s\n"
                            "kafka:\n"
                            "  bootstrap.servers: \"%s\"\n"
                            "  session.timeout.ms: 6000\n"
                            "  fetch.wait.max.ms: 10\n"
                            "http: { listen: \"127.0.0.1:%d\" }\n"
                            "data_dir: %s\n"
                            "commit_interval_ms: 100\n"
                            "views:\n"
                            "%s";
  int n = snprintf(NULL, 0, fmt, app, bootstrap, port, data_dir, views);
  assert_true(n > 0);
  char *text = malloc((size_t)n + 1);
  assert_non_null(text);
  snprintf(text, (size_t)n + 1, fmt, app, bootstrap, port, data_dir, views);
  int rc = eh_write_file(path, text);
  free(text);
  assert_int_equal(rc, 0);
}

rd_kafka_t *eh_producer_new(const char *bootstrap, const char *partitioner,
                            void (*on_delivery)(rd_kafka_t *rk, const rd_kafka_message_t *m,
                                                void *opaque),
                            void *opaque) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  const char *props[][2] = {{"bootstrap.servers", bootstrap},
                            {"partitioner", partitioner},
                            {"linger.ms", "5"},
                            {"acks", "all"},
                            {"log_level", "3"}};
  for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
    if (props[i][1] == NULL) continue;
    if (rd_kafka_conf_set(c, props[i][0], props[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "producer conf %s: %s\n", props[i][0], err);
      rd_kafka_conf_destroy(c);
      return NULL;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
  rd_kafka_conf_set_opaque(c, opaque);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
  if (!rk) {
    fprintf(stderr, "producer: %s\n", err);
    rd_kafka_conf_destroy(c);
  }
  return rk;
}

int eh_produce(rd_kafka_t *rk, const char *topic, const void *key, size_t klen, const void *value,
               size_t vlen, int64_t ts, void *msg_opaque) {
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen),
        RD_KAFKA_V_VALUE((void *)value, vlen), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return (int)err;
    rd_kafka_poll(rk, 10);
  }
}

void eh_watermarks(rd_kafka_t *rk, const char *topic, int npart, int64_t *hi) {
  for (int p = 0; p < npart; p++) {
    int64_t lo;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi[p], 5000);
    if (err) fail_msg("watermarks of %s[%d]: %s", topic, p, rd_kafka_err2str(err));
  }
}

void eh_key_url(eh_http_t *h, int port, const char *view, const char *key, const char *query,
                char *url, size_t cap) {
  char *esc = eh_url_escape(h, key, strlen(key));
  assert_non_null(esc);
  snprintf(url, cap, "http://127.0.0.1:%d/v1/views/%s/keys/%s%s%s", port, view, esc,
           query && *query ? "?" : "", query ? query : "");
  free(esc);
}

int eh_stable_for(int ok, const int64_t *hi, int64_t *hi_prev, size_t n, int64_t *stable_since,
                  int64_t now, int64_t hold_ms) {
  if (ok && *stable_since >= 0 && memcmp(hi, hi_prev, n * sizeof(*hi)) == 0) {
    if (now - *stable_since >= hold_ms) return 1;
  } else if (ok) {
    *stable_since = now;
    memcpy(hi_prev, hi, n * sizeof(*hi));
  } else {
    *stable_since = -1;
  }
  return 0;
}

void eh_keep_or_rm(const char *dir) {
  if (getenv("EDDY_E2E_KEEP"))
    fprintf(stderr, "kept %s\n", dir);
  else
    eh_rm_rf(dir);
}
