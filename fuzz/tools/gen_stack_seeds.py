#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/stack.c into fuzz/corpus/stack/ as seed-*.

Each seed is a script in the byte format fuzz/stack.c reads (see its
LLVMFuzzerTestOneInput, setup_conn and step_* functions): a configuration,
1..4 connections driven by the scripted peer into a chosen state, then steps
of a normal conversation (data both ways, reads, acknowledgements, timers,
orderly and abortive closes, a raw segment, ICMP). The script only writes and
removes files named seed-*; rerun it when the input format changes and
commit the result:  python3 fuzz/tools/gen_stack_seeds.py
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "corpus", "stack")

# setup targets (fuzz/stack.c enum target)
TARGETS = ["syn_sent", "syn_received", "established", "close_wait", "last_ack",
           "fin_wait_1", "fin_wait_2", "closing", "time_wait", "closed"]

# step opcodes (op % 13 in fuzz/stack.c)
OP_TIME, OP_SEG, OP_RAW, OP_SEND, OP_RECV, OP_SHUT, OP_CLOSE, OP_ABORT = 0, 1, 3, 4, 5, 6, 7, 8
OP_NEWCONN, OP_MISC, OP_PEERDATA, OP_ADVANCE = 9, 10, 11, 12


def u8(v):
    return struct.pack(">B", v & 0xff)


def u16(v):
    return struct.pack(">H", v & 0xffff)


def u32(v):
    return struct.pack(">I", v & 0xffffffff)


def u64(v):
    return struct.pack(">Q", v & 0xffffffffffffffff)


def header(seed=1, sack=True, ts=True, ws=True, reno=False, keepalive=False, delack1=False,
           recv_in_cb=False, big=False, sb=16, rb=16, mss=1460, max_conns=8, v6=False,
           timing=0, t0=1000, peer_ts=0x1000):
    cf = (sack << 0) | (ts << 1) | (ws << 2) | (reno << 3) | (keepalive << 4) | \
         (delack1 << 5) | (recv_in_cb << 6) | (big << 7)
    return (u64(seed) + u8(cf) + u8(sb) + u8(rb) + u16(mss - 64) + u8(max_conns - 1) +
            u8(1 if v6 else 0) + u8(timing) + u32(t0) + u32(peer_ts))


def conn(active, target, mss=1460, ws=7, sack=True, ts=True, iss=0x10000000, d_in=0, d_out=0):
    ob = (1 if mss else 0) | (2 if ws is not None else 0) | (4 if sack else 0) | (8 if ts else 0)
    rt = (0x80 if active else 0) | TARGETS.index(target)
    return (u8(rt) + u8(ob) + u16((mss or 64) - 64) + u8(ws or 0) + u32(iss) + u8(d_in // 16) +
            u8(d_out // 16))


def conns(*cs):
    return u8(len(cs) - 1) + b"".join(cs)


def time_next(extra=0):
    return u8(OP_TIME) + u8(3) + u16(extra)


def time_ms(ms):
    return u8(OP_TIME) + u8(2) + u16(ms)


def send(sel, n):
    return u8(OP_SEND) + u8(sel) + u16(n)


def recv(sel, n=0):
    return u8(OP_RECV) + u8(sel) + u16(n)


def shut(sel):
    return u8(OP_SHUT) + u8(sel) + u16(0)


def close(sel):
    return u8(OP_CLOSE) + u8(sel) + u16(0)


def abort(sel):
    return u8(OP_ABORT) + u8(sel) + u16(0)


def ack_all(sel, window=65535):
    return u8(OP_MISC) + u8(3) + u8(sel) + u16(window)


def peer_data(sel, n, fin=False):
    return u8(OP_PEERDATA) + u8(sel) + u16(n) + u8(1 if fin else 0)


def seg(sel, fsel=0, seq_sel=0, seq_d=0, ack_sel=2, ack_d=0, window=65535, om=0, plen=0,
        extra=b""):
    return (u8(OP_SEG) + u8(sel) + u8(fsel) + u8(seq_sel) + u16(seq_d) + u8(ack_sel) +
            u16(ack_d) + u16(window) + u8(om) + u8(plen) + extra)


def raw(sel, data, mode=0x07):
    return u8(OP_RAW) + u8(mode) + u8(sel) + u8(len(data)) + data


def icmp_mtu(sel, mtu):
    return u8(OP_MISC) + u8(0) + u8(sel) + u16(mtu)


def seeds():
    out = {}
    # Every state in both roles, with and without the RFC 7323 / 2018 options.
    for active in (False, True):
        for t in TARGETS:
            if not active and t == "syn_sent":
                continue
            role = "active" if active else "passive"
            for opts in (True, False):
                name = "%s-%s-%s" % (role, t, "opts" if opts else "plain")
                body = (header(seed=len(out) + 1, sack=opts, ts=opts, ws=opts) +
                        conns(conn(active, t, sack=opts, ts=opts, ws=7 if opts else None,
                                   d_in=256, d_out=512)) +
                        peer_data(0, 300) + recv(0) + send(0, 700) + ack_all(0) +
                        time_next() + seg(0, fsel=1, plen=40) + recv(0) + time_next())
                out[name] = body
    # Four connections in different states at once, then a busy conversation.
    mixed = (header(seed=99, sb=64, rb=64) +
             conns(conn(False, "established", d_in=1024, d_out=2048),
                   conn(True, "fin_wait_2"), conn(False, "close_wait", iss=0xfffffff0),
                   conn(True, "syn_sent")) +
             peer_data(0, 4000) + recv(0, 1000) + recv(0) + send(0, 6000) + ack_all(0) +
             time_next() + ack_all(0) + seg(1, fsel=2) + time_next() + time_next() +
             close(0) + ack_all(0) + time_next())
    out["mixed-4conns"] = mixed
    # Loss and recovery: data out, SACKs from the peer, duplicate ACKs, RTO.
    sackb = u8(1) + u16(2000) + u16(1000) + u16(4000) + u16(1000)
    out["recovery-sack"] = (
        header(seed=7, sb=200, rb=40, timing=1) + conns(conn(False, "established")) +
        send(0, 20000) + seg(0, ack_sel=0, om=2, extra=sackb) +
        seg(0, ack_sel=0, om=2, extra=sackb) + seg(0, ack_sel=0, om=2, extra=sackb) +
        seg(0, ack_sel=0) + time_next() + time_next() + ack_all(0) + time_next())
    # Zero window, persist probes, then the window reopens.
    out["zero-window"] = (
        header(seed=8, sb=100, timing=1) + conns(conn(True, "established")) +
        send(0, 9000) + ack_all(0, window=0) + time_next() + time_next() + time_next() +
        ack_all(0, window=65535) + time_next())
    # Out-of-order data into the receive buffer, then the hole is filled.
    out["ooo-receive"] = (
        header(seed=9, rb=30, mss=536) + conns(conn(False, "established", mss=536)) +
        seg(0, fsel=1, seq_sel=0, seq_d=400, plen=200) +
        seg(0, fsel=1, seq_sel=0, seq_d=1000, plen=100) +
        seg(0, fsel=1, seq_sel=0, seq_d=0, plen=400) + recv(0) + time_next())
    # Timeouts everywhere: SYN retries, data retries, TIME_WAIT, keepalive.
    out["timeouts"] = (
        header(seed=10, timing=1, keepalive=True) +
        conns(conn(True, "syn_sent"), conn(False, "syn_received"),
              conn(True, "established"), conn(False, "time_wait")) +
        send(1, 100) + b"".join(time_next() for _ in range(12)))
    # RST in window (challenge ACK) and exact RST; SYN in a synchronized state.
    out["rst-syn"] = (
        header(seed=11) + conns(conn(False, "established"), conn(True, "established")) +
        seg(0, fsel=6, seq_sel=0, seq_d=1) + seg(0, fsel=4) + seg(1, fsel=7) + time_next())
    # Abort and close with unread data; a raw segment to the listener.
    out["abort-close"] = (
        header(seed=12, recv_in_cb=False) +
        conns(conn(False, "established", d_in=512), conn(True, "close_wait")) +
        close(0) + abort(0) + time_next() +
        raw(0, bytes([0x9c, 0x40, 0, 80]) + bytes(8) + bytes([0x50, 0x02, 0xff, 0xff]) + bytes(4),
            mode=0x01) + time_next())
    # IPv6, small MSS, Reno, delayed ACK every segment, reading from the callback.
    out["v6-reno-small"] = (
        header(seed=13, v6=True, reno=True, delack1=True, recv_in_cb=True, mss=100, sb=8, rb=8) +
        conns(conn(True, "established", mss=88, d_in=64, d_out=256)) +
        peer_data(0, 2000, fin=True) + send(0, 3000) + ack_all(0) + time_next() + ack_all(0) +
        shut(0) + ack_all(0) + time_next())
    # Big buffers (window scaling matters), PMTU drop, allocation failure.
    out["big-pmtu"] = (
        header(seed=14, big=True, sb=255, rb=255) +
        conns(conn(False, "established", ws=14, d_in=4000, d_out=4000)) +
        icmp_mtu(0, 600) + send(0, 60000) + ack_all(0) + ack_all(0) + time_next())
    # Allocation number 9 fails: mptcp_stack_new makes 7 (stack, demux buckets,
    # listeners, timer heap, scratch, rxbuf, token table), then the first
    # (passive) connection's TCB is the 8th and its buffers the 9th.
    out["alloc-fail"] = (
        header(seed=15, timing=0x80 | (8 << 2)) +
        conns(conn(False, "established"), conn(True, "established")) +
        u8(OP_NEWCONN) + conn(False, "established") + time_next())
    out["simultaneous-then-data"] = (
        header(seed=16) + conns(conn(True, "syn_received")) +
        seg(0, fsel=0, seq_sel=0, ack_sel=2) + send(0, 100) + ack_all(0) + time_next())
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.startswith("seed-"):
            os.remove(os.path.join(OUT, f))
    s = seeds()
    for name, body in sorted(s.items()):
        with open(os.path.join(OUT, "seed-" + name), "wb") as fh:
            fh.write(body)
    print("wrote %d seeds to %s" % (len(s), os.path.relpath(OUT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
