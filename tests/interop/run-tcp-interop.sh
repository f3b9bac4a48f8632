#!/bin/sh
# run-tcp-interop.sh - libmptcp's TCP against the Linux kernel's TCP, through
# the TUN host (build/mptcp-tun) in one network namespace and kernel sockets
# in another (topology in tcp_lib.sh). Both roles (library as client and as
# server), both directions, with and without emulated loss (mptcp-tun --loss,
# both directions of the device), IPv4 and IPv6:
#   - every transfer is checked by SHA-256 on the receiving side;
#   - ss -tie on the kernel socket must show sack, ts and wscale negotiated
#     (iproute2 6.1 prints ts and sack only with -e or -o),
#     and mptcp-tun --stats must agree;
#   - orderly close both ways: in lib->kernel rows the library closes first
#     (stdin EOF), in kernel->lib rows the kernel closes first and the library
#     answers after EOF; both sides must see the other's EOF and exit 0;
#   - kernel RST (SO_LINGER 0) in both roles: mptcp-tun must exit non-zero with
#     "connection reset" on stderr; connecting to a closed kernel port must
#     give "connection refused"; the kernel connecting to a port the library
#     does not listen on must get ECONNREFUSED.
# Sizes: TCP_INTEROP_MB (default 100) without loss, TCP_INTEROP_LOSS_MB
# (default 20) with TCP_INTEROP_LOSS percent loss (default 1) to keep the
# step short. Exit: 0 pass, 77 skip (no root / TUN / netns), else fail.
# Env: O (build dir), NETNS_KEEP=1 keeps logs and pcaps (TCP_INTEROP_PCAP=1),
# TCP_INTEROP_ROWS a space-separated subset of row groups to run (default
# all): v4 (lossless IPv4), loss (IPv4 with loss), v6, rst, refused; e.g.
# TCP_INTEROP_ROWS=v6 to repeat the IPv6 pcap rows.
set -u
here=$(dirname "$0")
O=${O:-build}
. "$here/netns.sh"
. "$here/tcp_lib.sh"

BIN="$O/mptcp-tun"
if [ ! -x "$BIN" ] || [ ! -x "$O/mptcp-tun-selftest" ]; then
    echo "FAIL: $BIN or $O/mptcp-tun-selftest is not built (make O=$O check-build)"; exit 1
fi
# The host's parser, emulation and route table need no root: check them first.
"$O/mptcp-tun-selftest" || { echo "FAIL: mptcp-tun-selftest"; exit 1; }
tcp_require || exit $?
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is missing"; exit 1; }
peer=$(cd "$here" && pwd)/tcp_peer.py
MB=${TCP_INTEROP_MB:-100}
LOSS_MB=${TCP_INTEROP_LOSS_MB:-20}
LOSS=${TCP_INTEROP_LOSS:-1}
T0=$(date +%s)

netns_init tcpi || { echo "FAIL: cannot create a temp dir"; exit 1; }
tcp_topology tcpi || { echo "FAIL: cannot build the namespaces"; exit 1; }
matrix="$NETNS_TMP/matrix"
: >"$matrix"
fails=0
row_n=0

echo "--- generating test data ($MB MB, $LOSS_MB MB)"
python3 "$peer" gen "$NETNS_TMP/big.bin" $((MB * 1000000)) 1 || exit 1
python3 "$peer" gen "$NETNS_TMP/small.bin" $((LOSS_MB * 1000000)) 2 || exit 1
big_sha=$(sha256sum "$NETNS_TMP/big.bin" | cut -d' ' -f1)
small_sha=$(sha256sum "$NETNS_TMP/small.bin" | cut -d' ' -f1)

# row_done <label> <PASS|FAIL> <MB/s> <note>
row_done() {
    printf '%-46s %-5s %6s  %s\n' "$1" "$2" "$3" "$4" >>"$matrix"
    echo "<-- $1: $2 $3 $4"
    [ "$2" = PASS ] || fails=$((fails + 1))
}

# show_logs <dir>: the tail of every log of a failed row.
show_logs() {
    for f in "$1"/*.log; do
        [ -f "$f" ] || continue
        echo "    --- $f"
        tail -n 25 "$f" | sed 's/^/    /'
    done
}

# transfer <role client|server> <dir up|down> <family 4|6> <loss %> <big|small> [pcap]
# up: library -> kernel; down: kernel -> library. With "pcap", mptcp-tun
# records a pcap that tshark must read without errors, one packet per
# segment the stack counted.
transfer() {
    t_role=$1; t_dir=$2; t_fam=$3; t_loss=$4; t_sz=$5; t_want_pcap=${6:-}
    row_n=$((row_n + 1))
    t_port=$((5000 + row_n))
    t_d="$NETNS_TMP/row$row_n"; mkdir -p "$t_d"
    if [ "$t_sz" = big ]; then
        t_file="$NETNS_TMP/big.bin"; t_sha=$big_sha; t_mb=$MB
    else
        t_file="$NETNS_TMP/small.bin"; t_sha=$small_sha; t_mb=$LOSS_MB
    fi
    t_lossopt=""
    [ "$t_loss" = 0 ] || t_lossopt="--loss $t_loss"
    t_size=$((t_mb * 1000000))
    if [ "$t_fam" = 4 ]; then
        t_laddr=$TCP_LIB_V4; t_kaddr=$TCP_KERN_V4; t_kconn="$TCP_KERN_V4:$t_port"
    else
        t_laddr=$TCP_LIB_V6; t_kaddr=$TCP_KERN_V6; t_kconn="[$TCP_KERN_V6]:$t_port"
    fi
    if [ "$t_dir" = up ]; then
        t_kopts="--recv"; t_lin="--stdin $t_file"; t_dirname="lib->kernel"
    else
        t_kopts="--send $t_file --expect-reply done"; t_lin="--hold-stdin done"
        t_dirname="kernel->lib"
    fi
    t_label=$(printf '%-6s %-11s ipv%s loss %-4s %4sMB' "$t_role" "$t_dirname" "$t_fam" "$t_loss%" "$t_mb")
    echo "--> $t_label"
    t_pcap=""
    [ "${TCP_INTEROP_PCAP:-0}" = 1 ] || [ -n "$t_want_pcap" ] && t_pcap="--pcap $t_d/lib.pcap"
    t_common="--dev $TCP_DEV --addr $t_laddr --stats --seed $row_n $t_lossopt $t_pcap"
    if [ "$t_role" = client ]; then
        # shellcheck disable=SC2086
        netns_bg "$K" "$t_d/kernel.log" python3 "$peer" kernel serve "$t_kaddr" "$t_port" \
            $t_kopts --timeout 100
        t_kpid=$NETNS_LASTPID
        if ! tcp_wait_listen "$K" "$t_port" 10; then
            row_done "$t_label" FAIL - "the kernel listener did not start"
            show_logs "$t_d"; return
        fi
        # shellcheck disable=SC2086
        ip netns exec "$H" timeout 120 python3 "$peer" lib $t_lin -- \
            "$BIN" $t_common --connect "$t_kconn" >"$t_d/lib.log" 2>&1
        netns_wait_pid "$t_kpid" 30; t_krc=$?
    else
        # shellcheck disable=SC2086
        netns_bg "$H" "$t_d/lib.log" timeout 120 python3 "$peer" lib $t_lin -- \
            "$BIN" $t_common --listen "$t_port"
        t_lpid=$NETNS_LASTPID
        if ! tcp_wait_attached 10; then
            row_done "$t_label" FAIL - "mptcp-tun did not attach to $TCP_DEV"
            show_logs "$t_d"; return
        fi
        # shellcheck disable=SC2086
        ip netns exec "$K" timeout 120 python3 "$peer" kernel connect "$t_laddr" "$t_port" \
            $t_kopts --timeout 100 >"$t_d/kernel.log" 2>&1
        t_krc=$?
        netns_wait_pid "$t_lpid" 30
    fi
    t_why=""
    t_lrc=$(tcp_get "$t_d/lib.log" rc)
    [ "$t_krc" = 0 ] || t_why="$t_why kernel-side exit $t_krc;"
    [ "$t_lrc" = 0 ] || t_why="$t_why mptcp-tun exit ${t_lrc:-none};"
    if [ "$t_dir" = up ]; then
        [ "$(tcp_get "$t_d/kernel.log" bytes)" = "$t_size" ] ||
            t_why="$t_why kernel got $(tcp_get "$t_d/kernel.log" bytes) bytes, not $t_size;"
        [ "$(tcp_get "$t_d/kernel.log" sha256)" = "$t_sha" ] || t_why="$t_why SHA-256 differs;"
        [ "$(tcp_get "$t_d/lib.log" bytes)" = 0 ] || t_why="$t_why library got unexpected bytes;"
    else
        [ "$(tcp_get "$t_d/lib.log" bytes)" = "$t_size" ] ||
            t_why="$t_why library got $(tcp_get "$t_d/lib.log" bytes) bytes, not $t_size;"
        [ "$(tcp_get "$t_d/lib.log" sha256)" = "$t_sha" ] || t_why="$t_why SHA-256 differs;"
        [ "$(tcp_get "$t_d/kernel.log" reply_ok)" = 1 ] ||
            t_why="$t_why the kernel did not get the reply after its FIN;"
    fi
    t_opts=$(tcp_get "$t_d/kernel.log" ss_opts)
    [ "$t_opts" = "sack,ts,wscale" ] || t_why="$t_why ss -tie shows '$t_opts', not sack,ts,wscale;"
    grep -q "sack 1, ts 1, wscale 1" "$t_d/lib.log" ||
        t_why="$t_why mptcp-tun --stats does not show sack, ts and wscale on;"
    if [ -n "$t_want_pcap" ]; then
        if command -v tshark >/dev/null 2>&1; then
            # The payload is random test data, not any application protocol,
            # so tshark must decode it as data: by port number it would hand
            # it to whatever dissector claims the port (row 10's 5010 is
            # Wireshark's IPSICTL), which calls a segment malformed when the
            # random bytes happen to start like its PDU (IPSICTL: magic
            # 0x0300, ~1 segment in 65536). The check is about the IP and
            # TCP layers (options included): they are checked all the same.
            # The server port is the lower one of every segment, which
            # tshark tries first, and heuristics run only after it.
            t_dec="-d tcp.port==$t_port,data -o tcp.try_heuristic_first:FALSE"
            # Linux completes the checksums of the segments it forwards into
            # the TUN device in software (skb_checksum_help), which writes
            # 0xffff where the sum gives 0x0000 (CSUM_MANGLED_0, a UDP rule
            # it applies to TCP too): ~1 kernel segment in 65536. Both are
            # one's complement zero and verify at every receiver (RFC 1624
            # section 3; our stack accepts it), but tshark marks it Bad
            # ("0xffff instead of 0x0000"). Tolerated from the kernel's
            # address only: the library's own segments must be canonical.
            if [ "$t_fam" = 4 ]; then t_ksrc="ip.src == $t_kaddr"; else t_ksrc="ipv6.src == $t_kaddr"; fi
            t_bad="_ws.malformed || ip.checksum.status == 0 || (tcp.checksum.status == 0 && !(tcp.checksum.ffff && $t_ksrc))"
            # shellcheck disable=SC2086
            t_np=$(tshark -r "$t_d/lib.pcap" $t_dec 2>/dev/null | wc -l)
            # shellcheck disable=SC2086
            t_nbad=$(tshark -r "$t_d/lib.pcap" $t_dec -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
                -Y "$t_bad" 2>/dev/null | wc -l)
            t_nseg=$(sed -n 's/^stack: segs in \([0-9]*\) out \([0-9]*\),.*/\1 \2/p' "$t_d/lib.log" |
                awk '{ print $1 + $2 }')
            [ "$t_np" -gt 0 ] && [ "$t_np" = "$t_nseg" ] ||
                t_why="$t_why pcap has $t_np packets, the stack counted ${t_nseg:-?} segments;"
            [ "$t_nbad" = 0 ] || t_why="$t_why tshark finds $t_nbad malformed/bad-checksum packets;"
        else
            t_why="$t_why tshark is missing (make deps);"
        fi
    fi
    t_secs=$(tcp_get "$t_d/kernel.log" secs)
    t_rate=$(awk -v b="$t_size" -v s="${t_secs:-0}" 'BEGIN { if (s > 0) printf "%.1f", b / s / 1e6; else print "-" }')
    t_retr=$(sed -n 's/.*retrans \([0-9]*\) (fast \([0-9]*\), rto \([0-9]*\)).*/retrans \1 (fast \2, rto \3)/p' "$t_d/lib.log" | head -n 1)
    t_ws=$(tcp_get "$t_d/kernel.log" wscale)
    t_drops=""
    if [ "$t_loss" != 0 ]; then
        t_din=$(sed -n 's/^ *in : .*dropped loss \([0-9]*\).*/\1/p' "$t_d/lib.log" | head -n 1)
        t_dout=$(sed -n 's/^ *out: .*dropped loss \([0-9]*\).*/\1/p' "$t_d/lib.log" | head -n 1)
        t_drops="; dropped in ${t_din:-?} out ${t_dout:-?}"
        # The emulation must really have dropped packets both ways.
        if [ "${t_din:-0}" -eq 0 ] || [ "${t_dout:-0}" -eq 0 ]; then
            t_why="$t_why the loss emulation dropped nothing in one direction;"
        fi
    fi
    [ -n "$t_want_pcap" ] && t_drops="$t_drops; pcap $t_np pkts ok"
    if [ -z "$t_why" ]; then
        row_done "$t_label" PASS "$t_rate" "ss: sack ts wscale:$t_ws; ${t_secs}s; lib $t_retr$t_drops"
    else
        row_done "$t_label" FAIL "$t_rate" "$t_why"
        show_logs "$t_d"
    fi
}

# rst_client: the kernel server resets after 1 MB of an upload.
rst_client() {
    row_n=$((row_n + 1)); t_port=$((5000 + row_n))
    t_d="$NETNS_TMP/row$row_n"; mkdir -p "$t_d"
    t_label="client kernel RST (SO_LINGER 0) mid-upload"
    echo "--> $t_label"
    netns_bg "$K" "$t_d/kernel.log" python3 "$peer" kernel serve "$TCP_KERN_V4" "$t_port" \
        --recv --rst-after 1000000 --timeout 60
    t_kpid=$NETNS_LASTPID
    tcp_wait_listen "$K" "$t_port" 10
    ip netns exec "$H" timeout 60 python3 "$peer" lib --stdin "$NETNS_TMP/small.bin" -- \
        "$BIN" --dev "$TCP_DEV" --addr "$TCP_LIB_V4" --connect "$TCP_KERN_V4:$t_port" \
        >"$t_d/lib.log" 2>&1
    netns_wait_pid "$t_kpid" 30; t_krc=$?
    t_lrc=$(tcp_get "$t_d/lib.log" rc)
    t_why=""
    [ "$t_krc" = 0 ] || t_why="$t_why kernel-side exit $t_krc;"
    case "$t_lrc" in ''|0) t_why="$t_why mptcp-tun exit ${t_lrc:-none}, expected non-zero;" ;; esac
    grep -q "mptcp-tun: connection reset" "$t_d/lib.log" ||
        t_why="$t_why no 'connection reset' on stderr;"
    if [ -z "$t_why" ]; then row_done "$t_label" PASS - "exit $t_lrc, 'connection reset'"
    else row_done "$t_label" FAIL - "$t_why"; show_logs "$t_d"; fi
}

# rst_server: the kernel first connects to a port the library does not
# listen on (ECONNREFUSED), then connects, sends 100 kB and resets.
rst_server() {
    row_n=$((row_n + 1)); t_port=$((5000 + row_n))
    t_d="$NETNS_TMP/row$row_n"; mkdir -p "$t_d"
    t_label="server kernel RST + kernel to closed lib port"
    echo "--> $t_label"
    netns_bg "$H" "$t_d/lib.log" timeout 60 python3 "$peer" lib --hold-stdin "" -- \
        "$BIN" --dev "$TCP_DEV" --addr "$TCP_LIB_V4" --listen "$t_port"
    t_lpid=$NETNS_LASTPID
    tcp_wait_attached 10
    ip netns exec "$K" timeout 60 python3 "$peer" kernel connect "$TCP_LIB_V4" "$t_port" \
        --refused-port $((t_port + 1000)) --send "$NETNS_TMP/small.bin" --rst-after 100000 \
        --timeout 30 >"$t_d/kernel.log" 2>&1
    t_krc=$?
    netns_wait_pid "$t_lpid" 30
    t_lrc=$(tcp_get "$t_d/lib.log" rc)
    t_why=""
    [ "$t_krc" = 0 ] || t_why="$t_why kernel-side exit $t_krc;"
    grep -q "refused, as expected" "$t_d/kernel.log" ||
        t_why="$t_why the kernel was not refused on a closed library port;"
    case "$t_lrc" in ''|0) t_why="$t_why mptcp-tun exit ${t_lrc:-none}, expected non-zero;" ;; esac
    grep -q "mptcp-tun: connection reset" "$t_d/lib.log" ||
        t_why="$t_why no 'connection reset' on stderr;"
    if [ -z "$t_why" ]; then row_done "$t_label" PASS - "ECONNREFUSED; exit $t_lrc, 'connection reset'"
    else row_done "$t_label" FAIL - "$t_why"; show_logs "$t_d"; fi
}

# refused: the library connects to a kernel port nobody listens on.
refused() {
    row_n=$((row_n + 1)); t_port=$((5000 + row_n))
    t_d="$NETNS_TMP/row$row_n"; mkdir -p "$t_d"
    t_label="client connect to closed kernel port"
    echo "--> $t_label"
    ip netns exec "$H" timeout 30 python3 "$peer" lib -- \
        "$BIN" --dev "$TCP_DEV" --addr "$TCP_LIB_V4" --connect "$TCP_KERN_V4:$t_port" \
        >"$t_d/lib.log" 2>&1
    t_lrc=$(tcp_get "$t_d/lib.log" rc)
    t_why=""
    case "$t_lrc" in ''|0) t_why="$t_why mptcp-tun exit ${t_lrc:-none}, expected non-zero;" ;; esac
    grep -q "mptcp-tun: connection refused" "$t_d/lib.log" ||
        t_why="$t_why no 'connection refused' on stderr;"
    if [ -z "$t_why" ]; then row_done "$t_label" PASS - "exit $t_lrc, 'connection refused'"
    else row_done "$t_label" FAIL - "$t_why"; show_logs "$t_d"; fi
}

ROWS=${TCP_INTEROP_ROWS:-v4 loss v6 rst refused}
for g in $ROWS; do
    case $g in v4|loss|v6|rst|refused) ;;
    *) echo "FAIL: unknown TCP_INTEROP_ROWS group '$g' (v4 loss v6 rst refused)"; exit 1 ;;
    esac
done
# want <group>: true when TCP_INTEROP_ROWS includes the group.
want() {
    case " $ROWS " in *" $1 "*) return 0 ;; esac
    return 1
}
# Row numbers (hence ports and seeds) stay those of the full run whatever
# subset runs, so a failing row reproduces with the same --seed.
for role in client server; do
    for dir in up down; do
        if want v4; then transfer $role $dir 4 0 big; else row_n=$((row_n + 1)); fi
    done
done
for role in client server; do
    for dir in up down; do
        if want loss; then transfer $role $dir 4 "$LOSS" small; else row_n=$((row_n + 1)); fi
    done
done
# IPv6: one row per direction, each role once, at the smaller size.
if want v6; then
    transfer client up 6 0 small pcap
    transfer server down 6 0 small pcap
else
    row_n=$((row_n + 2))
fi
if want rst; then rst_client; rst_server; else row_n=$((row_n + 2)); fi
if want refused; then refused; fi

T1=$(date +%s)
echo
echo "TCP interop matrix (libmptcp via mptcp-tun <-> Linux $(uname -r) TCP), $((T1 - T0)) s:"
printf '%-46s %-5s %6s  %s\n' "role   direction   family loss  size" result "MB/s" notes
cat "$matrix"
if [ $fails = 0 ]; then
    echo "tcp interop: PASS"
    exit 0
fi
echo "tcp interop: FAIL ($fails rows)"
exit 1
