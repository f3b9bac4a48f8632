#!/bin/sh
# Builds and runs tests/test_scn_mptcp.c with its draft scenarios
# (scn_mptcp.c.draft here) against the optimized library, outside `make
# check`: the drafts are scenarios that do not pass yet.
#   sh tests/sim/mptcp_drafts/build-drafts.sh [O=build-dir]
# CK_RUN_CASE=drafts runs the drafts alone.
set -eu
O=${O:-build}
make -s O="$O" lib
out=$O/scn-mptcp-drafts
mkdir -p "$out"
cat > "$out/main.c" <<'EOC'
#include <check.h>
#include <stdlib.h>
Suite *scn_mptcp_suite(void);
int main(void)
{
    SRunner *sr = srunner_create(scn_mptcp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
EOC
${CC:-cc} -std=gnu11 -O1 -g -Wall -Wextra -Wshadow -Wvla -Werror -DSCN_MPTCP_DRAFTS -I. -Isrc -Itests \
    $(pkg-config --cflags check) -o "$out/run" tests/test_scn_mptcp.c "$out/main.c" \
    tests/sim/*.c tests/helpers/pcap.c "$O/libmptcp.a" $(pkg-config --libs check)
exec "$out/run"
