// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck.c - every crash state of recorded workloads, checked.
 *
 * Layer: tests (tests/crash).  Calls the core API (twinfs.h), the
 * user-space environment (tw_user.h: block devices over a backend of our
 * own), the fsck library (tools/fsck.h) and the C library.
 *
 *   crashcheck [options] WORKLOAD_DIR...
 *
 * A workload directory holds what a recording left (tests/crash/README in
 * docs/crash.md): base.img (the image when recording began), log.twwlog
 * (every block write and flush, tw_user.h's write-log format), oracle.txt
 * (the tree after every operation and the durability points, written by
 * crashlib.py), pos.txt (where each operation began and ended in the log)
 * and home (core, fuse or kernel: which home made the recording).
 *
 * The crash states, in the spirit of CrashMonkey and xfstests' log-writes
 * replay, all built in memory without copying images:
 *   P<n>    every prefix: the first n records on disk (n = 0 .. all).  A
 *           prefix that ends with a flush is a flush-boundary state; the
 *           image is that of the write before, but more is promised.
 *   R<a>-d<i>, R<a>-r<k>
 *           reorderings inside an epoch (the writes between two flushes,
 *           from record a on, may reach the disk in any order): the epoch
 *           without its write i, and k seeded random subsets of it.
 * Each state is checked three ways:
 *   1. fsck -n on the crash image (the core replays the journal in
 *      memory) must exit 0;
 *   2. the core mounts it read-write (journal replay, orphan recovery) and
 *      the tree it shows must satisfy the oracle (below); it unmounts;
 *   3. fsck -n on the recovered image must exit 0.
 *
 * The oracle.  Let p be the log position of the crash (the end of the last
 * record on disk) and d the position up to which everything is surely on
 * disk (p, or the flush that opened the epoch of a reordering).  Among the
 * workload's operations, those that began before p may have reached the
 * disk; of the durability points that returned before d:
 *   - metadata: the tree (names, types, modes, symlink targets, xattrs,
 *     which names share an inode) must be exactly the tree after some
 *     operation k, from the last durability point to the last operation
 *     begun.  twinfs promises this: one running transaction holds every
 *     change, and fsync commits it (docs/architecture.md);
 *   - data: a file's size must be one of its sizes in that window (or,
 *     for a write that extended it, in between: a crash may keep part of
 *     a write); each 4 KiB block of it must equal that block in one of the
 *     file's versions in the window, counting from its last fsync,
 *     fdatasync or sync (data are not journaled; a block may be old or new
 *     but never garbage).  A file fsync'd and not touched since must be
 *     exactly as it was.
 * What counts as durable depends on the home: in the FUSE daemon sync(2)
 * does not reach the daemon (the kernel sends no SYNCFS to /dev/fuse
 * servers), so there only fsync, fdatasync and unmount count.
 *
 * A failure names the state and the command that rebuilds its image:
 *   crashcheck --image ID OUT.img DIR     (then fsck.twinfs -n OUT.img)
 */
#include "tw_user.h"
#include "twinfs.h"
#include "fsck.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BS 4096u
#define WLOG_HDR 32u
#define WLOG_REC 16u

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

static __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt,
								...)
{
	va_list ap;

	fprintf(stderr, "crashcheck: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static u64 get_le64(const u8 *p)
{
	u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static u32 get_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

/* splitmix64, for the seeded reorderings */
static u64 mix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* ------------------------------------------------------------------------ */
/* The data pattern (crashlib.py: pat())                                    */
/* ------------------------------------------------------------------------ */

#define PAT_PRIME 65521u

static u8 pat_table[2 * PAT_PRIME];

static void pat_init(void)
{
	u32 x = 0x2545F491u;
	u32 i;

	for (i = 0; i < PAT_PRIME; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pat_table[i] = (u8)(x >> 11);
	}
	memcpy(pat_table + PAT_PRIME, pat_table, PAT_PRIME);
}

/* bytes [off, off + len) of pattern @seed */
static void pat_fill(u64 seed, u64 off, u8 *out, size_t len)
{
	u8 k = (u8)seed;

	while (len) {
		u64 start = (off + seed * 7919u) % PAT_PRIME;
		size_t n = len < PAT_PRIME ? len : PAT_PRIME, i;

		for (i = 0; i < n; i++)
			out[i] = pat_table[start + i] ^ k;
		out += n;
		off += n;
		len -= n;
	}
}

/* ------------------------------------------------------------------------ */
/* A workload: base image, write log, oracle, positions                     */
/* ------------------------------------------------------------------------ */

struct ext {
	u64 off, len, seed;
};

struct xat {
	char *name;
	u64 len, seed;
};

struct ent {
	char type; /* 'f', 'd', 'l' */
	int obj;
	u32 mode;
	char *path;
	u64 size;
	int next;
	struct ext *ext;
	char *target;
	int nx;
	struct xat *x;
};

struct tree {
	int n;
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
static const char *const home_names[] = { "core", "fuse", "kernel" };

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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET))
		die("%s: cannot size", path);
	buf = xmalloc((size_t)n + 1);
	if (n && fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: short read", path);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Split @line into at most @max fields at single spaces (in place). */
static int split(char *line, char **f, int max)
{
	int n = 0;

	while (*line && n < max) {
		while (*line == ' ')
			line++;
		if (!*line)
			break;
		f[n++] = line;
		while (*line && *line != ' ')
			line++;
		if (*line)
			*line++ = 0;
	}
	return n;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void parse_ent(struct wl *w, struct ent *e, char *line)
{
	char *f[9], *p, *q;
	int n = split(line, f, 9), i;

	if (n != 8 || strlen(f[0]) != 1)
		die("%s: bad oracle entry", w->dir);
	e->type = f[0][0];
	e->obj = atoi(f[1]);
	e->mode = (u32)strtoul(f[2], NULL, 8);
	e->path = xstrdup(f[3]);
	e->size = strtoull(f[4], NULL, 10);
	if (e->obj < 0)
		die("%s: bad object id", w->dir);
	if (e->obj >= w->nobj)
		w->nobj = e->obj + 1;
	if (strcmp(f[5], "-")) {
		e->next = count_char(f[5], ',') + 1;
		e->ext = xmalloc(sizeof(*e->ext) * e->next);
		for (p = f[5], i = 0; i < e->next; i++) {
			e->ext[i].off = strtoull(p, &q, 10);
			e->ext[i].len = strtoull(q + 1, &q, 10);
			e->ext[i].seed = strtoull(q + 1, &q, 10);
			p = q + 1;
		}
	}
	if (strcmp(f[6], "-"))
		e->target = xstrdup(f[6]);
	if (strcmp(f[7], "-")) {
		e->nx = count_char(f[7], ',') + 1;
		e->x = xmalloc(sizeof(*e->x) * e->nx);
		for (p = f[7], i = 0; i < e->nx; i++) {
			q = strchr(p, '=');
			if (!q)
				die("%s: bad xattr", w->dir);
			*q = 0;
			e->x[i].name = xstrdup(p);
			e->x[i].len = strtoull(q + 1, &q, 10);
			e->x[i].seed = strtoull(q + 1, &q, 10);
			p = q + 1;
		}
	}
}

static void load_oracle(struct wl *w)
{
	char path[4096], *buf, *line, *next, *f[8];
	int n, cur = -1, filled = 0, j, k;

	snprintf(path, sizeof(path), "%s/oracle.txt", w->dir);
	buf = slurp(path, NULL);
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!*line)
			continue;
		if (cur >= 0 && filled < w->st[cur].n) {
			parse_ent(w, &w->st[cur].e[filled++], line);
			continue;
		}
		n = split(line, f, 6);
		if (!strcmp(f[0], "twinfs-crash-oracle")) {
			if (n < 2 || strcmp(f[1], "1"))
				die("%s: oracle version", path);
		} else if (!strcmp(f[0], "workload") && n == 2) {
			w->name = xstrdup(f[1]);
		} else if (!strcmp(f[0], "nops") && n == 2) {
			w->nops = atoi(f[1]);
			w->ops = xmalloc(sizeof(*w->ops) * (w->nops + 1));
			w->st = xmalloc(sizeof(*w->st) * (w->nops + 1));
		} else if (!strcmp(f[0], "op") && n == 6 && w->ops) {
			j = atoi(f[1]);
			if (j < 1 || j > w->nops)
				die("%s: op index", path);
			w->ops[j].obj = atoi(f[3]);
			w->ops[j].ext = atoi(f[4]);
			w->ops[j].text = xstrdup(f[5]);
		} else if (!strcmp(f[0], "dur") && n == 4 && w->ops) {
			j = atoi(f[1]);
			if (j < 1 || j > w->nops)
				die("%s: dur index", path);
			w->ops[j].dur = !strcmp(f[2], "fsync") ? D_FSYNC :
					!strcmp(f[2], "fdatasync") ?
								 D_FDATASYNC :
					!strcmp(f[2], "sync")	? D_SYNC :
					!strcmp(f[2], "umount") ? D_UMOUNT :
								  D_NONE;
			w->ops[j].durobj = atoi(f[3]);
		} else if (!strcmp(f[0], "state") && n == 3 && w->st) {
			cur = atoi(f[1]);
			if (cur < 0 || cur > w->nops)
				die("%s: state index", path);
			w->st[cur].n = atoi(f[2]);
			w->st[cur].e = xmalloc(sizeof(struct ent) *
					       (w->st[cur].n + 1));
			filled = 0;
		} else {
			die("%s: cannot parse '%s'", path, f[0]);
		}
	}
	free(buf);
	if (!w->ops || !w->name)
		die("%s: incomplete oracle", path);
	for (j = 1; j <= w->nops; j++)
		if (!w->ops[j].text)
			die("%s: op %d missing", path, j);
	w->vers = xmalloc(sizeof(*w->vers) * (w->nops + 1));
	for (j = 0; j <= w->nops; j++) {
		w->vers[j] = xmalloc(sizeof(struct ent *) * (w->nobj + 1));
		for (k = w->st[j].n - 1; k >= 0; k--)
			w->vers[j][w->st[j].e[k].obj] = &w->st[j].e[k];
	}
}

static void load_pos(struct wl *w)
{
	char path[4096], *buf, *line, *next, *f[5];
	int j, seen = 0;

	snprintf(path, sizeof(path), "%s/pos.txt", w->dir);
	buf = slurp(path, NULL);
	for (line = buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!*line)
			continue;
		if (split(line, f, 5) == 4 && !strcmp(f[0], "p")) {
			j = atoi(f[1]);
			if (j < 1 || j > w->nops)
				die("%s: op index %d", path, j);
			w->ops[j].start = strtoull(f[2], NULL, 10);
			w->ops[j].end = strtoull(f[3], NULL, 10);
			seen++;
		}
	}
	free(buf);
	if (seen != w->nops)
		die("%s: %d positions for %d operations", path, seen, w->nops);
	for (j = 1; j <= w->nops; j++)
		if (w->ops[j].end < w->ops[j].start ||
		    (j > 1 && w->ops[j].start < w->ops[j - 1].end))
			die("%s: positions of op %d out of order", path, j);
}

static void load_log(struct wl *w)
{
	char path[4096];
	struct stat st;
	size_t off, cap = 1024;
	int fd;

	snprintf(path, sizeof(path), "%s/log.twwlog", w->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	w->loglen = (size_t)st.st_size;
	if (w->loglen < WLOG_HDR)
		die("%s: not a write log", path);
	w->log = mmap(NULL, w->loglen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (w->log == MAP_FAILED)
		die("%s: mmap: %s", path, strerror(errno));
	if (memcmp(w->log, "TWWLOG01", 8) || get_le32(w->log + 8) != 1 ||
	    get_le32(w->log + 12) != BS)
		die("%s: not a version 1 write log of 4 KiB blocks", path);
	if (get_le64(w->log + 16) != w->blocks)
		die("%s: %llu blocks, the base image has %llu", path,
		    (unsigned long long)get_le64(w->log + 16),
		    (unsigned long long)w->blocks);
	w->recs = xmalloc(sizeof(*w->recs) * cap);
	for (off = WLOG_HDR; off < w->loglen;) {
		struct rec *r;

		if (w->nrecs == cap) {
			cap *= 2;
			w->recs = realloc(w->recs, sizeof(*w->recs) * cap);
			if (!w->recs)
				die("out of memory");
		}
		r = &w->recs[w->nrecs++];
		if (off + WLOG_REC > w->loglen)
			die("%s: truncated record at %zu", path, off);
		r->type = get_le32(w->log + off);
		r->blk = get_le64(w->log + off + 8);
		off += WLOG_REC;
		if (r->type == TW_WLOG_WRITE) {
			if (off + BS > w->loglen || r->blk >= w->blocks)
				die("%s: bad write record at %zu", path, off);
			r->data = w->log + off;
			off += BS;
		} else if (r->type != TW_WLOG_FLUSH) {
			die("%s: bad record type %u at %zu", path, r->type,
			    off);
		}
		r->end = off;
	}
}

/* What the parent keeps of a workload: its name and home. */
static struct wl *load_workload(const char *dir)
{
	struct wl *w = xmalloc(sizeof(*w));
	const char *slash;
	char path[4096], *home;
	int i;

	w->dir = xstrdup(dir);
	while (strlen(w->dir) > 1 && w->dir[strlen(w->dir) - 1] == '/')
		w->dir[strlen(w->dir) - 1] = 0;
	slash = strrchr(w->dir, '/');
	w->name = xstrdup(slash ? slash + 1 : w->dir);
	snprintf(path, sizeof(path), "%s/home", dir);
	w->home = HOME_CORE;
	if (access(path, F_OK) == 0) {
		home = slurp(path, NULL);
		home[strcspn(home, "\n")] = 0;
		for (i = 0; i < 3; i++)
			if (!strcmp(home, home_names[i]))
				w->home = i;
		free(home);
	}
	return w;
}

/* The rest, for checking it: images, log, oracle (wl_unload() frees). */
static void wl_load(struct wl *w)
{
	char path[4096];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/base.img", w->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	if (!st.st_size || st.st_size % BS)
		die("%s: not whole blocks", path);
	w->blocks = (u64)st.st_size / BS;
	/* shared by every worker through the page cache */
	w->base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (w->base == MAP_FAILED)
		die("%s: mmap: %s", path, strerror(errno));
	free(w->name);
	w->name = NULL;
	load_oracle(w);
	load_pos(w);
	load_log(w);
}

static void free_ent(struct ent *e)
{
	int i;

	free(e->path);
	free(e->ext);
	free(e->target);
	for (i = 0; i < e->nx; i++)
		free(e->x[i].name);
	free(e->x);
}

static void wl_unload(struct wl *w)
{
	int j, k;

	for (j = 0; j <= w->nops; j++) {
		for (k = 0; k < w->st[j].n; k++)
			free_ent(&w->st[j].e[k]);
		free(w->st[j].e);
		free(w->vers[j]);
	}
	for (j = 1; j <= w->nops; j++)
		free(w->ops[j].text);
	free(w->st);
	free(w->vers);
	free(w->ops);
	free(w->recs);
	munmap(w->log, w->loglen);
	munmap(w->base, w->blocks * BS);
	w->st = NULL;
	w->vers = NULL;
	w->ops = NULL;
	w->recs = NULL;
	w->log = NULL;
	w->base = NULL;
	w->nops = 0;
	w->nrecs = 0;
	w->nobj = 0;
}

/* ------------------------------------------------------------------------ */
/* Options and results                                                      */
/* ------------------------------------------------------------------------ */

static struct {
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
} opt = { .seed = 1,
	  .drops = 24,
	  .rand = 8,
	  .post_fsck = true,
	  .max_fail = 5,
	  .home = -1,
	  .timeout = 30 };

struct wstats {
	u64 states, prefix, flush, reorder, fails;
	double secs;
};

/* Output of a worker: text lines to the parent. */
static FILE *out;

/* ------------------------------------------------------------------------ */
/* The state image: base + log records + what a mount wrote                 */
/* ------------------------------------------------------------------------ */

struct view {
	u64 blocks;
	const u8 **img; /* the prefix image being walked */
	const u8 **sub; /* reordering overlay */
	u32 *sub_gen;
	u8 **own; /* writes made while checking */
	u32 *own_gen;
	u32 gen;
};

static struct view *view_new(struct wl *w)
{
	struct view *v = xmalloc(sizeof(*v));
	u64 b;

	v->blocks = w->blocks;
	v->img = xmalloc(sizeof(*v->img) * w->blocks);
	v->sub = xmalloc(sizeof(*v->sub) * w->blocks);
	v->sub_gen = xmalloc(sizeof(*v->sub_gen) * w->blocks);
	v->own = xmalloc(sizeof(*v->own) * w->blocks);
	v->own_gen = xmalloc(sizeof(*v->own_gen) * w->blocks);
	for (b = 0; b < w->blocks; b++)
		v->img[b] = w->base + b * BS;
	v->gen = 1;
	return v;
}

static void view_free(struct view *v)
{
	u64 b;

	for (b = 0; b < v->blocks; b++)
		free(v->own[b]);
	free(v->img);
	free(v->sub);
	free(v->sub_gen);
	free(v->own);
	free(v->own_gen);
	free(v);
}

static const u8 *view_get(struct view *v, u64 b)
{
	if (v->own_gen[b] == v->gen)
		return v->own[b];
	if (v->sub_gen[b] == v->gen)
		return v->sub[b];
	return v->img[b];
}

/* A new state: forget the overlays. */
static void view_next(struct view *v)
{
	v->gen++;
	if (!v->gen) {
		memset(v->sub_gen, 0, sizeof(*v->sub_gen) * v->blocks);
		memset(v->own_gen, 0, sizeof(*v->own_gen) * v->blocks);
		v->gen = 1;
	}
}

struct vbe {
	struct tw_backend be;
	struct view *v;
};

static int vbe_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	struct view *v = ((struct vbe *)be)->v;
	u32 i;

	for (i = 0; i < n; i++)
		memcpy((u8 *)buf + (size_t)i * BS, view_get(v, blk + i), BS);
	return 0;
}

static int vbe_write(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs)
{
	struct view *v = ((struct vbe *)be)->v;
	u32 i;

	for (i = 0; i < n; i++) {
		u64 b = blk + i;

		if (!v->own[b])
			v->own[b] = xmalloc(BS);
		memcpy(v->own[b], bufs[i], BS);
		v->own_gen[b] = v->gen;
	}
	return 0;
}

static int vbe_flush(struct tw_backend *be)
{
	return 0;
}

static void vbe_destroy(struct tw_backend *be)
{
	free(be);
}

static const struct tw_backend_ops vbe_ops = {
	.read = vbe_read,
	.write = vbe_write,
	.flush = vbe_flush,
	.destroy = vbe_destroy,
};

static struct tw_dev *view_dev(struct view *v)
{
	struct vbe *b = xmalloc(sizeof(*b));
	struct tw_dev *dev;

	b->be.ops = &vbe_ops;
	b->be.blocks = v->blocks;
	snprintf(b->be.name, sizeof(b->be.name), "crash-state");
	b->v = v;
	dev = tw_udev_from_backend(&b->be);
	if (!dev)
		die("out of memory");
	return dev;
}

/* ------------------------------------------------------------------------ */
/* Messages of the core, kept for the report                                */
/* ------------------------------------------------------------------------ */

static char corelog[8192];
static size_t corelog_len;

static void log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	int n;

	if (corelog_len >= sizeof(corelog) - 1)
		return;
	n = snprintf(corelog + corelog_len, sizeof(corelog) - corelog_len,
		     "    core: %s\n", msg);
	if (n > 0)
		corelog_len += (size_t)n;
	if (corelog_len >= sizeof(corelog))
		corelog_len = sizeof(corelog) - 1;
}

static void corelog_reset(void)
{
	corelog_len = 0;
	corelog[0] = 0;
	tw_log_set_hook(log_hook, NULL);
}

/* ------------------------------------------------------------------------ */
/* A problem report (one per failed state)                                  */
/* ------------------------------------------------------------------------ */

static char report[16384];
static size_t report_len;

static __attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (report_len >= sizeof(report) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(report + report_len, sizeof(report) - report_len, fmt,
		      ap);
	va_end(ap);
	if (n > 0)
		report_len += (size_t)n;
	if (report_len >= sizeof(report))
		report_len = sizeof(report) - 1;
}

/* ------------------------------------------------------------------------ */
/* The recovered tree, read through the core                                */
/* ------------------------------------------------------------------------ */

#define MAX_TREE 4096
#define MAX_FILE (8u << 20)

struct rxat {
	char name[256];
	u8 *val;
	size_t len;
};

struct rent {
	char *path;
	u64 ino;
	struct tw_attr a;
	char *target;
	int nx;
	struct rxat *x;
	u8 *data; /* files: the contents, a.size bytes */
};

struct rtree {
	int n;
	struct rent e[MAX_TREE];
};

static struct rtree rt;

static void rtree_clear(void)
{
	int i, j;

	for (i = 0; i < rt.n; i++) {
		free(rt.e[i].path);
		free(rt.e[i].target);
		for (j = 0; j < rt.e[i].nx; j++)
			free(rt.e[i].x[j].val);
		free(rt.e[i].x);
		free(rt.e[i].data);
	}
	rt.n = 0;
}

struct names {
	int n, cap;
	char **name;
	u64 *ino;
};

static int names_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		    u64 next)
{
	struct names *nm = ctx;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (nm->n == nm->cap) {
		nm->cap = nm->cap ? 2 * nm->cap : 16;
		nm->name = realloc(nm->name, sizeof(char *) * nm->cap);
		nm->ino = realloc(nm->ino, sizeof(u64) * nm->cap);
		if (!nm->name || !nm->ino)
			die("out of memory");
	}
	nm->name[nm->n] = xmalloc(len + 1);
	memcpy(nm->name[nm->n], name, len);
	nm->ino[nm->n++] = ino;
	return 0;
}

static int read_xattrs(struct tw_fs *fs, struct rent *e)
{
	char list[8192], *p;
	ssize_t n = tw_listxattr(fs, e->ino, list, sizeof(list));
	int k = 0;

	if (n < 0)
		return (int)n;
	for (p = list; p < list + n; p += strlen(p) + 1)
		k++;
	e->x = xmalloc(sizeof(*e->x) * (k + 1));
	for (p = list; p < list + n; p += strlen(p) + 1) {
		struct rxat *x = &e->x[e->nx];
		ssize_t len;

		snprintf(x->name, sizeof(x->name), "%.255s", p);
		len = tw_getxattr(fs, e->ino, p, NULL, 0);
		if (len < 0)
			return (int)len;
		x->val = xmalloc((size_t)len + 1);
		len = tw_getxattr(fs, e->ino, p, x->val, (size_t)len);
		if (len < 0)
			return (int)len;
		x->len = (size_t)len;
		e->nx++;
	}
	return 0;
}

static int walk(struct tw_fs *fs, u64 dir, const char *prefix, int depth)
{
	struct names nm = { 0 };
	int i, err;

	if (depth > 32) {
		say("  directory tree deeper than 32 levels (a loop?)\n");
		return -ELOOP;
	}
	err = tw_readdir(fs, dir, 0, names_fn, &nm);
	for (i = 0; !err && i < nm.n; i++) {
		struct rent *e;
		char path[4096];

		if (rt.n == MAX_TREE) {
			say("  more than %d names\n", MAX_TREE);
			err = -E2BIG;
			break;
		}
		snprintf(path, sizeof(path), "%s%s", prefix, nm.name[i]);
		e = &rt.e[rt.n++];
		memset(e, 0, sizeof(*e));
		e->path = xstrdup(path);
		e->ino = nm.ino[i];
		err = tw_getattr(fs, e->ino, &e->a);
		if (err) {
			say("  %s: getattr: %d\n", path, err);
			break;
		}
		if (TW_S_ISLNK(e->a.mode)) {
			char t[4096];
			ssize_t n = tw_readlink(fs, e->ino, t, sizeof(t) - 1);

			if (n < 0) {
				say("  %s: readlink: %zd\n", path, n);
				err = (int)n;
				break;
			}
			t[n] = 0;
			e->target = xstrdup(t);
			continue;
		}
		err = read_xattrs(fs, e);
		if (err) {
			say("  %s: xattrs: %d\n", path, err);
			break;
		}
		if (TW_S_ISREG(e->a.mode)) {
			ssize_t n;

			if (e->a.size > MAX_FILE) {
				say("  %s: size %llu (more than any workload writes)\n",
				    path, (unsigned long long)e->a.size);
				err = -EFBIG;
				break;
			}
			e->data = xmalloc(e->a.size + 1);
			n = tw_read(fs, e->ino, 0, e->data, e->a.size);
			if (n != (ssize_t)e->a.size) {
				say("  %s: read %zd of %llu bytes\n", path, n,
				    (unsigned long long)e->a.size);
				err = n < 0 ? (int)n : -EIO;
				break;
			}
		} else if (TW_S_ISDIR(e->a.mode)) {
			strcat(path, "/");
			err = walk(fs, e->ino, path, depth + 1);
		}
	}
	for (i = 0; i < nm.n; i++)
		free(nm.name[i]);
	free(nm.name);
	free(nm.ino);
	return err;
}

static int rent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rent *)a)->path,
		      ((const struct rent *)b)->path);
}

/* ------------------------------------------------------------------------ */
/* The oracle                                                               */
/* ------------------------------------------------------------------------ */

/* Bytes [off, off + len) of a file version (zeros past its extents). */
static void version_fill(const struct ent *e, u64 off, u8 *buf, size_t len)
{
	int i;

	memset(buf, 0, len);
	for (i = 0; i < e->next; i++) {
		const struct ext *x = &e->ext[i];
		u64 lo = x->off > off ? x->off : off;
		u64 hi = x->off + x->len < off + len ? x->off + x->len :
						       off + len;

		if (lo < hi && lo < e->size) {
			if (hi > e->size)
				hi = e->size;
			pat_fill(x->seed, lo, buf + (lo - off), hi - lo);
		}
	}
}

/* What one state promises. */
struct window {
	int k_meta; /* metadata: the tree after some op in [k_meta, k_hi] */
	int k_hi;
	u64 p_dur, p_hi;
};

static bool dur_covers_meta(const struct wl *w, const struct op *o)
{
	switch (o->dur) {
	case D_FSYNC:
	case D_FDATASYNC:
	case D_UMOUNT:
		return true;
	case D_SYNC:
		return w->home != HOME_FUSE;
	}
	return false;
}

static bool dur_covers_data(const struct wl *w, const struct op *o, int obj)
{
	switch (o->dur) {
	case D_FSYNC:
	case D_FDATASYNC:
		return o->durobj == obj;
	case D_UMOUNT:
		return true;
	case D_SYNC:
		return w->home != HOME_FUSE;
	}
	return false;
}

static void window_of(const struct wl *w, u64 p_dur, u64 p_hi,
		      struct window *win)
{
	int j;

	win->p_dur = p_dur;
	win->p_hi = p_hi;
	win->k_meta = 0;
	win->k_hi = 0;
	for (j = 1; j <= w->nops; j++) {
		if (w->ops[j].start < p_hi)
			win->k_hi = j;
		if (w->ops[j].dur && w->ops[j].end <= p_dur &&
		    dur_covers_meta(w, &w->ops[j]))
			win->k_meta = j;
	}
	/* an op that returned had begun (even one that returned at once) */
	if (win->k_hi < win->k_meta)
		win->k_hi = win->k_meta;
}

/* The first op index from which @obj's data may come. */
static int data_lo(const struct wl *w, const struct window *win, int obj)
{
	int j;

	for (j = win->k_hi; j >= 1; j--)
		if (w->ops[j].dur && w->ops[j].end <= win->p_dur &&
		    dur_covers_data(w, &w->ops[j], obj))
			return j;
	return 0;
}

static const char *type_name(char t)
{
	return t == 'f' ? "file" : t == 'd' ? "directory" : "symlink";
}

static char rtype(const struct rent *r)
{
	return TW_S_ISDIR(r->a.mode) ? 'd' :
	       TW_S_ISLNK(r->a.mode) ? 'l' :
	       TW_S_ISREG(r->a.mode) ? 'f' :
				       '?';
}

/* Does the recovered tree have the namespace of @t?  Problems to say(). */
static int match_names(const struct wl *w, const struct tree *t, bool talk)
{
	static u64 map[65536];
	int i, j, bad = 0;

	if (t->n != rt.n) {
		if (!talk)
			return 1;
		bad++;
	}
	for (i = 0, j = 0; i < t->n || j < rt.n;) {
		const struct ent *e = i < t->n ? &t->e[i] : NULL;
		const struct rent *r = j < rt.n ? &rt.e[j] : NULL;
		int c = !e ? 1 : !r ? -1 : strcmp(e->path, r->path);

		if (c < 0) {
			if (talk)
				say("    missing %s %s\n", type_name(e->type),
				    e->path);
			bad++;
			i++;
			continue;
		}
		if (c > 0) {
			if (talk)
				say("    unexpected %s (mode 0%o, inode %llu)\n",
				    r->path, r->a.mode,
				    (unsigned long long)r->ino);
			bad++;
			j++;
			continue;
		}
		i++;
		j++;
		if (rtype(r) != e->type) {
			if (talk)
				say("    %s: a %s, want a %s\n", e->path,
				    rtype(r) == '?' ? "special file" :
						      type_name(rtype(r)),
				    type_name(e->type));
			bad++;
			continue;
		}
		if (e->type != 'l' && (r->a.mode & 07777) != e->mode) {
			if (talk)
				say("    %s: mode 0%o, want 0%o\n", e->path,
				    r->a.mode & 07777, e->mode);
			bad++;
		}
		if (e->type == 'l' && strcmp(r->target, e->target)) {
			if (talk)
				say("    %s: target '%.60s', want '%.60s'\n",
				    e->path, r->target, e->target);
			bad++;
		}
		if (e->type != 'l') {
			int xi, xj;
			bool xbad = r->nx != e->nx;

			for (xi = 0; !xbad && xi < e->nx; xi++) {
				const struct xat *x = &e->x[xi];
				const struct rxat *rx = NULL;
				u8 want[4096];

				for (xj = 0; xj < r->nx; xj++)
					if (!strcmp(r->x[xj].name, x->name))
						rx = &r->x[xj];
				if (!rx || rx->len != x->len ||
				    x->len > sizeof(want)) {
					xbad = true;
					break;
				}
				pat_fill(x->seed, 0, want, x->len);
				xbad = memcmp(want, rx->val, x->len) != 0;
			}
			if (xbad) {
				if (talk)
					say("    %s: xattrs differ (%d, want %d)\n",
					    e->path, r->nx, e->nx);
				bad++;
			}
		}
		/* which names share an inode */
		if (e->obj < (int)(sizeof(map) / sizeof(map[0]))) {
			int o;

			if (map[e->obj] && map[e->obj] != r->ino) {
				if (talk)
					say("    %s: inode %llu, but another name of the same file has inode %llu\n",
					    e->path, (unsigned long long)r->ino,
					    (unsigned long long)map[e->obj]);
				bad++;
			}
			map[e->obj] = r->ino;
			for (o = 0; o < w->nobj; o++) {
				if (o != e->obj && map[o] == r->ino) {
					if (talk)
						say("    %s: inode %llu is also another file's\n",
						    e->path,
						    (unsigned long long)r->ino);
					bad++;
				}
			}
		}
		if (!talk && bad)
			break;
	}
	for (i = 0; i < w->nobj && i < (int)(sizeof(map) / sizeof(map[0])); i++)
		map[i] = 0;
	return bad;
}

#define MAX_CAND 64
static u8 cand[MAX_CAND][BS];
static u64 mixed_blocks; /* blocks that matched byte by byte only */

/* The data of one file against its versions in the window. */
static int match_data(const struct wl *w, const struct window *win,
		      const struct ent *e, const struct rent *r, bool talk)
{
	int lo = data_lo(w, win, e->obj), j, bad = 0;
	bool size_ok = false;
	u64 b, nb;

	for (j = lo; j <= win->k_hi; j++) {
		const struct ent *v = w->vers[j][e->obj];
		const struct ent *pv = j > lo ? w->vers[j - 1][e->obj] : NULL;

		if (!v || v->type != 'f')
			continue;
		if (v->size == r->a.size)
			size_ok = true;
		if (w->ops[j].obj == e->obj && w->ops[j].ext && pv &&
		    pv->type == 'f' && pv->size < r->a.size &&
		    r->a.size < v->size)
			size_ok = true;
	}
	if (!size_ok) {
		if (talk) {
			say("    %s: size %llu; its sizes since op %d:",
			    e->path, (unsigned long long)r->a.size, lo);
			for (j = lo; j <= win->k_hi; j++) {
				const struct ent *v = w->vers[j][e->obj];

				if (v && v->type == 'f' &&
				    (j == lo || !w->vers[j - 1][e->obj] ||
				     w->vers[j - 1][e->obj]->size != v->size))
					say(" %llu (op %d)",
					    (unsigned long long)v->size, j);
			}
			say("\n");
		}
		return 1;
	}
	nb = (r->a.size + BS - 1) / BS;
	for (b = 0; b < nb; b++) {
		u64 off = b * BS;
		size_t len =
			r->a.size - off < BS ? (size_t)(r->a.size - off) : BS;
		bool ok = false;
		int ncand = 0;

		for (j = lo; j <= win->k_hi && !ok; j++) {
			const struct ent *v = w->vers[j][e->obj];

			if (!v || v->type != 'f')
				continue;
			if (j > lo && w->vers[j - 1][e->obj] &&
			    w->vers[j - 1][e->obj]->type == 'f' &&
			    w->vers[j - 1][e->obj]->next == v->next &&
			    w->vers[j - 1][e->obj]->size == v->size &&
			    (!v->next ||
			     !memcmp(w->vers[j - 1][e->obj]->ext, v->ext,
				     sizeof(*v->ext) * v->next)))
				continue; /* the same version again */
			version_fill(v, off, cand[ncand], len);
			ok = !memcmp(cand[ncand], r->data + off, len);
			if (ncand < MAX_CAND - 1)
				ncand++;
		}
		/*
		 * Not one version as a whole: data are not journaled, so a
		 * block may mix them (an overwrite reached the disk, the
		 * truncation before it did not: new bytes over the old
		 * tail).  Every byte must still be one of its versions'.
		 */
		if (!ok && ncand > 1) {
			size_t x;
			int c;

			ok = true;
			for (x = 0; x < len && ok; x++) {
				for (c = 0; c < ncand; c++)
					if (cand[c][x] == r->data[off + x])
						break;
				ok = c < ncand;
			}
			if (ok)
				mixed_blocks++;
		}
		if (!ok) {
			bad++;
			if (talk) {
				size_t z;

				for (z = 0; z < len && !r->data[off + z]; z++)
					;
				say("    %s: block %llu (bytes %llu..%llu): bytes that none of its versions since op %d has there%s\n",
				    e->path, (unsigned long long)b,
				    (unsigned long long)off,
				    (unsigned long long)(off + len - 1), lo,
				    z == len ? " (it is all zeros)" : "");
			}
			if (!talk || bad > 3)
				break;
		}
	}
	return bad;
}

static int match_tree(const struct wl *w, const struct window *win, int k,
		      bool talk)
{
	const struct tree *t = &w->st[k];
	int bad = match_names(w, t, talk), i, j;

	if (bad)
		return bad;
	for (i = 0, j = 0; i < t->n; i++) {
		const struct ent *e = &t->e[i];

		while (strcmp(rt.e[j].path, e->path))
			j++;
		if (e->type != 'f')
			continue;
		/* each file once (hard links share it) */
		if (w->vers[k][e->obj] != e)
			continue;
		bad += match_data(w, win, e, &rt.e[j], talk);
		if (bad && !talk)
			break;
	}
	return bad;
}

/* 0 if the mounted tree satisfies the oracle for @win; else says why. */
static int check_oracle(const struct wl *w, struct tw_fs *fs,
			const struct window *win)
{
	int k, err, best = -1, best_bad = 1 << 30;

	rtree_clear();
	err = walk(fs, TW_ROOT_INO, "", 0);
	if (err) {
		say("  reading the recovered tree failed (%d)\n", err);
		return 1;
	}
	qsort(rt.e, rt.n, sizeof(rt.e[0]), rent_cmp);
	for (k = win->k_hi; k >= win->k_meta; k--) {
		int names = match_names(w, &w->st[k], false);

		if (!names && !match_tree(w, win, k, false))
			return 0;
		if (names < best_bad) {
			best_bad = names;
			best = k;
		}
	}
	say("  oracle: the recovered tree is not the tree after any op in %d..%d\n",
	    win->k_meta, win->k_hi);
	if (win->k_meta > 0)
		say("    (op %d, %s, was durable at log offset %llu)\n",
		    win->k_meta, w->ops[win->k_meta].text,
		    (unsigned long long)w->ops[win->k_meta].end);
	if (best < 0)
		return 1;
	say("  closest: after op %d (%s):\n", best,
	    best ? w->ops[best].text : "the empty filesystem");
	match_tree(w, win, best, true);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Checking one state                                                       */
/* ------------------------------------------------------------------------ */

static char fsck_buf[65536];

static int run_fsck(struct view *v, const char *what)
{
	struct fsck_opts fo = { .mode = FSCK_MODE_NO, .quiet = true };
	struct fsck_result res;
	struct tw_dev *dev = view_dev(v);
	int code;

	memset(fsck_buf, 0, sizeof(fsck_buf));
	fo.out = fmemopen(fsck_buf, sizeof(fsck_buf) - 1, "w");
	if (!fo.out)
		die("fmemopen: %s", strerror(errno));
	code = fsck_run_dev(dev, what, &fo, &res);
	fclose(fo.out);
	tw_udev_close(dev);
	corelog_reset(); /* fsck put its own hook in and took it out */
	if (code) {
		char *line, *save = NULL;
		int n = 0;

		say("  fsck.twinfs -n on the %s exits %d (%u problems):\n",
		    what, code, res.found);
		for (line = strtok_r(fsck_buf, "\n", &save); line && n < 12;
		     line = strtok_r(NULL, "\n", &save), n++)
			say("    %s\n", line);
	}
	return code;
}

static int check_state(struct wl *w, struct view *v, const struct window *win)
{
	struct tw_fs *fs = NULL;
	struct tw_dev *dev;
	int bad = 0, err;

	report_len = 0;
	report[0] = 0;
	corelog_reset();
	if (run_fsck(v, "crash image"))
		bad++;
	dev = view_dev(v);
	err = tw_mount(dev, v->blocks, NULL, &fs);
	if (err) {
		say("  mount (journal replay) failed: %d\n", err);
		bad++;
	} else {
		if (check_oracle(w, fs, win))
			bad++;
		err = tw_unmount(fs);
		if (err) {
			say("  unmount failed: %d\n", err);
			bad++;
		}
	}
	tw_udev_close(dev);
	if (!err && opt.post_fsck && run_fsck(v, "recovered image"))
		bad++;
	if (bad && corelog_len)
		say("  messages of the core:\n%s", corelog);
	return bad;
}

/* ------------------------------------------------------------------------ */
/* Enumerating the states                                                   */
/* ------------------------------------------------------------------------ */

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

static u64 rec_end_before(struct wl *w, u64 n)
{
	return n ? w->recs[n - 1].end : WLOG_HDR;
}

static void apply_subset(struct wl *w, struct view *v, struct state *st)
{
	u64 q;

	for (q = st->a; q < st->b; q++) {
		if (!st->in[q - st->a])
			continue;
		v->sub[w->recs[q].blk] = w->recs[q].data;
		v->sub_gen[w->recs[q].blk] = v->gen;
	}
}

static void reorder_states(struct wl *w, struct view *v, u64 a, u64 b,
			   visit_fn fn, void *ctx)
{
	u64 n = b - a, i, k, last;
	struct state st = { .kind = 'R', .a = a, .b = b };
	u64 ndrops = n <= opt.drops ? n : opt.drops;

	st.in = xmalloc(n);
	st.p_dur = rec_end_before(w, a);
	/* one write of the epoch lost, all others written */
	for (k = 0; k < ndrops; k++) {
		u64 drop = n <= opt.drops ? k :
					    mix64(opt.seed ^ (a << 20) ^ k) % n;

		if (drop == n - 1)
			continue; /* that is the prefix of n - 1 */
		memset(st.in, 1, n);
		st.in[drop] = 0;
		st.p_hi = w->recs[b - 1].end;
		snprintf(st.id, sizeof(st.id), "R%llu-d%llu",
			 (unsigned long long)a, (unsigned long long)(a + drop));
		fn(ctx, w, v, &st);
	}
	/* seeded random subsets (not prefixes) */
	for (k = 0; k < opt.rand && n > 2; k++) {
		u64 r = mix64(opt.seed * 0x100000001b3ull ^ (a << 24) ^ k);
		bool prefix = true, gap = false;

		last = 0;
		for (i = 0; i < n; i++) {
			if (i % 64 == 0)
				r = mix64(r);
			st.in[i] = (r >> (i % 64)) & 1;
			if (st.in[i]) {
				last = i + 1;
				if (gap)
					prefix = false;
			} else {
				gap = true;
			}
		}
		if (prefix || !last)
			continue;
		st.p_hi = w->recs[a + last - 1].end;
		snprintf(st.id, sizeof(st.id), "R%llu-r%llu",
			 (unsigned long long)a, (unsigned long long)k);
		fn(ctx, w, v, &st);
	}
	free(st.in);
}

static void enumerate(struct wl *w, struct view *v, visit_fn fn, void *ctx)
{
	struct state st = { .kind = 'P' };
	u64 n, b;

	for (n = 0; n <= w->nrecs; n++) {
		st.flush = n > 0 && w->recs[n - 1].type == TW_WLOG_FLUSH;
		st.p_dur = st.p_hi = rec_end_before(w, n);
		snprintf(st.id, sizeof(st.id), "P%llu", (unsigned long long)n);
		fn(ctx, w, v, &st);
		if (n == w->nrecs)
			break;
		if (w->recs[n].type == TW_WLOG_WRITE &&
		    (n == 0 || w->recs[n - 1].type == TW_WLOG_FLUSH)) {
			for (b = n;
			     b < w->nrecs && w->recs[b].type == TW_WLOG_WRITE;
			     b++)
				;
			if (b - n >= 2)
				reorder_states(w, v, n, b, fn, ctx);
		}
		if (w->recs[n].type == TW_WLOG_WRITE)
			v->img[w->recs[n].blk] = w->recs[n].data;
	}
	/* leave the view at the base image for the next walk */
	for (b = 0; b < w->blocks; b++)
		v->img[b] = w->base + b * BS;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                  */
/* ------------------------------------------------------------------------ */

/* Shared with the parent: what each worker is checking, for a post mortem. */
struct progress {
	volatile u64 gidx; /* global state index + 1; 0: none */
	volatile int widx;
	char id[64];
};

static struct progress *progress;

struct wctx {
	int me, nworkers;
	u64 g; /* global state counter */
	u64 skip_below; /* states below were done by a dead predecessor */
	int widx;
	struct wstats *ws;
	u64 fails_reported;
};

static void visit_check(void *ctx, struct wl *w, struct view *v,
			struct state *st)
{
	struct wctx *c = ctx;
	struct window win;
	u64 g = c->g++;
	double t0;

	if (g % (u64)c->nworkers != (u64)c->me || g < c->skip_below)
		return;
	if (opt.only_state && strcmp(opt.only_state, st->id))
		return;
	progress[c->me].widx = c->widx;
	snprintf(progress[c->me].id, sizeof(progress[0].id), "%s", st->id);
	progress[c->me].gidx = g + 1;
	t0 = now_s();
	view_next(v);
	if (st->kind == 'R')
		apply_subset(w, v, st);
	window_of(w, st->p_dur, st->p_hi, &win);
	if (opt.timeout)
		alarm(opt.timeout);
	if (check_state(w, v, &win)) {
		c->ws->fails++;
		if (c->fails_reported++ < (u64)opt.max_fail || opt.verbose) {
			fprintf(out,
				"F %d FAIL %s state %s%s (log offsets: durable %llu, crash %llu; ops %d..%d)\n",
				c->widx, w->name, st->id,
				st->flush ? " (flush boundary)" : "",
				(unsigned long long)win.p_dur,
				(unsigned long long)win.p_hi, win.k_meta,
				win.k_hi);
			{
				char *line, *save = NULL;

				for (line = strtok_r(report, "\n", &save); line;
				     line = strtok_r(NULL, "\n", &save))
					fprintf(out, "F %d %s\n", c->widx,
						line);
			}
			fprintf(out,
				"F %d   rebuild: crashcheck --image %s %s.img %s\n",
				c->widx, st->id, st->id, w->dir);
		}
	} else if (opt.only_state) {
		fprintf(out, "F %d state %s ok (ops %d..%d)\n", c->widx, st->id,
			win.k_meta, win.k_hi);
	}
	if (opt.timeout)
		alarm(0);
	c->ws->states++;
	if (st->kind == 'P') {
		c->ws->prefix++;
		c->ws->flush += st->flush;
	} else {
		c->ws->reorder++;
	}
	c->ws->secs += now_s() - t0;
	progress[c->me].gidx = 0;
}

static void run_worker(struct wl **wls, int nwl, int me, int nworkers,
		       u64 skip_below)
{
	struct wctx c = { .me = me,
			  .nworkers = nworkers,
			  .skip_below = skip_below };
	int i;

	tw_log_set_level(TW_LOG_INFO);
	/* thousands of mounts: keep freed memory instead of returning it */
	mallopt(M_TRIM_THRESHOLD, 512 << 20);
	mallopt(M_TOP_PAD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	for (i = 0; i < nwl; i++) {
		struct wstats ws = { 0 };
		struct view *v;

		wl_load(wls[i]);
		v = view_new(wls[i]);
		c.widx = i;
		c.ws = &ws;
		c.fails_reported = 0;
		enumerate(wls[i], v, visit_check, &c);
		view_free(v);
		fprintf(out, "W %d %llu %llu %llu %llu %llu %.6f %d %llu\n", i,
			(unsigned long long)ws.states,
			(unsigned long long)ws.prefix,
			(unsigned long long)ws.flush,
			(unsigned long long)ws.reorder,
			(unsigned long long)ws.fails, ws.secs, wls[i]->nops,
			(unsigned long long)wls[i]->nrecs);
		fflush(out);
		wl_unload(wls[i]);
	}
}

/* ------------------------------------------------------------------------ */
/* Rebuilding one state's image                                             */
/* ------------------------------------------------------------------------ */

struct imgctx {
	const char *id, *path;
	bool done;
};

static void visit_image(void *ctx, struct wl *w, struct view *v,
			struct state *st)
{
	struct imgctx *c = ctx;
	FILE *f;
	u64 b;

	if (c->done || strcmp(st->id, c->id))
		return;
	view_next(v);
	if (st->kind == 'R')
		apply_subset(w, v, st);
	f = fopen(c->path, "wb");
	if (!f)
		die("%s: %s", c->path, strerror(errno));
	for (b = 0; b < w->blocks; b++)
		if (fwrite(view_get(v, b), BS, 1, f) != 1)
			die("%s: write failed", c->path);
	if (fclose(f))
		die("%s: %s", c->path, strerror(errno));
	c->done = true;
}

/* ------------------------------------------------------------------------ */
/* The driver                                                               */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crashcheck [options] WORKLOAD_DIR...\n"
		"       crashcheck --image STATE OUT.img WORKLOAD_DIR\n"
		"Check every crash state of recorded workloads (docs/crash.md).\n"
		"  -j N             worker processes (default: online CPUs)\n"
		"  --seed S         seed of the reorderings (default 1)\n"
		"  --drops N        single-write drops per epoch (default 24)\n"
		"  --random N       random subsets per epoch (default 8)\n"
		"  --home H         core|fuse|kernel: what counts as durable\n"
		"                   (default: the workload's home file)\n"
		"  --state ID       check only this state, and say so\n"
		"  --no-post-fsck   skip fsck -n of the recovered image\n"
		"  --max-fail N     failures reported per workload (default 5)\n"
		"  --json FILE      per-workload results as JSON\n"
		"  --timeout S      a state taking longer is a hang (default 30)\n"
		"  -v, -q           every failure / only the summary\n"
		"exit: 0 every state passed, 1 a state failed, 2 usage or input error\n");
}

struct worker {
	pid_t pid;
	int fd;
	char *buf;
	size_t len, cap;
	bool open;
};

static void drain(struct worker *wk)
{
	char tmp[65536];
	ssize_t n = read(wk->fd, tmp, sizeof(tmp));

	if (n <= 0) {
		close(wk->fd);
		wk->open = false;
		return;
	}
	if (wk->len + (size_t)n + 1 > wk->cap) {
		wk->cap = (wk->len + (size_t)n + 1) * 2;
		wk->buf = realloc(wk->buf, wk->cap);
		if (!wk->buf)
			die("out of memory");
	}
	memcpy(wk->buf + wk->len, tmp, (size_t)n);
	wk->len += (size_t)n;
	wk->buf[wk->len] = 0;
}

static void start_worker(struct worker *wk, struct wl **wls, int nwl, int me,
			 int nworkers, u64 skip_below)
{
	int p[2];

	if (pipe(p))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	wk->pid = fork();
	if (wk->pid < 0)
		die("fork: %s", strerror(errno));
	if (wk->pid == 0) {
		close(p[0]);
		out = fdopen(p[1], "w");
		if (!out)
			_exit(3);
		run_worker(wls, nwl, me, nworkers, skip_below);
		fclose(out);
		_exit(0);
	}
	close(p[1]);
	wk->fd = p[0];
	wk->open = true;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "drops", required_argument, NULL, 'D' },
		{ "random", required_argument, NULL, 'R' },
		{ "home", required_argument, NULL, 'H' },
		{ "state", required_argument, NULL, 'S' },
		{ "image", required_argument, NULL, 'I' },
		{ "no-post-fsck", no_argument, NULL, 'N' },
		{ "max-fail", required_argument, NULL, 'm' },
		{ "json", required_argument, NULL, 'J' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json = NULL, *image_id = NULL;
	struct wstats *tot, all = { 0 };
	struct worker *wk;
	struct wl **wls;
	int c, i, nwl, nw, live, status, bad_workers = 0;
	double t0, cpu = 0;

	opt.jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (opt.jobs < 1)
		opt.jobs = 1;
	while ((c = getopt_long(argc, argv, "j:vqh", lopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opt.jobs = atoi(optarg);
			if (opt.jobs < 1 || opt.jobs > 256)
				die("bad -j");
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'D':
			opt.drops = (u32)atoi(optarg);
			break;
		case 'R':
			opt.rand = (u32)atoi(optarg);
			break;
		case 'H':
			for (opt.home = 0; opt.home < 3; opt.home++)
				if (!strcmp(optarg, home_names[opt.home]))
					break;
			if (opt.home == 3)
				die("bad --home");
			break;
		case 'S':
			opt.only_state = optarg;
			opt.verbose = true;
			break;
		case 'I':
			image_id = optarg;
			break;
		case 'N':
			opt.post_fsck = false;
			break;
		case 'm':
			opt.max_fail = atoi(optarg);
			break;
		case 'J':
			json = optarg;
			break;
		case 'T':
			opt.timeout = (unsigned int)atoi(optarg);
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	pat_init();
	if (image_id) {
		struct imgctx ic = { .id = image_id };
		struct view *v;
		struct wl *w;

		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		ic.path = argv[optind];
		w = load_workload(argv[optind + 1]);
		wl_load(w);
		v = view_new(w);
		enumerate(w, v, visit_image, &ic);
		if (!ic.done)
			die("%s: no state %s (with these --seed/--drops/--random)",
			    w->dir, image_id);
		printf("%s: state %s of %s (%llu blocks)\n", ic.path, image_id,
		       w->name, (unsigned long long)w->blocks);
		return 0;
	}
	nwl = argc - optind;
	if (nwl < 1) {
		usage(stderr);
		return 2;
	}
	wls = xmalloc(sizeof(*wls) * nwl);
	for (i = 0; i < nwl; i++) {
		wls[i] = load_workload(argv[optind + i]);
		if (opt.home >= 0)
			wls[i]->home = opt.home;
	}
	if (opt.only_state)
		opt.jobs = 1;
	nw = opt.jobs;
	progress = mmap(NULL, sizeof(*progress) * nw, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (progress == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(progress, 0, sizeof(*progress) * nw);
	wk = xmalloc(sizeof(*wk) * nw);
	t0 = now_s();
	for (i = 0; i < nw; i++)
		start_worker(&wk[i], wls, nwl, i, nw, 0);
	tot = xmalloc(sizeof(*tot) * nwl);
	for (;;) {
		struct pollfd pf[256];
		int np = 0, map[256];

		for (i = 0; i < nw; i++) {
			if (!wk[i].open)
				continue;
			pf[np].fd = wk[i].fd;
			pf[np].events = POLLIN;
			map[np++] = i;
		}
		if (!np) {
			/* every pipe closed: reap, restart the dead */
			live = 0;
			for (i = 0; i < nw; i++) {
				if (!wk[i].pid)
					continue;
				if (waitpid(wk[i].pid, &status, 0) < 0)
					die("waitpid: %s", strerror(errno));
				wk[i].pid = 0;
				if (WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0)
					continue;
				/* died while checking a state */
				bad_workers++;
				if (!progress[i].gidx) {
					fprintf(stderr,
						"crashcheck: worker %d failed outside a state\n",
						i);
					return 2;
				}
				{
					char line[1024];
					size_t l;
					int wi = progress[i].widx;

					l = (size_t)snprintf(
						line, sizeof(line),
						"F %d FAIL %s state %s: the checker %s %d while checking it (a core assertion, a crash, or a hang: SIGALRM)\nF %d   rebuild: crashcheck --image %s %s.img %s\nC %d\n",
						wi, wls[wi]->name,
						progress[i].id,
						WIFSIGNALED(status) ?
							"died of signal" :
							"exited with",
						WIFSIGNALED(status) ?
							WTERMSIG(status) :
							WEXITSTATUS(status),
						wi, progress[i].id,
						progress[i].id, wls[wi]->dir,
						wi);
					if (wk[i].len + l + 1 > wk[i].cap) {
						wk[i].cap =
							(wk[i].len + l + 1) * 2;
						wk[i].buf = realloc(wk[i].buf,
								    wk[i].cap);
						if (!wk[i].buf)
							die("out of memory");
					}
					memcpy(wk[i].buf + wk[i].len, line, l);
					wk[i].len += l;
					wk[i].buf[wk[i].len] = 0;
				}
				/* go on after that state */
				start_worker(&wk[i], wls, nwl, i, nw,
					     progress[i].gidx);
				progress[i].gidx = 0;
				live++;
			}
			if (!live)
				break;
			continue;
		}
		if (poll(pf, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < np; i++)
			if (pf[i].revents)
				drain(&wk[map[i]]);
	}
	all.secs = now_s() - t0;
	{
		struct rusage ru;

		getrusage(RUSAGE_CHILDREN, &ru);
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	/* merge: W lines are summed per workload; F lines printed in order */
	for (i = 0; i < nw; i++) {
		char *line, *save = NULL;

		for (line = strtok_r(wk[i].buf ? wk[i].buf : (char[]){ 0 },
				     "\n", &save);
		     line; line = strtok_r(NULL, "\n", &save)) {
			int wi;
			unsigned long long s, p, f, r, fl;
			double secs;

			int nops;
			unsigned long long nrecs;

			if (line[0] == 'W' &&
			    sscanf(line,
				   "W %d %llu %llu %llu %llu %llu %lf %d %llu",
				   &wi, &s, &p, &f, &r, &fl, &secs, &nops,
				   &nrecs) == 9 &&
			    wi >= 0 && wi < nwl) {
				wls[wi]->nops = nops;
				wls[wi]->nrecs = nrecs;
				tot[wi].states += s;
				tot[wi].prefix += p;
				tot[wi].flush += f;
				tot[wi].reorder += r;
				tot[wi].fails += fl;
				tot[wi].secs += secs;
			} else if (line[0] == 'C' &&
				   sscanf(line, "C %d", &wi) == 1 && wi >= 0 &&
				   wi < nwl) {
				tot[wi].states++;
				tot[wi].fails++;
			} else if (line[0] == 'F' && !opt.quiet) {
				char *sp = strchr(line + 2, ' ');

				printf("%s\n", sp ? sp + 1 : line);
			}
		}
	}
	for (i = 0; i < nwl; i++) {
		all.states += tot[i].states;
		all.prefix += tot[i].prefix;
		all.flush += tot[i].flush;
		all.reorder += tot[i].reorder;
		all.fails += tot[i].fails;
		if (opt.verbose || (tot[i].fails && !opt.quiet))
			printf("%s (%s): %llu states (%llu prefixes, %llu at flushes, %llu reordered), %llu failed\n",
			       wls[i]->name, home_names[wls[i]->home],
			       (unsigned long long)tot[i].states,
			       (unsigned long long)tot[i].prefix,
			       (unsigned long long)tot[i].flush,
			       (unsigned long long)tot[i].reorder,
			       (unsigned long long)tot[i].fails);
	}
	if (json) {
		FILE *f = fopen(json, "w");

		if (!f)
			die("%s: %s", json, strerror(errno));
		fprintf(f,
			"{\"states\": %llu, \"failed\": %llu, \"prefix\": %llu, \"flush\": %llu, \"reorder\": %llu, \"seconds\": %.3f, \"cpu_seconds\": %.3f, \"jobs\": %d, \"states_per_second\": %.1f, \"states_per_cpu_second\": %.1f, \"workloads\": [",
			(unsigned long long)all.states,
			(unsigned long long)all.fails,
			(unsigned long long)all.prefix,
			(unsigned long long)all.flush,
			(unsigned long long)all.reorder, all.secs, cpu, nw,
			all.secs > 0 ? all.states / all.secs : 0.0,
			cpu > 0 ? all.states / cpu : 0.0);
		for (i = 0; i < nwl; i++) {
			fprintf(f, "%s\n  {\"name\": ", i ? "," : "");
			json_str(f, wls[i]->name);
			fprintf(f, ", \"home\": \"%s\", \"dir\": ",
				home_names[wls[i]->home]);
			json_str(f, wls[i]->dir);
			fprintf(f,
				", \"ops\": %d, \"records\": %llu, \"states\": %llu, \"prefix\": %llu, \"flush\": %llu, \"reorder\": %llu, \"failed\": %llu, \"check_seconds\": %.3f}",
				wls[i]->nops, (unsigned long long)wls[i]->nrecs,
				(unsigned long long)tot[i].states,
				(unsigned long long)tot[i].prefix,
				(unsigned long long)tot[i].flush,
				(unsigned long long)tot[i].reorder,
				(unsigned long long)tot[i].fails, tot[i].secs);
		}
		fprintf(f, "\n]}\n");
		fclose(f);
	}
	printf("crashcheck: %d workload%s, %llu states (%llu prefixes, %llu at flushes, %llu reordered), %llu failed; %.1f s, %.0f states/s with %d worker%s (%.0f per CPU-second)\n",
	       nwl, nwl == 1 ? "" : "s", (unsigned long long)all.states,
	       (unsigned long long)all.prefix, (unsigned long long)all.flush,
	       (unsigned long long)all.reorder, (unsigned long long)all.fails,
	       all.secs, all.secs > 0 ? all.states / all.secs : 0.0, nw,
	       nw == 1 ? "" : "s", cpu > 0 ? all.states / cpu : 0.0);
	if (opt.only_state && !all.states) {
		fprintf(stderr, "crashcheck: no state %s\n", opt.only_state);
		return 2;
	}
	return all.fails || bad_workers ? 1 : 0;
}
