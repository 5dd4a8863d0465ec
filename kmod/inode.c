// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - twinfs.ko: inodes, names and attributes.  Each VFS operation
 * translates into one call of the core API and copies the result back into
 * the VFS's inodes.
 *
 * Layer: kernel home, VFS glue.  Calls the kernel and the core API
 * (twinfs.h) of twinfs_core.ko.
 *
 * Permissions are the VFS's (generic_permission, setattr_prepare, POSIX
 * ACLs through acl.c); the core only records owners, which it takes from
 * the caller's fsuid/fsgid.  With POSIX ACLs (SB_POSIXACL) the VFS leaves
 * the umask to us: it goes to the core, which applies it unless the
 * directory's default ACL decides instead.
 */
#include <linux/buffer_head.h>
#include <linux/cred.h>
#include <linux/exportfs.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/xattr.h>

#include "twinfs_k.h"

static struct tw_cred current_twcred(void)
{
	struct tw_cred c = {
		.uid = from_kuid(&init_user_ns, current_fsuid()),
		.gid = from_kgid(&init_user_ns, current_fsgid()),
	};

	return c;
}

/* The credentials for a create in @dir, with the umask the VFS left us. */
static struct tw_cred create_twcred(struct inode *dir)
{
	struct tw_cred c = current_twcred();

	if (IS_POSIXACL(dir))
		c.umask = current_umask();
	return c;
}

static struct timespec64 ns_to_ts(s64 ns)
{
	return ns_to_timespec64(ns);
}

static s64 ts_to_ns(struct timespec64 ts)
{
	return timespec64_to_ns(&ts);
}

/* Copy the core's attributes into a VFS inode.  A regular file's size is
 * the VFS's own once the inode is live: its page cache may be ahead. */
void twinfs_fill_inode(struct inode *inode, const struct tw_attr *a,
		       bool size_too)
{
	inode->i_mode = a->mode;
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	set_nlink(inode, a->nlink);
	if (size_too || !S_ISREG(a->mode)) {
		i_size_write(inode, a->size);
		TW_I(inode)->disk_size = a->size;
	}
	inode->i_blocks = a->blocks;
	inode->i_generation = a->generation;
	tw_set_atime(inode, ns_to_ts(a->atime));
	tw_set_mtime(inode, ns_to_ts(a->mtime));
	tw_set_ctime(inode, ns_to_ts(a->ctime));
	TW_I(inode)->btime = ns_to_ts(a->btime);
}

/* Refresh an inode whose attributes a namespace operation changed. */
static void refresh(struct inode *inode)
{
	struct tw_attr a;

	if (!tw_getattr(TW_FS(inode), inode->i_ino, &a))
		twinfs_fill_inode(inode, &a, false);
}

/*
 * The VFS inode of @ino, read from the core unless @known gives its
 * attributes.  A name that leads to a free inode is corruption (EUCLEAN);
 * a file handle that does (@by_handle) is merely stale, and so is one of
 * an inode that has lost its last link and that the VFS no longer holds.
 */
static struct inode *iget_common(struct super_block *sb, u64 ino,
				 const struct tw_attr *known, bool by_handle)
{
	struct tw_attr a;
	struct inode *inode;
	int err;

	inode = iget_locked(sb, ino);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	if (!(inode->i_state & I_NEW))
		return inode;
	if (known) {
		a = *known;
	} else {
		err = tw_getattr(TW_SB(sb)->fs, ino, &a);
		if (!err && by_handle && !a.nlink)
			err = -ESTALE;
		if (err) {
			iget_failed(inode);
			if (err == -ESTALE && !by_handle)
				err = -EUCLEAN;
			return ERR_PTR(err);
		}
	}
	twinfs_fill_inode(inode, &a, true);
	switch (a.mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &twinfs_file_iops;
		inode->i_fop = &twinfs_file_fops;
		inode->i_mapping->a_ops = &twinfs_aops;
		break;
	case S_IFDIR:
		inode->i_op = &twinfs_dir_iops;
		inode->i_fop = &twinfs_dir_fops;
		break;
	case S_IFLNK:
		inode->i_op = &twinfs_symlink_iops;
		inode_nohighmem(inode);
		break;
	default:
		inode->i_op = &twinfs_special_iops;
		init_special_inode(inode, a.mode, new_decode_dev(a.rdev));
		break;
	}
	unlock_new_inode(inode);
	return inode;
}

struct inode *twinfs_iget(struct super_block *sb, u64 ino,
			  const struct tw_attr *known)
{
	return iget_common(sb, ino, known, false);
}

/* ---- names ---- */

static struct dentry *twinfs_lookup(struct inode *dir, struct dentry *dentry,
				    unsigned int flags)
{
	struct inode *inode = NULL;
	struct tw_attr a;
	int err;

	if (dentry->d_name.len > TW_NAME_MAX)
		return ERR_PTR(-ENAMETOOLONG);
	err = tw_lookup(TW_FS(dir), dir->i_ino, dentry->d_name.name,
			dentry->d_name.len, &a);
	if (err && err != -ENOENT)
		return ERR_PTR(err);
	if (!err) {
		inode = twinfs_iget(dir->i_sb, a.ino, &a);
		if (IS_ERR(inode))
			return ERR_CAST(inode);
	}
	return d_splice_alias(inode, dentry);
}

/* A new inode the core made: hand it to the dentry, refresh the dir. */
static int instantiate(struct inode *dir, struct dentry *dentry,
		       const struct tw_attr *a)
{
	struct inode *inode = twinfs_iget(dir->i_sb, a->ino, a);

	if (IS_ERR(inode))
		return PTR_ERR(inode);
	refresh(dir);
	d_instantiate(dentry, inode);
	return 0;
}

static int twinfs_mknod(TW_IDMAP_T *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, dev_t rdev)
{
	struct tw_cred cred = create_twcred(dir);
	struct tw_attr a;
	int err;

	err = tw_mknod(TW_FS(dir), &cred, dir->i_ino, dentry->d_name.name,
		       dentry->d_name.len, mode, new_encode_dev(rdev), &a);
	return err ? err : instantiate(dir, dentry, &a);
}

static int twinfs_create(TW_IDMAP_T *idmap, struct inode *dir,
			 struct dentry *dentry, umode_t mode, bool excl)
{
	return twinfs_mknod(idmap, dir, dentry, mode | S_IFREG, 0);
}

static int twinfs_mkdir(TW_IDMAP_T *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode)
{
	struct tw_cred cred = create_twcred(dir);
	struct tw_attr a;
	int err;

	err = tw_mkdir(TW_FS(dir), &cred, dir->i_ino, dentry->d_name.name,
		       dentry->d_name.len, mode, &a);
	return err ? err : instantiate(dir, dentry, &a);
}

static int twinfs_symlink(TW_IDMAP_T *idmap, struct inode *dir,
			  struct dentry *dentry, const char *target)
{
	struct tw_cred cred = current_twcred();
	struct tw_attr a;
	int err;

	err = tw_symlink(TW_FS(dir), &cred, dir->i_ino, dentry->d_name.name,
			 dentry->d_name.len, target, strlen(target), &a);
	return err ? err : instantiate(dir, dentry, &a);
}

static int twinfs_link(struct dentry *old, struct inode *dir,
		       struct dentry *dentry)
{
	struct inode *inode = d_inode(old);
	struct tw_attr a;
	int err;

	/* no links: an O_TMPFILE file the VFS found linkable (I_LINKABLE) */
	if (inode->i_nlink)
		err = tw_link(TW_FS(dir), inode->i_ino, dir->i_ino,
			      dentry->d_name.name, dentry->d_name.len, &a);
	else
		err = tw_link_tmpfile(TW_FS(dir), inode->i_ino, dir->i_ino,
				      dentry->d_name.name, dentry->d_name.len,
				      &a);
	if (err)
		return err;
	twinfs_fill_inode(inode, &a, false);
	refresh(dir);
	ihold(inode);
	d_instantiate(dentry, inode);
	return 0;
}

/*
 * O_TMPFILE: the core makes an unnamed file that is on its orphan list from
 * the start; linkat() may name it later (twinfs_link), otherwise the last
 * close frees it (twinfs_evict_inode) or, after a crash, the next mount.
 */
static int twinfs_tmpfile(TW_IDMAP_T *idmap, struct inode *dir,
			  struct file *file, umode_t mode)
{
	struct tw_cred cred = create_twcred(dir);
	struct inode *inode;
	struct tw_attr a;
	int err;

	err = tw_tmpfile(TW_FS(dir), &cred, dir->i_ino, mode, &a);
	if (err)
		return err;
	inode = twinfs_iget(dir->i_sb, a.ino, &a);
	if (IS_ERR(inode)) {
		tw_evict(TW_FS(dir), a.ino);
		return PTR_ERR(inode);
	}
	/* d_tmpfile() drops the one link a new inode has in the VFS */
	set_nlink(inode, 1);
	d_tmpfile(file, inode);
	return finish_open_simple(file, 0);
}

static int twinfs_unlink(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	u32 nlink;
	int err;

	err = tw_unlink(TW_FS(dir), dir->i_ino, dentry->d_name.name,
			dentry->d_name.len, NULL, &nlink);
	if (err)
		return err;
	/* at 0 the core keeps the inode as an orphan until evict_inode */
	refresh(inode);
	set_nlink(inode, nlink);
	refresh(dir);
	return 0;
}

static int twinfs_rmdir(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);
	int err;

	err = tw_rmdir(TW_FS(dir), dir->i_ino, dentry->d_name.name,
		       dentry->d_name.len, NULL, NULL);
	if (err)
		return err;
	clear_nlink(inode);
	refresh(dir);
	return 0;
}

static int twinfs_rename(TW_IDMAP_T *idmap, struct inode *old_dir,
			 struct dentry *old_dentry, struct inode *new_dir,
			 struct dentry *new_dentry, unsigned int flags)
{
	struct inode *victim = d_inode(new_dentry);
	struct tw_cred cred = current_twcred();
	u32 tflags = 0, vnlink = 0;
	u64 vino = 0;
	int err;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (flags & RENAME_NOREPLACE)
		tflags |= TW_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		tflags |= TW_RENAME_EXCHANGE;
	/* the core leaves a whiteout (char device 0/0) at the old name */
	if (flags & RENAME_WHITEOUT)
		tflags |= TW_RENAME_WHITEOUT;
	err = tw_rename(TW_FS(old_dir), &cred, old_dir->i_ino,
			old_dentry->d_name.name, old_dentry->d_name.len,
			new_dir->i_ino, new_dentry->d_name.name,
			new_dentry->d_name.len, tflags, &vino, &vnlink);
	if (err)
		return err;
	refresh(d_inode(old_dentry));
	if (victim) {
		if (flags & RENAME_EXCHANGE) {
			refresh(victim);
		} else {
			refresh(victim);
			set_nlink(victim, vnlink);
		}
	}
	refresh(old_dir);
	if (new_dir != old_dir)
		refresh(new_dir);
	return 0;
}

/* ---- attributes ---- */

static int twinfs_setattr(TW_IDMAP_T *idmap, struct dentry *dentry,
			  struct iattr *iattr)
{
	struct inode *inode = d_inode(dentry);
	struct tw_fs *fs = TW_FS(inode);
	struct tw_setattr sa = { 0 };
	loff_t old = i_size_read(inode);
	int err;

	err = setattr_prepare(idmap, dentry, iattr);
	if (err)
		return err;
	if ((iattr->ia_valid & ATTR_SIZE) && iattr->ia_size != old) {
		if (!S_ISREG(inode->i_mode))
			return -EINVAL;
		if (iattr->ia_size > old) {
			/* the stale tail past the old end becomes file
			 * content: zero it in the page cache first */
			err = twinfs_zero_tail(inode, old);
			if (err)
				return err;
		} else {
			/* the page cache goes first: no writeback may
			 * land in blocks the core is about to free */
			truncate_setsize(inode, iattr->ia_size);
		}
		sa.valid |= TW_SET_SIZE | TW_SET_KEEP_TAIL;
		sa.size = iattr->ia_size;
	}
	setattr_copy(idmap, inode, iattr);
	if (iattr->ia_valid & ATTR_MODE) {
		sa.valid |= TW_SET_MODE;
		sa.mode = inode->i_mode;
	}
	if (iattr->ia_valid & ATTR_UID) {
		sa.valid |= TW_SET_UID;
		sa.uid = i_uid_read(inode);
	}
	if (iattr->ia_valid & ATTR_GID) {
		sa.valid |= TW_SET_GID;
		sa.gid = i_gid_read(inode);
	}
	if (iattr->ia_valid & ATTR_ATIME) {
		sa.valid |= TW_SET_ATIME;
		sa.atime = ts_to_ns(tw_get_atime(inode));
	}
	if (iattr->ia_valid & ATTR_MTIME) {
		sa.valid |= TW_SET_MTIME;
		sa.mtime = ts_to_ns(tw_get_mtime(inode));
	}
	if (iattr->ia_valid & ATTR_CTIME) {
		sa.valid |= TW_SET_CTIME;
		sa.ctime = ts_to_ns(tw_get_ctime(inode));
	}
	err = tw_setattr(fs, inode->i_ino, &sa, NULL);
	/* chmod rewrote the access ACL in the core */
	if (sa.valid & TW_SET_MODE)
		forget_all_cached_acls(inode);
	if (err)
		return err;
	if (sa.valid & TW_SET_SIZE) {
		TW_I(inode)->disk_size = sa.size;
		if (sa.size > old)
			truncate_setsize(inode, sa.size);
	}
	refresh(inode);
	return 0;
}

static int twinfs_getattr(TW_IDMAP_T *idmap, const struct path *path,
			  struct kstat *stat, u32 request_mask,
			  unsigned int flags)
{
	struct inode *inode = d_inode(path->dentry);

	generic_fillattr(idmap, inode, stat);
	stat->result_mask |= STATX_BTIME;
	stat->btime = TW_I(inode)->btime;
	return 0;
}

/* atime and file_update_time(): the times go straight to the core */
static int twinfs_update_time(TW_UPDATE_TIME_ARGS)
{
	struct timespec64 ts = TW_UPDATE_TIME_TS(inode);
	struct tw_setattr sa = { 0 };

	if (flags & S_ATIME) {
		tw_set_atime(inode, ts);
		sa.valid |= TW_SET_ATIME;
		sa.atime = ts_to_ns(ts);
	}
	if (flags & S_MTIME) {
		tw_set_mtime(inode, ts);
		sa.valid |= TW_SET_MTIME;
		sa.mtime = ts_to_ns(ts);
	}
	if (flags & S_CTIME)
		tw_set_ctime(inode, ts);
	sa.valid |= TW_SET_CTIME;
	sa.ctime = ts_to_ns(tw_get_ctime(inode));
	return tw_setattr(TW_FS(inode), inode->i_ino, &sa, NULL);
}

static const char *twinfs_get_link(struct dentry *dentry, struct inode *inode,
				   struct delayed_call *done)
{
	char *buf;
	ssize_t n;

	if (!dentry)
		return ERR_PTR(-ECHILD);
	buf = kmalloc(inode->i_size + 1, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	n = tw_readlink(TW_FS(inode), inode->i_ino, buf, inode->i_size);
	if (n < 0) {
		kfree(buf);
		return ERR_PTR(n);
	}
	buf[n] = '\0';
	set_delayed_call(done, kfree_link, buf);
	return buf;
}

/* ---- extended attributes ---- */

static ssize_t twinfs_listxattr(struct dentry *dentry, char *buf, size_t size)
{
	struct inode *inode = d_inode(dentry);
	bool admin = capable(CAP_SYS_ADMIN);
	ssize_t n, i, out = 0;
	char *all;

	n = tw_listxattr(TW_FS(inode), inode->i_ino, NULL, 0);
	if (n <= 0)
		return n;
	/* up to XATTR_LIST_MAX (64 KiB) of names: kvmalloc, not kmalloc */
	all = kvmalloc(n, GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	n = tw_listxattr(TW_FS(inode), inode->i_ino, all, n);
	/* trusted.* is for the administrator's eyes only */
	for (i = 0; n > 0 && i < n; i += strlen(all + i) + 1) {
		size_t len = strlen(all + i) + 1;

		if (!admin && !strncmp(all + i, XATTR_TRUSTED_PREFIX,
				       XATTR_TRUSTED_PREFIX_LEN))
			continue;
		if (size) {
			if (out + len > size) {
				out = -ERANGE;
				break;
			}
			memcpy(buf + out, all + i, len);
		}
		out += len;
	}
	kvfree(all);
	return n < 0 ? n : out;
}

static int twinfs_xattr_get(const struct xattr_handler *handler,
			    struct dentry *unused, struct inode *inode,
			    const char *name, void *buffer, size_t size)
{
	return tw_getxattr(TW_FS(inode), inode->i_ino,
			   xattr_full_name(handler, name), buffer, size);
}

static int twinfs_xattr_set(const struct xattr_handler *handler,
			    TW_IDMAP_T *idmap, struct dentry *unused,
			    struct inode *inode, const char *name,
			    const void *value, size_t size, int flags)
{
	const char *full = xattr_full_name(handler, name);
	int err;

	if (!value)
		err = tw_removexattr(TW_FS(inode), inode->i_ino, full);
	else
		err = tw_setxattr(TW_FS(inode), inode->i_ino, full, value, size,
				  flags);
	if (!err)
		refresh(inode);
	return err;
}

static const struct xattr_handler twinfs_user_xattr = {
	.prefix = XATTR_USER_PREFIX,
	.get = twinfs_xattr_get,
	.set = twinfs_xattr_set,
};

static const struct xattr_handler twinfs_trusted_xattr = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = twinfs_xattr_get,
	.set = twinfs_xattr_set,
};

static const struct xattr_handler twinfs_security_xattr = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = twinfs_xattr_get,
	.set = twinfs_xattr_set,
};

const struct xattr_handler *twinfs_xattr_handlers[] = {
#if defined(CONFIG_FS_POSIX_ACL) && TW_ACL_XATTR_HANDLERS
	&posix_acl_access_xattr_handler,
	&posix_acl_default_xattr_handler,
#endif
	&twinfs_user_xattr,
	&twinfs_trusted_xattr,
	&twinfs_security_xattr,
	NULL,
};

/* ---- file handles (NFS export, open_by_handle_at) ---- */

/*
 * A handle is the VFS's FILEID_INO32_GEN: the inode number and its
 * generation, which the core bumps each time a slot is used again.  It
 * names the inode across cache drops and remounts; once the inode is
 * freed, or its slot holds another file, it is stale (ESTALE).  Inode
 * numbers fit in 32 bits (the format's inode count is a u32).
 */
static struct inode *twinfs_nfs_get_inode(struct super_block *sb, u64 ino,
					  u32 generation)
{
	struct inode *inode;

	if (ino < TW_ROOT_INO)
		return ERR_PTR(-ESTALE);
	/* a cached inode is taken as it is; else the core reads it
	 * (ESTALE for a free slot or an inode number out of range) */
	inode = iget_common(sb, ino, NULL, true);
	if (IS_ERR(inode))
		return ERR_CAST(inode);
	if (inode->i_generation != generation) {
		iput(inode);
		return ERR_PTR(-ESTALE);
	}
	return inode;
}

static struct dentry *twinfs_fh_to_dentry(struct super_block *sb,
					  struct fid *fid, int fh_len,
					  int fh_type)
{
	return generic_fh_to_dentry(sb, fid, fh_len, fh_type,
				    twinfs_nfs_get_inode);
}

static struct dentry *twinfs_fh_to_parent(struct super_block *sb,
					  struct fid *fid, int fh_len,
					  int fh_type)
{
	return generic_fh_to_parent(sb, fid, fh_len, fh_type,
				    twinfs_nfs_get_inode);
}

/* A directory's parent, for reconnecting a directory decoded from a
 * handle to the tree: the core's "..", kept in the directory header. */
static struct dentry *twinfs_get_parent(struct dentry *child)
{
	struct inode *dir = d_inode(child);
	struct tw_attr a;
	int err;

	err = tw_lookup(TW_FS(dir), dir->i_ino, "..", 2, &a);
	if (err)
		return ERR_PTR(err == -ENOENT ? -ESTALE : err);
	return d_obtain_alias(iget_common(dir->i_sb, a.ino, NULL, true));
}

/* nfsd's "sync" export: a change it made is durable before it answers */
static int twinfs_commit_metadata(struct inode *inode)
{
	return tw_fsync(TW_FS(inode), inode->i_ino, false);
}

const struct export_operations twinfs_export_ops = {
	.encode_fh = TW_ENCODE_FH,
	.fh_to_dentry = twinfs_fh_to_dentry,
	.fh_to_parent = twinfs_fh_to_parent,
	.get_parent = twinfs_get_parent,
	.commit_metadata = twinfs_commit_metadata,
};

/* ---- operation tables ---- */

const struct inode_operations twinfs_dir_iops = {
	.lookup = twinfs_lookup,
	.create = twinfs_create,
	.mknod = twinfs_mknod,
	.mkdir = twinfs_mkdir,
	.symlink = twinfs_symlink,
	.link = twinfs_link,
	.unlink = twinfs_unlink,
	.rmdir = twinfs_rmdir,
	.rename = twinfs_rename,
	.tmpfile = twinfs_tmpfile,
	.setattr = twinfs_setattr,
	.getattr = twinfs_getattr,
	.listxattr = twinfs_listxattr,
	.update_time = twinfs_update_time,
#ifdef CONFIG_FS_POSIX_ACL
	.TW_IOP_GET_ACL = twinfs_get_acl,
	.set_acl = twinfs_set_acl,
#endif
};

const struct inode_operations twinfs_file_iops = {
	.setattr = twinfs_setattr,
	.getattr = twinfs_getattr,
	.fiemap = twinfs_fiemap,
	.listxattr = twinfs_listxattr,
	.update_time = twinfs_update_time,
#ifdef CONFIG_FS_POSIX_ACL
	.TW_IOP_GET_ACL = twinfs_get_acl,
	.set_acl = twinfs_set_acl,
#endif
};

const struct inode_operations twinfs_symlink_iops = {
	.get_link = twinfs_get_link,
	.setattr = twinfs_setattr,
	.getattr = twinfs_getattr,
	.listxattr = twinfs_listxattr,
};

const struct inode_operations twinfs_special_iops = {
	.setattr = twinfs_setattr,
	.getattr = twinfs_getattr,
	.listxattr = twinfs_listxattr,
	.update_time = twinfs_update_time,
#ifdef CONFIG_FS_POSIX_ACL
	.TW_IOP_GET_ACL = twinfs_get_acl,
	.set_acl = twinfs_set_acl,
#endif
};
