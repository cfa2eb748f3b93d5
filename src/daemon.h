/* daemon.h - the daemon's entry: `blixard daemon` runs the node until SIGTERM. */
#ifndef BX_DAEMON_H
#define BX_DAEMON_H

#include "src/model/config.h"

/*
 * Make every component of a node (src/daemon_wiring.c wires them), run the
 * one loop until SIGTERM or SIGINT, and shut down in order (the instances
 * keep running: invariant 6). Returns the process exit code. struct
 * bx_daemon, which holds them all, is the composition root's alone
 * (src/daemon_internal.h).
 */
int bx_daemon_run(struct bx_config *cfg);

#endif
