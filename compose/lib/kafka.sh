# shellcheck shell=bash
# compose/lib/kafka.sh: Apache Kafka (KRaft) on loopback, for tests/run, the fault scenarios
# and `compose/local/up --kafka apache`. Sourced by compose/lib/stack.sh, never run.
#
#   vc_kafka_dist                    resolves the broker (compose/kafka/pom.xml) once; prints
#                                    the directory of its jars
#   vc_start_kafka DIR NODES [sasl]  formats and starts a cluster of 1 (combined broker and
#                                    controller) or 3 nodes; exports VC_KAFKA_BOOTSTRAP
#                                    (VC_KAFKA_KEEP=1: restart one kept in DIR)
#   vc_stop_kafka DIR                stops all its nodes at once
#   vc_kafka_node DIR N ACTION       one node's fault: stop, kill, pause, resume, start
#
# The jars come from Maven Central through `mvn dependency:copy-dependencies` into
# $VC_KAFKA_CACHE (default ~/.cache/vcguard/kafka-VERSION), keyed by the POM's SHA-256: a
# later run with the same POM starts no Maven at all. Java is Debian's default JRE.
#
# Each node is one JVM with a fixed heap (VC_KAFKA_HEAP, default 512m), its own data
# directory DIR/node-N/data and log DIR/node-N/kafka.log (or $VC_LOG_DIR/kafka-N.log), and a
# PID file kafka-N.pid like every other server here, so vc_stop_started stops exactly what
# was started. With 3 nodes the internal topics get replication factor 3 and
# min.insync.replicas 2, as production would; with 1 node, 1 and 1.
#
# `sasl` adds a SASL_SSL listener (SCRAM-SHA-512) on every node, with a CA and a broker
# certificate made here with openssl and one SCRAM user; it exports VC_KAFKA_SASL_BOOTSTRAP,
# VC_KAFKA_CA (the CA certificate, PEM), VC_KAFKA_SASL_USER and VC_KAFKA_SASL_PASSWORD. The
# brokers talk to each other and to the controllers in plaintext on loopback.

# vc__kafka_pom / vc__kafka_version: the POM and the Kafka version it pins.
vc__kafka_pom() { printf '%s/compose/kafka/pom.xml\n' "$VC_ROOT"; }
vc__kafka_version() {
	sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$(vc__kafka_pom)" | head -n 1
}

# vc__kafka_tools: java and mvn, from Debian when missing (default-jre-headless, maven).
vc__kafka_tools() {
	local -a missing=()
	command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
	command -v mvn >/dev/null 2>&1 || missing+=(maven)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	((${#missing[@]} == 0)) || vc__apt_install "${missing[@]}"
}

# vc_kafka_dist: prints the directory holding the broker's jars, resolving them when the
# cache does not hold this POM's set yet (offline first: ~/.m2 may have them already).
vc_kafka_dist() {
	local ver sum cache libs stamp tmp
	vc__kafka_tools || return 1
	ver=$(vc__kafka_version)
	[[ -n $ver ]] || {
		vc__err "kafka: no <kafka.version> in $(vc__kafka_pom)"
		return 1
	}
	sum=$(sha256sum "$(vc__kafka_pom)" | cut -d' ' -f1)
	cache=${VC_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vcguard/kafka-$ver}
	libs=$cache/libs
	stamp=$cache/pom.sha256
	if [[ -f $stamp && $(cat "$stamp") == "$sum" ]] && compgen -G "$libs/kafka_2.13-*.jar" >/dev/null; then
		printf '%s\n' "$libs"
		return 0
	fi
	mkdir -p "$cache" || return 1
	tmp=$(mktemp -d "$cache/libs.XXXXXX") || return 1
	vc__log "kafka: resolving Apache Kafka $ver with Maven into $cache"
	if ! mvn -B -q -o -f "$(vc__kafka_pom)" dependency:copy-dependencies \
		-DoutputDirectory="$tmp" >"$cache/mvn.log" 2>&1; then
		if ! mvn -B -q -f "$(vc__kafka_pom)" dependency:copy-dependencies \
			-DoutputDirectory="$tmp" >>"$cache/mvn.log" 2>&1; then
			vc__err "kafka: Maven could not resolve the broker (log: $cache/mvn.log)"
			tail -n 20 "$cache/mvn.log" >&2 || true
			rm -rf -- "$tmp"
			return 1
		fi
	fi
	rm -rf -- "$libs" && mv "$tmp" "$libs" && printf '%s\n' "$sum" >"$stamp" || return 1
	printf '%s\n' "$libs"
}

# vc__kafka_cluster_id: 16 random bytes, base64url without padding (Kafka's Uuid format).
vc__kafka_cluster_id() {
	head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# vc__kafka_tls DIR: a CA and a broker certificate for 127.0.0.1/localhost in DIR.
vc__kafka_tls() {
	local d=$1
	mkdir -p "$d" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=vcguard-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 &&
		openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
			-keyout "$d/broker.key.pkcs1" -out "$d/broker.csr" >/dev/null 2>&1 &&
		openssl pkcs8 -topk8 -nocrypt -in "$d/broker.key.pkcs1" -out "$d/broker.key" &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext" &&
		openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 30 -extfile "$d/san.ext" -out "$d/broker.pem" >/dev/null 2>&1 &&
		cat "$d/broker.key" "$d/broker.pem" >"$d/broker-keystore.pem" || {
		vc__err "kafka: openssl could not make the test certificates in $d"
		return 1
	}
}

# vc__kafka_props FILE ID NODES PORT CPORT VOTERS [SASLPORT TLSDIR]: one node's configuration.
vc__kafka_props() {
	local f=$1 id=$2 nodes=$3 port=$4 cport=$5 voters=$6 sport=${7:-} tls=${8:-}
	local rf=1 isr=1 listeners adv map
	((nodes >= 3)) && rf=3 isr=2
	listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
	adv="PLAINTEXT://127.0.0.1:$port"
	map="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
	if [[ -n $sport ]]; then
		listeners+=",SASL_SSL://127.0.0.1:$sport"
		adv+=",SASL_SSL://127.0.0.1:$sport"
		map+=",SASL_SSL:SASL_SSL"
	fi
	cat >"$f" <<EOF
# written by compose/lib/kafka.sh
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$adv
listener.security.protocol.map=$map
inter.broker.listener.name=PLAINTEXT
log.dirs=$(dirname "$f")/data
# Topics are provisioned by vc-admin topics ensure, never created by a client's request.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
# A test group starts consuming at once instead of after the 3 s production default.
group.initial.rebalance.delay.ms=${VC_KAFKA_INITIAL_REBALANCE_DELAY_MS:-0}
EOF
	if [[ -n $sport ]]; then
		cat >>"$f" <<EOF
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker-keystore.pem
EOF
	fi
}

# vc__kafka_launch DIR N LIBS: starts node N of the cluster in DIR (formatted already).
vc__kafka_launch() {
	local dir=$1 n=$2 libs=$3
	VC__BG_NO_REGISTER=1 vc__bg "$(vc__pidfile "kafka-$n" "$dir")" "$(vc__logfile "kafka-$n" "$dir/node-$n")" \
		"kafka-$n" java -Xms"${VC_KAFKA_HEAP:-512m}" -Xmx"${VC_KAFKA_HEAP:-512m}" \
		-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Dlog4j.configuration="file:$VC_ROOT/compose/kafka/log4j.properties" \
		-cp "$libs/*" kafka.Kafka "$dir/node-$n/server.properties"
}

# vc__kafka_serves BOOTSTRAP NODES: true once the cluster's metadata lists NODES brokers.
vc__kafka_serves() {
	kcat -L -b "$1" -m 2 -t __vc_probe_none 2>/dev/null | grep -q "^ $2 brokers:"
}

# vc__kafka_free_ports COUNT TAKEN: prints a port P such that P..P+COUNT-1 are all free and
# none is within COUNT of a port in TAKEN (the nodes chosen before, not listening yet). A
# node's listener, controller (and SASL) ports are consecutive; vc_free_port alone only
# vouches for the first, and a server started just before may hold the next.
vc__kafka_free_ports() {
	local count=$1 taken=$2 p t j try ok
	for ((try = 0; try < 50; try++)); do
		p=$(vc_free_port) || return 1
		ok=1
		for ((j = 1; j < count; j++)); do
			! vc_port_busy $((p + j)) || ok=0
		done
		for t in $taken; do
			((p + count <= t || p >= t + count)) || ok=0
		done
		if ((ok)); then
			printf '%s\n' "$p"
			return 0
		fi
	done
	vc__err "kafka: no $count consecutive free ports found"
	return 1
}

# vc__kafka_format DIR NODES LIBS [sasl]: a new cluster in DIR (emptied first): ports, each
# node's configuration, formatted storage; DIR/bootstrap (and DIR/sasl.env) record what a
# later start needs. Ports come from VC_KAFKA_PORT when set (node N: VC_KAFKA_PORT+10(N-1),
# its controller +1, its SASL_SSL listener +2), else free ones.
vc__kafka_format() {
	local dir=$1 nodes=$2 libs=$3 sasl=${4:-}
	local cid voters='' bootstrap='' sboot='' i tls='' user=vcguard pass=''
	local -a ports=() cports=() sports=() fmt_pids=()
	rm -rf -- "$dir" && mkdir -p "$dir" || return 1
	for ((i = 1; i <= nodes; i++)); do
		if [[ -n ${VC_KAFKA_PORT:-} ]]; then
			ports[i]=$((VC_KAFKA_PORT + 10 * (i - 1)))
			vc__need_free_port "${ports[i]}" "kafka-$i" || return 1
			vc__need_free_port $((ports[i] + 1)) "kafka-$i controller" || return 1
		else
			ports[i]=$(vc__kafka_free_ports "$([[ -n $sasl ]] && echo 3 || echo 2)" \
				"${ports[*]:-}") || return 1
		fi
		cports[i]=$((ports[i] + 1))
		[[ -z $sasl ]] || sports[i]=$((ports[i] + 2))
		voters+="${voters:+,}$i@127.0.0.1:${cports[i]}"
		bootstrap+="${bootstrap:+,}127.0.0.1:${ports[i]}"
		[[ -z $sasl ]] || sboot+="${sboot:+,}127.0.0.1:${sports[i]}"
	done
	if [[ -n $sasl ]]; then
		tls=$dir/tls
		vc__kafka_tls "$tls" || return 1
		pass=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
	fi
	cid=$(vc__kafka_cluster_id)
	vc__log "kafka: formatting $nodes node(s) in $dir (Apache Kafka $(vc__kafka_version), cluster $cid)"
	for ((i = 1; i <= nodes; i++)); do
		mkdir -p "$dir/node-$i" || return 1
		vc__kafka_props "$dir/node-$i/server.properties" "$i" "$nodes" "${ports[i]}" \
			"${cports[i]}" "$voters" "${sports[i]:-}" "$tls" || return 1
		local -a scram=()
		[[ -z $sasl ]] || scram=(--add-scram "SCRAM-SHA-512=[name=\"$user\",password=\"$pass\"]")
		java -cp "$libs/*" -Dlog4j.configuration="file:$VC_ROOT/compose/kafka/log4j.properties" \
			kafka.tools.StorageTool format --cluster-id="$cid" -c "$dir/node-$i/server.properties" \
			"${scram[@]}" >"$dir/node-$i/format.log" 2>&1 &
		fmt_pids+=($!)
	done
	for i in "${!fmt_pids[@]}"; do
		wait "${fmt_pids[i]}" || {
			vc__err "kafka: formatting node $((i + 1)) failed"
			cat "$dir/node-$((i + 1))/format.log" >&2 || true
			return 1
		}
	done
	printf '%s\n' "$bootstrap" >"$dir/bootstrap" && printf '%s\n' "$nodes" >"$dir/nodes" || return 1
	if [[ -n $sasl ]]; then
		(umask 077 && printf 'VC_KAFKA_SASL_BOOTSTRAP=%s\nVC_KAFKA_CA=%s\nVC_KAFKA_SASL_USER=%s\nVC_KAFKA_SASL_PASSWORD=%s\n' \
			"$sboot" "$tls/ca.pem" "$user" "$pass" >"$dir/sasl.env") || return 1
	fi
}

# vc_start_kafka DIR NODES [sasl]: formats DIR anew and starts the cluster, or, with
# VC_KAFKA_KEEP=1 and a cluster of NODES already formatted there, starts it again on its data.
# Waits until it serves metadata. Call it directly, not inside $(...). Exports
# VC_KAFKA_BOOTSTRAP (and the VC_KAFKA_SASL_* of sasl) and prints the bootstrap list.
vc_start_kafka() {
	local usage='usage: vc_start_kafka DIR 1|3 [sasl]'
	local dir=${1:?$usage} nodes=${2:?$usage} sasl=${3:-} libs bootstrap i line
	[[ $nodes == 1 || $nodes == 3 ]] || {
		vc__err "$usage"
		return 1
	}
	libs=$(vc_kafka_dist) || return 1
	if [[ ${VC_KAFKA_KEEP:-0} == 1 && -s $dir/bootstrap && $(cat "$dir/nodes" 2>/dev/null) == "$nodes" &&
		-s $dir/node-1/data/meta.properties ]] && { [[ -z $sasl ]] || [[ -s $dir/sasl.env ]]; }; then
		vc__log "kafka: starting the $nodes-node cluster kept in $dir"
	else
		vc__kafka_format "$dir" "$nodes" "$libs" "$sasl" || return 1
	fi
	bootstrap=$(cat "$dir/bootstrap") && printf '%s\n' "$libs" >"$dir/libs" || return 1
	vc__register "kafka:$dir" "$dir/nodes"
	for ((i = 1; i <= nodes; i++)); do
		vc__log "starting kafka-$i ($(sed -n 's/^listeners=//p' "$dir/node-$i/server.properties"))"
		vc__kafka_launch "$dir" "$i" "$libs" || return 1
	done
	if ! vc__wait_until 120 "$(vc__pidfile kafka-1 "$dir")" "kafka cluster at $bootstrap" \
		vc__kafka_serves "$bootstrap" "$nodes"; then
		tail -n 40 "$(vc__logfile kafka-1 "$dir/node-1")" >&2 || true
		return 1
	fi
	export VC_KAFKA_BOOTSTRAP=$bootstrap VC_KAFKA_DIR=$dir
	if [[ -n $sasl ]]; then
		while IFS= read -r line; do
			# shellcheck disable=SC2163 # NAME=value lines this file wrote itself
			export "$line"
		done <"$dir/sasl.env"
	fi
	vc__log "kafka: $nodes node(s) serving at $bootstrap"
	printf '%s\n' "$bootstrap"
}

# vc_stop_kafka DIR [TIMEOUT]: stops every node of the cluster in DIR at once. One by one,
# the last nodes would wait for a controller quorum that has already gone; together, each
# shuts down on its own. SIGKILL after TIMEOUT (default 30) seconds.
vc_stop_kafka() {
	local dir=${1:?usage: vc_stop_kafka DIR [TIMEOUT]} timeout=${2:-30} n i f rc=0
	local -a live=()
	n=$(cat "$dir/nodes" 2>/dev/null) || return 0
	for ((i = 1; i <= n; i++)); do
		f=$(vc__pidfile "kafka-$i" "$dir")
		if vc_pidfile_alive "$f"; then
			live+=("$f")
			kill -CONT "$(vc__pidfile_pid "$f")" 2>/dev/null || true
			kill -TERM "$(vc__pidfile_pid "$f")" 2>/dev/null || true
		else
			rm -f "$f"
		fi
	done
	((${#live[@]} > 0)) || return 0
	vc__log "stopping kafka (${#live[@]} node(s))"
	for f in "${live[@]}"; do
		for ((i = 0; i < timeout * 10; i++)); do
			vc_pidfile_alive "$f" || break
			sleep 0.1
		done
		timeout=1 # the others had the same time already
		if vc_pidfile_alive "$f"; then
			vc_stop_pidfile "$f" 5 || rc=1
		else
			rm -f "$f"
		fi
	done
	return "$rc"
}

# vc__kafka_first_dead DIR: prints the PID file of a node that died (one a fault test stopped
# on purpose has no PID file, and does not count).
vc__kafka_first_dead() {
	local n i f
	n=$(cat "$1/nodes" 2>/dev/null) || return 1
	for ((i = 1; i <= n; i++)); do
		f=$(vc__pidfile "kafka-$i" "$1")
		if [[ -f $f ]] && ! vc_pidfile_alive "$f"; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	return 1
}

# vc_kafka_node DIR N stop|kill|pause|resume|start: a fault on node N of the cluster that
# vc_start_kafka started in DIR. stop is SIGTERM (a controlled shutdown), kill SIGKILL,
# pause/resume SIGSTOP/SIGCONT; start launches the node again on its kept data.
vc_kafka_node() {
	local usage='usage: vc_kafka_node DIR N stop|kill|pause|resume|start'
	local dir=${1:?$usage} n=${2:?$usage} action=${3:?$usage} pidf pid
	pidf=$(vc__pidfile "kafka-$n" "$dir")
	case $action in
	stop) vc_stop_pidfile "$pidf" 60 ;;
	kill | pause | resume)
		vc_pidfile_alive "$pidf" || {
			vc__err "kafka-$n is not running"
			return 1
		}
		pid=$(vc__pidfile_pid "$pidf")
		vc__log "kafka-$n (pid $pid): $action"
		case $action in
		kill) kill -KILL "$pid" && vc__wait_until 10 '' "kafka-$n to die" \
			eval '! vc_pidfile_alive "$pidf"' && rm -f "$pidf" ;;
		pause) kill -STOP "$pid" ;;
		resume) kill -CONT "$pid" ;;
		esac
		;;
	start)
		vc_pidfile_alive "$pidf" && return 0
		vc__kafka_launch "$dir" "$n" "$(cat "$dir/libs")"
		;;
	*)
		vc__err "$usage"
		return 1
		;;
	esac
}
