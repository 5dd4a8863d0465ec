#!/usr/bin/python3 -S
# docs/labs/tools/modforge.py: make a doctored copy of a kernel module
# (.ko) for Lab 4 ("Version safety"): one that claims to be built for
# another kernel (its vermagic rewritten), or one without its signature.
# Layer: lab tool and test helper (Python stdlib only: hence python3 -S,
# which skips site-packages and starts faster in the guest); reads and
# writes files, nothing else.  tests/vm/modfiles.py imports it, so the
# tests and the students use one implementation.
#
#   modforge.py vermagic IN.ko OUT.ko RELEASE
#       OUT.ko is IN.ko claiming to be built for kernel RELEASE (only the
#       first word of vermagic changes, e.g. 6.1.0-57-amd64 becomes
#       5.10.0-30-amd64; the other words stay)
#   modforge.py vermagic --whole IN.ko OUT.ko 'VERMAGIC'
#       ... the whole vermagic replaced, e.g. the one of Debian 11's
#       kernel: '5.10.0-30-amd64 SMP mod_unload modversions '
#   modforge.py unsign IN.ko OUT.ko
#       OUT.ko is IN.ko without its appended signature
#
# How: a module's .modinfo section is a list of "key=value" strings, each
# ended by a NUL; the kernel and modinfo skip extra NULs between them.  A
# new vermagic that is not longer than the old one is written in place
# and padded with NULs; a longer one gets a new copy of the whole section
# at the end of the file, and the section header points there (a module
# is a relocatable ELF file: nothing but the section headers says where a
# section is).  Any edit breaks a signature, so the signature is removed
# first.  The result is meant to be refused by the kernel: never load it
# outside a virtual machine.
import argparse
import struct
import sys

SIG_MAGIC = b'~Module signature appended~\n'


def strip_signature(data):
	"""The module without its appended PKCS#7 signature.

	A signed module ends with: the signature, struct module_signature
	(12 bytes, sig_len big-endian in the last 4), the magic string."""
	if not data.endswith(SIG_MAGIC):
		return data
	info = data[-len(SIG_MAGIC) - 12:-len(SIG_MAGIC)]
	sig_len = struct.unpack('>I', info[8:12])[0]
	return data[:len(data) - len(SIG_MAGIC) - 12 - sig_len]


def _modinfo_section(data):
	"""(offset of its section header, sh_offset, sh_size) of .modinfo in
	a 64-bit little-endian ELF file."""
	if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
		raise ValueError('not a 64-bit little-endian ELF file')
	shoff, = struct.unpack_from('<Q', data, 0x28)
	shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)

	def header(i):
		return struct.unpack_from('<IIQQQQIIQQ', data,
					  shoff + i * shentsize)
	names = header(shstrndx)
	for i in range(shnum):
		h = header(i)
		start = names[4] + h[0]
		if data[start:data.index(b'\0', start)] == b'.modinfo':
			return shoff + i * shentsize, h[4], h[5]
	raise ValueError('no .modinfo section: not a kernel module')


def modinfo(data):
	"""The module's .modinfo strings ("key=value"), in order."""
	_, off, size = _modinfo_section(data)
	return [s.decode(errors='replace')
		for s in data[off:off + size].split(b'\0') if s]


def set_vermagic(data, vermagic):
	"""The module (bytes) with vermagic= set to @vermagic (the whole
	string) and without its signature."""
	data = strip_signature(data)
	hdr, off, size = _modinfo_section(data)
	old = data[off:off + size]
	strings = [s for s in old.split(b'\0') if s]
	if not any(s.startswith(b'vermagic=') for s in strings):
		raise ValueError('the module has no vermagic')
	new = b''.join((b'vermagic=' + vermagic.encode()
			if s.startswith(b'vermagic=') else s) + b'\0'
		       for s in strings)
	if len(new) <= size:
		# In place: the same section, NUL-padded to its old size.
		return data[:off] + new.ljust(size, b'\0') + \
			data[off + size:]
	# A new copy at the end of the file (8-byte aligned), and the
	# section header's sh_offset and sh_size point to it.
	pad = b'\0' * (-len(data) % 8)
	noff = len(data) + len(pad)
	out = bytearray(data + pad + new)
	struct.pack_into('<QQ', out, hdr + 24, noff, len(new))
	return bytes(out)


def set_release(data, release):
	"""The module with the first word of its vermagic (the kernel
	release) replaced by @release; the other words stay."""
	for s in modinfo(strip_signature(data)):
		if s.startswith('vermagic='):
			words = s[len('vermagic='):].split(' ', 1)
			rest = words[1] if len(words) > 1 else ''
			return set_vermagic(data, release + ' ' + rest)
	raise ValueError('the module has no vermagic')


def main():
	ap = argparse.ArgumentParser(
		prog='modforge.py',
		description='Make a doctored copy of a kernel module, for '
			    'Lab 4.  The copy has no signature.')
	sub = ap.add_subparsers(dest='cmd', required=True)
	v = sub.add_parser('vermagic', help='claim another kernel')
	v.add_argument('--whole', action='store_true',
		       help='replace the whole vermagic, not just the release')
	v.add_argument('input', metavar='IN.ko')
	v.add_argument('output', metavar='OUT.ko')
	v.add_argument('value', metavar='RELEASE')
	u = sub.add_parser('unsign', help='remove the signature')
	u.add_argument('input', metavar='IN.ko')
	u.add_argument('output', metavar='OUT.ko')
	args = ap.parse_args()
	try:
		with open(args.input, 'rb') as f:
			data = f.read()
		if args.cmd == 'unsign':
			out = strip_signature(data)
			_modinfo_section(out)	# is it a module at all?
		elif args.whole:
			out = set_vermagic(data, args.value)
		else:
			out = set_release(data, args.value)
		with open(args.output, 'wb') as f:
			f.write(out)
	except (OSError, ValueError) as e:
		print('modforge.py: %s' % e, file=sys.stderr)
		return 1
	for s in modinfo(out):
		if s.startswith('vermagic='):
			print('%s: vermagic: %s' % (args.output, s[9:]))
	return 0


if __name__ == '__main__':
	sys.exit(main())
