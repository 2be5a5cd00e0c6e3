#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "efab.h"

static atomic_long open_objects[EFAB_KIND_COUNT];
static atomic_long restored_handlers;

/*
 * A JVM takes SIGSEGV (and SIGBUS) in normal running: implicit null checks and safepoint polls
 * in compiled code fault on purpose, and the JVM's handler resumes the thread. libfabric 1.17's
 * shm provider, at the first fi_endpoint of a process, installs its own handler for SIGSEGV,
 * SIGBUS, SIGINT and SIGTERM that shm_unlinks every shm region of the process, then puts the
 * previous handler back and calls it. In a JVM the first ordinary SIGSEGV after that therefore
 * removed the endpoint's /dev/shm file while the endpoint lived on: a peer that had not mapped it
 * yet could no longer do so (shm_open: ENOENT), shm 1.17 swallowed that in smr_map_add and kept
 * a NULL region for the peer, and the peer's first message (its connreq) made the serving side
 * dereference it in smr_progress_connreq, inside fi_cq_read (SIGSEGV at address 0x4, pid).
 *
 * So around the calls that may install handlers, the shim saves the handlers of SIGSEGV and
 * SIGBUS and puts back any that changed. SIGINT and SIGTERM stay libfabric's: they clean up,
 * then chain to the JVM's handler, and nothing raises them in normal running.
 */
static const int host_signals[EFAB_HOST_SIGNALS] = { SIGSEGV, SIGBUS };

void efab_signals_save(struct efab_signals *saved)
{
	int i;

	for (i = 0; i < EFAB_HOST_SIGNALS; i++)
		sigaction(host_signals[i], NULL, &saved->action[i]);
}

void efab_signals_restore(const struct efab_signals *saved)
{
	struct sigaction now;
	int i;

	for (i = 0; i < EFAB_HOST_SIGNALS; i++) {
		if (sigaction(host_signals[i], NULL, &now))
			continue;
		if (now.sa_sigaction == saved->action[i].sa_sigaction &&
		    now.sa_flags == saved->action[i].sa_flags)
			continue;
		if (!sigaction(host_signals[i], &saved->action[i], NULL))
			atomic_fetch_add(&restored_handlers, 1);
	}
}

/* How many signal handlers that libfabric had replaced the shim has put back (for logs and tests). */
long efab_signal_handlers_restored(void)
{
	return atomic_load(&restored_handlers);
}

/* The address of the handler now installed for signum (for tests), or 0 where none can be read. */
uint64_t efab_signal_handler(int signum)
{
	struct sigaction now;

	if (sigaction(signum, NULL, &now))
		return 0;
	return (uint64_t)(uintptr_t)now.sa_sigaction;
}

void efab_count_open(int kind)
{
	atomic_fetch_add(&open_objects[kind], 1);
}

void efab_count_close(int kind)
{
	atomic_fetch_sub(&open_objects[kind], 1);
}

/* Number of objects of one kind (enum efab_kind) that are open now, or -FI_EINVAL. */
long efab_open_objects(int kind)
{
	if (kind < 0 || kind >= EFAB_KIND_COUNT)
		return -FI_EINVAL;
	return atomic_load(&open_objects[kind]);
}

/* Copies fi_strerror(errnum) into buf (always NUL-terminated). */
void efab_strerror(int errnum, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "%s", fi_strerror(errnum < 0 ? -errnum : errnum));
}

/* The libfabric API version of the library loaded at run time, as FI_VERSION(major, minor). */
uint32_t efab_runtime_version(void)
{
	return fi_version();
}
