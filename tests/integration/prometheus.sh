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

# /metrics needs a token: a read token for Prometheus, sent to the nodes
# only (the job of the services' own exporters sends none)
(umask 077 && BLIXARD_TOKEN= "$BX_BIN" --socket "$(bx_dir 1)/api.sock" --json token create \
	--role read --name prometheus | jq -r .token >"$BX_TMP/prom.token")
cat >"$BX_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: blixard
    scrape_interval: 1s
    scrape_timeout: 1s
    authorization:
      credentials_file: $BX_TMP/prom.token
    file_sd_configs:
      - files: ['$targets']
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [service]
        regex: ''
        action: keep
  - job_name: blixard-services
    scrape_interval: 1s
    scrape_timeout: 1s
    file_sd_configs:
      - files: ['$targets']
        refresh_interval: 1s
    relabel_configs:
      - source_labels: [service]
        regex: '.+'
        action: keep
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

# the Grafana dashboard: valid JSON, every metric it names exists, and every
# query it makes answers with data from this cluster
dash=$BX_ROOT/examples/grafana/blixard.json
bx_check "examples/grafana/blixard.json is valid JSON with its panels" \
	jq -e '(.panels | length) >= 15 and ([.. | .expr? // empty] | length) >= 20' "$dash"
dash_metrics_exist() {
	local m base metrics
	metrics=$(curl -s -m 5 "http://$(bx_addr 2)/metrics")
	for m in $(jq -r '.. | .expr? // empty' "$dash" | grep -o 'blixard_[a-z_]*' | sort -u); do
		base=${m%_bucket}
		grep -q "^# TYPE $base " <<<"$metrics" || { echo "dashboard queries $m: not in /metrics" >&2; return 1; }
	done
}
bx_check "every metric the dashboard queries is in /metrics" dash_metrics_exist
dash_queries_answer() {
	local e q out
	while IFS= read -r e; do
		q=${e//\$cluster/.*}
		out=$(curl -s -m 5 --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$q")
		if [ "$(jq -r .status <<<"$out")" != success ] || [ "$(jq '.data.result | length' <<<"$out")" = 0 ]; then
			echo "no answer yet: $q: $out" >&2
			return 1
		fi
	done < <(jq -r '.. | .expr? // empty' "$dash")
}
bx_check "every dashboard query answers with data" bx_wait 60 "dashboard queries" dash_queries_answer

# a fourth node: the watcher rewrites the file, Prometheus follows by itself
bx_start_node 4 --join "$(bx_addr 1)"
bx_check "node 4 joined: the file lists four targets" bx_wait 30 "4 targets" n_targets 4
bx_check "... and Prometheus scrapes node 4 too" bx_wait 30 "4 up" all_up 4
bx_check "the watcher said what it wrote" grep -q "wrote $targets: 4 targets" "$BX_TMP/watch.log"
bx_check "no temporary file is left" [ ! -e "$targets.tmp" ]
# a service that declares an exporter ([metrics] port, path): a target of its
# own while it runs, on its node's host, scraped by the same job
exp_port=$((BX_BASE + 91))
mkdir -p "$BX_TMP/exp/stats" && printf 'blixard_test_exporter_up 1\n' >"$BX_TMP/exp/stats/prom"
exp_body=$(jq -nc --argjson p "$exp_port" --arg dir "$BX_TMP/exp" '{start: true, spec: {
	service: {driver: "process"}, metrics: {port: $p, path: "/stats/prom"},
	process: {command: ["busybox", "httpd", "-f", "-p", ("127.0.0.1:" + ($p | tostring)), "-h", $dir]}}}')
bx_check "a service with [metrics] port and path is put" \
	bash -c "curl -s -m 10 -o /dev/null -w '%{http_code}' -X PUT -d '$exp_body' http://$(bx_addr 1)/v1/services/exp | grep -qx 200"
bx_check "once it runs, the file lists its exporter too (5 targets)" bx_wait 30 "5 targets" n_targets 5
bx_check "... at its node's host and the declared port, with its path and labels" \
	bash -c "[ \"\$(jq -c '.[] | select(.labels.service == \"exp\") | [.targets, .labels.__metrics_path__, .labels.service_instance, .labels.node]' '$targets')\" = '[[\"127.0.0.1:$exp_port\"],\"/stats/prom\",\"exp\",\"'\$(curl -s http://$(bx_addr 1)/v1/services/exp | jq -r .node)'\"]' ]"
exporter_scraped() { [ "$(query 'blixard_test_exporter_up{service="exp"}' | jq -r '.[0].value[1]')" = 1 ]; }
bx_check "Prometheus scrapes the exporter through the same file" bx_wait 30 "exporter scraped" exporter_scraped
bx_check "the service is stopped" bash -c "'$BX_BIN' --addr $(bx_addr 1) stop exp >/dev/null"
bx_check "... and its target leaves the file" bx_wait 15 "4 targets" n_targets 4

bx_check "a bad --interval is a usage error" \
	bash -c "'$BX_BIN' --addr $(bx_addr 1) prometheus targets --watch x --interval 0; [ \$? = 2 ]"
bx_finish
