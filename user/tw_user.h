/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_user.h - the user-space environment of the twinfs core: the API that
 * the user-space homes (fusefs/, tools/, tests/) use to open devices and
 * to configure and observe the environment.
 *
 * Layer: user-space environment, public face.  Includes tw_env.h only (in
 * its hosted form, which pulls in <stdint.h>, <string.h>, <errno.h> and
 * friends).  Callers may include C library headers before or after it; if
 * they include tw_env.h or twinfs.h themselves, they must either include
 * this header first or compile with -DTW_ENV_HOSTED (twuser_dep in
 * user/meson.build does the latter).
 *
 * The implementation of the contract itself (tw_buf_read() and friends,
 * tw_alloc(), tw_mutex_lock(), tw_log(), ...) is declared in tw_env.h and
 * lives in the .c files of user/.
 *
 * Devices: a struct tw_dev is a block cache in front of a backend.  A
 * backend is a small ops table (like e2fsprogs' io_manager): file or block
 * device, RAM, and two wrappers, one that records every write and flush
 * (for crash-consistency tests) and one that injects I/O errors.
 */
#ifndef TW_USER_H
#define TW_USER_H

#ifndef TW_ENV_HOSTED
#define TW_ENV_HOSTED 1
#endif
#include "tw_env.h"

/** TW_UDEV_BLOCK_SIZE - size of every block the environment handles. */
#define TW_UDEV_BLOCK_SIZE 4096u
#define TW_UDEV_BLOCK_SHIFT 12

/** TW_UDEV_DEFAULT_CACHE - default cache memory limit of a device. */
#define TW_UDEV_DEFAULT_CACHE (64u << 20)

/* ------------------------------------------------------------------------ */
/* Backends                                                                 */
/* ------------------------------------------------------------------------ */

struct tw_backend;

/**
 * struct tw_backend_ops - what a block backend provides.
 * @read: read @n blocks starting at @blk into @buf (n * 4096 bytes).
 * @write: write @n blocks starting at @blk; block i of the run comes from
 *	@bufs[i] (4096 bytes each).  A failed write may have written any
 *	prefix of the run.
 * @flush: make every completed write durable.
 * @destroy: release the backend (and any backend it wraps).
 *
 * Every call returns 0 or a negative errno.  The block cache only passes
 * ranges below &tw_backend.blocks, and never has two I/Os in flight for the
 * same block; calls for different blocks may come from many threads at
 * once, so a backend must be safe for that.
 */
struct tw_backend_ops {
	int (*read)(struct tw_backend *be, u64 blk, u32 n, void *buf);
	int (*write)(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs);
	int (*flush)(struct tw_backend *be);
	void (*destroy)(struct tw_backend *be);
};

/**
 * struct tw_backend - the part of a backend the block cache sees.  A
 * backend embeds it (usually first) and finds itself with container_of().
 * @ops: the operations
 * @blocks: device size in 4096-byte blocks
 * @name: for messages (a path, "ram", "fault(ram)", ...)
 */
struct tw_backend {
	const struct tw_backend_ops *ops;
	u64 blocks;
	char name[96];
};

#define TW_UDEV_RDONLY 0x1u /* open read-only; every write fails */
#define TW_UDEV_EXCL 0x2u /* block devices: O_EXCL (not mounted, not busy) */
#define TW_UDEV_DIRECT 0x4u /* bypass the kernel's page cache (O_DIRECT) */
#define TW_UDEV_NOCACHE 0x8u /* drop what passes through the page cache */

/**
 * tw_backend_file() - a regular file or block device, accessed with
 * pread/pwritev/fdatasync.  The size is the file size (for a block device
 * its BLKGETSIZE64) rounded down to whole blocks.
 * @path: the file
 * @flags: TW_UDEV_RDONLY, TW_UDEV_EXCL; how the kernel's page cache
 *	keeps the file: TW_UDEV_DIRECT (reads, and writes from aligned
 *	buffers, bypass it with O_DIRECT; writes from unaligned buffers go
 *	through it and are dropped after the next flush; a filesystem
 *	without O_DIRECT gets TW_UDEV_NOCACHE instead), TW_UDEV_NOCACHE
 *	(through it; a range read is dropped at once, written ones after the
 *	next flush), neither: it keeps what passed
 * @err: receives a negative errno on failure (may be NULL)
 *
 * Return: the backend, or NULL.
 */
struct tw_backend *tw_backend_file(const char *path, unsigned int flags,
				   int *err);

/**
 * tw_backend_file_fd() - the descriptor a file backend reads through the
 * page cache (for a home that moves file data itself, tw_read_runs()), or
 * -1 if @be is no file backend (a RAM backend, or a wrapper).  It stays
 * the backend's: do not close it.
 */
int tw_backend_file_fd(struct tw_backend *be);

/**
 * tw_backend_ram() - a zero-filled in-memory device of @blocks blocks.  Its
 * flush is a no-op.  Return: the backend, or NULL if out of memory.
 */
struct tw_backend *tw_backend_ram(u64 blocks);

/**
 * tw_backend_ram_data() - the memory behind a RAM backend (blocks * 4096
 * bytes), for tests that inspect or corrupt the "disk" directly.
 */
void *tw_backend_ram_data(struct tw_backend *be);

/* ------------------------------------------------------------------------ */
/* Devices (block cache)                                                    */
/* ------------------------------------------------------------------------ */

/**
 * tw_udev_from_backend() - put a block cache in front of @be.  The device
 * owns the backend from now on (also on failure, when it is destroyed).
 * Return: the device, or NULL if out of memory.
 */
struct tw_dev *tw_udev_from_backend(struct tw_backend *be);

/**
 * tw_udev_open() - open a file or block device; see tw_backend_file().
 * Return: the device, or NULL with *@err set.
 */
struct tw_dev *tw_udev_open(const char *path, unsigned int flags, int *err);

/** tw_udev_ram() - a RAM device of @blocks blocks; NULL if out of memory. */
struct tw_dev *tw_udev_ram(u64 blocks);

/** tw_udev_blocks() - the device size in 4096-byte blocks. */
u64 tw_udev_blocks(struct tw_dev *dev);

/** tw_udev_name() - the backend's name, for messages. */
const char *tw_udev_name(struct tw_dev *dev);

/** tw_udev_backend() - the backend behind a device (still owned by it). */
struct tw_backend *tw_udev_backend(struct tw_dev *dev);

/**
 * tw_udev_set_cache_limit() - cap the memory of cached blocks at @bytes
 * (rounded down to whole blocks; 0 keeps no unreferenced block cached).
 * Referenced buffers are never evicted, so the cap is exceeded while more
 * than that is referenced; dirty buffers are written before eviction.
 */
void tw_udev_set_cache_limit(struct tw_dev *dev, size_t bytes);

/**
 * tw_udev_drop_caches() - write back every dirty buffer, then forget every
 * unreferenced buffer (a cold cache, for benchmarks and tests).
 * Return: 0 or -EIO if a write failed (those buffers stay cached).
 */
int tw_udev_drop_caches(struct tw_dev *dev);

/**
 * tw_udev_close() - write back, flush and free the device and its backend.
 * Buffers still referenced are a bug of the caller: each is reported with
 * tw_log() and freed all the same.
 *
 * Return: 0; -EBUSY if buffers were still referenced; otherwise -EIO if the
 * writeback or the flush failed (dirty data was lost).
 */
int tw_udev_close(struct tw_dev *dev);

/**
 * struct tw_udev_stats - counters of a device since open or the last reset.
 * @reads: backend read calls, @read_blocks: blocks they read
 * @writes: backend write calls, @write_blocks: blocks they wrote
 * @flushes: backend flush calls
 * @hits: tw_buf_read() calls answered from the cache
 * @misses: tw_buf_read() calls that read the backend
 * @evictions: buffers dropped to stay under the memory limit
 * @cached: buffers in memory now, @dirty: of which dirty
 * @io_errors: failed backend calls
 * @data_reads, @data_writes: tw_dev_read_data() and tw_dev_write_data()
 *	calls (their backend calls count in @reads and @writes too)
 * @data_read_blocks, @data_write_blocks: blocks they read and wrote
 * @data_hits: blocks of those calls that had a cached buffer (copied from
 *	it on a read; dropped or replaced on a write)
 */
struct tw_udev_stats {
	u64 reads;
	u64 read_blocks;
	u64 writes;
	u64 write_blocks;
	u64 flushes;
	u64 hits;
	u64 misses;
	u64 evictions;
	u64 cached;
	u64 dirty;
	u64 io_errors;
	u64 data_reads;
	u64 data_read_blocks;
	u64 data_writes;
	u64 data_write_blocks;
	u64 data_hits;
};

/** tw_udev_get_stats() - copy the counters of @dev to @st. */
void tw_udev_get_stats(struct tw_dev *dev, struct tw_udev_stats *st);

/** tw_udev_reset_stats() - zero the counters (not cached/dirty). */
void tw_udev_reset_stats(struct tw_dev *dev);

/* ------------------------------------------------------------------------ */
/* Write recording, for crash-consistency tests                             */
/* ------------------------------------------------------------------------ */

/*
 * A write log is a sequence of records, each a block write (block number
 * and its 4096 bytes) or a flush, in the order the wrapped backend
 * completed them.  Writes between two flushes may reach a real disk in any
 * order; everything before a flush record had reached it when the flush
 * returned.  A multi-block write is logged as one record per block.
 *
 * The log lives in memory or in a file; both hold the same bytes, all
 * integers little-endian:
 *
 *   header, 32 bytes:
 *     0  magic "TWWLOG01"
 *     8  le32 format version (1)
 *    12  le32 block size (4096)
 *    16  le64 device size in blocks
 *    24  le64 zero
 *   then records, each a 16-byte head:
 *     0  le32 type: 1 = write, 2 = flush
 *     4  le32 zero
 *     8  le64 block number (0 for a flush)
 *   followed, for a write, by the block's 4096 bytes.
 *
 * Only writes and flushes that succeeded in the wrapped backend are
 * logged.  The header is written when a recorder is attached.
 */
struct tw_wlog;
struct tw_wlog_reader;

#define TW_WLOG_WRITE 1u
#define TW_WLOG_FLUSH 2u

/**
 * struct tw_wlog_rec - one record, as the reader returns it.
 * @type: TW_WLOG_WRITE or TW_WLOG_FLUSH
 * @seq: its index in the log, from 0
 * @blk: block number of a write
 * @data: 4096 bytes of a write; valid until the next tw_wlog_next()
 */
struct tw_wlog_rec {
	u32 type;
	u64 seq;
	u64 blk;
	const void *data;
};

/** tw_wlog_new_mem() - an empty in-memory log; NULL if out of memory. */
struct tw_wlog *tw_wlog_new_mem(void);

/**
 * tw_wlog_create() - an empty log in file @path (created or truncated).
 * Return: the log, or NULL with *@err set.
 */
struct tw_wlog *tw_wlog_create(const char *path, int *err);

/**
 * tw_wlog_free() - close and free a log.  The recorder that appends to it
 * must be gone (its device closed).  Return: 0, or the first error met
 * while appending to the log (then records are missing).
 */
int tw_wlog_free(struct tw_wlog *log);

/** tw_wlog_counts() - how many write and flush records @log holds. */
void tw_wlog_counts(struct tw_wlog *log, u64 *writes, u64 *flushes);

/**
 * tw_backend_recorder() - wrap @inner so that every successful block write
 * and flush is appended to @log.  The wrapper owns @inner (and destroys it
 * on failure); @log stays the caller's and must outlive the wrapper.  A log
 * can be attached to one recorder only.  I/O through the recorder is
 * serialized, so the log order is the order of completion.
 *
 * Return: the backend, or NULL if out of memory or @log is already used.
 */
struct tw_backend *tw_backend_recorder(struct tw_backend *inner,
				       struct tw_wlog *log);

/**
 * tw_wlog_reader_mem() - read @log (in memory or in a file) from its
 * start.  Records appended while reading are seen.
 * Return: the reader, or NULL with *@err set (-ENOMEM, -EUCLEAN if the log
 * has no header yet).
 */
struct tw_wlog_reader *tw_wlog_reader_mem(struct tw_wlog *log, int *err);

/**
 * tw_wlog_reader_open() - read the log file @path.
 * Return: the reader, or NULL with *@err set (-errno from open, -EUCLEAN
 * for a file that is not a write log).
 */
struct tw_wlog_reader *tw_wlog_reader_open(const char *path, int *err);

/** tw_wlog_reader_blocks() - the device size recorded in the header. */
u64 tw_wlog_reader_blocks(struct tw_wlog_reader *r);

/**
 * tw_wlog_next() - the next record.
 * Return: 1 with *@rec filled, 0 at the end of the log, or a negative
 * errno (-EUCLEAN for a truncated or malformed record, -EIO).
 */
int tw_wlog_next(struct tw_wlog_reader *r, struct tw_wlog_rec *rec);

/** tw_wlog_reader_close() - free a reader. */
void tw_wlog_reader_close(struct tw_wlog_reader *r);

/* ------------------------------------------------------------------------ */
/* Fault-injecting backend                                                  */
/* ------------------------------------------------------------------------ */

#define TW_IO_READ 0
#define TW_IO_WRITE 1
#define TW_IO_FLUSH 2

/**
 * tw_backend_fault() - wrap @inner so that chosen I/Os fail with -EIO.
 * Nothing is armed at first.  The wrapper owns @inner (and destroys it on
 * failure).  Reads and writes are counted in blocks, flushes in calls.
 * Return: the backend, or NULL if out of memory.
 */
struct tw_backend *tw_backend_fault(struct tw_backend *inner);

/**
 * tw_fault_be_fail_nth() - make the @n-th block read or write, or the
 * @n-th flush (@kind is TW_IO_*), counted from this call and starting at 1,
 * fail once with -EIO.  The blocks of a multi-block write before the
 * failing one are written.  @n == 0 disarms.
 */
void tw_fault_be_fail_nth(struct tw_backend *be, int kind, u64 n);

/**
 * tw_fault_be_die_after() - the device dies after @n more block writes:
 * those succeed (a multi-block write is cut at the limit), and from then
 * on every read, write and flush fails with -EIO.  @n == 0 kills it now.
 */
void tw_fault_be_die_after(struct tw_backend *be, u64 n);

/** tw_fault_be_reset() - disarm everything and bring the device back. */
void tw_fault_be_reset(struct tw_backend *be);

/** tw_fault_be_dead() - whether the device has died. */
bool tw_fault_be_dead(struct tw_backend *be);

/**
 * tw_fault_be_count() - blocks read or written, or flushes, that reached
 * the wrapped backend since the wrapper was made (@kind is TW_IO_*).
 */
u64 tw_fault_be_count(struct tw_backend *be, int kind);

/** tw_fault_be_failed() - I/O calls the wrapper failed on purpose. */
u64 tw_fault_be_failed(struct tw_backend *be);

/* ------------------------------------------------------------------------ */
/* Fault points (tw_fault_point() in the core)                              */
/* ------------------------------------------------------------------------ */

#define TW_FAULT_EIO 1 /* return -EIO */
#define TW_FAULT_HANG 2 /* never return (the thread sleeps forever) */
#define TW_FAULT_CRASH 3 /* dereference NULL: the process dies */
#define TW_FAULT_ACTION_MASK 0xff
#define TW_FAULT_ONCE 0x100 /* or-ed in: fire once, then disarm */

#define TW_FAULT_MAX_POINTS 32
#define TW_FAULT_NAME_MAX 47

/**
 * tw_fault_set() - arm the fault point @where (the name the core passes to
 * tw_fault_point(), for every device of the process): its first
 * @after_n_calls calls pass, every later one does @action (TW_FAULT_EIO,
 * _HANG or _CRASH, optionally | TW_FAULT_ONCE).  Re-arming a point resets
 * its call count.
 *
 * Return: 0, -EINVAL for a bad action or name, -ENOSPC if the table of
 * TW_FAULT_MAX_POINTS points is full.
 */
int tw_fault_set(const char *where, u64 after_n_calls, int action);

/**
 * tw_fault_set_spec() - arm fault points from a string such as
 * "commit:10:crash,write:0:eio-once": comma-separated
 * name:after_n_calls:action with action one of eio, hang, crash, each
 * optionally suffixed "-once".  For daemons' command lines.
 * Return: 0 or -EINVAL (then nothing of @spec is armed).
 */
int tw_fault_set_spec(const char *spec);

/** tw_fault_clear() - disarm @where (NULL: every point). */
void tw_fault_clear(const char *where);

/**
 * tw_fault_calls() - how often point @where was called since it was armed
 * (0 if it is not armed; a spent TW_FAULT_ONCE point still counts).
 */
u64 tw_fault_calls(const char *where);

/** tw_fault_fired() - how often the armed point @where did its action. */
u64 tw_fault_fired(const char *where);

/* ------------------------------------------------------------------------ */
/* Logging and memory accounting                                            */
/* ------------------------------------------------------------------------ */

/**
 * tw_log_hook_fn - receives every message that passes the level threshold
 * instead of stderr.  @msg has no prefix and no newline; it is valid during
 * the call only.  Called from any thread, concurrently.
 */
typedef void (*tw_log_hook_fn)(void *ctx, struct tw_dev *dev, int level,
			       const char *msg);

/**
 * tw_log_set_level() - print messages of @level and more severe (lower
 * numbers): TW_LOG_ERR, _WARN, _INFO (the default) or _DEBUG.
 * Return: the previous threshold.
 */
int tw_log_set_level(int level);

/**
 * tw_log_set_hook() - send messages to @fn (NULL: back to stderr, where
 * they are printed as "twinfs: <msg>", or "twinfs: <device>: <msg>" when
 * the core names a device).
 */
void tw_log_set_hook(tw_log_hook_fn fn, void *ctx);

/**
 * tw_mem_outstanding() - allocations made with tw_alloc() and not yet given
 * back to tw_free(): their number and the sum of their sizes (a non-zero
 * sum with a zero count means tw_free() was passed wrong sizes).
 */
void tw_mem_outstanding(u64 *count, s64 *bytes);

#endif /* TW_USER_H */
