// SPDX-License-Identifier: GPL-2.0
/*
 * test_core_journal.c - crash consistency and the edges of space:
 *
 *   - a crash after a sync, simulated with a snapshot of the RAM device;
 *   - every crash state of a recorded workload: the image after every
 *     prefix of its block writes, and with any single write of a flush
 *     interval lost (writes between flushes may reach a disk in any
 *     order); each must mount (journal replay, orphan recovery), hold
 *     everything synced before the crash, nothing that never existed, and
 *     be consistent as a whole;
 *   - torn transactions (commit block missing, commit or copy corrupted)
 *     are discarded;
 *   - corrupted superblocks and journal superblocks are refused at mount
 *     with -EUCLEAN or -EBADMSG and a message;
 *   - ENOSPC: a small filesystem filled, emptied and filled again, with
 *     statfs exact and the result mountable; a full inode table.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h) and its
 * on-disk format (tw_format.h), on the user-space environment's RAM
 * device and write recorder (tw_user.h).
 */
#include "tw_coretest.h"

#include <sys/wait.h>

#define ROOT TW_ROOT_INO

/* ------------------------------------------------------------------------ */
/* A crash after a sync, with a snapshot of the RAM device                 */
/* ------------------------------------------------------------------------ */

static void test_snapshot_crash(void)
{
	const u64 blocks = 4096;
	struct tw_dev *dev = ct_ram_mkfs(blocks, 0, 0), *crash;
	struct tw_fs *fs = ct_mount(dev), *cfs;
	static struct cw_wl w;
	u8 *snap = malloc(blocks * CT_BS);
	int bad;

	REQUIRE(snap);
	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.st[1] = w.st[0];
	cw_run_phase(&w, 1, &w.st[1]);
	w.st[2] = w.st[1];
	cw_run_phase(&w, 2, &w.st[2]);
	CHECK_EQ(tw_sync(fs), 0);
	memcpy(snap, ct_ram_of(dev), blocks * CT_BS);
	/* go on without a sync, then "crash": the snapshot is the disk */
	w.st[3] = w.st[2];
	cw_run_phase(&w, 3, &w.st[3]);

	crash = ct_dev_from_image(snap, blocks);
	ct_log_capture(true);
	REQUIRE_EQ(tw_mount(crash, blocks, NULL, &cfs), 0);
	ct_log_release();
	bad = cw_check_between(cfs, &w.st[2], &w.st[2], NULL, NULL);
	CHECK_EQ(bad, 0);
	/* exactly the synced state: phase 3 is not there at all */
	CHECK_EQ(ct_lookup(cfs, ROOT, "d3", NULL), -ENOENT);
	/* and it works on */
	CHECK_EQ(ct_create(cfs, ROOT, "after", 0644, NULL), 0);
	cfs = ct_remount(cfs);
	CHECK(ct_ino(cfs, ROOT, "after") != 0);
	CHECK_EQ(ct_walk_check(cfs, NULL), 0);
	CHECK_EQ(tw_unmount(cfs), 0);
	ct_close(crash);

	/* the original goes on as if nothing happened */
	fs = ct_remount(fs);
	CHECK_EQ(cw_check_between(fs, &w.st[3], &w.st[3], NULL, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	free(snap);
}

/* ------------------------------------------------------------------------ */
/* Every crash state of a recorded workload                                 */
/* ------------------------------------------------------------------------ */

struct rec {
	u32 type;
	u64 blk;
	u8 *data;
};

struct recording {
	u64 blocks;
	u8 *base; /* the image when recording began */
	struct rec *r;
	u64 n;
	u64 journal_start, journal_blocks;
};

static void record_workload(struct cw_wl *w, struct recording *rec, u64 blocks,
			    u32 journal)
{
	struct tw_mkfs_opts o = ct_mkfs_opts(blocks, 0, journal);
	struct tw_backend *ram, *recb;
	struct tw_wlog_reader *rd;
	struct tw_wlog_rec wr;
	struct tw_wlog *log;
	struct tw_dev *dev;
	u64 wcount, fcount;
	int j, err;

	memset(w, 0, sizeof(*w));
	memset(rec, 0, sizeof(*rec));
	rec->blocks = blocks;
	rec->base = malloc(blocks * CT_BS);
	REQUIRE(rec->base);
	/* mkfs on a plain RAM device; its image is the base */
	dev = tw_udev_ram(blocks);
	REQUIRE(dev);
	REQUIRE_EQ(tw_mkfs(dev, &o), 0);
	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	memcpy(rec->base, ct_ram_of(dev), blocks * CT_BS);
	ct_close(dev);

	/* the same image behind a recorder */
	log = tw_wlog_new_mem();
	REQUIRE(log);
	ram = tw_backend_ram(blocks);
	REQUIRE(ram);
	memcpy(tw_backend_ram_data(ram), rec->base, blocks * CT_BS);
	recb = tw_backend_recorder(ram, log);
	REQUIRE(recb);
	dev = tw_udev_from_backend(recb);
	REQUIRE(dev);
	/* a small cache, so that writeback happens under pressure too */
	tw_udev_set_cache_limit(dev, 64 * CT_BS);

	w->fs = ct_mount(dev);
	rec->journal_start = tw_fs_super(w->fs)->s_journal_start;
	rec->journal_blocks = tw_fs_super(w->fs)->s_journal_blocks;
	for (j = 1; j <= CW_NPHASE; j++) {
		w->st[j] = w->st[j - 1];
		cw_run_phase(w, j, &w->st[j]);
		if (j < CW_NPHASE)
			REQUIRE_EQ(tw_sync(w->fs), 0);
		else
			REQUIRE_EQ(tw_unmount(w->fs), 0);
		tw_wlog_counts(log, &wcount, &fcount);
		w->sync_rec[j] = wcount + fcount;
	}
	w->fs = NULL;
	CHECK_EQ(tw_udev_close(dev), 0);

	/* read the log into memory */
	rd = tw_wlog_reader_mem(log, &err);
	REQUIRE(rd);
	tw_wlog_counts(log, &wcount, &fcount);
	rec->r = calloc(wcount + fcount, sizeof(*rec->r));
	REQUIRE(rec->r);
	while ((err = tw_wlog_next(rd, &wr)) == 1) {
		struct rec *r = &rec->r[rec->n++];

		r->type = wr.type;
		r->blk = wr.blk;
		if (wr.type == TW_WLOG_WRITE) {
			r->data = malloc(CT_BS);
			REQUIRE(r->data);
			memcpy(r->data, wr.data, CT_BS);
		}
	}
	CHECK_EQ(err, 0);
	CHECK_EQ(rec->n, wcount + fcount);
	tw_wlog_reader_close(rd);
	CHECK_EQ(tw_wlog_free(log), 0);
	fprintf(stderr, "  recorded %llu writes, %llu flushes\n",
		(unsigned long long)wcount, (unsigned long long)fcount);
}

static void free_recording(struct recording *rec)
{
	u64 i;

	for (i = 0; i < rec->n; i++)
		free(rec->r[i].data);
	free(rec->r);
	free(rec->base);
}

/* The last sync completed by a prefix of @p records. */
static int last_sync(struct cw_wl *w, u64 p)
{
	int k = 0;

	while (k < CW_NPHASE && w->sync_rec[k + 1] <= p)
		k++;
	return k;
}

/*
 * Mount a crash image and check it (@exact: it must be exactly the state
 * of sync @k); with @write_too, also that it takes a change and remounts.
 * The image is copied to @dev, a RAM device of the same size.
 */
static int try_image(struct cw_wl *w, struct tw_dev *dev, const u8 *img,
		     u64 blocks, int k, bool exact, bool write_too,
		     const char *what)
{
	struct tw_fs *fs = NULL;
	int err, bad;

	REQUIRE_EQ(tw_udev_drop_caches(dev), 0);
	memcpy(ct_ram_of(dev), img, blocks * CT_BS);
	ct_log_capture(true);
	err = tw_mount(dev, blocks, NULL, &fs);
	ct_log_release();
	if (err) {
		fprintf(stderr, "  %s: mount failed: %d%s (%s)\n", what, err,
			ct_errname(err), ct_last_log);
		return 1;
	}
	bad = exact ? cw_check_between(fs, &w->st[k], &w->st[k], NULL, NULL) :
		      cw_check_image(w, fs, k);
	if (!bad && write_too) {
		u64 ino;

		if (ct_create(fs, ROOT, "post-crash", 0644, &ino) ||
		    tw_write(fs, ino, 0, "ok", 2) != 2) {
			fprintf(stderr, "  %s: cannot write after mount\n",
				what);
			bad++;
		}
		fs = ct_remount(fs);
		if (cw_path_ino(fs, "post-crash") == 0)
			bad++;
		bad += ct_walk_check(fs, NULL);
	}
	if (tw_unmount(fs))
		bad++;
	if (bad)
		fprintf(stderr, "  %s (last sync %d): %d problems\n", what, k,
			bad);
	return bad;
}

static void test_recorded_crashes(void)
{
	const u64 blocks = 1024;
	static struct cw_wl w;
	struct recording rec;
	struct tw_dev *scratch = tw_udev_ram(blocks);
	u8 *img, *img2;
	u64 p, images = 0, failed = 0, start;
	double t0 = ct_seconds();
	char what[96];

	/* (a journal of 400 blocks: see test_small_filesystems for why
	 * not the default of a quarter of this 4 MiB filesystem) */
	record_workload(&w, &rec, blocks, 400);
	img = malloc(blocks * CT_BS);
	img2 = malloc(blocks * CT_BS);
	REQUIRE(img && img2);

	/* every prefix of the log */
	memcpy(img, rec.base, blocks * CT_BS);
	for (p = 0; p <= rec.n; p++) {
		if (p > 0) {
			struct rec *r = &rec.r[p - 1];

			if (r->type != TW_WLOG_WRITE)
				continue; /* a flush changes no image */
			memcpy(img + r->blk * CT_BS, r->data, CT_BS);
		}
		snprintf(what, sizeof(what), "prefix %llu",
			 (unsigned long long)p);
		images++;
		if (try_image(&w, scratch, img, blocks, last_sync(&w, p), false,
			      p % 16 == 0, what)) {
			if (failed++ > 10)
				break;
		}
	}
	fprintf(stderr, "  %llu prefix images, %llu bad (%.1f s)\n",
		(unsigned long long)images, (unsigned long long)failed,
		ct_seconds() - t0);
	CHECK_EQ(failed, 0);

	/* one write of a flush interval lost, the rest of it written */
	t0 = ct_seconds();
	images = failed = 0;
	memcpy(img, rec.base, blocks * CT_BS);
	for (start = 0; start < rec.n && failed <= 10;) {
		u64 end = start, drop, q;

		while (end < rec.n && rec.r[end].type == TW_WLOG_WRITE)
			end++;
		/* img = the state before the interval [start, end) */
		for (drop = start; end - start > 1 && drop < end; drop++) {
			memcpy(img2, img, blocks * CT_BS);
			for (q = start; q < end; q++)
				if (q != drop)
					memcpy(img2 + rec.r[q].blk * CT_BS,
					       rec.r[q].data, CT_BS);
			snprintf(what, sizeof(what),
				 "[%llu, %llu) without %llu",
				 (unsigned long long)start,
				 (unsigned long long)end,
				 (unsigned long long)drop);
			images++;
			/* the interval's writes are in flight: the last
			 * completed sync is the one before them */
			if (try_image(&w, scratch, img2, blocks,
				      last_sync(&w, start), false, false, what))
				failed++;
		}
		for (q = start; q < end; q++)
			memcpy(img + rec.r[q].blk * CT_BS, rec.r[q].data,
			       CT_BS);
		start = end + 1; /* past the flush */
	}
	fprintf(stderr, "  %llu reordered images, %llu bad (%.1f s)\n",
		(unsigned long long)images, (unsigned long long)failed,
		ct_seconds() - t0);
	CHECK_EQ(failed, 0);
	free(img);
	free(img2);
	free_recording(&rec);
	ct_close(scratch);
}

/* ------------------------------------------------------------------------ */
/* Torn transactions                                                        */
/* ------------------------------------------------------------------------ */

static bool in_journal(struct recording *rec, u64 blk)
{
	return blk > rec->journal_start &&
	       blk < rec->journal_start + rec->journal_blocks;
}

static u32 magic_of(const u8 *data)
{
	return TW_GET32((const struct tw_blk_hdr *)data, h_magic);
}

static void test_torn_transactions(void)
{
	const u64 blocks = 1024;
	static struct cw_wl w;
	struct recording rec;
	struct tw_dev *scratch = tw_udev_ram(blocks);
	u8 *img = malloc(blocks * CT_BS), *save = malloc(CT_BS);
	u32 seed;
	u64 p, commit, copy, after;
	int k, tested = 0;

	REQUIRE(scratch && img && save);
	record_workload(&w, &rec, blocks, 400);
	seed = TW_GET32((struct tw_super *)rec.base, s_csum_seed);

	for (k = 2; k < CW_NPHASE; k++) {
		char name[8];

		/* the first transaction committed in phase k: it holds the
		 * phase's first change, mkdir d<k> */
		commit = 0;
		for (p = w.sync_rec[k - 1]; p < w.sync_rec[k] && !commit; p++)
			if (rec.r[p].type == TW_WLOG_WRITE &&
			    in_journal(&rec, rec.r[p].blk) &&
			    magic_of(rec.r[p].data) == TW_JCOMMIT_MAGIC)
				commit = p;
		CHECK(commit != 0);
		if (!commit)
			continue;
		/* a copy block of the same transaction: before the commit,
		 * neither a descriptor nor the block after the commit
		 * block's place, which the commit zeroes with the copies */
		after = rec.r[commit].blk + 1 <
				rec.journal_start + rec.journal_blocks ?
			rec.r[commit].blk + 1 :
			rec.journal_start + 1;
		for (p = commit - 1; p > w.sync_rec[k - 1]; p--)
			if (rec.r[p].type == TW_WLOG_WRITE &&
			    in_journal(&rec, rec.r[p].blk) &&
			    rec.r[p].blk != after &&
			    magic_of(rec.r[p].data) != TW_JDESC_MAGIC)
				break;
		copy = p;
		CHECK(rec.r[copy].type == TW_WLOG_WRITE &&
		      in_journal(&rec, rec.r[copy].blk));
		snprintf(name, sizeof(name), "d%d", k);

		/* the image up to the commit block, not its checkpoint */
		memcpy(img, rec.base, blocks * CT_BS);
		for (p = 0; p < commit; p++)
			if (rec.r[p].type == TW_WLOG_WRITE)
				memcpy(img + rec.r[p].blk * CT_BS,
				       rec.r[p].data, CT_BS);
		/* 1. no commit block: exactly the state of the last sync */
		CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1, true, true,
				   "commit block missing"),
			 0);
		/* 2. the commit block, intact: the transaction is there */
		memcpy(img + rec.r[commit].blk * CT_BS, rec.r[commit].data,
		       CT_BS);
		CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1, false, true,
				   "commit intact"),
			 0);
		{
			struct tw_fs *fs;

			REQUIRE_EQ(tw_udev_drop_caches(scratch), 0);
			memcpy(ct_ram_of(scratch), img, blocks * CT_BS);
			ct_log_capture(true);
			REQUIRE_EQ(tw_mount(scratch, blocks, NULL, &fs), 0);
			ct_log_release();
			CHECK(ct_ino(fs, ROOT, name) != 0);
			CHECK_EQ(tw_unmount(fs), 0);
		}
		/* a read-only mount replays it in memory, writes nothing */
		{
			struct tw_mount_opts mo = { .flags = TW_MNT_RDONLY };
			struct tw_fs *fs;
			char name2[8];

			snprintf(name2, sizeof(name2), "d%d", k);
			REQUIRE_EQ(tw_udev_drop_caches(scratch), 0);
			memcpy(ct_ram_of(scratch), img, blocks * CT_BS);
			ct_log_capture(true);
			REQUIRE_EQ(tw_mount(scratch, blocks, &mo, &fs), 0);
			ct_log_release();
			CHECK(ct_ino(fs, ROOT, name2) != 0);
			CHECK_EQ(ct_create(fs, ROOT, "ro", 0644, NULL), -EROFS);
			CHECK_EQ(tw_unmount(fs), 0);
			CHECK_EQ(tw_udev_drop_caches(scratch), 0);
			CHECK(!memcmp(ct_ram_of(scratch), img, blocks * CT_BS));
		}
		/* remounted read-write, it writes the replay home; read-only
		 * again, it is clean on disk and refuses changes */
		{
			struct tw_mount_opts mo = { .flags = TW_MNT_RDONLY };
			struct tw_super *sb;
			struct tw_fs *fs;
			char name2[8];

			snprintf(name2, sizeof(name2), "d%d", k);
			REQUIRE_EQ(tw_udev_drop_caches(scratch), 0);
			memcpy(ct_ram_of(scratch), img, blocks * CT_BS);
			ct_log_capture(true);
			REQUIRE_EQ(tw_mount(scratch, blocks, &mo, &fs), 0);
			ct_log_release();
			CHECK_EQ(tw_remount(fs, 0), 0);
			CHECK_EQ(ct_create(fs, ROOT, "rw", 0644, NULL), 0);
			CHECK_EQ(tw_remount(fs, TW_MNT_RDONLY), 0);
			sb = (void *)(ct_ram_of(scratch) + TW_SB_BLOCK * CT_BS);
			CHECK(TW_GET32(sb, s_state) & TW_STATE_CLEAN);
			CHECK_EQ(ct_create(fs, ROOT, "ro", 0644, NULL), -EROFS);
			CHECK_EQ(tw_remount(fs, 0), 0);
			CHECK(!(TW_GET32(sb, s_state) & TW_STATE_CLEAN));
			CHECK_EQ(tw_unmount(fs), 0);
			REQUIRE_EQ(tw_udev_drop_caches(scratch), 0);
			ct_log_capture(true);
			REQUIRE_EQ(tw_mount(scratch, blocks, NULL, &fs), 0);
			ct_log_release();
			CHECK(ct_ino(fs, ROOT, name2) != 0);
			CHECK(ct_ino(fs, ROOT, "rw") != 0);
			CHECK(ct_ino(fs, ROOT, "ro") == 0);
			CHECK_EQ(tw_unmount(fs), 0);
		}
		/* 3. the commit block with a wrong data crc (its own crc
		 * valid): torn, discarded */
		{
			u8 *cb = img + rec.r[commit].blk * CT_BS;
			struct tw_journal_commit *jc = (void *)cb;

			TW_SET32(jc, jc_data_crc,
				 TW_GET32(jc, jc_data_crc) ^ 0x100);
			tw_block_seal(seed, cb, TW_JCOMMIT_MAGIC,
				      rec.r[commit].blk, 0,
				      TW_GET32(&jc->jc_hdr, h_aux));
			CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1,
					   true, false,
					   "commit data crc wrong"),
				 0);
			/* 4. the commit block's own crc wrong */
			memcpy(cb, rec.r[commit].data, CT_BS);
			cb[100] ^= 1;
			CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1,
					   true, false,
					   "commit block crc wrong"),
				 0);
			/* 5. a commit block of another sequence number */
			memcpy(cb, rec.r[commit].data, CT_BS);
			TW_SET64(jc, jc_seq, TW_GET64(jc, jc_seq) + 1);
			tw_block_seal(seed, cb, TW_JCOMMIT_MAGIC,
				      rec.r[commit].blk, 0,
				      TW_GET32(&jc->jc_hdr, h_aux));
			CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1,
					   true, false,
					   "commit of another transaction"),
				 0);
			memcpy(cb, rec.r[commit].data, CT_BS);
		}
		/* 6. one copied block damaged: torn, discarded */
		{
			u8 *cb = img + rec.r[copy].blk * CT_BS;

			memcpy(save, cb, CT_BS);
			cb[2000] ^= 0x40;
			CHECK_EQ(try_image(&w, scratch, img, blocks, k - 1,
					   true, false, "journal copy damaged"),
				 0);
			memcpy(cb, save, CT_BS);
		}
		tested++;
	}
	CHECK(tested >= 3);
	free_recording(&rec);
	free(img);
	free(save);
	ct_close(scratch);
}

/* ------------------------------------------------------------------------ */
/* Corrupted superblocks                                                    */
/* ------------------------------------------------------------------------ */

static void expect_refused(const u8 *img, u64 blocks, int want, const char *msg,
			   const char *what)
{
	struct tw_dev *dev = ct_dev_from_image(img, blocks);
	struct tw_fs *fs = NULL;
	int err;

	ct_log_capture(true);
	err = tw_mount(dev, blocks, NULL, &fs);
	ct_log_release();
	if (err != want || !strstr(ct_last_log, msg)) {
		fprintf(stderr,
			"  %s: mount gave %d%s with \"%s\"; want %d%s with \"%s\"\n",
			what, err, ct_errname(err), ct_last_log, want,
			ct_errname(want), msg);
		ct_failed();
	}
	if (!err)
		tw_unmount(fs);
	ct_close(dev);
}

static void test_corrupt_supers(void)
{
	const u64 blocks = 2048;
	struct tw_dev *dev = ct_ram_mkfs(blocks, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 *img = malloc(blocks * CT_BS);
	struct tw_super *sb = (void *)img;
	struct tw_journal_super *js;
	u64 jstart;
	u32 seed;

	REQUIRE(img);
	REQUIRE_EQ(ct_create(fs, ROOT, "x", 0644, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	CHECK_EQ(tw_udev_drop_caches(dev), 0);
	memcpy(img, ct_ram_of(dev), blocks * CT_BS);
	ct_close(dev);
	jstart = TW_GET64(sb, s_journal_start);
	seed = TW_GET32(sb, s_csum_seed);
	js = (void *)(img + jstart * CT_BS);

	/* sanity: the clean image mounts */
	{
		struct tw_dev *d2 = ct_dev_from_image(img, blocks);

		fs = NULL;
		CHECK_EQ(tw_mount(d2, blocks, NULL, &fs), 0);
		if (fs)
			CHECK_EQ(tw_unmount(fs), 0);
		ct_close(d2);
	}
#define MUTATE(stmt, want, msg, what)                         \
	do {                                                  \
		u8 *_copy = malloc(blocks * CT_BS);           \
		REQUIRE(_copy);                               \
		memcpy(_copy, img, blocks *CT_BS);            \
		stmt;                                         \
		expect_refused(img, blocks, want, msg, what); \
		memcpy(img, _copy, blocks *CT_BS);            \
		free(_copy);                                  \
	} while (0)

	MUTATE(sb->s_magic ^= 1, -EUCLEAN, "bad magic", "superblock magic");
	MUTATE(sb->s_label[3] ^= 1, -EBADMSG, "checksum", "superblock crc");
	MUTATE((TW_SET64(sb, s_itable_start, TW_GET64(sb, s_itable_start) + 1),
		TW_SET32(sb, s_crc, tw_super_csum(sb))),
	       -EUCLEAN, "layout", "superblock geometry");
	MUTATE((TW_SET32(sb, s_version, 2),
		TW_SET32(sb, s_crc, tw_super_csum(sb))),
	       -EUCLEAN, "version", "superblock version");
	MUTATE((TW_SET32(sb, s_feature_incompat, 0x80),
		TW_SET32(sb, s_crc, tw_super_csum(sb))),
	       -EUCLEAN, "incompatible", "superblock feature");
	MUTATE((TW_SET64(sb, s_blocks_count, blocks + 1),
		TW_SET32(sb, s_crc, tw_super_csum(sb))),
	       -EUCLEAN, "larger than the device", "superblock size");
	MUTATE(js->js_hdr.h_magic ^= 1, -EUCLEAN, "journal superblock",
	       "journal superblock magic");
	MUTATE(js->js_reserved[7] ^= 1, -EBADMSG, "journal superblock",
	       "journal superblock crc");
	MUTATE((TW_SET32(js, js_start, 100000),
		tw_block_seal(seed, js, TW_JSB_MAGIC, jstart, 0, 0)),
	       -EUCLEAN, "journal", "journal start");
	/* a bad root inode: -EBADMSG or -EUCLEAN, with a message */
	{
		u64 it = TW_GET64(sb, s_itable_start);
		u8 *root = img + it * CT_BS + TW_ROOT_INO * TW_INODE_SIZE;

		MUTATE(root[20] ^= 1, -EBADMSG, "inode", "root inode checksum");
	}
#undef MUTATE
	free(img);
}

/* ------------------------------------------------------------------------ */
/* ENOSPC                                                                   */
/* ------------------------------------------------------------------------ */

struct fill {
	u64 ino;
	u64 size;
	u64 seed;
	char name[16];
	bool live;
};

/* Write files of @chunk bytes until ENOSPC; returns how many. */
static int fill_up(struct tw_fs *fs, u64 dir, struct fill *f, int max,
		   int first, size_t chunk, u64 seed0)
{
	u8 *buf = malloc(chunk);
	int i, n = 0;

	REQUIRE(buf);
	for (i = first; i < max; i++) {
		ssize_t r;
		int err;

		snprintf(f[i].name, sizeof(f[i].name), "f%d", i);
		err = ct_create(fs, dir, f[i].name, 0644, &f[i].ino);
		if (err) {
			CHECK_EQ(err, -ENOSPC);
			break;
		}
		f[i].seed = seed0 + (u64)i;
		f[i].live = true;
		ct_fill(buf, chunk, f[i].seed, 0);
		r = tw_write(fs, f[i].ino, 0, buf, chunk);
		n++;
		if (r < 0) {
			CHECK_EQ(r, -ENOSPC);
			f[i].size = 0;
			break;
		}
		f[i].size = (u64)r;
		CHECK_EQ(ct_getattr(fs, f[i].ino).size, f[i].size);
		if ((size_t)r < chunk)
			break;
	}
	free(buf);
	return n;
}

static u64 check_fill(struct tw_fs *fs, struct fill *f, int n)
{
	u8 *buf = malloc(1 << 20);
	u64 blocks = 0;
	int i;

	REQUIRE(buf);
	for (i = 0; i < n; i++) {
		struct tw_attr a;

		if (!f[i].live)
			continue;
		a = ct_getattr(fs, f[i].ino);
		CHECK_EQ(a.size, f[i].size);
		CHECK_EQ(tw_read(fs, f[i].ino, 0, buf, 1 << 20),
			 (ssize_t)f[i].size);
		CHECK_EQ(ct_check_pat(buf, f[i].size, f[i].seed, 0), -1);
		blocks += a.blocks / 8;
	}
	free(buf);
	return blocks;
}

static void test_enospc(void)
{
	const u64 blocks = 2048; /* 8 MiB */
	struct tw_dev *dev = ct_ram_mkfs(blocks, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	static struct fill f[4096];
	struct tw_statfs s0, s1;
	int n, m, i;
	u64 d, freed = 0, used;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "fill", &d), 0);
	s0 = ct_statfs(fs);
	n = fill_up(fs, d, f, 4096, 0, 100000, 1);
	s1 = ct_statfs(fs);
	fprintf(stderr, "  %d files until ENOSPC; %llu blocks free\n", n,
		(unsigned long long)s1.bfree);
	CHECK(n > 10);
	CHECK(s1.bfree < 2);
	/* nothing more: a write needs a block */
	{
		u64 ino;
		int err = ct_create(fs, d, "extra", 0644, &ino);

		if (!err) {
			u8 b[8192] = { 1 };

			CHECK_EQ(tw_write(fs, ino, 0, b, sizeof(b)) < 8192, 1);
		}
		if (ct_statfs(fs).bfree == 0)
			CHECK_EQ(ct_mkdir(fs, ROOT, "nodir", NULL), -ENOSPC);
	}
	used = check_fill(fs, f, n);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	fs = ct_remount(fs);
	CHECK_EQ(check_fill(fs, f, n), used);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);

	/* delete every other file: exactly their blocks come back */
	s1 = ct_statfs(fs);
	for (i = 0; i < n; i += 2) {
		freed += ct_getattr(fs, f[i].ino).blocks / 8;
		CHECK_EQ(ct_unlink(fs, d, f[i].name), 0);
		f[i].live = false;
	}
	CHECK_EQ(ct_statfs(fs).bfree - s1.bfree, freed);
	/* and fill again, in the same transaction as the deletes */
	m = fill_up(fs, d, f, 4096, n, 50000, 5000);
	CHECK(m > 1);
	check_fill(fs, f, n + m);
	CHECK(ct_statfs(fs).bfree < 2);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	fs = ct_remount(fs);
	check_fill(fs, f, n + m);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);

	/* remove everything: back to the start */
	for (i = 0; i < n + m; i++)
		if (f[i].live)
			CHECK_EQ(ct_unlink(fs, d, f[i].name), 0);
	if (ct_lookup(fs, d, "extra", NULL) == 0)
		CHECK_EQ(ct_unlink(fs, d, "extra"), 0);
	/* the directory keeps its entry blocks; the rest is free */
	CHECK(ct_statfs(fs).bfree + 8 >= s0.bfree);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	fs = ct_remount(fs);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	CHECK_EQ(ct_statfs(fs).ffree, s0.ffree);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

static void test_inode_table_full(void)
{
	struct tw_dev *dev = ct_ram_mkfs(2048, 64, 0);
	struct tw_fs *fs = ct_mount(dev);
	struct tw_statfs s0 = ct_statfs(fs);
	char name[16];
	u64 i, made = 0;
	int err = 0;

	CHECK_EQ(s0.files, 63);
	CHECK_EQ(s0.ffree, 62);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%llu", (unsigned long long)i);
		err = i % 5 == 4 ? ct_mkdir(fs, ROOT, name, NULL) :
				   ct_create(fs, ROOT, name, 0644, NULL);
		if (err)
			break;
		made++;
	}
	CHECK_EQ(err, -ENOSPC);
	CHECK_EQ(made, s0.ffree);
	CHECK_EQ(ct_statfs(fs).ffree, 0);
	CHECK_EQ(ct_symlink(fs, ROOT, "sym", "t", 1, NULL), -ENOSPC);
	CHECK_EQ(ct_mkdir(fs, ROOT, "dir", NULL), -ENOSPC);
	/* links need no inode */
	CHECK_EQ(tw_link(fs, ct_ino(fs, ROOT, "n0"), ROOT, "hard", 4, NULL), 0);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	fs = ct_remount(fs);
	CHECK_EQ(ct_create(fs, ROOT, "more", 0644, NULL), -ENOSPC);
	CHECK_EQ(ct_unlink(fs, ROOT, "n1"), 0);
	CHECK_EQ(ct_create(fs, ROOT, "more", 0644, NULL), 0);
	CHECK_EQ(ct_create(fs, ROOT, "more2", 0644, NULL), -ENOSPC);
	/* an unlinked inode still held keeps its slot */
	CHECK_EQ(tw_unlink(fs, ROOT, "n2", 2, NULL, NULL), 0);
	CHECK_EQ(ct_create(fs, ROOT, "more2", 0644, NULL), -ENOSPC);
	fs = ct_remount(fs); /* orphan recovery frees it */
	CHECK_EQ(ct_create(fs, ROOT, "more2", 0644, NULL), 0);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

/*
 * The smallest filesystems mkfs makes by default (2 and 4 MiB) must work:
 * create, write, fill up, remount.  Run in a child process, since a failed
 * core assertion aborts.
 */
static void small_fs_child(u64 blocks)
{
	struct tw_dev *dev = ct_ram_mkfs(blocks, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	static struct fill f[512];
	int n;
	u64 d;

	REQUIRE_EQ(ct_mkdir(fs, ROOT, "d", &d), 0);
	n = fill_up(fs, d, f, 512, 0, 30000, 77);
	CHECK(n > 5);
	check_fill(fs, f, n);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	fs = ct_remount(fs);
	check_fill(fs, f, n);
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

static void test_small_filesystems(void)
{
	static const u64 sizes[] = { TW_MIN_BLOCKS, 1024, 2048 };
	size_t i;

	for (i = 0; i < CT_ARRAY_SIZE(sizes); i++) {
		pid_t pid;
		int status;

		fflush(stderr);
		pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			ct_failures = 0;
			small_fs_child(sizes[i]);
			_exit(ct_failures ? 1 : 0);
		}
		REQUIRE(waitpid(pid, &status, 0) == pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "  a %llu KiB filesystem: %s %d\n",
				(unsigned long long)sizes[i] * 4,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) :
						    WTERMSIG(status));
			ct_failed();
		}
	}
}

/*
 * A metadata block freed and allocated again as file data in one running
 * transaction: the data must come through the commit untouched (not
 * sealed or journaled as the metadata block it was).
 */
static void test_freed_metadata_reuse(void)
{
	struct tw_dev *dev = ct_ram_mkfs(4096, 0, 0);
	struct tw_fs *fs = ct_mount(dev);
	u8 buf[4096], got[4096];
	u64 f, t;
	int round;

	REQUIRE_EQ(ct_create(fs, ROOT, "f", 0644, &f), 0);
	REQUIRE_EQ(ct_create(fs, ROOT, "t", 0644, &t), 0);
	memset(buf, 0xaa, sizeof(buf));
	CHECK_EQ(tw_write(fs, f, 0, buf, sizeof(buf)), 4096);
	CHECK_EQ(tw_write(fs, t, 0, buf, sizeof(buf)), 4096);
	CHECK_EQ(tw_sync(fs), 0);
	/* a block freed: the allocator keeps the bitmap's committed copy */
	CHECK_EQ(ct_truncate(fs, t, 0), 0);
	/* an xattr block allocated and freed again */
	CHECK_EQ(tw_setxattr(fs, f, "user.x", "v", 1, 0), 0);
	CHECK_EQ(tw_removexattr(fs, f, "user.x"), 0);
	/* the next block of f: the allocator's goal is that block */
	ct_fill(buf, sizeof(buf), 3, 0);
	CHECK_EQ(tw_write(fs, f, 4096, buf, sizeof(buf)), 4096);
	CHECK_EQ(tw_sync(fs), 0);
	for (round = 0; round < 2; round++) {
		CHECK_EQ(tw_read(fs, f, 4096, got, sizeof(got)), 4096);
		if (memcmp(got, buf, sizeof(buf))) {
			size_t i;

			for (i = 0; i < sizeof(buf) && got[i] == buf[i]; i++)
				;
			fprintf(stderr, "  %s: data differs from byte %zu\n",
				round ? "after a remount" : "after a sync", i);
			CHECK(!"file data changed by a commit");
		}
		if (!round)
			fs = ct_remount(fs);
	}
	CHECK_EQ(ct_walk_check(fs, NULL), 0);
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
}

int main(void)
{
	RUN(test_corrupt_supers);
	RUN(test_snapshot_crash);
	RUN(test_recorded_crashes);
	RUN(test_torn_transactions);
	RUN(test_freed_metadata_reuse);
	RUN(test_enospc);
	RUN(test_inode_table_full);
	RUN(test_small_filesystems);
	return ct_done();
}
