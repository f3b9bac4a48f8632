#!/bin/sh
# run-kernel-capture.sh - pins libmptcp's codec and crypto to the Linux
# kernel's bytes. Two namespaces (cli, srv) joined by two veth pairs (two
# paths); a kernel MPTCP v1 connection with an extra subflow (client
# endpoint "subflow") and an ADD_ADDR (server endpoint "signal"); every frame
# captured in the client namespace (AF_PACKET); then kcap_verify parses each
# segment with our codec and checks tokens, IDSNs, HMACs, TCP and DSS
# checksums, and re-encodes every option. Two rounds: DSS checksums off, on.
# Exit: 0 pass, 77 skip (no root / netns / kernel MPTCP), else fail.
# Env: O (build dir, default build), KCAP_SEEDS=<dir> writes fuzz seeds,
#      NETNS_KEEP=1 keeps the temp dir with the pcaps.
set -u
here=$(dirname "$0")
O=${O:-build}
. "$here/netns.sh"

netns_require || exit $?
verify="$O/kcap_verify"
if [ ! -x "$verify" ]; then
    echo "FAIL: $verify is not built (make O=$O check-build)"; exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "FAIL: python3 is missing"; exit 1; }
peer="$here/kernel_peer.py"

echo "kernel $(uname -r); python3 peer, AF_PACKET capture in the client namespace"
netns_init kcap || { echo "FAIL: cannot create a temp dir"; exit 1; }

# round <name> <checksum 0|1>: one capture + verification. Returns 0 or 1.
round() {
    r_r=$1; r_csum=$2; r_d="$NETNS_TMP/$r_r"
    mkdir -p "$r_d"
    netns_add cli "$r_r-cli" && netns_add srv "$r_r-srv" || return 1
    # Path A: 10.77.1.0/24 (initial subflow); path B: 10.77.2.0/24.
    netns_veth "$cli" pa 10.77.1.1/24 "$srv" pa 10.77.1.2/24 || return 1
    netns_veth "$cli" pb 10.77.2.1/24 "$srv" pb 10.77.2.2/24 || return 1
    netns_exec "$cli" python3 "$peer" offload pa pb || return 1
    netns_exec "$srv" python3 "$peer" offload pa pb || return 1
    netns_mptcp "$cli" "$r_csum" && netns_mptcp "$srv" "$r_csum" || return 1
    netns_mptcp_endpoint "$cli" 10.77.2.1 pb subflow || return 1
    netns_mptcp_endpoint "$srv" 10.77.2.2 pb signal || return 1

    netns_bg "$cli" "$r_d/capture.log" python3 "$peer" capture "$r_d/cap.pcap" "$r_d/ready"
    r_cap=$NETNS_LASTPID
    netns_wait_file "$r_d/ready" 5 || { echo "capture did not start"; cat "$r_d/capture.log"; return 1; }
    netns_bg "$srv" "$r_d/server.log" python3 "$peer" server 10.77.1.2 8080 262144
    r_srvpid=$NETNS_LASTPID
    # Wait for the listener rather than sleeping a fixed time.
    r_t=50
    while [ $r_t -gt 0 ] && ! netns_exec "$srv" ss -Hltn 'sport = :8080' | grep -q 8080; do
        sleep 0.1; r_t=$((r_t - 1))
    done
    netns_exec "$cli" python3 "$peer" client 10.77.1.2 8080 2097152 >"$r_d/client.log" 2>&1
    r_crc=$?
    netns_wait_pid "$r_srvpid" 20; r_src=$?
    sleep 0.5 # the last DATA_ACKs and FIN/ACKs
    kill -TERM "$r_cap" 2>/dev/null
    netns_wait_pid "$r_cap" 5; r_caprc=$?
    cat "$r_d/client.log" "$r_d/server.log" "$r_d/capture.log"
    [ $r_crc = 0 ] || { echo "client failed (exit $r_crc)"; return 1; }
    [ $r_src = 0 ] || { echo "server failed (exit $r_src)"; return 1; }
    [ $r_caprc = 0 ] || { echo "capture failed (exit $r_caprc)"; return 1; }
    r_seeds=""
    [ -n "${KCAP_SEEDS:-}" ] && r_seeds="--seeds $KCAP_SEEDS --seed-prefix kernel-$r_r-"
    r_vcsum=""
    [ "$r_csum" = 1 ] && r_vcsum="--expect-dss-csum"
    # shellcheck disable=SC2086
    "$verify" --bytes 2097152:262144 $r_vcsum $r_seeds "$r_d/cap.pcap" || return 1
    # The verifier must reject the same capture with one HMAC bit and one
    # payload bit flipped (TCP checksum, ADD_ADDR HMAC, DSS checksum).
    python3 "$peer" corrupt "$r_d/cap.pcap" "$r_d/bad.pcap" || return 1
    # shellcheck disable=SC2086
    "$verify" --bytes 2097152:262144 $r_vcsum "$r_d/bad.pcap" >"$r_d/bad.log" 2>&1
    r_bad=$?
    if [ $r_bad != 1 ]; then
        echo "the verifier did not reject a corrupted capture (exit $r_bad)"; cat "$r_d/bad.log"
        return 1
    fi
    for r_what in "TCP checksum verifies" "ADD_ADDR HMAC" ${r_vcsum:+"DSS checksum"}; do
        if ! grep -q "^FAIL \[$r_what" "$r_d/bad.log"; then
            echo "the corrupted capture did not fail '$r_what'"; cat "$r_d/bad.log"
            return 1
        fi
    done
    echo "negative control: the corrupted capture is rejected ($(grep -c '^FAIL' "$r_d/bad.log") failures reported)"
    ip netns del "$cli"; ip netns del "$srv"
    return 0
}

rc=0
echo "--- round 1: DSS checksums off"
round plain 0 || rc=1
echo "--- round 2: DSS checksums on (net.mptcp.checksum_enabled=1)"
round csum 1 || rc=1
[ $rc = 0 ] && echo "kernel capture: PASS" || echo "kernel capture: FAIL"
exit $rc
