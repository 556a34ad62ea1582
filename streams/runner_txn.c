/* processing.guarantee: exactly_once (engine.h). A transaction is open
 * from one commit to the next: every record the runner produces in
 * between (repartition, dead-letter, output and changelog records) and the
 * input offsets of the commit are committed together, or not at all. The
 * LMDB commits follow the Kafka commit: a crash between the two leaves the
 * local state behind the changelog, and the next start restores it from
 * there (streams/restore.c). */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "streams/engine_int.h"

int ed__txn_init(ed_runner_t *r, char *err, size_t errlen) {
  if (!r->engine->exactly_once || r->producer == NULL) return ED_OK;
  rd_kafka_error_t *kerr = rd_kafka_init_transactions(r->producer, 30000);
  if (kerr) {
    snprintf(err, errlen, "%s: cannot start transactions: %s", r->topo->name,
             rd_kafka_error_string(kerr));
    rd_kafka_error_destroy(kerr);
    return ED_EKAFKA;
  }
  return ED_OK;
}

static void fail(ed_runner_t *r, const char *what, rd_kafka_error_t *kerr) {
  ed_log_error("%s: %s: %s", r->topo->name, what, rd_kafka_error_string(kerr));
  if (rd_kafka_error_is_fatal(kerr)) r->txn_fatal = 1;
  rd_kafka_error_destroy(kerr);
}

void ed__txn_begin(ed_runner_t *r) {
  if (!r->engine->exactly_once || r->in_txn || r->txn_fatal || r->producer == NULL) return;
  rd_kafka_error_t *kerr = rd_kafka_begin_transaction(r->producer);
  if (kerr) {
    fail(r, "begin transaction", kerr);
    return;
  }
  r->in_txn = 1;
}

int ed__txn_commit(ed_runner_t *r) {
  if (!r->in_txn) return r->txn_fatal ? ED_EKAFKA : ED_OK;
  rd_kafka_error_t *kerr = NULL;
  rd_kafka_topic_partition_list_t *l = ed__runner_offsets(r, 1);
  if (l != NULL) {
    rd_kafka_consumer_group_metadata_t *md = rd_kafka_consumer_group_metadata(r->consumer);
    kerr = rd_kafka_send_offsets_to_transaction(r->producer, l, md, 30000);
    rd_kafka_consumer_group_metadata_destroy(md);
    rd_kafka_topic_partition_list_destroy(l);
  }
  if (kerr == NULL) kerr = rd_kafka_commit_transaction(r->producer, 30000);
  r->in_txn = 0;
  if (kerr == NULL) return ED_OK;
  int abortable = rd_kafka_error_txn_requires_abort(kerr);
  fail(r, "commit transaction", kerr);
  if (abortable) {
    kerr = rd_kafka_abort_transaction(r->producer, 30000);
    if (kerr) fail(r, "abort transaction", kerr);
  }
  return ED_EKAFKA;
}

void ed__txn_abort(ed_runner_t *r) {
  if (!r->in_txn) return;
  r->in_txn = 0;
  rd_kafka_error_t *kerr = rd_kafka_abort_transaction(r->producer, 30000);
  if (kerr) fail(r, "abort transaction", kerr);
}
