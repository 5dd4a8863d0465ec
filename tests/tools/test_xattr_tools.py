"""The tools and extended attributes beyond one block (docs/format.md
section 11): twinfs-dump shows the index, the entry blocks and the value
blocks (inode view and block decoder, human and JSON), the superblock's
xattr_index feature; fsck.twinfs finds an image made through the core
clean, and finds and repairs a damaged value.

Layer: tests.  Runs the built mkfs.twinfs, twinfs-ctl, twinfs-dump and
fsck.twinfs (TWINFS_BUILD); patches one block with test_tools.py's crc32c.
"""

import os
import struct
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_tools import BLOCK, dump_json, mkfs, run, seal  # noqa: E402

BIG = "0123456789" * 800		# 8000 bytes: two value blocks
MID = "m" * 3000			# one value block


@pytest.fixture
def ximg(tmp_path):
    """/f with 300 short attributes (an index over two entry blocks) and
    two values in value blocks; /g with one attribute (the old form)."""
    path = str(tmp_path / "x.img")
    mkfs(path, "-q", size="16M")
    script = ["put %s /f" % __file__, "put %s /g" % __file__,
              "setxattr /g user.one 1"]
    script += ["setxattr /f user.a%03d value-%03d" % (i, i)
               for i in range(300)]
    script += ["setxattr /f user.big " + BIG, "setxattr /f trusted.mid " + MID]
    run("twinfs-ctl", path, "-", inp="\n".join(script) + "\n", check=0)
    return path


def test_fsck_clean_and_feature_set(ximg):
    r = run("fsck.twinfs", "-n", ximg, check=0)
    assert "clean" in r.stdout
    sb = dump_json(ximg, "superblock")["superblock"]
    assert sb["feature_incompat"] == 1


def test_dump_inode_shows_the_index(ximg):
    st = dump_json(ximg, "stat", "/f")["inode"]
    assert st["flags"] & 2
    assert st["xattr_form"].startswith("indexed")
    ebs = st["xattr_entry_blocks"]
    assert len(ebs) == 2 and all(e["sound"] for e in ebs)
    assert sum(e["entries"] for e in ebs) == 302
    assert sum(e["external"] for e in ebs) == 2
    assert sum(e["value_blocks"] for e in ebs) == 3
    assert st["xattr_blocks"] == 1 + 2 + 3
    data = (os.path.getsize(__file__) + BLOCK - 1) // BLOCK
    assert st["blocks"] == data + 6
    vals = {x["name"]: x for x in st["xattrs"]}
    assert len(vals) == 302
    assert vals["user.big"]["size"] == 8000
    assert vals["user.big"]["value"] == BIG
    assert vals["trusted.mid"]["value"] == MID
    # the old form for the other file
    g = dump_json(ximg, "stat", "/g")["inode"]
    assert not g["flags"] & 2 and g["xattr_form"].startswith("one")
    r = run("twinfs-dump", ximg, "stat", "/f", check=0)
    assert "(xattr index)" in r.stdout
    assert "Xattr entry blocks (2):" in r.stdout


def test_dump_block_decodes_index_entries_values(ximg):
    st = dump_json(ximg, "stat", "/f")["inode"]
    idx = dump_json(ximg, "block", str(st["xattr_block"]))["block"]
    assert idx["header"]["type"] == "xattr index"
    assert idx["header"]["crc_valid"] is True
    assert idx["fields"]["xi_nblocks"] == 2
    blocks = idx["fields"]["xi_block"]
    assert blocks == [e["block"] for e in st["xattr_entry_blocks"]]
    ext = []
    for b in blocks:
        eb = dump_json(ximg, "block", str(b))["block"]
        assert eb["header"]["type"] == "extended attributes"
        ext += [e for e in eb["fields"]["entries"] if e["external"]]
    big = [e for e in ext if e["name"] == "user.big"][0]
    assert big["value_len"] == 8000 and len(big["value_blocks"]) == 2
    for k, vb in enumerate(big["value_blocks"]):
        v = dump_json(ximg, "block", str(vb))["block"]
        assert v["header"]["type"] == "xattr value"
        assert v["header"]["owner"] == st["ino"]
        assert v["fields"]["value_bytes"] == (4064 if k == 0 else 8000 - 4064)
    r = run("twinfs-dump", ximg, "block", str(blocks[-1]), check=0)
    assert "in value blocks (crc32c 0x" in r.stdout


def test_fsck_repairs_a_damaged_value(ximg):
    st = dump_json(ximg, "stat", "/f")["inode"]
    ext = []
    for b in st["xattr_entry_blocks"]:
        eb = dump_json(ximg, "block", str(b["block"]))["block"]
        ext += [e for e in eb["fields"]["entries"] if e["external"]]
    vb = [e for e in ext if e["name"] == "user.big"][0]["value_blocks"][1]
    sb = dump_json(ximg, "superblock")["superblock"]
    with open(ximg, "r+b") as f:
        f.seek(vb * BLOCK)
        blk = bytearray(f.read(BLOCK))
        blk[200] ^= 0x40		# a byte of the value; block resealed
        seal(sb["csum_seed"], blk)
        f.seek(vb * BLOCK)
        f.write(blk)
    r = run("fsck.twinfs", "-n", ximg, check=4)
    assert "user.big: value checksum mismatch" in r.stdout
    r = run("twinfs-ctl", ximg, "getxattr", "/f", "user.a100")
    assert r.returncode == 0
    run("fsck.twinfs", "-y", ximg, check=1)
    run("fsck.twinfs", "-n", ximg, check=0)
    st = dump_json(ximg, "stat", "/f")["inode"]
    names = {x["name"] for x in st["xattrs"]}
    assert "user.big" not in names and "trusted.mid" in names
    assert len(names) == 301
    assert st["xattr_blocks"] == 1 + 2 + 1
