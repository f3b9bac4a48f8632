# shellcheck shell=sh disable=SC2034  # variables here are used by the scripts that source it
# tcp_lib.sh - helpers of the TCP interop test (run-tcp-interop.sh): the
# skip checks for plain TCP over TUN (no kernel MPTCP needed), the two-namespace
# topology and RESULT-line parsing. POSIX sh; source it after netns.sh.
#
#   ns H (tun host)                              ns K (kernel TCP)
#   mptcp-tun --dev mtun0 --addr 10.91.1.2
#      mtun0 10.91.1.1/24 fd91:1::1/64           (routes 10.91.1.0/24 and
#      hk0   10.91.2.1/24 fd91:2::1/64  <veth>    fd91:1::/64 via H)
#                                          kh0   10.91.2.2/24 fd91:2::2/64
#
# H forwards between the TUN device and the veth, so the kernel's segments
# cross a real routing hop (TTL, checksums, GSO split at the TUN) on their way
# to the library.

TCP_LIB_V4=10.91.1.2
TCP_KERN_V4=10.91.2.2
TCP_LIB_V6=fd91:1::2
TCP_KERN_V6=fd91:2::2
TCP_DEV=mtun0

# tcp_require: 0 when this test can run; otherwise prints why and returns 77.
tcp_require() {
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (network namespaces, TUN devices)"; return 77
    fi
    if ! command -v ip >/dev/null 2>&1; then
        echo "SKIP: the ip command (iproute2) is missing"; return 77
    fi
    if [ ! -c /dev/net/tun ]; then
        echo "SKIP: /dev/net/tun is missing (no TUN support: modprobe tun)"; return 77
    fi
    __tprobe="tcp-probe-$$-$(netns_rand)"
    if ! ip netns add "$__tprobe" 2>/dev/null; then
        echo "SKIP: 'ip netns add' does not work here (no CAP_SYS_ADMIN or no netns support)"
        return 77
    fi
    __tok=1
    ip -n "$__tprobe" tuntap add tprobe0 mode tun 2>/dev/null || __tok=0
    ip netns del "$__tprobe" 2>/dev/null
    if [ $__tok = 0 ]; then
        echo "SKIP: cannot create a TUN device in a network namespace"; return 77
    fi
    return 0
}

# tcp_topology <tag>: creates H and K (sets $H, $K) as drawn above.
tcp_topology() {
    netns_add H "$1-h" && netns_add K "$1-k" || return 1
    ip -n "$H" tuntap add "$TCP_DEV" mode tun || return 1
    ip -n "$H" addr add 10.91.1.1/24 dev "$TCP_DEV" || return 1
    ip -n "$H" addr add fd91:1::1/64 dev "$TCP_DEV" nodad || return 1
    ip -n "$H" link set "$TCP_DEV" up || return 1
    netns_veth "$H" hk0 10.91.2.1/24 "$K" kh0 10.91.2.2/24 || return 1
    ip -n "$H" addr add fd91:2::1/64 dev hk0 nodad || return 1
    ip -n "$K" addr add fd91:2::2/64 dev kh0 nodad || return 1
    ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1 || return 1
    ip netns exec "$H" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
    ip -n "$K" route add 10.91.1.0/24 via 10.91.2.1 || return 1
    ip -n "$K" -6 route add fd91:1::/64 via fd91:2::1 || return 1
}

# tcp_wait_listen <ns> <port> <seconds>: until a TCP listener is on <port>.
tcp_wait_listen() {
    __tt=$(( $3 * 10 ))
    while [ $__tt -gt 0 ]; do
        ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1; __tt=$((__tt - 1))
    done
    return 1
}

# tcp_wait_attached <seconds>: until a process holds the TUN device in H
# (the kernel shows LOWER_UP once a TUNSETIFF'd fd exists).
tcp_wait_attached() {
    __tt=$(( $1 * 20 ))
    while [ $__tt -gt 0 ]; do
        ip -n "$H" link show "$TCP_DEV" 2>/dev/null | grep -q LOWER_UP && return 0
        sleep 0.05; __tt=$((__tt - 1))
    done
    return 1
}

# tcp_get <file> <key>: the value of key=... on the RESULT line of <file>.
tcp_get() {
    sed -n 's/^RESULT //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | tr -d "'" | head -n 1
}
