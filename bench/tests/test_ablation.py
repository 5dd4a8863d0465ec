# bench/tests: the ablation of twinfs-fuse's optimized profile (issue 12,
# item 3; bench/twb/ablation.py): the variants' subjects and what the
# real daemon makes of their options (root and the built twinfs-fuse:
# $TWINFS_BUILD or build/), the changing order of the repetitions, the
# noise rule and its chance rate, the verdicts, the report built from a
# stored real run, the block of docs/results.md, and bench/twbench's
# options.
import itertools
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from twb import ablation, profiles, report, runner, subjects

from conftest import DATA

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get('TWINFS_BUILD') or os.path.join(ROOT, 'build')
TWBENCH = os.path.join(ROOT, 'bench', 'twbench')
FUSE = os.path.join(BUILD, 'fusefs', 'twinfs-fuse')
MKFS = os.path.join(BUILD, 'tools', 'mkfs.twinfs')
OPBENCH = os.path.join(BUILD, 'bench', 'opbench')

VARIANTS = subjects.ablation_variants()


def sample(subject, metric, value, rep=0):
	from twb import parse
	unit, better, _ = parse.METRICS[metric]
	return {'subject': subject, 'where': 'host', 'rep': rep,
		'metric': metric, 'value': value, 'unit': unit,
		'better': better}


def samples(subject, metric, values):
	return [sample(subject, metric, v, i) for i, v in enumerate(values)]


# -- the subjects -----------------------------------------------------------

def test_each_variant_is_the_optimized_profile_plus_its_options():
	opt = subjects.SUBJECTS['twinfs-fuse-opt']
	assert [v['setting'] for v in VARIANTS] == [
		'threads', 'threads with clone_fd', 'writeback_cache',
		'max_write/max_read',
		'timeouts', 'keep_cache', 'splice']
	names = [v['name'] for v in VARIANTS]
	assert len(set(names)) == len(names)
	assert subjects.ABLATION_SUBJECTS == [
		'twinfs-fuse-opt', 'twinfs-fuse-base'] + names
	for v in VARIANTS:
		s = subjects.SUBJECTS[v['name']]
		assert s['mount'][:-1] == opt['mount'][:-1]
		assert s['mount'][-1] == 'profile=optimized,' + v['options']
		for k in ('family', 'home', 'mkfs', 'daemon', 'persistent'):
			assert s[k] == opt[k]
		# a short name of its own, in the reading order
		assert subjects.SHORT[v['name']].startswith('opt-')
		assert v['name'] in subjects.ORDER
	shorts = [ablation.short(s) for s in subjects.ABLATION_SUBJECTS]
	assert len(set(shorts)) == len(shorts)
	# the variants run in the ablation only
	for p in profiles.PROFILES.values():
		for n in names:
			assert n not in p['guest_subjects'] + p['host_subjects']


def banner(text):
	"""The settings of twinfs-fuse's -v banner ('profile NAME[
	(overridden: ...)]: a, b=c, ...') as a set."""
	m = re.search(r'profile (\w+)(?: \(overridden: [^)]*\))?: (.*)$',
		      text, re.M)
	assert m, text
	return {x.strip() for x in m.group(2).replace(',', ' ').split()}


def name_of(item):
	"""A banner item's setting: 'no_splice' -> 'splice', 'threads=10'
	-> 'threads'."""
	item = item.split('=')[0]
	return item[3:] if item.startswith('no_') else item


need_daemon = pytest.mark.skipif(
	os.geteuid() != 0 or not all(os.path.exists(f) for f in (
		FUSE, MKFS, OPBENCH)),
	reason='mounts twinfs-fuse: root and %s, %s, %s built' % (
		FUSE, MKFS, OPBENCH))


@pytest.fixture
def mounter(tmp_path):
	"""mount(options) -> the banner's settings: twinfs-fuse -v on a
	fresh image of its own, unmounted at once.  The daemons finish
	writing their images after the unmount (a second or so each), in
	parallel; the fixture waits for them all at the end."""
	pids = []
	mnts = []

	def mount(options):
		d = tmp_path / ('m%d' % len(mnts))
		d.mkdir()
		img, mnt = str(d / 'img'), str(d / 'mnt')
		os.mkdir(mnt)
		with open(img, 'wb') as f:
			f.truncate(64 << 20)
		subprocess.run([MKFS, '-q', '-F', img], check=True)
		mnts.append(mnt)
		r = subprocess.run([FUSE, img, mnt, '-v', '-o', options],
				   stdout=subprocess.PIPE,
				   stderr=subprocess.STDOUT, text=True,
				   timeout=60)
		assert r.returncode == 0, r.stdout
		with open('/proc/self/mountinfo') as f:
			assert any(l.split()[4] == mnt for l in f)
		pid = subprocess.run([OPBENCH, 'findpid', mnt],
				     stdout=subprocess.PIPE, text=True).stdout
		subprocess.run(['umount', mnt], check=True)
		pids.append(int(pid.strip() or 0))
		return banner(r.stdout)
	yield mount
	for mnt in mnts:
		subprocess.run(['umount', '-l', mnt], stderr=subprocess.DEVNULL)
	t0 = time.monotonic()
	for pid in pids:
		while pid and os.path.exists('/proc/%d' % pid) and \
				time.monotonic() - t0 < 60:
			time.sleep(0.02)


@need_daemon
def test_the_daemon_takes_each_variant_as_opt_with_one_setting_changed(
		mounter):
	opt = mounter('profile=optimized')
	for v in VARIANTS:
		got = mounter('profile=optimized,' + v['options'])
		diff = opt ^ got
		assert diff, '%s changes nothing' % v['name']
		# only the settings it names differ from the optimized profile
		assert {name_of(x) for x in diff} <= set(v['changes']), (
			v['name'], sorted(diff))


# -- the order of the repetitions -------------------------------------------

def parts_and_pairs(orders, parts):
	"""How often a subject is in a part of a repetition it was in
	before, and how often an ordered pair of neighbours repeats."""
	n = len(orders[0])
	size = [n // parts + (1 if b < n % parts else 0) for b in range(parts)]
	part_of = [b for b in range(parts) for _ in range(size[b])]
	seen = [(x, part_of[j]) for o in orders for j, x in enumerate(o)]
	pairs = [p for o in orders for p in zip(o, o[1:])]
	return len(seen) - len(set(seen)), len(pairs) - len(set(pairs))


@pytest.mark.parametrize('n,reps,least_part_repeats', [
	(9, 3, 0), (9, 5, 4), (3, 2, 1), (8, 3, 2), (9, 4, 3)])
def test_orders_spread_each_subject_and_change_its_neighbours(
		n, reps, least_part_repeats):
	subs = ['s%d' % i for i in range(n)]
	got = runner.orders(subs, reps)
	assert len(got) == reps and got[0] == subs
	for o in got:
		assert sorted(o) == sorted(subs)
	# the fewest repeats possible: with 5 parts of 9 (2, 2, 2, 2, 1)
	# the last part holds 5 subjects in 5 repetitions, so 4 repeat a
	# part; with 3 of 8 (3, 3, 2) the last holds 6 of 8 ...
	assert parts_and_pairs(got, min(reps, n)) == (least_part_repeats, 0)
	# the same every time
	assert runner.orders(subs, reps) == got
	# each of 9 subjects runs first, in the middle and last once
	if (n, reps) == (9, 3):
		for x in subs:
			assert sorted(o.index(x) // 3 for o in got) == [0, 1, 2]


def test_orders_of_few_subjects():
	assert runner.orders([], 3) == [[], [], []]
	assert runner.orders(['a'], 2) == [['a'], ['a']]
	assert runner.orders(['a', 'b'], 1) == [['a', 'b']]


def test_a_rotating_plan_records_its_orders(tmp_path):
	p = profiles.ablation(profiles.get('smoke'))
	plan = {'profile': p, 'where': 'host', 'device': '/dev/null',
		'build': '/b', 'workdir': str(tmp_path),
		'out': str(tmp_path / 'raw.jsonl'), 'reps': 2, 'rotate': True,
		'subjects': ['twinfs-fuse-opt', 'twinfs-fuse-base']}
	r = runner.Runner(plan)
	ran = []
	# no mounts: record which subject each step would measure
	r.subject_steps = lambda name: [('mkfs', lambda: ran.append(
		(r.rep, r.subject)))]
	r.setup_kprobe = lambda: None
	r.environment = lambda: {}
	r.run_plan()
	assert ran == [(0, 'twinfs-fuse-opt'), (0, 'twinfs-fuse-base'),
		       (1, 'twinfs-fuse-base'), (1, 'twinfs-fuse-opt')]
	recs = [json.loads(l) for l in open(tmp_path / 'raw.jsonl')]
	orders = [x['subjects'] for x in recs if x['type'] == 'order']
	assert orders == [['twinfs-fuse-opt', 'twinfs-fuse-base'],
			  ['twinfs-fuse-base', 'twinfs-fuse-opt']]
	# without 'rotate' (the comparison) the order stays
	ran[:] = []
	plan['rotate'] = False
	r.plan = plan
	r.run_plan()
	assert [x for _, x in ran] == ['twinfs-fuse-opt', 'twinfs-fuse-base'] * 2


# -- noise -------------------------------------------------------------------

@pytest.mark.parametrize('n,m', [(2, 2), (3, 3), (3, 5), (5, 5), (2, 4)])
def test_chance_of_disjoint_ranges_by_enumeration(n, m):
	# the ranks the first group takes among the n + m samples, each
	# choice equally likely under no difference: count those where one
	# group's range misses the other's
	disjoint = total = 0
	for a in itertools.combinations(range(n + m), n):
		b = [x for x in range(n + m) if x not in a]
		total += 1
		disjoint += min(a) > max(b) or max(a) < min(b)
	assert ablation.chance(n, m) == pytest.approx(disjoint / total)


def test_chance_without_repetitions():
	assert ablation.chance(3, 3) == pytest.approx(0.1)
	assert ablation.chance(5, 5) == pytest.approx(1 / 126)
	assert ablation.chance(1, 3) is None


def test_compare_calls_only_disjoint_ranges():
	from twb import stats

	def summ(xs, better='higher', unit='MB/s'):
		s = stats.summarize(xs)
		s.update({'better': better, 'unit': unit})
		return s
	ref = summ([100, 104, 110])
	c = ablation.compare(summ([111, 120, 130]), ref)
	assert c['call'] == 'faster'
	assert c['ratio'] == pytest.approx(120 / 104)
	assert c['lo'] == pytest.approx(111 / 110)
	assert c['hi'] == pytest.approx(130 / 100)
	assert ablation.compare(summ([90, 95, 99]), ref)['call'] == 'slower'
	# overlapping by one sample: noise, whatever the medians say
	assert ablation.compare(summ([109, 150, 160]), ref)['call'] == 'noise'
	# one sample: no call at all
	assert ablation.compare(summ([500]), ref)['call'] is None
	# a time or a latency: lower is faster, the ratio stays a speed
	t_ref = summ([2.0, 2.1, 2.2], 'lower', 's')
	c = ablation.compare(summ([1.0, 1.1, 1.2], 'lower', 's'), t_ref)
	assert c['call'] == 'faster' and c['ratio'] == pytest.approx(2.1 / 1.1)
	assert c['lo'] == pytest.approx(2.0 / 1.2)
	assert ablation.compare(None, ref) is None
	assert ablation.compare(summ([0, 0]), ref) is None


# -- verdicts ----------------------------------------------------------------

def agg_of(table):
	"""{subject: {metric: [values]}} -> report.aggregate()."""
	ss = []
	for subj, metrics in table.items():
		for metric, vals in metrics.items():
			ss += samples(subj, metric, vals)
	return report.aggregate(ss)


OPT, BASE = 'twinfs-fuse-opt', 'twinfs-fuse-base'
ONE = 'twinfs-fuse-opt-threads'
WB = 'twinfs-fuse-opt-wbcache'


def test_verdicts_are_about_the_setting_on_against_off():
	agg = agg_of({
		OPT: {'create': [100, 101, 102], 'seqwrite': [50, 51, 52],
		      'randread_x4': [1000, 1010, 1020],
		      'mount_cold': [0.10, 0.11, 0.12]},
		BASE: {'create': [200, 210, 220], 'seqwrite': [50, 53, 60],
		       'randread_x4': [400, 410, 420],
		       'mount_cold': [0.05, 0.06, 0.07]},
		# threads: creates slower, four clients' reads faster
		ONE: {'create': [60, 61, 62], 'seqwrite': [49, 51, 53],
		      'randread_x4': [1990, 2000, 2010],
		      'mount_cold': [0.10, 0.115, 0.13]},
		# the writeback cache on: writes faster, the rest alike
		WB: {'create': [99, 101, 103], 'seqwrite': [90, 100, 110],
		     'randread_x4': [990, 1005, 1030]},
	})
	an = ablation.analyse(agg)
	assert an['subjects'] == [OPT, BASE, ONE, WB]
	assert an['reps'] == 3 and an['chance'] == pytest.approx(0.1)
	assert [r['metric'] for r in an['rows']] == [
		'seqwrite', 'create', 'mount_cold', 'randread_x4']
	v = {x['setting']: x for x in an['verdicts']}
	t = v['threads']
	assert t['word'] == 'mixed'
	# off in opt: threads on (the variant) against off (opt): x4 reads
	# 2000/1010
	assert not t['on_in_opt']
	assert [m for m, _ in t['helps']] == ['randread_x4']
	assert t['helps'][0][1] == pytest.approx(2000 / 1010)
	assert [m for m, _ in t['hurts']] == ['create']
	assert t['hurts'][0][1] == pytest.approx(61 / 101)
	assert sorted(t['same']) == ['mount_cold', 'seqwrite']
	assert t['line'].startswith('**threads on (-o threads)**: mixed')
	assert 'faster on rand read 4K cold x4 1.98' in t['line']
	assert 'slower on create 0.60' in t['line']
	assert 'no difference beyond the noise on 2 of 4' in t['line']
	w = v['writeback_cache']
	# off in opt: the variant is the setting on
	assert w['word'] == 'helps' and not w['on_in_opt']
	assert w['helps'] == [('seqwrite', pytest.approx(100 / 51))]
	assert sorted(w['same']) == ['create', 'randread_x4']
	pv = an['profile_verdict']
	assert [m for m, _ in pv['helps']] == ['randread_x4']
	assert sorted(m for m, _ in pv['hurts']) == ['create', 'mount_cold']
	assert pv['same'] == ['seqwrite']


def test_verdict_words():
	row = {'metric': 'create', 'title': 'create'}
	for on_in_opt, faster, slower in ((True, 'hurts', 'helps'),
					  (False, 'helps', 'hurts')):
		v = next(x for x in VARIANTS if x['on_in_opt'] == on_in_opt)
		for call, word in (('noise', 'no effect beyond noise'),
				   (None, 'not judged'), ('faster', faster),
				   ('slower', slower)):
			r = dict(row, vs_opt={v['name']: {'ratio': 1.0,
							  'call': call}})
			assert ablation.verdict(v, [r])['word'] == word


def test_rows_need_the_optimized_profile():
	agg = agg_of({BASE: {'create': [1, 2, 3]}, ONE: {'create': [1, 2]}})
	an = ablation.analyse(agg)
	assert an['rows'] == [] and ablation.markdown(an) == []
	assert ablation.terminal(an, report.text_table) == []


def test_tables_and_markdown():
	agg = agg_of({OPT: {'create': [100, 101, 102],
			    'umount': [0.030, 0.031, 0.032]},
		      BASE: {'create': [200, 210, 220]},
		      ONE: {'create': [150, 160, 170],
			    'umount': [0.020, 0.021, 0.022]}})
	an = ablation.analyse(agg)
	(t1, (h1, r1)), (t2, (h2, r2)), (t3, (h3, r3)) = ablation.tables(an)
	assert h1 == ['workload', 'unit', 'opt', 'base', 'opt-threads']
	assert r1[0] == ['create', 'ops/s', '101 (100..102)',
			 '210 (200..220)', '160 (150..170)']
	# times in milliseconds
	assert r1[1][:3] == ['unmount', 'ms', '31.0 (30.0..32.0)']
	assert h2 == ['workload', 'opt', 'base/opt', 'opt-threads/opt']
	assert r2[0] == ['create', '101 ops/s', '2.08+', '1.58+']
	assert r2[1] == ['unmount', '31.0 ms', '-', '1.48+']
	assert h3 == ['workload', 'opt/base', 'opt-threads/base']
	assert r3[0] == ['create', '0.48-', '0.76-']
	md = '\n'.join(ablation.markdown(an, plot_file='ablation.svg'))
	assert '## Ablation of the optimized profile' in md
	assert '2 / C(6, 3)' in md and 'probability 0.100' in md
	assert '**threads on (-o threads)**: helps' in md
	assert '![ablation: speed relative to opt](ablation.svg)' in md
	term = '\n'.join(ablation.terminal(an, report.text_table))
	assert 'opt-threads/opt' in term and '1.58+' in term
	assert '**' not in term


# -- the report, from a stored real run ---------------------------------------

@pytest.fixture
def ablation_raw(tmp_path):
	"""The raw directory of a real run of the smoke profile's ablation
	alone (bench/twbench --ablation --profile smoke): opt, base and
	threads, creates and cached stats, 2 repetitions."""
	raw = tmp_path / 'raw'
	raw.mkdir()
	shutil.copy(os.path.join(DATA, 'ablation-sample.jsonl'),
		    raw / 'ablation.jsonl')
	shutil.copy(os.path.join(DATA, 'ablation-host-env.json'),
		    raw / 'host-env.json')
	return raw


def raw_values(raw, subject, step):
	from twb import parse
	out = []
	for line in open(raw / 'ablation.jsonl'):
		rec = json.loads(line)
		if rec.get('type') == 'raw' and rec['subject'] == subject and \
		   rec['step'] == step:
			out.append(parse.opbench_result(rec['data'])['ops_per_s'])
	return out


def test_report_of_a_real_ablation_run(ablation_raw, tmp_path):
	out = tmp_path / 'out'
	rep = report.build(str(ablation_raw), str(out))
	# the ablation's samples stay out of the comparison
	assert rep['agg'] == {}
	an = rep['ablation']
	assert an['subjects'] == [OPT, BASE, ONE] and an['reps'] == 2
	assert [r['metric'] for r in an['rows']] == ['create', 'stat_cached']
	row = an['rows'][0]
	for s in (OPT, BASE, ONE):
		vals = raw_values(ablation_raw, s, 'create')
		assert len(vals) == 2
		c = row['cells'][s]
		assert c['median'] == pytest.approx(sum(vals) / 2)
		assert (c['min'], c['max']) == (min(vals), max(vals))
	res = json.load(open(out / 'results.json'))
	assert res['summary'] == {}
	ab = res['ablation']
	assert [o['subjects'][0] for o in ab['orders']] == [OPT, ONE]
	assert {v['setting'] for v in ab['verdicts']} == {
		'threads', 'the optimized profile'}
	# creates (and their p50 latency) and cached stats, 6 of each
	assert sorted({x['metric'] for x in ab['samples']}) == [
		'create', 'lat_create', 'stat_cached']
	assert len(ab['samples']) == 18
	md = open(out / 'report.md').read()
	assert md.startswith('# twinfs-fuse: ablation of the optimized profile')
	assert 'Order of the subjects in each repetition: 1: opt, base, ' \
		'opt-threads; 2: opt-threads, base, opt.' in md
	assert '## Targets' not in md
	rows = open(out / 'ablation.csv').read().splitlines()
	assert len(rows) == 1 + 3 * 3
	assert all(',host (ablation),' in r for r in rows[1:])
	assert 'Ablation of the optimized profile (host, 2 repetitions' in \
		rep['table']


def test_docs_block_is_replaced_in_place(ablation_raw, tmp_path):
	rep = report.build(str(ablation_raw), str(tmp_path / 'out'))
	data = rep['data']
	lines = ablation.docs_block(rep['ablation'], data['env'],
				    data['ablation']['env'],
				    data['env'].get('ablation'),
				    data['ablation']['orders'])
	assert lines[0] == ablation.DOCS_BEGIN and \
		lines[-1] == ablation.DOCS_END
	text = '\n'.join(lines)
	assert '`bench/twbench --ablation --profile smoke` (2 repetitions)' \
		in text
	assert 'Linux 6.18.44' in text
	assert '\n### Speed relative to opt\n' in text
	assert 'Order of the subjects in each repetition: 1: opt, base' in text
	doc = tmp_path / 'results.md'
	doc.write_text('# R\n\nbefore\n\n%s\nold\n%s\n\nafter\n' % (
		ablation.DOCS_BEGIN, ablation.DOCS_END))
	ablation.update_docs(str(doc), lines)
	new = doc.read_text()
	assert new == '# R\n\nbefore\n\n%s\n\nafter\n' % text
	# again: the same text (the block is found by its markers)
	ablation.update_docs(str(doc), lines)
	assert doc.read_text() == new
	doc.write_text('no block here\n')
	with pytest.raises(ValueError, match='no block'):
		ablation.update_docs(str(doc), lines)
	assert doc.read_text() == 'no block here\n'


def test_the_repository_docs_have_the_block():
	text = open(os.path.join(ROOT, 'docs', 'results.md')).read()
	b = text.find(ablation.DOCS_BEGIN)
	assert b >= 0 and text.find(ablation.DOCS_END, b) > b


# -- profiles and bench/twbench ------------------------------------------------

def test_ablation_profiles():
	for name in ('quick', 'full', 'smoke'):
		p = profiles.get(name)
		q = profiles.ablation(p)
		assert q['phase'] == 'ablation' and 'x4_data' not in q
		assert q['only'] == profiles.only(q['only'])
		for k in ('seq_mib', 'meta_files', 'disk_mib'):
			assert q[k] == p[k]
	quick = profiles.ablation(profiles.get('quick'))
	assert quick['host_reps'] == 3
	assert not profiles.get('quick')['ablation']['run']
	full = profiles.ablation(profiles.get('full'))
	assert full['host_reps'] >= 3 and profiles.get('full')['ablation']['run']
	# every workload of the tables, with one client and four
	for w in ('seqwrite', 'seqread', 'randread', 'randwrite', 'create',
		  'stat_cached', 'stat_uncached', 'rename', 'unlink', 'getattr',
		  'seqwrite_x4', 'seqread_x4', 'randread_x4', 'randwrite_x4',
		  'create_x4', 'create_x4_shared', 'stat_cached_x4',
		  'stat_uncached_x4'):
		assert w in full['only'] and w in quick['only']
	for w in ('bigdir', 'replay', 'kill9', 'read4k'):
		assert w not in full['only']
	assert profiles.ablation(profiles.get('quick'), reps=7,
				 workloads=['create'])['host_reps'] == 7
	smoke = profiles.get('smoke')['ablation']
	assert set(smoke['subjects']) <= set(subjects.ABLATION_SUBJECTS)
	# the tables' rows are what the runner measures
	from twb import parse
	for m, _ in ablation.ROWS:
		assert m in parse.METRICS


def twbench(*args):
	return subprocess.run([TWBENCH] + list(args), stdout=subprocess.PIPE,
			      stderr=subprocess.PIPE, text=True, timeout=60)


def test_twbench_options():
	r = twbench('--ablation', '--no-ablation')
	assert r.returncode == 2 and 'contradict' in r.stderr
	r = twbench('--ablation-reps', '0', '--ablation')
	assert r.returncode == 2 and 'at least 1' in r.stderr
	r = twbench('--profile', 'quick', '--update-docs', '/nonexistent')
	assert r.returncode == 2 and 'no ablation' in r.stderr
	assert '--ablation' in twbench('--help').stdout


def test_twbench_report_only_updates_the_docs(ablation_raw, tmp_path):
	out = ablation_raw.parent
	doc = tmp_path / 'doc.md'
	doc.write_text('x\n%s\n%s\ny\n' % (ablation.DOCS_BEGIN,
					    ablation.DOCS_END))
	r = twbench('--report-only', str(out), '--update-docs', str(doc))
	assert r.returncode == 0, r.stderr
	text = doc.read_text()
	assert text.startswith('x\n' + ablation.DOCS_BEGIN)
	assert text.endswith(ablation.DOCS_END + '\ny\n')
	assert '| create | ' in text
