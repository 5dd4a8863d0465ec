// SPDX-License-Identifier: GPL-2.0-only
/*
 * unload.c - twinfs-mod unload: remove a module like rmmod, refused while
 * it is in use (explain.c says by what); --wait waits until it is free,
 * --with-deps also removes the dependencies nobody uses any more.
 *
 * Layer: user-space tool.  Calls libkmod, libc, lookup.c, explain.c,
 * json.c, error.c and util.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Why a module is busy, as a sentence fragment; false if it is free. */
static bool busy_reason(struct kmod_module *m, int *refcnt,
			struct strv *holders, struct strv *mounts)
{
	strv_free(holders);
	strv_free(mounts);
	*refcnt = kmod_module_get_refcnt(m);
	mod_holders(m, holders);
	if (*refcnt > 0 && holders->n < (size_t)*refcnt)
		mod_mounts(m, mounts);
	return *refcnt > 0 || holders->n > 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int unload_one(struct kmod_ctx *ctx, struct kmod_module *m, bool wait,
		      double timeout, struct strv *unloaded)
{
	struct strv holders = { 0 }, mounts = { 0 };
	double start = now_s();
	bool told = false;
	char name[256];
	int refcnt, err, ret = 0;

	(void)ctx;
	snprintf(name, sizeof(name), "%s", kmod_module_get_name(m));
	if (mod_builtin(m))
		return fail(EBUSY,
			    "%s is built into this kernel (%s) and "
			    "cannot be unloaded.",
			    name, uts.release);
	if (!mod_loaded(m))
		return fail(ENOENT, "%s is not loaded.", name);
	for (;;) {
		if (!busy_reason(m, &refcnt, &holders, &mounts)) {
			err = kmod_module_remove_module(m, 0);
			if (err == 0) {
				strv_add(unloaded, name);
				break;
			}
			if (err != -EAGAIN && err != -EBUSY) {
				if (err == -EPERM)
					ret = fail(EPERM,
						   "cannot unload "
						   "%s: unloading modules "
						   "needs root "
						   "(CAP_SYS_MODULE).",
						   name);
				else if (err == -ENOENT)
					ret = fail(ENOENT,
						   "%s is not "
						   "loaded.",
						   name);
				else
					ret = fail(-err,
						   "unloading %s "
						   "failed: %s.",
						   name, strerror(-err));
				break;
			}
			/* Taken between our look and the call. */
			if (!busy_reason(m, &refcnt, &holders, &mounts)) {
				ret = fail(EBUSY,
					   "cannot unload %s: the "
					   "kernel says it is busy although "
					   "nothing holds it; it has no exit "
					   "function (it is permanent) or is "
					   "still initialising.",
					   name);
				break;
			}
		}
		if (!wait) {
			explain_busy(name, refcnt, &holders, &mounts);
			ret = -1;
			break;
		}
		if (timeout > 0 && now_s() - start > timeout) {
			explain_busy(name, refcnt, &holders, &mounts);
			errnum = ETIMEDOUT;
			fail_more(" Gave up after %g s.", timeout);
			ret = -1;
			break;
		}
		if (!told) {
			char hb[1024];

			note("waiting for %s to become free (refcount %d%s%s)",
			     name, refcnt, holders.n ? ", used by " : "",
			     holders.n ? strv_join(&holders, hb, sizeof(hb)) :
					 "");
			told = true;
		}
		usleep(100 * 1000);
	}
	strv_free(&holders);
	strv_free(&mounts);
	return ret;
}

int cmd_unload(struct kmod_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "with-deps", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const char usage[] =
		"usage: twinfs-mod unload [--wait] "
		"[--timeout SECONDS] [--with-deps] MODULE...";
	struct strv unloaded = { 0 };
	bool wait = false, with_deps = false;
	double timeout = 0;
	int c, i, ret = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+wt:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = true;
			break;
		case 't':
			timeout = atof(optarg);
			wait = true;
			break;
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
	for (i = optind; i < argc && !ret; i++) {
		struct kmod_module *m;
		struct kmod_list *deps = NULL, *l;
		char name[256];

		if (looks_like_path(argv[i])) {
			if (kmod_module_new_from_path(ctx, argv[i], &m) < 0)
				return fail(ENOENT,
					    "there is no module file "
					    "%s.",
					    argv[i]);
			/* Unload by the name inside the file. */
			mod_name(m, name, sizeof(name));
			kmod_module_unref(m);
		} else {
			snprintf(name, sizeof(name), "%s", argv[i]);
		}
		if (kmod_module_new_from_name(ctx, name, &m) < 0)
			return fail(ENOENT, "%s is not loaded.", name);
		if (with_deps)
			deps = kmod_module_get_dependencies(m);
		ret = unload_one(ctx, m, wait, timeout, &unloaded);
		/* Then what it pulled in, if nothing else uses it now. */
		kmod_list_foreach(l, deps) {
			struct kmod_module *d = kmod_module_get_module(l);
			struct strv h = { 0 };

			if (!ret && mod_loaded(d) &&
			    kmod_module_get_refcnt(d) == 0) {
				mod_holders(d, &h);
				if (!h.n &&
				    kmod_module_remove_module(d, 0) == 0)
					strv_add(&unloaded,
						 kmod_module_get_name(d));
				strv_free(&h);
			}
			kmod_module_unref(d);
		}
		kmod_module_unref_list(deps);
		kmod_module_unref(m);
	}
	for (i = 0; i < (int)unloaded.n; i++)
		say("unloaded %s\n", unloaded.v[i]);
	if (json)
		j_kstrv("unloaded", &unloaded);
	strv_free(&unloaded);
	return ret;
}
