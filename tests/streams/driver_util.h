/* Helpers shared by the topology test driver tests (tests/streams/driver_*
 * _test.c) and the render test (tests/query/render_test.c): temporary data
 * dirs, a view compiled into a driver, piping records, committing, and
 * committed answers rendered as the query API renders them. Failures fail
 * the running cmocka test. */
#ifndef ED_TESTS_STREAMS_DRIVER_UTIL_H
#define ED_TESTS_STREAMS_DRIVER_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "streams/testdriver.h"
#include "streams/view.h"

/* ---- temporary directories ---- */

/* Creates a fresh directory /tmp/eddy-<tag>-XXXXXX into @p dir. */
void du_mkdtemp(char *dir, size_t cap, const char *tag);

/* rm -rf @p dir. */
void du_rmtree(const char *dir);

/* ---- fixture: a temporary data dir, a view and its driver ---- */

typedef struct {
  char dir[64];
  ed_view_def_t def;
  ed_test_driver_t *d;
} du_fx_t;

/* cmocka setup / teardown bodies: a du_fx_t with a fresh dir (tag as for
 * du_mkdtemp) in *state; the driver destroyed and the dir removed. */
int du_setup(void **state, const char *tag);
int du_teardown(void **state);

/* A view "clicks" over topic "clicks" (JSON {"v":n}): count and sum(v),
 * windowed by @p w. */
void du_clicks_def(du_fx_t *f, ed_window_spec_t w);

/* Compiles f->def and creates the driver over f->dir. */
void du_start(du_fx_t *f, int32_t partitions);

/* Pipes {"v":@p v} into topic "clicks". */
void du_pipe_v(du_fx_t *f, const char *key, int64_t ts, int v);

/* Rows in f->def's store, partition @p p. */
uint64_t du_rows(du_fx_t *f, int32_t p);

/* The committed answer for @p key in partition @p p as the query API
 * renders it, or NULL when there is none. Caller frees. */
char *du_answer(du_fx_t *f, ed_store_kind_t kind, const char *key, int32_t p);

/* Expects @p got (freed) to be @p want; @p want NULL: no answer at all. */
void du_expect_answer(int line, const char *key, char *got, const char *want);

/* Expects the answer of a windowed (or session) view for @p key:
 * {"key":key,"windows":[windows],"partition":p,"offset":offset,
 * "stream_time":st}; @p windows NULL: no answer at all. */
void du_expect_win_at(int line, du_fx_t *f, ed_store_kind_t kind, const char *key,
                      const char *windows, int64_t offset, int64_t st);

/* A window (or session) of the "clicks" view in an answer. */
#define DU_W(start, end, count, sum)                                                               \
  "{\"start\":" #start ",\"end\":" #end ",\"value\":{\"count\":" #count ",\"sum\":" #sum "}}"

/* ---- any driver ---- */

void du_commit(ed_test_driver_t *d);
int32_t du_part(ed_test_driver_t *d, const char *key);
ed_test_driver_stats_t du_stats(ed_test_driver_t *d);

/* Expects captured output record @p i; @p value NULL: a tombstone. */
void du_expect_out_at(int line, ed_test_driver_t *d, size_t i, const char *topic, const char *key,
                      const char *value, int64_t ts);
#define du_expect_out(...) du_expect_out_at(__LINE__, __VA_ARGS__)

#endif
