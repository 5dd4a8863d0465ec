// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_main.c - the fsck.twinfs command: fsck(8) conventions around the
 * checker in fsck.c.
 *
 * Layer: tools.  Calls fsck.c, toolutil (--version, messages) and the C
 * library.
 *
 *   fsck.twinfs [-n|-y|-p|-a] [-f] [-v] [-C[fd]] DEVICE
 *   fsck.twinfs -h|--help, -V|--version
 *
 * Exit codes as in fsck(8): 0 clean, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error, 16 usage error (an unknown option
 * too).  The manual page is man/fsck.twinfs.8.in: keep it in step with
 * usage().
 */
#include "fsck.h"
#include "toolutil.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fsck.twinfs [-n | -y | -p | -a] [-f] [-v] [-C[fd]] DEVICE\n"
		"\n"
		"Check and repair the twinfs filesystem on DEVICE (an image file or\n"
		"a block device).\n"
		"\n"
		"  -n             check only; open the device read-only, change nothing\n"
		"  -y             repair everything that can be repaired\n"
		"  -p, -a         repair what is safe without questions; stop at the rest\n"
		"  -f             check even if the filesystem seems clean (always done)\n"
		"  -v             verbose: also print the core's messages\n"
		"  -C[fd]         accepted for fsck(8); no progress bar is drawn\n"
		"  -V, --version  print the version and exit\n"
		"  -h, --help     print this help and exit\n"
		"\n"
		"Exit status: 0 clean, 1 errors corrected, 4 errors left uncorrected,\n"
		"8 operational error, 16 usage error.  See fsck.twinfs(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_opts o = { .mode = FSCK_MODE_NO };
	struct fsck_result r;
	int c, modes = 0, code;
	bool interactive = true;

	tu_set_prog(argv[0]);
	while ((c = getopt_long(argc, argv, "nypafvVC::h", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			o.mode = FSCK_MODE_NO;
			modes++;
			interactive = false;
			break;
		case 'y':
			o.mode = FSCK_MODE_YES;
			modes++;
			interactive = false;
			break;
		case 'p':
		case 'a':
			o.mode = FSCK_MODE_PREEN;
			modes++;
			interactive = false;
			break;
		case 'f':
			break; /* every check is a full check */
		case 'v':
			o.verbose = true;
			break;
		case 'V':
			tu_version("fsck.twinfs");
			return FSCK_OK;
		case 'C':
			break; /* progress bars: accepted for fsck(8) */
		case 'h':
			usage(stdout);
			return FSCK_OK;
		default: /* getopt has said what is wrong */
			tu_try_help();
			return FSCK_USAGE;
		}
	}
	if (modes > 1) {
		tu_err("only one of -n, -y and -p");
		tu_try_help();
		return FSCK_USAGE;
	}
	if (optind != argc - 1) {
		if (optind >= argc)
			tu_err("missing DEVICE");
		else
			tu_err("too many arguments: '%s'", argv[optind + 1]);
		tu_try_help();
		return FSCK_USAGE;
	}
	if (interactive)
		fprintf(stderr,
			"fsck.twinfs: no interactive repair; checking only (use -y or -p to repair)\n");
	o.out = stdout;
	code = fsck_run(argv[optind], &o, &r);
	if (code < FSCK_ERROR)
		printf("%s: %llu files, %llu directories, %llu/%llu blocks, %llu/%llu inodes%s\n",
		       argv[optind], r.files, r.dirs, r.used_blocks, r.blocks,
		       r.used_inodes, r.inodes,
		       code == FSCK_OK		? ", clean" :
		       code == FSCK_NONDESTRUCT ? ", errors corrected" :
						  ", ERRORS LEFT");
	return code;
}
