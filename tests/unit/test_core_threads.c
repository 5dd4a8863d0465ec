// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_threads.c - the core under concurrency: eight threads do mixed
 * operations (create, write, read, truncate, rename, unlink, mkdir, rmdir,
 * readdir, xattrs, sync) on one mounted filesystem, each in a private
 * directory that it checks exactly against its own model, and all in a
 * shared directory where they race for the same names.  Afterwards the
 * filesystem is remounted (orphan recovery included) and checked as a
 * whole: every readdir matches lookups, link counts and statfs agree, and
 * the private trees hold exactly what their threads wrote.
 *
 * Like a home, the test never evicts an inode another thread may still
 * hold: inodes that were ever in the shared directory are evicted only
 * after the threads are done, or left to mount's orphan recovery.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h) and its real locks.
 */
#include "tw_coretest.h"

#include <pthread.h>

#define NTHREADS 8
#define OPS_PER_THREAD 3000
#define NSHARED 48 /* shared names s0..s47, d0..d47 */
#define MAXFILES 64
#define MAXDATA (48 * 1024)

#define ROOT TW_ROOT_INO

static struct tw_fs *g_fs;
static u64 g_shared;

/* Inodes whose eviction must wait until the threads are done. */
static pthread_mutex_t defer_lock = PTHREAD_MUTEX_INITIALIZER;
static u64 deferred[65536];
static u32 ndeferred;

static void defer_evict(u64 ino)
{
	pthread_mutex_lock(&defer_lock);
	if (ndeferred < CT_ARRAY_SIZE(deferred))
		deferred[ndeferred++] = ino;
	pthread_mutex_unlock(&defer_lock);
}

struct pfile {
	char name[24];
	u64 ino;
	u8 *data; /* NULL: contents unknown (came from the shared dir) */
	u64 size;
	char xval[16]; /* user.t, "" if none */
	bool tainted; /* was in the shared directory at some point */
	bool used;
};

struct thr {
	int id;
	u64 dir;
	struct ct_rng rng;
	struct pfile f[MAXFILES];
	bool sub[8]; /* private subdirectories "sub<i>" */
	u64 op;
	u64 counts[16];
	int bad;
};

#define TFAIL(t, fmt, ...)                                             \
	do {                                                           \
		fprintf(stderr, "%s:%d: thread %d op %llu: " fmt "\n", \
			__FILE__, __LINE__, (t)->id,                   \
			(unsigned long long)(t)->op, ##__VA_ARGS__);   \
		(t)->bad++;                                            \
		ct_failed();                                           \
	} while (0)

/* An error the shared directory's races may give. */
static bool race_ok(int err)
{
	return err == -ENOENT || err == -EEXIST || err == -ENOTEMPTY ||
	       err == -ENOTDIR || err == -EISDIR || err == -EINVAL;
}

#define SHARED_OK(t, what, err)                                         \
	do {                                                            \
		int _e = (err);                                         \
		if (_e < 0 && !race_ok(_e))                             \
			TFAIL(t, "%s: %d%s", what, _e, ct_errname(_e)); \
	} while (0)

#define PRIV_EQ(t, what, got, want)                                      \
	do {                                                             \
		long long _g = (long long)(got), _w = (long long)(want); \
		if (_g != _w)                                            \
			TFAIL(t, "%s: %lld%s, want %lld%s", what, _g,    \
			      ct_errname(_g), _w, ct_errname(_w));       \
	} while (0)

static struct pfile *pick_file(struct thr *t)
{
	int i, start = (int)ct_below(&t->rng, MAXFILES);

	for (i = 0; i < MAXFILES; i++) {
		struct pfile *p = &t->f[(start + i) % MAXFILES];

		if (p->used)
			return p;
	}
	return NULL;
}

static struct pfile *free_slot(struct thr *t)
{
	int i;

	for (i = 0; i < MAXFILES; i++)
		if (!t->f[i].used)
			return &t->f[i];
	return NULL;
}

static void drop_file(struct thr *t, struct pfile *p, u32 nlink)
{
	if (!nlink) {
		if (p->tainted)
			defer_evict(p->ino);
		else
			PRIV_EQ(t, "evict", tw_evict(g_fs, p->ino), 0);
	}
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/* Where and how a file's data differs from its model. */
static void report_diff(struct thr *t, struct pfile *p, const u8 *got,
			const char *when)
{
	u64 i, first = ~0ull, last = 0, n = 0;

	for (i = 0; i < p->size; i++) {
		if (got[i] != p->data[i]) {
			if (first == ~0ull)
				first = i;
			last = i;
			n++;
		}
	}
	TFAIL(t,
	      "%s: ino %llu data differs %s: %llu bytes in [%llu, %llu] of %llu (got 0x%02x, want 0x%02x)",
	      p->name, (unsigned long long)p->ino, when, (unsigned long long)n,
	      (unsigned long long)first, (unsigned long long)last,
	      (unsigned long long)p->size, got[first], p->data[first]);
}

/* ---- private operations, checked exactly ---- */

static void priv_create(struct thr *t)
{
	struct pfile *p = free_slot(t);
	struct tw_attr a;
	int err;

	if (!p)
		return;
	snprintf(p->name, sizeof(p->name), "p%llu", (unsigned long long)t->op);
	err = tw_mknod(g_fs, &ct_root, t->dir, p->name, (u32)strlen(p->name),
		       TW_S_IFREG | 0600, 0, &a);
	PRIV_EQ(t, "create", err, 0);
	if (err)
		return;
	p->used = true;
	p->ino = a.ino;
	p->data = calloc(1, MAXDATA);
	REQUIRE(p->data);
}

static void priv_write(struct thr *t)
{
	struct pfile *p = pick_file(t);
	u8 buf[8192];
	u64 off;
	u32 len;
	ssize_t r;

	if (!p || !p->data)
		return;
	off = ct_below(&t->rng, MAXDATA - 1);
	len = (u32)ct_below(&t->rng, sizeof(buf)) + 1;
	if (off + len > MAXDATA)
		len = (u32)(MAXDATA - off);
	ct_fill(buf, len, ((u64)t->id << 32) | t->op, 0);
	r = tw_write(g_fs, p->ino, off, buf, len);
	PRIV_EQ(t, "write", r, len);
	if (r == (ssize_t)len) {
		memcpy(p->data + off, buf, len);
		if (off + len > p->size)
			p->size = off + len;
	}
}

static void priv_read(struct thr *t)
{
	struct pfile *p = pick_file(t);
	static __thread u8 buf[MAXDATA + 16];
	struct tw_attr a;
	ssize_t r;

	if (!p)
		return;
	PRIV_EQ(t, "getattr", tw_getattr(g_fs, p->ino, &a), 0);
	if (!p->data)
		return;
	PRIV_EQ(t, "size", a.size, p->size);
	r = tw_read(g_fs, p->ino, 0, buf, sizeof(buf));
	PRIV_EQ(t, "read", r, p->size);
	if (r == (ssize_t)p->size && memcmp(buf, p->data, p->size))
		report_diff(t, p, buf, "read");
}

static void priv_truncate(struct thr *t)
{
	struct pfile *p = pick_file(t);
	u64 size;

	if (!p || !p->data)
		return;
	size = ct_below(&t->rng, MAXDATA);
	PRIV_EQ(t, "truncate", ct_truncate(g_fs, p->ino, size), 0);
	if (size < p->size)
		memset(p->data + size, 0, p->size - size);
	p->size = size;
}

static void priv_unlink(struct thr *t)
{
	struct pfile *p = pick_file(t);
	u64 ino = 0;
	u32 nl = 1;

	if (!p)
		return;
	PRIV_EQ(t, "unlink",
		tw_unlink(g_fs, t->dir, p->name, (u32)strlen(p->name), &ino,
			  &nl),
		0);
	PRIV_EQ(t, "unlink ino", ino, p->ino);
	PRIV_EQ(t, "unlink nlink", nl, 0);
	drop_file(t, p, nl);
}

static void priv_rename(struct thr *t)
{
	struct pfile *p = pick_file(t), *q = pick_file(t);
	char nn[24];
	u64 victim = 0;
	u32 vn = 1;
	int err;

	if (!p)
		return;
	if (q && q != p && ct_below(&t->rng, 2)) {
		/* over another private file */
		err = tw_rename(g_fs, NULL, t->dir, p->name,
				(u32)strlen(p->name), t->dir, q->name,
				(u32)strlen(q->name), 0, &victim, &vn);
		PRIV_EQ(t, "rename over", err, 0);
		if (err)
			return;
		PRIV_EQ(t, "rename victim", victim, q->ino);
		PRIV_EQ(t, "rename victim nlink", vn, 0);
		memcpy(nn, q->name, sizeof(nn));
		drop_file(t, q, vn);
		memcpy(p->name, nn, sizeof(nn));
		return;
	}
	snprintf(nn, sizeof(nn), "r%llu", (unsigned long long)t->op);
	err = tw_rename(g_fs, NULL, t->dir, p->name, (u32)strlen(p->name),
			t->dir, nn, (u32)strlen(nn), TW_RENAME_NOREPLACE, NULL,
			NULL);
	PRIV_EQ(t, "rename", err, 0);
	if (!err)
		memcpy(p->name, nn, sizeof(nn));
}

static void priv_xattr(struct thr *t)
{
	struct pfile *p = pick_file(t);
	char v[16];
	ssize_t r;

	if (!p)
		return;
	if (ct_below(&t->rng, 3) == 0 && p->xval[0]) {
		PRIV_EQ(t, "removexattr",
			tw_removexattr(g_fs, p->ino, "user.t"), 0);
		p->xval[0] = 0;
		return;
	}
	if (ct_below(&t->rng, 2)) {
		snprintf(v, sizeof(v), "v%llu", (unsigned long long)t->op);
		PRIV_EQ(t, "setxattr",
			tw_setxattr(g_fs, p->ino, "user.t", v, strlen(v), 0),
			0);
		memcpy(p->xval, v, sizeof(v));
		return;
	}
	memset(v, 0, sizeof(v));
	r = tw_getxattr(g_fs, p->ino, "user.t", v, sizeof(v) - 1);
	if (p->xval[0]) {
		PRIV_EQ(t, "getxattr", r, strlen(p->xval));
		if (strcmp(v, p->xval))
			TFAIL(t, "getxattr: \"%s\", want \"%s\"", v, p->xval);
	} else if (!p->tainted) {
		PRIV_EQ(t, "getxattr", r, -ENODATA);
	}
}

static void priv_subdir(struct thr *t)
{
	int i = (int)ct_below(&t->rng, 8);
	char name[8];

	snprintf(name, sizeof(name), "sub%d", i);
	if (t->sub[i]) {
		PRIV_EQ(t, "rmdir", ct_rmdir(g_fs, t->dir, name), 0);
		t->sub[i] = false;
	} else {
		PRIV_EQ(t, "mkdir", ct_mkdir(g_fs, t->dir, name, NULL), 0);
		t->sub[i] = true;
	}
}

/* readdir of the private directory: exactly the model's names */
struct plist {
	struct thr *t;
	u32 files, subs, other;
	u8 seen[MAXFILES];
};

static int plist_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		    u64 next)
{
	struct plist *l = ctx;
	int i;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (i = 0; i < MAXFILES; i++) {
		struct pfile *p = &l->t->f[i];

		if (p->used && strlen(p->name) == len &&
		    !memcmp(p->name, name, len)) {
			l->seen[i]++;
			if (p->ino != ino || dtype != TW_DT_REG)
				l->other++;
			return 0;
		}
	}
	if (len == 4 && !memcmp(name, "sub", 3) && name[3] >= '0' &&
	    name[3] < '8' && l->t->sub[name[3] - '0'] && dtype == TW_DT_DIR) {
		l->subs++;
		return 0;
	}
	l->other++;
	return 0;
}

static void priv_readdir(struct thr *t)
{
	struct plist l;
	u32 nsub = 0;
	int i;

	memset(&l, 0, sizeof(l));
	l.t = t;
	PRIV_EQ(t, "readdir", tw_readdir(g_fs, t->dir, 0, plist_fn, &l), 0);
	for (i = 0; i < MAXFILES; i++)
		if (t->f[i].used && l.seen[i] != 1)
			TFAIL(t, "readdir: %s seen %u times", t->f[i].name,
			      l.seen[i]);
	for (i = 0; i < 8; i++)
		nsub += t->sub[i];
	PRIV_EQ(t, "readdir subdirs", l.subs, nsub);
	PRIV_EQ(t, "readdir unknown", l.other, 0);
	PRIV_EQ(t, "private dir nlink", ct_getattr(g_fs, t->dir).nlink,
		2 + nsub);
}

/* ---- shared operations: races allowed, damage not ---- */

static void shared_name(struct thr *t, char *buf, size_t size, bool dir)
{
	snprintf(buf, size, "%c%llu", dir ? 'd' : 's',
		 (unsigned long long)ct_below(&t->rng, NSHARED));
}

static int count_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		    u64 next)
{
	(*(u64 *)ctx)++;
	return 0;
}

/* A shared path: "s<i>" in the shared dir or in one of its "d<j>". */
static u64 shared_parent(struct thr *t)
{
	char d[8];
	struct tw_attr a;

	if (ct_below(&t->rng, 3))
		return g_shared;
	shared_name(t, d, sizeof(d), true);
	if (ct_lookup(g_fs, g_shared, d, &a) || !TW_S_ISDIR(a.mode))
		return g_shared;
	return a.ino;
}

static void shared_op(struct thr *t)
{
	char n1[16], n2[16];
	u64 d1 = shared_parent(t), d2 = shared_parent(t), ino = 0;
	struct tw_attr a;
	u32 nl = 1;
	int err;

	shared_name(t, n1, sizeof(n1), false);
	switch (ct_below(&t->rng, 10)) {
	case 0:
		SHARED_OK(t, "shared create",
			  ct_create(g_fs, d1, n1, 0644, NULL));
		break;
	case 1:
		err = tw_unlink(g_fs, d1, n1, (u32)strlen(n1), &ino, &nl);
		SHARED_OK(t, "shared unlink", err);
		if (!err && !nl)
			defer_evict(ino);
		break;
	case 2:
		shared_name(t, n1, sizeof(n1), true);
		SHARED_OK(t, "shared mkdir", ct_mkdir(g_fs, d1, n1, NULL));
		break;
	case 3:
		shared_name(t, n1, sizeof(n1), true);
		err = tw_rmdir(g_fs, d1, n1, (u32)strlen(n1), &ino, &nl);
		SHARED_OK(t, "shared rmdir", err);
		if (!err && !nl)
			defer_evict(ino);
		break;
	case 4:
	case 5: {
		static const u32 flags[] = { 0, TW_RENAME_NOREPLACE,
					     TW_RENAME_EXCHANGE, 0 };
		u32 fl = flags[ct_below(&t->rng, 4)];

		shared_name(t, n1, sizeof(n1), ct_below(&t->rng, 4) == 0);
		shared_name(t, n2, sizeof(n2), ct_below(&t->rng, 4) == 0);
		err = tw_rename(g_fs, NULL, d1, n1, (u32)strlen(n1), d2, n2,
				(u32)strlen(n2), fl, &ino, &nl);
		SHARED_OK(t, "shared rename", err);
		if (!err && ino && !nl)
			defer_evict(ino);
		break;
	}
	case 6:
		/* data and xattrs through an inode number from lookup */
		if (ct_lookup(g_fs, d1, n1, &a))
			break;
		if (TW_S_ISDIR(a.mode)) {
			SHARED_OK(
				t, "shared dir xattr",
				tw_setxattr(g_fs, a.ino, "user.d", "1", 1, 0));
			break;
		}
		{
			u8 buf[3000];
			u64 off = ct_below(&t->rng, 20000);
			ssize_t r;

			ct_fill(buf, sizeof(buf), t->op, 0);
			r = tw_write(g_fs, a.ino, off, buf, sizeof(buf));
			if (r != (ssize_t)sizeof(buf))
				TFAIL(t, "shared write: %zd%s", r,
				      ct_errname(r));
			r = tw_read(g_fs, a.ino, 0, buf, sizeof(buf));
			if (r < 0)
				TFAIL(t, "shared read: %zd%s", r,
				      ct_errname(r));
			err = tw_setxattr(g_fs, a.ino, "user.s", "x", 1, 0);
			if (err)
				TFAIL(t, "shared setxattr: %d%s", err,
				      ct_errname(err));
			if (ct_below(&t->rng, 4) == 0) {
				err = ct_truncate(g_fs, a.ino,
						  ct_below(&t->rng, 30000));
				if (err)
					TFAIL(t, "shared truncate: %d%s", err,
					      ct_errname(err));
			}
		}
		break;
	case 7: {
		/* a private file goes public */
		struct pfile *p = pick_file(t);

		if (!p)
			break;
		err = tw_rename(g_fs, NULL, t->dir, p->name,
				(u32)strlen(p->name), d1, n1, (u32)strlen(n1),
				TW_RENAME_NOREPLACE, NULL, NULL);
		if (err == -EEXIST || err == -ENOENT || err == -ENOTDIR)
			break;
		PRIV_EQ(t, "rename to shared", err, 0);
		if (!err) {
			free(p->data);
			memset(p, 0, sizeof(*p));
		}
		break;
	}
	case 8: {
		/* and a public one comes home (contents unknown) */
		struct pfile *p = free_slot(t);
		char nn[24];

		if (!p)
			break;
		snprintf(nn, sizeof(nn), "h%d_%llu", t->id,
			 (unsigned long long)t->op);
		err = tw_rename(g_fs, NULL, d1, n1, (u32)strlen(n1), t->dir, nn,
				(u32)strlen(nn), TW_RENAME_NOREPLACE, NULL,
				NULL);
		SHARED_OK(t, "rename from shared", err);
		if (err)
			break;
		if (ct_lookup(g_fs, t->dir, nn, &a)) {
			TFAIL(t, "%s vanished", nn);
			break;
		}
		if (TW_S_ISDIR(a.mode)) {
			/* a shared directory came along: send it back */
			err = tw_rename(g_fs, NULL, t->dir, nn, (u32)strlen(nn),
					g_shared, nn, (u32)strlen(nn), 0, NULL,
					NULL);
			PRIV_EQ(t, "send a directory back", err, 0);
			break;
		}
		memcpy(p->name, nn, sizeof(nn));
		p->ino = a.ino;
		p->used = true;
		p->tainted = true;
		break;
	}
	default:
		/* readdir of a shared directory while it changes */
		SHARED_OK(t, "shared readdir",
			  tw_readdir(g_fs, d1, 0, count_fn, &ino));
		break;
	}
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	for (t->op = 0; t->op < OPS_PER_THREAD && t->bad < 10; t->op++) {
		u64 r = ct_below(&t->rng, 100);

		if (r < 10)
			priv_create(t);
		else if (r < 22)
			priv_write(t);
		else if (r < 30)
			priv_read(t);
		else if (r < 33)
			priv_truncate(t);
		else if (r < 38)
			priv_unlink(t);
		else if (r < 42)
			priv_rename(t);
		else if (r < 46)
			priv_xattr(t);
		else if (r < 49)
			priv_subdir(t);
		else if (r < 51)
			priv_readdir(t);
		else if (r < 52)
			PRIV_EQ(t, "sync", tw_sync(g_fs), 0);
		else
			shared_op(t);
	}
	return NULL;
}

/* After the threads: the private trees hold exactly their models. */
static void verify_private(struct thr *t)
{
	static u8 buf[MAXDATA + 16];
	int i;

	t->op = ~0ull;
	priv_readdir(t);
	for (i = 0; i < MAXFILES; i++) {
		struct pfile *p = &t->f[i];
		struct tw_attr a;
		char v[16];

		if (!p->used)
			continue;
		PRIV_EQ(t, "lookup after remount",
			ct_lookup(g_fs, t->dir, p->name, &a), 0);
		PRIV_EQ(t, "ino after remount", a.ino, p->ino);
		PRIV_EQ(t, "nlink after remount", a.nlink, 1);
		if (p->data) {
			PRIV_EQ(t, "size after remount", a.size, p->size);
			PRIV_EQ(t, "read after remount",
				tw_read(g_fs, p->ino, 0, buf, sizeof(buf)),
				p->size);
			if (memcmp(buf, p->data, p->size))
				report_diff(t, p, buf, "after remount");
		}
		if (p->xval[0]) {
			memset(v, 0, sizeof(v));
			PRIV_EQ(t, "getxattr after remount",
				tw_getxattr(g_fs, p->ino, "user.t", v,
					    sizeof(v) - 1),
				strlen(p->xval));
			if (strcmp(v, p->xval))
				TFAIL(t, "xattr \"%s\", want \"%s\"", v,
				      p->xval);
		}
		free(p->data);
	}
}

static void test_threads(void)
{
	static struct thr thr[NTHREADS];
	pthread_t tid[NTHREADS];
	struct tw_dev *dev = ct_ram_mkfs(65536, 65536, 0);
	struct ct_walk w;
	char name[16];
	u32 i, evicted = 0;
	double t0;

	g_fs = ct_mount(dev);
	REQUIRE_EQ(ct_mkdir(g_fs, ROOT, "shared", &g_shared), 0);
	for (i = 0; i < NTHREADS; i++) {
		memset(&thr[i], 0, sizeof(thr[i]));
		thr[i].id = (int)i;
		ct_rng_seed(&thr[i].rng, 1000 + i);
		snprintf(name, sizeof(name), "t%u", i);
		REQUIRE_EQ(ct_mkdir(g_fs, ROOT, name, &thr[i].dir), 0);
	}
	t0 = ct_seconds();
	for (i = 0; i < NTHREADS; i++)
		REQUIRE(pthread_create(&tid[i], NULL, thread_main, &thr[i]) ==
			0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	fprintf(stderr, "  %u threads x %u operations: %.2f s\n", NTHREADS,
		OPS_PER_THREAD, ct_seconds() - t0);

	/* the home lets go: half the deferred inodes now, the rest are
	 * left to orphan recovery */
	for (i = 0; i < ndeferred; i++) {
		if (i % 2)
			continue;
		CHECK_EQ(tw_evict(g_fs, deferred[i]), 0);
		evicted++;
	}
	fprintf(stderr,
		"  %u unlinked shared inodes, %u evicted before unmount\n",
		ndeferred, evicted);
	for (i = 0; i < NTHREADS; i++) {
		thr[i].op = ~0ull;
		priv_readdir(&thr[i]);
	}

	g_fs = ct_remount(g_fs);
	CHECK_EQ(ct_walk_check(g_fs, &w), 0);
	fprintf(stderr,
		"  after remount: %llu inodes (%llu directories), %llu blocks\n",
		(unsigned long long)w.ninodes, (unsigned long long)w.ndirs,
		(unsigned long long)w.nblocks);
	for (i = 0; i < NTHREADS; i++)
		verify_private(&thr[i]);
	g_fs = ct_remount(g_fs);
	CHECK_EQ(ct_walk_check(g_fs, NULL), 0);
	CHECK_EQ(tw_unmount(g_fs), 0);
	ct_close(dev);
}

int main(void)
{
	RUN(test_threads);
	return ct_done();
}
