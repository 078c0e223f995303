/*
 * The few librdkafka-internal helpers rdkafka_performance.c uses, so the example that
 * Debian's librdkafka-dev ships can be built against the public library alone. The example
 * itself is compiled from /usr/share/doc/librdkafka-dev/examples at benchmark time.
 */
#ifndef SAMSA_RD_SHIM_H
#define SAMSA_RD_SHIM_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <inttypes.h>
#include <sys/time.h>

typedef int64_t rd_ts_t;

/* Monotonic clock in microseconds, as librdkafka's rd_clock(). */
static inline rd_ts_t rd_clock (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ((rd_ts_t)ts.tv_sec * 1000000LLU) + ((rd_ts_t)ts.tv_nsec / 1000);
}

#define rd_snprintf snprintf
#define RD_MAX(a, b) ((a) > (b) ? (a) : (b))
#define RD_MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
