/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_user_int.h - private declarations of the user-space environment.
 *
 * Layer: user-space environment, internal.  Included by the .c files of
 * user/ only.  May use the C library and pthreads.
 */
#ifndef TW_USER_INT_H
#define TW_USER_INT_H

#include "tw_user.h"

#include <pthread.h>

#define TW_BS TW_UDEV_BLOCK_SIZE

#define tw_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define TW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A doubly linked list, kernel style (circular, with a head node). */
struct tw_list {
	struct tw_list *next, *prev;
};

static inline void tw_list_init(struct tw_list *l)
{
	l->next = l;
	l->prev = l;
}

static inline bool tw_list_empty(const struct tw_list *l)
{
	return l->next == l;
}

static inline void tw_list_add_tail(struct tw_list *n, struct tw_list *head)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void tw_list_add(struct tw_list *n, struct tw_list *head)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void tw_list_del(struct tw_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	tw_list_init(n);
}

/* Statistics counters are bumped outside the device lock. */
#define tw_stat_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define tw_stat_get(p) __atomic_load_n((p), __ATOMIC_RELAXED)

/* Lock helpers that abort on a pthread error (a bug, never a condition). */
void tw_pmutex_lock(pthread_mutex_t *m);
void tw_pmutex_unlock(pthread_mutex_t *m);
void tw_pcond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int tw_pmutex_init(pthread_mutex_t *m);

/* Whether blocks [@blk, @blk + @n) exist on @be (and @n is not 0). */
static inline bool tw_backend_range_ok(const struct tw_backend *be, u64 blk,
				       u32 n)
{
	return n && blk < be->blocks && n <= be->blocks - blk;
}

/* Format the name of a backend into its fixed-size field, truncating. */
void tw_backend_set_name(struct tw_backend *be, const char *fmt, ...)
	__printf(2, 3);

#endif /* TW_USER_INT_H */
