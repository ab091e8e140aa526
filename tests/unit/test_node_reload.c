/* mt_node_reload (issue #20): settings put in force while requests run.
 *
 * A real node on 127.0.0.1 (any free port) in a temp home; client threads
 * send requests on raw sockets while the main thread reloads 150 times
 * (a new policy each time, node.directory toggled, depth 1..3). Under ASan,
 * UBSan and valgrind (CI) this is the check that a handler never reads a
 * freed policy or a torn setting. Also: a bad setting is refused with
 * MT_EINVAL and changes nothing; the reload counter; the effect of a reload
 * on the public directory route. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "meshtrust/identity.h"
#include "meshtrust/node.h"
#include "meshtrust/policy.h"

/* The HTTP status of one request (Connection: close), or -1. */
static int http_status(int port, const char *path, const char *token)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(fd);
		return -1;
	}
	char req[512];
	int k = snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: close\r\n\r\n",
			 path, token ? "Authorization: Bearer " : "", token ? token : "",
			 token ? "\r\n" : "");
	if (write(fd, req, (size_t)k) != k) {
		close(fd);
		return -1;
	}
	char buf[64] = {0};
	size_t got = 0;
	while (got < 12) {
		ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	/* drain the rest so the server never meets a reset mid-answer */
	char sink[4096];
	while (read(fd, sink, sizeof sink) > 0)
		;
	close(fd);
	int status = -1;
	if (got >= 12 && sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	return status;
}

typedef struct client {
	int port;
	const char *token;
	volatile int *stop;
	int requests, bad;
} client;

static void *client_run(void *arg)
{
	client *c = arg;
	static const char *paths[] = {"/v1/id", "/v1/metrics", "/v1/trust?target=x",
				      "/v1/directory", "/v1/trust/list"};
	for (int i = 0; !__atomic_load_n(c->stop, __ATOMIC_ACQUIRE); i++) {
		const char *p = paths[i % 5];
		int st = http_status(c->port, p, strcmp(p, "/v1/directory") ? c->token : NULL);
		c->requests++;
		/* anything but a server error or a lost connection is fine here */
		if (st < 200 || st >= 500)
			c->bad++;
	}
	return NULL;
}

static void fill(mt_node_settings *ns, int depth, int directory)
{
	memset(ns, 0, sizeof *ns);
	ns->max_depth = depth;
	ns->n_decay = 3;
	ns->decay[0] = 1.0;
	ns->decay[1] = 0.5;
	ns->decay[2] = 0.25;
	ns->directory = directory;
}

static void test_reload_under_load(void **state)
{
	(void)state;
	char home[] = "/tmp/mt-reload-XXXXXX";
	assert_non_null(mkdtemp(home));
	char db[128];
	snprintf(db, sizeof db, "%s/trust.db", home);
	mt_keypair kp;
	assert_int_equal(mt_keypair_generate(&kp), 0);
	mt_node_opts no = {0};
	no.home = home;
	no.db_path = db;
	no.threads = 2;
	no.max_depth = 2;
	no.log_level = MT_NODE_LOG_ERROR;
	mt_node *n = NULL;
	mt_error err = {0};
	assert_int_equal(mt_node_start(&n, &no, &kp, &err), 0);
	int port = mt_node_port(n);
	const char *token = mt_node_token(n);

	/* a bad setting: refused, nothing changes, the caller keeps its policy */
	mt_node_settings ns;
	fill(&ns, 9, 1);
	assert_int_equal(mt_node_reload(n, &ns, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "trust.maxDepth 9"));
	fill(&ns, 2, 1);
	ns.decay[1] = 1.5;
	assert_int_equal(mt_node_reload(n, &ns, &err), MT_EINVAL);
	assert_non_null(strstr(err.msg, "trust.decay[1]"));
	assert_int_equal(mt_node_reloads(n), 0);
	assert_int_equal(http_status(port, "/v1/directory", NULL), 401);

	volatile int stop = 0;
	client cs[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		cs[i] = (client){port, token, &stop, 0, 0};
		assert_int_equal(pthread_create(&th[i], NULL, client_run, &cs[i]), 0);
	}
	for (int i = 0; i < 150; i++) {
		fill(&ns, 1 + i % 3, (i + 1) % 2);
		assert_int_equal(mt_policy_default(&ns.policy), 0);
		ns.policy->max_gini = 0.5 + (i % 5) / 10.0;
		assert_int_equal(mt_node_reload(n, &ns, &err), 0);
		usleep(2000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	int requests = 0, bad = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		requests += cs[i].requests;
		bad += cs[i].bad;
	}
	print_message("%d requests during 150 reloads, %d server errors\n", requests, bad);
	assert_true(requests > 0);
	assert_int_equal(bad, 0);
	assert_int_equal(mt_node_reloads(n), 150);

	/* the last reload turned the directory off ((149 + 1) % 2): absent; on
	 * again: served (after a pause: the clients emptied the anonymous
	 * callers' bucket, 20/s burst 5 by default) */
	assert_int_equal(http_status(port, "/v1/directory", NULL), 401);
	fill(&ns, 2, 1);
	assert_int_equal(mt_node_reload(n, &ns, &err), 0);
	usleep(600 * 1000);
	assert_int_equal(http_status(port, "/v1/directory", NULL), 200);
	assert_int_equal(mt_node_reloads(n), 151);

	mt_node_free(n);
	mt_keypair_wipe(&kp);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload_under_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
