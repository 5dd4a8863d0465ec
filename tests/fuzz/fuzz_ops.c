// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ops.c - fuzz target: mount a mutated image read-write and run a
 * short script of operations on it (lookup, readdir, read, write, unlink,
 * rename, setxattr, truncate and the rest of fz_ops.c).
 *
 * Layer: tests (tests/fuzz).  Calls the core API and fz_*.
 *
 * The script comes from the input (fz.h); an empty one runs the built-in
 * default.  After the script: evict what was unlinked, unmount, and mount
 * once more to walk what the operations left (no invariant on that second
 * mount: operations on a corrupted image may legitimately spread the
 * damage; crashes, leaks and hangs are what counts here).
 */
#include "fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_bias = FZ_BIAS_OPS;
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct tw_dev *dev;
	struct tw_fs *fs;
	u8 ops[FZ_MAX_OPS];
	u32 blocks, olen;
	int err;

	olen = fz_get_ops(data, size, ops);
	dev = fz_ram_dev(data, size, &blocks);
	err = tw_mount(dev, blocks, NULL, &fs);
	if (!err) {
		fz_run_ops(fs, ops, olen, NULL);
		tw_unmount(fs);
		if (!tw_mount(dev, blocks, NULL, &fs)) {
			fz_walk(fs, 1, &err);
			tw_unmount(fs);
		}
	}
	fz_close(dev, "ops");
	fz_check_leaks("ops");
	return 0;
}
