/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_coretest.h - shared helpers of the core's unit tests: checks that print
 * file, line and both values (errnos by name), devices and filesystems
 * made in one call, and short-hand wrappers around the core API for names
 * given as C strings.
 *
 * Layer: tests only.  Includes twinfs.h (the core API), tw_user.h (the
 * user-space environment: RAM and file devices) and C library headers.
 * Everything is static: each test program is one translation unit.
 */
#ifndef TW_CORETEST_H
#define TW_CORETEST_H

#include "tw_user.h"
#include "twinfs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CT_BS TW_BLOCK_SIZE

/* ------------------------------------------------------------------------ */
/* Checks                                                                   */
/* ------------------------------------------------------------------------ */

static int ct_failures;

/* Called before a failure is reported, to print context (seed, op...). */
static void (*ct_context_hook)(void);

/* Stop at the first failure: set by TWINFS_TEST_STOP=1 or by a test. */
static int ct_stop_on_failure;

static inline const char *ct_errname(long long v)
{
	static __thread char buf[32];
	const char *n;

	if (v >= 0 || v < -4095)
		return "";
	n = strerrorname_np((int)-v);
	snprintf(buf, sizeof(buf), " (-%s)", n ? n : "?");
	return buf;
}

static inline void ct_fail_hdr(const char *file, int line)
{
	if (ct_context_hook)
		ct_context_hook();
	fprintf(stderr, "%s:%d: ", file, line);
}

static inline void ct_failed(void)
{
	__atomic_fetch_add(&ct_failures, 1, __ATOMIC_RELAXED);
	fflush(stderr);
	if (ct_stop_on_failure || getenv("TWINFS_TEST_STOP"))
		exit(1);
}

/* CHECK(cond): report and count a failure, go on. */
#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond)) {                                        \
			ct_fail_hdr(__FILE__, __LINE__);              \
			fprintf(stderr, "CHECK failed: %s\n", #cond); \
			ct_failed();                                  \
		}                                                     \
	} while (0)

/* CHECK_EQ(a, b): both as long long, printed (with errno names). */
#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b) {                                               \
			ct_fail_hdr(__FILE__, __LINE__);                      \
			fprintf(stderr,                                       \
				"CHECK failed: %s == %s (%lld%s != ", #a, #b, \
				_a, ct_errname(_a));                          \
			fprintf(stderr, "%lld%s)\n", _b, ct_errname(_b));     \
			ct_failed();                                          \
		}                                                             \
	} while (0)

/* CHECK_OK(expr): expr must return >= 0. */
#define CHECK_OK(e)                                                           \
	do {                                                                  \
		long long _r = (long long)(e);                                \
		if (_r < 0) {                                                 \
			ct_fail_hdr(__FILE__, __LINE__);                      \
			fprintf(stderr, "CHECK failed: %s returned %lld%s\n", \
				#e, _r, ct_errname(_r));                      \
			ct_failed();                                          \
		}                                                             \
	} while (0)

/* REQUIRE(cond) / REQUIRE_EQ / REQUIRE_OK: like the above, but a failure
 * ends the program at once (for checks later code depends on). */
#define REQUIRE(cond)                                                   \
	do {                                                            \
		if (!(cond)) {                                          \
			ct_fail_hdr(__FILE__, __LINE__);                \
			fprintf(stderr, "REQUIRE failed: %s\n", #cond); \
			exit(1);                                        \
		}                                                       \
	} while (0)

#define REQUIRE_EQ(a, b)                                                    \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);         \
		if (_a != _b) {                                             \
			ct_fail_hdr(__FILE__, __LINE__);                    \
			fprintf(stderr,                                     \
				"REQUIRE failed: %s == %s (%lld%s != ", #a, \
				#b, _a, ct_errname(_a));                    \
			fprintf(stderr, "%lld%s)\n", _b, ct_errname(_b));   \
			exit(1);                                            \
		}                                                           \
	} while (0)

#define REQUIRE_OK(e)                                                       \
	do {                                                                \
		long long _r = (long long)(e);                              \
		if (_r < 0) {                                               \
			ct_fail_hdr(__FILE__, __LINE__);                    \
			fprintf(stderr,                                     \
				"REQUIRE failed: %s returned %lld%s\n", #e, \
				_r, ct_errname(_r));                        \
			exit(1);                                            \
		}                                                           \
	} while (0)

/* Run one test function and say how it went. */
#define RUN(fn)                                                   \
	do {                                                      \
		int _before = ct_failures;                        \
		double _t0 = ct_seconds();                        \
		fprintf(stderr, "--- %s\n", #fn);                 \
		fn();                                             \
		fprintf(stderr, "--- %-40s %s (%.2f s)\n", #fn,   \
			ct_failures == _before ? "ok" : "FAILED", \
			ct_seconds() - _t0);                      \
	} while (0)

static inline double ct_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* End of main(): the summary and the exit status. */
static inline int ct_done(void)
{
	u64 count;
	s64 bytes;

	tw_mem_outstanding(&count, &bytes);
	if (count || bytes) {
		fprintf(stderr,
			"memory from tw_alloc() not given back: %llu allocations, %lld bytes\n",
			(unsigned long long)count, (long long)bytes);
		ct_failures++;
	}
	if (ct_failures)
		fprintf(stderr, "%d check(s) failed\n", ct_failures);
	else
		fprintf(stderr, "all checks passed\n");
	return ct_failures ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Temporary files, removed at exit (also after a failed REQUIRE)           */
/* ------------------------------------------------------------------------ */

#define CT_MAX_TMP 8
static char ct_tmp[CT_MAX_TMP][256];
static pid_t ct_tmp_owner;

static inline void ct_tmp_cleanup(void)
{
	int i;

	if (getpid() != ct_tmp_owner)
		return;
	for (i = 0; i < CT_MAX_TMP; i++)
		if (ct_tmp[i][0])
			unlink(ct_tmp[i]);
}

static inline const char *ct_tmpfile(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	int i, fd;

	if (!ct_tmp_owner) {
		ct_tmp_owner = getpid();
		atexit(ct_tmp_cleanup);
	}
	for (i = 0; i < CT_MAX_TMP && ct_tmp[i][0]; i++)
		;
	REQUIRE(i < CT_MAX_TMP);
	snprintf(ct_tmp[i], sizeof(ct_tmp[i]), "%s/twinfs-%s-XXXXXX",
		 dir && *dir ? dir : "/tmp", tag);
	fd = mkstemp(ct_tmp[i]);
	REQUIRE(fd >= 0);
	close(fd);
	return ct_tmp[i];
}

static inline void ct_tmp_remove(const char *path)
{
	int i;

	for (i = 0; i < CT_MAX_TMP; i++)
		if (ct_tmp[i][0] && !strcmp(ct_tmp[i], path)) {
			unlink(ct_tmp[i]);
			ct_tmp[i][0] = 0;
		}
}

/* ------------------------------------------------------------------------ */
/* Log capture: the last messages of the core, for checks on them           */
/* ------------------------------------------------------------------------ */

static char ct_last_log[512];
static int ct_log_count;
static int ct_log_quiet;

static void ct_log_hook(void *ctx, struct tw_dev *dev, int level,
			const char *msg)
{
	snprintf(ct_last_log, sizeof(ct_last_log), "%s", msg);
	__atomic_fetch_add(&ct_log_count, 1, __ATOMIC_RELAXED);
	if (!ct_log_quiet)
		fprintf(stderr, "twinfs: %s\n", msg);
}

static inline void ct_log_capture(bool quiet)
{
	ct_last_log[0] = 0;
	ct_log_count = 0;
	ct_log_quiet = quiet;
	tw_log_set_hook(ct_log_hook, NULL);
}

static inline void ct_log_release(void)
{
	tw_log_set_hook(NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* Devices and filesystems                                                  */
/* ------------------------------------------------------------------------ */

static const struct tw_cred ct_root = { 0, 0 };

static inline struct tw_mkfs_opts ct_mkfs_opts(u64 blocks, u32 inodes,
					       u32 journal)
{
	struct tw_mkfs_opts o;
	int i;

	memset(&o, 0, sizeof(o));
	o.blocks = blocks;
	o.inodes = inodes;
	o.journal_blocks = journal;
	o.label = "unit";
	for (i = 0; i < TW_UUID_LEN; i++)
		o.uuid[i] = (u8)(0x40 + i);
	o.hash_seed = 0x5eed1234;
	o.now = 1700000000ll * 1000000000ll;
	return o;
}

/* A RAM device with a fresh filesystem on it (whole device). */
static inline struct tw_dev *ct_ram_mkfs(u64 blocks, u32 inodes, u32 journal)
{
	struct tw_mkfs_opts o = ct_mkfs_opts(blocks, inodes, journal);
	struct tw_dev *dev = tw_udev_ram(blocks);

	REQUIRE(dev);
	o.zeroed = true;
	REQUIRE_EQ(tw_mkfs(dev, &o), 0);
	return dev;
}

static inline struct tw_fs *ct_mount(struct tw_dev *dev)
{
	struct tw_fs *fs = NULL;

	REQUIRE_EQ(tw_mount(dev, tw_udev_blocks(dev), NULL, &fs), 0);
	REQUIRE(fs);
	return fs;
}

/* Unmount, forget every cached block, mount again: what is read now comes
 * from the "disk". */
static inline struct tw_fs *ct_remount(struct tw_fs *fs)
{
	struct tw_dev *dev = tw_fs_dev(fs);

	REQUIRE_EQ(tw_unmount(fs), 0);
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	return ct_mount(dev);
}

static inline void ct_close(struct tw_dev *dev)
{
	CHECK_EQ(tw_udev_close(dev), 0);
}

static inline struct tw_statfs ct_statfs(struct tw_fs *fs)
{
	struct tw_statfs st;

	memset(&st, 0, sizeof(st));
	CHECK_EQ(tw_statfs(fs, &st), 0);
	return st;
}

/* ------------------------------------------------------------------------ */
/* The core API with C-string names                                          */
/* ------------------------------------------------------------------------ */

static inline int ct_create(struct tw_fs *fs, u64 dir, const char *name,
			    u32 mode, u64 *ino)
{
	struct tw_attr a;
	int err = tw_mknod(fs, &ct_root, dir, name, (u32)strlen(name),
			   TW_S_IFREG | mode, 0, &a);

	if (!err && ino)
		*ino = a.ino;
	return err;
}

static inline int ct_mkdir(struct tw_fs *fs, u64 dir, const char *name,
			   u64 *ino)
{
	struct tw_attr a;
	int err =
		tw_mkdir(fs, &ct_root, dir, name, (u32)strlen(name), 0755, &a);

	if (!err && ino)
		*ino = a.ino;
	return err;
}

static inline int ct_symlink(struct tw_fs *fs, u64 dir, const char *name,
			     const char *target, u32 tlen, u64 *ino)
{
	struct tw_attr a;
	int err = tw_symlink(fs, &ct_root, dir, name, (u32)strlen(name), target,
			     tlen, &a);

	if (!err && ino)
		*ino = a.ino;
	return err;
}

static inline int ct_lookup(struct tw_fs *fs, u64 dir, const char *name,
			    struct tw_attr *a)
{
	struct tw_attr tmp;

	return tw_lookup(fs, dir, name, (u32)strlen(name), a ? a : &tmp);
}

/* The inode number @name names in @dir, or 0. */
static inline u64 ct_ino(struct tw_fs *fs, u64 dir, const char *name)
{
	struct tw_attr a;

	return ct_lookup(fs, dir, name, &a) ? 0 : a.ino;
}

static inline int ct_unlink(struct tw_fs *fs, u64 dir, const char *name)
{
	u64 ino = 0;
	u32 nlink = 1;
	int err = tw_unlink(fs, dir, name, (u32)strlen(name), &ino, &nlink);

	/* the home holds no reference: free the inode now */
	if (!err && !nlink)
		err = tw_evict(fs, ino);
	return err;
}

static inline int ct_rmdir(struct tw_fs *fs, u64 dir, const char *name)
{
	u64 ino = 0;
	u32 nlink = 1;
	int err = tw_rmdir(fs, dir, name, (u32)strlen(name), &ino, &nlink);

	if (!err && !nlink)
		err = tw_evict(fs, ino);
	return err;
}

static inline int ct_rename(struct tw_fs *fs, u64 od, const char *on, u64 nd,
			    const char *nn, u32 flags)
{
	u64 victim = 0;
	u32 vn = 1;
	int err = tw_rename(fs, od, on, (u32)strlen(on), nd, nn,
			    (u32)strlen(nn), flags, &victim, &vn);

	if (!err && victim && !vn)
		err = tw_evict(fs, victim);
	return err;
}

static inline struct tw_attr ct_getattr(struct tw_fs *fs, u64 ino)
{
	struct tw_attr a;

	memset(&a, 0, sizeof(a));
	CHECK_EQ(tw_getattr(fs, ino, &a), 0);
	return a;
}

static inline int ct_truncate(struct tw_fs *fs, u64 ino, u64 size)
{
	struct tw_setattr sa;

	memset(&sa, 0, sizeof(sa));
	sa.valid = TW_SET_SIZE;
	sa.size = size;
	return tw_setattr(fs, ino, &sa, NULL);
}

/* ------------------------------------------------------------------------ */
/* A whole-tree consistency check through the API (a small fsck)            */
/* ------------------------------------------------------------------------ */

/*
 * ct_walk_check() walks every directory from the root and checks that:
 * readdir emits "." and ".." right and every entry once; each entry looks
 * up to the inode readdir gave, with a matching d_type; every directory is
 * reached once and its ".." names the directory it was reached from; a
 * directory's nlink is 2 + its subdirectories; a non-directory's nlink is
 * the number of entries naming it; getattr works on every inode; and
 * statfs agrees: used inodes = inodes reached, used blocks = the sum of
 * their blocks.  Returns the number of problems found (each printed).
 */
struct ct_walk_ent {
	u64 ino;
	u32 refs; /* entries naming it (non-directories) */
	u32 subdirs; /* directories: subdirectories found */
	u32 mode;
	u32 nlink;
	u64 blocks;
	bool dir_seen;
};

struct ct_walk {
	struct ct_walk_ent *ents;
	size_t n, cap; /* open addressing on ino */
	u64 *queue;
	size_t qhead, qtail, qcap;
	u64 *pqueue; /* parent of each queued directory */
	int problems;
	/* the directory being read */
	u64 dir;
	char **names;
	u64 *inos;
	u32 *dtypes;
	size_t nnames, capnames;
	u32 dots, dotdots;
	u64 dotdot_ino;
	/* results */
	u64 ninodes, nblocks, ndirs, nfiles;
};

static inline void ct_walk_problem(struct ct_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void ct_walk_problem(struct ct_walk *w, const char *fmt, ...)
{
	va_list ap;

	if (w->problems++ < 20) {
		va_start(ap, fmt);
		fprintf(stderr, "  walk: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
	}
}

static inline struct ct_walk_ent *ct_walk_get(struct ct_walk *w, u64 ino)
{
	size_t i;

	if (w->n * 2 >= w->cap) {
		struct ct_walk_ent *old = w->ents;
		size_t oc = w->cap, k;

		w->cap = oc ? oc * 2 : 1024;
		w->ents = calloc(w->cap, sizeof(*w->ents));
		REQUIRE(w->ents);
		w->n = 0;
		for (k = 0; k < oc; k++) {
			if (old[k].ino) {
				i = (size_t)(old[k].ino *
					     0x9e3779b97f4a7c15ull) &
				    (w->cap - 1);
				while (w->ents[i].ino)
					i = (i + 1) & (w->cap - 1);
				w->ents[i] = old[k];
				w->n++;
			}
		}
		free(old);
	}
	i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (w->cap - 1);
	while (w->ents[i].ino && w->ents[i].ino != ino)
		i = (i + 1) & (w->cap - 1);
	if (!w->ents[i].ino) {
		w->ents[i].ino = ino;
		w->n++;
	}
	return &w->ents[i];
}

static int ct_walk_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		      u64 next)
{
	struct ct_walk *w = ctx;

	if (len == 1 && name[0] == '.') {
		w->dots++;
		if (ino != w->dir)
			ct_walk_problem(w, "dir %llu: '.' is %llu",
					(unsigned long long)w->dir,
					(unsigned long long)ino);
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		w->dotdots++;
		w->dotdot_ino = ino;
		return 0;
	}
	if (w->nnames == w->capnames) {
		w->capnames = w->capnames ? w->capnames * 2 : 256;
		w->names = realloc(w->names, w->capnames * sizeof(char *));
		w->inos = realloc(w->inos, w->capnames * sizeof(u64));
		w->dtypes = realloc(w->dtypes, w->capnames * sizeof(u32));
		REQUIRE(w->names && w->inos && w->dtypes);
	}
	w->names[w->nnames] = strndup(name, len);
	REQUIRE(w->names[w->nnames]);
	w->inos[w->nnames] = ino;
	w->dtypes[w->nnames] = dtype;
	w->nnames++;
	return 0;
}

static int ct_strptrcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Set while the home holds unlinked inodes: statfs then counts more. */
static bool ct_walk_no_statfs;

static inline int ct_walk_check(struct tw_fs *fs, struct ct_walk *out)
{
	struct ct_walk w;
	struct tw_statfs st;
	size_t i;

	memset(&w, 0, sizeof(w));
	w.qcap = 1024;
	w.queue = malloc(w.qcap * sizeof(u64));
	w.pqueue = malloc(w.qcap * sizeof(u64));
	REQUIRE(w.queue && w.pqueue);
	w.queue[w.qtail] = TW_ROOT_INO;
	w.pqueue[w.qtail++] = TW_ROOT_INO;
	{
		struct ct_walk_ent *e = ct_walk_get(&w, TW_ROOT_INO);
		struct tw_attr a = { 0 };

		if (tw_getattr(fs, TW_ROOT_INO, &a))
			ct_walk_problem(&w, "getattr of the root fails");
		e->mode = a.mode;
		e->nlink = a.nlink;
		e->blocks = a.blocks;
		e->dir_seen = true;
	}
	while (w.qhead < w.qtail) {
		u64 dir = w.queue[w.qhead], parent = w.pqueue[w.qhead];
		char **sorted;
		int err;

		w.qhead++;
		w.dir = dir;
		w.nnames = 0;
		w.dots = w.dotdots = 0;
		w.dotdot_ino = 0;
		err = tw_readdir(fs, dir, 0, ct_walk_fn, &w);
		if (err)
			ct_walk_problem(&w, "readdir of %llu: %d%s",
					(unsigned long long)dir, err,
					ct_errname(err));
		if (w.dots != 1 || w.dotdots != 1 || w.dotdot_ino != parent)
			ct_walk_problem(
				&w,
				"dir %llu: %u '.', %u '..' (%llu, want %llu)",
				(unsigned long long)dir, w.dots, w.dotdots,
				(unsigned long long)w.dotdot_ino,
				(unsigned long long)parent);
		/* no name twice */
		sorted = malloc((w.nnames + 1) * sizeof(char *));
		REQUIRE(sorted);
		if (w.nnames)
			memcpy(sorted, w.names, w.nnames * sizeof(char *));
		qsort(sorted, w.nnames, sizeof(char *), ct_strptrcmp);
		for (i = 1; i < w.nnames; i++)
			if (!strcmp(sorted[i], sorted[i - 1]))
				ct_walk_problem(
					&w, "dir %llu: '%s' listed twice",
					(unsigned long long)dir, sorted[i]);
		free(sorted);
		for (i = 0; i < w.nnames; i++) {
			struct tw_attr a, g;
			struct ct_walk_ent *e;

			err = tw_lookup(fs, dir, w.names[i],
					(u32)strlen(w.names[i]), &a);
			if (err || a.ino != w.inos[i]) {
				ct_walk_problem(
					&w,
					"dir %llu: lookup '%s' = %d%s ino %llu, readdir said %llu",
					(unsigned long long)dir, w.names[i],
					err, ct_errname(err),
					(unsigned long long)(err ? 0 : a.ino),
					(unsigned long long)w.inos[i]);
				free(w.names[i]);
				continue;
			}
			if (tw_getattr(fs, a.ino, &g) || g.mode != a.mode)
				ct_walk_problem(&w, "getattr of %llu",
						(unsigned long long)a.ino);
			if (w.dtypes[i] != ((a.mode & TW_S_IFMT) >> 12))
				ct_walk_problem(
					&w,
					"dir %llu: '%s' d_type %u, mode 0%o",
					(unsigned long long)dir, w.names[i],
					w.dtypes[i], a.mode);
			e = ct_walk_get(&w, a.ino);
			e->mode = a.mode;
			e->nlink = a.nlink;
			e->blocks = a.blocks;
			if (TW_S_ISDIR(a.mode)) {
				ct_walk_get(&w, dir)->subdirs++;
				e = ct_walk_get(&w, a.ino);
				if (e->dir_seen) {
					ct_walk_problem(
						&w, "dir %llu reached twice",
						(unsigned long long)a.ino);
				} else {
					e->dir_seen = true;
					if (w.qtail == w.qcap) {
						w.qcap *= 2;
						w.queue = realloc(w.queue,
								  w.qcap * 8);
						w.pqueue = realloc(w.pqueue,
								   w.qcap * 8);
						REQUIRE(w.queue && w.pqueue);
					}
					w.queue[w.qtail] = a.ino;
					w.pqueue[w.qtail++] = dir;
				}
			} else {
				e->refs++;
			}
			free(w.names[i]);
		}
	}
	for (i = 0; i < w.cap; i++) {
		struct ct_walk_ent *e = &w.ents[i];

		if (!e->ino)
			continue;
		w.ninodes++;
		w.nblocks += e->blocks / 8;
		if (TW_S_ISDIR(e->mode)) {
			w.ndirs++;
			if (e->nlink != 2 + e->subdirs)
				ct_walk_problem(
					&w,
					"dir %llu: nlink %u, %u subdirectories",
					(unsigned long long)e->ino, e->nlink,
					e->subdirs);
		} else {
			w.nfiles++;
			if (e->nlink != e->refs)
				ct_walk_problem(
					&w, "inode %llu: nlink %u, %u names",
					(unsigned long long)e->ino, e->nlink,
					e->refs);
		}
	}
	tw_statfs(fs, &st);
	if (ct_walk_no_statfs)
		;
	else if (st.files - st.ffree != w.ninodes)
		ct_walk_problem(&w, "statfs: %llu inodes used, %llu reachable",
				(unsigned long long)(st.files - st.ffree),
				(unsigned long long)w.ninodes);
	if (!ct_walk_no_statfs && st.blocks - st.bfree != w.nblocks)
		ct_walk_problem(
			&w,
			"statfs: %llu blocks used, reachable inodes own %llu",
			(unsigned long long)(st.blocks - st.bfree),
			(unsigned long long)w.nblocks);
	free(w.names);
	free(w.inos);
	free(w.dtypes);
	free(w.queue);
	free(w.pqueue);
	free(w.ents);
	w.names = NULL;
	w.ents = NULL;
	if (out)
		*out = w;
	return w.problems;
}

/* Deterministic bytes: byte i of stream @seed. */
static inline u8 ct_pat(u64 seed, u64 i)
{
	u64 x = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return (u8)x;
}

static inline void ct_fill(void *buf, size_t len, u64 seed, u64 start)
{
	u8 *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = ct_pat(seed, start + i);
}

/* First offset where @buf differs from the pattern, or -1. */
static inline long long ct_check_pat(const void *buf, size_t len, u64 seed,
				     u64 start)
{
	const u8 *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ct_pat(seed, start + i))
			return (long long)i;
	return -1;
}

static inline long long ct_check_zero(const void *buf, size_t len)
{
	const u8 *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return (long long)i;
	return -1;
}

/* xorshift64*: the tests' own reproducible random numbers. */
struct ct_rng {
	u64 s;
};

static inline void ct_rng_seed(struct ct_rng *r, u64 seed)
{
	r->s = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (!r->s)
		r->s = 1;
}

static inline u64 ct_rand(struct ct_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n). */
static inline u64 ct_below(struct ct_rng *r, u64 n)
{
	return n ? ct_rand(r) % n : 0;
}

#endif /* TW_CORETEST_H */
