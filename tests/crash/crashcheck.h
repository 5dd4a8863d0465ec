/* SPDX-License-Identifier: GPL-2.0 */
/*
 * crashcheck.h - what the parts of crashcheck share: a recorded workload
 * (its oracle, positions and write log), the crash-state view of a disk,
 * the window of what one state promises, the options and the report.
 *
 * Layer: tests (tests/crash).  crashcheck.c is the driver (options,
 * workers, the summary); crashcheck_load.c reads a workload directory;
 * crashcheck_states.c builds the crash states and checks each one (fsck,
 * a replaying mount); crashcheck_oracle.c reads the recovered tree through
 * the core and judges it against the oracle.  They call the core API
 * (twinfs.h), the user-space environment (tw_user.h), the fsck library
 * (tools/fsck.h) and the C library.
 */
#ifndef CRASHCHECK_H
#define CRASHCHECK_H

#include "tw_user.h"
#include "twinfs.h"

#include <stddef.h>
#include <stdio.h>

#define BS 4096u
#define WLOG_HDR 32u
#define WLOG_REC 16u

/* ---- small helpers, the data pattern (crashcheck_load.c) ---- */

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
void *xmalloc(size_t n);
char *xstrdup(const char *s);
double now_s(void);
u64 mix64(u64 x);
void pat_init(void);
/* bytes [off, off + len) of pattern @seed (crashlib.py: pat()) */
void pat_fill(u64 seed, u64 off, u8 *out, size_t len);

/* ---- a workload: base image, write log, oracle, positions ---- */
struct ext {
	u64 off, len, seed;
};

struct xat {
	char *name;
	u64 len, seed;
	u8 *val; /* a value that is no pattern (an ACL), else NULL */
};

struct ent {
	char type; /* 'f', 'd', 'l', 'c' (a character device) */
	int obj;
	u32 mode;
	char *path;
	u64 size;
	int next;
	struct ext *ext;
	char *target;
	u32 rdev; /* 'c' */
	int nx;
	struct xat *x;
};

/*
 * The tree after an op: e[0..n) its names, sorted by path; then
 * e[n..n+nhid) the files held open without a name (path ":H"), which are
 * no part of the tree but whose data versions count once a linkat() of
 * an O_TMPFILE file names them.
 */
struct tree {
	int n, nhid;
	struct ent *e;
};

enum { D_NONE, D_FSYNC, D_FDATASYNC, D_SYNC, D_UMOUNT };

struct op {
	char *text;
	int obj; /* file whose data it changes, -1 */
	int ext; /* it extends that file */
	int dur; /* D_* */
	int durobj;
	u64 start, end; /* log offsets */
};

struct rec {
	u32 type;
	u64 blk;
	const u8 *data;
	u64 end; /* log offset after the record */
};

enum { HOME_CORE, HOME_FUSE, HOME_KERNEL };
extern const char *const home_names[];

struct wl {
	char *dir;
	char *name;
	int home;
	/* oracle */
	int nops;
	struct op *ops; /* 1..nops */
	struct tree *st; /* 0..nops */
	int nobj;
	struct ent ***vers; /* [op][obj]: the object's entry after op */
	/* recording */
	u8 *base;
	u64 blocks;
	u8 *log;
	size_t loglen;
	struct rec *recs;
	u64 nrecs;
};

struct wl *load_workload(const char *dir);
void wl_load(struct wl *w);
void wl_unload(struct wl *w);

/* ---- options (crashcheck.c) ---- */

struct options {
	int jobs;
	u64 seed;
	u32 drops; /* single-write drops per epoch */
	u32 rand; /* random subsets per epoch */
	bool post_fsck;
	bool verbose;
	bool quiet;
	int max_fail;
	int home; /* -1: from the workload */
	unsigned int timeout;
	const char *only_state;
};

extern struct options opt;

/* ---- a problem report, one per failed state (crashcheck_states.c) ---- */

extern char report[16384];
extern size_t report_len;
__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...);

/* ---- the state image: base + log records + what a mount wrote ---- */

struct view {
	u64 blocks;
	const u8 **img; /* the prefix image being walked */
	const u8 **sub; /* reordering overlay */
	u32 *sub_gen;
	u8 **own; /* writes made while checking */
	u32 *own_gen;
	u32 gen;
};

struct view *view_new(struct wl *w);
void view_free(struct view *v);
const u8 *view_get(struct view *v, u64 b);
void view_next(struct view *v);

/* ---- the crash states (crashcheck_states.c) ---- */

struct state {
	char id[64];
	int kind; /* 'P' or 'R' */
	bool flush; /* P: ends with a flush */
	u64 p_dur, p_hi;
	/* R: the subset of records [a, b) */
	u64 a, b;
	u8 *in;
};

/* Called for every state, in order; the view shows the prefix image, and
 * for an 'R' state st->in says which records of [a, b) are applied. */
typedef void (*visit_fn)(void *ctx, struct wl *w, struct view *v,
			 struct state *st);

void apply_subset(struct wl *w, struct view *v, struct state *st);
void enumerate(struct wl *w, struct view *v, visit_fn fn, void *ctx);

/* What one state promises. */
struct window {
	int k_meta; /* metadata: the tree after some op in [k_meta, k_hi] */
	int k_hi;
	u64 p_dur, p_hi;
};

/* crashcheck_oracle.c */
void window_of(const struct wl *w, u64 p_dur, u64 p_hi, struct window *win);
int check_oracle(const struct wl *w, struct tw_fs *fs,
		 const struct window *win);

/* crashcheck_states.c: fsck, replaying mount and oracle; 0 if it passes,
 * else the problems are in report[] */
int check_state(struct wl *w, struct view *v, const struct window *win);

#endif /* CRASHCHECK_H */
