// SPDX-License-Identifier: GPL-2.0
/*
 * state.c - what one mounted filesystem holds beside the requests: space
 * that FORGETs and RELEASEs give back (and STATFS waits for), the commit
 * thread, and the shutdown that evicts and unmounts.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the lookup
 * table (itable.c) and the C library.
 */
#include "ops.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/*
 * FORGET and RELEASE may free space (the last reference to an unlinked
 * inode).  The kernel queues them before a later STATFS, but worker threads
 * may run them side by side, and the FORGET of an unlinked inode follows
 * only once its last RELEASE was answered.  So STATFS waits (briefly) for
 * FORGETs and RELEASEs in progress and for FORGETs that are due, so that
 * space freed before it was asked for counts as free, as on a local
 * filesystem.  A FORGET that does not come (an O_PATH descriptor or a
 * working directory holds the inode) is waited for TF_PENDING_WAIT_NS at
 * most, once.
 */
#define TF_PENDING_WAIT_NS 100000000l

void tf_reclaim_begin(struct tf_state *s)
{
	pthread_mutex_lock(&s->reclaim_lock);
	s->reclaiming++;
	pthread_mutex_unlock(&s->reclaim_lock);
}

void tf_reclaim_end(struct tf_state *s)
{
	pthread_mutex_lock(&s->reclaim_lock);
	if (!--s->reclaiming)
		pthread_cond_broadcast(&s->reclaim_cond);
	pthread_mutex_unlock(&s->reclaim_lock);
}

static void pending_change(struct tf_state *s, int delta)
{
	pthread_mutex_lock(&s->reclaim_lock);
	if (delta > 0) {
		s->pending++;
		clock_gettime(CLOCK_MONOTONIC, &s->pending_until);
		s->pending_until.tv_nsec += TF_PENDING_WAIT_NS;
		if (s->pending_until.tv_nsec >= 1000000000l) {
			s->pending_until.tv_nsec -= 1000000000l;
			s->pending_until.tv_sec++;
		}
	} else if (s->pending) {
		s->pending--;
		pthread_cond_broadcast(&s->reclaim_cond);
	}
	pthread_mutex_unlock(&s->reclaim_lock);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

void tf_reclaim_wait(struct tf_state *s)
{
	struct timespec now, until;

	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	until.tv_sec += 2; /* bound: a FORGET stuck behind a hung request */
	pthread_mutex_lock(&s->reclaim_lock);
	for (;;) {
		const struct timespec *limit = &until;

		if (s->pending && before(&now, &s->pending_until)) {
			if (before(&s->pending_until, &until))
				limit = &s->pending_until;
		} else if (!s->reclaiming) {
			break;
		}
		if (pthread_cond_timedwait(&s->reclaim_cond, &s->reclaim_lock,
					   limit) == ETIMEDOUT &&
		    limit == &until)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
	pthread_mutex_unlock(&s->reclaim_lock);
}

/*
 * An allocation failed for want of space while space an unlinked inode
 * holds is due back: wait for it and say whether to try once more (as
 * ext4 retries after a commit).
 */
bool tf_retry_enospc(struct tf_state *s, long err)
{
	bool due;

	if (err != -ENOSPC || !s->cfg->threads)
		return false;
	pthread_mutex_lock(&s->reclaim_lock);
	due = s->reclaiming || s->pending;
	pthread_mutex_unlock(&s->reclaim_lock);
	if (due)
		tf_reclaim_wait(s);
	return due;
}

static void evict(struct tf_state *s, u64 ino)
{
	int err = tw_evict(s->fs, ino);

	if (err)
		tf_logf(TW_LOG_ERR, "evicting inode %llu: %s",
			(unsigned long long)ino, strerror(-err));
}

/* The kernel let go of @n lookups of @ino (or never got them). */
void tf_unref(struct tf_state *s, u64 ino, u64 n)
{
	int r = tf_iunref(s->itab, ino, n);

	if (r & TF_EVICT)
		evict(s, ino);
	if (r & TF_WAS_PENDING)
		pending_change(s, -1);
}

/* The core says @ino has no links left. */
void tf_unlinked(struct tf_state *s, u64 ino)
{
	int r = tf_iunlinked(s->itab, ino);

	if (r & TF_EVICT)
		evict(s, ino);
	if (r & TF_PENDING)
		pending_change(s, 1);
}

/* The kernel closed a file or directory of @ino. */
void tf_released(struct tf_state *s, u64 ino)
{
	if (tf_irelease(s->itab, ino) & TF_PENDING)
		pending_change(s, 1);
}

/* ---- commit thread and shutdown ---- */

void tf_state_init(struct tf_state *s)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->unmount_lock, NULL);
	pthread_mutex_init(&s->remount_lock, NULL);
	pthread_mutex_init(&s->commit_lock, NULL);
	pthread_cond_init(&s->commit_cond, &ca);
	pthread_mutex_init(&s->reclaim_lock, NULL);
	pthread_cond_init(&s->reclaim_cond, &ca);
	pthread_condattr_destroy(&ca);
}

static void *committer(void *arg)
{
	struct tf_state *s = arg;
	s64 age = (s64)s->cfg->commit_interval * 1000000000ll;
	struct timespec until;
	int err, last = 0;

	pthread_mutex_lock(&s->commit_lock);
	while (!s->committer_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->cfg->commit_interval;
		while (!s->committer_stop &&
		       pthread_cond_timedwait(&s->commit_cond, &s->commit_lock,
					      &until) != ETIMEDOUT)
			;
		if (s->committer_stop)
			break;
		pthread_mutex_unlock(&s->commit_lock);
		err = tw_commit_if_old(s->fs, age);
		if (err && err != last)
			tf_logf(TW_LOG_ERR, "periodic commit: %s",
				strerror(-err));
		last = err;
		pthread_mutex_lock(&s->commit_lock);
	}
	pthread_mutex_unlock(&s->commit_lock);
	return NULL;
}

int tf_committer_start(struct tf_state *s)
{
	int err;

	/* read-only now, it may be remounted read-write later: the core's
	 * commits do nothing while it is read-only */
	if (!s->cfg->commit_interval)
		return 0;
	err = pthread_create(&s->committer, NULL, committer, s);
	if (err)
		return -err;
	s->committer_running = true;
	return 0;
}

static void evict_one(void *ctx, u64 ino)
{
	evict(ctx, ino);
}

int tf_shutdown(struct tf_state *s)
{
	int err;

	pthread_mutex_lock(&s->unmount_lock);
	if (s->unmounted) {
		err = s->unmount_err;
		pthread_mutex_unlock(&s->unmount_lock);
		return err;
	}
	tf_watch_stop(s);
	if (s->committer_running) {
		pthread_mutex_lock(&s->commit_lock);
		s->committer_stop = true;
		pthread_cond_signal(&s->commit_cond);
		pthread_mutex_unlock(&s->commit_lock);
		pthread_join(s->committer, NULL);
		s->committer_running = false;
	}
	/* the kernel forgets nothing at unmount: unlinked inodes it still
	 * held are freed now rather than by the next mount */
	if (s->itab)
		tf_idrain(s->itab, evict_one, s);
	pthread_mutex_lock(&s->remount_lock);
	err = tw_unmount(s->fs);
	s->fs = NULL;
	pthread_mutex_unlock(&s->remount_lock);
	s->unmounted = true;
	s->unmount_err = err;
	pthread_mutex_unlock(&s->unmount_lock);
	return err;
}
