"""Median and spread of repeated measurements.

A summary of samples is {'n', 'median', 'min', 'max', 'q1', 'q3'}; with
one sample the spread is that sample itself (the report says n=1).
Quartiles use the "inclusive" method (linear interpolation between
closest ranks, as statistics.quantiles(method='inclusive')).
"""


def _interp(xs, pos):
	lo = int(pos)
	hi = min(lo + 1, len(xs) - 1)
	frac = pos - lo
	return xs[lo] + (xs[hi] - xs[lo]) * frac


def quantile(xs, q):
	"""@q-quantile (0..1) of the sorted list @xs, inclusive method."""
	if not xs:
		raise ValueError('no samples')
	return _interp(xs, (len(xs) - 1) * q)


def summarize(samples):
	"""Summary of a list of numbers (None entries are dropped); None if
	nothing is left."""
	xs = sorted(float(x) for x in samples if x is not None)
	if not xs:
		return None
	return {
		'n': len(xs),
		'median': quantile(xs, 0.5),
		'min': xs[0],
		'max': xs[-1],
		'q1': quantile(xs, 0.25),
		'q3': quantile(xs, 0.75),
	}


def spread_pct(summary):
	"""(max - min) / median in percent, or None."""
	if not summary or summary['n'] < 2 or not summary['median']:
		return None
	return 100.0 * (summary['max'] - summary['min']) / abs(
		summary['median'])
