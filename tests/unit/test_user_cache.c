// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_cache.c - unit tests of the user-space block cache
 * (user/bcache.c): hits and misses, get without read, the verified mark,
 * eviction under a memory limit, writeback order and coalescing, range
 * checks, read errors, write-now, close with leaked buffers.
 *
 * Layer: tests.  Calls the environment contract (tw_env.h) and tw_user.h.
 */
#include "tw_utest.h"

#define BS TW_UDEV_BLOCK_SIZE

static u8 *ram_block(struct tw_dev *dev, u64 blk)
{
	return (u8 *)tw_backend_ram_data(tw_udev_backend(dev)) + blk * BS;
}

/* Quiet logging, remembering the last message. */
static char last_msg[1024];
static int nr_msgs;

static void capture(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
	nr_msgs++;
}

static void test_hit_miss(void)
{
	struct tw_dev *dev = tw_udev_ram(64);
	struct tw_udev_stats st;
	struct tw_buf *b, *b2;

	REQUIRE(dev);
	CHECK_EQ(tw_udev_blocks(dev), 64);
	utest_fill(ram_block(dev, 3), 3);

	CHECK_EQ(tw_buf_read(dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 3));
	CHECK_EQ(tw_buf_blkno(b), 3);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.misses, 1);
	CHECK_EQ(st.hits, 0);
	CHECK_EQ(st.reads, 1);

	/* Cached: same buffer, no backend read, whether referenced or not. */
	CHECK_EQ(tw_buf_read(dev, 3, &b2), 0);
	CHECK(b2 == b);
	tw_buf_release(b2);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 3));
	tw_buf_release(b);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.misses, 1);
	CHECK_EQ(st.hits, 2);
	CHECK_EQ(st.reads, 1);
	CHECK_EQ(st.cached, 1);

	/* The device changed behind the cache: the cache does not know. */
	utest_fill(ram_block(dev, 3), 33);
	CHECK_EQ(tw_buf_read(dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 3));
	tw_buf_release(b);
	/* A cold cache sees it. */
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(tw_buf_read(dev, 3, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 33));
	tw_buf_release(b);

	tw_udev_reset_stats(dev);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.hits + st.misses + st.reads, 0);
	CHECK_EQ(st.cached, 1);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_get(void)
{
	struct tw_dev *dev = tw_udev_ram(16);
	struct tw_udev_stats st;
	struct tw_buf *b, *b2;
	static const u8 zero[BS];

	REQUIRE(dev);
	utest_fill(ram_block(dev, 5), 5);
	utest_fill(ram_block(dev, 6), 6);

	/*
	 * Uncached: no read, zeroed, and up to date at once (the caller
	 * overwrites it), so reading it returns it without I/O.
	 */
	CHECK_EQ(tw_buf_get(dev, 5, &b), 0);
	CHECK(!memcmp(tw_buf_data(b), zero, BS));
	tw_buf_release(b);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.reads, 0);
	CHECK_EQ(st.cached, 1);
	CHECK_EQ(tw_buf_read(dev, 5, &b), 0);
	CHECK(!memcmp(tw_buf_data(b), zero, BS));
	tw_buf_release(b);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.reads, 0);
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	CHECK_EQ(tw_buf_read(dev, 5, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 5));
	tw_buf_release(b);

	/*
	 * The journal's pattern: get, fill, take a second reference with
	 * tw_buf_read() before marking dirty: same buffer, contents kept.
	 */
	CHECK_EQ(tw_buf_get(dev, 7, &b), 0);
	utest_fill(tw_buf_data(b), 77);
	CHECK_EQ(tw_buf_read(dev, 7, &b2), 0);
	CHECK(b2 == b);
	CHECK(utest_is_fill(tw_buf_data(b2), 77));
	tw_buf_release(b);
	tw_buf_mark_dirty(b2);
	tw_buf_release(b2);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK(utest_is_fill(ram_block(dev, 7), 77));
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	tw_udev_reset_stats(dev);

	/* Cached: the cached buffer with its contents. */
	CHECK_EQ(tw_buf_read(dev, 5, &b), 0);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_get(dev, 5, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 5));
	tw_buf_release(b);

	/* Filled and marked dirty: up to date, written at writeback. */
	CHECK_EQ(tw_buf_get(dev, 6, &b), 0);
	utest_fill(tw_buf_data(b), 66);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(dev, 6, &b2), 0);
	CHECK(utest_is_fill(tw_buf_data(b2), 66));
	tw_buf_release(b2);
	CHECK(utest_is_fill(ram_block(dev, 6), 6));
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.dirty, 1);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK(utest_is_fill(ram_block(dev, 6), 66));
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(st.writes, 1);
	CHECK_EQ(st.reads, 1);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_verified(void)
{
	struct tw_dev *dev = tw_udev_ram(8);
	struct tw_buf *b, *b2;

	REQUIRE(dev);
	CHECK_EQ(tw_buf_read(dev, 1, &b), 0);
	CHECK(!tw_buf_verified(b));
	tw_buf_set_verified(b);
	CHECK(tw_buf_verified(b));
	CHECK_EQ(tw_buf_read(dev, 1, &b2), 0); /* shared, still marked */
	CHECK(tw_buf_verified(b2));
	tw_buf_release(b2);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(dev, 1, &b), 0); /* a hit keeps the mark */
	CHECK(tw_buf_verified(b));
	tw_buf_mark_dirty(b); /* so does dirtying */
	CHECK(tw_buf_verified(b));
	tw_buf_release(b);
	/* Read again from the device: the mark is gone. */
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	CHECK_EQ(tw_buf_read(dev, 1, &b), 0);
	CHECK(!tw_buf_verified(b));
	tw_buf_release(b);
	/* A new buffer from get is not verified until the core says so. */
	CHECK_EQ(tw_buf_get(dev, 2, &b), 0);
	CHECK(!tw_buf_verified(b));
	tw_buf_set_verified(b);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(dev, 2, &b), 0);
	CHECK(tw_buf_verified(b));
	tw_buf_release(b);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_eviction_refcounts(void)
{
	struct tw_dev *dev = tw_udev_ram(64);
	struct tw_udev_stats st;
	struct tw_buf *b[8];
	int i;

	REQUIRE(dev);
	for (i = 0; i < 64; i++)
		utest_fill(ram_block(dev, i), i);
	tw_udev_set_cache_limit(dev, 4 * BS + 100);

	/* Eight referenced buffers: over the limit, none evicted. */
	for (i = 0; i < 8; i++)
		CHECK_EQ(tw_buf_read(dev, i, &b[i]), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 8);
	CHECK_EQ(st.evictions, 0);
	for (i = 0; i < 8; i++)
		CHECK(utest_is_fill(tw_buf_data(b[i]), i));

	/* Releasing trims back to the limit, oldest first. */
	for (i = 0; i < 8; i++)
		tw_buf_release(b[i]);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 4);
	CHECK_EQ(st.evictions, 4);
	tw_udev_reset_stats(dev);
	for (i = 4; i < 8; i++) {
		CHECK_EQ(tw_buf_read(dev, i, &b[0]), 0);
		tw_buf_release(b[0]);
	}
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.hits, 4);
	CHECK_EQ(st.misses, 0);

	/* Streaming through keeps at most the limit. */
	for (i = 0; i < 64; i++) {
		CHECK_EQ(tw_buf_read(dev, i, &b[0]), 0);
		CHECK(utest_is_fill(tw_buf_data(b[0]), i));
		tw_buf_release(b[0]);
		tw_udev_get_stats(dev, &st);
		CHECK(st.cached <= 4);
	}

	/* A limit of zero caches nothing unreferenced. */
	tw_udev_set_cache_limit(dev, 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(tw_buf_read(dev, 9, &b[0]), 0);
	CHECK_EQ(tw_buf_read(dev, 10, &b[1]), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 2);
	tw_buf_release(b[0]);
	tw_buf_release(b[1]);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_eviction_writes_dirty(void)
{
	struct tw_dev *dev = tw_udev_ram(64);
	struct tw_udev_stats st;
	struct tw_buf *b;
	int i;

	REQUIRE(dev);
	tw_udev_set_cache_limit(dev, 4 * BS);
	for (i = 0; i < 32; i++) {
		CHECK_EQ(tw_buf_get(dev, i, &b), 0);
		utest_fill(tw_buf_data(b), 1000 + i);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
		tw_udev_get_stats(dev, &st);
		CHECK(st.cached <= 4);
	}
	tw_udev_get_stats(dev, &st);
	CHECK(st.evictions >= 28);
	CHECK(st.dirty <= 4);
	/* Evicted blocks reached the device before they were dropped. */
	for (i = 0; i < 28; i++)
		CHECK(utest_is_fill(ram_block(dev, i), 1000 + i));
	/* Eviction wrote runs of adjacent blocks in one call. */
	CHECK(st.writes < st.write_blocks);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	for (i = 0; i < 32; i++)
		CHECK(utest_is_fill(ram_block(dev, i), 1000 + i));

	/* Shrinking the limit writes dirty buffers first. */
	tw_udev_set_cache_limit(dev, 64 * BS);
	for (i = 32; i < 40; i++) {
		CHECK_EQ(tw_buf_get(dev, i, &b), 0);
		utest_fill(tw_buf_data(b), 2000 + i);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
	}
	tw_udev_set_cache_limit(dev, 2 * BS);
	tw_udev_get_stats(dev, &st);
	CHECK(st.cached <= 2);
	for (i = 32; i < 38; i++)
		CHECK(utest_is_fill(ram_block(dev, i), 2000 + i));
	/* And reading evicted blocks back gives the written data. */
	for (i = 0; i < 40; i++) {
		CHECK_EQ(tw_buf_read(dev, i, &b), 0);
		CHECK(utest_is_fill(tw_buf_data(b),
				    (i < 32 ? 1000 : 2000) + i));
		tw_buf_release(b);
	}
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_writeback_order(void)
{
	static const u64 order[] = { 9, 3, 7, 4, 5, 1, 300, 301, 302 };
	static const u64 sorted[] = { 1, 3, 4, 5, 7, 9, 300, 301, 302 };
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_udev_stats st;
	struct tw_dev *dev;
	struct tw_buf *b;
	size_t i;
	int err;

	REQUIRE(log);
	dev = tw_udev_from_backend(tw_backend_recorder(tw_backend_ram(512),
						       log));
	REQUIRE(dev);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		CHECK_EQ(tw_buf_get(dev, order[i], &b), 0);
		utest_fill(tw_buf_data(b), order[i]);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
	}
	/* One buffer is still referenced: written all the same. */
	CHECK_EQ(tw_buf_read(dev, 7, &b), 0);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	tw_buf_release(b);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.write_blocks, 9);
	CHECK_EQ(st.writes, 5); /* 1, 3-5, 7, 9, 300-302 */
	CHECK_EQ(st.dirty, 0);

	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	for (i = 0; i < ARRAY_SIZE(sorted); i++) {
		CHECK_EQ(tw_wlog_next(r, &rec), 1);
		CHECK_EQ(rec.type, TW_WLOG_WRITE);
		CHECK_EQ(rec.blk, sorted[i]);
		CHECK(utest_is_fill(rec.data, sorted[i]));
	}
	CHECK_EQ(tw_wlog_next(r, &rec), 0);
	tw_wlog_reader_close(r);

	/* Nothing dirty: writeback writes nothing. */
	CHECK_EQ(tw_dev_writeback(dev), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.writes, 5);
	CHECK_EQ(tw_udev_close(dev), 0);
	CHECK_EQ(tw_wlog_free(log), 0);
}

static void test_range(void)
{
	struct tw_dev *dev = tw_udev_ram(8);
	struct tw_buf *b = NULL;

	REQUIRE(dev);
	tw_log_set_hook(capture, NULL);
	nr_msgs = 0;
	CHECK_EQ(tw_buf_read(dev, 8, &b), -EIO);
	CHECK_EQ(tw_buf_get(dev, 8, &b), -EIO);
	CHECK_EQ(tw_buf_read(dev, ~0ull, &b), -EIO);
	CHECK(b == NULL);
	CHECK_EQ(nr_msgs, 3);
	CHECK(strstr(last_msg, "beyond end of device") != NULL);
	tw_log_set_hook(NULL, NULL);
	CHECK_EQ(tw_buf_read(dev, 7, &b), 0);
	tw_buf_release(b);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_read_error(void)
{
	struct tw_backend *ram = tw_backend_ram(8);
	struct tw_backend *fbe = tw_backend_fault(ram);
	struct tw_dev *dev = tw_udev_from_backend(fbe);
	struct tw_udev_stats st;
	struct tw_buf *b = NULL;

	REQUIRE(dev);
	utest_fill((u8 *)tw_backend_ram_data(ram) + 2 * BS, 2);
	tw_log_set_hook(capture, NULL);
	nr_msgs = 0;
	tw_fault_be_fail_nth(fbe, TW_IO_READ, 1);
	CHECK_EQ(tw_buf_read(dev, 2, &b), -EIO);
	CHECK(b == NULL);
	CHECK_EQ(nr_msgs, 1);
	CHECK(strstr(last_msg, "read error on block 2") != NULL);
	tw_log_set_hook(NULL, NULL);
	/* Nothing half-valid stays behind. */
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(st.io_errors, 1);
	CHECK_EQ(tw_buf_read(dev, 2, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 2));
	tw_buf_release(b);

	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_write_now(void)
{
	struct tw_backend *ram = tw_backend_ram(8);
	struct tw_backend *fbe = tw_backend_fault(ram);
	struct tw_dev *dev = tw_udev_from_backend(fbe);
	u8 *disk = tw_backend_ram_data(ram);
	struct tw_udev_stats st;
	struct tw_buf *b;

	REQUIRE(dev);
	CHECK_EQ(tw_buf_get(dev, 4, &b), 0);
	utest_fill(tw_buf_data(b), 44);
	tw_buf_mark_dirty(b);
	CHECK_EQ(tw_buf_write(b), 0);
	CHECK(utest_is_fill(disk + 4 * BS, 44));
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(st.writes, 1);

	/* A failed write keeps the buffer dirty; writeback retries it. */
	utest_fill(tw_buf_data(b), 45);
	tw_log_set_hook(capture, NULL);
	tw_fault_be_fail_nth(fbe, TW_IO_WRITE, 1);
	CHECK_EQ(tw_buf_write(b), -EIO);
	tw_log_set_hook(NULL, NULL);
	CHECK(utest_is_fill(disk + 4 * BS, 44));
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.dirty, 1);
	tw_buf_release(b);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK(utest_is_fill(disk + 4 * BS, 45));

	/* Flush reaches the backend and is counted. */
	CHECK_EQ(tw_dev_flush(dev), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.flushes, 1);
	CHECK_EQ(tw_fault_be_count(fbe, TW_IO_FLUSH), 1);
	CHECK_EQ(tw_dev_write_file_data(dev, 0), 0);
	CHECK_EQ(tw_udev_close(dev), 0);
}

static void test_close(void)
{
	struct tw_dev *dev = tw_udev_ram(8);
	struct tw_backend *ram;
	struct tw_buf *b;

	REQUIRE(dev);
	/* A leaked reference is reported and gives -EBUSY. */
	CHECK_EQ(tw_buf_read(dev, 2, &b), 0);
	tw_log_set_hook(capture, NULL);
	nr_msgs = 0;
	CHECK_EQ(tw_udev_close(dev), -EBUSY);
	tw_log_set_hook(NULL, NULL);
	CHECK_EQ(nr_msgs, 1);
	CHECK(strstr(last_msg, "block 2 still referenced (1)") != NULL);

	/* With a dead device, close reports the lost data. */
	ram = tw_backend_ram(8);
	{
		struct tw_backend *fbe = tw_backend_fault(ram);

		dev = tw_udev_from_backend(fbe);
		REQUIRE(dev);
		CHECK_EQ(tw_buf_get(dev, 1, &b), 0);
		utest_fill(tw_buf_data(b), 12);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
		tw_fault_be_die_after(fbe, 0);
	}
	tw_log_set_hook(capture, NULL);
	nr_msgs = 0;
	CHECK_EQ(tw_udev_close(dev), -EIO);
	tw_log_set_hook(NULL, NULL);
	CHECK(strstr(last_msg, "1 dirty blocks not written") != NULL);
	CHECK_EQ(tw_udev_close(NULL), 0);
}

int main(void)
{
	RUN(test_hit_miss);
	RUN(test_get);
	RUN(test_verified);
	RUN(test_eviction_refcounts);
	RUN(test_eviction_writes_dirty);
	RUN(test_writeback_order);
	RUN(test_range);
	RUN(test_read_error);
	RUN(test_write_now);
	RUN(test_close);
	return utest_done();
}
