// SPDX-License-Identifier: GPL-2.0
/*
 * fz_harness.c - what every fuzz target shares: a RAM device made from an
 * input, leak checks, a quiet core, and the report of a broken invariant.
 *
 * Layer: tests (tests/fuzz).  Calls the user-space environment and the C
 * library.
 */
#include "fz.h"

#include <stdarg.h>
#include <stdlib.h>

static int verbose = -1;

bool fz_verbose(void)
{
	if (verbose < 0)
		verbose = getenv("TWFUZZ_VERBOSE") != NULL;
	return verbose;
}

void fz_quiet(void)
{
	/* the core logs every corruption it meets: millions of lines */
	if (!fz_verbose())
		tw_log_set_level(0);
	else
		tw_log_set_level(TW_LOG_DEBUG);
}

void fz_bug(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "\n==twfuzz== INVARIANT BROKEN: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	abort();
}

/*
 * The device of every input: one RAM backend made once and reused, so that
 * an input costs no 2 MiB allocation and no page faults.  It remembers
 * which blocks are not zero (decoded or written) to clear them for the next
 * input, and counts writes (a read-only mount must make none).
 */
struct fz_backend {
	struct tw_backend be;
	u8 *mem; /* FZ_MAX_BLOCKS blocks */
	u8 *dirty; /* per block: may be non-zero */
	u64 writes;
	bool in_use;
};

static struct fz_backend fzb;

static int fzb_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	if (!n || blk >= be->blocks || n > be->blocks - blk)
		return -EIO;
	memcpy(buf, fzb.mem + blk * FZ_BS, (size_t)n * FZ_BS);
	return 0;
}

static int fzb_write(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs)
{
	u32 i;

	if (!n || blk >= be->blocks || n > be->blocks - blk)
		return -EIO;
	for (i = 0; i < n; i++) {
		memcpy(fzb.mem + (blk + i) * FZ_BS, bufs[i], FZ_BS);
		fzb.dirty[blk + i] = 1;
	}
	fzb.writes += n;
	return 0;
}

static int fzb_flush(struct tw_backend *be)
{
	return 0;
}

static void fzb_destroy(struct tw_backend *be)
{
	fzb.in_use = false;
}

static const struct tw_backend_ops fzb_ops = {
	.read = fzb_read,
	.write = fzb_write,
	.flush = fzb_flush,
	.destroy = fzb_destroy,
};

u8 *fz_dev_mem(void)
{
	return fzb.mem;
}

u64 fz_dev_writes(void)
{
	return fzb.writes;
}

struct tw_dev *fz_ram_dev(const u8 *data, size_t size, u32 *blocks)
{
	struct tw_dev *dev;
	u32 b;

	if (fzb.in_use)
		fz_bug("fz_ram_dev: the device is still open");
	if (!fzb.mem) {
		fzb.mem = calloc(FZ_MAX_BLOCKS, FZ_BS);
		fzb.dirty = calloc(FZ_MAX_BLOCKS, 1);
		if (!fzb.mem || !fzb.dirty)
			fz_bug("out of memory");
		fzb.be.ops = &fzb_ops;
		snprintf(fzb.be.name, sizeof(fzb.be.name), "fuzz");
	}
	for (b = 0; b < FZ_MAX_BLOCKS; b++)
		if (fzb.dirty[b]) {
			memset(fzb.mem + (size_t)b * FZ_BS, 0, FZ_BS);
			fzb.dirty[b] = 0;
		}
	*blocks = fz_dev_blocks(data, size);
	fz_decode_into(data, size, fzb.mem, *blocks, fzb.dirty, NULL, NULL);
	fzb.be.blocks = *blocks;
	fzb.writes = 0;
	fzb.in_use = true;
	dev = tw_udev_from_backend(&fzb.be);
	if (!dev)
		fz_bug("out of memory for a device");
	return dev;
}

struct tw_dev *fz_reopen(struct tw_dev *dev, const char *what)
{
	fz_close(dev, what);
	fzb.in_use = true;
	dev = tw_udev_from_backend(&fzb.be);
	if (!dev)
		fz_bug("out of memory for a device");
	return dev;
}

void fz_check_mounted(struct tw_fs *fs, const char *what)
{
	const struct tw_super *sb = fs->sb;

	if (fs->nblocks != TW_GET64(sb, s_blocks_count) ||
	    fs->ninodes != TW_GET32(sb, s_inodes_count) ||
	    fs->itable_start != TW_GET64(sb, s_itable_start) ||
	    fs->data_start != TW_GET64(sb, s_data_start) ||
	    fs->bbitmap_start != TW_GET64(sb, s_bbitmap_start) ||
	    fs->ibitmap_start != TW_GET64(sb, s_ibitmap_start) ||
	    fs->orphan_start != TW_GET64(sb, s_orphan_start) ||
	    fs->orphan_blocks != TW_GET32(sb, s_orphan_blocks) ||
	    fs->j.start != TW_GET64(sb, s_journal_start) ||
	    fs->j.len != TW_GET32(sb, s_journal_blocks) ||
	    fs->csum_seed != TW_GET32(sb, s_csum_seed) ||
	    fs->hash_seed != TW_GET32(sb, s_hash_seed))
		fz_bug("%s: the mounted filesystem's geometry differs from its superblock",
		       what);
}

void fz_close(struct tw_dev *dev, const char *what)
{
	int err = tw_udev_close(dev);

	if (err == -EBUSY)
		fz_bug("%s: buffer references leaked (see the log above)",
		       what);
}

void fz_check_leaks(const char *what)
{
	u64 count;
	s64 bytes;

	tw_mem_outstanding(&count, &bytes);
	if (count || bytes)
		fz_bug("%s: tw_alloc() leak: %llu allocations, %lld bytes",
		       what, (unsigned long long)count, (long long)bytes);
}

/*
 * fsck.c closes its devices itself and tolerates -EBUSY there; the targets
 * link with -Wl,--wrap=tw_udev_close so that a buffer reference leaked by
 * the checker is caught too (references left by the checker are bugs).
 */
int __real_tw_udev_close(struct tw_dev *dev);
int __wrap_tw_udev_close(struct tw_dev *dev);
int __wrap_tw_udev_close(struct tw_dev *dev)
{
	int err = __real_tw_udev_close(dev);

	if (err == -EBUSY)
		fz_bug("buffer references leaked at close (see the log above)");
	return err;
}
