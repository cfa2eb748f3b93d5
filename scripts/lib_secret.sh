# lib_secret.sh - a cluster secret for scripts that start their own daemons
# (tests, benchmarks, the dev cluster). Source it, then `bx_secret_setup DIR`:
#   BX_SECRET_FILE    DIR/cluster.secret (0600): give it to every daemon with
#                     --cluster-secret-file
#   BX_CLUSTER_TOKEN  the token derived from it (src/model/secret.h), which the TCP
#                     API takes from members of the cluster
# and exported: BLIXARD_TOKEN (the CLI sends it) and CURL_HOME with a .curlrc
# that sends it with every curl ('curl -q' goes without).

# bx_token_of SECRET: the cluster token of a secret: "bxc1." + hex of
# HMAC-SHA256(SECRET, "blixard api"), as src/model/secret.c derives it
bx_token_of() {
	printf 'bxc1.%s\n' "$(printf '%s' 'blixard api' | openssl dgst -sha256 -hmac "$1" |
		awk '{print $NF}')"
}

bx_secret_setup() {
	BX_SECRET_FILE=$1/cluster.secret
	(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$BX_SECRET_FILE")
	BX_CLUSTER_TOKEN=$(bx_token_of "$(cat "$BX_SECRET_FILE")")
	printf 'header = "Authorization: Bearer %s"\n' "$BX_CLUSTER_TOKEN" >"$1/.curlrc"
	export CURL_HOME=$1 BLIXARD_TOKEN=$BX_CLUSTER_TOKEN
}
