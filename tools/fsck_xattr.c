// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_xattr.c - the checker's look inside an inode's xattr block: the
 * POSIX ACLs.  fsck.c checks the block as a whole (header, checksum,
 * entries that tile it); this checks what the entries of the system.
 * namespace hold, with the core's own validator, so that a value the
 * core would refuse to store is not left on disk for a home to trip over.
 *
 * Layer: tools, a part of the checker (fsck.c calls it).  Calls the core's
 * validators (tw_acl_check(), tw_acl_type()) and the C library.
 */
#include "fsck_xattr.h"

#include <stdio.h>
#include <string.h>

/* Why the system. entry @e of a directory (@isdir) or not is bad, or NULL. */
static const char *acl_problem(const struct tw_xattr_entry *e, bool isdir)
{
	const char *name = (const char *)(e + 1);
	int type = tw_acl_type(name, e->xe_name_len);

	if (!type)
		return "unknown system. attribute";
	if (tw_acl_check(name + e->xe_name_len, TW_GET16(e, xe_value_len)))
		return "malformed ACL";
	if (type == TW_ACL_TYPE_DEFAULT && !isdir)
		return "default ACL on a non-directory";
	return NULL;
}

u32 fsck_xattr_acls(struct tw_xattr_header *xh, u64 ino, bool isdir,
		    fsck_report_fn report, void *ctx)
{
	u8 *base = (u8 *)(xh + 1);
	u32 used = TW_GET32(xh, xh_used), off = 0, removed = 0;
	char msg[384];

	while (off < used) {
		struct tw_xattr_entry *e = (void *)(base + off);
		u32 len = TW_XATTR_ENTRY_LEN(e->xe_name_len,
					     TW_GET16(e, xe_value_len));
		const char *why = NULL;

		if (e->xe_ns == TW_XATTR_NS_SYSTEM)
			why = acl_problem(e, isdir);
		if (why) {
			snprintf(msg, sizeof(msg),
				 "inode %llu: %s system.%.*s; remove",
				 (unsigned long long)ino, why,
				 (int)e->xe_name_len, (const char *)(e + 1));
			if (report(ctx, msg)) {
				/* close the gap, as the core does */
				memmove(base + off, base + off + len,
					used - off - len);
				memset(base + used - len, 0, len);
				used -= len;
				TW_SET32(xh, xh_used, used);
				TW_SET32(xh, xh_count,
					 TW_GET32(xh, xh_count) - 1);
				removed++;
				continue;
			}
		}
		off += len;
	}
	return removed;
}
