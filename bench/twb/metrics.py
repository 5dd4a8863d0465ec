"""The metrics of the report's tables, in their order, with their short
titles, and how their numbers are printed: one list and one format for
the comparison (report.py) and the ablation (ablation.py).

Layer: benchmark harness; no imports.
"""

# Rows of the tables, in order: (metric, short title)
ROWS = [
	('seqwrite', 'seq write 1M'),
	('seqread', 'seq read 1M cold'),
	('randread', 'rand read 4K cold'),
	('randwrite', 'rand write 4K'),
	('fsyncwrite', 'write 4K+fsync'),
	('create', 'create'),
	('stat_cached', 'stat cached'),
	('stat_uncached', 'stat uncached'),
	('readdir', 'readdir'),
	('rename', 'rename'),
	('unlink', 'unlink'),
	('create_big', 'create (big dir)'),
	('readdir_big', 'readdir (big dir)'),
	# four clients sharing the work of the one-client twin above
	('seqwrite_x4', 'seq write 1M x4'),
	('seqread_x4', 'seq read 1M cold x4'),
	('randread_x4', 'rand read 4K cold x4'),
	('randwrite_x4', 'rand write 4K x4'),
	('create_x4', 'create x4 own dirs'),
	('create_x4_shared', 'create x4 shared dir'),
	('stat_cached_x4', 'stat cached x4'),
	('stat_uncached_x4', 'stat uncached x4'),
	('lat_getattr', 'getattr p50'),
	('lat_lookup', 'lookup p50'),
	('lat_create', 'create p50'),
	('lat_read4k', 'read 4K p50'),
	('mount_cold', 'mount cold'),
	('mount_warm', 'mount warm'),
	('umount', 'unmount'),
]
TITLE = dict(ROWS)


def fnum(v, unit=None):
	"""A measured value with the digits it deserves; seconds (@unit 's')
	as ms below 1 s."""
	if v is None:
		return '-'
	a = abs(v)
	if unit == 's':
		if a < 1:
			return '%.0f ms' % (v * 1000) if a >= 0.01 else \
				'%.1f ms' % (v * 1000)
		return '%.2f s' % v
	if a >= 100:
		return '%.0f' % v
	if a >= 10:
		return '%.1f' % v
	if a >= 1:
		return '%.2f' % v
	return '%.3f' % v
