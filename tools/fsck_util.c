// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_util.c - what the checker's passes share: reporting a problem (and
 * deciding, by -n/-y/-p, whether to repair it), the map of claimed blocks
 * (each block has one owner), reading a block with its header checked, and
 * writing back a repaired block or inode.
 *
 * Layer: tools, a part of the checker (fsck.h).  Calls the core's internals
 * (tw_int.h: block buffers, checksums), the user-space environment and the
 * C library.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

#include <stdarg.h>

/* ---- reporting ---- */

bool fsck_problem(struct fsck_ctx *c, bool safe, const char *fmt, ...)
{
	bool fix = false;
	va_list ap;

	c->found++;
	if (c->o->mode == FSCK_MODE_YES)
		fix = true;
	else if (c->o->mode == FSCK_MODE_PREEN)
		fix = safe && !c->preen_stop;
	if (c->o->mode == FSCK_MODE_PREEN && !safe)
		c->preen_stop = true;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fprintf(c->out, fix ? ": fixed\n" : ": not fixed\n");
	if (fix)
		c->fixed++;
	else
		c->left++;
	return fix;
}

/* A problem fsck finds but does not know how to repair. */
void fsck_unfixable(struct fsck_ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->found++;
	c->left++;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fprintf(c->out, ": cannot fix\n");
}

void fsck_note(struct fsck_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->o->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
}

/* ---- claimed blocks ---- */

bool fsck_claimed(struct fsck_ctx *c, u64 blk)
{
	return c->claimed[blk >> 3] & (1u << (blk & 7));
}

void fsck_claim(struct fsck_ctx *c, u64 blk)
{
	c->claimed[blk >> 3] |= (u8)(1u << (blk & 7));
}

void fsck_unclaim(struct fsck_ctx *c, u64 blk)
{
	c->claimed[blk >> 3] &= (u8) ~(1u << (blk & 7));
}

/*
 * A pointer is usable if it is in the data area and not owned yet; then it
 * is claimed.  Returns 1 if usable, 0 if not and it is to be cleared, -1 if
 * not but it stays (no repair).  Clearing loses data: not for -p.
 */
int fsck_take(struct fsck_ctx *c, u64 ino, u64 blk, const char *what)
{
	if (blk < c->fs->data_start || blk >= c->nblocks)
		return fsck_problem(
			       c, false,
			       "inode %llu: %s block %llu out of range; clear",
			       (unsigned long long)ino, what,
			       (unsigned long long)blk) ?
			       0 :
			       -1;
	if (fsck_claimed(c, blk))
		return fsck_problem(
			       c, false,
			       "inode %llu: %s block %llu claimed twice; clear",
			       (unsigned long long)ino, what,
			       (unsigned long long)blk) ?
			       0 :
			       -1;
	fsck_claim(c, blk);
	return 1;
}

/* Read a block with the header of @magic: 1 ok, 0 bad, <0 I/O error. */
int fsck_hdr_block(struct fsck_ctx *c, u64 blk, u32 magic, u64 owner,
		   struct tw_buf **b)
{
	struct tw_blk_hdr *h;
	int err;

	err = tw_buf_read(c->dev, blk, b);
	if (err)
		return err;
	h = tw_bdata(*b);
	if (TW_GET32(h, h_magic) == magic && TW_GET64(h, h_blkno) == blk &&
	    TW_GET64(h, h_owner) == owner &&
	    TW_GET32(h, h_crc) == tw_block_csum(c->fs->csum_seed, h))
		return 1;
	return 0;
}

void fsck_reseal(struct fsck_ctx *c, struct tw_buf *b)
{
	struct tw_blk_hdr *h = tw_bdata(b);

	TW_SET32(h, h_crc, tw_block_csum(c->fs->csum_seed, h));
	tw_buf_set_verified(b);
	tw_buf_mark_dirty(b);
	c->dirty = true;
}

void fsck_inode_write(struct fsck_ctx *c, struct tw_buf *b, struct tw_inode *di,
		      u64 ino)
{
	TW_SET32(di, i_crc, tw_inode_csum(c->fs->csum_seed, (u32)ino, di));
	tw_buf_mark_dirty(b);
	c->dirty = true;
}

void fsck_clear_inode(struct fsck_ctx *c, struct tw_buf *b, struct tw_inode *di,
		      u64 ino)
{
	u32 gen = TW_GET32(di, i_generation);

	memset(di, 0, sizeof(*di));
	TW_SET32(di, i_generation, gen);
	fsck_inode_write(c, b, di, ino);
}
