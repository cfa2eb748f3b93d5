# nix/module.nix - services.blixard: the Blixard daemon on a NixOS host, its
# configuration, and services declared as Nix attribute sets.
#
#   services.blixard = {
#     enable = true;
#     name = "h1";
#     api = "10.0.0.1:7000";
#     raft = "10.0.0.1:7001";
#     bootstrap = true;                  # on one host; the others: join = "10.0.0.1:7000"
#     services.web = {                   # rendered to web.toml, applied at start
#       service.driver = "qemu";
#       vm = { kernel = "/var/lib/images/vmlinuz"; memory_mb = 256; };
#       health = { type = "http"; port = 8080; path = "/health"; };
#     };
#     services.db.microvm = "db";        # runs microvm.vms.db through the microvm-nix driver
#   };
#
# The daemon's keys are those of 'blixard daemon --help' (docs/CLI.md); a
# service's, those of a TOML spec (docs/SPEC.md).
{ config, lib, pkgs, options, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression;
  cfg = config.services.blixard;
  toml = pkgs.formats.toml { };

  # The daemon's config file: the options below, then `settings` over them.
  daemonSettings = lib.filterAttrs (_: v: v != null) ({
    node_id = cfg.nodeId;
    name = cfg.name;
    data_dir = cfg.dataDir;
    api = cfg.api;
    raft = cfg.raft;
    socket = cfg.socket;
    bootstrap = cfg.bootstrap;
    join = cfg.join;
    discovery = cfg.discovery;
    peers = cfg.peers;
    tag = cfg.tag;
    tailscale_socket = cfg.tailscaleSocket;
    bootstrap_expect = cfg.bootstrapExpect;
    cluster_secret_file =
      if cfg.clusterSecretFile == null then null else toString cfg.clusterSecretFile;
  } // cfg.settings);
  configFile = toml.generate "blixard.toml" daemonSettings;

  # A microvm.nix VM's runner: the store path microvm.nix declares for it.
  runnerOf = vm: "${config.microvm.vms.${vm}.config.config.microvm.declaredRunner}";

  # A declared service as a TOML spec: its name is the attribute's; one that
  # names a microvm.nix VM runs through the microvm-nix driver.
  specOf = name: svc:
    let
      base = builtins.removeAttrs svc [ "microvm" ];
      viaMicrovm = lib.optionalAttrs (svc ? microvm) {
        service.driver = "microvm-nix";
        vm.runner = runnerOf svc.microvm;
      };
    in
    lib.recursiveUpdate (lib.recursiveUpdate base viaMicrovm) { service.name = name; };
  specFiles = lib.mapAttrs (name: svc: toml.generate "${name}.toml" (specOf name svc)) cfg.services;
  specDir = pkgs.linkFarm "blixard-services"
    (lib.mapAttrsToList (name: file: { name = "${name}.toml"; path = file; }) specFiles);

  blixard = "${cfg.package}/bin/blixard";
  microvmNames = lib.unique (lib.mapAttrsToList (_: svc: svc.microvm)
    (lib.filterAttrs (_: svc: svc ? microvm) cfg.services));
  port = addr: lib.toInt (lib.last (lib.splitString ":" addr));
in
{
  options.services.blixard = {
    enable = mkEnableOption "the Blixard daemon";

    package = mkOption {
      type = types.package;
      description = "The Blixard package (the flake's nixosModules.default sets it).";
    };

    nodeId = mkOption {
      type = types.nullOr types.ints.positive;
      default = null;
      description = "This node's Raft id; null: a random one, kept in the data directory.";
    };

    name = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = literalExpression "config.networking.hostName";
      description = "This node's name.";
    };

    dataDir = mkOption {
      type = types.path;
      default = "/var/lib/blixard";
      description = "State: the Raft log, the LMDB store, the instances' run directories.";
    };

    api = mkOption {
      type = types.str;
      default = "127.0.0.1:7000";
      example = "10.0.0.1:7000";
      description = "The HTTP API address HOST:PORT; other nodes join and forward through it.";
    };

    raft = mkOption {
      type = types.str;
      default = "127.0.0.1:7001";
      example = "10.0.0.1:7001";
      description = "The Raft address HOST:PORT.";
    };

    socket = mkOption {
      type = types.str;
      default = "/run/blixard/blixard.sock";
      description = "The local API socket (mode 0600); the CLI's default.";
    };

    bootstrap = mkOption {
      type = types.bool;
      default = false;
      description = "Start a new cluster if the data directory is fresh (on one host).";
    };

    join = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "10.0.0.1:7000";
      description = "Join the cluster through this member's API HOST:PORT.";
    };

    joinTokenFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      description = ''
        A file holding an invite token ('blixard invite create'), passed to the
        daemon as --join-token. Keep it out of the Nix store.
      '';
    };

    clusterSecretFile = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = "/run/secrets/blixard-cluster";
      description = ''
        A file (mode 0600) holding the cluster secret every node shares, for
        nodes that join with `join` or discovery instead of an invite. The
        first node may take it too, else it makes one (kept in its data dir).
        Keep it out of the Nix store (agenix, sops-nix).
      '';
    };

    discovery = mkOption {
      type = types.enum [ "static" "tailscale" ];
      default = "static";
      description = "How nodes find each other: the `peers` list, or Tailscale peer tags.";
    };

    peers = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "With static discovery: the peers' API addresses.";
    };

    tag = mkOption {
      type = types.str;
      default = "tag:blixard";
      description = "With Tailscale discovery: the tag of the cluster's hosts.";
    };

    tailscaleSocket = mkOption {
      type = types.str;
      default = "/var/run/tailscale/tailscaled.sock";
      description = "With Tailscale discovery: tailscaled's LocalAPI socket.";
    };

    bootstrapExpect = mkOption {
      type = types.ints.unsigned;
      default = 0;
      description = "Form the cluster once this many nodes (this one included) are seen; 0: off.";
    };

    settings = mkOption {
      type = toml.type;
      default = { };
      example = { max_voters = 3; labels = [ "zone=a" ]; log_level = "debug"; };
      description = "Further daemon settings (keys as in 'blixard daemon --help'), over the above.";
    };

    services = mkOption {
      type = types.attrsOf toml.type;
      default = { };
      example = literalExpression ''
        {
          web = {
            service.driver = "qemu";
            vm = { kernel = "/var/lib/images/vmlinuz"; memory_mb = 256; };
            health = { type = "http"; port = 8080; };
          };
          db.microvm = "db";
        }
      '';
      description = ''
        Services, as the sections and keys of a TOML spec (docs/SPEC.md), each
        named by its attribute. Applied ('blixard start --detach') whenever the
        daemon starts; `microvm = "NAME"` runs microvm.vms.NAME (microvm.nix)
        through the microvm-nix driver, and microvm.nix does not autostart it.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open the API and Raft ports.";
    };

    extraPackages = mkOption {
      type = types.listOf types.package;
      default = with pkgs; [ qemu_kvm iproute2 util-linux ];
      defaultText = literalExpression "with pkgs; [ qemu_kvm iproute2 util-linux ]";
      description = "On the daemon's PATH: the hypervisor and the tools drivers run.";
    };
  };

  config = mkIf cfg.enable (lib.mkMerge [
    {
      assertions = [
        {
          assertion = !(cfg.bootstrap && cfg.join != null);
          message = "services.blixard: bootstrap or join, not both";
        }
        {
          assertion = cfg.join == null || cfg.clusterSecretFile != null;
          message = "services.blixard: join needs clusterSecretFile (or an invite: joinTokenFile)";
        }
        {
          assertion = microvmNames == [ ] || options ? microvm;
          message = "services.blixard: services name microvm.nix VMs but microvm.nix's host module is not imported";
        }
      ];

      environment.systemPackages = [ cfg.package ];
      environment.etc."blixard/blixard.toml".source = configFile;
      environment.sessionVariables.BLIXARD_SOCKET = cfg.socket;

      networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ (port cfg.api) (port cfg.raft) ];

      systemd.services.blixard = {
        description = "Blixard microVM cluster manager";
        documentation = [ "man:blixard(1)" ];
        wantedBy = [ "multi-user.target" ];
        wants = [ "network-online.target" ];
        after = [ "network-online.target" "libvirtd.service" "tailscaled.service" ];
        path = cfg.extraPackages;
        restartTriggers = [ configFile ];
        serviceConfig = {
          Type = "simple";
          ExecStart =
            if cfg.joinTokenFile == null then
              "${blixard} daemon --config /etc/blixard/blixard.toml"
            else
              pkgs.writeShellScript "blixard-daemon" ''
                exec ${blixard} daemon --config /etc/blixard/blixard.toml \
                  --join-token "$(cat ${lib.escapeShellArg (toString cfg.joinTokenFile)})"
              '';
          Restart = "on-failure";
          RestartSec = "2s";
          # services outlive the daemon; a restarted daemon adopts them
          KillMode = "process";
          TimeoutStopSec = "30s";
          LimitNOFILE = 65536;
          RuntimeDirectory = "blixard";
          RuntimeDirectoryMode = "0700";
          StateDirectory = mkIf (cfg.dataDir == "/var/lib/blixard") "blixard";
          StateDirectoryMode = "0700";
          UMask = "0077";
          # hardening, as dist/blixard.service.in
          NoNewPrivileges = true;
          ProtectSystem = "full";
          ProtectHome = true;
          PrivateTmp = true;
          ProtectKernelModules = true;
          ProtectKernelLogs = true;
          ProtectControlGroups = true;
          ProtectClock = true;
          ProtectHostname = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          LockPersonality = true;
          SystemCallArchitectures = "native";
          RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ];
          CapabilityBoundingSet = [
            "CAP_NET_ADMIN" "CAP_NET_BIND_SERVICE" "CAP_NET_RAW" "CAP_KILL" "CAP_SETUID"
            "CAP_SETGID" "CAP_CHOWN" "CAP_DAC_OVERRIDE" "CAP_FOWNER" "CAP_SYS_RESOURCE"
            "CAP_IPC_LOCK" "CAP_SYS_ADMIN"
          ];
        };
      };

      # The declared services, applied once the daemon answers with a leader;
      # again whenever the daemon (re)starts or the declarations change.
      systemd.services.blixard-services = mkIf (cfg.services != { }) {
        description = "Apply the Blixard services declared in services.blixard.services";
        wantedBy = [ "multi-user.target" ];
        after = [ "blixard.service" ];
        bindsTo = [ "blixard.service" ];
        partOf = [ "blixard.service" ];
        restartTriggers = [ specDir ];
        environment.BLIXARD_SOCKET = cfg.socket;
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          TimeoutStartSec = "15min";
        };
        script = ''
          until ${blixard} --json status >/dev/null 2>&1 &&
            ${blixard} --json status | ${pkgs.jq}/bin/jq -e '.cluster.leader != null' >/dev/null; do
            sleep 1
          done
          for spec in ${specDir}/*.toml; do
            until ${blixard} start --detach "$spec"; do
              echo "retrying $spec in 2 s" >&2
              sleep 2
            done
          done
        '';
      };
    }

    # microvm.nix must not start the VMs Blixard runs: a service never runs twice
    (lib.optionalAttrs (options ? microvm) {
      microvm.vms = lib.genAttrs microvmNames (_: { autostart = lib.mkForce false; });
    })
  ]);
}
