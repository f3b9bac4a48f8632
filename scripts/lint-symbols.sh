#!/bin/sh
# The core keeps no writable global state and exports only mptcp_* names.
# Writable means an object in .data*, .bss* or COMMON; .data.rel.ro* (const
# tables holding pointers, under -fPIC) is read-only after relocation.
set -u
bad=0
for o in "$@"; do
    w=$(objdump -t "$o" | awk -F'\t' '
        NF >= 2 { n = split($1, a, " "); sec = a[n];
                  if (sec ~ /^(\.data|\.bss|\*COM\*)/ && sec !~ /^\.data\.rel\.ro/ && $1 ~ / O /) {
                      m = split($2, b, " "); print b[m] } }' | sort -u)
    [ -n "$w" ] && { echo "lint: writable global in $o: $w"; bad=1; }
    g=$(nm -g --defined-only "$o" | awk '{print $3}' | grep -v '^mptcp_')
    [ -n "$g" ] && { echo "lint: exported name without mptcp_ prefix in $o: $g"; bad=1; }
done
[ $bad -eq 0 ] && echo "lint: ok"
exit $bad
