# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# cluster-restart: a controlled shutdown (SIGTERM) of all three Apache Kafka nodes at once,
# data kept, and all three started again at once (an operator's full restart, e.g. for an
# upgrade). Clients see the cluster go away and come back with new leaders, a new controller
# and the same logs; the gateway answers 503 meanwhile, the detectors rejoin their group.
FAULT="all 3 Kafka nodes stopped (SIGTERM), data kept, started again at once"
VCF_BROKERS_SUPPORTED=apache3
VCF_FAULTS_KAFKA=1 # a fatal idempotent-producer error may restart a worker (lib.sh audit)

fault() {
	vcf_kafka_stop_all || return 1
	vcf_kafka_all start || return 1
	vcf_wait 90 "all Kafka nodes serving again" vcf_kafka_serving || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	vcf_kafka_wait_isr "$VCF_TOPIC_REQUESTS" "$VCF_FAULT_END_MS"
	vcf_note "cluster down for $(((VCF_FAULT_END_MS - VCF_FAULT_START_MS) / 1000)) s (stop and start)"
}
