/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsck_xattr.h - the checker's look inside an inode's xattr block.
 *
 * Layer: tools, a part of the checker (fsck.c).  Includes the core's
 * headers only.
 */
#ifndef TWINFS_FSCK_XATTR_H
#define TWINFS_FSCK_XATTR_H

#include "tw_int.h"

/* Report a problem (@msg, no newline); true if it is to be repaired. */
typedef bool (*fsck_report_fn)(void *ctx, const char *msg);

/**
 * fsck_xattr_acls() - check the system. entries of the xattr block @xh
 * (already found whole by tw_xattr_entries_ok()) of inode @ino: each
 * names one of the two POSIX ACLs, holds a well-formed one
 * (tw_acl_check()), and a default ACL belongs to a directory (@isdir).
 * Each bad entry is reported through @report; the ones it says to repair
 * are removed from the block (xh_count may reach 0: the caller then frees
 * the block).  The caller reseals the block.
 * Return: the number of entries removed.
 */
u32 fsck_xattr_acls(struct tw_xattr_header *xh, u64 ino, bool isdir,
		    fsck_report_fn report, void *ctx);

#endif /* TWINFS_FSCK_XATTR_H */
