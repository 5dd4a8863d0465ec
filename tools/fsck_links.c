// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_links.c - passes 3 and 4 of the checker: every directory reachable
 * from the root with the right "..", clearing directories whose header
 * pass 2 found damaged; every inode's link count against the entries
 * counted, inodes on the orphan table that may not be there, unreferenced
 * inodes freed or marked for reconnection; and that reconnection to
 * /lost+found, through the core's transactions.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls
 * fsck_util.c (fsck.h), the core's API and internals (tw_lookup, tw_mkdir,
 * tw_txn_begin, tw_dir_add, ...), the user-space environment and the C
 * library.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

static int dir_parent_field(struct fsck_ctx *c, u64 ino, u64 *parent,
			    struct tw_buf **hbp)
{
	struct tw_ictx dir;
	int err;

	err = tw_iget(c->fs, ino, &dir);
	if (err)
		return err;
	err = tw_file_meta_read(c->fs, &dir, 0, TW_DIRH_MAGIC, hbp);
	tw_iput(&dir);
	if (err)
		return err;
	*parent = TW_GET32((struct tw_dir_header *)tw_bdata(*hbp), dh_parent);
	return 0;
}

static bool reaches_root(struct fsck_ctx *c, u64 ino)
{
	u32 steps;

	for (steps = 0; steps <= c->ninodes; steps++) {
		if (ino == TW_ROOT_INO)
			return true;
		if (!c->ii[ino].dparent)
			return false;
		ino = c->ii[ino].dparent;
	}
	return false; /* a loop */
}

int fsck_pass_links(struct fsck_ctx *c)
{
	u64 ino;
	int err;

	fsck_note(c, "Pass 3: connectivity\n");
	c->ii[TW_ROOT_INO].dparent = TW_ROOT_INO;
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		struct fsck_iinfo *ii = &c->ii[ino];
		struct tw_buf *hb;
		u64 parent;

		if (ii->state == FSCK_I_BAD && ii->isdir &&
		    ino != TW_ROOT_INO) {
			/* a directory whose header is gone: clear it */
			if (c->o->mode == FSCK_MODE_YES) {
				struct tw_buf *b;
				struct tw_inode *di;

				err = tw_buf_read(
					c->dev,
					c->fs->itable_start +
						ino / TW_INODES_PER_BLOCK,
					&b);
				if (err)
					return err;
				di = (struct tw_inode *)tw_bdata(b) +
				     ino % TW_INODES_PER_BLOCK;
				fsck_clear_inode(c, b, di, ino);
				tw_buf_release(b);
			}
			continue;
		}
		if (ii->state != FSCK_I_OK || !ii->isdir)
			continue;
		if (ii->dparent && !reaches_root(c, ino)) {
			fsck_unfixable(
				c,
				"directory %llu: in a loop of directories not reachable from the root",
				(unsigned long long)ino);
			continue;
		}
		if (!ii->dparent)
			continue; /* unattached: pass 4 */
		err = dir_parent_field(c, ino, &parent, &hb);
		if (err)
			return err;
		if (parent != ii->dparent &&
		    fsck_problem(c, true,
				 "directory %llu: '..' is %llu, should be %u",
				 (unsigned long long)ino,
				 (unsigned long long)parent, ii->dparent)) {
			TW_SET32((struct tw_dir_header *)tw_bdata(hb),
				 dh_parent, ii->dparent);
			fsck_reseal(c, hb);
		}
		tw_buf_release(hb);
	}

	fsck_note(c, "Pass 4: reference counts\n");
	for (ino = TW_ROOT_INO + 1; ino < c->ninodes; ino++) {
		struct fsck_iinfo *ii = &c->ii[ino];
		struct tw_inode *di;
		struct tw_buf *b;
		u32 nlink, want, oslot;
		bool refd;

		if (ii->state != FSCK_I_OK)
			continue;
		err = tw_buf_read(
			c->dev, c->fs->itable_start + ino / TW_INODES_PER_BLOCK,
			&b);
		if (err)
			return err;
		di = (struct tw_inode *)tw_bdata(b) + ino % TW_INODES_PER_BLOCK;
		nlink = TW_GET32(di, i_nlink);
		refd = ii->isdir ? ii->dparent != 0 : ii->links != 0;
		want = ii->isdir ? 2 + ii->subdirs : ii->links;
		oslot = TW_GET32(di, i_orphan_slot);
		/*
		 * Only regular files are truncated through the orphan table;
		 * anything else is there only unlinked (and a directory only
		 * empty, as rmdir leaves it).  Orphan recovery refuses the
		 * rest: it would free a non-empty directory and orphan its
		 * children, or truncate a linked one's index away (it lies
		 * past i_size).  An unattached inode is about to be linked.
		 */
		if (oslot && !TW_S_ISREG(TW_GET16(di, i_mode)) &&
		    (refd || nlink || (ii->isdir && ii->entries)) &&
		    fsck_problem(
			    c, false,
			    "inode %llu: %s on the orphan table; take it off",
			    (unsigned long long)ino,
			    !ii->isdir	  ? "a linked special file or symlink" :
			    refd || nlink ? "a linked directory" :
					    "a directory with entries")) {
			TW_SET32(di, i_orphan_slot, 0);
			fsck_inode_write(c, b, di, ino);
			oslot = 0;
		}
		if (!refd) {
			if (!nlink && oslot) {
				/* open when the fs went down: mount frees it */
			} else if (!nlink && !(ii->isdir && ii->entries)) {
				if (fsck_problem(
					    c, true,
					    "inode %llu: no links and not an orphan; free it",
					    (unsigned long long)ino)) {
					fsck_clear_inode(c, b, di, ino);
					ii->state = FSCK_I_FREE;
				}
			} else {
				ii->unattached = 1;
				fsck_problem(
					c, false,
					"inode %llu: unattached (nlink %u); reconnect to /lost+found",
					(unsigned long long)ino, nlink);
			}
		} else if (nlink != want &&
			   fsck_problem(c, true,
					"inode %llu: nlink %u, counted %u",
					(unsigned long long)ino, nlink, want)) {
			TW_SET32(di, i_nlink, want);
			fsck_inode_write(c, b, di, ino);
		}
		tw_buf_release(b);
	}
	/* the root's own count */
	{
		struct tw_inode *di;
		struct tw_buf *b;
		u32 want = 2 + c->ii[TW_ROOT_INO].subdirs;

		err = tw_buf_read(c->dev, c->fs->itable_start, &b);
		if (err)
			return err;
		di = (struct tw_inode *)tw_bdata(b) + TW_ROOT_INO;
		/* never an orphan: recovery would truncate its index away */
		if (TW_GET32(di, i_orphan_slot) &&
		    fsck_problem(c, false,
				 "root: on the orphan table; take it off")) {
			TW_SET32(di, i_orphan_slot, 0);
			fsck_inode_write(c, b, di, TW_ROOT_INO);
		}
		if (TW_GET32(di, i_nlink) != want &&
		    fsck_problem(c, true, "root: nlink %u, counted %u",
				 TW_GET32(di, i_nlink), want)) {
			TW_SET32(di, i_nlink, want);
			fsck_inode_write(c, b, di, TW_ROOT_INO);
		}
		tw_buf_release(b);
	}
	return 0;
}

/* ---- reconnection, through the core's transactions ---- */

int fsck_reconnect(struct fsck_ctx *c)
{
	struct tw_fs *fs = c->fs;
	struct tw_cred root = { 0, 0 };
	struct tw_attr lf;
	u64 ino;
	int err;

	err = tw_lookup(fs, TW_ROOT_INO, "lost+found", 10, &lf);
	if (err == -ENOENT)
		err = tw_mkdir(fs, &root, TW_ROOT_INO, "lost+found", 10, 0700,
			       &lf);
	if (err)
		return err;
	for (ino = TW_ROOT_INO + 1; ino < c->ninodes; ino++) {
		struct tw_ictx d, ic;
		char name[24];
		int len;

		if (!c->ii[ino].unattached || ino == lf.ino)
			continue;
		len = snprintf(name, sizeof(name), "#%llu",
			       (unsigned long long)ino);
		err = tw_txn_begin(fs, TW_CR_DIRADD + 3 * TW_CR_INODE);
		if (err)
			return err;
		err = tw_iget(fs, lf.ino, &d);
		if (!err) {
			err = tw_iget(fs, ino, &ic);
			if (!err) {
				err = tw_dir_add(fs, &d, name, (u32)len, ino,
						 c->ii[ino].dtype);
				if (!err && c->ii[ino].isdir) {
					err = tw_dir_set_parent(fs, &ic,
								lf.ino);
					TW_SET32(ic.di, i_nlink,
						 2 + c->ii[ino].subdirs);
					TW_SET32(d.di, i_nlink,
						 TW_GET32(d.di, i_nlink) + 1);
				} else if (!err) {
					TW_SET32(ic.di, i_nlink, 1);
				}
				if (!err)
					err = tw_idirty(fs, &ic);
				if (!err)
					err = tw_idirty(fs, &d);
				tw_iput(&ic);
			}
			tw_iput(&d);
		}
		tw_txn_end(fs, TW_CR_DIRADD + 3 * TW_CR_INODE, err);
		if (err)
			return err;
		fprintf(c->out, "inode %llu: reconnected as /lost+found/%s\n",
			(unsigned long long)ino, name);
	}
	return 0;
}
