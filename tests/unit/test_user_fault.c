// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_fault.c - fault injection: the fault-injecting backend (the Nth
 * read, write or flush fails; the device dies after N writes) and the
 * process-wide fault points behind tw_fault_point() (EIO, once, hang and
 * crash, the latter two in child processes).
 *
 * Layer: tests.  Calls the environment contract (tw_env.h), tw_user.h and
 * the C library.
 */
#include "tw_utest.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define BS TW_UDEV_BLOCK_SIZE

static int nr_msgs;

static void count_msgs(void *ctx, struct tw_dev *dev, int level,
		       const char *msg)
{
	__atomic_fetch_add(&nr_msgs, 1, __ATOMIC_RELAXED);
}

struct rig {
	struct tw_backend *ram, *fbe;
	struct tw_dev *dev;
	u8 *disk;
};

static void rig_open(struct rig *r, u64 blocks)
{
	r->ram = tw_backend_ram(blocks);
	REQUIRE(r->ram);
	r->disk = tw_backend_ram_data(r->ram);
	r->fbe = tw_backend_fault(r->ram);
	REQUIRE(r->fbe);
	r->dev = tw_udev_from_backend(r->fbe);
	REQUIRE(r->dev);
	CHECK(!strcmp(tw_udev_name(r->dev), "fault(ram)"));
	tw_log_set_hook(count_msgs, NULL);
	nr_msgs = 0;
}

static void rig_close(struct rig *r)
{
	tw_fault_be_reset(r->fbe);
	CHECK_EQ(tw_udev_close(r->dev), 0);
	tw_log_set_hook(NULL, NULL);
}

static int write_now(struct tw_dev *dev, u64 blk, u64 seed)
{
	struct tw_buf *b;
	int err;

	REQUIRE(tw_buf_get(dev, blk, &b) == 0);
	utest_fill(tw_buf_data(b), seed);
	err = tw_buf_write(b);
	tw_buf_release(b);
	return err;
}

static void dirty_block(struct tw_dev *dev, u64 blk, u64 seed)
{
	struct tw_buf *b;

	REQUIRE(tw_buf_get(dev, blk, &b) == 0);
	utest_fill(tw_buf_data(b), seed);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
}

static void test_fail_nth_write(void)
{
	struct tw_udev_stats st;
	struct rig r;
	int i;

	rig_open(&r, 16);
	tw_fault_be_fail_nth(r.fbe, TW_IO_WRITE, 3);
	for (i = 1; i <= 5; i++)
		CHECK_EQ(write_now(r.dev, i, i), i == 3 ? -EIO : 0);
	for (i = 1; i <= 5; i++)
		CHECK_EQ(utest_is_fill(r.disk + i * BS, i), i != 3);
	CHECK_EQ(tw_fault_be_failed(r.fbe), 1);
	CHECK_EQ(tw_fault_be_count(r.fbe, TW_IO_WRITE), 4);
	CHECK_EQ(nr_msgs, 1);
	/* The failed block stayed dirty; once only, so writeback works. */
	tw_udev_get_stats(r.dev, &st);
	CHECK_EQ(st.dirty, 1);
	CHECK_EQ(st.io_errors, 1);
	CHECK_EQ(tw_dev_writeback(r.dev), 0);
	CHECK(utest_is_fill(r.disk + 3 * BS, 3));

	/* The Nth block inside a coalesced run: blocks before it land. */
	for (i = 8; i < 12; i++)
		dirty_block(r.dev, i, 100 + i);
	tw_fault_be_fail_nth(r.fbe, TW_IO_WRITE, 3);
	CHECK_EQ(tw_dev_writeback(r.dev), -EIO);
	CHECK(utest_is_fill(r.disk + 8 * BS, 108));
	CHECK(utest_is_fill(r.disk + 9 * BS, 109));
	CHECK(!utest_is_fill(r.disk + 10 * BS, 110));
	CHECK(!utest_is_fill(r.disk + 11 * BS, 111));
	CHECK_EQ(tw_dev_writeback(r.dev), 0);
	for (i = 8; i < 12; i++)
		CHECK(utest_is_fill(r.disk + i * BS, 100 + i));

	/* n == 0 disarms. */
	tw_fault_be_fail_nth(r.fbe, TW_IO_WRITE, 1);
	tw_fault_be_fail_nth(r.fbe, TW_IO_WRITE, 0);
	CHECK_EQ(write_now(r.dev, 1, 1), 0);
	rig_close(&r);
}

static void test_fail_nth_read_flush(void)
{
	struct tw_buf *b;
	struct rig r;
	int i;

	rig_open(&r, 16);
	for (i = 0; i < 16; i++)
		utest_fill(r.disk + i * BS, i);
	tw_fault_be_fail_nth(r.fbe, TW_IO_READ, 2);
	CHECK_EQ(tw_buf_read(r.dev, 0, &b), 0);
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(r.dev, 0, &b), 0); /* a hit: no I/O */
	tw_buf_release(b);
	CHECK_EQ(tw_buf_read(r.dev, 1, &b), -EIO);
	CHECK_EQ(tw_buf_read(r.dev, 1, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 1));
	tw_buf_release(b);
	CHECK_EQ(tw_fault_be_count(r.fbe, TW_IO_READ), 2);

	tw_fault_be_fail_nth(r.fbe, TW_IO_FLUSH, 2);
	CHECK_EQ(tw_dev_flush(r.dev), 0);
	CHECK_EQ(tw_dev_flush(r.dev), -EIO);
	CHECK_EQ(tw_dev_flush(r.dev), 0);
	CHECK_EQ(tw_fault_be_count(r.fbe, TW_IO_FLUSH), 2);
	CHECK_EQ(tw_fault_be_failed(r.fbe), 2);
	rig_close(&r);
}

static void test_die_after(void)
{
	struct tw_buf *b;
	struct rig r;
	int i;

	rig_open(&r, 32);
	utest_fill(r.disk + 30 * BS, 30);
	tw_fault_be_die_after(r.fbe, 3);
	CHECK(!tw_fault_be_dead(r.fbe));
	for (i = 0; i < 2; i++)
		CHECK_EQ(write_now(r.dev, i, i), 0);
	CHECK(!tw_fault_be_dead(r.fbe));
	/* A run of four: one more block lands, then the device is gone. */
	for (i = 10; i < 14; i++)
		dirty_block(r.dev, i, i);
	CHECK_EQ(tw_dev_writeback(r.dev), -EIO);
	CHECK(tw_fault_be_dead(r.fbe));
	CHECK(utest_is_fill(r.disk + 10 * BS, 10));
	CHECK(!utest_is_fill(r.disk + 11 * BS, 11));
	/* Everything fails now. */
	CHECK_EQ(write_now(r.dev, 5, 5), -EIO);
	CHECK_EQ(tw_buf_read(r.dev, 30, &b), -EIO);
	CHECK_EQ(tw_dev_flush(r.dev), -EIO);
	CHECK_EQ(tw_dev_writeback(r.dev), -EIO);
	CHECK_EQ(tw_fault_be_count(r.fbe, TW_IO_WRITE), 3);

	/* Revived: the dirty data is still in the cache and goes out. */
	tw_fault_be_reset(r.fbe);
	CHECK(!tw_fault_be_dead(r.fbe));
	CHECK_EQ(tw_dev_writeback(r.dev), 0);
	for (i = 10; i < 14; i++)
		CHECK(utest_is_fill(r.disk + i * BS, i));
	CHECK(utest_is_fill(r.disk + 5 * BS, 5));
	CHECK_EQ(tw_buf_read(r.dev, 30, &b), 0);
	CHECK(utest_is_fill(tw_buf_data(b), 30));
	tw_buf_release(b);

	/* die_after(0) kills at once. */
	tw_fault_be_die_after(r.fbe, 0);
	CHECK(tw_fault_be_dead(r.fbe));
	CHECK_EQ(write_now(r.dev, 6, 6), -EIO);
	rig_close(&r);
}

/* ------------------------------------------------------------------------ */
/* Fault points                                                             */
/* ------------------------------------------------------------------------ */

static void test_points_eio(void)
{
	int i;

	tw_log_set_hook(count_msgs, NULL);
	nr_msgs = 0;
	CHECK_EQ(tw_fault_point(NULL, "commit"), 0); /* nothing armed */
	CHECK_EQ(tw_fault_set("commit", 2, TW_FAULT_EIO), 0);
	for (i = 1; i <= 5; i++)
		CHECK_EQ(tw_fault_point(NULL, "commit"), i > 2 ? -EIO : 0);
	CHECK_EQ(tw_fault_point(NULL, "write"), 0);
	CHECK_EQ(tw_fault_calls("commit"), 5);
	CHECK_EQ(tw_fault_fired("commit"), 3);
	CHECK_EQ(tw_fault_calls("write"), 0);
	CHECK_EQ(nr_msgs, 3);

	/* Re-arming resets the count; once fires once. */
	CHECK_EQ(tw_fault_set("commit", 0, TW_FAULT_EIO | TW_FAULT_ONCE), 0);
	CHECK_EQ(tw_fault_point(NULL, "commit"), -EIO);
	CHECK_EQ(tw_fault_point(NULL, "commit"), 0);
	CHECK_EQ(tw_fault_fired("commit"), 1);
	CHECK_EQ(tw_fault_calls("commit"), 2);

	tw_fault_clear("commit");
	CHECK_EQ(tw_fault_point(NULL, "commit"), 0);
	CHECK_EQ(tw_fault_calls("commit"), 0);

	/* Bad arguments. */
	CHECK_EQ(tw_fault_set("x", 0, 0), -EINVAL);
	CHECK_EQ(tw_fault_set("x", 0, 9), -EINVAL);
	CHECK_EQ(tw_fault_set("x", 0, TW_FAULT_EIO | 0x1000), -EINVAL);
	CHECK_EQ(tw_fault_set("", 0, TW_FAULT_EIO), -EINVAL);
	CHECK_EQ(tw_fault_set("0123456789012345678901234567890123456789"
			      "0123456789", 0, TW_FAULT_EIO), -EINVAL);
	for (i = 0; i < TW_FAULT_MAX_POINTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		CHECK_EQ(tw_fault_set(name, 1000, TW_FAULT_EIO), 0);
	}
	CHECK_EQ(tw_fault_set("one-too-many", 0, TW_FAULT_EIO), -ENOSPC);
	CHECK_EQ(tw_fault_set("p3", 0, TW_FAULT_EIO), 0); /* re-arm fits */
	CHECK_EQ(tw_fault_point(NULL, "p3"), -EIO);
	tw_fault_clear(NULL);
	CHECK_EQ(tw_fault_point(NULL, "p3"), 0);
	CHECK_EQ(tw_fault_calls("p3"), 0);
	tw_log_set_hook(NULL, NULL);
}

static void test_points_spec(void)
{
	tw_log_set_hook(count_msgs, NULL);
	CHECK_EQ(tw_fault_set_spec("commit:1:eio,write:0:eio-once"), 0);
	CHECK_EQ(tw_fault_point(NULL, "commit"), 0);
	CHECK_EQ(tw_fault_point(NULL, "commit"), -EIO);
	CHECK_EQ(tw_fault_point(NULL, "write"), -EIO);
	CHECK_EQ(tw_fault_point(NULL, "write"), 0);
	tw_fault_clear(NULL);
	CHECK_EQ(tw_fault_set_spec(""), 0);

	/* Malformed specs arm nothing. */
	CHECK_EQ(tw_fault_set_spec("a:1:eio,b:x:eio"), -EINVAL);
	CHECK_EQ(tw_fault_calls("a"), 0);
	CHECK_EQ(tw_fault_point(NULL, "a"), 0);
	CHECK_EQ(tw_fault_set_spec("a:1:boom"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec("a:1"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec(":1:eio"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec("a::eio"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec("a:-1:eio"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec("a:1:-once"), -EINVAL);
	CHECK_EQ(tw_fault_set_spec(NULL), -EINVAL);
	CHECK_EQ(tw_fault_point(NULL, "a"), 0);
	tw_log_set_hook(NULL, NULL);
}

static void test_points_hang_crash(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	int status;
	pid_t pid;

	/* crash: the child dies on the third call, never gets past it. */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		tw_log_set_hook(count_msgs, NULL);
		if (tw_fault_set_spec("evict:2:crash"))
			_exit(10);
		tw_fault_point(NULL, "evict");
		tw_fault_point(NULL, "evict");
		tw_fault_point(NULL, "evict");
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	/* Killed by SIGSEGV, or (under ASan) exited with its error code. */
	CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
	      (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
	       WEXITSTATUS(status) != 10));

	/* hang: the child is still there after a while. */
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		tw_log_set_hook(count_msgs, NULL);
		if (tw_fault_set("lookup", 0, TW_FAULT_HANG))
			_exit(10);
		tw_fault_point(NULL, "lookup");
		_exit(0);
	}
	nanosleep(&ts, NULL);
	CHECK_EQ(waitpid(pid, &status, WNOHANG), 0);
	kill(pid, SIGKILL);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
	RUN(test_fail_nth_write);
	RUN(test_fail_nth_read_flush);
	RUN(test_die_after);
	RUN(test_points_eio);
	RUN(test_points_spec);
	RUN(test_points_hang_crash);
	return utest_done();
}
