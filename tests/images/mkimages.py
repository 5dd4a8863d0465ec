#!/usr/bin/env python3
"""mkimages.py: make the golden corrupted twinfs images.

Each case starts from the same small, populated image (made with
mkfs.twinfs and twinfs-ctl), applies ONE documented corruption with the
byte-level helpers of twimg.py, and states what it must produce:

  fsck_n  exit code of `fsck.twinfs -n`
  mount   errno of mounting it (None: the mount succeeds)
  access  (path, errno) of reading something after mounting, if any
  fsck_y  exit code of `fsck.twinfs -y`; after it, `fsck.twinfs -n` must
          exit 0 whenever fsck_y is 1

Usage: mkimages.py BUILD_DIR OUT_DIR     write every case as OUT_DIR/NAME.img
       mkimages.py --doc                 print the table as Markdown

Layer: tests.  Uses the project's tools (mkfs.twinfs, twinfs-ctl) and
twimg.py; nothing else.
"""

import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twimg  # noqa: E402
from twimg import BLOCK, MAGIC, crc32c  # noqa: E402

BASE_SCRIPT = """
mkdir /dir1
put {src}/common/journal.c /dir1/journal.c
put {src}/common/dir.c /dir1/dir.c
mkdir /dir1/sub
put {src}/common/meta.c /dir1/sub/meta.c
symlink dir1/journal.c /link
symlink {longtarget} /longlink
put {src}/common/inode.c /xa
setxattr /xa user.note hello
put {src}/common/xattr.c /xb
{xattrs}
mkdir /many
{many}
put {src}/common/crc32c.c /big
write /big 100M far-out
write /big 3G further-out
"""


def make_base(build, path):
    """The populated image every case starts from."""
    src = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    if os.path.exists(path):
        os.unlink(path)
    subprocess.run([os.path.join(build, "tools", "mkfs.twinfs"), "-q",
                    "-L", "golden", "-N", "1024", path, "16M"], check=True)
    many = "\n".join("put %s/common/meta.c /many/file-%04d" % (src, i)
                     for i in range(300))
    # /xb: attributes beyond one block (an index over 3 entry blocks) and
    # values in value blocks (8000 bytes: 2 blocks; 3000 bytes: 1)
    xattrs = "\n".join("setxattr /xb user.a%03d value-of-attribute-%03d"
                       % (i, i) for i in range(300))
    xattrs += "\nsetxattr /xb user.big %s" % ("0123456789" * 800)
    xattrs += "\nsetxattr /xb trusted.mid %s" % ("m" * 3000)
    script = BASE_SCRIPT.format(src=src, many=many, xattrs=xattrs,
                                longtarget="/x" * 100)
    subprocess.run([os.path.join(build, "tools", "twinfs-ctl"), path, "-"],
                   input=script.encode(), check=True)
    return path


# ---- the corruptions ----------------------------------------------------

def sb_magic(img):
    img.put(0, "I", 0x12345678)


def sb_crc(img):
    img.data[184] ^= 0xFF  # the label, without resealing


def sb_layout(img):
    img.put(104, "Q", img.sb["data_start"] + 1)
    img.seal_super()


def sb_too_big(img):
    img.put(32, "Q", img.sb["blocks_count"] * 4)
    img.seal_super()


def sb_feature(img):
    img.put(24, "I", 0x80)
    img.seal_super()


def jsb_crc(img):
    img.data[img.sb["journal_start"] * BLOCK + 100] ^= 0x01


def root_crc(img):
    img.data[img.inode_off(twimg.ROOT_INO) + 20] ^= 0x01


def root_not_dir(img):
    img.set_inode(twimg.ROOT_INO, "mode", 0o100644)


def inode_crc(img):
    ino = img.lookup("/dir1/dir.c")
    img.data[img.inode_off(ino) + 40] ^= 0x01


def inode_bad_mode(img):
    img.set_inode(img.lookup("/dir1/dir.c"), "mode", 0o170644)


def nlink_wrong(img):
    img.set_inode(img.lookup("/dir1/journal.c"), "nlink", 5)


def dir_nlink_wrong(img):
    img.set_inode(img.lookup("/dir1"), "nlink", 7)


def iblocks_wrong(img):
    img.set_inode(img.lookup("/xa"), "blocks", 99)


def ptr_out_of_range(img):
    ino = img.lookup("/dir1/dir.c")
    img.set_iblock(ino, 1, img.sb["blocks_count"] + 10)


def dup_block(img):
    a = img.lookup("/dir1/journal.c")
    b = img.lookup("/dir1/dir.c")
    img.set_iblock(b, 0, img.iblock(a, 0))


def ind_magic(img):
    ino = img.lookup("/big")
    ind = img.iblock(ino, 13)  # the double-indirect root
    img.put(ind * BLOCK, "I", 0)
    img.seal_block(ind)


def bitmap_used_free(img):
    ino = img.lookup("/dir1/journal.c")
    img.bitmap_set(img.sb["bbitmap_start"], img.iblock(ino, 0), False)


def bitmap_free_used(img):
    img.bitmap_set(img.sb["bbitmap_start"], img.sb["blocks_count"] - 2, True)


def bitmap_crc(img):
    img.data[img.sb["bbitmap_start"] * BLOCK + 64] ^= 0x10


def ibitmap_free(img):
    img.bitmap_set(img.sb["ibitmap_start"], img.lookup("/xa"), False)


def free_count(img):
    img.put(40, "Q", img.sb["free_blocks"] - 3)
    img.seal_super()


def dirent_dangling(img):
    for name, child, blk, off in img.dir_entries(img.lookup("/dir1")):
        if name == "dir.c":
            img.put(blk * BLOCK + off, "I", 900)  # a free inode
            img.seal_block(blk)


def dirent_root_link(img):
    for name, child, blk, off in img.dir_entries(img.lookup("/dir1")):
        if name == "sub":
            img.put(blk * BLOCK + off, "I", twimg.ROOT_INO)
            img.seal_block(blk)


def dir_block_crc(img):
    ino = img.lookup("/dir1")
    blk = img.bmap(ino, 1)
    img.data[blk * BLOCK + 200] ^= 0x01


def dir_rec_len(img):
    ino = img.lookup("/dir1")
    blk = img.bmap(ino, 1)
    img.put(blk * BLOCK + 32 + 4, "H", 3)  # not a multiple of 8
    img.seal_block(blk)


def dir_index_hash(img):
    ino = img.lookup("/many")
    bucket = img.bmap(ino, twimg.DIR_IDX_BASE)
    off = bucket * BLOCK + 40
    img.put(off, "I", img.get(off, "I") ^ 0x5A5A)
    img.seal_block(bucket)


def dir_count(img):
    ino = img.lookup("/many")
    hdr = img.bmap(ino, 0)
    img.put(hdr * BLOCK + 48, "Q", 12345)
    img.seal_block(hdr)


def dir_parent(img):
    ino = img.lookup("/dir1/sub")
    hdr = img.bmap(ino, 0)
    img.put(hdr * BLOCK + 32, "I", img.lookup("/many"))
    img.seal_block(hdr)


def unattached(img):
    for name, child, blk, off in img.dir_entries(img.lookup("/dir1/sub")):
        if name == "meta.c":
            img.put(blk * BLOCK + off, "I", 0)
            img.seal_block(blk)
            hdr = img.bmap(img.lookup("/dir1/sub"), 0)
            img.put(hdr * BLOCK + 48, "Q", 0)
            img.seal_block(hdr)


def orphan_stale(img):
    ob = img.sb["orphan_start"]
    img.put(ob * BLOCK + 32, "I", img.lookup("/dir1/journal.c"))
    img.seal_block(ob)


def xattr_crc(img):
    ino = img.lookup("/xa")
    xb = img.inode(ino)["xattr"]
    img.data[xb * BLOCK + 60] ^= 0x01


def acl_malformed(img):
    """/xa's xattr block rewritten to hold one entry,
    system.posix_acl_access, whose ACL has an owner entry only (no group,
    no other): well-formed as a block, refused as an ACL."""
    ino = img.lookup("/xa")
    xb = img.inode(ino)["xattr"]
    name = b"posix_acl_access"
    value = struct.pack("<IHHI", 2, 0x01, 6, 0xFFFFFFFF)
    ent = struct.pack("<BBH", 4, len(name), len(value)) + name + value
    ent += b"\0" * (-len(ent) % 4)
    off = xb * BLOCK
    img.data[off + 40:off + BLOCK] = bytes(BLOCK - 40)
    img.data[off + 40:off + 40 + len(ent)] = ent
    img.put(off + 32, "I", 1)
    img.put(off + 36, "I", len(ent))
    img.seal_block(xb)


def _xb_ref(img, name):
    """The entry of /xb's attribute @name."""
    for e in img.xattr_entries(img.lookup("/xb")):
        if e["name"] == name:
            return e
    raise KeyError(name)


def xidx_magic(img):
    idx, _ = img.xattr_blocks(img.lookup("/xb"))
    img.put(idx * BLOCK, "I", MAGIC["xattr"])
    img.seal_block(idx)


def xidx_crc(img):
    idx, _ = img.xattr_blocks(img.lookup("/xb"))
    img.data[idx * BLOCK + 44] ^= 0x01   # slot 0, not resealed


def xidx_dup_slot(img):
    idx, ents = img.xattr_blocks(img.lookup("/xb"))
    img.put(idx * BLOCK + 40 + 8 * 1, "Q", ents[0])
    img.seal_block(idx)


def xidx_slot_range(img):
    idx, _ = img.xattr_blocks(img.lookup("/xb"))
    img.put(idx * BLOCK + 40 + 8 * 2, "Q", img.sb["blocks_count"] + 7)
    img.seal_block(idx)


def xentry_owner(img):
    _, ents = img.xattr_blocks(img.lookup("/xb"))
    img.put(ents[1] * BLOCK + 16, "Q", img.lookup("/xa"))
    img.seal_block(ents[1])


def xval_crc(img):
    """A byte of a value changed and its block resealed: only the value's
    crc32c (xr_crc) says so."""
    blk = _xb_ref(img, "big")["ref"][2][1]
    img.data[blk * BLOCK + 100] ^= 0x20
    img.seal_block(blk)


def xval_owner(img):
    blk = _xb_ref(img, "mid")["ref"][2][0]
    img.put(blk * BLOCK + 16, "Q", img.lookup("/xa"))
    img.seal_block(blk)


def xval_dup(img):
    """user.big's first value block listed again as trusted.mid's."""
    big, mid = _xb_ref(img, "big"), _xb_ref(img, "mid")
    off = mid["off"] + 4 + len("mid") + 8
    img.put(off, "Q", big["ref"][2][0])
    img.seal_block(mid["block"])


def xattr_feature_off(img):
    img.put(24, "I", img.sb["feature_incompat"] & ~1)
    img.seal_super()


def xattr_iblocks(img):
    ino = img.lookup("/xb")
    img.set_inode(ino, "blocks", img.inode(ino)["blocks"] - 2)


def symlink_size(img):
    img.set_inode(img.lookup("/link"), "size", 0)


def _journal_txn(img, good):
    """A committed transaction in the journal that changes the label."""
    js = img.sb["journal_start"]
    body = img.sb["journal_blocks"] - 1
    seq = img.get(js * BLOCK + 32, "Q")
    start = img.get(js * BLOCK + 40, "I")

    def jblk(pos):
        return js + 1 + (pos % body)

    pos = start - 1
    copy = bytearray(img.block(0))
    copy[184:184 + 64] = b"replayed".ljust(64, b"\0")
    struct.pack_into("<I", copy, 4, 0)
    struct.pack_into("<I", copy, 4, crc32c(0xFFFFFFFF, bytes(copy[:512])))
    desc = bytearray(BLOCK)
    struct.pack_into("<IIQQII", desc, 0, MAGIC["jdesc"], 0, jblk(pos), 0,
                     seq & 0xFFFFFFFF, 0)
    struct.pack_into("<QI", desc, 32, seq, 1)
    struct.pack_into("<Q", desc, 48, 0)
    struct.pack_into("<I", desc, 4, crc32c(img.seed, bytes(desc)))
    data_crc = crc32c(crc32c(0xFFFFFFFF, bytes(desc)), bytes(copy))
    commit = bytearray(BLOCK)
    struct.pack_into("<IIQQII", commit, 0, MAGIC["jcommit"], 0,
                     jblk(pos + 2), 0, seq & 0xFFFFFFFF, 0)
    struct.pack_into("<QII", commit, 32, seq, 2,
                     data_crc if good else data_crc ^ 1)
    struct.pack_into("<I", commit, 4, crc32c(img.seed, bytes(commit)))
    for i, b in enumerate((desc, copy, commit)):
        o = jblk(pos + i) * BLOCK
        img.data[o:o + BLOCK] = b
    # the superblock on disk says the filesystem was in use
    img.put(28, "I", 0)
    img.seal_super()


def journal_pending(img):
    _journal_txn(img, True)


def journal_torn(img):
    _journal_txn(img, False)


def garbage(img):
    for off in range(0, len(img.data), 512):
        img.data[off:off + 8] = b"\xde\xad\xbe\xef" * 2


SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EUCLEAN, EBADMSG = "EUCLEAN", "EBADMSG"

# name, corruption, description, fsck -n, mount errno, access, fsck -y
CASES = [
    ("sb-magic", sb_magic, "superblock magic overwritten",
     4, EUCLEAN, None, 4),
    ("sb-crc", sb_crc, "a superblock byte flipped, checksum not updated",
     4, EBADMSG, None, 4),
    ("sb-layout", sb_layout, "data start moved off the computed layout",
     4, EUCLEAN, None, 4),
    ("sb-too-big", sb_too_big, "block count larger than the device",
     4, EUCLEAN, None, 4),
    ("sb-feature", sb_feature, "an unknown incompatible feature bit",
     4, EUCLEAN, None, 4),
    ("jsb-crc", jsb_crc, "journal superblock byte flipped",
     4, EBADMSG, None, 1),
    ("root-crc", root_crc, "root inode byte flipped",
     4, EBADMSG, None, 4),
    ("root-not-dir", root_not_dir, "root inode is a regular file",
     4, EUCLEAN, None, 4),
    ("inode-crc", inode_crc, "a file's inode byte flipped",
     4, None, ("/dir1/dir.c", EBADMSG), 1),
    ("inode-bad-mode", inode_bad_mode, "a file's inode has an invalid type",
     4, None, ("/dir1/dir.c", EUCLEAN), 1),
    ("nlink-wrong", nlink_wrong, "a file's link count is 5 instead of 1",
     4, None, None, 1),
    ("dir-nlink-wrong", dir_nlink_wrong, "a directory's link count is 7",
     4, None, None, 1),
    ("iblocks-wrong", iblocks_wrong, "i_blocks does not match the map",
     4, None, None, 1),
    ("ptr-out-of-range", ptr_out_of_range,
     "a block pointer beyond the filesystem",
     4, None, ("/dir1/dir.c", EUCLEAN), 1),
    ("dup-block", dup_block, "two files claim the same block",
     4, None, None, 1),
    ("ind-magic", ind_magic, "an indirect block's magic overwritten",
     4, None, ("/big", EUCLEAN), 1),
    ("bitmap-used-free", bitmap_used_free,
     "a block in use is marked free in the bitmap", 4, None, None, 1),
    ("bitmap-free-used", bitmap_free_used,
     "a free block is marked in use (a leak)", 4, None, None, 1),
    ("bitmap-crc", bitmap_crc, "a block bitmap byte flipped",
     4, EBADMSG, None, 1),
    ("ibitmap-free", ibitmap_free, "an inode in use is marked free",
     4, None, None, 1),
    ("free-count", free_count, "superblock free block count is off by 3",
     4, None, None, 1),
    ("dirent-dangling", dirent_dangling,
     "a directory entry names a free inode",
     4, None, ("/dir1/dir.c", EUCLEAN), 1),
    ("dirent-root-link", dirent_root_link,
     "a directory entry links the root directory", 4, None, None, 1),
    ("dir-block-crc", dir_block_crc, "a directory entry block byte flipped",
     4, None, ("/dir1/journal.c", EBADMSG), 1),
    ("dir-rec-len", dir_rec_len, "a directory record length of 3",
     4, None, ("/dir1/journal.c", EUCLEAN), 1),
    ("dir-index-hash", dir_index_hash,
     "a hash in a directory bucket altered", 4, None, None, 1),
    ("dir-count", dir_count, "a directory's entry count is wrong",
     4, None, None, 1),
    ("dir-parent", dir_parent, "a directory's '..' names the wrong parent",
     4, None, None, 1),
    ("unattached", unattached,
     "a file with nlink 1 whose only entry was erased", 4, None, None, 1),
    ("orphan-stale", orphan_stale,
     "the orphan table names a linked file that is no orphan",
     4, None, None, 1),
    ("xattr-crc", xattr_crc, "the xattr block byte flipped",
     4, None, None, 1),
    ("acl-malformed", acl_malformed,
     "an access ACL without group and other entries", 4, None, None, 1),
    ("xidx-magic", xidx_magic, "the xattr index block's magic overwritten",
     4, None, None, 1),
    ("xidx-crc", xidx_crc, "an xattr index block byte flipped",
     4, None, None, 1),
    ("xidx-dup-slot", xidx_dup_slot,
     "an xattr index lists one entry block twice", 4, None, None, 1),
    ("xidx-slot-range", xidx_slot_range,
     "an xattr index slot beyond the filesystem", 4, None, None, 1),
    ("xentry-owner", xentry_owner,
     "an xattr entry block owned by another inode", 4, None, None, 1),
    ("xval-crc", xval_crc,
     "a value block's byte changed, the block resealed (value crc32c)",
     4, None, None, 1),
    ("xval-owner", xval_owner, "an xattr value block owned by another inode",
     4, None, None, 1),
    ("xval-dup", xval_dup, "two xattr values list the same value block",
     4, None, None, 1),
    ("xattr-feature-off", xattr_feature_off,
     "an xattr index on an image without the xattr_index feature",
     4, None, None, 1),
    ("xattr-iblocks", xattr_iblocks,
     "i_blocks of a file with value blocks is 2 short", 4, None, None, 1),
    ("symlink-size", symlink_size, "a symlink of size 0",
     4, None, ("/link", EUCLEAN), 1),
    ("journal-pending", journal_pending,
     "a committed transaction not yet checkpointed (not a corruption)",
     0, None, None, 0),
    ("journal-torn", journal_torn,
     "a transaction whose commit checksum is wrong (discarded)",
     0, None, None, 0),
    ("garbage", garbage, "not a filesystem at all",
     4, EUCLEAN, None, 4),
]


def make_all(build, out):
    os.makedirs(out, exist_ok=True)
    base = make_base(build, os.path.join(out, "base.img"))
    made = {}
    for name, fn, *_ in CASES:
        path = os.path.join(out, name + ".img")
        shutil.copyfile(base, path)
        img = twimg.Image(path)
        fn(img)
        img.save()
        made[name] = path
    return base, made


def doc():
    print("| image | corruption | fsck -n | mount | access | fsck -y |")
    print("|---|---|---|---|---|---|")
    for name, _, desc, n, mount, access, y in CASES:
        acc = "%s: %s" % access if access else "-"
        print("| %s | %s | %d | %s | %s | %d |"
              % (name, desc, n, mount or "ok", acc, y))


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "--doc":
        doc()
    elif len(sys.argv) == 3:
        make_all(sys.argv[1], sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
