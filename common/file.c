// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - file data: read, write, the block map for page caches, fsync.
 *
 * Layer: core (common/).  Calls inode.c, journal.c and the environment.
 *
 * Two data paths share one block map.  tw_read/tw_write (user space:
 * the FUSE home, the tools) find runs of consecutive device blocks in the
 * map and move whole blocks between the device and the caller's memory
 * with tw_dev_read_data()/tw_dev_write_data(), as the kernel's
 * address-space operations do; only the partial blocks of a request go
 * through the block buffers.  tw_read_runs() hands the runs to a home that
 * moves the bytes itself (splice).  The kernel uses its page cache and
 * asks tw_bmap() where blocks live.
 *
 * Ordering ("ordered mode"): a newly allocated block is filled completely
 * (the caller's bytes, zeros elsewhere) before the transaction that links
 * it commits: a whole block is written to the device before the handle
 * that allocated it ends, a partial one into a dirty buffer; a commit
 * waits for every handle, writes every dirty buffer and flushes before
 * its commit block, so a file never shows a block that was not written
 * for it.
 *
 * Locking: a read holds the inode's lock (shared) from the map lookup
 * until the blocks are read, so a truncate cannot free them meanwhile; a
 * write holds it exclusively, with its transaction handle.
 */
#include "tw_int.h"

static int check_reg(struct tw_ictx *ic)
{
	u32 mode = TW_GET16(ic->di, i_mode);

	if (TW_S_ISDIR(mode))
		return -EISDIR;
	if (!TW_S_ISREG(mode))
		return -EINVAL;
	return 0;
}

/* relatime: update atime if it is older than mtime/ctime or a day old. */
static bool atime_due(struct tw_fs *fs, struct tw_inode *di)
{
	s64 at = (s64)TW_GET64(di, i_atime), now;

	if (fs->rdonly || (fs->mnt_flags & TW_MNT_NOATIME))
		return false;
	if (fs->mnt_flags & TW_MNT_STRICTATIME)
		return true;
	if (at <= (s64)TW_GET64(di, i_mtime) ||
	    at <= (s64)TW_GET64(di, i_ctime))
		return true;
	now = tw_now();
	return now - at >= 24ll * 3600 * 1000000000ll;
}

void tw_touch_atime(struct tw_fs *fs, u64 ino)
{
	struct tw_ictx ic;
	bool due = false;
	int err = 0;

	if (fs->rdonly || (fs->mnt_flags & TW_MNT_NOATIME))
		return;
	/* most calls find nothing to do: look before opening a handle */
	tw_ilock(fs, ino, false);
	if (!tw_iget(fs, ino, &ic)) {
		due = atime_due(fs, ic.di);
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, false);
	if (!due || tw_txn_begin(fs, TW_CR_INODE))
		return; /* atime is best effort (read-only, out of space) */
	tw_ilock(fs, ino, true);
	if (!tw_iget(fs, ino, &ic)) {
		if (atime_due(fs, ic.di)) {
			TW_SET64(ic.di, i_atime, tw_now());
			err = tw_idirty(fs, &ic);
		}
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, true);
	tw_txn_end(fs, TW_CR_INODE, err);
}

/*
 * The run of logical blocks from @lblk on (at most @max) that is either
 * one hole or mapped to consecutive device blocks: its length, with its
 * first device block in *@pblk (0: a hole).  The caller holds the inode
 * locked, so the map stays as it is while the run is read or written.
 */
static int map_run(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 max,
		   u64 *pblk, u32 *len)
{
	u64 first, next;
	u32 n = 1;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &first);
	if (err)
		return err;
	while (n < max) {
		err = tw_map_lookup(fs, ic, lblk + n, &next);
		if (err)
			return err;
		if (first ? next != first + n : next != 0)
			break;
		n++;
	}
	*pblk = first;
	*len = n;
	return 0;
}

/* Most blocks one tw_dev_read_data()/tw_dev_write_data() call gets. */
#define DATA_RUN 256u

/* Bytes [@boff, @boff + @n) of logical block @lblk, through its buffer. */
static int read_partial(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk,
			u32 boff, u8 *dst, u32 n)
{
	struct tw_buf *b;
	u64 pblk;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &pblk);
	if (err)
		return err;
	if (!pblk) {
		memset(dst, 0, n);
		return 0;
	}
	err = tw_buf_read(fs->dev, pblk, &b);
	if (err)
		return err;
	memcpy(dst, (u8 *)tw_bdata(b) + boff, n);
	tw_buf_release(b);
	return 0;
}

/*
 * The start of a read: @ino locked shared and got as a regular file, and
 * *@len cut to the bytes it has from @off.  On error nothing is held.
 */
static int read_begin(struct tw_fs *fs, u64 ino, u64 off, size_t *len,
		      struct tw_ictx *ic)
{
	u64 size;
	int err;

	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, ic);
	if (!err) {
		err = check_reg(ic);
		if (err)
			tw_iput(ic);
	}
	if (err) {
		tw_iunlock(fs, ino, false);
		return err;
	}
	size = TW_GET64(ic->di, i_size);
	if (off >= size)
		*len = 0;
	else if (*len > size - off)
		*len = (size_t)(size - off);
	return 0;
}

/* The end of a read: unlock, and update atime if @touch and it is due. */
static void read_end(struct tw_fs *fs, u64 ino, struct tw_ictx *ic, bool touch)
{
	bool atime = touch && atime_due(fs, ic->di);

	tw_iput(ic);
	tw_iunlock(fs, ino, false);
	if (atime)
		tw_touch_atime(fs, ino);
}

/*
 * Whole blocks go straight from the device into @buf, a run of
 * consecutive device blocks at a time (tw_dev_read_data(), which copies
 * a block from its buffer if one is cached); holes are zeroed; a partial
 * block at either end goes through its buffer.  The inode stays locked
 * (shared) throughout, so a truncate cannot free a mapped block before it
 * is read.
 */
ssize_t tw_read(struct tw_fs *fs, u64 ino, u64 off, void *buf, size_t len)
{
	struct tw_ictx ic;
	u8 *dst = buf;
	size_t done = 0;
	int err;

	err = read_begin(fs, ino, off, &len, &ic);
	if (err)
		return err;
	while (done < len) {
		u64 pos = off + done, pblk;
		u32 lblk = (u32)(pos >> TW_BLOCK_SHIFT);
		u32 boff = (u32)(pos & (TW_BLOCK_SIZE - 1));
		size_t left = len - done;
		u32 whole, n;

		if (boff || left < TW_BLOCK_SIZE) {
			n = TW_BLOCK_SIZE - boff;
			if (n > left)
				n = (u32)left;
			err = read_partial(fs, &ic, lblk, boff, dst + done, n);
			if (err)
				break;
			done += n;
			continue;
		}
		whole = left / TW_BLOCK_SIZE > DATA_RUN ?
				DATA_RUN :
				(u32)(left / TW_BLOCK_SIZE);
		err = map_run(fs, &ic, lblk, whole, &pblk, &n);
		if (err)
			break;
		if (!pblk)
			memset(dst + done, 0, (size_t)n * TW_BLOCK_SIZE);
		else
			err = tw_dev_read_data(fs->dev, pblk, n, dst + done);
		if (err)
			break;
		done += (size_t)n * TW_BLOCK_SIZE;
	}
	read_end(fs, ino, &ic, !err || done);
	if (err && !done)
		return err;
	return (ssize_t)done;
}

ssize_t tw_read_runs(struct tw_fs *fs, u64 ino, u64 off, size_t len,
		     struct tw_data_run *runs, u32 max, tw_read_runs_fn fn,
		     void *ctx)
{
	struct tw_ictx ic;
	u64 pos, end;
	ssize_t ret = 0;
	u32 nr = 0;
	int err;

	if (!max)
		return -EINVAL;
	err = read_begin(fs, ino, off, &len, &ic);
	if (err)
		return err;
	end = off + len;
	for (pos = off; pos < end;) {
		u32 lblk = (u32)(pos >> TW_BLOCK_SHIFT);
		u32 boff = (u32)(pos & (TW_BLOCK_SIZE - 1));
		u64 left = end - pos, pblk, bytes, at;
		u32 n, want;

		want = (left + boff + TW_BLOCK_SIZE - 1) >> TW_BLOCK_SHIFT >
				       DATA_RUN ?
			       DATA_RUN :
			       (u32)((left + boff + TW_BLOCK_SIZE - 1) >>
				     TW_BLOCK_SHIFT);
		err = map_run(fs, &ic, lblk, want, &pblk, &n);
		if (err)
			break;
		bytes = ((u64)n << TW_BLOCK_SHIFT) - boff;
		if (bytes > left)
			bytes = left;
		if (pblk) {
			err = tw_dev_sync_data(fs->dev, pblk, n);
			if (err)
				break;
			at = (pblk << TW_BLOCK_SHIFT) + boff;
		} else {
			at = TW_RUN_HOLE;
		}
		/* the same kind as the last run, and right after it */
		if (nr && runs[nr - 1].dev_off == TW_RUN_HOLE && !pblk)
			runs[nr - 1].len += bytes;
		else if (nr && pblk && runs[nr - 1].dev_off != TW_RUN_HOLE &&
			 runs[nr - 1].dev_off + runs[nr - 1].len == at)
			runs[nr - 1].len += bytes;
		else if (nr == max) {
			err = -E2BIG;
			break;
		} else
			runs[nr++] = (struct tw_data_run){ at, bytes };
		pos += bytes;
	}
	if (!err)
		ret = fn(ctx, runs, nr, pos - off);
	read_end(fs, ino, &ic, !err);
	return err ? err : ret;
}

/* Blocks written per transaction handle. */
#define WRITE_CHUNK 64u

/* The credits of a transaction allocating up to *@chunk blocks and
 * changing the inode; small journals take smaller chunks. */
static u32 chunk_credits(struct tw_fs *fs, u32 *chunk)
{
	if (*chunk * TW_CR_ALLOC + TW_CR_INODE > fs->j.limit)
		*chunk = (fs->j.limit - TW_CR_INODE) / TW_CR_ALLOC;
	return *chunk * TW_CR_ALLOC + TW_CR_INODE;
}

static int write_block(struct tw_fs *fs, struct tw_ictx *ic, u64 pos,
		       const u8 *src, u32 n)
{
	u32 boff = (u32)(pos & (TW_BLOCK_SIZE - 1));
	u32 lblk = (u32)(pos >> TW_BLOCK_SHIFT);
	struct tw_buf *b;
	bool is_new;
	u64 pblk;
	u8 *d;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &pblk);
	if (err)
		return err;
	if (!pblk) {
		err = tw_map_alloc(fs, ic, lblk, &pblk, &is_new);
		if (err)
			return err;
		err = tw_buf_get(fs->dev, pblk, &b);
		if (err)
			return err;
		d = tw_bdata(b);
		memset(d, 0, boff);
		memset(d + boff + n, 0, TW_BLOCK_SIZE - boff - n);
	} else if (n == TW_BLOCK_SIZE) {
		err = tw_buf_get(fs->dev, pblk, &b);
		if (err)
			return err;
		d = tw_bdata(b);
	} else {
		err = tw_buf_read(fs->dev, pblk, &b);
		if (err)
			return err;
		d = tw_bdata(b);
	}
	memcpy(d + boff, src, n);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	return 0;
}

/*
 * Write the whole logical blocks [@lblk, @lblk + @max) from @src straight
 * to the device, a run of consecutive device blocks at a time
 * (tw_dev_write_data()), giving holes new blocks while *@allocs is below
 * @chunk.  Every block this allocates is written before it returns, so
 * no block is ever linked without its data (ordered mode: the handle that
 * links it is still open, and the commit's first flush covers the data).
 * Return: 0 or a negative errno; *@nblocks receives the blocks written
 * from the start (fewer than @max when the allocations ran out or on an
 * error).
 */
static int write_whole(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk, u32 max,
		       const u8 *src, u32 *allocs, u32 chunk, u32 *nblocks)
{
	u32 i = 0, n = 0, written = 0;
	u64 first = 0, p;
	bool is_new;
	int err = 0, e2;

	while (i < max) {
		err = tw_map_lookup(fs, ic, lblk + i, &p);
		if (err)
			break;
		if (!p) {
			if (*allocs >= chunk)
				break;
			err = tw_map_alloc(fs, ic, lblk + i, &p, &is_new);
			if (err)
				break;
			(*allocs)++;
		}
		if (n && (p != first + n || n == DATA_RUN)) {
			err = tw_dev_write_data(fs->dev, first, n,
						src + (size_t)written *
								TW_BLOCK_SIZE);
			if (err)
				break;
			written += n;
			n = 0;
		}
		if (!n)
			first = p;
		n++;
		i++;
	}
	/* the run gathered so far, allocated blocks included, even after an
	 * error of the map (ENOSPC): never leave one linked unwritten */
	if (n) {
		e2 = tw_dev_write_data(fs->dev, first, n,
				       src + (size_t)written * TW_BLOCK_SIZE);
		if (!e2)
			written += n;
		else if (!err)
			err = e2;
	}
	*nblocks = written;
	return err;
}

static ssize_t do_write(struct tw_fs *fs, u64 ino, u64 off, const void *buf,
			size_t len)
{
	u32 chunk = WRITE_CHUNK, credits;
	const u8 *src = buf;
	struct tw_ictx ic;
	size_t done = 0;
	int err;

	if (off > TW_MAX_FILE_SIZE || len > TW_MAX_FILE_SIZE - off)
		return -EFBIG;
	err = tw_fault_point(fs->dev, "write");
	if (err)
		return err;
	credits = chunk_credits(fs, &chunk);
	tw_dlock(fs, ino, false);
	do {
		u32 allocs = 0;
		bool changed = false;

		/* one transaction handle per chunk of allocations: a large
		 * write does not hold back commits, nor exceed a
		 * transaction; overwriting allocates nothing */
		err = tw_txn_begin(fs, credits);
		if (err)
			break;
		tw_ilock(fs, ino, true);
		err = tw_iget(fs, ino, &ic);
		if (!err) {
			err = check_reg(&ic);
			while (!err && done < len && allocs < chunk) {
				u64 pos = off + done;
				u64 size = TW_GET64(ic.di, i_size);
				u32 boff = (u32)(pos & (TW_BLOCK_SIZE - 1));
				size_t left = len - done, n;
				u32 whole, nb = 0;

				/* a write past the end exposes the stale tail
				 * of the old last block: zero it first */
				if (pos > size)
					err = tw_zero_tail(fs, &ic, size, pos);
				if (err)
					break;
				if (boff || left < TW_BLOCK_SIZE) {
					/* a partial block: read-modify-write
					 * through its buffer */
					n = TW_BLOCK_SIZE - boff;
					if (n > left)
						n = left;
					err = write_block(fs, &ic, pos,
							  src + done, (u32)n);
					if (err)
						break;
					allocs++;
				} else {
					whole = left / TW_BLOCK_SIZE >
								TW_MAX_LBLK ?
							TW_MAX_LBLK :
							(u32)(left /
							      TW_BLOCK_SIZE);
					err = write_whole(
						fs, &ic,
						(u32)(pos >> TW_BLOCK_SHIFT),
						whole, src + done, &allocs,
						chunk, &nb);
					n = (size_t)nb * TW_BLOCK_SIZE;
				}
				if (n) {
					changed = true;
					done += n;
					if (pos + n > size)
						TW_SET64(ic.di, i_size,
							 pos + n);
				}
			}
			if (changed) {
				int e2;

				tw_touch(ic.di, true, true);
				e2 = tw_idirty(fs, &ic);
				if (!err)
					err = e2;
			}
			tw_iput(&ic);
		}
		tw_iunlock(fs, ino, true);
		tw_txn_end(fs, credits, err);
	} while (!err && done < len);
	tw_dunlock(fs, ino, false);
	if (done)
		return (ssize_t)done;
	return err;
}

ssize_t tw_write(struct tw_fs *fs, u64 ino, u64 off, const void *buf,
		 size_t len)
{
	ssize_t r = do_write(fs, ino, off, buf, len);

	/* blocks freed in the running transaction are not reusable yet */
	if (r == -ENOSPC && fs->free_blocks && !tw_commit(fs))
		r = do_write(fs, ino, off, buf, len);
	return r;
}

_Static_assert(TW_CREDITS_BMAP >= TW_CR_ALLOC + TW_CR_INODE, "bmap credits");

int tw_handle_start(struct tw_fs *fs, u32 credits)
{
	return tw_txn_begin(fs, credits);
}

void tw_handle_stop(struct tw_fs *fs, u32 credits)
{
	tw_txn_end(fs, credits, 0);
}

int tw_bmap_h(struct tw_fs *fs, u64 ino, u32 lblk, bool create, u64 *pblk,
	      bool *is_new)
{
	struct tw_ictx ic;
	bool fresh = false;
	int err;

	if (is_new)
		*is_new = false;
	if (lblk > TW_MAX_LBLK)
		return -EFBIG;
	tw_ilock(fs, ino, create);
	err = tw_iget(fs, ino, &ic);
	if (err)
		goto unlock;
	err = check_reg(&ic);
	if (!err)
		err = tw_map_lookup(fs, &ic, lblk, pblk);
	if (!err && !*pblk && create) {
		err = tw_map_alloc(fs, &ic, lblk, pblk, &fresh);
		if (!err) {
			tw_txn_ordered(fs, ino);
			if (is_new)
				*is_new = fresh;
		} else {
			/* the home's handle may end without seeing this */
			tw_txn_abort(fs, err);
		}
	}
	tw_iput(&ic);
unlock:
	tw_iunlock(fs, ino, create);
	return err;
}

int tw_bmap(struct tw_fs *fs, u64 ino, u32 lblk, bool create, u64 *pblk,
	    bool *is_new)
{
	int err;

	if (!create)
		return tw_bmap_h(fs, ino, lblk, false, pblk, is_new);
	tw_dlock(fs, ino, false);
	err = tw_txn_begin(fs, TW_CREDITS_BMAP);
	if (!err) {
		err = tw_bmap_h(fs, ino, lblk, true, pblk, is_new);
		tw_txn_end(fs, TW_CREDITS_BMAP, err);
	}
	tw_dunlock(fs, ino, false);
	return err;
}

int tw_set_size_h(struct tw_fs *fs, u64 ino, u64 size)
{
	struct tw_ictx ic;
	int err;

	if (size > TW_MAX_FILE_SIZE)
		return -EFBIG;
	tw_ilock(fs, ino, true);
	err = tw_iget(fs, ino, &ic);
	if (!err) {
		/* a regular file's only: a symlink's or directory's size
		 * follows from its contents (the inode would be refused) */
		err = check_reg(&ic);
		if (!err) {
			/* the home zeroed the old last block's tail */
			err = tw_grow_size(fs, &ic, size, true);
			tw_touch(ic.di, true, true);
			if (!err)
				err = tw_idirty(fs, &ic);
		}
		tw_iput(&ic);
	}
	tw_iunlock(fs, ino, true);
	tw_txn_abort(fs, err);
	return err;
}

int tw_set_size(struct tw_fs *fs, u64 ino, u64 size)
{
	int err = tw_txn_begin(fs, TW_CR_INODE);

	if (!err) {
		err = tw_set_size_h(fs, ino, size);
		tw_txn_end(fs, TW_CR_INODE, err);
	}
	return err;
}

int tw_fsync(struct tw_fs *fs, u64 ino, bool datasync)
{
	/*
	 * One running transaction holds every inode's changes, so making one
	 * file durable commits all of them (as ext4 does).  With nothing to
	 * commit, the file's data may still sit in dirty buffers.
	 */
	return tw_sync(fs);
}

/* ---- fallocate ---- */

/*
 * Give logical block @lblk of @ic a block if it is a hole, filled with
 * zeros on the device before this returns: the format has no "unwritten"
 * flag, so a preallocated block must read as zeros, and writing it now
 * (not just marking it dirty) keeps it ordered before the commit that
 * links it in both homes (the kernel writes file data through its page
 * cache, which must not meet a dirty device buffer of the same block).
 * *@mapped is set when the block was already there.
 */
static int falloc_block(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk,
			bool *mapped)
{
	struct tw_buf *b;
	bool is_new;
	u64 pblk;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &pblk);
	if (err)
		return err;
	*mapped = pblk != 0;
	if (pblk)
		return 0;
	err = tw_map_alloc(fs, ic, lblk, &pblk, &is_new);
	if (err)
		return err;
	err = tw_buf_get(fs->dev, pblk, &b);
	if (err)
		return err;
	memset(tw_bdata(b), 0, TW_BLOCK_SIZE);
	err = tw_buf_write(b);
	tw_buf_release(b);
	return err;
}

/* Zero bytes [from, to) of the mapped block @lblk (if it is mapped), in
 * place and at once (see falloc_block()). */
static int zero_in_block(struct tw_fs *fs, struct tw_ictx *ic, u32 lblk,
			 u32 from, u32 to)
{
	struct tw_buf *b;
	u64 pblk;
	int err;

	err = tw_map_lookup(fs, ic, lblk, &pblk);
	if (err || !pblk || from >= to)
		return err;
	if (from == 0 && to == TW_BLOCK_SIZE)
		err = tw_buf_get(fs->dev, pblk, &b);
	else
		err = tw_buf_read(fs->dev, pblk, &b);
	if (err)
		return err;
	memset((u8 *)tw_bdata(b) + from, 0, to - from);
	err = tw_buf_write(b);
	tw_buf_release(b);
	return err;
}

/*
 * One pass over the blocks of [off, end): allocate holes (all modes but
 * punch), zero mapped bytes of the range (zero range; punch: partial
 * blocks only), in transactions of a bounded number of allocations.  At
 * the end, the new size (without KEEP_SIZE) and the times.
 */
static int falloc_pass(struct tw_fs *fs, u64 ino, u32 mode, u64 off, u64 end)
{
	bool punch = mode & TW_FALLOC_PUNCH_HOLE;
	bool zero = mode & TW_FALLOC_ZERO_RANGE;
	bool partial = !(mode & TW_FALLOC_NO_PARTIAL);
	u32 lblk = (u32)(off >> TW_BLOCK_SHIFT);
	u32 last = (u32)((end - 1) >> TW_BLOCK_SHIFT);
	u32 chunk = WRITE_CHUNK, credits;
	struct tw_ictx ic;
	bool done = false;
	int err;

	credits = chunk_credits(fs, &chunk);
	do {
		u32 n = 0;

		err = tw_txn_begin(fs, credits);
		if (err)
			break;
		tw_ilock(fs, ino, true);
		err = tw_iget(fs, ino, &ic);
		if (!err) {
			err = check_reg(&ic);
			while (!err && !done && n < chunk) {
				u64 bs = (u64)lblk << TW_BLOCK_SHIFT;
				u32 zf = off > bs ? (u32)(off - bs) : 0;
				u32 zt = end < bs + TW_BLOCK_SIZE ?
						 (u32)(end - bs) :
						 TW_BLOCK_SIZE;
				bool whole = !zf && zt == TW_BLOCK_SIZE;
				bool mapped = false;

				if (punch) {
					/* whole blocks go in tw_free_range() */
					if (!whole && partial)
						err = zero_in_block(
							fs, &ic, lblk, zf, zt);
				} else {
					err = falloc_block(fs, &ic, lblk,
							   &mapped);
					n++;
					if (!err && zero && mapped &&
					    (whole || partial))
						err = zero_in_block(
							fs, &ic, lblk, zf, zt);
				}
				if (lblk == last)
					done = true;
				else if (punch && lblk + 1 < last)
					lblk = last; /* only the edges here */
				else
					lblk++;
			}
			if (!err && done && !(mode & TW_FALLOC_KEEP_SIZE) &&
			    end > TW_GET64(ic.di, i_size)) {
				/* the stale tail of the old last block: the
				 * core zeroes it, or the home did */
				err = tw_grow_size(fs, &ic, end, !partial);
			}
			if (!err || n) {
				int e2;

				if (done)
					tw_touch(ic.di,
						 punch || zero ||
							 !(mode &
							   TW_FALLOC_KEEP_SIZE),
						 true);
				e2 = tw_idirty(fs, &ic);
				if (!err)
					err = e2;
			}
			tw_iput(&ic);
		}
		tw_iunlock(fs, ino, true);
		tw_txn_end(fs, credits, err);
	} while (!err && !done);
	return err;
}

static int do_fallocate(struct tw_fs *fs, u64 ino, u32 mode, u64 off, u64 end)
{
	struct tw_ictx ic;
	u64 first, stop;
	int err;

	err = falloc_pass(fs, ino, mode, off, end);
	if (err || !(mode & TW_FALLOC_PUNCH_HOLE))
		return err;
	/* the whole blocks of the hole, in transactions of their own */
	first = (off + TW_BLOCK_SIZE - 1) >> TW_BLOCK_SHIFT;
	stop = end >> TW_BLOCK_SHIFT;
	if (first >= stop)
		return 0;
	tw_ilock(fs, ino, false);
	err = tw_iget(fs, ino, &ic);
	tw_iunlock(fs, ino, false);
	if (err)
		return err;
	err = tw_free_range(fs, &ic, (u32)first, stop);
	tw_iput(&ic);
	return err;
}

int tw_fallocate(struct tw_fs *fs, u64 ino, u32 mode, u64 off, u64 len)
{
	const u32 known = TW_FALLOC_KEEP_SIZE | TW_FALLOC_PUNCH_HOLE |
			  TW_FALLOC_ZERO_RANGE | TW_FALLOC_NO_PARTIAL;
	u32 op = mode & (TW_FALLOC_PUNCH_HOLE | TW_FALLOC_ZERO_RANGE);
	int err;

	/* collapse/insert range, unshare, no-hide-stale: not supported */
	if (mode & ~known)
		return -EOPNOTSUPP;
	if (op == (TW_FALLOC_PUNCH_HOLE | TW_FALLOC_ZERO_RANGE))
		return -EOPNOTSUPP;
	/* as Linux: a hole is punched inside the size only */
	if (op == TW_FALLOC_PUNCH_HOLE && !(mode & TW_FALLOC_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (!len)
		return -EINVAL;
	if (off > TW_MAX_FILE_SIZE || len > TW_MAX_FILE_SIZE - off)
		return -EFBIG;
	err = tw_fault_point(fs->dev, "fallocate");
	if (err)
		return err;
	tw_dlock(fs, ino, true);
	err = do_fallocate(fs, ino, mode, off, off + len);
	/* blocks freed in the running transaction are not reusable yet:
	 * commit and go on (what is allocated stays allocated) */
	if (err == -ENOSPC && fs->free_blocks && !tw_commit(fs))
		err = do_fallocate(fs, ino, mode, off, off + len);
	tw_dunlock(fs, ino, true);
	return err;
}
