# shellcheck shell=bash
# compose/lib/stack.sh: the one library behind tests/run and compose/local/{up,down}.
#
# Sourced, never run. Every function is prefixed vc_ (vc__ for internal helpers), reports
# progress on stderr, returns non-zero on failure (callers may use it under `if` or `||`, where
# errexit is off, so every step checks its own status) and prints results on stdout.
#
# Servers bind 127.0.0.1 only. Each server started here gets a PID file
#     line 1: PID   line 2: start time (/proc/PID/stat field 22)   line 3: name
# The start time identifies the process instance, so a PID reused by an unrelated process
# after ours died is never signalled. PID files go to $VC_PID_DIR and logs to $VC_LOG_DIR when
# set (compose/local uses var/run and var/log), else to the DIR given to the start function.
#
# Everything started in this shell is remembered in start order; vc_stop_started stops it all
# in reverse order (the tests' trap, a failed `up`).

set -euo pipefail

VC_ROOT=${VC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# Debian packages the build, the tests and the local stack need (clang, libclang-rt-dev for
# libFuzzer and llvm for llvm-symbolizer: the fuzz step of tests/run, tests/fuzz/run).
VC_PACKAGES=(
	build-essential cmake pkg-config git
	librdkafka-dev libpq-dev libhiredis-dev libmsgpack-dev libcivetweb-dev libjansson-dev
	libsndfile1-dev libfftw3-dev libcurl4-openssl-dev libsoxr-dev libssl-dev libjsmn-dev libcjson-dev
	libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
	redis-server postgresql kcat sox curl
	libyaml-dev libjson-validator-perl prometheus prometheus-alertmanager gnuplot-nox chromium
	clang libclang-rt-dev llvm
)

VC__STARTED=() # "pid:PIDFILE", "pg:DIR" or "kafka:DIR", in start order
VC__LOGS=()    # log files of what was started, for vc_tail_logs

vc__log() { printf '[vc %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
vc__err() { printf '[vc %(%H:%M:%S)T] error: %s\n' -1 "$*" >&2; }

# vc__pidfile NAME DIR / vc__logfile NAME DIR: where NAME's PID file and log live.
vc__pidfile() { printf '%s/%s.pid\n' "${VC_PID_DIR:-$2}" "$1"; }
vc__logfile() { printf '%s/%s.log\n' "${VC_LOG_DIR:-$2}" "$1"; }

# vc__proc_start PID: prints the start time of a live (not zombie) process; fails otherwise.
vc__proc_start() {
	local stat rest
	local -a f
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) } # the command name may hold spaces and parentheses
	read -ra f <<<"$rest"
	[[ ${f[0]} != Z && ${f[0]} != X ]] || return 1
	printf '%s\n' "${f[19]}"
}

# vc__write_pidfile FILE PID NAME: records PID with its start time, atomically.
vc__write_pidfile() {
	local start
	start=$(vc__proc_start "$2") || {
		vc__err "$3 (pid $2) exited at once"
		return 1
	}
	mkdir -p "$(dirname "$1")" || return 1
	printf '%s\n%s\n%s\n' "$2" "$start" "$3" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# vc_pidfile_alive FILE: true when the process recorded in FILE is still the one we started.
vc_pidfile_alive() {
	local pid='' start='' name='' now
	[[ -f $1 ]] || return 1
	{ read -r pid && read -r start && read -r name; } <"$1" || true
	[[ $pid =~ ^[0-9]+$ && -n $start ]] || return 1
	now=$(vc__proc_start "$pid") || return 1
	[[ $now == "$start" ]]
}

# vc__pidfile_pid FILE: prints the PID recorded in FILE.
vc__pidfile_pid() { head -n 1 "$1"; }

# vc__wait_until SECONDS PIDFILE WHAT CMD...: polls CMD every 0.1 s until it succeeds. Fails
# when SECONDS pass or the process in PIDFILE (if not empty) dies first.
vc__wait_until() {
	local secs=$1 pidf=$2 what=$3 i
	shift 3
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [[ -n $pidf ]] && ! vc_pidfile_alive "$pidf"; then
			vc__err "$what: the process exited"
			return 1
		fi
		sleep 0.1
	done
	vc__err "$what: not ready after ${secs}s"
	return 1
}

# vc__register KIND:PATH LOG: remembers a started server for vc_stop_started and vc_tail_logs.
vc__register() {
	VC__STARTED+=("$1")
	VC__LOGS+=("$2")
}

# vc__bg PIDFILE LOG NAME CMD...: runs CMD in the background in its own session (a Ctrl-C or
# a closing terminal reaches the scripts, whose traps decide), stdin from /dev/null, output
# appended to LOG; writes PIDFILE. setsid execs in place: $! is the server's own PID.
vc__bg() {
	local pidf=$1 logf=$2 name=$3 pid jobctl=0
	shift 3
	mkdir -p "$(dirname "$logf")" || return 1
	vc__log_mark "$logf" "$name"
	# With job control on (an interactive shell sourcing this), the child would lead its own
	# process group and setsid would fork, leaving $! pointing at an exited process.
	if [[ $- == *m* ]]; then
		jobctl=1
		set +m
	fi
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	pid=$!
	((jobctl == 0)) || set -m
	disown "$pid" 2>/dev/null || true
	if [[ -n ${VC__BG_NO_REGISTER:-} ]]; then
		VC__LOGS+=("$logf") # a group that registers itself as one (kafka)
	else
		vc__register "pid:$pidf" "$logf"
	fi
	vc__write_pidfile "$pidf" "$pid" "$name"
}

# vc__log_mark LOG NAME: a separator in LOG, which successive runs append to.
vc__log_mark() { printf '=== vcguard: starting %s at %(%F %T)T ===\n' "$2" -1 >>"$1"; }

# vc_tail_logs [LINES]: prints the tail of every log of what this shell started.
vc_tail_logs() {
	local n=${1:-40} f seen=' '
	for f in "${VC__LOGS[@]}"; do
		[[ $seen == *" $f "* || ! -f $f ]] && continue
		seen+="$f "
		printf '\n==> %s (last %s lines) <==\n' "$f" "$n" >&2
		tail -n "$n" "$f" >&2 || true
	done
}

# vc_install_deps: installs with apt-get the packages of VC_PACKAGES that are not installed.
vc_install_deps() {
	local pkg status
	local -a missing=()
	for pkg in "${VC_PACKAGES[@]}"; do
		# shellcheck disable=SC2016 # ${Status} is dpkg-query's field, not ours
		status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || missing+=("$pkg")
	done
	if ((${#missing[@]} == 0)); then
		vc__log "dependencies: all ${#VC_PACKAGES[@]} packages present"
		return 0
	fi
	vc__apt_install "${missing[@]}"
}

# vc__apt_install PKG...: apt-get update, then install PKG... Services that package scripts
# would start (redis-server, postgresql) are kept down with a policy-rc.d that denies every
# start, unless the machine already has one; we never use those system instances.
vc__apt_install() {
	local rc=0 made_policy=0
	local policy=/usr/sbin/policy-rc.d
	local -a sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || {
			vc__err "missing packages ($*) and not root"
			return 1
		}
		sudo=(sudo)
	fi
	vc__log "installing: $*"
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# vcguard: no service starts during package installation\nexit 101\n' |
			"${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 0755 "$policy" || return 1
		made_policy=1
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update || rc=$?
	if ((rc == 0)); then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			install "$@" || rc=$?
	fi
	if ((made_policy)); then
		"${sudo[@]}" rm -f "$policy" || true
	fi
	((rc == 0)) || vc__err "apt-get failed ($rc)"
	return "$rc"
}

# vc_build BUILD_DIR [CMAKE_ARGS...]: configures (RelWithDebInfo unless the arguments say
# otherwise) and builds the whole tree with one job per core.
vc_build() {
	local dir=${1:?usage: vc_build BUILD_DIR [cmake args...]}
	shift
	vc__log "configuring $dir"
	cmake -S "$VC_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2 || return 1
	vc__log "building $dir with $(nproc) jobs"
	cmake --build "$dir" -j"$(nproc)" >&2 || return 1
}

# vc_port_busy PORT: true when something listens on TCP PORT (any address).
vc_port_busy() {
	if command -v ss >/dev/null 2>&1; then
		[[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]
	else
		(: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# vc_free_port: prints a TCP port nobody listens on, from a random start in 20000-31999 (below
# Linux's ephemeral range, so outgoing connections do not take it meanwhile).
vc_free_port() {
	local port=$((20000 + RANDOM % 12000)) i
	for ((i = 0; i < 500; i++)); do
		if ! vc_port_busy "$port"; then
			printf '%s\n' "$port"
			return 0
		fi
		port=$((port + 1))
		((port < 32000)) || port=20000
	done
	vc__err "no free port found"
	return 1
}

# vc__need_free_port PORT WHAT
vc__need_free_port() {
	if vc_port_busy "$1"; then
		vc__err "$2: port $1 on this machine is already in use"
		return 1
	fi
}

# vc_start_redis DIR PORT: an in-memory redis-server on 127.0.0.1:PORT (no RDB, no AOF).
vc_start_redis() {
	local dir=${1:?usage: vc_start_redis DIR PORT} port=${2:?usage: vc_start_redis DIR PORT}
	local pidf logf
	pidf=$(vc__pidfile redis "$dir")
	logf=$(vc__logfile redis "$dir")
	vc__need_free_port "$port" redis || return 1
	mkdir -p "$dir" || return 1
	vc__log "starting redis on 127.0.0.1:$port"
	vc__bg "$pidf" "$logf" redis-server \
		redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
		--daemonize no --dir "$dir" --logfile '' || return 1
	if ! vc__wait_until 20 "$pidf" "redis on port $port" vc__redis_pong "$port"; then
		tail -n 30 "$logf" >&2 || true
		vc_stop_pidfile "$pidf" 5 || true
		return 1
	fi
}

vc__redis_pong() { [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

# vc__pg_bindir: prints the bin directory of the newest installed PostgreSQL.
vc__pg_bindir() {
	local d
	d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
		sort -V | tail -n 1)
	if [[ -z $d || ! -x $d/initdb ]]; then
		vc__err "no PostgreSQL server binaries under /usr/lib/postgresql (package postgresql)"
		return 1
	fi
	printf '%s\n' "$d"
}

# vc__as_pg CMD...: runs CMD as the `postgres` system user when we are root (the server refuses
# to run as root), else as ourselves.
vc__as_pg() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# vc_start_postgres DIR PORT [FSYNC]: a PostgreSQL cluster in DIR/pgdata, owned and run by the
# `postgres` system user when we are root (the server refuses root), on 127.0.0.1:PORT with trust auth for
# loopback development; creates it on first use, keeps it otherwise. FSYNC is on (default) or
# off (throw-away test clusters only). Creates database vcguard; exports VC_PG_URL and prints it.
# Call it directly, not inside $(...): a subshell would forget what it started.
vc_start_postgres() {
	local usage='usage: vc_start_postgres DIR PORT [on|off]'
	local dir=${1:?$usage} port=${2:?$usage} fsync=${3:-on}
	local bindir data sock pidf logf pid sync_opt=() sockopt
	[[ $fsync == on || $fsync == off ]] || {
		vc__err "$usage"
		return 1
	}
	bindir=$(vc__pg_bindir) || return 1
	if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
		vc__err "no 'postgres' system user (package postgresql)"
		return 1
	fi
	if [[ $dir =~ [[:space:]\'\"\\] ]]; then
		vc__err "postgres: directory '$dir' must not contain spaces, quotes or backslashes"
		return 1
	fi
	vc__need_free_port "$port" postgres || return 1
	mkdir -p "$dir" && chmod a+x "$dir" || return 1
	if ! vc__as_pg test -x "$dir"; then
		vc__err "postgres: user postgres cannot reach $dir: every parent directory needs" \
			"search permission for others (chmod o+x), or use a directory elsewhere"
		return 1
	fi
	data=$dir/pgdata
	sock=$dir/pgsock
	pidf=$(vc__pidfile postgres "$dir")
	logf=$(vc__logfile postgres "$dir")
	mkdir -p "$(dirname "$logf")" || return 1
	if ! vc__as_pg test -x "$(dirname "$logf")" 2>/dev/null; then
		# The server could not open a log there: it logs beside its data, and the usual name
		# points to it.
		ln -sfn "$dir/postgres.log" "$logf" || return 1
		logf=$dir/postgres.log
	fi
	mkdir -p "$data" "$sock" && touch "$logf" &&
		chmod 0700 "$data" || return 1
	if ((EUID == 0)); then
		chown postgres:postgres "$data" "$sock" "$logf" || return 1
	fi
	vc__log_mark "$logf" postgres
	# A Unix socket path is limited to 107 bytes; we connect over TCP, so a too deep DIR only
	# loses the socket.
	sockopt="-k '$sock'"
	if ((${#sock} > 90)); then
		vc__log "postgres: $sock is too long for a Unix socket; TCP only"
		sockopt="-k ''"
	fi
	if [[ ! -s $data/PG_VERSION ]]; then
		[[ $fsync == off ]] && sync_opt=(--no-sync)
		vc__log "postgres: initdb $data"
		if ! vc__as_pg "$bindir/initdb" -D "$data" -U postgres -A trust \
			-E UTF8 --locale=C.UTF-8 "${sync_opt[@]}" >>"$logf" 2>&1; then
			vc__err "initdb failed"
			tail -n 30 "$logf" >&2 || true
			return 1
		fi
	fi
	vc__log "starting postgres on 127.0.0.1:$port (fsync=$fsync)"
	# pg_ctl's messages and the server's (-l) both append to the log.
	# shellcheck disable=SC2094
	if ! vc__as_pg "$bindir/pg_ctl" -D "$data" -l "$logf" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port $sockopt -c fsync=$fsync" \
		start >>"$logf" 2>&1; then
		vc__err "pg_ctl start failed"
		tail -n 30 "$logf" >&2 || true
		return 1
	fi
	pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null) || pid=''
	if ! [[ $pid =~ ^[0-9]+$ ]] || ! vc__write_pidfile "$pidf" "$pid" postgres; then
		vc__err "postgres started but $data/postmaster.pid names no live process"
		return 1
	fi
	vc__register "pg:$dir" "$logf"
	if ! vc__wait_until 30 "$pidf" "postgres on port $port" \
		"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres ||
		! vc__pg_ensure_db "$port" vcguard; then
		tail -n 30 "$logf" >&2 || true
		vc_stop_postgres "$dir" 10 || true
		return 1
	fi
	export VC_PG_URL="postgresql://postgres@127.0.0.1:$port/vcguard"
	printf '%s\n' "$VC_PG_URL"
}

# vc__pg_ensure_db PORT NAME: creates database NAME unless it exists.
vc__pg_ensure_db() {
	local have
	have=$(psql -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$2'") || {
		vc__err "postgres: cannot query databases"
		return 1
	}
	[[ $have == 1 ]] && return 0
	vc__log "postgres: creating database $2"
	createdb -h 127.0.0.1 -p "$1" -U postgres "$2" || {
		vc__err "postgres: createdb $2 failed"
		return 1
	}
}

# vc_stop_postgres DIR [TIMEOUT]: `pg_ctl stop -m fast` as postgres, only when the postmaster
# recorded in our PID file is still ours; falls back to signals. Removes the PID file.
vc_stop_postgres() {
	local dir=${1:?usage: vc_stop_postgres DIR [TIMEOUT]} timeout=${2:-15}
	local pidf bindir cur=''
	pidf=$(vc__pidfile postgres "$dir")
	[[ -f $pidf ]] || return 0
	if ! vc_pidfile_alive "$pidf"; then
		vc__log "postgres: not running (stale $pidf removed)"
		rm -f "$pidf"
		return 0
	fi
	cur=$(head -n 1 "$dir/pgdata/postmaster.pid" 2>/dev/null) || cur=''
	bindir=$(vc__pg_bindir) || bindir=''
	if [[ -n $bindir && $cur == "$(vc__pidfile_pid "$pidf")" ]]; then
		vc__log "stopping postgres (pid $cur, fast)"
		if vc__as_pg "$bindir/pg_ctl" -D "$dir/pgdata" stop -m fast -w \
			-t "$timeout" >/dev/null 2>&1; then
			rm -f "$pidf"
			return 0
		fi
		vc__log "postgres: pg_ctl stop failed; signalling"
	fi
	vc_stop_pidfile "$pidf" "$timeout"
}

# vc_postgres_ctl DIR PORT stop|start [FSYNC]: stops, or starts again, a cluster that
# vc_start_postgres started in DIR on PORT, for fault tests (PostgreSQL down mid-load; tests/run
# exports it as VC_TEST_PG_CTL). Keeps the PID file current, so vc_stop_started still stops a
# cluster the test restarted, and finds nothing to do for one it left stopped.
vc_postgres_ctl() {
	local usage='usage: vc_postgres_ctl DIR PORT stop|start [on|off]'
	local dir=${1:?$usage} port=${2:?$usage} action=${3:?$usage} fsync=${4:-off}
	local bindir pidf logf pid sock sockopt
	bindir=$(vc__pg_bindir) || return 1
	pidf=$(vc__pidfile postgres "$dir")
	logf=$(vc__logfile postgres "$dir")
	case $action in
	stop)
		vc__log "postgres: stopping (fault test)"
		vc__as_pg "$bindir/pg_ctl" -D "$dir/pgdata" stop -m fast -w -t 30 >>"$logf" 2>&1
		;;
	start)
		sock=$dir/pgsock
		sockopt="-k '$sock'"
		((${#sock} <= 90)) || sockopt="-k ''"
		vc__log "postgres: starting again on 127.0.0.1:$port (fault test)"
		# shellcheck disable=SC2094
		vc__as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -l "$logf" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port $sockopt -c fsync=$fsync" \
			start >>"$logf" 2>&1 || return 1
		pid=$(head -n 1 "$dir/pgdata/postmaster.pid" 2>/dev/null) || pid=''
		[[ $pid =~ ^[0-9]+$ ]] && vc__write_pidfile "$pidf" "$pid" postgres
		;;
	*)
		vc__err "$usage"
		return 1
		;;
	esac
}

# vc_start_service NAME DIR CMD...: runs CMD in the background with the current environment;
# PID file NAME.pid, log NAME.log.
vc_start_service() {
	local name=${1:?usage: vc_start_service NAME DIR CMD...} dir=${2:?usage: vc_start_service NAME DIR CMD...}
	shift 2
	(($# > 0)) || {
		vc__err "vc_start_service $name: no command"
		return 1
	}
	command -v -- "$1" >/dev/null 2>&1 || {
		vc__err "$name: $1 not found (not built?)"
		return 1
	}
	vc__log "starting $name: $*"
	vc__bg "$(vc__pidfile "$name" "$dir")" "$(vc__logfile "$name" "$dir")" "$name" "$@"
}

# vc_start_devbroker DIR BIN: the embedded Kafka mock cluster (3 brokers, VC_PARTITIONS
# partitions). BIN writes DIR/bootstrap.txt atomically once its topics exist; sets VC_BOOTSTRAP
# to its content and prints it; VC_DEVBROKER_CONTROL is its fault-control socket. Call it directly, not inside $(...).
vc_start_devbroker() {
	local dir=${1:?usage: vc_start_devbroker DIR BIN} bin=${2:?usage: vc_start_devbroker DIR BIN}
	local boot=$dir/bootstrap.txt pidf
	mkdir -p "$dir" && rm -f "$boot" || return 1
	pidf=$(vc__pidfile devbroker "$dir")
	vc_start_service devbroker "$dir" "$bin" --brokers 3 --partitions "${VC_PARTITIONS:-6}" \
		--bootstrap-file "$boot" --control "$dir/control.sock" || return 1
	if ! vc__wait_until 30 "$pidf" "devbroker bootstrap file" test -s "$boot"; then
		tail -n 30 "$(vc__logfile devbroker "$dir")" >&2 || true
		vc_stop_pidfile "$pidf" 5 || true
		return 1
	fi
	VC_BOOTSTRAP=$(cat "$boot") || return 1
	VC_DEVBROKER_CONTROL=$dir/control.sock
	printf '%s\n' "$VC_BOOTSTRAP"
}

vc__http_ok() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1") == 200 ]]; }

# vc_wait_http URL SECONDS: waits until URL answers 200. On failure (or when something this
# shell started dies meanwhile) prints the logs' tails.
vc_wait_http() {
	local url=${1:?usage: vc_wait_http URL SECONDS} secs=${2:?usage: vc_wait_http URL SECONDS}
	local i dead
	vc__log "waiting for $url (up to ${secs}s)"
	for ((i = 0; i < secs * 10; i++)); do
		if vc__http_ok "$url"; then
			return 0
		fi
		if dead=$(vc__first_dead); then
			vc__err "$dead exited while waiting for $url"
			vc_tail_logs 40
			return 1
		fi
		sleep 0.1
	done
	vc__err "$url did not answer 200 within ${secs}s (last: $(curl -s -o /dev/null \
		-w '%{http_code}' --max-time 2 "$url" || true))"
	vc_tail_logs 40
	return 1
}

# vc__first_dead: prints the PID file of the first started process that is no longer alive.
vc__first_dead() {
	local e f
	for e in "${VC__STARTED[@]}"; do
		case $e in
		pid:*) f=${e#pid:} ;;
		pg:*) f=$(vc__pidfile postgres "${e#pg:}") ;;
		kafka:*)
			if f=$(vc__kafka_first_dead "${e#kafka:}"); then
				printf '%s\n' "$f"
				return 0
			fi
			continue
			;;
		esac
		if [[ -f $f ]] && ! vc_pidfile_alive "$f"; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	return 1
}

# vc_stop_pidfile FILE [TIMEOUT]: SIGTERM to the process in FILE if it is still the one we
# started, SIGKILL after TIMEOUT seconds (default 15); removes FILE. No file: nothing to do.
vc_stop_pidfile() {
	local file=${1:?usage: vc_stop_pidfile FILE [TIMEOUT]} timeout=${2:-15}
	local pid name i
	[[ -f $file ]] || return 0
	pid=$(vc__pidfile_pid "$file")
	name=$(sed -n 3p "$file")
	if ! vc_pidfile_alive "$file"; then
		vc__log "${name:-$file}: not running (stale $file removed)"
		rm -f "$file"
		return 0
	fi
	vc__log "stopping ${name:-?} (pid $pid)"
	# A process a fault test paused (SIGSTOP) would not act on SIGTERM until continued.
	kill -CONT "$pid" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		vc_pidfile_alive "$file" || break
		sleep 0.1
	done
	if vc_pidfile_alive "$file"; then
		vc__log "${name:-?} (pid $pid) still running after ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			vc_pidfile_alive "$file" || break
			sleep 0.1
		done
		if vc_pidfile_alive "$file"; then
			vc__err "${name:-?} (pid $pid) survives SIGKILL"
			return 1
		fi
	fi
	rm -f "$file"
}

# vc_stop_started: stops, newest first, everything this shell started. Keeps going past
# failures; returns non-zero if any stop failed.
vc_stop_started() {
	local i e rc=0
	for ((i = ${#VC__STARTED[@]} - 1; i >= 0; i--)); do
		e=${VC__STARTED[i]}
		case $e in
		pid:*) vc_stop_pidfile "${e#pid:}" || rc=1 ;;
		pg:*) vc_stop_postgres "${e#pg:}" || rc=1 ;;
		kafka:*) vc_stop_kafka "${e#kafka:}" || rc=1 ;;
		esac
	done
	VC__STARTED=()
	return "$rc"
}

# shellcheck source=SCRIPTDIR/kafka.sh
. "$VC_ROOT/compose/lib/kafka.sh"
