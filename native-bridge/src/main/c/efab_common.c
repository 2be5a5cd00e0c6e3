#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "efab.h"

static atomic_long open_objects[EFAB_KIND_COUNT];

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
