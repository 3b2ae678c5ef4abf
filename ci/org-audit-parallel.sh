#!/bin/sh
# keyleak organisation-wide audit on one big machine: N shard processes at
# once (GNU parallel when installed, else xargs -P), then one merged report.
#
#   ci/org-audit-parallel.sh repos.txt [N] [OUTDIR]
#
# N defaults to the number of cores; OUTDIR (default ./keyleak-org) gets
# shard-K.jsonl, keyleak.json and keyleak.sarif; mirrors and incremental
# state live in OUTDIR too, so running it again nightly fetches and scans
# only what changed. A killed run is continued with the same command
# (--resume). KEYLEAK (default: keyleak on PATH) picks the binary.
# Progress goes to stderr: each shard's summary as it ends, then where the
# merged reports are. Exit status: that of the merge (0 clean, 1 findings,
# 2 a repository failed or a shard did not finish).
#
# The same as a one-liner, with GNU parallel:
#   seq 0 $((N-1)) | parallel keyleak audit --repos repos.txt --shard {}/$N \
#     --format jsonl --output shard-{}.jsonl --resume
#   keyleak merge shard-*.jsonl --format sarif --output keyleak.sarif
set -u

LIST=${1:?usage: org-audit-parallel.sh repos.txt [N] [OUTDIR]}
N=${2:-$(nproc 2>/dev/null || echo 2)}
OUT=${3:-keyleak-org}
KEYLEAK=${KEYLEAK:-keyleak}
export LIST N OUT KEYLEAK

mkdir -p "$OUT" || exit 2
repos=$(grep -cv '^[[:space:]]*\(#\|$\)' "$LIST")
echo "keyleak: auditing the $repos repositories of $LIST in $N shards into $OUT/" >&2
# Each shard gets one thread: N processes fill N cores. Its summary line
# ("K of M listed repositories audited (this shard) ...") is its progress.
shard='"$KEYLEAK" audit --repos "$LIST" --shard "$0/$N" -j 1 \
	--mirror-dir "$OUT/mirrors" --state-dir "$OUT/state" \
	--format jsonl --output "$OUT/shard-$0.jsonl" --resume 2>&1 |
	sed "s|^keyleak: |keyleak: shard $0/$N: |" >&2
	[ -s "$OUT/shard-$0.jsonl" ] || echo "keyleak: shard $0/$N wrote nothing" >&2'
if command -v parallel >/dev/null 2>&1 && parallel --version 2>/dev/null |
	grep -q GNU; then
	seq 0 $((N - 1)) | parallel -j "$N" sh -c "$shard" {}
else
	seq 0 $((N - 1)) | xargs -P "$N" -I{} sh -c "$shard" {}
fi

"$KEYLEAK" merge "$OUT"/shard-*.jsonl --repos "$LIST" --format sarif --output "$OUT/keyleak.sarif" 2>/dev/null
"$KEYLEAK" merge "$OUT"/shard-*.jsonl --repos "$LIST" --format json --output "$OUT/keyleak.json"
rc=$?
echo "keyleak: merged report: $OUT/keyleak.json (JSON) and $OUT/keyleak.sarif (SARIF); status $rc" >&2
exit $rc
