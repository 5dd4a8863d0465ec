/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * twinfs-mod.h - what the files of twinfs-mod share: the run's options, the
 * one error a run ends with, string lists, JSON output, taint decoding, the
 * libkmod context and module lookup, the kernel log and the explanations of
 * a refusal, and the commands.  Private to tools/twinfs-mod/.
 *
 * Layer: user-space tool.  Includes libc and libkmod headers only; nothing
 * here uses the twinfs core.
 *
 * Who may call whom:
 *   main.c       the commands, lookup.c (the context), json.c, error.c
 *   load.c unload.c status.c info.c
 *                the shared files below, never each other
 *   explain.c    lookup.c, error.c, util.c
 *   lookup.c     error.c, util.c
 *   taint.c      json.c, util.c
 *   json.c error.c util.c
 *                libc only (error.c reads the --json flag of main.c)
 */
#ifndef TWINFS_MOD_H
#define TWINFS_MOD_H

#include <libkmod.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/utsname.h>

#ifndef EKEYREJECTED
#define EKEYREJECTED 129
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* main.c: the run's options and the running kernel. */
extern bool json;
extern const char *moddir;
extern struct utsname uts;

/* util.c: memory, growable string lists, small text files. */
struct strv {
	char **v;
	size_t n;
};

void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void strv_add(struct strv *sv, const char *s);
bool strv_has(const struct strv *sv, const char *s);
void strv_free(struct strv *sv);
const char *strv_join(const struct strv *sv, char *buf, size_t len);
void trim(char *s);
char *read_text(const char *path);

/* json.c: one JSON object per run on stdout, written as we go. */
void j_open(char c);
void j_close(char c);
void j_key(const char *k);
void j_str(const char *s);
void j_int(long long v);
void j_bool(bool v);
void j_kstr(const char *k, const char *v);
void j_kint(const char *k, long long v);
void j_kstrv(const char *k, const struct strv *sv);

/*
 * error.c: the one error a run can end with, a sentence and an errno, and
 * the messages for people (silent with --json).
 *
 * fail() returns -1, so that "return fail(...)" ends a command as failed;
 * a command returns fail(...) - 1, that is -2, for a usage error.
 */
extern char errmsg[4096];
extern int errnum;

const char *errname(int e);
int __attribute__((format(printf, 2, 3))) fail(int e, const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) fail_more(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...);

/* taint.c: the kernel's taint flags, in words. */
const char *taint_words(char letter);
long long kernel_taint(void);
const char *taint_describe(long long mask, char *buf, size_t len);
void j_taint_list(long long mask);

/* lookup.c: the libkmod context, module lookup and what a module is. */
struct modv {
	struct kmod_module **v;
	size_t n;
};

void modv_free(struct modv *mv);
struct kmod_ctx *ctx_new(void);
bool mod_loaded(struct kmod_module *m);
bool mod_builtin(struct kmod_module *m);
bool looks_like_path(const char *arg);
int resolve(struct kmod_ctx *ctx, const char *arg, struct modv *out);
char *mod_info(struct kmod_module *m, const char *key);
const char *mod_name(struct kmod_module *m, char *buf, size_t len);
void mod_holders(struct kmod_module *m, struct strv *out);
void mod_mounts(struct kmod_module *m, struct strv *out);
int need_module_support(void);

/* explain.c: the kernel log around a load, and why a load or unload failed. */
struct kmsg {
	int fd;
	struct strv lines;
};

void kmsg_mark(struct kmsg *k);
void kmsg_collect(struct kmsg *k);
void explain_load(struct kmod_ctx *ctx, struct kmod_module *m, const char *name,
		  int e, const struct kmsg *k);
void explain_busy(const char *name, int refcnt, const struct strv *holders,
		  const struct strv *mounts);

/*
 * The commands, one file each: argv[0] is the command's name.  They return
 * 0 when done, -1 when refused or failed and -2 on a usage error, with the
 * sentence in errmsg.
 */
int cmd_load(struct kmod_ctx *ctx, int argc, char **argv);
int cmd_unload(struct kmod_ctx *ctx, int argc, char **argv);
int cmd_status(struct kmod_ctx *ctx, int argc, char **argv);
int cmd_info(struct kmod_ctx *ctx, int argc, char **argv);

#endif /* TWINFS_MOD_H */
