// SPDX-License-Identifier: GPL-2.0
/*
 * dump_path.c - twinfs-dump's commands that take a PATH: ls (a directory
 * like ls -l, with inode numbers) and stat (the inode at PATH), each
 * resolved from the root without following symlinks.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls the
 * dump's output (dump_out.c), dump_inode.c (show_inode()), the core's API
 * (tw_lookup, tw_readdir, tw_getattr, ...), toolutil and the C library.
 */
#include "dump.h"

#include <stdlib.h>

/* Resolve @path from the root, component by component (symlinks are not
 * followed: the last component is shown as it is, like lstat). */
static int resolve(const char *path, u64 *ino)
{
	struct tw_attr a;
	const char *p = path, *e;
	u64 cur = TW_ROOT_INO;
	int err;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		for (e = p; *e && *e != '/'; e++)
			;
		tu_log_clear();
		err = tw_lookup(fs, cur, p, (u32)(e - p), &a);
		if (err)
			return err;
		if (*e && !TW_S_ISDIR(a.mode))
			return -ENOTDIR;
		cur = a.ino;
		p = e;
	}
	*ino = cur;
	return 0;
}

struct ls_ent {
	char *name;
	u32 len;
	u64 ino;
	u32 dtype;
	u64 cookie;
};

struct ls_ctx {
	struct ls_ent *e;
	size_t n, cap;
	int err;
};

static int ls_collect(void *ctx, const char *name, u32 len, u64 ino,
		      u32 dtype, u64 next)
{
	struct ls_ctx *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct ls_ent *n = realloc(c->e, cap * sizeof(*n));

		if (!n) {
			c->err = -ENOMEM;
			return 1;
		}
		c->e = n;
		c->cap = cap;
	}
	c->e[c->n].name = malloc(len ? len : 1);
	if (!c->e[c->n].name) {
		c->err = -ENOMEM;
		return 1;
	}
	memcpy(c->e[c->n].name, name, len);
	c->e[c->n].len = len;
	c->e[c->n].ino = ino;
	c->e[c->n].dtype = dtype;
	c->e[c->n].cookie = next - 1;
	c->n++;
	return 0;
}

/* One ls -l line (or JSON object) for an inode shown under @name. */
static void ls_line(const char *name, u32 len, u64 ino, u64 cookie,
		    bool with_cookie)
{
	char modes[12], t[TU_TIME_LEN], nb[1100], tb[4200], tgt[4096];
	struct tw_attr a;
	ssize_t tl = -1;
	int err;

	tu_log_clear();
	err = tw_getattr(fs, ino, &a);
	if (!err && TW_S_ISLNK(a.mode))
		tl = tw_readlink(fs, ino, tgt, sizeof(tgt));
	if (json) {
		tu_json_obj_begin(&J);
		tu_json_key(&J, "name");
		tu_json_strn(&J, name, len);
		tu_json_ku64(&J, "ino", ino);
		if (with_cookie)
			tu_json_ku64(&J, "cookie", cookie);
		if (err) {
			tu_json_kstr(&J, "error", tu_strerror(err));
		} else {
			tu_json_ku64(&J, "mode", a.mode);
			tu_json_kstr(&J, "mode_string", tu_fmt_mode(a.mode,
								    modes));
			tu_json_ku64(&J, "nlink", a.nlink);
			tu_json_ku64(&J, "uid", a.uid);
			tu_json_ku64(&J, "gid", a.gid);
			tu_json_ku64(&J, "size", a.size);
			tu_json_ks64(&J, "mtime", a.mtime);
			tu_json_kstr(&J, "mtime_iso",
				     tu_fmt_time(a.mtime, t, sizeof(t)));
			if (tl >= 0) {
				tu_json_key(&J, "target");
				tu_json_strn(&J, tgt, (size_t)tl);
			}
		}
		tu_json_obj_end(&J);
		return;
	}
	tu_fmt_name(name, len, nb, sizeof(nb));
	if (err) {
		line("%10llu  ?  %s: %s", (unsigned long long)ino, nb,
		     tu_strerror(err));
		return;
	}
	tu_fmt_time(a.mtime, t, sizeof(t));
	t[19] = '\0'; /* seconds are enough in a listing */
	line("%8llu %s %3u %5u %5u %10llu %s %s%s%s", (unsigned long long)ino,
	     tu_fmt_mode(a.mode, modes), a.nlink, a.uid, a.gid,
	     (unsigned long long)a.size, t, nb, tl >= 0 ? " -> " : "",
	     tl >= 0 ? tu_fmt_name(tgt, (size_t)tl, tb, sizeof(tb)) : "");
}

int cmd_ls(const char *path)
{
	struct ls_ctx c = { 0 };
	struct tw_attr a;
	u64 ino;
	size_t i;
	int err;

	err = resolve(path, &ino);
	if (err)
		return fail(err, "%s", path);
	err = tw_getattr(fs, ino, &a);
	if (err)
		return fail(err, "%s", path);
	if (json)
		tu_json_kstr(&J, "path", path);
	if (!TW_S_ISDIR(a.mode)) {
		list("entries", "%s:", path);
		ls_line(path, (u32)strlen(path), ino, 0, false);
		list_end();
		return 0;
	}
	tu_log_clear();
	err = tw_readdir(fs, ino, 0, ls_collect, &c);
	if (!err)
		err = c.err;
	if (!err) {
		list("entries", "%s (directory %llu, %zu entries incl. . and ..):",
		     path, (unsigned long long)ino, c.n);
		line("%8s %-10s %3s %5s %5s %10s %-19s %s", "ino", "mode",
		     "lnk", "uid", "gid", "size", "mtime", "name");
		for (i = 0; i < c.n; i++)
			ls_line(c.e[i].name, c.e[i].len, c.e[i].ino,
				c.e[i].cookie, true);
		list_end();
	}
	for (i = 0; i < c.n; i++)
		free(c.e[i].name);
	free(c.e);
	if (err)
		return fail(err, "%s: readdir", path);
	return 0;
}

int cmd_stat(const char *path)
{
	u64 ino;
	int err = resolve(path, &ino);

	if (err)
		return fail(err, "%s", path);
	return show_inode(ino, path);
}
