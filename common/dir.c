// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - directories: entry blocks, the free-space map and a linear-hashing
 * index.
 *
 * Layer: core (common/).  Calls inode.c, meta.c, journal.c and the
 * environment.  Callers hold the directory's inode lock (exclusive for
 * changes) and, for changes, a transaction handle with TW_CR_DIRADD or
 * TW_CR_DIRDEL credits.
 *
 * Layout (see tw_format.h and docs/format.md): entries live in entry blocks
 * in the order they were added, ext2-style, and never move while they
 * exist, so an entry's byte position in the directory is a stable readdir
 * cookie.  Lookup does not scan them: a keyed hash of the name picks one
 * bucket of a linear-hashing table (Litwin, 1980), whose slots map hashes
 * to positions.  The table grows one bucket at a time, so no insert ever
 * pays for rehashing the whole directory.  A directory of a single entry
 * block has no index at all.
 */
#include "tw_int.h"

#define SPLIT_MAX 4 /* forced bucket splits per insert */

u32 tw_name_hash(struct tw_fs *fs, const char *name, u32 len)
{
	u64 h = 0xcbf29ce484222325ull ^ fs->hash_seed;
	u32 i;

	for (i = 0; i < len; i++) {
		h ^= (u8)name[i];
		h *= 0x100000001b3ull;
	}
	/* murmur3's finaliser spreads the low bits that buckets use */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (u32)h;
}

/* ---- entry blocks ---- */

static inline struct tw_dirent *rec_at(void *blk, u32 off)
{
	return (struct tw_dirent *)((u8 *)blk + off);
}

static inline char *rec_name(struct tw_dirent *de)
{
	return (char *)(de + 1);
}

/* Check the record at @off; returns its rec_len or 0 if it is invalid. */
u32 tw_dirent_check(void *blk, u32 off)
{
	struct tw_dirent *de;
	u32 rl, nl;

	if (off < TW_DIRD_START || off + sizeof(*de) > TW_BLOCK_SIZE ||
	    (off & 7))
		return 0;
	de = rec_at(blk, off);
	rl = TW_GET16(de, d_rec_len);
	nl = de->d_name_len;
	if (rl < sizeof(*de) || (rl & 7) || off + rl > TW_BLOCK_SIZE)
		return 0;
	if (de->d_ino && (!nl || TW_DIRENT_LEN(nl) > rl))
		return 0;
	return rl;
}

static inline u32 rec_used(struct tw_dirent *de)
{
	return de->d_ino ? TW_DIRENT_LEN(de->d_name_len) : 0;
}

static int dblk_read(struct tw_fs *fs, struct tw_ictx *dir, u32 lblk,
		     struct tw_buf **out)
{
	return tw_file_meta_read(fs, dir, lblk, TW_DIRD_MAGIC, out);
}

/* Largest space a new record could take in the block, in bytes. */
u32 tw_dirblock_largest(void *blk)
{
	u32 off = TW_DIRD_START, best = 0, rl;

	while (off < TW_BLOCK_SIZE) {
		struct tw_dirent *de = rec_at(blk, off);

		rl = tw_dirent_check(blk, off);
		if (!rl)
			return ~0u;
		if (rl - rec_used(de) > best)
			best = rl - rec_used(de);
		off += rl;
	}
	return best;
}

static int dblk_free(struct tw_fs *fs, struct tw_ictx *dir, void *blk,
		     u32 *largest)
{
	*largest = tw_dirblock_largest(blk);
	if (*largest == ~0u)
		return tw_corrupt(fs, "bad directory record", dir->ino);
	return 0;
}

/* Find @name in an entry block: its offset, or -ENOENT. */
static int dblk_find(struct tw_fs *fs, struct tw_ictx *dir, void *blk,
		     const char *name, u32 len, u32 *offp)
{
	u32 off = TW_DIRD_START, rl;

	while (off < TW_BLOCK_SIZE) {
		struct tw_dirent *de = rec_at(blk, off);

		rl = tw_dirent_check(blk, off);
		if (!rl)
			return tw_corrupt(fs, "bad directory record", dir->ino);
		if (de->d_ino && de->d_name_len == len &&
		    !memcmp(rec_name(de), name, len)) {
			*offp = off;
			return 0;
		}
		off += rl;
	}
	return -ENOENT;
}

/* Put a record in the block if it fits: its offset, or -ENOSPC. */
static int dblk_insert(struct tw_fs *fs, struct tw_ictx *dir, void *blk,
		       const char *name, u32 len, u64 ino, u32 dtype, u32 *offp)
{
	u32 need = TW_DIRENT_LEN(len), off = TW_DIRD_START, rl;

	while (off < TW_BLOCK_SIZE) {
		struct tw_dirent *de = rec_at(blk, off);
		u32 used;

		rl = tw_dirent_check(blk, off);
		if (!rl)
			return tw_corrupt(fs, "bad directory record", dir->ino);
		used = rec_used(de);
		if (rl - used >= need) {
			if (used) {
				TW_SET16(de, d_rec_len, used);
				off += used;
				de = rec_at(blk, off);
				TW_SET16(de, d_rec_len, rl - used);
			}
			TW_SET32(de, d_ino, ino);
			de->d_name_len = (u8)len;
			de->d_type = (u8)dtype;
			memcpy(rec_name(de), name, len);
			memset(rec_name(de) + len, 0, need - sizeof(*de) - len);
			*offp = off;
			return 0;
		}
		off += rl;
	}
	return -ENOSPC;
}

/* Remove the record at @off, merging its space into its predecessor. */
static int dblk_remove(struct tw_fs *fs, struct tw_ictx *dir, void *blk,
		       u32 off)
{
	u32 prev = 0, cur = TW_DIRD_START, rl;

	while (cur < off) {
		rl = tw_dirent_check(blk, cur);
		if (!rl)
			return tw_corrupt(fs, "bad directory record", dir->ino);
		prev = cur;
		cur += rl;
	}
	if (cur != off || !tw_dirent_check(blk, off))
		return tw_corrupt(fs, "directory index points nowhere",
				  dir->ino);
	if (prev) {
		struct tw_dirent *p = rec_at(blk, prev);

		TW_SET16(p, d_rec_len,
			 TW_GET16(p, d_rec_len) +
				 TW_GET16(rec_at(blk, off), d_rec_len));
	} else {
		struct tw_dirent *de = rec_at(blk, off);

		de->d_ino = 0;
		de->d_name_len = 0;
		de->d_type = 0;
	}
	return 0;
}

static int dblk_new(struct tw_fs *fs, struct tw_ictx *dir, u32 lblk,
		    struct tw_buf **out)
{
	struct tw_dirent *de;
	int err;

	err = tw_file_meta_new(fs, dir, lblk, TW_DIRD_MAGIC, 0, out);
	if (err)
		return err;
	de = rec_at(tw_bdata(*out), TW_DIRD_START);
	TW_SET16(de, d_rec_len, TW_BLOCK_SIZE - TW_DIRD_START);
	return tw_txn_dirty(fs, *out);
}

/* ---- the header ---- */

static int hdr_read(struct tw_fs *fs, struct tw_ictx *dir, struct tw_buf **b,
		    struct tw_dir_header **h)
{
	int err;

	if (!TW_S_ISDIR(TW_GET16(dir->di, i_mode)))
		return -ENOTDIR;
	err = tw_file_meta_read(fs, dir, 0, TW_DIRH_MAGIC, b);
	if (err)
		return err;
	*h = tw_bdata(*b);
	if (TW_GET32(*h, dh_data_blocks) >= TW_DIR_DATA_END ||
	    TW_GET32(*h, dh_level) > 22 ||
	    TW_GET32(*h, dh_split) >= (1u << TW_GET32(*h, dh_level)) ||
	    (!(TW_GET32(*h, dh_flags) & TW_DIRH_INDEXED) &&
	     TW_GET32(*h, dh_data_blocks) > 1) ||
	    (TW_GET32(*h, dh_flags) & ~TW_DIRH_INDEXED)) {
		tw_buf_release(*b);
		return tw_corrupt(fs, "bad directory header", dir->ino);
	}
	return 0;
}

int tw_dir_init(struct tw_fs *fs, struct tw_ictx *dir, u64 parent)
{
	struct tw_dir_header *h;
	struct tw_buf *b;
	int err;

	err = tw_file_meta_new(fs, dir, 0, TW_DIRH_MAGIC, 0, &b);
	if (err)
		return err;
	h = tw_bdata(b);
	TW_SET32(h, dh_parent, parent);
	err = tw_txn_dirty(fs, b);
	tw_buf_release(b);
	if (!err) {
		TW_SET64(dir->di, i_size, TW_BLOCK_SIZE);
		err = tw_idirty(fs, dir);
	}
	return err;
}

int tw_dir_parent(struct tw_fs *fs, struct tw_ictx *dir, u64 *parent)
{
	struct tw_dir_header *h;
	struct tw_buf *b;
	int err;

	err = hdr_read(fs, dir, &b, &h);
	if (err)
		return err;
	*parent = TW_GET32(h, dh_parent);
	tw_buf_release(b);
	return 0;
}

int tw_dir_set_parent(struct tw_fs *fs, struct tw_ictx *dir, u64 parent)
{
	struct tw_dir_header *h;
	struct tw_buf *b;
	int err;

	err = hdr_read(fs, dir, &b, &h);
	if (err)
		return err;
	TW_SET32(h, dh_parent, parent);
	err = tw_txn_dirty(fs, b);
	tw_buf_release(b);
	return err;
}

int tw_dir_is_empty(struct tw_fs *fs, struct tw_ictx *dir, bool *empty)
{
	struct tw_dir_header *h;
	struct tw_buf *b;
	int err;

	err = hdr_read(fs, dir, &b, &h);
	if (err)
		return err;
	*empty = TW_GET64(h, dh_entries) == 0;
	tw_buf_release(b);
	return 0;
}

/* ---- free-space map ---- */

/* Record the largest free space of entry block @idx (0-based). */
static int fsm_set(struct tw_fs *fs, struct tw_ictx *dir, u32 idx, u32 largest)
{
	u32 lblk = TW_DIR_FSM_BASE + idx / TW_DIRF_BYTES;
	struct tw_buf *b;
	int err;

	if (idx % TW_DIRF_BYTES == 0) {
		u64 pblk;

		err = tw_map_lookup(fs, dir, lblk, &pblk);
		if (err)
			return err;
		err = pblk ? tw_file_meta_read(fs, dir, lblk, TW_DIRF_MAGIC,
					       &b) :
			     tw_file_meta_new(fs, dir, lblk, TW_DIRF_MAGIC, 0,
					      &b);
	} else {
		err = tw_file_meta_read(fs, dir, lblk, TW_DIRF_MAGIC, &b);
	}
	if (err)
		return err;
	largest >>= 3;
	((u8 *)tw_bdata(b))[sizeof(struct tw_blk_hdr) + idx % TW_DIRF_BYTES] =
		(u8)(largest > 255 ? 255 : largest);
	err = tw_txn_dirty(fs, b);
	tw_buf_release(b);
	return err;
}

/* An entry block (1-based lblk) with room for @need bytes, or 0. */
static int fsm_find(struct tw_fs *fs, struct tw_ictx *dir, u32 nblocks,
		    u32 need, u32 *lblk)
{
	u32 idx = 0;

	*lblk = 0;
	while (idx < nblocks) {
		struct tw_buf *b;
		const u8 *map;
		u32 i;
		int err;

		err = tw_file_meta_read(fs, dir,
					TW_DIR_FSM_BASE + idx / TW_DIRF_BYTES,
					TW_DIRF_MAGIC, &b);
		if (err)
			return err;
		map = (u8 *)tw_bdata(b) + sizeof(struct tw_blk_hdr);
		for (i = 0; i < TW_DIRF_BYTES && idx < nblocks; i++, idx++) {
			if ((u32)map[i] * 8 >= need) {
				*lblk = TW_DIR_DATA_BASE + idx;
				break;
			}
		}
		tw_buf_release(b);
		if (*lblk)
			return 0;
	}
	return 0;
}

/* ---- the hash index ---- */

u32 tw_dir_bucket(const struct tw_dir_header *h, u32 hash)
{
	u32 level = TW_GET32(h, dh_level), b;

	b = hash & ((1u << level) - 1);
	if (b < TW_GET32(h, dh_split))
		b = hash & ((2u << level) - 1);
	return b;
}

static int bucket_read(struct tw_fs *fs, struct tw_ictx *dir, u32 bucket,
		       struct tw_buf **out)
{
	struct tw_dirx_block *xb;
	int err;

	err = tw_file_meta_read(fs, dir, TW_DIR_IDX_BASE + bucket,
				TW_DIRX_MAGIC, out);
	if (err)
		return err;
	xb = tw_bdata(*out);
	if (TW_GET32(xb, xb_hdr.h_aux) != bucket ||
	    TW_GET32(xb, xb_count) > TW_DIRX_SLOTS) {
		tw_buf_release(*out);
		return tw_corrupt(fs, "bad directory bucket", dir->ino);
	}
	return 0;
}

/* Split bucket dh_split into itself and bucket 2^level + split. */
static int split_one(struct tw_fs *fs, struct tw_ictx *dir, struct tw_buf *hb,
		     struct tw_dir_header *h)
{
	u32 level = TW_GET32(h, dh_level), split = TW_GET32(h, dh_split);
	u32 nb = (1u << level) + split, mask = (2u << level) - 1, i, n;
	struct tw_dirx_block *xa, *xn;
	struct tw_buf *a, *b;
	int err;

	if (nb >= TW_DIR_IDX_MAX)
		return -ENOSPC;
	err = bucket_read(fs, dir, split, &a);
	if (err)
		return err;
	err = tw_file_meta_new(fs, dir, TW_DIR_IDX_BASE + nb, TW_DIRX_MAGIC, nb,
			       &b);
	if (err) {
		tw_buf_release(a);
		return err;
	}
	xa = tw_bdata(a);
	xn = tw_bdata(b);
	n = TW_GET32(xa, xb_count);
	for (i = 0; i < n;) {
		if ((TW_GET32(xa, xb_ent[i].x_hash) & mask) == nb) {
			u32 k = TW_GET32(xn, xb_count);

			xn->xb_ent[k] = xa->xb_ent[i];
			TW_SET32(xn, xb_count, k + 1);
			xa->xb_ent[i] = xa->xb_ent[--n];
		} else {
			i++;
		}
	}
	TW_SET32(xa, xb_count, n);
	memset(&xa->xb_ent[n], 0, (TW_DIRX_SLOTS - n) * sizeof(xa->xb_ent[0]));
	err = tw_txn_dirty(fs, a);
	if (!err)
		err = tw_txn_dirty(fs, b);
	tw_buf_release(a);
	tw_buf_release(b);
	if (err)
		return err;
	if (++split == (1u << level)) {
		split = 0;
		level++;
	}
	TW_SET32(h, dh_level, level);
	TW_SET32(h, dh_split, split);
	return tw_txn_dirty(fs, hb);
}

/* Make sure the bucket for @hash has a free slot. */
static int bucket_room(struct tw_fs *fs, struct tw_ictx *dir, struct tw_buf *hb,
		       struct tw_dir_header *h, u32 hash)
{
	u64 entries = TW_GET64(h, dh_entries);
	u32 nbuckets, tries;
	int err;

	/*
	 * In linear hashing the buckets not yet split in this round hold
	 * twice the load of the others.  Splitting whenever the average load
	 * passes 3/8 of a bucket spreads a round of 2^level splits evenly
	 * over the entries that double the directory, so that the unsplit
	 * buckets peak at 3/4 full when the round ends.
	 */
	nbuckets = (1u << TW_GET32(h, dh_level)) + TW_GET32(h, dh_split);
	if ((entries + 1) * 8 > (u64)nbuckets * TW_DIRX_SLOTS * 3) {
		err = split_one(fs, dir, hb, h);
		if (err && err != -ENOSPC)
			return err;
	}
	for (tries = 0;; tries++) {
		struct tw_dirx_block *xb;
		struct tw_buf *b;
		u32 count;

		err = bucket_read(fs, dir, tw_dir_bucket(h, hash), &b);
		if (err)
			return err;
		xb = tw_bdata(b);
		count = TW_GET32(xb, xb_count);
		tw_buf_release(b);
		if (count < TW_DIRX_SLOTS)
			return 0;
		/* a crowded bucket (many equal hashes): split some more */
		if (tries == SPLIT_MAX)
			break;
		err = split_one(fs, dir, hb, h);
		if (err)
			return err;
	}
	tw_warn(fs, "directory %llu: hash bucket full",
		(unsigned long long)dir->ino);
	return -ENOSPC;
}

static int bucket_add(struct tw_fs *fs, struct tw_ictx *dir,
		      struct tw_dir_header *h, u32 hash, u32 pos8)
{
	struct tw_dirx_block *xb;
	struct tw_buf *b;
	u32 count;
	int err;

	err = bucket_read(fs, dir, tw_dir_bucket(h, hash), &b);
	if (err)
		return err;
	xb = tw_bdata(b);
	count = TW_GET32(xb, xb_count);
	tw_assert(count < TW_DIRX_SLOTS);
	TW_SET32(xb, xb_ent[count].x_hash, hash);
	TW_SET32(xb, xb_ent[count].x_pos, pos8);
	TW_SET32(xb, xb_count, count + 1);
	err = tw_txn_dirty(fs, b);
	tw_buf_release(b);
	return err;
}

u32 tw_dir_pos8(u32 lblk, u32 off)
{
	return (lblk << (TW_BLOCK_SHIFT - 3)) | (off >> 3);
}

/*
 * Look @name up through the index: entry block and offset.  With @remove,
 * the index slot is removed as well.
 */
static int index_find(struct tw_fs *fs, struct tw_ictx *dir,
		      struct tw_dir_header *h, const char *name, u32 len,
		      bool remove, u32 *lblkp, u32 *offp)
{
	u32 hash = tw_name_hash(fs, name, len), i, count;
	u32 nblocks = TW_GET32(h, dh_data_blocks);
	struct tw_dirx_block *xb;
	struct tw_buf *b;
	int err;

	err = bucket_read(fs, dir, tw_dir_bucket(h, hash), &b);
	if (err)
		return err;
	xb = tw_bdata(b);
	count = TW_GET32(xb, xb_count);
	for (i = 0; i < count; i++) {
		u32 pos8, lblk, off;
		struct tw_dirent *de;
		struct tw_buf *db;

		if (TW_GET32(xb, xb_ent[i].x_hash) != hash)
			continue;
		pos8 = TW_GET32(xb, xb_ent[i].x_pos);
		lblk = pos8 >> (TW_BLOCK_SHIFT - 3);
		off = (pos8 << 3) & (TW_BLOCK_SIZE - 1);
		if (lblk < TW_DIR_DATA_BASE || lblk > nblocks) {
			err = tw_corrupt(fs, "directory index points nowhere",
					 dir->ino);
			goto out;
		}
		err = dblk_read(fs, dir, lblk, &db);
		if (err)
			goto out;
		de = rec_at(tw_bdata(db), off);
		if (!tw_dirent_check(tw_bdata(db), off) || !de->d_ino) {
			tw_buf_release(db);
			err = tw_corrupt(fs, "directory index points nowhere",
					 dir->ino);
			goto out;
		}
		if (de->d_name_len == len && !memcmp(rec_name(de), name, len)) {
			tw_buf_release(db);
			*lblkp = lblk;
			*offp = off;
			if (remove) {
				xb->xb_ent[i] = xb->xb_ent[count - 1];
				memset(&xb->xb_ent[count - 1], 0,
				       sizeof(xb->xb_ent[0]));
				TW_SET32(xb, xb_count, count - 1);
				err = tw_txn_dirty(fs, b);
			}
			goto out;
		}
		tw_buf_release(db);
	}
	err = -ENOENT;
out:
	tw_buf_release(b);
	return err;
}

/* Where is @name: entry block and offset (index or linear search). */
static int locate(struct tw_fs *fs, struct tw_ictx *dir,
		  struct tw_dir_header *h, const char *name, u32 len,
		  bool remove_index, u32 *lblkp, u32 *offp)
{
	struct tw_buf *db;
	int err;

	if (TW_GET32(h, dh_flags) & TW_DIRH_INDEXED)
		return index_find(fs, dir, h, name, len, remove_index, lblkp,
				  offp);
	if (!TW_GET32(h, dh_data_blocks))
		return -ENOENT;
	err = dblk_read(fs, dir, TW_DIR_DATA_BASE, &db);
	if (err)
		return err;
	err = dblk_find(fs, dir, tw_bdata(db), name, len, offp);
	tw_buf_release(db);
	*lblkp = TW_DIR_DATA_BASE;
	return err;
}

/* The entry block holding @name, and its record in it. */
static int find_entry(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		      u32 len, struct tw_buf **db, struct tw_dirent **de)
{
	struct tw_dir_header *h;
	struct tw_buf *hb;
	u32 lblk, off;
	int err;

	err = hdr_read(fs, dir, &hb, &h);
	if (err)
		return err;
	err = locate(fs, dir, h, name, len, false, &lblk, &off);
	tw_buf_release(hb);
	if (err)
		return err;
	err = dblk_read(fs, dir, lblk, db);
	if (!err)
		*de = rec_at(tw_bdata(*db), off);
	return err;
}

int tw_dir_find(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		u32 len, u64 *ino, u32 *dtype)
{
	struct tw_dirent *de;
	struct tw_buf *db;
	int err;

	err = find_entry(fs, dir, name, len, &db, &de);
	if (err)
		return err;
	*ino = TW_GET32(de, d_ino);
	if (dtype)
		*dtype = de->d_type;
	tw_buf_release(db);
	return 0;
}

/* Turn a one-block directory into an indexed one. */
static int build_index(struct tw_fs *fs, struct tw_ictx *dir, struct tw_buf *hb,
		       struct tw_dir_header *h)
{
	struct tw_buf *xbuf, *db;
	struct tw_dirx_block *xb;
	u32 off = TW_DIRD_START, largest, n = 0;
	int err;

	err = dblk_read(fs, dir, TW_DIR_DATA_BASE, &db);
	if (err)
		return err;
	err = dblk_free(fs, dir, tw_bdata(db), &largest);
	if (!err)
		err = fsm_set(fs, dir, 0, largest);
	if (!err)
		err = tw_file_meta_new(fs, dir, TW_DIR_IDX_BASE, TW_DIRX_MAGIC,
				       0, &xbuf);
	if (err) {
		tw_buf_release(db);
		return err;
	}
	xb = tw_bdata(xbuf);
	while (off < TW_BLOCK_SIZE) {
		struct tw_dirent *de = rec_at(tw_bdata(db), off);

		if (de->d_ino) {
			TW_SET32(
				xb, xb_ent[n].x_hash,
				tw_name_hash(fs, rec_name(de), de->d_name_len));
			TW_SET32(xb, xb_ent[n].x_pos,
				 tw_dir_pos8(TW_DIR_DATA_BASE, off));
			n++;
		}
		off += TW_GET16(de, d_rec_len); /* checked by dblk_free */
	}
	TW_SET32(xb, xb_count, n);
	tw_buf_release(db);
	err = tw_txn_dirty(fs, xbuf);
	tw_buf_release(xbuf);
	if (err)
		return err;
	TW_SET32(h, dh_level, 0);
	TW_SET32(h, dh_split, 0);
	TW_SET32(h, dh_flags, TW_GET32(h, dh_flags) | TW_DIRH_INDEXED);
	return tw_txn_dirty(fs, hb);
}

/* Append a new entry block; returns its lblk. */
static int add_block(struct tw_fs *fs, struct tw_ictx *dir, struct tw_buf *hb,
		     struct tw_dir_header *h, u32 *lblkp)
{
	u32 n = TW_GET32(h, dh_data_blocks), lblk = TW_DIR_DATA_BASE + n;
	struct tw_buf *db;
	int err;

	if (lblk >= TW_DIR_DATA_END)
		return -ENOSPC;
	err = dblk_new(fs, dir, lblk, &db);
	if (err)
		return err;
	tw_buf_release(db);
	TW_SET32(h, dh_data_blocks, n + 1);
	err = tw_txn_dirty(fs, hb);
	if (!err && (TW_GET32(h, dh_flags) & TW_DIRH_INDEXED))
		err = fsm_set(fs, dir, n, TW_BLOCK_SIZE - TW_DIRD_START);
	if (err)
		return err;
	TW_SET64(dir->di, i_size, (u64)(lblk + 1) << TW_BLOCK_SHIFT);
	*lblkp = lblk;
	return tw_idirty(fs, dir);
}

int tw_dir_add(struct tw_fs *fs, struct tw_ictx *dir, const char *name, u32 len,
	       u64 ino, u32 dtype)
{
	u32 need = TW_DIRENT_LEN(len), hash, lblk = 0, off = 0, largest;
	struct tw_dir_header *h;
	struct tw_buf *hb, *db;
	bool indexed;
	int err;

	err = hdr_read(fs, dir, &hb, &h);
	if (err)
		return err;
	indexed = TW_GET32(h, dh_flags) & TW_DIRH_INDEXED;
	hash = tw_name_hash(fs, name, len);

	/* Everything that can fail for want of space happens first. */
	if (!indexed && TW_GET32(h, dh_data_blocks)) {
		err = dblk_read(fs, dir, TW_DIR_DATA_BASE, &db);
		if (err)
			goto out;
		err = dblk_free(fs, dir, tw_bdata(db), &largest);
		tw_buf_release(db);
		if (err)
			goto out;
		if (largest >= need) {
			lblk = TW_DIR_DATA_BASE;
		} else {
			err = build_index(fs, dir, hb, h);
			if (err)
				goto out;
			indexed = true;
		}
	}
	if (indexed) {
		err = bucket_room(fs, dir, hb, h, hash);
		if (!err)
			err = fsm_find(fs, dir, TW_GET32(h, dh_data_blocks),
				       need, &lblk);
		if (err)
			goto out;
	}
	if (!lblk) {
		err = add_block(fs, dir, hb, h, &lblk);
		if (err)
			goto out;
	}

	/* Now the entry itself. */
	err = dblk_read(fs, dir, lblk, &db);
	if (err)
		goto out;
	err = dblk_insert(fs, dir, tw_bdata(db), name, len, ino, dtype, &off);
	if (err == -ENOSPC)
		err = tw_corrupt(fs, "directory free-space map is wrong",
				 dir->ino);
	if (!err)
		err = tw_txn_dirty(fs, db);
	if (!err && indexed) {
		err = dblk_free(fs, dir, tw_bdata(db), &largest);
		if (!err)
			err = fsm_set(fs, dir, lblk - TW_DIR_DATA_BASE,
				      largest);
		if (!err)
			err = bucket_add(fs, dir, h, hash,
					 tw_dir_pos8(lblk, off));
	}
	tw_buf_release(db);
	if (err)
		goto out;
	TW_SET64(h, dh_entries, TW_GET64(h, dh_entries) + 1);
	err = tw_txn_dirty(fs, hb);
out:
	tw_buf_release(hb);
	return err;
}

int tw_dir_remove(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		  u32 len)
{
	struct tw_dir_header *h;
	struct tw_buf *hb, *db;
	u32 lblk, off, largest;
	int err;

	err = hdr_read(fs, dir, &hb, &h);
	if (err)
		return err;
	err = locate(fs, dir, h, name, len, true, &lblk, &off);
	if (err)
		goto out;
	err = dblk_read(fs, dir, lblk, &db);
	if (err)
		goto out;
	err = dblk_remove(fs, dir, tw_bdata(db), off);
	if (!err)
		err = tw_txn_dirty(fs, db);
	if (!err && (TW_GET32(h, dh_flags) & TW_DIRH_INDEXED)) {
		err = dblk_free(fs, dir, tw_bdata(db), &largest);
		if (!err)
			err = fsm_set(fs, dir, lblk - TW_DIR_DATA_BASE,
				      largest);
	}
	tw_buf_release(db);
	if (err)
		goto out;
	if (!TW_GET64(h, dh_entries)) {
		err = tw_corrupt(fs, "directory entry count", dir->ino);
		goto out;
	}
	TW_SET64(h, dh_entries, TW_GET64(h, dh_entries) - 1);
	err = tw_txn_dirty(fs, hb);
out:
	tw_buf_release(hb);
	return err;
}

int tw_dir_retarget(struct tw_fs *fs, struct tw_ictx *dir, const char *name,
		    u32 len, u64 ino, u32 dtype)
{
	struct tw_dirent *de;
	struct tw_buf *db;
	int err;

	err = find_entry(fs, dir, name, len, &db, &de);
	if (err)
		return err;
	TW_SET32(de, d_ino, ino);
	de->d_type = (u8)dtype;
	err = tw_txn_dirty(fs, db);
	tw_buf_release(db);
	return err;
}

/* ---- readdir ---- */

/*
 * Entry blocks are copied out under the directory's shared lock and emitted
 * without it, so that the home's callback (which may copy to user memory
 * and fault) never runs with a core lock held.
 */
int tw_readdir(struct tw_fs *fs, u64 ino, u64 cookie, tw_readdir_fn fn,
	       void *ctx)
{
	struct tw_dir_header *h;
	struct tw_ictx dir;
	struct tw_buf *hb, *db;
	u64 parent = 0;
	u32 lblk, nblocks;
	u8 *copy;
	int err;

	copy = tw_alloc(TW_BLOCK_SIZE);
	if (!copy)
		return -ENOMEM;
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &dir);
	if (!err) {
		err = hdr_read(fs, &dir, &hb, &h);
		if (!err) {
			parent = TW_GET32(h, dh_parent);
			tw_buf_release(hb);
		}
		tw_iput(&dir);
	}
	tw_iunlock(fs, ino, false);
	if (err)
		goto out;
	if (cookie == 0) {
		if (fn(ctx, ".", 1, ino, TW_DT_DIR, 1))
			goto out;
		cookie = 1;
	}
	if (cookie == 1) {
		if (fn(ctx, "..", 2, parent, TW_DT_DIR, 2))
			goto out;
		cookie = 2;
	}
	lblk = (u32)(cookie >> TW_BLOCK_SHIFT);
	if (lblk < TW_DIR_DATA_BASE)
		lblk = TW_DIR_DATA_BASE;
	if (cookie >> TW_BLOCK_SHIFT >= TW_DIR_DATA_END)
		goto out;
	for (;; lblk++) {
		u32 off = TW_DIRD_START, rl;

		tw_ilock(fs, ino, false);
		err = tw_iget(fs, ino, &dir);
		if (err) {
			tw_iunlock(fs, ino, false);
			break;
		}
		err = hdr_read(fs, &dir, &hb, &h);
		if (!err) {
			nblocks = TW_GET32(h, dh_data_blocks);
			tw_buf_release(hb);
			if (lblk > nblocks)
				nblocks = 0;
			else
				err = dblk_read(fs, &dir, lblk, &db);
		}
		if (!err && nblocks) {
			memcpy(copy, tw_bdata(db), TW_BLOCK_SIZE);
			tw_buf_release(db);
		}
		tw_iput(&dir);
		tw_iunlock(fs, ino, false);
		if (err || !nblocks)
			break;
		while (off < TW_BLOCK_SIZE) {
			struct tw_dirent *de = rec_at(copy, off);
			u64 pos = ((u64)lblk << TW_BLOCK_SHIFT) + off;

			rl = tw_dirent_check(copy, off);
			if (!rl) {
				err = tw_corrupt(fs, "bad directory record",
						 ino);
				goto out;
			}
			if (de->d_ino && pos >= cookie) {
				/*
				 * A name no POSIX call can make ('/', NUL,
				 * "." or "..") or a second name of the root:
				 * the VFS would refuse the first with EIO
				 * (verify_dirent_name(), FUSE's
				 * fuse_parse_dirfile()) and the second with
				 * ELOOP or EIO at lookup; fsck calls both
				 * corrupt.
				 */
				if (!tw_valid_name(rec_name(de),
						   de->d_name_len) ||
				    TW_GET32(de, d_ino) == TW_ROOT_INO) {
					err = tw_corrupt(
						fs, "bad directory entry", ino);
					goto out;
				}
				if (fn(ctx, rec_name(de), de->d_name_len,
				       TW_GET32(de, d_ino), de->d_type,
				       pos + 1))
					goto out;
			}
			off += rl;
		}
	}
out:
	tw_free(copy, TW_BLOCK_SIZE);
	/* reading a directory accesses it, as reading a file does */
	if (!err && !(fs->mnt_flags & TW_MNT_NODIRATIME))
		tw_touch_atime(fs, ino);
	return err;
}
