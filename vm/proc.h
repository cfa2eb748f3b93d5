/* proc.h - the process core (vm/process.c) that drivers running one process build on. */
#ifndef BX_VM_PROC_H
#define BX_VM_PROC_H

#include <stdbool.h>

#include "vm/driver.h"

/*
 * The "process", "qemu" and "microvm-nix" drivers all run an instance as one
 * detached process (its own session), with a pidfile "PID STARTTIME" and
 * console.log (its stdout and stderr) in the run directory, adopted again
 * through a pidfd. vm/process.h describes the files and the exit statuses;
 * these are the pieces, for a driver to combine with its own command line
 * and its own graceful stop. console.log is capped while the instance runs:
 * every 5 s, once it is over 8 MiB, it is copied to console.log.1 and
 * truncated (the instance appends, so it keeps writing at the new end).
 */

struct bx_proc_cmd {
	char **argv;     /* NULL-terminated; argv[0] a path or a name looked up in PATH */
	char **env;      /* NULL-terminated "KEY=value" list; NULL: the daemon's */
	const char *cwd; /* NULL: the daemon's */
};

/* Is `path` a regular file this process may execute? */
bool bx_proc_executable(const char *path);

/* Is `name` (without '/') executable in one of the ':'-separated `dirs`? An
 * empty entry means `cwd` (NULL: the current directory), as for execvp. */
bool bx_proc_in_path(const char *name, const char *dirs, const char *cwd);

/* Start `cmd` as the instance (run directory created, pidfile written). */
int bx_proc_spawn(struct bx_vm *vm, const struct bx_proc_cmd *cmd, char *errmsg);

/* Re-attach to the instance the pidfile names (the driver table's adopt). */
int bx_proc_adopt(struct bx_vm *vm, char *errmsg);

/*
 * Begin a stop: state STOPPING, SIGKILL armed for timeout_ms from now, and
 * the instance asked to end: by `ask` (the driver's own way: QMP, a
 * shutdown script), or with SIGTERM to its group when ask is NULL. 0 also
 * when a stop is already under way (nothing is asked twice); BX_ENOENT
 * when nothing runs.
 */
int bx_proc_stop(struct bx_vm *vm, uint32_t timeout_ms, void (*ask)(struct bx_vm *vm));

/* Send `sig` to a running or stopping instance's group; nothing otherwise. */
void bx_proc_signal(struct bx_vm *vm, int sig);

/* The table's kill, console_path and close. */
void bx_proc_kill(struct bx_vm *vm);
const char *bx_proc_console_path(struct bx_vm *vm);
void bx_proc_close(struct bx_vm *vm, void (*cb)(struct bx_vm *vm));

/* The table of a driver on the process core: adopt, kill and console are the core's. */
#define BX_PROC_DRIVER(NAME, CHECK, START, STOP, STATUS, CLOSE)                             \
	{                                                                                   \
		.name = (NAME), .check = (CHECK), .start = (START), .adopt = bx_proc_adopt,  \
		.stop = (STOP), .kill = bx_proc_kill, .status = (STATUS),                    \
		.console_path = bx_proc_console_path, .close = (CLOSE),                     \
	}

#endif
