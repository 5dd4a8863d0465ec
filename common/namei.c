// SPDX-License-Identifier: GPL-2.0
/*
 * namei.c - the namespace operations of the core API: lookup, getattr,
 * setattr, create, link, unlink, rmdir, rename, readlink, evict.
 *
 * Layer: core (common/).  Calls dir.c, inode.c, alloc.c, journal.c,
 * meta.c and the environment.
 *
 * Each operation locks the inodes it changes (stripe locks, in ascending
 * order), then opens one transaction handle, and checks everything that
 * can fail for want of space before it changes anything, so that a failed
 * operation leaves nothing half done in the transaction.
 */
#include "tw_int.h"

static int check_name(const char *name, u32 len)
{
	if (len > TW_NAME_MAX)
		return -ENAMETOOLONG;
	if (!tw_valid_name(name, len))
		return len == 0 ? -ENOENT : -EINVAL;
	return 0;
}

/* Get a directory that may gain entries: it must exist and be linked. */
static int iget_dir(struct tw_fs *fs, u64 ino, struct tw_ictx *ic)
{
	int err = tw_iget(fs, ino, ic);

	if (err)
		return err == -ESTALE ? -ENOENT : err;
	if (!TW_S_ISDIR(TW_GET16(ic->di, i_mode))) {
		tw_iput(ic);
		return -ENOTDIR;
	}
	if (!TW_GET32(ic->di, i_nlink)) {
		tw_iput(ic);
		return -ENOENT;
	}
	return 0;
}

/* Resolve @name in @dir (held locked); entries to free inodes are errors. */
static int find_locked(struct tw_fs *fs, u64 dir, const char *name, u32 len,
		       u64 *ino)
{
	struct tw_ictx d;
	int err;

	err = iget_dir(fs, dir, &d);
	if (err)
		return err;
	err = tw_dir_find(fs, &d, name, len, ino, NULL);
	tw_iput(&d);
	if (!err && (*ino <= 0 || *ino >= fs->ninodes))
		err = tw_corrupt(fs, "directory entry names no inode", dir);
	return err;
}

int tw_getattr(struct tw_fs *fs, u64 ino, struct tw_attr *out)
{
	struct tw_ictx ic;
	int err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (!err) {
		tw_fill_attr(&ic, out);
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, false);
	return err;
}

int tw_lookup(struct tw_fs *fs, u64 dir, const char *name, u32 len,
	      struct tw_attr *out)
{
	struct tw_ictx d, c;
	u64 ino = 0, again;
	int err, tries;

	if (len > TW_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 1 && name[0] == '.')
		return tw_getattr(fs, dir, out);
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		tw_ilock(fs, dir, false);
		err = iget_dir(fs, dir, &d);
		if (!err) {
			err = tw_dir_parent(fs, &d, &ino);
			tw_iput(&d);
		}
		tw_iunlock(fs, dir, false);
		return err ? err : tw_getattr(fs, ino, out);
	}
	if (!tw_valid_name(name, len))
		return -ENOENT;
	tw_ilock(fs, dir, false);
	err = find_locked(fs, dir, name, len, &ino);
	if (!err && ino == TW_ROOT_INO) /* only "." and ".." name the root */
		err = tw_corrupt(fs, "directory entry links the root", dir);
	if (err) {
		tw_iunlock(fs, dir, false);
		return err;
	}
	for (tries = 0;; tries++) {
		/* hold the directory while the child is read, so that the
		 * entry cannot be removed and its inode reused meanwhile */
		if (tw_ilock_add_shared(fs, dir, ino))
			break;
		err = find_locked(fs, dir, name, len, &again);
		if (!err && again == ino)
			break;
		tw_iunlock_pair_shared(fs, dir, ino);
		if (err || tries > 100)
			return err ? err : -EAGAIN;
		ino = again;
		tw_ilock(fs, dir, false);
	}
	err = tw_iget(fs, ino, &c);
	if (err == -ESTALE)
		err = tw_corrupt(fs, "directory entry names a free inode", ino);
	if (!err) {
		tw_fill_attr(&c, out);
		tw_iput(&c);
	}
	tw_iunlock_pair_shared(fs, dir, ino);
	return err;
}

/* ---- setattr ---- */

/*
 * Bytes past the end of a file, in its last block, are whatever they were:
 * a truncate does not zero them, because if its transaction never commits
 * the old size (and those bytes) must be intact.  Whatever extends a file
 * zeroes them first instead.
 */
int tw_zero_tail(struct tw_fs *fs, struct tw_ictx *ic, u64 from, u64 to)
{
	u32 off = (u32)(from & (TW_BLOCK_SIZE - 1)), end = TW_BLOCK_SIZE;
	struct tw_buf *b;
	u64 pblk;
	int err;

	if (!off || to <= from)
		return 0;
	if (to - from < TW_BLOCK_SIZE - off)
		end = off + (u32)(to - from);
	err = tw_map_lookup(fs, ic, (u32)(from >> TW_BLOCK_SHIFT), &pblk);
	if (err || !pblk)
		return err;
	err = tw_buf_read(fs->dev, pblk, &b);
	if (err)
		return err;
	memset((u8 *)tw_bdata(b) + off, 0, end - off);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	return 0;
}

int tw_grow_size(struct tw_fs *fs, struct tw_ictx *ic, u64 size,
		 bool home_zeroed)
{
	u64 old = TW_GET64(ic->di, i_size);
	int err;

	if (size <= old)
		return 0;
	if (!home_zeroed) {
		err = tw_zero_tail(fs, ic, old, size);
		if (err)
			return err;
	} else if (old & (TW_BLOCK_SIZE - 1)) {
		/* the home zeroed the old last block's tail in its page
		 * cache: that page reaches the device before the commit
		 * that makes the tail part of the file */
		tw_txn_ordered(fs, ic->ino);
	}
	TW_SET64(ic->di, i_size, size);
	return 0;
}

static int set_size(struct tw_fs *fs, struct tw_ictx *ic, u64 size,
		    bool keep_tail)
{
	u64 old = TW_GET64(ic->di, i_size);
	int err;

	if (size > TW_MAX_FILE_SIZE)
		return -EFBIG;
	if (size >= old)
		return tw_grow_size(fs, ic, size, keep_tail);
	/* the orphan slot makes mount finish a truncate a crash cut short */
	err = tw_orphan_add(fs, ic);
	if (err)
		return err;
	TW_SET64(ic->di, i_size, size);
	return tw_idirty(fs, ic);
}

int tw_setattr(struct tw_fs *fs, u64 ino, const struct tw_setattr *sa,
	       struct tw_attr *out)
{
	/* the inode, an orphan slot, the block of the access ACL */
	const u32 credits = TW_CR_INODE + TW_CR_ORPHAN + 1;
	bool resize = sa->valid & TW_SET_SIZE, shrink = false;
	struct tw_ictx ic;
	u32 mode;
	int err, e2;

	/* a size change excludes writers for its whole length */
	if (resize)
		tw_dlock(fs, ino, true);
	err = tw_txn_begin(fs, credits);
	if (err)
		goto dunlock;
	tw_ilock(fs, ino, true);
	err = tw_iget(fs, ino, &ic);
	if (err) {
		tw_iunlock(fs, ino, true);
		tw_txn_end(fs, credits, 0); /* nothing changed yet */
		goto dunlock;
	}
	mode = TW_GET16(ic.di, i_mode);
	if (resize && TW_S_ISDIR(mode))
		err = -EISDIR;
	else if (resize && !TW_S_ISREG(mode))
		err = -EINVAL;
	if (!err && resize) {
		shrink = sa->size < TW_GET64(ic.di, i_size);
		err = set_size(fs, &ic, sa->size, sa->valid & TW_SET_KEEP_TAIL);
		if (!err && !(sa->valid & TW_SET_MTIME))
			tw_touch(ic.di, true, false);
	}
	/* chmod rewrites the access ACL too (posix_acl_chmod) */
	if (!err && (sa->valid & TW_SET_MODE) && !TW_S_ISLNK(mode))
		err = tw_acl_chmod(fs, &ic, sa->mode);
	if (!err) {
		if (sa->valid & TW_SET_MODE)
			TW_SET16(ic.di, i_mode,
				 (mode & TW_S_IFMT) | (sa->mode & 07777));
		if (sa->valid & TW_SET_UID)
			TW_SET32(ic.di, i_uid, sa->uid);
		if (sa->valid & TW_SET_GID)
			TW_SET32(ic.di, i_gid, sa->gid);
		if (sa->valid & TW_SET_ATIME)
			TW_SET64(ic.di, i_atime, sa->atime);
		if (sa->valid & TW_SET_MTIME)
			TW_SET64(ic.di, i_mtime, sa->mtime);
		if (sa->valid & TW_SET_CTIME)
			TW_SET64(ic.di, i_ctime, sa->ctime);
		else
			tw_touch(ic.di, false, true);
		err = tw_idirty(fs, &ic);
	}
	tw_iunlock(fs, ino, true);
	tw_txn_end(fs, credits, err);
	if (!err && shrink) {
		/* the blocks past the end go in as many transactions as they
		 * need; the orphan slot covers a crash in between */
		err = tw_truncate_blocks(fs, &ic,
					 (u32)((sa->size + TW_BLOCK_SIZE - 1) >>
					       TW_BLOCK_SHIFT));
		e2 = tw_txn_begin(fs, credits);
		if (!e2) {
			tw_ilock(fs, ino, true);
			/* an unlinked inode stays an orphan until evicted */
			if (TW_GET32(ic.di, i_nlink))
				e2 = tw_orphan_del(fs, &ic);
			tw_iunlock(fs, ino, true);
			tw_txn_end(fs, credits, e2);
		}
		if (!err)
			err = e2;
	}
	if (!err && out) {
		tw_ilock(fs, ino, false);
		tw_fill_attr(&ic, out);
		tw_iunlock(fs, ino, false);
	}
	tw_iput(&ic);
dunlock:
	if (resize)
		tw_dunlock(fs, ino, true);
	return err;
}

/* ---- creation ---- */

#define CR_CREATE \
	(TW_CR_DIRADD + 2 * TW_CR_INODE + 2 * TW_CR_ALLOC + TW_CR_ACL + 4)

static int do_create(struct tw_fs *fs, const struct tw_cred *cred, u64 dino,
		     const char *name, u32 len, u32 mode, u32 rdev,
		     const char *target, u32 tlen, struct tw_attr *out)
{
	struct tw_ictx d, c = { 0 };
	bool isdir = TW_S_ISDIR(mode);
	struct tw_acl_new an = { 0 };
	u64 ino, exists;
	u32 gid, gen;
	s64 now;
	int err;

	err = check_name(name, len);
	if (err)
		return err == -EINVAL ? -EEXIST : err;
	err = tw_txn_begin(fs, CR_CREATE);
	if (err)
		return err;
	tw_ilock(fs, dino, true);
	err = iget_dir(fs, dino, &d);
	if (err)
		goto unlock;
	err = tw_dir_find(fs, &d, name, len, &exists, NULL);
	if (!err)
		err = -EEXIST;
	if (err != -ENOENT)
		goto put_dir;
	if (isdir && TW_GET32(d.di, i_nlink) >= TW_LINK_MAX) {
		err = -EMLINK;
		goto put_dir;
	}
	/* the umask, or the directory's default ACL (not for symlinks) */
	if (!TW_S_ISLNK(mode)) {
		err = tw_acl_inherit_prepare(fs, &d, &mode, cred->umask, &an);
		if (err)
			goto put_dir;
	}
	err = tw_alloc_inode(fs, isdir, dino, &ino);
	if (err)
		goto end;
	err = tw_iget_free(fs, ino, &c);
	if (err)
		goto end;

	gid = cred->gid;
	if (TW_GET16(d.di, i_mode) & TW_S_ISGID) {
		gid = TW_GET32(d.di, i_gid);
		if (isdir)
			mode |= TW_S_ISGID;
	}
	gen = TW_GET32(c.di, i_generation) + 1;
	now = tw_now();
	memset(c.di, 0, sizeof(*c.di));
	TW_SET16(c.di, i_mode, mode);
	TW_SET32(c.di, i_nlink, isdir ? 2 : 1);
	TW_SET32(c.di, i_uid, cred->uid);
	TW_SET32(c.di, i_gid, gid);
	TW_SET32(c.di, i_generation, gen);
	TW_SET32(c.di, i_rdev, rdev);
	TW_SET64(c.di, i_atime, now);
	TW_SET64(c.di, i_mtime, now);
	TW_SET64(c.di, i_ctime, now);
	TW_SET64(c.di, i_btime, now);

	if (isdir) {
		err = tw_dir_init(fs, &c, dino);
	} else if (TW_S_ISLNK(mode) && tlen <= TW_INLINE_MAX) {
		memcpy(c.di->i_block, target, tlen);
		TW_SET16(c.di, i_flags, TW_IFL_INLINE);
		TW_SET64(c.di, i_size, tlen);
	} else if (TW_S_ISLNK(mode)) {
		u32 k, done = 0;

		for (k = 0; !err && done < tlen; k++) {
			u32 n = tlen - done;
			struct tw_buf *b;

			if (n > TW_SYML_PER_BLOCK)
				n = TW_SYML_PER_BLOCK;
			err = tw_file_meta_new(fs, &c, k, TW_SYML_MAGIC, n, &b);
			if (err)
				break;
			memcpy((u8 *)tw_bdata(b) + sizeof(struct tw_blk_hdr),
			       target + done, n);
			err = tw_txn_dirty(fs, b);
			tw_buf_release(b);
			done += n;
		}
		TW_SET64(c.di, i_size, tlen);
	}
	if (!err)
		err = tw_acl_inherit_apply(fs, &c, &an);
	if (!err)
		err = tw_idirty(fs, &c);
	if (!err)
		err = tw_dir_add(fs, &d, name, len, ino, tw_mode_dtype(mode));
	if (err) {
		/* undo: nothing links the inode yet; it owns at most two
		 * direct blocks (a directory header, a long symlink) */
		int k;

		for (k = 0; k < 2; k++) {
			u64 blk = TW_GET64(c.di, i_block[k]);

			if (blk && !(TW_GET16(c.di, i_flags) & TW_IFL_INLINE))
				tw_free_block(fs, blk);
		}
		tw_xattr_free_new(fs, &c);
		memset(c.di, 0, sizeof(*c.di));
		TW_SET32(c.di, i_generation, gen);
		tw_idirty(fs, &c);
		tw_free_inode(fs, ino);
		goto end;
	}
	if (isdir)
		TW_SET32(d.di, i_nlink, TW_GET32(d.di, i_nlink) + 1);
	tw_touch(d.di, true, true);
	err = tw_idirty(fs, &d);
	if (!err && out)
		tw_fill_attr(&c, out);
end:
	if (c.buf)
		tw_iput(&c);
put_dir:
	tw_acl_new_free(&an);
	tw_iput(&d);
unlock:
	tw_iunlock(fs, dino, true);
	tw_txn_end(fs, CR_CREATE, err);
	return err;
}

/* ENOSPC may only mean that blocks freed in the running transaction are
 * not reusable yet: commit once and try again, as ext4 does. */
#define RETRY_NOSPC(fs, call)                                              \
	({                                                                 \
		int __e = (call);                                          \
		if (__e == -ENOSPC && (fs)->free_blocks && !tw_commit(fs)) \
			__e = (call);                                      \
		__e;                                                       \
	})

int tw_mknod(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	     const char *name, u32 len, u32 mode, u32 rdev, struct tw_attr *out)
{
	u32 type = mode & TW_S_IFMT;

	if (type == 0)
		mode |= type = TW_S_IFREG;
	if (type == TW_S_IFDIR || type == TW_S_IFLNK ||
	    !((type == TW_S_IFREG) || (type == TW_S_IFCHR) ||
	      (type == TW_S_IFBLK) || (type == TW_S_IFIFO) ||
	      (type == TW_S_IFSOCK)))
		return -EINVAL;
	return RETRY_NOSPC(fs, do_create(fs, cred, dir, name, len,
					 mode & (TW_S_IFMT | 07777), rdev, NULL,
					 0, out));
}

int tw_mkdir(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	     const char *name, u32 len, u32 mode, struct tw_attr *out)
{
	return RETRY_NOSPC(fs, do_create(fs, cred, dir, name, len,
					 TW_S_IFDIR | (mode & 07777), 0, NULL,
					 0, out));
}

int tw_symlink(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	       const char *name, u32 len, const char *target, u32 tlen,
	       struct tw_attr *out)
{
	if (tlen == 0)
		return -ENOENT;
	if (tlen > TW_SYML_MAX)
		return -ENAMETOOLONG;
	return RETRY_NOSPC(fs,
			   do_create(fs, cred, dir, name, len,
				     TW_S_IFLNK | 0777, 0, target, tlen, out));
}

ssize_t tw_readlink(struct tw_fs *fs, u64 ino, char *buf, size_t size)
{
	struct tw_ictx ic;
	struct tw_buf *b;
	u64 len;
	ssize_t err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (err)
		goto unlock;
	if (!TW_S_ISLNK(TW_GET16(ic.di, i_mode))) {
		err = -EINVAL;
		goto put;
	}
	len = TW_GET64(ic.di, i_size);
	if (len > size)
		len = size;
	if (TW_GET16(ic.di, i_flags) & TW_IFL_INLINE) {
		memcpy(buf, ic.di->i_block, len);
		err = (ssize_t)len;
		goto put;
	}
	{
		u32 k, done = 0;

		for (k = 0; done < len; k++) {
			struct tw_blk_hdr *h;
			u32 n = (u32)len - done;

			if (n > TW_SYML_PER_BLOCK)
				n = TW_SYML_PER_BLOCK;
			err = tw_file_meta_read(fs, &ic, k, TW_SYML_MAGIC, &b);
			if (err)
				goto put;
			h = tw_bdata(b);
			if (TW_GET32(h, h_aux) < n) {
				tw_buf_release(b);
				err = tw_corrupt(fs, "short symlink block",
						 ino);
				goto put;
			}
			memcpy(buf + done, h + 1, n);
			tw_buf_release(b);
			done += n;
		}
		err = (ssize_t)len;
	}
put:
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, false);
	return err;
}

/* ---- links ---- */

#define CR_LINK (TW_CR_DIRADD + 2 * TW_CR_INODE)

static int do_link(struct tw_fs *fs, u64 ino, u64 dino, const char *name,
		   u32 len, bool tmpfile, struct tw_attr *out)
{
	const u32 credits = CR_LINK + (tmpfile ? TW_CR_ORPHAN : 0);
	u64 inos[2] = { ino, dino }, exists;
	struct tw_ictx d, c;
	u32 nlink;
	int err;

	err = check_name(name, len);
	if (err)
		return err == -EINVAL ? -EEXIST : err;
	err = tw_txn_begin(fs, credits);
	if (err)
		return err;
	tw_ilock_many(fs, inos, 2);
	err = iget_dir(fs, dino, &d);
	if (err)
		goto unlock;
	err = tw_iget(fs, ino, &c);
	if (err)
		goto put_dir;
	nlink = TW_GET32(c.di, i_nlink);
	if (TW_S_ISDIR(TW_GET16(c.di, i_mode)))
		err = -EPERM;
	else if (!nlink && !tmpfile)
		err = -ENOENT;
	else if (nlink >= TW_LINK_MAX)
		err = -EMLINK;
	if (err)
		goto put;
	err = tw_dir_find(fs, &d, name, len, &exists, NULL);
	if (!err)
		err = -EEXIST;
	if (err != -ENOENT)
		goto put;
	err = tw_dir_add(fs, &d, name, len, ino,
			 tw_mode_dtype(TW_GET16(c.di, i_mode)));
	if (!err) {
		TW_SET32(c.di, i_nlink, nlink + 1);
		tw_touch(c.di, false, true);
		tw_touch(d.di, true, true);
		/* a tmpfile gains its first name: off the orphan list */
		err = nlink ? 0 : tw_orphan_del(fs, &c);
		if (!err)
			err = tw_idirty(fs, &c);
		if (!err)
			err = tw_idirty(fs, &d);
	}
	if (!err && out)
		tw_fill_attr(&c, out);
put:
	tw_iput(&c);
put_dir:
	tw_iput(&d);
unlock:
	tw_iunlock_many(fs, inos, 2);
	tw_txn_end(fs, credits, err);
	return err;
}

int tw_link(struct tw_fs *fs, u64 ino, u64 newdir, const char *name, u32 len,
	    struct tw_attr *out)
{
	return RETRY_NOSPC(fs, do_link(fs, ino, newdir, name, len, false, out));
}

int tw_link_tmpfile(struct tw_fs *fs, u64 ino, u64 newdir, const char *name,
		    u32 len, struct tw_attr *out)
{
	return RETRY_NOSPC(fs, do_link(fs, ino, newdir, name, len, true, out));
}

/* ---- unnamed files (O_TMPFILE) and whiteouts ---- */

/*
 * Allocate and initialise a new non-directory inode near @d (held locked)
 * in the running transaction: @mode, @nlink links, owned by @cred, the
 * group of a set-group-ID @d.  The caller links it, or undoes it with
 * undo_new_inode().  Nobody else knows the inode, so it is not locked.
 */
static int new_inode(struct tw_fs *fs, const struct tw_cred *cred,
		     struct tw_ictx *d, u32 mode, u32 nlink, u32 rdev,
		     struct tw_ictx *c)
{
	u32 gid = cred->gid;
	s64 now = tw_now();
	u64 ino;
	u32 gen;
	int err;

	err = tw_alloc_inode(fs, false, d->ino, &ino);
	if (err)
		return err;
	err = tw_iget_free(fs, ino, c);
	if (err)
		return err;
	if (TW_GET16(d->di, i_mode) & TW_S_ISGID)
		gid = TW_GET32(d->di, i_gid);
	gen = TW_GET32(c->di, i_generation) + 1;
	memset(c->di, 0, sizeof(*c->di));
	TW_SET16(c->di, i_mode, mode);
	TW_SET32(c->di, i_nlink, nlink);
	TW_SET32(c->di, i_uid, cred->uid);
	TW_SET32(c->di, i_gid, gid);
	TW_SET32(c->di, i_generation, gen);
	TW_SET32(c->di, i_rdev, rdev);
	TW_SET64(c->di, i_atime, now);
	TW_SET64(c->di, i_mtime, now);
	TW_SET64(c->di, i_ctime, now);
	TW_SET64(c->di, i_btime, now);
	err = tw_idirty(fs, c);
	if (err)
		tw_iput(c);
	return err;
}

/* Free an inode new_inode() made that owns no blocks but its ACLs' and no
 * orphan slot. */
static void undo_new_inode(struct tw_fs *fs, struct tw_ictx *c)
{
	u32 gen = TW_GET32(c->di, i_generation);

	tw_xattr_free_new(fs, c);
	memset(c->di, 0, sizeof(*c->di));
	TW_SET32(c->di, i_generation, gen);
	tw_idirty(fs, c);
	tw_free_inode(fs, c->ino);
	tw_iput(c);
}

#define CR_TMPFILE \
	(2 * TW_CR_INODE + TW_CR_ALLOC + TW_CR_ORPHAN + TW_CR_ACL + 2)

static int do_tmpfile(struct tw_fs *fs, const struct tw_cred *cred, u64 dino,
		      u32 mode, struct tw_attr *out)
{
	struct tw_acl_new an = { 0 };
	struct tw_ictx d, c;
	int err;

	err = tw_txn_begin(fs, CR_TMPFILE);
	if (err)
		return err;
	tw_ilock(fs, dino, true);
	err = iget_dir(fs, dino, &d);
	if (err)
		goto unlock;
	err = tw_acl_inherit_prepare(fs, &d, &mode, cred->umask, &an);
	if (err)
		goto put_dir;
	err = new_inode(fs, cred, &d, mode, 0, 0, &c);
	if (err)
		goto put_dir;
	err = tw_acl_inherit_apply(fs, &c, &an);
	if (!err)
		err = tw_idirty(fs, &c);
	if (err) {
		undo_new_inode(fs, &c);
		goto put_dir;
	}
	/* unnamed from the start: a crash before it is linked frees it */
	err = tw_orphan_add(fs, &c);
	if (err) {
		undo_new_inode(fs, &c);
		goto put_dir;
	}
	if (out)
		tw_fill_attr(&c, out);
	tw_iput(&c);
put_dir:
	tw_acl_new_free(&an);
	tw_iput(&d);
unlock:
	tw_iunlock(fs, dino, true);
	tw_txn_end(fs, CR_TMPFILE, err);
	return err;
}

int tw_tmpfile(struct tw_fs *fs, const struct tw_cred *cred, u64 dir, u32 mode,
	       struct tw_attr *out)
{
	u32 type = mode & TW_S_IFMT;

	if (type && type != TW_S_IFREG)
		return -EINVAL;
	return RETRY_NOSPC(fs, do_tmpfile(fs, cred, dir,
					  TW_S_IFREG | (mode & 07777), out));
}

/*
 * Lock @dir and the inode @name names in it; returns the child's number.
 * The name is resolved again after both locks are held.
 */
static int lock_dir_child(struct tw_fs *fs, u64 dir, const char *name, u32 len,
			  u64 *child)
{
	u64 inos[2] = { dir, 0 }, again;
	int err, tries;

	tw_ilock(fs, dir, true);
	err = find_locked(fs, dir, name, len, &inos[1]);
	tw_iunlock(fs, dir, true);
	for (tries = 0; !err && tries < 100; tries++) {
		tw_ilock_many(fs, inos, 2);
		err = find_locked(fs, dir, name, len, &again);
		if (!err && again == inos[1]) {
			*child = again;
			return 0;
		}
		tw_iunlock_many(fs, inos, 2);
		inos[1] = again;
	}
	return err ? err : -EAGAIN;
}

#define CR_UNLINK (TW_CR_DIRDEL + 2 * TW_CR_INODE + TW_CR_ORPHAN)

static int do_remove(struct tw_fs *fs, u64 dino, const char *name, u32 len,
		     bool rmdir, u64 *inop, u32 *nlinkp)
{
	struct tw_ictx d, c;
	u64 ino, inos[2];
	bool isdir, empty;
	u32 nlink;
	int err;

	if (len > TW_NAME_MAX)
		return -ENAMETOOLONG;
	if (!tw_valid_name(name, len)) {
		if (!rmdir)
			return len ? -EISDIR : -ENOENT;
		return len == 1 ? -EINVAL : len == 2 ? -ENOTEMPTY : -ENOENT;
	}
	err = tw_txn_begin(fs, CR_UNLINK);
	if (err)
		return err;
	err = lock_dir_child(fs, dino, name, len, &ino);
	if (err) {
		tw_txn_end(fs, CR_UNLINK, 0); /* a lookup: nothing changed */
		return err;
	}
	inos[0] = dino;
	inos[1] = ino;
	err = iget_dir(fs, dino, &d);
	if (err)
		goto unlock;
	err = tw_iget(fs, ino, &c);
	if (err) {
		if (err == -ESTALE)
			err = tw_corrupt(fs, "entry names a free inode", ino);
		goto put_dir;
	}
	isdir = TW_S_ISDIR(TW_GET16(c.di, i_mode));
	if (rmdir && !isdir)
		err = -ENOTDIR;
	else if (!rmdir && isdir)
		err = -EISDIR;
	else if (ino == TW_ROOT_INO)
		err = -EBUSY;
	else if (rmdir) {
		err = tw_dir_is_empty(fs, &c, &empty);
		if (!err && !empty)
			err = -ENOTEMPTY;
	}
	if (err)
		goto put;
	err = tw_dir_remove(fs, &d, name, len);
	if (err)
		goto put;
	nlink = TW_GET32(c.di, i_nlink);
	if (isdir) {
		nlink = 0;
		TW_SET32(d.di, i_nlink, TW_GET32(d.di, i_nlink) - 1);
	} else if (nlink) {
		nlink--;
	}
	TW_SET32(c.di, i_nlink, nlink);
	tw_touch(c.di, false, true);
	tw_touch(d.di, true, true);
	if (!nlink)
		err = tw_orphan_add(fs, &c);
	if (!err)
		err = tw_idirty(fs, &c);
	if (!err)
		err = tw_idirty(fs, &d);
	if (!err) {
		if (inop)
			*inop = ino;
		if (nlinkp)
			*nlinkp = nlink;
	}
put:
	tw_iput(&c);
put_dir:
	tw_iput(&d);
unlock:
	tw_iunlock_many(fs, inos, 2);
	tw_txn_end(fs, CR_UNLINK, err);
	return err;
}

int tw_unlink(struct tw_fs *fs, u64 dir, const char *name, u32 len, u64 *ino,
	      u32 *nlink)
{
	return do_remove(fs, dir, name, len, false, ino, nlink);
}

int tw_rmdir(struct tw_fs *fs, u64 dir, const char *name, u32 len, u64 *ino,
	     u32 *nlink)
{
	return do_remove(fs, dir, name, len, true, ino, nlink);
}

int tw_evict(struct tw_fs *fs, u64 ino)
{
	struct tw_ictx ic;
	u32 nlink;
	int err;

	if (fs->rdonly)
		return 0;
	tw_dlock(fs, ino, true);
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (!err) {
		nlink = TW_GET32(ic.di, i_nlink);
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, false);
	/* an inode without links cannot gain one: nothing races from here */
	if (!err && !nlink)
		err = tw_inode_destroy(fs, ino);
	tw_dunlock(fs, ino, true);
	return err == -ESTALE ? 0 : err;
}

/* ---- rename ---- */

/* Is @anc an ancestor of (or equal to) directory @dir?  Renames are
 * serialised by fs->rename_lock, so the chain of parents holds still. */
static int is_ancestor(struct tw_fs *fs, u64 anc, u64 dir, bool *res)
{
	u64 cur = dir, parent;
	u32 steps;
	int err = 0;

	*res = false;
	for (steps = 0; steps < fs->ninodes; steps++) {
		struct tw_ictx ic;

		if (cur == anc) {
			*res = true;
			return 0;
		}
		if (cur == TW_ROOT_INO)
			return 0;
		tw_ilock(fs, cur, false);
		err = tw_iget(fs, cur, &ic);
		if (!err) {
			err = tw_dir_parent(fs, &ic, &parent);
			tw_iput(&ic);
		}
		tw_iunlock(fs, cur, false);
		if (err)
			return err;
		cur = parent;
	}
	return tw_corrupt(fs, "directory tree has a loop", dir);
}

#define CR_RENAME \
	(TW_CR_DIRADD + TW_CR_DIRDEL + 4 * TW_CR_INODE + TW_CR_ORPHAN + 4)

/* a whiteout's inode and entry; CR_RENAME has room for one name less */
#define CR_WHITEOUT (2 * TW_CR_INODE + TW_CR_ALLOC + 2)

struct rn {
	u64 od, nd, s, t; /* directories, source, target (0: none) */
	struct tw_ictx ic_od, ic_nd, ic_s, ic_t;
	struct tw_ictx *pod, *pnd; /* same context when od == nd */
	const struct tw_cred *cred; /* owner of the whiteout */
};

static void add_nlink(struct tw_ictx *ic, int delta)
{
	TW_SET32(ic->di, i_nlink, TW_GET32(ic->di, i_nlink) + (u32)delta);
}

static int rename_apply(struct tw_fs *fs, struct rn *r, const char *on, u32 ol,
			const char *nn, u32 nl, u32 flags, u32 *victim_nlink)
{
	u32 smode = TW_GET16(r->ic_s.di, i_mode);
	bool sdir = TW_S_ISDIR(smode), tdir = false;
	int err;

	if (r->t)
		tdir = TW_S_ISDIR(TW_GET16(r->ic_t.di, i_mode));
	if (flags & TW_RENAME_EXCHANGE) {
		err = tw_dir_retarget(fs, r->pnd, nn, nl, r->s,
				      tw_mode_dtype(smode));
		if (!err)
			err = tw_dir_retarget(
				fs, r->pod, on, ol, r->t,
				tw_mode_dtype(TW_GET16(r->ic_t.di, i_mode)));
		if (err)
			return err;
		if (r->od != r->nd) {
			if (sdir) {
				add_nlink(r->pod, -1);
				add_nlink(r->pnd, 1);
				err = tw_dir_set_parent(fs, &r->ic_s, r->nd);
			}
			if (!err && tdir) {
				add_nlink(r->pnd, -1);
				add_nlink(r->pod, 1);
				err = tw_dir_set_parent(fs, &r->ic_t, r->od);
			}
		}
		tw_touch(r->ic_t.di, false, true);
		if (!err)
			err = tw_idirty(fs, &r->ic_t);
	} else {
		struct tw_ictx w = { 0 };

		/* the steps that may need space come first: the whiteout's
		 * inode, then the new name */
		if (flags & TW_RENAME_WHITEOUT) {
			err = new_inode(fs, r->cred, r->pod, TW_S_IFCHR, 1, 0,
					&w);
			if (err)
				return err;
		}
		if (r->t)
			err = tw_dir_retarget(fs, r->pnd, nn, nl, r->s,
					      tw_mode_dtype(smode));
		else
			err = tw_dir_add(fs, r->pnd, nn, nl, r->s,
					 tw_mode_dtype(smode));
		if (err && w.buf)
			undo_new_inode(fs, &w);
		if (!err && w.buf) {
			/* the old name now names the whiteout */
			err = tw_dir_retarget(fs, r->pod, on, ol, w.ino,
					      tw_mode_dtype(TW_S_IFCHR));
			tw_iput(&w);
		} else if (!err) {
			err = tw_dir_remove(fs, r->pod, on, ol);
		}
		if (err)
			return err;
		if (sdir) {
			add_nlink(r->pod, -1);
			add_nlink(r->pnd, 1);
			if (r->od != r->nd)
				err = tw_dir_set_parent(fs, &r->ic_s, r->nd);
		}
		if (!err && r->t) {
			u32 n = TW_GET32(r->ic_t.di, i_nlink);

			if (tdir) {
				add_nlink(r->pnd, -1);
				n = 0;
			} else if (n) {
				n--;
			}
			TW_SET32(r->ic_t.di, i_nlink, n);
			tw_touch(r->ic_t.di, false, true);
			if (!n)
				err = tw_orphan_add(fs, &r->ic_t);
			if (!err)
				err = tw_idirty(fs, &r->ic_t);
			*victim_nlink = n;
		}
	}
	if (err)
		return err;
	tw_touch(r->ic_s.di, false, true);
	tw_touch(r->pod->di, true, true);
	tw_touch(r->pnd->di, true, true);
	err = tw_idirty(fs, &r->ic_s);
	if (!err)
		err = tw_idirty(fs, r->pod);
	if (!err && r->pnd != r->pod)
		err = tw_idirty(fs, r->pnd);
	return err;
}

/* Whether directory @dir has no room for one more subdirectory's "..". */
static bool full_of_links(struct tw_ictx *dir)
{
	return TW_GET32(dir->di, i_nlink) >= TW_LINK_MAX;
}

/*
 * With everything locked: look both names up again and check the rules.
 * A rename that leaves the target parent with one more subdirectory is
 * held to TW_LINK_MAX as mkdir is (-EMLINK).
 */
static int rename_check(struct tw_fs *fs, struct rn *r, const char *on, u32 ol,
			const char *nn, u32 nl, u32 flags)
{
	u64 s, t = 0;
	bool sdir, tdir, empty;
	int err;

	err = iget_dir(fs, r->od, &r->ic_od);
	if (err)
		return err;
	r->pod = &r->ic_od;
	if (r->nd == r->od) {
		r->pnd = r->pod;
	} else {
		err = iget_dir(fs, r->nd, &r->ic_nd);
		if (err)
			return err;
		r->pnd = &r->ic_nd;
	}
	err = tw_dir_find(fs, r->pod, on, ol, &s, NULL);
	if (err)
		return err;
	err = tw_dir_find(fs, r->pnd, nn, nl, &t, NULL);
	if (err == -ENOENT)
		t = 0;
	else if (err)
		return err;
	if (s != r->s || t != r->t)
		return -EAGAIN; /* changed while unlocked: start over */
	err = tw_iget(fs, s, &r->ic_s);
	if (err)
		return err == -ESTALE ?
			       tw_corrupt(fs, "entry names a free inode", s) :
			       err;
	sdir = TW_S_ISDIR(TW_GET16(r->ic_s.di, i_mode));
	if (!t) {
		if (flags & TW_RENAME_EXCHANGE)
			return -ENOENT;
		/* a directory moving to another parent is one more ".." */
		if (sdir && r->od != r->nd && full_of_links(r->pnd))
			return -EMLINK;
		return 0;
	}
	if (flags & TW_RENAME_NOREPLACE)
		return -EEXIST;
	err = tw_iget(fs, t, &r->ic_t);
	if (err)
		return err == -ESTALE ?
			       tw_corrupt(fs, "entry names a free inode", t) :
			       err;
	tdir = TW_S_ISDIR(TW_GET16(r->ic_t.di, i_mode));
	if (flags & TW_RENAME_EXCHANGE) {
		/* a directory swapped with a non-directory across parents */
		if (r->od != r->nd && sdir && !tdir && full_of_links(r->pnd))
			return -EMLINK;
		if (r->od != r->nd && tdir && !sdir && full_of_links(r->pod))
			return -EMLINK;
		return 0;
	}
	if (sdir && !tdir)
		return -ENOTDIR;
	if (!sdir && tdir)
		return -EISDIR;
	if (tdir) {
		err = tw_dir_is_empty(fs, &r->ic_t, &empty);
		if (!err && !empty)
			err = -ENOTEMPTY;
	}
	return err;
}

static void rename_put(struct rn *r)
{
	if (r->ic_t.buf)
		tw_iput(&r->ic_t);
	if (r->ic_s.buf)
		tw_iput(&r->ic_s);
	if (r->ic_nd.buf)
		tw_iput(&r->ic_nd);
	if (r->ic_od.buf)
		tw_iput(&r->ic_od);
}

static int do_rename(struct tw_fs *fs, const struct tw_cred *cred, u64 od,
		     const char *on, u32 ol, u64 nd, const char *nn, u32 nl,
		     u32 flags, u64 *victim, u32 *victim_nlink)
{
	const u32 credits =
		CR_RENAME + ((flags & TW_RENAME_WHITEOUT) ? CR_WHITEOUT : 0);
	u64 dirs[2] = { od, nd };
	struct rn r;
	bool anc;
	int err, tries;
	u32 vn = 0;

	for (tries = 0; tries < 100; tries++) {
		memset(&r, 0, sizeof(r));
		r.od = od;
		r.nd = nd;
		r.cred = cred;
		/* learn who is involved, with the directories locked */
		tw_ilock_many(fs, dirs, 2);
		err = find_locked(fs, od, on, ol, &r.s);
		if (!err) {
			err = find_locked(fs, nd, nn, nl, &r.t);
			if (err == -ENOENT) {
				r.t = 0;
				err = 0;
			}
		}
		tw_iunlock_many(fs, dirs, 2);
		if (err)
			return err;
		if (r.s == r.t) /* both names link one inode */
			return (flags & TW_RENAME_NOREPLACE) ? -EEXIST : 0;
		/* a directory may not move into its own subtree */
		if (od != nd) {
			err = is_ancestor(fs, r.s, nd, &anc);
			if (!err && anc)
				err = -EINVAL;
			if (!err && r.t && (flags & TW_RENAME_EXCHANGE)) {
				err = is_ancestor(fs, r.t, od, &anc);
				if (!err && anc)
					err = -EINVAL;
			}
			if (err)
				return err;
		}
		{
			u64 all[4] = { od, nd, r.s, r.t };

			err = tw_txn_begin(fs, credits);
			if (err)
				return err;
			tw_ilock_many(fs, all, 4);
			err = rename_check(fs, &r, on, ol, nn, nl, flags);
			if (!err)
				err = rename_apply(fs, &r, on, ol, nn, nl,
						   flags, &vn);
			rename_put(&r);
			tw_iunlock_many(fs, all, 4);
			tw_txn_end(fs, credits, err);
		}
		if (err != -EAGAIN)
			break;
	}
	if (!err && victim && !(flags & TW_RENAME_EXCHANGE)) {
		*victim = r.t;
		if (victim_nlink)
			*victim_nlink = vn;
	}
	return err;
}

int tw_rename(struct tw_fs *fs, const struct tw_cred *cred, u64 olddir,
	      const char *oldname, u32 oldlen, u64 newdir, const char *newname,
	      u32 newlen, u32 flags, u64 *victim, u32 *victim_nlink)
{
	static const struct tw_cred root = { 0, 0 };
	int err;

	if (victim)
		*victim = 0;
	if (!cred)
		cred = &root;
	if ((flags & ~(TW_RENAME_NOREPLACE | TW_RENAME_EXCHANGE |
		       TW_RENAME_WHITEOUT)) ||
	    ((flags & TW_RENAME_EXCHANGE) &&
	     (flags & (TW_RENAME_NOREPLACE | TW_RENAME_WHITEOUT))))
		return -EINVAL;
	if (oldlen > TW_NAME_MAX || newlen > TW_NAME_MAX)
		return -ENAMETOOLONG;
	if (!tw_valid_name(oldname, oldlen) || !tw_valid_name(newname, newlen))
		return -EINVAL;
	tw_mutex_lock(fs->rename_lock);
	err = RETRY_NOSPC(fs, do_rename(fs, cred, olddir, oldname, oldlen,
					newdir, newname, newlen, flags, victim,
					victim_nlink));
	tw_mutex_unlock(fs->rename_lock);
	return err;
}
