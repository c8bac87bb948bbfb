# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# broker-pause: SIGSTOP of the Apache Kafka node that leads the most request partitions for
# VCF_OUTAGE_S (30 s), then SIGCONT. Unlike a kill, its sockets stay open and say nothing:
# clients learn of it only by their own timeouts, the controller fences it after the broker
# session timeout (9 s) and moves its leaderships; when it wakes up it finds itself fenced,
# truncates to the new leaders' logs where needed and catches up. If it was the active
# controller, the quorum elects another meanwhile. Nothing acknowledged may be lost.
FAULT="SIGSTOP of the Kafka node leading most request partitions for ${VCF_OUTAGE_S:-30} s, then SIGCONT"
VCF_BROKERS_SUPPORTED=apache3
VCF_FAULTS_KAFKA=1 # a fatal idempotent-producer error may restart a worker (lib.sh audit)
VCF_OUTAGE_S=${VCF_OUTAGE_S:-30}
VCF_VICTIM=''
VCF_LEADERS_BEFORE=''
VCF_LEADERS_DURING=''

fault() {
	VCF_LEADERS_BEFORE=$(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")
	VCF_VICTIM=$(vcf_kafka_leader "$VCF_TOPIC_REQUESTS") || return 1
	vcf_metric paused_node "$VCF_VICTIM"
	vcf_kafka_node "$VCF_VICTIM" pause || return 1
	vcf_kafka_outage_watch "$VCF_VICTIM" "$VCF_OUTAGE_S"
	VCF_LEADERS_DURING=$(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")
	# Partitions (partition:leader words) still led by the victim: no failover happened yet.
	vcf_metric partitions_still_on_victim "$(tr ' ' '\n' <<<"$VCF_LEADERS_DURING" | grep -c ":$VCF_VICTIM\$" || true)"
	vcf_note "leaders before: $VCF_LEADERS_BEFORE; at the end of the outage (kafka-$VCF_VICTIM paused): $VCF_LEADERS_DURING"
	vcf_kafka_node "$VCF_VICTIM" resume || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	vcf_kafka_wait_isr "$VCF_TOPIC_REQUESTS" "$VCF_FAULT_END_MS"
	vcf_note "paused kafka-$VCF_VICTIM; leaders now: $(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")"
}
