#!/bin/sh
# The core keeps no writable global state and exports only mptcp_* names.
set -u
bad=0
for o in "$@"; do
    w=$(nm "$o" | awk '$2 ~ /^[BbDdC]$/ {print $3}')
    [ -n "$w" ] && { echo "lint: writable global in $o: $w"; bad=1; }
    g=$(nm -g --defined-only "$o" | awk '{print $3}' | grep -v '^mptcp_')
    [ -n "$g" ] && { echo "lint: exported name without mptcp_ prefix in $o: $g"; bad=1; }
done
[ $bad -eq 0 ] && echo "lint: ok"
exit $bad
