"""The manual pages against the programs: --help, --version, usage errors.

Layer: tests.  Runs every installed program of the build (subprocess) and
renders its page from the build directory (man/, made by man/meson.build)
with mandoc.  Checks, for each program:

- --help and -h print the usage on stdout and exit 0 (GNU conventions);
- --version and -V print "NAME (twinfs) VERSION" first, VERSION being
  meson.build's project version, and exit 0;
- an unknown option is an error on stderr pointing to --help, with the
  program's usage exit status (fsck.twinfs: 16 as in fsck(8));
- every option (-x, --long) that --help prints, and every command or -o
  option name it lists, is in the program's page; for twinfs-fuse the -o
  option names are in twinfs(5) too.

Binaries and pages come from $TWINFS_BUILD (default: build).  Run with
Debian's interpreter: /usr/bin/python3 -m pytest tests/tools/test_man.py
(mandoc: Debian package mandoc, in debian-packages.txt).
"""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("TWINFS_BUILD", "build"))

# program: (path in the build directory, its page, exit status of a usage
# error)
PROGRAMS = {
    "mkfs.twinfs": ("tools/mkfs.twinfs", "mkfs.twinfs.8", 1),
    "fsck.twinfs": ("tools/fsck.twinfs", "fsck.twinfs.8", 16),
    "twinfs-dump": ("tools/twinfs-dump", "twinfs-dump.8", 2),
    "twinfs-ctl": ("tools/twinfs-ctl", "twinfs-ctl.8", 2),
    "twinfs-mod": ("tools/twinfs-mod/twinfs-mod", "twinfs-mod.8", 2),
    "twinfs-fuse": ("fusefs/twinfs-fuse", "twinfs-fuse.8", 2),
}
PAGES = sorted({p for _, p, _ in PROGRAMS.values()} | {"twinfs.5"})


def project_version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def run(name, *args):
    path = os.path.join(BUILD, PROGRAMS[name][0])
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not built (TWINFS_BUILD=%s)" % (name, BUILD))
    return subprocess.run([path, *args], capture_output=True, text=True,
                          timeout=60)


_rendered = {}


def page_text(page):
    """The page as a reader sees it: plain text, one long line a paragraph
    (mandoc never hyphenates), whitespace collapsed."""
    if page not in _rendered:
        if not shutil.which("mandoc"):
            pytest.fail("mandoc is missing: make deps installs it "
                        "(debian-packages.txt)")
        src = os.path.join(BUILD, "man", page)
        if not os.path.exists(src):
            pytest.fail("%s is not built (TWINFS_BUILD=%s)" % (page, BUILD))
        r = subprocess.run(["mandoc", "-Tascii", "-Owidth=400", src],
                           capture_output=True, text=True, check=True)
        text = re.sub(r".\x08", "", r.stdout)
        _rendered[page] = " ".join(text.split())
    return _rendered[page]


def has_token(text, word):
    """@word in @text, not as part of a longer option or name."""
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])",
                     text) is not None


def help_options(text):
    """Every -x and --long option in a --help text."""
    return sorted(set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text)))


def help_names(text):
    """The commands and -o option names a --help text lists: the first word
    of each item in the first column of lines indented by two spaces
    ("  threads[=N]   ...", "  clone_fd, no_clone_fd", "  ls [-l] [PATH] |
    mkdir PATH | ...", "  load [--with-deps] ...")."""
    names = set()
    for line in text.splitlines():
        if not re.match(r"  [a-z]", line):
            continue
        first = re.split(r"\s{2,}", line.strip())[0]
        for item in re.split(r",\s+|\s\|(?:\s|$)", first):
            m = re.match(r"([a-z][\w.-]*)", item)
            if m:
                names.add(m.group(1))
    return sorted(names)


def subcommand_helps(name):
    """twinfs-mod COMMAND --help, for the commands its --help lists."""
    if name != "twinfs-mod":
        return []
    out = []
    for cmd in ("load", "unload", "status", "info"):
        r = run(name, cmd, "--help")
        assert r.returncode == 0, (cmd, r.stderr)
        assert r.stdout.startswith("usage: twinfs-mod " + cmd), r.stdout
        out.append(r.stdout)
    return out


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(name, flag):
    r = run(name, flag)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Usage: "), r.stdout
    assert r.stderr == ""
    assert "%s(" % name in r.stdout, "the help names the manual page"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(name, flag):
    r = run(name, flag)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "%s (twinfs) %s" % (name, project_version())
    if name == "twinfs-fuse":
        assert re.fullmatch(r"libfuse 3\.\d+\.\d+", lines[1]), lines
    elif name != "twinfs-mod":
        assert lines[1] == "on-disk format version 1", lines


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("arg", ["--no-such-option", "-%"])
def test_unknown_option(name, arg):
    r = run(name, arg)
    assert r.returncode == PROGRAMS[name][2], r.stderr
    assert r.stdout == ""
    assert ("option '%s'" % arg in r.stderr or
            "option -- '%s'" % arg[1:] in r.stderr), r.stderr
    assert "Try '%s --help'" % name in r.stderr, r.stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_page_has_every_option_of_help(name):
    text = page_text(PROGRAMS[name][1])
    helps = [run(name, "--help").stdout] + subcommand_helps(name)
    missing = []
    for h in helps:
        missing += [o for o in help_options(h) if not has_token(text, o)]
        missing += [n for n in help_names(h) if not has_token(text, n)]
    assert not missing, "%s: in --help, not in %s: %s" % (
        name, PROGRAMS[name][1], sorted(set(missing)))


def test_twinfs5_has_every_fuse_option():
    names = help_names(run("twinfs-fuse", "--help").stdout)
    assert "profile" not in names and "threads" in names
    text = page_text("twinfs.5")
    missing = [n for n in names + ["profile"] if not has_token(text, n)]
    assert not missing, "twinfs-fuse -o options not in twinfs(5): %s" % (
        missing)


def test_help_lists_what_the_extractors_expect():
    """The extractors above see what they are meant to (so that the page
    checks cannot pass by finding nothing)."""
    fuse = run("twinfs-fuse", "--help").stdout
    assert {"base", "optimized", "clone_fd", "no_clone_fd", "fault",
            "default_permissions", "dirsync"} <= set(help_names(fuse))
    assert {"-f", "-o", "--help", "--version"} <= set(help_options(fuse))
    ctl = run("twinfs-ctl", "--help").stdout
    assert {"ls", "put", "getxattr", "write", "df"} <= set(help_names(ctl))
    mod = run("twinfs-mod", "--help").stdout
    assert {"load", "unload", "status", "info"} <= set(help_names(mod))
    unload = run("twinfs-mod", "unload", "--help").stdout
    assert {"--wait", "--timeout", "--with-deps"} <= set(
        help_options(unload))


@pytest.mark.parametrize("page", PAGES)
def test_page_is_complete(page):
    """Filled in by meson, named as the program, with the usual sections."""
    with open(os.path.join(BUILD, "man", page)) as f:
        src = f.read()
    assert "@" not in re.sub(r"^\.\\\".*$", "", src, flags=re.M), \
        "an @VARIABLE@ left unsubstituted"
    name, section = page.rsplit(".", 1)
    assert re.search(r"^\.Dt %s %s$" % (re.escape(name.upper()), section),
                     src, re.M)
    assert ".Os twinfs %s\n" % project_version() in src
    text = page_text(page)
    for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"):
        assert " %s " % sec in text, sec
    if section == "8":
        assert " EXIT STATUS " in text
