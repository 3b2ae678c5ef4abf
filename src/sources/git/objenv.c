/*
 * Owns git's object-directory environment: GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES. While a pre-receive hook runs, git
 * keeps the pushed objects in a quarantine directory named by the first
 * and the repository's own store in the second; libgit2 reads neither
 * unless asked, so a hook would not see what is being pushed.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sources/git/util.h"

/* Both resolve to the same directory (either may not exist). */
static bool same_dir(const char *a, const char *b)
{
	char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
	bool same = ra && rb && strcmp(ra, rb) == 0;

	free(ra);
	free(rb);
	return same;
}

static void add_dir(git_odb *odb, const char *own, const char *dir)
{
	if (!*dir || same_dir(dir, own))
		return;
	/* A directory that cannot be added leaves its objects unread;
	 * reading them later fails with an error naming each one. */
	git_odb_add_disk_alternate(odb, dir);
}

void kl_git_env_objects(git_repository *repo)
{
	const char *obj = getenv("GIT_OBJECT_DIRECTORY");
	const char *alt = getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
	kl_buf own = KL_BUF_INIT;
	git_odb *odb = NULL;

	if ((!obj || !*obj) && (!alt || !*alt))
		return;
	if (git_repository_odb(&odb, repo) < 0)
		return;
	kl_buf_printf(&own, "%sobjects", git_repository_commondir(repo));
	if (obj)
		add_dir(odb, own.data, obj);
	while (alt && *alt) {
		const char *end = strchr(alt, ':');
		size_t n = end ? (size_t)(end - alt) : strlen(alt);
		char *dir = kl_xstrndup(alt, n);

		add_dir(odb, own.data, dir);
		free(dir);
		alt = end ? end + 1 : NULL;
	}
	kl_buf_free(&own);
	git_odb_free(odb);
}
