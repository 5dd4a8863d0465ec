/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twinfs_k.h - private declarations of twinfs.ko, the VFS glue.
 *
 * Layer: kernel home, above the core.  Its files call the kernel and the
 * core API (twinfs.h) exported by twinfs_core.ko, never the core's
 * internals.
 */
#ifndef TWINFS_K_H
#define TWINFS_K_H

#include <linux/fs.h>
#include <linux/workqueue.h>

#include "tw_compat.h"
#include "twinfs.h"

struct twinfs_sb_info {
	struct tw_fs *fs;
	unsigned int commit_sec; /* commit= : age of a transaction, s */
	bool noacl; /* noacl: no POSIX ACLs (no SB_POSIXACL) */
	struct delayed_work commit_work;
	bool debug_mount;
};

struct twinfs_inode_info {
	struct inode vfs_inode;
	u64 disk_size; /* i_size as the core knows it */
	bool new_blocks; /* blocks were allocated: refresh i_blocks */
	struct timespec64 btime;
};

static inline struct twinfs_sb_info *TW_SB(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct tw_fs *TW_FS(struct inode *inode)
{
	return TW_SB(inode->i_sb)->fs;
}

static inline struct twinfs_inode_info *TW_I(struct inode *inode)
{
	return container_of(inode, struct twinfs_inode_info, vfs_inode);
}

/* inode.c */
extern const struct inode_operations twinfs_dir_iops;
extern const struct inode_operations twinfs_file_iops;
extern const struct inode_operations twinfs_symlink_iops;
extern const struct inode_operations twinfs_special_iops;
extern const struct xattr_handler *twinfs_xattr_handlers[];
extern const struct export_operations twinfs_export_ops;
struct inode *twinfs_iget(struct super_block *sb, u64 ino,
			  const struct tw_attr *known);
void twinfs_fill_inode(struct inode *inode, const struct tw_attr *a,
		       bool size_too);
#ifdef CONFIG_FS_POSIX_ACL
struct posix_acl *twinfs_get_acl(struct inode *inode, int type, bool rcu);
int twinfs_set_acl(TW_IDMAP_T *idmap, TW_SET_ACL_TARGET *target,
		   struct posix_acl *acl, int type);
#endif

/* file.c */
extern const struct file_operations twinfs_file_fops;
extern const struct file_operations twinfs_dir_fops;
extern const struct address_space_operations twinfs_aops;
int twinfs_get_block(struct inode *inode, sector_t iblock,
		     struct buffer_head *bh, int create);
int twinfs_zero_tail(struct inode *inode, loff_t from);
int twinfs_fiemap(struct inode *inode, struct fiemap_extent_info *fieinfo,
		  u64 start, u64 len);

#endif /* TWINFS_K_H */
