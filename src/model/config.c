/* config.c - the daemon's configuration: one option table for flags, config file,
 * environment, defaults. */
#include "src/model/config.h"

#include "src/base/error.h"
#include "src/model/invite.h"
#include "src/model/liveness.h"
#include "src/model/schema.h"
#include "src/toml/toml.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

extern char **environ;

/* The failover timeouts' defaults (src/node/heartbeat.h): unset, they are these or
 * the least the rules in liveness.h allow, the larger. */
#define DEFAULT_FENCE_MS 1750
#define DEFAULT_NODE_MS 2250

static uint32_t larger(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

struct option {
	struct bx_field field; /* key in the file, kind, place, range */
	const char *flag;      /* "--data-dir" */
	const char *env;       /* "BLIXARD_DATA_DIR" */
	const char *def;       /* default as text, for --help ("" = none) */
	const char *help;
};

#define OFF(m) offsetof(struct bx_config, m)
#define STR(key, m, flag, env, def, help)                                                \
	{                                                                                \
		{key, BX_F_STR, OFF(m), 0, 0, 0, 4096, NULL}, flag, env, def, help       \
	}
#define U32(key, m, lo, hi, flag, env, def, help)                                        \
	{                                                                                \
		{key, BX_F_U32, OFF(m), 0, 0, lo, hi, NULL}, flag, env, def, help        \
	}

static const char *const discoveries[] = {"static", "tailscale", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

/* The one table: every option of the daemon. */
static const struct option options[] = {
    {{"node_id", BX_F_U64, OFF(node_id), 0, 0, 1, 2147483647u, NULL},
     "--node-id",
     "BLIXARD_NODE_ID",
     "(random, kept in DATA_DIR/node.json)",
     "this node's Raft id"},
    STR("name", name, "--name", "BLIXARD_NAME", "(the host name)", "this node's name"),
    STR("data_dir", data_dir, "--data-dir", "BLIXARD_DATA_DIR", "/var/lib/blixard",
	"state: Raft log, LMDB, VM run directories"),
    STR("api", api, "--api", "BLIXARD_API", "127.0.0.1:7000",
	"HTTP API address HOST:PORT (\"\" = none)"),
    STR("raft", raft, "--raft", "BLIXARD_RAFT", "127.0.0.1:7001",
	"Raft address HOST:PORT"),
    STR("socket", socket, "--socket", "BLIXARD_SOCKET", "/run/blixard/blixard.sock",
	"local API socket, mode 0600 (\"\" = none)"),
    {{"bootstrap", BX_F_BOOL, OFF(bootstrap), 0, 0, 0, 0, NULL},
     "--bootstrap",
     "BLIXARD_BOOTSTRAP",
     "false",
     "start a new cluster if the data dir is fresh"},
    STR("join", join, "--join", "BLIXARD_JOIN", "",
	"join through this member's API HOST:PORT"),
    STR("join_token", join_token, "--join-token", "BLIXARD_JOIN_TOKEN", "",
	"join with this invite ('blixard invite create')"),
    STR("cluster_secret_file", cluster_secret_file, "--cluster-secret-file",
	"BLIXARD_CLUSTER_SECRET_FILE", "",
	"the cluster secret, shared by nodes that bootstrap or join without an invite"),
    {{"discovery", BX_F_STR, OFF(discovery), 0, 0, 0, 16, NULL},
     "--discovery",
     "BLIXARD_DISCOVERY",
     "static",
     "peer discovery: static | tailscale"},
    {{"peers", BX_F_STRS, OFF(peers), OFF(peers_len), 0, 0, 256, NULL},
     "--peers",
     "BLIXARD_PEERS",
     "",
     "static peers' API addresses, comma-separated"},
    STR("tag", tag, "--tag", "BLIXARD_TAG", "tag:blixard",
	"Tailscale tag of cluster peers"),
    STR("tailscale_socket", tailscale_socket, "--tailscale-socket",
	"BLIXARD_TAILSCALE_SOCKET", "/var/run/tailscale/tailscaled.sock",
	"tailscaled's LocalAPI socket (--discovery tailscale)"),
    U32("bootstrap_expect", bootstrap_expect, 0, 9, "--bootstrap-expect",
	"BLIXARD_BOOTSTRAP_EXPECT", "0",
	"form the cluster once this many peers are seen"),
    U32("max_voters", max_voters, 1, 9, "--max-voters", "BLIXARD_MAX_VOTERS", "5",
	"voters at most; further nodes are standbys"),
    U32("heartbeat_ms", heartbeat_ms, 10, 10000, "--heartbeat-ms", "BLIXARD_HEARTBEAT_MS",
	"100", "Raft heartbeat interval"),
    U32("election_ms", election_ms, 50, 60000, "--election-ms", "BLIXARD_ELECTION_MS",
	"500", "Raft election timeout"),
    U32("lease_ms", lease_ms, 20, 60000, "--lease-ms", "BLIXARD_LEASE_MS", "500",
	"heartbeat to the leader, renewing this node's lease"),
    U32("fence_timeout_ms", fence_timeout_ms, 40, 600000, "--fence-timeout-ms",
	"BLIXARD_FENCE_TIMEOUT_MS",
	"1750 or lease_ms + 2 x election_ms + 250, the larger",
	"lease not renewed this long: stop on_partition=stop services"),
    U32("node_timeout_ms", node_timeout_ms, 100, 3600000, "--node-timeout-ms",
	"BLIXARD_NODE_TIMEOUT_MS", "2250 or fence_timeout_ms + 500, the larger",
	"leader: no heartbeat this long, the node is down (its services move)"),
    U32("memory_mb", memory_mb, 0, 1u << 30, "--memory-mb", "BLIXARD_MEMORY_MB",
	"0 (the host's memory)",
	"memory this node offers to services, before the reserve"),
    U32("reserved_memory_mb", reserved_memory_mb, 0, 1u << 30, "--reserved-memory-mb",
	"BLIXARD_RESERVED_MEMORY_MB", "512", "memory kept back for the host"),
    U32("vcpus", vcpus, 0, 1u << 20, "--vcpus", "BLIXARD_VCPUS",
	"0 (4 x the host's CPUs)",
	"vCPUs this node offers to services, before the reserve"),
    U32("reserved_vcpus", reserved_vcpus, 0, 1u << 20, "--reserved-vcpus",
	"BLIXARD_RESERVED_VCPUS", "0", "vCPUs kept back for the host"),
    {{"labels", BX_F_STRS, OFF(labels), OFF(labels_len), 0, 0, 4096, NULL},
     "--labels",
     "BLIXARD_LABELS",
     "",
     "node labels KEY=VALUE, comma-separated (for [placement] constraints)"},
    U32("snapshot_threshold", snapshot_threshold, 4, 10000000, "--snapshot-threshold",
	"BLIXARD_SNAPSHOT_THRESHOLD", "8192", "log entries between snapshots"),
    U32("snapshot_trailing", snapshot_trailing, 0, 10000000, "--snapshot-trailing",
	"BLIXARD_SNAPSHOT_TRAILING", "1024", "log entries kept after a snapshot"),
    {{"log_level", BX_F_STR, OFF(log_level), 0, 0, 0, 16, NULL},
     "--log-level",
     "BLIXARD_LOG_LEVEL",
     "info",
     "debug | info | warn | error"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static char *sdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_list(char ***list, size_t *len)
{
	for (size_t i = 0; i < *len; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*len = 0;
}

void bx_config_init(struct bx_config *cfg)
{
	char host[256] = "";

	memset(cfg, 0, sizeof *cfg);
	if (gethostname(host, sizeof host - 1) == 0) {
		/* a valid node name from the host name: lower case, others -> '-' */
		for (char *p = host; *p; p++) {
			*p = (char)tolower((unsigned char)*p);
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			      *p == '-'))
				*p = '-';
		}
		host[63] = '\0';
	}
	cfg->name = sdup(host[0] && host[0] != '-' ? host : "node");
	cfg->data_dir = sdup("/var/lib/blixard");
	cfg->api = sdup("127.0.0.1:7000");
	cfg->raft = sdup("127.0.0.1:7001");
	cfg->socket = sdup("/run/blixard/blixard.sock");
	cfg->discovery = sdup("static");
	cfg->tag = sdup("tag:blixard");
	cfg->tailscale_socket = sdup("/var/run/tailscale/tailscaled.sock");
	cfg->max_voters = 5;
	cfg->heartbeat_ms = 100;
	cfg->election_ms = 500;
	cfg->lease_ms = 500;
	cfg->fence_timeout_ms = 0; /* derived in check(): DEFAULT_FENCE_MS at least */
	cfg->node_timeout_ms = 0;
	cfg->reserved_memory_mb = 512;
	cfg->snapshot_threshold = 8192;
	cfg->snapshot_trailing = 1024;
	cfg->log_level = sdup("info");
}

void bx_config_free(struct bx_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->config_file);
	free(cfg->name);
	free(cfg->data_dir);
	free(cfg->api);
	free(cfg->raft);
	free(cfg->socket);
	free(cfg->join);
	free(cfg->join_token);
	free(cfg->cluster_secret_file);
	free(cfg->discovery);
	free(cfg->tag);
	free(cfg->tailscale_socket);
	free(cfg->log_level);
	free_list(&cfg->peers, &cfg->peers_len);
	free_list(&cfg->labels, &cfg->labels_len);
	memset(cfg, 0, sizeof *cfg);
}

/* Set one option from text (a flag's or variable's value). */
static int set_text(struct bx_config *cfg, const struct option *o, const char *text,
		    const char *origin, struct bx_diags *diags)
{
	char *at = (char *)cfg + o->field.offset;
	char *end;

	switch (o->field.kind) {
	case BX_F_STR:
		if (o->field.max && strlen(text) > o->field.max) {
			bx_diags_add(diags, "%s: longer than %llu characters", origin,
				     (unsigned long long)o->field.max);
			return BX_EINVAL;
		}
		free(*(char **)(void *)at);
		*(char **)(void *)at = sdup(text);
		return BX_OK;
	case BX_F_U32:
	case BX_F_U64: {
		errno = 0;
		unsigned long long v = strtoull(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
		    v < o->field.min || v > o->field.max) {
			bx_diags_add(diags,
				     "%s: must be an integer %llu..%llu, got '%.32s'",
				     origin, (unsigned long long)o->field.min,
				     (unsigned long long)o->field.max, text);
			return BX_EINVAL;
		}
		if (o->field.kind == BX_F_U32)
			*(uint32_t *)(void *)at = (uint32_t)v;
		else
			*(uint64_t *)(void *)at = v;
		return BX_OK;
	}
	case BX_F_BOOL:
		if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 ||
		    strcmp(text, "yes") == 0) {
			*(bool *)at = true;
		} else if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 ||
			   strcmp(text, "no") == 0 || text[0] == '\0') {
			*(bool *)at = false;
		} else {
			bx_diags_add(diags, "%s: must be true or false, got '%.32s'",
				     origin, text);
			return BX_EINVAL;
		}
		return BX_OK;
	case BX_F_STRS: {
		char ***list = (char ***)(void *)at;
		size_t *len = (size_t *)(void *)((char *)cfg + o->field.len_offset);
		free_list(list, len);
		for (const char *p = text; *p;) {
			size_t n = strcspn(p, ",");
			if (n > 0) {
				char **grown = realloc(*list, (*len + 1) * sizeof *grown);
				if (grown == NULL)
					return BX_ENOMEM;
				*list = grown;
				(*list)[(*len)++] = strndup(p, n);
			}
			p += n;
			if (*p == ',')
				p++;
		}
		return BX_OK;
	}
	default:
		return BX_EINVAL;
	}
}

static int load_file(struct bx_config *cfg, const char *path, struct bx_diags *diags)
{
	struct bx_field fields[N_OPTIONS];
	struct bx_section secs[2];
	struct bx_toml_value *doc;
	struct bx_toml_error err;
	struct bx_doc d = {.filename = path};
	char *src = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re"), *mem;
	char chunk[8192];
	size_t n;
	int rv;

	if (f == NULL) {
		bx_diags_add(diags, "%s: cannot open: %s", path, strerror(errno));
		return BX_EINVAL;
	}
	mem = open_memstream(&src, &len);
	while (mem != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(f);
	if (mem == NULL)
		return BX_ENOMEM;
	fclose(mem);
	rv = bx_toml_parse(src, len, &doc, &err);
	free(src);
	if (rv != 0) {
		bx_diags_add(diags, "%s:%d:%d: %s", path, err.line, err.col, err.msg);
		return BX_EINVAL;
	}
	for (size_t i = 0; i < N_OPTIONS; i++)
		fields[i] = options[i].field;
	/* keys at the top level, or in a [daemon] section */
	secs[0] = (struct bx_section){"", fields, N_OPTIONS};
	secs[1] = (struct bx_section){"daemon", fields, N_OPTIONS};
	d.toml = doc;
	size_t errors = bx_schema_apply(&d, secs, 2, cfg, diags);
	bx_toml_free(doc);
	return errors ? BX_EINVAL : BX_OK;
}

static const struct option *find_flag(const char *flag)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].flag, flag) == 0)
			return &options[i];
	return NULL;
}

static bool valid_hostport(const char *s, bool allow_empty)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (s[0] == '\0')
		return allow_empty;
	if (colon == NULL || colon == s)
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && colon[1] != '\0' && port >= 0 && port <= 65535;
}

static int final_checks(struct bx_config *cfg, struct bx_diags *diags)
{
	size_t before = diags->len;
	const char *origin = cfg->config_file ? cfg->config_file : "configuration";

	(void)origin;
	if (!bx_name_valid(cfg->name))
		bx_diags_add(diags,
			     "name '%s' is invalid: use a-z, 0-9 and '-', at most 63",
			     cfg->name);
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
		bx_diags_add(diags, "data_dir must not be empty");
	if (!valid_hostport(cfg->api, true))
		bx_diags_add(diags, "api: '%s' is not HOST:PORT", cfg->api);
	if (!valid_hostport(cfg->raft, false))
		bx_diags_add(diags, "raft: '%s' is not HOST:PORT", cfg->raft);
	if (cfg->join != NULL && cfg->join[0] != '\0' &&
	    !valid_hostport(cfg->join, false))
		bx_diags_add(diags, "join: '%s' is not HOST:PORT", cfg->join);
	if (cfg->bootstrap && cfg->join != NULL && cfg->join[0] != '\0')
		bx_diags_add(diags, "--bootstrap and --join exclude each other");
	for (size_t i = 0; i < cfg->labels_len; i++) {
		size_t key = strcspn(cfg->labels[i], "=");
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup |= strncmp(cfg->labels[i], cfg->labels[j], key + 1) == 0;
		if (!bx_label_valid(cfg->labels[i]))
			bx_diags_add(
			    diags,
			    "labels: '%.64s' is not KEY=VALUE (key: A-Z a-z 0-9 _ . "
			    "-, at most %d; value: at most %d printable characters)",
			    cfg->labels[i], BX_LABEL_KEY_MAX, BX_LABEL_VALUE_MAX);
		else if (dup)
			bx_diags_add(diags, "labels: '%.64s' repeats a key",
				     cfg->labels[i]);
	}
	if (cfg->labels_len > BX_NODE_LABELS_MAX)
		bx_diags_add(diags, "labels: at most %d, got %zu", BX_NODE_LABELS_MAX,
			     cfg->labels_len);
	if (cfg->memory_mb != 0 && cfg->reserved_memory_mb >= cfg->memory_mb)
		bx_diags_add(diags,
			     "reserved_memory_mb (%u) must be less than memory_mb (%u)",
			     cfg->reserved_memory_mb, cfg->memory_mb);
	if (cfg->vcpus != 0 && cfg->reserved_vcpus >= cfg->vcpus)
		bx_diags_add(diags, "reserved_vcpus (%u) must be less than vcpus (%u)",
			     cfg->reserved_vcpus, cfg->vcpus);
	for (size_t i = 0; i < cfg->peers_len; i++)
		if (!valid_hostport(cfg->peers[i], false))
			bx_diags_add(diags, "peers: '%s' is not HOST:PORT",
				     cfg->peers[i]);
	if (strcmp(cfg->discovery, "static") != 0 &&
	    strcmp(cfg->discovery, "tailscale") != 0)
		bx_diags_add(diags, "discovery must be static or tailscale, got '%s'",
			     cfg->discovery);
	if (cfg->join_token != NULL && cfg->join_token[0] != '\0') {
		struct bx_invite_token t;
		char err[BX_ERRMSG_SIZE];

		if (bx_invite_decode(cfg->join_token, &t, err) != 0)
			bx_diags_add(diags, "join_token: %s", err);
		if (cfg->bootstrap)
			bx_diags_add(diags,
				     "join_token joins a cluster: it cannot go with "
				     "bootstrap");
	}
	if (cfg->bootstrap_expect > 0 &&
	    (cfg->bootstrap || (cfg->join != NULL && cfg->join[0] != '\0') ||
	     (cfg->join_token != NULL && cfg->join_token[0] != '\0')))
		bx_diags_add(diags,
			     "bootstrap_expect discovers the cluster: it cannot go "
			     "with bootstrap or join");
	if (cfg->bootstrap_expect > 0 && strcmp(cfg->discovery, "static") == 0 &&
	    cfg->peers_len == 0)
		bx_diags_add(diags, "bootstrap_expect with static discovery needs peers");
	if (strcmp(cfg->discovery, "tailscale") == 0 &&
	    (cfg->tailscale_socket == NULL || cfg->tailscale_socket[0] == '\0'))
		bx_diags_add(diags, "discovery tailscale needs tailscale_socket");
	if (cfg->election_ms <= cfg->heartbeat_ms)
		bx_diags_add(diags,
			     "election_ms (%u) must be greater than heartbeat_ms (%u)",
			     cfg->election_ms, cfg->heartbeat_ms);
	/* Unset timeouts follow the others: the least that passes the rules
	 * below, and never less than the defaults. */
	if (cfg->fence_timeout_ms == 0)
		cfg->fence_timeout_ms =
		    larger(larger(DEFAULT_FENCE_MS, 2 * cfg->lease_ms),
			   bx_liveness_least_fence(cfg->lease_ms, cfg->election_ms));
	if (cfg->node_timeout_ms == 0)
		cfg->node_timeout_ms =
		    larger(DEFAULT_NODE_MS,
			   cfg->fence_timeout_ms + bx_liveness_margin(cfg->lease_ms));
	char why[BX_ERRMSG_SIZE] = "";
	if (bx_liveness_check(cfg->lease_ms, cfg->fence_timeout_ms, cfg->node_timeout_ms,
			      why) != 0 ||
	    bx_liveness_check_election(cfg->lease_ms, cfg->fence_timeout_ms,
				       cfg->election_ms, why) != 0)
		bx_diags_add(diags, "%s", why);
	bool level_ok = false;
	for (const char *const *l = levels; *l; l++)
		level_ok |= strcmp(*l, cfg->log_level) == 0;
	if (!level_ok)
		bx_diags_add(diags,
			     "log_level must be debug, info, warn or error, got '%s'",
			     cfg->log_level);
	(void)discoveries;
	return diags->len > before ? BX_EINVAL : BX_OK;
}

int bx_config_load(struct bx_config *cfg, int argc, char **argv, char **envp, bool *help,
		   struct bx_diags *diags)
{
	const char *file = NULL;
	char origin[128];
	int rv = BX_OK;

	*help = false;
	if (envp == NULL)
		envp = environ;
	/* 1. where the file is: --config wins over BLIXARD_CONFIG */
	for (char **e = envp; *e; e++)
		if (strncmp(*e, "BLIXARD_CONFIG=", 15) == 0)
			file = *e + 15;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			*help = true;
			return BX_OK;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	/* 2. environment, over the defaults */
	for (size_t o = 0; o < N_OPTIONS; o++) {
		size_t n = strlen(options[o].env);
		for (char **e = envp; *e; e++)
			if (strncmp(*e, options[o].env, n) == 0 && (*e)[n] == '=') {
				snprintf(origin, sizeof origin, "%s", options[o].env);
				if (set_text(cfg, &options[o], *e + n + 1, origin,
					     diags) != 0)
					rv = BX_EINVAL;
			}
	}
	/* 3. the file, over the environment */
	if (file != NULL && file[0] != '\0') {
		free(cfg->config_file);
		cfg->config_file = strdup(file);
		if (load_file(cfg, file, diags) != 0)
			rv = BX_EINVAL;
	}
	/* 4. flags, over everything */
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *value = NULL, *eq = strchr(a, '=');
		char flag[64];
		const struct option *o;

		if (strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		if (strncmp(a, "--", 2) != 0) {
			bx_diags_add(diags, "unexpected argument '%s'", a);
			return BX_EPARSE;
		}
		snprintf(flag, sizeof flag, "%.*s",
			 (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
		o = find_flag(flag);
		if (o == NULL) {
			const char *names[N_OPTIONS + 1];
			for (size_t k = 0; k < N_OPTIONS; k++)
				names[k] = options[k].flag;
			names[N_OPTIONS] = "--config";
			const char *best = bx_closest(flag, names, N_OPTIONS + 1);
			bx_diags_add(diags, "unknown option '%s'%s%s%s", flag,
				     best ? " (did you mean '" : "", best ? best : "",
				     best ? "'?)" : "");
			return BX_EPARSE;
		}
		if (eq != NULL) {
			value = eq + 1;
		} else if (o->field.kind == BX_F_BOOL) {
			value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			bx_diags_add(diags, "%s needs a value", flag);
			return BX_EPARSE;
		}
		if (set_text(cfg, o, value, flag, diags) != 0)
			rv = BX_EINVAL;
	}
	if (rv == BX_OK)
		rv = final_checks(cfg, diags);
	return rv;
}

int bx_config_capacity(const struct bx_config *cfg, uint32_t *memory_mb, uint32_t *vcpus,
		       char *errmsg)
{
	uint64_t mem = cfg->memory_mb, cpus = cfg->vcpus;

	if (mem == 0) {
		struct sysinfo si;
		if (sysinfo(&si) != 0)
			return bx_err(errmsg, BX_EIO, "cannot read the host's memory: %s",
				      strerror(errno));
		mem = (uint64_t)si.totalram * si.mem_unit / (1024 * 1024);
	}
	if (cpus == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		cpus = 4 * (uint64_t)(n > 0 ? n : 1);
	}
	if (mem <= cfg->reserved_memory_mb)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "the host has %llu MB of memory, not more than "
		    "reserved_memory_mb (%u): set memory_mb or a smaller reserve",
		    (unsigned long long)mem, cfg->reserved_memory_mb);
	if (cpus <= cfg->reserved_vcpus)
		return bx_err(errmsg, BX_EINVAL,
			      "the node offers %llu vCPUs, not more than reserved_vcpus "
			      "(%u)",
			      (unsigned long long)cpus, cfg->reserved_vcpus);
	mem -= cfg->reserved_memory_mb;
	cpus -= cfg->reserved_vcpus;
	*memory_mb = mem > UINT32_MAX ? UINT32_MAX : (uint32_t)mem;
	*vcpus = cpus > UINT32_MAX ? UINT32_MAX : (uint32_t)cpus;
	return BX_OK;
}

void bx_config_usage(FILE *out)
{
	fprintf(
	    out,
	    "Options (flag, environment variable, default). Flags override the config\n"
	    "file (--config FILE or BLIXARD_CONFIG; keys as below without '--', at the\n"
	    "top level or in [daemon]), which overrides the environment.\n\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option *o = &options[i];
		char left[64];
		snprintf(left, sizeof left, "%s%s", o->flag,
			 o->field.kind == BX_F_BOOL ? "" : " VALUE");
		fprintf(out, "  %-28s %s\n  %-28s %s%s%s\n", left, o->help, "", o->env,
			o->def[0] ? ", default " : "", o->def);
	}
}

const char *bx_config_flag(size_t i)
{
	size_t n = sizeof options / sizeof options[0];

	if (i == 0)
		return "--config"; /* not in the table: it names the file the table reads */
	return i - 1 < n ? options[i - 1].flag : NULL;
}
