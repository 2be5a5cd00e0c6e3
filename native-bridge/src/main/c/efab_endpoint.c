#include <string.h>
#include "efab.h"

int efab_av_open(struct efab_domain *d, size_t count, struct fid_av **out)
{
	struct fi_av_attr attr = {
		.type = FI_AV_TABLE,
		.count = count,
	};
	int ret;

	*out = NULL;
	ret = fi_av_open(d->domain, &attr, out, NULL);
	if (!ret)
		efab_count_open(EFAB_AV);
	return ret;
}

int efab_av_close(struct fid_av *av)
{
	int ret;

	if (!av)
		return 0;
	ret = fi_close(&av->fid);
	if (!ret)
		efab_count_close(EFAB_AV);
	return ret;
}

/* Inserts one peer address (as fi_getname gave it) and writes its fi_addr_t. */
int efab_av_insert(struct fid_av *av, const void *addr, uint64_t *fi_addr)
{
	fi_addr_t out = FI_ADDR_NOTAVAIL;
	int ret;

	ret = fi_av_insert(av, addr, 1, &out, 0, NULL);
	if (ret < 0)
		return ret;
	if (ret != 1 || out == FI_ADDR_NOTAVAIL)
		return -FI_EADDRNOTAVAIL;
	*fi_addr = out;
	return 0;
}

int efab_av_remove(struct fid_av *av, uint64_t fi_addr)
{
	fi_addr_t addr = fi_addr;

	return fi_av_remove(av, &addr, 1, 0);
}

/*
 * Opens an endpoint bound to one completion queue (transmit and receive), one address vector
 * and, when eq is not NULL, one event queue, and enables it. A provider that refuses the event
 * queue does not stop the open: *eq_bound gets fi_ep_bind's answer (0 when bound) and the
 * endpoint goes on without. Keeps the process's SIGSEGV and SIGBUS handlers (see efab_common.c):
 * shm replaces them in fi_endpoint, before the endpoint has a region that its handler unlinks.
 */
int efab_ep_open(struct efab_domain *d, struct fid_cq *cq, struct fid_av *av, struct fid_eq *eq,
		 struct fid_ep **out, int *eq_bound)
{
	struct efab_signals signals;
	struct fid_ep *ep;
	int ret;

	*out = NULL;
	*eq_bound = -FI_ENOEQ;
	efab_signals_save(&signals);
	ret = fi_endpoint(d->domain, d->info, &ep, NULL);
	efab_signals_restore(&signals);
	if (ret)
		return ret;
	ret = fi_ep_bind(ep, &cq->fid, FI_TRANSMIT | FI_RECV);
	if (ret)
		goto err;
	ret = fi_ep_bind(ep, &av->fid, 0);
	if (ret)
		goto err;
	if (eq)
		*eq_bound = fi_ep_bind(ep, &eq->fid, 0);
	ret = fi_enable(ep);
	efab_signals_restore(&signals);
	if (ret)
		goto err;
	efab_count_open(EFAB_EP);
	*out = ep;
	return 0;
err:
	fi_close(&ep->fid);
	return ret;
}

int efab_ep_close(struct fid_ep *ep)
{
	int ret;

	if (!ep)
		return 0;
	ret = fi_close(&ep->fid);
	if (!ret)
		efab_count_close(EFAB_EP);
	return ret;
}

/* Writes the endpoint's address into buf; *len is buf's size in and the address length out
 * (-FI_ETOOSMALL with the length needed when buf is too small). */
int efab_ep_getname(struct fid_ep *ep, void *buf, size_t *len)
{
	return fi_getname(&ep->fid, buf, len);
}

/* One-sided read of len bytes at (raddr, key) in peer src into buf. */
long efab_read(struct fid_ep *ep, void *buf, size_t len, void *desc, uint64_t src,
	       uint64_t raddr, uint64_t key, void *context)
{
	return (long)fi_read(ep, buf, len, desc, src, raddr, key, context);
}

long efab_send(struct fid_ep *ep, const void *buf, size_t len, void *desc, uint64_t dest,
	       void *context)
{
	return (long)fi_send(ep, buf, len, desc, dest, context);
}

/* Posts a receive buffer for a message from any peer. */
long efab_recv(struct fid_ep *ep, void *buf, size_t len, void *desc, void *context)
{
	return (long)fi_recv(ep, buf, len, desc, FI_ADDR_UNSPEC, context);
}
