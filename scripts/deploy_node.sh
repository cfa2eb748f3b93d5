#!/usr/bin/env bash
# deploy_node.sh - deploy Blixard to a host over SSH and wait until it is a
# member of its cluster. See docs/DEPLOY.md.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/deploy_node.sh [options] HOST

Deploy Blixard to HOST ([user@]host, as for ssh) and wait until the node is a
member of its cluster; prints how long that took.

  NixOS hosts (/etc/NIXOS): nixos-rebuild switch --flake FLAKE#NAME --target-host HOST
  other hosts: copy the binary, the systemd unit, the man page and this node's
  config, then enable and (re)start the unit; with --no-systemd, start the
  daemon directly (stopping the one running first: an upgrade).

The node:
  --bootstrap            it starts a new cluster (its data dir must be fresh)
  --join HOST:PORT       it joins through this member's API
  --join-token TOKEN     it joins with an invite ('blixard invite create')
  --cluster-secret-file FILE
                         the cluster secret, copied to the host (0600): for
                         --join, or for --bootstrap with a secret of your own
  --name NAME            its name (default: the host's name)
  --api HOST:PORT        its API address (default: the address SSH reached, port 7000)
  --raft HOST:PORT       its Raft address (default: that address, port 7001)
  --set KEY=VALUE        another daemon setting for its config, TOML value
                         (repeatable), e.g. --set 'labels = ["zone=a"]'
Where, on the host:
  --prefix DIR           the binary in DIR/bin, the man page in DIR/share/man (/usr/local)
  --config-dir DIR       blixard.toml (/etc/blixard)
  --data-dir DIR         the daemon's data (/var/lib/blixard)
  --run-dir DIR          the API socket; with --no-systemd, the pid file (/run/blixard)
  --log FILE             with --no-systemd, the daemon's output (/var/log/blixard.log)
  --no-systemd           no systemd on the host: run the daemon directly
  --install-deps         first install the runtime packages (Debian, apt-get)
How:
  --binary FILE          the binary to deploy (default: build/blixard, made if missing)
  --flake REF            NixOS: the flake (default: this checkout)
  -i KEY, -p PORT, -o OPTION   passed to ssh (-o repeatable)
  --timeout SECS         wait this long for membership (default 120)
  -h, --help             this text
EOF
}

die() {
	echo "deploy_node.sh: $*" >&2
	exit 1
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HOST="" BOOTSTRAP=0 JOIN="" TOKEN="" SECRET="" NAME="" API="" RAFT="" EXTRA=()
PREFIX=/usr/local CONFIG_DIR=/etc/blixard DATA_DIR=/var/lib/blixard RUN_DIR=/run/blixard
LOG=/var/log/blixard.log SYSTEMD=1 INSTALL_DEPS=0 BINARY="" FLAKE=$ROOT TIMEOUT=120
SSH_OPTS=()

need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--bootstrap) BOOTSTRAP=1 ;;
	--join) need "$@"; JOIN=$2; shift ;;
	--join-token) need "$@"; TOKEN=$2; shift ;;
	--cluster-secret-file) need "$@"; SECRET=$2; shift ;;
	--name) need "$@"; NAME=$2; shift ;;
	--api) need "$@"; API=$2; shift ;;
	--raft) need "$@"; RAFT=$2; shift ;;
	--set) need "$@"; EXTRA+=("$2"); shift ;;
	--prefix) need "$@"; PREFIX=$2; shift ;;
	--config-dir) need "$@"; CONFIG_DIR=$2; shift ;;
	--data-dir) need "$@"; DATA_DIR=$2; shift ;;
	--run-dir) need "$@"; RUN_DIR=$2; shift ;;
	--log) need "$@"; LOG=$2; shift ;;
	--no-systemd) SYSTEMD=0 ;;
	--install-deps) INSTALL_DEPS=1 ;;
	--binary) need "$@"; BINARY=$2; shift ;;
	--flake) need "$@"; FLAKE=$2; shift ;;
	-i) need "$@"; SSH_OPTS+=(-i "$2"); shift ;;
	-p) need "$@"; SSH_OPTS+=(-o "Port=$2"); shift ;;
	-o) need "$@"; SSH_OPTS+=(-o "$2"); shift ;;
	--timeout)
		need "$@"
		[[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] || die "--timeout takes whole seconds > 0, got '$2'"
		TIMEOUT=$2
		shift
		;;
	-*) die "unknown option '$1' (see --help)" ;;
	*)
		[ -z "$HOST" ] || die "one host at a time: '$HOST' and '$1'"
		HOST=$1
		;;
	esac
	shift
done
[ -n "$HOST" ] || {
	echo "deploy_node.sh: a HOST to deploy to is required" >&2
	usage >&2
	exit 2
}
[ "$BOOTSTRAP" = 1 ] && [ -n "$JOIN$TOKEN" ] && die "--bootstrap or --join, not both"
[ -n "$JOIN" ] && [ -n "$TOKEN" ] && die "--join or --join-token, not both"
[ -z "$SECRET" ] || [ -r "$SECRET" ] || die "--cluster-secret-file: cannot read '$SECRET'"
[ -z "$SECRET" ] || [ -z "$TOKEN" ] || die "--join-token brings the cluster secret: no --cluster-secret-file"
[ -z "$JOIN" ] || [ -n "$SECRET" ] ||
	die "--join needs the cluster secret (--cluster-secret-file FILE, from a member's data dir), or join with an invite (--join-token)"
[[ -z $TOKEN || $TOKEN =~ ^blx1\.[A-Za-z0-9_-]+$ ]] || die "--join-token: not an invite token (blx1.…)"
for v in "$NAME" "$API" "$RAFT" "$JOIN"; do
	[[ $v != *[\"\\$'\n']* ]] || die "'$v': quotes, backslashes and newlines are not allowed"
done
for d in "$PREFIX" "$CONFIG_DIR" "$DATA_DIR" "$RUN_DIR" "$LOG"; do
	[[ $d == /* ]] || die "'$d' must be an absolute path on the host"
done

# One SSH connection for every command and copy (ControlMaster).
CTL=$(mktemp -d /tmp/blixard-deploy-XXXXXX)
SSH_OPTS+=(-o BatchMode=yes -o ConnectTimeout=10 -o ControlMaster=auto
	-o "ControlPath=$CTL/cm" -o ControlPersist=60)
cleanup() {
	ssh "${SSH_OPTS[@]}" -O exit "$HOST" >/dev/null 2>&1 || true
	rm -rf "$CTL"
}
trap cleanup EXIT
on_host() { ssh "${SSH_OPTS[@]}" "$HOST" "$@"; }
q() { printf '%q' "$1"; }
# copy_to FILE PATH: through ssh itself (no scp: hosts need no SFTP server)
copy_to() { on_host "cat >$(q "$2")" <"$1"; }

t0=$(date +%s.%N)
echo "== $HOST: connecting"
conn=$(on_host 'echo "$SSH_CONNECTION"; uname -m; hostname; [ -e /etc/NIXOS ] && echo nixos || echo other') ||
	die "cannot reach '$HOST' over SSH (ssh ${SSH_OPTS[*]} $HOST)"
{
	read -r _ _ ADDR _
	read -r ARCH
	read -r HOSTNAME
	read -r KIND
} <<<"$conn"
[ -n "$NAME" ] || NAME=$HOSTNAME
[ -n "$API" ] || API=$ADDR:7000
[ -n "$RAFT" ] || RAFT=$ADDR:7001
SOCK=$RUN_DIR/blixard.sock

if [ "$KIND" = nixos ]; then
	command -v nixos-rebuild >/dev/null ||
		die "$HOST runs NixOS: deploying it takes nixos-rebuild here (nix on this machine)"
	echo "== $HOST: NixOS, nixos-rebuild switch --flake $FLAKE#$NAME"
	NIX_SSHOPTS="${SSH_OPTS[*]}" nixos-rebuild switch --flake "$FLAKE#$NAME" --target-host "$HOST"
	BIN=blixard SOCK=/run/blixard/blixard.sock
else
	[ "$ARCH" = "$(uname -m)" ] || die "$HOST is $ARCH, this machine $(uname -m): build there"
	if [ -z "$BINARY" ]; then
		BINARY=$ROOT/build/blixard
		[ -x "$BINARY" ] || make -C "$ROOT" -j"$(nproc)" build/blixard >/dev/null
	fi
	[ -x "$BINARY" ] || die "no binary at '$BINARY'"
	if [ "$INSTALL_DEPS" = 1 ]; then
		echo "== $HOST: installing the runtime packages"
		copy_to "$ROOT/scripts/install-deps.sh" /tmp/blixard-install-deps.sh
		on_host 'bash /tmp/blixard-install-deps.sh --runtime; rc=$?; rm -f /tmp/blixard-install-deps.sh; exit $rc' ||
			die "installing the runtime packages on $HOST failed"
	fi

	BIN=$PREFIX/bin/blixard
	echo "== $HOST: copying $(basename "$BINARY") to $BIN"
	on_host "mkdir -p $(q "$PREFIX/bin") $(q "$PREFIX/share/man/man1") $(q "$CONFIG_DIR") && mkdir -p -m 0700 $(q "$DATA_DIR") $(q "$RUN_DIR")"
	copy_to "$BINARY" "$BIN.new"
	on_host "chmod 0755 $(q "$BIN.new")"
	# the new binary must run there before it replaces anything
	if ! on_host "$(q "$BIN.new") version" >/dev/null 2>&1; then
		missing=$(on_host "ldd $(q "$BIN.new") 2>&1 | grep 'not found' || true")
		on_host "rm -f $(q "$BIN.new")"
		die "the binary does not run on $HOST${missing:+; missing libraries:
$missing
(--install-deps installs them)}"
	fi
	copy_to "$ROOT/docs/blixard.1" "$PREFIX/share/man/man1/blixard.1"

	conf=$CTL/blixard.toml
	{
		echo "# $CONFIG_DIR/blixard.toml - written by scripts/deploy_node.sh, $(date -u +%FT%TZ)"
		echo "name = \"$NAME\""
		echo "data_dir = \"$DATA_DIR\""
		echo "api = \"$API\""
		echo "raft = \"$RAFT\""
		echo "socket = \"$SOCK\""
		if [ "$BOOTSTRAP" = 1 ]; then echo "bootstrap = true"; fi
		if [ -n "$JOIN" ]; then echo "join = \"$JOIN\""; fi
		if [ -n "$TOKEN" ]; then echo "join_token = \"$TOKEN\""; fi
		if [ -n "$SECRET" ]; then echo "cluster_secret_file = \"$CONFIG_DIR/cluster.secret\""; fi
		for kv in "${EXTRA[@]+"${EXTRA[@]}"}"; do echo "$kv"; done
	} >"$conf"
	"$BINARY" validate --config "$conf" >/dev/null || die "the config for $HOST is not valid (see above)"
	copy_to "$conf" "$CONFIG_DIR/blixard.toml.new"
	on_host "chmod 0600 $(q "$CONFIG_DIR/blixard.toml.new") && mv $(q "$CONFIG_DIR/blixard.toml.new") $(q "$CONFIG_DIR/blixard.toml")"
	if [ -n "$SECRET" ]; then
		on_host "umask 077 && cat >$(q "$CONFIG_DIR/cluster.secret.new")" <"$SECRET"
		on_host "chmod 0600 $(q "$CONFIG_DIR/cluster.secret.new") && mv $(q "$CONFIG_DIR/cluster.secret.new") $(q "$CONFIG_DIR/cluster.secret")"
	fi

	if [ "$SYSTEMD" = 1 ]; then
		echo "== $HOST: installing and (re)starting blixard.service"
		sed -e "s#@BINDIR@#$PREFIX/bin#g" -e "s#@SYSCONFDIR@/blixard#$CONFIG_DIR#g" \
			"$ROOT/dist/blixard.service.in" >"$CTL/blixard.service"
		copy_to "$CTL/blixard.service" /etc/systemd/system/blixard.service
		on_host "mv $(q "$BIN.new") $(q "$BIN") && systemctl daemon-reload && systemctl enable blixard.service && systemctl restart blixard.service" ||
			die "systemctl on $HOST failed (no systemd there? try --no-systemd)"
	else
		echo "== $HOST: (re)starting the daemon (no systemd)"
		pidf=$RUN_DIR/blixard.pid
		# Stop the running daemon (SIGTERM: it hands over leadership and closes
		# cleanly; its services keep running and the new one adopts them),
		# then start the new binary detached from this SSH session.
		on_host "set -e
			if [ -f $(q "$pidf") ] && kill -0 \$(cat $(q "$pidf")) 2>/dev/null; then
				pid=\$(cat $(q "$pidf")); kill -TERM \$pid
				for i in \$(seq 1 300); do kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
				if kill -0 \$pid 2>/dev/null; then echo 'the old daemon did not stop in 30 s' >&2; exit 1; fi
			fi
			mv $(q "$BIN.new") $(q "$BIN")
			mkdir -p \$(dirname $(q "$LOG"))
			setsid $(q "$BIN") daemon --config $(q "$CONFIG_DIR/blixard.toml") >>$(q "$LOG") 2>&1 </dev/null &
			echo \$! >$(q "$pidf")" ||
			die "starting the daemon on $HOST failed"
	fi
fi

# Wait until the node, asked on its host through its socket, has a leader and
# is itself a member (a joining node is a spare, then a voter or standby).
echo "== $HOST: waiting for $NAME to be a member of its cluster (up to $TIMEOUT s)"
deadline=$((SECONDS + TIMEOUT))
while :; do
	st=$(on_host "$(q "$BIN") --socket $(q "$SOCK") --json status 2>/dev/null" 2>/dev/null || true)
	role=$(jq -r '.cluster as $c | if $c.leader == null then empty else
		($c.members[] | select(.id == $c.node_id) | .role) end' <<<"$st" 2>/dev/null || true)
	if [ -n "$role" ]; then
		id=$(jq -r .cluster.node_id <<<"$st")
		leader=$(jq -r .cluster.leader.id <<<"$st")
		break
	fi
	if [ $SECONDS -ge "$deadline" ]; then
		echo "deploy_node.sh: $NAME on $HOST is not a member after $TIMEOUT s; the end of its log:" >&2
		if [ "$SYSTEMD" = 1 ] && [ "$KIND" != nixos ]; then
			on_host "journalctl -u blixard.service -n 20 --no-pager" >&2 || true
		else
			on_host "tail -n 20 $(q "$LOG")" >&2 || true
		fi
		exit 1
	fi
	sleep 0.3
done
t1=$(date +%s.%N)
printf "deployed %s to %s: node %s, %s, leader %s, in %.1f s\n" "$NAME" "$HOST" "$id" "$role" \
	"$leader" "$(awk "BEGIN { print $t1 - $t0 }")"
