#!/bin/sh
# Runs every test program (unit binaries, the rules self-check, end-to-end
# scripts). Each prints TAP lines; this counts them and ends with the line
# "N passed, N failed". Set TESTS=pattern to run only matching programs.
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
KEYLEAK=${KEYLEAK:-$PWD/keyleak}
export KEYLEAK
log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0

run_one() {
	name=$1
	shift
	case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
	"$@" >"$log" 2>&1
	status=$?
	# A test run as root once replaced /dev/null with a regular file (a
	# rename over it), breaking every later git call: name the culprit.
	if [ ! -c /dev/null ]; then
		echo "not ok - $name replaced /dev/null with a regular file" >>"$log"
		rm -f /dev/null && mknod -m 666 /dev/null c 1 3
	fi
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $status" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name ($p passed, $f failed)"
		grep -v '^ok ' "$log" | tail -n 60 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed)"
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
run_one "rules --check" "$KEYLEAK" rules --check
for t in tests/e2e/test_*.py; do
	[ -f "$t" ] || continue
	run_one "e2e/$(basename "$t")" python3 "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
