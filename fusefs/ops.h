/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.h - what the files of twinfs-fuse's FUSE operations share: the
 * helpers of ops.c that turn core results into replies, and the
 * bookkeeping of state.c that follows the kernel's references.
 *
 * Layer: fusefs (user space), private to ops.c, file.c, dir.c, xattr.c
 * and state.c.  Declares nothing the rest of the daemon uses (that is
 * fusefs.h).
 */
#ifndef TWINFS_FUSEFS_OPS_H
#define TWINFS_FUSEFS_OPS_H

#include "fusefs.h"

#include <sys/stat.h>

static inline struct tf_state *ST(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ops.c: replies */

/** tf_reply_err() - reply with an errno, negative (the core's) or not. */
void tf_reply_err(fuse_req_t req, int err);

/** tf_fill_stat() - the struct stat of core attributes @a. */
void tf_fill_stat(const struct tw_attr *a, struct stat *st);

/** tf_fill_entry() - an entry reply for @a, with the timeouts of @s. */
void tf_fill_entry(struct tf_state *s, const struct tw_attr *a,
		   struct fuse_entry_param *e);

/** tf_reply_entry() - hand @a to the kernel as a new lookup of its inode. */
void tf_reply_entry(fuse_req_t req, const struct tw_attr *a);

/** tf_cred_of() - the credentials of the caller of @req. */
void tf_cred_of(fuse_req_t req, struct tw_cred *c);

/** tf_in_group() - is the caller of @req a member of group @gid? */
bool tf_in_group(fuse_req_t req, u32 gid);

/** tf_new_mode() - the mode bits of a new inode in @parent (set-group-ID
 * inheritance; the umask goes with tf_cred_of()). */
u32 tf_new_mode(fuse_req_t req, u64 parent, u32 mode);

/* file.c: RELEASE and FSYNC, of a file or (as RELEASEDIR and FSYNCDIR)
 * a directory */
void tf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void tf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi);

/* file.c, dir.c, xattr.c: their operations into @ops */
void tf_file_ops(struct fuse_lowlevel_ops *ops, const struct tf_config *cfg);
void tf_dir_ops(struct fuse_lowlevel_ops *ops);
void tf_xattr_ops(struct fuse_lowlevel_ops *ops);

/* state.c: references and the space they hold */

/** tf_reclaim_begin(), tf_reclaim_end() - around a FORGET or RELEASE,
 * which may free space that a STATFS should count. */
void tf_reclaim_begin(struct tf_state *s);
void tf_reclaim_end(struct tf_state *s);

/** tf_reclaim_wait() - wait (bounded) for FORGETs and RELEASEs in progress
 * and for FORGETs that are due. */
void tf_reclaim_wait(struct tf_state *s);

/** tf_retry_enospc() - @err is -ENOSPC while space is due back: wait for
 * it; whether to try once more. */
bool tf_retry_enospc(struct tf_state *s, long err);

/** tf_unref() - the kernel let go of @n lookups of @ino. */
void tf_unref(struct tf_state *s, u64 ino, u64 n);

/** tf_unlinked() - the core says @ino has no links left. */
void tf_unlinked(struct tf_state *s, u64 ino);

/** tf_released() - the kernel closed a file or directory of @ino. */
void tf_released(struct tf_state *s, u64 ino);

#endif /* TWINFS_FUSEFS_OPS_H */
