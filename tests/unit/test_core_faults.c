// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_faults.c - the core on a failing device: the crash-test
 * workload (tw_coretest.h) on a fault-injecting backend, with the n-th
 * block write, flush or read failing once, or the disk dying after the
 * n-th write, for n across the whole workload.  Operations may fail with
 * EIO (EROFS once the journal has failed), but nothing may crash or leak,
 * and the image the error leaves must mount, hold everything synced
 * before it and be consistent as a whole (ct_walk_check()).  A transient
 * error must not leave half an operation for a later commit to make
 * durable.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device and fault-injecting backend
 * (tw_user.h).
 */
#include "tw_coretest.h"

/* ------------------------------------------------------------------------ */
/* I/O errors                                                               */
/* ------------------------------------------------------------------------ */

/*
 * The workload on a device that fails: @die: every I/O from the @n-th
 * block write on fails (the disk is gone); otherwise the @n-th I/O of
 * @kind fails once.  Operations may fail with EIO or EROFS, then the
 * workload stops; whatever the core does meanwhile, the image left on the
 * "disk" must mount, hold everything synced before the error and be
 * consistent.  For a transient error the device comes back before the
 * unmount, so whatever the core still commits is checked too.
 *
 * Returns the I/Os of @kind the run made after mount (to size samples).
 */
static u64 fault_run(const u8 *base, u64 blocks, struct tw_dev *scratch,
		     int kind, u64 n, bool die, int *bad)
{
	static struct cw_wl w;
	struct tw_backend *ram = tw_backend_ram(blocks), *fb;
	struct tw_dev *dev;
	u8 *mem;
	u64 start, used;
	int j, k = 0, stop = 0, err;
	char what[64];

	REQUIRE(ram);
	mem = tw_backend_ram_data(ram);
	memcpy(mem, base, blocks * CT_BS);
	fb = tw_backend_fault(ram);
	REQUIRE(fb);
	dev = tw_udev_from_backend(fb);
	REQUIRE(dev);
	/* a small cache: reads reach the device too */
	tw_udev_set_cache_limit(dev, 32 * CT_BS);
	memset(&w, 0, sizeof(w));
	w.fs = ct_mount(dev);
	start = tw_fault_be_count(fb, kind);
	if (n) {
		if (die)
			tw_fault_be_die_after(fb, n - 1);
		else
			tw_fault_be_fail_nth(fb, kind, n);
	}
	ct_log_capture(true);
	cw_lenient = true;
	for (j = 1; j <= CW_NPHASE && !stop; j++) {
		w.st[j] = w.st[j - 1];
		if (!cw_run_phase(&w, j, &w.st[j])) {
			stop = j;
			break;
		}
		err = j < CW_NPHASE ? tw_sync(w.fs) : 0;
		if (!err)
			k = j;
		else if (err != -EIO) {
			CHECK_EQ(err, -EIO);
			(*bad)++;
		}
		if (err)
			stop = j;
	}
	cw_lenient = false;
	used = tw_fault_be_count(fb, kind) - start;
	if (!die)
		tw_fault_be_reset(fb); /* the device is back */
	err = tw_unmount(w.fs);
	if (!err && !stop)
		k = CW_NPHASE;
	if (n && die)
		CHECK(err < 0 || !stop); /* a dead disk cannot be unmounted */
	memcpy(ct_ram_of(scratch), mem, blocks * CT_BS);
	err = tw_udev_close(dev);
	ct_log_release();
	CHECK(err != -EBUSY); /* no buffer left referenced */
	if (!die)
		CHECK_EQ(err, 0);

	/* the "disk" as the error left it */
	snprintf(what, sizeof(what), "%s %s %llu",
		 die ? "dead after" : "failed",
		 kind == TW_IO_READ  ? "read" :
		 kind == TW_IO_WRITE ? "write" :
				       "flush",
		 (unsigned long long)n);
	{
		struct tw_fs *fs = NULL;
		int b = 0;

		CHECK_EQ(tw_udev_drop_caches(scratch), 0);
		ct_log_capture(true);
		err = tw_mount(scratch, blocks, NULL, &fs);
		ct_log_release();
		if (err) {
			fprintf(stderr, "  %s: mount failed: %d%s (%s)\n", what,
				err, ct_errname(err), ct_last_log);
			b = 1;
		} else {
			int to = stop ? stop : k;

			b = cw_check_between(fs, &w.st[k], &w.st[to],
					     to > k ? w.ren_from[to] : NULL,
					     to > k ? w.ren_to[to] : NULL);
			CHECK_EQ(tw_unmount(fs), 0);
		}
		CHECK_EQ(tw_udev_drop_caches(scratch), 0);
		if (b) {
			fprintf(stderr,
				"  %s (synced through phase %d, stopped in %d): %d problems\n",
				what, k, stop, b);
			(*bad)++;
		}
	}
	return used;
}

static void test_io_errors(void)
{
	const u64 blocks = 1024;
	struct tw_mkfs_opts o = ct_mkfs_opts(blocks, 0, 400);
	struct tw_dev *dev = tw_udev_ram(blocks),
		      *scratch = tw_udev_ram(blocks);
	static const int kinds[] = { TW_IO_WRITE, TW_IO_FLUSH, TW_IO_READ };
	u8 *base = malloc(blocks * CT_BS);
	int bad = 0, runs = 0;
	size_t i;

	REQUIRE(dev && scratch && base);
	REQUIRE_EQ(tw_mkfs(dev, &o), 0);
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	memcpy(base, ct_ram_of(dev), blocks * CT_BS);
	ct_close(dev);

	for (i = 0; i < CT_ARRAY_SIZE(kinds); i++) {
		u64 total, n, step;

		/* a clean run: how many I/Os of this kind there are */
		total = fault_run(base, blocks, scratch, kinds[i], 0, false,
				  &bad);
		step = total / 24 + 1;
		for (n = 1; n <= total; n += step) {
			fault_run(base, blocks, scratch, kinds[i], n, false,
				  &bad);
			runs++;
		}
		if (kinds[i] == TW_IO_WRITE) {
			for (n = 1; n <= total; n += step) {
				fault_run(base, blocks, scratch, kinds[i], n,
					  true, &bad);
				runs++;
			}
		}
	}
	fprintf(stderr, "  %d runs with an I/O error, %d bad\n", runs, bad);
	CHECK_EQ(bad, 0);
	ct_close(scratch);
	free(base);
}

int main(void)
{
	RUN(test_io_errors);
	return ct_done();
}
