// SPDX-License-Identifier: GPL-2.0
/*
 * test_user_env.c - the rest of the user-space environment: tw_alloc and
 * its accounting, mutexes and reader/writer semaphores under threads,
 * tw_now, logging (threshold, hook, the stderr format) and tw_assert.
 *
 * Layer: tests.  Calls the environment contract (tw_env.h), tw_user.h,
 * pthreads and the C library.
 */
#include "tw_utest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void test_alloc(void)
{
	u64 count0, count;
	s64 bytes0, bytes;
	u8 *p, *q;
	size_t i;
	int zero = 1;

	tw_mem_outstanding(&count0, &bytes0);
	p = tw_alloc(10000);
	q = tw_alloc(0);
	REQUIRE(p && q);
	for (i = 0; i < 10000; i++)
		zero &= p[i] == 0;
	CHECK(zero);
	tw_mem_outstanding(&count, &bytes);
	CHECK_EQ(count - count0, 2);
	CHECK_EQ(bytes - bytes0, 10000);
	tw_free(p, 10000);
	tw_free(q, 0);
	tw_free(NULL, 5);
	tw_mem_outstanding(&count, &bytes);
	CHECK_EQ(count, count0);
	CHECK_EQ(bytes, bytes0);
}

#define LOCK_THREADS 6
#define LOCK_ITERS 20000

struct lock_test {
	struct tw_mutex *m;
	struct tw_rwsem *s;
	long counter;
	int readers; /* readers inside the rwsem now */
	int writers; /* writers inside the rwsem now */
	int max_readers;
	int violations;
};

static void *mutex_thread(void *p)
{
	struct lock_test *t = p;
	int i;

	for (i = 0; i < LOCK_ITERS; i++) {
		tw_mutex_lock(t->m);
		t->counter++;
		tw_mutex_unlock(t->m);
	}
	return NULL;
}

static void *rwsem_thread(void *p)
{
	struct lock_test *t = p;
	int i, r;

	for (i = 0; i < LOCK_ITERS / 10; i++) {
		if (i % 8 == 0) {
			tw_down_write(t->s);
			if (__atomic_fetch_add(&t->writers, 1,
					       __ATOMIC_SEQ_CST) ||
			    __atomic_load_n(&t->readers, __ATOMIC_SEQ_CST))
				__atomic_fetch_add(&t->violations, 1,
						   __ATOMIC_SEQ_CST);
			t->counter++;
			__atomic_fetch_sub(&t->writers, 1, __ATOMIC_SEQ_CST);
			tw_up_write(t->s);
		} else {
			tw_down_read(t->s);
			r = __atomic_add_fetch(&t->readers, 1,
					       __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&t->writers, __ATOMIC_SEQ_CST))
				__atomic_fetch_add(&t->violations, 1,
						   __ATOMIC_SEQ_CST);
			if (r > __atomic_load_n(&t->max_readers,
						__ATOMIC_SEQ_CST))
				__atomic_store_n(&t->max_readers, r,
						 __ATOMIC_SEQ_CST);
			sched_yield();
			__atomic_fetch_sub(&t->readers, 1, __ATOMIC_SEQ_CST);
			tw_up_read(t->s);
		}
	}
	return NULL;
}

static void test_locks(void)
{
	pthread_t th[LOCK_THREADS];
	struct lock_test t;
	int i;

	memset(&t, 0, sizeof(t));
	t.m = tw_mutex_new();
	t.s = tw_rwsem_new();
	REQUIRE(t.m && t.s);
	for (i = 0; i < LOCK_THREADS; i++)
		REQUIRE(!pthread_create(&th[i], NULL, mutex_thread, &t));
	for (i = 0; i < LOCK_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(t.counter, (long)LOCK_THREADS * LOCK_ITERS);

	t.counter = 0;
	for (i = 0; i < LOCK_THREADS; i++)
		REQUIRE(!pthread_create(&th[i], NULL, rwsem_thread, &t));
	for (i = 0; i < LOCK_THREADS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(t.violations, 0);
	CHECK_EQ(t.counter, (long)LOCK_THREADS * (LOCK_ITERS / 10 / 8));
	CHECK(t.max_readers >= 1);
	tw_mutex_free(t.m);
	tw_rwsem_free(t.s);
	tw_mutex_free(NULL);
	tw_rwsem_free(NULL);
}

static void test_now(void)
{
	s64 a = tw_now(), b;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	b = tw_now();
	CHECK(a <= b);
	CHECK(a / 1000000000 <= ts.tv_sec && ts.tv_sec <= b / 1000000000);
	CHECK(a > (s64)1600000000 * 1000000000); /* after 2020 */
}

struct captured {
	int n;
	int level;
	struct tw_dev *dev;
	char msg[256];
};

static void capture(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	struct captured *c = ctx;

	c->n++;
	c->level = level;
	c->dev = dev;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

/* Run @fn with stderr going to a temporary file; return what it wrote. */
static void with_stderr(void (*fn)(void), char *out, size_t size)
{
	const char *path = utest_tmpfile("stderr");
	int fd = open(path, O_RDWR | O_TRUNC), saved;
	ssize_t n;

	REQUIRE(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	REQUIRE(saved >= 0 && dup2(fd, 2) == 2);
	fn();
	fflush(stderr);
	REQUIRE(dup2(saved, 2) == 2);
	close(saved);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static struct tw_dev *log_dev;

static void log_some(void)
{
	tw_log(NULL, TW_LOG_INFO, "hello %d", 42);
	tw_log(NULL, TW_LOG_DEBUG, "not shown");
	tw_log(log_dev, TW_LOG_ERR, "bad block %u", 7u);
}

static void test_log(void)
{
	struct captured c;
	char out[512];
	int old;

	log_dev = tw_udev_ram(1);
	REQUIRE(log_dev);
	with_stderr(log_some, out, sizeof(out));
	CHECK(!strcmp(out, "twinfs: hello 42\ntwinfs: ram: bad block 7\n"));

	/* The threshold applies; the hook replaces stderr. */
	memset(&c, 0, sizeof(c));
	tw_log_set_hook(capture, &c);
	old = tw_log_set_level(TW_LOG_WARN);
	CHECK_EQ(old, TW_LOG_INFO);
	tw_log(NULL, TW_LOG_INFO, "quiet");
	CHECK_EQ(c.n, 0);
	tw_log(log_dev, TW_LOG_WARN, "w%s", "arn");
	CHECK_EQ(c.n, 1);
	CHECK_EQ(c.level, TW_LOG_WARN);
	CHECK(c.dev == log_dev);
	CHECK(!strcmp(c.msg, "warn"));
	CHECK_EQ(tw_log_set_level(TW_LOG_DEBUG), TW_LOG_WARN);
	tw_log(NULL, TW_LOG_DEBUG, "debug");
	CHECK_EQ(c.n, 2);
	tw_log_set_level(TW_LOG_INFO);
	tw_log_set_hook(NULL, NULL);
	CHECK_EQ(tw_udev_close(log_dev), 0);
}

static void test_assert(void)
{
	int status;
	pid_t pid;

	tw_assert(1 + 1 == 2);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2); /* keep the expected message out */
		tw_assert(1 + 1 == 3);
		_exit(0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
	RUN(test_alloc);
	RUN(test_locks);
	RUN(test_now);
	RUN(test_log);
	RUN(test_assert);
	return utest_done();
}
