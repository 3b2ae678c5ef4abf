/*
 * The repository list of an organisation-wide audit (`audit --repos FILE`):
 * parsing it, each repository's stable id and shard, and the local mirrors
 * that URLs are cloned into and fetched again on later runs.
 */
#ifndef KL_SOURCES_REPOS_H
#define KL_SOURCES_REPOS_H

#include "internal.h"

typedef struct kl_repo {
	char *spec;     /* as listed, with a URL's password masked: for reports */
	char *norm;     /* normalised URL or path: what the id is a hash of */
	char *location; /* what to clone (URL) or open (path); may hold a token */
	char *real;     /* a path's realpath, NULL if it does not resolve:
			 * ../srv.git and /abs/srv.git are one repository */
	char id[65];    /* sha256 hex of norm */
	bool is_url;
	size_t line;    /* line in the list file */
	/* A hosting platform's token for cloning (borrowed from the
	 * environment; NULL: KEYLEAK_GIT_TOKEN's rules), and its user. */
	const char *token;
	const char *token_user;
} kl_repo;

typedef struct kl_repo_list {
	kl_repo *items;
	size_t len, cap;
} kl_repo_list;

/*
 * Read the list at path ("-" for stdin): one local path or clone URL per
 * line, blank lines and '#' comments ignored. A repository listed twice
 * (same id) is kept once and reported in dups (one "FILE:LINE: ..." line
 * each). On failure err names the file and the reason.
 */
int kl_repos_load(const char *path, kl_repo_list *out, kl_strlist *dups,
		  kl_error *err);
void kl_repos_free(kl_repo_list *l);

/* Add one spec as if it were line lineno of the list named origin (a
 * file, or a hosting spec such as "github:ORG"); the same rules as
 * kl_repos_load. The new entry, if any, is the list's last. */
int kl_repos_add(kl_repo_list *l, const char *origin, const char *spec,
		 size_t lineno, kl_strlist *dups, kl_error *err);

/* Normalise one spec (exposed for tests): URLs lose their user info, a
 * trailing '/' and ".git", scheme and host are lowercased, scp-like
 * "user@host:path" becomes "ssh://host/path"; paths are cleaned lexically.
 * Caller frees. */
char *kl_repo_normalise(const char *spec, bool *is_url);

/* True when the repository's id falls in shard k of n (0 <= k < n). */
bool kl_repo_in_shard(const kl_repo *r, unsigned k, unsigned n);

/* The default mirror directory: $XDG_CACHE_HOME/keyleak/mirrors, else
 * $HOME/.cache/keyleak/mirrors. Caller frees. */
char *kl_repos_default_mirror_dir(void);

/*
 * Clone r (a URL) as a bare mirror under dir, or fetch it (every ref,
 * pruned) when the mirror exists. Credentials: the environment's
 * KEYLEAK_GIT_TOKEN (user KEYLEAK_GIT_USERNAME, default "x-access-token"),
 * else r->token, for HTTPS; the SSH agent for SSH. Sets *path (caller frees) to the
 * mirror. On failure err names the repository and the reason.
 */
int kl_repo_mirror(const kl_repo *r, const char *dir, char **path,
		   kl_error *err);

/* HEAD's commit id and branch name (refs/heads/...) of the repository at
 * path, for SARIF's versionControlProvenance; NULL when unknown. */
void kl_repo_head(const char *path, char **head, char **branch);

/* The URL of the repository's "origin" remote (else its first remote),
 * with any user and password taken out, for the HTML report's links;
 * NULL when it has none. Caller frees. */
char *kl_repo_remote(const char *path);

/*
 * For a bare repository (a mirror): a hash of key, every ref and HEAD, and
 * the names of every pack and loose object. Equal signatures mean the
 * same refs over the same objects, so an earlier result still holds
 * (refs moved, a fetch, a gc or a repack all change it). -1 for a
 * repository with a work tree, which can change without any of that.
 */
int kl_repo_signature(const char *path, const char *key, char out[65]);

#endif
