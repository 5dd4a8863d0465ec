// SPDX-License-Identifier: GPL-2.0
/*
 * fault.c - tw_fault_point() for user space: a process-wide table of armed
 * fault points, for the fault-isolation and crash experiments.
 *
 * Layer: user-space environment.  Called by the core (tw_fault_point) and by
 * homes and tests (tw_fault_set and friends); calls the C library, pthreads
 * and tw_log().
 *
 * The common case, nothing armed, costs one relaxed atomic load.
 */
#include "tw_user_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fault_entry {
	char name[TW_FAULT_NAME_MAX + 1];
	u64 after;
	u64 calls;
	u64 fired;
	int action;
};

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_entry faults[TW_FAULT_MAX_POINTS];
static unsigned int nr_faults; /* under fault_lock */
static unsigned int faults_armed; /* atomic copy of nr_faults, for speed */

static struct fault_entry *fault_find(const char *where)
{
	unsigned int i;

	for (i = 0; i < nr_faults; i++)
		if (!strcmp(faults[i].name, where))
			return &faults[i];
	return NULL;
}

static void fault_remove(struct fault_entry *f)
{
	*f = faults[--nr_faults];
	memset(&faults[nr_faults], 0, sizeof(faults[0]));
}

static bool fault_action_ok(int action)
{
	int a = action & TW_FAULT_ACTION_MASK;

	if (action & ~(TW_FAULT_ACTION_MASK | TW_FAULT_ONCE))
		return false;
	return a == TW_FAULT_EIO || a == TW_FAULT_HANG || a == TW_FAULT_CRASH;
}

static void publish_count(void)
{
	__atomic_store_n(&faults_armed, nr_faults, __ATOMIC_RELAXED);
}

int tw_fault_set(const char *where, u64 after_n_calls, int action)
{
	struct fault_entry *f;

	if (!where || !*where || strlen(where) > TW_FAULT_NAME_MAX ||
	    !fault_action_ok(action))
		return -EINVAL;
	tw_pmutex_lock(&fault_lock);
	f = fault_find(where);
	if (!f) {
		if (nr_faults == TW_FAULT_MAX_POINTS) {
			tw_pmutex_unlock(&fault_lock);
			return -ENOSPC;
		}
		f = &faults[nr_faults];
		strcpy(f->name, where);
		nr_faults++;
	}
	f->after = after_n_calls;
	f->calls = 0;
	f->fired = 0;
	f->action = action;
	publish_count();
	tw_pmutex_unlock(&fault_lock);
	return 0;
}

void tw_fault_clear(const char *where)
{
	struct fault_entry *f;

	tw_pmutex_lock(&fault_lock);
	if (!where) {
		memset(faults, 0, sizeof(faults));
		nr_faults = 0;
	} else {
		f = fault_find(where);
		if (f)
			fault_remove(f);
	}
	publish_count();
	tw_pmutex_unlock(&fault_lock);
}

static u64 fault_get(const char *where, bool fired)
{
	struct fault_entry *f;
	u64 v = 0;

	tw_pmutex_lock(&fault_lock);
	f = fault_find(where);
	if (f)
		v = fired ? f->fired : f->calls;
	tw_pmutex_unlock(&fault_lock);
	return v;
}

u64 tw_fault_calls(const char *where)
{
	return fault_get(where, false);
}

u64 tw_fault_fired(const char *where)
{
	return fault_get(where, true);
}

struct fault_spec {
	char name[TW_FAULT_NAME_MAX + 1];
	u64 after;
	int action;
};

static int parse_one(const char *s, size_t len, struct fault_spec *out)
{
	static const struct {
		const char *word;
		int action;
	} actions[] = {
		{ "eio", TW_FAULT_EIO },
		{ "hang", TW_FAULT_HANG },
		{ "crash", TW_FAULT_CRASH },
	};
	const char *c1, *c2, *end = s + len, *act;
	char num[24], *numend;
	size_t alen, i;

	c1 = memchr(s, ':', len);
	if (!c1 || c1 == s || (size_t)(c1 - s) > TW_FAULT_NAME_MAX)
		return -EINVAL;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2 || c2 == c1 + 1 || (size_t)(c2 - c1 - 1) >= sizeof(num))
		return -EINVAL;
	memcpy(out->name, s, (size_t)(c1 - s));
	out->name[c1 - s] = '\0';
	memcpy(num, c1 + 1, (size_t)(c2 - c1 - 1));
	num[c2 - c1 - 1] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return -EINVAL;
	errno = 0;
	out->after = strtoull(num, &numend, 10);
	if (errno || *numend)
		return -EINVAL;

	act = c2 + 1;
	alen = (size_t)(end - act);
	out->action = 0;
	if (alen > 5 && !memcmp(act + alen - 5, "-once", 5)) {
		out->action = TW_FAULT_ONCE;
		alen -= 5;
	}
	for (i = 0; i < TW_ARRAY_SIZE(actions); i++) {
		if (strlen(actions[i].word) == alen &&
		    !memcmp(actions[i].word, act, alen)) {
			out->action |= actions[i].action;
			return 0;
		}
	}
	return -EINVAL;
}

int tw_fault_set_spec(const char *spec)
{
	struct fault_spec parsed[TW_FAULT_MAX_POINTS];
	const char *s = spec, *comma;
	size_t n = 0, len, i;
	int err;

	if (!spec)
		return -EINVAL;
	while (*s) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (n == TW_ARRAY_SIZE(parsed))
			return -EINVAL;
		err = parse_one(s, len, &parsed[n++]);
		if (err)
			return err;
		s += len;
		if (*s == ',')
			s++;
	}
	for (i = 0; i < n; i++) {
		err = tw_fault_set(parsed[i].name, parsed[i].after,
				   parsed[i].action);
		if (err) {
			while (i-- > 0)
				tw_fault_clear(parsed[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static void __attribute__((noreturn)) fault_hang(void)
{
	for (;;)
		pause();
}

static void __attribute__((noreturn)) fault_crash(void)
{
	volatile int *volatile p = NULL;

	*p = 0;
	abort(); /* not reached */
}

/**
 * tw_fault_point() - count a call of point @where and, if it is armed and
 * past its threshold, do the configured action.
 */
int tw_fault_point(struct tw_dev *dev, const char *where)
{
	struct fault_entry *f;
	int action = 0;

	if (likely(!__atomic_load_n(&faults_armed, __ATOMIC_RELAXED)))
		return 0;

	tw_pmutex_lock(&fault_lock);
	f = fault_find(where);
	if (f) {
		f->calls++;
		if (f->action && f->calls > f->after) {
			f->fired++;
			action = f->action;
			if (action & TW_FAULT_ONCE)
				f->action = 0; /* spent, but still counted */
		}
	}
	tw_pmutex_unlock(&fault_lock);

	switch (action & TW_FAULT_ACTION_MASK) {
	case 0:
		return 0;
	case TW_FAULT_EIO:
		tw_log(dev, TW_LOG_WARN, "fault point %s: injected -EIO",
		       where);
		return -EIO;
	case TW_FAULT_HANG:
		tw_log(dev, TW_LOG_WARN, "fault point %s: hanging forever",
		       where);
		fault_hang();
	case TW_FAULT_CRASH:
	default:
		tw_log(dev, TW_LOG_WARN, "fault point %s: crashing", where);
		fault_crash();
	}
}
