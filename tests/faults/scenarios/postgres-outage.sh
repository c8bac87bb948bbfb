# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# postgres-outage: PostgreSQL stopped (fast shutdown) for 30 s under load, then started again.
# Nothing acknowledged is lost (design.md §6: "PostgreSQL down for a minute loses nothing").
# The load's submissions carry client-chosen detection_ids, whose idempotency PostgreSQL
# decides (docs/api.md): while it is down they are refused with 503 store_unavailable (never a
# 202 on a guess), and accepted again once it is back. The detectors retry their writes with
# backoff, pause consumption when their in-flight limit fills, and resume by themselves.
FAULT="PostgreSQL stopped for 30 s, then started again"
VCF_OUTAGE_S=${VCF_OUTAGE_S:-30}

fault() {
	vc_postgres_ctl "$VCF_TMP/pg" "$VCF_PG_PORT" stop || return 1
	VCF_REPLACED[postgres]=restarted
	vcf_pause "$VCF_OUTAGE_S"
	vc_postgres_ctl "$VCF_TMP/pg" "$VCF_PG_PORT" start off || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	local retries
	retries=$(curl -s --max-time 3 "http://127.0.0.1:$VCF_DET_PORT/metrics" |
		awk '/^vc_detector_store_retries_total/ {s += $NF} END {print s + 0}')
	vcf_note "detector store retries during the outage: $retries"
}
