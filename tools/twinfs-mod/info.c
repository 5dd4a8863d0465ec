// SPDX-License-Identifier: GPL-2.0-only
/*
 * info.c - twinfs-mod info: a module's fields like modinfo, in a fixed
 * order, its parameters with their types, and its signer or that it is
 * not signed.
 *
 * Layer: user-space tool.  Calls libkmod, libc, lookup.c, json.c, error.c
 * and util.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys shown first, in modinfo's spirit; anything else follows. */
static const char *const info_order[] = {
	"name",	      "description", "author",	  "license",  "version",
	"srcversion", "vermagic",    "depends",	  "softdep",  "alias",
	"intree",     "retpoline",   "import_ns", "firmware",
};

static const char *const sig_keys[] = {
	"sig_id", "signer", "sig_key", "sig_hashalgo", "signature",
};

static bool in_list(const char *k, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(k, v[i]))
			return true;
	return false;
}

/* "name:text" -> value of the parm/parmtype entries for one parameter. */
static const char *param_field(struct kmod_list *info, const char *key,
			       const char *param)
{
	struct kmod_list *l;
	size_t n = strlen(param);

	kmod_list_foreach(l, info) {
		const char *v = kmod_module_info_get_value(l);

		if (!strcmp(kmod_module_info_get_key(l), key) &&
		    !strncmp(v, param, n) && v[n] == ':')
			return v + n + 1;
	}
	return NULL;
}

static void info_params(struct kmod_list *info)
{
	struct strv names = { 0 };
	struct kmod_list *l;
	size_t i;

	kmod_list_foreach(l, info) {
		const char *k = kmod_module_info_get_key(l);
		const char *v = kmod_module_info_get_value(l);
		char name[256];

		if (strcmp(k, "parm") && strcmp(k, "parmtype"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(v, ":"), v);
		if (!strv_has(&names, name))
			strv_add(&names, name);
	}
	if (json) {
		j_key("parameters");
		j_open('[');
	}
	for (i = 0; i < names.n; i++) {
		const char *desc = param_field(info, "parm", names.v[i]);
		const char *type = param_field(info, "parmtype", names.v[i]);

		if (json) {
			j_open('{');
			j_kstr("name", names.v[i]);
			j_kstr("type", type);
			j_kstr("description", desc);
			j_close('}');
		} else {
			printf("%-13s %s%s%s%s: %s\n", "parm:", names.v[i],
			       type ? " (" : "", type ? type : "",
			       type ? ")" : "", desc ? desc : "");
		}
	}
	if (json)
		j_close(']');
	strv_free(&names);
}

static void info_key(struct kmod_list *info, const char *key, bool multi)
{
	struct kmod_list *l;
	struct strv vals = { 0 };
	char label[64];

	kmod_list_foreach(l, info) {
		char *v, *r, *w;

		if (strcmp(kmod_module_info_get_key(l), key))
			continue;
		/* vermagic ends in a space; libkmod folds signatures. */
		v = xstrdup(kmod_module_info_get_value(l));
		for (r = w = v; *r; r++)
			if (*r != '\n' && *r != '\t')
				*w++ = *r;
		*w = '\0';
		trim(v);
		strv_add(&vals, v);
		free(v);
	}
	if (!vals.n)
		return;
	if (json) {
		if (multi)
			j_kstrv(key, &vals);
		else
			j_kstr(key, vals.v[0]);
	} else {
		size_t i;

		snprintf(label, sizeof(label), "%s:", key);
		for (i = 0; i < vals.n; i++)
			printf("%-13s %s\n", label, vals.v[i]);
	}
	strv_free(&vals);
}

static int info_one(struct kmod_module *m)
{
	struct kmod_list *info = NULL, *l;
	struct strv other = { 0 };
	const char *path = kmod_module_get_path(m);
	int err;
	size_t i;

	err = kmod_module_get_info(m, &info);
	if (err < 0)
		return fail(-err,
			    "cannot read the module information of %s "
			    "(%s).",
			    path ? path : kmod_module_get_name(m),
			    strerror(-err));
	if (json) {
		j_open('{');
		j_kstr("filename", path ? path : "(builtin)");
		if (!path)
			j_kstr("name", kmod_module_get_name(m));
	} else {
		printf("%-13s %s\n", "filename:", path ? path : "(builtin)");
		if (!path)
			printf("%-13s %s\n", "name:", kmod_module_get_name(m));
	}
	for (i = 0; i < ARRAY_SIZE(info_order); i++)
		info_key(info, info_order[i],
			 !strcmp(info_order[i], "alias") ||
				 !strcmp(info_order[i], "firmware") ||
				 !strcmp(info_order[i], "author") ||
				 !strcmp(info_order[i], "softdep"));
	kmod_list_foreach(l, info) {
		const char *k = kmod_module_info_get_key(l);

		if (!in_list(k, info_order, ARRAY_SIZE(info_order)) &&
		    !in_list(k, sig_keys, ARRAY_SIZE(sig_keys)) &&
		    strcmp(k, "parm") && strcmp(k, "parmtype") &&
		    !strv_has(&other, k))
			strv_add(&other, k);
	}
	for (i = 0; i < other.n; i++)
		info_key(info, other.v[i], true);
	info_params(info);
	/* The signature: who signed it, or that nobody did. */
	if (path) {
		bool signed_ = false;

		kmod_list_foreach(l, info)
			if (!strcmp(kmod_module_info_get_key(l), "signer") ||
			    !strcmp(kmod_module_info_get_key(l), "sig_id"))
				signed_ = true;
		if (json) {
			j_key("signed");
			j_bool(signed_);
		}
		for (i = 0; i < ARRAY_SIZE(sig_keys); i++)
			if (strcmp(sig_keys[i], "signature") || json)
				info_key(info, sig_keys[i], false);
		if (!signed_ && !json)
			printf("%-13s %s\n", "signer:", "(not signed)");
	}
	if (json)
		j_close('}');
	kmod_module_info_free_list(info);
	strv_free(&other);
	return 0;
}

int cmd_info(struct kmod_ctx *ctx, int argc, char **argv)
{
	struct modv mods = { 0 };
	size_t i;
	int ret = 0;

	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: twinfs-mod info MODULE|PATH");
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-')
		return fail(EINVAL, "usage: twinfs-mod info MODULE|PATH") - 1;
	if (resolve(ctx, argv[1], &mods) < 0)
		return -1;
	if (json) {
		j_key("modules");
		j_open('[');
	}
	for (i = 0; i < mods.n && !ret; i++) {
		if (i && !json)
			putchar('\n');
		ret = info_one(mods.v[i]);
	}
	if (json)
		j_close(']');
	modv_free(&mods);
	return ret;
}
