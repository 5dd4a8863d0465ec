// SPDX-License-Identifier: GPL-2.0-only
/*
 * oopsmod: a tiny out-of-tree module that misbehaves on request, so the
 * tests can check that vm/run notices kernel warnings, oopses and panics,
 * and that twinfs-mod explains what happens to an unsigned module.
 *
 * Layer: test kernel module (tests/vm only, never shipped).  May call the
 * kernel's printk/WARN and nothing of twinfs.
 *
 *   crash=none   load quietly (the default)
 *   crash=warn   WARN() during init, then load
 *   crash=oops   NULL pointer write during init: an oops that kills the
 *                loading process (a panic with oops=panic)
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>

static char *crash = "none";
module_param(crash, charp, 0444);
MODULE_PARM_DESC(crash, "misbehave at load: none, warn or oops");

/* volatile, so the compiler cannot see that it is NULL and trap instead. */
static int *volatile target;

static int __init oopsmod_init(void)
{
	if (!strcmp(crash, "warn")) {
		WARN(1, "oopsmod: warning requested\n");
	} else if (!strcmp(crash, "oops")) {
		pr_info("oopsmod: writing through a NULL pointer\n");
		*target = 1;
	}
	return 0;
}

static void __exit oopsmod_exit(void)
{
}

module_init(oopsmod_init);
module_exit(oopsmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("twinfs test module that warns or oopses on request");
