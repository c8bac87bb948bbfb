# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# redis-restart: Redis killed with -9 and, 10 s later, started again empty on the same port
# (no persistence, like the test servers). The gateway keeps accepting (the duplicate check
# and the rate limiter fall back, design.md §3/§5), the detectors hold their messages until
# Redis answers and then write every result. Results written before the crash are gone from
# Redis with it (PostgreSQL keeps them: the audit excuses exactly those).
FAULT="Redis kill -9, restarted empty on the same port 10 s later"
VCF_OUTAGE_S=${VCF_OUTAGE_S:-10}

fault() {
	local pid
	pid=$(vcf_pid redis)
	vcf_log "kill -9 redis $pid"
	kill -KILL "$pid" || return 1
	VCF_REPLACED[redis]=restarted
	VCF_REDIS_LOST_BEFORE_MS=$(vcf_now_ms)
	vcf_wait 10 "killed redis gone" eval '! vcf_alive redis' || return 1
	vcf_pause "$VCF_OUTAGE_S"
	vc_start_redis "$VCF_TMP/redis" "$VCF_REDIS_PORT" || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
	vcf_longpoll_probe_start
}

# Besides the audit: the gateway's result store and subscriber come back by themselves
# (?wait= answered inline again); how long that took is recorded.
check() {
	local k=$VCF_TMP/audit.kv
	vcf_longpoll_check "$VCF_FAULT_END_MS"
	vcf_note "results lost from Redis by its restart (kept in PostgreSQL): $(vcf_kv "$k" redis_missing_excused)"
}
