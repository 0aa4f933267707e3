#!/usr/bin/env bash
# bash completion of hyperupcallctl, hyperupcalld and hyperupcall: run
# through bash-completion as an interactive shell would, and the command
# tree each file knows checked against the tool's own --help, so a new
# subcommand without completion fails here.
#   completion_test.sh SOURCE_DIR CTL DAEMON TOOL
set -uo pipefail
src=$1 ctl=$2 daemon=$3 tool=$4
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || { bad "bash-completion is not installed (scripts/setup.sh installs it)"; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$ctl" "$bin/hyperupcallctl"
ln -s "$daemon" "$bin/hyperupcalld"
ln -s "$tool" "$bin/hyperupcall"
# complete LINE: what completing the last word of LINE offers, sorted, one line.
complete_line() {
	PATH=$bin:$PATH bash -c '
		source "$1" 2>/dev/null
		source "$2"; source "$3"; source "$4"
		read -ra COMP_WORDS <<<"$5"
		[[ $5 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$5 COMP_POINT=${#5}
		"_${COMP_WORDS[0]}" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$bc" \
		"$src/dom0-daemon/ctl/completion/hyperupcallctl" "$src/dom0-daemon/ctl/completion/hyperupcalld" \
		"$src/guest-driver/tool/completion/hyperupcall" "$1"
}
want() { # LINE EXPECTED
	local got
	got=$(complete_line "$1")
	[ "${got% }" = "$2" ] && ok "'$1' -> $2" || bad "'$1' -> '${got% }', want '$2'"
}
# Subcommands a CLI11 --help lists.
subcommands() { "$@" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}' | sort | tr '\n' ' '; }

top=$(subcommands "$ctl")
want "hyperupcallctl " "${top% }"
for c in $top; do
	subs=$(subcommands "$ctl" "$c")
	[ -n "$subs" ] && want "hyperupcallctl $c " "${subs% }"
done
want "hyperupcallctl --js" "--json"
want "hyperupcallctl policy set --require-approval " "no yes"
want "hyperupcallctl --json prog li" "list"
gtop=$(subcommands "$tool")
want "hyperupcall " "${gtop% }"
want "hyperupcall map " "$(subcommands "$tool" map | sed 's/ $//')"
want "hyperupcalld --log-fo" "--log-format"
want "hyperupcalld --log-format " "json text"
exit $fails
