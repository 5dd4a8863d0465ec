/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_utest.h - a tiny harness for the plain-C unit tests: CHECK() and
 * friends that report file and line and make the test exit non-zero, and
 * temporary files that are removed on exit.
 *
 * Layer: tests only.  Includes tw_user.h and C library headers.
 */
#ifndef TW_UTEST_H
#define TW_UTEST_H

#include "tw_user.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int utest_failures;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
			utest_failures++;                                  \
		}                                                          \
	} while (0)

/* CHECK_EQ() - both sides as long long, printed on failure. */
#define CHECK_EQ(a, b)                                                     \
	do {                                                               \
		long long _a = (long long)(a), _b = (long long)(b);        \
		if (_a != _b) {                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s" \
				" (%lld != %lld)\n", __FILE__, __LINE__,  \
				#a, #b, _a, _b);                           \
			utest_failures++;                                  \
		}                                                          \
	} while (0)

/* REQUIRE() - like CHECK() but stops the test program at once. */
#define REQUIRE(cond)                                                      \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",     \
				__FILE__, __LINE__, #cond);                \
			exit(1);                                           \
		}                                                          \
	} while (0)

#define RUN(fn)                                                            \
	do {                                                               \
		int _before = utest_failures;                              \
		fn();                                                      \
		fprintf(stderr, "%-44s %s\n", #fn,                         \
			utest_failures == _before ? "ok" : "FAILED");      \
	} while (0)

static inline int utest_done(void)
{
	if (utest_failures)
		fprintf(stderr, "%d check(s) failed\n", utest_failures);
	return utest_failures ? 1 : 0;
}

#define UTEST_MAX_TMP 16
static char utest_tmp[UTEST_MAX_TMP][256];
static pid_t utest_tmp_owner;

static inline void utest_tmp_cleanup(void)
{
	int i;

	if (getpid() != utest_tmp_owner) /* a forked child */
		return;
	for (i = 0; i < UTEST_MAX_TMP; i++)
		if (utest_tmp[i][0])
			unlink(utest_tmp[i]);
}

/*
 * utest_tmpfile() - create an empty temporary file (in $TMPDIR or /tmp)
 * that is removed when the test exits; returns its path.
 */
static inline const char *utest_tmpfile(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	int i, fd;

	if (!utest_tmp_owner) {
		utest_tmp_owner = getpid();
		atexit(utest_tmp_cleanup);
	}
	for (i = 0; i < UTEST_MAX_TMP && utest_tmp[i][0]; i++)
		;
	REQUIRE(i < UTEST_MAX_TMP);
	snprintf(utest_tmp[i], sizeof(utest_tmp[i]), "%s/twinfs-%s-XXXXXX",
		 dir && *dir ? dir : "/tmp", tag);
	fd = mkstemp(utest_tmp[i]);
	REQUIRE(fd >= 0);
	close(fd);
	return utest_tmp[i];
}

/* Fill a block with a pattern derived from @seed; check one. */
static inline void utest_fill(void *p, u64 seed)
{
	u64 *w = p, x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < TW_UDEV_BLOCK_SIZE / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

static inline bool utest_is_fill(const void *p, u64 seed)
{
	u64 buf[TW_UDEV_BLOCK_SIZE / 8];

	utest_fill(buf, seed);
	return !memcmp(p, buf, sizeof(buf));
}

#endif /* TW_UTEST_H */
