"""The report's section on what FUSE costs and what the daemon costs:
twinfs-fuse against the FUSE ceiling (libfuse's passthrough_ll over kernel
ext4 on the same device, bench/twb/ceiling.py) and against fuse2fs, and
the ceiling against the kernel ext4 below it; once for the guest and once
for the host (report.py calls it; ratios are speed ratios from medians,
as everywhere in the report: above 1, the first is faster).
"""

from . import ceiling

# (first, second, column title, what the ratio means: one line)
COLUMNS = [
	('twinfs-fuse-opt', 'fuse-ceiling', 'opt/ceiling',
	 'optimized twinfs-fuse against the fastest FUSE pass-through on '
	 'the same device: what the twinfs daemon (format, allocation, '
	 'journal, block cache, its request handling) costs beyond FUSE '
	 'itself; 1 = at the FUSE ceiling'),
	('twinfs-fuse-base', 'fuse-ceiling', 'base/ceiling',
	 'the same for the base profile (one thread, 128 KiB requests, no '
	 'kernel caching of entries and attributes)'),
	('twinfs-fuse-opt', 'fuse2fs', 'opt/fuse2fs',
	 'optimized twinfs-fuse against another daemon with a real on-disk '
	 'format behind the same FUSE: above 1, the twinfs daemon costs '
	 'less than fuse2fs\'s'),
	('twinfs-fuse-base', 'fuse2fs', 'base/fuse2fs',
	 'the same for the base profile'),
	('fuse2fs', 'fuse-ceiling', 'fuse2fs/ceiling',
	 'what fuse2fs\'s daemon costs beyond FUSE, for scale'),
	('fuse-ceiling', 'ext4', 'ceiling/ext4',
	 'what FUSE itself costs: the pass-through against the kernel ext4 '
	 'it passes every request to (1 = FUSE costs nothing)'),
]

PLACES = [('', 'in the guest'), ('@host', 'natively on the host')]


def table(agg, suffix, rows, speed_ratio):
	"""(columns present, [(metric, title, [ratio or None, ...])]) for
	the subjects named with @suffix ('' guest, '@host' host)."""
	cols = [c for c in COLUMNS
		if c[0] + suffix in agg and c[1] + suffix in agg]
	out = []
	for metric, title in rows:
		vals = [speed_ratio(agg, a + suffix, b + suffix, metric)
			for a, b, _, _ in cols]
		if any(v is not None for v in vals):
			out.append((metric, title, vals))
	return cols, out


def present(agg):
	"""The places (suffix, words) where the ceiling was measured."""
	return [(sfx, words) for sfx, words in PLACES
		if 'fuse-ceiling' + sfx in agg]


def terminal(agg, rows, speed_ratio, fratio, text_table):
	"""Lines for the terminal: one small table per place."""
	out = []
	for sfx, words in present(agg):
		cols, trs = table(agg, sfx, rows, speed_ratio)
		if not trs:
			continue
		out += ['', 'Against the FUSE ceiling (passthrough_ll over '
			'kernel ext4) and fuse2fs, %s:' % words, '']
		out.append(text_table(['workload'] + [c[2] for c in cols],
				      [[t] + [fratio(v) for v in vals]
				       for _, t, vals in trs]))
	if out:
		out.append('ceiling: libfuse\'s passthrough_ll over kernel ext4 '
			   '(what FUSE allows); x/ceiling: what the daemon '
			   'costs beyond FUSE; ceiling/ext4: what FUSE costs.')
	return out


def markdown(agg, rows, speed_ratio, fratio, md_table):
	"""The report's section (a list of lines; empty without the
	ceiling)."""
	places = present(agg)
	if not places:
		return []
	L = ['## What FUSE costs, and what the daemon costs', '',
	     'The FUSE ceiling is libfuse\'s own passthrough_ll example '
	     '(libfuse3-dev, compiled at bench time) over kernel ext4 on '
	     'the same device as every other subject; it keeps no format of '
	     'its own, so it is the fastest a FUSE filesystem can be here '
	     'for file data (the data rows; issue 12\'s target T4).  Its '
	     'options: -o %s, no writeback cache (bench/twb/ceiling.py says '
	     'why).  For metadata it is no ceiling: the example finds its '
	     'inodes by walking a linked list, so a metadata ratio above 1 '
	     'against it says little.' % ceiling.OPTIONS, '']
	for sfx, words in places:
		cols, trs = table(agg, sfx, rows, speed_ratio)
		if not trs:
			continue
		L.append('### %s' % words[0].upper() + words[1:])
		L.append('')
		L.append(md_table(['workload'] + [c[2] for c in cols],
				  [[t] + [fratio(v) for v in vals]
				   for _, t, vals in trs]))
		L.append('')
		for _, _, title, meaning in cols:
			L.append('- %s: %s.' % (title, meaning))
		L.append('')
	return L
