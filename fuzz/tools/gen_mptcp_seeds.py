#!/usr/bin/env python3
"""Seed corpora for fuzz/mptcp_conn.c and fuzz/mptcp_pair.c.

Writes fuzz/corpus/mptcp_conn/seed-*.bin and fuzz/corpus/mptcp_pair/seed-*.bin
(only those names: other files in the directories are left alone). Each seed
is a script in the target's input format (see the targets' entry functions):
a configuration, the handshake/joins or the topology, then steps. Rerun when
an input format changes, and commit the result.
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def u8(v): return struct.pack(">B", v & 0xff)
def u16(v): return struct.pack(">H", v & 0xffff)
def u32(v): return struct.pack(">I", v & 0xffffffff)
def u64(v): return struct.pack(">Q", v & 0xffffffffffffffff)


# ---------------------------------------------------------------- mptcp_conn
# header: rng pkey cf cf2 sb rb mss timing now ts_off
# setup_mpc: b mss iss d0 ; njoin ; per join: b iss nonce ; steps (op % 16)
OP_TIME, OP_DATA, OP_REXMIT, OP_SEG, OP_SEND, OP_RECV, OP_CLOSEISH, OP_ACK, OP_RAW, \
    OP_JOIN, OP_PM, OP_ADV = 0, 1, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14


def conn_hdr(seed, cf=0x07, cf2=0x03, sb=64, rb=64, mss=1400, timing=0, mpc_b=0, d0=0,
             joins=0, jb=0):
    s = u64(seed) + u64(seed * 0x9e3779b97f4a7c15 + 1) + u8(cf) + u8(cf2) + u8(sb) + u8(rb)
    s += u16(mss) + u8(timing) + u32(1000 + seed) + u32(seed * 77)
    s += u8(mpc_b) + u16(1200) + u32(0x10000 * seed + 5) + u8(d0)
    s += u8(joins)
    for j in range(joins):
        s += u8(jb + 1 + j) + u32(0x2000000 * (j + 1) + seed) + u32(0xabc0 + j)
    return s


def data(sel, ln, bits=1): return u8(OP_DATA) + u8(sel) + u16(ln) + u8(bits)
def send(n): return u8(OP_SEND) + u16(n)
def recv(n=0): return u8(OP_RECV) + u16(n)
def ack(sel, b=0): return u8(OP_ACK) + u8(sel) + u8(b)
def time_(cls, v): return u8(OP_TIME) + u8(cls) + u16(v)
def pm(what, a): return u8(OP_PM) + u8(what) + u8(a)
def rexmit(sel, mode, ln): return u8(OP_REXMIT) + u8(sel) + u8(mode) + u16(ln)
def closeish(k): return u8(OP_CLOSEISH) + u8(k) + u16(0)


def seg(sel, fsel, nmo, plen, opts=b"", seq_sel=0, ack_sel=0):
    return (u8(OP_SEG) + u8(sel) + u8(fsel) + u8(seq_sel) + u8(0) + u8(ack_sel) + u8(0)
            + u8(nmo) + u8(plen) + opts)


def opt(kind, b, d, extra=b""): return u8(kind) + u8(b) + u16(d) + extra


def conn_seeds():
    out = {}
    base_flow = b""
    for i in range(6):
        base_flow += data(i, 300 + 100 * i) + ack(i) + send(500) + recv()
    out["established-data"] = conn_hdr(1) + base_flow + time_(3, 0) + ack(0)
    out["joins-data"] = conn_hdr(2, joins=3) + base_flow + data(1, 1000, 1 | 8) + recv() + \
        ack(1) + ack(2) + time_(1, 100)
    out["checksum-joins"] = conn_hdr(3, cf=0x0f, joins=2, mpc_b=1) + base_flow + recv()
    out["mpc-data"] = conn_hdr(4, mpc_b=4, d0=100) + recv() + data(0, 50) + recv()
    out["plain-peer"] = conn_hdr(5, mpc_b=0x80) + data(0, 100) + send(100) + recv() + ack(0)
    out["ts-sack"] = conn_hdr(6, timing=2 | 4 | 8, joins=1) + base_flow + time_(2, 3) + \
        time_(3, 0) + rexmit(0, 0, 0)
    out["fast-timers"] = conn_hdr(7, timing=1, joins=2) + send(4000) + time_(2, 1) + \
        time_(3, 0) + time_(3, 0) + ack(1) + send(3000) + time_(2, 10)
    out["data-fin"] = conn_hdr(8, joins=1) + data(0, 200) + data(1, 200, 1 | 8) + recv() + \
        recv() + send(100) + ack(0) + closeish(0) + ack(1) + time_(3, 0)
    out["close-abort"] = conn_hdr(9, joins=1) + send(2000) + closeish(1) + ack(0) + \
        time_(3, 0) + closeish(2)
    # fuzzed options on established subflows
    fz = b""
    fz += seg(0, 0, 1, 40, opt(0, 0x05, 0, u8(0) + u8(0) + u8(0x90) + u8(1)))   # DSS map
    fz += seg(1, 0, 1, 0, opt(0, 0x01, 0, u8(0)))                              # DATA_ACK
    fz += seg(0, 0, 1, 0, opt(3, 0x00, 7))                                     # ADD_ADDR ok
    fz += seg(0, 0, 1, 0, opt(3, 0x80, 8))                                     # ADD_ADDR bad
    fz += seg(0, 0, 1, 0, opt(3, 0x01, 7))                                     # echo
    fz += seg(1, 0, 1, 0, opt(4, 1, 0x21))                                     # REMOVE_ADDR
    fz += seg(1, 0, 1, 0, opt(5, 1, 0))                                        # MP_PRIO
    fz += seg(0, 0, 1, 0, opt(6, 0, 0))                                        # MP_FAIL
    fz += seg(2, 0, 1, 0, opt(8, 0x11, 2))                                     # MP_TCPRST
    fz += seg(0, 0, 1, 0, opt(9, 0, 0)) + seg(0, 0, 1, 0, opt(9, 2, 0))       # handshake opts
    fz += seg(0, 0, 1, 0, opt(10, 9, 0) + b"\x21\x05\x00\x00\x00\x01\x00\x00\x00\x09")
    fz += seg(0, 0, 1, 0, opt(7, 0, 0))                                        # FASTCLOSE bad
    fz += seg(0, 0, 1, 0, opt(7, 3, 0))                                        # FASTCLOSE ok (RST)
    out["options"] = conn_hdr(10, joins=3) + base_flow + fz
    out["infinite-map"] = conn_hdr(11, joins=1) + data(0, 100) + \
        seg(0, 0, 1, 100, opt(0, 0x05, 0, u8(0) + u8(0) + u8(0xf5) + u8(1))) + recv() + send(300) + ack(0)
    out["pm-calls"] = conn_hdr(12, cf2=0x1b, joins=1) + pm(6, 3) + pm(2, 0) + ack(0) + \
        pm(4, 0x03) + pm(8, 1) + send(2000) + ack(0) + ack(1) + pm(1, 0x81) + pm(0, 1) + \
        pm(3, 1) + pm(7, 1) + time_(3, 0) + ack(0)
    out["stack-join"] = conn_hdr(13, cf2=0x0b) + pm(4, 0x0b) + pm(8, 1) + ack(1) + send(5000) + \
        ack(0) + ack(1) + ack(0) + ack(1)
    out["reinject"] = conn_hdr(14, joins=2) + data(0, 500) + data(1, 500) + \
        rexmit(0, 1, 300) + rexmit(1, 0, 500) + rexmit(2, 2, 0) + recv()
    out["alloc-fail"] = conn_hdr(15, timing=0x80 | (20 << 1), joins=2) + base_flow
    return out


# ---------------------------------------------------------------- mptcp_pair
# see fuzz/mptcp_pair.c: header, per path config, steps
def pair_hdr(seed, npaths=2, cf=0x07, mss=1400, flags=0x31, sb=128, rb=128, paths=None):
    s = u64(seed) + u8(npaths - 1) + u8(cf) + u16(mss) + u8(flags) + u8(sb) + u8(rb)
    for p in range(npaths):
        s += paths[p] if paths else path_cfg()
    return s


def path_cfg(rtt=20, loss=0, dup=0, reorder=0, strip=0, strip_dir=0, pay=0, rate=40):
    # rtt ms, loss/dup/reorder per 256 steps of 1/1024, mptcp subtype strip mask, payload rewrite
    return u8(rtt) + u8(rate) + u8(loss) + u8(dup) + u8(reorder) + u16(strip) + u8(strip_dir) + u8(pay)


P_RUN, P_SEND, P_RECV, P_SHUT, P_CLOSE, P_ABORT, P_DOWN, P_UP, P_CFG, P_API, P_EP, P_TOGGLE = range(12)


def prun(ms): return u8(P_RUN) + u16(ms)
def psend(side, n): return u8(P_SEND) + u8(side) + u16(n)
def precv(side, n=0): return u8(P_RECV) + u8(side) + u16(n)
def pshut(side): return u8(P_SHUT) + u8(side)
def pclose(side): return u8(P_CLOSE) + u8(side)
def pdown(path): return u8(P_DOWN) + u8(path)
def pup(path): return u8(P_UP) + u8(path)
def papi(side, a, b): return u8(P_API) + u8(side) + u8(a) + u8(b)
def pep(side, a, b): return u8(P_EP) + u8(side) + u8(a) + u8(b)
def ptoggle(side): return u8(P_TOGGLE) + u8(side)
def pcfg(b, loss, reord, delay): return u8(P_CFG) + u8(b) + u8(loss) + u8(reord) + u8(delay)


def pair_seeds():
    out = {}
    bulk = b"".join(psend(i & 1, 8000) + prun(30) + precv(1 - (i & 1)) for i in range(10))
    out["two-paths-bulk"] = pair_hdr(1) + bulk + pshut(0) + pshut(1) + prun(500)
    out["four-paths"] = pair_hdr(2, npaths=4, paths=[path_cfg(rtt=10 + 10 * i) for i in range(4)]) \
        + bulk + prun(200)
    out["one-path"] = pair_hdr(3, npaths=1) + bulk
    out["lossy"] = pair_hdr(4, paths=[path_cfg(loss=20, reorder=30), path_cfg(dup=20)]) + bulk + \
        prun(2000)
    out["strip-dss-b2a"] = pair_hdr(5, paths=[path_cfg(), path_cfg(strip=1 << 2, strip_dir=2)]) + bulk
    out["strip-mpc"] = pair_hdr(6, paths=[path_cfg(strip=1 << 0, strip_dir=3), path_cfg()]) + bulk
    out["strip-join"] = pair_hdr(7, paths=[path_cfg(), path_cfg(strip=1 << 1, strip_dir=1)]) + bulk
    # Payload rewriting with checksums on: MP_FAIL, then the clean path (two
    # paths) or a fallback (one path) must still deliver everything.
    out["payload-rewrite"] = pair_hdr(8, cf=0x0f,
                                      paths=[path_cfg(pay=1, strip_dir=3), path_cfg()]) + bulk
    out["payload-rewrite-1path"] = pair_hdr(17, npaths=1, cf=0x0f,
                                            paths=[path_cfg(pay=1, strip_dir=3)]) + bulk
    out["path-failure"] = pair_hdr(9) + psend(0, 20000) + prun(50) + pdown(0) + prun(3000) + \
        precv(1) + pup(0) + prun(1000) + precv(1)
    out["close-early"] = pair_hdr(10) + psend(0, 5000) + pclose(0) + prun(100) + precv(1) + \
        pclose(1) + prun(1000)
    out["abort"] = pair_hdr(11) + psend(1, 5000) + prun(10) + u8(P_ABORT) + u8(1) + prun(100)
    out["subflows-addrs"] = pair_hdr(12, npaths=3, flags=0x01) + prun(100) + papi(0, 0, 0x05) + \
        papi(1, 3, 2) + prun(100) + papi(0, 2, 1) + pep(0, 2, 1) + bulk + papi(0, 1, 1) + \
        papi(1, 4, 2) + pep(1, 0x80, 1) + prun(300)
    out["no-autoread"] = pair_hdr(14, flags=0x3d, sb=8, rb=160) + psend(0, 60000) + prun(200) + \
        precv(1, 1000) + prun(200) + ptoggle(1) + prun(500) + pcfg(1, 50, 50, 20) + prun(500)
    # B's connection window fills while it does not read (the 2026-11-25 stall).
    out["window-full"] = pair_hdr(18, flags=0x3d, sb=8, rb=8) + psend(0, 60000) + prun(200) + \
        precv(1, 1000) + prun(200) + ptoggle(1) + prun(500) + pcfg(1, 50, 50, 20) + prun(500)
    out["plain-tcp"] = pair_hdr(15, flags=0xb1) + bulk
    out["split-tso"] = pair_hdr(16, paths=[path_cfg(strip_dir=0x13), path_cfg()]) + bulk
    out["checksums"] = pair_hdr(13, cf=0x0f) + bulk
    return out


def write(target, seeds):
    d = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for name, blob in sorted(seeds.items()):
        with open(os.path.join(d, "seed-%s.bin" % name), "wb") as f:
            f.write(blob)
    print("%s: %d seeds" % (target, len(seeds)))


if __name__ == "__main__":
    which = sys.argv[1:] or ["mptcp_conn", "mptcp_pair"]
    if "mptcp_conn" in which:
        write("mptcp_conn", conn_seeds())
    if "mptcp_pair" in which:
        write("mptcp_pair", pair_seeds())
