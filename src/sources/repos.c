/*
 * Owns the repository list of `audit --repos`: parsing, normalising each
 * entry into a stable id (so a repository lands in the same shard whatever
 * the order of the list or the machine), and the bare mirrors URLs are
 * cloned into with libgit2 and fetched again on the next run.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/git/util.h"
#include "sources/repos.h"

#define MAX_LIST_BYTES ((size_t)64 * 1024 * 1024)

/* ------------------------------------------------------- normalising */

/* Length of "scheme://" at s, or 0 when s has none. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
	       s[i] == '.')
		i++;
	return i > 0 && strncmp(s + i, "://", 3) == 0 ? i + 3 : 0;
}

/* git's rule: a ':' before any '/' makes "host:path" an scp-like URL. */
static bool is_scp_like(const char *s)
{
	const char *colon = strchr(s, ':');
	const char *slash = strchr(s, '/');

	return colon && colon != s && (!slash || colon < slash);
}

static void strip_tail(kl_buf *b, bool strip_git)
{
	for (;;) {
		if (b->len > 1 && b->data[b->len - 1] == '/') {
			b->data[--b->len] = '\0';
		} else if (strip_git && b->len > 4 &&
			   strcmp(b->data + b->len - 4, ".git") == 0) {
			b->len -= 4;
			b->data[b->len] = '\0';
		} else {
			return;
		}
	}
}

static void add_lower(kl_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		kl_buf_addch(b, (char)tolower((unsigned char)s[i]));
}

/* scheme://[user[:pass]@]host[:port]/path */
static char *normalise_url(const char *spec, size_t slen)
{
	kl_buf b = KL_BUF_INIT;
	const char *auth = spec + slen, *path = auth + strcspn(auth, "/");
	const char *at = memchr(auth, '@', (size_t)(path - auth));
	const char *host = at ? at + 1 : auth;
	bool file = strncmp(spec, "file://", 7) == 0;

	add_lower(&b, spec, slen);
	add_lower(&b, host, (size_t)(path - host));
	kl_buf_puts(&b, *path ? path : "/");
	strip_tail(&b, !file);
	return kl_buf_detach(&b);
}

/* user@host:path -> ssh://host/path */
static char *normalise_scp(const char *spec)
{
	kl_buf b = KL_BUF_INIT;
	const char *colon = strchr(spec, ':');
	const char *at = memchr(spec, '@', (size_t)(colon - spec));
	const char *host = at ? at + 1 : spec;

	kl_buf_puts(&b, "ssh://");
	add_lower(&b, host, (size_t)(colon - host));
	if (colon[1] != '/')
		kl_buf_addch(&b, '/');
	kl_buf_puts(&b, colon + 1);
	strip_tail(&b, true);
	return kl_buf_detach(&b);
}

/* Collapse "//" and "/./", drop a trailing "/" and a final "/.git". */
static char *normalise_path(const char *spec)
{
	kl_buf b = KL_BUF_INIT;
	const char *s = spec;

	while (*s) {
		if (*s == '/' && b.len && b.data[b.len - 1] == '/') {
			s++;
		} else if (strncmp(s, "./", 2) == 0 &&
			   (!b.len || b.data[b.len - 1] == '/')) {
			s += 2;
		} else {
			kl_buf_addch(&b, *s++);
		}
	}
	if (b.len > 5 && strcmp(b.data + b.len - 5, "/.git") == 0)
		b.data[b.len -= 5] = '\0';
	strip_tail(&b, false);
	if (!b.len)
		kl_buf_puts(&b, ".");
	return kl_buf_detach(&b);
}

char *kl_repo_normalise(const char *spec, bool *is_url)
{
	size_t slen = scheme_len(spec);

	*is_url = slen > 0 || is_scp_like(spec);
	if (slen)
		return normalise_url(spec, slen);
	if (*is_url)
		return normalise_scp(spec);
	return normalise_path(spec);
}

/* A URL's password never reaches a report: "user:secret@" -> "user:***@". */
static char *mask_spec(const char *spec)
{
	size_t slen = scheme_len(spec);
	const char *auth = spec + slen, *end, *at, *colon;
	kl_buf b = KL_BUF_INIT;

	if (!slen)
		return kl_xstrdup(spec);
	end = auth + strcspn(auth, "/");
	at = memchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon)
		return kl_xstrdup(spec);
	kl_buf_add(&b, spec, (size_t)(colon + 1 - spec));
	kl_buf_puts(&b, "***");
	kl_buf_puts(&b, at);
	return kl_buf_detach(&b);
}

/* ----------------------------------------------------------- the list */

void kl_repos_free(kl_repo_list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		free(l->items[i].spec);
		free(l->items[i].norm);
		free(l->items[i].location);
		free(l->items[i].real);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* The entry r repeats: the same normalised spelling, or (a local path)
 * the same directory however it is spelt. The shard id stays the
 * spelling's, the same on every machine; the realpath only joins. */
static kl_repo *find_same(const kl_repo_list *l, const kl_repo *r)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->items[i].id, r->id) == 0 ||
		    (r->real && l->items[i].real &&
		     strcmp(l->items[i].real, r->real) == 0))
			return &l->items[i];
	return NULL;
}

static int add_entry(kl_repo_list *l, const char *file, char *line,
		     size_t lineno, kl_strlist *dups, kl_error *err)
{
	kl_repo r = { 0 }, *prev;
	kl_buf msg = KL_BUF_INIT;
	char *s = line, *e;
	size_t i;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (!*s || *s == '#')
		return 0;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			kl_error_set(err, "%s:%zu: a control character in a "
				     "repository path or URL", file, lineno);
			return -1;
		}
	r.norm = kl_repo_normalise(s, &r.is_url);
	kl_sha256_hex(r.norm, strlen(r.norm), r.id);
	r.real = r.is_url ? NULL : realpath(s, NULL);
	if ((prev = find_same(l, &r)) != NULL) {
		kl_buf_printf(&msg, "%s:%zu: %s is the same repository as line "
			      "%zu; audited once", file, lineno, prev->spec,
			      prev->line);
		kl_strlist_push(dups, msg.data);
		kl_buf_free(&msg);
		free(r.norm);
		free(r.real);
		return 0;
	}
	r.spec = mask_spec(s);
	r.location = kl_xstrdup(s);
	r.line = lineno;
	if (l->len == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = kl_xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->len++] = r;
	return 0;
}

int kl_repos_load(const char *path, kl_repo_list *out, kl_strlist *dups,
		  kl_error *err)
{
	kl_buf text = KL_BUF_INIT;
	char *line, *next;
	size_t lineno = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(path, "-") == 0) {
		if (kl_read_fd(STDIN_FILENO, &text, 0, MAX_LIST_BYTES) < 0) {
			kl_error_set(err, "cannot read the repository list "
				     "from stdin: %s", strerror(errno));
			return -1;
		}
	} else if (kl_read_file(path, "repository list", MAX_LIST_BYTES,
				&text, err) < 0) {
		return -1;
	}
	if (!text.data)
		kl_buf_grow(&text, 0);
	if (memchr(text.data, '\0', text.len)) {
		kl_error_set(err, "%s: not a text file (NUL byte)", path);
		kl_buf_free(&text);
		return -1;
	}
	for (line = text.data; rc == 0 && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rc = add_entry(out, path, line, ++lineno, dups, err);
	}
	kl_buf_free(&text);
	if (rc)
		kl_repos_free(out);
	return rc;
}

int kl_repos_add(kl_repo_list *l, const char *origin, const char *spec,
		 size_t lineno, kl_strlist *dups, kl_error *err)
{
	char *line = kl_xstrdup(spec);
	int rc = add_entry(l, origin, line, lineno, dups, err);

	free(line);
	return rc;
}

bool kl_repo_in_shard(const kl_repo *r, unsigned k, unsigned n)
{
	char head[17];

	memcpy(head, r->id, 16);
	head[16] = '\0';
	return n <= 1 || strtoull(head, NULL, 16) % n == k;
}

/* ------------------------------------------------------------ mirrors */

char *kl_repos_default_mirror_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	kl_buf b = KL_BUF_INIT;

	if (xdg && *xdg == '/')
		kl_buf_printf(&b, "%s/keyleak/mirrors", xdg);
	else
		kl_buf_printf(&b, "%s/.cache/keyleak/mirrors",
			      home && *home ? home : ".");
	return kl_buf_detach(&b);
}

/* "<dir>/<16 hex of the id>-<last name>.git": unique, yet recognisable. */
static char *mirror_path(const kl_repo *r, const char *dir)
{
	const char *name = strrchr(r->norm, '/');
	kl_buf b = KL_BUF_INIT;
	size_t i, n = 0;

	name = name ? name + 1 : r->norm;
	kl_buf_printf(&b, "%s/%.16s-", dir, r->id);
	for (i = 0; name[i] && strcmp(name + i, ".git") != 0 && n < 40; i++, n++)
		kl_buf_addch(&b, isalnum((unsigned char)name[i]) ||
				 name[i] == '-' || name[i] == '_' ||
				 name[i] == '.' ? name[i] : '_');
	kl_buf_puts(&b, ".git");
	return kl_buf_detach(&b);
}

static int mkdir_p(const char *path, kl_error *err)
{
	char *p = kl_xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			kl_error_set(err, "%s: cannot create the mirror "
				     "directory: %s", p, strerror(errno));
			rc = -1;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whether url is on the same scheme://host[:port] as the listed URL (a
 * redirect elsewhere must not take the listing's token along). */
static bool same_origin(const char *url, const char *listed)
{
	size_t slen = scheme_len(listed), n;

	if (!slen)
		return false;
	n = slen + strcspn(listed + slen, "/");
	return strncasecmp(url, listed, n) == 0 &&
	       (url[n] == '/' || url[n] == '\0');
}

typedef struct cred_state {
	int attempts;
	const kl_repo *repo;
} cred_state;

/* One try per kind: a wrong token must fail, not loop. */
static int credentials(git_credential **out, const char *url,
		       const char *user, unsigned int allowed, void *payload)
{
	cred_state *cs = payload;
	const char *token = getenv("KEYLEAK_GIT_TOKEN");
	const char *name = getenv("KEYLEAK_GIT_USERNAME");

	if ((!token || !*token) && cs->repo->token &&
	    same_origin(url, cs->repo->location)) {
		token = cs->repo->token; /* the listing's, for its own host */
		if (!name || !*name)
			name = cs->repo->token_user;
	}
	if (cs->attempts++ > 0)
		return GIT_EAUTH;
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user ? user : "git");
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token && *token)
		return git_credential_userpass_plaintext_new(
			out, name && *name ? name : user ? user : "x-access-token",
			token);
	return GIT_PASSTHROUGH;
}

#define MIRROR_REFSPEC "+refs/*:refs/*"

/* The mirror's config says what `git clone --mirror` would, so git can
 * use it too; keyleak itself fetches with an in-memory remote (below). */
static int write_remote_config(git_repository *repo, const char *url)
{
	git_config *cfg = NULL;
	int rc = git_repository_config(&cfg, repo);

	if (rc == 0)
		rc = git_config_set_string(cfg, "remote.origin.url", url);
	if (rc == 0)
		rc = git_config_set_string(cfg, "remote.origin.fetch",
					   MIRROR_REFSPEC);
	if (rc == 0)
		rc = git_config_set_bool(cfg, "remote.origin.mirror", 1);
	git_config_free(cfg);
	return rc;
}

/* HEAD follows the remote's default branch, as `git clone --mirror`
 * does (SARIF's versionControlProvenance names it). An empty remote has
 * none: HEAD stays unborn. */
static void follow_remote_head(git_repository *repo, git_remote *remote)
{
	git_buf head = { 0 };

	if (git_remote_default_branch(&head, remote) == 0)
		git_repository_set_head(repo, head.ptr);
	git_buf_dispose(&head);
}

/*
 * Fetch every ref of the URL the list names, pruning refs the remote
 * deleted. The remote is built in memory, not looked up: libgit2 1.5
 * leaks a PCRE2 match block (about 20 KiB) on every config regex that
 * does not match, which named-remote lookups and url.insteadOf rewriting
 * do per config entry; over thousands of repositories in one process
 * that adds up.
 */
static int fetch_into(git_repository *repo, const kl_repo *r, const char *verb,
		      kl_error *err)
{
	git_remote_create_options ro;
	git_remote *remote = NULL;
	git_fetch_options fo;
	cred_state cs = { 0, r };
	char *spec = MIRROR_REFSPEC;
	git_strarray specs = { &spec, 1 };
	int rc;

	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		   GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks.credentials = credentials;
	fo.callbacks.payload = &cs;
	fo.prune = GIT_FETCH_PRUNE;
	fo.update_fetchhead = 0; /* nothing reads it; a write per run */
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec has them */
	rc = git_remote_create_with_opts(&remote, r->location, &ro);
	if (rc == 0)
		rc = git_remote_fetch(remote, &specs, &fo, "keyleak: fetch");
	if (rc == 0)
		follow_remote_head(repo, remote);
	else
		kl_error_set(err, "cannot %s: %s", verb, kl_git_lasterr());
	git_remote_free(remote);
	return rc < 0 ? -1 : 0;
}

/* Clone into a temporary name and rename, so a killed clone never leaves
 * a half mirror that a later run would take for a good one. */
static int clone_mirror(const kl_repo *r, const char *path, kl_error *err)
{
	git_repository *repo = NULL;
	kl_buf tmp = KL_BUF_INIT;
	int rc;

	kl_buf_printf(&tmp, "%s.tmp-%ld", path, (long)getpid());
	rm_tree(tmp.data);
	rc = git_repository_init(&repo, tmp.data, 1);
	if (rc == 0)
		rc = write_remote_config(repo, r->location);
	if (rc < 0)
		kl_error_set(err, "cannot create the mirror %s: %s", tmp.data,
			     kl_git_lasterr());
	else
		rc = fetch_into(repo, r, "clone", err);
	git_repository_free(repo);
	if (rc == 0 && rename(tmp.data, path) < 0) {
		kl_error_set(err, "cannot move the mirror into place at %s: %s",
			     path, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		rm_tree(tmp.data);
	kl_buf_free(&tmp);
	return rc < 0 ? -1 : 0;
}

static int fetch_mirror(const kl_repo *r, const char *path, kl_error *err)
{
	git_repository *repo = NULL;
	int rc;

	if (git_repository_open_bare(&repo, path) < 0) {
		kl_error_set(err, "cannot open the mirror %s: %s (delete it to "
			     "clone again)", path, kl_git_lasterr());
		return -1;
	}
	rc = fetch_into(repo, r, "fetch", err);
	git_repository_free(repo);
	return rc;
}

int kl_repo_mirror(const kl_repo *r, const char *dir, char **path,
		   kl_error *err)
{
	struct stat st;
	int rc;

	*path = NULL;
	if (mkdir_p(dir, err) < 0)
		return -1;
	*path = mirror_path(r, dir);
	git_libgit2_init();
	if (stat(*path, &st) == 0)
		rc = fetch_mirror(r, *path, err);
	else
		rc = clone_mirror(r, *path, err);
	git_libgit2_shutdown();
	if (rc < 0) {
		free(*path);
		*path = NULL;
	}
	return rc;
}

void kl_repo_head(const char *path, char **head, char **branch)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL;
	char hex[GIT_OID_HEXSZ + 1];

	*head = *branch = NULL;
	git_libgit2_init();
	if (git_repository_open_ext(&repo, path, 0, NULL) == 0 &&
	    git_repository_head(&ref, repo) == 0 && git_reference_target(ref)) {
		git_oid_tostr(hex, sizeof(hex), git_reference_target(ref));
		*head = kl_xstrdup(hex);
		if (git_reference_is_branch(ref))
			*branch = kl_xstrdup(git_reference_name(ref));
	}
	git_reference_free(ref);
	git_repository_free(repo);
	git_libgit2_shutdown();
}

/* "scheme://user:password@host/..." loses "user:password@". */
static char *without_userinfo(const char *url)
{
	const char *scheme = strstr(url, "://"), *host, *at;
	kl_buf b = KL_BUF_INIT;

	if (!scheme)
		return kl_xstrdup(url);
	host = scheme + 3;
	at = memchr(host, '@', strcspn(host, "/"));
	if (!at)
		return kl_xstrdup(url);
	kl_buf_add(&b, url, (size_t)(host - url));
	kl_buf_puts(&b, at + 1);
	return kl_buf_detach(&b);
}

/* The URL of remote.origin.url, else of the first remote.NAME.url, read
 * from the configuration by hand: git_remote_lookup and git_remote_list
 * match config names with regexes, and libgit2 then keeps PCRE2 match data
 * per thread that no one frees (valgrind: lost in every worker thread). */
static char *first_remote_url(git_config *cfg)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	char *url = NULL;
	size_t n;

	if (git_config_iterator_new(&it, cfg) != 0)
		return NULL;
	while (!url && git_config_next(&e, it) == 0) {
		n = strlen(e->name);
		if (n > 11 && strncasecmp(e->name, "remote.", 7) == 0 &&
		    strcasecmp(e->name + n - 4, ".url") == 0)
			url = kl_xstrdup(e->value);
	}
	git_config_iterator_free(it);
	return url;
}

char *kl_repo_remote(const char *path)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_buf buf = { 0 };
	char *raw = NULL, *url = NULL;

	git_libgit2_init();
	if (git_repository_open_ext(&repo, path, 0, NULL) == 0 &&
	    git_repository_config_snapshot(&cfg, repo) == 0) {
		if (git_config_get_string_buf(&buf, cfg, "remote.origin.url") == 0)
			raw = kl_xstrdup(buf.ptr);
		else
			raw = first_remote_url(cfg);
	}
	if (raw)
		url = without_userinfo(raw);
	free(raw);
	git_buf_dispose(&buf);
	git_config_free(cfg);
	git_repository_free(repo);
	git_libgit2_shutdown();
	return url;
}

/* ---------------------------------------------------------- signature */

static int add_ref(git_reference *ref, void *payload)
{
	kl_buf *b = payload;
	char hex[GIT_OID_HEXSZ + 1] = "";

	if (git_reference_type(ref) == GIT_REFERENCE_DIRECT)
		git_oid_tostr(hex, sizeof(hex), git_reference_target(ref));
	kl_buf_printf(b, "ref %s %s%s\n", git_reference_name(ref), hex,
		      git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC
		      ? git_reference_symbolic_target(ref) : "");
	git_reference_free(ref);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names under dir (sorted), recursing one level into object fan-out
 * directories and pack/: what the object database holds, by name. */
static void list_names(const char *dir, int depth, kl_buf *out)
{
	kl_strlist names = { 0 };
	struct dirent *e;
	DIR *d = opendir(dir);
	size_t i;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			kl_strlist_push(&names, e->d_name);
	closedir(d);
	if (names.len)
		qsort(names.items, names.len, sizeof(char *), cmp_str);
	for (i = 0; i < names.len; i++) {
		kl_buf sub = KL_BUF_INIT;

		kl_buf_printf(out, "obj %d %s\n", depth, names.items[i]);
		if (depth == 0 && strcmp(names.items[i], "info") != 0) {
			kl_buf_printf(&sub, "%s/%s", dir, names.items[i]);
			list_names(sub.data, 1, out);
		}
		kl_buf_free(&sub);
	}
	kl_strlist_free(&names);
}

int kl_repo_signature(const char *path, const char *key, char out[65])
{
	git_repository *repo = NULL;
	kl_buf b = KL_BUF_INIT, objects = KL_BUF_INIT;
	git_reference *head = NULL;
	int rc = -1;

	git_libgit2_init();
	if (git_repository_open_ext(&repo, path, 0, NULL) < 0 ||
	    !git_repository_is_bare(repo))
		goto out;
	kl_buf_printf(&b, "key %s\n", key);
	if (git_reference_lookup(&head, repo, "HEAD") == 0)
		add_ref(head, &b); /* symbolic: names the branch */
	if (git_reference_foreach(repo, add_ref, &b) < 0)
		goto out;
	kl_buf_printf(&objects, "%s/objects", git_repository_path(repo));
	list_names(objects.data, 0, &b);
	kl_sha256_hex(b.data, b.len, out);
	rc = 0;
out:
	git_repository_free(repo);
	git_libgit2_shutdown();
	kl_buf_free(&b);
	kl_buf_free(&objects);
	return rc;
}
