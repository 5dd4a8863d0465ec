// SPDX-License-Identifier: GPL-2.0
/*
 * dir.c - the FUSE operations on directories of twinfs-fuse: opendir,
 * readdir and readdirplus (which hands the kernel lookups); releasedir and
 * fsyncdir are file.c's release and fsync.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the helpers
 * of ops.h, libfuse3's low-level API and the C library.
 */
#include "ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
/* ---- directories ---- */

static void tf_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	fi->fh = 0;
	tf_iopen(s->itab, ino);
	if (fuse_reply_open(req, fi))
		tf_released(s, ino);
}

struct rd {
	fuse_req_t req;
	struct tf_state *s;
	u64 dir;
	bool plus;
	char *buf;
	size_t size, pos;
	u64 *inos; /* lookups handed out by readdirplus */
	size_t ninos, cap;
	int err;
};

static int rd_emit(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		   u64 next)
{
	struct rd *r = ctx;
	char nm[TW_NAME_MAX + 1];
	struct fuse_entry_param e;
	struct tw_attr a;
	size_t need;
	bool dot = (len == 1 && name[0] == '.') ||
		   (len == 2 && name[0] == '.' && name[1] == '.');
	int err;

	if (len > TW_NAME_MAX) {
		r->err = -EUCLEAN;
		return 1;
	}
	memcpy(nm, name, len);
	nm[len] = '\0';
	if (!r->plus) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = dtype << 12;
		need = fuse_add_direntry(r->req, r->buf + r->pos,
					 r->size - r->pos, nm, &st,
					 (off_t)next);
		if (need > r->size - r->pos)
			return 1;
		r->pos += need;
		return 0;
	}
	if (dot) {
		/* no lookup for "." and "..": the kernel skips them */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = ino;
		e.attr.st_mode = dtype << 12;
	} else {
		/* by name: the entry may have gone since it was copied */
		err = tw_lookup(r->s->fs, r->dir, name, len, &a);
		if (err == -ENOENT)
			return 0;
		if (err) {
			r->err = err;
			return 1;
		}
		tf_fill_entry(r->s, &a, &e);
	}
	need = fuse_add_direntry_plus(r->req, r->buf + r->pos, r->size - r->pos,
				      nm, &e, (off_t)next);
	if (need > r->size - r->pos)
		return 1;
	if (!dot) {
		if (r->ninos == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 32;
			u64 *n = realloc(r->inos, cap * sizeof(*n));

			if (!n) {
				r->err = -ENOMEM;
				return 1;
			}
			r->inos = n;
			r->cap = cap;
		}
		err = tf_iref(r->s->itab, e.ino, 1);
		if (err) {
			r->err = err;
			return 1;
		}
		r->inos[r->ninos++] = e.ino;
	}
	r->pos += need;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       bool plus)
{
	struct rd r = { .req = req, .s = ST(req), .dir = ino, .plus = plus };
	size_t i;
	int err;

	if (off < 0) {
		tf_reply_err(req, EINVAL);
		return;
	}
	r.size = size;
	r.buf = malloc(size);
	if (!r.buf) {
		tf_reply_err(req, ENOMEM);
		return;
	}
	err = tw_readdir(r.s->fs, ino, (u64)off, rd_emit, &r);
	if (!err)
		err = r.err;
	if (err && !r.pos) {
		tf_reply_err(req, err);
	} else if (fuse_reply_buf(req, r.buf, r.pos)) {
		for (i = 0; i < r.ninos; i++)
			tf_unref(r.s, r.inos[i], 1);
	}
	free(r.inos);
	free(r.buf);
}

static void tf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void tf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

void tf_dir_ops(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = tf_opendir;
	ops->readdir = tf_readdir;
	ops->readdirplus = tf_readdirplus;
	/* closing and syncing a directory is what it is for a file */
	ops->releasedir = tf_release;
	ops->fsyncdir = tf_fsync;
}
