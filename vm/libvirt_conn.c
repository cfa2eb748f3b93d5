/* libvirt_conn.c - a libvirt connection whose calls run off the loop and whose events land on it. */
#include "vm/libvirt_conn.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "src/base/error.h"
#include "vm/qemu.h"

#define KEEPALIVE_INTERVAL_S 5 /* a silent libvirtd is given up after 5 s × 3 */
#define KEEPALIVE_COUNT 3

enum msg_kind { MSG_DONE, MSG_EVENT, MSG_LOST, MSG_ENDED };

/* A message to the loop. Those that must arrive (a job's answer, the
 * worker's end) are allocated before they are needed, inside their job and
 * connection; only events are allocated when they happen. */
struct msg {
	enum msg_kind kind;
	struct job *job; /* MSG_DONE */
	char uuid[BX_LV_UUID_LEN];
	int event, detail; /* MSG_EVENT */
	struct msg *next;
};

struct job {
	enum bx_lv_op op;
	char *name, *xml;
	char uuid[BX_LV_UUID_LEN];
	struct bx_port_map *ports; /* CREATE: checked free right before it */
	size_t n_ports;
	bx_lv_done_cb done;
	void *data;
	struct bx_lv_result res;
	struct msg msg; /* its answer */
	struct job *next;
};

struct bx_lv_conn {
	/* Set at creation, read anywhere. */
	uv_loop_t *loop;
	char *uri;
	uint64_t id; /* what libvirt's callbacks carry instead of a pointer: see post_to_id() */
	uv_async_t async;
	pthread_t worker;

	/* Guarded by lock: jobs to the worker, messages to the loop. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *jobs, **jobs_tail;
	bool quit; /* no more jobs will come: the worker ends once they are done */
	struct msg *msgs, **msgs_tail;
	struct msg ended; /* the worker's last message */

	/* The worker's. */
	virConnectPtr vc;
	int event_id; /* lifecycle callback registration, -1 if none */
	bool close_registered;

	/* The loop's. */
	unsigned refs;
	struct bx_lv_watch *watches;
	void (*put_cb)(void *data);
	void *put_data;
	struct bx_lv_conn *next; /* in `conns` */
};

/* Connections of every loop (the loop's own use only: get/put run on it). */
static struct bx_lv_conn *conns;

/*
 * libvirt calls our event and close callbacks on its event thread, and may
 * do so after we deregistered them (a dispatch already under way). So they
 * carry the connection's id, not its address, and look it up here under
 * live_lock: a connection is in this list from creation until its worker has
 * ended, and leaves it (on the loop) before it is freed.
 */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bx_lv_conn *live[64];
static uint64_t next_id = 1;

/* ---- process-wide: libvirt's event loop thread ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_rc;

static void quiet(void *data, virErrorPtr err)
{
	/* errors are read back with virGetLastErrorMessage(), not printed */
	(void)data;
	(void)err;
}

static void *event_main(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100 * 1000); /* never spin on a broken loop */
	return NULL;
}

/* Start a thread with every signal blocked: signals are the loop's (libuv). */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void init_once(void)
{
	pthread_t t;

	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
		once_rc = BX_EIO;
		return;
	}
	virSetErrorFunc(NULL, quiet);
	if (start_thread(&t, event_main, NULL) != 0) {
		once_rc = BX_EIO;
		return;
	}
	pthread_detach(t);
}

/* ---- messages to the loop ---- */

static void post(struct bx_lv_conn *c, struct msg *m)
{
	m->next = NULL;
	pthread_mutex_lock(&c->lock);
	*c->msgs_tail = m;
	c->msgs_tail = &m->next;
	pthread_mutex_unlock(&c->lock);
	uv_async_send(&c->async);
}

/* Post from libvirt's event thread to connection `id`, if it still lives. */
static void post_to_id(uint64_t id, enum msg_kind kind, virDomainPtr dom, int event, int detail)
{
	struct msg *m = calloc(1, sizeof *m);

	if (m == NULL)
		return; /* a lost event: the owner's checks after a loss still see the end */
	m->kind = kind;
	m->event = event;
	m->detail = detail;
	if (dom != NULL && virDomainGetUUIDString(dom, m->uuid) != 0)
		m->uuid[0] = '\0';
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
		if (live[i] != NULL && live[i]->id == id) {
			post(live[i], m);
			m = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
	free(m);
}

static int on_lifecycle(virConnectPtr vc, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)vc;
	post_to_id((uint64_t)(uintptr_t)opaque, MSG_EVENT, dom, event, detail);
	return 0;
}

static void on_close(virConnectPtr vc, int reason, void *opaque)
{
	(void)vc;
	(void)reason;
	post_to_id((uint64_t)(uintptr_t)opaque, MSG_LOST, NULL, 0, 0);
}

/* ---- the worker ---- */

static void set_error(struct bx_lv_result *res, int code, const char *uri, const char *what)
{
	const char *msg = virGetLastErrorMessage();

	res->code = code;
	snprintf(res->errmsg, sizeof res->errmsg, "libvirt '%s': %s: %s", uri, what,
		 msg != NULL ? msg : "unknown error");
}

static void disconnect(struct bx_lv_conn *c)
{
	if (c->vc == NULL)
		return;
	if (c->event_id >= 0)
		virConnectDomainEventDeregisterAny(c->vc, c->event_id);
	if (c->close_registered)
		virConnectUnregisterCloseCallback(c->vc, on_close);
	virConnectClose(c->vc);
	c->vc = NULL;
	c->event_id = -1;
	c->close_registered = false;
}

/* An open, live connection with our callbacks registered, or an error in res. */
static bool connected(struct bx_lv_conn *c, struct bx_lv_result *res)
{
	void *opaque = (void *)(uintptr_t)c->id;

	if (c->vc != NULL && virConnectIsAlive(c->vc) == 1)
		return true;
	disconnect(c);
	c->vc = virConnectOpen(c->uri);
	if (c->vc == NULL) {
		set_error(res, BX_EUNAVAIL, c->uri, "cannot connect");
		return false;
	}
	/* keepalive needs the event loop, which runs; without it a hung
	 * libvirtd would hold a call forever */
	virConnectSetKeepAlive(c->vc, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT);
	c->event_id = virConnectDomainEventRegisterAny(
	    c->vc, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
	    opaque, NULL);
	if (c->event_id < 0) {
		set_error(res, BX_EUNAVAIL, c->uri, "cannot watch domain events");
		disconnect(c);
		return false;
	}
	c->close_registered = virConnectRegisterCloseCallback(c->vc, on_close, opaque, NULL) == 0;
	return true;
}

static bool no_domain(void)
{
	virErrorPtr e = virGetLastError();

	return e != NULL && e->code == VIR_ERR_NO_DOMAIN;
}

pid_t bx_lv_find_pid(const char *uuid)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (proc == NULL)
		return 0;
	while (found == 0 && (e = readdir(proc)) != NULL) {
		char path[300], buf[8192];
		ssize_t n;
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* arguments are NUL-separated: look for "-uuid" then the UUID */
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
			if (strcmp(buf + i, "-uuid") == 0 && i + 6 < n &&
			    strcmp(buf + i + 6, uuid) == 0)
				found = (pid_t)atoi(e->d_name);
	}
	closedir(proc);
	return found;
}

static void describe(virDomainPtr dom, const char *uuid, struct bx_lv_result *res)
{
	unsigned int id = virDomainGetID(dom);

	res->id = id == (unsigned int)-1 ? -1 : (int)id;
	if (virDomainGetState(dom, &res->state, &res->reason, 0) != 0)
		res->state = VIR_DOMAIN_NOSTATE;
	res->pid = res->state == VIR_DOMAIN_RUNNING || res->state == VIR_DOMAIN_PAUSED
		       ? bx_lv_find_pid(uuid)
		       : 0;
}

static void run_create(struct bx_lv_conn *c, struct job *j)
{
	virDomainPtr dom = virDomainLookupByName(c->vc, j->name);

	/* Ours (blixard-NAME) but not the instance we are asked for: left by
	 * an earlier run whose record was lost. Never run two. */
	if (dom != NULL) {
		if (virDomainIsActive(dom) == 1) {
			if (virDomainDestroy(dom) != 0) {
				set_error(&j->res, BX_EIO, c->uri, "destroy the stale domain");
				virDomainFree(dom);
				return;
			}
			j->res.replaced = true;
		}
		virDomainFree(dom);
	}
	if (j->n_ports > 0) {
		char errmsg[BX_ERRMSG_SIZE] = "";
		int rc = bx_qemu_check_ports(j->ports, j->n_ports, errmsg);
		if (rc != 0) {
			j->res.code = rc;
			snprintf(j->res.errmsg, sizeof j->res.errmsg, "%.*s",
				 (int)sizeof j->res.errmsg - 1, errmsg);
			return;
		}
	}
	dom = virDomainCreateXML(c->vc, j->xml, 0);
	if (dom == NULL) {
		set_error(&j->res, BX_EIO, c->uri, "create domain");
		return;
	}
	describe(dom, j->uuid, &j->res);
	virDomainFree(dom);
}

static void run_on_domain(struct bx_lv_conn *c, struct job *j)
{
	virDomainPtr dom = virDomainLookupByUUIDString(c->vc, j->uuid);
	int rc = 0;

	if (dom == NULL) {
		if (no_domain()) {
			j->res.code = BX_ENOENT;
			snprintf(j->res.errmsg, sizeof j->res.errmsg, "libvirt '%s': no domain %s",
				 c->uri, j->uuid);
		} else {
			set_error(&j->res, BX_EIO, c->uri, "look up domain");
		}
		return;
	}
	switch (j->op) {
	case BX_LV_SHUTDOWN:
		rc = virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN);
		break;
	case BX_LV_DESTROY:
		rc = virDomainDestroy(dom);
		break;
	default:
		break;
	}
	if (rc != 0)
		set_error(&j->res, no_domain() ? BX_ENOENT : BX_EIO, c->uri,
			  j->op == BX_LV_SHUTDOWN ? "shut down" : "destroy");
	else if (j->op == BX_LV_STATE) /* a stop's answer needs no state (nor a /proc scan) */
		describe(dom, j->uuid, &j->res);
	virDomainFree(dom);
}

static void run_job(struct bx_lv_conn *c, struct job *j)
{
	j->res.id = -1;
	if (!connected(c, &j->res))
		return;
	if (j->op == BX_LV_CREATE)
		run_create(c, j);
	else
		run_on_domain(c, j);
}

static void *worker_main(void *arg)
{
	struct bx_lv_conn *c = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&c->lock);
		while (c->jobs == NULL && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		j = c->jobs;
		if (j == NULL) { /* quit, and every job done */
			pthread_mutex_unlock(&c->lock);
			break;
		}
		c->jobs = j->next;
		if (c->jobs == NULL)
			c->jobs_tail = &c->jobs;
		pthread_mutex_unlock(&c->lock);

		run_job(c, j);
		j->msg.kind = MSG_DONE;
		j->msg.job = j;
		post(c, &j->msg);
	}
	disconnect(c);
	c->ended.kind = MSG_ENDED;
	post(c, &c->ended);
	return NULL;
}

/* ---- the loop's side ---- */

static void free_job(struct job *j)
{
	if (j == NULL)
		return;
	free(j->name);
	free(j->xml);
	free(j->ports);
	free(j);
}

/* The async handle's close callback: c and what is left in it. */
static void conn_closed(uv_handle_t *h)
{
	struct bx_lv_conn *c = h->data;
	void (*cb)(void *) = c->put_cb;
	void *data = c->put_data;

	while (c->msgs != NULL) { /* events after the end */
		struct msg *m = c->msgs;
		c->msgs = m->next;
		free(m);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->uri);
	free(c);
	if (cb != NULL)
		cb(data);
}

/* Put c in the live table; false when it is full. */
static bool make_live(struct bx_lv_conn *c)
{
	bool ok = false;

	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < sizeof live / sizeof live[0] && !ok; i++)
		if (live[i] == NULL) {
			c->id = next_id++;
			live[i] = c;
			ok = true;
		}
	pthread_mutex_unlock(&live_lock);
	return ok;
}

static void make_dead(struct bx_lv_conn *c)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (live[i] == c)
			live[i] = NULL;
	pthread_mutex_unlock(&live_lock);
}

/* The worker has ended: nothing refers to c any more but the loop. */
static void conn_end(struct bx_lv_conn *c)
{
	pthread_join(c->worker, NULL);
	make_dead(c);
	uv_close((uv_handle_t *)&c->async, conn_closed);
}

static void dispatch(struct bx_lv_conn *c, struct msg *m)
{
	struct bx_lv_watch *w, *next;

	switch (m->kind) {
	case MSG_DONE:
		m->job->done(m->job->data, &m->job->res);
		break;
	case MSG_EVENT:
		for (w = c->watches; w != NULL; w = next) {
			next = w->next; /* the callback may unwatch w */
			if (strcmp(w->uuid, m->uuid) == 0)
				w->event(w, m->event, m->detail);
		}
		break;
	case MSG_LOST:
		for (w = c->watches; w != NULL; w = next) {
			next = w->next;
			if (w->lost != NULL)
				w->lost(w);
		}
		break;
	case MSG_ENDED:
		break;
	}
}

static void on_async(uv_async_t *a)
{
	struct bx_lv_conn *c = a->data;
	struct msg *msgs;
	bool ended = false;

	pthread_mutex_lock(&c->lock);
	msgs = c->msgs;
	c->msgs = NULL;
	c->msgs_tail = &c->msgs;
	pthread_mutex_unlock(&c->lock);
	while (msgs != NULL) {
		struct msg *m = msgs;
		msgs = m->next;
		dispatch(c, m);
		if (m->kind == MSG_DONE)
			free_job(m->job); /* m with it */
		else if (m->kind == MSG_ENDED)
			ended = true;
		else
			free(m);
	}
	if (ended)
		conn_end(c);
}

struct bx_lv_conn *bx_lv_conn_get(uv_loop_t *loop, const char *uri)
{
	struct bx_lv_conn *c;

	for (c = conns; c != NULL; c = c->next)
		if (c->loop == loop && strcmp(c->uri, uri) == 0) {
			c->refs++;
			return c;
		}
	pthread_once(&once, init_once);
	if (once_rc != 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->uri = strdup(uri);
	if (c->uri == NULL || uv_async_init(loop, &c->async, on_async) != 0) {
		free(c->uri);
		free(c);
		return NULL;
	}
	c->async.data = c;
	c->loop = loop;
	c->refs = 1;
	c->event_id = -1;
	c->jobs_tail = &c->jobs;
	c->msgs_tail = &c->msgs;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (!make_live(c))
		goto err_after_async;
	if (start_thread(&c->worker, worker_main, c) != 0)
		goto err_after_live;
	c->next = conns;
	conns = c;
	return c;

err_after_live:
	make_dead(c);
err_after_async:
	uv_close((uv_handle_t *)&c->async, conn_closed); /* no worker: nothing posted, no put_cb */
	return NULL;
}

void bx_lv_conn_put(struct bx_lv_conn *c, void (*cb)(void *data), void *data)
{
	struct bx_lv_conn **pp;

	if (--c->refs > 0) {
		if (cb != NULL)
			cb(data);
		return;
	}
	for (pp = &conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->put_cb = cb;
	c->put_data = data;
	pthread_mutex_lock(&c->lock);
	c->quit = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

const char *bx_lv_conn_uri(const struct bx_lv_conn *c)
{
	return c->uri;
}

static struct job *new_job(enum bx_lv_op op, const char *name, const char *uuid,
			   const char *xml, bx_lv_done_cb done, void *data)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	j->op = op;
	j->done = done;
	j->data = data;
	snprintf(j->uuid, sizeof j->uuid, "%s", uuid != NULL ? uuid : "");
	if ((name != NULL && (j->name = strdup(name)) == NULL) ||
	    (xml != NULL && (j->xml = strdup(xml)) == NULL)) {
		free_job(j);
		return NULL;
	}
	return j;
}

static void queue(struct bx_lv_conn *c, struct job *j)
{
	pthread_mutex_lock(&c->lock);
	*c->jobs_tail = j;
	c->jobs_tail = &j->next;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int bx_lv_submit(struct bx_lv_conn *c, enum bx_lv_op op, const char *uuid, bx_lv_done_cb done,
		 void *data)
{
	struct job *j = new_job(op, NULL, uuid, NULL, done, data);

	if (j == NULL)
		return BX_ENOMEM;
	queue(c, j);
	return 0;
}

int bx_lv_submit_create(struct bx_lv_conn *c, const char *name, const char *uuid,
			const char *xml, const struct bx_port_map *ports, size_t n_ports,
			bx_lv_done_cb done, void *data)
{
	struct job *j = new_job(BX_LV_CREATE, name, uuid, xml, done, data);

	if (j == NULL)
		return BX_ENOMEM;
	if (n_ports > 0) {
		j->ports = calloc(n_ports, sizeof *j->ports);
		if (j->ports == NULL) {
			free_job(j);
			return BX_ENOMEM;
		}
		memcpy(j->ports, ports, n_ports * sizeof *ports);
		j->n_ports = n_ports;
	}
	queue(c, j);
	return 0;
}

void bx_lv_watch(struct bx_lv_conn *c, struct bx_lv_watch *w)
{
	w->next = c->watches;
	c->watches = w;
}

void bx_lv_unwatch(struct bx_lv_conn *c, struct bx_lv_watch *w)
{
	for (struct bx_lv_watch **pp = &c->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			w->next = NULL;
			return;
		}
}

void bx_lv_new_uuid(char out[BX_LV_UUID_LEN])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof b) {
		ssize_t n = getrandom(b + got, sizeof b - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	for (; got < sizeof b; got++) /* getrandom cannot fail here; never leave it zero */
		b[got] = (unsigned char)rand();
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, BX_LV_UUID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

const char *bx_lv_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return "running";
	case VIR_DOMAIN_BLOCKED:
		return "blocked";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTDOWN:
		return "shutting-down";
	case VIR_DOMAIN_SHUTOFF:
		return "shutoff";
	case VIR_DOMAIN_CRASHED:
		return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:
		return "suspended";
	default:
		return "unknown";
	}
}
