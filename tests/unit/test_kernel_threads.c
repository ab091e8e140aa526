/* The kernel shared by several threads: no admission is lost or doubled. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meshtrust/kernel.h"

#define THREADS 4
#define REQUESTS_PER_THREAD 20000

static double frozen_clock(void *payload)
{
	return *(const double *)payload;
}

typedef struct worker {
	mt_kernel *kernel;
	const mt_constraints *constraints;
	const char *actor;
	long admitted, limited, errors;
} worker;

static void *hammer(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
		mt_kernel_decision d;
		int rc = mt_kernel_check_request(w->kernel, w->actor, strlen(w->actor),
		                                 w->constraints, &d);
		if (rc == MT_K_ALLOW)
			w->admitted++;
		else if (rc == MT_K_RATE_LIMITED && d.retry_after > 0)
			w->limited++;
		else
			w->errors++;
	}
	return NULL;
}

static mt_kernel *frozen_kernel(double *now)
{
	mt_kernel_config cfg = {0};
	cfg.clock = frozen_clock;
	cfg.clock_payload = now;
	cfg.max_actors = 64;
	mt_kernel *k = NULL;
	assert_int_equal(mt_kernel_new(&k, &cfg), 0);
	return k;
}

static void run_workers(worker *workers, int n)
{
	pthread_t tids[THREADS];
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&tids[i], NULL, hammer, &workers[i]), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(pthread_join(tids[i], NULL), 0);
}

static void test_same_actor_frozen_clock_admits_exactly_the_burst(void **state)
{
	(void)state;
	double now = 42.0;
	mt_kernel *k = frozen_kernel(&now);
	mt_constraints c = {.allow = 1, .per_second = 200, .burst = 5000};
	worker workers[THREADS];
	for (int i = 0; i < THREADS; i++)
		workers[i] = (worker){.kernel = k, .constraints = &c, .actor = "shared-peer"};
	run_workers(workers, THREADS);
	long admitted = 0, limited = 0, errors = 0;
	for (int i = 0; i < THREADS; i++) {
		admitted += workers[i].admitted;
		limited += workers[i].limited;
		errors += workers[i].errors;
	}
	assert_int_equal(errors, 0);
	assert_int_equal(admitted, 5000);
	assert_int_equal(limited, THREADS * REQUESTS_PER_THREAD - 5000);
	mt_kernel_free(k);
}

static void test_distinct_actors_in_parallel(void **state)
{
	(void)state;
	double now = 1.0;
	mt_kernel *k = frozen_kernel(&now);
	mt_constraints c = {.allow = 1, .per_second = 10, .burst = 777};
	worker workers[THREADS];
	const char *actors[THREADS] = {"w0", "w1", "w2", "w3"};
	for (int i = 0; i < THREADS; i++)
		workers[i] = (worker){.kernel = k, .constraints = &c, .actor = actors[i]};
	run_workers(workers, THREADS);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(workers[i].errors, 0);
		assert_int_equal(workers[i].admitted, 777);
	}
	mt_kernel_stats st;
	assert_int_equal(mt_kernel_stats_get(k, &st), 0);
	assert_int_equal(st.actors, THREADS);
	mt_kernel_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_actor_frozen_clock_admits_exactly_the_burst),
	    cmocka_unit_test(test_distinct_actors_in_parallel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
