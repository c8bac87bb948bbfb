/* The libssl.so that civetweb loads. civetweb 1.15 as Debian 12 builds it reaches OpenSSL at
 * run time, dlopen("libssl.so") then dlsym for each function, and insists on the OpenSSL 1.1
 * name SSL_get_peer_certificate, which OpenSSL 3 exports only as SSL_get1_peer_certificate
 * (the old name is a macro now). Without this library every HTTPS port fails with "Error
 * initializing SSL context". Built as lib/civetweb-tls/libssl.so (soname libssl.so) and
 * linked into the gateway, so civetweb's dlopen finds this already loaded object; its
 * dependency on libssl.so.3 supplies every other function, from the one OpenSSL of the
 * process. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

X509 *SSL_get_peer_certificate(const SSL *ssl);
int vc_civetweb_tls_compat_version(void);

/* Same contract as in OpenSSL 1.1: the caller owns a reference (civetweb frees it). */
X509 *SSL_get_peer_certificate(const SSL *ssl)
{
    return SSL_get1_peer_certificate(ssl);
}

/* Referenced by the gateway so that the linker keeps this library as a dependency. */
int vc_civetweb_tls_compat_version(void)
{
    return 1;
}
