// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_concurrency.c - the block cache under many threads: readers of
 * the same uncached block share one backend read and one buffer; owners
 * writing their blocks through get/mark-dirty and write-now under a tiny
 * cache limit, with concurrent writeback, lose nothing; the backend never
 * sees two I/Os on one block at once.
 *
 * Layer: tests.  Calls the environment contract (tw_env.h), tw_user.h and
 * pthreads; defines its own backend through the public ops table.
 */
#include "tw_utest.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define BS TW_UDEV_BLOCK_SIZE

/* ------------------------------------------------------------------------ */
/* A checking backend: counts reads per block, optionally slow, and flags   */
/* two I/Os in flight on the same block.                                    */
/* ------------------------------------------------------------------------ */

struct check_backend {
	struct tw_backend be;
	struct tw_backend *inner;
	unsigned int read_delay_us;
	u32 *busy; /* per block */
	u64 *reads; /* per block */
	u64 overlaps;
};

static struct check_backend *to_cb(struct tw_backend *be)
{
	return (struct check_backend *)be;
}

static void busy_enter(struct check_backend *cb, u64 blk, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (__atomic_exchange_n(&cb->busy[blk + i], 1,
					__ATOMIC_ACQ_REL))
			__atomic_fetch_add(&cb->overlaps, 1, __ATOMIC_RELAXED);
}

static void busy_leave(struct check_backend *cb, u64 blk, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		__atomic_store_n(&cb->busy[blk + i], 0, __ATOMIC_RELEASE);
}

static void delay_us(unsigned int us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	if (us)
		nanosleep(&ts, NULL);
	else
		sched_yield();
}

static int cb_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct check_backend *cb = to_cb(be);
	int err;
	u32 i;

	busy_enter(cb, blk, n);
	for (i = 0; i < n; i++)
		__atomic_fetch_add(&cb->reads[blk + i], 1, __ATOMIC_RELAXED);
	delay_us(cb->read_delay_us);
	err = cb->inner->ops->read(cb->inner, blk, n, buf);
	busy_leave(cb, blk, n);
	return err;
}

static int cb_write(struct tw_backend *be, u64 blk, u32 n,
		    const void *const *bufs)
{
	struct check_backend *cb = to_cb(be);
	int err;

	busy_enter(cb, blk, n);
	delay_us(0);
	err = cb->inner->ops->write(cb->inner, blk, n, bufs);
	busy_leave(cb, blk, n);
	return err;
}

static int cb_flush(struct tw_backend *be)
{
	return to_cb(be)->inner->ops->flush(to_cb(be)->inner);
}

static void cb_destroy(struct tw_backend *be)
{
	struct check_backend *cb = to_cb(be);

	cb->inner->ops->destroy(cb->inner);
	free(cb->busy);
	free(cb->reads);
	free(cb);
}

static const struct tw_backend_ops check_ops = {
	.read = cb_read,
	.write = cb_write,
	.flush = cb_flush,
	.destroy = cb_destroy,
};

static struct check_backend *check_backend(struct tw_backend *inner,
					   unsigned int read_delay_us)
{
	struct check_backend *cb = calloc(1, sizeof(*cb));

	REQUIRE(cb && inner);
	cb->be.ops = &check_ops;
	cb->be.blocks = inner->blocks;
	snprintf(cb->be.name, sizeof(cb->be.name), "check(%.80s)", inner->name);
	cb->inner = inner;
	cb->read_delay_us = read_delay_us;
	cb->busy = calloc(inner->blocks, sizeof(*cb->busy));
	cb->reads = calloc(inner->blocks, sizeof(*cb->reads));
	REQUIRE(cb->busy && cb->reads);
	return cb;
}

/* ------------------------------------------------------------------------ */
/* Same-block readers                                                       */
/* ------------------------------------------------------------------------ */

#define NR_READERS 8
#define READER_ROUNDS 200

struct readers {
	struct tw_dev *dev;
	pthread_barrier_t start, got, done;
	struct tw_buf *bufs[NR_READERS];
	int errs[NR_READERS];
};

struct reader_arg {
	struct readers *rs;
	int idx;
};

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;
	struct readers *rs = a->rs;
	int round;

	for (round = 0; round < READER_ROUNDS; round++) {
		pthread_barrier_wait(&rs->start);
		rs->errs[a->idx] = tw_buf_read(rs->dev, (u64)round % 32,
					       &rs->bufs[a->idx]);
		pthread_barrier_wait(&rs->got);
		if (!rs->errs[a->idx])
			tw_buf_release(rs->bufs[a->idx]);
		pthread_barrier_wait(&rs->done);
	}
	return NULL;
}

static void test_same_block_readers(void)
{
	struct tw_backend *ram = tw_backend_ram(32);
	struct check_backend *cb;
	struct reader_arg args[NR_READERS];
	pthread_t th[NR_READERS];
	struct readers rs;
	struct tw_udev_stats st;
	int i, round, bad_ptr = 0, bad_data = 0;
	u64 before;
	u8 *disk;

	REQUIRE(ram);
	disk = tw_backend_ram_data(ram);
	for (i = 0; i < 32; i++)
		utest_fill(disk + (size_t)i * BS, 500 + i);
	cb = check_backend(ram, 300);
	rs.dev = tw_udev_from_backend(&cb->be);
	REQUIRE(rs.dev);
	pthread_barrier_init(&rs.start, NULL, NR_READERS + 1);
	pthread_barrier_init(&rs.got, NULL, NR_READERS + 1);
	pthread_barrier_init(&rs.done, NULL, NR_READERS + 1);
	for (i = 0; i < NR_READERS; i++) {
		args[i].rs = &rs;
		args[i].idx = i;
		REQUIRE(!pthread_create(&th[i], NULL, reader_thread, &args[i]));
	}
	for (round = 0; round < READER_ROUNDS; round++) {
		u64 blk = (u64)round % 32;

		before = cb->reads[blk];
		pthread_barrier_wait(&rs.start);
		pthread_barrier_wait(&rs.got);
		for (i = 0; i < NR_READERS; i++) {
			CHECK_EQ(rs.errs[i], 0);
			bad_ptr += rs.bufs[i] != rs.bufs[0];
			bad_data += !utest_is_fill(tw_buf_data(rs.bufs[i]),
						   500 + blk);
		}
		CHECK_EQ(cb->reads[blk] - before, 1);
		pthread_barrier_wait(&rs.done);
		CHECK_EQ(tw_udev_drop_caches(rs.dev), 0);
	}
	for (i = 0; i < NR_READERS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(bad_ptr, 0);
	CHECK_EQ(bad_data, 0);
	tw_udev_get_stats(rs.dev, &st);
	CHECK_EQ(st.misses, READER_ROUNDS);
	CHECK_EQ(st.reads, READER_ROUNDS);
	CHECK_EQ(st.hits, (u64)READER_ROUNDS * (NR_READERS - 1));
	CHECK_EQ(cb->overlaps, 0);
	pthread_barrier_destroy(&rs.start);
	pthread_barrier_destroy(&rs.got);
	pthread_barrier_destroy(&rs.done);
	CHECK_EQ(tw_udev_close(rs.dev), 0);
}

/* A tw_buf_get() while the block is being read waits for the read. */
struct slow_reader {
	struct tw_dev *dev;
	int err;
};

static void *slow_reader_thread(void *p)
{
	struct slow_reader *sr = p;
	struct tw_buf *b;

	sr->err = tw_buf_read(sr->dev, 3, &b);
	if (!sr->err)
		tw_buf_release(b);
	return NULL;
}

static void test_get_during_load(void)
{
	struct tw_backend *ram = tw_backend_ram(8);
	struct check_backend *cb;
	struct slow_reader sr;
	struct tw_buf *b;
	pthread_t th;

	REQUIRE(ram);
	utest_fill((u8 *)tw_backend_ram_data(ram) + 3 * BS, 3);
	cb = check_backend(ram, 100 * 1000);
	sr.dev = tw_udev_from_backend(&cb->be);
	REQUIRE(sr.dev);
	REQUIRE(!pthread_create(&th, NULL, slow_reader_thread, &sr));
	while (!__atomic_load_n(&cb->busy[3], __ATOMIC_ACQUIRE))
		delay_us(100);
	CHECK_EQ(tw_buf_get(sr.dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 3)); /* the read's result */
	utest_fill(tw_buf_data(b), 33);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	pthread_join(th, NULL);
	CHECK_EQ(sr.err, 0);
	CHECK_EQ(tw_buf_read(sr.dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 33));
	tw_buf_release(b);
	CHECK_EQ(cb->reads[3], 1);
	CHECK_EQ(tw_udev_close(sr.dev), 0);
}

/* ------------------------------------------------------------------------ */
/* Owners writing their own blocks, plus shared read-only blocks            */
/* ------------------------------------------------------------------------ */

#define NR_OWNERS 6
#define OWNED_PER 16
#define NR_OWNED (NR_OWNERS * OWNED_PER)
#define NR_SHARED 32
#define OWNER_OPS 6000

struct owners {
	struct tw_dev *dev;
	u64 version[NR_OWNED]; /* written by the owner only */
	int failures;
	volatile int stop;
};

struct owner_arg {
	struct owners *os;
	int idx;
};

static u64 seed_of(u64 blk, u64 version)
{
	return blk * 1000003 + version;
}

static void *owner_thread(void *p)
{
	struct owner_arg *a = p;
	struct owners *os = a->os;
	unsigned int rnd = 12345 + (unsigned int)a->idx;
	struct tw_buf *b;
	int op, bad = 0;
	u64 blk;

	for (op = 0; op < OWNER_OPS; op++) {
		int what = rand_r(&rnd) % 10;

		blk = (u64)a->idx + (u64)NR_OWNERS * (rand_r(&rnd) % OWNED_PER);
		if (what < 3) {
			/* Read and check my block. */
			if (tw_buf_read(os->dev, blk, &b)) {
				bad++;
				continue;
			}
			bad += !utest_is_fill(tw_buf_data(b),
					      seed_of(blk, os->version[blk]));
			tw_buf_release(b);
		} else if (what < 6) {
			/* Overwrite it without reading. */
			if (tw_buf_get(os->dev, blk, &b)) {
				bad++;
				continue;
			}
			os->version[blk]++;
			utest_fill(tw_buf_data(b),
				   seed_of(blk, os->version[blk]));
			tw_buf_mark_dirty(b);
			tw_buf_release(b);
		} else if (what < 7) {
			/* Read, modify, write now. */
			if (tw_buf_read(os->dev, blk, &b)) {
				bad++;
				continue;
			}
			bad += !utest_is_fill(tw_buf_data(b),
					      seed_of(blk, os->version[blk]));
			os->version[blk]++;
			utest_fill(tw_buf_data(b),
				   seed_of(blk, os->version[blk]));
			bad += tw_buf_write(b) != 0;
			tw_buf_release(b);
		} else {
			/* Read a shared block. */
			blk = NR_OWNED + (u64)(rand_r(&rnd) % NR_SHARED);
			if (tw_buf_read(os->dev, blk, &b)) {
				bad++;
				continue;
			}
			bad += !utest_is_fill(tw_buf_data(b), 7000 + blk);
			tw_buf_release(b);
		}
	}
	__atomic_fetch_add(&os->failures, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void *flusher_thread(void *p)
{
	struct owners *os = p;
	unsigned int n = 0;

	while (!__atomic_load_n(&os->stop, __ATOMIC_ACQUIRE)) {
		if (tw_dev_writeback(os->dev))
			__atomic_fetch_add(&os->failures, 1, __ATOMIC_RELAXED);
		if (++n % 16 == 0)
			tw_udev_set_cache_limit(os->dev, (n % 64 + 1) * BS);
		delay_us(50);
	}
	return NULL;
}

static void test_owners(void)
{
	struct tw_backend *ram = tw_backend_ram(NR_OWNED + NR_SHARED);
	struct owner_arg args[NR_OWNERS];
	pthread_t th[NR_OWNERS], fl;
	struct check_backend *cb;
	struct tw_udev_stats st;
	struct owners *os;
	u8 *disk;
	int i;

	REQUIRE(ram);
	os = calloc(1, sizeof(*os));
	REQUIRE(os);
	disk = tw_backend_ram_data(ram);
	for (i = 0; i < NR_OWNED; i++)
		utest_fill(disk + (size_t)i * BS, seed_of(i, 0));
	for (i = NR_OWNED; i < NR_OWNED + NR_SHARED; i++)
		utest_fill(disk + (size_t)i * BS, 7000 + i);
	cb = check_backend(ram, 0);
	os->dev = tw_udev_from_backend(&cb->be);
	REQUIRE(os->dev);
	tw_udev_set_cache_limit(os->dev, 8 * BS);

	REQUIRE(!pthread_create(&fl, NULL, flusher_thread, os));
	for (i = 0; i < NR_OWNERS; i++) {
		args[i].os = os;
		args[i].idx = i;
		REQUIRE(!pthread_create(&th[i], NULL, owner_thread, &args[i]));
	}
	for (i = 0; i < NR_OWNERS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&os->stop, 1, __ATOMIC_RELEASE);
	pthread_join(fl, NULL);

	CHECK_EQ(os->failures, 0);
	CHECK_EQ(tw_dev_writeback(os->dev), 0);
	tw_udev_get_stats(os->dev, &st);
	CHECK_EQ(st.dirty, 0);
	CHECK(st.evictions > 0);
	for (i = 0; i < NR_OWNED; i++)
		CHECK(utest_is_fill(disk + (size_t)i * BS,
				    seed_of(i, os->version[i])));
	CHECK_EQ(cb->overlaps, 0);
	CHECK_EQ(tw_udev_close(os->dev), 0);
	free(os);
}

/* ------------------------------------------------------------------------ */
/* Shared counters under the caller's locks, with racing writeback          */
/* ------------------------------------------------------------------------ */

#define NR_COUNTERS 8
#define NR_INCR 3000
#define NR_INCR_THREADS 4

struct counters {
	struct tw_dev *dev;
	pthread_mutex_t locks[NR_COUNTERS];
	int failures;
	volatile int stop;
};

static void *incr_thread(void *p)
{
	struct counters *cs = p;
	unsigned int rnd = (unsigned int)(size_t)&rnd;
	struct tw_buf *b;
	int i, c, bad = 0;
	u64 *v;

	for (i = 0; i < NR_INCR; i++) {
		c = rand_r(&rnd) % NR_COUNTERS;
		pthread_mutex_lock(&cs->locks[c]);
		if (tw_buf_read(cs->dev, (u64)c, &b)) {
			bad++;
		} else {
			v = tw_buf_data(b);
			v[0]++;
			if (rand_r(&rnd) % 4)
				tw_buf_mark_dirty(b);
			else
				bad += tw_buf_write(b) != 0;
			tw_buf_release(b);
		}
		pthread_mutex_unlock(&cs->locks[c]);
	}
	__atomic_fetch_add(&cs->failures, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void *evictor_thread(void *p)
{
	struct counters *cs = p;
	unsigned int n = 0;

	while (!__atomic_load_n(&cs->stop, __ATOMIC_ACQUIRE)) {
		if (tw_dev_writeback(cs->dev))
			__atomic_fetch_add(&cs->failures, 1, __ATOMIC_RELAXED);
		tw_udev_set_cache_limit(cs->dev, (++n % 2) ? 0 : 64 * BS);
		delay_us(20);
	}
	return NULL;
}

static void test_counters(void)
{
	struct tw_backend *ram = tw_backend_ram(NR_COUNTERS);
	pthread_t th[NR_INCR_THREADS], ev;
	struct counters cs;
	struct check_backend *cb;
	u64 total = 0, v;
	u8 *disk;
	int i;

	REQUIRE(ram);
	disk = tw_backend_ram_data(ram);
	cb = check_backend(ram, 0);
	memset(&cs, 0, sizeof(cs));
	cs.dev = tw_udev_from_backend(&cb->be);
	REQUIRE(cs.dev);
	for (i = 0; i < NR_COUNTERS; i++)
		pthread_mutex_init(&cs.locks[i], NULL);
	REQUIRE(!pthread_create(&ev, NULL, evictor_thread, &cs));
	for (i = 0; i < NR_INCR_THREADS; i++)
		REQUIRE(!pthread_create(&th[i], NULL, incr_thread, &cs));
	for (i = 0; i < NR_INCR_THREADS; i++)
		pthread_join(th[i], NULL);
	__atomic_store_n(&cs.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ev, NULL);
	CHECK_EQ(cs.failures, 0);
	CHECK_EQ(tw_dev_writeback(cs.dev), 0);
	for (i = 0; i < NR_COUNTERS; i++) {
		memcpy(&v, disk + (size_t)i * BS, sizeof(v));
		total += v;
	}
	CHECK_EQ(total, (u64)NR_INCR * NR_INCR_THREADS);
	CHECK_EQ(cb->overlaps, 0);
	for (i = 0; i < NR_COUNTERS; i++)
		pthread_mutex_destroy(&cs.locks[i]);
	CHECK_EQ(tw_udev_close(cs.dev), 0);
}

int main(void)
{
	RUN(test_same_block_readers);
	RUN(test_get_during_load);
	RUN(test_owners);
	RUN(test_counters);
	return utest_done();
}
