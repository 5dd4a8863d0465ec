// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_bitmap.c - pass 6 of the checker: the block and inode bitmaps
 * against what passes 1-5 found in use (rewritten when they differ), and
 * the superblock's free counts; fills in the result's usage numbers.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls
 * fsck_util.c (fsck.h), the core's internals (tw_int.h: bitmap format,
 * block buffers), the user-space environment.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

static int check_bitmap(struct fsck_ctx *c, const char *what, u64 start,
			u32 nblocks, u64 nbits,
			bool (*used)(struct fsck_ctx *, u64), u64 *free_out)
{
	u64 plus = 0, minus = 0, nfree = 0;
	u32 idx;
	int r;
	bool fix = false, asked = false;

	for (int round = 0; round < 2; round++) {
		for (idx = 0; idx < nblocks; idx++) {
			struct tw_buf *b;
			u8 *map;
			u32 bit;
			bool bad;

			r = fsck_hdr_block(c, start + idx, TW_BMAP_MAGIC, 0,
					   &b);
			if (r < 0)
				return r;
			bad = !r;
			map = (u8 *)tw_bdata(b) + sizeof(struct tw_blk_hdr);
			if (bad && round == 0)
				minus++, plus++; /* forces a rewrite */
			for (bit = 0; bit < TW_BMAP_BITS; bit++) {
				u64 n = (u64)idx * TW_BMAP_BITS + bit;
				bool want, have;

				/* past the end every bit is set: a byte at a
				 * time where it is (most of a small fs) */
				if (n >= nbits && !(bit & 7) &&
				    map[bit >> 3] == 0xff && !(round && bad)) {
					bit += 7;
					continue;
				}
				want = n >= nbits || used(c, n);
				have = map[bit >> 3] & (1u << (bit & 7));

				if (round == 0) {
					if (want && !have)
						plus++;
					else if (!want && have)
						minus++;
					if (!want && n < nbits)
						nfree++;
				} else if (want != have || bad) {
					if (want)
						map[bit >> 3] |=
							(u8)(1u << (bit & 7));
					else
						map[bit >> 3] &=
							(u8) ~(1u << (bit & 7));
				}
			}
			if (round == 1 && fix) {
				struct tw_blk_hdr *h = tw_bdata(b);

				TW_SET32(h, h_magic, TW_BMAP_MAGIC);
				TW_SET64(h, h_blkno, start + idx);
				h->h_owner = 0;
				h->h_aux = 0;
				h->h_pad = 0;
				fsck_reseal(c, b);
			}
			tw_buf_release(b);
		}
		if (round == 0) {
			*free_out = nfree;
			if (!plus && !minus)
				return 0;
			if (!asked) {
				asked = true;
				fix = fsck_problem(
					c, true,
					"%s bitmap differs: %llu marked free in use, %llu marked used free; rewrite",
					what, (unsigned long long)plus,
					(unsigned long long)minus);
			}
			if (!fix)
				return 0;
		}
	}
	return 0;
}

static bool block_used(struct fsck_ctx *c, u64 n)
{
	return fsck_claimed(c, n);
}

static bool inode_used(struct fsck_ctx *c, u64 n)
{
	return n < TW_ROOT_INO ||
	       (n < c->ninodes && c->ii[n].state == FSCK_I_OK);
}

int fsck_pass_bitmaps(struct fsck_ctx *c)
{
	struct tw_fs *fs = c->fs;
	u64 fb, fi;
	int err;

	fsck_note(c, "Pass 6: bitmaps and counts\n");
	err = check_bitmap(c, "block", fs->bbitmap_start, fs->bbitmap_blocks,
			   c->nblocks, block_used, &fb);
	if (!err)
		err = check_bitmap(c, "inode", fs->ibitmap_start,
				   fs->ibitmap_blocks, c->ninodes, inode_used,
				   &fi);
	if (err)
		return err;
	if ((TW_GET64(fs->sb, s_free_blocks) != fb ||
	     TW_GET32(fs->sb, s_free_inodes) != fi) &&
	    fsck_problem(
		    c, true,
		    "free counts in the superblock are %llu/%u, counted %llu/%llu",
		    (unsigned long long)TW_GET64(fs->sb, s_free_blocks),
		    TW_GET32(fs->sb, s_free_inodes), (unsigned long long)fb,
		    (unsigned long long)fi)) {
		TW_SET64(fs->sb, s_free_blocks, fb);
		TW_SET32(fs->sb, s_free_inodes, fi);
		c->dirty = true;
	}
	fs->free_blocks = fb;
	fs->free_inodes = (u32)fi;
	c->res->used_blocks = c->nblocks - fb;
	c->res->blocks = c->nblocks;
	c->res->used_inodes = c->ninodes - fi;
	c->res->inodes = c->ninodes;
	return 0;
}
