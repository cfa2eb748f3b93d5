/* test_tailscale.c - parsing tailscaled's LocalAPI status: the sample
 * document (tests/fixtures, from ../shared/tailscale), tags and online
 * peers, other backend states, and documents that must be refused. */
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tailscale.h"
#include "src/base/error.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && fseek(f, 0, SEEK_SET) == 0 &&
		    (buf = malloc((size_t)n + 1)) != NULL) {
			*len = fread(buf, 1, (size_t)n, f);
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static int parse(const char *doc, const char *tag, struct bx_ts_status *st, char *err)
{
	return bx_ts_parse_status(doc, strlen(doc), tag, st, err);
}

TEST(sampleHasSelfAndThreePeers)
{
	size_t len = 0;
	char *doc = slurp("tests/fixtures/tailscale-status.json", &len),
	     err[BX_ERRMSG_SIZE];
	struct bx_ts_status st;

	ASSERT_MSG(doc != NULL,
		   "cannot read tests/fixtures/tailscale-status.json (run from the "
		   "repository's root)");
	ASSERT_INT(bx_ts_parse_status(doc, len, "tag:blixard", &st, err), 0);
	ASSERT_STR(st.backend, "Running");
	ASSERT_STR(st.self.host, "node-a");
	ASSERT_STR(st.self.ipv4, "100.101.1.2");
	ASSERT(st.self.tagged);
	ASSERT_INT(st.peers_len, 3);
	/* node-b: tagged and online; node-c: tagged, offline; laptop: no tags */
	for (size_t i = 0; i < st.peers_len; i++) {
		const struct bx_ts_peer *p = &st.peers[i];
		if (strcmp(p->host, "node-b") == 0) {
			ASSERT_STR(p->ipv4, "100.101.3.4");
			ASSERT(bx_ts_candidate(p));
		} else if (strcmp(p->host, "node-c") == 0) {
			ASSERT(p->tagged && !p->online);
			ASSERT(!bx_ts_candidate(p));
		} else {
			ASSERT_STR(p->host, "laptop");
			ASSERT(!p->tagged && p->online);
			ASSERT(!bx_ts_candidate(p));
		}
	}
	bx_ts_status_free(&st);

	/* another tag: node-c carries tag:edge as well */
	ASSERT_INT(bx_ts_parse_status(doc, len, "tag:edge", &st, err), 0);
	for (size_t i = 0; i < st.peers_len; i++)
		ASSERT_INT(st.peers[i].tagged, strcmp(st.peers[i].host, "node-c") == 0);
	ASSERT(!st.self.tagged);
	bx_ts_status_free(&st);
	free(doc);
}

TEST(otherStatesAndEmptyLists)
{
	struct bx_ts_status st;
	char err[BX_ERRMSG_SIZE];

	ASSERT_INT(parse("{\"BackendState\":\"NeedsLogin\",\"Self\":null,\"Peer\":null}",
			 "tag:blixard", &st, err),
		   0);
	ASSERT_STR(st.backend, "NeedsLogin");
	ASSERT_INT(st.peers_len, 0);
	bx_ts_status_free(&st);
	ASSERT_INT(parse("{\"BackendState\":\"Stopped\"}", "tag:blixard", &st, err), 0);
	ASSERT_STR(st.backend, "Stopped");
	bx_ts_status_free(&st);
}

TEST(ipv6OnlyPeerHasNoCandidateAddress)
{
	struct bx_ts_status st;
	char err[BX_ERRMSG_SIZE];

	ASSERT_INT(
	    parse("{\"BackendState\":\"Running\",\"Peer\":{\"nodekey:1\":{\"HostName\":"
		  "\"x\",\"TailscaleIPs\":[\"fd7a::1\",\"not-an-ip\"],\"Tags\":[\"tag:"
		  "blixard\"],\"Online\":true,\"Extra\":{\"deep\":[1,2]}}}}",
		  "tag:blixard", &st, err),
	    0);
	ASSERT_INT(st.peers_len, 1);
	ASSERT_STR(st.peers[0].ipv4, "");
	ASSERT(!bx_ts_candidate(&st.peers[0]));
	bx_ts_status_free(&st);
}

TEST(badDocumentsAreRefusedSayingWhere)
{
	static const struct {
		const char *doc, *want;
	} bad[] = {
	    {"", "not a JSON object"},
	    {"[1]", "not a JSON object"},
	    {"{\"Peer\":{}}", "BackendState"},
	    {"{\"BackendState\":1}", "BackendState"},
	    {"{\"BackendState\":\"Running\",\"Peer\":[]}", "Peer: not an object"},
	    {"{\"BackendState\":\"Running\",\"Peer\":{\"nodekey:9\":3}}",
	     "Peer[\"nodekey:9\"]: not an object"},
	    {"{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"Online\":\"yes\"}}}",
	     "Peer[\"k\"].Online: not a boolean"},
	    {"{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"TailscaleIPs\":\"1.2.3."
	     "4\"}}}",
	     "Peer[\"k\"].TailscaleIPs: not an array"},
	    {"{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"TailscaleIPs\":[7]}}}",
	     "an entry is not a string"},
	    {"{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"Tags\":[null]}}}",
	     "Peer[\"k\"].Tags: an entry is not a string"},
	    {"{\"BackendState\":\"Running\",\"Self\":{\"HostName\":5}}",
	     "Self.HostName: not a string"},
	};
	struct bx_ts_status st;
	char err[BX_ERRMSG_SIZE];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ASSERT_MSG(parse(bad[i].doc, "tag:blixard", &st, err) == BX_EINVAL,
			   "accepted: %s", bad[i].doc);
		ASSERT_CONTAINS(err, bad[i].want);
		ASSERT(st.peers == NULL && st.peers_len == 0);
	}
}

TEST(tooManyPeersAreRefused)
{
	size_t cap = 64 + (size_t)(BX_TS_PEERS_MAX + 1) * 16;
	char *doc = malloc(cap), err[BX_ERRMSG_SIZE];
	size_t n = (size_t)snprintf(doc, cap, "{\"BackendState\":\"Running\",\"Peer\":{");
	struct bx_ts_status st;

	for (int i = 0; i <= BX_TS_PEERS_MAX; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s\"k%d\":{}", i ? "," : "", i);
	snprintf(doc + n, cap - n, "}}");
	ASSERT_INT(parse(doc, "tag:blixard", &st, err), BX_EINVAL);
	ASSERT_CONTAINS(err, "more than");
	free(doc);
}
