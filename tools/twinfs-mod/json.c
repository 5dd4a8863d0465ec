// SPDX-License-Identifier: GPL-2.0-only
/*
 * json.c - twinfs-mod's --json output: one object per run on stdout,
 * written as we go, with commas and nesting kept here.
 *
 * Layer: user-space tool.  Calls libc only.
 */
#include "twinfs-mod.h"

#include <stdio.h>

static int jdepth;
static bool jfirst[32];
static bool jafterkey;

static void j_sep(void)
{
	if (jafterkey) {
		jafterkey = false;
		return;
	}
	if (jdepth && !jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
}

static void j_raw_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void j_open(char c)
{
	j_sep();
	putchar(c);
	jfirst[++jdepth] = true;
}

void j_close(char c)
{
	putchar(c);
	jdepth--;
}

void j_key(const char *k)
{
	j_sep();
	j_raw_str(k);
	putchar(':');
	jafterkey = true;
}

void j_str(const char *s)
{
	j_sep();
	if (s)
		j_raw_str(s);
	else
		fputs("null", stdout);
}

void j_int(long long v)
{
	j_sep();
	printf("%lld", v);
}

void j_bool(bool v)
{
	j_sep();
	fputs(v ? "true" : "false", stdout);
}

void j_kstr(const char *k, const char *v)
{
	j_key(k);
	j_str(v);
}

void j_kint(const char *k, long long v)
{
	j_key(k);
	j_int(v);
}

void j_kstrv(const char *k, const struct strv *sv)
{
	size_t i;

	j_key(k);
	j_open('[');
	for (i = 0; i < sv->n; i++)
		j_str(sv->v[i]);
	j_close(']');
}
