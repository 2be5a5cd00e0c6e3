#include <stdio.h>
#include "efab.h"

/*
 * Opens a completion queue of fi_cq_data_entry (op_context, flags, len, buf, data: 40 bytes
 * each). With `wait` set it asks for a wait object so that efab_cq_sread can block; providers
 * that have none answer -FI_ENOSYS (or similar) and Java opens one without.
 */
int efab_cq_open(struct efab_domain *d, size_t size, int wait, struct fid_cq **out)
{
	struct fi_cq_attr attr = {
		.size = size,
		.format = FI_CQ_FORMAT_DATA,
		.wait_obj = wait ? FI_WAIT_UNSPEC : FI_WAIT_NONE,
	};
	int ret;

	*out = NULL;
	ret = fi_cq_open(d->domain, &attr, out, NULL);
	if (!ret)
		efab_count_open(EFAB_CQ);
	return ret;
}

int efab_cq_close(struct fid_cq *cq)
{
	int ret;

	if (!cq)
		return 0;
	ret = fi_close(&cq->fid);
	if (!ret)
		efab_count_close(EFAB_CQ);
	return ret;
}

/* Reads up to count entries into buf; returns how many, -FI_EAGAIN when none, -FI_EAVAIL when
 * an error entry is next (read it with efab_cq_readerr). Also drives manual progress. */
long efab_cq_read(struct fid_cq *cq, void *buf, size_t count)
{
	return (long)fi_cq_read(cq, buf, count);
}

/* As efab_cq_read, but blocks up to timeout_ms while the queue is empty. */
long efab_cq_sread(struct fid_cq *cq, void *buf, size_t count, int timeout_ms)
{
	return (long)fi_cq_sread(cq, buf, count, NULL, timeout_ms);
}

/* Wakes a thread blocked in efab_cq_sread. */
int efab_cq_signal(struct fid_cq *cq)
{
	return fi_cq_signal(cq);
}

/*
 * Reads the next error entry: its op_context, its error (positive FI_E* number) and the
 * provider's description of it, written into msg (always NUL-terminated).
 */
int efab_cq_readerr(struct fid_cq *cq, void **context, int *err, char *msg, size_t msg_len)
{
	struct fi_cq_err_entry entry = { 0 };
	const char *text;
	long ret;

	ret = fi_cq_readerr(cq, &entry, 0);
	if (ret < 0)
		return (int)ret;
	if (ret == 0)
		return -FI_EAGAIN;
	*context = entry.op_context;
	*err = entry.err;
	if (msg_len) {
		text = fi_cq_strerror(cq, entry.prov_errno, entry.err_data, NULL, 0);
		snprintf(msg, msg_len, "%s (provider errno %d: %s)", fi_strerror(entry.err),
			 entry.prov_errno, text ? text : "?");
	}
	return 0;
}
