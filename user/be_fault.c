// SPDX-License-Identifier: GPL-2.0
/*
 * be_fault.c - the fault-injecting backend wrapper: fails chosen reads,
 * writes or flushes with -EIO, or lets the device "die" after a number of
 * block writes.
 *
 * Layer: user-space environment, block backend.  Called by the block cache
 * through struct tw_backend_ops and by tests (tw_fault_be_*); calls the
 * wrapped backend, the C library and pthreads.
 */
#include "tw_user_int.h"

#include <stdlib.h>

struct fault_backend {
	struct tw_backend be;
	struct tw_backend *inner;
	pthread_mutex_t lock; /* protects the fields below */
	u64 nth[3]; /* per TW_IO_*: fail when the countdown reaches 1 */
	bool dying; /* die_left is armed */
	u64 die_left; /* block writes until death */
	bool dead;
	u64 count[3]; /* blocks (reads, writes) or flushes passed down */
	u64 failed;
};

static const struct tw_backend_ops fault_ops;

static struct fault_backend *to_fbe(struct tw_backend *be)
{
	tw_assert(be->ops == &fault_ops);
	return tw_container_of(be, struct fault_backend, be);
}

/*
 * Decide how many of @n units of kind @kind may pass before one fails;
 * returns @n if none fails.  Updates the countdowns.  Caller holds the lock.
 */
static u32 allowed_locked(struct fault_backend *f, int kind, u32 n)
{
	u32 ok = n;

	if (f->dead)
		return 0;
	if (f->nth[kind]) {
		if (f->nth[kind] <= n) {
			ok = (u32)f->nth[kind] - 1;
			f->nth[kind] = 0;
		} else {
			f->nth[kind] -= n;
		}
	}
	if (kind == TW_IO_WRITE && f->dying) {
		if (f->die_left <= ok) {
			ok = (u32)f->die_left;
			f->dying = false;
			f->dead = true;
		} else {
			f->die_left -= ok;
		}
	}
	if (ok < n)
		f->failed++;
	/* A read is all or nothing; a write passes down what it may. */
	if (kind != TW_IO_READ || ok == n)
		f->count[kind] += ok;
	return ok;
}

static int fault_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct fault_backend *f = to_fbe(be);
	u32 ok;

	tw_pmutex_lock(&f->lock);
	ok = allowed_locked(f, TW_IO_READ, n);
	tw_pmutex_unlock(&f->lock);
	if (ok < n)
		return -EIO;
	return f->inner->ops->read(f->inner, blk, n, buf);
}

static int fault_write(struct tw_backend *be, u64 blk, u32 n,
		       const void *const *bufs)
{
	struct fault_backend *f = to_fbe(be);
	int err = 0;
	u32 ok;

	tw_pmutex_lock(&f->lock);
	ok = allowed_locked(f, TW_IO_WRITE, n);
	tw_pmutex_unlock(&f->lock);
	if (ok)
		err = f->inner->ops->write(f->inner, blk, ok, bufs);
	if (err)
		return err;
	if (ok < n)
		return -EIO;
	return 0;
}

static int fault_flush(struct tw_backend *be)
{
	struct fault_backend *f = to_fbe(be);
	u32 ok;

	tw_pmutex_lock(&f->lock);
	ok = allowed_locked(f, TW_IO_FLUSH, 1);
	tw_pmutex_unlock(&f->lock);
	if (!ok)
		return -EIO;
	return f->inner->ops->flush(f->inner);
}

static void fault_destroy(struct tw_backend *be)
{
	struct fault_backend *f = to_fbe(be);

	f->inner->ops->destroy(f->inner);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct tw_backend_ops fault_ops = {
	.read = fault_read,
	.write = fault_write,
	.flush = fault_flush,
	.destroy = fault_destroy,
};

struct tw_backend *tw_backend_fault(struct tw_backend *inner)
{
	struct fault_backend *f = calloc(1, sizeof(*f));

	if (!f || tw_pmutex_init(&f->lock)) {
		free(f);
		inner->ops->destroy(inner);
		return NULL;
	}
	f->be.ops = &fault_ops;
	f->be.blocks = inner->blocks;
	tw_backend_set_name(&f->be, "fault(%s)", inner->name);
	f->inner = inner;
	return &f->be;
}

void tw_fault_be_fail_nth(struct tw_backend *be, int kind, u64 n)
{
	struct fault_backend *f = to_fbe(be);

	tw_assert(kind >= TW_IO_READ && kind <= TW_IO_FLUSH);
	tw_pmutex_lock(&f->lock);
	f->nth[kind] = n;
	tw_pmutex_unlock(&f->lock);
}

void tw_fault_be_die_after(struct tw_backend *be, u64 n)
{
	struct fault_backend *f = to_fbe(be);

	tw_pmutex_lock(&f->lock);
	if (n) {
		f->dying = true;
		f->die_left = n;
	} else {
		f->dying = false;
		f->dead = true;
	}
	tw_pmutex_unlock(&f->lock);
}

void tw_fault_be_reset(struct tw_backend *be)
{
	struct fault_backend *f = to_fbe(be);

	tw_pmutex_lock(&f->lock);
	memset(f->nth, 0, sizeof(f->nth));
	f->dying = false;
	f->die_left = 0;
	f->dead = false;
	tw_pmutex_unlock(&f->lock);
}

bool tw_fault_be_dead(struct tw_backend *be)
{
	struct fault_backend *f = to_fbe(be);
	bool dead;

	tw_pmutex_lock(&f->lock);
	dead = f->dead;
	tw_pmutex_unlock(&f->lock);
	return dead;
}

u64 tw_fault_be_count(struct tw_backend *be, int kind)
{
	struct fault_backend *f = to_fbe(be);
	u64 v;

	tw_assert(kind >= TW_IO_READ && kind <= TW_IO_FLUSH);
	tw_pmutex_lock(&f->lock);
	v = f->count[kind];
	tw_pmutex_unlock(&f->lock);
	return v;
}

u64 tw_fault_be_failed(struct tw_backend *be)
{
	struct fault_backend *f = to_fbe(be);
	u64 v;

	tw_pmutex_lock(&f->lock);
	v = f->failed;
	tw_pmutex_unlock(&f->lock);
	return v;
}
