/*
 * Unit tests for organisation-wide audits: repository names normalised
 * into stable ids (src/sources/repos.c), shards, and the incremental
 * state's file format and key (src/findings/state.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "findings/state.h"
#include "sources/repos.h"
#include "unit.h"

static void norm(const char *spec, const char *want, int want_url)
{
	bool is_url;
	char *got = kl_repo_normalise(spec, &is_url);

	CHECK(got && strcmp(got, want) == 0 && is_url == want_url,
	      "normalise %s -> %s (got %s)", spec, want, got ? got : "(null)");
	free(got);
}

static void test_normalise(void)
{
	norm("https://GitHub.com/Org/Repo.git", "https://github.com/Org/Repo", 1);
	norm("https://user:pw@github.com/Org/Repo/", "https://github.com/Org/Repo", 1);
	norm("git@github.com:Org/Repo.git", "ssh://github.com/Org/Repo", 1);
	norm("ssh://git@Host:2222/a/b.git", "ssh://host:2222/a/b", 1);
	norm("file:///srv/git/x.git/", "file:///srv/git/x.git", 1);
	norm("./a//b/./c/", "a/b/c", 0);
	norm("/srv/repo/.git", "/srv/repo", 0);
	norm("/", "/", 0);
}

static void test_list_and_shards(void)
{
	char path[] = "/tmp/keyleak-unit-listXXXXXX";
	int fd = mkstemp(path);
	const char *text = "# comment\n\n  /srv/a  \nhttps://h/x/r.git\n"
			   "https://H/x/r/\n/srv/b\n/srv/c\n";
	kl_repo_list l;
	kl_strlist dups = { 0 };
	kl_error err = { 0 };
	size_t i, k, n, hits;

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "write list");
	close(fd);
	CHECK(kl_repos_load(path, &l, &dups, &err) == 0, "load list");
	CHECK(l.len == 4 && dups.len == 1, "4 repositories, 1 duplicate (%zu, %zu)",
	      l.len, dups.len);
	CHECK(l.len && strcmp(l.items[0].spec, "/srv/a") == 0 &&
	      l.items[0].line == 3, "trimmed, line numbers kept");
	for (n = 1; n <= 5; n++) {
		for (i = 0; i < l.len; i++) {
			for (hits = 0, k = 0; k < n; k++)
				hits += kl_repo_in_shard(&l.items[i], (unsigned)k,
							 (unsigned)n);
			CHECK(hits == 1, "N=%zu: %s in exactly one shard", n,
			      l.items[i].spec);
		}
	}
	kl_repos_free(&l);
	kl_strlist_free(&dups);
	unlink(path);
}

static void test_state(void)
{
	char path[] = "/tmp/keyleak-unit-stateXXXXXX";
	unsigned char a[KL_MEMO_IDLEN] = { 1 }, b[KL_MEMO_IDLEN] = { 2 };
	char key[65], other[65];
	kl_memo m;
	kl_error err = { 0 };
	int fd = mkstemp(path);

	close(fd);
	unlink(path);
	memset(key, 'a', 64);
	key[64] = '\0';
	memset(other, 'b', 64);
	other[64] = '\0';
	kl_memo_load(&m, path, key);
	CHECK(strcmp(m.status, "new") == 0, "missing state is new");
	kl_memo_begin(&m, 2);
	kl_memo_mark_item(&m, 0, b, KL_MEMO_CLEAN);
	kl_memo_mark_item(&m, 1, a, KL_MEMO_DIRTY);
	CHECK(kl_memo_changed(&m), "a new state is a change");
	CHECK(kl_memo_save(&m, path, &err) == 0, "save");
	kl_memo_free(&m);
	kl_memo_load(&m, path, key);
	CHECK(strcmp(m.status, "used") == 0 && m.n_known == 1, "reloaded");
	CHECK(kl_memo_known(&m, b) && !kl_memo_known(&m, a),
	      "clean blob known, dirty one not");
	kl_memo_begin(&m, 1);
	kl_memo_mark_item(&m, 0, b, KL_MEMO_KNOWN);
	CHECK(!kl_memo_changed(&m) && kl_memo_carried(&m) == 1,
	      "same blobs, all known: nothing to save");
	kl_memo_free(&m);
	kl_memo_load(&m, path, other);
	CHECK(strncmp(m.status, "invalidated", 11) == 0 && m.n_known == 0,
	      "another key drops the state");
	kl_memo_free(&m);
	CHECK(truncate(path, 40) == 0, "truncate");
	kl_memo_load(&m, path, key);
	CHECK(strncmp(m.status, "invalidated", 11) == 0 && m.n_known == 0,
	      "a damaged state is dropped (%s)", m.status);
	kl_memo_free(&m);
	unlink(path);
}

int main(void)
{
	test_normalise();
	test_list_and_shards();
	test_state();
	printf("1..%d\n", unit_count);
	return unit_failed ? 1 : 0;
}
