// SPDX-License-Identifier: GPL-2.0
/*
 * fz_ops.c - the operation interpreter of the fuzz targets: a tree walk,
 * and a script of 3-byte operations (lookup, readdir, read, write, unlink,
 * rename, setxattr, truncate, mkdir, create, symlink, link, rmdir, xattrs,
 * readlink, setattr, evict, sync) applied to a mounted filesystem, the way
 * a home would call the core (the FUSE daemon's calls, and the kernel's
 * page-cache path: tw_bmap() with and without a handle, tw_set_size()).
 *
 * Layer: tests (tests/fuzz).  Calls the core API (twinfs.h) and the C
 * library.
 *
 * Each operation is three bytes [op, a, b]: @op picks the operation, @a an
 * entry of the table of names known so far (filled by a walk of the tree
 * at the start, and by creations), @b a name, offset, size or flags.  An
 * empty script runs a built-in one that touches every operation once.
 */
#include "fz.h"

#include <stdlib.h>

#define FZ_MAX_ENTS 64
#define FZ_NAME 64

struct ent {
	u64 ino;
	u64 parent;
	u32 mode;
	u8 len;
	char name[FZ_NAME];
};

struct st {
	struct tw_fs *fs;
	const struct fz_run_opts *o;
	struct ent ents[FZ_MAX_ENTS];
	u32 n;
	u64 unlinked[FZ_MAX_ENTS]; /* to evict at the end */
	u32 nunlinked;
	int corrupt; /* operations that met corruption */
	u64 digest;
};

static const struct tw_cred cred0 = { 0, 0 };
static u8 iobuf[65536];

static void add_ent(struct st *s, u64 parent, const char *name, u32 len,
		    u64 ino, u32 mode)
{
	struct ent *e;
	u32 i;

	for (i = 0; i < s->n; i++)
		if (s->ents[i].ino == ino && s->ents[i].parent == parent &&
		    s->ents[i].len == len && !memcmp(s->ents[i].name, name, len))
			return;
	if (s->n >= FZ_MAX_ENTS || len >= FZ_NAME)
		return;
	e = &s->ents[s->n++];
	e->ino = ino;
	e->parent = parent;
	e->mode = mode;
	e->len = (u8)len;
	memcpy(e->name, name, len);
}

static int trace = -1;

static void check(struct st *s, long long r, const char *op)
{
	if (trace < 0)
		trace = getenv("TWFUZZ_TRACE") != NULL;
	if (trace)
		fprintf(stderr, "twfuzz: %s -> %lld\n", op, r);
	if (r != -EUCLEAN && r != -EBADMSG)
		return;
	s->corrupt++;
	if (s->o && s->o->strict)
		fz_bug("%s: %s returned %s on an image fsck declared clean",
		       s->o->what ? s->o->what : "ops", op,
		       r == -EUCLEAN ? "-EUCLEAN" : "-EBADMSG");
}

/* ---- the walk ---- */

struct rd {
	struct st *s;
	u64 dir;
	u32 count;
	u32 limit;
	bool collect;
};

static int rd_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		 u64 next)
{
	struct rd *r = ctx;
	u32 i;

	if (++r->count > r->limit)
		return 1;
	if (trace > 0)
		fprintf(stderr, "twfuzz:   entry '%.*s' ino %llu type %u next %llu\n",
			(int)len, name, (unsigned long long)ino, dtype,
			(unsigned long long)next);
	for (i = 0; i < len; i++)
		r->s->digest = (r->s->digest ^ (u8)name[i]) * 0x100000001b3ull;
	r->s->digest = (r->s->digest ^ ino) * 0x100000001b3ull;
	if (r->collect && !(len == 1 && name[0] == '.') &&
	    !(len == 2 && name[0] == '.' && name[1] == '.'))
		add_ent(r->s, r->dir, name, len, ino,
			dtype == TW_DT_DIR ? TW_S_IFDIR : 0);
	return 0;
}

static void walk_one(struct st *s, struct ent *e)
{
	struct tw_attr a;
	char lbuf[64];
	int err;

	err = tw_getattr(s->fs, e->ino, &a);
	check(s, err, "getattr");
	if (err)
		return;
	e->mode = a.mode;
	if (TW_S_ISREG(a.mode)) {
		ssize_t r = tw_read(s->fs, e->ino, 0, iobuf, 8192);

		check(s, r, "read");
		if (a.size > 8192) {
			r = tw_read(s->fs, e->ino, a.size - 100, iobuf, 200);
			check(s, r, "read(end)");
		}
	} else if (TW_S_ISLNK(a.mode)) {
		check(s, tw_readlink(s->fs, e->ino, (char *)iobuf, 4096),
		      "readlink");
	}
	check(s, tw_listxattr(s->fs, e->ino, lbuf, sizeof(lbuf)),
	      "listxattr");
	check(s, tw_getxattr(s->fs, e->ino, "user.note", iobuf, 4096),
	      "getxattr");
}

static void walk(struct st *s, int depth)
{
	u32 i, done = 0;
	int d;

	for (d = 0; d <= depth; d++) {
		u32 end = s->n;

		for (i = done; i < end; i++) {
			struct ent *e = &s->ents[i];
			struct rd r = { s, e->ino, 0, 256, true };

			walk_one(s, e);
			if (!TW_S_ISDIR(e->mode))
				continue;
			check(s, tw_readdir(s->fs, e->ino, 0, rd_fn, &r),
			      "readdir");
		}
		done = end;
	}
}

u64 fz_walk(struct tw_fs *fs, int depth, int *err)
{
	static struct st s;

	memset(&s, 0, sizeof(s));
	s.fs = fs;
	s.digest = 0xcbf29ce484222325ull;
	add_ent(&s, TW_ROOT_INO, "", 0, TW_ROOT_INO, TW_S_IFDIR);
	walk(&s, depth);
	*err = s.corrupt ? -EUCLEAN : 0;
	return s.digest;
}

/* ---- the script ---- */

enum {
	OP_LOOKUP,
	OP_READDIR,
	OP_READ,
	OP_WRITE,
	OP_UNLINK,
	OP_RENAME,
	OP_SETXATTR,
	OP_TRUNCATE,
	OP_MKDIR,
	OP_CREATE,
	OP_SYMLINK,
	OP_LINK,
	OP_RMDIR,
	OP_XATTR2,
	OP_READLINK,
	OP_SETATTR,
	OP_EVICT,
	OP_SYNC,
	OP_BMAP, /* the kernel's page-cache path: tw_bmap(_h), handles */
	OP_SETSIZE,
	OP_COUNT
};

static const char *const names[] = {
	"a", "b", "file", "dir", "sub", "f.txt", "x1", "x2", "link", "new",
	"lost+found", "zz", "0123456789abcdef0123456789abcdef",
	"with space", "many-0007", "last",
};

static struct ent *pick(struct st *s, u8 a)
{
	return &s->ents[a % s->n];
}

static struct ent *pick_dir(struct st *s, u8 a)
{
	u32 i, k = 0, nd = 0;

	for (i = 0; i < s->n; i++)
		nd += TW_S_ISDIR(s->ents[i].mode);
	if (!nd)
		return &s->ents[0];
	a %= nd;
	for (i = 0; i < s->n; i++)
		if (TW_S_ISDIR(s->ents[i].mode) && k++ == a)
			return &s->ents[i];
	return &s->ents[0];
}

/* A name: one of the table, or an existing entry's name (collisions). */
static const char *pick_name(struct st *s, u8 b, u32 *len)
{
	if (b & 0x80) {
		struct ent *e = &s->ents[(b & 0x7f) % s->n];

		if (e->len) {
			*len = e->len;
			return e->name;
		}
	}
	b &= 0x0f;
	*len = (u32)strlen(names[b]);
	return names[b];
}

static u64 pick_off(u8 b)
{
	static const u64 offs[] = {
		0,	 1,	      100,	    4095,	   4096,
		4097,	 8191,	      12 * 4096 - 1, 12 * 4096,	   520 * 4096,
		1 << 20, 100u << 20, 1ull << 32,    (1ull << 32) + 1, 3ull << 30,
		TW_MAX_FILE_SIZE - 1,
	};

	return offs[b & 15] + (b >> 4) * 512;
}

static u32 pick_lblk(u8 b)
{
	static const u32 l[] = { 0,	     1,		 11,	     12,
				 519,	     520,	 258583,     258584,
				 131355095, 131355096, 0xfffffffeu, 0xffffffffu,
				 2,	     100,	 4000,	     1u << 22 };

	return l[(b >> 4) & 15];
}

/* What the kernel's page cache does with a block tw_bmap() just
 * allocated: fill it before the transaction commits. */
static void fill_new_block(struct tw_fs *fs, u64 pblk)
{
	struct tw_buf *b;

	if (tw_buf_get(tw_fs_dev(fs), pblk, &b))
		return;
	memset(tw_buf_data(b), 'p', TW_BLOCK_SIZE);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
}

static void remember_unlinked(struct st *s, u64 ino)
{
	if (s->nunlinked < FZ_MAX_ENTS)
		s->unlinked[s->nunlinked++] = ino;
}

static void drop_ent(struct st *s, struct ent *e)
{
	*e = s->ents[--s->n];
}

static void do_op(struct st *s, u8 op, u8 a, u8 b)
{
	struct tw_fs *fs = s->fs;
	struct tw_attr at;
	struct ent *e, *d;
	const char *nm;
	u32 len, nlink;
	u64 ino;
	long long r;

	if (trace > 0) {
		struct ent *pa = pick(s, a);

		fprintf(stderr,
			"twfuzz: op %u a %u b %u: ent %llu/'%.*s' (ino %llu mode %o)\n",
			op % OP_COUNT, a, b, (unsigned long long)pa->parent,
			pa->len, pa->name, (unsigned long long)pa->ino, pa->mode);
	}
	switch (op % OP_COUNT) {
	case OP_LOOKUP:
		d = pick_dir(s, a);
		nm = pick_name(s, b, &len);
		r = tw_lookup(fs, d->ino, nm, len, &at);
		check(s, r, "lookup");
		if (!r)
			add_ent(s, d->ino, nm, len, at.ino, at.mode);
		break;
	case OP_READDIR: {
		static const u64 cookies[] = { 0, 1, 2, 4128, 4144, 8192 + 32,
					       1ull << 40, ~0ull };
		struct rd rr = { s, 0, 0, 512, true };

		d = pick_dir(s, a);
		rr.dir = d->ino;
		check(s, tw_readdir(fs, d->ino, cookies[b & 7], rd_fn, &rr),
		      "readdir");
		break;
	}
	case OP_READ:
		e = pick(s, a);
		r = tw_read(fs, e->ino, pick_off(b), iobuf,
			    b & 1 ? sizeof(iobuf) : 1 + b * 37);
		check(s, r, "read");
		break;
	case OP_WRITE: {
		size_t n = (b & 3) == 0 ? 1 : (b & 3) == 1 ? 4096 :
				   (b & 3) == 2 ? 10000 : 100;

		e = pick(s, a);
		memset(iobuf, 'a' + (b & 15), n);
		r = tw_write(fs, e->ino, pick_off(b >> 2), iobuf, n);
		check(s, r, "write");
		break;
	}
	case OP_UNLINK:
		e = pick(s, a);
		if (e->ino == TW_ROOT_INO)
			break;
		r = tw_unlink(fs, e->parent, e->name, e->len, &ino, &nlink);
		check(s, r, "unlink");
		if (!r) {
			if (!nlink)
				remember_unlinked(s, ino);
			drop_ent(s, e);
		}
		break;
	case OP_RENAME: {
		u64 victim = 0;
		u32 vnl = 1, flags = b & 0x40 ? TW_RENAME_NOREPLACE :
				 b & 0x20 ? TW_RENAME_EXCHANGE : 0;

		e = pick(s, a);
		d = pick_dir(s, b);
		nm = pick_name(s, b, &len);
		if (e->ino == TW_ROOT_INO)
			break;
		if (trace > 0)
			fprintf(stderr, "twfuzz: rename %llu/'%.*s' (ino %llu) -> %llu/'%.*s' flags %u\n",
				(unsigned long long)e->parent, e->len, e->name,
				(unsigned long long)e->ino,
				(unsigned long long)d->ino, (int)len, nm, flags);
		r = tw_rename(fs, NULL, e->parent, e->name, e->len, d->ino, nm,
			      len, flags, &victim, &vnl);
		check(s, r, "rename");
		if (!r) {
			u64 eino = e->ino;
			u32 emode = e->mode;

			drop_ent(s, e);
			add_ent(s, d->ino, nm, len, eino, emode);
			if (victim && !vnl)
				remember_unlinked(s, victim);
		}
		break;
	}
	case OP_SETXATTR: {
		static const char *const xn[] = { "user.note", "user.a",
						  "trusted.t", "security.s" };
		size_t vl = (b & 0x30) == 0x30 ? 3000 : (b >> 4) * 17;

		e = pick(s, a);
		memset(iobuf, 'v', vl);
		r = tw_setxattr(fs, e->ino, xn[b & 3], iobuf, vl,
				(b >> 2) & 3);
		check(s, r, "setxattr");
		break;
	}
	case OP_TRUNCATE: {
		struct tw_setattr sa = { .valid = TW_SET_SIZE };

		e = pick(s, a);
		sa.size = pick_off(b);
		r = tw_setattr(fs, e->ino, &sa, &at);
		check(s, r, "truncate");
		break;
	}
	case OP_MKDIR:
		d = pick_dir(s, a);
		nm = pick_name(s, b, &len);
		r = tw_mkdir(fs, &cred0, d->ino, nm, len, 0755, &at);
		check(s, r, "mkdir");
		if (!r)
			add_ent(s, d->ino, nm, len, at.ino, at.mode);
		break;
	case OP_CREATE: {
		static const u32 modes[] = { TW_S_IFREG | 0644,
					     TW_S_IFIFO | 0600,
					     TW_S_IFCHR | 0600,
					     TW_S_IFSOCK | 0755 };

		d = pick_dir(s, a);
		nm = pick_name(s, b, &len);
		r = tw_mknod(fs, &cred0, d->ino, nm, len,
			     modes[(b >> 6) & 3], 0x801,
			     &at);
		check(s, r, "create");
		if (!r)
			add_ent(s, d->ino, nm, len, at.ino, at.mode);
		break;
	}
	case OP_SYMLINK: {
		u32 tl = b & 0x40 ? 300 : b & 0x20 ? 127 : 5;

		d = pick_dir(s, a);
		nm = pick_name(s, b, &len);
		memset(iobuf, 'T', tl);
		r = tw_symlink(fs, &cred0, d->ino, nm, len, (char *)iobuf, tl,
			       &at);
		check(s, r, "symlink");
		if (!r)
			add_ent(s, d->ino, nm, len, at.ino, at.mode);
		break;
	}
	case OP_LINK:
		e = pick(s, a);
		d = pick_dir(s, b);
		nm = pick_name(s, b, &len);
		r = tw_link(fs, e->ino, d->ino, nm, len, &at);
		check(s, r, "link");
		if (!r)
			add_ent(s, d->ino, nm, len, at.ino, at.mode);
		break;
	case OP_RMDIR:
		e = pick(s, a);
		if (e->ino == TW_ROOT_INO)
			break;
		r = tw_rmdir(fs, e->parent, e->name, e->len, &ino, &nlink);
		check(s, r, "rmdir");
		if (!r) {
			if (!nlink)
				remember_unlinked(s, ino);
			drop_ent(s, e);
		}
		break;
	case OP_XATTR2: {
		char lbuf[512];

		e = pick(s, a);
		if (b & 1)
			r = tw_removexattr(fs, e->ino,
					   b & 2 ? "user.note" : "user.a");
		else if (b & 2)
			r = tw_listxattr(fs, e->ino, lbuf,
					 b & 4 ? 0 : sizeof(lbuf));
		else
			r = tw_getxattr(fs, e->ino,
					b & 4 ? "user.note" : "trusted.t",
					iobuf, b & 8 ? 0 : 4096);
		check(s, r, "xattr");
		break;
	}
	case OP_READLINK:
		e = pick(s, a);
		r = tw_readlink(fs, e->ino, (char *)iobuf, b & 1 ? 10 : 4096);
		check(s, r, "readlink");
		break;
	case OP_SETATTR: {
		struct tw_setattr sa = { 0 };

		e = pick(s, a);
		sa.valid = b & (TW_SET_MODE | TW_SET_UID | TW_SET_GID |
				TW_SET_ATIME | TW_SET_MTIME | TW_SET_CTIME);
		sa.mode = 07777 & (b * 0x1111u);
		sa.uid = b;
		sa.gid = b >> 1;
		sa.atime = -1;
		sa.mtime = (s64)b << 40;
		sa.ctime = 1;
		r = tw_setattr(fs, e->ino, &sa, &at);
		check(s, r, "setattr");
		break;
	}
	case OP_EVICT:
		if (s->nunlinked) {
			ino = s->unlinked[--s->nunlinked];
			check(s, tw_evict(fs, ino), "evict");
		}
		break;
	case OP_SYNC:
		if ((b & 3) == 0)
			r = tw_sync(fs);
		else if ((b & 3) == 1)
			r = tw_fsync(fs, pick(s, a)->ino, b & 4);
		else if ((b & 3) == 2)
			r = tw_commit_if_old(fs, 0);
		else {
			struct tw_statfs sf;

			r = tw_statfs(fs, &sf);
		}
		check(s, r, "sync");
		break;
	case OP_BMAP: {
		u32 lblk = pick_lblk(b);
		bool create = b & 1, is_new = false;
		u64 pblk = 0;

		e = pick(s, a);
		if (b & 2) {
			r = tw_handle_start(fs, TW_CREDITS_BMAP);
			if (!r) {
				r = tw_bmap_h(fs, e->ino, lblk, create, &pblk,
					      &is_new);
				if (!r && is_new)
					fill_new_block(fs, pblk);
				if (!r && (b & 4))
					r = tw_set_size_h(fs, e->ino,
							  ((u64)lblk + 1) *
								  TW_BLOCK_SIZE);
				tw_handle_stop(fs, TW_CREDITS_BMAP);
			}
		} else {
			r = tw_bmap(fs, e->ino, lblk, create, &pblk, &is_new);
			if (!r && is_new)
				fill_new_block(fs, pblk);
			if (!r && (b & 4))
				r = tw_set_size(fs, e->ino,
						((u64)lblk + 1) * TW_BLOCK_SIZE);
		}
		check(s, r, "bmap");
		break;
	}
	case OP_SETSIZE:
		e = pick(s, a);
		r = tw_set_size(fs, e->ino, pick_off(b));
		check(s, r, "set_size");
		break;
	}
}

/* The default script: every operation once, on names the walk found and
 * on new ones. */
static const u8 default_ops[] = {
	OP_LOOKUP,   0,	  0x81, OP_READDIR, 0,	  0,    OP_READ,    1,	 0,
	OP_READ,     2,	  0x15, OP_WRITE,   1,	  0x01, OP_WRITE,   2,	 0x1d,
	OP_SETXATTR, 1,	  0x10, OP_SETXATTR, 3,	  0x33, OP_MKDIR,   0,	 3,
	OP_CREATE,   0,	  2,    OP_SYMLINK, 0,	  0x48, OP_LINK,    1,	 0x09,
	OP_RENAME,   2,	  0x0f, OP_TRUNCATE, 1,	  0x04, OP_TRUNCATE, 3,	 0,
	OP_UNLINK,   1,	  0,    OP_XATTR2,  2,	  0x03, OP_READLINK, 4,	 0,
	OP_SETATTR,  2,	  0x3f, OP_RMDIR,   3,	  0,    OP_EVICT,   0,	 0,
	OP_SYNC,     0,	  0,    OP_READDIR, 1,	  0,    OP_UNLINK,  5,	 0,
	OP_BMAP,     1,	  0x17, OP_BMAP,    2,	  0x03, OP_SETSIZE, 1,	 0x05,
};

int fz_run_ops(struct tw_fs *fs, const u8 *ops, u32 ops_len,
	       const struct fz_run_opts *o)
{
	static struct st s;
	u32 i;

	memset(&s, 0, sizeof(s));
	s.fs = fs;
	s.o = o;
	add_ent(&s, TW_ROOT_INO, "", 0, TW_ROOT_INO, TW_S_IFDIR);
	walk(&s, 2);
	if (!ops_len) {
		ops = default_ops;
		ops_len = sizeof(default_ops);
	}
	for (i = 0; i + 3 <= ops_len; i += 3)
		do_op(&s, ops[i], ops[i + 1], ops[i + 2]);
	while (s.nunlinked)
		check(&s, tw_evict(fs, s.unlinked[--s.nunlinked]), "evict");
	return s.corrupt;
}
