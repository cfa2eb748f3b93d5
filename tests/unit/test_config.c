/* test_config.c - daemon options: flag over file over environment over default. */
#include "tests/unit/harness.h"

#include "src/base/error.h"
#include "src/model/config.h"

#include <stdio.h>
#include <string.h>

static int load(struct bx_config *cfg, int argc, char **argv, char **envp,
		struct bx_diags *d)
{
	bool help;

	bx_config_init(cfg);
	memset(d, 0, sizeof *d);
	return bx_config_load(cfg, argc, argv, envp, &help, d);
}

TEST(defaultsWithoutAnything)
{
	struct bx_config c;
	struct bx_diags d;
	char *env[] = {NULL};

	ASSERT_INT(load(&c, 0, NULL, env, &d), 0);
	ASSERT_STR(c.data_dir, "/var/lib/blixard");
	ASSERT_STR(c.api, "127.0.0.1:7000");
	ASSERT_INT(c.max_voters, 5);
	ASSERT(!c.bootstrap);
	bx_config_free(&c);
}

TEST(flagBeatsFileBeatsEnvironment)
{
	struct bx_config c;
	struct bx_diags d;
	char path[512], cfgarg[600];
	FILE *f;

	snprintf(path, sizeof path, "%s/b.toml", bx_test_tmpdir());
	f = fopen(path, "w");
	fputs("[daemon]\napi = \"10.0.0.1:7000\"\nmax_voters = 3\n", f);
	fclose(f);
	snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
	char *env[] = {"BLIXARD_API=1.1.1.1:1", "BLIXARD_RAFT=2.2.2.2:2",
		       "BLIXARD_MAX_VOTERS=7", NULL};
	char *argv[] = {cfgarg, "--max-voters", "1", "--bootstrap"};

	ASSERT_INT(load(&c, 4, argv, env, &d), 0);
	ASSERT_STR(c.raft, "2.2.2.2:2");    /* env over default */
	ASSERT_STR(c.api, "10.0.0.1:7000"); /* file over env */
	ASSERT_INT(c.max_voters, 1);        /* flag over file */
	ASSERT(c.bootstrap);
	bx_config_free(&c);
}

TEST(unknownFlagSuggestsTheClosest)
{
	struct bx_config c;
	struct bx_diags d;
	char *env[] = {NULL};
	char *argv[] = {"--data-dri", "/x"};

	ASSERT_INT(load(&c, 2, argv, env, &d), BX_EPARSE);
	ASSERT_CONTAINS(d.items[0],
			"unknown option '--data-dri' (did you mean '--data-dir'?)");
	bx_diags_free(&d);
	bx_config_free(&c);
}

TEST(badValuesAreAllReported)
{
	struct bx_config c;
	struct bx_diags d;
	char *env[] = {"BLIXARD_HEARTBEAT_MS=ten", NULL};
	char *argv[] = {"--max-voters", "12", "--raft", "nowhere", "--election-ms", "50"};

	ASSERT_INT(load(&c, 6, argv, env, &d), BX_EINVAL);
	ASSERT(d.len >= 2);
	ASSERT_CONTAINS(d.items[0], "BLIXARD_HEARTBEAT_MS: must be an integer");
	ASSERT_CONTAINS(d.items[1], "--max-voters: must be an integer 1..9, got '12'");
	bx_diags_free(&d);
	bx_config_free(&c);
}

TEST(failoverTimeoutsDefaultFollowTheElectionAndAreChecked)
{
	struct bx_config c;
	struct bx_diags d;
	char *env[] = {NULL};
	char *none[] = {NULL};
	char *slow[] = {"--election-ms", "1000"};
	char *unsafe[] = {"--fence-timeout-ms", "2000", "--node-timeout-ms", "2100"};
	char *short_fence[] = {"--election-ms", "1000", "--fence-timeout-ms", "2000"};

	ASSERT_INT(load(&c, 0, none, env, &d), BX_OK);
	ASSERT_INT(c.lease_ms, 500);
	ASSERT_INT(c.fence_timeout_ms, 1750);
	ASSERT_INT(c.node_timeout_ms, 2250);
	bx_diags_free(&d);
	bx_config_free(&c);
	/* unset, they grow with the election timeout */
	ASSERT_INT(load(&c, 2, slow, env, &d), BX_OK);
	ASSERT_INT(c.fence_timeout_ms, 500 + 2 * 1000 + 250);
	ASSERT_INT(c.node_timeout_ms, 2750 + 500);
	bx_diags_free(&d);
	bx_config_free(&c);
	/* set, they must keep a node from being declared down while it runs */
	ASSERT_INT(load(&c, 4, unsafe, env, &d), BX_EINVAL);
	ASSERT_CONTAINS(d.items[0],
			"node_timeout_ms (2100) must exceed fence_timeout_ms (2000)");
	bx_diags_free(&d);
	bx_config_free(&c);
	/* and a new leader's election from fencing every node */
	ASSERT_INT(load(&c, 4, short_fence, env, &d), BX_EINVAL);
	ASSERT_CONTAINS(d.items[0],
			"fence_timeout_ms (2000) must be at least lease_ms + 2 x "
			"election_ms + 250 (2750)");
	bx_diags_free(&d);
	bx_config_free(&c);
}

TEST(fileErrorsCarryPositionAndSuggestion)
{
	struct bx_config c;
	struct bx_diags d;
	char path[512];
	FILE *f;
	char *env[] = {NULL};

	snprintf(path, sizeof path, "%s/bad.toml", bx_test_tmpdir());
	f = fopen(path, "w");
	fputs("raf = \"x:1\"\n", f);
	fclose(f);
	char *argv[] = {"--config", path};
	ASSERT_INT(load(&c, 2, argv, env, &d), BX_EINVAL);
	ASSERT_CONTAINS(d.items[0],
			"bad.toml:1:7: unknown key 'raf' (did you mean 'raft'?)");
	bx_diags_free(&d);
	bx_config_free(&c);
}

TEST(helpIsRecognised)
{
	struct bx_config c;
	struct bx_diags d = {0};
	char *env[] = {NULL};
	char *argv[] = {"--help"};
	bool help = false;

	bx_config_init(&c);
	ASSERT_INT(bx_config_load(&c, 1, argv, env, &help, &d), 0);
	ASSERT(help);
	bx_config_free(&c);
}

TEST(capacityAndLabelsFromFlagsFileAndHost)
{
	struct bx_config c;
	struct bx_diags d;
	char path[512], cfgarg[600], errmsg[BX_ERRMSG_SIZE];
	char *env[] = {NULL};
	uint32_t mem = 0, cpus = 0;
	FILE *f;

	/* the host's own: its memory less 512 MB, 4 x its CPUs */
	ASSERT_INT(load(&c, 0, NULL, env, &d), 0);
	ASSERT_INT(c.labels_len, 0);
	ASSERT_INT(bx_config_capacity(&c, &mem, &cpus, errmsg), 0);
	ASSERT(mem > 0 && cpus >= 4 && cpus % 4 == 0);
	bx_config_free(&c);

	char *flags[] = {"--memory-mb", "4096",      "--reserved-memory-mb",
			 "1024",        "--vcpus=8", "--reserved-vcpus",
			 "2",           "--labels",  "zone=eu,disk=ssd"};
	ASSERT_INT(load(&c, 9, flags, env, &d), 0);
	ASSERT_INT(bx_config_capacity(&c, &mem, &cpus, errmsg), 0);
	ASSERT_INT(mem, 3072);
	ASSERT_INT(cpus, 6);
	ASSERT_INT(c.labels_len, 2);
	ASSERT_STR(c.labels[1], "disk=ssd");
	bx_config_free(&c);

	snprintf(path, sizeof path, "%s/labels.toml", bx_test_tmpdir());
	f = fopen(path, "w");
	fputs("labels = [\"rack=r1\"]\nmemory_mb = 100\nreserved_memory_mb = 0\n", f);
	fclose(f);
	snprintf(cfgarg, sizeof cfgarg, "--config=%s", path);
	char *file[] = {cfgarg};
	ASSERT_INT(load(&c, 1, file, env, &d), 0);
	ASSERT_INT(c.labels_len, 1);
	ASSERT_STR(c.labels[0], "rack=r1");
	ASSERT_INT(bx_config_capacity(&c, &mem, &cpus, errmsg), 0);
	ASSERT_INT(mem, 100);
	bx_config_free(&c);

	/* bad labels and reserves that take everything are refused, each said */
	char *bad[] = {"--labels",         "zone,disk=ssd,disk=hdd,bad key=x",
		       "--memory-mb",      "512",
		       "--vcpus",          "2",
		       "--reserved-vcpus", "2"};
	ASSERT_INT(load(&c, 8, bad, env, &d), BX_EINVAL);
	ASSERT_INT(d.len, 5);
	ASSERT_CONTAINS(d.items[0], "'zone' is not KEY=VALUE");
	ASSERT_CONTAINS(d.items[1], "'disk=hdd' repeats a key");
	ASSERT_CONTAINS(d.items[2], "'bad key=x' is not KEY=VALUE");
	ASSERT_CONTAINS(d.items[3],
			"reserved_memory_mb (512) must be less than memory_mb (512)");
	ASSERT_CONTAINS(d.items[4], "reserved_vcpus (2) must be less than vcpus (2)");
	bx_diags_free(&d);
	bx_config_free(&c);
}

TEST(discoveryOptionsAreChecked)
{
	struct bx_config c;
	struct bx_diags d;
	char *env[] = {"BLIXARD_TAILSCALE_SOCKET=/run/ts.sock", NULL};
	char *ts[] = {"--discovery", "tailscale", "--bootstrap-expect", "3"};
	char *peers[] = {"--peers", "10.0.0.1:7000,10.0.0.2:7000", "--bootstrap-expect", "2"};
	char *with_join[] = {"--join", "10.0.0.1:7000", "--peers", "10.0.0.1:7000",
			     "--bootstrap-expect", "2"};
	char *no_peers[] = {"--bootstrap-expect", "3"};

	ASSERT_INT(load(&c, 4, ts, env, &d), BX_OK);
	ASSERT_STR(c.discovery, "tailscale");
	ASSERT_STR(c.tailscale_socket, "/run/ts.sock");
	ASSERT_INT(c.bootstrap_expect, 3);
	bx_diags_free(&d);
	bx_config_free(&c);
	ASSERT_INT(load(&c, 4, peers, env, &d), BX_OK);
	ASSERT_INT(c.peers_len, 2);
	bx_diags_free(&d);
	bx_config_free(&c);
	ASSERT_INT(load(&c, 6, with_join, env, &d), BX_EINVAL);
	ASSERT_CONTAINS(d.items[0], "bootstrap_expect discovers the cluster");
	bx_diags_free(&d);
	bx_config_free(&c);
	ASSERT_INT(load(&c, 2, no_peers, env, &d), BX_EINVAL);
	ASSERT_CONTAINS(d.items[0], "bootstrap_expect with static discovery needs peers");
	bx_diags_free(&d);
	bx_config_free(&c);
}
