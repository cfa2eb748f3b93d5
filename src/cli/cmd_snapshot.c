/* cmd_snapshot.c - `blixard snapshot save FILE` and `snapshot restore FILE`: the
 * cluster's state to a file, and its services back into a (new) cluster. */
#include "src/base/error.h"
#include "src/cli/cli.h"
#include "src/cli/cli_http.h"
#include "src/store/store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: blixard snapshot save FILE\n"
    "       blixard snapshot restore FILE\n"
    "  save: the whole replicated state (services, nodes, events, cluster id) as\n"
    "    the daemon asked holds it, checked, written to FILE (mode 0600). Ask the\n"
    "    leader for the newest state.\n"
    "  restore: create every service FILE holds, with its spec and desired state,\n"
    "    in the cluster asked; for disaster recovery into a new cluster (see\n"
    "    docs/OPERATIONS.md). Refused, changing nothing, if the cluster already\n"
    "    has a service of the same name.\n";

/* A snapshot checked by restoring it into a scratch store. */
struct loaded {
	char dir[64];
	struct bx_store *store;
	uint64_t applied;
};

static void unload(struct loaded *l)
{
	char path[128];

	bx_store_close(l->store);
	l->store = NULL;
	for (int i = 0; i < 2 && l->dir[0] != '\0'; i++) {
		snprintf(path, sizeof path, "%s/%s", l->dir,
			 i == 0 ? "data.mdb" : "lock.mdb");
		unlink(path);
	}
	if (l->dir[0] != '\0')
		rmdir(l->dir);
	l->dir[0] = '\0';
}

/* Check buf (every entry and the checksum) by restoring it into a scratch
 * store; false after printing why. */
static bool load(const void *buf, size_t len, const char *what, struct loaded *l)
{
	char msg[BX_ERRMSG_SIZE] = "";
	const char *tmp = getenv("TMPDIR");

	memset(l, 0, sizeof *l);
	snprintf(l->dir, sizeof l->dir, "%s/blixard-snapshot-XXXXXX",
		 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(l->dir) == NULL) {
		fprintf(stderr,
			"blixard snapshot: cannot create a scratch directory: %s\n",
			strerror(errno));
		l->dir[0] = '\0';
		return false;
	}
	if (bx_store_open(l->dir, NULL, &l->store, msg) != 0 ||
	    bx_store_restore(l->store, buf, len, msg) != 0) {
		fprintf(stderr, "blixard snapshot: %s is not a valid snapshot: %s\n",
			what, msg);
		unload(l);
		return false;
	}
	l->applied = bx_store_applied_index(l->store);
	return true;
}

/* "S services (I instances), N nodes, E events, cluster C, index X" */
static void summary(struct loaded *l, FILE *out)
{
	cJSON *services = NULL, *nodes = NULL;
	int groups = 0;
	const cJSON *s;

	bx_store_list_services(l->store, &services);
	bx_store_list_nodes(l->store, &nodes);
	cJSON_ArrayForEach(s, services) groups +=
	    cJSON_GetObjectItemCaseSensitive(s, "service") == NULL;
	fprintf(out,
		"%d services (%d instances), %d nodes, events up to %llu, cluster %s, "
		"applied index %llu\n",
		groups, cJSON_GetArraySize(services), cJSON_GetArraySize(nodes),
		(unsigned long long)bx_store_last_event(l->store),
		bx_store_cluster_id(l->store)[0] ? bx_store_cluster_id(l->store) : "-",
		(unsigned long long)l->applied);
	cJSON_Delete(services);
	cJSON_Delete(nodes);
}

static int save(struct bx_cli *cli, const char *file)
{
	char tmp[4096];
	struct bx_cli_reply r;
	struct loaded l;
	bool ok;
	int fd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", file) >= sizeof tmp) {
		fprintf(stderr, "blixard snapshot: path too long: '%s'\n", file);
		return BX_EXIT_USAGE;
	}
	if (bx_cli_request(cli, "snapshot", "GET", "/v1/snapshot", NULL, &r) != 0)
		return BX_EXIT_ERROR;
	if (!load(r.body, r.len, "the daemon's answer", &l)) {
		bx_cli_reply_free(&r);
		return BX_EXIT_ERROR;
	}
	/* FILE.tmp, synced, renamed over FILE: never half a snapshot under FILE */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ok = fd >= 0 && write(fd, r.body, r.len) == (ssize_t)r.len;
	ok = fd >= 0 && fsync(fd) == 0 && ok;
	ok = fd >= 0 && close(fd) == 0 && ok;
	if (!ok || rename(tmp, file) != 0) {
		fprintf(stderr, "blixard snapshot: cannot write '%s': %s\n", file,
			strerror(errno));
		unlink(tmp);
		bx_cli_reply_free(&r);
		unload(&l);
		return BX_EXIT_ERROR;
	}
	printf("saved %s (%zu bytes): ", file, r.len);
	summary(&l, stdout);
	bx_cli_reply_free(&r);
	unload(&l);
	return BX_EXIT_OK;
}

/* The whole file into *buf; false after printing why. */
static bool read_file(const char *file, char **buf, size_t *len)
{
	FILE *f = fopen(file, "rb");
	long size;
	bool ok;

	*buf = NULL;
	if (f == NULL) {
		fprintf(stderr, "blixard snapshot: cannot open '%s': %s\n", file,
			strerror(errno));
		return false;
	}
	ok = fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	     fseek(f, 0, SEEK_SET) == 0;
	if (ok) {
		*buf = malloc((size_t)size + 1);
		ok = *buf != NULL && fread(*buf, 1, (size_t)size, f) == (size_t)size;
		*len = (size_t)size;
	}
	if (!ok) {
		fprintf(stderr, "blixard snapshot: cannot read '%s': %s\n", file,
			strerror(errno ? errno : EIO));
		free(*buf);
		*buf = NULL;
	}
	fclose(f);
	return ok;
}

/* The services of the snapshot (first instances: a put makes the others) that
 * the cluster has too, printed; how many. -1 if the cluster cannot be read. */
static int clashes(struct bx_cli *cli, const cJSON *services)
{
	struct bx_cli_reply r;
	const cJSON *s, *have;
	int n = 0;

	if (bx_cli_request(cli, "snapshot", "GET", "/v1/services", NULL, &r) != 0)
		return -1;
	cJSON_ArrayForEach(s, services)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(s, "name"));
		cJSON_ArrayForEach(have, r.json)
		{
			const char *other =
			    cJSON_GetStringValue(cJSON_GetObjectItem(have, "name"));
			if (name != NULL && other != NULL && strcmp(name, other) == 0) {
				fprintf(
				    stderr,
				    "blixard snapshot: the cluster already has service "
				    "'%s'\n",
				    name);
				n++;
			}
		}
	}
	bx_cli_reply_free(&r);
	return n;
}

static int restore(struct bx_cli *cli, const char *file)
{
	struct loaded l;
	cJSON *services = NULL, *s;
	char *buf;
	size_t len;
	int total = 0, done = 0, rv = BX_EXIT_ERROR, clash;
	bool tty = isatty(STDERR_FILENO);

	if (!read_file(file, &buf, &len))
		return BX_EXIT_ERROR;
	if (!load(buf, len, file, &l)) {
		free(buf);
		return BX_EXIT_ERROR;
	}
	free(buf);
	printf("%s: ", file);
	summary(&l, stdout);
	if (bx_store_list_services(l.store, &services) != 0) {
		fprintf(stderr, "blixard snapshot: cannot read the services of '%s'\n",
			file);
		goto out;
	}
	/* one put per service: its first instance's record carries the spec
	 * (with the count) and the desired state */
	for (s = services->child; s != NULL;) {
		cJSON *next = s->next;
		if (cJSON_GetObjectItemCaseSensitive(s, "service") != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(services, s));
		else
			total++;
		s = next;
	}
	clash = clashes(cli, services);
	if (clash != 0) {
		if (clash > 0)
			fprintf(
			    stderr,
			    "blixard snapshot: nothing restored: %d service%s exist%s "
			    "already (remove %s first, or restore into a new cluster)\n",
			    clash, clash == 1 ? "" : "s", clash == 1 ? "s" : "",
			    clash == 1 ? "it" : "them");
		goto out;
	}
	cJSON_ArrayForEach(s, services)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(s, "name"));
		const char *desired =
		    cJSON_GetStringValue(cJSON_GetObjectItem(s, "desired"));
		cJSON *body = cJSON_CreateObject();
		struct bx_cli_reply r;
		char path[128];
		int call;

		cJSON_AddItemToObject(body, "spec",
				      cJSON_Duplicate(cJSON_GetObjectItem(s, "spec"), 1));
		cJSON_AddBoolToObject(body, "start",
				      desired != NULL && strcmp(desired, "running") == 0);
		snprintf(path, sizeof path, "/v1/services/%s", name != NULL ? name : "");
		call = bx_cli_request(cli, "snapshot", "PUT", path, body, &r);
		cJSON_Delete(body);
		if (call != 0) {
			fprintf(stderr,
				"blixard snapshot: stopped at service '%s': %d of %d "
				"restored\n",
				name != NULL ? name : "?", done, total);
			goto out;
		}
		bx_cli_reply_free(&r);
		done++;
		if (tty)
			fprintf(stderr, "\rrestoring services: %d/%d", done, total);
	}
	if (tty && total > 0)
		fprintf(stderr, "\n");
	printf("restored %d services\n", done);
	rv = BX_EXIT_OK;
out:
	cJSON_Delete(services);
	unload(&l);
	return rv;
}

int bx_cmd_snapshot(struct bx_cli *cli, int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return BX_EXIT_OK;
	}
	if (argc != 3 ||
	    (strcmp(argv[1], "save") != 0 && strcmp(argv[1], "restore") != 0)) {
		fprintf(stderr,
			"blixard snapshot: expected 'save FILE' or 'restore FILE'\n%s",
			usage);
		return BX_EXIT_USAGE;
	}
	return strcmp(argv[1], "save") == 0 ? save(cli, argv[2]) : restore(cli, argv[2]);
}
