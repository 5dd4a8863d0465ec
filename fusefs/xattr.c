// SPDX-License-Identifier: GPL-2.0
/*
 * xattr.c - the extended-attribute operations of twinfs-fuse.
 *
 * Layer: fusefs (user space).  Calls the core API (twinfs.h), the helpers
 * of ops.h, libfuse3's low-level API and the C library.
 */
#include "ops.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
/* ---- extended attributes ---- */

/*
 * Setting an access ACL clears S_ISGID unless the caller is in the file's
 * group or has CAP_FSETID (posix_acl_update_mode()).  The kernel says so
 * with FUSE_SETXATTR_ACL_KILL_SGID, which libfuse 3.14 does not hand to
 * the setxattr operation: decide here, uid 0 standing for the capability
 * as elsewhere in the daemon.
 */
static bool kill_sgid(fuse_req_t req, fuse_ino_t ino)
{
	struct tw_attr a;

	if (fuse_req_ctx(req)->uid == 0 || tw_getattr(ST(req)->fs, ino, &a))
		return false;
	return (a.mode & TW_S_ISGID) && !tf_in_group(req, a.gid);
}

/*
 * Values up to 64 KiB (XATTR_SIZE_MAX) reach the core whole.  The kernel
 * sends a setxattr in one request, which must fit the buffer libfuse reads
 * requests into (max_write plus a page): with -o max_write below 64 KiB it
 * answers E2BIG itself for the longest values.  Both profiles (128 KiB,
 * 1 MiB) take them all.
 */
static void tf_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct tf_state *s = ST(req);
	int err, retried = 0;
	u32 tflags = 0;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
		tf_reply_err(req, EINVAL);
		return;
	}
	if (flags & XATTR_CREATE)
		tflags |= TW_XATTR_CREATE;
	if (flags & XATTR_REPLACE)
		tflags |= TW_XATTR_REPLACE;
	if (!strcmp(name, "system.posix_acl_access") && kill_sgid(req, ino))
		tflags |= TW_XATTR_ACL_KILL_SGID;
	do {
		err = tw_setxattr(s->fs, ino, name, value, size, tflags);
	} while (!retried++ && tf_retry_enospc(s, err));
	tf_reply_err(req, err);
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
			tf_reply_err(req, ENOMEM);
			return;
		}
	}
	n = tw_getxattr(s->fs, ino, name, buf, size);
	if (n < 0)
		tf_reply_err(req, (int)n);
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
			tf_reply_err(req, ENOMEM);
			return;
		}
		n = tw_listxattr(s->fs, ino, buf, (size_t)n);
	} while (n == -ERANGE && ++tries < 10); /* grew meanwhile */
	if (n < 0) {
		tf_reply_err(req, (int)n);
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
		tf_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

static void tf_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	tf_reply_err(req, tw_removexattr(ST(req)->fs, ino, name));
}

void tf_xattr_ops(struct fuse_lowlevel_ops *ops)
{
	ops->setxattr = tf_setxattr;
	ops->getxattr = tf_getxattr;
	ops->listxattr = tf_listxattr;
	ops->removexattr = tf_removexattr;
}
