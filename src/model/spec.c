/* spec.c - the service spec: its schema table, defaults, cross-checks, TOML and JSON
 * forms. */
#include "src/model/spec.h"

#include "src/base/error.h"
#include "src/model/schema.h"
#include "src/toml/toml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- diagnostics ------------------------------------------------------------- */

void bx_diags_add(struct bx_diags *d, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	char **grown;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	grown = realloc(d->items, (d->len + 1) * sizeof *grown);
	if (grown == NULL)
		return;
	d->items = grown;
	d->items[d->len] = strdup(buf);
	if (d->items[d->len] != NULL)
		d->len++;
}

void bx_diags_free(struct bx_diags *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->len; i++)
		free(d->items[i]);
	free(d->items);
	d->items = NULL;
	d->len = 0;
}

/* --- the schema ---------------------------------------------------------------- */

static const char *const drivers[] = {"qemu", "libvirt", "microvm-nix", "process", NULL};
static const char *const policies[] = {"on-failure", "always", "never",
				       NULL}; /* enum order */
static const char *const health_types[] = {"none", "http", "tcp", NULL};
static const char *const partitions[] = {"stop", "keep", NULL};

#define OFF(member) offsetof(struct bx_spec, member)
#define STR(key, member, maxlen)                                                         \
	{                                                                                \
		key, BX_F_STR, OFF(member), 0, 0, 0, maxlen, NULL                        \
	}
#define U32(key, member, lo, hi)                                                         \
	{                                                                                \
		key, BX_F_U32, OFF(member), 0, 0, lo, hi, NULL                           \
	}
#define STRS(key, member, n)                                                             \
	{                                                                                \
		key, BX_F_STRS, OFF(member), OFF(n), 0, 0, 4096, NULL                    \
	}

static const struct bx_field service_fields[] = {
    {"name", BX_F_CHARS, OFF(name), 0, sizeof(((struct bx_spec *)0)->name), 0, 0, NULL},
    {"driver", BX_F_ENUM_STR, OFF(driver), 0, sizeof(((struct bx_spec *)0)->driver), 0, 0,
     drivers},
    U32("memory_mb", memory_mb, 16, 1048576),
    U32("vcpus", vcpus, 1, 256),
    U32("count", count, 1, BX_COUNT_MAX),
    U32("stop_timeout_ms", stop_timeout_ms, 0, 3600000),
};

static const struct bx_field vm_fields[] = {
    STR("kernel", vm.kernel, 4096),
    STR("initrd", vm.initrd, 4096),
    STR("cmdline", vm.cmdline, 4096),
    STR("disk", vm.disk, 4096),
    STR("runner", vm.runner, 4096),
    {"accel", BX_F_STR, OFF(vm.accel), 0, 0, 0, 16, NULL},
    STR("tap", vm.tap, 15),
    STR("uri", vm.uri, 1024),
};

static const struct bx_field process_fields[] = {
    STRS("command", process.command, process.command_len),
    STRS("env", process.env, process.env_len),
    STR("workdir", process.workdir, 4096),
};

static const struct bx_field network_fields[] = {
    {"ports", BX_F_PORTS, OFF(network.ports), OFF(network.ports_len), 0, 0, 0, NULL},
};

static const struct bx_field health_fields[] = {
    {"type", BX_F_ENUM, OFF(health.type), 0, 0, 0, 0, health_types},
    STR("path", health.path, 1024),
    STR("expect", health.expect, 1024),
    {"port", BX_F_U16, OFF(health.port), 0, 0, 1, 65535, NULL},
    U32("interval_ms", health.interval_ms, 100, 3600000),
    U32("timeout_ms", health.timeout_ms, 10, 3600000),
    U32("grace_ms", health.grace_ms, 0, 3600000),
    U32("unhealthy_after", health.unhealthy_after, 1, 100),
    U32("healthy_after", health.healthy_after, 1, 100),
};

static const struct bx_field metrics_fields[] = {
    {"port", BX_F_U16, OFF(metrics.port), 0, 0, 1, 65535, NULL},
    STR("path", metrics.path, 1024),
};

static const struct bx_field restart_fields[] = {
    {"policy", BX_F_ENUM, OFF(restart.policy), 0, 0, 0, 0, policies},
    U32("max_attempts", restart.max_attempts, 0, 1000),
    U32("window_ms", restart.window_ms, 1000, 86400000),
    U32("backoff_ms", restart.backoff_ms, 0, 3600000),
    U32("backoff_max_ms", restart.backoff_max_ms, 0, 3600000),
};

static const struct bx_field placement_fields[] = {
    STRS("constraints", placement.constraints, placement.constraints_len),
    STRS("anti_affinity", placement.anti_affinity, placement.anti_affinity_len),
    {"on_partition", BX_F_ENUM, OFF(placement.on_partition), 0, 0, 0, 0, partitions},
};

#define SECTION(name, fields)                                                            \
	{                                                                                \
		name, fields, sizeof fields / sizeof fields[0]                           \
	}
static const struct bx_section sections[] = {
    SECTION("service", service_fields),     SECTION("vm", vm_fields),
    SECTION("process", process_fields),     SECTION("network", network_fields),
    SECTION("health", health_fields),       SECTION("restart", restart_fields),
    SECTION("placement", placement_fields), SECTION("metrics", metrics_fields),
};

/* --- init / free ---------------------------------------------------------------- */

void bx_spec_init(struct bx_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	snprintf(spec->driver, sizeof spec->driver, "qemu");
	spec->memory_mb = 256;
	spec->vcpus = 1;
	spec->count = 1;
	spec->stop_timeout_ms = 10000;
	spec->health.type = BX_HEALTH_NONE;
	spec->health.interval_ms = 1000;
	spec->health.timeout_ms = 500;
	spec->health.unhealthy_after = 3;
	spec->health.healthy_after = 1;
	spec->health.grace_ms = 30000;
	spec->restart.policy = BX_RESTART_ON_FAILURE;
	spec->restart.max_attempts = 3;
	spec->restart.window_ms = 60000;
	spec->restart.backoff_ms = 500;
	spec->restart.backoff_max_ms = 30000;
	spec->placement.on_partition = BX_ON_PARTITION_STOP;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

void bx_spec_free(struct bx_spec *spec)
{
	if (spec == NULL)
		return;
	free(spec->vm.kernel);
	free(spec->vm.initrd);
	free(spec->vm.cmdline);
	free(spec->vm.disk);
	free(spec->vm.runner);
	free(spec->vm.accel);
	free(spec->vm.tap);
	free(spec->vm.uri);
	free_strs(spec->process.command, spec->process.command_len);
	free_strs(spec->process.env, spec->process.env_len);
	free(spec->process.workdir);
	free(spec->network.ports);
	free(spec->health.path);
	free(spec->metrics.path);
	free(spec->health.expect);
	free_strs(spec->placement.constraints, spec->placement.constraints_len);
	free_strs(spec->placement.anti_affinity, spec->placement.anti_affinity_len);
	bx_spec_init(spec);
}

bool bx_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > BX_NAME_MAX || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

bool bx_key_valid(const char *key)
{
	const char *at = strchr(key, '@');
	char name[BX_NAME_MAX + 1];
	size_t n = at != NULL ? (size_t)(at - key) : strlen(key), digits;

	if (n > BX_NAME_MAX)
		return false;
	memcpy(name, key, n);
	name[n] = '\0';
	if (!bx_name_valid(name))
		return false;
	if (at == NULL)
		return true;
	digits = strlen(at + 1);
	return digits >= 1 && digits <= 3 && at[1] != '0' &&
	       strspn(at + 1, "0123456789") == digits;
}

unsigned bx_key_split(const char *key, char *name)
{
	const char *at = strchr(key, '@');
	size_t n = at != NULL ? (size_t)(at - key) : strlen(key);

	if (name != NULL) {
		if (n > BX_NAME_MAX)
			n = BX_NAME_MAX;
		memcpy(name, key, n);
		name[n] = '\0';
	}
	return at != NULL ? (unsigned)strtoul(at + 1, NULL, 10) : 0;
}

void bx_key_make(char *out, const char *name, unsigned i)
{
	if (i == 0)
		snprintf(out, BX_KEY_MAX + 1, "%.*s", BX_NAME_MAX, name);
	else
		snprintf(out, BX_KEY_MAX + 1, "%.*s@%u", BX_NAME_MAX, name,
			 i % BX_COUNT_MAX);
}

bool bx_label_valid(const char *label)
{
	const char *eq = strchr(label, '=');
	size_t key = eq ? (size_t)(eq - label) : 0;

	if (key == 0 || key > BX_LABEL_KEY_MAX || strlen(eq + 1) > BX_LABEL_VALUE_MAX ||
	    strspn(label,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		key)
		return false;
	for (const char *p = eq + 1; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == ',')
			return false;
	return true;
}

/* --- checking ---------------------------------------------------------------------- */

static size_t cross_check(const struct bx_spec *s, const char *prefix, struct bx_diags *d)
{
	size_t before = d->len;

	if (s->name[0] != '\0' && !bx_name_valid(s->name))
		bx_diags_add(
		    d,
		    "%sservice name '%s' is invalid: use a-z, 0-9 and '-', at most %d "
		    "characters, not starting with '-'",
		    prefix, s->name, BX_NAME_MAX);
	if (s->name[0] == '\0')
		bx_diags_add(d, "%s[service] name is required", prefix);
	if (strcmp(s->driver, "process") == 0 && s->process.command_len == 0)
		bx_diags_add(
		    d, "%sdriver 'process' needs [process] command (a non-empty array)",
		    prefix);
	for (size_t i = 0; i < s->process.command_len; i++)
		if (s->process.command[i][0] == '\0' && i == 0)
			bx_diags_add(d, "%s[process] command: the program name is empty",
				     prefix);
	for (size_t i = 0; i < s->process.env_len; i++) {
		const char *eq = strchr(s->process.env[i], '=');
		if (eq == NULL || eq == s->process.env[i])
			bx_diags_add(d,
				     "%s[process] env: entry %zu must be \"KEY=value\", "
				     "got '%.64s'",
				     prefix, i + 1, s->process.env[i]);
	}
	if ((strcmp(s->driver, "qemu") == 0 || strcmp(s->driver, "libvirt") == 0) &&
	    s->vm.kernel == NULL)
		bx_diags_add(d, "%sdriver '%s' needs [vm] kernel", prefix, s->driver);
	if (strcmp(s->driver, "microvm-nix") == 0 && s->vm.runner == NULL)
		bx_diags_add(d, "%sdriver 'microvm-nix' needs [vm] runner", prefix);
	if (s->vm.accel != NULL && strcmp(s->vm.accel, "auto") != 0 &&
	    strcmp(s->vm.accel, "kvm") != 0 && strcmp(s->vm.accel, "tcg") != 0)
		bx_diags_add(d, "%s[vm] accel must be one of auto, kvm, tcg, got '%.16s'",
			     prefix, s->vm.accel);
	if (s->metrics.path != NULL && s->metrics.path[0] != '/')
		bx_diags_add(d, "%s[metrics] path must begin with '/', got '%.64s'",
			     prefix, s->metrics.path);
	if (s->metrics.path != NULL && s->metrics.port == 0)
		bx_diags_add(d, "%s[metrics] path needs a port", prefix);
	if (s->health.type != BX_HEALTH_NONE && s->health.port == 0)
		bx_diags_add(d, "%s[health] type '%s' needs a port", prefix,
			     s->health.type == BX_HEALTH_HTTP ? "http" : "tcp");
	if (s->health.timeout_ms > s->health.interval_ms)
		bx_diags_add(
		    d, "%s[health] timeout_ms (%u) must not exceed interval_ms (%u)",
		    prefix, s->health.timeout_ms, s->health.interval_ms);
	if (s->restart.backoff_ms > s->restart.backoff_max_ms)
		bx_diags_add(
		    d, "%s[restart] backoff_ms (%u) must not exceed backoff_max_ms (%u)",
		    prefix, s->restart.backoff_ms, s->restart.backoff_max_ms);
	for (size_t i = 0; i < s->placement.anti_affinity_len; i++)
		if (!bx_name_valid(s->placement.anti_affinity[i]))
			bx_diags_add(
			    d,
			    "%s[placement] anti_affinity: '%.64s' is not a service name",
			    prefix, s->placement.anti_affinity[i]);
	for (size_t i = 0; i < s->placement.constraints_len; i++)
		if (!bx_label_valid(s->placement.constraints[i]))
			bx_diags_add(
			    d,
			    "%s[placement] constraints: '%.64s' must be \"key=value\" "
			    "(key: A-Z a-z 0-9 _ . -, at most %d; value: at most %d "
			    "printable characters, no ',')",
			    prefix, s->placement.constraints[i], BX_LABEL_KEY_MAX,
			    BX_LABEL_VALUE_MAX);
	return d->len - before;
}

/* Walk the document into spec, then fill the defaults that depend on other fields. */
static size_t walk(const struct bx_doc *doc, struct bx_spec *spec, struct bx_diags *diags)
{
	size_t errors = bx_schema_apply(
	    doc, sections, sizeof sections / sizeof sections[0], spec, diags);

	if (spec->health.type == BX_HEALTH_HTTP && spec->health.path == NULL)
		spec->health.path = strdup("/health");
	if (spec->metrics.port != 0 && spec->metrics.path == NULL)
		spec->metrics.path = strdup("/metrics");
	if (spec->vm.accel == NULL && strcmp(spec->driver, "process") != 0)
		spec->vm.accel = strdup("auto");
	if (spec->vm.uri == NULL && strcmp(spec->driver, "libvirt") == 0)
		spec->vm.uri = strdup(BX_LIBVIRT_DEFAULT_URI);
	return errors;
}

/* Defaults that depend on the service's name, once it is known. */
static void named_defaults(struct bx_spec *spec)
{
	/* microvm.nix's host module keeps a VM's runner here */
	if (strcmp(spec->driver, "microvm-nix") == 0 && spec->vm.runner == NULL &&
	    bx_name_valid(spec->name) &&
	    asprintf(&spec->vm.runner, "/var/lib/microvms/%s/current", spec->name) < 0)
		spec->vm.runner = NULL;
}

int bx_spec_parse_toml(const char *filename, const char *src, size_t len,
		       const char *default_name, struct bx_spec *spec,
		       struct bx_diags *diags)
{
	struct bx_toml_value *doc;
	struct bx_toml_error err;
	struct bx_doc d = {.filename = filename};
	char prefix[512];
	int rv;

	bx_spec_free(spec);
	rv = bx_toml_parse(src, len, &doc, &err);
	if (rv != 0) {
		bx_diags_add(diags, "%s:%d:%d: %s", filename, err.line, err.col, err.msg);
		return rv == BX_EPARSE ? BX_EPARSE : rv;
	}
	d.toml = doc;
	size_t errors = walk(&d, spec, diags);
	if (spec->name[0] == '\0' && default_name != NULL)
		snprintf(spec->name, sizeof spec->name, "%s", default_name);
	named_defaults(spec);
	snprintf(prefix, sizeof prefix, "%s: ", filename);
	/* cross-field checks run even after field errors: every problem is listed */
	errors += cross_check(spec, prefix, diags);
	bx_toml_free(doc);
	if (errors != 0) {
		bx_spec_free(spec);
		return BX_EINVAL;
	}
	return BX_OK;
}

int bx_spec_load_file(const char *path, struct bx_spec *spec, struct bx_diags *diags)
{
	char name[BX_NAME_MAX + 1] = "", *src = NULL;
	const char *base = strrchr(path, '/');
	size_t len = 0, cap = 0, n;
	FILE *f;
	int rv;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".toml") == 0)
		n -= 5;
	if (n <= BX_NAME_MAX) {
		memcpy(name, base, n);
		name[n] = '\0';
	}
	f = fopen(path, "re");
	if (f == NULL) {
		bx_diags_add(diags, "%s: cannot open: %s", path, strerror(errno));
		bx_spec_free(spec);
		return BX_ENOENT;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > BX_TOML_MAX_INPUT + 1) {
				bx_diags_add(diags, "%s: larger than %u bytes", path,
					     BX_TOML_MAX_INPUT);
				free(src);
				fclose(f);
				return BX_ETOOBIG;
			}
			char *grown = realloc(src, cap);
			if (grown == NULL) {
				free(src);
				fclose(f);
				return BX_ENOMEM;
			}
			src = grown;
		}
		n = fread(src + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		bx_diags_add(diags, "%s: read error", path);
		free(src);
		fclose(f);
		return BX_EIO;
	}
	fclose(f);
	rv = bx_spec_parse_toml(path, src ? src : "", len, name[0] ? name : NULL, spec,
				diags);
	free(src);
	return rv;
}

int bx_spec_from_json(const cJSON *json, struct bx_spec *spec, struct bx_diags *diags)
{
	struct bx_doc d = {.json = json};
	size_t errors;

	bx_spec_free(spec);
	errors = walk(&d, spec, diags);
	named_defaults(spec);
	errors += cross_check(spec, "", diags);
	if (errors != 0) {
		bx_spec_free(spec);
		return BX_EINVAL;
	}
	return BX_OK;
}

/* --- canonical JSON ------------------------------------------------------------- */

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
}

static void add_strs(cJSON *o, const char *key, char **v, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, key);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

cJSON *bx_spec_to_json(const struct bx_spec *s)
{
	cJSON *root = cJSON_CreateObject(), *o;
	char port[32];

	if (root == NULL)
		return NULL;
	o = cJSON_AddObjectToObject(root, "service");
	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "driver", s->driver);
	cJSON_AddNumberToObject(o, "memory_mb", s->memory_mb);
	cJSON_AddNumberToObject(o, "vcpus", s->vcpus);
	cJSON_AddNumberToObject(o, "count", s->count);
	cJSON_AddNumberToObject(o, "stop_timeout_ms", s->stop_timeout_ms);

	o = cJSON_AddObjectToObject(root, "vm");
	add_str(o, "kernel", s->vm.kernel);
	add_str(o, "initrd", s->vm.initrd);
	add_str(o, "cmdline", s->vm.cmdline);
	add_str(o, "disk", s->vm.disk);
	add_str(o, "runner", s->vm.runner);
	add_str(o, "accel", s->vm.accel);
	add_str(o, "tap", s->vm.tap);
	add_str(o, "uri", s->vm.uri);

	o = cJSON_AddObjectToObject(root, "process");
	add_strs(o, "command", s->process.command, s->process.command_len);
	add_strs(o, "env", s->process.env, s->process.env_len);
	add_str(o, "workdir", s->process.workdir);

	o = cJSON_AddObjectToObject(root, "network");
	cJSON *ports = cJSON_AddArrayToObject(o, "ports");
	for (size_t i = 0; i < s->network.ports_len; i++) {
		snprintf(port, sizeof port, "%u:%u%s", s->network.ports[i].host,
			 s->network.ports[i].guest,
			 s->network.ports[i].udp ? "/udp" : "");
		cJSON_AddItemToArray(ports, cJSON_CreateString(port));
	}

	o = cJSON_AddObjectToObject(root, "health");
	cJSON_AddStringToObject(o, "type", health_types[s->health.type]);
	add_str(o, "path", s->health.path);
	add_str(o, "expect", s->health.expect);
	if (s->health.port != 0)
		cJSON_AddNumberToObject(o, "port", s->health.port);
	cJSON_AddNumberToObject(o, "interval_ms", s->health.interval_ms);
	cJSON_AddNumberToObject(o, "timeout_ms", s->health.timeout_ms);
	cJSON_AddNumberToObject(o, "grace_ms", s->health.grace_ms);
	cJSON_AddNumberToObject(o, "unhealthy_after", s->health.unhealthy_after);
	cJSON_AddNumberToObject(o, "healthy_after", s->health.healthy_after);

	o = cJSON_AddObjectToObject(root, "restart");
	cJSON_AddStringToObject(o, "policy", policies[s->restart.policy]);
	cJSON_AddNumberToObject(o, "max_attempts", s->restart.max_attempts);
	cJSON_AddNumberToObject(o, "window_ms", s->restart.window_ms);
	cJSON_AddNumberToObject(o, "backoff_ms", s->restart.backoff_ms);
	cJSON_AddNumberToObject(o, "backoff_max_ms", s->restart.backoff_max_ms);

	if (s->metrics.port != 0) {
		o = cJSON_AddObjectToObject(root, "metrics");
		cJSON_AddNumberToObject(o, "port", s->metrics.port);
		add_str(o, "path", s->metrics.path);
	}

	o = cJSON_AddObjectToObject(root, "placement");
	add_strs(o, "constraints", s->placement.constraints,
		 s->placement.constraints_len);
	add_strs(o, "anti_affinity", s->placement.anti_affinity,
		 s->placement.anti_affinity_len);
	cJSON_AddStringToObject(o, "on_partition", partitions[s->placement.on_partition]);
	return root;
}
