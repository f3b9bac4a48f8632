# netns.sh - shell helpers for interop tests: network namespaces joined by
# veth pairs, kernel MPTCP setup, background processes, and cleanup that runs
# even when the test fails or is interrupted. POSIX sh (dash); source it:
#
#   . tests/interop/netns.sh
#   netns_require || exit $?          # 77 with a reason when it cannot run
#   netns_init kcap                   # unique prefix, trap-based cleanup
#   netns_add cli cli; netns_add srv srv     # sets $cli, $srv
#   netns_veth "$cli" a0 10.77.1.1/24 "$srv" b0 10.77.1.2/24
#   netns_mptcp "$cli" ; netns_bg "$srv" python3 server.py ; ...
#
# Every namespace is named "<prefix>-<tag>" with a per-run prefix (test
# name, pid, random), so parallel runs and leftovers never collide. Addresses
# are only used inside these namespaces; nothing leaves the machine.
# Functions return non-zero on failure; they never exit the caller.

NETNS_PREFIX=""
NETNS_LIST=""
NETNS_PIDS=""
NETNS_TMP=""

# netns_log <msg...>: a prefixed line on stderr.
netns_log() {
    echo "netns: $*" >&2
}

# netns_require: 0 when namespaces and kernel MPTCP can be used; otherwise
# prints why and returns 77 (the skip code of `make check`).
netns_require() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (network namespaces, veth)"; return 77
    fi
    if ! command -v ip >/dev/null 2>&1; then
        echo "SKIP: the ip command (iproute2) is missing"; return 77
    fi
    __nprobe="netns-probe-$$-$(netns_rand)"
    if ! ip netns add "$__nprobe" 2>/dev/null; then
        echo "SKIP: 'ip netns add' does not work here (no CAP_SYS_ADMIN or no netns support)"
        return 77
    fi
    __nok=1
    ip netns exec "$__nprobe" sysctl -n net.mptcp.enabled >/dev/null 2>&1 || __nok=0
    ip netns del "$__nprobe" 2>/dev/null
    if [ $__nok = 0 ]; then
        echo "SKIP: the kernel has no MPTCP (sysctl net.mptcp.enabled missing; CONFIG_MPTCP=n?)"
        return 77
    fi
    return 0
}

# netns_rand: 8 random hex digits.
netns_rand() {
    od -An -N4 -tx4 /dev/urandom | tr -d ' \n'
}

# netns_init <tag>: per-run prefix, a private temp dir ($NETNS_TMP), and an
# EXIT/INT/TERM/HUP trap that calls netns_cleanup. Call once per script.
netns_init() {
    NETNS_PREFIX="${1:-t}-$$-$(netns_rand)"
    NETNS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$NETNS_PREFIX.XXXXXX") || return 1
    trap 'netns_cleanup' EXIT
    trap 'netns_cleanup; exit 130' INT
    trap 'netns_cleanup; exit 143' TERM
    trap 'netns_cleanup; exit 129' HUP
    return 0
}

# netns_cleanup: kills the recorded background processes, deletes every
# namespace this run created (that removes their veth devices too) and the
# temp dir unless NETNS_KEEP=1. Safe to call more than once.
netns_cleanup() {
    for __np in $NETNS_PIDS; do
        kill "$__np" 2>/dev/null
    done
    for __np in $NETNS_PIDS; do
        wait "$__np" 2>/dev/null
    done
    NETNS_PIDS=""
    for __nn in $NETNS_LIST; do
        ip netns pids "$__nn" 2>/dev/null | while read -r __nq; do kill "$__nq" 2>/dev/null; done
        ip netns del "$__nn" 2>/dev/null
    done
    NETNS_LIST=""
    if [ -n "$NETNS_TMP" ] && [ "${NETNS_KEEP:-0}" != 1 ]; then
        rm -rf "$NETNS_TMP"
    elif [ -n "$NETNS_TMP" ]; then
        netns_log "kept $NETNS_TMP"
    fi
    NETNS_TMP=""
}

# netns_add <var> <tag>: creates namespace "<prefix>-<tag>" with lo up, stores
# its name in the shell variable <var> and records it for cleanup.
netns_add() {
    __nname="$NETNS_PREFIX-$2"
    ip netns add "$__nname" || return 1
    NETNS_LIST="$NETNS_LIST $__nname"
    eval "$1=\$__nname"
    ip -n "$__nname" link set lo up
}

# netns_veth <ns1> <dev1> <addr1/len> <ns2> <dev2> <addr2/len>: a veth pair
# with one end in each namespace, addressed and up. The pair is created
# inside ns1, so device names never clash with the host's.
netns_veth() {
    ip -n "$1" link add "$2" type veth peer name "$5" netns "$4" || return 1
    ip -n "$1" addr add "$3" dev "$2" || return 1
    ip -n "$4" addr add "$6" dev "$5" || return 1
    ip -n "$1" link set "$2" up || return 1
    ip -n "$4" link set "$5" up || return 1
}

# netns_exec <ns> <cmd...>: runs a command in a namespace.
netns_exec() {
    __nns=$1; shift
    ip netns exec "$__nns" "$@"
}

# netns_bg <ns> <outfile> <cmd...>: runs a command in the background in a
# namespace, stdout+stderr to <outfile>; records its pid for cleanup and
# leaves it in NETNS_LASTPID.
netns_bg() {
    __nns=$1; __nout=$2; shift 2
    ip netns exec "$__nns" "$@" >"$__nout" 2>&1 &
    NETNS_LASTPID=$!
    NETNS_PIDS="$NETNS_PIDS $NETNS_LASTPID"
}

# netns_wait_pid <pid> <seconds>: waits for a background process; returns its
# exit code, or 124 after killing it when it outlives the timeout.
netns_wait_pid() {
    __npid=$1; __nt=$(( $2 * 10 ))
    while kill -0 "$__npid" 2>/dev/null && [ $__nt -gt 0 ]; do
        sleep 0.1; __nt=$((__nt - 1))
    done
    if kill -0 "$__npid" 2>/dev/null; then
        kill "$__npid" 2>/dev/null; wait "$__npid" 2>/dev/null
        netns_forget "$__npid"
        return 124
    fi
    wait "$__npid"; __nrc=$?
    netns_forget "$__npid"
    return $__nrc
}

# netns_forget <pid>: drops a pid from the cleanup list.
netns_forget() {
    __nkeep=""
    for __np in $NETNS_PIDS; do [ "$__np" = "$1" ] || __nkeep="$__nkeep $__np"; done
    NETNS_PIDS=$__nkeep
}

# netns_wait_file <path> <seconds>: waits until a file exists.
netns_wait_file() {
    __nt=$(( $2 * 10 ))
    while [ ! -e "$1" ] && [ $__nt -gt 0 ]; do sleep 0.1; __nt=$((__nt - 1)); done
    [ -e "$1" ]
}

# netns_mptcp <ns> [checksum 0|1]: enables kernel MPTCP in a namespace (the
# sysctls are per namespace), sets the DSS checksum sysctl, and allows two
# extra subflows and two accepted ADD_ADDRs.
netns_mptcp() {
    ip netns exec "$1" sysctl -qw net.mptcp.enabled=1 || return 1
    ip netns exec "$1" sysctl -qw net.mptcp.checksum_enabled="${2:-0}" || return 1
    ip -n "$1" mptcp limits set subflow 2 add_addr_accepted 2 || return 1
}

# netns_mptcp_endpoint <ns> <addr> <dev> <flags...>: an MPTCP endpoint, e.g.
# "subflow" (the client opens a subflow from it) or "signal" (the server
# announces it with ADD_ADDR).
netns_mptcp_endpoint() {
    __nns=$1; __na=$2; __nd=$3; shift 3
    ip -n "$__nns" mptcp endpoint add "$__na" dev "$__nd" "$@"
}
