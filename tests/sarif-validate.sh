#!/bin/sh
# Validate SARIF files the way GitHub code scanning ingests them: Microsoft's
# SARIF Multitool with the SARIF and GitHub ("Gh") rule sets. Exits non-zero
# when any file has an error or a warning, and prints them.
#
# Usage: tests/sarif-validate.sh FILE...
# Needs node + npm. The validator is installed on first use into build/npm
# (override the binary with SARIF_MULTITOOL=/path/to/Sarif.Multitool).
# .NET's globalization is switched to invariant mode, so libicu is not needed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${SARIF_NPM_PREFIX:-$ROOT/build/npm}
PKG=@microsoft/sarif-multitool

die() {
	echo "sarif-validate: $*" >&2
	exit 2
}

find_tool() {
	find "$PREFIX/node_modules/@microsoft" -type f -name Sarif.Multitool \
		-path '*sarif-multitool-linux*' 2>/dev/null | head -n 1
}

install_tool() {
	command -v npm >/dev/null 2>&1 || die "npm is needed to install $PKG"
	mkdir -p "$PREFIX"
	echo "sarif-validate: installing $PKG into $PREFIX" >&2
	npm install --prefix "$PREFIX" --no-audit --no-fund "$PKG" >&2 ||
		die "npm install $PKG failed"
}

[ $# -gt 0 ] || die "usage: $0 FILE..."
for f in "$@"; do
	[ -f "$f" ] && [ -r "$f" ] || die "$f: no such readable file"
done
command -v node >/dev/null 2>&1 || die "node is needed to read the validator's log"

tool=${SARIF_MULTITOOL:-}
if [ -z "$tool" ]; then
	tool=$(find_tool)
	if [ -z "$tool" ]; then
		install_tool
		tool=$(find_tool)
	fi
	[ -n "$tool" ] || die "Sarif.Multitool not found under $PREFIX"
	# npm may skip the package's postinstall that sets the run bit.
	[ -x "$tool" ] || chmod +x "$tool" || die "cannot chmod +x $tool"
fi

DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-1}
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
"$tool" validate --rule-kind "Sarif;Gh" --level "Error;Warning" \
	-o "$tmp/log.sarif" "$@" >"$tmp/console" 2>&1 || status=$?
if [ "$status" -ne 0 ] || [ ! -s "$tmp/log.sarif" ]; then
	cat "$tmp/console" >&2
	die "the validator failed (status $status)"
fi

# The validator exits 0 even when it reports problems: read its own SARIF log.
# A result without a level defaults to "warning" (SARIF 2.1.0, 3.27.10).
# SARIF2005 (no tool informationUri) is expected: keyleak has no public
# home, so a build names one only with make INFORMATION_URI=...
ok=0
node - "$tmp/log.sarif" >"$tmp/verdict" <<'EOF' || ok=$?
const fs = require("fs");
const log = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
let problems = 0;
for (const run of log.runs || []) {
	for (const res of run.results || []) {
		const level = res.level || "warning";
		if (res.ruleId === "SARIF2005")
			continue;
		if (level === "error" || level === "warning")
			problems++;
	}
	for (const inv of run.invocations || []) {
		const notes = (inv.toolExecutionNotifications || [])
			.concat(inv.toolConfigurationNotifications || []);
		for (const n of notes) {
			if ((n.level || "warning") === "note")
				continue;
			problems++;
			console.log(`validator ${n.level || "warning"}: ${(n.message || {}).text}`);
		}
		if (inv.executionSuccessful === false) {
			problems++;
			console.log("validator: execution was not successful");
		}
	}
}
if (problems) {
	console.log(`sarif-validate: ${problems} error(s)/warning(s)`);
	process.exit(1);
}
EOF
if [ "$ok" -ne 0 ]; then
	grep -aE ': (error|warning) ' "$tmp/console" || true
	cat "$tmp/verdict"
	exit 1
fi
