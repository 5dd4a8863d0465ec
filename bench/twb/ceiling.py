"""The FUSE ceiling: libfuse's own passthrough_ll example, compiled at
bench time from the libfuse3-dev package (a dependency's example: nothing
of it is copied into the project).

passthrough_ll serves a directory of a kernel filesystem through FUSE's
low-level API and forwards each request to that filesystem by file
descriptor: no on-disk format, no allocation, no journal, no block cache
of its own.  Mounted over kernel ext4 on the same device as every other
subject, it is the fastest a FUSE filesystem can be here for file data,
which makes its distance from kernel ext4 what FUSE itself costs, and
twinfs-fuse's distance from it what the twinfs daemon costs beyond FUSE.
For metadata it is no ceiling: the example keeps its inodes in a linked
list that every lookup and create walks (lo_find), so it slows down in
proportion to the files it has seen (the big directory is not run on it).

Options (OPTIONS): the fastest pass-through that keeps the promises
twinfs-fuse keeps.
  cache=always  entry and attribute timeouts of 86400 s, keep_cache and
                cached readdir: the kernel's caches are trusted, which is
                honest here because nothing but the daemon changes the
                ext4 below while it is mounted (twinfs-fuse-opt: 1 s);
  clone_fd      one /dev/fuse descriptor per worker thread, as
                twinfs-fuse-opt; passthrough_ll is multi-threaded by
                default (libfuse's max_threads 10) and libfuse 3.14 asks
                for 1 MiB requests by default (max_pages 256), as
                twinfs-fuse-opt does.
Not chosen: -o writeback (the kernel's writeback cache).  With it a
write() that fills the disk still succeeds and the data are dropped
later (docs/fuse.md, "Why no profile uses the writeback cache"), the
promise twinfs-fuse keeps by leaving it off; a ceiling that breaks it
would measure another contract.  (On the build host it made
passthrough_ll's 1 MiB sequential writes 2.2x and its 4 KiB random
writes 2.5x faster: item 3 of issue 12, the ablation, measures the
writeback cache on twinfs-fuse.)

Open files: passthrough_ll holds an O_PATH descriptor for every inode
the kernel has looked up until the kernel forgets it, and with
cache=always the kernel keeps them.  The example does not raise its own
limit (Debian's default soft limit is 1,024), so it starts through
RAISE_NOFILE, which sets the soft limit to the hard one.  Where the
hard limit itself is low, the full profile's four-client metadata
workloads still fail: on the build host (hard limit 20,000) a create of
create_x4_shared failed with EMFILE after create_x4's 10,000 files, and
the report says the step failed.
"""

import gzip
import os
import shutil
import subprocess

EXAMPLES = '/usr/share/doc/libfuse3-dev/examples'
SOURCE = 'passthrough_ll.c'
HEADERS = ['passthrough_helpers.h']
PACKAGE = 'libfuse3-dev'
# where the binary goes, relative to the build directory
BINARY = os.path.join('bench-work', 'passthrough_ll', 'passthrough_ll')
OPTIONS = 'cache=always,clone_fd'
# sh -c argument: the soft limit of open files raised to the hard one,
# then the command ($0 "$@") in the shell's place
RAISE_NOFILE = 'ulimit -n "$(ulimit -Hn)" && exec "$0" "$@"'


def _find(name, examples):
	"""@name in @examples, plain or gzip-compressed (Debian compresses
	large files under /usr/share/doc), or None."""
	for cand in (name, name + '.gz'):
		path = os.path.join(examples, cand)
		if os.path.exists(path):
			return path
	return None


def _place(src, dest):
	"""Copy @src to @dest (into the build directory), uncompressing."""
	if src.endswith('.gz'):
		with gzip.open(src, 'rb') as f, open(dest, 'wb') as g:
			shutil.copyfileobj(f, g)
	else:
		shutil.copyfile(src, dest)


def _pkg_version():
	try:
		out = subprocess.run(['dpkg-query', '-W', '-f=${Version}',
				      PACKAGE], stdout=subprocess.PIPE,
				     stderr=subprocess.DEVNULL, text=True)
		return out.stdout.strip() or None
	except OSError:
		return None


def build(builddir, examples=EXAMPLES, cc='cc'):
	"""Compile passthrough_ll into @builddir/BINARY.  Returns a dict:
	binary (absolute path, or None), why (None, or the reason it could
	not be built, for the report's "not measured"), source, command,
	package version, compiler output."""
	info = {'binary': None, 'why': None, 'package': PACKAGE,
		'version': _pkg_version(), 'examples': examples,
		'options': OPTIONS}
	src = _find(SOURCE, examples)
	stale = os.path.join(builddir, BINARY)
	if not src and os.path.exists(stale):
		os.unlink(stale)
	if not src:
		info['why'] = ('not measured: %s has no %s in %s (the package '
			       'is not installed, or its examples were left '
			       'out, e.g. by a dpkg path-exclude of '
			       '/usr/share/doc)' % (PACKAGE, SOURCE, examples))
		return info
	info['source'] = src
	out = os.path.join(builddir, BINARY)
	wdir = os.path.dirname(out)
	os.makedirs(wdir, exist_ok=True)
	if os.path.exists(out):
		os.unlink(out)	# never measure a binary of an earlier run
	csrc = os.path.join(wdir, SOURCE)
	_place(src, csrc)
	for h in HEADERS:
		hp = _find(h, examples)
		if hp:
			_place(hp, os.path.join(wdir, h))
	try:
		flags = subprocess.run(['pkg-config', '--cflags', '--libs',
					'fuse3'], stdout=subprocess.PIPE,
				       stderr=subprocess.PIPE, text=True)
	except OSError as e:
		info['why'] = 'not measured: pkg-config: %s' % e
		return info
	if flags.returncode != 0:
		info['why'] = ('not measured: pkg-config knows no fuse3 (%s)' %
			       flags.stderr.strip())
		return info
	cmd = [cc, '-O2', '-Wall', '-o', out + '.tmp', csrc] + \
		flags.stdout.split()
	info['command'] = ' '.join(cmd)
	try:
		cp = subprocess.run(cmd, stdout=subprocess.PIPE,
				    stderr=subprocess.STDOUT, text=True,
				    cwd=wdir)
	except OSError as e:
		info['why'] = 'not measured: %s: %s' % (cc, e)
		return info
	info['compiler_output'] = cp.stdout[-2000:]
	if cp.returncode != 0:
		last = (cp.stdout.strip().splitlines() or ['?'])[-1]
		info['why'] = ('not measured: %s from %s did not compile '
			       '(%s)' % (SOURCE, PACKAGE, last))
		return info
	os.rename(out + '.tmp', out)
	info['binary'] = out
	return info
