#!/usr/bin/env python3
"""fzmin.py: minimize a crashing fuzz input, structure-aware.

libFuzzer's -minimize_crash mutates blindly, which rarely shrinks an image
whose checksums must stay right.  This minimizer works on the decoded image
(the input format is in fz.h): it drops the operation script (whole, then
operation by operation), zeroes whole blocks (in halves, then one by one),
then zeroes ranges inside the remaining blocks, keeping each change only if
the target still fails the same way (the same first line of the report:
assertion, sanitizer error or broken invariant).  Then it writes the
canonical encoding.

Usage: fzmin.py FUZZ_BINARY IN.fz OUT.fz [--timeout S]

Layer: tests (tests/fuzz).  Runs the fuzz target binaries; Python only.
"""

import os
import re
import struct
import subprocess
import sys
import tempfile

BS = 4096
FILL = 0x8000


def decode(data):
    blocks = struct.unpack_from("<H", data, 0)[0] if len(data) >= 2 else 0
    if blocks == 0:
        blocks = 512
    blocks = max(8, min(4096, blocks))
    mem = bytearray(blocks * BS)
    ops = b""
    if len(data) < 4:
        return blocks, mem, ops
    olen = min(struct.unpack_from("<H", data, 2)[0], len(data) - 4)
    ops = bytes(data[4:4 + min(olen, 96)])
    i = 4 + olen
    dev = blocks * BS
    while i + 6 <= len(data):
        pos, lk = struct.unpack_from("<IH", data, i)
        i += 6
        ln = lk & 0x7FFF
        fill = lk & FILL
        if not fill and ln > len(data) - i:
            ln = len(data) - i
        if fill and i >= len(data):
            break
        if pos < dev and ln:
            n = min(ln, dev - pos)
            if fill:
                mem[pos:pos + n] = bytes([data[i]]) * n
            else:
                mem[pos:pos + n] = data[i:i + n]
        i += 1 if fill else ln
    return blocks, mem, ops


def encode(blocks, mem, ops):
    out = bytearray(struct.pack("<HH", blocks, len(ops)) + ops)
    for b in range(blocks):
        blk = mem[b * BS:(b + 1) * BS]
        if not any(blk):
            continue
        i = 0
        lit = None
        while i < BS:
            r = 1
            while i + r < BS and blk[i + r] == blk[i]:
                r += 1
            if r >= 12 or (blk[i] == 0 and (r >= 8 or i + r == BS)):
                if lit is not None:
                    out += struct.pack("<IH", b * BS + lit, i - lit)
                    out += blk[lit:i]
                    lit = None
                if blk[i]:
                    out += struct.pack("<IH", b * BS + i, r | FILL)
                    out.append(blk[i])
                i += r
                continue
            if lit is None:
                lit = i
            i += r
        if lit is not None:
            out += struct.pack("<IH", b * BS + lit, BS - lit)
            out += blk[lit:]
    return bytes(out)


SIG = re.compile(r"(assertion failed: .*|ERROR: AddressSanitizer: [\w-]+|"
                 r"runtime error: .*|INVARIANT BROKEN: .*|"
                 r"ERROR: LeakSanitizer|ERROR: libFuzzer: timeout|"
                 r"ERROR: libFuzzer: out-of-memory)")


def signature(binary, path, timeout):
    try:
        p = subprocess.run([binary, "-timeout=%d" % timeout, path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout * 4 + 30)
    except subprocess.TimeoutExpired:
        return "hang"
    if p.returncode == 0:
        return None
    m = SIG.search(p.stdout.decode(errors="replace"))
    if not m:
        return "exit %d" % p.returncode
    # numbers (inode numbers, counts, addresses) may change as it shrinks
    return re.sub(r"0x[0-9a-f]+|\d+", "#", m.group(1).strip())


def main():
    args = sys.argv[1:]
    timeout = 10
    if "--timeout" in args:
        k = args.index("--timeout")
        timeout = int(args[k + 1])
        del args[k:k + 2]
    if len(args) != 3:
        print(__doc__)
        return 2
    binary, src, dst = args
    blocks, mem, ops = decode(open(src, "rb").read())
    fd, tmp = tempfile.mkstemp(suffix=".fz")
    os.close(fd)
    runs = [0]

    def fails(mem_, ops_):
        with open(tmp, "wb") as f:
            f.write(encode(blocks, mem_, ops_))
        runs[0] += 1
        return signature(binary, tmp, timeout) == want

    with open(tmp, "wb") as f:
        f.write(encode(blocks, mem, ops))
    want = signature(binary, tmp, timeout)
    if not want:
        print("fzmin: the input does not fail", file=sys.stderr)
        os.unlink(tmp)
        return 1
    print("fzmin: failure: %s" % want)

    # the script: all of it, then operation by operation from the end
    if ops and fails(mem, b""):
        ops = b""
    k = len(ops) // 3 - 1
    while k >= 0:
        cand = ops[:3 * k] + ops[3 * k + 3:]
        if fails(mem, cand):
            ops = cand
        k -= 1

    # whole blocks: chunks of the non-zero ones, halving
    nz = [b for b in range(blocks) if any(mem[b * BS:(b + 1) * BS])]
    chunk = max(1, len(nz) // 2)
    while chunk >= 1:
        i = 0
        while i < len(nz):
            cand = bytearray(mem)
            for b in nz[i:i + chunk]:
                cand[b * BS:(b + 1) * BS] = bytes(BS)
            if fails(cand, ops):
                mem = cand
                nz = nz[:i] + nz[i + chunk:]
            else:
                i += chunk
        if chunk == 1:
            break
        chunk //= 2

    # ranges inside the remaining blocks
    for b in nz:
        size = 1024
        while size >= 32:
            for off in range(0, BS, size):
                base = b * BS + off
                if not any(mem[base:base + size]):
                    continue
                cand = bytearray(mem)
                cand[base:base + size] = bytes(size)
                if fails(cand, ops):
                    mem = cand
            size //= 4

    data = encode(blocks, mem, ops)
    with open(dst, "wb") as f:
        f.write(data)
    os.unlink(tmp)
    print("fzmin: %s: %d bytes (%d runs), failure: %s" %
          (dst, len(data), runs[0], want))
    return 0


if __name__ == "__main__":
    sys.exit(main())
