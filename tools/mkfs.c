// SPDX-License-Identifier: GPL-2.0
/*
 * mkfs.c - mkfs.twinfs: make a twinfs filesystem on an image file or a
 * block device, like mke2fs, so that "mkfs -t twinfs" works.
 *
 *   mkfs.twinfs [-L label] [-N inodes] [-J journal-blocks] [-U uuid]
 *               [-q] [-F] DEVICE [SIZE]
 *   mkfs.twinfs --help | --version
 *
 * Exit status: 0 made, 1 failed or bad usage (as mke2fs).  The manual page
 * is man/mkfs.twinfs.8.in: keep it in step with usage().
 *
 * Layer: tools (user space).  Calls the core's public API (tw_mkfs(),
 * tw_validate_super()), the user-space environment (tw_user.h) and
 * toolutil; the layout itself is the core's business.
 */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "toolutil.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [-L label] [-N inodes] [-J journal-blocks] [-U uuid]\n"
		"       %*s [-q] [-F] DEVICE [SIZE]\n"
		"\n"
		"Make a twinfs filesystem on DEVICE, an image file or a block device.\n"
		"SIZE (bytes, or with a suffix K, M, G, T: 256M, 1G) creates the image\n"
		"file or extends a shorter one; without it the whole file or device is\n"
		"used.\n"
		"\n"
		"  -L label           volume label (at most %d bytes)\n"
		"  -N inodes          number of inodes (default: one per 16 KiB)\n"
		"  -J journal-blocks  journal size in 4 KiB blocks (%u..%u;\n"
		"                     default: 1/64 of the filesystem, 1024..16384)\n"
		"  -U uuid            filesystem UUID, or \"random\" (the default)\n"
		"  -q                 quiet: print nothing but errors\n"
		"  -F                 force (accepted for compatibility with mke2fs)\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 made, 1 failed or bad usage.  See mkfs.twinfs(8).\n",
		tu_prog, (int)strlen(tu_prog), "", TW_LABEL_LEN - 1,
		TW_MIN_JOURNAL, TW_MAX_JOURNAL);
}

/*
 * The smallest filesystem, in blocks, that has room for the given inodes
 * and journal (0 for "by size", as tw_mkfs() takes them), or 0 if none up
 * to TW_MAX_BLOCKS has.  Only used to phrase the error message: it follows
 * the defaults and the region layout of tw_mkfs() and docs/format.md
 * ("Layout"), and tw_mkfs() stays the judge.
 */
static u64 overhead(u64 blocks, u32 inodes_opt, u32 journal_opt)
{
	u64 n = inodes_opt, j = journal_opt, orphan;

	if (!n)
		n = blocks / 4 > 0xfffff000u ? 0xfffff000u : blocks / 4;
	if (n < TW_MIN_INODES)
		n = TW_MIN_INODES;
	n = (n + TW_INODES_PER_BLOCK - 1) & ~(u64)(TW_INODES_PER_BLOCK - 1);
	if (!j) {
		j = blocks / 64;
		j = j < 1024 ? 1024 : j > 16384 ? 16384 : j;
		if (j > blocks / 4)
			j = blocks / 4;
	}
	orphan = n / 4096;
	orphan = orphan < 1 ? 1 : orphan > 16 ? 16 : orphan;
	/* superblock, journal, orphan table, bitmaps, inode table, then at
	 * least 8 data blocks (the validator's "room for data") */
	return 1 + j + orphan + (blocks + TW_BMAP_BITS - 1) / TW_BMAP_BITS +
	       (n + TW_BMAP_BITS - 1) / TW_BMAP_BITS +
	       n / TW_INODES_PER_BLOCK + 8;
}

static u64 min_blocks(u32 inodes_opt, u32 journal_opt)
{
	u64 b = TW_MIN_BLOCKS, need;

	/* overhead() grows with the size: climb to the least fixed point */
	while (b <= TW_MAX_BLOCKS) {
		need = overhead(b, inodes_opt, journal_opt);
		if (need <= b)
			return b;
		b = need;
	}
	return 0;
}

static void too_small(const char *dev, u64 blocks, u64 min, u32 inodes,
		      u32 journal)
{
	char have[32], want[32];

	tu_fmt_size(blocks * TW_BLOCK_SIZE, have, sizeof(have));
	if (!min) {
		tu_err("%s: no filesystem up to the maximum size has room for %u inodes and a journal of %u blocks",
		       dev, inodes, journal);
		return;
	}
	tu_fmt_size(min * TW_BLOCK_SIZE, want, sizeof(want));
	if (inodes || journal)
		tu_err("%s: filesystem too small: %s (%llu blocks); with these -N/-J settings the minimum is %s (%llu blocks)",
		       dev, have, (unsigned long long)blocks, want,
		       (unsigned long long)min);
	else
		tu_err("%s: filesystem too small: %s (%llu blocks); the minimum is %s (%llu blocks)",
		       dev, have, (unsigned long long)blocks, want,
		       (unsigned long long)min);
}

static void summary(const char *dev, const struct tw_super *sb,
		    u32 inodes_asked)
{
	u64 blocks = TW_GET64(sb, s_blocks_count);
	u64 data = TW_GET64(sb, s_data_start);
	u32 journal = TW_GET32(sb, s_journal_blocks);
	u32 inodes = TW_GET32(sb, s_inodes_count);
	char uuid[TU_UUID_STR_LEN], s1[32], s2[32];

	printf("Creating twinfs (format v%u) on %s\n", TW_GET32(sb, s_version),
	       dev);
	printf("  Label:          %s\n",
	       sb->s_label[0] ? (const char *)sb->s_label : "(none)");
	printf("  UUID:           %s\n", tu_uuid_format(sb->s_uuid, uuid));
	printf("  Size:           %s (%llu blocks of %u bytes)\n",
	       tu_fmt_size(blocks * TW_BLOCK_SIZE, s1, sizeof(s1)),
	       (unsigned long long)blocks, TW_GET32(sb, s_block_size));
	printf("  Inodes:         %u (%u inode table blocks)%s\n", inodes,
	       TW_GET32(sb, s_itable_blocks),
	       inodes_asked && inodes_asked != inodes ?
		       ", rounded up to whole table blocks" :
		       "");
	printf("  Journal:        %u blocks (%s) at block %llu\n", journal,
	       tu_fmt_size((u64)journal * TW_BLOCK_SIZE, s1, sizeof(s1)),
	       (unsigned long long)TW_GET64(sb, s_journal_start));
	printf("  Orphan table:   %u block%s at block %llu\n",
	       TW_GET32(sb, s_orphan_blocks),
	       TW_GET32(sb, s_orphan_blocks) == 1 ? "" : "s",
	       (unsigned long long)TW_GET64(sb, s_orphan_start));
	printf("  Metadata:       %llu blocks (%s); data from block %llu\n",
	       (unsigned long long)data,
	       tu_fmt_size(data * TW_BLOCK_SIZE, s2, sizeof(s2)),
	       (unsigned long long)data);
	printf("  Free:           %llu blocks (%s), %u inodes\n",
	       (unsigned long long)TW_GET64(sb, s_free_blocks),
	       tu_fmt_size(TW_GET64(sb, s_free_blocks) * TW_BLOCK_SIZE, s1,
			   sizeof(s1)),
	       TW_GET32(sb, s_free_inodes));
}

/*
 * tw_mkfs() leaves the journal's log as it was.  Over an old twinfs image
 * made with the same UUID (mkfs -U), the old log's first transactions
 * carry valid checksums under the new filesystem's seed and sequence
 * numbers from 1 at position 0, just where the new journal superblock
 * points, so the first mount would replay them onto the new filesystem.
 * Zeroing the first log block breaks that chain.
 */
static int clear_log_start(struct tw_dev *dev, const struct tw_super *sb)
{
	struct tw_buf *b;
	int err;

	err = tw_buf_get(dev, TW_GET64(sb, s_journal_start) + 1, &b);
	if (err)
		return err;
	memset(tw_buf_data(b), 0, TW_BLOCK_SIZE);
	tw_buf_mark_dirty(b);
	tw_buf_release(b);
	err = tw_dev_writeback(dev);
	return err ? err : tw_dev_flush(dev);
}

/* Read the superblock back and run the validator over it. */
static int verify(struct tw_dev *dev, const char *path, u64 blocks,
		  bool quiet, bool zeroed, u32 inodes_asked)
{
	struct tw_buf *b;
	const char *why;
	int err;

	err = tw_buf_read(dev, TW_SB_BLOCK, &b);
	if (err) {
		tu_err_path(path, err, "reading the superblock back");
		return err;
	}
	err = tw_validate_super(tw_buf_data(b), blocks, &why);
	if (err)
		tu_err("%s: the new superblock does not validate: %s", path,
		       why);
	if (!err && !zeroed) {
		err = clear_log_start(dev, tw_buf_data(b));
		if (err)
			tu_err_path(path, err, "clearing the journal");
	}
	if (!err && !quiet)
		summary(path, tw_buf_data(b), inodes_asked);
	tw_buf_release(b);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct tw_mkfs_opts o = { 0 };
	const char *path, *label = NULL, *uuid_arg = NULL, *why;
	u64 size = 0, v, blocks, min;
	struct tu_target t;
	struct tw_dev *dev;
	bool quiet = false;
	int c, err;

	tu_set_prog(argv[0]);
	tu_log_capture(TW_LOG_WARN);
	while ((c = getopt_long(argc, argv, "L:N:J:U:qFVh", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'L':
			label = optarg;
			if (strlen(label) > TW_LABEL_LEN - 1) {
				tu_err("label too long: %zu bytes, at most %d",
				       strlen(label), TW_LABEL_LEN - 1);
				return 1;
			}
			break;
		case 'N':
			err = tu_parse_u64(optarg, 0xfffffff0u, &v);
			if (err || !v) {
				tu_err("bad inode count '%s': give a number from 1 to %u",
				       optarg, 0xfffffff0u);
				return 1;
			}
			o.inodes = (u32)v;
			break;
		case 'J':
			err = tu_parse_u64(optarg, TW_MAX_JOURNAL, &v);
			if (err || v < TW_MIN_JOURNAL) {
				tu_err("bad journal size '%s': give %u to %u blocks",
				       optarg, TW_MIN_JOURNAL, TW_MAX_JOURNAL);
				return 1;
			}
			o.journal_blocks = (u32)v;
			break;
		case 'U':
			uuid_arg = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'F':
			break;
		case 'V':
			tu_version("mkfs.twinfs");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt has said what is wrong */
			tu_try_help();
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		if (optind >= argc)
			tu_err("missing DEVICE");
		else
			tu_err("too many arguments: '%s'", argv[optind + 2]);
		tu_try_help();
		return 1;
	}
	path = argv[optind];
	if (argc - optind == 2) {
		err = tu_parse_size(argv[optind + 1], &size);
		if (err == -ERANGE) {
			tu_err("size '%s' is out of range", argv[optind + 1]);
			return 1;
		}
		if (err || !size) {
			tu_err("bad size '%s': give bytes or a number with K, M, G or T (e.g. 256M)",
			       argv[optind + 1]);
			return 1;
		}
	}

	if (uuid_arg && strcmp(uuid_arg, "random")) {
		if (tu_uuid_parse(uuid_arg, o.uuid)) {
			tu_err("bad UUID '%s': give xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx or \"random\"",
			       uuid_arg);
			return 1;
		}
	} else if ((err = tu_uuid_generate(o.uuid))) {
		tu_err_path("/dev/urandom", err, NULL);
		return 1;
	}
	err = tu_random(&o.hash_seed, sizeof(o.hash_seed));
	if (err) {
		tu_err_path("/dev/urandom", err, NULL);
		return 1;
	}

	/* Judge an explicit size before creating anything. */
	min = min_blocks(o.inodes, o.journal_blocks);
	if (size) {
		blocks = size / TW_BLOCK_SIZE;
		if (blocks > TW_MAX_BLOCKS) {
			char s[32];

			tu_err("%s: filesystem too large: the maximum is %s (%llu blocks)",
			       path, tu_fmt_size(TW_MAX_BLOCKS * TW_BLOCK_SIZE,
						 s, sizeof(s)),
			       (unsigned long long)TW_MAX_BLOCKS);
			return 1;
		}
		if (blocks < min || !min) {
			too_small(path, blocks, min, o.inodes,
				  o.journal_blocks);
			return 1;
		}
	}

	err = tu_prepare_target(path, size, &t, &why);
	if (err) {
		tu_err_path(path, err, why);
		return 1;
	}
	dev = tu_open(path, true, &err);
	if (!dev) {
		tu_err_path(path, err,
			    err == -EBUSY ? "in use or mounted" : NULL);
		return 1;
	}
	blocks = size ? size / TW_BLOCK_SIZE : tw_udev_blocks(dev);
	if (blocks > tw_udev_blocks(dev)) {
		/* a file shrunk between preparing and opening it, or a
		 * special file that ignored the extension */
		tu_err("%s: device has only %llu blocks, %llu needed", path,
		       (unsigned long long)tw_udev_blocks(dev),
		       (unsigned long long)blocks);
		tw_udev_close(dev);
		return 1;
	}
	if (blocks > TW_MAX_BLOCKS) {
		if (!quiet)
			printf("%s: using the first %llu blocks (the maximum) of %llu\n",
			       path, (unsigned long long)TW_MAX_BLOCKS,
			       (unsigned long long)blocks);
		blocks = TW_MAX_BLOCKS;
	}
	if (blocks < min || !min) {
		too_small(path, blocks, min, o.inodes, o.journal_blocks);
		tw_udev_close(dev);
		return 1;
	}

	o.blocks = blocks;
	o.label = label;
	o.root_uid = (u32)getuid();
	o.root_gid = (u32)getgid();
	o.zeroed = t.zeroed;
	o.now = tw_now();
	err = tw_mkfs(dev, &o);
	if (err == -ENOSPC) {
		tu_err_path(path, err, "no room for the metadata");
	} else if (err) {
		tu_err_path(path, err, tu_log_last(TW_LOG_ERR));
	} else {
		err = verify(dev, path, blocks, quiet, o.zeroed, o.inodes);
	}
	c = tw_udev_close(dev);
	if (c && !err) {
		tu_err_path(path, c, "writing the filesystem");
		err = c;
	}
	return err ? 1 : 0;
}
