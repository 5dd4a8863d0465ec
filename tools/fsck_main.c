// SPDX-License-Identifier: GPL-2.0
/*
 * fsck_main.c - the fsck.twinfs command: fsck(8) conventions around the
 * checker in fsck.c.
 *
 * Layer: tools.  Calls fsck.c and the C library.
 *
 *   fsck.twinfs [-n|-y|-p|-a] [-f] [-v] [-V] DEVICE
 *
 * Exit codes as in fsck(8): 0 clean, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error, 16 usage error.
 */
#include "fsck.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fsck.twinfs [-n | -y | -p] [-f] [-v] DEVICE\n"
		"  -n  check only; open the device read-only, change nothing\n"
		"  -y  repair everything that can be repaired\n"
		"  -p  (-a) repair what is safe without questions; stop at the rest\n"
		"  -f  check even if the filesystem seems clean (always done)\n"
		"  -v  verbose: also print the core's messages\n"
		"exit: 0 clean, 1 errors corrected, 4 errors left, 8 operational error, 16 usage\n");
}

int main(int argc, char **argv)
{
	struct fsck_opts o = { .mode = FSCK_MODE_NO };
	struct fsck_result r;
	int c, modes = 0, code;
	bool interactive = true;

	while ((c = getopt(argc, argv, "nypafvVCh")) != -1) {
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
			printf("fsck.twinfs (twinfs) 0.1.0\n");
			return FSCK_OK;
		case 'C':
			break; /* progress bars: accepted for fsck(8) */
		case 'h':
			usage(stdout);
			return FSCK_OK;
		default:
			usage(stderr);
			return FSCK_USAGE;
		}
	}
	if (modes > 1) {
		fprintf(stderr, "fsck.twinfs: only one of -n, -y and -p\n");
		usage(stderr);
		return FSCK_USAGE;
	}
	if (optind != argc - 1) {
		usage(stderr);
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
