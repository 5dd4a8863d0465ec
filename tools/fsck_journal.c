// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_journal.c - the checker's look at the journal: whether its
 * superblock is damaged and a reset (before the core can mount), and, once
 * the core has replayed it, stale descriptors that claim a transaction
 * beyond the next one.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls fsck_util.c
 * (fsck.h), the core's internals (tw_int.h: journal layout, block buffers,
 * checksums) and the user-space environment.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

/* ---- the journal superblock, before the core can mount ---- */

static struct tw_super *raw_super(struct fsck_ctx *c, struct tw_buf **b)
{
	if (tw_buf_read(c->dev, TW_SB_BLOCK, b))
		return NULL;
	return tw_bdata(*b);
}

bool fsck_journal_damaged(struct fsck_ctx *c)
{
	struct tw_super *sb;
	struct tw_buf *b, *jb;
	struct tw_journal_super *js;
	bool bad = true;
	u64 blk;
	u32 seed, start;

	sb = raw_super(c, &b);
	if (!sb)
		return false;
	blk = TW_GET64(sb, s_journal_start);
	seed = TW_GET32(sb, s_csum_seed);
	start = 0;
	if (!tw_buf_read(c->dev, blk, &jb)) {
		js = tw_bdata(jb);
		start = TW_GET32(js, js_start);
		bad = TW_GET32(js, js_hdr.h_magic) != TW_JSB_MAGIC ||
		      TW_GET64(js, js_hdr.h_blkno) != blk ||
		      TW_GET32(js, js_hdr.h_crc) != tw_block_csum(seed, js) ||
		      start < 1 || start >= TW_GET32(sb, s_journal_blocks);
		tw_buf_release(jb);
	}
	tw_buf_release(b);
	return bad;
}

int fsck_journal_reset(struct fsck_ctx *c)
{
	struct tw_super *sb;
	struct tw_buf *b, *jb;
	u64 blk;
	int err;

	sb = raw_super(c, &b);
	if (!sb)
		return -EIO;
	blk = TW_GET64(sb, s_journal_start);
	err = tw_buf_get(c->dev, blk, &jb);
	if (!err) {
		struct tw_journal_super *js = tw_bdata(jb);

		memset(js, 0, TW_BLOCK_SIZE);
		TW_SET64(js, js_seq, 1);
		TW_SET32(js, js_start, 1);
		tw_block_seal(TW_GET32(sb, s_csum_seed), js, TW_JSB_MAGIC, blk,
			      0, 0);
		tw_buf_mark_dirty(jb);
		tw_buf_release(jb);
		/* old transactions in the body no longer match seq 1's
		 * position and checksums only by a 2^-32 chance: wipe the
		 * first block of the body to be sure */
		err = tw_buf_get(c->dev, blk + 1, &jb);
		if (!err) {
			memset(tw_bdata(jb), 0, TW_BLOCK_SIZE);
			tw_buf_mark_dirty(jb);
			tw_buf_release(jb);
		}
	}
	tw_buf_release(b);
	if (!err)
		err = tw_dev_writeback(c->dev);
	if (!err)
		err = tw_dev_flush(c->dev);
	return err;
}

/*
 * Replay stops at the first block that is not the next transaction in
 * sequence, so stale transactions in the log are harmless while their
 * sequence numbers are not newer than the next one (a torn transaction
 * carrying the next number is normal after a crash: the next commit
 * overwrites it).  A descriptor that claims a later number would be
 * replayed once the head of the log reached it, after enough commits and
 * a crash, or at a mount if a commit ended just before it; no commit ever
 * writes one.  Wipe such blocks.
 */
int fsck_journal_future(struct fsck_ctx *c)
{
	struct tw_journal *j = &c->fs->j;
	u32 body = j->len - 1, p;

	for (p = 0; p < body; p++) {
		u64 blk = j->start + 1 + p;
		struct tw_journal_desc *d;
		struct tw_buf *b;
		int err;

		err = tw_buf_read(c->dev, blk, &b);
		if (err)
			return err;
		d = tw_bdata(b);
		if (TW_GET32(d, jd_hdr.h_magic) == TW_JDESC_MAGIC &&
		    TW_GET64(d, jd_hdr.h_blkno) == blk &&
		    TW_GET32(d, jd_hdr.h_crc) ==
			    tw_block_csum(c->fs->csum_seed, d) &&
		    TW_GET64(d, jd_seq) > j->seq &&
		    fsck_problem(
			    c, true,
			    "journal: stale descriptor at log position %u claims transaction %llu (next is %llu); wipe it",
			    p, (unsigned long long)TW_GET64(d, jd_seq),
			    (unsigned long long)j->seq)) {
			memset(d, 0, TW_BLOCK_SIZE);
			tw_buf_mark_dirty(b);
			c->dirty = true;
		}
		tw_buf_release(b);
	}
	return 0;
}
