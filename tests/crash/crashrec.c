// SPDX-License-Identifier: GPL-2.0
/*
 * crashrec.c - record a workload on the core in this process: the
 * user-space home's core, on the user-space environment's write recorder.
 *
 * Layer: tests (tests/crash).  Calls the core API (twinfs.h), the
 * user-space environment (tw_user.h: RAM backend, recorder, write log) and
 * the C library.
 *
 *   crashrec [--cache BLOCKS] WORKLOAD_DIR
 *
 * Reads WORKLOAD_DIR/base.img (a fresh mkfs.twinfs image) and ops.txt (the
 * op script crashlib.py wrote), mounts the image from a RAM device behind
 * the recorder, runs the script through the core API as a home would (an
 * inode whose last name goes is evicted at once, as when no one holds it
 * open), and leaves log.twwlog (every block write and flush), pos.txt
 * (where each op began and ended in the log) and home ("core").
 *
 * Built twice more against test builds of the core with broken journal
 * ordering (crashrec-early1, crashrec-early2; see TW_TEST_COMMIT_EARLY in
 * common/journal.c), to show that crashcheck notices.
 */
#include "tw_user.h"
#include "twinfs.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BS 4096u

static const char *wdir;
static int lineno;

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt,
								...)
{
	va_list ap;

	fprintf(stderr, "crashrec: %s: ", wdir ? wdir : "");
	if (lineno)
		fprintf(stderr, "ops.txt line %d: ", lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The data pattern (crashlib.py: pat()). */
#define PAT_PRIME 65521u
static u8 pat_table[2 * PAT_PRIME];

static void pat_init(void)
{
	u32 x = 0x2545F491u, i;

	for (i = 0; i < PAT_PRIME; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pat_table[i] = (u8)(x >> 11);
	}
	memcpy(pat_table + PAT_PRIME, pat_table, PAT_PRIME);
}

static void pat_fill(u64 seed, u64 off, u8 *out, size_t len)
{
	u8 k = (u8)seed;

	while (len) {
		u64 start = (off + seed * 7919u) % PAT_PRIME;
		size_t n = len < PAT_PRIME ? len : PAT_PRIME, i;

		for (i = 0; i < n; i++)
			out[i] = pat_table[start + i] ^ k;
		out += n;
		off += n;
		len -= n;
	}
}

static struct tw_fs *fs;
static const struct tw_cred root = { 0, 0 };

/* Resolve @path's parent directory; *@name points at the last component. */
static u64 resolve_parent(const char *path, const char **name)
{
	char comp[256];
	const char *p = path, *slash;
	struct tw_attr a;
	u64 dir = TW_ROOT_INO;
	int err;

	while ((slash = strchr(p, '/'))) {
		size_t len = (size_t)(slash - p);

		if (len == 0 || len >= sizeof(comp))
			die("bad path %s", path);
		memcpy(comp, p, len);
		err = tw_lookup(fs, dir, comp, (u32)len, &a);
		if (err)
			die("lookup of %.*s in %s: %d", (int)len, comp, path,
			    err);
		dir = a.ino;
		p = slash + 1;
	}
	*name = p;
	return dir;
}

static u64 resolve(const char *path)
{
	const char *name;
	u64 dir;
	struct tw_attr a;
	int err;

	if (!strcmp(path, "."))
		return TW_ROOT_INO;
	dir = resolve_parent(path, &name);
	err = tw_lookup(fs, dir, name, (u32)strlen(name), &a);

	if (err)
		die("lookup of %s: %d", path, err);
	return a.ino;
}

/* Open handles (hold/release): a file unlinked while held is an orphan. */
#define MAX_HANDLES 16
static struct {
	char name[16];
	u64 ino;
} handles[MAX_HANDLES];

static int handle(const char *name, bool add)
{
	int i, free_slot = -1;

	for (i = 0; i < MAX_HANDLES; i++) {
		if (handles[i].ino && !strcmp(handles[i].name, name))
			return i;
		if (!handles[i].ino && free_slot < 0)
			free_slot = i;
	}
	if (!add || free_slot < 0 || strlen(name) >= sizeof(handles[0].name))
		die("handle %s: %s", name, add ? "no room" : "not held");
	snprintf(handles[free_slot].name, sizeof(handles[0].name), "%s", name);
	return free_slot;
}

static bool held(u64 ino)
{
	int i;

	for (i = 0; i < MAX_HANDLES; i++)
		if (handles[i].ino == ino)
			return true;
	return false;
}

static void evict_if_gone(u64 ino, u32 nlink)
{
	int err;

	if (ino && nlink == 0 && !held(ino)) {
		err = tw_evict(fs, ino);
		if (err)
			die("evict %llu: %d", (unsigned long long)ino, err);
	}
}

/*
 * A POSIX ACL in setfacl's short text form with numeric ids
 * ("u::rw-,u:1000:r--,g::r--,m::rw-,o::---") as Linux's xattr value: a
 * le32 version, then per entry le16 tag, le16 permissions, le32 id
 * (ACL_UNDEFINED_ID for the unnamed entries, as the kernel writes them).
 * crashlib.py: acl_value().  Returns the size.
 */
static size_t acl_value(const char *text, u8 *out, size_t max)
{
	const char *p = text;
	size_t n = 4;

	out[0] = TW_ACL_VERSION;
	out[1] = out[2] = out[3] = 0;
	while (*p) {
		u32 tag, perm = 0, id = TW_ACL_UNDEFINED_ID;
		char t = *p;
		int i;

		if (n + 8 > max || p[1] != ':')
			die("bad ACL %s", text);
		p += 2;
		if (*p != ':') {
			char *end;

			id = (u32)strtoul(p, &end, 10);
			p = end;
		}
		if (*p++ != ':')
			die("bad ACL %s", text);
		for (i = 0; i < 3; i++, p++) {
			if (*p == "rwx"[i])
				perm |= 4u >> i;
			else if (*p != '-')
				die("bad ACL %s", text);
		}
		switch (t) {
		case 'u':
			tag = id == TW_ACL_UNDEFINED_ID ? TW_ACL_USER_OBJ :
							  TW_ACL_USER;
			break;
		case 'g':
			tag = id == TW_ACL_UNDEFINED_ID ? TW_ACL_GROUP_OBJ :
							  TW_ACL_GROUP;
			break;
		case 'm':
			tag = TW_ACL_MASK;
			break;
		case 'o':
			tag = TW_ACL_OTHER;
			break;
		default:
			tag = 0;
		}
		if (!tag || (*p && *p != ','))
			die("bad ACL %s", text);
		out[n] = (u8)tag;
		out[n + 1] = (u8)(tag >> 8);
		out[n + 2] = (u8)perm;
		out[n + 3] = 0;
		out[n + 4] = (u8)id;
		out[n + 5] = (u8)(id >> 8);
		out[n + 6] = (u8)(id >> 16);
		out[n + 7] = (u8)(id >> 24);
		n += 8;
		if (*p)
			p++;
	}
	return n;
}

static const char *acl_name(const char *type)
{
	if (!strcmp(type, "access"))
		return "system.posix_acl_access";
	if (!strcmp(type, "default"))
		return "system.posix_acl_default";
	die("ACL type %s", type);
}

static void run_op(char **f, int n)
{
	const char *name, *name2;
	u64 dir, dir2, ino = 0, victim = 0;
	u32 nlink = 1, vnlink = 1;
	int err = 0;

#define NEED(k)                                               \
	do {                                                  \
		if (n != (k))                                 \
			die("%s wants %d fields", f[0], (k)); \
	} while (0)
	if (!strcmp(f[0], "mkdir")) {
		NEED(3);
		dir = resolve_parent(f[1], &name);
		err = tw_mkdir(fs, &root, dir, name, (u32)strlen(name),
			       (u32)strtoul(f[2], NULL, 8), NULL);
	} else if (!strcmp(f[0], "create")) {
		NEED(3);
		dir = resolve_parent(f[1], &name);
		err = tw_mknod(fs, &root, dir, name, (u32)strlen(name),
			       TW_S_IFREG | (u32)strtoul(f[2], NULL, 8), 0,
			       NULL);
	} else if (!strcmp(f[0], "write") || !strcmp(f[0], "hwrite")) {
		u64 off = strtoull(f[2], NULL, 10), done = 0;
		size_t len = strtoull(f[3], NULL, 10);
		u8 *buf;

		NEED(5);
		ino = f[0][0] == 'h' ? handles[handle(f[1], false)].ino :
				       resolve(f[1]);
		buf = malloc(len ? len : 1);
		if (!buf)
			die("out of memory");
		pat_fill(strtoull(f[4], NULL, 10), off, buf, len);
		while (done < len) {
			ssize_t r = tw_write(fs, ino, off + done, buf + done,
					     len - done);

			if (r <= 0)
				die("write: %zd", r);
			done += (u64)r;
		}
		free(buf);
	} else if (!strcmp(f[0], "truncate")) {
		struct tw_setattr sa = { .valid = TW_SET_SIZE };

		NEED(3);
		sa.size = strtoull(f[2], NULL, 10);
		err = tw_setattr(fs, resolve(f[1]), &sa, NULL);
	} else if (!strcmp(f[0], "fallocate")) {
		NEED(5);
		err = tw_fallocate(
			fs, resolve(f[1]), (u32)strtoul(f[2], NULL, 10),
			strtoull(f[3], NULL, 10), strtoull(f[4], NULL, 10));
	} else if (!strcmp(f[0], "link")) {
		NEED(3);
		ino = resolve(f[1]);
		dir = resolve_parent(f[2], &name);
		err = tw_link(fs, ino, dir, name, (u32)strlen(name), NULL);
	} else if (!strcmp(f[0], "unlink")) {
		NEED(2);
		dir = resolve_parent(f[1], &name);
		err = tw_unlink(fs, dir, name, (u32)strlen(name), &ino, &nlink);
		if (!err)
			evict_if_gone(ino, nlink);
	} else if (!strcmp(f[0], "rmdir")) {
		NEED(2);
		dir = resolve_parent(f[1], &name);
		err = tw_rmdir(fs, dir, name, (u32)strlen(name), &ino, &nlink);
		if (!err)
			evict_if_gone(ino, nlink);
	} else if (!strcmp(f[0], "rename")) {
		u32 flags = 0;

		if (n == 4 && !strcmp(f[3], "whiteout"))
			flags = TW_RENAME_WHITEOUT;
		else
			NEED(3);
		dir = resolve_parent(f[1], &name);
		dir2 = resolve_parent(f[2], &name2);
		err = tw_rename(fs, &root, dir, name, (u32)strlen(name), dir2,
				name2, (u32)strlen(name2), flags, &victim,
				&vnlink);
		if (!err)
			evict_if_gone(victim, vnlink);
	} else if (!strcmp(f[0], "symlink")) {
		NEED(3);
		dir = resolve_parent(f[2], &name);
		err = tw_symlink(fs, &root, dir, name, (u32)strlen(name), f[1],
				 (u32)strlen(f[1]), NULL);
	} else if (!strcmp(f[0], "setxattr")) {
		size_t len = strtoull(f[3], NULL, 10);
		u8 *val;

		NEED(5);
		val = malloc(len ? len : 1);
		if (!val)
			die("out of memory");
		pat_fill(strtoull(f[4], NULL, 10), 0, val, len);
		err = tw_setxattr(fs, resolve(f[1]), f[2], val, len, 0);
		free(val);
	} else if (!strcmp(f[0], "removexattr")) {
		NEED(3);
		err = tw_removexattr(fs, resolve(f[1]), f[2]);
	} else if (!strcmp(f[0], "setacl")) {
		u8 val[512];
		size_t len;

		NEED(4);
		len = acl_value(f[3], val, sizeof(val));
		err = tw_setxattr(fs, resolve(f[1]), acl_name(f[2]), val, len,
				  0);
	} else if (!strcmp(f[0], "rmacl")) {
		NEED(3);
		err = tw_removexattr(fs, resolve(f[1]), acl_name(f[2]));
	} else if (!strcmp(f[0], "fsync") || !strcmp(f[0], "fdatasync")) {
		NEED(2);
		err = tw_fsync(fs, resolve(f[1]), f[0][1] == 'd');
	} else if (!strcmp(f[0], "hold")) {
		int h;

		NEED(3);
		ino = resolve(f[1]);
		h = handle(f[2], true);
		handles[h].ino = ino;
	} else if (!strcmp(f[0], "tmpfile")) {
		struct tw_attr a;
		int h;

		/* O_TMPFILE: unnamed, on the orphan list, held */
		NEED(4);
		h = handle(f[3], true);
		err = tw_tmpfile(fs, &root, resolve(f[1]),
				 TW_S_IFREG | (u32)strtoul(f[2], NULL, 8), &a);
		if (!err)
			handles[h].ino = a.ino;
	} else if (!strcmp(f[0], "hlink")) {
		struct tw_attr a;

		/* linkat(): both ways of naming the file are one call here;
		 * a file without links is an O_TMPFILE one, as in the
		 * module (twinfs_link()) */
		NEED(4);
		ino = handles[handle(f[1], false)].ino;
		dir = resolve_parent(f[2], &name);
		err = tw_getattr(fs, ino, &a);
		if (!err && a.nlink)
			err = tw_link(fs, ino, dir, name, (u32)strlen(name),
				      NULL);
		else if (!err)
			err = tw_link_tmpfile(fs, ino, dir, name,
					      (u32)strlen(name), NULL);
	} else if (!strcmp(f[0], "hfsync")) {
		NEED(2);
		err = tw_fsync(fs, handles[handle(f[1], false)].ino, false);
	} else if (!strcmp(f[0], "release")) {
		struct tw_attr a;
		int h;

		NEED(2);
		h = handle(f[1], false);
		ino = handles[h].ino;
		handles[h].ino = 0;
		err = tw_getattr(fs, ino, &a);
		if (!err)
			evict_if_gone(ino, a.nlink);
	} else if (!strcmp(f[0], "sync")) {
		NEED(1);
		err = tw_sync(fs);
	} else if (!strcmp(f[0], "umount")) {
		NEED(1);
		err = tw_unmount(fs);
		fs = NULL;
	} else {
		die("unknown op %s", f[0]);
	}
	if (err)
		die("%s %s: %d (%s)", f[0], n > 1 ? f[1] : "", err,
		    strerror(-err));
#undef NEED
}

static u64 log_offset(struct tw_wlog *log)
{
	u64 w, fl;

	tw_wlog_counts(log, &w, &fl);
	return 32 + w * (16 + BS) + fl * 16;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || (n && fread(buf, 1, (size_t)n, f) != (size_t)n))
		die("%s: cannot read", path);
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	char path[4096], *ops, *line, *next, *f[8];
	size_t cache = 64, len, oplen;
	struct tw_backend *ram, *rec;
	struct tw_wlog *log;
	struct tw_dev *dev;
	u8 *base;
	FILE *pos;
	int c, err, i = 0, n;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		if (c != 'c') {
			fprintf(stderr,
				"usage: crashrec [--cache BLOCKS] WORKLOAD_DIR\n");
			return 2;
		}
		cache = strtoul(optarg, NULL, 10);
	}
	if (argc - optind != 1) {
		fprintf(stderr,
			"usage: crashrec [--cache BLOCKS] WORKLOAD_DIR\n");
		return 2;
	}
	wdir = argv[optind];
	pat_init();
	tw_log_set_level(TW_LOG_WARN);

	snprintf(path, sizeof(path), "%s/base.img", wdir);
	base = (u8 *)slurp(path, &len);
	if (!len || len % BS)
		die("%s: not whole blocks", path);
	snprintf(path, sizeof(path), "%s/ops.txt", wdir);
	ops = slurp(path, &oplen);

	ram = tw_backend_ram(len / BS);
	if (!ram)
		die("out of memory");
	memcpy(tw_backend_ram_data(ram), base, len);
	snprintf(path, sizeof(path), "%s/log.twwlog", wdir);
	log = tw_wlog_create(path, &err);
	if (!log)
		die("%s: %s", path, strerror(-err));
	rec = tw_backend_recorder(ram, log);
	if (!rec)
		die("cannot make the recorder");
	dev = tw_udev_from_backend(rec);
	if (!dev)
		die("out of memory");
	/* a small cache: writeback under pressure, not only at commits */
	tw_udev_set_cache_limit(dev, cache * BS);
	err = tw_mount(dev, len / BS, NULL, &fs);
	if (err)
		die("mount: %d", err);

	snprintf(path, sizeof(path), "%s/pos.txt", wdir);
	pos = fopen(path, "w");
	if (!pos)
		die("%s: %s", path, strerror(errno));
	fprintf(pos, "twinfs-crash-pos 1\n");
	for (line = ops; line && *line; line = next) {
		u64 start;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "twinfs-crash-ops 1"))
				die("not an op script");
			continue;
		}
		for (n = 0; n < 8 && (f[n] = strtok(n ? NULL : line, " ")); n++)
			;
		if (!n)
			continue;
		if (!fs)
			die("operation after umount");
		start = log_offset(log);
		run_op(f, n);
		fprintf(pos, "p %d %llu %llu\n", ++i, (unsigned long long)start,
			(unsigned long long)log_offset(log));
	}
	lineno = 0;
	if (fs)
		die("the script does not end with umount");
	if (fclose(pos))
		die("pos.txt: %s", strerror(errno));
	err = tw_udev_close(dev);
	if (err)
		die("closing the device: %d", err);
	err = tw_wlog_free(log);
	if (err)
		die("the log: %s", strerror(-err));
	snprintf(path, sizeof(path), "%s/home", wdir);
	pos = fopen(path, "w");
	if (!pos || fprintf(pos, "core\n") < 0 || fclose(pos))
		die("%s: cannot write", path);
	free(ops);
	free(base);
	return 0;
}
