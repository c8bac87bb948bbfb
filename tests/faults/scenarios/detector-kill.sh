# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# detector-kill: kill -9 of the whole detector (supervisor and both workers at once), then
# the operator starts a new detector instance (allowed: that is a new instance, not a repair).
# Nothing it had acknowledged-but-unfinished may be lost: the group redelivers it to the new
# instance (design.md §6).
FAULT="kill -9 of the detector supervisor and its workers; a new detector is started"

VCF_KILLED=''

fault() {
	local n sup workers
	sup=$(vcf_pid detector)
	workers=$(vcf_worker_pids | tr '\n' ' ')
	[[ -n $sup && -n $workers ]] || return 1
	vcf_log "kill -9 detector supervisor $sup and workers $workers"
	# shellcheck disable=SC2086 # the PIDs are words
	kill -KILL "$sup" $workers || return 1
	VCF_KILLED="$sup $workers"
	VCF_REPLACED[detector]=gone
	for n in "${!VCF_PID0[@]}"; do
		[[ $n == worker* ]] && VCF_REPLACED["$n"]=killed
	done
	vcf_wait 10 "killed detector gone" eval '! vcf_alive detector' || return 1
	vc_stop_pidfile "$(vcf_pidfile detector)" # gone on purpose: forget its PID file
	# The new instance takes over once the group forgets the dead members (session timeout).
	vcf_start_detector detector-2 || return 1
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

check() {
	local p
	for p in $VCF_KILLED; do
		! kill -0 "$p" 2>/dev/null || vcf_fail "killed detector process $p still runs"
	done
	vcf_note "new detector instance, workers: $(vcf_worker_pids | tr '\n' ' ')"
}
