/*
 * Hosting platforms as a source of repository names (not of blobs):
 * `keyleak repos SPEC` and `audit --repos-from SPEC` list an
 * organisation's, group's or user's repositories through the platform's
 * API and hand back clone URLs for the org audit. SPEC is one of
 * github:ORG, github-user:USER, gitlab:GROUP (subgroups included),
 * gitea:ORG, gitea-user:USER (forgejo: is gitea:).
 */
#ifndef KL_HOSTING_H
#define KL_HOSTING_H

#include "internal.h"

typedef enum kl_visibility {
	KL_VIS_ALL = 0, KL_VIS_PUBLIC, KL_VIS_PRIVATE
} kl_visibility;

typedef struct kl_hosting_opts {
	const char *api_url;        /* --api-url, or NULL: the platform's */
	bool include_forks;
	bool include_archived;
	kl_visibility visibility;   /* private: anything not public */
	const kl_strlist *include;  /* name patterns (fnmatch), or NULL */
	const kl_strlist *exclude;
	long max_wait;              /* seconds of rate-limit waits in all */
	bool quiet;                 /* no progress lines on stderr */
} kl_hosting_opts;

/* One listed repository. token/token_user are the platform's credential
 * for cloning (borrowed from the environment), set only when the clone
 * URL is on the platform's own host over HTTPS (or loopback HTTP). */
typedef struct kl_hosted_repo {
	char *name;        /* "owner/name" (GitLab: the full path) */
	char *clone_url;
	const char *token;
	const char *token_user;
} kl_hosted_repo;

typedef struct kl_hosted_list {
	kl_hosted_repo *items;
	size_t len, cap;
} kl_hosted_list;

/* Whether spec names a platform ("github:", ...): the rest is its owner. */
bool kl_hosting_is_spec(const char *spec);

/*
 * Append spec's repositories that pass o's filters to out. Progress and
 * rate-limit waits are reported on stderr (unless quiet); on failure err
 * names the platform, the owner, the host and the likely cause, never
 * the token.
 */
int kl_hosting_list(const char *spec, const kl_hosting_opts *o,
		    kl_hosted_list *out, kl_error *err);

/* Sort by clone URL and drop repeats (a repository listed twice). */
void kl_hosted_sort(kl_hosted_list *l);
void kl_hosted_free(kl_hosted_list *l);

/* Check an --api-url before any request (scheme, host, no user info). */
int kl_hosting_check_api_url(const char *url, kl_error *err);

#endif
