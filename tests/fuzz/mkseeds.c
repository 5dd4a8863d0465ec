// SPDX-License-Identifier: GPL-2.0
/*
 * mkseeds.c - write the seed corpora of the fuzz targets: images made by
 * the core's own mkfs with varied options, populated through the core API
 * (files, holes and every level of indirect block, symlinks, xattrs in one
 * block and under an index with value blocks, device nodes, hard links, an
 * indexed directory with split buckets, orphans),
 * and crash states with transactions still to replay, taken from the write
 * log of real sessions.  Each is written in the fuzz input format (fz.h).
 *
 * Layer: tests (tests/fuzz).  Calls the core API, the user-space
 * environment (RAM and write-recording backends) and the C library.
 *
 *   mkseeds OUTDIR      writes OUTDIR/{mount,ops,journal,fsck}/NAME.fz
 *
 * Deterministic but for timestamps (the core reads the clock).
 */
#include "fz.h"

#include <stdlib.h>
#include <sys/stat.h>

static const char *outdir;
static int nseeds;
static const struct tw_cred cred = { 1000, 1000 };

static void die(const char *what, long long err)
{
	fprintf(stderr, "mkseeds: %s failed: %lld\n", what, err);
	exit(1);
}

#define OK(e)                                      \
	do {                                       \
		long long _r = (long long)(e);     \
		if (_r < 0)                        \
			die(#e, _r);               \
	} while (0)

static void save_to(const char *target, const char *name, const u8 *mem,
		    u32 blocks, const u8 *ops, u32 olen)
{
	char path[512];
	size_t len;
	u8 *enc = fz_encode_raw(mem, blocks, ops, olen, &len);
	FILE *f;

	if (!enc)
		die("encode", -ENOMEM);
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s.fz", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(enc, 1, len, f) != len || fclose(f))
		die(path, -EIO);
	free(enc);
	nseeds++;
	printf("  %-8s %-28s %6zu bytes (%u blocks)\n", target, name, len,
	       blocks);
}

static u8 *dev_mem(struct tw_dev *dev)
{
	OK(tw_dev_writeback(dev));
	return tw_backend_ram_data(tw_udev_backend(dev));
}

/*
 * The log body of a clean image still holds old transactions, which replay
 * skips (their sequence numbers are stale).  The journal target keeps them;
 * the others get a copy without them: smaller inputs, faster fuzzing.
 */
static u8 *strip_log(const u8 *mem, u32 blocks)
{
	const struct tw_super *sb = (const void *)mem;
	const struct tw_journal_super *js;
	u64 js_blk = TW_GET64(sb, s_journal_start), b;
	u32 len = TW_GET32(sb, s_journal_blocks), keep;
	u8 *copy = malloc((size_t)blocks * FZ_BS);

	if (!copy)
		die("strip_log", -ENOMEM);
	memcpy(copy, mem, (size_t)blocks * FZ_BS);
	js = (const void *)(mem + js_blk * FZ_BS);
	keep = TW_GET32(js, js_start) - 1; /* replay starts here */
	for (b = 0; b + 1 < len; b++)
		if (b != keep)
			memset(copy + (js_blk + 1 + b) * FZ_BS, 0, FZ_BS);
	return copy;
}

/* Save the device's image for the targets named in @targets ("mojf"). */
static void save(struct tw_dev *dev, const char *targets, const char *name,
		 const u8 *ops, u32 olen)
{
	u8 *mem = dev_mem(dev);
	u32 blocks = (u32)tw_udev_blocks(dev);
	u8 *small = strip_log(mem, blocks);
	/* crash states need their log everywhere */
	const u8 *m = strstr(name, "crash") || strstr(name, "rewound") ?
			      mem : small;

	if (strchr(targets, 'm'))
		save_to("mount", name, m, blocks, NULL, 0);
	if (strchr(targets, 'o'))
		save_to("ops", name, m, blocks, ops, olen);
	if (strchr(targets, 'j'))
		save_to("journal", name, mem, blocks, NULL, 0);
	if (strchr(targets, 'f'))
		save_to("fsck", name, m, blocks, ops, olen);
	free(small);
}

static void mkfs(struct tw_dev *dev, u32 inodes, u32 journal)
{
	struct tw_mkfs_opts o = { 0 };
	u32 i;

	o.blocks = tw_udev_blocks(dev);
	o.inodes = inodes;
	o.journal_blocks = journal;
	o.label = "fuzz";
	for (i = 0; i < TW_UUID_LEN; i++)
		o.uuid[i] = (u8)(0x40 + i);
	o.hash_seed = 0x5eed1234;
	o.root_uid = 1000;
	o.root_gid = 1000;
	o.zeroed = true;
	o.now = 1700000000000000000ll;
	OK(tw_mkfs(dev, &o));
}

static struct tw_fs *mount(struct tw_dev *dev)
{
	struct tw_fs *fs;

	OK(tw_mount(dev, tw_udev_blocks(dev), NULL, &fs));
	return fs;
}

static u64 mkdir_(struct tw_fs *fs, u64 dir, const char *name)
{
	struct tw_attr a;

	OK(tw_mkdir(fs, &cred, dir, name, (u32)strlen(name), 0755, &a));
	return a.ino;
}

static u64 mkfile(struct tw_fs *fs, u64 dir, const char *name, u64 off,
		  size_t len, int fillc)
{
	static u8 buf[16384];
	struct tw_attr a;

	OK(tw_mknod(fs, &cred, dir, name, (u32)strlen(name),
		    TW_S_IFREG | 0644, 0, &a));
	if (len) {
		size_t i;

		for (i = 0; i < len && i < sizeof(buf); i++)
			buf[i] = (u8)(fillc ? fillc : 'a' + i % 26);
		OK(tw_write(fs, a.ino, off, buf, len));
	}
	return a.ino;
}

/* Files, holes, every indirect level, links, symlinks, xattrs, nodes. */
static void populate(struct tw_fs *fs, bool sync_each)
{
	struct tw_attr a;
	u64 d, sub, f;
	static char longt[300];

	d = mkdir_(fs, TW_ROOT_INO, "dir");
	if (sync_each)
		OK(tw_sync(fs));
	sub = mkdir_(fs, d, "sub");
	f = mkfile(fs, TW_ROOT_INO, "file", 0, 100, 0);
	if (sync_each)
		OK(tw_sync(fs));
	mkfile(fs, d, "f.txt", 0, 5000, 'x');
	mkfile(fs, sub, "a", 60 * 4096, 10, 'y'); /* single indirect */
	if (sync_each)
		OK(tw_sync(fs));
	mkfile(fs, TW_ROOT_INO, "b", 600ull * 4096, 1, 'z'); /* double */
	OK(tw_symlink(fs, &cred, TW_ROOT_INO, "link", 4, "dir/f.txt", 9, &a));
	memset(longt, 'L', sizeof(longt));
	OK(tw_symlink(fs, &cred, d, "x1", 2, longt, sizeof(longt), &a));
	if (sync_each)
		OK(tw_sync(fs));
	OK(tw_setxattr(fs, f, "user.note", "hello", 5, 0));
	OK(tw_setxattr(fs, f, "trusted.t", "abc", 3, 0));
	OK(tw_setxattr(fs, d, "security.s", "selinux", 7, 0));
	OK(tw_mknod(fs, &cred, d, "zz", 2, TW_S_IFIFO | 0600, 0, &a));
	OK(tw_mknod(fs, &cred, sub, "x2", 2, TW_S_IFCHR | 0600, 0x801, &a));
	OK(tw_link(fs, f, d, "new", 3, &a));
	if (sync_each)
		OK(tw_sync(fs));
}

static void seed_mkfs(void)
{
	static const struct {
		u32 blocks, inodes, journal;
		const char *name;
	} v[] = {
		{ 512, 0, 0, "mkfs-512" },
		{ 512, 16, 128, "mkfs-512-i16-j128" },
		{ 1024, 512, 256, "mkfs-1024-i512-j256" },
		{ 2048, 0, 0, "mkfs-2048" },
		{ 600, 48, 130, "mkfs-600-i48-j130" },
	};
	u32 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tw_dev *dev = tw_udev_ram(v[i].blocks);

		mkfs(dev, v[i].inodes, v[i].journal);
		save(dev, i < 2 ? "mojf" : "mf", v[i].name, NULL, 0);
		tw_udev_close(dev);
	}
}

static void seed_populated(void)
{
	static const u8 script[] = {
		/* lookup, write at far offsets, truncate, rename over,
		 * unlink + evict, rmdir, xattrs */
		0, 0, 0x82, 3, 2, 0x3d, 7, 3, 0x01, 5, 4, 0x81, 4, 2, 0,
		16, 0, 0, 12, 1, 0, 6, 5, 0x33, 13, 5, 0x07, 17, 0, 0,
	};
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;

	mkfs(dev, 128, 128);
	fs = mount(dev);
	populate(fs, false);
	OK(tw_unmount(fs));
	save(dev, "mojf", "populated", NULL, 0);
	save(dev, "of", "populated-script", script, sizeof(script));
	tw_udev_close(dev);
}

/* Triple and quadruple indirect trees: sparse, so the image stays small. */
static void seed_deep(void)
{
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;
	u64 f;

	mkfs(dev, 64, 128);
	fs = mount(dev);
	f = mkfile(fs, TW_ROOT_INO, "deep", 3ull << 30, 1, 'q'); /* triple */
	OK(tw_write(fs, f, 1ull << 40, "Q", 1)); /* quadruple */
	OK(tw_write(fs, f, 8, "head", 4));
	OK(tw_unmount(fs));
	save(dev, "mojf", "deep-indirect", NULL, 0);
	tw_udev_close(dev);
}

/* A directory past one entry block: indexed, with split buckets. */
static void seed_indexed(void)
{
	struct tw_dev *dev = tw_udev_ram(1024);
	struct tw_fs *fs;
	struct tw_attr a;
	char name[256];
	u64 d, f;
	int i;

	mkfs(dev, 64, 128);
	fs = mount(dev);
	d = mkdir_(fs, TW_ROOT_INO, "many");
	f = mkfile(fs, d, "target", 0, 0, 0);
	for (i = 0; i < 420; i++) {
		snprintf(name, sizeof(name), "many-%04d", i);
		OK(tw_link(fs, f, d, name, (u32)strlen(name), &a));
	}
	for (i = 0; i < 24; i++) {
		memset(name, 'n', 200);
		snprintf(name + 200, 16, "%03d", i);
		OK(tw_link(fs, f, d, name, (u32)strlen(name), &a));
	}
	/* holes in the entry blocks: removed names */
	for (i = 0; i < 420; i += 7) {
		snprintf(name, sizeof(name), "many-%04d", i);
		OK(tw_unlink(fs, d, name, (u32)strlen(name), NULL, NULL));
	}
	OK(tw_unmount(fs));
	save(dev, "mojf", "indexed-dir", NULL, 0);
	tw_udev_close(dev);
}

/* Inodes left on the orphan table: unlinked while open, never evicted. */
static void seed_orphans(void)
{
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;
	struct tw_setattr sa = { .valid = TW_SET_SIZE, .size = 10 };
	struct tw_attr a;
	u64 f;

	mkfs(dev, 64, 128);
	fs = mount(dev);
	populate(fs, false);
	mkfile(fs, TW_ROOT_INO, "gone", 0, 9000, 'g');
	mkfile(fs, TW_ROOT_INO, "gone2", 70 * 4096, 10, 'h');
	OK(tw_mkdir(fs, &cred, TW_ROOT_INO, "gonedir", 7, 0755, &a));
	OK(tw_unlink(fs, TW_ROOT_INO, "gone", 4, NULL, NULL));
	OK(tw_unlink(fs, TW_ROOT_INO, "gone2", 5, NULL, NULL));
	OK(tw_rmdir(fs, TW_ROOT_INO, "gonedir", 7, NULL, NULL));
	/* and a truncation: the table holds the inode while it runs */
	f = mkfile(fs, TW_ROOT_INO, "shrink", 0, 12000, 's');
	OK(tw_setattr(fs, f, &sa, &a));
	/* unmount without tw_evict(): the orphans stay on the table */
	OK(tw_unmount(fs));
	save(dev, "mojf", "orphans", NULL, 0);
	tw_udev_close(dev);
}

/*
 * Crash states: record every write of a session, rebuild the image at
 * each flush, and keep states where a read-only mount replays something.
 */
static void seed_crash(void)
{
	struct tw_wlog *log = tw_wlog_new_mem();
	struct tw_wlog_reader *r;
	struct tw_wlog_rec rec;
	struct tw_backend *be;
	struct tw_dev *dev;
	struct tw_fs *fs;
	u8 *img;
	u32 blocks = 512, flushes = 0, kept = 0, nrep = 0;
	int err;

	be = tw_backend_recorder(tw_backend_ram(blocks), log);
	dev = tw_udev_from_backend(be);
	mkfs(dev, 64, 128);
	fs = mount(dev);
	populate(fs, true);
	OK(tw_unmount(fs));
	tw_udev_close(dev);

	img = calloc(blocks, FZ_BS);
	r = tw_wlog_reader_mem(log, &err);
	if (!r || !img)
		die("wlog reader", err);
	while (tw_wlog_next(r, &rec) > 0) {
		struct tw_mount_opts ro = { .flags = TW_MNT_RDONLY };
		struct tw_dev *d2;
		char name[64];
		u32 replayed = 0;

		if (rec.type == TW_WLOG_WRITE) {
			memcpy(img + rec.blk * FZ_BS, rec.data, FZ_BS);
			continue;
		}
		flushes++;
		d2 = tw_udev_ram(blocks);
		memcpy(dev_mem(d2), img, (size_t)blocks * FZ_BS);
		if (!tw_mount(d2, blocks, &ro, &fs)) {
			replayed = fs->j.replayed;
			tw_unmount(fs);
		}
		if (getenv("MKSEEDS_DEBUG"))
			fprintf(stderr, "flush %u: replayed %u\n", flushes, replayed);
		if (replayed && kept < 6 && nrep++ % 4 == 1) {
			snprintf(name, sizeof(name), "crash-%03u", flushes);
			save(d2, kept < 3 ? "mjf" : "jf", name, NULL, 0);
			kept++;
		}
		tw_udev_close(d2);
	}
	tw_wlog_reader_close(r);
	tw_wlog_free(log);
	free(img);
}

/* The whole history in the log: rewind the journal superblock to the
 * first transaction, so replay applies every commit again. */
static void seed_rewound(void)
{
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_journal_super *js;
	struct tw_fs *fs;
	const struct tw_super *sb;
	u8 *mem;

	mkfs(dev, 64, 256);
	fs = mount(dev);
	populate(fs, true);
	OK(tw_unmount(fs));
	mem = dev_mem(dev);
	sb = (const void *)mem;
	js = (void *)(mem + TW_GET64(sb, s_journal_start) * FZ_BS);
	TW_SET64(js, js_seq, 1);
	TW_SET32(js, js_start, 1);
	tw_block_seal(TW_GET32(sb, s_csum_seed), js, TW_JSB_MAGIC,
		      TW_GET64(sb, s_journal_start), 0, 0);
	save(dev, "jf", "rewound-history", NULL, 0);
	tw_udev_close(dev);
}

/* Recorded states of the default op script, so the ops target starts from
 * images with scripts that succeed. */
static void seed_scripts(void)
{
	static const u8 scripts[][24] = {
		{ 8, 0, 3, 9, 5, 2, 3, 6, 0x1e, 10, 0, 0x48, 5, 6, 0x41 },
		{ 9, 0, 1, 3, 1, 0x01, 7, 1, 0x0a, 4, 1, 0, 16, 0, 0, 17, 0, 0 },
		{ 8, 0, 4, 8, 6, 3, 5, 6, 0x84, 12, 7, 0, 6, 6, 0x2f },
	};
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;
	char name[32];
	u32 i;

	mkfs(dev, 64, 128);
	fs = mount(dev);
	populate(fs, false);
	OK(tw_unmount(fs));
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		snprintf(name, sizeof(name), "script-%u", i);
		save(dev, "of", name, scripts[i], 15 + 3 * (i == 1));
	}
	tw_udev_close(dev);
}

/*
 * Truncation runs in transactions of a budget of blocks ((journal limit -
 * 8) / 2 = 58 with a 128-block journal).  A sparse file whose only blocks
 * are 58 data blocks under its single indirect block empties that block
 * with the last of the first budget; the script unlinks and evicts it.
 */
static void seed_trunc_budget(void)
{
	static const u8 script[] = { 4, 1, 0, 16, 0, 0 }; /* unlink, evict */
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;
	u64 f;
	u32 i;

	mkfs(dev, 32, 128);
	fs = mount(dev);
	f = mkfile(fs, TW_ROOT_INO, "sparse", 12 * 4096, 1, 's');
	for (i = 13; i < 12 + 58; i++)
		OK(tw_write(fs, f, (u64)i * 4096, "s", 1));
	OK(tw_unmount(fs));
	save(dev, "of", "trunc-budget", script, sizeof(script));
	tw_udev_close(dev);
}

/*
 * Extended attributes beyond one block: an index over several entry
 * blocks, values in value blocks (one of 64 KiB), an ACL among them; the
 * script unlinks and evicts, freeing them all.
 */
static void seed_xattr_index(void)
{
	static const u8 script[] = { 4, 1, 0, 16, 0, 0 }; /* unlink, evict */
	static u8 val[65536];
	struct tw_dev *dev = tw_udev_ram(512);
	struct tw_fs *fs;
	char name[32];
	u64 f;
	u32 i;

	mkfs(dev, 32, 128);
	fs = mount(dev);
	f = mkfile(fs, TW_ROOT_INO, "xattrs", 0, 10, 'x');
	for (i = 0; i < sizeof(val); i++)
		val[i] = (u8)(i * 7 + (i >> 9));
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "user.attr%03u", i);
		OK(tw_setxattr(fs, f, name, val + i, 8 + i % 24, 0));
	}
	OK(tw_setxattr(fs, f, "user.mid", val, 20000, 0));
	OK(tw_setxattr(fs, f, "trusted.big", val, sizeof(val), 0));
	OK(tw_setxattr(fs, f, "user.edge", val + 1, 4065, 0));
	OK(tw_unmount(fs));
	save(dev, "mojf", "xattr-index", NULL, 0);
	save(dev, "of", "xattr-index-evict", script, sizeof(script));
	tw_udev_close(dev);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	tw_log_set_level(TW_LOG_WARN);
	seed_mkfs();
	seed_populated();
	seed_deep();
	seed_indexed();
	seed_orphans();
	seed_crash();
	seed_rewound();
	seed_scripts();
	seed_trunc_budget();
	seed_xattr_index();
	fz_check_leaks("mkseeds");
	printf("mkseeds: %d seeds in %s\n", nseeds, outdir);
	return 0;
}
