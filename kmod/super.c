// SPDX-License-Identifier: GPL-2.0
/*
 * super.c - twinfs.ko: the filesystem type, mounting through the fs_context
 * API, the superblock operations, and the module's life cycle.
 *
 * Layer: kernel home, VFS glue.  Calls the kernel and the core API
 * (twinfs.h) of twinfs_core.ko.
 *
 * Mount options: commit=SECONDS (default 5), acl (default) / noacl (POSIX
 * ACLs: SB_POSIXACL, fixed for the life of a mount); errors are refused
 * with a message.  The VFS's own flags (ro, noatime, relatime, ...) apply
 * as for any filesystem.
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>

#include "twinfs_k.h"
#include "twinfs_core.h"

static struct kmem_cache *twinfs_inode_cachep;

/* ---- inodes from the slab ---- */

static struct inode *twinfs_alloc_inode(struct super_block *sb)
{
	struct twinfs_inode_info *ti;

	ti = alloc_inode_sb(sb, twinfs_inode_cachep, GFP_NOFS);
	if (!ti)
		return NULL;
	ti->disk_size = 0;
	ti->new_blocks = false;
	return &ti->vfs_inode;
}

static void twinfs_free_inode(struct inode *inode)
{
	kmem_cache_free(twinfs_inode_cachep, TW_I(inode));
}

static void init_once(void *p)
{
	struct twinfs_inode_info *ti = p;

	inode_init_once(&ti->vfs_inode);
}

static void twinfs_evict_inode(struct inode *inode)
{
	bool gone = !inode->i_nlink && !is_bad_inode(inode);
	int err;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (!gone)
		return;
	/* the last name went earlier; now the last user did: free it */
	err = tw_evict(TW_FS(inode), inode->i_ino);
	if (err)
		tw_log(tw_fs_dev(TW_FS(inode)), TW_LOG_ERR,
		       "freeing inode %lu failed: %d", inode->i_ino, err);
}

/* ---- the superblock ---- */

static void commit_worker(struct work_struct *w)
{
	struct twinfs_sb_info *sbi = container_of(
		to_delayed_work(w), struct twinfs_sb_info, commit_work);

	tw_commit_if_old(sbi->fs, (s64)sbi->commit_sec * NSEC_PER_SEC);
	tw_kenv_flush_iputs();
	queue_delayed_work(system_long_wq, &sbi->commit_work,
			   sbi->commit_sec * HZ);
}

static int twinfs_sync_fs(struct super_block *sb, int wait)
{
	int err = 0;

	if (wait)
		err = tw_sync(TW_SB(sb)->fs);
	else
		err = tw_commit_if_old(TW_SB(sb)->fs, 0);
	/* inode references the ordered writeback took go before umount
	 * counts busy inodes */
	tw_kenv_flush_iputs();
	return err;
}

static void twinfs_put_super(struct super_block *sb)
{
	struct twinfs_sb_info *sbi = TW_SB(sb);
	int err;

	cancel_delayed_work_sync(&sbi->commit_work);
	tw_kenv_flush_iputs();
	err = tw_unmount(sbi->fs);
	if (err)
		tw_log((struct tw_dev *)sb, TW_LOG_ERR,
		       "unmount: writing failed (%d)", err);
	sb->s_fs_info = NULL;
	kfree(sbi);
}

static int twinfs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct super_block *sb = dentry->d_sb;
	const struct tw_super *tsb = tw_fs_super(TW_SB(sb)->fs);
	struct tw_statfs st;
	int err;

	err = tw_statfs(TW_SB(sb)->fs, &st);
	if (err)
		return err;
	buf->f_type = TW_SB_MAGIC;
	buf->f_bsize = st.bsize;
	buf->f_frsize = st.bsize;
	buf->f_blocks = st.blocks;
	buf->f_bfree = st.bfree;
	buf->f_bavail = st.bfree;
	buf->f_files = st.files;
	buf->f_ffree = st.ffree;
	buf->f_namelen = st.namelen;
	buf->f_fsid = u64_to_fsid(le64_to_cpup((void *)tsb->s_uuid) ^
				  le64_to_cpup((void *)(tsb->s_uuid + 8)));
	return 0;
}

static int twinfs_show_options(struct seq_file *m, struct dentry *root)
{
	struct twinfs_sb_info *sbi = TW_SB(root->d_sb);

	if (sbi->commit_sec != 5)
		seq_printf(m, ",commit=%u", sbi->commit_sec);
	if (sbi->noacl)
		seq_puts(m, ",noacl");
	return 0;
}

static const struct super_operations twinfs_sops = {
	.alloc_inode = twinfs_alloc_inode,
	.free_inode = twinfs_free_inode,
	.evict_inode = twinfs_evict_inode,
	.put_super = twinfs_put_super,
	.sync_fs = twinfs_sync_fs,
	.statfs = twinfs_statfs,
	.show_options = twinfs_show_options,
};

/* ---- mounting ---- */

struct twinfs_ctx {
	unsigned int commit_sec;
	bool noacl;
};

enum { OPT_COMMIT, OPT_ACL };

static const struct fs_parameter_spec twinfs_params[] = {
	fsparam_u32("commit", OPT_COMMIT),
	fsparam_flag_no("acl", OPT_ACL),
	{},
};

static int twinfs_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct twinfs_ctx *ctx = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, twinfs_params, param, &result);
	if (opt < 0)
		return opt;
	switch (opt) {
	case OPT_COMMIT:
		if (result.uint_32 < 1 || result.uint_32 > 300)
			return invalfc(fc, "commit= must be 1..300 seconds");
		ctx->commit_sec = result.uint_32;
		break;
	case OPT_ACL:
#ifndef CONFIG_FS_POSIX_ACL
		if (!result.negated)
			return invalfc(fc, "this kernel has no POSIX ACLs");
#endif
		ctx->noacl = result.negated;
		break;
	}
	return 0;
}

static int twinfs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct twinfs_ctx *ctx = fc->fs_private;
	struct tw_mount_opts mo = { 0 };
	struct twinfs_sb_info *sbi;
	const struct tw_super *tsb;
	struct inode *root;
	int err;

	if (!sb_set_blocksize(sb, TW_BLOCK_SIZE))
		return invalfc(fc, "device cannot use 4096-byte blocks");
	sbi = kzalloc(sizeof(*sbi), GFP_KERNEL);
	if (!sbi)
		return -ENOMEM;
	sbi->commit_sec = ctx->commit_sec;
	sbi->noacl = ctx->noacl;
	INIT_DELAYED_WORK(&sbi->commit_work, commit_worker);
	sb->s_fs_info = sbi;

	if (sb_rdonly(sb))
		mo.flags |= TW_MNT_RDONLY;
	/* atime is the VFS's business here (touch_atime -> update_time) */
	mo.flags |= TW_MNT_NOATIME;
	if (sbi->noacl)
		mo.flags |= TW_MNT_NOACL;
	else
		sb->s_flags |= SB_POSIXACL;
	/* the core validates everything and logs what is wrong */
	err = tw_mount((struct tw_dev *)sb,
		       bdev_nr_bytes(tw_sb_bdev(sb)) >> TW_BLOCK_SHIFT, &mo,
		       &sbi->fs);
	if (err) {
		errorfc(fc, "cannot mount: %s",
			err == -EUCLEAN ?
				"the image is corrupted (see the kernel log)" :
			err == -EBADMSG ? "a checksum does not match" :
					  "I/O or memory error");
		goto fail;
	}
	tsb = tw_fs_super(sbi->fs);
	sb->s_magic = TW_SB_MAGIC;
	sb->s_op = &twinfs_sops;
	sb->s_xattr = twinfs_xattr_handlers;
	sb->s_export_op = &twinfs_export_ops;
	sb->s_maxbytes = TW_MAX_FILE_SIZE;
	sb->s_time_gran = 1;
	sb->s_time_min = S64_MIN / NSEC_PER_SEC;
	sb->s_time_max = S64_MAX / NSEC_PER_SEC;
	import_uuid(&sb->s_uuid, tsb->s_uuid);

	root = twinfs_iget(sb, TW_ROOT_INO, NULL);
	if (IS_ERR(root)) {
		err = PTR_ERR(root);
		goto fail_unmount;
	}
	sb->s_root = d_make_root(root);
	if (!sb->s_root) {
		err = -ENOMEM;
		goto fail_unmount;
	}
	if (!sb_rdonly(sb))
		queue_delayed_work(system_long_wq, &sbi->commit_work,
				   sbi->commit_sec * HZ);
	return 0;

fail_unmount:
	tw_unmount(sbi->fs);
fail:
	sb->s_fs_info = NULL;
	kfree(sbi);
	return err;
}

static int twinfs_get_tree(struct fs_context *fc)
{
	return get_tree_bdev(fc, twinfs_fill_super);
}

/*
 * mount -o remount: commit= changes, and ro <-> rw through tw_remount().
 * Before a read-only remount the VFS has refused (EBUSY) if a file is open
 * for writing or an unlinked inode is still open (sb->s_remove_count), and
 * blocks new writers while we run; sync_filesystem() has pushed the dirty
 * pages through ->writepages.  tw_remount() then waits for the operations
 * in progress, commits, and marks the image clean: fsck -n of the device
 * finds it clean for as long as it stays read-only.  Going read-write
 * replays nothing (tw_mount() did that in memory when it mounted read-only
 * and tw_remount() writes it now) and frees the orphans.
 */
static int twinfs_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct twinfs_ctx *ctx = fc->fs_private;
	struct twinfs_sb_info *sbi = TW_SB(sb);
	bool to_ro = fc->sb_flags & SB_RDONLY;
	int err;

	/* the core's ACL setting is fixed at mount */
	if (ctx->noacl != sbi->noacl)
		return invalfc(fc, "acl/noacl cannot change on remount");
	sync_filesystem(sb);
	if (to_ro != sb_rdonly(sb)) {
		if (to_ro) {
			cancel_delayed_work_sync(&sbi->commit_work);
			tw_kenv_flush_iputs();
		}
		err = tw_remount(sbi->fs, to_ro ? TW_MNT_RDONLY : 0);
		if (err) {
			/* the core stays read-only if it could not commit */
			if (!to_ro)
				return invalfc(fc, "cannot go read-write: %d",
					       err);
			errorfc(fc, "read-only, but the last commit failed: %d",
				err);
		}
		if (!to_ro)
			queue_delayed_work(system_long_wq, &sbi->commit_work,
					   ctx->commit_sec * HZ);
	}
	sbi->commit_sec = ctx->commit_sec;
	return 0;
}

static void twinfs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations twinfs_context_ops = {
	.parse_param = twinfs_parse_param,
	.get_tree = twinfs_get_tree,
	.reconfigure = twinfs_reconfigure,
	.free = twinfs_free_fc,
};

static int twinfs_init_fs_context(struct fs_context *fc)
{
	struct twinfs_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->commit_sec = 5;
#ifndef CONFIG_FS_POSIX_ACL
	ctx->noacl = true;
#endif
	if (fc->root) {
		ctx->commit_sec = TW_SB(fc->root->d_sb)->commit_sec;
		ctx->noacl = TW_SB(fc->root->d_sb)->noacl;
	}
	fc->fs_private = ctx;
	fc->ops = &twinfs_context_ops;
	return 0;
}

static struct file_system_type twinfs_fs_type = {
	.owner = THIS_MODULE,
	.name = "twinfs",
	.init_fs_context = twinfs_init_fs_context,
	.parameters = twinfs_params,
	.kill_sb = kill_block_super,
	.fs_flags = FS_REQUIRES_DEV,
};
MODULE_ALIAS_FS("twinfs");

/* ---- module life cycle ---- */

static int __init twinfs_init(void)
{
	int err;

	twinfs_inode_cachep = kmem_cache_create(
		"twinfs_inode_cache", sizeof(struct twinfs_inode_info), 0,
		SLAB_RECLAIM_ACCOUNT | SLAB_MEM_SPREAD | SLAB_ACCOUNT,
		init_once);
	if (!twinfs_inode_cachep)
		return -ENOMEM;
	err = register_filesystem(&twinfs_fs_type);
	if (err) {
		kmem_cache_destroy(twinfs_inode_cachep);
		return err;
	}
	pr_info("twinfs: filesystem registered\n");
	return 0;
}

static void __exit twinfs_exit(void)
{
	unregister_filesystem(&twinfs_fs_type);
	/* inodes freed by RCU must be gone before their cache is */
	rcu_barrier();
	kmem_cache_destroy(twinfs_inode_cachep);
	pr_info("twinfs: filesystem unregistered\n");
}

module_init(twinfs_init);
module_exit(twinfs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The twinfs authors");
MODULE_DESCRIPTION(
	"twinfs: a journaled POSIX filesystem whose core also runs as a FUSE daemon");
MODULE_VERSION("0.1.0");
