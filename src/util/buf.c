/*
 * Owns the small building blocks every module uses: allocation that aborts
 * on exhaustion, the growable kl_buf, kl_strlist and kl_error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"

static void out_of_memory(size_t n)
{
	fprintf(stderr, "keyleak: out of memory allocating %zu bytes\n", n);
	abort();
}

void *kl_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory(n);
	return p;
}

void *kl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory(n * size);
	return p;
}

void *kl_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		out_of_memory(n);
	return q;
}

char *kl_xstrndup(const char *s, size_t n)
{
	char *p = kl_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *kl_xstrdup(const char *s)
{
	return kl_xstrndup(s, strlen(s));
}

char *kl_xstrdup_or_null(const char *s)
{
	return s ? kl_xstrdup(s) : NULL;
}

void kl_buf_grow(kl_buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		out_of_memory(SIZE_MAX);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap && need < b->cap * 2)
		need = b->cap * 2;
	if (need < 64)
		need = 64;
	b->data = kl_xrealloc(b->data, need);
	b->data[b->len] = '\0'; /* a new buffer is a valid empty string too */
	b->cap = need;
}

void kl_buf_add(kl_buf *b, const void *data, size_t len)
{
	kl_buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void kl_buf_puts(kl_buf *b, const char *s)
{
	kl_buf_add(b, s, strlen(s));
}

void kl_buf_addch(kl_buf *b, char c)
{
	kl_buf_add(b, &c, 1);
}

void kl_buf_add_utf8(kl_buf *out, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		kl_buf_addch(out, (char)cp);
		return;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		kl_buf_add(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		kl_buf_add(out, b, 3);
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		kl_buf_add(out, b, 4);
	}
}

void kl_buf_vprintf(kl_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	kl_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void kl_buf_printf(kl_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kl_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void kl_buf_reset(kl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *kl_buf_detach(kl_buf *b)
{
	char *p = b->data ? b->data : kl_xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void kl_buf_free(kl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void kl_strlist_push(kl_strlist *l, const char *s)
{
	/* The capacity is implied (the next power of two >= len; the public
	 * struct has no cap): growing by one each time was quadratic when
	 * realloc cannot extend in place, as under ASan with 100,000 files. */
	if ((l->len & (l->len - 1)) == 0)
		l->items = kl_xrealloc(l->items, (l->len ? 2 * l->len : 1) *
					       sizeof(*l->items));
	l->items[l->len++] = kl_xstrdup(s);
}

void kl_strlist_free(kl_strlist *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

void kl_error_set(kl_error *err, const char *fmt, ...)
{
	kl_buf b = KL_BUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	kl_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(err->message);
	err->message = kl_buf_detach(&b);
}

void kl_error_clear(kl_error *err)
{
	if (!err)
		return;
	free(err->message);
	err->message = NULL;
}

bool kl_strlist_has(const kl_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}
