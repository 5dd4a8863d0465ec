/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_env.h - the environment contract of the twinfs core.
 *
 * Layer: contract between common/ (the core) and its two homes.  The core's
 * .c files include this header and tw_format.h, nothing else.  Everything
 * that differs between the Linux kernel and a user-space process sits behind
 * the declarations below:
 *
 *   - basic types and a few string functions,
 *   - block buffers on one block device, and the device flush,
 *   - file data moved in runs of blocks without buffers, coherent with
 *     them,
 *   - memory allocation (with the size given back on free),
 *   - sleeping locks (mutexes and reader/writer semaphores),
 *   - wall-clock time as signed 64-bit nanoseconds,
 *   - logging and assertions,
 *   - the hook that writes a file's page-cache data before a commit.
 *
 * Caller credentials are not part of the environment: the core never asks
 * "who is current"; every operation that needs them takes a struct tw_cred.
 *
 * The kernel implementation lives in kmod/, the user-space one in user/.
 * Binding is at link time: there is no table of function pointers.
 *
 * In user space the core is compiled with -ffreestanding -nostdinc, so this
 * header must not include any system header unless __KERNEL__ is defined.
 */
#ifndef TW_ENV_H
#define TW_ENV_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/stddef.h>
#include <linux/compiler.h>
#elif defined(TW_ENV_HOSTED)
/*
 * Hosted C (user/, tools/, fusefs/, tests): the same types, taken from the
 * C library so that its headers can be included before or after this one.
 * The static asserts check that they are the very types the freestanding
 * core is compiled with, so both sides of the link agree on the ABI.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <errno.h>
#include <sys/types.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
_Static_assert(_Generic((u64)0, __UINT64_TYPE__ : 1, default : 0) &&
		       _Generic((s64)0, __INT64_TYPE__ : 1, default : 0) &&
		       _Generic((size_t)0, __SIZE_TYPE__ : 1, default : 0) &&
		       _Generic((ssize_t)0, __PTRDIFF_TYPE__ : 1, default : 0),
	       "hosted types differ from the freestanding core's");
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
#else
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT16_TYPE__ s16;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ssize_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)
#define offsetof(t, m) __builtin_offsetof(t, m)
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define fallthrough __attribute__((__fallthrough__))

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* Linux errno values; identical on every architecture twinfs targets. */
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define EXDEV 18
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EFBIG 27
#define ENOSPC 28
#define EROFS 30
#define EMLINK 31
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define ENODATA 61
#define EOVERFLOW 75
#define EBADMSG 74
#define EOPNOTSUPP 95
#define ESTALE 116
#define EUCLEAN 117
#endif /* __KERNEL__ */

/* ------------------------------------------------------------------------ */
/* Block buffers                                                            */
/* ------------------------------------------------------------------------ */

/*
 * A block device as the environment sees it.  The kernel passes its
 * struct super_block (whose s_bdev is the device); user space passes its
 * block cache.  The core only ever hands the pointer back.
 */
struct tw_dev;

/*
 * A cached 4096-byte block.  Opaque: the kernel's is a struct buffer_head,
 * user space has its own.  A buffer stays valid and at the same address
 * until released; the environment refcounts it.
 */
struct tw_buf;

/**
 * tw_buf_read() - get a block's buffer, reading it from the device if the
 * cached copy is not up to date.
 * @dev: the device
 * @blk: block number, must be below the device size given at mount
 * @out: receives the buffer on success
 *
 * Return: 0 or a negative errno (-EIO on a failed read, -ENOMEM).
 */
int tw_buf_read(struct tw_dev *dev, u64 blk, struct tw_buf **out);

/**
 * tw_buf_get() - get a block's buffer without reading the device.  Used for
 * blocks the caller is about to overwrite completely; the contents are
 * unspecified until the caller fills them.  From this call on the buffer
 * counts as up to date: a later tw_buf_read() of the block returns these
 * contents and must not read the device over them (the kernel sets
 * BH_Uptodate).  The caller fills the whole block before anyone else may
 * read it.
 */
int tw_buf_get(struct tw_dev *dev, u64 blk, struct tw_buf **out);

/** tw_buf_data() - the 4096 bytes of a buffer. */
void *tw_buf_data(struct tw_buf *b);

/** tw_buf_blkno() - the block number a buffer caches. */
u64 tw_buf_blkno(struct tw_buf *b);

/**
 * tw_buf_verified() - whether the core has checked this buffer's contents
 * (magic, checksum, location) since they were last read from the device.
 * The environment clears the mark whenever it (re)reads the block; the core
 * sets it with tw_buf_set_verified() after checking, or after filling a
 * buffer from tw_buf_get().  This keeps checksum verification to once per
 * read from the device instead of once per access.
 */
bool tw_buf_verified(struct tw_buf *b);
void tw_buf_set_verified(struct tw_buf *b);

/**
 * tw_buf_mark_dirty() - the buffer's contents must reach the device some
 * time after this call (at the latest at tw_dev_writeback()).  The core
 * never marks a journaled metadata buffer dirty before its transaction has
 * committed: that is what makes the journal write-ahead.
 */
void tw_buf_mark_dirty(struct tw_buf *b);

/**
 * tw_buf_write() - write the buffer to the device now and wait for the
 * write to complete.  Completion is not durability: see tw_dev_flush().
 *
 * Return: 0 or -EIO.
 */
int tw_buf_write(struct tw_buf *b);

/** tw_buf_release() - drop the reference taken by read or get. */
void tw_buf_release(struct tw_buf *b);

/**
 * tw_dev_writeback() - write every dirty buffer of the device and wait.
 * Return: 0 or -EIO if any write failed.
 */
int tw_dev_writeback(struct tw_dev *dev);

/**
 * tw_dev_flush() - make every completed write durable (a cache flush).
 * Return: 0 or -EIO.
 */
int tw_dev_flush(struct tw_dev *dev);

/*
 * File data without block buffers.  tw_read() and tw_write() move whole
 * blocks of file data between the device and the caller's memory in runs
 * found through the block map, as the kernel's address-space operations
 * do; the block buffers above are for metadata (and for the partial blocks
 * of a write, which need a read-modify-write).  The two calls below keep
 * the two views of a block coherent: the caller holds the lock of the
 * inode the blocks belong to, so nobody else reads or writes them through
 * buffers meanwhile, but a buffer of such a block may still be cached from
 * before (a partial write, or the block's earlier life as metadata or as
 * another file's data) and may be dirty.
 */

/**
 * tw_dev_read_data() - read @n blocks starting at @blk into @dst (@n *
 * 4096 bytes, any alignment).  A block whose buffer is cached and up to
 * date is copied from the buffer (it may be dirty: newer than the device);
 * the others are read from the device, adjacent ones in one request.
 * @blk + @n must not pass the device size given at mount.
 *
 * Return: 0 or a negative errno (-EIO on a failed read).
 */
int tw_dev_read_data(struct tw_dev *dev, u64 blk, u32 n, void *dst);

/**
 * tw_dev_write_data() - write @n blocks starting at @blk from @src (@n *
 * 4096 bytes, any alignment) to the device and wait for the writes to
 * complete (completion is not durability: see tw_dev_flush()).  A cached
 * buffer of any of these blocks is dropped or given the new contents and
 * made clean, so that no later writeback of an older buffer can overwrite
 * them and no later tw_buf_read() returns older bytes.  An ordered-mode
 * caller writes a new block's data with this before the transaction that
 * links the block ends its handle: the commit's first flush then covers
 * the data.
 *
 * Return: 0 or a negative errno (-EIO: some of the blocks may have been
 * written).
 */
int tw_dev_write_data(struct tw_dev *dev, u64 blk, u32 n, const void *src);

/**
 * tw_dev_sync_data() - make the device hold the newest contents of the
 * @n blocks from @blk: write (and wait for) the cached buffers among them
 * that are dirty.  For a home that reads file data from the device by
 * itself (tw_read_runs()).
 *
 * Return: 0 or -EIO.
 */
int tw_dev_sync_data(struct tw_dev *dev, u64 blk, u32 n);

/**
 * tw_dev_write_file_data() - write and wait for the page-cache data of
 * inode @ino (0: of every inode) before a journal commit that makes blocks
 * newly allocated to it visible.  The core calls this for every inode that
 * tw_bmap() allocated blocks for in the committing transaction.  In user
 * space the core writes file data itself (tw_dev_write_data() inside the
 * allocating handle, partial blocks as dirty buffers that the commit
 * writes), so this is a no-op there; the kernel writes the inode's dirty
 * pages.
 *
 * Return: 0 or a negative errno.
 */
int tw_dev_write_file_data(struct tw_dev *dev, u64 ino);

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * tw_alloc() - allocate @size bytes, zeroed.  May sleep.  Sizes above a
 * page may come from a virtually contiguous allocator.
 * Return: the memory, or NULL.
 */
void *tw_alloc(size_t size);

/** tw_free() - free memory from tw_alloc(); @size is the size asked for. */
void tw_free(void *p, size_t size);

/* ------------------------------------------------------------------------ */
/* Sleeping locks                                                           */
/* ------------------------------------------------------------------------ */

struct tw_mutex;
struct tw_rwsem;

/** tw_mutex_new() - allocate an unlocked mutex; NULL on failure. */
struct tw_mutex *tw_mutex_new(void);
void tw_mutex_free(struct tw_mutex *m);
void tw_mutex_lock(struct tw_mutex *m);
void tw_mutex_unlock(struct tw_mutex *m);

/** tw_rwsem_new() - allocate an unlocked reader/writer semaphore. */
struct tw_rwsem *tw_rwsem_new(void);
void tw_rwsem_free(struct tw_rwsem *s);
void tw_down_read(struct tw_rwsem *s);
void tw_up_read(struct tw_rwsem *s);
void tw_down_write(struct tw_rwsem *s);
void tw_up_write(struct tw_rwsem *s);

/* ------------------------------------------------------------------------ */
/* Time, logging, assertions                                                */
/* ------------------------------------------------------------------------ */

/** tw_now() - wall-clock time in nanoseconds since the Unix epoch. */
s64 tw_now(void);

#define TW_LOG_ERR 3
#define TW_LOG_WARN 4
#define TW_LOG_INFO 6
#define TW_LOG_DEBUG 7

/**
 * tw_log() - print a message about device @dev (may be NULL).  printf
 * format, without a trailing newline.
 */
__printf(3, 4) void tw_log(struct tw_dev *dev, int level, const char *fmt, ...);

/**
 * tw_assert_fail() - a core invariant does not hold.  This is a bug in the
 * core, never a consequence of on-disk contents (those give -EUCLEAN).  The
 * kernel warns once; user space aborts so that tests and fuzzers see it.
 */
void tw_assert_fail(const char *expr, const char *file, int line);

#define tw_assert(e)                                            \
	do {                                                    \
		if (unlikely(!(e)))                             \
			tw_assert_fail(#e, __FILE__, __LINE__); \
	} while (0)

/* ------------------------------------------------------------------------ */
/* Fault injection                                                          */
/* ------------------------------------------------------------------------ */

/**
 * tw_fault_point() - called by the core at named points (e.g. "write",
 * "commit").  The environment may decide to fail (return a negative errno),
 * hang or crash there, for the fault-isolation and crash experiments.
 * Return: 0 normally.
 */
int tw_fault_point(struct tw_dev *dev, const char *where);

#endif /* TW_ENV_H */
