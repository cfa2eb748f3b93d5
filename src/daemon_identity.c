/* daemon_identity.c - the data directory: its lock, the node's identity, the
 * cluster secret, and the addresses this node advertises. */
#include "src/daemon_internal.h"

#include "raft/node.h"
#include "src/base/file.h"
#include "src/base/json.h"
#include "src/base/log.h"
#include "src/model/secret.h"
#include "src/node/advertise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Read node.json. BX_ENOENT if absent; a clear error naming the file if bad. */
static int identity_load(struct bx_daemon *d, uint64_t *id, char *cluster_id,
			 char *errmsg)
{
	char buf[4096];
	ssize_t n;
	int fd = open(d->identity_path, O_RDONLY | O_CLOEXEC);
	cJSON *json, *jid, *jcluster;

	if (fd < 0) {
		if (errno == ENOENT)
			return BX_ENOENT;
		return bx_err(errmsg, BX_EIO, "read '%s': %s", d->identity_path,
			      strerror(errno));
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return bx_err(errmsg, BX_EIO, "read '%s': %s", d->identity_path,
			      strerror(errno));
	buf[n] = '\0';
	json = cJSON_Parse(buf);
	jid = cJSON_GetObjectItemCaseSensitive(json, "id");
	jcluster = cJSON_GetObjectItemCaseSensitive(json, "cluster_id");
	if (!bx_json_whole(jid, 1, id) || !cJSON_IsString(jcluster) ||
	    strlen(jcluster->valuestring) > 64) {
		cJSON_Delete(json);
		return bx_err(
		    errmsg, BX_ECORRUPT,
		    "'%s' is corrupt (want {\"id\": N, \"cluster_id\": \"...\"})",
		    d->identity_path);
	}
	snprintf(cluster_id, 65, "%s", jcluster->valuestring);
	cJSON_Delete(json);
	return BX_OK;
}

/* Write node.json atomically (temp file, fsync, rename). */
int bx_daemon_identity_save(struct bx_daemon *d, char *errmsg)
{
	char body[256];
	int len = snprintf(body, sizeof body, "{\"id\": %llu, \"cluster_id\": \"%s\"}\n",
			   (unsigned long long)d->id, d->cluster_id);

	return bx_file_replace(d->identity_path, body, (size_t)len, true, errmsg);
}

void bx_daemon_random_hex(char *out, size_t bytes)
{
	unsigned char raw[32];

	if (bytes > sizeof raw)
		bytes = sizeof raw;
	if (getrandom(raw, bytes, 0) != (ssize_t)bytes) {
		/* getrandom on Linux ≥ 3.17 does not fail for ≤ 256 bytes once the
		 * pool is initialised; fall back to time and pid just in case. */
		uint64_t seed = bx_now_ms() ^ ((uint64_t)getpid() << 32);
		for (size_t i = 0; i < bytes; i++)
			raw[i] =
			    (unsigned char)(seed >> ((i % 8) * 8)) ^ (unsigned char)i;
	}
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	out[2 * bytes] = '\0';
}

/* A fresh node id: random, below 2^31 so it survives JSON doubles anywhere. */
static uint64_t random_id(void)
{
	uint32_t v = 0;

	while (v == 0) {
		if (getrandom(&v, sizeof v, 0) != sizeof v)
			v = (uint32_t)(bx_now_ms() ^ (uint64_t)getpid());
		v &= 0x7fffffffu;
	}
	return v;
}

int bx_daemon_lock_dir(struct bx_daemon *d, char *errmsg)
{
	char path[PATH_MAX];
	int rv = bx_path_join(path, sizeof path, d->cfg->data_dir, "lock", errmsg);

	if (rv != 0)
		return rv;
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return bx_err(errmsg, BX_EIO, "open '%s': %s", path, strerror(errno));
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return bx_err(errmsg, BX_EBUSY,
			      "data directory '%s' is in use by another blixard daemon",
			      d->cfg->data_dir);
	return BX_OK;
}

/* Decide this node's identity from node.json, the flags and the raft dir. */
int bx_daemon_establish_identity(struct bx_daemon *d, bool raft_fresh, char *errmsg)
{
	uint64_t id = 0;
	char cluster[65] = "";
	int rv = identity_load(d, &id, cluster, errmsg);

	if (rv == BX_ENOENT) {
		if (!raft_fresh)
			return bx_err(errmsg, BX_ECORRUPT,
				      "'%s' is missing but '%s/raft' holds Raft state: "
				      "refusing to guess this node's identity",
				      d->identity_path, d->cfg->data_dir);
		d->id = d->cfg->node_id ? d->cfg->node_id : random_id();
		d->cluster_id[0] = '\0';
		return BX_OK;
	}
	if (rv != 0)
		return rv;
	if (d->cfg->node_id != 0 && d->cfg->node_id != id)
		return bx_err(errmsg, BX_EMISMATCH,
			      "data directory '%s' belongs to node %llu, not node %llu",
			      d->cfg->data_dir, (unsigned long long)id,
			      (unsigned long long)d->cfg->node_id);
	d->id = id;
	snprintf(d->cluster_id, sizeof d->cluster_id, "%s", cluster);
	return BX_OK;
}

/* --- the cluster secret --------------------------------------------------- */

static void use_secret(struct bx_daemon *d, const char *secret)
{
	snprintf(d->secret, sizeof d->secret, "%s", secret);
	if (d->raft != NULL)
		bx_raft_node_set_secret(d->raft, d->secret);
	/* derived once: the API compares every request's token with it */
	bx_secret_api_token(d->secret, d->cluster_token);
	snprintf(d->peer_auth, sizeof d->peer_auth, "Authorization: Bearer %s",
		 d->cluster_token);
	d->peer_headers[0] = d->peer_auth;
	d->peer_headers[1] = NULL;
}

int bx_daemon_set_secret(struct bx_daemon *d, const char *secret, char *errmsg)
{
	int rv = bx_secret_save(d->cfg->data_dir, secret, errmsg);

	if (rv != 0)
		return rv;
	use_secret(d, secret);
	return BX_OK;
}

/* The secret in the data dir, or else the one of --cluster-secret-file
 * (then kept in the data dir); the two must agree. A node with Raft state
 * must have one: it was written before that state. */
int bx_daemon_load_secret(struct bx_daemon *d, bool raft_fresh, char *errmsg)
{
	char path[PATH_MAX], kept[BX_SECRET_MAX + 1] = "", given[BX_SECRET_MAX + 1] = "";
	const char *file = d->cfg->cluster_secret_file;
	int rv = bx_path_join(path, sizeof path, d->cfg->data_dir, BX_SECRET_FILE, errmsg);

	if (rv != 0)
		return rv;
	rv = bx_secret_read(path, kept, errmsg);
	if (rv != 0 && rv != BX_ENOENT)
		return rv;
	rv = BX_OK;
	if (file != NULL && file[0] != '\0') {
		rv = bx_secret_read(file, given, errmsg);
		if (rv == 0 && kept[0] != '\0' && strcmp(kept, given) != 0)
			rv = bx_err(
			    errmsg, BX_EMISMATCH,
			    "'%s' holds another cluster secret than '%s' (this node's "
			    "cluster): give the secret of the cluster it belongs to",
			    file, path);
	}
	if (rv == 0 && kept[0] != '\0')
		use_secret(d, kept);
	else if (rv == 0 && given[0] != '\0')
		rv = bx_daemon_set_secret(d, given, errmsg);
	else if (rv == 0 && !raft_fresh)
		rv = bx_err(
		    errmsg, BX_ECORRUPT,
		    "'%s/raft' holds Raft state but there is no cluster secret '%s': "
		    "copy it from another member, or give it with "
		    "--cluster-secret-file",
		    d->cfg->data_dir, path);
	OPENSSL_cleanse(kept, sizeof kept);
	OPENSSL_cleanse(given, sizeof given);
	return rv;
}

/*
 * The addresses to advertise. A wildcard host needs tailscaled, which may be
 * starting along with this daemon: asked a few times over ~15 s (a SIGTERM
 * meanwhile ends the wait), then a clear error.
 */
int bx_daemon_resolve_addresses(struct bx_daemon *d, const sigset_t *stop, char *errmsg)
{
	const char *api = d->cfg->api != NULL ? d->cfg->api : "";
	char ip[16] = "";
	unsigned wait_ms = 500;
	int rv;

	snprintf(d->api_addr, sizeof d->api_addr, "%s", api);
	snprintf(d->raft_addr, sizeof d->raft_addr, "%s", d->cfg->raft);
	if (!bx_advertise_wildcard(d->cfg->raft) &&
	    (api[0] == '\0' || !bx_advertise_wildcard(api)))
		return BX_OK;
	if (strcmp(d->cfg->discovery, "tailscale") != 0)
		return bx_err(
		    errmsg, BX_EINVAL,
		    "'%s' listens on every address: give the one other nodes reach "
		    "(HOST:PORT), or use --discovery tailscale to advertise the "
		    "Tailscale address",
		    bx_advertise_wildcard(d->cfg->raft) ? d->cfg->raft : api);
	for (;;) {
		struct timespec ts = {.tv_sec = wait_ms / 1000,
				      .tv_nsec = (long)(wait_ms % 1000) * 1000000L};
		rv = bx_advertise_tailscale_ip(d->cfg->tailscale_socket, ip, errmsg);
		if (rv == 0 || wait_ms > 8000)
			break;
		BX_WARN("daemon", "%s; the address to advertise: asking again in %u ms",
			errmsg, wait_ms);
		if (sigtimedwait(stop, NULL, &ts) > 0)
			return bx_err(errmsg, BX_ESHUTDOWN,
				      "stopped while waiting for tailscaled");
		wait_ms *= 2;
	}
	if (rv != 0)
		return bx_errwrap(errmsg, rv, "the Tailscale address to advertise");
	bx_advertise_with(api, ip, d->api_addr);
	bx_advertise_with(d->cfg->raft, ip, d->raft_addr);
	BX_INFO("daemon", "advertising API %s and raft %s (the Tailscale address)",
		d->api_addr[0] ? d->api_addr : "-", d->raft_addr);
	return BX_OK;
}

/* --- identity after a join --------------------------------------------- */

int bx_daemon_adopt_cluster(struct bx_daemon *d, const char *cluster_id, char *errmsg)
{
	if (d->cluster_id[0] != '\0') {
		if (strcmp(d->cluster_id, cluster_id) == 0)
			return BX_OK;
		return bx_err(errmsg, BX_EMISMATCH,
			      "data directory '%s' belongs to cluster %s, not cluster %s",
			      d->cfg->data_dir, d->cluster_id, cluster_id);
	}
	snprintf(d->cluster_id, sizeof d->cluster_id, "%s", cluster_id);
	return bx_daemon_identity_save(d, errmsg);
}
