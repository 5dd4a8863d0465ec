// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck_load.c - crashcheck's small helpers and the data pattern, and
 * reading a workload directory: the oracle (oracle.txt, crashlib.py's
 * format), where each operation began and ended (pos.txt) and the write
 * log (log.twwlog), mapped, never copied.
 *
 * Layer: tests (tests/crash), part of crashcheck (crashcheck.h).  Calls
 * the C library.
 */
#include "crashcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Small helpers                                                            */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crashcheck: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

double now_s(void)
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
u64 mix64(u64 x)
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

void pat_init(void)
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

void pat_fill(u64 seed, u64 off, u8 *out, size_t len)
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

const char *const home_names[] = { "core", "fuse", "kernel" };

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

static int hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
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
	if (e->type == 'c')
		e->rdev = (u32)strtoul(f[6], NULL, 10);
	else if (strcmp(f[6], "-"))
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
			if (q[0] == ':' && q[1] == 'x') {
				/* name=len:xHEX, a literal value */
				u64 b;

				e->x[i].val = xmalloc(e->x[i].len + 1);
				for (q += 2, b = 0; b < e->x[i].len;
				     b++, q += 2) {
					int hi = hexdigit(q[0]);
					int lo = hi < 0 ? -1 : hexdigit(q[1]);

					if (lo < 0)
						die("%s: bad xattr value",
						    w->dir);
					e->x[i].val[b] = (u8)(hi << 4 | lo);
				}
			} else {
				e->x[i].seed = strtoull(q + 1, &q, 10);
			}
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
	/* the files held without a name come last (path ":H") */
	for (j = 0; j <= w->nops; j++) {
		struct tree *t = &w->st[j];

		while (t->n && t->e[t->n - 1].path[0] == ':') {
			t->n--;
			t->nhid++;
		}
		for (k = 0; k < t->n; k++)
			if (t->e[k].path[0] == ':')
				die("%s: state %d: %s among the names", path, j,
				    t->e[k].path);
	}
	w->vers = xmalloc(sizeof(*w->vers) * (w->nops + 1));
	for (j = 0; j <= w->nops; j++) {
		w->vers[j] = xmalloc(sizeof(struct ent *) * (w->nobj + 1));
		for (k = w->st[j].n + w->st[j].nhid - 1; k >= 0; k--)
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
struct wl *load_workload(const char *dir)
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
void wl_load(struct wl *w)
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
	for (i = 0; i < e->nx; i++) {
		free(e->x[i].name);
		free(e->x[i].val);
	}
	free(e->x);
}

void wl_unload(struct wl *w)
{
	int j, k;

	for (j = 0; j <= w->nops; j++) {
		for (k = 0; k < w->st[j].n + w->st[j].nhid; k++)
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
