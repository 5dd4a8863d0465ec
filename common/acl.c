// SPDX-License-Identifier: GPL-2.0
/*
 * acl.c - POSIX access control lists: what system.posix_acl_access and
 * system.posix_acl_default mean.  They are xattrs in Linux's own
 * representation (tw_format.h); here they are checked, inherited by new
 * inodes, kept in step with the mode bits on chmod and on set, as Linux's
 * fs/posix_acl.c does for the filesystems that store them, so that both
 * homes share one behaviour.  Enforcing them is the homes' (the VFS's
 * generic_permission, FUSE's default_permissions).
 *
 * Layer: core (common/).  Calls xattr.c's helpers on held inodes and the
 * environment; runs inside the callers' transactions and inode locks.
 *
 * Values are walked as bytes: inside an xattr block a value need not be
 * aligned for struct tw_acl_entry.
 */
#include "tw_int.h"

#define ACL_HDR 4u
#define ACL_ENT 8u
#define RWX 7u

static const char name_access[] = "posix_acl_access";
static const char name_default[] = "posix_acl_default";
#define LEN_ACCESS (sizeof(name_access) - 1)
#define LEN_DEFAULT (sizeof(name_default) - 1)

static u32 get16(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

/* Entry @i of the ACL at @v: its tag, and its permission bits' address. */
static u32 tag_of(const u8 *v, u32 i)
{
	return get16(v + ACL_HDR + i * ACL_ENT);
}

static u32 perm_of(const u8 *v, u32 i)
{
	return get16(v + ACL_HDR + i * ACL_ENT + 2);
}

static void set_perm(u8 *v, u32 i, u32 perm)
{
	u8 *p = v + ACL_HDR + i * ACL_ENT + 2;

	p[0] = (u8)perm;
	p[1] = 0;
}

static u32 nentries(u32 size)
{
	return (size - ACL_HDR) / ACL_ENT;
}

int tw_acl_type(const char *name, u32 len)
{
	if (len == LEN_ACCESS && !memcmp(name, name_access, len))
		return TW_ACL_TYPE_ACCESS;
	if (len == LEN_DEFAULT && !memcmp(name, name_default, len))
		return TW_ACL_TYPE_DEFAULT;
	return 0;
}

/*
 * The entries come in the order of posix_acl_valid(): the owner, named
 * users, the owning group, named groups, the mask, others; each unnamed
 * one exactly once, the mask at most once and required with named ones.
 */
int tw_acl_check(const void *value, size_t size)
{
	const u8 *v = value;
	bool named = false, mask = false;
	u32 i, n, stage = 0;

	if (size < ACL_HDR)
		return -EINVAL;
	if (get32(v) != TW_ACL_VERSION)
		return -EOPNOTSUPP;
	if ((size - ACL_HDR) % ACL_ENT || size == ACL_HDR ||
	    size > TW_XATTR_SPACE)
		return -EINVAL;
	n = nentries((u32)size);
	for (i = 0; i < n; i++) {
		u32 tag = tag_of(v, i), id;
		bool ok;

		if (perm_of(v, i) & ~RWX)
			return -EINVAL;
		id = get32(v + ACL_HDR + i * ACL_ENT + 4);
		switch (tag) {
		case TW_ACL_USER_OBJ:
			ok = stage == 0;
			stage = 1;
			break;
		case TW_ACL_USER:
			ok = stage == 1 && id != TW_ACL_UNDEFINED_ID;
			named = true;
			break;
		case TW_ACL_GROUP_OBJ:
			ok = stage == 1;
			stage = 2;
			break;
		case TW_ACL_GROUP:
			ok = stage == 2 && id != TW_ACL_UNDEFINED_ID;
			named = true;
			break;
		case TW_ACL_MASK:
			ok = stage == 2;
			stage = 3;
			mask = true;
			break;
		case TW_ACL_OTHER:
			ok = stage == 2 || stage == 3;
			stage = 4;
			break;
		default:
			ok = false;
		}
		if (!ok)
			return -EINVAL;
	}
	return stage == 4 && (mask || !named) ? 0 : -EINVAL;
}

/*
 * posix_acl_equiv_mode(): the permission bits a (checked) access ACL
 * gives, put into *@mode; returns whether the ACL says more than they do
 * (named entries or a mask).
 */
static bool acl_to_mode(const u8 *v, u32 size, u32 *mode)
{
	u32 i, n = nentries(size), bits = 0;
	bool more = false;

	for (i = 0; i < n; i++) {
		u32 perm = perm_of(v, i);

		switch (tag_of(v, i)) {
		case TW_ACL_USER_OBJ:
			bits |= perm << 6;
			break;
		case TW_ACL_GROUP_OBJ:
			bits |= perm << 3;
			break;
		case TW_ACL_MASK:
			/* after the group entry: the mask wins */
			bits = (bits & ~070u) | perm << 3;
			more = true;
			break;
		case TW_ACL_OTHER:
			bits |= perm;
			break;
		default: /* named users and groups */
			more = true;
		}
	}
	*mode = (*mode & ~0777u) | bits;
	return more;
}

/*
 * posix_acl_create_masq(): an inherited default ACL @v meets the mode of a
 * create.  The owner, other and mask (or, without one, group) entries keep
 * only what @mode grants, and @mode only what they grant.  Returns whether
 * the result says more than the mode bits.
 */
static bool acl_masq(u8 *v, u32 size, u32 *mode)
{
	u32 i, n = nentries(size), m = *mode & 0777u;
	u32 group = n, mask = n;
	bool more = false;

	for (i = 0; i < n; i++) {
		u32 perm = perm_of(v, i);

		switch (tag_of(v, i)) {
		case TW_ACL_USER_OBJ:
			perm &= m >> 6;
			m = (m & ~0700u) | perm << 6;
			set_perm(v, i, perm);
			break;
		case TW_ACL_GROUP_OBJ:
			group = i;
			break;
		case TW_ACL_MASK:
			mask = i;
			more = true;
			break;
		case TW_ACL_OTHER:
			perm &= m & RWX;
			m = (m & ~07u) | perm;
			set_perm(v, i, perm);
			break;
		default:
			more = true;
		}
	}
	i = mask < n ? mask : group;
	if (i < n) { /* always: the ACL was checked */
		u32 perm = perm_of(v, i) & (m >> 3);

		m = (m & ~070u) | perm << 3;
		set_perm(v, i, perm);
	}
	*mode = (*mode & ~0777u) | m;
	return more;
}

/* posix_acl_chmod(): owner, mask (or group) and other follow @mode. */
static void acl_chmod(u8 *v, u32 size, u32 mode)
{
	u32 i, n = nentries(size), group = n, mask = n;

	for (i = 0; i < n; i++) {
		switch (tag_of(v, i)) {
		case TW_ACL_USER_OBJ:
			set_perm(v, i, (mode >> 6) & RWX);
			break;
		case TW_ACL_GROUP_OBJ:
			group = i;
			break;
		case TW_ACL_MASK:
			mask = i;
			break;
		case TW_ACL_OTHER:
			set_perm(v, i, mode & RWX);
			break;
		}
	}
	i = mask < n ? mask : group;
	if (i < n)
		set_perm(v, i, (mode >> 3) & RWX);
}

/* Remove an ACL; one that is not there is no error, as in Linux. */
static int acl_remove(struct tw_fs *fs, struct tw_ictx *ic, const char *name,
		      u32 len)
{
	int err = tw_xattr_set_ic(fs, ic, TW_XATTR_NS_SYSTEM, name, len, NULL,
				  0, 0, true);

	return err == -ENODATA ? 0 : err;
}

int tw_acl_set(struct tw_fs *fs, struct tw_ictx *ic, int type,
	       const void *value, u32 size, u32 flags, bool remove)
{
	const char *name =
		type == TW_ACL_TYPE_ACCESS ? name_access : name_default;
	u32 len = type == TW_ACL_TYPE_ACCESS ? LEN_ACCESS : LEN_DEFAULT;
	u32 mode = TW_GET16(ic->di, i_mode), newmode = mode;
	bool more;
	int err;

	if (TW_S_ISLNK(mode))
		return -EOPNOTSUPP;
	/* a header without entries is no ACL (posix_acl_from_xattr) */
	if (!remove && size == ACL_HDR && get32(value) == TW_ACL_VERSION)
		remove = true;
	if (!remove) {
		err = tw_acl_check(value, size);
		if (err)
			return err;
	}
	if (type == TW_ACL_TYPE_DEFAULT && !TW_S_ISDIR(mode))
		return remove ? 0 : -EACCES;
	if (remove)
		return acl_remove(fs, ic, name, len);
	if (type == TW_ACL_TYPE_DEFAULT)
		return tw_xattr_set_ic(fs, ic, TW_XATTR_NS_SYSTEM, name, len,
				       value, size, 0, false);
	/* posix_acl_update_mode(): the mode follows the ACL, which is not
	 * kept if the mode says it all */
	more = acl_to_mode(value, size, &newmode);
	if (flags & TW_XATTR_ACL_KILL_SGID)
		newmode &= ~TW_S_ISGID;
	if (more)
		err = tw_xattr_set_ic(fs, ic, TW_XATTR_NS_SYSTEM, name, len,
				      value, size, 0, false);
	else
		err = acl_remove(fs, ic, name, len);
	if (!err)
		TW_SET16(ic->di, i_mode, newmode);
	return err;
}

int tw_acl_chmod(struct tw_fs *fs, struct tw_ictx *ic, u32 mode)
{
	struct tw_buf *b;
	u32 size;
	void *v;
	int err;

	if ((fs->mnt_flags & TW_MNT_NOACL) || !ic->di->i_xattr)
		return 0;
	err = tw_xattr_edit_ic(fs, ic, TW_XATTR_NS_SYSTEM, name_access,
			       LEN_ACCESS, &b, &v, &size);
	if (err)
		return err == -ENODATA ? 0 : err;
	if (tw_acl_check(v, size)) {
		tw_buf_release(b);
		return tw_corrupt(fs, "bad access ACL", ic->ino);
	}
	acl_chmod(v, size, mode);
	err = tw_txn_dirty(fs, b);
	tw_buf_release(b);
	return err;
}

int tw_acl_inherit_prepare(struct tw_fs *fs, struct tw_ictx *dir, u32 *mode,
			   u32 umask, struct tw_acl_new *an)
{
	int n, got;
	u8 *buf;

	an->buf = NULL;
	an->size = 0;
	an->access = false;
	if ((fs->mnt_flags & TW_MNT_NOACL) || !dir->di->i_xattr)
		goto no_acl;
	n = tw_xattr_get_ic(fs, dir, TW_XATTR_NS_SYSTEM, name_default,
			    LEN_DEFAULT, NULL, 0);
	if (n == -ENODATA)
		goto no_acl;
	if (n < 0)
		return n;
	buf = tw_alloc(2 * (size_t)n);
	if (!buf)
		return -ENOMEM;
	/* the directory is held locked: the value cannot change */
	got = tw_xattr_get_ic(fs, dir, TW_XATTR_NS_SYSTEM, name_default,
			      LEN_DEFAULT, buf, (u32)n);
	if (got != n || tw_acl_check(buf, (u32)n)) {
		tw_free(buf, 2 * (size_t)n);
		return got < 0 ? got :
				 tw_corrupt(fs, "bad default ACL", dir->ino);
	}
	memcpy(buf + n, buf, (size_t)n);
	an->buf = buf;
	an->size = (u32)n;
	an->access = acl_masq(buf + n, (u32)n, mode);
	return 0;
no_acl:
	*mode &= ~(umask & 0777u);
	return 0;
}

void tw_acl_new_free(struct tw_acl_new *an)
{
	if (an->buf)
		tw_free(an->buf, 2 * (size_t)an->size);
	an->buf = NULL;
}

int tw_acl_inherit_apply(struct tw_fs *fs, struct tw_ictx *ic,
			 struct tw_acl_new *an)
{
	int err = 0;

	if (!an->buf)
		return 0;
	if (an->access)
		err = tw_xattr_set_ic(fs, ic, TW_XATTR_NS_SYSTEM, name_access,
				      LEN_ACCESS, an->buf + an->size, an->size,
				      0, false);
	/* a directory passes its default ACL on */
	if (!err && TW_S_ISDIR(TW_GET16(ic->di, i_mode)))
		err = tw_xattr_set_ic(fs, ic, TW_XATTR_NS_SYSTEM, name_default,
				      LEN_DEFAULT, an->buf, an->size, 0, false);
	tw_acl_new_free(an);
	return err;
}
