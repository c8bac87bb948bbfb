# tests/faults/audit.awk: the audit of one fault scenario, from five files:
#   1. vc-loadtest --ids-out: index id outcome http_status error_code intended_ms sent_ms
#      done_ms sends  (one line per submission; '#' header)
#   2. PostgreSQL: id status durable_ms has_reason replayed detector  (rows of the run's ids;
#      durable_ms: when the row was first inserted)
#   3. Redis: id status  (status of vc:result:{id}; '-' absent)
#   4. the results topic: one detection id per record (the key tenant/id without its tenant;
#      only the run's ids), as kcat read the whole topic
#   5. the dead-letter topic: the same, one id per record
# Variables: fault_start, fault_end (wall ms), redis_lost_before (wall ms; a result made
# durable before it may be missing from Redis because Redis restarted empty; 0 = never),
# expect_failed (1: the scenario injects bad media, so `failed` results and dead letters of
# acknowledged ids are expected; 0, the default: each one fails the audit).
# Prints key=value lines (lists space-separated, at most 10 ids each).
#
# What counts:
#   acknowledged  2xx reply to the submission (Kafka acknowledged the write before it)
#   final         a PostgreSQL row with status completed, or failed with a reason
#   lost          acknowledged, but not final in PostgreSQL, or final there and without its
#                 result in Redis (unless Redis lost it by restarting, see redis_lost_before),
#                 or without a record on the results topic
#   duplicates    more than one PostgreSQL row for an id, or a row of the run's prefix that no
#                 submission had, or a results-topic or dead-letter record of the run's prefix
#                 that no submission had
#   failed_acked  acknowledged and final as `failed` (bad media only; see expect_failed)
#   results_dups  records on the results topic beyond the first, over all acknowledged ids
#                 (at-least-once delivery allows them; measured, never a failure);
#                 results_max the most records one id has there
#   dlq           dead-letter records of the run's ids; dlq_acked those of acknowledged ids
#   errors        submissions without a 2xx (HTTP error, transport error, never sent)
#   errors processed, split by whether the failure proves the request never reached Kafka:
#     unexpected  never sent (late), connection refused on a single send, 4xx, or 5xx other
#                 than queue_unavailable on a single send: a row for these is a bug
#     ambiguous   connection reset or timeout after the request went out, a resent request,
#                 503 queue_unavailable (the producer's delivery timed out; Kafka may still
#                 have the message): processing them is legitimate

function add(list, id) { return (split(list, tmp, " ") < 10) ? list (list == "" ? "" : " ") id : list }

FILENAME == ARGV[1] {
	if ($0 ~ /^#/) next
	id = $2; n_lines++
	outcome[id] = $3; sent_at[id] = $7; sends[id] = $9
	if ($9 > 0) n_sent++
	if ($3 == "ok") { n_acked++; acked[id] = 1; next }
	n_errors++
	cls = $3 == "http_status" ? "http_" $4 "_" $5 : $3
	classes[cls]++
	certain = ($3 == "late") || ($9 == 1 && ($3 == "connect" || ($4 >= 400 && $4 < 500) ||
		($4 >= 500 && $5 != "queue_unavailable")))
	err_certain[id] = certain
	next
}
FILENAME == ARGV[2] {
	rows[$1]++
	pg_status[$1] = $2; pg_durable[$1] = $3; pg_reason[$1] = $4; pg_replayed[$1] = $5
	next
}
FILENAME == ARGV[3] { redis_status[$1] = $2; next }
FILENAME == ARGV[4] { topic_results[$1]++; n_topic_records++; next }
FILENAME == ARGV[5] { topic_dlq[$1]++; n_dlq++; next }

END {
	drain_ms = 0; first_new = -1
	for (id in acked) {
		st = pg_status[id]
		final = (st == "completed") || (st == "failed" && pg_reason[id] == 1)
		if (!final) {
			n_lost++; n_lost_pg++
			lost_ids = add(lost_ids, id "(pg:" (st == "" ? "none" : st) ")")
			continue
		}
		if (st == "completed") n_completed++
		else {
			n_failed++
			if (!expect_failed) failed_ids = add(failed_ids, id)
		}
		if (pg_replayed[id] == 1) n_replayed++
		this_lost = 0
		if (id in topic_dlq) {
			n_dlq_acked += topic_dlq[id]
			if (!expect_failed) dlq_ids = add(dlq_ids, id "(x" topic_dlq[id] ")")
		}
		nt = (id in topic_results) ? topic_results[id] : 0
		if (nt == 0) {
			n_lost_topic++; this_lost = 1
			lost_ids = add(lost_ids, id "(results-topic:none)")
		} else {
			n_res_dups += nt - 1
			if (nt > res_max) res_max = nt
			if (nt > 1) res_dup_ids = add(res_dup_ids, id "(x" nt ")")
		}
		rs = redis_status[id]
		if (rs != "completed" && rs != "failed") {
			if (redis_lost_before > 0 && pg_durable[id] < redis_lost_before) {
				n_redis_excused++
			} else {
				n_redis_missing++; this_lost = 1
				lost_ids = add(lost_ids, id "(redis:" (rs == "" ? "?" : rs) ")")
			}
		}
		n_lost += this_lost
		d = pg_durable[id] - fault_end
		if (d > drain_ms) drain_ms = d
		if (sent_at[id] >= fault_end && (first_new < 0 || pg_durable[id] < first_new))
			first_new = pg_durable[id]
	}
	for (id in topic_results)
		if (!(id in outcome)) { n_dups++; dup_ids = add(dup_ids, id "(results-topic, never sent)") }
	for (id in topic_dlq)
		if (!(id in outcome)) { n_dups++; dup_ids = add(dup_ids, id "(dlq, never sent)") }
	for (id in rows) {
		if (rows[id] > 1) { n_dups += rows[id] - 1; dup_ids = add(dup_ids, id) }
		if (!(id in outcome)) { n_dups++; dup_ids = add(dup_ids, id "(never sent)") }
		if ((id in outcome) && !(id in acked)) {
			n_err_processed++
			if (err_certain[id]) {
				n_err_unexpected++
				unexpected_ids = add(unexpected_ids, id "(" outcome[id] ")")
			}
		}
	}
	printf "lines=%d\nsent=%d\nacknowledged=%d\ncompleted=%d\nfailed=%d\nfinal=%d\n",
		n_lines, n_sent, n_acked, n_completed, n_failed, n_completed + n_failed
	printf "lost=%d\nlost_pg=%d\nredis_missing=%d\nredis_missing_excused=%d\nlost_topic=%d\n",
		n_lost, n_lost_pg, n_redis_missing, n_redis_excused,
		n_lost_topic
	printf "failed_acked=%d\nfailed_unexpected=%d\n", n_failed, expect_failed ? 0 : n_failed
	printf "results_records=%d\nresults_dups=%d\nresults_max=%d\n", n_topic_records, n_res_dups,
		res_max
	printf "dlq=%d\ndlq_acked=%d\ndlq_unexpected=%d\n", n_dlq, n_dlq_acked,
		expect_failed ? 0 : n_dlq_acked
	printf "duplicates=%d\nreplayed=%d\nerrors=%d\nerrors_processed=%d\n",
		n_dups, n_replayed, n_errors, n_err_processed
	printf "errors_processed_unexpected=%d\nerrors_processed_ambiguous=%d\n",
		n_err_unexpected, n_err_processed - n_err_unexpected
	printf "recovery_s=%s\n", first_new < 0 ? "" : sprintf("%.1f", (first_new - fault_end) / 1000)
	printf "drain_s=%.1f\n", drain_ms / 1000
	printf "lost_ids=%s\nduplicate_ids=%s\nunexpected_ids=%s\n", lost_ids, dup_ids, unexpected_ids
	printf "failed_ids=%s\ndlq_ids=%s\nresults_dup_ids=%s\n", failed_ids, dlq_ids, res_dup_ids
	for (c in classes) printf "class.%s=%d\n", c, classes[c]
}
