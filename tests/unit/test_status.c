/* test_status.c -- the thread-local last-error text: a message that quotes the previous one
 * (l2h_set_error(code, "%s: ...: %s", name, l2h_last_error()), as several wrappers do) keeps it
 * intact instead of reading the buffer being written. */
#include "check.h"

#include "../../src/core/core.h"

#include <string.h>

int main(void)
{
    (void)test_seed();
    CHECK_EQ_I(l2h_set_error(L2H_ERR_NOMEM, "out of memory in %s", "allocate"), L2H_ERR_NOMEM);
    CHECK(strcmp(l2h_last_error(), "out of memory in allocate") == 0);
    CHECK_EQ_I(l2h_set_error(L2H_ERR_FORMAT, "%s: bad \"nn_arch\": %s", "m.st", l2h_last_error()),
               L2H_ERR_FORMAT);
    CHECK(strcmp(l2h_last_error(), "m.st: bad \"nn_arch\": out of memory in allocate") == 0);
    /* a long quoted message is truncated at the buffer's end, never overrun */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    l2h_set_error(L2H_ERR_ARG, "%s", big);
    l2h_set_error(L2H_ERR_ARG, "prefix: %s", l2h_last_error());
    CHECK(strncmp(l2h_last_error(), "prefix: xxxx", 12) == 0);
    CHECK(strlen(l2h_last_error()) < 1024);
    return check_report();
}
