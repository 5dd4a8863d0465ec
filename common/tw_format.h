/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tw_format.h - the twinfs on-disk format, version 1.
 *
 * Layer: shared by the core, the kernel module and the tools.  Includes only
 * tw_env.h (for the fixed-width types).  docs/format.md describes every byte
 * defined here; keep the two in step.
 *
 * Rules for every structure in this file:
 *   - little-endian fixed-width fields and byte arrays only: no pointers,
 *     bool, enum or bitfields;
 *   - explicit padding, every field naturally aligned, a static assert on
 *     every size;
 *   - read and written through the accessors at the end, never raw;
 *   - every metadata block carries a crc32c.
 */
#ifndef TW_FORMAT_H
#define TW_FORMAT_H

#include "tw_env.h"

/* Little-endian on-disk integers: distinct names so that the intent shows. */
typedef u16 tw_le16;
typedef u32 tw_le32;
typedef u64 tw_le64;

#define TW_BLOCK_SIZE 4096u
#define TW_BLOCK_SHIFT 12
#define TW_FORMAT_VERSION 1u

/* Block types: the first four bytes of each metadata block. */
#define TW_SB_MAGIC 0x53465754u /* "TWFS" */
#define TW_BMAP_MAGIC 0x4d425754u /* "TWBM": block or inode bitmap */
#define TW_IND_MAGIC 0x4e495754u /* "TWIN": indirect block */
#define TW_DIRH_MAGIC 0x48445754u /* "TWDH": directory header */
#define TW_DIRD_MAGIC 0x44445754u /* "TWDD": directory entries */
#define TW_DIRX_MAGIC 0x58445754u /* "TWDX": directory hash bucket */
#define TW_DIRF_MAGIC 0x46445754u /* "TWDF": directory free-space map */
#define TW_XATTR_MAGIC 0x41585754u /* "TWXA": extended attributes */
#define TW_XIDX_MAGIC 0x49585754u /* "TWXI": xattr index */
#define TW_XVAL_MAGIC 0x56585754u /* "TWXV": xattr value */
#define TW_SYML_MAGIC 0x4c535754u /* "TWSL": long symlink target */
#define TW_JSB_MAGIC 0x534a5754u /* "TWJS": journal superblock */
#define TW_JDESC_MAGIC 0x444a5754u /* "TWJD": journal descriptor */
#define TW_JCOMMIT_MAGIC 0x434a5754u /* "TWJC": journal commit */

/* ------------------------------------------------------------------------ */
/* Superblock: block 0, bytes 0..511; the rest of block 0 is zero.          */
/* ------------------------------------------------------------------------ */

#define TW_STATE_CLEAN 0x1u /* unmounted cleanly */
#define TW_STATE_ERROR 0x2u /* the core found corruption while mounted */

/*
 * Optional features.  A core refuses an image with a bit it does not know
 * in s_feature_incompat or s_feature_ro_compat.
 *
 * XATTR_INDEX: some inode keeps its extended attributes under an xattr
 * index block (TW_IFL_XINDEX), with values in value blocks: set by the
 * transaction that first needs it, never cleared.
 */
#define TW_FEATURE_INCOMPAT_XATTR_INDEX 0x1u

#define TW_FEATURE_COMPAT_SUPP 0u
#define TW_FEATURE_RO_COMPAT_SUPP 0u
#define TW_FEATURE_INCOMPAT_SUPP TW_FEATURE_INCOMPAT_XATTR_INDEX

#define TW_LABEL_LEN 64
#define TW_UUID_LEN 16

struct tw_super {
	tw_le32 s_magic; /*   0 TW_SB_MAGIC */
	tw_le32 s_crc; /*   4 crc32c of bytes 0..511, this field as 0 */
	tw_le32 s_version; /*   8 TW_FORMAT_VERSION */
	tw_le32 s_block_size; /*  12 4096 */
	tw_le32 s_feature_compat; /*  16 */
	tw_le32 s_feature_ro_compat; /*  20 */
	tw_le32 s_feature_incompat; /*  24 */
	tw_le32 s_state; /*  28 TW_STATE_* */
	tw_le64 s_blocks_count; /*  32 blocks in the filesystem */
	tw_le64 s_free_blocks; /*  40 hint; the bitmaps rule */
	tw_le32 s_inodes_count; /*  48 inode slots, incl. slot 0 */
	tw_le32 s_free_inodes; /*  52 hint; the bitmaps rule */
	tw_le64 s_journal_start; /*  56 first journal block */
	tw_le32 s_journal_blocks; /*  64 journal length */
	tw_le32 s_bbitmap_blocks; /*  68 block bitmap length */
	tw_le64 s_bbitmap_start; /*  72 */
	tw_le64 s_ibitmap_start; /*  80 */
	tw_le32 s_ibitmap_blocks; /*  88 */
	tw_le32 s_itable_blocks; /*  92 */
	tw_le64 s_itable_start; /*  96 */
	tw_le64 s_data_start; /* 104 first block after the inode table */
	tw_le32 s_root_ino; /* 112 always TW_ROOT_INO */
	tw_le32 s_orphan_blocks; /* 116 orphan table length */
	tw_le32 s_csum_seed; /* 120 seed of every metadata block crc */
	tw_le32 s_hash_seed; /* 124 seed of the directory name hash */
	tw_le32 s_mount_count; /* 128 */
	tw_le32 s_inode_size; /* 132 256 */
	tw_le64 s_mkfs_time; /* 136 ns since the epoch */
	tw_le64 s_mount_time; /* 144 */
	tw_le64 s_write_time; /* 152 */
	tw_le64 s_check_time; /* 160 last fsck */
	u8 s_uuid[TW_UUID_LEN]; /* 168 */
	u8 s_label[TW_LABEL_LEN]; /* 184 NUL-padded */
	tw_le64 s_orphan_start; /* 248 first orphan table block */
	u8 s_reserved[256]; /* 256 zero */
};
_Static_assert(sizeof(struct tw_super) == 512, "tw_super size");

#define TW_SB_BLOCK 0

/* ------------------------------------------------------------------------ */
/* Common header of metadata blocks (all but the superblock and the inode   */
/* table, whose inodes carry their own crc).                                */
/* ------------------------------------------------------------------------ */

struct tw_blk_hdr {
	tw_le32 h_magic; /*  0 block type */
	tw_le32 h_crc; /*  4 crc32c (seed s_csum_seed) of the block, this field 0 */
	tw_le64 h_blkno; /*  8 where the block belongs: catches misdirected I/O */
	tw_le64 h_owner; /* 16 owning inode, 0 for filesystem-wide blocks */
	tw_le32 h_aux; /* 24 per type: indirect level, bucket number, long
			*    symlink length, journal seq low bits; else 0 */
	tw_le32 h_pad; /* 28 zero */
};
_Static_assert(sizeof(struct tw_blk_hdr) == 32, "tw_blk_hdr size");

/* ------------------------------------------------------------------------ */
/* Orphan table: inodes with no links that are still open somewhere, and    */
/* inodes whose truncation is under way.  Mount finishes their work.        */
/* Each block: a header and inode numbers, 0 for a free slot.               */
/* ------------------------------------------------------------------------ */

#define TW_ORPHAN_MAGIC 0x524f5754u /* "TWOR" */
#define TW_ORPHAN_SLOTS ((TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr)) / 4)

struct tw_orphan_block {
	struct tw_blk_hdr ob_hdr;
	tw_le32 ob_ino[TW_ORPHAN_SLOTS];
};
_Static_assert(sizeof(struct tw_orphan_block) == TW_BLOCK_SIZE, "orphan size");

/* ------------------------------------------------------------------------ */
/* Bitmaps: a header, then bits; bit i of the map is bit (i % 8) of byte    */
/* (i / 8) of the payload.  Set means in use.                               */
/* ------------------------------------------------------------------------ */

#define TW_BMAP_BYTES (TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr))
#define TW_BMAP_BITS ((u32)(TW_BMAP_BYTES * 8)) /* 32512 per block */

/* ------------------------------------------------------------------------ */
/* Inodes: 256 bytes, 16 per inode-table block.  Inode n lives in table     */
/* block n / 16, slot n % 16.  Inode 0 does not exist (its slot is zero and */
/* its bitmap bit set); the root directory is inode 1.                      */
/* ------------------------------------------------------------------------ */

#define TW_INODE_SIZE 256u
#define TW_INODES_PER_BLOCK (TW_BLOCK_SIZE / TW_INODE_SIZE)
#define TW_ROOT_INO 1u

#define TW_NDIRECT 12 /* direct block pointers */
#define TW_NINDIRECT 4 /* single, double, triple, quadruple indirect */
#define TW_NBLOCKPTR (TW_NDIRECT + TW_NINDIRECT)
#define TW_INLINE_MAX (TW_NBLOCKPTR * 8 - 1) /* 127: inline symlink target */

/* i_flags */
#define TW_IFL_INLINE 0x0001u /* symlink target stored in i_block */
#define TW_IFL_XINDEX 0x0002u /* i_xattr is an xattr index block (TWXI) */
#define TW_IFL_KNOWN (TW_IFL_INLINE | TW_IFL_XINDEX)

struct tw_inode {
	tw_le16 i_mode; /*   0 type and permission bits, as in st_mode */
	tw_le16 i_flags; /*   2 TW_IFL_* */
	tw_le32 i_nlink; /*   4 */
	tw_le32 i_uid; /*   8 */
	tw_le32 i_gid; /*  12 */
	tw_le64 i_size; /*  16 bytes */
	tw_le64 i_blocks; /*  24 4 KiB blocks owned: data, indirect, xattr
			   *     (entry, index and value blocks) */
	tw_le64 i_atime; /*  32 signed ns since the epoch */
	tw_le64 i_mtime; /*  40 */
	tw_le64 i_ctime; /*  48 */
	tw_le64 i_btime; /*  56 birth time */
	tw_le32 i_generation; /*  64 bumped each time the slot is reused */
	tw_le32 i_rdev; /*  68 device number of char/block nodes */
	tw_le64 i_xattr; /*  72 xattr block (TWXA, or TWXI with TW_IFL_XINDEX),
			  *     0 if none */
	tw_le32 i_orphan_slot; /*  80 orphan table slot + 1, 0 if none */
	tw_le32 i_pad0; /*  84 zero */
	tw_le64 i_block[TW_NBLOCKPTR]; /*  88 block map, or inline symlink */
	u8 i_reserved[36]; /* 216 zero */
	tw_le32 i_crc; /* 252 crc32c of the 256 bytes, this field 0,
			*     seeded with s_csum_seed and the inode number */
};
_Static_assert(sizeof(struct tw_inode) == TW_INODE_SIZE, "tw_inode size");

/* ------------------------------------------------------------------------ */
/* Indirect blocks: a header (h_aux = level, 1 = points at data) and 508    */
/* block numbers; 0 is a hole.                                              */
/* ------------------------------------------------------------------------ */

#define TW_IND_PTRS ((TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr)) / 8) /* 508 */

struct tw_ind_block {
	struct tw_blk_hdr ib_hdr;
	tw_le64 ib_ptr[TW_IND_PTRS];
};
_Static_assert(sizeof(struct tw_ind_block) == TW_BLOCK_SIZE, "ind size");

/* Largest logical block of a file: block numbers within a file are u32. */
#define TW_MAX_LBLK 0xfffffffeu
#define TW_MAX_FILE_SIZE (((u64)TW_MAX_LBLK + 1) << TW_BLOCK_SHIFT)

/* ------------------------------------------------------------------------ */
/* Directories.  A directory is a sparse file whose logical blocks are:     */
/*   0                      the header                                      */
/*   [1, TW_DIR_DATA_END)   entry blocks, in the order they were added      */
/*   [TW_DIR_FSM_BASE, ..)  free-space map: a byte per entry block          */
/*   [TW_DIR_IDX_BASE, ..)  hash buckets, a linear-hashing table            */
/* Readdir walks the entry blocks; a cookie is an entry's byte position in  */
/* the directory file, which never changes while the entry exists.  Lookup  */
/* hashes the name to one bucket, which maps hashes to positions.           */
/* ------------------------------------------------------------------------ */

#define TW_NAME_MAX 255
#define TW_DIR_DATA_BASE 1u
#define TW_DIR_DATA_END (1u << 20) /* at most 2^20 - 1 entry blocks */
#define TW_DIR_FSM_BASE (1u << 21)
#define TW_DIR_IDX_BASE (1u << 22)
#define TW_DIR_IDX_MAX (1u << 22) /* bucket numbers below this */

/* A directory of one entry block has no index: lookup scans that block.
 * Adding a second entry block builds the free-space map and the buckets. */
#define TW_DIRH_INDEXED 0x1u

struct tw_dir_header {
	struct tw_blk_hdr dh_hdr; /*  0 h_owner = the directory */
	tw_le32 dh_parent; /* 32 inode of ".." */
	tw_le32 dh_level; /* 36 linear hashing: 2^level buckets at start */
	tw_le32 dh_split; /* 40 next bucket to split */
	tw_le32 dh_data_blocks; /* 44 entry blocks in use: lblk 1..n */
	tw_le64 dh_entries; /* 48 live entries, "." and ".." excluded */
	tw_le32 dh_flags; /* 56 TW_DIRH_* */
	u8 dh_reserved[4036]; /* 60 zero */
};
_Static_assert(sizeof(struct tw_dir_header) == TW_BLOCK_SIZE, "dirh size");

/* Directory entry in an entry block, ext2-style: rec_len covers slack. */
struct tw_dirent {
	tw_le32 d_ino; /* 0 0 = unused record */
	tw_le16 d_rec_len; /* 4 multiple of 8, >= TW_DIRENT_LEN(name_len) */
	u8 d_name_len; /* 6 1..255 */
	u8 d_type; /* 7 DT_* value of the inode's type */
	/* u8 d_name[d_name_len] follows, not NUL-terminated */
};
_Static_assert(sizeof(struct tw_dirent) == 8, "dirent size");

#define TW_DIRENT_LEN(nl) ((sizeof(struct tw_dirent) + (nl) + 7u) & ~7u)
#define TW_DIRD_START sizeof(struct tw_blk_hdr) /* first entry at byte 32 */

/* File types in d_type: the values of readdir's DT_*. */
#define TW_DT_UNKNOWN 0
#define TW_DT_FIFO 1
#define TW_DT_CHR 2
#define TW_DT_DIR 4
#define TW_DT_BLK 6
#define TW_DT_REG 8
#define TW_DT_LNK 10
#define TW_DT_SOCK 12

/* Free-space map: byte i = largest free record of entry block 1 + i in
 * units of 8 bytes, 0..255 (capped). */
#define TW_DIRF_BYTES (TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr)) /* 4064 */

/* Hash bucket: (hash, position/8) pairs, unsorted. */
struct tw_dirx_ent {
	tw_le32 x_hash;
	tw_le32 x_pos; /* byte position of the entry in the directory / 8 */
};
_Static_assert(sizeof(struct tw_dirx_ent) == 8, "dirx ent size");

#define TW_DIRX_SLOTS \
	((TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr) - 8) / 8) /* 507 */

struct tw_dirx_block {
	struct tw_blk_hdr xb_hdr; /*  0 h_aux = bucket number */
	tw_le32 xb_count; /* 32 used slots */
	tw_le32 xb_pad; /* 36 zero */
	struct tw_dirx_ent xb_ent[TW_DIRX_SLOTS]; /* 40 */
};
_Static_assert(sizeof(struct tw_dirx_block) == TW_BLOCK_SIZE, "dirx size");

/* ------------------------------------------------------------------------ */
/* Extended attributes.  i_xattr names either                               */
/*   - one entry block (TWXA): every attribute of the inode, or             */
/*   - with TW_IFL_XINDEX, an index block (TWXI) listing up to 507 entry    */
/*     blocks, whose entries may keep their value in value blocks (TWXV).   */
/* An entry block is a header and entries packed after it, each padded to  */
/* 4 bytes.                                                                 */
/* ------------------------------------------------------------------------ */

#define TW_XATTR_NS_USER 1 /* "user." */
#define TW_XATTR_NS_TRUSTED 2 /* "trusted." */
#define TW_XATTR_NS_SECURITY 3 /* "security." */
/* "system.": only posix_acl_access and posix_acl_default, POSIX ACLs */
#define TW_XATTR_NS_SYSTEM 4
/* xe_ns flag, in entry blocks under an index only: the entry's value bytes
 * are a struct tw_xattr_ref, the value itself is in value blocks */
#define TW_XATTR_NS_EXTERNAL 0x80u
#define TW_XATTR_NS_MASK 0x7fu

struct tw_xattr_header {
	struct tw_blk_hdr xh_hdr; /*  0 h_owner = the inode */
	tw_le32 xh_count; /* 32 entries */
	tw_le32 xh_used; /* 36 bytes of entries after the header */
};
_Static_assert(sizeof(struct tw_xattr_header) == 40, "xattr hdr size");

struct tw_xattr_entry {
	u8 xe_ns; /* 0 TW_XATTR_NS_*, maybe | TW_XATTR_NS_EXTERNAL */
	u8 xe_name_len; /* 1 1..255, name without the namespace prefix */
	tw_le16 xe_value_len; /* 2 bytes of value (or of the tw_xattr_ref) */
	/* name, then value, then zero padding to a multiple of 4 */
};
_Static_assert(sizeof(struct tw_xattr_entry) == 4, "xattr entry size");

#define TW_XATTR_SPACE (TW_BLOCK_SIZE - sizeof(struct tw_xattr_header))
#define TW_XATTR_ENTRY_LEN(nl, vl) ((4u + (nl) + (vl) + 3u) & ~3u)

/* Linux's limits: the longest value (XATTR_SIZE_MAX) and the most bytes
 * listxattr() returns (XATTR_LIST_MAX).  twinfs keeps the names of one
 * inode, as "prefix.name\0", within the latter. */
#define TW_XATTR_SIZE_MAX 65536u
#define TW_XATTR_LIST_MAX 65536u

/* Under an index, an entry that would take more than this keeps its value
 * in value blocks (system. entries, the ACLs, always stay in their entry). */
#define TW_XATTR_INLINE_MAX 1024u

/* Index block: the entry blocks of one inode, in use from slot 0. */
#define TW_XIDX_SLOTS ((TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr) - 8) / 8)

struct tw_xattr_index {
	struct tw_blk_hdr xi_hdr; /*  0 h_owner = the inode */
	tw_le32 xi_nblocks; /* 32 entry blocks listed, 1..TW_XIDX_SLOTS */
	tw_le32 xi_pad; /* 36 zero */
	tw_le64 xi_block[TW_XIDX_SLOTS]; /* 40 entry blocks; unused slots 0 */
};
_Static_assert(TW_XIDX_SLOTS == 507, "xattr index slots");
_Static_assert(sizeof(struct tw_xattr_index) == TW_BLOCK_SIZE, "xidx size");

/* The value bytes of an external entry (xe_value_len = 8 + 8 * blocks),
 * at any alignment inside the entry: read it byte by byte. */
struct tw_xattr_ref {
	tw_le32 xr_len; /* 0 value length, 1..TW_XATTR_SIZE_MAX */
	tw_le32 xr_crc; /* 4 crc32c(~0, value) */
	/* tw_le64 xr_block[ceil(xr_len / TW_XVAL_PER_BLOCK)] follows: the
	 * value blocks, in order */
};
_Static_assert(sizeof(struct tw_xattr_ref) == 8, "xattr ref size");

/* Value block: a header (h_aux = value bytes in this block) then those
 * bytes; every block of a value but the last is full. */
#define TW_XVAL_PER_BLOCK (TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr)) /* 4064 */
#define TW_XVAL_MAX_BLOCKS \
	((TW_XATTR_SIZE_MAX + TW_XVAL_PER_BLOCK - 1) / TW_XVAL_PER_BLOCK) /* 17 */
#define TW_XATTR_REF_LEN(nblocks) (8u + 8u * (nblocks))

/*
 * A POSIX ACL, the value of system.posix_acl_access or
 * system.posix_acl_default: Linux's own xattr representation
 * (posix_acl_xattr_header version 2, then its entries), stored as the
 * system calls pass it, so that both homes hand it through unchanged.
 */
#define TW_ACL_VERSION 2u
#define TW_ACL_USER_OBJ 0x01u
#define TW_ACL_USER 0x02u
#define TW_ACL_GROUP_OBJ 0x04u
#define TW_ACL_GROUP 0x08u
#define TW_ACL_MASK 0x10u
#define TW_ACL_OTHER 0x20u
#define TW_ACL_UNDEFINED_ID 0xffffffffu /* e_id of the unnamed entries */

struct tw_acl_header {
	tw_le32 a_version; /* 0 TW_ACL_VERSION */
};
_Static_assert(sizeof(struct tw_acl_header) == 4, "acl header size");

struct tw_acl_entry {
	tw_le16 e_tag; /* 0 TW_ACL_* */
	tw_le16 e_perm; /* 2 rwx as 4, 2, 1 */
	tw_le32 e_id; /* 4 uid or gid of ACL_USER, ACL_GROUP */
};
_Static_assert(sizeof(struct tw_acl_entry) == 8, "acl entry size");

/* Long symlink targets (> TW_INLINE_MAX bytes) live in logical blocks 0
 * and, past TW_SYML_PER_BLOCK bytes, 1 of the inode: a header (h_aux = the
 * bytes in this block) then the bytes.  Up to Linux's 4095. */
#define TW_SYML_PER_BLOCK (TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr)) /* 4064 */
#define TW_SYML_MAX 4095u

/* ------------------------------------------------------------------------ */
/* Journal: s_journal_blocks blocks from s_journal_start.  Block 0 of the   */
/* journal is its superblock; blocks 1..n-1 are a circular log of           */
/* transactions:                                                            */
/*   descriptor, its blocks, [descriptor, its blocks, ...] commit           */
/* A descriptor lists where each following block belongs.  The commit       */
/* block holds a crc32c chained over every block of the transaction, so a   */
/* torn transaction is recognised and discarded.                            */
/* ------------------------------------------------------------------------ */

struct tw_journal_super {
	struct tw_blk_hdr js_hdr; /*  0 */
	tw_le64 js_seq; /* 32 sequence number expected at js_start */
	tw_le32 js_start; /* 40 journal-relative block of the oldest
			   *    transaction that may need replay, >= 1 */
	tw_le32 js_pad; /* 44 zero */
	u8 js_reserved[4048]; /* 48 zero */
};
_Static_assert(sizeof(struct tw_journal_super) == TW_BLOCK_SIZE, "jsb size");

#define TW_JDESC_SLOTS ((TW_BLOCK_SIZE - sizeof(struct tw_blk_hdr) - 16) / 8)

struct tw_journal_desc {
	struct tw_blk_hdr jd_hdr; /*  0 */
	tw_le64 jd_seq; /* 32 transaction */
	tw_le32 jd_count; /* 40 blocks that follow: 1..TW_JDESC_SLOTS */
	tw_le32 jd_pad; /* 44 */
	tw_le64 jd_target[TW_JDESC_SLOTS]; /* 48 home block of each */
};
_Static_assert(sizeof(struct tw_journal_desc) == TW_BLOCK_SIZE, "jdesc size");

struct tw_journal_commit {
	struct tw_blk_hdr jc_hdr; /*  0 */
	tw_le64 jc_seq; /* 32 transaction */
	tw_le32 jc_nblocks; /* 40 descriptors and copies before this block */
	tw_le32 jc_data_crc; /* 44 crc32c chained over those blocks */
	tw_le64 jc_time; /* 48 ns since the epoch */
	u8 jc_reserved[4040]; /* 56 zero */
};
_Static_assert(sizeof(struct tw_journal_commit) == TW_BLOCK_SIZE,
	       "jcommit size");

/* ------------------------------------------------------------------------ */
/* Geometry limits enforced by the validator                                */
/* ------------------------------------------------------------------------ */

#define TW_MIN_BLOCKS 512u /* 2 MiB */
#define TW_MAX_BLOCKS 0xffffffffull /* block numbers fit in 32 bits */
#define TW_MIN_JOURNAL 128u
#define TW_MAX_JOURNAL 65536u /* 256 MiB */
#define TW_MIN_INODES 16u

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */
/* ------------------------------------------------------------------------ */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define tw_le16_to_cpu(x) __builtin_bswap16(x)
#define tw_le32_to_cpu(x) __builtin_bswap32(x)
#define tw_le64_to_cpu(x) __builtin_bswap64(x)
#else
#define tw_le16_to_cpu(x) ((u16)(x))
#define tw_le32_to_cpu(x) ((u32)(x))
#define tw_le64_to_cpu(x) ((u64)(x))
#endif
#define tw_cpu_to_le16(x) tw_le16_to_cpu(x)
#define tw_cpu_to_le32(x) tw_le32_to_cpu(x)
#define tw_cpu_to_le64(x) tw_le64_to_cpu(x)

/* Read or write a little-endian field: TW_GET(sb, s_blocks_count). */
#define TW_GET16(p, f) tw_le16_to_cpu((p)->f)
#define TW_GET32(p, f) tw_le32_to_cpu((p)->f)
#define TW_GET64(p, f) tw_le64_to_cpu((p)->f)
#define TW_SET16(p, f, v) ((p)->f = tw_cpu_to_le16((u16)(v)))
#define TW_SET32(p, f, v) ((p)->f = tw_cpu_to_le32((u32)(v)))
#define TW_SET64(p, f, v) ((p)->f = tw_cpu_to_le64((u64)(v)))

/* crc32c (Castagnoli), reflected, as used by iSCSI, ext4 and btrfs.  The
 * running value is not inverted between calls: start with ~0, the stored
 * value is the final running value, not inverted either. */
u32 tw_crc32c(u32 crc, const void *data, size_t len);

/* Block checksums: crc32c over the block with the crc field taken as 0. */
u32 tw_block_csum(u32 seed, const void *block);
void tw_block_seal(u32 seed, void *block, u32 magic, u64 blkno, u64 owner,
		   u32 aux);
u32 tw_super_csum(const struct tw_super *sb);
u32 tw_inode_csum(u32 seed, u32 ino, const struct tw_inode *di);

#endif /* TW_FORMAT_H */
