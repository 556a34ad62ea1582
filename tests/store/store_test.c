/* Unit tests for store/store.c: commits, metadata, map growth, concurrency,
 * the expiry index. */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "store/store.h"

#define MiB ((size_t)1 << 20)

/* ---- helpers ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void make_tmp(char *buf, size_t len) {
  snprintf(buf, len, "/tmp/eddy-store-XXXXXX");
  assert_non_null(mkdtemp(buf));
}

static ed_store_t *open_store(const char *dir, size_t map, size_t max) {
  ed_store_opts_t o = {.map_size = map, .map_size_max = max, .no_sync = 1};
  ed_store_t *s = NULL;
  char err[256] = "";
  int rc = ed_store_open(dir, &o, &s, err, sizeof err);
  if (rc != ED_OK)
    fail_msg("open %s: %s", dir, err);
  return s;
}

static int commit1(ed_store_t *s, const char *k, const char *v) {
  ed_store_put_t p = {k, strlen(k), v, v ? strlen(v) : 0, 0};
  return ed_store_commit(s, &p, 1, NULL, 0, NULL, 0);
}

/* Returns ED_OK with the value in @p out (NUL-terminated), or the error. */
static int get_str(ed_store_t *s, const char *k, char *out, size_t cap) {
  ed_store_read_t r;
  int rc = ed_store_read_begin(s, &r);
  const void *v;
  size_t n;
  if (rc == ED_OK)
    rc = ed_store_read_get(&r, k, strlen(k), &v, &n);
  if (rc == ED_OK) {
    if (n >= cap)
      n = cap - 1;
    memcpy(out, v, n);
    out[n] = '\0';
  }
  ed_store_read_end(&r);
  return rc;
}

static uint64_t row_count(ed_store_t *s) {
  uint64_t n = 0;
  assert_int_equal(ed_store_row_count(s, &n), ED_OK);
  return n;
}

/* Big rows: key "r<batch>.<i>", value 4000 bytes derived from the key. */
#define BIG_VLEN 4000

static void big_key(char *k, size_t cap, int batch, int i) { snprintf(k, cap, "r%d.%d", batch, i); }

static void big_val(uint8_t *v, int batch, int i) {
  for (int j = 0; j < BIG_VLEN; j++)
    v[j] = (uint8_t)(batch * 31 + i * 7 + j);
}

static int commit_big(ed_store_t *s, int batch, int nrows, int64_t offset, char *err,
                      size_t errlen) {
  ed_store_put_t *p = calloc((size_t)nrows, sizeof *p);
  char(*keys)[32] = calloc((size_t)nrows, sizeof *keys);
  uint8_t *vals = malloc((size_t)nrows * BIG_VLEN);
  assert_true(p && keys && vals);
  for (int i = 0; i < nrows; i++) {
    big_key(keys[i], sizeof keys[i], batch, i);
    big_val(vals + (size_t)i * BIG_VLEN, batch, i);
    p[i] = (ed_store_put_t){keys[i], strlen(keys[i]), vals + (size_t)i * BIG_VLEN, BIG_VLEN, 0};
  }
  ed_store_meta_put_t m = {ED_STORE_META_OFFSET, offset};
  int rc = ed_store_commit(s, p, (size_t)nrows, &m, 1, err, errlen);
  free(p);
  free(keys);
  free(vals);
  return rc;
}

/* 1 if every row of @p batch reads back intact, 0 if none exist, -1 otherwise.
 */
static int check_big(ed_store_t *s, int batch, int nrows) {
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  uint8_t want[BIG_VLEN];
  int found = 0, missing = 0;
  for (int i = 0; i < nrows; i++) {
    char k[32];
    big_key(k, sizeof k, batch, i);
    const void *v;
    size_t n;
    int rc = ed_store_read_get(&r, k, strlen(k), &v, &n);
    if (rc == ED_ENOTFOUND) {
      missing++;
      continue;
    }
    big_val(want, batch, i);
    if (rc == ED_OK && n == BIG_VLEN && memcmp(v, want, n) == 0)
      found++;
  }
  ed_store_read_end(&r);
  if (found == nrows)
    return 1;
  if (missing == nrows)
    return 0;
  return -1;
}

/* ---- tests ---- */

static void test_open_close(void **state) {
  (void)state;
  char tmp[64], dir[128], err[256] = "";
  make_tmp(tmp, sizeof tmp);
  snprintf(dir, sizeof dir, "%s/view/3", tmp);
  ed_store_t *s = open_store(dir, 0, 0);
  assert_string_equal(ed_store_dir(s), dir);
  assert_int_equal(ed_store_map_size(s), 64 * MiB);
  assert_int_equal(row_count(s), 0);
  int64_t v;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &v), ED_ENOTFOUND);
  ed_store_close(s);
  ed_store_close(NULL);

  /* a regular file where the directory should be */
  char file[160];
  snprintf(file, sizeof file, "%s/file", tmp);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  s = (ed_store_t *)1;
  assert_int_not_equal(ed_store_open(file, NULL, &s, err, sizeof err), ED_OK);
  assert_null(s);
  assert_true(strlen(err) > 0);
  assert_int_not_equal(ed_store_open(file, NULL, &s, NULL, 0), ED_OK);
  rm_rf(tmp);
}

static void test_commit_atomic(void **state) {
  (void)state;
  char dir[64], err[256] = "", buf[64];
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 0);
  char badkey[600];
  memset(badkey, 'k', sizeof badkey);
  ed_store_put_t p[4] = {
      {"a", 1, "1", 1, 0},
      {"b", 1, "2", 1, 0},
      {"c", 1, "3", 1, 0},
      {badkey, sizeof badkey, "4", 1, 0},
  };
  ed_store_meta_put_t m[2] = {{ED_STORE_META_OFFSET, 10}, {ED_STORE_META_STREAM_TIME, 99}};
  assert_int_equal(ed_store_commit(s, p, 4, m, 2, err, sizeof err), ED_EINVAL);
  assert_non_null(strstr(err, "key length 600"));
  assert_int_equal(ed_store_commit(s, p, 4, m, 2, NULL, 0), ED_EINVAL);
  assert_int_equal(row_count(s), 0);
  int64_t v;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &v), ED_ENOTFOUND);
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_STREAM_TIME, &v), ED_ENOTFOUND);

  /* empty key is rejected too; 511 bytes is the largest key accepted */
  ed_store_put_t empty = {"", 0, "x", 1, 0};
  assert_int_equal(ed_store_commit(s, &empty, 1, NULL, 0, NULL, 0), ED_EINVAL);
  p[3].klen = 511;
  assert_int_equal(ed_store_commit(s, p, 4, m, 2, err, sizeof err), ED_OK);
  assert_int_equal(row_count(s), 4);
  assert_int_equal(get_str(s, "b", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "2");
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &v), ED_OK);
  assert_int_equal(v, 10);
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_STREAM_TIME, &v), ED_OK);
  assert_int_equal(v, 99);

  /* meta only, puts only, and an empty batch */
  assert_int_equal(ed_store_commit(s, NULL, 0, m, 1, NULL, 0), ED_OK);
  assert_int_equal(ed_store_commit(s, p, 1, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(ed_store_commit(s, NULL, 0, NULL, 0, NULL, 0), ED_OK);
  ed_store_close(s);
  rm_rf(dir);
}

static void test_meta_reopen(void **state) {
  (void)state;
  char dir[64], buf[64];
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 0);
  ed_store_put_t p = {"user:1", 6, "alice", 5, 0};
  ed_store_meta_put_t m[4] = {{ED_STORE_META_OFFSET, 12345},
                              {ED_STORE_META_STREAM_TIME, -5},
                              {"min", INT64_MIN},
                              {"max", INT64_MAX}};
  assert_int_equal(ed_store_commit(s, &p, 1, m, 4, NULL, 0), ED_OK);
  m[0].value = 12346; /* overwrite */
  assert_int_equal(ed_store_commit(s, NULL, 0, m, 1, NULL, 0), ED_OK);
  ed_store_close(s);

  s = open_store(dir, MiB, 0);
  int64_t v = 0;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &v), ED_OK);
  assert_int_equal(v, 12346);
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_STREAM_TIME, &v), ED_OK);
  assert_int_equal(v, -5);
  assert_int_equal(ed_store_meta_get(s, "min", &v), ED_OK);
  assert_true(v == INT64_MIN);
  assert_int_equal(ed_store_meta_get(s, "max", &v), ED_OK);
  assert_true(v == INT64_MAX);
  assert_int_equal(ed_store_meta_get(s, "nope", &v), ED_ENOTFOUND);
  assert_int_equal(get_str(s, "user:1", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "alice");
  /* rows and meta live apart: a row named like a meta value is not one */
  assert_int_equal(get_str(s, ED_STORE_META_OFFSET, buf, sizeof buf), ED_ENOTFOUND);

  /* several reads in one snapshot */
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  assert_int_equal(ed_store_read_meta(&r, ED_STORE_META_OFFSET, &v), ED_OK);
  assert_int_equal(v, 12346);
  const void *val;
  size_t n;
  assert_int_equal(ed_store_read_get(&r, "user:1", 6, &val, &n), ED_OK);
  assert_int_equal(n, 5);
  assert_memory_equal(val, "alice", 5);
  assert_int_equal(ed_store_read_get(&r, "user:2", 6, &val, &n), ED_ENOTFOUND);
  ed_store_read_end(&r);
  ed_store_read_end(&r); /* second end is harmless */
  ed_store_close(s);
  rm_rf(dir);
}

static void test_delete_and_clear(void **state) {
  (void)state;
  char dir[64], buf[64];
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 0);
  ed_store_put_t p[3] = {{"a", 1, "1", 1, 0}, {"b", 1, "2", 1, 0}, {"e", 1, "", 0, 0}};
  assert_int_equal(ed_store_commit(s, p, 3, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(get_str(s, "e", buf, sizeof buf), ED_OK); /* empty value */
  assert_string_equal(buf, "");
  ed_store_put_t d[2] = {{"a", 1, NULL, 0, 0}, {"zz", 2, NULL, 0, 0}}; /* zz never existed */
  assert_int_equal(ed_store_commit(s, d, 2, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(get_str(s, "a", buf, sizeof buf), ED_ENOTFOUND);
  assert_int_equal(get_str(s, "b", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "2");
  assert_int_equal(row_count(s), 2);
  /* put then delete of one key in one batch: the last change wins */
  ed_store_put_t pd[2] = {{"c", 1, "3", 1, 0}, {"c", 1, NULL, 0, 0}};
  assert_int_equal(ed_store_commit(s, pd, 2, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(get_str(s, "c", buf, sizeof buf), ED_ENOTFOUND);
  assert_int_equal(commit1(s, "c", "4"), ED_OK);

  ed_store_meta_put_t m = {ED_STORE_META_OFFSET, 7};
  assert_int_equal(ed_store_commit(s, NULL, 0, &m, 1, NULL, 0), ED_OK);
  assert_int_equal(ed_store_clear(s, NULL, 0), ED_OK);
  assert_int_equal(row_count(s), 0);
  int64_t v;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &v), ED_ENOTFOUND);
  assert_int_equal(commit1(s, "a", "again"), ED_OK);
  assert_int_equal(get_str(s, "a", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "again");
  ed_store_close(s);
  rm_rf(dir);
}

static void test_map_growth(void **state) {
  (void)state;
  char dir[64], err[256] = "";
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 256 * MiB);
  assert_int_equal(ed_store_map_size(s), MiB);
  enum { BATCHES = 20, ROWS = 256 }; /* 20 x 256 x 4000 B = ~20 MiB */
  for (int b = 0; b < BATCHES; b++) {
    int rc = commit_big(s, b, ROWS, b + 1, err, sizeof err);
    if (rc != ED_OK)
      fail_msg("batch %d: %s", b, err);
  }
  assert_true(ed_store_map_size(s) >= 16 * MiB);
  assert_true(ed_store_map_size(s) <= 256 * MiB);
  assert_int_equal(row_count(s), BATCHES * ROWS);
  for (int b = 0; b < BATCHES; b++)
    assert_int_equal(check_big(s, b, ROWS), 1);
  size_t grown = ed_store_map_size(s);
  ed_store_close(s);

  /* reopening with a small map_size keeps the data (LMDB keeps the file's size)
   */
  s = open_store(dir, MiB, 256 * MiB);
  assert_true(ed_store_map_size(s) >= grown);
  int64_t off;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &off), ED_OK);
  assert_int_equal(off, BATCHES);
  assert_int_equal(check_big(s, BATCHES - 1, ROWS), 1);
  ed_store_close(s);
  rm_rf(dir);
}

static void test_map_too_big(void **state) {
  (void)state;
  char dir[64], err[256] = "";
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 4 * MiB);
  enum { ROWS = 128 }; /* ~0.5 MiB per batch */
  int b, rc = ED_OK;
  for (b = 0; b < 20; b++) {
    rc = commit_big(s, b, ROWS, b + 1, err, sizeof err);
    if (rc != ED_OK)
      break;
  }
  assert_int_equal(rc, ED_ETOOBIG);
  assert_true(b >= 3); /* some batches fit before the limit */
  assert_non_null(strstr(err, "map_size_max"));
  assert_int_equal(ed_store_map_size(s), 4 * MiB);
  /* prior state intact, the failed batch left nothing */
  for (int i = 0; i < b; i++)
    assert_int_equal(check_big(s, i, ROWS), 1);
  assert_int_equal(check_big(s, b, ROWS), 0);
  int64_t off;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_OFFSET, &off), ED_OK);
  assert_int_equal(off, b);
  assert_int_equal(row_count(s), (uint64_t)b * ROWS);
  /* deleting still works in a full map and frees room */
  for (int i = 0; i < ROWS; i++) {
    char k[32];
    big_key(k, sizeof k, 0, i);
    assert_int_equal(commit1(s, k, NULL), ED_OK);
  }
  assert_int_equal(check_big(s, 0, ROWS), 0);
  ed_store_close(s);
  rm_rf(dir);
}

/* ---- concurrency ---- */

typedef struct {
  ed_store_t *s;
  pthread_barrier_t bar;
  char first[16], again[16], after[16];
  int rc_first, rc_again, rc_after;
} iso_ctx_t;

static void *iso_reader(void *arg) {
  iso_ctx_t *c = arg;
  ed_store_read_t r;
  const void *v;
  size_t n;
  c->rc_first = ed_store_read_begin(c->s, &r);
  if (c->rc_first == ED_OK)
    c->rc_first = ed_store_read_get(&r, "k", 1, &v, &n);
  if (c->rc_first == ED_OK)
    snprintf(c->first, sizeof c->first, "%.*s", (int)n, (const char *)v);
  pthread_barrier_wait(&c->bar); /* snapshot taken */
  pthread_barrier_wait(&c->bar); /* writer committed */
  c->rc_again = ed_store_read_get(&r, "k", 1, &v, &n);
  if (c->rc_again == ED_OK)
    snprintf(c->again, sizeof c->again, "%.*s", (int)n, (const char *)v);
  ed_store_read_end(&r);
  c->rc_after = ed_store_read_begin(c->s, &r);
  if (c->rc_after == ED_OK)
    c->rc_after = ed_store_read_get(&r, "k", 1, &v, &n);
  if (c->rc_after == ED_OK)
    snprintf(c->after, sizeof c->after, "%.*s", (int)n, (const char *)v);
  ed_store_read_end(&r);
  return NULL;
}

static void test_snapshot_isolation(void **state) {
  (void)state;
  char dir[64], buf[16];
  make_tmp(dir, sizeof dir);
  iso_ctx_t c = {.s = open_store(dir, MiB, 0)};
  assert_int_equal(commit1(c.s, "k", "old"), ED_OK);
  pthread_barrier_init(&c.bar, NULL, 2);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, iso_reader, &c), 0);
  pthread_barrier_wait(&c.bar);
  assert_int_equal(commit1(c.s, "k", "new"), ED_OK); /* not blocked by the open read */
  assert_int_equal(get_str(c.s, "k", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "new");
  pthread_barrier_wait(&c.bar);
  pthread_join(t, NULL);
  pthread_barrier_destroy(&c.bar);
  assert_int_equal(c.rc_first, ED_OK);
  assert_string_equal(c.first, "old");
  assert_int_equal(c.rc_again, ED_OK);
  assert_string_equal(c.again, "old");
  assert_int_equal(c.rc_after, ED_OK);
  assert_string_equal(c.after, "new");
  ed_store_close(c.s);
  rm_rf(dir);
}

typedef struct {
  ed_store_t *s;
  atomic_int stop;
  atomic_int errors;
  atomic_long reads;
} stress_ctx_t;

/* Writer keeps "a" and "b" equal (8-byte counter + padding) and the offset
 * meta equal to the counter; a reader must never see them disagree. */
static void *stress_reader(void *arg) {
  stress_ctx_t *c = arg;
  uint64_t last = 0;
  while (!atomic_load(&c->stop)) {
    ed_store_read_t r;
    if (ed_store_read_begin(c->s, &r) != ED_OK) {
      atomic_fetch_add(&c->errors, 1);
      break;
    }
    const void *a, *b;
    size_t na, nb;
    int ra = ed_store_read_get(&r, "a", 1, &a, &na);
    int rb = ed_store_read_get(&r, "b", 1, &b, &nb);
    int64_t off = -1;
    int rm = ed_store_read_meta(&r, ED_STORE_META_OFFSET, &off);
    if (ra == ED_ENOTFOUND && rb == ED_ENOTFOUND && rm == ED_ENOTFOUND) {
      /* before the first commit */
    } else if (ra != ED_OK || rb != ED_OK || rm != ED_OK || na != nb || na < 8 ||
               memcmp(a, b, na) != 0) {
      atomic_fetch_add(&c->errors, 1);
    } else {
      uint64_t n;
      memcpy(&n, a, 8);
      if ((int64_t)n != off || n < last || na != 8 + n % 200)
        atomic_fetch_add(&c->errors, 1);
      last = n;
    }
    ed_store_read_end(&r);
    atomic_fetch_add(&c->reads, 1);
  }
  return NULL;
}

static void test_concurrent_growth(void **state) {
  (void)state;
  char dir[64], err[256] = "";
  make_tmp(dir, sizeof dir);
  stress_ctx_t c = {.s = open_store(dir, MiB, 512 * MiB)};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, stress_reader, &c), 0);

  enum { BATCHES = 120, FILL = 40, FILL_LEN = 3000 }; /* ~14 MiB of filler */
  static uint8_t fill[FILL][FILL_LEN];
  char keys[FILL][32];
  uint8_t ab[8 + 200];
  memset(ab, 0xab, sizeof ab);
  for (uint64_t n = 1; n <= BATCHES; n++) {
    ed_store_put_t p[2 + FILL];
    memcpy(ab, &n, 8);
    p[0] = (ed_store_put_t){"a", 1, ab, 8 + n % 200, 0};
    p[1] = (ed_store_put_t){"b", 1, ab, 8 + n % 200, 0};
    for (int i = 0; i < FILL; i++) {
      snprintf(keys[i], sizeof keys[i], "f%llu.%d", (unsigned long long)n, i);
      memset(fill[i], (int)(n + (uint64_t)i), FILL_LEN);
      p[2 + i] = (ed_store_put_t){keys[i], strlen(keys[i]), fill[i], FILL_LEN, 0};
    }
    ed_store_meta_put_t m = {ED_STORE_META_OFFSET, (int64_t)n};
    int rc = ed_store_commit(c.s, p, 2 + FILL, &m, 1, err, sizeof err);
    if (rc != ED_OK) {
      atomic_store(&c.stop, 1);
      for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
      fail_msg("batch %llu: %s", (unsigned long long)n, err);
    }
  }
  atomic_store(&c.stop, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&c.errors), 0);
  assert_true(atomic_load(&c.reads) > 0);
  assert_true(ed_store_map_size(c.s) >= 8 * MiB); /* it grew several times */
  assert_int_equal(row_count(c.s), 2 + BATCHES * FILL);
  ed_store_close(c.s);
  rm_rf(dir);
}

/* Another process grows the map: this one must adopt the new size
 * (MDB_MAP_RESIZED) on its next read and its next commit. */
static void test_map_resized_by_other_process(void **state) {
  (void)state;
  char dir[64], err[256] = "";
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 64 * MiB);
  assert_int_equal(commit1(s, "parent", "1"), ED_OK);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    ed_store_opts_t o = {.map_size = MiB, .map_size_max = 64 * MiB, .no_sync = 1};
    ed_store_t *cs = NULL;
    int ok = ed_store_open(dir, &o, &cs, NULL, 0) == ED_OK;
    for (int b = 0; ok && b < 4; b++)
      ok = commit_big(cs, b, 256, b + 1, NULL, 0) == ED_OK;
    ok = ok && ed_store_map_size(cs) > MiB;
    ed_store_close(cs);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int b = 0; b < 4; b++)
    assert_int_equal(check_big(s, b, 256), 1);
  assert_true(ed_store_map_size(s) > MiB);
  if (commit_big(s, 4, 16, 5, err, sizeof err) != ED_OK)
    fail_msg("commit: %s", err);
  char buf[8];
  assert_int_equal(get_str(s, "parent", buf, sizeof buf), ED_OK);
  assert_int_equal(row_count(s), 1 + 4 * 256 + 16);
  ed_store_close(s);
  rm_rf(dir);
}

/* ---- expiry ---- */

static int put_exp(ed_store_t *s, const char *k, const char *v, int64_t exp) {
  ed_store_put_t p = {k, strlen(k), v, v ? strlen(v) : 0, exp};
  return ed_store_commit(s, &p, 1, NULL, 0, NULL, 0);
}

/* A commit of nothing but a purge; returns the count. */
static uint64_t purge_upto(ed_store_t *s, int64_t upto) {
  uint64_t n = 12345;
  char err[256] = "";
  int rc = ed_store_commit_ex(s, NULL, 0, NULL, 0, upto, &n, err, sizeof err);
  if (rc != ED_OK)
    fail_msg("purge: %s", err);
  return n;
}

static void test_expiry_purge(void **state) {
  (void)state;
  char dir[64], buf[64];
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 0);
  /* k001..k100 expire at 10..1000, n1..n5 never */
  ed_store_put_t p[105];
  char keys[105][8];
  for (int i = 0; i < 105; i++) {
    if (i < 100)
      snprintf(keys[i], sizeof keys[i], "k%03d", i + 1);
    else
      snprintf(keys[i], sizeof keys[i], "n%d", i - 99);
    p[i] = (ed_store_put_t){keys[i], strlen(keys[i]), "v", 1, i < 100 ? (i + 1) * 10 : 0};
  }
  assert_int_equal(ed_store_commit(s, p, 105, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(row_count(s), 105);

  /* INT64_MIN purges nothing; ed_store_commit never purges */
  assert_int_equal(purge_upto(s, INT64_MIN), 0);
  assert_int_equal(row_count(s), 105);

  assert_int_equal(purge_upto(s, 255), 25); /* 10..250 */
  assert_int_equal(row_count(s), 80);
  assert_int_equal(get_str(s, "k025", buf, sizeof buf), ED_ENOTFOUND);
  assert_int_equal(get_str(s, "k026", buf, sizeof buf), ED_OK); /* expires at 260 */
  assert_int_equal(get_str(s, "n1", buf, sizeof buf), ED_OK);
  assert_int_equal(purge_upto(s, 255), 0); /* nothing left to purge there */
  assert_int_equal(purge_upto(s, 260), 1); /* the boundary is inclusive */
  assert_int_equal(get_str(s, "k026", buf, sizeof buf), ED_ENOTFOUND);

  /* puts, metas and the purge share one transaction: a row put with an
   * expiry already reached is gone at once, the meta is set */
  ed_store_put_t late = {"late", 4, "x", 1, 5};
  ed_store_meta_put_t m = {ED_STORE_META_STREAM_TIME, 300};
  uint64_t n = 0;
  assert_int_equal(ed_store_commit_ex(s, &late, 1, &m, 1, 300, &n, NULL, 0), ED_OK);
  assert_int_equal(n, 5); /* late + 270..300 */
  assert_int_equal(get_str(s, "late", buf, sizeof buf), ED_ENOTFOUND);
  int64_t st;
  assert_int_equal(ed_store_meta_get(s, ED_STORE_META_STREAM_TIME, &st), ED_OK);
  assert_int_equal(st, 300);
  /* purged may be NULL */
  assert_int_equal(ed_store_commit_ex(s, NULL, 0, NULL, 0, 310, NULL, NULL, 0), ED_OK);
  assert_int_equal(row_count(s), 70 + 5 - 1 - 0); /* k032..k100 (69) + n1..n5 */

  /* everything with an expiry goes; rows without one stay */
  assert_int_equal(purge_upto(s, INT64_MAX), 69);
  assert_int_equal(row_count(s), 5);

  /* negative expiries sort before positive ones */
  assert_int_equal(put_exp(s, "neg", "x", -50), ED_OK);
  assert_int_equal(put_exp(s, "pos", "x", 30), ED_OK);
  assert_int_equal(put_exp(s, "min", "x", INT64_MIN + 1), ED_OK);
  assert_int_equal(purge_upto(s, -1), 2);
  assert_int_equal(get_str(s, "pos", buf, sizeof buf), ED_OK);
  assert_int_equal(get_str(s, "neg", buf, sizeof buf), ED_ENOTFOUND);
  ed_store_close(s);

  /* the index survives a reopen */
  s = open_store(dir, MiB, 0);
  assert_int_equal(purge_upto(s, 30), 1);
  assert_int_equal(get_str(s, "pos", buf, sizeof buf), ED_ENOTFOUND);
  assert_int_equal(row_count(s), 5);
  ed_store_close(s);
  rm_rf(dir);
}

static void test_expiry_delete(void **state) {
  (void)state;
  char dir[64], buf[64];
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 0);

  /* The growing session: K expires at 100, then one batch moves it to 200.
   * A purge at 150 must keep it. */
  assert_int_equal(put_exp(s, "K", "s1", 100), ED_OK);
  ed_store_put_t mv[2] = {{"K", 1, NULL, 0, 100}, {"K", 1, "s2", 2, 200}};
  assert_int_equal(ed_store_commit(s, mv, 2, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(purge_upto(s, 150), 0);
  assert_int_equal(get_str(s, "K", buf, sizeof buf), ED_OK);
  assert_string_equal(buf, "s2");
  assert_int_equal(purge_upto(s, 200), 1);
  assert_int_equal(get_str(s, "K", buf, sizeof buf), ED_ENOTFOUND);

  /* The same, moved within the purging commit itself. */
  assert_int_equal(put_exp(s, "K", "s1", 100), ED_OK);
  uint64_t n = 9;
  assert_int_equal(ed_store_commit_ex(s, mv, 2, NULL, 0, 150, &n, NULL, 0), ED_OK);
  assert_int_equal(n, 0);
  assert_int_equal(get_str(s, "K", buf, sizeof buf), ED_OK);

  /* A delete with its expiry removes the index entry: a later put of the
   * key without expiry is never purged. */
  ed_store_put_t del = {"K", 1, NULL, 0, 200};
  assert_int_equal(ed_store_commit(s, &del, 1, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(get_str(s, "K", buf, sizeof buf), ED_ENOTFOUND);
  assert_int_equal(put_exp(s, "K", "forever", 0), ED_OK);
  assert_int_equal(purge_upto(s, INT64_MAX), 0);
  assert_int_equal(get_str(s, "K", buf, sizeof buf), ED_OK);

  /* Deleting a missing row with an expiry, or a missing index entry, is fine. */
  ed_store_put_t ghost = {"ghost", 5, NULL, 0, 42};
  assert_int_equal(ed_store_commit(s, &ghost, 1, NULL, 0, NULL, 0), ED_OK);

  /* A row deleted without its expiry leaves a stale entry: the purge drops
   * it without counting a row. */
  assert_int_equal(put_exp(s, "S", "x", 50), ED_OK);
  assert_int_equal(commit1(s, "S", NULL), ED_OK);
  assert_int_equal(purge_upto(s, 50), 0);

  /* Putting the same key with the same expiry twice keeps one entry. */
  assert_int_equal(put_exp(s, "D", "1", 60), ED_OK);
  assert_int_equal(put_exp(s, "D", "2", 60), ED_OK);
  assert_int_equal(purge_upto(s, 60), 1);

  /* clear empties the index too */
  assert_int_equal(put_exp(s, "C", "x", 70), ED_OK);
  assert_int_equal(ed_store_clear(s, NULL, 0), ED_OK);
  assert_int_equal(put_exp(s, "C", "kept", 0), ED_OK);
  assert_int_equal(purge_upto(s, 70), 0);
  assert_int_equal(get_str(s, "C", buf, sizeof buf), ED_OK);
  assert_int_equal(row_count(s), 1);

  /* keys of the full 511 bytes work with an expiry */
  char big[511];
  memset(big, 'b', sizeof big);
  ed_store_put_t bp = {big, sizeof big, "v", 1, 80};
  assert_int_equal(ed_store_commit(s, &bp, 1, NULL, 0, NULL, 0), ED_OK);
  assert_int_equal(purge_upto(s, 80), 1);
  assert_int_equal(row_count(s), 1);
  ed_store_close(s);
  rm_rf(dir);
}

/* A purging commit that hits MAP_FULL is redone in a grown map, and counts
 * each purged row once. */
static void test_expiry_map_full(void **state) {
  (void)state;
  char dir[64], err[256] = "";
  make_tmp(dir, sizeof dir);
  ed_store_t *s = open_store(dir, MiB, 256 * MiB);
  enum { OLD = 150, NEW = 600 };
  static uint8_t val[BIG_VLEN];
  memset(val, 'v', sizeof val);
  ed_store_put_t *p = calloc(NEW, sizeof *p);
  char(*keys)[16] = calloc(NEW, sizeof *keys);
  assert_true(p && keys);
  for (int i = 0; i < OLD; i++) {
    snprintf(keys[i], sizeof keys[i], "old%d", i);
    p[i] = (ed_store_put_t){keys[i], strlen(keys[i]), val, BIG_VLEN, 1000 + i};
  }
  if (ed_store_commit(s, p, OLD, NULL, 0, err, sizeof err) != ED_OK)
    fail_msg("commit: %s", err);
  size_t before = ed_store_map_size(s);
  for (int i = 0; i < NEW; i++) {
    snprintf(keys[i], sizeof keys[i], "new%d", i);
    p[i] = (ed_store_put_t){keys[i], strlen(keys[i]), val, BIG_VLEN, 5000 + i};
  }
  uint64_t n = 0;
  /* ~2.4 MiB of new rows cannot fit in the map the old ones left */
  if (ed_store_commit_ex(s, p, NEW, NULL, 0, 1000 + 99, &n, err, sizeof err) != ED_OK)
    fail_msg("commit_ex: %s", err);
  assert_true(ed_store_map_size(s) > before);
  assert_int_equal(n, 100);
  assert_int_equal(row_count(s), OLD - 100 + NEW);
  free(p);
  free(keys);
  ed_store_close(s);
  rm_rf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_close),
      cmocka_unit_test(test_commit_atomic),
      cmocka_unit_test(test_meta_reopen),
      cmocka_unit_test(test_delete_and_clear),
      cmocka_unit_test(test_map_growth),
      cmocka_unit_test(test_map_too_big),
      cmocka_unit_test(test_snapshot_isolation),
      cmocka_unit_test(test_concurrent_growth),
      cmocka_unit_test(test_map_resized_by_other_process),
      cmocka_unit_test(test_expiry_purge),
      cmocka_unit_test(test_expiry_delete),
      cmocka_unit_test(test_expiry_map_full),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
