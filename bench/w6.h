/* W6, many lookups in flight: W1's query and key sequence, issued in waves
 * of W6_WAVE (1,000) concurrent lookups. Shared by the W6 C programs.
 *
 * Every tool checks each row as W1 does (one row, id equal to the key, the
 * text fields non-empty) and sums id + length(email) + length(name) over a
 * run: the same check W1's tools print, since the keys are the same. */
#ifndef TIDE_BENCH_W6_H
#define TIDE_BENCH_W6_H

#define W6_USERS 10000
#define W6_WAVE 1000
#define W6_SQL "select id, email, name, created_at from users where id = $1"

#endif
