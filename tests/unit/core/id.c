/* Unit tests for vc/id.h. */
#include "test.h"
#include "vc/error.h"
#include "vc/id.h"

#define NIDS 10000

static int is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_uuid_format(void)
{
    char id[37];
    for (int n = 0; n < 1000; n++) {
        ASSERT_OK(vc_id_new(id, sizeof(id)));
        ASSERT_EQ(strlen(id), 36);
        for (int i = 0; i < 36; i++) {
            if (i == 8 || i == 13 || i == 18 || i == 23)
                ASSERT(id[i] == '-');
            else
                ASSERT(is_hex_lower(id[i]));
        }
        ASSERT(id[14] == '4');
        ASSERT(strchr("89ab", id[19]) != NULL);
        ASSERT(vc_id_valid(id, 36));
    }
    ASSERT_EQ(vc_id_new(id, 36), VC_EINVAL);
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_uuid_unique(void)
{
    char(*ids)[37] = malloc(NIDS * sizeof(*ids));
    ASSERT(ids != NULL);
    for (int i = 0; i < NIDS; i++)
        ASSERT_OK(vc_id_new(ids[i], sizeof(ids[i])));
    qsort(ids, NIDS, sizeof(*ids), cmp_ids);
    for (int i = 1; i < NIDS; i++)
        ASSERT(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
}

static void test_valid(void)
{
    char long_id[VC_ID_MAX + 2];
    memset(long_id, 'a', sizeof(long_id));
    ASSERT_EQ(vc_id_valid("a", 1), 1);
    ASSERT_EQ(vc_id_valid("cam-7:det_01.2024", 17), 1);
    ASSERT_EQ(vc_id_valid("AZaz09._:-", 10), 1);
    ASSERT_EQ(vc_id_valid(long_id, VC_ID_MAX), 1);
    ASSERT_EQ(vc_id_valid(long_id, VC_ID_MAX + 1), 0);
    ASSERT_EQ(vc_id_valid("", 0), 0);
    ASSERT_EQ(vc_id_valid(NULL, 3), 0);
    ASSERT_EQ(vc_id_valid("a b", 3), 0);
    ASSERT_EQ(vc_id_valid("a/b", 3), 0);
    ASSERT_EQ(vc_id_valid("a\0b", 3), 0);
    ASSERT_EQ(vc_id_valid("a\"b", 3), 0);
    ASSERT_EQ(vc_id_valid("a=b", 3), 0);
    ASSERT_EQ(vc_id_valid("a\nb", 3), 0);
    ASSERT_EQ(vc_id_valid("caf\xc3\xa9", 5), 0);
    ASSERT_EQ(vc_id_valid("abc*", 4), 0);
    ASSERT_EQ(vc_id_valid("abc*", 3), 1); /* only len bytes count */
}

static void trace_ids(void)
{
    char t[33], u[33];
    ASSERT_OK(vc_trace_id_new(t, sizeof(t)));
    ASSERT_OK(vc_trace_id_new(u, sizeof(u)));
    ASSERT_EQ(strlen(t), 32);
    ASSERT(strcmp(t, u) != 0);
    char tp[64];
    snprintf(tp, sizeof(tp), "00-%s-00f067aa0ba902b7-01", t);
    ASSERT_EQ(vc_trace_id_from_traceparent(tp, u, sizeof(u)), 1);
    ASSERT_STREQ(u, t);
    ASSERT_EQ(vc_trace_id_from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                           u, sizeof(u)), 1);
    ASSERT_STREQ(u, "4bf92f3577b34da6a3ce929d0e0e4736");
    /* all-zero ids, uppercase, bad lengths, version ff: refused */
    ASSERT_EQ(vc_trace_id_from_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                           u, sizeof(u)), 0);
    ASSERT_EQ(vc_trace_id_from_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                                           u, sizeof(u)), 0);
    ASSERT_EQ(vc_trace_id_from_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                           u, sizeof(u)), 0);
    ASSERT_EQ(vc_trace_id_from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                                           u, sizeof(u)), 0);
    ASSERT_EQ(vc_trace_id_from_traceparent(NULL, u, sizeof(u)), 0);
}

int main(void)
{
    RUN(trace_ids);
    RUN(test_uuid_format);
    RUN(test_uuid_unique);
    RUN(test_valid);
    return 0;
}
