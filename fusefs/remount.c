// SPDX-License-Identifier: GPL-2.0
/*
 * remount.c - `mount -o remount,ro` and `remount,rw` of twinfs-fuse.
 *
 * Layer: fusefs (user space).  Calls the core API (tw_remount), libfuse3's
 * low-level API (the ioctl reply), the C library and Linux system calls
 * (mount(2), poll(2) on /proc/self/mountinfo).
 *
 * How a remount reaches a FUSE daemon.  The kernel's FUSE remount
 * (fuse_reconfigure) syncs the superblock and accepts a change of the
 * read-only flag (and the other MS_RMT_MASK flags), but it sends the
 * daemon nothing: no request tells a /dev/fuse daemon that its
 * filesystem turned read-only (FUSE_SYNCFS exists only for virtiofs, and
 * libfuse 3.14 has no operation for it).  mount(8) does not make the
 * mount(2) call itself for a fuse.TYPE mount: it runs mount.fuse3, which
 * runs `twinfs IMAGE MNT -o remount,ro,...`, and libfuse has no remount
 * either (fusermount3 does not know the option).  So that invocation
 * lands here, and does what a kernel filesystem's remount does:
 *
 *  - ro: mount(2) MS_REMOUNT|MS_RDONLY (the VFS syncs, refuses with EBUSY
 *    while a file is open for writing, and from then on refuses every
 *    change with EROFS), then the TF_IOC_REMOUNT ioctl on the mount's
 *    root: the daemon commits everything, marks the image clean and
 *    refuses changes itself (tf_set_rdonly), and answers when done;
 *  - rw: the ioctl first (the kernel still refuses writes), then mount(2);
 *    if that fails, the ioctl again puts the daemon back to read-only.
 *
 * A remount made without the helper (mount(2) itself, `mount -i`, a
 * shutdown that remounts everything read-only) is seen by the daemon's
 * watcher: the kernel signals a change of the mount table with POLLPRI on
 * /proc/self/mountinfo, and the daemon follows each change of the
 * read-only flag of its superblock (the "super options" field) there.
 * It follows changes only: the helper's ioctl may put the daemon ahead of
 * the kernel (rw before the kernel's mount(2)), and root may make the
 * daemon read-only by the ioctl alone (the tests do, to see that the
 * daemon itself refuses every change).
 */
#include "ops.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the daemon's side ---- */

int tf_set_rdonly(struct tf_state *st, bool ro)
{
	int err = 0;

	pthread_mutex_lock(&st->remount_lock);
	if (tf_is_ro(st) == ro || !st->fs)
		goto out;
	if (!ro && st->dev_rdonly) {
		tf_logf(TW_LOG_ERR,
			"%s is read-only: cannot remount read-write",
			st->cfg->image);
		err = -EROFS;
		goto out;
	}
	err = tw_remount(st->fs, ro ? TW_MNT_RDONLY : 0);
	if (err)
		tf_logf(TW_LOG_ERR, "remount %s: %s", ro ? "ro" : "rw",
			strerror(-err));
	/* on the way to read-only the core stops writing whatever happened */
	if (!err || ro)
		__atomic_store_n(&st->ro, ro, __ATOMIC_RELEASE);
	if (!err && st->cfg->verbose)
		tf_logf(TW_LOG_INFO, "%s: remounted %s", st->cfg->image,
			ro ? "read-only (image clean)" : "read-write");
out:
	pthread_mutex_unlock(&st->remount_lock);
	return err;
}

static void tf_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct tf_state *s = ST(req);
	uint32_t want;
	int err;

	if (cmd != TF_IOC_REMOUNT) {
		tf_reply_err(req, ENOTTY);
		return;
	}
	if (in_bufsz != sizeof(want)) {
		tf_reply_err(req, EINVAL);
		return;
	}
	/* what mount(2) needs: only root changes a mount */
	if (fuse_req_ctx(req)->uid != 0) {
		tf_reply_err(req, EPERM);
		return;
	}
	memcpy(&want, in_buf, sizeof(want));
	err = tf_set_rdonly(s, want & TW_MNT_RDONLY);
	if (err)
		tf_reply_err(req, err);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}

void tf_remount_ops(struct fuse_lowlevel_ops *ops)
{
	ops->ioctl = tf_ioctl;
}

/* ---- the mount table ---- */

/* Undo the octal escapes of /proc/self/mountinfo ("\040" is a space). */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* One line of mountinfo, split (pointers into the line). */
struct minfo {
	int id;
	unsigned int major, minor;
	char *where, *type, *source, *super;
};

static bool split_line(char *line, struct minfo *m)
{
	char *tok[64], *p = line, *save = NULL;
	int n = 0, i;

	line[strcspn(line, "\n")] = '\0';
	while (n < 64 && (tok[n] = strtok_r(p, " ", &save))) {
		p = NULL;
		n++;
	}
	/* id parent maj:min root mountpoint opts [tags] - type source super */
	for (i = 6; i < n && strcmp(tok[i], "-"); i++)
		;
	if (n < 7 || i + 3 >= n)
		return false;
	if (sscanf(tok[2], "%u:%u", &m->major, &m->minor) != 2)
		return false;
	m->id = atoi(tok[0]);
	m->where = tok[4];
	m->type = tok[i + 1];
	m->source = tok[i + 2];
	m->super = tok[i + 3];
	unescape(m->where);
	unescape(m->source);
	return true;
}

static bool has_opt(const char *list, const char *opt)
{
	size_t l = strlen(opt);

	for (;;) {
		if (!strncmp(list, opt, l) && (list[l] == ',' || !list[l]))
			return true;
		list = strchr(list, ',');
		if (!list)
			return false;
		list++;
	}
}

void tf_watch_find(struct tf_state *st, const char *fsname)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	struct minfo m;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		if (!split_line(line, &m) || strcmp(m.type, "fuse.twinfs") ||
		    strcmp(m.where, st->cfg->mountpoint) ||
		    strcmp(m.source, fsname))
			continue;
		/* the last one is the topmost: the one just made */
		st->mnt_id = m.id;
		st->mnt_major = m.major;
		st->mnt_minor = m.minor;
		st->kernel_ro = has_opt(m.super, "ro");
	}
	free(line);
	fclose(f);
}

/* The kernel's read-only flag of our superblock: 1, 0, or -1 unknown. */
static int kernel_ro(struct tf_state *st)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	struct minfo m;
	int ro = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (!split_line(line, &m) || m.major != st->mnt_major ||
		    m.minor != st->mnt_minor || strcmp(m.type, "fuse.twinfs"))
			continue;
		/* any mount of the superblock shows its flags */
		ro = has_opt(m.super, "ro");
		if (m.id == st->mnt_id)
			break;
	}
	free(line);
	fclose(f);
	return ro;
}

static void *watcher(void *arg)
{
	struct tf_state *st = arg;
	struct pollfd p[2];
	int ro;

	p[0].fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	p[0].events = POLLPRI;
	p[1].fd = st->watch_pipe[0];
	p[1].events = POLLIN;
	if (p[0].fd < 0)
		return NULL;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & (POLLPRI | POLLERR)))
			continue;
		ro = kernel_ro(st);
		if (ro < 0 || ro == st->kernel_ro)
			continue;
		st->kernel_ro = ro;
		tf_set_rdonly(st, ro);
	}
	close(p[0].fd);
	return NULL;
}

int tf_watch_start(struct tf_state *st)
{
	int err;

	if (!st->mnt_id)
		return -ENOENT;
	if (pipe2(st->watch_pipe, O_CLOEXEC))
		return -errno;
	err = pthread_create(&st->watcher, NULL, watcher, st);
	if (err) {
		close(st->watch_pipe[0]);
		close(st->watch_pipe[1]);
		return -err;
	}
	st->watcher_running = true;
	return 0;
}

void tf_watch_stop(struct tf_state *st)
{
	if (!st->watcher_running)
		return;
	if (write(st->watch_pipe[1], "x", 1) < 0)
		pthread_cancel(st->watcher);
	pthread_join(st->watcher, NULL);
	close(st->watch_pipe[0]);
	close(st->watch_pipe[1]);
	st->watcher_running = false;
}

/* ---- the helper's side: `twinfs IMAGE MNT -o remount,...` ---- */

static int send_remount(int fd, bool ro)
{
	uint32_t want = ro ? TW_MNT_RDONLY : 0;

	return ioctl(fd, TF_IOC_REMOUNT, &want) ? -errno : 0;
}

int tf_remount_main(struct tf_config *cfg)
{
	unsigned long flags;
	struct stat st;
	int fd, err;

	fd = open(cfg->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "%s: remount %s: %s\n", TF_PROG,
			cfg->mountpoint, strerror(errno));
		return TF_EXIT_FAIL;
	}
	/*
	 * The per-mount flags are set as a whole, as mount(8) does: it
	 * hands the helper the mount's current options merged with the new
	 * ones (an atime flag left out keeps the current one).
	 */
	flags = (MS_REMOUNT | cfg->ms_set) & ~cfg->ms_clear;
	if (cfg->ro)
		flags |= MS_RDONLY;
	if (!cfg->ro) {
		/* the daemon first: the kernel still refuses every write */
		err = send_remount(fd, false);
		if (err)
			goto fail_ioctl;
	}
	if (mount(NULL, cfg->mountpoint, NULL, flags, NULL)) {
		err = errno;
		fprintf(stderr, "%s: cannot remount %s %s: %s%s\n", TF_PROG,
			cfg->mountpoint, cfg->ro ? "read-only" : "read-write",
			strerror(err),
			err == EBUSY ? " (a file is open for writing)" : "");
		if (!cfg->ro)
			send_remount(fd, true);
		close(fd);
		return TF_EXIT_FAIL;
	}
	if (cfg->ro) {
		/* commit, mark clean, refuse changes; answered when done */
		err = send_remount(fd, true);
		if (err)
			goto fail_ioctl;
	}
	close(fd);
	return 0;

fail_ioctl:
	if (err == -ENOTTY)
		fprintf(stderr, "%s: %s is not served by twinfs-fuse\n",
			TF_PROG, cfg->mountpoint);
	else
		fprintf(stderr, "%s: remount %s: the daemon says: %s\n",
			TF_PROG, cfg->mountpoint, strerror(-err));
	close(fd);
	return TF_EXIT_FAIL;
}
