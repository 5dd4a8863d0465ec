/* SPDX-License-Identifier: GPL-2.0 */
/*
 * toolutil.h - small helpers shared by the twinfs tools (mkfs.twinfs,
 * fsck.twinfs, twinfs-dump): messages, devices, sizes, a JSON writer,
 * UUIDs, time and mode formatting, and capture of the core's log.
 *
 * Layer: tools (user space).  Includes the user-space environment's public
 * header (user/tw_user.h) and the core's API (common/twinfs.h); the
 * implementation calls those, the C library and Linux system calls.  It
 * never reaches into the core's internals: that is for the tools that
 * need them (tw_int.h).
 */
#ifndef TOOLUTIL_H
#define TOOLUTIL_H

#include <stdarg.h>
#include <stdio.h>

#include "tw_user.h"
#include "twinfs.h"

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */
/* ------------------------------------------------------------------------ */

/** tu_prog - the program name used as the prefix of every message. */
extern const char *tu_prog;

/** tu_set_prog() - set tu_prog from argv[0] (its last path component). */
void tu_set_prog(const char *argv0);

/**
 * tu_strerror() - strerror() of an errno, given positive or negative (the
 * core returns negative ones).
 */
const char *tu_strerror(int err);

/**
 * tu_version() - what --version prints, on stdout: "@name (twinfs) VERSION"
 * (GNU style; VERSION is meson's project version) and the on-disk format
 * version the program reads and writes.
 */
void tu_version(const char *name);

/**
 * tu_try_help() - after a usage error: "Try 'prog --help' for more
 * information." on stderr.
 */
void tu_try_help(void);

/** tu_err() - print "prog: <message>" and a newline to stderr. */
__printf(1, 2) void tu_err(const char *fmt, ...);

/**
 * tu_err_path() - print "prog: path: strerror(err)" to stderr, followed by
 * " (<detail>)" when @detail is not NULL.  @err may be negative.
 */
void tu_err_path(const char *path, int err, const char *detail);

/* ------------------------------------------------------------------------ */
/* The core's log                                                           */
/* ------------------------------------------------------------------------ */

/**
 * tu_log_capture() - route the core's messages (tw_log()) to the tool:
 * every message is kept (the last TU_LOG_KEEP of them) and those of
 * @print_level or more severe are printed at once as "prog: <msg>" on
 * stderr.  Pass -1 to print none.
 */
#define TU_LOG_KEEP 64
void tu_log_capture(int print_level);

/** tu_log_count() - messages kept since the last tu_log_clear(). */
unsigned int tu_log_count(void);

/** tu_log_get() - kept message @i (0 is the oldest kept); its level too. */
const char *tu_log_get(unsigned int i, int *level);

/**
 * tu_log_last() - the most recent kept message of @max_level or more
 * severe (e.g. TW_LOG_ERR: the validator's verdict), or NULL.
 */
const char *tu_log_last(int max_level);

/** tu_log_clear() - forget the kept messages. */
void tu_log_clear(void);

/* ------------------------------------------------------------------------ */
/* Devices                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * tu_open() - open an image file or block device as a struct tw_dev.
 * Read-only unless @rdwr; read-write block devices are opened with
 * O_EXCL, so a mounted device is refused (-EBUSY).
 * Return: the device, or NULL with *@err (a negative errno) set.
 */
struct tw_dev *tu_open(const char *path, bool rdwr, int *err);

/**
 * struct tu_target - what tu_prepare_target() found or made.
 * @bytes: size of the file or device in bytes, after any extension
 * @is_blockdev: it is a block device
 * @created: the file did not exist and was created
 * @zeroed: every byte of it reads as zero (created, or empty before it
 *	was extended): mkfs may skip writing zeros
 */
struct tu_target {
	u64 bytes;
	bool is_blockdev;
	bool created;
	bool zeroed;
};

/**
 * tu_prepare_target() - make @path ready to hold a filesystem of @size
 * bytes (0: "use what is there").  A missing file is created with @size
 * bytes and a shorter regular file extended to @size (both need @size); a
 * block device or a longer file is left alone.
 * Return: 0, or a negative errno with *@why naming the problem (a static
 * string) or NULL when strerror() of the errno says it all.
 */
int tu_prepare_target(const char *path, u64 size, struct tu_target *t,
		      const char **why);

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * tu_parse_size() - parse a size: plain bytes ("1048576") or a number with
 * a binary suffix K, M, G, T, P, E (case-insensitive, optionally followed
 * by "iB" or "B"): "256M", "1G", "4096K", "1.5G" is not accepted.
 * Return: 0, -EINVAL for bad syntax, -ERANGE if it does not fit in 64 bits.
 */
int tu_parse_size(const char *s, u64 *out);

/**
 * tu_parse_u64() - parse a decimal (or 0x-prefixed hexadecimal) unsigned
 * number that must be whole and at most @max.
 * Return: 0, -EINVAL for bad syntax, -ERANGE if above @max.
 */
int tu_parse_u64(const char *s, u64 max, u64 *out);

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */
/* ------------------------------------------------------------------------ */

/** tu_fmt_size() - "256 MiB", "1.5 GiB", "512 B" into @buf (>= 32 bytes). */
char *tu_fmt_size(u64 bytes, char *buf, size_t len);

#define TU_TIME_LEN 48
/**
 * tu_fmt_time() - ISO 8601 local time with nanoseconds and UTC offset,
 * "2024-11-21T05:28:13.123456789+00:00", of @ns since the epoch (may be
 * negative) into @buf (>= TU_TIME_LEN bytes).
 */
char *tu_fmt_time(s64 ns, char *buf, size_t len);

/**
 * tu_fmt_mode() - "drwxr-xr-x" (with s/S/t/T for the set-ID and sticky
 * bits, '?' for an unknown type) into @buf (>= 11 bytes).
 */
char *tu_fmt_mode(u32 mode, char *buf);

/** tu_mode_type() - "regular file", "directory", ... of a mode. */
const char *tu_mode_type(u32 mode);

/** tu_dtype_name() - "reg", "dir", ... of a directory entry type. */
const char *tu_dtype_name(u32 dtype);

/**
 * tu_fmt_name() - a file name for a terminal: printable ASCII and valid
 * UTF-8 as is, everything else as \ooo octal escapes (like ls -b), and
 * the backslash doubled.  Truncated to fit @len bytes.
 */
char *tu_fmt_name(const char *name, size_t nlen, char *buf, size_t len);

/** tu_utf8_valid() - whether @s (@n bytes) is well-formed UTF-8. */
bool tu_utf8_valid(const char *s, size_t n);

/* ------------------------------------------------------------------------ */
/* UUIDs and randomness                                                     */
/* ------------------------------------------------------------------------ */

/** tu_random() - fill @buf from /dev/urandom.  Return: 0 or -errno. */
int tu_random(void *buf, size_t len);

/** tu_uuid_generate() - a random (version 4) UUID.  Return: 0 or -errno. */
int tu_uuid_generate(u8 uuid[TW_UUID_LEN]);

#define TU_UUID_STR_LEN 37
/** tu_uuid_format() - "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into @buf. */
char *tu_uuid_format(const u8 uuid[TW_UUID_LEN], char buf[TU_UUID_STR_LEN]);

/** tu_uuid_parse() - parse that form (hex digits of either case). */
int tu_uuid_parse(const char *s, u8 uuid[TW_UUID_LEN]);

/* ------------------------------------------------------------------------ */
/* JSON writer                                                              */
/* ------------------------------------------------------------------------ */

#define TU_JSON_MAX_DEPTH 32

/**
 * struct tu_json - a streaming JSON writer: objects and arrays nest, keys
 * go before every value inside an object, strings are escaped (bytes that
 * are not valid UTF-8 are written as \u00XX, i.e. read as Latin-1).
 * Output is indented by two spaces per level.  Misuse (a value without a
 * key in an object, too deep nesting) is a bug and aborts.
 */
struct tu_json {
	FILE *f;
	int depth;
	bool in_obj[TU_JSON_MAX_DEPTH]; /* the container at a depth is {} */
	bool has_items[TU_JSON_MAX_DEPTH];
	bool want_value; /* a key was written, its value is due */
};

void tu_json_init(struct tu_json *j, FILE *f);
void tu_json_obj_begin(struct tu_json *j);
void tu_json_obj_end(struct tu_json *j);
void tu_json_arr_begin(struct tu_json *j);
void tu_json_arr_end(struct tu_json *j);
void tu_json_key(struct tu_json *j, const char *key);
void tu_json_str(struct tu_json *j, const char *s);
void tu_json_strn(struct tu_json *j, const char *s, size_t n);
void tu_json_u64(struct tu_json *j, u64 v);
void tu_json_s64(struct tu_json *j, s64 v);
void tu_json_bool(struct tu_json *j, bool v);
void tu_json_null(struct tu_json *j);

/* key + value in one call */
void tu_json_kstr(struct tu_json *j, const char *key, const char *s);
void tu_json_ku64(struct tu_json *j, const char *key, u64 v);
void tu_json_ks64(struct tu_json *j, const char *key, s64 v);
void tu_json_kbool(struct tu_json *j, const char *key, bool v);
void tu_json_kobj(struct tu_json *j, const char *key); /* key, then { */
void tu_json_karr(struct tu_json *j, const char *key); /* key, then [ */

/**
 * tu_json_finish() - close every open container (after an error half-way
 * through a document, so that the output stays valid JSON) and end the
 * document with a newline.
 */
void tu_json_finish(struct tu_json *j);

#endif /* TOOLUTIL_H */
