// SPDX-License-Identifier: GPL-2.0-only
/*
 * error.c - the one error a twinfs-mod run can end with (a sentence and an
 * errno, printed by main.c) and the progress messages and notes for people,
 * which --json silences.
 *
 * Layer: user-space tool.  Calls libc only.
 */
#include "twinfs-mod.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char errmsg[4096];
int errnum;

static const struct {
	int num;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" },	    { ENOENT, "ENOENT" },
	{ ENOEXEC, "ENOEXEC" },	    { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },	    { EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },	    { EEXIST, "EEXIST" },
	{ EINVAL, "EINVAL" },	    { ENOSYS, "ENOSYS" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { EKEYREJECTED, "EKEYREJECTED" },
	{ ENOKEY, "ENOKEY" },	    { EBADMSG, "EBADMSG" },
	{ ENODATA, "ENODATA" },	    { EACCES, "EACCES" },
	{ ENOTDIR, "ENOTDIR" },	    { EISDIR, "EISDIR" },
};

const char *errname(int e)
{
	static char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errnames); i++)
		if (errnames[i].num == e)
			return errnames[i].name;
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

int __attribute__((format(printf, 2, 3))) fail(int e, const char *fmt, ...)
{
	va_list ap;

	errnum = e ? e : EINVAL;
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Append more explanation to the error sentence. */
void __attribute__((format(printf, 1, 2))) fail_more(const char *fmt, ...)
{
	size_t off = strlen(errmsg);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg + off, sizeof(errmsg) - off, fmt, ap);
	va_end(ap);
}

/* Progress and notes for people; silent in --json mode. */
void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	fputs("twinfs-mod: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
