// SPDX-License-Identifier: GPL-2.0
/*
 * dump_orphan.c - twinfs-dump's orphans command: the orphan table's slots
 * and the inodes they name; silent, the count for the summary.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), the core's internals (tw_meta_read, tw_iget,
 * the orphan table format) and toolutil.
 */
#include "dump.h"

int cmd_orphans(u64 *count, bool show)
{
	u32 bi, i;
	int err = 0;

	*count = 0;
	if (show) {
		list("orphans", "Orphan table: %u block%s from block %llu, %u slots each:",
		     fs->orphan_blocks, fs->orphan_blocks == 1 ? "" : "s",
		     (unsigned long long)fs->orphan_start,
		     (unsigned int)TW_ORPHAN_SLOTS);
	}
	for (bi = 0; bi < fs->orphan_blocks && !err; bi++) {
		const struct tw_orphan_block *ob;
		struct tw_buf *b;

		tu_log_clear();
		err = tw_meta_read(fs, fs->orphan_start + bi, TW_ORPHAN_MAGIC,
				   0, &b);
		if (err)
			break;
		ob = tw_bdata(b);
		for (i = 0; i < TW_ORPHAN_SLOTS; i++) {
			u64 ino = TW_GET32(ob, ob_ino[i]);
			u32 slot = bi * (u32)TW_ORPHAN_SLOTS + i;
			struct tw_ictx ic;
			int e;

			if (!ino)
				continue;
			(*count)++;
			if (!show)
				continue;
			e = ino < fs->ninodes ? tw_iget(fs, ino, &ic) : -ESTALE;
			if (json) {
				tu_json_obj_begin(&J);
				tu_json_ku64(&J, "slot", slot);
				tu_json_ku64(&J, "ino", ino);
				if (!e) {
					tu_json_ku64(&J, "nlink",
						     TW_GET32(ic.di, i_nlink));
					tu_json_ku64(&J, "size",
						     TW_GET64(ic.di, i_size));
					tu_json_kbool(&J, "slot_matches",
						      TW_GET32(ic.di,
							       i_orphan_slot) ==
							      slot + 1);
				} else {
					tu_json_kstr(&J, "error",
						     tu_strerror(e));
				}
				tu_json_obj_end(&J);
			} else if (!e) {
				line("slot %-6u inode %-10llu nlink %u, size %llu: %s%s",
				     slot, (unsigned long long)ino,
				     TW_GET32(ic.di, i_nlink),
				     (unsigned long long)TW_GET64(ic.di,
								  i_size),
				     TW_GET32(ic.di, i_nlink) ?
					     "truncation to finish" :
					     "unlinked, to free",
				     TW_GET32(ic.di, i_orphan_slot) ==
						     slot + 1 ?
					     "" :
					     "  (inode's i_orphan_slot DISAGREES)");
			} else {
				line("slot %-6u inode %-10llu %s", slot,
				     (unsigned long long)ino,
				     e == -ESTALE ? "FREE OR OUT OF RANGE" :
						    tu_strerror(e));
			}
			if (!e)
				tw_iput(&ic);
		}
		tw_buf_release(b);
	}
	if (show) {
		if (!*count && !err)
			line("(empty)");
		list_end();
	}
	if (err)
		return fail(err, "orphan table");
	if (show)
		f_u64n("orphan_count", *count, "%s",
		       *count ? "a read-write mount finishes their work" :
				"nothing to do");
	return 0;
}
