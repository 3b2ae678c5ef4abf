/*
 * Owns the progress line on stderr for long scans: items done of total,
 * MB/s and ETA, redrawn at most a few times a second, only on a terminal.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

struct kl_progress {
	char *label;
	uint64_t total;
	bool enabled;
	double start;
	double last_draw;
	bool drawn;
	pthread_mutex_t lock; /* workers tick concurrently */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

kl_progress *kl_progress_new(const char *label, uint64_t total, bool enabled)
{
	kl_progress *p = kl_xcalloc(1, sizeof(*p));

	p->label = kl_xstrdup(label);
	p->total = total;
	p->enabled = enabled;
	p->start = p->last_draw = now();
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

bool kl_progress_shown(const kl_progress *p)
{
	return p && p->enabled;
}

void kl_progress_tick(kl_progress *p, uint64_t done, uint64_t bytes)
{
	double t, elapsed, mbps, eta;

	if (!p || !p->enabled || pthread_mutex_trylock(&p->lock) != 0)
		return;
	t = now();
	if (t - p->last_draw < 0.2 && done < p->total) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	p->last_draw = t;
	elapsed = t - p->start;
	mbps = elapsed > 0 ? (double)bytes / 1e6 / elapsed : 0;
	eta = done && p->total > done ? elapsed * (double)(p->total - done) /
						(double)done : 0;
	fprintf(stderr, "\r\033[K%s: %llu/%llu", p->label,
		(unsigned long long)done, (unsigned long long)p->total);
	if (bytes) /* walking commits reads no content worth a rate */
		fprintf(stderr, ", %.1f MB/s", mbps);
	fprintf(stderr, ", ETA %.0fs", eta);
	fflush(stderr);
	p->drawn = true;
	pthread_mutex_unlock(&p->lock);
}

void kl_progress_free(kl_progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		fprintf(stderr, "\r\033[K");
	pthread_mutex_destroy(&p->lock);
	free(p->label);
	free(p);
}
