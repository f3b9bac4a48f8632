#!/bin/sh
# tshark conformance: one segment per option form libmptcp encodes goes into
# a pcap (tshark_gen); tshark dissects it and compare_pdml.py checks every
# field Wireshark decodes against what was encoded. Exit 0 pass, 77 skip
# (tshark or python3 missing), 1 fail.
set -u
O=${O:-build}
if ! command -v tshark >/dev/null 2>&1; then
    echo "skip: tshark is not installed (apt-get install tshark)"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "skip: python3 is not installed"
    exit 77
fi
gen="$O/tshark/tshark_gen"
if [ ! -x "$gen" ]; then
    echo "FAIL: $gen is not built (make O=$O check-build)"
    exit 1
fi
out="$O/tshark"
tshark -v 2>/dev/null | head -n 1
"$gen" "$out/forms.pcap" "$out/forms.expect" || { echo "FAIL: tshark_gen failed"; exit 1; }
python3 tests/tshark/compare_pdml.py "$out/forms.pcap" "$out/forms.expect" || exit 1
exit 0
