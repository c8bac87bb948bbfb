# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# kafka-outage: the whole Kafka cluster fails.
# On Apache Kafka (apache3, apache1): every node killed with -9 at once, down for
# VCF_OUTAGE_S (10 s), then started again on its kept data (the page cache survives a process
# kill, so nothing written is gone: a crash of the brokers, not of the machine). Clients see
# refused connections; the controller quorum and the partition leaders are elected anew.
# On vc-devbroker, through its control socket, in three phases:
#   1. 300 ms of added latency on every broker for 5 s;
#   2. injected request errors for 5 s: Fetch answers NOT_LEADER_FOR_PARTITION (10),
#      OffsetCommit COORDINATOR_NOT_AVAILABLE (5), Heartbeat REBALANCE_IN_PROGRESS (2, forcing
#      a rebalance mid-load); whatever is left is cleared at the end;
#   3. all three brokers down for 10 s, then up (every produce fails until they are back).
# No Produce errors are injected: vc-devbroker (librdkafka's mock cluster) checks the sequence
# numbers of transactional producers only, so with an idempotent producer and several
# requests in flight an injected error on one request while a later one is appended leaves a
# log a real broker can never have (it would refuse the later request as out of order), and
# librdkafka then acknowledged a message that was never appended (docs/reliability.md, the
# kafka-outage loss). Produce failures are covered by phase 3 and integration/gateway/kafka_down.
# The gateway answers 503 queue_unavailable while Kafka cannot take a write within the
# producer's delivery timeout, and acknowledges nothing Kafka did not acknowledge; the
# detectors reconnect, rejoin the group and process everything that was acknowledged.
if [[ $VCF_KAFKA == devbroker ]]; then
	FAULT="Kafka: +300 ms latency 5 s; injected Fetch/OffsetCommit/Heartbeat errors 5 s; all 3 brokers down 10 s"
else
	FAULT="Kafka: every node kill -9, down ${VCF_OUTAGE_S:-10} s, started again on its data"
fi

# Kafka API keys and error codes used below (Kafka protocol numbers).
readonly API_FETCH=1 API_OFFSET_COMMIT=8 API_HEARTBEAT=12
readonly ERR_NOT_LEADER=6 ERR_COORDINATOR_NOT_AVAILABLE=15 ERR_REBALANCE_IN_PROGRESS=27
VCF_OUTAGE_S=${VCF_OUTAGE_S:-10} # all brokers down
VCF_FAULTS_KAFKA=1 # a fatal idempotent-producer error may restart a worker (lib.sh audit)

fault() {
	[[ $VCF_KAFKA == devbroker ]] || {
		fault_apache
		return
	}
	vcf_kafka rtt all 300 || return 1
	vcf_pause 5
	vcf_kafka rtt all 0 || return 1
	vcf_kafka error $API_FETCH $ERR_NOT_LEADER 10 || return 1
	vcf_kafka error $API_OFFSET_COMMIT $ERR_COORDINATOR_NOT_AVAILABLE 5 || return 1
	vcf_kafka error $API_HEARTBEAT $ERR_REBALANCE_IN_PROGRESS 2 || return 1
	vcf_pause 5
	for api in $API_FETCH $API_OFFSET_COMMIT $API_HEARTBEAT; do
		vcf_kafka error clear "$api" || return 1
	done
	vcf_kafka broker down all || return 1
	vcf_pause "$VCF_OUTAGE_S"
	vcf_kafka broker up all || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

# fault_apache: kill -9 of every node, the outage, every node started again; the fault ends
# when the cluster serves metadata with all its nodes.
fault_apache() {
	vcf_kafka_all kill || return 1
	vcf_pause "$VCF_OUTAGE_S"
	vcf_kafka_all start || return 1
	vcf_wait 90 "all Kafka nodes serving again" vcf_kafka_serving || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	((VCF_KAFKA_NODES == 0)) || vcf_kafka_wait_isr "$VCF_TOPIC_REQUESTS" "$VCF_FAULT_END_MS"

	local k=$VCF_TMP/audit.kv
	vcf_note "refused while Kafka was down: $(grep '^class\.' "$k" | tr '\n' ' ')"
	vcf_note "refused but processed anyway (delivery timed out after the write reached Kafka): $(vcf_kv "$k" errors_processed_ambiguous)"
}
