#!/usr/bin/env bash
# The official TOML 1.0 conformance cases (../shared/toml-test, files-toml-1.0.0):
# every valid case must decode to its expected JSON, every invalid case must be
# rejected (non-zero exit, no crash, no hang). Prints the counts, the failures,
# and "N passed, M failed" (one test per case).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DECODER=${DECODER:-$BUILD/toml-decoder}
SUITE=${TOML_TEST_DIR:-$(cd .. && pwd)/shared/toml-test}
[ -d "$SUITE" ] || SUITE=$(pwd)/../shared/toml-test
LIST=$SUITE/files-toml-1.0.0
if [ ! -x "$DECODER" ] || [ ! -f "$LIST" ]; then
	echo "missing $DECODER or $LIST"
	echo "0 passed, 1 failed"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
vp=0 vf=0 ip=0 if=0
while IFS= read -r f; do
	case "$f" in
	valid/*.toml)
		want="$SUITE/${f%.toml}.json"
		if timeout 10 "$DECODER" <"$SUITE/$f" >"$tmp/got.json" 2>"$tmp/err" &&
			python3 tests/suites/toml_compare.py "$tmp/got.json" "$want" >"$tmp/why" 2>&1; then
			vp=$((vp + 1))
		else
			vf=$((vf + 1))
			echo "FAIL valid $f: $(head -c 300 "$tmp/why" "$tmp/err" 2>/dev/null | tr '\n' ' ')"
		fi
		;;
	invalid/*.toml)
		timeout 10 "$DECODER" <"$SUITE/$f" >/dev/null 2>"$tmp/err"
		rc=$?
		if [ "$rc" -eq 1 ]; then
			ip=$((ip + 1))
		else
			if=$((if + 1))
			echo "FAIL invalid $f: exit $rc (want 1)"
		fi
		;;
	esac
done <"$LIST"
echo "toml conformance: valid $vp/$((vp + vf)), invalid rejected $ip/$((ip + if))"
echo "$((vp + ip)) passed, $((vf + if)) failed"
[ $((vf + if)) -eq 0 ]
