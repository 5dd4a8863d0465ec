// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_data.c - file data without block buffers: the environment's
 * tw_dev_read_data()/tw_dev_write_data() and the core's tw_read()/
 * tw_write() built on them.
 *
 * Environment (RAM, fault-injecting and recording backends): runs go to
 * and from the device straight, any alignment; a cached buffer (dirty or
 * not, held or not) is read instead of the device, and dropped or given
 * the new contents by a write, so that no later writeback overwrites the
 * new data with the old; failed writes leave replaced buffers dirty; the
 * recorder logs every block of a run, in order; tw_dev_sync_data() writes
 * the dirty buffers of a range and nothing else.
 *
 * Core (RAM device): random unaligned writes, truncates and reads against
 * a model, with cache drops and remounts in between; a partial write (a
 * dirty buffer) overwritten by whole blocks; blocks freed by a truncate and
 * reused as another file's data and as metadata; holes; the runs
 * tw_read_runs() hands a splicing home (tw_dev_sync_data() first);
 * concurrent readers and writers with data verification; and ordered
 * mode, checked on
 * every prefix of a recorded write: a file never shows the freed blocks'
 * old contents (with a control that drops the data writes from the log
 * and must be caught).
 *
 * Layer: tests of the core (common/) through its API (twinfs.h) and of the
 * user-space environment (tw_env.h, tw_user.h).
 */
#include "tw_coretest.h"

#include <pthread.h>

#define ROOT TW_ROOT_INO

static u8 *xmalloc(size_t n)
{
	u8 *p = malloc(n ? n : 1);

	REQUIRE(p);
	return p;
}

static void fill_blocks(u8 *p, u32 n, u64 seed, u64 blk)
{
	ct_fill(p, (size_t)n * CT_BS, seed, blk * CT_BS);
}

static long long check_blocks(const u8 *p, u32 n, u64 seed, u64 blk)
{
	return ct_check_pat(p, (size_t)n * CT_BS, seed, blk * CT_BS);
}

static struct tw_udev_stats stats(struct tw_dev *dev)
{
	struct tw_udev_stats st;

	tw_udev_get_stats(dev, &st);
	return st;
}

/* ------------------------------------------------------------------------ */
/* The environment                                                          */
/* ------------------------------------------------------------------------ */

static void test_env_runs(void)
{
	struct tw_dev *dev = tw_udev_ram(1024);
	u8 *src = xmalloc(300 * CT_BS + 1), *dst = xmalloc(300 * CT_BS + 3);
	struct tw_udev_stats st;

	REQUIRE(dev);
	/* odd addresses: the calls take any alignment */
	fill_blocks(src + 1, 300, 1, 10);
	CHECK_EQ(tw_dev_write_data(dev, 10, 300, src + 1), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + 10 * CT_BS, 300, 1, 10), -1);
	CHECK_EQ(ct_check_zero(ct_ram_of(dev) + 9 * CT_BS, CT_BS), -1);
	CHECK_EQ(ct_check_zero(ct_ram_of(dev) + 310 * CT_BS, CT_BS), -1);
	CHECK_EQ(tw_dev_read_data(dev, 10, 300, dst + 3), 0);
	CHECK_EQ(check_blocks(dst + 3, 300, 1, 10), -1);
	st = stats(dev);
	CHECK_EQ(st.data_writes, 1);
	CHECK_EQ(st.data_write_blocks, 300);
	CHECK_EQ(st.data_reads, 1);
	CHECK_EQ(st.data_read_blocks, 300);
	CHECK_EQ(st.data_hits, 0);
	/* no buffer was made for any of it; runs of MAX_RUN (256) blocks */
	CHECK_EQ(st.cached, 0);
	CHECK_EQ(st.reads, 2);
	CHECK_EQ(st.writes, 2);

	/* nothing to do, and the device's end */
	CHECK_EQ(tw_dev_read_data(dev, 5, 0, dst), 0);
	CHECK_EQ(tw_dev_write_data(dev, 5, 0, src), 0);
	ct_log_capture(true);
	CHECK_EQ(tw_dev_read_data(dev, 1023, 2, dst), -EIO);
	CHECK_EQ(tw_dev_write_data(dev, 1023, 2, src), -EIO);
	CHECK_EQ(tw_dev_read_data(dev, 1024, 1, dst), -EIO);
	ct_log_release();
	CHECK_EQ(tw_dev_read_data(dev, 1023, 1, dst), 0);
	ct_close(dev);
	free(src);
	free(dst);
}

/* A dirty buffer is newer than the device: a read copies it. */
static void test_env_read_dirty(void)
{
	struct tw_dev *dev = tw_udev_ram(256);
	u8 *buf = xmalloc(32 * CT_BS);
	struct tw_buf *b;

	REQUIRE(dev);
	fill_blocks(buf, 32, 2, 0);
	REQUIRE_EQ(tw_dev_write_data(dev, 0, 32, buf), 0);
	/* blocks 5 and 6 get newer contents in their buffers */
	REQUIRE_EQ(tw_buf_get(dev, 5, &b), 0);
	ct_fill(tw_buf_data(b), CT_BS, 3, 5 * CT_BS);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	REQUIRE_EQ(tw_buf_read(dev, 6, &b), 0);
	ct_fill(tw_buf_data(b), CT_BS, 3, 6 * CT_BS);
	tw_buf_mark_dirty(b);
	/* (6 stays held) */
	memset(buf, 0, 32 * CT_BS);
	CHECK_EQ(tw_dev_read_data(dev, 0, 32, buf), 0);
	CHECK_EQ(check_blocks(buf, 5, 2, 0), -1);
	CHECK_EQ(check_blocks(buf + 5 * CT_BS, 2, 3, 5), -1);
	CHECK_EQ(check_blocks(buf + 7 * CT_BS, 25, 2, 7), -1);
	CHECK_EQ(stats(dev).data_hits, 2);
	/* the device still has the old ones: the read wrote nothing */
	CHECK_EQ(check_blocks(ct_ram_of(dev) + 5 * CT_BS, 2, 2, 5), -1);
	tw_buf_release(b);
	ct_close(dev);
	free(buf);
}

/*
 * A whole-block write over cached buffers: an unreferenced dirty one is
 * dropped (a writeback must not bring its old contents back), a clean one
 * too, a referenced one gets the new contents and is clean and no longer
 * verified.
 */
static void test_env_write_over_cached(void)
{
	struct tw_dev *dev = tw_udev_ram(256);
	u8 *buf = xmalloc(16 * CT_BS);
	struct tw_buf *b, *held;
	struct tw_udev_stats st;

	REQUIRE(dev);
	REQUIRE_EQ(tw_buf_get(dev, 20, &b), 0); /* dirty, unreferenced */
	ct_fill(tw_buf_data(b), CT_BS, 4, 20 * CT_BS);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	REQUIRE_EQ(tw_buf_read(dev, 21, &b), 0); /* clean, unreferenced */
	tw_buf_release(b);
	REQUIRE_EQ(tw_buf_read(dev, 22, &held), 0); /* dirty, held */
	ct_fill(tw_buf_data(held), CT_BS, 4, 22 * CT_BS);
	tw_buf_set_verified(held);
	tw_buf_mark_dirty(held);
	st = stats(dev);
	CHECK_EQ(st.cached, 3);
	CHECK_EQ(st.dirty, 2);

	fill_blocks(buf, 16, 5, 16);
	CHECK_EQ(tw_dev_write_data(dev, 16, 16, buf), 0);
	st = stats(dev);
	CHECK_EQ(st.data_hits, 3);
	CHECK_EQ(st.cached, 1); /* the held one */
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(check_blocks(tw_buf_data(held), 1, 5, 22), -1);
	CHECK(!tw_buf_verified(held));
	tw_buf_release(held);

	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + 16 * CT_BS, 16, 5, 16), -1);
	/* and the buffers say the same */
	REQUIRE_EQ(tw_buf_read(dev, 20, &b), 0);
	CHECK_EQ(check_blocks(tw_buf_data(b), 1, 5, 20), -1);
	tw_buf_release(b);
	REQUIRE_EQ(tw_buf_read(dev, 22, &b), 0);
	CHECK_EQ(check_blocks(tw_buf_data(b), 1, 5, 22), -1);
	tw_buf_release(b);
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + 16 * CT_BS, 16, 5, 16), -1);
	ct_close(dev);
	free(buf);
}

/* A failed run: the replaced buffer stays dirty with the new contents. */
static void test_env_write_fault(void)
{
	struct tw_backend *ram = tw_backend_ram(64), *fb;
	u8 *buf = xmalloc(4 * CT_BS), *disk;
	struct tw_buf *held;
	struct tw_dev *dev;

	REQUIRE(ram);
	disk = tw_backend_ram_data(ram);
	fb = tw_backend_fault(ram);
	REQUIRE(fb);
	dev = tw_udev_from_backend(fb);
	REQUIRE(dev);
	REQUIRE_EQ(tw_buf_read(dev, 5, &held), 0);
	fill_blocks(buf, 4, 6, 3);
	tw_fault_be_fail_nth(fb, TW_IO_WRITE, 2); /* block 4 of 3..6 */
	ct_log_capture(true);
	CHECK_EQ(tw_dev_write_data(dev, 3, 4, buf), -EIO);
	ct_log_release();
	/* the wrapper wrote the block before the failing one, no other */
	CHECK_EQ(check_blocks(disk + 3 * CT_BS, 1, 6, 3), -1);
	CHECK_EQ(ct_check_zero(disk + 4 * CT_BS, 3 * CT_BS), -1);
	/* the held buffer has the new contents and is dirty */
	CHECK_EQ(stats(dev).dirty, 1);
	CHECK_EQ(check_blocks(tw_buf_data(held), 1, 6, 5), -1);
	tw_buf_release(held);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK_EQ(check_blocks(disk + 5 * CT_BS, 1, 6, 5), -1);
	CHECK_EQ(ct_check_zero(disk + 4 * CT_BS, CT_BS), -1);
	/* a failed read */
	tw_fault_be_fail_nth(fb, TW_IO_READ, 1);
	ct_log_capture(true);
	CHECK_EQ(tw_dev_read_data(dev, 0, 4, buf), -EIO);
	ct_log_release();
	CHECK_EQ(tw_dev_read_data(dev, 3, 1, buf), 0);
	CHECK_EQ(check_blocks(buf, 1, 6, 3), -1);
	ct_close(dev);
	free(buf);
}

/* The recorder logs every block of a run, in order, with its bytes. */
static void test_env_recorded(void)
{
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_backend *rb;
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_dev *dev;
	u8 *buf = xmalloc(3 * CT_BS);
	int err, i = 0;

	REQUIRE(log);
	rb = tw_backend_recorder(tw_backend_ram(32), log);
	REQUIRE(rb);
	dev = tw_udev_from_backend(rb);
	REQUIRE(dev);
	fill_blocks(buf, 3, 7, 7);
	CHECK_EQ(tw_dev_write_data(dev, 7, 3, buf), 0);
	CHECK_EQ(tw_dev_flush(dev), 0);
	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	while (tw_wlog_next(r, &rec) == 1) {
		if (i < 3) {
			CHECK_EQ(rec.type, TW_WLOG_WRITE);
			CHECK_EQ(rec.blk, 7 + i);
			CHECK_EQ(check_blocks(rec.data, 1, 7, 7 + i), -1);
		} else {
			CHECK_EQ(rec.type, TW_WLOG_FLUSH);
		}
		i++;
	}
	CHECK_EQ(i, 4);
	tw_wlog_reader_close(r);
	ct_close(dev);
	CHECK_EQ(tw_wlog_free(log), 0);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* The core                                                                 */
/* ------------------------------------------------------------------------ */

/* Read all of @ino (expected @len bytes) and compare with @model. */
static void check_file(struct tw_fs *fs, u64 ino, const u8 *model, size_t len,
		       const char *when)
{
	u8 *buf = xmalloc(len + CT_BS);
	ssize_t n;
	size_t i;

	CHECK_EQ(ct_getattr(fs, ino).size, len);
	n = tw_read(fs, ino, 0, buf, len + CT_BS);
	CHECK_EQ(n, (ssize_t)len);
	if (n == (ssize_t)len) {
		for (i = 0; i < len && buf[i] == model[i]; i++)
			;
		if (i < len)
			fprintf(stderr, "%s: first difference at byte %zu\n",
				when, i);
		CHECK_EQ(i, len);
	}
	free(buf);
}

/*
 * Random writes (block-aligned runs, partial blocks, ranges straddling
 * both), truncates, reads at random offsets, with cache drops and
 * remounts, against a model.
 */
static void test_core_random(void)
{
	const size_t max = 3u << 20;
	struct tw_dev *dev = ct_ram_mkfs(4096, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 *model = calloc(1, max), *buf = xmalloc(max + CT_BS);
	struct ct_rng rng;
	size_t size = 0;
	u64 ino;
	int op;

	REQUIRE(model);
	ct_rng_seed(&rng, 12);
	REQUIRE_EQ(ct_create(fs, ROOT, "r", 0644, &ino), 0);
	for (op = 0; op < 600; op++) {
		u64 kind = ct_below(&rng, 100), off, len;
		ssize_t n;

		if (kind < 45) {
			off = ct_below(&rng, max - 1);
			len = ct_below(&rng, 4) ?
				      ct_below(&rng, 3 * CT_BS) + 1 :
				      ct_below(&rng, 512 * 1024) + 1;
			if (ct_below(&rng, 2)) { /* block-aligned */
				off &= ~(u64)(CT_BS - 1);
				len = (len + CT_BS - 1) & ~(u64)(CT_BS - 1);
			}
			if (off + len > max)
				len = max - off;
			ct_fill(buf, len, 100 + op, off);
			n = tw_write(fs, ino, off, buf, len);
			CHECK_EQ(n, (ssize_t)len);
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else if (kind < 52) {
			u64 ns = ct_below(&rng, max);

			if (ct_below(&rng, 2))
				ns &= ~(u64)(CT_BS - 1);
			CHECK_EQ(ct_truncate(fs, ino, ns), 0);
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		} else if (kind < 95) {
			off = ct_below(&rng, max);
			len = ct_below(&rng, 600 * 1024) + 1;
			if (ct_below(&rng, 2))
				off &= ~(u64)(CT_BS - 1);
			n = tw_read(fs, ino, off, buf, len);
			if (off >= size) {
				CHECK_EQ(n, 0);
			} else {
				size_t want =
					len < size - off ? len : size - off;

				CHECK_EQ(n, (ssize_t)want);
				if (n == (ssize_t)want &&
				    memcmp(buf, model + off, want)) {
					fprintf(stderr,
						"op %d: read %llu+%llu differs\n",
						op, (unsigned long long)off,
						(unsigned long long)len);
					CHECK(0);
				}
			}
		} else if (kind < 98) {
			CHECK_EQ(tw_sync(fs), 0);
			CHECK_EQ(tw_udev_drop_caches(dev), 0);
		} else {
			fs = ct_remount(fs);
		}
	}
	check_file(fs, ino, model, size, "random, mounted");
	fs = ct_remount(fs);
	check_file(fs, ino, model, size, "random, remounted");
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	/* file data went around the cache: few data blocks were cached */
	CHECK(stats(dev).data_read_blocks > 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(model);
	free(buf);
}

/*
 * A partial write leaves a dirty buffer; whole blocks written over it
 * later must win, in the cache and on the device, before and after the
 * commit's writeback, a cache drop and a remount.
 */
static void test_core_partial_then_whole(void)
{
	struct tw_dev *dev = ct_ram_mkfs(2048, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 *buf = xmalloc(8 * CT_BS), *model = xmalloc(8 * CT_BS);
	u64 ino, pblk;
	bool is_new;

	REQUIRE_EQ(ct_create(fs, ROOT, "pw", 0644, &ino), 0);
	ct_fill(model, 8 * CT_BS, 20, 0);
	CHECK_EQ(tw_write(fs, ino, 0, model, 8 * CT_BS), 8 * CT_BS);
	CHECK_EQ(tw_sync(fs), 0);
	/* partial writes into blocks 1 and 2: dirty buffers */
	ct_fill(buf, 100, 21, 5000);
	CHECK_EQ(tw_write(fs, ino, 5000, buf, 100), 100);
	ct_fill(buf, 3000, 21, 9000);
	CHECK_EQ(tw_write(fs, ino, 9000, buf, 3000), 3000);
	CHECK(stats(dev).dirty >= 2);
	/* whole blocks 0..3 over them */
	ct_fill(model, 4 * CT_BS, 22, 0);
	CHECK_EQ(tw_write(fs, ino, 0, model, 4 * CT_BS), 4 * CT_BS);
	check_file(fs, ino, model, 8 * CT_BS, "whole over partial");
	/* the device has them, and the commit's writeback does not undo it */
	CHECK_EQ(tw_bmap(fs, ino, 1, false, &pblk, &is_new), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + pblk * CT_BS, 1, 22, 1), -1);
	CHECK_EQ(tw_sync(fs), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + pblk * CT_BS, 1, 22, 1), -1);
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	check_file(fs, ino, model, 8 * CT_BS, "after writeback and drop");
	/* and the other way round: a partial write after whole blocks */
	ct_fill(buf, 10, 23, 4 * CT_BS + 7);
	CHECK_EQ(tw_write(fs, ino, 4 * CT_BS + 7, buf, 10), 10);
	memcpy(model + 4 * CT_BS + 7, buf, 10);
	check_file(fs, ino, model, 8 * CT_BS, "partial over whole");
	fs = ct_remount(fs);
	check_file(fs, ino, model, 8 * CT_BS, "remounted");
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(buf);
	free(model);
}

/* The device blocks of @ino's first @n logical blocks (0 for holes). */
static void map_of(struct tw_fs *fs, u64 ino, u32 n, u64 *pblks)
{
	bool is_new;
	u32 i;

	for (i = 0; i < n; i++)
		CHECK_EQ(tw_bmap(fs, ino, i, false, &pblks[i], &is_new), 0);
}

static bool overlap(const u64 *a, u32 na, const u64 *b, u32 nb)
{
	u32 i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (a[i] && a[i] == b[j])
				return true;
	return false;
}

/*
 * Blocks freed by a truncate (data cached dirty by partial writes, and an
 * indirect block cached as metadata) are reused as another file's data,
 * written whole: the new file must read back right, before and after the
 * commit's writeback and a remount.  Then they are freed again and reused
 * as metadata (directories), which must stay consistent.
 */
static void test_core_reuse(void)
{
	struct tw_dev *dev = ct_ram_mkfs(1024, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	const u32 nb = 40; /* past the 12 direct blocks: an indirect block */
	u8 *buf = xmalloc(nb * CT_BS), *model = xmalloc(nb * CT_BS);
	u64 a, b, fill, off, old[40], cur[40];
	struct tw_statfs s0, s1;
	char name[16];
	u32 i;

	REQUIRE_EQ(ct_create(fs, ROOT, "a", 0644, &a), 0);
	REQUIRE_EQ(ct_create(fs, ROOT, "b", 0644, &b), 0);
	/* a: every block written in two partial pieces (dirty buffers) */
	for (i = 0; i < nb; i++) {
		ct_fill(buf, CT_BS, 30, (u64)i * CT_BS);
		CHECK_EQ(tw_write(fs, a, (u64)i * CT_BS, buf, 1000), 1000);
		CHECK_EQ(tw_write(fs, a, (u64)i * CT_BS + 1000, buf + 1000,
				  CT_BS - 1000),
			 CT_BS - 1000);
	}
	map_of(fs, a, nb, old);
	CHECK(stats(dev).dirty > 0);
	/* a filler takes every other free block, so that what a frees is
	 * all there is to allocate afterwards */
	REQUIRE_EQ(ct_create(fs, ROOT, "filler", 0644, &fill), 0);
	for (off = 0;; off += 16 * CT_BS) {
		ssize_t n;

		ct_fill(buf, 16 * CT_BS, 33, off);
		n = tw_write(fs, fill, off, buf, 16 * CT_BS);
		if (n != 16 * CT_BS)
			break;
	}
	CHECK_EQ(tw_sync(fs), 0);
	s0 = ct_statfs(fs);
	CHECK(s0.bfree < 8);
	/* freed with their buffers still dirty: the truncate's commit
	 * writes them (to free blocks), then they may be reused */
	CHECK_EQ(ct_truncate(fs, a, 0), 0);
	CHECK_EQ(tw_sync(fs), 0);
	s1 = ct_statfs(fs);
	CHECK(s1.bfree >= s0.bfree + nb);

	ct_fill(model, nb * CT_BS, 31, 0);
	CHECK_EQ(tw_write(fs, b, 0, model, nb * CT_BS), nb * CT_BS);
	map_of(fs, b, nb, cur);
	CHECK(overlap(old, nb, cur, nb)); /* the test means something */
	check_file(fs, b, model, nb * CT_BS, "reused");
	CHECK_EQ(tw_sync(fs), 0);
	check_file(fs, b, model, nb * CT_BS, "reused, committed");
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	check_file(fs, b, model, nb * CT_BS, "reused, cache dropped");
	fs = ct_remount(fs);
	check_file(fs, b, model, nb * CT_BS, "reused, remounted");

	/* b's blocks (cached nowhere now) go to metadata, then to data
	 * again through the cache (partial writes) */
	CHECK_EQ(ct_truncate(fs, b, 0), 0);
	CHECK_EQ(tw_sync(fs), 0);
	for (i = 0; i < 20; i++) {
		u64 d;

		snprintf(name, sizeof(name), "d%u", i);
		CHECK_EQ(ct_mkdir(fs, ROOT, name, &d), 0);
	}
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	/* what the directories left, to a again (partial blocks) */
	ct_fill(model, 8 * CT_BS, 32, 0);
	CHECK_EQ(tw_write(fs, a, 0, model, 8 * CT_BS - 1), 8 * CT_BS - 1);
	check_file(fs, a, model, 8 * CT_BS - 1, "a again");
	fs = ct_remount(fs);
	check_file(fs, a, model, 8 * CT_BS - 1, "a again, remounted");
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(buf);
	free(model);
}

/* Holes read as zeros between mapped runs, at every level of the map. */
static void test_core_holes(void)
{
	struct tw_dev *dev = ct_ram_mkfs(2048, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	const size_t len = 1100 * CT_BS;
	u8 *model = calloc(1, len), *buf = xmalloc(len);
	static const u32 at[][2] = { { 0, 1 },	  { 5, 3 },   { 11, 3 },
				     { 300, 20 }, { 530, 1 }, { 1090, 9 } };
	u64 ino;
	size_t i;

	REQUIRE(model);
	REQUIRE_EQ(ct_create(fs, ROOT, "h", 0644, &ino), 0);
	for (i = 0; i < CT_ARRAY_SIZE(at); i++) {
		size_t off = (size_t)at[i][0] * CT_BS, n = at[i][1] * CT_BS;

		ct_fill(model + off, n, 40, off);
		CHECK_EQ(tw_write(fs, ino, off, model + off, n), (ssize_t)n);
	}
	CHECK_EQ(tw_write(fs, ino, len - 1, model + len - 1, 1), 1);
	check_file(fs, ino, model, len, "sparse");
	/* a read that starts and ends inside blocks, across holes */
	CHECK_EQ(tw_read(fs, ino, 4 * CT_BS + 17, buf, 400 * CT_BS),
		 400 * CT_BS);
	CHECK_EQ(memcmp(buf, model + 4 * CT_BS + 17, 400 * CT_BS), 0);
	fs = ct_remount(fs);
	check_file(fs, ino, model, len, "sparse, remounted");
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(model);
	free(buf);
}

/* ---- tw_read_runs() and tw_dev_sync_data() ---- */

struct runs_seen {
	struct tw_dev *dev;
	u8 *out; /* the bytes the runs point at, gathered */
	u64 total;
	u32 n;
	int calls;
};

static ssize_t gather_runs(void *ctx, const struct tw_data_run *runs, u32 n,
			   u64 total)
{
	struct runs_seen *rs = ctx;
	u64 at = 0;
	u32 i;

	rs->calls++;
	rs->n = n;
	rs->total = total;
	for (i = 0; i < n; i++) {
		if (runs[i].dev_off == TW_RUN_HOLE)
			memset(rs->out + at, 0, runs[i].len);
		else /* the device itself: what a splice would read */
			memcpy(rs->out + at,
			       ct_ram_of(rs->dev) + runs[i].dev_off,
			       runs[i].len);
		at += runs[i].len;
	}
	CHECK_EQ(at, total);
	return (ssize_t)total;
}

static void test_env_sync_data(void)
{
	struct tw_dev *dev = tw_udev_ram(64);
	struct tw_buf *b;

	REQUIRE(dev);
	REQUIRE_EQ(tw_buf_get(dev, 10, &b), 0);
	ct_fill(tw_buf_data(b), CT_BS, 8, 10 * CT_BS);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	REQUIRE_EQ(tw_buf_get(dev, 30, &b), 0); /* outside the range */
	ct_fill(tw_buf_data(b), CT_BS, 8, 30 * CT_BS);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	CHECK_EQ(tw_dev_sync_data(dev, 5, 10), 0);
	CHECK_EQ(check_blocks(ct_ram_of(dev) + 10 * CT_BS, 1, 8, 10), -1);
	CHECK_EQ(ct_check_zero(ct_ram_of(dev) + 30 * CT_BS, CT_BS), -1);
	CHECK_EQ(stats(dev).dirty, 1);
	CHECK_EQ(tw_dev_sync_data(dev, 0, 0), 0);
	ct_log_capture(true);
	CHECK_EQ(tw_dev_sync_data(dev, 60, 5), -EIO);
	ct_log_release();
	ct_close(dev);
}

/*
 * The runs of a file with holes, an indirect block between its direct
 * and indirect data, and blocks a partial write left dirty in the cache:
 * the device ranges they name hold the file's bytes (dirty buffers
 * written first), holes are zeros, the end of the file clamps them, and a
 * read that needs more runs than given is refused whole.
 */
static void test_core_read_runs(void)
{
	struct tw_dev *dev = ct_ram_mkfs(2048, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	const size_t len = 40 * CT_BS + 100;
	u8 *model = calloc(1, len), *out = calloc(1, len + CT_BS);
	struct runs_seen rs = { .dev = dev, .out = out };
	struct tw_data_run runs[16];
	u64 ino;

	REQUIRE(model && out);
	REQUIRE_EQ(ct_create(fs, ROOT, "runs", 0644, &ino), 0);
	ct_fill(model, 20 * CT_BS, 50, 0);
	ct_fill(model + 30 * CT_BS, 10 * CT_BS + 100, 50, 30 * CT_BS);
	CHECK_EQ(tw_write(fs, ino, 0, model, 20 * CT_BS), 20 * CT_BS);
	CHECK_EQ(tw_write(fs, ino, 30 * CT_BS, model + 30 * CT_BS,
			  10 * CT_BS + 100),
		 10 * CT_BS + 100);
	/* partial writes: dirty buffers newer than the device */
	ct_fill(model + 5 * CT_BS + 10, 50, 51, 0);
	CHECK_EQ(tw_write(fs, ino, 5 * CT_BS + 10, model + 5 * CT_BS + 10, 50),
		 50);
	ct_fill(model + 33 * CT_BS + 4000, 200, 51, 7);
	CHECK_EQ(tw_write(fs, ino, 33 * CT_BS + 4000, model + 33 * CT_BS + 4000,
			  200),
		 200);
	CHECK(stats(dev).dirty > 0);

	/* all of it, asked for more than there is */
	CHECK_EQ(tw_read_runs(fs, ino, 0, len + 5000, runs, 16, gather_runs,
			      &rs),
		 (ssize_t)len);
	CHECK_EQ(rs.calls, 1);
	CHECK_EQ(rs.total, len);
	CHECK(rs.n >= 3); /* data, the indirect block's gap or hole, ... */
	CHECK_EQ(memcmp(out, model, len), 0);
	/* from inside a block to inside another */
	memset(out, 0xa5, len);
	CHECK_EQ(tw_read_runs(fs, ino, 3 * CT_BS + 77, 31 * CT_BS, runs, 16,
			      gather_runs, &rs),
		 31 * CT_BS);
	CHECK_EQ(memcmp(out, model + 3 * CT_BS + 77, 31 * CT_BS), 0);
	/* past the end: nothing, but the callback answers */
	CHECK_EQ(
		tw_read_runs(fs, ino, len + 1, 100, runs, 16, gather_runs, &rs),
		0);
	CHECK_EQ(rs.n, 0);
	/* too few runs: refused before the callback */
	rs.calls = 0;
	CHECK_EQ(tw_read_runs(fs, ino, 0, len, runs, 1, gather_runs, &rs),
		 -E2BIG);
	CHECK_EQ(rs.calls, 0);
	CHECK_EQ(tw_read_runs(fs, ROOT, 0, 10, runs, 16, gather_runs, &rs),
		 -EISDIR);
	CHECK_EQ(rs.calls, 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(model);
	free(out);
}

/* ---- concurrent readers and writers ---- */

#define CW_REGIONS 4
#define CW_BLOCKS 48 /* per region */
#define CW_ROUNDS 150

static struct tw_fs *cw_fs;
static u64 cw_ino;
static int cw_gen[CW_REGIONS]; /* generations written so far (atomic) */
static int cw_stop;

static u64 cw_seed(int region, int gen)
{
	return 1000u * (u64)region + (u64)gen;
}

/* Writer @region: whole generations of its region, in runs of 1..48
 * blocks (every block of a run has the generation). */
static void *cw_writer(void *arg)
{
	int region = (int)(long)arg, gen;
	u8 *buf = xmalloc(CW_BLOCKS * CT_BS);
	u64 base = (u64)region * CW_BLOCKS * CT_BS;
	struct ct_rng rng;

	ct_rng_seed(&rng, 50 + region);
	for (gen = 1; gen <= CW_ROUNDS; gen++) {
		u32 b = 0;

		while (b < CW_BLOCKS) {
			u32 n = 1 + (u32)ct_below(&rng, CW_BLOCKS - b);
			u64 off = base + (u64)b * CT_BS;

			ct_fill(buf, (size_t)n * CT_BS, cw_seed(region, gen),
				off);
			CHECK_EQ(tw_write(cw_fs, cw_ino, off, buf,
					  (size_t)n * CT_BS),
				 (ssize_t)n * CT_BS);
			b += n;
		}
		__atomic_store_n(&cw_gen[region], gen, __ATOMIC_RELEASE);
		if (ct_below(&rng, 20) == 0)
			CHECK_EQ(tw_sync(cw_fs), 0);
	}
	free(buf);
	return NULL;
}

/* Reader: random ranges; every block must be one generation of its
 * region, no older than what was complete when the read began. */
static void *cw_reader(void *arg)
{
	const size_t total = (size_t)CW_REGIONS * CW_BLOCKS * CT_BS;
	u8 *buf = xmalloc(total);
	struct ct_rng rng;
	long reads = 0;

	ct_rng_seed(&rng, 70 + (long)arg);
	while (!__atomic_load_n(&cw_stop, __ATOMIC_ACQUIRE) || reads < 10) {
		u64 first = ct_below(&rng, CW_REGIONS * CW_BLOCKS);
		u64 n = 1 + ct_below(&rng, CW_REGIONS * CW_BLOCKS - first);
		int floor[CW_REGIONS], r;
		ssize_t got;
		u64 i;

		for (r = 0; r < CW_REGIONS; r++)
			floor[r] =
				__atomic_load_n(&cw_gen[r], __ATOMIC_ACQUIRE);
		got = tw_read(cw_fs, cw_ino, first * CT_BS, buf, n * CT_BS);
		CHECK_EQ(got, (ssize_t)(n * CT_BS));
		for (i = 0; i < n && got == (ssize_t)(n * CT_BS); i++) {
			u64 blk = first + i;
			int region = (int)(blk / CW_BLOCKS), g;
			const u8 *p = buf + i * CT_BS;

			for (g = floor[region]; g <= CW_ROUNDS; g++)
				if (ct_check_pat(p, CT_BS, cw_seed(region, g),
						 blk * CT_BS) < 0)
					break;
			if (g > CW_ROUNDS) {
				fprintf(stderr,
					"block %llu: no generation >= %d\n",
					(unsigned long long)blk, floor[region]);
				CHECK(0);
				break;
			}
		}
		reads++;
	}
	free(buf);
	return NULL;
}

static void test_core_concurrent(void)
{
	struct tw_dev *dev = ct_ram_mkfs(4096, 0, 0);
	const size_t total = (size_t)CW_REGIONS * CW_BLOCKS * CT_BS;
	pthread_t w[CW_REGIONS], r[3];
	u8 *buf = xmalloc(total);
	int i;

	cw_fs = ct_mount(dev);
	/* a small cache: eviction and writeback run during the test */
	tw_udev_set_cache_limit(dev, 64 * CT_BS);
	REQUIRE_EQ(ct_create(cw_fs, ROOT, "c", 0644, &cw_ino), 0);
	for (i = 0; i < CW_REGIONS; i++) {
		u64 off = (u64)i * CW_BLOCKS * CT_BS;

		/* generation 0, partly through partial writes (cached) */
		ct_fill(buf, CW_BLOCKS * CT_BS, cw_seed(i, 0), off);
		CHECK_EQ(tw_write(cw_fs, cw_ino, off, buf, 3000), 3000);
		CHECK_EQ(tw_write(cw_fs, cw_ino, off + 3000, buf + 3000,
				  CW_BLOCKS * CT_BS - 3000),
			 CW_BLOCKS * CT_BS - 3000);
	}
	for (i = 0; i < 3; i++)
		REQUIRE(!pthread_create(&r[i], NULL, cw_reader,
					(void *)(long)i));
	for (i = 0; i < CW_REGIONS; i++)
		REQUIRE(!pthread_create(&w[i], NULL, cw_writer,
					(void *)(long)i));
	for (i = 0; i < CW_REGIONS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&cw_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	cw_fs = ct_remount(cw_fs);
	CHECK_EQ(tw_read(cw_fs, cw_ino, 0, buf, total), (ssize_t)total);
	for (i = 0; i < CW_REGIONS; i++) {
		u64 off = (u64)i * CW_BLOCKS * CT_BS;

		CHECK_EQ(ct_check_pat(buf + off, CW_BLOCKS * CT_BS,
				      cw_seed(i, CW_ROUNDS), off),
			 -1);
	}
	CHECK_EQ(tw_unmount(cw_fs), 0);
	ct_close(dev);
	free(buf);
}

/* ---- ordered mode, on every prefix of a recorded write ---- */

#define OM_BLOCKS 1024
#define OM_FILE 300 /* blocks */

struct om_rec {
	u64 blk; /* ~0: a flush */
	u8 *data;
};

/*
 * Mount a copy of @base with the first @n records of @recs applied (those
 * for which @keep is NULL or true) and check that "new", if it has any
 * size, holds exactly its data.  Return: 1 if it had data, 0 if not, -1
 * if it showed anything else.
 */
static int om_check_state(const u8 *base, const struct om_rec *recs, u32 n,
			  const bool *keep, u8 *buf)
{
	struct tw_dev *dev = ct_dev_from_image(base, OM_BLOCKS);
	struct tw_fs *fs = NULL;
	struct tw_attr a;
	int ret = 0;
	u32 i;

	for (i = 0; i < n; i++)
		if (recs[i].data && (!keep || keep[i]))
			memcpy(ct_ram_of(dev) + recs[i].blk * CT_BS,
			       recs[i].data, CT_BS);
	REQUIRE_EQ(tw_mount(dev, OM_BLOCKS, NULL, &fs), 0);
	if (!ct_lookup(fs, ROOT, "new", &a) && a.size) {
		ssize_t got = tw_read(fs, a.ino, 0, buf, a.size);

		ret = got == (ssize_t)a.size &&
				      ct_check_pat(buf, a.size, 61, 0) < 0 ?
			      1 :
			      -1;
	}
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	return ret;
}

static void test_core_ordered(void)
{
	struct tw_dev *dev = ct_ram_mkfs(OM_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 *buf = xmalloc(OM_FILE * CT_BS), *base;
	u64 ino, old[OM_FILE], cur[OM_FILE];
	struct om_rec *recs = NULL;
	struct tw_wlog_reader *r;
	struct tw_backend *ram;
	struct tw_wlog_rec rec;
	struct tw_wlog *log;
	u32 nrec = 0, i, j, with = 0, bad = 0;
	bool *keep;
	int err;

	/* the free blocks hold an old file's data (seed 60) */
	REQUIRE_EQ(ct_create(fs, ROOT, "old", 0644, &ino), 0);
	ct_fill(buf, OM_FILE * CT_BS, 60, 0);
	CHECK_EQ(tw_write(fs, ino, 0, buf, OM_FILE * CT_BS), OM_FILE * CT_BS);
	CHECK_EQ(tw_sync(fs), 0);
	map_of(fs, ino, OM_FILE, old);
	CHECK_EQ(ct_unlink(fs, ROOT, "old"), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	base = xmalloc((size_t)OM_BLOCKS * CT_BS);
	memcpy(base, ct_ram_of(dev), (size_t)OM_BLOCKS * CT_BS);
	ct_close(dev);

	/* record a new file written over them, in whole blocks, fsync'd */
	log = tw_wlog_new_mem();
	REQUIRE(log);
	ram = tw_backend_ram(OM_BLOCKS);
	REQUIRE(ram);
	memcpy(tw_backend_ram_data(ram), base, (size_t)OM_BLOCKS * CT_BS);
	dev = tw_udev_from_backend(tw_backend_recorder(ram, log));
	REQUIRE(dev);
	fs = ct_mount(dev);
	REQUIRE_EQ(ct_create(fs, ROOT, "new", 0644, &ino), 0);
	ct_fill(buf, OM_FILE * CT_BS, 61, 0);
	CHECK_EQ(tw_write(fs, ino, 0, buf, 100 * CT_BS), 100 * CT_BS);
	CHECK_EQ(tw_write(fs, ino, 100 * CT_BS, buf + 100 * CT_BS, 200 * CT_BS),
		 200 * CT_BS);
	CHECK_EQ(tw_fsync(fs, ino, false), 0);
	map_of(fs, ino, OM_FILE, cur);
	CHECK(overlap(old, OM_FILE, cur, OM_FILE));
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	while (tw_wlog_next(r, &rec) == 1) {
		recs = realloc(recs, (nrec + 1) * sizeof(*recs));
		REQUIRE(recs);
		recs[nrec].blk = rec.type == TW_WLOG_WRITE ? rec.blk : ~0ull;
		recs[nrec].data = NULL;
		if (rec.type == TW_WLOG_WRITE) {
			recs[nrec].data = xmalloc(CT_BS);
			memcpy(recs[nrec].data, rec.data, CT_BS);
		}
		nrec++;
	}
	tw_wlog_reader_close(r);
	REQUIRE(nrec > OM_FILE);

	/* every prefix: "new" is absent, empty or exactly its data */
	ct_log_capture(true);
	for (i = 0; i <= nrec; i++) {
		int v = om_check_state(base, recs, i, NULL, buf);

		with += v == 1;
		if (v < 0) {
			if (!bad)
				fprintf(stderr,
					"prefix of %u records: \"new\" shows other data\n",
					i);
			bad++;
		}
	}
	ct_log_release();
	CHECK_EQ(bad, 0);
	CHECK(with > 0);
	fprintf(stderr, "%u records, %u prefixes show the file's data\n", nrec,
		with);
	/* the control: the whole log without the writes of the file's data
	 * blocks shows the old file's bytes: the check can fail */
	keep = calloc(nrec, sizeof(*keep));
	REQUIRE(keep);
	for (i = 0; i < nrec; i++) {
		keep[i] = true;
		for (j = 0; j < OM_FILE && recs[i].data; j++)
			if (recs[i].blk == cur[j])
				keep[i] = false;
	}
	CHECK_EQ(om_check_state(base, recs, nrec, keep, buf), -1);
	free(keep);
	for (i = 0; i < nrec; i++)
		free(recs[i].data);
	free(recs);
	CHECK_EQ(tw_wlog_free(log), 0);
	free(base);
	free(buf);
}

int main(void)
{
	RUN(test_env_runs);
	RUN(test_env_read_dirty);
	RUN(test_env_write_over_cached);
	RUN(test_env_write_fault);
	RUN(test_env_recorded);
	RUN(test_env_sync_data);
	RUN(test_core_random);
	RUN(test_core_partial_then_whole);
	RUN(test_core_reuse);
	RUN(test_core_holes);
	RUN(test_core_read_runs);
	RUN(test_core_concurrent);
	RUN(test_core_ordered);
	return ct_done();
}
