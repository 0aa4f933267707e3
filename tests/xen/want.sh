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
