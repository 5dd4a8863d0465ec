"""Parsers: tool output -> samples.

The runner stores what the tools printed, untouched, as "raw" records
(one JSON object per line in raw-*.jsonl).  Everything numeric in the
report comes from here, so these functions are what the unit tests pin
down.

A sample is a dict:
  subject, where ('guest' or 'host'), rep, metric, value, unit,
  better ('higher' or 'lower'), and optionally
  lat (p50/p99/... in microseconds), cost (CPU seconds, context switches,
  FUSE requests over the measured interval), extra (anything else).
"""

import json

from . import fiojob

# metric -> (unit, better, description)
METRICS = {
	'seqwrite': ('MB/s', 'higher', 'sequential write, 1 MiB, fsync at end'),
	'seqread': ('MB/s', 'higher', 'sequential read, 1 MiB, cold cache'),
	'randread': ('IOPS', 'higher', 'random read, 4 KiB, cold cache'),
	'randwrite': ('IOPS', 'higher', 'random write, 4 KiB, fsync at end'),
	'fsyncwrite': ('IOPS', 'higher', 'small writes, 4 KiB, fsync each'),
	'create': ('ops/s', 'higher', 'create empty files in one directory'),
	'stat_cached': ('ops/s', 'higher', 'stat each file, cached'),
	'stat_uncached': ('ops/s', 'higher',
			  'stat each file after a remount (lookup)'),
	'readdir': ('entries/s', 'higher', 'readdir after a remount'),
	'rename': ('ops/s', 'higher', 'rename each file in its directory'),
	'unlink': ('ops/s', 'higher', 'unlink each file'),
	'create_big': ('ops/s', 'higher', 'create files, large directory'),
	'readdir_big': ('entries/s', 'higher',
			'readdir of the large directory, after a remount'),
	'mount_cold': ('s', 'lower',
		       'module load + mount, or daemon start + mount, '
		       'caches dropped'),
	'mount_warm': ('s', 'lower', 'mount again, module loaded'),
	'umount': ('s', 'lower', 'unmount (FUSE: until the daemon exited)'),
	'lat_getattr': ('us', 'lower', 'fstat() of an open file'),
	'lat_lookup': ('us', 'lower', 'stat() of a name after a remount'),
	'lat_create': ('us', 'lower', 'open(O_CREAT|O_EXCL) + close'),
	'lat_read4k': ('us', 'lower', 'pread() 4 KiB, random, cold cache'),
	'replay_mount': ('s', 'lower', 'mount with N MiB of journal to replay'),
	'replay_clean': ('s', 'lower', 'the same mount again, nothing to '
			 'replay'),
	'recover_kill9': ('s', 'lower', 'after kill -9 of the daemon: '
			  'lazy unmount, daemon start with replay, first '
			  'stat served'),
	# several concurrent clients (the profile's 'clients', 4), sharing
	# the work of the one-client twin; aggregate speeds
	'seqwrite_x4': ('MB/s', 'higher', 'sequential write, 1 MiB, fsync at '
			'end, 4 clients each on its own file'),
	'seqread_x4': ('MB/s', 'higher', 'sequential read, 1 MiB, cold cache, '
		       '4 clients each on its own file'),
	'randread_x4': ('IOPS', 'higher', 'random read, 4 KiB, cold cache, '
			'4 clients each on its own file'),
	'randwrite_x4': ('IOPS', 'higher', 'random write, 4 KiB, fsync at end, '
			 '4 clients each on its own file'),
	'create_x4': ('ops/s', 'higher', 'create empty files, 4 clients each '
		      'in its own directory'),
	'create_x4_shared': ('ops/s', 'higher', 'create empty files, 4 '
			     'clients in one shared directory'),
	'stat_cached_x4': ('ops/s', 'higher', 'stat each file of the shared '
			   'directory, cached, 4 clients'),
	'stat_uncached_x4': ('ops/s', 'higher', 'stat each file of the '
			     'shared directory after a remount, 4 clients'),
}

DATA = ['seqwrite', 'seqread', 'randread', 'randwrite', 'fsyncwrite']
META = ['create', 'stat_cached', 'stat_uncached', 'readdir', 'rename',
	'unlink', 'create_big', 'readdir_big']
MOUNT = ['mount_cold', 'mount_warm', 'umount']
LATENCY = ['lat_getattr', 'lat_lookup', 'lat_create', 'lat_read4k']
DATA_X4 = ['seqwrite_x4', 'seqread_x4', 'randread_x4', 'randwrite_x4']
META_X4 = ['create_x4', 'create_x4_shared', 'stat_cached_x4',
	   'stat_uncached_x4']
X4 = DATA_X4 + META_X4


def twin(metric):
	"""The one-client workload a several-client one shares its work
	with (create_x4_shared -> create), or @metric itself."""
	if metric in X4:
		return metric.replace('_shared', '').replace('_x4', '')
	return metric


def first_json(text):
	"""The first JSON object in a tool's output (a line starting with
	'{', possibly after other lines such as fio's prerun notes)."""
	if isinstance(text, dict):
		return text
	text = text or ''
	start = text.find('{')
	if start < 0:
		raise ValueError('no JSON object in output: %r' % text[:200])
	obj, _ = json.JSONDecoder().raw_decode(text[start:])
	return obj


def json_lines(text):
	"""Every JSON object of a JSON-lines text (blank lines skipped)."""
	out = []
	for line in (text or '').splitlines():
		line = line.strip()
		if line.startswith('{'):
			out.append(json.loads(line))
	return out


def snap_delta(before, after):
	"""Counters over the interval between two snapshots (opbench's
	"before"/"after", or a hook's pre/post "snap"): seconds and
	counts, None where a counter was missing on either side.

	sys_busy_s is the time the machine's CPUs were not idle, from
	/proc/stat (in USER_HZ units: 10 ms, so it means something over
	intervals of a second or more).  /proc/schedstat's run time, which
	the snapshots also carry, is not used: it is added up when a task is
	switched out, so a task that ran through a short interval is
	missing from it.  daemon_cpu_s is the daemon's threads' run time
	from their schedstat (ns, kept current at every tick; threads that
	ended during the interval are missed), else its user+sys ticks;
	daemon_user_s and daemon_sys_s are the tick-based split."""
	if not before or not after:
		return None
	hz = float(after.get('clk_tck') or 100)
	b, a = before['cpu'], after['cpu']
	d = [x - y for x, y in zip(a, b)]
	# user nice system idle iowait irq softirq steal
	total = sum(d)
	idle = d[3] + d[4]
	out = {
		'wall_s': (after['t_ns'] - before['t_ns']) / 1e9,
		'sys_busy_s': (total - idle) / hz,
		'sys_user_s': (d[0] + d[1]) / hz,
		'sys_kernel_s': (d[2] + d[5] + d[6]) / hz,
		'ctxt': after['ctxt'] - before['ctxt'],
		'daemon_user_s': None,
		'daemon_sys_s': None,
		'daemon_cpu_s': None,
		'daemon_ctx': None,
		'fusereq': None,
	}
	db, da = before.get('daemon'), after.get('daemon')
	if db and da and db.get('pid') == da.get('pid'):
		out['daemon_user_s'] = (da['utime'] - db['utime']) / hz
		out['daemon_sys_s'] = (da['stime'] - db['stime']) / hz
		if 'run_ns' in da and 'run_ns' in db:
			out['daemon_cpu_s'] = (da['run_ns'] - db['run_ns']) / 1e9
		else:
			out['daemon_cpu_s'] = out['daemon_user_s'] + \
				out['daemon_sys_s']
		out['daemon_ctx'] = (da['vcsw'] + da['ivcsw']) - \
			(db['vcsw'] + db['ivcsw'])
	if 'fusereq' in before and 'fusereq' in after:
		out['fusereq'] = after['fusereq'] - before['fusereq']
	return out


def lat_us(lat_ns):
	"""opbench's lat_ns dict in microseconds."""
	if not lat_ns:
		return None
	return {k: v / 1000.0 for k, v in lat_ns.items()}


def opbench_result(obj):
	"""Flatten one opbench workload result."""
	obj = first_json(obj)
	ru = obj.get('rusage') or {}
	cost = snap_delta(obj.get('before'), obj.get('after')) or {}
	cost['client_user_s'] = ru.get('utime_s')
	cost['client_sys_s'] = ru.get('stime_s')
	if 'nvcsw' in ru:
		cost['client_ctx'] = ru['nvcsw'] + ru['nivcsw']
	return {
		'op': obj['op'],
		'ops': obj['ops'],
		'seconds': obj['total_ns'] / 1e9,
		'ops_per_s': obj['ops_per_s'],
		'entries': obj.get('entries'),
		'entries_per_s': obj.get('entries_per_s'),
		'lat': lat_us(obj.get('lat_ns')),
		'truncated': bool(obj.get('truncated')),
		'error': obj.get('error'),
		'cost': cost,
		# several clients (--clients): how many, and each one's own
		'clients': obj.get('clients', 1),
		'per_client': obj.get('per_client'),
	}


def _sample(rec, metric, value, **kw):
	unit, better, _ = METRICS[metric]
	s = {'subject': rec['subject'], 'where': rec.get('where', 'guest'),
	     'rep': rec.get('rep', 0), 'metric': metric, 'value': value,
	     'unit': unit, 'better': better}
	if rec.get('param') is not None:
		s['param'] = rec['param']
	s.update({k: v for k, v in kw.items() if v is not None})
	return s


# opbench steps of the runner -> (throughput metric, latency metric)
OPBENCH_STEPS = {
	'create': ('create', 'lat_create'),
	'stat_cached': ('stat_cached', None),
	'stat_uncached': ('stat_uncached', 'lat_lookup'),
	'readdir': ('readdir', None),
	'rename': ('rename', None),
	'unlink': ('unlink', None),
	'create_big': ('create_big', None),
	'readdir_big': ('readdir_big', None),
	'create_x4': ('create_x4', None),
	'create_x4_shared': ('create_x4_shared', None),
	'stat_cached_x4': ('stat_cached_x4', None),
	'stat_uncached_x4': ('stat_uncached_x4', None),
	'getattr': (None, 'lat_getattr'),
	'read4k': (None, 'lat_read4k'),
}


def samples_from_raw(rec):
	"""Samples from one raw record of the runner; [] for records that
	carry no measurement (environment, errors, progress)."""
	if rec.get('type') != 'raw':
		return []
	kind, step = rec['kind'], rec['step']
	out = []
	if kind == 'fio':
		snaps = rec.get('snaps') or []
		for job in fiojob.parse(rec['data'], snaps):
			extra = {'bytes': job['bytes'], 'ios': job['ios'],
				 'seconds': job['seconds']}
			if job.get('clients', 1) > 1:
				extra['clients'] = job['clients']
			if job.get('error'):
				extra['error'] = job['error']
			out.append(_sample(rec, job['name'], job['value'],
					   lat=job.get('lat'), cost=job['cost'],
					   extra=extra))
		return out
	if kind == 'opbench':
		r = opbench_result(rec['data'])
		metric, latm = OPBENCH_STEPS[step]
		extra = {'ops': r['ops'], 'seconds': r['seconds']}
		if r['truncated']:
			extra['truncated'] = True
		if r['error']:
			extra['error'] = r['error']
		if r['entries'] is not None:
			extra['entries'] = r['entries']
		if r['clients'] > 1:
			extra['clients'] = r['clients']
			extra['client_ops_per_s'] = [
				c.get('ops_per_s') for c in r['per_client'] or []]
		if r['error'] and not r['ops']:
			return []
		if metric:
			value = r['entries_per_s'] if metric.startswith(
				'readdir') else r['ops_per_s']
			out.append(_sample(rec, metric, value, cost=r['cost'],
					   extra=extra, lat=r['lat']))
		if latm and r['lat']:
			out.append(_sample(rec, latm, r['lat']['p50'],
					   lat=r['lat'], cost=r['cost'],
					   extra=extra))
		return out
	if kind == 'time':
		d = first_json(rec['data'])
		if d.get('rc'):
			return []
		extra = {'each_s': [x / 1e9 for x in d.get('each_ns', [])]}
		if rec.get('extra'):
			extra.update(rec['extra'])
		return [_sample(rec, step, d['ns'] / 1e9, extra=extra)]
	if kind == 'umount':
		d = first_json(rec['data'])
		if d.get('rc'):
			return []
		return [_sample(rec, 'umount', d['ns'] / 1e9,
				extra={'umount_s': d['umount_ns'] / 1e9})]
	return out
