// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck_states.c - the crash states of a recording and the check of
 * one: a state is a view of the disk (pointers into the base image and
 * the write log, plus what the checking mount writes) that the user-space
 * block cache reads through a backend of its own; every prefix and the
 * seeded reorderings inside an epoch are enumerated; each is checked with
 * fsck -n, a replaying mount judged by the oracle, and fsck -n again.
 *
 * Layer: tests (tests/crash), part of crashcheck (crashcheck.h).  Calls
 * the core API (twinfs.h), the user-space environment (tw_user.h), the
 * fsck library (tools/fsck.h) and the C library.
 */
#include "crashcheck.h"
#include "fsck.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The state image: base + log records + what a mount wrote                 */
/* ------------------------------------------------------------------------ */

struct view *view_new(struct wl *w)
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

void view_free(struct view *v)
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

const u8 *view_get(struct view *v, u64 b)
{
	if (v->own_gen[b] == v->gen)
		return v->own[b];
	if (v->sub_gen[b] == v->gen)
		return v->sub[b];
	return v->img[b];
}

/* A new state: forget the overlays. */
void view_next(struct view *v)
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

char report[16384];
size_t report_len;

__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...)
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

int check_state(struct wl *w, struct view *v, const struct window *win)
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

static u64 rec_end_before(struct wl *w, u64 n)
{
	return n ? w->recs[n - 1].end : WLOG_HDR;
}

void apply_subset(struct wl *w, struct view *v, struct state *st)
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

void enumerate(struct wl *w, struct view *v, visit_fn fn, void *ctx)
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
