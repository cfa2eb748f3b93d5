# nix/package.nix - Blixard built as 'make' builds it, with the nixpkgs
# equivalents of its Debian bookworm dependencies. 'make install' puts the
# binary, the man page, the shell completions, the systemd unit and the
# default config under $out.
{ lib
, stdenv
, fetchurl
, cmake
, pkg-config
, libuv
, lmdb
, cjson
, curl
, libvirt
, openssl
, jemalloc
, raft-cowsql
, libyaml
, wslay
, zlib
}:

let
  # h2o as Debian bookworm ships it (2.2.5 and Debian's patches, built with
  # Debian's flags). nixpkgs' h2o is 2.3, whose library API differs from the
  # one Blixard is written against.
  debianPool = "https://deb.debian.org/debian/pool/main/h/h2o";
  h2o = stdenv.mkDerivation {
    pname = "h2o";
    version = "2.2.5+dfsg2-7";
    src = fetchurl {
      urls = [
        "${debianPool}/h2o_2.2.5+dfsg2.orig.tar.xz"
        "https://snapshot.debian.org/file/fab346b873f07f5de65709d7a925c52555637f83"
      ];
      # Checksums-Sha256 of the signed h2o_2.2.5+dfsg2-7.dsc
      sha256 = "a46894bd85da6528d4ad90ce0443b48118718296175061a1a1156e9e3af60a0d";
    };
    debian = fetchurl {
      urls = [
        "${debianPool}/h2o_2.2.5+dfsg2-7.debian.tar.xz"
        "https://snapshot.debian.org/file/cd84c79fb6382cb4493412cea778937c773ee167"
      ];
      sha256 = "cdac721373a73bd6a94707cfa90ea0ac25cf33898727f7137dd9acdb351f2964";
    };
    postPatch = ''
      tar -xf "$debian"
      grep -v '^#' debian/patches/series | while read -r p _; do
        [ -n "$p" ] && patch -p1 <"debian/patches/$p"
      done
    '';
    nativeBuildInputs = [ cmake pkg-config ];
    buildInputs = [ libuv openssl libyaml wslay zlib ];
    cmakeFlags = [
      "-DWITH_BUNDLED_SSL=off"
      "-DWITH_MRUBY=off"
      "-DBUILD_SHARED_LIBS=on"
    ];
    meta = {
      description = "HTTP server library (the libuv build Blixard links)";
      homepage = "https://h2o.examp1e.net";
      license = lib.licenses.mit;
      platforms = lib.platforms.linux;
    };
  };

in
stdenv.mkDerivation {
  pname = "blixard";
  version = import ./version.nix;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Makefile
      ../src
      ../raft
      ../vm
      ../net
      ../dist
      ../docs/blixard.1
      ../examples/blixard.toml
    ];
  };

  nativeBuildInputs = [ pkg-config ];
  buildInputs = [ libuv lmdb cjson curl libvirt openssl raft-cowsql h2o jemalloc ];

  enableParallelBuilding = true;
  buildFlags = [ "build/blixard" ];
  makeFlags = [
    "PREFIX=${placeholder "out"}"
    "SYSCONFDIR=${placeholder "out"}/etc"
  ];

  # The tests need root, network namespaces, QEMU and libvirtd:
  # scripts/test.sh runs them; the NixOS test (nix/test.nix) runs a cluster.
  doCheck = false;

  meta = {
    description = "Raft-replicated service manager for microVMs";
    platforms = lib.platforms.linux;
    mainProgram = "blixard";
  };
}
