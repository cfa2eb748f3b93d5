/* test_process.c - the process driver with real processes on a real libuv loop. */
#include "tests/unit/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "src/base/error.h"
#include "vm/driver.h"
#include "vm/libvirt.h"
#include "vm/microvm_nix.h"
#include "vm/process.h"
#include "vm/qemu.h"

/*
 * Every test waits for conditions on the loop with a deadline: a 5 ms tick
 * timer wakes uv_run(UV_RUN_ONCE) so that conditions outside the loop
 * (a file appearing, a process disappearing) are seen too.
 *
 * A failed ASSERT leaves the test at once, so every process a test starts is
 * also recorded here and killed (group and all) before the next test and at
 * exit.
 */
static struct {
	pid_t pid;
	unsigned long long starttime; /* never kill a process that reused the PID */
} started[64];
static int n_started;

static unsigned long long starttime_of(pid_t pid);

static void kill_leftovers(void)
{
	for (int i = 0; i < n_started; i++) {
		if (starttime_of(started[i].pid) != started[i].starttime)
			continue;
		kill(-started[i].pid, SIGKILL);
		kill(started[i].pid, SIGKILL);
	}
	n_started = 0;
}

static void track(pid_t pid)
{
	static bool registered;

	if (!registered) {
		atexit(kill_leftovers);
		registered = true;
	}
	if (pid > 0 && n_started < 64) {
		started[n_started].pid = pid;
		started[n_started].starttime = starttime_of(pid);
		n_started++;
	}
}

struct fx {
	uv_loop_t loop;
	uv_timer_t tick;
	struct bx_spec spec;
	char *argv[4];
	struct bx_vm vm;
	char errmsg[BX_ERRMSG_SIZE];
	int exits;
	int64_t exit_status;
	int term_signal;
	int closes;
};

static void on_exit_cb(struct bx_vm *vm, int64_t exit_status, int term_signal)
{
	struct fx *fx = vm->data;

	fx->exits++;
	fx->exit_status = exit_status;
	fx->term_signal = term_signal;
}

static void on_closed(struct bx_vm *vm)
{
	struct fx *fx = vm->data;

	fx->closes++;
}

static void on_tick(uv_timer_t *timer)
{
	(void)timer;
}

/* A spec for `sh -c SCRIPT` (or argv when script is NULL), loop and vm ready. */
static void setup(struct fx *fx, const char *script)
{
	kill_leftovers();
	memset(fx, 0, sizeof *fx);
	ASSERT_INT(uv_loop_init(&fx->loop), 0);
	ASSERT_INT(uv_timer_init(&fx->loop, &fx->tick), 0);
	strcpy(fx->spec.name, "svc");
	strcpy(fx->spec.driver, "process");
	fx->spec.stop_timeout_ms = 5000;
	fx->argv[0] = "/bin/sh";
	fx->argv[1] = "-c";
	fx->argv[2] = (char *)script;
	fx->spec.process.command = fx->argv;
	fx->spec.process.command_len = 3;
}

static void init_vm(struct fx *fx, struct bx_vm *vm)
{
	ASSERT_INT(bx_vm_init(vm, &fx->loop, bx_test_tmpdir(), &fx->spec, fx->errmsg), 0);
	vm->on_exit = on_exit_cb;
	vm->data = fx;
}

static bool run_until(struct fx *fx, bool (*cond)(struct fx *fx, void *arg), void *arg,
		      uint64_t timeout_ms)
{
	uint64_t deadline;
	bool met;

	uv_update_time(&fx->loop);
	deadline = uv_now(&fx->loop) + timeout_ms;
	uv_timer_start(&fx->tick, on_tick, 5, 5);
	for (;;) {
		met = cond(fx, arg);
		if (met || uv_now(&fx->loop) >= deadline)
			break;
		uv_run(&fx->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&fx->tick);
	return met;
}

static bool exits_reach(struct fx *fx, void *arg)
{
	return fx->exits >= *(int *)arg;
}

static bool closes_reach(struct fx *fx, void *arg)
{
	return fx->closes >= *(int *)arg;
}

static void wait_exits(struct fx *fx, int n)
{
	ASSERT_MSG(run_until(fx, exits_reach, &n, 5000), "no on_exit within 5 s");
}

static void close_vm(struct fx *fx, struct bx_vm *vm)
{
	int want = fx->closes + 1;

	vm->driver->close(vm, on_closed);
	ASSERT_MSG(run_until(fx, closes_reach, &want, 5000), "close cb never ran");
	ASSERT(vm->impl == NULL);
}

/* Close the loop; every handle must be gone. */
static void teardown(struct fx *fx)
{
	uv_close((uv_handle_t *)&fx->tick, NULL);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	ASSERT_INT(uv_loop_close(&fx->loop), 0);
	kill_leftovers();
}

static bool read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static unsigned long long starttime_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	int field = 2;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!read_text(path, buf, sizeof buf) || (p = strrchr(buf, ')')) == NULL)
		return 0;
	while (field < 22 && (p = strchr(p + 1, ' ')) != NULL)
		field++;
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Alive and not a zombie: orphans are reparented to PID 1, which in a
 * container may be slow to reap (or never reap) them. */
static bool alive(pid_t pid)
{
	char path[64], buf[1024], *p;

	if (kill(pid, 0) != 0)
		return false;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!read_text(path, buf, sizeof buf) || (p = strrchr(buf, ')')) == NULL)
		return false;
	return p[2] != 'Z' && p[2] != 'X';
}

static bool dead(struct fx *fx, void *arg)
{
	(void)fx;
	return !alive(*(pid_t *)arg);
}

static void run_path(const struct bx_vm *vm, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", vm->run_dir, name);
}

static bool file_exists(const struct bx_vm *vm, const char *name)
{
	char path[4200];

	run_path(vm, name, path, sizeof path);
	return access(path, F_OK) == 0;
}

struct contains_arg {
	const char *path;
	const char *needle;
};

static bool file_contains(struct fx *fx, void *arg)
{
	struct contains_arg *c = arg;
	char buf[8192];

	(void)fx;
	return read_text(c->path, buf, sizeof buf) && strstr(buf, c->needle) != NULL;
}

static void start_vm(struct fx *fx, struct bx_vm *vm)
{
	int rc = vm->driver->start(vm, fx->errmsg);

	ASSERT_MSG(rc == 0, "start: %s (%s)", bx_errname(rc), fx->errmsg);
	track(vm->pid);
}

TEST(startWritesPidfileAndStopEndsWithSigterm)
{
	struct fx fx;
	char path[4200], buf[128], want[128];
	pid_t pid;

	setup(&fx, NULL);
	fx.argv[0] = "sleep"; /* found on PATH */
	fx.argv[1] = "30";
	fx.argv[2] = NULL;
	fx.spec.process.command_len = 2;
	init_vm(&fx, &fx.vm);
	ASSERT_INT(fx.vm.driver->check(&fx.vm, fx.errmsg), 0);
	start_vm(&fx, &fx.vm);
	pid = fx.vm.pid;
	ASSERT(pid > 0);
	ASSERT_INT(fx.vm.state, BX_VM_RUNNING);
	/* Its own session and group: signals to the daemon's group miss it. */
	ASSERT_INT(getpgid(pid), pid);
	ASSERT_INT(getsid(pid), pid);

	run_path(&fx.vm, "pid", path, sizeof path);
	ASSERT(read_text(path, buf, sizeof buf));
	snprintf(want, sizeof want, "%d %llu\n", (int)pid, starttime_of(pid));
	ASSERT_STR(buf, want);
	ASSERT(!file_exists(&fx.vm, "pid.tmp"));

	ASSERT_INT(fx.vm.driver->stop(&fx.vm, 5000), 0);
	ASSERT_INT(fx.vm.state, BX_VM_STOPPING);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.exits, 1);
	ASSERT_INT(fx.term_signal, SIGTERM);
	ASSERT_INT(fx.exit_status, 0);
	ASSERT_INT(fx.vm.state, BX_VM_EXITED);
	ASSERT_INT(fx.vm.pid, 0);
	ASSERT(!file_exists(&fx.vm, "pid"));
	ASSERT(!alive(pid));
	/* Nothing running any more: stop says so, and on_exit stays at one. */
	ASSERT_INT(fx.vm.driver->stop(&fx.vm, 100), BX_ENOENT);
	close_vm(&fx, &fx.vm);
	ASSERT_INT(fx.exits, 1);
	teardown(&fx);
}

TEST(stopReachesTheWholeProcessGroup)
{
	struct fx fx;
	char script[13000], gpath[4200], buf[64];
	struct contains_arg ready;
	pid_t grandchild;

	setup(&fx, NULL);
	snprintf(gpath, sizeof gpath, "%s/grandchild.pid", bx_test_tmpdir());
	snprintf(script, sizeof script, "sleep 30 & echo $! > %s.tmp; mv %s.tmp %s; wait",
		 gpath, gpath, gpath);
	fx.argv[2] = script;
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);

	ready.path = gpath;
	ready.needle = "\n";
	ASSERT_MSG(run_until(&fx, file_contains, &ready, 5000), "no grandchild pid");
	ASSERT(read_text(gpath, buf, sizeof buf));
	grandchild = (pid_t)atoi(buf);
	track(grandchild);
	ASSERT(grandchild > 0 && grandchild != fx.vm.pid);
	ASSERT(alive(grandchild));
	ASSERT_INT(getpgid(grandchild), fx.vm.pid);

	ASSERT_INT(fx.vm.driver->stop(&fx.vm, 5000), 0);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.term_signal, SIGTERM);
	ASSERT_MSG(run_until(&fx, dead, &grandchild, 2000), "grandchild %d survived",
		   (int)grandchild);
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(stopEscalatesToSigkillAfterTimeout)
{
	struct fx fx;
	char console[4200];
	struct contains_arg ready;
	uint64_t t0, elapsed_ms;

	setup(&fx, "trap '' TERM; echo ready; sleep 30");
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);
	/* Only once the trap is set does SIGTERM get ignored. */
	run_path(&fx.vm, "console.log", console, sizeof console);
	ready.path = console;
	ready.needle = "ready";
	ASSERT_MSG(run_until(&fx, file_contains, &ready, 5000), "never ready");

	t0 = uv_hrtime();
	ASSERT_INT(fx.vm.driver->stop(&fx.vm, 200), 0);
	wait_exits(&fx, 1);
	elapsed_ms = (uv_hrtime() - t0) / 1000000;
	ASSERT_INT(fx.term_signal, SIGKILL);
	/* 200 ms of grace (less the loop's cached clock, a tick at most). */
	ASSERT_MSG(elapsed_ms >= 150, "killed after %llu ms",
		   (unsigned long long)elapsed_ms);
	ASSERT(!file_exists(&fx.vm, "pid"));
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(killEndsItAtOnce)
{
	struct fx fx;

	setup(&fx, "trap '' TERM; sleep 30");
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);
	fx.vm.driver->kill(&fx.vm);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.term_signal, SIGKILL);
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(exitStatusIsReported)
{
	struct fx fx;

	setup(&fx, "exit 3");
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.exits, 1);
	ASSERT_INT(fx.exit_status, 3);
	ASSERT_INT(fx.term_signal, 0);
	ASSERT_INT(fx.vm.state, BX_VM_EXITED);
	ASSERT(!file_exists(&fx.vm, "pid"));

	/* The same vm starts again after an exit: on_exit once per start. */
	fx.argv[2] = "exit 0";
	start_vm(&fx, &fx.vm);
	wait_exits(&fx, 2);
	ASSERT_INT(fx.exits, 2);
	ASSERT_INT(fx.exit_status, 0);
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(consoleEnvAndWorkdirAreApplied)
{
	struct fx fx;
	char workdir[4200], console[4200], buf[8192], want[4300];
	char *env[] = {"BX_TEST_VAR=hello", "HOME=/bx-home-from-spec"};

	setup(&fx, "echo out-$BX_TEST_VAR; echo err-line >&2; echo home=$HOME; pwd; "
		   "read x; echo read=$?; echo who=$BLIXARD_SERVICE/$BLIXARD_INSTANCE");
	strcpy(fx.spec.name, "svc@2"); /* the agent runs instance 2 under its key */
	setenv("BLIXARD_INSTANCE", "from-the-daemon", 1); /* ours replaces it */
	snprintf(workdir, sizeof workdir, "%s/work", bx_test_tmpdir());
	ASSERT_INT(mkdir(workdir, 0700), 0);
	fx.spec.process.workdir = workdir;
	fx.spec.process.env = env;
	fx.spec.process.env_len = 2;
	init_vm(&fx, &fx.vm);
	ASSERT_INT(fx.vm.driver->check(&fx.vm, fx.errmsg), 0);
	run_path(&fx.vm, "console.log", console, sizeof console);
	ASSERT_STR(fx.vm.driver->console_path(&fx.vm), console);
	start_vm(&fx, &fx.vm);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.exit_status, 0);

	ASSERT(read_text(console, buf, sizeof buf));
	ASSERT_CONTAINS(buf, "out-hello\n");
	ASSERT_CONTAINS(buf, "err-line\n");
	ASSERT_CONTAINS(buf, "home=/bx-home-from-spec\n"); /* the spec's wins */
	snprintf(want, sizeof want, "%s\n", workdir);
	ASSERT_CONTAINS(buf, want);
	ASSERT_CONTAINS(buf, "read=1\n"); /* stdin is /dev/null: EOF at once */
	ASSERT_CONTAINS(buf, "who=svc/2\n");
	unsetenv("BLIXARD_INSTANCE");

	/* A second start appends to the console. */
	fx.argv[2] = "echo second-run";
	start_vm(&fx, &fx.vm);
	wait_exits(&fx, 2);
	ASSERT(read_text(console, buf, sizeof buf));
	ASSERT_CONTAINS(buf, "out-hello\n");
	ASSERT_CONTAINS(buf, "second-run\n");
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(bigConsoleIsRotatedAtStart)
{
	struct fx fx;
	char console[4200], old[4200], buf[256];
	int fd;

	setup(&fx, "echo fresh");
	init_vm(&fx, &fx.vm);
	snprintf(buf, sizeof buf, "%s/vms", bx_test_tmpdir());
	ASSERT_INT(mkdir(buf, 0700), 0);
	ASSERT_INT(mkdir(fx.vm.run_dir, 0700), 0);
	run_path(&fx.vm, "console.log", console, sizeof console);
	run_path(&fx.vm, "console.log.1", old, sizeof old);
	fd = open(console, O_WRONLY | O_CREAT, 0600);
	ASSERT(fd >= 0);
	ASSERT_INT(ftruncate(fd, (9 << 20)), 0);
	close(fd);

	start_vm(&fx, &fx.vm);
	wait_exits(&fx, 1);
	struct stat st;
	ASSERT_INT(stat(old, &st), 0);
	ASSERT_INT(st.st_size, 9 << 20);
	ASSERT(read_text(console, buf, sizeof buf));
	ASSERT_STR(buf, "fresh\n");
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(closeLeavesItRunningAndAnotherVmAdoptsIt)
{
	struct fx fx;
	struct bx_vm vm2;
	pid_t pid;

	setup(&fx, "sleep 30; true"); /* no exec: the shell stays the leader */
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);
	pid = fx.vm.pid;
	close_vm(&fx, &fx.vm);
	ASSERT(alive(pid));
	ASSERT(file_exists(&fx.vm, "pid"));
	ASSERT_INT(fx.exits, 0);

	/* A second start must not run a second instance beside it. */
	init_vm(&fx, &vm2);
	ASSERT_INT(vm2.driver->start(&vm2, fx.errmsg), BX_EEXIST);
	ASSERT_CONTAINS(fx.errmsg, "already running");
	ASSERT(alive(pid));

	ASSERT_INT(vm2.driver->adopt(&vm2, fx.errmsg), 0);
	ASSERT_INT(vm2.pid, pid);
	ASSERT_INT(vm2.state, BX_VM_RUNNING);
	ASSERT_INT(vm2.driver->adopt(&vm2, fx.errmsg), BX_EBUSY);

	/* Killed from outside: the pidfd fires. It is still this process's
	 * child, so the real status is known. */
	ASSERT_INT(kill(pid, SIGKILL), 0);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.exits, 1);
	ASSERT_INT(fx.term_signal, SIGKILL);
	ASSERT_INT(vm2.state, BX_VM_EXITED);
	ASSERT(!file_exists(&vm2, "pid"));
	ASSERT(!alive(pid));
	close_vm(&fx, &vm2);
	teardown(&fx);
}

/* Start `sleep 30` as a grandchild that is not our child (double fork), as
 * an earlier daemon's instance would be after that daemon exited. */
static pid_t spawn_orphan(void)
{
	int fds[2];
	pid_t child, orphan = -1;

	if (pipe(fds) != 0)
		return -1;
	child = fork();
	if (child == 0) {
		pid_t p;

		setsid();
		p = fork();
		if (p == 0) {
			close(fds[0]);
			close(fds[1]);
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
			_exit(127);
		}
		if (write(fds[1], &p, sizeof p) != (ssize_t)sizeof p)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (child > 0) {
		if (read(fds[0], &orphan, sizeof orphan) != (ssize_t)sizeof orphan)
			orphan = -1;
		waitpid(child, NULL, 0);
	}
	close(fds[0]);
	return orphan;
}

static void write_pidfile(const struct bx_vm *vm, const char *text)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof path, "%s/vms", bx_test_tmpdir());
	mkdir(path, 0700);
	mkdir(vm->run_dir, 0700);
	run_path(vm, "pid", path, sizeof path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT(fd >= 0);
	ASSERT_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

TEST(adoptedNonChildReportsUnknownStatus)
{
	struct fx fx;
	char text[64];
	pid_t orphan;

	setup(&fx, "sleep 30");
	orphan = spawn_orphan();
	ASSERT(orphan > 0);
	track(orphan);
	init_vm(&fx, &fx.vm);
	snprintf(text, sizeof text, "%d %llu\n", (int)orphan, starttime_of(orphan));
	write_pidfile(&fx.vm, text);

	ASSERT_MSG(fx.vm.driver->adopt(&fx.vm, fx.errmsg) == 0, "adopt: %s", fx.errmsg);
	ASSERT_INT(fx.vm.pid, orphan);
	ASSERT_INT(fx.vm.driver->stop(&fx.vm, 5000), 0);
	wait_exits(&fx, 1);
	ASSERT_INT(fx.exits, 1);
	ASSERT_INT(fx.exit_status, -1);
	ASSERT_INT(fx.term_signal, 0);
	ASSERT(!file_exists(&fx.vm, "pid"));
	ASSERT_MSG(run_until(&fx, dead, &orphan, 2000), "orphan survived");
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(adoptRejectsAndRemovesStalePidfiles)
{
	struct fx fx;
	char text[64];
	pid_t gone;

	setup(&fx, "sleep 30");
	init_vm(&fx, &fx.vm);
	ASSERT_INT(fx.vm.driver->adopt(&fx.vm, fx.errmsg), BX_ENOENT); /* no pidfile */

	/* A process that has ended. */
	gone = fork();
	if (gone == 0)
		_exit(0);
	ASSERT(gone > 0);
	ASSERT_INT(waitpid(gone, NULL, 0), gone);
	snprintf(text, sizeof text, "%d 12345\n", (int)gone);
	write_pidfile(&fx.vm, text);
	ASSERT_INT(fx.vm.driver->adopt(&fx.vm, fx.errmsg), BX_ENOENT);
	ASSERT_CONTAINS(fx.errmsg, "stale pidfile");
	ASSERT(!file_exists(&fx.vm, "pid"));

	/* A live process with another start time: the PID was reused. */
	snprintf(text, sizeof text, "%d %llu\n", (int)getpid(),
		 starttime_of(getpid()) + 1);
	write_pidfile(&fx.vm, text);
	ASSERT_INT(fx.vm.driver->adopt(&fx.vm, fx.errmsg), BX_ENOENT);
	ASSERT(!file_exists(&fx.vm, "pid"));

	/* Garbage. */
	write_pidfile(&fx.vm, "not a pid\n");
	ASSERT_INT(fx.vm.driver->adopt(&fx.vm, fx.errmsg), BX_ENOENT);
	ASSERT(!file_exists(&fx.vm, "pid"));
	ASSERT_INT(fx.vm.state, BX_VM_NONE);
	ASSERT_INT(fx.exits, 0);
	close_vm(&fx, &fx.vm);
	teardown(&fx);
}

TEST(adoptTreatsOurOwnZombieAsGone)
{
	struct fx fx;
	struct bx_vm vm2;
	pid_t pid;

	setup(&fx, "sleep 30; true");
	init_vm(&fx, &fx.vm);
	start_vm(&fx, &fx.vm);
	pid = fx.vm.pid;
	close_vm(&fx, &fx.vm);
	/* Nobody reaps it now: once killed it stays our zombie. */
	ASSERT_INT(kill(pid, SIGKILL), 0);
	ASSERT_MSG(run_until(&fx, dead, &pid, 2000), "not killed");
	ASSERT_INT(kill(pid, 0), 0); /* the zombie is still there */

	init_vm(&fx, &vm2);
	ASSERT_INT(vm2.driver->adopt(&vm2, fx.errmsg), BX_ENOENT);
	ASSERT(!file_exists(&vm2, "pid"));
	/* ...and it was reaped on the way. */
	ASSERT_INT(kill(pid, 0), -1);
	ASSERT_INT(errno, ESRCH);
	close_vm(&fx, &vm2);
	ASSERT_INT(fx.exits, 0);
	teardown(&fx);
}

TEST(checkRejectsWhatCannotRun)
{
	struct fx fx;
	struct bx_vm vm;
	char path[4200];
	int fd;

	setup(&fx, "true");
	init_vm(&fx, &vm);
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), 0);

	fx.argv[0] = "bx-no-such-binary";
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_ENOENT);
	ASSERT_CONTAINS(fx.errmsg, "'bx-no-such-binary' not found");
	ASSERT_INT(vm.driver->start(&vm, fx.errmsg), BX_ENOENT);
	ASSERT_INT(vm.pid, 0);

	fx.argv[0] = "/nonexistent/bx/sh";
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_ENOENT);

	snprintf(path, sizeof path, "%s/not-executable", bx_test_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ASSERT(fd >= 0);
	close(fd);
	fx.argv[0] = path;
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_EPERM);

	fx.argv[0] = "";
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_EINVAL);
	fx.spec.process.command_len = 0;
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_EINVAL);

	fx.argv[0] = "/bin/sh";
	fx.spec.process.command_len = 3;
	fx.spec.process.workdir = "/nonexistent/bx-workdir";
	ASSERT_INT(vm.driver->check(&vm, fx.errmsg), BX_ENOENT);
	ASSERT_CONTAINS(fx.errmsg, "workdir");
	fx.spec.process.workdir = NULL;

	ASSERT_INT(vm.driver->stop(&vm, 100), BX_ENOENT);
	vm.driver->kill(&vm); /* nothing running: nothing happens */
	close_vm(&fx, &vm);
	ASSERT_INT(fx.exits, 0);
	teardown(&fx);
}

TEST(registryKnowsTheDrivers)
{
	struct fx fx;
	struct bx_vm vm;

	ASSERT(bx_driver_find("process") == &bx_driver_process);
	ASSERT(bx_driver_find("qemu") == &bx_driver_qemu);
	ASSERT(bx_driver_find("microvm-nix") == &bx_driver_microvm_nix);
	ASSERT(bx_driver_find("libvirt") == &bx_driver_libvirt);
	ASSERT(bx_driver_find("nope") == NULL);
	ASSERT(bx_driver_find(NULL) == NULL);

	setup(&fx, "true");
	strcpy(fx.spec.driver, "firecracker");
	ASSERT_INT(bx_vm_init(&vm, &fx.loop, "/tmp", &fx.spec, fx.errmsg), BX_EINVAL);
	ASSERT_STR(fx.errmsg, "no driver 'firecracker' (known: qemu, libvirt, microvm-nix, process)");

	strcpy(fx.spec.driver, "process");
	ASSERT_INT(bx_vm_init(&vm, &fx.loop, "/data", &fx.spec, fx.errmsg), 0);
	ASSERT_STR(vm.run_dir, "/data/vms/svc");
	ASSERT_INT(vm.state, BX_VM_NONE);
	ASSERT_INT(vm.pid, 0);
	ASSERT(vm.driver == &bx_driver_process);

	strcpy(fx.spec.name, "..");
	ASSERT_INT(bx_vm_init(&vm, &fx.loop, "/data", &fx.spec, fx.errmsg), BX_EINVAL);
	strcpy(fx.spec.name, "svc");

	char long_dir[4100];
	memset(long_dir, 'a', sizeof long_dir - 1);
	long_dir[0] = '/';
	long_dir[sizeof long_dir - 1] = '\0';
	ASSERT_INT(bx_vm_init(&vm, &fx.loop, long_dir, &fx.spec, fx.errmsg), BX_ETOOBIG);
	teardown(&fx);
}

TEST(closeWithoutStartCallsBackFromTheLoop)
{
	struct fx fx;
	struct bx_vm vm;

	setup(&fx, "true");
	init_vm(&fx, &vm);
	vm.driver->close(&vm, on_closed);
	ASSERT_INT(fx.closes, 0); /* never from inside close() */
	int want = 1;
	ASSERT(run_until(&fx, closes_reach, &want, 2000));
	teardown(&fx);
}
