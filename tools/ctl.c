// SPDX-License-Identifier: GPL-2.0
/*
 * ctl.c - twinfs-ctl: use a twinfs image without mounting it, through the
 * core in this very process (like mtools or e2tools).  For scripts, tests,
 * the demo, and for seeing the core work without any kernel involvement.
 *
 *   twinfs-ctl IMAGE ls [PATH]          twinfs-ctl IMAGE mkdir PATH
 *   twinfs-ctl IMAGE put FILE PATH      twinfs-ctl IMAGE get PATH FILE
 *   twinfs-ctl IMAGE cat PATH           twinfs-ctl IMAGE rm PATH
 *   twinfs-ctl IMAGE rmdir PATH         twinfs-ctl IMAGE mv OLD NEW
 *   twinfs-ctl IMAGE ln OLD NEW         twinfs-ctl IMAGE symlink TARGET PATH
 *   twinfs-ctl IMAGE stat PATH          twinfs-ctl IMAGE truncate PATH SIZE
 *   twinfs-ctl IMAGE chmod MODE PATH    twinfs-ctl IMAGE setxattr PATH N V
 *   twinfs-ctl IMAGE getxattr PATH N    twinfs-ctl IMAGE df
 *   twinfs-ctl IMAGE write PATH OFFSET TEXT
 *   twinfs-ctl IMAGE -                  (commands from stdin, one a line)
 *   twinfs-ctl --help | --version
 *
 * Exit status: 0 done, 1 the image or a command failed, 2 bad usage.  The
 * manual page is man/twinfs-ctl.8.in: keep it in step with usage().
 *
 * Layer: tools.  Calls the core API (twinfs.h), the user-space environment
 * (user/tw_user.h), toolutil and the C library.
 */
#include "toolutil.h"
#include "twinfs.h"
#include "tw_user.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tw_fs *fs;

/* Resolve @path to an inode; with @parent, resolve all but the last
 * component and return that in *@last. */
static int resolve(const char *path, u64 *ino, bool parent, const char **last,
		   u32 *lastlen)
{
	u64 cur = TW_ROOT_INO;
	const char *p = path;
	struct tw_attr a;
	int err;

	for (;;) {
		const char *s, *e;

		while (*p == '/')
			p++;
		s = p;
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		p = e;
		while (*p == '/')
			p++;
		if (e == s) {
			if (parent)
				return -EINVAL;
			*ino = cur;
			return 0;
		}
		if (parent && !*p) {
			*ino = cur;
			*last = s;
			*lastlen = (u32)(e - s);
			return 0;
		}
		err = tw_lookup(fs, cur, s, (u32)(e - s), &a);
		if (err)
			return err;
		cur = a.ino;
	}
}

static int emit(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		u64 next)
{
	bool longfmt = *(bool *)ctx;
	struct tw_attr a;
	char mode[11];

	if (!longfmt) {
		printf("%.*s\n", (int)len, name);
		return 0;
	}
	if (tw_getattr(fs, ino, &a))
		memset(&a, 0, sizeof(a));
	printf("%s %3u %5u %5u %10llu %8llu %.*s\n", tu_fmt_mode(a.mode, mode),
	       a.nlink, a.uid, a.gid, (unsigned long long)a.size,
	       (unsigned long long)ino, (int)len, name);
	return 0;
}

static int cmd_put(const char *src, const char *dst)
{
	struct tw_cred cred = { getuid(), getgid() };
	struct tw_attr a;
	const char *name;
	u32 len;
	u64 dir, off = 0;
	char *buf;
	ssize_t n;
	int fd, err;

	err = resolve(dst, &dir, true, &name, &len);
	if (err)
		return err;
	fd = strcmp(src, "-") ? open(src, O_RDONLY) : 0;
	if (fd < 0)
		return -errno;
	err = tw_mknod(fs, &cred, dir, name, len, TW_S_IFREG | 0644, 0, &a);
	if (err == -EEXIST) {
		struct tw_setattr sa = { .valid = TW_SET_SIZE, .size = 0 };

		err = tw_lookup(fs, dir, name, len, &a);
		if (!err)
			err = tw_setattr(fs, a.ino, &sa, &a);
	}
	buf = malloc(1 << 20);
	if (!buf)
		err = -ENOMEM;
	while (!err && (n = read(fd, buf, 1 << 20)) > 0) {
		ssize_t w = tw_write(fs, a.ino, off, buf, (size_t)n);

		if (w < 0)
			err = (int)w;
		else if (w != n)
			err = -EIO;
		off += (u64)n;
	}
	free(buf);
	if (fd > 0)
		close(fd);
	return err;
}

static int cmd_get(const char *src, const char *dst)
{
	struct tw_attr a;
	u64 ino, off = 0;
	char *buf;
	int fd, err = 0;

	err = resolve(src, &ino, false, NULL, NULL);
	if (err)
		return err;
	fd = dst ? open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644) : 1;
	if (fd < 0)
		return -errno;
	buf = malloc(1 << 20);
	if (!buf)
		err = -ENOMEM;
	while (!err) {
		ssize_t n = tw_read(fs, ino, off, buf, 1 << 20);

		if (n < 0)
			err = (int)n;
		if (n <= 0)
			break;
		if (write(fd, buf, (size_t)n) != n)
			err = -errno;
		off += (u64)n;
	}
	free(buf);
	if (fd != 1)
		close(fd);
	(void)a;
	return err;
}

static int cmd_stat(const char *path)
{
	char mode[11], t[64];
	struct tw_attr a;
	u64 ino;
	int err;

	err = resolve(path, &ino, false, NULL, NULL);
	if (!err)
		err = tw_getattr(fs, ino, &a);
	if (err)
		return err;
	printf("  File: %s\n  Inode: %llu  Type: %s  Mode: %s (%04o)\n", path,
	       (unsigned long long)a.ino, tu_mode_type(a.mode),
	       tu_fmt_mode(a.mode, mode), a.mode & 07777);
	printf("  Size: %llu  Blocks: %llu  Links: %u  Uid: %u  Gid: %u\n",
	       (unsigned long long)a.size, (unsigned long long)a.blocks,
	       a.nlink, a.uid, a.gid);
	printf("  Access: %s\n", tu_fmt_time(a.atime, t, sizeof(t)));
	printf("  Modify: %s\n", tu_fmt_time(a.mtime, t, sizeof(t)));
	printf("  Change: %s\n", tu_fmt_time(a.ctime, t, sizeof(t)));
	printf("  Birth:  %s\n", tu_fmt_time(a.btime, t, sizeof(t)));
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: twinfs-ctl IMAGE COMMAND [ARGS]\n"
		"       twinfs-ctl IMAGE -\n"
		"\n"
		"Use the twinfs filesystem in IMAGE without mounting it: the core runs\n"
		"in this process.  Paths are from the filesystem's root.\n"
		"\n"
		"Commands:\n"
		"  ls [-l] [PATH] | mkdir PATH | put FILE|- PATH |\n"
		"  get PATH [FILE] | cat PATH | rm PATH | rmdir PATH |\n"
		"  mv OLD NEW | ln OLD NEW | symlink TARGET PATH | stat PATH |\n"
		"  truncate PATH SIZE | chmod OCTAL PATH |\n"
		"  setxattr PATH NAME VALUE | getxattr PATH NAME | df |\n"
		"  write PATH OFFSET TEXT\n"
		"  -  read commands from standard input, one per line\n"
		"\n"
		"Options (instead of IMAGE):\n"
		"  -V, --version  print the version and exit\n"
		"  -h, --help     print this help and exit\n"
		"\n"
		"Exit status: 0 done, 1 the image or a command failed, 2 bad usage.\n"
		"See twinfs-ctl(8).\n");
}

static int run(int argc, char **argv)
{
	struct tw_cred cred = { getuid(), getgid() };
	const char *cmd = argv[0], *name, *name2;
	u32 len, len2;
	u64 ino, dir, dir2;
	int err;

#define NEED(n)                         \
	do {                            \
		if (argc != (n) + 1) {  \
			usage(stderr);  \
			return -EINVAL; \
		}                       \
	} while (0)

	if (!strcmp(cmd, "ls")) {
		bool longfmt = argc > 1 && !strcmp(argv[1], "-l");
		const char *path = argc > 1 + longfmt ? argv[1 + longfmt] : "/";

		err = resolve(path, &ino, false, NULL, NULL);
		return err ? err : tw_readdir(fs, ino, 0, emit, &longfmt);
	}
	if (!strcmp(cmd, "mkdir")) {
		NEED(1);
		err = resolve(argv[1], &dir, true, &name, &len);
		return err ? err :
			     tw_mkdir(fs, &cred, dir, name, len, 0755, NULL);
	}
	if (!strcmp(cmd, "put")) {
		NEED(2);
		return cmd_put(argv[1], argv[2]);
	}
	if (!strcmp(cmd, "get") || !strcmp(cmd, "cat")) {
		if (argc < 2 || argc > 3) {
			usage(stderr);
			return -EINVAL;
		}
		return cmd_get(argv[1], argc == 3 ? argv[2] : NULL);
	}
	if (!strcmp(cmd, "rm") || !strcmp(cmd, "rmdir")) {
		u32 nlink;

		NEED(1);
		err = resolve(argv[1], &dir, true, &name, &len);
		if (err)
			return err;
		err = cmd[1] == 'm' ?
			      tw_unlink(fs, dir, name, len, &ino, &nlink) :
			      tw_rmdir(fs, dir, name, len, &ino, &nlink);
		if (!err && !nlink)
			err = tw_evict(fs, ino);
		return err;
	}
	if (!strcmp(cmd, "mv")) {
		u32 vn;

		NEED(2);
		err = resolve(argv[1], &dir, true, &name, &len);
		if (!err)
			err = resolve(argv[2], &dir2, true, &name2, &len2);
		if (!err)
			err = tw_rename(fs, NULL, dir, name, len, dir2, name2,
					len2, 0, &ino, &vn);
		if (!err && ino && !vn)
			err = tw_evict(fs, ino);
		return err;
	}
	if (!strcmp(cmd, "ln")) {
		NEED(2);
		err = resolve(argv[1], &ino, false, NULL, NULL);
		if (!err)
			err = resolve(argv[2], &dir, true, &name, &len);
		return err ? err : tw_link(fs, ino, dir, name, len, NULL);
	}
	if (!strcmp(cmd, "symlink")) {
		NEED(2);
		err = resolve(argv[2], &dir, true, &name, &len);
		return err ? err :
			     tw_symlink(fs, &cred, dir, name, len, argv[1],
					(u32)strlen(argv[1]), NULL);
	}
	if (!strcmp(cmd, "stat")) {
		NEED(1);
		return cmd_stat(argv[1]);
	}
	if (!strcmp(cmd, "truncate") || !strcmp(cmd, "chmod")) {
		struct tw_setattr sa = { 0 };
		const char *path = cmd[0] == 't' ? argv[1] : argv[2];
		const char *val = cmd[0] == 't' ? argv[2] : argv[1];
		u64 v;

		NEED(2);
		if (cmd[0] == 't') {
			if (tu_parse_size(val, &v))
				return -EINVAL;
			sa.valid = TW_SET_SIZE;
			sa.size = v;
		} else {
			char *end;

			sa.valid = TW_SET_MODE;
			sa.mode = (u32)strtoul(val, &end, 8);
			if (*end || sa.mode > 07777)
				return -EINVAL;
		}
		err = resolve(path, &ino, false, NULL, NULL);
		return err ? err : tw_setattr(fs, ino, &sa, NULL);
	}
	if (!strcmp(cmd, "write")) {
		u64 off;
		ssize_t n;

		NEED(3);
		if (tu_parse_size(argv[2], &off))
			return -EINVAL;
		err = resolve(argv[1], &ino, false, NULL, NULL);
		if (err)
			return err;
		n = tw_write(fs, ino, off, argv[3], strlen(argv[3]));
		return n < 0 ? (int)n : 0;
	}
	if (!strcmp(cmd, "setxattr")) {
		NEED(3);
		err = resolve(argv[1], &ino, false, NULL, NULL);
		return err ? err :
			     tw_setxattr(fs, ino, argv[2], argv[3],
					 strlen(argv[3]), 0);
	}
	if (!strcmp(cmd, "getxattr")) {
		char buf[4096];
		ssize_t n;

		NEED(2);
		err = resolve(argv[1], &ino, false, NULL, NULL);
		if (err)
			return err;
		n = tw_getxattr(fs, ino, argv[2], buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		printf("%.*s\n", (int)n, buf);
		return 0;
	}
	if (!strcmp(cmd, "df")) {
		struct tw_statfs st;

		NEED(0);
		tw_statfs(fs, &st);
		printf("blocks %llu free %llu inodes %llu free %llu\n",
		       (unsigned long long)st.blocks,
		       (unsigned long long)st.bfree,
		       (unsigned long long)st.files,
		       (unsigned long long)st.ffree);
		return 0;
	}
	usage(stderr);
	return -EINVAL;
}

/* Commands from standard input, one per line, words split at blanks. */
static int batch(void)
{
	char line[8192];
	unsigned long n = 0;

	while (fgets(line, sizeof(line), stdin)) {
		char *words[16], *save, *w;
		int nw = 0, err;

		n++;
		for (w = strtok_r(line, " \t\n", &save); w && nw < 16;
		     w = strtok_r(NULL, " \t\n", &save))
			words[nw++] = w;
		if (!nw || words[0][0] == '#')
			continue;
		err = run(nw, words);
		if (err) {
			tu_err("line %lu (%s): %s", n, words[0],
			       tu_strerror(err));
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tw_dev *dev;
	bool ro;
	int err, e2;

	tu_set_prog(argv[0]);
	tu_log_capture(TW_LOG_WARN);
	/* options only in place of IMAGE; "--" ends them */
	if (argc > 1 && !strcmp(argv[1], "--")) {
		argv++;
		argc--;
	} else if (argc > 1 &&
		   (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	} else if (argc > 1 &&
		   (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		tu_version("twinfs-ctl");
		return 0;
	} else if (argc > 1 && argv[1][0] == '-' && argv[1][1]) {
		if (argv[1][1] == '-')
			tu_err("unrecognized option '%s'", argv[1]);
		else
			tu_err("invalid option -- '%c'", argv[1][1]);
		tu_try_help();
		return 2;
	}
	if (argc < 3) {
		if (argc < 2)
			tu_err("missing IMAGE and COMMAND");
		else
			tu_err("missing COMMAND");
		tu_try_help();
		return 2;
	}
	ro = !strcmp(argv[2], "ls") || !strcmp(argv[2], "cat") ||
	     !strcmp(argv[2], "get") || !strcmp(argv[2], "stat") ||
	     !strcmp(argv[2], "getxattr") || !strcmp(argv[2], "df");
	dev = tu_open(argv[1], !ro, &err);
	if (!dev) {
		tu_err_path(argv[1], err, NULL);
		return 1;
	}
	{
		struct tw_mount_opts mo = { .flags = ro ? TW_MNT_RDONLY : 0 };

		err = tw_mount(dev, tw_udev_blocks(dev), &mo, &fs);
	}
	if (err) {
		tu_err_path(argv[1], err, "cannot mount");
		tw_udev_close(dev);
		return 1;
	}
	if (!strcmp(argv[2], "-")) {
		err = batch();
	} else {
		err = run(argc - 2, argv + 2);
		if (err)
			tu_err_path(argv[3 < argc ? 3 : 2], err, argv[2]);
	}
	e2 = tw_unmount(fs);
	if (!err && e2)
		tu_err_path(argv[1], e2, "unmount");
	tw_udev_close(dev);
	return err || e2 ? 1 : 0;
}
