// SPDX-License-Identifier: GPL-2.0
/*
 * be_record.c - the write-recording backend wrapper and the write log it
 * appends to, with its reader.  The log format is described in tw_user.h.
 *
 * Layer: user-space environment, block backend.  Called by the block cache
 * through struct tw_backend_ops and by crash-consistency tests (the log and
 * reader API); calls the wrapped backend, the C library and pthreads.
 *
 * Put a fault-injecting wrapper outside the recorder, not inside: a failed
 * write of the wrapped backend may have written any prefix of its blocks,
 * and the recorder logs nothing for it, whereas the fault wrapper passes
 * the blocks before the failure down as a write of their own.
 */
#include "tw_user_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define WLOG_MAGIC "TWWLOG01"
#define WLOG_VERSION 1u
#define WLOG_HDR_SIZE 32u
#define WLOG_REC_SIZE 16u

struct tw_wlog {
	pthread_mutex_t lock; /* protects everything below */
	int fd; /* a file log; -1 for a memory log */
	u8 *mem; /* a memory log: its bytes */
	size_t cap;
	u64 size; /* bytes in the log */
	u64 writes;
	u64 flushes;
	bool attached;
	int err; /* first append error */
};

struct record_backend {
	struct tw_backend be;
	struct tw_backend *inner;
	struct tw_wlog *log;
	pthread_mutex_t lock; /* serializes I/O and appends */
};

static void put_le32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

static void put_le64(u8 *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32(p + 4, (u32)(v >> 32));
}

static u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
	       (u32)p[3] << 24;
}

static u64 get_le64(const u8 *p)
{
	return (u64)get_le32(p) | (u64)get_le32(p + 4) << 32;
}

/* ------------------------------------------------------------------------ */
/* The log                                                                  */
/* ------------------------------------------------------------------------ */

static struct tw_wlog *wlog_alloc(int fd)
{
	struct tw_wlog *log = calloc(1, sizeof(*log));

	if (!log)
		return NULL;
	if (tw_pmutex_init(&log->lock)) {
		free(log);
		return NULL;
	}
	log->fd = fd;
	return log;
}

struct tw_wlog *tw_wlog_new_mem(void)
{
	return wlog_alloc(-1);
}

struct tw_wlog *tw_wlog_create(const char *path, int *err)
{
	struct tw_wlog *log;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (err)
			*err = -errno;
		return NULL;
	}
	log = wlog_alloc(fd);
	if (!log) {
		close(fd);
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	if (err)
		*err = 0;
	return log;
}

int tw_wlog_free(struct tw_wlog *log)
{
	int err;

	if (!log)
		return 0;
	err = log->err;
	if (log->fd >= 0 && close(log->fd) && !err)
		err = -errno;
	pthread_mutex_destroy(&log->lock);
	free(log->mem);
	free(log);
	return err;
}

void tw_wlog_counts(struct tw_wlog *log, u64 *writes, u64 *flushes)
{
	tw_pmutex_lock(&log->lock);
	if (writes)
		*writes = log->writes;
	if (flushes)
		*flushes = log->flushes;
	tw_pmutex_unlock(&log->lock);
}

static int pwrite_all(int fd, const void *buf, size_t len, u64 off)
{
	const u8 *p = buf;
	ssize_t r;

	while (len) {
		r = pwrite(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		off += (u64)r;
		len -= (size_t)r;
	}
	return 0;
}

/* Append @a and @b (may be NULL) as one unit; the caller holds log->lock. */
static int wlog_append_locked(struct tw_wlog *log, const void *a, size_t alen,
			      const void *b, size_t blen)
{
	size_t need, cap;
	u8 *mem;
	int err;

	if (log->err)
		return log->err;
	if (log->fd >= 0) {
		err = pwrite_all(log->fd, a, alen, log->size);
		if (!err && b)
			err = pwrite_all(log->fd, b, blen, log->size + alen);
		if (err) {
			log->err = err;
			return err;
		}
	} else {
		need = (size_t)log->size + alen + blen;
		if (need > log->cap) {
			cap = log->cap ? log->cap : 64 * 1024;
			while (cap < need)
				cap *= 2;
			mem = realloc(log->mem, cap);
			if (!mem) {
				log->err = -ENOMEM;
				return log->err;
			}
			log->mem = mem;
			log->cap = cap;
		}
		memcpy(log->mem + log->size, a, alen);
		if (b)
			memcpy(log->mem + log->size + alen, b, blen);
	}
	log->size += alen + blen;
	return 0;
}

static int wlog_append(struct tw_wlog *log, u32 type, u64 blk,
		       const void *data)
{
	u8 head[WLOG_REC_SIZE];
	int err;

	put_le32(head, type);
	put_le32(head + 4, 0);
	put_le64(head + 8, blk);
	tw_pmutex_lock(&log->lock);
	err = wlog_append_locked(log, head, sizeof(head), data,
				 data ? TW_BS : 0);
	if (!err) {
		if (type == TW_WLOG_WRITE)
			log->writes++;
		else
			log->flushes++;
	}
	tw_pmutex_unlock(&log->lock);
	return err;
}

/* ------------------------------------------------------------------------ */
/* The recorder                                                             */
/* ------------------------------------------------------------------------ */

static struct record_backend *to_rec(struct tw_backend *be)
{
	return tw_container_of(be, struct record_backend, be);
}

static int rec_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct tw_backend *inner = to_rec(be)->inner;

	return inner->ops->read(inner, blk, n, buf);
}

static int rec_write(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs)
{
	struct record_backend *rec = to_rec(be);
	int err;
	u32 i;

	tw_pmutex_lock(&rec->lock);
	err = rec->inner->ops->write(rec->inner, blk, n, bufs);
	for (i = 0; !err && i < n; i++)
		err = wlog_append(rec->log, TW_WLOG_WRITE, blk + i, bufs[i]);
	tw_pmutex_unlock(&rec->lock);
	return err;
}

static int rec_flush(struct tw_backend *be)
{
	struct record_backend *rec = to_rec(be);
	int err;

	tw_pmutex_lock(&rec->lock);
	err = rec->inner->ops->flush(rec->inner);
	if (!err)
		err = wlog_append(rec->log, TW_WLOG_FLUSH, 0, NULL);
	tw_pmutex_unlock(&rec->lock);
	return err;
}

static void rec_destroy(struct tw_backend *be)
{
	struct record_backend *rec = to_rec(be);

	rec->inner->ops->destroy(rec->inner);
	pthread_mutex_destroy(&rec->lock);
	free(rec);
}

static const struct tw_backend_ops record_ops = {
	.read = rec_read,
	.write = rec_write,
	.flush = rec_flush,
	.destroy = rec_destroy,
};

/**
 * tw_backend_recorder() - attach @log to a new recorder around @inner and
 * write the log's header.
 */
struct tw_backend *tw_backend_recorder(struct tw_backend *inner,
				       struct tw_wlog *log)
{
	struct record_backend *rec;
	u8 hdr[WLOG_HDR_SIZE];
	int err;

	rec = calloc(1, sizeof(*rec));
	if (!rec || tw_pmutex_init(&rec->lock))
		goto fail;
	memcpy(hdr, WLOG_MAGIC, 8);
	put_le32(hdr + 8, WLOG_VERSION);
	put_le32(hdr + 12, TW_BS);
	put_le64(hdr + 16, inner->blocks);
	put_le64(hdr + 24, 0);

	tw_pmutex_lock(&log->lock);
	if (log->attached) {
		tw_pmutex_unlock(&log->lock);
		pthread_mutex_destroy(&rec->lock);
		goto fail;
	}
	err = wlog_append_locked(log, hdr, sizeof(hdr), NULL, 0);
	log->attached = !err;
	tw_pmutex_unlock(&log->lock);
	if (err) {
		pthread_mutex_destroy(&rec->lock);
		goto fail;
	}

	rec->be.ops = &record_ops;
	rec->be.blocks = inner->blocks;
	tw_backend_set_name(&rec->be, "record(%s)", inner->name);
	rec->inner = inner;
	rec->log = log;
	return &rec->be;

fail:
	free(rec);
	inner->ops->destroy(inner);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The reader                                                               */
/* ------------------------------------------------------------------------ */

struct tw_wlog_reader {
	struct tw_wlog *log; /* reading a live log object, or */
	int fd; /* reading a file of our own */
	u64 off;
	u64 seq;
	u64 blocks;
	u8 data[TW_BS];
};

/* Read up to @len bytes at @off; returns how many, or a negative errno. */
static ssize_t reader_fetch(struct tw_wlog_reader *r, u64 off, void *buf,
			    size_t len)
{
	struct tw_wlog *log = r->log;
	size_t got = 0;
	ssize_t n;
	int fd = r->fd;

	if (log) {
		tw_pmutex_lock(&log->lock);
		if (off >= log->size)
			len = 0;
		else if (len > log->size - off)
			len = (size_t)(log->size - off);
		if (log->fd < 0) {
			if (len)
				memcpy(buf, log->mem + off, len);
			got = len;
			len = 0;
		}
		fd = log->fd;
	}
	while (got < len) {
		n = pread(fd, (u8 *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (log)
				tw_pmutex_unlock(&log->lock);
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (log)
		tw_pmutex_unlock(&log->lock);
	return (ssize_t)got;
}

static struct tw_wlog_reader *reader_start(struct tw_wlog *log, int fd,
					   int *err)
{
	struct tw_wlog_reader *r = calloc(1, sizeof(*r));
	u8 hdr[WLOG_HDR_SIZE];
	ssize_t n;

	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->log = log;
	r->fd = fd;
	n = reader_fetch(r, 0, hdr, sizeof(hdr));
	if (n < 0) {
		*err = (int)n;
		goto fail;
	}
	if (n != sizeof(hdr) || memcmp(hdr, WLOG_MAGIC, 8) ||
	    get_le32(hdr + 8) != WLOG_VERSION || get_le32(hdr + 12) != TW_BS) {
		*err = -EUCLEAN;
		goto fail;
	}
	r->blocks = get_le64(hdr + 16);
	r->off = WLOG_HDR_SIZE;
	*err = 0;
	return r;

fail:
	free(r);
	return NULL;
}

struct tw_wlog_reader *tw_wlog_reader_mem(struct tw_wlog *log, int *err)
{
	int e;
	struct tw_wlog_reader *r = reader_start(log, -1, &e);

	if (err)
		*err = e;
	return r;
}

struct tw_wlog_reader *tw_wlog_reader_open(const char *path, int *err)
{
	struct tw_wlog_reader *r;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (err)
			*err = -errno;
		return NULL;
	}
	r = reader_start(NULL, fd, &e);
	if (!r)
		close(fd);
	if (err)
		*err = e;
	return r;
}

u64 tw_wlog_reader_blocks(struct tw_wlog_reader *r)
{
	return r->blocks;
}

int tw_wlog_next(struct tw_wlog_reader *r, struct tw_wlog_rec *rec)
{
	u8 head[WLOG_REC_SIZE];
	ssize_t n;
	u32 type;
	u64 blk;

	n = reader_fetch(r, r->off, head, sizeof(head));
	if (n <= 0)
		return (int)n;
	if (n != sizeof(head))
		return -EUCLEAN;
	type = get_le32(head);
	blk = get_le64(head + 8);
	if (get_le32(head + 4))
		return -EUCLEAN;
	if (type == TW_WLOG_WRITE) {
		if (blk >= r->blocks)
			return -EUCLEAN;
		n = reader_fetch(r, r->off + WLOG_REC_SIZE, r->data, TW_BS);
		if (n < 0)
			return (int)n;
		if (n != TW_BS)
			return -EUCLEAN;
		r->off += WLOG_REC_SIZE + TW_BS;
		rec->data = r->data;
	} else if (type == TW_WLOG_FLUSH) {
		if (blk)
			return -EUCLEAN;
		r->off += WLOG_REC_SIZE;
		rec->data = NULL;
	} else {
		return -EUCLEAN;
	}
	rec->type = type;
	rec->blk = blk;
	rec->seq = r->seq++;
	return 1;
}

void tw_wlog_reader_close(struct tw_wlog_reader *r)
{
	if (!r)
		return;
	if (!r->log && r->fd >= 0)
		close(r->fd);
	free(r);
}
