#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "efab.h"

/* Bits of mr_mode this shim honours: a descriptor and a provider key travel with every
 * registration, and remote addresses are virtual addresses where the provider wants them. */
#define EFAB_MR_MODE (FI_MR_LOCAL | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_VIRT_ADDR)

static struct fi_info *efab_hints(const char *provider)
{
	struct fi_info *hints = fi_allocinfo();
	if (!hints)
		return NULL;
	hints->caps = FI_MSG | FI_RMA;
	/* We hand libfabric a 64-byte context with every operation. */
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->ep_attr->type = FI_EP_RDM;
	hints->domain_attr->mr_mode = EFAB_MR_MODE;
	hints->domain_attr->threading = FI_THREAD_SAFE;
	hints->domain_attr->av_type = FI_AV_TABLE;
	if (provider && provider[0]) {
		hints->fabric_attr->prov_name = strdup(provider);
		if (!hints->fabric_attr->prov_name) {
			fi_freeinfo(hints);
			return NULL;
		}
	}
	return hints;
}

/* Whether `name` is unset (NULL or "": any) or equal to `value`. */
static int efab_matches(const char *name, const char *value)
{
	return !name || !name[0] || (value && !strcmp(name, value));
}

/*
 * Writes one line "provider\tfabric\tdomain\n" per entry that `provider` (NULL or "" = any)
 * offers under this shim's hints, in libfabric's order, into buf (NUL-terminated). Returns 0,
 * -FI_ETOOSMALL when buf cannot hold them all, or -FI_E*. No entry is not an error: buf is "".
 */
int efab_list_entries(uint32_t version, const char *provider, char *buf, size_t len)
{
	struct fi_info *hints, *list = NULL, *cur;
	size_t used = 0;
	int ret, n;

	if (len == 0)
		return -FI_ETOOSMALL;
	buf[0] = '\0';
	hints = efab_hints(provider);
	if (!hints)
		return -FI_ENOMEM;
	ret = fi_getinfo(version, NULL, NULL, 0, hints, &list);
	fi_freeinfo(hints);
	if (ret == -FI_ENODATA)
		return 0;
	if (ret)
		return ret;
	for (cur = list; cur; cur = cur->next) {
		n = snprintf(buf + used, len - used, "%s\t%s\t%s\n", cur->fabric_attr->prov_name,
			     cur->fabric_attr->name ? cur->fabric_attr->name : "",
			     cur->domain_attr->name ? cur->domain_attr->name : "");
		if (n < 0 || (size_t)n >= len - used) {
			ret = -FI_ETOOSMALL;
			break;
		}
		used += n;
	}
	fi_freeinfo(list);
	return ret;
}

/*
 * Opens the first fabric and domain that `provider` (NULL or "" = any) offers under this
 * shim's hints whose fabric is named `fabric_name` and whose domain is named `domain_name`
 * (each NULL or "" = any). Returns -FI_ENODATA when nothing matches.
 */
int efab_domain_open(uint32_t version, const char *provider, const char *fabric_name,
		     const char *domain_name, struct efab_domain **out)
{
	struct fi_info *hints, *list = NULL, *cur;
	struct efab_domain *d;
	int ret;

	*out = NULL;
	hints = efab_hints(provider);
	if (!hints)
		return -FI_ENOMEM;
	ret = fi_getinfo(version, NULL, NULL, 0, hints, &list);
	fi_freeinfo(hints);
	if (ret)
		return ret;
	for (cur = list; cur; cur = cur->next)
		if (efab_matches(fabric_name, cur->fabric_attr->name) &&
		    efab_matches(domain_name, cur->domain_attr->name))
			break;
	if (!cur) {
		fi_freeinfo(list);
		return -FI_ENODATA;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		fi_freeinfo(list);
		return -FI_ENOMEM;
	}
	d->info = fi_dupinfo(cur);
	fi_freeinfo(list);
	if (!d->info) {
		free(d);
		return -FI_ENOMEM;
	}
	ret = fi_fabric(d->info->fabric_attr, &d->fabric, NULL);
	if (ret)
		goto err_info;
	ret = fi_domain(d->fabric, d->info, &d->domain, NULL);
	if (ret)
		goto err_fabric;
	efab_count_open(EFAB_DOMAIN);
	*out = d;
	return 0;

err_fabric:
	fi_close(&d->fabric->fid);
err_info:
	fi_freeinfo(d->info);
	free(d);
	return ret;
}

int efab_domain_close(struct efab_domain *d)
{
	int ret, ret2;

	if (!d)
		return 0;
	ret = fi_close(&d->domain->fid);
	ret2 = fi_close(&d->fabric->fid);
	fi_freeinfo(d->info);
	free(d);
	efab_count_close(EFAB_DOMAIN);
	return ret ? ret : ret2;
}

/* Attributes of an open domain, for Java to honour. */
const char *efab_domain_provider(struct efab_domain *d) { return d->info->fabric_attr->prov_name; }
const char *efab_domain_fabric_name(struct efab_domain *d) { return d->info->fabric_attr->name; }
const char *efab_domain_name(struct efab_domain *d) { return d->info->domain_attr->name; }
uint64_t efab_domain_mr_mode(struct efab_domain *d) { return (uint64_t)d->info->domain_attr->mr_mode; }
uint64_t efab_domain_mr_key_size(struct efab_domain *d) { return d->info->domain_attr->mr_key_size; }
uint64_t efab_domain_mr_count(struct efab_domain *d) { return d->info->domain_attr->mr_cnt; }
uint64_t efab_domain_max_msg_size(struct efab_domain *d) { return d->info->ep_attr->max_msg_size; }
uint64_t efab_domain_tx_size(struct efab_domain *d) { return d->info->tx_attr->size; }
uint64_t efab_domain_rx_size(struct efab_domain *d) { return d->info->rx_attr->size; }
uint32_t efab_domain_addr_format(struct efab_domain *d) { return d->info->addr_format; }
