/* process.h - the "process" driver: a plain command run as a service instance. */
#ifndef BX_VM_PROCESS_H
#define BX_VM_PROCESS_H

#include "vm/driver.h"

/*
 * An instance is spec->process.command run in its own session (setsid), so
 * the instance is one process group whose leader is the command, and it
 * outlives the daemon. Files in RUN_DIR (created 0700 by start):
 *
 *   pid          "PID STARTTIME\n", written atomically (tmp + rename) by
 *                start, removed when the instance ends while watched.
 *                STARTTIME is field 22 of /proc/PID/stat, so a reused PID
 *                is never mistaken for the instance.
 *   console.log  stdout and stderr, appended across starts; when it is over
 *                8 MiB at start it is moved to console.log.1 first.
 *
 * Exit status: an instance we spawned reports its real status (exit code,
 * or term_signal). An adopted instance is not our child, so its status is
 * unknown: on_exit gets exit_status -1 and term_signal 0 — unless it is in
 * fact a child of this daemon (a started vm closed, then adopted again in
 * the same daemon), in which case it is reaped and the real status given.
 *
 * When the leader ends, whatever is left in its process group is killed
 * (SIGKILL): the group is the instance, and a restart must never run next to
 * leftovers of the previous run.
 *
 * stop() returns BX_ENOENT when nothing is running; check() BX_EINVAL for an
 * empty command, BX_ENOENT for a missing binary or workdir, BX_EPERM for a
 * binary that is not executable. start() BX_EBUSY when this vm already runs
 * one, BX_EEXIST when the pidfile names a live instance (adopt it instead),
 * BX_EIO and friends for filesystem and spawn failures. adopt() BX_ENOENT
 * when there is nothing to adopt (a stale pidfile is removed), BX_EUNAVAIL
 * on kernels without pidfd_open (Linux < 5.3).
 *
 * Requires Linux: /proc and pidfds.
 */
extern const struct bx_driver bx_driver_process;

#endif
