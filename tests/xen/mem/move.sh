# Sourced by tests/xen/mem/dom0-init (issue #17): hu-mem, with its
# mem.protect program guarding the hu_protect page and its mem.reclaim
# program (part of whose reclaimed frames are still populate-on-demand
# entries Xen owes the domain), moves by xl save -> xl restore, then by xl
# migrate to localhost. Both arrive paused, so what Xen holds is checked
# before the guest runs: the guarded frame read-only in the p2m (its
# neighbour not), the programs, regions and map contents as they left.
# Then the guest writes the page from its expected writer and from
# elsewhere, and the program's counts and its log in guest memory go on
# from where they were. Uses dom0-init's helpers and variables (dom, ctl,
# xctl, guest, memcheck, map_words, dom_mib, number).

# The guarded frame's and its neighbour's p2m types: "ram_ro ram_rw" while
# the range is protected (xen-patches/0012 makes it p2m_ram_ro on AMD).
frame_types() { # DOM
	xctl p2m-type --dom "$1" --gfn "$gfn" --count 2 &&
		sed -n 's/.* type=\([a-z_0-9 ]*\)$/\1/p' /tmp/xctl.out | tr '\n' ' ' | sed 's/ $//'
}

# Xen's own account of the domain's memory (debug key q): pages, and its
# populate-on-demand entries (frames it does not hold but owes) and cache.
# Sets pod_entries.
pod_state() { # DOM WHEN
	xl debug-keys q
	xl dmesg | awk -v d="General information for domain $1:" '
		/dumping domain info/ { found = 0; out = "" }
		index($0, d) { found = 1; next }
		found && /(General|VCPU) information/ { found = 0 }
		found && match($0, /(nr_pages|PoD entries)=.*/) { out = out substr($0, RSTART, RLENGTH) "; " }
		END { print out }' >/tmp/pod.out
	pod_entries=$(sed -n 's/.*PoD entries=\([0-9-]*\).*/\1/p' /tmp/pod.out)
	say "Xen's account of domain $1 $2: $(cat /tmp/pod.out) xl list: $(dom_mib hu-mem) MiB"
}

# The protect program's id in Xen on domain DOM (the daemon gives arriving
# programs new ids).
protect_prog() { # DOM
	xctl list --dom "$1" && sed -n 's/.*prog id=\([0-9]*\) hook=mem.protect .*/\1/p' /tmp/xctl.out
}

# Program and map lines of a state text (a live domain's run statistics may
# differ between two saves; its maps and regions do not while its guest
# writes nothing protected and nothing is reclaimed).
maps_of() { grep -E 'state (region|map) ' "$1"; }

# moved_writes TAG EXPECTED STRAY: after the move TAG, the guest writes
# EXPECTED from the guarded page's one writer (must go through) and STRAY
# from elsewhere (must be dropped, the page keeps EXPECTED). The program's
# counts in Xen and its log in guest memory go on: one more denial than
# before the move ($denied_before), allowed writes at least one more.
moved_writes() {
	xenstore-write "/local/domain/$dom/data/hu/protect" "moved $1 $2 $3"
	if ! wait_node "/local/domain/$dom/data/hu/protect" "done $1" 300; then
		bad "move-$1-guest-writes" "the guest did not make its writes after the move"
		return
	fi
	e=$(guest "$1/expected" | sed 's/.*(\(.*\))$/\1/')
	s=$(guest "$1/stray" | sed 's/.*(\(.*\))$/\1/')
	v=$(guest "$1/value")
	say "after $1: expected: $(guest "$1/expected"); stray: $(guest "$1/stray")"
	expect "move-$1-guest-writes" "went through dropped $2" "$e $s $v"
	set -- "$1" $(guest "$1/denied_log")
	log_denied=$2 log_rip=$3
	pid=$(protect_prog "$dom")
	words=$(map_words "$dom" "${pid:-0}")
	say "protect_demo counts in Xen after $1 (allowed denied unlogged ...): $words; guest's log: $log_denied denials, last rip $log_rip"
	set -- "$1" $words
	want_denied=$((denied_before + 1))
	if number "$2" && number "$allowed_before" && [ "$2" -gt "$allowed_before" ] &&
		[ "$3" = "$want_denied" ] && [ "$4" = 0 ] && [ "$log_denied" = "$want_denied" ] &&
		[ $((log_rip - stray_write)) -ge 0 ] && [ $((log_rip - stray_write)) -lt 64 ]; then
		ok "move-$1-counts-continue" "allowed $allowed_before -> $2, denied $denied_before -> $3, guest's log $log_denied"
	else
		bad "move-$1-counts-continue" "allowed $allowed_before -> ${2:-none}, denied $denied_before -> ${3:-none} (want $want_denied), unlogged ${4:-none}, guest's log ${log_denied:-none} rip ${log_rip:-none}"
	fi
	allowed_before=${2:-0} denied_before=$want_denied
}

# The kept 64 MiB still hold their pattern on the new host.
pages_intact() { # CHECK
	memcheck verify
	set -- "$1" $(echo "$answer" | tr '=' ' ')
	if [ "$2" = verify ] && number "$4" && [ "$4" -gt 0 ] && [ "$4" = "$6" ] && [ "$8" = 0 ]; then
		ok "$1" "$answer"
	else
		bad "$1" "$answer"
	fi
}

move_phase() {
	# Room for the save file (hu-mem's 512 MiB) in dom0's memory: dom0
	# balloons up from 1 to 1.5 GiB (Xen's dom0_mem max, mem.mk).
	xl mem-set Domain-0 1536m
	deadline=$(($(uptime_s) + 300))
	while m=$(dom_mib Domain-0) && number "$m" && [ "$m" -lt 1530 ] && [ "$(uptime_s)" -lt "$deadline" ]; do
		sleep 1
	done
	say "dom0 now $(dom_mib Domain-0) MiB, Xen free $(free_mib) MiB"
	mkdir -p /var/lib/hu/saves
	mount -t tmpfs -o size=600m tmpfs /var/lib/hu/saves
	save=/var/lib/hu/saves/mem.save
	gpa=$(guest gpa)
	gfn=$(printf '%#x' $((${gpa:-0} >> 12)))
	stray_write=$(guest stray_write)
	set -- $(map_words "$dom" "$(protect_prog "$dom")")
	allowed_before=${1:-0} denied_before=${2:-0}
	say "guarded page at gpa $gpa (gfn $gfn); protect_demo counts before the moves: allowed $allowed_before denied $denied_before"
	expect move-protected-before "ram_ro ram_rw" "$(frame_types "$dom")"

	# The reclaim's debt: frames still populate-on-demand entries. A
	# sample of the domain's size every second while xl save reads it.
	pod_state "$dom" "before xl save"
	mem_before=$(dom_mib hu-mem)
	(while :; do dom_mib hu-mem; sleep 1; done) >/tmp/save-sizes 2>/dev/null &
	sampler=$!
	t0=$(now)
	xlog save hu-mem $save
	r=$?
	t1=$(now)
	kill $sampler
	# Xen's report of the first domain's protected writes, printed as xl
	# save ended it (dom0-init's teardown reads it).
	sleep 1
	xl dmesg | grep "d$dom: hyperupcall mem.protect:" >/tmp/protect-report
	say "xl save took $(elapsed "$t0" "$t1") s; hu-mem was $mem_before MiB, sizes while it saved: $(sort -n /tmp/save-sizes | uniq | tr '\n' ' ')($(ls -l $save 2>/dev/null | awk '{ print $5 }') bytes)"
	if [ $r = 0 ] && grep -q "hyperupcall: 2 programs of domain $dom in the stream" /tmp/xl.out; then
		ok move-save "$(grep 'hyperupcall:' /tmp/xl.out)"
	else
		bad move-save "xl save exited $r; $(grep 'hyperupcall:' /tmp/xl.out || echo 'no record written')"
	fi
	[ $r = 0 ] || finish
	# The record in the file carries the protected range.
	xctl state-from-stream --in $save --out /tmp/stream.blob && text_of /tmp/stream.blob /tmp/stream
	sed 's/^/HU-E2E: saved: /' /tmp/stream 2>/dev/null
	if grep -qE "state region start=$gpa len=4096 flags=.*protect" /tmp/stream 2>/dev/null; then
		ok move-saved-protected-range "$(grep -E 'state region .*protect' /tmp/stream)"
	else
		bad move-saved-protected-range "no protected region start=$gpa len=4096 in the save file's record"
	fi

	t0=$(now)
	xlog restore -p $save
	r=$?
	say "xl restore -p took $(elapsed "$t0" "$(now)") s"
	rdom=$(xl domid hu-mem 2>/dev/null)
	if [ $r = 0 ] && grep -q "hyperupcalld adopted and loaded domain $rdom's 2 programs" /tmp/xl.out; then
		ok move-restore "domain $rdom, paused: $(grep 'hyperupcall:' /tmp/xl.out)"
	else
		bad move-restore "xl restore exited $r; $(grep 'hyperupcall:' /tmp/xl.out || echo 'no programs adopted')"
	fi
	[ -n "$rdom" ] || finish
	dom=$rdom
	rm -f $save
	# Before the guest runs: the frame is read-only again, and Xen holds
	# what left, region and map entry for entry.
	expect move-restored-protected-paused "ram_ro ram_rw" "$(frame_types "$dom")"
	state_text "$dom" /tmp/restored
	sed 's/^/HU-E2E: restored: /' /tmp/restored
	if [ -s /tmp/restored ] && cmp -s /tmp/stream /tmp/restored; then
		ok move-restored-state-same "$(grep -c 'state map' /tmp/restored) map entries, $(grep -c 'state region' /tmp/restored) regions as saved"
	else
		bad move-restored-state-same "$(diff /tmp/stream /tmp/restored 2>&1 | head -5)"
	fi
	pod_state "$dom" "restored, paused"
	# The destination owes nothing: xl save read every frame, populating
	# the entries the reclaim had left (the sizes above), so all arrived as
	# RAM with their (zeroed) contents.
	if [ "$pod_entries" = 0 ] && [ "$(dom_mib hu-mem)" = 512 ]; then
		ok move-restore-memory-whole "PoD entries 0, 512 MiB"
	else
		bad move-restore-memory-whole "PoD entries '${pod_entries:-none}', $(dom_mib hu-mem) MiB"
	fi
	xl unpause "$dom"
	moved_writes restore 0x4444 0x5555
	pages_intact move-restore-pages-intact
	memcheck "alloc 128"
	set -- $(echo "$answer" | tr '=' ' ')
	if [ "$1" = alloc ] && [ "$3" = 32768 ] && [ "$5" = 32768 ]; then
		ok move-restore-alloc "$answer"
	else
		bad move-restore-alloc "$answer"
	fi
	memcheck free

	# Live migration to localhost, paused on arrival (-p on both sides).
	state_text "$dom" /tmp/before-migrate
	t0=$(now)
	xlog migrate -p -s "" hu-mem "xl migrate-receive -p"
	r=$?
	say "xl migrate -p took $(elapsed "$t0" "$(now)") s"
	mdom=$(xl domid hu-mem 2>/dev/null)
	if [ $r = 0 ] && [ "$mdom" != "$dom" ] && grep -q "hyperupcalld adopted and loaded domain $mdom's 2 programs" /tmp/xl.out; then
		ok move-migrate "domain $dom -> $mdom, paused"
	else
		bad move-migrate "xl migrate exited $r, domain '$mdom'; $(grep 'hyperupcall:' /tmp/xl.out || echo 'no programs adopted')"
	fi
	[ -n "$mdom" ] || finish
	dom=$mdom
	expect move-migrated-protected-paused "ram_ro ram_rw" "$(frame_types "$dom")"
	state_text "$dom" /tmp/migrated
	maps_of /tmp/before-migrate >/tmp/before-migrate.maps
	maps_of /tmp/migrated >/tmp/migrated.maps
	if [ -s /tmp/migrated.maps ] && cmp -s /tmp/before-migrate.maps /tmp/migrated.maps; then
		ok move-migrated-state-same "$(grep -c 'state map' /tmp/migrated.maps) map entries, $(grep -c 'state region' /tmp/migrated.maps) regions as before"
	else
		bad move-migrated-state-same "$(diff /tmp/before-migrate.maps /tmp/migrated.maps 2>&1 | head -5)"
	fi
	pod_state "$dom" "migrated, paused"
	xl unpause "$dom"
	moved_writes migrate 0x6666 0x7777
	pages_intact move-migrate-pages-intact
	umount /var/lib/hu/saves
}
