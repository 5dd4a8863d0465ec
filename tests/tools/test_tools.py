"""Tests of the twinfs tools: mkfs.twinfs and twinfs-dump.

Layer: tests.  Runs the built tools as a user would (subprocess), checks
their output and exit codes, and reads images with a few lines of Python
written from docs/format.md (not from the C code), so that the format
document, mkfs and the dump are checked against each other.  twinfs-ctl
(tools/ctl.c) populates images; fsck.twinfs -n checks what mkfs made.

Binaries come from $TWINFS_BUILD (a meson build directory; a relative path
is taken from the repository root), default: build.  Run with Debian's
interpreter: /usr/bin/python3 -m pytest tests/tools
"""

import hashlib
import json
import os
import shutil
import struct
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("TWINFS_BUILD", "build"))
TOOLS = os.path.join(BUILD, "tools")
BLOCK = 4096


def tool(name):
    return os.path.join(TOOLS, name)


def run(name, *args, check=None, inp=None):
    """Run a built tool; with check=0 (or another code) assert the exit."""
    path = tool(name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (TWINFS_BUILD=%s)" % (name, BUILD))
    r = subprocess.run([path, *map(str, args)], capture_output=True,
                       text=True, input=inp, timeout=120)
    if check is not None:
        assert r.returncode == check, (
            "%s %s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s" %
            (name, " ".join(map(str, args)), r.returncode, check,
             r.stdout, r.stderr))
    return r


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate JSON keys: %s" % keys
    return dict(pairs)


def dump_json(img, *args, check=0):
    r = run("twinfs-dump", "--json", img, *args, check=check)
    return json.loads(r.stdout, object_pairs_hook=no_duplicate_keys)


def mkfs(img, *args, size=None, check=0):
    extra = [size] if size else []
    return run("mkfs.twinfs", *args, img, *extra, check=check)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---- crc32c and the on-disk structures, from docs/format.md -----------------

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(crc, data):
    """The raw running crc32c: no inversion in or out (tw_crc32c)."""
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >> 8)
    return crc


def block_csum(seed, blk):
    """crc32c of a 4 KiB block with its crc field (bytes 4..7) as zero."""
    return crc32c(seed, bytes(blk[0:4]) + b"\0\0\0\0" + bytes(blk[8:]))


def seal(seed, blk):
    struct.pack_into("<I", blk, 4, block_csum(seed, blk))


def inode_csum(seed, ino, raw):
    return crc32c(crc32c(seed, struct.pack("<I", ino)), raw[:252])


class Image:
    """Byte-level access to an image, enough to write a journal entry."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            sb = f.read(512)
        (self.magic, self.blocks_count) = struct.unpack_from("<I28xQ", sb)
        self.journal_start, self.journal_blocks = struct.unpack_from(
            "<QI", sb, 56)
        self.itable_start = struct.unpack_from("<Q", sb, 96)[0]
        self.csum_seed = struct.unpack_from("<I", sb, 120)[0]
        self.uuid = sb[168:184]

    def read(self, blk):
        with open(self.path, "rb") as f:
            f.seek(blk * BLOCK)
            return bytearray(f.read(BLOCK))

    def write(self, blk, data):
        assert len(data) == BLOCK
        with open(self.path, "r+b") as f:
            f.seek(blk * BLOCK)
            f.write(data)

    def jblock(self, pos):
        return self.journal_start + 1 + pos % (self.journal_blocks - 1)

    def journal_head(self):
        js = self.read(self.journal_start)
        seq, start = struct.unpack_from("<QI", js, 32)
        return seq, start - 1

    def write_transaction(self, copies, torn=False):
        """Put one committed transaction in the log where replay looks:
        a descriptor, the copies (target block -> 4 KiB), a commit block.
        Nothing is written in place: as after a crash right after the
        commit block became durable.  With torn, the commit block's data
        crc is off by one."""
        seq, pos = self.journal_head()
        seed = self.csum_seed
        desc = bytearray(BLOCK)
        targets = list(copies)
        struct.pack_into("<IIQQII", desc, 0, 0x444a5754, 0,
                         self.jblock(pos), 0, seq & 0xffffffff, 0)
        struct.pack_into("<QI", desc, 32, seq, len(targets))
        for i, t in enumerate(targets):
            struct.pack_into("<Q", desc, 48 + 8 * i, t)
        seal(seed, desc)
        self.write(self.jblock(pos), desc)
        chain = crc32c(0xffffffff, desc)
        for i, t in enumerate(targets):
            self.write(self.jblock(pos + 1 + i), copies[t])
            chain = crc32c(chain, copies[t])
        cpos = pos + 1 + len(targets)
        commit = bytearray(BLOCK)
        struct.pack_into("<IIQQII", commit, 0, 0x434a5754, 0,
                         self.jblock(cpos), 0, seq & 0xffffffff, 0)
        struct.pack_into("<QIIQ", commit, 32, seq, 1 + len(targets),
                         (chain + (1 if torn else 0)) & 0xffffffff,
                         1700000000 * 10**9)
        seal(seed, commit)
        self.write(self.jblock(cpos), commit)
        return seq, pos


# ---- fixtures ---------------------------------------------------------------

@pytest.fixture
def img(tmp_path):
    return str(tmp_path / "disk.img")


@pytest.fixture
def populated(tmp_path):
    """A small image with a few files, made through twinfs-ctl."""
    path = str(tmp_path / "pop.img")
    mkfs(path, "-q", "-L", "pop", size="16M")
    src = tmp_path / "hello.txt"
    src.write_text("hello, world\n")
    script = "\n".join([
        "mkdir /docs",
        "put %s /hello.txt" % src,
        "put %s /docs/readme" % src,
        "symlink hello.txt /link",
        "setxattr /hello.txt user.note hi",
        "write /hello.txt 1048576 far",
    ] + ["put %s /docs/a-longer-file-name-%03d" % (src, i)
         for i in range(200)]) + "\n"
    run("twinfs-ctl", path, "-", inp=script, check=0)
    return path


# ---- mkfs -------------------------------------------------------------------

def test_mkfs_256m_then_fsck_clean(img):
    r = mkfs(img, "-L", "teach", "-N", "4096", size="256M")
    assert os.path.getsize(img) == 256 << 20
    assert "teach" in r.stdout
    assert "65536 blocks" in r.stdout
    assert "4096" in r.stdout
    if not os.access(tool("fsck.twinfs"), os.X_OK):
        pytest.skip("fsck.twinfs is not built: cannot check the result")
    r = run("fsck.twinfs", "-n", img)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mkfs_quiet_and_existing_file(img):
    with open(img, "wb") as f:
        f.truncate(32 << 20)
    r = mkfs(img, "-q")  # no SIZE: the file's size
    assert r.stdout == "" and r.stderr == ""
    sb = dump_json(img, "superblock")["superblock"]
    assert sb["blocks_count"] == (32 << 20) // BLOCK


@pytest.mark.parametrize("size,blocks", [
    ("4096K", 1024), ("8388608", 2048), ("1G", 262144), ("3MiB", 768),
])
def test_mkfs_size_syntax(img, size, blocks):
    mkfs(img, "-q", size=size)
    assert os.path.getsize(img) == blocks * BLOCK
    assert dump_json(img, "superblock")["superblock"]["blocks_count"] == \
        blocks


def test_mkfs_smaller_than_file_keeps_file(img):
    with open(img, "wb") as f:
        f.truncate(64 << 20)
    mkfs(img, "-q", size="16M")
    assert os.path.getsize(img) == 64 << 20
    assert dump_json(img, "superblock")["superblock"]["blocks_count"] == \
        4096


def test_mkfs_parameters_in_superblock(img):
    uuid = "0123abcd-4567-89ef-0123-456789abcdef"
    mkfs(img, "-q", "-L", "my label", "-N", "1000", "-J", "256", "-U",
         uuid, size="64M")
    d = dump_json(img, "superblock")
    sb = d["superblock"]
    assert d["valid"] is True
    assert sb["label"] == "my label"
    assert sb["inodes_count"] == 1008  # rounded up to 16 per block
    assert sb["journal_blocks"] == 256
    assert sb["uuid"] == uuid
    assert sb["crc_valid"] and sb["csum_seed_valid"]
    assert sb["csum_seed"] == crc32c(0xffffffff, bytes.fromhex(
        uuid.replace("-", "")))
    assert sb["root_ino"] == 1
    assert sb["state_flags"] == ["clean"]
    root = dump_json(img, "inode", "1")["inode"]
    assert root["uid"] == os.getuid() and root["gid"] == os.getgid()
    assert root["mode_octal"] == "040755"


def test_mkfs_layout_follows_from_sizes(img):
    """docs/format.md: every region starts where the previous one ends."""
    mkfs(img, "-q", "-N", "40000", size="300M")
    d = dump_json(img, "superblock")
    regions = d["layout"]
    assert [r["region"] for r in regions] == [
        "superblock", "journal", "orphan table", "block bitmap",
        "inode bitmap", "inode table", "data"]
    for a, b in zip(regions, regions[1:]):
        assert a["start"] + a["blocks"] == b["start"]
    sb = d["superblock"]
    bits = BLOCK * 8 - 32 * 8
    assert sb["bbitmap_blocks"] == -(-sb["blocks_count"] // bits)
    assert sb["ibitmap_blocks"] == -(-sb["inodes_count"] // bits)
    assert sb["itable_blocks"] == sb["inodes_count"] // 16
    assert regions[-1]["start"] + regions[-1]["blocks"] == \
        sb["blocks_count"]


def test_mkfs_too_small(img):
    r = mkfs(img, size="1M", check=1)
    assert "too small" in r.stderr and "minimum is 2 MiB" in r.stderr
    assert not os.path.exists(img), "a failed mkfs left a file behind"
    r = mkfs(img, "-J", "4096", size="8M", check=1)
    assert "too small" in r.stderr and "minimum" in r.stderr
    assert not os.path.exists(img)


@pytest.mark.parametrize("size", ["12Q", "abc", "-5", "0", "1.5G", "10MB!",
                                  "99999999999999999999"])
def test_mkfs_bad_size(img, size):
    if size.startswith("-"):
        # options may follow DEVICE (GNU getopt, as in mke2fs): "-5" there
        # is an unknown option, a usage error; after "--" it is a size
        r = mkfs(img, size=size, check=1)
        assert "invalid option -- '5'" in r.stderr, r.stderr
        assert "Try 'mkfs.twinfs --help'" in r.stderr
        r = run("mkfs.twinfs", "--", img, size, check=1)
    else:
        r = mkfs(img, size=size, check=1)
    assert "bad size" in r.stderr or "out of range" in r.stderr, r.stderr
    assert not os.path.exists(img)


def test_mkfs_bad_options(img):
    assert "journal" in mkfs(img, "-J", "10", size="16M",
                             check=1).stderr
    assert "label" in mkfs(img, "-L", "x" * 64, size="16M",
                           check=1).stderr
    assert "UUID" in mkfs(img, "-U", "not-a-uuid", size="16M",
                          check=1).stderr
    assert "inode" in mkfs(img, "-N", "zero", size="16M", check=1).stderr
    r = mkfs(img, check=1)  # no such file, no size
    assert "No such file" in r.stderr and "SIZE" in r.stderr
    assert not os.path.exists(img)


def test_mkfs_again_same_uuid_starts_empty(populated):
    """mkfs -U over an old image of the same UUID: the old journal must
    not be replayed onto the new filesystem."""
    uuid = dump_json(populated, "superblock")["superblock"]["uuid"]
    mkfs(populated, "-q", "-U", uuid, "-L", "again")
    d = dump_json(populated)
    assert d["journal"]["replayable_transactions"] == 0
    assert d["root"]["entries"] == 0
    assert d["superblock"]["label"] == "again"
    names = [e["name"] for e in dump_json(populated, "ls", "/")["entries"]]
    assert names == [".", ".."]


def test_mkfs_not_a_file_or_device(tmp_path):
    r = mkfs(str(tmp_path), size="16M", check=1)
    assert "not a regular file or block device" in r.stderr
    r = mkfs(str(tmp_path / "no" / "such" / "dir.img"), size="16M",
             check=1)
    assert "No such file or directory" in r.stderr


def test_mkfs_unwritable(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    path = d / "x.img"
    path.write_bytes(b"\0" * (4 << 20))
    path.chmod(0o444)
    if os.access(str(path), os.W_OK):
        pytest.skip("running as root: permissions do not stop writes")
    r = mkfs(str(path), check=1)
    assert "Permission denied" in r.stderr


def test_mkfs_via_mkfs8(img):
    mkfs8 = shutil.which("mkfs") or "/sbin/mkfs"
    if not os.access(mkfs8, os.X_OK):
        pytest.skip("mkfs(8) is not installed")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    env = dict(os.environ, PATH=TOOLS + ":" + os.environ.get("PATH", ""))
    r = subprocess.run([mkfs8, "-t", "twinfs", "-L", "viamkfs", img],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert dump_json(img, "superblock")["superblock"]["label"] == "viamkfs"


# ---- twinfs-dump ------------------------------------------------------------

def test_dump_default_summary(img):
    mkfs(img, "-q", "-L", "sum", size="64M")
    r = run("twinfs-dump", img, check=0)
    assert "label:" in r.stdout and "sum" in r.stdout
    assert "Validator: superblock valid" in r.stdout
    d = dump_json(img)
    assert d["command"] == "summary"
    assert d["journal"]["replayable_transactions"] == 0
    assert d["usage"]["free_inodes"] == d["superblock"]["free_inodes"]
    assert d["root"]["entries"] == 0
    assert d["orphans"]["count"] == 0


def test_dump_superblock_human_and_json(img):
    mkfs(img, "-q", "-L", "lbl", "-N", "2048", size="32M")
    r = run("twinfs-dump", img, "superblock", check=0)
    lines = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip()
             for ln in r.stdout.splitlines() if ln.startswith("  ")
             and ":" in ln}
    assert lines["label"] == "lbl"
    assert lines["inodes_count"].split()[0] == "2048"
    assert lines["blocks_count"].split()[0] == "8192"
    assert "(valid)" in lines["crc"]
    sb = dump_json(img, "superblock")["superblock"]
    assert sb["label"] == "lbl" and sb["inodes_count"] == 2048
    # the ISO time and the ns agree on the second
    assert sb["mkfs_time_iso"].startswith("20")
    assert sb["mount_time"] == 0 and sb["mount_time_iso"] is None


def test_dump_root_dir(img):
    mkfs(img, "-q", size="16M")
    d = dump_json(img, "dir", "1")["directory"]
    assert d["parent"] == 1 and d["entries"] == 0
    assert d["indexed"] is False and d["buckets"] == 0
    names = [(e["name"], e["cookie"], e["next"], e["ino"])
             for e in d["readdir"]]
    assert names == [(".", 0, 1, 1), ("..", 1, 2, 1)]
    r = run("twinfs-dump", img, "ls", "/", check=0)
    assert "drwxr-xr-x" in r.stdout


def test_dump_populated_dirs(populated):
    d = dump_json(populated, "dir", "1")["directory"]
    by = {e["name"]: e for e in d["readdir"]}
    assert {"docs", "hello.txt", "link"} <= set(by)
    for e in d["readdir"][2:]:
        # a cookie is the entry's byte position: lblk * 4096 + offset
        assert e["cookie"] == e["lblk"] * BLOCK + e["offset"]
        assert e["next"] == e["cookie"] + 1
        assert e["offset"] >= 32 and e["offset"] % 8 == 0
    assert by["docs"]["type"] == "dir" and by["link"]["type"] == "lnk"
    docs = dump_json(populated, "dir", str(by["docs"]["ino"]))["directory"]
    assert docs["indexed"] is True  # 201 entries need a second block
    assert docs["entries_seen"] == docs["entries"] == 201
    assert docs["index_slots"] == 201 and docs["index_problems"] == 0
    assert docs["buckets"] == 2 ** docs["level"] + docs["split"]
    assert len(docs["hash_buckets"]) == docs["buckets"]
    assert sum(b["count"] for b in docs["hash_buckets"]) == 201
    assert len(docs["entry_blocks"]) == docs["data_blocks"] >= 2
    ls = dump_json(populated, "ls", "/docs")
    names = [e["name"] for e in ls["entries"]]
    assert "readme" in names and "a-longer-file-name-199" in names


def test_dump_stat_file_and_symlink(populated):
    st = dump_json(populated, "stat", "/hello.txt")["inode"]
    assert st["type"] == "regular file" and st["mode_string"] == "-rw-r--r--"
    assert st["size"] == 1048576 + 3
    # block 0 (the text) and block 256 (the far write)
    lblks = sorted(e["lblk"] for e in st["extents"])
    assert lblks == [0, 256]
    assert [i["level"] for i in st["indirect"]] == [1]
    assert st["indirect"][0]["first_lblk"] == 12
    assert st["indirect"][0]["lblks"] == 508
    assert st["blocks"] == 2 + 1 + 1  # data, indirect, xattr block
    assert st["xattrs"] == [{"name": "user.note", "size": 2, "value": "hi"}]
    assert st["crc_valid"]
    ln = dump_json(populated, "stat", "/link")["inode"]
    assert ln["target"] == "hello.txt" and ln["flags"] == 1
    r = run("twinfs-dump", populated, "stat", "/hello.txt", check=0)
    assert "-rw-r--r--" in r.stdout and "0100644" in r.stdout
    assert "level 1, maps logical 12-519" in r.stdout


def test_dump_other_views(populated):
    bm = dump_json(populated, "bitmap")
    bb = bm["block_bitmap"]
    assert bb["used"] + bb["free"] == bb["bits"]
    assert bb["used_extents"][0][0] == 0  # the metadata is in use
    assert bm["inode_bitmap"]["used"] == 2 + 1 + 1 + 1 + 1 + 200
    o = dump_json(populated, "orphans")
    assert o["orphans"] == [] and o["orphan_count"] == 0
    j = dump_json(populated, "journal")["journal"]
    assert j["journal_superblock"]["valid"] is True
    assert j["transactions"] == []
    assert j["end"]["replayable_transactions"] == 0
    b = dump_json(populated, "block", "0")["block"]
    assert b["region"] == "superblock" and len(b["hex"]) == 2 * BLOCK
    b = dump_json(populated, "block", "1")["block"]
    assert b["header"]["type"] == "journal superblock"
    assert b["header"]["crc_valid"] is True
    r = run("twinfs-dump", populated, "block", "999999", check=1)
    assert "beyond the device" in r.stderr


def test_dump_never_writes(populated):
    before = sha(populated)
    for args in ([], ["superblock"], ["inode", "1"], ["dir", "1"],
                 ["ls", "/docs"], ["stat", "/link"], ["journal"],
                 ["bitmap"], ["orphans"], ["block", "0"]):
        run("twinfs-dump", populated, *args, check=0)
        run("twinfs-dump", "--json", populated, *args, check=0)
    assert sha(populated) == before


def test_dump_refuses_garbage(tmp_path):
    path = str(tmp_path / "garbage.img")
    with open(path, "wb") as f:
        f.write(os.urandom(4 << 20))
    for args in ([], ["inode", "1"], ["ls", "/"]):
        r = run("twinfs-dump", path, *args)
        assert r.returncode == 1, r.stdout
        assert "not a valid twinfs filesystem" in r.stderr
        assert "bad magic" in r.stderr
    r = run("twinfs-dump", "--json", path)
    assert r.returncode == 1
    assert "bad magic" in json.loads(r.stdout)["error"]
    # raw views still work on what is there
    r = run("twinfs-dump", path, "block", "0", check=0)
    assert "WRONG" in r.stdout
    # an empty file and a missing one
    empty = str(tmp_path / "empty.img")
    open(empty, "wb").close()
    r = run("twinfs-dump", empty)
    assert r.returncode == 1 and "smaller than one block" in r.stderr
    r = run("twinfs-dump", str(tmp_path / "nope.img"))
    assert r.returncode == 1 and "No such file" in r.stderr


def test_dump_bad_arguments(img):
    mkfs(img, "-q", size="16M")
    assert run("twinfs-dump", img, "inode", "x").returncode == 2
    assert run("twinfs-dump", img, "frobnicate").returncode == 2
    assert run("twinfs-dump").returncode == 2
    r = run("twinfs-dump", img, "inode", "999999", check=1)
    assert "out of range" in r.stderr
    r = run("twinfs-dump", img, "inode", "5", check=0)  # free
    assert "free" in r.stdout
    r = run("twinfs-dump", img, "stat", "/nope", check=1)
    assert "No such file" in r.stderr
    r = run("twinfs-dump", img, "dir", "5", check=1)
    assert "not in use" in r.stderr


def _root_inode_change(im, uid):
    """The inode table block holding the root, with the root's uid
    changed and its crc recomputed."""
    blk = im.read(im.itable_start)
    off = 1 * 256
    struct.pack_into("<I", blk, off + 8, uid)
    struct.pack_into("<I", blk, off + 252,
                     inode_csum(im.csum_seed, 1, blk[off:off + 256]))
    return blk


def test_dump_pending_journal_replayed_in_memory(img):
    mkfs(img, "-q", size="16M")
    im = Image(img)
    seq, pos = im.write_transaction(
        {im.itable_start: _root_inode_change(im, 4242)})
    before = sha(img)
    j = dump_json(img, "journal")["journal"]
    assert j["end"]["replayable_transactions"] == 1
    t = j["transactions"][0]
    assert t["seq"] == seq and t["position"] == pos and t["complete"]
    assert t["descriptors"][0]["targets"][0]["target"] == im.itable_start
    assert t["commit"]["data_crc_valid"] and t["commit"]["nblocks"] == 2
    # through the core: replayed in memory; the disk still has the old one
    assert dump_json(img, "inode", "1")["inode"]["uid"] == 4242
    s = dump_json(img)
    assert s["journal"]["replayable_transactions"] == 1
    assert any("replayed 1 transaction" in m for m in s["mount"]["messages"])
    raw = im.read(im.itable_start)
    assert struct.unpack_from("<I", raw, 256 + 8)[0] == os.getuid()
    assert sha(img) == before


def test_dump_torn_transaction_ignored(img):
    mkfs(img, "-q", size="16M")
    im = Image(img)
    im.write_transaction({im.itable_start: _root_inode_change(im, 4242)},
                         torn=True)
    j = dump_json(img, "journal")["journal"]
    assert j["end"]["replayable_transactions"] == 0
    t = j["transactions"][0]
    assert not t["complete"] and not t["commit"]["data_crc_valid"]
    assert "torn" in j["end"]["reason"]
    assert dump_json(img, "inode", "1")["inode"]["uid"] == os.getuid()


def test_dump_reports_corruption(populated):
    """A bad inode checksum: a clear message and exit 1, never a crash."""
    im = Image(populated)
    blk = im.read(im.itable_start)
    blk[2 * 256 + 16] ^= 0xff  # inode 2's size, crc left stale
    im.write(im.itable_start, blk)
    r = run("twinfs-dump", populated, "inode", "2", check=1)
    assert "Bad message" in r.stderr and "checksum" in r.stderr
    r = run("twinfs-dump", "--json", populated, "inode", "2", check=1)
    assert "error" in json.loads(r.stdout)
    r = run("twinfs-dump", populated, "block", str(im.itable_start),
            check=0)
    assert "crc INVALID" in r.stdout


def test_json_strings_escaped(img):
    mkfs(img, "-q", "-L", 'q"b\\s\tt', size="16M")
    sb = dump_json(img, "superblock")["superblock"]
    assert sb["label"] == 'q"b\\s\tt'
