// SPDX-License-Identifier: GPL-2.0
/*
 * dump_out.c - twinfs-dump's output: one set of calls (sections, lists,
 * fields) that writes either the human text form or JSON, and fail(),
 * which reports an error in both and keeps the JSON document valid.
 *
 * Layer: tools (user space), a part of twinfs-dump (dump.h).  Calls
 * toolutil (its JSON writer and formatters) and the C library.
 */
#include "dump.h"

#define LABEL_W 20

__printf(1, 2) void line(const char *fmt, ...)
{
	va_list ap;

	if (json)
		return;
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

__printf(2, 3) void kv(const char *key, const char *fmt, ...)
{
	char label[64];
	va_list ap;

	snprintf(label, sizeof(label), "%s:", key);
	fprintf(out, "%*s%-*s ", ind, "", LABEL_W, label);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* A section: a JSON object under @key, or a titled, indented block. */
__printf(2, 3) void sec(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (json) {
		tu_json_kobj(&J, key);
		return;
	}
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	ind += 2;
}

void sec_end(void)
{
	if (json)
		tu_json_obj_end(&J);
	else
		ind -= 2;
}

/* A list: a JSON array under @key, or a titled, indented block. */
__printf(2, 3) void list(const char *key, const char *fmt, ...)
{
	va_list ap;

	if (json) {
		tu_json_karr(&J, key);
		return;
	}
	fprintf(out, "%*s", ind, "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	ind += 2;
}

void list_end(void)
{
	if (json)
		tu_json_arr_end(&J);
	else
		ind -= 2;
}

void item(void)
{
	if (json)
		tu_json_obj_begin(&J);
}

void item_end(void)
{
	if (json)
		tu_json_obj_end(&J);
}

void f_u64(const char *key, u64 v)
{
	if (json)
		tu_json_ku64(&J, key, v);
	else
		kv(key, "%llu", (unsigned long long)v);
}

/* A number with a remark for the human reader. */
__printf(3, 4) void f_u64n(const char *key, u64 v, const char *fmt, ...)
{
	char note[256];
	va_list ap;

	if (json) {
		tu_json_ku64(&J, key, v);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	kv(key, "%llu  (%s)", (unsigned long long)v, note);
}

void f_hex(const char *key, u64 v, int digits)
{
	if (json)
		tu_json_ku64(&J, key, v);
	else
		kv(key, "0x%0*llx", digits, (unsigned long long)v);
}

void f_str(const char *key, const char *s)
{
	if (json)
		tu_json_kstr(&J, key, s);
	else
		kv(key, "%s", s ? s : "(none)");
}

void f_bool(const char *key, bool v)
{
	if (json)
		tu_json_kbool(&J, key, v);
	else
		kv(key, "%s", v ? "yes" : "no");
}

/* A name of @len bytes: escaped for a terminal, exact in JSON. */
void f_name(const char *key, const char *name, size_t len)
{
	char buf[4 * 4096 + 1];

	if (json) {
		tu_json_key(&J, key);
		tu_json_strn(&J, name, len);
	} else {
		kv(key, "%s", tu_fmt_name(name, len, buf, sizeof(buf)));
	}
}

/* A timestamp: ns in JSON plus "<key>_iso"; ISO 8601 for humans. */
void f_time(const char *key, s64 ns, bool zero_is_never)
{
	char t[TU_TIME_LEN], k[64];

	if (zero_is_never && !ns) {
		if (json) {
			tu_json_ks64(&J, key, 0);
			snprintf(k, sizeof(k), "%s_iso", key);
			tu_json_key(&J, k);
			tu_json_null(&J);
		} else {
			kv(key, "never");
		}
		return;
	}
	tu_fmt_time(ns, t, sizeof(t));
	if (json) {
		tu_json_ks64(&J, key, ns);
		snprintf(k, sizeof(k), "%s_iso", key);
		tu_json_kstr(&J, k, t);
	} else {
		kv(key, "%s", t);
	}
}

/* A checksum: stored, computed, verdict. */
void f_crc(const char *key, u32 stored, u32 computed)
{
	char k[64];

	if (json) {
		tu_json_ku64(&J, key, stored);
		snprintf(k, sizeof(k), "%s_computed", key);
		tu_json_ku64(&J, k, computed);
		snprintf(k, sizeof(k), "%s_valid", key);
		tu_json_kbool(&J, k, stored == computed);
	} else if (stored == computed) {
		kv(key, "0x%08x  (valid)", stored);
	} else {
		kv(key, "0x%08x  (INVALID: computed 0x%08x)", stored, computed);
	}
}

/*
 * Report an error: on stderr always, and as the "error" member of the JSON
 * document's top object (the containers still open are closed first, so
 * that what was shown stays valid JSON).  @err may be 0 for a plain
 * message; a core error gets the core's last error message as its detail.
 * The caller returns at once: no more output follows.
 */
__printf(2, 3) int fail(int err, const char *fmt, ...)
{
	char msg[512], full[1200];
	const char *detail = err ? tu_log_last(TW_LOG_ERR) : NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && detail)
		snprintf(full, sizeof(full), "%s: %s (%s)", msg,
			 tu_strerror(err), detail);
	else if (err)
		snprintf(full, sizeof(full), "%s: %s", msg, tu_strerror(err));
	else
		snprintf(full, sizeof(full), "%s", msg);
	tu_err("%s: %s", image, full);
	if (json && J.depth) {
		/* keep what was shown, close it, and put the error on top */
		if (J.want_value)
			tu_json_null(&J);
		while (J.depth > 1) {
			if (J.in_obj[J.depth - 1])
				tu_json_obj_end(&J);
			else
				tu_json_arr_end(&J);
		}
		tu_json_kstr(&J, "error", full);
	}
	return 1;
}
