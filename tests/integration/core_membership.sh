#!/usr/bin/env bash
# Membership: nodes 4 and 5 join and become voters (max_voters 5), node 6
# becomes a standby; removing a voter promotes the standby; a node that
# leaves gracefully is gone from the configuration.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

role_of() { # asker node id -> role
	curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq -r --argjson id "$2" '.members[] | select(.id==$id) | .role'
}
role_is() { [ "$(role_of "$1" "$2")" = "$3" ]; }
voters() { curl -s -m 2 "http://$(bx_addr "$1")/v1/cluster" | jq '[.members[] | select(.role=="voter")] | length'; }
voters_are() { [ "$(voters "$1")" = "$2" ]; }
absent() { [ -z "$(role_of "$1" "$2")" ]; }

bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
for n in 2 3 4 5; do
	bx_start_node "$n" --join "$(bx_addr 1)"
	bx_check "node $n joins as a voter" bx_wait 30 "n$n voter" role_is 1 "$n" voter
done
bx_start_node 6 --join "$(bx_addr 1)"
bx_check "node 6 joins as a standby (5 voters already)" bx_wait 30 "n6 standby" role_is 1 6 standby
bx_check "five voters" voters_are 1 5

# remove a dead voter (not the one we ask)
leader=$(bx_leader_of 1)
victim=5
[ "$leader" = 5 ] && victim=4
asker=1
[ "$leader" = 1 ] && asker=2
bx_kill_node "$victim" 9
bx_check "'blixard nodes remove' of dead voter n$victim succeeds" bx_cli "$asker" nodes remove "$victim"
bx_check "n$victim is gone from the configuration" bx_wait 20 "n$victim gone" absent "$asker" "$victim"
bx_check "the standby n6 is promoted to voter" bx_wait 30 "n6 voter" role_is "$asker" 6 voter
bx_check "still five voters" voters_are "$asker" 5

# graceful leave of a follower through its own CLI
leaver=3
[ "$(bx_leader_of 1)" = 3 ] && leaver=2
bx_check "'blixard leave' on n$leaver succeeds" bx_cli "$leaver" leave
bx_check "n$leaver is gone from the configuration" bx_wait 20 "n$leaver gone" absent 1 "$leaver"
bx_finish
