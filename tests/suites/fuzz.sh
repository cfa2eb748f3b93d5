#!/usr/bin/env bash
# Short runs of the fuzz targets for untrusted input: the TOML parser (make
# fuzz-toml runs it for 10 minutes), API bodies (JSON specs and commands,
# make fuzz-spec), QMP replies (make fuzz-qmp) and tailscaled's LocalAPI
# status (make fuzz-tailscale), invite tokens (make fuzz-invite) and API
# tokens as Authorization headers (make fuzz-token). Every target links the
# library, built for fuzzing by `make fuzz-build` (into build-fuzz/).
# FUZZ_SECONDS overrides the length of each (default 20).
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-20}
out=${FUZZ_BUILD:-build-fuzz}/fuzz
pass=0 fail=0
if ! make -s FUZZ_BUILD="${FUZZ_BUILD:-build-fuzz}" fuzz-build >"${TMPDIR:-/tmp}/fuzz-build.$$.log" 2>&1; then
	tail -n 40 "${TMPDIR:-/tmp}/fuzz-build.$$.log"
	rm -f "${TMPDIR:-/tmp}/fuzz-build.$$.log"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "${TMPDIR:-/tmp}/fuzz-build.$$.log"
run() { # name, extra libFuzzer flags...
	local name=$1
	shift
	mkdir -p "$out/corpus-$name"
	if "$out/fuzz_$name" -max_total_time="$secs" -max_len=65536 "$@" \
		-print_final_stats=1 "$out/corpus-$name" "tests/fuzz/corpus-$name" \
		>"$out/run-$name.log" 2>&1; then
		echo "ok   fuzz $name: $(grep -E '^Done' "$out/run-$name.log")"
		pass=$((pass + 1))
	else
		echo "FAIL fuzz $name"
		grep -A30 -E 'ERROR|deadly' "$out/run-$name.log" | head -40
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
