/* REDIS_URL parsing: percent-decoded user and password (an ACL password with '@' and ':'),
 * malformed escapes and encoded NULs refused, the default user, the legacy password-only
 * form, hosts, ports and databases, rediss:// refused; no error message quotes the URL. */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "vc/error.h"
#include "vc/redis.h"

static vc_redis_url_t parse_ok(const char *url)
{
    vc_redis_url_t u;
    char err[256] = "";
    if (vc_redis_url_parse(url, &u, err, sizeof(err)) != 0)
        VC_TEST_FAIL("%s: refused: %s", url, err);
    return u;
}

/* Refused with a message holding `why` and none of `secret`. */
static void parse_bad(const char *url, const char *why, const char *secret)
{
    vc_redis_url_t u;
    char err[256] = "";
    int rc = vc_redis_url_parse(url, &u, err, sizeof(err));
    if (rc != VC_EINVAL)
        VC_TEST_FAIL("%s: returned %d (%s), want VC_EINVAL", url, rc, err);
    if (strstr(err, why) == NULL)
        VC_TEST_FAIL("%s: message \"%s\" does not say \"%s\"", url, err, why);
    if (secret != NULL && strstr(err, secret) != NULL)
        VC_TEST_FAIL("%s: message \"%s\" quotes \"%s\"", url, err, secret);
}

static void acl_user_with_encoded_password(void)
{
    vc_redis_url_t u = parse_ok("redis://vcuser:p%40ss%3Aword@127.0.0.1:6380/2");
    ASSERT_STREQ(u.user, "vcuser");
    ASSERT_STREQ(u.password, "p@ss:word");
    ASSERT_STREQ(u.host, "127.0.0.1");
    ASSERT_EQ(u.port, 6380);
    ASSERT_EQ(u.db, 2);
    u = parse_ok("redis://us%65r%2f1:%2F%25%20x@h");
    ASSERT_STREQ(u.user, "user/1");
    ASSERT_STREQ(u.password, "/% x");
    /* Unencoded '@' and ':' in the password: the userinfo ends at the last '@', splits at
     * the first ':'. */
    u = parse_ok("redis://vcuser:p@ss:word@127.0.0.1");
    ASSERT_STREQ(u.user, "vcuser");
    ASSERT_STREQ(u.password, "p@ss:word");
    ASSERT_EQ(u.port, 6379);
    ASSERT_EQ(u.db, 0);
}

static void default_user_forms(void)
{
    vc_redis_url_t u = parse_ok("redis://:s3cret@localhost:6379/0");
    ASSERT_STREQ(u.user, "");
    ASSERT_STREQ(u.password, "s3cret");
    u = parse_ok("redis://s3cret@localhost"); /* legacy: no ':' = a password */
    ASSERT_STREQ(u.user, "");
    ASSERT_STREQ(u.password, "s3cret");
    u = parse_ok("redis://127.0.0.1:6379/0");
    ASSERT_STREQ(u.user, "");
    ASSERT_STREQ(u.password, "");
    u = parse_ok("REDIS://h/");
    ASSERT_STREQ(u.host, "h");
    u = parse_ok("redis://[::1]:7000/3");
    ASSERT_STREQ(u.host, "::1");
    ASSERT_EQ(u.port, 7000);
    ASSERT_EQ(u.db, 3);
}

static void malformed(void)
{
    parse_bad("redis://vcuser:p%G1ss@h", "malformed percent-escape", "p%G1ss");
    parse_bad("redis://vcuser:hunter2%@h", "malformed percent-escape", "hunter2");
    parse_bad("redis://vcuser:hunter2%4@h", "malformed percent-escape", "hunter2");
    parse_bad("redis://vcuser:hun%00ter2@h", "encoded NUL", "ter2");
    parse_bad("redis://us%zzer:pw@h", "user name", NULL);
    parse_bad("rediss://vcuser:hunter2@h", "not supported", "hunter2");
    parse_bad("http://vcuser:hunter2@h", "expected redis://", "hunter2");
    parse_bad("redis://vcuser:hunter2@", "no host", "hunter2");
    parse_bad("redis://vcuser:hunter2@h:0", "port", "hunter2");
    parse_bad("redis://vcuser:hunter2@h:65536", "port", "hunter2");
    parse_bad("redis://vcuser:hunter2@h:-1", "port", "hunter2");
    parse_bad("redis://vcuser:hunter2@h/x", "database", "hunter2");
    parse_bad("redis://vcuser:hunter2@h:6379/0?x=1", "database", "hunter2");
    parse_bad("redis://vcuser:hunter2@[::1", "']'", "hunter2");
    char longpw[700] = "redis://u:";
    memset(longpw + 10, 'x', 600);
    memcpy(longpw + 610, "@h", 3);
    parse_bad(longpw, "longer than", "xxxxxxxx");
}

int main(void)
{
    acl_user_with_encoded_password();
    default_user_forms();
    malformed();
    return 0;
}
