#!/bin/sh
# `make fuzz-smoke`: run each libFuzzer target for a bounded time on a COPY
# of its committed corpus (fuzz/corpus/<t>/ is never written), a few
# targets at a time, and fail if any run crashes, times out or leaks.
#   smoke.sh <O> <seconds-per-target> <parallel-jobs> <target>...
#   smoke.sh --one <O> <seconds> <target>     (one run; used via xargs)
set -u
if [ "${1:-}" = --one ]; then
    O=$2; secs=$3; t=$4
    work=$O/fuzz/smoke/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "fuzz/corpus/$t" ]; then
        find "fuzz/corpus/$t" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
    fi
    # Per-input wall-clock limit: a hang, not a slow input on a busy machine
    # (a mptcp_pair input can drain 20 simulated minutes of tiny segments).
    "$O/fuzz/$t" -max_total_time="$secs" -timeout="${FUZZ_SMOKE_TIMEOUT:-30}" -rss_limit_mb=2048 -max_len=4096 \
        -dict=fuzz/mptcp.dict -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
        "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz-smoke $t: ok, ${execs:-?} runs, ${rate:-?} exec/s, ${cov:-no coverage line}"
        exit 0
    fi
    echo "fuzz-smoke $t: FAILED (exit $rc), log $work/log"
    ls "$work/artifacts/" | sed "s|^|    artifact: $work/artifacts/|"
    grep -E 'invariant failed|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer' "$work/log" |
        head -5 | sed 's/^/    /'
    exit 1
fi

O=$1; secs=$2; jobs=$3; shift 3
[ $# -gt 0 ] || { echo "fuzz-smoke: no targets"; exit 1; }
start=$(date +%s)
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh "$0" --one "$O" "$secs" {}
rc=$?
echo "fuzz-smoke: $# targets in $(( $(date +%s) - start )) s"
[ $rc -eq 0 ]
