#!/usr/bin/env bash
# Bad input changes nothing: bad JSON, unknown fields, invalid names, invalid
# specs, oversized bodies, unknown routes and methods, and writes without a
# leader. Each gets the specified status and a JSON {"error": ...}.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
expect() { # name expected-status method path [body]
	local name=$1 want=$2
	shift 2
	local out
	out=$(bx_curl 1 "$@")
	local got
	got=$(status_of "$out")
	if [ "$got" = "$want" ] && body_of "$out" | jq -e '.error | type == "string" and length > 0' >/dev/null; then
		bx_check "$name -> $want with an error message" true
	else
		echo "    got $got: $(body_of "$out" | head -c 300)"
		bx_check "$name -> $want with an error message" false
	fi
}
fingerprint() { curl -s -m 5 "http://$(bx_addr 1)/v1/services" | jq -cS .; }

bx_start_node 1 --bootstrap
bx_start_node 2 --join "$(bx_addr 1)"
bx_start_node 3 --join "$(bx_addr 1)"
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
good='{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/sleep","3600"]}},"start":false}'
out=$(bx_curl 1 PUT /v1/services/web "$good")
bx_check "a good PUT is accepted" [ "$(status_of "$out")" = 200 ]
before=$(fingerprint)

expect "malformed JSON" 400 PUT /v1/services/web '{"spec": {'
expect "body not an object" 400 PUT /v1/services/web '[1,2]'
expect "unknown top-level field" 400 PUT /v1/services/web '{"spec":{},"strat":true}'
expect "unknown spec key" 400 PUT /v1/services/web '{"spec":{"service":{"driver":"process","memroy_mb":5},"process":{"command":["/bin/true"]}}}'
expect "spec value out of range" 400 PUT /v1/services/web '{"spec":{"service":{"driver":"process","vcpus":0},"process":{"command":["/bin/true"]}}}'
expect "spec name differs from URL" 400 PUT /v1/services/web '{"spec":{"service":{"name":"other","driver":"process"},"process":{"command":["/bin/true"]}}}'
expect "uppercase name" 400 PUT /v1/services/Web "$good"
expect "name with underscore" 400 PUT /v1/services/my_svc "$good"
expect "name of 64 characters" 400 PUT "/v1/services/$(printf 'a%.0s' $(seq 64))" "$good"
expect "name starting with -" 400 PUT /v1/services/-web "$good"
{ printf '{"spec":"'; head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a'; printf '"}'; } >"$BX_TMP/big.json"
out=$(curl -s -m 30 -X PUT -H 'Content-Type: application/json' --data-binary "@$BX_TMP/big.json" \
	-w '\n%{http_code}' "http://$(bx_addr 1)/v1/services/web")
bx_check "body over 1 MiB -> 413" [ "$(status_of "$out")" = 413 ]
expect "unknown route" 404 GET /v1/nope
expect "wrong method" 405 PATCH /v1/services/web '{}'
expect "unknown service" 404 GET /v1/services/ghost
expect "start of unknown service" 404 POST /v1/services/ghost/start
expect "join with a bad body" 400 POST /v1/cluster/join '{"id":"x"}'
expect "remove of unknown node" 404 DELETE /v1/nodes/999
bx_check "state unchanged by all of the above" [ "$(fingerprint)" = "$before" ]

# writes with no leader: stop two of three nodes
leader=$(bx_leader_of 1)
keep=1
for n in 1 2 3; do [ "$n" != "$keep" ] && bx_kill_node "$n" 9; done
no_leader() { [ -z "$(bx_leader_of 1)" ]; }
bx_wait 10 "leader lost" no_leader >/dev/null
expect "write without a leader" 503 PUT /v1/services/web2 "$good"
bx_check "reads still work without a leader" [ "$(status_of "$(bx_curl 1 GET /v1/services)")" = 200 ]
out=$("$BX_BIN" --addr 127.0.0.1:1 list 2>&1)
rc=$?
one_clear_line() { [ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "cannot reach" <<<"$out"; }
bx_check "CLI with unreachable daemon: one clear line, exit 1" one_clear_line
bx_finish
