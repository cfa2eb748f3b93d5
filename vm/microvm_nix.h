/* microvm_nix.h - the "microvm-nix" driver: VMs declared with microvm.nix, run by their runner. */
#ifndef BX_VM_MICROVM_NIX_H
#define BX_VM_MICROVM_NIX_H

#include "vm/driver.h"

/*
 * For hosts whose microVMs are built by microvm.nix: [vm] runner is a runner
 * directory (default /var/lib/microvms/NAME/current, where microvm.nix's host
 * module links it). The instance is RUNNER/bin/microvm-run, run by the
 * process core (vm/proc.h: detached, pidfile, console.log, adopted through a
 * pidfd); microvm-run execs the hypervisor, so the pid is the hypervisor's.
 *
 * As under microvm.nix's systemd units: the working directory is the VM's
 * state directory (the runner's parent when the runner is named `current`,
 * else the run directory), and the runner started is recorded as
 * RUN_DIR/booted (a symlink to the resolved runner), whose
 * bin/microvm-shutdown stop() runs when it exists; without one, or when it
 * fails, SIGTERM; SIGKILL after the timeout.
 *
 * check() refuses a runner that is missing, not a directory, or without an
 * executable bin/microvm-run.
 */
extern const struct bx_driver bx_driver_microvm_nix;

#endif
