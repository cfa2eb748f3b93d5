#!/usr/bin/env bash
# Every file under examples/ is valid: service specs with `blixard validate`,
# daemon configs (a [daemon] section or daemon keys) with `validate --config`.
# A broken spec must be rejected, so the check can fail.
set -u
cd "$(dirname "$0")/../.."
BIN=${BUILD:-build}/blixard
pass=0 fail=0
check() { # name command...
	if "$@" >/tmp/bx-examples.$$ 2>&1; then
		pass=$((pass + 1)); echo "ok   ${*: -1}"
	else
		fail=$((fail + 1)); echo "FAIL $*"; cat /tmp/bx-examples.$$
	fi
}
for f in examples/*.toml; do
	if grep -qE '^\[daemon\]|^data_dir' "$f"; then
		check "$BIN" validate --config "$f"
	else
		check "$BIN" validate "$f"
	fi
done
printf '[service]\nname = "x"\nmemroy_mb = 1\n' >/tmp/bx-examples-bad.$$.toml
check bash -c "! '$BIN' validate /tmp/bx-examples-bad.$$.toml"
rm -f /tmp/bx-examples.$$ /tmp/bx-examples-bad.$$.toml
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
