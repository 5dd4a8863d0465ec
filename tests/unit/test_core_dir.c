// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_dir.c - the core's hashed directories at scale: 100,000 entries
 * created, looked up (timed, not asserted), listed by readdir exactly once
 * each with "." and "..", half removed, listed again, re-added; readdir in
 * small batches resumed from cookies while entries come and go between the
 * batches; and all of it after a remount.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h).
 */
#include "tw_coretest.h"

#define N_ENTRIES 100000u
#define FS_BLOCKS 65536u /* 256 MiB, allocated lazily */
#define FS_INODES 131072u

#define ROOT TW_ROOT_INO

/* Names of varying length (records of many sizes): "e<i>-xxxx..." */
static u32 entry_name(char *buf, size_t size, const char *pfx, u32 i)
{
	int n = snprintf(buf, size, "%s%u-", pfx, i);
	u32 extra = (i * 7919u) % 48, k;

	for (k = 0; k < extra && (size_t)n + 1 < size; k++)
		buf[n++] = (char)('a' + (i + k) % 26);
	buf[n] = 0;
	return (u32)n;
}

/* Parse a name made by entry_name() with prefix @pfx; -1 if it is not. */
static long parse_name(const char *name, u32 len, const char *pfx)
{
	size_t pl = strlen(pfx);
	char tmp[300];
	long v = 0;
	size_t k;

	if (len <= pl || memcmp(name, pfx, pl))
		return -1;
	for (k = pl; k < len && name[k] >= '0' && name[k] <= '9'; k++)
		v = v * 10 + (name[k] - '0');
	if (k == pl || k >= len || name[k] != '-')
		return -1;
	if (entry_name(tmp, sizeof(tmp), pfx, (u32)v) != len ||
	    memcmp(tmp, name, len))
		return -1;
	return v;
}

/* ---- readdir into a census ---- */

struct census {
	u32 n; /* slots in seen[] */
	const char *pfx;
	u8 *seen; /* times each entry was emitted */
	u64 *ino; /* expected inode of each (0: do not check) */
	u32 dot, dotdot, other, bad_ino, bad_type;
	u64 dir, parent;
	u64 last_cookie;
	u32 emitted, limit; /* stop after @limit entries (0: never) */
};

static int census_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		     u64 next)
{
	struct census *c = ctx;
	long i;

	if (c->limit && c->emitted == c->limit)
		return 1;
	c->emitted++;
	c->last_cookie = next;
	if (len == 1 && name[0] == '.') {
		c->dot++;
		if (ino != c->dir || dtype != TW_DT_DIR)
			c->bad_ino++;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		c->dotdot++;
		if (ino != c->parent || dtype != TW_DT_DIR)
			c->bad_ino++;
		return 0;
	}
	i = parse_name(name, len, c->pfx);
	if (i < 0 || (u32)i >= c->n) {
		c->other++;
		return 0;
	}
	if (c->seen[i] < 255)
		c->seen[i]++;
	if (c->ino && c->ino[i] && c->ino[i] != ino)
		c->bad_ino++;
	if (dtype != TW_DT_REG)
		c->bad_type++;
	return 0;
}

static void census_init(struct census *c, u32 n, const char *pfx, u64 dir,
			u64 parent, u64 *inos)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->pfx = pfx;
	c->seen = calloc(n, 1);
	REQUIRE(c->seen);
	c->ino = inos;
	c->dir = dir;
	c->parent = parent;
}

/* List @dir in one walk; every entry i with present(i) once, no other. */
static void check_listing(struct tw_fs *fs, u64 dir, u32 n, u64 *inos,
			  bool (*present)(u32 i), int line)
{
	struct census c;
	u32 i, missing = 0, dup = 0, extra = 0;

	census_init(&c, n, "e", dir, ROOT, inos);
	CHECK_EQ(tw_readdir(fs, dir, 0, census_fn, &c), 0);
	for (i = 0; i < n; i++) {
		u32 want = present(i) ? 1 : 0;

		if (c.seen[i] < want)
			missing++;
		else if (c.seen[i] > 1)
			dup++;
		else if (c.seen[i] > want)
			extra++;
	}
	if (missing || dup || extra || c.other || c.bad_ino || c.bad_type ||
	    c.dot != 1 || c.dotdot != 1)
		fprintf(stderr,
			"  listing (line %d): %u missing, %u twice, %u removed but listed, %u unknown, %u bad ino, %u bad type, %u '.', %u '..'\n",
			line, missing, dup, extra, c.other, c.bad_ino,
			c.bad_type, c.dot, c.dotdot);
	CHECK_EQ(missing, 0);
	CHECK_EQ(dup, 0);
	CHECK_EQ(extra, 0);
	CHECK_EQ(c.other, 0);
	CHECK_EQ(c.bad_ino, 0);
	CHECK_EQ(c.bad_type, 0);
	CHECK_EQ(c.dot, 1);
	CHECK_EQ(c.dotdot, 1);
	free(c.seen);
}

static bool all_present(u32 i)
{
	return true;
}

static bool even_present(u32 i)
{
	return !(i & 1);
}

static u32 lookup_all(struct tw_fs *fs, u64 dir, u32 n, const u64 *inos,
		      bool (*present)(u32 i))
{
	char name[80];
	struct tw_attr a;
	u32 i, bad = 0;

	for (i = 0; i < n; i++) {
		u32 len = entry_name(name, sizeof(name), "e", i);
		int err = tw_lookup(fs, dir, name, len, &a);

		if (present(i) ? (err || a.ino != inos[i]) : err != -ENOENT) {
			if (bad++ < 5)
				fprintf(stderr,
					"  lookup %s: %d%s, ino %llu (want %llu)\n",
					name, err, ct_errname(err),
					(unsigned long long)(err ? 0 : a.ino),
					(unsigned long long)inos[i]);
		}
	}
	return bad;
}

static void test_big_directory(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, FS_INODES, 0);
	struct tw_fs *fs = ct_mount(dev);
	u64 *inos = calloc(N_ENTRIES, sizeof(u64));
	struct tw_statfs s0;
	struct tw_attr a;
	char name[80];
	double t;
	u64 d;
	u32 i, made = 0;

	REQUIRE(inos);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "big", &d), 0);
	s0 = ct_statfs(fs);

	t = ct_seconds();
	for (i = 0; i < N_ENTRIES; i++) {
		u32 len = entry_name(name, sizeof(name), "e", i);
		int err = tw_mknod(fs, &ct_root, d, name, len,
				   TW_S_IFREG | 0644, 0, &a);

		if (err) {
			CHECK_EQ(err, 0);
			fprintf(stderr, "  creating entry %u of %u failed\n", i,
				N_ENTRIES);
			break;
		}
		inos[i] = a.ino;
		made++;
	}
	fprintf(stderr, "  create %u: %.2f s\n", made, ct_seconds() - t);
	REQUIRE(made == N_ENTRIES); /* the rest depends on it */
	CHECK_EQ(s0.ffree - ct_statfs(fs).ffree, N_ENTRIES);

	t = ct_seconds();
	CHECK_EQ(lookup_all(fs, d, N_ENTRIES, inos, all_present), 0);
	fprintf(stderr, "  lookup %u: %.2f s (%.1f us each)\n", N_ENTRIES,
		ct_seconds() - t, (ct_seconds() - t) * 1e6 / N_ENTRIES);
	CHECK_EQ(ct_lookup(fs, d, "e100000-", NULL), -ENOENT);
	CHECK_EQ(ct_lookup(fs, d, "nothing", NULL), -ENOENT);

	t = ct_seconds();
	check_listing(fs, d, N_ENTRIES, inos, all_present, __LINE__);
	fprintf(stderr, "  readdir: %.2f s\n", ct_seconds() - t);
	a = ct_getattr(fs, d);
	CHECK_EQ(a.nlink, 2);
	CHECK_EQ(a.size % 4096, 0);

	/* remove the odd half */
	t = ct_seconds();
	for (i = 1; i < N_ENTRIES; i += 2) {
		entry_name(name, sizeof(name), "e", i);
		if (ct_unlink(fs, d, name)) {
			CHECK_EQ(ct_unlink(fs, d, name), 0);
			break;
		}
	}
	fprintf(stderr, "  unlink %u: %.2f s\n", N_ENTRIES / 2,
		ct_seconds() - t);
	CHECK_EQ(s0.ffree - ct_statfs(fs).ffree, N_ENTRIES / 2);
	check_listing(fs, d, N_ENTRIES, inos, even_present, __LINE__);
	CHECK_EQ(lookup_all(fs, d, N_ENTRIES, inos, even_present), 0);
	CHECK_EQ(ct_rmdir(fs, ROOT, "big"), -ENOTEMPTY);

	/* add them back (as new inodes) */
	for (i = 1; i < N_ENTRIES; i += 2) {
		u32 len = entry_name(name, sizeof(name), "e", i);
		int err = tw_mknod(fs, &ct_root, d, name, len,
				   TW_S_IFREG | 0644, 0, &a);

		if (err) {
			CHECK_EQ(err, 0);
			break;
		}
		inos[i] = a.ino;
	}
	check_listing(fs, d, N_ENTRIES, inos, all_present, __LINE__);

	/* a remount: from the disk */
	fs = ct_remount(fs);
	t = ct_seconds();
	CHECK_EQ(lookup_all(fs, d, N_ENTRIES, inos, all_present), 0);
	fprintf(stderr, "  lookup after remount: %.2f s\n", ct_seconds() - t);
	check_listing(fs, d, N_ENTRIES, inos, all_present, __LINE__);
	CHECK_EQ(ct_getattr(fs, d).nlink, 2);

	/* and empty it completely: the directory can then go */
	for (i = 0; i < N_ENTRIES; i++) {
		entry_name(name, sizeof(name), "e", i);
		if (ct_unlink(fs, d, name)) {
			CHECK_EQ(ct_unlink(fs, d, name), 0);
			break;
		}
	}
	{
		struct census c;

		census_init(&c, 1, "e", d, ROOT, NULL);
		CHECK_EQ(tw_readdir(fs, d, 0, census_fn, &c), 0);
		CHECK_EQ(c.emitted, 2);
		free(c.seen);
	}
	CHECK_EQ(ct_rmdir(fs, ROOT, "big"), 0);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree + 1);
	CHECK(ct_statfs(fs).bfree >= s0.bfree);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(inos);
}

/*
 * Readdir in batches, resumed from the cookie of the last entry seen, while
 * other entries are created and removed between the batches.  Entries that
 * exist throughout must be seen exactly once; the others at most once.
 */
static void test_cookies(u32 n, u32 batch, u64 seed)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, FS_INODES, 0);
	struct tw_fs *fs = ct_mount(dev);
	/* stable: "e<i>" for i < n, never touched during the walk;
	 * volatile: "e<i>" for n <= i < 3n, created and removed meanwhile */
	const u32 total = 3 * n;
	/* touched: changes during the walk; lives: incarnations seen by
	 * the walk at most (a name removed and created again is another
	 * entry, which may be listed again) */
	u8 *exists = calloc(total, 1), *touched = calloc(total, 1);
	u32 *lives = calloc(total, sizeof(u32));
	u64 *inos = calloc(total, sizeof(u64));
	struct ct_rng rng;
	struct census c;
	char name[80];
	u32 i, rounds = 0, bad = 0;
	u64 d, cookie = 0;
	int err;

	REQUIRE(exists && touched && lives && inos);
	ct_rng_seed(&rng, seed);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "cookies", &d), 0);
	/* interleave stable and volatile entries in the entry blocks */
	for (i = 0; i < n; i++) {
		u32 v = n + i;

		entry_name(name, sizeof(name), "e", i);
		REQUIRE_EQ(ct_create(fs, d, name, 0644, &inos[i]), 0);
		exists[i] = 1;
		if (ct_below(&rng, 2)) {
			entry_name(name, sizeof(name), "e", v);
			REQUIRE_EQ(ct_create(fs, d, name, 0644, &inos[v]), 0);
			exists[v] = 1;
		}
	}

	for (i = 0; i < total; i++)
		lives[i] = exists[i];
	census_init(&c, total, "e", d, ROOT, NULL);
	c.limit = batch;
	for (;;) {
		u32 before = c.emitted, k;

		c.limit = c.emitted + batch;
		err = tw_readdir(fs, d, cookie, census_fn, &c);
		CHECK_EQ(err, 0);
		if (err || c.emitted == before)
			break;
		cookie = c.last_cookie;
		rounds++;
		/* churn: create and remove volatile entries */
		for (k = 0; k < batch; k++) {
			u32 v = n + (u32)ct_below(&rng, 2 * n);

			entry_name(name, sizeof(name), "e", v);
			if (touched[v] < 255)
				touched[v]++;
			if (exists[v]) {
				CHECK_EQ(ct_unlink(fs, d, name), 0);
				exists[v] = 0;
			} else {
				CHECK_EQ(ct_create(fs, d, name, 0644, NULL), 0);
				exists[v] = 1;
				lives[v]++;
			}
		}
		if (rounds > 10 * (total / batch + 10)) {
			CHECK(!"readdir never ends");
			break;
		}
	}
	for (i = 0; i < total; i++) {
		bool stable = i < n || (!touched[i] && exists[i]);

		if (stable ? c.seen[i] != 1 : c.seen[i] > lives[i]) {
			if (bad++ < 5)
				fprintf(stderr,
					"  entry e%u%s seen %u times (%u incarnations)\n",
					i, stable ? " (stable)" : "", c.seen[i],
					lives[i]);
		}
		/* never-existing names cannot be seen */
		if (!touched[i] && !exists[i] && c.seen[i])
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(c.other, 0);
	CHECK_EQ(c.dot, 1);
	CHECK_EQ(c.dotdot, 1);
	free(c.seen);
	fprintf(stderr, "  %u entries, batches of %u: %u rounds\n", n, batch,
		rounds);

	/* resuming from every cookie of a quiet directory: the rest */
	{
		struct census all;
		u64 cookies[64];
		u32 m = 0;

		census_init(&all, total, "e", d, ROOT, NULL);
		all.limit = 64;
		CHECK_EQ(tw_readdir(fs, d, 0, census_fn, &all), 0);
		free(all.seen);
		/* collect the first cookies one by one */
		cookie = 0;
		for (m = 0; m < 64; m++) {
			census_init(&all, total, "e", d, ROOT, NULL);
			all.limit = 1;
			CHECK_EQ(tw_readdir(fs, d, cookie, census_fn, &all), 0);
			free(all.seen);
			if (!all.emitted)
				break;
			cookies[m] = cookie = all.last_cookie;
		}
		CHECK(m > 2);
		CHECK_EQ(cookies[0], 1);
		CHECK_EQ(cookies[1], 2);
		for (i = 1; i < m; i++)
			CHECK(cookies[i] > cookies[i - 1]);
		/* past the end */
		census_init(&all, total, "e", d, ROOT, NULL);
		CHECK_EQ(tw_readdir(fs, d, ~0ull >> 1, census_fn, &all), 0);
		CHECK_EQ(all.emitted, 0);
		free(all.seen);
	}

	/* remount and verify the final state */
	fs = ct_remount(fs);
	census_init(&c, total, "e", d, ROOT, NULL);
	CHECK_EQ(tw_readdir(fs, d, 0, census_fn, &c), 0);
	for (i = 0, bad = 0; i < total; i++) {
		if (c.seen[i] != exists[i])
			bad++;
		entry_name(name, sizeof(name), "e", i);
		if ((ct_lookup(fs, d, name, NULL) == 0) != exists[i])
			bad++;
	}
	CHECK_EQ(bad, 0);
	free(c.seen);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(exists);
	free(touched);
	free(lives);
	free(inos);
}

static void test_cookies_small(void)
{
	/* a single entry block (no index), then a few blocks */
	test_cookies(20, 3, 1);
	test_cookies(300, 7, 2);
}

static void test_cookies_large(void)
{
	test_cookies(2000, 41, 3);
	test_cookies(5000, 97, 3);
	test_cookies(20000, 1000, 4);
}

static void test_readdir_misc(void)
{
	struct tw_dev *dev = ct_ram_mkfs(4096, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct census c;
	u64 d, f, sub;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	REQUIRE_EQ(ct_mkdir(fs, d, "sub", &sub), 0);
	REQUIRE_EQ(ct_create(fs, d, "e0-", 0644, &f), 0);

	/* an empty directory: "." and ".." */
	census_init(&c, 1, "e", sub, d, NULL);
	CHECK_EQ(tw_readdir(fs, sub, 0, census_fn, &c), 0);
	CHECK_EQ(c.emitted, 2);
	CHECK_EQ(c.dot, 1);
	CHECK_EQ(c.dotdot, 1);
	CHECK_EQ(c.bad_ino, 0);
	free(c.seen);
	/* resuming after "." gives ".." */
	census_init(&c, 1, "e", sub, d, NULL);
	CHECK_EQ(tw_readdir(fs, sub, 1, census_fn, &c), 0);
	CHECK_EQ(c.dot, 0);
	CHECK_EQ(c.dotdot, 1);
	free(c.seen);
	/* the root's ".." is itself */
	census_init(&c, 1, "e", ROOT, ROOT, NULL);
	CHECK_EQ(tw_readdir(fs, ROOT, 0, census_fn, &c), 0);
	CHECK_EQ(c.bad_ino, 0);
	free(c.seen);
	/* d_type of a directory entry */
	census_init(&c, 1, "e", d, ROOT, NULL);
	CHECK_EQ(tw_readdir(fs, d, 0, census_fn, &c), 0);
	CHECK_EQ(c.seen[0], 1);
	CHECK_EQ(c.other, 1); /* "sub" */
	free(c.seen);
	/* not a directory */
	census_init(&c, 1, "e", f, d, NULL);
	CHECK_EQ(tw_readdir(fs, f, 0, census_fn, &c), -ENOTDIR);
	free(c.seen);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

int main(void)
{
	RUN(test_readdir_misc);
	RUN(test_cookies_small);
	RUN(test_cookies_large);
	RUN(test_big_directory);
	return ct_done();
}
