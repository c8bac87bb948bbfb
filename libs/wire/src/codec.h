#ifndef VC_WIRE_CODEC_H
#define VC_WIRE_CODEC_H
/* Private msgpack helpers shared by the wire codecs (request.c, result.c). Not installed and
 * not part of the API: symbols are vc_wire__*. */
#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "vc/wire.h"

/* Reader limit: the most elements (array items plus keys and values of maps, summed over the
 * whole message) a decoder accepts. msgpack-c allocates a container's slots from the count its
 * header claims, so this bounds the decoder's memory to about 24 bytes x this, whatever the
 * input says. Documented in schemas/msgpack/README.md. */
#define VC_WIRE__MAX_ELEMENTS 16384
/* Reader limit: deepest nesting of arrays/maps (the top-level map is depth 1). msgpack-c's own
 * parse stack holds 32 levels (MSGPACK_EMBED_STACK_SIZE). */
#define VC_WIRE__MAX_DEPTH 16

/* Checks that buf holds exactly one well-formed msgpack object: every header complete, every
 * length inside the buffer, every container count no larger than the bytes left, at most
 * VC_WIRE__MAX_ELEMENTS elements, at most VC_WIRE__MAX_DEPTH levels, no bytes after it. Touches
 * nothing but buf. Returns 0 or VC_EPROTO with err saying what is wrong. */
int vc_wire__scan(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Scans buf (vc_wire__scan) and unpacks it into *up. str/bin/ext objects point into buf
 * (msgpack_unpack_next does not copy them). *up is initialised in every case: the caller
 * always releases it with msgpack_unpacked_destroy(). Returns 0, VC_EPROTO or VC_ENOMEM. */
int vc_wire__unpack(const uint8_t *buf, size_t len, msgpack_unpacked *up, char *err, size_t errlen);

/* Kinds of a field in a validation table. NUM accepts float64, float32 and integers (some
 * encoders write 1.0 as 1); INT accepts any integer that fits int64_t. */
enum {
    VC_WIRE__STR,
    VC_WIRE__BIN,
    VC_WIRE__UINT,
    VC_WIRE__INT,
    VC_WIRE__NUM,
    VC_WIRE__MAP,
    VC_WIRE__ARRAY
};
#define VC_WIRE__REQUIRED 1u /* missing is an error */
#define VC_WIRE__NILABLE 2u  /* nil is accepted and means absent */

/* One row of a validation table (style rule 15): key, kind, flags, limit. */
typedef struct {
    const char *key;
    int kind;
    unsigned flags;
    uint64_t max; /* STR/BIN: most bytes; UINT: largest value; MAP/ARRAY: most entries;
                     0 = no limit */
} vc_wire__field_t;

/* Validates map against a table of n (<= 32) fields and sets vals[i] to field i's value, or
 * NULL when it is absent or nil. Unknown keys are ignored; a non-str key, a repeated known key,
 * a wrong kind, a value over its limit or a missing required field is VC_EPROTO, and err names
 * the field prefixed by `where` ("" at top level, "audio." inside a part). vals point into
 * map, which must outlive them. */
int vc_wire__fields(const msgpack_object *map, const vc_wire__field_t *fields, size_t n,
                    const msgpack_object **vals, const char *where, char *err, size_t errlen);

/* Reads the major version `v` of a top-level map before anything else, so that a message from
 * a newer major version is refused as such (VC_EFORMAT) rather than as malformed. Returns 0,
 * VC_EPROTO (not a map, v missing, not a uint, or 0) or VC_EFORMAT (v > VC_WIRE_VERSION). */
int vc_wire__version(const msgpack_object *map, uint32_t *v, char *err, size_t errlen);

/* Copies a validated STR object into dst (cap bytes, NUL-terminated). Returns 0, or VC_EPROTO
 * when it does not fit or holds a NUL byte. */
int vc_wire__copy_str(const msgpack_object *o, char *dst, size_t cap, const char *where,
                      const char *key, char *err, size_t errlen);
/* Value of a validated INT or NUM object. */
int64_t vc_wire__int(const msgpack_object *o);
double vc_wire__num(const msgpack_object *o);

/* Decodes a DetectionRequest from an unpacked map (request.c); media point into the buffer the
 * object was unpacked from. Same errors as vc_wire_request_decode. */
int vc_wire__request_from_object(const msgpack_object *o, vc_request_t *req, char *err,
                                 size_t errlen);

/* Packing helpers: each packs a str key then its value, and returns 0 or -1 when the buffer
 * could not grow. Callers OR the results together and check once. */
int vc_wire__pack_str(msgpack_packer *pk, const char *key, const char *val);
int vc_wire__pack_key(msgpack_packer *pk, const char *key);
int vc_wire__pack_int(msgpack_packer *pk, const char *key, int64_t val);
int vc_wire__pack_num(msgpack_packer *pk, const char *key, int has, double val);

/* Finishes an encoding: when rc is 0 hands sb's bytes to the caller (*out, caller frees with
 * free()) and returns 0; otherwise destroys sb and returns VC_ENOMEM. */
int vc_wire__finish(msgpack_sbuffer *sb, int rc, uint8_t **out, size_t *outlen);

/* True when a segment can be encoded (and would decode back): names.c. */
int vc_wire__segment_ok(const vc_segment_t *sg);

#endif
