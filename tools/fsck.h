/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsck.h - the twinfs checker as a library, so that fsck.twinfs, the tests
 * and the fuzz targets run the very same code.
 *
 * Layer: tools.  May call the core (including its internals, tw_int.h) and
 * the user-space environment (user/tw_user.h).
 */
#ifndef TWINFS_FSCK_H
#define TWINFS_FSCK_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of fsck(8). */
#define FSCK_OK 0
#define FSCK_NONDESTRUCT 1 /* errors corrected */
#define FSCK_UNCORRECTED 4 /* errors left uncorrected */
#define FSCK_ERROR 8 /* operational error */
#define FSCK_USAGE 16

enum fsck_mode {
	FSCK_MODE_NO, /* -n: check only, open read-only */
	FSCK_MODE_YES, /* -y: fix everything that can be fixed */
	FSCK_MODE_PREEN, /* -p: fix what is safe, stop at the rest */
};

struct fsck_opts {
	enum fsck_mode mode;
	bool verbose; /* also print the core's own messages */
	bool quiet; /* only problems, no pass headers */
	FILE *out; /* where the report goes (stdout if NULL) */
};

struct fsck_result {
	unsigned int found; /* problems found */
	unsigned int fixed; /* of which fixed */
	unsigned int replayed; /* journal transactions replayed */
	unsigned long long files, dirs, used_blocks, blocks;
	unsigned long long used_inodes, inodes;
};

/**
 * fsck_run() - check (and with -y/-p repair) the filesystem on @path.
 * Return: an fsck(8) exit code.
 */
int fsck_run(const char *path, const struct fsck_opts *o,
	     struct fsck_result *res);

struct tw_dev;

/**
 * fsck_run_dev() - the same check on a device that is already open (a RAM
 * or test device: tests/crash checks thousands of crash images in memory).
 * @dev stays open and the caller's; @name is used in messages.  With -n the
 * device is not written; with -y/-p repairs are written back to it (not
 * flushed).  Uses the process-wide log hook while it runs.
 * Return: an fsck(8) exit code.
 */
int fsck_run_dev(struct tw_dev *dev, const char *name,
		 const struct fsck_opts *o, struct fsck_result *res);

#endif /* TWINFS_FSCK_H */
