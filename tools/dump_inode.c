// SPDX-License-Identifier: GPL-2.0
/*
 * dump_inode.c - twinfs-dump's inode command (and stat PATH's view): an
 * inode's fields, its block map as extents and indirect blocks, its
 * extended attributes, and for a directory its header in brief.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), dump_dir.c (show_dir_brief()), the core's
 * API and internals (tw_iget, tw_meta_read, tw_readlink, tw_listxattr,
 * ...), toolutil and the C library.
 */
#include "dump.h"

#include <stdlib.h>

/* Logical regions of a directory file (tw_format.h, "Directories"). */
static int dir_region(u64 lblk)
{
	if (lblk == 0)
		return 0;
	if (lblk < TW_DIR_DATA_END)
		return 1;
	if (lblk >= TW_DIR_FSM_BASE && lblk < TW_DIR_IDX_BASE)
		return 2;
	if (lblk >= TW_DIR_IDX_BASE)
		return 3;
	return 4; /* between the regions: no directory block lives there */
}

static const char *dir_region_name(u64 lblk, char *buf, size_t len)
{
	switch (dir_region(lblk)) {
	case 0:
		return "header";
	case 1:
		snprintf(buf, len, "entry block %llu",
			 (unsigned long long)lblk);
		return buf;
	case 2:
		snprintf(buf, len, "free-space map block %llu",
			 (unsigned long long)(lblk - TW_DIR_FSM_BASE));
		return buf;
	case 3:
		snprintf(buf, len, "hash bucket %llu",
			 (unsigned long long)(lblk - TW_DIR_IDX_BASE));
		return buf;
	}
	return "outside every directory region";
}

struct ind_rec {
	u64 blk;
	u64 first; /* first logical block it maps */
	u64 span; /* logical blocks it covers */
	int level;
};

struct mapwalk {
	struct tw_ictx *ic;
	bool dir;
	u64 ext_lblk, ext_pblk, ext_len; /* the extent being built */
	u64 ndata, next;
	struct ind_rec *ind;
	size_t nind, capind;
	int err;
};

static u64 span_of(int level)
{
	u64 s = 1;

	while (level-- > 0)
		s *= TW_IND_PTRS;
	return s;
}

static void ext_flush(struct mapwalk *w)
{
	char a[48], b[112], c[48];

	if (!w->ext_len)
		return;
	w->next++;
	if (json) {
		tu_json_obj_begin(&J);
		tu_json_ku64(&J, "lblk", w->ext_lblk);
		tu_json_ku64(&J, "pblk", w->ext_pblk);
		tu_json_ku64(&J, "count", w->ext_len);
		if (w->dir)
			tu_json_kstr(&J, "what",
				     dir_region_name(w->ext_lblk, a,
						     sizeof(a)));
		if (w->ext_lblk + w->ext_len - 1 > TW_MAX_LBLK)
			tu_json_kbool(&J, "beyond_max_lblk", true);
		tu_json_obj_end(&J);
	} else {
		char l[48], p[48];

		if (w->ext_len == 1) {
			snprintf(l, sizeof(l), "%llu",
				 (unsigned long long)w->ext_lblk);
			snprintf(p, sizeof(p), "%llu",
				 (unsigned long long)w->ext_pblk);
		} else {
			snprintf(l, sizeof(l), "%llu-%llu",
				 (unsigned long long)w->ext_lblk,
				 (unsigned long long)(w->ext_lblk +
						      w->ext_len - 1));
			snprintf(p, sizeof(p), "%llu-%llu",
				 (unsigned long long)w->ext_pblk,
				 (unsigned long long)(w->ext_pblk +
						      w->ext_len - 1));
		}
		if (w->dir && w->ext_len > 1)
			snprintf(b, sizeof(b), "  %s .. %s",
				 dir_region_name(w->ext_lblk, a, sizeof(a)),
				 dir_region_name(w->ext_lblk + w->ext_len - 1,
						 c, sizeof(c)));
		else if (w->dir)
			snprintf(b, sizeof(b), "  %s",
				 dir_region_name(w->ext_lblk, a, sizeof(a)));
		else
			b[0] = '\0';
		line("%-23s -> %-23s %8llu block%s%s", l, p,
		     (unsigned long long)w->ext_len, w->ext_len == 1 ? " " : "s",
		     b);
	}
	w->ext_len = 0;
}

static void ext_add(struct mapwalk *w, u64 lblk, u64 pblk)
{
	w->ndata++;
	if (w->ext_len && lblk == w->ext_lblk + w->ext_len &&
	    pblk == w->ext_pblk + w->ext_len &&
	    (!w->dir || dir_region(lblk) == dir_region(w->ext_lblk))) {
		w->ext_len++;
		return;
	}
	ext_flush(w);
	w->ext_lblk = lblk;
	w->ext_pblk = pblk;
	w->ext_len = 1;
}

static bool pblk_ok(u64 blk)
{
	return blk >= fs->data_start && blk < fs->nblocks;
}

/* An indirect block of @level mapping logical blocks from @base. */
static int walk_ind(struct mapwalk *w, u64 blk, int level, u64 base)
{
	const struct tw_ind_block *ib;
	struct tw_buf *b;
	u64 cspan = span_of(level - 1);
	int i, err;

	if (!pblk_ok(blk))
		return tw_corrupt(fs, "block pointer out of range", w->ic->ino);
	err = tw_meta_read(fs, blk, TW_IND_MAGIC, w->ic->ino, &b);
	if (err)
		return err;
	ib = tw_bdata(b);
	if (TW_GET32(&ib->ib_hdr, h_aux) != (u32)level) {
		tw_buf_release(b);
		return tw_corrupt(fs, "indirect block at wrong level", blk);
	}
	if (w->nind == w->capind) {
		size_t cap = w->capind ? 2 * w->capind : 64;
		struct ind_rec *n = realloc(w->ind, cap * sizeof(*n));

		if (!n) {
			tw_buf_release(b);
			return -ENOMEM;
		}
		w->ind = n;
		w->capind = cap;
	}
	w->ind[w->nind++] = (struct ind_rec){ blk, base, span_of(level),
					      level };
	for (i = 0, err = 0; i < (int)TW_IND_PTRS && !err; i++) {
		u64 p = TW_GET64(ib, ib_ptr[i]);
		u64 lb = base + (u64)i * cspan;

		if (!p)
			continue;
		if (level > 1)
			err = walk_ind(w, p, level - 1, lb);
		else if (!pblk_ok(p))
			err = tw_corrupt(fs, "block pointer out of range",
					 w->ic->ino);
		else
			ext_add(w, lb, p);
	}
	tw_buf_release(b);
	return err;
}

/* Show the block map of an inode: extents, then indirect blocks. */
static int show_block_map(struct tw_ictx *ic)
{
	struct mapwalk w = { .ic = ic };
	u64 base = TW_NDIRECT;
	size_t i;
	int r, err = 0;

	w.dir = TW_S_ISDIR(TW_GET16(ic->di, i_mode));
	list("extents", "Block map (logical -> physical, contiguous runs):");
	for (r = 0; r < TW_NDIRECT; r++) {
		u64 p = TW_GET64(ic->di, i_block[r]);

		if (!p)
			continue;
		if (!pblk_ok(p)) {
			err = tw_corrupt(fs, "block pointer out of range",
					 ic->ino);
			break;
		}
		ext_add(&w, (u64)r, p);
	}
	for (r = 1; !err && r <= TW_NINDIRECT; r++) {
		u64 p = TW_GET64(ic->di, i_block[TW_NDIRECT + r - 1]);

		if (p)
			err = walk_ind(&w, p, r, base);
		base += span_of(r);
	}
	ext_flush(&w);
	if (!w.next)
		line("(no blocks)");
	list_end();
	if (!err) {
		list("indirect", "Indirect blocks:");
		for (i = 0; i < w.nind; i++) {
			struct ind_rec *x = &w.ind[i];

			if (json) {
				tu_json_obj_begin(&J);
				tu_json_ku64(&J, "block", x->blk);
				tu_json_ku64(&J, "level", (u64)x->level);
				tu_json_ku64(&J, "first_lblk", x->first);
				tu_json_ku64(&J, "lblks", x->span);
				tu_json_obj_end(&J);
			} else {
				line("block %-10llu level %d, maps logical %llu-%llu",
				     (unsigned long long)x->blk, x->level,
				     (unsigned long long)x->first,
				     (unsigned long long)(x->first + x->span -
							  1));
			}
		}
		if (!w.nind)
			line("(none)");
		list_end();
		f_u64n("data_blocks", w.ndata, "mapped by the block map");
		f_u64("indirect_blocks", w.nind);
	}
	free(w.ind);
	if (err)
		return fail(err, "inode %llu: block map",
			    (unsigned long long)ic->ino);
	return 0;
}

/*
 * Where the attributes are (docs/format.md section 11): the one entry
 * block, or the index and the entry blocks it lists, with the number of
 * entries and of value blocks in each.  Read raw: a damaged block is
 * described, not trusted.
 */
static void show_xattr_layout(const struct tw_inode *di)
{
	u64 xb = TW_GET64(di, i_xattr), nvalue = 0;
	const struct tw_xattr_index *xi;
	u32 i, nb;
	u8 *buf;

	if (!xb)
		return;
	if (!(TW_GET16(di, i_flags) & TW_IFL_XINDEX)) {
		f_str("xattr_form", "one entry block (i_xattr)");
		return;
	}
	f_str("xattr_form", "indexed: i_xattr is the index block");
	buf = malloc(2 * TW_BLOCK_SIZE);
	if (!buf)
		return;
	xi = (const void *)buf;
	if (raw_read(xb, buf) ||
	    TW_GET32(&xi->xi_hdr, h_magic) != TW_XIDX_MAGIC) {
		f_str("xattr_index", "unreadable or not an index block");
		free(buf);
		return;
	}
	nb = TW_GET32(xi, xi_nblocks);
	if (nb > TW_XIDX_SLOTS)
		nb = TW_XIDX_SLOTS;
	list("xattr_entry_blocks", "Xattr entry blocks (%u):", nb);
	for (i = 0; i < nb; i++) {
		const struct tw_xattr_header *xh =
			(const void *)(buf + TW_BLOCK_SIZE);
		u64 blk = TW_GET64(xi, xi_block[i]);
		u32 off, used, nent = 0, next = 0, nval = 0;
		bool ok = !raw_read(blk, buf + TW_BLOCK_SIZE) &&
			  TW_GET32(&xh->xh_hdr, h_magic) == TW_XATTR_MAGIC &&
			  tw_xattr_block_ok(xh, true);

		used = ok ? TW_GET32(xh, xh_used) : 0;
		for (off = 0; off < used;) {
			const struct tw_xattr_entry *e =
				(const void *)((const u8 *)(xh + 1) + off);
			const u8 *v = (const u8 *)(e + 1) + e->xe_name_len;

			nent++;
			if (e->xe_ns & TW_XATTR_NS_EXTERNAL) {
				next++;
				nval += tw_xattr_val_blocks(
					(u32)v[0] | (u32)v[1] << 8 |
					(u32)v[2] << 16 | (u32)v[3] << 24);
			}
			off += TW_XATTR_ENTRY_LEN(e->xe_name_len,
						  TW_GET16(e, xe_value_len));
		}
		nvalue += nval;
		item();
		if (json) {
			tu_json_ku64(&J, "block", blk);
			tu_json_kbool(&J, "sound", ok);
			tu_json_ku64(&J, "entries", nent);
			tu_json_ku64(&J, "external", next);
			tu_json_ku64(&J, "value_blocks", nval);
		} else if (ok) {
			line("block %-10llu %u entries, %u with their value in %u value blocks",
			     (unsigned long long)blk, nent, next, nval);
		} else {
			line("block %-10llu damaged", (unsigned long long)blk);
		}
		item_end();
	}
	list_end();
	f_u64n("xattr_blocks", 1 + nb + nvalue,
	       "the index, %u entry blocks, %llu value blocks", nb,
	       (unsigned long long)nvalue);
	free(buf);
}

static void show_xattrs(u64 ino)
{
	ssize_t n, vl;
	char *names, *p;
	u8 *val;

	n = tw_listxattr(fs, ino, NULL, 0);
	if (n <= 0) {
		if (json) {
			tu_json_karr(&J, "xattrs");
			tu_json_arr_end(&J);
		}
		return;
	}
	names = malloc((size_t)n);
	val = malloc(65536);
	if (!names || !val)
		goto out;
	n = tw_listxattr(fs, ino, names, (size_t)n);
	if (n <= 0)
		goto out;
	list("xattrs", "Extended attributes:");
	for (p = names; p < names + n; p += strlen(p) + 1) {
		vl = tw_getxattr(fs, ino, p, val, 65536);
		item();
		if (json) {
			tu_json_kstr(&J, "name", p);
			if (vl >= 0) {
				tu_json_ku64(&J, "size", (u64)vl);
				tu_json_key(&J, "value");
				tu_json_strn(&J, (char *)val, (size_t)vl);
			} else {
				tu_json_kstr(&J, "error", tu_strerror((int)vl));
			}
		} else if (vl >= 0) {
			char buf[1024];

			line("%s = \"%s\"  (%zd bytes)", p,
			     tu_fmt_name((char *)val, (size_t)vl, buf,
					 sizeof(buf)),
			     vl);
		} else {
			line("%s: %s", p, tu_strerror((int)vl));
		}
		item_end();
	}
	list_end();
out:
	free(names);
	free(val);
}

static void show_free_inode(u64 ino)
{
	const struct tw_inode *di;
	struct tw_buf *b;
	bool set = false;

	sec("inode", "Inode %llu: free", (unsigned long long)ino);
	f_u64("ino", ino);
	f_bool("in_use", false);
	if (!tw_bitmap_test(fs, fs->ibitmap_start, ino, &set))
		f_bool("bitmap_bit_set", set);
	if (!tw_buf_read(fs->dev, fs->itable_start + ino / TW_INODES_PER_BLOCK,
			 &b)) {
		di = (const struct tw_inode *)tw_buf_data(b) +
		     ino % TW_INODES_PER_BLOCK;
		f_u64n("generation", TW_GET32(di, i_generation),
		       "the next user gets %u",
		       TW_GET32(di, i_generation) + 1);
		f_crc("crc", TW_GET32(di, i_crc),
		      tw_inode_csum(fs->csum_seed, (u32)ino, di));
		tw_buf_release(b);
	}
	sec_end();
}



int show_inode(u64 ino, const char *path)
{
	struct tw_ictx ic = { 0 };
	const struct tw_inode *di;
	char modes[12], buf[4200];
	bool set = false;
	u32 mode, flags, osl;
	int err;

	if (ino < TW_ROOT_INO || ino >= fs->ninodes)
		return fail(0, "inode %llu out of range: inodes are 1..%u",
			    (unsigned long long)ino, fs->ninodes - 1);
	tu_log_clear();
	err = tw_iget(fs, ino, &ic);
	if (err == -ESTALE) {
		show_free_inode(ino);
		return 0;
	}
	if (err)
		return fail(err, "inode %llu", (unsigned long long)ino);
	di = ic.di;
	mode = TW_GET16(di, i_mode);
	flags = TW_GET16(di, i_flags);
	sec("inode", "Inode %llu: %s%s%s", (unsigned long long)ino,
	    tu_mode_type(mode), path ? ", " : "", path ? path : "");
	f_u64n("ino", ino, "table block %llu, slot %llu",
	       (unsigned long long)(fs->itable_start +
				    ino / TW_INODES_PER_BLOCK),
	       (unsigned long long)(ino % TW_INODES_PER_BLOCK));
	if (path)
		f_str("path", path);
	tu_fmt_mode(mode, modes);
	if (json) {
		tu_json_ku64(&J, "mode", mode);
		snprintf(buf, sizeof(buf), "0%o", mode);
		tu_json_kstr(&J, "mode_octal", buf);
		tu_json_kstr(&J, "mode_string", modes);
		tu_json_kstr(&J, "type", tu_mode_type(mode));
	} else {
		kv("mode", "0%06o  %s", mode, modes);
	}
	if (json)
		tu_json_ku64(&J, "flags", flags);
	else
		kv("flags", "0x%04x%s%s", flags,
		   flags & TW_IFL_INLINE ? "  (inline symlink target)" : "",
		   flags & TW_IFL_XINDEX ? "  (xattr index)" : "");
	f_u64("nlink", TW_GET32(di, i_nlink));
	f_u64("uid", TW_GET32(di, i_uid));
	f_u64("gid", TW_GET32(di, i_gid));
	f_u64("size", TW_GET64(di, i_size));
	f_u64n("blocks", TW_GET64(di, i_blocks),
	       "4 KiB blocks: data, indirect, xattr");
	f_time("atime", (s64)TW_GET64(di, i_atime), false);
	f_time("mtime", (s64)TW_GET64(di, i_mtime), false);
	f_time("ctime", (s64)TW_GET64(di, i_ctime), false);
	f_time("btime", (s64)TW_GET64(di, i_btime), false);
	f_u64("generation", TW_GET32(di, i_generation));
	if ((mode & TW_S_IFMT) == TW_S_IFCHR ||
	    (mode & TW_S_IFMT) == TW_S_IFBLK || TW_GET32(di, i_rdev)) {
		u32 rdev = TW_GET32(di, i_rdev);

		/* Linux's new_encode_dev(): 12-bit major, 20-bit minor */
		f_u64n("rdev", rdev, "%u:%u",
		       (rdev & 0xfff00) >> 8,
		       (rdev & 0xff) | ((rdev >> 12) & 0xfff00));
	}
	f_u64("xattr_block", TW_GET64(di, i_xattr));
	show_xattr_layout(di);
	osl = TW_GET32(di, i_orphan_slot);
	if (osl)
		f_u64n("orphan_slot", osl, "slot %u of the orphan table + 1",
		       osl - 1);
	else
		f_u64n("orphan_slot", 0, "not an orphan");
	f_crc("crc", TW_GET32(di, i_crc),
	      tw_inode_csum(fs->csum_seed, (u32)ino, di));
	if (!tw_bitmap_test(fs, fs->ibitmap_start, ino, &set))
		f_bool("bitmap_bit_set", set);

	if (TW_S_ISLNK(mode)) {
		ssize_t n = tw_readlink(fs, ino, buf, sizeof(buf));

		if (n >= 0) {
			f_name("target", buf, (size_t)n);
			f_str("target_storage", flags & TW_IFL_INLINE ?
					      "inline in i_block" :
					      "one block (logical block 0)");
		} else {
			err = fail((int)n, "inode %llu: reading the target",
				   (unsigned long long)ino);
		}
	}
	if (!err && !(flags & TW_IFL_INLINE))
		err = show_block_map(&ic);
	if (!err)
		show_xattrs(ino);
	if (!err && TW_S_ISDIR(mode))
		err = show_dir_brief(&ic);
	if (!err)
		sec_end();
	tw_iput(&ic);
	return err;
}
