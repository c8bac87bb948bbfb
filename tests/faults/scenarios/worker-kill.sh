# shellcheck shell=bash disable=SC2034,SC2154 # sets and reads variables of lib.sh
# worker-kill: kill -9 of one detector worker process under load. Its supervisor must restart
# it by itself; the group redelivers what the dead worker had not finished (design.md §6).
FAULT="kill -9 of one detector worker"

VCF_KILLED_WORKER=''

fault() {
	local n
	VCF_KILLED_WORKER=$(vcf_worker_pids | head -n 1)
	[[ -n $VCF_KILLED_WORKER ]] || return 1
	vcf_log "kill -9 detector worker $VCF_KILLED_WORKER"
	kill -KILL "$VCF_KILLED_WORKER" || return 1
	VCF_REPLACED[worker0]=killed
	for n in "${!VCF_PID0[@]}"; do
		[[ ${VCF_PID0[$n]} == "$VCF_KILLED_WORKER" ]] && VCF_REPLACED["$n"]=killed
	done
	VCF_FAULT_END_MS=$(vcf_now_ms)
}

# The supervisor (same PID) restarted the worker: two workers again, the killed one gone.
check() {
	local now
	now=" $(vcf_worker_pids | tr '\n' ' ') "
	[[ $now != *" $VCF_KILLED_WORKER "* ]] || vcf_fail "killed worker $VCF_KILLED_WORKER still listed"
	((${VCF_WORKER_RESTARTS:-0} >= 1)) || vcf_fail "the supervisor reports no worker restart"
	vcf_note "supervisor restarted the worker: restarts=${VCF_WORKER_RESTARTS:-0}, workers now:$now"
}
