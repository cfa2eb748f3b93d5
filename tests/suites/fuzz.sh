#!/usr/bin/env bash
# Short runs of the fuzz targets for untrusted input: the TOML parser (make
# fuzz-toml runs it for 10 minutes), API bodies (JSON specs and commands,
# make fuzz-spec), QMP replies (make fuzz-qmp) and tailscaled's LocalAPI
# status (make fuzz-tailscale), invite tokens (make fuzz-invite) and API
# tokens as Authorization headers (make fuzz-token). Every target links the
# library, built for fuzzing by `make fuzz-build` (into build-fuzz/).
#
# Any sanitizer report fails the run: the build has -fno-sanitize-recover=all
# and the sanitizers halt on their first error, so libFuzzer stops with the
# input that caused it, kept in build-fuzz/fuzz/findings/ (its path is
# printed; run the target on that file to reproduce). A log that mentions a
# runtime error fails the run too, whatever the exit code.
# FUZZ_SECONDS overrides the length of each (default 20).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD:-build-fuzz}
out=$build/fuzz
pass=0 fail=0
log=$(mktemp)
# a make of its own: not the flags of a make this runs under (make asan's
# gcc-only CFLAGS, its BUILD)
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s FUZZ_BUILD="$build" fuzz-build \
	>"$log" 2>&1; then
	tail -n 40 "$log"
	rm -f "$log"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$log"
mkdir -p "$out/findings"
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run() { # name, extra libFuzzer flags...
	local name=$1 run_log
	shift
	run_log=$out/run-$name.log
	mkdir -p "$out/corpus-$name"
	if "$out/fuzz_$name" -max_total_time="$secs" -max_len=65536 "$@" \
		-artifact_prefix="$out/findings/$name-" -print_final_stats=1 \
		"$out/corpus-$name" "tests/fuzz/corpus-$name" >"$run_log" 2>&1 &&
		! grep -qE 'runtime error|ERROR: (Address|Leak|Undefined)Sanitizer' "$run_log"; then
		echo "ok   fuzz $name: $(grep -E '^Done' "$run_log"), $(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$run_log" | tail -n 1)"
		pass=$((pass + 1))
	else
		echo "FAIL fuzz $name"
		grep -B2 -A30 -E 'runtime error|ERROR|deadly' "$run_log" | head -50
		grep -E 'Test unit written to' "$run_log" | sed 's/^/     reproducer: /'
		fail=$((fail + 1))
	fi
}
run toml -dict=tests/fuzz/toml.dict
run spec
run qmp
run tailscale
run invite
run token
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
