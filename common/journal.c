// SPDX-License-Identifier: GPL-2.0
/*
 * journal.c - the write-ahead journal: transactions, commit, replay.
 *
 * Layer: core (common/).  Calls the environment (tw_env.h) and meta.c.
 *
 * Model (a small jbd2): every metadata change joins the one running
 * transaction through a handle (tw_txn_begin/tw_txn_end).  The modified
 * buffers stay pinned in memory and are never marked dirty before their
 * transaction commits.  A commit, with all handles drained:
 *
 *   1. writes the data of files that got new blocks (ordered mode),
 *   2. writes descriptors and copies of every block to the journal,
 *      and zeroes the block after the commit block's place,          flush
 *   3. writes the commit block (crc32c chained over 2.),              flush
 *   4. writes the blocks in place (checkpoint),                       flush
 *   5. writes the journal superblock, pointing past this transaction; the
 *      next commit's first flush makes it durable.
 *
 * So the journal holds at most the last transaction, and a transaction
 * whose commit block is durable is durable in place after a replay.  Replay
 * walks transactions from the journal superblock while their sequence
 * numbers follow and their commit checksums match, and stops at the first
 * torn one.  Because the journal superblock moves past a transaction before
 * the next commit block can be written, replay never writes a block that a
 * later committed transaction freed and reused.
 */
#include "tw_int.h"

/*
 * Test builds only: tests/crash compiles the core a second and a third time
 * with TW_TEST_COMMIT_EARLY defined, to prove that its crash checker catches
 * a broken commit.  1: no flush between the logged blocks and the commit
 * block; 2: neither that one nor the one between the commit block and the
 * checkpoint.  The kernel module and every normal build leave it at 0.
 */
#ifndef TW_TEST_COMMIT_EARLY
#define TW_TEST_COMMIT_EARLY 0
#endif

static inline u64 jblock(struct tw_journal *j, u32 pos)
{
	/* body position -> device block; block 0 of the journal is its sb */
	return j->start + 1 + (pos % (j->len - 1));
}

static inline u32 jnext(struct tw_journal *j, u32 pos)
{
	return (pos + 1) % (j->len - 1);
}

/* ---- the running transaction's block set ---- */

static struct tw_txn_ent *set_find(struct tw_journal *j, u64 blk, bool add)
{
	u32 mask = j->set_cap - 1;
	u32 i = (u32)((blk * 0x9e3779b97f4a7c15ull) >> 32) & mask;

	for (;;) {
		struct tw_txn_ent *e = &j->set[i];

		if (e->buf && e->blk == blk)
			return e;
		if (!e->buf)
			return add ? e : NULL;
		i = (i + 1) & mask;
	}
}

int tw_txn_dirty(struct tw_fs *fs, struct tw_buf *b)
{
	struct tw_journal *j = &fs->j;
	u64 blk = tw_buf_blkno(b);
	struct tw_txn_ent *e;
	struct tw_buf *ref;
	int err = 0;

	tw_mutex_lock(j->list_lock);
	e = set_find(j, blk, true);
	if (!e->buf) {
		/* the transaction holds its own reference until checkpoint */
		if (j->count + 1 >= j->set_cap / 2) {
			tw_assert(!"transaction exceeds its credits");
			err = -EFBIG;
			goto out;
		}
		err = tw_buf_read(fs->dev, blk, &ref);
		if (err)
			goto out;
		tw_assert(ref == b);
		e->blk = blk;
		e->buf = ref;
		e->committed = NULL;
		if (!j->count)
			j->start_time = tw_now();
		j->count++;
	}
out:
	tw_mutex_unlock(j->list_lock);
	return err;
}

u8 *tw_txn_snapshot(struct tw_fs *fs, struct tw_buf *b)
{
	struct tw_journal *j = &fs->j;
	struct tw_txn_ent *e;
	u8 *copy = NULL;

	tw_mutex_lock(j->list_lock);
	e = set_find(j, tw_buf_blkno(b), false);
	if (e) {
		if (!e->committed) {
			e->committed = tw_alloc(TW_BLOCK_SIZE);
			if (e->committed)
				memcpy(e->committed, tw_bdata(b),
				       TW_BLOCK_SIZE);
		}
		copy = e->committed;
	}
	tw_mutex_unlock(j->list_lock);
	return copy;
}

u8 *tw_txn_committed(struct tw_fs *fs, u64 blk)
{
	struct tw_journal *j = &fs->j;
	struct tw_txn_ent *e;
	u8 *copy;

	tw_mutex_lock(j->list_lock);
	e = set_find(j, blk, false);
	copy = e ? e->committed : NULL;
	tw_mutex_unlock(j->list_lock);
	return copy;
}

void tw_txn_ordered(struct tw_fs *fs, u64 ino)
{
	struct tw_journal *j = &fs->j;
	u32 i;

	tw_mutex_lock(j->list_lock);
	for (i = 0; i < j->nordered && j->ordered[i] != ino; i++)
		;
	if (i == j->nordered) {
		if (j->nordered < TW_ORDERED_MAX)
			j->ordered[j->nordered++] = ino;
		else
			j->ordered_all = true;
	}
	tw_mutex_unlock(j->list_lock);
}

/* ---- handles ---- */

int tw_txn_begin(struct tw_fs *fs, u32 credits)
{
	struct tw_journal *j = &fs->j;
	int err;

	if (fs->rdonly)
		return -EROFS;
	tw_assert(credits <= j->limit);
	for (;;) {
		tw_down_read(j->lock);
		/* tw_journal_remount() switches rdonly under the write lock */
		err = fs->rdonly ? -EROFS : j->error;
		if (err) {
			tw_up_read(j->lock);
			return err;
		}
		tw_mutex_lock(j->list_lock);
		if (j->count + j->reserved + credits <= j->limit) {
			j->reserved += credits;
			j->handles++;
			tw_mutex_unlock(j->list_lock);
			return 0;
		}
		tw_mutex_unlock(j->list_lock);
		tw_up_read(j->lock);
		err = tw_commit(fs);
		if (err)
			return err;
	}
}

static bool hard_error(int err)
{
	return err == -EIO || err == -EUCLEAN || err == -EBADMSG ||
	       err == -ENOMEM;
}

void tw_txn_abort(struct tw_fs *fs, int err)
{
	struct tw_journal *j = &fs->j;

	if (!hard_error(err))
		return;
	tw_mutex_lock(j->list_lock);
	if (!j->error) {
		j->error = -EROFS;
		tw_err(fs, "operation failed (%d) inside a transaction: journal aborted, filesystem is now read-only",
		       err);
	}
	tw_mutex_unlock(j->list_lock);
}

void tw_txn_end(struct tw_fs *fs, u32 credits, int err)
{
	struct tw_journal *j = &fs->j;

	/*
	 * An operation that met an I/O error or corruption may have left
	 * half its changes in the running transaction.  Nothing of it may
	 * reach the disk: abort the journal (as jbd2 does); the filesystem
	 * stays as of the last commit and turns read-only.
	 */
	tw_txn_abort(fs, err);
	tw_mutex_lock(j->list_lock);
	tw_assert(j->reserved >= credits && j->handles > 0);
	j->reserved -= credits;
	j->handles--;
	tw_mutex_unlock(j->list_lock);
	tw_up_read(j->lock);
}

/* ---- commit ---- */

static void seal(struct tw_fs *fs, struct tw_buf *b)
{
	u64 blk = tw_buf_blkno(b);
	void *d = tw_bdata(b);

	if (blk == TW_SB_BLOCK) {
		struct tw_super *sb = d;

		TW_SET32(sb, s_crc, tw_super_csum(sb));
	} else if (blk >= fs->itable_start &&
		   blk < fs->itable_start + fs->itable_blocks) {
		/* inodes carry their own crc, computed by tw_idirty() */
	} else {
		struct tw_blk_hdr *h = d;

		TW_SET32(h, h_crc, tw_block_csum(fs->csum_seed, d));
	}
}

static int write_jsb(struct tw_fs *fs, u64 seq, u32 pos)
{
	struct tw_journal *j = &fs->j;
	struct tw_journal_super *js;
	struct tw_buf *b;
	int err;

	err = tw_buf_get(fs->dev, j->start, &b);
	if (err)
		return err;
	js = tw_bdata(b);
	memset(js, 0, TW_BLOCK_SIZE);
	TW_SET64(js, js_seq, seq);
	TW_SET32(js, js_start, pos + 1);
	tw_block_seal(fs->csum_seed, js, TW_JSB_MAGIC, j->start, 0, 0);
	tw_buf_set_verified(b);
	err = tw_buf_write(b);
	tw_buf_release(b);
	return err;
}

/* Copy @src into journal position @pos; chain its crc. */
static int jwrite(struct tw_fs *fs, u32 pos, const void *src, u32 *crc)
{
	struct tw_buf *b;
	int err;

	err = tw_buf_get(fs->dev, jblock(&fs->j, pos), &b);
	if (err)
		return err;
	memcpy(tw_bdata(b), src, TW_BLOCK_SIZE);
	tw_buf_set_verified(b);
	*crc = tw_crc32c(*crc, src, TW_BLOCK_SIZE);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	return 0;
}

static void release_set(struct tw_journal *j)
{
	u32 i;

	for (i = 0; i < j->set_cap; i++) {
		struct tw_txn_ent *e = &j->set[i];

		if (!e->buf)
			continue;
		if (e->committed)
			tw_free(e->committed, TW_BLOCK_SIZE);
		tw_buf_release(e->buf);
		e->buf = NULL;
		e->committed = NULL;
	}
	j->count = 0;
	j->nordered = 0;
	j->ordered_all = false;
}

static int commit_locked(struct tw_fs *fs)
{
	struct tw_journal *j = &fs->j;
	struct tw_journal_desc *desc = NULL;
	struct tw_journal_commit *cb;
	struct tw_buf *b;
	u32 i, k, pos, nblocks = 0, crc = ~0u;
	int err;

	if (j->error)
		return j->error;
	if (!j->count)
		return 0;
	err = tw_fault_point(fs->dev, "commit");
	if (err)
		goto fail;

	/* The superblock rides along with its free counts. */
	TW_SET64(fs->sb, s_free_blocks, fs->free_blocks);
	TW_SET32(fs->sb, s_free_inodes, fs->free_inodes);
	TW_SET64(fs->sb, s_write_time, tw_now());
	if (fs->error_seen)
		fs->sb->s_state |= tw_cpu_to_le32(TW_STATE_ERROR);
	err = tw_txn_dirty(fs, fs->sb_buf);
	if (err)
		goto fail;

	/* 1. ordered data */
	if (j->ordered_all) {
		err = tw_dev_write_file_data(fs->dev, 0);
	} else {
		for (i = 0; i < j->nordered && !err; i++)
			err = tw_dev_write_file_data(fs->dev, j->ordered[i]);
	}
	if (err)
		goto fail;

	/* 2. descriptors and copies */
	desc = tw_alloc(TW_BLOCK_SIZE);
	if (!desc) {
		err = -ENOMEM;
		goto fail;
	}
	pos = j->head;
	i = 0;
	while (i < j->set_cap) {
		u32 dpos = pos, first = i;

		memset(desc, 0, TW_BLOCK_SIZE);
		TW_SET64(desc, jd_seq, j->seq);
		for (k = 0; i < j->set_cap && k < TW_JDESC_SLOTS; i++) {
			if (j->set[i].buf)
				TW_SET64(desc, jd_target[k++], j->set[i].blk);
		}
		if (!k)
			break;
		TW_SET32(desc, jd_count, k);
		tw_block_seal(fs->csum_seed, desc, TW_JDESC_MAGIC,
			      jblock(j, dpos), 0, (u32)j->seq);
		err = jwrite(fs, dpos, desc, &crc);
		if (err)
			goto fail;
		pos = jnext(j, pos);
		nblocks++;
		for (i = first, k = 0; i < j->set_cap && k < TW_JDESC_SLOTS;
		     i++) {
			struct tw_txn_ent *e = &j->set[i];

			if (!e->buf)
				continue;
			seal(fs, e->buf);
			err = jwrite(fs, pos, tw_bdata(e->buf), &crc);
			if (err)
				goto fail;
			pos = jnext(j, pos);
			nblocks++;
			k++;
		}
	}
	/*
	 * The block after the commit block is zeroed with the copies, so
	 * that once this commit is durable the log ends right after it:
	 * replay never reads on into what an earlier lap, or damage, left
	 * there (a valid descriptor of the next sequence number would be
	 * replayed after a crash or a clean unmount).  j->limit keeps it
	 * clear of this transaction's own blocks.
	 */
	err = tw_buf_get(fs->dev, jblock(j, jnext(j, pos)), &b);
	if (err)
		goto fail;
	memset(tw_bdata(b), 0, TW_BLOCK_SIZE);
	tw_buf_set_verified(b);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	err = tw_dev_writeback(fs->dev);
	if (!err && TW_TEST_COMMIT_EARLY < 1)
		err = tw_dev_flush(fs->dev);
	if (err)
		goto fail;

	/* 3. the commit block */
	err = tw_buf_get(fs->dev, jblock(j, pos), &b);
	if (err)
		goto fail;
	cb = tw_bdata(b);
	memset(cb, 0, TW_BLOCK_SIZE);
	TW_SET64(cb, jc_seq, j->seq);
	TW_SET32(cb, jc_nblocks, nblocks);
	TW_SET32(cb, jc_data_crc, crc);
	TW_SET64(cb, jc_time, tw_now());
	tw_block_seal(fs->csum_seed, cb, TW_JCOMMIT_MAGIC, jblock(j, pos), 0,
		      (u32)j->seq);
	tw_buf_set_verified(b);
	err = tw_fault_point(fs->dev, "commit-block");
	if (!err)
		err = tw_buf_write(b);
	tw_buf_release(b);
	if (!err && TW_TEST_COMMIT_EARLY < 2)
		err = tw_dev_flush(fs->dev);
	if (err)
		goto fail;
	pos = jnext(j, pos);

	/* 4. checkpoint */
	for (i = 0; i < j->set_cap; i++)
		if (j->set[i].buf)
			tw_buf_mark_dirty(j->set[i].buf);
	err = tw_dev_writeback(fs->dev);
	if (!err)
		err = tw_dev_flush(fs->dev);
	if (err)
		goto fail;

	/* 5. the journal is empty again from @pos on */
	j->commits++;
	j->committed_blocks += j->count;
	j->seq++;
	j->head = pos;
	err = write_jsb(fs, j->seq, pos);
	if (err)
		goto fail;
	release_set(j);
	tw_free(desc, TW_BLOCK_SIZE);
	return 0;

fail:
	if (desc)
		tw_free(desc, TW_BLOCK_SIZE);
	tw_err(fs,
	       "journal commit %llu failed (%d): filesystem is now read-only",
	       (unsigned long long)j->seq, err);
	j->error = err < 0 ? err : -EIO;
	release_set(j);
	return j->error;
}

int tw_commit(struct tw_fs *fs)
{
	int err;

	if (fs->rdonly)
		return 0;
	tw_down_write(fs->j.lock);
	err = commit_locked(fs);
	tw_up_write(fs->j.lock);
	return err;
}

int tw_commit_if_old(struct tw_fs *fs, s64 max_age_ns)
{
	struct tw_journal *j = &fs->j;
	bool old;

	if (fs->rdonly)
		return 0;
	tw_mutex_lock(j->list_lock);
	old = j->count && tw_now() - j->start_time >= max_age_ns;
	tw_mutex_unlock(j->list_lock);
	return old ? tw_commit(fs) : 0;
}

/* ---- remount ---- */

/*
 * Switch between read-write and read-only with every handle finished and
 * none admitted (the write lock).  Going read-only commits the running
 * transaction and then the superblock marked clean, as tw_unmount() does,
 * so that the image on disk is complete and clean while it stays mounted.
 * Going read-write writes home what a read-only mount replayed into pinned
 * buffers, then commits the superblock marked in use.
 */
int tw_journal_remount(struct tw_fs *fs, bool ro)
{
	struct tw_journal *j = &fs->j;
	u32 i;
	int err;

	tw_down_write(j->lock);
	if (ro) {
		err = commit_locked(fs);
		if (!err) {
			if (!(TW_GET32(fs->sb, s_state) & TW_STATE_ERROR) &&
			    !fs->error_seen)
				fs->sb->s_state |= tw_cpu_to_le32(TW_STATE_CLEAN);
			err = tw_txn_dirty(fs, fs->sb_buf);
		}
		if (!err)
			err = commit_locked(fs);
		if (!err)
			err = tw_dev_flush(fs->dev);
		/* nothing more is written, whatever happened */
		fs->rdonly = true;
		tw_up_write(j->lock);
		return err;
	}

	err = 0;
	if (j->npinned) {
		for (i = 0; i < j->npinned; i++)
			tw_buf_mark_dirty(j->pinned[i]);
		err = tw_dev_writeback(fs->dev);
		if (!err)
			err = tw_dev_flush(fs->dev);
		if (!err)
			err = write_jsb(fs, j->seq, j->head);
		if (!err)
			err = tw_dev_flush(fs->dev);
		if (!err) {
			for (i = 0; i < j->npinned; i++)
				tw_buf_release(j->pinned[i]);
			j->npinned = 0;
		}
	}
	if (!err && j->error)
		err = j->error;
	if (!err) {
		fs->rdonly = false;
		fs->sb->s_state &= ~tw_cpu_to_le32(TW_STATE_CLEAN);
		TW_SET32(fs->sb, s_mount_count,
			 TW_GET32(fs->sb, s_mount_count) + 1);
		TW_SET64(fs->sb, s_mount_time, tw_now());
		err = tw_txn_dirty(fs, fs->sb_buf);
		if (!err)
			err = commit_locked(fs);
		if (err)
			fs->rdonly = true;
	}
	tw_up_write(j->lock);
	return err;
}

/* ---- replay ---- */

/* Read a journal block and check header, location and checksum. */
static int jread(struct tw_fs *fs, u32 pos, u32 magic, struct tw_buf **out)
{
	struct tw_buf *b;
	struct tw_blk_hdr *h;
	u64 blk = jblock(&fs->j, pos);
	int err;

	err = tw_buf_read(fs->dev, blk, &b);
	if (err)
		return err;
	h = tw_bdata(b);
	if (TW_GET32(h, h_magic) != magic || TW_GET64(h, h_blkno) != blk ||
	    TW_GET32(h, h_crc) != tw_block_csum(fs->csum_seed, h)) {
		tw_buf_release(b);
		return 1;
	}
	*out = b;
	return 0;
}

/*
 * Is there a complete transaction @seq at @pos?  Returns 1 with its length
 * (excluding the commit block) in *@len, 0 if not, or a negative errno.
 */
static int scan_txn(struct tw_fs *fs, u64 seq, u32 pos, u32 *len)
{
	struct tw_journal *j = &fs->j;
	u32 body = j->len - 1, n = 0, crc = ~0u;
	struct tw_buf *b;
	int err;

	while (n < body) {
		struct tw_blk_hdr *h;
		u32 count, i;

		err = tw_buf_read(fs->dev, jblock(j, pos), &b);
		if (err)
			return err;
		h = tw_bdata(b);
		if (n && TW_GET32(h, h_magic) == TW_JCOMMIT_MAGIC) {
			struct tw_journal_commit *c = (void *)h;
			bool ok = TW_GET64(h, h_blkno) == jblock(j, pos) &&
				  TW_GET32(h, h_crc) ==
					  tw_block_csum(fs->csum_seed, h) &&
				  TW_GET64(c, jc_seq) == seq &&
				  TW_GET32(c, jc_nblocks) == n &&
				  TW_GET32(c, jc_data_crc) == crc;

			tw_buf_release(b);
			*len = n;
			return ok ? 1 : 0;
		}
		tw_buf_release(b);
		err = jread(fs, pos, TW_JDESC_MAGIC, &b);
		if (err)
			return err < 0 ? err : 0;
		{
			struct tw_journal_desc *d = tw_bdata(b);

			count = TW_GET32(d, jd_count);
			if (TW_GET64(d, jd_seq) != seq || !count ||
			    count > TW_JDESC_SLOTS || n + 1 + count >= body) {
				tw_buf_release(b);
				return 0;
			}
			crc = tw_crc32c(crc, d, TW_BLOCK_SIZE);
		}
		tw_buf_release(b);
		pos = jnext(j, pos);
		n++;
		for (i = 0; i < count; i++) {
			err = tw_buf_read(fs->dev, jblock(j, pos), &b);
			if (err)
				return err;
			crc = tw_crc32c(crc, tw_bdata(b), TW_BLOCK_SIZE);
			tw_buf_release(b);
			pos = jnext(j, pos);
			n++;
		}
	}
	return 0;
}

static int pin(struct tw_fs *fs, struct tw_buf *b)
{
	struct tw_journal *j = &fs->j;
	u32 i;

	for (i = 0; i < j->npinned; i++) {
		if (j->pinned[i] == b) {
			tw_buf_release(b);
			return 0;
		}
	}
	if (j->npinned >= j->len) {
		tw_buf_release(b);
		return -ENOMEM;
	}
	j->pinned[j->npinned++] = b;
	return 0;
}

/* Copy the blocks of the verified transaction at @pos home. */
static int apply_txn(struct tw_fs *fs, u32 pos, u32 len, bool in_memory)
{
	struct tw_journal *j = &fs->j;
	u32 n = 0;
	int err;

	while (n < len) {
		struct tw_journal_desc *d;
		struct tw_buf *db;
		u32 count, i;

		err = jread(fs, pos, TW_JDESC_MAGIC, &db);
		if (err)
			return err < 0 ? err : -EIO;
		d = tw_bdata(db);
		count = TW_GET32(d, jd_count);
		pos = jnext(j, pos);
		n++;
		for (i = 0; i < count; i++, n++, pos = jnext(j, pos)) {
			u64 target = TW_GET64(d, jd_target[i]);
			struct tw_buf *src, *dst;

			if (target >= fs->nblocks ||
			    (target >= j->start &&
			     target < j->start + j->len)) {
				tw_buf_release(db);
				return tw_corrupt(fs, "journal block target",
						  target);
			}
			err = tw_buf_read(fs->dev, jblock(j, pos), &src);
			if (err)
				break;
			err = tw_buf_get(fs->dev, target, &dst);
			if (err) {
				tw_buf_release(src);
				break;
			}
			memcpy(tw_bdata(dst), tw_bdata(src), TW_BLOCK_SIZE);
			tw_buf_release(src);
			if (in_memory) {
				err = pin(fs, dst);
				if (err)
					break;
			} else {
				tw_buf_mark_dirty(dst);
				tw_buf_release(dst);
			}
		}
		tw_buf_release(db);
		if (err)
			return err;
	}
	return 0;
}

static int replay(struct tw_fs *fs, u64 seq, u32 pos)
{
	struct tw_journal *j = &fs->j;
	u32 body = j->len - 1, scanned = 0, len = 0, ntx = 0;
	bool in_memory = fs->rdonly;
	int err, r;

	while (scanned < body) {
		r = scan_txn(fs, seq, pos, &len);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		err = apply_txn(fs, pos, len, in_memory);
		if (err)
			return err;
		pos = (pos + len + 1) % body;
		scanned += len + 1;
		seq++;
		ntx++;
	}
	j->seq = seq;
	j->head = pos;
	j->replayed = ntx;
	if (!ntx)
		return 0;
	tw_log(fs->dev, TW_LOG_INFO, "journal: replayed %u transaction%s%s",
	       ntx, ntx == 1 ? "" : "s",
	       in_memory ? " in memory (read-only)" : "");
	if (in_memory)
		return 0;
	err = tw_dev_writeback(fs->dev);
	if (!err)
		err = tw_dev_flush(fs->dev);
	if (!err)
		err = write_jsb(fs, seq, pos);
	if (!err)
		err = tw_dev_flush(fs->dev);
	return err;
}

int tw_journal_load(struct tw_fs *fs)
{
	struct tw_journal *j = &fs->j;
	struct tw_journal_super *js;
	struct tw_buf *b;
	u32 body, start, cap;
	u64 seq;
	int err;

	j->start = TW_GET64(fs->sb, s_journal_start);
	j->len = TW_GET32(fs->sb, s_journal_blocks);
	body = j->len - 1;
	/* one transaction must fit the body with its descriptors, its commit
	 * block and the zeroed block after that */
	j->limit = body - body / (TW_JDESC_SLOTS + 1) - 3;
	if (j->limit > 16384)
		j->limit = 16384;
	for (cap = 64; cap < 2 * (j->limit + 2); cap <<= 1)
		;
	j->set_cap = cap;
	j->set = tw_alloc(cap * sizeof(*j->set));
	j->lock = tw_rwsem_new();
	j->list_lock = tw_mutex_new();
	if (!j->set || !j->lock || !j->list_lock)
		return -ENOMEM;
	if (fs->rdonly) {
		j->pinned = tw_alloc(j->len * sizeof(*j->pinned));
		if (!j->pinned)
			return -ENOMEM;
	}

	err = tw_buf_read(fs->dev, j->start, &b);
	if (err)
		return err;
	js = tw_bdata(b);
	if (TW_GET32(js, js_hdr.h_magic) != TW_JSB_MAGIC ||
	    TW_GET64(js, js_hdr.h_blkno) != j->start) {
		tw_buf_release(b);
		return tw_corrupt(fs, "journal superblock magic", j->start);
	}
	if (TW_GET32(js, js_hdr.h_crc) != tw_block_csum(fs->csum_seed, js)) {
		tw_buf_release(b);
		tw_corrupt(fs, "journal superblock checksum", j->start);
		return -EBADMSG;
	}
	seq = TW_GET64(js, js_seq);
	start = TW_GET32(js, js_start);
	tw_buf_release(b);
	if (start < 1 || start > body)
		return tw_corrupt(fs, "journal start out of range", start);
	return replay(fs, seq, start - 1);
}

void tw_journal_destroy(struct tw_fs *fs)
{
	struct tw_journal *j = &fs->j;
	u32 i;

	if (j->set) {
		release_set(j);
		tw_free(j->set, j->set_cap * sizeof(*j->set));
	}
	if (j->pinned) {
		for (i = 0; i < j->npinned; i++)
			tw_buf_release(j->pinned[i]);
		tw_free(j->pinned, j->len * sizeof(*j->pinned));
	}
	if (j->lock)
		tw_rwsem_free(j->lock);
	if (j->list_lock)
		tw_mutex_free(j->list_lock);
	memset(j, 0, sizeof(*j));
}
