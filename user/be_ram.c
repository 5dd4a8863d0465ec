// SPDX-License-Identifier: GPL-2.0
/*
 * be_ram.c - the RAM backend: the device is one zeroed allocation.
 *
 * Layer: user-space environment, block backend.  Called by the block cache
 * through struct tw_backend_ops and by tests (tw_backend_ram_data); calls
 * the C library only.
 */
#include "tw_user_int.h"

#include <stdlib.h>

struct ram_backend {
	struct tw_backend be;
	u8 *mem;
};

static struct ram_backend *to_rb(struct tw_backend *be)
{
	return tw_container_of(be, struct ram_backend, be);
}

static int ram_read(struct tw_backend *be, u64 blk, u32 n, void *buf)
{
	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	memcpy(buf, to_rb(be)->mem + blk * TW_BS, (size_t)n * TW_BS);
	return 0;
}

static int ram_write(struct tw_backend *be, u64 blk, u32 n,
		     const void *const *bufs)
{
	u8 *p;
	u32 i;

	if (!tw_backend_range_ok(be, blk, n))
		return -EIO;
	p = to_rb(be)->mem + blk * TW_BS;
	for (i = 0; i < n; i++)
		memcpy(p + (size_t)i * TW_BS, bufs[i], TW_BS);
	return 0;
}

static int ram_flush(struct tw_backend *be)
{
	return 0;
}

static void ram_destroy(struct tw_backend *be)
{
	struct ram_backend *rb = to_rb(be);

	free(rb->mem);
	free(rb);
}

static const struct tw_backend_ops ram_ops = {
	.read = ram_read,
	.write = ram_write,
	.flush = ram_flush,
	.destroy = ram_destroy,
};

/**
 * tw_backend_ram() - calloc() the whole device; large ones come from mmap
 * inside the C library, so untouched blocks cost no memory.
 */
struct tw_backend *tw_backend_ram(u64 blocks)
{
	struct ram_backend *rb;

	if (!blocks || blocks > (u64)SIZE_MAX / TW_BS)
		return NULL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	rb->mem = calloc((size_t)blocks, TW_BS);
	if (!rb->mem) {
		free(rb);
		return NULL;
	}
	rb->be.ops = &ram_ops;
	rb->be.blocks = blocks;
	tw_backend_set_name(&rb->be, "ram");
	return &rb->be;
}

void *tw_backend_ram_data(struct tw_backend *be)
{
	tw_assert(be->ops == &ram_ops);
	return to_rb(be)->mem;
}
