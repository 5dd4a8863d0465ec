// SPDX-License-Identifier: GPL-2.0
/*
 * options.c - twinfs-fuse's command line: positional IMAGE and MOUNTPOINT,
 * -f/-s/-d, and the -o options, including the named performance profiles.
 *
 * Layer: fusefs (user space).  Calls the user-space environment (only to
 * validate a fault spec) and the C library.
 *
 * The command line follows mount.fuse3's helper convention,
 *	twinfs IMAGE MOUNTPOINT -o opt,opt,...
 * so that `mount -t fuse.twinfs` and /etc/fstab work.  A profile sets the
 * performance settings as a whole; an option of its own overrides the
 * profile whatever their order.  Two explicit options that disagree
 * (single_thread and threads, writeback_cache and no_writeback_cache,
 * two profiles...) are a usage error, as is any unknown option.
 */
#include "fusefs.h"
#include "twinfs-config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

/* An explicit setting: 0 unset, else the value and where it came from. */
struct tri {
	int set; /* 0 unset, 1 set */
	int val;
	const char *name; /* the option that set it, for messages */
};

struct req {
	const char *profile;
	struct tri threads, clone_fd, wb, keep_cache, splice;
	unsigned int max_threads;
	unsigned int max_write, max_read;
	bool have_max_write, have_max_read;
	double entry, attr, negative;
	bool have_entry, have_attr, have_negative;
	unsigned long long cache_mb;
	bool have_cache;
	unsigned int image_cache;
	bool have_image_cache;
	unsigned int commit;
	bool have_commit;
};

static __attribute__((format(printf, 1, 2))) int usage_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", TF_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", TF_PROG);
	return TF_EXIT_USAGE;
}

void tf_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s IMAGE MOUNTPOINT [-f] [-s] [-d] [-v] [-o OPTION[,OPTION...]]\n"
		"       mount -t fuse.twinfs IMAGE MOUNTPOINT [-o OPTION,...]\n"
		"       mount -o remount,ro|rw MOUNTPOINT\n"
		"\n"
		"Mount the twinfs filesystem in IMAGE (a file or a block device) on\n"
		"MOUNTPOINT through FUSE.  Without -f the daemon goes into the background\n"
		"once the mount is up; a failed mount exits non-zero either way.\n"
		"\n"
		"  -f                  stay in the foreground\n"
		"  -s                  single-threaded loop (same as -o single_thread)\n"
		"  -d                  FUSE debug output (implies -f and -v)\n"
		"  -v, --verbose       say what the daemon does on stderr (the profile\n"
		"                      and its settings, journal replay, remounts);\n"
		"                      without it only warnings and errors are printed\n"
		"  -h, --help          print this help and exit\n"
		"  -V, --version       print the versions of twinfs and libfuse and exit\n"
		"\n"
		"Profiles (-o profile=NAME, default optimized):\n"
		"  base       single-threaded, no writeback cache, 128 KiB requests,\n"
		"             no kernel caching of names and attributes, no splice\n"
		"  optimized  single-threaded, 1 MiB requests (max_pages 256), 1 s\n"
		"             entry/attr/negative timeouts, keep_cache\n"
		"\n"
		"Performance options (override the profile):\n"
		"  threads[=N]         multithreaded loop (at most N worker threads,\n"
		"                      default 10); in no profile (docs/fuse.md)\n"
		"  single_thread       single-threaded loop\n"
		"  clone_fd, no_clone_fd\n"
		"                      one /dev/fuse descriptor per worker thread\n"
		"  writeback_cache, no_writeback_cache\n"
		"                      let the kernel cache writes and send them in bulk;\n"
		"                      in no profile: write() then cannot report a full\n"
		"                      disk (what does not fit is lost, fsync and close\n"
		"                      say ENOSPC) and O_DIRECT writes can leave stale\n"
		"                      pages (docs/fuse.md)\n"
		"  max_write=SIZE      bytes per write request (4K..1M)\n"
		"  max_read=SIZE       bytes per read request (4K..1M)\n"
		"  entry_timeout=S     seconds the kernel may trust a name lookup\n"
		"  attr_timeout=S      seconds the kernel may trust attributes\n"
		"  negative_timeout=S  seconds the kernel may trust that a name is absent\n"
		"  keep_cache, no_keep_cache\n"
		"                      keep a file's page cache when it is opened again\n"
		"  splice, no_splice   move request data with splice(2)\n"
		"  cache_mb=N          the daemon's block cache (MiB, default 64)\n"
		"  image_cache=page|drop|direct\n"
		"                      how the kernel caches the image below the daemon:\n"
		"                      its page cache keeps it, drops each range after\n"
		"                      use, or is bypassed (O_DIRECT)\n"
		"  commit_interval=S   commit transactions older than S seconds (default\n"
		"                      5; 0: only when full, on fsync and at unmount)\n"
		"\n"
		"Other options:\n"
		"  ro, rw              read-only or read-write (default rw)\n"
		"  remount             with ro or rw: switch the mount on MOUNTPOINT\n"
		"                      (what mount -o remount runs; root only)\n"
		"  noatime, relatime, strictatime\n"
		"                      atime updates (default relatime)\n"
		"  nodiratime, diratime\n"
		"                      no atime updates of directories\n"
		"  acl, noacl          POSIX ACLs, enforced by the kernel (default acl)\n"
		"  allow_other         let other users in (permissions still apply)\n"
		"  allow_root          let root in besides the mounting user\n"
		"  auto_unmount        unmount when the daemon dies\n"
		"  fsname=NAME         source shown in /proc/mounts (default: IMAGE)\n"
		"  fault=SPEC          arm the core's fault points once mounted:\n"
		"                      POINT:N:eio|hang|crash[-once],... (POINT passes N\n"
		"                      times, then fails, hangs or crashes; -once: only\n"
		"                      the first time).  Points: alloc_block, commit,\n"
		"                      commit-block, write; the module's fault parameter\n"
		"                      takes the same spec (docs/crash.md)\n"
		"  record=FILE         log every block write and flush to FILE\n"
		"                      (crash-state testing, docs/crash.md)\n"
		"  debug               same as -d\n"
		"  default_permissions always on: the kernel checks permissions\n"
		"  nosuid, nodev, noexec, suid, dev, exec, sync, async, dirsync\n"
		"                      passed on to the kernel mount\n"
		"\n"
		"Exit status: 0 mounted, 1 the mount failed, 2 bad usage.\n"
		"See twinfs-fuse(8), twinfs(5) and mount.fuse3(8).\n",
		TF_PROG);
}

/* ---- value parsing ---- */

static int parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1024;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case '\0':
		break;
	default:
		return -EINVAL;
	}
	if (mul > 1 && (*end == 'i' || *end == 'I')) {
		end++;
		if (*end != 'b' && *end != 'B')
			return -EINVAL;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (v > ~0ull / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1e6)
		return -EINVAL;
	*out = v;
	return 0;
}

/* ---- option table ---- */

static int set_tri(struct tri *t, int val, const char *name)
{
	if (t->set && t->val != val)
		return usage_err("contradictory options: '%s' and '%s'",
				 t->name, name);
	t->set = 1;
	t->val = val;
	t->name = name;
	return 0;
}

static int add_mount_opt(struct tf_config *cfg, const char *opt)
{
	size_t old = cfg->fuse_mount_opts ? strlen(cfg->fuse_mount_opts) : 0;
	char *n = realloc(cfg->fuse_mount_opts, old + strlen(opt) + 2);

	if (!n) {
		fprintf(stderr, "%s: out of memory\n", TF_PROG);
		return TF_EXIT_FAIL;
	}
	if (old)
		n[old++] = ',';
	strcpy(n + old, opt);
	cfg->fuse_mount_opts = n;
	return 0;
}

static bool is_one_of(const char *opt, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(opt, *list))
			return true;
	return false;
}

/* Options for the kernel mount, handed on to libfuse as they are. */
static const char *const passthrough[] = {
	"nosuid", "suid", "nodev", "dev",     "noexec",
	"exec",	  "sync", "async", "dirsync", NULL,
};

/*
 * What the kernel options mean for mount(2), for a remount: the helper
 * sets the per-mount flags as a whole (remount.c).
 */
static const struct {
	const char *name;
	unsigned long set, clear;
} ms_flags[] = {
	{ "nosuid", MS_NOSUID, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },
	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME },
	{ "atime", 0, MS_NOATIME },
	{ "relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME },
	{ "norelatime", 0, MS_RELATIME },
	{ "strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME },
};

static void note_ms_flags(struct tf_config *cfg, const char *opt)
{
	size_t i;

	for (i = 0; i < sizeof(ms_flags) / sizeof(ms_flags[0]); i++) {
		if (strcmp(opt, ms_flags[i].name))
			continue;
		cfg->ms_set = (cfg->ms_set & ~ms_flags[i].clear) |
			      ms_flags[i].set;
		cfg->ms_clear = (cfg->ms_clear & ~ms_flags[i].set) |
				ms_flags[i].clear;
	}
}

/*
 * What the kernel shows of a FUSE mount besides the flags: mount(8)
 * hands these back to the helper on a remount, merged with the new
 * options.  They mean nothing to a remount.
 */
static const char *const kernel_shown[] = {
	"user_id", "group_id", "rootmode", "blksize", "fd", NULL,
};

/* mount(8) and fstab options that mean nothing to the daemon. */
static const char *const ignored[] = {
	"defaults", "auto",   "noauto", "nofail", "_netdev", "user",
	"users",    "nouser", "owner",	"group",  NULL,
};

static int one_option(struct tf_config *cfg, struct req *r, char *opt)
{
	char *val = strchr(opt, '=');
	unsigned long long n;
	int err = 0;

	if (val)
		*val++ = '\0';
	if (!val)
		note_ms_flags(cfg, opt);
#define FLAG(name) (!strcmp(opt, name) && !val)
#define VALUE(name) (!strcmp(opt, name) && val)
	if (VALUE("profile")) {
		if (strcmp(val, "base") && strcmp(val, "optimized"))
			return usage_err(
				"unknown profile '%s' (base, optimized)", val);
		if (r->profile && strcmp(r->profile, val))
			return usage_err(
				"contradictory options: 'profile=%s' and 'profile=%s'",
				r->profile, val);
		r->profile = !strcmp(val, "base") ? "base" : "optimized";
	} else if (FLAG("threads")) {
		err = set_tri(&r->threads, 1, "threads");
	} else if (VALUE("threads")) {
		if (parse_uint(val, 1024, &n) || n < 1)
			return usage_err(
				"bad value for threads: '%s' (1..1024)", val);
		if (r->max_threads && r->max_threads != n)
			return usage_err(
				"contradictory options: 'threads=%u' and 'threads=%llu'",
				r->max_threads, n);
		r->max_threads = (unsigned int)n;
		err = set_tri(&r->threads, 1, "threads");
	} else if (FLAG("single_thread") || FLAG("-s")) {
		err = set_tri(&r->threads, 0, "-s/single_thread");
	} else if (FLAG("clone_fd")) {
		err = set_tri(&r->clone_fd, 1, "clone_fd");
	} else if (FLAG("no_clone_fd")) {
		err = set_tri(&r->clone_fd, 0, "no_clone_fd");
	} else if (FLAG("writeback_cache")) {
		err = set_tri(&r->wb, 1, "writeback_cache");
	} else if (FLAG("no_writeback_cache")) {
		err = set_tri(&r->wb, 0, "no_writeback_cache");
	} else if (FLAG("keep_cache")) {
		err = set_tri(&r->keep_cache, 1, "keep_cache");
	} else if (FLAG("no_keep_cache")) {
		err = set_tri(&r->keep_cache, 0, "no_keep_cache");
	} else if (FLAG("splice")) {
		err = set_tri(&r->splice, 1, "splice");
	} else if (FLAG("no_splice")) {
		err = set_tri(&r->splice, 0, "no_splice");
	} else if (VALUE("max_write") || VALUE("max_read")) {
		bool w = opt[4] == 'w';

		if (parse_size(val, &n) || n < TF_MIN_IO || n > TF_MAX_IO)
			return usage_err("bad value for %s: '%s' (4K..1M)", opt,
					 val);
		if (w && r->have_max_write && r->max_write != n)
			return usage_err(
				"contradictory options: two values for max_write");
		if (!w && r->have_max_read && r->max_read != n)
			return usage_err(
				"contradictory options: two values for max_read");
		if (w) {
			r->max_write = (unsigned int)n;
			r->have_max_write = true;
		} else {
			r->max_read = (unsigned int)n;
			r->have_max_read = true;
		}
	} else if (VALUE("entry_timeout") || VALUE("attr_timeout") ||
		   VALUE("negative_timeout")) {
		double v;

		if (parse_seconds(val, &v))
			return usage_err(
				"bad value for %s: '%s' (seconds, 0..1e6)", opt,
				val);
		if (opt[0] == 'e') {
			r->entry = v;
			r->have_entry = true;
		} else if (opt[0] == 'a') {
			r->attr = v;
			r->have_attr = true;
		} else {
			r->negative = v;
			r->have_negative = true;
		}
	} else if (VALUE("cache_mb")) {
		if (parse_uint(val, 1u << 20, &n))
			return usage_err(
				"bad value for cache_mb: '%s' (0..1048576)",
				val);
		r->cache_mb = n;
		r->have_cache = true;
	} else if (VALUE("image_cache")) {
		if (!strcmp(val, "page"))
			r->image_cache = 0;
		else if (!strcmp(val, "drop"))
			r->image_cache = TW_UDEV_NOCACHE;
		else if (!strcmp(val, "direct"))
			r->image_cache = TW_UDEV_DIRECT;
		else
			return usage_err(
				"bad value for image_cache: '%s' (page, drop or direct)",
				val);
		r->have_image_cache = true;
	} else if (VALUE("commit_interval")) {
		if (parse_uint(val, 86400, &n))
			return usage_err(
				"bad value for commit_interval: '%s' (0..86400 seconds)",
				val);
		r->commit = (unsigned int)n;
		r->have_commit = true;
	} else if (VALUE("fault")) {
		/* validate now; armed once the filesystem is mounted */
		if (tw_fault_set_spec(val))
			return usage_err(
				"bad fault spec '%s' (POINT:N:eio|hang|crash[-once],...)",
				val);
		tw_fault_clear(NULL);
		cfg->fault = val;
	} else if (VALUE("record")) {
		cfg->record = val;
	} else if (FLAG("ro")) {
		cfg->ro = true;
	} else if (FLAG("rw")) {
		cfg->ro = false;
	} else if (FLAG("noatime")) {
		cfg->mnt_flags =
			(cfg->mnt_flags & ~TW_MNT_STRICTATIME) | TW_MNT_NOATIME;
	} else if (FLAG("strictatime") || FLAG("atime")) {
		cfg->mnt_flags =
			(cfg->mnt_flags & ~TW_MNT_NOATIME) | TW_MNT_STRICTATIME;
	} else if (FLAG("relatime") || FLAG("norelatime")) {
		/* relatime is the default; norelatime means atime */
		cfg->mnt_flags &= ~(TW_MNT_NOATIME | TW_MNT_STRICTATIME);
		if (opt[0] == 'n')
			cfg->mnt_flags |= TW_MNT_STRICTATIME;
	} else if (FLAG("nodiratime")) {
		/* the daemon updates atime (FUSE inodes are S_NOATIME) */
		cfg->mnt_flags |= TW_MNT_NODIRATIME;
	} else if (FLAG("diratime")) {
		cfg->mnt_flags &= ~TW_MNT_NODIRATIME;
	} else if (FLAG("acl")) {
		cfg->mnt_flags &= ~TW_MNT_NOACL;
	} else if (FLAG("noacl")) {
		cfg->mnt_flags |= TW_MNT_NOACL;
	} else if (FLAG("lazytime") || FLAG("nolazytime")) {
		return usage_err(
			"option '%s' is not supported: timestamps go to disk with the next commit like every change (commit_interval)",
			opt);
	} else if (FLAG("remount")) {
		cfg->remount = true;
	} else if (cfg->remount && val && is_one_of(opt, kernel_shown)) {
		/* the kernel's view of the mount, handed back by mount(8) */
	} else if (FLAG("allow_other")) {
		cfg->allow_other = true;
	} else if (FLAG("allow_root")) {
		err = add_mount_opt(cfg, "allow_root");
	} else if (FLAG("auto_unmount")) {
		cfg->auto_unmount = true;
	} else if (FLAG("default_permissions")) {
		/* always on */
	} else if (FLAG("debug")) {
		cfg->debug = true;
		cfg->foreground = true;
	} else if (VALUE("fsname")) {
		cfg->fsname = val;
	} else if (VALUE("subtype")) {
		if (strcmp(val, "twinfs"))
			return usage_err(
				"subtype=%s: this daemon mounts twinfs", val);
	} else if (!val && is_one_of(opt, passthrough)) {
		err = add_mount_opt(cfg, opt);
	} else if ((!val && is_one_of(opt, ignored)) ||
		   !strncmp(opt, "x-", 2) || !strcmp(opt, "comment")) {
		/* mount(8)/fstab bookkeeping */
	} else {
		if (val)
			val[-1] = '=';
		return usage_err("unknown option '%s'", opt);
	}
#undef FLAG
#undef VALUE
	return err;
}

/* Split "a,b\,c,d" at unescaped commas and feed each option. */
static int option_list(struct tf_config *cfg, struct req *r, const char *list)
{
	char *copy = strdup(list), *p, *o, *start;
	int err = 0;

	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", TF_PROG);
		return TF_EXIT_FAIL;
	}
	/* the options point into @copy for the daemon's lifetime */
	for (p = o = start = copy;; p++) {
		if (*p == '\\' && p[1]) {
			*o++ = *++p;
			continue;
		}
		if (*p == ',' || !*p) {
			bool end = !*p;

			*o = '\0';
			if (*start)
				err = one_option(cfg, r, start);
			if (err || end)
				break;
			start = o = p + 1;
			continue;
		}
		*o++ = *p;
	}
	return err;
}

/* ---- profiles ---- */

/* image_cache of both profiles (docs/fuse.md, "The data path") */
#define IMAGE_CACHE_DEFAULT TW_UDEV_DIRECT

static const char *image_cache_name(unsigned int v)
{
	return v == TW_UDEV_DIRECT ? "direct" : v ? "drop" : "page";
}

static void apply_profile(struct tf_config *c, const char *name)
{
	bool opt = !strcmp(name, "optimized");

	c->profile = opt ? "optimized" : "base";
	/*
	 * Both profiles serve requests with one thread: on the 2-CPU build
	 * host the multithreaded loop was slower with one client and with
	 * four (docs/fuse.md, "Why one thread").
	 */
	c->threads = false;
	c->max_threads = 0;
	c->clone_fd = false;
	c->writeback_cache = false; /* never safe by default: see --help */
	c->max_write = opt ? TF_MIB : 128 * TF_KIB;
	c->max_read = opt ? TF_MIB : 128 * TF_KIB;
	c->entry_timeout = opt ? 1.0 : 0.0;
	c->attr_timeout = opt ? 1.0 : 0.0;
	c->negative_timeout = opt ? 1.0 : 0.0;
	c->keep_cache = opt;
	c->splice = false;
	c->cache_bytes = TW_UDEV_DEFAULT_CACHE;
	c->image_cache = IMAGE_CACHE_DEFAULT;
	c->commit_interval = 5;
}

static void note(struct tf_config *c, const char *what)
{
	size_t l = strlen(c->overridden);

	snprintf(c->overridden + l, sizeof(c->overridden) - l, "%s%s",
		 l ? "," : "", what);
}

static int apply(struct tf_config *c, struct req *r)
{
	apply_profile(c, r->profile ? r->profile : "optimized");
#define OVERRIDE(field, value, label)    \
	do {                             \
		if (c->field != (value)) \
			note(c, label);  \
		c->field = (value);      \
	} while (0)
	if (r->threads.set)
		OVERRIDE(threads, (bool)r->threads.val, r->threads.name);
	if (r->max_threads)
		OVERRIDE(max_threads, r->max_threads, "threads=N");
	if (!c->threads)
		c->max_threads = 0;
	else if (!c->max_threads)
		c->max_threads = TF_DEFAULT_THREADS;
	if (r->clone_fd.set)
		OVERRIDE(clone_fd, (bool)r->clone_fd.val, r->clone_fd.name);
	if (!c->threads) {
		if (r->clone_fd.set && r->clone_fd.val)
			return usage_err(
				"contradictory options: 'clone_fd' needs the multithreaded loop ('threads')");
		c->clone_fd = false;
	}
	if (r->wb.set)
		OVERRIDE(writeback_cache, (bool)r->wb.val, r->wb.name);
	if (r->have_max_write)
		OVERRIDE(max_write, r->max_write, "max_write");
	if (r->have_max_read)
		OVERRIDE(max_read, r->max_read, "max_read");
	if (r->have_entry)
		OVERRIDE(entry_timeout, r->entry, "entry_timeout");
	if (r->have_attr)
		OVERRIDE(attr_timeout, r->attr, "attr_timeout");
	if (r->have_negative)
		OVERRIDE(negative_timeout, r->negative, "negative_timeout");
	if (r->keep_cache.set)
		OVERRIDE(keep_cache, (bool)r->keep_cache.val,
			 r->keep_cache.name);
	if (r->splice.set)
		OVERRIDE(splice, (bool)r->splice.val, r->splice.name);
	if (r->have_cache)
		OVERRIDE(cache_bytes, r->cache_mb << 20, "cache_mb");
	if (r->have_image_cache)
		OVERRIDE(image_cache, r->image_cache, "image_cache");
	if (r->have_commit)
		OVERRIDE(commit_interval, r->commit, "commit_interval");
#undef OVERRIDE
	return 0;
}

/* Is "remount" among the -o options?  It changes how the others read. */
static bool wants_remount(int argc, char **argv)
{
	const char *l, *p;
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "-o", 2))
			continue;
		l = argv[i][2] ? argv[i] + 2 : argv[i + 1];
		for (p = l; p && (p = strstr(p, "remount")); p += 7)
			if ((p == l || p[-1] == ',') && (!p[7] || p[7] == ','))
				return true;
	}
	return false;
}

int tf_parse_args(int argc, char **argv, struct tf_config *cfg)
{
	struct req r = { 0 };
	const char *pos[2];
	int npos = 0, i, err;
	bool dashdash = false;

	cfg->remount = wants_remount(argc, argv);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (dashdash || a[0] != '-' || !a[1]) {
			if (npos == 2)
				return usage_err("too many arguments: '%s'", a);
			pos[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			tf_usage(stdout);
			return -1;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			/* GNU style, then the libfuse this daemon runs on */
			printf("%s (%s) %s\nlibfuse %s\n", TF_PROG,
			       TWINFS_PACKAGE, TWINFS_VERSION,
			       fuse_pkgversion());
			return -1;
		} else if (!strcmp(a, "-f")) {
			cfg->foreground = true;
		} else if (!strcmp(a, "-d")) {
			cfg->debug = true;
			cfg->foreground = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cfg->verbose = true;
		} else if (!strcmp(a, "-s")) {
			err = set_tri(&r.threads, 0, "-s/single_thread");
			if (err)
				return err;
		} else if (!strncmp(a, "-o", 2)) {
			const char *list = a[2] ? a + 2 : argv[++i];

			if (!list)
				return usage_err("option '-o' needs a value");
			err = option_list(cfg, &r, list);
			if (err)
				return err;
		} else {
			return usage_err("unknown option '%s'", a);
		}
	}
	if (npos < 2)
		return usage_err(npos ? "missing MOUNTPOINT" :
					"missing IMAGE and MOUNTPOINT");
	cfg->image = pos[0];
	cfg->mountpoint = (char *)pos[1];
	return apply(cfg, &r);
}

static const char *fmt_size(unsigned long long b, char *buf, size_t len)
{
	if (b && !(b % TF_MIB))
		snprintf(buf, len, "%lluM", b / TF_MIB);
	else if (b && !(b % TF_KIB))
		snprintf(buf, len, "%lluK", b / TF_KIB);
	else
		snprintf(buf, len, "%llu", b);
	return buf;
}

void tf_describe(const struct tf_config *c, char *buf, size_t len)
{
	char mw[24], mr[24], cache[24], threads[48];

	if (c->threads)
		snprintf(threads, sizeof(threads), "threads=%u%s",
			 c->max_threads, c->clone_fd ? ",clone_fd" : "");
	else
		snprintf(threads, sizeof(threads), "single_thread");
	snprintf(buf, len,
		 "profile %s%s%s%s: %s, %s, max_write=%s, max_read=%s, "
		 "max_pages=%u, entry_timeout=%gs, attr_timeout=%gs, "
		 "negative_timeout=%gs, %s, %s, cache=%s, image_cache=%s, "
		 "commit_interval=%us",
		 c->profile, c->overridden[0] ? " (overridden: " : "",
		 c->overridden, c->overridden[0] ? ")" : "", threads,
		 c->writeback_cache ? "writeback_cache" : "no_writeback_cache",
		 fmt_size(c->max_write, mw, sizeof(mw)),
		 fmt_size(c->max_read, mr, sizeof(mr)),
		 (c->max_write + 4095) / 4096, c->entry_timeout,
		 c->attr_timeout, c->negative_timeout,
		 c->keep_cache ? "keep_cache" : "no_keep_cache",
		 c->splice ? "splice" : "no_splice",
		 fmt_size(c->cache_bytes, cache, sizeof(cache)),
		 image_cache_name(c->image_cache), c->commit_interval);
}
