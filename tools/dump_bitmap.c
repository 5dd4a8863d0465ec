// SPDX-License-Identifier: GPL-2.0
/*
 * dump_bitmap.c - twinfs-dump's bitmap command: the block and inode
 * bitmaps as runs of used bits, and the counts against the superblock's.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), the core's internals (tw_meta_read, the
 * bitmap format) and toolutil.
 */
#include "dump.h"

struct bm_ext {
	u64 start, len;
	size_t n; /* extents shown */
	bool open;
};

static void bm_ext_emit(struct bm_ext *x)
{
	if (!x->open)
		return;
	if (json) {
		tu_json_arr_begin(&J);
		tu_json_u64(&J, x->start);
		tu_json_u64(&J, x->len);
		tu_json_arr_end(&J);
	} else if (x->len == 1) {
		line("%llu", (unsigned long long)x->start);
	} else {
		line("%llu-%llu  (%llu)", (unsigned long long)x->start,
		     (unsigned long long)(x->start + x->len - 1),
		     (unsigned long long)x->len);
	}
	x->n++;
	x->open = false;
}

/*
 * Show one bitmap: its blocks, its used count over @nbits, and the runs of
 * used bits.  *@used receives the count.
 */
static int show_bitmap(const char *key, const char *what, u64 start,
		       u32 nblocks, u64 nbits, u64 *used)
{
	struct bm_ext x = { 0 };
	struct tw_buf *b;
	u32 idx;
	int err = 0;

	*used = 0;
	sec(key, "%s bitmap: %u block%s from block %llu, one bit per %s (%llu)",
	    what, nblocks, nblocks == 1 ? "" : "s", (unsigned long long)start,
	    key[0] == 'b' ? "block" : "inode", (unsigned long long)nbits);
	f_u64("start", start);
	f_u64("blocks", nblocks);
	f_u64n("bits", nbits, "one per %s", key[0] == 'b' ? "block" : "inode");
	list("used_extents", "Used (set) bits, as runs:");
	for (idx = 0; idx < nblocks && !err; idx++) {
		u64 base = (u64)idx * TW_BMAP_BITS;
		const u8 *map;
		u32 bit, bits;

		if (base >= nbits)
			break;
		bits = nbits - base < TW_BMAP_BITS ? (u32)(nbits - base) :
						      TW_BMAP_BITS;
		tu_log_clear();
		err = tw_meta_read(fs, start + idx, TW_BMAP_MAGIC, 0, &b);
		if (err)
			break;
		map = (const u8 *)tw_bdata(b) + sizeof(struct tw_blk_hdr);
		for (bit = 0; bit < bits;) {
			u8 byte = map[bit >> 3];

			/* whole bytes of one kind at once */
			if (!(bit & 7) && bit + 8 <= bits &&
			    (byte == 0 || byte == 0xff)) {
				if (byte == 0) {
					bm_ext_emit(&x);
				} else {
					if (!x.open) {
						x.open = true;
						x.start = base + bit;
						x.len = 0;
					}
					x.len += 8;
					*used += 8;
				}
				bit += 8;
				continue;
			}
			if (byte & (1u << (bit & 7))) {
				if (!x.open) {
					x.open = true;
					x.start = base + bit;
					x.len = 0;
				}
				x.len++;
				(*used)++;
			} else {
				bm_ext_emit(&x);
			}
			bit++;
		}
		tw_buf_release(b);
	}
	bm_ext_emit(&x);
	list_end();
	if (err) {
		sec_end();
		return err;
	}
	f_u64("used", *used);
	f_u64("free", nbits - *used);
	return 0;
}

int cmd_bitmap(void)
{
	u64 used;
	int err;

	err = show_bitmap("block_bitmap", "Block", fs->bbitmap_start,
			  fs->bbitmap_blocks, fs->nblocks, &used);
	if (err)
		return fail(err, "block bitmap");
	f_u64n("free_blocks_superblock", TW_GET64(tw_fs_super(fs),
						  s_free_blocks),
	       "the superblock's hint");
	f_u64n("data_blocks_used", used - fs->data_start,
	       "used bits past data_start %llu",
	       (unsigned long long)fs->data_start);
	sec_end();
	err = show_bitmap("inode_bitmap", "Inode", fs->ibitmap_start,
			  fs->ibitmap_blocks, fs->ninodes, &used);
	if (err)
		return fail(err, "inode bitmap");
	f_u64n("free_inodes_superblock", TW_GET32(tw_fs_super(fs),
						  s_free_inodes),
	       "the superblock's hint");
	sec_end();
	return 0;
}
