/* process.h - the `process` driver: a plain command run detached, as a service instance.
 */
#ifndef BX_VM_PROCESS_H
#define BX_VM_PROCESS_H

#include "driver.h"

extern const struct bx_driver bx_driver_process;

/* Field 22 of /proc/PID/stat (start time in clock ticks), or 0 if the process is
 * gone/zombie. */
unsigned long long bx_proc_starttime(pid_t pid);

#endif
