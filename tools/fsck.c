// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.c - the twinfs checker: find every inconsistency, repair what can be
 * repaired.
 *
 * Layer: tools.  Calls the core (twinfs.h and its internals in tw_int.h,
 * for the validator, inodes, block map and directory helpers) and the
 * user-space environment (user/tw_user.h).
 *
 * Passes, as in e2fsck:
 *   0. superblock: the core's one validator (tw_validate_super);
 *   1. journal: replayed by the core's mount (in memory with -n);
 *   2. inodes: checksums, fields, every block pointer in range and owned by
 *      exactly one inode, indirect and xattr blocks (the POSIX ACLs in
 *      them: fsck_xattr.c), i_blocks;
 *   3. directories: header, records, names, entries pointing at live
 *      inodes, duplicate names, the hash index and free-space map, counts;
 *   4. connectivity: every directory reachable from the root, ".." right;
 *   5. link counts, unreferenced inodes (reconnected to /lost+found);
 *   6. the orphan table;
 *   7. bitmaps against reality, free counts.
 * Repairs write blocks directly (the filesystem is not mounted anywhere
 * else), except reconnection, which goes through the core's transactions.
 * After repairing, the whole check runs again read-only to confirm.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"
#include "fsck_xattr.h"

#include <stdarg.h>
#include <stdlib.h>

enum { I_FREE, I_OK, I_BAD };

struct iinfo {
	u32 links; /* entries naming the inode */
	u32 dparent; /* directories: the one entry's directory */
	u32 subdirs; /* directories: child directories */
	u32 entries; /* directories: live entries counted */
	u8 state;
	u8 isdir;
	u8 dtype;
	u8 unattached;
};

struct ctx {
	const struct fsck_opts *o;
	FILE *out;
	struct tw_dev *dev;
	struct tw_fs *fs;
	u64 nblocks;
	u32 ninodes;
	u8 *claimed; /* one bit per block */
	struct iinfo *ii;
	unsigned int found, fixed, left;
	bool preen_stop; /* -p met a problem it must not fix */
	bool dirty; /* blocks were repaired */
	struct fsck_result *res;
};

/* ---- reporting ---- */

__attribute__((format(printf, 3, 4))) static bool
problem(struct ctx *c, bool safe, const char *fmt, ...)
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
__attribute__((format(printf, 2, 3))) static void
unfixable(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	c->found++;
	c->left++;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fprintf(c->out, ": cannot fix\n");
}

static void note(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->o->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
}

static void log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	struct ctx *c = ctx;

	if (c->o->verbose)
		fprintf(c->out, "  core: %s\n", msg);
}

/* ---- claimed blocks ---- */

static bool claimed(struct ctx *c, u64 blk)
{
	return c->claimed[blk >> 3] & (1u << (blk & 7));
}

static void claim(struct ctx *c, u64 blk)
{
	c->claimed[blk >> 3] |= (u8)(1u << (blk & 7));
}

static void unclaim(struct ctx *c, u64 blk)
{
	c->claimed[blk >> 3] &= (u8) ~(1u << (blk & 7));
}

/*
 * A pointer is usable if it is in the data area and not owned yet; then it
 * is claimed.  Returns 1 if usable, 0 if not and it is to be cleared, -1 if
 * not but it stays (no repair).  Clearing loses data: not for -p.
 */
static int take(struct ctx *c, u64 ino, u64 blk, const char *what)
{
	if (blk < c->fs->data_start || blk >= c->nblocks)
		return problem(c, false,
			       "inode %llu: %s block %llu out of range; clear",
			       (unsigned long long)ino, what,
			       (unsigned long long)blk) ?
			       0 :
			       -1;
	if (claimed(c, blk))
		return problem(c, false,
			       "inode %llu: %s block %llu claimed twice; clear",
			       (unsigned long long)ino, what,
			       (unsigned long long)blk) ?
			       0 :
			       -1;
	claim(c, blk);
	return 1;
}

/* Read a block with the header of @magic: 1 ok, 0 bad, <0 I/O error. */
static int hdr_block(struct ctx *c, u64 blk, u32 magic, u64 owner,
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

static void reseal(struct ctx *c, struct tw_buf *b)
{
	struct tw_blk_hdr *h = tw_bdata(b);

	TW_SET32(h, h_crc, tw_block_csum(c->fs->csum_seed, h));
	tw_buf_set_verified(b);
	tw_buf_mark_dirty(b);
	c->dirty = true;
}

/* fsck_xattr.c's reports: dropping an ACL changes access, not for -p */
static bool acl_problem(void *ctx, const char *msg)
{
	return problem(ctx, false, "%s", msg);
}

static void inode_write(struct ctx *c, struct tw_buf *b, struct tw_inode *di,
			u64 ino)
{
	TW_SET32(di, i_crc, tw_inode_csum(c->fs->csum_seed, (u32)ino, di));
	tw_buf_mark_dirty(b);
	c->dirty = true;
}

/* ---- pass 2: inodes ---- */

/* The logical blocks a directory may map, from its header (dir.c). */
struct dirmap {
	u32 nblocks; /* entry blocks 1..nblocks */
	u32 fsm; /* free-space map blocks */
	u32 buckets; /* hash buckets */
};

struct walk {
	struct ctx *c;
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
	struct ctx *c = w->c;
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
	    problem(c, false,
		    "directory %llu: block %llu mapped at logical block %llu, outside the directory; unmap",
		    (unsigned long long)w->ino, (unsigned long long)blk,
		    (unsigned long long)base)) {
		*slot = 0;
		return true;
	}
	r = take(c, w->ino, blk, level ? "indirect" : "data");
	if (r <= 0) {
		if (r == 0)
			*slot = 0;
		return r == 0;
	}
	w->count++;
	if (!level)
		return false;
	r = hdr_block(c, blk, TW_IND_MAGIC, w->ino, &b);
	if (r < 0) {
		w->err = r;
		return false;
	}
	ib = tw_bdata(b);
	if (!r || TW_GET32(ib, ib_hdr.h_aux) != (u32)level) {
		tw_buf_release(b);
		if (problem(c, false,
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
		reseal(c, b);
	tw_buf_release(b);
	return false;
}

static void clear_inode(struct ctx *c, struct tw_buf *b, struct tw_inode *di,
			u64 ino)
{
	u32 gen = TW_GET32(di, i_generation);

	memset(di, 0, sizeof(*di));
	TW_SET32(di, i_generation, gen);
	inode_write(c, b, di, ino);
}

/*
 * A long symlink's target blocks (logical 0, and 1 past TW_SYML_PER_BLOCK
 * bytes), as readlink reads them: 1 if they are right, 0 if not, or a
 * negative errno.
 */
static int symlink_ok(struct ctx *c, const struct tw_inode *di, u64 ino)
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
		r = hdr_block(c, blk, TW_SYML_MAGIC, ino, &b);
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
static int dir_map(struct ctx *c, const struct tw_inode *di, u64 ino,
		   struct dirmap *m)
{
	u64 blk = TW_GET64(di, i_block[0]);
	const struct tw_dir_header *h;
	struct tw_buf *b;
	u32 level, flags;
	int r;

	if (blk < c->fs->data_start || blk >= c->nblocks)
		return 0;
	r = hdr_block(c, blk, TW_DIRH_MAGIC, ino, &b);
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

static int pass_inodes(struct ctx *c)
{
	u64 ino;
	int err;

	note(c, "Pass 1: inodes, blocks and sizes\n");
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		struct iinfo *ii = &c->ii[ino];
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
			ii->state = I_BAD;
			if (ino == TW_ROOT_INO) {
				tw_buf_release(b);
				fprintf(c->out, "root inode is damaged\n");
				return -EUCLEAN;
			}
			if (problem(c, false,
				    "inode %llu: bad checksum or fields; clear",
				    (unsigned long long)ino))
				clear_inode(c, b, di, ino);
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
				if (problem(c, false,
					    "inode %llu: symlink target block damaged; clear",
					    (unsigned long long)ino)) {
					ii->state = I_BAD;
					clear_inode(c, b, di, ino);
					tw_buf_release(b);
					continue;
				}
			}
		}
		ii->state = I_OK;
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
				int level = i < TW_NDIRECT ? 0 : i - TW_NDIRECT + 1;

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
		if (di->i_xattr) {
			u64 xb = TW_GET64(di, i_xattr);
			struct tw_buf *x;

			r = take(c, ino, xb, "xattr");
			if (r == 0) {
				di->i_xattr = 0;
				changed = true;
			} else if (r > 0) {
				w.count++;
				r = hdr_block(c, xb, TW_XATTR_MAGIC, ino, &x);
				if (r < 0) {
					tw_buf_release(b);
					return r;
				}
				if (!r || !tw_xattr_entries_ok(tw_bdata(x))) {
					if (problem(c, false,
						    "inode %llu: xattr block damaged; clear",
						    (unsigned long long)ino)) {
						di->i_xattr = 0;
						unclaim(c, xb);
						w.count--;
						changed = true;
					}
				} else if (fsck_xattr_acls(tw_bdata(x), ino,
							   TW_S_ISDIR(TW_GET16(
								   di, i_mode)),
							   acl_problem, c)) {
					struct tw_xattr_header *xh =
						tw_bdata(x);

					if (TW_GET32(xh, xh_count)) {
						reseal(c, x);
					} else {
						/* nothing left: the block
						 * goes (pass 7 frees it) */
						di->i_xattr = 0;
						unclaim(c, xb);
						w.count--;
						changed = true;
					}
				}
				tw_buf_release(x);
			}
		}
		if (TW_GET64(di, i_blocks) != w.count &&
		    problem(c, true,
			    "inode %llu: i_blocks is %llu, counted %llu",
			    (unsigned long long)ino,
			    (unsigned long long)TW_GET64(di, i_blocks),
			    (unsigned long long)w.count)) {
			TW_SET64(di, i_blocks, w.count);
			changed = true;
		}
		if (changed)
			inode_write(c, b, di, ino);
		tw_buf_release(b);
		if (ii->isdir)
			c->res->dirs++;
		else
			c->res->files++;
	}
	return 0;
}

/* ---- pass 3: directories ---- */

struct dent {
	u32 hash;
	u32 pos8;
};

static int cmp_dent_hash(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->pos8 < y->pos8 ? -1 : x->pos8 > y->pos8;
}

static int cmp_dent_pos(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;

	return x->pos8 < y->pos8 ? -1 : x->pos8 > y->pos8;
}

struct dirscan {
	struct dent *ents;
	size_t n, cap;
};

static int push(struct dirscan *ds, u32 hash, u32 pos8)
{
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 256;
		struct dent *e = realloc(ds->ents, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		ds->ents = e;
		ds->cap = cap;
	}
	ds->ents[ds->n].hash = hash;
	ds->ents[ds->n].pos8 = pos8;
	ds->n++;
	return 0;
}

/* Name of the entry at pos8 (for duplicate checks). */
static int entry_name(struct ctx *c, struct tw_ictx *dir, u32 pos8, char *name,
		      u32 *len)
{
	struct tw_buf *b;
	struct tw_dirent *de;
	int err;

	err = tw_file_meta_read(c->fs, dir, pos8 >> (TW_BLOCK_SHIFT - 3),
				TW_DIRD_MAGIC, &b);
	if (err)
		return err;
	de = (void *)((u8 *)tw_bdata(b) + ((pos8 << 3) & (TW_BLOCK_SIZE - 1)));
	*len = de->d_name_len;
	memcpy(name, de + 1, *len);
	tw_buf_release(b);
	return 0;
}

/* Remove the live entry at pos8 by freeing its record in place. */
static int drop_entry(struct ctx *c, struct tw_ictx *dir, u32 pos8)
{
	struct tw_buf *b;
	struct tw_dirent *de;
	int err;

	err = tw_file_meta_read(c->fs, dir, pos8 >> (TW_BLOCK_SHIFT - 3),
				TW_DIRD_MAGIC, &b);
	if (err)
		return err;
	de = (void *)((u8 *)tw_bdata(b) + ((pos8 << 3) & (TW_BLOCK_SIZE - 1)));
	de->d_ino = 0;
	de->d_name_len = 0;
	de->d_type = 0;
	reseal(c, b);
	tw_buf_release(b);
	return 0;
}

/* Rewrite the hash buckets and free-space map from the entry blocks. */
static int rebuild_index(struct ctx *c, struct tw_ictx *dir, struct tw_buf *hb,
			 struct dirscan *ds)
{
	struct tw_dir_header *h = tw_bdata(hb);
	u32 nb = (1u << TW_GET32(h, dh_level)) + TW_GET32(h, dh_split);
	u32 nblocks = TW_GET32(h, dh_data_blocks), b, i;
	struct tw_fs *fs = c->fs;
	int err;

	for (b = 0; b < nb; b++) {
		struct tw_dirx_block *xb;
		struct tw_buf *buf;
		u64 pblk;

		err = tw_map_lookup(fs, dir, TW_DIR_IDX_BASE + b, &pblk);
		if (err)
			return err;
		if (!pblk)
			return -EUCLEAN;
		err = tw_buf_read(c->dev, pblk, &buf);
		if (err)
			return err;
		xb = tw_bdata(buf);
		memset(xb, 0, TW_BLOCK_SIZE);
		TW_SET32(xb, xb_hdr.h_magic, TW_DIRX_MAGIC);
		TW_SET64(xb, xb_hdr.h_blkno, pblk);
		TW_SET64(xb, xb_hdr.h_owner, dir->ino);
		TW_SET32(xb, xb_hdr.h_aux, b);
		for (i = 0; i < ds->n; i++) {
			u32 k;

			if (tw_dir_bucket(h, ds->ents[i].hash) != b)
				continue;
			k = TW_GET32(xb, xb_count);
			if (k == TW_DIRX_SLOTS) {
				tw_buf_release(buf);
				return -ENOSPC;
			}
			TW_SET32(xb, xb_ent[k].x_hash, ds->ents[i].hash);
			TW_SET32(xb, xb_ent[k].x_pos, ds->ents[i].pos8);
			TW_SET32(xb, xb_count, k + 1);
		}
		reseal(c, buf);
		tw_buf_release(buf);
	}
	for (i = 0; i < nblocks; i++) {
		struct tw_buf *db, *fb;
		u32 best;
		u8 *map;

		err = tw_file_meta_read(fs, dir, TW_DIR_DATA_BASE + i,
					TW_DIRD_MAGIC, &db);
		if (err)
			return err;
		best = tw_dirblock_largest(tw_bdata(db));
		if (best == ~0u)
			best = 0; /* records checked (and fixed) in pass 2 */
		tw_buf_release(db);
		err = tw_file_meta_read(fs, dir,
					TW_DIR_FSM_BASE + i / TW_DIRF_BYTES,
					TW_DIRF_MAGIC, &fb);
		if (err)
			return err;
		map = (u8 *)tw_bdata(fb) + sizeof(struct tw_blk_hdr);
		best >>= 3;
		map[i % TW_DIRF_BYTES] = (u8)(best > 255 ? 255 : best);
		reseal(c, fb);
		tw_buf_release(fb);
	}
	return 0;
}

/* Verify the index against the live entries; true if it matches. */
static int index_ok(struct ctx *c, struct tw_ictx *dir, struct tw_buf *hb,
		    struct dirscan *ds, bool *ok)
{
	struct tw_dir_header *h = tw_bdata(hb);
	u32 nb = (1u << TW_GET32(h, dh_level)) + TW_GET32(h, dh_split);
	u32 nblocks = TW_GET32(h, dh_data_blocks), b, i;
	size_t slots = 0;
	u8 *seen;
	int err = 0;

	*ok = true;
	seen = calloc(ds->n + 1, 1);
	if (!seen)
		return -ENOMEM;
	if (ds->n > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(ds->ents, ds->n, sizeof(*ds->ents), cmp_dent_pos);
	for (b = 0; b < nb && *ok; b++) {
		struct tw_dirx_block *xb;
		struct tw_buf *buf;
		u64 pblk;
		int r;

		err = tw_map_lookup(c->fs, dir, TW_DIR_IDX_BASE + b, &pblk);
		if (err || !pblk) {
			*ok = false;
			err = 0;
			break;
		}
		r = hdr_block(c, pblk, TW_DIRX_MAGIC, dir->ino, &buf);
		if (r < 0) {
			err = r;
			break;
		}
		xb = tw_bdata(buf);
		if (!r || TW_GET32(xb, xb_hdr.h_aux) != b ||
		    TW_GET32(xb, xb_count) > TW_DIRX_SLOTS) {
			*ok = false;
			tw_buf_release(buf);
			break;
		}
		for (i = 0; i < TW_GET32(xb, xb_count); i++) {
			struct dent key = { 0, TW_GET32(xb, xb_ent[i].x_pos) };
			struct dent *e = !ds->n ? NULL :
					 bsearch(&key, ds->ents, ds->n,
						 sizeof(*e), cmp_dent_pos);

			if (!e || e->hash != TW_GET32(xb, xb_ent[i].x_hash) ||
			    tw_dir_bucket(h, e->hash) != b ||
			    seen[e - ds->ents]) {
				*ok = false;
				break;
			}
			seen[e - ds->ents] = 1;
			slots++;
		}
		tw_buf_release(buf);
	}
	if (*ok && slots != ds->n)
		*ok = false;
	/* the free-space map */
	for (i = 0; *ok && !err && i < nblocks; i++) {
		struct tw_buf *db, *fb;
		u32 best;
		u64 pblk;
		u8 v;
		int r;

		err = tw_file_meta_read(c->fs, dir, TW_DIR_DATA_BASE + i,
					TW_DIRD_MAGIC, &db);
		if (err)
			break;
		best = tw_dirblock_largest(tw_bdata(db));
		if (best == ~0u)
			best = 0; /* records checked (and fixed) in pass 2 */
		tw_buf_release(db);
		err = tw_map_lookup(c->fs, dir,
				    TW_DIR_FSM_BASE + i / TW_DIRF_BYTES, &pblk);
		if (err || !pblk) {
			*ok = false;
			err = 0;
			break;
		}
		r = hdr_block(c, pblk, TW_DIRF_MAGIC, dir->ino, &fb);
		if (r < 0) {
			err = r;
			break;
		}
		v = ((u8 *)tw_bdata(
			fb))[sizeof(struct tw_blk_hdr) + i % TW_DIRF_BYTES];
		best >>= 3;
		if (!r || v != (best > 255 ? 255 : best))
			*ok = false;
		tw_buf_release(fb);
	}
	free(seen);
	return err;
}

static bool name_ok(const char *name, u32 len)
{
	return tw_valid_name(name, len);
}

/* Check one directory's structure and entries (@header_only: just its
 * header, which marks a directory with a damaged one I_BAD). */
static int check_dir(struct ctx *c, u64 ino, bool header_only)
{
	struct tw_fs *fs = c->fs;
	struct dirscan ds = { 0 };
	struct tw_dir_header *h;
	struct tw_buf *hb;
	struct tw_ictx dir;
	u32 nblocks, lblk, i;
	u64 entries = 0;
	bool indexed, ok, hdr_changed = false;
	int err, r;
	u64 pblk;

	err = tw_iget(fs, ino, &dir);
	if (err)
		return err;
	err = tw_map_lookup(fs, &dir, 0, &pblk);
	if (err || !pblk) {
		tw_iput(&dir);
		if (err && err != -EUCLEAN)
			return err;
		c->ii[ino].state = I_BAD;
		return 0;
	}
	r = hdr_block(c, pblk, TW_DIRH_MAGIC, ino, &hb);
	if (r < 0) {
		tw_iput(&dir);
		return r;
	}
	h = tw_bdata(hb);
	nblocks = TW_GET32(h, dh_data_blocks);
	indexed = TW_GET32(h, dh_flags) & TW_DIRH_INDEXED;
	if (!r || nblocks >= TW_DIR_DATA_END || TW_GET32(h, dh_level) > 22 ||
	    TW_GET32(h, dh_split) >= (1u << TW_GET32(h, dh_level)) ||
	    (!indexed && nblocks > 1) ||
	    (TW_GET32(h, dh_flags) & ~TW_DIRH_INDEXED)) {
		tw_buf_release(hb);
		tw_iput(&dir);
		c->ii[ino].state = I_BAD; /* handled by the caller */
		return 0;
	}
	if (header_only) {
		tw_buf_release(hb);
		tw_iput(&dir);
		return 0;
	}

	for (lblk = TW_DIR_DATA_BASE; lblk <= nblocks; lblk++) {
		struct tw_buf *db;
		u32 off = TW_DIRD_START, rl;
		bool changed = false;

		err = tw_map_lookup(fs, &dir, lblk, &pblk);
		if (err)
			goto out;
		if (!pblk) {
			unfixable(c, "directory %llu: entry block %u missing",
				  (unsigned long long)ino, lblk);
			continue;
		}
		r = hdr_block(c, pblk, TW_DIRD_MAGIC, ino, &db);
		if (r < 0) {
			err = r;
			goto out;
		}
		if (!r) {
			if (problem(c, false,
				    "directory %llu: entry block %u damaged; empty it",
				    (unsigned long long)ino, lblk)) {
				struct tw_dirent *de;

				memset(tw_bdata(db), 0, TW_BLOCK_SIZE);
				TW_SET32((struct tw_blk_hdr *)tw_bdata(db),
					 h_magic, TW_DIRD_MAGIC);
				TW_SET64((struct tw_blk_hdr *)tw_bdata(db),
					 h_blkno, pblk);
				TW_SET64((struct tw_blk_hdr *)tw_bdata(db),
					 h_owner, ino);
				de = (void *)((u8 *)tw_bdata(db) +
					      TW_DIRD_START);
				TW_SET16(de, d_rec_len,
					 TW_BLOCK_SIZE - TW_DIRD_START);
				reseal(c, db);
			}
			tw_buf_release(db);
			continue;
		}
		while (off < TW_BLOCK_SIZE) {
			u8 *blk = tw_bdata(db);
			struct tw_dirent *de = (void *)(blk + off);
			const char *name = (const char *)(de + 1);
			u64 child;

			rl = tw_dirent_check(blk, off);
			if (!rl) {
				if (problem(c, false,
					    "directory %llu: bad record at %u:%u; truncate block",
					    (unsigned long long)ino, lblk,
					    off)) {
					de->d_ino = 0;
					de->d_name_len = 0;
					TW_SET16(de, d_rec_len,
						 TW_BLOCK_SIZE - off);
					changed = true;
				}
				break;
			}
			child = TW_GET32(de, d_ino);
			if (!child) {
				off += rl;
				continue;
			}
			if (!name_ok(name, de->d_name_len) ||
			    child >= c->ninodes || c->ii[child].state != I_OK ||
			    (child == TW_ROOT_INO) ||
			    (c->ii[child].isdir && c->ii[child].dparent)) {
				const char *why =
					!name_ok(name, de->d_name_len) ?
						"invalid name" :
					child >= c->ninodes ||
							c->ii[child].state !=
								I_OK ?
						"names a free or bad inode" :
					child == TW_ROOT_INO ?
						"links the root" :
						"second link to a directory";

				if (problem(c, false,
					    "directory %llu: entry '%.*s' %s; remove",
					    (unsigned long long)ino,
					    de->d_name_len, name, why)) {
					de->d_ino = 0;
					de->d_name_len = 0;
					de->d_type = 0;
					changed = true;
				}
				off += rl;
				continue;
			}
			if (de->d_type != c->ii[child].dtype &&
			    problem(c, true,
				    "directory %llu: entry '%.*s' has the wrong type",
				    (unsigned long long)ino, de->d_name_len,
				    name)) {
				de->d_type = c->ii[child].dtype;
				changed = true;
			}
			err = push(&ds, tw_name_hash(fs, name, de->d_name_len),
				   tw_dir_pos8(lblk, off));
			if (err) {
				tw_buf_release(db);
				goto out;
			}
			off += rl;
		}
		if (changed)
			reseal(c, db);
		tw_buf_release(db);
	}

	/* duplicate names: equal hashes, then compare names */
	if (ds.n > 1)
		qsort(ds.ents, ds.n, sizeof(*ds.ents), cmp_dent_hash);
	for (i = 1; i < ds.n; i++) {
		char a[TW_NAME_MAX], b[TW_NAME_MAX];
		u32 la, lb, k;

		for (k = i; k > 0 && ds.ents[k - 1].hash == ds.ents[i].hash;
		     k--) {
			if (ds.ents[k - 1].pos8 == ~0u)
				continue;
			err = entry_name(c, &dir, ds.ents[k - 1].pos8, a, &la);
			if (!err)
				err = entry_name(c, &dir, ds.ents[i].pos8, b,
						 &lb);
			if (err)
				goto out;
			if (la == lb && !memcmp(a, b, la)) {
				if (problem(c, false,
					    "directory %llu: duplicate entry '%.*s'; remove",
					    (unsigned long long)ino, (int)lb,
					    b)) {
					err = drop_entry(c, &dir,
							 ds.ents[i].pos8);
					if (err)
						goto out;
				}
				ds.ents[i].pos8 = ~0u;
				break;
			}
		}
	}
	/* forget the dropped ones; count the links of the rest */
	for (i = 0; i < ds.n;) {
		if (ds.ents[i].pos8 == ~0u) {
			ds.ents[i] = ds.ents[--ds.n];
			continue;
		}
		i++;
	}
	for (i = 0; i < ds.n; i++) {
		struct tw_buf *db;
		struct tw_dirent *de;
		u64 child;

		err = tw_file_meta_read(fs, &dir,
					ds.ents[i].pos8 >> (TW_BLOCK_SHIFT - 3),
					TW_DIRD_MAGIC, &db);
		if (err)
			goto out;
		de = (void *)((u8 *)tw_bdata(db) +
			      ((ds.ents[i].pos8 << 3) & (TW_BLOCK_SIZE - 1)));
		child = TW_GET32(de, d_ino);
		tw_buf_release(db);
		if (c->ii[child].isdir && c->ii[child].dparent) {
			/* a second name for a directory in this very directory
			 * (the scan above only sees earlier directories') */
			char nm[TW_NAME_MAX];
			u32 nl;

			err = entry_name(c, &dir, ds.ents[i].pos8, nm, &nl);
			if (err)
				goto out;
			if (problem(c, false,
				    "directory %llu: entry '%.*s' second link to a directory; remove",
				    (unsigned long long)ino, (int)nl, nm)) {
				err = drop_entry(c, &dir, ds.ents[i].pos8);
				if (err)
					goto out;
			}
			ds.ents[i] = ds.ents[--ds.n];
			continue;
		}
		c->ii[child].links++;
		if (c->ii[child].isdir) {
			c->ii[child].dparent = (u32)ino;
			c->ii[ino].subdirs++;
		}
		entries++;
	}

	c->ii[ino].entries = entries > 0xffffffffu ? 0xffffffffu : (u32)entries;
	if (TW_GET64(h, dh_entries) != entries &&
	    problem(c, true, "directory %llu: entry count %llu, counted %llu",
		    (unsigned long long)ino,
		    (unsigned long long)TW_GET64(h, dh_entries),
		    (unsigned long long)entries)) {
		TW_SET64(h, dh_entries, entries);
		hdr_changed = true;
	}
	if (indexed) {
		err = index_ok(c, &dir, hb, &ds, &ok);
		if (err)
			goto out;
		if (!ok &&
		    problem(c, true,
			    "directory %llu: hash index inconsistent; rebuild",
			    (unsigned long long)ino)) {
			err = rebuild_index(c, &dir, hb, &ds);
			if (err) {
				fprintf(c->out,
					"directory %llu: cannot rebuild the index (%s)\n",
					(unsigned long long)ino,
					strerror(-err));
				c->fixed--;
				c->left++;
				err = 0;
			}
		}
	}
	if (hdr_changed)
		reseal(c, hb);
out:
	free(ds.ents);
	tw_buf_release(hb);
	tw_iput(&dir);
	return err;
}

static int pass_dirs(struct ctx *c)
{
	u64 ino;
	int err;

	note(c, "Pass 2: directory structure\n");
	/*
	 * Headers first: an entry naming a directory that is about to be
	 * cleared must be dropped in this round, whatever the order of the
	 * two directories; otherwise it dangles, and a reconnect that reuses
	 * the freed inode number (/lost+found) makes it a second name.
	 */
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		if (c->ii[ino].state != I_OK || !c->ii[ino].isdir)
			continue;
		err = check_dir(c, ino, true);
		if (err)
			return err;
		if (c->ii[ino].state == I_BAD) {
			if (ino == TW_ROOT_INO) {
				fprintf(c->out,
					"root directory header is damaged\n");
				return -EUCLEAN;
			}
			/* its entries are lost; children go to lost+found */
			problem(c, false,
				"directory %llu: header damaged; clear the directory",
				(unsigned long long)ino);
		}
	}
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		if (c->ii[ino].state != I_OK || !c->ii[ino].isdir)
			continue;
		err = check_dir(c, ino, false);
		if (err)
			return err;
	}
	return 0;
}

/* ---- pass 4/5: connectivity and link counts ---- */

static int dir_parent_field(struct ctx *c, u64 ino, u64 *parent,
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

static bool reaches_root(struct ctx *c, u64 ino)
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

static int pass_links(struct ctx *c)
{
	u64 ino;
	int err;

	note(c, "Pass 3: connectivity\n");
	c->ii[TW_ROOT_INO].dparent = TW_ROOT_INO;
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		struct iinfo *ii = &c->ii[ino];
		struct tw_buf *hb;
		u64 parent;

		if (ii->state == I_BAD && ii->isdir && ino != TW_ROOT_INO) {
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
				clear_inode(c, b, di, ino);
				tw_buf_release(b);
			}
			continue;
		}
		if (ii->state != I_OK || !ii->isdir)
			continue;
		if (ii->dparent && !reaches_root(c, ino)) {
			unfixable(
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
		    problem(c, true,
			    "directory %llu: '..' is %llu, should be %u",
			    (unsigned long long)ino, (unsigned long long)parent,
			    ii->dparent)) {
			TW_SET32((struct tw_dir_header *)tw_bdata(hb),
				 dh_parent, ii->dparent);
			reseal(c, hb);
		}
		tw_buf_release(hb);
	}

	note(c, "Pass 4: reference counts\n");
	for (ino = TW_ROOT_INO + 1; ino < c->ninodes; ino++) {
		struct iinfo *ii = &c->ii[ino];
		struct tw_inode *di;
		struct tw_buf *b;
		u32 nlink, want, oslot;
		bool refd;

		if (ii->state != I_OK)
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
		    problem(c, false,
			    "inode %llu: %s on the orphan table; take it off",
			    (unsigned long long)ino,
			    !ii->isdir ? "a linked special file or symlink" :
			    refd || nlink ? "a linked directory" :
					    "a directory with entries")) {
			TW_SET32(di, i_orphan_slot, 0);
			inode_write(c, b, di, ino);
			oslot = 0;
		}
		if (!refd) {
			if (!nlink && oslot) {
				/* open when the fs went down: mount frees it */
			} else if (!nlink && !(ii->isdir && ii->entries)) {
				if (problem(c, true,
					    "inode %llu: no links and not an orphan; free it",
					    (unsigned long long)ino)) {
					clear_inode(c, b, di, ino);
					ii->state = I_FREE;
				}
			} else {
				ii->unattached = 1;
				problem(c, false,
					"inode %llu: unattached (nlink %u); reconnect to /lost+found",
					(unsigned long long)ino, nlink);
			}
		} else if (nlink != want &&
			   problem(c, true, "inode %llu: nlink %u, counted %u",
				   (unsigned long long)ino, nlink, want)) {
			TW_SET32(di, i_nlink, want);
			inode_write(c, b, di, ino);
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
		    problem(c, false,
			    "root: on the orphan table; take it off")) {
			TW_SET32(di, i_orphan_slot, 0);
			inode_write(c, b, di, TW_ROOT_INO);
		}
		if (TW_GET32(di, i_nlink) != want &&
		    problem(c, true, "root: nlink %u, counted %u",
			    TW_GET32(di, i_nlink), want)) {
			TW_SET32(di, i_nlink, want);
			inode_write(c, b, di, TW_ROOT_INO);
		}
		tw_buf_release(b);
	}
	return 0;
}

/* ---- pass 6: orphans ---- */

static int pass_orphans(struct ctx *c)
{
	struct tw_fs *fs = c->fs;
	u32 bi, i;
	int err, r;

	note(c, "Pass 5: orphan table\n");
	for (bi = 0; bi < fs->orphan_blocks; bi++) {
		struct tw_orphan_block *ob;
		struct tw_buf *b;
		bool changed = false;

		r = hdr_block(c, fs->orphan_start + bi, TW_ORPHAN_MAGIC, 0, &b);
		if (r < 0)
			return r;
		ob = tw_bdata(b);
		if (!r) {
			if (problem(c, true,
				    "orphan table block %u damaged; clear",
				    bi)) {
				memset(ob, 0, TW_BLOCK_SIZE);
				TW_SET32(ob, ob_hdr.h_magic, TW_ORPHAN_MAGIC);
				TW_SET64(ob, ob_hdr.h_blkno,
					 fs->orphan_start + bi);
				reseal(c, b);
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
			if (ino < c->ninodes && c->ii[ino].state == I_OK &&
			    !tw_iget(fs, ino, &ic)) {
				good = TW_GET32(ic.di, i_orphan_slot) == slot;
				tw_iput(&ic);
			}
			if (!good &&
			    problem(c, true,
				    "orphan slot %u names inode %llu wrongly; clear",
				    slot - 1, (unsigned long long)ino)) {
				ob->ob_ino[i] = 0;
				changed = true;
			}
		}
		if (changed)
			reseal(c, b);
		tw_buf_release(b);
	}
	/* inodes that claim a slot they do not have */
	for (i = TW_ROOT_INO; i < c->ninodes; i++) {
		struct tw_inode *di;
		struct tw_buf *b;
		u32 slot;

		if (c->ii[i].state != I_OK)
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

			r = hdr_block(c, fs->orphan_start + s / TW_ORPHAN_SLOTS,
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
			    problem(c, true,
				    "inode %u: stale orphan slot; clear", i)) {
				di->i_orphan_slot = 0;
				inode_write(c, b, di, i);
			}
		}
		tw_buf_release(b);
	}
	return 0;
}

/* ---- pass 7: bitmaps ---- */

static int check_bitmap(struct ctx *c, const char *what, u64 start, u32 nblocks,
			u64 nbits, bool (*used)(struct ctx *, u64),
			u64 *free_out)
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

			r = hdr_block(c, start + idx, TW_BMAP_MAGIC, 0, &b);
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
				reseal(c, b);
			}
			tw_buf_release(b);
		}
		if (round == 0) {
			*free_out = nfree;
			if (!plus && !minus)
				return 0;
			if (!asked) {
				asked = true;
				fix = problem(
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

static bool block_used(struct ctx *c, u64 n)
{
	return claimed(c, n);
}

static bool inode_used(struct ctx *c, u64 n)
{
	return n < TW_ROOT_INO || (n < c->ninodes && c->ii[n].state == I_OK);
}

static int pass_bitmaps(struct ctx *c)
{
	struct tw_fs *fs = c->fs;
	u64 fb, fi;
	int err;

	note(c, "Pass 6: bitmaps and counts\n");
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
	    problem(c, true,
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

/* ---- reconnection, through the core's transactions ---- */

static int reconnect(struct ctx *c)
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

/* ---- the journal superblock, before the core can mount ---- */

static struct tw_super *raw_super(struct ctx *c, struct tw_buf **b)
{
	if (tw_buf_read(c->dev, TW_SB_BLOCK, b))
		return NULL;
	return tw_bdata(*b);
}

static bool journal_damaged(struct ctx *c)
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

static int journal_reset(struct ctx *c)
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
static int journal_future(struct ctx *c)
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
		    problem(c, true,
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

/* ---- the driver ---- */

/* @given: check this device (left open) instead of opening @path. */
static int check_once(const char *path, struct tw_dev *given,
		      const struct fsck_opts *o, struct fsck_result *res,
		      bool *errors_left)
{
	struct ctx c = { .o = o, .out = o->out ? o->out : stdout, .res = res };
	struct tw_mount_opts mo = { .flags = TW_MNT_FSCK };
	const struct tw_super *sb;
	struct tw_buf *sbb;
	const char *why;
	bool rdonly = o->mode == FSCK_MODE_NO;
	bool any_unattached = false;
	int err, code = FSCK_OK;
	u64 ino;

	*errors_left = false;
	c.dev = given ? given :
			tw_udev_open(path, rdonly ? TW_UDEV_RDONLY : 0, &err);
	if (!c.dev) {
		fprintf(c.out, "fsck.twinfs: %s: %s\n", path, strerror(-err));
		return FSCK_ERROR;
	}
	tw_log_set_hook(log_hook, &c);

	/* pass 0: the superblock, with the core's validator */
	err = tw_buf_read(c.dev, TW_SB_BLOCK, &sbb);
	if (err) {
		fprintf(c.out,
			"fsck.twinfs: %s: cannot read the superblock: %s\n",
			path, strerror(-err));
		code = FSCK_ERROR;
		goto close;
	}
	sb = tw_bdata(sbb);
	err = tw_validate_super(sb, tw_udev_blocks(c.dev), &why);
	tw_buf_release(sbb);
	if (err) {
		fprintf(c.out, "%s: superblock: %s\n", path, why);
		c.found++;
		code = FSCK_UNCORRECTED;
		*errors_left = true;
		goto close;
	}

	/* pass 1: journal replay, by the core (in memory with -n) */
	if (rdonly)
		mo.flags |= TW_MNT_RDONLY;
	err = tw_mount(c.dev, tw_udev_blocks(c.dev), &mo, &c.fs);
	if ((err == -EUCLEAN || err == -EBADMSG) && journal_damaged(&c) &&
	    problem(&c, false,
		    "journal superblock damaged; reset the journal (pending transactions are lost)")) {
		err = journal_reset(&c);
		if (!err)
			err = tw_mount(c.dev, tw_udev_blocks(c.dev), &mo,
				       &c.fs);
	}
	if (err) {
		fprintf(c.out, "%s: cannot open the filesystem: %s\n", path,
			strerror(-err));
		c.found++;
		code = err == -EIO || err == -ENOMEM ? FSCK_ERROR :
						       FSCK_UNCORRECTED;
		*errors_left = true;
		goto close;
	}
	c.nblocks = c.fs->nblocks;
	c.ninodes = c.fs->ninodes;
	res->replayed += c.fs->j.replayed;
	if (c.fs->j.replayed)
		note(&c, "Journal: %u transaction%s replayed%s\n",
		     c.fs->j.replayed, c.fs->j.replayed == 1 ? "" : "s",
		     rdonly ? " in memory (read-only check)" : "");
	err = journal_future(&c);
	if (err) {
		fprintf(c.out, "%s: check stopped: %s\n", path, strerror(-err));
		code = FSCK_ERROR;
		*errors_left = true;
		goto unmount;
	}
	c.claimed = calloc((c.nblocks + 7) / 8, 1);
	c.ii = calloc(c.ninodes, sizeof(*c.ii));
	if (!c.claimed || !c.ii) {
		fprintf(c.out, "fsck.twinfs: out of memory\n");
		code = FSCK_ERROR;
		goto unmount;
	}
	for (ino = 0; ino < c.fs->data_start; ino++)
		claim(&c, ino);

	err = pass_inodes(&c);
	if (!err)
		err = pass_dirs(&c);
	if (!err)
		err = pass_links(&c);
	if (!err)
		err = pass_orphans(&c);
	if (!err)
		err = pass_bitmaps(&c);
	if (err) {
		fprintf(c.out, "%s: check stopped: %s\n", path, strerror(-err));
		code = err == -EUCLEAN || err == -EBADMSG ? FSCK_UNCORRECTED :
							    FSCK_ERROR;
		*errors_left = true;
		goto unmount;
	}
	for (ino = 0; ino < c.ninodes; ino++)
		any_unattached |=
			c.ii[ino].unattached && c.o->mode == FSCK_MODE_YES;
	if (c.dirty || any_unattached) {
		err = tw_dev_writeback(c.dev);
		if (!err)
			err = tw_dev_flush(c.dev);
		if (!err && any_unattached)
			err = reconnect(&c);
		if (err) {
			fprintf(c.out, "%s: repair failed: %s\n", path,
				strerror(-err));
			code = FSCK_ERROR;
			*errors_left = true;
			goto unmount;
		}
	}
	if (!rdonly) {
		struct tw_super *wsb = c.fs->sb;

		if (!c.left) {
			wsb->s_state &= ~tw_cpu_to_le32(TW_STATE_ERROR);
			c.fs->error_seen = false;
		}
		TW_SET64(wsb, s_check_time, tw_now());
	}
	if (c.left || c.preen_stop) {
		code = FSCK_UNCORRECTED;
		*errors_left = true;
	} else if (c.fixed) {
		code = FSCK_NONDESTRUCT;
	}
	if (c.preen_stop)
		fprintf(c.out,
			"%s: UNEXPECTED INCONSISTENCY; RUN fsck.twinfs MANUALLY (without -p)\n",
			path);

unmount:
	err = tw_unmount(c.fs);
	if (err && code < FSCK_ERROR) {
		fprintf(c.out, "%s: writing failed: %s\n", path,
			strerror(-err));
		code = FSCK_ERROR;
	}
close:
	res->found += c.found;
	res->fixed += c.fixed;
	tw_log_set_hook(NULL, NULL);
	if (given)
		err = tw_dev_writeback(c.dev);
	else
		err = tw_udev_close(c.dev);
	if (err && err != -EBUSY && code < FSCK_ERROR)
		code = FSCK_ERROR;
	free(c.claimed);
	free(c.ii);
	return code;
}

static int run(const char *path, struct tw_dev *given,
	       const struct fsck_opts *o, struct fsck_result *res)
{
	struct fsck_opts verify = *o;
	struct fsck_result again = { 0 };
	FILE *out = o->out ? o->out : stdout;
	bool left;
	int code;

	int round;

	memset(res, 0, sizeof(*res));
	code = check_once(path, given, o, res, &left);
	/*
	 * A repair can uncover more (a cleared directory frees its blocks and
	 * orphans its children): repeat until a read-only check is clean.
	 */
	verify.mode = FSCK_MODE_NO;
	verify.quiet = true;
	verify.out = fopen("/dev/null", "w");
	for (round = 0; code == FSCK_NONDESTRUCT && round < 3; round++) {
		memset(&again, 0, sizeof(again));
		if (check_once(path, given, &verify, &again, &left) ==
		    FSCK_OK) {
			if (verify.out)
				fclose(verify.out);
			return FSCK_NONDESTRUCT;
		}
		fprintf(out, "Repairing again (round %d)\n", round + 2);
		code = check_once(path, given, o, res, &left);
		if (code == FSCK_OK)
			code = FSCK_NONDESTRUCT;
	}
	if (verify.out)
		fclose(verify.out);
	if (code == FSCK_NONDESTRUCT) {
		fprintf(out, "%s: problems remain after repair\n", path);
		return FSCK_UNCORRECTED;
	}
	return code;
}

int fsck_run(const char *path, const struct fsck_opts *o,
	     struct fsck_result *res)
{
	return run(path, NULL, o, res);
}

int fsck_run_dev(struct tw_dev *dev, const char *name,
		 const struct fsck_opts *o, struct fsck_result *res)
{
	return run(name, dev, o, res);
}
