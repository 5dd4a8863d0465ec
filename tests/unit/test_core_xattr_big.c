// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_xattr_big.c - extended attributes beyond one block: thousands
 * of names up to the listxattr() limit, values up to 64 KiB in value
 * blocks, replacing and removing them (every block given back, i_blocks
 * exact), -ENOSPC on a full filesystem leaving the old state, the smallest
 * journal, freeing on unlink and after a crash (the orphan list), the
 * POSIX ACLs beside them, damaged value blocks, the one-block form and the
 * feature flag, and every crash state of a replace.  After each step the
 * filesystem is unmounted and checked by fsck (tools/fsck*.c, read-only:
 * it must find nothing) and the tree walked.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device and write recorder (tw_user.h), with
 * the checker as a library (tools/fsck.h).
 */
#include "tw_coretest.h"
#include "fsck.h"

#define ROOT TW_ROOT_INO
#define KIB64 65536u

static u32 incompat(struct tw_fs *fs)
{
	return TW_GET32(tw_fs_super(fs), s_feature_incompat);
}

static u64 blocks_of(struct tw_fs *fs, u64 ino)
{
	return ct_getattr(fs, ino).blocks / 8; /* 4 KiB blocks */
}

/* fsck -n on the unmounted device: how many problems it found, or -1. */
static int fsck_problems(struct tw_dev *dev)
{
	struct fsck_opts o;
	struct fsck_result r;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.mode = FSCK_MODE_NO;
	o.quiet = true;
	o.out = stderr;
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	rc = fsck_run_dev(dev, "ram", &o, &r);
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	if (rc != FSCK_OK)
		fprintf(stderr, "  fsck: exit %d, %u problem(s)\n", rc,
			r.found);
	return rc == FSCK_OK ? (int)r.found : -1;
}

/* Unmount, fsck (must be clean), mount again, walk the tree. */
static struct tw_fs *checked(struct tw_fs *fs, int line)
{
	struct tw_dev *dev = tw_fs_dev(fs);
	int n;

	REQUIRE_EQ(tw_unmount(fs), 0);
	n = fsck_problems(dev);
	if (n) {
		fprintf(stderr, "%s:%d: (from line %d) fsck: %d\n", __FILE__,
			__LINE__, line, n);
		ct_failed();
	}
	fs = ct_mount(dev);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	return fs;
}

#define CHECKED(fs) checked(fs, __LINE__)

static void done(struct tw_fs *fs)
{
	struct tw_dev *dev = tw_fs_dev(fs);

	fs = CHECKED(fs);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/* getxattr gives @len bytes of pattern @seed, and says so to a size query
 * and ERANGE to a buffer one byte short. */
static void expect_pat(struct tw_fs *fs, u64 ino, const char *name, u32 len,
		       u64 seed, int line)
{
	static u8 buf[KIB64 + 100];
	ssize_t r;

	r = tw_getxattr(fs, ino, name, NULL, 0);
	if (r != (ssize_t)len) {
		fprintf(stderr,
			"%s:%d: (from line %d) size of %s: %zd%s, want %u\n",
			__FILE__, __LINE__, line, name, r, ct_errname(r), len);
		ct_failed();
		return;
	}
	memset(buf, 0xa5, sizeof(buf));
	r = tw_getxattr(fs, ino, name, buf, sizeof(buf));
	if (r != (ssize_t)len || ct_check_pat(buf, len, seed, 0) >= 0) {
		fprintf(stderr,
			"%s:%d: (from line %d) value of %s: %zd%s, differs at %lld\n",
			__FILE__, __LINE__, line, name, r, ct_errname(r),
			ct_check_pat(buf, len, seed, 0));
		ct_failed();
		return;
	}
	if (len > 1) {
		r = tw_getxattr(fs, ino, name, buf, len - 1);
		if (r != -ERANGE) {
			fprintf(stderr,
				"%s:%d: (from line %d) short buffer for %s: %zd\n",
				__FILE__, __LINE__, line, name, r);
			ct_failed();
		}
	}
}

#define EXPECT_PAT(fs, ino, name, len, seed) \
	expect_pat(fs, ino, name, len, seed, __LINE__)

static int set_pat(struct tw_fs *fs, u64 ino, const char *name, u32 len,
		   u64 seed, u32 flags)
{
	static u8 buf[KIB64 + 100];

	ct_fill(buf, len, seed, 0);
	return tw_setxattr(fs, ino, name, buf, len, flags);
}

/* ------------------------------------------------------------------------ */
/* Thousands of names, up to what one listxattr() returns                    */
/* ------------------------------------------------------------------------ */

/* "user.n00000": 12 bytes of list each, so 65536 / 12 = 5461 fit. */
#define NNAMES 5461
#define NAMELEN 11

static void name_of(char *out, int i)
{
	snprintf(out, 16, "user.n%05d", i);
}

static void check_names(struct tw_fs *fs, u64 f, int n, int gone)
{
	static char list[KIB64 + 16];
	static u8 seen[NNAMES + 1];
	ssize_t r;
	char *p;
	int i, bad = 0;

	r = tw_listxattr(fs, f, NULL, 0);
	CHECK_EQ(r, (ssize_t)(n - (gone >= 0)) * (NAMELEN + 1));
	r = tw_listxattr(fs, f, list, sizeof(list));
	CHECK_EQ(r, (ssize_t)(n - (gone >= 0)) * (NAMELEN + 1));
	if (r < 0)
		return;
	memset(seen, 0, sizeof(seen));
	for (p = list; p < list + r; p += strlen(p) + 1) {
		i = atoi(p + 6);
		if (strlen(p) != NAMELEN || strncmp(p, "user.n", 6) || i >= n ||
		    i == gone || seen[i]++)
			bad++;
	}
	CHECK_EQ(bad, 0);
	/* too small a buffer: ERANGE, by one byte or by much */
	if (r > 1) {
		CHECK_EQ(tw_listxattr(fs, f, list, (size_t)r - 1), -ERANGE);
		CHECK_EQ(tw_listxattr(fs, f, list, 100), -ERANGE);
	}
	for (i = 0; i < n; i++) {
		char name[16], want[16], got[32];

		if (i == gone)
			continue;
		name_of(name, i);
		snprintf(want, sizeof(want), "v%d", i * 7);
		r = tw_getxattr(fs, f, name, got, sizeof(got));
		if (r != (ssize_t)strlen(want) || memcmp(got, want, r))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_many_names(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(16384, 0, 0));
	struct tw_statfs s0;
	char name[16], val[16];
	u64 f, g;
	int i, err = 0;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_create(fs, ROOT, "g", 0644, &g), 0);
	s0 = ct_statfs(fs);
	for (i = 0; i < NNAMES + 10 && !err; i++) {
		name_of(name, i);
		snprintf(val, sizeof(val), "v%d", i * 7);
		err = tw_setxattr(fs, f, name, val, strlen(val), 0);
		if (i == 600)
			/* beyond one block: the feature is on */
			CHECK(incompat(fs) & TW_FEATURE_INCOMPAT_XATTR_INDEX);
	}
	/* every name fit up to the list limit, and no more */
	CHECK_EQ(err, -ENOSPC);
	CHECK_EQ(i - 1, NNAMES);
	check_names(fs, f, NNAMES, -1);
	/* entries of 4 + 6 + (2..6) bytes, 16 at most: 22 entry blocks and
	 * the index, and statfs agrees */
	CHECK(blocks_of(fs, f) >= 2 && blocks_of(fs, f) <= 24);
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, blocks_of(fs, f));

	/* another inode is not limited by this one */
	CHECK_EQ(tw_setxattr(fs, g, "user.n00000", "x", 1, 0), 0);
	/* replacing an existing one is fine at the limit, a new name not */
	name_of(name, 100);
	CHECK_EQ(tw_setxattr(fs, f, name, "v700", 4, TW_XATTR_REPLACE), 0);
	CHECK_EQ(tw_setxattr(fs, f, name, "v700", 4, TW_XATTR_CREATE), -EEXIST);
	CHECK_EQ(tw_setxattr(fs, f, "user.z", "", 0, 0), -ENOSPC);
	/* a removal makes room for one more */
	name_of(name, 17);
	CHECK_EQ(tw_removexattr(fs, f, name), 0);
	CHECK_EQ(tw_removexattr(fs, f, name), -ENODATA);
	CHECK_EQ(tw_getxattr(fs, f, name, val, sizeof(val)), -ENODATA);
	check_names(fs, f, NNAMES, 17);
	CHECK_EQ(tw_setxattr(fs, f, name, "v119", 4, TW_XATTR_CREATE), 0);

	fs = CHECKED(fs);
	check_names(fs, f, NNAMES, -1);
	CHECK(incompat(fs) & TW_FEATURE_INCOMPAT_XATTR_INDEX);

	/* removing them all, in an odd order, gives every block back */
	for (i = 0; i < NNAMES; i++) {
		name_of(name, (i * 7919) % NNAMES);
		err = tw_removexattr(fs, f, name);
		if (err)
			break;
	}
	CHECK_EQ(err, 0);
	CHECK_EQ(tw_listxattr(fs, f, NULL, 0), 0);
	CHECK_EQ(blocks_of(fs, f), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree - 1); /* g's block */
	fs = CHECKED(fs);
	CHECK_EQ(blocks_of(fs, f), 0);
	CHECK_EQ(tw_listxattr(fs, f, NULL, 0), 0);
	/* the flag stays: other inodes may still need it */
	CHECK(incompat(fs) & TW_FEATURE_INCOMPAT_XATTR_INDEX);
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* Large values                                                              */
/* ------------------------------------------------------------------------ */

static void test_big_values(void)
{
	static const u32 sizes[] = { 1,	   1000, 1015, 1016,  2000,  4051, 4052,
				     4064, 4065, 8128, 40000, 65535, KIB64 };
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(16384, 0, 0));
	struct tw_statfs s0;
	char name[32];
	u64 f, h;
	u32 i;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_create(fs, ROOT, "h", 0644, &h), 0);
	s0 = ct_statfs(fs);

	/* one 64 KiB value: an index, an entry block, 17 value blocks */
	CHECK_EQ(set_pat(fs, h, "user.big", KIB64, 1, 0), 0);
	EXPECT_PAT(fs, h, "user.big", KIB64, 1);
	CHECK_EQ(blocks_of(fs, h), 1 + 1 + 17);
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, 19);
	/* too long */
	CHECK_EQ(set_pat(fs, h, "user.big", KIB64 + 1, 2, 0), -E2BIG);
	CHECK_EQ(set_pat(fs, h, "user.other", KIB64 + 1, 2, 0), -E2BIG);
	EXPECT_PAT(fs, h, "user.big", KIB64, 1);
	/* a bigger buffer than any value is fine */
	{
		static u8 huge[1 << 20];

		CHECK_EQ(tw_getxattr(fs, h, "user.big", huge, sizeof(huge)),
			 KIB64);
	}
	/* replaced by another 64 KiB value: the same number of blocks */
	CHECK_EQ(set_pat(fs, h, "user.big", KIB64, 3, TW_XATTR_REPLACE), 0);
	EXPECT_PAT(fs, h, "user.big", KIB64, 3);
	CHECK_EQ(blocks_of(fs, h), 19);
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, 19);
	/* by a short one: kept in its entry, the index stays */
	CHECK_EQ(set_pat(fs, h, "user.big", 10, 4, 0), 0);
	EXPECT_PAT(fs, h, "user.big", 10, 4);
	CHECK_EQ(blocks_of(fs, h), 2);
	/* and back */
	CHECK_EQ(set_pat(fs, h, "user.big", 4065, 5, 0), 0);
	EXPECT_PAT(fs, h, "user.big", 4065, 5);
	CHECK_EQ(blocks_of(fs, h), 2 + 2);
	fs = CHECKED(fs);
	EXPECT_PAT(fs, h, "user.big", 4065, 5);
	CHECK_EQ(tw_removexattr(fs, h, "user.big"), 0);
	CHECK_EQ(blocks_of(fs, h), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);

	/* every size around the edges, side by side on one inode */
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "trusted.v%u", sizes[i]);
		CHECK_EQ(set_pat(fs, f, name, sizes[i], sizes[i], 0), 0);
	}
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "trusted.v%u", sizes[i]);
		EXPECT_PAT(fs, f, name, sizes[i], sizes[i]);
	}
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, blocks_of(fs, f));
	fs = CHECKED(fs);
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		snprintf(name, sizeof(name), "trusted.v%u", sizes[i]);
		EXPECT_PAT(fs, f, name, sizes[i], sizes[i]);
	}
	/* each replaced by the next size up (and the last by the first) */
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		u32 to = sizes[(i + 1) % CT_ARRAY_SIZE(sizes)];

		snprintf(name, sizeof(name), "trusted.v%u", sizes[i]);
		CHECK_EQ(set_pat(fs, f, name, to, to + 1, TW_XATTR_REPLACE), 0);
		EXPECT_PAT(fs, f, name, to, to + 1);
	}
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, blocks_of(fs, f));
	fs = CHECKED(fs);
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		u32 to = sizes[(i + 1) % CT_ARRAY_SIZE(sizes)];

		snprintf(name, sizeof(name), "trusted.v%u", sizes[i]);
		EXPECT_PAT(fs, f, name, to, to + 1);
		CHECK_EQ(tw_removexattr(fs, f, name), 0);
	}
	CHECK_EQ(blocks_of(fs, f), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* A full filesystem: -ENOSPC, and the old state stays                       */
/* ------------------------------------------------------------------------ */

static void test_enospc(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(1024, 0, 128));
	static u8 chunk[64 * 1024];
	u64 f, g, off = 0, fb;
	struct tw_setattr sa;
	char list[256];
	ssize_t n, l0;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_create(fs, ROOT, "g", 0644, &g), 0);
	CHECK_EQ(set_pat(fs, f, "user.big", KIB64, 10, 0), 0);
	CHECK_EQ(set_pat(fs, f, "user.small", 100, 11, 0), 0);
	l0 = tw_listxattr(fs, f, list, sizeof(list));
	/* fill the filesystem with g's data */
	memset(chunk, 0x77, sizeof(chunk));
	for (;;) {
		n = tw_write(fs, g, off, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		off += (u64)n;
	}
	for (;;) {
		n = tw_write(fs, g, off, chunk, 4096);
		if (n <= 0)
			break;
		off += (u64)n;
	}
	REQUIRE_EQ(tw_sync(fs), 0);
	/* leave 10 blocks: fewer than a 64 KiB value needs */
	memset(&sa, 0, sizeof(sa));
	sa.valid = TW_SET_SIZE;
	sa.size = off - 10 * 4096;
	REQUIRE_EQ(tw_setattr(fs, g, &sa, NULL), 0);
	REQUIRE_EQ(tw_sync(fs), 0);
	fb = ct_statfs(fs).bfree;
	CHECK(fb >= 10 && fb < 17);

	/* replacing the big value, adding another: no room, nothing moves */
	CHECK_EQ(set_pat(fs, f, "user.big", KIB64, 12, 0), -ENOSPC);
	CHECK_EQ(set_pat(fs, f, "user.big2", KIB64, 12, 0), -ENOSPC);
	CHECK_EQ(set_pat(fs, f, "user.small", 50000, 12, 0), -ENOSPC);
	EXPECT_PAT(fs, f, "user.big", KIB64, 10);
	EXPECT_PAT(fs, f, "user.small", 100, 11);
	CHECK_EQ(tw_getxattr(fs, f, "user.big2", NULL, 0), -ENODATA);
	CHECK_EQ(tw_listxattr(fs, f, list, sizeof(list)), l0);
	CHECK_EQ(blocks_of(fs, f), 19);
	CHECK_EQ(ct_statfs(fs).bfree, fb);
	fs = CHECKED(fs);
	EXPECT_PAT(fs, f, "user.big", KIB64, 10);
	CHECK_EQ(ct_statfs(fs).bfree, fb);
	/* what fits still does: a value of 2 blocks, names in the entry block */
	CHECK_EQ(set_pat(fs, f, "user.mid", 8000, 13, 0), 0);
	CHECK_EQ(set_pat(fs, f, "user.tiny", 3, 14, 0), 0);
	EXPECT_PAT(fs, f, "user.mid", 8000, 13);
	/* with room again, the replace goes through */
	sa.size = off - 40 * 4096;
	REQUIRE_EQ(tw_setattr(fs, g, &sa, NULL), 0);
	CHECK_EQ(set_pat(fs, f, "user.big", KIB64, 12, 0), 0);
	EXPECT_PAT(fs, f, "user.big", KIB64, 12);
	EXPECT_PAT(fs, f, "user.small", 100, 11);
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* The smallest journal; freeing on unlink, and after a crash               */
/* ------------------------------------------------------------------------ */

#define NBIG 40 /* 40 values of 64 KiB: 680 value blocks */

static void fill_big(struct tw_fs *fs, u64 ino, u64 seed)
{
	char name[32];
	int i;

	for (i = 0; i < NBIG; i++) {
		snprintf(name, sizeof(name), "user.big%02d", i);
		CHECK_EQ(set_pat(fs, ino, name, KIB64 - (u32)i, seed + i, 0),
			 0);
	}
}

static void check_big(struct tw_fs *fs, u64 ino, u64 seed)
{
	char name[32];
	int i;

	for (i = 0; i < NBIG; i++) {
		snprintf(name, sizeof(name), "user.big%02d", i);
		EXPECT_PAT(fs, ino, name, KIB64 - (u32)i, seed + i);
	}
}

static void test_small_journal(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(4096, 0, TW_MIN_JOURNAL));
	struct tw_statfs s0;
	u32 nl;
	u64 f;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	s0 = ct_statfs(fs);
	fill_big(fs, f, 100);
	check_big(fs, f, 100);
	/* replace each: the old value's blocks go in the same transaction */
	fill_big(fs, f, 200);
	check_big(fs, f, 200);
	/* entries of 4 + 10 + 144 bytes: two entry blocks */
	CHECK_EQ(blocks_of(fs, f), 1 + 2 + NBIG * 17);
	fs = CHECKED(fs);
	check_big(fs, f, 200);
	/* unlink and evict: several transactions free 682 blocks */
	CHECK_EQ(tw_unlink(fs, ROOT, "f", 1, NULL, &nl), 0);
	CHECK_EQ(nl, 0);
	check_big(fs, f, 200); /* still open */
	CHECK_EQ(tw_evict(fs, f), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree + 1);
	done(fs);
}

static void test_orphan_crash(void)
{
	const u64 blocks = 4096;
	struct tw_dev *dev = ct_ram_mkfs(blocks, 0, TW_MIN_JOURNAL), *crash;
	struct tw_fs *fs = ct_mount(dev);
	struct tw_statfs s0;
	u8 *snap;
	u32 nl;
	u64 f;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	s0 = ct_statfs(fs);
	fill_big(fs, f, 300);
	CHECK_EQ(tw_unlink(fs, ROOT, "f", 1, NULL, &nl), 0);
	REQUIRE_EQ(tw_sync(fs), 0);
	/* crash while it is open: the snapshot is the disk */
	snap = malloc(blocks * CT_BS);
	REQUIRE(snap);
	memcpy(snap, ct_ram_of(dev), blocks * CT_BS);
	CHECK_EQ(tw_evict(fs, f), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	crash = ct_dev_from_image(snap, blocks);
	free(snap);
	ct_log_capture(true);
	fs = ct_mount(crash); /* the orphan list frees it */
	ct_log_release();
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree + 1);
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* POSIX ACLs beside many attributes                                        */
/* ------------------------------------------------------------------------ */

static u32 acl_put(u8 *p, u32 tag, u32 perm, u32 id)
{
	memset(p, 0, 8);
	p[0] = (u8)tag;
	p[2] = (u8)perm;
	p[4] = (u8)id;
	p[5] = (u8)(id >> 8);
	p[6] = (u8)(id >> 16);
	p[7] = (u8)(id >> 24);
	return 8;
}

/* u::rwx, u:1000:r (or none), g::r-x, m::r-x, o::r */
static u32 make_acl(u8 *a, bool named)
{
	u32 n = 4;

	memset(a, 0, 4);
	a[0] = TW_ACL_VERSION;
	n += acl_put(a + n, TW_ACL_USER_OBJ, 7, TW_ACL_UNDEFINED_ID);
	if (named)
		n += acl_put(a + n, TW_ACL_USER, 4, 1000);
	n += acl_put(a + n, TW_ACL_GROUP_OBJ, 5, TW_ACL_UNDEFINED_ID);
	n += acl_put(a + n, TW_ACL_MASK, 5, TW_ACL_UNDEFINED_ID);
	n += acl_put(a + n, TW_ACL_OTHER, 4, TW_ACL_UNDEFINED_ID);
	return n;
}

static void test_acls(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(8192, 0, 0));
	u8 acl[64], got[256];
	struct tw_setattr sa;
	char name[32];
	u32 alen;
	u64 d, c;
	int i;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	/* an index first: many names and a value in value blocks */
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "user.attr%03d", i);
		CHECK_EQ(set_pat(fs, d, name, 20, (u64)i, 0), 0);
	}
	CHECK_EQ(set_pat(fs, d, "user.big", 30000, 9, 0), 0);
	alen = make_acl(acl, true);
	CHECK_EQ(tw_setxattr(fs, d, "system.posix_acl_access", acl, alen, 0),
		 0);
	CHECK_EQ(tw_setxattr(fs, d, "system.posix_acl_default", acl, alen, 0),
		 0);
	CHECK_EQ(
		tw_getxattr(fs, d, "system.posix_acl_access", got, sizeof(got)),
		(ssize_t)alen);
	CHECK(!memcmp(got, acl, alen));
	/* chmod rewrites the access ACL in its entry block: g::--- becomes
	 * the mask */
	memset(&sa, 0, sizeof(sa));
	sa.valid = TW_SET_MODE;
	sa.mode = 0701;
	CHECK_EQ(tw_setattr(fs, d, &sa, NULL), 0);
	CHECK_EQ(
		tw_getxattr(fs, d, "system.posix_acl_access", got, sizeof(got)),
		(ssize_t)alen);
	CHECK_EQ(got[4 + 3 * 8 + 2], 0); /* the mask entry's permissions */
	CHECK_EQ(got[4 + 4 * 8 + 2], 1); /* other */
	/* a child inherits the default ACL */
	REQUIRE_EQ(ct_create(fs, d, "c", 0666, &c), 0);
	CHECK_EQ(tw_getxattr(fs, c, "system.posix_acl_access", NULL, 0),
		 (ssize_t)alen);
	fs = CHECKED(fs);
	CHECK_EQ(tw_getxattr(fs, d, "system.posix_acl_default", got,
			     sizeof(got)),
		 (ssize_t)alen);
	CHECK(!memcmp(got, acl, alen));
	EXPECT_PAT(fs, d, "user.big", 30000, 9);
	EXPECT_PAT(fs, d, "user.attr399", 20, 399);
	/* removing the user. ones leaves the ACLs working */
	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "user.attr%03d", i);
		CHECK_EQ(tw_removexattr(fs, d, name), 0);
	}
	CHECK_EQ(tw_removexattr(fs, d, "user.big"), 0);
	CHECK_EQ(
		tw_getxattr(fs, d, "system.posix_acl_access", got, sizeof(got)),
		(ssize_t)alen);
	CHECK_EQ(tw_removexattr(fs, d, "system.posix_acl_access"), 0);
	CHECK_EQ(tw_removexattr(fs, d, "system.posix_acl_default"), 0);
	CHECK_EQ(blocks_of(fs, d), 2); /* the directory's own blocks */
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* The one-block form is the old format, byte for byte                      */
/* ------------------------------------------------------------------------ */

static const u8 *raw_block(struct tw_fs *fs, u64 blk)
{
	return ct_ram_of(tw_fs_dev(fs)) + blk * CT_BS;
}

static const struct tw_inode *raw_inode(struct tw_fs *fs, u64 ino)
{
	const struct tw_super *sb = tw_fs_super(fs);

	return (const struct tw_inode *)raw_block(
		       fs, TW_GET64(sb, s_itable_start) +
				   ino / TW_INODES_PER_BLOCK) +
	       ino % TW_INODES_PER_BLOCK;
}

static void test_one_block_format(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(4096, 0, 0));
	const struct tw_xattr_header *xh;
	const struct tw_inode *di;
	const u8 *e;
	u64 f;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.ab", "xyz", 3, 0), 0);
	CHECK_EQ(set_pat(fs, f, "security.s", 4000, 1, 0), 0);
	fs = ct_remount(fs);
	di = raw_inode(fs, f);
	CHECK_EQ(TW_GET16(di, i_flags) & TW_IFL_XINDEX, 0);
	CHECK_EQ(TW_GET64(di, i_blocks), 1);
	CHECK_EQ(incompat(fs), 0);
	xh = (const void *)raw_block(fs, TW_GET64(di, i_xattr));
	CHECK_EQ(TW_GET32(xh, xh_hdr.h_magic), TW_XATTR_MAGIC);
	CHECK_EQ(TW_GET64(xh, xh_hdr.h_owner), f);
	CHECK_EQ(TW_GET32(xh, xh_count), 2);
	CHECK_EQ(TW_GET32(xh, xh_used), 12 + 4008);
	/* entry 0 at byte 40: ns 1, name 2, value 3, "ab", "xyz", padding */
	e = (const u8 *)(xh + 1);
	CHECK(!memcmp(e,
		      "\x01\x02\x03\x00"
		      "abxyz\0\0\0",
		      12));
	CHECK(!memcmp(e + 12,
		      "\x03\x01\xa0\x0f"
		      "s",
		      5));

	/* 48 more bytes do not fit: the block becomes entry block 0 of an
	 * index, unchanged, and the feature flag is set */
	CHECK_EQ(set_pat(fs, f, "user.more", 40, 2, 0), 0);
	fs = ct_remount(fs);
	di = raw_inode(fs, f);
	CHECK_EQ(TW_GET16(di, i_flags) & TW_IFL_XINDEX, TW_IFL_XINDEX);
	CHECK_EQ(incompat(fs), TW_FEATURE_INCOMPAT_XATTR_INDEX);
	CHECK_EQ(TW_GET64(di, i_blocks), 3);
	{
		const struct tw_xattr_index *xi =
			(const void *)raw_block(fs, TW_GET64(di, i_xattr));

		CHECK_EQ(TW_GET32(xi, xi_hdr.h_magic), TW_XIDX_MAGIC);
		CHECK_EQ(TW_GET32(xi, xi_nblocks), 2);
		CHECK_EQ(TW_GET64(xi, xi_block[0]),
			 (u64)((const u8 *)xh - raw_block(fs, 0)) / CT_BS);
		CHECK_EQ(TW_GET32(xh, xh_count), 2);
	}
	EXPECT_PAT(fs, f, "security.s", 4000, 1);
	EXPECT_PAT(fs, f, "user.more", 40, 2);
	done(fs);
}

/* ------------------------------------------------------------------------ */
/* Damaged value blocks are met with EBADMSG or EUCLEAN, never wrong data   */
/* ------------------------------------------------------------------------ */

/* The block number of value block @k of the first external entry of @ino. */
static u64 value_block(struct tw_fs *fs, u64 ino, u32 k)
{
	const struct tw_inode *di = raw_inode(fs, ino);
	const struct tw_xattr_index *xi =
		(const void *)raw_block(fs, TW_GET64(di, i_xattr));
	const struct tw_xattr_header *xh =
		(const void *)raw_block(fs, TW_GET64(xi, xi_block[0]));
	const u8 *p = (const u8 *)(xh + 1);
	u64 b;

	while (!(p[0] & TW_XATTR_NS_EXTERNAL))
		p += TW_XATTR_ENTRY_LEN(p[1], p[2] | p[3] << 8);
	memcpy(&b, p + 4 + p[1] + 8 + 8 * k, 8);
	return tw_le64_to_cpu(b);
}

static void test_damage(void)
{
	struct tw_fs *fs = ct_mount(ct_ram_mkfs(4096, 0, 0));
	struct tw_dev *dev = tw_fs_dev(fs);
	static u8 buf[KIB64];
	u32 seed;
	u8 *blk;
	u64 f, v;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	CHECK_EQ(set_pat(fs, f, "user.big", 20000, 7, 0), 0);
	fs = ct_remount(fs);
	v = value_block(fs, f, 2);
	seed = TW_GET32(tw_fs_super(fs), s_csum_seed);
	blk = ct_ram_of(dev) + v * CT_BS;

	/* a byte of the value, the block resealed: the value's crc says so */
	CHECK_EQ(tw_unmount(fs), 0);
	blk[100] ^= 1;
	TW_SET32((struct tw_blk_hdr *)blk, h_crc, tw_block_csum(seed, blk));
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	fs = ct_mount(dev);
	ct_log_capture(true);
	CHECK_EQ(tw_getxattr(fs, f, "user.big", buf, sizeof(buf)), -EBADMSG);
	/* the size needs no value block */
	CHECK_EQ(tw_getxattr(fs, f, "user.big", NULL, 0), 20000);
	ct_log_release();
	CHECK_EQ(tw_unmount(fs), 0);
	CHECK(fsck_problems(dev) != 0); /* -1: exit 4 */

	/* not resealed: the block's own checksum */
	blk[101] ^= 1;
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	fs = ct_mount(dev);
	ct_log_capture(true);
	CHECK_EQ(tw_getxattr(fs, f, "user.big", buf, sizeof(buf)), -EBADMSG);
	ct_log_release();
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/* ------------------------------------------------------------------------ */
/* Every crash state of a replace: the old value or the new one             */
/* ------------------------------------------------------------------------ */

struct wrec {
	u32 type;
	u64 blk;
	u8 *data;
};

static void test_crash_states(void)
{
	const u64 blocks = 2048;
	struct tw_mkfs_opts o = ct_mkfs_opts(blocks, 0, TW_MIN_JOURNAL);
	struct tw_backend *ram, *recb;
	struct tw_wlog_reader *rd;
	struct tw_wlog_rec wr;
	struct tw_wlog *log;
	struct tw_dev *dev, *scratch;
	struct wrec *r;
	u64 f, n = 0, p, wcount, fcount, synced = 0, lastflush = 0;
	u8 *base, *img, *img2;
	struct tw_fs *fs;
	int err, states = 0, bad = 0;

	/* the base: a 64 KiB value A and a short one */
	dev = tw_udev_ram(blocks);
	REQUIRE(dev);
	REQUIRE_EQ(tw_mkfs(dev, &o), 0);
	fs = ct_mount(dev);
	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	CHECK_EQ(set_pat(fs, f, "user.a", KIB64, 1, 0), 0);
	CHECK_EQ(set_pat(fs, f, "user.s", 50, 2, 0), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	base = malloc(blocks * CT_BS);
	img = malloc(blocks * CT_BS);
	img2 = malloc(blocks * CT_BS);
	REQUIRE(base && img && img2);
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	memcpy(base, ct_ram_of(dev), blocks * CT_BS);
	ct_close(dev);

	/* recorded: replace A by B, sync; then remove it, sync */
	log = tw_wlog_new_mem();
	ram = tw_backend_ram(blocks);
	REQUIRE(log && ram);
	memcpy(tw_backend_ram_data(ram), base, blocks * CT_BS);
	recb = tw_backend_recorder(ram, log);
	REQUIRE(recb);
	dev = tw_udev_from_backend(recb);
	REQUIRE(dev);
	fs = ct_mount(dev);
	CHECK_EQ(set_pat(fs, f, "user.a", KIB64 - 5, 3, 0), 0);
	REQUIRE_EQ(tw_sync(fs), 0);
	tw_wlog_counts(log, &wcount, &fcount);
	synced = wcount + fcount;
	CHECK_EQ(tw_removexattr(fs, f, "user.a"), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	CHECK_EQ(tw_udev_close(dev), 0);

	rd = tw_wlog_reader_mem(log, &err);
	REQUIRE(rd);
	tw_wlog_counts(log, &wcount, &fcount);
	r = calloc(wcount + fcount, sizeof(*r));
	REQUIRE(r);
	while ((err = tw_wlog_next(rd, &wr)) == 1) {
		r[n].type = wr.type;
		r[n].blk = wr.blk;
		if (wr.type == TW_WLOG_WRITE) {
			r[n].data = malloc(CT_BS);
			REQUIRE(r[n].data);
			memcpy(r[n].data, wr.data, CT_BS);
		}
		n++;
	}
	CHECK_EQ(err, 0);
	tw_wlog_reader_close(rd);
	CHECK_EQ(tw_wlog_free(log), 0);

	/*
	 * State p: the first p records written in order; and, since writes
	 * after the last flush may reach the disk in any order, also the
	 * image at that flush with only write p - 1 of them.
	 */
	scratch = tw_udev_ram(blocks);
	REQUIRE(scratch);
	memcpy(img, base, blocks * CT_BS);
	for (p = 0; p <= n; p++) {
		int v;

		if (p) {
			struct wrec *w = &r[p - 1];

			if (w->type == TW_WLOG_WRITE)
				memcpy(img + w->blk * CT_BS, w->data, CT_BS);
			else
				lastflush = p;
		}
		for (v = 0; v < 2; v++) {
			static u8 buf[KIB64];
			const u8 *use = img;
			u64 k;
			ssize_t got;
			int ok;

			if (v) {
				/* the flushed image and the last write */
				if (!p || r[p - 1].type != TW_WLOG_WRITE ||
				    lastflush == p - 1)
					continue;
				memcpy(img2, base, blocks * CT_BS);
				for (k = 0; k < lastflush; k++)
					if (r[k].type == TW_WLOG_WRITE)
						memcpy(img2 + r[k].blk * CT_BS,
						       r[k].data, CT_BS);
				memcpy(img2 + r[p - 1].blk * CT_BS,
				       r[p - 1].data, CT_BS);
				use = img2;
			}
			REQUIRE_EQ(tw_udev_drop_caches(scratch), 0);
			memcpy(ct_ram_of(scratch), use, blocks * CT_BS);
			states++;
			ct_log_capture(true);
			err = tw_mount(scratch, blocks, NULL, &fs);
			ct_log_release();
			if (err) {
				fprintf(stderr, "  state %llu/%d: mount %d\n",
					(unsigned long long)p, v, err);
				bad++;
				continue;
			}
			got = tw_getxattr(fs, f, "user.a", buf, sizeof(buf));
			/* A, B, or (only after the replace was synced) gone */
			ok = (got == KIB64 &&
			      ct_check_pat(buf, KIB64, 1, 0) < 0 &&
			      p < synced) ||
			     (got == KIB64 - 5 &&
			      ct_check_pat(buf, KIB64 - 5, 3, 0) < 0) ||
			     (got == -ENODATA && p > synced);
			got = tw_getxattr(fs, f, "user.s", buf, sizeof(buf));
			ok = ok && got == 50 && ct_check_pat(buf, 50, 2, 0) < 0;
			if (!ok) {
				fprintf(stderr,
					"  state %llu/%d: wrong value\n",
					(unsigned long long)p, v);
				bad++;
			}
			if (ct_walk_check(fs, NULL))
				bad++;
			CHECK_EQ(tw_unmount(fs), 0);
			if (fsck_problems(scratch)) {
				fprintf(stderr, "  state %llu/%d: fsck\n",
					(unsigned long long)p, v);
				bad++;
			}
		}
	}
	fprintf(stderr, "  %llu records, %d crash states checked\n",
		(unsigned long long)n, states);
	CHECK_EQ(bad, 0);
	CHECK(states > 40);
	ct_close(scratch);
	for (p = 0; p < n; p++)
		free(r[p].data);
	free(r);
	free(base);
	free(img);
	free(img2);
}

int main(void)
{
	RUN(test_one_block_format);
	RUN(test_many_names);
	RUN(test_big_values);
	RUN(test_enospc);
	RUN(test_small_journal);
	RUN(test_orphan_crash);
	RUN(test_acls);
	RUN(test_damage);
	RUN(test_crash_states);
	return ct_done();
}
