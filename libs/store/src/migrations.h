#ifndef VC_STORE_MIGRATIONS_H
#define VC_STORE_MIGRATIONS_H

typedef struct {
    const char *version; /* file name without .sql, e.g. "001_detections" */
    const char *sql;
} vc_migration_t;

/* All migrations in order, ending with {NULL, NULL}. Generated at build time. */
extern const vc_migration_t vc_migrations[];

#endif
