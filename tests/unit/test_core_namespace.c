// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_namespace.c - the core's namespace operations: mkdir/rmdir,
 * unlink and link counts, hard links, symlinks (inline, in a block, at and
 * past the limit), name lengths, rename in every case and with every flag,
 * and the lifetime of unlinked inodes (the orphan list: tw_evict and mount
 * recovery).
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h).
 */
#include "tw_coretest.h"

#define FS_BLOCKS 32768u /* 128 MiB */
#define FS_INODES 4096u

#define ROOT TW_ROOT_INO

static struct tw_fs *fresh(struct tw_dev **devp)
{
	*devp = ct_ram_mkfs(FS_BLOCKS, FS_INODES, 0);
	return ct_mount(*devp);
}

static void done(struct tw_fs *fs)
{
	struct tw_dev *dev = tw_fs_dev(fs);

	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

static u32 nlink_of(struct tw_fs *fs, u64 ino)
{
	return ct_getattr(fs, ino).nlink;
}

static u64 parent_of(struct tw_fs *fs, u64 dir)
{
	struct tw_attr a;

	CHECK_EQ(ct_lookup(fs, dir, "..", &a), 0);
	return a.ino;
}

/* ---- directories ---- */

static void test_mkdir_rmdir(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	struct tw_statfs s0 = ct_statfs(fs);
	struct tw_attr a;
	u64 d, f, sub;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	a = ct_getattr(fs, d);
	CHECK_EQ(a.mode, TW_S_IFDIR | 0755);
	CHECK_EQ(a.nlink, 2);
	CHECK_EQ(a.size, 4096);
	CHECK_EQ(nlink_of(fs, ROOT), 3);
	CHECK_EQ(parent_of(fs, d), ROOT);
	CHECK_EQ(ct_lookup(fs, d, ".", &a), 0);
	CHECK_EQ(a.ino, d);
	CHECK_EQ(ct_mkdir(fs, ROOT, "d", NULL), -EEXIST);
	CHECK_EQ(ct_create(fs, ROOT, "d", 0644, NULL), -EEXIST);
	CHECK_EQ(ct_mkdir(fs, ROOT, ".", NULL), -EEXIST);
	CHECK_EQ(ct_mkdir(fs, ROOT, "..", NULL), -EEXIST);

	REQUIRE_EQ(ct_create(fs, d, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_mkdir(fs, d, "sub", &sub), 0);
	CHECK_EQ(nlink_of(fs, d), 3);
	CHECK_EQ(parent_of(fs, sub), d);
	CHECK_EQ(ct_rmdir(fs, ROOT, "d"), -ENOTEMPTY);
	CHECK_EQ(ct_rmdir(fs, d, "f"), -ENOTDIR);
	CHECK_EQ(ct_unlink(fs, ROOT, "d"), -EISDIR);
	CHECK_EQ(ct_unlink(fs, d, "sub"), -EISDIR);
	CHECK_EQ(ct_mkdir(fs, f, "x", NULL), -ENOTDIR);
	CHECK_EQ(ct_create(fs, f, "x", 0644, NULL), -ENOTDIR);
	CHECK_EQ(ct_rmdir(fs, f, "x"), -ENOTDIR);
	CHECK_EQ(ct_rmdir(fs, d, "nothere"), -ENOENT);
	CHECK_EQ(ct_unlink(fs, d, "nothere"), -ENOENT);
	CHECK_EQ(ct_rmdir(fs, d, "."), -EINVAL);
	CHECK_EQ(ct_rmdir(fs, d, ".."), -ENOTEMPTY);
	CHECK_EQ(ct_unlink(fs, d, "."), -EISDIR);
	CHECK_EQ(ct_lookup(fs, d, "", NULL), -ENOENT);

	CHECK_EQ(ct_rmdir(fs, d, "sub"), 0);
	CHECK_EQ(nlink_of(fs, d), 2);
	CHECK_EQ(ct_unlink(fs, d, "f"), 0);
	CHECK_EQ(ct_lookup(fs, d, "f", NULL), -ENOENT);
	CHECK_EQ(ct_rmdir(fs, ROOT, "d"), 0);
	CHECK_EQ(nlink_of(fs, ROOT), 2);
	CHECK_EQ(ct_lookup(fs, ROOT, "d", NULL), -ENOENT);
	/* everything given back (the root's entry block stays) */
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
	CHECK(s0.bfree - ct_statfs(fs).bfree <= 1);

	/* a removed directory that the home still holds cannot gain names */
	{
		u64 ino = 0;
		u32 nl = 1;

		REQUIRE_EQ(ct_mkdir(fs, ROOT, "gone", &d), 0);
		CHECK_EQ(tw_rmdir(fs, ROOT, "gone", 4, &ino, &nl), 0);
		CHECK_EQ(ino, d);
		CHECK_EQ(nl, 0);
		CHECK_EQ(ct_create(fs, d, "x", 0644, NULL), -ENOENT);
		CHECK_EQ(ct_mkdir(fs, d, "x", NULL), -ENOENT);
		CHECK_EQ(tw_evict(fs, d), 0);
	}

	/* mode and set-group-ID inheritance */
	{
		struct tw_cred c = { 10, 20 };
		struct tw_setattr sa = { 0 };
		u64 g;

		REQUIRE_EQ(tw_mkdir(fs, &ct_root, ROOT, "sgid", 4, 02775, &a),
			   0);
		g = a.ino;
		sa.valid = TW_SET_GID | TW_SET_MODE;
		sa.gid = 99;
		sa.mode = 02775;
		CHECK_EQ(tw_setattr(fs, g, &sa, NULL), 0);
		CHECK_EQ(tw_mkdir(fs, &c, g, "sub", 3, 0700, &a), 0);
		CHECK_EQ(a.uid, 10);
		CHECK_EQ(a.gid, 99);
		CHECK_EQ(a.mode, TW_S_IFDIR | 02700);
		CHECK_EQ(tw_mknod(fs, &c, g, "file", 4, TW_S_IFREG | 0600, 0,
				  &a),
			 0);
		CHECK_EQ(a.gid, 99);
		CHECK_EQ(a.mode, TW_S_IFREG | 0600);
	}
	fs = ct_remount(fs);
	CHECK_EQ(nlink_of(fs, ROOT), 3);
	done(fs);
}

static void test_names(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	char n255[256], n256[257];
	struct tw_attr a;
	u64 ino, d;

	memset(n255, 'x', 255);
	n255[255] = 0;
	memset(n256, 'y', 256);
	n256[256] = 0;
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);

	CHECK_EQ(ct_create(fs, d, n255, 0644, &ino), 0);
	CHECK_EQ(ct_lookup(fs, d, n255, &a), 0);
	CHECK_EQ(a.ino, ino);
	CHECK_EQ(ct_create(fs, d, n255, 0644, NULL), -EEXIST);
	CHECK_EQ(ct_create(fs, d, n256, 0644, NULL), -ENAMETOOLONG);
	CHECK_EQ(ct_mkdir(fs, d, n256, NULL), -ENAMETOOLONG);
	CHECK_EQ(ct_symlink(fs, d, n256, "t", 1, NULL), -ENAMETOOLONG);
	CHECK_EQ(ct_lookup(fs, d, n256, NULL), -ENAMETOOLONG);
	CHECK_EQ(ct_unlink(fs, d, n256), -ENAMETOOLONG);
	CHECK_EQ(ct_rmdir(fs, d, n256), -ENAMETOOLONG);
	CHECK_EQ(tw_link(fs, ino, d, n256, 256, NULL), -ENAMETOOLONG);
	CHECK_EQ(ct_rename(fs, d, n255, d, n256, 0), -ENAMETOOLONG);
	CHECK_EQ(ct_rename(fs, d, n256, d, "z", 0), -ENAMETOOLONG);

	/* 255 bytes everywhere a name goes */
	n255[0] = 'D';
	CHECK_EQ(ct_mkdir(fs, d, n255, NULL), 0);
	n255[0] = 'S';
	CHECK_EQ(ct_symlink(fs, d, n255, "t", 1, NULL), 0);
	n255[0] = 'L';
	CHECK_EQ(tw_link(fs, ino, d, n255, 255, NULL), 0);
	n255[0] = 'R';
	memset(n256, 'x', 255);
	n256[255] = 0;
	CHECK_EQ(ct_rename(fs, d, n256, d, n255, 0), 0);
	CHECK_EQ(ct_ino(fs, d, n255), ino);

	/* names are bytes: anything but '/' and NUL, any case */
	CHECK_EQ(ct_create(fs, d, "A", 0644, NULL), 0);
	CHECK_EQ(ct_create(fs, d, "a", 0644, NULL), 0);
	CHECK_EQ(ct_create(fs, d, "\xc3\xa9t\xc3\xa9", 0644, NULL), 0);
	CHECK_EQ(ct_create(fs, d, "...", 0644, NULL), 0);
	CHECK_EQ(ct_create(fs, d, ".hidden", 0644, NULL), 0);
	CHECK(ct_ino(fs, d, "A") != ct_ino(fs, d, "a"));

	fs = ct_remount(fs);
	n255[0] = 'D';
	CHECK(ct_ino(fs, d, n255) != 0);
	n255[0] = 'R';
	CHECK_EQ(ct_ino(fs, d, n255), ino);
	CHECK(ct_ino(fs, d, "\xc3\xa9t\xc3\xa9") != 0);
	done(fs);
}

/* ---- links ---- */

static void test_unlink_link(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	struct tw_attr a;
	u64 f, d1, d2, ino;
	u32 nl;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d1", &d1), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d2", &d2), 0);
	REQUIRE_EQ(ct_create(fs, d1, "f", 0644, &f), 0);
	CHECK_EQ(tw_write(fs, f, 0, "data", 4), 4);

	CHECK_EQ(tw_link(fs, f, d1, "g", 1, &a), 0);
	CHECK_EQ(a.nlink, 2);
	CHECK_EQ(tw_link(fs, f, d2, "h", 1, &a), 0);
	CHECK_EQ(a.nlink, 3);
	CHECK_EQ(ct_ino(fs, d2, "h"), f);
	CHECK_EQ(tw_link(fs, f, d2, "h", 1, &a), -EEXIST);
	CHECK_EQ(tw_link(fs, d1, d2, "dirlink", 7, &a), -EPERM);
	CHECK_EQ(tw_link(fs, f, f, "x", 1, &a), -ENOTDIR);
	CHECK_EQ(tw_link(fs, f, d2, ".", 1, &a), -EEXIST);

	CHECK_EQ(tw_unlink(fs, d1, "f", 1, &ino, &nl), 0);
	CHECK_EQ(ino, f);
	CHECK_EQ(nl, 2);
	CHECK_EQ(nlink_of(fs, f), 2);
	CHECK_EQ(tw_unlink(fs, d1, "g", 1, &ino, &nl), 0);
	CHECK_EQ(nl, 1);
	fs = ct_remount(fs);
	CHECK_EQ(nlink_of(fs, f), 1);
	{
		char buf[8];

		CHECK_EQ(tw_read(fs, f, 0, buf, 8), 4);
	}
	CHECK_EQ(tw_unlink(fs, d2, "h", 1, &ino, &nl), 0);
	CHECK_EQ(nl, 0);
	/* not evicted yet: still there by number, but cannot be linked */
	CHECK_EQ(nlink_of(fs, f), 0);
	CHECK_EQ(tw_link(fs, f, d2, "back", 4, &a), -ENOENT);
	CHECK_EQ(tw_evict(fs, f), 0);
	CHECK(tw_getattr(fs, f, &a) < 0);
	CHECK_EQ(tw_evict(fs, f), 0); /* twice is harmless */
	done(fs);
}

static void test_emlink(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, FS_INODES, 0);
	struct tw_fs *fs = ct_mount(dev);
	const u32 per_dir = 3250; /* the links spread over 20 directories */
	double t0 = ct_seconds();
	char name[16];
	struct tw_attr a;
	u64 f, d = 0;
	u32 i;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	for (i = 1; i < TW_LINK_MAX; i++) {
		int len, err;

		if (i % per_dir == 1) {
			snprintf(name, sizeof(name), "d%u", i / per_dir);
			REQUIRE_EQ(ct_mkdir(fs, ROOT, name, &d), 0);
		}
		len = snprintf(name, sizeof(name), "l%u", i);
		err = tw_link(fs, f, d, name, (u32)len, &a);
		if (err) {
			CHECK_EQ(err, 0);
			fprintf(stderr, "  at link %u\n", i);
			break;
		}
	}
	CHECK_EQ(nlink_of(fs, f), TW_LINK_MAX);
	CHECK_EQ(tw_link(fs, f, ROOT, "one-too-many", 12, &a), -EMLINK);
	fprintf(stderr, "  %u links in %.2f s\n", TW_LINK_MAX,
		ct_seconds() - t0);
	fs = ct_remount(fs);
	CHECK_EQ(nlink_of(fs, f), TW_LINK_MAX);
	CHECK_EQ(tw_link(fs, f, ROOT, "one-too-many", 12, &a), -EMLINK);
	d = ct_ino(fs, ROOT, "d0");
	CHECK_EQ(ct_unlink(fs, d, "l77"), 0);
	CHECK_EQ(tw_link(fs, f, ROOT, "now-it-fits", 11, &a), 0);
	CHECK_EQ(a.nlink, TW_LINK_MAX);
	done(fs);
}

/*
 * A directory holds at most TW_LINK_MAX - 2 subdirectories: mkdir says
 * EMLINK after that, and so must a rename that would move one more
 * directory in (or swap one in for a file), which once went through and
 * left the parent with TW_LINK_MAX + 1 links.
 */
static void test_emlink_subdirs(void)
{
	const u32 max_sub = TW_LINK_MAX - 2;
	struct tw_dev *dev = ct_ram_mkfs(max_sub + 8192, max_sub + 64, 0);
	struct tw_fs *fs = ct_mount(dev);
	double t0 = ct_seconds();
	u64 full, other, mover, file;
	char name[16];
	u32 i;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "full", &full), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "other", &other), 0);
	REQUIRE_EQ(ct_mkdir(fs, other, "mover", &mover), 0);
	REQUIRE_EQ(ct_create(fs, full, "file", 0644, &file), 0);
	for (i = 0; i < max_sub; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		if (ct_mkdir(fs, full, name, NULL)) {
			CHECK_EQ(ct_mkdir(fs, full, name, NULL), 0);
			fprintf(stderr, "  at subdirectory %u\n", i);
			break;
		}
	}
	fprintf(stderr, "  %u subdirectories in %.2f s\n", max_sub,
		ct_seconds() - t0);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	CHECK_EQ(ct_mkdir(fs, full, "one-too-many", NULL), -EMLINK);
	/* moving a directory in: EMLINK, nothing changed */
	CHECK_EQ(ct_rename(fs, other, "mover", full, "mover", 0), -EMLINK);
	CHECK_EQ(ct_ino(fs, other, "mover"), mover);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	CHECK_EQ(nlink_of(fs, other), 3);
	/* swapping a directory in for a file: EMLINK, either way round */
	CHECK_EQ(
		ct_rename(fs, other, "mover", full, "file", TW_RENAME_EXCHANGE),
		-EMLINK);
	CHECK_EQ(
		ct_rename(fs, full, "file", other, "mover", TW_RENAME_EXCHANGE),
		-EMLINK);
	CHECK_EQ(ct_ino(fs, full, "file"), file);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	/* what keeps the count is allowed: within the directory, over an
	 * empty directory, a directory swapped for a directory, moving out */
	CHECK_EQ(ct_rename(fs, full, "s0", full, "s0-renamed", 0), 0);
	CHECK_EQ(ct_rename(fs, other, "mover", full, "s1", 0), 0);
	CHECK_EQ(ct_ino(fs, full, "s1"), mover);
	CHECK_EQ(ct_mkdir(fs, other, "mover2", NULL), 0);
	CHECK_EQ(ct_rename(fs, other, "mover2", full, "s2", TW_RENAME_EXCHANGE),
		 0);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	CHECK_EQ(ct_rename(fs, full, "s3", other, "out", 0), 0);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX - 1);
	CHECK_EQ(ct_rename(fs, other, "out", full, "back", 0), 0);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	fs = ct_remount(fs);
	CHECK_EQ(nlink_of(fs, full), TW_LINK_MAX);
	CHECK_EQ(ct_mkdir(fs, full, "one-too-many", NULL), -EMLINK);
	CHECK_EQ(ct_rmdir(fs, full, "s4"), 0);
	CHECK_EQ(ct_mkdir(fs, full, "now-it-fits", NULL), 0);
	done(fs);
}

/* ---- symlinks ---- */

/* Check a symlink; returns the blocks it owns (0 for an inline one). */
static u64 check_symlink(struct tw_fs *fs, u64 dir, const char *name,
			 const char *target, u32 tlen, bool inline_)
{
	char *buf = malloc(TW_SYML_MAX + 16);
	struct tw_attr a;
	ssize_t r;

	REQUIRE(buf);
	memset(&a, 0, sizeof(a));
	CHECK_EQ(ct_lookup(fs, dir, name, &a), 0);
	CHECK_EQ(a.mode, TW_S_IFLNK | 0777);
	CHECK_EQ(a.size, tlen);
	CHECK_EQ(a.nlink, 1);
	if (inline_)
		CHECK_EQ(a.blocks, 0);
	else
		CHECK(a.blocks >= 8);
	memset(buf, 0, TW_SYML_MAX + 16);
	r = tw_readlink(fs, a.ino, buf, TW_SYML_MAX + 16);
	CHECK_EQ(r, tlen);
	CHECK(!memcmp(buf, target, tlen));
	CHECK_EQ(buf[tlen], 0); /* nothing past the length */
	/* a short buffer gets a prefix */
	memset(buf, 0, 16);
	CHECK_EQ(tw_readlink(fs, a.ino, buf, 5), tlen < 5 ? tlen : 5);
	CHECK(!memcmp(buf, target, tlen < 5 ? tlen : 5));
	free(buf);
	return a.blocks / 8;
}

static void test_symlinks(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	char *t = malloc(TW_SYML_MAX + 2);
	struct tw_statfs s0, s1;
	u32 lens[] = { 1,    3,		 126, TW_INLINE_MAX, TW_INLINE_MAX + 1,
		       1000, TW_SYML_MAX };
	u64 owned[CT_ARRAY_SIZE(lens)];
	char name[16], tmp[8];
	u64 d, l;
	size_t i;

	REQUIRE(t);
	for (i = 0; i < TW_SYML_MAX + 2; i++)
		t[i] = (char)('a' + i % 26);
	t[0] = '/';
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	/* (the directory's first entry block, before counting blocks) */
	REQUIRE_EQ(ct_create(fs, d, "first", 0644, NULL), 0);
	/* (the limits are the format's: TW_INLINE_MAX in the inode's block
	 * map, up to TW_SYML_MAX in blocks, PATH_MAX - 1 at most) */
	CHECK(TW_INLINE_MAX >= 60 && TW_SYML_MAX >= 1024 &&
	      TW_SYML_MAX <= 4095);

	for (i = 0; i < CT_ARRAY_SIZE(lens); i++) {
		snprintf(name, sizeof(name), "s%u", lens[i]);
		s0 = ct_statfs(fs);
		CHECK_EQ(ct_symlink(fs, d, name, t, lens[i], &l), 0);
		s1 = ct_statfs(fs);
		owned[i] = check_symlink(fs, d, name, t, lens[i],
					 lens[i] <= TW_INLINE_MAX);
		/* exactly the blocks it owns were taken */
		CHECK_EQ(s0.bfree - s1.bfree, owned[i]);
	}
	CHECK_EQ(ct_symlink(fs, d, "too", t, TW_SYML_MAX + 1, NULL),
		 -ENAMETOOLONG);
	CHECK_EQ(ct_lookup(fs, d, "too", NULL), -ENOENT);
	CHECK_EQ(ct_symlink(fs, d, "empty", t, 0, NULL), -ENOENT);
	CHECK_EQ(ct_symlink(fs, d, "s1", t, 1, NULL), -EEXIST);
	CHECK_EQ(tw_readlink(fs, d, t, 10), -EINVAL);
	{
		u64 f;

		REQUIRE_EQ(ct_create(fs, d, "file", 0644, &f), 0);
		CHECK_EQ(tw_readlink(fs, f, t, 10), -EINVAL);
		l = ct_ino(fs, d, "s1000");
		CHECK_EQ(tw_read(fs, l, 0, tmp, 1) < 0, 1);
		CHECK_EQ(tw_write(fs, l, 0, "x", 1) < 0, 1);
	}

	fs = ct_remount(fs);
	for (i = 0; i < TW_SYML_MAX + 2; i++)
		t[i] = (char)('a' + i % 26);
	t[0] = '/';
	for (i = 0; i < CT_ARRAY_SIZE(lens); i++) {
		snprintf(name, sizeof(name), "s%u", lens[i]);
		CHECK_EQ(check_symlink(fs, d, name, t, lens[i],
				       lens[i] <= TW_INLINE_MAX),
			 owned[i]);
	}
	/* removing them gives their blocks back */
	s0 = ct_statfs(fs);
	for (i = 0; i < CT_ARRAY_SIZE(lens); i++) {
		snprintf(name, sizeof(name), "s%u", lens[i]);
		CHECK_EQ(ct_unlink(fs, d, name), 0);
		s1 = ct_statfs(fs);
		CHECK_EQ(s1.bfree - s0.bfree, owned[i]);
		CHECK_EQ(s1.ffree - s0.ffree, 1);
		s0 = s1;
	}
	done(fs);
	free(t);
}

/* ---- rename ---- */

static void test_rename_basic(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	u64 d1, d2, a, b, x, victim;
	u32 vn;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d1", &d1), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d2", &d2), 0);
	REQUIRE_EQ(ct_create(fs, d1, "a", 0644, &a), 0);

	/* same directory */
	CHECK_EQ(ct_rename(fs, d1, "a", d1, "b", 0), 0);
	CHECK_EQ(ct_lookup(fs, d1, "a", NULL), -ENOENT);
	CHECK_EQ(ct_ino(fs, d1, "b"), a);
	CHECK_EQ(nlink_of(fs, a), 1);
	/* to itself */
	CHECK_EQ(ct_rename(fs, d1, "b", d1, "b", 0), 0);
	CHECK_EQ(ct_ino(fs, d1, "b"), a);
	/* across directories */
	CHECK_EQ(ct_rename(fs, d1, "b", d2, "c", 0), 0);
	CHECK_EQ(ct_lookup(fs, d1, "b", NULL), -ENOENT);
	CHECK_EQ(ct_ino(fs, d2, "c"), a);
	CHECK_EQ(nlink_of(fs, d1), 2);
	CHECK_EQ(nlink_of(fs, d2), 2);
	/* missing source, bad names and flags */
	CHECK_EQ(ct_rename(fs, d1, "nothere", d2, "z", 0), -ENOENT);
	CHECK_EQ(ct_rename(fs, d2, "c", 424242, "z", 0) < 0, 1);
	CHECK_EQ(ct_rename(fs, d2, ".", d1, "z", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, d2, "c", d1, "..", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, d2, "c", d1, "z",
			   TW_RENAME_EXCHANGE | TW_RENAME_NOREPLACE),
		 -EINVAL);
	CHECK_EQ(ct_rename(fs, d2, "c", d1, "z", 0x80), -EINVAL);
	CHECK_EQ(ct_rename(fs, d2, "c", a, "z", 0), -ENOTDIR);

	/* over a file: the victim loses a link */
	REQUIRE_EQ(ct_create(fs, d1, "v", 0644, &b), 0);
	CHECK_EQ(tw_link(fs, b, d1, "v2", 2, NULL), 0);
	CHECK_EQ(tw_rename(fs, NULL, d2, "c", 1, d1, "v", 1, 0, &victim, &vn),
		 0);
	CHECK_EQ(victim, b);
	CHECK_EQ(vn, 1);
	CHECK_EQ(ct_ino(fs, d1, "v"), a);
	CHECK_EQ(ct_ino(fs, d1, "v2"), b);
	CHECK_EQ(nlink_of(fs, b), 1);
	/* ... and its last one: it is an orphan until evicted */
	{
		struct tw_statfs s0 = ct_statfs(fs);

		CHECK_EQ(tw_rename(fs, NULL, d1, "v", 1, d1, "v2", 2, 0,
				   &victim, &vn),
			 0);
		CHECK_EQ(victim, b);
		CHECK_EQ(vn, 0);
		CHECK_EQ(nlink_of(fs, b), 0);
		CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
		CHECK_EQ(tw_evict(fs, b), 0);
		CHECK_EQ(ct_statfs(fs).ffree, s0.ffree + 1);
		CHECK_EQ(ct_ino(fs, d1, "v2"), a);
	}

	/* NOREPLACE */
	REQUIRE_EQ(ct_create(fs, d1, "x", 0644, &x), 0);
	CHECK_EQ(ct_rename(fs, d1, "v2", d1, "x", TW_RENAME_NOREPLACE),
		 -EEXIST);
	CHECK_EQ(ct_ino(fs, d1, "x"), x);
	CHECK_EQ(ct_ino(fs, d1, "v2"), a);
	CHECK_EQ(ct_rename(fs, d1, "v2", d2, "new", TW_RENAME_NOREPLACE), 0);
	CHECK_EQ(ct_ino(fs, d2, "new"), a);
	/* EXCHANGE needs both */
	CHECK_EQ(ct_rename(fs, d2, "new", d1, "absent", TW_RENAME_EXCHANGE),
		 -ENOENT);
	CHECK_EQ(ct_rename(fs, d2, "new", d1, "x", TW_RENAME_EXCHANGE), 0);
	CHECK_EQ(ct_ino(fs, d2, "new"), x);
	CHECK_EQ(ct_ino(fs, d1, "x"), a);
	CHECK_EQ(nlink_of(fs, x), 1);
	CHECK_EQ(nlink_of(fs, a), 1);

	/* hard links of one inode renamed onto each other: nothing happens */
	CHECK_EQ(tw_link(fs, a, d2, "hl", 2, NULL), 0);
	CHECK_EQ(nlink_of(fs, a), 2);
	CHECK_EQ(ct_rename(fs, d1, "x", d2, "hl", 0), 0);
	CHECK_EQ(ct_ino(fs, d1, "x"), a);
	CHECK_EQ(ct_ino(fs, d2, "hl"), a);
	CHECK_EQ(nlink_of(fs, a), 2);
	CHECK_EQ(ct_rename(fs, d1, "x", d2, "hl", TW_RENAME_EXCHANGE), 0);
	CHECK_EQ(ct_rename(fs, d1, "x", d2, "hl", TW_RENAME_NOREPLACE),
		 -EEXIST);
	CHECK_EQ(nlink_of(fs, a), 2);

	fs = ct_remount(fs);
	CHECK_EQ(ct_ino(fs, d1, "x"), a);
	CHECK_EQ(ct_ino(fs, d2, "hl"), a);
	CHECK_EQ(ct_ino(fs, d2, "new"), x);
	CHECK_EQ(nlink_of(fs, a), 2);
	done(fs);
}

static void test_rename_dirs(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	u64 p1, p2, a, b, c, e, f, victim;
	u32 vn;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "p1", &p1), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "p2", &p2), 0);
	REQUIRE_EQ(ct_mkdir(fs, p1, "a", &a), 0);
	REQUIRE_EQ(ct_mkdir(fs, a, "b", &b), 0);
	REQUIRE_EQ(ct_mkdir(fs, b, "c", &c), 0);
	REQUIRE_EQ(ct_create(fs, p2, "f", 0644, &f), 0);
	CHECK_EQ(nlink_of(fs, ROOT), 4);
	CHECK_EQ(nlink_of(fs, p1), 3);

	/* into its own subtree, or onto itself */
	CHECK_EQ(ct_rename(fs, p1, "a", b, "a", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, p1, "a", c, "x", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, p1, "a", a, "x", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, ROOT, "p1", c, "x", 0), -EINVAL);
	CHECK_EQ(ct_rename(fs, p1, "a", c, "x", TW_RENAME_NOREPLACE), -EINVAL);
	CHECK_EQ(parent_of(fs, a), p1);

	/* a directory moves: ".." follows, parents' link counts too */
	CHECK_EQ(ct_rename(fs, a, "b", p2, "b2", 0), 0);
	CHECK_EQ(parent_of(fs, b), p2);
	CHECK_EQ(parent_of(fs, c), b);
	CHECK_EQ(nlink_of(fs, a), 2);
	CHECK_EQ(nlink_of(fs, p2), 3);
	CHECK_EQ(nlink_of(fs, b), 3);
	/* within one directory: nothing changes but the name */
	CHECK_EQ(ct_rename(fs, p2, "b2", p2, "b3", 0), 0);
	CHECK_EQ(nlink_of(fs, p2), 3);
	CHECK_EQ(parent_of(fs, b), p2);

	/* file over dir, dir over file */
	CHECK_EQ(ct_rename(fs, p2, "f", p2, "b3", 0), -EISDIR);
	CHECK_EQ(ct_rename(fs, p2, "b3", p2, "f", 0), -ENOTDIR);
	CHECK_EQ(ct_rename(fs, p1, "a", p2, "f", 0), -ENOTDIR);
	/* over a non-empty directory */
	CHECK_EQ(ct_rename(fs, p1, "a", p2, "b3", 0), -ENOTEMPTY);
	CHECK_EQ(ct_rename(fs, ROOT, "p1", ROOT, "p2", 0), -ENOTEMPTY);
	/* over an empty one, across directories */
	REQUIRE_EQ(ct_mkdir(fs, p2, "empty", &e), 0);
	CHECK_EQ(nlink_of(fs, p2), 4);
	CHECK_EQ(tw_rename(fs, NULL, p1, "a", 1, p2, "empty", 5, 0, &victim,
			   &vn),
		 0);
	CHECK_EQ(victim, e);
	CHECK_EQ(vn, 0);
	CHECK_EQ(nlink_of(fs, e), 0);
	CHECK_EQ(tw_evict(fs, e), 0);
	CHECK_EQ(ct_ino(fs, p2, "empty"), a);
	CHECK_EQ(parent_of(fs, a), p2);
	CHECK_EQ(nlink_of(fs, p1), 2);
	CHECK_EQ(nlink_of(fs, p2), 4); /* b3, empty (now a), . and .. */
	/* over an empty one in the same directory */
	REQUIRE_EQ(ct_mkdir(fs, p2, "e2", &e), 0);
	CHECK_EQ(nlink_of(fs, p2), 5);
	CHECK_EQ(ct_rename(fs, p2, "e2", p2, "empty", 0), 0);
	CHECK_EQ(nlink_of(fs, p2), 4);
	CHECK_EQ(ct_ino(fs, p2, "empty"), e);

	/* EXCHANGE a file and a directory across directories */
	{
		u64 d, g;

		REQUIRE_EQ(ct_mkdir(fs, p1, "xd", &d), 0);
		REQUIRE_EQ(ct_mkdir(fs, d, "inner", NULL), 0);
		REQUIRE_EQ(ct_create(fs, p2, "xf", 0644, &g), 0);
		CHECK_EQ(nlink_of(fs, p1), 3);
		CHECK_EQ(nlink_of(fs, p2), 4);
		CHECK_EQ(ct_rename(fs, p1, "xd", p2, "xf", TW_RENAME_EXCHANGE),
			 0);
		CHECK_EQ(ct_ino(fs, p1, "xd"), g);
		CHECK_EQ(ct_ino(fs, p2, "xf"), d);
		CHECK_EQ(parent_of(fs, d), p2);
		CHECK_EQ(nlink_of(fs, p1), 2);
		CHECK_EQ(nlink_of(fs, p2), 5);
		CHECK_EQ(nlink_of(fs, d), 3);
		CHECK_EQ(nlink_of(fs, g), 1);
		/* and back */
		CHECK_EQ(ct_rename(fs, p2, "xf", p1, "xd", TW_RENAME_EXCHANGE),
			 0);
		CHECK_EQ(parent_of(fs, d), p1);
		CHECK_EQ(nlink_of(fs, p1), 3);
		CHECK_EQ(nlink_of(fs, p2), 4);
		/* two directories across */
		CHECK_EQ(ct_rename(fs, p1, "xd", p2, "b3", TW_RENAME_EXCHANGE),
			 0);
		CHECK_EQ(parent_of(fs, d), p2);
		CHECK_EQ(parent_of(fs, b), p1);
		CHECK_EQ(nlink_of(fs, p1), 3);
		CHECK_EQ(nlink_of(fs, p2), 4);
		/* exchange with an ancestor is a loop */
		CHECK_EQ(
			ct_rename(fs, ROOT, "p1", p1, "xd", TW_RENAME_EXCHANGE),
			-EINVAL);
		CHECK_EQ(
			ct_rename(fs, p1, "xd", ROOT, "p1", TW_RENAME_EXCHANGE),
			-EINVAL);
	}

	fs = ct_remount(fs);
	CHECK_EQ(nlink_of(fs, ROOT), 4);
	CHECK_EQ(nlink_of(fs, p1), 3);
	CHECK_EQ(nlink_of(fs, p2), 4);
	CHECK_EQ(parent_of(fs, b), p1);
	CHECK_EQ(parent_of(fs, c), b);
	CHECK_EQ(ct_ino(fs, p1, "xd"), b);
	done(fs);
}

/* ---- unlinked inodes: tw_evict and orphan recovery ---- */

static void test_orphans(void)
{
	struct tw_dev *dev;
	struct tw_fs *fs = fresh(&dev);
	struct tw_statfs s0, s1;
	char *buf = malloc(1 << 20), *got = malloc(1 << 20);
	struct tw_attr a;
	u64 f, d, ino;
	u32 nl;

	REQUIRE(buf && got);
	ct_fill(buf, 1 << 20, 9, 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	REQUIRE_EQ(ct_create(fs, d, "keep", 0644, NULL), 0);
	s0 = ct_statfs(fs);

	/* unlinked but held: readable by number until evicted */
	REQUIRE_EQ(ct_create(fs, d, "f", 0644, &f), 0);
	CHECK_EQ(tw_write(fs, f, 0, buf, 1 << 20), 1 << 20);
	s1 = ct_statfs(fs);
	CHECK_EQ(tw_unlink(fs, d, "f", 1, &ino, &nl), 0);
	CHECK_EQ(nl, 0);
	CHECK_EQ(tw_getattr(fs, f, &a), 0);
	CHECK_EQ(a.nlink, 0);
	CHECK_EQ(a.size, 1 << 20);
	CHECK_EQ(tw_read(fs, f, 0, got, 1 << 20), 1 << 20);
	CHECK(!memcmp(got, buf, 1 << 20));
	CHECK_EQ(tw_write(fs, f, 1 << 20, "more", 4), 4);
	CHECK_EQ(ct_statfs(fs).bfree, s1.bfree - 1);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - 1);
	CHECK_EQ(tw_evict(fs, f), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
	CHECK(tw_getattr(fs, f, &a) < 0);
	/* evicting a linked inode does nothing */
	CHECK_EQ(tw_evict(fs, ct_ino(fs, d, "keep")), 0);
	CHECK(ct_ino(fs, d, "keep") != 0);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);

	/* unmounted without evict: mount's orphan recovery frees it */
	REQUIRE_EQ(ct_create(fs, d, "f2", 0644, &f), 0);
	CHECK_EQ(tw_write(fs, f, 12345, buf, 1 << 20), 1 << 20);
	CHECK_EQ(tw_setxattr(fs, f, "user.x", "v", 1, 0), 0);
	CHECK_EQ(tw_unlink(fs, d, "f2", 2, &ino, &nl), 0);
	CHECK_EQ(nl, 0);
	/* and a removed directory, and a file renamed over */
	{
		u64 sub, over;

		REQUIRE_EQ(ct_mkdir(fs, d, "sub", &sub), 0);
		CHECK_EQ(tw_rmdir(fs, d, "sub", 3, &ino, &nl), 0);
		CHECK_EQ(ino, sub);
		CHECK_EQ(nl, 0);
		REQUIRE_EQ(ct_create(fs, d, "over", 0644, &over), 0);
		CHECK_EQ(tw_write(fs, over, 0, buf, 5000), 5000);
		REQUIRE_EQ(ct_create(fs, d, "src", 0644, NULL), 0);
		CHECK_EQ(tw_rename(fs, NULL, d, "src", 3, d, "over", 4, 0, &ino,
				   &nl),
			 0);
		CHECK_EQ(ino, over);
		CHECK_EQ(nl, 0);
	}
	CHECK(ct_statfs(fs).ffree < s0.ffree - 1);
	fs = ct_remount(fs);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - 1); /* "src" (now "over") */
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK(tw_getattr(fs, f, &a) < 0);
	CHECK_EQ(ct_lookup(fs, d, "f2", NULL), -ENOENT);
	CHECK_EQ(ct_lookup(fs, d, "sub", NULL), -ENOENT);
	CHECK_EQ(nlink_of(fs, d), 2);
	/* an orphan still held may be truncated: it stays an orphan, and
	 * mount frees it all the same */
	{
		struct tw_statfs s2 = ct_statfs(fs);

		REQUIRE_EQ(ct_create(fs, d, "f4", 0644, &f), 0);
		CHECK_EQ(tw_write(fs, f, 0, buf, 100000), 100000);
		CHECK_EQ(tw_unlink(fs, d, "f4", 2, &ino, &nl), 0);
		CHECK_EQ(nl, 0);
		CHECK_EQ(ct_truncate(fs, f, 10000), 0);
		CHECK_EQ(ct_getattr(fs, f).size, 10000);
		fs = ct_remount(fs);
		CHECK(tw_getattr(fs, f, &a) < 0);
		CHECK_EQ(ct_statfs(fs).ffree, s2.ffree);
		CHECK_EQ(ct_statfs(fs).bfree, s2.bfree);
	}
	/* the slots can be used again */
	REQUIRE_EQ(ct_create(fs, d, "f3", 0644, &f), 0);
	CHECK_EQ(tw_write(fs, f, 0, buf, 100), 100);
	fs = ct_remount(fs);
	CHECK_EQ(ct_getattr(fs, f).size, 100);
	done(fs);

	/* many orphans at once: more than one orphan block's worth */
	{
		const u32 n = TW_ORPHAN_SLOTS + 100;
		char name[16];
		u32 i;

		dev = ct_ram_mkfs(FS_BLOCKS, 16384, 0);
		fs = ct_mount(dev);
		s0 = ct_statfs(fs);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "o%u", i);
			if (ct_create(fs, ROOT, name, 0644, &f)) {
				CHECK_EQ(ct_create(fs, ROOT, name, 0644, &f),
					 0);
				break;
			}
			CHECK_EQ(tw_unlink(fs, ROOT, name, (u32)strlen(name),
					   NULL, &nl),
				 0);
		}
		CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - n);
		fs = ct_remount(fs);
		CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
		done(fs);
	}
	free(buf);
	free(got);
}

/* O_TMPFILE: unnamed, on the orphan list from creation, linkable once */
static void test_tmpfile(void)
{
	static const struct tw_cred cred = { 1000, 1000 };
	struct tw_dev *dev, *cdev;
	struct tw_fs *fs = fresh(&dev), *cfs;
	struct tw_statfs s0;
	struct tw_attr a;
	char buf[5000];
	u64 d, t, t2;

	ct_fill(buf, sizeof(buf), 4, 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	s0 = ct_statfs(fs);
	CHECK_EQ(tw_tmpfile(fs, &cred, d, TW_S_IFDIR | 0755, &a), -EINVAL);
	CHECK_EQ(tw_tmpfile(fs, &cred, ROOT + 1000, 0600, &a), -ENOENT);
	REQUIRE_EQ(tw_tmpfile(fs, &cred, d, 0600, &a), 0);
	t = a.ino;
	CHECK_EQ(a.nlink, 0);
	CHECK_EQ(a.mode, TW_S_IFREG | 0600);
	CHECK_EQ(a.uid, 1000);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - 1);
	CHECK_EQ(tw_write(fs, t, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	/* plain tw_link refuses an inode without links */
	CHECK_EQ(tw_link(fs, t, d, "n", 1, &a), -ENOENT);
	/* a crash now (the transaction committed): mount frees it */
	REQUIRE_EQ(tw_sync(fs), 0);
	cdev = ct_dev_from_image(ct_ram_of(dev), FS_BLOCKS);
	cfs = ct_mount(cdev);
	CHECK_EQ(ct_statfs(cfs).ffree, s0.ffree);
	CHECK_EQ(ct_statfs(cfs).bfree, s0.bfree);
	CHECK(tw_getattr(cfs, t, &a) < 0);
	done(cfs);
	/* linked: off the orphan list, survives a remount */
	CHECK_EQ(tw_link_tmpfile(fs, t, d, "n", 1, &a), 0);
	CHECK_EQ(a.nlink, 1);
	CHECK_EQ(tw_link_tmpfile(fs, t, ROOT, "n2", 2, &a), 0);
	CHECK_EQ(a.nlink, 2);
	/* one never linked and never evicted */
	REQUIRE_EQ(tw_tmpfile(fs, &cred, d, 0644, &a), 0);
	t2 = a.ino;
	CHECK_EQ(tw_write(fs, t2, 0, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	fs = ct_remount(fs);
	CHECK_EQ(ct_getattr(fs, t).size, sizeof(buf));
	CHECK_EQ(ct_getattr(fs, t).nlink, 2);
	CHECK_EQ(ct_ino(fs, d, "n"), t);
	CHECK(tw_getattr(fs, t2, &a) < 0);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - 1);
	/* evicted without a link: freed at once */
	REQUIRE_EQ(tw_tmpfile(fs, &cred, d, 0644, &a), 0);
	CHECK_EQ(tw_evict(fs, a.ino), 0);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree - 1);
	done(fs);
}

/* RENAME_WHITEOUT: the old name becomes a char device 0/0 atomically */
static void test_rename_whiteout(void)
{
	static const struct tw_cred cred = { 1000, 1001 };
	struct tw_dev *dev, *cdev;
	struct tw_fs *fs = fresh(&dev), *cfs;
	struct tw_statfs s0;
	struct tw_attr a;
	u64 d1, d2, f, sub, w, victim;
	u32 vn;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d1", &d1), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d2", &d2), 0);
	REQUIRE_EQ(ct_create(fs, d1, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_create(fs, d2, "g", 0644, NULL), 0);
	REQUIRE_EQ(ct_mkdir(fs, d1, "sub", &sub), 0);
	s0 = ct_statfs(fs);
	CHECK_EQ(tw_rename(fs, &cred, d1, "f", 1, d2, "g", 1,
			   TW_RENAME_WHITEOUT | TW_RENAME_EXCHANGE, NULL, NULL),
		 -EINVAL);
	CHECK_EQ(tw_rename(fs, &cred, d1, "f", 1, d2, "g", 1,
			   TW_RENAME_WHITEOUT | TW_RENAME_NOREPLACE, NULL,
			   NULL),
		 -EEXIST);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
	/* over an existing file, across directories */
	CHECK_EQ(tw_rename(fs, &cred, d1, "f", 1, d2, "g", 1,
			   TW_RENAME_WHITEOUT, &victim, &vn),
		 0);
	CHECK_EQ(vn, 0);
	CHECK_EQ(ct_ino(fs, d2, "g"), f);
	REQUIRE_EQ(ct_lookup(fs, d1, "f", &a), 0);
	w = a.ino;
	CHECK(w != f);
	CHECK_EQ(a.mode, TW_S_IFCHR);
	CHECK_EQ(a.rdev, 0);
	CHECK_EQ(a.nlink, 1);
	CHECK_EQ(a.uid, 1000);
	CHECK_EQ(a.gid, 1001);
	CHECK_EQ(tw_evict(fs, victim), 0);
	/* a directory: its old parent loses a link, the whiteout none */
	CHECK_EQ(tw_rename(fs, NULL, d1, "sub", 3, d2, "sub", 3,
			   TW_RENAME_WHITEOUT, NULL, NULL),
		 0);
	CHECK_EQ(nlink_of(fs, d1), 2);
	CHECK_EQ(nlink_of(fs, d2), 3);
	REQUIRE_EQ(ct_lookup(fs, d1, "sub", &a), 0);
	CHECK_EQ(a.mode, TW_S_IFCHR);
	CHECK_EQ(a.uid, 0);
	/* a crash after the commit shows the rename and the whiteout */
	REQUIRE_EQ(tw_sync(fs), 0);
	cdev = ct_dev_from_image(ct_ram_of(dev), FS_BLOCKS);
	cfs = ct_mount(cdev);
	REQUIRE_EQ(ct_lookup(cfs, d1, "f", &a), 0);
	CHECK_EQ(a.ino, w);
	CHECK_EQ(a.mode, TW_S_IFCHR);
	CHECK_EQ(ct_ino(cfs, d2, "g"), f);
	CHECK_EQ(ct_ino(cfs, d2, "sub"), sub);
	done(cfs);
	fs = ct_remount(fs);
	CHECK_EQ(ct_getattr(fs, w).mode, TW_S_IFCHR);
	/* whiteouts are ordinary nodes: removed like any */
	CHECK_EQ(ct_unlink(fs, d1, "f"), 0);
	CHECK_EQ(ct_unlink(fs, d1, "sub"), 0);
	done(fs);
}

int main(void)
{
	RUN(test_mkdir_rmdir);
	RUN(test_names);
	RUN(test_unlink_link);
	RUN(test_emlink);
	RUN(test_emlink_subdirs);
	RUN(test_symlinks);
	RUN(test_rename_basic);
	RUN(test_rename_dirs);
	RUN(test_orphans);
	RUN(test_tmpfile);
	RUN(test_rename_whiteout);
	return ct_done();
}
