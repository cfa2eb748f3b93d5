#!/usr/bin/env bash
# Replication on real daemons over loopback: 200 services written through a
# follower, the leader SIGKILLed, the survivors keep all 200; the killed node
# comes back and catches up by log replay, then (after more writes than the
# snapshot threshold while it is down) by snapshot install; a full-cluster
# restart keeps everything.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

SNAP=(--snapshot-threshold 64 --snapshot-trailing 16)
spec() { # name -> PUT body of a process service that is not started
	printf '{"spec":{"service":{"name":"%s","driver":"process"},"process":{"command":["/bin/sleep","3600"]}},"start":false}' "$1"
}
count_services() { # node -> number of services it serves
	curl -s -m 5 "http://$(bx_addr "$1")/v1/services" | jq 'length'
}
has_count() { [ "$(count_services "$1")" = "$2" ]; }
names_of() { curl -s -m 5 "http://$(bx_addr "$1")/v1/services" | jq -c '[.[].name]'; }
same_state() { # a b: identical service lists (names, generations, desired)
	local a b
	a=$(curl -s -m 5 "http://$(bx_addr "$1")/v1/services" | jq -cS '[.[] | {name, generation, desired, spec}]')
	b=$(curl -s -m 5 "http://$(bx_addr "$2")/v1/services" | jq -cS '[.[] | {name, generation, desired, spec}]')
	[ -n "$a" ] && [ "$a" = "$b" ]
}
voters_are() { # node count
	[ "$(curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq '[.members[] | select(.role=="voter")] | length')" = "$2" ]
}

bx_start_node 1 --bootstrap "${SNAP[@]}"
bx_check "bootstrap elects a leader" bx_wait 15 "leader on n1" bx_has_leader 1
bx_start_node 2 --join "$(bx_addr 1)" "${SNAP[@]}"
bx_start_node 3 --join "$(bx_addr 1)" "${SNAP[@]}"
bx_check "two nodes join and become voters" bx_wait 30 "3 voters" voters_are 1 3

leader=$(bx_leader_of 1)
follower=1
for n in 1 2 3; do [ "$n" != "$leader" ] && follower=$n && break; done

failed_puts=0
for i in $(seq 1 200); do
	code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
		--data-binary "$(spec "svc-$i")" "http://$(bx_addr "$follower")/v1/services/svc-$i")
	[ "$code" = 200 ] || failed_puts=$((failed_puts + 1))
done
bx_check "200 writes through follower n$follower acknowledged" [ "$failed_puts" -eq 0 ]
bx_check "the follower serves all 200 (within 10 s)" \
	bx_wait 10 "200 on follower" has_count "$follower" 200

bx_kill_node "$leader" 9
survivors=()
for n in 1 2 3; do [ "$n" != "$leader" ] && survivors+=("$n"); done
new_leader_elected() {
	local l
	l=$(bx_leader_of "${survivors[0]}") && [ -n "$l" ] && [ "$l" != "$leader" ]
}
bx_check "survivors elect a new leader after kill -9 of n$leader" bx_wait 15 "new leader" new_leader_elected
bx_check "survivor n${survivors[0]} keeps all 200 acknowledged writes" has_count "${survivors[0]}" 200
bx_check "survivor n${survivors[1]} keeps all 200 acknowledged writes" has_count "${survivors[1]}" 200

# a few more writes while it is down: fewer than the threshold -> log replay
failed_puts=0
for i in $(seq 201 210); do
	code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT --data-binary "$(spec "svc-$i")" \
		"http://$(bx_addr "${survivors[0]}")/v1/services/svc-$i")
	[ "$code" = 200 ] || failed_puts=$((failed_puts + 1))
done
bx_check "10 writes acknowledged with n$leader down" [ "$failed_puts" -eq 0 ]
bx_start_node "$leader" "${SNAP[@]}"
bx_check "restarted n$leader catches up (log replay)" bx_wait 20 "210 on n$leader" has_count "$leader" 210
bx_check "restarted n$leader agrees with n${survivors[0]}" same_state "$leader" "${survivors[0]}"
bx_check "... by log replay: n$leader installed no snapshot" bash -c "! grep -q 'restored snapshot' '$(bx_dir "$leader")/log'"

# now far more writes than snapshot threshold + trailing while it is down
victim=${survivors[1]}
bx_kill_node "$victim" 9
writer=$leader
other_leader() { local l; l=$(bx_leader_of "$writer") && [ -n "$l" ] && [ "$l" != "$victim" ]; }
bx_wait 15 "a leader other than n$victim" other_leader >/dev/null
failed_puts=0
for i in $(seq 211 400); do
	code=$(curl -s -m 30 -o /dev/null -w '%{http_code}' -X PUT --data-binary "$(spec "svc-$i")" \
		"http://$(bx_addr "$writer")/v1/services/svc-$i")
	[ "$code" = 200 ] || failed_puts=$((failed_puts + 1))
done
bx_check "190 more writes acknowledged with n$victim down" [ "$failed_puts" -eq 0 ]
bx_start_node "$victim" "${SNAP[@]}"
bx_check "restarted n$victim catches up through a snapshot" bx_wait 30 "400 on n$victim" has_count "$victim" 400
bx_check "n$victim installed a snapshot (log says so)" grep -q "restored snapshot" "$(bx_dir "$victim")/log"
bx_check "n$victim agrees with n$writer" same_state "$victim" "$writer"

for n in 1 2 3; do bx_kill_node "$n" TERM; done
for n in 1 2 3; do bx_start_node "$n" "${SNAP[@]}"; done
bx_check "full-cluster restart elects a leader" bx_wait 20 "leader" bx_has_leader 1
for n in 1 2 3; do
	bx_check "after full restart n$n has all 400" bx_wait 20 "400 on n$n" has_count "$n" 400
done
bx_finish
