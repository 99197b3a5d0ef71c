# Warning flags for our own code (applied per target through l2h_warnings()).
set(L2H_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wold-style-definition -Wvla -Wformat=2 -Wdouble-promotion
    -Wcast-qual -Wnull-dereference)
if(L2H_WERROR)
  list(APPEND L2H_WARNING_FLAGS -Werror)
endif()
function(l2h_warnings target)
  target_compile_options(${target} PRIVATE ${L2H_WARNING_FLAGS})
endfunction()
