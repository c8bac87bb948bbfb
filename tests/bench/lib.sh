# shellcheck shell=bash
# tests/bench/lib.sh: what the benchmark drivers (tests/bench/*/run) share. Sourced, never run.
#
# Every benchmark starts what it measures on free 127.0.0.1 ports and stops it on exit,
# whatever happens (compose/lib/stack.sh does the starting, PID files and stopping). Redis and
# PostgreSQL: the shared test servers when tests/run exported VC_TEST_REDIS_URL and
# VC_TEST_DATABASE_URL (the ctest smoke runs), else private throw-away ones. Kafka: always a
# private vc-devbroker, so topics start empty and no earlier test's messages are measured.
#
# Results: stdout gets one JSON object and then one summary line; progress goes to stderr.

VCB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../../compose/lib/stack.sh
. "$VCB_ROOT/compose/lib/stack.sh"

VCB_BIN=${VC_BIN_DIR:-$VCB_ROOT/build/bin}
VCB_TMP=''
VCB_REDIS_URL=''
VCB_PG_URL=''
VCB_KAFKA=''
VCB_SHARED=0
VCB_KEY_ARGS=() # --api-key KEY for vc-loadtest once vcb_servers made one

vcb_log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# shellcheck disable=SC2317 # invoked by the trap
vcb_cleanup() {
	set +e
	vc_stop_started
	[[ -n $VCB_TMP && -d $VCB_TMP ]] && rm -rf -- "$VCB_TMP"
}

# vcb_init NAME: temp directory, traps, binaries check.
vcb_init() {
	local b
	for b in vc-loadtest vc-gateway vc-detector vc-devbroker; do
		[[ -x $VCB_BIN/$b ]] || {
			vc__err "$VCB_BIN/$b not built (set VC_BIN_DIR)"
			exit 1
		}
	done
	VCB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vc-bench-$1.XXXXXX")
	chmod 0755 "$VCB_TMP" # the postgres user must reach $VCB_TMP/pg
	trap vcb_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# vcb_servers: Redis + PostgreSQL (shared or private) and a private vc-devbroker.
vcb_servers() {
	if [[ -n ${VC_TEST_REDIS_URL:-} && -n ${VC_TEST_DATABASE_URL:-} ]]; then
		VCB_REDIS_URL=$VC_TEST_REDIS_URL
		VCB_PG_URL=$VC_TEST_DATABASE_URL
		VCB_SHARED=1
		vcb_log "using the shared test servers: $VCB_REDIS_URL $VCB_PG_URL"
	else
		local rport pport
		rport=$(vc_free_port) || return 1
		vc_start_redis "$VCB_TMP/redis" "$rport" || return 1
		VCB_REDIS_URL="redis://127.0.0.1:$rport/0"
		pport=$(vc_free_port) || return 1
		vc_start_postgres "$VCB_TMP/pg" "$pport" off >/dev/null || return 1
		VCB_PG_URL=$VC_PG_URL
	fi
	vc_start_devbroker "$VCB_TMP/kafka" "$VCB_BIN/vc-devbroker" >/dev/null || return 1
	VCB_KAFKA=$VC_BOOTSTRAP
	vcb_api_key
}

# vcb_api_key: an API key of a fresh tenant with the highest per-key rate limit, so the
# benchmarks run with authentication and the real rate limiter on, measuring their cost
# without being limited by them. Gateways built before API keys existed need none.
vcb_api_key() {
	local key
	[[ -x $VCB_BIN/vc-admin ]] || return 0
	key=$(env DATABASE_URL="$VCB_PG_URL" LOG_LEVEL=warn "$VCB_BIN/vc-admin" keys create \
		--tenant "bench-$$" --name bench --rate-limit "$VCB_RATE_LIMIT") || {
		vc__err "vc-admin keys create failed"
		return 1
	}
	VCB_KEY_ARGS=(--api-key "$key")
}

# Per minute, per key and per client address: the gateway's highest accepted value (1667/s).
VCB_RATE_LIMIT=100000

# vcb_common_env: the environment every service gets (printed as K=V words).
vcb_common_env() {
	printf '%s\n' "REDIS_URL=$VCB_REDIS_URL" "DATABASE_URL=$VCB_PG_URL" \
		"RATE_LIMIT_PER_MINUTE=$VCB_RATE_LIMIT" "RATE_LIMIT_PER_IP_PER_MINUTE=$VCB_RATE_LIMIT" \
		"KAFKA_BROKERS=$VCB_KAFKA" "LOG_LEVEL=${VCB_LOG_LEVEL:-warn}" \
		"KAFKA_SESSION_TIMEOUT_MS=6000" "KAFKA_MAX_POLL_INTERVAL_MS=30000"
}

# vcb_start_gateway NAME PORT [K=V...]: a vc-gateway on 127.0.0.1:PORT, waits for /health.
vcb_start_gateway() {
	local name=$1 port=$2 env
	shift 2
	mapfile -t env < <(vcb_common_env)
	vc_start_service "$name" "$VCB_TMP" env "${env[@]}" HTTP_HOST=127.0.0.1 \
		HTTP_PORT="$port" "$@" "$VCB_BIN/vc-gateway" || return 1
	vc_wait_http "http://127.0.0.1:$port/health" 60
}

# vcb_start_detector NAME GROUP [K=V...]: a vc-detector in consumer group GROUP.
vcb_start_detector() {
	local name=$1 group=$2 env
	shift 2
	mapfile -t env < <(vcb_common_env)
	vc_start_service "$name" "$VCB_TMP" env "${env[@]}" KAFKA_GROUP_ID="$group" \
		INSTANCE_ID="$name" "$@" "$VCB_BIN/vc-detector"
}

# vcb_stop NAME: stops a service this script started.
vcb_stop() { vc_stop_pidfile "$VCB_TMP/$1.pid" 30; }

# vcb_pid NAME: PID of a started service.
vcb_pid() { head -n 1 "$VCB_TMP/$1.pid"; }

# vcb_rss_kb PID: resident memory of PID in KiB: VmRSS for a single process; for a process
# with children (PostgreSQL's postmaster and backends) the sum of their PSS, since summed RSS
# would count the shared buffers once per backend that touched them.
vcb_rss_kb() {
	local kids p sum=0 v
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ')
	if [[ -z $kids ]]; then
		awk '/^VmRSS:/ {print $2; found = 1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
		return 0
	fi
	for p in "$1" $kids; do
		v=$(awk '/^Pss:/ {print $2; exit}' "/proc/$p/smaps_rollup" 2>/dev/null) || v=0
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# vcb_load JSON KV ARGS...: runs vc-loadtest; its JSON report goes to JSON, key=value to KV.
vcb_load() {
	local json=$1 kv=$2
	shift 2
	"$VCB_BIN/vc-loadtest" --json --kv "$kv" "${VCB_KEY_ARGS[@]}" "$@" >"$json"
}

# vcb_kv FILE KEY: a value from a --kv file.
vcb_kv() { sed -n "s/^$2=//p" "$1"; }

# vcb_median V...: the median of numbers.
vcb_median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {
		if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2];
		else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# vcb_calc EXPR: floating-point arithmetic (awk), e.g. vcb_calc '3 / 4'.
vcb_calc() { awk "BEGIN { v = $1; printf \"%.6g\n\", v }"; }

# vcb_machine_json: date, CPU model and cores as JSON members (no braces).
vcb_machine_json() {
	local cpu
	cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
	printf '"date":"%s","cpu":"%s","cores":%s,"load_avg_at_start":"%s"' \
		"$(date -u +%FT%TZ)" "${cpu:-unknown}" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# vcb_clip SECONDS FILE: a 16 kHz mono PCM16 WAV (a tone plus a little noise) made by sox.
vcb_clip() {
	sox -n -r 16000 -c 1 -b 16 "$2" synth "$1" sine 440 synth "$1" whitenoise amod 0.02 \
		gain -6 2>/dev/null || sox -n -r 16000 -c 1 -b 16 "$2" synth "$1" sine 440 gain -6
}

# vcb_cpu_ms PID: CPU time (user + system) used so far by PID and its current children
# (PostgreSQL backends), in milliseconds.
vcb_cpu_ms() {
	local p total=0 hz f
	hz=$(getconf CLK_TCK)
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		f=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		# fields after the command: state=1 ... utime=12 stime=13
		total=$((total + $(awk '{print $12 + $13}' <<<"$f")))
	done
	echo $((total * 1000 / hz))
}

# vcb_cpu_snapshot NAME=PID...: prints NAME=CPU_MS words for the given processes.
vcb_cpu_snapshot() {
	local kv
	for kv in "$@"; do
		printf '%s=%s\n' "${kv%%=*}" "$(vcb_cpu_ms "${kv#*=}")"
	done
}

# vcb_cpu_json BEFORE AFTER SECONDS: JSON object NAME: CPU share of one core (0..cores) from
# two vcb_cpu_snapshot outputs taken SECONDS apart.
vcb_cpu_json() {
	awk -v secs="$3" -F= 'NR == FNR {a[$1] = $2; next} {
		printf "%s\"%s\":%.3f", (n++ ? "," : ""), $1, ($2 - a[$1]) / 1000 / secs }
		END { if (!n) printf "" }' "$1" "$2" | sed 's/^/{/; s/$/}/'
}

# vcb_procs: NAME=PID lines of every service this benchmark started (and the servers
# when they are private), for vcb_cpu_snapshot and RSS reports.
vcb_procs() {
	local f name
	for f in "$VCB_TMP"/*.pid "$VCB_TMP"/*/*.pid; do
		[[ -f $f ]] || continue
		name=$(basename "$f" .pid)
		vc_pidfile_alive "$f" && printf '%s=%s\n' "$name" "$(head -n 1 "$f")"
	done
}

# vcb_stat_cpu: "busy total" jiffies of the whole machine (from /proc/stat).
vcb_stat_cpu() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit}' /proc/stat; }

# vcb_busy_cores "BUSY0 TOTAL0" "BUSY1 TOTAL1": cores kept busy in between (0..nproc), by
# everything on the machine (other people's jobs included).
vcb_busy_cores() {
	local b0 t0 b1 t1
	read -r b0 t0 <<<"$1"
	read -r b1 t1 <<<"$2"
	vcb_calc "($b1 - $b0) / (($t1 - $t0) > 0 ? ($t1 - $t0) : 1) * $(nproc)"
}
