// SPDX-License-Identifier: GPL-2.0
/*
 * dump_journal.c - twinfs-dump's journal command: the journal superblock
 * and the log, read raw from the device (no replay), transaction by
 * transaction as replay would find them, and where and why the log ends;
 * the same walk, silent, counts the replayable transactions for the
 * summary.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output and raw block reads (dump_out.c, dump_block.c), the core's
 * journal format and checksums (tw_int.h), toolutil and the C library.
 */
#include "dump.h"

#include <stdlib.h>

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

int cmd_journal(void)
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
int count_replayable(u32 *ntx, char *jwhy, size_t jwhylen)
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
