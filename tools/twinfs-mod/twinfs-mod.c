// SPDX-License-Identifier: GPL-2.0-only
/*
 * twinfs-mod: load, unload, list and describe kernel modules through libkmod,
 * with errors a person can act on.
 *
 * Layer: user-space tool.  May call libc and libkmod, and read /proc, /sys
 * and /dev/kmsg.  It does not use the twinfs core and never runs insmod,
 * rmmod or modprobe: it is what they do, through the same library.
 *
 *   twinfs-mod [--json] [--moddir DIR] load [--with-deps] MODULE|PATH
 *              [param=value ...]
 *   twinfs-mod [--json] unload [--wait] [--timeout SEC] [--with-deps] MODULE
 *   twinfs-mod [--json] status [MODULE...]
 *   twinfs-mod [--json] info MODULE|PATH
 *
 * Exit status: 0 done, 1 refused or failed (the reason is a sentence on
 * stderr, and in the JSON object with --json), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libkmod.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef EKEYREJECTED
#define EKEYREJECTED 129
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static bool json;
static const char *moddir;
static struct utsname uts;

/* ------------------------------------------------------------------------
 * Small helpers: growable string lists, file reading.
 */

struct strv {
	char **v;
	size_t n;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("twinfs-mod: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static void strv_add(struct strv *sv, const char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = xstrdup(s);
}

static bool strv_has(const struct strv *sv, const char *s)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static void strv_free(struct strv *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

/* "a, b and c" into buf. */
static const char *strv_join(const struct strv *sv, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sv->n && off < len; i++) {
		const char *sep = i == 0 ? "" : i == sv->n - 1 ? " and " : ", ";

		off += snprintf(buf + off, len - off, "%s%s", sep, sv->v[i]);
	}
	return buf;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == ' ')
		s[--n] = '\0';
}

/* Read a small text file, without its trailing newline; NULL on error. */
static char *read_text(const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return xstrdup(buf);
}

/* ------------------------------------------------------------------------
 * JSON output: one object per run, written as we go.
 */

static int jdepth;
static bool jfirst[32];
static bool jafterkey;

static void j_sep(void)
{
	if (jafterkey) {
		jafterkey = false;
		return;
	}
	if (jdepth && !jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
}

static void j_raw_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void j_open(char c)
{
	j_sep();
	putchar(c);
	jfirst[++jdepth] = true;
}

static void j_close(char c)
{
	putchar(c);
	jdepth--;
}

static void j_key(const char *k)
{
	j_sep();
	j_raw_str(k);
	putchar(':');
	jafterkey = true;
}

static void j_str(const char *s)
{
	j_sep();
	if (s)
		j_raw_str(s);
	else
		fputs("null", stdout);
}

static void j_int(long long v)
{
	j_sep();
	printf("%lld", v);
}

static void j_bool(bool v)
{
	j_sep();
	fputs(v ? "true" : "false", stdout);
}

static void j_kstr(const char *k, const char *v)
{
	j_key(k);
	j_str(v);
}

static void j_kint(const char *k, long long v)
{
	j_key(k);
	j_int(v);
}

static void j_kstrv(const char *k, const struct strv *sv)
{
	size_t i;

	j_key(k);
	j_open('[');
	for (i = 0; i < sv->n; i++)
		j_str(sv->v[i]);
	j_close(']');
}

/* ------------------------------------------------------------------------
 * The one error a run can end with: a sentence and an errno.
 */

static char errmsg[4096];
static int errnum;

static const struct {
	int num;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" },	    { ENOENT, "ENOENT" },
	{ ENOEXEC, "ENOEXEC" },	    { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },	    { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },	    { EEXIST, "EEXIST" },
	{ EINVAL, "EINVAL" },	    { ENOSYS, "ENOSYS" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { EKEYREJECTED, "EKEYREJECTED" },
	{ ENOKEY, "ENOKEY" },	    { EBADMSG, "EBADMSG" },
	{ ENODATA, "ENODATA" },	    { EACCES, "EACCES" },
	{ ENOTDIR, "ENOTDIR" },	    { EISDIR, "EISDIR" },
};

static const char *errname(int e)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].num == e)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static int __attribute__((format(printf, 2, 3)))
fail(int e, const char *fmt, ...)
{
	va_list ap;

	errnum = e ? e : EINVAL;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Append more explanation to the error sentence. */
static void __attribute__((format(printf, 1, 2)))
fail_more(const char *fmt, ...)
{
	size_t off = strlen(errmsg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg + off, sizeof(errmsg) - off, fmt, ap);
	va_end(ap);
}

/* Progress and notes for people; silent in --json mode. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	fputs("twinfs-mod: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------------
 * The kernel log: what the kernel said about the last load, in its words.
 */

struct kmsg {
	int fd;
	struct strv lines;
};

static void kmsg_mark(struct kmsg *k)
{
	k->lines.v = NULL;
	k->lines.n = 0;
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd >= 0)
		lseek(k->fd, 0, SEEK_END);
}

/* Collect the records logged since kmsg_mark(). */
static void kmsg_collect(struct kmsg *k)
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
 * Kernel taint flags (Documentation/admin-guide/tainted-kernels.rst).
 */

static const struct {
	char letter;
	const char *words;
} taints[] = {
	{ 'P', "proprietary module loaded" },
	{ 'F', "module force-loaded" },
	{ 'S', "out-of-specification system" },
	{ 'R', "module force-unloaded" },
	{ 'M', "machine check exception" },
	{ 'B', "bad page referenced" },
	{ 'U', "tainted by user space" },
	{ 'D', "kernel died recently (oops or BUG)" },
	{ 'A', "ACPI table overridden" },
	{ 'W', "kernel warning issued" },
	{ 'C', "staging driver loaded" },
	{ 'I', "firmware bug workaround applied" },
	{ 'O', "out-of-tree module loaded" },
	{ 'E', "unsigned module loaded" },
	{ 'L', "soft lockup occurred" },
	{ 'K', "kernel live-patched" },
	{ 'X', "auxiliary (distribution) taint" },
	{ 'T', "built with struct randomization" },
	{ 'N', "in-kernel test run" },
};

static const char *taint_words(char letter)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(taints); i++)
		if (taints[i].letter == letter)
			return taints[i].words;
	return "unknown taint";
}

static long long kernel_taint(void)
{
	char *s = read_text("/proc/sys/kernel/tainted");
	long long v = -1;

	if (s) {
		v = strtoll(s, NULL, 10);
		free(s);
	}
	return v;
}

/* "E (unsigned module loaded), O (out-of-tree module loaded)" */
static const char *taint_describe(long long mask, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(taints) && off < len; i++) {
		if (!(mask & (1LL << i)))
			continue;
		off += snprintf(buf + off, len - off, "%s%c (%s)",
				off ? ", " : "", taints[i].letter,
				taints[i].words);
	}
	return buf;
}

static void j_taint_list(long long mask)
{
	size_t i;

	j_open('[');
	for (i = 0; i < ARRAY_SIZE(taints); i++) {
		char l[2] = { taints[i].letter, '\0' };

		if (!(mask & (1LL << i)))
			continue;
		j_open('{');
		j_kstr("flag", l);
		j_kint("bit", i);
		j_kstr("meaning", taints[i].words);
		j_close('}');
	}
	j_close(']');
}

/* ------------------------------------------------------------------------
 * libkmod context and module lookup.
 */

struct modv {
	struct kmod_module **v;
	size_t n;
};

static void modv_add(struct modv *mv, struct kmod_module *m)
{
	mv->v = xrealloc(mv->v, (mv->n + 1) * sizeof(*mv->v));
	mv->v[mv->n++] = m;
}

static void modv_free(struct modv *mv)
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

static struct kmod_ctx *ctx_new(void)
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
static bool mod_loaded(struct kmod_module *m)
{
	int st = kmod_module_get_initstate(m);

	return st == KMOD_MODULE_LIVE || st == KMOD_MODULE_COMING ||
	       st == KMOD_MODULE_GOING;
}

static bool mod_builtin(struct kmod_module *m)
{
	return kmod_module_get_initstate(m) == KMOD_MODULE_BUILTIN;
}

static bool looks_like_path(const char *arg)
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
static int resolve(struct kmod_ctx *ctx, const char *arg, struct modv *out)
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
static char *mod_info(struct kmod_module *m, const char *key)
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
static const char *mod_name(struct kmod_module *m, char *buf, size_t len)
{
	char *n = mod_info(m, "name");

	snprintf(buf, len, "%s", n ? n : kmod_module_get_name(m));
	free(n);
	return buf;
}

static void mod_holders(struct kmod_module *m, struct strv *out)
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
static void mod_mounts(struct kmod_module *m, struct strv *out)
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

static int need_module_support(void)
{
	if (access("/proc/modules", F_OK) == 0)
		return 0;
	return fail(ENOSYS,
		    "this kernel (%s) has no loadable module support "
		    "(there is no /proc/modules); run this in the test guest, "
		    "e.g. vm/run -- twinfs-mod ...",
		    uts.release);
}

/* ------------------------------------------------------------------------
 * load
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
		      "module.sig_enforce=1 or CONFIG_MODULE_SIG_FORCE)";
	else if (lockdown && !strstr(lockdown, "[none]"))
		why = "kernel lockdown requires signed modules";
	else
		why = "this kernel requires a valid signature";
	if (signer)
		fail(EKEYREJECTED,
		     "cannot load %s: a signature is required "
		     "and its signature (signer \"%s\") does not verify "
		     "against a trusted key: %s.",
		     name, signer, why);
	else
		fail(EKEYREJECTED,
		     "cannot load %s: a signature is required "
		     "and the module is not signed: %s.  Sign it with the "
		     "kernel's key (scripts/sign-file) or boot without "
		     "enforcement.",
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

static void explain_load(struct kmod_ctx *ctx, struct kmod_module *m,
			 const char *name, int e, const struct kmsg *k)
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

static int cmd_load(struct kmod_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "with-deps", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
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
		default:
			return fail(EINVAL, "usage: twinfs-mod load "
					    "[--with-deps] MODULE|PATH "
					    "[param=value ...]") -
			       1;
		}
	}
	if (optind >= argc)
		return fail(EINVAL, "usage: twinfs-mod load [--with-deps] "
				    "MODULE|PATH [param=value ...]") -
		       1;
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

/* ------------------------------------------------------------------------
 * unload
 */

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

static void explain_busy(const char *name, int refcnt,
			 const struct strv *holders, const struct strv *mounts)
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

static int cmd_unload(struct kmod_ctx *ctx, int argc, char **argv)
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

/* ------------------------------------------------------------------------
 * status
 */

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

static int cmd_status(struct kmod_ctx *ctx, int argc, char **argv)
{
	struct kmod_list *list = NULL, *l;
	long long taint = kernel_taint();
	bool header = false;
	int i, err, ret = 0;
	char buf[1024];

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

/* ------------------------------------------------------------------------
 * info
 */

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

static int cmd_info(struct kmod_ctx *ctx, int argc, char **argv)
{
	struct modv mods = { 0 };
	size_t i;
	int ret = 0;

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

/* ------------------------------------------------------------------------
 * main
 */

static void usage(FILE *f)
{
	fputs("usage: twinfs-mod [--json] [--moddir DIR] COMMAND ...\n"
	      "\n"
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
	      "  --json        one JSON object on stdout\n"
	      "  --moddir DIR  module directory (default "
	      "/lib/modules/$(uname -r))\n"
	      "\n"
	      "Exit status: 0 done, 1 refused or failed, 2 usage.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "moddir", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct kmod_ctx *ctx;
	const char *cmd;
	int c, ret;

	uname(&uts);
	while ((c = getopt_long(argc, argv, "+jm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'm':
			moddir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "load") && strcmp(cmd, "unload") &&
	    strcmp(cmd, "status") && strcmp(cmd, "info")) {
		fprintf(stderr, "twinfs-mod: unknown command \"%s\"\n", cmd);
		usage(stderr);
		return 2;
	}
	if (json) {
		j_open('{');
		j_kstr("command", cmd);
	}
	ctx = ctx_new();
	if (!ctx)
		ret = -1;
	else if (!strcmp(cmd, "load"))
		ret = cmd_load(ctx, argc, argv);
	else if (!strcmp(cmd, "unload"))
		ret = cmd_unload(ctx, argc, argv);
	else if (!strcmp(cmd, "status"))
		ret = cmd_status(ctx, argc, argv);
	else
		ret = cmd_info(ctx, argc, argv);
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
