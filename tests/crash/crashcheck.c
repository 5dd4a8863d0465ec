// SPDX-License-Identifier: GPL-2.0
/*
 * crashcheck.c - every crash state of recorded workloads, checked.
 *
 * Layer: tests (tests/crash).  This file is the driver: options, the
 * worker processes, their results, --image.  The rest is in
 * crashcheck_load.c (reading a workload), crashcheck_states.c (the crash
 * states and the check of one) and crashcheck_oracle.c (the recovered
 * tree against the oracle); crashcheck.h is what they share.  Calls them,
 * the user-space environment (tw_user.h) and the C library.
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
 *   - metadata: the tree (names, types, modes, symlink targets, device
 *     numbers, xattrs by value -- ACLs among them --, which names share an
 *     inode) must be exactly the tree after some operation k, from the
 *     last durability point to the last operation begun.  twinfs promises this: one running transaction holds every
 *     change, and fsync commits it (docs/architecture.md);
 *   - data: a file's size must be one of its sizes in that window (or,
 *     for a write that extended it, in between: a crash may keep part of
 *     a write); each 4 KiB block of it must equal that block in one of the
 *     file's versions in the window, counting from its last fsync,
 *     fdatasync or sync (data are not journaled; a block may be old or new
 *     but never garbage); the versions an O_TMPFILE file had before
 *     linkat() named it count too.  A file fsync'd and not touched since
 *     must be exactly as it was.
 * What counts as durable depends on the home: in the FUSE daemon sync(2)
 * does not reach the daemon (the kernel sends no SYNCFS to /dev/fuse
 * servers), so there only fsync, fdatasync and unmount count.
 *
 * A failure names the state and the command that rebuilds its image:
 *   crashcheck --image ID OUT.img DIR     (then fsck.twinfs -n OUT.img)
 */
#include "crashcheck.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Options and results                                                      */
/* ------------------------------------------------------------------------ */

struct options opt = { .seed = 1,
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
