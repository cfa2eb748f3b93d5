#!/usr/bin/env bash
# Authentication on a real cluster: the TCP API without a token (401), with an
# unknown or revoked one (401), with a read token writing (403); a raw client
# on the Raft port without the secret; nodes that try to join without an
# invite or with another cluster's secret; a data dir whose secret is gone or
# disagrees. Each is refused with a clear reason, counted
# (blixard_auth_failures_total), and the cluster keeps working.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup
bx_start_cluster 3
bx_check "3 nodes with a shared secret form a cluster" bx_node_count_is 3

# curl -q: without the test's .curlrc, so without the cluster token
raw() { # N METHOD PATH [CURL ARGS...]: body, then the status on the last line
	local n=$1 m=$2 p=$3
	shift 3
	curl -q -s -m 10 -X "$m" -w '\n%{http_code}' "$@" "http://$(bx_addr "$n")$p"
}
status_is() { [ "$(tail -n 1 <<<"$1")" = "$2" ]; } # REPLY STATUS
says() { head -n -1 <<<"$1" | jq -r .error | grep -q -- "$2"; } # REPLY TEXT
failures() { # N LISTENER REASON
	curl -s "http://$(bx_addr "$1")/metrics" |
		awk -v l="listener=\"$2\",reason=\"$3\"" 'index($0, l) && !/^#/ {print $2}'
}
spec='{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/sleep","600"]}},"start":false}'
sock1=(--socket "$(bx_dir 1)/api.sock")

# --- the TCP API without a token ------------------------------------------------------
r=$(raw 1 GET /v1/services)
bx_check "GET without a token: 401" status_is "$r" 401
bx_check "... saying a token is needed" says "$r" "Authorization: Bearer TOKEN"
r=$(raw 2 PUT /v1/services/nope -H 'Content-Type: application/json' --data-binary "$spec")
bx_check "PUT without a token on a follower: 401" status_is "$r" 401
bx_check "... and nothing is created" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$(bx_addr 1)/v1/services/nope)\" = 404 ]"
bx_check "... counted on each node" bash -c "[ '$(failures 1 api missing_token)' -ge 1 ] && [ '$(failures 2 api missing_token)' -ge 1 ]"
r=$(raw 1 GET /v1/health)
bx_check "GET /v1/health needs no token" status_is "$r" 200
r=$(raw 1 GET /v1/services -H 'Authorization: Bearer bxt1.0000000000000000.nope')
bx_check "an unknown token: 401" status_is "$r" 401
r=$(raw 1 GET /v1/services -H "Authorization: Basic $(printf root:x | base64)")
bx_check "... and a non-Bearer one" status_is "$r" 401
bx_check "... counted as invalid" bash -c "[ '$(failures 1 api invalid_token)' -ge 2 ]"
bx_check "the local socket needs no token" \
	bash -c "curl -q -s --unix-socket '$(bx_dir 1)/api.sock' http://x/v1/services | jq -e 'type == \"array\"' >/dev/null"

# --- tokens with roles ------------------------------------------------------------------
read_tok=$(BLIXARD_TOKEN= "$BX_BIN" "${sock1[@]}" --json token create --role read --name ci-read | jq -r .token)
admin_tok=$(BLIXARD_TOKEN= "$BX_BIN" "${sock1[@]}" --json token create --role admin --name ci-admin |
	jq -r .token)
bx_check "tokens are made on the local socket" bash -c "[[ '$read_tok' == bxt1.* && '$admin_tok' == bxt1.* ]]"
# a follower knows a token once it has applied the entry (up to a heartbeat later)
known_on() { status_is "$(raw "$1" GET /v1/services -H "Authorization: Bearer $2")" 200; } # N TOKEN
bx_check "a read token reads (on a follower: tokens are replicated)" \
	bx_wait 5 "the read token on node 2" known_on 2 "$read_tok"
followers_know() { known_on 2 "$1" && known_on 3 "$1"; } # TOKEN
bx_check "... and so does the admin token, on both followers" \
	bx_wait 5 "the admin token on nodes 2 and 3" followers_know "$admin_tok"
forbidden_before=$(failures 2 api forbidden)
r=$(raw 2 PUT /v1/services/web -H "Authorization: Bearer $read_tok" \
	-H 'Content-Type: application/json' --data-binary "$spec")
bx_check "a read token writing: 403" status_is "$r" 403
bx_check "... saying its role may not" says "$r" "read role may not PUT /v1/services/web"
bx_check "... nothing is created" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$(bx_addr 1)/v1/services/web)\" = 404 ]"
bx_check "... counted as forbidden" bash -c "[ '$(failures 2 api forbidden)' -gt '$forbidden_before' ]"
r=$(raw 1 GET /v1/tokens -H "Authorization: Bearer $read_tok")
bx_check "a read token may not list tokens: 403" status_is "$r" 403
r=$(raw 1 POST /v1/internal/command -H "Authorization: Bearer $admin_tok" --data-binary '{}')
bx_check "an admin token may not use /v1/internal/: 403" status_is "$r" 403
r=$(raw 2 PUT /v1/services/web -H "Authorization: Bearer $admin_tok" \
	-H 'Content-Type: application/json' --data-binary "$spec")
bx_check "an admin token writes through a follower (forwarded with the cluster's token)" status_is "$r" 200
web_on_3() { [ "$(curl -s "http://$(bx_addr 3)/v1/services/web" | jq -r .name)" = web ]; }
bx_check "... and the service exists" bx_wait 10 "web on node 3" web_on_3
bx_check "the CLI sends --token" \
	bash -c "BLIXARD_TOKEN= '$BX_BIN' --addr $(bx_addr 3) --token '$read_tok' list | grep -q web"
bx_check "the CLI without a token says what is missing" \
	bash -c "! BLIXARD_TOKEN= '$BX_BIN' --addr $(bx_addr 3) list 2>'$BX_TMP/cli.err' && grep -q 'token' '$BX_TMP/cli.err'"
read_id=$(cut -d. -f2 <<<"$read_tok")
BLIXARD_TOKEN= "$BX_BIN" "${sock1[@]}" token revoke "$read_id" >/dev/null 2>&1
revoked() { status_is "$(raw 3 GET /v1/services -H "Authorization: Bearer $read_tok")" 401; }
bx_check "a revoked token: 401 on every node" bx_wait 10 "revoked on node 3" revoked

# --- Raft without the secret ----------------------------------------------------------
raft1=$(bx_ip 1):$(bx_raft_port 1)
before=$(failures 1 raft handshake_in)
python3 - "$(bx_ip 1)" "$(bx_raft_port 1)" >"$BX_TMP/raw.out" 2>&1 <<'PY'
import os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
# speaks the handshake, but cannot prove the secret: a made-up MAC
s = socket.create_connection((host, port), timeout=5)
s.sendall(b"BXR1" + os.urandom(16))
hello = b""
while len(hello) < 52:
    chunk = s.recv(52 - len(hello))
    if not chunk:
        break
    hello += chunk
addr = b"127.0.0.1:1"
s.sendall(os.urandom(32) + (9).to_bytes(8, "little") + len(addr).to_bytes(2, "little") + addr)
rest = s.recv(16)
print("hello", len(hello), "then", rest.hex() or "closed")
# and something else entirely
t = socket.create_connection((host, port), timeout=5)
t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    got = t.recv(64).hex()
except ConnectionResetError:  # closed with our bytes unread
    got = ""
print("http", got or "closed")
PY
bx_check "a raw client is shown the challenge, then dropped without acceptance" \
	grep -qx "hello 52 then closed" "$BX_TMP/raw.out"
bx_check "... an HTTP client too" grep -qx "http closed" "$BX_TMP/raw.out"
bx_check "... both counted" bash -c "[ \$(( \$(curl -s http://$(bx_addr 1)/metrics | awk '/reason=\"handshake_in\"/ {print \$2}') - $before )) -ge 2 ]"
r=$(raw 1 PUT /v1/services/web2 -H "Authorization: Bearer $admin_tok" \
	-H 'Content-Type: application/json' --data-binary "$spec")
bx_check "the cluster keeps working" status_is "$r" 200
bx_check "... with the same leader" bash -c "[ \"\$(bx_leader_of 1)\" = \"\$(bx_leader_of 3)\" ]"

# --- joining without an invite ------------------------------------------------------------
exits_saying() { # N TEXT DAEMON-FLAGS...: daemon N exits 1 at once, its log saying TEXT
	local n=$1 text=$2 rc
	shift 2
	mkdir -p "$(bx_dir "$n")"
	timeout 30 "$BX_BIN" daemon --node-id "$n" --data-dir "$(bx_dir "$n")/data" \
		--api "$(bx_addr "$n")" --raft "$(bx_ip "$n"):$(bx_raft_port "$n")" \
		--socket "$(bx_dir "$n")/api.sock" "$@" >"$(bx_dir "$n")/log" 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -q -- "$text" "$(bx_dir "$n")/log" ||
		{ echo "exit $rc; log:"; cat "$(bx_dir "$n")/log"; return 1; }
}
bx_check "--join without an invite or the secret: refused at start" \
	exits_saying 4 "joining needs an invite or the cluster secret" --join "$(bx_addr 1)"
(umask 077 && echo "another-clusters-secret-0123456789" >"$BX_TMP/other.secret")
bx_check "--join with another cluster's secret: refused by the cluster" \
	exits_saying 5 "refused" --join "$(bx_addr 1)" --cluster-secret-file "$BX_TMP/other.secret"
bx_check "... which is unchanged" bx_node_count_is 3
chmod 644 "$BX_TMP/other.secret"
bx_check "a secret file others may read: refused" \
	exits_saying 6 "chmod 600" --bootstrap --cluster-secret-file "$BX_TMP/other.secret"
bx_check "discovery without the secret: refused at start" \
	exits_saying 7 "discovery needs the cluster secret" --peers "$(bx_addr 1)"

# --- the secret in the data dir -------------------------------------------------------------
bx_kill_node 3 TERM
chmod 600 "$BX_TMP/other.secret"
bx_check "a node whose data dir has another secret than its --cluster-secret-file: refused" \
	exits_saying 3 "another cluster secret" --cluster-secret-file "$BX_TMP/other.secret"
mv "$(bx_dir 3)/data/cluster.secret" "$BX_TMP/n3.secret"
bx_check "a node with Raft state and no secret: refused, saying what to do" \
	exits_saying 3 "copy it from another member" --election-ms 500
mv "$BX_TMP/n3.secret" "$(bx_dir 3)/data/cluster.secret"
bx_start_node 3
bx_check "with its secret back it rejoins" bx_wait 20 "node 3 sees the leader" bx_has_leader 3
bx_finish
