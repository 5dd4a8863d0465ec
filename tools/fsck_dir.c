// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_dir.c - pass 2 of the checker: every directory's header first, then
 * its entry blocks (records, names, entries naming live inodes, the file
 * type, second links to a directory), duplicate names, the entry count,
 * and the hash index and free-space map (rebuilt when they disagree).
 * Counts the links of each inode and each directory's parent for pass 3.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls
 * fsck_util.c (fsck.h), the core's internals (tw_int.h: tw_iget,
 * tw_map_lookup, tw_file_meta_read, tw_dirent_check, tw_name_hash, ...),
 * the user-space environment and the C library.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

#include <stdlib.h>

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
static int entry_name(struct fsck_ctx *c, struct tw_ictx *dir, u32 pos8,
		      char *name, u32 *len)
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
static int drop_entry(struct fsck_ctx *c, struct tw_ictx *dir, u32 pos8)
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
	fsck_reseal(c, b);
	tw_buf_release(b);
	return 0;
}

/* Rewrite the hash buckets and free-space map from the entry blocks. */
static int rebuild_index(struct fsck_ctx *c, struct tw_ictx *dir,
			 struct tw_buf *hb, struct dirscan *ds)
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
		fsck_reseal(c, buf);
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
		fsck_reseal(c, fb);
		tw_buf_release(fb);
	}
	return 0;
}

/* Verify the index against the live entries; true if it matches. */
static int index_ok(struct fsck_ctx *c, struct tw_ictx *dir, struct tw_buf *hb,
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
		r = fsck_hdr_block(c, pblk, TW_DIRX_MAGIC, dir->ino, &buf);
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
			struct dent *e =
				!ds->n ? NULL :
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
		r = fsck_hdr_block(c, pblk, TW_DIRF_MAGIC, dir->ino, &fb);
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
 * header, which marks a directory with a damaged one FSCK_I_BAD). */
static int check_dir(struct fsck_ctx *c, u64 ino, bool header_only)
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
		c->ii[ino].state = FSCK_I_BAD;
		return 0;
	}
	r = fsck_hdr_block(c, pblk, TW_DIRH_MAGIC, ino, &hb);
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
		c->ii[ino].state = FSCK_I_BAD; /* handled by the caller */
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
			fsck_unfixable(c,
				       "directory %llu: entry block %u missing",
				       (unsigned long long)ino, lblk);
			continue;
		}
		r = fsck_hdr_block(c, pblk, TW_DIRD_MAGIC, ino, &db);
		if (r < 0) {
			err = r;
			goto out;
		}
		if (!r) {
			if (fsck_problem(
				    c, false,
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
				fsck_reseal(c, db);
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
				if (fsck_problem(
					    c, false,
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
			    child >= c->ninodes ||
			    c->ii[child].state != FSCK_I_OK ||
			    (child == TW_ROOT_INO) ||
			    (c->ii[child].isdir && c->ii[child].dparent)) {
				const char *why =
					!name_ok(name, de->d_name_len) ?
						"invalid name" :
					child >= c->ninodes ||
							c->ii[child].state !=
								FSCK_I_OK ?
						"names a free or bad inode" :
					child == TW_ROOT_INO ?
						"links the root" :
						"second link to a directory";

				if (fsck_problem(
					    c, false,
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
			    fsck_problem(
				    c, true,
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
			fsck_reseal(c, db);
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
				if (fsck_problem(
					    c, false,
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
			if (fsck_problem(
				    c, false,
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
	    fsck_problem(c, true,
			 "directory %llu: entry count %llu, counted %llu",
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
		    fsck_problem(
			    c, true,
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
		fsck_reseal(c, hb);
out:
	free(ds.ents);
	tw_buf_release(hb);
	tw_iput(&dir);
	return err;
}

int fsck_pass_dirs(struct fsck_ctx *c)
{
	u64 ino;
	int err;

	fsck_note(c, "Pass 2: directory structure\n");
	/*
	 * Headers first: an entry naming a directory that is about to be
	 * cleared must be dropped in this round, whatever the order of the
	 * two directories; otherwise it dangles, and a reconnect that reuses
	 * the freed inode number (/lost+found) makes it a second name.
	 */
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		if (c->ii[ino].state != FSCK_I_OK || !c->ii[ino].isdir)
			continue;
		err = check_dir(c, ino, true);
		if (err)
			return err;
		if (c->ii[ino].state == FSCK_I_BAD) {
			if (ino == TW_ROOT_INO) {
				fprintf(c->out,
					"root directory header is damaged\n");
				return -EUCLEAN;
			}
			/* its entries are lost; children go to lost+found */
			fsck_problem(
				c, false,
				"directory %llu: header damaged; clear the directory",
				(unsigned long long)ino);
		}
	}
	for (ino = TW_ROOT_INO; ino < c->ninodes; ino++) {
		if (c->ii[ino].state != FSCK_I_OK || !c->ii[ino].isdir)
			continue;
		err = check_dir(c, ino, false);
		if (err)
			return err;
	}
	return 0;
}
