// SPDX-License-Identifier: GPL-2.0
/*
 * itable.c - the lookup counts the kernel holds on inodes.
 *
 * Layer: fusefs (user space).  Calls the C library and pthreads only.
 *
 * Every reply that hands the kernel an inode (lookup, create, mknod, mkdir,
 * symlink, link, and each readdirplus entry other than "." and "..") adds
 * one lookup; FORGET takes them back.  An inode whose last link goes away
 * while the kernel still holds it stays allocated (the core keeps it on
 * its orphan list) until the last lookup is forgotten: only then may the
 * home call tw_evict().  This table is that bookkeeping, sharded so that
 * the worker threads rarely meet on a lock.
 */
#include "fusefs.h"

#include <errno.h>
#include <stdlib.h>

#define TF_SHARDS 64u

struct tf_inode {
	u64 ino;
	u64 nlookup;
	u64 nopen; /* open files (and directories) of the kernel */
	bool unlinked; /* no links left: evict when nlookup reaches 0 */
	struct tf_inode *next;
};

struct tf_shard {
	pthread_mutex_t lock;
	struct tf_inode **bucket;
	u32 nbuckets; /* a power of two */
	u32 count;
};

struct tf_itable {
	struct tf_shard shard[TF_SHARDS];
};

static inline u64 mix(u64 ino)
{
	ino ^= ino >> 33;
	ino *= 0xff51afd7ed558ccdull;
	ino ^= ino >> 33;
	return ino;
}

static struct tf_shard *shard_of(struct tf_itable *t, u64 ino, u64 *h)
{
	*h = mix(ino);
	return &t->shard[*h % TF_SHARDS];
}

static struct tf_inode **slot(struct tf_shard *s, u64 h, u64 ino)
{
	struct tf_inode **p = &s->bucket[(h / TF_SHARDS) & (s->nbuckets - 1)];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* Double the buckets; on failure keep the longer chains. */
static void grow(struct tf_shard *s)
{
	u32 n = s->nbuckets * 2, i;
	struct tf_inode **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		struct tf_inode *e = s->bucket[i], *next;

		for (; e; e = next) {
			u64 b = (mix(e->ino) / TF_SHARDS) & (n - 1);

			next = e->next;
			e->next = nb[b];
			nb[b] = e;
		}
	}
	free(s->bucket);
	s->bucket = nb;
	s->nbuckets = n;
}

struct tf_itable *tf_itable_new(void)
{
	struct tf_itable *t = calloc(1, sizeof(*t));
	u32 i;

	if (!t)
		return NULL;
	for (i = 0; i < TF_SHARDS; i++) {
		struct tf_shard *s = &t->shard[i];

		pthread_mutex_init(&s->lock, NULL);
		s->nbuckets = 16;
		s->bucket = calloc(s->nbuckets, sizeof(*s->bucket));
		if (!s->bucket) {
			tf_itable_free(t);
			return NULL;
		}
	}
	return t;
}

void tf_itable_free(struct tf_itable *t)
{
	u32 i, b;

	if (!t)
		return;
	for (i = 0; i < TF_SHARDS; i++) {
		struct tf_shard *s = &t->shard[i];

		for (b = 0; s->bucket && b < s->nbuckets; b++) {
			struct tf_inode *e = s->bucket[b], *next;

			for (; e; e = next) {
				next = e->next;
				free(e);
			}
		}
		free(s->bucket);
		pthread_mutex_destroy(&s->lock);
	}
	free(t);
}

int tf_iref(struct tf_itable *t, u64 ino, u64 n)
{
	struct tf_shard *s;
	struct tf_inode **p, *e;
	u64 h;
	int err = 0;

	if (ino == FUSE_ROOT_ID)
		return 0; /* the kernel never forgets the root */
	s = shard_of(t, ino, &h);
	pthread_mutex_lock(&s->lock);
	p = slot(s, h, ino);
	if (*p) {
		(*p)->nlookup += n;
	} else {
		e = calloc(1, sizeof(*e));
		if (!e) {
			err = -ENOMEM;
		} else {
			e->ino = ino;
			e->nlookup = n;
			*p = e;
			if (++s->count > s->nbuckets * 2)
				grow(s);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int tf_iunref(struct tf_itable *t, u64 ino, u64 n)
{
	struct tf_shard *s;
	struct tf_inode **p, *e;
	int ret = 0;
	u64 h;

	if (ino == FUSE_ROOT_ID)
		return 0;
	s = shard_of(t, ino, &h);
	pthread_mutex_lock(&s->lock);
	p = slot(s, h, ino);
	e = *p;
	if (!e) {
		pthread_mutex_unlock(&s->lock);
		tf_logf(TW_LOG_WARN,
			"forget of inode %llu the kernel did not hold",
			(unsigned long long)ino);
		return 0;
	}
	if (n > e->nlookup) {
		tf_logf(TW_LOG_WARN,
			"forget of %llu lookups of inode %llu, which has %llu",
			(unsigned long long)n, (unsigned long long)ino,
			(unsigned long long)e->nlookup);
		n = e->nlookup;
	}
	e->nlookup -= n;
	if (!e->nlookup) {
		*p = e->next;
		s->count--;
		if (e->unlinked)
			ret = TF_EVICT | (e->nopen ? 0 : TF_WAS_PENDING);
		free(e);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int tf_iunlinked(struct tf_itable *t, u64 ino)
{
	struct tf_shard *s;
	struct tf_inode **p;
	int ret;
	u64 h;

	s = shard_of(t, ino, &h);
	pthread_mutex_lock(&s->lock);
	p = slot(s, h, ino);
	if (!*p) {
		ret = TF_EVICT;
	} else {
		ret = (*p)->nopen || (*p)->unlinked ? 0 : TF_PENDING;
		(*p)->unlinked = true;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void tf_iopen(struct tf_itable *t, u64 ino)
{
	struct tf_shard *s;
	struct tf_inode **p;
	u64 h;

	s = shard_of(t, ino, &h);
	pthread_mutex_lock(&s->lock);
	p = slot(s, h, ino);
	if (*p)
		(*p)->nopen++;
	pthread_mutex_unlock(&s->lock);
}

int tf_irelease(struct tf_itable *t, u64 ino)
{
	struct tf_shard *s;
	struct tf_inode **p;
	int ret = 0;
	u64 h;

	s = shard_of(t, ino, &h);
	pthread_mutex_lock(&s->lock);
	p = slot(s, h, ino);
	if (*p && (*p)->nopen) {
		(*p)->nopen--;
		if (!(*p)->nopen && (*p)->unlinked)
			ret = TF_PENDING;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void tf_idrain(struct tf_itable *t, void (*fn)(void *ctx, u64 ino), void *ctx)
{
	u32 i, b;

	for (i = 0; i < TF_SHARDS; i++) {
		struct tf_shard *s = &t->shard[i];

		pthread_mutex_lock(&s->lock);
		for (b = 0; b < s->nbuckets; b++) {
			struct tf_inode *e = s->bucket[b], *next;

			for (; e; e = next) {
				next = e->next;
				if (e->unlinked)
					fn(ctx, e->ino);
				free(e);
			}
			s->bucket[b] = NULL;
		}
		s->count = 0;
		pthread_mutex_unlock(&s->lock);
	}
}

u64 tf_icount(struct tf_itable *t)
{
	u64 n = 0;
	u32 i;

	for (i = 0; i < TF_SHARDS; i++) {
		pthread_mutex_lock(&t->shard[i].lock);
		n += t->shard[i].count;
		pthread_mutex_unlock(&t->shard[i].lock);
	}
	return n;
}
