// SPDX-License-Identifier: GPL-2.0
/*
 * be_file.c - the file and block device backend: pread, pwritev, fdatasync,
 * and how the image is cached by the kernel below (TW_UDEV_DIRECT,
 * TW_UDEV_NOCACHE).
 *
 * Layer: user-space environment, block backend.  Called by the block cache
 * (bcache.c) through struct tw_backend_ops; calls the C library and the
 * Linux system calls it names.
 *
 * The kernel's page cache of the image: by default every block read or
 * written stays there as well, under the daemon's block cache (metadata)
 * and under the page cache of whoever reads the files (FUSE's).  Two ways
 * to keep it out:
 *
 *  - TW_UDEV_DIRECT: reads bypass it (O_DIRECT on a second descriptor;
 *    into an aligned bounce buffer if the caller's is not aligned as the
 *    file's filesystem wants), and so do writes from aligned buffers (the
 *    block cache's).  Writes from unaligned buffers (a FUSE request's
 *    data) go through it instead of a bounce copy and a synchronous
 *    device write: the copy into the page cache costs the same as the
 *    bounce copy, and the kernel writes them back in the background until
 *    the next flush waits for them.  After that flush they are clean and
 *    dropped (POSIX_FADV_DONTNEED on the file).
 *  - TW_UDEV_NOCACHE: everything goes through it; a range read is dropped
 *    at once, written ones after the next flush as above.
 *
 * Both descriptors are one file to the kernel, with one page cache, and
 * O_DIRECT is coherent with it (a direct read writes back dirty pages of
 * its range first, a direct write invalidates them), so a block written
 * through either is read right through either, and fdatasync() on one
 * makes both kinds of writes durable.
 */
#include "tw_user_int.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fs.h>

/* Longest run of blocks one pwritev() gets. */
#define FILE_MAX_IOV 256

struct file_backend {
	struct tw_backend be;
	int fd;
	int dfd; /* O_DIRECT descriptor, or -1 */
	size_t dio_align; /* memory alignment O_DIRECT wants */
	bool rdonly;
	bool nocache; /* drop the page cache of each range read */
	/* atomic: written through the page cache since the last flush, in
	 * a mode that drops it after the flush */
	int drop_after_flush;
};

static struct file_backend *to_fb(struct tw_backend *be)
{
	return tw_container_of(be, struct file_backend, be);
}

void tw_backend_set_name(struct tw_backend *be, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(be->name, sizeof(be->name), fmt, ap);
	va_end(ap);
}

static int pread_all(int fd, void *buf, size_t left, off_t off)
{
	char *p = buf;
	ssize_t r;

	while (left) {
		r = pread(fd, p, left, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		p += r;
		off += r;
		left -= (size_t)r;
	}
	return 0;
}

static bool dio_aligned(const struct file_backend *fb, const void *p)
{
	return !((uintptr_t)p & (fb->dio_align - 1));
}

static void drop_range(struct file_backend *fb, off_t off, size_t len)
{
	if (fb->nocache)
		posix_fadvise(fb->fd, off, (off_t)len, POSIX_FADV_DONTNEED);
}

/*
 * The bounce buffer of O_DIRECT reads into unaligned memory: one per
 * thread, FILE_MAX_IOV blocks, kept for the thread's life (allocating
 * and faulting in a fresh one per call cost more than the copy).
 */
static pthread_key_t bounce_key;
static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;

static void bounce_key_init(void)
{
	pthread_key_create(&bounce_key, free);
}

static char *bounce_buf(void)
{
	void *p;

	pthread_once(&bounce_once, bounce_key_init);
	p = pthread_getspecific(bounce_key);
	if (p)
		return p;
	if (posix_memalign(&p, TW_BS, (size_t)FILE_MAX_IOV * TW_BS))
		return NULL;
	if (pthread_setspecific(bounce_key, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int file_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct file_backend *fb = to_fb(be);
	size_t len = (size_t)n * TW_BS;
	off_t off = (off_t)(blk << TW_UDEV_BLOCK_SHIFT);
	char *tmp;
	int err;

	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	if (fb->dfd < 0) {
		err = pread_all(fb->fd, buf, len, off);
		drop_range(fb, off, len);
		return err;
	}
	if (dio_aligned(fb, buf))
		return pread_all(fb->dfd, buf, len, off);
	tmp = bounce_buf();
	if (!tmp)
		return -ENOMEM;
	for (err = 0; len && !err;) {
		size_t k = len < (size_t)FILE_MAX_IOV * TW_BS ?
				   len :
				   (size_t)FILE_MAX_IOV * TW_BS;

		err = pread_all(fb->dfd, tmp, k, off);
		if (!err)
			memcpy(buf, tmp, k);
		buf = (char *)buf + k;
		off += (off_t)k;
		len -= k;
	}
	return err;
}

/* pwritev() the @n blocks of @bufs at @blk on descriptor @fd. */
static int pwritev_blocks(int fd, u64 blk, u32 n, const void *const *bufs)
{
	struct iovec iov[FILE_MAX_IOV];
	off_t off;
	u32 done = 0, cnt, i, nv;
	size_t skip = 0; /* bytes of bufs[done] already written */
	ssize_t r;

	while (done < n) {
		cnt = n - done < FILE_MAX_IOV ? n - done : FILE_MAX_IOV;
		/* blocks adjacent in memory too (file data) share a vector */
		for (i = 0, nv = 0; i < cnt; i++) {
			const char *p = bufs[done + i];

			if (nv && (const char *)iov[nv - 1].iov_base +
						  iov[nv - 1].iov_len ==
					  p) {
				iov[nv - 1].iov_len += TW_BS;
				continue;
			}
			iov[nv].iov_base = (void *)p;
			iov[nv].iov_len = TW_BS;
			nv++;
		}
		iov[0].iov_base = (char *)iov[0].iov_base + skip;
		iov[0].iov_len -= skip;
		off = (off_t)((blk + done) << TW_UDEV_BLOCK_SHIFT) +
		      (off_t)skip;
		r = pwritev(fd, iov, (int)nv, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		/* Advance over what was written, possibly part of a block. */
		r += (ssize_t)skip;
		done += (u32)(r / TW_BS);
		skip = (size_t)(r % TW_BS);
	}
	return 0;
}

static int file_write(struct tw_backend *be, u64 blk, u32 n,
		      const void *const *bufs)
{
	struct file_backend *fb = to_fb(be);
	u32 i;

	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	if (fb->rdonly)
		return -EROFS;
	if (fb->dfd >= 0) {
		for (i = 0; i < n && dio_aligned(fb, bufs[i]); i++)
			;
		if (i == n)
			return pwritev_blocks(fb->dfd, blk, n, bufs);
	}
	if (fb->dfd >= 0 || fb->nocache)
		__atomic_store_n(&fb->drop_after_flush, 1, __ATOMIC_RELAXED);
	return pwritev_blocks(fb->fd, blk, n, bufs);
}

static int file_flush(struct tw_backend *be)
{
	struct file_backend *fb = to_fb(be);
	int drop;

	if (fb->rdonly)
		return 0;
	/* taken before the sync: a write after it is dropped next time */
	drop = __atomic_exchange_n(&fb->drop_after_flush, 0, __ATOMIC_RELAXED);
	if (fdatasync(fb->fd))
		return -errno;
	/* clean now: out of the page cache (what other writes dirtied
	 * meanwhile stays, and goes after the next flush) */
	if (drop)
		posix_fadvise(fb->fd, 0, 0, POSIX_FADV_DONTNEED);
	return 0;
}

static void file_destroy(struct tw_backend *be)
{
	struct file_backend *fb = to_fb(be);

	close(fb->fd);
	if (fb->dfd >= 0)
		close(fb->dfd);
	free(fb);
}

static const struct tw_backend_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.destroy = file_destroy,
};

/*
 * The O_DIRECT descriptor of TW_UDEV_DIRECT and the memory alignment it
 * needs (statx's STATX_DIOALIGN; 4096, which every filesystem accepts,
 * if the kernel does not say).  A file whose filesystem refuses O_DIRECT
 * (EINVAL) is served through the page cache, dropping each range after
 * use (as TW_UDEV_NOCACHE).
 */
static void open_direct(struct file_backend *fb, const char *path, int oflags)
{
	size_t align = TW_BS;
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (!statx(fb->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_mem_align &&
	    stx.stx_dio_offset_align && stx.stx_dio_offset_align <= TW_BS &&
	    !(TW_BS % stx.stx_dio_offset_align))
		align = stx.stx_dio_mem_align;
#endif
	fb->dfd = open(path, oflags | O_DIRECT);
	if (fb->dfd < 0) {
		tw_log(NULL, TW_LOG_DEBUG,
		       "%s: no O_DIRECT (%s): dropping cached ranges instead",
		       path, strerror(errno));
		fb->nocache = true;
		return;
	}
	fb->dio_align = align;
}

/**
 * tw_backend_file() - open @path for block I/O.  O_EXCL is only applied to
 * block devices (for a regular file it means nothing without O_CREAT).
 */
struct tw_backend *tw_backend_file(const char *path, unsigned int flags,
				   int *err)
{
	struct file_backend *fb;
	struct stat st;
	u64 bytes;
	int oflags, fd, e;

	if (flags & ~(TW_UDEV_RDONLY | TW_UDEV_EXCL | TW_UDEV_DIRECT |
		      TW_UDEV_NOCACHE)) {
		e = -EINVAL;
		goto fail;
	}
	oflags = (flags & TW_UDEV_RDONLY ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if ((flags & TW_UDEV_EXCL) && !stat(path, &st) && S_ISBLK(st.st_mode))
		oflags |= O_EXCL;
	fd = open(path, oflags);
	if (fd < 0) {
		e = -errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		e = -errno;
		goto fail_close;
	}
	if (S_ISREG(st.st_mode)) {
		bytes = (u64)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes)) {
			e = -errno;
			goto fail_close;
		}
	} else {
		e = -ENODEV;
		goto fail_close;
	}
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		e = -ENOMEM;
		goto fail_close;
	}
	fb->be.ops = &file_ops;
	fb->be.blocks = bytes >> TW_UDEV_BLOCK_SHIFT;
	tw_backend_set_name(&fb->be, "%s", path);
	fb->fd = fd;
	fb->dfd = -1;
	fb->rdonly = flags & TW_UDEV_RDONLY;
	fb->nocache = flags & TW_UDEV_NOCACHE;
	/* the second descriptor is not exclusive: O_EXCL is ours already */
	if (flags & TW_UDEV_DIRECT)
		open_direct(fb, path, oflags & ~O_EXCL);
	if (bytes % TW_BS)
		tw_log(NULL, TW_LOG_DEBUG,
		       "%s: ignoring %llu bytes past the last whole block",
		       path, (unsigned long long)(bytes % TW_BS));
	if (err)
		*err = 0;
	return &fb->be;

fail_close:
	close(fd);
fail:
	if (err)
		*err = e;
	return NULL;
}

/**
 * tw_backend_file_fd() - see tw_user.h: the buffered descriptor.
 */
int tw_backend_file_fd(struct tw_backend *be)
{
	return be->ops == &file_ops ? to_fb(be)->fd : -1;
}
