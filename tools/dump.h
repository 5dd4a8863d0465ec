/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dump.h - what the files of twinfs-dump share: the state of the one run
 * (dump.c owns it), the output calls that write text or JSON alike, and
 * each command's entry point.
 *
 * twinfs-dump is one file per responsibility:
 *   dump.c          main: the command line, the image, the read-only mount,
 *                   the default summary
 *   dump_out.c      output: text or JSON through one set of calls; errors
 *   dump_super.c    superblock: its fields, the validator's verdict, layout
 *   dump_journal.c  journal: the journal superblock and the transactions
 *   dump_inode.c    inode N (and stat): fields, block map, xattrs
 *   dump_dir.c      dir N: header, entry blocks, hash buckets, entries
 *   dump_path.c     ls PATH and stat PATH: paths resolved from the root
 *   dump_bitmap.c   bitmap: the block and inode bitmaps as runs
 *   dump_orphan.c   orphans: the orphan table
 *   dump_block.c    block N: a raw block decoded by its type; the regions
 *                   and block types by name
 *
 * Layer: tools (user space).  Includes toolutil.h and the core's internals
 * (tw_int.h), which the dump shows.
 */
#ifndef TWINFS_DUMP_H
#define TWINFS_DUMP_H

#include "toolutil.h"
#include "tw_int.h"

/* ---- the state of the run (dump.c) ---- */

extern bool json;
extern struct tu_json J;
extern int ind; /* indentation of human output */
extern const char *image;
extern struct tw_dev *dev;
extern u64 dev_blocks;
extern struct tw_super rsb; /* the superblock as it is on disk */
extern const char *sb_why; /* NULL if it validates */
extern int sb_err;
extern struct tw_fs *fs; /* mounted read-only, for the commands that need it */
extern FILE *out; /* human output: stdout, or /dev/null for a silent walk */

/* Fields of the on-disk superblock (geometry before any mount). */
#define SB64(f) TW_GET64(&rsb, f)
#define SB32(f) TW_GET32(&rsb, f)

/* ---- output (dump_out.c): one set of calls for text and JSON ---- */

/* A line of text (nothing in JSON). */
__printf(1, 2) void line(const char *fmt, ...);
/* A "key: value" line of text. */
__printf(2, 3) void kv(const char *key, const char *fmt, ...);
/* A section: a JSON object under @key, or a titled, indented block. */
__printf(2, 3) void sec(const char *key, const char *fmt, ...);
void sec_end(void);
/* A list: a JSON array under @key, or a titled, indented block. */
__printf(2, 3) void list(const char *key, const char *fmt, ...);
void list_end(void);
/* An object in a list (JSON only). */
void item(void);
void item_end(void);
/* Fields: a JSON member, or a "key: value" line. */
void f_u64(const char *key, u64 v);
__printf(3, 4) void f_u64n(const char *key, u64 v, const char *fmt, ...);
void f_hex(const char *key, u64 v, int digits);
void f_str(const char *key, const char *s);
void f_bool(const char *key, bool v);
void f_name(const char *key, const char *name, size_t len);
void f_time(const char *key, s64 ns, bool zero_is_never);
void f_crc(const char *key, u32 stored, u32 computed);
/* Report an error (stderr, and the JSON document's "error"); returns 1. */
__printf(2, 3) int fail(int err, const char *fmt, ...);

/* ---- raw blocks and their names (dump_block.c) ---- */

/* Which region block @blk lies in, for humans; NULL if beyond the fs. */
const char *region_of(u64 blk, char *buf, size_t len);
/* The block type of a header magic, or NULL. */
const char *magic_name(u32 magic);
/* A magic number's four ASCII letters. */
const char *magic_str(u32 magic, char buf[5]);
/* Read a raw block into @buf (a copy). */
int raw_read(u64 blk, void *buf);

/* ---- the parts the commands share ---- */

/* dump_super.c */
void show_superblock(const struct tw_super *sb, const char *title);
void show_layout(const struct tw_super *sb);
void show_validity(void);

/* dump_journal.c: the journal walk, silent, for the summary's count */
int count_replayable(u32 *ntx, char *jwhy, size_t jwhylen);

/* dump_dir.c: a directory's header, decoded */
struct dirhdr {
	u32 parent, level, split, data_blocks, flags, nbuckets;
	u64 entries;
	u64 pblk;
};

int read_dir_header(struct tw_ictx *ic, struct dirhdr *d);
/* The directory part of inode N's view. */
int show_dir_brief(struct tw_ictx *ic);

/* dump_inode.c: inode @ino (@path: how stat PATH reached it, or NULL) */
int show_inode(u64 ino, const char *path);

/* ---- the commands: 0 shown, 1 after fail() ---- */

int cmd_superblock(void); /* dump_super.c */
int cmd_journal(void); /* dump_journal.c */
int cmd_block(u64 blk); /* dump_block.c */
int cmd_dir(u64 ino); /* dump_dir.c */
int cmd_ls(const char *path); /* dump_path.c */
int cmd_stat(const char *path); /* dump_path.c */
int cmd_bitmap(void); /* dump_bitmap.c */
/* dump_orphan.c: with @show false, only *@count (for the summary) */
int cmd_orphans(u64 *count, bool show);

#endif /* TWINFS_DUMP_H */
