#!/usr/bin/env python3
"""kernel_peer.py - the Linux side of the kernel interop tests (stdlib only).

Subcommands, each run inside a network namespace by the test script:
  offload DEV...            turn off TX checksum offload, SG, TSO, GSO and GRO
                            so a capture shows each segment as sent, with its
                            final TCP checksum (legacy SIOCETHTOOL ioctls; no
                            ethtool binary needed)
  capture OUT.pcap READY    AF_PACKET capture of every interface of the
                            namespace into a pcap (LINKTYPE_ETHERNET, full
                            frames) until SIGTERM; touches READY when armed
  server ADDR PORT REPLY    one kernel MPTCP (IPPROTO_MPTCP = 262) connection:
                            reads to EOF, checks the pattern, sends REPLY bytes
  corrupt IN.pcap OUT.pcap  a copy with one ADD_ADDR HMAC bit and one
                            payload bit flipped (the verifier must fail it)
  client ADDR PORT BYTES    connects with MPTCP, sends BYTES of the pattern
                            while waiting for an extra subflow and an accepted
                            ADD_ADDR, half-closes, reads the reply, checks it
The kernel, not this script, produces every MPTCP option on the wire.
"""
import ctypes
import fcntl
import hashlib
import os
import signal
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
MPTCP_INFO_FLAG_FALLBACK = 1

SIOCETHTOOL = 0x8946
# Legacy ethtool commands (include/uapi/linux/ethtool.h): (get, set, name)
ETHTOOL_FEATURES = [
    (0x16, 0x17, "tx-checksum"),
    (0x18, 0x19, "scatter-gather"),
    (0x1E, 0x1F, "tso"),
    (0x23, 0x24, "gso"),
    (0x2B, 0x2C, "gro"),
]


def die(msg):
    print("kernel_peer: " + msg, file=sys.stderr)
    sys.exit(1)


def ethtool(sock, dev, cmd, value=0):
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, value))
    ifr = struct.pack("16sP", dev.encode(), ctypes.addressof(buf))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifr)
    return struct.unpack("II", buf.raw[:8])[1]


def cmd_offload(devs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for dev in devs:
        for get, set_, name in ETHTOOL_FEATURES:
            try:
                ethtool(s, dev, set_, 0)
            except OSError as e:
                die("%s: cannot turn off %s: %s" % (dev, name, e))
        for get, set_, name in ETHTOOL_FEATURES:
            if ethtool(s, dev, get) != 0:
                die("%s: %s is still on after turning it off" % (dev, name))
    return 0


def pattern(n, seed):
    """n deterministic bytes: SHA-256 in counter mode over |seed|."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed + struct.pack(">Q", i)).digest()
        i += 1
    return bytes(out[:n])


def mptcp_info(sock):
    raw = sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 64)
    subflows, sig, acc, sub_max, sig_max, acc_max = struct.unpack_from("6B", raw, 0)
    flags = struct.unpack_from("I", raw, 8)[0]
    return {"subflows": subflows, "add_addr_signal": sig, "add_addr_accepted": acc,
            "flags": flags}


def recv_all(conn):
    chunks = []
    while True:
        b = conn.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def cmd_server(addr, port, reply_len):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # ADDR is where clients connect; the listener takes every local address
    # so that MP_JOINs to the announced (ADD_ADDR) address find it.
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(1)
    ls.settimeout(20)
    conn, peer = ls.accept()
    conn.settimeout(20)
    data = recv_all(conn)
    want = pattern(len(data), b"client")
    if data != want:
        die("server: received %d bytes that differ from the pattern" % len(data))
    info = mptcp_info(conn)
    conn.sendall(pattern(int(reply_len), b"server"))
    conn.shutdown(socket.SHUT_WR)
    rest = recv_all(conn)
    conn.close()
    ls.close()
    print("server: received %d bytes from %s, sent %d, info %s" %
          (len(data), peer[0], int(reply_len), info))
    if rest:
        die("server: unexpected %d bytes after EOF" % len(rest))
    if info["flags"] & MPTCP_INFO_FLAG_FALLBACK:
        die("server: connection fell back to plain TCP")
    return 0


def cmd_client(addr, port, nbytes):
    nbytes = int(nbytes)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    s.settimeout(20)
    s.connect((addr, int(port)))
    data = pattern(nbytes, b"client")
    chunk = 16384
    off = 0
    # Keep data flowing until the extra subflows exist and the server's
    # ADD_ADDR was accepted, so the capture shows joins and data on them.
    deadline = time.monotonic() + 10
    info = mptcp_info(s)
    while True:
        info = mptcp_info(s)
        ready = info["subflows"] >= 2 and info["add_addr_accepted"] >= 1
        if ready and off >= nbytes // 2:
            break
        if time.monotonic() > deadline:
            break
        if off < nbytes // 2:
            s.sendall(data[off:off + chunk])
            off += chunk
        time.sleep(0.004)
    if info["flags"] & MPTCP_INFO_FLAG_FALLBACK:
        die("client: connection fell back to plain TCP")
    while off < nbytes:
        s.sendall(data[off:off + chunk])
        off += chunk
        time.sleep(0.001)
    s.shutdown(socket.SHUT_WR)
    reply = recv_all(s)
    end = mptcp_info(s)
    s.close()
    print("client: sent %d bytes, got %d, info at join wait %s, at end %s" %
          (nbytes, len(reply), info, end))
    if reply != pattern(len(reply), b"server"):
        die("client: reply differs from the pattern")
    if info["subflows"] < 1 or info["add_addr_accepted"] < 1:
        die("client: no extra subflow or no accepted ADD_ADDR within 10 s: %s" % info)
    return 0


def cmd_capture(out, ready):
    ETH_P_ALL = 3
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    SO_RCVBUFFORCE = 33
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    signal.signal(signal.SIGINT, lambda *a: stop.append(1))
    s.settimeout(0.05)
    n = 0
    with open(out, "wb") as f:
        # pcap global header: magic (us), v2.4, tz 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        open(ready, "w").close()
        while not stop:
            try:
                frame, meta = s.recvfrom(65535)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            if len(frame) < 14:
                continue
            ethertype = struct.unpack_from(">H", frame, 12)[0]
            if ethertype not in (0x0800, 0x86DD):
                continue
            t = time.time()
            sec = int(t)
            usec = int((t - sec) * 1e6)
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)
            n += 1
    PACKET_STATISTICS = 6
    SOL_PACKET = 263
    st = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    packets, drops = struct.unpack("II", st)
    print("capture: %d IP frames written, socket drops %d" % (n, drops))
    if drops:
        die("capture: the socket dropped %d frames; the capture is incomplete" % drops)
    return 0


def cmd_corrupt(src, dst):
    """Copies a pcap, flipping one bit in the first ADD_ADDR HMAC and in the
    last payload byte of the 20th data segment: the verifier must reject it
    (a check that can fail is the only kind worth running)."""
    raw = bytearray(open(src, "rb").read())
    off = 24
    done_aa = False
    data_segs = 0
    done_pl = False
    while off + 16 <= len(raw):
        caplen = struct.unpack_from("<I", raw, off + 8)[0]
        fr = off + 16
        off = fr + caplen
        if struct.unpack_from(">H", raw, fr + 12)[0] != 0x0800 or raw[fr + 23] != 6:
            continue
        ip = fr + 14
        ihl = (raw[ip] & 15) * 4
        tot = struct.unpack_from(">H", raw, ip + 2)[0]
        tcp = ip + ihl
        doff = (raw[tcp + 12] >> 4) * 4
        o = tcp + 20
        while o < tcp + doff:
            kind = raw[o]
            if kind in (0, 1):
                o += 1
                continue
            ln = raw[o + 1]
            if kind == 30 and ln == 16 and raw[o + 2] >> 4 == 3 and not done_aa:
                raw[o + 15] ^= 1
                done_aa = True
            o += max(ln, 2)
        if tot > ihl + doff:
            data_segs += 1
            if data_segs == 20 and not done_pl:
                raw[ip + tot - 1] ^= 0x80
                done_pl = True
    if not (done_aa and done_pl):
        die("corrupt: no ADD_ADDR or fewer than 20 data segments in %s" % src)
    open(dst, "wb").write(raw)
    return 0


def main(argv):
    cmds = {"corrupt": (cmd_corrupt, 2), "offload": (cmd_offload, None), "capture": (cmd_capture, 2),
            "server": (cmd_server, 3), "client": (cmd_client, 3)}
    if len(argv) < 2 or argv[1] not in cmds:
        die("usage: kernel_peer.py offload DEV... | capture OUT READY | "
            "server ADDR PORT REPLY | client ADDR PORT BYTES")
    fn, nargs = cmds[argv[1]]
    args = argv[2:]
    if nargs is None:
        return fn(args)
    if len(args) != nargs:
        die("%s takes %d arguments" % (argv[1], nargs))
    return fn(*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
