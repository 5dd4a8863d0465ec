// SPDX-License-Identifier: GPL-2.0
/*
 * be_file.c - the file and block device backend: pread, pwritev, fdatasync.
 *
 * Layer: user-space environment, block backend.  Called by the block cache
 * (bcache.c) through struct tw_backend_ops; calls the C library and the
 * Linux system calls it names.
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
	bool rdonly;
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

static int file_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct file_backend *fb = to_fb(be);
	size_t left = (size_t)n * TW_BS;
	off_t off = (off_t)(blk << TW_UDEV_BLOCK_SHIFT);
	char *p = buf;
	ssize_t r;

	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	while (left) {
		r = pread(fb->fd, p, left, off);
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

static int file_write(struct tw_backend *be, u64 blk, u32 n,
		      const void *const *bufs)
{
	struct file_backend *fb = to_fb(be);
	struct iovec iov[FILE_MAX_IOV];
	off_t off;
	u32 done = 0, cnt, i;
	size_t skip = 0; /* bytes of bufs[done] already written */
	ssize_t r;

	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	if (fb->rdonly)
		return -EROFS;
	while (done < n) {
		cnt = n - done < FILE_MAX_IOV ? n - done : FILE_MAX_IOV;
		for (i = 0; i < cnt; i++) {
			iov[i].iov_base = (void *)bufs[done + i];
			iov[i].iov_len = TW_BS;
		}
		iov[0].iov_base = (char *)iov[0].iov_base + skip;
		iov[0].iov_len -= skip;
		off = (off_t)((blk + done) << TW_UDEV_BLOCK_SHIFT) +
		      (off_t)skip;
		r = pwritev(fb->fd, iov, (int)cnt, off);
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

static int file_flush(struct tw_backend *be)
{
	struct file_backend *fb = to_fb(be);

	if (fb->rdonly)
		return 0;
	if (fdatasync(fb->fd))
		return -errno;
	return 0;
}

static void file_destroy(struct tw_backend *be)
{
	struct file_backend *fb = to_fb(be);

	close(fb->fd);
	free(fb);
}

static const struct tw_backend_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
	.destroy = file_destroy,
};

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

	if (flags & ~(TW_UDEV_RDONLY | TW_UDEV_EXCL)) {
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
	fb->rdonly = flags & TW_UDEV_RDONLY;
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
