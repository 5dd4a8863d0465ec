/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fz.h - shared pieces of the twinfs fuzz targets: the input format (a
 * compact description of an image plus an operation script), the image
 * view used by the structure-aware mutator, and the operation interpreter.
 *
 * Layer: tests (tests/fuzz).  Uses the core (twinfs.h, tw_int.h), the
 * user-space environment (tw_user.h), the checker library (tools/fsck.h)
 * and the C library.  Built with clang and libFuzzer only (Makefile here).
 *
 * The input format (all integers little-endian), see docs/fuzzing.md:
 *
 *   0  le16 dev_blocks   device size in 4 KiB blocks (clamped, 0 = 512)
 *   2  le16 ops_len      bytes of operation script that follow
 *   4  ops[ops_len]      the script, 3 bytes per operation (fz_ops.c)
 *   then records until the end, each one
 *      le32 pos          byte offset into the device
 *      le16 lk           bit 15: fill; bits 0..14: length
 *      fill: u8 byte     | literal: length bytes
 *
 * The device starts zeroed and the records are applied in order, so a later
 * record patches an earlier one: an input is "an image and patches to it".
 * Any byte string decodes to something (records are clipped to the device),
 * so libFuzzer's own byte mutations stay meaningful; the custom mutator
 * decodes, mutates real structures, reseals checksums and re-encodes the
 * image canonically (literal runs of non-zero bytes, fill records for runs
 * of one byte, zeros implicit).
 */
#ifndef TW_FZ_H
#define TW_FZ_H

#include "tw_user.h"
#include "tw_int.h"

#include <stdio.h>

#define FZ_BS TW_BLOCK_SIZE
#define FZ_MIN_BLOCKS 8u
#define FZ_MAX_BLOCKS 4096u /* 16 MiB */
#define FZ_DEFAULT_BLOCKS 512u
#define FZ_MAX_OPS 96u /* bytes of script: 32 operations */
#define FZ_HDR 4u
#define FZ_REC_HDR 6u
#define FZ_FILL 0x8000u
#define FZ_LEN_MASK 0x7fffu

/* A decoded input: the image in memory and the operation script. */
struct fz_image {
	u32 blocks;
	u8 *mem; /* blocks * 4096 */
	u8 *touched; /* one byte per block: may be non-zero */
	u8 ops[FZ_MAX_OPS];
	u32 ops_len;
};

/* ---- fz_input.c ---- */
u32 fz_dev_blocks(const u8 *data, size_t size);
/* Apply the records of @data to @mem (zeroed, @blocks blocks); marks
 * @touched (may be NULL).  Copies the script to @ops/@ops_len (may be
 * NULL). */
void fz_decode_into(const u8 *data, size_t size, u8 *mem, u32 blocks,
		    u8 *touched, u8 *ops, u32 *ops_len);
/* The operation script of an input (at most FZ_MAX_OPS bytes). */
u32 fz_get_ops(const u8 *data, size_t size, u8 *ops);
int fz_image_decode(struct fz_image *im, const u8 *data, size_t size);
/* The same into a long-lived @im (zeroed the first time; its memory is
 * kept for FZ_MAX_BLOCKS blocks and only touched blocks are cleared). */
int fz_image_reuse(struct fz_image *im, const u8 *data, size_t size);
void fz_image_free(struct fz_image *im);
/* Canonical encoding; returns the length, or 0 if it exceeds @max. */
size_t fz_image_encode(const struct fz_image *im, u8 *out, size_t max);
/* Encode a raw image (for seeds and tools).  Returns a malloc'ed buffer. */
u8 *fz_encode_raw(const u8 *mem, u32 blocks, const u8 *ops, u32 ops_len,
		  size_t *len);

/* ---- fz_ops.c: the operation interpreter ---- */
struct fz_run_opts {
	/* abort() if an operation returns -EUCLEAN or -EBADMSG: for images
	 * that fsck has just declared clean */
	bool strict;
	const char *what; /* for messages */
};
/* Run the script @ops (or a built-in default one if @ops_len is 0) on a
 * mounted read-write @fs.  Evicts what it unlinked.  Returns the number of
 * operations that failed with corruption errors. */
int fz_run_ops(struct tw_fs *fs, const u8 *ops, u32 ops_len,
	       const struct fz_run_opts *o);
/* Read-only walk: readdir of the tree (bounded), getattr, reads, readlink,
 * xattrs.  Returns a digest of the names and inode numbers seen under the
 * root (for differential checks); *@err gets the first error. */
u64 fz_walk(struct tw_fs *fs, int depth, int *err);

/* ---- harness helpers (fz_harness.c) ---- */
void fz_quiet(void); /* silence the core unless TWFUZZ_VERBOSE is set */
bool fz_verbose(void);
/* A RAM device holding the decoded input (one at a time: its memory is
 * reused); fz_dev_mem() is that memory, fz_dev_writes() counts the blocks
 * written to it since. */
struct tw_dev *fz_ram_dev(const u8 *data, size_t size, u32 *blocks);
u8 *fz_dev_mem(void);
u64 fz_dev_writes(void);
/* Close a device; abort on leaked buffer references. */
void fz_close(struct tw_dev *dev, const char *what);
/* Close and open the RAM device again: an empty cache over the same
 * blocks (a read-only mount's in-memory replay stays in the cache). */
struct tw_dev *fz_reopen(struct tw_dev *dev, const char *what);
/* abort() if a mounted filesystem disagrees with its own superblock. */
void fz_check_mounted(struct tw_fs *fs, const char *what);
/* abort() unless every tw_alloc() has been given back. */
void fz_check_leaks(const char *what);
__attribute__((noreturn, format(printf, 1, 2))) void fz_bug(const char *fmt,
							    ...);

/* ---- the mutator (fz_mutator.c): a per-target bias ---- */
enum fz_bias {
	FZ_BIAS_MOUNT, /* superblock, geometry, bitmaps, root */
	FZ_BIAS_OPS, /* inodes, directories, indirect blocks, xattrs, ops */
	FZ_BIAS_JOURNAL, /* journal superblock, descriptors, commits, copies */
	FZ_BIAS_FSCK, /* everything */
};
extern enum fz_bias fz_bias;

#endif /* TW_FZ_H */
