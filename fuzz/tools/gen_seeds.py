#!/usr/bin/env python3
"""Generate the committed seed corpora of the fuzz targets.

Run from the repository root:  python3 fuzz/tools/gen_seeds.py
The option bytes come from tests/vectors/wire_golden.h (hand-written from
the RFC 8684 figures): every `GOLDEN g_<name>[]` array there is found by
name, and a throw-away C program that includes the header writes the bytes
out, so the compiler (not a regex) evaluates them. From those:
  fuzz/corpus/wire_opts/golden-<name>.bin   each option alone
  fuzz/corpus/wire_opts/area-<name>.bin     the option area of each golden segment
  fuzz/corpus/seg_parse/golden-<name>.bin   each golden segment as is
  fuzz/corpus/seg_parse/wrap-<name>.bin     each option in a segment whose TCP flags
                                            suit its form, beside the usual TCP options
  fuzz/corpus/seg_parse/combo-*.bin         a few hand-built multi-option segments
  fuzz/corpus/crypto/seed-*.bin             inputs in crypto.c's layout, at hash
                                            block boundaries and odd lengths
Only those name patterns are written or removed; other files (for example
kernel-*.bin captures) are left alone. Deterministic: same header, same bytes.
"""
import glob
import os
import re
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HDR = os.path.join(ROOT, "tests", "vectors", "wire_golden.h")
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
OURS = ("golden-", "wrap-", "area-", "combo-", "seed-")


def golden_arrays():
    names = re.findall(r"GOLDEN\s+(g_\w+)\s*\[\s*\]", open(HDR).read())
    if not names:
        sys.exit("gen_seeds: no GOLDEN arrays in " + HDR)
    prog = ['#include "wire_golden.h"', "#include <stdio.h>", "int main(void) {"]
    for n in names:
        prog.append('  printf("%s");' % n)
        prog.append("  for (size_t i = 0; i < sizeof %s; i++) printf(\" %%02x\", %s[i]);" % (n, n))
        prog.append('  printf("\\n");')
    prog.append("  return 0; }")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "g.c"), os.path.join(tmp, "g")
        open(src, "w").write("\n".join(prog) + "\n")
        subprocess.check_call([os.environ.get("CC", "cc"), "-std=gnu11", "-I",
                               os.path.dirname(HDR), "-o", exe, src])
        out = subprocess.check_output([exe]).decode()
    arrays = {}
    for line in out.splitlines():
        name, *hexes = line.split()
        arrays[name[2:]] = bytes(int(h, 16) for h in hexes)
    return arrays


def pad4(b):
    return b + b"\x01" * (-len(b) % 4)


def segment(flags, opts, payload=b"", seq=0x1000, ack=0x2000):
    opts = pad4(opts)
    assert len(opts) <= 40, len(opts)
    doff = (20 + len(opts)) // 4
    hdr = struct.pack("!HHIIBBHHH", 40000, 80, seq, ack if flags & 0x10 else 0,
                      doff << 4 | (flags >> 8 & 1), flags & 0xff, 502, 0, 0)
    return hdr + opts + payload


SYN, ACK, RST, PSH, FIN = 0x02, 0x10, 0x04, 0x08, 0x01
MSS = b"\x02\x04\x05\xb4"
SACKP_TS = b"\x04\x02\x08\x0a" + struct.pack("!II", 0x11223344, 0)
NOP_TS = b"\x01\x01\x08\x0a" + struct.pack("!II", 5, 6)
NOP_WS = b"\x01\x03\x03\x07"


def flags_for(opt):
    """TCP flags and a payload that suit an MPTCP option's form."""
    sub, ln, low = opt[2] >> 4, opt[1], opt[2] & 0xf
    if sub == 0:  # MP_CAPABLE: SYN 4, SYN/ACK 12 (v1), v0 12 on SYN, ACK 20, data 22/24
        if ln == 4:
            return SYN, b""
        if ln == 12:
            return (SYN | ACK if low >= 1 else SYN), b""
        if ln in (22, 24):
            return ACK | PSH, b"hello, mptcp"
        return ACK, b""
    if sub == 1:
        return {12: SYN, 16: SYN | ACK}.get(ln, ACK), b""
    if sub == 2:
        has_map = opt[3] & 0x04
        return (ACK | PSH, b"data") if has_map else (ACK, b"")
    if sub in (7, 8):
        return RST | ACK, b""
    return ACK, b""


def wrap(opt):
    fl, payload = flags_for(opt)
    opt = pad4(opt)
    if fl & SYN:
        for extra in (MSS + SACKP_TS + NOP_WS, MSS + NOP_WS, MSS, b""):
            if len(extra) + len(opt) <= 40:
                return segment(fl, extra + opt, payload)
    if len(NOP_TS) + len(opt) <= 40:
        return segment(fl, NOP_TS + opt, payload)
    return segment(fl, opt, payload)


def combos(g):
    sack = b"\x01\x01\x05\x12" + struct.pack("!IIII", 0x3000, 0x3100, 0x4000, 0x4400)
    return {
        # SYN/ACK as Linux answers: MSS, SACK_PERM+TS, NOP WS, MPC SYN/ACK.
        "synack": segment(SYN | ACK, MSS + SACKP_TS + NOP_WS + g["mpc_synack"]),
        # SYN with a TFO cookie request beside MP_CAPABLE.
        "syn-tfo": segment(SYN, MSS + SACKP_TS + NOP_WS + b"\x01\x01\x22\x02" + g["mpc_syn"]),
        # SYN with an 8-byte TFO cookie and MP_JOIN.
        "syn-tfo-cookie-join": segment(SYN, MSS + b"\x22\x0a" + bytes(range(1, 9)) + g["join_syn"]),
        # ACK with two SACK blocks and a DATA_ACK.
        "ack-sack-dss": segment(ACK, sack + g["dss_ack32"]),
        # RST with MP_FASTCLOSE and MP_TCPRST, the way Linux closes.
        "rst-fastclose-tcprst": segment(RST | ACK, g["fastclose"] + g["tcprst"]),
        # An ADD_ADDR with a DATA_ACK, and a REMOVE_ADDR with MP_PRIO.
        "ack-addaddr-dss": segment(ACK, NOP_TS + g["add_v4"] + g["dss_ack32"]),
        "ack-rm-prio": segment(ACK, NOP_TS + g["rm_three"] + pad4(g["prio"])),
        # MP_FAIL with an infinite mapping (RFC 8684 section 3.7).
        "ack-fail-infinite": segment(ACK, g["fail"] + g["dss_infinite"], b"x" * 10),
        # DATA_FIN on a FIN, and an AE|CWR|ECE|URG header with the EOL option.
        "finack-datafin": segment(FIN | ACK, NOP_TS + g["dss_fin"]),
        "flags-eol": segment(0x1f0 | ACK, NOP_TS + b"\x00\x00\x00\x00", b"urgent"),
        # Unknown option kinds next to MPTCP ones.
        "unknown-kinds": segment(ACK, b"\x13\x06abcd" + b"\xfe\x04\xf9\x89" + g["dss_ack64"]),
    }


def crypto_seeds():
    """Inputs in fuzz/crypto.c's layout, lengths chosen at hash-block edges."""
    seeds = {}
    cases = [  # (name, version, v6, key_len, data_len)
        ("empty", 1, False, 0, 0), ("v0-v4-short", 0, False, 16, 1),
        ("v1-v6-55", 1, True, 16, 55), ("v1-v4-56", 1, False, 32, 56),
        ("v0-v6-63", 0, True, 64, 63), ("v1-v4-64", 1, False, 65, 64),
        ("v1-v6-65", 1, True, 100, 65), ("v0-v4-119", 0, False, 200, 119),
        ("v1-v4-120", 1, False, 255, 120), ("v1-v6-odd-1001", 1, True, 17, 1001),
        ("v0-v6-1460", 0, True, 16, 1460), ("v1-v4-tcp-20", 1, False, 16, 20),
    ]
    for name, ver, v6, klen, dlen in cases:
        rnd = bytes((i * 131 + dlen * 7 + klen) & 0xff for i in range(4096))
        b = bytes([ver])
        b += struct.pack("!QQII", 0x0102030405060708, 0x1122334455667788, 0x01020304, 0xcafef00d)
        b += bytes([5, 1 if v6 else 0]) + struct.pack("!HH", 8080 if dlen & 1 else 0, 443)
        b += (bytes.fromhex("20010db8000000000000000000000001") if v6 else bytes([192, 168, 0, 2]))
        b += (bytes.fromhex("20010db8000000000000000000000002") if v6 else bytes([10, 0, 0, 1]))
        b += struct.pack("!QIH", 0x99aabbccddeeff00, 1, dlen & 0xffff)
        b += bytes([klen]) + rnd[:klen]
        b += rnd[1000:1000 + dlen]
        b += bytes([3, 0, 7, 0, 40, 0, 1, 0x55, 0xaa, 0, 9, 0, 0, 1, 2, 3])  # control bytes
        seeds["seed-" + name] = b
    return seeds


def write_dir(target, files):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith(OURS) and f.endswith(".bin"):
            os.remove(os.path.join(d, f))
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name + ".bin"), "wb") as fh:
            fh.write(data)
    print("gen_seeds: %-10s %d seeds" % (target, len(files)))


def main():
    g = golden_arrays()
    opts = {k: v for k, v in g.items() if not k.startswith("seg_")}
    segs = {k: v for k, v in g.items() if k.startswith("seg_")}
    wire = {"golden-" + k: v for k, v in opts.items()}
    for k, v in segs.items():
        doff = (v[12] >> 4) * 4
        wire["area-" + k] = v[20:doff]
    seg = {"golden-" + k: v for k, v in segs.items()}
    seg.update({"wrap-" + k: wrap(v) for k, v in opts.items()})
    seg.update({"combo-" + k: v for k, v in combos(g).items()})
    write_dir("wire_opts", wire)
    write_dir("seg_parse", seg)
    write_dir("crypto", crypto_seeds())


if __name__ == "__main__":
    main()
