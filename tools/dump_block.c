// SPDX-License-Identifier: GPL-2.0
/*
 * dump_block.c - twinfs-dump's block command: one block read raw from the
 * device, its region, its header and the fields of its type decoded (an
 * inode table block inode by inode), its bit in the block bitmap, and a
 * hex dump; with the names of regions and block types (also used by the
 * journal view) and the raw read.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), dump_super.c (show_superblock()), the core's
 * format and checksums (tw_int.h), the user-space environment (block
 * buffers), toolutil and the C library.
 */
#include "dump.h"

#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Geometry from the on-disk superblock                                     */
/* ------------------------------------------------------------------------ */


/* Which region block @blk lies in, for humans; NULL if beyond the fs. */
const char *region_of(u64 blk, char *buf, size_t len)
{
	u64 it = SB64(s_itable_start);

	if (sb_why) {
		snprintf(buf, len, "unknown (superblock invalid)");
		return buf;
	}
	if (blk == TW_SB_BLOCK)
		snprintf(buf, len, "superblock");
	else if (blk == SB64(s_journal_start))
		snprintf(buf, len, "journal superblock");
	else if (blk < SB64(s_journal_start) + SB32(s_journal_blocks))
		snprintf(buf, len, "journal log, position %llu",
			 (unsigned long long)(blk - SB64(s_journal_start) - 1));
	else if (blk < SB64(s_orphan_start) + SB32(s_orphan_blocks))
		snprintf(buf, len, "orphan table block %llu",
			 (unsigned long long)(blk - SB64(s_orphan_start)));
	else if (blk < SB64(s_bbitmap_start) + SB32(s_bbitmap_blocks))
		snprintf(buf, len, "block bitmap block %llu",
			 (unsigned long long)(blk - SB64(s_bbitmap_start)));
	else if (blk < SB64(s_ibitmap_start) + SB32(s_ibitmap_blocks))
		snprintf(buf, len, "inode bitmap block %llu",
			 (unsigned long long)(blk - SB64(s_ibitmap_start)));
	else if (blk < it + SB32(s_itable_blocks))
		snprintf(buf, len, "inode table, inodes %llu-%llu",
			 (unsigned long long)((blk - it) * TW_INODES_PER_BLOCK),
			 (unsigned long long)((blk - it + 1) *
						      TW_INODES_PER_BLOCK -
					      1));
	else if (blk < SB64(s_blocks_count))
		snprintf(buf, len, "data");
	else
		return NULL;
	return buf;
}

const char *magic_name(u32 magic)
{
	switch (magic) {
	case TW_SB_MAGIC:
		return "superblock";
	case TW_BMAP_MAGIC:
		return "bitmap";
	case TW_IND_MAGIC:
		return "indirect block";
	case TW_DIRH_MAGIC:
		return "directory header";
	case TW_DIRD_MAGIC:
		return "directory entries";
	case TW_DIRX_MAGIC:
		return "directory hash bucket";
	case TW_DIRF_MAGIC:
		return "directory free-space map";
	case TW_XATTR_MAGIC:
		return "extended attributes";
	case TW_XIDX_MAGIC:
		return "xattr index";
	case TW_XVAL_MAGIC:
		return "xattr value";
	case TW_SYML_MAGIC:
		return "long symlink target";
	case TW_JSB_MAGIC:
		return "journal superblock";
	case TW_JDESC_MAGIC:
		return "journal descriptor";
	case TW_JCOMMIT_MAGIC:
		return "journal commit";
	case TW_ORPHAN_MAGIC:
		return "orphan table";
	}
	return NULL;
}

/* A magic number's four ASCII letters. */
const char *magic_str(u32 magic, char buf[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		char c = (char)(magic >> (8 * i));

		buf[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	buf[4] = '\0';
	return buf;
}

/* Read a raw block: copy it out so that no buffer stays referenced. */
int raw_read(u64 blk, void *buf)
{
	struct tw_buf *b;
	int err;

	if (blk >= dev_blocks)
		return -EIO;
	err = tw_buf_read(dev, blk, &b);
	if (err)
		return err;
	memcpy(buf, tw_buf_data(b), TW_BLOCK_SIZE);
	tw_buf_release(b);
	return 0;
}

/* Why the block at @pos is not a descriptor of @seq, or NULL if it is. */

/* ------------------------------------------------------------------------ */
/* block N (raw)                                                            */
/* ------------------------------------------------------------------------ */

/* A little-endian field at any alignment (a reference in an entry). */
static u64 rdle(const u8 *p, int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * The entries of an entry block, if they tile it (tw_xattr_block_ok(),
 * external ones allowed): name, value length, and where a value in value
 * blocks is (its length, crc32c and blocks).
 */
static void show_xattr_entries(const struct tw_xattr_header *xh)
{
	static const char *const pfx[] = { "?", "user.", "trusted.",
					   "security.", "system." };
	const u8 *base = (const u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), off, k;
	char name[300];

	if (!tw_xattr_block_ok(xh, true)) {
		f_str("entries", "do not tile the block (damaged)");
		return;
	}
	list("entries", "Entries:");
	for (off = 0; off < used;) {
		const struct tw_xattr_entry *e = (const void *)(base + off);
		const u8 *v = (const u8 *)(e + 1) + e->xe_name_len;
		u32 vl = TW_GET16(e, xe_value_len);
		bool ext = e->xe_ns & TW_XATTR_NS_EXTERNAL;
		u32 len = ext ? (u32)rdle(v, 4) : vl;
		u32 nv = ext ? tw_xattr_val_blocks(len) : 0;

		snprintf(name, sizeof(name), "%s%.*s",
			 pfx[e->xe_ns & TW_XATTR_NS_MASK], (int)e->xe_name_len,
			 (const char *)(e + 1));
		item();
		if (json) {
			tu_json_ku64(&J, "offset", off + sizeof(*xh));
			tu_json_kstr(&J, "name", name);
			tu_json_ku64(&J, "value_len", len);
			tu_json_kbool(&J, "external", ext);
			if (ext) {
				tu_json_ku64(&J, "xr_crc", rdle(v + 4, 4));
				tu_json_karr(&J, "value_blocks");
				for (k = 0; k < nv; k++)
					tu_json_u64(&J, rdle(v + 8 + 8 * k, 8));
				tu_json_arr_end(&J);
			}
		} else if (ext) {
			char blocks[17 * 21 + 1];
			size_t bl = 0;

			blocks[0] = '\0';
			for (k = 0; k < nv && bl < sizeof(blocks); k++)
				bl += (size_t)snprintf(
					blocks + bl, sizeof(blocks) - bl,
					" %llu",
					(unsigned long long)rdle(v + 8 + 8 * k,
								 8));
			line("@%-5u %s: %u bytes in value blocks (crc32c 0x%08x):%s",
			     (unsigned int)(off + sizeof(*xh)), name, len,
			     (unsigned int)rdle(v + 4, 4), blocks);
		} else {
			line("@%-5u %s: %u bytes in the entry",
			     (unsigned int)(off + sizeof(*xh)), name, len);
		}
		item_end();
		off += TW_XATTR_ENTRY_LEN(e->xe_name_len, vl);
	}
	list_end();
}

/* The fields after the common header, for the block types that have some. */
static void show_block_fields(const u8 *p)
{
	const struct tw_blk_hdr *h = (const void *)p;
	u32 i, n = 0;

	switch (TW_GET32(h, h_magic)) {
	case TW_JSB_MAGIC: {
		const struct tw_journal_super *js = (const void *)p;

		sec("fields", "Journal superblock:");
		f_u64("js_seq", TW_GET64(js, js_seq));
		f_u64n("js_start", TW_GET32(js, js_start),
		       "journal-relative block = log position + 1");
		sec_end();
		break;
	}
	case TW_JDESC_MAGIC: {
		const struct tw_journal_desc *d = (const void *)p;
		u32 count = TW_GET32(d, jd_count);

		sec("fields", "Journal descriptor:");
		f_u64("jd_seq", TW_GET64(d, jd_seq));
		f_u64("jd_count", count);
		if (count > TW_JDESC_SLOTS)
			count = TW_JDESC_SLOTS;
		if (json) {
			tu_json_karr(&J, "jd_target");
			for (i = 0; i < count; i++)
				tu_json_u64(&J, TW_GET64(d, jd_target[i]));
			tu_json_arr_end(&J);
		} else {
			for (i = 0; i < count; i++)
				kv("jd_target", "[%u] %llu", i,
				   (unsigned long long)TW_GET64(d,
								jd_target[i]));
		}
		sec_end();
		break;
	}
	case TW_JCOMMIT_MAGIC: {
		const struct tw_journal_commit *c = (const void *)p;

		sec("fields", "Journal commit:");
		f_u64("jc_seq", TW_GET64(c, jc_seq));
		f_u64("jc_nblocks", TW_GET32(c, jc_nblocks));
		f_hex("jc_data_crc", TW_GET32(c, jc_data_crc), 8);
		f_time("jc_time", (s64)TW_GET64(c, jc_time), false);
		sec_end();
		break;
	}
	case TW_DIRH_MAGIC: {
		const struct tw_dir_header *dh = (const void *)p;

		sec("fields", "Directory header:");
		f_u64("dh_parent", TW_GET32(dh, dh_parent));
		f_u64("dh_level", TW_GET32(dh, dh_level));
		f_u64("dh_split", TW_GET32(dh, dh_split));
		f_u64("dh_data_blocks", TW_GET32(dh, dh_data_blocks));
		f_u64("dh_entries", TW_GET64(dh, dh_entries));
		f_hex("dh_flags", TW_GET32(dh, dh_flags), 1);
		sec_end();
		break;
	}
	case TW_DIRX_MAGIC: {
		const struct tw_dirx_block *xb = (const void *)p;

		sec("fields", "Hash bucket %u:", TW_GET32(h, h_aux));
		f_u64n("xb_count", TW_GET32(xb, xb_count), "of %u slots",
		       (unsigned int)TW_DIRX_SLOTS);
		sec_end();
		break;
	}
	case TW_XATTR_MAGIC: {
		const struct tw_xattr_header *xh = (const void *)p;

		sec("fields", "Extended attributes (an entry block):");
		f_u64("xh_count", TW_GET32(xh, xh_count));
		f_u64n("xh_used", TW_GET32(xh, xh_used), "of %u bytes",
		       (unsigned int)TW_XATTR_SPACE);
		show_xattr_entries(xh);
		sec_end();
		break;
	}
	case TW_XIDX_MAGIC: {
		const struct tw_xattr_index *xi = (const void *)p;
		u32 nb = TW_GET32(xi, xi_nblocks);

		sec("fields", "Xattr index:");
		f_u64n("xi_nblocks", nb, "entry blocks, of %u slots",
		       (unsigned int)TW_XIDX_SLOTS);
		if (nb > TW_XIDX_SLOTS)
			nb = TW_XIDX_SLOTS;
		if (json) {
			tu_json_karr(&J, "xi_block");
			for (i = 0; i < nb; i++)
				tu_json_u64(&J, TW_GET64(xi, xi_block[i]));
			tu_json_arr_end(&J);
		} else {
			for (i = 0; i < nb; i++)
				kv("xi_block", "[%u] %llu", i,
				   (unsigned long long)TW_GET64(xi,
								xi_block[i]));
		}
		sec_end();
		break;
	}
	case TW_XVAL_MAGIC:
		sec("fields", "Xattr value block:");
		f_u64n("value_bytes", TW_GET32(h, h_aux),
		       "of the value, from offset 32; at most %u",
		       (unsigned int)TW_XVAL_PER_BLOCK);
		sec_end();
		break;
	case TW_ORPHAN_MAGIC: {
		const struct tw_orphan_block *ob = (const void *)p;

		for (i = 0; i < TW_ORPHAN_SLOTS; i++)
			n += ob->ob_ino[i] != 0;
		sec("fields", "Orphan table block:");
		f_u64n("used_slots", n, "of %u", (unsigned int)TW_ORPHAN_SLOTS);
		sec_end();
		break;
	}
	case TW_IND_MAGIC: {
		const struct tw_ind_block *ib = (const void *)p;

		for (i = 0; i < TW_IND_PTRS; i++)
			n += ib->ib_ptr[i] != 0;
		sec("fields", "Indirect block, level %u:", TW_GET32(h, h_aux));
		f_u64n("pointers", n, "non-zero of %u",
		       (unsigned int)TW_IND_PTRS);
		sec_end();
		break;
	}
	case TW_BMAP_MAGIC:
		for (i = 0; i < TW_BMAP_BITS; i++)
			n += !!(p[sizeof(*h) + i / 8] & (1u << (i % 8)));
		f_u64n("bits_set", n, "of %u in this block", TW_BMAP_BITS);
		break;
	}
}

static void hexdump(const u8 *p)
{
	static const char hex[] = "0123456789abcdef";
	char txt[TW_BLOCK_SIZE * 2 + 1];
	u32 off, i;
	bool star = false;

	if (json) {
		for (i = 0; i < TW_BLOCK_SIZE; i++) {
			txt[2 * i] = hex[p[i] >> 4];
			txt[2 * i + 1] = hex[p[i] & 15];
		}
		txt[2 * TW_BLOCK_SIZE] = '\0';
		tu_json_kstr(&J, "hex", txt);
		return;
	}
	line("Contents:");
	for (off = 0; off < TW_BLOCK_SIZE; off += 16) {
		char h[64], a[17];
		int o = 0;

		if (off && off + 16 < TW_BLOCK_SIZE &&
		    !memcmp(p + off, p + off - 16, 16)) {
			if (!star)
				line("*");
			star = true;
			continue;
		}
		star = false;
		for (i = 0; i < 16; i++) {
			o += snprintf(h + o, sizeof(h) - (size_t)o, "%02x %s",
				      p[off + i], i == 7 ? " " : "");
			a[i] = p[off + i] >= 0x20 && p[off + i] < 0x7f ?
				       (char)p[off + i] :
				       '.';
		}
		a[16] = '\0';
		line("%08x  %s |%s|", off, h, a);
	}
}

static void show_itable_block(const u8 *blk, u64 first)
{
	u32 i;

	list("inodes", "Inode slots:");
	for (i = 0; i < TW_INODES_PER_BLOCK; i++) {
		const struct tw_inode *di =
			(const void *)(blk + i * TW_INODE_SIZE);
		u64 ino = first + i;
		u32 mode = TW_GET16(di, i_mode);
		bool ok = TW_GET32(di, i_crc) ==
			  tw_inode_csum(SB32(s_csum_seed), (u32)ino, di);
		char modes[12];

		if (json) {
			tu_json_obj_begin(&J);
			tu_json_ku64(&J, "ino", ino);
			tu_json_ku64(&J, "mode", mode);
			tu_json_ku64(&J, "generation",
				     TW_GET32(di, i_generation));
			tu_json_kbool(&J, "crc_valid", ok);
			tu_json_obj_end(&J);
		} else if (mode) {
			line("inode %-10llu %s nlink %u size %llu, crc %s",
			     (unsigned long long)ino, tu_fmt_mode(mode, modes),
			     TW_GET32(di, i_nlink),
			     (unsigned long long)TW_GET64(di, i_size),
			     ok ? "valid" : "INVALID");
		} else {
			line("inode %-10llu free (generation %u)%s",
			     (unsigned long long)ino,
			     TW_GET32(di, i_generation),
			     ino == 0 ? ", slot 0 never used" :
			     ok || !memcmp(di, (const u8[TW_INODE_SIZE]){ 0 },
					   TW_INODE_SIZE) ? "" :
					    ", crc INVALID");
		}
	}
	list_end();
}

int cmd_block(u64 blk)
{
	char reg[96], m[5];
	const struct tw_blk_hdr *h;
	const char *r, *type;
	u8 *p;
	int err;

	if (blk >= dev_blocks)
		return fail(0, "block %llu is beyond the device (%llu blocks)",
			    (unsigned long long)blk,
			    (unsigned long long)dev_blocks);
	p = malloc(TW_BLOCK_SIZE);
	if (!p)
		return fail(-ENOMEM, "block %llu", (unsigned long long)blk);
	err = raw_read(blk, p);
	if (err) {
		free(p);
		return fail(err, "reading block %llu", (unsigned long long)blk);
	}
	h = (const void *)p;
	r = region_of(blk, reg, sizeof(reg));
	sec("block", "Block %llu (as on disk):", (unsigned long long)blk);
	f_u64("block", blk);
	f_str("region", r ? r : "beyond the filesystem");

	if (blk == TW_SB_BLOCK) {
		show_superblock((const void *)p, "Superblock:");
	} else if (TW_GET32(h, h_magic) == TW_SB_MAGIC) {
		/* a journal copy of the superblock */
		show_superblock((const void *)p, "A copy of the superblock:");
	} else if (!sb_why && blk >= SB64(s_itable_start) &&
		   blk < SB64(s_itable_start) + SB32(s_itable_blocks)) {
		show_itable_block(p, (blk - SB64(s_itable_start)) *
					     TW_INODES_PER_BLOCK);
	} else if ((type = magic_name(TW_GET32(h, h_magic)))) {
		sec("header", "Block header (%s):", type);
		if (json)
			tu_json_ku64(&J, "magic", TW_GET32(h, h_magic));
		else
			kv("magic", "0x%08x  (\"%s\": %s)",
			   TW_GET32(h, h_magic),
			   magic_str(TW_GET32(h, h_magic), m), type);
		if (json)
			tu_json_kstr(&J, "type", type);
		if (!sb_why)
			f_crc("crc", TW_GET32(h, h_crc),
			      tw_block_csum(SB32(s_csum_seed), p));
		else
			f_hex("crc", TW_GET32(h, h_crc), 8);
		f_u64n("blkno", TW_GET64(h, h_blkno), "%s",
		       TW_GET64(h, h_blkno) == blk ? "matches" :
						     "MISDIRECTED: not this block");
		f_u64n("owner", TW_GET64(h, h_owner), "%s",
		       TW_GET64(h, h_owner) ? "inode" : "filesystem-wide");
		f_u64("aux", TW_GET32(h, h_aux));
		f_u64("pad", TW_GET32(h, h_pad));
		sec_end();
		show_block_fields(p);
	}
	if (!sb_why && r && blk >= SB64(s_data_start)) {
		/* a data-area block: its bit in the (on-disk) block bitmap */
		u8 *bm = malloc(TW_BLOCK_SIZE);

		if (bm && !raw_read(SB64(s_bbitmap_start) + blk / TW_BMAP_BITS,
				    bm)) {
			u32 bit = (u32)(blk % TW_BMAP_BITS);

			f_bool("allocated",
			       bm[sizeof(*h) + bit / 8] & (1u << (bit % 8)));
		}
		free(bm);
	}
	hexdump(p);
	sec_end();
	free(p);
	return 0;
}
