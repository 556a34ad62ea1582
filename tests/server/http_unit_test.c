/* The HTTP layer's pure parts: min_offset / timeout_ms parsing, endpoint
 * classification, Prometheus label escaping and the query metrics text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server/http_int.h"

static int parse(const char *q, ed__wait_spec_t *spec, char *err, size_t errlen) {
  return ed__wait_parse(q, strlen(q), spec, err, errlen);
}

static void expect_bad(const char *q, const char *want) {
  ed__wait_spec_t spec;
  char err[256] = "";
  assert_int_equal(parse(q, &spec, err, sizeof err), -1);
  if (strstr(err, want) == NULL) fail_msg("'%s': error '%s' lacks '%s'", q, err, want);
}

static void test_wait_parse(void **state) {
  (void)state;
  ed__wait_spec_t spec;
  char err[256];
  assert_int_equal(parse("", &spec, err, sizeof err), 0);
  assert_int_equal(spec.n, 0);
  assert_int_equal(spec.timeout_ms, ED_HTTP_WAIT_DEFAULT_MS);

  assert_int_equal(parse("from=a&min_offset=3:150&to=z", &spec, err, sizeof err), 0);
  assert_int_equal(spec.n, 1);
  assert_int_equal(spec.pos[0].partition, 3);
  assert_int_equal(spec.pos[0].offset, 150);

  /* repeated: one entry per partition, the highest offset wins */
  assert_int_equal(
      parse("min_offset=1:10&min_offset=0:5&min_offset=1:7&min_offset=1:12&timeout_ms=250", &spec,
            err, sizeof err),
      0);
  assert_int_equal(spec.n, 2);
  assert_int_equal(spec.pos[0].partition, 1);
  assert_int_equal(spec.pos[0].offset, 12);
  assert_int_equal(spec.pos[1].partition, 0);
  assert_int_equal(spec.pos[1].offset, 5);
  assert_int_equal(spec.timeout_ms, 250);

  /* percent-encoded colon, big offsets, zero timeout */
  assert_int_equal(parse("min_offset=2%3A9223372036854775807&timeout_ms=0", &spec, err, sizeof err),
                   0);
  assert_int_equal(spec.pos[0].partition, 2);
  assert_int_equal(spec.pos[0].offset, INT64_MAX);
  assert_int_equal(spec.timeout_ms, 0);
  assert_int_equal(parse("timeout_ms=60000", &spec, err, sizeof err), 0);
  assert_int_equal(spec.n, 0);
  assert_int_equal(spec.timeout_ms, 60000);
  /* other parameters with odd values are not this layer's business */
  assert_int_equal(parse("cursor=%zz&limit=-1&min_offsetx=1", &spec, err, sizeof err), 0);
  assert_int_equal(spec.n, 0);
}

static void test_wait_parse_errors(void **state) {
  (void)state;
  expect_bad("min_offset=3", "'min_offset' must be <partition>:<offset>");
  expect_bad("min_offset=3-150", "got '3-150'");
  expect_bad("min_offset=", "'min_offset'");
  expect_bad("min_offset", "'min_offset'");
  expect_bad("min_offset=:5", "'min_offset'");
  expect_bad("min_offset=1:", "'min_offset'");
  expect_bad("min_offset=-1:5", "'min_offset'");
  expect_bad("min_offset=1:-5", "'min_offset'");
  expect_bad("min_offset=a:b", "'min_offset'");
  expect_bad("min_offset=1:9223372036854775808", "'min_offset'");
  expect_bad("min_offset=2147483648:1", "'min_offset'");
  expect_bad("min_offset=1%3", "'min_offset'");
  expect_bad("timeout_ms=60001", "'timeout_ms' must be an integer 0..60000");
  expect_bad("timeout_ms=-1", "'timeout_ms'");
  expect_bad("timeout_ms=", "'timeout_ms'");
  expect_bad("timeout_ms=1s", "got '1s'");
  expect_bad("timeout_ms=5&timeout_ms=6", "'timeout_ms' is given more than once");
  char q[4096] = "";
  size_t n = 0;
  for (int p = 0; p <= ED_HTTP_WAIT_MAX_POS; p++)
    n += (size_t)snprintf(q + n, sizeof q - n, "%smin_offset=%d:1", p ? "&" : "", p);
  expect_bad(q, "more than 64 partitions");
  /* long values are cut in the message */
  char longq[300];
  snprintf(longq, sizeof longq, "min_offset=%0200d", 7);
  ed__wait_spec_t spec;
  char err[256];
  assert_int_equal(parse(longq, &spec, err, sizeof err), -1);
  assert_non_null(strstr(err, "...'"));
}

static void test_classify(void **state) {
  (void)state;
#define C(m, p) ed__http_classify(m, strlen(m), p, strlen(p))
  assert_int_equal(C("GET", "/v1/views"), ED_EP_VIEWS);
  assert_int_equal(C("GET", "/v1/views/"), ED_EP_VIEWS);
  assert_int_equal(C("GET", "/v1/views/v/keys/k"), ED_EP_KEY);
  assert_int_equal(C("GET", "/v1/views/v/keys/a%2Fb"), ED_EP_KEY);
  assert_int_equal(C("POST", "/v1/views/v/keys"), ED_EP_MULTIGET);
  assert_int_equal(C("GET", "/v1/views/v/rows"), ED_EP_ROWS);
  assert_int_equal(C("GET", "/healthz"), ED_EP_HEALTHZ);
  assert_int_equal(C("GET", "/readyz"), ED_EP_READYZ);
  assert_int_equal(C("GET", "/metrics"), ED_EP_METRICS);
  assert_int_equal(C("GET", "/"), ED_EP_OTHER);
  assert_int_equal(C("GET", "/v1/views//rows"), ED_EP_OTHER);
  assert_int_equal(C("GET", "/v1/views/v"), ED_EP_OTHER);
  assert_int_equal(C("GET", "/v1/views/v/other"), ED_EP_OTHER);
  assert_int_equal(C("GET", "/metricsx"), ED_EP_OTHER);
#undef C
}

static void test_escape(void **state) {
  (void)state;
  ed_buf_t b;
  ed_buf_init(&b);
  const char s[] = "a\"b\\c\nd\te";
  ed__prom_escape(&b, s, sizeof s - 1);
  assert_string_equal(b.data, "a\\\"b\\\\c\\nd\te");
  ed_buf_fini(&b);
}

/* Every sample line is "name{labels} value" or "name value" and every
 * family has HELP and TYPE before its samples. */
static void check_text(const char *text) {
  char family[128] = "";
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    size_t len = (size_t)(nl - line);
    if (strncmp(line, "# HELP ", 7) == 0) {
      const char *sp = memchr(line + 7, ' ', len - 7);
      assert_non_null(sp);
      snprintf(family, sizeof family, "%.*s", (int)(sp - line - 7), line + 7);
    } else if (strncmp(line, "# TYPE ", 7) == 0) {
      assert_int_equal(strncmp(line + 7, family, strlen(family)), 0);
    } else {
      assert_true(family[0] != '\0');
      if (strncmp(line, family, strlen(family)) != 0)
        fail_msg("sample outside its family: %.*s", (int)len, line);
      const char *sp = memchr(line, ' ', len);
      assert_non_null(sp);
    }
    line = nl + 1;
  }
}

static void test_metrics_text(void **state) {
  (void)state;
  static ed__http_metrics_t mx;                            /* zeroed */
  ed__http_metrics_observe(&mx, ED_EP_KEY, 200, 300000);   /* 0.3 ms */
  ed__http_metrics_observe(&mx, ED_EP_KEY, 200, 2000000);  /* 2 ms */
  ed__http_metrics_observe(&mx, ED_EP_KEY, 504, 50000000); /* 50 ms */
  ed__http_metrics_observe(&mx, ED_EP_ROWS, 0, 1000);      /* canceled */
  ed__http_metrics_observe(&mx, ED_EP_OTHER, 418, 1000);   /* not in the table */
  atomic_store(&mx.conns_open, 3);
  ed_buf_t b;
  ed_buf_init(&b);
  ed__http_metrics_write_http(&mx, &b);
  assert_false(ed_buf_failed(&b));
  const char *t = b.data;
  check_text(t);
  assert_non_null(strstr(t, "# TYPE eddy_queries_total counter\n"));
  assert_non_null(strstr(t, "eddy_queries_total{endpoint=\"key\",status=\"200\"} 2\n"));
  assert_non_null(strstr(t, "eddy_queries_total{endpoint=\"key\",status=\"504\"} 1\n"));
  assert_non_null(strstr(t, "eddy_queries_total{endpoint=\"rows\",status=\"canceled\"} 1\n"));
  assert_non_null(strstr(t, "eddy_queries_total{endpoint=\"other\",status=\"other\"} 1\n"));
  assert_null(strstr(t, "endpoint=\"views\",status"));
  assert_non_null(strstr(t, "# TYPE eddy_query_duration_seconds histogram\n"));
  assert_non_null(
      strstr(t, "eddy_query_duration_seconds_bucket{endpoint=\"key\",le=\"0.0005\"} 1\n"));
  assert_non_null(
      strstr(t, "eddy_query_duration_seconds_bucket{endpoint=\"key\",le=\"0.0025\"} 2\n"));
  assert_non_null(
      strstr(t, "eddy_query_duration_seconds_bucket{endpoint=\"key\",le=\"+Inf\"} 3\n"));
  assert_non_null(strstr(t, "eddy_query_duration_seconds_count{endpoint=\"key\"} 3\n"));
  assert_non_null(strstr(t, "eddy_query_duration_seconds_sum{endpoint=\"key\"} 0.052300000\n"));
  assert_non_null(strstr(t, "eddy_query_duration_seconds_count{endpoint=\"metrics\"} 0\n"));
  assert_non_null(
      strstr(t, "# TYPE eddy_http_connections_open gauge\neddy_http_connections_open 3\n"));
  ed_buf_fini(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wait_parse),   cmocka_unit_test(test_wait_parse_errors),
      cmocka_unit_test(test_classify),     cmocka_unit_test(test_escape),
      cmocka_unit_test(test_metrics_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
