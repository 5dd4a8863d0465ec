// SPDX-License-Identifier: GPL-2.0
/*
 * fsck.c - the twinfs checker: find every inconsistency, repair what can be
 * repaired.  This is its driver; the passes live in the files fsck.h lists.
 *
 * Layer: tools.  Calls the checker's passes and helpers (fsck.h), the core
 * (twinfs.h and its internals in tw_int.h: the validator, mount) and the
 * user-space environment (user/tw_user.h).
 *
 * The order, as in e2fsck:
 *   superblock: the core's one validator (tw_validate_super);
 *   journal: replayed by the core's mount (in memory with -n), a damaged
 *      journal superblock reset, stale descriptors wiped (fsck_journal.c);
 *   Pass 1, inodes: checksums, fields, every block pointer in range and
 *      owned by exactly one inode, indirect and symlink blocks, i_blocks
 *      (fsck_inode.c); xattr entry, index and value blocks and the POSIX
 *      ACLs among the entries (fsck_xattr.c);
 *   Pass 2, directories: header, records, names, entries pointing at live
 *      inodes, duplicate names, the hash index and free-space map, counts
 *      (fsck_dir.c);
 *   Pass 3, connectivity: every directory reachable from the root, ".."
 *      right; Pass 4, link counts, unreferenced inodes (reconnected to
 *      /lost+found) (fsck_links.c);
 *   Pass 5, the orphan table (fsck_orphan.c);
 *   Pass 6, bitmaps against reality, free counts (fsck_bitmap.c).
 * Repairs write blocks directly (the filesystem is not mounted anywhere
 * else), except reconnection, which goes through the core's transactions.
 * After repairing, the whole check runs again read-only to confirm.
 */
#include "tw_user.h"
#include "tw_int.h"
#include "fsck.h"

#include <stdlib.h>

static void log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	struct fsck_ctx *c = ctx;

	if (c->o->verbose)
		fprintf(c->out, "  core: %s\n", msg);
}

/* ---- the driver ---- */

/* @given: check this device (left open) instead of opening @path. */
static int check_once(const char *path, struct tw_dev *given,
		      const struct fsck_opts *o, struct fsck_result *res,
		      bool *errors_left)
{
	struct fsck_ctx c = { .o = o,
			      .out = o->out ? o->out : stdout,
			      .res = res };
	struct tw_mount_opts mo = { .flags = TW_MNT_FSCK };
	const struct tw_super *sb;
	struct tw_buf *sbb;
	const char *why;
	bool rdonly = o->mode == FSCK_MODE_NO;
	bool any_unattached = false;
	int err, code = FSCK_OK;
	u64 ino;

	*errors_left = false;
	c.dev = given ? given :
			tw_udev_open(path, rdonly ? TW_UDEV_RDONLY : 0, &err);
	if (!c.dev) {
		fprintf(c.out, "fsck.twinfs: %s: %s\n", path, strerror(-err));
		return FSCK_ERROR;
	}
	tw_log_set_hook(log_hook, &c);

	/* the superblock, with the core's validator */
	err = tw_buf_read(c.dev, TW_SB_BLOCK, &sbb);
	if (err) {
		fprintf(c.out,
			"fsck.twinfs: %s: cannot read the superblock: %s\n",
			path, strerror(-err));
		code = FSCK_ERROR;
		goto close;
	}
	sb = tw_bdata(sbb);
	err = tw_validate_super(sb, tw_udev_blocks(c.dev), &why);
	tw_buf_release(sbb);
	if (err) {
		fprintf(c.out, "%s: superblock: %s\n", path, why);
		c.found++;
		code = FSCK_UNCORRECTED;
		*errors_left = true;
		goto close;
	}

	/* journal replay, by the core (in memory with -n) */
	if (rdonly)
		mo.flags |= TW_MNT_RDONLY;
	err = tw_mount(c.dev, tw_udev_blocks(c.dev), &mo, &c.fs);
	if ((err == -EUCLEAN || err == -EBADMSG) && fsck_journal_damaged(&c) &&
	    fsck_problem(
		    &c, false,
		    "journal superblock damaged; reset the journal (pending transactions are lost)")) {
		err = fsck_journal_reset(&c);
		if (!err)
			err = tw_mount(c.dev, tw_udev_blocks(c.dev), &mo,
				       &c.fs);
	}
	if (err) {
		fprintf(c.out, "%s: cannot open the filesystem: %s\n", path,
			strerror(-err));
		c.found++;
		code = err == -EIO || err == -ENOMEM ? FSCK_ERROR :
						       FSCK_UNCORRECTED;
		*errors_left = true;
		goto close;
	}
	c.nblocks = c.fs->nblocks;
	c.ninodes = c.fs->ninodes;
	res->replayed += c.fs->j.replayed;
	if (c.fs->j.replayed)
		fsck_note(&c, "Journal: %u transaction%s replayed%s\n",
			  c.fs->j.replayed, c.fs->j.replayed == 1 ? "" : "s",
			  rdonly ? " in memory (read-only check)" : "");
	err = fsck_journal_future(&c);
	if (err) {
		fprintf(c.out, "%s: check stopped: %s\n", path, strerror(-err));
		code = FSCK_ERROR;
		*errors_left = true;
		goto unmount;
	}
	c.claimed = calloc((c.nblocks + 7) / 8, 1);
	c.ii = calloc(c.ninodes, sizeof(*c.ii));
	if (!c.claimed || !c.ii) {
		fprintf(c.out, "fsck.twinfs: out of memory\n");
		code = FSCK_ERROR;
		goto unmount;
	}
	for (ino = 0; ino < c.fs->data_start; ino++)
		fsck_claim(&c, ino);

	err = fsck_pass_inodes(&c);
	if (!err)
		err = fsck_pass_dirs(&c);
	if (!err)
		err = fsck_pass_links(&c);
	if (!err)
		err = fsck_pass_orphans(&c);
	if (!err)
		err = fsck_pass_bitmaps(&c);
	if (err) {
		fprintf(c.out, "%s: check stopped: %s\n", path, strerror(-err));
		code = err == -EUCLEAN || err == -EBADMSG ? FSCK_UNCORRECTED :
							    FSCK_ERROR;
		*errors_left = true;
		goto unmount;
	}
	for (ino = 0; ino < c.ninodes; ino++)
		any_unattached |=
			c.ii[ino].unattached && c.o->mode == FSCK_MODE_YES;
	if (c.dirty || any_unattached) {
		err = tw_dev_writeback(c.dev);
		if (!err)
			err = tw_dev_flush(c.dev);
		if (!err && any_unattached)
			err = fsck_reconnect(&c);
		if (err) {
			fprintf(c.out, "%s: repair failed: %s\n", path,
				strerror(-err));
			code = FSCK_ERROR;
			*errors_left = true;
			goto unmount;
		}
	}
	if (!rdonly) {
		struct tw_super *wsb = c.fs->sb;

		if (!c.left) {
			wsb->s_state &= ~tw_cpu_to_le32(TW_STATE_ERROR);
			c.fs->error_seen = false;
		}
		TW_SET64(wsb, s_check_time, tw_now());
	}
	if (c.left || c.preen_stop) {
		code = FSCK_UNCORRECTED;
		*errors_left = true;
	} else if (c.fixed) {
		code = FSCK_NONDESTRUCT;
	}
	if (c.preen_stop)
		fprintf(c.out,
			"%s: UNEXPECTED INCONSISTENCY; RUN fsck.twinfs MANUALLY (without -p)\n",
			path);

unmount:
	err = tw_unmount(c.fs);
	if (err && code < FSCK_ERROR) {
		fprintf(c.out, "%s: writing failed: %s\n", path,
			strerror(-err));
		code = FSCK_ERROR;
	}
close:
	res->found += c.found;
	res->fixed += c.fixed;
	tw_log_set_hook(NULL, NULL);
	if (given)
		err = tw_dev_writeback(c.dev);
	else
		err = tw_udev_close(c.dev);
	if (err && err != -EBUSY && code < FSCK_ERROR)
		code = FSCK_ERROR;
	free(c.claimed);
	free(c.ii);
	return code;
}

static int run(const char *path, struct tw_dev *given,
	       const struct fsck_opts *o, struct fsck_result *res)
{
	struct fsck_opts verify = *o;
	struct fsck_result again = { 0 };
	FILE *out = o->out ? o->out : stdout;
	bool left;
	int code;

	int round;

	memset(res, 0, sizeof(*res));
	code = check_once(path, given, o, res, &left);
	/*
	 * A repair can uncover more (a cleared directory frees its blocks and
	 * orphans its children): repeat until a read-only check is clean.
	 */
	verify.mode = FSCK_MODE_NO;
	verify.quiet = true;
	verify.out = fopen("/dev/null", "w");
	for (round = 0; code == FSCK_NONDESTRUCT && round < 3; round++) {
		memset(&again, 0, sizeof(again));
		if (check_once(path, given, &verify, &again, &left) ==
		    FSCK_OK) {
			if (verify.out)
				fclose(verify.out);
			return FSCK_NONDESTRUCT;
		}
		fprintf(out, "Repairing again (round %d)\n", round + 2);
		code = check_once(path, given, o, res, &left);
		if (code == FSCK_OK)
			code = FSCK_NONDESTRUCT;
	}
	if (verify.out)
		fclose(verify.out);
	if (code == FSCK_NONDESTRUCT) {
		fprintf(out, "%s: problems remain after repair\n", path);
		return FSCK_UNCORRECTED;
	}
	return code;
}

int fsck_run(const char *path, const struct fsck_opts *o,
	     struct fsck_result *res)
{
	return run(path, NULL, o, res);
}

int fsck_run_dev(struct tw_dev *dev, const char *name,
		 const struct fsck_opts *o, struct fsck_result *res)
{
	return run(name, dev, o, res);
}
