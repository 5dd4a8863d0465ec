// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - twinfs-mod: load, unload, list and describe kernel modules
 * through libkmod, with errors a person can act on.  This file holds the
 * global options, the command table, --help and the exit status; each
 * command is a file of its own (load.c, unload.c, status.c, info.c), as in
 * kmod's tools.
 *
 * Layer: user-space tool.  May call libc and libkmod, and read /proc, /sys
 * and /dev/kmsg.  It does not use the twinfs core and never runs insmod,
 * rmmod or modprobe: it is what they do, through the same library.  This
 * file calls the commands, lookup.c (the libkmod context), json.c and
 * error.c, and takes the version from the build's twinfs-config.h.
 *
 *   twinfs-mod [--json] [--moddir DIR] load [--with-deps] MODULE|PATH
 *              [param=value ...]
 *   twinfs-mod [--json] unload [--wait] [--timeout SEC] [--with-deps] MODULE
 *   twinfs-mod [--json] status [MODULE...]
 *   twinfs-mod [--json] info MODULE|PATH
 *   twinfs-mod --help | --version      (COMMAND --help: that command's)
 *
 * Exit status: 0 done, 1 refused or failed (the reason is a sentence on
 * stderr, and in the JSON object with --json), 2 usage.  The manual page
 * is man/twinfs-mod.8.in: keep it in step with usage().
 */
#include "twinfs-mod.h"
#include "twinfs-config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

bool json;
const char *moddir;
struct utsname uts;

static const struct command {
	const char *name;
	int (*run)(struct kmod_ctx *ctx, int argc, char **argv);
} commands[] = {
	{ "load", cmd_load },
	{ "unload", cmd_unload },
	{ "status", cmd_status },
	{ "info", cmd_info },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("Usage: twinfs-mod [--json] [--moddir DIR] COMMAND ...\n"
	      "\n"
	      "Load, unload, list and describe kernel modules through libkmod.\n"
	      "\n"
	      "Commands (COMMAND --help shows one):\n"
	      "  load [--with-deps] MODULE|PATH [param=value ...]\n"
	      "        insert a module (like insmod); --with-deps first\n"
	      "        loads what it needs from modules.dep (like modprobe)\n"
	      "  unload [--wait] [--timeout SEC] [--with-deps] MODULE...\n"
	      "        remove a module; refused while it is in use, naming\n"
	      "        its holders and refcount; --wait waits until free\n"
	      "  status [MODULE...]\n"
	      "        loaded modules with state, size, refcount, holders\n"
	      "        and taint, and the kernel's taint flags (like lsmod)\n"
	      "  info MODULE|PATH\n"
	      "        license, vermagic, depends, aliases, parameters and\n"
	      "        signer (like modinfo)\n"
	      "\n"
	      "Options:\n"
	      "  -j, --json        one JSON object on stdout\n"
	      "  -m, --moddir DIR  module directory (default "
	      "/lib/modules/$(uname -r))\n"
	      "  -V, --version     print the version and exit\n"
	      "  -h, --help        print this help and exit\n"
	      "\n"
	      "Exit status: 0 done, 1 refused or failed, 2 usage.  "
	      "See twinfs-mod(8).\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "moddir", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const struct command *cmd;
	struct kmod_ctx *ctx;
	int c, ret;

	uname(&uts);
	while ((c = getopt_long(argc, argv, "+jm:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'm':
			moddir = optarg;
			break;
		case 'V':
			printf("twinfs-mod (%s) %s\n", TWINFS_PACKAGE,
			       TWINFS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt has said what is wrong */
			fputs("Try 'twinfs-mod --help' for more information.\n",
			      stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr,
			"twinfs-mod: unknown command \"%s\"\n"
			"Try 'twinfs-mod --help' for more information.\n",
			argv[optind]);
		return 2;
	}
	argc -= optind;
	argv += optind;
	if (json) {
		j_open('{');
		j_kstr("command", cmd->name);
	}
	ctx = ctx_new();
	ret = ctx ? cmd->run(ctx, argc, argv) : -1;
	if (json) {
		j_key("ok");
		j_bool(ret == 0);
		if (ret) {
			j_kstr("error", errmsg);
			j_kstr("errno", errname(errnum));
		}
		j_close('}');
		putchar('\n');
	}
	if (ret)
		fprintf(stderr, "twinfs-mod: %s\n", errmsg);
	if (ctx)
		kmod_unref(ctx);
	fflush(stdout);
	if (ret < -1) /* usage errors */
		return 2;
	return ret ? 1 : 0;
}
