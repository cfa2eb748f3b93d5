#!/usr/bin/env bash
# The Nix files, as far as this machine can check them: no nixpkgs is
# reachable here, so nothing is built (docs/DEPLOY.md). Every .nix file parses
# (nix-instantiate --parse; a broken one must not); nix/version.nix evaluates
# to the binary's version; flake.nix, evaluated with stand-in inputs, has the
# outputs the issue names; the module declares the options the issue names
# and the unit's hardening as dist/blixard.service.in has it.
set -u
cd "$(dirname "$0")/../.."
BIN=${BUILD:-build}/blixard
export NIX_CONFIG="build-users-group =" # no nixbld group: evaluation only
. tests/suites/lib_check.sh
if ! command -v nix-instantiate >/dev/null; then
	echo "FAIL nix-instantiate is not installed (Debian nix-bin: scripts/install-deps.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi

files=$(find . -name '*.nix' -not -path './build*' -not -path './.git/*' | sort)
check "there are Nix files" [ -n "$files" ]
for f in $files; do
	check "parses: $f" nix-instantiate --parse "$f"
done
printf '{ a = 1; b = ; }\n' >"$T/broken.nix"
check "a broken file does not parse" bash -c "! nix-instantiate --parse '$T/broken.nix'"

version_matches() {
	local v
	v=$(nix-instantiate --eval nix/version.nix) || return 1
	[ "$("$BIN" version | awk '{print $2}')" = "${v//\"/}" ] || { echo "nix: $v; binary: $("$BIN" version)"; return 1; }
}
check "nix/version.nix is the binary's version" version_matches

# flake.nix with stand-in inputs: lib.genAttrs and a package set whose members
# are never forced (only the names of the outputs are read).
cat >"$T/shape.nix" <<'EOF'
let
  flake = import @ROOT@/flake.nix;
  lib.genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  pkgs = { callPackage = _: _: throw "not built"; mkShell = _: throw "not built"; };
  nixpkgs = { inherit lib; legacyPackages = { x86_64-linux = pkgs; aarch64-linux = pkgs; }; };
  out = flake.outputs { self = out; inherit nixpkgs; };
  sys = "x86_64-linux";
in
{
  description = builtins.isString flake.description;
  nixpkgs = flake.inputs ? nixpkgs;
  outputs = builtins.attrNames out;
  packages = builtins.attrNames out.packages.${sys};
  modules = builtins.attrNames out.nixosModules;
  shells = builtins.attrNames out.devShells.${sys};
  checks = builtins.attrNames out.checks.${sys};
}
EOF
sed -i "s#@ROOT@#$PWD#" "$T/shape.nix"
shape=$(nix-instantiate --eval --strict --json "$T/shape.nix" 2>"$T/shape.err") || cat "$T/shape.err"
check "flake.nix evaluates with stand-in inputs" [ -n "$shape" ]
has() { jq -e "$1" <<<"$shape" >/dev/null; }
check "... has a description and a nixpkgs input" has '.description and .nixpkgs'
check "... packages.<system>.default" has '.packages | index("default")'
check "... nixosModules.default" has '.modules | index("default")'
check "... devShells.<system>.default" has '.shells | index("default")'
check "... checks.<system>.cluster (the NixOS test)" has '.checks | index("cluster")'

options_declared() {
	local o missing=""
	for o in enable package nodeId name dataDir api raft socket bootstrap join joinTokenFile \
		discovery peers tag bootstrapExpect settings services openFirewall; do
		grep -qE "^    $o = mk(Option|EnableOption)" nix/module.nix || missing="$missing $o"
	done
	[ -z "$missing" ] || { echo "not declared in nix/module.nix:$missing"; return 1; }
}
check "the module declares the options of the issue" options_declared
hardening_matches() {
	local key missing=""
	for key in $(sed -n '/^# Hardening/,/^\[Install\]/ s/^\([A-Za-z]*\)=.*/\1/p' dist/blixard.service.in); do
		grep -qE "^ +$key = " nix/module.nix || missing="$missing $key"
	done
	[ -z "$missing" ] || { echo "in dist/blixard.service.in, not in nix/module.nix:$missing"; return 1; }
}
check "the module's unit is hardened as dist/blixard.service.in" hardening_matches

check_done
