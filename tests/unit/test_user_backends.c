// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_backends.c - the file and RAM backends: a round trip through a
 * temporary file (written, closed, reopened read-only, checked with plain
 * pread), the size rules, coalesced writes, open errors, and a backend
 * defined outside user/ through the public ops table.
 *
 * Layer: tests.  Calls the environment contract (tw_env.h), tw_user.h and
 * the C library.
 */
#include "tw_utest.h"

#include <fcntl.h>

#define BS TW_UDEV_BLOCK_SIZE

static int nr_msgs;

static void count_msgs(void *ctx, struct tw_dev *dev, int level,
		       const char *msg)
{
	nr_msgs++;
}

static void make_file(const char *path, off_t size)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	REQUIRE(fd >= 0);
	REQUIRE(!ftruncate(fd, size));
	close(fd);
}

static void test_file_round_trip(void)
{
	const char *path = utest_tmpfile("file");
	struct tw_udev_stats st;
	struct tw_dev *dev;
	struct tw_buf *b;
	u8 block[BS];
	int err, fd, i;

	/* 256 whole blocks and a partial one, which is ignored. */
	make_file(path, 256 * BS + 100);
	dev = tw_udev_open(path, 0, &err);
	REQUIRE(dev);
	CHECK_EQ(err, 0);
	CHECK_EQ(tw_udev_blocks(dev), 256);
	CHECK(!strcmp(tw_udev_name(dev), path));

	for (i = 0; i < 256; i += 3) {
		CHECK_EQ(tw_buf_get(dev, i, &b), 0);
		utest_fill(tw_buf_data(b), 9000 + i);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
	}
	CHECK_EQ(tw_buf_read(dev, 1, &b), 0);
	utest_fill(tw_buf_data(b), 9001);
	CHECK_EQ(tw_buf_write(b), 0);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(dev, 256, &b), -EIO);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.reads, 1);
	CHECK_EQ(tw_udev_close(dev), 0); /* writes back and flushes */

	/* The bytes are in the file, and nothing beyond the device. */
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	for (i = 0; i < 256; i++) {
		CHECK_EQ(pread(fd, block, BS, (off_t)i * BS), BS);
		if (i % 3 == 0 || i == 1)
			CHECK(utest_is_fill(block, 9000 + i));
		else
			CHECK(!block[0] && !memcmp(block, block + 1, BS - 1));
	}
	CHECK_EQ(lseek(fd, 0, SEEK_END), 256 * BS + 100);
	close(fd);

	/* Read-only: reads work, writes fail with -EIO and change nothing. */
	dev = tw_udev_open(path, TW_UDEV_RDONLY, &err);
	REQUIRE(dev);
	for (i = 0; i < 256; i += 3) {
		CHECK_EQ(tw_buf_read(dev, i, &b), 0);
		CHECK(utest_is_fill(tw_buf_data(b), 9000 + i));
		tw_buf_release(b);
	}
	tw_log_set_hook(count_msgs, NULL);
	CHECK_EQ(tw_buf_read(dev, 0, &b), 0);
	utest_fill(tw_buf_data(b), 1);
	CHECK_EQ(tw_buf_write(b), -EIO);
	tw_buf_release(b);
	CHECK_EQ(tw_udev_close(dev), -EIO); /* the dirty block is lost */
	tw_log_set_hook(NULL, NULL);
	CHECK(nr_msgs >= 2);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	CHECK_EQ(pread(fd, block, BS, 0), BS);
	CHECK(utest_is_fill(block, 9000));
	close(fd);
}

static void test_file_coalesce(void)
{
	const char *path = utest_tmpfile("coal");
	struct tw_udev_stats st;
	struct tw_dev *dev;
	struct tw_buf *b;
	u8 block[BS];
	int err, fd, i;

	make_file(path, 600 * BS);
	dev = tw_udev_open(path, TW_UDEV_EXCL, &err); /* EXCL: no-op here */
	REQUIRE(dev);
	for (i = 10; i < 310; i++) {
		CHECK_EQ(tw_buf_get(dev, i, &b), 0);
		utest_fill(tw_buf_data(b), i);
		tw_buf_mark_dirty(b);
		tw_buf_release(b);
	}
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK_EQ(tw_dev_flush(dev), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.write_blocks, 300);
	CHECK_EQ(st.writes, 2); /* 256 + 44 */
	CHECK_EQ(st.flushes, 1);
	CHECK_EQ(tw_udev_close(dev), 0);

	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	for (i = 10; i < 310; i++) {
		CHECK_EQ(pread(fd, block, BS, (off_t)i * BS), BS);
		CHECK(utest_is_fill(block, i));
	}
	close(fd);
}

static void test_file_errors(void)
{
	const char *path = utest_tmpfile("err");
	char missing[300];
	int err = 0;

	snprintf(missing, sizeof(missing), "%s.missing", path);
	CHECK(tw_udev_open(missing, 0, &err) == NULL);
	CHECK_EQ(err, -ENOENT);
	CHECK(tw_udev_open("/dev/null", TW_UDEV_RDONLY, &err) == NULL);
	CHECK_EQ(err, -ENODEV);
	CHECK(tw_udev_open(path, 0x80, &err) == NULL);
	CHECK_EQ(err, -EINVAL);
	CHECK(tw_backend_file(missing, 0, NULL) == NULL);

	/* An empty file is a device of zero blocks: every access fails. */
	{
		struct tw_dev *dev = tw_udev_open(path, 0, &err);
		struct tw_buf *b;

		REQUIRE(dev);
		CHECK_EQ(tw_udev_blocks(dev), 0);
		tw_log_set_hook(count_msgs, NULL);
		CHECK_EQ(tw_buf_read(dev, 0, &b), -EIO);
		tw_log_set_hook(NULL, NULL);
		CHECK_EQ(tw_udev_close(dev), 0);
	}
}

static void test_ram(void)
{
	struct tw_dev *dev = tw_udev_ram(4);
	struct tw_backend *be;
	struct tw_udev_stats st;
	struct tw_buf *b;
	u8 *disk;

	REQUIRE(dev);
	be = tw_udev_backend(dev);
	CHECK(!strcmp(be->name, "ram"));
	CHECK_EQ(be->blocks, 4);
	disk = tw_backend_ram_data(be);
	CHECK(disk[0] == 0 && !memcmp(disk, disk + 1, 4 * BS - 1));
	CHECK_EQ(tw_buf_get(dev, 3, &b), 0);
	utest_fill(tw_buf_data(b), 3);
	CHECK_EQ(tw_buf_write(b), 0);
	tw_buf_release(b);
	CHECK(utest_is_fill(disk + 3 * BS, 3));
	CHECK_EQ(tw_dev_flush(dev), 0);
	tw_udev_get_stats(dev, &st);
	CHECK_EQ(st.flushes, 1);
	/* Backend calls outside the range fail. */
	CHECK_EQ(be->ops->read(be, 4, 1, disk), -EIO);
	CHECK_EQ(be->ops->read(be, 3, 2, disk), -EIO);
	CHECK_EQ(be->ops->read(be, 0, 0, disk), -EIO);
	CHECK_EQ(tw_udev_close(dev), 0);

	CHECK(tw_udev_ram(0) == NULL);
	CHECK(tw_backend_ram(~0ull) == NULL);
}

/* A backend of the test's own: a device whose block i reads as i. */
struct const_backend {
	struct tw_backend be;
	u64 writes;
};

static int const_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	u32 i;

	for (i = 0; i < n; i++)
		memset((u8 *)buf + (size_t)i * BS, (int)(blk + i), BS);
	return 0;
}

static int const_write(struct tw_backend *be, u64 blk, u32 n,
		       const void *const *bufs)
{
	((struct const_backend *)be)->writes += n;
	return 0;
}

static int const_flush(struct tw_backend *be)
{
	return 0;
}

static void const_destroy(struct tw_backend *be)
{
	free(be);
}

static const struct tw_backend_ops const_ops = {
	.read = const_read,
	.write = const_write,
	.flush = const_flush,
	.destroy = const_destroy,
};

static void test_custom_backend(void)
{
	struct const_backend *cbe = calloc(1, sizeof(*cbe));
	struct tw_dev *dev;
	struct tw_buf *b;
	u8 *p;

	REQUIRE(cbe);
	cbe->be.ops = &const_ops;
	cbe->be.blocks = 100;
	strcpy(cbe->be.name, "const");
	dev = tw_udev_from_backend(&cbe->be);
	REQUIRE(dev);
	CHECK_EQ(tw_buf_read(dev, 42, &b), 0);
	p = tw_buf_data(b);
	CHECK(p[0] == 42 && p[BS - 1] == 42);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	CHECK_EQ(tw_dev_writeback(dev), 0);
	CHECK_EQ(cbe->writes, 1);
	CHECK_EQ(tw_udev_close(dev), 0);
}

int main(void)
{
	RUN(test_file_round_trip);
	RUN(test_file_coalesce);
	RUN(test_file_errors);
	RUN(test_ram);
	RUN(test_custom_backend);
	return utest_done();
}
