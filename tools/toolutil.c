// SPDX-License-Identifier: GPL-2.0
/*
 * toolutil.c - helpers shared by the twinfs tools: messages, capture of the
 * core's log, opening and preparing devices, size parsing, formatting of
 * sizes, times, modes and names, UUIDs, and a small JSON writer.
 *
 * Layer: tools (user space).  Calls the user-space environment's public API
 * (user/tw_user.h), the C library and Linux system calls; nothing of the
 * core but its public header (for types and constants).  The version
 * comes from the build's twinfs-config.h.
 */
#include "toolutil.h"
#include "twinfs-config.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */
/* ------------------------------------------------------------------------ */

const char *tu_prog = "twinfs";

void tu_set_prog(const char *argv0)
{
	const char *slash;

	if (!argv0 || !*argv0)
		return;
	slash = strrchr(argv0, '/');
	tu_prog = slash ? slash + 1 : argv0;
}

void tu_version(const char *name)
{
	printf("%s (%s) %s\n", name, TWINFS_PACKAGE, TWINFS_VERSION);
	printf("on-disk format version %u\n", TW_FORMAT_VERSION);
}

void tu_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", tu_prog);
}

const char *tu_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

void tu_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", tu_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void tu_err_path(const char *path, int err, const char *detail)
{
	if (detail)
		tu_err("%s: %s (%s)", path, tu_strerror(err), detail);
	else
		tu_err("%s: %s", path, tu_strerror(err));
}

/* ------------------------------------------------------------------------ */
/* The core's log                                                           */
/* ------------------------------------------------------------------------ */

#define LOG_MSG_MAX 1024

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_msgs[TU_LOG_KEEP][LOG_MSG_MAX];
static int log_levels[TU_LOG_KEEP];
static unsigned int log_total; /* messages kept since the last clear */
static int log_print_level = -1;

static void log_hook(void *ctx, struct tw_dev *dev, int level,
		     const char *msg)
{
	unsigned int slot;

	pthread_mutex_lock(&log_lock);
	slot = log_total % TU_LOG_KEEP;
	snprintf(log_msgs[slot], LOG_MSG_MAX, "%s", msg);
	log_levels[slot] = level;
	log_total++;
	if (level <= log_print_level) {
		fflush(stdout);
		if (dev)
			fprintf(stderr, "%s: %s: %s\n", tu_prog,
				tw_udev_name(dev), msg);
		else
			fprintf(stderr, "%s: %s\n", tu_prog, msg);
	}
	pthread_mutex_unlock(&log_lock);
}

void tu_log_capture(int print_level)
{
	pthread_mutex_lock(&log_lock);
	log_print_level = print_level;
	pthread_mutex_unlock(&log_lock);
	tw_log_set_hook(log_hook, NULL);
}

unsigned int tu_log_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&log_lock);
	n = log_total < TU_LOG_KEEP ? log_total : TU_LOG_KEEP;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* Kept messages live in a ring; index 0 is the oldest one still kept. */
static unsigned int log_slot(unsigned int i)
{
	unsigned int first = log_total < TU_LOG_KEEP ? 0 :
						      log_total - TU_LOG_KEEP;

	return (first + i) % TU_LOG_KEEP;
}

const char *tu_log_get(unsigned int i, int *level)
{
	const char *msg = NULL;
	unsigned int slot;

	pthread_mutex_lock(&log_lock);
	if (i < (log_total < TU_LOG_KEEP ? log_total : TU_LOG_KEEP)) {
		slot = log_slot(i);
		msg = log_msgs[slot];
		if (level)
			*level = log_levels[slot];
	}
	pthread_mutex_unlock(&log_lock);
	return msg;
}

const char *tu_log_last(int max_level)
{
	unsigned int n = tu_log_count(), i;
	const char *msg;
	int level;

	for (i = n; i-- > 0;) {
		msg = tu_log_get(i, &level);
		if (msg && level <= max_level)
			return msg;
	}
	return NULL;
}

void tu_log_clear(void)
{
	pthread_mutex_lock(&log_lock);
	log_total = 0;
	pthread_mutex_unlock(&log_lock);
}

/* ------------------------------------------------------------------------ */
/* Devices                                                                  */
/* ------------------------------------------------------------------------ */

struct tw_dev *tu_open(const char *path, bool rdwr, int *err)
{
	return tw_udev_open(path, rdwr ? TW_UDEV_EXCL : TW_UDEV_RDONLY, err);
}

static int blockdev_bytes(const char *path, u64 *bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKGETSIZE64, bytes))
		err = -errno;
	close(fd);
	return err;
}

/* Extend (or size a new) regular file to @size bytes. */
static int set_file_size(const char *path, u64 size, bool create)
{
	int flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
	int fd, err = 0;

	if (size > (u64)LLONG_MAX)
		return -EFBIG;
	fd = open(path, flags, 0666);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err && create)
		unlink(path);
	return err;
}

int tu_prepare_target(const char *path, u64 size, struct tu_target *t,
		      const char **why)
{
	struct stat st;
	int err;

	memset(t, 0, sizeof(*t));
	*why = NULL;
	if (stat(path, &st)) {
		err = -errno;
		if (err != -ENOENT)
			return err;
		if (!size) {
			*why = "give a SIZE to create an image file";
			return err;
		}
		err = set_file_size(path, size, true);
		if (err)
			return err;
		t->bytes = size;
		t->created = true;
		t->zeroed = true;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		err = blockdev_bytes(path, &t->bytes);
		if (err)
			return err;
		t->is_blockdev = true;
		if (size > t->bytes) {
			*why = "SIZE is larger than the device";
			return -ENOSPC;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file or block device";
		return -ENODEV;
	}
	t->bytes = (u64)st.st_size;
	if (size > t->bytes) {
		err = set_file_size(path, size, false);
		if (err)
			return err;
		/* only a file that was empty reads as zeros throughout */
		t->zeroed = t->bytes == 0;
		t->bytes = size;
	} else if (!t->bytes) {
		*why = "the file is empty; give a SIZE";
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

int tu_parse_u64(const char *s, u64 max, u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s || *end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int tu_parse_size(const char *s, u64 *out)
{
	static const char units[] = "KMGTPE";
	unsigned long long v;
	const char *u;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		char c = *end;

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		u = strchr(units, c);
		if (!u || !c)
			return -EINVAL;
		shift = 10u * (unsigned int)(u - units + 1);
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (~0ull >> shift))
		return -ERANGE;
	*out = (u64)v << shift;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                               */
/* ------------------------------------------------------------------------ */

/* floor(10 * rem / div): the first decimal of a size (rem < div) */
static unsigned int tenths(u64 rem, u64 div)
{
	return (unsigned int)((unsigned __int128)rem * 10 / div);
}

char *tu_fmt_size(u64 bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B",   "KiB", "MiB", "GiB",
					     "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	u64 div = 1;

	while (u + 1 < sizeof(units) / sizeof(units[0]) &&
	       bytes / div >= 1024) {
		div <<= 10;
		u++;
	}
	if (bytes % div == 0)
		snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / div),
			 units[u]);
	else /* one decimal, rounded down: never claims more than there is */
		snprintf(buf, len, "%llu.%u %s",
			 (unsigned long long)(bytes / div),
			 tenths(bytes % div, div), units[u]);
	return buf;
}

char *tu_fmt_time(s64 ns, char *buf, size_t len)
{
	s64 sec = ns / 1000000000, frac = ns % 1000000000;
	time_t t;
	struct tm tm;
	char date[32], zone[16];
	int off;

	if (frac < 0) { /* floor division: -1 ns is 23:59:59.999999999 */
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!localtime_r(&t, &tm)) {
		snprintf(buf, len, "%lld ns", (long long)ns);
		return buf;
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	off = (int)(tm.tm_gmtoff / 60); /* minutes east of UTC */
	snprintf(zone, sizeof(zone), "%c%02d:%02d", off < 0 ? '-' : '+',
		 abs(off) / 60 % 100, abs(off) % 60);
	snprintf(buf, len, "%s.%09lld%s", date, (long long)frac, zone);
	return buf;
}

char *tu_fmt_mode(u32 mode, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	switch (mode & TW_S_IFMT) {
	case TW_S_IFREG:
		buf[0] = '-';
		break;
	case TW_S_IFDIR:
		buf[0] = 'd';
		break;
	case TW_S_IFLNK:
		buf[0] = 'l';
		break;
	case TW_S_IFCHR:
		buf[0] = 'c';
		break;
	case TW_S_IFBLK:
		buf[0] = 'b';
		break;
	case TW_S_IFIFO:
		buf[0] = 'p';
		break;
	case TW_S_IFSOCK:
		buf[0] = 's';
		break;
	default:
		buf[0] = '?';
	}
	for (i = 0; i < 9; i++)
		buf[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & TW_S_ISUID)
		buf[3] = buf[3] == 'x' ? 's' : 'S';
	if (mode & TW_S_ISGID)
		buf[6] = buf[6] == 'x' ? 's' : 'S';
	if (mode & TW_S_ISVTX)
		buf[9] = buf[9] == 'x' ? 't' : 'T';
	buf[10] = '\0';
	return buf;
}

const char *tu_mode_type(u32 mode)
{
	switch (mode & TW_S_IFMT) {
	case TW_S_IFREG:
		return "regular file";
	case TW_S_IFDIR:
		return "directory";
	case TW_S_IFLNK:
		return "symbolic link";
	case TW_S_IFCHR:
		return "character device";
	case TW_S_IFBLK:
		return "block device";
	case TW_S_IFIFO:
		return "fifo";
	case TW_S_IFSOCK:
		return "socket";
	}
	return "unknown";
}

const char *tu_dtype_name(u32 dtype)
{
	switch (dtype) {
	case TW_DT_REG:
		return "reg";
	case TW_DT_DIR:
		return "dir";
	case TW_DT_LNK:
		return "lnk";
	case TW_DT_CHR:
		return "chr";
	case TW_DT_BLK:
		return "blk";
	case TW_DT_FIFO:
		return "fifo";
	case TW_DT_SOCK:
		return "sock";
	case TW_DT_UNKNOWN:
		return "unknown";
	}
	return "invalid";
}

/* Length of the well-formed UTF-8 sequence at @s (of @n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	u32 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

bool tu_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	while (i < n) {
		l = utf8_seq(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

char *tu_fmt_name(const char *name, size_t nlen, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0, o = 0, l;

	if (!len)
		return buf;
	while (i < nlen) {
		char tmp[8];
		size_t tl;

		l = p[i] >= 0x80 ? utf8_seq(p + i, nlen - i) : 1;
		if (l > 1) {
			memcpy(tmp, p + i, l);
			tl = l;
		} else if (p[i] == '\\') {
			memcpy(tmp, "\\\\", 2);
			tl = 2;
		} else if (p[i] < 0x20 || p[i] >= 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\%03o", p[i]);
			tl = 4;
			l = 1;
		} else {
			tmp[0] = (char)p[i];
			tl = 1;
		}
		if (o + tl >= len)
			break;
		memcpy(buf + o, tmp, tl);
		o += tl;
		i += l ? l : 1;
	}
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------------------------------ */
/* UUIDs and randomness                                                     */
/* ------------------------------------------------------------------------ */

int tu_random(void *buf, size_t len)
{
	u8 *p = buf;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? -errno : -EIO;

			close(fd);
			return err;
		}
		p += r;
		len -= (size_t)r;
	}
	close(fd);
	return 0;
}

int tu_uuid_generate(u8 uuid[TW_UUID_LEN])
{
	int err = tu_random(uuid, TW_UUID_LEN);

	if (err)
		return err;
	uuid[6] = (u8)((uuid[6] & 0x0f) | 0x40); /* version 4: random */
	uuid[8] = (u8)((uuid[8] & 0x3f) | 0x80); /* variant RFC 4122 */
	return 0;
}

char *tu_uuid_format(const u8 uuid[TW_UUID_LEN], char buf[TU_UUID_STR_LEN])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < TW_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[uuid[i] >> 4];
		buf[o++] = hex[uuid[i] & 15];
	}
	buf[o] = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tu_uuid_parse(const char *s, u8 uuid[TW_UUID_LEN])
{
	int i, hi, lo;

	if (strlen(s) != TU_UUID_STR_LEN - 1)
		return -EINVAL;
	for (i = 0; i < TW_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (*s++ != '-')
				return -EINVAL;
		}
		hi = hexval(s[0]);
		lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		uuid[i] = (u8)(hi << 4 | lo);
		s += 2;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* JSON writer                                                              */
/* ------------------------------------------------------------------------ */

static void json_bug(const char *what)
{
	fprintf(stderr, "%s: JSON writer misused: %s\n", tu_prog, what);
	abort();
}

static void json_indent(struct tu_json *j)
{
	int i;

	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Before any value: the separator and indentation it needs. */
static void json_pre_value(struct tu_json *j)
{
	if (j->want_value) {
		j->want_value = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->in_obj[j->depth - 1])
		json_bug("value without a key in an object");
	if (j->has_items[j->depth - 1])
		fputc(',', j->f);
	j->has_items[j->depth - 1] = true;
	json_indent(j);
}

void tu_json_init(struct tu_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void json_open(struct tu_json *j, bool obj)
{
	json_pre_value(j);
	if (j->depth >= TU_JSON_MAX_DEPTH)
		json_bug("nested too deep");
	fputc(obj ? '{' : '[', j->f);
	j->in_obj[j->depth] = obj;
	j->has_items[j->depth] = false;
	j->depth++;
}

static void json_close(struct tu_json *j, bool obj)
{
	if (!j->depth || j->in_obj[j->depth - 1] != obj || j->want_value)
		json_bug("unbalanced close");
	j->depth--;
	if (j->has_items[j->depth])
		json_indent(j);
	fputc(obj ? '}' : ']', j->f);
}

void tu_json_obj_begin(struct tu_json *j)
{
	json_open(j, true);
}

void tu_json_obj_end(struct tu_json *j)
{
	json_close(j, true);
}

void tu_json_arr_begin(struct tu_json *j)
{
	json_open(j, false);
}

void tu_json_arr_end(struct tu_json *j)
{
	json_close(j, false);
}

static void json_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, l;

	fputc('"', f);
	while (i < n) {
		unsigned char c = p[i];

		if (c >= 0x80) {
			l = utf8_seq(p + i, n - i);
			if (l) {
				fwrite(p + i, 1, l, f);
				i += l;
			} else {
				fprintf(f, "\\u%04x", c); /* as Latin-1 */
				i++;
			}
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
	fputc('"', f);
}

void tu_json_key(struct tu_json *j, const char *key)
{
	if (!j->depth || !j->in_obj[j->depth - 1] || j->want_value)
		json_bug("key outside an object");
	if (j->has_items[j->depth - 1])
		fputc(',', j->f);
	j->has_items[j->depth - 1] = true;
	json_indent(j);
	json_string(j->f, key, strlen(key));
	fputs(": ", j->f);
	j->want_value = true;
}

void tu_json_strn(struct tu_json *j, const char *s, size_t n)
{
	json_pre_value(j);
	json_string(j->f, s, n);
}

void tu_json_str(struct tu_json *j, const char *s)
{
	if (!s) {
		tu_json_null(j);
		return;
	}
	tu_json_strn(j, s, strlen(s));
}

void tu_json_u64(struct tu_json *j, u64 v)
{
	json_pre_value(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void tu_json_s64(struct tu_json *j, s64 v)
{
	json_pre_value(j);
	fprintf(j->f, "%lld", (long long)v);
}

void tu_json_bool(struct tu_json *j, bool v)
{
	json_pre_value(j);
	fputs(v ? "true" : "false", j->f);
}

void tu_json_null(struct tu_json *j)
{
	json_pre_value(j);
	fputs("null", j->f);
}

void tu_json_kstr(struct tu_json *j, const char *key, const char *s)
{
	tu_json_key(j, key);
	tu_json_str(j, s);
}

void tu_json_ku64(struct tu_json *j, const char *key, u64 v)
{
	tu_json_key(j, key);
	tu_json_u64(j, v);
}

void tu_json_ks64(struct tu_json *j, const char *key, s64 v)
{
	tu_json_key(j, key);
	tu_json_s64(j, v);
}

void tu_json_kbool(struct tu_json *j, const char *key, bool v)
{
	tu_json_key(j, key);
	tu_json_bool(j, v);
}

void tu_json_kobj(struct tu_json *j, const char *key)
{
	tu_json_key(j, key);
	tu_json_obj_begin(j);
}

void tu_json_karr(struct tu_json *j, const char *key)
{
	tu_json_key(j, key);
	tu_json_arr_begin(j);
}

void tu_json_finish(struct tu_json *j)
{
	if (j->want_value)
		tu_json_null(j);
	while (j->depth)
		json_close(j, j->in_obj[j->depth - 1]);
	fputc('\n', j->f);
	fflush(j->f);
}
