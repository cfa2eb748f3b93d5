/* process.c - the "process" driver: spawn, adopt, stop and watch a plain command. */
#include "vm/process.h"

#include "vm/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/base/error.h"
#include "src/base/file.h"
#include "vm/console.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

extern char **environ;

#define PATH_SIZE sizeof(((struct bx_vm *)0)->run_dir)

/*
 * How the exit of an instance is seen. Two ways, never both at once:
 *
 *   child  we spawned it: libuv reaps it and calls exit_cb with the status.
 *   watch  we adopted it: it is (usually) not our child, so nothing tells us
 *          by SIGCHLD; a pidfd becomes readable when the process exits.
 *
 * Each is heap memory of its own, freed in its handle's close callback, so a
 * new start/adopt can begin while the previous handle is still closing.
 *
 * Zombies: if we spawned a process and close() the vm while it runs, its
 * uv_process_t is gone, so when it exits nobody reaps it and it stays a
 * zombie of the daemon (harmless: one process-table slot until the daemon
 * exits). A later adopt() in the same daemon must not take such a zombie
 * for a live instance: /proc/PID/stat state 'Z' counts as gone, and the
 * zombie is reaped then (waitpid, which fails harmlessly with ECHILD for a
 * process that is not ours). For the same reason an adopted instance that
 * turns out to be our own child is reaped when its pidfd fires.
 */
struct child {
	uv_process_t process;
	struct impl *impl;
};

struct watch {
	uv_poll_t poll;
	int pidfd; /* owned; closed in the close callback */
	struct impl *impl;
};

struct impl {
	struct bx_vm *vm;
	uv_timer_t kill_timer;    /* always initialised; escalates stop() to SIGKILL */
	uv_timer_t console_timer; /* always initialised; caps console.log while running */
	struct child *child;      /* spawned and not yet exited, else NULL */
	struct watch *watch;      /* adopted and not yet exited, else NULL */
	pid_t pgid;               /* group to signal (== pid, setsid); 0: pid only */
	unsigned long long starttime; /* of vm->pid, as in the pidfile */
	bool owed_exit;               /* on_exit not yet called for this start/adopt */
	bool closing;                 /* close() called: no more callbacks to the owner */
	unsigned open_handles;        /* handles whose close callback is still to come */
	void (*close_cb)(struct bx_vm *vm);
	char console[PATH_SIZE];
};

/* ---- files in the run directory ---- */

static void run_file(const struct bx_vm *vm, const char *name, char path[PATH_SIZE])
{
	/* bx_vm_init keeps room for short names at the end of run_dir, so this
	 * does not truncate; if it ever did, "" makes every use fail cleanly. */
	int n = snprintf(path, PATH_SIZE, "%s/%s", vm->run_dir, name);
	if (n < 0 || (size_t)n >= PATH_SIZE)
		path[0] = '\0';
}

/*
 * State and start time of a process from /proc/PID/stat. False if there is
 * no such process. The command name (field 2) may hold spaces and ')', so
 * fields are counted from the last ')'.
 */
static bool read_stat(pid_t pid, char *state, unsigned long long *starttime)
{
	char path[64], buf[1024], *p, *tok, *save = NULL;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return false;
	tok = strtok_r(p + 1, " ", &save);
	for (int field = 3; tok != NULL; field++, tok = strtok_r(NULL, " ", &save)) {
		if (field == 3)
			*state = tok[0];
		if (field == 22) {
			*starttime = strtoull(tok, NULL, 10);
			return true;
		}
	}
	return false;
}

/* Parse the pidfile. BX_ENOENT if absent, BX_ECORRUPT if unreadable. */
static int read_pidfile(const struct bx_vm *vm, pid_t *pid, unsigned long long *starttime)
{
	char path[PATH_SIZE], buf[64], *end;
	ssize_t n;
	long long p;
	int fd;

	run_file(vm, "pid", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? BX_ENOENT : BX_EIO;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return BX_ECORRUPT;
	buf[n] = '\0';
	errno = 0;
	p = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf || *end != ' ' || p <= 1 || p > INT32_MAX)
		return BX_ECORRUPT;
	*pid = (pid_t)p;
	*starttime = strtoull(end + 1, &end, 10);
	if (errno != 0 || *end != '\n')
		return BX_ECORRUPT;
	return 0;
}

/* Write the pidfile atomically: a crash leaves the old file or the new one. */
static int write_pidfile(const struct bx_vm *vm, pid_t pid, unsigned long long starttime,
			 char *errmsg)
{
	char path[PATH_SIZE], buf[64];
	int len = snprintf(buf, sizeof buf, "%d %llu\n", (int)pid, starttime);

	run_file(vm, "pid", path);
	return bx_file_replace(path, buf, (size_t)len, false, errmsg);
}

/* Remove the pidfile if it still names this instance (not a later one). */
static void remove_pidfile_if(const struct bx_vm *vm, pid_t pid,
			      unsigned long long starttime)
{
	char path[PATH_SIZE];
	pid_t file_pid;
	unsigned long long file_start;

	if (read_pidfile(vm, &file_pid, &file_start) != 0)
		return;
	if (file_pid != pid || file_start != starttime)
		return;
	run_file(vm, "pid", path);
	unlink(path);
}

static void remove_pidfile(const struct bx_vm *vm)
{
	char path[PATH_SIZE];

	run_file(vm, "pid", path);
	unlink(path);
}

/* Is the process PID, started at STARTTIME, alive (not a zombie)? */
static bool instance_alive(pid_t pid, unsigned long long starttime)
{
	char state;
	unsigned long long actual;

	if (!read_stat(pid, &state, &actual))
		return false;
	if (state == 'Z' || state == 'X') {
		/* Our own zombie (see the comment on struct child): reap it. */
		waitpid(pid, NULL, WNOHANG);
		return false;
	}
	return actual == starttime;
}

/* ---- the instance's handles ---- */

static void handle_closed(struct impl *impl)
{
	impl->open_handles--;
	if (impl->open_handles == 0 && impl->closing) {
		struct bx_vm *vm = impl->vm;
		void (*cb)(struct bx_vm *) = impl->close_cb;

		vm->impl = NULL;
		free(impl);
		if (cb != NULL)
			cb(vm);
	}
}

static void child_closed(uv_handle_t *handle)
{
	struct child *child = handle->data;
	struct impl *impl = child->impl;

	free(child);
	handle_closed(impl);
}

static void watch_closed(uv_handle_t *handle)
{
	struct watch *watch = handle->data;
	struct impl *impl = watch->impl;

	close(watch->pidfd);
	free(watch);
	handle_closed(impl);
}

static void timer_closed(uv_handle_t *handle)
{
	handle_closed(handle->data);
}

static struct impl *get_impl(struct bx_vm *vm)
{
	struct impl *impl = vm->impl;

	if (impl != NULL)
		return impl;
	impl = calloc(1, sizeof *impl);
	if (impl == NULL)
		return NULL;
	impl->vm = vm;
	uv_timer_init(vm->loop, &impl->kill_timer);
	impl->kill_timer.data = impl;
	uv_timer_init(vm->loop, &impl->console_timer);
	impl->console_timer.data = impl;
	impl->open_handles = 2;
	run_file(vm, "console.log", impl->console);
	vm->impl = impl;
	return impl;
}

static void signal_instance(struct impl *impl, int sig)
{
	struct bx_vm *vm = impl->vm;

	if (vm->pid <= 0)
		return;
	if (impl->pgid > 0)
		kill(-impl->pgid, sig);
	else
		kill(vm->pid, sig);
}

/* The instance has ended: clean up, then tell the owner (last, since the
 * owner may start again or close from inside on_exit). */
static void ended(struct impl *impl, int64_t exit_status, int term_signal)
{
	struct bx_vm *vm = impl->vm;

	if (impl->pgid > 0)
		kill(-impl->pgid, SIGKILL); /* leftovers of the group, if any */
	uv_timer_stop(&impl->kill_timer);
	uv_timer_stop(&impl->console_timer);
	remove_pidfile_if(vm, vm->pid, impl->starttime);
	vm->state = BX_VM_EXITED;
	vm->pid = 0;
	impl->pgid = 0;
	impl->starttime = 0;
	if (impl->owed_exit && !impl->closing) {
		impl->owed_exit = false;
		if (vm->on_exit != NULL)
			vm->on_exit(vm, exit_status, term_signal);
	}
}

static void on_child_exit(uv_process_t *process, int64_t exit_status, int term_signal)
{
	struct child *child = process->data;
	struct impl *impl = child->impl;

	impl->child = NULL;
	uv_close((uv_handle_t *)process, child_closed);
	ended(impl, exit_status, term_signal);
}

static void on_pidfd(uv_poll_t *poll, int status, int events)
{
	struct watch *watch = poll->data;
	struct impl *impl = watch->impl;
	int64_t exit_status = -1;
	int term_signal = 0, wstatus;

	/* A pidfd polls readable exactly when the process has exited; a poll
	 * error leaves us unable to watch it, which is handled the same way
	 * (the owner will adopt again and find it or not). */
	(void)status;
	(void)events;
	impl->watch = NULL;
	uv_close((uv_handle_t *)poll, watch_closed);
	/* Our own child (see struct child) can be reaped for its real status;
	 * for anyone else's, waitpid fails with ECHILD and the status stays
	 * unknown. */
	if (waitpid(impl->vm->pid, &wstatus, WNOHANG) == impl->vm->pid) {
		if (WIFEXITED(wstatus)) {
			exit_status = WEXITSTATUS(wstatus);
		} else if (WIFSIGNALED(wstatus)) {
			exit_status = 0;
			term_signal = WTERMSIG(wstatus);
		}
	}
	ended(impl, exit_status, term_signal);
}

static void on_kill_timer(uv_timer_t *timer)
{
	struct impl *impl = timer->data;

	if (impl->vm->state == BX_VM_STOPPING)
		signal_instance(impl, SIGKILL);
}

/* ---- check ---- */

bool bx_proc_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

bool bx_proc_in_path(const char *name, const char *dirs, const char *cwd)
{
	char path[PATH_SIZE];
	int n;

	for (const char *p = dirs;;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);

		/* An empty PATH entry means the current directory. */
		if (len == 0)
			n = snprintf(path, sizeof path, "%s/%s", cwd ? cwd : ".", name);
		else
			n = snprintf(path, sizeof path, "%.*s/%s", (int)len, p, name);
		if (n > 0 && (size_t)n < sizeof path && bx_proc_executable(path))
			return true;
		if (colon == NULL)
			return false;
		p = colon + 1;
	}
}

/* The PATH the child's execvp will search: the spec's env wins over ours. */
static const char *child_path(const struct bx_spec *spec)
{
	for (size_t i = 0; i < spec->process.env_len; i++)
		if (spec->process.env[i] != NULL &&
		    strncmp(spec->process.env[i], "PATH=", 5) == 0)
			return spec->process.env[i] + 5;
	const char *path = getenv("PATH");
	return path != NULL ? path : "/bin:/usr/bin";
}

static int check_command(const struct bx_spec *spec, char *errmsg)
{
	const char *cmd = spec->process.command[0];
	const char *workdir = spec->process.workdir;
	char path[PATH_SIZE];
	int n;

	if (strchr(cmd, '/') != NULL) {
		/* A relative path is relative to the child's cwd, the workdir. */
		if (cmd[0] != '/' && workdir != NULL)
			n = snprintf(path, sizeof path, "%s/%s", workdir, cmd);
		else
			n = snprintf(path, sizeof path, "%s", cmd);
		if (n < 0 || (size_t)n >= sizeof path)
			return bx_err(errmsg, BX_EINVAL, "command '%s': path too long",
				      cmd);
		if (access(path, F_OK) != 0)
			return bx_err(errmsg, BX_ENOENT, "command '%s' not found", cmd);
		if (!bx_proc_executable(path))
			return bx_err(errmsg, BX_EPERM,
				      "command '%s' is not an executable file", cmd);
		return 0;
	}
	/* the child's empty PATH entries mean its cwd, the workdir */
	if (bx_proc_in_path(cmd, child_path(spec), workdir))
		return 0;
	return bx_err(errmsg, BX_ENOENT, "command '%s' not found in PATH '%s'", cmd,
		      child_path(spec));
}

static int process_check(struct bx_vm *vm, char *errmsg)
{
	const struct bx_spec *spec = vm->spec;
	struct stat st;

	if (spec->process.command == NULL || spec->process.command_len == 0)
		return bx_err(errmsg, BX_EINVAL, "process.command is empty");
	for (size_t i = 0; i < spec->process.command_len; i++)
		if (spec->process.command[i] == NULL)
			return bx_err(errmsg, BX_EINVAL,
				      "process.command[%zu] is missing", i);
	if (spec->process.command[0][0] == '\0')
		return bx_err(errmsg, BX_EINVAL, "process.command[0] is empty");
	for (size_t i = 0; i < spec->process.env_len; i++)
		if (spec->process.env[i] == NULL ||
		    strchr(spec->process.env[i], '=') == NULL)
			return bx_err(errmsg, BX_EINVAL,
				      "process.env[%zu] is not KEY=value", i);
	if (spec->process.workdir != NULL) {
		if (stat(spec->process.workdir, &st) != 0)
			return bx_err(errmsg, errno == ENOENT ? BX_ENOENT : BX_EIO,
				      "workdir '%s': %s", spec->process.workdir,
				      strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return bx_err(errmsg, BX_EINVAL,
				      "workdir '%s' is not a directory",
				      spec->process.workdir);
	}
	return check_command(spec, errmsg);
}

/* ---- start ---- */

static bool env_has_key(const struct bx_spec *spec, const char *entry)
{
	size_t key_len = strcspn(entry, "=");

	for (size_t i = 0; i < spec->process.env_len; i++)
		if (strncmp(spec->process.env[i], entry, key_len) == 0 &&
		    spec->process.env[i][key_len] == '=')
			return true;
	return false;
}

/* The daemon's environment, then `ours` (NULL-terminated: BLIXARD_SERVICE
 * and BLIXARD_INSTANCE), then the spec's entries, each replacing an earlier
 * one of the same key. The strings are borrowed; free only the array. */
static char **build_env(const struct bx_spec *spec, char *const *ours)
{
	size_t n = 0, n_ours = 0, len = 0;
	char **env;

	while (environ != NULL && environ[n] != NULL)
		n++;
	while (ours[n_ours] != NULL)
		n_ours++;
	env = calloc(n + n_ours + spec->process.env_len + 1, sizeof *env);
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool replaced = env_has_key(spec, environ[i]);
		for (size_t k = 0; k < n_ours && !replaced; k++)
			replaced =
			    strncmp(environ[i], ours[k], strcspn(ours[k], "=") + 1) == 0;
		if (!replaced)
			env[len++] = environ[i];
	}
	for (size_t k = 0; k < n_ours; k++)
		if (!env_has_key(spec, ours[k]))
			env[len++] = ours[k];
	for (size_t i = 0; i < spec->process.env_len; i++)
		env[len++] = spec->process.env[i];
	env[len] = NULL;
	return env;
}

/* Open console.log for appending, moving it to console.log.1 if too big. */
static int open_console(struct impl *impl, char *errmsg)
{
	int fd, rc = bx_console_rotate(impl->console, errmsg);

	if (rc != 0)
		return rc;
	fd = open(impl->console, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return bx_err(errmsg, BX_EIO, "open '%s': %s", impl->console,
			      strerror(errno));
	return fd;
}

/* Cap console.log while the instance runs (vm/console.h). */
static void on_console_timer(uv_timer_t *timer)
{
	struct impl *impl = timer->data;

	bx_console_cap(impl->console);
}

static int spawn_error(int uv_err)
{
	switch (uv_err) {
	case UV_ENOENT:
		return BX_ENOENT;
	case UV_EACCES:
	case UV_EPERM:
		return BX_EPERM;
	case UV_ENOMEM:
		return BX_ENOMEM;
	default:
		return BX_EIO;
	}
}

/* Start and adopt both need a live driver and no instance yet. */
static int can_take_instance(const struct bx_vm *vm, const struct impl *impl,
			     char *errmsg)
{
	if (impl == NULL)
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	if (impl->closing)
		return bx_err(errmsg, BX_ESHUTDOWN, "closing");
	if (vm->state == BX_VM_RUNNING || vm->state == BX_VM_STOPPING)
		return bx_err(errmsg, BX_EBUSY, "already running (pid %d)", (int)vm->pid);
	return BX_OK;
}

int bx_proc_spawn(struct bx_vm *vm, const struct bx_proc_cmd *cmd, char *errmsg)
{
	struct impl *impl = get_impl(vm);
	uv_process_options_t options;
	uv_stdio_container_t stdio[3];
	struct child *child;
	char state;
	pid_t old_pid;
	unsigned long long old_start;
	int fd, rc;

	rc = can_take_instance(vm, impl, errmsg);
	if (rc != 0)
		return rc;
	rc = bx_vm_make_run_dir(vm, errmsg);
	if (rc != 0)
		return rc;

	/* Never run a second instance beside one an earlier daemon left. */
	rc = read_pidfile(vm, &old_pid, &old_start);
	if (rc == 0 && instance_alive(old_pid, old_start))
		return bx_err(errmsg, BX_EEXIST,
			      "an instance is already running (pid %d); adopt or stop it",
			      (int)old_pid);
	if (rc != BX_ENOENT)
		remove_pidfile(vm);

	fd = open_console(impl, errmsg);
	if (fd < 0)
		return fd;
	child = calloc(1, sizeof *child);
	if (child == NULL) {
		close(fd);
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	}

	memset(&options, 0, sizeof options);
	stdio[0].flags = UV_IGNORE; /* libuv gives the child /dev/null */
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fd;
	options.file = cmd->argv[0];
	options.args = cmd->argv;
	options.env = cmd->env;
	options.cwd = cmd->cwd;
	options.stdio = stdio;
	options.stdio_count = 3;
	options.exit_cb = on_child_exit;
	/* setsid() in the child: its own session and process group, so the
	 * daemon's signals and terminal do not reach it and it outlives us. */
	options.flags = UV_PROCESS_DETACHED;

	child->impl = impl;
	child->process.data = child;
	rc = uv_spawn(vm->loop, &child->process, &options);
	/* Even a failed uv_spawn leaves an initialised handle to close. */
	impl->open_handles++;
	close(fd);
	if (rc != 0) {
		uv_close((uv_handle_t *)&child->process, child_closed);
		return bx_err(errmsg, spawn_error(rc), "spawn '%s': %s", cmd->argv[0],
			      uv_strerror(rc));
	}

	impl->child = child;
	impl->pgid = child->process.pid;
	vm->pid = child->process.pid;
	vm->state = BX_VM_RUNNING;
	impl->owed_exit = true;

	/* The child cannot have been reaped yet (that happens on the loop, later),
	 * so /proc/PID is there even if it has already exited. Without a start
	 * time or a pidfile it could not be adopted: better not to run it. */
	if (!read_stat(vm->pid, &state, &impl->starttime)) {
		rc = bx_err(errmsg, BX_EIO, "read /proc/%d/stat", (int)vm->pid);
		goto err_after_spawn;
	}
	rc = write_pidfile(vm, vm->pid, impl->starttime, errmsg);
	if (rc != 0)
		goto err_after_spawn;
	uv_timer_start(&impl->console_timer, on_console_timer, BX_CONSOLE_CHECK_MS,
		       BX_CONSOLE_CHECK_MS);
	return 0;

err_after_spawn:
	impl->owed_exit = false; /* the exit that follows is not the owner's */
	signal_instance(impl, SIGKILL);
	vm->state = BX_VM_STOPPING;
	return rc;
}

static int process_start(struct bx_vm *vm, char *errmsg)
{
	const struct bx_spec *spec = vm->spec;
	/* which service and which of its instances (count > 1: src/model/spec.h) */
	char service[BX_NAME_MAX + 1], var_service[sizeof service + 16], var_instance[32];
	char *ours[] = {var_service, var_instance, NULL};
	unsigned instance = bx_key_split(spec->name, service);
	struct bx_proc_cmd cmd;
	char **args, **env;
	int rc;

	rc = process_check(vm, errmsg);
	if (rc != 0)
		return rc;
	snprintf(var_service, sizeof var_service, "BLIXARD_SERVICE=%s", service);
	snprintf(var_instance, sizeof var_instance, "BLIXARD_INSTANCE=%u", instance);
	args = calloc(spec->process.command_len + 1, sizeof *args);
	env = build_env(spec, ours);
	if (args == NULL || env == NULL) {
		free(args);
		free(env);
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	}
	memcpy(args, spec->process.command, spec->process.command_len * sizeof *args);
	cmd.argv = args;
	cmd.env = env;
	cmd.cwd = spec->process.workdir;
	rc = bx_proc_spawn(vm, &cmd, errmsg);
	free(args);
	free(env);
	return rc;
}

/* ---- adopt ---- */

int bx_proc_adopt(struct bx_vm *vm, char *errmsg)
{
	struct impl *impl = get_impl(vm);
	struct watch *watch;
	unsigned long long starttime;
	pid_t pid;
	int pidfd, rc;

	rc = can_take_instance(vm, impl, errmsg);
	if (rc != 0)
		return rc;

	rc = read_pidfile(vm, &pid, &starttime);
	if (rc == BX_ENOENT)
		return bx_err(errmsg, BX_ENOENT, "no pidfile in '%s'", vm->run_dir);
	if (rc != 0) {
		remove_pidfile(vm);
		return bx_err(errmsg, BX_ENOENT,
			      "stale pidfile in '%s' (unreadable), removed", vm->run_dir);
	}

	/* Open the pidfd first, then check the start time: if /proc/PID still
	 * shows the instance's start time afterwards, the pidfd refers to it
	 * and not to a later process that reused the PID. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ENOSYS)
		return bx_err(errmsg, BX_EUNAVAIL, "pidfd_open: needs Linux >= 5.3");
	if (pidfd < 0 && errno != ESRCH)
		return bx_err(errmsg, BX_EIO, "pidfd_open %d: %s", (int)pid,
			      strerror(errno));
	if (pidfd < 0 || !instance_alive(pid, starttime)) {
		if (pidfd >= 0)
			close(pidfd);
		remove_pidfile(vm);
		return bx_err(
		    errmsg, BX_ENOENT,
		    "stale pidfile in '%s': pid %d is gone or another process, removed",
		    vm->run_dir, (int)pid);
	}

	watch = calloc(1, sizeof *watch);
	if (watch == NULL) {
		close(pidfd);
		return bx_err(errmsg, BX_ENOMEM, "out of memory");
	}
	watch->pidfd = pidfd;
	watch->impl = impl;
	watch->poll.data = watch;
	rc = uv_poll_init(vm->loop, &watch->poll, pidfd);
	if (rc != 0) {
		close(pidfd);
		free(watch);
		return bx_err(errmsg, BX_EIO, "watch pid %d: %s", (int)pid,
			      uv_strerror(rc));
	}
	impl->open_handles++;
	rc = uv_poll_start(&watch->poll, UV_READABLE, on_pidfd);
	if (rc != 0) {
		uv_close((uv_handle_t *)&watch->poll, watch_closed);
		return bx_err(errmsg, BX_EIO, "watch pid %d: %s", (int)pid,
			      uv_strerror(rc));
	}

	impl->watch = watch;
	/* Instances we start lead their own group; signal the group only if
	 * that is still so, never a group the process merely joined. */
	impl->pgid = getpgid(pid) == pid ? pid : 0;
	impl->starttime = starttime;
	impl->owed_exit = true;
	vm->pid = pid;
	vm->state = BX_VM_RUNNING;
	uv_timer_start(&impl->console_timer, on_console_timer, BX_CONSOLE_CHECK_MS,
		       BX_CONSOLE_CHECK_MS);
	return 0;
}

/* ---- stop, kill, console, close ---- */

int bx_proc_stop(struct bx_vm *vm, uint32_t timeout_ms, void (*ask)(struct bx_vm *vm))
{
	struct impl *impl = vm->impl;

	if (impl == NULL || impl->closing)
		return BX_ENOENT;
	if (vm->state == BX_VM_STOPPING)
		return 0;
	if (vm->state != BX_VM_RUNNING)
		return BX_ENOENT;
	vm->state = BX_VM_STOPPING;
	uv_timer_start(&impl->kill_timer, on_kill_timer, timeout_ms, 0);
	if (ask != NULL)
		ask(vm);
	else
		signal_instance(impl, SIGTERM);
	return 0;
}

void bx_proc_signal(struct bx_vm *vm, int sig)
{
	struct impl *impl = vm->impl;

	if (impl != NULL && !impl->closing &&
	    (vm->state == BX_VM_RUNNING || vm->state == BX_VM_STOPPING))
		signal_instance(impl, sig);
}

static int process_stop(struct bx_vm *vm, uint32_t timeout_ms)
{
	return bx_proc_stop(vm, timeout_ms, NULL);
}

void bx_proc_kill(struct bx_vm *vm)
{
	struct impl *impl = vm->impl;

	if (impl == NULL || impl->closing)
		return;
	if (vm->state != BX_VM_RUNNING && vm->state != BX_VM_STOPPING)
		return;
	vm->state = BX_VM_STOPPING;
	signal_instance(impl, SIGKILL);
}

const char *bx_proc_console_path(struct bx_vm *vm)
{
	struct impl *impl = get_impl(vm);

	return impl != NULL ? impl->console : NULL;
}

/*
 * Stop watching; the instance (if any) keeps running and its pidfile stays
 * for the next adopt(). A pending stop() escalation is dropped with the
 * timer. cb runs from the loop once every handle is closed, never from here.
 */
void bx_proc_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm))
{
	struct impl *impl = get_impl(vm);

	if (impl == NULL) { /* out of memory: nothing to release */
		if (cb != NULL)
			cb(vm);
		return;
	}
	if (impl->closing)
		return;
	impl->closing = true;
	impl->close_cb = cb;
	impl->owed_exit = false;
	if (impl->child != NULL) {
		/* uv_close on a process handle does not signal the process. */
		uv_close((uv_handle_t *)&impl->child->process, child_closed);
		impl->child = NULL;
	}
	if (impl->watch != NULL) {
		uv_close((uv_handle_t *)&impl->watch->poll, watch_closed);
		impl->watch = NULL;
	}
	uv_close((uv_handle_t *)&impl->kill_timer, timer_closed);
	uv_close((uv_handle_t *)&impl->console_timer, timer_closed);
}

const struct bx_driver bx_driver_process = BX_PROC_DRIVER(
    "process", process_check, process_start, process_stop, NULL, bx_proc_close);
