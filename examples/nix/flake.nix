# examples/nix/flake.nix - a flake for a three-host Blixard cluster, one
# nixosConfiguration per host, deployed with
#
#   scripts/deploy_node.sh --flake ./examples/nix root@10.0.0.2 --name h2
#
# (nixos-rebuild switch --flake .#h2 --target-host root@10.0.0.2). Each host
# runs the daemon from Blixard's module; h1 bootstraps the cluster, the others
# join it. The microVM "web" is declared with microvm.nix and run by Blixard
# (placed on one host, moved when that host dies), never by microvm.nix itself.
{
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    blixard.url = "path:../..";
    blixard.inputs.nixpkgs.follows = "nixpkgs";
    microvm.url = "github:astro/microvm.nix";
    microvm.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs = { nixpkgs, blixard, microvm, ... }:
    let
      hosts = {
        h1 = "10.0.0.1";
        h2 = "10.0.0.2";
        h3 = "10.0.0.3";
      };
      host = name: ip: nixpkgs.lib.nixosSystem {
        system = "x86_64-linux";
        modules = [
          ./hardware-configuration.nix # each host's own
          blixard.nixosModules.default
          microvm.nixosModules.host
          {
            networking.hostName = name;
            services.openssh.enable = true;

            # the guest, declared once; every host has its runner
            microvm.vms.web.config = {
              microvm.hypervisor = "qemu";
              microvm.mem = 256;
              microvm.interfaces = [{ type = "user"; id = "web"; mac = "02:00:00:00:00:01"; }];
              microvm.forwardPorts = [{ from = "host"; host.port = 8080; guest.port = 80; }];
              services.nginx.enable = true;
              networking.firewall.allowedTCPPorts = [ 80 ];
            };

            services.blixard = {
              enable = true;
              api = "${ip}:7000";
              raft = "${ip}:7001";
              bootstrap = name == "h1";
              join = if name == "h1" then null else "${hosts.h1}:7000";
              openFirewall = true;
              settings.labels = [ "rack=${name}" ];
              services.web = {
                microvm = "web";
                health = { type = "http"; port = 8080; path = "/"; };
                restart.policy = "always";
              };
            };
          }
        ];
      };
    in
    {
      nixosConfigurations = builtins.mapAttrs host hosts;
    };
}
