// SPDX-License-Identifier: GPL-2.0
/*
 * super.c - the superblock: the one image validator, mount, remount,
 * unmount, sync, statfs, and mkfs.
 *
 * Layer: core (common/).  Calls journal.c, alloc.c, inode.c, dir.c,
 * meta.c and the environment.
 *
 * Geometry is not free-form: every region follows from the sizes in the
 * superblock (see docs/format.md), and the validator recomputes and
 * compares it, so that no later code meets a region it cannot trust.
 */
#include "tw_int.h"

struct geometry {
	u64 blocks;
	u32 inodes;
	u32 journal;
	u32 orphan;
	u64 journal_start, orphan_start, bbitmap_start, ibitmap_start;
	u64 itable_start, data_start;
	u32 bbitmap_blocks, ibitmap_blocks, itable_blocks;
};

static void layout(struct geometry *g)
{
	g->bbitmap_blocks =
		(u32)((g->blocks + TW_BMAP_BITS - 1) / TW_BMAP_BITS);
	g->ibitmap_blocks =
		(u32)(((u64)g->inodes + TW_BMAP_BITS - 1) / TW_BMAP_BITS);
	g->itable_blocks = g->inodes / TW_INODES_PER_BLOCK;
	g->journal_start = 1;
	g->orphan_start = g->journal_start + g->journal;
	g->bbitmap_start = g->orphan_start + g->orphan;
	g->ibitmap_start = g->bbitmap_start + g->bbitmap_blocks;
	g->itable_start = g->ibitmap_start + g->ibitmap_blocks;
	g->data_start = g->itable_start + g->itable_blocks;
}

#define TW_MAX_ORPHAN_BLOCKS 256u

int tw_validate_super(const struct tw_super *sb, u64 dev_blocks,
		      const char **why)
{
	struct geometry g;
	u32 i;

	*why = NULL;
	if (TW_GET32(sb, s_magic) != TW_SB_MAGIC)
		*why = "bad magic: not a twinfs filesystem";
	else if (TW_GET32(sb, s_crc) != tw_super_csum(sb))
		*why = "superblock checksum mismatch";
	else if (TW_GET32(sb, s_version) != TW_FORMAT_VERSION)
		*why = "unsupported format version";
	else if (TW_GET32(sb, s_block_size) != TW_BLOCK_SIZE)
		*why = "unsupported block size";
	else if (TW_GET32(sb, s_inode_size) != TW_INODE_SIZE)
		*why = "unsupported inode size";
	else if (TW_GET32(sb, s_feature_incompat) & ~TW_FEATURE_INCOMPAT_SUPP)
		*why = "unknown incompatible features";
	else if (TW_GET32(sb, s_feature_ro_compat) & ~TW_FEATURE_RO_COMPAT_SUPP)
		*why = "unknown read-only-compatible features";
	else if (TW_GET32(sb, s_state) & ~(TW_STATE_CLEAN | TW_STATE_ERROR))
		*why = "unknown state bits";
	else if (TW_GET64(sb, s_blocks_count) < TW_MIN_BLOCKS ||
		 TW_GET64(sb, s_blocks_count) > TW_MAX_BLOCKS)
		*why = "block count out of range";
	else if (TW_GET64(sb, s_blocks_count) > dev_blocks)
		*why = "filesystem is larger than the device";
	else if (TW_GET32(sb, s_inodes_count) < TW_MIN_INODES ||
		 TW_GET32(sb, s_inodes_count) % TW_INODES_PER_BLOCK)
		*why = "inode count out of range";
	else if (TW_GET32(sb, s_journal_blocks) < TW_MIN_JOURNAL ||
		 TW_GET32(sb, s_journal_blocks) > TW_MAX_JOURNAL)
		*why = "journal size out of range";
	else if (!TW_GET32(sb, s_orphan_blocks) ||
		 TW_GET32(sb, s_orphan_blocks) > TW_MAX_ORPHAN_BLOCKS)
		*why = "orphan table size out of range";
	else if (TW_GET32(sb, s_root_ino) != TW_ROOT_INO)
		*why = "root inode is not inode 1";
	else if (sb->s_label[TW_LABEL_LEN - 1])
		*why = "label not terminated";
	if (*why)
		return TW_GET32(sb, s_crc) != tw_super_csum(sb) &&
				       TW_GET32(sb, s_magic) == TW_SB_MAGIC ?
			       -EBADMSG :
			       -EUCLEAN;

	g.blocks = TW_GET64(sb, s_blocks_count);
	g.inodes = TW_GET32(sb, s_inodes_count);
	g.journal = TW_GET32(sb, s_journal_blocks);
	g.orphan = TW_GET32(sb, s_orphan_blocks);
	layout(&g);
	if (TW_GET64(sb, s_journal_start) != g.journal_start ||
	    TW_GET64(sb, s_orphan_start) != g.orphan_start ||
	    TW_GET64(sb, s_bbitmap_start) != g.bbitmap_start ||
	    TW_GET32(sb, s_bbitmap_blocks) != g.bbitmap_blocks ||
	    TW_GET64(sb, s_ibitmap_start) != g.ibitmap_start ||
	    TW_GET32(sb, s_ibitmap_blocks) != g.ibitmap_blocks ||
	    TW_GET64(sb, s_itable_start) != g.itable_start ||
	    TW_GET32(sb, s_itable_blocks) != g.itable_blocks ||
	    TW_GET64(sb, s_data_start) != g.data_start)
		*why = "region layout does not follow from the sizes";
	else if (g.data_start + 8 > g.blocks)
		*why = "no room for data";
	else if (TW_GET64(sb, s_free_blocks) > g.blocks ||
		 TW_GET32(sb, s_free_inodes) > g.inodes)
		*why = "free counts exceed totals";
	for (i = 0; !*why && i < sizeof(sb->s_reserved); i++)
		if (sb->s_reserved[i])
			*why = "reserved superblock bytes are not zero";
	return *why ? -EUCLEAN : 0;
}

const struct tw_super *tw_fs_super(struct tw_fs *fs)
{
	return fs->sb;
}

struct tw_dev *tw_fs_dev(struct tw_fs *fs)
{
	return fs->dev;
}

/* ---- mount ---- */

static void fs_free(struct tw_fs *fs)
{
	u32 i;

	tw_journal_destroy(fs);
	for (i = 0; i < TW_ILOCK_STRIPES; i++) {
		if (fs->ilock[i])
			tw_rwsem_free(fs->ilock[i]);
		if (fs->dlock[i])
			tw_rwsem_free(fs->dlock[i]);
	}
	if (fs->alloc_lock)
		tw_mutex_free(fs->alloc_lock);
	if (fs->ialloc_lock)
		tw_mutex_free(fs->ialloc_lock);
	if (fs->orphan_lock)
		tw_mutex_free(fs->orphan_lock);
	if (fs->rename_lock)
		tw_mutex_free(fs->rename_lock);
	if (fs->sb_buf)
		tw_buf_release(fs->sb_buf);
	tw_free(fs, sizeof(*fs));
}

static void load_geometry(struct tw_fs *fs)
{
	struct tw_super *sb = fs->sb;

	fs->csum_seed = TW_GET32(sb, s_csum_seed);
	fs->hash_seed = TW_GET32(sb, s_hash_seed);
	fs->nblocks = TW_GET64(sb, s_blocks_count);
	fs->ninodes = TW_GET32(sb, s_inodes_count);
	fs->bbitmap_start = TW_GET64(sb, s_bbitmap_start);
	fs->bbitmap_blocks = TW_GET32(sb, s_bbitmap_blocks);
	fs->ibitmap_start = TW_GET64(sb, s_ibitmap_start);
	fs->ibitmap_blocks = TW_GET32(sb, s_ibitmap_blocks);
	fs->itable_start = TW_GET64(sb, s_itable_start);
	fs->itable_blocks = TW_GET32(sb, s_itable_blocks);
	fs->orphan_start = TW_GET64(sb, s_orphan_start);
	fs->orphan_blocks = TW_GET32(sb, s_orphan_blocks);
	fs->data_start = TW_GET64(sb, s_data_start);
}

static int check_super(struct tw_fs *fs)
{
	const char *why;
	int err = tw_validate_super(fs->sb, fs->dev_blocks, &why);

	if (err)
		tw_log(fs->dev, TW_LOG_ERR, "invalid superblock: %s", why);
	return err;
}

int tw_mount(struct tw_dev *dev, u64 dev_blocks,
	     const struct tw_mount_opts *opts, struct tw_fs **out)
{
	struct tw_fs *fs;
	struct tw_ictx root;
	u32 i;
	int err;

	fs = tw_alloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->dev = dev;
	fs->dev_blocks = dev_blocks;
	if (opts)
		fs->mnt_flags = opts->flags;
	fs->rdonly = fs->mnt_flags & TW_MNT_RDONLY;
	err = tw_buf_read(dev, TW_SB_BLOCK, &fs->sb_buf);
	if (err)
		goto fail;
	fs->sb = tw_bdata(fs->sb_buf);
	err = check_super(fs);
	if (err)
		goto fail;
	load_geometry(fs);

	err = -ENOMEM;
	fs->alloc_lock = tw_mutex_new();
	fs->ialloc_lock = tw_mutex_new();
	fs->orphan_lock = tw_mutex_new();
	fs->rename_lock = tw_mutex_new();
	if (!fs->alloc_lock || !fs->ialloc_lock || !fs->orphan_lock ||
	    !fs->rename_lock)
		goto fail;
	for (i = 0; i < TW_ILOCK_STRIPES; i++) {
		fs->ilock[i] = tw_rwsem_new();
		fs->dlock[i] = tw_rwsem_new();
		if (!fs->ilock[i] || !fs->dlock[i])
			goto fail;
	}

	err = tw_journal_load(fs);
	if (err)
		goto fail;
	/* the journal may have brought a newer superblock */
	err = check_super(fs);
	if (err)
		goto fail;
	/*
	 * Everything load_geometry() took from the superblock before replay
	 * must still hold: the sizes (the validator has checked that the
	 * regions follow from them) and the seeds.  Nothing changes them
	 * after mkfs, so a replayed superblock that does is corruption.
	 */
	if (TW_GET64(fs->sb, s_blocks_count) != fs->nblocks ||
	    TW_GET32(fs->sb, s_inodes_count) != fs->ninodes ||
	    TW_GET32(fs->sb, s_journal_blocks) != fs->j.len ||
	    TW_GET32(fs->sb, s_orphan_blocks) != fs->orphan_blocks ||
	    TW_GET32(fs->sb, s_csum_seed) != fs->csum_seed ||
	    TW_GET32(fs->sb, s_hash_seed) != fs->hash_seed) {
		err = tw_corrupt(fs, "journal changed the geometry", 0);
		goto fail;
	}
	fs->balloc_goal = fs->data_start;
	fs->ialloc_goal = TW_ROOT_INO + 1;
	if (fs->mnt_flags & TW_MNT_FSCK) {
		/* fsck checks and rebuilds the rest itself */
		*out = fs;
		return 0;
	}
	err = tw_count_free(fs);
	if (err)
		goto fail;

	err = tw_iget(fs, TW_ROOT_INO, &root);
	if (err == -ESTALE)
		err = tw_corrupt(fs, "root inode is free", TW_ROOT_INO);
	if (err)
		goto fail;
	if (!TW_S_ISDIR(TW_GET16(root.di, i_mode)))
		err = tw_corrupt(fs, "root inode is not a directory",
				 TW_ROOT_INO);
	tw_iput(&root);
	if (err)
		goto fail;
	if (TW_GET32(fs->sb, s_state) & TW_STATE_ERROR)
		tw_warn(fs, "filesystem has errors recorded; run fsck.twinfs");

	if (!fs->rdonly) {
		err = tw_txn_begin(fs, 1);
		if (err)
			goto fail;
		fs->sb->s_state &= ~tw_cpu_to_le32(TW_STATE_CLEAN);
		TW_SET32(fs->sb, s_mount_count,
			 TW_GET32(fs->sb, s_mount_count) + 1);
		TW_SET64(fs->sb, s_mount_time, tw_now());
		err = tw_txn_dirty(fs, fs->sb_buf);
		tw_txn_end(fs, 1, err);
		if (!err)
			err = tw_commit(fs);
		if (!err)
			err = tw_orphan_recover(fs);
		if (!err)
			err = tw_commit(fs);
		if (err)
			goto fail;
	}
	*out = fs;
	return 0;
fail:
	fs_free(fs);
	return err;
}

int tw_sync(struct tw_fs *fs)
{
	int err;

	if (fs->rdonly)
		return 0;
	tw_down_write(fs->j.lock);
	if (fs->j.count)
		err = 0;
	else if (fs->j.error)
		err = fs->j.error;
	else {
		/* nothing to commit, but data may be in dirty buffers */
		err = tw_dev_writeback(fs->dev);
		if (!err)
			err = tw_dev_flush(fs->dev);
		tw_up_write(fs->j.lock);
		return err;
	}
	tw_up_write(fs->j.lock);
	return tw_commit(fs);
}

int tw_unmount(struct tw_fs *fs)
{
	int err = 0, e2;

	if (!fs->rdonly) {
		err = tw_commit(fs);
		if (!err && !fs->j.error) {
			e2 = tw_txn_begin(fs, 1);
			if (!e2) {
				if (!(TW_GET32(fs->sb, s_state) &
				      TW_STATE_ERROR))
					fs->sb->s_state |=
						tw_cpu_to_le32(TW_STATE_CLEAN);
				e2 = tw_txn_dirty(fs, fs->sb_buf);
				tw_txn_end(fs, 1, e2);
			}
			if (!e2)
				e2 = tw_commit(fs);
			if (!e2)
				e2 = tw_dev_flush(fs->dev);
			err = e2;
		}
	}
	fs_free(fs);
	return err;
}

int tw_remount(struct tw_fs *fs, u32 flags)
{
	bool ro = flags & TW_MNT_RDONLY;
	int err;

	if (ro == fs->rdonly)
		return 0;
	err = tw_journal_remount(fs, ro);
	if (err || ro)
		return err;
	err = tw_orphan_recover(fs);
	if (!err)
		err = tw_commit(fs);
	return err;
}

int tw_statfs(struct tw_fs *fs, struct tw_statfs *st)
{
	st->bsize = TW_BLOCK_SIZE;
	st->namelen = TW_NAME_MAX;
	st->blocks = fs->nblocks - fs->data_start;
	tw_mutex_lock(fs->alloc_lock);
	st->bfree = fs->free_blocks;
	tw_mutex_unlock(fs->alloc_lock);
	tw_mutex_lock(fs->ialloc_lock);
	st->ffree = fs->free_inodes;
	tw_mutex_unlock(fs->ialloc_lock);
	st->files = fs->ninodes - 1;
	return 0;
}

/* ---- mkfs ---- */

/* Write a fresh block built in @data at @blk. */
static int put_block(struct tw_dev *dev, u64 blk, const void *data)
{
	struct tw_buf *b;
	int err;

	err = tw_buf_get(dev, blk, &b);
	if (err)
		return err;
	memcpy(tw_bdata(b), data, TW_BLOCK_SIZE);
	tw_buf_set_verified(b);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	return 0;
}

/* A bitmap with bits [0, used) and [valid, end of map) set. */
static int put_bitmap(struct tw_dev *dev, u32 seed, u64 start, u32 nblocks,
		      u64 used, u64 valid, u8 *blk)
{
	u32 idx;
	int err;

	for (idx = 0; idx < nblocks; idx++) {
		u64 base = (u64)idx * TW_BMAP_BITS;
		u8 *map = blk + sizeof(struct tw_blk_hdr);
		u32 bit;

		memset(blk, 0, TW_BLOCK_SIZE);
		for (bit = 0; bit < TW_BMAP_BITS; bit++) {
			u64 n = base + bit;

			if (n < used || n >= valid)
				map[bit >> 3] |= (u8)(1u << (bit & 7));
		}
		tw_block_seal(seed, blk, TW_BMAP_MAGIC, start + idx, 0, 0);
		err = put_block(dev, start + idx, blk);
		if (err)
			return err;
	}
	return 0;
}

int tw_mkfs(struct tw_dev *dev, const struct tw_mkfs_opts *o)
{
	struct geometry g = { 0 };
	struct tw_super *sb;
	struct tw_inode *di;
	struct tw_dir_header *dh;
	struct tw_journal_super *js;
	u32 seed, i, n;
	u64 blk;
	u8 *buf;
	int err;

	g.blocks = o->blocks;
	if (g.blocks < TW_MIN_BLOCKS || g.blocks > TW_MAX_BLOCKS)
		return -EINVAL;
	n = o->inodes;
	if (!n) {
		u64 want = g.blocks / 4; /* one inode per 16 KiB */

		n = want > 0xfffff000u ? 0xfffff000u : (u32)want;
	}
	if (n < TW_MIN_INODES)
		n = TW_MIN_INODES;
	g.inodes = (n + TW_INODES_PER_BLOCK - 1) & ~(TW_INODES_PER_BLOCK - 1);
	if (g.inodes < n)
		return -EINVAL;
	g.journal = o->journal_blocks;
	if (!g.journal) {
		u64 j = g.blocks / 64;

		if (j < 1024)
			j = 1024;
		if (j > 16384)
			j = 16384;
		if (j > g.blocks / 4)
			j = g.blocks / 4;
		g.journal = (u32)j;
	}
	if (g.journal < TW_MIN_JOURNAL || g.journal > TW_MAX_JOURNAL)
		return -EINVAL;
	g.orphan = g.inodes / 4096;
	if (g.orphan < 1)
		g.orphan = 1;
	if (g.orphan > 16)
		g.orphan = 16;
	layout(&g);
	if (g.data_start + 8 > g.blocks)
		return -ENOSPC;

	buf = tw_alloc(TW_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	seed = tw_crc32c(~0u, o->uuid, TW_UUID_LEN);

	/* journal superblock; the body is recognised by sequence and crc */
	memset(buf, 0, TW_BLOCK_SIZE);
	js = (void *)buf;
	TW_SET64(js, js_seq, 1);
	TW_SET32(js, js_start, 1);
	tw_block_seal(seed, buf, TW_JSB_MAGIC, g.journal_start, 0, 0);
	err = put_block(dev, g.journal_start, buf);
	/* A previous filesystem with the same UUID (same checksum seed) may
	 * have left a valid transaction 1 at position 0: wipe it, or the
	 * first mount would replay it onto this one. */
	memset(buf, 0, TW_BLOCK_SIZE);
	if (!err)
		err = put_block(dev, g.journal_start + 1, buf);

	/* empty orphan table */
	for (i = 0; !err && i < g.orphan; i++) {
		memset(buf, 0, TW_BLOCK_SIZE);
		tw_block_seal(seed, buf, TW_ORPHAN_MAGIC, g.orphan_start + i, 0,
			      0);
		err = put_block(dev, g.orphan_start + i, buf);
	}

	/* bitmaps: metadata and the root's header block are in use */
	if (!err)
		err = put_bitmap(dev, seed, g.bbitmap_start, g.bbitmap_blocks,
				 g.data_start + 1, g.blocks, buf);
	if (!err)
		err = put_bitmap(dev, seed, g.ibitmap_start, g.ibitmap_blocks,
				 TW_ROOT_INO + 1, g.inodes, buf);

	/* inode table: all free but the root */
	for (blk = 0; !err && blk < g.itable_blocks; blk++) {
		memset(buf, 0, TW_BLOCK_SIZE);
		if (blk == 0) {
			di = (struct tw_inode *)buf + TW_ROOT_INO;
			TW_SET16(di, i_mode, TW_S_IFDIR | 0755);
			TW_SET32(di, i_nlink, 2);
			TW_SET32(di, i_uid, o->root_uid);
			TW_SET32(di, i_gid, o->root_gid);
			TW_SET64(di, i_size, TW_BLOCK_SIZE);
			TW_SET64(di, i_blocks, 1);
			TW_SET64(di, i_atime, o->now);
			TW_SET64(di, i_mtime, o->now);
			TW_SET64(di, i_ctime, o->now);
			TW_SET64(di, i_btime, o->now);
			TW_SET32(di, i_generation, 1);
			TW_SET64(di, i_block[0], g.data_start);
			TW_SET32(di, i_crc,
				 tw_inode_csum(seed, TW_ROOT_INO, di));
		} else if (o->zeroed) {
			continue;
		}
		err = put_block(dev, g.itable_start + blk, buf);
		if (!err && blk % 256 == 255)
			err = tw_dev_writeback(dev); /* bound the dirty set */
	}

	/* the root directory's header */
	if (!err) {
		memset(buf, 0, TW_BLOCK_SIZE);
		dh = (void *)buf;
		TW_SET32(dh, dh_parent, TW_ROOT_INO);
		tw_block_seal(seed, buf, TW_DIRH_MAGIC, g.data_start,
			      TW_ROOT_INO, 0);
		err = put_block(dev, g.data_start, buf);
	}

	/* the superblock, last */
	if (!err) {
		memset(buf, 0, TW_BLOCK_SIZE);
		sb = (void *)buf;
		TW_SET32(sb, s_magic, TW_SB_MAGIC);
		TW_SET32(sb, s_version, TW_FORMAT_VERSION);
		TW_SET32(sb, s_block_size, TW_BLOCK_SIZE);
		TW_SET32(sb, s_inode_size, TW_INODE_SIZE);
		TW_SET32(sb, s_state, TW_STATE_CLEAN);
		TW_SET64(sb, s_blocks_count, g.blocks);
		TW_SET64(sb, s_free_blocks, g.blocks - g.data_start - 1);
		TW_SET32(sb, s_inodes_count, g.inodes);
		TW_SET32(sb, s_free_inodes, g.inodes - TW_ROOT_INO - 1);
		TW_SET64(sb, s_journal_start, g.journal_start);
		TW_SET32(sb, s_journal_blocks, g.journal);
		TW_SET64(sb, s_orphan_start, g.orphan_start);
		TW_SET32(sb, s_orphan_blocks, g.orphan);
		TW_SET64(sb, s_bbitmap_start, g.bbitmap_start);
		TW_SET32(sb, s_bbitmap_blocks, g.bbitmap_blocks);
		TW_SET64(sb, s_ibitmap_start, g.ibitmap_start);
		TW_SET32(sb, s_ibitmap_blocks, g.ibitmap_blocks);
		TW_SET64(sb, s_itable_start, g.itable_start);
		TW_SET32(sb, s_itable_blocks, g.itable_blocks);
		TW_SET64(sb, s_data_start, g.data_start);
		TW_SET32(sb, s_root_ino, TW_ROOT_INO);
		TW_SET32(sb, s_csum_seed, seed);
		TW_SET32(sb, s_hash_seed, o->hash_seed);
		TW_SET64(sb, s_mkfs_time, o->now);
		TW_SET64(sb, s_write_time, o->now);
		memcpy(sb->s_uuid, o->uuid, TW_UUID_LEN);
		if (o->label) {
			for (i = 0; i < TW_LABEL_LEN - 1 && o->label[i]; i++)
				sb->s_label[i] = (u8)o->label[i];
		}
		TW_SET32(sb, s_crc, tw_super_csum(sb));
		err = tw_dev_writeback(dev);
		if (!err)
			err = tw_dev_flush(dev);
		if (!err)
			err = put_block(dev, TW_SB_BLOCK, buf);
		if (!err)
			err = tw_dev_writeback(dev);
		if (!err)
			err = tw_dev_flush(dev);
	}
	tw_free(buf, TW_BLOCK_SIZE);
	return err;
}
