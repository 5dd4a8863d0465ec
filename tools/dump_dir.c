// SPDX-License-Identifier: GPL-2.0
/*
 * dump_dir.c - twinfs-dump's dir command: a directory's header, its entry
 * blocks, its hash buckets and free-space map, and its entries in readdir
 * order, each checked against the index.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), the core's API and internals (tw_iget,
 * tw_file_meta_read, tw_map_lookup, tw_name_hash, tw_readdir, ...),
 * toolutil and the C library.
 */
#include "dump.h"

#include <stdlib.h>

/* The bucket of @hash: the rule of bucket_of() in common/dir.c. */
static u32 bucket_for(u32 level, u32 split, u32 hash)
{
	u32 b = hash & ((1u << level) - 1);

	if (b < split)
		b = hash & ((2u << level) - 1);
	return b;
}

int read_dir_header(struct tw_ictx *ic, struct dirhdr *d)
{
	const struct tw_dir_header *h;
	struct tw_buf *b;
	int err;

	if (!TW_S_ISDIR(TW_GET16(ic->di, i_mode)))
		return -ENOTDIR;
	err = tw_map_lookup(fs, ic, 0, &d->pblk);
	if (!err)
		err = tw_file_meta_read(fs, ic, 0, TW_DIRH_MAGIC, &b);
	if (err)
		return err;
	h = tw_bdata(b);
	d->parent = TW_GET32(h, dh_parent);
	d->level = TW_GET32(h, dh_level);
	d->split = TW_GET32(h, dh_split);
	d->data_blocks = TW_GET32(h, dh_data_blocks);
	d->entries = TW_GET64(h, dh_entries);
	d->flags = TW_GET32(h, dh_flags);
	tw_buf_release(b);
	/* the checks of hdr_read() in common/dir.c */
	if (d->data_blocks >= TW_DIR_DATA_END || d->level > 22 ||
	    d->split >= (1u << d->level) ||
	    (!(d->flags & TW_DIRH_INDEXED) && d->data_blocks > 1) ||
	    (d->flags & ~TW_DIRH_INDEXED))
		return tw_corrupt(fs, "bad directory header", ic->ino);
	d->nbuckets = d->flags & TW_DIRH_INDEXED ?
			      (1u << d->level) + d->split :
			      0;
	return 0;
}

static void show_dir_header(const struct dirhdr *d)
{
	const bool indexed = d->flags & TW_DIRH_INDEXED;

	f_u64n("header_block", d->pblk, "logical block 0");
	f_u64("parent", d->parent);
	f_u64n("entries", d->entries, "live entries, . and .. excluded");
	if (d->data_blocks)
		f_u64n("data_blocks", d->data_blocks,
		       "entry blocks: logical 1..%u", d->data_blocks);
	else
		f_u64n("data_blocks", 0, "no entry block yet");
	if (json) {
		tu_json_ku64(&J, "flags", d->flags);
		tu_json_kbool(&J, "indexed", indexed);
	} else {
		kv("flags", "0x%x  (%s)", d->flags,
		   indexed ? "indexed: hash buckets and free-space map" :
			     "not indexed: lookup scans the entry block");
	}
	f_u64n("level", d->level,
	       "linear hashing: 2^%u buckets at the start of the round",
	       d->level);
	f_u64n("split", d->split, "next bucket to split");
	if (indexed)
		f_u64n("buckets", d->nbuckets, "2^level + split");
	else
		f_u64n("buckets", 0, "no index");
}

int show_dir_brief(struct tw_ictx *ic)
{
	struct dirhdr d;
	int err;

	tu_log_clear();
	err = read_dir_header(ic, &d);
	if (err)
		return fail(err, "directory %llu: header",
			    (unsigned long long)ic->ino);
	sec("directory", "Directory header:");
	show_dir_header(&d);
	sec_end();
	return 0;
}

/* Walk an entry block: live entries, records, free bytes, largest hole. */
struct dblk_stats {
	u32 live, records, free, largest;
	bool bad;
};

static void dblk_scan(const u8 *blk, struct dblk_stats *st)
{
	u32 off = TW_DIRD_START;

	memset(st, 0, sizeof(*st));
	while (off < TW_BLOCK_SIZE) {
		const struct tw_dirent *de = (const void *)(blk + off);
		u32 rl, used;

		/* the checks of rec_check() in common/dir.c */
		if (off + sizeof(*de) > TW_BLOCK_SIZE || (off & 7)) {
			st->bad = true;
			return;
		}
		rl = TW_GET16(de, d_rec_len);
		if (rl < sizeof(*de) || (rl & 7) || off + rl > TW_BLOCK_SIZE ||
		    (de->d_ino && (!de->d_name_len ||
				   TW_DIRENT_LEN(de->d_name_len) > rl))) {
			st->bad = true;
			return;
		}
		used = de->d_ino ? TW_DIRENT_LEN(de->d_name_len) : 0;
		st->records++;
		if (de->d_ino)
			st->live++;
		st->free += rl - used;
		if (rl - used > st->largest)
			st->largest = rl - used;
		off += rl;
	}
}

static int show_entry_blocks(struct tw_ictx *ic, const struct dirhdr *d)
{
	const bool indexed = d->flags & TW_DIRH_INDEXED;
	struct tw_buf *b, *fb = NULL;
	struct dblk_stats st;
	u32 lblk, fsm_lblk = 0;
	u64 pblk;
	int err = 0;

	list("entry_blocks", "Entry blocks%s:",
	     indexed ? " (fsm: the free-space map's byte x 8)" : "");
	if (!json && d->data_blocks)
		line("%-6s %-10s %5s %7s %10s %8s %s", "lblk", "block", "live",
		     "records", "free bytes", "largest", indexed ? "fsm" : "");
	for (lblk = TW_DIR_DATA_BASE;
	     lblk < TW_DIR_DATA_BASE + d->data_blocks && !err; lblk++) {
		u32 idx = lblk - TW_DIR_DATA_BASE;
		int fsm = -1;

		err = tw_map_lookup(fs, ic, lblk, &pblk);
		if (!err)
			err = tw_file_meta_read(fs, ic, lblk, TW_DIRD_MAGIC,
						&b);
		if (err)
			break;
		dblk_scan(tw_bdata(b), &st);
		tw_buf_release(b);
		if (indexed) {
			u32 want = TW_DIR_FSM_BASE + idx / TW_DIRF_BYTES;

			if (!fb || fsm_lblk != want) {
				if (fb)
					tw_buf_release(fb);
				fb = NULL;
				err = tw_file_meta_read(fs, ic, want,
							TW_DIRF_MAGIC, &fb);
				if (err)
					break;
				fsm_lblk = want;
			}
			fsm = ((const u8 *)tw_bdata(fb) +
			       sizeof(struct tw_blk_hdr))[idx % TW_DIRF_BYTES];
		}
		if (json) {
			tu_json_obj_begin(&J);
			tu_json_ku64(&J, "lblk", lblk);
			tu_json_ku64(&J, "block", pblk);
			tu_json_kbool(&J, "records_valid", !st.bad);
			tu_json_ku64(&J, "live", st.live);
			tu_json_ku64(&J, "records", st.records);
			tu_json_ku64(&J, "free_bytes", st.free);
			tu_json_ku64(&J, "largest_free", st.largest);
			if (fsm >= 0)
				tu_json_ku64(&J, "fsm_bytes", (u64)fsm * 8);
			tu_json_obj_end(&J);
		} else {
			char f[32] = "";

			if (fsm >= 0)
				snprintf(f, sizeof(f), "%d%s", fsm * 8,
					 fsm == 255 ? "+" : "");
			line("%-6u %-10llu %5u %7u %10u %8u %s%s", lblk,
			     (unsigned long long)pblk, st.live, st.records,
			     st.free, st.largest, f,
			     st.bad ? "  BAD RECORDS" : "");
		}
	}
	if (fb)
		tw_buf_release(fb);
	if (!d->data_blocks)
		line("(none: no entry has been added yet)");
	list_end();
	return err;
}

/* One slot of a hash bucket, to check entries against the index. */
struct xslot {
	u32 pos8; /* entry position / 8 */
	u32 hash;
	u32 bucket;
	bool used; /* an entry was found for it */
};

struct xslots {
	struct xslot *v;
	size_t n, cap;
};

static int xslot_cmp(const void *a, const void *b)
{
	const struct xslot *x = a, *y = b;

	return x->pos8 < y->pos8 ? -1 : x->pos8 > y->pos8;
}

/* Show the buckets; their slots are collected into @xs (sorted). */
static int show_buckets(struct tw_ictx *ic, const struct dirhdr *d,
			struct xslots *xs)
{
	u32 bkt, min = ~0u, max = 0, count, i;
	struct tw_buf *b;
	u64 pblk, slots = 0;
	int err = 0;

	list("hash_buckets", "Hash buckets (slots used of %u; logical block %u + bucket):",
	     (unsigned int)TW_DIRX_SLOTS, TW_DIR_IDX_BASE);
	for (bkt = 0; bkt < d->nbuckets && !err; bkt++) {
		const struct tw_dirx_block *xb;

		err = tw_map_lookup(fs, ic, TW_DIR_IDX_BASE + bkt, &pblk);
		if (!err)
			err = tw_file_meta_read(fs, ic, TW_DIR_IDX_BASE + bkt,
						TW_DIRX_MAGIC, &b);
		if (err)
			break;
		xb = tw_bdata(b);
		count = TW_GET32(xb, xb_count);
		if (TW_GET32(&xb->xb_hdr, h_aux) != bkt ||
		    count > TW_DIRX_SLOTS) {
			tw_buf_release(b);
			err = tw_corrupt(fs, "bad directory bucket", ic->ino);
			break;
		}
		if (xs->n + count > xs->cap) {
			size_t cap = 2 * (xs->n + count);
			struct xslot *v = realloc(xs->v, cap * sizeof(*v));

			if (!v) {
				tw_buf_release(b);
				err = -ENOMEM;
				break;
			}
			xs->v = v;
			xs->cap = cap;
		}
		for (i = 0; i < count; i++)
			xs->v[xs->n++] = (struct xslot){
				TW_GET32(xb, xb_ent[i].x_pos),
				TW_GET32(xb, xb_ent[i].x_hash), bkt, false
			};
		tw_buf_release(b);
		slots += count;
		min = count < min ? count : min;
		max = count > max ? count : max;
		if (json) {
			tu_json_obj_begin(&J);
			tu_json_ku64(&J, "bucket", bkt);
			tu_json_ku64(&J, "block", pblk);
			tu_json_ku64(&J, "count", count);
			tu_json_obj_end(&J);
		} else {
			line("bucket %-7u block %-10llu %4u used%s", bkt,
			     (unsigned long long)pblk, count,
			     bkt < d->split || bkt >= (1u << d->level) ?
				     "  (split this round)" :
				     "");
		}
	}
	list_end();
	if (err)
		return err;
	qsort(xs->v, xs->n, sizeof(*xs->v), xslot_cmp);
	if (d->nbuckets) {
		sec("bucket_stats", "Bucket load:");
		f_u64("slots_used", slots);
		f_u64("min", min);
		f_u64("max", max);
		f_u64n("capacity", (u64)d->nbuckets * TW_DIRX_SLOTS,
		       "one more bucket when entries pass 3/8 of this");
		sec_end();
	}
	return 0;
}

struct rd_ctx {
	struct dirhdr *d;
	u64 count;
	bool hashes;
	struct xslots *xs;
	u64 index_bad; /* entries the index does not lead to */
};

/* Does the index lead to the entry at @pos with name hash @hash? */
static const char *index_check(struct rd_ctx *c, u64 pos, u32 hash,
			       u32 bucket)
{
	struct xslot key = { .pos8 = (u32)(pos >> 3) };
	struct xslot *x = bsearch(&key, c->xs->v, c->xs->n, sizeof(key),
				  xslot_cmp);

	if (!x)
		return "MISSING";
	while (x > c->xs->v && x[-1].pos8 == key.pos8)
		x--;
	x->used = true;
	if (x->hash != hash)
		return "WRONG HASH";
	if (x->bucket != bucket)
		return "WRONG BUCKET";
	return "ok";
}

static int show_entry(void *ctx, const char *name, u32 len, u64 ino,
		      u32 dtype, u64 next)
{
	struct rd_ctx *c = ctx;
	bool dot = (len == 1 && name[0] == '.') ||
		   (len == 2 && name[0] == '.' && name[1] == '.');
	u64 pos = next - 1;
	u32 hash = 0, bkt = 0;
	const char *idx = "-";
	char nb[1100];

	if (!dot) {
		hash = tw_name_hash(fs, name, len);
		bkt = bucket_for(c->d->level, c->d->split, hash);
		c->count++;
		if (c->hashes) {
			idx = index_check(c, pos, hash, bkt);
			c->index_bad += strcmp(idx, "ok") != 0;
		}
	}
	if (json) {
		tu_json_obj_begin(&J);
		tu_json_ku64(&J, "cookie", pos);
		tu_json_ku64(&J, "next", next);
		if (!dot) {
			tu_json_ku64(&J, "lblk", pos >> TW_BLOCK_SHIFT);
			tu_json_ku64(&J, "offset", pos & (TW_BLOCK_SIZE - 1));
		}
		tu_json_ku64(&J, "ino", ino);
		tu_json_kstr(&J, "type", tu_dtype_name(dtype));
		tu_json_key(&J, "name");
		tu_json_strn(&J, name, len);
		if (!dot) {
			tu_json_ku64(&J, "hash", hash);
			if (c->hashes) {
				tu_json_ku64(&J, "bucket", bkt);
				tu_json_kstr(&J, "index", idx);
			}
		}
		tu_json_obj_end(&J);
		return 0;
	}
	tu_fmt_name(name, len, nb, sizeof(nb));
	if (dot)
		line("%-10llu %-11s %-10llu %-7s %-10s %-6s %s",
		     (unsigned long long)pos, "-", (unsigned long long)ino,
		     tu_dtype_name(dtype), "-", "-", nb);
	else if (c->hashes)
		line("%-10llu %4llu:%-6llu %-10llu %-7s 0x%08x %-6u %s%s%s",
		     (unsigned long long)pos,
		     (unsigned long long)(pos >> TW_BLOCK_SHIFT),
		     (unsigned long long)(pos & (TW_BLOCK_SIZE - 1)),
		     (unsigned long long)ino, tu_dtype_name(dtype), hash, bkt,
		     nb, strcmp(idx, "ok") ? "  INDEX: " : "",
		     strcmp(idx, "ok") ? idx : "");
	else
		line("%-10llu %4llu:%-6llu %-10llu %-7s 0x%08x %-6s %s",
		     (unsigned long long)pos,
		     (unsigned long long)(pos >> TW_BLOCK_SHIFT),
		     (unsigned long long)(pos & (TW_BLOCK_SIZE - 1)),
		     (unsigned long long)ino, tu_dtype_name(dtype), hash, "-",
		     nb);
	return 0;
}

int cmd_dir(u64 ino)
{
	struct tw_ictx ic = { 0 };
	struct xslots xs = { 0 };
	struct dirhdr d;
	struct rd_ctx c = { .d = &d, .xs = &xs };
	u64 stray = 0;
	size_t i;
	int err;

	if (ino < TW_ROOT_INO || ino >= fs->ninodes)
		return fail(0, "inode %llu out of range: inodes are 1..%u",
			    (unsigned long long)ino, fs->ninodes - 1);
	tu_log_clear();
	err = tw_iget(fs, ino, &ic);
	if (err == -ESTALE)
		return fail(0, "inode %llu is not in use",
			    (unsigned long long)ino);
	if (err)
		return fail(err, "inode %llu", (unsigned long long)ino);
	err = read_dir_header(&ic, &d);
	if (err) {
		tw_iput(&ic);
		return fail(err, "directory %llu", (unsigned long long)ino);
	}
	sec("directory", "Directory %llu:", (unsigned long long)ino);
	f_u64("ino", ino);
	f_u64("size", TW_GET64(ic.di, i_size));
	show_dir_header(&d);
	err = show_entry_blocks(&ic, &d);
	if (!err && (d.flags & TW_DIRH_INDEXED))
		err = show_buckets(&ic, &d, &xs);
	tw_iput(&ic);
	if (err) {
		free(xs.v);
		return fail(err, "directory %llu", (unsigned long long)ino);
	}

	c.hashes = d.flags & TW_DIRH_INDEXED;
	list("readdir", "Entries in readdir order (cookie = position in the directory file = lblk * 4096 + offset):");
	line("%-10s %-11s %-10s %-7s %-10s %-6s %s", "cookie", "lblk:off",
	     "ino", "type", "hash", "bucket", "name");
	tu_log_clear();
	err = tw_readdir(fs, ino, 0, show_entry, &c);
	list_end();
	if (err) {
		free(xs.v);
		return fail(err, "directory %llu: readdir",
			    (unsigned long long)ino);
	}
	f_u64n("entries_seen", c.count, "header says %llu",
	       (unsigned long long)d.entries);
	if (c.hashes) {
		for (i = 0; i < xs.n; i++)
			stray += !xs.v[i].used;
		f_u64n("index_slots", xs.n, "one per entry");
		f_u64n("index_problems", c.index_bad,
		       "entries the index does not lead to");
		f_u64n("index_stray_slots", stray,
		       "slots that lead to no entry");
	}
	free(xs.v);
	sec_end();
	return 0;
}
