/*
 * Raw libfabric fi_read benchmark: the baseline the Java transport benchmark is compared with.
 *
 * Usage: fi_read_bench PROVIDER DOMAIN SIZES WINDOWS
 *   e.g. fi_read_bench shm "" 4096,65536 1,16        (DOMAIN "" = the provider's first)
 * Forks a target process that registers a source region and busy-polls its completion queue
 * (software providers need the target to progress), while this process reads from it with up to
 * WINDOW reads in flight. Prints one line per (size, window):
 *   RESULT provider=P size=S window=W reads=N gbps=G median_us=M
 * Built against the shim (efab.h), so it opens the fabric exactly as the Java binding does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "efab.h"

int efab_domain_open(uint32_t, const char *, const char *, const char *, struct efab_domain **);
int efab_domain_close(struct efab_domain *);
uint64_t efab_domain_mr_mode(struct efab_domain *);
int efab_cq_open(struct efab_domain *, size_t, int, struct fid_cq **);
int efab_cq_close(struct fid_cq *);
long efab_cq_read(struct fid_cq *, void *, size_t);
int efab_cq_readerr(struct fid_cq *, void **, int *, char *, size_t);
int efab_av_open(struct efab_domain *, size_t, struct fid_av **);
int efab_av_close(struct fid_av *);
int efab_av_insert(struct fid_av *, const void *, uint64_t *);
int efab_ep_open(struct efab_domain *, struct fid_cq *, struct fid_av *, struct fid_eq *, struct fid_ep **, int *);
int efab_ep_close(struct fid_ep *);
int efab_ep_getname(struct fid_ep *, void *, size_t *);
long efab_read(struct fid_ep *, void *, size_t, void *, uint64_t, uint64_t, uint64_t, void *);
int efab_mr_reg(struct efab_domain *, void *, size_t, uint64_t, uint64_t, struct fid_mr **);
int efab_mr_close(struct fid_mr *);
uint64_t efab_mr_key(struct fid_mr *);
void *efab_mr_desc(struct fid_mr *);
int efab_mem_alloc(size_t, void **);
int efab_mem_free(void *, size_t);
uint32_t efab_runtime_version(void);

#define MAX_WINDOW 64
#define SOURCE_SIZE (16UL << 20)

struct fabric {
	struct efab_domain *domain;
	struct fid_cq *cq;
	struct fid_av *av;
	struct fid_ep *ep;
};

struct target_info {
	uint64_t key;
	uint64_t base;  /* remote address of byte 0 of the source region */
	size_t addr_len;
	char addr[256];
};

static void check(long ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "fi_read_bench: %s failed: %s (%ld)\n", what, fi_strerror((int)-ret), ret);
		exit(1);
	}
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint32_t api_version(void)
{
	uint32_t wanted = FI_VERSION(1, 18), have = efab_runtime_version();
	return have < wanted ? have : wanted;
}

static void open_fabric(struct fabric *f, const char *provider, const char *domain)
{
	/* From libfabric 2.1 the efa provider lists the efa-direct fabric first: ask for efa. */
	const char *fabric = provider && !strcmp(provider, "efa") ? "efa" : NULL;

	check(efab_domain_open(api_version(), provider, fabric, domain, &f->domain), "open domain");
	check(efab_cq_open(f->domain, 1024, 0, &f->cq), "open cq");
	check(efab_av_open(f->domain, 16, &f->av), "open av");
	int eq_bound;
	check(efab_ep_open(f->domain, f->cq, f->av, NULL, &f->ep, &eq_bound), "open endpoint");
}

static void close_fabric(struct fabric *f)
{
	check(efab_ep_close(f->ep), "close endpoint");
	check(efab_av_close(f->av), "close av");
	check(efab_cq_close(f->cq), "close cq");
	check(efab_domain_close(f->domain), "close domain");
}

static void run_target(int sock, const char *provider, const char *domain)
{
	struct fabric f;
	struct target_info info = { 0 };
	struct fid_mr *mr;
	struct fi_cq_data_entry entries[16];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	unsigned char *src;
	unsigned long spins = 0;

	open_fabric(&f, provider, domain);
	check(efab_mem_alloc(SOURCE_SIZE, (void **)&src), "allocate source");
	for (size_t i = 0; i < SOURCE_SIZE; i++)
		src[i] = (unsigned char)(i * 31 + 7);
	check(efab_mr_reg(f.domain, src, SOURCE_SIZE, FI_READ | FI_REMOTE_READ | FI_SEND | FI_RECV, 0x5eed, &mr), "register source");
	info.key = efab_mr_key(mr);
	info.base = (efab_domain_mr_mode(f.domain) & FI_MR_VIRT_ADDR) ? (uint64_t)(uintptr_t)src : 0;
	info.addr_len = sizeof(info.addr);
	check(efab_ep_getname(f.ep, info.addr, &info.addr_len), "getname");
	if (write(sock, &info, sizeof(info)) != sizeof(info))
		exit(1);
	/* Busy-poll until the initiator says it is done (or goes away). */
	for (;;) {
		long n = efab_cq_read(f.cq, entries, 16);
		if (n < 0 && n != -FI_EAGAIN)
			check(n, "target cq read");
		if ((++spins & 1023) == 0 && poll(&pfd, 1, 0) != 0)
			break;
	}
	check(efab_mr_close(mr), "close mr");
	check(efab_mem_free(src, SOURCE_SIZE), "free source");
	close_fabric(&f);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench(struct fabric *f, uint64_t peer, struct target_info *t, unsigned char *dst,
		  void *desc, size_t size, int window, const char *provider)
{
	struct fi_context2 contexts[MAX_WINDOW];
	double started[MAX_WINDOW];
	struct fi_cq_data_entry entries[MAX_WINDOW];
	size_t reads = (256UL << 20) / size, slots_in_source = SOURCE_SIZE / size;
	size_t posted = 0, done = 0, warmup;
	double *latency, t0 = 0;
	int free_slots[MAX_WINDOW], nfree = window;

	if (reads < 200)
		reads = 200;
	if (reads > 20000)
		reads = 20000;
	warmup = reads / 10;
	latency = calloc(reads, sizeof(double));
	for (int i = 0; i < window; i++)
		free_slots[i] = i;
	while (done < reads + warmup) {
		while (nfree > 0 && posted < reads + warmup) {
			int slot = free_slots[nfree - 1];
			uint64_t offset = (posted % slots_in_source) * size;
			started[slot] = now_us();
			long ret = efab_read(f->ep, dst + (size_t)slot * size, size, desc, peer,
					     t->base + offset, t->key, &contexts[slot]);
			if (ret == -FI_EAGAIN)
				break;
			check(ret, "fi_read");
			nfree--;
			posted++;
		}
		long n = efab_cq_read(f->cq, entries, MAX_WINDOW);
		if (n == -FI_EAVAIL) {
			void *ctx; int err; char msg[256];
			efab_cq_readerr(f->cq, &ctx, &err, msg, sizeof(msg));
			fprintf(stderr, "fi_read_bench: read failed: %s\n", msg);
			exit(1);
		}
		if (n == -FI_EAGAIN)
			continue;
		check(n, "cq read");
		double t = now_us();
		for (long i = 0; i < n; i++) {
			int slot = (int)((struct fi_context2 *)entries[i].op_context - contexts);
			if (done >= warmup)
				latency[done - warmup] = t - started[slot];
			else if (done == warmup - 1)
				t0 = t;
			if (done == 0) {
				for (size_t b = 0; b < size; b++)
					if (dst[(size_t)slot * size + b] != (unsigned char)(b * 31 + 7)) {
						fprintf(stderr, "fi_read_bench: wrong byte at %zu\n", b);
						exit(1);
					}
			}
			done++;
			free_slots[nfree++] = slot;
		}
	}
	double elapsed = now_us() - t0;
	qsort(latency, reads, sizeof(double), compare_double);
	printf("RESULT provider=%s size=%zu window=%d reads=%zu gbps=%.3f median_us=%.2f\n",
	       provider, size, window, reads, reads * (double)size / elapsed / 1e3,
	       latency[reads / 2]);
	fflush(stdout);
	free(latency);
}

int main(int argc, char **argv)
{
	int socks[2];
	pid_t child;
	struct target_info t;
	struct fabric f;
	struct fid_mr *mr;
	unsigned char *dst;
	uint64_t peer;
	size_t sizes[16], nsizes = 0, max_size = 0, dst_size;
	int windows[16], nwindows = 0, max_window = 1, status;
	char *list, *tok;

	if (argc != 5) {
		fprintf(stderr, "usage: fi_read_bench PROVIDER DOMAIN SIZES WINDOWS\n");
		return 2;
	}
	list = strdup(argv[3]);
	for (tok = strtok(list, ","); tok && nsizes < 16; tok = strtok(NULL, ",")) {
		sizes[nsizes] = strtoul(tok, NULL, 10);
		if (sizes[nsizes] == 0 || sizes[nsizes] > SOURCE_SIZE)
			return 2;
		if (sizes[nsizes] > max_size)
			max_size = sizes[nsizes];
		nsizes++;
	}
	list = strdup(argv[4]);
	for (tok = strtok(list, ","); tok && nwindows < 16; tok = strtok(NULL, ",")) {
		windows[nwindows] = atoi(tok);
		if (windows[nwindows] < 1 || windows[nwindows] > MAX_WINDOW)
			return 2;
		if (windows[nwindows] > max_window)
			max_window = windows[nwindows];
		nwindows++;
	}
	/* Fork before any libfabric call: libfabric state does not survive fork. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, socks))
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(socks[0]);
		run_target(socks[1], argv[1], argv[2]);
		_exit(0);
	}
	close(socks[1]);
	if (read(socks[0], &t, sizeof(t)) != sizeof(t)) {
		fprintf(stderr, "fi_read_bench: target did not start\n");
		return 1;
	}
	open_fabric(&f, argv[1], argv[2]);
	check(efab_av_insert(f.av, t.addr, &peer), "av insert");
	dst_size = max_size * max_window;
	check(efab_mem_alloc(dst_size, (void **)&dst), "allocate destination");
	check(efab_mr_reg(f.domain, dst, dst_size, FI_READ | FI_SEND | FI_RECV, 0xd57, &mr), "register destination");
	for (size_t s = 0; s < nsizes; s++)
		for (int w = 0; w < nwindows; w++)
			bench(&f, peer, &t, dst, efab_mr_desc(mr), sizes[s], windows[w], argv[1]);
	check(efab_mr_close(mr), "close mr");
	check(efab_mem_free(dst, dst_size), "free destination");
	close_fabric(&f);
	close(socks[0]);
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
