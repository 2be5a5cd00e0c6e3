#include <stdbool.h>
#include <stdio.h>
#include "efab.h"

/* fi_ext.h from libfabric 1.18: FI_OPT_EFA_EMULATED_READ = -FI_PROV_SPECIFIC_EFA + 1 (a bool);
 * Debian's 1.17 headers, which this shim builds against, do not have it. */
#define EFAB_OPT_EFA_EMULATED_READ (-(0xefa << 16) + 1)

/* ofi_util.h's UTIL_FLAG_ERROR: the flag with which a provider writes an error entry into a
 * util EQ (every EQ of efa, shm and tcp;ofi_rxm is one). Used by the test seam only. */
#define EFAB_UTIL_FLAG_ERROR (1ULL << 60)

/*
 * Opens an event queue on the domain's fabric, without a wait object: the progress thread polls
 * it. Bound to an endpoint, it receives the errors of the provider's internal operations, which
 * the efa provider otherwise answers with abort() (efa_base_ep_write_eq_error).
 */
int efab_eq_open(struct efab_domain *d, size_t size, struct fid_eq **out)
{
	struct fi_eq_attr attr = {
		.size = size,
		.wait_obj = FI_WAIT_NONE,
	};
	int ret;

	*out = NULL;
	ret = fi_eq_open(d->fabric, &attr, out, NULL);
	if (!ret)
		efab_count_open(EFAB_EQ);
	return ret;
}

int efab_eq_close(struct fid_eq *eq)
{
	int ret;

	if (!eq)
		return 0;
	ret = fi_close(&eq->fid);
	if (!ret)
		efab_count_close(EFAB_EQ);
	return ret;
}

/*
 * Reads the next event without blocking. Returns -FI_EAGAIN when there is none, the event
 * number (FI_NOTIFY, ...: >= 0) for an ordinary event, and -FI_EAVAIL for an error entry, whose
 * error (positive FI_E*), provider errno and description (fi_strerror and fi_eq_strerror) it
 * writes into err, prov_errno and msg (always NUL-terminated).
 */
long efab_eq_read(struct fid_eq *eq, int *err, int *prov_errno, char *msg, size_t msg_len)
{
	struct fi_eq_err_entry entry = { 0 };
	uint32_t event = 0;
	char data[256];
	const char *text;
	ssize_t ret;

	ret = fi_eq_read(eq, &event, data, sizeof(data), 0);
	if (ret >= 0)
		return event;
	if (ret != -FI_EAVAIL)
		return ret;
	ret = fi_eq_readerr(eq, &entry, 0);
	if (ret < 0)
		return ret;
	*err = entry.err;
	*prov_errno = entry.prov_errno;
	if (msg_len) {
		text = fi_eq_strerror(eq, entry.prov_errno, entry.err_data, NULL, 0);
		snprintf(msg, msg_len, "%s (provider errno %d: %s)", fi_strerror(entry.err),
			 entry.prov_errno, text ? text : "?");
	}
	return -FI_EAVAIL;
}

/* Test seam: writes an error entry as a provider does (efa_base_ep_write_eq_error). */
int efab_eq_inject_error(struct fid_eq *eq, int err, int prov_errno)
{
	struct fi_eq_err_entry entry = { .err = err, .prov_errno = prov_errno };
	ssize_t ret;

	ret = fi_eq_write(eq, FI_NOTIFY, &entry, sizeof(entry), EFAB_UTIL_FLAG_ERROR);
	return ret < 0 ? (int)ret : 0;
}

/*
 * Whether the efa provider emulates RDMA reads on this endpoint (no device read: each read is
 * served inside the target's fi_cq_read): writes 1 or 0 into *emulated. -FI_ENOPROTOOPT where
 * the provider does not know the option (not efa, or an efa older than libfabric 1.18).
 */
int efab_ep_efa_emulated_read(struct fid_ep *ep, int *emulated)
{
	bool value = false;
	size_t len = sizeof(value);
	int ret;

	ret = fi_getopt(&ep->fid, FI_OPT_ENDPOINT, EFAB_OPT_EFA_EMULATED_READ, &value, &len);
	if (ret)
		return ret;
	*emulated = value ? 1 : 0;
	return 0;
}
