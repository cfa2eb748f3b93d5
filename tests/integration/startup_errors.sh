#!/usr/bin/env bash
# A daemon refuses to start on state it cannot trust, says which file and why,
# exits 1, and overwrites nothing: another cluster's data directory, a corrupt
# LMDB file, an unreadable Raft log, a data directory already in use.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

# run_once N FLAGS...: start node N in the foreground with a deadline; the
# exit code and output land in $BX_TMP/out.
run_once() {
	local n=$1
	shift
	timeout 10 "$BX_BIN" daemon --node-id "$n" --data-dir "$(bx_dir "$n")/data" \
		--api "$(bx_addr "$n")" --raft "127.0.0.1:$(bx_raft_port "$n")" \
		--socket "$(bx_dir "$n")/api.sock" "$@" >"$BX_TMP/out" 2>&1
	echo $? >"$BX_TMP/rc"
}
rc_is() { [ "$(cat "$BX_TMP/rc")" = "$1" ]; }
says() { grep -q -- "$1" "$BX_TMP/out"; }
sums() { find "$1" -type f ! -name lock ! -name lock.mdb -exec md5sum {} + | sort; } # lock files are runtime state, not data

# two one-node clusters, stopped cleanly
for n in 1 2; do
	bx_start_node "$n" --bootstrap
	bx_wait 15 "leader $n" bx_has_leader "$n"
	bx_curl "$n" PUT /v1/services/s$n '{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/true"]}},"start":false}' >/dev/null
	bx_kill_node "$n" TERM
done

# 1. the directory is in use
bx_start_node 1
bx_wait 15 "leader 1" bx_has_leader 1
run_once 1
bx_check "a second daemon on a directory in use exits 1" rc_is 1
bx_check "... and says the directory is in use" says "in use"
bx_kill_node 1 TERM

# 2. node.json from another cluster next to this cluster's state
cp "$(bx_dir 1)/data/node.json" "$BX_TMP/node1.json"
cp "$(bx_dir 2)/data/node.json" "$(bx_dir 1)/data/node.json"
before=$(sums "$(bx_dir 1)/data")
run_once 2 --data-dir "$(bx_dir 1)/data"
bx_check "another cluster's identity: exit 1" rc_is 1
bx_check "... naming the state directory" says "$(bx_dir 1)/data"
bx_check "... and nothing was overwritten" [ "$before" = "$(sums "$(bx_dir 1)/data")" ]
cp "$BX_TMP/node1.json" "$(bx_dir 1)/data/node.json"

# 3. a corrupt LMDB file
db="$(bx_dir 1)/data/state/data.mdb"
cp "$db" "$BX_TMP/data.mdb"
dd if=/dev/urandom of="$db" bs=4096 count=2 conv=notrunc status=none
before=$(sums "$(bx_dir 1)/data")
run_once 1
bx_check "a corrupt LMDB file: exit 1" rc_is 1
bx_check "... naming the file" says "state"
bx_check "... and nothing was overwritten" [ "$before" = "$(sums "$(bx_dir 1)/data")" ]
cp "$BX_TMP/data.mdb" "$db"

# 4. an unreadable Raft log
for f in "$(bx_dir 1)"/data/raft/metadata*; do
	printf 'garbage-garbage-garbage-garbage-garbage' >"$f"
done
before=$(sums "$(bx_dir 1)/data")
run_once 1
bx_check "an unreadable Raft log: exit 1" rc_is 1
bx_check "... naming the raft directory" says "raft"
bx_check "... and nothing was overwritten" [ "$before" = "$(sums "$(bx_dir 1)/data")" ]

# 5. the untouched second cluster still starts and has its service
bx_start_node 2
bx_check "an intact directory starts fine" bx_wait 15 "leader 2" bx_has_leader 2
bx_check "... with its state" bash -c "curl -sf http://$(bx_addr 2)/v1/services/s2 >/dev/null"
bx_finish
