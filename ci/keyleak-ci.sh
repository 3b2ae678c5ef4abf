#!/bin/sh
# keyleak for any CI: works out which commits this build adds and scans
# only those (`keyleak history --range BASE..HEAD`), so old, already-known
# findings do not fail every build. Extra arguments go to keyleak, e.g.
#   ci/keyleak-ci.sh --format sarif --output keyleak.sarif
#
# The base comes from, in order: KEYLEAK_BASE; GitHub Actions
# (GITHUB_BASE_REF for pull requests, the push's "before" from
# GITHUB_EVENT_PATH); GitLab (CI_MERGE_REQUEST_DIFF_BASE_SHA,
# CI_COMMIT_BEFORE_SHA); Bitbucket (BITBUCKET_PR_DESTINATION_BRANCH);
# else origin's default branch. A new branch's all-zero "before" falls back
# to the default branch; with no base at all, the whole history is scanned.
# Exit status: keyleak's (0 clean, 1 findings, 2 error).
set -u

KEYLEAK=${KEYLEAK:-keyleak}
HEAD_REV=${KEYLEAK_HEAD:-HEAD}
ZERO=0000000000000000000000000000000000000000

note() { echo "keyleak-ci: $*" >&2; }

usable() { # a non-empty, non-zero revision that exists here
	[ -n "$1" ] && [ "$1" != "$ZERO" ] &&
		git rev-parse --verify --quiet "$1^{commit}" >/dev/null
}

github_before() {
	[ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
	# The push payload's top-level "before"; no JSON tool needed.
	sed -n 's/^  "before": "\([0-9a-f]*\)".*/\1/p' "$GITHUB_EVENT_PATH" | head -n 1
}

default_branch() {
	ref=$(git symbolic-ref --quiet refs/remotes/origin/HEAD 2>/dev/null) &&
		echo "${ref#refs/remotes/}" && return 0
	for b in origin/main origin/master; do
		usable "$b" && echo "$b" && return 0
	done
	return 0
}

fetch_branch() { # make origin/$1 available in a shallow or narrow clone
	git fetch --quiet origin "+refs/heads/$1:refs/remotes/origin/$1" 2>/dev/null || true
	echo "origin/$1"
}

pick_base() {
	[ -n "${KEYLEAK_BASE:-}" ] && echo "$KEYLEAK_BASE" && return 0
	if [ -n "${GITHUB_BASE_REF:-}" ]; then
		fetch_branch "$GITHUB_BASE_REF" && return 0
	fi
	for c in "${CI_MERGE_REQUEST_DIFF_BASE_SHA:-}" "${CI_COMMIT_BEFORE_SHA:-}" \
		"$(github_before)"; do
		usable "$c" && echo "$c" && return 0
	done
	if [ -n "${BITBUCKET_PR_DESTINATION_BRANCH:-}" ]; then
		fetch_branch "$BITBUCKET_PR_DESTINATION_BRANCH" && return 0
	fi
	default_branch
}

base=$(pick_base)
if [ -n "$base" ] && usable "$base"; then
	if [ "$(git rev-parse "$base^{commit}")" = "$(git rev-parse "$HEAD_REV^{commit}")" ]; then
		note "HEAD is the base ($base): scanning the last commit only"
		base="$HEAD_REV~1"
		usable "$base" || base=
	fi
fi
if [ -n "$base" ] && usable "$base"; then
	note "scanning the commits in $base..$HEAD_REV"
	# For a pull request, A...B: only what the branch adds since it forked.
	exec "$KEYLEAK" history . --range "$base...$HEAD_REV" "$@"
fi
if [ -n "$base" ]; then
	note "base $base is not in this clone; fetch full history (actions/checkout: fetch-depth: 0)"
fi
note "no base commit found: scanning the whole history of $HEAD_REV"
exec "$KEYLEAK" history . "$HEAD_REV" "$@"
