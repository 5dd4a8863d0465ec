// SPDX-License-Identifier: GPL-2.0-only
/*
 * explain.c - why the kernel refused: what it logged during a load
 * (/dev/kmsg), and the sentences that say why a load or an unload failed
 * and what to do about it.
 *
 * Layer: user-space tool.  Calls libkmod, libc (/dev/kmsg, /proc, /sys),
 * lookup.c, util.c and error.c.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * The kernel log: what the kernel said about the last load, in its words.
 */

void kmsg_mark(struct kmsg *k)
{
	k->lines.v = NULL;
	k->lines.n = 0;
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd >= 0)
		lseek(k->fd, 0, SEEK_END);
}

/* Collect the records logged since kmsg_mark(). */
void kmsg_collect(struct kmsg *k)
{
	char rec[8192];
	ssize_t n;

	if (k->fd < 0)
		return;
	for (;;) {
		char *text, *nl;

		n = read(k->fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue; /* overwritten records: skip on */
		if (n <= 0)
			break;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		strv_add(&k->lines, text);
	}
	close(k->fd);
	k->fd = -1;
}

static const char *kmsg_find(const struct kmsg *k, const char *needle)
{
	size_t i;

	for (i = 0; i < k->lines.n; i++)
		if (strstr(k->lines.v[i], needle))
			return k->lines.v[i];
	return NULL;
}

/* Add "The kernel said: ..." with the last few lines of the log. */
static void kmsg_explain(const struct kmsg *k)
{
	size_t i = k->lines.n > 4 ? k->lines.n - 4 : 0;

	if (!k->lines.n)
		return;
	fail_more(" The kernel said:");
	for (; i < k->lines.n; i++)
		fail_more(" \"%s\"%s", k->lines.v[i],
			  i + 1 < k->lines.n ? "," : ".");
}

/* ------------------------------------------------------------------------
 * Why a load failed.
 */

/* The running kernel's vermagic, best effort: from the kernel's own
 * complaint if it made one, else from a module of this kernel. */
static char *kernel_vermagic(struct kmod_ctx *ctx, const struct kmsg *k)
{
	const char *line = kmsg_find(k, "version magic '");
	struct kmod_module *m;
	char *v = NULL;

	if (line) {
		const char *p = strstr(line, "should be '");

		if (p) {
			p += strlen("should be '");
			v = xstrdup(p);
			if (strchr(v, '\''))
				*strchr(v, '\'') = '\0';
			return v;
		}
	}
	if (kmod_module_new_from_name(ctx, "fat", &m) == 0) {
		if (kmod_module_get_path(m))
			v = mod_info(m, "vermagic");
		kmod_module_unref(m);
	}
	return v;
}

/* The first word of a vermagic: the kernel release it was built for. */
static const char *vermagic_release(const char *vm, char *buf, size_t len)
{
	size_t n = strcspn(vm, " ");

	snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), vm);
	return buf;
}

static void explain_enoexec(struct kmod_ctx *ctx, struct kmod_module *m,
			    const char *name, const struct kmsg *k)
{
	char *mine = mod_info(m, "vermagic");
	char *theirs = kernel_vermagic(ctx, k);
	char r1[128], r2[128];

	if (mine)
		trim(mine);
	if (theirs)
		trim(theirs);
	if (mine && theirs && strcmp(mine, theirs)) {
		vermagic_release(mine, r1, sizeof(r1));
		vermagic_release(theirs, r2, sizeof(r2));
		if (strcmp(r1, r2))
			fail(ENOEXEC,
			     "cannot load %s: it was built for "
			     "kernel %s, this kernel is %s (vermagic \"%s\", "
			     "the kernel wants \"%s\"); rebuild it against "
			     "this kernel's headers.",
			     name, r1, uts.release, mine, theirs);
		else
			fail(ENOEXEC,
			     "cannot load %s: it was built for "
			     "kernel %s, this kernel is %s (same release, "
			     "different build options); rebuild it against "
			     "this kernel's headers.",
			     name, mine, theirs);
	} else if (kmsg_find(k, "disagrees about version of symbol")) {
		vermagic_release(mine ? mine : "?", r1, sizeof(r1));
		fail(ENOEXEC,
		     "cannot load %s: it was built for kernel %s, "
		     "this kernel is %s (its symbol versions do not match); "
		     "rebuild it against this kernel's headers.",
		     name, r1, uts.release);
	} else {
		fail(ENOEXEC,
		     "cannot load %s: the kernel does not accept it "
		     "as a module for this kernel (%s; wrong format, "
		     "architecture or a damaged file).",
		     name, uts.release);
	}
	kmsg_explain(k);
	free(mine);
	free(theirs);
}

static void explain_keyrejected(struct kmod_module *m, const char *name,
				const struct kmsg *k)
{
	char *signer = mod_info(m, "signer");
	char *enforce = read_text("/sys/module/module/parameters/sig_enforce");
	char *lockdown = read_text("/sys/kernel/security/lockdown");
	const char *why;

	if (enforce && enforce[0] == 'Y')
		why = "this kernel only loads modules with a valid signature "
		      "(module signature enforcement is on: "
		      "module.sig_enforce=1, Secure Boot or "
		      "CONFIG_MODULE_SIG_FORCE)";
	else if (lockdown && !strstr(lockdown, "[none]"))
		why = "kernel lockdown requires signed modules";
	else
		why = "this kernel requires a valid signature";
	/*
	 * The kernel trusts the keys built into it and the Machine Owner Keys
	 * enrolled through shim.  A distribution does not publish its private
	 * key (Debian signs its modules with a key made for that build; only
	 * the certificate is in the kernel), so "sign it with the kernel's
	 * key" cannot be followed: say what can be done instead.
	 */
	if (signer)
		fail(EKEYREJECTED,
		     "cannot load %s: a signature is required "
		     "and its signature (signer \"%s\") does not verify "
		     "against a trusted key: %s.",
		     name, signer, why);
	else
		fail(EKEYREJECTED,
		     "cannot load %s: a signature is required "
		     "and the module is not signed: %s. To load it unsigned, "
		     "boot without enforcement (no module.sig_enforce=1, "
		     "Secure Boot off). To sign it, you need a key this "
		     "kernel trusts, and a distribution's key is not "
		     "published: on a machine you control, enroll your own "
		     "key as a Machine Owner Key (mokutil --import, with "
		     "shim) and sign with it (scripts/sign-file or kmodsign, "
		     "as DKMS does), or build a kernel with your own key "
		     "(CONFIG_MODULE_SIG_KEY).",
		     name, why);
	kmsg_explain(k);
	free(signer);
	free(enforce);
	free(lockdown);
}

/* The modules a module needs (modinfo depends=) that are not loaded. */
static void missing_deps(struct kmod_ctx *ctx, struct kmod_module *m,
			 struct strv *out)
{
	char *deps = mod_info(m, "depends");
	char *tok, *save = NULL;

	if (!deps)
		return;
	for (tok = strtok_r(deps, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct kmod_module *d;

		if (!*tok)
			continue;
		if (kmod_module_new_from_name(ctx, tok, &d) == 0) {
			if (!mod_loaded(d) && !mod_builtin(d))
				strv_add(out, tok);
			kmod_module_unref(d);
		}
	}
	free(deps);
}

void explain_load(struct kmod_ctx *ctx, struct kmod_module *m, const char *name,
		  int e, const struct kmsg *k)
{
	struct strv miss = { 0 };
	char buf[1024];

	switch (e) {
	case ENOEXEC:
		explain_enoexec(ctx, m, name, k);
		return;
	case EKEYREJECTED:
	case ENOKEY:
		explain_keyrejected(m, name, k);
		return;
	case EEXIST: {
		struct kmod_module *l;
		int ref = -1;

		if (kmod_module_new_from_name(ctx, name, &l) == 0) {
			ref = kmod_module_get_refcnt(l);
			kmod_module_unref(l);
		}
		fail(EEXIST,
		     "%s is already loaded (refcount %d); unload it "
		     "first to load another copy.",
		     name, ref);
		return;
	}
	case EPERM: {
		char *dis = read_text("/proc/sys/kernel/modules_disabled");
		char *ld = read_text("/sys/kernel/security/lockdown");

		if (geteuid() != 0)
			fail(EPERM,
			     "cannot load %s: loading modules needs "
			     "root (CAP_SYS_MODULE).",
			     name);
		else if (dis && dis[0] == '1')
			fail(EPERM,
			     "cannot load %s: module loading is "
			     "switched off until reboot "
			     "(kernel.modules_disabled=1).",
			     name);
		else if (ld && !strstr(ld, "[none]"))
			fail(EPERM,
			     "cannot load %s: kernel lockdown (%s) "
			     "forbids it.",
			     name, ld);
		else
			fail(EPERM,
			     "cannot load %s: the kernel refused "
			     "permission (a security module or missing "
			     "CAP_SYS_MODULE).",
			     name);
		free(dis);
		free(ld);
		kmsg_explain(k);
		return;
	}
	case ENOENT:
		missing_deps(ctx, m, &miss);
		if (miss.n)
			fail(ENOENT,
			     "cannot load %s: it needs %s, which %s "
			     "not loaded; load with --with-deps.",
			     name, strv_join(&miss, buf, sizeof(buf)),
			     miss.n > 1 ? "are" : "is");
		else if (kmsg_find(k, "Unknown symbol"))
			fail(ENOENT,
			     "cannot load %s: it uses symbols that "
			     "no loaded module provides.",
			     name);
		else
			fail(ENOENT,
			     "cannot load %s: a file or symbol it "
			     "needs is missing.",
			     name);
		strv_free(&miss);
		kmsg_explain(k);
		return;
	case ENOSYS:
		need_module_support();
		return;
	case EINVAL:
		fail(EINVAL,
		     "the kernel rejected %s as invalid: a bad "
		     "parameter value, or symbol versions that do not match "
		     "this kernel.",
		     name);
		kmsg_explain(k);
		return;
	default:
		fail(e,
		     "loading %s failed: %s (%s); if this came from its "
		     "init function, the kernel log says more.",
		     name, strerror(e), errname(e));
		kmsg_explain(k);
	}
}

/* ------------------------------------------------------------------------
 * Why an unload was refused.
 */

void explain_busy(const char *name, int refcnt, const struct strv *holders,
		  const struct strv *mounts)
{
	char hb[1024], mb[2048];

	fail(EBUSY, "cannot unload %s: it is in use (refcount %d", name,
	     refcnt);
	if (holders->n)
		fail_more("; used by module%s %s", holders->n > 1 ? "s" : "",
			  strv_join(holders, hb, sizeof(hb)));
	if (mounts->n)
		fail_more("; mounted at %s", strv_join(mounts, mb, sizeof(mb)));
	fail_more(").");
	if (holders->n)
		fail_more(" Unload %s first.",
			  strv_join(holders, hb, sizeof(hb)));
	if (mounts->n)
		fail_more(" Unmount %s first.", mounts->n > 1 ? "them" : "it");
	if (!holders->n && !mounts->n)
		fail_more(" Something holds a reference: an open device or "
			  "file, a mount or a socket.");
	fail_more(" --wait waits until it is free.");
}
