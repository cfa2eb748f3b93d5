/* console.h - console.log of an instance: rotated at start, capped while it runs. */
#ifndef BX_VM_CONSOLE_H
#define BX_VM_CONSOLE_H

/*
 * The console log of an instance is a file the hypervisor appends to
 * (O_APPEND) and that outlives the daemon. It is kept under
 * BX_CONSOLE_MAX + one older copy (PATH.1): at a start, a file over the cap
 * is renamed; while the instance runs, the owner calls bx_console_cap()
 * every BX_CONSOLE_CHECK_MS. The daemon is deliberately not a pipe between
 * hypervisor and file: the instance must keep logging while no daemon runs.
 */

#define BX_CONSOLE_MAX (8ull << 20)
#define BX_CONSOLE_CHECK_MS 5000

/* Before a start: move PATH to PATH.1 when it is over the cap. 0, or BX_EIO with message. */
int bx_console_rotate(const char *path, char *errmsg);

/*
 * While running: once PATH is over the cap, copy it to PATH.1 and truncate
 * it. The writer appends, so its later writes land at the new end; only a
 * write between the copy and the truncate is lost. Failures are left for
 * the next call (nothing to report: the instance is unaffected).
 */
void bx_console_cap(const char *path);

#endif
