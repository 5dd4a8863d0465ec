// SPDX-License-Identifier: GPL-2.0
/*
 * bcache.c - the user-space block cache: struct tw_dev and struct tw_buf of
 * the environment contract (tw_buf_read() and friends), in front of a
 * backend (be_*.c).
 *
 * Layer: user-space environment.  Called by the core (common/) through
 * tw_env.h and by the user-space homes through tw_user.h; calls a backend
 * through struct tw_backend_ops, the C library, pthreads and tw_log().
 *
 * Design:
 *
 *  - One mutex per device protects the hash table, the lists, and every
 *    buffer's refcount and flags.  No I/O is done under it: a buffer being
 *    read is marked LOADING, one being written WRITING, and whoever needs it
 *    in a stable state waits on the device's condition variable.  So a block
 *    has at most one I/O in flight, and two threads reading the same
 *    uncached block cause one backend read and get the same buffer.
 *  - A buffer with no references sits on the LRU list (oldest first).  When
 *    the cache is over its memory limit, unreferenced buffers are evicted
 *    from the LRU head; dirty ones are first written (a batch at a time, in
 *    block order).  Referenced buffers are never evicted, so the limit is
 *    exceeded while more than that is referenced.
 *  - Every dirty buffer is on the dirty list.  tw_dev_writeback() writes
 *    them in ascending block order, adjacent blocks in one backend call.
 *  - A buffer from tw_buf_get() counts as up to date at once (like the
 *    kernel's getblk() followed by set_buffer_uptodate()): its caller
 *    overwrites it completely and may tw_buf_read() it for a second
 *    reference before marking it dirty, which must not re-read the device
 *    over its new contents.  So nobody else may read a block while its
 *    caller fills it; the core only gets blocks it has just allocated.
 *  - A failed read drops the buffer (once its last holder lets go), so the
 *    cache never holds half-valid data.
 *  - A failed write leaves the buffer dirty: its contents are still what
 *    the block should hold, and a later writeback tries again.
 *  - The core may modify a buffer it holds while writeback writes it (as in
 *    the kernel); the journal, not the cache, makes that safe.
 *  - File data pass beside the cache (tw_dev_read_data(),
 *    tw_dev_write_data(): whole blocks between the backend and the
 *    caller's memory), so the cache holds metadata and the partial blocks
 *    of writes.  The two stay coherent per block: a read takes a cached,
 *    up-to-date buffer (it may be newer than the device) instead of the
 *    device; a write drops an unreferenced buffer (dirty or not) or gives
 *    a referenced one the new contents, clean and WRITING until the
 *    backend has them, after waiting for an I/O in flight.  The caller
 *    holds the lock of the inode that owns the blocks, so nobody creates
 *    or changes their buffers meanwhile.
 */
#include "tw_user_int.h"

#include <stdlib.h>

#define BUF_UPTODATE 0x1u
#define BUF_DIRTY 0x2u
#define BUF_LOADING 0x4u
#define BUF_WRITING 0x8u

/* Most blocks one backend write gets (1 MiB). */
#define MAX_RUN 256
/* Most dirty buffers eviction writes at once. */
#define EVICT_BATCH 64
/* Initial hash buckets (power of two); the table doubles as it fills. */
#define HASH_BITS_MIN 10
/* I/O error messages per device before they are suppressed. */
#define IO_ERR_MSGS 50

struct tw_buf {
	u64 blkno;
	struct tw_dev *dev;
	struct tw_buf *hnext; /* hash chain */
	struct tw_list lru; /* on dev->lru iff ref == 0 */
	struct tw_list dirty; /* on dev->dirty iff BUF_DIRTY */
	u32 ref;
	u32 flags;
	u32 verified; /* atomic: read without dev->lock on every access */
	void *data;
};

struct tw_dev {
	struct tw_backend *be;
	u64 blocks;
	pthread_mutex_t lock; /* protects everything below but stats */
	pthread_cond_t cond; /* a buffer finished loading or writing */
	struct tw_buf **hash;
	unsigned int hash_bits;
	size_t nbufs;
	size_t ndirty;
	size_t limit; /* in buffers */
	struct tw_list lru;
	struct tw_list dirty;
	struct tw_udev_stats st; /* atomics; cached/dirty unused */
	u32 io_err_msgs;
};

/* ------------------------------------------------------------------------ */
/* Hash table and lists; the caller holds dev->lock                         */
/* ------------------------------------------------------------------------ */

static size_t hash_slot(u64 blk, unsigned int bits)
{
	return (size_t)((blk * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static struct tw_buf *find_locked(struct tw_dev *dev, u64 blk)
{
	struct tw_buf *b = dev->hash[hash_slot(blk, dev->hash_bits)];

	while (b && b->blkno != blk)
		b = b->hnext;
	return b;
}

/* Double the table; on allocation failure keep the old one (chains grow). */
static void hash_grow_locked(struct tw_dev *dev)
{
	unsigned int bits = dev->hash_bits + 1;
	struct tw_buf **nh, *b, *next;
	size_t i, slot;

	nh = calloc((size_t)1 << bits, sizeof(*nh));
	if (!nh)
		return;
	for (i = 0; i < ((size_t)1 << dev->hash_bits); i++) {
		for (b = dev->hash[i]; b; b = next) {
			next = b->hnext;
			slot = hash_slot(b->blkno, bits);
			b->hnext = nh[slot];
			nh[slot] = b;
		}
	}
	free(dev->hash);
	dev->hash = nh;
	dev->hash_bits = bits;
}

static void hash_insert_locked(struct tw_dev *dev, struct tw_buf *b)
{
	size_t slot;

	if (dev->nbufs > ((size_t)2 << dev->hash_bits) && dev->hash_bits < 40)
		hash_grow_locked(dev);
	slot = hash_slot(b->blkno, dev->hash_bits);
	b->hnext = dev->hash[slot];
	dev->hash[slot] = b;
	dev->nbufs++;
}

static void hash_remove_locked(struct tw_dev *dev, struct tw_buf *b)
{
	struct tw_buf **pp = &dev->hash[hash_slot(b->blkno, dev->hash_bits)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
	dev->nbufs--;
}

static struct tw_buf *lru_buf(struct tw_list *l)
{
	return tw_container_of(l, struct tw_buf, lru);
}

static struct tw_buf *dirty_buf(struct tw_list *l)
{
	return tw_container_of(l, struct tw_buf, dirty);
}

static void buf_destroy(struct tw_buf *b)
{
	free(b->data);
	free(b);
}

/* Drop an unreferenced buffer from the cache (and any list it is on). */
static void buf_free_locked(struct tw_dev *dev, struct tw_buf *b)
{
	tw_assert(!b->ref && !(b->flags & (BUF_LOADING | BUF_WRITING)));
	hash_remove_locked(dev, b);
	tw_list_del(&b->lru);
	if (b->flags & BUF_DIRTY) {
		tw_list_del(&b->dirty);
		dev->ndirty--;
	}
	buf_destroy(b);
}

static void get_ref_locked(struct tw_buf *b)
{
	if (b->ref++ == 0)
		tw_list_del(&b->lru);
}

static void mark_dirty_locked(struct tw_dev *dev, struct tw_buf *b)
{
	b->flags |= BUF_UPTODATE | BUF_DIRTY;
	if (tw_list_empty(&b->dirty)) {
		tw_list_add_tail(&b->dirty, &dev->dirty);
		dev->ndirty++;
	}
}

/* Evict clean unreferenced buffers from the LRU head; no I/O. */
static void trim_clean_locked(struct tw_dev *dev, size_t extra)
{
	struct tw_buf *b;

	while (dev->nbufs + extra > dev->limit && !tw_list_empty(&dev->lru)) {
		b = lru_buf(dev->lru.next);
		if (b->flags & BUF_DIRTY)
			break;
		buf_free_locked(dev, b);
		tw_stat_add(&dev->st.evictions, 1);
	}
}

/*
 * Drop a reference.  The last one puts the buffer on the LRU (at its head
 * with @oldest, for buffers eviction just wrote), or drops it if it holds
 * nothing valid.
 */
static void put_locked(struct tw_dev *dev, struct tw_buf *b, bool oldest)
{
	tw_assert(b->ref > 0);
	if (--b->ref)
		return;
	if (!(b->flags & BUF_UPTODATE)) {
		buf_free_locked(dev, b);
		return;
	}
	if (oldest)
		tw_list_add(&b->lru, &dev->lru);
	else
		tw_list_add_tail(&b->lru, &dev->lru);
	trim_clean_locked(dev, 0);
}

/* ------------------------------------------------------------------------ */
/* Backend calls, without dev->lock                                         */
/* ------------------------------------------------------------------------ */

static void io_error(struct tw_dev *dev, const char *what, u64 blk, u32 n,
		     int err)
{
	u32 nr = tw_stat_add(&dev->io_err_msgs, 1);

	tw_stat_add(&dev->st.io_errors, 1);
	if (nr < IO_ERR_MSGS)
		tw_log(dev, TW_LOG_ERR, "%s error on block %llu (+%u): %s",
		       what, (unsigned long long)blk, n - 1, strerror(-err));
	else if (nr == IO_ERR_MSGS)
		tw_log(dev, TW_LOG_ERR, "suppressing further I/O errors");
}

static int backend_read(struct tw_dev *dev, u64 blk, u32 n, void *data)
{
	int err = dev->be->ops->read(dev->be, blk, n, data);

	if (err) {
		io_error(dev, "read", blk, n, err);
		return -EIO;
	}
	tw_stat_add(&dev->st.reads, 1);
	tw_stat_add(&dev->st.read_blocks, n);
	return 0;
}

static int backend_write(struct tw_dev *dev, u64 blk, u32 n,
			 const void *const *data)
{
	int err = dev->be->ops->write(dev->be, blk, n, data);

	if (err) {
		io_error(dev, "write", blk, n, err);
		return -EIO;
	}
	tw_stat_add(&dev->st.writes, 1);
	tw_stat_add(&dev->st.write_blocks, n);
	return 0;
}

static bool blk_ok(struct tw_dev *dev, u64 blk)
{
	if (likely(blk < dev->blocks))
		return true;
	tw_log(dev, TW_LOG_ERR,
	       "access beyond end of device: block %llu of %llu",
	       (unsigned long long)blk, (unsigned long long)dev->blocks);
	return false;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

static int cmp_blkno(const void *a, const void *b)
{
	u64 x = (*(struct tw_buf *const *)a)->blkno;
	u64 y = (*(struct tw_buf *const *)b)->blkno;

	return x < y ? -1 : x > y;
}

/*
 * Write those of @bufs (sorted by block, each referenced by the caller)
 * that are dirty, adjacent blocks in one backend call.  Drops dev->lock
 * around the I/O.  Return: 0 or -EIO if any write failed.
 */
static int write_bufs_locked(struct tw_dev *dev, struct tw_buf **bufs,
			     size_t n)
{
	struct tw_buf *run[MAX_RUN], *b;
	const void *data[MAX_RUN];
	size_t i = 0, cnt, j;
	int err, ret = 0;

	while (i < n) {
		cnt = 0;
		while (i < n && cnt < MAX_RUN) {
			b = bufs[i];
			if (cnt && b->blkno != run[cnt - 1]->blkno + 1)
				break;
			if (b->flags & BUF_WRITING) {
				/* Its older contents are being written. */
				if (cnt)
					break;
				tw_pcond_wait(&dev->cond, &dev->lock);
				continue;
			}
			i++;
			if (!(b->flags & BUF_DIRTY)) {
				if (cnt)
					break;
				continue;
			}
			b->flags = (b->flags & ~BUF_DIRTY) | BUF_WRITING;
			tw_list_del(&b->dirty);
			dev->ndirty--;
			run[cnt] = b;
			data[cnt] = b->data;
			cnt++;
		}
		if (!cnt)
			continue;

		tw_pmutex_unlock(&dev->lock);
		err = backend_write(dev, run[0]->blkno, (u32)cnt, data);
		tw_pmutex_lock(&dev->lock);

		for (j = 0; j < cnt; j++) {
			run[j]->flags &= ~BUF_WRITING;
			if (err)
				mark_dirty_locked(dev, run[j]);
		}
		pthread_cond_broadcast(&dev->cond);
		if (err)
			ret = -EIO;
	}
	return ret;
}

/*
 * Evict unreferenced buffers until @extra more fit under the limit, writing
 * dirty ones first.  Drops dev->lock around the writes; stops early if one
 * fails (the data stays cached, over the limit).
 */
static void shrink_locked(struct tw_dev *dev, size_t extra)
{
	struct tw_buf *batch[EVICT_BATCH], *b;
	struct tw_list *l, *next;
	size_t n, i;
	int err;

	for (;;) {
		trim_clean_locked(dev, extra);
		if (dev->nbufs + extra <= dev->limit ||
		    tw_list_empty(&dev->lru))
			return;
		/* The LRU head is dirty: write the dirty run at the head. */
		n = 0;
		for (l = dev->lru.next; l != &dev->lru && n < EVICT_BATCH;
		     l = next) {
			next = l->next;
			b = lru_buf(l);
			if (!(b->flags & BUF_DIRTY))
				break;
			get_ref_locked(b);
			batch[n++] = b;
		}
		qsort(batch, n, sizeof(batch[0]), cmp_blkno);
		err = write_bufs_locked(dev, batch, n);
		for (i = 0; i < n; i++)
			put_locked(dev, batch[i], true);
		if (err)
			return;
	}
}

/* ------------------------------------------------------------------------ */
/* Getting buffers                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Find the buffer of @blk and take a reference, or make one (not up to
 * date, zeroed if @zero).  May drop dev->lock to make room.
 */
static int find_or_create_locked(struct tw_dev *dev, u64 blk, bool zero,
				 struct tw_buf **out)
{
	bool shrunk = false;
	struct tw_buf *b;

	for (;;) {
		b = find_locked(dev, blk);
		if (b) {
			get_ref_locked(b);
			*out = b;
			return 0;
		}
		if (shrunk || dev->nbufs < dev->limit)
			break;
		shrink_locked(dev, 1); /* may drop the lock: look again */
		shrunk = true;
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (posix_memalign(&b->data, TW_BS, TW_BS)) {
		free(b);
		return -ENOMEM;
	}
	if (zero)
		memset(b->data, 0, TW_BS);
	b->blkno = blk;
	b->dev = dev;
	b->ref = 1;
	tw_list_init(&b->lru);
	tw_list_init(&b->dirty);
	hash_insert_locked(dev, b);
	*out = b;
	return 0;
}

/**
 * tw_buf_read() - see tw_env.h.  The first thread to find the block not up
 * to date reads it; the others wait for that read and share its result.
 */
int tw_buf_read(struct tw_dev *dev, u64 blk, struct tw_buf **out)
{
	bool waited = false;
	struct tw_buf *b;
	int err;

	if (!blk_ok(dev, blk))
		return -EIO;
	tw_pmutex_lock(&dev->lock);
	err = find_or_create_locked(dev, blk, false, &b);
	if (err) {
		tw_pmutex_unlock(&dev->lock);
		return err;
	}
	for (;;) {
		if (b->flags & BUF_UPTODATE) {
			tw_pmutex_unlock(&dev->lock);
			tw_stat_add(&dev->st.hits, 1);
			*out = b;
			return 0;
		}
		if (!(b->flags & (BUF_LOADING | BUF_WRITING)))
			break;
		waited |= !!(b->flags & BUF_LOADING);
		tw_pcond_wait(&dev->cond, &dev->lock);
	}
	if (waited) {
		/* The read we waited for failed; share its verdict. */
		put_locked(dev, b, false);
		tw_pmutex_unlock(&dev->lock);
		return -EIO;
	}
	b->flags |= BUF_LOADING;
	tw_pmutex_unlock(&dev->lock);

	tw_stat_add(&dev->st.misses, 1);
	err = backend_read(dev, blk, 1, b->data);

	tw_pmutex_lock(&dev->lock);
	b->flags &= ~BUF_LOADING;
	/* Fresh from the device: the core has not checked these bytes. */
	__atomic_store_n(&b->verified, 0, __ATOMIC_RELEASE);
	if (!err)
		b->flags |= BUF_UPTODATE;
	pthread_cond_broadcast(&dev->cond);
	if (err)
		put_locked(dev, b, false); /* the last one frees it */
	tw_pmutex_unlock(&dev->lock);
	if (err)
		return err;
	*out = b;
	return 0;
}

/**
 * tw_buf_get() - see tw_env.h.  A new buffer is zero-filled; one being read
 * is waited for, so the caller's writes to it cannot be overwritten.  The
 * buffer is up to date from now on: the caller fills it.
 */
int tw_buf_get(struct tw_dev *dev, u64 blk, struct tw_buf **out)
{
	struct tw_buf *b;
	int err;

	if (!blk_ok(dev, blk))
		return -EIO;
	tw_pmutex_lock(&dev->lock);
	err = find_or_create_locked(dev, blk, true, &b);
	if (!err) {
		while (b->flags & BUF_LOADING)
			tw_pcond_wait(&dev->cond, &dev->lock);
		b->flags |= BUF_UPTODATE;
		*out = b;
	}
	tw_pmutex_unlock(&dev->lock);
	return err;
}

void *tw_buf_data(struct tw_buf *b)
{
	return b->data;
}

u64 tw_buf_blkno(struct tw_buf *b)
{
	return b->blkno;
}

/**
 * tw_buf_verified() - see tw_env.h.  A lock-free flag: cleared by every
 * read from the device (and zero in a new buffer), set by the core.
 */
bool tw_buf_verified(struct tw_buf *b)
{
	return __atomic_load_n(&b->verified, __ATOMIC_ACQUIRE);
}

void tw_buf_set_verified(struct tw_buf *b)
{
	__atomic_store_n(&b->verified, 1, __ATOMIC_RELEASE);
}

void tw_buf_mark_dirty(struct tw_buf *b)
{
	struct tw_dev *dev = b->dev;

	tw_pmutex_lock(&dev->lock);
	tw_assert(b->ref > 0);
	mark_dirty_locked(dev, b);
	tw_pmutex_unlock(&dev->lock);
}

/**
 * tw_buf_write() - see tw_env.h.  Waits for a write of the same buffer
 * already in flight, so the device ends up with the newest contents.  On
 * failure the buffer stays dirty.
 */
int tw_buf_write(struct tw_buf *b)
{
	struct tw_dev *dev = b->dev;
	const void *data = b->data;
	int err;

	tw_pmutex_lock(&dev->lock);
	tw_assert(b->ref > 0);
	while (b->flags & (BUF_LOADING | BUF_WRITING))
		tw_pcond_wait(&dev->cond, &dev->lock);
	b->flags |= BUF_UPTODATE | BUF_WRITING;
	if (b->flags & BUF_DIRTY) {
		b->flags &= ~BUF_DIRTY;
		tw_list_del(&b->dirty);
		dev->ndirty--;
	}
	tw_pmutex_unlock(&dev->lock);

	err = backend_write(dev, b->blkno, 1, &data);

	tw_pmutex_lock(&dev->lock);
	b->flags &= ~BUF_WRITING;
	if (err)
		mark_dirty_locked(dev, b);
	pthread_cond_broadcast(&dev->cond);
	tw_pmutex_unlock(&dev->lock);
	return err;
}

void tw_buf_release(struct tw_buf *b)
{
	struct tw_dev *dev;

	if (!b)
		return;
	dev = b->dev;
	tw_pmutex_lock(&dev->lock);
	put_locked(dev, b, false);
	tw_pmutex_unlock(&dev->lock);
}

/* ------------------------------------------------------------------------ */
/* File data without buffers                                                */
/* ------------------------------------------------------------------------ */

/*
 * The cached, up-to-date buffer of @blk with a reference taken, or NULL if
 * the block is not cached (or only as the leftover of a failed read).  A
 * buffer being read is waited for.  May drop dev->lock while it waits.
 */
static struct tw_buf *data_cached_locked(struct tw_dev *dev, u64 blk)
{
	struct tw_buf *b;

	for (;;) {
		b = find_locked(dev, blk);
		if (!b)
			return NULL;
		if (!(b->flags & BUF_LOADING))
			break;
		tw_pcond_wait(&dev->cond, &dev->lock);
	}
	if (!(b->flags & BUF_UPTODATE))
		return NULL;
	get_ref_locked(b);
	return b;
}

/**
 * tw_dev_read_data() - see tw_env.h.  Up to MAX_RUN blocks at a time: one
 * look at the cache under dev->lock, then one backend read per run of
 * blocks that are not cached, straight into @dst, and a copy of each
 * cached one (a partial write left it there, possibly dirty).  The
 * references keep the cached ones from being evicted or dropped while
 * they are copied; nobody changes their contents meanwhile, because the
 * caller holds the lock of the inode they belong to.
 */
int tw_dev_read_data(struct tw_dev *dev, u64 blk, u32 n, void *dst)
{
	struct tw_buf *held[MAX_RUN];
	u32 cnt, i, j, nheld;
	u8 *d = dst;
	int err = 0;

	if (!n)
		return 0;
	if (!blk_ok(dev, blk) || !blk_ok(dev, blk + n - 1))
		return -EIO;
	tw_stat_add(&dev->st.data_reads, 1);
	while (n) {
		cnt = n < MAX_RUN ? n : MAX_RUN;
		nheld = 0;
		tw_pmutex_lock(&dev->lock);
		for (i = 0; i < cnt; i++) {
			held[i] = data_cached_locked(dev, blk + i);
			nheld += !!held[i];
		}
		tw_pmutex_unlock(&dev->lock);
		for (i = 0; i < cnt && !err; i = j) {
			if (held[i]) {
				memcpy(d + (size_t)i * TW_BS, held[i]->data,
				       TW_BS);
				j = i + 1;
				continue;
			}
			for (j = i + 1; j < cnt && !held[j]; j++)
				;
			err = backend_read(dev, blk + i, j - i,
					   d + (size_t)i * TW_BS);
		}
		if (nheld) {
			tw_stat_add(&dev->st.data_hits, nheld);
			tw_pmutex_lock(&dev->lock);
			for (i = 0; i < cnt; i++)
				if (held[i])
					put_locked(dev, held[i], false);
			tw_pmutex_unlock(&dev->lock);
		}
		if (err)
			return err;
		tw_stat_add(&dev->st.data_read_blocks, cnt);
		blk += cnt;
		d += (size_t)cnt * TW_BS;
		n -= cnt;
	}
	return 0;
}

/*
 * Before @blk is written from @data without its buffer: drop a cached
 * buffer nobody holds (dirty or not: its contents are superseded), or
 * give a held one the new contents, clean, marked WRITING with a
 * reference taken, so that no writeback writes it nor eviction drops it
 * until the device has the new contents.  (Who holds a buffer of a data
 * block while its inode is locked: a writeback or eviction batch that has
 * not reached it yet, never a user of its contents.)  Waits for a read or
 * write of the buffer in flight, so that an older write cannot land after
 * ours.  Returns the held buffer, or NULL.  May drop dev->lock.
 */
static struct tw_buf *data_claim_locked(struct tw_dev *dev, u64 blk,
					const void *data)
{
	struct tw_buf *b;

	for (;;) {
		b = find_locked(dev, blk);
		if (!b)
			return NULL;
		if (!(b->flags & (BUF_LOADING | BUF_WRITING)))
			break;
		tw_pcond_wait(&dev->cond, &dev->lock);
	}
	tw_stat_add(&dev->st.data_hits, 1);
	if (!b->ref) {
		buf_free_locked(dev, b);
		return NULL;
	}
	memcpy(b->data, data, TW_BS);
	/* no longer what the core checked, if it ever was metadata */
	__atomic_store_n(&b->verified, 0, __ATOMIC_RELEASE);
	b->flags |= BUF_UPTODATE | BUF_WRITING;
	if (b->flags & BUF_DIRTY) {
		b->flags &= ~BUF_DIRTY;
		tw_list_del(&b->dirty);
		dev->ndirty--;
	}
	get_ref_locked(b);
	return b;
}

/**
 * tw_dev_write_data() - see tw_env.h.  Up to MAX_RUN blocks at a time:
 * cached buffers of them are dropped or replaced (data_claim_locked())
 * under dev->lock, then one backend write of the whole run straight from
 * @src, then the replaced buffers are released (dirty again if the write
 * failed: they hold what the blocks should hold).
 */
int tw_dev_write_data(struct tw_dev *dev, u64 blk, u32 n, const void *src)
{
	struct tw_buf *held[MAX_RUN];
	const void *data[MAX_RUN];
	const u8 *s = src;
	u32 cnt, i, nheld;
	int err;

	if (!n)
		return 0;
	if (!blk_ok(dev, blk) || !blk_ok(dev, blk + n - 1))
		return -EIO;
	tw_stat_add(&dev->st.data_writes, 1);
	while (n) {
		cnt = n < MAX_RUN ? n : MAX_RUN;
		nheld = 0;
		tw_pmutex_lock(&dev->lock);
		for (i = 0; i < cnt; i++) {
			data[i] = s + (size_t)i * TW_BS;
			held[i] = data_claim_locked(dev, blk + i, data[i]);
			nheld += !!held[i];
		}
		tw_pmutex_unlock(&dev->lock);

		err = backend_write(dev, blk, cnt, data);

		if (nheld) {
			tw_pmutex_lock(&dev->lock);
			for (i = 0; i < cnt; i++) {
				if (!held[i])
					continue;
				held[i]->flags &= ~BUF_WRITING;
				if (err)
					mark_dirty_locked(dev, held[i]);
				put_locked(dev, held[i], false);
			}
			pthread_cond_broadcast(&dev->cond);
			tw_pmutex_unlock(&dev->lock);
		}
		if (err)
			return err;
		tw_stat_add(&dev->st.data_write_blocks, cnt);
		blk += cnt;
		s += (size_t)cnt * TW_BS;
		n -= cnt;
	}
	return 0;
}

/**
 * tw_dev_sync_data() - see tw_env.h.  The dirty buffers among the blocks,
 * in ascending order (adjacent ones in one backend write), up to MAX_RUN
 * blocks at a time.
 */
int tw_dev_sync_data(struct tw_dev *dev, u64 blk, u32 n)
{
	struct tw_buf *held[MAX_RUN], *b;
	u32 cnt, i, k;
	int err = 0;

	if (!n)
		return 0;
	if (!blk_ok(dev, blk) || !blk_ok(dev, blk + n - 1))
		return -EIO;
	tw_pmutex_lock(&dev->lock);
	while (n && !err) {
		cnt = n < MAX_RUN ? n : MAX_RUN;
		for (i = 0, k = 0; i < cnt; i++) {
			b = find_locked(dev, blk + i);
			if (b && (b->flags & (BUF_DIRTY | BUF_WRITING))) {
				get_ref_locked(b);
				held[k++] = b;
			}
		}
		if (k) {
			/* waits for a write in flight, writes what is dirty */
			err = write_bufs_locked(dev, held, k);
			while (k)
				put_locked(dev, held[--k], false);
		}
		blk += cnt;
		n -= cnt;
	}
	tw_pmutex_unlock(&dev->lock);
	return err;
}

/*
 * Write the first @max buffers of the dirty list one at a time, in list
 * order: writeback's fallback when it cannot allocate its sorted array.
 */
static int writeback_unsorted_locked(struct tw_dev *dev, size_t max)
{
	struct tw_buf *b;
	int err = 0;

	while (max-- && !tw_list_empty(&dev->dirty)) {
		b = dirty_buf(dev->dirty.next);
		get_ref_locked(b);
		err = write_bufs_locked(dev, &b, 1) ?: err;
		put_locked(dev, b, false);
	}
	return err;
}

/**
 * tw_dev_writeback() - write every buffer dirty at the time of the call,
 * in ascending block order, adjacent blocks coalesced; then wait for them.
 */
int tw_dev_writeback(struct tw_dev *dev)
{
	struct tw_buf **arr;
	struct tw_list *l;
	size_t n, i = 0;
	int err;

	tw_pmutex_lock(&dev->lock);
	n = dev->ndirty;
	if (!n) {
		tw_pmutex_unlock(&dev->lock);
		return 0;
	}
	arr = malloc(n * sizeof(*arr));
	if (!arr) {
		err = writeback_unsorted_locked(dev, n);
		tw_pmutex_unlock(&dev->lock);
		return err;
	}
	for (l = dev->dirty.next; l != &dev->dirty; l = l->next) {
		arr[i] = dirty_buf(l);
		get_ref_locked(arr[i]);
		i++;
	}
	qsort(arr, n, sizeof(*arr), cmp_blkno);
	err = write_bufs_locked(dev, arr, n);
	for (i = 0; i < n; i++)
		put_locked(dev, arr[i], false);
	tw_pmutex_unlock(&dev->lock);
	free(arr);
	return err;
}

/** tw_dev_flush() - the backend's flush (fdatasync for files). */
int tw_dev_flush(struct tw_dev *dev)
{
	int err = dev->be->ops->flush(dev->be);

	if (err) {
		io_error(dev, "flush", 0, 1, err);
		return -EIO;
	}
	tw_stat_add(&dev->st.flushes, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                  */
/* ------------------------------------------------------------------------ */

struct tw_dev *tw_udev_from_backend(struct tw_backend *be)
{
	struct tw_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		goto fail;
	dev->hash_bits = HASH_BITS_MIN;
	dev->hash = calloc((size_t)1 << dev->hash_bits, sizeof(*dev->hash));
	if (!dev->hash)
		goto fail;
	if (tw_pmutex_init(&dev->lock))
		goto fail;
	if (pthread_cond_init(&dev->cond, NULL)) {
		pthread_mutex_destroy(&dev->lock);
		goto fail;
	}
	dev->be = be;
	dev->blocks = be->blocks;
	dev->limit = TW_UDEV_DEFAULT_CACHE / TW_BS;
	tw_list_init(&dev->lru);
	tw_list_init(&dev->dirty);
	return dev;

fail:
	if (dev)
		free(dev->hash);
	free(dev);
	be->ops->destroy(be);
	return NULL;
}

struct tw_dev *tw_udev_open(const char *path, unsigned int flags, int *err)
{
	struct tw_backend *be = tw_backend_file(path, flags, err);
	struct tw_dev *dev;

	if (!be)
		return NULL;
	dev = tw_udev_from_backend(be);
	if (!dev && err)
		*err = -ENOMEM;
	return dev;
}

struct tw_dev *tw_udev_ram(u64 blocks)
{
	struct tw_backend *be = tw_backend_ram(blocks);

	return be ? tw_udev_from_backend(be) : NULL;
}

u64 tw_udev_blocks(struct tw_dev *dev)
{
	return dev->blocks;
}

const char *tw_udev_name(struct tw_dev *dev)
{
	return dev->be->name;
}

struct tw_backend *tw_udev_backend(struct tw_dev *dev)
{
	return dev->be;
}

void tw_udev_set_cache_limit(struct tw_dev *dev, size_t bytes)
{
	tw_pmutex_lock(&dev->lock);
	dev->limit = bytes / TW_BS;
	shrink_locked(dev, 0);
	tw_pmutex_unlock(&dev->lock);
}

int tw_udev_drop_caches(struct tw_dev *dev)
{
	struct tw_list *l, *next;
	struct tw_buf *b;
	int err;

	err = tw_dev_writeback(dev);
	tw_pmutex_lock(&dev->lock);
	for (l = dev->lru.next; l != &dev->lru; l = next) {
		next = l->next;
		b = lru_buf(l);
		if (!(b->flags & BUF_DIRTY))
			buf_free_locked(dev, b);
	}
	tw_pmutex_unlock(&dev->lock);
	return err;
}

void tw_udev_get_stats(struct tw_dev *dev, struct tw_udev_stats *st)
{
	st->reads = tw_stat_get(&dev->st.reads);
	st->read_blocks = tw_stat_get(&dev->st.read_blocks);
	st->writes = tw_stat_get(&dev->st.writes);
	st->write_blocks = tw_stat_get(&dev->st.write_blocks);
	st->flushes = tw_stat_get(&dev->st.flushes);
	st->hits = tw_stat_get(&dev->st.hits);
	st->misses = tw_stat_get(&dev->st.misses);
	st->evictions = tw_stat_get(&dev->st.evictions);
	st->io_errors = tw_stat_get(&dev->st.io_errors);
	st->data_reads = tw_stat_get(&dev->st.data_reads);
	st->data_read_blocks = tw_stat_get(&dev->st.data_read_blocks);
	st->data_writes = tw_stat_get(&dev->st.data_writes);
	st->data_write_blocks = tw_stat_get(&dev->st.data_write_blocks);
	st->data_hits = tw_stat_get(&dev->st.data_hits);
	tw_pmutex_lock(&dev->lock);
	st->cached = dev->nbufs;
	st->dirty = dev->ndirty;
	tw_pmutex_unlock(&dev->lock);
}

void tw_udev_reset_stats(struct tw_dev *dev)
{
	__atomic_store_n(&dev->st.reads, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.read_blocks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.writes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.write_blocks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.flushes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.hits, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.misses, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.evictions, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.io_errors, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.data_reads, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.data_read_blocks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.data_writes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.data_write_blocks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->st.data_hits, 0, __ATOMIC_RELAXED);
}

static void report_leak(struct tw_dev *dev, struct tw_buf *b)
{
	tw_log(dev, TW_LOG_ERR, "close: block %llu still referenced (%u)",
	       (unsigned long long)b->blkno, b->ref);
}

/**
 * tw_udev_close() - see tw_user.h.  Even when writes fail, everything is
 * freed: the caller cannot do anything more with the device.
 */
int tw_udev_close(struct tw_dev *dev)
{
	size_t leaked = 0, lost = 0, i;
	struct tw_buf *b, *next;
	int err;

	if (!dev)
		return 0;
	err = tw_dev_writeback(dev);
	err = tw_dev_flush(dev) ?: err;

	tw_pmutex_lock(&dev->lock);
	for (i = 0; i < ((size_t)1 << dev->hash_bits); i++) {
		for (b = dev->hash[i]; b; b = next) {
			next = b->hnext;
			if (b->ref && leaked++ < 16)
				report_leak(dev, b);
			if (b->flags & BUF_DIRTY)
				lost++;
			buf_destroy(b);
		}
	}
	tw_pmutex_unlock(&dev->lock);
	if (leaked > 16)
		tw_log(dev, TW_LOG_ERR, "close: %zu referenced buffers in all",
		       leaked);
	if (lost)
		tw_log(dev, TW_LOG_ERR, "close: %zu dirty blocks not written",
		       lost);

	dev->be->ops->destroy(dev->be);
	pthread_cond_destroy(&dev->cond);
	pthread_mutex_destroy(&dev->lock);
	free(dev->hash);
	free(dev);
	if (leaked)
		return -EBUSY;
	return err ? -EIO : 0;
}
