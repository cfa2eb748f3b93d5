#!/usr/bin/env bash
# The verbs agree everywhere (issue 30, item 6): every verb of 'blixard --help'
# (the verb table) answers '--help' with its usage and is in docs/CLI.md
# (install.sh checks the man page); every verb docs/CLI.md's table or the
# README's examples name exists.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/blixard
. tests/suites/lib_check.sh

verbs=$("$BIN" --help | awk '/^verbs:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
for v in $verbs; do
	check "'$v --help' prints its usage and exits 0" \
		bash -c "'$BIN' $v --help | grep -qE '^usage: blixard (\[[^]]*\] )*(nodes|$v)( |\$)'"
	check "'$v' is in docs/CLI.md" grep -qE "\`$v( |\`)" docs/CLI.md
done
known() { grep -qx -- "$1" <<<"$verbs"; }
# CLI.md's table: rows that name a verb (not the roles table further down)
for v in $(awk '/^\| verb/ {on = 1; next} on && !/^\|/ {on = 0} on' docs/CLI.md |
	grep -oE '^\| `[a-z]+' | sed 's/| `//' | sort -u); do
	check "docs/CLI.md's '$v' is a verb" known "$v"
done
for v in $(grep -oE '^ *blixard [a-z]+' README.md | awk '{print $2}' | sort -u); do
	check "the README's 'blixard $v' is a verb" known "$v"
done
check "'version --help'" bash -c "'$BIN' version --help | grep -q '^usage: blixard'"
check "an unknown verb is a usage error" bash -c "'$BIN' frobnicate 2>/dev/null; [ \$? = 2 ]"
check_done
