// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - the FUSE low-level operations of twinfs-fuse, each wired to the
 * core API.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the
 * user-space environment (tw_user.h), libfuse3's low-level API and the C
 * library.
 *
 * FUSE inode numbers are twinfs inode numbers: the root is inode 1, which
 * is FUSE_ROOT_ID.  The core returns negative errnos; the replies carry the
 * positive ones.  The core locks what it touches, so requests from many
 * worker threads call it directly; the only state of our own is the table
 * of lookup counts (itable.c).
 *
 * Permissions are the kernel's (default_permissions is always on): it
 * checks access from the attributes we return and asks us to clear set-ID
 * bits through SETATTR (we do not take FUSE_CAP_HANDLE_KILLPRIV), so that
 * write, truncate and chown behave as on a local filesystem.  Owners of
 * new inodes come from the request's context, and with FUSE_CAP_DONT_MASK
 * the umask is applied here.
 */
#include "fusefs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static inline struct tf_state *ST(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- messages ---- */

static bool log_syslog;

void tf_log_background(void)
{
	openlog(TF_PROG, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

static void emit(int level, const char *dev, const char *msg)
{
	if (log_syslog) {
		int prio = level <= TW_LOG_ERR	? LOG_ERR :
			   level <= TW_LOG_WARN ? LOG_WARNING :
			   level <= TW_LOG_INFO ? LOG_INFO :
						  LOG_DEBUG;

		if (dev)
			syslog(prio, "%s: %s", dev, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	if (dev)
		fprintf(stderr, "%s: %s: %s\n", TF_PROG, dev, msg);
	else
		fprintf(stderr, "%s: %s\n", TF_PROG, msg);
}

void tf_log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	emit(level, dev ? tw_udev_name(dev) : NULL, msg);
}

void tf_logf(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, NULL, msg);
}

/* ---- helpers ---- */

static void ns_to_ts(s64 ns, struct timespec *ts)
{
	s64 sec = ns / 1000000000ll, rem = ns % 1000000000ll;

	if (rem < 0) {
		rem += 1000000000ll;
		sec--;
	}
	ts->tv_sec = sec;
	ts->tv_nsec = rem;
}

static s64 ts_to_ns(const struct timespec *ts)
{
	return (s64)ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static void fill_stat(const struct tw_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = (off_t)a->size;
	st->st_blksize = TW_UDEV_BLOCK_SIZE;
	st->st_blocks = (blkcnt_t)a->blocks;
	ns_to_ts(a->atime, &st->st_atim);
	ns_to_ts(a->mtime, &st->st_mtim);
	ns_to_ts(a->ctime, &st->st_ctim);
}

static void fill_entry(struct tf_state *s, const struct tw_attr *a,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = a->ino;
	e->generation = a->generation;
	fill_stat(a, &e->attr);
	e->attr_timeout = s->cfg->attr_timeout;
	e->entry_timeout = s->cfg->entry_timeout;
}

static void reply_err(fuse_req_t req, int err)
{
	fuse_reply_err(req, err < 0 ? -err : err);
}

/*
 * FORGET and RELEASE may free space (the last reference to an unlinked
 * inode).  The kernel queues them before a later STATFS, but worker threads
 * may run them side by side, and the FORGET of an unlinked inode follows
 * only once its last RELEASE was answered.  So STATFS waits (briefly) for
 * FORGETs and RELEASEs in progress and for FORGETs that are due, so that
 * space freed before it was asked for counts as free, as on a local
 * filesystem.  A FORGET that does not come (an O_PATH descriptor or a
 * working directory holds the inode) is waited for TF_PENDING_WAIT_NS at
 * most, once.
 */
#define TF_PENDING_WAIT_NS 100000000l

static void reclaim_begin(struct tf_state *s)
{
	pthread_mutex_lock(&s->reclaim_lock);
	s->reclaiming++;
	pthread_mutex_unlock(&s->reclaim_lock);
}

static void reclaim_end(struct tf_state *s)
{
	pthread_mutex_lock(&s->reclaim_lock);
	if (!--s->reclaiming)
		pthread_cond_broadcast(&s->reclaim_cond);
	pthread_mutex_unlock(&s->reclaim_lock);
}

static void pending_change(struct tf_state *s, int delta)
{
	pthread_mutex_lock(&s->reclaim_lock);
	if (delta > 0) {
		s->pending++;
		clock_gettime(CLOCK_MONOTONIC, &s->pending_until);
		s->pending_until.tv_nsec += TF_PENDING_WAIT_NS;
		if (s->pending_until.tv_nsec >= 1000000000l) {
			s->pending_until.tv_nsec -= 1000000000l;
			s->pending_until.tv_sec++;
		}
	} else if (s->pending) {
		s->pending--;
		pthread_cond_broadcast(&s->reclaim_cond);
	}
	pthread_mutex_unlock(&s->reclaim_lock);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void reclaim_wait(struct tf_state *s)
{
	struct timespec now, until;

	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	until.tv_sec += 2; /* bound: a FORGET stuck behind a hung request */
	pthread_mutex_lock(&s->reclaim_lock);
	for (;;) {
		const struct timespec *limit = &until;

		if (s->pending && before(&now, &s->pending_until)) {
			if (before(&s->pending_until, &until))
				limit = &s->pending_until;
		} else if (!s->reclaiming) {
			break;
		}
		if (pthread_cond_timedwait(&s->reclaim_cond, &s->reclaim_lock,
					   limit) == ETIMEDOUT &&
		    limit == &until)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
	pthread_mutex_unlock(&s->reclaim_lock);
}

/*
 * An allocation failed for want of space while space an unlinked inode
 * holds is due back: wait for it and say whether to try once more (as
 * ext4 retries after a commit).
 */
static bool retry_enospc(struct tf_state *s, long err)
{
	bool due;

	if (err != -ENOSPC || !s->cfg->threads)
		return false;
	pthread_mutex_lock(&s->reclaim_lock);
	due = s->reclaiming || s->pending;
	pthread_mutex_unlock(&s->reclaim_lock);
	if (due)
		reclaim_wait(s);
	return due;
}

static void evict(struct tf_state *s, u64 ino)
{
	int err = tw_evict(s->fs, ino);

	if (err)
		tf_logf(TW_LOG_ERR, "evicting inode %llu: %s",
			(unsigned long long)ino, strerror(-err));
}

/* The kernel let go of @n lookups of @ino (or never got them). */
static void unref(struct tf_state *s, u64 ino, u64 n)
{
	int r = tf_iunref(s->itab, ino, n);

	if (r & TF_EVICT)
		evict(s, ino);
	if (r & TF_WAS_PENDING)
		pending_change(s, -1);
}

/* The core says @ino has no links left. */
static void unlinked(struct tf_state *s, u64 ino)
{
	int r = tf_iunlinked(s->itab, ino);

	if (r & TF_EVICT)
		evict(s, ino);
	if (r & TF_PENDING)
		pending_change(s, 1);
}

/* The kernel closed a file or directory of @ino. */
static void released(struct tf_state *s, u64 ino)
{
	if (tf_irelease(s->itab, ino) & TF_PENDING)
		pending_change(s, 1);
}

/* Hand @a to the kernel as a new lookup of its inode. */
static void reply_entry(fuse_req_t req, const struct tw_attr *a)
{
	struct tf_state *s = ST(req);
	struct fuse_entry_param e;
	int err;

	fill_entry(s, a, &e);
	err = tf_iref(s->itab, a->ino, 1);
	if (err) {
		reply_err(req, err);
		return;
	}
	if (fuse_reply_entry(req, &e))
		unref(s, a->ino, 1); /* the kernel never saw it */
}

static void cred_of(fuse_req_t req, struct tw_cred *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	c->uid = ctx->uid;
	c->gid = ctx->gid;
}

/* Is the caller of @req a member of group @gid? */
static bool in_group(fuse_req_t req, u32 gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t small[32], *list = small;
	int n, i;
	bool found = false;

	if (ctx->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 32, small);
	if (n > 32) {
		list = malloc(sizeof(*list) * (size_t)n);
		if (!list)
			return false;
		n = fuse_req_getgroups(req, n, list);
	}
	for (i = 0; i < n && !found; i++)
		found = list[i] == gid;
	if (list != small)
		free(list);
	return found;
}

/*
 * The permission bits of a new inode in @parent: the umask (when the
 * kernel left it to us) and, as inode_init_owner() does, no set-group-ID
 * on a new file in a set-group-ID directory whose group the creator is not
 * in.  (Recent kernels strip it before asking; older ones do not.)
 */
static u32 new_mode(fuse_req_t req, u64 parent, u32 mode)
{
	struct tf_state *s = ST(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct tw_attr d;

	if (s->dont_mask)
		mode &= ~(ctx->umask & 0777);
	if (!TW_S_ISDIR(mode) &&
	    (mode & (TW_S_ISGID | 0010)) == (TW_S_ISGID | 0010) &&
	    ctx->uid != 0 && !tw_getattr(s->fs, parent, &d) &&
	    (d.mode & TW_S_ISGID) && !in_group(req, d.gid))
		mode &= ~TW_S_ISGID;
	return mode;
}

/* ---- buffers ---- */

static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

struct tbuf {
	size_t size;
	char data[];
};

static void buf_free(void *p)
{
	free(p);
}

static void buf_key_init(void)
{
	pthread_key_create(&buf_key, buf_free);
}

/* A per-thread buffer of at least @size bytes. */
static void *thread_buf(size_t size)
{
	struct tbuf *b;

	pthread_once(&buf_once, buf_key_init);
	b = pthread_getspecific(buf_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	b = malloc(sizeof(*b) + size);
	pthread_setspecific(buf_key, b);
	if (!b)
		return NULL;
	b->size = size;
	return b->data;
}

/* ---- lifetime ---- */

static void tf_init(void *userdata, struct fuse_conn_info *conn)
{
	struct tf_state *s = userdata;
	struct tf_config *c = s->cfg;
	const unsigned int splice_caps = FUSE_CAP_SPLICE_READ |
					 FUSE_CAP_SPLICE_WRITE |
					 FUSE_CAP_SPLICE_MOVE;

	if (c->writeback_cache) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			tf_logf(TW_LOG_WARN,
				"the kernel has no writeback cache for FUSE");
	} else {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	}
	if (c->splice)
		conn->want |= conn->capable & splice_caps;
	else
		conn->want &= ~splice_caps;
	/*
	 * Let the kernel clear set-ID bits through SETATTR on write,
	 * truncate and chown (it knows the caller's capabilities), and send
	 * O_TRUNC as SETATTR too: with atomic O_TRUNC it would skip the
	 * SETATTR that carries the set-ID clearing.
	 */
	conn->want &= ~(FUSE_CAP_HANDLE_KILLPRIV | FUSE_CAP_ATOMIC_O_TRUNC);
	if (conn->capable & FUSE_CAP_DONT_MASK) {
		conn->want |= FUSE_CAP_DONT_MASK;
		s->dont_mask = true;
	}
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	conn->max_write = c->max_write;
	conn->max_read = c->max_read;
	if (conn->max_readahead > c->max_read)
		conn->max_readahead = c->max_read;
	conn->time_gran = 1;
}

static void tf_destroy(void *userdata)
{
	int err = tf_shutdown(userdata);

	if (err)
		tf_logf(TW_LOG_ERR, "unmount: %s", strerror(-err));
}

/* ---- inodes ---- */

static void tf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	int err;

	err = tw_lookup(s->fs, parent, name, (u32)strlen(name), &a);
	if (err == -ENOENT && s->cfg->negative_timeout > 0) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = s->cfg->negative_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, &a);
}

static void tf_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct tf_state *s = ST(req);

	reclaim_begin(s);
	unref(s, ino, nlookup);
	reclaim_end(s);
	fuse_reply_none(req);
}

static void tf_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct tf_state *s = ST(req);
	size_t i;

	reclaim_begin(s);
	for (i = 0; i < count; i++)
		unref(s, forgets[i].ino, forgets[i].nlookup);
	reclaim_end(s);
	fuse_reply_none(req);
}

static void tf_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	struct stat st;
	int err;

	err = tw_getattr(s->fs, ino, &a);
	if (err) {
		reply_err(req, err);
		return;
	}
	fill_stat(&a, &st);
	fuse_reply_attr(req, &st, s->cfg->attr_timeout);
}

static void tf_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct tw_setattr sa;
	struct tw_attr a;
	struct stat st;
	s64 now = 0;
	int err;

	memset(&sa, 0, sizeof(sa));
	if (to_set & (FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))
		now = tw_now();
	if (to_set & FUSE_SET_ATTR_MODE) {
		sa.valid |= TW_SET_MODE;
		sa.mode = attr->st_mode & 07777;
	}
	if (to_set & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) {
		/* only sent with handle_killpriv_v2, which we do not take;
		 * honoured all the same */
		if (!(sa.valid & TW_SET_MODE)) {
			err = tw_getattr(s->fs, ino, &a);
			if (err) {
				reply_err(req, err);
				return;
			}
			sa.mode = a.mode & 07777;
		}
		if (to_set & FUSE_SET_ATTR_KILL_SUID)
			sa.mode &= ~(u32)TW_S_ISUID;
		if ((to_set & FUSE_SET_ATTR_KILL_SGID) && (sa.mode & 0010))
			sa.mode &= ~(u32)TW_S_ISGID;
		sa.valid |= TW_SET_MODE;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		sa.valid |= TW_SET_UID;
		sa.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		sa.valid |= TW_SET_GID;
		sa.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		sa.valid |= TW_SET_SIZE;
		sa.size = (u64)attr->st_size;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
		sa.valid |= TW_SET_ATIME;
		sa.atime = now;
	} else if (to_set & FUSE_SET_ATTR_ATIME) {
		sa.valid |= TW_SET_ATIME;
		sa.atime = ts_to_ns(&attr->st_atim);
	}
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		sa.valid |= TW_SET_MTIME;
		sa.mtime = now;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		sa.valid |= TW_SET_MTIME;
		sa.mtime = ts_to_ns(&attr->st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		sa.valid |= TW_SET_CTIME;
		sa.ctime = ts_to_ns(&attr->st_ctim);
	}
	err = tw_setattr(s->fs, ino, &sa, &a);
	if (err) {
		reply_err(req, err);
		return;
	}
	fill_stat(&a, &st);
	fuse_reply_attr(req, &st, s->cfg->attr_timeout);
}

static void tf_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct tf_state *s = ST(req);
	char buf[TW_SYML_MAX + 1];
	ssize_t n;

	n = tw_readlink(s->fs, ino, buf, TW_SYML_MAX);
	if (n < 0) {
		reply_err(req, (int)n);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void tf_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	cred_of(req, &cred);
	mode = new_mode(req, parent, mode);
	do {
		err = tw_mknod(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, (u32)rdev, &a);
	} while (!retried++ && retry_enospc(s, err));
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, &a);
}

static void tf_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	cred_of(req, &cred);
	mode = new_mode(req, parent, TW_S_IFDIR | (mode & 07777));
	do {
		err = tw_mkdir(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, &a);
	} while (!retried++ && retry_enospc(s, err));
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, &a);
}

static void tf_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct tf_state *s = ST(req);
	struct tw_cred cred;
	struct tw_attr a;
	size_t tlen = strlen(link);
	int err, retried = 0;

	if (tlen > TW_SYML_MAX) {
		reply_err(req, ENAMETOOLONG);
		return;
	}
	cred_of(req, &cred);
	do {
		err = tw_symlink(s->fs, &cred, parent, name, (u32)strlen(name),
				 link, (u32)tlen, &a);
	} while (!retried++ && retry_enospc(s, err));
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, &a);
}

static void tf_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct tf_state *s = ST(req);
	struct tw_attr a;
	int err, retried = 0;

	do {
		err = tw_link(s->fs, ino, newparent, newname,
			      (u32)strlen(newname), &a);
	} while (!retried++ && retry_enospc(s, err));
	if (err)
		reply_err(req, err);
	else
		reply_entry(req, &a);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			bool dir)
{
	struct tf_state *s = ST(req);
	u32 len = (u32)strlen(name), nlink = 1;
	u64 ino = 0;
	int err;

	if (dir)
		err = tw_rmdir(s->fs, parent, name, len, &ino, &nlink);
	else
		err = tw_unlink(s->fs, parent, name, len, &ino, &nlink);
	if (!err && !nlink)
		unlinked(s, ino);
	reply_err(req, err);
}

static void tf_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, false);
}

static void tf_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, true);
}

static void tf_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct tf_state *s = ST(req);
	u32 tflags = 0, vnlink = 1;
	u64 victim = 0;
	int err, retried = 0;

	if (flags & ~(unsigned int)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		reply_err(req, EINVAL); /* RENAME_WHITEOUT: no whiteouts */
		return;
	}
	if (flags & RENAME_NOREPLACE)
		tflags |= TW_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		tflags |= TW_RENAME_EXCHANGE;
	do {
		err = tw_rename(s->fs, parent, name, (u32)strlen(name),
				newparent, newname, (u32)strlen(newname),
				tflags, &victim, &vnlink);
	} while (!retried++ && retry_enospc(s, err));
	if (!err && victim && !vnlink)
		unlinked(s, victim);
	reply_err(req, err);
}

/* ---- files ---- */

static void tf_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	fi->fh = 0;
	fi->keep_cache = s->cfg->keep_cache;
	tf_iopen(s->itab, ino);
	if (fuse_reply_open(req, fi))
		released(s, ino);
}

static void tf_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct fuse_entry_param e;
	struct tw_cred cred;
	struct tw_attr a;
	int err, retried = 0;

	cred_of(req, &cred);
	mode = new_mode(req, parent, TW_S_IFREG | (mode & 07777));
	do {
		err = tw_mknod(s->fs, &cred, parent, name, (u32)strlen(name),
			       mode, 0, &a);
	} while (!retried++ && retry_enospc(s, err));
	if (err) {
		reply_err(req, err);
		return;
	}
	fill_entry(s, &a, &e);
	err = tf_iref(s->itab, a.ino, 1);
	if (err) {
		reply_err(req, err);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = s->cfg->keep_cache;
	tf_iopen(s->itab, a.ino);
	if (fuse_reply_create(req, &e, fi)) {
		released(s, a.ino);
		unref(s, a.ino, 1);
	}
}

static void tf_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	void *buf;
	ssize_t n;

	if (off < 0) {
		reply_err(req, EINVAL);
		return;
	}
	buf = thread_buf(size);
	if (!buf) {
		reply_err(req, ENOMEM);
		return;
	}
	n = tw_read(s->fs, ino, (u64)off, buf, size);
	if (n < 0) {
		reply_err(req, (int)n);
		return;
	}
	bv.buf[0].mem = buf;
	bv.buf[0].size = (size_t)n;
	fuse_reply_data(req, &bv, s->cfg->splice ? FUSE_BUF_SPLICE_MOVE : 0);
}

static void tf_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);
	int retried = 0;
	ssize_t n;

	if (off < 0) {
		reply_err(req, EINVAL);
		return;
	}
	do {
		n = tw_write(s->fs, ino, (u64)off, buf, size);
	} while (!retried++ && retry_enospc(s, n));
	if (n < 0)
		reply_err(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

/*
 * With splice, the data of a WRITE may arrive in a pipe: copy it out into a
 * per-thread buffer.  Data already in memory goes to the core as it is.
 */
static void tf_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
			 off_t off, struct fuse_file_info *fi)
{
	size_t size = fuse_buf_size(in);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	const struct fuse_buf *b0 = &in->buf[in->idx];
	ssize_t n;

	if (in->count - in->idx == 1 && !(b0->flags & FUSE_BUF_IS_FD)) {
		tf_write(req, ino, (const char *)b0->mem + in->off, size, off,
			 fi);
		return;
	}
	dst.buf[0].mem = thread_buf(size);
	if (!dst.buf[0].mem) {
		reply_err(req, ENOMEM);
		return;
	}
	n = fuse_buf_copy(&dst, in, 0);
	if (n < 0) {
		reply_err(req, (int)n);
		return;
	}
	tf_write(req, ino, dst.buf[0].mem, (size_t)n, off, fi);
}

static void tf_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* data is in the daemon's cache already; close() asks no more */
	reply_err(req, 0);
}

static void tf_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	reclaim_begin(s);
	released(s, ino);
	reclaim_end(s);
	reply_err(req, 0);
}

static void tf_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	reply_err(req, tw_fsync(ST(req)->fs, ino, datasync));
}

/* ---- directories ---- */

static void tf_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	fi->fh = 0;
	tf_iopen(s->itab, ino);
	if (fuse_reply_open(req, fi))
		released(s, ino);
}

struct rd {
	fuse_req_t req;
	struct tf_state *s;
	u64 dir;
	bool plus;
	char *buf;
	size_t size, pos;
	u64 *inos; /* lookups handed out by readdirplus */
	size_t ninos, cap;
	int err;
};

static int rd_emit(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		   u64 next)
{
	struct rd *r = ctx;
	char nm[TW_NAME_MAX + 1];
	struct fuse_entry_param e;
	struct tw_attr a;
	size_t need;
	bool dot = (len == 1 && name[0] == '.') ||
		   (len == 2 && name[0] == '.' && name[1] == '.');
	int err;

	if (len > TW_NAME_MAX) {
		r->err = -EUCLEAN;
		return 1;
	}
	memcpy(nm, name, len);
	nm[len] = '\0';
	if (!r->plus) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = ino;
		st.st_mode = dtype << 12;
		need = fuse_add_direntry(r->req, r->buf + r->pos,
					 r->size - r->pos, nm, &st,
					 (off_t)next);
		if (need > r->size - r->pos)
			return 1;
		r->pos += need;
		return 0;
	}
	if (dot) {
		/* no lookup for "." and "..": the kernel skips them */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = ino;
		e.attr.st_mode = dtype << 12;
	} else {
		/* by name: the entry may have gone since it was copied */
		err = tw_lookup(r->s->fs, r->dir, name, len, &a);
		if (err == -ENOENT)
			return 0;
		if (err) {
			r->err = err;
			return 1;
		}
		fill_entry(r->s, &a, &e);
	}
	need = fuse_add_direntry_plus(r->req, r->buf + r->pos, r->size - r->pos,
				      nm, &e, (off_t)next);
	if (need > r->size - r->pos)
		return 1;
	if (!dot) {
		if (r->ninos == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 32;
			u64 *n = realloc(r->inos, cap * sizeof(*n));

			if (!n) {
				r->err = -ENOMEM;
				return 1;
			}
			r->inos = n;
			r->cap = cap;
		}
		err = tf_iref(r->s->itab, e.ino, 1);
		if (err) {
			r->err = err;
			return 1;
		}
		r->inos[r->ninos++] = e.ino;
	}
	r->pos += need;
	return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       bool plus)
{
	struct rd r = { .req = req, .s = ST(req), .dir = ino, .plus = plus };
	size_t i;
	int err;

	if (off < 0) {
		reply_err(req, EINVAL);
		return;
	}
	r.size = size;
	r.buf = malloc(size);
	if (!r.buf) {
		reply_err(req, ENOMEM);
		return;
	}
	err = tw_readdir(r.s->fs, ino, (u64)off, rd_emit, &r);
	if (!err)
		err = r.err;
	if (err && !r.pos) {
		reply_err(req, err);
	} else if (fuse_reply_buf(req, r.buf, r.pos)) {
		for (i = 0; i < r.ninos; i++)
			unref(r.s, r.inos[i], 1);
	}
	free(r.inos);
	free(r.buf);
}

static void tf_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, false);
}

static void tf_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, true);
}

static void tf_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct tf_state *s = ST(req);

	reclaim_begin(s);
	released(s, ino);
	reclaim_end(s);
	reply_err(req, 0);
}

static void tf_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	reply_err(req, tw_fsync(ST(req)->fs, ino, datasync));
}

/* ---- filesystem ---- */

static void tf_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct tf_state *s = ST(req);
	struct tw_statfs t;
	struct statvfs v;
	int err;

	if (s->cfg->threads)
		reclaim_wait(s);
	err = tw_statfs(s->fs, &t);
	if (err) {
		reply_err(req, err);
		return;
	}
	memset(&v, 0, sizeof(v));
	v.f_bsize = t.bsize;
	v.f_frsize = t.bsize;
	v.f_blocks = t.blocks;
	v.f_bfree = t.bfree;
	v.f_bavail = t.bfree;
	v.f_files = t.files;
	v.f_ffree = t.ffree;
	v.f_favail = t.ffree;
	v.f_namemax = t.namelen;
	fuse_reply_statfs(req, &v);
}

/* ---- extended attributes ---- */

static void tf_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct tf_state *s = ST(req);
	int err, retried = 0;
	u32 tflags = 0;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
		reply_err(req, EINVAL);
		return;
	}
	if (flags & XATTR_CREATE)
		tflags |= TW_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		tflags |= TW_XATTR_REPLACE;
	do {
		err = tw_setxattr(s->fs, ino, name, value, size, tflags);
	} while (!retried++ && retry_enospc(s, err));
	reply_err(req, err);
}

static void tf_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct tf_state *s = ST(req);
	void *buf = NULL;
	ssize_t n;

	if (size) {
		buf = malloc(size);
		if (!buf) {
			reply_err(req, ENOMEM);
			return;
		}
	}
	n = tw_getxattr(s->fs, ino, name, buf, size);
	if (n < 0)
		reply_err(req, (int)n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/*
 * The kernel checks get/set of trusted.* (CAP_SYS_ADMIN) but leaves the
 * listing to the filesystem: as ext4 does, trusted.* names are listed to
 * root only (the request carries no capabilities; uid 0 stands for them).
 */
static void tf_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct tf_state *s = ST(req);
	bool hide = fuse_req_ctx(req)->uid != 0;
	char *buf = NULL, *p, *o;
	ssize_t n, len;
	int tries = 0;

	do {
		free(buf);
		buf = NULL;
		n = tw_listxattr(s->fs, ino, NULL, 0);
		if (n <= 0)
			break;
		buf = malloc((size_t)n);
		if (!buf) {
			reply_err(req, ENOMEM);
			return;
		}
		n = tw_listxattr(s->fs, ino, buf, (size_t)n);
	} while (n == -ERANGE && ++tries < 10); /* grew meanwhile */
	if (n < 0) {
		reply_err(req, (int)n);
		free(buf);
		return;
	}
	len = 0;
	for (p = o = buf; p && p < buf + n; p += strlen(p) + 1) {
		size_t l = strlen(p) + 1;

		if (hide && !strncmp(p, "trusted.", 8))
			continue;
		memmove(o, p, l);
		o += l;
		len += (ssize_t)l;
	}
	if (!size)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

static void tf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_err(req, tw_removexattr(ST(req)->fs, ino, name));
}

/*
 * access(2) as the kernel would decide it from the attributes (it only
 * asks when default_permissions is off, which it never is here, but the
 * answer is the POSIX one all the same).
 */
static void tf_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct tf_state *s = ST(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct tw_attr a;
	u32 bits;
	int err;

	err = tw_getattr(s->fs, ino, &a);
	if (err) {
		reply_err(req, err);
		return;
	}
	if (mask == F_OK) {
		reply_err(req, 0);
		return;
	}
	if ((mask & W_OK) && s->cfg->ro) {
		reply_err(req, EROFS);
		return;
	}
	if (ctx->uid == 0) {
		/* root: anything but executing a file nobody may execute */
		err = (mask & X_OK) && !TW_S_ISDIR(a.mode) && !(a.mode & 0111) ?
			      EACCES :
			      0;
		reply_err(req, err);
		return;
	}
	if (ctx->uid == a.uid)
		bits = (a.mode >> 6) & 7;
	else if (in_group(req, a.gid))
		bits = (a.mode >> 3) & 7;
	else
		bits = a.mode & 7;
	reply_err(req, ((u32)mask & ~bits & 7) ? EACCES : 0);
}

void tf_ops_fill(struct fuse_lowlevel_ops *ops, const struct tf_config *cfg)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = tf_init;
	ops->destroy = tf_destroy;
	ops->lookup = tf_lookup;
	ops->forget = tf_forget;
	ops->forget_multi = tf_forget_multi;
	ops->getattr = tf_getattr;
	ops->setattr = tf_setattr;
	ops->readlink = tf_readlink;
	ops->mknod = tf_mknod;
	ops->mkdir = tf_mkdir;
	ops->unlink = tf_unlink;
	ops->rmdir = tf_rmdir;
	ops->symlink = tf_symlink;
	ops->rename = tf_rename;
	ops->link = tf_link;
	ops->open = tf_open;
	ops->read = tf_read;
	ops->write = tf_write;
	/* write_buf pays only when data may come in a pipe (splice) */
	if (cfg->splice)
		ops->write_buf = tf_write_buf;
	ops->flush = tf_flush;
	ops->release = tf_release;
	ops->fsync = tf_fsync;
	ops->opendir = tf_opendir;
	ops->readdir = tf_readdir;
	ops->readdirplus = tf_readdirplus;
	ops->releasedir = tf_releasedir;
	ops->fsyncdir = tf_fsyncdir;
	ops->statfs = tf_statfs;
	ops->setxattr = tf_setxattr;
	ops->getxattr = tf_getxattr;
	ops->listxattr = tf_listxattr;
	ops->removexattr = tf_removexattr;
	ops->access = tf_access;
	ops->create = tf_create;
}

/* ---- commit thread and shutdown ---- */

void tf_state_init(struct tf_state *s)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->unmount_lock, NULL);
	pthread_mutex_init(&s->commit_lock, NULL);
	pthread_cond_init(&s->commit_cond, &ca);
	pthread_mutex_init(&s->reclaim_lock, NULL);
	pthread_cond_init(&s->reclaim_cond, &ca);
	pthread_condattr_destroy(&ca);
}

static void *committer(void *arg)
{
	struct tf_state *s = arg;
	s64 age = (s64)s->cfg->commit_interval * 1000000000ll;
	struct timespec until;
	int err, last = 0;

	pthread_mutex_lock(&s->commit_lock);
	while (!s->committer_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->cfg->commit_interval;
		while (!s->committer_stop &&
		       pthread_cond_timedwait(&s->commit_cond, &s->commit_lock,
					      &until) != ETIMEDOUT)
			;
		if (s->committer_stop)
			break;
		pthread_mutex_unlock(&s->commit_lock);
		err = tw_commit_if_old(s->fs, age);
		if (err && err != last)
			tf_logf(TW_LOG_ERR, "periodic commit: %s",
				strerror(-err));
		last = err;
		pthread_mutex_lock(&s->commit_lock);
	}
	pthread_mutex_unlock(&s->commit_lock);
	return NULL;
}

int tf_committer_start(struct tf_state *s)
{
	int err;

	if (!s->cfg->commit_interval || s->cfg->ro)
		return 0;
	err = pthread_create(&s->committer, NULL, committer, s);
	if (err)
		return -err;
	s->committer_running = true;
	return 0;
}

static void evict_one(void *ctx, u64 ino)
{
	evict(ctx, ino);
}

int tf_shutdown(struct tf_state *s)
{
	int err;

	pthread_mutex_lock(&s->unmount_lock);
	if (s->unmounted) {
		err = s->unmount_err;
		pthread_mutex_unlock(&s->unmount_lock);
		return err;
	}
	if (s->committer_running) {
		pthread_mutex_lock(&s->commit_lock);
		s->committer_stop = true;
		pthread_cond_signal(&s->commit_cond);
		pthread_mutex_unlock(&s->commit_lock);
		pthread_join(s->committer, NULL);
		s->committer_running = false;
	}
	/* the kernel forgets nothing at unmount: unlinked inodes it still
	 * held are freed now rather than by the next mount */
	if (s->itab)
		tf_idrain(s->itab, evict_one, s);
	err = tw_unmount(s->fs);
	s->fs = NULL;
	s->unmounted = true;
	s->unmount_err = err;
	pthread_mutex_unlock(&s->unmount_lock);
	return err;
}
