"""`meson install` into a temporary DESTDIR, and the installed tree used.

Layer: tests.  Runs meson (install, introspect), the installed programs,
man, mkfs(8) and fsck(8) from util-linux, and `make -C kmod dkms-source`
for comparison; writes only under pytest's temporary directory.  Checks
that:

- every file meson installs carries one of the tags a packager splits by
  (runtime, man, doc, dkms), and `--tags` installs just that part;
- the programs land in sbindir, with `twinfs` (the name mount.fuse3 runs
  for fuse.twinfs) a relative symlink to twinfs-fuse, and answer
  --version from there; mkfs -t twinfs and fsck -t twinfs find them
  through PATH;
- the pages land in man5/man8, filled in with the installed paths, and
  `man --warnings -l` renders them silently;
- the documentation lands in share/doc/twinfs;
- the DKMS source tree, $prefix/src/twinfs-VERSION, is the very tree
  `make -C kmod dkms-source` lays out, with dkms.conf of this version.

The build directory is $TWINFS_BUILD (default: build), already built
(`make build`).  Run with Debian's interpreter:
/usr/bin/python3 -m pytest tests/tools/test_install.py
"""

import filecmp
import json
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("TWINFS_BUILD", "build"))

PROGRAMS = ["mkfs.twinfs", "fsck.twinfs", "twinfs-fuse", "twinfs-dump",
            "twinfs-ctl", "twinfs-mod"]
PAGES = {"man5": ["twinfs.5"],
         "man8": [p + ".8" for p in PROGRAMS]}
TAGS = {"runtime", "man", "doc", "dkms"}


def version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def introspect(what):
    r = subprocess.run(["meson", "introspect", "--" + what, BUILD],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def dirs():
    """The install directories, absolute, as configured."""
    opts = {o["name"]: o["value"] for o in introspect("buildoptions")}
    prefix = opts["prefix"]
    d = {k: os.path.join(prefix, opts[k])
         for k in ("sbindir", "mandir", "datadir")}
    d["prefix"] = prefix
    d["docdir"] = os.path.join(d["datadir"], "doc", "twinfs")
    d["dkmsdir"] = os.path.join(prefix, "src", "twinfs-" + version())
    return d


def install(destdir, *args):
    if not os.path.exists(os.path.join(BUILD, "build.ninja")):
        pytest.fail("%s is not a configured build directory" % BUILD)
    env = dict(os.environ, DESTDIR=str(destdir))
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild",
                        "--quiet", *args], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def under(destdir, path):
    return os.path.join(str(destdir), path.lstrip("/"))


def files_below(top):
    out = set()
    for d, _, fs in os.walk(top):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), top))
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """One complete install, shared by the tests of this file."""
    dest = tmp_path_factory.mktemp("destdir")
    install(dest)
    return dest


def test_every_installed_file_has_a_packaging_tag():
    plan = introspect("install-plan")
    untagged = [(src, e["destination"]) for kind in plan.values()
                for src, e in kind.items() if e.get("tag") not in TAGS]
    assert not untagged, untagged


def test_programs_in_sbindir(tree):
    d = dirs()
    sbin = under(tree, d["sbindir"])
    for p in PROGRAMS:
        path = os.path.join(sbin, p)
        assert os.access(path, os.X_OK), path
        r = subprocess.run([path, "--version"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0] == "%s (twinfs) %s" % (p, version())
    # mount.fuse3 runs `twinfs IMAGE MNT -o ...` for type fuse.twinfs
    link = os.path.join(sbin, "twinfs")
    assert os.readlink(link) == "twinfs-fuse"
    r = subprocess.run([link, "--version"], capture_output=True, text=True)
    assert r.stdout.startswith("twinfs-fuse (twinfs) "), r.stdout


def test_installed_pages_render_without_warnings(tree):
    d = dirs()
    for sect, pages in PAGES.items():
        for page in pages:
            path = os.path.join(under(tree, d["mandir"]), sect, page)
            assert os.path.isfile(path), path
            with open(path) as f:
                src = f.read()
            assert d["docdir"] in src or page in ("twinfs-mod.8",
                                                  "twinfs-ctl.8")
            assert "@DOCDIR@" not in src and "@VERSION@" not in src
            r = subprocess.run(["man", "--warnings", "-l", path],
                               capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80",
                                        LC_ALL="C.UTF-8"))
            assert r.returncode == 0 and r.stderr == "", r.stderr
            name = page.rsplit(".", 1)[0]
            assert name in r.stdout.splitlines()[0].lower()


def test_docs(tree):
    doc = under(tree, dirs()["docdir"])
    for f in ("README.md", "docs/format.md", "docs/fuse.md",
              "docs/kernel.md", "docs/architecture.md"):
        assert os.path.isfile(os.path.join(doc, f)), f
    assert not os.path.exists(os.path.join(doc, "docs", "labs"))


def test_dkms_tree_is_dkms_source(tree, tmp_path):
    installed = under(tree, dirs()["dkmsdir"])
    ref = tmp_path / "ref"
    r = subprocess.run(["make", "-s", "-C", os.path.join(ROOT, "kmod"),
                        "dkms-source", "DEST=%s" % ref],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    want, have = files_below(ref), files_below(installed)
    assert have == want, ("only installed: %s; only in dkms-source: %s" %
                          (sorted(have - want), sorted(want - have)))
    for f in want:
        assert filecmp.cmp(os.path.join(ref, f),
                           os.path.join(installed, f), shallow=False), f
    with open(os.path.join(installed, "dkms.conf")) as f:
        conf = f.read()
    assert 'PACKAGE_NAME="twinfs"' in conf
    assert 'PACKAGE_VERSION="%s"' % version() in conf


def test_mkfs_and_fsck_find_the_installed_helpers(tree, tmp_path):
    """mkfs(8) and fsck(8) run mkfs.TYPE/fsck.TYPE found along PATH (after
    /sbin): the installed ones, with the build directory nowhere near."""
    for tool in ("mkfs", "fsck"):
        if not shutil.which(tool):
            pytest.skip("%s(8) is missing (util-linux)" % tool)
    sbin = under(tree, dirs()["sbindir"])
    env = dict(os.environ, PATH=sbin + ":/usr/sbin:/usr/bin:/sbin:/bin")
    img = str(tmp_path / "disk.img")
    r = subprocess.run(["mkfs", "-t", "twinfs", "-q", img, "8M"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["fsck", "-t", "twinfs", "-n", img], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert any(l.startswith(img + ": ") and l.endswith(", clean")
               for l in r.stdout.splitlines()), r.stdout
    ctl = os.path.join(sbin, "twinfs-ctl")
    r = subprocess.run([ctl, img, "mkdir", "/d"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([os.path.join(sbin, "twinfs-dump"), "--json", img,
                        "ls", "/"], capture_output=True, text=True)
    assert r.returncode == 0 and '"d"' in r.stdout, r.stderr


@pytest.mark.parametrize("tag,top", [("man", "mandir"), ("dkms", "dkmsdir"),
                                     ("runtime", "sbindir"),
                                     ("doc", "docdir")])
def test_one_tag_installs_one_part(tmp_path, tag, top):
    install(tmp_path, "--tags", tag)
    d = dirs()
    part = under(tmp_path, d[top])
    assert files_below(part), part
    if tag == "runtime":
        assert os.path.islink(os.path.join(part, "twinfs"))
    for other, where in (("man", "mandir"), ("dkms", "dkmsdir"),
                         ("runtime", "sbindir"), ("doc", "docdir")):
        if other != tag:
            assert not os.path.exists(under(tmp_path, d[where])), other
