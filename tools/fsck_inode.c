// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_inode.c - pass 1 of the checker: every inode's checksum and fields;
 * every block pointer, walked through the indirect blocks, in the data
 * area and owned by exactly one inode (the claimed-block map); a
 * directory's blocks within its structure; a long symlink's target blocks;
 * the xattr blocks (all of them, and the POSIX ACLs among the entries, by
 * fsck_xattr.c); i_blocks against the blocks counted.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls
 * fsck_util.c (fsck.h), fsck_xattr.c, the core's internals (tw_int.h:
 * inode and block formats, the xattr entry validator), the user-space
 * environment and the C library.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"
#include "fsck_xattr.h"

/* The logical blocks a directory may map, from its header (dir.c). */
struct dirmap {
	u32 nblocks; /* entry blocks 1..nblocks */
	u32 fsm; /* free-space map blocks */
	u32 buckets; /* hash buckets */
};

struct walk {
	struct fsck_ctx *c;
	u64 ino;
	u64 count; /* blocks owned */
	int err;
	const struct dirmap *dir; /* a directory with a sound header */
};

static bool dir_lblk_ok(const struct dirmap *m, u64 l)
{
	return l < TW_DIR_DATA_BASE + m->nblocks ||
	       (l >= TW_DIR_FSM_BASE && l < TW_DIR_FSM_BASE + m->fsm) ||
	       (l >= TW_DIR_IDX_BASE && l < (u64)TW_DIR_IDX_BASE + m->buckets);
}

/* Logical blocks under one pointer at @level (508^level). */
static u64 lspan(int level)
{
	u64 s = 1;

	while (level-- > 0)
		s *= TW_IND_PTRS;
	return s;
}

/* Check the subtree under *slot, which maps logical blocks from @base;
 * returns true if the slot was changed. */
static bool walk_ptr(struct walk *w, tw_le64 *slot, int level, u64 base)
{
	struct fsck_ctx *c = w->c;
	u64 blk = tw_le64_to_cpu(*slot);
	struct tw_ind_block *ib;
	struct tw_buf *b;
	bool changed = false;
	int r, i;

	if (!blk)
		return false;
	/* a directory block outside its structure: the core would find it
	 * in the way when the directory grows ("already mapped") */
	if (!level && w->dir && !dir_lblk_ok(w->dir, base) &&
	    fsck_problem(
		    c, false,
		    "directory %llu: block %llu mapped at logical block %llu, outside the directory; unmap",
		    (unsigned long long)w->ino, (unsigned long long)blk,
		    (unsigned long long)base)) {
		*slot = 0;
		return true;
	}
	r = fsck_take(c, w->ino, blk, level ? "indirect" : "data");
	if (r <= 0) {
		if (r == 0)
			*slot = 0;
		return r == 0;
	}
	w->count++;
	if (!level)
		return false;
	r = fsck_hdr_block(c, blk, TW_IND_MAGIC, w->ino, &b);
	if (r < 0) {
		w->err = r;
		return false;
	}
	ib = tw_bdata(b);
	if (!r || TW_GET32(ib, ib_hdr.h_aux) != (u32)level) {
		tw_buf_release(b);
		if (fsck_problem(
			    c, false,
			    "inode %llu: indirect block %llu damaged; clear",
			    (unsigned long long)w->ino,
			    (unsigned long long)blk)) {
			*slot = 0;
			w->count--;
			return true;
		}
		return false;
	}
	for (i = 0; i < (int)TW_IND_PTRS; i++)
		changed |= walk_ptr(w, &ib->ib_ptr[i], level - 1,
				    base + (u64)i * lspan(level - 1));
	if (changed)
		fsck_reseal(c, b);
	tw_buf_release(b);
	return false;
}

/*
 * A long symlink's target blocks (logical 0, and 1 past TW_SYML_PER_BLOCK
 * bytes), as readlink reads them: 1 if they are right, 0 if not, or a
 * negative errno.
 */
static int symlink_ok(struct fsck_ctx *c, const struct tw_inode *di, u64 ino)
{
	u64 size = TW_GET64(di, i_size), done = 0;
	u32 k;

	for (k = 0; done < size; k++) {
		u64 blk = TW_GET64(di, i_block[k]);
		u64 n = size - done;
		struct tw_buf *b;
		int r;

		if (n > TW_SYML_PER_BLOCK)
			n = TW_SYML_PER_BLOCK;
		if (k >= TW_NDIRECT || blk < c->fs->data_start ||
		    blk >= c->nblocks)
			return 0;
		r = fsck_hdr_block(c, blk, TW_SYML_MAGIC, ino, &b);
		if (r < 0)
			return r;
		if (r && TW_GET32((struct tw_blk_hdr *)tw_bdata(b), h_aux) < n)
			r = 0;
		tw_buf_release(b);
		if (!r)
			return 0;
		done += n;
	}
	return 1;
}

/*
 * What a directory may map, from its header at i_block[0]: 1 and *@m, or 0
 * if the header is unsound (pass 2 deals with that), or a negative errno.
 */
static int dir_map(struct fsck_ctx *c, const struct tw_inode *di, u64 ino,
		   struct dirmap *m)
{
	u64 blk = TW_GET64(di, i_block[0]);
	const struct tw_dir_header *h;
	struct tw_buf *b;
	u32 level, flags;
	int r;

	if (blk < c->fs->data_start || blk >= c->nblocks)
		return 0;
	r = fsck_hdr_block(c, blk, TW_DIRH_MAGIC, ino, &b);
	if (r < 0)
		return r;
	if (!r) {
		tw_buf_release(b);
		return 0;
	}
	h = tw_bdata(b);
	m->nblocks = TW_GET32(h, dh_data_blocks);
	level = TW_GET32(h, dh_level);
	flags = TW_GET32(h, dh_flags);
	if (m->nblocks >= TW_DIR_DATA_END || level > 22 ||
	    TW_GET32(h, dh_split) >= (1u << level) ||
	    (flags & ~TW_DIRH_INDEXED) ||
	    (!(flags & TW_DIRH_INDEXED) && m->nblocks > 1)) {
		r = 0;
	} else if (flags & TW_DIRH_INDEXED) {
		m->fsm = (m->nblocks + (u32)TW_DIRF_BYTES - 1) /
			 (u32)TW_DIRF_BYTES;
		m->buckets = (1u << level) + TW_GET32(h, dh_split);
	} else {
		m->fsm = 0;
		m->buckets = 0;
	}
	tw_buf_release(b);
	return r;
}

int fsck_pass_inodes(struct fsck_ctx *c)
{
	u64 ino;
	int err;

	fsck_note(c, "Pass 1: inodes, blocks and sizes\n");
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		struct fsck_iinfo *ii = &c->ii[ino];
		struct tw_inode *di;
		struct tw_buf *b;
		struct walk w = { .c = c, .ino = ino };
		struct dirmap dmap;
		bool changed = false;
		u32 mode;
		int r;

		err = tw_buf_read(
			c->dev, c->fs->itable_start + ino / TW_INODES_PER_BLOCK,
			&b);
		if (err)
			return err;
		di = (struct tw_inode *)tw_bdata(b) + ino % TW_INODES_PER_BLOCK;
		mode = TW_GET16(di, i_mode);
		if (!mode) {
			tw_buf_release(b);
			if (ino == TW_ROOT_INO) {
				fprintf(c->out, "root inode is free\n");
				return -EUCLEAN;
			}
			continue;
		}
		if (TW_GET32(di, i_crc) !=
			    tw_inode_csum(c->fs->csum_seed, (u32)ino, di) ||
		    !tw_inode_fields_ok(c->fs, di)) {
			ii->state = FSCK_I_BAD;
			if (ino == TW_ROOT_INO) {
				tw_buf_release(b);
				fprintf(c->out, "root inode is damaged\n");
				return -EUCLEAN;
			}
			if (fsck_problem(
				    c, false,
				    "inode %llu: bad checksum or fields; clear",
				    (unsigned long long)ino))
				fsck_clear_inode(c, b, di, ino);
			tw_buf_release(b);
			continue;
		}
		if (ino == TW_ROOT_INO && !TW_S_ISDIR(mode)) {
			tw_buf_release(b);
			fprintf(c->out, "root inode is not a directory\n");
			return -EUCLEAN;
		}
		if (TW_S_ISLNK(mode) &&
		    !(TW_GET16(di, i_flags) & TW_IFL_INLINE)) {
			r = symlink_ok(c, di, ino);
			if (r < 0) {
				tw_buf_release(b);
				return r;
			}
			if (!r) {
				if (fsck_problem(
					    c, false,
					    "inode %llu: symlink target block damaged; clear",
					    (unsigned long long)ino)) {
					ii->state = FSCK_I_BAD;
					fsck_clear_inode(c, b, di, ino);
					tw_buf_release(b);
					continue;
				}
			}
		}
		ii->state = FSCK_I_OK;
		ii->isdir = TW_S_ISDIR(mode);
		ii->dtype = (u8)tw_mode_dtype(mode);
		if (ii->isdir) {
			r = dir_map(c, di, ino, &dmap);
			if (r < 0) {
				tw_buf_release(b);
				return r;
			}
			if (r)
				w.dir = &dmap;
		}
		if (!(TW_GET16(di, i_flags) & TW_IFL_INLINE)) {
			u64 base = TW_NDIRECT;
			int i;

			for (i = 0; i < TW_NBLOCKPTR; i++) {
				int level =
					i < TW_NDIRECT ? 0 : i - TW_NDIRECT + 1;

				changed |= walk_ptr(&w, &di->i_block[i], level,
						    level ? base : (u64)i);
				if (level)
					base += lspan(level);
			}
			if (w.err) {
				tw_buf_release(b);
				return w.err;
			}
		}
		r = fsck_xattr_inode(c, ino, di, &w.count, &changed);
		if (r < 0) {
			tw_buf_release(b);
			return r;
		}
		if (TW_GET64(di, i_blocks) != w.count &&
		    fsck_problem(c, true,
				 "inode %llu: i_blocks is %llu, counted %llu",
				 (unsigned long long)ino,
				 (unsigned long long)TW_GET64(di, i_blocks),
				 (unsigned long long)w.count)) {
			TW_SET64(di, i_blocks, w.count);
			changed = true;
		}
		if (changed)
			fsck_inode_write(c, b, di, ino);
		tw_buf_release(b);
		if (ii->isdir)
			c->res->dirs++;
		else
			c->res->files++;
	}
	return 0;
}
