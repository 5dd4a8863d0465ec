import io
import json

from twb.progress import Progress


def feed(p, events, chunk=7):
	data = b''.join(b'@@twb ' + json.dumps(e).encode() + b'\n'
			for e in events) + b'plain output\n'
	for i in range(0, len(data), chunk):	# arbitrary chunking
		p.feed(data[i:i + chunk])


def test_lines_when_not_a_terminal():
	out = io.StringIO()
	p = Progress(stream=out, tty=False)
	feed(p, [{'ev': 'step', 'where': 'guest', 'subject': 'ext4', 'rep': 0,
		  'step': 'data', 'done': 3, 'total': 12},
		 {'ev': 'error', 'where': 'guest', 'subject': 'ext4', 'rep': 0,
		  'step': 'meta', 'message': 'boom', 'done': 4, 'total': 12},
		 {'ev': 'end', 'done': 12, 'total': 12}])
	text = out.getvalue()
	assert ' 25% ' in text and 'guest ext4 #1: data' in text
	assert '!! guest ext4 rep 0, meta: boom' in text
	assert '   plain output' in text
	assert p.errors == ['!! guest ext4 rep 0, meta: boom']


def test_updates_in_place_on_a_terminal():
	out = io.StringIO()
	p = Progress(stream=out, tty=True)
	feed(p, [{'ev': 'step', 'subject': 's', 'step': 'a', 'done': 1,
		  'total': 2},
		 {'ev': 'step', 'subject': 's', 'step': 'b', 'done': 2,
		  'total': 2}])
	assert '\r' in out.getvalue()
	assert out.getvalue().count('\n') == 1	# only the plain line stays
