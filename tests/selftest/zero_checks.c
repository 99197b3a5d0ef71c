/* zero_checks.c -- the harness's own regression test (issue 14, item 13): a test executable
 * that runs no check must fail, so a test whose body was skipped by mistake cannot pass.
 * Registered with WILL_FAIL: ctest passes when this program fails. */
#include "check.h"

int main(void)
{
    return check_report();
}
