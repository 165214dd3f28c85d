/* Unit tests of the fetch engine's API contract (crawler/fetch.h) against a tiny HTTP server on a
 * loopback port, run by a thread of this test: when callbacks run, submission from a callback,
 * cancellation on free, back-pressure, the default SSRF policy, option checks. The misbehaving
 * servers (timeouts, bombs, resets, robots.txt cases) are in tests/integration/test_fetch.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "crawler/fetch.h"
#include "crawler/ssrf.h"

/* ---- a one-thread HTTP/1.0-style server: one request per connection ---------------------- */

typedef struct server {
    int fd, port;
    pthread_t th;
    int connections; /* accepted so far */
    pthread_mutex_t mu;
} server;

static void respond(int c, const char *path)
{
    char buf[512];
    if (strcmp(path, "/slow") == 0) {
        usleep(3000 * 1000);
        return;
    }
    if (strcmp(path, "/robots.txt") == 0) {
        const char *body = "User-agent: *\nDisallow: /private\n";
        int n = snprintf(buf, sizeof buf,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n%s",
                         strlen(body), body);
        (void)!write(c, buf, (size_t)n);
        return;
    }
    if (strncmp(path, "/ok", 3) == 0) {
        int n = snprintf(buf, sizeof buf,
                         "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 5\r\n"
                         "Connection: close\r\n\r\nhello");
        (void)!write(c, buf, (size_t)n);
        return;
    }
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    (void)!write(c, buf, (size_t)n);
}

static void *handle(void *arg)
{
    int c = (int)(intptr_t)arg;
    char req[2048];
    ssize_t n = read(c, req, sizeof req - 1);
    if (n > 0) {
        req[n] = 0;
        char path[256] = "";
        if (sscanf(req, "GET %255s", path) == 1)
            respond(c, path);
    }
    close(c);
    return NULL;
}

/* Accepts connections, one detached thread each (so /slow does not hold up the others). */
static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
        pthread_t t;
        if (pthread_create(&t, NULL, handle, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

static void server_start(server *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->fd, 64), 0);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
}

static int server_connections(server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->connections;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- helpers ------------------------------------------------------------------------------ */

typedef struct seen {
    int calls;
    fetch_outcome outcome;
    int status, attempts;
    char body[64];
    size_t body_len;
    /* for the resubmitting callback */
    fetch_engine *e;
    char next_url[256];
} seen;

static void on_done(void *user, const fetch_result *r)
{
    seen *s = user;
    s->calls++;
    s->outcome = r->outcome;
    s->status = r->http_status;
    s->attempts = r->attempts;
    s->body_len = r->body_len;
    if (r->body && r->body_len < sizeof s->body)
        memcpy(s->body, r->body, r->body_len);
}

static void on_done_resubmit(void *user, const fetch_result *r)
{
    seen *s = user;
    on_done(user, r);
    if (s->next_url[0]) {
        char url[256];
        snprintf(url, sizeof url, "%s", s->next_url);
        s->next_url[0] = 0;
        assert_int_equal(fetch_submit(s->e, url, FETCH_KIND_IMAGE, on_done_resubmit, s), CC_OK);
    }
}

static ssrf_policy *loopback_policy(void)
{
    ssrf_policy *p;
    assert_int_equal(ssrf_policy_new(&p), CC_OK);
    assert_int_equal(ssrf_policy_allow_net(p, "127.0.0.1/32"), CC_OK);
    return p;
}

static fetch_engine *engine(const ssrf_policy *p, size_t max_queued)
{
    fetch_opts o;
    fetch_opts_default(&o);
    o.ssrf = p;
    o.host_delay = 0;
    o.per_host = 4;
    o.timeout = 10;
    if (max_queued)
        o.max_queued = max_queued;
    fetch_engine *e;
    assert_int_equal(fetch_engine_new(&o, &e), CC_OK);
    return e;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_ok_and_callback_timing(void **state)
{
    (void)state;
    server srv;
    server_start(&srv);
    ssrf_policy *p = loopback_policy();
    fetch_engine *e = engine(p, 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok/1.jpg", srv.port);
    seen s = {0};
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &s), CC_OK);
    assert_int_equal(s.calls, 0); /* never from fetch_submit */
    assert_int_equal(fetch_pending(e), 1);
    size_t pending = 99;
    assert_int_equal(fetch_run(e, 20, &pending), CC_OK);
    assert_int_equal(pending, 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.outcome, FETCH_OK);
    assert_int_equal(s.status, 200);
    assert_int_equal(s.attempts, 1);
    assert_int_equal(s.body_len, 5);
    assert_memory_equal(s.body, "hello", 5);

    fetch_stats st;
    fetch_get_stats(e, &st);
    assert_int_equal(st.submitted, 1);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.outcome[FETCH_OK], 1);
    assert_int_equal(st.robots_fetched, 1);
    assert_int_equal(st.requests, 2); /* robots.txt, then the image */
    assert_int_equal(st.hosts, 1);

    /* robots.txt of the server disallows /private: no request is sent for it */
    seen d = {0};
    int before = server_connections(&srv);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/private/x.jpg", srv.port);
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &d), CC_OK);
    assert_int_equal(fetch_run(e, 20, NULL), CC_OK);
    assert_int_equal(d.outcome, FETCH_ROBOTS_DENIED);
    assert_int_equal(d.attempts, 0);
    assert_int_equal(server_connections(&srv), before);

    fetch_engine_free(e);
    ssrf_policy_free(p);
    server_stop(&srv);
}

static void test_bad_url_completes_in_run(void **state)
{
    (void)state;
    fetch_engine *e = engine(NULL, 0);
    seen a = {0}, b = {0};
    assert_int_equal(fetch_submit(e, "ftp://example.com/x.jpg", FETCH_KIND_IMAGE, on_done, &a),
                     CC_OK);
    assert_int_equal(fetch_submit(e, "not a url", FETCH_KIND_IMAGE, on_done, &b), CC_OK);
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(fetch_run(e, 5, NULL), CC_OK);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.outcome, FETCH_BAD_URL);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.outcome, FETCH_BAD_URL);
    assert_string_equal(fetch_outcome_name(FETCH_BAD_URL), "bad_url");
    assert_string_equal(fetch_outcome_name(FETCH_OUTCOME_COUNT), "unknown");
    fetch_engine_free(e);
}

static void test_default_policy_blocks_loopback(void **state)
{
    (void)state;
    server srv;
    server_start(&srv);
    fetch_engine *e = engine(NULL, 0); /* default policy: 127/8 refused, ports 80/443 only */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok/1.jpg", srv.port);
    seen s = {0};
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &s), CC_OK);
    assert_int_equal(fetch_run(e, 5, NULL), CC_OK);
    assert_int_equal(s.outcome, FETCH_SSRF_BLOCKED);
    /* a name on a port outside the allow-list is refused before DNS */
    seen n = {0};
    assert_int_equal(
        fetch_submit(e, "http://example.invalid:8080/a.jpg", FETCH_KIND_IMAGE, on_done, &n), CC_OK);
    assert_int_equal(fetch_run(e, 5, NULL), CC_OK);
    assert_int_equal(n.outcome, FETCH_SSRF_BLOCKED);
    fetch_engine_free(e);
    assert_int_equal(server_connections(&srv), 0);
    server_stop(&srv);
}

static void test_submit_from_callback(void **state)
{
    (void)state;
    server srv;
    server_start(&srv);
    ssrf_policy *p = loopback_policy();
    fetch_engine *e = engine(p, 0);
    seen s = {.e = e};
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok/1.jpg", srv.port);
    snprintf(s.next_url, sizeof s.next_url, "http://127.0.0.1:%d/ok/2.jpg", srv.port);
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done_resubmit, &s), CC_OK);
    assert_int_equal(fetch_run(e, 20, NULL), CC_OK);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.outcome, FETCH_OK);
    assert_int_equal(fetch_pending(e), 0);
    fetch_engine_free(e);
    ssrf_policy_free(p);
    server_stop(&srv);
}

static void test_cancel_on_free_and_backpressure(void **state)
{
    (void)state;
    server srv;
    server_start(&srv);
    ssrf_policy *p = loopback_policy();
    fetch_engine *e = engine(p, 2);
    char url[128];
    seen a = {0}, b = {0}, c = {0};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", srv.port);
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &a), CC_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok/3.jpg", srv.port);
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &b), CC_OK);
    assert_int_equal(fetch_submit(e, url, FETCH_KIND_IMAGE, on_done, &c), CC_E_LIMIT);
    size_t pending = 0;
    assert_int_equal(fetch_run(e, 0.5, &pending), CC_OK);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.outcome, FETCH_OK);
    assert_int_equal(pending, 1); /* /slow is still in flight */
    assert_int_equal(a.calls, 0);
    fetch_engine_free(e);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.outcome, FETCH_CANCELLED);
    assert_int_equal(c.calls, 0);
    ssrf_policy_free(p);
    server_stop(&srv);
}

static void test_option_checks(void **state)
{
    (void)state;
    fetch_opts o;
    fetch_engine *e = NULL;
    fetch_opts_default(&o);
    o.per_host = 0;
    assert_int_equal(fetch_engine_new(&o, &e), CC_E_INVAL);
    fetch_opts_default(&o);
    o.robots_token = "clip crawl";
    assert_int_equal(fetch_engine_new(&o, &e), CC_E_INVAL);
    fetch_opts_default(&o);
    o.user_agent = "two\r\nlines";
    assert_int_equal(fetch_engine_new(&o, &e), CC_E_INVAL);
    fetch_opts_default(&o);
    o.timeout = 0;
    assert_int_equal(fetch_engine_new(&o, &e), CC_E_INVAL);
    assert_null(e);
    fetch_engine_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_and_callback_timing),
        cmocka_unit_test(test_bad_url_completes_in_run),
        cmocka_unit_test(test_default_policy_blocks_loopback),
        cmocka_unit_test(test_submit_from_callback),
        cmocka_unit_test(test_cancel_on_free_and_backpressure),
        cmocka_unit_test(test_option_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
