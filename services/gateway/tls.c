/* HTTPS on the front door. civetweb owns the TLS connections (SSL_accept bounded by its
 * request_timeout_ms, SSL_read/SSL_write behind mg_read/mg_write); the gateway loads the
 * certificate chain and key into civetweb's SSL_CTX itself, through the init_ssl callback,
 * because civetweb's own loader wants key and certificate in one file and checks less. The
 * same loader runs once at configuration time on a scratch SSL_CTX, so a bad file stops
 * start-up with a message naming it, before any store is dialled. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gateway.h"
#include "tls.h"
#include "vc/config.h"
#include "vc/error.h"

/* Exported by the libssl.so that civetweb dlopens (civetweb_tls_compat.c). */
int vc_civetweb_tls_compat_version(void);

/* Mozilla's "intermediate" TLS 1.2 suites: forward secret AEADs only. TLS 1.3's suites are
 * configured apart by OpenSSL and its defaults are all good. */
#define TLS_DEFAULT_CIPHERS                                                                   \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* OpenSSL's reason for the failure: the first error queued is the root cause ("no start
 * line"), later ones only say where it surfaced ("PEM lib"). Clears the queue. */
static const char *ssl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_error();
    if (e == 0)
        snprintf(buf, cap, "no detail from OpenSSL");
    else
        ERR_error_string_n(e, buf, cap);
    ERR_clear_error();
    return buf;
}

/* An encrypted key would make OpenSSL prompt on the terminal: no passphrase is given. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf, (void)size, (void)rwflag, (void)ud;
    return 0;
}

/* Fails with the system's reason when path cannot be opened for reading. */
static int readable(const char *var, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return vc_err(err, errlen, VC_EINVAL, "%s=%s: cannot read: %s", var, path,
                      strerror(errno));
    fclose(f);
    return 0;
}

/* Loads the chain and key into ctx and applies the protocol settings. Returns 0 or VC_EINVAL
 * naming the variable and file. Any thread (ctx is not yet shared). */
static int tls_load(SSL_CTX *ctx, const gateway_tls_config_t *t, char *err, size_t errlen)
{
    char why[256];
    int rc = readable("HTTP_TLS_CERT", t->cert, err, errlen);
    if (rc == 0)
        rc = readable("HTTP_TLS_KEY", t->key, err, errlen);
    if (rc != 0)
        return rc;
    ERR_clear_error();
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1)
        return vc_err(err, errlen, VC_EINVAL, "HTTP_TLS_CERT=%s: not a PEM certificate chain: %s",
                      t->cert, ssl_reason(why, sizeof(why)));
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
            ERR_GET_REASON(e) == SSL_R_NO_CERTIFICATE_ASSIGNED)
            return vc_err(err, errlen, VC_EINVAL, "HTTP_TLS_KEY=%s does not belong to the "
                          "certificate in HTTP_TLS_CERT=%s: %s", t->key, t->cert,
                          ssl_reason(why, sizeof(why)));
        return vc_err(err, errlen, VC_EINVAL, "HTTP_TLS_KEY=%s: not an unencrypted PEM private "
                      "key: %s", t->key, ssl_reason(why, sizeof(why)));
    }
    if (SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1)
        return vc_err(err, errlen, VC_EINVAL, "HTTP_TLS_CIPHERS=%s: %s", t->ciphers,
                      ssl_reason(why, sizeof(why)));
    SSL_CTX_set_min_proto_version(ctx, t->min_version);
    /* Client-initiated renegotiation costs the server a handshake per request of the client's
     * choosing; compression invites CRIME. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    return 0;
}

/* Logs what will be served: subject and expiry of the server's certificate. */
static void log_certificate(SSL_CTX *ctx, const gateway_tls_config_t *t)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    char subject[256] = "?", until[64] = "?";
    if (x != NULL) {
        X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
        BIO *b = BIO_new(BIO_s_mem());
        if (b != NULL && ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
            int n = BIO_read(b, until, (int)sizeof(until) - 1);
            until[n > 0 ? n : 0] = '\0';
        }
        BIO_free(b);
        if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
            VC_WARN("gateway.tls_expired", "cert=%s not_after=\"%s\" note=\"clients will refuse "
                    "this certificate\"", t->cert, until);
    }
    VC_INFO("gateway.tls", "cert=%s key=%s subject=\"%s\" not_after=\"%s\" min_version=%s",
            t->cert, t->key, subject, until, t->min_version == TLS1_3_VERSION ? "1.3" : "1.2");
}

int gateway_tls_config_load(gateway_tls_config_t *t, char *err, size_t errlen)
{
    static const char *const versions[] = {"1.2", "1.3", NULL};
    const char *v = NULL;
    memset(t, 0, sizeof(*t));
    int rc = vc_config_str("HTTP_TLS_CERT", "", &t->cert, err, errlen);
    if (rc == 0)
        rc = vc_config_str("HTTP_TLS_KEY", t->cert, &t->key, err, errlen);
    if (rc == 0)
        rc = vc_config_str("HTTP_TLS_CIPHERS", TLS_DEFAULT_CIPHERS, &t->ciphers, err, errlen);
    if (rc == 0)
        rc = vc_config_enum("HTTP_TLS_MIN_VERSION", "1.2", versions, &v, err, errlen);
    if (rc != 0)
        return rc;
    t->min_version = strcmp(v, "1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
    t->enabled = t->cert[0] != '\0';
    if (!t->enabled)
        return t->key[0] != '\0' ? vc_err(err, errlen, VC_EINVAL, "HTTP_TLS_KEY is set but "
                                          "HTTP_TLS_CERT is not") : 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return vc_err(err, errlen, VC_ENOMEM, "HTTP_TLS_CERT: cannot create an OpenSSL context");
    rc = tls_load(ctx, t, err, errlen);
    SSL_CTX_free(ctx);
    return rc;
}

int gateway_tls_init_library(const gateway_tls_config_t *t, char *err, size_t errlen)
{
    if (!t->enabled) {
        mg_init_library(0);
        return 0;
    }
    if (mg_check_feature(MG_FEATURES_TLS) == 0)
        return vc_err(err, errlen, VC_EUNAVAIL, "HTTP_TLS_CERT is set but this civetweb was "
                      "built without TLS");
    /* civetweb loads OpenSSL itself (dlopen of libssl.so and libcrypto.so); the libssl.so it
     * finds is the gateway's compat library, which makes OpenSSL 3 look like what it expects. */
    if ((mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS) == 0) {
        mg_exit_library();
        return vc_err(err, errlen, VC_EUNAVAIL, "HTTP_TLS_CERT is set but civetweb could not "
                      "load OpenSSL (libssl.so compat %d, libcrypto.so)",
                      vc_civetweb_tls_compat_version());
    }
    return 0;
}

int gateway_tls_options(const gateway_tls_config_t *t, const char **opts, size_t *n, size_t cap)
{
    if (!t->enabled)
        return 0;
    if (*n + 4 > cap)
        return VC_ERANGE;
    /* The init_ssl callback sets the floor itself; civetweb's own setting agrees with it. */
    opts[(*n)++] = "ssl_protocol_version";
    opts[(*n)++] = t->min_version == TLS1_3_VERSION ? "5" : "4";
    opts[(*n)++] = "ssl_verify_peer"; /* clients authenticate with API keys, not certificates */
    opts[(*n)++] = "no";
    return 0;
}

int gateway_tls_init_ssl(void *ssl_ctx, void *arg)
{
    gateway_t *gw = arg;
    char err[512];
    if (tls_load(ssl_ctx, &gw->cfg.tls, err, sizeof(err)) != 0) {
        VC_ERROR("gateway.tls_failed", "error=\"%s\"", err);
        return -1;
    }
    log_certificate(ssl_ctx, &gw->cfg.tls);
    return 1;
}
