/* vc_media_sniff: each magic number, near misses, short buffers. */
#include "test.h"
#include "vc/wire.h"

typedef struct {
    const char *bytes;
    size_t len;
    const char *want; /* NULL: not recognised */
} sniff_case_t;

#define CASE(lit, want)                                                                            \
    {                                                                                              \
        lit, sizeof(lit) - 1, want                                                                 \
    }

static const sniff_case_t cases[] = {
    CASE("RIFF\x24\x08\0\0WAVEfmt ", "wav"),
    CASE("RIFF\x24\x08\0\0AVI LIST", NULL), /* RIFF but not WAVE */
    CASE("fLaC\0\0\0\x22", "flac"),
    CASE("OggS\0\x02\0\0", "ogg"),
    CASE("ID3\x04\0\0\0\0\0\0", "mp3"),
    CASE("\xff\xfb\x90\x64", "mp3"), /* MPEG-1 layer III */
    CASE("\xff\xfa\x90\x64", "mp3"), /* ... with CRC */
    CASE("\xff\xf3\x90\x64", "mp3"), /* MPEG-2 layer III */
    CASE("\xff\xe3\x90\x64", "mp3"), /* MPEG-2.5 layer III */
    CASE("\xff\xf1\x50\x80", NULL),  /* AAC ADTS shares the sync word */
    CASE("\xff\xfd\x90\x64", NULL),  /* layer II */
    CASE("\xff\xfb\xf0\x64", NULL),  /* bitrate index 15 is invalid */
    CASE("\xff\xfb\x9c\x64", NULL),  /* sample-rate index 3 is reserved */
    CASE("\xff\xeb\x90\x64", NULL),  /* version bits 01 are reserved */
    CASE("\0\0\0\x20"
         "ftypisom\0\0\x02\0",
         "mp4"),
    CASE("\0\0\0\x1c"
         "ftypM4V ",
         "mp4"),
    CASE("\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
    CASE("YUV4MPEG2 W320 H240 F25:1", "y4m"),
    CASE("YUV4MPEG", NULL),
    CASE("{\"json\":true}", NULL),
    CASE("", NULL),
};

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = vc_media_sniff((const uint8_t *)cases[i].bytes, cases[i].len);
        if ((got == NULL) != (cases[i].want == NULL) ||
            (got != NULL && strcmp(got, cases[i].want) != 0))
            VC_TEST_FAIL("case %zu: got %s, want %s", i, got ? got : "NULL",
                         cases[i].want ? cases[i].want : "NULL");
    }
}

/* Every prefix of a recognised header shorter than its magic is not recognised, and reading it
 * stays inside the buffer (exact-size copies, so ASan sees any over-read). */
static void test_prefixes(void)
{
    static const sniff_case_t magics[] = {CASE("RIFF\0\0\0\0WAVE", "wav"),
                                          CASE("fLaC", "flac"),
                                          CASE("OggS", "ogg"),
                                          CASE("\0\0\0\0ftyp", "mp4"),
                                          CASE("\x1a\x45\xdf\xa3", "webm"),
                                          CASE("YUV4MPEG2", "y4m")};
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
        for (size_t n = 0; n <= magics[i].len; n++) {
            uint8_t *b = malloc(n > 0 ? n : 1);
            memcpy(b, magics[i].bytes, n);
            const char *got = vc_media_sniff(b, n);
            if (n < magics[i].len)
                ASSERT(got == NULL);
            else
                ASSERT_STREQ(got, magics[i].want);
            free(b);
        }
    }
    ASSERT(vc_media_sniff(NULL, 0) == NULL);
    ASSERT(vc_media_sniff(NULL, 100) == NULL);
}

int main(void)
{
    RUN(test_cases);
    RUN(test_prefixes);
    return 0;
}
