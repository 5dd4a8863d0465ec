// SPDX-License-Identifier: GPL-2.0
/*
 * env.c - memory, sleeping locks, time, logging and assertions of the
 * twinfs environment contract (tw_env.h), for user space.
 *
 * Layer: user-space environment.  Called by the core (common/) and by the
 * user-space homes; calls only the C library and pthreads.
 */
#include "tw_user_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

static u64 mem_count;
static s64 mem_bytes;

/**
 * tw_alloc() - calloc(); a zero-size request still gets a unique pointer.
 */
void *tw_alloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (p) {
		tw_stat_add(&mem_count, 1);
		tw_stat_add(&mem_bytes, (s64)size);
	}
	return p;
}

/** tw_free() - free(); @size only feeds tw_mem_outstanding(). */
void tw_free(void *p, size_t size)
{
	if (!p)
		return;
	tw_stat_add(&mem_count, -1);
	tw_stat_add(&mem_bytes, -(s64)size);
	free(p);
}

void tw_mem_outstanding(u64 *count, s64 *bytes)
{
	if (count)
		*count = tw_stat_get(&mem_count);
	if (bytes)
		*bytes = tw_stat_get(&mem_bytes);
}

/* ------------------------------------------------------------------------ */
/* Locks                                                                    */
/* ------------------------------------------------------------------------ */

static void lock_failed(const char *what, int err)
{
	fprintf(stderr, "twinfs: %s failed: %s\n", what, strerror(err));
	abort();
}

int tw_pmutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int err;

	err = pthread_mutexattr_init(&a);
	if (err)
		return -err;
#ifdef TW_USER_DEBUG
	/* Relocking or unlocking a mutex one does not hold is caught. */
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
#endif
	err = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
}

void tw_pmutex_lock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	if (unlikely(err))
		lock_failed("pthread_mutex_lock", err);
}

void tw_pmutex_unlock(pthread_mutex_t *m)
{
	int err = pthread_mutex_unlock(m);

	if (unlikely(err))
		lock_failed("pthread_mutex_unlock", err);
}

void tw_pcond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	int err = pthread_cond_wait(c, m);

	if (unlikely(err))
		lock_failed("pthread_cond_wait", err);
}

struct tw_mutex {
	pthread_mutex_t m;
};

struct tw_rwsem {
	pthread_rwlock_t l;
};

/** tw_mutex_new() - a pthread mutex (error-checking in debug builds). */
struct tw_mutex *tw_mutex_new(void)
{
	struct tw_mutex *m = malloc(sizeof(*m));

	if (m && tw_pmutex_init(&m->m)) {
		free(m);
		return NULL;
	}
	return m;
}

void tw_mutex_free(struct tw_mutex *m)
{
	int err;

	if (!m)
		return;
	err = pthread_mutex_destroy(&m->m);
	if (unlikely(err))
		lock_failed("pthread_mutex_destroy", err);
	free(m);
}

void tw_mutex_lock(struct tw_mutex *m)
{
	tw_pmutex_lock(&m->m);
}

void tw_mutex_unlock(struct tw_mutex *m)
{
	tw_pmutex_unlock(&m->m);
}

/**
 * tw_rwsem_new() - a pthread rwlock that prefers writers, so a stream of
 * readers cannot starve a writer (as with the kernel's rw_semaphore).  As
 * there, a thread must not take it for reading twice.
 */
struct tw_rwsem *tw_rwsem_new(void)
{
	struct tw_rwsem *s = malloc(sizeof(*s));
	pthread_rwlockattr_t a;
	int err;

	if (!s)
		return NULL;
	err = pthread_rwlockattr_init(&a);
	if (!err) {
		pthread_rwlockattr_setkind_np(
			&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		err = pthread_rwlock_init(&s->l, &a);
		pthread_rwlockattr_destroy(&a);
	}
	if (err) {
		free(s);
		return NULL;
	}
	return s;
}

void tw_rwsem_free(struct tw_rwsem *s)
{
	int err;

	if (!s)
		return;
	err = pthread_rwlock_destroy(&s->l);
	if (unlikely(err))
		lock_failed("pthread_rwlock_destroy", err);
	free(s);
}

void tw_down_read(struct tw_rwsem *s)
{
	int err = pthread_rwlock_rdlock(&s->l);

	if (unlikely(err))
		lock_failed("pthread_rwlock_rdlock", err);
}

void tw_up_read(struct tw_rwsem *s)
{
	int err = pthread_rwlock_unlock(&s->l);

	if (unlikely(err))
		lock_failed("pthread_rwlock_unlock", err);
}

void tw_down_write(struct tw_rwsem *s)
{
	int err = pthread_rwlock_wrlock(&s->l);

	if (unlikely(err))
		lock_failed("pthread_rwlock_wrlock", err);
}

void tw_up_write(struct tw_rwsem *s)
{
	tw_up_read(s);
}

/* ------------------------------------------------------------------------ */
/* Time                                                                     */
/* ------------------------------------------------------------------------ */

/** tw_now() - CLOCK_REALTIME in nanoseconds since the epoch. */
s64 tw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (s64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Logging and assertions                                                   */
/* ------------------------------------------------------------------------ */

static int log_level = TW_LOG_INFO;
static pthread_mutex_t log_hook_lock = PTHREAD_MUTEX_INITIALIZER;
static tw_log_hook_fn log_hook;
static void *log_hook_ctx;

int tw_log_set_level(int level)
{
	return __atomic_exchange_n(&log_level, level, __ATOMIC_RELAXED);
}

void tw_log_set_hook(tw_log_hook_fn fn, void *ctx)
{
	tw_pmutex_lock(&log_hook_lock);
	log_hook = fn;
	log_hook_ctx = ctx;
	tw_pmutex_unlock(&log_hook_lock);
}

/**
 * tw_log() - format the message and hand it to the hook, or print it to
 * stderr in one write as "twinfs: [<device>: ]<msg>\n".
 */
void tw_log(struct tw_dev *dev, int level, const char *fmt, ...)
{
	char msg[1024];
	tw_log_hook_fn fn;
	void *ctx;
	va_list ap;

	if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	tw_pmutex_lock(&log_hook_lock);
	fn = log_hook;
	ctx = log_hook_ctx;
	tw_pmutex_unlock(&log_hook_lock);

	if (fn) {
		fn(ctx, dev, level, msg);
		return;
	}
	if (dev)
		fprintf(stderr, "twinfs: %s: %s\n", tw_udev_name(dev), msg);
	else
		fprintf(stderr, "twinfs: %s\n", msg);
}

/** tw_assert_fail() - print the failed invariant and abort(). */
void tw_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "twinfs: assertion failed: %s (%s:%d)\n", expr, file,
		line);
	fflush(stderr);
	abort();
}

/* ------------------------------------------------------------------------ */
/* File data                                                                */
/* ------------------------------------------------------------------------ */

/**
 * tw_dev_write_file_data() - nothing to do: in user space the core writes
 * file data through the block cache itself.
 */
int tw_dev_write_file_data(struct tw_dev *dev, u64 ino)
{
	return 0;
}
