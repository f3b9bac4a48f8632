# shellcheck shell=sh disable=SC2034  # variables here are used by the script that sources it
# mptcp_lib.sh - helpers of the MPTCP interop test (run-mptcp-interop.sh):
# the topology, per-row kernel MPTCP configuration, the kernel's MPTcpExt
# counters (nstat) as per-row differences, and parsing of mptcp-tun --stats
# and mptcp_peer.py RESULT lines. POSIX sh; source it after netns.sh.
#
#   one namespace K: the kernel's MPTCP sockets and two TUN devices whose
#   other end is mptcp-tun (running in K as well), one device per path:
#
#     kernel 10.93.1.1/24  mtun0 <==TUN==> mptcp-tun --dev mtun0 --addr 10.93.1.2
#     kernel 10.93.2.1/24  mtun1 <==TUN==> mptcp-tun --dev mtun1 --addr 10.93.2.2
#
#   A subflow's path is the device of its library address: the kernel routes
#   to 10.93.N.2 through mtunN-1 and mptcp-tun sends from 10.93.N.2 through
#   the same device, so --loss on one --dev hits the subflows of one address.

MP_LIB1=10.93.1.2
MP_LIB2=10.93.2.2
MP_LIB3=10.93.1.3   # a second library address on path 1 (4-subflow rows)
MP_KERN1=10.93.1.1
MP_KERN2=10.93.2.1
# IPv6 on the same two paths (rows with v6 or mixed families).
MP_LIB1_6=fd93:1::2
MP_LIB2_6=fd93:2::2
MP_KERN1_6=fd93:1::1
MP_KERN2_6=fd93:2::1
MP_DEV1=mtun0
MP_DEV2=mtun1

# mp_require: 0 when this test can run; otherwise prints why and returns 77.
mp_require() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (network namespaces, TUN devices, kernel MPTCP config)"; return 77
    fi
    if ! command -v ip >/dev/null 2>&1; then
        echo "SKIP: the ip command (iproute2) is missing"; return 77
    fi
    if [ ! -c /dev/net/tun ]; then
        echo "SKIP: /dev/net/tun is missing (no TUN support: modprobe tun)"; return 77
    fi
    __mprobe="mptcp-probe-$$-$(netns_rand)"
    if ! ip netns add "$__mprobe" 2>/dev/null; then
        echo "SKIP: 'ip netns add' does not work here (no CAP_SYS_ADMIN or no netns support)"
        return 77
    fi
    __mok=ok
    ip -n "$__mprobe" tuntap add mprobe0 mode tun 2>/dev/null || __mok=tun
    if [ $__mok = ok ] && ! ip netns exec "$__mprobe" sysctl -qw net.mptcp.enabled=1 2>/dev/null; then
        __mok=mptcp
    fi
    if [ $__mok = ok ] && ! ip -n "$__mprobe" mptcp limits set subflow 2 2>/dev/null; then
        __mok=ipmptcp
    fi
    ip netns del "$__mprobe" 2>/dev/null
    case $__mok in
    tun) echo "SKIP: cannot create a TUN device in a network namespace"; return 77 ;;
    mptcp) echo "SKIP: the kernel has no MPTCP (net.mptcp.enabled missing: CONFIG_MPTCP=n?)"; return 77 ;;
    ipmptcp) echo "SKIP: 'ip mptcp' does not work (iproute2 too old or no MPTCP netlink PM)"; return 77 ;;
    esac
    if ! command -v nstat >/dev/null 2>&1; then
        echo "SKIP: nstat (iproute2) is missing: the kernel's MPTCP counters cannot be read"
        return 77
    fi
    return 0
}

# mp_topology <tag>: creates K (sets $K) as drawn above.
mp_topology() {
    netns_add K "$1-k" || return 1
    ip netns exec "$K" sysctl -qw net.mptcp.enabled=1 || return 1
    # A subflow may arrive on the device of the other path (the kernel's
    # source address is not tied to a device): no reverse-path filtering.
    ip netns exec "$K" sysctl -qw net.ipv4.conf.all.rp_filter=0 || return 1
    ip netns exec "$K" sysctl -qw net.ipv4.conf.default.rp_filter=0 || return 1
    ip netns exec "$K" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null
    ip netns exec "$K" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 2>/dev/null
    for __md in "$MP_DEV1 $MP_KERN1 $MP_KERN1_6" "$MP_DEV2 $MP_KERN2 $MP_KERN2_6"; do
        set -- $__md
        ip -n "$K" tuntap add "$1" mode tun || return 1
        ip -n "$K" addr add "$2/24" dev "$1" || return 1
        # nodad: usable at once (no duplicate address detection delay)
        ip -n "$K" -6 addr add "$3/64" dev "$1" nodad || return 1
        ip -n "$K" link set "$1" up || return 1
        ip netns exec "$K" sysctl -qw "net.ipv4.conf.$1.rp_filter=0" || return 1
    done
    # A kernel subflow from an endpoint bound to one device may go to the
    # library's address on the other path. IPv4 takes such a destination as
    # on-link; IPv6 needs a route (else the join's connect fails:
    # MPJoinSynTxConnectErr). Lower priority than the path's own prefix.
    ip -n "$K" -6 route add "${MP_LIB2_6%::*}::/64" dev "$MP_DEV1" metric 2048 || return 1
    ip -n "$K" -6 route add "${MP_LIB1_6%::*}::/64" dev "$MP_DEV2" metric 2048 || return 1
}

# mp_kernel_config <csum 0|1> <subflows> <add_addr_accepted> [endpoint...]
# An endpoint is "ADDR,DEV,FLAG[,FLAG...][,id=N]" (ip mptcp endpoint add).
mp_kernel_config() {
    __mc=$1; __ms=$2; __ma=$3; shift 3
    ip -n "$K" mptcp endpoint flush || return 1
    # The MP_CAPABLE C flag (rows that set MP_ALLOW_JOIN_ID0=0).
    ip netns exec "$K" sysctl -qw net.mptcp.allow_join_initial_addr_port="${MP_ALLOW_JOIN_ID0:-1}" ||
        return 1
    ip netns exec "$K" sysctl -qw net.mptcp.checksum_enabled="$__mc" || return 1
    ip -n "$K" mptcp limits set subflow "$__ms" add_addr_accepted "$__ma" || return 1
    for __me in "$@"; do
        # shellcheck disable=SC2046
        set -- $(echo "$__me" | tr ',' ' ')
        __maddr=$1; __mdev=$2; shift 2
        __mflags=""
        for __mf in "$@"; do
            case $__mf in
            id=*) __mflags="$__mflags id ${__mf#id=}" ;;
            *) __mflags="$__mflags $__mf" ;;
            esac
        done
        # shellcheck disable=SC2086
        ip -n "$K" mptcp endpoint add "$__maddr" dev "$__mdev" $__mflags || return 1
    done
}

# mp_hostport <addr> <port>: ADDR:PORT, [ADDR]:PORT for IPv6.
mp_hostport() {
    case $1 in
    *:*) echo "[$1]:$2" ;;
    *) echo "$1:$2" ;;
    esac
}

# mp_nstat <file>: the kernel's MPTcpExt counters of K, absolute.
mp_nstat() {
    ip netns exec "$K" nstat -saz 2>/dev/null | awk '/^MPTcpExt/ { print $1, $2 }' >"$1"
}

# mp_nstat_diff <before> <after> <out>: "NAME DELTA" for every non-zero delta.
mp_nstat_diff() {
    awk 'NR == FNR { b[$1] = $2; next } { d = $2 - b[$1]; if (d != 0) print $1, d }' \
        "$1" "$2" >"$3"
}

# mp_ctr <diff file> <name without MPTcpExt>: the delta, 0 when absent.
mp_ctr() {
    __mv=$(awk -v n="MPTcpExt$2" '$1 == n { print $2 }' "$1")
    echo "${__mv:-0}"
}

# mp_get <file> <key>: the value of key=... on the RESULT line of <file>.
mp_get() {
    sed -n 's/^RESULT //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tr -d "'" | head -n 1
}

# mp_lib_subflows <lib log>: one line per subflow of mptcp-tun --stats:
# "ID SENT RECEIVED LOCAL REMOTE BACKUP PEER_BACKUP".
mp_lib_subflows() {
    sed -n 's/^  subflow \([0-9]*\): \([^ ]*\) -> \([^ ,]*\),.* backup \([01]\) peer-backup \([01]\).* bytes sent \([0-9]*\) acked [0-9]* received \([0-9]*\).*/\1 \6 \7 \2 \3 \4 \5/p' "$1"
}

# mp_lib_field <lib log> <key>: a "key N" counter of the "mptcp:" lines of
# mptcp-tun --stats (e.g. "joins-out", "add-addr-in", "checksum").
mp_lib_field() {
    sed -n '/^mptcp:/,/^  subflow/p' "$1" | tr ',;' '\n\n' |
        sed -n "s/.*[ ]$2 \([0-9][0-9]*\).*/\1/p" | head -n 1
}
