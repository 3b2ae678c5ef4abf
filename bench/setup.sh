#!/bin/sh
# Installs what `make bench` needs, each only if missing: the Debian
# linux-source tarball, git-secrets and ripgrep (apt-get), secretlint with its
# recommended preset (npm, into $BENCH_DIR/npm, outside the source tree).
set -e
BENCH_DIR=${BENCH_DIR:-/tmp/keyleak-bench}
mkdir -p "$BENCH_DIR"
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi

# BENCH_ONLY=server needs the servers (as .ci/run installs them) and GNU
# time, none of the corpora or peers.
if [ "${BENCH_ONLY:-}" = server ]; then
	need=
	for p in nginx:nginx fcgiwrap:fcgiwrap htpasswd:apache2-utils; do
		command -v "${p%%:*}" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/${p%%:*}" ] || need="$need ${p#*:}"
	done
	[ -x /usr/bin/time ] || need="$need time"
	if [ -n "$need" ]; then
		echo "bench: apt-get install$need" >&2
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >&2
	fi
	exit 0
fi

need=
if [ -z "$BENCH_TREE" ] && ! ls /usr/src/linux-source-*.tar.xz >/dev/null 2>&1; then
	need="$need linux-source"
fi
command -v git-secrets >/dev/null 2>&1 || need="$need git-secrets"
command -v rg >/dev/null 2>&1 || need="$need ripgrep"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v xz >/dev/null 2>&1 || need="$need xz-utils"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
	echo "bench: apt-get install$need" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need >&2
fi

if [ ! -x "$BENCH_DIR/npm/node_modules/.bin/secretlint" ] ||
   [ ! -d "$BENCH_DIR/npm/node_modules/@secretlint/secretlint-rule-preset-recommend" ]; then
	echo "bench: npm install secretlint @secretlint/secretlint-rule-preset-recommend" >&2
	mkdir -p "$BENCH_DIR/npm"
	npm install --silent --no-audit --no-fund --prefix "$BENCH_DIR/npm" \
		secretlint @secretlint/secretlint-rule-preset-recommend >&2
fi
