// SPDX-License-Identifier: GPL-2.0
/*
 * dump.c - twinfs-dump: show what is on a twinfs image, for teaching and
 * debugging, in the manner of debugfs.
 *
 *   twinfs-dump [--json] IMAGE [superblock | inode N | dir N | ls PATH |
 *                               stat PATH | journal | bitmap | orphans |
 *                               block N]
 *   twinfs-dump --help | --version
 *
 * Exit status: 0 shown, 1 the image could not be read or is not valid
 * twinfs, 2 bad usage.  The manual page is man/twinfs-dump.8.in: keep it
 * in step with usage().
 *
 * The image is opened read-only and never written.  Raw structures (the
 * superblock, the journal, a block) are read from the device as they are;
 * everything else is read through the core, mounted with TW_MNT_RDONLY,
 * which checks the image and replays committed journal transactions in
 * memory only (so an image that was not unmounted cleanly can be shown).
 *
 * Layer: tools (user space).  Calls the core's API (twinfs.h) and, to show
 * its structures, the core's internals (tw_int.h: tw_iget, tw_map_lookup,
 * tw_meta_read, tw_file_meta_read, tw_name_hash, ...), the user-space
 * environment (tw_user.h) and toolutil.  It changes nothing.
 */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "toolutil.h"
#include "tw_int.h"

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

static bool json;
static struct tu_json J;
static int ind; /* indentation of human output */
static const char *image;
static struct tw_dev *dev;
static u64 dev_blocks;
static struct tw_super rsb; /* the superblock as it is on disk */
static const char *sb_why; /* NULL if it validates */
static int sb_err;
static struct tw_fs *fs; /* mounted read-only, for the commands that need it */
static FILE *out; /* human output: stdout, or /dev/null for a silent walk */

#define LABEL_W 20

/* ------------------------------------------------------------------------ */
/* Output: one set of calls for both the human and the JSON form            */
/* ------------------------------------------------------------------------ */

static __printf(1, 2) void line(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static __printf(2, 3) void kv(const char *key, const char *fmt, ...)
{
	char label[64];
	va_list ap;

	snprintf(label, sizeof(label), "%s:", key);
	fprintf(out, "%*s%-*s ", ind, "", LABEL_W, label);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* A section: a JSON object under @key, or a titled, indented block. */
static __printf(2, 3) void sec(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (json) {
		tu_json_kobj(&J, key);
		return;
	}
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	ind += 2;
}

static void sec_end(void)
{
	if (json)
		tu_json_obj_end(&J);
	else
		ind -= 2;
}

/* A list: a JSON array under @key, or a titled, indented block. */
static __printf(2, 3) void list(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (json) {
		tu_json_karr(&J, key);
		return;
	}
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	ind += 2;
}

static void list_end(void)
{
	if (json)
		tu_json_arr_end(&J);
	else
		ind -= 2;
}

static void item(void)
{
	if (json)
		tu_json_obj_begin(&J);
}

static void item_end(void)
{
	if (json)
		tu_json_obj_end(&J);
}

static void f_u64(const char *key, u64 v)
{
	if (json)
		tu_json_ku64(&J, key, v);
	else
		kv(key, "%llu", (unsigned long long)v);
}

/* A number with a remark for the human reader. */
static __printf(3, 4) void f_u64n(const char *key, u64 v, const char *fmt,
				  ...)
{
	char note[256];
	va_list ap;

	if (json) {
		tu_json_ku64(&J, key, v);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	kv(key, "%llu  (%s)", (unsigned long long)v, note);
}

static void f_hex(const char *key, u64 v, int digits)
{
	if (json)
		tu_json_ku64(&J, key, v);
	else
		kv(key, "0x%0*llx", digits, (unsigned long long)v);
}

static void f_str(const char *key, const char *s)
{
	if (json)
		tu_json_kstr(&J, key, s);
	else
		kv(key, "%s", s ? s : "(none)");
}

static void f_bool(const char *key, bool v)
{
	if (json)
		tu_json_kbool(&J, key, v);
	else
		kv(key, "%s", v ? "yes" : "no");
}

/* A name of @len bytes: escaped for a terminal, exact in JSON. */
static void f_name(const char *key, const char *name, size_t len)
{
	char buf[4 * 4096 + 1];

	if (json) {
		tu_json_key(&J, key);
		tu_json_strn(&J, name, len);
	} else {
		kv(key, "%s", tu_fmt_name(name, len, buf, sizeof(buf)));
	}
}

/* A timestamp: ns in JSON plus "<key>_iso"; ISO 8601 for humans. */
static void f_time(const char *key, s64 ns, bool zero_is_never)
{
	char t[TU_TIME_LEN], k[64];

	if (zero_is_never && !ns) {
		if (json) {
			tu_json_ks64(&J, key, 0);
			snprintf(k, sizeof(k), "%s_iso", key);
			tu_json_key(&J, k);
			tu_json_null(&J);
		} else {
			kv(key, "never");
		}
		return;
	}
	tu_fmt_time(ns, t, sizeof(t));
	if (json) {
		tu_json_ks64(&J, key, ns);
		snprintf(k, sizeof(k), "%s_iso", key);
		tu_json_kstr(&J, k, t);
	} else {
		kv(key, "%s", t);
	}
}

/* A checksum: stored, computed, verdict. */
static void f_crc(const char *key, u32 stored, u32 computed)
{
	char k[64];

	if (json) {
		tu_json_ku64(&J, key, stored);
		snprintf(k, sizeof(k), "%s_computed", key);
		tu_json_ku64(&J, k, computed);
		snprintf(k, sizeof(k), "%s_valid", key);
		tu_json_kbool(&J, k, stored == computed);
	} else if (stored == computed) {
		kv(key, "0x%08x  (valid)", stored);
	} else {
		kv(key, "0x%08x  (INVALID: computed 0x%08x)", stored, computed);
	}
}

/*
 * Report an error: on stderr always, and as the "error" member of the JSON
 * document's top object (the containers still open are closed first, so
 * that what was shown stays valid JSON).  @err may be 0 for a plain
 * message; a core error gets the core's last error message as its detail.
 * The caller returns at once: no more output follows.
 */
static __printf(2, 3) int fail(int err, const char *fmt, ...)
{
	char msg[512], full[1200];
	const char *detail = err ? tu_log_last(TW_LOG_ERR) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && detail)
		snprintf(full, sizeof(full), "%s: %s (%s)", msg,
			 tu_strerror(err), detail);
	else if (err)
		snprintf(full, sizeof(full), "%s: %s", msg, tu_strerror(err));
	else
		snprintf(full, sizeof(full), "%s", msg);
	tu_err("%s: %s", image, full);
	if (json && J.depth) {
		/* keep what was shown, close it, and put the error on top */
		if (J.want_value)
			tu_json_null(&J);
		while (J.depth > 1) {
			if (J.in_obj[J.depth - 1])
				tu_json_obj_end(&J);
			else
				tu_json_arr_end(&J);
		}
		tu_json_kstr(&J, "error", full);
	}
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Geometry from the on-disk superblock                                     */
/* ------------------------------------------------------------------------ */

#define SB64(f) TW_GET64(&rsb, f)
#define SB32(f) TW_GET32(&rsb, f)

/* Which region block @blk lies in, for humans; NULL if beyond the fs. */
static const char *region_of(u64 blk, char *buf, size_t len)
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

static const char *magic_name(u32 magic)
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
static const char *magic_str(u32 magic, char buf[5])
{
	int i;

	for (i = 0; i < 4; i++) {
		char c = (char)(magic >> (8 * i));

		buf[i] = c >= 0x20 && c < 0x7f ? c : '.';
	}
	buf[4] = '\0';
	return buf;
}

/* ------------------------------------------------------------------------ */
/* superblock                                                               */
/* ------------------------------------------------------------------------ */

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

static void show_superblock(const struct tw_super *sb, const char *title)
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
static void show_layout(const struct tw_super *sb)
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

static void show_validity(void)
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

static int cmd_superblock(void)
{
	show_superblock(&rsb, "Superblock (block 0, as on disk):");
	show_validity();
	if (!sb_why)
		show_layout(&rsb);
	return sb_why ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* journal (raw: read from the device, no replay)                           */
/* ------------------------------------------------------------------------ */

struct jinfo {
	u64 start; /* the journal superblock */
	u32 len;
	u32 body; /* log blocks */
	u32 seed;
};

static u64 jblk(const struct jinfo *j, u32 pos)
{
	return j->start + 1 + pos % j->body;
}

/* Read a raw block: copy it out so that no buffer stays referenced. */
static int raw_read(u64 blk, void *buf)
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
static const char *desc_problem(const struct jinfo *j, u32 pos,
				const void *blk, u64 seq, u32 n, char *buf,
				size_t len)
{
	const struct tw_journal_desc *d = blk;
	const struct tw_blk_hdr *h = blk;
	u32 count = TW_GET32(d, jd_count), mg = TW_GET32(h, h_magic);
	char m[5];

	if (mg != TW_JDESC_MAGIC)
		snprintf(buf, len, "no descriptor (magic 0x%08x \"%s\"%s%s)",
			 mg, magic_str(mg, m), magic_name(mg) ? ": " : "",
			 magic_name(mg) ? magic_name(mg) : "");
	else if (TW_GET64(h, h_blkno) != jblk(j, pos))
		snprintf(buf, len, "descriptor written for block %llu",
			 (unsigned long long)TW_GET64(h, h_blkno));
	else if (TW_GET32(h, h_crc) != tw_block_csum(j->seed, blk))
		snprintf(buf, len, "descriptor checksum mismatch");
	else if (TW_GET64(d, jd_seq) != seq)
		snprintf(buf, len,
			 "descriptor of transaction %llu, expected %llu%s",
			 (unsigned long long)TW_GET64(d, jd_seq),
			 (unsigned long long)seq,
			 TW_GET64(d, jd_seq) < seq ? " (an old one)" : "");
	else if (!count || count > TW_JDESC_SLOTS || n + 1 + count >= j->body)
		snprintf(buf, len, "descriptor block count %u out of range",
			 count);
	else
		return NULL;
	return buf;
}

/*
 * Show the transaction @seq at log position @pos, following the rules of
 * replay (scan_txn() in common/journal.c).  Returns 1 if it is complete
 * (*@len: its blocks before the commit block), 0 if replay stops here
 * (with the reason in @why), or a negative errno.
 */
static int show_txn(const struct jinfo *j, u64 seq, u32 pos, u32 *len,
		    u8 *blk, char *why, size_t whylen)
{
	u32 n = 0, crc = ~0u, i, count;
	bool first = true;
	char reg[96];
	int err;

	for (;;) {
		const struct tw_blk_hdr *h = (void *)blk;
		const struct tw_journal_desc *d = (void *)blk;
		const char *bad;

		if (n >= j->body) {
			snprintf(why, whylen, "no commit block within the log");
			break;
		}
		err = raw_read(jblk(j, pos), blk);
		if (err)
			return err;
		if (n && TW_GET32(h, h_magic) == TW_JCOMMIT_MAGIC) {
			const struct tw_journal_commit *c = (void *)blk;
			bool where = TW_GET64(h, h_blkno) == jblk(j, pos);
			bool hcrc = TW_GET32(h, h_crc) ==
				    tw_block_csum(j->seed, blk);
			bool sq = TW_GET64(c, jc_seq) == seq;
			bool nb = TW_GET32(c, jc_nblocks) == n;
			bool dc = TW_GET32(c, jc_data_crc) == crc;
			bool ok = where && hcrc && sq && nb && dc;

			list_end(); /* descriptors */
			sec("commit", "commit block %llu (position %u):",
			    (unsigned long long)jblk(j, pos), pos);
			f_u64("block", jblk(j, pos));
			f_bool("header_ok", where && hcrc);
			f_u64n("seq", TW_GET64(c, jc_seq), "%s",
			       sq ? "matches" : "WRONG");
			f_u64n("nblocks", TW_GET32(c, jc_nblocks),
			       "%u counted%s", n, nb ? "" : ", WRONG");
			if (json) {
				tu_json_ku64(&J, "data_crc",
					     TW_GET32(c, jc_data_crc));
				tu_json_ku64(&J, "data_crc_computed", crc);
				tu_json_kbool(&J, "data_crc_valid", dc);
			} else {
				kv("data_crc", "0x%08x  (%s 0x%08x)",
				   TW_GET32(c, jc_data_crc),
				   dc ? "valid: chained crc32c is" :
					"INVALID: chained crc32c is",
				   crc);
			}
			f_time("time", (s64)TW_GET64(c, jc_time), false);
			sec_end();
			*len = n;
			if (!ok)
				snprintf(why, whylen,
					 "commit block of transaction %llu does not match (torn transaction)",
					 (unsigned long long)seq);
			return ok;
		}
		bad = desc_problem(j, pos, blk, seq, n, why, whylen);
		if (bad) {
			if (first)
				return 0;
			list_end();
			return 0;
		}
		if (first) {
			list("descriptors", "descriptors:");
			first = false;
		}
		count = TW_GET32(d, jd_count);
		crc = tw_crc32c(crc, blk, TW_BLOCK_SIZE);
		item();
		if (json) {
			tu_json_ku64(&J, "block", jblk(j, pos));
			tu_json_ku64(&J, "position", pos);
			tu_json_ku64(&J, "count", count);
			tu_json_karr(&J, "targets");
		} else {
			line("descriptor at block %llu (position %u): %u block%s",
			     (unsigned long long)jblk(j, pos), pos, count,
			     count == 1 ? "" : "s");
			ind += 2;
		}
		for (i = 0; i < count; i++) {
			u64 t = TW_GET64(d, jd_target[i]);
			const char *r = region_of(t, reg, sizeof(reg));

			if (json) {
				tu_json_obj_begin(&J);
				tu_json_ku64(&J, "target", t);
				tu_json_ku64(&J, "copy_block",
					     jblk(j, pos + 1 + i));
				tu_json_kstr(&J, "region",
					     r ? r : "beyond the filesystem");
				tu_json_obj_end(&J);
			} else {
				line("copy at %-8llu -> block %-10llu %s",
				     (unsigned long long)jblk(j, pos + 1 + i),
				     (unsigned long long)t,
				     r ? r : "BEYOND THE FILESYSTEM");
			}
		}
		if (json)
			tu_json_arr_end(&J);
		else
			ind -= 2;
		item_end();
		/* the copies follow; they count in the chained crc */
		pos = (pos + 1) % j->body;
		n++;
		for (i = 0; i < count; i++) {
			err = raw_read(jblk(j, pos), blk);
			if (err)
				return err;
			crc = tw_crc32c(crc, blk, TW_BLOCK_SIZE);
			pos = (pos + 1) % j->body;
			n++;
		}
	}
	if (!first)
		list_end();
	return 0;
}

/*
 * Walk the log from the journal superblock as replay does (replay() in
 * common/journal.c) and show every transaction found.  *@ntx receives how
 * many replay would apply.  See silent() for a walk that shows nothing.
 */
static int scan_journal(u32 *ntx, char *jwhy, size_t jwhylen)
{
	struct jinfo j;
	const struct tw_journal_super *js;
	u32 pos, scanned = 0, len = 0, start;
	char why[256] = "", m[5];
	bool jsb_ok;
	u8 *blk;
	u64 seq;
	int r, err = 0;

	*ntx = 0;
	jwhy[0] = '\0';
	j.start = SB64(s_journal_start);
	j.len = SB32(s_journal_blocks);
	j.body = j.len - 1;
	j.seed = SB32(s_csum_seed);
	blk = malloc(TW_BLOCK_SIZE);
	if (!blk)
		return -ENOMEM;
	err = raw_read(j.start, blk);
	if (err) {
		free(blk);
		return err;
	}
	js = (void *)blk;
	seq = TW_GET64(js, js_seq);
	start = TW_GET32(js, js_start);
	jsb_ok = TW_GET32(js, js_hdr.h_magic) == TW_JSB_MAGIC &&
		 TW_GET64(js, js_hdr.h_blkno) == j.start &&
		 TW_GET32(js, js_hdr.h_crc) == tw_block_csum(j.seed, blk) &&
		 start >= 1 && start <= j.body;
	{
		sec("journal_superblock", "Journal superblock (block %llu):",
		    (unsigned long long)j.start);
		if (json)
			tu_json_ku64(&J, "magic", TW_GET32(js, js_hdr.h_magic));
		else
			kv("magic", "0x%08x  (\"%s\")",
			   TW_GET32(js, js_hdr.h_magic),
			   magic_str(TW_GET32(js, js_hdr.h_magic), m));
		f_crc("crc", TW_GET32(js, js_hdr.h_crc),
		      tw_block_csum(j.seed, blk));
		f_u64n("blkno", TW_GET64(js, js_hdr.h_blkno), "%s",
		       TW_GET64(js, js_hdr.h_blkno) == j.start ? "matches" :
								"WRONG");
		f_u64n("seq", seq, "transaction expected at the start");
		f_u64n("start", start, "log position %u = block %llu",
		       start - 1,
		       (unsigned long long)jblk(&j, start ? start - 1 : 0));
		f_bool("valid", jsb_ok);
		sec_end();
	}
	if (!jsb_ok) {
		if (TW_GET32(js, js_hdr.h_magic) != TW_JSB_MAGIC)
			snprintf(jwhy, jwhylen, "bad magic");
		else if (TW_GET64(js, js_hdr.h_blkno) != j.start)
			snprintf(jwhy, jwhylen, "written for block %llu",
				 (unsigned long long)TW_GET64(js,
							      js_hdr.h_blkno));
		else if (TW_GET32(js, js_hdr.h_crc) !=
			 tw_block_csum(j.seed, blk))
			snprintf(jwhy, jwhylen, "checksum mismatch");
		else
			snprintf(jwhy, jwhylen, "start %u out of range 1..%u",
				 start, j.body);
		err = TW_GET32(js, js_hdr.h_magic) == TW_JSB_MAGIC &&
				      TW_GET32(js, js_hdr.h_crc) !=
					      tw_block_csum(j.seed, blk) ?
			      -EBADMSG :
			      -EUCLEAN;
		free(blk);
		return err;
	}

	pos = start - 1;
	list("transactions",
	     "Transactions in the log (replay order, from position %u):", pos);
	while (scanned < j.body) {
		/* replay stops where no descriptor of the next seq starts */
		err = raw_read(jblk(&j, pos), blk);
		if (err)
			break;
		if (desc_problem(&j, pos, blk, seq, 0, why, sizeof(why)))
			break;
		item();
		if (json) {
			tu_json_ku64(&J, "seq", seq);
			tu_json_ku64(&J, "position", pos);
			tu_json_ku64(&J, "block", jblk(&j, pos));
		} else {
			line("transaction %llu at position %u (block %llu):",
			     (unsigned long long)seq, pos,
			     (unsigned long long)jblk(&j, pos));
		}
		ind += 2;
		len = 0;
		r = show_txn(&j, seq, pos, &len, blk, why, sizeof(why));
		ind -= 2;
		if (json)
			tu_json_kbool(&J, "complete", r > 0);
		else if (r > 0)
			line("  -> complete: replay copies it home");
		else if (r == 0)
			line("  -> incomplete: replay stops here");
		item_end();
		if (r < 0)
			err = r;
		if (r <= 0)
			break;
		(*ntx)++;
		pos = (pos + len + 1) % j.body;
		scanned += len + 1;
		seq++;
		why[0] = '\0';
	}
	if (!*ntx && !err)
		line("(none)");
	list_end();
	sec("end", "End of the log:");
	f_u64("position", pos);
	f_u64("block", jblk(&j, pos));
	f_str("reason", why[0] ? why : "the whole log was scanned");
	f_u64n("replayable_transactions", *ntx, "%s",
	       *ntx ? "the filesystem needs recovery" : "nothing to replay");
	sec_end();
	free(blk);
	return err;
}

static int cmd_journal(void)
{
	char jwhy[128];
	u32 ntx;
	int err;

	sec("journal", "Journal: %u blocks from block %llu (a superblock and a %u-block circular log)",
	    SB32(s_journal_blocks), (unsigned long long)SB64(s_journal_start),
	    SB32(s_journal_blocks) - 1);
	f_u64("start", SB64(s_journal_start));
	f_u64("blocks", SB32(s_journal_blocks));
	tu_log_clear();
	err = scan_journal(&ntx, jwhy, sizeof(jwhy));
	sec_end();
	if (err && jwhy[0])
		return fail(0, "invalid journal superblock: %s (%s)", jwhy,
			    tu_strerror(err));
	if (err)
		return fail(err, "reading the journal");
	return 0;
}

/* The same walk with all output suppressed: for the summary's count. */
static int count_replayable(u32 *ntx, char *jwhy, size_t jwhylen)
{
	bool was_json = json;
	FILE *was_out = out, *null;
	int was_ind = ind, err;

	null = fopen("/dev/null", "w");
	if (!null)
		return -errno;
	json = false;
	out = null;
	err = scan_journal(ntx, jwhy, jwhylen);
	fclose(null);
	json = was_json;
	out = was_out;
	ind = was_ind;
	return err;
}

/* ------------------------------------------------------------------------ */
/* Mounting read-only                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Mount through the core: the validator, the journal replayed in memory,
 * the root inode checked.  The core's messages are shown with the result.
 */
static int do_mount(bool show)
{
	struct tw_mount_opts mo = { .flags = TW_MNT_RDONLY |
					     TW_MNT_NOATIME };
	unsigned int i, n;
	int err, level;

	tu_log_clear();
	err = tw_mount(dev, dev_blocks, &mo, &fs);
	if (err) {
		fs = NULL;
		return fail(err, "cannot mount read-only");
	}
	n = tu_log_count();
	if (!show) {
		/* not part of the output: pass warnings on to stderr */
		for (i = 0; i < n; i++) {
			const char *msg = tu_log_get(i, &level);

			if (level <= TW_LOG_WARN)
				tu_err("%s: %s", image, msg);
		}
		return 0;
	}
	sec("mount", "Mount (read-only, journal replayed in memory only):");
	f_str("result", "ok");
	if (json) {
		tu_json_karr(&J, "messages");
		for (i = 0; i < n; i++)
			tu_json_str(&J, tu_log_get(i, NULL));
		tu_json_arr_end(&J);
	} else {
		for (i = 0; i < n; i++)
			kv("message", "%s", tu_log_get(i, NULL));
	}
	sec_end();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Inodes and the block map                                                 */
/* ------------------------------------------------------------------------ */

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

static int show_dir_brief(struct tw_ictx *ic);

static int show_inode(u64 ino, const char *path)
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
		kv("flags", "0x%04x%s", flags,
		   flags & TW_IFL_INLINE ? "  (inline symlink target)" : "");
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

/* ------------------------------------------------------------------------ */
/* Directories                                                              */
/* ------------------------------------------------------------------------ */

/* The bucket of @hash: the rule of bucket_of() in common/dir.c. */
static u32 bucket_for(u32 level, u32 split, u32 hash)
{
	u32 b = hash & ((1u << level) - 1);

	if (b < split)
		b = hash & ((2u << level) - 1);
	return b;
}

struct dirhdr {
	u32 parent, level, split, data_blocks, flags, nbuckets;
	u64 entries;
	u64 pblk;
};

static int read_dir_header(struct tw_ictx *ic, struct dirhdr *d)
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

static int show_dir_brief(struct tw_ictx *ic)
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

static int cmd_dir(u64 ino)
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

/* ------------------------------------------------------------------------ */
/* Paths: ls and stat                                                       */
/* ------------------------------------------------------------------------ */

/* Resolve @path from the root, component by component (symlinks are not
 * followed: the last component is shown as it is, like lstat). */
static int resolve(const char *path, u64 *ino)
{
	struct tw_attr a;
	const char *p = path, *e;
	u64 cur = TW_ROOT_INO;
	int err;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		for (e = p; *e && *e != '/'; e++)
			;
		tu_log_clear();
		err = tw_lookup(fs, cur, p, (u32)(e - p), &a);
		if (err)
			return err;
		if (*e && !TW_S_ISDIR(a.mode))
			return -ENOTDIR;
		cur = a.ino;
		p = e;
	}
	*ino = cur;
	return 0;
}

struct ls_ent {
	char *name;
	u32 len;
	u64 ino;
	u32 dtype;
	u64 cookie;
};

struct ls_ctx {
	struct ls_ent *e;
	size_t n, cap;
	int err;
};

static int ls_collect(void *ctx, const char *name, u32 len, u64 ino,
		      u32 dtype, u64 next)
{
	struct ls_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct ls_ent *n = realloc(c->e, cap * sizeof(*n));

		if (!n) {
			c->err = -ENOMEM;
			return 1;
		}
		c->e = n;
		c->cap = cap;
	}
	c->e[c->n].name = malloc(len ? len : 1);
	if (!c->e[c->n].name) {
		c->err = -ENOMEM;
		return 1;
	}
	memcpy(c->e[c->n].name, name, len);
	c->e[c->n].len = len;
	c->e[c->n].ino = ino;
	c->e[c->n].dtype = dtype;
	c->e[c->n].cookie = next - 1;
	c->n++;
	return 0;
}

/* One ls -l line (or JSON object) for an inode shown under @name. */
static void ls_line(const char *name, u32 len, u64 ino, u64 cookie,
		    bool with_cookie)
{
	char modes[12], t[TU_TIME_LEN], nb[1100], tb[4200], tgt[4096];
	struct tw_attr a;
	ssize_t tl = -1;
	int err;

	tu_log_clear();
	err = tw_getattr(fs, ino, &a);
	if (!err && TW_S_ISLNK(a.mode))
		tl = tw_readlink(fs, ino, tgt, sizeof(tgt));
	if (json) {
		tu_json_obj_begin(&J);
		tu_json_key(&J, "name");
		tu_json_strn(&J, name, len);
		tu_json_ku64(&J, "ino", ino);
		if (with_cookie)
			tu_json_ku64(&J, "cookie", cookie);
		if (err) {
			tu_json_kstr(&J, "error", tu_strerror(err));
		} else {
			tu_json_ku64(&J, "mode", a.mode);
			tu_json_kstr(&J, "mode_string", tu_fmt_mode(a.mode,
								    modes));
			tu_json_ku64(&J, "nlink", a.nlink);
			tu_json_ku64(&J, "uid", a.uid);
			tu_json_ku64(&J, "gid", a.gid);
			tu_json_ku64(&J, "size", a.size);
			tu_json_ks64(&J, "mtime", a.mtime);
			tu_json_kstr(&J, "mtime_iso",
				     tu_fmt_time(a.mtime, t, sizeof(t)));
			if (tl >= 0) {
				tu_json_key(&J, "target");
				tu_json_strn(&J, tgt, (size_t)tl);
			}
		}
		tu_json_obj_end(&J);
		return;
	}
	tu_fmt_name(name, len, nb, sizeof(nb));
	if (err) {
		line("%10llu  ?  %s: %s", (unsigned long long)ino, nb,
		     tu_strerror(err));
		return;
	}
	tu_fmt_time(a.mtime, t, sizeof(t));
	t[19] = '\0'; /* seconds are enough in a listing */
	line("%8llu %s %3u %5u %5u %10llu %s %s%s%s", (unsigned long long)ino,
	     tu_fmt_mode(a.mode, modes), a.nlink, a.uid, a.gid,
	     (unsigned long long)a.size, t, nb, tl >= 0 ? " -> " : "",
	     tl >= 0 ? tu_fmt_name(tgt, (size_t)tl, tb, sizeof(tb)) : "");
}

static int cmd_ls(const char *path)
{
	struct ls_ctx c = { 0 };
	struct tw_attr a;
	u64 ino;
	size_t i;
	int err;

	err = resolve(path, &ino);
	if (err)
		return fail(err, "%s", path);
	err = tw_getattr(fs, ino, &a);
	if (err)
		return fail(err, "%s", path);
	if (json)
		tu_json_kstr(&J, "path", path);
	if (!TW_S_ISDIR(a.mode)) {
		list("entries", "%s:", path);
		ls_line(path, (u32)strlen(path), ino, 0, false);
		list_end();
		return 0;
	}
	tu_log_clear();
	err = tw_readdir(fs, ino, 0, ls_collect, &c);
	if (!err)
		err = c.err;
	if (!err) {
		list("entries", "%s (directory %llu, %zu entries incl. . and ..):",
		     path, (unsigned long long)ino, c.n);
		line("%8s %-10s %3s %5s %5s %10s %-19s %s", "ino", "mode",
		     "lnk", "uid", "gid", "size", "mtime", "name");
		for (i = 0; i < c.n; i++)
			ls_line(c.e[i].name, c.e[i].len, c.e[i].ino,
				c.e[i].cookie, true);
		list_end();
	}
	for (i = 0; i < c.n; i++)
		free(c.e[i].name);
	free(c.e);
	if (err)
		return fail(err, "%s: readdir", path);
	return 0;
}

static int cmd_stat(const char *path)
{
	u64 ino;
	int err = resolve(path, &ino);

	if (err)
		return fail(err, "%s", path);
	return show_inode(ino, path);
}

/* ------------------------------------------------------------------------ */
/* Bitmaps                                                                  */
/* ------------------------------------------------------------------------ */

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

static int cmd_bitmap(void)
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

/* ------------------------------------------------------------------------ */
/* Orphans                                                                  */
/* ------------------------------------------------------------------------ */

static int cmd_orphans(u64 *count, bool show)
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

/* ------------------------------------------------------------------------ */
/* block N (raw)                                                            */
/* ------------------------------------------------------------------------ */

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

		sec("fields", "Extended attributes:");
		f_u64("xh_count", TW_GET32(xh, xh_count));
		f_u64n("xh_used", TW_GET32(xh, xh_used), "of %u bytes",
		       (unsigned int)TW_XATTR_SPACE);
		sec_end();
		break;
	}
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

static int cmd_block(u64 blk)
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

/* ------------------------------------------------------------------------ */
/* The default: a summary                                                   */
/* ------------------------------------------------------------------------ */

static int cmd_summary(void)
{
	struct tw_statfs st;
	struct tw_ictx root;
	struct dirhdr d;
	u64 orphans = 0;
	u32 ntx = 0;
	char s1[32], s2[32], jwhy[128];
	int err;

	show_superblock(&rsb, "Superblock (block 0, as on disk):");
	show_validity();
	if (sb_why)
		return 1;
	show_layout(&rsb);

	tu_log_clear();
	err = count_replayable(&ntx, jwhy, sizeof(jwhy));
	sec("journal", "Journal:");
	if (err) {
		sec_end();
		if (jwhy[0])
			return fail(0, "invalid journal superblock: %s (%s)",
				    jwhy, tu_strerror(err));
		return fail(err, "journal");
	}
	f_u64n("replayable_transactions", ntx, "%s",
	       ntx ? "not unmounted cleanly: mount replays them" :
		     "the log is empty");
	sec_end();

	if (do_mount(true))
		return 1;
	tw_statfs(fs, &st);
	sec("usage", "Usage (counted from the bitmaps at mount):");
	f_u64n("data_blocks", st.blocks, "%s after the metadata",
	       tu_fmt_size(st.blocks * TW_BLOCK_SIZE, s1, sizeof(s1)));
	f_u64n("free_blocks", st.bfree, "%s",
	       tu_fmt_size(st.bfree * TW_BLOCK_SIZE, s2, sizeof(s2)));
	f_u64n("inodes", st.files, "usable: slot 0 is never used");
	f_u64("free_inodes", st.ffree);
	f_u64("name_max", st.namelen);
	sec_end();

	err = cmd_orphans(&orphans, false);
	if (err)
		return err;
	tu_log_clear();
	err = tw_iget(fs, TW_ROOT_INO, &root);
	if (!err) {
		err = read_dir_header(&root, &d);
		tw_iput(&root);
	}
	if (err)
		return fail(err, "root directory");
	sec("root", "Root directory (inode %u):", TW_ROOT_INO);
	f_u64("entries", d.entries);
	f_u64("entry_blocks", d.data_blocks);
	f_bool("indexed", d.flags & TW_DIRH_INDEXED);
	sec_end();
	sec("orphans", "Orphan table:");
	f_u64n("count", orphans, "%s",
	       orphans ? "a read-write mount finishes their work" :
			 "empty");
	sec_end();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--json] IMAGE [COMMAND [ARG]]\n"
		"\n"
		"Show the contents of a twinfs image (read-only; never writes).\n"
		"\n"
		"Commands:\n"
		"  (none)        the superblock and a summary\n"
		"  superblock    every superblock field, the validator's verdict, the layout\n"
		"  inode N       inode N: fields, block map, xattrs\n"
		"  stat PATH     the same for the inode at PATH (from the root)\n"
		"  dir N         directory N: header, entry blocks, buckets, entries\n"
		"  ls PATH       list a directory like ls -l (with inode numbers)\n"
		"  journal       the journal superblock and the transactions in the log\n"
		"  bitmap        the block and inode bitmaps as runs of used bits\n"
		"  orphans       the orphan table\n"
		"  block N       block N as on disk: region, header, hex dump\n"
		"\n"
		"Options:\n"
		"  -j, --json     write JSON instead of text\n"
		"  -V, --version  print the version and exit\n"
		"  -h, --help     print this help and exit\n"
		"\n"
		"superblock, journal and block N read the device as it is; the others\n"
		"mount the image read-only through the core, which replays committed\n"
		"journal transactions in memory only.\n"
		"\n"
		"Exit status: 0 shown, 1 unreadable or invalid image, 2 bad usage.\n"
		"See twinfs-dump(8).\n",
		tu_prog);
}

static int parse_num(const char *cmd, const char *arg, u64 max, u64 *v)
{
	if (!arg) {
		tu_err("%s: missing number", cmd);
		return -EINVAL;
	}
	if (tu_parse_u64(arg, max, v)) {
		tu_err("%s: bad number '%s'", cmd, arg);
		return -EINVAL;
	}
	return 0;
}

static bool needs_mount(const char *cmd)
{
	return cmd && strcmp(cmd, "superblock") && strcmp(cmd, "journal") &&
	       strcmp(cmd, "block");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = NULL, *arg = NULL;
	struct tw_buf *b;
	u64 num = 0;
	int c, err, ret = 0, nargs;

	tu_set_prog(argv[0]);
	out = stdout;
	while ((c = getopt_long(argc, argv, "jVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'V':
			tu_version("twinfs-dump");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt has said what is wrong */
			tu_try_help();
			return 2;
		}
	}
	nargs = argc - optind;
	if (nargs < 1 || nargs > 3) {
		if (nargs < 1)
			tu_err("missing IMAGE");
		else
			tu_err("too many arguments: '%s'", argv[optind + 3]);
		tu_try_help();
		return 2;
	}
	image = argv[optind];
	if (nargs >= 2)
		cmd = argv[optind + 1];
	if (nargs == 3)
		arg = argv[optind + 2];

	/* check the command line before touching the image */
	if (!cmd || !strcmp(cmd, "superblock") || !strcmp(cmd, "journal") ||
	    !strcmp(cmd, "bitmap") || !strcmp(cmd, "orphans")) {
		if (arg) {
			tu_err("%s: unexpected argument '%s'",
			       cmd ? cmd : "summary", arg);
			return 2;
		}
	} else if (!strcmp(cmd, "inode") || !strcmp(cmd, "dir")) {
		if (parse_num(cmd, arg, 0xffffffffu, &num))
			return 2;
	} else if (!strcmp(cmd, "block")) {
		if (parse_num(cmd, arg, ~0ull, &num))
			return 2;
	} else if (!strcmp(cmd, "ls") || !strcmp(cmd, "stat")) {
		if (!arg) {
			tu_err("%s: missing PATH", cmd);
			return 2;
		}
	} else {
		tu_err("unknown command '%s'", cmd);
		tu_try_help();
		return 2;
	}

	/* the core's messages are shown where they belong, not as they come */
	tu_log_capture(-1);
	dev = tu_open(image, false, &err);
	if (!dev) {
		tu_err_path(image, err, NULL);
		return 1;
	}
	dev_blocks = tw_udev_blocks(dev);
	if (json) {
		tu_json_init(&J, stdout);
		tu_json_obj_begin(&J);
		tu_json_kstr(&J, "image", image);
		tu_json_kstr(&J, "command", cmd ? cmd : "summary");
		if (arg)
			tu_json_kstr(&J, "argument", arg);
		tu_json_ku64(&J, "device_blocks", dev_blocks);
	} else {
		line("twinfs image %s: %llu blocks of %u bytes", image,
		     (unsigned long long)dev_blocks, TW_BLOCK_SIZE);
	}

	if (!dev_blocks) {
		sb_why = "the device is smaller than one block";
		sb_err = -EUCLEAN;
	} else {
		err = tw_buf_read(dev, TW_SB_BLOCK, &b);
		if (err) {
			ret = fail(err, "reading the superblock");
			goto out;
		}
		memcpy(&rsb, tw_buf_data(b), sizeof(rsb));
		tw_buf_release(b);
		sb_err = tw_validate_super(&rsb, dev_blocks, &sb_why);
	}
	if (sb_why && !(cmd && (!strcmp(cmd, "block") ||
				!strcmp(cmd, "superblock")))) {
		ret = fail(0, "not a valid twinfs filesystem: %s (%s)", sb_why,
			   tu_strerror(sb_err));
		goto out;
	}
	if (needs_mount(cmd) && do_mount(false)) {
		ret = 1;
		goto out;
	}

	if (!cmd)
		ret = cmd_summary();
	else if (!strcmp(cmd, "superblock"))
		ret = cmd_superblock();
	else if (!strcmp(cmd, "journal"))
		ret = cmd_journal();
	else if (!strcmp(cmd, "block"))
		ret = cmd_block(num);
	else if (!strcmp(cmd, "inode"))
		ret = show_inode(num, NULL);
	else if (!strcmp(cmd, "dir"))
		ret = cmd_dir(num);
	else if (!strcmp(cmd, "ls"))
		ret = cmd_ls(arg);
	else if (!strcmp(cmd, "stat"))
		ret = cmd_stat(arg);
	else if (!strcmp(cmd, "bitmap"))
		ret = cmd_bitmap();
	else if (!strcmp(cmd, "orphans")) {
		u64 n;

		ret = cmd_orphans(&n, true);
	}
out:
	if (json)
		tu_json_finish(&J);
	if (fs) {
		err = tw_unmount(fs);
		if (err && !ret)
			ret = fail(err, "unmounting");
	}
	err = tw_udev_close(dev);
	if (err && !ret) {
		tu_err_path(image, err, "closing");
		ret = 1;
	}
	fflush(stdout);
	return ret;
}
