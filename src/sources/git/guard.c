/*
 * Owns a guard in front of libgit2's loose-object reader: libgit2 1.5
 * loops forever inflating a truncated loose object (libgit2 issue #7342,
 * fixed upstream in 2026), and a scanner of untrusted repositories must not
 * hang. The guard inflates each loose object once; a complete one is passed
 * through to libgit2, a broken one becomes an error naming it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <git2/sys/odb_backend.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "sources/git/util.h"

/* Consulted before the pack (2) and loose (1) backends. */
#define GUARD_PRIORITY 3

typedef struct guard {
	git_odb_backend parent;
	char *objects; /* ".../objects/" */
	kl_oidmap loose; /* the loose objects there when the guard was set */
} guard;

static int read_all(const char *path, kl_buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int rc;

	if (fd < 0)
		return -1;
	rc = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ?
		kl_read_fd(fd, out, (size_t)st.st_size, 0) : -1;
	close(fd);
	return rc;
}

/* Does data hold one complete zlib stream? Output is thrown away. */
static bool inflates_completely(const kl_buf *data)
{
	unsigned char sink[65536];
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return false;
	zs.next_in = (unsigned char *)data->data;
	zs.avail_in = (uInt)data->len;
	do {
		zs.next_out = sink;
		zs.avail_out = sizeof(sink);
		rc = inflate(&zs, Z_NO_FLUSH);
	} while (rc == Z_OK);
	inflateEnd(&zs);
	return rc == Z_STREAM_END;
}

/* The same test libgit2 uses to tell zlib from the old pack-like format. */
static bool zlib_header(const kl_buf *data)
{
	const unsigned char *d = (const unsigned char *)data->data;

	return data->len >= 2 && (d[0] & 0x8F) == 0x08 &&
	       ((d[0] << 8) | d[1]) % 31 == 0;
}

static int guard_read(void **out, size_t *len, git_object_t *type,
		      git_odb_backend *backend, const git_oid *oid)
{
	guard *g = (guard *)backend;
	char hex[GIT_OID_HEXSZ + 1];
	kl_buf path = KL_BUF_INIT, data = KL_BUF_INIT;
	int rc = GIT_PASSTHROUGH;

	(void)out;
	(void)len;
	(void)type;
	/* Packed objects, the bulk of a history, cost no system call. */
	if (kl_oidmap_get(&g->loose, oid) == SIZE_MAX)
		return GIT_PASSTHROUGH;
	git_oid_tostr(hex, sizeof(hex), oid);
	kl_buf_printf(&path, "%s%.2s/%s", g->objects, hex, hex + 2);
	if (read_all(path.data, &data) == 0 && zlib_header(&data) &&
	    !inflates_completely(&data)) {
		git_error_set_str(GIT_ERROR_ODB, "loose object is corrupt "
				  "(truncated or damaged zlib stream)");
		rc = GIT_ERROR;
	}
	/* Absent here (packed), unreadable or fine: libgit2 decides. */
	kl_buf_free(&path);
	kl_buf_free(&data);
	return rc;
}

/* The guard holds no objects of its own; libgit2 1.5 calls foreach
 * without checking for NULL. */
static int guard_foreach(git_odb_backend *backend, git_odb_foreach_cb cb,
			 void *payload)
{
	(void)backend;
	(void)cb;
	(void)payload;
	return 0;
}

static void guard_free(git_odb_backend *backend)
{
	guard *g = (guard *)backend;

	free(g->objects);
	kl_oidmap_free(&g->loose);
	free(g);
}

/* Record the ids of the loose objects in objects/xx/ directories. */
static void list_loose(guard *g)
{
	kl_buf dir = KL_BUF_INIT, hex = KL_BUF_INIT;
	struct dirent *de;
	git_oid id;
	int i;

	for (i = 0; i < 256; i++) {
		DIR *d;

		kl_buf_reset(&dir);
		kl_buf_printf(&dir, "%s%02x", g->objects, i);
		if (!(d = opendir(dir.data)))
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2)
				continue;
			kl_buf_reset(&hex);
			kl_buf_printf(&hex, "%02x%s", i, de->d_name);
			if (git_oid_fromstr(&id, hex.data) == 0)
				kl_oidmap_put(&g->loose, &id, 0);
		}
		closedir(d);
	}
	kl_buf_free(&dir);
	kl_buf_free(&hex);
}

void kl_git_guard_loose(git_repository *repo)
{
	git_odb *odb = NULL;
	kl_buf dir = KL_BUF_INIT;
	guard *g;

	if (git_repository_odb(&odb, repo) < 0)
		return; /* the reads will report it */
	g = kl_xcalloc(1, sizeof(*g));
	g->parent.version = GIT_ODB_BACKEND_VERSION;
	g->parent.read = guard_read;
	g->parent.foreach = guard_foreach;
	g->parent.free = guard_free;
	kl_buf_printf(&dir, "%sobjects/", git_repository_commondir(repo));
	g->objects = kl_buf_detach(&dir);
	list_loose(g);
	if (git_odb_add_backend(odb, &g->parent, GUARD_PRIORITY) < 0)
		guard_free(&g->parent);
	git_odb_free(odb);
}
