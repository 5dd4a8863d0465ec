// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_mount.c - fuzz target: mount-time validation of a mutated image.
 *
 * Layer: tests (tests/fuzz).  Calls the core API and fz_*.
 *
 * Per input: the one validator on block 0; a read-only mount (journal
 * replayed in memory), statfs and a shallow walk, unmount; a read-write
 * mount (replay to disk, orphan recovery), unmount.  Invariants beyond
 * "no crash, no leak, no hang":
 *   - a read-only mount writes nothing: the device is unchanged after it;
 *   - a read-only mount succeeds whenever the read-write one does... not
 *     necessarily the other way round, so only: if the read-write mount
 *     and its unmount succeed, mounting again read-write succeeds (the
 *     core must not leave behind an image it refuses).
 */
#include "fz.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_bias = FZ_BIAS_MOUNT;
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct tw_mount_opts ro = { .flags = TW_MNT_RDONLY };
	struct tw_dev *dev;
	struct tw_fs *fs;
	struct tw_buf *b;
	struct tw_statfs st;
	struct tw_attr a;
	const char *why;
	u32 blocks;
	int err, e2;

	dev = fz_ram_dev(data, size, &blocks);

	if (!tw_buf_read(dev, TW_SB_BLOCK, &b)) {
		tw_validate_super(tw_bdata(b), blocks, &why);
		tw_buf_release(b);
	}

	err = tw_mount(dev, blocks, &ro, &fs);
	if (!err) {
		fz_check_mounted(fs, "read-only mount");
		tw_statfs(fs, &st);
		tw_getattr(fs, TW_ROOT_INO, &a);
		fz_walk(fs, 0, &e2);
		err = tw_unmount(fs);
		if (err)
			fz_bug("read-only unmount failed: %d", err);
	}
	if (tw_dev_writeback(dev) || fz_dev_writes())
		fz_bug("a read-only mount changed the device");
	dev = fz_reopen(dev, "mount");

	err = tw_mount(dev, blocks, NULL, &fs);
	if (!err) {
		fz_check_mounted(fs, "read-write mount");
		tw_statfs(fs, &st);
		err = tw_unmount(fs);
		if (!err) {
			err = tw_mount(dev, blocks, NULL, &fs);
			if (err)
				fz_bug("mount after a clean mount/unmount cycle failed: %d",
				       err);
			tw_unmount(fs);
		}
	}
	fz_close(dev, "mount");
	fz_check_leaks("mount");
	return 0;
}
