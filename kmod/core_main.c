// SPDX-License-Identifier: GPL-2.0
/*
 * core_main.c - twinfs_core.ko: the shared core (common/) as a module of its
 * own, exporting its API to the filesystem module stacked on it (twinfs.ko),
 * as fat.ko serves vfat.ko.
 *
 * Layer: kernel home.  Calls the kernel and the core API.
 *
 * Parameters (/sys/module/twinfs_core/parameters/):
 *   debug   log level: 3 errors, 4 warnings, 6 info (default), 7 debug
 *   fault   fault injection for the fault-isolation experiment, in the
 *           vocabulary of twinfs-fuse's -o fault=: comma-separated
 *           POINT:N:ACTION[-once], the core's fault point POINT passes N
 *           times, then ACTION: eio (fail with EIO), hang (never return)
 *           or crash (a NULL dereference: an oops; "oops" is accepted as
 *           an old name for it); -once fires once, then the point passes
 *           again (still counted); "" disarms.  The points are the
 *           core's: alloc_block, commit and commit-block are reached here;
 *           write (tw_write) is not, the module writes file data through
 *           the page cache and tw_bmap
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "twinfs.h"
#include "twinfs_core.h"

int tw_debug_level = TW_LOG_INFO;
module_param_named(debug, tw_debug_level, int, 0644);
MODULE_PARM_DESC(debug, "log level: 3 errors, 4 warnings, 6 info, 7 debug");

/* ---- fault points ---- */

#define FAULT_MAX 8
#define FAULT_NAME 24

enum { F_EIO = 1, F_HANG, F_CRASH };

struct fault {
	char name[FAULT_NAME];
	u64 after;
	atomic64_t calls;
	int action;
	bool once; /* -once: fire at most once */
	atomic_t spent; /* a -once point has fired */
};

static struct fault faults[FAULT_MAX];
static int nfaults;
static DEFINE_SPINLOCK(fault_lock);
static char fault_spec[256];

/* ACTION[-once] of a spec item, into @f; @word is modified */
static int fault_action(char *word, struct fault *f)
{
	size_t len = strlen(word);

	f->once = len > 5 && !strcmp(word + len - 5, "-once");
	if (f->once)
		word[len - 5] = '\0';
	if (!strcmp(word, "eio"))
		f->action = F_EIO;
	else if (!strcmp(word, "hang"))
		f->action = F_HANG;
	else if (!strcmp(word, "crash") || !strcmp(word, "oops"))
		f->action = F_CRASH;
	else
		return -EINVAL;
	return 0;
}

static int fault_parse(const char *val, struct fault *out, int *n)
{
	char buf[256], *s = buf, *item;

	if (strscpy(buf, val, sizeof(buf)) < 0)
		return -EINVAL;
	strim(buf);
	*n = 0;
	while ((item = strsep(&s, ",")) != NULL) {
		char *name = strsep(&item, ":"), *cnt = strsep(&item, ":");
		struct fault *f;

		if (!*name && !cnt)
			continue;
		if (!*name || !cnt || !item || *n == FAULT_MAX ||
		    strlen(name) >= FAULT_NAME)
			return -EINVAL;
		f = &out[(*n)++];
		strscpy(f->name, name, FAULT_NAME);
		if (kstrtou64(cnt, 10, &f->after))
			return -EINVAL;
		atomic64_set(&f->calls, 0);
		atomic_set(&f->spent, 0);
		if (fault_action(item, f))
			return -EINVAL;
	}
	return 0;
}

static int fault_set(const char *val, const struct kernel_param *kp)
{
	static struct fault parsed[FAULT_MAX];
	int n, err;

	spin_lock(&fault_lock);
	err = fault_parse(val, parsed, &n);
	if (!err) {
		memcpy(faults, parsed, sizeof(parsed));
		smp_store_release(&nfaults, n);
		strscpy(fault_spec, val, sizeof(fault_spec));
		strim(fault_spec);
	}
	spin_unlock(&fault_lock);
	return err;
}

static int fault_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", fault_spec);
}

static const struct kernel_param_ops fault_ops = {
	.set = fault_set,
	.get = fault_get,
};
module_param_cb(fault, &fault_ops, NULL, 0644);
MODULE_PARM_DESC(
	fault,
	"fault injection: POINT:N:eio|hang|crash[-once][,...] (points reached here: alloc_block, commit, commit-block; write only in twinfs-fuse)");

int tw_fault_point(struct tw_dev *dev, const char *where)
{
	int i, n = smp_load_acquire(&nfaults);

	for (i = 0; i < n; i++) {
		struct fault *f = &faults[i];

		if (strcmp(f->name, where))
			continue;
		if ((u64)atomic64_inc_return(&f->calls) <= f->after)
			return 0;
		if (f->once && atomic_xchg(&f->spent, 1))
			return 0; /* spent, but still counted */
		switch (f->action) {
		case F_EIO:
			return -EIO;
		case F_HANG:
			pr_err("twinfs: fault point %s: hanging\n", where);
			/*
			 * Interruptible (state S) until a signal comes; a
			 * pending signal cuts every interruptible sleep
			 * short and is never delivered here, so from then on
			 * sleep uninterruptibly (D) instead of spinning.
			 */
			for (;;) {
				if (signal_pending(current))
					msleep(1000);
				else
					msleep_interruptible(1000);
			}
		case F_CRASH:
			pr_err("twinfs: fault point %s: NULL dereference\n",
			       where);
			/* a real bug, on purpose: the oops names this line */
			return *(volatile int *)NULL;
		}
	}
	return 0;
}

/* ---- the core's API, for twinfs.ko ---- */

EXPORT_SYMBOL_GPL(tw_mount);
EXPORT_SYMBOL_GPL(tw_unmount);
EXPORT_SYMBOL_GPL(tw_remount);
EXPORT_SYMBOL_GPL(tw_sync);
EXPORT_SYMBOL_GPL(tw_commit_if_old);
EXPORT_SYMBOL_GPL(tw_statfs);
EXPORT_SYMBOL_GPL(tw_fs_dev);
EXPORT_SYMBOL_GPL(tw_fs_super);
EXPORT_SYMBOL_GPL(tw_getattr);
EXPORT_SYMBOL_GPL(tw_setattr);
EXPORT_SYMBOL_GPL(tw_lookup);
EXPORT_SYMBOL_GPL(tw_mknod);
EXPORT_SYMBOL_GPL(tw_mkdir);
EXPORT_SYMBOL_GPL(tw_symlink);
EXPORT_SYMBOL_GPL(tw_link);
EXPORT_SYMBOL_GPL(tw_link_tmpfile);
EXPORT_SYMBOL_GPL(tw_tmpfile);
EXPORT_SYMBOL_GPL(tw_unlink);
EXPORT_SYMBOL_GPL(tw_rmdir);
EXPORT_SYMBOL_GPL(tw_rename);
EXPORT_SYMBOL_GPL(tw_readlink);
EXPORT_SYMBOL_GPL(tw_readdir);
EXPORT_SYMBOL_GPL(tw_evict);
EXPORT_SYMBOL_GPL(tw_read);
EXPORT_SYMBOL_GPL(tw_write);
EXPORT_SYMBOL_GPL(tw_bmap);
EXPORT_SYMBOL_GPL(tw_set_size);
EXPORT_SYMBOL_GPL(tw_fsync);
EXPORT_SYMBOL_GPL(tw_fallocate);
EXPORT_SYMBOL_GPL(tw_fiemap);
EXPORT_SYMBOL_GPL(tw_handle_start);
EXPORT_SYMBOL_GPL(tw_handle_stop);
EXPORT_SYMBOL_GPL(tw_bmap_h);
EXPORT_SYMBOL_GPL(tw_set_size_h);
EXPORT_SYMBOL_GPL(tw_getxattr);
EXPORT_SYMBOL_GPL(tw_setxattr);
EXPORT_SYMBOL_GPL(tw_listxattr);
EXPORT_SYMBOL_GPL(tw_removexattr);
EXPORT_SYMBOL_GPL(tw_acl_check);
EXPORT_SYMBOL_GPL(tw_validate_super);

static int __init twinfs_core_init(void)
{
	pr_info("twinfs_core: the twinfs core (format v%u) loaded\n",
		TW_FORMAT_VERSION);
	return 0;
}

static void __exit twinfs_core_exit(void)
{
	tw_kenv_flush_iputs();
	pr_info("twinfs_core: the twinfs core unloaded\n");
}

module_init(twinfs_core_init);
module_exit(twinfs_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The twinfs authors");
MODULE_DESCRIPTION(
	"twinfs core: the filesystem logic shared by the kernel module and the FUSE daemon");
MODULE_VERSION("0.1.0");
