# nix/test.nix - the flake's checks.cluster: three NixOS machines run the
# module; h1 bootstraps, h2 and h3 join; a service declared in the module is
# applied and runs; the leader's host stops, the others elect a new leader and
# the service runs on one of them.
{ pkgs, self }:

let
  node = { name, ip, bootstrap ? false }: { lib, ... }: {
    imports = [ self.nixosModules.default ];
    networking.hostName = name;
    networking.interfaces.eth1.ipv4.addresses = lib.mkForce [{ address = ip; prefixLength = 24; }];
    virtualisation.memorySize = 1024;
    environment.systemPackages = [ pkgs.jq ];
    # a test's secret may sit in the store; a real one must not
    environment.etc."blixard/cluster.secret" = { text = "nixos-test-cluster-secret"; mode = "0600"; };
    services.blixard = {
      enable = true;
      inherit name bootstrap;
      api = "${ip}:7000";
      raft = "${ip}:7001";
      join = if bootstrap then null else "192.168.1.1:7000";
      clusterSecretFile = "/etc/blixard/cluster.secret";
      openFirewall = true;
      services.ticker = {
        service.driver = "process";
        process.command = [ "${pkgs.coreutils}/bin/sleep" "infinity" ];
      };
    };
  };
in
pkgs.testers.runNixOSTest {
  name = "blixard-cluster";
  nodes = {
    h1 = node { name = "h1"; ip = "192.168.1.1"; bootstrap = true; };
    h2 = node { name = "h2"; ip = "192.168.1.2"; };
    h3 = node { name = "h3"; ip = "192.168.1.3"; };
  };
  testScript = ''
    import json

    def status(m):
        return json.loads(m.succeed("blixard --json status"))

    start_all()
    for m in (h1, h2, h3):
        m.wait_for_unit("blixard.service")
    h1.wait_until_succeeds(
        "blixard --json status | jq -e '[.cluster.members[] | select(.role == \"voter\")] | length == 3'",
        timeout=120)
    h1.wait_until_succeeds("blixard --json status ticker | jq -e '.state == \"running\"'", timeout=60)

    leader = status(h1)["cluster"]["leader"]["id"]
    hosts = {status(m)["cluster"]["node_id"]: m for m in (h1, h2, h3)}
    hosts[leader].crash()
    rest = [m for i, m in hosts.items() if i != leader]
    rest[0].wait_until_succeeds(
        f"blixard --json status | jq -e '.cluster.leader != null and .cluster.leader.id != {leader}'",
        timeout=60)
    rest[0].wait_until_succeeds(
        f"blixard --json status ticker | jq -e '.state == \"running\" and .node != {leader}'",
        timeout=120)
  '';
}
