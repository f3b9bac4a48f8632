#!/bin/sh
# `make check` step: replay every fuzz target's committed corpus
# (fuzz/corpus/<t>/, every file) through its gcc-built ASan+UBSan binary
# $O/fuzz/replay-<t>. A crash, a sanitizer report or a broken invariant in
# any input fails the step. Exit 0 pass, 1 fail.
set -u
cd "$(dirname "$0")/.." || exit 1
O=${O:-build}
fail=0; n=0
for src in fuzz/*.c; do
    t=$(basename "$src" .c)
    [ "$t" = replay ] && continue
    n=$((n + 1))
    bin=$O/fuzz/replay-$t
    if [ ! -x "$bin" ]; then
        echo "run-replay: $bin missing (make O=$O check-build builds it)"
        fail=1
        continue
    fi
    if [ ! -d "fuzz/corpus/$t" ] || [ -z "$(ls -A "fuzz/corpus/$t")" ]; then
        echo "run-replay: $t has no committed corpus in fuzz/corpus/$t"
        fail=1
        continue
    fi
    "$bin" "fuzz/corpus/$t" || { echo "run-replay: $t FAILED"; fail=1; }
done
echo "run-replay: $n targets, $([ $fail -eq 0 ] && echo ok || echo FAILED)"
exit $fail
