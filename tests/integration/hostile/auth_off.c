/* AUTH_MODE=off serves everyone without a key, so the gateway refuses it unless it listens on
 * a loopback address: with any other HTTP_HOST it must exit at once with status 2 and a
 * message naming AUTH_MODE and the address, before listening. On loopback (127.0.0.1, or any
 * of 127/8) it starts and serves keyless requests; with AUTH_MODE=on any address is fine and
 * a keyless request is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"

static hostile_t h;

static char *read_log(const vc_proc_t *p)
{
    FILE *f = fopen(p->log_path, "rb");
    ASSERT(f != NULL);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void refused_off_loopback(void)
{
    static const char *const hosts[] = {
        "0.0.0.0", "::", "10.1.2.3", "192.168.0.10", "127.0.0.1.example.com", "::ffff:10.0.0.1"};
    char e_kafka[512], e_pg[512], e_redis[256];
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", h.pg);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", h.redis);
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char host[128], name[64];
        snprintf(host, sizeof(host), "HTTP_HOST=%s", hosts[i]);
        snprintf(name, sizeof(name), "gateway-off-%zu", i);
        const char *env[] = {"AUTH_MODE=off", host, e_kafka, e_pg, e_redis, NULL};
        vc_proc_t p;
        vc_test_spawn(&p, name, "vc-gateway", env);
        int st = hostile_wait_exit(&p, 15);
        const char *log = read_log(&p);
        fprintf(stderr, "HTTP_HOST=%s: exit %d: %s", hosts[i], st, log);
        if (st != 2)
            VC_TEST_FAIL("AUTH_MODE=off on %s: exit %d, want 2", hosts[i], st);
        if (strstr(log, "AUTH_MODE=off") == NULL || strstr(log, "loopback") == NULL ||
            strstr(log, hosts[i]) == NULL)
            VC_TEST_FAIL("AUTH_MODE=off on %s: unclear message: %s", hosts[i], log);
    }
}

static void served_without_key_on_loopback(void)
{
    const char *extra[] = {"AUTH_MODE=off", "HTTP_HOST=127.0.0.1", NULL};
    hostile_start(&h, extra);
    size_t wav_len = 0;
    unsigned char *wav = vc_test_wav_sine(440, 0.5, 0.05, 8000, &wav_len);
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/v1/detections", h.base);
    /* msgpack with the media as bin: no base64 needed */
    unsigned char body[1024];
    size_t n = 0;
    body[n++] = 0x82;
    body[n++] = 0xae;
    memcpy(body + n, "detection_type", 14);
    n += 14;
    body[n++] = 0xa5;
    memcpy(body + n, "audio", 5);
    n += 5;
    body[n++] = 0xaa;
    memcpy(body + n, "audio_data", 10);
    n += 10;
    body[n++] = 0xc5; /* bin 16 */
    body[n++] = (unsigned char)(wav_len >> 8);
    body[n++] = (unsigned char)wav_len;
    ASSERT(n + wav_len <= sizeof(body));
    memcpy(body + n, wav, wav_len);
    n += wav_len;
    free(wav);
    long st = vc_test_http("POST", url, "application/msgpack", body, n, &resp);
    if (st != 202)
        VC_TEST_FAIL("keyless submission with AUTH_MODE=off: %ld %s", st, resp);
    free(resp);
    hostile_stop(&h);

    /* Anywhere in 127/8 is loopback too. */
    int port = vc_test_free_port();
    char e_port[32], e_kafka[512], e_pg[512], e_redis[256], health[96];
    snprintf(e_port, sizeof(e_port), "HTTP_PORT=%d", port);
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    snprintf(e_pg, sizeof(e_pg), "DATABASE_URL=%s", h.pg);
    snprintf(e_redis, sizeof(e_redis), "REDIS_URL=%s", h.redis);
    const char *env[] = {
        "AUTH_MODE=off", "HTTP_HOST=127.0.0.2", e_port, e_kafka, e_pg, e_redis, NULL};
    vc_proc_t p;
    vc_test_spawn(&p, "gateway-127-0-0-2", "vc-gateway", env);
    snprintf(health, sizeof(health), "http://127.0.0.2:%d/health", port);
    if (!vc_test_wait_http_ok(health, 60)) {
        vc_test_print_log(&p, 20);
        VC_TEST_FAIL("AUTH_MODE=off on 127.0.0.2 did not start");
    }
    ASSERT_EQ(vc_test_stop(&p, 30), 0);
}

static void auth_on_listens_anywhere_and_refuses_keyless(void)
{
    const char *extra[] = {"AUTH_MODE=on", "HTTP_HOST=0.0.0.0", NULL};
    hostile_start(&h, extra);
    char url[128], *resp = NULL;
    snprintf(url, sizeof(url), "%s/v1/detections", h.base);
    long st = vc_test_http("POST", url, "application/json", "{}", 2, &resp);
    if (st != 401 || strstr(resp, "unauthorized") == NULL)
        VC_TEST_FAIL("keyless submission with AUTH_MODE=on: %ld %s", st, resp);
    free(resp);
    hostile_stop(&h);
}

static void invalid_mode_is_refused(void)
{
    char e_kafka[512];
    snprintf(e_kafka, sizeof(e_kafka), "KAFKA_BROKERS=%s", h.kafka);
    const char *env[] = {"AUTH_MODE=maybe", e_kafka, NULL};
    vc_proc_t p;
    vc_test_spawn(&p, "gateway-maybe", "vc-gateway", env);
    ASSERT_EQ(hostile_wait_exit(&p, 15), 2);
    ASSERT(strstr(read_log(&p), "AUTH_MODE") != NULL);
}

int main(void)
{
    hostile_init(&h, "authoff");
    RUN(refused_off_loopback);
    RUN(served_without_key_on_loopback);
    RUN(auth_on_listens_anywhere_and_refuses_keyless);
    RUN(invalid_mode_is_refused);
    return 0;
}
