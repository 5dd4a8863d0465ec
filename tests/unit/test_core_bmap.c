// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_bmap.c - the core's block-map API for page-cache homes:
 * tw_bmap() with and without create at every level of the map, data
 * written straight to the mapped device blocks (as a page cache writes
 * them) and tw_set_size(), then read back through tw_read() and after a
 * remount.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device and its block buffers (tw_env.h,
 * tw_user.h), which stand in for the kernel's page cache here.
 */
#include "tw_coretest.h"

#define ROOT TW_ROOT_INO
#define P ((u64)TW_IND_PTRS)

/* Write a pattern to device block @pblk, as a page cache would. */
static void put_data(struct tw_fs *fs, u64 pblk, u64 seed, u64 pos)
{
	struct tw_buf *b;

	REQUIRE_EQ(tw_buf_get(tw_fs_dev(fs), pblk, &b), 0);
	ct_fill(tw_buf_data(b), CT_BS, seed, pos);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
}

static void test_bmap(void)
{
	static const u64 lblks[] = {
		0, 11, 12, 200, 519, 520, 100000, 300000, 131355096, TW_MAX_LBLK
	};
	struct tw_dev *dev = ct_ram_mkfs(8192, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u64 pblks[CT_ARRAY_SIZE(lblks)], ino, pblk, size = 0;
	struct tw_statfs s0;
	struct tw_attr a;
	u8 *buf = malloc(CT_BS);
	bool is_new;
	size_t i;
	int err;

	REQUIRE(buf);
	REQUIRE_EQ(ct_create(fs, ROOT, "mapped", 0644, &ino), 0);
	s0 = ct_statfs(fs);

	/* a hole maps to 0 without create */
	is_new = true;
	CHECK_EQ(tw_bmap(fs, ino, 5, false, &pblk, &is_new), 0);
	CHECK_EQ(pblk, 0);
	CHECK_EQ(is_new, false);

	for (i = 0; i < CT_ARRAY_SIZE(lblks); i++) {
		u64 again;

		err = tw_bmap(fs, ino, (u32)lblks[i], true, &pblks[i], &is_new);
		CHECK_EQ(err, 0);
		CHECK(pblks[i] != 0);
		CHECK_EQ(is_new, true);
		/* the inode is intact after every allocation */
		err = tw_getattr(fs, ino, &a);
		if (err)
			fprintf(stderr,
				"  after tw_bmap(create) of block %llu\n",
				(unsigned long long)lblks[i]);
		CHECK_EQ(err, 0);
		/* mapped again: the same block, not new */
		CHECK_EQ(tw_bmap(fs, ino, (u32)lblks[i], true, &again, &is_new),
			 0);
		CHECK_EQ(again, pblks[i]);
		CHECK_EQ(is_new, false);
		CHECK_EQ(tw_bmap(fs, ino, (u32)lblks[i], false, &again, NULL),
			 0);
		CHECK_EQ(again, pblks[i]);
		put_data(fs, pblks[i], 50 + i, lblks[i] * CT_BS);
		size = (lblks[i] + 1) * CT_BS;
		CHECK_EQ(tw_set_size(fs, ino, size), 0);
	}
	for (i = 1; i < CT_ARRAY_SIZE(lblks); i++)
		CHECK(pblks[i] != pblks[i - 1]);
	a = ct_getattr(fs, ino);
	CHECK_EQ(a.size, size);
	CHECK_EQ(a.size, TW_MAX_FILE_SIZE);
	CHECK(a.blocks / 8 > CT_ARRAY_SIZE(lblks));
	CHECK_EQ(s0.bfree - ct_statfs(fs).bfree, a.blocks / 8);

	/* tw_set_size only grows */
	CHECK_EQ(tw_set_size(fs, ino, 100), 0);
	CHECK_EQ(ct_getattr(fs, ino).size, size);
	CHECK_EQ(tw_set_size(fs, ino, TW_MAX_FILE_SIZE + 1), -EFBIG);
	/* past the largest block, on a directory */
	CHECK_EQ(tw_bmap(fs, ino, TW_MAX_LBLK + 1u, true, &pblk, &is_new),
		 -EFBIG);
	CHECK_EQ(tw_bmap(fs, ROOT, 0, false, &pblk, NULL), -EISDIR);

	CHECK_EQ(tw_sync(fs), 0);
	fs = ct_remount(fs);
	for (i = 0; i < CT_ARRAY_SIZE(lblks); i++) {
		CHECK_EQ(tw_bmap(fs, ino, (u32)lblks[i], false, &pblk, NULL),
			 0);
		CHECK_EQ(pblk, pblks[i]);
		CHECK_EQ(tw_read(fs, ino, lblks[i] * CT_BS, buf, CT_BS), CT_BS);
		CHECK_EQ(ct_check_pat(buf, CT_BS, 50 + i, lblks[i] * CT_BS),
			 -1);
	}
	/* a hole between mapped blocks reads as zeros */
	CHECK_EQ(tw_read(fs, ino, 13 * CT_BS, buf, CT_BS), CT_BS);
	CHECK_EQ(ct_check_zero(buf, CT_BS), -1);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	/* truncation frees what bmap allocated */
	CHECK_EQ(ct_truncate(fs, ino, 0), 0);
	CHECK_EQ(ct_statfs(fs).bfree, s0.bfree);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(buf);
}

int main(void)
{
	RUN(test_bmap);
	return ct_done();
}
