# Unit tests of the expression, path, value and format units. Their sources
# are compiled in directly until they join the ed_streams library.
set(ED_EXPR_SRCS
  ${CMAKE_SOURCE_DIR}/streams/value.c
  ${CMAKE_SOURCE_DIR}/streams/paths.c
  ${CMAKE_SOURCE_DIR}/streams/expr_parse.c
  ${CMAKE_SOURCE_DIR}/streams/expr_eval.c)
ed_add_test(value_test SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/value_test.c
  ${CMAKE_SOURCE_DIR}/streams/value.c LIBS ed_common LABEL unit)
ed_add_test(paths_test SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/paths_test.c ${ED_EXPR_SRCS}
  LIBS ed_common m LABEL unit)
ed_add_test(expr_test SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/expr_test.c ${ED_EXPR_SRCS}
  LIBS ed_common m LABEL unit)
ed_add_test(format_test SOURCES ${CMAKE_SOURCE_DIR}/tests/streams/format_test.c
  ${CMAKE_SOURCE_DIR}/streams/format.c ${CMAKE_SOURCE_DIR}/streams/value.c
  LIBS ed_common LABEL unit)
