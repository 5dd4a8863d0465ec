// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - twinfs.ko: file data through the page cache, mmap, fsync, and
 * directory reading.
 *
 * fallocate and fiemap go through the core too (tw_fallocate, tw_fiemap).
 *
 * Layer: kernel home, VFS glue.  Calls the kernel and the core API
 * (twinfs.h) of twinfs_core.ko.
 *
 * Data never passes through the core: the page cache maps file blocks with
 * the core's block map (tw_bmap_h) and does its own I/O, as ext2 does.
 * Blocks are allocated only where a page is about to be written: in
 * write_begin and in page_mkwrite, each under a transaction handle opened
 * before the page is locked (as ext4 does), so the transaction that makes a
 * new block visible cannot commit before its page is dirty, and a commit,
 * which writes such pages first, never waits for a page whose owner waits
 * for it.  Writeback only ever looks blocks up.
 */
#include <linux/buffer_head.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mpage.h>
#include <linux/pagemap.h>
#include <linux/uio.h>
#include <linux/writeback.h>

#include "twinfs_k.h"

/* Map a block inside a handle (write_begin, page_mkwrite): may allocate. */
static int get_block_h(struct inode *inode, sector_t iblock,
		       struct buffer_head *bh, int create)
{
	bool is_new = false;
	u64 pblk = 0;
	int err;

	if (iblock > TW_MAX_LBLK)
		return -EFBIG;
	err = tw_bmap_h(TW_FS(inode), inode->i_ino, (u32)iblock, create, &pblk,
			&is_new);
	if (err)
		return err;
	if (pblk) {
		map_bh(bh, inode->i_sb, pblk);
		if (is_new) {
			set_buffer_new(bh);
			TW_I(inode)->new_blocks = true;
		}
	}
	return 0;
}

/* After allocations: i_blocks as the core counts them (with indirect
 * blocks); with @times (the file grew: tw_set_size_h() stamped mtime and
 * ctime with its own clock), the times too, or stat() would show other
 * times than the disk keeps.  A getattr is allowed inside a handle: it
 * takes no handle. */
static void refresh_blocks(struct inode *inode, bool times)
{
	struct tw_attr a;

	if (!TW_I(inode)->new_blocks && !times)
		return;
	TW_I(inode)->new_blocks = false;
	if (!tw_getattr(TW_FS(inode), inode->i_ino, &a)) {
		spin_lock(&inode->i_lock);
		inode->i_blocks = a.blocks;
		spin_unlock(&inode->i_lock);
		if (times) {
			tw_set_mtime(inode, ns_to_timespec64(a.mtime));
			tw_set_ctime(inode, ns_to_timespec64(a.ctime));
		}
	}
}

/* Map a block for reading or writeback: never allocates. */
int twinfs_get_block(struct inode *inode, sector_t iblock,
		     struct buffer_head *bh, int create)
{
	u64 pblk = 0;
	int err;

	if (iblock > TW_MAX_LBLK)
		return create ? -EFBIG : 0;
	err = tw_bmap_h(TW_FS(inode), inode->i_ino, (u32)iblock, false, &pblk,
			NULL);
	if (err)
		return err;
	if (pblk) {
		map_bh(bh, inode->i_sb, pblk);
		return 0;
	}
	/* a dirty page over a hole: write_begin/page_mkwrite should have
	 * allocated it; refuse rather than allocate outside a handle */
	if (create) {
		WARN_ONCE(
			1,
			"twinfs: writeback of inode %lu block %llu has no block\n",
			inode->i_ino, (unsigned long long)iblock);
		return -EIO;
	}
	return 0;
}

/* Zero [from, end of its block) in the page cache: the stale tail past an
 * old end of file, when the file grows over it. */
int twinfs_zero_tail(struct inode *inode, loff_t from)
{
	if (!(from & (TW_BLOCK_SIZE - 1)))
		return 0;
	return block_truncate_page(inode->i_mapping, from, twinfs_get_block);
}

static int twinfs_read_folio(struct file *file, struct folio *folio)
{
	struct inode *inode = folio->mapping->host;
	sector_t iblock = folio_pos(folio) >> TW_BLOCK_SHIFT;
	sector_t end = iblock + (folio_size(folio) >> TW_BLOCK_SHIFT);
	u64 pblk;
	int err;

	/* The page cache turns a read that fails in get_block into EIO;
	 * a damaged block map is the core's EUCLEAN or EBADMSG, so ask
	 * first and pass that up (this path is the fallback after
	 * readahead, or a single page: the lookups are cached). */
	for (; iblock < end && iblock <= TW_MAX_LBLK &&
	       (loff_t)iblock << TW_BLOCK_SHIFT < i_size_read(inode);
	     iblock++) {
		err = tw_bmap_h(TW_FS(inode), inode->i_ino, (u32)iblock, false,
				&pblk, NULL);
		if (err) {
			folio_unlock(folio);
			return err;
		}
	}
	return mpage_read_folio(folio, twinfs_get_block);
}

static void twinfs_readahead(struct readahead_control *rac)
{
	mpage_readahead(rac, twinfs_get_block);
}

static int twinfs_writepage(struct page *page, struct writeback_control *wbc)
{
	return block_write_full_page(page, twinfs_get_block, wbc);
}

static int twinfs_writepages(struct address_space *mapping,
			     struct writeback_control *wbc)
{
	return mpage_writepages(mapping, wbc, twinfs_get_block);
}

/* Blocks past the end that a short or failed write allocated go again. */
static void write_failed(struct inode *inode, loff_t to)
{
	struct tw_setattr sa = {
		.valid = TW_SET_SIZE | TW_SET_KEEP_TAIL | TW_SET_CTIME,
	};
	struct timespec64 ctime;

	if (to <= inode->i_size)
		return;
	truncate_pagecache(inode, inode->i_size);
	sa.size = inode->i_size;
	ctime = tw_get_ctime(inode);
	sa.ctime = timespec64_to_ns(&ctime);
	tw_setattr(TW_FS(inode), inode->i_ino, &sa, NULL);
}

static int twinfs_write_begin(struct file *file, struct address_space *mapping,
			      loff_t pos, unsigned int len,
			      TW_WB_PAGE_T **pagep, void **fsdata)
{
	struct inode *inode = mapping->host;
	int err;

	err = tw_handle_start(TW_FS(inode), TW_CREDITS_BMAP);
	if (err)
		return err;
	err = block_write_begin(mapping, pos, len, pagep, get_block_h);
	if (err) {
		tw_handle_stop(TW_FS(inode), TW_CREDITS_BMAP);
		write_failed(inode, pos + len);
	}
	return err;
}

static int twinfs_write_end(struct file *file, struct address_space *mapping,
			    loff_t pos, unsigned int len, unsigned int copied,
			    TW_WB_PAGE_T *page, void *fsdata)
{
	struct inode *inode = mapping->host;
	struct tw_fs *fs = TW_FS(inode);
	bool grew = false;
	int ret, err = 0;

	ret = generic_write_end(file, mapping, pos, len, copied, page, fsdata);
	/* the new size joins the transaction that holds the new blocks */
	if (i_size_read(inode) > TW_I(inode)->disk_size) {
		err = tw_set_size_h(fs, inode->i_ino, i_size_read(inode));
		if (!err) {
			TW_I(inode)->disk_size = i_size_read(inode);
			grew = true;
		}
	}
	refresh_blocks(inode, grew);
	tw_handle_stop(fs, TW_CREDITS_BMAP);
	if (ret < len)
		write_failed(inode, pos + len);
	return err ? err : ret;
}

static sector_t twinfs_bmap(struct address_space *mapping, sector_t block)
{
	return generic_block_bmap(mapping, block, twinfs_get_block);
}

const struct address_space_operations twinfs_aops = {
	.dirty_folio = block_dirty_folio,
	.invalidate_folio = block_invalidate_folio,
	.read_folio = twinfs_read_folio,
	.readahead = twinfs_readahead,
	.writepage = twinfs_writepage,
	.writepages = twinfs_writepages,
	.write_begin = twinfs_write_begin,
	.write_end = twinfs_write_end,
	.bmap = twinfs_bmap,
	.migrate_folio = buffer_migrate_folio,
	.is_partially_uptodate = block_is_partially_uptodate,
	.error_remove_page = generic_error_remove_page,
};

/* ---- file operations ---- */

static ssize_t twinfs_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	ssize_t ret;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret > 0 && iocb->ki_pos > i_size_read(inode)) {
		int err = twinfs_zero_tail(inode, i_size_read(inode));

		if (err)
			ret = err;
	}
	if (ret > 0)
		ret = __generic_file_write_iter(iocb, from);
	inode_unlock(inode);
	if (ret > 0)
		ret = generic_write_sync(iocb, ret);
	return ret;
}

static vm_fault_t twinfs_page_mkwrite(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct tw_fs *fs = TW_FS(inode);
	vm_fault_t ret;
	int err;

	sb_start_pagefault(inode->i_sb);
	file_update_time(vmf->vma->vm_file);
	filemap_invalidate_lock_shared(inode->i_mapping);
	err = tw_handle_start(fs, TW_CREDITS_BMAP);
	if (!err) {
		err = block_page_mkwrite(vmf->vma, vmf, get_block_h);
		refresh_blocks(inode, false);
		tw_handle_stop(fs, TW_CREDITS_BMAP);
	}
	ret = block_page_mkwrite_return(err);
	filemap_invalidate_unlock_shared(inode->i_mapping);
	sb_end_pagefault(inode->i_sb);
	return ret;
}

static const struct vm_operations_struct twinfs_vm_ops = {
	.fault = filemap_fault,
	.map_pages = filemap_map_pages,
	.page_mkwrite = twinfs_page_mkwrite,
};

static int twinfs_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	vma->vm_ops = &twinfs_vm_ops;
	return 0;
}

static int twinfs_fsync(struct file *file, loff_t start, loff_t end,
			int datasync)
{
	struct inode *inode = file_inode(file);
	int err;

	err = file_write_and_wait_range(file, start, end);
	if (err)
		return err;
	return tw_fsync(TW_FS(inode), inode->i_ino, datasync);
}

/* ---- fallocate ---- */

/*
 * Zero [@from, @to), inside one block, through the page cache: the core
 * must not write a block the page cache may hold.  Past the end nothing
 * is needed (whole blocks there read as zeros, and the tail of the last
 * block is zeroed when the file grows over it), and a hole reads as
 * zeros already.
 */
static int zero_partial(struct file *file, struct inode *inode, loff_t from,
			loff_t to)
{
	struct address_space *mapping = inode->i_mapping;
	TW_WB_PAGE_T *page;
	void *fsdata = NULL;
	unsigned int len;
	u64 pblk = 0;
	int err;

	if (to > i_size_read(inode))
		to = i_size_read(inode);
	if (from >= to)
		return 0;
	err = tw_bmap(TW_FS(inode), inode->i_ino, (u32)(from >> TW_BLOCK_SHIFT),
		      false, &pblk, NULL);
	if (err || !pblk)
		return err;
	len = (unsigned int)(to - from);
	err = twinfs_write_begin(file, mapping, from, len, &page, &fsdata);
	if (err)
		return err;
	tw_wb_zero(page, from, len);
	err = twinfs_write_end(file, mapping, from, len, len, page, fsdata);
	return err < 0 ? err : 0;
}

static long twinfs_fallocate(struct file *file, int mode, loff_t off,
			     loff_t len)
{
	struct inode *inode = file_inode(file);
	struct address_space *mapping = inode->i_mapping;
	bool cache = mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE);
	bool grow;
	loff_t end = off + len, tail;
	long err;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
		     FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	inode_lock(inode);
	grow = !(mode & FALLOC_FL_KEEP_SIZE) && end > i_size_read(inode);
	if (grow) {
		err = inode_newsize_ok(inode, end);
		if (err)
			goto out;
	}
	err = file_modified(file);
	if (err)
		goto out;
	filemap_invalidate_lock(mapping);
	if (cache) {
		/* dirty pages out, then none in the way of the core, which
		 * frees or zeroes whole blocks on the device */
		err = filemap_write_and_wait_range(mapping, off, end - 1);
		if (err)
			goto unlock;
		truncate_pagecache_range(inode, off, end - 1);
	}
	if (grow) {
		err = twinfs_zero_tail(inode, i_size_read(inode));
		if (err)
			goto unlock;
	}
	err = tw_fallocate(TW_FS(inode), inode->i_ino,
			   (u32)mode | TW_FALLOC_NO_PARTIAL, off, len);
	if (grow && !err) {
		i_size_write(inode, end);
		TW_I(inode)->disk_size = end;
	}
	/* i_blocks, and the times the core set */
	TW_I(inode)->new_blocks = true;
	refresh_blocks(inode, true);
	if (err || !cache)
		goto unlock;
	/* the partly covered blocks at both edges */
	if (off & (TW_BLOCK_SIZE - 1))
		err = zero_partial(file, inode, off,
				   min(end, round_up(off, TW_BLOCK_SIZE)));
	tail = round_down(end, TW_BLOCK_SIZE);
	if (!err && (end & (TW_BLOCK_SIZE - 1)) && tail >= off)
		err = zero_partial(file, inode, tail, end);
unlock:
	filemap_invalidate_unlock(mapping);
out:
	inode_unlock(inode);
	return err;
}

/* ---- fiemap ---- */

#define FIEMAP_BATCH 16

int twinfs_fiemap(struct inode *inode, struct fiemap_extent_info *fieinfo,
		  u64 start, u64 len)
{
	struct tw_extent ext[FIEMAP_BATCH], cur = { 0 };
	const u64 all = (u64)TW_MAX_LBLK + 1;
	struct tw_fs *fs = TW_FS(inode);
	u64 from, to;
	u32 n, i;
	int err;

	err = fiemap_prep(inode, fieinfo, start, &len, FIEMAP_FLAG_SYNC);
	if (err)
		return err;
	from = start >> TW_BLOCK_SHIFT;
	to = min(all, (start + len + TW_BLOCK_SIZE - 1) >> TW_BLOCK_SHIFT);
	for (; from < to; from = ext[n - 1].lblk + ext[n - 1].len) {
		err = tw_fiemap(fs, inode->i_ino, from, to, ext, FIEMAP_BATCH,
				&n);
		if (err || !n)
			break;
		for (i = 0; i < n; i++) {
			/* runs split between two batches join again */
			if (cur.len && cur.lblk + cur.len == ext[i].lblk &&
			    cur.pblk + cur.len == ext[i].pblk) {
				cur.len += ext[i].len;
				continue;
			}
			if (cur.len) {
				err = fiemap_fill_next_extent(
					fieinfo, cur.lblk << TW_BLOCK_SHIFT,
					cur.pblk << TW_BLOCK_SHIFT,
					cur.len << TW_BLOCK_SHIFT, 0);
				if (err)
					return err < 0 ? err : 0;
			}
			cur = ext[i];
		}
	}
	if (err || !cur.len)
		return err;
	/* the last extent of the file, if nothing is mapped past it */
	from = cur.lblk + cur.len;
	n = 0;
	if (from < all)
		err = tw_fiemap(fs, inode->i_ino, from, all, ext, 1, &n);
	if (err)
		return err;
	err = fiemap_fill_next_extent(
		fieinfo, cur.lblk << TW_BLOCK_SHIFT, cur.pblk << TW_BLOCK_SHIFT,
		cur.len << TW_BLOCK_SHIFT, n ? 0 : FIEMAP_EXTENT_LAST);
	return err < 0 ? err : 0;
}

const struct file_operations twinfs_file_fops = {
	.llseek = generic_file_llseek,
	.read_iter = generic_file_read_iter,
	.write_iter = twinfs_write_iter,
	.mmap = twinfs_mmap,
	.open = generic_file_open,
	.fsync = twinfs_fsync,
	.splice_read = tw_splice_read,
	.splice_write = iter_file_splice_write,
	.fallocate = twinfs_fallocate,
};

/* ---- directories ---- */

struct readdir_ctx {
	struct dir_context *ctx;
};

static int emit(void *p, const char *name, u32 len, u64 ino, u32 dtype,
		u64 next)
{
	struct readdir_ctx *rc = p;

	if (!dir_emit(rc->ctx, name, len, ino, dtype))
		return 1;
	rc->ctx->pos = next;
	return 0;
}

static int twinfs_readdir(struct file *file, struct dir_context *ctx)
{
	struct inode *inode = file_inode(file);
	struct readdir_ctx rc = { .ctx = ctx };

	return tw_readdir(TW_FS(inode), inode->i_ino, ctx->pos, emit, &rc);
}

static int twinfs_dir_fsync(struct file *file, loff_t start, loff_t end,
			    int datasync)
{
	struct inode *inode = file_inode(file);

	return tw_fsync(TW_FS(inode), inode->i_ino, datasync);
}

const struct file_operations twinfs_dir_fops = {
	.llseek = generic_file_llseek,
	.read = generic_read_dir,
	.iterate_shared = twinfs_readdir,
	.fsync = twinfs_dir_fsync,
};
