#!/usr/bin/env bash
# Invites on a real cluster: 'blixard invite create' prints a token; new
# daemons with --join-token join (through a follower too, and past a dead
# member the token names); the cluster enforces uses, expiry, revocation and
# the secret at apply: a refused node exits 1 saying why, and the cluster is
# unchanged. Damaged tokens are refused at start-up; bad CLI input is a usage
# error. A standby invite makes a node that stays a standby under every leader.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
members() { curl -s -m 2 "http://$(bx_addr 1)/v1/cluster" | jq '.members | length'; }
members_are() { [ "$(members)" = "$1" ]; }
invite() { bx_cli 1 invite "$@"; }
# refused N TOKEN TEXT: node N started with TOKEN exits 1, its log saying TEXT
refused() {
	local n=$1 token=$2 text=$3 rc
	rm -rf "$(bx_dir "$n")"
	bx_start_node "$n" --join-token "$token"
	if ! bx_wait 15 "node $n exits" bash -c "! kill -0 ${BX_PIDS[$n]} 2>/dev/null"; then
		bx_kill_node "$n" # not left running when the next start reuses N
		return 1
	fi
	wait "${BX_PIDS[$n]}"
	rc=$?
	unset "BX_PIDS[$n]"
	[ "$rc" = 1 ] && grep -q "$text" "$(bx_dir "$n")/log" ||
		{ echo "exit $rc; log:"; cat "$(bx_dir "$n")/log"; return 1; }
}
state_of() { invite list --json | jq -r --arg id "$1" '.[] | select(.id == $id) | .state'; }
token_json() { # TOKEN: the JSON inside
	local b=${1#blx1.}
	while [ $((${#b} % 4)) != 0 ]; do b="$b="; done
	tr -- '-_' '+/' <<<"$b" | base64 -d 2>/dev/null
}
id_of() { token_json "$1" | jq -r .i; }
retoken() { # TOKEN JQ: the token with its JSON changed by JQ
	echo "blx1.$(token_json "$1" | jq -c "$2" | base64 -w0 | tr -- '+/' '-_' | tr -d =)"
}

# --- a token for two nodes -------------------------------------------------------
tok=$(invite create --uses 2 --ttl 1h 2>"$BX_TMP/create.err")
bx_check "'invite create' prints a token" bash -c "[[ '$tok' == blx1.* ]]"
bx_check "... and says how to use it" grep -q -- "--join-token TOKEN" "$BX_TMP/create.err"
id=$(id_of "$tok")
names_cluster() {
	[ -n "$id" ] && [ "$(token_json "$tok" | jq -r .c)" = \
		"$(curl -s "http://$(bx_addr 1)/v1/cluster" | jq -r .cluster_id)" ] &&
		[ "$(token_json "$tok" | jq -c .m)" = "[\"$(bx_addr 1)\"]" ]
}
bx_check "the token names the invite, the cluster and the member" names_cluster
bx_check "the cluster keeps no secret: the list has no hash" \
	bash -c "! curl -s http://$(bx_addr 1)/v1/invites | grep -q secret"
bx_start_node 2 --join-token "$tok"
bx_check "a node joins with the token" bx_wait 15 "2 members" members_are 2
bx_check "... saying it joined" bx_wait 5 "log" grep -q "joined cluster" "$(bx_dir 2)/log"
bx_check "... given the cluster secret by the join's answer (it had none)" \
	cmp -s "$BX_SECRET_FILE" <(head -c 64 "$(bx_dir 2)/data/cluster.secret")
bx_check "... kept 0600" bash -c "[ \"\$(stat -c %a '$(bx_dir 2)/data/cluster.secret')\" = 600 ]"
refused_in_is() { # N COUNT: Raft handshakes node N refused
	[ "$(curl -s "http://$(bx_addr "$1")/metrics" | awk '/reason="handshake_in"/ {print $2}')" = "$2" ]
}
bx_check "... before the leader connected: no Raft connection to it was refused" \
	refused_in_is 2 0
bx_start_node 3 --join-token "$tok"
bx_check "a second node joins with it (2 uses)" bx_wait 15 "3 members" members_are 3
used_up() { [ "$(state_of "$id")" = "used up" ]; }
bx_check "'invite list' shows it used up" bx_wait 5 "used up" used_up
bx_check "... used by nodes 2 and 3" \
	bash -c "curl -s http://$(bx_addr 1)/v1/invites | jq -e '.[] | select(.id == \"$id\") | .used_by == [2, 3]' >/dev/null"
bx_check "a third node with it is refused, saying it is used up" refused 4 "$tok" "is used up (2 of 2 uses)"
bx_check "... and the cluster is unchanged" members_are 3

# --- revoked, expired, wrong secret ----------------------------------------------
rev=$(invite create 2>/dev/null)
bx_check "'invite revoke' succeeds" bash -c "'$BX_BIN' --addr $(bx_addr 2) invite revoke $(id_of "$rev") | grep -q revoked"
bx_check "a revoked token is refused" refused 4 "$rev" "was revoked"
short=$(invite create --ttl 1s 2>/dev/null)
expired() { [ "$(curl -s "http://$(bx_addr 1)/v1/invites" | jq -r --arg id "$(id_of "$short")" '.[] | select(.id == $id) | .state')" = expired ]; }
bx_wait 10 "expired" expired >/dev/null
bx_check "an expired token is refused, saying when it expired" refused 4 "$short" "expired at 20"
good=$(invite create 2>/dev/null)
forged=$(retoken "$good" '.s = ("0" * 64)')
bx_check "a token with another secret is refused" refused 4 "$forged" "wrong secret"
bx_check "... and the cluster is unchanged" members_are 3
bx_check "... and the invite is still unused" bash -c "curl -s http://$(bx_addr 1)/v1/invites | jq -e '.[] | select(.id == \"$(id_of "$good")\") | .used == 0' >/dev/null"

# --- through a follower, past a dead member ------------------------------------------
ftok=$(bx_cli 3 invite create 2>/dev/null)
bx_check "a follower makes a token too" bash -c "[[ '$ftok' == blx1.* ]]"
every_member() { [ "$(token_json "$ftok" | jq '.m | length')" = 3 ]; }
bx_check "... naming every member" every_member
detour=$(retoken "$ftok" ".m = [\"127.0.0.1:$((BX_BASE + 98))\"] + .m")
rm -rf "$(bx_dir 5)"
bx_start_node 5 --join-token "$detour"
bx_check "a node whose token's first member is gone joins through the next" \
	bx_wait 20 "4 members" members_are 4

# --- a standby invite: never a voter, whichever node leads ---------------------------
stok=$(invite create --role standby 2>"$BX_TMP/standby.err")
bx_check "a standby invite is made" grep -q "1 use(s) as standby" "$BX_TMP/standby.err"
rm -rf "$(bx_dir 6)"
bx_start_node 6 --join-token "$stok"
role_of_6() { curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq -r '.members[] | select(.id == 6) | .role'; }
is_standby() { [ "$(role_of_6 "$1")" = standby ]; }
bx_check "its node joins as a standby" bx_wait 15 "standby" is_standby 1
# 4 voters of max 5: a voter is wanted, yet it must stay a standby
stays_standby() { # N SECS: seen as a standby by node N throughout
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt "$end" ]; do
		is_standby "$1" || return 1
		sleep 0.2
	done
}
bx_check "... and stays one, though the cluster lacks a voter" stays_standby 1 3
bx_check "... its record says so" \
	bash -c "curl -s http://$(bx_addr 1)/v1/nodes | jq -e '.[] | select(.id == 6) | .standby == true' >/dev/null"
leader=$(bx_leader_of 1)
bx_kill_node "$leader"
other=2
[ "$leader" = 2 ] && other=3
bx_check "a new leader is elected" bx_wait 20 "new leader" bash -c \
	"l=\$(curl -s -m 2 http://$(bx_addr $other)/v1/cluster | jq -r '.leader.id // empty'); [ -n \"\$l\" ] && [ \"\$l\" != $leader ]"
bx_check "... which keeps it a standby too" stays_standby "$other" 4
bx_check "--role other is a usage error" \
	bash -c "'$BX_BIN' --addr $(bx_addr $other) invite create --role king 2>/dev/null; [ \$? = 2 ]"

# --- bad input --------------------------------------------------------------------
bx_check "a damaged token is refused at start-up" \
	bash -c "'$BX_BIN' daemon --data-dir '$BX_TMP/x' --join-token blx1.zzz 2>&1 | grep -q 'damaged invite token'"
bx_check "... as is one that is no token" \
	bash -c "'$BX_BIN' daemon --data-dir '$BX_TMP/x' --join-token hello 2>&1 | grep -q 'not a Blixard invite token'"
bx_check "... writing nothing" [ ! -e "$BX_TMP/x" ]
bx_check "--uses 0 is a usage error" bash -c "'$BX_BIN' --addr $(bx_addr $other) invite create --uses 0 2>/dev/null; [ \$? = 2 ]"
bx_check "--ttl nonsense is a usage error" bash -c "'$BX_BIN' --addr $(bx_addr $other) invite create --ttl soon 2>/dev/null; [ \$? = 2 ]"
bx_check "revoking an unknown invite: not found, exit 1" \
	bash -c "'$BX_BIN' --addr $(bx_addr $other) invite revoke abcdef 2>&1 | grep -q 'no invite abcdef'"
bx_check "the API refuses unknown fields" \
	bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{\"ttl_ms\":1000,\"colour\":1}' http://$(bx_addr $other)/v1/invites)\" = 400 ]"

bx_finish
