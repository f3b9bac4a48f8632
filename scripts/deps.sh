#!/bin/sh
# Make sure the tools that `make check`, `make fuzz-smoke` and `make cross`
# need are present. As root, install the missing Debian packages (one
# apt-get update, one apt-get install); otherwise print the line to run.
set -u
missing=""
need() { # need <command-or-test> <package>
    if ! sh -c "$1" >/dev/null 2>&1; then missing="$missing $2"; fi
}
need 'command -v pkg-config'                pkg-config
need 'pkg-config --exists check'            check
need 'command -v clang'                     clang
need 'test -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a || ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' libclang-rt-dev
need 'command -v tshark'                    tshark
need 'command -v arm-none-eabi-gcc'         gcc-arm-none-eabi
need 'test -e /usr/lib/arm-none-eabi/include/string.h' libnewlib-arm-none-eabi
need 'command -v ip'                        iproute2
need 'command -v tcpdump'                   tcpdump
need 'command -v sha256sum'                 coreutils
need 'command -v python3'                   python3
missing=$(echo $missing | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -z "$(echo $missing | tr -d ' ')" ] && exit 0
line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$( for p in $missing; do printf ' %s' "$p"; done)"
if [ "$(id -u)" = 0 ]; then
    echo "deps: installing:$missing"
    # tshark asks whether non-root users may capture; answer no, quietly.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    sh -c "$line" || { echo "deps: apt-get failed" >&2; exit 1; }
else
    echo "deps: missing tools; run as root:" >&2
    echo "  $line" >&2
    exit 1
fi
