// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_fsck.c - fuzz target: fsck -n, then fsck -y followed by fsck -n,
 * which must then be clean; then the repaired image must mount and stay
 * clean under operations.
 *
 * Layer: tests (tests/fuzz).  Calls the checker library (tools/fsck.h),
 * the core API and fz_*.
 *
 * The checker runs on the RAM device (fsck_run_dev()), with an empty block
 * cache for each step, as if each were a new process.  Per input:
 *   1. fsck -n: any exit but 1 (nothing can be "corrected" read-only) and
 *      16, and not a single block written; if it says clean (0), the
 *      image must mount read-write;
 *   2. fsck -y: if it exits 0 or 1, then
 *   3. fsck -n must exit 0,
 *   4. a read-write mount must succeed, and the operation script of the
 *      input (or the default one) must not meet a single -EUCLEAN or
 *      -EBADMSG: fsck has just called the image clean;
 *   5. after unmounting, fsck -n must still exit 0: the core's own
 *      operations keep a clean filesystem clean.
 * fsck -y exiting 4 or 8 (errors left, reported as such) ends the checks.
 */
#include "fz.h"
#include "fsck.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_quiet();
	fz_bias = FZ_BIAS_FSCK;
	devnull = fz_verbose() ? stdout : fopen("/dev/null", "w");
	return 0;
}

static int fsck(struct tw_dev *dev, enum fsck_mode mode)
{
	struct fsck_opts o = { .mode = mode, .quiet = !fz_verbose(),
			       .verbose = fz_verbose(), .out = devnull };
	struct fsck_result r;
	int code;

	code = fsck_run_dev(dev, "fuzz", &o, &r);
	fz_quiet(); /* fsck resets the log hook */
	return code;
}

/* Mount the image read-write; with @run, run the script strictly. */
static void mount_clean(struct tw_dev *dev, const char *when, const u8 *ops,
			u32 olen, bool run)
{
	struct fz_run_opts ro = { .strict = true, .what = when };
	struct tw_fs *fs;
	int err;

	err = tw_mount(dev, tw_udev_blocks(dev), NULL, &fs);
	if (err)
		fz_bug("%s: the image does not mount: %d", when, err);
	fz_check_mounted(fs, when);
	if (run)
		fz_run_ops(fs, ops, olen, &ro);
	err = tw_unmount(fs);
	if (err)
		fz_bug("%s: unmount failed: %d", when, err);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct tw_dev *dev;
	u8 ops[FZ_MAX_OPS];
	u32 blocks, olen;
	int n1, y, n2, n3;

	olen = fz_get_ops(data, size, ops);
	dev = fz_ram_dev(data, size, &blocks);

	/* each step gets a fresh cache over the device, as a new process */
	n1 = fsck(dev, FSCK_MODE_NO);
	if (n1 == FSCK_NONDESTRUCT || n1 == FSCK_USAGE)
		fz_bug("fsck -n exited %d", n1);
	if (fz_dev_writes())
		fz_bug("fsck -n wrote to the device");
	if (n1 == FSCK_OK) {
		/* clean by fsck's verdict: it mounts */
		dev = fz_reopen(dev, "fsck");
		mount_clean(dev, "after a clean fsck -n", ops, olen, false);
		fz_close(dev, "fsck");
		dev = fz_ram_dev(data, size, &blocks);
	}

	dev = fz_reopen(dev, "fsck");
	y = fsck(dev, FSCK_MODE_YES);
	if (y == FSCK_OK || y == FSCK_NONDESTRUCT) {
		dev = fz_reopen(dev, "fsck");
		n2 = fsck(dev, FSCK_MODE_NO);
		if (n2 != FSCK_OK)
			fz_bug("fsck -y exited %d but fsck -n then exited %d",
			       y, n2);
		dev = fz_reopen(dev, "fsck");
		mount_clean(dev, "after fsck -y", ops, olen, true);
		dev = fz_reopen(dev, "fsck");
		n3 = fsck(dev, FSCK_MODE_NO);
		if (n3 != FSCK_OK)
			fz_bug("fsck -n exited %d after operations on a repaired image",
			       n3);
	} else if (y != FSCK_UNCORRECTED && y != FSCK_ERROR) {
		fz_bug("fsck -y exited %d", y);
	}
	fz_close(dev, "fsck");
	fz_check_leaks("fsck");
	return 0;
}
