// SPDX-License-Identifier: GPL-2.0-only
/*
 * status.c - twinfs-mod status: the loaded modules like lsmod, with state,
 * refcount, holders and taint, and the kernel's taint flags in words.
 *
 * Layer: user-space tool.  Calls libkmod, libc (/sys/module), lookup.c,
 * taint.c, json.c, error.c and util.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *mod_taint(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/module/%s/taint", name);
	return read_text(path);
}

static void status_row(struct kmod_module *m, bool *header)
{
	const char *name = kmod_module_get_name(m);
	int st = kmod_module_get_initstate(m);
	struct strv holders = { 0 };
	char *taint = mod_taint(name);
	char hb[2048];
	size_t i;

	mod_holders(m, &holders);
	if (json) {
		j_open('{');
		j_kstr("name", name);
		j_kstr("state",
		       st >= 0 ? kmod_module_initstate_str(st) : "not loaded");
		j_kint("size", kmod_module_get_size(m));
		j_kint("refcount", kmod_module_get_refcnt(m));
		j_kstrv("holders", &holders);
		j_key("taint");
		j_open('[');
		for (i = 0; taint && taint[i]; i++) {
			char l[2] = { taint[i], '\0' };

			j_open('{');
			j_kstr("flag", l);
			j_kstr("meaning", taint_words(taint[i]));
			j_close('}');
		}
		j_close(']');
		j_close('}');
	} else {
		if (!*header) {
			printf("%-24s %9s %5s  %-8s %-6s %s\n", "Module",
			       "Size", "Refs", "State", "Taint", "Used by");
			*header = true;
		}
		if (st == KMOD_MODULE_BUILTIN)
			printf("%-24s %9s %5s  %-8s %-6s\n", name, "-", "-",
			       "builtin", "-");
		else
			printf("%-24s %9ld %5d  %-8s %-6s %s\n", name,
			       kmod_module_get_size(m),
			       kmod_module_get_refcnt(m),
			       st >= 0 ? kmod_module_initstate_str(st) : "?",
			       taint && *taint ? taint : "-",
			       strv_join(&holders, hb, sizeof(hb)));
	}
	free(taint);
	strv_free(&holders);
}

int cmd_status(struct kmod_ctx *ctx, int argc, char **argv)
{
	struct kmod_list *list = NULL, *l;
	long long taint = kernel_taint();
	bool header = false;
	int i, err, ret = 0;
	char buf[1024];

	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: twinfs-mod status [MODULE...]");
		return 0;
	}
	if (argc > 1 && argv[1][0] == '-')
		return fail(EINVAL, "usage: twinfs-mod status [MODULE...]") - 1;
	if (need_module_support())
		return -1;
	if (json) {
		j_key("kernel");
		j_open('{');
		j_kstr("release", uts.release);
		j_kint("taint", taint);
		j_key("taint_flags");
		j_taint_list(taint > 0 ? taint : 0);
		j_close('}');
		j_key("modules");
		j_open('[');
	}
	if (argc <= 1) {
		err = kmod_module_new_from_loaded(ctx, &list);
		if (err < 0) {
			if (json)
				j_close(']');
			return fail(-err,
				    "cannot read the loaded modules "
				    "(%s).",
				    strerror(-err));
		}
		kmod_list_foreach(l, list) {
			struct kmod_module *m = kmod_module_get_module(l);

			status_row(m, &header);
			kmod_module_unref(m);
		}
		kmod_module_unref_list(list);
	}
	for (i = 1; i < argc; i++) {
		struct kmod_module *m;
		char name[256];

		snprintf(name, sizeof(name), "%s", argv[i]);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (kmod_module_new_from_name(ctx, name, &m) < 0)
			continue;
		if (mod_loaded(m) || mod_builtin(m)) {
			status_row(m, &header);
		} else {
			if (!json)
				printf("%s: not loaded\n", argv[i]);
			if (!ret)
				ret = fail(ENOENT, "%s is not loaded.",
					   argv[i]);
		}
		kmod_module_unref(m);
	}
	if (json) {
		j_close(']');
	} else {
		if (taint == 0)
			printf("kernel %s: not tainted\n", uts.release);
		else if (taint > 0)
			printf("kernel %s: tainted (%lld): %s\n", uts.release,
			       taint, taint_describe(taint, buf, sizeof(buf)));
	}
	return ret;
}
