// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_orphan.c - pass 5 of the checker: the orphan table's blocks, each
 * slot naming a live inode that names the slot back, and inodes that claim
 * a slot they do not have.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls
 * fsck_util.c (fsck.h), the core's internals (tw_int.h: orphan table
 * format, tw_iget), the user-space environment.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

int fsck_pass_orphans(struct fsck_ctx *c)
{
	struct tw_fs *fs = c->fs;
	u32 bi, i;
	int err, r;

	fsck_note(c, "Pass 5: orphan table\n");
	for (bi = 0; bi < fs->orphan_blocks; bi++) {
		struct tw_orphan_block *ob;
		struct tw_buf *b;
		bool changed = false;

		r = fsck_hdr_block(c, fs->orphan_start + bi, TW_ORPHAN_MAGIC, 0,
				   &b);
		if (r < 0)
			return r;
		ob = tw_bdata(b);
		if (!r) {
			if (fsck_problem(c, true,
					 "orphan table block %u damaged; clear",
					 bi)) {
				memset(ob, 0, TW_BLOCK_SIZE);
				TW_SET32(ob, ob_hdr.h_magic, TW_ORPHAN_MAGIC);
				TW_SET64(ob, ob_hdr.h_blkno,
					 fs->orphan_start + bi);
				fsck_reseal(c, b);
			}
			tw_buf_release(b);
			continue;
		}
		for (i = 0; i < TW_ORPHAN_SLOTS; i++) {
			u64 ino = TW_GET32(ob, ob_ino[i]);
			u32 slot = bi * TW_ORPHAN_SLOTS + i + 1;
			struct tw_ictx ic;
			bool good = false;

			if (!ino)
				continue;
			if (ino < c->ninodes && c->ii[ino].state == FSCK_I_OK &&
			    !tw_iget(fs, ino, &ic)) {
				good = TW_GET32(ic.di, i_orphan_slot) == slot;
				tw_iput(&ic);
			}
			if (!good &&
			    fsck_problem(
				    c, true,
				    "orphan slot %u names inode %llu wrongly; clear",
				    slot - 1, (unsigned long long)ino)) {
				ob->ob_ino[i] = 0;
				changed = true;
			}
		}
		if (changed)
			fsck_reseal(c, b);
		tw_buf_release(b);
	}
	/* inodes that claim a slot they do not have */
	for (i = TW_ROOT_INO; i < c->ninodes; i++) {
		struct tw_inode *di;
		struct tw_buf *b;
		u32 slot;

		if (c->ii[i].state != FSCK_I_OK)
			continue;
		err = tw_buf_read(
			c->dev, fs->itable_start + i / TW_INODES_PER_BLOCK, &b);
		if (err)
			return err;
		di = (struct tw_inode *)tw_bdata(b) + i % TW_INODES_PER_BLOCK;
		slot = TW_GET32(di, i_orphan_slot);
		if (slot) {
			struct tw_buf *ob;
			u32 s = slot - 1;
			bool good = false;

			r = fsck_hdr_block(
				c, fs->orphan_start + s / TW_ORPHAN_SLOTS,
				TW_ORPHAN_MAGIC, 0, &ob);
			if (r < 0) {
				tw_buf_release(b);
				return r;
			}
			good = r &&
			       TW_GET32((struct tw_orphan_block *)tw_bdata(ob),
					ob_ino[s % TW_ORPHAN_SLOTS]) == i;
			tw_buf_release(ob);
			if (!good &&
			    fsck_problem(c, true,
					 "inode %u: stale orphan slot; clear",
					 i)) {
				di->i_orphan_slot = 0;
				fsck_inode_write(c, b, di, i);
			}
		}
		tw_buf_release(b);
	}
	return 0;
}
