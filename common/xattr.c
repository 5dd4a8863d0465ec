// SPDX-License-Identifier: GPL-2.0
/*
 * xattr.c - extended attributes in the user., trusted., security. and
 * system. namespaces, kept in one block per inode.  system. holds only the
 * two POSIX ACLs, whose meaning is acl.c's: a change of one goes there.
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

	for (i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
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

static inline struct tw_xattr_entry *ent_at(struct tw_xattr_header *xh, u32 off)
{
	return (struct tw_xattr_entry *)((u8 *)(xh + 1) + off);
}

/* The size of the entry at @off, padding included (a checked block). */
static u32 ent_len(struct tw_xattr_header *xh, u32 off)
{
	struct tw_xattr_entry *e = ent_at(xh, off);

	return TW_XATTR_ENTRY_LEN(e->xe_name_len, TW_GET16(e, xe_value_len));
}

/*
 * The one check of an xattr block's entries, for the core and for fsck:
 * used within the block, every entry whole, named and in a known
 * namespace, packed up to exactly @xh_used (so every entry and @xh_used
 * stay 4-byte aligned), and @xh_count of them, at least one.
 */
bool tw_xattr_entries_ok(const struct tw_xattr_header *xh)
{
	const u8 *base = (const u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), off = 0, n = 0;

	if (used > TW_XATTR_SPACE)
		return false;
	while (off < used) {
		const struct tw_xattr_entry *e = (const void *)(base + off);
		u32 l;

		if (off + sizeof(*e) > used || !e->xe_name_len ||
		    e->xe_ns < TW_XATTR_NS_USER ||
		    e->xe_ns > TW_XATTR_NS_SYSTEM)
			return false;
		l = TW_XATTR_ENTRY_LEN(e->xe_name_len,
				       TW_GET16(e, xe_value_len));
		if (off + l > used)
			return false;
		off += l;
		n++;
	}
	return n == TW_GET32(xh, xh_count) && n;
}

static int xblock_read(struct tw_fs *fs, struct tw_ictx *ic, struct tw_buf **b,
		       struct tw_xattr_header **xh)
{
	u64 blk = TW_GET64(ic->di, i_xattr);
	int err;

	if (!blk)
		return -ENODATA;
	if (blk < fs->data_start || blk >= fs->nblocks)
		return tw_corrupt(fs, "xattr block out of range", ic->ino);
	err = tw_meta_read(fs, blk, TW_XATTR_MAGIC, ic->ino, b);
	if (err)
		return err;
	*xh = tw_bdata(*b);
	/* checked whole once, so that no change can start from a header
	 * that does not describe its entries (an odd xh_used, a count
	 * that would wrap) */
	if (!tw_xattr_entries_ok(*xh)) {
		tw_buf_release(*b);
		return tw_corrupt(fs, "bad xattr block", ic->ino);
	}
	return 0;
}

/*
 * Find an entry: its offset, or -ENODATA.  The walks here need no checks
 * of their own: xblock_read() checked the whole block, and only this
 * file changes it, under the inode lock.
 */
static int xfind(struct tw_xattr_header *xh, u8 ns, const char *name, u32 len,
		 u32 *offp)
{
	u32 used = TW_GET32(xh, xh_used), off;

	for (off = 0; off < used; off += ent_len(xh, off)) {
		struct tw_xattr_entry *e = ent_at(xh, off);

		if (e->xe_ns == ns && e->xe_name_len == len &&
		    !memcmp(e + 1, name, len)) {
			*offp = off;
			return 0;
		}
	}
	return -ENODATA;
}

int tw_xattr_get_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, void *buf, u32 size)
{
	struct tw_xattr_header *xh;
	struct tw_xattr_entry *e;
	struct tw_buf *b;
	u32 off, vlen;
	int err;

	err = xblock_read(fs, ic, &b, &xh);
	if (err)
		return err;
	err = xfind(xh, ns, name, len, &off);
	if (!err) {
		e = ent_at(xh, off);
		vlen = TW_GET16(e, xe_value_len);
		if (size && size < vlen) {
			err = -ERANGE;
		} else {
			if (size)
				memcpy(buf, (u8 *)(e + 1) + e->xe_name_len,
				       vlen);
			err = (int)vlen;
		}
	}
	tw_buf_release(b);
	return err;
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
	if (size > 0xffff)
		size = 0xffff;
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (!err) {
		err = tw_xattr_get_ic(fs, &ic, ns, name, len, buf, (u32)size);
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, false);
	return err;
}

ssize_t tw_listxattr(struct tw_fs *fs, u64 ino, char *buf, size_t size)
{
	struct tw_xattr_header *xh;
	struct tw_ictx ic;
	struct tw_buf *b;
	u32 used, off, i;
	size_t total = 0;
	ssize_t err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	if (err)
		goto unlock;
	err = xblock_read(fs, &ic, &b, &xh);
	if (err == -ENODATA) {
		err = 0;
		goto put;
	}
	if (err)
		goto put;
	used = TW_GET32(xh, xh_used);
	for (off = 0; off < used; off += ent_len(xh, off)) {
		struct tw_xattr_entry *e = ent_at(xh, off);
		const char *pfx = NULL;
		u32 plen = 0;

		/* the namespace is one of the table's (tw_xattr_entries_ok) */
		for (i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
			if (namespaces[i].ns == e->xe_ns) {
				pfx = namespaces[i].prefix;
				plen = namespaces[i].len;
			}
		tw_assert(pfx);
		if (e->xe_ns == TW_XATTR_NS_SYSTEM &&
		    (fs->mnt_flags & TW_MNT_NOACL))
			continue;
		if (size) {
			if (total + plen + e->xe_name_len + 1 > size) {
				err = -ERANGE;
				break;
			}
			memcpy(buf + total, pfx, plen);
			memcpy(buf + total + plen, e + 1, e->xe_name_len);
			buf[total + plen + e->xe_name_len] = '\0';
		}
		total += plen + e->xe_name_len + 1;
	}
	tw_buf_release(b);
	if (!err)
		err = (ssize_t)total;
put:
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, false);
	return err;
}

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

int tw_xattr_set_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		    const char *name, u32 len, const void *value, u32 size,
		    u32 flags, bool remove)
{
	struct tw_xattr_header *xh = NULL;
	struct tw_buf *b = NULL;
	u32 off = 0, need, used;
	bool found;
	int err;

	need = TW_XATTR_ENTRY_LEN(len, size);
	if (!remove && (size > 0xffff || need > TW_XATTR_SPACE))
		return -E2BIG;
	err = xblock_read(fs, ic, &b, &xh);
	if (err && err != -ENODATA)
		return err;
	found = false;
	if (!err) {
		err = xfind(xh, ns, name, len, &off);
		if (err && err != -ENODATA)
			goto release;
		found = !err;
	}
	err = 0;
	if ((remove || (flags & TW_XATTR_REPLACE)) && !found)
		err = -ENODATA;
	else if ((flags & TW_XATTR_CREATE) && found)
		err = -EEXIST;
	if (err)
		goto release;
	used = xh ? TW_GET32(xh, xh_used) : 0;
	if (!remove &&
	    used - (found ? ent_len(xh, off) : 0) + need > TW_XATTR_SPACE) {
		err = -ENOSPC;
		goto release;
	}
	if (!xh) {
		u64 blk;

		err = tw_alloc_block(fs, TW_GET64(ic->di, i_block[0]), &blk);
		if (err)
			goto release;
		err = tw_meta_new(fs, blk, TW_XATTR_MAGIC, ic->ino, 0, &b);
		if (err) {
			tw_free_block(fs, blk);
			goto release;
		}
		xh = tw_bdata(b);
		TW_SET64(ic->di, i_xattr, blk);
		TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) + 1);
	}
	if (found)
		xremove(xh, off);
	if (!remove) {
		struct tw_xattr_entry *e;

		used = TW_GET32(xh, xh_used);
		e = ent_at(xh, used);
		memset(e, 0, need);
		e->xe_ns = ns;
		e->xe_name_len = (u8)len;
		TW_SET16(e, xe_value_len, size);
		memcpy(e + 1, name, len);
		memcpy((u8 *)(e + 1) + len, value, size);
		TW_SET32(xh, xh_used, used + need);
		TW_SET32(xh, xh_count, TW_GET32(xh, xh_count) + 1);
	}
	if (!TW_GET32(xh, xh_count)) {
		/* the last one went: give the block back */
		err = tw_free_block(fs, tw_buf_blkno(b));
		ic->di->i_xattr = 0;
		TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) - 1);
	} else {
		err = tw_txn_dirty(fs, b);
	}
release:
	if (b)
		tw_buf_release(b);
	return err;
}

int tw_xattr_edit_ic(struct tw_fs *fs, struct tw_ictx *ic, u8 ns,
		     const char *name, u32 len, struct tw_buf **bp,
		     void **value, u32 *size)
{
	struct tw_xattr_header *xh;
	struct tw_xattr_entry *e;
	u32 off;
	int err;

	err = xblock_read(fs, ic, bp, &xh);
	if (err)
		return err;
	err = xfind(xh, ns, name, len, &off);
	if (err) {
		tw_buf_release(*bp);
		return err;
	}
	e = ent_at(xh, off);
	*value = (u8 *)(e + 1) + e->xe_name_len;
	*size = TW_GET16(e, xe_value_len);
	return 0;
}

void tw_xattr_free_new(struct tw_fs *fs, struct tw_ictx *ic)
{
	u64 blk = TW_GET64(ic->di, i_xattr);

	if (!blk)
		return;
	tw_free_block(fs, blk);
	ic->di->i_xattr = 0;
	TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) - 1);
}

#define CR_XATTR (TW_CR_INODE + TW_CR_ALLOC + 2)

static int do_set(struct tw_fs *fs, u64 ino, const char *full,
		  const void *value, size_t size, u32 flags, bool remove)
{
	const char *name;
	struct tw_ictx ic;
	u32 len;
	int err;
	u8 ns;

	err = parse(fs, full, &ns, &name, &len);
	if (err)
		return err;
	if (!remove && size > 0xffff)
		return -E2BIG;
	err = tw_txn_begin(fs, CR_XATTR);
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
		err = tw_xattr_set_ic(fs, &ic, ns, name, len, value, (u32)size,
				      flags, remove);
	if (!err) {
		tw_touch(ic.di, false, true);
		err = tw_idirty(fs, &ic);
	}
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, true);
	tw_txn_end(fs, CR_XATTR, err);
	return err;
}

int tw_setxattr(struct tw_fs *fs, u64 ino, const char *name, const void *value,
		size_t size, u32 flags)
{
	int err = do_set(fs, ino, name, value, size, flags, false);

	if (err == -ENOSPC && TW_XATTR_ENTRY_LEN(0, size) <= TW_XATTR_SPACE &&
	    fs->free_blocks && !tw_commit(fs))
		err = do_set(fs, ino, name, value, size, flags, false);
	return err;
}

int tw_removexattr(struct tw_fs *fs, u64 ino, const char *name)
{
	return do_set(fs, ino, name, NULL, 0, 0, true);
}

int tw_xattr_drop(struct tw_fs *fs, struct tw_ictx *ic)
{
	u64 blk = TW_GET64(ic->di, i_xattr);
	int err;

	if (!blk)
		return 0;
	if (blk < fs->data_start || blk >= fs->nblocks)
		return tw_corrupt(fs, "xattr block out of range", ic->ino);
	err = tw_txn_begin(fs, TW_CR_INODE + 2);
	if (err)
		return err;
	tw_ilock(fs, ic->ino, true);
	err = tw_free_block(fs, blk);
	if (!err) {
		ic->di->i_xattr = 0;
		TW_SET64(ic->di, i_blocks, TW_GET64(ic->di, i_blocks) - 1);
		err = tw_idirty(fs, ic);
	}
	tw_iunlock(fs, ic->ino, true);
	tw_txn_end(fs, TW_CR_INODE + 2, err);
	return err;
}
