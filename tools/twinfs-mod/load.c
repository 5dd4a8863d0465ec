// SPDX-License-Identifier: GPL-2.0-only
/*
 * load.c - twinfs-mod load: insert a module like insmod, or with
 * --with-deps what it needs first as modprobe does; report what got
 * loaded, what the kernel ignored and any new taint.
 *
 * Layer: user-space tool.  Calls libkmod, libc, lookup.c, explain.c,
 * taint.c, json.c, error.c and util.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What got loaded, for the report.  libkmod calls on_probe() just before it
 * inserts each module, so after a failure the last one named is the one
 * that failed.
 */
static struct strv loaded_now;
static struct strv load_notes;
static char probe_current[256];

static void set_current(const char *name)
{
	snprintf(probe_current, sizeof(probe_current), "%s", name);
}

static void on_probe(struct kmod_module *m, bool install, const char *opts)
{
	(void)install;
	(void)opts;
	set_current(kmod_module_get_name(m));
	strv_add(&loaded_now, probe_current);
}

/* The module that failed was announced but not loaded. */
static void unannounce(void)
{
	if (loaded_now.n &&
	    !strcmp(loaded_now.v[loaded_now.n - 1], probe_current)) {
		free(loaded_now.v[--loaded_now.n]);
	}
}

static int load_one(struct kmod_ctx *ctx, struct kmod_module *m, bool with_deps,
		    bool from_path, const char *opts)
{
	char name[256];
	struct kmsg k;
	int err;

	mod_name(m, name, sizeof(name));
	if (mod_builtin(m))
		return fail(EEXIST,
			    "%s is built into this kernel (%s); "
			    "there is nothing to load.",
			    name, uts.release);
	kmsg_mark(&k);
	if (with_deps && from_path) {
		/* modprobe's walk for the dependencies, then this file. */
		char *deps = mod_info(m, "depends");
		char *tok, *save = NULL;

		err = 0;
		for (tok = deps ? strtok_r(deps, ",", &save) : NULL; tok;
		     tok = strtok_r(NULL, ",", &save)) {
			struct kmod_module *d;

			if (!*tok || kmod_module_new_from_name(ctx, tok, &d))
				continue;
			set_current(tok);
			err = kmod_module_probe_insert_module(
				d, KMOD_PROBE_IGNORE_COMMAND, NULL, NULL, NULL,
				on_probe);
			if (err < 0) {
				unannounce();
				kmsg_collect(&k);
				explain_load(ctx, d, probe_current, -err, &k);
				kmod_module_unref(d);
				free(deps);
				return -1;
			}
			kmod_module_unref(d);
		}
		free(deps);
		set_current(name);
		err = kmod_module_insert_module(m, 0, opts);
		if (err == 0)
			strv_add(&loaded_now, name);
	} else if (with_deps) {
		set_current(name);
		err = kmod_module_probe_insert_module(
			m,
			KMOD_PROBE_IGNORE_COMMAND | KMOD_PROBE_FAIL_ON_LOADED,
			opts, NULL, NULL, on_probe);
		if (err > 0) /* blacklisted: the codes above 0xffff */
			return fail(EPERM,
				    "%s is blacklisted in the "
				    "modprobe configuration.",
				    name);
		if (err < 0)
			unannounce();
	} else {
		set_current(name);
		err = kmod_module_insert_module(m, 0, opts);
		if (err == 0)
			strv_add(&loaded_now, name);
	}
	kmsg_collect(&k);
	if (err == 0) {
		size_t i;

		/* The kernel loads a module despite unknown parameters. */
		for (i = 0; i < k.lines.n; i++)
			if (strstr(k.lines.v[i], "unknown parameter"))
				strv_add(&load_notes, k.lines.v[i]);
	}
	if (err < 0) {
		struct kmod_module *cur = m;

		/* With dependencies, the one that failed may be another. */
		if (strcmp(probe_current, name) &&
		    kmod_module_new_from_name(ctx, probe_current, &cur))
			cur = m;
		explain_load(ctx, cur, cur == m ? name : probe_current, -err,
			     &k);
		if (cur != m)
			kmod_module_unref(cur);
		strv_free(&k.lines);
		return -1;
	}
	strv_free(&k.lines);
	return 0;
}

int cmd_load(struct kmod_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "with-deps", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char usage[] =
		"usage: twinfs-mod load [--with-deps] MODULE|PATH "
		"[param=value ...]";
	bool with_deps = false;
	struct modv mods = { 0 };
	char *params = NULL;
	size_t plen = 0, i;
	long long taint0, taint1;
	int c, ret = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+dh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			with_deps = true;
			break;
		case 'h':
			puts(usage);
			return 0;
		default:
			return fail(EINVAL, "%s", usage) - 1;
		}
	}
	if (optind >= argc)
		return fail(EINVAL, "%s", usage) - 1;
	if (need_module_support())
		return -1;
	for (i = optind + 1; i < (size_t)argc; i++) {
		size_t n = strlen(argv[i]);

		if (!strchr(argv[i], '='))
			note("parameter \"%s\" has no value; passing it as "
			     "a flag",
			     argv[i]);
		params = xrealloc(params, plen + n + 2);
		if (plen)
			params[plen++] = ' ';
		memcpy(params + plen, argv[i], n + 1);
		plen += n;
	}
	if (json) {
		j_kstr("module", argv[optind]);
		j_key("with_deps");
		j_bool(with_deps);
	}
	if (resolve(ctx, argv[optind], &mods) < 0) {
		free(params);
		return -1;
	}
	taint0 = kernel_taint();
	for (i = 0; i < mods.n && !ret; i++) {
		char name[256];

		mod_name(mods.v[i], name, sizeof(name));
		if (!with_deps || looks_like_path(argv[optind])) {
			if (mod_loaded(mods.v[i])) {
				ret = fail(EEXIST,
					   "%s is already loaded "
					   "(refcount %d); unload it first "
					   "to load another copy.",
					   name,
					   kmod_module_get_refcnt(mods.v[i]));
				break;
			}
		}
		ret = load_one(ctx, mods.v[i], with_deps,
			       looks_like_path(argv[optind]), params);
	}
	for (i = 0; i < loaded_now.n; i++)
		say("loaded %s\n", loaded_now.v[i]);
	for (i = 0; i < load_notes.n; i++)
		note("the kernel says: %s", load_notes.v[i]);
	taint1 = kernel_taint();
	if (json) {
		j_kstrv("loaded", &loaded_now);
		j_kstrv("kernel_notes", &load_notes);
	}
	if (!ret && taint0 >= 0 && taint1 > taint0) {
		char buf[512];

		note("the kernel is now tainted: %s",
		     taint_describe(taint1 & ~taint0, buf, sizeof(buf)));
	}
	if (json && taint1 >= 0) {
		j_key("new_taint");
		j_taint_list(taint0 >= 0 ? taint1 & ~taint0 : 0);
	}
	modv_free(&mods);
	free(params);
	return ret;
}
