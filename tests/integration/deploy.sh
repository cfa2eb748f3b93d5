#!/usr/bin/env bash
# scripts/deploy_node.sh against a real SSH server: host 1 (a network
# namespace) runs a one-node cluster; host 2 runs Debian's sshd with a test
# key and nothing else. deploy_node.sh --no-systemd copies the binary, man
# page and a config there, starts the daemon, and returns once the node is a
# member: checked from the cluster's side, with the time it took (the issue's
# figure). A second deploy upgrades in place (same node id, a new daemon
# process); another joins with an invite token; an unreachable host, a binary that cannot run there and bad
# options fail with a clear message and change nothing.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hosts.sh"
bx_setup
DEPLOY=$BX_ROOT/scripts/deploy_node.sh

bx_hosts_setup 3 # host 3 stays empty: nothing answers SSH there
bx_start_node 1 --bootstrap --name h1
bx_wait 15 "leader" bx_has_leader 1 >/dev/null

# --- an SSH server on host 2, a key for root -----------------------------------
S=$BX_TMP/sshd
mkdir -p "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$BX_TMP/key"
cp "$BX_TMP/key.pub" "$S/authorized_keys"
cat >"$S/sshd_config" <<EOF
ListenAddress $BX_HOST_NET.2:22
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $S/sshd.pid
EOF
if [ ! -d /run/sshd ]; then # sshd's privilege separation directory
	mkdir -p -m 0755 /run/sshd
	rm_privsep() { rmdir /run/sshd 2>/dev/null; }
	BX_AT_EXIT+=(rm_privsep)
fi
bx_host_exec 2 /usr/sbin/sshd -f "$S/sshd_config" -D -e 2>"$S/log" &
SSH=(-i "$BX_TMP/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
ssh_up() { ssh "${SSH[@]}" -o BatchMode=yes "root@$BX_HOST_NET.2" true 2>/dev/null; }
bx_check "sshd answers on host 2" bx_wait 15 "sshd" ssh_up

H=$BX_TMP/h2 # host 2's files: the netns shares this machine's file system
where=(--prefix "$H/usr" --config-dir "$H/etc" --data-dir "$H/data" --run-dir "$H/run" --log "$H/log"
	--set 'labels = ["host=h2"]')
deploy() { "$DEPLOY" "${SSH[@]}" --binary "$BX_BIN" --timeout 60 "$@"; }

# --- the first deploy: the node joins -------------------------------------------
bx_check "deploy_node.sh --no-systemd --join succeeds" \
	deploy "root@$BX_HOST_NET.2" --no-systemd --name h2 --join "$BX_HOST_NET.1:7000" --cluster-secret-file "$BX_SECRET_FILE" "${where[@]}" \
	>"$BX_TMP/deploy1.out" 2>&1
cat "$BX_TMP/deploy1.out"
secs=$(sed -n 's/^deployed .* in \([0-9.]*\) s$/\1/p' "$BX_TMP/deploy1.out")
echo "figure: new host deployed -> member of the cluster in ${secs:-?} s"
bx_check "it says how long it took" [ -n "$secs" ]
nodes_of_1() { curl -s -m 2 "http://$(bx_addr 1)/v1/nodes"; }
h2_is() { [ "$(nodes_of_1 | jq -r '.[] | select(.name == "h2") | .'"$1")" = "$2" ]; }
bx_check "the cluster has h2 as a member at its address" h2_is api "$BX_HOST_NET.2:7000"
bx_check "h2 becomes a voter" bx_wait 20 "h2 voter" h2_is role voter
bx_check "h2 is up" bx_wait 10 "h2 up" h2_is status up
bx_check "the binary is installed" cmp -s "$BX_BIN" "$H/usr/bin/blixard"
bx_check "the man page is installed" [ -s "$H/usr/share/man/man1/blixard.1" ]
bx_check "the config names the join address" grep -qx "join = \"$BX_HOST_NET.1:7000\"" "$H/etc/blixard.toml"
bx_check "... and is mode 0600" [ "$(stat -c %a "$H/etc/blixard.toml")" = 600 ]
pid1=$(cat "$H/run/blixard.pid" 2>/dev/null)
in_host2() { ip netns identify "$1" 2>/dev/null | grep -qx "$(bx_host_ns 2)"; }
bx_check "the daemon runs in host 2" in_host2 "$pid1"
id1=$(nodes_of_1 | jq -r '.[] | select(.name == "h2") | .id')

# --- a service for the new node's label (--set) runs there ------------------------
on_h2='{"spec":{"service":{"driver":"process"},"process":{"command":["sleep","600"]},"placement":{"constraints":["host=h2"]}},"start":true}'
bx_check "a service for label host=h2 is put" \
	bash -c "curl -s -m 5 -X PUT -d '$on_h2' http://$(bx_addr 1)/v1/services/onh2 | grep -q onh2"
bx_check "... runs on h2" bx_wait 20 "onh2 running" bx_is onh2 state running
bx_check "... h2 being the node" bx_is onh2 node "$id1"
svc_pid=$(bx_field onh2 pid)
bx_check "... in host 2" in_host2 "$svc_pid"

# --- deploy again: an upgrade in place --------------------------------------------
bx_check "deploying again succeeds" \
	deploy "root@$BX_HOST_NET.2" --no-systemd --name h2 --join "$BX_HOST_NET.1:7000" --cluster-secret-file "$BX_SECRET_FILE" "${where[@]}" \
	>"$BX_TMP/deploy2.out" 2>&1
pid2=$(cat "$H/run/blixard.pid" 2>/dev/null)
new_pid() { [ -n "$pid1" ] && [ -n "$pid2" ] && [ "$pid2" != "$pid1" ]; }
same_id() { [ -n "$id1" ] && h2_is id "$id1"; }
bx_check "... with a new daemon process" new_pid
bx_check "... the old one gone" bash -c "[ -n '$pid1' ] && ! kill -0 '$pid1' 2>/dev/null"
bx_check "... the same node id" same_id
adopted() { bx_is onh2 state running && bx_is onh2 restarts 0 && bx_is onh2 pid "$svc_pid"; }
bx_check "... its service adopted: the same process, not restarted" adopted
bx_check "... still a member, two nodes" bx_wait 10 "2 nodes" bx_node_count_is 2
bx_check "... and it says so" grep -q "^deployed h2 to root@$BX_HOST_NET.2: node $id1, voter" "$BX_TMP/deploy2.out"

# --- with an invite: a second node on host 2, its own ports and directories ------------
# (the upgrade restarted one of two voters: wait for the leader again)
bx_wait 20 "leader" bx_has_leader 1 >/dev/null
tok=$(bx_cli 1 invite create --ttl 10m 2>/dev/null)
bx_check "an invite is made" bash -c "[[ '$tok' == blx1.* ]]"
H3=$BX_TMP/h2b
bx_check "deploy_node.sh --join-token succeeds" \
	deploy "root@$BX_HOST_NET.2" --no-systemd --name h2b --join-token "$tok" \
	--api "$BX_HOST_NET.2:7100" --raft "$BX_HOST_NET.2:7101" --prefix "$H3/usr" \
	--config-dir "$H3/etc" --data-dir "$H3/data" --run-dir "$H3/run" --log "$H3/log" \
	>"$BX_TMP/deploy3.out" 2>&1
bx_check "... the node is a member: three nodes" bx_wait 10 "3 nodes" bx_node_count_is 3
bx_check "... its config carries the token" grep -qx "join_token = \"$tok\"" "$H3/etc/blixard.toml"
bx_check "... and the invite is used" \
	bash -c "curl -s http://$(bx_addr 1)/v1/invites | jq -e '.[0].used == 1' >/dev/null"
bx_check "--join with --join-token is refused" \
	bash -c "'$DEPLOY' --join x:1 --join-token blx1.abc host 2>&1 | grep -q 'not both'"

# --- failures: clear, and nothing changed ------------------------------------------
bx_check "an unreachable host fails" \
	bash -c "! '$DEPLOY' -i '$BX_TMP/key' -o ConnectTimeout=3 --no-systemd root@$BX_HOST_NET.3 >'$BX_TMP/f1' 2>&1"
bx_check "... saying it cannot reach it" grep -q "cannot reach 'root@$BX_HOST_NET.3' over SSH" "$BX_TMP/f1"
printf '#!/bin/sh\nexit 1\n' >"$BX_TMP/bad-blixard" && chmod +x "$BX_TMP/bad-blixard"
bad_deploy() {
	! "$DEPLOY" "${SSH[@]}" --binary "$BX_TMP/bad-blixard" --no-systemd --name h2 \
		--join "$BX_HOST_NET.1:7000" --cluster-secret-file "$BX_SECRET_FILE" "${where[@]}" \
		"root@$BX_HOST_NET.2" >"$BX_TMP/f2" 2>&1
}
bx_check "a binary that does not run there fails" bad_deploy
bx_check "... saying so" grep -q "the binary does not run on root@$BX_HOST_NET.2" "$BX_TMP/f2"
bx_check "... the installed binary untouched" cmp -s "$BX_BIN" "$H/usr/bin/blixard"
bx_check "... the daemon still the same" bash -c "kill -0 $pid2 && [ \"\$(cat '$H/run/blixard.pid')\" = $pid2 ]"
bx_check "--bootstrap with --join is refused" \
	bash -c "'$DEPLOY' --bootstrap --join x:1 host 2>&1 | grep -q 'not both'"
bx_check "--join without the cluster secret is refused" \
	bash -c "'$DEPLOY' --join x:1 host 2>&1 | grep -q 'needs the cluster secret'"
bx_check "an unknown option is refused" bash -c "'$DEPLOY' --frobnicate host 2>&1 | grep -q \"unknown option '--frobnicate'\""
bx_check "no host is refused" bash -c "'$DEPLOY' --no-systemd 2>&1 | grep -q 'a HOST to deploy to is required'"
bx_check "a relative path is refused" bash -c "'$DEPLOY' --prefix usr host 2>&1 | grep -q 'absolute path'"
bx_check "no control sockets or temp dirs left" bash -c "! ls -d /tmp/blixard-deploy-* 2>/dev/null"

bx_finish
