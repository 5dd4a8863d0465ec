// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_xattr.c - the core's extended attributes: the user., trusted.
 * and security. namespaces, set/get/list/remove, the CREATE and REPLACE
 * flags, ENODATA, ERANGE on short buffers, size queries, unsupported
 * namespaces, the one-block form and the step beyond it, E2BIG past 64
 * KiB, persistence, and the block given back when the last attribute
 * goes.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h).
 */
#include "tw_coretest.h"

#define ROOT TW_ROOT_INO

static struct tw_fs *fresh(void)
{
	return ct_mount(ct_ram_mkfs(8192, 0, 0));
}

static void done(struct tw_fs *fs)
{
	struct tw_dev *dev = tw_fs_dev(fs);

	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

static void expect_value(struct tw_fs *fs, u64 ino, const char *name,
			 const void *val, size_t len, int line)
{
	char buf[4096];
	ssize_t r;

	r = tw_getxattr(fs, ino, name, NULL, 0);
	if (r != (ssize_t)len) {
		fprintf(stderr,
			"%s:%d: (from line %d) size of %s: %zd%s, want %zu\n",
			__FILE__, __LINE__, line, name, r, ct_errname(r), len);
		ct_failed();
		return;
	}
	memset(buf, 0x5a, sizeof(buf));
	r = tw_getxattr(fs, ino, name, buf, sizeof(buf));
	if (r != (ssize_t)len || memcmp(buf, val, len)) {
		fprintf(stderr,
			"%s:%d: (from line %d) value of %s differs (got %zd%s)\n",
			__FILE__, __LINE__, line, name, r, ct_errname(r));
		ct_failed();
	}
}

#define EXPECT_VALUE(fs, ino, name, val, len) \
	expect_value(fs, ino, name, val, len, __LINE__)

/* The list as a sorted, '|'-joined string, for comparisons. */
static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *list_of(struct tw_fs *fs, u64 ino)
{
	static char out[8192];
	char buf[8192], *names[512];
	ssize_t r, sz;
	size_t n = 0, i;
	char *p;

	out[0] = 0;
	sz = tw_listxattr(fs, ino, NULL, 0);
	r = tw_listxattr(fs, ino, buf, sizeof(buf));
	if (r < 0 || r != sz) {
		snprintf(out, sizeof(out), "<error %zd/%zd>", r, sz);
		return out;
	}
	for (p = buf; p < buf + r && n < 512; p += strlen(p) + 1)
		names[n++] = p;
	if (r && buf[r - 1] != 0)
		return "<not NUL-terminated>";
	qsort(names, n, sizeof(names[0]), cmpstr);
	for (i = 0; i < n; i++) {
		strcat(out, names[i]);
		if (i + 1 < n)
			strcat(out, "|");
	}
	return out;
}

#define CHECK_LIST(fs, ino, want)                                            \
	do {                                                                 \
		const char *_l = list_of(fs, ino);                           \
		if (strcmp(_l, want)) {                                      \
			ct_fail_hdr(__FILE__, __LINE__);                     \
			fprintf(stderr, "list is \"%s\", want \"%s\"\n", _l, \
				want);                                       \
			ct_failed();                                         \
		}                                                            \
	} while (0)

static void test_basic(void)
{
	struct tw_fs *fs = fresh();
	struct tw_statfs s0;
	char buf[64];
	u64 f;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	s0 = ct_statfs(fs);
	CHECK_LIST(fs, f, "");
	CHECK_EQ(tw_listxattr(fs, f, NULL, 0), 0);
	CHECK_EQ(tw_getxattr(fs, f, "user.a", buf, sizeof(buf)), -ENODATA);

	CHECK_EQ(tw_setxattr(fs, f, "user.a", "1", 1, 0), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, 1);
	CHECK_EQ(tw_setxattr(fs, f, "trusted.t", "two", 3, 0), 0);
	CHECK_EQ(tw_setxattr(fs, f, "security.selinux", "x\0y", 3, 0), 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.empty", "", 0, 0), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	EXPECT_VALUE(fs, f, "user.a", "1", 1);
	EXPECT_VALUE(fs, f, "trusted.t", "two", 3);
	EXPECT_VALUE(fs, f, "security.selinux", "x\0y", 3);
	EXPECT_VALUE(fs, f, "user.empty", "", 0);
	CHECK_LIST(fs, f, "security.selinux|trusted.t|user.a|user.empty");
	CHECK_EQ(tw_listxattr(fs, f, NULL, 0),
		 strlen("user.a") + strlen("trusted.t") +
			 strlen("security.selinux") + strlen("user.empty") + 4);
	/* namespaces are distinct: same name, different prefix */
	CHECK_EQ(tw_getxattr(fs, f, "trusted.a", buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(tw_setxattr(fs, f, "trusted.a", "T", 1, 0), 0);
	EXPECT_VALUE(fs, f, "user.a", "1", 1);
	EXPECT_VALUE(fs, f, "trusted.a", "T", 1);
	/* names are exact */
	CHECK_EQ(tw_getxattr(fs, f, "user.", buf, sizeof(buf)) < 0, 1);
	CHECK_EQ(tw_getxattr(fs, f, "user.aa", buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(tw_getxattr(fs, f, "user.A", buf, sizeof(buf)), -ENODATA);

	/* flags */
	CHECK_EQ(tw_setxattr(fs, f, "user.a", "new", 3, TW_XATTR_CREATE),
		 -EEXIST);
	EXPECT_VALUE(fs, f, "user.a", "1", 1);
	CHECK_EQ(tw_setxattr(fs, f, "user.b", "new", 3, TW_XATTR_REPLACE),
		 -ENODATA);
	CHECK_EQ(tw_getxattr(fs, f, "user.b", buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(tw_setxattr(fs, f, "user.a", "longer value", 12,
			     TW_XATTR_REPLACE),
		 0);
	EXPECT_VALUE(fs, f, "user.a", "longer value", 12);
	CHECK_EQ(tw_setxattr(fs, f, "user.b", "b", 1, TW_XATTR_CREATE), 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.a", "s", 1, 0), 0);
	EXPECT_VALUE(fs, f, "user.a", "s", 1);
	EXPECT_VALUE(fs, f, "user.b", "b", 1);

	/* short buffers */
	CHECK_EQ(tw_getxattr(fs, f, "trusted.t", buf, 2), -ERANGE);
	CHECK_EQ(tw_getxattr(fs, f, "trusted.t", buf, 3), 3);
	CHECK_EQ(tw_listxattr(fs, f, buf, 5), -ERANGE);
	CHECK_EQ(tw_listxattr(fs, f, buf,
			      (size_t)tw_listxattr(fs, f, NULL, 0) - 1),
		 -ERANGE);

	/* remove */
	CHECK_EQ(tw_removexattr(fs, f, "user.b"), 0);
	CHECK_EQ(tw_removexattr(fs, f, "user.b"), -ENODATA);
	CHECK_EQ(tw_getxattr(fs, f, "user.b", buf, sizeof(buf)), -ENODATA);
	CHECK_EQ(tw_removexattr(fs, f, "user.nothere"), -ENODATA);
	CHECK_LIST(fs, f,
		   "security.selinux|trusted.a|trusted.t|user.a|user.empty");

	/* unsupported namespaces and bad names (system.: the ACLs only,
	 * test_core_acl.c) */
	CHECK_EQ(tw_setxattr(fs, f, "system.posix_acl_access", "x", 1, 0),
		 -EINVAL);
	CHECK_EQ(tw_getxattr(fs, f, "system.posix_acl_access", buf, 64),
		 -ENODATA);
	CHECK_EQ(tw_setxattr(fs, f, "system.x", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ(tw_removexattr(fs, f, "system.x"), -EOPNOTSUPP);
	CHECK_EQ(tw_setxattr(fs, f, "nonamespace", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ(tw_setxattr(fs, f, "User.x", "x", 1, 0), -EOPNOTSUPP);
	CHECK_EQ(tw_setxattr(fs, f, "user.", "x", 1, 0), -EINVAL);
	{
		char name[300] = "user.";

		memset(name + 5, 'n', 255);
		name[260] = 0;
		CHECK_EQ(tw_setxattr(fs, f, name, "v", 1, 0), 0);
		EXPECT_VALUE(fs, f, name, "v", 1);
		CHECK_EQ(tw_removexattr(fs, f, name), 0);
		name[260] = 'n';
		name[261] = 0;
		CHECK_EQ(tw_setxattr(fs, f, name, "v", 1, 0), -ERANGE);
	}

	/* persistence */
	fs = ct_remount(fs);
	EXPECT_VALUE(fs, f, "user.a", "s", 1);
	EXPECT_VALUE(fs, f, "trusted.t", "two", 3);
	EXPECT_VALUE(fs, f, "trusted.a", "T", 1);
	EXPECT_VALUE(fs, f, "security.selinux", "x\0y", 3);
	EXPECT_VALUE(fs, f, "user.empty", "", 0);
	CHECK_LIST(fs, f,
		   "security.selinux|trusted.a|trusted.t|user.a|user.empty");

	/* removing them all gives the block back */
	CHECK_EQ(tw_removexattr(fs, f, "user.a"), 0);
	CHECK_EQ(tw_removexattr(fs, f, "trusted.t"), 0);
	CHECK_EQ(tw_removexattr(fs, f, "trusted.a"), 0);
	CHECK_EQ(tw_removexattr(fs, f, "security.selinux"), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	CHECK_EQ(tw_removexattr(fs, f, "user.empty"), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_LIST(fs, f, "");
	fs = ct_remount(fs);
	CHECK_EQ(ct_getattr(fs, f).blocks, 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_LIST(fs, f, "");
	/* and a new one takes a block again */
	CHECK_EQ(tw_setxattr(fs, f, "user.again", "1", 1, 0), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree - 1);
	done(fs);
}

/* Entries of name length 3 and value 97 take 104 bytes: 39 fill the
 * block's 4056 bytes exactly.  What does not fit then goes on to an
 * index of entry blocks (test_core_xattr_big.c has the rest). */
static void test_full_block(void)
{
	struct tw_fs *fs = fresh();
	char val[4096], name[32];
	u64 f;
	int i;

	CHECK_EQ(TW_XATTR_SPACE, 4056);
	CHECK_EQ(TW_XATTR_ENTRY_LEN(3, 97), 104);
	memset(val, 0x33, sizeof(val));
	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	for (i = 0; i < 39; i++) {
		snprintf(name, sizeof(name), "user.k%02d", i);
		ct_fill(val, 97, i, 0);
		CHECK_EQ(tw_setxattr(fs, f, name, val, 97, 0), 0);
	}
	/* full: one block, and no feature flag */
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	CHECK_EQ(TW_GET32(tw_fs_super(fs), s_feature_incompat), 0);
	/* replacing with the same size stays in the block */
	ct_fill(val, 97, 100, 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.k05", val, 97, 0), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	EXPECT_VALUE(fs, f, "user.k05", val, 97);
	/* a removal makes room for exactly one */
	CHECK_EQ(tw_removexattr(fs, f, "user.k10"), 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.new", val, 97, 0), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 8);
	/* one byte more needs a second entry block and the index over both */
	CHECK_EQ(tw_setxattr(fs, f, "user.k06", val, 98, 0), 0);
	CHECK_EQ(ct_getattr(fs, f).blocks, 3 * 8);
	CHECK_EQ(TW_GET32(tw_fs_super(fs), s_feature_incompat),
		 TW_FEATURE_INCOMPAT_XATTR_INDEX);
	CHECK_EQ(tw_setxattr(fs, f, "user.z", "", 0, 0), 0);
	CHECK_EQ(tw_setxattr(fs, f, "user.k07", val, 101, 0), 0);
	EXPECT_VALUE(fs, f, "user.k06", val, 98);
	EXPECT_VALUE(fs, f, "user.k07", val, 101);
	EXPECT_VALUE(fs, f, "user.z", "", 0);

	/* a value longer than a block: in value blocks; Linux's limit */
	{
		struct tw_fs *g = fs;
		static char big[70000];
		u64 h;

		REQUIRE_EQ(ct_create(g, ROOT, "h", 0644, &h), 0);
		CHECK_EQ(tw_setxattr(g, h, "user.v", val, 4056 - 4 - 1, 0), 0);
		CHECK_EQ(ct_getattr(g, h).blocks, 8);
		CHECK_EQ(tw_removexattr(g, h, "user.v"), 0);
		CHECK_EQ(tw_setxattr(g, h, "user.v", val, 4056 - 4, 0), 0);
		/* the index, an entry block, a value block */
		CHECK_EQ(ct_getattr(g, h).blocks, 3 * 8);
		EXPECT_VALUE(g, h, "user.v", val, 4052);
		CHECK_EQ(tw_setxattr(g, h, "user.v", big, 65537, 0), -E2BIG);
		CHECK_EQ(tw_setxattr(g, h, "user.w", big, 70000, 0), -E2BIG);
		CHECK_EQ(tw_getxattr(g, h, "user.w", val, sizeof(val)),
			 -ENODATA);
		EXPECT_VALUE(g, h, "user.v", val, 4052);
		CHECK_EQ(tw_removexattr(g, h, "user.v"), 0);
		CHECK_EQ(ct_getattr(g, h).blocks, 0);
	}

	fs = ct_remount(fs);
	for (i = 0; i < 39; i++) {
		if (i == 10)
			continue;
		snprintf(name, sizeof(name), "user.k%02d", i);
		if (i == 5 || i == 6 || i == 7) {
			static const u32 len[] = { 97, 98, 101 };

			ct_fill(val, 97, 100, 0);
			EXPECT_VALUE(fs, f, name, val, len[i - 5]);
		} else {
			ct_fill(val, 97, i, 0);
			EXPECT_VALUE(fs, f, name, val, 97);
		}
	}
	CHECK_EQ(tw_getxattr(fs, f, "user.k10", val, sizeof(val)), -ENODATA);
	done(fs);
}

static void test_other_types(void)
{
	struct tw_fs *fs = fresh();
	struct tw_statfs s0;
	u64 d, l, f;
	u32 nl;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	REQUIRE_EQ(ct_symlink(fs, ROOT, "l", "target", 6, &l), 0);
	CHECK_EQ(tw_setxattr(fs, d, "user.dir", "D", 1, 0), 0);
	CHECK_EQ(tw_setxattr(fs, l, "trusted.link", "L", 1, 0), 0);
	CHECK_EQ(tw_setxattr(fs, ROOT, "security.root", "R", 1, 0), 0);
	EXPECT_VALUE(fs, d, "user.dir", "D", 1);
	EXPECT_VALUE(fs, l, "trusted.link", "L", 1);
	EXPECT_VALUE(fs, ROOT, "security.root", "R", 1);
	/* the symlink is unharmed */
	{
		char t[16];

		CHECK_EQ(tw_readlink(fs, l, t, sizeof(t)), 6);
		CHECK(!memcmp(t, "target", 6));
	}

	/* removing a file frees its xattr block with it */
	REQUIRE_EQ(ct_create(fs, d, "f", 0644, &f), 0);
	s0 = ct_statfs(fs);
	CHECK_EQ(tw_setxattr(fs, f, "user.x", "x", 1, 0), 0);
	CHECK_EQ(tw_unlink(fs, d, "f", 1, NULL, &nl), 0);
	/* still there while the home holds the inode */
	EXPECT_VALUE(fs, f, "user.x", "x", 1);
	CHECK_EQ(tw_evict(fs, f), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree + 1);
	CHECK(tw_getxattr(fs, f, "user.x", NULL, 0) < 0);
	CHECK(tw_setxattr(fs, f, "user.x", "x", 1, 0) < 0);

	fs = ct_remount(fs);
	EXPECT_VALUE(fs, d, "user.dir", "D", 1);
	EXPECT_VALUE(fs, l, "trusted.link", "L", 1);
	EXPECT_VALUE(fs, ROOT, "security.root", "R", 1);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	done(fs);
}

int main(void)
{
	RUN(test_basic);
	RUN(test_full_block);
	RUN(test_other_types);
	return ct_done();
}
