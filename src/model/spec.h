/* spec.h - the service spec: one table-driven schema for TOML files and JSON bodies. */
#ifndef BX_SPEC_H
#define BX_SPEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A spec arrives as TOML (a file: `blixard start web.toml`, `validate`) or as
 * JSON (the API). Both go through the same schema table (spec.c), which fills
 * defaults, checks types and ranges, and rejects unknown keys naming the
 * closest known one. The canonical form stored in the replicated state is
 * bx_spec_to_json(): every field present, defaults filled, so that
 * bx_spec_from_json(bx_spec_to_json(s)) reproduces s exactly and every node's
 * FSM re-validates it identically at apply time.
 */

#define BX_NAME_MAX 63 /* service and node names: [a-z0-9-], 1..63, no leading '-' */

/*
 * A service record's key: the service's name for its first instance, and
 * NAME@I for instance I (1 <= I < count) of a service with count > 1. '@' is
 * not a name character, so no service's name is another's instance key.
 */
#define BX_COUNT_MAX 1000
#define BX_KEY_MAX (BX_NAME_MAX + 4) /* NAME@999 */

/* Diagnostics: every error found, each one line ("web.toml:3:7: …"). */
struct bx_diags {
	char **items;
	size_t len;
};
void bx_diags_add(struct bx_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bx_diags_free(struct bx_diags *d);

/* The libvirt connection of a service with driver "libvirt" and no [vm] uri. */
#define BX_LIBVIRT_DEFAULT_URI "qemu:///system"

enum bx_restart_policy { BX_RESTART_ON_FAILURE, BX_RESTART_ALWAYS, BX_RESTART_NEVER };
enum bx_health_type { BX_HEALTH_NONE, BX_HEALTH_HTTP, BX_HEALTH_TCP };
enum bx_on_partition { BX_ON_PARTITION_STOP, BX_ON_PARTITION_KEEP };

struct bx_port_map {
	uint16_t host;
	uint16_t guest;
	bool udp; /* "8080:80/udp" */
};

/* Every owned pointer is heap memory released by bx_spec_free; NULL when unset. */
struct bx_spec {
	char name[BX_KEY_MAX + 1]; /* [service] name; the agent runs an instance under its key */
	char driver[16];          /* "qemu" (default) | "libvirt" | "microvm-nix" | "process" */
	uint32_t memory_mb;       /* default 256, 16..1048576 */
	uint32_t vcpus;           /* default 1, 1..256 */
	uint32_t count;           /* instances, one per node: NAME, NAME@1, … (default 1) */
	uint32_t stop_timeout_ms; /* graceful stop before a hard kill, default 10000 */

	struct {
		char *kernel, *initrd, *cmdline, *disk; /* paths on the host running it */
		char *runner;                         /* microvm-nix runner dir */
		char *accel;                          /* "auto" (default) | "kvm" | "tcg" */
		char *tap;                            /* tap interface for bridged networking */
		char *uri;                            /* libvirt connection URI */
	} vm;

	struct {
		char **command; /* argv, command_len >= 1 for driver "process" */
		size_t command_len;
		char **env; /* "KEY=value" */
		size_t env_len;
		char *workdir;
	} process;

	struct {
		struct bx_port_map *ports;
		size_t ports_len;
	} network;

	struct {
		enum bx_health_type type; /* default none */
		char *path;               /* http: default "/health" */
		char *expect;             /* http: body must contain this, optional */
		uint16_t port;            /* host port checked */
		uint32_t interval_ms;     /* default 1000 */
		uint32_t timeout_ms;      /* default 500 */
		uint32_t grace_ms;        /* after start, failures do not count; default 0 */
		uint32_t unhealthy_after; /* consecutive failures, default 3 */
		uint32_t healthy_after;   /* consecutive successes, default 1 */
	} health;

	/* A Prometheus exporter the service serves on its node's host port:
	 * listed by GET /v1/prometheus/targets while it runs. */
	struct {
		uint16_t port; /* 0: none */
		char *path;    /* default "/metrics" when port is set */
	} metrics;

	struct {
		enum bx_restart_policy policy; /* default on-failure */
		uint32_t max_attempts;         /* within window_ms, default 3 */
		uint32_t window_ms;            /* default 60000 */
		uint32_t backoff_ms;           /* first delay, doubled each time, default 500 */
		uint32_t backoff_max_ms;       /* default 30000 */
	} restart;

	struct {
		char **constraints; /* node labels "key=value" the node must carry */
		size_t constraints_len;
		char **anti_affinity; /* services this one avoids sharing a node with */
		size_t anti_affinity_len;
		enum bx_on_partition on_partition; /* default stop */
	} placement;
};

/*
 * A node label, or a constraint naming one: "key=value"; the key is 1..63 of
 * A-Z a-z 0-9 _ . -, the value at most 127 printable ASCII characters other
 * than ',' (labels are given comma-separated on the command line).
 */
#define BX_LABEL_KEY_MAX 63
#define BX_LABEL_VALUE_MAX 127
#define BX_NODE_LABELS_MAX 64 /* labels a node may have */
bool bx_label_valid(const char *label);

/* Fill `spec` with every default (name empty). */
void bx_spec_init(struct bx_spec *spec);

/* Release what the spec owns (not the struct itself); NULL allowed. */
void bx_spec_free(struct bx_spec *spec);

/* True if `name` is a valid service or node name. */
bool bx_name_valid(const char *name);

/* True if `key` is a service name or NAME@I, 1 <= I < BX_COUNT_MAX (no leading 0). */
bool bx_key_valid(const char *key);
/* The instance number of a valid key (0 for a plain name); its name into
 * `name` (BX_NAME_MAX + 1 bytes) when not NULL. */
unsigned bx_key_split(const char *key, char *name);
/* The key of instance `i` of service `name` into out (BX_KEY_MAX + 1 bytes). */
void bx_key_make(char *out, const char *name, unsigned i);

/*
 * Parse a TOML spec. `filename` is used in messages ("web.toml:3:7: unknown
 * key 'memroy_mb' in [service] (did you mean 'memory_mb'?)"). Every error is
 * added to `diags`; returns 0 if there were none, else BX_EINVAL (or
 * BX_EPARSE when the TOML itself is malformed: then only that one error).
 * `default_name`, if not NULL, is used when [service] name is absent.
 * On error *spec is freed and re-initialised.
 */
int bx_spec_parse_toml(const char *filename, const char *src, size_t len,
		       const char *default_name, struct bx_spec *spec, struct bx_diags *diags);

/* Read and parse a file; the name defaults to the file's basename without ".toml". */
int bx_spec_load_file(const char *path, struct bx_spec *spec, struct bx_diags *diags);

/*
 * Validate a JSON spec (API bodies, and the FSM at apply time). Messages name
 * the JSON path ("health.port: must be an integer 1..65535"). Deterministic:
 * checks nothing on the local machine (files, ports, capacity).
 */
int bx_spec_from_json(const cJSON *json, struct bx_spec *spec, struct bx_diags *diags);

/* The canonical JSON of a valid spec; NULL only when out of memory. */
cJSON *bx_spec_to_json(const struct bx_spec *spec);

#endif
