// SPDX-License-Identifier: GPL-2.0
/*
 * hello_core.c - Lab 2: your own module, stacked on twinfs_core.
 *
 * Layer: a client of the core in the kernel, beside twinfs.ko.  Calls the
 * kernel (kzalloc, kfree, printk) and one function twinfs_core exports:
 * tw_validate_super(), the superblock validator that mount, fsck.twinfs
 * and twinfs-fuse all use (common/super.c, contract in common/twinfs.h).
 * It needs no device and no mounted filesystem: it only reads a buffer.
 *
 * At load time it hands the validator two broken superblocks and prints
 * what comes back; at unload time it says goodbye.  The licence string
 * is "GPL" unless the Makefile passes another (make LICENSE=...).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "twinfs.h"

#ifndef HELLO_LICENSE
#define HELLO_LICENSE "GPL"
#endif

/* the device size we claim: 1024 blocks of 4 KiB, 4 MiB */
#define HELLO_DEV_BLOCKS 1024

static void hello_check(const char *what, const struct tw_super *sb)
{
	const char *why;
	int err = tw_validate_super(sb, HELLO_DEV_BLOCKS, &why);

	/* %pe prints an error pointer as its name: -EUCLEAN */
	pr_info("%s: tw_validate_super() = %d (%pe): %s\n", what, err,
		ERR_PTR(err), why ? why : "valid");
}

static int __init hello_core_init(void)
{
	struct tw_super *sb;

	/* a whole block, as mount reads it; 4 KiB never go on the stack */
	sb = kzalloc(TW_BLOCK_SIZE, GFP_KERNEL);
	if (!sb)
		return -ENOMEM;

	hello_check("zeroed block", sb);

	/* the right magic number, but no checksum */
	TW_SET32(sb, s_magic, TW_SB_MAGIC);
	hello_check("magic only", sb);

	kfree(sb);
	return 0;
}

static void __exit hello_core_exit(void)
{
	pr_info("goodbye\n");
}

module_init(hello_core_init);
module_exit(hello_core_exit);

MODULE_LICENSE(HELLO_LICENSE);
MODULE_DESCRIPTION("Lab 2: a module that calls the twinfs core");
