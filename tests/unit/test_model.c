// SPDX-License-Identifier: GPL-2.0
/*
 * test_model.c - a seeded, reproducible randomized test of the core against
 * a simple in-memory reference model.
 *
 * Thousands of random operations (create, mkdir, symlink, write at random
 * offsets including far sparse ones, read, truncate up and down, unlink,
 * rmdir, rename with every flag, link, readlink, xattrs, chmod, inodes held
 * open after their last link went) run on the core and on the model, a tree
 * of nodes with byte contents; every result is compared: return codes and
 * errnos (where POSIX allows several errors, any of them), data read,
 * getattr's type, size, nlink and mode.  Every so often, and after each
 * unmount/mount at a random point, the whole trees are compared, and the
 * filesystem is checked for consistency as a whole.  A last phase fills
 * the filesystem to ENOSPC, where an operation may fail for want of space
 * but must then have done nothing.
 *
 *   test_model [seed] [ops]      or TWINFS_SEED, TWINFS_MODEL_OPS
 *
 * On failure the seed and the operation number are printed; the same seed
 * replays the same operations.  TWINFS_MODEL_VERBOSE=1 prints each one.
 *
 * Layer: tests of the core (common/) through its API (twinfs.h), on the
 * user-space environment's RAM device (tw_user.h).
 */
#include "tw_coretest.h"

#define FS_BLOCKS 16384u /* 64 MiB */
#define FS_INODES 8192u
#define MAX_NODES 1500 /* live nodes, so that the fs never fills */
#define MAX_DATA (16u << 20) /* bytes of data in the model */
#define MAX_HELD 8
#define CHUNK 4096u

#define ROOT TW_ROOT_INO

enum { T_FREE, T_REG, T_DIR, T_LNK };

struct chunk {
	u64 idx;
	u8 *data;
};

struct dent {
	char *name;
	u32 len;
	int node;
};

struct mxattr {
	char name[280]; /* full name, with the prefix */
	u8 *val;
	u32 vlen;
};

struct mnode {
	int type;
	u32 perm;
	u64 ino;
	u32 nlink;
	bool held;
	/* T_REG */
	u64 size;
	struct chunk *chunks;
	int nchunks, capchunks;
	/* T_LNK */
	char *target;
	u32 tlen;
	/* T_DIR */
	struct dent *ents;
	int nents, capents;
	int parent;
	/* all */
	struct mxattr *xa;
	int nxa;
};

static struct mnode *nodes;
static int nnodes, cap_nodes, live_nodes;
static u64 model_bytes;
static int held[MAX_HELD], nheld;

static struct tw_fs *fs;
static struct ct_rng rng;
static u64 seed, op_no, nops;
static const char *op_name = "setup";
static bool verbose;
static bool fill_phase; /* ENOSPC may happen */
static u64 stats[32];

static void context(void)
{
	fprintf(stderr, "[seed %llu, op %llu (%s)] ", (unsigned long long)seed,
		(unsigned long long)op_no, op_name);
}

#define VLOG(fmt, ...)                                              \
	do {                                                        \
		if (verbose)                                        \
			fprintf(stderr, "%llu %s: " fmt "\n",       \
				(unsigned long long)op_no, op_name, \
				##__VA_ARGS__);                     \
	} while (0)

/* ------------------------------------------------------------------------ */
/* The model                                                                */
/* ------------------------------------------------------------------------ */

static int node_new(int type, u32 perm, u64 ino)
{
	int i;

	for (i = 1; i < nnodes && nodes[i].type != T_FREE; i++)
		;
	if (i == nnodes) {
		if (nnodes >= cap_nodes) {
			cap_nodes = cap_nodes ? cap_nodes * 2 : 256;
			nodes = realloc(nodes, cap_nodes * sizeof(*nodes));
			REQUIRE(nodes);
		}
		nnodes++;
	}
	memset(&nodes[i], 0, sizeof(nodes[i]));
	nodes[i].type = type;
	nodes[i].perm = perm;
	nodes[i].ino = ino;
	nodes[i].nlink = type == T_DIR ? 2 : 1;
	live_nodes++;
	return i;
}

static void node_free(int n)
{
	struct mnode *m = &nodes[n];
	int i;

	for (i = 0; i < m->nchunks; i++) {
		free(m->chunks[i].data);
		model_bytes -= CHUNK;
	}
	free(m->chunks);
	free(m->target);
	for (i = 0; i < m->nents; i++)
		free(m->ents[i].name);
	free(m->ents);
	for (i = 0; i < m->nxa; i++)
		free(m->xa[i].val);
	free(m->xa);
	memset(m, 0, sizeof(*m));
	live_nodes--;
}

static int dir_find(int d, const char *name, u32 len)
{
	struct mnode *m = &nodes[d];
	int i;

	for (i = 0; i < m->nents; i++)
		if (m->ents[i].len == len &&
		    !memcmp(m->ents[i].name, name, len))
			return i;
	return -1;
}

static int dir_child(int d, const char *name, u32 len)
{
	int i = dir_find(d, name, len);

	return i < 0 ? 0 : nodes[d].ents[i].node;
}

static void dir_add(int d, const char *name, u32 len, int n)
{
	struct mnode *m = &nodes[d];

	if (m->nents == m->capents) {
		m->capents = m->capents ? m->capents * 2 : 8;
		m->ents = realloc(m->ents, m->capents * sizeof(*m->ents));
		REQUIRE(m->ents);
	}
	m->ents[m->nents].name = malloc(len + 1);
	REQUIRE(m->ents[m->nents].name);
	memcpy(m->ents[m->nents].name, name, len);
	m->ents[m->nents].name[len] = 0;
	m->ents[m->nents].len = len;
	m->ents[m->nents].node = n;
	m->nents++;
	if (nodes[n].type == T_DIR) {
		nodes[n].parent = d;
		m->nlink++;
	}
}

static void dir_del(int d, const char *name, u32 len)
{
	struct mnode *m = &nodes[d];
	int i = dir_find(d, name, len);

	REQUIRE(i >= 0);
	if (nodes[m->ents[i].node].type == T_DIR)
		m->nlink--;
	free(m->ents[i].name);
	m->ents[i] = m->ents[--m->nents];
}

static int node_dtype(int n)
{
	switch (nodes[n].type) {
	case T_REG:
		return TW_DT_REG;
	case T_DIR:
		return TW_DT_DIR;
	default:
		return TW_DT_LNK;
	}
}

static u32 node_mode(int n)
{
	switch (nodes[n].type) {
	case T_REG:
		return TW_S_IFREG | nodes[n].perm;
	case T_DIR:
		return TW_S_IFDIR | nodes[n].perm;
	default:
		return TW_S_IFLNK | nodes[n].perm;
	}
}

/* Is @anc an ancestor of directory @d, or @d itself? */
static bool is_anc(int anc, int d)
{
	int steps = 0;

	while (steps++ < 100000) {
		if (d == anc)
			return true;
		if (d == 1)
			return false;
		d = nodes[d].parent;
	}
	REQUIRE(!"model tree has a loop");
	return false;
}

static struct chunk *chunk_get(struct mnode *m, u64 idx, bool create)
{
	int lo = 0, hi = m->nchunks;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (m->chunks[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->nchunks && m->chunks[lo].idx == idx)
		return &m->chunks[lo];
	if (!create)
		return NULL;
	if (m->nchunks == m->capchunks) {
		m->capchunks = m->capchunks ? m->capchunks * 2 : 4;
		m->chunks =
			realloc(m->chunks, m->capchunks * sizeof(*m->chunks));
		REQUIRE(m->chunks);
	}
	memmove(&m->chunks[lo + 1], &m->chunks[lo],
		(m->nchunks - lo) * sizeof(*m->chunks));
	m->nchunks++;
	m->chunks[lo].idx = idx;
	m->chunks[lo].data = calloc(1, CHUNK);
	REQUIRE(m->chunks[lo].data);
	model_bytes += CHUNK;
	return &m->chunks[lo];
}

static void model_write(struct mnode *m, u64 off, const u8 *buf, u64 len)
{
	u64 done = 0;

	if (!len)
		return; /* writes nothing, extends nothing */
	while (done < len) {
		u64 pos = off + done;
		u32 boff = (u32)(pos % CHUNK);
		u64 n = CHUNK - boff;

		if (n > len - done)
			n = len - done;
		memcpy(chunk_get(m, pos / CHUNK, true)->data + boff, buf + done,
		       n);
		done += n;
	}
	if (off + len > m->size)
		m->size = off + len;
}

static void model_read(struct mnode *m, u64 off, u8 *buf, u64 len)
{
	u64 done = 0;

	while (done < len) {
		u64 pos = off + done;
		u32 boff = (u32)(pos % CHUNK);
		u64 n = CHUNK - boff;
		struct chunk *c;

		if (n > len - done)
			n = len - done;
		c = chunk_get(m, pos / CHUNK, false);
		if (c)
			memcpy(buf + done, c->data + boff, n);
		else
			memset(buf + done, 0, n);
		done += n;
	}
}

static void model_truncate(struct mnode *m, u64 size)
{
	int i, k = 0;

	if (size < m->size) {
		for (i = 0; i < m->nchunks; i++) {
			struct chunk *c = &m->chunks[i];

			if (c->idx * CHUNK >= size) {
				free(c->data);
				model_bytes -= CHUNK;
				continue;
			}
			if ((c->idx + 1) * CHUNK > size)
				memset(c->data + size % CHUNK, 0,
				       CHUNK - size % CHUNK);
			m->chunks[k++] = *c;
		}
		m->nchunks = k;
	}
	m->size = size;
}

static struct mxattr *xa_find(struct mnode *m, const char *name)
{
	int i;

	for (i = 0; i < m->nxa; i++)
		if (!strcmp(m->xa[i].name, name))
			return &m->xa[i];
	return NULL;
}

static u32 xa_prefix(const char *name)
{
	if (!strncmp(name, "user.", 5))
		return 5;
	if (!strncmp(name, "trusted.", 8))
		return 8;
	if (!strncmp(name, "security.", 9))
		return 9;
	return 0;
}

static u32 xa_used(struct mnode *m)
{
	u32 used = 0;
	int i;

	for (i = 0; i < m->nxa; i++)
		used += TW_XATTR_ENTRY_LEN((u32)strlen(m->xa[i].name) -
						   xa_prefix(m->xa[i].name),
					   m->xa[i].vlen);
	return used;
}

/* A node lost its last name: free it unless an inode is held. */
static void node_unlinked(int n)
{
	if (nodes[n].nlink)
		return;
	if (nodes[n].held)
		return; /* an orphan until released */
	CHECK_EQ(tw_evict(fs, nodes[n].ino), 0);
	node_free(n);
}

/* ------------------------------------------------------------------------ */
/* Choosing operands                                                        */
/* ------------------------------------------------------------------------ */

static int *dirs_list;
static int ndirs_list;

static void collect_dirs(void)
{
	int i;

	free(dirs_list);
	dirs_list = malloc((nnodes + 1) * sizeof(int));
	REQUIRE(dirs_list);
	ndirs_list = 0;
	for (i = 1; i < nnodes; i++)
		if (nodes[i].type == T_DIR && (i == 1 || nodes[i].nlink))
			dirs_list[ndirs_list++] = i;
}

static int pick_dir(void)
{
	collect_dirs();
	return dirs_list[ct_below(&rng, ndirs_list)];
}

/* A name: mostly from a small set (collisions), sometimes long. */
static u32 pick_name(char *buf)
{
	u64 r = ct_below(&rng, 100);
	u32 len, i;

	if (r < 90)
		return (u32)sprintf(buf, "n%llu",
				    (unsigned long long)ct_below(&rng, 24));
	len = r < 99 ? (u32)ct_below(&rng, 200) + 20 : 255;
	for (i = 0; i < len; i++)
		buf[i] = (char)("abcdefghijklmnopqrstuvwxyz0123456789-_.#"
					[ct_below(&rng, 40)]);
	buf[0] = 'L';
	buf[len] = 0;
	return len;
}

/* An existing entry (dir, name) most of the time, or a missing name. */
static int pick_entry(int *dirp, char *name, u32 *lenp)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		int d = pick_dir();
		struct mnode *m = &nodes[d];

		if (m->nents && ct_below(&rng, 10) < 9) {
			struct dent *e = &m->ents[ct_below(&rng, m->nents)];

			*dirp = d;
			memcpy(name, e->name, e->len + 1);
			*lenp = e->len;
			return e->node;
		}
	}
	*dirp = pick_dir();
	*lenp = pick_name(name);
	return dir_child(*dirp, name, *lenp);
}

/* A random live node of @type (0: any), via the tree or the held list. */
static int pick_node(int type)
{
	int tries, d, n;
	char name[300];
	u32 len;

	if (nheld && ct_below(&rng, 6) == 0) {
		n = held[ct_below(&rng, nheld)];
		if (!type || nodes[n].type == type)
			return n;
	}
	for (tries = 0; tries < 16; tries++) {
		n = pick_entry(&d, name, &len);
		if (n && (!type || nodes[n].type == type))
			return n;
	}
	return type == T_DIR || !type ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Comparing results                                                        */
/* ------------------------------------------------------------------------ */

/*
 * The errors an operation may give: if any applies, the result must be one
 * of them (POSIX leaves the order of detection open); if none, success.
 * With @nospc, ENOSPC is also acceptable (the fill phase).
 */
struct errset {
	int e[8];
	int n;
	bool nospc;
};

static void eadd(struct errset *s, int e)
{
	if (s->n < 8)
		s->e[s->n++] = e;
}

static void expect_err(long long err, const struct errset *s, const char *what)
{
	int i;

	if (s->nospc && err == -ENOSPC)
		return;
	if (s->n == 0) {
		if (err < 0) {
			ct_fail_hdr(__FILE__, __LINE__);
			fprintf(stderr, "%s: %lld%s, expected success\n", what,
				err, ct_errname(err));
			ct_failed();
		}
		return;
	}
	for (i = 0; i < s->n; i++)
		if (err == -s->e[i])
			return;
	ct_fail_hdr(__FILE__, __LINE__);
	fprintf(stderr, "%s: %lld%s, expected", what, err, ct_errname(err));
	for (i = 0; i < s->n; i++)
		fprintf(stderr, " %s-%s", i ? "or " : "",
			strerrorname_np(s->e[i]));
	fprintf(stderr, "\n");
	ct_failed();
}

static void check_attr(int n, const struct tw_attr *a, const char *what)
{
	struct mnode *m = &nodes[n];

	if (a->ino != m->ino || a->mode != node_mode(n) ||
	    a->nlink != m->nlink || (m->type == T_REG && a->size != m->size) ||
	    (m->type == T_LNK && a->size != m->tlen)) {
		ct_fail_hdr(__FILE__, __LINE__);
		fprintf(stderr,
			"%s: ino %llu mode 0%o nlink %u size %llu; model: ino %llu mode 0%o nlink %u size %llu\n",
			what, (unsigned long long)a->ino, a->mode, a->nlink,
			(unsigned long long)a->size, (unsigned long long)m->ino,
			node_mode(n), m->nlink,
			(unsigned long long)(m->type == T_LNK ? m->tlen :
								m->size));
		ct_failed();
	}
}

static void check_getattr(int n, const char *what)
{
	struct tw_attr a;
	int err = tw_getattr(fs, nodes[n].ino, &a);

	CHECK_EQ(err, 0);
	if (!err)
		check_attr(n, &a, what);
}

/* Compare a file's contents: every chunk, the holes between, the tail. */
static void check_data(int n, bool full)
{
	struct mnode *m = &nodes[n];
	static u8 got[CHUNK * 4], want[CHUNK * 4];
	u64 pos;
	int i;

	if (full && m->size <= (4u << 20)) {
		for (pos = 0; pos < m->size; pos += sizeof(got)) {
			u64 len = m->size - pos < sizeof(got) ? m->size - pos :
								sizeof(got);

			CHECK_EQ(tw_read(fs, m->ino, pos, got, len),
				 (ssize_t)len);
			model_read(m, pos, want, len);
			if (memcmp(got, want, len)) {
				ct_fail_hdr(__FILE__, __LINE__);
				fprintf(stderr,
					"ino %llu: data differs in [%llu, %llu)\n",
					(unsigned long long)m->ino,
					(unsigned long long)pos,
					(unsigned long long)(pos + len));
				ct_failed();
				return;
			}
		}
		return;
	}
	/* a big sparse file: its chunks, a hole sample and the end */
	for (i = 0; i <= m->nchunks; i++) {
		u64 start = i < m->nchunks ?
				    m->chunks[i].idx * CHUNK :
				    (m->size > CHUNK ? m->size - CHUNK : 0);
		u64 len = CHUNK + 100;

		if (i < m->nchunks && start >= 100)
			start -= 100; /* and a bit of what comes before */
		if (start >= m->size)
			continue;
		if (len > m->size - start)
			len = m->size - start;
		CHECK_EQ(tw_read(fs, m->ino, start, got, len), (ssize_t)len);
		model_read(m, start, want, len);
		if (memcmp(got, want, len)) {
			ct_fail_hdr(__FILE__, __LINE__);
			fprintf(stderr,
				"ino %llu: data differs in [%llu, %llu)\n",
				(unsigned long long)m->ino,
				(unsigned long long)start,
				(unsigned long long)(start + len));
			ct_failed();
			return;
		}
	}
}

static void check_xattrs(int n)
{
	struct mnode *m = &nodes[n];
	char list[8192], *p;
	static u8 val[4096];
	ssize_t r;
	int count = 0, i;

	r = tw_listxattr(fs, m->ino, list, sizeof(list));
	CHECK(r >= 0);
	if (r < 0)
		return;
	CHECK_EQ(tw_listxattr(fs, m->ino, NULL, 0), r);
	for (p = list; p < list + r; p += strlen(p) + 1) {
		struct mxattr *x = xa_find(m, p);

		count++;
		if (!x) {
			ct_fail_hdr(__FILE__, __LINE__);
			fprintf(stderr, "ino %llu: xattr %s not in the model\n",
				(unsigned long long)m->ino, p);
			ct_failed();
		}
	}
	CHECK_EQ(count, m->nxa);
	for (i = 0; i < m->nxa; i++) {
		r = tw_getxattr(fs, m->ino, m->xa[i].name, val, sizeof(val));
		CHECK_EQ(r, m->xa[i].vlen);
		if (r == m->xa[i].vlen && memcmp(val, m->xa[i].val, r))
			CHECK(!"xattr value differs");
	}
}

/* readdir of directory @d: exactly the model's entries. */
struct rd {
	int d;
	u8 *seen;
	int dots, dotdots, extra, bad;
};

static int rd_fn(void *ctx, const char *name, u32 len, u64 ino, u32 dtype,
		 u64 next)
{
	struct rd *r = ctx;
	struct mnode *m = &nodes[r->d];
	int i;

	if (len == 1 && name[0] == '.') {
		r->dots++;
		r->bad += ino != m->ino;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		r->dotdots++;
		r->bad += ino != nodes[r->d == 1 ? 1 : m->parent].ino;
		return 0;
	}
	i = dir_find(r->d, name, len);
	if (i < 0) {
		if (r->extra++ < 3)
			fprintf(stderr, "  readdir: unexpected '%.*s'\n",
				(int)len, name);
		return 0;
	}
	r->seen[i]++;
	if (ino != nodes[m->ents[i].node].ino ||
	    dtype != (u32)node_dtype(m->ents[i].node)) {
		if (r->bad++ < 3)
			fprintf(stderr,
				"  readdir: '%.*s' ino %llu type %u, model ino %llu type %d\n",
				(int)len, name, (unsigned long long)ino, dtype,
				(unsigned long long)nodes[m->ents[i].node].ino,
				node_dtype(m->ents[i].node));
	}
	return 0;
}

static void check_dir(int d)
{
	struct mnode *m = &nodes[d];
	struct rd r;
	int i, missing = 0;

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.seen = calloc(m->nents + 1, 1);
	REQUIRE(r.seen);
	CHECK_EQ(tw_readdir(fs, m->ino, 0, rd_fn, &r), 0);
	for (i = 0; i < m->nents; i++) {
		if (r.seen[i] != 1 && missing++ < 3)
			fprintf(stderr,
				"  readdir of %llu: '%s' seen %u times\n",
				(unsigned long long)m->ino, m->ents[i].name,
				r.seen[i]);
	}
	CHECK_EQ(missing, 0);
	CHECK_EQ(r.extra, 0);
	CHECK_EQ(r.bad, 0);
	CHECK_EQ(r.dots, 1);
	CHECK_EQ(r.dotdots, 1);
	free(r.seen);
}

/* The whole tree, and the filesystem's own consistency. */
static void compare_all(bool full_data)
{
	struct ct_walk w;
	struct tw_statfs st;
	u64 orphans = 0, orphan_blocks = 0, reach = 0;
	int i, before = ct_failures;

	for (i = 1; i < nnodes; i++) {
		struct mnode *m = &nodes[i];

		if (m->type == T_FREE)
			continue;
		check_getattr(i, "compare");
		if (m->type == T_DIR)
			check_dir(i);
		else if (m->type == T_REG)
			check_data(i, full_data);
		else {
			char t[TW_SYML_MAX + 1];

			CHECK_EQ(tw_readlink(fs, m->ino, t, sizeof(t)),
				 m->tlen);
			CHECK(!memcmp(t, m->target, m->tlen));
		}
		check_xattrs(i);
		if (m->nlink == 0) {
			struct tw_attr a;

			orphans++;
			if (!tw_getattr(fs, m->ino, &a))
				orphan_blocks += a.blocks / 8;
		} else {
			reach++;
		}
	}
	/* the walk sees the tree; statfs also counts held orphans */
	ct_walk_no_statfs = true;
	CHECK_EQ(ct_walk_check(fs, &w), 0);
	ct_walk_no_statfs = false;
	tw_statfs(fs, &st);
	CHECK_EQ(w.ninodes, reach);
	CHECK_EQ(st.files - st.ffree, w.ninodes + orphans);
	CHECK_EQ(st.blocks - st.bfree, w.nblocks + orphan_blocks);
	if (ct_failures != before)
		fprintf(stderr, "  (tree comparison failed)\n");
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

static bool room(void)
{
	return fill_phase || (live_nodes < MAX_NODES && model_bytes < MAX_DATA);
}

/* In the fill phase an operation may fail for want of space. */
static void maybe_nospc(struct errset *e)
{
	if (fill_phase)
		e->nospc = true;
}

static void op_create(int type)
{
	int d = pick_dir(), n;
	char name[300], target[TW_SYML_MAX + 2];
	u32 len = pick_name(name), tlen = 0;
	struct errset e = { 0 };
	struct tw_attr a;
	u32 perm = (u32)ct_below(&rng, 01000);
	int err;

	if (!room())
		return;
	if (type == T_LNK) {
		u64 r = ct_below(&rng, 100);
		u32 i;

		tlen = r < 60 ? (u32)ct_below(&rng, TW_INLINE_MAX) + 1 :
		       r < 95 ? (u32)ct_below(&rng, 400) + 1 :
		       r < 98 ? TW_SYML_MAX :
				TW_SYML_MAX + 1;
		for (i = 0; i < tlen; i++)
			target[i] = (char)('!' + ct_below(&rng, 90));
	}
	n = dir_child(d, name, len);
	if (n)
		eadd(&e, EEXIST);
	if (type == T_LNK && tlen > TW_SYML_MAX) {
		/* (only for new names: Linux checks the name first) */
		if (n)
			return;
		eadd(&e, ENAMETOOLONG);
	}
	maybe_nospc(&e);
	switch (type) {
	case T_REG:
		op_name = "create";
		err = tw_mknod(fs, &ct_root, nodes[d].ino, name, len,
			       TW_S_IFREG | perm, 0, &a);
		break;
	case T_DIR:
		op_name = "mkdir";
		if (nodes[d].perm & TW_S_ISGID)
			perm |= TW_S_ISGID; /* inherited */
		err = tw_mkdir(fs, &ct_root, nodes[d].ino, name, len, perm, &a);
		break;
	default:
		op_name = "symlink";
		perm = 0777;
		err = tw_symlink(fs, &ct_root, nodes[d].ino, name, len, target,
				 tlen, &a);
		break;
	}
	VLOG("dir %llu '%s' -> %d", (unsigned long long)nodes[d].ino, name,
	     err);
	expect_err(err, &e, op_name);
	if (err)
		return;
	n = node_new(type, perm, a.ino);
	if (type == T_LNK) {
		nodes[n].target = malloc(tlen);
		REQUIRE(nodes[n].target);
		memcpy(nodes[n].target, target, tlen);
		nodes[n].tlen = tlen;
	}
	dir_add(d, name, len, n);
	check_attr(n, &a, op_name);
}

static void op_write(void)
{
	int n = pick_node(0);
	static u8 buf[70000];
	u64 off, len, r = ct_below(&rng, 100);
	struct errset e = { 0 };
	ssize_t got;

	op_name = "write";
	if (!n || !room())
		return;
	if (r < 70)
		off = ct_below(&rng, 200000);
	else if (r < 85)
		off = nodes[n].size + ct_below(&rng, 10000);
	else if (r < 97)
		off = ct_below(&rng, 4u << 20);
	else
		off = ct_below(&rng, 1ull << 40); /* far: deep indirection */
	len = ct_below(&rng, 100) < 80 ? ct_below(&rng, 9000) :
					 ct_below(&rng, sizeof(buf));
	ct_fill(buf, len, op_no, 0);
	if (nodes[n].type == T_DIR)
		eadd(&e, EISDIR);
	else if (nodes[n].type == T_LNK)
		eadd(&e, EINVAL);
	maybe_nospc(&e);
	got = tw_write(fs, nodes[n].ino, off, buf, len);
	VLOG("ino %llu [%llu, +%llu) -> %zd", (unsigned long long)nodes[n].ino,
	     (unsigned long long)off, (unsigned long long)len, got);
	if (fill_phase && got >= 0 && (u64)got < len) {
		/* short for want of space: what was written is there */
		model_write(&nodes[n], off, buf, (u64)got);
		return;
	}
	if (got >= 0 && (u64)got != len) {
		CHECK_EQ(got, len);
		return;
	}
	expect_err(got, &e, "write");
	if (got == (ssize_t)len) {
		model_write(&nodes[n], off, buf, len);
		if (ct_below(&rng, 4) == 0)
			check_getattr(n, "write");
	}
}

static void op_read(void)
{
	int n = pick_node(0);
	static u8 got[70000], want[70000];
	u64 off, len, r = ct_below(&rng, 100), size;
	ssize_t res;

	op_name = "read";
	if (!n)
		return;
	size = nodes[n].size;
	off = r < 80 ? ct_below(&rng, size + 100) :
	      r < 90 ? size + ct_below(&rng, 100) :
		       ct_below(&rng, 1ull << 41);
	len = ct_below(&rng, sizeof(got));
	res = tw_read(fs, nodes[n].ino, off, got, len);
	VLOG("ino %llu [%llu, +%llu) -> %zd", (unsigned long long)nodes[n].ino,
	     (unsigned long long)off, (unsigned long long)len, res);
	if (nodes[n].type != T_REG) {
		struct errset e = { 0 };

		eadd(&e, nodes[n].type == T_DIR ? EISDIR : EINVAL);
		expect_err(res, &e, "read");
		return;
	}
	if (off >= size)
		len = 0;
	else if (len > size - off)
		len = size - off;
	CHECK_EQ(res, (ssize_t)len);
	if (res == (ssize_t)len) {
		model_read(&nodes[n], off, want, len);
		if (memcmp(got, want, len)) {
			ct_fail_hdr(__FILE__, __LINE__);
			fprintf(stderr,
				"read of ino %llu [%llu, +%llu): data differs\n",
				(unsigned long long)nodes[n].ino,
				(unsigned long long)off,
				(unsigned long long)len);
			ct_failed();
		}
	}
}

static void op_truncate(void)
{
	int n = pick_node(0);
	u64 size, r = ct_below(&rng, 100);
	struct errset e = { 0 };
	struct tw_setattr sa = { 0 };
	struct tw_attr a;
	int err;

	op_name = "truncate";
	if (!n || !room())
		return;
	size = nodes[n].size;
	if (r < 40)
		size = size ? ct_below(&rng, size) : 0;
	else if (r < 70)
		size = size + ct_below(&rng, 100000);
	else if (r < 90)
		size = ct_below(&rng, 300000);
	else
		size = ct_below(&rng, 1ull << 36);
	if (nodes[n].type == T_DIR)
		eadd(&e, EISDIR);
	else if (nodes[n].type == T_LNK)
		eadd(&e, EINVAL);
	sa.valid = TW_SET_SIZE;
	sa.size = size;
	err = tw_setattr(fs, nodes[n].ino, &sa, &a);
	VLOG("ino %llu to %llu -> %d", (unsigned long long)nodes[n].ino,
	     (unsigned long long)size, err);
	expect_err(err, &e, "truncate");
	if (!err) {
		model_truncate(&nodes[n], size);
		check_attr(n, &a, "truncate");
	}
}

static void op_chmod(void)
{
	int n = pick_node(0);
	struct tw_setattr sa = { 0 };
	struct tw_attr a;
	int err;

	op_name = "chmod";
	if (!n)
		return;
	sa.valid = TW_SET_MODE;
	sa.mode = (u32)ct_below(&rng, 010000);
	err = tw_setattr(fs, nodes[n].ino, &sa, &a);
	CHECK_EQ(err, 0);
	if (!err) {
		nodes[n].perm = sa.mode & 07777;
		check_attr(n, &a, "chmod");
	}
}

static void op_unlink(bool rmdir)
{
	int d, n;
	char name[300];
	u32 len, nl = 99;
	u64 ino = 0;
	struct errset e = { 0 };
	int err;

	op_name = rmdir ? "rmdir" : "unlink";
	n = pick_entry(&d, name, &len);
	if (!n)
		eadd(&e, ENOENT);
	else if (rmdir && nodes[n].type != T_DIR)
		eadd(&e, ENOTDIR);
	else if (!rmdir && nodes[n].type == T_DIR)
		eadd(&e, EISDIR);
	else if (rmdir && nodes[n].nents)
		eadd(&e, ENOTEMPTY);
	err = rmdir ? tw_rmdir(fs, nodes[d].ino, name, len, &ino, &nl) :
		      tw_unlink(fs, nodes[d].ino, name, len, &ino, &nl);
	VLOG("dir %llu '%s' -> %d (ino %llu, nlink %u)",
	     (unsigned long long)nodes[d].ino, name, err,
	     (unsigned long long)ino, nl);
	expect_err(err, &e, op_name);
	if (err)
		return;
	CHECK_EQ(ino, nodes[n].ino);
	dir_del(d, name, len);
	nodes[n].nlink = nodes[n].type == T_DIR ? 0 : nodes[n].nlink - 1;
	CHECK_EQ(nl, nodes[n].nlink);
	node_unlinked(n);
}

static void op_link(void)
{
	int n = pick_node(0), d = pick_dir();
	char name[300];
	u32 len = pick_name(name);
	struct errset e = { 0 };
	struct tw_attr a;
	int err;

	op_name = "link";
	if (!n || !room())
		return;
	if (nodes[n].type == T_DIR) {
		/* Linux checks the new name before the type: only new */
		if (dir_child(d, name, len))
			return;
		eadd(&e, EPERM);
	} else if (!nodes[n].nlink) {
		if (dir_child(d, name, len))
			return;
		eadd(&e, ENOENT);
	} else if (dir_child(d, name, len)) {
		eadd(&e, EEXIST);
	}
	maybe_nospc(&e);
	err = tw_link(fs, nodes[n].ino, nodes[d].ino, name, len, &a);
	VLOG("ino %llu as dir %llu '%s' -> %d",
	     (unsigned long long)nodes[n].ino, (unsigned long long)nodes[d].ino,
	     name, err);
	expect_err(err, &e, "link");
	if (err)
		return;
	nodes[n].nlink++;
	dir_add(d, name, len, n);
	check_attr(n, &a, "link");
}

static void op_rename(void)
{
	static const u32 flagset[] = { 0, 0, 0, TW_RENAME_NOREPLACE,
				       TW_RENAME_EXCHANGE };
	u32 flags = flagset[ct_below(&rng, CT_ARRAY_SIZE(flagset))];
	int od, nd, s, t;
	char on[300], nn[300];
	u32 ol, nl, vn = 99;
	u64 victim = 0;
	struct errset e = { 0 };
	bool sdir, tdir;
	int err;

	op_name = flags == TW_RENAME_EXCHANGE ? "rename-exchange" :
		  flags			      ? "rename-noreplace" :
						"rename";
	s = pick_entry(&od, on, &ol);
	if (ct_below(&rng, 2))
		t = pick_entry(&nd, nn, &nl);
	else {
		nd = pick_dir();
		nl = pick_name(nn);
		t = dir_child(nd, nn, nl);
	}
	sdir = s && nodes[s].type == T_DIR;
	tdir = t && nodes[t].type == T_DIR;
	/*
	 * Every error that applies; POSIX lets the order of detection be
	 * anything.  Two names of one inode: rename does nothing, but
	 * RENAME_NOREPLACE still refuses (renameat2()).
	 */
	if (!s) {
		eadd(&e, ENOENT);
	} else if (s != t || flags == TW_RENAME_NOREPLACE) {
		if (flags == TW_RENAME_EXCHANGE && !t)
			eadd(&e, ENOENT);
		if (flags == TW_RENAME_NOREPLACE && t)
			eadd(&e, EEXIST);
		if (sdir && is_anc(s, nd))
			eadd(&e, EINVAL);
		if (t && tdir && is_anc(t, od))
			eadd(&e,
			     flags == TW_RENAME_EXCHANGE ? EINVAL : ENOTEMPTY);
		if (t && flags != TW_RENAME_EXCHANGE) {
			if (sdir && !tdir)
				eadd(&e, ENOTDIR);
			if (!sdir && tdir)
				eadd(&e, EISDIR);
			if (tdir && nodes[t].nents)
				eadd(&e, ENOTEMPTY);
		}
	}
	maybe_nospc(&e);
	err = tw_rename(fs, NULL, nodes[od].ino, on, ol, nodes[nd].ino, nn, nl,
			flags, &victim, &vn);
	VLOG("dir %llu '%s' -> dir %llu '%s' -> %d (victim %llu, nlink %u)",
	     (unsigned long long)nodes[od].ino, on,
	     (unsigned long long)nodes[nd].ino, nn, err,
	     (unsigned long long)victim, vn);
	expect_err(err, &e, op_name);
	if (err || s == t)
		return;
	if (flags == TW_RENAME_EXCHANGE) {
		int i = dir_find(od, on, ol), k = dir_find(nd, nn, nl);

		nodes[od].ents[i].node = t;
		nodes[nd].ents[k].node = s;
		if (od != nd) {
			if (sdir) {
				nodes[od].nlink--;
				nodes[nd].nlink++;
				nodes[s].parent = nd;
			}
			if (tdir) {
				nodes[nd].nlink--;
				nodes[od].nlink++;
				nodes[t].parent = od;
			}
		}
		return;
	}
	dir_del(od, on, ol);
	if (t) {
		CHECK_EQ(victim, nodes[t].ino);
		dir_del(nd, nn, nl);
		nodes[t].nlink = tdir ? 0 : nodes[t].nlink - 1;
		CHECK_EQ(vn, nodes[t].nlink);
		node_unlinked(t);
	} else {
		CHECK_EQ(victim, 0);
	}
	dir_add(nd, nn, nl, s);
}

static void op_readlink(void)
{
	int n = pick_node(0);
	char buf[TW_SYML_MAX + 16];
	size_t size;
	ssize_t r;

	op_name = "readlink";
	if (!n)
		return;
	size = ct_below(&rng, 4) ? sizeof(buf) : ct_below(&rng, 200) + 1;
	r = tw_readlink(fs, nodes[n].ino, buf, size);
	if (nodes[n].type != T_LNK) {
		struct errset e = { 0 };

		eadd(&e, EINVAL);
		expect_err(r, &e, "readlink");
		return;
	}
	CHECK_EQ(r, nodes[n].tlen < size ? nodes[n].tlen : size);
	if (r > 0)
		CHECK(!memcmp(buf, nodes[n].target, (size_t)r));
}

static void op_lookup(void)
{
	int d, n;
	char name[300];
	u32 len;
	struct tw_attr a;
	int err;

	op_name = "lookup";
	n = pick_entry(&d, name, &len);
	err = tw_lookup(fs, nodes[d].ino, name, len, &a);
	if (!n) {
		CHECK_EQ(err, -ENOENT);
		return;
	}
	CHECK_EQ(err, 0);
	if (!err)
		check_attr(n, &a, "lookup");
	if (nodes[n].type == T_DIR && ct_below(&rng, 2)) {
		err = tw_lookup(fs, nodes[n].ino, "..", 2, &a);
		CHECK_EQ(err, 0);
		if (!err)
			CHECK_EQ(a.ino, nodes[d].ino);
	}
}

static void op_xattr(void)
{
	static const char *const ns[] = { "user.", "trusted.", "security.",
					  "user.", "system." };
	int n = pick_node(0), which = (int)ct_below(&rng, 100);
	struct mnode *m;
	char name[300];
	static u8 val[5000], got[5000];
	struct mxattr *x;
	const char *pfx;
	u32 vlen;
	struct errset e = { 0 };
	int err;

	if (!n)
		return;
	m = &nodes[n];
	pfx = ns[ct_below(&rng, ct_below(&rng, 20) ? 4 : 5)];
	if (ct_below(&rng, 30))
		sprintf(name, "%sx%llu", pfx,
			(unsigned long long)ct_below(&rng, 6));
	else
		sprintf(name, "%s%0*d", pfx, 200, 7);
	x = xa_find(m, name);
	if (which < 50) {
		u32 flags = (u32)ct_below(&rng, 3); /* 0, CREATE, REPLACE */
		u32 need, used = xa_used(m);

		op_name = "setxattr";
		vlen = ct_below(&rng, 10) ? (u32)ct_below(&rng, 200) :
					    (u32)ct_below(&rng, 4100);
		ct_fill(val, vlen, op_no, 0);
		need = TW_XATTR_ENTRY_LEN((u32)strlen(name) - xa_prefix(name),
					  vlen);
		if (!xa_prefix(name)) {
			eadd(&e, EOPNOTSUPP);
		} else if (need > TW_XATTR_SPACE) {
			eadd(&e, E2BIG);
		} else if (flags == TW_XATTR_CREATE && x) {
			eadd(&e, EEXIST);
		} else if (flags == TW_XATTR_REPLACE && !x) {
			eadd(&e, ENODATA);
		} else {
			u32 old =
				x ? TW_XATTR_ENTRY_LEN((u32)strlen(name) -
							       xa_prefix(name),
						       x->vlen) :
				    0;

			if (used - old + need > TW_XATTR_SPACE)
				eadd(&e, ENOSPC);
			else if (!m->nxa)
				maybe_nospc(&e); /* needs a block */
		}
		err = tw_setxattr(fs, m->ino, name, val, vlen, flags);
		VLOG("ino %llu %s (%u bytes, flags %u) -> %d",
		     (unsigned long long)m->ino, name, vlen, flags, err);
		expect_err(err, &e, "setxattr");
		if (err)
			return;
		if (!x) {
			m->xa = realloc(m->xa, (m->nxa + 1) * sizeof(*m->xa));
			REQUIRE(m->xa);
			x = &m->xa[m->nxa++];
			memset(x, 0, sizeof(*x));
			snprintf(x->name, sizeof(x->name), "%s", name);
		}
		free(x->val);
		x->val = malloc(vlen + 1);
		REQUIRE(x->val);
		memcpy(x->val, val, vlen);
		x->vlen = vlen;
	} else if (which < 80) {
		size_t size =
			ct_below(&rng, 5) ? sizeof(got) : ct_below(&rng, 50);
		ssize_t r;

		op_name = "getxattr";
		r = tw_getxattr(fs, m->ino, name, size ? got : NULL, size);
		if (!xa_prefix(name))
			eadd(&e, EOPNOTSUPP);
		else if (!x)
			eadd(&e, ENODATA);
		else if (size && size < x->vlen)
			eadd(&e, ERANGE);
		expect_err(r, &e, "getxattr");
		if (r >= 0) {
			CHECK_EQ(r, x->vlen);
			if (size && r == x->vlen)
				CHECK(!memcmp(got, x->val, x->vlen));
		}
	} else if (which < 95) {
		op_name = "removexattr";
		if (!xa_prefix(name))
			eadd(&e, EOPNOTSUPP);
		else if (!x)
			eadd(&e, ENODATA);
		err = tw_removexattr(fs, m->ino, name);
		expect_err(err, &e, "removexattr");
		if (!err) {
			free(x->val);
			*x = m->xa[--m->nxa];
		}
	} else {
		op_name = "listxattr";
		check_xattrs(n);
	}
}

/* Hold an inode as a home would (it stays after its last link goes), or
 * let one go. */
static void op_hold(void)
{
	op_name = "hold";
	if (nheld && (nheld == MAX_HELD || ct_below(&rng, 2))) {
		int i = (int)ct_below(&rng, nheld), n = held[i];

		held[i] = held[--nheld];
		nodes[n].held = false;
		VLOG("release ino %llu (nlink %u)",
		     (unsigned long long)nodes[n].ino, nodes[n].nlink);
		if (!nodes[n].nlink) {
			CHECK_EQ(tw_evict(fs, nodes[n].ino), 0);
			node_free(n);
		}
		return;
	}
	{
		int n = pick_node(T_REG);

		if (!n || nodes[n].held)
			return;
		nodes[n].held = true;
		held[nheld++] = n;
		VLOG("hold ino %llu", (unsigned long long)nodes[n].ino);
	}
}

static void remount(void)
{
	int i;

	op_name = "remount";
	VLOG("remount with %d held", nheld);
	fs = ct_remount(fs);
	/* the home's references are gone: orphans were freed by mount */
	for (i = 0; i < nheld; i++) {
		int n = held[i];

		nodes[n].held = false;
		if (!nodes[n].nlink) {
			struct tw_attr a;

			CHECK(tw_getattr(fs, nodes[n].ino, &a) < 0);
			node_free(n);
		}
	}
	nheld = 0;
	compare_all(true);
}

static void one_op(void)
{
	u64 r = ct_below(&rng, 1000);

	stats[r / 50]++;
	if (r < 80)
		op_create(T_REG);
	else if (r < 120)
		op_create(T_DIR);
	else if (r < 140)
		op_create(T_LNK);
	else if (r < 330)
		op_write();
	else if (r < 450)
		op_read();
	else if (r < 520)
		op_truncate();
	else if (r < 600)
		op_unlink(false);
	else if (r < 640)
		op_unlink(true);
	else if (r < 740)
		op_rename();
	else if (r < 780)
		op_link();
	else if (r < 800)
		op_readlink();
	else if (r < 860)
		op_lookup();
	else if (r < 940)
		op_xattr();
	else if (r < 960)
		op_chmod();
	else if (r < 985)
		op_hold();
	else if (r < 990) {
		op_name = "sync";
		CHECK_EQ(tw_sync(fs), 0);
	} else if (r < 992)
		remount();
	else {
		op_name = "getattr";
		check_getattr(pick_node(0), "getattr");
	}
}

/* Fill the filesystem: writes until ENOSPC, every result still exact. */
static void fill_to_enospc(void)
{
	struct tw_statfs st;
	int rounds = 0, n;
	static u8 buf[1 << 16];

	fill_phase = true;
	op_name = "fill";
	/* big files until the writes come back short */
	for (;;) {
		char name[32];
		struct tw_attr a;
		ssize_t r;
		int err;

		snprintf(name, sizeof(name), "fill%d", rounds++);
		err = tw_mknod(fs, &ct_root, ROOT, name, (u32)strlen(name),
			       TW_S_IFREG | 0600, 0, &a);
		if (err) {
			CHECK_EQ(err, -ENOSPC);
			break;
		}
		n = node_new(T_REG, 0600, a.ino);
		dir_add(1, name, (u32)strlen(name), n);
		ct_fill(buf, sizeof(buf), 7777 + (u64)rounds, 0);
		r = tw_write(fs, a.ino, 0, buf, sizeof(buf));
		if (r > 0)
			model_write(&nodes[n], 0, buf, (u64)r);
		if (r != (ssize_t)sizeof(buf)) {
			CHECK(r == -ENOSPC ||
			      (r >= 0 && r < (ssize_t)sizeof(buf)));
			break;
		}
		op_no++;
	}
	tw_statfs(fs, &st);
	fprintf(stderr, "  filled after %d files: %llu blocks free\n", rounds,
		(unsigned long long)st.bfree);
	CHECK(st.bfree < 8);
	/* random operations on a full filesystem */
	for (n = 0; n < 2000; n++, op_no++)
		one_op();
	compare_all(false);
	remount();
}

int main(int argc, char **argv)
{
	const char *s = getenv("TWINFS_SEED"), *o = getenv("TWINFS_MODEL_OPS");
	struct tw_dev *dev;
	double t0 = ct_seconds();
	int i;

	seed = argc > 1 ? strtoull(argv[1], NULL, 0) :
	       s	? strtoull(s, NULL, 0) :
			  1;
	nops = argc > 2 ? strtoull(argv[2], NULL, 0) :
	       o	? strtoull(o, NULL, 0) :
			  20000;
	verbose = getenv("TWINFS_MODEL_VERBOSE") &&
		  atoi(getenv("TWINFS_MODEL_VERBOSE"));
	fprintf(stderr, "test_model: seed %llu, %llu operations\n",
		(unsigned long long)seed, (unsigned long long)nops);
	ct_context_hook = context;
	ct_rng_seed(&rng, seed);

	dev = ct_ram_mkfs(FS_BLOCKS, FS_INODES, 0);
	fs = ct_mount(dev);
	nnodes = 1; /* node 0 means "none" */
	i = node_new(T_DIR, 0755, ROOT);
	REQUIRE(i == 1);
	nodes[1].parent = 1;

	for (op_no = 1; op_no <= nops; op_no++) {
		one_op();
		if (op_no % 1000 == 0)
			compare_all(op_no % 5000 == 0);
		if (ct_failures > 20) {
			fprintf(stderr, "too many failures; stopping\n");
			break;
		}
	}
	op_name = "end";
	compare_all(true);
	remount();
	fprintf(stderr,
		"  %llu operations: %d nodes, %llu KiB in files (%.1f s)\n",
		(unsigned long long)nops, live_nodes,
		(unsigned long long)(model_bytes >> 10), ct_seconds() - t0);

	if (!ct_failures)
		fill_to_enospc();

	op_name = "unmount";
	CHECK_EQ(tw_unmount(fs), 0);
	ct_close(dev);
	for (i = 1; i < nnodes; i++)
		if (nodes[i].type != T_FREE)
			node_free(i);
	free(nodes);
	free(dirs_list);
	if (ct_failures)
		fprintf(stderr,
			"to replay: TWINFS_SEED=%llu %s (TWINFS_MODEL_VERBOSE=1 to trace)\n",
			(unsigned long long)seed, argv[0]);
	return ct_done();
}
