#!/bin/sh
# make check step: the demo (tests/sim/demo/demo.c) moves a stream through
# the simulator and verifies it by SHA-256; run twice with one seed it must
# print the same report; tshark must read its pcap with no malformed packet,
# no expert error and no bad TCP checksum.
# Exit: 0 pass, 77 skip (no tshark), 1 fail.
set -u
O=${O:-build}
bin=$O/mptcp-demo
pcap=$O/demo-check.pcap
if [ ! -x "$bin" ]; then
    echo "run-demo: $bin missing (make check builds it)"
    exit 1
fi
r1=$("$bin" --mb 4 --seed 3 --quiet --pcap "$pcap") || { echo "$r1"; echo "run-demo: demo failed"; exit 1; }
echo "$r1"
echo "$r1" | grep -q "MATCH" || { echo "run-demo: no SHA-256 match"; exit 1; }
r2=$("$bin" --mb 4 --seed 3 --quiet --pcap "$pcap.2") || exit 1
if [ "$(echo "$r1" | grep -v -e '^real time' -e '^pcap')" != "$(echo "$r2" | grep -v -e '^real time' -e '^pcap')" ] ||
   ! cmp -s "$pcap" "$pcap.2"; then
    echo "run-demo: two runs with one seed differ"
    exit 1
fi
rm -f "$pcap.2"
if ! command -v tshark >/dev/null 2>&1; then
    echo "run-demo: tshark not installed, pcap not checked"
    exit 77
fi
n=$(tshark -r "$pcap" 2>/dev/null | wc -l)
bad=$(tshark -r "$pcap" -o tcp.check_checksum:TRUE \
      -Y '_ws.malformed || _ws.expert.severity == error || tcp.checksum.status == 0' 2>/dev/null | wc -l)
echo "run-demo: tshark read $n packets, $bad malformed/error/bad-checksum"
[ "$n" -gt 100 ] && [ "$bad" -eq 0 ]
