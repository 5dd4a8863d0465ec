// SPDX-License-Identifier: GPL-2.0
/*
 * acl.c - twinfs.ko: POSIX ACLs between the VFS and the core.  The VFS
 * checks them (generic_permission), caches them and turns the
 * system.posix_acl_* xattrs into calls of ->get_acl and ->set_acl; these
 * hand the core Linux's xattr representation, which is what it stores.
 * What an ACL does to the mode, chmod, and inheritance at create time are
 * the core's (common/acl.c), so that twinfs-fuse behaves the same.
 *
 * Layer: kernel home, VFS glue.  Calls the kernel and the core API
 * (twinfs.h) of twinfs_core.ko.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "twinfs_k.h"

#ifdef CONFIG_FS_POSIX_ACL

static const char *acl_name(int type)
{
	return type == ACL_TYPE_ACCESS ? XATTR_NAME_POSIX_ACL_ACCESS :
					 XATTR_NAME_POSIX_ACL_DEFAULT;
}

/* The VFS caches what this returns (NULL: no ACL) until it is forgotten. */
struct posix_acl *twinfs_get_acl(struct inode *inode, int type, bool rcu)
{
	struct posix_acl *acl;
	ssize_t n;
	void *buf;

	if (rcu)
		return ERR_PTR(-ECHILD);
	/* a value never outgrows the inode's one xattr block */
	buf = kmalloc(TW_BLOCK_SIZE, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	n = tw_getxattr(TW_FS(inode), inode->i_ino, acl_name(type), buf,
			TW_BLOCK_SIZE);
	if (n == -ENODATA)
		acl = NULL;
	else if (n < 0)
		acl = ERR_PTR(n);
	else
		acl = posix_acl_from_xattr(&init_user_ns, buf, n);
	kfree(buf);
	return acl;
}

/*
 * The VFS has checked ownership, that a default ACL goes to a directory
 * and the ACL itself.  The core sets the mode from an access ACL and
 * drops one the mode says all of; whether S_ISGID survives depends on the
 * caller, which only we know (posix_acl_update_mode()).
 */
int twinfs_set_acl(TW_IDMAP_T *idmap, TW_SET_ACL_TARGET *target,
		   struct posix_acl *acl, int type)
{
	struct inode *inode = tw_set_acl_inode(target);
	struct tw_fs *fs = TW_FS(inode);
	struct tw_attr a;
	u32 flags = 0;
	size_t size;
	void *buf;
	int err;

	if (!acl) {
		err = tw_removexattr(fs, inode->i_ino, acl_name(type));
	} else {
		size = posix_acl_xattr_size(acl->a_count);
		buf = kmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		err = posix_acl_to_xattr(&init_user_ns, acl, buf, size);
		if (err >= 0) {
			if (type == ACL_TYPE_ACCESS &&
			    !in_group_p(inode->i_gid) &&
			    !capable_wrt_inode_uidgid(idmap, inode, CAP_FSETID))
				flags |= TW_XATTR_ACL_KILL_SGID;
			err = tw_setxattr(fs, inode->i_ino, acl_name(type), buf,
					  size, flags);
		}
		kfree(buf);
	}
	/* what the core kept (maybe nothing), and the mode and ctime */
	forget_cached_acl(inode, type);
	if (!tw_getattr(fs, inode->i_ino, &a))
		twinfs_fill_inode(inode, &a, false);
	return err;
}

#endif /* CONFIG_FS_POSIX_ACL */
