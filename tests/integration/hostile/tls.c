/* HTTPS on the front door. The test makes its own PKI with openssl (a root CA, an intermediate
 * CA, a server certificate for 127.0.0.1 signed by the intermediate; the chain file holds the
 * server certificate and the intermediate, the key is a file of its own), then:
 * - bad TLS settings stop start-up by themselves, non-zero, naming the file: a missing
 *   certificate, a key of another certificate, a key file that holds no key;
 * - with the good ones, /health answers over HTTPS verified against the root alone (so the
 *   intermediate was served), and a submission gets 202;
 * - plain HTTP to the TLS port, garbage instead of a ClientHello, a handshake that stalls and
 *   one that trickles are each closed, the stalled ones within HTTP_REQUEST_TIMEOUT, while
 *   the workers they do not hold keep serving; afterwards the gateway serves as before;
 * - a body that stalls inside the TLS session gets its 400 within HTTP_REQUEST_TIMEOUT;
 * - TLS 1.1 is refused (by the server: the client allows it at OpenSSL security level 0),
 *   TLS 1.2 and 1.3 are served;
 * - SIGTERM stops it with status 0 (under ASan: no leak report). */
#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;
static char dir[512], ca[600], chain[600], key[600], other_key[600];

static void sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        VC_TEST_FAIL("command failed (%d): %s", rc, cmd);
}

/* Root CA -> intermediate CA -> server certificate (SAN IP:127.0.0.1), like a real issuer. */
static void make_pki(void)
{
    snprintf(dir, sizeof(dir), "%s/tls", vc_test_tmpdir());
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p %s; cd %s; q='>/dev/null 2>&1';"
             "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' >ca.ext;"
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' >san.ext;"
             "eval openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=vc-test-root "
             "-keyout root.key -out root.pem $q;"
             "eval openssl req -newkey rsa:2048 -nodes -subj /CN=vc-test-intermediate "
             "-keyout int.key -out int.csr $q;"
             "eval openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial "
             "-days 2 -extfile ca.ext -out int.pem $q;"
             "eval openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
             "-keyout server.key -out server.csr $q;"
             "eval openssl x509 -req -in server.csr -CA int.pem -CAkey int.key -CAcreateserial "
             "-days 2 -extfile san.ext -out server.pem $q;"
             "cat server.pem int.pem >chain.pem",
             dir, dir);
    sh(cmd);
    snprintf(ca, sizeof(ca), "%s/root.pem", dir);
    snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(other_key, sizeof(other_key), "%s/int.key", dir);
}

/* A gateway with these TLS settings must exit by itself, non-zero, naming `needle`. */
static void refuses_to_start(const char *cert, const char *k, const char *needle)
{
    char e_cert[700], e_key[700], e_port[32];
    snprintf(e_cert, sizeof(e_cert), "HTTP_TLS_CERT=%s", cert);
    snprintf(e_key, sizeof(e_key), "HTTP_TLS_KEY=%s", k);
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", vc_test_free_port());
    const char *env[] = {e_cert, e_key, e_port, NULL};
    static int runs;
    char name[32];
    snprintf(name, sizeof(name), "gateway-refused-%d", ++runs); /* a log of its own */
    vc_proc_t p;
    vc_test_spawn(&p, name, "vc-gateway", env);
    int rc = hostile_wait_exit(&p, 30);
    size_t n = 0;
    char *log = vc_test_read_file(p.log_path, &n);
    fprintf(stderr, "refused (%d): %s", rc, log);
    if (rc <= 0 || rc >= 128 || !vc_test_contains(log, n, needle))
        VC_TEST_FAIL("cert=%s key=%s: exit %d, want 1 or 2 with a message naming %s", cert, k,
                     rc, needle);
    free(log);
}

static void bad_settings_stop_startup(void)
{
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
    refuses_to_start(missing, key, missing);
    refuses_to_start(chain, other_key, "does not belong to the certificate");
    refuses_to_start(chain, ca, ca); /* a certificate where the key should be */
}

/* GET /health with libcurl limited to TLS versions [lo, hi]; returns the CURLcode. */
static CURLcode health_with(long versions)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/health", h.base);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, ca);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, versions);
    /* OpenSSL 3 clients refuse TLS 1.0/1.1 themselves above security level 0: lowered, a
     * failed TLS 1.1 handshake can only be the server's refusal. */
    curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "DEFAULT:@SECLEVEL=0");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fwrite);
    FILE *null = fopen("/dev/null", "w");
    curl_easy_setopt(c, CURLOPT_WRITEDATA, null);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status != 200)
        VC_TEST_FAIL("GET /health over TLS answered %ld", status);
    fclose(null);
    curl_easy_cleanup(c);
    return rc;
}

static void protocol_versions(void)
{
    CURLcode rc = health_with(CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1);
    fprintf(stderr, "TLS 1.1: %s\n", curl_easy_strerror(rc));
    if (rc == CURLE_OK)
        VC_TEST_FAIL("a TLS 1.1 client was served");
    ASSERT_EQ(health_with(CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2), CURLE_OK);
    ASSERT_EQ(health_with(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_DEFAULT), CURLE_OK);
}

static void serves_https(void)
{
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/health", h.base);
    ASSERT_EQ(vc_test_http("GET", url, NULL, NULL, 0, NULL), 200);
    vc_test_api_key = h.key;
    long st = vc_test_submit_tone(h.base, &resp);
    vc_test_api_key = NULL;
    if (st != 202)
        VC_TEST_FAIL("submission over HTTPS: %ld %s", st, resp);
    free(resp);
}

/* A connection that is no TLS client is closed at once, without an answer. */
static void closed_promptly(const void *bytes, size_t len, const char *what)
{
    int fd = vc_raw_connect(h.base);
    (void)vc_raw_send(fd, bytes, len);
    long ms = vc_raw_wait_closed(fd, 4 * HOSTILE_TIMEOUT_MS);
    close(fd);
    fprintf(stderr, "%s: closed after %ld ms\n", what, ms);
    if (ms < 0 || ms > HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS)
        VC_TEST_FAIL("%s: connection closed after %ld ms, want at most %d", what, ms,
                     HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    hostile_expect_healthy(&h, what);
}

static void non_tls_clients(void)
{
    static const char plain[] = "GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n";
    closed_promptly(plain, sizeof(plain) - 1, "plain HTTP to the TLS port");
    char junk[600];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)(i * 37 + 11);
    closed_promptly(junk, sizeof(junk), "garbage instead of a ClientHello");
}

/* The first bytes of a ClientHello record that announces 512 bytes and never sends them. */
static const unsigned char hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc};

/* HOSTILE_THREADS - 2 handshakes stall with a worker each: the two left serve /health, and
 * every stalled one is cut within HTTP_REQUEST_TIMEOUT; then one that trickles its hello. */
static void stalled_handshakes(void)
{
    enum { N = HOSTILE_THREADS - 2 };
    int fd[N];
    long t0 = vc_raw_now_ms();
    for (int i = 0; i < N; i++) {
        fd[i] = vc_raw_connect(h.base);
        ASSERT_OK(vc_raw_send(fd[i], hello_start, sizeof(hello_start)));
    }
    hostile_expect_healthy(&h, "stalled handshakes holding workers");
    for (int i = 0; i < N; i++) {
        long left = 4 * HOSTILE_TIMEOUT_MS - (vc_raw_now_ms() - t0);
        long ms = vc_raw_wait_closed(fd[i], left > 0 ? (int)left : 1);
        long since = ms < 0 ? -1 : vc_raw_now_ms() - t0;
        close(fd[i]);
        fprintf(stderr, "stalled handshake %d: closed %ld ms after it began\n", i, since);
        if (since < 0 || since > HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS)
            VC_TEST_FAIL("stalled handshake %d: closed after %ld ms, want at most %d", i, since,
                         HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    }
    unsigned char hello[300] = {0x16, 0x03, 0x01, 0x01, 0x20, 0x01, 0x00, 0x01, 0x1c, 0x03, 0x03};
    int tfd = vc_raw_connect(h.base);
    long cut = -1;
    vc_raw_trickle(tfd, hello, sizeof(hello), 100, 4 * HOSTILE_TIMEOUT_MS, &cut);
    close(tfd);
    fprintf(stderr, "trickled handshake: cut after %ld ms\n", cut);
    if (cut < 0 || cut > HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS)
        VC_TEST_FAIL("trickled handshake: cut after %ld ms, want at most %d", cut,
                     HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    hostile_expect_healthy(&h, "stalled and trickled handshakes");
}

/* Inside the TLS session the hostile-client limits hold as on plain HTTP: a body that stalls
 * after its headers is answered 400 invalid_body (or at least cut) within
 * HTTP_REQUEST_TIMEOUT. OpenSSL by hand: no HTTP library stalls a body on purpose. */
static void stalled_body_inside_tls(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ASSERT(ctx != NULL);
    ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int fd = vc_raw_connect(h.base);
    SSL *ssl = SSL_new(ctx);
    ASSERT(ssl != NULL);
    SSL_set_fd(ssl, fd);
    SSL_set1_host(ssl, "127.0.0.1");
    if (SSL_connect(ssl) != 1)
        VC_TEST_FAIL("TLS handshake: %s", ERR_error_string(ERR_get_error(), NULL));
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/detections HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                     "%s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
                     h.key);
    long t0 = vc_raw_now_ms();
    ASSERT_EQ(SSL_write(ssl, req, n), n);
    char resp[2048];
    int got = 0;
    while (got < (int)sizeof(resp) - 1) {
        int r = SSL_read(ssl, resp + got, (int)sizeof(resp) - 1 - got);
        if (r <= 0)
            break; /* the answer is complete when the server closes */
        got += r;
    }
    resp[got] = '\0';
    long ms = vc_raw_now_ms() - t0;
    fprintf(stderr, "stalled body over TLS: after %ld ms got %d bytes: %.60s\n", ms, got, resp);
    if (ms > HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS)
        VC_TEST_FAIL("stalled body over TLS held its worker %ld ms, want at most %d", ms,
                     HOSTILE_TIMEOUT_MS + HOSTILE_SLACK_MS);
    if (strncmp(resp, "HTTP/1.1 400", 12) != 0 || strstr(resp, "invalid_body") == NULL)
        VC_TEST_FAIL("stalled body over TLS: want a 400 invalid_body, got: %s", resp);
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    hostile_expect_healthy(&h, "a stalled body over TLS");
}

int main(void)
{
    hostile_init(&h, "tls");
    ASSERT_OK(curl_global_init(CURL_GLOBAL_DEFAULT));
    make_pki();
    bad_settings_stop_startup();
    vc_test_ca_file = ca;
    char e_cert[700], e_key[700];
    snprintf(e_cert, sizeof(e_cert), "HTTP_TLS_CERT=%s", chain);
    snprintf(e_key, sizeof(e_key), "HTTP_TLS_KEY=%s", key);
    const char *extra[] = {e_cert, e_key, NULL};
    hostile_start(&h, extra);
    ASSERT(strncmp(h.base, "https://", 8) == 0);
    serves_https();
    protocol_versions();
    non_tls_clients();
    stalled_handshakes();
    stalled_body_inside_tls();
    serves_https();
    hostile_stop(&h);
    vc_test_revoke_key(h.pg, h.key_id);
    curl_global_cleanup();
    return 0;
}
