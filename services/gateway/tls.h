#ifndef VC_GATEWAY_TLS_H
#define VC_GATEWAY_TLS_H
/* HTTPS on the front door: civetweb's TLS with the certificate and key loaded by the gateway
 * itself (tls.c). When HTTP_TLS_CERT is set the listening port speaks TLS only. */
#include <stddef.h>

typedef struct {
    int enabled;             /* HTTP_TLS_CERT is set */
    const char *cert;        /* HTTP_TLS_CERT: PEM chain, the server's certificate first */
    const char *key;         /* HTTP_TLS_KEY=HTTP_TLS_CERT: PEM private key (unencrypted) */
    const char *ciphers;     /* HTTP_TLS_CIPHERS: OpenSSL list for TLS 1.2 (1.3 keeps its own) */
    int min_version;         /* HTTP_TLS_MIN_VERSION=1.2|1.3, as TLS1_2_VERSION/TLS1_3_VERSION */
} gateway_tls_config_t;

/* Reads the HTTP_TLS_* settings and, when HTTP_TLS_CERT is set, proves that they can be
 * served: each file is readable, the certificate chain and the key parse, the key belongs to
 * the first certificate, the cipher list is known to OpenSSL. Returns 0 or VC_EINVAL with a
 * message naming the variable and the file. Main thread, before anything else starts. */
int gateway_tls_config_load(gateway_tls_config_t *tls, char *err, size_t errlen);

/* Initialises civetweb (mg_init_library) with TLS when tls->enabled. Returns 0, or VC_EUNAVAIL
 * when this civetweb was built without TLS or cannot load OpenSSL (err says which). Pair a
 * success with mg_exit_library. Main thread. */
int gateway_tls_init_library(const gateway_tls_config_t *tls, char *err, size_t errlen);

/* Appends civetweb's TLS options to opts (name, value pairs; *n counts entries, cap is the
 * array's size, the terminating NULL not included). No-op when TLS is off. Returns 0 or
 * VC_ERANGE when opts is too small. */
int gateway_tls_options(const gateway_tls_config_t *tls, const char **opts, size_t *n,
                        size_t cap);

/* civetweb's init_ssl callback: loads the chain and key into civetweb's SSL_CTX and sets the
 * protocol floor, cipher list and options; gw is the gateway_t given to mg_start. Returns 1
 * (done: civetweb loads no certificate itself) or -1 (mg_start fails; logged). Runs inside
 * mg_start on the main thread. */
int gateway_tls_init_ssl(void *ssl_ctx, void *gw);

#endif
