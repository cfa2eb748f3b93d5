#!/usr/bin/env bash
# Every verb through any node's local socket, with no token (issue 30, item 1):
# 'logs' and 'status' need what only the node running the instance knows (its
# console, its VM); the daemon asked passes the request there with the
# cluster's credentials and relays the answer. A passed request is not passed
# again, and a node that does not answer is said so.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

# the CLI as root on node N's host: its local socket, no token anywhere
on_socket() {
	local n=$1
	shift
	env -u BLIXARD_TOKEN -u CURL_HOME "$BX_BIN" --socket "$(bx_dir "$n")/api.sock" "$@"
}

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
bx_start_node 2 --join "$(bx_addr 1)"
bx_start_node 3 --join "$(bx_addr 1)"
members() { [ "$(bx_curl 1 GET /v1/cluster | sed '$d' | jq '.members | length')" = 3 ]; }
bx_wait 30 "three members" members >/dev/null

cat >"$BX_TMP/ticker.toml" <<'EOF'
[service]
name = "ticker"
driver = "process"
[process]
command = ["/bin/sh", "-c", "while true; do echo tick-tock; sleep 0.2; done"]
EOF
bx_check "a service started through node 1's socket, no token" \
	on_socket 1 start "$BX_TMP/ticker.toml" --timeout 60
node=$(bx_curl 1 GET /v1/services/ticker | sed '$d' | jq -r .node)
bx_check "it runs on a node" [ "$node" -ge 1 ]
others=()
for n in 1 2 3; do [ "$n" = "$node" ] || others+=("$n"); done

has_ticks() { on_socket "$1" logs ticker -n 5 >"$BX_TMP/logs.$1" 2>&1 && grep -q tick-tock "$BX_TMP/logs.$1"; }
for n in 1 2 3; do
	bx_wait 10 "node $n's logs" has_ticks "$n" >/dev/null
	bx_check "'logs' through node $n's socket (it runs on node $node)" has_ticks "$n"
done
phase_on() { [ "$(on_socket "$1" --json status ticker | jq -r '.instance.phase')" = running ]; }
for n in "${others[@]}"; do
	bx_check "'status' through node $n's socket shows the instance node $node runs" phase_on "$n"
done
follow_on() { # logs -f through another node: two reads, the second from where the first ended
	timeout 2 env -u BLIXARD_TOKEN -u CURL_HOME "$BX_BIN" --socket "$(bx_dir "${others[0]}")/api.sock" \
		logs -f -n 1 ticker >"$BX_TMP/follow" 2>&1
	[ "$(grep -c tick-tock "$BX_TMP/follow")" -ge 3 ]
}
bx_check "'logs -f' through another node's socket keeps printing" follow_on

out=$(bx_curl "${others[0]}" GET "/v1/services/ticker/logs?n=1&proxied=1")
bx_check "a request passed once is answered where it lands, not passed again" \
	[ "$(tail -n 1 <<<"$out")" = 404 ]
out=$(on_socket "${others[0]}" logs ghost 2>&1)
bx_check "logs of no such service: 'no service named'" grep -q "no service named 'ghost'" <<<"$out"

# the node running it goes away: the answer says which node did not answer
kill -STOP "${BX_PIDS[$node]}"
out=$(on_socket "${others[0]}" logs ticker 2>&1)
rc=$?
bx_check "the node running it does not answer: exit 1, saying which node" \
	bash -c "[ $rc = 1 ] && grep -q 'node $node, which runs it, did not answer' <<<'$out'"
kill -CONT "${BX_PIDS[$node]}"

bx_finish
