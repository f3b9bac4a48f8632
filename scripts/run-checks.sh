#!/bin/sh
# Runs every test step of `make check` in turn and prints one summary line.
# A step is the Check runner or a script tests/*/run-*.sh, fuzz/run-*.sh.
# Exit code of a step: 0 pass, 77 skip (the step prints why), else fail.
# Under CI (CI=true) a skip is a failure: the CI machine has root, TUN and
# the kernel's MPTCP, so nothing there may be skipped.
set -u
O=${1:-build}
export O
pass=0; fail=0; skip=0; failed=""
step() { # step <name> <command...>
    name=$1; shift
    echo "==> $name"
    "$@"; rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "<== $name: PASS"
    elif [ $rc -eq 77 ]; then
        if [ "${CI:-}" = true ]; then fail=$((fail+1)); failed="$failed $name(skipped-under-CI)"; echo "<== $name: SKIP counts as FAIL under CI"
        else skip=$((skip+1)); echo "<== $name: SKIP"; fi
    else fail=$((fail+1)); failed="$failed $name"; echo "<== $name: FAIL (exit $rc)"; fi
}
step unit "$O/check_mptcp"
step lint sh scripts/lint-symbols.sh "$O"/obj/src/*.o
for s in tests/*/run-*.sh fuzz/run-*.sh; do
    [ -f "$s" ] || continue
    step "$s" sh "$s"
done
[ -n "$failed" ] && echo "failed steps:$failed"
echo "checks: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
