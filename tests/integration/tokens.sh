#!/usr/bin/env bash
# API tokens on a real 3-node cluster: 'blixard token create' (through node 1's
# Unix socket) prints a token once; every node lists it with its role, never
# its secret or hash; a revocation removes it on every node, one that was down
# too; unknown ids and bad roles are clear errors that change nothing. The CLI
# sends --token, --token-file and BLIXARD_TOKEN as a bearer header (the
# record's created_by shows it arrived). Whether the API refuses requests
# without one (401/403) is not tested here.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

bx_start_cluster 3
token() { "$BX_BIN" --socket "$(bx_dir 1)/api.sock" token "$@"; }
is_token() { [[ "$1" =~ ^bxt1\.[0-9a-f]{16}\.[0-9a-f]{64}$ ]]; }
id_of() { cut -c6-21 <<<"$1"; }
# ids N: what node N lists, "id:role" sorted, space-separated
ids() { curl -s -m 2 "http://$(bx_addr "$1")/v1/tokens" | jq -r '[.[] | "\(.id):\(.role)"] | sort | join(" ")'; }
# expect ROLE:TOKEN...: the ids:roles every node should list
expect() {
	local e
	for e in "$@"; do echo "$(id_of "${e#*:}"):${e%%:*}"; done | sort | tr '\n' ' ' | sed 's/ $//'
}
lists_on_all() { for n in 1 2 3; do [ "$(ids "$n")" = "$1" ] || return 1; done; }
status_of() { # METHOD URL [BODY]: the HTTP status
	curl -s -m 5 -o "$BX_TMP/body" -w '%{http_code}' -X "$1" ${3:+--data-binary "$3"} "$2"
}
status_is() { [ "$(status_of "$2" "$3" "${4:-}")" = "$1" ]; } # STATUS METHOD URL [BODY]
jq_true() { jq -e "$@" >/dev/null; } # FILTER [FILE]: it holds
exits() { # CODE ERRFILE CMD...: CMD exits CODE, its stderr into ERRFILE
	local want=$1 err=$2
	shift 2
	"$@" >/dev/null 2>"$err"
	[ $? = "$want" ]
}

# --- create -----------------------------------------------------------------------
admin=$(token create --role admin --name ci-deploy 2>"$BX_TMP/admin.err")
bx_check "'token create --role admin' prints a token" is_token "$admin"
bx_check "... and, without a terminal, nothing else" [ ! -s "$BX_TMP/admin.err" ]
reader=$(token create --name dashboard)
bx_check "a token made without --role" is_token "$reader"
bx_on_tty "$BX_TMP/tty.out" "$BX_BIN" --socket "$(bx_dir 1)/api.sock" token create --role read
bx_check "on a terminal it says the token is shown only once" \
	grep -q "shown only this once" "$BX_TMP/tty.out"
tty_tok=$(grep -E '^bxt1\.' "$BX_TMP/tty.out" | tr -d '\n')
token create --role admin --json >"$BX_TMP/create.json"
bx_check "--json answers id, name, role, created_at and the token" \
	jq_true '(.token | test("^bxt1\\.")) and .role == "admin" and .name == ""
		and (.created_at | type == "number") and .id == .token[5:21]' "$BX_TMP/create.json"
bx_check "... and no secret hash" jq_true 'has("secret_hash") | not' "$BX_TMP/create.json"
json_tok=$(jq -r .token "$BX_TMP/create.json")

all=$(expect admin:"$admin" read:"$reader" read:"$tty_tok" admin:"$json_tok")
bx_check "every node lists the four tokens, the one without --role as read" \
	bx_wait 10 "replicated" lists_on_all "$all"
no_secrets() {
	local n
	for n in 1 2 3; do
		curl -s "http://$(bx_addr "$n")/v1/tokens" >"$BX_TMP/all.json"
		! grep -q -e secret -e "${admin:22}" "$BX_TMP/all.json" || return 1
	done
}
bx_check "no node shows a secret or its hash" no_secrets
token list >"$BX_TMP/list.txt"
bx_check "'token list' is a table: ID NAME ROLE CREATED" \
	grep -Eq '^ID +NAME +ROLE +CREATED$' "$BX_TMP/list.txt"
bx_check "... with the admin token's name, role and creation" \
	grep -Eq "^$(id_of "$admin") +ci-deploy +admin +20[0-9-]+T[0-9:]+Z$" "$BX_TMP/list.txt"
bx_check "... and a dash for no name" grep -Eq "^$(id_of "$json_tok") +- +admin " "$BX_TMP/list.txt"
"$BX_BIN" --addr "$(bx_addr 3)" token list --json >"$BX_TMP/list.json"
bx_check "'token list --json' on node 3 parses: four tokens, roles, no hash" \
	jq_true 'length == 4 and all(.[]; has("role") and (has("secret_hash") | not))' "$BX_TMP/list.json"
bx_check "GET /v1/tokens/ID on a follower shows one" \
	jq_true '.name == "dashboard" and .role == "read"' <(curl -s "http://$(bx_addr 2)/v1/tokens/$(id_of "$reader")")
bx_check "... and an unknown one is 404" status_is 404 GET "http://$(bx_addr 2)/v1/tokens/00000000deadbeef"

# --- the CLI's bearer header arrives (the record's created_by) ----------------------
by() { curl -s -m 2 "http://$(bx_addr 1)/v1/tokens/$1" | jq -r '.created_by // "none"'; }
bx_check "a token made on the Unix socket was made 'local'" [ "$(by "$(id_of "$admin")")" = local ]
t1=$("$BX_BIN" --addr "$(bx_addr 1)" --token "$admin" token create)
bx_check "--token TOKEN is sent as a bearer token" \
	[ "$(by "$(id_of "$t1")")" = "token $(id_of "$admin")" ]
printf '  %s  \n# not read\n' "$json_tok" >"$BX_TMP/token-file"
t2=$("$BX_BIN" --addr "$(bx_addr 1)" --token-file "$BX_TMP/token-file" token create)
bx_check "--token-file PATH sends its first line" \
	[ "$(by "$(id_of "$t2")")" = "token $(id_of "$json_tok")" ]
t3=$(BLIXARD_TOKEN=$admin "$BX_BIN" --addr "$(bx_addr 1)" token create)
bx_check "BLIXARD_TOKEN is sent" [ "$(by "$(id_of "$t3")")" = "token $(id_of "$admin")" ]
bx_check "a malformed --token is a usage error" \
	exits 2 "$BX_TMP/flag.err" "$BX_BIN" --addr "$(bx_addr 1)" --token bxt1.nope token list
bx_check "... saying so" grep -q "^blixard: --token: damaged API token" "$BX_TMP/flag.err"
bx_check "a malformed BLIXARD_TOKEN fails the request, exit 1" \
	exits 1 "$BX_TMP/env.err" env BLIXARD_TOKEN=hello "$BX_BIN" --addr "$(bx_addr 1)" token list
bx_check "... saying so" \
	grep -q "^blixard token: BLIXARD_TOKEN: not a Blixard API token" "$BX_TMP/env.err"
bx_check "a missing --token-file exits 1" \
	exits 1 "$BX_TMP/file.err" "$BX_BIN" --token-file "$BX_TMP/none" token list
bx_check "... saying so" grep -q "token-file '$BX_TMP/none': No such file" "$BX_TMP/file.err"
for t in "$t1" "$t2" "$t3"; do token revoke "$(id_of "$t")" >/dev/null; done

# --- revoke -----------------------------------------------------------------------
bx_kill_node 3
"$BX_BIN" --socket "$(bx_dir 2)/api.sock" token revoke "$(id_of "$reader")" >"$BX_TMP/revoke.out"
bx_check "'token revoke' through a follower's socket (forwarded)" \
	grep -qx "token $(id_of "$reader") revoked" "$BX_TMP/revoke.out"
bx_start_node 3
bx_check "it is gone on every node, the one that was down too" \
	bx_wait 20 "revoked everywhere" lists_on_all \
	"$(expect admin:"$admin" read:"$tty_tok" admin:"$json_tok")"
bx_check "revoking it again: exit 1" exits 1 "$BX_TMP/again.err" token revoke "$(id_of "$reader")"
bx_check "... saying there is no such token" grep -q "no token $(id_of "$reader")" "$BX_TMP/again.err"
bx_check "revoking an unknown token: exit 1" \
	exits 1 "$BX_TMP/unknown.err" token revoke 0123456789abcdef
bx_check "... saying there is no such token" \
	grep -qx "blixard token: token.revoke: no token 0123456789abcdef (HTTP 404)" "$BX_TMP/unknown.err"
"$BX_BIN" --socket "$(bx_dir 1)/api.sock" --json token revoke "$(id_of "$tty_tok")" >"$BX_TMP/revoke.json"
bx_check "revoke --json answers the token as it was and when it ended" \
	jq_true '.role == "read" and (.revoked_at | type == "number") and (has("secret_hash") | not)' \
	"$BX_TMP/revoke.json"
bx_check "... and it is gone everywhere" \
	bx_wait 10 "revoked" lists_on_all "$(expect admin:"$admin" admin:"$json_tok")"

# --- bad input changes nothing ------------------------------------------------------
count() { curl -s -m 2 "http://$(bx_addr "$1")/v1/tokens" | jq length; }
before=$(count 1)
bx_check "--role king is a usage error" exits 2 "$BX_TMP/king.err" token create --role king
bx_check "... saying what roles there are" \
	grep -q "role is admin or read, got 'king'" "$BX_TMP/king.err"
bx_check "the API refuses a bad role with 400 (on a follower too)" \
	status_is 400 POST "http://$(bx_addr 2)/v1/tokens" '{"role":"root"}'
bx_check "... saying what roles there are" grep -qF 'must be \"admin\" or \"read\"' "$BX_TMP/body"
bx_check "... unknown fields with 400" \
	status_is 400 POST "http://$(bx_addr 1)/v1/tokens" '{"role":"read","colour":1}'
bx_check "... a bad name with 400" \
	status_is 400 POST "http://$(bx_addr 1)/v1/tokens" '{"name":"two words"}'
bx_check "an id that is no token id is a usage error" exits 2 /dev/null token revoke xyz
bx_check "GET /v1/tokens/ID with a bad id is 400" \
	status_is 400 GET "http://$(bx_addr 1)/v1/tokens/NOPE"
bx_check "PUT /v1/tokens is 405" status_is 405 PUT "http://$(bx_addr 1)/v1/tokens"
same_count() { for n in 1 2 3; do [ "$(count "$n")" = "$before" ] || return 1; done; }
bx_check "nothing was created on any node" same_count

bx_finish
