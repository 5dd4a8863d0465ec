# bench/tests: unit tests of the benchmark harness's parsers and report
# generator (no VM, no mounts), and of opbench's unmount (a tmpfs of its
# own, as root).  Run: /usr/bin/python3 -m pytest bench/tests
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))	# bench/, for "import twb"

DATA = os.path.join(HERE, 'data')


@pytest.fixture
def rawdir(tmp_path):
	"""A raw directory as bench/twbench leaves it, from a real smoke run
	(twinfs-kmod and twinfs-fuse-opt in the guest)."""
	raw = tmp_path / 'raw'
	raw.mkdir()
	shutil.copy(os.path.join(DATA, 'guest-sample.jsonl'), raw / 'guest.jsonl')
	shutil.copy(os.path.join(DATA, 'host-env.json'), raw / 'host-env.json')
	shutil.copy(os.path.join(DATA, 'guest-vm.json'), raw / 'guest-vm.json')
	return raw


def load_records():
	import json
	with open(os.path.join(DATA, 'guest-sample.jsonl')) as f:
		return [json.loads(l) for l in f if l.strip()]
