#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "efab.h"

/*
 * Registers [addr, addr + len) with `access` (FI_READ | FI_SEND | FI_RECV for memory only this
 * process uses, plus FI_REMOTE_READ for memory peers read). Where the provider does not choose
 * keys (no FI_MR_PROV_KEY), requested_key is used; -FI_ENOKEY means it is taken and the caller
 * picks another.
 */
int efab_mr_reg(struct efab_domain *d, void *addr, size_t len, uint64_t access,
		uint64_t requested_key, struct fid_mr **out)
{
	int ret;

	*out = NULL;
	ret = fi_mr_reg(d->domain, addr, len, access, 0, requested_key, 0, out, NULL);
	if (!ret)
		efab_count_open(EFAB_MR);
	return ret;
}

int efab_mr_close(struct fid_mr *mr)
{
	int ret;

	if (!mr)
		return 0;
	ret = fi_close(&mr->fid);
	if (!ret)
		efab_count_close(EFAB_MR);
	return ret;
}

uint64_t efab_mr_key(struct fid_mr *mr) { return fi_mr_key(mr); }
void *efab_mr_desc(struct fid_mr *mr) { return fi_mr_desc(mr); }

/* Page-aligned anonymous memory for registration; freed with efab_mem_free. */
int efab_mem_alloc(size_t len, void **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	*out = NULL;
	if (p == MAP_FAILED)
		return -FI_ENOMEM;
	efab_count_open(EFAB_MEMORY);
	*out = p;
	return 0;
}

int efab_mem_free(void *addr, size_t len)
{
	if (!addr)
		return 0;
	if (munmap(addr, len))
		return -FI_EINVAL;
	efab_count_close(EFAB_MEMORY);
	return 0;
}

/*
 * Maps the first len bytes of the file at path read-only and shared: the page cache's own pages,
 * no copy, populated now rather than faulted in by the first read. Freed with efab_mem_free.
 * -FI_EINVAL when the file is shorter than len (touching a page past its end raises SIGBUS).
 */
int efab_file_map(const char *path, size_t len, void **out)
{
	struct stat st;
	void *p;
	int fd, ret = 0;

	*out = NULL;
	if (!len)
		return -FI_EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
	} else if ((uint64_t) st.st_size < len) {
		ret = -FI_EINVAL;
	} else {
		p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		if (p == MAP_FAILED) {
			ret = -errno;
		} else {
			efab_count_open(EFAB_MEMORY);
			*out = p;
		}
	}
	close(fd);
	return ret;
}
