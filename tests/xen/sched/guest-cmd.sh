# Sourced by the sched test's dom0 and bench guest (/usr/lib/hu/guest-cmd.sh)
# and by guest_cmd_test.sh: the command channel between them, in xenstore.
# dom0 writes /local/domain/D/data/hu/run = "N ACTION ARGS"; the guest runs
# it and writes data/hu/done = "N rc=RC LAST-LINE". Commands are numbered
# per domain from 1, so a guest created again must be talked to from 1.

# dom0: cmd_domain D: the bench guest is now domain D, its count afresh.
cmd_domain() { dom=$1 n=0; }
cmd_domain ""

# dom0: guest ACTION ARGS: has the bench guest run it; its last output line
# in /tmp/guest.out (GUEST_OUT), its exit status as ours. A guest that is
# gone sets died=1 at once (the caller may create it again); one that does
# not answer in GUEST_WAIT seconds (900) fails. Needs say and uptime_s
# (e2e-lib.sh) and xl. guest_send and guest_wait are its two halves, for
# a caller that acts while the guest runs the command.
guest() { guest_send "$@" && guest_wait; }
guest_send() {
	n=$((n + 1)) g_cmd=$*
	xenstore-write "/local/domain/$dom/data/hu/run" "$n $*"
}
guest_wait() {
	g_out=${GUEST_OUT:-/tmp/guest.out}
	deadline=$(($(uptime_s) + ${GUEST_WAIT:-900}))
	while :; do
		d=$(xenstore-read "/local/domain/$dom/data/hu/done" 2>/dev/null)
		case "$d" in "$n "*) break ;; esac
		if [ "$(xl domid hu-bench 2>/dev/null)" != "$dom" ]; then
			# shellcheck disable=SC2034 # read by the caller
			died=1
			echo "hu-bench (domain $dom) ended during '$g_cmd'" >"$g_out"
			say "guest $g_cmd: $(cat "$g_out")"
			return 1
		fi
		if [ "$(uptime_s)" -ge "$deadline" ]; then
			echo "no answer to '$g_cmd' after ${GUEST_WAIT:-900} s" >"$g_out"
			return 1
		fi
		sleep 0.5
	done
	echo "${d#* rc=* }" >"$g_out"
	say "guest $g_cmd: $(cat "$g_out")"
	case "$d" in "$n rc=0 "*) return 0 ;; *) return 1 ;; esac
}

# guest: serve RUN: forever, the next command in sequence, through the
# function RUN (ACTION ARGS; output on stdout, kept in SERVE_OUT); its
# output on ours, each line prefixed "hu-sched: ". An out-of-sequence
# command is said once and ignored, so that dom0's wait explains itself.
serve() {
	s_run=$1 s_n=0 s_ignored='' s_out=${SERVE_OUT:-/tmp/out}
	while :; do
		cmd=$(xenstore-read data/hu/run 2>/dev/null)
		case "$cmd" in
		"$((s_n + 1)) "*) ;;
		"" | "$s_n "*)
			sleep 0.2
			continue
			;;
		*)
			[ "$cmd" = "$s_ignored" ] || echo "hu-sched: ignored '$cmd': the next command is $((s_n + 1))"
			s_ignored=$cmd
			sleep 0.2
			continue
			;;
		esac
		s_n=$((s_n + 1))
		# shellcheck disable=SC2086 # the action's words
		set -- ${cmd#* }
		echo "hu-sched: run $s_n: $*"
		"$s_run" "$@" >"$s_out" 2>&1
		rc=$?
		sed 's/^/hu-sched: /' "$s_out"
		xenstore-write data/hu/done "$s_n rc=$rc $(tail -1 "$s_out")"
	done
}
