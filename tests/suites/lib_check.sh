# lib_check.sh - what the suites share: source it, then 'check NAME CMD...'
# runs CMD, prints ok/FAIL (and CMD's output when it fails) and counts;
# 'check_done' prints "N passed, N failed" and returns non-zero on a failure.
# Sets T, a temporary directory removed at exit.
T=$(mktemp -d /tmp/bx-suite-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { # name command...
	local name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		pass=$((pass + 1))
		echo "ok   $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		cat "$T/out"
	fi
}
check_done() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
