/* Compiles the umbrella header alone with -Wall -Wextra -Werror -pedantic. */
#include <l2h/l2h.h>

int l2h_header_check_symbol(void);
int l2h_header_check_symbol(void)
{
    return L2H_VERSION_NUMBER > 0 && L2H_OK == 0;
}
