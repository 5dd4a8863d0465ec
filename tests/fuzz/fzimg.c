// SPDX-License-Identifier: GPL-2.0
/*
 * fzimg.c - convert between raw twinfs images and the fuzz input format,
 * and report what the core and fsck make of an input (the verdict the
 * regression list in tests/images/fuzz/ records).
 *
 * Layer: tests (tests/fuzz).  Calls the core API, the checker library,
 * the user-space environment and the C library.
 *
 *   fzimg encode [--meta] RAW.img OUT.fz
 *                                   raw image -> fuzz input (no script);
 *                                   --meta: file data and the journal's
 *                                   stale log zeroed first
 *   fzimg decode IN.fz OUT.img      fuzz input -> raw image (twinfs-dump)
 *   fzimg verdict IN.fz...          one line per input:
 *       NAME mount=E fsck_n=N fsck_y=Y after=A
 *     E: ok or the errno name of a read-write mount of the image;
 *     N, Y: exit codes of fsck -n and fsck -y on it; A: of fsck -n after
 *     fsck -y ("-" when fsck -y exited 4 or 8).
 */
#include "fz.h"
#include "fsck.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static u8 *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	u8 *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		perror(path);
		exit(1);
	}
	buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

static void spit(const char *path, const u8 *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Zero the journal's log but the transactions replay would apply (from
 * the journal superblock on, while sequence numbers follow). */
static void strip_log(u8 *raw, u32 blocks)
{
	const struct tw_super *sb = (const void *)raw;
	u64 js_blk = TW_GET64(sb, s_journal_start);
	u32 len = TW_GET32(sb, s_journal_blocks), body, pos, i, n;
	const struct tw_journal_super *js;
	u8 *keep;
	u64 seq;

	if (len < 2 || js_blk >= blocks || len > blocks - js_blk)
		return;
	body = len - 1;
	keep = calloc(body, 1);
	if (!keep)
		return;
	js = (const void *)(raw + js_blk * FZ_BS);
	pos = TW_GET32(js, js_start) - 1;
	seq = TW_GET64(js, js_seq);
	for (n = 0; pos < body && n < body;) {
		const u8 *p = raw + (js_blk + 1 + pos) * FZ_BS;
		const struct tw_journal_desc *d = (const void *)p;
		u32 magic = TW_GET32(d, jd_hdr.h_magic);

		keep[pos] = 1;
		if (magic == TW_JCOMMIT_MAGIC) {
			seq++;
		} else if (magic == TW_JDESC_MAGIC && TW_GET64(d, jd_seq) == seq) {
			u32 count = TW_GET32(d, jd_count);

			for (i = 0; i < count && i < TW_JDESC_SLOTS && n < body;
			     i++, n++) {
				pos = (pos + 1) % body;
				keep[pos] = 1;
			}
		} else {
			break;
		}
		pos = (pos + 1) % body;
		n++;
	}
	for (pos = 0; pos < body; pos++)
		if (!keep[pos])
			memset(raw + (js_blk + 1 + pos) * FZ_BS, 0, FZ_BS);
	free(keep);
}

/*
 * Zero file data: blocks past the superblock's data start that carry no
 * known metadata magic (file contents; directories, symlinks, xattrs and
 * indirect blocks all start with one).  What fsck and mount see of the
 * structure is unchanged, and an image of a few MiB of files becomes a few
 * KiB of input.
 */
static void strip_data(u8 *raw, u32 blocks)
{
	static const u32 magics[] = {
		TW_BMAP_MAGIC,	TW_IND_MAGIC,	 TW_DIRH_MAGIC,	 TW_DIRD_MAGIC,
		TW_DIRX_MAGIC,	TW_DIRF_MAGIC,	 TW_XATTR_MAGIC, TW_SYML_MAGIC,
		TW_JSB_MAGIC,	TW_JDESC_MAGIC,	 TW_JCOMMIT_MAGIC, TW_ORPHAN_MAGIC,
	};
	const struct tw_super *sb = (const void *)raw;
	u64 b, start = TW_GET64(sb, s_data_start);
	u32 i, m;

	strip_log(raw, blocks);
	for (b = start; b < blocks; b++) {
		u8 *p = raw + b * FZ_BS;

		m = (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 |
		    (u32)p[3] << 24;
		for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
			if (magics[i] == m)
				break;
		if (i == sizeof(magics) / sizeof(magics[0]))
			memset(p, 0, FZ_BS);
	}
}

static int encode(const char *in, const char *out, bool meta)
{
	size_t len, elen;
	u8 *raw = slurp(in, &len), *enc;
	u32 blocks = (u32)(len / FZ_BS);

	if (blocks > FZ_MAX_BLOCKS) {
		fprintf(stderr, "fzimg: %s: %u blocks, more than the %u a fuzz input holds\n",
			in, blocks, FZ_MAX_BLOCKS);
		return 1;
	}
	if (meta)
		strip_data(raw, blocks);
	enc = fz_encode_raw(raw, blocks, NULL, 0, &elen);
	free(raw);
	if (!enc)
		return 1;
	spit(out, enc, elen);
	free(enc);
	printf("%s: %u blocks -> %zu bytes\n", out, blocks, elen);
	return 0;
}

static int decode(const char *in, const char *out)
{
	struct fz_image im;
	size_t len;
	u8 *data = slurp(in, &len);

	if (fz_image_decode(&im, data, len))
		return 1;
	free(data);
	spit(out, im.mem, (size_t)im.blocks * FZ_BS);
	printf("%s: %u blocks, %u bytes of script\n", out, im.blocks,
	       im.ops_len);
	fz_image_free(&im);
	return 0;
}

static const char *errname(int err)
{
	static char buf[32];
	const char *n;

	if (!err)
		return "ok";
	n = strerrorname_np(-err);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

static void write_raw(const char *path, const struct fz_image *im)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)im->blocks * FZ_BS) ||
	    pwrite(fd, im->mem, (size_t)im->blocks * FZ_BS, 0) !=
		    (ssize_t)im->blocks * FZ_BS) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static int run_fsck(const char *path, enum fsck_mode mode, FILE *out)
{
	struct fsck_opts o = { .mode = mode, .quiet = true, .out = out };
	struct fsck_result r;

	return fsck_run(path, &o, &r);
}

static int verdict(const char *in)
{
	struct fz_image im;
	struct tw_dev *dev;
	struct tw_fs *fs;
	char path[128];
	size_t len;
	u8 *data = slurp(in, &len);
	FILE *out = fz_verbose() ? stdout : fopen("/dev/null", "w");
	int mount_err, n, y, a = -1, err;
	char *base = strdup(in);

	if (fz_image_decode(&im, data, len))
		return 1;
	snprintf(path, sizeof(path), "/tmp/fzimg-%d.img", (int)getpid());
	write_raw(path, &im);
	dev = tw_udev_open(path, 0, &err);
	if (!dev) {
		perror(path);
		return 1;
	}
	mount_err = tw_mount(dev, im.blocks, NULL, &fs);
	if (!mount_err)
		tw_unmount(fs);
	tw_udev_close(dev);
	write_raw(path, &im);
	n = run_fsck(path, FSCK_MODE_NO, out);
	y = run_fsck(path, FSCK_MODE_YES, out);
	if (y == FSCK_OK || y == FSCK_NONDESTRUCT)
		a = run_fsck(path, FSCK_MODE_NO, out);
	unlink(path);
	printf("%s mount=%s fsck_n=%d fsck_y=%d after=", basename(base),
	       errname(mount_err), n, y);
	if (a < 0)
		printf("-\n");
	else
		printf("%d\n", a);
	free(base);
	free(data);
	fz_image_free(&im);
	if (out != stdout)
		fclose(out);
	return 0;
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	fz_quiet();
	if (argc == 4 && !strcmp(argv[1], "encode"))
		return encode(argv[2], argv[3], false);
	if (argc == 5 && !strcmp(argv[1], "encode") &&
	    !strcmp(argv[2], "--meta"))
		return encode(argv[3], argv[4], true);
	if (argc == 4 && !strcmp(argv[1], "decode"))
		return decode(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "verdict")) {
		for (i = 2; i < argc; i++)
			rc |= verdict(argv[i]);
		return rc;
	}
	fprintf(stderr,
		"usage: fzimg encode [--meta] RAW.img OUT.fz | decode IN.fz OUT.img | verdict IN.fz...\n");
	return 2;
}
