#!/bin/sh
# make check step: the demo (tests/sim/demo/demo.c) moves a stream through
# the simulator and verifies it by SHA-256, once as MPTCP over two paths of
# different rates and delays (the default) and once as plain TCP (--tcp).
# Run twice with one seed the MPTCP demo must print the same report and
# write the same pcap; tshark must read both pcaps with no malformed packet,
# no expert error and no bad TCP checksum, and find MP_CAPABLE, MP_JOIN and
# DSS options on both paths of the MPTCP one.
# Exit: 0 pass, 77 skip (no tshark), 1 fail.
set -u
O=${O:-build}
bin=$O/mptcp-demo
pcap=$O/demo-check.pcap
pcap_tcp=$O/demo-check-tcp.pcap
if [ ! -x "$bin" ]; then
    echo "run-demo: $bin missing (make check builds it)"
    exit 1
fi
strip_times() { grep -v -e '^real time' -e '^pcap'; }

r1=$("$bin" --mb 4 --seed 3 --quiet --pcap "$pcap") || { echo "$r1"; echo "run-demo: MPTCP demo failed"; exit 1; }
echo "$r1"
echo "$r1" | grep -q "MATCH" || { echo "run-demo: no SHA-256 match"; exit 1; }
echo "$r1" | grep -q "^connection    MPTCP v1, 2 subflow(s) up" || { echo "run-demo: not MPTCP over 2 subflows"; exit 1; }
[ "$(echo "$r1" | grep -c '^subflow [01] ')" -eq 2 ] || { echo "run-demo: per-subflow lines missing"; exit 1; }
echo "$r1" | grep -q "^aggregate .* of the 70 Mbit/s sum" || { echo "run-demo: aggregate line missing"; exit 1; }
r2=$("$bin" --mb 4 --seed 3 --quiet --pcap "$pcap.2") || exit 1
if [ "$(echo "$r1" | strip_times)" != "$(echo "$r2" | strip_times)" ] || ! cmp -s "$pcap" "$pcap.2"; then
    echo "run-demo: two runs with one seed differ"
    exit 1
fi
rm -f "$pcap.2"

r3=$("$bin" --tcp --mb 4 --seed 3 --quiet --pcap "$pcap_tcp") || { echo "$r3"; echo "run-demo: TCP demo failed"; exit 1; }
echo "$r3"
echo "$r3" | grep -q "MATCH" || { echo "run-demo: no SHA-256 match (--tcp)"; exit 1; }

if ! command -v tshark >/dev/null 2>&1; then
    echo "run-demo: tshark not installed, pcaps not checked"
    exit 77
fi
# TCP desegmentation is off for the MPTCP capture: Wireshark 4.0 reassembles
# each DSS mapping as one PDU and flags a segment retransmitted a second
# time inside an already reassembled mapping as "New fragment overlaps old
# data" (an error) although mapping and bytes are identical.
bad_filter='_ws.malformed || _ws.expert.severity == error || tcp.checksum.status == 0'
n=$(tshark -r "$pcap" 2>/dev/null | wc -l)
bad=$(tshark -r "$pcap" -o tcp.check_checksum:TRUE -o tcp.desegment_tcp_streams:FALSE \
      -Y "$bad_filter" 2>/dev/null | wc -l)
mpc=$(tshark -r "$pcap" -Y 'tcp.options.mptcp.subtype == 0' 2>/dev/null | wc -l)
join=$(tshark -r "$pcap" -Y 'tcp.options.mptcp.subtype == 1 && ip.addr == 10.0.1.1' 2>/dev/null | wc -l)
dss1=$(tshark -r "$pcap" -Y 'tcp.options.mptcp.subtype == 2 && ip.addr == 10.0.1.1 && tcp.len > 0' 2>/dev/null | wc -l)
echo "run-demo: tshark read $n MPTCP packets, $bad malformed/error/bad-checksum;" \
     "$mpc MP_CAPABLE, $join MP_JOIN, $dss1 DSS data segments on path 1"
nt=$(tshark -r "$pcap_tcp" 2>/dev/null | wc -l)
badt=$(tshark -r "$pcap_tcp" -o tcp.check_checksum:TRUE -Y "$bad_filter" 2>/dev/null | wc -l)
echo "run-demo: tshark read $nt TCP packets, $badt malformed/error/bad-checksum"
[ "$n" -gt 100 ] && [ "$bad" -eq 0 ] && [ "$mpc" -ge 3 ] && [ "$join" -ge 3 ] && [ "$dss1" -gt 10 ] &&
    [ "$nt" -gt 100 ] && [ "$badt" -eq 0 ]
