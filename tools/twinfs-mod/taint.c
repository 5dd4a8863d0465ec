// SPDX-License-Identifier: GPL-2.0-only
/*
 * taint.c - the kernel's taint flags in words, as /proc/sys/kernel/tainted
 * and /sys/module/NAME/taint give them
 * (Documentation/admin-guide/tainted-kernels.rst).
 *
 * Layer: user-space tool.  Calls libc, util.c and json.c.
 */
#include "twinfs-mod.h"

#include <stdio.h>
#include <stdlib.h>

static const struct {
	char letter;
	const char *words;
} taints[] = {
	{ 'P', "proprietary module loaded" },
	{ 'F', "module force-loaded" },
	{ 'S', "out-of-specification system" },
	{ 'R', "module force-unloaded" },
	{ 'M', "machine check exception" },
	{ 'B', "bad page referenced" },
	{ 'U', "tainted by user space" },
	{ 'D', "kernel died recently (oops or BUG)" },
	{ 'A', "ACPI table overridden" },
	{ 'W', "kernel warning issued" },
	{ 'C', "staging driver loaded" },
	{ 'I', "firmware bug workaround applied" },
	{ 'O', "out-of-tree module loaded" },
	{ 'E', "unsigned module loaded" },
	{ 'L', "soft lockup occurred" },
	{ 'K', "kernel live-patched" },
	{ 'X', "auxiliary (distribution) taint" },
	{ 'T', "built with struct randomization" },
	{ 'N', "in-kernel test run" },
};

const char *taint_words(char letter)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(taints); i++)
		if (taints[i].letter == letter)
			return taints[i].words;
	return "unknown taint";
}

long long kernel_taint(void)
{
	char *s = read_text("/proc/sys/kernel/tainted");
	long long v = -1;

	if (s) {
		v = strtoll(s, NULL, 10);
		free(s);
	}
	return v;
}

/* "E (unsigned module loaded), O (out-of-tree module loaded)" */
const char *taint_describe(long long mask, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(taints) && off < len; i++) {
		if (!(mask & (1LL << i)))
			continue;
		off += snprintf(buf + off, len - off, "%s%c (%s)",
				off ? ", " : "", taints[i].letter,
				taints[i].words);
	}
	return buf;
}

void j_taint_list(long long mask)
{
	size_t i;

	j_open('[');
	for (i = 0; i < ARRAY_SIZE(taints); i++) {
		char l[2] = { taints[i].letter, '\0' };

		if (!(mask & (1LL << i)))
			continue;
		j_open('{');
		j_kstr("flag", l);
		j_kint("bit", i);
		j_kstr("meaning", taints[i].words);
		j_close('}');
	}
	j_close(']');
}
