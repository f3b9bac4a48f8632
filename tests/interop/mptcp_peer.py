#!/usr/bin/env python3
"""mptcp_peer.py - both ends of the MPTCP interop test (stdlib only).

  gen FILE BYTES SEED
      writes BYTES pseudo-random bytes (random.Random(SEED)) to FILE

  kernel serve|connect ADDR PORT [options]
      the Linux kernel's MPTCP side: socket(AF_INET, SOCK_STREAM,
      IPPROTO_MPTCP), run in the kernel's namespace.
      --send FILE       send FILE, shut down writing, read the peer's bytes to
                        EOF (they must equal --expect-reply)
      --recv            read to EOF (hash it), then close
      --expect-reply S  what the peer sends after our EOF (default: nothing)
      --linger0-after N after N bytes received (recv) or sent (send), close
                        with SO_LINGER {1, 0}: on an MPTCP socket the kernel
                        sends MP_FASTCLOSE
      --expect-reset    the peer aborts (MP_FASTCLOSE): a reset must end the
                        transfer; RESULT says reset=1
      --exec-after N CMD  run the shell command CMD once N bytes went through
                        (e.g. `ip mptcp endpoint delete id 2` mid-transfer)
      --plain           a plain TCP socket (IPPROTO_TCP)
      --timeout S       give up after S seconds (default 120)
      While the data flows it samples MPTCP_INFO (SOL_MPTCP 284, option 1)
      and keeps the largest subflow count; at the end (before close) it reads
      the subflows' addresses (MPTCP_SUBFLOW_ADDRS) and tcp_info
      (MPTCP_TCPINFO): RESULT carries subflows_max, the final MPTCP_INFO
      fields, sf=LADDR:LPORT>RADDR:RPORT/ACKED/RECEIVED,... for each one, and
      ss_backup: the subflows `ss -tni` shows with the peer's backup flag.

  lib [--stdin FILE | --hold-stdin TEXT] -- COMMAND...
      runs the library side (mptcp-tun) with stdin from FILE, or from a pipe
      held open until COMMAND's stdout reaches EOF, then TEXT is written and
      the pipe closed (so the peer closes first); hashes COMMAND's stdout.

Every mode prints one line "RESULT key=value ..." on stdout and exits 0 when
its own checks passed.
"""
import ctypes
import hashlib
import os
import re
import socket
import struct
import subprocess
import sys
import time

# Shared with the TCP interop peer (same directory): data generation,
# result lines, SO_LINGER 0 and the library-side runner.
from tcp_peer import CHUNK, cmd_gen, cmd_lib, linger0_close, result  # noqa: E402

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
MPTCP_TCPINFO = 2
MPTCP_SUBFLOW_ADDRS = 3
MPTCP_INFO_FLAG_FALLBACK = 1
MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED = 2


def die(msg):
    print("mptcp_peer: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def mptcp_info(sock):
    """struct mptcp_info (linux/mptcp.h), the fields every kernel since 5.16
    has: the first 43 bytes. None when the socket is not MPTCP."""
    try:
        raw = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 256)
    except OSError:
        return None
    if len(raw) < 43:
        return None
    (subflows, signal, accepted, sf_max, signal_max, accepted_max, flags, token, write_seq,
     snd_una, rcv_nxt, addr_used, addr_max, csum) = struct.unpack_from("=6B2xIIQQQBBB", raw)
    return {"subflows": subflows, "add_addr_signal": signal, "add_addr_accepted": accepted,
            "subflows_max": sf_max, "add_addr_accepted_max": accepted_max, "flags": flags,
            "token": token, "csum": csum, "local_addr_used": addr_used}


def subflow_data(sock, optname, size_user):
    """MPTCP_TCPINFO / MPTCP_SUBFLOW_ADDRS: struct mptcp_subflow_data (16
    bytes: size_subflow_data, num_subflows, size_kernel, size_user) then
    num_subflows records of size_user bytes."""
    want = 16 + 8 * size_user
    # Python's getsockopt cannot pass the input header: call libc directly.
    buf = ctypes.create_string_buffer(struct.pack("=IIII", 16, 0, 0, size_user), want)
    optlen = ctypes.c_uint32(want)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.getsockopt(sock.fileno(), SOL_MPTCP, optname, buf, ctypes.byref(optlen)) != 0:
        print("mptcp_peer: getsockopt(SOL_MPTCP, %d): %s" %
              (optname, os.strerror(ctypes.get_errno())), flush=True)
        return []
    raw = buf.raw[:optlen.value]
    if len(raw) < 16:
        return []
    _, num, _, size = struct.unpack_from("=IIII", raw)
    out = []
    for i in range(num):
        off = 16 + i * size
        if off + size > len(raw):
            break
        out.append(raw[off:off + size])
    return out


def sockaddr_str(b):
    fam = struct.unpack_from("=H", b)[0]
    if fam == socket.AF_INET:
        port = struct.unpack_from("!H", b, 2)[0]
        return "%s:%d" % (socket.inet_ntop(socket.AF_INET, b[4:8]), port)
    if fam == socket.AF_INET6:
        port = struct.unpack_from("!H", b, 2)[0]
        return "[%s]:%d" % (socket.inet_ntop(socket.AF_INET6, b[8:24]), port)
    return "?"


def subflows(sock):
    """LADDR:LPORT>RADDR:RPORT/bytes_acked/bytes_received per subflow."""
    # struct mptcp_subflow_addrs: two unions of sockaddr_storage (128 bytes).
    addrs = subflow_data(sock, MPTCP_SUBFLOW_ADDRS, 256)
    # struct tcp_info: tcpi_bytes_acked at 120, tcpi_bytes_received at 128.
    infos = subflow_data(sock, MPTCP_TCPINFO, 232)
    out = []
    for i, a in enumerate(addrs):
        acked = rcvd = -1
        if i < len(infos) and len(infos[i]) >= 136:
            acked, rcvd = struct.unpack_from("=QQ", infos[i], 120)
        out.append("%s>%s/%d/%d" % (sockaddr_str(a[:128]), sockaddr_str(a[128:]), acked, rcvd))
    return out


class Watch:
    """Samples MPTCP_INFO during the transfer and runs --exec-after."""

    def __init__(self, sock, exec_after):
        self.sock = sock
        self.sf_max = 0
        self.next_sample = 0
        self.exec_after = exec_after
        self.exec_rc = None

    def tick(self, nbytes):
        if nbytes >= self.next_sample:
            self.next_sample = nbytes + 256 * 1024
            info = mptcp_info(self.sock)
            if info:
                self.sf_max = max(self.sf_max, info["subflows"])
        if self.exec_after and nbytes >= self.exec_after[0] and self.exec_rc is None:
            r = subprocess.run(self.exec_after[1], shell=True, capture_output=True, text=True,
                               timeout=10)
            self.exec_rc = r.returncode
            print("mptcp_peer: at %d bytes ran '%s': exit %d %s" %
                  (nbytes, self.exec_after[1], r.returncode, (r.stdout + r.stderr).strip()),
                  flush=True)


def ss_backup(sock):
    """How many of this connection's subflows `ss -tni` shows with the
    peer's backup flag (tcp-ulp-mptcp flags: B = the peer's MP_JOIN backup
    bit or MP_PRIO, b = our own)."""
    port = sock.getsockname()[1]
    try:
        out = subprocess.run(["ss", "-Htni", "( sport = :%d or dport = :%d )" % (port, port)],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return -1
    return len(re.findall(r"tcp-ulp-mptcp flags:[A-Za-z]*B", out))


def final_view(sock, watch):
    info = mptcp_info(sock) or {}
    sfs = subflows(sock)
    watch.sf_max = max(watch.sf_max, info.get("subflows", 0))
    kv = {"subflows_max": watch.sf_max + 1 if info else 0,
          "fallback": int(bool(info.get("flags", 0) & MPTCP_INFO_FLAG_FALLBACK)) if info else 1,
          "csum": info.get("csum", -1), "add_addr_signal": info.get("add_addr_signal", -1),
          "add_addr_accepted": info.get("add_addr_accepted", -1),
          "sf": ",".join(sfs) if sfs else "-", "ss_backup": ss_backup(sock),
          "exec_rc": "-" if watch.exec_rc is None else watch.exec_rc}
    print("mptcp_peer: MPTCP_INFO %s; subflows %s" % (info, sfs), flush=True)
    return kv


def cmd_kernel(args):
    if len(args) < 3 or args[0] not in ("serve", "connect"):
        die("usage: kernel serve|connect ADDR PORT [options]")
    role, addr, port = args[0], args[1], int(args[2])
    opts = {"send": None, "recv": False, "expect_reply": "", "linger0_after": None,
            "exec_after": None, "plain": False, "expect_reset": False, "timeout": 120.0}
    i = 3
    while i < len(args):
        a = args[i]
        if a in ("--recv", "--plain", "--expect-reset"):
            opts[a[2:].replace("-", "_")] = True
            i += 1
            continue
        if a == "--exec-after":
            if i + 2 >= len(args):
                die("--exec-after needs BYTES CMD")
            opts["exec_after"] = (int(args[i + 1]), args[i + 2])
            i += 3
            continue
        if i + 1 >= len(args):
            die("%s needs an argument" % a)
        v = args[i + 1]
        i += 2
        if a == "--send":
            opts["send"] = v
        elif a == "--expect-reply":
            opts["expect_reply"] = v
        elif a == "--linger0-after":
            opts["linger0_after"] = int(v)
        elif a == "--timeout":
            opts["timeout"] = float(v)
        else:
            die("unknown option " + a)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    proto = socket.IPPROTO_TCP if opts["plain"] else IPPROTO_MPTCP
    deadline = time.monotonic() + opts["timeout"]

    if role == "serve":
        ls = socket.socket(fam, socket.SOCK_STREAM, proto)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # The wildcard address, and the listener stays open for the whole
        # connection: Linux handles MP_JOIN SYNs (to any of its addresses)
        # through the listening socket of the port.
        ls.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
        ls.listen(1)
        ls.settimeout(opts["timeout"])
        print("mptcp_peer: listening on %s port %d" % (addr, port), flush=True)
        sock, _ = ls.accept()
    else:
        # The library may not be listening yet: retry refused connects.
        while True:
            sock = socket.socket(fam, socket.SOCK_STREAM, proto)
            sock.settimeout(10)
            try:
                sock.connect((addr, port))
                break
            except (ConnectionRefusedError, socket.timeout) as e:
                sock.close()
                if time.monotonic() > deadline - 1:
                    die("connect: %s" % e)
                time.sleep(0.05)
    t0 = time.monotonic()
    sock.settimeout(max(1.0, deadline - time.monotonic()))
    watch = Watch(sock, opts["exec_after"])
    watch.tick(0)

    h = hashlib.sha256()
    nbytes = 0
    if opts["send"]:
        with open(opts["send"], "rb") as f:
            try:
                while True:
                    want = CHUNK // 4
                    if opts["linger0_after"] is not None:
                        want = min(want, opts["linger0_after"] - nbytes)
                    buf = f.read(want) if want > 0 else b""
                    if not buf:
                        break
                    sock.sendall(buf)
                    h.update(buf)
                    nbytes += len(buf)
                    watch.tick(nbytes)
            except (ConnectionResetError, BrokenPipeError) as e:
                if not opts["expect_reset"]:
                    die("send: %s after %d bytes" % (e, nbytes))
                result(mode="send-reset", reset=1, bytes=nbytes,
                       secs="%.3f" % (time.monotonic() - t0))
                return 0
            if opts["linger0_after"] is not None:
                time.sleep(0.3)
                kv = final_view(sock, watch)
                linger0_close(sock)
                result(mode="send-linger0", bytes=nbytes, **kv)
                return 0
        reply = b""
        try:
            sock.shutdown(socket.SHUT_WR)
            while True:
                d = sock.recv(65536)
                if not d:
                    break
                reply += d
        except (ConnectionResetError, BrokenPipeError, OSError) as e:
            # Everything fitted in the socket buffer before the peer aborted.
            if not opts["expect_reset"]:
                die("after sending: %s" % e)
            result(mode="send-reset", reset=1, bytes=nbytes,
                   secs="%.3f" % (time.monotonic() - t0))
            return 0
        if opts["expect_reset"]:
            die("sent everything (%d bytes) and got EOF: the peer did not reset" % nbytes)
        secs = time.monotonic() - t0
        kv = final_view(sock, watch)
        sock.close()
        ok = reply == opts["expect_reply"].encode()
        result(mode="send", bytes=nbytes, sha256=h.hexdigest(), secs="%.3f" % secs,
               reply_ok=int(ok), **kv)
        if not ok:
            die("reply after EOF was %r, expected %r" % (reply[:64], opts["expect_reply"]))
        return 0

    # --recv
    kv = None
    try:
        while True:
            d = sock.recv(CHUNK)
            if not d:
                break
            h.update(d)
            nbytes += len(d)
            watch.tick(nbytes)
            if opts["linger0_after"] is not None and nbytes >= opts["linger0_after"]:
                kv = final_view(sock, watch)
                linger0_close(sock)
                result(mode="recv-linger0", bytes=nbytes, **kv)
                return 0
    except ConnectionResetError as e:
        if not opts["expect_reset"]:
            die("recv: %s after %d bytes" % (e, nbytes))
        result(mode="recv-reset", reset=1, bytes=nbytes, secs="%.3f" % (time.monotonic() - t0))
        return 0
    secs = time.monotonic() - t0
    kv = final_view(sock, watch)
    sock.close()
    if opts["expect_reset"]:
        die("clean EOF after %d bytes, expected a reset" % nbytes)
    if opts["linger0_after"] is not None:
        die("EOF after %d bytes before the linger0 point %d" % (nbytes, opts["linger0_after"]))
    result(mode="recv", bytes=nbytes, sha256=h.hexdigest(), secs="%.3f" % secs, **kv)
    return 0


def main():
    if len(sys.argv) < 2:
        die(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen" and len(args) == 3:
        return cmd_gen(*args)
    if cmd == "kernel":
        return cmd_kernel(args)
    if cmd == "lib":
        return cmd_lib(args)
    die(__doc__)


if __name__ == "__main__":
    sys.exit(main())
