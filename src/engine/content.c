/*
 * Owns content classification before matching: binary (a NUL in the first
 * 8 KiB), Git LFS pointer files, and UTF-16 text, which is transcoded to
 * UTF-8 so keys in UTF-16 files are found like any other.
 */
#include <string.h>

#include "internal.h"

#define SNIFF_LEN 8192

bool kl_content_is_binary(const char *data, size_t len)
{
	return memchr(data, '\0', len < SNIFF_LEN ? len : SNIFF_LEN) != NULL;
}

bool kl_content_is_lfs_pointer(const char *data, size_t len)
{
	static const char head[] = "version https://git-lfs.github.com/spec/";

	return len < 1024 && len > sizeof(head) - 1 &&
	       memcmp(data, head, sizeof(head) - 1) == 0;
}

/* 1 little-endian, 2 big-endian, 0 not UTF-16; *skip is the BOM length. */
static int utf16_order(const unsigned char *d, size_t len, size_t *skip)
{
	size_t i, n = len < SNIFF_LEN ? len : SNIFF_LEN, even = 0, odd = 0;

	*skip = 0;
	if (len >= 2 && d[0] == 0xFF && d[1] == 0xFE) {
		*skip = 2;
		return 1;
	}
	if (len >= 2 && d[0] == 0xFE && d[1] == 0xFF) {
		*skip = 2;
		return 2;
	}
	n &= ~(size_t)1; /* whole pairs */
	/* Without a BOM, UTF-16 is only recognised by its NULs: text that has
	 * none (nearly every file) is settled by one fast memchr. */
	if (n < 8 || !memchr(d, 0, n))
		return 0;
	for (i = 0; i < n; i += 2) {
		even += d[i] == 0;
		odd += d[i + 1] == 0;
	}
	/* Mostly-ASCII UTF-16 without a BOM: one byte of each pair is NUL. */
	if (odd * 10 >= n / 2 * 9 && even == 0)
		return 1;
	if (even * 10 >= n / 2 * 9 && odd == 0)
		return 2;
	return 0;
}

int kl_content_utf16_order(const char *data, size_t len, size_t *bom)
{
	return utf16_order((const unsigned char *)data, len, bom);
}

size_t kl_content_utf16_decode(const char *data, size_t len, int order,
			       bool final, kl_buf *out)
{
	const unsigned char *d = (const unsigned char *)data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		uint32_t u = order == 1 ? (uint32_t)(d[i] | d[i + 1] << 8)
					: (uint32_t)(d[i] << 8 | d[i + 1]);

		if (u >= 0xD800 && u < 0xDC00 && i + 3 >= len && !final)
			break; /* the low half is in the next piece */
		if (u >= 0xD800 && u < 0xDC00 && i + 3 < len) {
			uint32_t lo = order == 1 ? (uint32_t)(d[i + 2] | d[i + 3] << 8)
						 : (uint32_t)(d[i + 2] << 8 | d[i + 3]);

			if (lo >= 0xDC00 && lo < 0xE000) {
				u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (u >= 0xD800 && u < 0xE000)
			u = 0xFFFD;
		kl_buf_add_utf8(out, u);
	}
	return final ? len : i;
}

bool kl_content_utf16_to_utf8(const char *data, size_t len, kl_buf *out)
{
	size_t skip;
	int order = utf16_order((const unsigned char *)data, len, &skip);

	if (!order)
		return false;
	kl_buf_reset(out);
	kl_buf_grow(out, len / 2 + 16);
	kl_content_utf16_decode(data + skip, len - skip, order, true, out);
	return true;
}
