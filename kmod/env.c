// SPDX-License-Identifier: GPL-2.0
/*
 * env.c - the kernel implementation of the core's environment contract
 * (common/tw_env.h), part of twinfs_core.ko.
 *
 * Layer: kernel home, below the core.  Calls the kernel only.
 *
 * A struct tw_dev is the filesystem's struct super_block; a struct tw_buf
 * is a struct buffer_head of the block device, 4096 bytes, so that the
 * core's metadata shares the block device's page cache as ext2's does.
 */
#include <linux/buffer_head.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "tw_env.h"
#include "twinfs_core.h"

/* the core's "checked since read" mark */
#define BH_TwVerified BH_PrivateStart

static inline struct super_block *SB(struct tw_dev *dev)
{
	return (struct super_block *)dev;
}

static inline struct buffer_head *BH(struct tw_buf *b)
{
	return (struct buffer_head *)b;
}

int tw_buf_read(struct tw_dev *dev, u64 blk, struct tw_buf **out)
{
	struct buffer_head *bh = sb_getblk(SB(dev), blk);

	if (!bh)
		return -ENOMEM;
	if (!buffer_uptodate(bh)) {
		clear_bit(BH_TwVerified, &bh->b_state);
		if (bh_read(bh, REQ_META) < 0) {
			brelse(bh);
			return -EIO;
		}
	}
	*out = (struct tw_buf *)bh;
	return 0;
}

int tw_buf_get(struct tw_dev *dev, u64 blk, struct tw_buf **out)
{
	struct buffer_head *bh = sb_getblk(SB(dev), blk);

	if (!bh)
		return -ENOMEM;
	/* the caller fills all of it: from now on it is the block's content */
	if (!buffer_uptodate(bh)) {
		lock_buffer(bh);
		set_buffer_uptodate(bh);
		unlock_buffer(bh);
	}
	*out = (struct tw_buf *)bh;
	return 0;
}

void *tw_buf_data(struct tw_buf *b)
{
	return BH(b)->b_data;
}

u64 tw_buf_blkno(struct tw_buf *b)
{
	return BH(b)->b_blocknr;
}

bool tw_buf_verified(struct tw_buf *b)
{
	return test_bit(BH_TwVerified, &BH(b)->b_state);
}

void tw_buf_set_verified(struct tw_buf *b)
{
	set_bit(BH_TwVerified, &BH(b)->b_state);
}

void tw_buf_mark_dirty(struct tw_buf *b)
{
	mark_buffer_dirty(BH(b));
}

int tw_buf_write(struct tw_buf *b)
{
	mark_buffer_dirty(BH(b));
	return sync_dirty_buffer(BH(b));
}

void tw_buf_release(struct tw_buf *b)
{
	brelse(BH(b));
}

int tw_dev_writeback(struct tw_dev *dev)
{
	return sync_blockdev(SB(dev)->s_bdev);
}

int tw_dev_flush(struct tw_dev *dev)
{
	return blkdev_issue_flush(SB(dev)->s_bdev);
}

/*
 * File data without buffers (tw_dev_read_data(), tw_dev_write_data(),
 * tw_dev_sync_data()).  The module moves file data through the inode's
 * page cache and tw_bmap() and never calls tw_read(), tw_write() or
 * tw_read_runs(), the core's only callers of these (twinfs_core.ko
 * exports the first two, twinfs.ko does not use them), so they are on no
 * path of the kernel home.  They are implemented all the same, correctly
 * and simply, a block at a time through the block device's buffer cache:
 * the buffers tw_buf_read() uses, so they are coherent with the core's
 * metadata buffers as the contract asks.  (Not with a file's page cache,
 * which tw_write()'s buffer path never was either.)
 */
int tw_dev_read_data(struct tw_dev *dev, u64 blk, u32 n, void *dst)
{
	struct buffer_head *bh;
	u32 i;

	for (i = 0; i < n; i++) {
		bh = sb_bread(SB(dev), blk + i);
		if (!bh)
			return -EIO;
		memcpy((u8 *)dst + (size_t)i * SB(dev)->s_blocksize, bh->b_data,
		       SB(dev)->s_blocksize);
		brelse(bh);
	}
	return 0;
}

int tw_dev_write_data(struct tw_dev *dev, u64 blk, u32 n, const void *src)
{
	struct buffer_head *bh;
	int err = 0;
	u32 i;

	for (i = 0; i < n && !err; i++) {
		bh = sb_getblk(SB(dev), blk + i);
		if (!bh)
			return -ENOMEM;
		lock_buffer(bh);
		memcpy(bh->b_data,
		       (const u8 *)src + (size_t)i * SB(dev)->s_blocksize,
		       SB(dev)->s_blocksize);
		clear_bit(BH_TwVerified, &bh->b_state);
		set_buffer_uptodate(bh);
		unlock_buffer(bh);
		mark_buffer_dirty(bh);
		err = sync_dirty_buffer(bh);
		brelse(bh);
	}
	return err;
}

int tw_dev_sync_data(struct tw_dev *dev, u64 blk, u32 n)
{
	struct buffer_head *bh;
	int err = 0;
	u32 i;

	for (i = 0; i < n && !err; i++) {
		bh = sb_find_get_block(SB(dev), blk + i);
		if (!bh)
			continue;
		if (buffer_dirty(bh))
			err = sync_dirty_buffer(bh);
		else
			wait_on_buffer(bh);
		brelse(bh);
	}
	return err;
}

/*
 * Ordered data.  A commit asks for the dirty pages of files that got new
 * blocks.  It runs with the journal locked, so it must neither wait for an
 * inode being freed (whose eviction may wait for the journal) nor drop the
 * last reference of one (its eviction would start a transaction): inodes
 * on their way out are skipped (their pages are gone already), and the
 * references taken here are dropped later by a work item.
 */
struct deferred_iput {
	struct llist_node node;
	struct inode *inode;
};

static LLIST_HEAD(iput_list);

static void iput_work_fn(struct work_struct *w)
{
	struct llist_node *n = llist_del_all(&iput_list);
	struct deferred_iput *d, *t;

	llist_for_each_entry_safe(d, t, n, node) {
		iput(d->inode);
		kfree(d);
	}
}

static DECLARE_WORK(iput_work, iput_work_fn);

static void put_later(struct inode *inode)
{
	struct deferred_iput *d;

	/* not the last reference: drop it now */
	if (atomic_add_unless(&inode->i_count, -1, 1))
		return;
	d = kmalloc(sizeof(*d), GFP_NOFS | __GFP_NOFAIL);
	d->inode = inode;
	llist_add(&d->node, &iput_list);
	schedule_work(&iput_work);
}

void tw_kenv_flush_iputs(void)
{
	flush_work(&iput_work);
}
EXPORT_SYMBOL_GPL(tw_kenv_flush_iputs);

/* find_inode_nowait() leaves the state check and the reference to us */
static int match_live(struct inode *inode, unsigned long ino, void *data)
{
	if (inode->i_ino != ino)
		return 0;
	spin_lock(&inode->i_lock);
	if (inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) {
		spin_unlock(&inode->i_lock);
		return -1; /* stop: its pages are gone or not there yet */
	}
	__iget(inode);
	spin_unlock(&inode->i_lock);
	return 1;
}

static int write_mapping(struct inode *inode)
{
	int err = filemap_write_and_wait(inode->i_mapping);

	put_later(inode);
	return err;
}

int tw_dev_write_file_data(struct tw_dev *dev, u64 ino)
{
	struct super_block *sb = SB(dev);
	struct inode *inode, *prev = NULL;
	int err = 0, e2;

	if (ino) {
		inode = find_inode_nowait(sb, ino, match_live, NULL);
		return inode ? write_mapping(inode) : 0;
	}
	/* every inode of the filesystem with pages in its cache */
	spin_lock(&sb->s_inode_list_lock);
	list_for_each_entry(inode, &sb->s_inodes, i_sb_list) {
		spin_lock(&inode->i_lock);
		if ((inode->i_state & (I_FREEING | I_WILL_FREE | I_NEW)) ||
		    !inode->i_mapping->nrpages) {
			spin_unlock(&inode->i_lock);
			continue;
		}
		__iget(inode);
		spin_unlock(&inode->i_lock);
		spin_unlock(&sb->s_inode_list_lock);
		if (prev)
			put_later(prev);
		prev = inode;
		e2 = filemap_write_and_wait(inode->i_mapping);
		if (!err)
			err = e2;
		spin_lock(&sb->s_inode_list_lock);
	}
	spin_unlock(&sb->s_inode_list_lock);
	if (prev)
		put_later(prev);
	return err;
}

/* ---- memory ---- */

void *tw_alloc(size_t size)
{
	return kvzalloc(size, GFP_NOFS);
}

void tw_free(void *p, size_t size)
{
	kvfree(p);
}

/* ---- locks ---- */

struct tw_mutex {
	struct mutex m;
};

struct tw_rwsem {
	struct rw_semaphore s;
};

struct tw_mutex *tw_mutex_new(void)
{
	struct tw_mutex *m = kmalloc(sizeof(*m), GFP_NOFS);

	if (m)
		mutex_init(&m->m);
	return m;
}

void tw_mutex_free(struct tw_mutex *m)
{
	mutex_destroy(&m->m);
	kfree(m);
}

void tw_mutex_lock(struct tw_mutex *m)
{
	mutex_lock(&m->m);
}

void tw_mutex_unlock(struct tw_mutex *m)
{
	mutex_unlock(&m->m);
}

static struct lock_class_key tw_rwsem_key;

struct tw_rwsem *tw_rwsem_new(void)
{
	struct tw_rwsem *s = kmalloc(sizeof(*s), GFP_NOFS);

	if (s)
		__init_rwsem(&s->s, "tw_rwsem", &tw_rwsem_key);
	return s;
}

void tw_rwsem_free(struct tw_rwsem *s)
{
	kfree(s);
}

void tw_down_read(struct tw_rwsem *s)
{
	down_read(&s->s);
}

void tw_up_read(struct tw_rwsem *s)
{
	up_read(&s->s);
}

void tw_down_write(struct tw_rwsem *s)
{
	down_write(&s->s);
}

void tw_up_write(struct tw_rwsem *s)
{
	up_write(&s->s);
}

/* ---- time, logging, assertions ---- */

/*
 * The clock the VFS stamps inodes with (current_time(): the coarse clock,
 * one tick of resolution), so that a time the core sets and one the VFS
 * sets later (file_update_time() on write) never run backwards against
 * each other, as they could by up to a tick with the fine clock here.
 */
s64 tw_now(void)
{
	struct timespec64 ts;

	ktime_get_coarse_real_ts64(&ts);
	return timespec64_to_ns(&ts);
}

void tw_log(struct tw_dev *dev, int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;

	if (level > tw_debug_level)
		return;
	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	printk("%c%ctwinfs (%s): %pV\n", KERN_SOH_ASCII, '0' + level,
	       dev ? SB(dev)->s_id : "-", &vaf);
	va_end(ap);
}
EXPORT_SYMBOL_GPL(tw_log);

void tw_assert_fail(const char *expr, const char *file, int line)
{
	WARN(1, "twinfs: assertion failed: %s (%s:%d)\n", expr, file, line);
}
