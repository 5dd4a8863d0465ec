// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_journal.c - fuzz target: journal replay of a mutated journal.
 *
 * Layer: tests (tests/fuzz).  Calls the core API, its internals (the
 * replay count) and fz_*.
 *
 * The seeds hold transactions that still need replay (crash states taken
 * from the write log of real sessions, and logs rewound to replay a whole
 * history); the mutator biases towards the journal superblock, descriptors,
 * commit blocks and the copies they carry, and recomputes the commit's
 * chained crc so that changed copies are replayed.  Per input:
 *   1. read-only mount: replay into pinned buffers; walk; unmount;
 *   2. read-write mount as fsck does it (replay to disk, no orphan
 *      recovery, so that only replay differs from 1); walk; unmount;
 *   3. a full read-write mount (orphan recovery), walk, unmount; if all of
 *      that succeeded, mount read-write again, which must succeed and
 *      find nothing left to replay.
 * Invariants: (1) leaves the device unchanged; when both (1) and (2) mount,
 * they replayed the same number of transactions and their walks of the
 * root directory see the same names and inode numbers (in-memory replay
 * and on-disk replay agree); (3) as stated.
 */
#include "fz.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_bias = FZ_BIAS_JOURNAL;
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct tw_mount_opts ro = { .flags = TW_MNT_RDONLY };
	struct tw_mount_opts fsck = { .flags = TW_MNT_FSCK };
	struct tw_dev *dev;
	struct tw_fs *fs;
	u32 blocks, ro_replayed = 0, rw_replayed;
	u64 ro_digest = 0, rw_digest;
	bool ro_ok = false;
	int err, e1 = 0, e2 = 0;

	dev = fz_ram_dev(data, size, &blocks);

	err = tw_mount(dev, blocks, &ro, &fs);
	if (!err) {
		ro_ok = true;
		fz_check_mounted(fs, "read-only replay");
		ro_replayed = fs->j.replayed;
		ro_digest = fz_walk(fs, 0, &e1);
		tw_unmount(fs);
	}
	if (tw_dev_writeback(dev) || fz_dev_writes())
		fz_bug("a read-only mount (journal replay in memory) changed the device");
	/* the replayed blocks stay in the cache (see docs/fuzzing.md) */
	dev = fz_reopen(dev, "journal");

	/* replay to disk, without orphan recovery (as fsck mounts) */
	err = tw_mount(dev, blocks, &fsck, &fs);
	if (!err) {
		fz_check_mounted(fs, "on-disk replay");
		rw_replayed = fs->j.replayed;
		rw_digest = fz_walk(fs, 0, &e2);
		if (ro_ok && rw_replayed != ro_replayed)
			fz_bug("read-only replay applied %u transactions, read-write %u",
			       ro_replayed, rw_replayed);
		if (ro_ok && !e1 && !e2 && rw_digest != ro_digest)
			fz_bug("the root directory differs between in-memory and on-disk replay");
		tw_unmount(fs);
	}
	/* a full read-write mount: orphans, then a clean unmount */
	err = tw_mount(dev, blocks, NULL, &fs);
	if (!err) {
		fz_check_mounted(fs, "read-write mount");
		fz_walk(fs, 1, &e2);
		err = tw_unmount(fs);
		if (!err) {
			err = tw_mount(dev, blocks, NULL, &fs);
			if (err)
				fz_bug("mount after replay and a clean unmount failed: %d",
				       err);
			if (fs->j.replayed)
				fz_bug("a clean unmount left %u transactions to replay",
				       fs->j.replayed);
			tw_unmount(fs);
		}
	}
	fz_close(dev, "journal");
	fz_check_leaks("journal");
	return 0;
}
