// SPDX-License-Identifier: GPL-2.0
/*
 * fz_mutator.c - the structure-aware mutator of the twinfs fuzz targets
 * (libFuzzer's LLVMFuzzerCustomMutator and LLVMFuzzerCustomCrossOver).
 *
 * Layer: tests (tests/fuzz).  Calls the checksum helpers of the format
 * (tw_format.h), libFuzzer's LLVMFuzzerMutate and the C library.
 *
 * Without help, almost every mutated image dies at its first checksum.  The
 * mutator therefore decodes the input (fz_input.c), finds the structures in
 * the image the way the format defines them (docs/format.md): the
 * superblock, inode table blocks, every block that starts with a known
 * magic, the journal's descriptors and the copies they announce (a copy of
 * the superblock or of an inode table block counts as one, so replay can be
 * fed the same mutations), then changes a field of one of them to a value
 * that is likely to matter (0, ±1, boundaries, other block or inode numbers
 * of the same image, the geometry's own numbers), and reseals: the
 * superblock crc, inode crcs, block crcs, and the journal's chained commit
 * crc along the replay chain.  One time in eight it leaves the checksums
 * alone, so that the checksum checks themselves stay exercised.  Some
 * mutations are semantic: a coherent new geometry, an inode put on the
 * orphan table, a journal rewound to an older transaction, a new
 * transaction written at the head of the log.
 */
#include "fz.h"

#include <stdlib.h>

size_t LLVMFuzzerMutate(u8 *data, size_t size, size_t max_size);

enum fz_bias fz_bias = FZ_BIAS_FSCK;

#define MAX_SITES 1024

struct site {
	u32 blk; /* where the bytes are */
	u64 target; /* where they belong (differs for journal copies) */
};

struct mctx {
	struct fz_image *im;
	u64 rng;
	bool reseal;
	/* geometry, from block 0 (whatever its checksum) */
	u32 seed;
	u64 nblocks;
	u32 ninodes;
	u64 jstart, ostart, bbstart, ibstart, itstart, dstart;
	u32 jlen, oblocks, bbblocks, ibblocks, itblocks;
	/* sites */
	struct site sbs[16];
	u32 nsbs;
	struct site itab[MAX_SITES]; /* inode table blocks (target = home) */
	u32 nitab;
	struct site hdr[MAX_SITES]; /* blocks with a known magic */
	u32 nhdr;
	u32 inodes[256]; /* inode numbers in use (home table) */
	u32 ninuse;
};

static const u32 magics[] = {
	TW_BMAP_MAGIC,	TW_IND_MAGIC,	 TW_DIRH_MAGIC,	   TW_DIRD_MAGIC,
	TW_DIRX_MAGIC,	TW_DIRF_MAGIC,	 TW_XATTR_MAGIC,   TW_SYML_MAGIC,
	TW_JSB_MAGIC,	TW_JDESC_MAGIC,	 TW_JCOMMIT_MAGIC, TW_ORPHAN_MAGIC,
	TW_XIDX_MAGIC,	TW_XVAL_MAGIC,
};

/* ---- little helpers ---- */

static u64 rnd(struct mctx *m, u64 n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return n ? m->rng % n : 0;
}

static u8 *blkp(struct mctx *m, u64 blk)
{
	return m->im->mem + blk * FZ_BS;
}

static u64 rdn(const u8 *p, int w)
{
	u64 v = 0;
	int i;

	for (i = w - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void wrn(u8 *p, int w, u64 v)
{
	int i;

	for (i = 0; i < w; i++, v >>= 8)
		p[i] = (u8)v;
}

static void touch(struct mctx *m, u64 blk)
{
	if (blk < m->im->blocks)
		m->im->touched[blk] = 1;
}

static bool known_magic(u32 v)
{
	u32 i;

	for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (magics[i] == v)
			return true;
	return false;
}

static bool in_dev(struct mctx *m, u64 blk)
{
	return blk < m->im->blocks;
}

/* The journal as the superblock places it lies inside the device. */
static bool log_ok(struct mctx *m)
{
	return m->jlen >= 2 && m->jstart < m->im->blocks &&
	       m->jlen <= m->im->blocks - m->jstart;
}

/* ---- the view of the image ---- */

static void add_site(struct site *s, u32 *n, u32 cap, u32 blk, u64 target)
{
	if (*n < cap) {
		s[*n].blk = blk;
		s[*n].target = target;
		(*n)++;
	}
}

static void journal_copies(struct mctx *m)
{
	u32 body, p;

	if (!log_ok(m))
		return;
	body = m->jlen - 1;
	for (p = 0; p < body; p++) {
		u64 b = m->jstart + 1 + p;
		const struct tw_journal_desc *d;
		u32 count, i;

		if (!m->im->touched[b])
			continue;
		d = (const void *)blkp(m, b);
		if (TW_GET32(d, jd_hdr.h_magic) != TW_JDESC_MAGIC)
			continue;
		count = TW_GET32(d, jd_count);
		if (count > TW_JDESC_SLOTS)
			count = TW_JDESC_SLOTS;
		for (i = 0; i < count && i + 1 < body; i++) {
			u64 t = TW_GET64(d, jd_target[i]);
			u32 cb = (u32)(m->jstart + 1 + (p + 1 + i) % body);

			if (t == TW_SB_BLOCK)
				add_site(m->sbs, &m->nsbs, 16, cb, 0);
			else if (t >= m->itstart && t < m->itstart + m->itblocks)
				add_site(m->itab, &m->nitab, MAX_SITES, cb, t);
		}
	}
}

static void build_view(struct mctx *m)
{
	const struct tw_super *sb = (const void *)m->im->mem;
	u32 b, i;

	m->seed = TW_GET32(sb, s_csum_seed);
	m->nblocks = TW_GET64(sb, s_blocks_count);
	m->ninodes = TW_GET32(sb, s_inodes_count);
	m->jstart = TW_GET64(sb, s_journal_start);
	m->jlen = TW_GET32(sb, s_journal_blocks);
	m->ostart = TW_GET64(sb, s_orphan_start);
	m->oblocks = TW_GET32(sb, s_orphan_blocks);
	m->bbstart = TW_GET64(sb, s_bbitmap_start);
	m->bbblocks = TW_GET32(sb, s_bbitmap_blocks);
	m->ibstart = TW_GET64(sb, s_ibitmap_start);
	m->ibblocks = TW_GET32(sb, s_ibitmap_blocks);
	m->itstart = TW_GET64(sb, s_itable_start);
	m->itblocks = TW_GET32(sb, s_itable_blocks);
	m->dstart = TW_GET64(sb, s_data_start);
	m->nsbs = m->nitab = m->nhdr = m->ninuse = 0;
	add_site(m->sbs, &m->nsbs, 16, 0, 0);

	for (b = 1; b < m->im->blocks; b++) {
		const u8 *p;

		if (!m->im->touched[b])
			continue;
		p = blkp(m, b);
		if (known_magic((u32)rdn(p, 4)))
			add_site(m->hdr, &m->nhdr, MAX_SITES, b, b);
		if (b >= m->itstart && b - m->itstart < m->itblocks) {
			add_site(m->itab, &m->nitab, MAX_SITES, b, b);
			for (i = 0; i < TW_INODES_PER_BLOCK; i++) {
				u64 ino = (b - m->itstart) * TW_INODES_PER_BLOCK +
					  i;

				if (rdn(p + i * TW_INODE_SIZE, 2) &&
				    m->ninuse < 256)
					m->inodes[m->ninuse++] = (u32)ino;
			}
		}
	}
	journal_copies(m);
}

/* ---- resealing ---- */

static void reseal_sb(struct mctx *m, u32 blk)
{
	struct tw_super *sb = (void *)blkp(m, blk);

	if (m->reseal)
		TW_SET32(sb, s_crc, tw_super_csum(sb));
}

static void reseal_inode(struct mctx *m, const struct site *s, u32 slot)
{
	struct tw_inode *di = (void *)(blkp(m, s->blk) + slot * TW_INODE_SIZE);
	u64 ino = (s->target - m->itstart) * TW_INODES_PER_BLOCK + slot;

	if (m->reseal)
		TW_SET32(di, i_crc, tw_inode_csum(m->seed, (u32)ino, di));
}

static void reseal_hdr(struct mctx *m, u32 blk)
{
	struct tw_blk_hdr *h = (void *)blkp(m, blk);

	if (m->reseal)
		TW_SET32(h, h_crc, tw_block_csum(m->seed, h));
}

/* Reseal whatever block @blk is (after a byte-level change). */
static void reseal_any(struct mctx *m, u32 blk)
{
	u32 i;

	if (blk == 0) {
		reseal_sb(m, 0);
		return;
	}
	for (i = 0; i < m->nsbs; i++)
		if (m->sbs[i].blk == blk) {
			reseal_sb(m, blk);
			return;
		}
	for (i = 0; i < m->nitab; i++)
		if (m->itab[i].blk == blk) {
			u32 s;

			for (s = 0; s < TW_INODES_PER_BLOCK; s++)
				if (rdn(blkp(m, blk) + s * TW_INODE_SIZE, 2))
					reseal_inode(m, &m->itab[i], s);
			return;
		}
	if (known_magic((u32)rdn(blkp(m, blk), 4)))
		reseal_hdr(m, blk);
}

/*
 * Walk the replay chain from the journal superblock and fix every
 * descriptor's crc and every commit's chained data crc, so that a change
 * to a copy in the log reaches replay.
 */
static void fix_journal(struct mctx *m)
{
	struct tw_journal_super *js;
	u32 body, pos, steps = 0, start;
	u64 seq;

	if (!log_ok(m) || !m->jstart)
		return;
	body = m->jlen - 1;
	js = (void *)blkp(m, m->jstart);
	if (TW_GET32(js, js_hdr.h_magic) != TW_JSB_MAGIC)
		return;
	start = TW_GET32(js, js_start);
	if (start < 1 || start > body)
		return;
	seq = TW_GET64(js, js_seq);
	pos = start - 1;
	while (steps < body) {
		u32 crc = ~0u, n = 0;
		bool done = false;

		for (;;) {
			u32 blk = (u32)(m->jstart + 1 + pos);
			u8 *p = blkp(m, blk);
			u32 magic = (u32)rdn(p, 4);

			if (magic == TW_JCOMMIT_MAGIC && n) {
				struct tw_journal_commit *c = (void *)p;

				TW_SET32(c, jc_data_crc, crc);
				TW_SET32(c, jc_hdr.h_crc,
					 tw_block_csum(m->seed, c));
				pos = (pos + 1) % body;
				steps++;
				break;
			}
			if (magic != TW_JDESC_MAGIC ||
			    TW_GET64((struct tw_journal_desc *)p, jd_seq) !=
				    seq) {
				done = true;
				break;
			}
			{
				struct tw_journal_desc *d = (void *)p;
				u32 count = TW_GET32(d, jd_count), i;

				TW_SET32(d, jd_hdr.h_crc,
					 tw_block_csum(m->seed, d));
				crc = tw_crc32c(crc, d, FZ_BS);
				if (count > TW_JDESC_SLOTS || count >= body)
					count = 0;
				pos = (pos + 1) % body;
				n++;
				steps++;
				for (i = 0; i < count && steps < body; i++) {
					crc = tw_crc32c(
						crc,
						blkp(m, m->jstart + 1 + pos),
						FZ_BS);
					pos = (pos + 1) % body;
					n++;
					steps++;
				}
			}
			if (steps >= body) {
				done = true;
				break;
			}
		}
		if (done)
			break;
		seq++;
	}
}

/* ---- values ---- */

static u64 geometry_value(struct mctx *m)
{
	u64 v[] = { m->nblocks,	       m->nblocks - 1, m->im->blocks,
		    m->im->blocks + 1, m->dstart,      m->dstart - 1,
		    m->itstart,	       m->jstart,      m->jstart + m->jlen,
		    m->ostart,	       m->bbstart,     m->ibstart,
		    m->ninodes,	       m->ninodes - 1, m->ninodes + 16,
		    m->jlen,	       m->jlen - 1,    m->jlen - 2 };

	return v[rnd(m, sizeof(v) / sizeof(v[0]))];
}

static u64 known_block(struct mctx *m)
{
	u32 k = (u32)rnd(m, 3);

	if (k == 0 && m->nhdr)
		return m->hdr[rnd(m, m->nhdr)].target;
	if (k == 1 && m->nitab)
		return m->itab[rnd(m, m->nitab)].target;
	return m->dstart + rnd(m, 64);
}

static u64 known_inode(struct mctx *m)
{
	if (m->ninuse && rnd(m, 4))
		return m->inodes[rnd(m, m->ninuse)];
	return rnd(m, m->ninodes + 2);
}

static u64 interesting(struct mctx *m, u64 old, int w)
{
	static const u64 consts[] = {
		255,	     256,	  506,	       507,	   508,
		1016,	     4063,	  4064,	       4095,	   4096,
		4097,	     0x7fff,	  0x8000,      0xffff,	   65000,
		65001,	     0x7fffffff,  0x80000000,  0xffffffff, 1u << 20,
		(1u << 20) - 1, 1u << 21, 1u << 22,    1ull << 32, TW_MAX_FILE_SIZE,
		TW_MAX_FILE_SIZE + 1, TW_MAX_LBLK, 131355096, 258584, 520,
		12,	     127,	  128,	       0x8000000000000000ull,
	};
	u64 v, mask = w >= 8 ? ~0ull : (1ull << (w * 8)) - 1;

	switch (rnd(m, 16)) {
	case 0:
		v = 0;
		break;
	case 1:
		v = 1;
		break;
	case 2:
		v = ~0ull;
		break;
	case 3:
		v = old + 1 + rnd(m, 4);
		break;
	case 4:
		v = old - 1 - rnd(m, 4);
		break;
	case 5:
		v = old ^ (1ull << rnd(m, w * 8));
		break;
	case 6:
		v = rnd(m, 64);
		break;
	case 7:
		v = geometry_value(m);
		break;
	case 8:
	case 9:
		v = known_block(m);
		break;
	case 10:
		v = consts[rnd(m, sizeof(consts) / sizeof(consts[0]))];
		break;
	case 11:
		v = old * 2;
		break;
	case 12:
		v = old / 2;
		break;
	case 13:
		v = known_inode(m);
		break;
	case 14:
		v = m->rng;
		break;
	default:
		v = rnd(m, 2) ? old + 4096 : old - 4096;
		break;
	}
	return v & mask;
}

/* Mutate the field of width @w at @p. */
static void mut_field(struct mctx *m, u8 *p, int w)
{
	wrn(p, w, interesting(m, rdn(p, w), w));
}

/* ---- superblock ---- */

static const u16 sb_fields[][2] = {
	{ 0, 4 },   { 8, 4 },	{ 12, 4 },  { 16, 4 },	{ 20, 4 },  { 24, 4 },
	{ 28, 4 },  { 32, 8 },	{ 40, 8 },  { 48, 4 },	{ 52, 4 },  { 56, 8 },
	{ 64, 4 },  { 68, 4 },	{ 72, 8 },  { 80, 8 },	{ 88, 4 },  { 92, 4 },
	{ 96, 8 },  { 104, 8 }, { 112, 4 }, { 116, 4 }, { 120, 4 }, { 124, 4 },
	{ 128, 4 }, { 132, 4 }, { 136, 8 }, { 160, 8 }, { 183, 1 }, { 247, 1 },
	{ 248, 8 }, { 300, 1 },
};

/* A new geometry that passes the validator: the derived fields follow. */
static void sb_geometry(struct mctx *m, struct tw_super *sb)
{
	u64 blocks = TW_GET64(sb, s_blocks_count);
	u32 inodes = TW_GET32(sb, s_inodes_count);
	u32 journal = TW_GET32(sb, s_journal_blocks);
	u32 orphan = TW_GET32(sb, s_orphan_blocks);
	u64 bb, ib, it;

	switch (rnd(m, 4)) {
	case 0:
		blocks = 512 + rnd(m, m->im->blocks > 512 ?
					      m->im->blocks - 511 :
					      1);
		if (rnd(m, 4) == 0)
			blocks = m->im->blocks + rnd(m, 3);
		break;
	case 1:
		inodes = (u32)(16 * (1 + rnd(m, rnd(m, 2) ? 8 : 256)));
		break;
	case 2:
		journal = (u32)(128 + rnd(m, rnd(m, 2) ? 4 : 256));
		break;
	default:
		orphan = (u32)(1 + rnd(m, rnd(m, 2) ? 2 : 256));
		break;
	}
	TW_SET64(sb, s_blocks_count, blocks);
	TW_SET32(sb, s_inodes_count, inodes);
	TW_SET32(sb, s_journal_blocks, journal);
	TW_SET32(sb, s_orphan_blocks, orphan);
	bb = (blocks + TW_BMAP_BITS - 1) / TW_BMAP_BITS;
	ib = ((u64)inodes + TW_BMAP_BITS - 1) / TW_BMAP_BITS;
	it = inodes / TW_INODES_PER_BLOCK;
	TW_SET64(sb, s_journal_start, 1);
	TW_SET64(sb, s_orphan_start, 1 + journal);
	TW_SET64(sb, s_bbitmap_start, 1 + journal + orphan);
	TW_SET32(sb, s_bbitmap_blocks, bb);
	TW_SET64(sb, s_ibitmap_start, 1 + journal + orphan + bb);
	TW_SET32(sb, s_ibitmap_blocks, ib);
	TW_SET64(sb, s_itable_start, 1 + journal + orphan + bb + ib);
	TW_SET32(sb, s_itable_blocks, it);
	TW_SET64(sb, s_data_start, 1 + journal + orphan + bb + ib + it);
	if (TW_GET64(sb, s_free_blocks) > blocks)
		TW_SET64(sb, s_free_blocks, blocks / 2);
	if (TW_GET32(sb, s_free_inodes) > inodes)
		TW_SET32(sb, s_free_inodes, inodes / 2);
}

static void mut_super(struct mctx *m)
{
	const struct site *s = &m->sbs[rnd(m, 4) ? 0 : rnd(m, m->nsbs)];
	u8 *p = blkp(m, s->blk);
	u32 k = (u32)rnd(m, 8);

	if (k == 0) {
		sb_geometry(m, (void *)p);
	} else if (k == 1) {
		/* state bits, mount count: the paths mount takes */
		struct tw_super *sb = (void *)p;

		TW_SET32(sb, s_state, rnd(m, 5));
	} else {
		u32 f = (u32)rnd(m, sizeof(sb_fields) / sizeof(sb_fields[0]));

		mut_field(m, p + sb_fields[f][0], sb_fields[f][1]);
	}
	reseal_sb(m, s->blk);
}

/* ---- inodes ---- */

static const u8 ino_fields[][2] = {
	{ 0, 2 },  { 2, 2 },  { 4, 4 },	  { 8, 4 },   { 12, 4 },  { 16, 8 },
	{ 16, 8 }, { 24, 8 }, { 32, 8 },  { 64, 4 },  { 68, 4 },  { 72, 8 },
	{ 72, 8 }, { 80, 4 }, { 84, 4 },  { 88, 8 },  { 96, 8 },  { 104, 8 },
	{ 184, 8 }, { 192, 8 }, { 200, 8 }, { 208, 8 }, { 216, 1 },
};

static const u16 modes[] = { 0100644, 040755, 0120777, 020600, 060600,
			     010600, 0140755, 0170000, 0, 0100000 | 07777 };

/* An inode site and slot, preferring inodes in use. */
static bool pick_inode(struct mctx *m, const struct site **s, u32 *slot)
{
	u32 tries;

	if (!m->nitab)
		return false;
	for (tries = 0; tries < 16; tries++) {
		*s = &m->itab[rnd(m, m->nitab)];
		*slot = (u32)rnd(m, TW_INODES_PER_BLOCK);
		if (rdn(blkp(m, (*s)->blk) + *slot * TW_INODE_SIZE, 2))
			return true;
	}
	return true;
}

static void mut_inode(struct mctx *m)
{
	const struct site *s;
	struct tw_inode *di;
	u32 slot, k;

	if (!pick_inode(m, &s, &slot))
		return;
	di = (void *)(blkp(m, s->blk) + slot * TW_INODE_SIZE);
	k = (u32)rnd(m, 10);
	if (k == 0) {
		TW_SET16(di, i_mode,
			 modes[rnd(m, sizeof(modes) / sizeof(modes[0]))] |
				 (TW_GET16(di, i_mode) & 0777));
	} else if (k <= 3) {
		/* block pointers: point them at other structures */
		u32 i = (u32)rnd(m, TW_NBLOCKPTR + 1);

		if (i == TW_NBLOCKPTR)
			TW_SET64(di, i_xattr, interesting(m, TW_GET64(di, i_xattr), 8));
		else
			TW_SET64(di, i_block[i],
				 interesting(m, TW_GET64(di, i_block[i]), 8));
	} else if (k == 4) {
		/* a whole fresh, plausible inode in a free slot */
		memset(di, 0, TW_INODE_SIZE);
		TW_SET16(di, i_mode,
			 modes[rnd(m, 7)] | 0644);
		TW_SET32(di, i_nlink, rnd(m, 3));
		TW_SET64(di, i_size, interesting(m, 4096, 8));
		TW_SET64(di, i_block[0], known_block(m));
		TW_SET32(di, i_generation, 1);
	} else {
		u32 f = (u32)rnd(m, sizeof(ino_fields) / sizeof(ino_fields[0]));

		mut_field(m, (u8 *)di + ino_fields[f][0], ino_fields[f][1]);
	}
	reseal_inode(m, s, slot);
}

/* ---- blocks with headers ---- */

static void mut_dirent(struct mctx *m, u8 *p)
{
	u32 offs[512], n = 0, off = TW_DIRD_START, k, o;

	while (off + 8 <= FZ_BS && n < 512) {
		u32 rl = (u32)rdn(p + off + 4, 2);

		offs[n++] = off;
		if (rl < 8 || rl & 7)
			break;
		off += rl;
	}
	if (!n)
		return;
	o = offs[rnd(m, n)];
	k = (u32)rnd(m, 8);
	switch (k) {
	case 0:
	case 1:
		wrn(p + o, 4, rnd(m, 2) ? known_inode(m) : interesting(m, rdn(p + o, 4), 4));
		break;
	case 2:
		mut_field(m, p + o + 4, 2); /* rec_len */
		break;
	case 3:
		mut_field(m, p + o + 6, 1); /* name_len */
		break;
	case 4:
		p[o + 7] = (u8)rnd(m, 16); /* type */
		break;
	case 5: {
		/* a name with a slash, a NUL, or "." / ".." */
		u32 nl = p[o + 6];
		static const u8 bad[] = { '/', 0, '.', 0xff };

		if (nl && o + 8 + nl <= FZ_BS) {
			if (rnd(m, 2)) {
				p[o + 8 + rnd(m, nl)] = bad[rnd(m, 4)];
			} else {
				p[o + 6] = (u8)(1 + rnd(m, 2));
				p[o + 8] = '.';
				p[o + 9] = '.';
			}
		}
		break;
	}
	default: {
		/* copy another record's name: duplicate names */
		u32 o2 = offs[rnd(m, n)], nl = p[o2 + 6];

		if (o2 != o && o + 8 + nl <= FZ_BS && o2 + 8 + nl <= FZ_BS &&
		    TW_DIRENT_LEN(nl) <= rdn(p + o + 4, 2)) {
			memmove(p + o + 8, p + o2 + 8, nl);
			p[o + 6] = (u8)nl;
		}
		break;
	}
	}
}

static void mut_dirx(struct mctx *m, u8 *p)
{
	struct tw_dirx_block *x = (void *)p;
	u32 count = TW_GET32(x, xb_count), i, j;

	if (count > TW_DIRX_SLOTS)
		count = TW_DIRX_SLOTS;
	switch (rnd(m, 5)) {
	case 0:
		mut_field(m, p + 32, 4);
		break;
	case 1:
		if (count) {
			i = (u32)rnd(m, count);
			j = (u32)rnd(m, count);
			x->xb_ent[i].x_hash = x->xb_ent[j].x_hash;
			if (rnd(m, 2))
				x->xb_ent[i].x_hash ^= tw_cpu_to_le32(1u << rnd(m, 32));
		}
		break;
	case 2:
		if (count) {
			i = (u32)rnd(m, count);
			j = (u32)rnd(m, count);
			if (rnd(m, 2))
				x->xb_ent[i].x_pos = x->xb_ent[j].x_pos;
			else
				mut_field(m, (u8 *)&x->xb_ent[i].x_pos, 4);
		}
		break;
	case 3:
		/* drop a slot without fixing the count, or add one */
		if (count) {
			i = (u32)rnd(m, count);
			x->xb_ent[i] = x->xb_ent[count - 1];
			TW_SET32(x, xb_count, count - 1);
		}
		break;
	default:
		if (count < TW_DIRX_SLOTS) {
			x->xb_ent[count] = x->xb_ent[rnd(m, count + 1)];
			TW_SET32(x, xb_count, count + 1);
		}
		break;
	}
}

static void mut_xattr(struct mctx *m, u8 *p)
{
	u32 offs[64], n = 0, off = sizeof(struct tw_xattr_header), o;

	while (off + 4 <= FZ_BS && n < 64 && p[off]) {
		offs[n++] = off;
		off += TW_XATTR_ENTRY_LEN(p[off + 1], (u32)rdn(p + off + 2, 2));
	}
	if (!n || rnd(m, 3) == 0) {
		mut_field(m, p + 32 + 4 * rnd(m, 2), 4);
		return;
	}
	o = offs[rnd(m, n)];
	switch (rnd(m, 3)) {
	case 0:
		p[o] = (u8)(rnd(m, 5) | (rnd(m, 4) ? 0 : TW_XATTR_NS_EXTERNAL));
		break;
	case 1:
		mut_field(m, p + o + 1, 1);
		break;
	default:
		mut_field(m, p + o + 2, 2);
		break;
	}
}

static void mut_ind(struct mctx *m, u8 *p)
{
	u32 nz[TW_IND_PTRS], n = 0, i;

	if (rnd(m, 8) == 0) {
		mut_field(m, p + 24, 4); /* level */
		return;
	}
	for (i = 0; i < TW_IND_PTRS; i++)
		if (rdn(p + 32 + 8 * i, 8))
			nz[n++] = i;
	i = n && rnd(m, 4) ? nz[rnd(m, n)] : (u32)rnd(m, TW_IND_PTRS);
	mut_field(m, p + 32 + 8 * i, 8);
}

static void mut_bitmap(struct mctx *m, u8 *p)
{
	u32 bit;

	if (rnd(m, 2)) {
		/* a bit the image cares about: a used block or inode */
		bit = (u32)rnd(m, 2048);
	} else {
		bit = (u32)rnd(m, TW_BMAP_BITS);
	}
	p[32 + bit / 8] ^= (u8)(1u << (bit & 7));
}

static void mut_typed(struct mctx *m, u32 blk)
{
	u8 *p = blkp(m, blk);

	if (!blk)
		return;
	switch ((u32)rdn(p, 4)) {
	case TW_DIRD_MAGIC:
		mut_dirent(m, p);
		break;
	case TW_DIRX_MAGIC:
		mut_dirx(m, p);
		break;
	case TW_DIRH_MAGIC:
		mut_field(m, p + 32 + 4 * rnd(m, 7), 4);
		break;
	case TW_DIRF_MAGIC:
		p[32 + rnd(m, rnd(m, 2) ? 8 : TW_DIRF_BYTES)] = (u8)interesting(m, 0, 1);
		break;
	case TW_XATTR_MAGIC:
		mut_xattr(m, p);
		break;
	case TW_XIDX_MAGIC:
		/* the count, or a slot: often one of the slots in use */
		if (rnd(m, 4) == 0)
			mut_field(m, p + 32, 4);
		else
			mut_field(m,
				  p + 40 +
					  8 * rnd(m, rnd(m, 2) ? 4 :
								 TW_XIDX_SLOTS),
				  8);
		break;
	case TW_XVAL_MAGIC:
		if (rnd(m, 2))
			mut_field(m, p + 24, 4); /* bytes held */
		else
			mut_field(m, p + 32 + rnd(m, TW_XVAL_PER_BLOCK), 1);
		break;
	case TW_IND_MAGIC:
		mut_ind(m, p);
		break;
	case TW_BMAP_MAGIC:
		mut_bitmap(m, p);
		break;
	case TW_ORPHAN_MAGIC:
		wrn(p + 32 + 4 * rnd(m, rnd(m, 2) ? 4 : TW_ORPHAN_SLOTS), 4,
		    known_inode(m));
		break;
	case TW_SYML_MAGIC:
		mut_field(m, p + 24, 4);
		break;
	case TW_JSB_MAGIC:
		mut_field(m, p + 32 + 8 * rnd(m, 2), rnd(m, 2) ? 8 : 4);
		break;
	case TW_JDESC_MAGIC:
		if (rnd(m, 2))
			mut_field(m, p + 48 + 8 * rnd(m, 4), 8); /* targets */
		else
			mut_field(m, p + 32 + 8 * rnd(m, 2), rnd(m, 2) ? 4 : 8);
		break;
	case TW_JCOMMIT_MAGIC:
		mut_field(m, p + 32 + 4 * rnd(m, 4), 4);
		break;
	}
	reseal_hdr(m, blk);
}

static void mut_header(struct mctx *m, u32 blk)
{
	u8 *p = blkp(m, blk);

	if (!blk)
		return;
	switch (rnd(m, 5)) {
	case 0:
		wrn(p, 4, magics[rnd(m, sizeof(magics) / sizeof(magics[0]))]);
		break;
	case 1:
		mut_field(m, p + 8, 8); /* blkno */
		break;
	case 2:
		mut_field(m, p + 16, 8); /* owner */
		break;
	case 3:
		mut_field(m, p + 24, 4); /* aux */
		break;
	default:
		mut_field(m, p + 28, 4); /* pad */
		break;
	}
	reseal_hdr(m, blk);
}

static u32 pick_hdr(struct mctx *m, u32 want_magic)
{
	u32 i, tries;

	if (!m->nhdr)
		return 0;
	for (tries = 0; want_magic && tries < 32; tries++) {
		i = (u32)rnd(m, m->nhdr);
		if ((u32)rdn(blkp(m, m->hdr[i].blk), 4) == want_magic)
			return m->hdr[i].blk;
	}
	return m->hdr[rnd(m, m->nhdr)].blk;
}

/* Bytes: libFuzzer's own mutation inside one structure, then reseal. */
static void mut_bytes(struct mctx *m)
{
	u32 blk, off, len;
	u8 *p;

	switch (rnd(m, 3)) {
	case 0:
		blk = 0;
		break;
	case 1:
		blk = m->nitab ? m->itab[rnd(m, m->nitab)].blk : 0;
		break;
	default:
		blk = m->nhdr ? pick_hdr(m, 0) : 0;
		break;
	}
	p = blkp(m, blk);
	len = 8u << rnd(m, 7); /* 8 .. 512 */
	off = (u32)rnd(m, FZ_BS - len + 1);
	if (blk && rnd(m, 2))
		off = 32 + (u32)rnd(m, 256); /* just past the header */
	if (off + len > FZ_BS)
		len = FZ_BS - off;
	LLVMFuzzerMutate(p + off, len, len);
	reseal_any(m, blk);
}

/* Copy or swap whole blocks: misdirected and lost writes. */
static void mut_blkcopy(struct mctx *m)
{
	u32 a, b;
	u8 tmp[FZ_BS];

	if (m->nhdr < 1)
		return;
	a = pick_hdr(m, 0);
	b = rnd(m, 2) ? pick_hdr(m, 0) : (u32)known_block(m);
	if (a == b || !in_dev(m, b) || b == 0)
		return;
	if (rnd(m, 2)) {
		memcpy(tmp, blkp(m, b), FZ_BS);
		memcpy(blkp(m, b), blkp(m, a), FZ_BS);
		memcpy(blkp(m, a), tmp, FZ_BS);
	} else {
		memcpy(blkp(m, b), blkp(m, a), FZ_BS);
	}
	touch(m, a);
	touch(m, b);
	if (rnd(m, 2)) {
		/* and make them claim their new place */
		if (known_magic((u32)rdn(blkp(m, b), 4))) {
			wrn(blkp(m, b) + 8, 8, b);
			reseal_hdr(m, b);
		}
		if (known_magic((u32)rdn(blkp(m, a), 4))) {
			wrn(blkp(m, a) + 8, 8, a);
			reseal_hdr(m, a);
		}
	}
}

/* Put an inode on the orphan table coherently (both sides agree), so that
 * mount's orphan recovery works on it. */
static void mut_orphan(struct mctx *m)
{
	const struct site *s;
	struct tw_inode *di;
	u32 slot, oslot;
	u64 ino, ob;

	if (!m->oblocks || !in_dev(m, m->ostart) || !pick_inode(m, &s, &slot))
		return;
	if (s->target != s->blk && rnd(m, 2))
		return;
	di = (void *)(blkp(m, s->blk) + slot * TW_INODE_SIZE);
	ino = (s->target - m->itstart) * TW_INODES_PER_BLOCK + slot;
	oslot = (u32)rnd(m, rnd(m, 2) ? 4 : (u64)TW_ORPHAN_SLOTS * m->oblocks);
	ob = m->ostart + oslot / TW_ORPHAN_SLOTS;
	if (!in_dev(m, ob))
		return;
	wrn(blkp(m, ob) + 32 + 4 * (oslot % TW_ORPHAN_SLOTS), 4, ino);
	touch(m, ob);
	TW_SET32(di, i_orphan_slot, oslot + 1);
	if (rnd(m, 2))
		TW_SET32(di, i_nlink, 0);
	else if (rnd(m, 2))
		TW_SET64(di, i_size, interesting(m, TW_GET64(di, i_size), 8));
	reseal_inode(m, s, slot);
	reseal_hdr(m, (u32)ob);
}

/* ---- the journal ---- */

/* Point the journal superblock at an older transaction in the log. */
static void mut_jrewind(struct mctx *m)
{
	struct tw_journal_super *js;
	u32 body, p, cand[64], n = 0;

	if (!log_ok(m))
		return;
	body = m->jlen - 1;
	js = (void *)blkp(m, m->jstart);
	for (p = 0; p < body && n < 64; p++)
		if (rdn(blkp(m, m->jstart + 1 + p), 4) == TW_JDESC_MAGIC)
			cand[n++] = p;
	if (!n)
		return;
	p = cand[rnd(m, n)];
	TW_SET64(js, js_seq,
		 TW_GET64((struct tw_journal_desc *)blkp(m, m->jstart + 1 + p),
			  jd_seq));
	TW_SET32(js, js_start, p + 1);
	reseal_hdr(m, (u32)m->jstart);
}

/* Write a new transaction at the head of the log: copies of existing
 * blocks (the superblock, inode table blocks, any metadata block), which
 * later mutations may change. */
static void mut_jinject(struct mctx *m)
{
	struct tw_journal_super *js;
	struct tw_journal_desc *d;
	struct tw_journal_commit *c;
	u32 body, pos, k, i, crc = ~0u;
	u64 seq, targets[4];

	if (m->jlen < 8 || !log_ok(m) ||
	    m->jstart != 1)
		return;
	body = m->jlen - 1;
	js = (void *)blkp(m, m->jstart);
	pos = TW_GET32(js, js_start);
	if (pos < 1 || pos > body)
		pos = 1;
	pos--;
	seq = TW_GET64(js, js_seq);
	k = 1 + (u32)rnd(m, 4);
	for (i = 0; i < k; i++) {
		switch (rnd(m, 4)) {
		case 0:
			targets[i] = 0;
			break;
		case 1:
			targets[i] = m->nitab ? m->itab[rnd(m, m->nitab)].target :
						0;
			break;
		default:
			targets[i] = m->nhdr ? m->hdr[rnd(m, m->nhdr)].target :
					       0;
			break;
		}
		if (targets[i] >= m->im->blocks ||
		    (targets[i] >= m->jstart &&
		     targets[i] < m->jstart + m->jlen))
			targets[i] = 0;
	}
	d = (void *)blkp(m, m->jstart + 1 + pos);
	memset(d, 0, FZ_BS);
	TW_SET64(d, jd_seq, seq);
	TW_SET32(d, jd_count, k);
	for (i = 0; i < k; i++)
		TW_SET64(d, jd_target[i], targets[i]);
	tw_block_seal(m->seed, d, TW_JDESC_MAGIC, m->jstart + 1 + pos, 0,
		      (u32)seq);
	touch(m, m->jstart + 1 + pos);
	crc = tw_crc32c(crc, d, FZ_BS);
	for (i = 0; i < k; i++) {
		u64 cb = m->jstart + 1 + (pos + 1 + i) % body;

		memcpy(blkp(m, cb), blkp(m, targets[i]), FZ_BS);
		touch(m, cb);
		crc = tw_crc32c(crc, blkp(m, cb), FZ_BS);
	}
	c = (void *)blkp(m, m->jstart + 1 + (pos + 1 + k) % body);
	memset(c, 0, FZ_BS);
	TW_SET64(c, jc_seq, seq);
	TW_SET32(c, jc_nblocks, k + 1);
	TW_SET32(c, jc_data_crc, crc);
	TW_SET64(c, jc_time, 1);
	tw_block_seal(m->seed, c, TW_JCOMMIT_MAGIC,
		      m->jstart + 1 + (pos + 1 + k) % body, 0, (u32)seq);
	touch(m, m->jstart + 1 + (pos + 1 + k) % body);
}

static void mut_journal(struct mctx *m)
{
	switch (rnd(m, 6)) {
	case 0:
		mut_jrewind(m);
		break;
	case 1:
		mut_jinject(m);
		break;
	case 2:
		mut_typed(m, pick_hdr(m, TW_JDESC_MAGIC));
		break;
	case 3:
		mut_typed(m, pick_hdr(m, TW_JCOMMIT_MAGIC));
		break;
	case 4:
		if (m->jstart && in_dev(m, m->jstart) &&
		    rdn(blkp(m, m->jstart), 4) == TW_JSB_MAGIC)
			mut_typed(m, (u32)m->jstart);
		break;
	default:
		/* a copy in the log: superblock or inode table copies */
		if (m->nsbs > 1 && rnd(m, 2)) {
			u32 i = 1 + (u32)rnd(m, m->nsbs - 1);
			u32 f = (u32)rnd(m, sizeof(sb_fields) / sizeof(sb_fields[0]));
			u8 *p = blkp(m, m->sbs[i].blk);

			mut_field(m, p + sb_fields[f][0], sb_fields[f][1]);
			reseal_sb(m, m->sbs[i].blk);
		} else {
			mut_inode(m);
		}
		break;
	}
}

/* ---- the driver ---- */

enum {
	K_SUPER,
	K_INODE,
	K_TYPED,
	K_HEADER,
	K_BYTES,
	K_BLKCOPY,
	K_ORPHAN,
	K_JOURNAL,
	K_OPS,
	K_NKINDS
};

static const u8 weights[4][K_NKINDS] = {
	/*			super inode typed header bytes copy orphan journal ops */
	[FZ_BIAS_MOUNT] =	{ 30, 10, 15, 8, 10, 5, 10, 10, 0 },
	[FZ_BIAS_OPS] =		{ 4, 25, 30, 6, 10, 5, 5, 3, 12 },
	[FZ_BIAS_JOURNAL] =	{ 6, 8, 8, 4, 8, 3, 4, 60, 0 },
	[FZ_BIAS_FSCK] =	{ 8, 25, 30, 8, 10, 6, 6, 7, 4 },
};

static void mutate_once(struct mctx *m)
{
	u32 total = 0, r, k;

	for (k = 0; k < K_NKINDS; k++)
		total += weights[fz_bias][k];
	r = (u32)rnd(m, total);
	for (k = 0; k < K_NKINDS && r >= weights[fz_bias][k]; k++)
		r -= weights[fz_bias][k];
	switch (k) {
	case K_SUPER:
		mut_super(m);
		break;
	case K_INODE:
		mut_inode(m);
		break;
	case K_TYPED:
		if (m->nhdr)
			mut_typed(m, pick_hdr(m, 0));
		break;
	case K_HEADER:
		if (m->nhdr)
			mut_header(m, pick_hdr(m, 0));
		break;
	case K_BYTES:
		mut_bytes(m);
		break;
	case K_BLKCOPY:
		mut_blkcopy(m);
		break;
	case K_ORPHAN:
		mut_orphan(m);
		break;
	case K_JOURNAL:
		mut_journal(m);
		break;
	default: {
		struct fz_image *im = m->im;

		if (im->ops_len < FZ_MAX_OPS && rnd(m, 3) == 0)
			im->ops[im->ops_len++] = (u8)m->rng;
		im->ops_len = (u32)LLVMFuzzerMutate(im->ops, im->ops_len,
						    FZ_MAX_OPS);
		break;
	}
	}
}

size_t LLVMFuzzerCustomMutator(u8 *data, size_t size, size_t max_size,
			       unsigned int seed);
size_t LLVMFuzzerCustomMutator(u8 *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	static struct mctx m;
	static struct fz_image im;
	size_t out;
	u32 n, i;

	m.rng = (u64)seed * 0x9e3779b97f4a7c15ull + 1;
	/* now and then, libFuzzer's plain byte mutations on the encoding */
	if (rnd(&m, 16) == 0 || size < FZ_HDR)
		return LLVMFuzzerMutate(data, size, max_size);
	if (fz_image_reuse(&im, data, size))
		return LLVMFuzzerMutate(data, size, max_size);
	m.im = &im;
	m.reseal = rnd(&m, 8) != 0;
	build_view(&m);
	n = rnd(&m, 4) ? 1 : 2 + (u32)rnd(&m, 3);
	for (i = 0; i < n; i++) {
		mutate_once(&m);
		if (i + 1 < n)
			build_view(&m);
	}
	if (m.reseal && rnd(&m, 16))
		fix_journal(&m);
	out = fz_image_encode(&im, data, max_size);
	if (!out)
		return LLVMFuzzerMutate(data, size, max_size);
	return out;
}

/* Cross-over: some blocks (and maybe the script) of the second input. */
size_t LLVMFuzzerCustomCrossOver(const u8 *d1, size_t s1, const u8 *d2,
				 size_t s2, u8 *out, size_t max_out,
				 unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const u8 *d1, size_t s1, const u8 *d2,
				 size_t s2, u8 *out, size_t max_out,
				 unsigned int seed)
{
	static struct fz_image a, b;
	struct mctx m = { .rng = (u64)seed * 0x2545f4914f6cdd1dull + 7 };
	u32 i, k, cand[256], n = 0;
	size_t len;

	if (fz_image_reuse(&a, d1, s1) || fz_image_reuse(&b, d2, s2))
		return 0;
	for (i = 0; i < b.blocks && i < a.blocks && n < 256; i++)
		if (b.touched[i])
			cand[n++] = i;
	k = n ? 1 + (u32)rnd(&m, 4) : 0;
	while (k--) {
		i = cand[rnd(&m, n)];
		memcpy(a.mem + (size_t)i * FZ_BS, b.mem + (size_t)i * FZ_BS,
		       FZ_BS);
		a.touched[i] = 1;
	}
	if (rnd(&m, 4) == 0) {
		memcpy(a.ops, b.ops, b.ops_len);
		a.ops_len = b.ops_len;
	}
	len = fz_image_encode(&a, out, max_out);
	return len;
}
