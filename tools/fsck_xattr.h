/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsck_xattr.h - the checker's look at an inode's extended attributes.
 *
 * Layer: tools, a part of the checker (fsck.h).  Includes the core's
 * internal header (tw_int.h) and fsck.h.
 */
#ifndef TWINFS_FSCK_XATTR_H
#define TWINFS_FSCK_XATTR_H

#include "tw_int.h"
#include "fsck.h"

/* Report a problem (@msg, no newline); true if it is to be repaired. */
typedef bool (*fsck_report_fn)(void *ctx, const char *msg);

/**
 * fsck_xattr_acls() - check the system. entries of the xattr entry block
 * @xh (already found whole by tw_xattr_block_ok()) of inode @ino: each
 * names one of the two POSIX ACLs, holds a well-formed one
 * (tw_acl_check()), and a default ACL belongs to a directory (@isdir).
 * Each bad entry is reported through @report; the ones it says to repair
 * are removed from the block (xh_count may reach 0: the caller then frees
 * the block).  The caller reseals the block.
 * Return: the number of entries removed.
 */
u32 fsck_xattr_acls(struct tw_xattr_header *xh, u64 ino, bool isdir,
		    fsck_report_fn report, void *ctx);

/**
 * fsck_xattr_inode() - pass 1's check of the extended attributes of inode
 * @ino (@di, in its table block, checksum and fields already found sound):
 * the one-block form or the index, its entry blocks and value blocks
 * (docs/format.md section 11), repaired as the mode allows.  Every block
 * kept is claimed and added to *@count (for i_blocks); *@changed is set
 * when @di was changed (the caller writes the inode).
 * Return: 0, or a negative errno that stops the check.
 */
int fsck_xattr_inode(struct fsck_ctx *c, u64 ino, struct tw_inode *di,
		     u64 *count, bool *changed);

#endif /* TWINFS_FSCK_XATTR_H */
