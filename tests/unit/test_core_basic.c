// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_basic.c - the core's basic file operations: mkfs on a RAM and a
 * file device, mount, create/lookup/getattr, read/write round trips at odd
 * offsets and sizes, sparse files, every level of the block map up to the
 * largest file, truncation down (blocks freed exactly) and up (zeros), and
 * persistence of all of it across unmount and mount.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment (user/, tw_user.h).
 */
#include "tw_coretest.h"

#include <fcntl.h>
#include <sys/stat.h>

#define FS_BLOCKS 16384u /* 64 MiB */

/* Where each level of the block map begins, in logical blocks. */
#define P ((u64)TW_IND_PTRS)
#define L_SINGLE ((u64)TW_NDIRECT)
#define L_DOUBLE (L_SINGLE + P)
#define L_TRIPLE (L_DOUBLE + P * P)
#define L_QUAD (L_TRIPLE + P * P * P)

static void write_all(struct tw_fs *fs, u64 ino, u64 off, const void *buf,
		      size_t len)
{
	ssize_t r = tw_write(fs, ino, off, buf, len);

	CHECK_EQ(r, (ssize_t)len);
}

/* Read [off, off + len) and compare with the pattern of @seed (positions
 * relative to the file start), or zeros when @seed is ~0. */
static void expect_range(struct tw_fs *fs, u64 ino, u64 off, size_t len,
			 u64 seed, int line)
{
	u8 *buf = malloc(len + 1);
	long long bad;
	ssize_t r;

	REQUIRE(buf);
	r = tw_read(fs, ino, off, buf, len);
	if (r != (ssize_t)len) {
		fprintf(stderr,
			"%s:%d: (from line %d) read of %zu at %llu returned %zd%s\n",
			__FILE__, __LINE__, line, len, (unsigned long long)off,
			r, ct_errname(r));
		ct_failed();
		free(buf);
		return;
	}
	bad = seed == ~0ull ? ct_check_zero(buf, len) :
			      ct_check_pat(buf, len, seed, off);
	if (bad >= 0) {
		fprintf(stderr,
			"%s:%d: (from line %d) ino %llu: byte at %llu is 0x%02x, expected 0x%02x\n",
			__FILE__, __LINE__, line, (unsigned long long)ino,
			(unsigned long long)(off + bad), buf[bad],
			seed == ~0ull ? 0 : ct_pat(seed, off + bad));
		ct_failed();
	}
	free(buf);
}

#define EXPECT_PAT(fs, ino, off, len, seed) \
	expect_range(fs, ino, off, len, seed, __LINE__)
#define EXPECT_ZERO(fs, ino, off, len) \
	expect_range(fs, ino, off, len, ~0ull, __LINE__)

/* ---- mkfs and mount ---- */

static void check_fresh(struct tw_fs *fs)
{
	struct tw_statfs st = ct_statfs(fs);
	struct tw_attr a;

	CHECK_EQ(st.bsize, 4096);
	CHECK_EQ(st.namelen, 255);
	CHECK(st.blocks > 0 && st.blocks < FS_BLOCKS);
	/* the root's header block is the only data block in use */
	CHECK_EQ(st.bfree, st.blocks - 1);
	CHECK(st.files >= 16);
	CHECK_EQ(st.ffree, st.files - 1); /* the root */

	a = ct_getattr(fs, TW_ROOT_INO);
	CHECK_EQ(a.ino, TW_ROOT_INO);
	CHECK_EQ(a.mode, TW_S_IFDIR | 0755);
	CHECK_EQ(a.nlink, 2);
	CHECK_EQ(a.size, 4096);
	CHECK_EQ(a.blocks, 8);
	CHECK_EQ(ct_lookup(fs, TW_ROOT_INO, ".", &a), 0);
	CHECK_EQ(a.ino, TW_ROOT_INO);
	CHECK_EQ(ct_lookup(fs, TW_ROOT_INO, "..", &a), 0);
	CHECK_EQ(a.ino, TW_ROOT_INO);
	CHECK_EQ(tw_fs_super(fs)->s_magic, TW_SB_MAGIC);
}

static void test_mkfs_ram(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);

	check_fresh(fs);
	fs = ct_remount(fs);
	check_fresh(fs);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	/* mkfs refuses sizes out of range */
	{
		struct tw_mkfs_opts o = ct_mkfs_opts(TW_MIN_BLOCKS - 1, 0, 0);

		dev = tw_udev_ram(TW_MIN_BLOCKS);
		REQUIRE(dev);
		CHECK(tw_mkfs(dev, &o) < 0);
		ct_close(dev);
	}
	/* a device smaller than the filesystem is refused at mount */
	{
		struct tw_fs *f2 = NULL;

		dev = ct_ram_mkfs(1024, 0, 0);
		ct_log_capture(true);
		CHECK_EQ(tw_mount(dev, 1000, NULL, &f2), -EUCLEAN);
		CHECK(strstr(ct_last_log, "larger than the device") != NULL);
		ct_log_release();
		ct_close(dev);
	}
}

static void test_mkfs_file(void)
{
	const char *path = ct_tmpfile("basic");
	struct tw_mkfs_opts o = ct_mkfs_opts(8192, 0, 0);
	struct tw_dev *dev;
	struct tw_fs *fs;
	char buf[10000];
	u64 ino;
	int fd, err = 0;

	fd = open(path, O_RDWR);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 8192ll * 4096) == 0);
	/* garbage where the inode table goes: mkfs must not trust zeros */
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 0; i < 200; i++)
		REQUIRE(pwrite(fd, buf, sizeof(buf), (off_t)i * 40960) ==
			(ssize_t)sizeof(buf));
	close(fd);

	dev = tw_udev_open(path, 0, &err);
	REQUIRE(dev);
	CHECK_EQ(tw_udev_blocks(dev), 8192);
	REQUIRE_EQ(tw_mkfs(dev, &o), 0);
	fs = ct_mount(dev);
	check_fresh(fs);
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "file", 0644, &ino), 0);
	ct_fill(buf, sizeof(buf), 7, 12345);
	write_all(fs, ino, 12345, buf, sizeof(buf));
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	/* a fresh open of the file sees everything */
	dev = tw_udev_open(path, 0, &err);
	REQUIRE(dev);
	fs = ct_mount(dev);
	CHECK_EQ(ct_ino(fs, TW_ROOT_INO, "file"), ino);
	CHECK_EQ(ct_getattr(fs, ino).size, 12345 + sizeof(buf));
	EXPECT_ZERO(fs, ino, 0, 12345);
	EXPECT_PAT(fs, ino, 12345, sizeof(buf), 7);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	/* read-only mount of the same file */
	dev = tw_udev_open(path, TW_UDEV_RDONLY, &err);
	REQUIRE(dev);
	{
		struct tw_mount_opts mo = { .flags = TW_MNT_RDONLY };

		REQUIRE_EQ(tw_mount(dev, tw_udev_blocks(dev), &mo, &fs), 0);
		EXPECT_PAT(fs, ino, 12345, sizeof(buf), 7);
		CHECK_EQ(ct_create(fs, TW_ROOT_INO, "nope", 0644, NULL),
			 -EROFS);
		CHECK_EQ(tw_write(fs, ino, 0, buf, 1), -EROFS);
		CHECK_EQ(tw_unmount(fs), 0);
	}
	ct_close(dev);
	ct_tmp_remove(path);
}

/* ---- names and attributes ---- */

static void test_create_lookup_getattr(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct tw_attr a, b, root0, root1;
	struct tw_cred cred = { 1234, 5678 };
	u64 ino;

	root0 = ct_getattr(fs, TW_ROOT_INO);
	REQUIRE_EQ(tw_mknod(fs, &cred, TW_ROOT_INO, "hello", 5,
			    TW_S_IFREG | 0640, 0, &a),
		   0);
	ino = a.ino;
	CHECK(ino > TW_ROOT_INO);
	CHECK_EQ(a.mode, TW_S_IFREG | 0640);
	CHECK_EQ(a.nlink, 1);
	CHECK_EQ(a.uid, 1234);
	CHECK_EQ(a.gid, 5678);
	CHECK_EQ(a.size, 0);
	CHECK_EQ(a.blocks, 0);
	CHECK(a.mtime > 0 && a.ctime == a.mtime && a.btime == a.mtime);

	CHECK_EQ(tw_lookup(fs, TW_ROOT_INO, "hello", 5, &b), 0);
	CHECK_EQ(b.ino, ino);
	CHECK_EQ(b.mode, a.mode);
	CHECK_EQ(b.generation, a.generation);
	CHECK_EQ(tw_getattr(fs, ino, &b), 0);
	CHECK_EQ(b.uid, 1234);
	root1 = ct_getattr(fs, TW_ROOT_INO);
	CHECK(root1.mtime >= root0.mtime);
	CHECK_EQ(root1.nlink, 2);

	/* a name is a byte string: a prefix is another name */
	CHECK_EQ(tw_lookup(fs, TW_ROOT_INO, "hello", 4, &b), -ENOENT);
	CHECK_EQ(tw_lookup(fs, TW_ROOT_INO, "hellox", 6, &b), -ENOENT);
	CHECK_EQ(tw_mknod(fs, &cred, TW_ROOT_INO, "hello", 5, TW_S_IFREG | 0644,
			  0, &b),
		 -EEXIST);
	CHECK_EQ(tw_lookup(fs, ino, "x", 1, &b), -ENOTDIR);
	CHECK_EQ(tw_getattr(fs, 0, &b) < 0, 1);
	CHECK_EQ(tw_getattr(fs, 1u << 30, &b) < 0, 1);

	/* other node types */
	CHECK_EQ(tw_mknod(fs, &ct_root, TW_ROOT_INO, "fifo", 4,
			  TW_S_IFIFO | 0600, 0, &b),
		 0);
	CHECK_EQ(b.mode, TW_S_IFIFO | 0600);
	CHECK_EQ(tw_mknod(fs, &ct_root, TW_ROOT_INO, "chr", 3,
			  TW_S_IFCHR | 0600, 0x0103, &b),
		 0);
	CHECK_EQ(b.rdev, 0x0103);
	CHECK_EQ(tw_mknod(fs, &ct_root, TW_ROOT_INO, "dir", 3,
			  TW_S_IFDIR | 0600, 0, &b),
		 -EINVAL);
	CHECK_EQ(tw_write(fs, ct_ino(fs, TW_ROOT_INO, "fifo"), 0, "x", 1),
		 -EINVAL);

	/* setattr: mode, owner, times */
	{
		struct tw_setattr sa = { 0 };

		sa.valid = TW_SET_MODE | TW_SET_UID | TW_SET_GID |
			   TW_SET_MTIME | TW_SET_ATIME;
		sa.mode = TW_S_IFDIR | 04711; /* the type must not change */
		sa.uid = 7;
		sa.gid = 8;
		sa.mtime = 1000000001;
		sa.atime = 2000000002;
		CHECK_EQ(tw_setattr(fs, ino, &sa, &b), 0);
		CHECK_EQ(b.mode, TW_S_IFREG | 04711);
		CHECK_EQ(b.uid, 7);
		CHECK_EQ(b.gid, 8);
		CHECK_EQ(b.mtime, 1000000001);
		CHECK_EQ(b.atime, 2000000002);
	}

	fs = ct_remount(fs);
	b = ct_getattr(fs, ino);
	CHECK_EQ(b.mode, TW_S_IFREG | 04711);
	CHECK_EQ(b.uid, 7);
	CHECK_EQ(b.gid, 8);
	CHECK_EQ(b.mtime, 1000000001);
	CHECK_EQ(b.btime, a.btime);
	CHECK_EQ(ct_ino(fs, TW_ROOT_INO, "hello"), ino);
	CHECK_EQ(ct_getattr(fs, ct_ino(fs, TW_ROOT_INO, "chr")).rdev, 0x0103);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/* ---- data ---- */

static void test_rw_roundtrip(void)
{
	static const u32 sizes[] = { 1,	   2,	 7,    511,   4095,  4096,
				     4097, 8191, 8192, 12345, 65539, 200000 };
	static const u32
		offs
			[] = {
				0,     1,      3,      4095,  4096,
				4097,  8190,   45055,  49151, 49152,
				49153, 100003, 2129919 /* single -> double */
			};
	const size_t max = 2129919 + 200000 + 16;
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 *ref = calloc(1, max), *buf = malloc(max), *got = malloc(max);
	u64 ino, size = 0, seed = 100;
	size_t i, j;

	REQUIRE(ref && buf && got);
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "rw", 0644, &ino), 0);
	for (i = 0; i < CT_ARRAY_SIZE(offs); i++) {
		for (j = 0; j < CT_ARRAY_SIZE(sizes); j++) {
			u64 off = offs[(i + j * 5) % CT_ARRAY_SIZE(offs)];
			u32 len = sizes[(j + i * 3) % CT_ARRAY_SIZE(sizes)];
			ssize_t r;

			ct_fill(buf, len, seed, 0);
			memcpy(ref + off, buf, len);
			write_all(fs, ino, off, buf, len);
			if (off + len > size)
				size = off + len;
			seed++;
			CHECK_EQ(ct_getattr(fs, ino).size, size);
			/* the written range, then the whole file */
			r = tw_read(fs, ino, off, got, len);
			CHECK_EQ(r, len);
			CHECK(!memcmp(got, buf, len));
		}
		memset(got, 0xee, size);
		CHECK_EQ(tw_read(fs, ino, 0, got, max), (ssize_t)size);
		CHECK(!memcmp(got, ref, size));
	}

	/* reads at and past EOF, and straddling it */
	CHECK_EQ(tw_read(fs, ino, size, got, 10), 0);
	CHECK_EQ(tw_read(fs, ino, size + 100000, got, 10), 0);
	CHECK_EQ(tw_read(fs, ino, size - 3, got, 10), 3);
	CHECK(!memcmp(got, ref + size - 3, 3));
	CHECK_EQ(tw_read(fs, ino, 0, got, 0), 0);
	CHECK_EQ(tw_write(fs, ino, 5, got, 0), 0);
	CHECK_EQ(ct_getattr(fs, ino).size, size);
	/* directories are not files */
	CHECK_EQ(tw_read(fs, TW_ROOT_INO, 0, got, 10), -EISDIR);
	CHECK_EQ(tw_write(fs, TW_ROOT_INO, 0, got, 10), -EISDIR);

	fs = ct_remount(fs);
	memset(got, 0xee, size);
	CHECK_EQ(tw_read(fs, ino, 0, got, max), (ssize_t)size);
	CHECK(!memcmp(got, ref, size));
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(ref);
	free(buf);
	free(got);
}

static void test_sparse(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct tw_statfs s0, s1;
	struct tw_attr a;
	u64 ino;

	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "sparse", 0644, &ino), 0);
	s0 = ct_statfs(fs);
	/* one byte at 1 MiB: lblk 256, under the single indirect block */
	write_all(fs, ino, 1 << 20, "Z", 1);
	a = ct_getattr(fs, ino);
	CHECK_EQ(a.size, (1 << 20) + 1);
	CHECK_EQ(a.blocks, 2 * 8);
	s1 = ct_statfs(fs);
	CHECK_EQ(s0.bfree - s1.bfree, 2);
	EXPECT_ZERO(fs, ino, 0, 1 << 20);
	{
		char c = 0;

		CHECK_EQ(tw_read(fs, ino, 1 << 20, &c, 1), 1);
		CHECK_EQ(c, 'Z');
	}
	/* fill one hole in the middle of a block; the rest stays zero */
	write_all(fs, ino, 5000, "abc", 3);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 3 * 8);
	EXPECT_ZERO(fs, ino, 0, 5000);
	EXPECT_ZERO(fs, ino, 5003, (1 << 20) - 5003);

	fs = ct_remount(fs);
	a = ct_getattr(fs, ino);
	CHECK_EQ(a.size, (1 << 20) + 1);
	CHECK_EQ(a.blocks, 3 * 8);
	EXPECT_ZERO(fs, ino, 0, 5000);
	EXPECT_ZERO(fs, ino, 5003, (1 << 20) - 5003);
	CHECK_EQ(ct_statfs(fs).bfree, s1.bfree - 1);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/*
 * The block map at every level: a few bytes at the first and the last
 * block each level maps, the blocks they cost, the data read back, and all
 * of it freed exactly by truncation to 0.
 */
struct spot {
	const char *what;
	u64 lblk;
	u32 ind; /* indirect blocks a lone write there costs */
};

static const struct spot spots[] = {
	{ "direct first", 0, 0 },
	{ "direct last", L_SINGLE - 1, 0 },
	{ "single first", L_SINGLE, 1 },
	{ "single last", L_DOUBLE - 1, 1 },
	{ "double first", L_DOUBLE, 2 },
	{ "double last", L_TRIPLE - 1, 2 },
	{ "triple first (> 1 GiB)", L_TRIPLE, 3 },
	{ "triple 4 GiB", (4ull << 30) / CT_BS, 3 },
	{ "triple 16 GiB", (16ull << 30) / CT_BS, 3 },
	{ "triple last", L_QUAD - 1, 3 },
	{ "quadruple first (> 500 GiB)", L_QUAD, 4 },
	{ "quadruple 2 TiB", (2ull << 40) / CT_BS, 4 },
	{ "quadruple last (16 TiB - 4 KiB)", TW_MAX_LBLK, 4 },
};

static void test_block_map_levels(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct tw_statfs s0, s1;
	u64 inos[CT_ARRAY_SIZE(spots)], all, total = 0;
	char name[32], buf[64];
	size_t i;

	CHECK_EQ(L_QUAD * CT_BS, 538030473216ull); /* ~501 GiB */
	for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
		snprintf(name, sizeof(name), "lvl%zu", i);
		REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, name, 0644, &inos[i]), 0);
	}
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "all", 0644, &all), 0);
	/* (the root's first entry block is allocated by now) */
	s0 = ct_statfs(fs);
	for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
		u64 off = spots[i].lblk * CT_BS + CT_BS - 40;
		struct tw_attr a;

		ct_fill(buf, 40, i, off);
		write_all(fs, inos[i], off, buf, 40);
		a = ct_getattr(fs, inos[i]);
		CHECK_EQ(a.size, off + 40);
		if (a.blocks != (u64)(spots[i].ind + 1) * 8)
			fprintf(stderr, "  at %s\n", spots[i].what);
		CHECK_EQ(a.blocks, (spots[i].ind + 1) * 8);
		total += spots[i].ind + 1;
		EXPECT_PAT(fs, inos[i], off, 40, i);
		if (off >= CT_BS)
			EXPECT_ZERO(fs, inos[i], off - CT_BS, CT_BS);
	}
	s1 = ct_statfs(fs);
	CHECK_EQ(s0.bfree - s1.bfree, total);

	/* one file with every spot: indirect trees share their tops */
	for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
		u64 off = spots[i].lblk * CT_BS + 7;

		ct_fill(buf, 13, 1000 + i, off);
		write_all(fs, all, off, buf, 13);
	}
	/* one data block per spot; the indirect blocks on their paths,
	 * counted from the geometry (spots are in ascending order): */
	{
		u64 ind = 0, prev2 = ~0ull, prev3a = ~0ull, prev3b = ~0ull;
		u64 q2 = ~0ull, q3 = ~0ull, q4 = ~0ull;
		bool single = false, dtop = false, ttop = false, qtop = false;

		for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
			u64 l = spots[i].lblk;

			if (l < L_SINGLE)
				continue;
			if (l < L_DOUBLE) {
				ind += !single;
				single = true;
			} else if (l < L_TRIPLE) {
				ind += !dtop;
				dtop = true;
				l -= L_DOUBLE;
				ind += l / P != prev2;
				prev2 = l / P;
			} else if (l < L_QUAD) {
				ind += !ttop;
				ttop = true;
				l -= L_TRIPLE;
				ind += l / (P * P) != prev3a;
				ind += l / P != prev3b;
				prev3a = l / (P * P);
				prev3b = l / P;
			} else {
				ind += !qtop;
				qtop = true;
				l -= L_QUAD;
				ind += l / (P * P * P) != q2;
				ind += l / (P * P) != q3;
				ind += l / P != q4;
				q2 = l / (P * P * P);
				q3 = l / (P * P);
				q4 = l / P;
			}
		}
		CHECK_EQ(ct_getattr(fs, all).blocks,
			 (CT_ARRAY_SIZE(spots) + ind) * 8);
	}
	CHECK_EQ(ct_getattr(fs, all).size, (u64)TW_MAX_LBLK * CT_BS + 7 + 13);

	/* past the largest file */
	CHECK_EQ(tw_write(fs, all, TW_MAX_FILE_SIZE, "x", 1), -EFBIG);
	CHECK_EQ(tw_write(fs, all, TW_MAX_FILE_SIZE - 1, "xy", 2), -EFBIG);
	CHECK_EQ(tw_write(fs, all, TW_MAX_FILE_SIZE - 1, "x", 1), 1);
	CHECK_EQ(ct_getattr(fs, all).size, TW_MAX_FILE_SIZE);
	CHECK_EQ(ct_truncate(fs, all, TW_MAX_FILE_SIZE + 1), -EFBIG);

	fs = ct_remount(fs);
	for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
		u64 off = spots[i].lblk * CT_BS + CT_BS - 40;

		EXPECT_PAT(fs, inos[i], off, 40, i);
		off = spots[i].lblk * CT_BS + 7;
		EXPECT_PAT(fs, all, off, 13, 1000 + i);
		EXPECT_ZERO(fs, all, off - 7, 7);
	}

	/* truncation to 0 gives back every block, exactly */
	for (i = 0; i < CT_ARRAY_SIZE(spots); i++) {
		CHECK_EQ(ct_truncate(fs, inos[i], 0), 0);
		CHECK_EQ(ct_getattr(fs, inos[i]).blocks, 0);
	}
	CHECK_EQ(ct_truncate(fs, all, 0), 0);
	CHECK_EQ(ct_getattr(fs, all).blocks, 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	fs = ct_remount(fs);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(ct_getattr(fs, all).size, 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/* Blocks a dense file of @size bytes costs (data and indirect). */
static u64 dense_blocks(u64 size)
{
	u64 n = (size + CT_BS - 1) / CT_BS, ind = 0;

	if (n > L_SINGLE)
		ind += 1;
	if (n > L_DOUBLE)
		ind += 1 + (n - L_DOUBLE + P - 1) / P;
	return n + ind;
}

static void test_truncate(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	const u64 big = (3u << 20) + 1000; /* into the double indirect */
	struct tw_statfs s0;
	u8 *buf = malloc(big);
	u64 ino, sizes[] = { 2500000, 2129920, 2129919, 100000, 49153,
			     49152,   5000,    4096,	1,	0 };
	size_t i;

	REQUIRE(buf);
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "t", 0644, &ino), 0);
	s0 = ct_statfs(fs);
	ct_fill(buf, big, 42, 0);
	write_all(fs, ino, 0, buf, big);
	CHECK_EQ(ct_getattr(fs, ino).blocks, dense_blocks(big) * 8);
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, dense_blocks(big));

	/* down step by step: blocks come back exactly, data stays */
	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		CHECK_EQ(ct_truncate(fs, ino, sizes[i]), 0);
		CHECK_EQ(ct_getattr(fs, ino).size, sizes[i]);
		CHECK_EQ(ct_getattr(fs, ino).blocks,
			 dense_blocks(sizes[i]) * 8);
		CHECK_EQ(s0.bfree - ct_statfs(fs).bfree,
			 dense_blocks(sizes[i]));
		if (sizes[i] <= 100000)
			EXPECT_PAT(fs, ino, 0, sizes[i], 42);
	}
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);

	/* truncate to a non-block boundary, extend: the old bytes are 0 */
	write_all(fs, ino, 0, buf, 20000);
	CHECK_EQ(ct_truncate(fs, ino, 5000), 0);
	CHECK_EQ(ct_truncate(fs, ino, 20000), 0);
	EXPECT_PAT(fs, ino, 0, 5000, 42);
	EXPECT_ZERO(fs, ino, 5000, 15000);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 2 * 8);

	/* ... and extend by writing past the end in the same block */
	write_all(fs, ino, 0, buf, 20000);
	CHECK_EQ(ct_truncate(fs, ino, 5000), 0);
	write_all(fs, ino, 6000, "q", 1);
	EXPECT_PAT(fs, ino, 0, 5000, 42);
	EXPECT_ZERO(fs, ino, 5000, 1000);
	/* ... and in a later block */
	CHECK_EQ(ct_truncate(fs, ino, 5000), 0);
	write_all(fs, ino, 13000, "r", 1);
	EXPECT_ZERO(fs, ino, 5000, 8000);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 3 * 8); /* 0, 1 and 3 */

	/* truncate up: zeros, no blocks */
	CHECK_EQ(ct_truncate(fs, ino, 0), 0);
	CHECK_EQ(ct_truncate(fs, ino, 10u << 20), 0);
	CHECK_EQ(ct_getattr(fs, ino).size, 10u << 20);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 0);
	EXPECT_ZERO(fs, ino, 0, 10u << 20);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);

	/* a sparse file truncated into its hole */
	write_all(fs, ino, 9u << 20, buf, 10000);
	CHECK_EQ(ct_truncate(fs, ino, (5u << 20) + 1), 0);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);

	/* not on directories, symlinks */
	CHECK_EQ(ct_truncate(fs, TW_ROOT_INO, 0), -EISDIR);
	{
		u64 l;

		REQUIRE_EQ(ct_symlink(fs, TW_ROOT_INO, "l", "t", 1, &l), 0);
		CHECK_EQ(ct_truncate(fs, l, 0), -EINVAL);
	}

	/* the state after a truncate survives a remount */
	write_all(fs, ino, 0, buf, 30000);
	CHECK_EQ(ct_truncate(fs, ino, 7777), 0);
	CHECK_EQ(ct_truncate(fs, ino, 30000), 0);
	fs = ct_remount(fs);
	EXPECT_PAT(fs, ino, 0, 7777, 42);
	EXPECT_ZERO(fs, ino, 7777, 30000 - 7777);
	CHECK_EQ(ct_getattr(fs, ino).blocks, 2 * 8);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(buf);
}

/* Everything together, then a remount (and a second one) must keep it. */
static void test_persistence(void)
{
	struct tw_dev *dev = ct_ram_mkfs(FS_BLOCKS, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u64 d1, d2, f[6];
	u8 *buf = malloc(300000);
	struct tw_statfs st;
	char name[16];
	int i, round;

	REQUIRE(buf);
	REQUIRE_EQ(ct_mkdir(fs, TW_ROOT_INO, "d1", &d1), 0);
	REQUIRE_EQ(ct_mkdir(fs, d1, "d2", &d2), 0);
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		REQUIRE_EQ(
			ct_create(fs, i & 1 ? d2 : d1, name, 0600 + i, &f[i]),
			0);
		ct_fill(buf, 1000 + 50000 * i, 500 + i, 777 * i);
		write_all(fs, f[i], 777 * i, buf, 1000 + 50000 * i);
	}
	write_all(fs, f[5], 40ull << 30, "far", 3);
	CHECK_EQ(tw_sync(fs), 0);
	st = ct_statfs(fs);
	for (round = 0; round < 2; round++) {
		fs = ct_remount(fs);
		CHECK_EQ(ct_ino(fs, TW_ROOT_INO, "d1"), d1);
		CHECK_EQ(ct_ino(fs, d1, "d2"), d2);
		CHECK_EQ(ct_getattr(fs, d1).nlink, 3);
		CHECK_EQ(ct_getattr(fs, TW_ROOT_INO).nlink, 3);
		for (i = 0; i < 6; i++) {
			struct tw_attr a;

			snprintf(name, sizeof(name), "f%d", i);
			CHECK_EQ(ct_lookup(fs, i & 1 ? d2 : d1, name, &a), 0);
			CHECK_EQ(a.ino, f[i]);
			CHECK_EQ(a.mode, TW_S_IFREG | (0600 + i));
			EXPECT_ZERO(fs, f[i], 0, 777 * i);
			EXPECT_PAT(fs, f[i], 777 * i, 1000 + 50000 * i,
				   500 + i);
		}
		CHECK_EQ(ct_getattr(fs, f[5]).size, (40ull << 30) + 3);
		CHECK_EQ(ct_statfs(fs).bfree, st.bfree);
		CHECK_EQ(ct_statfs(fs).ffree, st.ffree);
	}
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(buf);
}

/* Timestamps: which operations change which times. */
static void nap(void)
{
	struct timespec t = { 0, 2000000 };

	nanosleep(&t, NULL);
}

static void test_times(void)
{
	struct tw_dev *dev = ct_ram_mkfs(2048, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct tw_attr a, b, p0, p1;
	struct tw_setattr sa = { 0 };
	char c;
	u64 f;

	p0 = ct_getattr(fs, TW_ROOT_INO);
	nap();
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "t", 0644, &f), 0);
	a = ct_getattr(fs, f);
	p1 = ct_getattr(fs, TW_ROOT_INO);
	CHECK(p1.mtime > p0.mtime && p1.ctime > p0.ctime);
	CHECK(a.atime == a.mtime && a.mtime == a.ctime && a.ctime == a.btime);
	CHECK(a.btime >= p1.mtime - 1000000000ll);

	nap();
	CHECK_EQ(tw_write(fs, f, 0, "x", 1), 1);
	b = ct_getattr(fs, f);
	CHECK(b.mtime > a.mtime && b.ctime > a.ctime);
	CHECK_EQ(b.atime, a.atime);
	CHECK_EQ(b.btime, a.btime);

	/* relatime: a read updates an atime older than mtime, once */
	nap();
	a = b;
	CHECK_EQ(tw_read(fs, f, 0, &c, 1), 1);
	b = ct_getattr(fs, f);
	CHECK(b.atime > a.atime);
	CHECK_EQ(b.mtime, a.mtime);
	nap();
	a = b;
	CHECK_EQ(tw_read(fs, f, 0, &c, 1), 1);
	b = ct_getattr(fs, f);
	CHECK_EQ(b.atime, a.atime);

	nap();
	a = b;
	CHECK_EQ(tw_link(fs, f, TW_ROOT_INO, "t2", 2, NULL), 0);
	b = ct_getattr(fs, f);
	CHECK(b.ctime > a.ctime);
	CHECK_EQ(b.mtime, a.mtime);

	nap();
	a = b;
	p0 = ct_getattr(fs, TW_ROOT_INO);
	CHECK_EQ(ct_rename(fs, TW_ROOT_INO, "t2", TW_ROOT_INO, "t3", 0), 0);
	b = ct_getattr(fs, f);
	p1 = ct_getattr(fs, TW_ROOT_INO);
	CHECK(b.ctime > a.ctime);
	CHECK(p1.mtime > p0.mtime && p1.ctime > p0.ctime);

	nap();
	a = b;
	CHECK_EQ(tw_setxattr(fs, f, "user.x", "1", 1, 0), 0);
	b = ct_getattr(fs, f);
	CHECK(b.ctime > a.ctime);
	CHECK_EQ(b.mtime, a.mtime);

	nap();
	a = b;
	sa.valid = TW_SET_MODE;
	sa.mode = 0600;
	CHECK_EQ(tw_setattr(fs, f, &sa, &b), 0);
	CHECK(b.ctime > a.ctime);
	CHECK_EQ(b.mtime, a.mtime);

	nap();
	a = b;
	CHECK_EQ(ct_truncate(fs, f, 0), 0);
	b = ct_getattr(fs, f);
	CHECK(b.mtime > a.mtime && b.ctime > a.ctime);

	/* explicit times, ctime included */
	sa.valid = TW_SET_ATIME | TW_SET_MTIME | TW_SET_CTIME;
	sa.atime = -1000000001ll; /* before the epoch */
	sa.mtime = 5;
	sa.ctime = 4102444800ll * 1000000000ll; /* 2100 */
	CHECK_EQ(tw_setattr(fs, f, &sa, &b), 0);
	CHECK_EQ(b.atime, -1000000001ll);
	CHECK_EQ(b.mtime, 5);
	CHECK_EQ(b.ctime, 4102444800ll * 1000000000ll);

	nap();
	a = b;
	p0 = ct_getattr(fs, TW_ROOT_INO);
	CHECK_EQ(tw_unlink(fs, TW_ROOT_INO, "t3", 2, NULL, NULL), 0);
	b = ct_getattr(fs, f);
	p1 = ct_getattr(fs, TW_ROOT_INO);
	CHECK(b.ctime != a.ctime);
	CHECK(p1.mtime > p0.mtime);

	fs = ct_remount(fs);
	b = ct_getattr(fs, f);
	CHECK_EQ(b.atime, -1000000001ll);
	CHECK_EQ(b.mtime, 5);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);

	/* noatime: reads never write */
	dev = ct_ram_mkfs(2048, 0, 0);
	fs = ct_mount(dev);
	REQUIRE_EQ(ct_create(fs, TW_ROOT_INO, "n", 0644, &f), 0);
	CHECK_EQ(tw_write(fs, f, 0, "x", 1), 1);
	CHECK_EQ(tw_unmount(fs), 0);
	{
		struct tw_mount_opts mo = { .flags = TW_MNT_NOATIME };

		REQUIRE_EQ(tw_mount(dev, tw_udev_blocks(dev), &mo, &fs), 0);
		a = ct_getattr(fs, f);
		nap();
		CHECK_EQ(tw_read(fs, f, 0, &c, 1), 1);
		CHECK_EQ(ct_getattr(fs, f).atime, a.atime);
		CHECK_EQ(tw_unmount(fs), 0);
	}
	ct_close(dev);
}

int main(void)
{
	RUN(test_mkfs_ram);
	RUN(test_mkfs_file);
	RUN(test_create_lookup_getattr);
	RUN(test_rw_roundtrip);
	RUN(test_sparse);
	RUN(test_block_map_levels);
	RUN(test_truncate);
	RUN(test_persistence);
	RUN(test_times);
	return ct_done();
}
