/* Unit tests for the store's ordered iterators (ed_store_iter_*). */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "store/store.h"

#define MiB ((size_t)1 << 20)

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static ed_store_t *open_tmp(char *dir, size_t len) {
  snprintf(dir, len, "/tmp/eddy-iter-XXXXXX");
  assert_non_null(mkdtemp(dir));
  ed_store_opts_t o = {.map_size = MiB, .no_sync = 1};
  ed_store_t *s = NULL;
  char err[256] = "";
  if (ed_store_open(dir, &o, &s, err, sizeof err) != ED_OK)
    fail_msg("open %s: %s", dir, err);
  return s;
}

static void put(ed_store_t *s, const void *k, size_t klen, const char *v) {
  ed_store_put_t p = {k, klen, v, strlen(v), 0};
  assert_int_equal(ed_store_commit(s, &p, 1, NULL, 0, NULL, 0), ED_OK);
}

/* Seeks to @p from and checks the next key is @p want (NULL: the end). */
static void expect_seek(ed_store_t *s, const void *from, size_t flen, const char *want) {
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_store_iter_t it;
  assert_int_equal(ed_store_iter_seek(&r, &it, from, flen), ED_OK);
  const void *k, *v;
  size_t kl, vl;
  int rc = ed_store_iter_next(&it, &k, &kl, &v, &vl);
  if (!want) {
    assert_int_equal(rc, ED_ENOTFOUND);
  } else {
    assert_int_equal(rc, ED_OK);
    if (kl != strlen(want) || memcmp(k, want, kl) != 0)
      fail_msg("seek: got %.*s, want %s", (int)kl, (const char *)k, want);
  }
  ed_store_iter_close(&it);
  ed_store_read_end(&r);
}

static void test_empty(void **state) {
  (void)state;
  char dir[64];
  ed_store_t *s = open_tmp(dir, sizeof dir);
  expect_seek(s, NULL, 0, NULL);
  expect_seek(s, "a", 1, NULL);
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_store_iter_t it;
  assert_int_equal(ed_store_iter_seek(&r, &it, NULL, 0), ED_OK);
  const void *k, *v;
  size_t kl, vl;
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_ENOTFOUND);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_ENOTFOUND); /* stays */
  ed_store_iter_close(&it);
  ed_store_iter_close(&it); /* twice is harmless */
  ed_store_read_end(&r);
  ed_store_close(s);
  rm_rf(dir);
}

static int cmp_key(const void *a, const void *b) { return strcmp(a, b); }

static void test_order_and_seek(void **state) {
  (void)state;
  char dir[64];
  ed_store_t *s = open_tmp(dir, sizeof dir);
  /* keys k000..k198 (even numbers), committed in a scrambled order */
  enum { N = 100 };
  char keys[N][8];
  ed_store_put_t p[N];
  for (int i = 0; i < N; i++) {
    int j = (i * 37) % N; /* 37 is coprime with 100: a permutation */
    snprintf(keys[i], sizeof keys[i], "k%03d", 2 * j);
    p[i] = (ed_store_put_t){keys[i], 4, keys[i], 4, 0};
  }
  assert_int_equal(ed_store_commit(s, p, N, NULL, 0, NULL, 0), ED_OK);
  qsort(keys, N, sizeof keys[0], cmp_key);

  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_store_iter_t it;
  assert_int_equal(ed_store_iter_seek(&r, &it, NULL, 0), ED_OK);
  const void *k, *v;
  size_t kl, vl;
  int n = 0;
  while (ed_store_iter_next(&it, &k, &kl, &v, &vl) == ED_OK) {
    assert_true(n < N);
    assert_int_equal(kl, 4);
    assert_memory_equal(k, keys[n], 4);
    assert_int_equal(vl, 4);
    assert_memory_equal(v, keys[n], 4); /* value = key */
    n++;
  }
  assert_int_equal(n, N);
  ed_store_iter_close(&it);
  ed_store_read_end(&r);

  expect_seek(s, "k100", 4, "k100");   /* exact */
  expect_seek(s, "k101", 4, "k102");   /* between */
  expect_seek(s, "k100\0", 5, "k102"); /* just past a key */
  expect_seek(s, "k", 1, "k000");      /* before everything */
  expect_seek(s, "", 0, "k000");       /* flen 0: from the start */
  expect_seek(s, "k198", 4, "k198");   /* the last */
  expect_seek(s, "k199", 4, NULL);     /* past the end */
  expect_seek(s, "z", 1, NULL);

  /* from the middle to the end: 50 rows */
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  assert_int_equal(ed_store_iter_seek(&r, &it, "k100", 4), ED_OK);
  n = 0;
  while (ed_store_iter_next(&it, &k, &kl, &v, &vl) == ED_OK)
    n++;
  assert_int_equal(n, 50);
  ed_store_iter_close(&it);
  ed_store_read_end(&r);
  ed_store_close(s);
  rm_rf(dir);
}

static void test_binary_and_long_keys(void **state) {
  (void)state;
  char dir[64];
  ed_store_t *s = open_tmp(dir, sizeof dir);
  put(s, "a\0\xff", 3, "1");
  put(s, "a\0", 2, "2");
  put(s, "a", 1, "3");
  put(s, "\xff", 1, "4");
  char x511[511], x600[600];
  memset(x511, 'x', sizeof x511);
  memset(x600, 'x', sizeof x600);
  put(s, x511, sizeof x511, "5");
  put(s, "y", 1, "6");

  const char *want[] = {"3", "2", "1", "5", "6", "4"}; /* a < a\0 < a\0\xff < x.. < y < \xff */
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_store_iter_t it;
  assert_int_equal(ed_store_iter_seek(&r, &it, NULL, 0), ED_OK);
  const void *k, *v;
  size_t kl, vl;
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_OK);
    assert_int_equal(vl, 1);
    assert_memory_equal(v, want[i], 1);
  }
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_ENOTFOUND);
  ed_store_iter_close(&it);

  /* a seek key longer than LMDB's limit: 511 x's sort before 600 x's */
  assert_int_equal(ed_store_iter_seek(&r, &it, x600, sizeof x600), ED_OK);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_OK);
  assert_memory_equal(v, "6", 1);
  ed_store_iter_close(&it);
  assert_int_equal(ed_store_iter_seek(&r, &it, "a\0", 2), ED_OK);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_OK);
  assert_memory_equal(v, "2", 1);
  ed_store_iter_close(&it);

  /* two iterators on one snapshot */
  ed_store_iter_t a, b;
  assert_int_equal(ed_store_iter_seek(&r, &a, NULL, 0), ED_OK);
  assert_int_equal(ed_store_iter_seek(&r, &b, "y", 1), ED_OK);
  assert_int_equal(ed_store_iter_next(&a, &k, &kl, &v, &vl), ED_OK);
  assert_memory_equal(v, "3", 1);
  assert_int_equal(ed_store_iter_next(&b, &k, &kl, &v, &vl), ED_OK);
  assert_memory_equal(v, "6", 1);
  ed_store_iter_close(&a);
  ed_store_iter_close(&b);
  ed_store_read_end(&r);
  ed_store_close(s);
  rm_rf(dir);
}

/* The iterator reads its snapshot; rows it returned stay valid until the
 * read ends; a cursor may be closed after the read ended; a seek on a
 * failed read fails and its close is harmless. */
static void test_snapshot_and_lifetimes(void **state) {
  (void)state;
  char dir[64];
  ed_store_t *s = open_tmp(dir, sizeof dir);
  put(s, "a", 1, "1");
  put(s, "b", 1, "2");
  ed_store_read_t r;
  assert_int_equal(ed_store_read_begin(s, &r), ED_OK);
  ed_store_iter_t it;
  assert_int_equal(ed_store_iter_seek(&r, &it, NULL, 0), ED_OK);
  const void *k1, *v1, *k, *v;
  size_t kl, vl;
  assert_int_equal(ed_store_iter_next(&it, &k1, &kl, &v1, &vl), ED_OK);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_OK);
  assert_memory_equal(k1, "a", 1); /* still valid after advancing */
  assert_memory_equal(v1, "1", 1);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_ENOTFOUND);
  ed_store_read_end(&r);
  ed_store_iter_close(&it); /* after the read: allowed for read-only cursors */

  ed_store_read_t bad = {s, NULL};
  assert_int_equal(ed_store_iter_seek(&bad, &it, NULL, 0), ED_ESTORE);
  assert_int_equal(ed_store_iter_next(&it, &k, &kl, &v, &vl), ED_ESTORE);
  ed_store_iter_close(&it);
  ed_store_iter_close(NULL);
  ed_store_close(s);
  rm_rf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_order_and_seek),
      cmocka_unit_test(test_binary_and_long_keys),
      cmocka_unit_test(test_snapshot_and_lifetimes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
