#!/usr/bin/env bash
# Discovery. Static: three daemons given the same --peers and
# --bootstrap-expect 3 form one cluster (exactly one bootstraps, all voters),
# and a fourth with --peers alone finds it and joins. Tailscale: hosts are
# network namespaces; each has a stand-in tailscaled (localapi_standin.py:
# the LocalAPI status document in the real format, served on a unix socket,
# reached through the daemon's libcurl path) naming the others by the
# addresses of their namespaces. Three tagged, online hosts with
# --bootstrap-expect 3 form a cluster while a tagged but offline host and an
# untagged one are left alone; the offline host comes online in the
# documents and joins; a host whose tailscaled is missing, then answers
# garbage, then is logged out, says so each time, keeps trying without
# crashing, and joins once it runs.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_hosts.sh"
bx_setup

bootstraps() { cat "$BX_TMP"/n*/log | grep -c "bootstrapped new cluster"; }
voters() { curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq '[.members[] | select(.role == "voter")] | length'; }
voters_are() { [ "$(voters "$1")" = "$2" ]; }
members_are() { [ "$(curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq '.members | length')" = "$2" ]; }
cluster_of() { curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq -r .cluster_id; }
same_cluster() { # N...: every node names the same, non-empty, cluster
	local first c
	first=$(cluster_of "$1")
	[ -n "$first" ] || return 1
	for n in "$@"; do
		c=$(cluster_of "$n")
		[ "$c" = "$first" ] || return 1
	done
}
logs() { grep -q "$2" "$(bx_dir "$1")/log"; } # N TEXT

# --- static peers, on loopback ----------------------------------------------------
peers="$(bx_addr 1),$(bx_addr 2),$(bx_addr 3)"
for n in 3 1 2; do
	bx_start_node "$n" --peers "$peers" --bootstrap-expect 3
done
bx_check "static: three nodes with --bootstrap-expect 3 elect a leader" bx_wait 20 "leader" bx_has_leader 2
bx_check "... all three voters" bx_wait 20 "3 voters" voters_are 1 3
bx_check "... in one cluster" same_cluster 1 2 3
bx_check "... exactly one of them bootstrapped" [ "$(bootstraps)" = 1 ]
bx_check "... the one with the lowest id" logs 1 "this node has the lowest id: bootstrapping"
bx_start_node 4 --peers "$peers"
bx_check "static: a fourth node with --peers only joins" bx_wait 20 "4 members" members_are 1 4
bx_check "... the same cluster" bx_wait 10 "node 4's cluster" same_cluster 1 4
bx_check "... saying where it found it" logs 4 "found a cluster at"
for n in 1 2 3 4; do bx_kill_node "$n"; done

# --- Tailscale, with hosts as network namespaces ---------------------------------
bx_hosts_setup 6
TS=$BX_TMP/ts
mkdir -p "$TS"
# ts_doc FILE SELF STATE PEER...: a status document for host SELF; a PEER is I,
# I:offline or I:untagged; fields are those of the sample (tests/fixtures).
ts_doc() {
	local file=$1 self=$2 state=$3 peers="[]" p i how
	shift 3
	for p in "$@"; do
		i=${p%%:*}
		how=${p#"$i"}
		peers=$(jq -c --arg i "$i" --arg ip "$BX_HOST_NET.$i" --arg how "$how" \
			--slurpfile s "$BX_ROOT/tests/fixtures/tailscale-status.json" \
			'. + [{key: ("nodekey:" + $i),
			       value: ([$s[0].Peer[] | select(.HostName == "node-b")][0]
				+ {HostName: ("h" + $i), TailscaleIPs: [$ip, ("fd7a:115c::" + $i)],
				   Online: ($how != ":offline")}
				| if $how == ":untagged" then del(.Tags) else .Tags = ["tag:blixard"] end)}]' \
			<<<"$peers")
	done
	jq --arg s "$state" --arg ip "$BX_HOST_NET.$self" --arg h "h$self" --argjson p "$peers" \
		'.BackendState = $s | .Self.HostName = $h | .Self.TailscaleIPs = [$ip, "fd7a:115c::ff"]
		 | .Peer = ($p | from_entries)' \
		"$BX_ROOT/tests/fixtures/tailscale-status.json" >"$file.tmp" && mv "$file.tmp" "$file"
}
standin() { # N: host N's tailscaled stand-in, serving $TS/N.json on $TS/N.sock
	python3 "$BX_ROOT/tests/integration/localapi_standin.py" "$TS/$1.sock" "$TS/$1.json" &
	STANDINS+=($!)
}
STANDINS=()
stop_standins() { [ ${#STANDINS[@]} -eq 0 ] || kill "${STANDINS[@]}" 2>/dev/null; }
BX_AT_EXIT+=(stop_standins)
ts_node() { # N [flags]: node N discovering through host N's tailscaled
	local n=$1
	shift
	bx_start_node "$n" --discovery tailscale --tailscale-socket "$TS/$n.sock" "$@"
}
rm -rf "$BX_TMP"/n* # the static part's nodes and logs

# hosts 1-3 tagged and online; 4 tagged but offline; 5 online but untagged
for n in 1 2 3; do
	others=()
	for m in 1 2 3; do [ "$m" = "$n" ] || others+=("$m"); done
	ts_doc "$TS/$n.json" "$n" Running "${others[@]}" 4:offline 5:untagged
	standin "$n"
done
socket_up() { [ -S "$TS/$1.sock" ]; }
sockets_up() { socket_up 1 && socket_up 2 && socket_up 3; }
bx_check "the stand-in tailscaleds listen" bx_wait 10 "stand-ins" sockets_up
bx_check "the stand-in refuses a request without tailscaled's Host header" \
	bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --unix-socket '$TS/1.sock' http://x/localapi/v0/status)\" = 403 ]"
# the untagged host runs a daemon of its own: nobody may join it
bx_start_node 5 --bootstrap
for n in 2 3 1; do ts_node "$n" --bootstrap-expect 3; done
bx_check "tailscale: three tagged hosts with --bootstrap-expect 3 elect a leader" \
	bx_wait 20 "leader" bx_has_leader 1
bx_check "... all three voters" bx_wait 20 "3 voters" voters_are 1 3
not_fives() { same_cluster 1 2 3 && [ "$(cluster_of 1)" != "$(cluster_of 5)" ]; }
bx_check "... in one cluster, not the untagged host's" not_fives
bx_check "... exactly one bootstrapped it (and host 5 its own)" [ "$(bootstraps)" = 2 ]

# host 4 comes online: in everyone's document, and with a tailscaled of its own
for n in 1 2 3; do
	others=()
	for m in 1 2 3 4; do [ "$m" = "$n" ] || others+=("$m"); done
	ts_doc "$TS/$n.json" "$n" Running "${others[@]}" 5:untagged
done
ts_doc "$TS/4.json" 4 Running 1 2 3 5:untagged
standin 4
# it listens on every address: it advertises its Tailscale address
ts_node 4 --api 0.0.0.0:7000 --raft 0.0.0.0:7001
bx_check "tailscale: a host that comes online joins the cluster" bx_wait 20 "4 members" members_are 1 4
bx_check "... the same cluster" bx_wait 10 "node 4's cluster" same_cluster 1 4
advertised() { # listening on 0.0.0.0, node 4 is known by host 4's Tailscale address
	curl -s "http://$(bx_addr 1)/v1/cluster" | jq -e --arg ip "$(bx_ip 4)" \
		'.members[] | select(.name == "n4") | .api == ($ip + ":7000") and .raft == ($ip + ":7001")'
}
bx_check "... known by its Tailscale address, though it listens on 0.0.0.0" \
	bx_wait 10 "node 4's record" advertised
bx_check "... saying so" logs 4 "advertising API $(bx_ip 4):7000 and raft $(bx_ip 4):7001"
bx_check "... and reached there: it holds the cluster's log" \
	bx_wait 10 "node 4 applies" bash -c "curl -s http://$(bx_addr 4)/v1/cluster | jq -e '.leader.id'"
wildcard_refused() {
	local rc
	timeout 10 "$BX_BIN" daemon --data-dir "$BX_TMP/wild" --api 0.0.0.0:7999 \
		--raft 127.0.0.1:7998 --socket "" --bootstrap >"$BX_TMP/wild.log" 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -q "'0.0.0.0:7999' listens on every address" "$BX_TMP/wild.log"
}
bx_check "a wildcard address without Tailscale discovery is refused at start" wildcard_refused

# host 6: tailscaled missing, then logged out, then running
ts_node 6
bx_check "no tailscaled: the node says so" \
	bx_wait 10 "log" logs 6 "cannot reach tailscaled at $TS/6.sock (No such file or directory: is tailscaled running?)"
alive6() { kill -0 "${BX_PIDS[6]}" 2>/dev/null; }
bx_check "... and keeps running" alive6
echo '{"BackendState": 5, "Peer": []}' >"$TS/6.json"
standin 6
bx_check "a status it cannot read: the node says what is wrong" \
	bx_wait 20 "log" logs 6 "tailscaled's status is not understood: BackendState"
ts_doc "$TS/6.json" 6 NeedsLogin
bx_check "logged out: the node says so" \
	bx_wait 20 "log" logs 6 "tailscale is not running (state NeedsLogin)"
bx_check "... not a member" bash -c "! curl -s http://$(bx_addr 1)/v1/nodes | jq -e '.[] | select(.name == \"n6\")' >/dev/null"
bx_check "... and keeps running" alive6
ts_doc "$TS/6.json" 6 Running 1 2 3 4
bx_check "logged in: the node joins" bx_wait 40 "5 members" members_are 1 5
bx_check "... saying tailscaled answers" logs 6 "tailscaled answers"

bx_finish
