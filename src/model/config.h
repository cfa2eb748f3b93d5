/* config.h - the daemon's configuration: flags over the config file over BLIXARD_* env over defaults. */
#ifndef BX_CONFIG_H
#define BX_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "src/model/spec.h" /* struct bx_diags */

/*
 * One table (config.c) drives everything about an option: its flag
 * (--data-dir), its environment variable (BLIXARD_DATA_DIR), its key in the
 * config file ([daemon] data_dir, or top-level data_dir), its type, range,
 * default and help line. Precedence, highest first: command-line flag,
 * config file (--config FILE or BLIXARD_CONFIG), environment, default.
 */
struct bx_config {
	char *config_file; /* the file read, or NULL */
	uint64_t node_id;  /* 0 = pick one at first start (then kept in DATA_DIR/node.json) */
	char *name;        /* node name, default: the host name (lower-cased, invalid chars -> '-') */
	char *data_dir;    /* default /var/lib/blixard */
	char *api;         /* HTTP API HOST:PORT, default 127.0.0.1:7000; "" = none */
	char *raft;        /* Raft HOST:PORT, default 127.0.0.1:7001 */
	char *socket;      /* local API socket, default /run/blixard/blixard.sock; "" = none */
	bool bootstrap;    /* start a new cluster if the data dir is fresh */
	char *join;        /* member API HOST:PORT to join through, or NULL */
	char *join_token; /* an invite token (src/model/invite.h), or "" */
	char *cluster_secret_file; /* a secret file (src/model/secret.h), or "" */
	char *discovery;   /* "static" (default) | "tailscale" */
	char **peers;      /* static peers HOST:PORT (API addresses) */
	size_t peers_len;
	char *tag;             /* tailscale peer tag, default "tag:blixard" */
	char *tailscale_socket; /* tailscaled's LocalAPI socket */
	uint32_t bootstrap_expect; /* default 0 (off) */
	uint32_t max_voters;       /* default 5, 1..9 */
	uint32_t heartbeat_ms;     /* default 100, 10..10000 */
	uint32_t election_ms;      /* default 500, 50..60000, must be > heartbeat_ms */
	uint32_t lease_ms;         /* agent heartbeat to the leader, default 500 */
	uint32_t fence_timeout_ms; /* lease length: unrenewed, instances stop; default 1750 */
	uint32_t node_timeout_ms;  /* unheard this long, a node is down; default 2250 */
	/* What this node offers to services (src/model/scheduler.h): memory_mb and
	 * vcpus, 0 = detected (the host's memory; 4 x its CPUs), less the
	 * reserves (default 512 MB, 0 vCPUs); labels "key=value". */
	uint32_t memory_mb, reserved_memory_mb;
	uint32_t vcpus, reserved_vcpus;
	char **labels;
	size_t labels_len;
	uint32_t snapshot_threshold; /* entries between snapshots, default 1024, 4..10000000 */
	uint32_t snapshot_trailing;  /* entries kept after a snapshot, default 128, 0..10000000 */
	char *log_level; /* "debug" | "info" (default) | "warn" | "error" */
};

/* Defaults only (no flags, no file, no environment). */
void bx_config_init(struct bx_config *cfg);
void bx_config_free(struct bx_config *cfg); /* NULL allowed */

/*
 * Fill `cfg` from argv (the arguments after "daemon"), the config file and
 * the environment `envp` (NULL: environ). Every problem is added to `diags`
 * ("--max-voters: must be an integer 1..9, got '12'",
 * "/etc/blixard/blixard.toml:4:1: unknown key 'raf' (did you mean 'raft'?)").
 * Returns 0, BX_EINVAL (bad values: exit 1) or BX_EPARSE (bad flag usage:
 * exit 2). `*help` is set when --help was given.
 */
int bx_config_load(struct bx_config *cfg, int argc, char **argv, char **envp, bool *help,
		   struct bx_diags *diags);

/*
 * What the node offers to services after the reserves: the configured
 * amounts, or the host's memory and 4 x its online CPUs where unset. Fails
 * (BX_EINVAL, errmsg says which) when a reserve takes it all.
 */
int bx_config_capacity(const struct bx_config *cfg, uint32_t *memory_mb, uint32_t *vcpus,
		       char *errmsg);

/* Print the options table (flags, env, defaults, help) for `blixard daemon --help`. */
void bx_config_usage(FILE *out);

/* The i-th flag of `blixard daemon` ("--data-dir", "--config"…), NULL past
 * the last: for shell completions. */
const char *bx_config_flag(size_t i);

#endif
