// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_xattr.c - the checker's look at an inode's extended attributes
 * (docs/format.md section 11), for pass 1 (fsck_inode.c):
 *
 *   - the one-block form: the entry block's header and entries (the core's
 *     validator, tw_xattr_entries_ok());
 *   - the indexed form: the XATTR_INDEX feature; the index block (header,
 *     tw_xattr_index_ok()); each entry block it lists (in range, not
 *     claimed before, header and entries, tw_xattr_block_ok()); a name
 *     only once across the blocks and all names within what one
 *     listxattr() returns; and each value in value blocks: every block in
 *     range, of the inode, holding its share of the value, the value's
 *     crc32c, and no block claimed twice;
 *   - in both, the POSIX ACLs among the entries (tw_acl_check()).
 *
 * Repairs lose the least that makes the inode whole again: a bad value
 * takes its attribute, a bad entry block its entries, a bad index all of
 * them.  Blocks no longer owned are freed by pass 6 (they stay unclaimed).
 * Every block kept is claimed and counted for i_blocks.
 *
 * Layer: tools, a part of the checker (fsck.h).  Calls fsck_util.c, the
 * core's validators and internals (tw_int.h), the user-space environment
 * and the C library.
 */
#include "tw_user.h"
#include "fsck_xattr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why the system. entry @e of a directory (@isdir) or not is bad, or NULL. */
static const char *acl_problem(const struct tw_xattr_entry *e, bool isdir)
{
	const char *name = (const char *)(e + 1);
	int type = tw_acl_type(name, e->xe_name_len);

	if (!type)
		return "unknown system. attribute";
	if (tw_acl_check(name + e->xe_name_len, TW_GET16(e, xe_value_len)))
		return "malformed ACL";
	if (type == TW_ACL_TYPE_DEFAULT && !isdir)
		return "default ACL on a non-directory";
	return NULL;
}

/* The length of the (checked) entry at @off of @xh. */
static u32 ent_len(struct tw_xattr_header *xh, u32 off)
{
	struct tw_xattr_entry *e = (void *)((u8 *)(xh + 1) + off);

	return TW_XATTR_ENTRY_LEN(e->xe_name_len, TW_GET16(e, xe_value_len));
}

/* Remove the entry at @off, closing the gap, as the core does. */
static void ent_remove(struct tw_xattr_header *xh, u32 off)
{
	u8 *base = (u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), len = ent_len(xh, off);

	memmove(base + off, base + off + len, used - off - len);
	memset(base + used - len, 0, len);
	TW_SET32(xh, xh_used, used - len);
	TW_SET32(xh, xh_count, TW_GET32(xh, xh_count) - 1);
}

u32 fsck_xattr_acls(struct tw_xattr_header *xh, u64 ino, bool isdir,
		    fsck_report_fn report, void *ctx)
{
	u8 *base = (u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), off = 0, removed = 0;
	char msg[384];

	while (off < used) {
		struct tw_xattr_entry *e = (void *)(base + off);
		u32 len = ent_len(xh, off);
		const char *why = NULL;

		if (e->xe_ns == TW_XATTR_NS_SYSTEM)
			why = acl_problem(e, isdir);
		if (why) {
			snprintf(msg, sizeof(msg),
				 "inode %llu: %s system.%.*s; remove",
				 (unsigned long long)ino, why,
				 (int)e->xe_name_len, (const char *)(e + 1));
			if (report(ctx, msg)) {
				ent_remove(xh, off);
				used -= len;
				removed++;
				continue;
			}
		}
		off += len;
	}
	return removed;
}

/* fsck_xattr_acls()'s reports: dropping an ACL changes access, not for -p */
static bool acl_report(void *ctx, const char *msg)
{
	return fsck_problem(ctx, false, "%s", msg);
}

/* ---- the one-block form ---- */

static int check_single(struct fsck_ctx *c, u64 ino, struct tw_inode *di,
			u64 *count, bool *changed)
{
	u64 xb = TW_GET64(di, i_xattr);
	struct tw_buf *x;
	int r;

	r = fsck_take(c, ino, xb, "xattr");
	if (r == 0) {
		di->i_xattr = 0;
		*changed = true;
	}
	if (r <= 0)
		return 0;
	(*count)++;
	r = fsck_hdr_block(c, xb, TW_XATTR_MAGIC, ino, &x);
	if (r < 0)
		return r;
	if (!r || !tw_xattr_entries_ok(tw_bdata(x))) {
		if (fsck_problem(c, false,
				 "inode %llu: xattr block damaged; clear",
				 (unsigned long long)ino)) {
			di->i_xattr = 0;
			fsck_unclaim(c, xb);
			(*count)--;
			*changed = true;
		}
	} else if (fsck_xattr_acls(tw_bdata(x), ino,
				   TW_S_ISDIR(TW_GET16(di, i_mode)), acl_report,
				   c)) {
		struct tw_xattr_header *xh = tw_bdata(x);

		if (TW_GET32(xh, xh_count)) {
			fsck_reseal(c, x);
		} else {
			/* nothing left: the block goes (pass 6 frees it) */
			di->i_xattr = 0;
			fsck_unclaim(c, xb);
			(*count)--;
			*changed = true;
		}
	}
	tw_buf_release(x);
	return 0;
}

/* ---- the indexed form ---- */

/*
 * The names kept so far in one inode's entry blocks: open addressing over
 * copies in an arena.  Only names within TW_XATTR_LIST_MAX are added, so
 * at most 9362 (of one byte, "user.X") and 64 KiB of them.
 */
#define NAMES_CAP 16384u

struct names {
	struct {
		u32 at; /* arena offset + 1; 0: free slot */
		u8 ns, len;
	} slot[NAMES_CAP];
	u8 arena[TW_XATTR_LIST_MAX];
	u32 used; /* arena bytes */
	u32 list; /* listxattr() bytes of the names kept */
};

static u32 names_slot(struct names *s, u8 ns, const u8 *name, u8 len)
{
	u32 i;

	for (i = tw_crc32c(ns, name, len) & (NAMES_CAP - 1); s->slot[i].at;
	     i = (i + 1) & (NAMES_CAP - 1))
		if (s->slot[i].ns == ns && s->slot[i].len == len &&
		    !memcmp(s->arena + s->slot[i].at - 1, name, len))
			break;
	return i;
}

static bool names_has(struct names *s, u8 ns, const u8 *name, u8 len)
{
	return s->slot[names_slot(s, ns, name, len)].at;
}

/* Keep a name (not there yet, and within the list's limit). */
static void names_add(struct names *s, u8 ns, const u8 *name, u8 len,
		      u32 listed)
{
	u32 i = names_slot(s, ns, name, len);

	memcpy(s->arena + s->used, name, len);
	s->slot[i].at = s->used + 1;
	s->slot[i].ns = ns;
	s->slot[i].len = len;
	s->used += len;
	s->list += listed;
}

static const char *ns_prefix(u8 ns)
{
	switch (ns) {
	case TW_XATTR_NS_USER:
		return "user.";
	case TW_XATTR_NS_TRUSTED:
		return "trusted.";
	case TW_XATTR_NS_SECURITY:
		return "security.";
	default:
		return "system.";
	}
}

/* Read a little-endian field at any alignment (a reference in an entry). */
static u64 rdle(const u8 *p, int n)
{
	u64 v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * Check the value blocks an external entry's reference @ref names: 1 the
 * value is whole (its blocks are then claimed), 0 it is not (a problem to
 * report), <0 an I/O error.  *@why says what is wrong.
 */
static int check_value(struct fsck_ctx *c, u64 ino, const u8 *ref,
		       const char **why, u32 *nblocks)
{
	u32 len = (u32)rdle(ref, 4), n = tw_xattr_val_blocks(len), k, m;
	u32 crc = ~0u;
	int r;

	*nblocks = n;
	for (k = 0; k < n; k++) {
		u32 part = k + 1 < n ? TW_XVAL_PER_BLOCK :
				       len - k * TW_XVAL_PER_BLOCK;
		u64 blk = rdle(ref + 8 + 8 * k, 8);
		struct tw_blk_hdr *h;
		struct tw_buf *b;

		if (blk < c->fs->data_start || blk >= c->nblocks) {
			*why = "a value block out of range";
			return 0;
		}
		r = fsck_hdr_block(c, blk, TW_XVAL_MAGIC, ino, &b);
		if (r < 0)
			return r;
		h = tw_bdata(b);
		if (!r || TW_GET32(h, h_aux) != part) {
			tw_buf_release(b);
			*why = "a value block damaged";
			return 0;
		}
		crc = tw_crc32c(crc, h + 1, part);
		tw_buf_release(b);
	}
	if (crc != (u32)rdle(ref + 4, 4)) {
		*why = "value checksum mismatch";
		return 0;
	}
	/* whole: its blocks are the inode's, unless another entry has one */
	for (k = 0; k < n; k++) {
		u64 blk = rdle(ref + 8 + 8 * k, 8);

		if (fsck_claimed(c, blk)) {
			for (m = 0; m < k; m++)
				fsck_unclaim(c, rdle(ref + 8 + 8 * m, 8));
			*why = "a value block used twice";
			return 0;
		}
		fsck_claim(c, blk);
	}
	return 1;
}

/*
 * Entry block @i of the index @xi: 1 kept (claimed, counted with its
 * values), 0 to be dropped from the index, <0 an I/O error.
 */
static int check_entry_block(struct fsck_ctx *c, u64 ino, bool isdir,
			     struct tw_xattr_index *xi, u32 i,
			     struct names *seen, u64 *count)
{
	u64 blk = TW_GET64(xi, xi_block[i]);
	struct tw_xattr_header *xh;
	struct tw_buf *x;
	bool dirty = false;
	u32 off, used;
	int r;

	r = fsck_take(c, ino, blk, "xattr entry");
	if (r <= 0)
		return r == 0 ? 0 : 1; /* -1: bad but left */
	r = fsck_hdr_block(c, blk, TW_XATTR_MAGIC, ino, &x);
	if (r < 0)
		return r;
	xh = tw_bdata(x);
	if (!r || !tw_xattr_block_ok(xh, true)) {
		tw_buf_release(x);
		if (fsck_problem(
			    c, false,
			    "inode %llu: xattr entry block %llu damaged; drop its attributes",
			    (unsigned long long)ino, (unsigned long long)blk)) {
			fsck_unclaim(c, blk);
			return 0;
		}
		(*count)++;
		return 1;
	}
	if (fsck_xattr_acls(xh, ino, isdir, acl_report, c))
		dirty = true;
	used = TW_GET32(xh, xh_used);
	for (off = 0; off < used;) {
		struct tw_xattr_entry *e = (void *)((u8 *)(xh + 1) + off);
		const u8 *name = (const u8 *)(e + 1);
		u8 ns = e->xe_ns & TW_XATTR_NS_MASK, nl = e->xe_name_len;
		u32 listed = (u32)strlen(ns_prefix(ns)) + nl + 1;
		const char *why = NULL;
		u32 nv = 0;

		if (seen->list + listed > TW_XATTR_LIST_MAX)
			why = "names beyond what listxattr() returns";
		else if (names_has(seen, ns, name, nl))
			why = "name listed twice";
		else if (e->xe_ns & TW_XATTR_NS_EXTERNAL) {
			r = check_value(c, ino, name + nl, &why, &nv);
			if (r < 0) {
				tw_buf_release(x);
				return r;
			}
		}
		if (why && fsck_problem(c, false,
					"inode %llu: xattr %s%.*s: %s; remove",
					(unsigned long long)ino, ns_prefix(ns),
					(int)nl, (const char *)name, why)) {
			ent_remove(xh, off);
			used = TW_GET32(xh, xh_used);
			dirty = true;
			continue;
		}
		if (!why)
			names_add(seen, ns, name, nl, listed);
		*count += nv;
		off += ent_len(xh, off);
	}
	if (!TW_GET32(xh, xh_count)) {
		/* nothing left: the block goes (pass 6 frees it) */
		tw_buf_release(x);
		fsck_unclaim(c, blk);
		return 0;
	}
	if (dirty)
		fsck_reseal(c, x);
	tw_buf_release(x);
	(*count)++;
	return 1;
}

/*
 * The index's own fields: 1..507 entry blocks, the padding zero.  (The
 * core's tw_xattr_index_ok() also wants every listed block in the data
 * area and the unused slots zero: fsck repairs those one by one.)
 */
static bool index_header_ok(const struct tw_xattr_index *xi)
{
	u32 n = TW_GET32(xi, xi_nblocks);

	return n && n <= TW_XIDX_SLOTS && !xi->xi_pad;
}

static int check_indexed(struct fsck_ctx *c, u64 ino, struct tw_inode *di,
			 u64 *count, bool *changed)
{
	u64 xb = TW_GET64(di, i_xattr);
	bool isdir = TW_S_ISDIR(TW_GET16(di, i_mode)), idx_dirty = false;
	struct tw_xattr_index *xi;
	struct names *seen;
	struct tw_buf *ib;
	u32 i, n;
	int r;

	r = fsck_take(c, ino, xb, "xattr index");
	if (r < 0)
		return 0;
	if (r > 0) {
		r = fsck_hdr_block(c, xb, TW_XIDX_MAGIC, ino, &ib);
		if (r < 0)
			return r;
		if (r && index_header_ok(tw_bdata(ib)))
			goto index_ok;
		tw_buf_release(ib);
		fsck_unclaim(c, xb);
		if (!fsck_problem(
			    c, false,
			    "inode %llu: xattr index block %llu damaged; clear the attributes",
			    (unsigned long long)ino, (unsigned long long)xb)) {
			fsck_claim(c, xb);
			(*count)++;
			return 0;
		}
	}
	/* nothing of it can be trusted: the inode loses its attributes */
	di->i_xattr = 0;
	TW_SET16(di, i_flags, TW_GET16(di, i_flags) & ~TW_IFL_XINDEX);
	*changed = true;
	return 0;

index_ok:
	(*count)++;
	xi = tw_bdata(ib);
	if (!(TW_GET32(c->fs->sb, s_feature_incompat) &
	      TW_FEATURE_INCOMPAT_XATTR_INDEX) &&
	    fsck_problem(
		    c, true,
		    "inode %llu: xattr index on a filesystem without the xattr_index feature; set it",
		    (unsigned long long)ino)) {
		c->fs->sb->s_feature_incompat |=
			tw_cpu_to_le32(TW_FEATURE_INCOMPAT_XATTR_INDEX);
		c->dirty = true;
	}
	seen = calloc(1, sizeof(*seen));
	if (!seen) {
		tw_buf_release(ib);
		return -ENOMEM;
	}
	n = TW_GET32(xi, xi_nblocks);
	for (i = n; i < TW_XIDX_SLOTS && !xi->xi_block[i]; i++)
		;
	if (i < TW_XIDX_SLOTS &&
	    fsck_problem(
		    c, true,
		    "inode %llu: xattr index has blocks in unused slots; clear them",
		    (unsigned long long)ino)) {
		memset(&xi->xi_block[n], 0,
		       (TW_XIDX_SLOTS - n) * sizeof(xi->xi_block[0]));
		idx_dirty = true;
	}
	for (i = 0; i < n;) {
		r = check_entry_block(c, ino, isdir, xi, i, seen, count);
		if (r < 0)
			goto out;
		if (r) {
			i++;
			continue;
		}
		/* dropped: the slots after it move down, as in the core */
		memmove(&xi->xi_block[i], &xi->xi_block[i + 1],
			(n - i - 1) * sizeof(xi->xi_block[0]));
		xi->xi_block[n - 1] = 0;
		TW_SET32(xi, xi_nblocks, --n);
		idx_dirty = true;
	}
	r = 0;
	if (!n) {
		/* no entry block left: the index goes too */
		fsck_unclaim(c, xb);
		(*count)--;
		di->i_xattr = 0;
		TW_SET16(di, i_flags, TW_GET16(di, i_flags) & ~TW_IFL_XINDEX);
		*changed = true;
	} else if (idx_dirty) {
		fsck_reseal(c, ib);
	}
out:
	free(seen);
	tw_buf_release(ib);
	return r;
}

int fsck_xattr_inode(struct fsck_ctx *c, u64 ino, struct tw_inode *di,
		     u64 *count, bool *changed)
{
	bool indexed = TW_GET16(di, i_flags) & TW_IFL_XINDEX;

	if (!di->i_xattr) {
		if (indexed &&
		    fsck_problem(
			    c, true,
			    "inode %llu: xattr index flag without a block; clear it",
			    (unsigned long long)ino)) {
			TW_SET16(di, i_flags,
				 TW_GET16(di, i_flags) & ~TW_IFL_XINDEX);
			*changed = true;
		}
		return 0;
	}
	return indexed ? check_indexed(c, ino, di, count, changed) :
			 check_single(c, ino, di, count, changed);
}
