# Turns the file IN into a C source OUT defining l2hd_status_html[] and its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){24})" "\\1\n" body "${body}")
file(WRITE ${OUT} "#include <stddef.h>\nextern const unsigned char l2hd_status_html[];\nextern const size_t l2hd_status_html_len;\nconst unsigned char l2hd_status_html[] = {\n${body}0x00};\nconst size_t l2hd_status_html_len = ${bytes};\n")
