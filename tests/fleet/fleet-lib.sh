# Sourced by the fleet test and the fleet benchmark: a private etcd cluster
# (Debian's etcd-server 3.4) and hyperupcalld hosts on the sim backend, all
# on loopback under one work directory, all stopped by fleet_cleanup.
#   build=DIR work=DIR; source fleet-lib.sh
# Defines: etcd_start N, etcd_kill I, etcd_restart I, etcd_endpoints [I...],
#   host_start NAME ENDPOINTS [DAEMON-ARGS...], host_stop NAME [SIGNAL],
#   hctl NAME ARGS... (hyperupcallctl on that host), fctl ARGS...
#   (hyperupcallctl fleet against the whole cluster), wait_for SECONDS CMD...,
#   fleet_cleanup.

daemon=$build/dom0-daemon/hyperupcalld
ctl_bin=$build/dom0-daemon/hyperupcallctl
etcd_bin=${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
etcdctl_bin=${ETCDCTL:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
declare -A etcd_pid=() etcd_cport=() etcd_pport=() host_pid=() host_args=()
etcd_n=0

# free_ports N: N TCP ports nothing listens on now.
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

etcd_cluster() { # the --initial-cluster value
	local i c=
	for i in $(seq 1 "$etcd_n"); do
		c+="${c:+,}m$i=http://127.0.0.1:${etcd_pport[$i]}"
	done
	echo "$c"
}

etcd_run() { # etcd_run I: member I in the background (its data dir decides new/existing)
	local i=$1
	"$etcd_bin" --name "m$i" --data-dir "$work/etcd$i" \
		--listen-client-urls "http://127.0.0.1:${etcd_cport[$i]}" \
		--advertise-client-urls "http://127.0.0.1:${etcd_cport[$i]}" \
		--listen-peer-urls "http://127.0.0.1:${etcd_pport[$i]}" \
		--initial-advertise-peer-urls "http://127.0.0.1:${etcd_pport[$i]}" \
		--initial-cluster "$(etcd_cluster)" --initial-cluster-state new \
		--initial-cluster-token "hu-fleet-$$" \
		--logger zap --log-level warn --log-outputs "$work/etcd$i.log" \
		>>"$work/etcd$i.out" 2>&1 &
	etcd_pid[$i]=$!
}

etcd_endpoints() { # etcd_endpoints [I...]: HOST:PORT,... of those members (default: all)
	local i e= ids=("$@")
	[ ${#ids[@]} -gt 0 ] || ids=($(seq 1 "$etcd_n"))
	for i in "${ids[@]}"; do e+="${e:+,}127.0.0.1:${etcd_cport[$i]}"; done
	echo "$e"
}

etcd_ok() { "$etcdctl_bin" --endpoints "$(etcd_endpoints "$@")" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1; }

etcd_start() { # etcd_start N: an N-member cluster, waited for
	etcd_n=$1
	local ports i
	ports=($(free_ports $((2 * etcd_n))))
	for i in $(seq 1 "$etcd_n"); do
		etcd_cport[$i]=${ports[$((2 * i - 2))]}
		etcd_pport[$i]=${ports[$((2 * i - 1))]}
	done
	for i in $(seq 1 "$etcd_n"); do etcd_run "$i"; done
	wait_for 60 etcd_ok || { echo "etcd cluster did not come up"; tail -5 "$work"/etcd*.log; return 1; }
}

etcd_kill() { # etcd_kill I: SIGKILL, the honest crash
	kill -KILL "${etcd_pid[$1]}" 2>/dev/null
	wait "${etcd_pid[$1]}" 2>/dev/null
	etcd_pid[$1]=
}

etcd_restart() { etcd_run "$1"; wait_for 60 etcd_ok "$1"; }

etcdctl() { "$etcdctl_bin" --endpoints "$(etcd_endpoints)" "$@"; }

# wait_for SECONDS CMD...: until CMD succeeds (every 0.1 s), or fail.
wait_for() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# host_start NAME ENDPOINTS [ARGS...]: hyperupcalld as fleet host NAME
# (state, sockets and log under $work/NAME; $FLEET_HOST_NAME overrides the
# name it registers), waited for.
host_start() {
	local name=$1 eps=$2 d=$work/$1
	shift 2
	mkdir -p "$d"
	host_args[$name]="$eps $*"
	"$daemon" --state "$d/state" --operator-socket "$d/op.sock" --guest-socket-dir "$d/guests" \
		--fleet-etcd "$eps" --fleet-host "${FLEET_HOST_NAME:-$name}" --fleet-lease-ttl "${FLEET_TTL:-3}" \
		--log-level "${HOST_LOG_LEVEL:-info}" "$@" >>"$d/daemon.log" 2>&1 &
	host_pid[$name]=$!
	wait_for 60 hctl "$name" domain list >/dev/null 2>&1 || {
		echo "host $name did not come up"
		tail -20 "$d/daemon.log"
		return 1
	}
}

host_stop() { # host_stop NAME [SIGNAL]
	[ -n "${host_pid[$1]:-}" ] || return 0
	kill "-${2:-TERM}" "${host_pid[$1]}" 2>/dev/null
	wait "${host_pid[$1]}" 2>/dev/null
	host_pid[$1]=
}

hctl() { local n=$1; shift; "$ctl_bin" --socket "$work/$n/op.sock" --timeout 10 "$@"; }
fctl() { "$ctl_bin" --timeout 10 fleet --etcd "$(etcd_endpoints)" "$@"; }

fleet_cleanup() {
	local n i
	for n in "${!host_pid[@]}"; do host_stop "$n" KILL; done
	for i in "${!etcd_pid[@]}"; do [ -n "${etcd_pid[$i]}" ] && etcd_kill "$i"; done
}
