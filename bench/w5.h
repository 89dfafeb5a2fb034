/* W5 transaction, shared by the C programs: what each transaction writes,
 * and the setup that removes the posts a run inserted. bench/w5lib.lua has
 * the same values for the Lua programs. Transaction i (1-based) of a run
 * sets the name of a random user (the bench.h key sequence) to "w5 name <i>"
 * and inserts a post by that user titled "w5 post <i>", with W5_BODY and
 * W5_CREATED_AT. The check sums the updated user's id (as the UPDATE
 * confirmed it) and 1 per inserted post (as its returned id confirmed it). */
#ifndef TIDE_BENCH_W5_H
#define TIDE_BENCH_W5_H

#define W5_USERS 10000
#define W5_SETUP "delete from posts where title like 'w5 %'"
#define W5_BODY                                                                                                    \
    "Body of a post written inside the W5 transaction benchmark: one user renamed, one post inserted, committed; " \
    "about one hundred and seventy characters long."
#define W5_CREATED_AT "2025-01-01T00:00:00+00:00"

#endif
