# nix/version.nix - Blixard's version, read from src/base/version.h (the one place
# it is written). Plain builtins: tests/suites/nix.sh evaluates it.
let
  lines = builtins.filter builtins.isString
    (builtins.split "\n" (builtins.readFile ../src/base/version.h));
  found = builtins.filter (m: m != null)
    (map (builtins.match ''#define BX_VERSION "([^"]*)"'') lines);
in
builtins.head (builtins.head found)
