#ifndef VC_DEVBROKER_CONTROL_H
#define VC_DEVBROKER_CONTROL_H
/* Fault controls for tests: a Unix stream socket that takes one-line commands and answers
 * "ok …" or "error: …". Commands (broker ids are 1..N or "all"):
 *   broker down ID      make broker ID refuse connections (librdkafka mock set_down)
 *   broker up ID        bring it back
 *   rtt ID MS           add MS milliseconds of latency to broker ID's responses
 *   error APIKEY ERR N  the next N requests of Kafka API APIKEY (0 = Produce, 1 = Fetch, …)
 *                       fail with Kafka error code ERR
 *   error clear APIKEY  drop the errors still pushed for APIKEY (the fault ends early)
 *   topic create NAME P create a topic with P partitions (tests isolate themselves this way)
 *   status              "ok brokers=N"
 * Only for development and tests, like the broker itself. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Opens the listening socket at path (replacing a stale one). Returns the fd or -1. */
int control_listen(const char *path);

/* Serves one connection: reads one command line, applies it, writes the answer, closes. */
void control_serve(int listen_fd, rd_kafka_mock_cluster_t *mc, int brokers);

/* The client side, for scripts (`vc-devbroker --control SOCKET --send COMMAND`): sends one
 * command line to the broker at path and writes its answer into out (NUL-terminated).
 * Returns 0 when the broker answered "ok…", 1 when it answered an error, -1 when it could not
 * be reached (out then says why). */
int control_send(const char *path, const char *command, char *out, size_t cap);

#endif
