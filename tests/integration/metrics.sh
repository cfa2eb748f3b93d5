#!/usr/bin/env bash
# GET /metrics on a real 3-node cluster: Prometheus' own promtool accepts
# every node's output, and the figures agree with what happened: one leader
# that every node names, services counted by state as the API lists them,
# starts and health probes counted on the nodes that ran them, requests
# counted by route and status, the leader's commits timed.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup
command -v promtool >/dev/null || {
	echo "FAIL promtool is not installed (scripts/install-deps.sh installs prometheus)"
	exit 1
}

scrape() { curl -sf -m 5 "http://$(bx_addr "$1")/metrics"; }
# value N SERIES: the value of one series (name with its labels, exactly as written)
value() { scrape "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
sum_over_nodes() { # SERIES: summed over the three nodes
	local n total=0 v
	for n in 1 2 3; do
		v=$(value "$n" "$1")
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

bx_start_cluster 3

# three services that run, one that fails at once, one stopped; web checks its health
put() { # NAME START COMMAND-JSON [HEALTH-JSON]
	bx_curl 1 PUT "/v1/services/$1" "{\"spec\":{\"service\":{\"driver\":\"process\"},\"process\":{\"command\":$3}${4:+,\"health\":$4}},\"start\":$2}" |
		tail -n 1 | grep -q '^200$'
}
port=$((BX_BASE + 90))
mkdir -p "$BX_TMP/www" && echo ok >"$BX_TMP/www/index.html"
put web true "[\"busybox\",\"httpd\",\"-f\",\"-p\",\"127.0.0.1:$port\",\"-h\",\"$BX_TMP/www\"]" \
	"{\"type\":\"http\",\"port\":$port,\"path\":\"/\",\"interval_ms\":200,\"timeout_ms\":100}"
put s1 true '["sleep","100000"]'
put s2 true '["sleep","100000"]'
put bad true '["/nonexistent/program"]'
put idle false '["sleep","100000"]'
bx_check "the services settle: 3 running, 1 failed, 1 stopped" \
	bx_wait 30 "settled" bash -c "[ \"\$(curl -s http://$(bx_addr 1)/v1/services | jq -r '[.[].state] | sort | join(\" \")')\" = 'failed pending running running running' ]"
healthy() { bx_is web health healthy; }
bx_check "web is healthy" bx_wait 20 "web healthy" healthy

# bad fails at its start on every node in turn (a failed service moves on)
failed_everywhere() { [ "$(bx_field bad 'failed_on | length')" = 3 ] && bx_is bad state failed; }
bx_check "bad failed on all three nodes" bx_wait 30 "bad failed on 3" failed_everywhere

for n in 1 2 3; do
	scrape "$n" >"$BX_TMP/metrics-$n.txt"
	bx_check "node $n: promtool check metrics accepts /metrics" \
		bash -c "promtool check metrics <'$BX_TMP/metrics-$n.txt'"
	bx_check "node $n: served as Prometheus text 0.0.4" \
		bash -c "curl -sI http://$(bx_addr "$n")/metrics -X GET | grep -qi '^content-type: text/plain; version=0.0.4'"
done

leader=$(curl -s "http://$(bx_addr 1)/v1/cluster" | jq -r '.leader.id')
bx_check "exactly one node reports blixard_raft_leader 1" [ "$(sum_over_nodes blixard_raft_leader)" = 1 ]
bx_check "... node $leader, the one the API names" [ "$(value "$leader" blixard_raft_leader)" = 1 ]
for n in 1 2 3; do
	bx_check "node $n names leader $leader" [ "$(value "$n" blixard_raft_leader_id)" = "$leader" ]
done
bx_check "every node is at the same term" \
	[ "$(for n in 1 2 3; do value "$n" blixard_raft_term; done | sort -u | wc -l)" = 1 ]
# every node holds the same replicated state: the same counts
for n in 1 2 3; do
	bx_check "node $n counts 3 running services" \
		bx_wait 5 "n$n running" bash -c "[ \"\$(curl -s http://$(bx_addr "$n")/metrics | awk '\$1 == \"blixard_services{state=\\\"running\\\"}\" {print \$2}')\" = 3 ]"
done
bx_check "... and 1 failed, 1 pending (stopped before its first start)" \
	bash -c "[ '$(value 1 'blixard_services{state="failed"}') $(value 1 'blixard_services{state="pending"}')' = '1 1' ]"
bx_check "3 nodes up" [ "$(value 2 'blixard_nodes{status="up"}')" = 3 ]
bx_check "the agents counted 3 starts and 3 failed starts, over the nodes" \
	[ "$(sum_over_nodes blixard_instance_starts_total) $(sum_over_nodes blixard_instance_start_failures_total)" = "3 3" ]
web_node=$(bx_field web node)
bx_check "web's node timed its health probes" \
	[ "$(value "$web_node" blixard_health_check_duration_seconds_count)" -gt 0 ]
bx_check "node 1 counted the 5 PUTs it answered, by route and status" \
	[ "$(value 1 'blixard_api_requests_total{route="/v1/services/:name",method="PUT",code="200"}')" = 5 ]
bx_curl 2 GET /v1/services/missing >/dev/null
bx_check "node 2 counted a 404" \
	[ "$(value 2 'blixard_api_requests_total{route="/v1/services/:name",method="GET",code="404"}')" = 1 ]
bx_check "the leader timed its commits" \
	[ "$(value "$leader" blixard_raft_commit_seconds_count)" -gt 0 ]
# unauthenticated attempts: a request without a token, one with a bad token,
# and a Raft connection that cannot prove the secret, each counted once
curl -q -s -o /dev/null "http://$(bx_addr 2)/v1/services"
curl -q -s -o /dev/null -H 'Authorization: Bearer nope' "http://$(bx_addr 2)/v1/services"
echo hello >/dev/tcp/"$(bx_ip 2)"/"$(bx_raft_port 2)"
auth() { value 2 "blixard_auth_failures_total{listener=\"$1\",reason=\"$2\"}"; }
bx_check "node 2 counts a request without a token" [ "$(auth api missing_token)" = 1 ]
bx_check "... one with a token it does not know" [ "$(auth api invalid_token)" = 1 ]
raft_refused() { [ "$(auth raft handshake_in)" = 1 ]; }
bx_check "... and a Raft connection without the secret" bx_wait 5 "raft refusal" raft_refused
bx_check "POST /metrics is 405" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST http://$(bx_addr 1)/metrics)\" = 405 ]"
bx_finish
