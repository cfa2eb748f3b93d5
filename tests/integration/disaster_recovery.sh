#!/usr/bin/env bash
# Disaster recovery as docs/OPERATIONS.md tells it: a snapshot saved from a
# healthy 3-node cluster rebuilds a working cluster on fresh nodes after two
# of the three are lost for good (no quorum: the survivor takes no writes and
# fences its instances). The new cluster runs every service the snapshot
# holds, with the same spec, count and desired state; restoring twice, or
# from a damaged file, is refused and changes nothing.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

mark="bx-dr-$$-$RANDOM" # in every instance's command line, for pgrep
put() { # NAME COUNT START
	local body
	body=$(jq -nc --arg n "$1" --argjson c "$2" --argjson s "$3" --arg mark "$mark" \
		'{start: $s, spec: {service: {name: $n, driver: "process", count: $c, memory_mb: 32},
			process: {command: ["/bin/sh", "-c", ("exec sleep 100000 # " + $mark)]}}}')
	bx_curl 1 PUT "/v1/services/$1" "$body" | tail -n 1 | grep -q '^200$'
}
running() { # NODE NAME COUNT: COUNT instances of NAME run, on COUNT nodes (node NODE says)
	local list
	list=$(curl -s -m 2 "http://$(bx_addr "$1")/v1/services" | jq -c "[.[] | select(.name == \"$2\" or .service == \"$2\")]") || return 1
	[ "$(jq '[.[] | select(.state == "running")] | length' <<<"$list")" = "$3" ] &&
		[ "$(jq '[.[] | select(.state == "running") | .node] | unique | length' <<<"$list")" = "$3" ]
}
specs() { # NODE: every service's name, desired state and spec, sorted
	curl -s -m 5 "http://$(bx_addr "$1")/v1/services" | jq -S -c 'map({name, desired, spec}) | sort_by(.name)'
}

bx_start_cluster 3
put_all() { put web 2 true && put api 1 true && put idle 1 false; }
all_run() { running "$1" web 2 && running "$1" api 1; } # NODE: as NODE says
bx_check "web (count 2), api and idle (stopped) are put" put_all
bx_check "web runs twice, api once" bx_wait 30 "running" all_run 1
before=$(specs 1)
leader=$(bx_leader_of 1)
bx_check "'snapshot save' from the leader (node $leader)" \
	bash -c "'$BX_BIN' --addr $(bx_addr "$leader") snapshot save '$BX_TMP/cluster.snap' >'$BX_TMP/save.out'"
bx_check "... says what it holds" grep -q "^saved $BX_TMP/cluster.snap ([0-9]* bytes): 3 services (4 instances), 3 nodes, events up to [0-9]*, cluster [0-9a-f]*, applied index [0-9]*$" "$BX_TMP/save.out"
bx_check "... into a file only its owner can read" [ "$(stat -c %a "$BX_TMP/cluster.snap")" = 600 ]
bx_check "'snapshot save' to a directory that does not exist: exit 1, said" \
	bash -c "out=\$('$BX_BIN' --addr $(bx_addr 1) snapshot save /nonexistent/dir/x.snap 2>&1); [ \$? = 1 ] && grep -q \"cannot write '/nonexistent/dir/x.snap'\" <<<\"\$out\""

# --- the disaster: nodes 2 and 3 are lost for good --------------------------
bx_host_dies 2
bx_host_dies 3
rm -rf "$(bx_dir 2)" "$(bx_dir 3)"
no_leader() { [ -z "$(bx_leader_of 1)" ]; }
bx_check "node 1 alone has no leader" bx_wait 15 "no leader" no_leader
bx_check "... and takes no writes (503)" \
	bash -c "[ \"\$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST http://$(bx_addr 1)/v1/services/api/stop)\" = 503 ]"
fenced_all() { ! pgrep -f -- "$mark" >/dev/null; }
bx_check "... and its instances are fenced (the lease ran out): none runs" bx_wait 30 "fenced" fenced_all

# --- recovery (docs/OPERATIONS.md): stop the survivor, new cluster, restore ---
bx_kill_node 1 TERM
bx_start_node 4 --bootstrap
bx_check "a fresh node 4 bootstraps a new cluster" bx_wait 15 "leader" bx_has_leader 4
bx_start_node 5 --join "$(bx_addr 4)"
bx_start_node 6 --join "$(bx_addr 4)"
three_nodes() { [ "$(curl -s -m 2 "http://$(bx_addr 4)/v1/nodes" | jq 'length')" = 3 ]; }
bx_check "fresh nodes 5 and 6 join it" bx_wait 30 "3 nodes" three_nodes
bx_check "'snapshot restore' into the new cluster" \
	bash -c "'$BX_BIN' --addr $(bx_addr 5) snapshot restore '$BX_TMP/cluster.snap' >'$BX_TMP/restore.out'"
bx_check "... restored the 3 services" grep -qx "restored 3 services" "$BX_TMP/restore.out"
bx_check "web runs twice on two nodes, api once, in the new cluster" bx_wait 30 "running again" all_run 4
bx_check "every service has its spec, count and desired state again" [ "$(specs 4)" = "$before" ]
bx_check "idle stays stopped" bash -c "curl -s http://$(bx_addr 4)/v1/services/idle | jq -e '.desired == \"stopped\" and .node == 0' >/dev/null"
bx_check "the new cluster is a new one (its own cluster id)" \
	bash -c "[ \"\$(curl -s http://$(bx_addr 4)/v1/cluster | jq -r .cluster_id)\" != \"\$(sed -n 's/.* cluster \([0-9a-f]*\), .*/\1/p' '$BX_TMP/save.out')\" ]"
bx_check "its event log tells the restore: web, api and idle created" \
	bash -c "[ \"\$(curl -s 'http://$(bx_addr 6)/v1/events?limit=1000' | jq -r '[.events[] | select(.type == \"created\") | .service] | unique | join(\",\")')\" = api,idle,web ]"

# --- refused, changing nothing ------------------------------------------------
after=$(specs 4)
bx_check "restoring again is refused: the services exist (exit 1)" \
	bash -c "out=\$('$BX_BIN' --addr $(bx_addr 4) snapshot restore '$BX_TMP/cluster.snap' 2>&1); [ \$? = 1 ] && grep -q \"already has service 'web'\" <<<\"\$out\" && grep -q 'nothing restored: 3 services exist already' <<<\"\$out\""
cp "$BX_TMP/cluster.snap" "$BX_TMP/damaged.snap"
printf 'X' | dd of="$BX_TMP/damaged.snap" bs=1 seek=100 conv=notrunc status=none
bx_check "a damaged snapshot is refused (checksum), exit 1" \
	bash -c "out=\$('$BX_BIN' --addr $(bx_addr 4) snapshot restore '$BX_TMP/damaged.snap' 2>&1); [ \$? = 1 ] && grep -q 'is not a valid snapshot: snapshot: checksum mismatch' <<<\"\$out\""
head -c 20 "$BX_TMP/cluster.snap" >"$BX_TMP/short.snap"
bx_check "a truncated one too" \
	bash -c "'$BX_BIN' --addr $(bx_addr 4) snapshot restore '$BX_TMP/short.snap' 2>&1 | grep -q 'snapshot truncated'"
bx_check "a missing file: exit 1, named" \
	bash -c "out=\$('$BX_BIN' --addr $(bx_addr 4) snapshot restore '$BX_TMP/none.snap' 2>&1); [ \$? = 1 ] && grep -q \"cannot open '$BX_TMP/none.snap'\" <<<\"\$out\""
bx_check "the cluster is unchanged by all of these" [ "$(specs 4)" = "$after" ]
bx_check "'snapshot' without a verb: usage, exit 2" \
	bash -c "'$BX_BIN' snapshot 2>/dev/null; [ \$? = 2 ]"
bx_check "no scratch directory is left behind" \
	bash -c "! ls -d /tmp/blixard-snapshot-* 2>/dev/null | grep -q ."
bx_finish
