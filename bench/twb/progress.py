"""The progress display: one line that updates in place on a terminal,
one line per step otherwise (logs, CI).  Fed with the runner's
"@@twb {json}" lines as they arrive; other output is passed through."""

import json
import sys
import time

PREFIX = '@@twb '


def fmt_secs(s):
	s = int(s)
	return '%d:%02d' % (s // 60, s % 60)


class Progress:
	def __init__(self, stream=None, tty=None, quiet=False):
		self.stream = stream or sys.stderr
		self.tty = self.stream.isatty() if tty is None else tty
		self.quiet = quiet
		self.t0 = time.monotonic()
		self.phase = ''
		self.buf = b''
		self.width = 0
		self.errors = []
		self.last = None

	def _write(self, text):
		if self.quiet:
			return
		self.stream.write(text)
		self.stream.flush()

	def _clear(self):
		if self.tty and self.width:
			self._write('\r' + ' ' * self.width + '\r')
			self.width = 0

	def line(self, text):
		"""A line that stays (errors, notes, phase changes)."""
		self._clear()
		self._write(text + '\n')
		if self.last:
			self._status(self.last)

	def set_phase(self, text):
		self.phase = text
		self.line('== ' + text)

	def _status(self, text):
		self.last = text
		if self.tty:
			text = text[:110]
			pad = max(0, self.width - len(text))
			self._write('\r' + text + ' ' * pad)
			self.width = len(text)
		else:
			self._write(text + '\n')

	def event(self, ev):
		el = fmt_secs(time.monotonic() - self.t0)
		kind = ev.get('ev')
		done, total = ev.get('done', 0), ev.get('total', 0) or 1
		where = ev.get('where', '')
		if kind == 'step':
			pct = 100 * done // total
			bar = '#' * (20 * done // total)
			rep = ev.get('rep')
			self._status('[%-20s] %3d%% %s %s %s%s: %s' % (
				bar, pct, el, where, ev.get('subject'),
				'' if rep is None else ' #%d' % (rep + 1),
				ev.get('step')))
		elif kind == 'error':
			msg = '!! %s %s rep %s, %s: %s' % (
				where, ev.get('subject'), ev.get('rep'),
				ev.get('step'), ev.get('message'))
			self.errors.append(msg)
			self.line(msg)
		elif kind == 'end':
			self._clear()
			self.last = None

	def feed(self, data):
		"""Bytes of the runner's stdout, as they come."""
		self.buf += data
		while b'\n' in self.buf:
			raw, self.buf = self.buf.split(b'\n', 1)
			text = raw.decode(errors='replace')
			if text.startswith(PREFIX):
				try:
					self.event(json.loads(text[len(PREFIX):]))
				except ValueError:
					self.line(text)
			elif text.strip():
				self.line('   ' + text)

	def finish(self):
		self._clear()
		self.last = None
