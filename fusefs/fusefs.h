/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fusefs.h - shared declarations of twinfs-fuse, the user-space home of the
 * twinfs core.
 *
 * Layer: fusefs (user space).  fusefs calls the core API (twinfs.h), the
 * user-space environment (user/tw_user.h), libfuse3's low-level API and the
 * C library; nothing else calls into it.  It never reaches into the core's
 * internals (tw_int.h).
 *
 * Files:
 *   twinfs-fuse.c  main: options, image, mount, daemon, commit thread
 *   options.c      command line and -o option parsing, the profiles
 *   ops.c          the FUSE low-level operations on inodes and names, wired
 *                  to the core; the reply helpers the others share (ops.h)
 *   file.c         the operations on regular files
 *   dir.c          the operations on directories
 *   xattr.c        the extended-attribute operations
 *   state.c        references that hold space, the commit thread, shutdown
 *   log.c          messages: stderr, then syslog in the background
 *   remount.c      remount ro/rw: the helper's side (mount(2) and an ioctl
 *                  to the daemon) and the daemon's (the ioctl, a watch on
 *                  the mount table, the switch of the core)
 *   itable.c       the lookup counts (nlookup) the kernel holds per inode
 *   record.c       -o record=FILE: the image behind the write recorder
 */
#ifndef TWINFS_FUSEFS_H
#define TWINFS_FUSEFS_H

#define FUSE_USE_VERSION 312 /* libfuse 3.12+ API: fuse_loop_cfg_*() */

#include "tw_user.h"
#include "twinfs.h"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#define TF_PROG "twinfs-fuse"

/* Exit codes: 0 ok, 1 the mount failed, 2 bad usage. */
#define TF_EXIT_FAIL 1
#define TF_EXIT_USAGE 2

#define TF_KIB 1024u
#define TF_MIB (1024u * 1024u)
#define TF_MAX_IO TF_MIB /* libfuse's buffer holds 256 pages of data */
#define TF_DEFAULT_THREADS 10u /* threads without =N */
#define TF_MIN_IO 4096u

/*
 * struct tf_config - everything the command line decides.  A profile sets
 * the performance fields; options named on their own override it.
 */
struct tf_config {
	/* what to mount where */
	const char *image;
	char *mountpoint; /* canonical (realpath) once checked */

	/* performance profile */
	const char *profile; /* "base" or "optimized" */
	bool threads; /* multithreaded session loop */
	unsigned int max_threads; /* 0: libfuse's default */
	bool clone_fd; /* one /dev/fuse fd per worker thread */
	bool writeback_cache; /* kernel-side write-back page cache */
	unsigned int max_write; /* bytes per WRITE request */
	unsigned int max_read; /* bytes per READ request */
	double entry_timeout; /* s the kernel trusts a name lookup */
	double attr_timeout; /* s the kernel trusts attributes */
	double negative_timeout; /* s the kernel trusts a missing name */
	bool keep_cache; /* keep page cache across opens */
	bool splice; /* splice(2) requests and replies */
	unsigned long long cache_bytes; /* daemon's block cache */
	/* how the kernel caches the image below: 0 (its page cache keeps
	 * it), TW_UDEV_NOCACHE or TW_UDEV_DIRECT (image_cache=) */
	unsigned int image_cache;
	unsigned int commit_interval; /* s between age-based commits */

	/* behaviour */
	bool foreground;
	bool debug;
	bool verbose; /* -v: the banner and informational messages */
	bool ro;
	bool remount; /* -o remount: change a running mount (remount.c) */
	unsigned long ms_set, ms_clear; /* MS_* of the options, for remount */
	bool allow_other;
	bool auto_unmount;
	u32 mnt_flags; /* TW_MNT_* */
	const char *fault; /* tw_fault_set_spec() */
	const char *record; /* write log of every block write (record.c) */
	const char *fsname; /* NULL: the image path */

	/* options handed on to libfuse's mount, comma-separated */
	char *fuse_mount_opts;
	/* profile fields changed by options of their own, for the banner */
	char overridden[256];
};

/* options.c */

/**
 * tf_parse_args() - fill @cfg from the command line.
 * Return: 0 to go on; TF_EXIT_USAGE after a usage error was printed; -1
 * when --help or --version was served (exit 0).
 */
int tf_parse_args(int argc, char **argv, struct tf_config *cfg);

/** tf_usage() - print the usage text to @f. */
void tf_usage(FILE *f);

/** tf_describe() - the one-line profile banner (without newline). */
void tf_describe(const struct tf_config *cfg, char *buf, size_t len);

/* remount.c */

/*
 * The request a remount helper sends the daemon, on the root directory of
 * the mount: a u32, TW_MNT_RDONLY or 0.  FUSE hands a directory's ioctl to
 * its daemon only, so the number cannot reach another driver.
 */
#define TF_IOC_REMOUNT _IOW('w', 0x52, uint32_t)

/**
 * tf_remount_main() - `twinfs-fuse IMAGE MNT -o remount,...` (what
 * mount.fuse3 runs for `mount -o remount`): change the kernel's mount and
 * tell the daemon.  Return: the exit status.
 */
int tf_remount_main(struct tf_config *cfg);

/* record.c */

/**
 * tf_record_open() - open @image (tw_backend_file() @flags) behind a write
 * recorder logging to the file @path.  Return: the device, or NULL with
 * *@err set.
 */
struct tw_dev *tf_record_open(const char *image, unsigned int flags,
			      const char *path, int *err);

/** tf_record_close() - close the log, after the device.  Return: 0 or the
 * first error met while appending to it. */
int tf_record_close(void);

/* itable.c */

struct tf_itable;

struct tf_itable *tf_itable_new(void);
void tf_itable_free(struct tf_itable *t);

/**
 * tf_iref() - the kernel now holds @n more lookups of @ino.
 * Return: 0 or -ENOMEM.
 */
int tf_iref(struct tf_itable *t, u64 ino, u64 n);

/*
 * What a change of the table means for the caller: TF_EVICT, call
 * tw_evict() now; TF_PENDING, an unlinked inode is no longer open, so the
 * kernel's FORGET of it is due (unless an O_PATH descriptor or a working
 * directory still holds it); TF_WAS_PENDING, that FORGET came.
 */
#define TF_EVICT 0x1
#define TF_PENDING 0x2
#define TF_WAS_PENDING 0x4

/** tf_iunref() - the kernel forgot @n lookups of @ino: TF_EVICT, maybe
 * with TF_WAS_PENDING, when that was the last of an unlinked inode. */
int tf_iunref(struct tf_itable *t, u64 ino, u64 n);

/** tf_iunlinked() - the core says @ino has no links left: TF_EVICT if
 * the kernel holds no lookup of it, TF_PENDING if it holds it unopened. */
int tf_iunlinked(struct tf_itable *t, u64 ino);

/** tf_iopen() - the kernel opened @ino (open, create, opendir). */
void tf_iopen(struct tf_itable *t, u64 ino);

/** tf_irelease() - the kernel closed @ino: TF_PENDING if it was the last
 * open of an unlinked inode. */
int tf_irelease(struct tf_itable *t, u64 ino);

/**
 * tf_idrain() - empty the table at unmount, calling @fn for every inode
 * that lost its last link while the kernel still held it.
 */
void tf_idrain(struct tf_itable *t, void (*fn)(void *ctx, u64 ino), void *ctx);

/** tf_icount() - inodes the kernel holds now. */
u64 tf_icount(struct tf_itable *t);

/* ops.c, state.c, log.c */

/** struct tf_state - one mounted filesystem: what every request sees. */
struct tf_state {
	struct tf_config *cfg;
	struct fuse_session *se;
	struct tw_dev *dev;
	struct tw_fs *fs;
	struct tf_itable *itab;
	bool dont_mask; /* the kernel left the umask to us */
	bool posix_acl; /* the kernel enforces POSIX ACLs (FUSE_CAP_POSIX_ACL) */

	/* read-only now (tf_is_ro()); changed by tf_set_rdonly() only */
	bool ro;
	bool dev_rdonly; /* the image could only be opened read-only */
	pthread_mutex_t remount_lock;
	/* our mount in /proc/self/mountinfo: its id and device */
	int mnt_id;
	unsigned int mnt_major, mnt_minor;
	int kernel_ro; /* the kernel's read-only flag as last seen there */
	/* the thread that follows the kernel's read-only flag */
	pthread_t watcher;
	bool watcher_running;
	int watch_pipe[2];
	bool unmounted; /* tw_unmount() done */
	int unmount_err;
	pthread_mutex_t unmount_lock;

	/* FORGETs in progress and due, which STATFS waits for (ops.c) */
	int reclaiming;
	u64 pending; /* unlinked, unopened inodes the kernel still holds */
	struct timespec pending_until; /* how long to wait for their FORGET */
	pthread_mutex_t reclaim_lock;
	pthread_cond_t reclaim_cond;

	/* the commit thread */
	pthread_t committer;
	bool committer_running;
	bool committer_stop;
	pthread_mutex_t commit_lock;
	pthread_cond_t commit_cond;
};

/** tf_ops_fill() - the low-level operations, as @cfg wants them. */
void tf_ops_fill(struct fuse_lowlevel_ops *ops, const struct tf_config *cfg);

/**
 * tf_shutdown() - stop the commit thread, evict what the kernel let go of
 * and tw_unmount() (once; later calls return the first result).
 */
int tf_shutdown(struct tf_state *st);

/** tf_committer_start() - start the thread that commits old transactions. */
int tf_committer_start(struct tf_state *st);

/** tf_state_init() - the locks of @st (before the session starts). */
void tf_state_init(struct tf_state *st);

/** tf_is_ro() - whether the filesystem is read-only now. */
static inline bool tf_is_ro(struct tf_state *st)
{
	return __atomic_load_n(&st->ro, __ATOMIC_ACQUIRE);
}

/**
 * tf_set_rdonly() - make the daemon read-only (commit everything, mark the
 * image clean, refuse every change with EROFS) or read-write again.
 * Return: 0 or a negative errno.
 */
int tf_set_rdonly(struct tf_state *st, bool ro);

/** tf_remount_ops() - the ioctl operation into @ops. */
void tf_remount_ops(struct fuse_lowlevel_ops *ops);

/** tf_watch_find() - note which line of the mount table is ours, right
 * after the FUSE mount (@fsname: its source). */
void tf_watch_find(struct tf_state *st, const char *fsname);

/** tf_watch_start(), tf_watch_stop() - the thread that makes the daemon
 * follow a remount it was not told about (mount(2) without the helper). */
int tf_watch_start(struct tf_state *st);
void tf_watch_stop(struct tf_state *st);

/** tf_logf() - a message of the daemon itself, through the same path as
 * the core's (stderr, or syslog once the daemon is in the background). */
__attribute__((format(printf, 2, 3))) void tf_logf(int level, const char *fmt,
						   ...);

/** tf_log_background() - from now on, messages go to syslog. */
void tf_log_background(void);

/** tf_log_hook() - the tw_log hook (see tw_log_set_hook()). */
void tf_log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg);

#endif /* TWINFS_FUSEFS_H */
