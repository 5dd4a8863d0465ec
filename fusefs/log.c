// SPDX-License-Identifier: GPL-2.0
/*
 * log.c - the messages of twinfs-fuse and of the core inside it: stderr
 * while the daemon is in the foreground, syslog once it is in the
 * background.
 *
 * Layer: fusefs (user space).  Calls the user-space environment (the
 * device's name) and the C library.
 */
#include "fusefs.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static bool log_syslog;

void tf_log_background(void)
{
	openlog(TF_PROG, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = true;
}

static void emit(int level, const char *dev, const char *msg)
{
	if (log_syslog) {
		int prio = level <= TW_LOG_ERR	? LOG_ERR :
			   level <= TW_LOG_WARN ? LOG_WARNING :
			   level <= TW_LOG_INFO ? LOG_INFO :
						  LOG_DEBUG;

		if (dev)
			syslog(prio, "%s: %s", dev, msg);
		else
			syslog(prio, "%s", msg);
		return;
	}
	if (dev)
		fprintf(stderr, "%s: %s: %s\n", TF_PROG, dev, msg);
	else
		fprintf(stderr, "%s: %s\n", TF_PROG, msg);
}

void tf_log_hook(void *ctx, struct tw_dev *dev, int level, const char *msg)
{
	emit(level, dev ? tw_udev_name(dev) : NULL, msg);
}

void tf_logf(int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, NULL, msg);
}
