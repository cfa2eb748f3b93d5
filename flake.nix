# flake.nix - Blixard for Nix users: the package, a NixOS module, a development
# shell and a NixOS test of a 3-node cluster. docs/DEPLOY.md says which parts
# were built and which only parsed (no nixpkgs is reachable where Blixard is
# developed).
{
  description = "Blixard: a Raft-replicated service manager for microVMs";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
  };

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        blixard = pkgs.callPackage ./nix/package.nix { };
        default = blixard;
      });

      overlays.default = final: _prev: {
        blixard = final.callPackage ./nix/package.nix { };
      };

      # services.blixard; its package defaults to this flake's
      nixosModules.default = { pkgs, lib, ... }: {
        imports = [ ./nix/module.nix ];
        services.blixard.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ];
          packages = with pkgs; [
            clang-tools gdb jq curl iproute2 procps psmisc python3
            qemu_kvm busybox cpio libvirt libxml2 util-linux
            wrk etcd prometheus openssh nix
          ];
        };
      });

      checks = forAllSystems (pkgs: {
        cluster = import ./nix/test.nix { inherit pkgs self; };
      });
    };
}
