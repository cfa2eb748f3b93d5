#!/usr/bin/env bash
# Bytes that are not UTF-8 in names, keys and values, through every write
# route: each is refused (4xx) with an answer that is valid JSON text (UTF-8),
# and nothing changes. A body that is not UTF-8 is refused whole, naming the
# byte; a path that is not is named with '?' for each bad byte.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

BAD=$(printf '\xff\xfe') # never in UTF-8
SURR=$(printf '\xed\xa0\x80') # a surrogate: UTF-8 in form, not in fact

# send N METHOD PATH BODY-or-"": prints the body, then the status
send() {
	local n=$1 m=$2 p=$3
	if [ $# -ge 4 ] && [ -n "$4" ]; then
		printf '%s' "$4" >"$BX_TMP/body"
		curl -s -m 30 -X "$m" -H 'Content-Type: application/json' \
			--data-binary "@$BX_TMP/body" -w '\n%{http_code}' "http://$(bx_addr "$n")$p"
	else
		curl -s -m 30 -X "$m" -w '\n%{http_code}' "http://$(bx_addr "$n")$p"
	fi
}
json_text() { python3 -c 'import sys, json; json.loads(sys.stdin.buffer.read().decode("utf-8", "strict"))'; }
refused() { # name method path [body]
	local name=$1 out status
	shift
	out=$(send 1 "$@")
	status=$(tail -n 1 <<<"$out")
	if [[ $status == 4?? ]] && sed '$d' <<<"$out" | json_text 2>/dev/null &&
		sed '$d' <<<"$out" | jq -e '.error | length > 0' >/dev/null; then
		bx_check "$name: $status, the answer valid JSON" true
	else
		echo "    got $status: $(sed '$d' <<<"$out" | head -c 300 | od -c | head -n 5)"
		bx_check "$name: refused, the answer valid JSON" false
	fi
}
state() {
	for p in /v1/services /v1/tokens /v1/invites /v1/nodes; do
		curl -s -m 5 "http://$(bx_addr 1)$p" | jq -cS 'map(del(.heartbeat_age_ms, .used_memory_mb, .used_vcpus))'
	done
}

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
good='{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/sleep","3600"]}},"start":false}'
bx_check "a good PUT is accepted" [ "$(send 1 PUT /v1/services/web "$good" | tail -n 1)" = 200 ]
before=$(state)

spec_with() { # a spec with $1 inserted into [service]
	printf '{"spec":{"service":{"driver":"process"%s},"process":{"command":["/bin/sleep","3600"]}}}' "$1"
}
refused "PUT, a spec name not UTF-8" PUT /v1/services/web "$(spec_with ",\"name\":\"w$BAD\"")"
refused "PUT, a surrogate in the spec name" PUT /v1/services/web "$(spec_with ",\"name\":\"w$SURR\"")"
refused "PUT, a key not UTF-8" PUT /v1/services/web "$(spec_with ",\"k$BAD\":1")"
refused "PUT, a value not UTF-8" PUT /v1/services/web \
	"{\"spec\":{\"service\":{\"driver\":\"process\"},\"process\":{\"command\":[\"/bin/$BAD\"]}}}"
refused "PUT, a top-level key not UTF-8" PUT /v1/services/web "{\"st$BAD\":true}"
refused "PUT, a service name in the path" PUT "/v1/services/w%FF%FE" "$good"
refused "DELETE, a service name in the path" DELETE "/v1/services/w%FF%FE"
refused "start, a service name in the path" POST "/v1/services/w%FF/start"
refused "stop, a service name in the path" POST "/v1/services/w%FF/stop"
refused "drain, a node id in the path" POST "/v1/nodes/1%FF/drain"
refused "eligible, a node id in the path" POST "/v1/nodes/1%FF/eligible"
refused "remove a node, its id in the path" DELETE "/v1/nodes/%FF"
refused "join, a name not UTF-8" POST /v1/cluster/join \
	"{\"id\":7,\"name\":\"n$BAD\",\"raft\":\"127.0.0.1:1\",\"api\":\"127.0.0.1:2\"}"
refused "admit, an invite id not UTF-8" POST /v1/cluster/admit \
	"{\"id\":7,\"invite\":{\"id\":\"$BAD\",\"secret\":\"x\"}}"
refused "leave, a body not UTF-8" POST /v1/cluster/leave "{\"id\":\"$BAD\"}"
refused "invite create, a role not UTF-8" POST /v1/invites "{\"role\":\"v$BAD\"}"
refused "invite revoke, an id in the path" DELETE "/v1/invites/%FF%FE"
refused "token create, a name not UTF-8" POST /v1/tokens "{\"name\":\"ci$BAD\"}"
refused "token revoke, an id in the path" DELETE "/v1/tokens/%FF%FE"
refused "internal command, a name not UTF-8" POST /v1/internal/command \
	"{\"op\":\"service.delete\",\"ts\":1,\"name\":\"w$BAD\"}"
refused "local join, an address not UTF-8" POST /v1/local/join "{\"address\":\"h$BAD:1\"}"
refused "an unknown route not UTF-8" GET "/v1/n%FF%FEpe"
bx_check "nothing changed" [ "$(state)" = "$before" ]
out=$(send 1 PUT /v1/services/web "$(spec_with ",\"k$BAD\":1")")
bx_check "... and the refusal names the byte" \
	grep -q 'request body is not UTF-8 (at byte' <<<"$out"

# a path with raw bytes, as no client library would send it
raw_path() {
	python3 - "$(bx_addr 1)" "$BX_CLUSTER_TOKEN" <<'PY'
import json, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"DELETE /v1/services/w\xff\xfe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
          + sys.argv[2].encode() + b"\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
status = int(head.split()[1])
assert 400 <= status < 500, status
json.loads(body.decode("utf-8", "strict"))
PY
}
bx_check "a path with raw bytes: refused, the answer valid JSON" raw_path
bx_finish
