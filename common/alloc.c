// SPDX-License-Identifier: GPL-2.0
/*
 * alloc.c - block and inode allocation over the on-disk bitmaps.
 *
 * Layer: core (common/).  Calls meta.c, journal.c and the environment.
 *
 * Allocation is next-fit from a goal (the block after the file's last one,
 * so files stay contiguous).  Every bitmap change is journaled.  A block
 * freed in the running transaction is not handed out again before that
 * transaction commits: the allocator wants its bit clear both in the
 * bitmap and in the bitmap's committed copy (tw_txn_snapshot), as jbd2's
 * b_committed_data does for ext4.  A block allocated in the running
 * transaction is marked in the committed copy as well, so that it is not
 * handed out twice in one transaction either.
 */
#include "tw_int.h"

static inline u8 *payload(struct tw_buf *b)
{
	return (u8 *)tw_bdata(b) + sizeof(struct tw_blk_hdr);
}

static inline bool bit_test(const u8 *map, u32 bit)
{
	return map[bit >> 3] & (1u << (bit & 7));
}

static inline void bit_set(u8 *map, u32 bit)
{
	map[bit >> 3] |= (u8)(1u << (bit & 7));
}

static inline void bit_clear(u8 *map, u32 bit)
{
	map[bit >> 3] &= (u8) ~(1u << (bit & 7));
}

static inline u64 load64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, 8);
	return tw_le64_to_cpu(v);
}

/* First bit in [from, to) clear in @map and (if given) in @committed. */
static int find_clear(const u8 *map, const u8 *committed, u32 from, u32 to)
{
	u32 bit = from;

	while (bit < to) {
		u32 w = bit >> 6;
		u64 used = load64(map + w * 8);

		if (committed)
			used |= load64(committed + w * 8);
		used |= (1ull << (bit & 63)) - 1; /* bits below @bit */
		if (~used) {
			u32 found = (w << 6) + (u32)__builtin_ctzll(~used);

			return found < to ? (int)found : -1;
		}
		bit = (w + 1) << 6;
	}
	return -1;
}

static u32 popcount64(u64 v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (u32)((v * 0x0101010101010101ull) >> 56);
}

static int bitmap_read(struct tw_fs *fs, u64 start, u32 idx,
		       struct tw_buf **out)
{
	return tw_meta_read(fs, start + idx, TW_BMAP_MAGIC, 0, out);
}

/*
 * Find and set a clear bit in [lo, hi) of the bitmap at @start, scanning
 * from @goal and wrapping once.  Returns 0 with *@out, -ENOSPC, or an error.
 */
static int bitmap_alloc(struct tw_fs *fs, u64 start, u64 lo, u64 hi, u64 goal,
			u64 *out)
{
	u64 ranges[2][2] = { { goal, hi }, { lo, goal } };
	int r;

	if (goal < lo || goal >= hi)
		ranges[0][0] = lo, ranges[1][1] = lo;
	for (r = 0; r < 2; r++) {
		u64 bit = ranges[r][0];

		while (bit < ranges[r][1]) {
			u32 idx = (u32)(bit / TW_BMAP_BITS);
			u32 off = (u32)(bit % TW_BMAP_BITS);
			u64 base = (u64)idx * TW_BMAP_BITS;
			u64 end = base + TW_BMAP_BITS;
			u8 *committed;
			struct tw_buf *b;
			int found, err;

			if (end > ranges[r][1])
				end = ranges[r][1];
			err = bitmap_read(fs, start, idx, &b);
			if (err)
				return err;
			committed = tw_txn_committed(fs, start + idx);
			if (committed)
				committed += sizeof(struct tw_blk_hdr);
			found = find_clear(payload(b), committed, off,
					   (u32)(end - base));
			if (found >= 0) {
				bit_set(payload(b), (u32)found);
				/* freed again before the commit, it must stay
				 * unusable until then too: a block of this
				 * transaction may be in it as metadata */
				if (committed)
					bit_set(committed, (u32)found);
				err = tw_txn_dirty(fs, b);
				tw_buf_release(b);
				if (err)
					return err;
				*out = base + (u32)found;
				return 0;
			}
			tw_buf_release(b);
			bit = end;
		}
	}
	return -ENOSPC;
}

static int bitmap_free(struct tw_fs *fs, u64 start, u64 bit, bool snapshot)
{
	u32 idx = (u32)(bit / TW_BMAP_BITS);
	u32 off = (u32)(bit % TW_BMAP_BITS);
	struct tw_buf *b;
	int err;

	err = bitmap_read(fs, start, idx, &b);
	if (err)
		return err;
	if (!bit_test(payload(b), off)) {
		tw_buf_release(b);
		return tw_corrupt(fs, "freeing a free block or inode", bit);
	}
	err = tw_txn_dirty(fs, b);
	if (!err && snapshot && !tw_txn_snapshot(fs, b))
		err = -ENOMEM;
	if (!err)
		bit_clear(payload(b), off);
	tw_buf_release(b);
	return err;
}

int tw_alloc_block(struct tw_fs *fs, u64 goal, u64 *out)
{
	int err;

	err = tw_fault_point(fs->dev, "alloc_block");
	if (err)
		return err;
	tw_mutex_lock(fs->alloc_lock);
	if (!fs->free_blocks) {
		tw_mutex_unlock(fs->alloc_lock);
		return -ENOSPC;
	}
	if (!goal)
		goal = fs->balloc_goal;
	err = bitmap_alloc(fs, fs->bbitmap_start, fs->data_start, fs->nblocks,
			   goal, out);
	if (!err) {
		fs->free_blocks--;
		fs->balloc_goal = *out + 1;
	}
	tw_mutex_unlock(fs->alloc_lock);
	return err;
}

int tw_free_block(struct tw_fs *fs, u64 blk)
{
	int err;

	if (blk < fs->data_start || blk >= fs->nblocks)
		return tw_corrupt(fs, "freeing a block outside the data area",
				  blk);
	tw_mutex_lock(fs->alloc_lock);
	err = bitmap_free(fs, fs->bbitmap_start, blk, true);
	if (!err)
		fs->free_blocks++;
	tw_mutex_unlock(fs->alloc_lock);
	return err;
}

int tw_alloc_inode(struct tw_fs *fs, bool dir, u64 parent, u64 *out)
{
	int err;

	tw_mutex_lock(fs->ialloc_lock);
	if (!fs->free_inodes) {
		tw_mutex_unlock(fs->ialloc_lock);
		return -ENOSPC;
	}
	err = bitmap_alloc(fs, fs->ibitmap_start, TW_ROOT_INO + 1, fs->ninodes,
			   fs->ialloc_goal, out);
	if (!err) {
		fs->free_inodes--;
		fs->ialloc_goal = (u32)*out + 1;
	}
	tw_mutex_unlock(fs->ialloc_lock);
	return err;
}

int tw_free_inode(struct tw_fs *fs, u64 ino)
{
	int err;

	if (ino <= TW_ROOT_INO || ino >= fs->ninodes)
		return tw_corrupt(fs, "freeing a reserved inode", ino);
	tw_mutex_lock(fs->ialloc_lock);
	err = bitmap_free(fs, fs->ibitmap_start, ino, false);
	if (!err)
		fs->free_inodes++;
	tw_mutex_unlock(fs->ialloc_lock);
	return err;
}

int tw_bitmap_test(struct tw_fs *fs, u64 map_start, u64 bit, bool *set)
{
	struct tw_buf *b;
	int err;

	err = bitmap_read(fs, map_start, (u32)(bit / TW_BMAP_BITS), &b);
	if (err)
		return err;
	*set = bit_test(payload(b), (u32)(bit % TW_BMAP_BITS));
	tw_buf_release(b);
	return 0;
}

/* Count clear bits of [0, nbits) of a bitmap. */
static int count_clear(struct tw_fs *fs, u64 start, u32 nblocks, u64 nbits,
		       u64 *out)
{
	u64 used = 0;
	u32 idx;

	for (idx = 0; idx < nblocks; idx++) {
		u64 base = (u64)idx * TW_BMAP_BITS;
		u32 bits = nbits - base < TW_BMAP_BITS ? (u32)(nbits - base) :
							 TW_BMAP_BITS;
		struct tw_buf *b;
		const u8 *p;
		u32 w;
		int err;

		err = bitmap_read(fs, start, idx, &b);
		if (err)
			return err;
		p = payload(b);
		for (w = 0; w + 64 <= bits; w += 64)
			used += popcount64(load64(p + w / 8));
		for (; w < bits; w++)
			used += bit_test(p, w);
		tw_buf_release(b);
	}
	*out = nbits - used;
	return 0;
}

int tw_count_free(struct tw_fs *fs)
{
	u64 n;
	int err;

	err = count_clear(fs, fs->bbitmap_start, fs->bbitmap_blocks,
			  fs->nblocks, &n);
	if (err)
		return err;
	fs->free_blocks = n;
	err = count_clear(fs, fs->ibitmap_start, fs->ibitmap_blocks,
			  fs->ninodes, &n);
	if (err)
		return err;
	fs->free_inodes = (u32)n;
	return 0;
}
