# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# gateway-drain: SIGTERM to the gateway under load, then a new gateway on the same port (the
# operator's rolling restart). Kafka is made slow first, so submissions are in flight when
# the signal arrives: on vc-devbroker 400 ms of added latency; on Apache Kafka every node is
# paused (SIGSTOP) from 2 s before the signal until 1 s after it (vcf_kafka_slow). A graceful drain answers every request it had started
# (2xx only for what Kafka acknowledged) and exits 0; clients meanwhile see refused
# connections, never a request swallowed without an answer.
FAULT="gateway SIGTERM with submissions in flight (Kafka slowed), new gateway on the same port"

# vcf_kafka_slow on|off: Kafka answers late (devbroker: +400 ms) or not at all (Apache:
# every node paused), then normally again.
vcf_kafka_slow() {
	if [[ $VCF_KAFKA == devbroker ]]; then
		vcf_kafka rtt all "$([[ $1 == on ]] && echo 400 || echo 0)"
	else
		vcf_kafka_all "$([[ $1 == on ]] && echo pause || echo resume)"
	fi
}

VCF_TERM_MS=0
VCF_GONE_MS=0

fault() {
	local pid
	vcf_kafka_slow on || return 1
	vcf_pause 2 # let submissions pile up behind the latency
	pid=$(vcf_pid gateway)
	VCF_TERM_MS=$(vcf_now_ms)
	vcf_log "SIGTERM gateway $pid"
	kill -TERM "$pid" || return 1
	VCF_REPLACED[gateway]=gone
	if [[ $VCF_KAFKA != devbroker ]]; then
		vcf_pause 1 # the drain is waiting for Kafka's answers now
		vcf_kafka_slow off || return 1
	fi
	vcf_wait 40 "gateway drained and exited" eval '! vcf_alive gateway' || return 1
	VCF_GONE_MS=$(vcf_now_ms)
	vc_stop_pidfile "$(vcf_pidfile gateway)" # gone on purpose: forget its PID file
	vcf_log "gateway exited after $((VCF_GONE_MS - VCF_TERM_MS)) ms"
	vcf_start_gateway gateway-2 || return 1
	[[ $VCF_KAFKA != devbroker ]] || vcf_kafka_slow off || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

# In-flight requests were answered: every submission sent before the old gateway was gone got
# an HTTP status, unless its connection was refused outright (never reached the gateway). A
# "connect" after a resend counts as unanswered: its first copy went out on a kept-alive
# connection that the gateway closed without answering. The old gateway logged a clean stop.
check() {
	local unanswered
	unanswered=$(awk -F'\t' -v gone="$VCF_GONE_MS" '!/^#/ && $9 > 0 && $7 < gone && $4 == 0 &&
		!($3 == "connect" && $9 == 1) {n++; ids = ids " " $2 "(" $3 ")"}
		END {print n + 0 ids}' "$VCF_TMP/ids.tsv")
	((${unanswered%% *} == 0)) ||
		vcf_fail "${unanswered%% *} submissions in flight at SIGTERM got no answer:${unanswered#* }"
	grep -q 'gateway.stopped' "$VCF_TMP/gateway.log" || vcf_fail "the old gateway did not log a clean stop"
	vcf_note "old gateway drained in $((VCF_GONE_MS - VCF_TERM_MS)) ms; refused meanwhile: $(grep '^class\.' "$VCF_TMP/audit.kv" | tr '\n' ' ')"
}
