"""twimg: read and patch twinfs v1 images byte by byte, for making corrupted
test images.

Layer: tests.  Pure Python (stdlib only); mirrors common/tw_format.h and
docs/format.md, independently of the C code, so that the tests also check
that the format is what the documentation says.
"""

import struct

BLOCK = 4096
INODE_SIZE = 256
ROOT_INO = 1
IND_PTRS = 508
NDIRECT = 12
DIR_DATA_BASE = 1
DIR_FSM_BASE = 1 << 21
DIR_IDX_BASE = 1 << 22

MAGIC = {
    "sb": 0x53465754, "bmap": 0x4D425754, "ind": 0x4E495754,
    "dirh": 0x48445754, "dird": 0x44445754, "dirx": 0x58445754,
    "dirf": 0x46445754, "xattr": 0x41585754, "syml": 0x4C535754,
    "jsb": 0x534A5754, "jdesc": 0x444A5754, "jcommit": 0x434A5754,
    "orphan": 0x524F5754, "xidx": 0x49585754, "xval": 0x56585754,
}

XATTR_NS_EXTERNAL = 0x80   # xe_ns flag: the value is in value blocks
XVAL_PER_BLOCK = 4064
IFL_XINDEX = 0x0002        # i_flags: i_xattr is an xattr index block


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _table()


def crc32c(crc, data):
    """Running crc32c as the core computes it: no final inversion."""
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


SB_FIELDS = [
    ("magic", "I", 0), ("crc", "I", 4), ("version", "I", 8),
    ("block_size", "I", 12), ("feature_compat", "I", 16),
    ("feature_ro_compat", "I", 20), ("feature_incompat", "I", 24),
    ("state", "I", 28), ("blocks_count", "Q", 32), ("free_blocks", "Q", 40),
    ("inodes_count", "I", 48), ("free_inodes", "I", 52),
    ("journal_start", "Q", 56), ("journal_blocks", "I", 64),
    ("bbitmap_blocks", "I", 68), ("bbitmap_start", "Q", 72),
    ("ibitmap_start", "Q", 80), ("ibitmap_blocks", "I", 88),
    ("itable_blocks", "I", 92), ("itable_start", "Q", 96),
    ("data_start", "Q", 104), ("root_ino", "I", 112),
    ("orphan_blocks", "I", 116), ("csum_seed", "I", 120),
    ("hash_seed", "I", 124), ("mount_count", "I", 128),
    ("inode_size", "I", 132), ("orphan_start", "Q", 248),
]

INODE_FIELDS = [
    ("mode", "H", 0), ("flags", "H", 2), ("nlink", "I", 4), ("uid", "I", 8),
    ("gid", "I", 12), ("size", "Q", 16), ("blocks", "Q", 24),
    ("xattr", "Q", 72), ("orphan_slot", "I", 80), ("crc", "I", 252),
]


class Image:
    """A twinfs image file opened for reading and patching."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        self.sb = self._fields(0, SB_FIELDS)
        self.seed = self.sb["csum_seed"]

    def save(self, path=None):
        with open(path or self.path, "r+b" if path is None else "wb") as f:
            f.write(self.data)

    # --- raw access ---------------------------------------------------
    def _fields(self, off, fields):
        return {n: struct.unpack_from("<" + t, self.data, off + o)[0]
                for n, t, o in fields}

    def get(self, off, fmt):
        return struct.unpack_from("<" + fmt, self.data, off)[0]

    def put(self, off, fmt, value):
        struct.pack_into("<" + fmt, self.data, off, value)

    def block(self, blk):
        return self.data[blk * BLOCK:(blk + 1) * BLOCK]

    # --- checksums ----------------------------------------------------
    def seal_super(self):
        self.put(4, "I", 0)
        b = bytes(self.data[0:512])
        self.put(4, "I", crc32c(0xFFFFFFFF, b))

    def seal_block(self, blk):
        off = blk * BLOCK
        self.put(off + 4, "I", 0)
        self.put(off + 4, "I", crc32c(self.seed, bytes(self.block(blk))))

    def inode_off(self, ino):
        return (self.sb["itable_start"] * BLOCK +
                (ino // 16) * BLOCK + (ino % 16) * INODE_SIZE)

    def inode(self, ino):
        return self._fields(self.inode_off(ino), INODE_FIELDS)

    def seal_inode(self, ino):
        off = self.inode_off(ino)
        raw = bytes(self.data[off:off + 252])
        self.put(off + 252, "I",
                 crc32c(crc32c(self.seed, struct.pack("<I", ino)), raw))

    def set_inode(self, ino, field, value, seal=True):
        for n, t, o in INODE_FIELDS:
            if n == field:
                self.put(self.inode_off(ino) + o, t, value)
        if seal:
            self.seal_inode(ino)

    def iblock(self, ino, i):
        return self.get(self.inode_off(ino) + 88 + 8 * i, "Q")

    def set_iblock(self, ino, i, blk, seal=True):
        self.put(self.inode_off(ino) + 88 + 8 * i, "Q", blk)
        if seal:
            self.seal_inode(ino)

    # --- block map ----------------------------------------------------
    def bmap(self, ino, lblk):
        """Physical block of logical block @lblk of @ino (0: hole)."""
        if lblk < NDIRECT:
            return self.iblock(ino, lblk)
        l = lblk - NDIRECT
        for level in range(1, 5):
            cap = IND_PTRS ** level
            if l < cap:
                blk = self.iblock(ino, NDIRECT + level - 1)
                for d in range(level):
                    if not blk:
                        return 0
                    span = IND_PTRS ** (level - 1 - d)
                    idx = l // span
                    l %= span
                    blk = self.get(blk * BLOCK + 32 + 8 * idx, "Q")
                return blk
            l -= cap
        raise ValueError("lblk too large")

    # --- directories --------------------------------------------------
    def dir_entries(self, ino):
        """[(name, child_ino, block, offset)] of directory @ino."""
        hdr = self.bmap(ino, 0)
        nblocks = self.get(hdr * BLOCK + 44, "I")
        out = []
        for lblk in range(DIR_DATA_BASE, DIR_DATA_BASE + nblocks):
            blk = self.bmap(ino, lblk)
            off = 32
            while off < BLOCK:
                base = blk * BLOCK + off
                d_ino = self.get(base, "I")
                rec = self.get(base + 4, "H")
                nl = self.data[base + 6]
                if d_ino:
                    name = bytes(self.data[base + 8:base + 8 + nl]).decode()
                    out.append((name, d_ino, blk, off))
                if rec == 0:
                    break
                off += rec
        return out

    def lookup(self, path):
        ino = ROOT_INO
        for part in [p for p in path.split("/") if p]:
            for name, child, _, _ in self.dir_entries(ino):
                if name == part:
                    ino = child
                    break
            else:
                raise FileNotFoundError(path)
        return ino

    # --- extended attributes (docs/format.md section 11) ----------------
    def xattr_blocks(self, ino):
        """(index block or None, [entry blocks]) of inode @ino."""
        di = self.inode(ino)
        if not di["xattr"]:
            return None, []
        if not di["flags"] & IFL_XINDEX:
            return None, [di["xattr"]]
        xi = di["xattr"] * BLOCK
        n = self.get(xi + 32, "I")
        return di["xattr"], [self.get(xi + 40 + 8 * i, "Q") for i in range(n)]

    def xattr_entries(self, ino):
        """[{name, ns, block, off, vlen, ref}] of inode @ino: off is the
        entry's byte offset in the image; ref is (length, crc, [value
        blocks]) for an entry whose value is in value blocks, else None."""
        out = []
        for blk in self.xattr_blocks(ino)[1]:
            used = self.get(blk * BLOCK + 36, "I")
            off = 40
            while off < 40 + used:
                base = blk * BLOCK + off
                ns, nl, vl = struct.unpack_from("<BBH", self.data, base)
                name = bytes(self.data[base + 4:base + 4 + nl]).decode()
                ref = None
                if ns & XATTR_NS_EXTERNAL:
                    r = base + 4 + nl
                    ln, crc = struct.unpack_from("<II", self.data, r)
                    nb = (ln + XVAL_PER_BLOCK - 1) // XVAL_PER_BLOCK
                    ref = (ln, crc, list(struct.unpack_from(
                        "<%dQ" % nb, self.data, r + 8)))
                out.append({"name": name, "ns": ns & 0x7F, "block": blk,
                            "off": base, "vlen": vl, "ref": ref})
                off += (4 + nl + vl + 3) & ~3
        return out

    def bitmap_set(self, start, bit, value):
        blk = start + bit // 32512
        b = bit % 32512
        off = blk * BLOCK + 32 + b // 8
        if value:
            self.data[off] |= 1 << (b % 8)
        else:
            self.data[off] &= ~(1 << (b % 8)) & 0xFF
        self.seal_block(blk)
