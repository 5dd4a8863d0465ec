// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_record.c - the write-recording backend: writes and flushes are
 * logged in order (in memory and in a file), the reader returns them and
 * rejects damaged logs, a fault wrapper outside the recorder cuts a run at
 * the right block, and replaying the log rebuilds the device.
 *
 * Layer: tests.  Calls the environment contract (tw_env.h), tw_user.h and
 * the C library.
 */
#include "tw_utest.h"

#include <fcntl.h>
#include <sys/stat.h>

#define BS TW_UDEV_BLOCK_SIZE

struct expect {
	u32 type;
	u64 blk;
	u64 seed;
};

static void dirty_block(struct tw_dev *dev, u64 blk, u64 seed)
{
	struct tw_buf *b;

	REQUIRE(tw_buf_get(dev, blk, &b) == 0);
	utest_fill(tw_buf_data(b), seed);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
}

/* The same I/O sequence for both kinds of log. */
static void do_io(struct tw_dev *dev)
{
	struct tw_buf *b;

	dirty_block(dev, 5, 105);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK_EQ(tw_dev_flush(dev), 0);
	dirty_block(dev, 9, 109);
	dirty_block(dev, 8, 108);
	dirty_block(dev, 2, 102);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	REQUIRE(tw_buf_read(dev, 5, &b) == 0);
	utest_fill(tw_buf_data(b), 205);
	CHECK_EQ(tw_buf_write(b), 0);
	tw_buf_release(b);
	dirty_block(dev, 1, 101);
	/* close: writeback of block 1, then a flush */
}

static const struct expect expected[] = {
	{ TW_WLOG_WRITE, 5, 105 }, { TW_WLOG_FLUSH, 0, 0 },
	{ TW_WLOG_WRITE, 2, 102 }, { TW_WLOG_WRITE, 8, 108 },
	{ TW_WLOG_WRITE, 9, 109 }, { TW_WLOG_WRITE, 5, 205 },
	{ TW_WLOG_WRITE, 1, 101 }, { TW_WLOG_FLUSH, 0, 0 },
};

static void check_log(struct tw_wlog_reader *r)
{
	struct tw_wlog_rec rec;
	size_t i;

	CHECK_EQ(tw_wlog_reader_blocks(r), 16);
	for (i = 0; i < ARRAY_SIZE(expected); i++) {
		REQUIRE(tw_wlog_next(r, &rec) == 1);
		CHECK_EQ(rec.seq, i);
		CHECK_EQ(rec.type, expected[i].type);
		CHECK_EQ(rec.blk, expected[i].blk);
		if (rec.type == TW_WLOG_WRITE)
			CHECK(utest_is_fill(rec.data, expected[i].seed));
		else
			CHECK(rec.data == NULL);
	}
	CHECK_EQ(tw_wlog_next(r, &rec), 0);
	CHECK_EQ(tw_wlog_next(r, &rec), 0);
}

static void test_mem_log(void)
{
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_wlog_reader *r;
	struct tw_dev *dev;
	u64 writes, flushes;
	int err;

	REQUIRE(log);
	/* No header before a recorder is attached. */
	CHECK(tw_wlog_reader_mem(log, &err) == NULL);
	CHECK_EQ(err, -EUCLEAN);
	dev = tw_udev_from_backend(tw_backend_recorder(tw_backend_ram(16),
						       log));
	REQUIRE(dev);
	CHECK(!strcmp(tw_udev_name(dev), "record(ram)"));
	/* A log takes one recorder only (and the refused inner is freed). */
	CHECK(tw_backend_recorder(tw_backend_ram(4), log) == NULL);

	do_io(dev);
	/* A reader sees what is there so far, and later appends too. */
	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	CHECK_EQ(tw_udev_close(dev), 0);
	check_log(r);
	tw_wlog_reader_close(r);

	tw_wlog_counts(log, &writes, &flushes);
	CHECK_EQ(writes, 6);
	CHECK_EQ(flushes, 2);
	CHECK_EQ(tw_wlog_free(log), 0);
}

static void test_file_log(void)
{
	const char *path = utest_tmpfile("wlog");
	struct tw_wlog_reader *r;
	struct tw_wlog *log;
	struct tw_dev *dev;
	int err;

	log = tw_wlog_create(path, &err);
	REQUIRE(log);
	CHECK_EQ(err, 0);
	dev = tw_udev_from_backend(tw_backend_recorder(tw_backend_ram(16),
						       log));
	REQUIRE(dev);
	do_io(dev);
	CHECK_EQ(tw_udev_close(dev), 0);

	/* Through the log object and through the file alone. */
	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	check_log(r);
	tw_wlog_reader_close(r);
	CHECK_EQ(tw_wlog_free(log), 0);

	r = tw_wlog_reader_open(path, &err);
	REQUIRE(r);
	CHECK_EQ(err, 0);
	check_log(r);
	tw_wlog_reader_close(r);
}

static void test_bad_logs(void)
{
	const char *path = utest_tmpfile("badlog");
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_wlog *log;
	struct tw_dev *dev;
	struct stat st;
	u8 bytes[64];
	int err, fd;

	CHECK(tw_wlog_reader_open("/nonexistent/twinfs.wlog", &err) == NULL);
	CHECK_EQ(err, -ENOENT);
	/* Not a log at all. */
	fd = open(path, O_WRONLY | O_TRUNC);
	REQUIRE(fd >= 0);
	memset(bytes, 'x', sizeof(bytes));
	REQUIRE(write(fd, bytes, sizeof(bytes)) == sizeof(bytes));
	close(fd);
	CHECK(tw_wlog_reader_open(path, &err) == NULL);
	CHECK_EQ(err, -EUCLEAN);

	/* A log whose last record is cut short. */
	log = tw_wlog_create(path, &err);
	REQUIRE(log);
	dev = tw_udev_from_backend(tw_backend_recorder(tw_backend_ram(16),
						       log));
	REQUIRE(dev);
	dirty_block(dev, 3, 3);
	dirty_block(dev, 4, 4);
	CHECK_EQ(tw_udev_close(dev), 0);
	CHECK_EQ(tw_wlog_free(log), 0);
	REQUIRE(!stat(path, &st));
	CHECK_EQ(st.st_size, 32 + 2 * (16 + BS) + 16);
	REQUIRE(!truncate(path, 32 + 16 + BS + 16 + 100));
	r = tw_wlog_reader_open(path, &err);
	REQUIRE(r);
	CHECK_EQ(tw_wlog_next(r, &rec), 1);
	CHECK_EQ(rec.blk, 3);
	CHECK_EQ(tw_wlog_next(r, &rec), -EUCLEAN);
	tw_wlog_reader_close(r);

	/* An unknown record type. */
	fd = open(path, O_WRONLY);
	REQUIRE(fd >= 0);
	bytes[0] = 7;
	REQUIRE(pwrite(fd, bytes, 1, 32) == 1);
	close(fd);
	r = tw_wlog_reader_open(path, &err);
	REQUIRE(r);
	CHECK_EQ(tw_wlog_next(r, &rec), -EUCLEAN);
	tw_wlog_reader_close(r);

	CHECK(tw_wlog_create("/nonexistent/dir/log", &err) == NULL);
	CHECK_EQ(err, -ENOENT);
}

static void quiet(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
}

static void test_fault_outside_recorder(void)
{
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_backend *fbe, *ram = tw_backend_ram(64);
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_dev *dev;
	u8 *disk;
	int err, i;

	REQUIRE(log && ram);
	disk = tw_backend_ram_data(ram);
	fbe = tw_backend_fault(tw_backend_recorder(ram, log));
	dev = tw_udev_from_backend(fbe);
	REQUIRE(dev);
	for (i = 0; i < 4; i++)
		dirty_block(dev, 20 + i, 20 + i);
	/* The device dies after two of the four blocks of one run. */
	tw_fault_be_die_after(fbe, 2);
	tw_log_set_hook(quiet, NULL);
	CHECK_EQ(tw_dev_writeback(dev), -EIO);
	CHECK_EQ(tw_dev_flush(dev), -EIO);
	tw_log_set_hook(NULL, NULL);
	CHECK(tw_fault_be_dead(fbe));

	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(tw_wlog_next(r, &rec), 1);
		CHECK_EQ(rec.type, TW_WLOG_WRITE);
		CHECK_EQ(rec.blk, 20 + i);
	}
	CHECK_EQ(tw_wlog_next(r, &rec), 0);
	CHECK(utest_is_fill(disk + 21 * BS, 21));
	CHECK(!utest_is_fill(disk + 22 * BS, 22));

	/* Revived, the rest goes out; the log continues. */
	tw_fault_be_reset(fbe);
	CHECK_EQ(tw_udev_close(dev), 0);
	for (i = 0; i < 4; i++) {
		CHECK_EQ(tw_wlog_next(r, &rec), 1);
		CHECK_EQ(rec.blk, 20 + i);
	}
	CHECK_EQ(tw_wlog_next(r, &rec), 1);
	CHECK_EQ(rec.type, TW_WLOG_FLUSH);
	CHECK_EQ(tw_wlog_next(r, &rec), 0);
	tw_wlog_reader_close(r);
	CHECK_EQ(tw_wlog_free(log), 0);
}

/* Replaying every write of a log onto a zeroed device rebuilds it. */
static void test_replay(void)
{
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_backend *ram = tw_backend_ram(32);
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_dev *dev, *copy;
	unsigned int rnd = 7;
	struct tw_buf *b;
	u8 *orig, *disk;
	int err, i;

	REQUIRE(log && ram);
	orig = malloc(32 * BS);
	REQUIRE(orig);
	dev = tw_udev_from_backend(tw_backend_recorder(ram, log));
	REQUIRE(dev);
	tw_udev_set_cache_limit(dev, 4 * BS);
	for (i = 0; i < 200; i++) {
		dirty_block(dev, rand_r(&rnd) % 32, (u64)i);
		if (i % 37 == 0)
			CHECK_EQ(tw_dev_flush(dev), 0);
	}
	CHECK_EQ(tw_dev_writeback(dev), 0);
	memcpy(orig, tw_backend_ram_data(ram), 32 * BS);
	CHECK_EQ(tw_udev_close(dev), 0);

	copy = tw_udev_ram(32);
	REQUIRE(copy);
	r = tw_wlog_reader_mem(log, &err);
	REQUIRE(r);
	while ((err = tw_wlog_next(r, &rec)) == 1) {
		if (rec.type != TW_WLOG_WRITE)
			continue;
		REQUIRE(tw_buf_get(copy, rec.blk, &b) == 0);
		memcpy(tw_buf_data(b), rec.data, BS);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
	}
	CHECK_EQ(err, 0);
	tw_wlog_reader_close(r);
	CHECK_EQ(tw_dev_writeback(copy), 0);
	disk = tw_backend_ram_data(tw_udev_backend(copy));
	CHECK(!memcmp(disk, orig, 32 * BS));
	CHECK_EQ(tw_udev_close(copy), 0);
	CHECK_EQ(tw_wlog_free(log), 0);
	free(orig);
}

int main(void)
{
	RUN(test_mem_log);
	RUN(test_file_log);
	RUN(test_bad_logs);
	RUN(test_fault_outside_recorder);
	RUN(test_replay);
	return utest_done();
}
