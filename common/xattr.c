// SPDX-License-Identifier: GPL-2.0
/*
 * xattr.c - extended attributes in the user., trusted., security. and
 * system. namespaces.  system. holds only the two POSIX ACLs, whose
 * meaning is acl.c's: a change of one goes there.
 *
 * Where they live (docs/format.md, section 11):
 *
 *   - one entry block (TWXA), named by i_xattr: the format of every inode
 *     whose attributes fit in 4056 bytes of entries, as it always was;
 *   - when one block is not enough, an index block (TWXI, i_xattr with
 *     TW_IFL_XINDEX) listing up to 507 entry blocks; an entry there whose
 *     value would make it longer than TW_XATTR_INLINE_MAX keeps a
 *     reference (length, crc32c, block list) and the value goes to up to
 *     17 value blocks (TWXV).  The first inode converted sets the
 *     superblock's XATTR_INDEX incompat feature in the same transaction.
 *
 * Every block of both forms carries the common header with the inode as
 * owner and is journaled: a change, values included, is one transaction,
 * so a crash leaves the old or the new attribute.  A set allocates all
 * the blocks it needs before it changes anything, and so fails with
 * -ENOSPC leaving things as they were.
 *
 * Layer: core (common/).  Calls inode.c, alloc.c, journal.c, meta.c, acl.c
 * and the environment.  Permission policy (who may touch trusted.*) is the
 * home's.
 */
#include "tw_int.h"

static const struct {
	const char *prefix;
	u32 len;
	u8 ns;
} namespaces[] = {
	{ "user.", 5, TW_XATTR_NS_USER },
	{ "trusted.", 8, TW_XATTR_NS_TRUSTED },
	{ "security.", 9, TW_XATTR_NS_SECURITY },
	{ "system.", 7, TW_XATTR_NS_SYSTEM },
};

#define NNS (sizeof(namespaces) / sizeof(namespaces[0]))

static u32 slen(const char *s)
{
	u32 n = 0;

	while (s[n] && n <= TW_NAME_MAX + 16)
		n++;
	return n;
}

/* Split "ns.name" into namespace and name. */
static int parse(struct tw_fs *fs, const char *full, u8 *ns, const char **name,
		 u32 *len)
{
	u32 i, n = slen(full);

	for (i = 0; i < NNS; i++) {
		if (n >= namespaces[i].len &&
		    !memcmp(full, namespaces[i].prefix, namespaces[i].len)) {
			*ns = namespaces[i].ns;
			*name = full + namespaces[i].len;
			*len = n - namespaces[i].len;
			if (*len == 0)
				return -EINVAL;
			if (*len > TW_NAME_MAX)
				return -ERANGE;
			/* system.: the two ACLs, unless the mount has none */
			if (*ns == TW_XATTR_NS_SYSTEM &&
			    ((fs->mnt_flags & TW_MNT_NOACL) ||
			     !tw_acl_type(*name, *len)))
				return -EOPNOTSUPP;
			return 0;
		}
	}
	return -EOPNOTSUPP;
}

/* The prefix length of namespace @ns (a checked one). */
static u32 ns_prefix_len(u8 ns)
{
	u32 i;

	for (i = 0; i < NNS; i++)
		if (namespaces[i].ns == ns)
			return namespaces[i].len;
	return 0;
}

/* ---- little-endian fields at any alignment (a reference in an entry) ---- */

static u32 rd32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 rd64(const u8 *p)
{
	return (u64)rd32(p) | (u64)rd32(p + 4) << 32;
}

static void wr32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static void wr64(u8 *p, u64 v)
{
	wr32(p, (u32)v);
	wr32(p + 4, (u32)(v >> 32));
}

/* ---- entries ---- */

static inline struct tw_xattr_entry *ent_at(struct tw_xattr_header *xh, u32 off)
{
	return (struct tw_xattr_entry *)((u8 *)(xh + 1) + off);
}

static inline u8 *ent_value(struct tw_xattr_entry *e)
{
	return (u8 *)(e + 1) + e->xe_name_len;
}

/* The size of the entry at @off, padding included (a checked block). */
static u32 ent_len(struct tw_xattr_header *xh, u32 off)
{
	struct tw_xattr_entry *e = ent_at(xh, off);

	return TW_XATTR_ENTRY_LEN(e->xe_name_len, TW_GET16(e, xe_value_len));
}

u32 tw_xattr_val_blocks(u32 len)
{
	return (len + TW_XVAL_PER_BLOCK - 1) / TW_XVAL_PER_BLOCK;
}

/* The value length of a checked entry, wherever the value is. */
static u32 ent_vlen(struct tw_xattr_entry *e)
{
	if (e->xe_ns & TW_XATTR_NS_EXTERNAL)
		return rd32(ent_value(e));
	return TW_GET16(e, xe_value_len);
}

/* Value blocks of a checked entry: 0 unless external. */
static u32 ent_vblocks(struct tw_xattr_entry *e)
{
	if (!(e->xe_ns & TW_XATTR_NS_EXTERNAL))
		return 0;
	return tw_xattr_val_blocks(rd32(ent_value(e)));
}

/*
 * The one check of an xattr entry block, for the core and for fsck: used
 * within the block, every entry whole, named and in a known namespace,
 * packed up to exactly @xh_used (so every entry and @xh_used stay 4-byte
 * aligned), and @xh_count of them, at least one.  Under an index
 * (@indexed) an entry other than system. may be external: its value is a
 * reference of the length its value length needs.
 */
bool tw_xattr_block_ok(const struct tw_xattr_header *xh, bool indexed)
{
	const u8 *base = (const u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), off = 0, n = 0;

	if (used > TW_XATTR_SPACE)
		return false;
	while (off < used) {
		const struct tw_xattr_entry *e = (const void *)(base + off);
		u32 l, ns, vl;

		if (off + sizeof(*e) > used || !e->xe_name_len)
			return false;
		ns = e->xe_ns & TW_XATTR_NS_MASK;
		vl = TW_GET16(e, xe_value_len);
		if (ns < TW_XATTR_NS_USER || ns > TW_XATTR_NS_SYSTEM)
			return false;
		l = TW_XATTR_ENTRY_LEN(e->xe_name_len, vl);
		if (off + l > used)
			return false;
		if (e->xe_ns & TW_XATTR_NS_EXTERNAL) {
			const u8 *ref = (const u8 *)(e + 1) + e->xe_name_len;
			u32 len;

			if (!indexed || ns == TW_XATTR_NS_SYSTEM ||
			    vl < TW_XATTR_REF_LEN(1))
				return false;
			len = rd32(ref);
			if (!len || len > TW_XATTR_SIZE_MAX ||
			    vl != TW_XATTR_REF_LEN(tw_xattr_val_blocks(len)))
				return false;
		}
		off += l;
		n++;
	}
	return n == TW_GET32(xh, xh_count) && n;
}

bool tw_xattr_entries_ok(const struct tw_xattr_header *xh)
{
	return tw_xattr_block_ok(xh, false);
}

/*
 * The check of an index block, for the core and for fsck: 1..507 entry
 * blocks listed from slot 0, each in the data area, the other slots and
 * the padding zero.  (That no block is listed twice is fsck's to see.)
 */
bool tw_xattr_index_ok(const struct tw_fs *fs, const struct tw_xattr_index *xi)
{
	u32 n = TW_GET32(xi, xi_nblocks), i;

	if (!n || n > TW_XIDX_SLOTS || xi->xi_pad)
		return false;
	for (i = 0; i < TW_XIDX_SLOTS; i++) {
		u64 b = TW_GET64(xi, xi_block[i]);

		if (i >= n ? b != 0 : b < fs->data_start || b >= fs->nblocks)
			return false;
	}
	return true;
}

/* ---- the blocks of one inode ---- */

struct xview {
	struct tw_buf *ib; /* the index block, or NULL */
	struct tw_xattr_index *xi; /* its data */
	u64 single; /* without an index: i_xattr */
	u32 n; /* entry blocks: 0 (no attributes), 1, or the index's */
};

static bool has_index(struct tw_ictx *ic)
{
	return TW_GET16(ic->di, i_flags) & TW_IFL_XINDEX;
}

static int xopen(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v)
{
	u64 blk = TW_GET64(ic->di, i_xattr);
	int err;

	v->ib = NULL;
	v->xi = NULL;
	v->single = 0;
	v->n = 0;
	if (!blk) {
		if (has_index(ic))
			return tw_corrupt(fs,
					  "xattr index flag without a block",
					  ic->ino);
		return 0;
	}
	if (blk < fs->data_start || blk >= fs->nblocks)
		return tw_corrupt(fs, "xattr block out of range", ic->ino);
	if (!has_index(ic)) {
		v->single = blk;
		v->n = 1;
		return 0;
	}
	if (!(TW_GET32(fs->sb, s_feature_incompat) &
	      TW_FEATURE_INCOMPAT_XATTR_INDEX))
		return tw_corrupt(fs, "xattr index without its feature flag",
				  ic->ino);
	err = tw_meta_read(fs, blk, TW_XIDX_MAGIC, ic->ino, &v->ib);
	if (err)
		return err;
	v->xi = tw_bdata(v->ib);
	if (!tw_xattr_index_ok(fs, v->xi)) {
		tw_buf_release(v->ib);
		v->ib = NULL;
		return tw_corrupt(fs, "bad xattr index block", ic->ino);
	}
	v->n = TW_GET32(v->xi, xi_nblocks);
	return 0;
}

static void xclose(struct xview *v)
{
	if (v->ib)
		tw_buf_release(v->ib);
	v->ib = NULL;
}

static u64 xv_blk(struct xview *v, u32 i)
{
	return v->xi ? TW_GET64(v->xi, xi_block[i]) : v->single;
}

/*
 * Entry block @i, checked whole once, so that no change can start from a
 * header that does not describe its entries (an odd xh_used, a count that
 * would wrap).  The walks below need no checks of their own: only this
 * file changes the blocks, under the inode lock.
 */
static int xread(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v, u32 i,
		 struct tw_buf **b, struct tw_xattr_header **xh)
{
	int err;

	err = tw_meta_read(fs, xv_blk(v, i), TW_XATTR_MAGIC, ic->ino, b);
	if (err)
		return err;
	*xh = tw_bdata(*b);
	if (!tw_xattr_block_ok(*xh, v->xi != NULL)) {
		tw_buf_release(*b);
		return tw_corrupt(fs, "bad xattr block", ic->ino);
	}
	return 0;
}

/* Find an entry in one block: its offset, or -ENODATA. */
static int xfind(struct tw_xattr_header *xh, u8 ns, const char *name, u32 len,
		 u32 *offp)
{
	u32 used = TW_GET32(xh, xh_used), off;

	for (off = 0; off < used; off += ent_len(xh, off)) {
		struct tw_xattr_entry *e = ent_at(xh, off);

		if ((e->xe_ns & TW_XATTR_NS_MASK) == ns &&
		    e->xe_name_len == len && !memcmp(e + 1, name, len)) {
			*offp = off;
			return 0;
		}
	}
	return -ENODATA;
}

/* Find an entry in every block: the block (held in *@bp) and offset. */
static int xlookup(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v, u8 ns,
		   const char *name, u32 len, u32 *bi, struct tw_buf **bp,
		   u32 *offp)
{
	struct tw_xattr_header *xh;
	u32 i;
	int err;

	for (i = 0; i < v->n; i++) {
		err = xread(fs, ic, v, i, bp, &xh);
		if (err)
			return err;
		if (!xfind(xh, ns, name, len, offp)) {
			*bi = i;
			return 0;
		}
		tw_buf_release(*bp);
	}
	return -ENODATA;
}

/* ---- values in value blocks ---- */

/* Read the value an external entry's reference @ref names into @buf. */
static int val_read(struct tw_fs *fs, struct tw_ictx *ic, const u8 *ref,
		    u8 *buf)
{
	u32 len = rd32(ref), n = tw_xattr_val_blocks(len), k, crc = ~0u;
	int err;

	for (k = 0; k < n; k++) {
		u32 part = k + 1 < n ? TW_XVAL_PER_BLOCK :
				       len - k * TW_XVAL_PER_BLOCK;
		u64 blk = rd64(ref + 8 + 8 * k);
		struct tw_blk_hdr *h;
		struct tw_buf *b;

		if (blk < fs->data_start || blk >= fs->nblocks)
			return tw_corrupt(fs, "xattr value block out of range",
					  ic->ino);
		err = tw_meta_read(fs, blk, TW_XVAL_MAGIC, ic->ino, &b);
		if (err)
			return err;
		h = tw_bdata(b);
		if (TW_GET32(h, h_aux) != part) {
			tw_buf_release(b);
			return tw_corrupt(fs, "xattr value block length", blk);
		}
		memcpy(buf + k * TW_XVAL_PER_BLOCK, h + 1, part);
		crc = tw_crc32c(crc, h + 1, part);
		tw_buf_release(b);
	}
	if (crc != rd32(ref + 4)) {
		tw_corrupt(fs, "xattr value checksum", ic->ino);
		return -EBADMSG;
	}
	return 0;
}

/* Give back the @n value blocks listed at @blocks (a reference's list). */
static int val_free(struct tw_fs *fs, struct tw_ictx *ic, const u8 *blocks,
		    u32 n)
{
	u32 k;
	int err;

	for (k = 0; k < n; k++) {
		err = tw_free_block(fs, rd64(blocks + 8 * k));
		if (err)
			return err;
	}
	TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) - n);
	return 0;
}

/* ---- get, list ---- */

int tw_xattr_get_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, void *buf, u32 size)
{
	u8 ref[TW_XATTR_REF_LEN(TW_XVAL_MAX_BLOCKS)];
	struct tw_xattr_entry *e;
	struct tw_buf *b;
	struct xview v;
	u32 bi, off, vlen;
	bool ext;
	int err;

	err = xopen(fs, ic, &v);
	if (err)
		return err;
	err = xlookup(fs, ic, &v, ns, name, len, &bi, &b, &off);
	xclose(&v);
	if (err)
		return err;
	e = ent_at(tw_bdata(b), off);
	ext = e->xe_ns & TW_XATTR_NS_EXTERNAL;
	vlen = ent_vlen(e);
	if (size && size < vlen) {
		tw_buf_release(b);
		return -ERANGE;
	}
	if (size && !ext)
		memcpy(buf, ent_value(e), vlen);
	if (ext)
		memcpy(ref, ent_value(e), TW_GET16(e, xe_value_len));
	tw_buf_release(b);
	if (size && ext) {
		err = val_read(fs, ic, ref, buf);
		if (err)
			return err;
	}
	return (int)vlen;
}

ssize_t tw_getxattr(struct tw_fs *fs, u64 ino, const char *full, void *buf,
		    size_t size)
{
	const char *name;
	struct tw_ictx ic;
	u32 len;
	ssize_t err;
	u8 ns;

	err = parse(fs, full, &ns, &name, &len);
	if (err)
		return err == -ERANGE ? -ENODATA : err;
	/* a value is at most 64 KiB: a bigger buffer is as good */
	if (size > TW_XATTR_SIZE_MAX)
		size = TW_XATTR_SIZE_MAX;
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (!err) {
		err = tw_xattr_get_ic(fs, &ic, ns, name, len, buf, (u32)size);
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, false);
	return err;
}

/* Add the names of one entry block to the list (@size 0: count only). */
static int list_block(struct tw_fs *fs, struct tw_xattr_header *xh, char *buf,
		      size_t size, size_t *total)
{
	u32 used = TW_GET32(xh, xh_used), off, i;

	for (off = 0; off < used; off += ent_len(xh, off)) {
		struct tw_xattr_entry *e = ent_at(xh, off);
		u8 ns = e->xe_ns & TW_XATTR_NS_MASK;
		const char *pfx = NULL;
		u32 plen = 0;

		/* the namespace is one of the table's (tw_xattr_block_ok) */
		for (i = 0; i < NNS; i++)
			if (namespaces[i].ns == ns) {
				pfx = namespaces[i].prefix;
				plen = namespaces[i].len;
			}
		tw_assert(pfx);
		if (ns == TW_XATTR_NS_SYSTEM && (fs->mnt_flags & TW_MNT_NOACL))
			continue;
		if (size) {
			if (*total + plen + e->xe_name_len + 1 > size)
				return -ERANGE;
			memcpy(buf + *total, pfx, plen);
			memcpy(buf + *total + plen, e + 1, e->xe_name_len);
			buf[*total + plen + e->xe_name_len] = '\0';
		}
		*total += plen + e->xe_name_len + 1;
	}
	return 0;
}

ssize_t tw_listxattr(struct tw_fs *fs, u64 ino, char *buf, size_t size)
{
	struct tw_xattr_header *xh;
	struct tw_ictx ic;
	struct tw_buf *b;
	struct xview v;
	size_t total = 0;
	ssize_t err;
	u32 i;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (err)
		goto unlock;
	err = xopen(fs, &ic, &v);
	if (err)
		goto put;
	for (i = 0; i < v.n && !err; i++) {
		err = xread(fs, &ic, &v, i, &b, &xh);
		if (err)
			break;
		err = list_block(fs, xh, buf, size, &total);
		tw_buf_release(b);
	}
	xclose(&v);
	if (!err)
		err = (ssize_t)total;
put:
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, false);
	return err;
}

/* ---- set, remove ---- */

/* Remove the entry at @off from the block, closing the gap. */
static void xremove(struct tw_xattr_header *xh, u32 off)
{
	u32 used = TW_GET32(xh, xh_used), l = ent_len(xh, off);
	u8 *base = (u8 *)(xh + 1);

	memmove(base + off, base + off + l, used - off - l);
	memset(base + used - l, 0, l);
	TW_SET32(xh, xh_used, used - l);
	TW_SET32(xh, xh_count, TW_GET32(xh, xh_count) - 1);
}

/* Append an entry whose value is @vlen bytes: returns where they go. */
static u8 *xappend(struct tw_xattr_header *xh, u8 ns, const char *name, u32 len,
		   u32 vlen)
{
	u32 used = TW_GET32(xh, xh_used), need = TW_XATTR_ENTRY_LEN(len, vlen);
	struct tw_xattr_entry *e = ent_at(xh, used);

	tw_assert(used + need <= TW_XATTR_SPACE);
	memset(e, 0, need);
	e->xe_ns = ns;
	e->xe_name_len = (u8)len;
	TW_SET16(e, xe_value_len, vlen);
	memcpy(e + 1, name, len);
	TW_SET32(xh, xh_used, used + need);
	TW_SET32(xh, xh_count, TW_GET32(xh, xh_count) + 1);
	return ent_value(e);
}

static void add_blocks(struct tw_ictx *ic, s64 n)
{
	TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) + (u64)n);
}

/* The superblock says that xattr index blocks may exist. */
static int feature_on(struct tw_fs *fs)
{
	bool had;

	tw_mutex_lock(fs->alloc_lock);
	had = TW_GET32(fs->sb, s_feature_incompat) &
	      TW_FEATURE_INCOMPAT_XATTR_INDEX;
	fs->sb->s_feature_incompat |=
		tw_cpu_to_le32(TW_FEATURE_INCOMPAT_XATTR_INDEX);
	tw_mutex_unlock(fs->alloc_lock);
	if (had)
		return 0;
	tw_log(fs->dev, TW_LOG_INFO,
	       "xattrs beyond one block: feature xattr_index set");
	return tw_txn_dirty(fs, fs->sb_buf);
}

/* set_single(): the inode needs an index (one block is not enough) */
#define XSET_INDEX 2

/*
 * The one-block form, as it always was, if the new entry fits in it; or
 * XSET_INDEX.  (Not inlined, nor is xscan(): xset()'s frame stays small
 * for the kernel stack, and for the sanitizers' red zones around each
 * local.)
 */
static __attribute__((__noinline__)) int
set_single(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v, u8 ns,
	   const char *name, u32 len, const void *value, u32 size, u32 flags,
	   bool remove)
{
	struct tw_xattr_header *xh = NULL;
	struct tw_buf *b = NULL;
	u32 off = 0, used = 0, old = 0;
	bool found = false;
	int err;

	if (v->n) {
		err = xread(fs, ic, v, 0, &b, &xh);
		if (err)
			return err;
		found = !xfind(xh, ns, name, len, &off);
		used = TW_GET32(xh, xh_used);
		old = found ? ent_len(xh, off) : 0;
	}
	err = 0;
	if ((remove || (flags & TW_XATTR_REPLACE)) && !found)
		err = -ENODATA;
	else if ((flags & TW_XATTR_CREATE) && found)
		err = -EEXIST;
	else if (!remove &&
		 used - old + TW_XATTR_ENTRY_LEN(len, size) > TW_XATTR_SPACE)
		err = XSET_INDEX;
	if (err) {
		if (b)
			tw_buf_release(b);
		return err;
	}
	if (!b) {
		u64 blk;

		err = tw_alloc_block(fs, TW_GET64(ic->di, i_block[0]), &blk);
		if (err)
			return err;
		err = tw_meta_new(fs, blk, TW_XATTR_MAGIC, ic->ino, 0, &b);
		if (err) {
			tw_free_block(fs, blk);
			return err;
		}
		xh = tw_bdata(b);
		TW_SET64(ic->di, i_xattr, blk);
		add_blocks(ic, 1);
	}
	if (found)
		xremove(xh, off);
	if (!remove)
		memcpy(xappend(xh, ns, name, len, size), value, size);
	if (!TW_GET32(xh, xh_count)) {
		/* the last one went: give the block back */
		err = tw_free_block(fs, tw_buf_blkno(b));
		ic->di->i_xattr = 0;
		add_blocks(ic, -1);
	} else {
		err = tw_txn_dirty(fs, b);
	}
	tw_buf_release(b);
	return err;
}

/* Drop entry block @i from the index (emptied: the caller frees it). */
static void index_drop(struct xview *v, u32 i)
{
	u32 n = TW_GET32(v->xi, xi_nblocks);

	memmove(&v->xi->xi_block[i], &v->xi->xi_block[i + 1],
		(n - i - 1) * sizeof(v->xi->xi_block[0]));
	v->xi->xi_block[n - 1] = 0;
	TW_SET32(v->xi, xi_nblocks, n - 1);
	v->n = n - 1;
}

/* The index went empty: free it, the inode has no attributes left. */
static int index_free(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v)
{
	int err = tw_free_block(fs, tw_buf_blkno(v->ib));

	ic->di->i_xattr = 0;
	TW_SET16(ic->di, i_flags, TW_GET16(ic->di, i_flags) & ~TW_IFL_XINDEX);
	add_blocks(ic, -1);
	return err;
}

/*
 * What a set (or removal) under an index found: the entry (@found, in
 * block @bi at @off, @elen bytes with @old_blocks value blocks), the
 * listxattr bytes of all names (@names), and the first block with room
 * for the new entry (@fit, or ~0).
 */
struct xscan {
	bool found;
	u32 bi, off, elen, old_blocks, bi_used;
	u32 names, fit;
};

static __attribute__((__noinline__)) int
xscan(struct tw_fs *fs, struct tw_ictx *ic, struct xview *v, u8 ns,
      const char *name, u32 len, u32 need, struct xscan *s)
{
	struct tw_xattr_header *xh;
	struct tw_buf *b;
	u32 i, off, used;
	int err;

	memset(s, 0, sizeof(*s));
	s->fit = ~0u;
	for (i = 0; i < v->n; i++) {
		err = xread(fs, ic, v, i, &b, &xh);
		if (err)
			return err;
		used = TW_GET32(xh, xh_used);
		if (s->fit == ~0u && used + need <= TW_XATTR_SPACE)
			s->fit = i;
		for (off = 0; off < used; off += ent_len(xh, off)) {
			struct tw_xattr_entry *e = ent_at(xh, off);
			u8 ens = e->xe_ns & TW_XATTR_NS_MASK;

			s->names += ns_prefix_len(ens) + e->xe_name_len + 1;
			if (!s->found && ens == ns && e->xe_name_len == len &&
			    !memcmp(e + 1, name, len)) {
				s->found = true;
				s->bi = i;
				s->off = off;
				s->elen = ent_len(xh, off);
				s->old_blocks = ent_vblocks(e);
				s->bi_used = used;
			}
		}
		tw_buf_release(b);
	}
	return 0;
}

/* Credits of the xattr part of a set or removal (docs/format.md 11.5). */
#define XCR_ENTRY TW_CR_XATTR
static u32 set_credits(u32 new_blocks, u32 old_blocks)
{
	return XCR_ENTRY + 2 * new_blocks + old_blocks;
}

/* A set needs more credits than its handle has: *want says how many. */
#define XSET_MORE 1

/*
 * Set (or @remove) one attribute of @ic, held locked in a transaction
 * with @budget credits for this.  Returns 0, -errno, or XSET_MORE with
 * *@want the credits it needs.  *@alloc_failed tells an -ENOSPC of the
 * allocator from one of the format's limits.
 */
static int xset(struct tw_fs *fs, struct tw_ictx *ic, u8 ns, const char *name,
		u32 len, const void *value, u32 size, u32 flags, bool remove,
		u32 budget, u32 *want, bool *alloc_failed)
{
	u64 got[TW_XVAL_MAX_BLOCKS + 2]; /* new blocks */
	u32 inl = TW_XATTR_ENTRY_LEN(len, size), need, vlen, nv = 0, nalloc = 0;
	u32 target, k, plen = ns_prefix_len(ns);
	struct tw_xattr_header *axh = NULL, *txh;
	struct tw_buf *ab = NULL, *nb = NULL, *tb;
	bool ext, convert, index_changed = false;
	struct xscan s;
	struct xview v;
	u64 goal;
	u8 *dst;
	int err;

	*alloc_failed = false;
	if (!remove && size > TW_XATTR_SIZE_MAX)
		return -E2BIG;
	/* the ACLs are edited in place (acl.c): always in their entry */
	if (!remove && ns == TW_XATTR_NS_SYSTEM && inl > TW_XATTR_SPACE)
		return -E2BIG;
	err = xopen(fs, ic, &v);
	if (err)
		return err;

	/* one block that is (or becomes) enough: the old form, unchanged */
	if (!v.xi) {
		err = set_single(fs, ic, &v, ns, name, len, value, size, flags,
				 remove);
		if (err != XSET_INDEX) {
			/* its only -ENOSPC is the allocator's */
			*alloc_failed = err == -ENOSPC;
			return err;
		}
	}

	/* under an index: an entry of at most TW_XATTR_INLINE_MAX bytes
	 * (system.: any that fits a block) keeps its value */
	ext = !remove && inl > TW_XATTR_INLINE_MAX && ns != TW_XATTR_NS_SYSTEM;
	nv = ext ? tw_xattr_val_blocks(size) : 0;
	vlen = ext ? TW_XATTR_REF_LEN(nv) : size;
	need = TW_XATTR_ENTRY_LEN(len, vlen);
	err = xscan(fs, ic, &v, ns, name, len, need, &s);
	if (err)
		goto out;
	err = 0;
	if ((remove || (flags & TW_XATTR_REPLACE)) && !s.found)
		err = -ENODATA;
	else if ((flags & TW_XATTR_CREATE) && s.found)
		err = -EEXIST;
	else if (!remove &&
		 s.names - (s.found ? plen + len + 1 : 0) + plen + len + 1 >
			 TW_XATTR_LIST_MAX)
		err = -ENOSPC; /* listxattr() could not return them all */
	if (err)
		goto out;
	*want = set_credits(nv, s.old_blocks);
	if (*want > budget) {
		err = XSET_MORE;
		goto out;
	}

	/* where the entry goes: its old block if it fits there, else the
	 * first with room, else a new one; converting makes the old single
	 * block entry block 0 of a new index */
	convert = !remove && !v.xi;
	if (remove)
		target = ~0u;
	else if (s.found && s.bi_used - s.elen + need <= TW_XATTR_SPACE)
		target = s.bi;
	else
		target = s.fit;
	if (!remove && target == ~0u && v.n == TW_XIDX_SLOTS) {
		err = -ENOSPC; /* the index is full */
		goto out;
	}

	/* 1. every new block, before anything changes: the value blocks,
	 * the index, an entry block */
	nalloc = nv + convert + (!remove && target == ~0u);
	goal = TW_GET64(ic->di, i_xattr);
	if (!goal)
		goal = TW_GET64(ic->di, i_block[0]);
	for (k = 0; k < nalloc; k++) {
		err = tw_alloc_block(fs, goal, &got[k]);
		if (err) {
			*alloc_failed = err == -ENOSPC;
			while (k--)
				tw_free_block(fs, got[k]);
			goto out;
		}
		goal = got[k] + 1;
	}

	/* 2. the value blocks */
	for (k = 0; k < nv; k++) {
		u32 part = k + 1 < nv ? TW_XVAL_PER_BLOCK :
					size - k * TW_XVAL_PER_BLOCK;
		struct tw_buf *b;

		err = tw_meta_new(fs, got[k], TW_XVAL_MAGIC, ic->ino, part, &b);
		if (err)
			goto out;
		memcpy((struct tw_blk_hdr *)tw_bdata(b) + 1,
		       (const u8 *)value + k * TW_XVAL_PER_BLOCK, part);
		err = tw_txn_dirty(fs, b);
		tw_buf_release(b);
		if (err)
			goto out;
	}
	add_blocks(ic, nv);

	/* 3. the index, new: the single block becomes entry block 0 */
	if (convert) {
		err = tw_meta_new(fs, got[nv], TW_XIDX_MAGIC, ic->ino, 0,
				  &v.ib);
		if (err)
			goto out;
		v.xi = tw_bdata(v.ib);
		if (v.n) {
			TW_SET64(v.xi, xi_block[0], v.single);
			TW_SET32(v.xi, xi_nblocks, 1);
		}
		err = feature_on(fs);
		if (err)
			goto out;
		TW_SET64(ic->di, i_xattr, got[nv]);
		TW_SET16(ic->di, i_flags,
			 TW_GET16(ic->di, i_flags) | TW_IFL_XINDEX);
		add_blocks(ic, 1);
		index_changed = true;
	}
	/* 4. an entry block, new, at the end of the index */
	if (!remove && target == ~0u) {
		err = tw_meta_new(fs, got[nalloc - 1], TW_XATTR_MAGIC, ic->ino,
				  0, &nb);
		if (err)
			goto out;
		target = v.n;
		TW_SET64(v.xi, xi_block[target], got[nalloc - 1]);
		TW_SET32(v.xi, xi_nblocks, v.n + 1);
		v.n++;
		add_blocks(ic, 1);
		index_changed = true;
	}
	if (index_changed) {
		err = tw_txn_dirty(fs, v.ib);
		if (err)
			goto out;
	}

	/* 5. the old entry goes, with its value blocks */
	if (s.found) {
		struct tw_xattr_entry *e;

		err = xread(fs, ic, &v, s.bi, &ab, &axh);
		if (err)
			goto out;
		e = ent_at(axh, s.off);
		if (s.old_blocks) {
			err = val_free(fs, ic, ent_value(e) + 8, s.old_blocks);
			if (err)
				goto out;
		}
		xremove(axh, s.off);
		err = tw_txn_dirty(fs, ab);
		if (err)
			goto out;
	}

	/* 6. the new one */
	if (!remove) {
		if (s.found && target == s.bi) {
			tb = ab;
			txh = axh;
		} else if (nb) {
			tb = nb;
			txh = tw_bdata(nb);
		} else {
			err = xread(fs, ic, &v, target, &tb, &txh);
			if (err)
				goto out;
		}
		dst = xappend(txh, ns | (ext ? TW_XATTR_NS_EXTERNAL : 0), name,
			      len, vlen);
		if (ext) {
			wr32(dst, size);
			wr32(dst + 4, tw_crc32c(~0u, value, size));
			for (k = 0; k < nv; k++)
				wr64(dst + 8 + 8 * k, got[k]);
		} else {
			memcpy(dst, value, size);
		}
		err = tw_txn_dirty(fs, tb);
		if (tb != ab && tb != nb)
			tw_buf_release(tb);
		if (err)
			goto out;
	}

	/* 7. an emptied entry block goes, and an emptied index */
	if (axh && !TW_GET32(axh, xh_count)) {
		err = tw_free_block(fs, tw_buf_blkno(ab));
		if (err)
			goto out;
		add_blocks(ic, -1);
		index_drop(&v, s.bi);
		err = tw_txn_dirty(fs, v.ib);
		if (!err && !v.n)
			err = index_free(fs, ic, &v);
	}
out:
	if (ab)
		tw_buf_release(ab);
	if (nb)
		tw_buf_release(nb);
	xclose(&v);
	return err;
}

int tw_xattr_set_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, const void *value, u32 size,
		    u32 flags, bool remove)
{
	bool nospc;
	u32 want;
	int err;

	err = xset(fs, ic, ns, name, len, value, size, flags, remove,
		   TW_CR_XATTR, &want, &nospc);
	/* only values kept in their entry fit these credits */
	return err == XSET_MORE ? -E2BIG : err;
}

int tw_xattr_edit_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		     const char *name, u32 len, struct tw_buf **bp,
		     void **value, u32 *size)
{
	struct tw_xattr_entry *e;
	struct xview v;
	u32 bi, off;
	int err;

	err = xopen(fs, ic, &v);
	if (err)
		return err;
	err = xlookup(fs, ic, &v, ns, name, len, &bi, bp, &off);
	xclose(&v);
	if (err)
		return err;
	e = ent_at(tw_bdata(*bp), off);
	if (e->xe_ns & TW_XATTR_NS_EXTERNAL) {
		/* not system. (tw_xattr_block_ok), the only caller's */
		tw_buf_release(*bp);
		return -EOPNOTSUPP;
	}
	*value = ent_value(e);
	*size = TW_GET16(e, xe_value_len);
	return 0;
}

/*
 * Free entry blocks from the last one on, and the value blocks of their
 * entries, at most @budget blocks; the index too once it is empty.  The
 * caller journals the inode.  *@more: something is left.
 */
static int drop_some(struct tw_fs *fs, struct tw_ictx *ic, u32 budget,
		     bool *more)
{
	struct tw_xattr_header *xh;
	struct tw_buf *b;
	struct xview v;
	u32 spent = 0;
	int err;

	*more = false;
	err = xopen(fs, ic, &v);
	if (err)
		return err;
	tw_assert(v.xi);
	while (v.n) {
		u32 used, off = 0, cnt = 0;
		u8 *base;

		err = xread(fs, ic, &v, v.n - 1, &b, &xh);
		if (err)
			goto out;
		used = TW_GET32(xh, xh_used);
		base = (u8 *)(xh + 1);
		while (off < used) {
			struct tw_xattr_entry *e = ent_at(xh, off);
			u32 m = ent_vblocks(e);

			/* and one for the block itself */
			if (spent + m + 1 > budget)
				break;
			if (m) {
				err = val_free(fs, ic, ent_value(e) + 8, m);
				if (err)
					break;
			}
			spent += m;
			off += ent_len(xh, off);
			cnt++;
		}
		if (!err && off == used) {
			err = tw_free_block(fs, tw_buf_blkno(b));
			tw_buf_release(b);
			if (err)
				goto out;
			spent++;
			add_blocks(ic, -1);
			index_drop(&v, v.n - 1);
			continue;
		}
		if (!err && cnt) {
			/* the freed entries go from the front */
			memmove(base, base + off, used - off);
			memset(base + used - off, 0, off);
			TW_SET32(xh, xh_used, used - off);
			TW_SET32(xh, xh_count, TW_GET32(xh, xh_count) - cnt);
			err = tw_txn_dirty(fs, b);
		}
		tw_buf_release(b);
		if (err)
			goto out;
		break;
	}
	if (v.n) {
		*more = true;
		err = tw_txn_dirty(fs, v.ib);
	} else {
		err = index_free(fs, ic, &v);
	}
out:
	xclose(&v);
	return err;
}

void tw_xattr_free_new(struct tw_fs *fs, struct tw_ictx *ic)
{
	bool more = true;

	if (!ic->di->i_xattr)
		return;
	if (!has_index(ic)) {
		tw_free_block(fs, TW_GET64(ic->di, i_xattr));
		ic->di->i_xattr = 0;
		add_blocks(ic, -1);
		return;
	}
	/* every block is new in this transaction, its bitmap block in it */
	while (more && !drop_some(fs, ic, ~0u, &more))
		;
}

/* Credits of one removal or set with its value in its entry. */
#define CR_XATTR (TW_CR_INODE + TW_CR_XATTR)
/* Blocks one transaction of tw_xattr_drop() frees at most. */
#define DROP_BUDGET 64u

static int do_set(struct tw_fs *fs, u64 ino, const char *full,
		  const void *value, size_t size, u32 flags, bool remove,
		  bool *alloc_failed)
{
	u32 credits, want = 0, len;
	const char *name;
	struct tw_ictx ic;
	int err;
	u8 ns;

	*alloc_failed = false;
	err = parse(fs, full, &ns, &name, &len);
	if (err)
		return err;
	if (!remove && size > TW_XATTR_SIZE_MAX)
		return -E2BIG;
	credits = CR_XATTR;
	/* a long value will need its blocks: ask for them at once (the old
	 * value's are found out under the lock) */
	if (!remove && TW_XATTR_ENTRY_LEN(len, size) > TW_XATTR_INLINE_MAX)
		credits = TW_CR_INODE +
			  set_credits(tw_xattr_val_blocks((u32)size), 0);
	for (;;) {
		err = tw_txn_begin(fs, credits);
		if (err)
			return err;
		tw_ilock(fs, ino, true);
		err = tw_iget(fs, ino, &ic);
		if (err)
			goto unlock;
		if (ns == TW_XATTR_NS_SYSTEM)
			err = tw_acl_set(fs, &ic, tw_acl_type(name, len), value,
					 (u32)size, flags, remove);
		else
			err = xset(fs, &ic, ns, name, len, value, (u32)size,
				   flags, remove, credits - TW_CR_INODE, &want,
				   alloc_failed);
		if (!err) {
			tw_touch(ic.di, false, true);
			err = tw_idirty(fs, &ic);
		}
		tw_iput(&ic);
unlock:
		tw_iunlock(fs, ino, true);
		tw_txn_end(fs, credits, err);
		if (err != XSET_MORE)
			return err;
		/* replacing a value in value blocks: free them too */
		credits = TW_CR_INODE + want;
	}
}

int tw_setxattr(struct tw_fs *fs, u64 ino, const char *name, const void *value,
		size_t size, u32 flags)
{
	bool alloc_failed;
	int err =
		do_set(fs, ino, name, value, size, flags, false, &alloc_failed);

	/* blocks freed in the running transaction are free once it commits */
	if (err == -ENOSPC && alloc_failed && fs->free_blocks && !tw_commit(fs))
		err = do_set(fs, ino, name, value, size, flags, false,
			     &alloc_failed);
	return err;
}

int tw_removexattr(struct tw_fs *fs, u64 ino, const char *name)
{
	bool alloc_failed;

	return do_set(fs, ino, name, NULL, 0, 0, true, &alloc_failed);
}

int tw_xattr_drop(struct tw_fs *fs, struct tw_ictx *ic)
{
	u64 blk = TW_GET64(ic->di, i_xattr);
	u32 credits;
	bool more;
	int err;

	if (!blk)
		return 0;
	if (blk < fs->data_start || blk >= fs->nblocks)
		return tw_corrupt(fs, "xattr block out of range", ic->ino);
	if (!has_index(ic)) {
		err = tw_txn_begin(fs, TW_CR_INODE + 2);
		if (err)
			return err;
		tw_ilock(fs, ic->ino, true);
		err = tw_free_block(fs, blk);
		if (!err) {
			ic->di->i_xattr = 0;
			add_blocks(ic, -1);
			err = tw_idirty(fs, ic);
		}
		tw_iunlock(fs, ic->ino, true);
		tw_txn_end(fs, TW_CR_INODE + 2, err);
		return err;
	}
	/* under an index: entry and value blocks, DROP_BUDGET at a time,
	 * the last entry block first; each transaction leaves a whole
	 * (smaller) set of attributes on an inode still on the orphan list */
	credits = TW_CR_INODE + 3 + DROP_BUDGET;
	do {
		err = tw_txn_begin(fs, credits);
		if (err)
			return err;
		tw_ilock(fs, ic->ino, true);
		err = drop_some(fs, ic, DROP_BUDGET, &more);
		if (!err)
			err = tw_idirty(fs, ic);
		tw_iunlock(fs, ic->ino, true);
		tw_txn_end(fs, credits, err);
	} while (!err && more);
	return err;
}
