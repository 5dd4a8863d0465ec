// SPDX-License-Identifier: GPL-2.0
/*
 * inode.c - inodes, the block map, truncation and the orphan table.
 *
 * Layer: core (common/).  Calls meta.c, journal.c, alloc.c, xattr.c and the
 * environment.
 *
 * The block map is the classic one of ext2 and the Unix FFS, which students
 * meet in every textbook: 12 direct pointers, then single, double, triple
 * and quadruple indirect blocks of 508 pointers each.  A zero pointer is a
 * hole.  Indirect blocks carry a header (owner inode, level) and a crc32c.
 */
#include "tw_int.h"

/* ---- inodes ---- */

static bool valid_type(u32 mode)
{
	switch (mode & TW_S_IFMT) {
	case TW_S_IFREG:
	case TW_S_IFDIR:
	case TW_S_IFLNK:
	case TW_S_IFCHR:
	case TW_S_IFBLK:
	case TW_S_IFIFO:
	case TW_S_IFSOCK:
		return true;
	}
	return false;
}

bool tw_inode_fields_ok(const struct tw_fs *fs, const struct tw_inode *di)
{
	u32 mode = TW_GET16(di, i_mode), flags = TW_GET16(di, i_flags);
	u64 size = TW_GET64(di, i_size);

	if (!valid_type(mode) || (flags & ~TW_IFL_KNOWN) ||
	    size > TW_MAX_FILE_SIZE)
		return false;
	if ((flags & TW_IFL_INLINE) &&
	    (!TW_S_ISLNK(mode) || size > TW_INLINE_MAX))
		return false;
	if (TW_S_ISLNK(mode) && (size == 0 || size > TW_SYML_MAX))
		return false;
	return TW_GET32(di, i_orphan_slot) <=
	       fs->orphan_blocks * (u32)TW_ORPHAN_SLOTS;
}

int tw_iget(struct tw_fs *fs, u64 ino, struct tw_ictx *ic)
{
	struct tw_inode *di;
	u32 mode;
	int err;

	ic->buf = NULL;
	ic->di = NULL;
	if (ino < TW_ROOT_INO || ino >= fs->ninodes)
		return -ESTALE;
	err = tw_buf_read(fs->dev, fs->itable_start + ino / TW_INODES_PER_BLOCK,
			  &ic->buf);
	if (err)
		return err;
	di = (struct tw_inode *)tw_bdata(ic->buf) + ino % TW_INODES_PER_BLOCK;
	mode = TW_GET16(di, i_mode);
	/* on failure ic->buf is NULL: callers' cleanup may tw_iput() it */
	if (!mode) {
		tw_iput(ic);
		return -ESTALE;
	}
	if (TW_GET32(di, i_crc) != tw_inode_csum(fs->csum_seed, (u32)ino, di)) {
		tw_iput(ic);
		tw_corrupt(fs, "bad inode checksum", ino);
		return -EBADMSG;
	}
	if (!tw_inode_fields_ok(fs, di)) {
		tw_iput(ic);
		return tw_corrupt(fs, "invalid inode fields", ino);
	}
	ic->ino = ino;
	ic->di = di;
	return 0;
}

int tw_iget_free(struct tw_fs *fs, u64 ino, struct tw_ictx *ic)
{
	int err;

	err = tw_buf_read(fs->dev, fs->itable_start + ino / TW_INODES_PER_BLOCK,
			  &ic->buf);
	if (err)
		return err;
	ic->ino = ino;
	ic->di = (struct tw_inode *)tw_bdata(ic->buf) +
		 ino % TW_INODES_PER_BLOCK;
	if (TW_GET16(ic->di, i_mode)) {
		tw_iput(ic);
		return tw_corrupt(fs, "inode free in the bitmap is in use",
				  ino);
	}
	return 0;
}

void tw_iput(struct tw_ictx *ic)
{
	if (ic->buf)
		tw_buf_release(ic->buf);
	ic->buf = NULL;
	ic->di = NULL;
}

int tw_idirty(struct tw_fs *fs, struct tw_ictx *ic)
{
	TW_SET32(ic->di, i_crc,
		 tw_inode_csum(fs->csum_seed, (u32)ic->ino, ic->di));
	return tw_txn_dirty(fs, ic->buf);
}

u32 tw_mode_dtype(u32 mode)
{
	return (mode & TW_S_IFMT) >> 12;
}

void tw_fill_attr(const struct tw_ictx *ic, struct tw_attr *a)
{
	const struct tw_inode *di = ic->di;

	a->ino = ic->ino;
	a->mode = TW_GET16(di, i_mode);
	a->nlink = TW_GET32(di, i_nlink);
	a->uid = TW_GET32(di, i_uid);
	a->gid = TW_GET32(di, i_gid);
	a->rdev = TW_GET32(di, i_rdev);
	a->generation = TW_GET32(di, i_generation);
	a->size = TW_GET64(di, i_size);
	a->blocks = TW_GET64(di, i_blocks) * (TW_BLOCK_SIZE / 512);
	a->atime = (s64)TW_GET64(di, i_atime);
	a->mtime = (s64)TW_GET64(di, i_mtime);
	a->ctime = (s64)TW_GET64(di, i_ctime);
	a->btime = (s64)TW_GET64(di, i_btime);
}

/* ---- the block map ---- */

#define P TW_IND_PTRS

/* Pointers covered by one pointer at @level (0: a data block). */
static inline u64 span(int level)
{
	u64 s = 1;

	while (level-- > 0)
		s *= P;
	return s;
}

/*
 * Where logical block @lblk lives: the root slot in i_block, the depth of
 * the tree under it (0 for a direct pointer) and the index at each level,
 * top first.
 */
static int map_path(u32 lblk, int *root, u32 idx[TW_NINDIRECT])
{
	u64 l = lblk;
	int level, d;

	if (l < TW_NDIRECT) {
		*root = (int)l;
		return 0;
	}
	l -= TW_NDIRECT;
	for (level = 1; level <= TW_NINDIRECT; level++) {
		u64 cap = span(level);

		if (l < cap) {
			*root = TW_NDIRECT + level - 1;
			for (d = 0; d < level; d++) {
				u64 s = span(level - 1 - d);

				idx[d] = (u32)(l / s);
				l %= s;
			}
			return level;
		}
		l -= cap;
	}
	return -1;
}

static bool ptr_ok(struct tw_fs *fs, u64 blk)
{
	return blk >= fs->data_start && blk < fs->nblocks;
}

static int ind_read(struct tw_fs *fs, struct tw_ictx *ic, u64 blk, int level,
		    struct tw_buf **out)
{
	struct tw_blk_hdr *h;
	int err;

	if (!ptr_ok(fs, blk))
		return tw_corrupt(fs, "block pointer out of range", ic->ino);
	err = tw_meta_read(fs, blk, TW_IND_MAGIC, ic->ino, out);
	if (err)
		return err;
	h = tw_bdata(*out);
	if (TW_GET32(h, h_aux) != (u32)level) {
		tw_buf_release(*out);
		return tw_corrupt(fs, "indirect block at wrong level", blk);
	}
	return 0;
}

int tw_map_lookup(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u64 *pblk)
{
	u32 idx[TW_NINDIRECT];
	int root, depth, d, err;
	u64 blk;

	if (TW_GET16(ic->di, i_flags) & TW_IFL_INLINE) {
		*pblk = 0;
		return 0;
	}
	depth = map_path(lblk, &root, idx);
	if (depth < 0)
		return -EFBIG;
	blk = TW_GET64(ic->di, i_block[root]);
	for (d = 0; d < depth && blk; d++) {
		struct tw_buf *b;
		struct tw_ind_block *ib;

		err = ind_read(fs, ic, blk, depth - d, &b);
		if (err)
			return err;
		ib = tw_bdata(b);
		blk = TW_GET64(ib, ib_ptr[idx[d]]);
		tw_buf_release(b);
	}
	if (blk && !ptr_ok(fs, blk))
		return tw_corrupt(fs, "block pointer out of range", ic->ino);
	*pblk = blk;
	return 0;
}

static void add_blocks(struct tw_ictx *ic, s64 n)
{
	TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) + (u64)n);
}

int tw_map_alloc(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u64 *pblk,
		 bool *is_new)
{
	u32 idx[TW_NINDIRECT];
	int root, depth, d, err;
	struct tw_buf *parent = NULL;
	tw_le64 *slot;
	u64 blk, goal;

	*is_new = false;
	tw_assert(!(TW_GET16(ic->di, i_flags) & TW_IFL_INLINE));
	depth = map_path(lblk, &root, idx);
	if (depth < 0)
		return -EFBIG;
	slot = &ic->di->i_block[root];
	goal = root > 0 ? TW_GET64(ic->di, i_block[root - 1]) : 0;
	for (d = 0; d <= depth; d++) {
		blk = tw_le64_to_cpu(*slot);
		if (!blk) {
			/* allocate this level: an indirect block or the data */
			if (goal)
				goal++;
			err = tw_alloc_block(fs, goal, &blk);
			if (err)
				goto out;
			if (d < depth) {
				struct tw_buf *nb;

				err = tw_meta_new(fs, blk, TW_IND_MAGIC,
						  ic->ino, (u32)(depth - d),
						  &nb);
				if (!err)
					err = tw_txn_dirty(fs, nb);
				if (err) {
					tw_free_block(fs, blk);
					goto out;
				}
				tw_buf_release(nb);
			} else {
				*is_new = true;
			}
			*slot = tw_cpu_to_le64(blk);
			add_blocks(ic, 1); /* i_blocks: the inode changes too */
			err = tw_idirty(fs, ic);
			if (!err && parent)
				err = tw_txn_dirty(fs, parent);
			if (err)
				goto out;
		} else if (!ptr_ok(fs, blk)) {
			err = tw_corrupt(fs, "block pointer out of range",
					 ic->ino);
			goto out;
		}
		if (d == depth)
			break;
		if (parent)
			tw_buf_release(parent);
		parent = NULL;
		err = ind_read(fs, ic, blk, depth - d, &parent);
		if (err)
			goto out;
		{
			struct tw_ind_block *ib = tw_bdata(parent);
			u32 i = idx[d];

			slot = &ib->ib_ptr[i];
			/* goal: the neighbour's block, else right after ib */
			goal = i ? TW_GET64(ib, ib_ptr[i - 1]) : blk;
		}
	}
	*pblk = blk;
	err = 0;
out:
	if (parent)
		tw_buf_release(parent);
	return err;
}

/* ---- truncation ---- */

struct trunc {
	struct tw_ictx *ic;
	u64 from; /* first logical block to free */
	u64 to; /* first logical block past the range */
	u32 budget; /* blocks this transaction may still free */
	bool more; /* budget ran out */
	bool inode_dirty;
};

static int free_one(struct tw_fs *fs, struct trunc *t, u64 blk)
{
	int err = tw_free_block(fs, blk);

	if (err)
		return err;
	add_blocks(t->ic, -1);
	t->inode_dirty = true;
	t->budget--;
	return 0;
}

/*
 * Free the part at or past t->from of the subtree whose root pointer is
 * *@slot (in @pbuf, or in the inode when @pbuf is NULL), of @level, mapping
 * logical blocks from @base.  Depth is at most TW_NINDIRECT.
 */
static int trunc_tree(struct tw_fs *fs, struct trunc *t, struct tw_buf *pbuf,
		      tw_le64 *slot, int level, u64 base)
{
	u64 blk = tw_le64_to_cpu(*slot);
	u64 cspan;
	struct tw_buf *b;
	struct tw_ind_block *ib;
	bool empty = true;
	int i, i0, i1, err;

	if (!blk)
		return 0;
	if (!t->budget) {
		t->more = true;
		return 0;
	}
	/* wholly at or past the end of the range */
	if (base >= t->to)
		return 0;
	if (level == 0) {
		if (base < t->from)
			return 0;
		err = free_one(fs, t, blk);
		if (err)
			return err;
		*slot = 0;
		return pbuf ? tw_txn_dirty(fs, pbuf) : 0;
	}
	cspan = span(level - 1);
	/* wholly below t->from: nothing to free (and i0 would not fit) */
	if (base < t->from && (t->from - base) / cspan >= P)
		return 0;
	err = ind_read(fs, t->ic, blk, level, &b);
	if (err)
		return err;
	ib = tw_bdata(b);
	/* child i0 may straddle t->from: it is entered and freed in part */
	i0 = base >= t->from ? 0 : (int)((t->from - base) / cspan);
	/* and child i1 may straddle t->to (base < t->to, checked above) */
	i1 = (t->to - base - 1) / cspan >= P ?
		     (int)P - 1 :
		     (int)((t->to - base - 1) / cspan);
	for (i = i1; i >= i0 && !t->more; i--) {
		err = trunc_tree(fs, t, b, &ib->ib_ptr[i], level - 1,
				 base + (u64)i * cspan);
		if (err)
			goto out;
	}
	for (i = 0; i < (int)P && empty; i++)
		empty = !ib->ib_ptr[i];
	if (empty && !t->budget) {
		/* emptied with the last of the budget: free it next time */
		t->more = true;
	} else if (empty) {
		err = free_one(fs, t, blk);
		if (err)
			goto out;
		*slot = 0;
		if (pbuf)
			err = tw_txn_dirty(fs, pbuf);
	}
out:
	tw_buf_release(b);
	return err;
}

int tw_truncate_blocks(struct tw_fs *fs, struct tw_ictx *ic, u32 from)
{
	return tw_free_range(fs, ic, from, (u64)TW_MAX_LBLK + 1);
}

int tw_free_range(struct tw_fs *fs, struct tw_ictx *ic, u32 from, u64 to)
{
	struct trunc t = { .ic = ic, .from = from, .to = to };
	u32 budget = (fs->j.limit - 8) / 2;
	u32 credits;
	int r, err;

	if (TW_GET16(ic->di, i_flags) & TW_IFL_INLINE)
		return 0;
	if (budget > TW_TRUNC_CHUNK)
		budget = TW_TRUNC_CHUNK;
	/* no bigger a reservation than the file can need: a large one
	 * forces the running transaction to commit first (compared in
	 * u64: a corrupt i_blocks of 2^32 - 1 must not make it 0, which
	 * would loop forever without freeing anything) */
	if (TW_GET64(ic->di, i_blocks) < budget)
		budget = (u32)TW_GET64(ic->di, i_blocks) + 1;
	credits = 2 * budget + 8;
	do {
		u64 base = TW_NDIRECT;

		t.more = false;
		t.budget = budget;
		t.inode_dirty = false;
		err = tw_txn_begin(fs, credits);
		if (err)
			return err;
		tw_ilock(fs, ic->ino, true);
		/* tops of the indirect trees, the deepest (latest) first */
		for (r = TW_NINDIRECT; r >= 1 && !t.more; r--) {
			u64 b = base;
			int k;

			for (k = 1; k < r; k++)
				b += span(k);
			err = trunc_tree(fs, &t, NULL,
					 &ic->di->i_block[TW_NDIRECT + r - 1],
					 r, b);
			if (err)
				break;
		}
		for (r = TW_NDIRECT - 1; r >= 0 && !err && !t.more; r--)
			err = trunc_tree(fs, &t, NULL, &ic->di->i_block[r], 0,
					 (u64)r);
		if (t.inode_dirty) {
			int e2 = tw_idirty(fs, ic);

			if (!err)
				err = e2;
		}
		tw_iunlock(fs, ic->ino, true);
		tw_txn_end(fs, credits, err);
	} while (!err && t.more);
	return err;
}

/* ---- the mapped extents of a file (fiemap) ---- */

struct xwalk {
	struct tw_ictx *ic;
	u64 from, to; /* logical blocks [from, to) */
	struct tw_extent *ext;
	u32 max, n;
	bool full; /* ext[] is full and another extent follows */
};

static void xw_add(struct xwalk *w, u64 lblk, u64 pblk)
{
	struct tw_extent *e = w->n ? &w->ext[w->n - 1] : NULL;

	if (e && e->lblk + e->len == lblk && e->pblk + e->len == pblk) {
		e->len++;
		return;
	}
	if (w->n == w->max) {
		w->full = true;
		return;
	}
	e = &w->ext[w->n++];
	e->lblk = lblk;
	e->pblk = pblk;
	e->len = 1;
}

/* Depth is at most TW_NINDIRECT, as in trunc_tree(). */
static int xw_tree(struct tw_fs *fs, struct xwalk *w, u64 blk, int level,
		   u64 base)
{
	struct tw_ind_block *ib;
	struct tw_buf *b;
	u64 cspan;
	int i, err = 0;

	if (!blk || w->full || base >= w->to)
		return 0;
	if (!ptr_ok(fs, blk))
		return tw_corrupt(fs, "block pointer out of range", w->ic->ino);
	if (level == 0) {
		if (base >= w->from)
			xw_add(w, base, blk);
		return 0;
	}
	cspan = span(level - 1);
	if (base + cspan * P <= w->from)
		return 0;
	err = ind_read(fs, w->ic, blk, level, &b);
	if (err)
		return err;
	ib = tw_bdata(b);
	for (i = 0; i < (int)P && !err && !w->full; i++) {
		u64 cb = base + (u64)i * cspan;

		if (cb + cspan <= w->from)
			continue;
		err = xw_tree(fs, w, TW_GET64(ib, ib_ptr[i]), level - 1, cb);
	}
	tw_buf_release(b);
	return err;
}

int tw_fiemap(struct tw_fs *fs, u64 ino, u64 from, u64 to,
	      struct tw_extent *ext, u32 max, u32 *n)
{
	struct xwalk w = { .from = from, .to = to, .ext = ext, .max = max };
	struct tw_ictx ic;
	u64 base = TW_NDIRECT;
	int r, err;

	*n = 0;
	if (!max)
		return -EINVAL;
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (err)
		goto unlock;
	w.ic = &ic;
	if (TW_S_ISDIR(TW_GET16(ic.di, i_mode)))
		err = -EISDIR;
	else if (!TW_S_ISREG(TW_GET16(ic.di, i_mode)))
		err = -EINVAL;
	for (r = 0; r < TW_NDIRECT && !err && !w.full; r++)
		err = xw_tree(fs, &w, TW_GET64(ic.di, i_block[r]), 0, (u64)r);
	for (r = 1; r <= TW_NINDIRECT && !err && !w.full; r++) {
		err = xw_tree(fs, &w,
			      TW_GET64(ic.di, i_block[TW_NDIRECT + r - 1]), r,
			      base);
		base += span(r);
	}
	*n = w.n;
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, false);
	return err;
}

/* ---- the orphan table ---- */

int tw_orphan_add(struct tw_fs *fs, struct tw_ictx *ic)
{
	u32 total = fs->orphan_blocks * (u32)TW_ORPHAN_SLOTS, n, slot;
	int err = -ENOSPC;

	if (TW_GET32(ic->di, i_orphan_slot))
		return 0;
	tw_mutex_lock(fs->orphan_lock);
	slot = fs->orphan_hint % total;
	for (n = 0; n < total;) {
		u32 bi = slot / (u32)TW_ORPHAN_SLOTS, i;
		struct tw_orphan_block *ob;
		struct tw_buf *b;

		err = tw_meta_read(fs, fs->orphan_start + bi, TW_ORPHAN_MAGIC,
				   0, &b);
		if (err)
			break;
		ob = tw_bdata(b);
		for (i = slot % (u32)TW_ORPHAN_SLOTS;
		     i < TW_ORPHAN_SLOTS && n < total; i++, n++) {
			if (ob->ob_ino[i])
				continue;
			TW_SET32(ob, ob_ino[i], ic->ino);
			err = tw_txn_dirty(fs, b);
			tw_buf_release(b);
			if (err)
				goto out;
			slot = bi * (u32)TW_ORPHAN_SLOTS + i;
			fs->orphan_hint = slot + 1;
			TW_SET32(ic->di, i_orphan_slot, slot + 1);
			err = tw_idirty(fs, ic);
			goto out;
		}
		tw_buf_release(b);
		err = -ENOSPC;
		slot = ((bi + 1) % fs->orphan_blocks) * (u32)TW_ORPHAN_SLOTS;
	}
out:
	tw_mutex_unlock(fs->orphan_lock);
	if (err == -ENOSPC)
		tw_warn(fs, "orphan table full");
	return err;
}

int tw_orphan_del(struct tw_fs *fs, struct tw_ictx *ic)
{
	u32 slot = TW_GET32(ic->di, i_orphan_slot);
	struct tw_orphan_block *ob;
	struct tw_buf *b;
	u32 i;
	int err;

	if (!slot)
		return 0;
	slot--;
	tw_mutex_lock(fs->orphan_lock);
	err = tw_meta_read(fs, fs->orphan_start + slot / TW_ORPHAN_SLOTS,
			   TW_ORPHAN_MAGIC, 0, &b);
	if (err)
		goto out;
	ob = tw_bdata(b);
	i = slot % TW_ORPHAN_SLOTS;
	if (TW_GET32(ob, ob_ino[i]) == ic->ino) {
		ob->ob_ino[i] = 0;
		err = tw_txn_dirty(fs, b);
	}
	tw_buf_release(b);
	if (!err) {
		if (slot < fs->orphan_hint)
			fs->orphan_hint = slot;
		ic->di->i_orphan_slot = 0;
		err = tw_idirty(fs, ic);
	}
out:
	tw_mutex_unlock(fs->orphan_lock);
	return err;
}

int tw_inode_destroy(struct tw_fs *fs, u64 ino)
{
	struct tw_ictx ic;
	u32 gen;
	int err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	tw_iunlock(fs, ino, false);
	if (err)
		return err;
	tw_assert(TW_GET32(ic.di, i_nlink) == 0);
	err = tw_truncate_blocks(fs, &ic, 0);
	if (err)
		goto out;
	err = tw_xattr_drop(fs, &ic);
	if (err)
		goto out;
	err = tw_txn_begin(fs, TW_CR_INODE + TW_CR_ORPHAN + 2);
	if (err)
		goto out;
	tw_ilock(fs, ino, true);
	err = tw_orphan_del(fs, &ic);
	if (!err) {
		gen = TW_GET32(ic.di, i_generation);
		memset(ic.di, 0, sizeof(*ic.di));
		TW_SET32(ic.di, i_generation, gen);
		/* a free slot keeps a valid crc too, for fsck's sake */
		err = tw_idirty(fs, &ic);
	}
	if (!err)
		err = tw_free_inode(fs, ino);
	tw_iunlock(fs, ino, true);
	tw_txn_end(fs, TW_CR_INODE + TW_CR_ORPHAN + 2, err);
out:
	tw_iput(&ic);
	return err;
}

/* Finish the work of orphan @ino in @slot: free it, or end a truncate. */
static int orphan_finish(struct tw_fs *fs, u32 slot, u64 ino)
{
	struct tw_ictx ic;
	u64 size;
	int err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	tw_iunlock(fs, ino, false);
	if (err == -ESTALE)
		return tw_corrupt(fs, "orphan slot names a free inode", ino);
	if (err)
		return err;
	if (TW_GET32(ic.di, i_orphan_slot) != slot + 1) {
		tw_iput(&ic);
		return tw_corrupt(fs, "orphan slot mismatch", ino);
	}
	/*
	 * Only regular files are truncated through the table, and only rmdir
	 * puts a directory there, empty and unlinked: anything else would
	 * have its blocks past i_size freed (a directory's index lies there)
	 * or, being a non-empty directory, its children orphaned.
	 */
	if (TW_GET32(ic.di, i_nlink) && !TW_S_ISREG(TW_GET16(ic.di, i_mode))) {
		tw_iput(&ic);
		return tw_corrupt(fs, "linked non-file on the orphan table", ino);
	}
	if (TW_S_ISDIR(TW_GET16(ic.di, i_mode))) {
		bool empty = false;

		err = tw_dir_is_empty(fs, &ic, &empty);
		if (!err && !empty)
			err = tw_corrupt(fs,
					 "non-empty directory on the orphan table",
					 ino);
		if (err) {
			tw_iput(&ic);
			return err;
		}
	}
	if (TW_GET32(ic.di, i_nlink) == 0) {
		tw_iput(&ic);
		return tw_inode_destroy(fs, ino);
	}
	size = TW_GET64(ic.di, i_size);
	err = tw_truncate_blocks(
		fs, &ic, (u32)((size + TW_BLOCK_SIZE - 1) >> TW_BLOCK_SHIFT));
	if (!err)
		err = tw_txn_begin(fs, TW_CR_INODE + 1);
	if (!err) {
		tw_ilock(fs, ino, true);
		err = tw_orphan_del(fs, &ic);
		tw_iunlock(fs, ino, true);
		tw_txn_end(fs, TW_CR_INODE + 1, err);
	}
	tw_iput(&ic);
	return err;
}

int tw_orphan_recover(struct tw_fs *fs)
{
	u32 bi, i, done = 0;
	int err;

	for (bi = 0; bi < fs->orphan_blocks; bi++) {
		for (i = 0; i < TW_ORPHAN_SLOTS; i++) {
			struct tw_orphan_block *ob;
			struct tw_buf *b;
			u64 ino;

			err = tw_meta_read(fs, fs->orphan_start + bi,
					   TW_ORPHAN_MAGIC, 0, &b);
			if (err)
				return err;
			ob = tw_bdata(b);
			ino = TW_GET32(ob, ob_ino[i]);
			tw_buf_release(b);
			if (!ino)
				continue;
			tw_dlock(fs, ino, true);
			err = orphan_finish(fs, bi * TW_ORPHAN_SLOTS + i, ino);
			tw_dunlock(fs, ino, true);
			if (err)
				return err;
			done++;
		}
	}
	if (done)
		tw_log(fs->dev, TW_LOG_INFO, "recovered %u orphan inode%s",
		       done, done == 1 ? "" : "s");
	return 0;
}

/* ---- metadata blocks of files (directories) ---- */

int tw_file_meta_read(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 magic,
		      struct tw_buf **out)
{
	u64 pblk;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &pblk);
	if (err)
		return err;
	if (!pblk)
		return tw_corrupt(fs, "hole in a directory", ic->ino);
	return tw_meta_read(fs, pblk, magic, ic->ino, out);
}

int tw_file_meta_new(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 magic,
		     u32 aux, struct tw_buf **out)
{
	u64 pblk;
	bool is_new;
	int err;

	err = tw_map_alloc(fs, ic, lblk, &pblk, &is_new);
	if (err)
		return err;
	if (!is_new)
		return tw_corrupt(fs, "directory block already mapped",
				  ic->ino);
	return tw_meta_new(fs, pblk, magic, ic->ino, aux, out);
}
