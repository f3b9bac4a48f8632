#!/bin/sh
# make install into a scratch DESTDIR, then build and run a program against
# the installed header and libraries through pkg-config (static and shared).
# Also compiles mptcp.h alone as C11 and as C++ (it must stand alone).
set -eu
O=${O:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make --no-print-directory -s O="$O" install DESTDIR="$tmp" PREFIX=/usr >/dev/null
pc="$tmp/usr/lib/pkgconfig"
cflags=$(PKG_CONFIG_SYSROOT_DIR="$tmp" PKG_CONFIG_LIBDIR="$pc" pkg-config --cflags libmptcp)
libs=$(PKG_CONFIG_SYSROOT_DIR="$tmp" PKG_CONFIG_LIBDIR="$pc" pkg-config --libs libmptcp)
cat > "$tmp/use.c" <<'C'
#include <mptcp.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    mptcp_opt o, back;
    memset(&o, 0, sizeof o);
    o.form = MPTCP_OPT_JOIN_SYN;
    o.u.join.addr_id = 2; o.u.join.token = 0x01020304u; o.u.join.nonce = 0xa0b0c0d0u;
    uint8_t b[40];
    mptcp_ssize n = mptcp_opt_write(b, sizeof b, &o);
    if (n != 12 || mptcp_opt_parse(b, (size_t)n, &back) != 12 || back.u.join.token != 0x01020304u)
        return 1;
    uint32_t token = 0;
    mptcp_key_derive(1, 0x0102030405060708ull, &token, NULL);
    printf("installed libmptcp %s works: MP_JOIN SYN %d bytes, token %08x\n",
           MPTCP_VERSION_STRING, (int)n, (unsigned)token);
    return token == 0;
}
C
cc -std=c11 -Wall -Werror $cflags "$tmp/use.c" "$tmp/usr/lib/libmptcp.a" -o "$tmp/use-static"
"$tmp/use-static"
cc -std=c11 -Wall -Werror $cflags "$tmp/use.c" $libs -o "$tmp/use-shared"
LD_LIBRARY_PATH="$tmp/usr/lib" "$tmp/use-shared"
printf '#include <mptcp.h>\n#include <linux/mptcp.h>\nint main(void){return 0;}\n' > "$tmp/alone.c"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -c "$tmp/alone.c" -o "$tmp/alone.o"
cp "$tmp/alone.c" "$tmp/alone.cc"
c++ -Wall -Wextra -Werror $cflags -c "$tmp/alone.cc" -o "$tmp/alone-cc.o"
echo "install: header alone (C11, C++, beside <linux/mptcp.h>), static and shared link OK"
