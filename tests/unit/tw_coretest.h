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
	int err = tw_rename(fs, NULL, od, on, (u32)strlen(on), nd, nn,
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

/* ------------------------------------------------------------------------ */
/* A workload with a model of its states, for crash and fault tests         */
/* ------------------------------------------------------------------------ */

/*
 * cw_run_phase() runs phase j of a fixed workload (a directory of files
 * with known contents, an xattr, a sparse file, then an unlink, a rename
 * across directories, a truncation, an empty directory, an unlinked file
 * left open) and mirrors it in a struct cw_state: paths with their
 * contents.  cw_check_between() checks a mounted image against two such
 * states: everything in both must be there intact, what changed between
 * them may be in either form (a new file may be a prefix of itself), a
 * rename is atomic, nothing else exists, and ct_walk_check() passes.
 */

static inline u8 *ct_ram_of(struct tw_dev *dev)
{
	return tw_backend_ram_data(tw_udev_backend(dev));
}

/* A RAM device holding a copy of @img. */
static inline struct tw_dev *ct_dev_from_image(const u8 *img, u64 blocks)
{
	struct tw_dev *dev = tw_udev_ram(blocks);

	REQUIRE(dev);
	memcpy(ct_ram_of(dev), img, blocks * CT_BS);
	return dev;
}

/* ------------------------------------------------------------------------ */
/* The expected state: files and directories by path                        */
/* ------------------------------------------------------------------------ */

#define CW_MAX_ENTS 256

struct cw_ent {
	char path[48];
	bool dir;
	u64 seed; /* content: ct_pat(seed, pos) for pos >= hole */
	u64 hole; /* bytes [0, hole) are zero */
	u64 size;
};

struct cw_state {
	struct cw_ent e[CW_MAX_ENTS];
	int n;
};

static inline struct cw_ent *cw_find(struct cw_state *s, const char *path)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].path, path))
			return &s->e[i];
	return NULL;
}

static inline void cw_del(struct cw_state *s, const char *path)
{
	struct cw_ent *e = cw_find(s, path);

	REQUIRE(e);
	*e = s->e[--s->n];
}

static inline struct cw_ent *cw_add(struct cw_state *s, const char *path,
				    bool dir)
{
	struct cw_ent *e;

	REQUIRE(s->n < CW_MAX_ENTS && !cw_find(s, path));
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->dir = dir;
	return e;
}

/* ------------------------------------------------------------------------ */
/* Reading a mounted image back: root/<dir>/<file>, two levels             */
/* ------------------------------------------------------------------------ */

struct cw_found {
	char path[48];
	u64 ino;
	struct tw_attr a;
	bool claimed;
};

struct cw_gather {
	struct cw_found f[CW_MAX_ENTS * 2];
	int n;
	const char *prefix;
	int overflow;
};

static inline int cw_gather_fn(void *ctx, const char *name, u32 len, u64 ino,
			       u32 dtype, u64 next)
{
	struct cw_gather *g = ctx;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (g->n == (int)CT_ARRAY_SIZE(g->f)) {
		g->overflow++;
		return 0;
	}
	snprintf(g->f[g->n].path, sizeof(g->f[0].path), "%s%.*s", g->prefix,
		 (int)len, name);
	g->f[g->n].ino = ino;
	g->n++;
	return 0;
}

static inline int cw_gather(struct tw_fs *fs, struct cw_gather *g)
{
	int i, n, err;
	char pfx[64];

	memset(g, 0, sizeof(*g));
	g->prefix = "";
	err = tw_readdir(fs, TW_ROOT_INO, 0, cw_gather_fn, g);
	if (err)
		return err;
	n = g->n;
	for (i = 0; i < n; i++) {
		err = tw_getattr(fs, g->f[i].ino, &g->f[i].a);
		if (err)
			return err;
		if (!TW_S_ISDIR(g->f[i].a.mode))
			continue;
		snprintf(pfx, sizeof(pfx), "%s/", g->f[i].path);
		g->prefix = pfx;
		err = tw_readdir(fs, g->f[i].ino, 0, cw_gather_fn, g);
		if (err)
			return err;
	}
	for (i = n; i < g->n; i++) {
		err = tw_getattr(fs, g->f[i].ino, &g->f[i].a);
		if (err)
			return err;
	}
	return g->overflow ? -E2BIG : 0;
}

static inline struct cw_found *cw_gfind(struct cw_gather *g, const char *path)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (!strcmp(g->f[i].path, path))
			return &g->f[i];
	return NULL;
}

/*
 * Compare a file's contents with an expected entry.  @lo..@size: bytes
 * that may be either the pattern or zero (a tail zeroed by a truncation
 * whose transaction did not commit).
 */
static inline int cw_check_content(struct tw_fs *fs, struct cw_found *f,
				   const struct cw_ent *x, u64 size, u64 lo)
{
	static u8 buf[1 << 16];
	u64 pos = 0;

	while (pos < size) {
		size_t n = size - pos > sizeof(buf) ? sizeof(buf) :
						      (size_t)(size - pos);
		ssize_t r = tw_read(fs, f->ino, pos, buf, n);
		size_t i;

		if (r != (ssize_t)n)
			return -1;
		i = 0;
		if (pos < x->hole) {
			static const u8 zero[sizeof(buf)];
			size_t z =
				x->hole - pos < n ? (size_t)(x->hole - pos) : n;

			if (!memcmp(buf, zero, z))
				i = z; /* the hole reads as zeros */
		}
		for (; i < n; i++) {
			u64 p = pos + i;
			u8 want = p < x->hole ? 0 : ct_pat(x->seed, p);

			if (buf[i] != want && !(p >= lo && buf[i] == 0)) {
				fprintf(stderr,
					"  %s: byte %llu is 0x%02x, want 0x%02x\n",
					x->path, (unsigned long long)p, buf[i],
					want);
				return -1;
			}
		}
		pos += n;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The workload                                                             */
/* ------------------------------------------------------------------------ */

#define CW_NPHASE 6
#define CW_NFILE 6

struct cw_wl {
	struct tw_fs *fs;
	struct cw_state st[CW_NPHASE + 1]; /* state after phase j's sync */
	u64 sync_rec[CW_NPHASE + 1]; /* records in the log after that sync */
	/* renames in phase j: from -> to (for atomicity checks) */
	char ren_from[CW_NPHASE + 1][48], ren_to[CW_NPHASE + 1][48];
};

static inline u64 cw_fsize(int j, int k)
{
	return k == 0 ? 0 : (u64)((j * 7919 + k * 4099) % 30000 + 1);
}

static inline u64 cw_path_ino(struct tw_fs *fs, const char *path)
{
	char d[48];
	const char *slash = strchr(path, '/');
	u64 dir;

	if (!slash)
		return ct_ino(fs, TW_ROOT_INO, path);
	snprintf(d, sizeof(d), "%.*s", (int)(slash - path), path);
	dir = ct_ino(fs, TW_ROOT_INO, d);
	return dir ? ct_ino(fs, dir, slash + 1) : 0;
}

/*
 * In fault runs an operation may fail with EIO (or EROFS once the journal
 * has failed): the phase stops there.  Otherwise every step must succeed.
 */
static bool cw_lenient;

#define CW_STEP(expr, want)                                                \
	do {                                                               \
		long long _r = (long long)(expr), _w = (long long)(want);  \
		if (_r != _w) {                                            \
			if (!cw_lenient || _r >= 0 ||                      \
			    (_r != -EIO && _r != -EROFS)) {                \
				ct_fail_hdr(__FILE__, __LINE__);           \
				fprintf(stderr, "%s: %lld%s, want %lld\n", \
					#expr, _r, ct_errname(_r), _w);    \
				if (!cw_lenient)                           \
					exit(1);                           \
				ct_failed();                               \
			}                                                  \
			ok = false;                                        \
			goto out;                                          \
		}                                                          \
	} while (0)

/* An inode number a later step needs: 0 (a failed lookup) stops. */
#define CW_NEED(v) CW_STEP((v) ? 0 : -EIO, 0)

/* Phase @j of the workload on @fs, mirrored in @s; false if it stopped. */
static inline bool cw_run_phase(struct cw_wl *w, int j, struct cw_state *s)
{
	struct tw_fs *fs = w->fs;
	char path[48], name[16];
	u8 *buf = malloc(40000);
	u64 d, ino, pd;
	struct cw_ent *x;
	bool ok = true;
	int k;

	REQUIRE(buf);
	snprintf(name, sizeof(name), "d%d", j);
	CW_STEP(ct_mkdir(fs, TW_ROOT_INO, name, &d), 0);
	cw_add(s, name, true);
	for (k = 0; k < CW_NFILE; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		CW_STEP(ct_create(fs, d, name, 0644, &ino), 0);
		snprintf(path, sizeof(path), "d%d/f%d", j, k);
		x = cw_add(s, path, false);
		x->seed = (u64)j * 16 + (u64)k;
		x->size = cw_fsize(j, k);
		ct_fill(buf, x->size, x->seed, 0);
		CW_STEP(tw_write(fs, ino, 0, buf, x->size), x->size);
		if (k == 0)
			CW_STEP(tw_setxattr(fs, ino, "user.phase", &j,
					    sizeof(j), 0),
				0);
	}
	if (j == 2) {
		CW_STEP(ct_create(fs, d, "sparse", 0644, &ino), 0);
		x = cw_add(s, "d2/sparse", false);
		x->seed = 999;
		x->hole = 3u << 20;
		x->size = x->hole + 5000;
		ct_fill(buf, 5000, x->seed, x->hole);
		CW_STEP(tw_write(fs, ino, x->hole, buf, 5000), 5000);
	}
	if (j >= 2) {
		snprintf(name, sizeof(name), "d%d", j - 1);
		pd = ct_ino(fs, TW_ROOT_INO, name);
		CW_NEED(pd);
		/* unlink, rename across directories, truncate */
		CW_STEP(ct_unlink(fs, pd, "f1"), 0);
		snprintf(path, sizeof(path), "d%d/f1", j - 1);
		cw_del(s, path);
		snprintf(name, sizeof(name), "r%d", j);
		snprintf(w->ren_from[j], 48, "d%d/f2", j - 1);
		snprintf(w->ren_to[j], 48, "d%d/r%d", j, j);
		CW_STEP(ct_rename(fs, pd, "f2", d, name, 0), 0);
		x = cw_find(s, w->ren_from[j]);
		REQUIRE(x);
		snprintf(x->path, sizeof(x->path), "%s", w->ren_to[j]);
		snprintf(path, sizeof(path), "d%d/f3", j - 1);
		x = cw_find(s, path);
		REQUIRE(x);
		ino = cw_path_ino(fs, path);
		CW_NEED(ino);
		x->size /= 3;
		CW_STEP(ct_truncate(fs, ino, x->size), 0);
		/* an empty directory comes and goes */
		if (j >= 3) {
			CW_STEP(ct_rmdir(fs, pd, "e"), 0);
			snprintf(path, sizeof(path), "d%d/e", j - 1);
			cw_del(s, path);
		}
		CW_STEP(ct_mkdir(fs, d, "e", NULL), 0);
		snprintf(path, sizeof(path), "d%d/e", j);
		cw_add(s, path, true);
		/* a file unlinked while "open": an orphan at the crash */
		CW_STEP(ct_create(fs, d, "tmp", 0644, &ino), 0);
		CW_STEP(tw_write(fs, ino, 0, buf, 9000), 9000);
		CW_STEP(tw_unlink(fs, d, "tmp", 3, NULL, NULL), 0);
		/* (never evicted: mount's orphan recovery frees it) */
	}
out:
	free(buf);
	return ok;
}

/*
 * Check a mounted image whose state lies between @a and @b (equal for an
 * exact state); @ren_from -> @ren_to (may be NULL) was renamed meanwhile.
 */
static inline int cw_check_between(struct tw_fs *fs, struct cw_state *a,
				   struct cw_state *b, const char *ren_from,
				   const char *ren_to)
{
	static struct cw_gather g;
	int i, bad = 0, err;

	err = cw_gather(fs, &g);
	if (err) {
		fprintf(stderr, "  gathering the tree: %d%s\n", err,
			ct_errname(err));
		return 1;
	}
	/* in both states */
	for (i = 0; i < a->n; i++) {
		struct cw_ent *x = &a->e[i], *y = cw_find(b, x->path);
		struct cw_found *f = cw_gfind(&g, x->path);

		if (!f) {
			if (y) {
				fprintf(stderr, "  %s missing\n", x->path);
				bad++;
			}
			continue;
		}
		f->claimed = true;
		if (TW_S_ISDIR(f->a.mode) != x->dir) {
			fprintf(stderr, "  %s: wrong type\n", x->path);
			bad++;
			continue;
		}
		if (x->dir)
			continue;
		if (y && y->size != x->size) {
			/* truncated in the interval: old or new size */
			u64 lo = y->size < x->size ? y->size : x->size;

			if (f->a.size != x->size && f->a.size != y->size) {
				fprintf(stderr,
					"  %s: size %llu, want %llu or %llu\n",
					x->path, (unsigned long long)f->a.size,
					(unsigned long long)x->size,
					(unsigned long long)y->size);
				bad++;
			} else if (cw_check_content(fs, f, x, f->a.size, lo)) {
				bad++;
			}
			continue;
		}
		if (f->a.size != x->size) {
			fprintf(stderr, "  %s: size %llu, want %llu\n", x->path,
				(unsigned long long)f->a.size,
				(unsigned long long)x->size);
			bad++;
		} else if (cw_check_content(fs, f, x, x->size, ~0ull)) {
			bad++;
		}
	}
	/* new in the interval: absent, or a prefix of the final contents */
	for (i = 0; i < b->n; i++) {
		struct cw_ent *y = &b->e[i];
		struct cw_found *f;

		if (cw_find(a, y->path))
			continue;
		f = cw_gfind(&g, y->path);
		if (!f)
			continue;
		f->claimed = true;
		if (TW_S_ISDIR(f->a.mode) != y->dir) {
			fprintf(stderr, "  %s: wrong type\n", y->path);
			bad++;
		} else if (!y->dir &&
			   (f->a.size > y->size ||
			    cw_check_content(fs, f, y, f->a.size, ~0ull))) {
			fprintf(stderr, "  %s (new): size %llu of %llu\n",
				y->path, (unsigned long long)f->a.size,
				(unsigned long long)y->size);
			bad++;
		}
	}
	/* nothing else */
	for (i = 0; i < g.n; i++) {
		if (!g.f[i].claimed) {
			fprintf(stderr, "  unexpected %s\n", g.f[i].path);
			bad++;
		}
	}
	/* a rename in the interval is atomic */
	if (ren_from && ren_from[0]) {
		bool from = cw_gfind(&g, ren_from) != NULL;
		bool to = cw_gfind(&g, ren_to) != NULL;

		if (from == to) {
			fprintf(stderr, "  rename %s -> %s: %s\n", ren_from,
				ren_to, from ? "both names" : "neither name");
			bad++;
		}
	}
	bad += ct_walk_check(fs, NULL);
	return bad;
}

/* A crash image whose last completed sync was @k: between st[k] and
 * st[k + 1]. */
static inline int cw_check_image(struct cw_wl *w, struct tw_fs *fs, int k)
{
	if (k >= CW_NPHASE)
		return cw_check_between(fs, &w->st[k], &w->st[k], NULL, NULL);
	return cw_check_between(fs, &w->st[k], &w->st[k + 1],
				w->ren_from[k + 1], w->ren_to[k + 1]);
}

#endif /* TW_CORETEST_H */
