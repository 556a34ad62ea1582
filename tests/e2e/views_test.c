/* End to end: the view features beyond a plain count, against eddy dev-kafka
 * and one eddy serve with seven views (4 partitions everywhere):
 *
 *   by_country      key: customer.country (repartitioned), where, count, sum,
 *                   max, avg, count_distinct; bad and filtered records
 *   clicks_per_min  tumbling 1m, grace 10s: in-order, out-of-order within
 *                   grace, late records (dropped); from/to narrowing
 *   clicks_hop      hopping 1m / 20s, grace 10s over the same records
 *   sessions        session windows (gap 30s, grace 2m): two sessions, a
 *                   record that merges them, a late record
 *   users           latest table with updates, tombstones (404), a bad record,
 *                   and `to: users-out`
 *   dl              on_error: dead_letter: records and headers of
 *                   e2e.dl.dead_letter
 *   totals          to: totals-out: the last value per key equals the table
 *
 * Every expected answer is computed here from the records produced (window
 * lateness by simulating each partition's stream time). The last test
 * produces more orders and user updates, kills -9 the server mid-stream,
 * restarts it on the same data_dir and checks every answer again (the
 * repartition step reprocesses: no double counting allowed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/murmur2.h"
#include "tests/e2e/harness.h"

#define NPART 4
#define APP "e2e"
#define T0 1700000040000LL /* a multiple of 1 minute */
#define CATCHUP_MS 60000
#define REPART_TOPIC APP ".by_country.repartition"
#define DL_TOPIC APP ".dl.dead_letter"

/* ---- topics produced to ---- */

enum { TP_ORDERS, TP_CLICKS, TP_SESSIONS, TP_USERS, TP_PAYMENTS, NTOPICS };
static const char *const topic_names[NTOPICS] = {"orders", "clicks", "sessions", "users",
                                                 "payments"};

/* Filled by the delivery report of one record (per-message opaque). */
typedef struct {
  atomic_int done;
  int32_t partition;
  int64_t offset;
} dr_slot_t;

/* ---- by_country ---- */

#define NCOUNTRIES 8
static const char *const countries[NCOUNTRIES] = {"DE", "FR", "US", "GB", "IT", "ES", "NL", "PL"};
#define UNPAID_COUNTRY "XX" /* only ever has records the where filters out */
#define NCUSTOMERS 50

typedef struct {
  int64_t orders;
  double revenue;
  double biggest;
  uint64_t customers; /* bit set of customer ids c0..c49 */
} country_exp_t;

/* ---- users ---- */

#define NUSERS 24
typedef struct {
  int deleted; /* 1 after a tombstone (or never created) */
  char value[256];
} user_exp_t;

/* ---- windows ---- */

#define NCLICK_KEYS 8
static const char *const click_keys[NCLICK_KEYS] = {"alice", "bob",   "carol", "dave",
                                                    "erin",  "frank", "grace", "heidi"};
#define NSESSION_KEYS 8
#define MAX_WIN 32

typedef struct {
  int64_t start, end, count;
} win_t;

typedef struct {
  win_t w[MAX_WIN];
  size_t n;
} win_list_t;

typedef struct {
  int key; /* index into the key list */
  int64_t ts;
} timed_t;

/* ---- payments (dl and totals) ---- */

#define NPAY_KEYS 12
typedef struct {
  int64_t n, total;
} pay_exp_t;

typedef struct {
  const char *key; /* NULL: a null key */
  const char *value;
  const char *reason; /* eddy.reason expected */
  dr_slot_t dr;
} dead_exp_t;
#define NDEAD 4

typedef struct {
  /* processes and files */
  char dir[256];
  char bootstrap[256];
  char config_path[512];
  int http_port;
  eh_proc_t kafka;
  eh_proc_t serve;
  eh_http_t *http;
  int started;
  int ntests, npassed;
  /* producer */
  rd_kafka_t *producer;
  pthread_mutex_t mu;
  int64_t end[NTOPICS][NPART];
  atomic_long failed;
  atomic_long misrouted;
  pthread_t thread;
  int thread_started;
  atomic_int stop;
  atomic_int phase2_done;
  atomic_long delivered_p2; /* phase-2 orders handed to the producer */
  /* expectations */
  country_exp_t country[NCOUNTRIES];
  user_exp_t users[NUSERS];
  timed_t clicks[512];
  size_t nclicks;
  timed_t sess[256];
  size_t nsess;
  win_list_t tumbling[NCLICK_KEYS], hopping[NCLICK_KEYS], sessions[NSESSION_KEYS];
  int64_t repartitioned;       /* orders that pass the where and have a country */
  int64_t redo_expected;       /* repartition records written past committed offsets at the kill */
  pay_exp_t pay[NPAY_KEYS];    /* totals: every record with a number amount */
  pay_exp_t pay_dl[NPAY_KEYS]; /* dl: without kind "test" */
  int64_t pay_bad_where_n, pay_bad_where_total; /* totals row of key "bad-where" */
  dead_exp_t dead[NDEAD];
} vt_t;

/* ---- small utilities ---- */

static int32_t part_of(const char *key) { return ed_partition_for_key(key, strlen(key), NPART); }

static int topic_index(const char *name) {
  for (int i = 0; i < NTOPICS; i++)
    if (strcmp(name, topic_names[i]) == 0) return i;
  return -1;
}

static void user_name(int i, char *out, size_t cap) { snprintf(out, cap, "user-%02d", i); }

static void session_key(int i, char *out, size_t cap) { snprintf(out, cap, "s-%d", i); }

static void pay_key(int i, char *out, size_t cap) { snprintf(out, cap, "p-%02d", i); }

/* ---- producer ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  vt_t *t = opaque;
  dr_slot_t *slot = m->_private;
  if (m->err) {
    fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    atomic_fetch_add(&t->failed, 1);
    return;
  }
  if (m->key && m->partition != ed_partition_for_key(m->key, m->key_len, NPART))
    atomic_fetch_add(&t->misrouted, 1);
  int ti = topic_index(rd_kafka_topic_name(m->rkt));
  pthread_mutex_lock(&t->mu);
  if (ti >= 0 && m->partition >= 0 && m->partition < NPART &&
      m->offset + 1 > t->end[ti][m->partition])
    t->end[ti][m->partition] = m->offset + 1;
  pthread_mutex_unlock(&t->mu);
  if (slot) {
    slot->partition = m->partition;
    slot->offset = m->offset;
    atomic_store(&slot->done, 1);
  }
}

static rd_kafka_t *make_producer(vt_t *t) {
  return eh_producer_new(t->bootstrap, "murmur2_random", on_delivery, t);
}

/* Produces one record; @p value NULL is a tombstone, @p ts 0 means now. */
static int produce(vt_t *t, int topic, const char *key, const char *value, int64_t ts,
                   dr_slot_t *slot) {
  int err = eh_produce(t->producer, topic_names[topic], key, key ? strlen(key) : 0, value,
                       value ? strlen(value) : 0, ts, slot);
  rd_kafka_poll(t->producer, 0);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static void flush_ok(vt_t *t) {
  assert_int_equal(rd_kafka_flush(t->producer, 15000), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(atomic_load(&t->failed), 0);
  assert_int_equal(atomic_load(&t->misrouted), 0);
}

static void get_end(vt_t *t, int topic, int64_t out[NPART]) {
  pthread_mutex_lock(&t->mu);
  memcpy(out, t->end[topic], sizeof(t->end[topic]));
  pthread_mutex_unlock(&t->mu);
}

/* ---- orders: deterministic records and their expected effect ---- */

typedef enum {
  ORD_PAID,
  ORD_NOT_JSON,
  ORD_NO_COUNTRY,
  ORD_AMOUNT_STRING,
  ORD_NO_CUSTOMER_ID,
  ORD_UNPAID,
  ORD_NO_STATUS,
  ORD_UNPAID_XX
} ord_kind_t;

typedef struct {
  char key[32];
  char value[192];
  ord_kind_t kind;
  int country;
  int customer;
  double amount;
} order_t;

static void gen_order(int phase, int i, order_t *o) {
  uint64_t s = (uint64_t)phase * 1000003u + (uint64_t)i * 7919u + 5u;
  eh_rng_next(&s);
  uint64_t k = eh_rng_next(&s) % 100;
  o->country = (int)(eh_rng_next(&s) % NCOUNTRIES);
  o->customer = (int)(eh_rng_next(&s) % NCUSTOMERS);
  int q = 1 + (int)(eh_rng_next(&s) % 4000); /* amount = q / 4: exact in binary */
  o->amount = q / 4.0;
  char amount[32];
  if (q % 4 == 0)
    snprintf(amount, sizeof(amount), "%d", q / 4); /* an integer literal */
  else
    snprintf(amount, sizeof(amount), "%.2f", o->amount);
  snprintf(o->key, sizeof(o->key), "o-%d-%d", phase, i);
  const char *c = countries[o->country];
  if (k < 4)
    o->kind = ORD_NOT_JSON;
  else if (k < 7)
    o->kind = ORD_NO_COUNTRY;
  else if (k < 10)
    o->kind = ORD_AMOUNT_STRING;
  else if (k < 12)
    o->kind = ORD_NO_CUSTOMER_ID;
  else if (k < 22)
    o->kind = ORD_UNPAID;
  else if (k < 24)
    o->kind = ORD_NO_STATUS;
  else if (k < 26)
    o->kind = ORD_UNPAID_XX;
  else
    o->kind = ORD_PAID;
  switch (o->kind) {
  case ORD_PAID:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\",\"country\":\"%s\"},\"amount\":%s,\"status\":\"paid\"}",
             o->customer, c, amount);
    break;
  case ORD_NOT_JSON:
    snprintf(o->value, sizeof(o->value), "{\"customer\":{\"country\":\"%s\"},\"amount\":%s,", c,
             amount);
    break;
  case ORD_NO_COUNTRY:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\"},\"amount\":%s,\"status\":\"paid\"}", o->customer,
             amount);
    break;
  case ORD_AMOUNT_STRING:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\",\"country\":\"%s\"},\"amount\":\"%s\",\"status\":"
             "\"paid\"}",
             o->customer, c, amount);
    break;
  case ORD_NO_CUSTOMER_ID:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"country\":\"%s\"},\"amount\":%s,\"status\":\"paid\"}", c, amount);
    break;
  case ORD_UNPAID:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\",\"country\":\"%s\"},\"amount\":%s,\"status\":\"%s\"}",
             o->customer, c, amount, k % 2 ? "pending" : "refunded");
    break;
  case ORD_NO_STATUS:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\",\"country\":\"%s\"},\"amount\":%s}", o->customer, c,
             amount);
    break;
  case ORD_UNPAID_XX:
    snprintf(o->value, sizeof(o->value),
             "{\"customer\":{\"id\":\"c%d\",\"country\":\"%s\"},\"amount\":%s,\"status\":"
             "\"cancelled\"}",
             o->customer, UNPAID_COUNTRY, amount);
    break;
  }
}

static void expect_order(vt_t *t, const order_t *o) {
  if (o->kind == ORD_PAID || o->kind == ORD_AMOUNT_STRING || o->kind == ORD_NO_CUSTOMER_ID)
    t->repartitioned++;
  if (o->kind != ORD_PAID) return; /* bad or filtered: changes no column */
  country_exp_t *c = &t->country[o->country];
  c->orders++;
  c->revenue += o->amount;
  if (c->orders == 1 || o->amount > c->biggest) c->biggest = o->amount;
  c->customers |= 1ull << o->customer;
}

/* ---- users ---- */

static void user_put(vt_t *t, int u, int version, dr_slot_t *slot) {
  char name[32], value[256];
  user_name(u, name, sizeof(name));
  snprintf(value, sizeof(value),
           "{\"id\":\"%s\",\"name\":\"N%d\",\"v\":%d,\"tags\":[\"a\",{\"b\":[1,2.5,null]}]}", name,
           u, version);
  assert_int_equal(produce(t, TP_USERS, name, value, 0, slot), 0);
  t->users[u].deleted = 0;
  snprintf(t->users[u].value, sizeof(t->users[u].value), "%s", value);
}

static void user_delete(vt_t *t, int u) {
  char name[32];
  user_name(u, name, sizeof(name));
  assert_int_equal(produce(t, TP_USERS, name, NULL, 0, NULL), 0);
  t->users[u].deleted = 1;
}

static void user_bad(vt_t *t, int u) {
  char name[32];
  user_name(u, name, sizeof(name));
  assert_int_equal(produce(t, TP_USERS, name, "{\"id\":\"broken\",", 0, NULL), 0);
}

/* ---- window simulation (per-partition stream time, as Kafka Streams) ---- */

typedef struct {
  int64_t size, advance, gap, grace;
  int session;
} sim_spec_t;

static void win_add(win_list_t *l, int64_t start, int64_t end, int64_t count) {
  size_t i = 0;
  while (i < l->n && l->w[i].start < start)
    i++;
  if (i < l->n && l->w[i].start == start) {
    l->w[i].count += count;
    return;
  }
  assert_true(l->n < MAX_WIN);
  memmove(&l->w[i + 1], &l->w[i], (l->n - i) * sizeof(win_t));
  l->w[i] = (win_t){start, end, count};
  l->n++;
}

/* Simulates @p n records (in produce order) of keys named by @p name into
 * @p out (one list per key); returns how many records were dropped late. */
static int simulate(const sim_spec_t *sp, const timed_t *recs, size_t n,
                    void (*name)(int, char *, size_t), win_list_t *out, int *late_per_key) {
  int dropped = 0;
  for (int32_t p = 0; p < NPART; p++) {
    int64_t st = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
      char key[64];
      name(recs[i].key, key, sizeof(key));
      if (part_of(key) != p) continue;
      int64_t ts = recs[i].ts;
      if (ts > st) st = ts;
      win_list_t *l = &out[recs[i].key];
      if (!sp->session) {
        int64_t last = ts - (((ts % sp->advance) + sp->advance) % sp->advance);
        int any = 0;
        for (int64_t s = last; s > ts - sp->size; s -= sp->advance) {
          if (s + sp->size + sp->grace <= st) continue; /* this window is closed */
          win_add(l, s, s + sp->size, 1);
          any = 1;
        }
        if (!any) {
          dropped++;
          late_per_key[recs[i].key]++;
        }
      } else {
        /* sessions within gap of ts (inclusive) merge with the record */
        int64_t ms = ts, me = ts, cnt = 1;
        size_t first = l->n, count = 0;
        for (size_t j = 0; j < l->n; j++)
          if (l->w[j].end >= ts - sp->gap && l->w[j].start <= ts + sp->gap) {
            if (first == l->n) first = j;
            count++;
          }
        for (size_t j = first; j < first + count; j++) {
          if (l->w[j].start < ms) ms = l->w[j].start;
          if (l->w[j].end > me) me = l->w[j].end;
          cnt += l->w[j].count;
        }
        if (me + sp->grace <= st) {
          dropped++;
          late_per_key[recs[i].key]++;
          continue;
        }
        memmove(&l->w[first], &l->w[first + count], (l->n - first - count) * sizeof(win_t));
        l->n -= count;
        win_add(l, ms, me, cnt);
      }
    }
  }
  return dropped;
}

static void click_name(int i, char *out, size_t cap) { snprintf(out, cap, "%s", click_keys[i]); }

/* ---- JSON answers ---- */

typedef struct {
  char key[256];
  int64_t partition, offset, stream_time;
  int has_stream_time;
  win_t w[MAX_WIN];
  size_t n;
} win_answer_t;

static int json_int(const ed_json_val_t *v, int64_t *out) {
  int is_int;
  double d;
  if (v->type != ED_JSON_NUMBER || ed_json_number(v, &is_int, out, &d) != 0 || !is_int) return -1;
  return 0;
}

static int parse_win_answer(const char *body, size_t len, win_answer_t *a) {
  static const ed_json_field_t f[5] = {
      {"key", 3}, {"windows", 7}, {"partition", 9}, {"offset", 6}, {"stream_time", 11}};
  ed_json_val_t v[5];
  memset(a, 0, sizeof(*a));
  if (ed_json_scan(body, len, f, 5, v, NULL) != 0 || v[0].type != ED_JSON_STRING ||
      v[1].type != ED_JSON_ARRAY)
    return -1;
  long kn = ed_json_unescape(&v[0], a->key, sizeof(a->key) - 1);
  if (kn < 0) return -1;
  a->key[kn] = '\0';
  if (json_int(&v[2], &a->partition) != 0 || json_int(&v[3], &a->offset) != 0) return -1;
  if (v[4].type != ED_JSON_MISSING) {
    if (json_int(&v[4], &a->stream_time) != 0) return -1;
    a->has_stream_time = 1;
  }
  size_t pos = 0;
  const char *e;
  size_t el;
  int r;
  while ((r = eh_json_array_next(v[1].p, v[1].len, &pos, &e, &el)) == 1) {
    static const ed_json_field_t wf[3] = {{"start", 5}, {"end", 3}, {"value", 5}};
    ed_json_val_t w[3];
    if (a->n >= MAX_WIN || ed_json_scan(e, el, wf, 3, w, NULL) != 0 || w[2].type != ED_JSON_OBJECT)
      return -1;
    win_t *x = &a->w[a->n++];
    if (json_int(&w[0], &x->start) != 0 || json_int(&w[1], &x->end) != 0) return -1;
    static const ed_json_field_t cf = {"count", 5};
    ed_json_val_t c;
    if (ed_json_scan(w[2].p, w[2].len, &cf, 1, &c, NULL) != 0 || json_int(&c, &x->count) != 0)
      return -1;
  }
  return r == 0 ? 0 : -1;
}

static void fmt_wins(const win_t *w, size_t n, char *out, size_t cap) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < n && o + 64 < cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%s[T0%+lld,T0%+lld):%lld", i ? " " : "",
                          (long long)(w[i].start - T0), (long long)(w[i].end - T0),
                          (long long)w[i].count);
}

/* ---- setup / teardown ---- */

static int group_setup(void **state) {
  vt_t *t = calloc(1, sizeof(*t));
  if (!t) return -1;
  pthread_mutex_init(&t->mu, NULL);
  if (eh_tmpdir("eddy-views-", t->dir, sizeof(t->dir)) != 0) {
    free(t);
    return -1;
  }
  t->http = eh_http_create();
  for (int u = 0; u < NUSERS; u++)
    t->users[u].deleted = 1;
  *state = t;
  return 0;
}

static int group_teardown(void **state) {
  vt_t *t = *state;
  if (!t) return 0;
  atomic_store(&t->stop, 1);
  if (t->thread_started) pthread_join(t->thread, NULL);
  if (t->npassed != t->ntests) {
    if (t->serve.pid) eh_proc_dump_err(&t->serve, "eddy serve", 8000);
    if (t->kafka.pid) eh_proc_dump_err(&t->kafka, "eddy dev-kafka", 2000);
  }
  eh_proc_kill(&t->serve, SIGKILL, 0);
  if (t->producer) {
    rd_kafka_flush(t->producer, 2000);
    rd_kafka_destroy(t->producer);
  }
  eh_proc_kill(&t->kafka, SIGTERM, 5000);
  eh_http_destroy(t->http);
  eh_keep_or_rm(t->dir);
  pthread_mutex_destroy(&t->mu);
  free(t);
  return 0;
}

static void write_config(vt_t *t, const char *bootstrap) {
  char data_dir[512];
  snprintf(data_dir, sizeof(data_dir), "%s/data", t->dir);
  eh_write_config(
      t->config_path, APP, bootstrap, t->http_port, data_dir,
      "  by_country:\n"
      "    from: orders\n"
      "    key: customer.country\n"
      "    where: status == \"paid\"\n"
      "    aggregate: { orders: count, revenue: sum(amount), biggest: max(amount),\n"
      "                 avg_order: avg(amount), customers: count_distinct(customer.id) }\n"
      "  clicks_per_min:\n"
      "    from: clicks\n"
      "    window: { type: tumbling, size: 1m, grace: 10s }\n"
      "    aggregate: count\n"
      "  clicks_hop:\n"
      "    from: clicks\n"
      "    window: { type: hopping, size: 1m, advance: 20s, grace: 10s }\n"
      "    aggregate: count\n"
      "  sessions:\n"
      "    from: sessions\n"
      "    window: { type: session, gap: 30s, grace: 2m }\n"
      "    aggregate: count\n"
      "  users:\n"
      "    from: users\n"
      "    aggregate: latest\n"
      "    to: users-out\n"
      "  dl:\n"
      "    from: payments\n"
      "    where: kind != \"test\"\n"
      "    aggregate: { n: count, total: sum(amount) }\n"
      "    on_error: dead_letter\n"
      "  totals:\n"
      "    from: payments\n"
      "    aggregate: { n: count, total: sum(amount) }\n"
      "    to: totals-out\n");
}

static void start_kafka(vt_t *t) {
  /* dev-kafka reads only the views from the config: write it with a
   * placeholder bootstrap first, the real one once the cluster runs. */
  write_config(t, "127.0.0.1:1");
  char *args[] = {"--config", t->config_path, NULL};
  eh_start_dev_kafka(&t->kafka, t->dir, args, t->bootstrap, sizeof(t->bootstrap));
  write_config(t, t->bootstrap);
}

static void start_serve(vt_t *t) {
  eh_start_serve(&t->serve, t->dir, t->config_path, t->http, t->http_port);
}

static void key_url(vt_t *t, const char *view, const char *key, const char *query, char *url,
                    size_t cap) {
  eh_key_url(t->http, t->http_port, view, key, query, url, cap);
}

/* ---- producing the phase-1 data set ---- */

static void produce_orders_phase1(vt_t *t) {
  for (int i = 0; i < 1500; i++) {
    order_t o;
    gen_order(1, i, &o);
    expect_order(t, &o);
    assert_int_equal(produce(t, TP_ORDERS, o.key, o.value, 0, NULL), 0);
  }
}

static void produce_users_phase1(vt_t *t) {
  for (int u = 0; u < NUSERS; u++)
    user_put(t, u, 1, NULL);
  for (int u = 0; u < NUSERS; u += 2)
    user_put(t, u, 2, NULL);
  user_delete(t, 3);
  user_delete(t, 7);
  user_put(t, 7, 3, NULL); /* re-created */
  user_delete(t, 11);
  user_bad(t, 5); /* skipped: user-05 keeps its value */
  user_put(t, 9, 4, NULL);
  user_delete(t, 9);
  user_delete(t, 9); /* deleting a deleted row */
}

/* Clicks: rounds of one record per key (flushed between rounds so each
 * partition sees them in this order). Times in seconds after T0. */
static void produce_clicks(vt_t *t) {
  static const int64_t rounds[] = {1,
                                   5,
                                   30,
                                   61,
                                   62,
                                   50 /* out of order, within grace */,
                                   125,
                                   55 /* late */,
                                   119 /* within grace */,
                                   65,
                                   181,
                                   170 /* within grace */,
                                   110 /* late */,
                                   182};
  for (size_t r = 0; r < sizeof(rounds) / sizeof(rounds[0]); r++) {
    for (int k = 0; k < NCLICK_KEYS; k++) {
      /* key-dependent extra records so counts differ per key */
      int extra = r == 1 ? k % 3 : (r == 6 ? k % 2 : 0);
      for (int e = 0; e <= extra; e++) {
        int64_t ts = T0 + rounds[r] * 1000 + e * 7 + k;
        assert_true(t->nclicks < sizeof(t->clicks) / sizeof(t->clicks[0]));
        t->clicks[t->nclicks++] = (timed_t){k, ts};
        char value[96];
        snprintf(value, sizeof(value), "{\"page\":\"/p/%d\",\"round\":%zu}", k, r);
        assert_int_equal(produce(t, TP_CLICKS, click_keys[k], value, ts, NULL), 0);
      }
    }
    flush_ok(t);
  }
}

/* Sessions (gap 30s, grace 2m), times in seconds after T0: 0,10,(15 x
 * k%3),20 -> [0,20]; 70,80 -> [70,80]; even keys: 45 merges both; 400 all;
 * 48 all: would merge, but [..,80] + grace <= 400: late, dropped. */
static void produce_sessions(vt_t *t) {
  static const int64_t rounds[] = {0, 10, 15, 20, 70, 80, 45, 400, 48};
  for (size_t r = 0; r < sizeof(rounds) / sizeof(rounds[0]); r++) {
    for (int k = 0; k < NSESSION_KEYS; k++) {
      int n = 1;
      if (rounds[r] == 15) n = k % 3;
      if (rounds[r] == 45 && k % 2 == 1) n = 0;
      for (int e = 0; e < n; e++) {
        int64_t ts = T0 + rounds[r] * 1000 + e;
        char key[32];
        session_key(k, key, sizeof(key));
        assert_true(t->nsess < sizeof(t->sess) / sizeof(t->sess[0]));
        t->sess[t->nsess++] = (timed_t){k, ts};
        assert_int_equal(produce(t, TP_SESSIONS, key, "{\"event\":\"tick\"}", ts, NULL), 0);
      }
    }
    flush_ok(t);
  }
}

static void produce_payments(vt_t *t) {
  for (int i = 0; i < 60; i++) {
    int k = (i * 7) % NPAY_KEYS;
    char key[32], value[96];
    pay_key(k, key, sizeof(key));
    int64_t amount = 1 + (i * 13) % 50;
    int test = i % 10 == 3;
    snprintf(value, sizeof(value), "{\"kind\":\"%s\",\"amount\":%lld}", test ? "test" : "sale",
             (long long)amount);
    assert_int_equal(produce(t, TP_PAYMENTS, key, value, 0, NULL), 0);
    t->pay[k].n++;
    t->pay[k].total += amount;
    if (!test) {
      t->pay_dl[k].n++;
      t->pay_dl[k].total += amount;
    }
    if (i == 20) {
      t->dead[0] = (dead_exp_t){"bad-json", "{not json", "invalid json", {0}};
      t->dead[1] = (dead_exp_t){"bad-where", "{\"amount\":3}", "bad where", {0}};
      t->dead[2] = (dead_exp_t){
          "bad-amount", "{\"kind\":\"sale\",\"amount\":\"12\"}", "bad aggregate argument", {0}};
      t->dead[3] = (dead_exp_t){NULL, "{\"kind\":\"sale\",\"amount\":5}", "null key", {0}};
      for (int d = 0; d < NDEAD; d++)
        assert_int_equal(
            produce(t, TP_PAYMENTS, t->dead[d].key, t->dead[d].value, 0, &t->dead[d].dr), 0);
      /* totals (no where, on_error skip) counts "bad-where" */
      t->pay_bad_where_n = 1;
      t->pay_bad_where_total = 3;
    }
  }
}

/* test data self-checks: every partition has a row we can wait on */
static void check_coverage(vt_t *t) {
  int users[NPART] = {0}, pay[NPART] = {0};
  for (int u = 0; u < NUSERS; u++) {
    char name[32];
    user_name(u, name, sizeof(name));
    if (!t->users[u].deleted) users[part_of(name)] = 1;
  }
  for (int k = 0; k < NPAY_KEYS; k++) {
    char key[32];
    pay_key(k, key, sizeof(key));
    assert_true(t->pay[k].n > 0);
    pay[part_of(key)] = 1;
  }
  for (int p = 0; p < NPART; p++)
    if (!users[p] || !pay[p])
      fail_msg("test data: partition %d has no live user (%d) or payment key (%d)", p, users[p],
               pay[p]);
}

/* ---- tests ---- */

#define TEST_BEGIN(t)                                                                              \
  vt_t *t = *state;                                                                                \
  t->ntests++;                                                                                     \
  if (!t->started) fail_msg("setup failed (see test_start)")

static void test_start(void **state) {
  vt_t *t = *state;
  t->ntests++;
  t->http_port = eh_free_port();
  assert_true(t->http_port > 0);
  snprintf(t->config_path, sizeof(t->config_path), "%s/eddy.yaml", t->dir);
  start_kafka(t);
  t->producer = make_producer(t);
  assert_non_null(t->producer);
  produce_orders_phase1(t);
  produce_users_phase1(t);
  produce_payments(t);
  flush_ok(t);
  produce_clicks(t);
  produce_sessions(t);
  flush_ok(t);
  for (int d = 0; d < NDEAD; d++)
    assert_true(atomic_load(&t->dead[d].dr.done));
  check_coverage(t);

  /* expected windows */
  int late[NCLICK_KEYS] = {0}, late_h[NCLICK_KEYS] = {0}, late_s[NSESSION_KEYS] = {0};
  sim_spec_t tum = {60000, 60000, 0, 10000, 0}, hop = {60000, 20000, 0, 10000, 0},
             ses = {0, 0, 30000, 120000, 1};
  int d1 = simulate(&tum, t->clicks, t->nclicks, click_name, t->tumbling, late);
  int d2 = simulate(&hop, t->clicks, t->nclicks, click_name, t->hopping, late_h);
  int d3 = simulate(&ses, t->sess, t->nsess, session_key, t->sessions, late_s);
  for (int k = 0; k < NCLICK_KEYS; k++)
    if (late[k] < 2)
      fail_msg("test data: key %s has %d late tumbling records, want >= 2", click_keys[k], late[k]);
  for (int k = 0; k < NSESSION_KEYS; k++) {
    if (late_s[k] != 1)
      fail_msg("test data: session key %d has %d late records, want 1", k, late_s[k]);
    if (t->sessions[k].n != (k % 2 ? 3u : 2u))
      fail_msg("test data: session key %d has %zu sessions", k, t->sessions[k].n);
  }
  fprintf(stderr, "  produced; late records dropped: tumbling %d, hopping %d, sessions %d\n", d1,
          d2, d3);
  start_serve(t);
  t->started = 1;
  t->npassed++;
}

/* Polls @p url until a 200 whose offset is @p want (windowed answer). */
static void wait_win(vt_t *t, const char *url, int64_t want, win_answer_t *a) {
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  int st;
  const char *body = "";
  size_t len;
  for (;;) {
    st = eh_http_get(t->http, url, 2000, &body, &len);
    if (st == 200) {
      if (parse_win_answer(body, len, a) != 0)
        fail_msg("GET %s: malformed windowed answer: %s", url, body);
      if (a->offset > want)
        fail_msg("GET %s: offset %lld beyond the partition's end %lld", url, (long long)a->offset,
                 (long long)want);
      if (a->offset == want) return;
    } else if (st != 503 && st != 404 && st != 0) {
      fail_msg("GET %s: unexpected status %d: %s", url, st, body);
    }
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died while waiting for %s", url);
    if (eh_now_ms() > deadline)
      fail_msg("GET %s: not at offset %lld in time; last status %d body %s", url, (long long)want,
               st, body);
    eh_sleep_ms(20);
  }
}

static void assert_wins(const char *what, const win_answer_t *a, const win_t *w, size_t n) {
  int ok = a->n == n;
  for (size_t i = 0; ok && i < n; i++)
    ok = a->w[i].start == w[i].start && a->w[i].end == w[i].end && a->w[i].count == w[i].count;
  if (!ok) {
    char got[2048], want[2048];
    fmt_wins(a->w, a->n, got, sizeof(got));
    fmt_wins(w, n, want, sizeof(want));
    fail_msg("%s: windows\n    got  %s\n    want %s", what, got, want);
  }
}

/* The windows of @p l whose start is in [from, to]. */
static size_t wins_between(const win_list_t *l, int64_t from, int64_t to, win_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++)
    if (l->w[i].start >= from && l->w[i].start <= to) out[n++] = l->w[i];
  return n;
}

static void check_window_view(vt_t *t, const char *view, const char *const *keys, int nkeys,
                              const win_list_t *exp, int topic) {
  int64_t end[NPART];
  get_end(t, topic, end);
  for (int k = 0; k < nkeys; k++) {
    char url[512], what[256];
    win_answer_t a;
    int32_t p = part_of(keys[k]);
    key_url(t, view, keys[k], NULL, url, sizeof(url));
    wait_win(t, url, end[p], &a);
    snprintf(what, sizeof(what), "%s/%s", view, keys[k]);
    assert_string_equal(a.key, keys[k]);
    assert_int_equal(a.partition, p);
    assert_wins(what, &a, exp[k].w, exp[k].n);
    if (!a.has_stream_time) fail_msg("%s: no stream_time in the answer", what);
  }
}

static void expect_status(vt_t *t, const char *url, int want) {
  const char *body;
  size_t len;
  int st = eh_http_get(t->http, url, 2000, &body, &len);
  if (st != want) fail_msg("GET %s: status %d (want %d): %s", url, st, want, body);
}

static void test_tumbling_hopping(void **state) {
  TEST_BEGIN(t);
  check_window_view(t, "clicks_per_min", click_keys, NCLICK_KEYS, t->tumbling, TP_CLICKS);
  check_window_view(t, "clicks_hop", click_keys, NCLICK_KEYS, t->hopping, TP_CLICKS);
  /* stream_time: the highest event time of the key's partition */
  for (int k = 0; k < NCLICK_KEYS; k++) {
    int64_t st = INT64_MIN;
    int32_t p = part_of(click_keys[k]);
    for (size_t i = 0; i < t->nclicks; i++)
      if (part_of(click_keys[t->clicks[i].key]) == p && t->clicks[i].ts > st) st = t->clicks[i].ts;
    char url[512];
    win_answer_t a;
    int64_t end[NPART];
    get_end(t, TP_CLICKS, end);
    key_url(t, "clicks_per_min", click_keys[k], NULL, url, sizeof(url));
    wait_win(t, url, end[p], &a);
    if (a.stream_time != st)
      fail_msg("clicks_per_min/%s: stream_time T0%+lld, want T0%+lld", click_keys[k],
               (long long)(a.stream_time - T0), (long long)(st - T0));
  }
  /* from/to (inclusive bounds on window start) */
  static const int64_t ranges[][2] = {{60000, 60000}, {60000, 180000},    {0, 59999},
                                      {20000, 40000}, {-3600000, 120000}, {120001, 3600000}};
  const char *views[2] = {"clicks_per_min", "clicks_hop"};
  for (int v = 0; v < 2; v++)
    for (int k = 0; k < NCLICK_KEYS; k += 3)
      for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        const win_list_t *l = v == 0 ? &t->tumbling[k] : &t->hopping[k];
        win_t want[MAX_WIN];
        int64_t from = T0 + ranges[r][0], to = T0 + ranges[r][1];
        size_t n = wins_between(l, from, to, want);
        char q[128], url[512], what[256];
        snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)from, (long long)to);
        key_url(t, views[v], click_keys[k], q, url, sizeof(url));
        const char *body;
        size_t len;
        int st = eh_http_get(t->http, url, 2000, &body, &len);
        if (n == 0) {
          if (st != 404)
            fail_msg("GET %s: status %d, want 404 (no window in range): %s", url, st, body);
          continue;
        }
        if (st != 200) fail_msg("GET %s: status %d: %s", url, st, body);
        win_answer_t a;
        if (parse_win_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
        snprintf(what, sizeof(what), "%s/%s?%s", views[v], click_keys[k], q);
        assert_wins(what, &a, want, n);
      }
  /* only from, only to */
  {
    win_t want[MAX_WIN];
    char q[128], url[512];
    win_answer_t a;
    const char *body;
    size_t len;
    size_t n = wins_between(&t->tumbling[1], T0 + 61000, INT64_MAX, want);
    snprintf(q, sizeof(q), "from=%lld", (long long)(T0 + 61000));
    key_url(t, "clicks_per_min", click_keys[1], q, url, sizeof(url));
    assert_int_equal(eh_http_get(t->http, url, 2000, &body, &len), 200);
    assert_int_equal(parse_win_answer(body, len, &a), 0);
    assert_wins("clicks_per_min/bob?from=T0+61000", &a, want, n);
    n = wins_between(&t->tumbling[1], INT64_MIN, T0 + 60000, want);
    snprintf(q, sizeof(q), "to=%lld", (long long)(T0 + 60000));
    key_url(t, "clicks_per_min", click_keys[1], q, url, sizeof(url));
    assert_int_equal(eh_http_get(t->http, url, 2000, &body, &len), 200);
    assert_int_equal(parse_win_answer(body, len, &a), 0);
    assert_wins("clicks_per_min/bob?to=T0+60000", &a, want, n);
    /* from after to, not an integer: 400; unknown key: 404 */
    snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)(T0 + 5), (long long)T0);
    key_url(t, "clicks_per_min", "bob", q, url, sizeof(url));
    expect_status(t, url, 400);
    key_url(t, "clicks_per_min", "bob", "from=abc", url, sizeof(url));
    expect_status(t, url, 400);
    key_url(t, "clicks_per_min", "nobody", NULL, url, sizeof(url));
    expect_status(t, url, 404);
  }
  t->npassed++;
}

static void test_sessions(void **state) {
  TEST_BEGIN(t);
  char keys[NSESSION_KEYS][32];
  const char *kp[NSESSION_KEYS];
  for (int k = 0; k < NSESSION_KEYS; k++) {
    session_key(k, keys[k], sizeof(keys[k]));
    kp[k] = keys[k];
  }
  check_window_view(t, "sessions", kp, NSESSION_KEYS, t->sessions, TP_SESSIONS);
  /* spelled out for two keys, as a check of the simulation itself */
  const win_t even[2] = {{T0, T0 + 80000, 6}, {T0 + 400000, T0 + 400000, 1}};
  const win_t odd[3] = {
      {T0, T0 + 20000, 4}, {T0 + 70000, T0 + 80000, 2}, {T0 + 400000, T0 + 400000, 1}};
  /* s-0: 0,10,20 + 70,80 + 45 = 6; s-1: 0,10,15,20 = 4 */
  assert_int_equal(t->sessions[0].n, 2);
  assert_memory_equal(t->sessions[0].w, even, sizeof(even));
  assert_int_equal(t->sessions[1].n, 3);
  assert_memory_equal(t->sessions[1].w, odd, sizeof(odd));
  /* from/to narrow by session start */
  char url[512], q[128];
  const char *body;
  size_t len;
  win_answer_t a;
  snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)(T0 + 1), (long long)(T0 + 399999));
  key_url(t, "sessions", "s-1", q, url, sizeof(url));
  assert_int_equal(eh_http_get(t->http, url, 2000, &body, &len), 200);
  assert_int_equal(parse_win_answer(body, len, &a), 0);
  assert_wins("sessions/s-1?from=T0+1&to=T0+399999", &a, &odd[1], 1);
  key_url(t, "sessions", "s-0", q, url, sizeof(url));
  expect_status(t, url, 404);
  t->npassed++;
}

/* Waits until @p key of @p view (a table) reflects offset @p want. Returns
 * the status: 200 with *ans filled. */
static void wait_table(vt_t *t, const char *view, const char *key, int64_t want,
                       eh_key_answer_t *ans) {
  char url[512];
  key_url(t, view, key, NULL, url, sizeof(url));
  int64_t deadline = eh_now_ms() + CATCHUP_MS;
  int st;
  const char *body = "";
  size_t len;
  for (;;) {
    st = eh_http_get(t->http, url, 2000, &body, &len);
    if (st == 200) {
      if (eh_parse_key_answer(body, len, ans) != 0)
        fail_msg("GET %s: malformed answer: %s", url, body);
      if (ans->offset > want)
        fail_msg("GET %s: offset %lld beyond the partition's end %lld: %s", url,
                 (long long)ans->offset, (long long)want, body);
      if (ans->offset == want) return;
    } else if (st != 503 && st != 404 && st != 0) {
      fail_msg("GET %s: unexpected status %d: %s", url, st, body);
    }
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died while waiting for %s", url);
    if (eh_now_ms() > deadline)
      fail_msg("GET %s: not at offset %lld in time; last status %d body %s", url, (long long)want,
               st, body);
    eh_sleep_ms(20);
  }
}

static int64_t num_field(const char *what, const char *obj, const char *name, int want_int) {
  int is_int;
  int64_t i;
  double d;
  if (eh_json_get_number(obj, strlen(obj), name, &is_int, &i, &d) != 0)
    fail_msg("%s: value %s has no number '%s'", what, obj, name);
  if (want_int && !is_int) fail_msg("%s: '%s' in %s is not an integer", what, name, obj);
  return i;
}

static void check_payments_table(vt_t *t, const char *view) {
  int64_t end[NPART];
  get_end(t, TP_PAYMENTS, end);
  for (int k = 0; k < NPAY_KEYS; k++) {
    char key[32], what[64];
    pay_key(k, key, sizeof(key));
    eh_key_answer_t a;
    wait_table(t, view, key, end[part_of(key)], &a);
    snprintf(what, sizeof(what), "%s/%s", view, key);
    assert_int_equal(a.partition, part_of(key));
    const pay_exp_t *e = strcmp(view, "dl") == 0 ? &t->pay_dl[k] : &t->pay[k];
    if (num_field(what, a.value, "n", 1) != e->n ||
        num_field(what, a.value, "total", 1) != e->total)
      fail_msg("%s: %s, want n %lld total %lld", what, a.value, (long long)e->n,
               (long long)e->total);
  }
}

/* ---- reading a topic ---- */

typedef int (*on_msg_fn)(void *ctx, const rd_kafka_message_t *m);
typedef int (*done_fn)(void *ctx);

/* Reads every partition of @p topic from the beginning, calling @p on_msg
 * per record, until @p done says so (checked when the consumer is idle) or
 * @p timeout_ms passes. Returns 0 when done, -1 on timeout. */
static int read_topic(vt_t *t, const char *topic, on_msg_fn on_msg, done_fn done, void *ctx,
                      int64_t timeout_ms) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  /* librdkafka 2.0.2 wants a group.id even to assign(); never subscribed,
   * the consumer joins no group. */
  char group[128];
  snprintf(group, sizeof(group), "views-test-reader-%s-%lld", topic, (long long)eh_now_ms());
  const char *props[][2] = {{"bootstrap.servers", t->bootstrap},
                            {"group.id", group},
                            {"fetch.wait.max.ms", "10"},
                            {"enable.auto.commit", "false"},
                            {"log_level", "3"}};
  for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
    if (rd_kafka_conf_set(c, props[i][0], props[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
      fail_msg("consumer conf %s: %s", props[i][0], err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
  if (!rk) fail_msg("consumer: %s", err);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  int rc = -1, bad = 0;
  if (aerr == RD_KAFKA_RESP_ERR_NO_ERROR) {
    int64_t deadline = eh_now_ms() + timeout_ms;
    while (eh_now_ms() < deadline) {
      rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
      if (m) {
        if (!m->err && on_msg(ctx, m) != 0) bad = 1;
        rd_kafka_message_destroy(m);
        if (bad) break;
        continue;
      }
      if (done(ctx)) {
        rc = 0;
        break;
      }
    }
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) fail_msg("assign %s: %s", topic, rd_kafka_err2str(aerr));
  return bad ? -2 : rc;
}

/* dead letters */
typedef struct {
  vt_t *t;
  int seen[NDEAD];
  int extra;
  char view_seen[64];
  char problem[1024];
} dl_ctx_t;

static int header(const rd_kafka_message_t *m, const char *name, char *out, size_t cap) {
  rd_kafka_headers_t *h;
  const void *v;
  size_t n;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v || n >= cap)
    return -1;
  memcpy(out, v, n);
  out[n] = '\0';
  return 0;
}

static int dl_on_msg(void *arg, const rd_kafka_message_t *m) {
  dl_ctx_t *c = arg;
  char off[32], part[32], topic[64], view[64], reason[128];
  if (header(m, "eddy.offset", off, sizeof(off)) != 0 ||
      header(m, "eddy.partition", part, sizeof(part)) != 0 ||
      header(m, "eddy.topic", topic, sizeof(topic)) != 0 ||
      header(m, "eddy.view", view, sizeof(view)) != 0 ||
      header(m, "eddy.reason", reason, sizeof(reason)) != 0) {
    snprintf(c->problem, sizeof(c->problem),
             "dead letter at %d@%lld lacks one of the headers eddy.offset/partition/topic/view/"
             "reason (value '%.*s')",
             (int)m->partition, (long long)m->offset, (int)m->len, (const char *)m->payload);
    return -1;
  }
  for (int d = 0; d < NDEAD; d++) {
    dead_exp_t *e = &c->t->dead[d];
    char want_off[32], want_part[32];
    snprintf(want_off, sizeof(want_off), "%lld", (long long)e->dr.offset);
    snprintf(want_part, sizeof(want_part), "%d", (int)e->dr.partition);
    if (strcmp(off, want_off) != 0 || strcmp(part, want_part) != 0) continue;
    int key_ok =
        e->key ? (m->key && m->key_len == strlen(e->key) && memcmp(m->key, e->key, m->key_len) == 0)
               : m->key == NULL;
    int val_ok = m->len == strlen(e->value) && memcmp(m->payload, e->value, m->len) == 0;
    /* the view as named in the config (or its topology name app.view) */
    int view_ok = strcmp(view, "dl") == 0 || strcmp(view, APP ".dl") == 0;
    if (!key_ok || !val_ok || !view_ok || strcmp(topic, "payments") != 0 ||
        strcmp(reason, e->reason) != 0) {
      snprintf(c->problem, sizeof(c->problem),
               "dead letter for payments[%s]@%s: key '%.*s' value '%.*s' eddy.view '%s' "
               "eddy.topic '%s' eddy.reason '%s'; want key '%s' value '%s' view 'dl' topic "
               "'payments' reason '%s'",
               part, off, m->key ? (int)m->key_len : 6, m->key ? (const char *)m->key : "(null)",
               (int)m->len, (const char *)m->payload, view, topic, reason,
               e->key ? e->key : "(null)", e->value, e->reason);
      return -1;
    }
    c->seen[d]++;
    snprintf(c->view_seen, sizeof(c->view_seen), "%s", view);
    return 0;
  }
  snprintf(c->problem, sizeof(c->problem),
           "unexpected dead letter payments[%s]@%s reason '%s' value '%.*s'", part, off, reason,
           (int)m->len, (const char *)m->payload);
  c->extra++;
  return -1;
}

static int dl_done(void *arg) {
  dl_ctx_t *c = arg;
  for (int d = 0; d < NDEAD; d++)
    if (c->seen[d] == 0) return 0;
  return 1;
}

static void test_dead_letter(void **state) {
  TEST_BEGIN(t);
  check_payments_table(t, "dl");
  char url[512];
  for (int d = 0; d < NDEAD; d++)
    if (t->dead[d].key) {
      key_url(t, "dl", t->dead[d].key, NULL, url, sizeof(url));
      expect_status(t, url, 404);
    }
  dl_ctx_t c = {.t = t};
  int rc = read_topic(t, DL_TOPIC, dl_on_msg, dl_done, &c, 20000);
  if (rc == -2) fail_msg("%s", c.problem);
  if (rc != 0)
    fail_msg("%s: dead letters seen %d %d %d %d of the 4 bad records (json, where, amount, null "
             "key) within 20 s",
             DL_TOPIC, c.seen[0], c.seen[1], c.seen[2], c.seen[3]);
  /* read on a little: nothing else, no duplicates */
  dl_ctx_t c2 = {.t = t};
  rc = read_topic(t, DL_TOPIC, dl_on_msg, dl_done, &c2, 3000);
  if (rc == -2) fail_msg("%s", c2.problem);
  for (int d = 0; d < NDEAD; d++)
    if (c2.seen[d] != 1)
      fail_msg("%s: the dead letter of record %d appears %d times", DL_TOPIC, d, c2.seen[d]);
  fprintf(stderr, "  4 dead letters with headers exact (eddy.view '%s')\n", c2.view_seen);
  t->npassed++;
}

/* output topics: last value per key */
#define MAX_OUT_KEYS 64
typedef struct {
  char key[MAX_OUT_KEYS][64];
  int tomb[MAX_OUT_KEYS];
  char value[MAX_OUT_KEYS][512];
  int n;
  int null_keys;
  /* what done() compares against */
  int nwant;
  const char *want_key[MAX_OUT_KEYS];
  const char *want_value[MAX_OUT_KEYS]; /* NULL: absent or a tombstone */
} out_ctx_t;

static int out_on_msg(void *arg, const rd_kafka_message_t *m) {
  out_ctx_t *c = arg;
  if (!m->key) {
    c->null_keys++;
    return 0;
  }
  int i;
  for (i = 0; i < c->n; i++)
    if (strlen(c->key[i]) == m->key_len && memcmp(c->key[i], m->key, m->key_len) == 0) break;
  if (i == c->n) {
    if (c->n == MAX_OUT_KEYS || m->key_len >= sizeof(c->key[0])) return -1;
    memcpy(c->key[i], m->key, m->key_len);
    c->key[i][m->key_len] = '\0';
    c->n++;
  }
  c->tomb[i] = m->payload == NULL;
  size_t n = m->len < sizeof(c->value[i]) - 1 ? m->len : sizeof(c->value[i]) - 1;
  if (m->payload) memcpy(c->value[i], m->payload, n);
  c->value[i][m->payload ? n : 0] = '\0';
  return 0;
}

static int out_find(const out_ctx_t *c, const char *key) {
  for (int i = 0; i < c->n; i++)
    if (strcmp(c->key[i], key) == 0) return i;
  return -1;
}

static int out_done(void *arg) {
  out_ctx_t *c = arg;
  for (int w = 0; w < c->nwant; w++) {
    int i = out_find(c, c->want_key[w]);
    if (c->want_value[w] == NULL) {
      if (i >= 0 && !c->tomb[i]) return 0;
    } else if (i < 0 || c->tomb[i] || strcmp(c->value[i], c->want_value[w]) != 0) {
      return 0;
    }
  }
  return 1;
}

static void out_fail(const out_ctx_t *c, const char *topic) {
  for (int w = 0; w < c->nwant; w++) {
    int i = out_find(c, c->want_key[w]);
    const char *got = i < 0 ? "(no record)" : c->tomb[i] ? "(tombstone)" : c->value[i];
    const char *want = c->want_value[w] ? c->want_value[w] : "(tombstone or no record)";
    if (c->want_value[w] ? (i < 0 || c->tomb[i] || strcmp(got, want) != 0)
                         : (i >= 0 && !c->tomb[i]))
      fail_msg("%s: last record of key %s is %s, want %s (the table's value)", topic,
               c->want_key[w], got, want);
  }
  fail_msg("%s: not done", topic);
}

static void test_output_topic(void **state) {
  TEST_BEGIN(t);
  check_payments_table(t, "totals");
  int64_t end[NPART];
  get_end(t, TP_PAYMENTS, end);
  out_ctx_t *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  char keys[NPAY_KEYS + 1][32];
  char values[NPAY_KEYS + 1][1024];
  for (int k = 0; k <= NPAY_KEYS; k++) {
    eh_key_answer_t a;
    if (k < NPAY_KEYS)
      pay_key(k, keys[k], sizeof(keys[k]));
    else
      snprintf(keys[k], sizeof(keys[k]), "bad-where");
    wait_table(t, "totals", keys[k], end[part_of(keys[k])], &a);
    if (k == NPAY_KEYS &&
        (num_field("totals/bad-where", a.value, "n", 1) != t->pay_bad_where_n ||
         num_field("totals/bad-where", a.value, "total", 1) != t->pay_bad_where_total))
      fail_msg("totals/bad-where: %s, want n 1 total 3", a.value);
    snprintf(values[k], sizeof(values[k]), "%s", a.value);
    c->want_key[k] = keys[k];
    c->want_value[k] = values[k];
  }
  c->nwant = NPAY_KEYS + 1;
  char url[512];
  key_url(t, "totals", "bad-json", NULL, url, sizeof(url));
  expect_status(t, url, 404);
  int rc = read_topic(t, "totals-out", out_on_msg, out_done, c, 20000);
  if (rc != 0) {
    out_fail(c, "totals-out");
  }
  if (c->n != NPAY_KEYS + 1 || c->null_keys) {
    int n = c->n, nk = c->null_keys;
    free(c);
    fail_msg("totals-out: %d distinct keys and %d null keys, want %d keys", n, nk, NPAY_KEYS + 1);
  }
  free(c);
  t->npassed++;
}

/* ---- by_country and users: checks used before and after the kill ---- */

static void repart_watermarks(vt_t *t, int64_t hi[NPART]) {
  eh_watermarks(t->producer, REPART_TOPIC, NPART, hi);
}

/* Compares one by_country answer with the expectation; NULL if equal, else
 * a description in @p why. */
static const char *country_diff(const country_exp_t *e, const char *value, char *why, size_t cap) {
  int is_int;
  int64_t i;
  double revenue, biggest, avg;
  int64_t orders, customers;
  size_t len = strlen(value);
  if (eh_json_get_number(value, len, "orders", &is_int, &orders, &revenue) != 0 || !is_int ||
      eh_json_get_number(value, len, "revenue", &is_int, &i, &revenue) != 0 ||
      eh_json_get_number(value, len, "biggest", &is_int, &i, &biggest) != 0 ||
      eh_json_get_number(value, len, "avg_order", &is_int, &i, &avg) != 0 ||
      eh_json_get_number(value, len, "customers", &is_int, &customers, &revenue) != 0 || !is_int) {
    snprintf(why, cap, "value %s lacks a column", value);
    return why;
  }
  eh_json_get_number(value, len, "revenue", &is_int, &i, &revenue);
  double want_avg = e->revenue / (double)e->orders;
  int64_t want_cust = __builtin_popcountll(e->customers);
  if (orders != e->orders || revenue != e->revenue || biggest != e->biggest ||
      fabs(avg - want_avg) > 1e-9 * want_avg || customers != want_cust) {
    snprintf(why, cap,
             "got %s, want {\"orders\":%lld,\"revenue\":%.17g,\"biggest\":%.17g,"
             "\"avg_order\":%.17g,\"customers\":%lld}",
             value, (long long)e->orders, e->revenue, e->biggest, want_avg, (long long)want_cust);
    return why;
  }
  return NULL;
}

/* Waits until every country answers its expected columns with the offset
 * of the repartition topic's end, and that holds (watermarks unchanged)
 * across two passes at least a second apart. */
static void check_countries(vt_t *t) {
  int64_t deadline = eh_now_ms() + CATCHUP_MS, t0 = eh_now_ms();
  int64_t stable_since = -1, hi_prev[NPART] = {0};
  char last[2048] = "";
  for (;;) {
    int64_t hi[NPART];
    repart_watermarks(t, hi);
    int ok = 1;
    for (int c = 0; c < NCOUNTRIES && ok; c++) {
      char url[512];
      const char *body;
      size_t len;
      eh_key_answer_t a;
      key_url(t, "by_country", countries[c], NULL, url, sizeof(url));
      int st = eh_http_get(t->http, url, 2000, &body, &len);
      if (st != 200) {
        snprintf(last, sizeof(last), "by_country/%s: status %d %s", countries[c], st, body);
        ok = 0;
        if (st != 503 && st != 404 && st != 0)
          fail_msg("GET %s: unexpected status %d: %s", url, st, body);
        break;
      }
      if (eh_parse_key_answer(body, len, &a) != 0) fail_msg("GET %s: malformed: %s", url, body);
      int32_t p = part_of(countries[c]);
      if (a.partition != p)
        fail_msg("by_country/%s: partition %lld, want %d", countries[c], (long long)a.partition, p);
      if (a.offset > hi[p])
        fail_msg("by_country/%s: offset %lld beyond the end %lld of %s[%d]", countries[c],
                 (long long)a.offset, (long long)hi[p], REPART_TOPIC, p);
      char why[1024];
      const char *d = country_diff(&t->country[c], a.value, why, sizeof(why));
      if (d || a.offset != hi[p]) {
        snprintf(last, sizeof(last), "by_country/%s at offset %lld of %lld: %s", countries[c],
                 (long long)a.offset, (long long)hi[p], d ? d : "values equal");
        ok = 0;
      }
    }
    int64_t now = eh_now_ms();
    if (eh_stable_for(ok, hi, hi_prev, NPART, &stable_since, now, 1000)) break;
    if (!eh_proc_alive(&t->serve)) fail_msg("eddy serve died; last: %s", last);
    if (now > deadline)
      fail_msg("by_country not exact within %d s; last: %s", CATCHUP_MS / 1000, last);
    eh_sleep_ms(50);
  }
  char url[512];
  key_url(t, "by_country", UNPAID_COUNTRY, NULL, url, sizeof(url));
  expect_status(t, url, 404);
  int64_t hi[NPART], total = 0;
  repart_watermarks(t, hi);
  for (int p = 0; p < NPART; p++)
    total += hi[p];
  fprintf(stderr,
          "  by_country exact and stable after %lld ms (%s: %lld records for %lld orders that "
          "pass the where: %lld written twice)\n",
          (long long)(eh_now_ms() - t0), REPART_TOPIC, (long long)total,
          (long long)t->repartitioned, (long long)(total - t->repartitioned));
  if (total < t->repartitioned)
    fail_msg("%s has %lld records, fewer than the %lld orders that pass the where", REPART_TOPIC,
             (long long)total, (long long)t->repartitioned);
}

static void check_users(vt_t *t) {
  int64_t end[NPART];
  get_end(t, TP_USERS, end);
  for (int u = 0; u < NUSERS; u++) {
    if (t->users[u].deleted) continue;
    char name[32], what[64];
    user_name(u, name, sizeof(name));
    eh_key_answer_t a;
    wait_table(t, "users", name, end[part_of(name)], &a);
    snprintf(what, sizeof(what), "users/%s", name);
    if (strcmp(a.value, t->users[u].value) != 0)
      fail_msg("%s: value %s, want the record %s", what, a.value, t->users[u].value);
  }
  /* every partition has caught up (each has a live user): deleted ones 404 */
  for (int u = 0; u < NUSERS; u++) {
    if (!t->users[u].deleted) continue;
    char name[32], url[512];
    user_name(u, name, sizeof(name));
    key_url(t, "users", name, NULL, url, sizeof(url));
    expect_status(t, url, 404);
  }
}

static void check_users_out(vt_t *t) {
  out_ctx_t *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  char names[NUSERS][32];
  for (int u = 0; u < NUSERS; u++) {
    user_name(u, names[u], sizeof(names[u]));
    c->want_key[u] = names[u];
    c->want_value[u] = t->users[u].deleted ? NULL : t->users[u].value;
  }
  c->nwant = NUSERS;
  int rc = read_topic(t, "users-out", out_on_msg, out_done, c, 20000);
  if (rc != 0) out_fail(c, "users-out");
  free(c);
}

static void test_repartition_and_latest(void **state) {
  TEST_BEGIN(t);
  check_countries(t);
  check_users(t);
  check_users_out(t);
  t->npassed++;
}

/* ---- kill -9 while producing, restart ---- */

#define P2_ORDERS 3000
#define P2_BATCH 25
#define P2_PAUSE_MS 25

static void *phase2_thread(void *arg) {
  vt_t *t = arg;
  for (int i = 0; i < P2_ORDERS && !atomic_load(&t->stop); i++) {
    order_t o;
    gen_order(2, i, &o);
    if (produce(t, TP_ORDERS, o.key, o.value, 0, NULL) != 0) atomic_fetch_add(&t->failed, 1);
    atomic_fetch_add(&t->delivered_p2, 1);
    if (i % P2_BATCH == P2_BATCH - 1) {
      rd_kafka_flush(t->producer, 5000);
      eh_sleep_ms(P2_PAUSE_MS);
    }
  }
  rd_kafka_flush(t->producer, 10000);
  atomic_store(&t->phase2_done, 1);
  return NULL;
}

/* users in phase 2: produced by the test thread (assertions) while the
 * orders thread runs. */
static void users_phase2(vt_t *t, int step) {
  switch (step) {
  case 0: user_put(t, 3, 10, NULL); break; /* re-created */
  case 1: user_delete(t, 2); break;
  case 2: user_put(t, 0, 11, NULL); break;
  case 3: user_bad(t, 0); break;
  case 4: user_put(t, 11, 12, NULL); break;
  case 5: user_delete(t, 12); break;
  default:
    if (step < 6 + NUSERS && (step - 6) % 3 == 0) user_put(t, step - 6, 20 + step, NULL);
    break;
  }
}

/* A consumer in the view's group that never subscribes (so it joins no
 * group): it only reads the group's committed offsets. */
static rd_kafka_t *offsets_reader(vt_t *t, const char *group) {
  char err[512];
  rd_kafka_conf_t *c = rd_kafka_conf_new();
  if (rd_kafka_conf_set(c, "bootstrap.servers", t->bootstrap, err, sizeof(err)) ||
      rd_kafka_conf_set(c, "group.id", group, err, sizeof(err)) ||
      rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err)))
    fail_msg("consumer conf: %s", err);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
  if (!rk) fail_msg("consumer: %s", err);
  return rk;
}

/* How many records of the repartition topic come from orders at or past
 * the source stage's committed offsets: a restart writes them again, and
 * the aggregation must drop them as duplicates. Phase-2 order i is the
 * rank-th phase-2 record of its partition: offset end1 + rank. -1 if the
 * offsets cannot be read. */
static int64_t uncommitted_repartitioned(vt_t *t, rd_kafka_t *reader, const int64_t end1[NPART],
                                         int64_t committed[NPART]) {
  /* the watermarks first: while eddy runs, the result is then a lower
   * bound (the offsets read after them can only be newer) */
  int64_t wm[NPART], written = 0, before = t->repartitioned; /* all phases */
  repart_watermarks(t, wm);
  for (int p = 0; p < NPART; p++)
    written += wm[p];
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
  for (int p = 0; p < NPART; p++)
    rd_kafka_topic_partition_list_add(l, "orders", p);
  rd_kafka_resp_err_t e = rd_kafka_committed(reader, l, 5000);
  for (int p = 0; p < NPART; p++)
    committed[p] = l->elems[p].offset;
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return -1;
  int64_t rank[NPART] = {0};
  for (int i = 0; i < P2_ORDERS; i++) {
    order_t o;
    gen_order(2, i, &o);
    int32_t p = part_of(o.key);
    int64_t off = end1[p] + rank[p]++;
    if (off >= committed[p] &&
        (o.kind == ORD_PAID || o.kind == ORD_AMOUNT_STRING || o.kind == ORD_NO_CUSTOMER_ID))
      before--;
  }
  return written - before;
}

static void test_kill_restart(void **state) {
  TEST_BEGIN(t);
  int64_t hi1[NPART], orders_end1[NPART];
  repart_watermarks(t, hi1);
  get_end(t, TP_ORDERS, orders_end1);
  for (int i = 0; i < P2_ORDERS; i++) {
    order_t o;
    gen_order(2, i, &o);
    expect_order(t, &o);
  }
  rd_kafka_t *reader = offsets_reader(t, APP ".by_country");
  int de = 0;
  int32_t pde = part_of(countries[de]);
  atomic_store(&t->phase2_done, 0);
  assert_int_equal(pthread_create(&t->thread, NULL, phase2_thread, t), 0);
  t->thread_started = 1;
  int step = 0;
  int64_t deadline = eh_now_ms() + 30000;
  int64_t applied = 0, redo = 0, committed[NPART];
  /* Kill once the aggregation has applied part of phase 2 and the source
   * stage has written repartition records past its committed offsets (or,
   * failing that, at half of phase 2). */
  for (;;) {
    if (step < 6 + NUSERS) users_phase2(t, step++);
    char url[512];
    const char *body;
    size_t len;
    eh_key_answer_t a;
    key_url(t, "by_country", countries[de], NULL, url, sizeof(url));
    if (!applied && eh_http_get(t->http, url, 2000, &body, &len) == 200 &&
        eh_parse_key_answer(body, len, &a) == 0 && a.offset > hi1[pde] + 60)
      applied = a.offset - hi1[pde];
    if (applied) {
      redo = uncommitted_repartitioned(t, reader, orders_end1, committed);
      if (redo >= 5 || atomic_load(&t->delivered_p2) >= P2_ORDERS / 2) break;
    }
    if (atomic_load(&t->phase2_done))
      fail_msg("by_country/DE applied < 60 repartitioned records while phase 2 was produced");
    if (eh_now_ms() > deadline) fail_msg("by_country/DE did not advance within 30 s of producing");
    eh_sleep_ms(5);
  }
  int mid = !atomic_load(&t->phase2_done);
  eh_proc_kill(&t->serve, SIGKILL, 0);
  /* measured again now that nothing moves */
  t->redo_expected = uncommitted_repartitioned(t, reader, orders_end1, committed);
  rd_kafka_destroy(reader);
  fprintf(stderr,
          "  killed eddy serve (-9) mid-stream: DE had applied %lld phase-2 records; the source "
          "stage had committed orders up to %lld %lld %lld %lld and written %lld repartition "
          "records past them (%lld just before the kill)\n",
          (long long)applied, (long long)committed[0], (long long)committed[1],
          (long long)committed[2], (long long)committed[3], (long long)t->redo_expected,
          (long long)redo);
  if (!mid) fail_msg("phase 2 finished before the kill: not a mid-stream kill");
  /* the rest of the user updates while the server is down */
  while (step < 6 + NUSERS)
    users_phase2(t, step++);
  pthread_join(t->thread, NULL);
  t->thread_started = 0;
  flush_ok(t);
  check_coverage(t);

  start_serve(t);
  check_countries(t);
  check_users(t);
  check_users_out(t);
  /* the windowed views restored their state and stream time */
  char keys[NSESSION_KEYS][32];
  const char *kp[NSESSION_KEYS];
  for (int k = 0; k < NSESSION_KEYS; k++) {
    session_key(k, keys[k], sizeof(keys[k]));
    kp[k] = keys[k];
  }
  check_window_view(t, "clicks_per_min", click_keys, NCLICK_KEYS, t->tumbling, TP_CLICKS);
  check_window_view(t, "clicks_hop", click_keys, NCLICK_KEYS, t->hopping, TP_CLICKS);
  check_window_view(t, "sessions", kp, NSESSION_KEYS, t->sessions, TP_SESSIONS);
  check_payments_table(t, "dl");
  check_payments_table(t, "totals");
  t->npassed++;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start),        cmocka_unit_test(test_tumbling_hopping),
      cmocka_unit_test(test_sessions),     cmocka_unit_test(test_dead_letter),
      cmocka_unit_test(test_output_topic), cmocka_unit_test(test_repartition_and_latest),
      cmocka_unit_test(test_kill_restart),
  };
  return cmocka_run_group_tests_name("e2e_views", tests, group_setup, group_teardown);
}
