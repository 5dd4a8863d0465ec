// SPDX-License-Identifier: GPL-2.0
/*
 * fz_input.c - the fuzz input format: decode a compact description into an
 * image, encode an image back (canonically).  The format is in fz.h.
 *
 * Layer: tests (tests/fuzz).  Calls the C library only.
 */
#include "fz.h"

#include <stdlib.h>

static u32 get16(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static void put16(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static void put32(u8 *p, u32 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
	p[2] = (u8)(v >> 16);
	p[3] = (u8)(v >> 24);
}

u32 fz_dev_blocks(const u8 *data, size_t size)
{
	u32 n = size >= 2 ? get16(data) : 0;

	if (!n)
		return FZ_DEFAULT_BLOCKS;
	if (n < FZ_MIN_BLOCKS)
		return FZ_MIN_BLOCKS;
	return n > FZ_MAX_BLOCKS ? FZ_MAX_BLOCKS : n;
}

void fz_decode_into(const u8 *data, size_t size, u8 *mem, u32 blocks,
		    u8 *touched, u8 *ops, u32 *ops_len)
{
	size_t dev = (size_t)blocks * FZ_BS, i, olen;

	if (ops_len)
		*ops_len = 0;
	if (size < FZ_HDR)
		return;
	olen = get16(data + 2);
	if (olen > size - FZ_HDR)
		olen = size - FZ_HDR;
	if (ops && ops_len) {
		*ops_len = (u32)(olen > FZ_MAX_OPS ? FZ_MAX_OPS : olen);
		memcpy(ops, data + FZ_HDR, *ops_len);
	}
	i = FZ_HDR + olen;
	while (i + FZ_REC_HDR <= size) {
		size_t pos = get32(data + i), lk = get16(data + i + 4), len;
		bool fill = lk & FZ_FILL;

		len = lk & FZ_LEN_MASK;
		i += FZ_REC_HDR;
		if (!fill && len > size - i)
			len = size - i;
		if (fill && i >= size)
			break;
		if (pos < dev && len) {
			size_t n = len > dev - pos ? dev - pos : len;

			if (fill)
				memset(mem + pos, data[i], n);
			else
				memcpy(mem + pos, data + i, n);
			if (touched) {
				size_t b;

				for (b = pos / FZ_BS; b <= (pos + n - 1) / FZ_BS;
				     b++)
					touched[b] = 1;
			}
		}
		i += fill ? 1 : len;
	}
}

int fz_image_reuse(struct fz_image *im, const u8 *data, size_t size)
{
	u32 b;

	if (!im->mem) {
		im->mem = calloc(FZ_MAX_BLOCKS, FZ_BS);
		im->touched = calloc(FZ_MAX_BLOCKS, 1);
		if (!im->mem || !im->touched) {
			fz_image_free(im);
			return -ENOMEM;
		}
	} else {
		for (b = 0; b < FZ_MAX_BLOCKS; b++)
			if (im->touched[b]) {
				memset(im->mem + (size_t)b * FZ_BS, 0, FZ_BS);
				im->touched[b] = 0;
			}
	}
	im->blocks = fz_dev_blocks(data, size);
	fz_decode_into(data, size, im->mem, im->blocks, im->touched, im->ops,
		       &im->ops_len);
	return 0;
}

int fz_image_decode(struct fz_image *im, const u8 *data, size_t size)
{
	memset(im, 0, sizeof(*im));
	im->blocks = fz_dev_blocks(data, size);
	im->mem = calloc(im->blocks, FZ_BS);
	im->touched = calloc(im->blocks, 1);
	if (!im->mem || !im->touched) {
		fz_image_free(im);
		return -ENOMEM;
	}
	fz_decode_into(data, size, im->mem, im->blocks, im->touched, im->ops,
		       &im->ops_len);
	return 0;
}

void fz_image_free(struct fz_image *im)
{
	free(im->mem);
	free(im->touched);
	im->mem = NULL;
	im->touched = NULL;
}

/* Append a record; returns false when out of room. */
static bool emit(u8 *out, size_t max, size_t *o, u32 pos, const u8 *p,
		 u32 len, bool fill)
{
	size_t need = FZ_REC_HDR + (fill ? 1 : len);

	if (*o + need > max)
		return false;
	put32(out + *o, pos);
	put16(out + *o + 4, len | (fill ? FZ_FILL : 0));
	if (fill)
		out[*o + FZ_REC_HDR] = p[0];
	else
		memcpy(out + *o + FZ_REC_HDR, p, len);
	*o += need;
	return true;
}

/* Length of the run of equal bytes at @p (at most @max). */
static u32 run_len(const u8 *p, u32 max)
{
	u32 n = 1;

	while (n < max && p[n] == p[0])
		n++;
	return n;
}

#define FZ_MIN_FILL 12u /* a fill record pays off from here */

/* Encode one block (or a run of identical non-zero bytes across blocks is
 * not merged: records stay within a block, which keeps them local). */
static bool encode_block(const u8 *blk, u32 base, u8 *out, size_t max,
			 size_t *o)
{
	u32 i = 0, lit = 0;
	bool in_lit = false;

	while (i < FZ_BS) {
		u32 r = run_len(blk + i, FZ_BS - i);

		if (r >= FZ_MIN_FILL || (blk[i] == 0 && r >= 8) ||
		    (blk[i] == 0 && i + r == FZ_BS)) {
			if (in_lit && !emit(out, max, o, base + lit, blk + lit,
					    i - lit, false))
				return false;
			in_lit = false;
			if (blk[i] && !emit(out, max, o, base + i, blk + i, r,
					    true))
				return false;
			i += r;
			continue;
		}
		if (!in_lit) {
			in_lit = true;
			lit = i;
		}
		i += r;
	}
	if (in_lit && !emit(out, max, o, base + lit, blk + lit, FZ_BS - lit,
			    false))
		return false;
	return true;
}

static const u8 zero_block[FZ_BS];

static size_t encode(const u8 *mem, const u8 *touched, u32 blocks,
		     const u8 *ops, u32 ops_len, u8 *out, size_t max)
{
	size_t o = FZ_HDR + ops_len;
	u32 b;

	if (o > max)
		return 0;
	put16(out, blocks);
	put16(out + 2, ops_len);
	if (ops_len)
		memcpy(out + FZ_HDR, ops, ops_len);
	for (b = 0; b < blocks; b++) {
		const u8 *blk = mem + (size_t)b * FZ_BS;

		if (touched && !touched[b])
			continue;
		if (!memcmp(blk, zero_block, FZ_BS))
			continue;
		if (!encode_block(blk, b * FZ_BS, out, max, &o))
			return 0;
	}
	return o;
}

size_t fz_image_encode(const struct fz_image *im, u8 *out, size_t max)
{
	return encode(im->mem, im->touched, im->blocks, im->ops, im->ops_len,
		      out, max);
}

u8 *fz_encode_raw(const u8 *mem, u32 blocks, const u8 *ops, u32 ops_len,
		  size_t *len)
{
	size_t max = 1 << 20;
	u8 *out;

	for (;;) {
		out = malloc(max);
		if (!out)
			return NULL;
		*len = encode(mem, NULL, blocks, ops, ops_len, out, max);
		if (*len)
			return out;
		free(out);
		if (max > ((size_t)blocks * FZ_BS) * 2 + 4096)
			return NULL;
		max *= 2;
	}
}

u32 fz_get_ops(const u8 *data, size_t size, u8 *ops)
{
	u32 olen;

	if (size < FZ_HDR)
		return 0;
	olen = get16(data + 2);
	if (olen > size - FZ_HDR)
		olen = (u32)(size - FZ_HDR);
	if (olen > FZ_MAX_OPS)
		olen = FZ_MAX_OPS;
	memcpy(ops, data + FZ_HDR, olen);
	return olen;
}
