#!/usr/bin/env bash
# Run every test: unit binaries, the TOML conformance suite, integration tests.
# Each part prints its own results; the last line sums them up as
# "N passed, N failed". Exit 0 only if nothing failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
failed_names=()

count() { # name, output file, exit code
	local p f
	p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1 | awk '{print $1}')
	f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1 | awk '{print $3}')
	if [ -z "$p" ]; then
		# a suite that printed no summary counts as one test
		if [ "$3" -eq 0 ]; then p=1 f=0; else p=0 f=1; fi
	fi
	if [ "$3" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names+=("$1")
}

run() { # name, command...
	local name=$1 out rc
	shift
	out=$(mktemp)
	echo "=== $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	count "$name" "$out" "$rc"
	rm -f "$out"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" "$t"
done
for t in tests/suites/*.sh; do
	[ -f "$t" ] || continue
	case $(basename "$t") in lib_*.sh) continue ;; esac # helpers, not suites
	run "suite/$(basename "$t" .sh)" bash "$t"
done
if [ -z "${BX_SKIP_INTEGRATION:-}" ]; then
	for t in tests/integration/*.sh; do
		[ -f "$t" ] || continue
		case $(basename "$t") in lib.sh | lib_*.sh) continue ;; esac # helpers, not tests
		run "integration/$(basename "$t" .sh)" bash "$t"
	done
fi

echo
if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
