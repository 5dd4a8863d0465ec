/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_compat.h - every kernel-version difference the twinfs module meets,
 * in one place.  Nothing else in kmod/ tests LINUX_VERSION_CODE, and the
 * core (common/) never sees the kernel's API at all.
 *
 * Layer: kernel home.  Includes kernel headers only.
 *
 * Built and tested here: Debian 12's 6.1.  The newer spellings are those
 * of the upstream changes named beside each one.
 */
#ifndef TW_COMPAT_H
#define TW_COMPAT_H

#include <linux/version.h>
#include <linux/exportfs.h>
#include <linux/fs.h>
#include <linux/posix_acl_xattr.h>

/* 6.3: idmapped mounts pass a struct mnt_idmap instead of a user_namespace */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define TW_IDMAP_T struct mnt_idmap
#define TW_IDMAP_NONE (&nop_mnt_idmap)
#else
#define TW_IDMAP_T struct user_namespace
#define TW_IDMAP_NONE (&init_user_ns)
#endif

/* 6.6/6.7: inode timestamps only through accessors */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define tw_set_atime(i, ts) inode_set_atime_to_ts(i, ts)
#define tw_set_mtime(i, ts) inode_set_mtime_to_ts(i, ts)
#define tw_set_ctime(i, ts) inode_set_ctime_to_ts(i, ts)
#define tw_get_atime(i) inode_get_atime(i)
#define tw_get_mtime(i) inode_get_mtime(i)
#define tw_get_ctime(i) inode_get_ctime(i)
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define tw_set_atime(i, ts) ((i)->i_atime = (ts))
#define tw_set_mtime(i, ts) ((i)->i_mtime = (ts))
#define tw_set_ctime(i, ts) inode_set_ctime_to_ts(i, ts)
#define tw_get_atime(i) ((i)->i_atime)
#define tw_get_mtime(i) ((i)->i_mtime)
#define tw_get_ctime(i) inode_get_ctime(i)
#else
#define tw_set_atime(i, ts) ((i)->i_atime = (ts))
#define tw_set_mtime(i, ts) ((i)->i_mtime = (ts))
#define tw_set_ctime(i, ts) ((i)->i_ctime = (ts))
#define tw_get_atime(i) ((i)->i_atime)
#define tw_get_mtime(i) ((i)->i_mtime)
#define tw_get_ctime(i) ((i)->i_ctime)
#endif

/* 6.6: ->update_time lost its timespec argument */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define TW_UPDATE_TIME_ARGS struct inode *inode, int flags
#define TW_UPDATE_TIME_TS(inode) inode_get_ctime(inode)
#else
#define TW_UPDATE_TIME_ARGS \
	struct inode *inode, struct timespec64 *tsp, int flags
#define TW_UPDATE_TIME_TS(inode) (*tsp)
#endif

/* 6.12: ->write_begin and ->write_end pass folios */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define TW_WB_PAGE_T struct folio
/* zero @len bytes at file position @pos of what write_begin returned */
#define tw_wb_zero(p, pos, len) \
	folio_zero_range((p), offset_in_folio((p), (pos)), (len))
#else
#define TW_WB_PAGE_T struct page
#define tw_wb_zero(p, pos, len) zero_user((p), offset_in_page(pos), (len))
#endif

/* 6.5: ->splice_read became filemap_splice_read */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define tw_splice_read filemap_splice_read
#else
#define tw_splice_read generic_file_splice_read
#endif

/*
 * 6.7: ->encode_fh became mandatory for exporting; 6.1 encodes
 * FILEID_INO32_GEN itself when it is NULL, as generic_encode_ino32_fh
 * does later
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define TW_ENCODE_FH generic_encode_ino32_fh
#else
#define TW_ENCODE_FH NULL
#endif

/*
 * 6.2: ->get_acl became ->get_inode_acl (same arguments, for permission
 * checks), ->set_acl takes the dentry, and the VFS routes
 * system.posix_acl_* to them itself: no xattr handlers for them in
 * s_xattr any more.  (6.3's struct mnt_idmap is TW_IDMAP_T above.)
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define TW_IOP_GET_ACL get_inode_acl
#define TW_SET_ACL_TARGET struct dentry
#define tw_set_acl_inode(t) d_inode(t)
#define TW_ACL_XATTR_HANDLERS 0 /* not in s_xattr */
#else
#define TW_IOP_GET_ACL get_acl
#define TW_SET_ACL_TARGET struct inode
#define tw_set_acl_inode(t) (t)
#define TW_ACL_XATTR_HANDLERS 1 /* in s_xattr */
#endif

/* 6.9: the block device of a superblock is opened as a file */
#define tw_sb_bdev(sb) ((sb)->s_bdev)

#endif /* TW_COMPAT_H */
