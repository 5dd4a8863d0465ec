// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - the FUSE low-level operations of twinfs-fuse, each wired to the
 * core API.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the
 * user-space environment (tw_user.h), libfuse3's low-level API and the C
 * library.
 *
 * FUSE inode numbers are twinfs inode numbers: the root is inode 1, which
 * is FUSE_ROOT_ID.  The core returns negative errnos; the replies carry the
 * positive ones.  The core locks what it touches, so requests from many
 * worker threads call it directly; the only state of our own is the table
 * of lookup counts (itable.c).
 *
 * Permissions are the kernel's (default_permissions is always on): it
 * checks access from the attributes we return and asks us to clear set-ID
 * bits through SETATTR (we do not take FUSE_CAP_HANDLE_KILLPRIV), so that
 * write, truncate and chown behave as on a local filesystem.  Owners of
 * new inodes come from the request's context, and with FUSE_CAP_DONT_MASK
 * the umask is applied here (by the core, which skips it when a default
 * ACL applies instead).
 *
 * POSIX ACLs (FUSE_CAP_POSIX_ACL, unless -o noacl): the kernel enforces
 * and caches them and hands system.posix_acl_* to our xattr operations;
 * the core stores them, keeps the mode in step and does the inheritance.
 */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- helpers ---- */

static void ns_to_ts(s64 ns, struct timespec *ts)
{
	s64 sec = ns / 1000000000ll, rem = ns % 1000000000ll;

	if (rem < 0) {
		rem += 1000000000ll;
		sec--;
	}
	ts->tv_sec = sec;
	ts->tv_nsec = rem;
}

static s64 ts_to_ns(const struct timespec *ts)
{
	return (s64)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

void tf_fill_stat(const struct tw_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = TW_UDEV_BLOCK_SIZE;
	st->st_blocks = (blkcnt_t)a->blocks;
	ns_to_ts(a->atime, &st->st_atim);
	ns_to_ts(a->mtime, &st->st_mtim);
	ns_to_ts(a->ctime, &st->st_ctim);
}

void tf_fill_entry(struct tf_state *s, const struct tw_attr *a,
		   struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	/*
	 * The kernel made the root inode itself, with generation 0, and
	 * takes a root of any other generation (a LOOKUP of ".." that
	 * answers it) for a reused node ID: it would mark its root bad.
	 */
	e->generation = a->ino == FUSE_ROOT_ID ? 0 : a->generation;
	tf_fill_stat(a, &e->attr);
	e->attr_timeout = s->cfg->attr_timeout;
	e->entry_timeout = s->cfg->entry_timeout;
}

void tf_reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err < 0 ? -err : err);
}

/* Hand @a to the kernel as a new lookup of its inode. */
void tf_reply_entry(fuse_req_t req, const struct tw_attr *a)
{
	struct tf_state *s = ST(req);
	struct fuse_entry_param e;
	int err;

	tf_fill_entry(s, a, &e);
	err = tf_iref(s->itab, a->ino, 1);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	if (fuse_reply_entry(req, &e))
		tf_unref(s, a->ino, 1); /* the kernel never saw it */
}

void tf_cred_of(fuse_req_t req, struct tw_cred *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->uid = ctx->uid;
	c->gid = ctx->gid;
	/* for creates: the core applies it unless a default ACL applies */
	c->umask = ST(req)->dont_mask ? ctx->umask & 0777 : 0;
}

bool tf_in_group(fuse_req_t req, u32 gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t small[32], *list = small;
	int n, i;
	bool found = false;

	if (ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 32, small);
	if (n > 32) {
		list = malloc(sizeof(*list) * (size_t)n);
		if (!list)
			return false;
		n = fuse_req_getgroups(req, n, list);
	}
	for (i = 0; i < n && !found; i++)
		found = list[i] == gid;
	if (list != small)
		free(list);
	return found;
}

/*
 * The permission bits of a new inode in @parent: as inode_init_owner()
 * does, no set-group-ID on a new file in a set-group-ID directory whose
 * group the creator is not in.  (Recent kernels strip it before asking;
 * older ones do not.)  The umask, when the kernel left it to us, goes to
 * the core with the credentials (tf_cred_of): a default ACL replaces it.
 */
u32 tf_new_mode(fuse_req_t req, u64 parent, u32 mode)
{
	struct tf_state *s = ST(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct tw_attr d;

	if (!TW_S_ISDIR(mode) &&
	    (mode & (TW_S_ISGID | 0010)) == (TW_S_ISGID | 0010) &&
	    ctx->uid != 0 && !tw_getattr(s->fs, parent, &d) &&
	    (d.mode & TW_S_ISGID) && !tf_in_group(req, d.gid))
		mode &= ~TW_S_ISGID;
	return mode;
}

/* ---- lifetime ---- */

static void tf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct tf_state *s = userdata;
	struct tf_config *c = s->cfg;
	const unsigned int splice_caps = FUSE_CAP_SPLICE_READ |
					 FUSE_CAP_SPLICE_WRITE |
					 FUSE_CAP_SPLICE_MOVE;

	if (c->writeback_cache) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			tf_logf(TW_LOG_WARN,
				"the kernel has no writeback cache for FUSE");
	} else {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	}
	if (c->splice)
		conn->want |= conn->capable & splice_caps;
	else
		conn->want &= ~splice_caps;
	/*
	 * Let the kernel clear set-ID bits through SETATTR on write,
	 * truncate and chown (it knows the caller's capabilities), and send
	 * O_TRUNC as SETATTR too: with atomic O_TRUNC it would skip the
	 * SETATTR that carries the set-ID clearing.
	 */
	conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_ATOMIC_O_TRUNC);
	if (conn->capable & FUSE_CAP_DONT_MASK) {
		conn->want |= FUSE_CAP_DONT_MASK;
		s->dont_mask = true;
	}
	/*
	 * POSIX ACLs: the kernel checks them (default_permissions) and
	 * caches them; we store them, keep the mode in step and do the
	 * inheritance, which needs the umask (FUSE_CAP_DONT_MASK above: with
	 * FUSE_CAP_POSIX_ACL the kernel would apply it itself otherwise, and
	 * a default ACL must win over it).
	 */
	if (!(c->mnt_flags & TW_MNT_NOACL)) {
		if ((conn->capable & FUSE_CAP_POSIX_ACL) && s->dont_mask) {
			conn->want |= FUSE_CAP_POSIX_ACL;
			s->posix_acl = true;
		} else {
			tf_logf(TW_LOG_WARN,
				"the kernel cannot enforce POSIX ACLs for FUSE: they are stored but not checked");
		}
	}
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* the remount helper's ioctl goes to the root directory */
	if (conn->capable & FUSE_CAP_IOCTL_DIR)
		conn->want |= FUSE_CAP_IOCTL_DIR;
	/* file handles that outlive the kernel's inode cache: see tf_lookup */
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
	conn->max_write = c->max_write;
	conn->max_read = c->max_read;
	if (conn->max_readahead > c->max_read)
		conn->max_readahead = c->max_read;
	conn->time_gran = 1;
}

static void tf_destroy(void *userdata)
{
	int err = tf_shutdown(userdata);

	if (err)
		tf_logf(TW_LOG_ERR, "unmount: %s", strerror(-err));
}

/* ---- inodes ---- */

/*
 * The kernel decodes a file handle (node ID, generation) of an inode it no
 * longer caches with a LOOKUP of "." in the node ID itself, whatever its
 * type, and finds a directory's parent with a LOOKUP of ".." (export
 * support).  Node IDs are inode numbers, so both hold across FORGETs and
 * remounts; the kernel compares the generation.  A free slot, and an
 * inode whose last link is gone (the kernel no longer holds it, or it
 * would not ask), is ESTALE, as for ext4; so is a directory already
 * removed.  Never a negative entry: there is no dentry to cache it in.
 */
static int lookup_dot(struct tf_state *s, fuse_ino_t ino, bool dotdot,
		      struct tw_attr *a)
{
	int err;

	err = tw_lookup(s->fs, ino, "..", dotdot ? 2 : 1, a);
	if (err == -ENOENT || (!err && !a->nlink))
		err = -ESTALE;
	return err;
}

static void tf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	int err;

	if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) {
		err = lookup_dot(s, parent, name[1] == '.', &a);
		if (err)
			tf_reply_err(req, err);
		else
			tf_reply_entry(req, &a);
		return;
	}
	err = tw_lookup(s->fs, parent, name, (u32)strlen(name), &a);
	if (err == -ENOENT && s->cfg->negative_timeout > 0) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = s->cfg->negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err)
		tf_reply_err(req, err);
	else
		tf_reply_entry(req, &a);
}

static void tf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct tf_state *s = ST(req);

	tf_reclaim_begin(s);
	tf_unref(s, ino, nlookup);
	tf_reclaim_end(s);
	fuse_reply_none(req);
}

static void tf_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct tf_state *s = ST(req);
	size_t i;

	tf_reclaim_begin(s);
	for (i = 0; i < count; i++)
		tf_unref(s, forgets[i].ino, forgets[i].nlookup);
	tf_reclaim_end(s);
	fuse_reply_none(req);
}

static void tf_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	struct stat st;
	int err;

	err = tw_getattr(s->fs, ino, &a);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	tf_fill_stat(&a, &st);
	fuse_reply_attr(req, &st, s->cfg->attr_timeout);
}

static void tf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct tw_setattr sa;
	struct tw_attr a;
	struct stat st;
	s64 now = 0;
	int err;

	memset(&sa, 0, sizeof(sa));
	if (to_set & (FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		now = tw_now();
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= TW_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) {
		/* only sent with handle_killpriv_v2, which we do not take;
		 * honoured all the same */
		if (!(sa.valid & TW_SET_MODE)) {
			err = tw_getattr(s->fs, ino, &a);
			if (err) {
				tf_reply_err(req, err);
				return;
			}
			sa.mode = a.mode & 07777;
		}
		if (to_set & FUSE_SET_ATTR_KILL_SUID)
			sa.mode &= ~(u32)TW_S_ISUID;
		if ((to_set & FUSE_SET_ATTR_KILL_SGID) && (sa.mode & 0010))
			sa.mode &= ~(u32)TW_S_ISGID;
		sa.valid |= TW_SET_MODE;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= TW_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= TW_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa.valid |= TW_SET_SIZE;
		sa.size = (u64)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa.valid |= TW_SET_ATIME;
		sa.atime = now;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.valid |= TW_SET_ATIME;
		sa.atime = ts_to_ns(&attr->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.valid |= TW_SET_MTIME;
		sa.mtime = now;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.valid |= TW_SET_MTIME;
		sa.mtime = ts_to_ns(&attr->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa.valid |= TW_SET_CTIME;
		sa.ctime = ts_to_ns(&attr->st_ctim);
	}
	err = tw_setattr(s->fs, ino, &sa, &a);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	tf_fill_stat(&a, &st);
	fuse_reply_attr(req, &st, s->cfg->attr_timeout);
}

static void tf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct tf_state *s = ST(req);
	char buf[TW_SYML_MAX + 1];
	ssize_t n;

	n = tw_readlink(s->fs, ino, buf, TW_SYML_MAX);
	if (n < 0) {
		tf_reply_err(req, (int)n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void tf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	tf_cred_of(req, &cred);
	mode = tf_new_mode(req, parent, mode);
	do {
		err = tw_mknod(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, (u32)rdev, &a);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (err)
		tf_reply_err(req, err);
	else
		tf_reply_entry(req, &a);
}

static void tf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	tf_cred_of(req, &cred);
	mode = tf_new_mode(req, parent, TW_S_IFDIR | (mode & 07777));
	do {
		err = tw_mkdir(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, &a);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (err)
		tf_reply_err(req, err);
	else
		tf_reply_entry(req, &a);
}

static void tf_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	size_t tlen = strlen(link);
	int err, retried = 0;

	if (tlen > TW_SYML_MAX) {
		tf_reply_err(req, ENAMETOOLONG);
		return;
	}
	tf_cred_of(req, &cred);
	do {
		err = tw_symlink(s->fs, &cred, parent, name, (u32)strlen(name),
				 link, (u32)tlen, &a);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (err)
		tf_reply_err(req, err);
	else
		tf_reply_entry(req, &a);
}

static void tf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	int err, retried = 0;

	do {
		err = tw_link(s->fs, ino, newparent, newname,
			      (u32)strlen(newname), &a);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (err)
		tf_reply_err(req, err);
	else
		tf_reply_entry(req, &a);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool dir)
{
	struct tf_state *s = ST(req);
	u32 len = (u32)strlen(name), nlink = 1;
	u64 ino = 0;
	int err;

	if (dir)
		err = tw_rmdir(s->fs, parent, name, len, &ino, &nlink);
	else
		err = tw_unlink(s->fs, parent, name, len, &ino, &nlink);
	if (!err && !nlink)
		tf_unlinked(s, ino);
	tf_reply_err(req, err);
}

static void tf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void tf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

static void tf_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct tf_state *s = ST(req);
	u32 tflags = 0, vnlink = 1;
	struct tw_cred cred;
	u64 victim = 0;
	int err, retried = 0;

	if (flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE |
				    RENAME_WHITEOUT)) {
		tf_reply_err(req, EINVAL);
		return;
	}
	if (flags & RENAME_NOREPLACE)
		tflags |= TW_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		tflags |= TW_RENAME_EXCHANGE;
	/* the core leaves a whiteout (char device 0/0) owned by the caller
	 * at the old name, in the rename's transaction */
	if (flags & RENAME_WHITEOUT)
		tflags |= TW_RENAME_WHITEOUT;
	tf_cred_of(req, &cred);
	do {
		err = tw_rename(s->fs, &cred, parent, name, (u32)strlen(name),
				newparent, newname, (u32)strlen(newname),
				tflags, &victim, &vnlink);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (!err && victim && !vnlink)
		tf_unlinked(s, victim);
	tf_reply_err(req, err);
}

/* ---- filesystem ---- */

static void tf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct tf_state *s = ST(req);
	struct tw_statfs t;
	struct statvfs v;
	int err;

	if (s->cfg->threads)
		tf_reclaim_wait(s);
	err = tw_statfs(s->fs, &t);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.f_bsize = t.bsize;
	v.f_frsize = t.bsize;
	v.f_blocks = t.blocks;
	v.f_bfree = t.bfree;
	v.f_bavail = t.bfree;
	v.f_files = t.files;
	v.f_ffree = t.ffree;
	v.f_favail = t.ffree;
	v.f_namemax = t.namelen;
	fuse_reply_statfs(req, &v);
}

/*
 * access(2) as the kernel would decide it from the attributes (it only
 * asks when default_permissions is off, which it never is here, but the
 * answer is the POSIX one all the same).
 */
static void tf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct tf_state *s = ST(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct tw_attr a;
	u32 bits;
	int err;

	err = tw_getattr(s->fs, ino, &a);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	if (mask == F_OK) {
		tf_reply_err(req, 0);
		return;
	}
	if ((mask & W_OK) && tf_is_ro(s)) {
		tf_reply_err(req, EROFS);
		return;
	}
	if (ctx->uid == 0) {
		/* root: anything but executing a file nobody may execute */
		err = (mask & X_OK) && !TW_S_ISDIR(a.mode) && !(a.mode & 0111) ?
			      EACCES :
			      0;
		tf_reply_err(req, err);
		return;
	}
	if (ctx->uid == a.uid)
		bits = (a.mode >> 6) & 7;
	else if (tf_in_group(req, a.gid))
		bits = (a.mode >> 3) & 7;
	else
		bits = a.mode & 7;
	tf_reply_err(req, ((u32)mask & ~bits & 7) ? EACCES : 0);
}

void tf_ops_fill(struct fuse_lowlevel_ops *ops, const struct tf_config *cfg)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = tf_init;
	ops->destroy = tf_destroy;
	ops->lookup = tf_lookup;
	ops->forget = tf_forget;
	ops->forget_multi = tf_forget_multi;
	ops->getattr = tf_getattr;
	ops->setattr = tf_setattr;
	ops->readlink = tf_readlink;
	ops->mknod = tf_mknod;
	ops->mkdir = tf_mkdir;
	ops->unlink = tf_unlink;
	ops->rmdir = tf_rmdir;
	ops->symlink = tf_symlink;
	ops->rename = tf_rename;
	ops->link = tf_link;
	ops->statfs = tf_statfs;
	ops->access = tf_access;
	tf_file_ops(ops, cfg);
	tf_dir_ops(ops);
	tf_xattr_ops(ops);
	tf_remount_ops(ops);
}
