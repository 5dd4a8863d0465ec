// SPDX-License-Identifier: GPL-2.0
/*
 * recpreload.c - librecpreload.so, a write recorder for an unmodified
 * program: LD_PRELOAD it into twinfs-fuse and every block write to the
 * image and every fdatasync/fsync of it is appended to a write log, in the
 * format of the user-space environment's recorder (user/tw_user.h,
 * "TWWLOG01"), in the order the calls completed.
 *
 * Layer: tests (tests/crash).  Calls the C library only (dlsym).
 *
 *   TWINFS_RECORD_IMAGE=disk.img TWINFS_RECORD_LOG=log.twwlog \
 *   LD_PRELOAD=.../librecpreload.so twinfs-fuse disk.img /mnt -f
 *
 * The daemon's file backend (user/be_file.c) writes with pwritev() and
 * makes writes durable with fdatasync(); this library sits exactly where
 * tw_backend_recorder() sits, between the block cache and the file, so the
 * log is the same.  Calls on the image are serialized while they are
 * logged, as in the recorder.  The log grows as calls complete, so its
 * size is a position in it that a workload can read between operations.
 */
/* define both pwritev and pwritev64 ourselves (64-bit: the same ABI) */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define BS 4096u

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static off_t log_size;
static dev_t img_dev;
static ino_t img_ino;
static int broken;

static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fdatasync)(int);
static int (*real_fsync)(int);

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static void append(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len && !broken) {
		ssize_t r = real_pwrite(log_fd, p, len, log_size);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			broken = 1;
			fprintf(stderr,
				"librecpreload: writing the log failed: records are missing\n");
			return;
		}
		p += r;
		len -= (size_t)r;
		log_size += r;
	}
}

__attribute__((constructor)) static void init(void)
{
	const char *img = getenv("TWINFS_RECORD_IMAGE");
	const char *logp = getenv("TWINFS_RECORD_LOG");
	uint8_t hdr[32];
	struct stat st;

	real_pwritev = dlsym(RTLD_NEXT, "pwritev64");
	if (!real_pwritev)
		real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
	if (!real_pwrite)
		real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	if (!img || !logp)
		return;
	if (stat(img, &st)) {
		fprintf(stderr, "librecpreload: %s: %s\n", img,
			strerror(errno));
		return;
	}
	img_dev = st.st_dev;
	img_ino = st.st_ino;
	log_fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (log_fd < 0) {
		fprintf(stderr, "librecpreload: %s: %s\n", logp,
			strerror(errno));
		return;
	}
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "TWWLOG01", 8);
	put_le32(hdr + 8, 1);
	put_le32(hdr + 12, BS);
	put_le64(hdr + 16, (uint64_t)st.st_size / BS);
	append(hdr, sizeof(hdr));
}

static int is_image(int fd)
{
	struct stat st;

	return log_fd >= 0 && fd != log_fd && !fstat(fd, &st) &&
	       S_ISREG(st.st_mode) && st.st_dev == img_dev &&
	       st.st_ino == img_ino;
}

/* Log the first @done bytes of a write of @iov at @off, block by block. */
static void log_write(const struct iovec *iov, int cnt, off_t off, size_t done)
{
	uint8_t head[16], blk[BS];
	size_t have = 0, skip = 0;
	int i = 0;

	if (off % BS) {
		fprintf(stderr,
			"librecpreload: unaligned write at %lld not logged\n",
			(long long)off);
		broken = 1;
		return;
	}
	while (done >= BS) {
		/* gather one block from the iovecs */
		have = 0;
		while (have < BS && i < cnt) {
			size_t n = iov[i].iov_len - skip;

			if (n > BS - have)
				n = BS - have;
			memcpy(blk + have,
			       (const uint8_t *)iov[i].iov_base + skip, n);
			have += n;
			skip += n;
			if (skip == iov[i].iov_len) {
				i++;
				skip = 0;
			}
		}
		memset(head, 0, sizeof(head));
		put_le32(head, 1);
		put_le64(head + 8, (uint64_t)off / BS);
		append(head, sizeof(head));
		append(blk, BS);
		off += BS;
		done -= BS;
	}
}

static void log_flush(void)
{
	uint8_t head[16];

	memset(head, 0, sizeof(head));
	put_le32(head, 2);
	append(head, sizeof(head));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t r;

	if (!is_image(fd))
		return real_pwritev(fd, iov, cnt, off);
	pthread_mutex_lock(&lock);
	r = real_pwritev(fd, iov, cnt, off);
	if (r > 0)
		log_write(iov, cnt, off, (size_t)r);
	pthread_mutex_unlock(&lock);
	return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev64(fd, iov, cnt, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	ssize_t r;

	if (!is_image(fd))
		return real_pwrite(fd, buf, len, off);
	pthread_mutex_lock(&lock);
	r = real_pwrite(fd, buf, len, off);
	if (r > 0)
		log_write(&iov, 1, off, (size_t)r);
	pthread_mutex_unlock(&lock);
	return r;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite64(fd, buf, len, off);
}

static int sync_common(int fd, int (*fn)(int))
{
	int r;

	if (!is_image(fd))
		return fn(fd);
	pthread_mutex_lock(&lock);
	r = fn(fd);
	if (!r)
		log_flush();
	pthread_mutex_unlock(&lock);
	return r;
}

int fdatasync(int fd)
{
	return sync_common(fd, real_fdatasync);
}

int fsync(int fd)
{
	return sync_common(fd, real_fsync);
}
