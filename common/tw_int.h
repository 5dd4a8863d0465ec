/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_int.h - internals shared by the core's own files.
 *
 * Layer: core (common/) only; never included by the homes.  Includes
 * twinfs.h, which brings tw_format.h and tw_env.h.
 *
 * Locking order, outermost first (an inner lock is never held while an
 * outer one is taken), the order of ext4 with jbd2:
 *   1. fs->rename_lock         (renames only)
 *   2. data locks (dlock)      one file's data against truncation, like the
 *                              VFS's i_rwsem: truncation holds it across
 *                              several transactions
 *   3. transaction handle      (tw_txn_begin ... tw_txn_end)
 *   4. inode stripe locks      (several at once only in ascending index)
 *   5. fs->alloc_lock, fs->ialloc_lock, fs->orphan_lock, j->list_lock
 * A commit takes the journal's rwsem for writing and waits for the handles
 * to drain.  Nobody waits for a handle while holding an inode lock, so the
 * handles always drain; and a home may hold a handle across its own locks
 * (the kernel holds one around a page lock, as ext4_write_begin does), so
 * that the ordered-data writeback of a commit never waits for a page whose
 * owner waits for the commit.
 */
#ifndef TW_INT_H
#define TW_INT_H

#include "twinfs.h"

#define TW_ILOCK_STRIPES 1024u
#define TW_ORDERED_MAX 64u
#define TW_TRUNC_CHUNK 1024u /* blocks freed per truncate transaction */

/* Credits: most metadata blocks one operation may dirty. */
#define TW_CR_INODE 2 /* inode table block + superblock */
#define TW_CR_ALLOC 5 /* one block: bitmap block, up to 4 indirect blocks */
#define TW_CR_DIRADD 48 /* header, fsm, data, bucket, splits, allocations */
#define TW_CR_DIRDEL 6
#define TW_CR_ORPHAN 1
/* one xattr set or removal with its value in its entry: the entry blocks
 * it leaves and enters (one maybe new), a new or freed index, and their
 * bitmap blocks (xattr.c) */
#define TW_CR_XATTR 5

struct tw_buf;

/* A running transaction's block set: open addressing on block number. */
struct tw_txn_ent {
	u64 blk;
	struct tw_buf *buf;
	/* Bitmap blocks that had bits cleared in this transaction keep their
	 * committed contents here: a block freed in a transaction must not be
	 * reused before it commits (its old owner may still see it after a
	 * crash), so the allocator wants a bit clear in both copies. */
	u8 *committed;
};

struct tw_journal {
	struct tw_rwsem *lock; /* shared: handles; exclusive: commit */
	struct tw_mutex *list_lock; /* the fields below while shared */
	u64 start; /* first journal block (the journal superblock) */
	u32 len; /* journal blocks */
	u32 limit; /* most blocks in one transaction */
	u64 seq; /* sequence number of the running transaction */
	u32 head; /* body position where it will be written */
	struct tw_txn_ent *set;
	u32 set_cap; /* power of two, >= 2 * limit */
	u32 count; /* blocks in the set */
	u32 reserved; /* credits held by running handles */
	u32 handles;
	u64 ordered[TW_ORDERED_MAX]; /* inodes with fresh blocks (tw_bmap) */
	u32 nordered;
	bool ordered_all;
	s64 start_time; /* when the running transaction got its first block */
	int error; /* sticky: a commit failed, the fs is read-only */
	/* read-only mounts replay into pinned buffers instead of the disk */
	struct tw_buf **pinned;
	u32 npinned;
	u32 replayed; /* transactions replayed at mount */
	u64 commits; /* statistics */
	u64 committed_blocks;
};

struct tw_fs {
	struct tw_dev *dev;
	u64 dev_blocks;
	struct tw_buf *sb_buf; /* block 0, referenced for the whole mount */
	struct tw_super *sb; /* points into sb_buf */
	u32 csum_seed;
	u32 hash_seed;
	u64 nblocks;
	u32 ninodes;
	u64 bbitmap_start;
	u32 bbitmap_blocks;
	u64 ibitmap_start;
	u32 ibitmap_blocks;
	u64 itable_start;
	u32 itable_blocks;
	u64 orphan_start;
	u32 orphan_blocks;
	u64 data_start;
	u32 mnt_flags;
	bool rdonly;
	bool error_seen; /* corruption met: s_state gets TW_STATE_ERROR */

	struct tw_mutex *alloc_lock;
	struct tw_mutex *ialloc_lock;
	struct tw_mutex *orphan_lock;
	struct tw_mutex *rename_lock;
	struct tw_rwsem *ilock[TW_ILOCK_STRIPES];
	struct tw_rwsem *dlock[TW_ILOCK_STRIPES];
	u64 free_blocks; /* under alloc_lock */
	u64 balloc_goal;
	u32 free_inodes; /* under ialloc_lock */
	u32 ialloc_goal;
	u32 orphan_hint; /* under orphan_lock */
	struct tw_journal j;
};

/* ---- helpers ---- */

static inline u32 tw_ilock_idx(u64 ino)
{
	return (u32)((ino * 0x9e3779b97f4a7c15ull) >> 54) &
	       (TW_ILOCK_STRIPES - 1);
}

static inline void *tw_bdata(struct tw_buf *b)
{
	return tw_buf_data(b);
}

#define tw_err(fs, fmt, ...) tw_log((fs)->dev, TW_LOG_ERR, fmt, ##__VA_ARGS__)
#define tw_warn(fs, fmt, ...) tw_log((fs)->dev, TW_LOG_WARN, fmt, ##__VA_ARGS__)

/* Report corruption: logs, flags the superblock state, returns -EUCLEAN. */
int tw_corrupt(struct tw_fs *fs, const char *what, u64 where);

/* ---- locks on inodes (lock.c) ---- */
void tw_ilock(struct tw_fs *fs, u64 ino, bool excl);
void tw_iunlock(struct tw_fs *fs, u64 ino, bool excl);
/* The data lock of one inode (see the locking order above). */
void tw_dlock(struct tw_fs *fs, u64 ino, bool excl);
void tw_dunlock(struct tw_fs *fs, u64 ino, bool excl);
/* Lock up to four inodes exclusively, in stripe order; 0 entries skipped. */
void tw_ilock_many(struct tw_fs *fs, const u64 *inos, int n);
void tw_iunlock_many(struct tw_fs *fs, const u64 *inos, int n);
/* Lock @a, already held shared, and @b shared together in stripe order;
 * returns false if @a had to be dropped (and was retaken): the caller must
 * then re-check what it learned under it. */
bool tw_ilock_add_shared(struct tw_fs *fs, u64 a, u64 b);
void tw_iunlock_pair_shared(struct tw_fs *fs, u64 a, u64 b);

/* ---- metadata buffers (meta.c) ---- */
/* Read a header-carrying metadata block and check magic, crc, location
 * and (if @owner is not ~0) owner. */
int tw_meta_read(struct tw_fs *fs, u64 blk, u32 magic, u64 owner,
		 struct tw_buf **out);
/* Fresh zeroed metadata block with its header filled in. */
int tw_meta_new(struct tw_fs *fs, u64 blk, u32 magic, u64 owner, u32 aux,
		struct tw_buf **out);

/* ---- journal (journal.c) ---- */
int tw_journal_load(struct tw_fs *fs);
void tw_journal_destroy(struct tw_fs *fs);
/* Commit everything and turn read-only (@ro), or back to read-write. */
int tw_journal_remount(struct tw_fs *fs, bool ro);
int tw_txn_begin(struct tw_fs *fs, u32 credits);
/* End a handle; @err is the operation's result: an I/O error or
 * corruption met inside the handle aborts the journal. */
void tw_txn_end(struct tw_fs *fs, u32 credits, int err);
/* The same abort, for code running inside a handle someone else ends. */
void tw_txn_abort(struct tw_fs *fs, int err);
/* The buffer was modified inside the running handle: journal it. */
int tw_txn_dirty(struct tw_fs *fs, struct tw_buf *b);
/* tw_bmap() allocated blocks for @ino: write its data before commit. */
void tw_txn_ordered(struct tw_fs *fs, u64 ino);
/* Committed copy of a bitmap buffer already in the transaction, made on
 * first use; NULL on allocation failure. */
u8 *tw_txn_snapshot(struct tw_fs *fs, struct tw_buf *b);
/* The committed copy of bitmap block @blk, or NULL if it has none. */
u8 *tw_txn_committed(struct tw_fs *fs, u64 blk);
int tw_commit(struct tw_fs *fs);

/* ---- allocation (alloc.c) ---- */
int tw_alloc_block(struct tw_fs *fs, u64 goal, u64 *out);
int tw_free_block(struct tw_fs *fs, u64 blk); /* needs a handle */
int tw_alloc_inode(struct tw_fs *fs, bool dir, u64 parent, u64 *out);
int tw_free_inode(struct tw_fs *fs, u64 ino);
int tw_count_free(struct tw_fs *fs);
int tw_bitmap_test(struct tw_fs *fs, u64 map_start, u64 bit, bool *set);

/* ---- inodes (inode.c) ---- */
struct tw_ictx {
	u64 ino;
	struct tw_buf *buf; /* inode table block */
	struct tw_inode *di; /* points into buf */
};
int tw_iget(struct tw_fs *fs, u64 ino, struct tw_ictx *ic);
/* The field checks of tw_iget (type, flags, sizes, orphan slot); shared
 * with fsck. */
bool tw_inode_fields_ok(const struct tw_fs *fs, const struct tw_inode *di);
/* The checks of xattr blocks (xattr.c), shared with fsck: an entry block
 * in the one-block form (tw_xattr_entries_ok) or under an index (whose
 * entries may be external), and an index block. */
bool tw_xattr_entries_ok(const struct tw_xattr_header *xh);
bool tw_xattr_block_ok(const struct tw_xattr_header *xh, bool indexed);
bool tw_xattr_index_ok(const struct tw_fs *fs,
		       const struct tw_xattr_index *xi);
/* Value blocks that hold a value of @len bytes. */
u32 tw_xattr_val_blocks(u32 len);
void tw_iput(struct tw_ictx *ic);
/* A free inode slot, to initialise (needs the inode bitmap bit). */
int tw_iget_free(struct tw_fs *fs, u64 ino, struct tw_ictx *ic);
/* Recompute the inode crc and journal its block. */
int tw_idirty(struct tw_fs *fs, struct tw_ictx *ic);
void tw_fill_attr(const struct tw_ictx *ic, struct tw_attr *a);
u32 tw_mode_dtype(u32 mode);

int tw_map_lookup(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u64 *pblk);
/* Map @lblk, allocating it (and indirect blocks) if it is a hole; needs a
 * handle with TW_CR_ALLOC credits. */
int tw_map_alloc(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u64 *pblk,
		 bool *is_new);
/* Free every block at or past @from; runs its own transactions (the
 * caller holds the inode's data lock exclusively, no handle, no inode
 * lock). */
int tw_truncate_blocks(struct tw_fs *fs, struct tw_ictx *ic, u32 from);
/* The same for the blocks in [@from, @to) only (punching a hole). */
int tw_free_range(struct tw_fs *fs, struct tw_ictx *ic, u32 from, u64 to);
/* Zero [from, to) within the block holding @from, if it is mapped: the
 * stale tail past the old end of a file that is being extended. */
int tw_zero_tail(struct tw_fs *fs, struct tw_ictx *ic, u64 from, u64 to);
/* Grow @ic's file to @size (no-op if not larger): the stale tail of its
 * old last block is zeroed here, or, with @home_zeroed, was zeroed by
 * the home in its page cache, which the commit then writes first. */
int tw_grow_size(struct tw_fs *fs, struct tw_ictx *ic, u64 size,
		 bool home_zeroed);
int tw_orphan_add(struct tw_fs *fs, struct tw_ictx *ic);
int tw_orphan_del(struct tw_fs *fs, struct tw_ictx *ic);
int tw_orphan_recover(struct tw_fs *fs);
/* Free an inode with no links: blocks, xattrs, orphan slot, bitmap.  The
 * caller holds its data lock exclusively and nothing else. */
int tw_inode_destroy(struct tw_fs *fs, u64 ino);

/* Read a metadata block of a file at logical block @lblk (must exist). */
int tw_file_meta_read(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 magic,
		      struct tw_buf **out);
/* Allocate logical block @lblk of @ic as a fresh metadata block. */
int tw_file_meta_new(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 magic,
		     u32 aux, struct tw_buf **out);

/* ---- directories (dir.c) ---- */
/* Check the entry record at @off of an entry block: its rec_len or 0. */
u32 tw_dirent_check(void *blk, u32 off);
/* The largest record a new entry could take in an entry block (what the
 * free-space map records), or ~0 if a record is invalid. */
u32 tw_dirblock_largest(void *blk);
/* The bucket a name hash belongs to under the header's level and split. */
u32 tw_dir_bucket(const struct tw_dir_header *h, u32 hash);
/* An entry's position as stored in a bucket slot. */
u32 tw_dir_pos8(u32 lblk, u32 off);
u32 tw_name_hash(struct tw_fs *fs, const char *name, u32 len);
int tw_dir_init(struct tw_fs *fs, struct tw_ictx *dir, u64 parent);
int tw_dir_find(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		u32 len, u64 *ino, u32 *dtype);
int tw_dir_add(struct tw_fs *fs, struct tw_ictx *dir, const char *name, u32 len,
	       u64 ino, u32 dtype);
int tw_dir_remove(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		  u32 len);
int tw_dir_retarget(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		    u32 len, u64 ino, u32 dtype);
int tw_dir_is_empty(struct tw_fs *fs, struct tw_ictx *dir, bool *empty);
int tw_dir_parent(struct tw_fs *fs, struct tw_ictx *dir, u64 *parent);
int tw_dir_set_parent(struct tw_fs *fs, struct tw_ictx *dir, u64 parent);

/* ---- data (file.c) ---- */
/* Update atime under the mount's atime rule (relatime by default); best
 * effort.  The caller holds no lock and no handle. */
void tw_touch_atime(struct tw_fs *fs, u64 ino);

/* ---- xattrs (xattr.c) ---- */
/* Free every xattr block of an unlinked inode; runs its own transactions
 * (the caller holds no lock and no handle). */
int tw_xattr_drop(struct tw_fs *fs, struct tw_ictx *ic);
/*
 * The same operations on an inode the caller holds (locked, or new and not
 * yet linked), names without their prefix; the changing ones run in the
 * caller's transaction, with TW_CR_XATTR of its credits (enough for a value
 * kept in its entry, as the system. ones always are; one that would need
 * value blocks gives -E2BIG), and leave tw_idirty() to it.
 * tw_xattr_get_ic() returns the value's length.
 */
int tw_xattr_get_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, void *buf, u32 size);
int tw_xattr_set_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, const void *value, u32 size,
		    u32 flags, bool remove);
/* The value of an existing entry in its buffer, to change in place (its
 * size stays): the caller journals *@bp (tw_txn_dirty) and releases it. */
int tw_xattr_edit_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		     const char *name, u32 len, struct tw_buf **bp,
		     void **value, u32 *size);
/* Undo of a create: free the xattr blocks of an inode about to be freed
 * (all of them allocated in the running transaction). */
void tw_xattr_free_new(struct tw_fs *fs, struct tw_ictx *ic);

/* ---- POSIX ACLs (acl.c) ---- */
#define TW_ACL_TYPE_ACCESS 1
#define TW_ACL_TYPE_DEFAULT 2
#define TW_CR_ACL (TW_CR_ALLOC + 1) /* the ACLs of one new inode */

/* The ACL a system. name stands for, or 0 for another name. */
int tw_acl_type(const char *name, u32 len);
/* Set (or @remove) an ACL of @ic, held locked in a transaction, and the
 * mode bits with it (see tw_setxattr()). */
int tw_acl_set(struct tw_fs *fs, struct tw_ictx *ic, int type,
	       const void *value, u32 size, u32 flags, bool remove);
/* chmod: rewrite @ic's access ACL for the new @mode, in the transaction. */
int tw_acl_chmod(struct tw_fs *fs, struct tw_ictx *ic, u32 mode);

/* What a new inode inherits from its directory (tw_acl_inherit_*). */
struct tw_acl_new {
	u8 *buf; /* the default ACL, then the access ACL derived from it */
	u32 size; /* of each */
	bool access; /* the access ACL says more than the mode */
};
/* Before the inode exists: the permission bits of *@mode for a create in
 * @dir (held locked): masked by @dir's default ACL, kept in @an, or by
 * @umask if it has none. */
int tw_acl_inherit_prepare(struct tw_fs *fs, struct tw_ictx *dir, u32 *mode,
			   u32 umask, struct tw_acl_new *an);
/* Give the new inode @ic its ACLs from @an, in the create's transaction;
 * @an is freed whatever happens. */
int tw_acl_inherit_apply(struct tw_fs *fs, struct tw_ictx *ic,
			 struct tw_acl_new *an);
void tw_acl_new_free(struct tw_acl_new *an);

/* ---- time ---- */
static inline void tw_touch(struct tw_inode *di, bool m, bool c)
{
	s64 now = tw_now();

	if (m)
		TW_SET64(di, i_mtime, now);
	if (c)
		TW_SET64(di, i_ctime, now);
}

static inline bool tw_valid_name(const char *name, u32 len)
{
	u32 i;

	if (len == 0 || len > TW_NAME_MAX)
		return false;
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0')
			return false;
	return true;
}

#endif /* TW_INT_H */
