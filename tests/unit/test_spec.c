/* test_spec.c - the service spec schema: defaults, every kind of error, JSON round trip.
 */
#include "tests/unit/harness.h"

#include "src/base/error.h"
#include "src/model/spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *src, struct bx_spec *spec, struct bx_diags *d)
{
	bx_spec_init(spec);
	memset(d, 0, sizeof *d);
	return bx_spec_parse_toml("web.toml", src, strlen(src), "web", spec, d);
}

static bool has_diag(const struct bx_diags *d, const char *needle)
{
	for (size_t i = 0; i < d->len; i++)
		if (strstr(d->items[i], needle) != NULL)
			return true;
	return false;
}

static const char process_spec[] = "[service]\ndriver = \"process\"\n"
				   "[process]\ncommand = [\"/bin/sleep\", \"10\"]\n";

TEST(defaultsFillWhatTheFileLeavesOut)
{
	struct bx_spec s;
	struct bx_diags d;

	ASSERT_INT(parse(process_spec, &s, &d), 0);
	ASSERT_STR(s.name, "web");
	ASSERT_INT(s.memory_mb, 256);
	ASSERT_INT(s.vcpus, 1);
	ASSERT_INT(s.restart.policy, BX_RESTART_ON_FAILURE);
	ASSERT_INT(s.restart.max_attempts, 3);
	ASSERT_INT(s.health.type, BX_HEALTH_NONE);
	ASSERT_INT(s.process.command_len, 2);
	ASSERT_STR(s.process.command[1], "10");
	bx_spec_free(&s);
	bx_diags_free(&d);
}

TEST(everyErrorIsListedWithItsPosition)
{
	struct bx_spec s;
	struct bx_diags d;
	const char *src = "[service]\nname = \"Web\"\nmemroy_mb = 12\nvcpus = \"two\"\n"
			  "driver = \"process\"\n[health]\nport = 70000\n[restrt]\n";

	ASSERT_INT(parse(src, &s, &d), BX_EINVAL);
	ASSERT(has_diag(
	    &d, "web.toml:3:13: unknown key 'memroy_mb' in [service] (did you mean "
		"'memory_mb'?)"));
	ASSERT(has_diag(
	    &d, "web.toml:4:9: [service] vcpus: expected an integer, got string"));
	ASSERT(has_diag(&d, "web.toml:7:8: [health] port: must be 1..65535, got 70000"));
	ASSERT(has_diag(&d, "unknown section 'restrt' (did you mean 'restart'?)"));
	ASSERT(has_diag(&d, "service name 'Web' is invalid"));
	ASSERT(has_diag(&d, "needs [process] command"));
	ASSERT(d.len >= 6);
	bx_diags_free(&d);
}

TEST(malformedTomlGivesOneErrorWithLineAndColumn)
{
	struct bx_spec s;
	struct bx_diags d;

	ASSERT_INT(parse("[service\n", &s, &d), BX_EPARSE);
	ASSERT_INT(d.len, 1);
	ASSERT_CONTAINS(d.items[0], "web.toml:1:9:");
	bx_diags_free(&d);
}

TEST(crossFieldRules)
{
	struct bx_spec s;
	struct bx_diags d;

	ASSERT_INT(
	    parse("[service]\ndriver = \"qemu\"\n[health]\ntype = \"http\"\n"
		  "interval_ms = 200\ntimeout_ms = 500\n[restart]\nbackoff_ms = 9000\n"
		  "backoff_max_ms = 100\n",
		  &s, &d),
	    BX_EINVAL);
	ASSERT(has_diag(&d, "driver 'qemu' needs [vm] kernel"));
	ASSERT(has_diag(&d, "type 'http' needs a port"));
	ASSERT(has_diag(&d, "timeout_ms (500) must not exceed interval_ms (200)"));
	ASSERT(has_diag(&d, "backoff_ms (9000) must not exceed backoff_max_ms (100)"));
	bx_diags_free(&d);
}

TEST(portsParseAndBadOnesAreNamed)
{
	struct bx_spec s;
	struct bx_diags d;
	char src[512];

	snprintf(src, sizeof src, "%s[network]\nports = [\"8080:80\", \"53:53/udp\"]\n",
		 process_spec);
	ASSERT_INT(parse(src, &s, &d), 0);
	ASSERT_INT(s.network.ports_len, 2);
	ASSERT_INT(s.network.ports[0].host, 8080);
	ASSERT_INT(s.network.ports[0].guest, 80);
	ASSERT(s.network.ports[1].udp);
	bx_spec_free(&s);
	bx_diags_free(&d);
	snprintf(src, sizeof src,
		 "%s[network]\nports = [\"8080\", \"0:80\", \"1:2/sctp\"]\n",
		 process_spec);
	ASSERT_INT(parse(src, &s, &d), BX_EINVAL);
	ASSERT(has_diag(&d, "entry 1: expected \"HOST:GUEST\""));
	bx_diags_free(&d);
}

TEST(jsonRoundTripIsExact)
{
	struct bx_spec s, back;
	struct bx_diags d;
	char src[1024];
	cJSON *j1, *j2;

	snprintf(src, sizeof src, "%s[process]\n",
		 "[service]\nname = \"api\"\ndriver = \"process\"\nmemory_mb = 512\n"
		 "[health]\ntype = \"tcp\"\nport = 9000\n[placement]\n"
		 "anti_affinity = [\"db\"]\non_partition = \"keep\"\n");
	strcat(src, "command = [\"/bin/true\"]\nenv = [\"A=1\"]\n");
	ASSERT_INT(parse(src, &s, &d), 0);
	j1 = bx_spec_to_json(&s);
	bx_spec_init(&back);
	ASSERT_INT(bx_spec_from_json(j1, &back, &d), 0);
	j2 = bx_spec_to_json(&back);
	ASSERT(cJSON_Compare(j1, j2, 1));
	ASSERT_STR(back.name, "api");
	ASSERT_INT(back.placement.on_partition, BX_ON_PARTITION_KEEP);
	ASSERT_INT(back.health.port, 9000);
	cJSON_Delete(j1);
	cJSON_Delete(j2);
	bx_spec_free(&s);
	bx_spec_free(&back);
	bx_diags_free(&d);
}

TEST(jsonErrorsNameThePath)
{
	struct bx_spec s;
	struct bx_diags d = {0};
	cJSON *j = cJSON_Parse("{\"service\":{\"name\":\"x\",\"driver\":\"floppy\"},"
			       "\"health\":{\"port\":\"80\"},\"extra\":1}");

	bx_spec_init(&s);
	ASSERT_INT(bx_spec_from_json(j, &s, &d), BX_EINVAL);
	ASSERT(has_diag(
	    &d, "service.driver: must be one of qemu, libvirt, microvm-nix, process"));
	ASSERT(has_diag(&d, "health.port: expected an integer, got string"));
	ASSERT(has_diag(&d, "extra: unknown key"));
	cJSON_Delete(j);
	bx_diags_free(&d);
}

TEST(namesFollowTheRules)
{
	ASSERT(bx_name_valid("web-1"));
	ASSERT(!bx_name_valid(""));
	ASSERT(!bx_name_valid("-web"));
	ASSERT(!bx_name_valid("Web"));
	ASSERT(!bx_name_valid("a_b"));
	ASSERT(bx_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	ASSERT(!bx_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

TEST(loadFileTakesTheNameFromTheFile)
{
	char path[512];
	struct bx_spec s;
	struct bx_diags d = {0};
	FILE *f;

	snprintf(path, sizeof path, "%s/cache.toml", bx_test_tmpdir());
	f = fopen(path, "w");
	fputs(process_spec, f);
	fclose(f);
	bx_spec_init(&s);
	ASSERT_INT(bx_spec_load_file(path, &s, &d), 0);
	ASSERT_STR(s.name, "cache");
	bx_spec_free(&s);
	snprintf(path, sizeof path, "%s/missing.toml", bx_test_tmpdir());
	ASSERT_INT(bx_spec_load_file(path, &s, &d), BX_ENOENT);
	ASSERT(has_diag(&d, "missing.toml: cannot open"));
	bx_diags_free(&d);
}

TEST(instanceKeysAreNameOrNameAtIndex)
{
	char key[BX_KEY_MAX + 1], name[BX_NAME_MAX + 1];

	ASSERT(bx_key_valid("web"));
	ASSERT(bx_key_valid("web@1"));
	ASSERT(bx_key_valid("web@999"));
	ASSERT(!bx_key_valid("web@0"));
	ASSERT(!bx_key_valid("web@01"));
	ASSERT(!bx_key_valid("web@1000"));
	ASSERT(!bx_key_valid("web@"));
	ASSERT(!bx_key_valid("web@1@2"));
	ASSERT(!bx_key_valid("web@x"));
	ASSERT(!bx_key_valid("@1"));
	ASSERT(!bx_key_valid("Web@1"));
	bx_key_make(key, "web", 0);
	ASSERT_STR(key, "web");
	bx_key_make(key, "web", 12);
	ASSERT_STR(key, "web@12");
	ASSERT_INT(bx_key_split("web@12", name), 12);
	ASSERT_STR(name, "web");
	ASSERT_INT(bx_key_split("web", name), 0);
	ASSERT_STR(name, "web");
	memset(name, 'a', BX_NAME_MAX);
	name[BX_NAME_MAX] = '\0';
	bx_key_make(key, name, 999);
	ASSERT(bx_key_valid(key));
	ASSERT_INT((int)strlen(key), BX_KEY_MAX);
}

TEST(placementRulesAndCountAreChecked)
{
	struct bx_spec s;
	struct bx_diags d;

	ASSERT_INT(
	    parse("[service]\ndriver = \"process\"\ncount = 2\n"
		  "[process]\ncommand = [\"/bin/true\"]\n[placement]\n"
		  "constraints = [\"zone=eu\", \"zone\", \"bad key=x\", \"v=a,b\"]\n"
		  "anti_affinity = [\"db\", \"Not-A-Name\"]\n",
		  &s, &d),
	    BX_EINVAL);
	ASSERT_INT(d.len, 4); /* count = 2 is fine: instances spread across nodes */
	ASSERT(has_diag(&d, "constraints: 'zone' must be \"key=value\""));
	ASSERT(has_diag(&d, "constraints: 'bad key=x' must be"));
	ASSERT(has_diag(&d, "constraints: 'v=a,b' must be"));
	ASSERT(has_diag(&d, "anti_affinity: 'Not-A-Name' is not a service name"));
	bx_diags_free(&d);
	ASSERT(bx_label_valid("zone=eu"));
	ASSERT(bx_label_valid("k8s.io_x-y="));
	ASSERT(!bx_label_valid("=eu"));
	ASSERT(!bx_label_valid("zone"));
	ASSERT(!bx_label_valid("zone=\x01"));
}

TEST(metricsDeclaresAnExporterPortWithAPath)
{
	struct bx_spec s, back;
	struct bx_diags d;
	char src[512];
	cJSON *j;

	snprintf(src, sizeof src, "%s[metrics]\nport = 9100\n", process_spec);
	ASSERT_INT(parse(src, &s, &d), 0);
	ASSERT_INT(s.metrics.port, 9100);
	ASSERT_STR(s.metrics.path, "/metrics"); /* the default */
	j = bx_spec_to_json(&s);
	bx_spec_init(&back);
	ASSERT_INT(bx_spec_from_json(j, &back, &d), 0);
	ASSERT_INT(back.metrics.port, 9100);
	ASSERT_STR(back.metrics.path, "/metrics");
	cJSON_Delete(j);
	bx_spec_free(&s);
	bx_spec_free(&back);
	/* no [metrics]: none in the JSON either */
	ASSERT_INT(parse(process_spec, &s, &d), 0);
	j = bx_spec_to_json(&s);
	ASSERT(cJSON_GetObjectItem(j, "metrics") == NULL);
	cJSON_Delete(j);
	bx_spec_free(&s);
	bx_diags_free(&d);

	snprintf(src, sizeof src, "%s[metrics]\npath = \"stats\"\nprot = 1\n",
		 process_spec);
	ASSERT_INT(parse(src, &s, &d), BX_EINVAL);
	ASSERT(has_diag(&d, "[metrics] path must begin with '/', got 'stats'"));
	ASSERT(has_diag(&d, "[metrics] path needs a port"));
	ASSERT(has_diag(&d, "web.toml:7:8: unknown key 'prot' in [metrics]"));
	bx_diags_free(&d);
	snprintf(src, sizeof src, "%s[metrics]\nport = 0\n", process_spec);
	ASSERT_INT(parse(src, &s, &d), BX_EINVAL);
	ASSERT(has_diag(&d, "[metrics] port: must be 1..65535, got 0"));
	bx_diags_free(&d);
}

/* Numbers from an API body at the edges of what a double holds: each is
 * refused with the field named, none converted past its type's range (the
 * ASan/UBSan build stops on such a conversion). */
TEST(jsonNumbersAtTheEdgesAreRefusedWithoutUndefinedConversions)
{
	static const double values[] = {
	    9007199254740992.0,  -9007199254740992.0, 9007199254740993.0 * 2,
	    9223372036854775808.0, -9223372036854775808.0, 18446744073709551616.0,
	    1e300, -1e300, 8.44444e23, 1.5, -0.0, -1, 0,
	};
	struct bx_spec s;
	struct bx_diags d = {0};

	for (size_t i = 0; i < sizeof values / sizeof values[0] + 3; i++) {
		double v = i < sizeof values / sizeof values[0] ? values[i]
			   : i == sizeof values / sizeof values[0]     ? NAN
			   : i == sizeof values / sizeof values[0] + 1 ? INFINITY
								       : -INFINITY;
		cJSON *j = cJSON_Parse("{\"service\":{\"name\":\"x\",\"driver\":\"process\"},"
				       "\"process\":{\"command\":[\"/bin/true\"]}}");
		cJSON_AddNumberToObject(cJSON_GetObjectItem(j, "service"), "memory_mb", v);
		bx_spec_init(&s);
		memset(&d, 0, sizeof d);
		ASSERT_MSG(bx_spec_from_json(j, &s, &d) == BX_EINVAL, "memory_mb %g accepted", v);
		ASSERT_MSG(has_diag(&d, "memory_mb"), "memory_mb %g: %s", v,
			   d.len ? d.items[0] : "no message");
		cJSON_Delete(j);
		bx_diags_free(&d);
		bx_spec_free(&s);
	}
	/* the largest a whole number may be here is still taken */
	cJSON *j = cJSON_Parse("{\"service\":{\"name\":\"x\",\"driver\":\"process\","
			       "\"memory_mb\":1048576},\"process\":{\"command\":[\"/bin/true\"]}}");
	bx_spec_init(&s);
	ASSERT_INT(bx_spec_from_json(j, &s, &d), 0);
	ASSERT_INT(s.memory_mb, 1048576);
	cJSON_Delete(j);
	bx_diags_free(&d);
	bx_spec_free(&s);
}
