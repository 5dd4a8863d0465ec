// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck_oracle.c - the tree a recovered crash state shows, read
 * through the core, and the oracle's verdict on it: the metadata must be
 * the tree after some operation in the window of the state, each file's
 * data one of its versions since its last durability point
 * (crashcheck.c's top comment, docs/crash.md "The oracle").
 *
 * Layer: tests (tests/crash), part of crashcheck (crashcheck.h).  Calls
 * the core API (twinfs.h) and the C library.
 */
#include "crashcheck.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The recovered tree, read through the core                                */
/* ------------------------------------------------------------------------ */

#define MAX_TREE 4096
#define MAX_FILE (8u << 20)

struct rxat {
	char name[256];
	u8 *val;
	size_t len;
};

struct rent {
	char *path;
	u64 ino;
	struct tw_attr a;
	char *target;
	int nx;
	struct rxat *x;
	u8 *data; /* files: the contents, a.size bytes */
};

struct rtree {
	int n;
	struct rent e[MAX_TREE];
};

static struct rtree rt;

static void rtree_clear(void)
{
	int i, j;

	for (i = 0; i < rt.n; i++) {
		free(rt.e[i].path);
		free(rt.e[i].target);
		for (j = 0; j < rt.e[i].nx; j++)
			free(rt.e[i].x[j].val);
		free(rt.e[i].x);
		free(rt.e[i].data);
	}
	rt.n = 0;
}

struct names {
	int n, cap;
	char **name;
	u64 *ino;
};

static int names_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		    u64 next)
{
	struct names *nm = ctx;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? 2 * nm->cap : 16;
		nm->name = realloc(nm->name, sizeof(char *) * nm->cap);
		nm->ino = realloc(nm->ino, sizeof(u64) * nm->cap);
		if (!nm->name || !nm->ino)
			die("out of memory");
	}
	nm->name[nm->n] = xmalloc(len + 1);
	memcpy(nm->name[nm->n], name, len);
	nm->ino[nm->n++] = ino;
	return 0;
}

/* XATTR_LIST_MAX and XATTR_SIZE_MAX: what one inode can hold at most
 * (docs/format.md 11.6) */
#define XLIST_MAX 65536
#define XVALUE_MAX 65536

static int read_xattrs(struct tw_fs *fs, struct rent *e)
{
	char *list = xmalloc(XLIST_MAX), *p;
	ssize_t n = tw_listxattr(fs, e->ino, list, XLIST_MAX);
	int k = 0, err = 0;

	if (n < 0) {
		free(list);
		return (int)n;
	}
	for (p = list; p < list + n; p += strlen(p) + 1)
		k++;
	e->x = xmalloc(sizeof(*e->x) * (k + 1));
	for (p = list; p < list + n; p += strlen(p) + 1) {
		struct rxat *x = &e->x[e->nx];
		ssize_t len;

		snprintf(x->name, sizeof(x->name), "%.255s", p);
		len = tw_getxattr(fs, e->ino, p, NULL, 0);
		if (len >= 0) {
			x->val = xmalloc((size_t)len + 1);
			len = tw_getxattr(fs, e->ino, p, x->val, (size_t)len);
		}
		if (len < 0) {
			err = (int)len;
			break;
		}
		x->len = (size_t)len;
		e->nx++;
	}
	free(list);
	return err;
}

static int walk(struct tw_fs *fs, u64 dir, const char *prefix, int depth)
{
	struct names nm = { 0 };
	int i, err;

	if (depth > 32) {
		say("  directory tree deeper than 32 levels (a loop?)\n");
		return -ELOOP;
	}
	err = tw_readdir(fs, dir, 0, names_fn, &nm);
	for (i = 0; !err && i < nm.n; i++) {
		struct rent *e;
		char path[4096];

		if (rt.n == MAX_TREE) {
			say("  more than %d names\n", MAX_TREE);
			err = -E2BIG;
			break;
		}
		snprintf(path, sizeof(path), "%s%s", prefix, nm.name[i]);
		e = &rt.e[rt.n++];
		memset(e, 0, sizeof(*e));
		e->path = xstrdup(path);
		e->ino = nm.ino[i];
		err = tw_getattr(fs, e->ino, &e->a);
		if (err) {
			say("  %s: getattr: %d\n", path, err);
			break;
		}
		if (TW_S_ISLNK(e->a.mode)) {
			char t[4096];
			ssize_t n = tw_readlink(fs, e->ino, t, sizeof(t) - 1);

			if (n < 0) {
				say("  %s: readlink: %zd\n", path, n);
				err = (int)n;
				break;
			}
			t[n] = 0;
			e->target = xstrdup(t);
			continue;
		}
		err = read_xattrs(fs, e);
		if (err) {
			say("  %s: xattrs: %d\n", path, err);
			break;
		}
		if (TW_S_ISREG(e->a.mode)) {
			ssize_t n;

			if (e->a.size > MAX_FILE) {
				say("  %s: size %llu (more than any workload writes)\n",
				    path, (unsigned long long)e->a.size);
				err = -EFBIG;
				break;
			}
			e->data = xmalloc(e->a.size + 1);
			n = tw_read(fs, e->ino, 0, e->data, e->a.size);
			if (n != (ssize_t)e->a.size) {
				say("  %s: read %zd of %llu bytes\n", path, n,
				    (unsigned long long)e->a.size);
				err = n < 0 ? (int)n : -EIO;
				break;
			}
		} else if (TW_S_ISDIR(e->a.mode)) {
			strcat(path, "/");
			err = walk(fs, e->ino, path, depth + 1);
		}
	}
	for (i = 0; i < nm.n; i++)
		free(nm.name[i]);
	free(nm.name);
	free(nm.ino);
	return err;
}

static int rent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rent *)a)->path,
		      ((const struct rent *)b)->path);
}

/* ------------------------------------------------------------------------ */
/* The oracle                                                               */
/* ------------------------------------------------------------------------ */

/* Bytes [off, off + len) of a file version (zeros past its extents). */
static void version_fill(const struct ent *e, u64 off, u8 *buf, size_t len)
{
	int i;

	memset(buf, 0, len);
	for (i = 0; i < e->next; i++) {
		const struct ext *x = &e->ext[i];
		u64 lo = x->off > off ? x->off : off;
		u64 hi = x->off + x->len < off + len ? x->off + x->len :
						       off + len;

		if (lo < hi && lo < e->size) {
			if (hi > e->size)
				hi = e->size;
			pat_fill(x->seed, lo, buf + (lo - off), hi - lo);
		}
	}
}

static bool dur_covers_meta(const struct wl *w, const struct op *o)
{
	switch (o->dur) {
	case D_FSYNC:
	case D_FDATASYNC:
	case D_UMOUNT:
		return true;
	case D_SYNC:
		return w->home != HOME_FUSE;
	}
	return false;
}

static bool dur_covers_data(const struct wl *w, const struct op *o, int obj)
{
	switch (o->dur) {
	case D_FSYNC:
	case D_FDATASYNC:
		return o->durobj == obj;
	case D_UMOUNT:
		return true;
	case D_SYNC:
		return w->home != HOME_FUSE;
	}
	return false;
}

void window_of(const struct wl *w, u64 p_dur, u64 p_hi, struct window *win)
{
	int j;

	win->p_dur = p_dur;
	win->p_hi = p_hi;
	win->k_meta = 0;
	win->k_hi = 0;
	for (j = 1; j <= w->nops; j++) {
		if (w->ops[j].start < p_hi)
			win->k_hi = j;
		if (w->ops[j].dur && w->ops[j].end <= p_dur &&
		    dur_covers_meta(w, &w->ops[j]))
			win->k_meta = j;
	}
	/* an op that returned had begun (even one that returned at once) */
	if (win->k_hi < win->k_meta)
		win->k_hi = win->k_meta;
}

/* The first op index from which @obj's data may come. */
static int data_lo(const struct wl *w, const struct window *win, int obj)
{
	int j;

	for (j = win->k_hi; j >= 1; j--)
		if (w->ops[j].dur && w->ops[j].end <= win->p_dur &&
		    dur_covers_data(w, &w->ops[j], obj))
			return j;
	return 0;
}

static const char *type_name(char t)
{
	return t == 'f' ? "file" :
	       t == 'd' ? "directory" :
	       t == 'l' ? "symlink" :
	       t == 'c' ? "character device" :
			  "special file";
}

static char rtype(const struct rent *r)
{
	switch (r->a.mode & TW_S_IFMT) {
	case TW_S_IFDIR:
		return 'd';
	case TW_S_IFLNK:
		return 'l';
	case TW_S_IFREG:
		return 'f';
	case TW_S_IFCHR:
		return 'c';
	}
	return '?';
}

/* Does the recovered tree have the namespace of @t?  Problems to say(). */
static int match_names(const struct wl *w, const struct tree *t, bool talk)
{
	static u64 map[65536];
	int i, j, bad = 0;

	if (t->n != rt.n) {
		if (!talk)
			return 1;
		bad++;
	}
	for (i = 0, j = 0; i < t->n || j < rt.n;) {
		const struct ent *e = i < t->n ? &t->e[i] : NULL;
		const struct rent *r = j < rt.n ? &rt.e[j] : NULL;
		int c = !e ? 1 : !r ? -1 : strcmp(e->path, r->path);

		if (c < 0) {
			if (talk)
				say("    missing %s %s\n", type_name(e->type),
				    e->path);
			bad++;
			i++;
			continue;
		}
		if (c > 0) {
			if (talk)
				say("    unexpected %s (mode 0%o, inode %llu)\n",
				    r->path, r->a.mode,
				    (unsigned long long)r->ino);
			bad++;
			j++;
			continue;
		}
		i++;
		j++;
		if (rtype(r) != e->type) {
			if (talk)
				say("    %s: a %s, want a %s\n", e->path,
				    type_name(rtype(r)), type_name(e->type));
			bad++;
			continue;
		}
		if (e->type != 'l' && (r->a.mode & 07777) != e->mode) {
			if (talk)
				say("    %s: mode 0%o, want 0%o\n", e->path,
				    r->a.mode & 07777, e->mode);
			bad++;
		}
		if (e->type == 'l' && strcmp(r->target, e->target)) {
			if (talk)
				say("    %s: target '%.60s', want '%.60s'\n",
				    e->path, r->target, e->target);
			bad++;
		}
		if (e->type == 'c' && r->a.rdev != e->rdev) {
			if (talk)
				say("    %s: device %u, want %u\n", e->path,
				    r->a.rdev, e->rdev);
			bad++;
		}
		if (e->type != 'l') {
			int xi, xj;
			bool xbad = r->nx != e->nx;

			for (xi = 0; !xbad && xi < e->nx; xi++) {
				const struct xat *x = &e->x[xi];
				const struct rxat *rx = NULL;

				for (xj = 0; xj < r->nx; xj++)
					if (!strcmp(r->x[xj].name, x->name))
						rx = &r->x[xj];
				if (!rx || rx->len != x->len ||
				    x->len > XVALUE_MAX) {
					xbad = true;
					break;
				}
				if (x->val) {
					xbad = memcmp(x->val, rx->val, x->len);
				} else {
					u8 *want = xmalloc(x->len + 1);

					pat_fill(x->seed, 0, want, x->len);
					xbad = memcmp(want, rx->val, x->len);
					free(want);
				}
			}
			if (xbad) {
				if (talk)
					say("    %s: xattrs differ (%d, want %d)\n",
					    e->path, r->nx, e->nx);
				bad++;
			}
		}
		/* which names share an inode */
		if (e->obj < (int)(sizeof(map) / sizeof(map[0]))) {
			int o;

			if (map[e->obj] && map[e->obj] != r->ino) {
				if (talk)
					say("    %s: inode %llu, but another name of the same file has inode %llu\n",
					    e->path, (unsigned long long)r->ino,
					    (unsigned long long)map[e->obj]);
				bad++;
			}
			map[e->obj] = r->ino;
			for (o = 0; o < w->nobj; o++) {
				if (o != e->obj && map[o] == r->ino) {
					if (talk)
						say("    %s: inode %llu is also another file's\n",
						    e->path,
						    (unsigned long long)r->ino);
					bad++;
				}
			}
		}
		if (!talk && bad)
			break;
	}
	for (i = 0; i < w->nobj && i < (int)(sizeof(map) / sizeof(map[0])); i++)
		map[i] = 0;
	return bad;
}

#define MAX_CAND 64
static u8 cand[MAX_CAND][BS];
static u64 mixed_blocks; /* blocks that matched byte by byte only */

/* The data of one file against its versions in the window. */
static int match_data(const struct wl *w, const struct window *win,
		      const struct ent *e, const struct rent *r, bool talk)
{
	int lo = data_lo(w, win, e->obj), j, bad = 0;
	bool size_ok = false;
	u64 b, nb;

	for (j = lo; j <= win->k_hi; j++) {
		const struct ent *v = w->vers[j][e->obj];
		const struct ent *pv = j > lo ? w->vers[j - 1][e->obj] : NULL;

		if (!v || v->type != 'f')
			continue;
		if (v->size == r->a.size)
			size_ok = true;
		if (w->ops[j].obj == e->obj && w->ops[j].ext && pv &&
		    pv->type == 'f' && pv->size < r->a.size &&
		    r->a.size < v->size)
			size_ok = true;
	}
	if (!size_ok) {
		if (talk) {
			say("    %s: size %llu; its sizes since op %d:",
			    e->path, (unsigned long long)r->a.size, lo);
			for (j = lo; j <= win->k_hi; j++) {
				const struct ent *v = w->vers[j][e->obj];

				if (v && v->type == 'f' &&
				    (j == lo || !w->vers[j - 1][e->obj] ||
				     w->vers[j - 1][e->obj]->size != v->size))
					say(" %llu (op %d)",
					    (unsigned long long)v->size, j);
			}
			say("\n");
		}
		return 1;
	}
	nb = (r->a.size + BS - 1) / BS;
	for (b = 0; b < nb; b++) {
		u64 off = b * BS;
		size_t len =
			r->a.size - off < BS ? (size_t)(r->a.size - off) : BS;
		bool ok = false;
		int ncand = 0;

		for (j = lo; j <= win->k_hi && !ok; j++) {
			const struct ent *v = w->vers[j][e->obj];

			if (!v || v->type != 'f')
				continue;
			if (j > lo && w->vers[j - 1][e->obj] &&
			    w->vers[j - 1][e->obj]->type == 'f' &&
			    w->vers[j - 1][e->obj]->next == v->next &&
			    w->vers[j - 1][e->obj]->size == v->size &&
			    (!v->next ||
			     !memcmp(w->vers[j - 1][e->obj]->ext, v->ext,
				     sizeof(*v->ext) * v->next)))
				continue; /* the same version again */
			version_fill(v, off, cand[ncand], len);
			ok = !memcmp(cand[ncand], r->data + off, len);
			if (ncand < MAX_CAND - 1)
				ncand++;
		}
		/*
		 * Not one version as a whole: data are not journaled, so a
		 * block may mix them (an overwrite reached the disk, the
		 * truncation before it did not: new bytes over the old
		 * tail).  Every byte must still be one of its versions'.
		 */
		if (!ok && ncand > 1) {
			size_t x;
			int c;

			ok = true;
			for (x = 0; x < len && ok; x++) {
				for (c = 0; c < ncand; c++)
					if (cand[c][x] == r->data[off + x])
						break;
				ok = c < ncand;
			}
			if (ok)
				mixed_blocks++;
		}
		if (!ok) {
			bad++;
			if (talk) {
				size_t z;

				for (z = 0; z < len && !r->data[off + z]; z++)
					;
				say("    %s: block %llu (bytes %llu..%llu): bytes that none of its versions since op %d has there%s\n",
				    e->path, (unsigned long long)b,
				    (unsigned long long)off,
				    (unsigned long long)(off + len - 1), lo,
				    z == len ? " (it is all zeros)" : "");
			}
			if (!talk || bad > 3)
				break;
		}
	}
	return bad;
}

static int match_tree(const struct wl *w, const struct window *win, int k,
		      bool talk)
{
	const struct tree *t = &w->st[k];
	int bad = match_names(w, t, talk), i, j;

	if (bad)
		return bad;
	for (i = 0, j = 0; i < t->n; i++) {
		const struct ent *e = &t->e[i];

		while (strcmp(rt.e[j].path, e->path))
			j++;
		if (e->type != 'f')
			continue;
		/* each file once (hard links share it) */
		if (w->vers[k][e->obj] != e)
			continue;
		bad += match_data(w, win, e, &rt.e[j], talk);
		if (bad && !talk)
			break;
	}
	return bad;
}

/* 0 if the mounted tree satisfies the oracle for @win; else says why. */
int check_oracle(const struct wl *w, struct tw_fs *fs, const struct window *win)
{
	int k, err, best = -1, best_bad = 1 << 30;

	rtree_clear();
	err = walk(fs, TW_ROOT_INO, "", 0);
	if (err) {
		say("  reading the recovered tree failed (%d)\n", err);
		return 1;
	}
	qsort(rt.e, rt.n, sizeof(rt.e[0]), rent_cmp);
	for (k = win->k_hi; k >= win->k_meta; k--) {
		int names = match_names(w, &w->st[k], false);

		if (!names && !match_tree(w, win, k, false))
			return 0;
		if (names < best_bad) {
			best_bad = names;
			best = k;
		}
	}
	say("  oracle: the recovered tree is not the tree after any op in %d..%d\n",
	    win->k_meta, win->k_hi);
	if (win->k_meta > 0)
		say("    (op %d, %s, was durable at log offset %llu)\n",
		    win->k_meta, w->ops[win->k_meta].text,
		    (unsigned long long)w->ops[win->k_meta].end);
	if (best < 0)
		return 1;
	say("  closest: after op %d (%s):\n", best,
	    best ? w->ops[best].text : "the empty filesystem");
	match_tree(w, win, best, true);
	return 1;
}
