#!/usr/bin/env bash
# Shell completions (issue 30, item 5): 'blixard completion bash|zsh|fish'
# prints scripts each shell parses; in bash and fish they complete verbs,
# a verb's words and flags, the daemon's flags, and service names and node
# ids asked of the daemon the command line names; with no daemon they
# complete the rest and hang nowhere.
set -u
. "$(dirname "$0")/lib.sh"
bx_setup

for sh in bash zsh fish; do
	"$BX_BIN" completion "$sh" >"$BX_TMP/c.$sh"
done
bx_check "bash parses its script" bash -n "$BX_TMP/c.bash"
bx_check "zsh parses its script" zsh -n "$BX_TMP/c.zsh"
bx_check "fish parses its script" fish --no-execute "$BX_TMP/c.fish"
bx_check "'completion' of no shell is a usage error" bash -c "'$BX_BIN' completion tcsh; [ \$? = 2 ]"

# complete WORDS...: what bash completes for the last word (COMPREPLY, sorted)
complete_bash() {
	PATH="$(dirname "$BX_BIN"):$PATH" bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_blixard
		printf "%s\n" "${COMPREPLY[@]}" | sort -u' _ "$BX_TMP/c.bash" "$@"
}
offers() { # WORD COMPLETION-ARGS...: the completion offers WORD
	local want=$1
	shift
	complete_bash "$@" | grep -qx -- "$want"
}
got=$(complete_bash blixard st | tr '\n' ' ')
bx_check "verbs: 'st' gives start, status, stop" [ "$got" = "start status stop " ]
bx_check "a verb's words: nodes drain" offers drain blixard nodes ""
bx_check "a verb's flags: start --timeout" offers --timeout blixard start --t
bx_check "the daemon's flags, from its table: --fence-timeout-ms" offers --fence-timeout-ms blixard daemon --fen
bx_check "the global flags before a verb: --socket" offers --socket blixard --so
bx_check "completion's shells" offers fish blixard completion ""
# readline splits --addr HOST:PORT at ':' (COMP_WORDBREAKS): the verb is still found
bx_check "after --addr HOST:PORT as readline splits it: the verb's words" \
	offers drain blixard --addr 127.0.0.1 : 1 nodes ""
got=$(complete_bash blixard --addr 127.0.0.1 : 1 vers | tr '\n' ' ')
bx_check "... and verbs" [ "$got" = "version " ]
# zsh loads the file on the first TAB: that TAB completes too (a pty, as a user types)
zsh_first_tab() {
	mkdir -p "$BX_TMP/zfunc"
	cp "$BX_TMP/c.zsh" "$BX_TMP/zfunc/_blixard"
	cat >"$BX_TMP/ztab.zsh" <<ZSH
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PATH=$(dirname "$BX_BIN"):\$PATH; fpath=($BX_TMP/zfunc \$fpath); autoload -U compinit && compinit -u -D; PS1="%% "'
sleep 1
zpty -w -n z \$'blixard vers\t'
sleep 2
all=""
while zpty -r -t z chunk; do all+=\$chunk; done
zpty -d z
print -r -- "\$all"
ZSH
	timeout 30 zsh -f "$BX_TMP/ztab.zsh" | tr -d '\r' | grep -q 'blixard version'
}
bx_check "zsh: the first TAB completes 'vers' to 'version'" zsh_first_tab
start=$SECONDS
bx_check "no daemon: words still come" offers drain blixard --socket /nonexistent nodes ""
bx_check "... and nothing hangs (under 5 s)" [ $((SECONDS - start)) -lt 5 ]

# with a daemon: names from it, through the socket the line names
bx_start_node 1 --bootstrap
bx_wait 15 "leader" bx_has_leader 1 >/dev/null
sock="$(bx_dir 1)/api.sock"
good='{"spec":{"service":{"driver":"process"},"process":{"command":["/bin/sleep","3600"]}},"start":false}'
bx_curl 1 PUT /v1/services/webfront "$good" >/dev/null
bx_curl 1 PUT /v1/services/worker "$good" >/dev/null
unset_token() { env -u BLIXARD_TOKEN -u CURL_HOME "$@"; }
got=$(unset BLIXARD_TOKEN CURL_HOME; complete_bash blixard --socket "$sock" status w | tr '\n' ' ')
bx_check "service names from the daemon the line names: 'status w' gives webfront, worker" \
	[ "$got" = "webfront worker " ]
bx_check "node ids from the daemon: 'nodes drain' gives 1" \
	offers 1 blixard --socket "$sock" nodes drain ""
fish_offers() {
	PATH="$(dirname "$BX_BIN"):$PATH" BLIXARD_SOCKET="$sock" unset_token \
		fish -c "source '$BX_TMP/c.fish'; complete -C '$1'" |
		cut -f1 | grep -qx -- "$2"
}
bx_check "fish: verbs" fish_offers "blixard sta" start
bx_check "fish: a verb's flags" fish_offers "blixard logs --fol" --follow
bx_check "fish: service names from the daemon" fish_offers "blixard status " webfront

bx_finish
