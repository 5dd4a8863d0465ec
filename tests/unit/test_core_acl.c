// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_acl.c - the core's POSIX ACLs: system.posix_acl_access and
 * system.posix_acl_default checked (EINVAL, EOPNOTSUPP, EACCES), an
 * equivalent access ACL collapsing into the mode, the mode's group bits
 * following the mask, S_ISGID cleared on request, chmod rewriting the
 * ACL, inheritance of default ACLs by files, directories and O_TMPFILE
 * files, the umask applied only without one, persistence, and noacl.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h).
 */
#include "tw_coretest.h"

#define ROOT TW_ROOT_INO
#define ACC "system.posix_acl_access"
#define DEF "system.posix_acl_default"

/* An ACL in Linux's xattr representation, built entry by entry. */
struct acl {
	u8 b[256];
	u32 len;
};

static void acl_init(struct acl *a)
{
	memset(a, 0, sizeof(*a));
	a->b[0] = TW_ACL_VERSION;
	a->len = 4;
}

static void acl_add(struct acl *a, u32 tag, u32 perm, u32 id)
{
	u8 *p = a->b + a->len;

	p[0] = (u8)tag;
	p[1] = (u8)(tag >> 8);
	p[2] = (u8)perm;
	p[4] = (u8)id;
	p[5] = (u8)(id >> 8);
	p[6] = (u8)(id >> 16);
	p[7] = (u8)(id >> 24);
	a->len += 8;
}

#define NOID TW_ACL_UNDEFINED_ID

/* u::U, [u:uid:N], g::G, [m::M], o::O; @named < 0: no named user */
static struct acl make(u32 u, int named, u32 nperm, u32 g, int mask, u32 o)
{
	struct acl a;

	acl_init(&a);
	acl_add(&a, TW_ACL_USER_OBJ, u, NOID);
	if (named >= 0)
		acl_add(&a, TW_ACL_USER, nperm, (u32)named);
	acl_add(&a, TW_ACL_GROUP_OBJ, g, NOID);
	if (mask >= 0)
		acl_add(&a, TW_ACL_MASK, (u32)mask, NOID);
	acl_add(&a, TW_ACL_OTHER, o, NOID);
	return a;
}

/* The permission of the first entry tagged @tag in the stored ACL. */
static int stored_perm(struct tw_fs *fs, u64 ino, const char *name, u32 tag)
{
	u8 buf[512];
	ssize_t n = tw_getxattr(fs, ino, name, buf, sizeof(buf));
	ssize_t off;

	if (n < 0)
		return (int)n;
	for (off = 4; off + 8 <= n; off += 8)
		if ((u32)(buf[off] | buf[off + 1] << 8) == tag)
			return buf[off + 2];
	return -1000;
}

static u32 mode_of(struct tw_fs *fs, u64 ino)
{
	struct tw_attr a;

	CHECK_EQ(tw_getattr(fs, ino, &a), 0);
	return a.mode & 07777;
}

static struct tw_fs *fresh(u32 flags)
{
	struct tw_mount_opts o = { .flags = flags };
	struct tw_dev *dev = ct_ram_mkfs(8192, 0, 0);
	struct tw_fs *fs = NULL;

	REQUIRE_EQ(tw_mount(dev, tw_udev_blocks(dev), &o, &fs), 0);
	return fs;
}

static void done(struct tw_fs *fs)
{
	struct tw_dev *dev = tw_fs_dev(fs);

	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

static void test_check(void)
{
	struct tw_fs *fs = fresh(0);
	struct acl a;
	u64 f, d;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);

	a = make(6, 1000, 4, 4, 4, 4);
	CHECK_EQ(tw_acl_check(a.b, a.len), 0);
	CHECK_EQ(tw_acl_check(a.b, a.len - 1), -EINVAL); /* torn entry */
	CHECK_EQ(tw_acl_check(a.b, 3), -EINVAL);
	CHECK_EQ(tw_acl_check(a.b, 4), -EINVAL); /* no entries */
	a = make(6, 1000, 4, 4, -1, 4); /* named without a mask */
	CHECK_EQ(tw_acl_check(a.b, a.len), -EINVAL);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EINVAL);
	a = make(6, -1, 0, 4, -1, 4);
	a.b[6] = 8; /* a permission beyond rwx */
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EINVAL);
	a = make(6, -1, 0, 4, -1, 4);
	a.b[0] = 1; /* another version */
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EOPNOTSUPP);
	/* out of order: group before owner */
	acl_init(&a);
	acl_add(&a, TW_ACL_GROUP_OBJ, 4, NOID);
	acl_add(&a, TW_ACL_USER_OBJ, 6, NOID);
	acl_add(&a, TW_ACL_OTHER, 4, NOID);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EINVAL);
	/* two owners, an unknown tag */
	acl_init(&a);
	acl_add(&a, TW_ACL_USER_OBJ, 6, NOID);
	acl_add(&a, TW_ACL_USER_OBJ, 6, NOID);
	acl_add(&a, TW_ACL_GROUP_OBJ, 4, NOID);
	acl_add(&a, TW_ACL_OTHER, 4, NOID);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EINVAL);
	acl_init(&a);
	acl_add(&a, TW_ACL_USER_OBJ, 6, NOID);
	acl_add(&a, 0x40, 6, NOID);
	acl_add(&a, TW_ACL_GROUP_OBJ, 4, NOID);
	acl_add(&a, TW_ACL_OTHER, 4, NOID);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), -EINVAL);
	CHECK_EQ(tw_getxattr(fs, f, ACC, NULL, 0), -ENODATA);

	/* a default ACL only on directories; removing one that is not
	 * there is no error */
	a = make(7, 1000, 7, 5, 7, 5);
	CHECK_EQ(tw_setxattr(fs, f, DEF, a.b, a.len, 0), -EACCES);
	CHECK_EQ(tw_removexattr(fs, f, DEF), 0);
	CHECK_EQ(tw_removexattr(fs, f, ACC), 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);
	CHECK_EQ(stored_perm(fs, d, DEF, TW_ACL_USER), 7);
	/* a minimal default ACL is kept (it is inherited as it is) */
	a = make(7, -1, 0, 5, -1, 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);
	CHECK_EQ(stored_perm(fs, d, DEF, TW_ACL_OTHER), 0);
	/* a header alone is no ACL: it removes one */
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, 4, 0), 0);
	CHECK_EQ(tw_getxattr(fs, d, DEF, NULL, 0), -ENODATA);
	done(fs);
}

static void test_access_mode(void)
{
	struct tw_fs *fs = fresh(0);
	struct tw_setattr sa = { .valid = TW_SET_MODE };
	struct acl a;
	u64 f;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 02644, &f), 0);
	CHECK_EQ(mode_of(fs, f), 02644u);

	/* equivalent to mode bits: no ACL stored, the mode set */
	a = make(7, -1, 0, 5, -1, 1);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), 0);
	CHECK_EQ(tw_getxattr(fs, f, ACC, NULL, 0), -ENODATA);
	CHECK_EQ(mode_of(fs, f), 02751u);
	CHECK_EQ(tw_listxattr(fs, f, NULL, 0), 0);

	/* a named entry: stored, group bits from the mask, S_ISGID kept */
	a = make(6, 1000, 7, 4, 6, 0);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), 0);
	CHECK_EQ(mode_of(fs, f), 02660u);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_USER), 7);
	/* the home says the caller may not keep S_ISGID */
	a = make(6, 1000, 7, 4, 4, 4);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, TW_XATTR_ACL_KILL_SGID),
		 0);
	CHECK_EQ(mode_of(fs, f), 0644u);

	/* chmod: owner, mask and other follow; named and group stay */
	sa.mode = 0751;
	CHECK_EQ(tw_setattr(fs, f, &sa, NULL), 0);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_USER_OBJ), 7);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_MASK), 5);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_OTHER), 1);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_USER), 7);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_GROUP_OBJ), 4);

	/* it all survives a remount */
	fs = ct_remount(fs);
	CHECK_EQ(mode_of(fs, f), 0751u);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_MASK), 5);
	{
		char names[128];

		CHECK_EQ(tw_listxattr(fs, f, names, sizeof(names)),
			 (ssize_t)sizeof(ACC));
		CHECK(!strcmp(names, ACC));
	}
	/* an equivalent ACL replaces a stored one: it goes */
	a = make(6, -1, 0, 4, -1, 4);
	CHECK_EQ(tw_setxattr(fs, f, ACC, a.b, a.len, 0), 0);
	CHECK_EQ(tw_getxattr(fs, f, ACC, NULL, 0), -ENODATA);
	CHECK_EQ(mode_of(fs, f), 0644u);
	done(fs);
}

static int mkdir_mode(struct tw_fs *fs, u64 dir, const char *name, u32 mode,
		      u32 umask, u64 *ino)
{
	struct tw_cred c = { .uid = 0, .gid = 0, .umask = umask };
	struct tw_attr a;
	int err = tw_mkdir(fs, &c, dir, name, (u32)strlen(name), mode, &a);

	if (!err)
		*ino = a.ino;
	return err;
}

static int create_mode(struct tw_fs *fs, u64 dir, const char *name, u32 mode,
		       u32 umask, u64 *ino)
{
	struct tw_cred c = { .uid = 0, .gid = 0, .umask = umask };
	struct tw_attr a;
	int err = tw_mknod(fs, &c, dir, name, (u32)strlen(name),
			   TW_S_IFREG | mode, 0, &a);

	if (!err)
		*ino = a.ino;
	return err;
}

static void test_inherit(void)
{
	struct tw_fs *fs = fresh(0);
	struct tw_cred c = { .uid = 0, .gid = 0, .umask = 077 };
	struct tw_statfs s0;
	struct tw_attr at;
	struct acl a;
	u64 d, f, sub, g, t, l;

	/* without a default ACL the umask applies */
	REQUIRE_EQ(mkdir_mode(fs, ROOT, "d", 0777, 022, &d), 0);
	CHECK_EQ(mode_of(fs, d), 0755u);
	REQUIRE_EQ(create_mode(fs, d, "plain", 0666, 027, &f), 0);
	CHECK_EQ(mode_of(fs, f), 0640u);

	/* d: default u::rwx, u:1000:rwx, g::r-x, m::rwx, o::--- */
	a = make(7, 1000, 7, 5, 7, 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);

	/* a file: the umask is ignored, the create mode masks the ACL */
	REQUIRE_EQ(create_mode(fs, d, "f", 0666, 077, &f), 0);
	CHECK_EQ(mode_of(fs, f), 0660u);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_USER), 7);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_MASK), 6);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_USER_OBJ), 6);
	CHECK_EQ(stored_perm(fs, f, ACC, TW_ACL_OTHER), 0);
	CHECK_EQ(tw_getxattr(fs, f, DEF, NULL, 0), -ENODATA);

	/* a directory: both ACLs */
	REQUIRE_EQ(mkdir_mode(fs, d, "sub", 0777, 077, &sub), 0);
	CHECK_EQ(mode_of(fs, sub), 0770u);
	CHECK_EQ(stored_perm(fs, sub, ACC, TW_ACL_MASK), 7);
	CHECK_EQ(stored_perm(fs, sub, DEF, TW_ACL_USER), 7);
	CHECK_EQ(stored_perm(fs, sub, DEF, TW_ACL_MASK), 7);
	/* and its children inherit in turn */
	REQUIRE_EQ(create_mode(fs, sub, "g", 0640, 0, &g), 0);
	CHECK_EQ(mode_of(fs, g), 0640u);
	CHECK_EQ(stored_perm(fs, g, ACC, TW_ACL_MASK), 4);

	/* O_TMPFILE files too; symlinks never */
	REQUIRE_EQ(tw_tmpfile(fs, &c, d, 0600, &at), 0);
	t = at.ino;
	CHECK_EQ(at.mode & 0777, 0600u);
	CHECK_EQ(stored_perm(fs, t, ACC, TW_ACL_MASK), 0);
	CHECK_EQ(tw_evict(fs, t), 0);
	REQUIRE_EQ(ct_symlink(fs, d, "l", "target", 6, &l), 0);
	CHECK_EQ(tw_getxattr(fs, l, ACC, NULL, 0), -ENODATA);
	CHECK_EQ(tw_setxattr(fs, l, ACC, a.b, a.len, 0), -EOPNOTSUPP);

	/* a minimal default ACL: inherited bits, no access ACL */
	a = make(7, -1, 0, 5, -1, 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);
	REQUIRE_EQ(create_mode(fs, d, "m", 0666, 0, &f), 0);
	CHECK_EQ(mode_of(fs, f), 0640u);
	CHECK_EQ(tw_getxattr(fs, f, ACC, NULL, 0), -ENODATA);

	/* a failed create leaves no block behind */
	a = make(7, 1000, 7, 5, 7, 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);
	s0 = ct_statfs(fs);
	CHECK_EQ(create_mode(fs, d, "f", 0666, 0, &f), -EEXIST);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);

	fs = ct_remount(fs);
	CHECK_EQ(stored_perm(fs, sub, DEF, TW_ACL_USER), 7);
	CHECK_EQ(stored_perm(fs, g, ACC, TW_ACL_USER), 7);
	done(fs);
}

static void test_noacl(void)
{
	struct tw_fs *fs = fresh(0);
	struct acl a = make(7, 1000, 7, 5, 7, 0);
	struct tw_dev *dev;
	u64 d, f;

	REQUIRE_EQ(mkdir_mode(fs, ROOT, "d", 0777, 0, &d), 0);
	CHECK_EQ(tw_setxattr(fs, d, DEF, a.b, a.len, 0), 0);
	dev = tw_fs_dev(fs);
	CHECK_EQ(tw_unmount(fs), 0);
	{
		struct tw_mount_opts o = { .flags = TW_MNT_NOACL };

		fs = NULL;
		REQUIRE_EQ(tw_mount(dev, tw_udev_blocks(dev), &o, &fs), 0);
	}
	CHECK_EQ(tw_getxattr(fs, d, DEF, NULL, 0), -EOPNOTSUPP);
	CHECK_EQ(tw_setxattr(fs, d, ACC, a.b, a.len, 0), -EOPNOTSUPP);
	CHECK_EQ(tw_listxattr(fs, d, NULL, 0), 0);
	/* nothing inherited, the umask applies */
	REQUIRE_EQ(create_mode(fs, d, "f", 0666, 022, &f), 0);
	CHECK_EQ(mode_of(fs, f), 0644u);
	done(fs);
}

int main(void)
{
	RUN(test_check);
	RUN(test_access_mode);
	RUN(test_inherit);
	RUN(test_noacl);
	return ct_done();
}
