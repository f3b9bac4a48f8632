#!/usr/bin/env python3
"""Compares tshark's dissection of a pcap with an expectation file.

Usage: compare_pdml.py FILE.pcap FILE.expect [--tshark PATH] [--verbose]

The expectation file (written by tshark_gen) lists, per packet, every field
Wireshark must decode and its value, derived from what libmptcp was asked to
encode. The check is strict both ways:
  - every expected field must be present with exactly the expected values,
    in order (a field that occurs several times, like tcp.options.sack_le, is
    compared as a list);
  - every field tshark decodes under tcp.option* and mptcp.* must be
    expected (IGNORED lists the containers and analysis-only fields), so a
    field Wireshark decodes that we did not account for is a failure too;
  - "K" lines name fields we encode that this Wireshark does not decode
    (tests/tshark/NOTES.md): absent is reported as a known gap, present
    must match like any other field;
  - no packet may be malformed (_ws.malformed) or carry a Warning/Error
    expert item other than the ones the expectation file allows ("X" lines).
Exit status: 0 all match, 1 mismatch, 2 usage or tshark failure.
"""
import ipaddress
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

TSHARK_PREFS = [
    "-o", "tcp.check_checksum:TRUE",
    "-o", "ip.check_checksum:TRUE",
    "-o", "tcp.relative_sequence_numbers:FALSE",
    "-o", "tcp.analyze_sequence_numbers:FALSE",
    "-o", "tcp.desegment_tcp_streams:FALSE",
    "-o", "mptcp.analyze_mptcp:TRUE",
    "-o", "mptcp.relative_sequence_numbers:FALSE",
]

# Fields under the strict prefixes that carry no value of their own:
# option containers (their children are compared), padding, and the MPTCP
# analysis bookkeeping that depends on the capture, not on the option.
IGNORED = {
    "tcp.options",
    "tcp.options.nop",
    "tcp.options.eol",
    "tcp.options.mss",
    "tcp.options.wscale",
    "tcp.options.sack_perm",
    "tcp.options.sack",
    "tcp.options.timestamp",
    "tcp.options.tfo",
    "tcp.options.mptcp",
    "mptcp.analysis",
    "mptcp.master",
    "mptcp.stream",
    "mptcp.analysis.subflows",
}
STRICT_PREFIXES = ("tcp.option", "mptcp.")
# Padding kinds: where the encoder puts NOPs is its own business.
PAD_KINDS = {0, 1}

SEV_WARN = 6291456  # _ws.expert.severity values (PI_WARN, PI_ERROR)
SEV_ERROR = 8388608


class Packet:
    def __init__(self, frame, name):
        self.frame = frame
        self.name = name
        self.fields = []  # (field, type, value)
        self.allowed = []  # allowed Warning/Error expert messages
        self.gaps = []  # (field, type, value): encoded, not decoded by tshark


def read_expect(path):
    packets = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            tag, _, rest = line.partition(" ")
            if tag == "P":
                num, _, name = rest.partition(" ")
                packets.append(Packet(int(num), name))
            elif tag == "F" and packets:
                parts = rest.split(" ", 2)
                if len(parts) != 3:
                    sys.exit(f"{path}:{lineno}: bad line: {line}")
                packets[-1].fields.append(tuple(parts))
            elif tag == "K" and packets:
                parts = rest.split(" ", 2)
                if len(parts) != 3:
                    sys.exit(f"{path}:{lineno}: bad line: {line}")
                packets[-1].gaps.append(tuple(parts))
            elif tag == "X" and packets:
                packets[-1].allowed.append(rest)
            else:
                sys.exit(f"{path}:{lineno}: bad line: {line}")
    return packets


def run_tshark(tshark, pcap):
    cmd = [tshark, "-n", "-r", pcap, "-T", "pdml"] + TSHARK_PREFS
    # An empty configuration directory: the user's own preferences (say,
    # relative sequence numbers or disabled protocols) must not change what
    # this test sees.
    with tempfile.TemporaryDirectory(prefix="mptcp-tshark-") as conf:
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=conf)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    err = "\n".join(
        l for l in p.stderr.decode(errors="replace").splitlines()
        if "Running as user" not in l and "could be dangerous" not in l
    )
    if p.returncode != 0:
        print(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{err}")
        sys.exit(2)
    if err.strip():
        print(f"tshark stderr:\n{err}")
    return ET.fromstring(p.stdout)


def dissected(pkt_el):
    """Returns (fields, experts, malformed) of one <packet>: fields is a list
    of (name, show, showname) in document order."""
    fields, experts, malformed = [], [], False
    for el in pkt_el.iter():
        name = el.get("name", "")
        if name.startswith("_ws.malformed"):
            malformed = True
        if el.tag == "field" and name == "_ws.expert":
            msg = sev = None
            for ch in el.iter("field"):
                if ch.get("name") == "_ws.expert.message":
                    msg = ch.get("show")
                elif ch.get("name") == "_ws.expert.severity":
                    sev = int(ch.get("show", "0"))
            experts.append((msg or "", sev or 0))
            continue
        if el.tag == "field" and name and not name.startswith("_ws."):
            fields.append((name, el.get("show", ""), el.get("showname", "")))
    return fields, experts, malformed


def strict(name):
    return name.startswith(STRICT_PREFIXES) and name not in IGNORED


def matches(ftype, want, show):
    try:
        if ftype == "u":
            s = {"True": "1", "False": "0"}.get(show, show)
            return int(s, 0) == int(want)
        if ftype == "ip":
            return ipaddress.ip_address(show) == ipaddress.ip_address(want)
        if ftype == "hex":
            return show.replace(":", "").lower() == want.lower()
        if ftype == "none":
            return True
    except ValueError:
        return False
    raise ValueError(f"unknown expectation type {ftype}")


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    verbose = "--verbose" in argv
    tshark = "tshark"
    if "--tshark" in argv:
        tshark = argv[argv.index("--tshark") + 1]
        args.remove(tshark)
    if len(args) != 2:
        print(__doc__)
        return 2
    pcap, expect_path = args
    expected = read_expect(expect_path)
    root = run_tshark(tshark, pcap)
    pkts = root.findall("packet")

    errors = []
    compared = 0
    nfields = 0
    gaps = {}
    if len(pkts) != len(expected):
        errors.append(f"tshark read {len(pkts)} packets, expected {len(expected)}")

    for exp, pel in zip(expected, pkts):
        fields, experts, malformed = dissected(pel)
        where = f"frame {exp.frame} [{exp.name}]"
        if malformed:
            errors.append(f"{where}: tshark reports a MALFORMED packet")
        for msg, sev in experts:
            if sev >= SEV_WARN and not any(a in msg for a in exp.allowed):
                level = "Error" if sev >= SEV_ERROR else "Warning"
                errors.append(f"{where}: expert {level}: {msg}")

        got = {}
        for name, show, showname in fields:
            if name == "tcp.option_kind" and show.isdigit() and int(show) in PAD_KINDS:
                continue
            got.setdefault(name, []).append((show, showname))
        want = {}
        for name, ftype, value in exp.fields:
            want.setdefault(name, []).append((ftype, value))
        for name, ftype, value in exp.gaps:
            if name in got:
                want.setdefault(name, []).append((ftype, value))
            else:
                gaps.setdefault(name, []).append(exp.frame)
        nfields += sum(len(wl) for wl in want.values())

        for name, wl in want.items():
            gl = got.get(name, [])
            for i in range(max(len(wl), len(gl))):
                w = wl[i] if i < len(wl) else None
                g = gl[i] if i < len(gl) else None
                tag = f"{name}[{i}]" if max(len(wl), len(gl)) > 1 else name
                if w is None:
                    errors.append(f"{where}: {tag}: unexpected extra occurrence, "
                                  f"tshark shows {g[1] or g[0]!r}")
                elif g is None:
                    errors.append(f"{where}: {tag}: expected {w[1]} ({w[0]}), "
                                  f"tshark does not show the field")
                else:
                    compared += 1
                    if not matches(w[0], w[1], g[0]):
                        errors.append(f"{where}: {tag}: encoded {w[1]}, "
                                      f"tshark shows {g[0]!r} ({g[1]})")
                    elif verbose:
                        print(f"ok {where}: {tag} = {w[1]}")
        for name, gl in got.items():
            if strict(name) and name not in want:
                for show, showname in gl:
                    errors.append(f"{where}: {name}: tshark decodes {showname or show!r}, "
                                  f"which the test does not expect")

    if errors:
        print(f"FAIL: {len(errors)} mismatches between libmptcp's encoder and tshark:")
        for e in errors:
            print("  " + e)
        print(f"({len(pkts)} packets, {compared} of {nfields} expected fields compared)")
        return 1
    print(f"tshark agrees: {len(pkts)} packets, {compared} fields compared, "
          f"no malformed packet, no unexpected warning")
    for name, frames in sorted(gaps.items()):
        print(f"known Wireshark gap (tests/tshark/NOTES.md): {name} not decoded in "
              f"{len(frames)} packets (frames {', '.join(map(str, frames))})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
