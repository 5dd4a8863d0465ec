// SPDX-License-Identifier: GPL-2.0
/*
 * meta.c - inode stripe locks, checked metadata buffers, corruption reports.
 *
 * Layer: core (common/).  Calls the environment (tw_env.h) only.
 */
#include "tw_int.h"

/* ---- inode locks: a fixed table of rwsems, hashed by inode number ---- */

void tw_ilock(struct tw_fs *fs, u64 ino, bool excl)
{
	struct tw_rwsem *s = fs->ilock[tw_ilock_idx(ino)];

	if (excl)
		tw_down_write(s);
	else
		tw_down_read(s);
}

void tw_iunlock(struct tw_fs *fs, u64 ino, bool excl)
{
	struct tw_rwsem *s = fs->ilock[tw_ilock_idx(ino)];

	if (excl)
		tw_up_write(s);
	else
		tw_up_read(s);
}

void tw_dlock(struct tw_fs *fs, u64 ino, bool excl)
{
	struct tw_rwsem *s = fs->dlock[tw_ilock_idx(ino)];

	if (excl)
		tw_down_write(s);
	else
		tw_down_read(s);
}

void tw_dunlock(struct tw_fs *fs, u64 ino, bool excl)
{
	struct tw_rwsem *s = fs->dlock[tw_ilock_idx(ino)];

	if (excl)
		tw_up_write(s);
	else
		tw_up_read(s);
}

/* Sorted, de-duplicated stripe indexes of up to four inodes. */
static int stripes(const u64 *inos, int n, u32 *idx)
{
	int i, j, k = 0;

	for (i = 0; i < n; i++) {
		u32 v;

		if (!inos[i])
			continue;
		v = tw_ilock_idx(inos[i]);
		for (j = 0; j < k && idx[j] != v; j++)
			;
		if (j < k)
			continue;
		for (j = k; j > 0 && idx[j - 1] > v; j--)
			idx[j] = idx[j - 1];
		idx[j] = v;
		k++;
	}
	return k;
}

void tw_ilock_many(struct tw_fs *fs, const u64 *inos, int n)
{
	u32 idx[4];
	int i, k;

	tw_assert(n <= 4);
	k = stripes(inos, n, idx);
	for (i = 0; i < k; i++)
		tw_down_write(fs->ilock[idx[i]]);
}

void tw_iunlock_many(struct tw_fs *fs, const u64 *inos, int n)
{
	u32 idx[4];
	int i, k;

	tw_assert(n <= 4);
	k = stripes(inos, n, idx);
	for (i = k - 1; i >= 0; i--)
		tw_up_write(fs->ilock[idx[i]]);
}

bool tw_ilock_add_shared(struct tw_fs *fs, u64 a, u64 b)
{
	u32 ia = tw_ilock_idx(a), ib = tw_ilock_idx(b);

	if (ia == ib)
		return true;
	if (ib > ia) {
		tw_down_read(fs->ilock[ib]);
		return true;
	}
	tw_up_read(fs->ilock[ia]);
	tw_down_read(fs->ilock[ib]);
	tw_down_read(fs->ilock[ia]);
	return false;
}

void tw_iunlock_pair_shared(struct tw_fs *fs, u64 a, u64 b)
{
	u32 ia = tw_ilock_idx(a), ib = tw_ilock_idx(b);

	tw_up_read(fs->ilock[ia]);
	if (ia != ib)
		tw_up_read(fs->ilock[ib]);
}

/* ---- corruption ---- */

int tw_corrupt(struct tw_fs *fs, const char *what, u64 where)
{
	tw_err(fs, "corrupted filesystem: %s (at %llu); run fsck.twinfs", what,
	       (unsigned long long)where);
	/* The superblock's error state is written with the next commit
	 * (not here: the cached superblock must keep a valid checksum). */
	fs->error_seen = true;
	return -EUCLEAN;
}

/* ---- checked metadata buffers ---- */

int tw_meta_read(struct tw_fs *fs, u64 blk, u32 magic, u64 owner,
		 struct tw_buf **out)
{
	struct tw_buf *b;
	struct tw_blk_hdr *h;
	int err;

	if (blk < fs->data_start || blk >= fs->nblocks) {
		if (!(blk >= fs->orphan_start &&
		      blk < fs->orphan_start + fs->orphan_blocks) &&
		    !(blk >= fs->bbitmap_start && blk < fs->itable_start))
			return tw_corrupt(fs, "block pointer out of range",
					  blk);
	}
	err = tw_buf_read(fs->dev, blk, &b);
	if (err)
		return err;
	h = tw_bdata(b);
	if (!tw_buf_verified(b)) {
		if (TW_GET32(h, h_magic) != magic) {
			tw_buf_release(b);
			return tw_corrupt(fs, "bad block magic", blk);
		}
		if (TW_GET32(h, h_crc) != tw_block_csum(fs->csum_seed, h)) {
			tw_buf_release(b);
			tw_corrupt(fs, "bad block checksum", blk);
			return -EBADMSG;
		}
		if (TW_GET64(h, h_blkno) != blk) {
			tw_buf_release(b);
			return tw_corrupt(fs, "block belongs elsewhere", blk);
		}
		tw_buf_set_verified(b);
	} else if (TW_GET32(h, h_magic) != magic) {
		/* cached and checked, but as another type: a cross-link */
		tw_buf_release(b);
		return tw_corrupt(fs, "block used as two types", blk);
	}
	if (owner != ~0ull && TW_GET64(h, h_owner) != owner) {
		tw_buf_release(b);
		return tw_corrupt(fs, "block owned by another inode", blk);
	}
	*out = b;
	return 0;
}

int tw_meta_new(struct tw_fs *fs, u64 blk, u32 magic, u64 owner, u32 aux,
		struct tw_buf **out)
{
	struct tw_buf *b;
	struct tw_blk_hdr *h;
	int err;

	err = tw_buf_get(fs->dev, blk, &b);
	if (err)
		return err;
	h = tw_bdata(b);
	memset(h, 0, TW_BLOCK_SIZE);
	TW_SET32(h, h_magic, magic);
	TW_SET64(h, h_blkno, blk);
	TW_SET64(h, h_owner, owner);
	TW_SET32(h, h_aux, aux);
	tw_buf_set_verified(b);
	*out = b;
	return 0;
}
