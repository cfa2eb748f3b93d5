#!/usr/bin/env bash
# A short run of the TOML fuzz target (make fuzz-toml runs it for 10 minutes).
# FUZZ_SECONDS overrides the length (default 30).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-30}
out=$BUILD/fuzz
mkdir -p "$out/corpus-toml"
if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
	-o "$out/fuzz_toml" tests/fuzz/fuzz_toml.c src/toml.c src/error.c 2>"$out/build.log"; then
	cat "$out/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
if "$out/fuzz_toml" -max_total_time="$secs" -max_len=65536 -dict=tests/fuzz/toml.dict \
	-print_final_stats=1 "$out/corpus-toml" tests/fuzz/corpus-toml >"$out/run.log" 2>&1; then
	grep -E 'stat::number_of_executed_units|Done' "$out/run.log" | tail -2
	echo "1 passed, 0 failed"
else
	tail -n 40 "$out/run.log"
	echo "0 passed, 1 failed"
	exit 1
fi
