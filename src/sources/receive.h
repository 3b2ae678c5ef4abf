/*
 * What a push adds (src/sources/receive.c), for the push hooks: the ref
 * updates of git's pre-receive and pre-push protocols, and the scan of
 * exactly the commits, tag messages and objects they bring.
 */
#ifndef KL_SOURCES_RECEIVE_H
#define KL_SOURCES_RECEIVE_H

#include "sources/git/util.h"

/* One line of a hook's stdin. */
typedef struct kl_ref_update {
	char *ref;        /* the ref that moves (pre-push: the remote's ref) */
	char *local_ref;  /* pre-push: the local ref pushed; else NULL */
	git_oid old_id;   /* all zeros: the ref is created */
	git_oid new_id;   /* all zeros: the ref is deleted */
	bool new_is_local_ref; /* new_id unknown yet: what local_ref names */
} kl_ref_update;

typedef struct kl_push {
	kl_ref_update *v;
	size_t n;
} kl_push;

/*
 * Parse a hook's stdin: "<old> <new> <ref>" lines (pre-receive) or, with
 * client, "<local-ref> <local-oid> <remote-ref> <remote-oid>" (pre-push).
 * Blank lines are ignored; any other malformed line is an error naming
 * its number.
 */
int kl_push_parse(kl_push *p, const char *text, size_t len, bool client,
		  kl_error *err);
void kl_push_free(kl_push *p);

/*
 * The pre-commit framework's pre-push stage reads git's lines itself and
 * hands its hooks the first ref update as PRE_COMMIT_FROM_REF, _TO_REF,
 * _LOCAL_BRANCH and _REMOTE_BRANCH (only the branches when the push starts
 * a new history). Adds that update to p; returns false when those
 * variables are not set.
 */
bool kl_push_from_pre_commit(kl_push *p);

typedef struct kl_push_opts {
	const char *repo;     /* the repository (the hook's working directory) */
	const char *remote;   /* pre-push: the remote's name, or NULL */
	bool client;          /* pre-push: hide what the remote has */
	double deadline;      /* CLOCK_MONOTONIC seconds; 0 = none */
} kl_push_opts;

/*
 * Scan what p adds to the repository: the commits reachable from the new
 * tips and from no ref the receiving side has (server: every ref, as
 * before the push; client: the remote's tracking refs and the remote's
 * old ids), each commit once, for the lines it adds; annotated tags'
 * messages; blobs and trees a ref points to directly. Each finding's refs
 * name the updates that bring it.
 */
int kl_src_push(const kl_push *p, const kl_push_opts *po,
		const kl_scan_opts *o, kl_report *r, kl_error *err);

#endif
