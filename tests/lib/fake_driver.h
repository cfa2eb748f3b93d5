/* fake_driver.h - a VM driver whose instances are records in memory, moved by the test. */
#ifndef BX_FAKE_DRIVER_H
#define BX_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vm/driver.h"

/*
 * The driver's "host": one fake instance per instance key (NAME or NAME@I),
 * kept across agents as real instances outlive their daemon (invariant 6), so
 * a test can leave one running and start a new agent that must adopt it.
 * Exits and closes happen when the test says (bx_fake_driver_settle), as a
 * real driver reports them later, from the loop.
 */
struct bx_fake_vm {
	char name[80];
	bool running;
	pid_t pid;
	unsigned starts, adopts, stops, kills;
	char fail_start[128]; /* non-empty: start() fails with this message */
	/* the agent's vm attached to it (started or adopted, not closed), or NULL */
	struct bx_vm *vm;
	/* an exit on its way (stop, kill, or bx_fake_vm_exit), delivered by settle */
	bool exit_due;
	int64_t exit_status;
	int exit_signal;
	/* vms close() was asked for (a dropped generation and the next one
	 * may both be closing): their callbacks are due */
	struct bx_vm *closing[4];
	void (*close_cb[4])(struct bx_vm *vm);
	unsigned n_closing;
};

extern const struct bx_driver bx_fake_driver;

/* Forget every fake instance (between tests). */
void bx_fake_driver_reset(void);

/* The fake instance of `name`, made (not running) if it is not there yet. */
struct bx_fake_vm *bx_fake_vm(const char *name);

/* The instance ends by itself (a crash, a clean exit): delivered by settle. */
void bx_fake_vm_exit(const char *name, int64_t status, int term_signal);

/* Deliver every exit and close that is due, until none is. The number delivered. */
unsigned bx_fake_driver_settle(void);

/* Deliver the exits that are due, and no close: a close still under way
 * while the agent goes on. The number delivered. */
unsigned bx_fake_driver_deliver_exits(void);

/* How many fake instances run now. */
unsigned bx_fake_driver_running(void);

#endif
