/*
 * Owns reading whole files into memory: one loop for every reader (work
 * tree, rule files, config, baselines, hooks, loose objects), refusing
 * what is not a regular file, since a FIFO blocks and /dev/zero never ends.
 * And the one loop that writes a whole buffer to a descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyleak.h"

#define READ_CHUNK 65536

int kl_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int kl_read_fd(int fd, kl_buf *out, size_t size_hint, size_t max_len)
{
	ssize_t n;

	kl_buf_grow(out, size_hint);
	for (;;) {
		if (out->cap - out->len < 2)
			kl_buf_grow(out, READ_CHUNK);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (max_len && out->len > max_len) {
			errno = EFBIG;
			return -1;
		}
	}
	out->data[out->len] = '\0';
	return 0;
}

int kl_read_file(const char *path, const char *what, size_t max_len,
		 kl_buf *out, kl_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	int rc = -1;

	if (fd < 0) {
		kl_error_set(err, "%s: cannot open %s: %s", path, what,
			     strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0)
		kl_error_set(err, "%s: cannot read %s: %s", path, what,
			     strerror(errno));
	else if (!S_ISREG(st.st_mode))
		kl_error_set(err, "%s: cannot read %s: not a regular file",
			     path, what);
	else if (kl_read_fd(fd, out, (size_t)st.st_size, max_len) != 0)
		kl_error_set(err, "%s: cannot read %s: %s", path, what,
			     errno == EFBIG ? "too large" : strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}
