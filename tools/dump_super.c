// SPDX-License-Identifier: GPL-2.0
/*
 * dump_super.c - twinfs-dump's superblock command: every field of the
 * superblock as it is on disk, the validator's verdict, and the layout of
 * the regions; also the parts the summary and block N show.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), the core's format and checksums (tw_int.h)
 * and toolutil.
 */
#include "dump.h"

static void show_state(u32 state)
{
	char s[128] = "";

	if (json) {
		tu_json_ku64(&J, "state", state);
		tu_json_karr(&J, "state_flags");
		if (state & TW_STATE_CLEAN)
			tu_json_str(&J, "clean");
		if (state & TW_STATE_ERROR)
			tu_json_str(&J, "error");
		tu_json_arr_end(&J);
		return;
	}
	snprintf(s, sizeof(s), "%s%s",
		 state & TW_STATE_CLEAN ? "clean" :
					  "not clean (mounted or crashed)",
		 state & TW_STATE_ERROR ? ", errors recorded" : "");
	kv("state", "0x%x  (%s)", state, s);
}

void show_superblock(const struct tw_super *sb, const char *title)
{
	char uuid[TU_UUID_STR_LEN], m[5], sz[32];
	u32 seed = tw_crc32c(~0u, sb->s_uuid, TW_UUID_LEN);
	bool reserved_zero = true;
	size_t i, llen;

	for (i = 0; i < sizeof(sb->s_reserved); i++)
		reserved_zero &= !sb->s_reserved[i];
	for (llen = 0; llen < TW_LABEL_LEN && sb->s_label[llen]; llen++)
		;

	sec("superblock", "%s", title);
	if (json)
		tu_json_ku64(&J, "magic", TW_GET32(sb, s_magic));
	else
		kv("magic", "0x%08x  (\"%s\"%s)", TW_GET32(sb, s_magic),
		   magic_str(TW_GET32(sb, s_magic), m),
		   TW_GET32(sb, s_magic) == TW_SB_MAGIC ? "" : ", WRONG");
	f_crc("crc", TW_GET32(sb, s_crc), tw_super_csum(sb));
	f_u64("version", TW_GET32(sb, s_version));
	f_u64("block_size", TW_GET32(sb, s_block_size));
	f_u64("inode_size", TW_GET32(sb, s_inode_size));
	f_hex("feature_compat", TW_GET32(sb, s_feature_compat), 8);
	f_hex("feature_ro_compat", TW_GET32(sb, s_feature_ro_compat), 8);
	f_hex("feature_incompat", TW_GET32(sb, s_feature_incompat), 8);
	show_state(TW_GET32(sb, s_state));
	f_u64n("blocks_count", TW_GET64(sb, s_blocks_count), "%s",
	       tu_fmt_size(TW_GET64(sb, s_blocks_count) * TW_BLOCK_SIZE, sz,
			   sizeof(sz)));
	f_u64n("free_blocks", TW_GET64(sb, s_free_blocks),
	       "hint; the bitmaps rule");
	f_u64n("inodes_count", TW_GET32(sb, s_inodes_count),
	       "inode slots, incl. slot 0");
	f_u64n("free_inodes", TW_GET32(sb, s_free_inodes),
	       "hint; the bitmaps rule");
	f_u64("root_ino", TW_GET32(sb, s_root_ino));
	f_u64("journal_start", TW_GET64(sb, s_journal_start));
	f_u64("journal_blocks", TW_GET32(sb, s_journal_blocks));
	f_u64("orphan_start", TW_GET64(sb, s_orphan_start));
	f_u64("orphan_blocks", TW_GET32(sb, s_orphan_blocks));
	f_u64("bbitmap_start", TW_GET64(sb, s_bbitmap_start));
	f_u64("bbitmap_blocks", TW_GET32(sb, s_bbitmap_blocks));
	f_u64("ibitmap_start", TW_GET64(sb, s_ibitmap_start));
	f_u64("ibitmap_blocks", TW_GET32(sb, s_ibitmap_blocks));
	f_u64("itable_start", TW_GET64(sb, s_itable_start));
	f_u64("itable_blocks", TW_GET32(sb, s_itable_blocks));
	f_u64("data_start", TW_GET64(sb, s_data_start));
	if (json) {
		tu_json_ku64(&J, "csum_seed", TW_GET32(sb, s_csum_seed));
		tu_json_kbool(&J, "csum_seed_valid",
			      TW_GET32(sb, s_csum_seed) == seed);
	} else {
		kv("csum_seed", "0x%08x  (%s)", TW_GET32(sb, s_csum_seed),
		   TW_GET32(sb, s_csum_seed) == seed ?
			   "= crc32c(~0, uuid)" :
			   "differs from crc32c(~0, uuid)");
	}
	f_hex("hash_seed", TW_GET32(sb, s_hash_seed), 8);
	f_u64("mount_count", TW_GET32(sb, s_mount_count));
	f_time("mkfs_time", (s64)TW_GET64(sb, s_mkfs_time), true);
	f_time("mount_time", (s64)TW_GET64(sb, s_mount_time), true);
	f_time("write_time", (s64)TW_GET64(sb, s_write_time), true);
	f_time("check_time", (s64)TW_GET64(sb, s_check_time), true);
	f_str("uuid", tu_uuid_format(sb->s_uuid, uuid));
	f_name("label", (const char *)sb->s_label, llen);
	f_bool("reserved_zero", reserved_zero);
	sec_end();
}

/* The regions, as the superblock places them. */
void show_layout(const struct tw_super *sb)
{
	static const char *const names[] = {
		"superblock",	"journal",	"orphan table", "block bitmap",
		"inode bitmap", "inode table", "data",
	};
	u64 start[7], len[7];
	int i;

	start[0] = TW_SB_BLOCK;
	len[0] = 1;
	start[1] = TW_GET64(sb, s_journal_start);
	len[1] = TW_GET32(sb, s_journal_blocks);
	start[2] = TW_GET64(sb, s_orphan_start);
	len[2] = TW_GET32(sb, s_orphan_blocks);
	start[3] = TW_GET64(sb, s_bbitmap_start);
	len[3] = TW_GET32(sb, s_bbitmap_blocks);
	start[4] = TW_GET64(sb, s_ibitmap_start);
	len[4] = TW_GET32(sb, s_ibitmap_blocks);
	start[5] = TW_GET64(sb, s_itable_start);
	len[5] = TW_GET32(sb, s_itable_blocks);
	start[6] = TW_GET64(sb, s_data_start);
	len[6] = TW_GET64(sb, s_blocks_count) - start[6];

	list("layout", "Layout (blocks of %u bytes):", TW_BLOCK_SIZE);
	line("%-14s %12s %12s %12s", "region", "first", "last", "blocks");
	for (i = 0; i < 7; i++) {
		if (json) {
			tu_json_obj_begin(&J);
			tu_json_kstr(&J, "region", names[i]);
			tu_json_ku64(&J, "start", start[i]);
			tu_json_ku64(&J, "blocks", len[i]);
			tu_json_obj_end(&J);
		} else {
			line("%-14s %12llu %12llu %12llu", names[i],
			     (unsigned long long)start[i],
			     (unsigned long long)(start[i] + len[i] - 1),
			     (unsigned long long)len[i]);
		}
	}
	list_end();
}

void show_validity(void)
{
	if (json) {
		tu_json_kbool(&J, "valid", !sb_why);
		tu_json_kstr(&J, "invalid_reason", sb_why);
	} else if (sb_why) {
		line("Validator: INVALID: %s", sb_why);
	} else {
		line("Validator: superblock valid (geometry recomputed and matched)");
	}
}

int cmd_superblock(void)
{
	show_superblock(&rsb, "Superblock (block 0, as on disk):");
	show_validity();
	if (!sb_why)
		show_layout(&rsb);
	return sb_why ? 1 : 0;
}
