/* SPDX-License-Identifier: GPL-2.0 */
/*
 * twinfs_core.h - what twinfs_core.ko offers the VFS module besides the
 * core API (twinfs.h): its parameters and a few kernel-only helpers.
 *
 * Layer: kernel home.
 */
#ifndef TWINFS_CORE_H
#define TWINFS_CORE_H

/* log messages up to this TW_LOG_* level (module parameter "debug") */
extern int tw_debug_level;

/* drop the inode references the ordered-data writeback deferred */
void tw_kenv_flush_iputs(void);

#endif /* TWINFS_CORE_H */
