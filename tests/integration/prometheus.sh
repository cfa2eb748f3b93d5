#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes a real cluster through the targets file
# `blixard prometheus targets --watch` keeps: every node answers a query, and a
# node that joins is written into the file and scraped without touching
# Prometheus.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup
command -v prometheus >/dev/null || {
	echo "FAIL prometheus is not installed (scripts/install-deps.sh installs it)"
	exit 1
}

prom_port=$((BX_BASE + 95))
targets=$BX_TMP/targets.json
WATCH_PID= PROM_PID=
stop_prometheus() {
	[ -n "$WATCH_PID" ] && kill -9 "$WATCH_PID" 2>/dev/null
	[ -n "$PROM_PID" ] && kill -9 "$PROM_PID" 2>/dev/null
	wait 2>/dev/null
}
BX_AT_EXIT+=(stop_prometheus)

bx_start_cluster 3

out=$(bx_cli 1 prometheus targets)
bx_check "'blixard prometheus targets' lists the three nodes" \
	bash -c "jq -e 'length == 3 and ([.[].labels.node] | sort) == [\"1\",\"2\",\"3\"]' <<<'$out'"
bx_check "... each target the node's API address" \
	bash -c "jq -e '.[] | select(.labels.node == \"2\") | .targets == [\"$(bx_addr 2)\"]' <<<'$out'"
bx_check "... labelled with the cluster" \
	bash -c "jq -e '[.[].labels.cluster] | unique | length == 1 and (.[0] | length) == 32' <<<'$out'"

"$BX_BIN" --addr "$(bx_addr 1)" prometheus targets --watch "$targets" --interval 0.5 \
	2>"$BX_TMP/watch.log" &
WATCH_PID=$!
n_targets() { [ "$(jq length "$targets" 2>/dev/null)" = "$1" ]; }
bx_check "--watch writes the targets file" bx_wait 10 "3 targets" n_targets 3

cat >"$BX_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: blixard
    scrape_interval: 1s
    scrape_timeout: 1s
    file_sd_configs:
      - files: ['$targets']
        refresh_interval: 1s
EOF
bx_check "promtool accepts the Prometheus config" promtool check config "$BX_TMP/prometheus.yml"
prometheus --config.file="$BX_TMP/prometheus.yml" --storage.tsdb.path="$BX_TMP/prom" \
	--web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$BX_TMP/prometheus.log" 2>&1 &
PROM_PID=$!

# query PROMQL: the result vector, as JSON
query() { curl -s -m 2 --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" | jq -c '.data.result'; }
# nodes_answer N PROMQL: the query has a sample for each of nodes 1..N
nodes_answer() {
	[ "$(query "$2" | jq -c '[.[].metric.node] | sort')" = "$(seq 1 "$1" | jq -R . | jq -sc .)" ]
}
all_up() { [ "$(query "up{job=\"blixard\"} == 1" | jq length)" = "$1" ] && nodes_answer "$1" 'up{job="blixard"}'; }
bx_check "Prometheus scrapes all three nodes (up == 1)" bx_wait 30 "3 up" all_up 3
bx_check "every node answers a query: blixard_raft_term" bx_wait 10 "terms" nodes_answer 3 blixard_raft_term
bx_check "one leader, by the scraped blixard_raft_leader" \
	bx_wait 10 "leader" bash -c "[ \"\$(curl -s --get http://127.0.0.1:$prom_port/api/v1/query --data-urlencode 'query=sum(blixard_raft_leader)' | jq -r '.data.result[0].value[1]')\" = 1 ]"

# a fourth node: the watcher rewrites the file, Prometheus follows by itself
bx_start_node 4 --join "$(bx_addr 1)"
bx_check "node 4 joined: the file lists four targets" bx_wait 30 "4 targets" n_targets 4
bx_check "... and Prometheus scrapes node 4 too" bx_wait 30 "4 up" all_up 4
bx_check "the watcher said what it wrote" grep -q "wrote $targets: 4 targets" "$BX_TMP/watch.log"
bx_check "no temporary file is left" [ ! -e "$targets.tmp" ]
bx_check "a bad --interval is a usage error" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) prometheus targets --watch x --interval 0; [ \$? = 2 ]"
bx_finish
