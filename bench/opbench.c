// SPDX-License-Identifier: GPL-2.0
/*
 * opbench.c - the benchmark's in-process C tool: what fio cannot measure.
 *
 * Metadata workloads and per-operation latency, one process and no fork
 * per operation, each operation timed with clock_gettime(CLOCK_MONOTONIC):
 *
 *   opbench create DIR N        mkdir DIR, then N x open(O_CREAT|O_EXCL)+close
 *   opbench stat DIR N          N x fstatat(DIR, name): lookup + getattr
 *   opbench readdir DIR         getdents64 until the end (entries/s)
 *   opbench rename DIR N        N x renameat(fNNN -> rNNN) in DIR
 *   opbench unlink DIR N [--prefix r]
 *   opbench getattr FILE N      N x fstat(fd) on one open file
 *   opbench read FILE N         N x pread of 4 KiB at random aligned offsets
 *                               (posix_fadvise RANDOM: no readahead)
 *
 * Several clients (create and stat): --clients K forks K processes that
 * share the N operations (client c does names c*N/K .. (c+1)*N/K - 1), in
 * DIR itself (one shared directory) or, with --dirs, each in its own
 * DIR/cC (made before the clock starts).  They wait at a barrier until
 * all are ready and start together; each times its own operations.  The
 * result is the aggregate: ops_per_s is all operations over the span from
 * the first client's start to the last one's end, the latency percentiles
 * are those of every operation of every client, rusage is the clients'
 * (RUSAGE_CHILDREN), and "per_client" has each client's own count and
 * time.
 *
 * Harness helpers, so that the shell and Python around it need no polling
 * and time nothing with their own process start-up inside the interval:
 *
 *   opbench time CMD... [--- CMD...]   run the commands in turn, time them
 *   opbench umount MNT [--pid PID]     umount2(), then wait (pidfd) until
 *          [--flush DEV]               the daemon PID has exited; then
 *          [--busy-wait S]             drop DEV's cached blocks (untimed);
 *                                      a busy MNT is retried for up to S
 *                                      seconds (default 20), untimed, and
 *                                      if it stays busy, the processes
 *                                      holding it are named
 *   opbench findpid MNT                the process with MNT in its argv
 *   opbench snap [LABEL] [--pid PID]   one counter snapshot (below)
 *
 * Options of the workloads: --pid PID (or --pid-file F): the daemon whose
 * CPU time and context switches are snapshotted before and after the
 * measured phase; --deadline SEC: stop after SEC seconds and say so
 * ("truncated": true); --seed S; --clients K and --dirs (above).
 *
 * A snapshot holds the system's CPU time (/proc/stat, in USER_HZ ticks,
 * and /proc/schedstat's run time of all tasks, in ns) and context
 * switches, the daemon's user/sys ticks (its dead threads included), run
 * time in ns and voluntary/involuntary switches (live threads summed), and
 * the hit count of the kprobe the harness puts on fuse_request_end
 * (FUSE requests answered), read from tracefs when it is there.
 *
 * Output: one JSON object on stdout.  Exit status 0, or 1 if the workload
 * failed (the JSON then has "error").
 *
 * Layer: benchmark tool.  Calls the C library and Linux system calls only;
 * it knows nothing of twinfs and runs unchanged on any mount.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KPROBE_PROFILE "/sys/kernel/tracing/kprobe_profile"
#define KPROBE_NAME "twbench_fusereq"

static double deadline_s; /* 0: none */
static unsigned int nclients = 1; /* --clients */
static int client_dirs; /* --dirs: each client in DIR/cN */
static pid_t daemon_pid;
static uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "opbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void appendf(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* xorshift64*: reproducible offsets without libc's rand() state */
static uint64_t rnd(void)
{
	seed ^= seed >> 12;
	seed ^= seed << 25;
	seed ^= seed >> 27;
	return seed * 2685821657736338717ull;
}

/* ---- snapshots ------------------------------------------------------- */

struct snap {
	uint64_t t_ns;
	uint64_t cpu[8]; /* user nice system idle iowait irq softirq steal */
	uint64_t ctxt;
	int have_sched;
	uint64_t sched_ns; /* /proc/schedstat: time tasks ran, all CPUs
			    * (counted at switch-out: coarse, for reference) */
	int have_daemon;
	uint64_t d_utime, d_stime, d_vcsw, d_ivcsw;
	uint64_t d_run_ns; /* its live threads' schedstat run time */
	int have_fusereq;
	uint64_t fusereq;
};

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1) {
		n = read(fd, buf + got, size - 1 - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = 0;
	return (int)got;
}

static void daemon_counters(struct snap *s, pid_t pid)
{
	char path[64], buf[4096], *p;
	DIR *d;
	struct dirent *de;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	/* after "(comm)": state is field 3; utime 14, stime 15 */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return;
	s->have_daemon = 1;
	s->d_utime = ut;
	s->d_stime = st;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char tpath[300], *l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%s/schedstat",
			 (int)pid, de->d_name);
		if (read_file(tpath, buf, sizeof(buf)) > 0)
			s->d_run_ns += strtoull(buf, NULL, 10);
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%s/status",
			 (int)pid, de->d_name);
		if (read_file(tpath, buf, sizeof(buf)) <= 0)
			continue;
		l = strstr(buf, "\nvoluntary_ctxt_switches:");
		if (l)
			s->d_vcsw += strtoull(l + 25, NULL, 10);
		l = strstr(buf, "\nnonvoluntary_ctxt_switches:");
		if (l)
			s->d_ivcsw += strtoull(l + 28, NULL, 10);
	}
	closedir(d);
}

static void take_snap(struct snap *s, pid_t pid)
{
	static char buf[65536];
	char *l;

	memset(s, 0, sizeof(*s));
	s->t_ns = now_ns();
	if (read_file("/proc/stat", buf, sizeof(buf)) > 0) {
		unsigned long long c[8] = { 0 };

		sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &c[0],
		       &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7]);
		for (int i = 0; i < 8; i++)
			s->cpu[i] = c[i];
		l = strstr(buf, "\nctxt ");
		if (l)
			s->ctxt = strtoull(l + 6, NULL, 10);
	}
	/* "cpuN yld 0 sched goidle ttwu ttwu_local rq_cpu_time delay pcount" */
	if (read_file("/proc/schedstat", buf, sizeof(buf)) > 0) {
		for (l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l) {
			unsigned long long v[7];

			if (strncmp(l, "cpu", 3))
				continue;
			if (sscanf(l, "cpu%*u %llu %llu %llu %llu %llu %llu %llu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
				   &v[6]) == 7) {
				s->have_sched = 1;
				s->sched_ns += v[6];
			}
		}
	}
	if (pid > 0)
		daemon_counters(s, pid);
	if (read_file(KPROBE_PROFILE, buf, sizeof(buf)) > 0) {
		l = strstr(buf, KPROBE_NAME);
		if (l) {
			l += strlen(KPROBE_NAME);
			s->have_fusereq = 1;
			s->fusereq = strtoull(l, NULL, 10);
		}
	}
}

static void print_snap(FILE *f, const char *key, const struct snap *s)
{
	fprintf(f, "\"%s\":{\"t_ns\":%" PRIu64 ",\"cpu\":[", key, s->t_ns);
	for (int i = 0; i < 8; i++)
		fprintf(f, "%s%" PRIu64, i ? "," : "", s->cpu[i]);
	fprintf(f, "],\"ctxt\":%" PRIu64, s->ctxt);
	if (s->have_sched)
		fprintf(f, ",\"sched_ns\":%" PRIu64, s->sched_ns);
	if (s->have_daemon)
		fprintf(f,
			",\"daemon\":{\"pid\":%d,\"utime\":%" PRIu64
			",\"stime\":%" PRIu64 ",\"run_ns\":%" PRIu64
			",\"vcsw\":%" PRIu64 ",\"ivcsw\":%" PRIu64 "}",
			(int)daemon_pid, s->d_utime, s->d_stime, s->d_run_ns,
			s->d_vcsw, s->d_ivcsw);
	if (s->have_fusereq)
		fprintf(f, ",\"fusereq\":%" PRIu64, s->fusereq);
	fprintf(f, ",\"clk_tck\":%ld}", sysconf(_SC_CLK_TCK));
}

/* ---- latency samples ------------------------------------------------- */

struct lat {
	uint64_t *v;
	size_t n, cap;
	uint64_t t0; /* phase start */
	struct snap before, after;
	struct rusage ru0, ru1;
	uint64_t total_ns;
	int truncated;
	int err; /* errno of the failed operation, 0 if none */
	char what[160];
};

static void lat_init(struct lat *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	l->cap = cap ? cap : 1;
	l->v = malloc(l->cap * sizeof(*l->v));
	if (!l->v)
		die("out of memory for %zu samples", cap);
}

static void lat_start(struct lat *l)
{
	take_snap(&l->before, daemon_pid);
	getrusage(RUSAGE_SELF, &l->ru0);
	l->t0 = now_ns();
}

static void lat_stop(struct lat *l)
{
	l->total_ns = now_ns() - l->t0;
	getrusage(RUSAGE_SELF, &l->ru1);
	take_snap(&l->after, daemon_pid);
}

static int lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap * 2;
		uint64_t *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			die("out of memory");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns;
	if (deadline_s > 0 && (l->n & 63) == 0 &&
	    (double)(now_ns() - l->t0) / 1e9 > deadline_s) {
		l->truncated = 1;
		return 1;
	}
	return 0;
}

static void lat_fail(struct lat *l, int err, const char *fmt, ...)
{
	va_list ap;

	l->err = err;
	va_start(ap, fmt);
	vsnprintf(l->what, sizeof(l->what), fmt, ap);
	va_end(ap);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest sample with at least p% at or below it */
static uint64_t pct(const uint64_t *v, size_t n, unsigned int p)
{
	size_t rank = (n * p + 99) / 100;

	if (!n)
		return 0;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
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

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int lat_report(struct lat *l, const char *op, const char *extra)
{
	FILE *f = stdout;
	uint64_t sum = 0;

	qsort(l->v, l->n, sizeof(*l->v), cmp_u64);
	for (size_t i = 0; i < l->n; i++)
		sum += l->v[i];
	fprintf(f, "{\"tool\":\"opbench\",\"op\":\"%s\",\"ops\":%zu,", op, l->n);
	fprintf(f, "\"total_ns\":%" PRIu64 ",", l->total_ns);
	fprintf(f, "\"ops_per_s\":%.3f,",
		l->total_ns ? (double)l->n * 1e9 / (double)l->total_ns : 0.0);
	fprintf(f,
		"\"lat_ns\":{\"min\":%" PRIu64 ",\"p50\":%" PRIu64
		",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64
		",\"mean\":%.1f},",
		l->n ? l->v[0] : 0, pct(l->v, l->n, 50), pct(l->v, l->n, 90),
		pct(l->v, l->n, 99), l->n ? l->v[l->n - 1] : 0,
		l->n ? (double)sum / (double)l->n : 0.0);
	fprintf(f,
		"\"rusage\":{\"utime_s\":%.6f,\"stime_s\":%.6f,\"nvcsw\":%ld,"
		"\"nivcsw\":%ld},",
		tv_s(l->ru1.ru_utime) - tv_s(l->ru0.ru_utime),
		tv_s(l->ru1.ru_stime) - tv_s(l->ru0.ru_stime),
		l->ru1.ru_nvcsw - l->ru0.ru_nvcsw,
		l->ru1.ru_nivcsw - l->ru0.ru_nivcsw);
	print_snap(f, "before", &l->before);
	fputc(',', f);
	print_snap(f, "after", &l->after);
	fprintf(f, ",\"truncated\":%s", l->truncated ? "true" : "false");
	if (extra && *extra)
		fprintf(f, ",%s", extra);
	if (l->err) {
		fprintf(f, ",\"error\":");
		json_str(f, l->what);
		fprintf(f, ",\"errno\":%d", l->err);
	}
	fprintf(f, "}\n");
	fflush(f);
	free(l->v);
	return l->err ? 1 : 0;
}

/* ---- workloads ------------------------------------------------------- */

static void name_of(char *buf, size_t size, char prefix, unsigned long i)
{
	snprintf(buf, size, "%c%07lu", prefix, i);
}

static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", dir, strerror(errno));
	return fd;
}

/*
 * Operations lo..hi-1 of a name workload on directory @dfd (@dir in
 * messages): create (open(O_CREAT|O_EXCL) + close) or stat (fstatat) of
 * the names PREFIX<i>, each timed into @l.  Stops at the first failure
 * or at the deadline.
 */
enum { OP_CREATE, OP_STAT };

static void do_names(int op, int dfd, const char *dir, unsigned long lo,
		     unsigned long hi, char prefix, struct lat *l)
{
	struct stat st;
	char name[32];

	for (unsigned long i = lo; i < hi; i++) {
		uint64_t t;
		int r;

		name_of(name, sizeof(name), prefix, i);
		t = now_ns();
		if (op == OP_STAT) {
			r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
		} else {
			r = openat(dfd, name,
				   O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
			if (r >= 0) {
				close(r);
				r = 0;
			}
		}
		t = now_ns() - t;
		if (r < 0) {
			lat_fail(l, errno, "%s %s/%s: %s",
				 op == OP_STAT ? "stat" : "create", dir, name,
				 strerror(errno));
			break;
		}
		if (lat_add(l, t))
			break;
	}
}

static int w_create(const char *dir, unsigned long n)
{
	struct lat l;
	int dfd;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", dir, strerror(errno));
	dfd = open_dir(dir);
	lat_init(&l, n);
	lat_start(&l);
	do_names(OP_CREATE, dfd, dir, 0, n, 'f', &l);
	lat_stop(&l);
	close(dfd);
	return lat_report(&l, "create", NULL);
}

static int w_stat(const char *dir, unsigned long n, char prefix)
{
	struct lat l;
	int dfd = open_dir(dir);

	lat_init(&l, n);
	lat_start(&l);
	do_names(OP_STAT, dfd, dir, 0, n, prefix, &l);
	lat_stop(&l);
	close(dfd);
	return lat_report(&l, "stat", NULL);
}

/* What one client of w_clients() leaves for the parent (shared memory). */
struct client {
	uint64_t start_ns, end_ns, ops;
	int started, err, truncated;
	char what[160];
};

static void client_dir(char *buf, size_t size, const char *dir,
		       unsigned int c)
{
	if (client_dirs)
		snprintf(buf, size, "%s/c%u", dir, c);
	else
		snprintf(buf, size, "%s", dir);
}

/*
 * Client @c of w_clients(), in a child process: its share of the names,
 * in its directory, after the barrier.  Its samples go to @v (shared).
 */
static void client_main(int op, const char *dir, unsigned long n,
			char prefix, unsigned int c, struct client *me,
			uint64_t *v, int ready, int go)
{
	unsigned long lo = (unsigned long)((uint64_t)n * c / nclients);
	unsigned long hi = (unsigned long)((uint64_t)n * (c + 1) / nclients);
	char path[4096], b;
	struct lat l;
	int dfd;

	client_dir(path, sizeof(path), dir, c);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		me->err = errno;
		snprintf(me->what, sizeof(me->what), "client %u: %.100s: %s", c,
			 path, strerror(errno));
		_exit(1);
	}
	memset(&l, 0, sizeof(l));
	l.v = v + lo; /* exactly hi - lo samples: lat_add never grows it */
	l.cap = hi - lo;
	/* ready, then wait until the parent closes @go: all start at once */
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	while (read(go, &b, 1) < 0 && errno == EINTR)
		;
	me->started = 1;
	l.t0 = me->start_ns = now_ns();
	if (hi > lo)
		do_names(op, dfd, path, lo, hi, prefix, &l);
	me->end_ns = now_ns();
	me->ops = l.n;
	me->truncated = l.truncated;
	me->err = l.err;
	memcpy(me->what, l.what, sizeof(me->what));
	_exit(l.err ? 1 : 0);
}

/*
 * opbench create|stat DIR N --clients K [--dirs]: K processes share the N
 * operations and start together; the aggregate and each client's share.
 */
static int w_clients(int op, const char *dir, unsigned long n, char prefix)
{
	const char *opname = op == OP_STAT ? "stat" : "create";
	unsigned int k = nclients, got = 0;
	size_t size = k * sizeof(struct client) + (n ? n : 1) * sizeof(uint64_t);
	uint64_t first = UINT64_MAX, last = 0, *v;
	struct client *cl;
	int ready[2], go[2], failed = -1;
	struct lat l;
	char extra[160 + 64 * 64], path[4096], b;
	pid_t *pids;

	if (op == OP_CREATE) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			die("mkdir %s: %s", dir, strerror(errno));
		for (unsigned int c = 0; client_dirs && c < k; c++) {
			client_dir(path, sizeof(path), dir, c);
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				die("mkdir %s: %s", path, strerror(errno));
		}
	}
	cl = mmap(NULL, size, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cl == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	v = (uint64_t *)(cl + k);
	pids = calloc(k, sizeof(*pids));
	if (!pids || pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		die("out of memory or pipes");
	fflush(stdout);
	for (unsigned int c = 0; c < k; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			die("fork: %s", strerror(errno));
		if (pids[c] == 0) {
			close(ready[0]);
			close(go[1]);
			client_main(op, dir, n, prefix, c, &cl[c], v, ready[1],
				    go[0]);
		}
	}
	close(ready[1]);
	close(go[0]);
	/* every client ready (or dead: then the pipe ends early) */
	while (got < k) {
		ssize_t r = read(ready[0], &b, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got++;
	}
	close(ready[0]);
	memset(&l, 0, sizeof(l));
	take_snap(&l.before, daemon_pid);
	getrusage(RUSAGE_CHILDREN, &l.ru0);
	close(go[1]); /* go */
	for (unsigned int c = 0; c < k; c++)
		while (waitpid(pids[c], NULL, 0) < 0 && errno == EINTR)
			;
	getrusage(RUSAGE_CHILDREN, &l.ru1);
	take_snap(&l.after, daemon_pid);
	/* the aggregate: every client's samples, first start to last end */
	l.cap = n ? n : 1;
	l.v = malloc(l.cap * sizeof(*l.v));
	if (!l.v)
		die("out of memory");
	snprintf(extra, sizeof(extra), "\"clients\":%u,\"layout\":\"%s\","
		 "\"per_client\":[", k, client_dirs ? "dirs" : "shared");
	for (unsigned int c = 0; c < k; c++) {
		unsigned long lo = (unsigned long)((uint64_t)n * c / k);
		struct client *me = &cl[c];
		uint64_t ns = me->started ? me->end_ns - me->start_ns : 0;

		memcpy(l.v + l.n, v + lo, me->ops * sizeof(*l.v));
		l.n += me->ops;
		if (me->started && me->start_ns < first)
			first = me->start_ns;
		if (me->started && me->end_ns > last)
			last = me->end_ns;
		l.truncated |= me->truncated;
		if ((me->err || !me->started) && failed < 0)
			failed = (int)c;
		appendf(extra, sizeof(extra),
			"%s{\"ops\":%" PRIu64 ",\"ns\":%" PRIu64
			",\"ops_per_s\":%.3f}",
			c ? "," : "", me->ops, ns,
			ns ? (double)me->ops * 1e9 / (double)ns : 0.0);
	}
	appendf(extra, sizeof(extra), "]");
	l.total_ns = last > first ? last - first : 0;
	if (failed >= 0) {
		struct client *me = &cl[failed];

		if (me->what[0])
			lat_fail(&l, me->err ? me->err : EIO, "%s", me->what);
		else
			lat_fail(&l, EIO, "client %d of %u did not start", failed,
				 k);
	}
	munmap(cl, size);
	free(pids);
	return lat_report(&l, opname, extra);
}

static int w_readdir(const char *dir)
{
	static char buf[1 << 16];
	struct lat l;
	unsigned long entries = 0;
	char extra[64];
	int dfd;

	lat_init(&l, 1024);
	lat_start(&l);
	/* the open is part of a directory walk */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		lat_fail(&l, errno, "open %s: %s", dir, strerror(errno));
	} else {
		for (;;) {
			uint64_t t = now_ns();
			long nread = syscall(SYS_getdents64, dfd, buf,
					     sizeof(buf));

			t = now_ns() - t;
			if (nread < 0) {
				lat_fail(&l, errno, "getdents64 %s: %s", dir,
					 strerror(errno));
				break;
			}
			if (nread == 0)
				break;
			for (long off = 0; off < nread;) {
				struct dirent64 *d = (void *)(buf + off);

				if (strcmp(d->d_name, ".") &&
				    strcmp(d->d_name, ".."))
					entries++;
				off += d->d_reclen;
			}
			lat_add(&l, t); /* one sample per getdents64 call */
		}
		close(dfd);
	}
	lat_stop(&l);
	snprintf(extra, sizeof(extra), "\"entries\":%lu,\"entries_per_s\":%.3f",
		 entries,
		 l.total_ns ? (double)entries * 1e9 / (double)l.total_ns : 0.0);
	return lat_report(&l, "readdir", extra);
}

static int w_rename(const char *dir, unsigned long n)
{
	struct lat l;
	char from[32], to[32];
	int dfd = open_dir(dir);

	lat_init(&l, n);
	lat_start(&l);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t;
		int r;

		name_of(from, sizeof(from), 'f', i);
		name_of(to, sizeof(to), 'r', i);
		t = now_ns();
		r = renameat(dfd, from, dfd, to);
		t = now_ns() - t;
		if (r < 0) {
			lat_fail(&l, errno, "rename %s/%s: %s", dir, from,
				 strerror(errno));
			break;
		}
		if (lat_add(&l, t))
			break;
	}
	lat_stop(&l);
	close(dfd);
	return lat_report(&l, "rename", NULL);
}

static int w_unlink(const char *dir, unsigned long n, char prefix)
{
	struct lat l;
	char name[32];
	int dfd = open_dir(dir);

	lat_init(&l, n);
	lat_start(&l);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t;
		int r;

		name_of(name, sizeof(name), prefix, i);
		t = now_ns();
		r = unlinkat(dfd, name, 0);
		t = now_ns() - t;
		if (r < 0) {
			lat_fail(&l, errno, "unlink %s/%s: %s", dir, name,
				 strerror(errno));
			break;
		}
		if (lat_add(&l, t))
			break;
	}
	lat_stop(&l);
	close(dfd);
	return lat_report(&l, "unlink", NULL);
}

static int w_getattr(const char *file, unsigned long n)
{
	struct lat l;
	struct stat st;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", file, strerror(errno));
	lat_init(&l, n);
	lat_start(&l);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t t = now_ns();
		int r = fstat(fd, &st);

		t = now_ns() - t;
		if (r < 0) {
			lat_fail(&l, errno, "fstat %s: %s", file,
				 strerror(errno));
			break;
		}
		if (lat_add(&l, t))
			break;
	}
	lat_stop(&l);
	close(fd);
	return lat_report(&l, "getattr", NULL);
}

static int w_read(const char *file, unsigned long n, size_t bs)
{
	struct lat l;
	struct stat st;
	char *buf;
	uint64_t blocks;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", file, strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)bs)
		die("%s: too small for %zu-byte reads", file, bs);
	blocks = (uint64_t)st.st_size / bs;
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (posix_memalign((void **)&buf, 4096, bs))
		die("out of memory");
	lat_init(&l, n);
	lat_start(&l);
	for (unsigned long i = 0; i < n; i++) {
		off_t off = (off_t)(rnd() % blocks) * (off_t)bs;
		uint64_t t = now_ns();
		ssize_t r = pread(fd, buf, bs, off);

		t = now_ns() - t;
		if (r != (ssize_t)bs) {
			lat_fail(&l, r < 0 ? errno : EIO,
				 "pread %s at %lld: %s", file, (long long)off,
				 r < 0 ? strerror(errno) : "short read");
			break;
		}
		if (lat_add(&l, t))
			break;
	}
	lat_stop(&l);
	close(fd);
	free(buf);
	return lat_report(&l, "read", NULL);
}

/* ---- harness helpers ------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Wait until @pid (not our child) has exited; -1 on timeout. */
static int wait_gone(pid_t pid, double timeout_s)
{
	int fd = pidfd_open_(pid);
	uint64_t t0 = now_ns();

	if (fd < 0)
		return errno == ESRCH ? 0 : -1;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(timeout_s * 1000 -
				 (double)(now_ns() - t0) / 1e6);

		if (left <= 0) {
			close(fd);
			return -1;
		}
		if (poll(&p, 1, left) > 0)
			break;
	}
	close(fd);
	return 0;
}

/* opbench time CMD ARGS... [--- CMD ARGS...]: each command's time and the
 * total; stops at the first that fails. */
static int h_time(int argc, char **argv)
{
	uint64_t t0 = now_ns(), total;
	int i = 0, ncmd = 0, rc = 0;
	uint64_t each[16];

	while (i < argc && ncmd < 16) {
		int j = i, status;
		pid_t pid;
		uint64_t t;

		while (j < argc && strcmp(argv[j], "---"))
			j++;
		argv[j < argc ? j : argc] = NULL;
		t = now_ns();
		if (posix_spawnp(&pid, argv[i], NULL, NULL, argv + i,
				 environ)) {
			fprintf(stderr, "opbench: cannot run %s\n", argv[i]);
			rc = 127;
			break;
		}
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		each[ncmd++] = now_ns() - t;
		rc = WIFEXITED(status) ? WEXITSTATUS(status)
				       : 128 + WTERMSIG(status);
		if (rc)
			break;
		i = j + 1;
	}
	total = now_ns() - t0;
	printf("{\"tool\":\"opbench\",\"op\":\"time\",\"ns\":%" PRIu64
	       ",\"rc\":%d,\"each_ns\":[",
	       total, rc);
	for (int k = 0; k < ncmd; k++)
		printf("%s%" PRIu64, k ? "," : "", each[k]);
	printf("]}\n");
	return rc ? 1 : 0;
}

/*
 * Forget the cached blocks of @dev once nothing has it open: BLKFLSBUF for
 * a block device (the kernel already drops them at its last close; this
 * makes sure), POSIX_FADV_DONTNEED for an image file.  Outside the timed
 * interval.
 */
static void flush_dev(const char *dev)
{
	struct stat st;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		fsync(fd);
		ioctl(fd, BLKFLSBUF, 0);
	} else {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	close(fd);
}

static void appendf(char *out, size_t size, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(out + used, size - used, fmt, ap);
	va_end(ap);
}

/* Whether @path is @mnt (@len bytes) or below it. */
static int on_mount(const char *path, const char *mnt, size_t len)
{
	return !strncmp(path, mnt, len) &&
	       (path[len] == '\0' || path[len] == '/' || len == 1);
}

/* What of process @pid is on @mnt: "cwd", "fd 3", ... or NULL. */
static const char *holds(pid_t pid, const char *mnt, size_t len, char *what,
			 size_t size)
{
	static const char *const links[] = { "cwd", "root", "exe" };
	char path[64], target[4096], line[4096];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	FILE *f;

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, links[i]);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (on_mount(target, mnt, len))
				return links[i];
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		char fd[320];

		if (de->d_name[0] == '.')
			continue;
		snprintf(fd, sizeof(fd), "%s/%s", path, de->d_name);
		n = readlink(fd, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (on_mount(target, mnt, len)) {
				snprintf(what, size, "fd %s", de->d_name);
				closedir(d);
				return what;
			}
		}
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p) {
			p[strcspn(p, "\n")] = 0;
			if (on_mount(p, mnt, len)) {
				fclose(f);
				return "mmap";
			}
		}
	}
	if (f)
		fclose(f);
	return NULL;
}

/*
 * Who keeps @mnt busy, as far as /proc shows: processes whose working
 * directory, root, executable, open file or mapping is on it, and mounts
 * below it.  A kernel reference (a file still being released) shows
 * nowhere.
 */
static void busy_holders(const char *mnt, char *out, size_t size)
{
	size_t len = strlen(mnt);
	pid_t self = getpid();
	struct dirent *de;
	char line[4096];
	int found = 0;
	DIR *d;
	FILE *f;

	out[0] = 0;
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		char what[340], comm[64] = "?", path[64];
		const char *w;

		if (pid <= 0 || pid == self)
			continue;
		w = holds(pid, mnt, len, what, sizeof(what));
		if (!w)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		if (read_file(path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = 0;
		if (found++ < 8)
			appendf(out, size, "%s%d (%s) %s",
				found > 1 ? ", " : "", (int)pid, comm, w);
	}
	if (d)
		closedir(d);
	if (found > 8)
		appendf(out, size, " and %d more", found - 8);
	f = fopen("/proc/self/mountinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char mp[4096];

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    on_mount(mp, mnt, len) && strcmp(mp, mnt))
			appendf(out, size, "%smount on %s", found++ ? ", " : "",
				mp);
	}
	if (f)
		fclose(f);
	if (!found)
		appendf(out, size,
			"no process or mount that /proc shows (a kernel "
			"reference, such as a file still being released)");
}

static int h_umount(const char *mnt, pid_t pid, double timeout_s, int lazy,
		    const char *flush, double busy_s)
{
	uint64_t t_first = now_ns(), t0, t_um, t_gone;
	int r, e, gone = 0, tries = 0;

	/*
	 * A mount can be busy for a moment after its last user is done: a
	 * process still exiting, a file whose last reference a kernel worker
	 * drops (AIO completion, delayed fput), on a loaded machine longer.
	 * Retry for up to @busy_s seconds; the time measured starts at the
	 * attempt that succeeds.
	 */
	for (;;) {
		t0 = now_ns();
		r = umount2(mnt, lazy ? MNT_DETACH : 0);
		e = errno;
		tries++;
		if (r == 0 || e != EBUSY ||
		    (double)(now_ns() - t_first) / 1e9 >= busy_s)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000000 }, NULL);
	}
	t_um = now_ns() - t0;
	if (r == 0 && pid > 0)
		gone = wait_gone(pid, timeout_s);
	t_gone = now_ns() - t0;
	if (r == 0 && !gone && flush)
		flush_dev(flush);
	printf("{\"tool\":\"opbench\",\"op\":\"umount\",\"ns\":%" PRIu64
	       ",\"umount_ns\":%" PRIu64 ",\"rc\":%d,\"tries\":%d"
	       ",\"busy_ns\":%" PRIu64,
	       t_gone, t_um, r < 0 ? e : (gone ? ETIMEDOUT : 0), tries,
	       t0 - t_first);
	if (r < 0 && e == EBUSY) {
		char who[2048], msg[2304];

		busy_holders(mnt, who, sizeof(who));
		snprintf(msg, sizeof(msg),
			 "%s: still busy after %.1f s (%d tries); held by: %s",
			 strerror(e), (double)(now_ns() - t_first) / 1e9, tries,
			 who);
		printf(",\"error\":");
		json_str(stdout, msg);
	} else if (r < 0) {
		printf(",\"error\":");
		json_str(stdout, strerror(e));
	} else if (gone) {
		printf(",\"error\":\"daemon %d still running after %.0f s\"",
		       (int)pid, timeout_s);
	}
	printf("}\n");
	return r < 0 || gone ? 1 : 0;
}

/* The process (not us) with @mnt as one of its arguments: the daemon. */
static pid_t find_pid(const char *mnt)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0, self = getpid();
	static char buf[8192];

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[64];
		int n;
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		n = read_file(path, buf, sizeof(buf));
		for (int off = 0; off < n; off += (int)strlen(buf + off) + 1) {
			if (off > 0 && !strcmp(buf + off, mnt)) {
				if (!found || pid < found)
					found = pid;
				break;
			}
		}
	}
	closedir(d);
	return found;
}

/* ---- main ------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: opbench create|stat|rename|unlink DIR N [options]\n"
		"       opbench readdir DIR [options]\n"
		"       opbench getattr|read FILE N [options]\n"
		"       opbench time CMD... [--- CMD...]\n"
		"       opbench umount MNT [--pid PID] [--timeout S] [--lazy]\n"
		"                      [--flush DEV] [--busy-wait S]\n"
		"       opbench findpid MNT\n"
		"       opbench snap [LABEL] [--pid PID | --pid-file F]\n"
		"options: --pid PID, --pid-file F, --deadline S, --seed N,\n"
		"         --prefix C (stat/unlink: f or r), --bs BYTES,\n"
		"         --clients K [--dirs] (create/stat: K processes, one\n"
		"         shared directory or, with --dirs, DIR/c0..)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd, *args[3] = { NULL, NULL, NULL }, *flush = NULL;
	double timeout_s = 60, busy_s = 20;
	int nargs = 0, lazy = 0;
	char prefix = 'f';
	size_t bs = 4096;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "time"))
		return h_time(argc - 2, argv + 2);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--pid") && i + 1 < argc) {
			daemon_pid = (pid_t)atoi(argv[++i]);
		} else if (!strcmp(a, "--pid-file") && i + 1 < argc) {
			char buf[32];

			if (read_file(argv[++i], buf, sizeof(buf)) > 0)
				daemon_pid = (pid_t)atoi(buf);
		} else if (!strcmp(a, "--deadline") && i + 1 < argc) {
			deadline_s = atof(argv[++i]);
		} else if (!strcmp(a, "--timeout") && i + 1 < argc) {
			timeout_s = atof(argv[++i]);
		} else if (!strcmp(a, "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0) | 1;
		} else if (!strcmp(a, "--prefix") && i + 1 < argc) {
			prefix = argv[++i][0];
		} else if (!strcmp(a, "--bs") && i + 1 < argc) {
			bs = (size_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(a, "--flush") && i + 1 < argc) {
			flush = argv[++i];
		} else if (!strcmp(a, "--busy-wait") && i + 1 < argc) {
			busy_s = atof(argv[++i]);
		} else if (!strcmp(a, "--lazy")) {
			lazy = 1;
		} else if (!strcmp(a, "--clients") && i + 1 < argc) {
			long k = strtol(argv[++i], NULL, 0);

			if (k < 1 || k > 64)
				die("--clients: 1 to 64");
			nclients = (unsigned int)k;
		} else if (!strcmp(a, "--dirs")) {
			client_dirs = 1;
		} else if (a[0] == '-' && a[1] == '-') {
			usage();
		} else if (nargs < 3) {
			args[nargs++] = a;
		} else {
			usage();
		}
	}
#define NEED(k)            \
	do {               \
		if (nargs != k) \
			usage(); \
	} while (0)
	if ((nclients > 1 || client_dirs) && strcmp(cmd, "create") &&
	    strcmp(cmd, "stat"))
		die("--clients and --dirs are for create and stat");
	if (!strcmp(cmd, "create")) {
		NEED(2);
		if (nclients > 1 || client_dirs)
			return w_clients(OP_CREATE, args[0],
					 strtoul(args[1], NULL, 0), 'f');
		return w_create(args[0], strtoul(args[1], NULL, 0));
	} else if (!strcmp(cmd, "stat")) {
		NEED(2);
		if (nclients > 1 || client_dirs)
			return w_clients(OP_STAT, args[0],
					 strtoul(args[1], NULL, 0), prefix);
		return w_stat(args[0], strtoul(args[1], NULL, 0), prefix);
	} else if (!strcmp(cmd, "readdir")) {
		NEED(1);
		return w_readdir(args[0]);
	} else if (!strcmp(cmd, "rename")) {
		NEED(2);
		return w_rename(args[0], strtoul(args[1], NULL, 0));
	} else if (!strcmp(cmd, "unlink")) {
		NEED(2);
		return w_unlink(args[0], strtoul(args[1], NULL, 0), prefix);
	} else if (!strcmp(cmd, "getattr")) {
		NEED(2);
		return w_getattr(args[0], strtoul(args[1], NULL, 0));
	} else if (!strcmp(cmd, "read")) {
		NEED(2);
		return w_read(args[0], strtoul(args[1], NULL, 0), bs);
	} else if (!strcmp(cmd, "umount")) {
		NEED(1);
		return h_umount(args[0], daemon_pid, timeout_s, lazy, flush,
				busy_s);
	} else if (!strcmp(cmd, "findpid")) {
		pid_t pid;

		NEED(1);
		pid = find_pid(args[0]);
		if (!pid)
			return 1;
		printf("%d\n", (int)pid);
		return 0;
	} else if (!strcmp(cmd, "snap")) {
		struct snap s;

		if (nargs > 1)
			usage();
		take_snap(&s, daemon_pid);
		printf("{");
		if (nargs == 1) {
			printf("\"label\":");
			json_str(stdout, args[0]);
			printf(",");
		}
		print_snap(stdout, "snap", &s);
		printf("}\n");
		return 0;
	}
	usage();
	return 2;
}
