"""Golden corrupted images: each documented corruption (mkimages.CASES)
must give its fsck verdict and its mount or access error, and fsck -y must
leave a clean filesystem where it claims to have repaired.

Layer: tests.  Runs the project's tools on images made by mkimages.py.
"""

import errno
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimages  # noqa: E402

BUILD = os.environ.get("TWINFS_BUILD", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
TOOLS = os.path.join(BUILD, "tools")


def tool(name, *args):
    return subprocess.run([os.path.join(TOOLS, name), *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    base, made = mkimages.make_all(BUILD, str(out))
    yield base, made
    shutil.rmtree(out, ignore_errors=True)


def test_base_image_is_clean(images):
    base, _ = images
    r = tool("fsck.twinfs", "-n", base)
    assert r.returncode == 0, r.stdout + r.stderr


def errmsg(name):
    return os.strerror(getattr(errno, name))


@pytest.mark.parametrize("case", mkimages.CASES, ids=[c[0] for c in
                                                       mkimages.CASES])
def test_golden_image(case, images, tmp_path):
    name, _, desc, fsck_n, mount, access, fsck_y = case
    _, made = images
    img = str(tmp_path / (name + ".img"))
    shutil.copyfile(made[name], img)

    r = tool("fsck.twinfs", "-n", img)
    assert r.returncode == fsck_n, "%s: fsck -n said\n%s%s" % (
        desc, r.stdout, r.stderr)
    if fsck_n:
        assert "not fixed" in r.stdout or "superblock:" in r.stdout or \
            "cannot" in r.stdout or "root" in r.stdout, r.stdout

    # mounting (through the core, read-only) and reading
    r = tool("twinfs-ctl", img, "ls", "/")
    if mount is None:
        assert r.returncode == 0, "%s: mount failed: %s" % (desc, r.stderr)
    else:
        assert r.returncode != 0
        assert errmsg(mount) in r.stderr, r.stderr
        # the validator names what is wrong, not just the errno
        assert r.stderr.count("\n") >= 2 or "superblock" in r.stderr, \
            r.stderr
    if access:
        path, err = access
        r = tool("twinfs-ctl", img, "cat", path)
        assert r.returncode != 0, "%s: reading %s worked" % (desc, path)
        assert errmsg(err) in r.stderr, r.stderr

    # repair, then a clean check
    before = os.path.getsize(img)
    r = tool("fsck.twinfs", "-y", img)
    assert r.returncode == fsck_y, "%s: fsck -y said\n%s%s" % (
        desc, r.stdout, r.stderr)
    assert os.path.getsize(img) == before
    if fsck_y in (0, 1):
        r = tool("fsck.twinfs", "-n", img)
        assert r.returncode == 0, "%s: not clean after repair:\n%s" % (
            desc, r.stdout)
        r = tool("twinfs-ctl", img, "ls", "/")
        assert r.returncode == 0, r.stderr


def test_journal_pending_is_replayed(images, tmp_path):
    """A committed transaction in the log is applied at mount."""
    _, made = images
    img = str(tmp_path / "j.img")
    shutil.copyfile(made["journal-pending"], img)
    r = tool("twinfs-ctl", img, "mkdir", "/after-replay")
    assert r.returncode == 0, r.stderr
    with open(img, "rb") as f:
        assert f.read(184 + 8)[184:] == b"replayed"


def test_journal_torn_is_discarded(images, tmp_path):
    _, made = images
    img = str(tmp_path / "t.img")
    shutil.copyfile(made["journal-torn"], img)
    r = tool("twinfs-ctl", img, "mkdir", "/after")
    assert r.returncode == 0, r.stderr
    with open(img, "rb") as f:
        assert f.read(184 + 6)[184:] == b"golden"


def test_preen_fixes_safe_problems_only(images, tmp_path):
    _, made = images
    safe = str(tmp_path / "safe.img")
    shutil.copyfile(made["nlink-wrong"], safe)
    r = tool("fsck.twinfs", "-p", safe)
    assert r.returncode == 1, r.stdout
    unsafe = str(tmp_path / "unsafe.img")
    shutil.copyfile(made["dup-block"], unsafe)
    r = tool("fsck.twinfs", "-p", unsafe)
    assert r.returncode == 4, r.stdout
    assert "MANUALLY" in r.stdout


def test_fsck_usage_and_missing_device(tmp_path):
    assert tool("fsck.twinfs", "-n", "-y", "x").returncode == 16
    assert tool("fsck.twinfs").returncode == 16
    r = tool("fsck.twinfs", "-n", str(tmp_path / "missing.img"))
    assert r.returncode == 8
    assert "No such file" in r.stdout + r.stderr
