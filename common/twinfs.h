/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twinfs.h - the API of the twinfs core.
 *
 * Layer: the core's public face, used by both homes (kmod/ and fusefs/) and
 * the tools.  Includes tw_format.h and tw_env.h only.
 *
 * The API is inode-number based and knows nothing of the VFS or of FUSE:
 * callers pass inode numbers, names with their lengths (not NUL-terminated),
 * kernel-side buffers (never user pointers) and explicit credentials.  Every
 * function returns 0 (or a count) on success and a negative errno on
 * failure: -EUCLEAN for a corrupted structure, -EBADMSG for a bad checksum.
 *
 * Every function may be called from many threads at once.  The core locks
 * what it touches; callers need no locks of their own around it.
 *
 * Lifetime: the core does not free an inode when its last link goes away,
 * because the home may still have it open.  Such an inode is put on the
 * on-disk orphan list; the home calls tw_evict() when its last reference is
 * gone, and mount frees whatever a crash left on the list.
 */
#ifndef TWINFS_H
#define TWINFS_H

#include "tw_env.h"
#include "tw_format.h"

struct tw_fs;

/* File type bits of a mode, as in st_mode. */
#define TW_S_IFMT 0170000
#define TW_S_IFSOCK 0140000
#define TW_S_IFLNK 0120000
#define TW_S_IFREG 0100000
#define TW_S_IFBLK 0060000
#define TW_S_IFDIR 0040000
#define TW_S_IFCHR 0020000
#define TW_S_IFIFO 0010000
#define TW_S_ISUID 04000
#define TW_S_ISGID 02000
#define TW_S_ISVTX 01000
#define TW_S_ISDIR(m) (((m)&TW_S_IFMT) == TW_S_IFDIR)
#define TW_S_ISREG(m) (((m)&TW_S_IFMT) == TW_S_IFREG)
#define TW_S_ISLNK(m) (((m)&TW_S_IFMT) == TW_S_IFLNK)

#define TW_LINK_MAX 65000u

/**
 * struct tw_cred - who is asking, passed in by the caller.
 * @uid: fsuid
 * @gid: fsgid
 * @umask: the umask a create applies to the permission bits when the
 *	directory has no default ACL (with one, the ACL decides); 0 for a
 *	home whose VFS applied it already.  Callers that initialise only
 *	@uid and @gid get 0.
 */
struct tw_cred {
	u32 uid;
	u32 gid;
	u32 umask;
};

/** struct tw_attr - an inode's attributes, as getattr returns them. */
struct tw_attr {
	u64 ino;
	u32 mode;
	u32 nlink;
	u32 uid;
	u32 gid;
	u32 rdev;
	u32 generation;
	u64 size;
	u64 blocks; /* 512-byte units, as st_blocks */
	s64 atime;
	s64 mtime;
	s64 ctime;
	s64 btime;
};

/* tw_setattr valid bits */
#define TW_SET_MODE 0x01u
#define TW_SET_UID 0x02u
#define TW_SET_GID 0x04u
#define TW_SET_SIZE 0x08u
#define TW_SET_ATIME 0x10u
#define TW_SET_MTIME 0x20u
#define TW_SET_CTIME 0x40u /* explicit ctime; otherwise ctime = now */
#define TW_SET_KEEP_TAIL \
	0x80u /* with SIZE: the home zeroes the stale
				* tail of the old last block itself (its
				* page cache) when the file grows */

struct tw_setattr {
	u32 valid;
	u32 mode; /* permission bits only; the type cannot change */
	u32 uid;
	u32 gid;
	u64 size;
	s64 atime;
	s64 mtime;
	s64 ctime;
};

/** struct tw_statfs - filesystem usage, as statfs returns it. */
struct tw_statfs {
	u64 blocks;
	u64 bfree;
	u64 files;
	u64 ffree;
	u32 bsize;
	u32 namelen;
};

/* Mount options understood by the core. */
#define TW_MNT_RDONLY 0x1u
#define TW_MNT_NOATIME 0x2u /* never update atime on read */
#define TW_MNT_STRICTATIME 0x4u /* always; default is relatime */
#define TW_MNT_NODIRATIME 0x10u /* never update a directory's atime */
/* no POSIX ACLs: system.posix_acl_* are -EOPNOTSUPP, nothing inherits,
 * chmod leaves stored ACLs alone, creates apply the umask */
#define TW_MNT_NOACL 0x20u
#define TW_MNT_FSCK \
	0x8u /* for fsck.twinfs: replay the journal but skip
			  * free counting, the root check and orphans */

struct tw_mount_opts {
	u32 flags;
	u32 commit_max_blocks; /* 0: default (a quarter of the journal) */
};

/* ------------------------------------------------------------------------ */
/* Mount                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * tw_mount() - validate the image on @dev, replay its journal, finish
 * whatever the orphan list holds, and return a handle.
 * @dev: the device
 * @dev_blocks: size of the device in 4 KiB blocks
 * @opts: options, may be NULL
 * @out: receives the filesystem
 *
 * A corrupted image is refused with -EUCLEAN (-EBADMSG for a bad checksum)
 * and a message through tw_log() naming what is wrong.
 */
int tw_mount(struct tw_dev *dev, u64 dev_blocks,
	     const struct tw_mount_opts *opts, struct tw_fs **out);

/**
 * tw_unmount() - commit everything, mark the image clean, free @fs.
 * Return: 0, or the first error met while writing (the handle is freed
 * all the same).
 */
int tw_unmount(struct tw_fs *fs);

/**
 * tw_remount() - switch a mounted filesystem between read-write and
 * read-only.  @flags: TW_MNT_RDONLY or not; the other flags keep the values
 * of tw_mount().
 *
 * Going read-only waits for the operations in progress, commits them,
 * marks the image clean (as tw_unmount() does) and makes every later
 * change fail with -EROFS; the image stays consistent and clean on disk
 * for as long as it stays read-only.  Going read-write writes what a
 * read-only tw_mount() replayed in memory, marks the image in use and
 * frees the orphans, as tw_mount() does: the caller guarantees that none
 * of them is still in use (the VFS refuses a read-only remount while an
 * unlinked inode is open or held).
 *
 * Return: 0, or a negative errno (read-only all the same if the commit
 * failed on the way to read-only).
 */
int tw_remount(struct tw_fs *fs, u32 flags);

/** tw_sync() - commit the running transaction and make it durable. */
int tw_sync(struct tw_fs *fs);

/** tw_commit_if_old() - commit if the running transaction is older than
 * @max_age_ns; homes call this periodically (5 s like ext4's commit=). */
int tw_commit_if_old(struct tw_fs *fs, s64 max_age_ns);

int tw_statfs(struct tw_fs *fs, struct tw_statfs *st);

/** tw_fs_dev() - the device a filesystem was mounted from. */
struct tw_dev *tw_fs_dev(struct tw_fs *fs);

/* ------------------------------------------------------------------------ */
/* Inodes and names                                                         */
/* ------------------------------------------------------------------------ */

int tw_getattr(struct tw_fs *fs, u64 ino, struct tw_attr *out);

/**
 * tw_setattr() - change attributes; a size change truncates or extends the
 * file, freeing blocks past the new end.  ctime is set to now unless
 * TW_SET_CTIME gives it.  Permission checks are the caller's.  A mode
 * change also rewrites the owner, mask (or group) and other entries of
 * the access ACL, in the same transaction, as posix_acl_chmod() does.
 */
int tw_setattr(struct tw_fs *fs, u64 ino, const struct tw_setattr *sa,
	       struct tw_attr *out);

int tw_lookup(struct tw_fs *fs, u64 dir, const char *name, u32 len,
	      struct tw_attr *out);

/**
 * tw_mknod() - create a regular file, device node, fifo or socket named
 * @name in @dir, owned by @cred (group from the directory if it is
 * set-group-ID).  @mode holds the type and permission bits.
 *
 * POSIX ACLs, as Linux's posix_acl_create(), for tw_mknod(), tw_mkdir()
 * and tw_tmpfile() (not symlinks): if @dir has a default ACL, the new
 * inode's permission bits are @mode masked by it and it gets the access
 * ACL derived from it (unless that says no more than the mode bits), a
 * directory its default ACL too, all in the transaction that creates it;
 * otherwise the bits are @mode & ~@cred->umask.
 */
int tw_mknod(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	     const char *name, u32 len, u32 mode, u32 rdev,
	     struct tw_attr *out);
int tw_mkdir(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	     const char *name, u32 len, u32 mode, struct tw_attr *out);
int tw_symlink(struct tw_fs *fs, const struct tw_cred *cred, u64 dir,
	       const char *name, u32 len, const char *target, u32 tlen,
	       struct tw_attr *out);
int tw_link(struct tw_fs *fs, u64 ino, u64 newdir, const char *name, u32 len,
	    struct tw_attr *out);

/**
 * tw_tmpfile() - create an unnamed regular file for O_TMPFILE: owned by
 * @cred (group from @dir if it is set-group-ID), no links, on the orphan
 * list from the transaction that creates it, so that tw_evict() or, after
 * a crash, the next mount frees it.  @dir must be a linked directory; it
 * does not change.
 */
int tw_tmpfile(struct tw_fs *fs, const struct tw_cred *cred, u64 dir, u32 mode,
	       struct tw_attr *out);

/**
 * tw_link_tmpfile() - tw_link() that also accepts an inode without links
 * (a tmpfile made by tw_tmpfile()), taking it off the orphan list in the
 * transaction that gives it its name.  The home decides whether the inode
 * may gain a name (the VFS's I_LINKABLE: not after O_EXCL, not for an
 * inode that lost its last name); the core only checks it is no directory.
 */
int tw_link_tmpfile(struct tw_fs *fs, u64 ino, u64 newdir, const char *name,
		    u32 len, struct tw_attr *out);

/**
 * tw_unlink() - remove a non-directory's name.  *@ino and *@nlink (either
 * may be NULL) receive the inode and its remaining link count; at 0 the
 * inode is on the orphan list until tw_evict().
 */
int tw_unlink(struct tw_fs *fs, u64 dir, const char *name, u32 len, u64 *ino,
	      u32 *nlink);
/** tw_rmdir() - remove an empty directory; same outputs as tw_unlink(). */
int tw_rmdir(struct tw_fs *fs, u64 dir, const char *name, u32 len, u64 *ino,
	     u32 *nlink);

#define TW_RENAME_NOREPLACE 0x1u
#define TW_RENAME_EXCHANGE 0x2u
#define TW_RENAME_WHITEOUT 0x4u

/**
 * tw_rename() - rename, with the flags of renameat2().  If a target was
 * replaced, *@victim and *@victim_nlink receive it and its remaining links
 * (both may be NULL).  TW_RENAME_WHITEOUT leaves a whiteout at the old
 * name: a character device 0/0 with permission bits 0, as overlayfs
 * expects, owned by @cred (root when NULL), created in the same
 * transaction as the rename (a crash shows either the old names or the
 * new names and the whiteout).  TW_RENAME_WHITEOUT may be combined with
 * TW_RENAME_NOREPLACE, not with TW_RENAME_EXCHANGE (-EINVAL).
 */
int tw_rename(struct tw_fs *fs, const struct tw_cred *cred, u64 olddir,
	      const char *oldname, u32 oldlen, u64 newdir, const char *newname,
	      u32 newlen, u32 flags, u64 *victim, u32 *victim_nlink);

/** tw_readlink() - copy the target (not NUL-terminated); returns length. */
ssize_t tw_readlink(struct tw_fs *fs, u64 ino, char *buf, size_t size);

/**
 * tw_readdir_fn - called once per entry; a non-zero return stops the walk
 * without consuming the entry.  @next is the cookie to pass to resume after
 * this entry.
 */
typedef int (*tw_readdir_fn)(void *ctx, const char *name, u32 len, u64 ino,
			     u32 dtype, u64 next);

/**
 * tw_readdir() - emit the entries of @dir from @cookie on ("." is 0, ".."
 * follows).  Cookies are stable: an entry that exists throughout a walk is
 * emitted exactly once, whatever else is created or removed meanwhile.
 */
int tw_readdir(struct tw_fs *fs, u64 dir, u64 cookie, tw_readdir_fn fn,
	       void *ctx);

/**
 * tw_evict() - the home holds no more references to @ino.  If it has no
 * links left it is freed now.
 */
int tw_evict(struct tw_fs *fs, u64 ino);

/* ------------------------------------------------------------------------ */
/* Data                                                                     */
/* ------------------------------------------------------------------------ */

/** tw_read() - read up to @len bytes at @off; returns bytes read. */
ssize_t tw_read(struct tw_fs *fs, u64 ino, u64 off, void *buf, size_t len);

/**
 * struct tw_data_run - where some bytes of a file live (tw_read_runs()):
 * @dev_off: their byte offset on the device, or TW_RUN_HOLE (zeros)
 * @len: how many bytes
 */
struct tw_data_run {
	u64 dev_off;
	u64 len;
};

#define TW_RUN_HOLE (~0ull)

/**
 * tw_read_runs_fn - receives the runs of a read: @n of them, in file
 * order, @total bytes in all.  Called with the file locked: its blocks
 * stay where the runs say until it returns.  Its return value is
 * tw_read_runs()'s.
 */
typedef ssize_t (*tw_read_runs_fn)(void *ctx, const struct tw_data_run *runs,
				   u32 n, u64 total);

/**
 * tw_read_runs() - tw_read() for a home that moves the bytes itself (from
 * the device to its caller, e.g. with splice(2)): the device ranges and
 * holes of bytes [@off, @off + @len) (clamped to the size) go to @fn,
 * which must have moved them before it returns.  Cached buffers of those
 * blocks that are newer than the device (a partial write's) are written
 * first, so the device holds every byte @fn is pointed at.  @runs has
 * room for @max runs.  Updates atime as tw_read() does.
 *
 * Return: what @fn returned, or a negative errno if it was not called:
 * -E2BIG if the bytes need more than @max runs (tw_read() can read them),
 * or the error met on the way (the read is never cut short: a home must
 * not answer a short read before the end of a file).
 */
ssize_t tw_read_runs(struct tw_fs *fs, u64 ino, u64 off, size_t len,
		     struct tw_data_run *runs, u32 max, tw_read_runs_fn fn,
		     void *ctx);

/** tw_write() - write @len bytes at @off, extending the file; returns
 * bytes written (short only on error after some progress). */
ssize_t tw_write(struct tw_fs *fs, u64 ino, u64 off, const void *buf,
		 size_t len);

/**
 * tw_bmap() - map logical block @lblk of @ino to a device block for a
 * page-cache data path.  With @create, a hole gets a new block; the caller
 * writes the whole block before the transaction commits (see
 * tw_dev_write_file_data()), and *@is_new says that it was allocated.
 * *@pblk is 0 for a hole without @create.
 */
int tw_bmap(struct tw_fs *fs, u64 ino, u32 lblk, bool create, u64 *pblk,
	    bool *is_new);

/**
 * tw_set_size() - the home's page-cache path extended the file to @size
 * (only grows; mtime and ctime are set to now).
 */
int tw_set_size(struct tw_fs *fs, u64 ino, u64 size);

/*
 * Transaction handles, for a home that must open the transaction before it
 * takes locks of its own: the kernel opens one before it locks a page in
 * write_begin or page_mkwrite (as ext4 does), so that a commit, which
 * writes the dirty pages of files with new blocks first, never waits for a
 * page whose owner waits for that commit.  While a handle is held the
 * running transaction cannot commit, so a block allocated under it is
 * filled before any commit makes it visible.  Only the calls ending in _h
 * may be made while holding a handle.
 */
#define TW_CREDITS_BMAP 8u /* one tw_bmap_h() with create */

int tw_handle_start(struct tw_fs *fs, u32 credits);
void tw_handle_stop(struct tw_fs *fs, u32 credits);
/* tw_bmap() within a handle (needed with @create only). */
int tw_bmap_h(struct tw_fs *fs, u64 ino, u32 lblk, bool create, u64 *pblk,
	      bool *is_new);
/* tw_set_size() within a handle of TW_CREDITS_BMAP or more. */
int tw_set_size_h(struct tw_fs *fs, u64 ino, u64 size);

/* tw_fallocate() modes: the values of Linux's FALLOC_FL_* */
#define TW_FALLOC_KEEP_SIZE 0x01u
#define TW_FALLOC_PUNCH_HOLE 0x02u
#define TW_FALLOC_ZERO_RANGE 0x10u
/* for a home with a page cache: leave the bytes of partly covered blocks
 * that are already mapped alone (the home zeroes them in its cache), and
 * the old last block's tail too when the file grows */
#define TW_FALLOC_NO_PARTIAL 0x80000000u

/**
 * tw_fallocate() - preallocate, punch or zero [@off, @off + @len) of a
 * regular file, as fallocate(2) with @mode 0 (allocate, extend the size),
 * KEEP_SIZE (allocate, blocks past the end stay until a truncate),
 * PUNCH_HOLE|KEEP_SIZE (free whole blocks, zero the partial ones) or
 * ZERO_RANGE, with or without KEEP_SIZE (allocate and zero).  A new block
 * is written with zeros before the transaction linking it can commit (the
 * format has no unwritten flag).  Runs its own transactions, like
 * tw_write(): out of space, the blocks allocated so far stay allocated
 * and consistent.  Other modes (collapse and insert range, unshare):
 * -EOPNOTSUPP.
 */
int tw_fallocate(struct tw_fs *fs, u64 ino, u32 mode, u64 off, u64 len);

/** struct tw_extent - a run of mapped logical blocks, for fiemap. */
struct tw_extent {
	u64 lblk;
	u64 pblk;
	u64 len; /* blocks */
};

/**
 * tw_fiemap() - the mapped data blocks of a regular file in logical
 * blocks [@from, @to), as at most @max runs of contiguous blocks in
 * @ext, in logical order; *@n says how many.  If @ext fills up, the
 * caller asks again from the end of the last run.  Holes cost nothing:
 * the walk skips unmapped subtrees of the block map.
 */
int tw_fiemap(struct tw_fs *fs, u64 ino, u64 from, u64 to,
	      struct tw_extent *ext, u32 max, u32 *n);

/** tw_fsync() - make @ino's data and metadata durable. */
int tw_fsync(struct tw_fs *fs, u64 ino, bool datasync);

/* ------------------------------------------------------------------------ */
/* Extended attributes: full names with their namespace prefix.            */
/* ------------------------------------------------------------------------ */

#define TW_XATTR_CREATE 0x1u
#define TW_XATTR_REPLACE 0x2u
/* with system.posix_acl_access: clear S_ISGID, as Linux's
 * posix_acl_update_mode() does when the caller is not in the file's group
 * and lacks CAP_FSETID (the home knows; the core does not) */
#define TW_XATTR_ACL_KILL_SGID 0x4u

/*
 * POSIX ACLs are the xattrs system.posix_acl_access and
 * system.posix_acl_default, in Linux's representation (tw_format.h).
 * tw_setxattr() checks them (-EINVAL for a malformed value, -EOPNOTSUPP
 * for another version, -EACCES for a default ACL on a non-directory) and
 * ignores TW_XATTR_CREATE/REPLACE for them, as the VFS does.  An access
 * ACL sets the group bits of the mode from its mask (or group) entry and
 * the owner and other bits from theirs; one that says no more than the
 * mode bits is not stored (and removes a stored one).  Removing an ACL
 * that is not there succeeds.  With TW_MNT_NOACL they are -EOPNOTSUPP.
 */
ssize_t tw_getxattr(struct tw_fs *fs, u64 ino, const char *name, void *buf,
		    size_t size);
int tw_setxattr(struct tw_fs *fs, u64 ino, const char *name, const void *value,
		size_t size, u32 flags);
/** tw_listxattr() - NUL-separated names; with @size 0 returns the length. */
ssize_t tw_listxattr(struct tw_fs *fs, u64 ino, char *buf, size_t size);
int tw_removexattr(struct tw_fs *fs, u64 ino, const char *name);

/**
 * tw_acl_check() - is @value (@size bytes) a well-formed POSIX ACL
 * (header, version, entry order, one owner, group and other entry, a mask
 * when there are named entries, permissions rwx only)?  Return: 0,
 * -EINVAL or -EOPNOTSUPP (another version).  The one check, for the core
 * and fsck.
 */
int tw_acl_check(const void *value, size_t size);

/* ------------------------------------------------------------------------ */
/* Formatting and checking, used by the tools                               */
/* ------------------------------------------------------------------------ */

struct tw_mkfs_opts {
	u64 blocks; /* filesystem size in blocks */
	u32 inodes; /* 0: one per 16 KiB */
	u32 journal_blocks; /* 0: by size */
	const char *label; /* may be NULL */
	u8 uuid[TW_UUID_LEN];
	u32 hash_seed;
	u32 root_uid; /* owner of the root directory */
	u32 root_gid;
	bool zeroed; /* the device reads as zeros: skip the inode table */
	s64 now;
};

/** tw_mkfs() - write an empty filesystem to @dev. */
int tw_mkfs(struct tw_dev *dev, const struct tw_mkfs_opts *o);

/**
 * tw_validate_super() - check a superblock read from disk against the
 * device size.  On failure, *@why names the problem (a static string).
 * This is the one validator; mount and fsck both use it.
 */
int tw_validate_super(const struct tw_super *sb, u64 dev_blocks,
		      const char **why);

/** tw_fs_super() - the in-memory copy of the superblock, for tools. */
const struct tw_super *tw_fs_super(struct tw_fs *fs);

#endif /* TWINFS_H */
