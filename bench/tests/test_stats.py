import statistics

import pytest

from twb import stats


def test_single_sample():
	s = stats.summarize([3.5])
	assert s == {'n': 1, 'median': 3.5, 'min': 3.5, 'max': 3.5,
		     'q1': 3.5, 'q3': 3.5}
	assert stats.spread_pct(s) is None


def test_odd_and_even_medians():
	assert stats.summarize([5, 1, 3])['median'] == 3
	assert stats.summarize([4, 1, 3, 2])['median'] == 2.5


def test_none_dropped_and_empty():
	assert stats.summarize([None, 2, None])['n'] == 1
	assert stats.summarize([None]) is None
	assert stats.summarize([]) is None


@pytest.mark.parametrize('xs', [[1, 2, 3, 4], [10, 1, 7, 3, 9],
				[2.5, 2.5, 9, 1, 0, 4]])
def test_quartiles_match_statistics_inclusive(xs):
	s = stats.summarize(xs)
	q = statistics.quantiles(xs, n=4, method='inclusive')
	assert s['q1'] == pytest.approx(q[0])
	assert s['median'] == pytest.approx(q[1])
	assert s['q3'] == pytest.approx(q[2])
	assert (s['min'], s['max']) == (min(xs), max(xs))


def test_spread_pct():
	assert stats.spread_pct(stats.summarize([90, 100, 110])) == \
		pytest.approx(20.0)
