/* process.c - the `process` driver: a plain command run detached, as a service instance.
 */
#include "process.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/*
 * An instance is a process group of its own (UV_PROCESS_DETACHED: setsid),
 * so that it survives the daemon (invariant 6) and a stop reaches every
 * process it started. Its run directory holds:
 *   pid          "PID STARTTIME\n": STARTTIME (field 22 of /proc/PID/stat)
 *                tells a live instance from an unrelated process that got
 *                the same pid later
 *   console.log  its stdout and stderr (rotated once at 8 MiB per start)
 *
 * Exit detection: a process this daemon spawned is its child, and libuv's
 * exit callback gives the status. An adopted one is not (its parent died and
 * init took it), so it is watched through a pidfd, which becomes readable
 * when it ends; its exit status is then unknown (reported as -1) unless it
 * happens to be a child of ours, which waitpid() settles.
 */

#define CONSOLE_MAX (8 << 20)

struct proc {
	uv_process_t *process; /* one per spawn, freed in its close callback */
	uv_poll_t poll;        /* on the pidfd of an adopted instance */
	uv_timer_t kill_timer; /* always initialised: SIGKILL after a stop timeout */
	int pidfd;
	bool process_live, poll_live;
	bool running;
	unsigned open_handles;
	void (*close_cb)(struct bx_vm *vm);
	struct bx_vm *vm;
	char console[PATH_MAX + 16];
	char pidfile[PATH_MAX + 16];
};

unsigned long long bx_proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ..." - comm may hold spaces and ')': skip to the last ')' */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return 0;
	p += 2;
	if (*p == 'Z' || *p == 'X')
		return 0; /* ended: only its exit status is left */
	for (field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

static struct proc *impl(struct bx_vm *vm)
{
	struct proc *p = vm->impl;

	if (p != NULL)
		return p;
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->vm = vm;
	p->pidfd = -1;
	uv_timer_init(vm->loop, &p->kill_timer);
	p->kill_timer.data = p;
	p->open_handles = 1;
	snprintf(p->console, sizeof p->console, "%s/console.log", vm->run_dir);
	snprintf(p->pidfile, sizeof p->pidfile, "%s/pid", vm->run_dir);
	vm->impl = p;
	return p;
}

static int mkdir_p(const char *path, char *errmsg)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return bx_err(errmsg, BX_EINVAL, "path too long: '%s'", path);
	for (char *s = buf + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return bx_err(errmsg, BX_EIO, "create '%s': %s", buf,
				      strerror(errno));
		*s = c;
		if (c == '\0')
			return BX_OK;
	}
}

/* --- exit ------------------------------------------------------------------ */

static void ended(struct proc *p, int64_t status, int term_signal)
{
	struct bx_vm *vm = p->vm;
	pid_t pid = vm->pid;

	if (!p->running)
		return;
	p->running = false;
	uv_timer_stop(&p->kill_timer);
	/* whatever it left behind in its group goes with it: one instance */
	if (pid > 0)
		kill(-pid, SIGKILL);
	unlink(p->pidfile);
	vm->pid = 0;
	vm->state = BX_VM_EXITED;
	if (vm->on_exit != NULL)
		vm->on_exit(vm, status, term_signal);
}

static void released(struct proc *p)
{
	if (--p->open_handles > 0 || p->close_cb == NULL)
		return;
	if (p->pidfd >= 0)
		close(p->pidfd);
	struct bx_vm *vm = p->vm;
	void (*cb)(struct bx_vm *) = p->close_cb;
	vm->impl = NULL;
	free(p);
	cb(vm);
}

static void handle_closed(uv_handle_t *h)
{
	released(h->data);
}

static void process_closed(uv_handle_t *h)
{
	struct proc *p = h->data;

	free(h);
	released(p);
}

static void on_child_exit(uv_process_t *h, int64_t exit_status, int term_signal)
{
	struct proc *p = h->data;

	p->process_live = false;
	p->process = NULL;
	uv_close((uv_handle_t *)h, process_closed);
	ended(p, exit_status, term_signal);
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
	struct proc *p = h->data;
	int wstatus = 0;
	int64_t code = -1;
	int sig = 0;

	(void)status;
	(void)events;
	/* ours after all (started by this daemon, then let go and adopted)? */
	if (p->vm->pid > 0 && waitpid(p->vm->pid, &wstatus, WNOHANG) == p->vm->pid) {
		if (WIFEXITED(wstatus))
			code = WEXITSTATUS(wstatus);
		else if (WIFSIGNALED(wstatus))
			sig = WTERMSIG(wstatus), code = 0;
	}
	uv_poll_stop(h);
	p->poll_live = false;
	uv_close((uv_handle_t *)h, handle_closed);
	ended(p, code, sig);
}

/* --- driver ops -------------------------------------------------------------- */

static bool executable_on_path(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/') != NULL)
		return access(cmd, X_OK) == 0;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		if (snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, cmd) <
			(int)sizeof buf &&
		    access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

static int proc_check(struct bx_vm *vm, char *errmsg)
{
	const struct bx_spec *s = vm->spec;
	struct stat st;

	if (s->process.command_len == 0 || s->process.command == NULL)
		return bx_err(errmsg, BX_EINVAL, "[process] command is empty");
	if (!executable_on_path(s->process.command[0]))
		return bx_err(errmsg, BX_ENOENT,
			      "command '%s' not found or not executable",
			      s->process.command[0]);
	if (s->process.workdir != NULL &&
	    (stat(s->process.workdir, &st) != 0 || !S_ISDIR(st.st_mode)))
		return bx_err(errmsg, BX_ENOENT, "workdir '%s' is not a directory",
			      s->process.workdir);
	return BX_OK;
}

static int write_pidfile(struct proc *p, pid_t pid, char *errmsg)
{
	char tmp[PATH_MAX + 32], line[64];
	int fd, len;

	len = snprintf(line, sizeof line, "%d %llu\n", (int)pid, bx_proc_starttime(pid));
	snprintf(tmp, sizeof tmp, "%s.tmp", p->pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "write '%s': %s", tmp, strerror(errno));
	if (write(fd, line, (size_t)len) != len) {
		close(fd);
		return bx_err(errmsg, BX_EIO, "write '%s': %s", tmp, strerror(errno));
	}
	close(fd);
	if (rename(tmp, p->pidfile) != 0)
		return bx_err(errmsg, BX_EIO, "rename '%s': %s", tmp, strerror(errno));
	return BX_OK;
}

static int open_console(struct proc *p, char *errmsg)
{
	struct stat st;
	int fd;

	if (stat(p->console, &st) == 0 && st.st_size > CONSOLE_MAX) {
		char old[PATH_MAX + 32];
		snprintf(old, sizeof old, "%s.1", p->console);
		rename(p->console, old);
	}
	fd = open(p->console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "open '%s': %s", p->console,
			      strerror(errno));
	return fd;
}

static int proc_start(struct bx_vm *vm, char *errmsg)
{
	const struct bx_spec *s = vm->spec;
	struct proc *p = impl(vm);
	uv_process_options_t opts;
	uv_stdio_container_t stdio[3];
	char **env = NULL, **argv = NULL;
	size_t n_env = 0;
	int fd, rv;

	if (p == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the instance");
	if (p->running)
		return bx_err(errmsg, BX_EBUSY, "already running (pid %d)", (int)vm->pid);
	rv = proc_check(vm, errmsg);
	if (rv != 0)
		return rv;
	rv = mkdir_p(vm->run_dir, errmsg);
	if (rv != 0)
		return rv;
	fd = open_console(p, errmsg);
	if (fd < 0)
		return fd;
	for (char **e = environ; *e != NULL; e++)
		n_env++;
	env = calloc(n_env + s->process.env_len + 1, sizeof *env);
	argv = calloc(s->process.command_len + 1, sizeof *argv);
	if (env == NULL || argv == NULL) {
		free(env);
		free(argv);
		close(fd);
		return bx_err(errmsg, BX_ENOMEM, "allocate the environment");
	}
	memcpy(env, environ, n_env * sizeof *env);
	for (size_t i = 0; i < s->process.env_len; i++)
		env[n_env + i] = s->process.env[i];
	memcpy(argv, s->process.command, s->process.command_len * sizeof *argv);

	memset(&opts, 0, sizeof opts);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fd;
	opts.file = argv[0];
	opts.args = argv;
	opts.env = env;
	opts.cwd = s->process.workdir;
	opts.stdio = stdio;
	opts.stdio_count = 3;
	opts.flags = UV_PROCESS_DETACHED;
	opts.exit_cb = on_child_exit;
	p->process = calloc(1, sizeof *p->process);
	if (p->process == NULL) {
		close(fd);
		free(env);
		free(argv);
		return bx_err(errmsg, BX_ENOMEM, "allocate the process handle");
	}
	p->process->data = p;
	rv = uv_spawn(vm->loop, p->process, &opts);
	close(fd);
	free(env);
	free(argv);
	if (rv != 0) {
		/* libuv wants even a failed spawn's handle closed */
		p->open_handles++;
		uv_close((uv_handle_t *)p->process, process_closed);
		p->process = NULL;
		return bx_err(errmsg, BX_EIO, "start '%s': %s", s->process.command[0],
			      uv_strerror(rv));
	}
	p->process_live = true;
	p->open_handles++;
	p->running = true;
	vm->pid = p->process->pid;
	vm->state = BX_VM_RUNNING;
	rv = write_pidfile(p, vm->pid, errmsg);
	if (rv != 0) {
		/* without a pidfile a restarted daemon could not find it: do not run
		 * blind */
		kill(-vm->pid, SIGKILL);
		return rv;
	}
	return BX_OK;
}

static int proc_adopt(struct bx_vm *vm, char *errmsg)
{
	struct proc *p = impl(vm);
	unsigned long long start = 0;
	int pid = 0, pidfd;
	FILE *f;

	if (p == NULL)
		return bx_err(errmsg, BX_ENOMEM, "allocate the instance");
	if (p->running)
		return BX_OK;
	f = fopen(p->pidfile, "re");
	if (f == NULL)
		return bx_err(errmsg, BX_ENOENT, "no pidfile");
	if (fscanf(f, "%d %llu", &pid, &start) != 2 || pid <= 1) {
		fclose(f);
		unlink(p->pidfile);
		return bx_err(errmsg, BX_ENOENT, "pidfile '%s' is malformed", p->pidfile);
	}
	fclose(f);
	if (start == 0 || bx_proc_starttime(pid) != start) {
		unlink(p->pidfile);
		return bx_err(errmsg, BX_ENOENT, "pid %d from '%s' is gone", pid,
			      p->pidfile);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return bx_err(errmsg, BX_EIO, "watch pid %d: %s", pid, strerror(errno));
	p->pidfd = pidfd;
	uv_poll_init(vm->loop, &p->poll, pidfd);
	p->poll.data = p;
	p->poll_live = true;
	p->open_handles++;
	uv_poll_start(&p->poll, UV_READABLE, on_pidfd);
	p->running = true;
	vm->pid = pid;
	vm->state = BX_VM_RUNNING;
	return BX_OK;
}

static void on_kill_timer(uv_timer_t *t)
{
	struct proc *p = t->data;

	if (p->running && p->vm->pid > 0) {
		kill(-p->vm->pid, SIGKILL);
		kill(p->vm->pid, SIGKILL);
	}
}

static int proc_stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	struct proc *p = vm->impl;

	if (p == NULL || !p->running || vm->pid <= 0)
		return BX_ENOENT;
	vm->state = BX_VM_STOPPING;
	if (kill(-vm->pid, SIGTERM) != 0)
		kill(vm->pid, SIGTERM);
	uv_timer_start(&p->kill_timer, on_kill_timer, timeout_ms, 0);
	return BX_OK;
}

static void proc_kill(struct bx_vm *vm)
{
	struct proc *p = vm->impl;

	if (p == NULL || !p->running || vm->pid <= 0)
		return;
	kill(-vm->pid, SIGKILL);
	kill(vm->pid, SIGKILL);
}

static const char *proc_console_path(struct bx_vm *vm)
{
	struct proc *p = impl(vm);

	return p != NULL ? p->console : "";
}

static void proc_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct proc *p = impl(vm);

	if (p == NULL) { /* out of memory: nothing to release */
		cb(vm);
		return;
	}
	p->close_cb = cb;
	/* Let go without stopping it: the pidfile stays for whoever adopts it. */
	p->running = false;
	uv_timer_stop(&p->kill_timer);
	uv_close((uv_handle_t *)&p->kill_timer, handle_closed);
	if (p->process_live) {
		p->process_live = false;
		uv_close((uv_handle_t *)p->process, process_closed);
		p->process = NULL;
	}
	if (p->poll_live) {
		p->poll_live = false;
		uv_poll_stop(&p->poll);
		uv_close((uv_handle_t *)&p->poll, handle_closed);
	}
}

const struct bx_driver bx_driver_process = {
    .name = "process",
    .check = proc_check,
    .start = proc_start,
    .adopt = proc_adopt,
    .stop = proc_stop,
    .kill = proc_kill,
    .console_path = proc_console_path,
    .close = proc_close,
};
