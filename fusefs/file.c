// SPDX-License-Identifier: GPL-2.0
/*
 * file.c - the FUSE operations on regular files of twinfs-fuse: open,
 * create, read, write, flush, release, fsync, fallocate.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the helpers
 * of ops.h, the device API of the user-space environment (tw_user.h: the
 * image's descriptor, for splice), libfuse3's low-level API and the C
 * library.
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
/* ---- buffers ---- */

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

struct tbuf {
	size_t size;
	void *data; /* page-aligned, for an image opened with O_DIRECT */
};

static void buf_free(void *p)
{
	struct tbuf *b = p;

	if (b)
		free(b->data);
	free(b);
}

static void buf_key_init(void)
{
	pthread_key_create(&buf_key, buf_free);
}

/* A per-thread, page-aligned buffer of at least @size bytes. */
static void *thread_buf(size_t size)
{
	struct tbuf *b;

	pthread_once(&buf_once, buf_key_init);
	b = pthread_getspecific(buf_key);
	if (b && b->size >= size)
		return b->data;
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		pthread_setspecific(buf_key, b);
	}
	free(b->data);
	b->data = NULL;
	b->size = 0;
	if (posix_memalign(&b->data, 4096, size ? size : 1))
		return NULL;
	b->size = size;
	return b->data;
}

/* ---- files ---- */

static void tf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	/* as a read-only kernel filesystem answers (remount.c) */
	if ((fi->flags & O_ACCMODE) != O_RDONLY && tf_is_ro(s)) {
		tf_reply_err(req, EROFS);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = s->cfg->keep_cache;
	tf_iopen(s->itab, ino);
	if (fuse_reply_open(req, fi))
		tf_released(s, ino);
}

static void tf_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct fuse_entry_param e;
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	tf_cred_of(req, &cred);
	mode = tf_new_mode(req, parent, TW_S_IFREG | (mode & 07777));
	do {
		err = tw_mknod(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, 0, &a);
	} while (!retried++ && tf_retry_enospc(s, err));
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	tf_fill_entry(s, &a, &e);
	err = tf_iref(s->itab, a.ino, 1);
	if (err) {
		tf_reply_err(req, err);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = s->cfg->keep_cache;
	tf_iopen(s->itab, a.ino);
	if (fuse_reply_create(req, &e, fi)) {
		tf_released(s, a.ino);
		tf_unref(s, a.ino, 1);
	}
}

/* ---- reading ---- */

/* Runs of one spliced read: enough for any unfragmented 1 MiB read; a
 * more fragmented one is read into memory instead (tw_read_runs()). */
#define SPLICE_RUNS 64

static void *zeros;
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static void zeros_init(void)
{
	zeros = calloc(1, TF_MAX_IO);
}

struct splice_read {
	fuse_req_t req;
	int fd;
	bool replied;
};

/*
 * Called by the core with the file locked: reply with the image's ranges
 * (FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK: libfuse splices them from the image
 * into /dev/fuse, or reads them into memory where it cannot splice) and
 * zeros for holes.  The lock keeps the blocks the file's until the reply
 * has taken their bytes.
 */
static ssize_t reply_runs(void *ctx, const struct tw_data_run *runs, u32 n,
			  u64 total)
{
	struct splice_read *sr = ctx;
	/* a bufvec of n buffers: its buf[] is a trailing array, reached
	 * through a pointer (not a struct member of fixed size) */
	_Alignas(struct fuse_bufvec) char
		space[sizeof(struct fuse_bufvec) +
		      SPLICE_RUNS * sizeof(struct fuse_buf)];
	struct fuse_bufvec *bv = (struct fuse_bufvec *)space;
	struct fuse_buf *b;
	u32 i;
	int err;

	memset(space, 0, sizeof(space));
	bv->count = n ? n : 1;
	bv->buf[0].mem = zeros; /* (an empty reply) */
	for (i = 0; i < n; i++) {
		b = &bv->buf[i];
		b->size = (size_t)runs[i].len;
		if (runs[i].dev_off == TW_RUN_HOLE) {
			b->mem = zeros;
		} else {
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
			b->fd = sr->fd;
			b->pos = (off_t)runs[i].dev_off;
		}
	}
	err = fuse_reply_data(sr->req, bv, FUSE_BUF_SPLICE_MOVE);
	sr->replied = true;
	return err ? err : (ssize_t)total;
}

/*
 * With -o splice, from the image to /dev/fuse without passing through the
 * daemon's memory (docs/fuse.md, "The data path").  Returns false if the
 * read must take the other way (no image descriptor, no zero buffer, too
 * fragmented); true once the request is answered.
 */
static bool read_spliced(struct tf_state *s, fuse_req_t req, fuse_ino_t ino,
			 size_t size, off_t off)
{
	struct tw_data_run runs[SPLICE_RUNS];
	struct splice_read sr = { req, -1, false };
	ssize_t n;

	sr.fd = tw_backend_file_fd(tw_udev_backend(s->dev));
	pthread_once(&zeros_once, zeros_init);
	if (sr.fd < 0 || !zeros || size > TF_MAX_IO)
		return false;
	n = tw_read_runs(s->fs, ino, (u64)off, size, runs, SPLICE_RUNS,
			 reply_runs, &sr);
	if (n == -E2BIG)
		return false;
	/* an error before the reply; after it, libfuse has the request */
	if (n < 0 && !sr.replied)
		tf_reply_err(req, (int)n);
	return true;
}

static void tf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	void *buf;
	ssize_t n;

	if (off < 0) {
		tf_reply_err(req, EINVAL);
		return;
	}
	if (s->cfg->splice && read_spliced(s, req, ino, size, off))
		return;
	/* one copy: the core reads whole blocks from the image straight
	 * into this buffer (page-aligned, for image_cache=direct) */
	buf = thread_buf(size);
	if (!buf) {
		tf_reply_err(req, ENOMEM);
		return;
	}
	n = tw_read(s->fs, ino, (u64)off, buf, size);
	if (n < 0) {
		tf_reply_err(req, (int)n);
		return;
	}
	bv.buf[0].mem = buf;
	bv.buf[0].size = (size_t)n;
	fuse_reply_data(req, &bv, s->cfg->splice ? FUSE_BUF_SPLICE_MOVE : 0);
}

/*
 * A direct write has changed @ino's data under the kernel's page cache.
 * The kernel dropped the range's cached pages before it sent the write,
 * but a buffered read served by another worker thread meanwhile may have
 * brought the old bytes back, and for an asynchronous write nothing drops
 * them afterwards.  Expire the inode's attributes before the write is
 * answered: the next buffered read asks for them again (the kernel does
 * so for every read, FUSE_CAP_AUTO_INVAL_DATA), sees the new mtime and
 * drops the cached pages.  Only the attributes: invalidating pages here
 * would wait for page locks held by reads that need a worker thread.
 * With the writeback cache the kernel keeps its own mtime and would not
 * drop the pages (docs/fuse.md).
 */
static void direct_written(struct tf_state *s, u64 ino)
{
	int err = fuse_lowlevel_notify_inval_inode(s->se, ino, -1, 0);

	if (err && err != -ENOENT)
		tf_logf(TW_LOG_WARN, "inode %llu: cannot expire attributes: %s",
			(unsigned long long)ino, strerror(-err));
}

static void tf_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	int retried = 0;
	ssize_t n;

	if (off < 0) {
		tf_reply_err(req, EINVAL);
		return;
	}
	do {
		n = tw_write(s->fs, ino, (u64)off, buf, size);
	} while (!retried++ && tf_retry_enospc(s, n));
	if (n < 0) {
		tf_reply_err(req, (int)n);
		return;
	}
	if (n > 0 && (fi->flags & O_DIRECT) && s->cfg->attr_timeout > 0)
		direct_written(s, ino);
	fuse_reply_write(req, (size_t)n);
}

/*
 * With splice, the data of a WRITE may arrive in a pipe: copy it out into a
 * per-thread buffer.  Data already in memory goes to the core as it is,
 * which writes whole blocks straight from it to the image.
 */
static void tf_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
			 off_t off, struct fuse_file_info *fi)
{
	size_t size = fuse_buf_size(in);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	const struct fuse_buf *b0 = &in->buf[in->idx];
	ssize_t n;

	if (in->count - in->idx == 1 && !(b0->flags & FUSE_BUF_IS_FD)) {
		tf_write(req, ino, (const char *)b0->mem + in->off, size, off,
			 fi);
		return;
	}
	dst.buf[0].mem = thread_buf(size);
	if (!dst.buf[0].mem) {
		tf_reply_err(req, ENOMEM);
		return;
	}
	n = fuse_buf_copy(&dst, in, 0);
	if (n < 0) {
		tf_reply_err(req, (int)n);
		return;
	}
	tf_write(req, ino, dst.buf[0].mem, (size_t)n, off, fi);
}

static void tf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* data is in the daemon's cache already; close() asks no more */
	tf_reply_err(req, 0);
}

void tf_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	tf_reclaim_begin(s);
	tf_released(s, ino);
	tf_reclaim_end(s);
	tf_reply_err(req, 0);
}

void tf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
	      struct fuse_file_info *fi)
{
	tf_reply_err(req, tw_fsync(ST(req)->fs, ino, datasync));
}

/*
 * fallocate(2): the core's modes (tw_fallocate()).  FUSE has no fiemap
 * (docs/fuse.md).  The kernel's FUSE client drops its cached pages of a
 * punched range itself and sets the new size of a growing mode 0.
 */
static void tf_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	int retried = 0, err;

	if (off < 0 || len <= 0) {
		tf_reply_err(req, EINVAL);
		return;
	}
	if ((u32)mode & TW_FALLOC_NO_PARTIAL) {
		tf_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (tf_is_ro(s)) {
		tf_reply_err(req, EROFS);
		return;
	}
	do {
		err = tw_fallocate(s->fs, ino, (u32)mode, (u64)off, (u64)len);
	} while (!retried++ && tf_retry_enospc(s, err));
	tf_reply_err(req, err);
}

void tf_file_ops(struct fuse_lowlevel_ops *ops, const struct tf_config *cfg)
{
	ops->open = tf_open;
	ops->create = tf_create;
	ops->read = tf_read;
	ops->write = tf_write;
	/* write_buf pays only when data may come in a pipe (splice) */
	if (cfg->splice)
		ops->write_buf = tf_write_buf;
	ops->flush = tf_flush;
	ops->release = tf_release;
	ops->fsync = tf_fsync;
	ops->fallocate = tf_fallocate;
}
