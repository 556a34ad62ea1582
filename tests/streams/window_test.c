/* Unit tests for streams/window.c: specs, window starts, lateness, sessions
 * and the windowed-row key encoding (known answers and properties). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "streams/window.h"

#define DAY ((int64_t)86400000)

static ed_window_spec_t tumbling(int64_t size) {
  ed_window_spec_t s = {.type = ED_WIN_TUMBLING, .size = size};
  assert_int_equal(ed_window_spec_check(&s, NULL, 0), ED_OK);
  return s;
}

static ed_window_spec_t hopping(int64_t size, int64_t adv) {
  ed_window_spec_t s = {.type = ED_WIN_HOPPING, .size = size, .advance = adv};
  assert_int_equal(ed_window_spec_check(&s, NULL, 0), ED_OK);
  return s;
}

/* ---- specs ---- */

static void expect_bad(ed_window_spec_t s, const char *needle) {
  char err[128] = "";
  assert_int_equal(ed_window_spec_check(&s, err, sizeof err), ED_EINVAL);
  if (!strstr(err, needle))
    fail_msg("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_spec(void **state) {
  (void)state;
  assert_string_equal(ed_win_type_name(ED_WIN_TUMBLING), "tumbling");
  assert_string_equal(ed_win_type_name(ED_WIN_HOPPING), "hopping");
  assert_string_equal(ed_win_type_name(ED_WIN_SESSION), "session");
  assert_string_equal(ed_win_type_name(ED_WIN_NONE), "none");

  ed_window_spec_t t = tumbling(1000);
  assert_int_equal(t.advance, 1000);
  assert_int_equal(t.grace, 0);
  assert_int_equal(t.retention, DAY);

  ed_window_spec_t big = {.type = ED_WIN_TUMBLING, .size = 2 * DAY, .grace = 5};
  assert_int_equal(ed_window_spec_check(&big, NULL, 0), ED_OK);
  assert_int_equal(big.retention, 2 * DAY + 5);

  ed_window_spec_t h = hopping(10, 3);
  assert_int_equal(h.advance, 3);
  ed_window_spec_t se = {.type = ED_WIN_SESSION, .gap = 100, .grace = 10, .retention = 110};
  assert_int_equal(ed_window_spec_check(&se, NULL, 0), ED_OK);
  assert_int_equal(se.retention, 110);
  ed_window_spec_t se2 = {.type = ED_WIN_SESSION, .gap = 100};
  assert_int_equal(ed_window_spec_check(&se2, NULL, 0), ED_OK);
  assert_int_equal(se2.retention, DAY);

  expect_bad((ed_window_spec_t){.type = ED_WIN_NONE}, "unknown");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING}, "size must be > 0");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = -1}, "size must be > 0");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 10, .advance = 5}, "advance");
  expect_bad((ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 10},
             "advance must be > 0 and <= size");
  expect_bad((ed_window_spec_t){.type = ED_WIN_HOPPING, .size = 10, .advance = 11},
             "advance must be > 0 and <= size");
  expect_bad((ed_window_spec_t){.type = ED_WIN_SESSION}, "gap must be > 0");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 10, .grace = -1}, "grace");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = 10, .grace = 5, .retention = 14},
             "retention");
  expect_bad((ed_window_spec_t){.type = ED_WIN_SESSION, .gap = 10, .grace = 5, .retention = 14},
             "retention");
  expect_bad((ed_window_spec_t){.type = ED_WIN_TUMBLING, .size = INT64_MAX, .grace = 1},
             "too large");
  assert_int_equal(ed_window_spec_check(NULL, NULL, 0), ED_EINVAL);
}

/* ---- window starts ---- */

static void expect_starts(const ed_window_spec_t *s, int64_t ts, const int64_t *want, size_t n) {
  int64_t got[64];
  size_t k = ed_window_starts(s, ts, got, 64);
  if (k != n)
    fail_msg("ts %lld: %zu windows, want %zu", (long long)ts, k, n);
  for (size_t i = 0; i < n; i++)
    if (got[i] != want[i])
      fail_msg("ts %lld: start[%zu] = %lld, want %lld", (long long)ts, i, (long long)got[i],
               (long long)want[i]);
}

static void test_tumbling_starts(void **state) {
  (void)state;
  ed_window_spec_t s = tumbling(1000);
  expect_starts(&s, 0, (int64_t[]){0}, 1);
  expect_starts(&s, 999, (int64_t[]){0}, 1);
  expect_starts(&s, 1000, (int64_t[]){1000}, 1); /* on a boundary: the new window */
  expect_starts(&s, 1234567, (int64_t[]){1234000}, 1);
  expect_starts(&s, -1, (int64_t[]){-1000}, 1); /* floor, not truncation */
  expect_starts(&s, -999, (int64_t[]){-1000}, 1);
  expect_starts(&s, -1000, (int64_t[]){-1000}, 1);
  expect_starts(&s, -1001, (int64_t[]){-2000}, 1);
  expect_starts(&s, INT64_MAX, (int64_t[]){INT64_MAX - INT64_MAX % 1000}, 1);
  /* The window containing INT64_MIN would start below it. */
  int64_t x;
  assert_int_equal(ed_window_starts(&s, INT64_MIN, &x, 1), 0);
  ed_window_spec_t one = tumbling(1);
  expect_starts(&one, INT64_MIN, (int64_t[]){INT64_MIN}, 1);
  expect_starts(&one, -7, (int64_t[]){-7}, 1);
  /* Not a time window. */
  ed_window_spec_t se = {.type = ED_WIN_SESSION, .gap = 5};
  assert_int_equal(ed_window_starts(&se, 3, &x, 1), 0);
}

static void test_hopping_starts(void **state) {
  (void)state;
  ed_window_spec_t s = hopping(10, 5);
  expect_starts(&s, 0, (int64_t[]){-5, 0}, 2);
  expect_starts(&s, 4, (int64_t[]){-5, 0}, 2);
  expect_starts(&s, 5, (int64_t[]){0, 5}, 2);
  expect_starts(&s, 12, (int64_t[]){5, 10}, 2);
  expect_starts(&s, -1, (int64_t[]){-10, -5}, 2);
  expect_starts(&s, -5, (int64_t[]){-10, -5}, 2);
  expect_starts(&s, -6, (int64_t[]){-15, -10}, 2);

  /* Size not a multiple of advance: 3 or 4 windows. */
  ed_window_spec_t h = hopping(10, 3);
  expect_starts(&h, 0, (int64_t[]){-9, -6, -3, 0}, 4);
  expect_starts(&h, 2, (int64_t[]){-6, -3, 0}, 3);
  expect_starts(&h, 9, (int64_t[]){0, 3, 6, 9}, 4);
  expect_starts(&h, 10, (int64_t[]){3, 6, 9}, 3);
  expect_starts(&h, -1, (int64_t[]){-9, -6, -3}, 3);
  expect_starts(&h, -10, (int64_t[]){-18, -15, -12}, 3);
  /* advance == size behaves like tumbling */
  ed_window_spec_t t = hopping(7, 7);
  expect_starts(&t, -1, (int64_t[]){-7}, 1);

  /* max caps the count, keeping the earliest windows. */
  int64_t got[2];
  assert_int_equal(ed_window_starts(&h, 0, got, 2), 2);
  assert_int_equal(got[0], -9);
  assert_int_equal(got[1], -6);

  /* Brute force: every start is a multiple of advance containing ts. */
  for (int64_t sz = 1; sz <= 12; sz++)
    for (int64_t adv = 1; adv <= sz; adv++) {
      ed_window_spec_t w = hopping(sz, adv);
      for (int64_t ts = -40; ts <= 40; ts++) {
        int64_t want[64];
        size_t n = 0;
        for (int64_t st = -120; st <= ts; st++)
          if (((st % adv) + adv) % adv == 0 && st <= ts && ts < st + sz)
            want[n++] = st;
        expect_starts(&w, ts, want, n);
        assert_true(n <= (size_t)((sz + adv - 1) / adv));
      }
    }
}

static void test_lateness_and_expiry(void **state) {
  (void)state;
  ed_window_spec_t s = {.type = ED_WIN_TUMBLING, .size = 100, .grace = 10, .retention = 500};
  assert_int_equal(ed_window_spec_check(&s, NULL, 0), ED_OK);
  /* window [0,100): end 100, closes at stream time 110 */
  assert_false(ed_window_is_late(&s, 100, 109));
  assert_true(ed_window_is_late(&s, 100, 110)); /* end + grace == stream time: late */
  assert_true(ed_window_is_late(&s, 100, 111));
  assert_false(ed_window_is_late(&s, 100, INT64_MIN));
  assert_int_equal(ed_window_expire_at(&s, 0, 100), 500);
  assert_int_equal(ed_window_expire_at(&s, -1000, -900), -500);
  assert_int_equal(ed_window_expire_at(&s, -500, -400), 1); /* 0 would mean "never" */
  assert_int_equal(ed_window_expire_at(&s, INT64_MAX - 10, INT64_MAX), INT64_MAX);

  ed_window_spec_t se = {.type = ED_WIN_SESSION, .gap = 100, .retention = 1000};
  assert_int_equal(ed_window_spec_check(&se, NULL, 0), ED_OK);
  assert_int_equal(ed_window_expire_at(&se, 10, 70), 1070);
  assert_true(ed_window_is_late(&se, 70, 70));
  assert_false(ed_window_is_late(&se, 70, 69));
}

/* ---- sessions ---- */

static void place(const ed_session_t *ss, size_t n, int64_t ts, int64_t gap, size_t want_first,
                  size_t want_count, int64_t want_start, int64_t want_end) {
  size_t first = 99, count = 99;
  ed_session_t m = {0, 0};
  ed_session_place(ss, n, ts, gap, &first, &count, &m);
  if (first != want_first || count != want_count || m.start != want_start || m.end != want_end)
    fail_msg("ts %lld: first %zu count %zu [%lld,%lld], want %zu %zu [%lld,%lld]", (long long)ts,
             first, count, (long long)m.start, (long long)m.end, want_first, want_count,
             (long long)want_start, (long long)want_end);
}

static void test_session_place(void **state) {
  (void)state;
  /* no sessions: a new one */
  place(NULL, 0, 50, 10, 0, 0, 50, 50);
  const ed_session_t ss[] = {{100, 120}, {200, 200}, {300, 350}};
  /* new sessions before, between and after */
  place(ss, 3, 50, 10, 0, 0, 50, 50);
  place(ss, 3, 160, 10, 1, 0, 160, 160);
  place(ss, 3, 400, 10, 3, 0, 400, 400);
  /* gap boundaries are inclusive */
  place(ss, 3, 90, 10, 0, 1, 90, 120);   /* start - gap: extends left */
  place(ss, 3, 89, 10, 0, 0, 89, 89);    /* just outside */
  place(ss, 3, 130, 10, 0, 1, 100, 130); /* t - gap == end: extends right */
  place(ss, 3, 131, 10, 1, 0, 131, 131);
  place(ss, 3, 360, 10, 2, 1, 300, 360);
  /* inside a session */
  place(ss, 3, 110, 10, 0, 1, 100, 120);
  place(ss, 3, 300, 10, 2, 1, 300, 350);
  place(ss, 3, 200, 10, 1, 1, 200, 200);
  /* a record bridging two sessions merges them */
  place(ss, 3, 160, 40, 0, 2, 100, 200);
  place(ss, 3, 250, 50, 1, 2, 200, 350);
  place(ss, 3, 200, 100, 0, 3, 100, 350);
  /* extreme timestamps do not overflow */
  const ed_session_t edge[] = {{INT64_MIN, INT64_MIN + 5}, {INT64_MAX - 5, INT64_MAX}};
  place(edge, 2, INT64_MIN + 1, 10, 0, 1, INT64_MIN, INT64_MIN + 5);
  place(edge, 2, INT64_MAX, 10, 1, 1, INT64_MAX - 5, INT64_MAX);
  place(edge, 2, 0, 10, 1, 0, 0, 0);
}

/* ---- window keys ---- */

static void roundtrip(const uint8_t *k, size_t klen, int64_t start) {
  uint8_t enc[ED_WKEY_MAX + 1], dec[ED_WKEY_MAX + 1];
  size_t n = ed_wkey_encode(k, klen, start, enc, sizeof enc);
  assert_true(n > 0);
  size_t dlen = 0;
  int64_t st = 0;
  assert_int_equal(ed_wkey_decode(enc, n, dec, sizeof dec, &dlen, &st), ED_OK);
  assert_int_equal(dlen, klen);
  if (klen)
    assert_memory_equal(dec, k, klen);
  assert_int_equal(st, start);
  /* the prefix is the encoding minus the start */
  uint8_t pre[ED_WKEY_MAX + 1];
  size_t pn = ed_wkey_prefix(k, klen, pre, sizeof pre);
  assert_int_equal(pn, n - 8);
  assert_memory_equal(pre, enc, pn);
}

static void test_wkey_known(void **state) {
  (void)state;
  uint8_t out[64];
  size_t n = ed_wkey_encode("a\0b", 3, 0, out, sizeof out);
  const uint8_t want[] = {'a', 0, 0xFF, 'b', 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(n, sizeof want);
  assert_memory_equal(out, want, sizeof want);
  n = ed_wkey_encode("", 0, -1, out, sizeof out);
  const uint8_t want2[] = {0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
  assert_int_equal(n, sizeof want2);
  assert_memory_equal(out, want2, sizeof want2);
  n = ed_wkey_encode("k", 1, 0x0102030405060708, out, sizeof out);
  const uint8_t want3[] = {'k', 0, 0, 0x81, 2, 3, 4, 5, 6, 7, 8};
  assert_int_equal(n, sizeof want3);
  assert_memory_equal(out, want3, sizeof want3);

  const uint8_t k1[] = {0x00, 0xFF, 0x00, 0x00, 0xFF, 0xFF, 0x01};
  roundtrip(k1, sizeof k1, 12345);
  roundtrip(k1, sizeof k1, INT64_MIN);
  roundtrip(k1, sizeof k1, INT64_MAX);
  roundtrip((const uint8_t *)"", 0, -5);
  roundtrip((const uint8_t *)"\xff\xff", 2, 0);
  roundtrip((const uint8_t *)"\0", 1, 1);

  /* capacity and ED_WKEY_MAX */
  assert_int_equal(ed_wkey_encode("abc", 3, 0, out, 12), 0);
  assert_int_equal(ed_wkey_encode("abc", 3, 0, out, 13), 13);
  assert_int_equal(ed_wkey_prefix("abc", 3, out, 4), 0);
  assert_int_equal(ed_wkey_prefix("abc", 3, out, 5), 5);
  static uint8_t big[600], bigout[700];
  memset(big, 'x', sizeof big);
  assert_int_equal(ed_wkey_encode(big, ED_WKEY_MAX - 10, 0, bigout, sizeof bigout), ED_WKEY_MAX);
  assert_int_equal(ed_wkey_encode(big, ED_WKEY_MAX - 9, 0, bigout, sizeof bigout), 0);
  big[0] = 0; /* escaping counts */
  assert_int_equal(ed_wkey_encode(big, ED_WKEY_MAX - 10, 0, bigout, sizeof bigout), 0);
  assert_int_equal(ed_wkey_encode(NULL, 1, 0, out, sizeof out), 0);
}

static void test_wkey_decode_errors(void **state) {
  (void)state;
  uint8_t key[16];
  size_t klen;
  int64_t st;
  uint8_t good[32];
  size_t n = ed_wkey_encode("ab", 2, 7, good, sizeof good);
  assert_int_equal(ed_wkey_decode(good, n, key, sizeof key, &klen, &st), ED_OK);
  assert_int_equal(ed_wkey_decode(good, n - 1, key, sizeof key, &klen, &st), ED_EINVAL);
  uint8_t longer[33];
  memcpy(longer, good, n);
  longer[n] = 1;
  assert_int_equal(ed_wkey_decode(longer, n + 1, key, sizeof key, &klen, &st), ED_EINVAL);
  assert_int_equal(ed_wkey_decode(good, n, key, 1, &klen, &st), ED_EINVAL); /* kcap */
  assert_int_equal(ed_wkey_decode((const uint8_t *)"ab", 2, key, sizeof key, &klen, &st),
                   ED_EINVAL); /* no terminator */
  const uint8_t bad_esc[] = {'a', 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(ed_wkey_decode(bad_esc, sizeof bad_esc, key, sizeof key, &klen, &st), ED_EINVAL);
  const uint8_t trailing0[] = {'a', 0};
  assert_int_equal(ed_wkey_decode(trailing0, 2, key, sizeof key, &klen, &st), ED_EINVAL);
  assert_int_equal(ed_wkey_decode(NULL, 0, key, sizeof key, &klen, &st), ED_EINVAL);
}

/* xorshift: deterministic pseudo-random numbers */
static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

typedef struct {
  uint8_t k[8];
  size_t klen;
  int64_t start;
  uint8_t enc[40];
  size_t elen;
} wk_t;

static int sign(int x) { return (x > 0) - (x < 0); }

static int cmp_logical(const wk_t *a, const wk_t *b) {
  size_t m = a->klen < b->klen ? a->klen : b->klen;
  int c = m ? memcmp(a->k, b->k, m) : 0;
  if (c)
    return sign(c);
  if (a->klen != b->klen)
    return a->klen < b->klen ? -1 : 1;
  return (a->start > b->start) - (a->start < b->start);
}

static int cmp_enc(const wk_t *a, const wk_t *b) {
  size_t m = a->elen < b->elen ? a->elen : b->elen;
  int c = memcmp(a->enc, b->enc, m);
  if (c)
    return sign(c);
  return (a->elen > b->elen) - (a->elen < b->elen);
}

static void random_wk(wk_t *w, uint64_t *seed) {
  /* small alphabet with 0x00 and 0xFF so prefixes and escapes collide often */
  static const uint8_t alpha[] = {0x00, 0x01, 0xFE, 0xFF};
  w->klen = (size_t)(rnd(seed) % 5);
  for (size_t i = 0; i < w->klen; i++)
    w->k[i] = alpha[rnd(seed) % 4];
  static const int64_t starts[] = {INT64_MIN, -256, -1, 0, 1, 255, 256, INT64_MAX};
  w->start = rnd(seed) % 2 ? starts[rnd(seed) % 8] : (int64_t)rnd(seed);
  w->elen = ed_wkey_encode(w->k, w->klen, w->start, w->enc, sizeof w->enc);
  assert_true(w->elen > 0);
}

static void test_wkey_order(void **state) {
  (void)state;
  uint64_t seed = 0x9E3779B97F4A7C15u;
  for (int i = 0; i < 20000; i++) {
    wk_t a, b;
    random_wk(&a, &seed);
    random_wk(&b, &seed);
    if (cmp_logical(&a, &b) != cmp_enc(&a, &b))
      fail_msg("order mismatch at iteration %d", i);
    /* prefix property: a's prefix starts b's encoding iff the keys are equal */
    uint8_t pre[40];
    size_t pn = ed_wkey_prefix(a.k, a.klen, pre, sizeof pre);
    int is_prefix = pn <= b.elen && memcmp(pre, b.enc, pn) == 0;
    int same_key = a.klen == b.klen && (a.klen == 0 || memcmp(a.k, b.k, a.klen) == 0);
    assert_int_equal(is_prefix, same_key);
    roundtrip(a.k, a.klen, a.start);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec),
      cmocka_unit_test(test_tumbling_starts),
      cmocka_unit_test(test_hopping_starts),
      cmocka_unit_test(test_lateness_and_expiry),
      cmocka_unit_test(test_session_place),
      cmocka_unit_test(test_wkey_known),
      cmocka_unit_test(test_wkey_decode_errors),
      cmocka_unit_test(test_wkey_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
