# shellcheck shell=bash
# tests/faults/lib.sh: the fault scenario runner's machinery. Sourced by tests/faults/run (one
# subshell per scenario), never run.
#
# A scenario starts its own stack on free 127.0.0.1 ports (Redis, PostgreSQL, Kafka, one
# gateway, one detector supervisor with PROCESS_POOL_SIZE=2), never the shared servers of
# tests/run: scenarios kill what they start. Kafka is VCF_KAFKA:
#   apache3    (default) Apache Kafka, 3 KRaft nodes (compose/lib/kafka.sh), topics made by
#              vc-admin with 6 partitions, replication factor 3, min.insync.replicas 2
#   apache1    Apache Kafka, one node, replication factor 1
#   devbroker  vc-devbroker (librdkafka's mock cluster, 3 brokers): its control socket
#              injects latency and protocol errors (vcf_kafka)
# A scenario file may list the kinds it supports in VCF_BROKERS_SUPPORTED (default: all
# three); on another it is reported as skipped. One cluster per scenario (about 16 s to start
# 3 nodes and 7 s to stop them on 2 cores): broker faults leave a cluster changed, and every
# scenario starts from the same state.
#
# It then drives an open-loop load with vc-loadtest, every submission carrying its own
# detection_id and recorded (--ids-out), injects one fault (the scenario file's `fault`
# function), stops the load, waits for the system to settle and audits PostgreSQL, Redis, the
# results and dead-letter topics (read whole with kcat) and the processes (audit.awk; the
# verdict is vcf_judge, which tests/faults/audit_selfcheck feeds broken inputs). Everything
# started is stopped by PID on exit (compose/lib/stack.sh), whatever happens.

VCF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VCF_DIR=$VCF_ROOT/tests/faults
# shellcheck source=../../compose/lib/stack.sh
. "$VCF_ROOT/compose/lib/stack.sh"

VCF_BIN=${VC_BIN_DIR:-$VCF_ROOT/build/bin}

# Load and timeline defaults (the environment may override the first ones; a scenario file
# may set them before its stack starts).
VCF_RATE=${VCF_RATE:-12}    # submissions per second (open loop)
VCF_CLIP_S=0.5              # seconds of generated audio per submission
VCF_PRE_S=${VCF_PRE_S:-5}   # load before the fault
VCF_POST_S=${VCF_POST_S:-8} # load after the fault ended
VCF_SETTLE_MAX_S=75         # how long acknowledged requests may take to be final afterwards
VCF_RATE_LIMIT=100000       # per key and per address, per minute: never the limiting factor

VCF_TMP=''
VCF_NAME=''
VCF_KEY=''
VCF_URL=''
VCF_GW_PORT=''
VCF_DET_PORT=''
VCF_REDIS_PORT=''
VCF_PG_PORT=''
VCF_PG_URL=''
VCF_KAFKA=${VCF_KAFKA:-apache3} # broker kind: apache3, apache1 or devbroker
VCF_BROKERS=''                   # its bootstrap list
VCF_KAFKA_NODES=0                # Apache nodes (kafka-1..N), 0 on devbroker
VCF_CONTROL=''
VCF_EXPECT_FAILED=0 # a scenario that injects bad media sets 1: failed results are expected
VCF_TOPIC_REQUESTS=vc.detections.requests
VCF_TOPIC_RESULTS=vc.detections.results
VCF_TOPIC_DLQ=vc.detections.dlq
VCF_LOAD_PID=''
VCF_PROBE_PID=''
VCF_PREFIX=''
VCF_FAULT_START_MS=0
VCF_FAULT_END_MS=0
VCF_REDIS_LOST_BEFORE_MS=0 # results written before this may be gone (Redis restarted empty)
VCF_GATEWAY=gateway        # current gateway and detector service names (replacements: -2)
VCF_DETECTOR=detector
VCF_FAILURES=()            # scenario-specific failures (vcf_fail)
VCF_NOTES=()               # scenario-specific observations for the report (vcf_note)
declare -A VCF_PID0=()     # name -> PID when the load started
declare -A VCF_REPLACED=() # names the scenario killed/restarted on purpose
declare -A VCF_EXTRA=()    # scenario-specific figures for the JSON (vcf_metric)

vcf_log() { printf '[faults %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
vcf_now_ms() { date +%s%3N; }
vcf_fail() {
	vcf_log "FAIL: $*"
	VCF_FAILURES+=("$*")
}
vcf_metric() { VCF_EXTRA[$1]=$2; }
vcf_note() {
	vcf_log "$*"
	VCF_NOTES+=("$*")
}

# vcf_pause SECONDS: a deliberate stretch of load or outage. The length is the point of the
# scenario, not a wait for some condition (those poll, see vcf_wait).
vcf_pause() { sleep "$1"; }

# vcf_wait SECONDS WHAT CMD...: polls CMD every 0.2 s until it succeeds; fails after SECONDS.
vcf_wait() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	vcf_log "timed out after ${secs}s: $what"
	return 1
}

# shellcheck disable=SC2317 # invoked by the trap
vcf_cleanup() {
	set +e
	local p
	for p in $VCF_LOAD_PID $VCF_PROBE_PID; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	vc_stop_started
	if [[ -n $VCF_TMP && -d $VCF_TMP ]]; then
		if [[ ${VCF_KEEP:-0} == 1 ]]; then
			vcf_log "kept $VCF_TMP (VCF_KEEP=1)"
		else
			rm -rf -- "$VCF_TMP"
		fi
	fi
}

# vcf_pidfile NAME: PID file of a service started by vcf_start_* (redis and postgres live in
# their own directories).
vcf_pidfile() {
	case $1 in
	redis) printf '%s/redis/redis.pid\n' "$VCF_TMP" ;;
	postgres) printf '%s/pg/postgres.pid\n' "$VCF_TMP" ;;
	devbroker | kafka-[0-9]*) printf '%s/kafka/%s.pid\n' "$VCF_TMP" "$1" ;;
	*) printf '%s/%s.pid\n' "$VCF_TMP" "$1" ;;
	esac
}
vcf_pid() { head -n 1 "$(vcf_pidfile "$1")" 2>/dev/null; }
vcf_alive() { vc_pidfile_alive "$(vcf_pidfile "$1")"; }

# vcf_env: the environment every service gets, as K=V words.
vcf_env() {
	printf '%s\n' "REDIS_URL=redis://127.0.0.1:$VCF_REDIS_PORT/0" "DATABASE_URL=$VCF_PG_URL" \
		"KAFKA_BROKERS=$VCF_BROKERS" "LOG_LEVEL=${VCF_LOG_LEVEL:-info}" \
		"RATE_LIMIT_PER_MINUTE=$VCF_RATE_LIMIT" "RATE_LIMIT_PER_IP_PER_MINUTE=$VCF_RATE_LIMIT" \
		"KAFKA_SESSION_TIMEOUT_MS=6000" "KAFKA_MAX_POLL_INTERVAL_MS=30000" \
		"REDIS_DIAL_TIMEOUT=1s" "DB_CONNECT_TIMEOUT=2s"
}

# vcf_start_gateway NAME: a gateway on VCF_GW_PORT (the same port for a replacement, so the
# load keeps its address); waits for /health.
vcf_start_gateway() {
	local env
	mapfile -t env < <(vcf_env)
	vc_start_service "$1" "$VCF_TMP" env "${env[@]}" HTTP_HOST=127.0.0.1 \
		HTTP_PORT="$VCF_GW_PORT" "$VCF_BIN/vc-gateway" || return 1
	VCF_GATEWAY=$1
	vc_wait_http "$VCF_URL/health" 60
}

# vcf_start_detector NAME: a detector supervisor with two worker processes (two analysis
# threads each) and its /health on VCF_DET_PORT.
vcf_start_detector() {
	local env
	mapfile -t env < <(vcf_env)
	vc_start_service "$1" "$VCF_TMP" env "${env[@]}" INSTANCE_ID="$1-$$" \
		KAFKA_GROUP_ID=vc-detectors PROCESS_POOL_SIZE=2 THREAD_POOL_SIZE=2 \
		DETECTOR_HTTP_PORT="$VCF_DET_PORT" "$VCF_BIN/vc-detector" || return 1
	VCF_DETECTOR=$1
}

# vcf_detector_health: the detector supervisor's /health JSON (compact, one line).
vcf_detector_health() { curl -s --max-time 3 "http://127.0.0.1:$VCF_DET_PORT/health"; }

# vcf_detector_ready: true when both workers are alive and in the group.
vcf_detector_ready() { [[ $(vcf_detector_health) == *'"status":"ok"'* ]]; }

# vcf_worker_pids: PIDs of the detector's live workers, one per line (from its /health).
vcf_worker_pids() {
	vcf_detector_health | grep -o '"pid":[0-9]*' | cut -d: -f2 | grep -v '^0$' || true
}

# vcf_json_int JSON KEY: the first integer member KEY of a compact JSON text.
vcf_json_int() { grep -o "\"$2\":[0-9]*" <<<"$1" | head -n 1 | cut -d: -f2; }

# vcf_kafka_names: the Kafka servers' service names, one per line (devbroker or kafka-N).
vcf_kafka_names() {
	local i
	if ((VCF_KAFKA_NODES == 0)); then
		echo devbroker
	else
		for ((i = 1; i <= VCF_KAFKA_NODES; i++)); do echo "kafka-$i"; done
	fi
}

# vcf_start_kafka: the scenario's Kafka (VCF_KAFKA) in $VCF_TMP/kafka, with the services'
# topics on Apache Kafka (clients never create topics there); sets VCF_BROKERS.
vcf_start_kafka() {
	local rf=1 isr=1
	case $VCF_KAFKA in
	devbroker)
		vc_start_devbroker "$VCF_TMP/kafka" "$VCF_BIN/vc-devbroker" >/dev/null || return 1
		VCF_BROKERS=$VC_BOOTSTRAP
		VCF_CONTROL=$VC_DEVBROKER_CONTROL
		return 0
		;;
	apache1) VCF_KAFKA_NODES=1 ;;
	apache3) VCF_KAFKA_NODES=3 rf=3 isr=2 ;;
	*)
		vc__err "VCF_KAFKA=$VCF_KAFKA: want apache3, apache1 or devbroker"
		return 1
		;;
	esac
	vc_start_kafka "$VCF_TMP/kafka" "$VCF_KAFKA_NODES" >/dev/null || return 1
	# shellcheck disable=SC2153 # set by vc_start_kafka
	VCF_BROKERS=$VC_KAFKA_BOOTSTRAP
	env KAFKA_BROKERS="$VCF_BROKERS" KAFKA_TOPIC_PARTITIONS="${VC_PARTITIONS:-6}" \
		KAFKA_TOPIC_REPLICATION_FACTOR=$rf KAFKA_TOPIC_MIN_INSYNC_REPLICAS=$isr LOG_LEVEL=warn \
		"$VCF_BIN/vc-admin" topics ensure >"$VCF_TMP/topics.log" 2>&1 || {
		vc__err "vc-admin topics ensure failed: $(tail -n 5 "$VCF_TMP/topics.log")"
		return 1
	}
}

# vcf_kafka_node N stop|kill|pause|resume|start: a fault on Apache node N (vc_kafka_node);
# a node stopped, killed or started again counts as replaced on purpose.
vcf_kafka_node() {
	vc_kafka_node "$VCF_TMP/kafka" "$1" "$2" || return 1
	case $2 in
	stop | kill | start) VCF_REPLACED[kafka-$1]=restarted ;;
	esac
}

# vcf_kafka_all ACTION: vcf_kafka_node on every node, one after the other (for a controlled
# stop of all, use vcf_kafka_stop_all: one by one, the last would wait for a lost quorum).
vcf_kafka_all() {
	local i
	for ((i = 1; i <= VCF_KAFKA_NODES; i++)); do
		vcf_kafka_node "$i" "$1" || return 1
	done
}

# vcf_kafka_stop_all: a controlled shutdown (SIGTERM) of every node at once, data kept.
vcf_kafka_stop_all() {
	local i
	vc_stop_kafka "$VCF_TMP/kafka" 60 || return 1
	for ((i = 1; i <= VCF_KAFKA_NODES; i++)); do VCF_REPLACED[kafka-$i]=restarted; done
}

# vcf_kafka_serving: true when the cluster's metadata lists all its nodes.
vcf_kafka_serving() { vc__kafka_serves "$VCF_BROKERS" "$VCF_KAFKA_NODES"; }

# vcf_kafka_metadata TOPIC: kcat's metadata listing of TOPIC.
vcf_kafka_metadata() { timeout 10 kcat -L -b "$VCF_BROKERS" -m 5 -t "$1" 2>/dev/null; }

# vcf_kafka_leader TOPIC: the node id leading most partitions of TOPIC (the lowest on a tie).
vcf_kafka_leader() {
	vcf_kafka_metadata "$1" | awk '$1 == "partition" && $3 == "leader" {
		sub(",", "", $4); n[$4]++ }
		END { for (b in n) if (n[b] > best || (n[b] == best && b + 0 < id + 0)) { best = n[b]; id = b }
			if (id == "") exit 1; print id }'
}

# vcf_kafka_leaders TOPIC: "partition:leader" words for TOPIC, for the log.
vcf_kafka_leaders() {
	vcf_kafka_metadata "$1" | awk '$1 == "partition" { sub(",", "", $2); sub(",", "", $4);
		printf "%s%s:%s", (n++ ? " " : ""), $2, $4 } END { print "" }'
}

# vcf_kafka_outage_watch NODE SECONDS: the deliberate outage of NODE (SECONDS long), spent
# polling the request topic's metadata: records when no partition was led by NODE any more
# (extra.failover_s, seconds after the outage began; none within SECONDS: not recorded,
# extra.failover_seen=0) as the other nodes' metadata tells it.
vcf_kafka_outage_watch() {
	local node=$1 secs=$2 t0 end now
	t0=$(vcf_now_ms)
	end=$((t0 + secs * 1000))
	vcf_metric failover_seen 0
	while now=$(vcf_now_ms) && ((now < end)); do
		if [[ -z ${VCF_EXTRA[failover_s]:-} ]] &&
			! vcf_kafka_leaders "$VCF_TOPIC_REQUESTS" | tr ' ' '\n' | grep -q ":$node\$"; then
			vcf_metric failover_seen 1
			vcf_metric failover_s "$(awk -v a="$t0" -v b="$(vcf_now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}')"
			vcf_note "no request partition led by kafka-$node any more ${VCF_EXTRA[failover_s]}s into the outage"
		fi
		sleep 0.5
	done
}

# vcf_kafka_isr_full TOPIC: true when every partition of TOPIC has its whole replica set in
# sync again.
vcf_kafka_isr_full() {
	vcf_kafka_metadata "$1" | awk '$1 == "partition" { n++; split($0, a, /replicas: |, isrs: /);
		r = a[2]; sub(/,$/, "", r); i = a[3]; gsub(/[ \t]/, "", i);
		if (split(r, x, ",") != split(i, y, ",")) bad++ } END { exit !(n > 0 && bad == 0) }'
}

# vcf_kafka_wait_isr TOPIC SINCE_MS: waits (up to 90 s) until TOPIC's replicas are all in sync
# again and records how long after SINCE_MS that was (extra.isr_full_s); a failure otherwise.
vcf_kafka_wait_isr() {
	local t
	if vcf_wait 90 "all replicas of $1 in sync" vcf_kafka_isr_full "$1"; then
		t=$(awk -v a="$2" -v b="$(vcf_now_ms)" 'BEGIN {printf "%.1f", (b - a) / 1000}')
		vcf_metric isr_full_s "$t"
		vcf_note "$1: every replica in sync again ${t}s after the fault ended"
	else
		vcf_fail "$1: replicas still out of sync after 90 s: $(vcf_kafka_metadata "$1" | grep isrs | tr -s ' ' | tr '\n' ';')"
	fi
}

# vcf_topic_ids TOPIC OUT: the detection ids of the run's prefix of every record on TOPIC
# (key tenant/id), one per record, into OUT. Fails when the topic cannot be read.
vcf_topic_ids() {
	timeout 30 kcat -C -b "$VCF_BROKERS" -t "$1" -e -q -f '%k\n' >"$2.raw" 2>"$2.err" || return 1
	awk -v p="$VCF_PREFIX" '{ sub(/^[^\/]*\//, "") } index($0, p) == 1' "$2.raw" >"$2" || return 1
	rm -f "$2.raw"
}

# vcf_kafka COMMAND: one fault command to vc-devbroker's control socket.
vcf_kafka() {
	vcf_log "devbroker: $*"
	"$VCF_BIN/vc-devbroker" --control "$VCF_CONTROL" --send "$*" >/dev/null
}

# vcf_psql SQL: runs SQL on the scenario's database; tab-separated rows on stdout.
vcf_psql() {
	psql -X -q -At -F $'\t' -h 127.0.0.1 -p "$VCF_PG_PORT" -U postgres -d vcguard \
		-v ON_ERROR_STOP=1 -c "$1"
}

# vcf_start_stack: everything a scenario needs, on free ports, plus an API key.
vcf_start_stack() {
	VCF_REDIS_PORT=$(vc_free_port) || return 1
	vc_start_redis "$VCF_TMP/redis" "$VCF_REDIS_PORT" || return 1
	VCF_PG_PORT=$(vc_free_port) || return 1
	vc_start_postgres "$VCF_TMP/pg" "$VCF_PG_PORT" off >/dev/null || return 1
	# shellcheck disable=SC2153 # set by vc_start_postgres
	VCF_PG_URL=$VC_PG_URL
	vcf_start_kafka || return 1
	VCF_KEY=$(env DATABASE_URL="$VCF_PG_URL" LOG_LEVEL=warn "$VCF_BIN/vc-admin" keys create \
		--tenant "faults-$VCF_NAME" --name faults --rate-limit "$VCF_RATE_LIMIT") || {
		vc__err "vc-admin keys create failed"
		return 1
	}
	VCF_GW_PORT=$(vc_free_port) || return 1
	VCF_URL=http://127.0.0.1:$VCF_GW_PORT
	vcf_start_gateway gateway || return 1
	VCF_DET_PORT=$(vc_free_port) || return 1
	vcf_start_detector detector || return 1
	vcf_wait 60 "detector workers in the group" vcf_detector_ready || return 1
	vcf_warmup
}

# vcf_warmup: a few detections end to end, so connections, pools and the group are settled
# before the load (and its baseline) starts.
vcf_warmup() {
	"$VCF_BIN/vc-loadtest" --type e2e --requests 4 --concurrency 2 --wait 10 --e2e-timeout 60 \
		--gen-seconds "$VCF_CLIP_S" --api-key "$VCF_KEY" --backend-url "$VCF_URL" --quiet \
		--kv "$VCF_TMP/warmup.kv" >/dev/null || return 1
	if ! grep -qx 'ok=4' "$VCF_TMP/warmup.kv"; then
		vc__err "warm-up: not every detection completed ($(tr '\n' ' ' <"$VCF_TMP/warmup.kv" | cut -c1-200))"
		return 1
	fi
}

# vcf_longpoll_ready: one submission with ?wait=15 comes back completed inline (the gateway's
# result store and its Redis subscriber both work again), i.e. without a single poll. Its id
# is not the load's: the audit ignores it.
vcf_longpoll_ready() {
	local out
	out=$("$VCF_BIN/vc-loadtest" --type e2e --requests 1 --concurrency 1 --wait 15 \
		--e2e-timeout 30 --gen-seconds "$VCF_CLIP_S" --api-key "$VCF_KEY" \
		--backend-url "$VCF_URL" --quiet --json) || return 1
	[[ $(vcf_json_int "$out" ok) == 1 && $(vcf_json_int "$out" polls) == 0 ]]
}

# vcf_longpoll_probe_start: from now on, probes once a second (in the background) until a
# long-poll is answered inline; writes the wall ms of that moment to longpoll.back.
vcf_longpoll_probe_start() {
	(
		for ((i = 0; i < 120; i++)); do
			if vcf_longpoll_ready; then
				vcf_now_ms >"$VCF_TMP/longpoll.back"
				exit 0
			fi
			sleep 1
		done
	) &
	VCF_PROBE_PID=$!
}

# vcf_longpoll_check SINCE_MS: waits (up to 60 s more) for the probe's answer and records how
# long after SINCE_MS long-polls were answered inline again (extra.longpoll_back_s). Never
# coming back would need a manual restart: a failure.
vcf_longpoll_check() {
	local since=$1 t
	if vcf_wait 60 "long-poll answered inline" test -s "$VCF_TMP/longpoll.back"; then
		t=$(awk -v a="$since" -v b="$(cat "$VCF_TMP/longpoll.back")" 'BEGIN {printf "%.1f", (b - a) / 1000}')
		vcf_metric longpoll_back_s "$t"
		vcf_note "gateway answers ?wait= inline again ${t}s after the fault ended"
	else
		vcf_fail "the gateway's long-poll (?wait=) did not answer inline again"
	fi
}

# vcf_snapshot_pids: records who runs now, for the "nobody needed a restart" check.
vcf_snapshot_pids() {
	local n i=0 p
	for n in redis postgres $(vcf_kafka_names) "$VCF_GATEWAY" "$VCF_DETECTOR"; do
		VCF_PID0[$n]=$(vcf_pid "$n")
	done
	while read -r p; do
		[[ -n $p ]] && VCF_PID0[worker$((i++))]=$p
	done < <(vcf_worker_pids)
}

# vcf_load_start: the open-loop load in the background; every submission has its own id.
vcf_load_start() {
	VCF_PREFIX="f-${VCF_NAME}-$$-"
	"$VCF_BIN/vc-loadtest" --type detection --rate "$VCF_RATE" --duration 3600 \
		--concurrency 256 --timeout 30 --gen-seconds "$VCF_CLIP_S" --api-key "$VCF_KEY" \
		--backend-url "$VCF_URL" --id-prefix "$VCF_PREFIX" --ids-out "$VCF_TMP/ids.tsv" \
		--json --quiet --kv "$VCF_TMP/load.kv" >"$VCF_TMP/load.json" 2>"$VCF_TMP/load.err" &
	VCF_LOAD_PID=$!
	VCF_LOAD_START_MS=$(vcf_now_ms)
	vcf_log "load: $VCF_RATE/s open loop (pid $VCF_LOAD_PID)"
}

# vcf_load_stop: ends the schedule (SIGTERM: nothing new is sent, what is in flight finishes).
vcf_load_stop() {
	kill -TERM "$VCF_LOAD_PID" 2>/dev/null || true
	local rc=0
	wait "$VCF_LOAD_PID" || rc=$?
	VCF_LOAD_PID=''
	VCF_LOAD_END_MS=$(vcf_now_ms)
	if ((rc != 0)); then
		vc__err "vc-loadtest exited $rc: $(tail -n 3 "$VCF_TMP/load.err")"
		return 1
	fi
	vcf_log "load stopped: $(grep -E '^(started|ok|status_5xx|errors_other)=' "$VCF_TMP/load.kv" | tr '\n' ' ')"
}

# vcf_fetch_state: PostgreSQL rows and Redis results of this run's ids into pg.tsv and
# redis.tsv. Fails when a store does not answer.
vcf_fetch_state() {
	# Rows a detector wrote (attempts > 0; the gateway's idempotency claims have none).
	# completed_at: when the result was made, just before it became durable (the detector's
	# clock; the same machine's as the load's). replayed: written more than once.
	vcf_psql "SELECT id, status, (extract(epoch FROM coalesce(completed_at, created_at)) * 1000)::bigint,
		(reason IS NOT NULL)::int, (attempts > 1)::int, coalesce(detector, '-')
		FROM detections WHERE id LIKE '${VCF_PREFIX}%' AND attempts > 0" >"$VCF_TMP/pg.tsv.new" || return 1
	mv -f "$VCF_TMP/pg.tsv.new" "$VCF_TMP/pg.tsv"
	# Every id the load sent (acknowledged or not): its result's status in Redis, '-' if none.
	awk -F'\t' -v t="faults-$VCF_NAME" '!/^#/ && $9 > 0 {print "vc:result:" t "/" $2}' "$VCF_TMP/ids.tsv" >"$VCF_TMP/keys"
	: >"$VCF_TMP/redis.status"
	if [[ -s $VCF_TMP/keys ]]; then
		xargs -n 200 redis-cli -h 127.0.0.1 -p "$VCF_REDIS_PORT" --raw --eval \
			"$VCF_DIR/result_status.lua" <"$VCF_TMP/keys" >"$VCF_TMP/redis.status" || return 1
	fi
	if [[ $(wc -l <"$VCF_TMP/keys") != $(wc -l <"$VCF_TMP/redis.status") ]]; then
		vc__err "redis: $(wc -l <"$VCF_TMP/keys") keys asked, $(wc -l <"$VCF_TMP/redis.status") answers"
		return 1
	fi
	paste "$VCF_TMP/keys" "$VCF_TMP/redis.status" | sed 's|^vc:result:[^/]*/||' >"$VCF_TMP/redis.tsv"
	vcf_topic_ids "$VCF_TOPIC_RESULTS" "$VCF_TMP/results.ids" || {
		vc__err "kcat could not read $VCF_TOPIC_RESULTS: $(tail -n 2 "$VCF_TMP/results.ids.err")"
		return 1
	}
	vcf_topic_ids "$VCF_TOPIC_DLQ" "$VCF_TMP/dlq.ids" || {
		vc__err "kcat could not read $VCF_TOPIC_DLQ: $(tail -n 2 "$VCF_TMP/dlq.ids.err")"
		return 1
	}
}

# vcf_audit_kv: runs audit.awk over the fetched state; key=value lines on stdout.
vcf_audit_kv() {
	awk -F'\t' -v fault_start="$VCF_FAULT_START_MS" -v fault_end="$VCF_FAULT_END_MS" \
		-v redis_lost_before="$VCF_REDIS_LOST_BEFORE_MS" -v expect_failed="$VCF_EXPECT_FAILED" \
		-f "$VCF_DIR/audit.awk" "$VCF_TMP/ids.tsv" "$VCF_TMP/pg.tsv" "$VCF_TMP/redis.tsv" \
		"$VCF_TMP/results.ids" "$VCF_TMP/dlq.ids"
}

# vcf_kv FILE KEY
vcf_kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }

# vcf_settle: waits until every acknowledged request is final in PostgreSQL and has its Redis
# result, or VCF_SETTLE_MAX_S pass. The audit then tells what is missing.
vcf_settle() {
	local deadline=$(($(date +%s) + VCF_SETTLE_MAX_S)) pending=''
	while :; do
		if vcf_fetch_state 2>/dev/null; then
			vcf_audit_kv >"$VCF_TMP/audit.kv"
			pending=$(vcf_kv "$VCF_TMP/audit.kv" lost)
			((pending == 0)) && break
		fi
		if (($(date +%s) >= deadline)); then
			vcf_log "settle: still ${pending:-?} acknowledged requests not final after ${VCF_SETTLE_MAX_S}s"
			break
		fi
		sleep 1
	done
}

# vcf_check_services: every process alive, the ones the scenario did not touch with the PID
# they had when the load started, the detector's workers restarted by their supervisor
# (never by us), the gateway and detector healthy. Records failures; prints a summary word.
vcf_check_services() {
	local n cur health restarts alive joined
	for n in redis postgres $(vcf_kafka_names) "$VCF_GATEWAY" "$VCF_DETECTOR"; do
		if ! vcf_alive "$n"; then
			vcf_fail "service $n is not running"
			continue
		fi
		cur=$(vcf_pid "$n")
		if [[ -z ${VCF_REPLACED[$n]:-} && -n ${VCF_PID0[$n]:-} && $cur != "${VCF_PID0[$n]}" ]]; then
			vcf_fail "service $n changed PID ${VCF_PID0[$n]} -> $cur without being faulted"
		fi
	done
	# An old instance the scenario replaced must not linger either.
	for n in "${!VCF_REPLACED[@]}"; do
		if [[ ${VCF_REPLACED[$n]} == gone ]] && vcf_alive "$n"; then
			vcf_fail "service $n should have exited but still runs"
		fi
	done
	vc__http_ok "$VCF_URL/health" || vcf_fail "gateway /health is not 200"
	if ! vcf_wait 20 "detector workers in the group" vcf_detector_ready; then
		vcf_fail "detector /health is not ok: $(vcf_detector_health | cut -c1-300)"
	fi
	health=$(vcf_detector_health)
	restarts=$(vcf_json_int "$health" restarts)
	alive=$(vcf_json_int "$health" alive)
	joined=$(vcf_json_int "$health" joined)
	VCF_WORKER_RESTARTS=${restarts:-0}
	VCF_WORKERS_ALIVE=${alive:-0}
	[[ ${alive:-0} == 2 && ${joined:-0} == 2 ]] ||
		vcf_fail "detector workers alive=${alive:-?} joined=${joined:-?} (want 2/2)"
	# Workers not killed on purpose keep their PID (unless their whole detector was replaced).
	# One exception, in scenarios that fault the brokers (VCF_FAULTS_KAFKA=1): a worker whose
	# idempotent producer or consumer hit a fatal error exits 1 by design (the supervisor
	# restarts it; e.g. OUT_OF_ORDER_SEQUENCE_NUMBER after a whole-cluster restart), and its
	# log says so (`detector.kafka_fatal`): as many replacements as such lines are expected.
	if [[ -z ${VCF_REPLACED[$VCF_DETECTOR]:-} && $VCF_DETECTOR == detector ]]; then
		local p now fatal=0
		now=" $(vcf_worker_pids | tr '\n' ' ') "
		if [[ ${VCF_FAULTS_KAFKA:-0} == 1 ]]; then
			fatal=$(grep -c 'event=detector.kafka_fatal' "$VCF_TMP/$VCF_DETECTOR.log" 2>/dev/null) ||
				fatal=0
		fi
		vcf_metric kafka_fatal_restarts "$fatal"
		for n in "${!VCF_PID0[@]}"; do
			[[ $n == worker* ]] || continue
			p=${VCF_PID0[$n]}
			if [[ -z ${VCF_REPLACED[$n]:-} && $now != *" $p "* ]] && ((fatal > 0)); then
				fatal=$((fatal - 1))
				vcf_note "worker $p exited on a Kafka fatal error and was restarted (by design)"
			elif [[ -z ${VCF_REPLACED[$n]:-} && $now != *" $p "* ]]; then
				vcf_fail "detector worker $p was replaced without being faulted (workers now:$now)"
			fi
		done
	fi
}

# vcf_json_str TEXT: TEXT as a JSON string.
vcf_json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/ }
	s=${s//$'\n'/ }
	printf '"%s"' "$s"
}

# vcf_json_list ITEM...: a JSON array of strings.
vcf_json_list() {
	local first=1 x
	printf '['
	for x in "$@"; do
		((first)) || printf ','
		first=0
		vcf_json_str "$x"
	done
	printf ']'
}

# vcf_judge AUDIT_KV: the audit's verdict, as vcf_fail calls (VCF_FAILURES): an acknowledged
# request lost (not final in PostgreSQL, no result in Redis, none on the results topic), an
# id with more than one row, a row or topic record no submission had, a `failed` result or a
# dead letter of an acknowledged id (unless VCF_EXPECT_FAILED=1), a refused request that was
# processed although it provably never reached Kafka, nothing acknowledged, no submission made
# after the fault that completed. Duplicate records on the results topic are measured only
# (at-least-once). tests/faults/audit_selfcheck checks that each of these can fail.
vcf_judge() {
	local a=$1
	k() { vcf_kv "$a" "$1"; }
	(($(k lost) == 0)) || vcf_fail "$(k lost) acknowledged requests lost: $(k lost_ids)"
	(($(k duplicates) == 0)) || vcf_fail "$(k duplicates) duplicated rows or records: $(k duplicate_ids)"
	(($(k failed_unexpected) == 0)) ||
		vcf_fail "$(k failed_unexpected) acknowledged requests have a failed result: $(k failed_ids)"
	(($(k dlq_unexpected) == 0)) ||
		vcf_fail "$(k dlq_unexpected) dead letters of acknowledged requests: $(k dlq_ids)"
	(($(k errors_processed_unexpected) == 0)) ||
		vcf_fail "$(k errors_processed_unexpected) refused requests were processed: $(k unexpected_ids)"
	(($(k acknowledged) > 0)) || vcf_fail "nothing was acknowledged"
	[[ -n $(k recovery_s) ]] || vcf_fail "no submission made after the fault completed"
}

# vcf_row NAME BROKER AUDIT_KV VERDICT: one line of the audit table (tests/faults/run prints
# its header).
vcf_row() {
	local a=$3
	k() { vcf_kv "$a" "$1"; }
	printf '%-18s | %-9s | %5s | %5s | %9s | %6s | %4s | %4s | %5s/%-5s | %4s | %5s/%-5s | %10s | %7s | %s\n' \
		"$1" "$2" "$(k sent)" "$(k acknowledged)" "$(k completed)" "$(k failed_acked)" \
		"$(k duplicates)" "$(k lost)" "$(k results_dups)" "$(k results_max)" "$(k dlq)" \
		"$(k errors_processed)" "$(k errors)" "$(k recovery_s)" "$(k drain_s)" "$4"
}

# vcf_report NAME DESCRIPTION: judges the audit (vcf_judge) with the scenario's own checks
# and the services' (already in VCF_FAILURES), prints the table row on stdout and writes the
# JSON object to $VCF_TMP/result.json. Returns 1 when the scenario failed.
vcf_report() {
	local name=$1 desc=$2 a=$VCF_TMP/audit.kv classes="" line v
	vcf_judge "$a"
	k() { vcf_kv "$a" "$1"; }
	while IFS= read -r line; do
		v=${line#class.}
		classes+="${classes:+,}$(vcf_json_str "${v%%=*}"):${v#*=}"
	done < <(grep '^class\.' "$a" || true)
	local pass=true
	((${#VCF_FAILURES[@]} == 0)) || pass=false
	vcf_row "$name" "$VCF_KAFKA" "$a" "$([[ $pass == true ]] && echo pass || echo FAIL)"
	{
		printf '{"scenario":%s,"broker":"%s","fault":%s,"date":"%s","pass":%s,' \
			"$(vcf_json_str "$name")" "$VCF_KAFKA" "$(vcf_json_str "$desc")" "$(date -u +%FT%TZ)" "$pass"
		printf '"rate_per_s":%s,"load_s":%s,"fault_start_ms":%s,"fault_end_ms":%s,' "$VCF_RATE" \
			"$(((VCF_LOAD_END_MS - VCF_LOAD_START_MS) / 1000))" "$VCF_FAULT_START_MS" "$VCF_FAULT_END_MS"
		printf '"fault_s":%s,' "$(awk -v a="$VCF_FAULT_START_MS" -v b="$VCF_FAULT_END_MS" 'BEGIN{printf "%.1f", (b - a) / 1000}')"
		printf '"sent":%s,"acknowledged":%s,"completed":%s,"failed":%s,' "$(k sent)" \
			"$(k acknowledged)" "$(k completed)" "$(k failed)"
		printf '"lost":%s,"lost_postgres":%s,"redis_missing":%s,"redis_missing_excused":%s,' \
			"$(k lost)" "$(k lost_pg)" "$(k redis_missing)" "$(k redis_missing_excused)"
		printf '"lost_results_topic":%s,"failed_acknowledged":%s,' "$(k lost_topic)" "$(k failed_acked)"
		printf '"results_topic_records":%s,"results_topic_duplicates":%s,"results_topic_max_per_id":%s,' \
			"$(k results_records)" "$(k results_dups)" "$(k results_max)"
		printf '"dlq_records":%s,"dlq_acknowledged":%s,' "$(k dlq)" "$(k dlq_acked)"
		printf '"duplicates":%s,"replayed":%s,"errors":%s,"errors_by_class":{%s},' \
			"$(k duplicates)" "$(k replayed)" "$(k errors)" "$classes"
		printf '"errors_processed":%s,"errors_processed_ambiguous":%s,"errors_processed_unexpected":%s,' \
			"$(k errors_processed)" "$(k errors_processed_ambiguous)" "$(k errors_processed_unexpected)"
		printf '"recovery_s":%s,"drain_s":%s,' "$(k recovery_s | sed 's/^$/null/')" "$(k drain_s)"
		printf '"worker_restarts":%s,"workers_alive":%s,' "${VCF_WORKER_RESTARTS:-null}" \
			"${VCF_WORKERS_ALIVE:-null}"
		printf '"extra":{'
		local first=1 key
		for key in "${!VCF_EXTRA[@]}"; do
			((first)) || printf ','
			first=0
			printf '%s:%s' "$(vcf_json_str "$key")" "${VCF_EXTRA[$key]}"
		done
		printf '},'
		printf '"lost_ids":%s,"notes":%s,"failures":%s}\n' "$(vcf_json_str "$(k lost_ids)")" \
			"$(vcf_json_list "${VCF_NOTES[@]}")" "$(vcf_json_list "${VCF_FAILURES[@]}")"
	} >"$VCF_TMP/result.json"
	[[ $pass == true ]]
}

# vcf_scenario NAME RESULT_FILE: runs tests/faults/scenarios/NAME.sh from stack start to
# report. Run it in a subshell: it sets traps and stops everything it started on exit. The
# table row goes to stdout, the JSON object to RESULT_FILE. Returns 0 pass, 1 fail.
vcf_scenario() {
	local name=$1 out=$2 t0 rc=0
	VCF_NAME=$name
	t0=$(date +%s)
	VCF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vc-faults-$name.XXXXXX")
	chmod 0755 "$VCF_TMP" # the postgres user must reach $VCF_TMP/pg
	trap vcf_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# shellcheck source=/dev/null
	. "$VCF_DIR/scenarios/$name.sh"
	if [[ " ${VCF_BROKERS_SUPPORTED:-apache3 apache1 devbroker} " != *" $VCF_KAFKA "* ]]; then
		vcf_log "=== $name: skipped on $VCF_KAFKA (runs on: $VCF_BROKERS_SUPPORTED)"
		printf '%-18s | %-9s | skipped (needs %s)\n' "$name" "$VCF_KAFKA" "$VCF_BROKERS_SUPPORTED"
		printf '{"scenario":%s,"broker":"%s","skipped":true,"pass":true}\n' \
			"$(vcf_json_str "$name")" "$VCF_KAFKA" >"$out"
		return 0
	fi
	vcf_log "=== $name on $VCF_KAFKA: $FAULT"
	if ! vcf_start_stack; then
		vc_tail_logs 30
		printf '%-18s | %-9s | the stack did not start | FAIL\n' "$name" "$VCF_KAFKA"
		printf '{"scenario":%s,"pass":false,"failures":["the stack did not start"]}\n' \
			"$(vcf_json_str "$name")" >"$out"
		return 1
	fi
	vcf_snapshot_pids
	vcf_load_start
	vcf_pause "$VCF_PRE_S"
	VCF_FAULT_START_MS=$(vcf_now_ms)
	fault || vcf_fail "the fault could not be injected (see the log above)"
	[[ $VCF_FAULT_END_MS != 0 ]] || VCF_FAULT_END_MS=$(vcf_now_ms)
	vcf_log "fault over after $(((VCF_FAULT_END_MS - VCF_FAULT_START_MS) / 1000)) s; load continues ${VCF_POST_S}s once the gateway reaches Kafka"
	# The post-fault window starts when the gateway can accept again (its /health answers 200
	# only when Kafka does): a restarted cluster may serve metadata seconds before it takes
	# writes, and a window spent entirely in that gap proves nothing about recovery.
	vcf_wait 60 "the gateway's /health answering 200 after the fault" \
		curl -sf --max-time 3 -o /dev/null "$VCF_URL/health" || true
	# After a broker fault, also until the request topic's replicas are in sync again: with
	# min.insync.replicas=2 a partition takes no acks=all write before that.
	if ((${VCF_FAULTS_KAFKA:-0} && VCF_KAFKA_NODES > 0)); then
		vcf_wait 60 "the request topic's replicas in sync after the fault" \
			vcf_kafka_isr_full "$VCF_TOPIC_REQUESTS" || true
	fi
	vcf_pause "$VCF_POST_S"
	vcf_load_stop || vcf_fail "the load tool failed"
	vcf_settle
	if ! vcf_fetch_state; then
		vcf_fail "PostgreSQL or Redis did not answer the audit"
	fi
	vcf_audit_kv >"$VCF_TMP/audit.kv"
	vcf_check_services
	if declare -F check >/dev/null; then
		check
	fi
	vcf_report "$name" "$FAULT" || rc=1
	sed "s/}\$/,\"runtime_s\":$(($(date +%s) - t0))}/" "$VCF_TMP/result.json" >"$out"
	if ((rc != 0)); then
		vc_tail_logs 25
		VCF_KEEP=${VCF_KEEP_ON_FAIL:-0}
	fi
	return "$rc"
}
