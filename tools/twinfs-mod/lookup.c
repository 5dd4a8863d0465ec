// SPDX-License-Identifier: GPL-2.0-only
/*
 * lookup.c - twinfs-mod's libkmod context, and modules found and described
 * through it: MODULE|PATH to modules as modprobe resolves them, loaded or
 * builtin, modinfo fields, holders, and where a filesystem module is
 * mounted.
 *
 * Layer: user-space tool.  Calls libkmod, libc (/proc/self/mounts,
 * /proc/modules), util.c and error.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void modv_add(struct modv *mv, struct kmod_module *m)
{
	mv->v = xrealloc(mv->v, (mv->n + 1) * sizeof(*mv->v));
	mv->v[mv->n++] = m;
}

void modv_free(struct modv *mv)
{
	size_t i;

	for (i = 0; i < mv->n; i++)
		kmod_module_unref(mv->v[i]);
	free(mv->v);
	mv->v = NULL;
	mv->n = 0;
}

static void quiet_log(void *data, int priority, const char *file, int line,
		      const char *fn, const char *format, va_list args)
{
	(void)data;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
}

struct kmod_ctx *ctx_new(void)
{
	struct kmod_ctx *ctx = kmod_new(moddir, NULL);

	if (!ctx) {
		fail(ENOMEM, "cannot set up libkmod (kmod_new failed).");
		return NULL;
	}
	/* Our own sentences replace libkmod's log lines. */
	kmod_set_log_fn(ctx, quiet_log, NULL);
	kmod_load_resources(ctx);
	return ctx;
}

static const char *ctx_dir(struct kmod_ctx *ctx)
{
	return kmod_get_dirname(ctx);
}

/* A module loaded into the running kernel, or not. */
bool mod_loaded(struct kmod_module *m)
{
	int st = kmod_module_get_initstate(m);

	return st == KMOD_MODULE_LIVE || st == KMOD_MODULE_COMING ||
	       st == KMOD_MODULE_GOING;
}

bool mod_builtin(struct kmod_module *m)
{
	return kmod_module_get_initstate(m) == KMOD_MODULE_BUILTIN;
}

bool looks_like_path(const char *arg)
{
	size_t n = strlen(arg);
	static const char *const exts[] = {
		".ko",
		".ko.xz",
		".ko.gz",
		".ko.zst",
	};
	size_t i;

	if (strchr(arg, '/'))
		return true;
	for (i = 0; i < ARRAY_SIZE(exts); i++) {
		size_t e = strlen(exts[i]);

		if (n > e && !strcmp(arg + n - e, exts[i]) &&
		    access(arg, F_OK) == 0)
			return true;
	}
	return false;
}

/*
 * MODULE|PATH into modules: a file, or a name or alias looked up in
 * modules.dep, modules.alias and modules.builtin like modprobe does.
 */
int resolve(struct kmod_ctx *ctx, const char *arg, struct modv *out)
{
	struct kmod_list *list = NULL, *l;
	struct kmod_module *m;
	struct stat st;
	int err;

	if (looks_like_path(arg)) {
		if (stat(arg, &st) < 0)
			return fail(errno, "there is no module file %s (%s).",
				    arg, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(EISDIR,
				    "%s is not a regular file, so "
				    "not a kernel module.",
				    arg);
		err = kmod_module_new_from_path(ctx, arg, &m);
		if (err < 0)
			return fail(-err,
				    "%s cannot be opened as a kernel "
				    "module (%s).",
				    arg, strerror(-err));
		modv_add(out, m);
		return 0;
	}
	err = kmod_module_new_from_lookup(ctx, arg, &list);
	if (err < 0)
		return fail(-err, "looking up module %s failed (%s).", arg,
			    strerror(-err));
	kmod_list_foreach(l, list)
		modv_add(out, kmod_module_get_module(l));
	kmod_module_unref_list(list);
	if (!out->n) {
		/* Loaded from a file outside the module tree? */
		if (kmod_module_new_from_name(ctx, arg, &m) == 0) {
			if (mod_loaded(m)) {
				modv_add(out, m);
				return 0;
			}
			kmod_module_unref(m);
		}
		return fail(ENOENT,
			    "module %s was not found for kernel %s: "
			    "it is not in %s/modules.dep, its aliases or "
			    "its built-ins.",
			    arg, uts.release, ctx_dir(ctx));
	}
	return 0;
}

/* The modinfo value for key, first one; caller frees. */
char *mod_info(struct kmod_module *m, const char *key)
{
	struct kmod_list *info = NULL, *l;
	char *v = NULL;

	if (kmod_module_get_info(m, &info) < 0)
		return NULL;
	kmod_list_foreach(l, info) {
		if (!strcmp(kmod_module_info_get_key(l), key)) {
			v = xstrdup(kmod_module_info_get_value(l));
			break;
		}
	}
	kmod_module_info_free_list(info);
	return v;
}

/* The module's own name (modinfo name=), else libkmod's from the file. */
const char *mod_name(struct kmod_module *m, char *buf, size_t len)
{
	char *n = mod_info(m, "name");

	snprintf(buf, len, "%s", n ? n : kmod_module_get_name(m));
	free(n);
	return buf;
}

void mod_holders(struct kmod_module *m, struct strv *out)
{
	struct kmod_list *h = kmod_module_get_holders(m), *l;

	kmod_list_foreach(l, h) {
		struct kmod_module *hm = kmod_module_get_module(l);

		strv_add(out, kmod_module_get_name(hm));
		kmod_module_unref(hm);
	}
	kmod_module_unref_list(h);
}

/*
 * Where a filesystem module is in use: the mount points of the types it
 * registers (its "fs-TYPE" aliases, or its own name).
 */
void mod_mounts(struct kmod_module *m, struct strv *out)
{
	struct kmod_list *info = NULL, *l;
	struct strv types = { 0 };
	char line[4096];
	FILE *f;

	strv_add(&types, kmod_module_get_name(m));
	if (kmod_module_get_info(m, &info) >= 0) {
		kmod_list_foreach(l, info) {
			const char *v = kmod_module_info_get_value(l);

			if (!strcmp(kmod_module_info_get_key(l), "alias") &&
			    !strncmp(v, "fs-", 3))
				strv_add(&types, v + 3);
		}
		kmod_module_info_free_list(info);
	}
	f = fopen("/proc/self/mounts", "re");
	if (!f) {
		strv_free(&types);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char dev[1024], dir[2048], type[256];

		if (sscanf(line, "%1023s %2047s %255s", dev, dir, type) != 3)
			continue;
		if (strv_has(&types, type)) {
			char desc[4096];

			snprintf(desc, sizeof(desc), "%s (%s on %s)", dir, type,
				 dev);
			strv_add(out, desc);
		}
	}
	fclose(f);
	strv_free(&types);
}

int need_module_support(void)
{
	if (access("/proc/modules", F_OK) == 0)
		return 0;
	return fail(ENOSYS,
		    "this kernel (%s) has no loadable module support "
		    "(there is no /proc/modules); run this in the test guest, "
		    "e.g. vm/run -- twinfs-mod ...",
		    uts.release);
}
