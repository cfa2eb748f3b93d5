#!/usr/bin/env bash
# Short runs of the fuzz targets for untrusted input: the TOML parser (make
# fuzz-toml runs it for 10 minutes), API bodies (JSON specs and commands,
# make fuzz-spec), QMP replies (make fuzz-qmp) and tailscaled's LocalAPI
# status (make fuzz-tailscale), invite tokens (make fuzz-invite) and API
# tokens as Authorization headers (make fuzz-token). FUZZ_SECONDS overrides
# the length of each (default 20).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-20}
out=$BUILD/fuzz
mkdir -p "$out/corpus-toml"
pass=0 fail=0
run() { # name, sources...
	local name=$1
	shift
	mkdir -p "$out/corpus-$name"
	if ! clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isrc \
		$(pkg-config --cflags libcjson libuv) -o "$out/fuzz_$name" "$@" \
		$(pkg-config --libs libcjson libuv) -lm 2>"$out/build-$name.log"; then
		cat "$out/build-$name.log"
		fail=$((fail + 1))
		return
	fi
	if "$out/fuzz_$name" -max_total_time="$secs" -max_len=65536 "${EXTRA[@]}" \
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
EXTRA=(-dict=tests/fuzz/toml.dict)
run toml tests/fuzz/fuzz_toml.c src/toml*.c src/error.c
EXTRA=()
run spec tests/fuzz/fuzz_spec_json.c src/spec.c src/schema.c src/toml*.c src/error.c raft/command.c \
	src/token.c src/invite.c src/store*.c src/json.c -lcrypto $(pkg-config --libs lmdb)
run qmp tests/fuzz/fuzz_qmp.c vm/qmp.c src/error.c
run tailscale tests/fuzz/fuzz_tailscale.c net/tailscale.c src/error.c
run invite tests/fuzz/fuzz_invite.c src/invite.c src/error.c -lcrypto
run token tests/fuzz/fuzz_token.c src/token.c src/invite.c src/store*.c src/json.c src/error.c \
	-lcrypto $(pkg-config --libs lmdb)
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
