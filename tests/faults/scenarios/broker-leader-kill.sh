# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# broker-leader-kill: kill -9 of the Apache Kafka node that leads the most partitions of the
# request topic (kcat -L), mid-load; started again on its data VCF_OUTAGE_S (10 s) later.
# What a mock cannot show: the controller moves the dead node's leaderships to in-sync
# followers (RF 3, min.insync.replicas 2, acks=all), producers and consumers follow the new
# leaders, the group coordinator may move with them, and the restarted node catches up and
# rejoins every ISR. Nothing acknowledged may be lost: an acknowledged write is on at least
# two replicas, and only an in-sync replica becomes leader.
FAULT="kill -9 of the Kafka node leading most request partitions, restarted ${VCF_OUTAGE_S:-10} s later"
VCF_BROKERS_SUPPORTED=apache3
VCF_FAULTS_KAFKA=1 # a fatal idempotent-producer error may restart a worker (lib.sh audit)
VCF_OUTAGE_S=${VCF_OUTAGE_S:-10}
VCF_VICTIM=''
VCF_LEADERS_BEFORE=''
VCF_LEADERS_DURING=''

fault() {
	VCF_LEADERS_BEFORE=$(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")
	VCF_VICTIM=$(vcf_kafka_leader "$VCF_TOPIC_REQUESTS") || return 1
	vcf_metric killed_node "$VCF_VICTIM"
	vcf_kafka_node "$VCF_VICTIM" kill || return 1
	vcf_kafka_outage_watch "$VCF_VICTIM" "$VCF_OUTAGE_S"
	VCF_LEADERS_DURING=$(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")
	# Partitions (partition:leader words) still led by the victim: no failover happened yet.
	vcf_metric partitions_still_on_victim "$(tr ' ' '\n' <<<"$VCF_LEADERS_DURING" | grep -c ":$VCF_VICTIM\$" || true)"
	vcf_note "leaders before: $VCF_LEADERS_BEFORE; at the end of the outage (kafka-$VCF_VICTIM down): $VCF_LEADERS_DURING"
	vcf_kafka_node "$VCF_VICTIM" start || return 1
	vcf_wait 90 "kafka-$VCF_VICTIM back in the cluster" vcf_kafka_serving || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	vcf_kafka_wait_isr "$VCF_TOPIC_REQUESTS" "$VCF_FAULT_END_MS"
	vcf_note "killed kafka-$VCF_VICTIM; leaders now: $(vcf_kafka_leaders "$VCF_TOPIC_REQUESTS")"
}
