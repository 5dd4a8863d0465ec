// SPDX-License-Identifier: GPL-2.0
/*
 * record.c - twinfs-fuse -o record=FILE: the image behind the user-space
 * environment's write recorder (tw_backend_recorder()), so that every block
 * write and flush the daemon makes is appended to FILE in the write-log
 * format of user/tw_user.h, in the order they completed.  tests/crash
 * checks every crash state of such a log (docs/crash.md); the log grows as
 * the I/O completes, so its size is a position a workload can read.
 *
 * Layer: fusefs (user space).  Calls the user-space environment only.
 */
#include "fusefs.h"

static struct tw_wlog *rec_log;

struct tw_dev *tf_record_open(const char *image, unsigned int flags,
			      const char *path, int *err)
{
	struct tw_backend *be = tw_backend_file(image, flags, err);
	struct tw_dev *dev;

	if (!be)
		return NULL;
	rec_log = tw_wlog_create(path, err);
	if (!rec_log) {
		be->ops->destroy(be);
		return NULL;
	}
	be = tw_backend_recorder(be, rec_log); /* destroys be on failure */
	dev = be ? tw_udev_from_backend(be) : NULL;
	if (!dev) {
		tw_wlog_free(rec_log);
		rec_log = NULL;
		*err = -ENOMEM;
	}
	return dev;
}

int tf_record_close(void)
{
	int err = tw_wlog_free(rec_log);

	rec_log = NULL;
	return err;
}
