# twinfs tests/crash: dm-log-writes, from Python, and its log converted to
# twinfs's write-log format.
#
# Layer: test harness (Python stdlib: fcntl, struct, ctypes); runs in the
# test guest as root.  Talks to the kernel's device mapper through its
# ioctls (a fork of dmsetup costs about half a second under TCG; an ioctl
# nothing), and reads the log device's format as the kernel's
# Documentation/admin-guide/device-mapper/log-writes.rst and
# drivers/md/dm-log-writes.c define it:
#
#   sector 0:   struct log_write_super { le64 magic 0x6a736677736872,
#               le64 version 1, le64 nr_entries, le32 sectorsize }
#   then nr_entries entries, each one sector (of sectorsize bytes) holding
#               struct log_write_entry { le64 sector, le64 nr_sectors,
#               le64 flags, le64 data_len } and, for a mark, its name;
#               followed (unless it is a discard) by nr_sectors sectors of
#               the data written.  sector and nr_sectors count sectors of
#               sectorsize bytes.
#   flags:      FLUSH 1, FUA 2, DISCARD 4, MARK 8, METADATA 16
#
# dm-log-writes logs a write only once a flush covers it (or at the end),
# so the log is in the order data reached stable storage: writes, then the
# flush that made them durable.  A mark is logged when it is sent.
#
# Conversion to the TWWLOG01 format of user/tw_user.h (4 KiB blocks,
# records "write BLOCK DATA" and "flush"):
#   - a write becomes one record per 4 KiB block (a write that is not
#     block-aligned is merged with the current image, so it still becomes
#     whole blocks);
#   - a flush without data becomes a flush record; a flush with data
#     (REQ_PREFLUSH on a write) becomes a flush record, then the write;
#   - a FUA write becomes the write, then a flush record: stronger than FUA
#     (it also makes earlier writes durable) and counted, so a report can
#     say so; twinfs does not issue FUA writes;
#   - a discard is refused (twinfs does not discard);
#   - a mark is not a record: its name maps to the log offset where it was
#     logged.
import ctypes
import fcntl
import os
import struct

LOG_FLUSH, LOG_FUA, LOG_DISCARD, LOG_MARK, LOG_METADATA = 1, 2, 4, 8, 16
MAGIC = 0x6a736677736872
BS = 4096

# ---------------------------------------------------------------------------
# Device mapper ioctls (include/uapi/linux/dm-ioctl.h)
# ---------------------------------------------------------------------------

DM_IOCTL_SIZE = 312	# sizeof(struct dm_ioctl)
DM_DEV_CREATE, DM_DEV_REMOVE, DM_DEV_SUSPEND = 3, 4, 6
DM_TABLE_LOAD, DM_TARGET_MSG = 9, 14
DM_SUSPEND_FLAG = 1 << 1


def _iowr(nr):
	return (3 << 30) | (DM_IOCTL_SIZE << 16) | (0xfd << 8) | nr


class DM:
	"""One device-mapper device driven through /dev/mapper/control."""

	def __init__(self, name):
		self.name = name.encode()
		self.ctl = os.open('/dev/mapper/control', os.O_RDWR)
		self.dev = None

	def _call(self, cmd, payload=b'', target_count=0, flags=0):
		size = DM_IOCTL_SIZE + len(payload)
		buf = bytearray(size)
		struct.pack_into('<3I I I I i I I I Q', buf, 0, 4, 0, 0, size,
				 DM_IOCTL_SIZE, target_count, 0, flags, 0, 0, 0)
		buf[48:48 + len(self.name)] = self.name
		buf[DM_IOCTL_SIZE:] = payload
		fcntl.ioctl(self.ctl, _iowr(cmd), buf, True)
		return buf

	def create(self, sectors, params, target='log-writes'):
		"""Create the device with one target over @sectors 512-byte
		sectors; returns its dev_t."""
		buf = self._call(DM_DEV_CREATE)
		self.dev = struct.unpack_from('<Q', buf, 40)[0]
		p = params.encode() + b'\0'
		p += b'\0' * (-(40 + len(p)) % 8)
		spec = struct.pack('<Q Q i I 16s', 0, sectors, 0, 40 + len(p),
				   target.encode())
		self._call(DM_TABLE_LOAD, spec + p, target_count=1)
		self._call(DM_DEV_SUSPEND)	# no SUSPEND flag: resume
		return self.dev

	def message(self, msg):
		self._call(DM_TARGET_MSG, struct.pack('<Q', 0) +
			   msg.encode() + b'\0')

	def remove(self):
		self._call(DM_DEV_REMOVE)

	def close(self):
		os.close(self.ctl)


def dev_node(path, dev):
	"""A block device node for dev_t @dev (the guest has no udev)."""
	if os.path.exists(path):
		os.unlink(path)
	major = (dev >> 8) & 0xfff | ((dev >> 32) & ~0xfff)
	minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
	os.mknod(path, 0o600 | 0o060000, os.makedev(major, minor))
	return path


# ---------------------------------------------------------------------------
# mount(2) and umount(2) without a fork
# ---------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def mount(src, target, fstype, data=None, flags=0):
	r = _libc.mount(src.encode(), target.encode(), fstype.encode(),
			ctypes.c_ulong(flags),
			data.encode() if data else None)
	if r:
		e = ctypes.get_errno()
		raise OSError(e, 'mount %s on %s: %s' % (src, target,
							  os.strerror(e)))


def umount(target):
	if _libc.umount2(target.encode(), 0):
		e = ctypes.get_errno()
		raise OSError(e, 'umount %s: %s' % (target, os.strerror(e)))


# ---------------------------------------------------------------------------
# The converter
# ---------------------------------------------------------------------------

class ConvertError(Exception):
	pass


def convert(f, base):
	"""Convert the dm-log-writes log in file @f (open, binary) of a device
	whose content was @base (bytes) when logging began.  Returns (twwlog
	bytes, {mark: offset}, stats).  Reads only the entries, not the whole
	log device."""
	def read(off, n):
		f.seek(off)
		b = f.read(n)
		if len(b) != n:
			raise ConvertError('log truncated at byte %d' % off)
		return b

	magic, version, nr, ss = struct.unpack_from('<QQQI', read(0, 28))
	if magic != MAGIC or version != 1:
		raise ConvertError('not a dm-log-writes log (magic %#x, '
				   'version %d)' % (magic, version))
	blocks = len(base) // BS
	img = bytearray(base)
	out = [b'TWWLOG01', struct.pack('<IIQQ', 1, BS, blocks, 0)]
	size = 32
	marks = {}
	st = {'entries': nr, 'writes': 0, 'flushes': 0, 'fua': 0,
	      'unaligned': 0}
	pos = ss

	def flush():
		nonlocal size
		out.append(struct.pack('<IIQ', 2, 0, 0))
		size += 16
		st['flushes'] += 1

	for _ in range(nr):
		ent = read(pos, ss)
		sector, nsec, flags, dlen = struct.unpack_from('<QQQQ', ent)
		if flags & LOG_MARK:
			name = ent[32:32 + dlen].decode()
			marks[name] = size
			pos += ss
			continue
		pos += ss
		if flags & LOG_DISCARD:
			raise ConvertError('a discard of sectors %d+%d: twinfs '
					   'does not discard' % (sector, nsec))
		data = read(pos, nsec * ss)
		pos += nsec * ss
		if flags & LOG_FLUSH:
			flush()
		if nsec:
			off = sector * ss
			end = off + len(data)
			if end > len(img):
				raise ConvertError('a write past the device end')
			if off % BS or end % BS:
				st['unaligned'] += 1
			img[off:end] = data
			for b in range(off // BS, (end + BS - 1) // BS):
				out.append(struct.pack('<IIQ', 1, 0, b))
				out.append(bytes(img[b * BS:(b + 1) * BS]))
				size += 16 + BS
				st['writes'] += 1
			if flags & LOG_FUA:
				st['fua'] += 1
				flush()
	return b''.join(out), marks, st
