/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fsck.h - the twinfs checker as a library, so that fsck.twinfs, the tests
 * and the fuzz targets run the very same code; and, below the library's
 * two entry points, what the checker's own files share.
 *
 * The checker is one file per responsibility, as e2fsck's passes:
 *   fsck.c          the driver: superblock, journal replay (by the core's
 *                   mount), the passes in order, repeat until clean
 *   fsck_journal.c  the journal superblock and stale log descriptors
 *   fsck_inode.c    pass 1: inodes, block ownership, i_blocks, symlink
 *                   blocks; xattrs by fsck_xattr.c (the one block or the
 *                   index, entry and value blocks, the ACLs among them)
 *   fsck_dir.c      pass 2: directory structure, entries, hash index
 *   fsck_links.c    passes 3 and 4: connectivity, link counts, and the
 *                   reconnection to /lost+found
 *   fsck_orphan.c   pass 5: the orphan table
 *   fsck_bitmap.c   pass 6: bitmaps and free counts
 *   fsck_util.c     what they share: reporting a problem, the claimed-block
 *                   map, block headers, writing a repaired block or inode
 *
 * Layer: tools.  May call the core (including its internals, tw_int.h) and
 * the user-space environment (user/tw_user.h).  This header includes the
 * core's API header (twinfs.h) only.
 */
#ifndef TWINFS_FSCK_H
#define TWINFS_FSCK_H

#include <stdbool.h>
#include <stdio.h>

#include "twinfs.h"

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

/* ---- inside the checker: shared by tools/fsck*.c, not by its users ---- */

struct tw_buf;

/* What pass 1 made of an inode. */
enum { FSCK_I_FREE, FSCK_I_OK, FSCK_I_BAD };

/* One inode, as the passes find it. */
struct fsck_iinfo {
	u32 links; /* entries naming the inode */
	u32 dparent; /* directories: the one entry's directory */
	u32 subdirs; /* directories: child directories */
	u32 entries; /* directories: live entries counted */
	u8 state;
	u8 isdir;
	u8 dtype;
	u8 unattached;
};

/* One check of one device (fsck.c's check_once()). */
struct fsck_ctx {
	const struct fsck_opts *o;
	FILE *out;
	struct tw_dev *dev;
	struct tw_fs *fs;
	u64 nblocks;
	u32 ninodes;
	u8 *claimed; /* one bit per block */
	struct fsck_iinfo *ii;
	unsigned int found, fixed, left;
	bool preen_stop; /* -p met a problem it must not fix */
	bool dirty; /* blocks were repaired */
	struct fsck_result *res;
};

/* fsck_util.c: reporting */

/**
 * fsck_problem() - report a problem (printf-style, no newline) and say
 * whether to repair it: always with -y, with -p only if @safe and no unsafe
 * problem came before (which stops -p), never with -n.
 * Return: true if the caller is to repair it.
 */
bool fsck_problem(struct fsck_ctx *c, bool safe, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A problem fsck finds but does not know how to repair. */
void fsck_unfixable(struct fsck_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Progress (the pass headers); nothing with o->quiet. */
void fsck_note(struct fsck_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fsck_util.c: the claimed blocks (one owner each) */

bool fsck_claimed(struct fsck_ctx *c, u64 blk);
void fsck_claim(struct fsck_ctx *c, u64 blk);
void fsck_unclaim(struct fsck_ctx *c, u64 blk);
/* Claim block @blk for inode @ino's @what pointer: 1 usable (claimed), 0
 * to be cleared, -1 bad but left (no repair). */
int fsck_take(struct fsck_ctx *c, u64 ino, u64 blk, const char *what);

/* fsck_util.c: blocks and inodes */

/* Read block @blk, expected to carry @magic for @owner: 1 ok, 0 bad, or a
 * negative errno (then *@b is not held). */
int fsck_hdr_block(struct fsck_ctx *c, u64 blk, u32 magic, u64 owner,
		   struct tw_buf **b);
/* Recompute a repaired block's checksum and mark it dirty. */
void fsck_reseal(struct fsck_ctx *c, struct tw_buf *b);
/* Recompute inode @ino's checksum and mark its table block dirty. */
void fsck_inode_write(struct fsck_ctx *c, struct tw_buf *b, struct tw_inode *di,
		      u64 ino);
/* Free inode @ino in place (its generation kept). */
void fsck_clear_inode(struct fsck_ctx *c, struct tw_buf *b, struct tw_inode *di,
		      u64 ino);

/* The passes, in the order fsck.c runs them: 0 or a negative errno that
 * stops the check (-EUCLEAN: a problem nothing can repair). */
int fsck_pass_inodes(struct fsck_ctx *c); /* fsck_inode.c */
int fsck_pass_dirs(struct fsck_ctx *c); /* fsck_dir.c */
int fsck_pass_links(struct fsck_ctx *c); /* fsck_links.c */
int fsck_pass_orphans(struct fsck_ctx *c); /* fsck_orphan.c */
int fsck_pass_bitmaps(struct fsck_ctx *c); /* fsck_bitmap.c */
/* After the passes, with -y: link unattached inodes into /lost+found,
 * through the core's transactions (fsck_links.c). */
int fsck_reconnect(struct fsck_ctx *c);

/* fsck_journal.c: before the core can mount, and right after */

/* True if the journal superblock is unusable (the mount failed on it). */
bool fsck_journal_damaged(struct fsck_ctx *c);
/* Write an empty journal (pending transactions are lost). */
int fsck_journal_reset(struct fsck_ctx *c);
/* Wipe log descriptors numbered beyond the next transaction. */
int fsck_journal_future(struct fsck_ctx *c);

#endif /* TWINFS_FSCK_H */
