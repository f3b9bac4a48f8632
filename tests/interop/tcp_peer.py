#!/usr/bin/env python3
"""tcp_peer.py - both ends of the TCP interop tests (stdlib only).

  gen FILE BYTES SEED
      writes BYTES pseudo-random bytes (random.Random(SEED)) to FILE

  kernel serve|connect ADDR PORT [options]
      the Linux kernel's TCP side (plain TCP sockets), run in its namespace:
      --send FILE       send FILE, shut down writing, then read the peer's
                        bytes to EOF (they must equal --expect-reply)
      --recv            read to EOF (hash it), then close
      --expect-reply S  what the peer sends after our EOF (default: nothing)
      --rst-after N     after N bytes received (recv) or sent (send), close
                        with SO_LINGER {1, 0}: the kernel sends a RST
      --refused-port P  first connect to port P and require ECONNREFUSED
      --timeout S       give up after S seconds (default 120)
      Once connected it runs `ss -tine` for its own socket and prints it, so
      that the test sees what the kernel negotiated (sack, ts, wscale).

  lib [--stdin FILE | --hold-stdin TEXT] -- COMMAND...
      runs the library side (mptcp-tun) with stdin from FILE, or from a pipe
      held open until COMMAND's stdout reaches EOF, then TEXT is written and
      the pipe closed (so the peer closes first); hashes COMMAND's stdout.

Every mode prints one line "RESULT key=value ..." (bytes, sha256, secs, rc,
ss=...) on stdout and exits 0 when its own checks passed.
"""
import hashlib
import random
import re
import shlex
import socket
import struct
import subprocess
import sys
import time

CHUNK = 1 << 20


def die(msg):
    print("tcp_peer: " + msg, file=sys.stderr)
    sys.exit(1)


def result(**kw):
    print("RESULT " + " ".join("%s=%s" % (k, shlex.quote(str(v))) for k, v in kw.items()),
          flush=True)


def cmd_gen(path, nbytes, seed):
    rng = random.Random(int(seed))
    left = int(nbytes)
    with open(path, "wb") as f:
        while left > 0:
            n = min(left, 16 * CHUNK)
            f.write(rng.randbytes(n))
            left -= n
    return 0


def ss_line(sock):
    """`ss -tine` for this socket, its two lines joined. -e (or -o) is needed:
    iproute2 6.1 prints "ts" and "sack" only with the extended output."""
    la, lp = sock.getsockname()[:2]
    ra, rp = sock.getpeername()[:2]
    out = subprocess.run(["ss", "-Htine", "state", "established",
                          "( sport = :%d and dport = :%d )" % (lp, rp)],
                         capture_output=True, text=True, timeout=10).stdout
    return " ".join(out.split())


def ss_flags(line):
    """Which of sack / ts / wscale ss reports."""
    have = []
    if re.search(r"(^| )sack( |$)", line):
        have.append("sack")
    if re.search(r"(^| )ts( |$)", line):
        have.append("ts")
    m = re.search(r"wscale:(\d+),(\d+)", line)
    if m:
        have.append("wscale")
    return have, (m.group(1) + "," + m.group(2)) if m else "-"


def linger0_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def cmd_kernel(args):
    if len(args) < 3 or args[0] not in ("serve", "connect"):
        die("usage: kernel serve|connect ADDR PORT [options]")
    role, addr, port = args[0], args[1], int(args[2])
    opts = {"send": None, "recv": False, "expect_reply": "", "rst_after": None,
            "refused_port": None, "timeout": 120.0}
    i = 3
    while i < len(args):
        a = args[i]
        if a == "--recv":
            opts["recv"] = True
            i += 1
            continue
        if i + 1 >= len(args):
            die("%s needs an argument" % a)
        v = args[i + 1]
        i += 2
        if a == "--send":
            opts["send"] = v
        elif a == "--expect-reply":
            opts["expect_reply"] = v
        elif a == "--rst-after":
            opts["rst_after"] = int(v)
        elif a == "--refused-port":
            opts["refused_port"] = int(v)
        elif a == "--timeout":
            opts["timeout"] = float(v)
        else:
            die("unknown option " + a)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    deadline = time.monotonic() + opts["timeout"]

    if opts["refused_port"] is not None:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((addr, opts["refused_port"]))
            die("connect to closed port %d succeeded" % opts["refused_port"])
        except ConnectionRefusedError:
            print("tcp_peer: connect to closed port %d: refused, as expected" %
                  opts["refused_port"], flush=True)
        except OSError as e:
            die("connect to closed port %d: %s (expected ECONNREFUSED)" %
                (opts["refused_port"], e))
        finally:
            s.close()

    if role == "serve":
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(1)
        ls.settimeout(opts["timeout"])
        print("tcp_peer: listening on %s port %d" % (addr, port), flush=True)
        sock, _ = ls.accept()
        ls.close()
    else:
        # The library may not be listening yet: retry refused connects.
        while True:
            sock = socket.socket(fam, socket.SOCK_STREAM)
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
    line = ss_line(sock)
    have, wscale = ss_flags(line)
    print("tcp_peer: ss: " + line, flush=True)

    h = hashlib.sha256()
    nbytes = 0
    if opts["send"]:
        with open(opts["send"], "rb") as f:
            if opts["rst_after"] is not None:
                data = f.read(opts["rst_after"])
                sock.sendall(data)
                nbytes = len(data)
                time.sleep(0.2)
                linger0_close(sock)
                result(mode="send-rst", bytes=nbytes, ss_opts=",".join(have), wscale=wscale)
                return 0
            while True:
                buf = f.read(CHUNK)
                if not buf:
                    break
                sock.sendall(buf)
                h.update(buf)
                nbytes += len(buf)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            d = sock.recv(65536)
            if not d:
                break
            reply += d
        secs = time.monotonic() - t0
        sock.close()
        ok = reply == opts["expect_reply"].encode()
        result(mode="send", bytes=nbytes, sha256=h.hexdigest(), secs="%.3f" % secs,
               reply_ok=int(ok), ss_opts=",".join(have), wscale=wscale)
        if not ok:
            die("reply after EOF was %r, expected %r" % (reply[:64], opts["expect_reply"]))
        return 0

    # --recv
    while True:
        d = sock.recv(CHUNK)
        if not d:
            break
        h.update(d)
        nbytes += len(d)
        if opts["rst_after"] is not None and nbytes >= opts["rst_after"]:
            linger0_close(sock)
            result(mode="recv-rst", bytes=nbytes, ss_opts=",".join(have), wscale=wscale)
            return 0
    secs = time.monotonic() - t0
    sock.close()
    if opts["rst_after"] is not None:
        die("EOF after %d bytes before the RST point %d" % (nbytes, opts["rst_after"]))
    result(mode="recv", bytes=nbytes, sha256=h.hexdigest(), secs="%.3f" % secs,
           ss_opts=",".join(have), wscale=wscale)
    return 0


def cmd_lib(args):
    stdin_file = None
    hold = None
    while args and args[0] != "--":
        if args[0] == "--stdin" and len(args) > 1:
            stdin_file = args[1]
        elif args[0] == "--hold-stdin" and len(args) > 1:
            hold = args[1]
        else:
            die("lib: unknown option " + args[0])
        args = args[2:]
    if not args or args[0] != "--" or len(args) < 2:
        die("usage: lib [--stdin FILE | --hold-stdin TEXT] -- COMMAND...")
    cmd = args[1:]
    fin = open(stdin_file, "rb") if stdin_file else (subprocess.PIPE if hold is not None
                                                     else subprocess.DEVNULL)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE)
    h = hashlib.sha256()
    nbytes = 0
    while True:
        d = p.stdout.read1(CHUNK)
        if not d:
            break
        h.update(d)
        nbytes += len(d)
    if hold is not None:
        try:
            p.stdin.write(hold.encode())
            p.stdin.close()
        except BrokenPipeError:
            pass
    rc = p.wait()
    secs = time.monotonic() - t0
    result(mode="lib", rc=rc, bytes=nbytes, sha256=h.hexdigest(), secs="%.3f" % secs)
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
