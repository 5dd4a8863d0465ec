// SPDX-License-Identifier: GPL-2.0
/*
 * dump.c - twinfs-dump: show what is on a twinfs image, for teaching and
 * debugging, in the manner of debugfs.  This file is its main: the command
 * line, the image and its superblock, the read-only mount, the default
 * summary; each command lives in the file dump.h names.
 *
 *   twinfs-dump [--json] IMAGE [superblock | inode N | dir N | ls PATH |
 *                               stat PATH | journal | bitmap | orphans |
 *                               block N]
 *   twinfs-dump --help | --version
 *
 * Exit status: 0 shown, 1 the image could not be read or is not valid
 * twinfs, 2 bad usage.  The manual page is man/twinfs-dump.8.in: keep it
 * in step with usage().
 *
 * The image is opened read-only and never written.  Raw structures (the
 * superblock, the journal, a block) are read from the device as they are;
 * everything else is read through the core, mounted with TW_MNT_RDONLY,
 * which checks the image and replays committed journal transactions in
 * memory only (so an image that was not unmounted cleanly can be shown).
 *
 * Layer: tools (user space).  Calls the dump's commands and output
 * (dump.h), the core's API (twinfs.h) and internals (tw_int.h), the
 * user-space environment (tw_user.h) and toolutil.  It changes nothing.
 */
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "dump.h"

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

bool json;
struct tu_json J;
int ind; /* indentation of human output */
const char *image;
struct tw_dev *dev;
u64 dev_blocks;
struct tw_super rsb; /* the superblock as it is on disk */
const char *sb_why; /* NULL if it validates */
int sb_err;
struct tw_fs *fs; /* mounted read-only, for the commands that need it */
FILE *out; /* human output: stdout, or /dev/null for a silent walk */

/* ------------------------------------------------------------------------ */
/* Mounting read-only                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Mount through the core: the validator, the journal replayed in memory,
 * the root inode checked.  The core's messages are shown with the result.
 */
static int do_mount(bool show)
{
	struct tw_mount_opts mo = { .flags = TW_MNT_RDONLY |
					     TW_MNT_NOATIME };
	unsigned int i, n;
	int err, level;

	tu_log_clear();
	err = tw_mount(dev, dev_blocks, &mo, &fs);
	if (err) {
		fs = NULL;
		return fail(err, "cannot mount read-only");
	}
	n = tu_log_count();
	if (!show) {
		/* not part of the output: pass warnings on to stderr */
		for (i = 0; i < n; i++) {
			const char *msg = tu_log_get(i, &level);

			if (level <= TW_LOG_WARN)
				tu_err("%s: %s", image, msg);
		}
		return 0;
	}
	sec("mount", "Mount (read-only, journal replayed in memory only):");
	f_str("result", "ok");
	if (json) {
		tu_json_karr(&J, "messages");
		for (i = 0; i < n; i++)
			tu_json_str(&J, tu_log_get(i, NULL));
		tu_json_arr_end(&J);
	} else {
		for (i = 0; i < n; i++)
			kv("message", "%s", tu_log_get(i, NULL));
	}
	sec_end();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The default: a summary                                                   */
/* ------------------------------------------------------------------------ */

static int cmd_summary(void)
{
	struct tw_statfs st;
	struct tw_ictx root;
	struct dirhdr d;
	u64 orphans = 0;
	u32 ntx = 0;
	char s1[32], s2[32], jwhy[128];
	int err;

	show_superblock(&rsb, "Superblock (block 0, as on disk):");
	show_validity();
	if (sb_why)
		return 1;
	show_layout(&rsb);

	tu_log_clear();
	err = count_replayable(&ntx, jwhy, sizeof(jwhy));
	sec("journal", "Journal:");
	if (err) {
		sec_end();
		if (jwhy[0])
			return fail(0, "invalid journal superblock: %s (%s)",
				    jwhy, tu_strerror(err));
		return fail(err, "journal");
	}
	f_u64n("replayable_transactions", ntx, "%s",
	       ntx ? "not unmounted cleanly: mount replays them" :
		     "the log is empty");
	sec_end();

	if (do_mount(true))
		return 1;
	tw_statfs(fs, &st);
	sec("usage", "Usage (counted from the bitmaps at mount):");
	f_u64n("data_blocks", st.blocks, "%s after the metadata",
	       tu_fmt_size(st.blocks * TW_BLOCK_SIZE, s1, sizeof(s1)));
	f_u64n("free_blocks", st.bfree, "%s",
	       tu_fmt_size(st.bfree * TW_BLOCK_SIZE, s2, sizeof(s2)));
	f_u64n("inodes", st.files, "usable: slot 0 is never used");
	f_u64("free_inodes", st.ffree);
	f_u64("name_max", st.namelen);
	sec_end();

	err = cmd_orphans(&orphans, false);
	if (err)
		return err;
	tu_log_clear();
	err = tw_iget(fs, TW_ROOT_INO, &root);
	if (!err) {
		err = read_dir_header(&root, &d);
		tw_iput(&root);
	}
	if (err)
		return fail(err, "root directory");
	sec("root", "Root directory (inode %u):", TW_ROOT_INO);
	f_u64("entries", d.entries);
	f_u64("entry_blocks", d.data_blocks);
	f_bool("indexed", d.flags & TW_DIRH_INDEXED);
	sec_end();
	sec("orphans", "Orphan table:");
	f_u64n("count", orphans, "%s",
	       orphans ? "a read-write mount finishes their work" :
			 "empty");
	sec_end();
	return 0;
}

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--json] IMAGE [COMMAND [ARG]]\n"
		"\n"
		"Show the contents of a twinfs image (read-only; never writes).\n"
		"\n"
		"Commands:\n"
		"  (none)        the superblock and a summary\n"
		"  superblock    every superblock field, the validator's verdict, the layout\n"
		"  inode N       inode N: fields, block map, xattrs\n"
		"  stat PATH     the same for the inode at PATH (from the root)\n"
		"  dir N         directory N: header, entry blocks, buckets, entries\n"
		"  ls PATH       list a directory like ls -l (with inode numbers)\n"
		"  journal       the journal superblock and the transactions in the log\n"
		"  bitmap        the block and inode bitmaps as runs of used bits\n"
		"  orphans       the orphan table\n"
		"  block N       block N as on disk: region, header, hex dump\n"
		"\n"
		"Options:\n"
		"  -j, --json     write JSON instead of text\n"
		"  -V, --version  print the version and exit\n"
		"  -h, --help     print this help and exit\n"
		"\n"
		"superblock, journal and block N read the device as it is; the others\n"
		"mount the image read-only through the core, which replays committed\n"
		"journal transactions in memory only.\n"
		"\n"
		"Exit status: 0 shown, 1 unreadable or invalid image, 2 bad usage.\n"
		"See twinfs-dump(8).\n",
		tu_prog);
}

static int parse_num(const char *cmd, const char *arg, u64 max, u64 *v)
{
	if (!arg) {
		tu_err("%s: missing number", cmd);
		return -EINVAL;
	}
	if (tu_parse_u64(arg, max, v)) {
		tu_err("%s: bad number '%s'", cmd, arg);
		return -EINVAL;
	}
	return 0;
}

static bool needs_mount(const char *cmd)
{
	return cmd && strcmp(cmd, "superblock") && strcmp(cmd, "journal") &&
	       strcmp(cmd, "block");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = NULL, *arg = NULL;
	struct tw_buf *b;
	u64 num = 0;
	int c, err, ret = 0, nargs;

	tu_set_prog(argv[0]);
	out = stdout;
	while ((c = getopt_long(argc, argv, "jVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'V':
			tu_version("twinfs-dump");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt has said what is wrong */
			tu_try_help();
			return 2;
		}
	}
	nargs = argc - optind;
	if (nargs < 1 || nargs > 3) {
		if (nargs < 1)
			tu_err("missing IMAGE");
		else
			tu_err("too many arguments: '%s'", argv[optind + 3]);
		tu_try_help();
		return 2;
	}
	image = argv[optind];
	if (nargs >= 2)
		cmd = argv[optind + 1];
	if (nargs == 3)
		arg = argv[optind + 2];

	/* check the command line before touching the image */
	if (!cmd || !strcmp(cmd, "superblock") || !strcmp(cmd, "journal") ||
	    !strcmp(cmd, "bitmap") || !strcmp(cmd, "orphans")) {
		if (arg) {
			tu_err("%s: unexpected argument '%s'",
			       cmd ? cmd : "summary", arg);
			return 2;
		}
	} else if (!strcmp(cmd, "inode") || !strcmp(cmd, "dir")) {
		if (parse_num(cmd, arg, 0xffffffffu, &num))
			return 2;
	} else if (!strcmp(cmd, "block")) {
		if (parse_num(cmd, arg, ~0ull, &num))
			return 2;
	} else if (!strcmp(cmd, "ls") || !strcmp(cmd, "stat")) {
		if (!arg) {
			tu_err("%s: missing PATH", cmd);
			return 2;
		}
	} else {
		tu_err("unknown command '%s'", cmd);
		tu_try_help();
		return 2;
	}

	/* the core's messages are shown where they belong, not as they come */
	tu_log_capture(-1);
	dev = tu_open(image, false, &err);
	if (!dev) {
		tu_err_path(image, err, NULL);
		return 1;
	}
	dev_blocks = tw_udev_blocks(dev);
	if (json) {
		tu_json_init(&J, stdout);
		tu_json_obj_begin(&J);
		tu_json_kstr(&J, "image", image);
		tu_json_kstr(&J, "command", cmd ? cmd : "summary");
		if (arg)
			tu_json_kstr(&J, "argument", arg);
		tu_json_ku64(&J, "device_blocks", dev_blocks);
	} else {
		line("twinfs image %s: %llu blocks of %u bytes", image,
		     (unsigned long long)dev_blocks, TW_BLOCK_SIZE);
	}

	if (!dev_blocks) {
		sb_why = "the device is smaller than one block";
		sb_err = -EUCLEAN;
	} else {
		err = tw_buf_read(dev, TW_SB_BLOCK, &b);
		if (err) {
			ret = fail(err, "reading the superblock");
			goto out;
		}
		memcpy(&rsb, tw_buf_data(b), sizeof(rsb));
		tw_buf_release(b);
		sb_err = tw_validate_super(&rsb, dev_blocks, &sb_why);
	}
	if (sb_why && !(cmd && (!strcmp(cmd, "block") ||
				!strcmp(cmd, "superblock")))) {
		ret = fail(0, "not a valid twinfs filesystem: %s (%s)", sb_why,
			   tu_strerror(sb_err));
		goto out;
	}
	if (needs_mount(cmd) && do_mount(false)) {
		ret = 1;
		goto out;
	}

	if (!cmd)
		ret = cmd_summary();
	else if (!strcmp(cmd, "superblock"))
		ret = cmd_superblock();
	else if (!strcmp(cmd, "journal"))
		ret = cmd_journal();
	else if (!strcmp(cmd, "block"))
		ret = cmd_block(num);
	else if (!strcmp(cmd, "inode"))
		ret = show_inode(num, NULL);
	else if (!strcmp(cmd, "dir"))
		ret = cmd_dir(num);
	else if (!strcmp(cmd, "ls"))
		ret = cmd_ls(arg);
	else if (!strcmp(cmd, "stat"))
		ret = cmd_stat(arg);
	else if (!strcmp(cmd, "bitmap"))
		ret = cmd_bitmap();
	else if (!strcmp(cmd, "orphans")) {
		u64 n;

		ret = cmd_orphans(&n, true);
	}
out:
	if (json)
		tu_json_finish(&J);
	if (fs) {
		err = tw_unmount(fs);
		if (err && !ret)
			ret = fail(err, "unmounting");
	}
	err = tw_udev_close(dev);
	if (err && !ret) {
		tu_err_path(image, err, "closing");
		ret = 1;
	}
	fflush(stdout);
	return ret;
}
