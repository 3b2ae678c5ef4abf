/*
 * Owns kl_parallel_for, the one thread pool: workers take items from a
 * shared atomic counter, so fast and slow items balance themselves.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

typedef struct pool {
	size_t n;
	atomic_size_t next;
	void (*fn)(void *ctx, int worker, size_t item);
	void *ctx;
} pool;

typedef struct worker_arg {
	pool *p;
	int id;
} worker_arg;

static void *worker_main(void *arg)
{
	worker_arg *w = arg;
	size_t i;

	while ((i = atomic_fetch_add(&w->p->next, 1)) < w->p->n)
		w->p->fn(w->p->ctx, w->id, i);
	return NULL;
}

void kl_parallel_for(size_t n, int threads,
		     void (*fn)(void *ctx, int worker, size_t item), void *ctx)
{
	pool p = { n, 0, fn, ctx };
	pthread_t *tids;
	worker_arg *args;
	int i, started = 0;

	if (threads <= 1 || n <= 1) {
		worker_arg one = { &p, 0 };

		worker_main(&one);
		return;
	}
	tids = kl_xcalloc((size_t)threads, sizeof(*tids));
	args = kl_xcalloc((size_t)threads, sizeof(*args));
	for (i = 1; i < threads; i++) {
		args[i] = (worker_arg){ &p, i };
		if (pthread_create(&tids[i], NULL, worker_main, &args[i]) != 0)
			break;
		started = i;
	}
	/* The calling thread is worker 0; if threads failed, it does more. */
	args[0] = (worker_arg){ &p, 0 };
	worker_main(&args[0]);
	for (i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	free(tids);
	free(args);
}
