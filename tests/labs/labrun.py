#!/usr/bin/python3
# twinfs tests/labs: run the course (docs/labs/*.md) and check every "You
# should see" against what the commands really print.
# Layer: test driver (Python stdlib only).  Runs bash on the host and, for
# the steps marked for the guest, vm/run (the QEMU guest); knows nothing
# of twinfs beyond where the build tree is.
#
# A lab is Markdown.  What the runner reads from it:
#
#   ```sh host            a step run on the host (bash), in the lab's
#   ```sh guest           working directory; or in the guest (vm/run)
#   ```sh guest status=1  ... and the exit status it must end with
#                         (default 0; "any" to accept every status)
#   ```sh guest append=module.sig_enforce=1
#                         ... in a guest booted with this on the kernel
#                         command line (vm/run -a; a new boot whenever
#                         it changes from one guest step to the next)
#   ```sh guest vm=--tcg-thread=single
#                         ... in a guest started with these vm/run
#                         options (comma-separated; a new boot whenever
#                         they change, as for append=)
#   ```output             what the step before must print (its stdout and
#                         stderr together)
#
# Fenced blocks with any other info string are not run.  Consecutive steps
# of one place run in one shell: `cd` and variables carry over, and the
# guest steps between two host steps share one boot (what was loaded
# stays loaded).  A host step ends the guest's boot.  Every shell first
# sources docs/labs/labenv NAME, as the student does: it starts in the
# lab's working directory $TWINFS_LAB (build/labs/NAME, shared with the
# guest), with $TWINFS_ROOT and $TWINFS_BUILD set and the project's
# programs on PATH, in both places.
#
# An output block is a list of lines that must appear in the step's
# output in this order (other lines may come between them).  Each line
# must match a whole output line, with runs of blanks counted as one and
# these placeholders:
#
#   {num}        a number (integer or decimal, maybe negative)
#   {num A-B}    a number from A to B (the range measured, see the lab)
#   {word}       one word (no blanks)
#   {any}        anything, also nothing
#   ...          (a line of its own) only for the reader: "lines omitted"
#
# Usage:
#   labrun.py [--build DIR] [--keep] [--list] LAB.md...
# Exit status: 0 every step of every lab passed, 1 a step failed, 2 usage.
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VMRUN = os.path.join(ROOT, 'vm', 'run')
LABENV = os.path.join(ROOT, 'docs', 'labs', 'labenv')

STEP_RE = re.compile(r'^sh\s+(host|guest)((?:\s+\S+?=\S+)*)\s*$')
NUM = r'-?[0-9]+(?:[.,][0-9]+)?'


class Step:
	def __init__(self, lab, line, where, script, opts):
		self.lab = lab
		self.line = line
		self.where = where
		self.script = script
		self.status = opts.get('status', '0')
		self.append = opts.get('append', '')
		self.vm = opts.get('vm', '')
		self.timeout = int(opts.get('timeout', '0')) or None
		self.expect = None	# (line, [pattern lines])
		self.output = None
		self.rc = None
		self.seconds = None


def parse(path):
	"""The steps of a lab, in order, each with its output block."""
	steps, last = [], None
	with open(path) as f:
		lines = f.read().split('\n')
	i = 0
	while i < len(lines):
		m = re.match(r'^(\s*)(```+|~~~+)\s*(.*)$', lines[i])
		if not m:
			i += 1
			continue
		indent, fence, info = m.group(1), m.group(2), m.group(3).strip()
		start = i + 1
		j = start
		while j < len(lines) and not lines[j].strip().startswith(fence):
			j += 1
		body = [ln[len(indent):] if ln.startswith(indent) else ln
			for ln in lines[start:j]]
		sm = STEP_RE.match(info)
		if sm:
			opts = dict(o.split('=', 1) for o in sm.group(2).split())
			last = Step(path, start, sm.group(1), '\n'.join(body),
				    opts)
			steps.append(last)
		elif info == 'output':
			if last is None or last.expect is not None:
				raise SystemExit('%s:%d: an output block that '
						 'follows no step' % (path, start))
			last.expect = (start, body)
		i = j + 1
	return steps


def normalize(s):
	return ' '.join(s.split())


def pattern(line):
	"""A regex for one expected line, and the ranges of its {num A-B}."""
	out, ranges = [], []
	pos = 0
	for m in re.finditer(r'\{(num(?:\s+(' + NUM + r')-(' + NUM +
			     r'))?|word|any)\}', line):
		out.append(re.escape(line[pos:m.start()]))
		kind = m.group(1).split()[0]
		if kind == 'num':
			out.append('(' + NUM + ')')
			ranges.append((float(m.group(2)), float(m.group(3)))
				      if m.group(2) else None)
		elif kind == 'word':
			out.append(r'\S+')
		else:
			out.append('.*')
		pos = m.end()
	out.append(re.escape(line[pos:]))
	return re.compile('^' + ''.join(out) + '$'), ranges


def match_line(pat, text):
	"""None if @text does not match; else [] or the out-of-range notes."""
	rx, ranges = pat
	m = rx.match(text)
	if not m:
		return None
	notes = []
	for k, rg in enumerate(ranges):
		if rg is None:
			continue
		v = float(m.group(k + 1).replace(',', '.'))
		if not rg[0] <= v <= rg[1]:
			notes.append('%s is outside %g-%g' % (m.group(k + 1),
							     rg[0], rg[1]))
	return notes


def check(step):
	"""Problems of a step that ran: its status and its output."""
	problems = []
	if step.status != 'any' and str(step.rc) != step.status:
		problems.append('exit status %s, the lab says %s' %
				(step.rc, step.status))
	if step.expect is None:
		return problems
	got = [normalize(x) for x in step.output.split('\n')]
	k = 0
	for n, want in enumerate(step.expect[1]):
		w = normalize(want)
		if not w or w == '...':
			continue
		pat = pattern(w)
		near = None
		while k < len(got):
			notes = match_line(pat, got[k])
			k += 1
			if notes is None:
				continue
			if notes:
				near = notes
				continue
			break
		else:
			why = ('the line matched, but ' + '; '.join(near)) \
				if near else 'not in the output (in this order)'
			problems.append('line %d of the output block: %r: %s' %
					(step.expect[0] + n + 1, want, why))
			break
	return problems


def shell_script(steps, outdir, lab_dir, env_lines):
	"""One bash script running @steps in order, each step's output and
	status into outdir/N.out and outdir/N.rc."""
	s = ['#!/bin/bash', 'cd %s || exit 125' % shlex.quote(lab_dir)]
	s += env_lines
	for n, st in enumerate(steps):
		base = os.path.join(outdir, str(n))
		s.append('t0=$(date +%s.%N)')
		s.append('{\n%s\n} >%s 2>&1 </dev/null' %
			 (st.script, shlex.quote(base + '.out')))
		s.append('echo $? >%s' % shlex.quote(base + '.rc'))
		s.append('echo "$t0 $(date +%%s.%%N)" >%s' %
			 shlex.quote(base + '.time'))
	return '\n'.join(s) + '\n'


def run_batch(steps, where, lab_dir, build, env_lines, timeout, append='',
	      vm=''):
	"""Run consecutive steps of one place; fills in output and rc.
	Returns a note about the batch (vm/run's verdict) or None."""
	# one directory per batch, named after its first step's line, so
	# that --keep keeps them all
	outdir = os.path.join(lab_dir, '.labrun', 'line%d' % steps[0].line)
	shutil.rmtree(outdir, ignore_errors=True)
	os.makedirs(outdir)
	console = os.path.join(outdir, 'console.log')
	script = os.path.join(outdir, 'steps.sh')
	with open(script, 'w') as f:
		f.write(shell_script(steps, outdir, lab_dir, env_lines))
	env = dict(os.environ, TWINFS_BUILD=build)
	if where == 'host':
		cmd = ['bash', script]
	else:
		cmd = [VMRUN, '-t', str(timeout), '-C', lab_dir,
		       '--console-log', console]
		if append:
			cmd += ['-a', append]
		if vm:
			cmd += vm.split(',')
		cmd += ['--', 'bash', script]
	try:
		r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
				   stdout=subprocess.PIPE,
				   stderr=subprocess.STDOUT, text=True,
				   errors='replace', env=env,
				   timeout=timeout + 60)
		note = None if r.returncode == 0 else (
			'%s ended with status %d:\n%s' % (
				'vm/run' if where == 'guest' else 'bash',
				r.returncode, r.stdout[-3000:]))
	except subprocess.TimeoutExpired:
		note = '%s did not finish in %d s' % (where, timeout + 60)
	if note and where == 'guest' and os.path.exists(console):
		# what the kernel said last: an oops, a stall, a hung task
		with open(console, errors='replace') as f:
			tail = f.read().splitlines()[-40:]
		note += '\nthe end of the guest\'s console (%s):\n%s' % (
			os.path.relpath(console, lab_dir), '\n'.join(tail))
	for n, st in enumerate(steps):
		base = os.path.join(outdir, str(n))
		try:
			with open(base + '.out', errors='replace') as f:
				st.output = f.read()
			with open(base + '.rc') as f:
				st.rc = int(f.read())
			with open(base + '.time') as f:
				a, b = f.read().split()
				st.seconds = float(b) - float(a)
		except (OSError, ValueError):
			st.output = st.output or ''
	return note


def run_lab(path, build, keep, timeout):
	name = os.path.splitext(os.path.basename(path))[0]
	steps = parse(path)
	lab_dir = os.path.join(build, 'labs', name)
	shutil.rmtree(lab_dir, ignore_errors=True)
	os.makedirs(lab_dir)
	# what a student types first (docs/labs/README.md)
	env_lines = [
		'export TWINFS_BUILD=%s' % shlex.quote(build),
		'. %s %s || exit 125' % (shlex.quote(LABENV), shlex.quote(name)),
	]
	print('== %s: %d steps' % (os.path.relpath(path, ROOT), len(steps)),
	      flush=True)
	t0 = time.monotonic()
	failed = 0
	i = 0
	while i < len(steps):
		j = i
		while j < len(steps) and steps[j].where == steps[i].where \
				and steps[j].append == steps[i].append \
				and steps[j].vm == steps[i].vm:
			j += 1
		batch = steps[i:j]
		note = run_batch(batch, steps[i].where, lab_dir, build,
				 env_lines, timeout, steps[i].append,
				 steps[i].vm)
		for st in batch:
			problems = check(st) if st.rc is not None else \
				['did not run']
			secs = '%.1f s' % st.seconds if st.seconds is not None \
				else '-'
			tag = 'ok' if not problems else 'FAIL'
			print('  %-4s %s:%d (%s, %s)' % (
				tag, os.path.basename(path), st.line, st.where,
				secs), flush=True)
			if problems:
				failed += 1
				for p in problems:
					print('       ' + p)
				print('       it printed:')
				for ln in (st.output or '').rstrip().split('\n')[-25:]:
					print('       | ' + ln)
		if note and any(st.rc is None for st in batch):
			print('       ' + note.replace('\n', '\n       '))
		i = j
	secs = time.monotonic() - t0
	print('   %s: %s in %.0f s' % (name, 'passed' if not failed else
					 '%d of %d steps failed' % (failed, len(steps)),
					 secs), flush=True)
	if not keep and not failed:
		shutil.rmtree(lab_dir, ignore_errors=True)
	return failed == 0


def main():
	ap = argparse.ArgumentParser(
		description='Run the labs of docs/labs and check what they '
			    'say you should see.')
	ap.add_argument('labs', nargs='+', metavar='LAB.md')
	ap.add_argument('--build', default=os.environ.get('TWINFS_BUILD') or
			os.path.join(ROOT, 'build'))
	ap.add_argument('--keep', action='store_true',
			help='keep each lab\'s working directory')
	ap.add_argument('--timeout', type=int, default=600,
			help='seconds for one boot of the guest (default 600)')
	ap.add_argument('--list', action='store_true',
			help='only list the steps')
	args = ap.parse_args()
	build = os.path.abspath(args.build)
	if args.list:
		for lab in args.labs:
			for st in parse(lab):
				print('%s:%d %s%s' % (lab, st.line, st.where,
						     ' (checked)' if st.expect
						     else ''))
		return 0
	ok = True
	for lab in args.labs:
		ok = run_lab(os.path.abspath(lab), build, args.keep,
			     args.timeout) and ok
	return 0 if ok else 1


if __name__ == '__main__':
	sys.exit(main())
