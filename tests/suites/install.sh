#!/usr/bin/env bash
# make install: the binary, the man page, the shell completions, the systemd unit and the default
# config land under DESTDIR/PREFIX with their modes; a second install keeps
# an edited config; the unit passes systemd-analyze verify (where installed)
# with its ExecStart, config path and man page resolved; the man page renders
# without warnings and names every verb of 'blixard --help'; the installed
# config is valid; make uninstall removes what install put there but the config.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/blixard
. tests/suites/lib_check.sh
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
install_to() { make -s BUILD="$BUILD" install "$@" >"$T/make.out" 2>&1; }

D=$T/dest
check "make install DESTDIR PREFIX=/usr" install_to DESTDIR="$D" PREFIX=/usr
check "the binary, 0755" mode_is "$D/usr/bin/blixard" 755
check "... the built one" cmp -s "$BIN" "$D/usr/bin/blixard"
check "the man page, 0644" mode_is "$D/usr/share/man/man1/blixard.1" 644
check "the unit, 0644" mode_is "$D/usr/lib/systemd/system/blixard.service" 644
check "the bash completion, what 'completion bash' prints" \
	cmp -s <("$BIN" completion bash) "$D/usr/share/bash-completion/completions/blixard"
check "the zsh completion" cmp -s <("$BIN" completion zsh) "$D/usr/share/zsh/vendor-completions/_blixard"
check "the fish completion" \
	cmp -s <("$BIN" completion fish) "$D/usr/share/fish/vendor_completions.d/blixard.fish"
check "... running PREFIX's binary with the config" \
	grep -qx "ExecStart=/usr/bin/blixard daemon --config /etc/blixard/blixard.toml" \
	"$D/usr/lib/systemd/system/blixard.service"
check "... no placeholder left" bash -c "! grep -q @ '$D/usr/lib/systemd/system/blixard.service'"
check "... leaving the VMs running when the daemon stops" \
	grep -qx "KillMode=process" "$D/usr/lib/systemd/system/blixard.service"
check "the default config" cmp -s examples/blixard.toml "$D/etc/blixard/blixard.toml"
check "... valid" "$BIN" validate --config "$D/etc/blixard/blixard.toml"
echo "# edited" >>"$D/etc/blixard/blixard.toml"
check "a second install succeeds" install_to DESTDIR="$D" PREFIX=/usr
check "... keeping the edited config" grep -qx "# edited" "$D/etc/blixard/blixard.toml"
check "... and saying so" grep -q "kept $D/etc/blixard/blixard.toml" "$T/make.out"
check "make uninstall" make -s BUILD="$BUILD" uninstall DESTDIR="$D" PREFIX=/usr
check "... removes binary, man page, completions and unit" \
	bash -c "[ ! -e '$D/usr/bin/blixard' ] && [ ! -e '$D/usr/share/man/man1/blixard.1' ] &&
		[ ! -e '$D/usr/lib/systemd/system/blixard.service' ] &&
		[ ! -e '$D/usr/share/bash-completion/completions/blixard' ] &&
		[ ! -e '$D/usr/share/zsh/vendor-completions/_blixard' ] &&
		[ ! -e '$D/usr/share/fish/vendor_completions.d/blixard.fish' ]"
check "... leaves the config" [ -f "$D/etc/blixard/blixard.toml" ]

# The man page: renders without a warning, names every verb.
check "the man page renders without warnings" \
	bash -c "[ -z \"\$(groff -man -Tutf8 -ww -z docs/blixard.1 2>&1)\" ]"
man_has_verbs() {
	local v missing=""
	for v in $("$BIN" --help | awk '/^verbs:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
		grep -q "^\.B[IR]* \"*$v\b" docs/blixard.1 || missing="$missing $v"
	done
	[ -z "$missing" ] || { echo "not in docs/blixard.1:$missing"; return 1; }
}
check "the man page names every verb of --help" man_has_verbs
# every flag the verb table completes (a verb's and the daemon's), as the
# man page writes it (\-\-flag)
man_has_flags() {
	local f missing=""
	for f in $("$BIN" completion bash | grep -oE "flags='[^']*'" | sed "s/flags='//; s/'$//" |
		tr ' ' '\n' | sort -u); do
		grep -qF -- "${f//-/\\-}" docs/blixard.1 || missing="$missing $f"
	done
	[ -z "$missing" ] || { echo "not in docs/blixard.1:$missing"; return 1; }
}
check "the man page names every flag of the verb table" man_has_flags

# The unit, installed in place (no DESTDIR) so that its paths exist.
if command -v systemd-analyze >/dev/null; then
	P=$T/root
	check "make install PREFIX SYSCONFDIR" install_to PREFIX="$P/usr" SYSCONFDIR="$P/etc"
	verify() {
		local err
		err=$(MANPATH=$P/usr/share/man systemd-analyze verify "$1" 2>&1)
		[ -z "$err" ] || { echo "$err"; return 1; }
	}
	check "systemd-analyze verify: no complaint" verify "$P/usr/lib/systemd/system/blixard.service"
	# the check can fail: a unit with a mistake in it
	sed 's/^Restart=on-failure/Restart=sometimes/' "$P/usr/lib/systemd/system/blixard.service" \
		>"$T/blixard.service"
	check "... and it catches a bad value" bash -c "$(declare -f verify); P='$P'; ! verify '$T/blixard.service'"
else
	echo "skip systemd-analyze verify (systemd-analyze not installed)"
fi

check_done
