/*
 * Owns writing a file atomically (temp file + rename) so --output, hooks
 * and state files are never left half-written; devices and FIFOs are
 * written in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyleak.h"

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return kl_xstrdup(".");
	if (slash == path)
		return kl_xstrdup("/");
	return kl_xstrndup(path, (size_t)(slash - path));
}

/* The mode a new file would get, or the existing file's mode. */
static mode_t target_mode(const char *path)
{
	struct stat st;
	mode_t mask;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 07777;
	mask = umask(022);
	umask(mask);
	return 0666 & ~mask;
}

static int check_dir(const char *path, const char *dir, kl_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		kl_error_set(err, "cannot write %s: directory %s: %s", path,
			     dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		kl_error_set(err, "cannot write %s: %s is not a directory",
			     path, dir);
		return -1;
	}
	return 0;
}

static int fill_temp(int fd, const char *data, size_t len, mode_t mode)
{
	if (kl_write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 ||
	    fsync(fd) != 0)
		return -1;
	return 0;
}

static int write_regular(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	char *dir = dir_of(path);
	kl_buf tmp = KL_BUF_INIT;
	mode_t mode = target_mode(path);
	int fd, saved, rc = -1;

	if (check_dir(path, dir, err) != 0)
		goto out;
	kl_buf_printf(&tmp, "%s/.keyleak-tmp-XXXXXX", dir);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		kl_error_set(err, "cannot write %s: creating a temporary file "
			     "in %s: %s", path, dir, strerror(errno));
		goto out;
	}
	if (fill_temp(fd, data, len, mode) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp.data);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		goto out;
	}
	if (close(fd) != 0 || rename(tmp.data, path) != 0) {
		saved = errno;
		unlink(tmp.data);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		goto out;
	}
	rc = 0;
out:
	kl_buf_free(&tmp);
	free(dir);
	return rc;
}

/*
 * A device or FIFO (-o /dev/null, -o /dev/stdout, a pipe) is written in
 * place: renaming a temporary file over it would replace, as root, the
 * machine's /dev/null with a regular file.
 */
static int write_special(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	int saved;

	if (fd < 0 || kl_write_all(fd, data, len) != 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	if (close(fd) != 0) {
		kl_error_set(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int kl_write_file_atomic(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0 &&
	    (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return write_special(path, data, len, err);
	return write_regular(path, data, len, err);
}
