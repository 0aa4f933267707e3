# Sourced by the serial-log verdicts (check-daemon-log.sh, mem/check-log.sh):
#   want DESCRIPTION PATTERN   PATTERN (extended regexp) must occur in $log;
#                              says yes or NO as "$who: $mode: ...", and a
#                              NO sets bad=1 (the verdict's exit status).
bad=0
want() {
	if grep -aqE -- "$2" "$log"; then
		echo "$who: $mode: $1: yes"
	else
		echo "$who: $mode: $1: NO"
		bad=1
	fi
}
# context_on_failure: when a want said NO, the log's last lines of test
# output (HU-E2E, Xen's messages, the host's), so that a failure in CI,
# where only the verdict's output is kept, shows where the boot stopped.
context_on_failure() {
	[ "$bad" = 0 ] && return 0
	echo "$who: $mode: the log's last 60 lines of test output:"
	grep -aE '^(HU-E2E|HU-HOST|\(XEN\))' "$log" | grep -av 'hyperupcalld: ' | tail -60 | sed "s/^/$who: | /"
}
