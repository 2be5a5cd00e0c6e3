/*
 * efa-shuffle native bridge: a thin C shim over libfabric.
 *
 * Most fi_* calls are static inline functions that dispatch through ops tables, which an FFI
 * cannot call; this shim exports plain functions instead. Every function returns 0 (or a
 * non-negative count) on success and -FI_E* on failure; -FI_EAGAIN is a normal answer that the
 * caller queues and retries. The shim holds no policy: Java decides what to open and when.
 */
#ifndef EFAB_H
#define EFAB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_errno.h>

/* Kinds of native object the shim counts while they are open (for leak checks). */
enum efab_kind {
	EFAB_DOMAIN = 0,
	EFAB_CQ = 1,
	EFAB_AV = 2,
	EFAB_EP = 3,
	EFAB_MR = 4,
	EFAB_MEMORY = 5,
	EFAB_EQ = 6,
	EFAB_KIND_COUNT = 7
};

/* A fabric and one domain on it, with the fi_info they were opened from. */
struct efab_domain {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
};

void efab_count_open(int kind);
void efab_count_close(int kind);

/* Handlers of the signals that the host process (a JVM) takes in normal running; see efab_common.c. */
#define EFAB_HOST_SIGNALS 2
struct efab_signals {
	struct sigaction action[EFAB_HOST_SIGNALS];
};

void efab_signals_save(struct efab_signals *saved);
void efab_signals_restore(const struct efab_signals *saved);

#endif
