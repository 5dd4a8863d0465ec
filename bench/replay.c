// SPDX-License-Identifier: GPL-2.0
/*
 * replay.c - twbench-replay: leave a twinfs image with N MiB of journal
 * still to replay, as a crash would, for the benchmark's replay-time
 * measurement.
 *
 *   twbench-replay IMAGE MIB     (IMAGE: a freshly made twinfs, file or
 *                                 block device; its journal must hold MIB)
 *
 * It mounts IMAGE through the core in this process, makes directories
 * until the running transaction holds MIB MiB of metadata blocks, and
 * commits it through a backend wrapper that lets the log and the commit
 * block reach the disk (the commit's first two flushes) and silently drops
 * every later write: the checkpoint in place and the journal superblock
 * update never happen.  The next mount, in either home, must replay the
 * whole transaction.  Prints one JSON object: the log blocks written,
 * the transaction's metadata blocks, the journal size.
 *
 * Layer: benchmark tool.  Calls the core API (twinfs.h), the core's
 * internals for the journal's fill level (tw_int.h, read only), the
 * user-space environment (tw_user.h) and the C library.
 */
#include "tw_user.h"
#include "twinfs.h"
#include "tw_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The "cut" backend: passes everything to @inner until @flushes_left
 * flushes have happened after arming, then drops writes and flushes. */
struct cut_backend {
	struct tw_backend be;
	struct tw_backend *inner;
	pthread_mutex_t lock;
	int armed;
	int flushes_left;
	int cut;
	unsigned long long log_writes; /* blocks written while armed, before the cut */
	unsigned long long dropped;
};

static struct cut_backend *to_cut(struct tw_backend *be)
{
	return (struct cut_backend *)be;
}

static int cut_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct cut_backend *c = to_cut(be);

	return c->inner->ops->read(c->inner, blk, n, buf);
}

static int cut_write(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs)
{
	struct cut_backend *c = to_cut(be);
	int cut;

	pthread_mutex_lock(&c->lock);
	cut = c->cut;
	if (cut)
		c->dropped += n;
	else if (c->armed)
		c->log_writes += n;
	pthread_mutex_unlock(&c->lock);
	if (cut)
		return 0;
	return c->inner->ops->write(c->inner, blk, n, bufs);
}

static int cut_flush(struct tw_backend *be)
{
	struct cut_backend *c = to_cut(be);
	int err = 0, cut;

	pthread_mutex_lock(&c->lock);
	cut = c->cut;
	pthread_mutex_unlock(&c->lock);
	if (!cut)
		err = c->inner->ops->flush(c->inner);
	pthread_mutex_lock(&c->lock);
	if (!cut && c->armed && --c->flushes_left == 0)
		c->cut = 1;
	pthread_mutex_unlock(&c->lock);
	return err;
}

static void cut_destroy(struct tw_backend *be)
{
	struct cut_backend *c = to_cut(be);

	c->inner->ops->destroy(c->inner);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct tw_backend_ops cut_ops = {
	.read = cut_read,
	.write = cut_write,
	.flush = cut_flush,
	.destroy = cut_destroy,
};

int main(int argc, char **argv)
{
	struct tw_cred cred = { 0, 0 };
	struct tw_backend *inner;
	struct cut_backend *c;
	struct tw_dev *dev;
	struct tw_fs *fs;
	unsigned long target, dirs = 0;
	u64 commits0, blocks;
	u32 count;
	int err = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: twbench-replay IMAGE MIB\n");
		return 2;
	}
	target = strtoul(argv[2], NULL, 0) * (1024 * 1024 / TW_BLOCK_SIZE);
	inner = tw_backend_file(argv[1], TW_UDEV_EXCL, &err);
	if (!inner) {
		fprintf(stderr, "twbench-replay: %s: %s\n", argv[1],
			strerror(-err));
		return 1;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->be.ops = &cut_ops;
	c->be.blocks = inner->blocks;
	snprintf(c->be.name, sizeof(c->be.name), "cut(%.80s)", inner->name);
	c->inner = inner;
	pthread_mutex_init(&c->lock, NULL);
	dev = tw_udev_from_backend(&c->be);
	if (!dev)
		return 1;
	blocks = tw_udev_blocks(dev);
	err = tw_mount(dev, blocks, NULL, &fs);
	if (err) {
		fprintf(stderr, "twbench-replay: mount %s: %s\n", argv[1],
			strerror(-err));
		return 1;
	}
	if (target > fs->j.limit) {
		fprintf(stderr,
			"twbench-replay: a transaction holds at most %u blocks "
			"in this journal, %lu asked\n",
			fs->j.limit, target);
		return 1;
	}
	commits0 = fs->j.commits;
	while (fs->j.count < target) {
		char name[32];

		snprintf(name, sizeof(name), "d%07lu", dirs++);
		err = tw_mkdir(fs, &cred, 1, name, (u32)strlen(name), 0755,
			       NULL);
		if (err) {
			fprintf(stderr, "twbench-replay: mkdir %s: %s\n", name,
				strerror(-err));
			return 1;
		}
		if (fs->j.commits != commits0) {
			fprintf(stderr,
				"twbench-replay: the journal committed on its "
				"own after %lu directories (%u blocks); make it "
				"larger\n",
				dirs, fs->j.count);
			return 1;
		}
	}
	count = fs->j.count;
	/* The commit: flush 1 after the log, flush 2 after the commit block;
	 * everything after (checkpoint, journal superblock) is dropped. */
	pthread_mutex_lock(&c->lock);
	c->armed = 1;
	c->flushes_left = 2;
	pthread_mutex_unlock(&c->lock);
	err = tw_commit(fs);
	if (err || !c->cut) {
		fprintf(stderr, "twbench-replay: commit: %s\n",
			err ? strerror(-err) : "fewer than two flushes");
		return 1;
	}
	printf("{\"tool\":\"twbench-replay\",\"image\":\"%s\",\"dirs\":%lu,"
	       "\"txn_blocks\":%u,\"log_blocks\":%llu,\"log_mib\":%.3f,"
	       "\"journal_blocks\":%u,\"dropped_blocks\":%llu}\n",
	       argv[1], dirs, count, c->log_writes,
	       (double)c->log_writes * TW_BLOCK_SIZE / (1024.0 * 1024.0),
	       fs->j.len, c->dropped);
	fflush(stdout);
	/* A crash: no unmount, nothing more reaches the disk. */
	_exit(0);
}
