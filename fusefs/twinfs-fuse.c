// SPDX-License-Identifier: GPL-2.0
/*
 * twinfs-fuse.c - main of the FUSE daemon: check the mountpoint, open and
 * mount the image (tw_mount replays the journal), mount it through FUSE,
 * go into the background, serve, and at the end flush everything
 * (tw_unmount) so that the image is clean.
 *
 * Layer: fusefs, the user-space home; calls the core API (twinfs.h), the
 * user-space environment (user/tw_user.h) and libfuse3, plus the C library
 * and Linux system calls.
 *
 * Order matters for error reporting: everything that can fail (options,
 * mountpoint, image, validation, journal replay, the FUSE mount itself)
 * happens before the daemon detaches, so a failed mount is a non-zero exit
 * code and a message on stderr, never a daemon that dies later.  The image
 * is locked (flock) while a daemon serves it, so that two daemons never
 * write one image.
 */
#include "fusefs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static __attribute__((format(printf, 1, 2))) void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", TF_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

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

/*
 * Look through the mount table.  With @mnt: is something mounted on it
 * (its type in @out)?  With @source: is a twinfs mount of it up (its
 * mountpoint in @out)?
 */
static bool find_mount(const char *mnt, const char *source, char *out,
		       size_t olen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [tags] - type source */
		char *tok[64], *p = line, *save = NULL, *type, *src, *where;
		int n = 0, i;

		line[strcspn(line, "\n")] = '\0';
		while (n < 64 && (tok[n] = strtok_r(p, " ", &save))) {
			p = NULL;
			n++;
		}
		for (i = 6; i + 2 < n && strcmp(tok[i], "-"); i++)
			;
		if (n < 7 || i + 2 >= n)
			continue;
		where = tok[4];
		type = tok[i + 1];
		src = tok[i + 2];
		unescape(where);
		unescape(src);
		if (mnt && !strcmp(where, mnt)) {
			snprintf(out, olen, "%s", type);
			found = true;
		} else if (source && !strcmp(src, source) &&
			   !strcmp(type, "fuse.twinfs")) {
			snprintf(out, olen, "%s", where);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* The mountpoint must exist, be a directory and have nothing on it. */
static int check_mountpoint(struct tf_config *cfg)
{
	char *real, what[PATH_MAX];
	struct stat st;

	if (stat(cfg->mountpoint, &st)) {
		int e = errno;

		if (e == ENOTCONN)
			err_msg("mountpoint %s: %s (a dead FUSE mount: unmount it with 'fusermount3 -uz %s' or 'umount -l %s')",
				cfg->mountpoint, strerror(e), cfg->mountpoint,
				cfg->mountpoint);
		else
			err_msg("mountpoint %s: %s", cfg->mountpoint,
				strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_msg("mountpoint %s: %s", cfg->mountpoint,
			strerror(ENOTDIR));
		return -ENOTDIR;
	}
	real = realpath(cfg->mountpoint, NULL);
	if (!real) {
		err_msg("mountpoint %s: %s", cfg->mountpoint, strerror(errno));
		return -errno;
	}
	if (find_mount(real, NULL, what, sizeof(what))) {
		err_msg("mountpoint %s is busy: a %s filesystem is mounted there",
			real, what);
		free(real);
		return -EBUSY;
	}
	cfg->mountpoint = real;
	return 0;
}

/*
 * Lock the image for this daemon.  A daemon that is still writing back
 * after its filesystem was unmounted holds the lock for a moment: wait
 * for it.  One that still serves a mount is a real conflict.
 */
static int lock_image(const char *image, const char *fsname, bool verbose)
{
	char where[PATH_MAX];
	int fd, i;

	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0;; i++) {
		if (!flock(fd, LOCK_EX | LOCK_NB))
			return fd;
		if (errno != EWOULDBLOCK) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (find_mount(NULL, fsname, where, sizeof(where))) {
			err_msg("%s is in use: mounted on %s", image, where);
			close(fd);
			return -EBUSY;
		}
		if (i == 0 && verbose)
			err_msg("%s: waiting for the previous daemon to finish writing it",
				image);
		if (i == 300) {
			err_msg("%s is locked by another process", image);
			close(fd);
			return -EBUSY;
		}
		usleep(100 * 1000);
	}
}

/* The options for libfuse's kernel mount. */
static int build_fuse_args(struct tf_config *cfg, const char *fsname,
			   struct fuse_args *args)
{
	char opt[64], *o, *esc = NULL;
	int err = 0;

	err |= fuse_opt_add_arg(args, TF_PROG);
	if (cfg->debug)
		err |= fuse_opt_add_arg(args, "-d");
	err |= fuse_opt_add_arg(args, "-o");
	err |= fuse_opt_add_arg(args, "default_permissions,subtype=twinfs");
	/* fsname=IMAGE, with commas and backslashes in IMAGE escaped */
	o = malloc(strlen(fsname) + 8);
	if (!o)
		return -ENOMEM;
	sprintf(o, "fsname=%s", fsname);
	err |= fuse_opt_add_opt_escaped(&esc, o);
	free(o);
	err |= fuse_opt_add_arg(args, "-o");
	err |= fuse_opt_add_arg(args, esc ? esc : "");
	free(esc);
	snprintf(opt, sizeof(opt), "max_read=%u", cfg->max_read);
	err |= fuse_opt_add_arg(args, "-o");
	err |= fuse_opt_add_arg(args, opt);
	if (cfg->ro) {
		err |= fuse_opt_add_arg(args, "-o");
		err |= fuse_opt_add_arg(args, "ro");
	}
	if (cfg->allow_other) {
		err |= fuse_opt_add_arg(args, "-o");
		err |= fuse_opt_add_arg(args, "allow_other");
	}
	if (cfg->auto_unmount) {
		err |= fuse_opt_add_arg(args, "-o");
		err |= fuse_opt_add_arg(args, "auto_unmount");
	}
	if (cfg->mnt_flags & TW_MNT_NOATIME) {
		err |= fuse_opt_add_arg(args, "-o");
		err |= fuse_opt_add_arg(args, "noatime");
	}
	if (cfg->fuse_mount_opts) {
		err |= fuse_opt_add_arg(args, "-o");
		err |= fuse_opt_add_arg(args, cfg->fuse_mount_opts);
	}
	return err ? -ENOMEM : 0;
}

/*
 * SIGUSR1 logs what the daemon holds: the inodes the kernel has looked up
 * (and not yet forgotten) and the block cache's counters.  The signal is
 * blocked in every thread and taken here with sigwait(), so logging runs
 * in a normal thread context.
 */
static pthread_t stats_tid;
static volatile bool stats_stop;

static void *stats_thread(void *arg)
{
	struct tf_state *st = arg;
	struct tw_udev_stats us;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (stats_stop)
			break;
		tw_udev_get_stats(st->dev, &us);
		tf_logf(TW_LOG_INFO,
			"stats: %llu inodes held by the kernel; block cache %llu hits, %llu misses, %llu cached, %llu dirty, %llu evictions; device %llu reads (%llu blocks), %llu writes (%llu blocks), %llu flushes, %llu errors; file data beside the cache %llu reads (%llu blocks), %llu writes (%llu blocks), %llu blocks found cached",
			(unsigned long long)tf_icount(st->itab),
			(unsigned long long)us.hits,
			(unsigned long long)us.misses,
			(unsigned long long)us.cached,
			(unsigned long long)us.dirty,
			(unsigned long long)us.evictions,
			(unsigned long long)us.reads,
			(unsigned long long)us.read_blocks,
			(unsigned long long)us.writes,
			(unsigned long long)us.write_blocks,
			(unsigned long long)us.flushes,
			(unsigned long long)us.io_errors,
			(unsigned long long)us.data_reads,
			(unsigned long long)us.data_read_blocks,
			(unsigned long long)us.data_writes,
			(unsigned long long)us.data_write_blocks,
			(unsigned long long)us.data_hits);
	}
	return NULL;
}

static int stats_start(struct tf_state *st)
{
	sigset_t set;
	int err;

	/* block it before any thread is made: they all inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!err)
		err = pthread_create(&stats_tid, NULL, stats_thread, st);
	return -err;
}

static void stats_end(void)
{
	stats_stop = true;
	pthread_kill(stats_tid, SIGUSR1);
	pthread_join(stats_tid, NULL);
}

/* The image, read-write unless @flags says TW_UDEV_RDONLY. */
static struct tw_dev *open_image(struct tf_config *cfg, unsigned int flags,
				 int *err)
{
	flags |= TW_UDEV_EXCL | cfg->image_cache;
	if (cfg->record)
		return tf_record_open(cfg->image, flags, cfg->record, err);
	return tw_udev_open(cfg->image, flags, err);
}

static int serve(struct fuse_session *se, struct tf_config *cfg)
{
	struct fuse_loop_config *lc;
	int ret;

	if (!cfg->threads)
		return fuse_session_loop(se);
	lc = fuse_loop_cfg_create();
	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, cfg->clone_fd);
	if (cfg->max_threads) {
		fuse_loop_cfg_set_max_threads(lc, cfg->max_threads);
		fuse_loop_cfg_set_idle_threads(lc, cfg->max_threads);
	}
	ret = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	return ret;
}

int main(int argc, char **argv)
{
	struct tf_config cfg = { 0 };
	struct tf_state st = { 0 };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_lowlevel_ops ops;
	struct fuse_session *se = NULL;
	struct tw_mount_opts mo = { 0 };
	char banner[512], *fsname = NULL;
	int lock_fd = -1, err, ret, rc = TF_EXIT_FAIL;
	bool stats = false;

	tw_log_set_hook(tf_log_hook, NULL);
	ret = tf_parse_args(argc, argv, &cfg);
	if (ret < 0)
		return 0;
	if (ret)
		return ret;
	if (cfg.debug) {
		cfg.verbose = true;
		tw_log_set_level(TW_LOG_DEBUG);
	} else if (!cfg.verbose) {
		/* quiet unless asked, like other filesystems: errors only */
		tw_log_set_level(TW_LOG_WARN);
	}
	if (cfg.remount)
		return tf_remount_main(&cfg);

	if (check_mountpoint(&cfg))
		return TF_EXIT_FAIL;

	fsname = realpath(cfg.image, NULL);
	if (!fsname) {
		err_msg("%s: %s", cfg.image, strerror(errno));
		goto out;
	}
	lock_fd = lock_image(cfg.image, cfg.fsname ? cfg.fsname : fsname,
			     cfg.verbose);
	if (lock_fd < 0) {
		if (lock_fd != -EBUSY)
			err_msg("%s: %s", cfg.image, strerror(-lock_fd));
		goto out;
	}
	/*
	 * Read-write even for -o ro, so that a remount rw can write; the
	 * core writes nothing while read-only.  An image that may not be
	 * written is served read-only for good.
	 */
	st.dev = open_image(&cfg, 0, &err);
	if (!st.dev && cfg.ro && (err == -EACCES || err == -EROFS ||
				  err == -EPERM)) {
		st.dev = open_image(&cfg, TW_UDEV_RDONLY, &err);
		st.dev_rdonly = true;
	}
	if (!st.dev) {
		err_msg("%s: %s", cfg.image, strerror(-err));
		goto out;
	}
	tw_udev_set_cache_limit(st.dev, (size_t)cfg.cache_bytes);
	mo.flags = cfg.mnt_flags | (cfg.ro ? TW_MNT_RDONLY : 0);
	err = tw_mount(st.dev, tw_udev_blocks(st.dev), &mo, &st.fs);
	if (err) {
		err_msg("cannot mount %s: %s", cfg.image, strerror(-err));
		goto out;
	}
	st.cfg = &cfg;
	st.ro = cfg.ro;
	st.itab = tf_itable_new();
	tf_state_init(&st);
	if (!st.itab) {
		err_msg("out of memory");
		goto out_unmount;
	}

	if (build_fuse_args(&cfg, cfg.fsname ? cfg.fsname : fsname, &args)) {
		err_msg("out of memory");
		goto out_unmount;
	}
	tf_ops_fill(&ops, &cfg);
	se = fuse_session_new(&args, &ops, sizeof(ops), &st);
	if (!se) {
		err_msg("cannot start a FUSE session (see the message above)");
		goto out_unmount;
	}
	st.se = se;
	if (fuse_set_signal_handlers(se)) {
		err_msg("cannot install signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(se, cfg.mountpoint)) {
		err_msg("cannot mount %s on %s (see the message above)",
			cfg.image, cfg.mountpoint);
		goto out_signals;
	}
	tf_watch_find(&st, cfg.fsname ? cfg.fsname : fsname);
	if (cfg.verbose) {
		tf_describe(&cfg, banner, sizeof(banner));
		fprintf(stderr, "%s: %s on %s: %s\n", TF_PROG, cfg.image,
			cfg.mountpoint, banner);
		fflush(stderr);
	}

	if (fuse_daemonize(cfg.foreground)) {
		err_msg("cannot go into the background");
		goto out_fuse_unmount;
	}
	if (!cfg.foreground)
		tf_log_background();
	if (cfg.fault && tw_fault_set_spec(cfg.fault))
		tf_logf(TW_LOG_ERR, "cannot arm fault points '%s'", cfg.fault);
	stats = !stats_start(&st);
	err = tf_committer_start(&st);
	if (err)
		tf_logf(TW_LOG_ERR, "cannot start the commit thread: %s",
			strerror(-err));
	err = tf_watch_start(&st);
	if (err)
		tf_logf(TW_LOG_WARN,
			"cannot watch the mount table (%s): a remount made without mount(8) goes unnoticed",
			strerror(-err));

	ret = serve(se, &cfg);
	if (stats)
		stats_end();
	rc = ret < 0 ? TF_EXIT_FAIL : 0;
	if (ret < 0)
		tf_logf(TW_LOG_ERR, "session loop: %s", strerror(-ret));

out_fuse_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	/* calls our destroy (tw_unmount) if the kernel's INIT came */
	fuse_session_destroy(se);
out_unmount:
	err = tf_shutdown(&st);
	if (err) {
		tf_logf(TW_LOG_ERR, "unmount of %s: %s", cfg.image,
			strerror(-err));
		rc = TF_EXIT_FAIL;
	}
	tf_itable_free(st.itab);
out:
	if (st.dev) {
		err = tw_udev_close(st.dev);
		if (err) {
			tf_logf(TW_LOG_ERR, "closing %s: %s", cfg.image,
				strerror(-err));
			rc = TF_EXIT_FAIL;
		}
		if (cfg.record && tf_record_close()) {
			tf_logf(TW_LOG_ERR, "%s: the write log is incomplete",
				cfg.record);
			rc = TF_EXIT_FAIL;
		}
	}
	if (lock_fd >= 0)
		close(lock_fd);
	fuse_opt_free_args(&args);
	free(fsname);
	return rc;
}
